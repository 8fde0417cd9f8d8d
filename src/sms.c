/* SMS dispatcher: claims due dialer.sms_outbox rows and sends them to the gateway (DESIGN §5.4). */
#include "sms.h"

#include "db.h"
#include "httpc.h"
#include "log.h"
#include "metrics.h"
#include "smsrule.h"
#include "store.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The database is the queue: a row is claimed (pending -> sending, tries + 1, a lease) before it
 * is sent, and its result is written after the gateway answered. A crash in between leaves the
 * row in 'sending'; it is sent again with the same Idempotency-Key (the row id), so the gateway
 * can drop the repeat. Back-off lives in the row (due_at), not in memory, so a retry survives a
 * restart and costs no connection while it waits.
 */

/* A write of a result that failed is tried again this often, this many times; then the lease. */
#define SMS_WRITE_RETRY_MS 1000
#define SMS_WRITE_TRIES 5

enum sms_state { SMS_PENDING, SMS_SENDING, SMS_SENT, SMS_FAILED };
static const char *const sms_state_names[] = { "pending", "sending", "sent", "failed" };

/* One claimed row, from its claim until its result is committed. */
struct sms_msg {
    struct sms *s;
    int64_t id, campaign_id;
    int tries;                  /* this claim's try number: the write is conditional on it */
    char trigger[16];
    char *to, *sender, *body;
    enum sms_state state;
    char error[320];            /* last_error to write; "" = none */
    int64_t delay_ms;           /* back to pending: due again after this */
    int write_tries;
    struct event *retry_ev;     /* a failed result write, tried again */
    struct sms_msg *prev, *next;
};

struct sms {
    struct event_base *base;
    struct db *db;
    struct httpc *http;
    struct sms_options o;
    char *url, *instance;
    struct event *poll_ev;      /* every poll_ms */
    struct event *wake_ev;      /* sms_wake(): rows due sooner than the next poll */
    struct event *kick_ev;      /* a tick at the next loop turn */
    int again;                  /* a tick was asked for while a claim was out */
    int64_t wake_at;            /* mono ms the wake timer is set for; 0 = not set */
    int released;               /* our rows left in 'sending' by a previous life are pending */
    int releasing, claiming;    /* statements out */
    int stopping;               /* drain: no more claims */
    int closing;                /* sms_cleanup(): nothing more is written */
    int in_flight;              /* sends */
    int writes;                 /* result writes out or waiting to be tried again */
    uint64_t rng;
    struct sms_msg *msgs;
    struct sms_stats st;
};

/* The one way a row changes state in memory: checks the move and logs it (DB writes follow). */
static void sms_set_state(struct sms_msg *m, enum sms_state to)
{
    static const unsigned char legal[4][4] = {
        /* to:          PEND SEND SENT FAIL */
        /* PENDING */ { 0,   1,   0,   0 },
        /* SENDING */ { 1,   0,   1,   1 },
        /* SENT    */ { 0,   0,   0,   0 },
        /* FAILED  */ { 0,   0,   0,   0 },
    };

    if (!legal[m->state][to]) {
        log_warn("sms.bad_transition", "id=%" PRId64 " from=%s to=%s", m->id,
                 sms_state_names[m->state], sms_state_names[to]);
        return;
    }
    log_debug("sms.state", "id=%" PRId64 " campaign=%" PRId64 " trigger=%s try=%d from=%s to=%s",
              m->id, m->campaign_id, m->trigger, m->tries, sms_state_names[m->state],
              sms_state_names[to]);
    m->state = to;
}

/* Creates a message for a claimed row and links it. */
static struct sms_msg *sms_msg_new(struct sms *s, const struct db_result *r, int i)
{
    struct sms_msg *m = util_xcalloc(1, sizeof(*m));
    const char *v;

    m->s = s;
    m->id = db_result_int(r, i, 0, 0);
    m->tries = (int)db_result_int(r, i, 1, 1);
    m->to = util_xstrdup(db_result_value(r, i, 2) ? db_result_value(r, i, 2) : "");
    v = db_result_value(r, i, 3);
    m->sender = v ? util_xstrdup(v) : NULL;
    m->body = util_xstrdup(db_result_value(r, i, 4) ? db_result_value(r, i, 4) : "");
    m->campaign_id = db_result_int(r, i, 5, 0);
    snprintf(m->trigger, sizeof(m->trigger), "%s", db_result_value(r, i, 6) ? db_result_value(r, i, 6) : "?");
    m->state = SMS_PENDING;
    m->next = s->msgs;
    if (s->msgs)
        s->msgs->prev = m;
    s->msgs = m;
    return m;
}

