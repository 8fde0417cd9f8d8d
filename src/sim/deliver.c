/* dialer-sim to dialerd: signed requests, in order per call and agent, retried, given up after 60 s. */
#include "sim.h"

#include "auth.h"
#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_BACKOFF_FIRST_MS 100
#define SIM_BACKOFF_MAX_MS 5000

struct sim_msg {
    struct sim_msg *next;
    enum sim_msg_kind kind;
    char method[8];
    char *url;
    char *body;
    cJSON *failed;                /* identity of the message for the failure line */
    int64_t born_ms;              /* monotonic: when it was queued; the 60 s count from here */
    int64_t due_ms;               /* monotonic: not to be sent before */
    int tries;
    int64_t signed_at;            /* Unix second the last try was signed at (0: none yet) */
    int last_status;
    char last_error[200];
    int agent_status;             /* SIM_MSG_AGENT: the status reported (latency probe); else -1 */
};

static void sim_outq_kick(struct sim_outq *q);

/* The single exit towards dialerd: every header it needs is added here. */
int sim_dialerd_request(struct sim *sim, const char *method, const char *url, const char *body,
                        int64_t *signed_at, void (*cb)(const struct httpc_response *, void *),
                        void *arg)
{
    const char *headers[4] = { NULL, NULL, NULL, NULL };
    char ts_header[64], sig_header[32 + AUTH_SIG_VALUE_LEN], ts[24], sig[AUTH_SIG_VALUE_LEN];
    int n = 0;

    if (sim->auth_header)
        headers[n++] = sim->auth_header;
    if (sim->event_secret) {
        int64_t now = (int64_t)time(NULL);

        /* Same body and same second would be the same signature, which dialerd takes once. */
        if (signed_at && now <= *signed_at)
            now = *signed_at + 1;
        if (signed_at)
            *signed_at = now;
        snprintf(ts, sizeof(ts), "%" PRId64, now);
        auth_sign(sim->event_secret, strlen(sim->event_secret), ts, body, body ? strlen(body) : 0,
                  sig);
        snprintf(ts_header, sizeof(ts_header), AUTH_TS_HEADER ": %s", ts);
        snprintf(sig_header, sizeof(sig_header), AUTH_SIG_HEADER ": %s", sig);
        headers[n++] = ts_header;
        headers[n++] = sig_header;
    }
    return httpc_request(sim->http, method, url, body, headers, SIM_DELIVER_TIMEOUT_MS, cb, arg);
}

/* Timer: the head's back-off or delay is over. */
static void sim_outq_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sim_outq_kick(arg);
}

/* Prepares an empty queue. */
void sim_outq_setup(struct sim_outq *q, struct sim *sim, void (*on_idle)(void *), void *owner)
{
    memset(q, 0, sizeof(*q));
    q->sim = sim;
    q->on_idle = on_idle;
    q->owner = owner;
    q->timer = evtimer_new(sim->base, sim_outq_on_timer, q);
}

/* Frees one message (already unlinked). */
static void sim_msg_free(struct sim *sim, struct sim_msg *m)
{
    free(m->url);
    free(m->body);
    cJSON_Delete(m->failed);
    free(m);
    sim->n_msgs--;
}

/* Writes the failure line for a message that will never be delivered and counts it. */
static void sim_msg_give_up(struct sim *sim, struct sim_msg *m, const char *why)
{
    cJSON *line = m->failed;

    m->failed = NULL;
    if (m->kind == SIM_MSG_EVENT)
        sim->st.events_failed++;
    else
        sim->st.agent_failed++;
    log_warn("sim.deliver_gave_up", "kind=%s url=%s tries=%d last_status=%d error=%s why=%s",
             m->kind == SIM_MSG_EVENT ? "event" : "agent", log_q(m->url), m->tries,
             m->last_status, log_q(m->last_error), log_q(why));
    if (line == NULL)
        return;
    cJSON_AddNumberToObject(line, "tries", m->tries);
    if (m->last_status)
        cJSON_AddNumberToObject(line, "last_status", m->last_status);
    else
        cJSON_AddNullToObject(line, "last_status");
    cJSON_AddStringToObject(line, "last_error", m->last_error);
    cJSON_AddStringToObject(line, "reason", why);
    sim_truth_write(sim, line);
}

/* Removes the head and frees it; tells the owner when the queue is empty. */
static void sim_outq_pop(struct sim_outq *q)
{
    struct sim_msg *m = q->head;

    q->head = m->next;
    if (q->head == NULL)
        q->tail = NULL;
    sim_msg_free(q->sim, m);
    if (q->sim->n_msgs == 0)
        sim_drain_check(q->sim);   /* the last delivery may be all the drain waits for */
}

/* After the head is done: send the next one, or report the queue idle. May free q. */
static void sim_outq_next(struct sim_outq *q)
{
    if (q->head) {
        sim_outq_kick(q);
        return;
    }
    if (q->on_idle && !q->sim->closing)
        q->on_idle(q->owner);    /* may free the queue's owner, and q with it */
}