/* Unlinks and frees a message. */
static void sms_msg_free(struct sms_msg *m)
{
    struct sms *s = m->s;

    if (m->prev)
        m->prev->next = m->next;
    else
        s->msgs = m->next;
    if (m->next)
        m->next->prev = m->prev;
    if (m->retry_ev)
        event_free(m->retry_ev);
    free(m->to);
    free(m->sender);
    free(m->body);
    free(m);
}

/* Runs a tick at the next loop turn (a slot freed, a claim came back full, rows queued now). */
static void sms_kick(struct sms *s)
{
    event_active(s->kick_ev, 0, 0);
}

static void sms_write(struct sms_msg *m);

/* Timer: a result write that failed goes again. */
static void sms_on_write_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sms_write(arg);
}

/*
 * A result write failed: again in a second while tries remain, else the message is dropped and
 * the lease brings the row back (sent again under the same key). Returns 1 when retried.
 */
static int sms_write_again(struct sms_msg *m, const char *error)
{
    struct sms *s = m->s;
    struct timeval tv = { SMS_WRITE_RETRY_MS / 1000, (SMS_WRITE_RETRY_MS % 1000) * 1000 };

    if (!s->closing && ++m->write_tries < SMS_WRITE_TRIES) {
        log_warn("sms.write_failed", "id=%" PRId64 " state=%s error=%s action=\"write again in "
                 "1 s\"", m->id, sms_state_names[m->state], log_q(error));
        if (m->retry_ev == NULL)
            m->retry_ev = evtimer_new(s->base, sms_on_write_retry, m);
        evtimer_add(m->retry_ev, &tv);
        return 1;
    }
    s->st.write_errors++;
    log_warn("sms.write_lost", "id=%" PRId64 " state=%s error=%s action=\"the row stays "
             "'sending' and is sent again (same key) after its lease\"", m->id,
             sms_state_names[m->state], log_q(error));
    return 0;
}

/* Result write committed (or not): done with the message, or write it again. */
static void sms_written(const struct db_result *r, void *arg)
{
    struct sms_msg *m = arg;
    struct sms *s = m->s;

    if (!db_result_ok(r)) {
        if (sms_write_again(m, db_result_error(r)))
            return;
    } else if (db_result_rows(r) == 0) {
        /* Our lease ran out and the row was claimed again: that claim's answer counts. */
        log_info("sms.stale_result", "id=%" PRId64 " try=%d state=%s", m->id, m->tries,
                 sms_state_names[m->state]);
    }
    s->writes--;
    sms_msg_free(m);
    if (!s->stopping && !s->closing)
        sms_kick(s);
}

/* Writes a message's result: sent, failed, or pending again after its back-off. */
static void sms_write(struct sms_msg *m)
{
    struct sms *s = m->s;
    char id[24], tries[16], delay[24];
    const char *p[5];

    snprintf(id, sizeof(id), "%" PRId64, m->id);
    snprintf(tries, sizeof(tries), "%d", m->tries);
    snprintf(delay, sizeof(delay), "%" PRId64, m->delay_ms);
    p[0] = id;
    p[1] = tries;
    p[2] = sms_state_names[m->state];
    p[3] = m->error[0] ? m->error : NULL;
    p[4] = delay;
    if (db_exec(s->db, STORE_SMS_DONE, p, 5, sms_written, m) == 0)
        return;
    if (sms_write_again(m, "the database is unreachable"))
        return;
    s->writes--;
    sms_msg_free(m);
}

/* Decides what an answer (or its absence) means for the row, and writes it. */
static void sms_conclude(struct sms_msg *m, int status, const char *error)
{
    struct sms *s = m->s;
    enum sms_verdict v = sms_rule_verdict(status);

    s->writes++;
    if (v == SMS_VERDICT_SENT) {
        sms_set_state(m, SMS_SENT);
        s->st.sent++;
        metrics_inc(M_SMS_SENT);
    } else if (v == SMS_VERDICT_RETRY && m->tries < s->o.max_tries) {
        m->delay_ms = sms_rule_backoff_ms(m->tries, s->o.backoff_min_ms, s->o.backoff_max_ms,
                                          util_rand01(&s->rng));
        snprintf(m->error, sizeof(m->error), "%s", error);
        sms_set_state(m, SMS_PENDING);
        s->st.retried++;
        metrics_inc(M_SMS_RETRIED);
        log_info("sms.retry", "id=%" PRId64 " try=%d in_ms=%" PRId64 " error=%s", m->id, m->tries,
                 m->delay_ms, log_q(error));
    } else {
        if (v == SMS_VERDICT_RETRY)
            snprintf(m->error, sizeof(m->error), "gave up after %d tries: %s", m->tries, error);
        else
            snprintf(m->error, sizeof(m->error), "%s", error);
        sms_set_state(m, SMS_FAILED);
        s->st.failed++;
        metrics_inc(M_SMS_FAILED);
        log_warn("sms.failed", "id=%" PRId64 " campaign=%" PRId64 " trigger=%s tries=%d error=%s",
                 m->id, m->campaign_id, m->trigger, m->tries, log_q(m->error));
    }
    sms_write(m);
}