/* A delivery finished: done, retry later or give up. */
static void sim_outq_on_done(const struct httpc_response *res, void *arg)
{
    struct sim_outq *q = arg;
    struct sim *sim = q->sim;
    struct sim_msg *m = q->head;
    int64_t now = util_mono_ms(), backoff;
    int retryable;

    q->in_flight = 0;
    if (res->status >= 200 && res->status < 300) {
        if (m->kind == SIM_MSG_EVENT)
            sim->st.events_sent++;
        else
            sim->st.agent_sent++;
        sim_outq_pop(q);
        sim_outq_next(q);
        return;
    }
    m->last_status = res->status;
    if (res->status)
        snprintf(m->last_error, sizeof(m->last_error), "HTTP %d: %.160s", res->status, res->body);
    else
        snprintf(m->last_error, sizeof(m->last_error), "%s", res->error);
    /* a body's trailing newline would only clutter the log line */
    for (size_t n = strlen(m->last_error); n > 0 && (m->last_error[n - 1] == '\n' ||
                                                     m->last_error[n - 1] == '\r'); n--)
        m->last_error[n - 1] = '\0';
    if (sim->closing) {
        sim_msg_give_up(sim, m, "shutting down");
        sim_outq_pop(q);
        return;
    }
    /* dialerd may be restarting or overloaded; anything else it said is final. */
    retryable = res->status == 0 || res->status == 408 || res->status == 429 || res->status >= 500;
    backoff = SIM_BACKOFF_FIRST_MS << (m->tries < 7 ? m->tries - 1 : 6);
    if (backoff > SIM_BACKOFF_MAX_MS)
        backoff = SIM_BACKOFF_MAX_MS;
    if (!retryable || now + backoff - m->born_ms > SIM_DELIVER_GIVE_UP_MS) {
        sim_msg_give_up(sim, m, retryable ? "no success within 60 s" : "dialerd refused it (4xx)");
        sim_outq_pop(q);
        sim_outq_next(q);
        return;
    }
    if (m->tries == 1)
        log_warn("sim.deliver_retrying", "url=%s error=%s", log_q(m->url), log_q(m->last_error));
    if (m->kind == SIM_MSG_EVENT)
        sim->st.events_retried++;
    else
        sim->st.agent_retried++;
    m->due_ms = now + backoff;
    sim_outq_kick(q);
}

/* Sends the head if it is due, else waits for it. */
static void sim_outq_kick(struct sim_outq *q)
{
    struct sim_msg *m = q->head;
    int64_t now = util_mono_ms();

    if (m == NULL || q->in_flight || q->sim->closing)
        return;
    if (m->due_ms > now) {
        struct timeval tv = { (time_t)((m->due_ms - now) / 1000),
                              (suseconds_t)(((m->due_ms - now) % 1000) * 1000) };
        evtimer_add(q->timer, &tv);
        return;
    }
    m->tries++;
    q->in_flight = 1;
    if (m->kind == SIM_MSG_AGENT && q->sim->probe.on)
        sim_probe_agent_sent(q->sim, ((const struct sim_agent *)q->owner)->index, m->agent_status);
    if (sim_dialerd_request(q->sim, m->method, m->url, m->body, &m->signed_at, sim_outq_on_done,
                            q) < 0) {
        /* libcurl could not even start: as good as a refused connection, try again later. */
        q->in_flight = 0;
        snprintf(m->last_error, sizeof(m->last_error), "request could not be started");
        m->due_ms = now + SIM_BACKOFF_MAX_MS;
        if (now + SIM_BACKOFF_MAX_MS - m->born_ms > SIM_DELIVER_GIVE_UP_MS) {
            sim_msg_give_up(q->sim, m, "no success within 60 s");
            sim_outq_pop(q);
            sim_outq_next(q);
            return;
        }
        sim_outq_kick(q);
    }
}

/* Appends a message and starts it when it is the head; agent_status: an agent report's, else -1. */
static void sim_outq_push_tagged(struct sim_outq *q, enum sim_msg_kind kind, const char *method,
                                 const char *url, char *body, cJSON *failed, int delay_ms,
                                 int agent_status)
{
    struct sim_msg *m = util_xcalloc(1, sizeof(*m));

    m->kind = kind;
    snprintf(m->method, sizeof(m->method), "%s", method);
    m->url = util_xstrdup(url);
    m->body = body;
    m->failed = failed;
    m->agent_status = agent_status;
    m->born_ms = util_mono_ms();
    m->due_ms = m->born_ms + delay_ms;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->sim->n_msgs++;
    if (q->head == m)
        sim_outq_kick(q);
}

/* Appends a message and starts it when it is the head. */
void sim_outq_push(struct sim_outq *q, enum sim_msg_kind kind, const char *method,
                   const char *url, char *body, cJSON *failed, int delay_ms)
{
    sim_outq_push_tagged(q, kind, method, url, body, failed, delay_ms, -1);
}

/* An agent's status report: PUT, no delay, tagged with the status for the latency probe. */
void sim_outq_push_agent(struct sim_outq *q, const char *url, char *body, cJSON *failed,
                         int status)
{
    sim_outq_push_tagged(q, SIM_MSG_AGENT, "PUT", url, body, failed, 0, status);
}

/* Nothing left to send. */
int sim_outq_idle(const struct sim_outq *q)
{
    return q->head == NULL;
}

/* Logs and frees what never went out (shutdown). */
void sim_outq_cleanup(struct sim_outq *q)
{
    while (q->head) {
        if (q->head->tries == 0)
            snprintf(q->head->last_error, sizeof(q->head->last_error), "never sent");
        sim_msg_give_up(q->sim, q->head, "shutting down");
        sim_outq_pop(q);
    }
    if (q->timer)
        event_free(q->timer);
    q->timer = NULL;
}

/* Messages not yet delivered or given up. */
int sim_deliver_pending(const struct sim *sim)
{
    return sim->n_msgs;
}