/* The gateway answered, or the request failed. */
static void sms_on_reply(const struct httpc_response *res, void *arg)
{
    struct sms_msg *m = arg;
    struct sms *s = m->s;
    char error[300];

    s->in_flight--;
    if (s->closing) {
        /* Shutting down: the row stays 'sending' and goes out again under the same key. */
        sms_msg_free(m);
        return;
    }
    if (res->status == 0)
        snprintf(error, sizeof(error), "%s", res->error);
    else
        snprintf(error, sizeof(error), "HTTP %d: %.200s", res->status, res->body);
    log_debug("sms.reply", "id=%" PRId64 " http=%d ms=%ld", m->id, res->status, res->elapsed_ms);
    sms_conclude(m, res->status, res->status >= 200 && res->status < 300 ? "" : error);
}

/* POSTs one message with its row id as the Idempotency-Key. */
static void sms_send(struct sms_msg *m)
{
    struct sms *s = m->s;
    cJSON *b = cJSON_CreateObject();
    char key[64], *text;
    const char *headers[2];

    sms_set_state(m, SMS_SENDING);
    cJSON_AddStringToObject(b, "to", m->to);
    if (m->sender)
        cJSON_AddStringToObject(b, "sender_id", m->sender);
    else
        cJSON_AddNullToObject(b, "sender_id");
    cJSON_AddStringToObject(b, "text", m->body);
    text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    snprintf(key, sizeof(key), "Idempotency-Key: %" PRId64, m->id);
    headers[0] = key;
    headers[1] = NULL;
    if (text == NULL ||
        httpc_request(s->http, "POST", s->url, text, headers, s->o.timeout_ms, sms_on_reply, m) != 0) {
        free(text);
        /* Counted as a try that got no answer: back-off, then again. */
        sms_conclude(m, 0, "the request could not be started");
        return;
    }
    free(text);
    s->in_flight++;
}

/* Claim result: every row is ours until its lease ends; send each. */
static void sms_claimed(const struct db_result *r, void *arg)
{
    struct sms *s = arg;
    int rows, asked = s->claiming;

    s->claiming = 0;
    if (!db_result_ok(r)) {
        log_warn("sms.claim", "error=%s", log_q(db_result_error(r)));
        s->again = 0;
        return;
    }
    rows = db_result_rows(r);
    if (rows > 0)
        log_debug("sms.claimed", "rows=%d", rows);
    s->st.claimed += rows;
    for (int i = 0; i < rows; i++) {
        struct sms_msg *m = sms_msg_new(s, r, i);
        if (s->closing) {
            sms_msg_free(m);
            continue;
        }
        sms_send(m);
    }
    /* A full batch: there may be more due now; or rows were queued after the claim's snapshot. */
    if ((rows >= asked || s->again) && !s->stopping)
        sms_kick(s);
    s->again = 0;
}

/* Release result: rows a previous life of this instance left in 'sending' are pending again. */
static void sms_released(const struct db_result *r, void *arg)
{
    struct sms *s = arg;

    s->releasing = 0;
    if (!db_result_ok(r)) {
        log_warn("sms.release", "error=%s", log_q(db_result_error(r)));
        return;
    }
    s->released = 1;
    if (db_result_rows(r) > 0)
        log_warn("sms.released", "rows=%d instance=%s reason=\"left in 'sending' by a previous run "
                 "of this instance; sent again with the same Idempotency-Key\"", db_result_rows(r),
                 log_q(s->instance));
    if (!s->stopping)
        sms_kick(s);
}

/* One round: the start-up release first, then a claim for the free send slots. */
static void sms_tick(struct sms *s)
{
    int room, n;
    char cnt[16], lease[16];
    const char *p[3];

    if (s->closing || s->stopping || !db_is_up(s->db))
        return;
    if (s->releasing || s->claiming) {
        s->again = 1;
        return;
    }
    if (!s->released) {
        /* Before the first claim: afterwards 'sending' rows of this instance are live sends. */
        p[0] = s->instance;
        if (db_exec(s->db, STORE_SMS_RELEASE, p, 1, sms_released, s) == 0)
            s->releasing = 1;
        return;
    }
    room = s->o.max_conns - s->in_flight;
    if (room <= 0)
        return;
    n = room < s->o.batch ? room : s->o.batch;
    snprintf(cnt, sizeof(cnt), "%d", n);
    snprintf(lease, sizeof(lease), "%d", s->o.lease_ms);
    p[0] = cnt;
    p[1] = lease;
    p[2] = s->instance;
    if (db_exec(s->db, STORE_SMS_CLAIM, p, 3, sms_claimed, s) == 0)
        s->claiming = n;
}

/* Poll timer and wake timer. */
static void sms_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sms *s = arg;

    (void)fd;
    (void)what;
    if (!evtimer_pending(s->wake_ev, NULL))
        s->wake_at = 0;
    sms_tick(s);
}

/* Creates the dispatcher. */
struct sms *sms_setup(struct event_base *base, struct db *db, const struct sms_options *o)
{
    struct sms *s = util_xcalloc(1, sizeof(*s));
    struct timeval tv = { o->poll_ms / 1000, (o->poll_ms % 1000) * 1000 };

    s->base = base;
    s->db = db;
    s->o = *o;
    s->url = util_xstrdup(o->url);
    s->instance = util_xstrdup(o->instance);
    s->o.url = s->url;
    s->o.instance = s->instance;
    s->http = httpc_new(base, o->max_conns);
    /* Jitter only has to differ between instances and runs. */
    s->rng = (uint64_t)util_wall_ms() * 2654435761u ^ (uint64_t)getpid() ^ 0x9E3779B97F4A7C15ull;
    s->poll_ev = event_new(base, -1, EV_PERSIST, sms_on_timer, s);
    s->wake_ev = evtimer_new(base, sms_on_timer, s);
    s->kick_ev = event_new(base, -1, 0, sms_on_timer, s);
    event_add(s->poll_ev, &tv);
    sms_kick(s);
    log_info("sms.setup", "url=%s timeout_ms=%d max_tries=%d backoff_ms=%d..%d batch=%d "
             "max_conns=%d poll_ms=%d lease_ms=%d", log_q(s->url), o->timeout_ms, o->max_tries,
             o->backoff_min_ms, o->backoff_max_ms, o->batch, o->max_conns, o->poll_ms, o->lease_ms);
    return s;
}

/* Rows due soon: a timer for then, unless one is already set for earlier. */
void sms_wake(struct sms *s, int64_t in_ms)
{
    int64_t now = util_mono_ms(), at;
    struct timeval tv;

    if (s == NULL || s->stopping || s->closing)
        return;
    if (in_ms <= 0) {
        sms_kick(s);
        return;
    }
    /* due_at is set by the database's clock: a little margin, so the row is due when we look. */
    in_ms += 20;
    at = now + in_ms;
    if (s->wake_at != 0 && s->wake_at <= at && evtimer_pending(s->wake_ev, NULL))
        return;
    s->wake_at = at;
    tv.tv_sec = (time_t)(in_ms / 1000);
    tv.tv_usec = (suseconds_t)((in_ms % 1000) * 1000);
    evtimer_add(s->wake_ev, &tv);
}

/* Drain: no more claims. */
void sms_stop(struct sms *s)
{
    if (s == NULL || s->stopping)
        return;
    s->stopping = 1;
    log_info("sms.stop", "in_flight=%d writes=%d", s->in_flight, s->writes);
}

/* Work the drain waits for. */
int sms_busy(const struct sms *s)
{
    if (s == NULL)
        return 0;
    return s->in_flight + s->writes + (s->claiming > 0) + s->releasing;
}

/* Counters. */
void sms_stats(const struct sms *s, struct sms_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (s == NULL)
        return;
    *st = s->st;
    st->in_flight = s->in_flight;
}

/* Frees everything; rows in flight stay 'sending' for the next run or the lease. */
void sms_cleanup(struct sms *s)
{
    if (s == NULL)
        return;
    s->closing = 1;
    log_info("sms.stats", "claimed=%ld sent=%ld retried=%ld failed=%ld write_errors=%ld "
             "in_flight=%d", s->st.claimed, s->st.sent, s->st.retried, s->st.failed,
             s->st.write_errors, s->in_flight);
    /* Replies to sends in flight come back as "shutting down" and free their messages. */
    httpc_free(s->http);
    while (s->msgs)
        sms_msg_free(s->msgs);
    event_free(s->poll_ev);
    event_free(s->wake_ev);
    event_free(s->kick_ev);
    free(s->url);
    free(s->instance);
    free(s);
}
