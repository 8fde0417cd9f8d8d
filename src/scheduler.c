/* Scheduler: pools, pacing, priority allocation, claims, dispatch, call events, agent status. */
#include "scheduler.h"

#include "alloc.h"
#include "api.h"
#include "callers.h"
#include "carrier.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "pacing.h"
#include "recall.h"
#include "smsrule.h"
#include "store.h"
#include "util.h"
#include "window.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The database is the record; memory holds what pacing needs right now: campaigns that are
 * not ended, agents, pools (one per skill group, one per agentless campaign), caller lines
 * and the calls in flight. Every change to a callee is committed before it is acted on: a
 * call exists in memory only after its claim committed, and leaves memory only after its
 * end committed.
 */

#define SCHED_MAX_CALLERS 64
#define SCHED_MAX_GROUPS 8
#define SCHED_MAX_ZONES 64

enum camp_mode { MODE_PROGRESSIVE, MODE_PREDICTIVE, MODE_AGENTLESS };

struct pool;

struct campaign {
    int64_t id;
    char name[65];
    int status;                    /* 0 ready, 1 running, 2 paused */
    int priority;
    enum camp_mode mode;
    int64_t skill_group_id;
    double callout_rate;
    double abandon_target;         /* fraction */
    int max_concurrent;
    struct caller_line *lines[SCHED_MAX_CALLERS];
    int n_lines;
    unsigned line_cursor;
    int random_order;
    double not_before, not_after;  /* Unix s; 0 = none */
    int ring_timeout_s;
    struct recall_rule recall;
    char *uui, *variables;
    struct sms_rule sms;           /* which SMS its calls trigger */
    char *sms_sender, *sms_content;   /* sender id (NULL = none), template */
    char tz[64];                   /* the campaign's zone: callees without their own use it */
    struct window win;             /* daily time_ranges; none = all day */
    int bad_ranges;                /* time_ranges did not parse: never dialled */
    char *zones[SCHED_MAX_ZONES];  /* time zones of waiting callees that have their own */
    int n_zones;
    int refresh;                   /* callees changed: look at zones and do-not-call again */
    double next_refresh;           /* mono s: no sooner than this (imports notify in bursts) */
    struct pool *pool;
    int in_flight;                 /* calls of this campaign in memory */
    int claiming;                  /* a claim statement is out */
    double empty_until;            /* the last claim came back short: wait (mono s) */
    unsigned callee_gen;           /* bumped when callees change (NOTIFY, load) */
    double next_complete_check;    /* mono s */
    double next_time_check;        /* mono s: not_before / not_after transitions */
    int gone;                      /* no longer in the database's live set */
    int seen;                      /* reload mark */
};

enum agent_status { AG_OFFLINE, AG_FREE, AG_BUSY, AG_ARRANGE, AG_NOTREADY, AG_REST };
static const char *const agent_status_names[] = { "offline", "free", "busy", "arrange", "notReady", "rest" };

struct agent {
    char id[129];
    enum agent_status status;
    double since;                  /* mono s of the last status change */
    double busy_since;             /* mono s: when its current call was connected */
    double wrap_since;             /* mono s: when after-call work began; 0 while on the call */
    int64_t connected_ms;          /* Unix ms of its latest `connected` event (stale statuses) */
    int64_t report_ms;             /* Unix ms `at` of the newest stamped report applied; 0 = none */
    int64_t busy_call;             /* the connected call busy_since belongs to; 0 = not known */
    int await_busy;                /* connected to a call before being reported busy for it */
    double db_since;               /* status_since (Unix s) of the newest status row applied */
    int writes_out;                /* its status writes from the API not yet answered */
    int64_t groups[SCHED_MAX_GROUPS];
    int prios[SCHED_MAX_GROUPS];
    int n_groups;
    struct pool *pool;             /* the one pool it is counted in */
    int seen;
};

enum call_state { CALL_DIALING, CALL_RINGING, CALL_ANSWERED, CALL_CONNECTED, CALL_ENDING,
                  CALL_REVERTING };
static const char *const call_state_names[] = { "dialing", "ringing", "answered", "connected",
                                                "ending", "reverting" };

struct call {
    int64_t attempt_id, callee_id, campaign_id;
    char key[24];                  /* attempt id as text: the calls map key */
    struct campaign *camp;         /* NULL when the campaign is no longer loaded */
    struct pool *pool;
    struct caller_line *line;
    int attempt_no, prior_success;
    char number[24], caller[24];
    char *uui, *variables;         /* callee's */
    enum call_state state;
    double placed;                 /* mono s */
    int64_t created_ms, ringing_ms, answered_ms, connected_ms;
    char agent_id[129];
    char session_id[128];
    int last_seq;
    int dial_tries;
    double first_dial;             /* mono s */
    struct event *retry_ev;
    int observed;                  /* the pacer saw this attempt resolve */
    int dial_out;                  /* a dial request is waiting for the carrier's answer */
    int dial_marked;               /* its dial mark (dialed_at, session) is on its way */
    int detached;                  /* ended while dial_out: freed when that answer comes */
    struct call *prev, *next;      /* in pool->calls */
    struct sched *s;
};

struct pool {
    char key[32];                  /* "sg:<id>" or "camp:<id>" */
    int64_t skill_group_id;        /* 0 for an agentless pool */
    struct pacer *pacer;
    struct pacer_params params;
    struct call *calls;
    int n_calls;
    int claiming;
    unsigned alloc_cursor;
    int active;                    /* has a running campaign */
    struct campaign *top;          /* its highest-priority running campaign: sets the pacing */
    double lease_until;            /* mono s: this instance may claim for it until then */
    unsigned lease_mark;           /* sched.lease_gen of the renewal that last confirmed it */
    int handover;                  /* above the fair share: no new calls, lease let go once the
                                      calls placed are answered or over */
};

/* A zone's local second of the day as PostgreSQL said it, and when (mono s). */
struct zone_clock {
    double sod;
    double at;
};

struct sched {
    struct event_base *base;
    struct db *db;
    struct carrier *carrier;
    char *instance, *carrier_url, *callback_url;
    char host[256];                /* this machine's name, in dialer.instances */
    struct sched_options o;
    struct hmap *campaigns;        /* id text -> campaign */
    struct hmap *agents;           /* id -> agent */
    struct hmap *pools;            /* key -> pool */
    struct hmap *lines;            /* number -> caller_line */
    struct hmap *calls;            /* attempt id text -> call */
    struct hmap *zones;            /* zone name -> zone_clock */
    double next_zone_read;         /* mono s */
    int zone_reading;
    struct event *tick_ev, *kick_ev;
    struct event *wake_ev;         /* a round when caller lines regain rate room, before the tick */
    double wake_at;                /* mono s: the soonest such time this round found (0: none) */
    int loaded;                    /* first full load done */
    int loading;                   /* load statements out */
    int reload_campaigns, reload_agents, reload_lines;
    double next_reload, next_reconcile;
    double carrier_hold_until;     /* no new dials before this (mono s): carrier back-pressure */
    double next_lease, lease_sent; /* mono s: next renewal; when the last one was sent */
    unsigned lease_gen;            /* renewals answered */
    int leasing;                   /* a renewal statement is out */
    int leases_held;               /* pools the last renewal confirmed */
    int leases_dropped;            /* stopping: leases and instance row deleted (or given up) */
    double carrier_backoff;        /* seconds, doubles while the carrier keeps refusing */
    int stopping;
    int writes;                    /* statements out that the drain must wait for */
    /* Writes gathered over one turn of the event loop and sent as one statement each. */
    struct store_batch *dialed_b, *finish_b;
    struct sched_req **finish_rq;  /* the ends in finish_b, in order */
    int dialed_out, finish_out;    /* batch statements waiting for their commit */
    int finish_cap;
    struct event *flush_ev;
    struct sched_stats st;
    double tick_due;               /* metrics clock (s): when the periodic tick should run next */
};

/* Seconds on the monotonic clock: the pacer's clock. */
static double sched_now(void)
{
    return (double)util_mono_ms() / 1000.0;
}

/* A request waiting for its commit. */
struct sched_req {
    struct sched *s;
    sched_reply_cb cb;
    void *arg;
    struct call *call;
    struct sched_event ev;         /* copied strings below */
    char agent_id[129], end_status[32], hangup_side[32], keys[64], session_id[128];
    char status[16];
    int64_t status_at_ms;          /* agent status: the report's `at` (Unix ms), 0 = not given */
    int64_t sms_wake_ms;           /* SMS queued with this write are due in this many ms */
    unsigned char live_answer, abandoned; /* the end's outcome, counted once it is committed */
};

/* Replies once and frees the request. */
static void sched_req_done(struct sched_req *rq, int http, int code, const char *reason)
{
    if (rq->cb)
        rq->cb(http, code, reason, rq->arg);
    free(rq);
}

/* Copies a string that may be NULL into a fixed buffer; returns the buffer or NULL. */
static const char *sched_copy(char *dst, size_t len, const char *src)
{
    if (src == NULL)
        return NULL;
    snprintf(dst, len, "%s", src);
    return dst;
}

static void sched_kick(struct sched *s);
static void sched_flush_soon(struct sched *s);
static void sched_flush(struct sched *s);
static int campaign_open_zones(struct sched *s, struct campaign *c, double now, const char **out);
static void sched_call_end(struct call *c, const char *end_status, int64_t ended_ms,
                           const char *hangup_side, const char *keys, int seq,
                           struct sched_req *rq);

/* ------------------------------------------------------------------------------------------ */
/* Calls                                                                                        */

/* The one way a call changes state: checks the move and logs it at debug. */
static void call_set_state(struct call *c, enum call_state to)
{
    static const unsigned char legal[6][6] = {
        /* to:         DIAL RING ANS  CONN END  REV */
        /* DIALING */ { 0,   1,   1,   1,   1,   1 },
        /* RINGING */ { 0,   0,   1,   1,   1,   0 },
        /* ANSWERED*/ { 0,   0,   0,   1,   1,   0 },
        /* CONNECT */ { 0,   0,   0,   0,   1,   0 },
        /* ENDING  */ { 0,   0,   0,   0,   0,   0 },
        /* REVERT  */ { 0,   0,   0,   0,   0,   0 },
    };

    if (c->state == to)
        return;
    if (!legal[c->state][to]) {
        log_warn("call.bad_transition", "attempt=%" PRId64 " from=%s to=%s", c->attempt_id,
                 call_state_names[c->state], call_state_names[to]);
        return;
    }
    log_debug("call.state", "attempt=%" PRId64 " from=%s to=%s", c->attempt_id,
              call_state_names[c->state], call_state_names[to]);
    c->state = to;
}

/* Creates a call in memory and links it into its pool. */
static struct call *call_new(struct sched *s, int64_t attempt_id, struct campaign *camp,
                             struct pool *pool)
{
    struct call *c = util_xcalloc(1, sizeof(*c));

    c->s = s;
    c->attempt_id = attempt_id;
    snprintf(c->key, sizeof(c->key), "%" PRId64, attempt_id);
    c->camp = camp;
    c->campaign_id = camp ? camp->id : 0;
    c->pool = pool;
    c->placed = sched_now();
    c->created_ms = util_wall_ms();
    c->state = CALL_DIALING;
    if (camp)
        camp->in_flight++;
    if (pool) {
        c->next = pool->calls;
        if (pool->calls)
            pool->calls->prev = c;
        pool->calls = c;
        pool->n_calls++;
    }
    hmap_put(s->calls, c->key, c);
    return c;
}

/* Unlinks and frees a call; `refund` returns the caller line's token (dial never left). */
static void call_free(struct call *c, int refund)
{
    struct sched *s = c->s;

    hmap_del(s->calls, c->key);
    if (c->pool) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->pool->calls = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->pool->n_calls--;
    }
    if (c->camp)
        c->camp->in_flight--;
    if (c->line)
        callers_release(c->line, refund);
    if (c->retry_ev)
        event_free(c->retry_ev);
    c->retry_ev = NULL;
    /* The carrier module cannot cancel a request: its callback still holds c. */
    if (c->dial_out) {
        c->detached = 1;
        return;
    }
    free(c->uui);
    free(c->variables);
    free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Pools and agents                                                                             */

/* Finds or creates the pool for a campaign. */
static struct pool *pool_for(struct sched *s, const struct campaign *camp)
{
    char key[32];
    struct pool *p;

    if (camp->mode == MODE_AGENTLESS)
        snprintf(key, sizeof(key), "camp:%" PRId64, camp->id);
    else
        snprintf(key, sizeof(key), "sg:%" PRId64, camp->skill_group_id);
    p = hmap_get(s->pools, key);
    if (p == NULL) {
        p = util_xcalloc(1, sizeof(*p));
        snprintf(p->key, sizeof(p->key), "%s", key);
        p->skill_group_id = camp->mode == MODE_AGENTLESS ? 0 : camp->skill_group_id;
        hmap_put(s->pools, p->key, p);
        log_info("pool.new", "pool=%s", p->key);
    }
    return p;
}

/* Parses an agent status name; -1 when unknown. */
static int agent_status_parse(const char *s)
{
    for (int i = 0; i < 6; i++)
        if (strcmp(s, agent_status_names[i]) == 0)
            return i;
    return -1;
}

/* Tells the pacer how long the agent's call took, talk and after-call work apart. */
static void agent_handle_done(struct agent *a, double now)
{
    double wrap_at = a->wrap_since > 0 ? a->wrap_since : now;

    if (a->busy_since <= 0 || a->pool == NULL || a->pool->pacer == NULL)
        return;
    pacer_observe_handle(a->pool->pacer, now, now - a->busy_since);
    pacer_observe_wrapup(a->pool->pacer, now, wrap_at - a->busy_since, now - wrap_at);
}

/* Feeds the pacer and logs when an agent's status changes. */
static void agent_set_status(struct sched *s, struct agent *a, enum agent_status to, double now)
{
    enum agent_status from = a->status;

    if (from == to)
        return;
    /* An agent leaving a call (to free or any other status) ends its handle time; the part
     * after the call ended is its after-call work (none when it went straight on). */
    if ((from == AG_BUSY || from == AG_ARRANGE) && to != AG_BUSY && to != AG_ARRANGE)
        agent_handle_done(a, now);
    if (to == AG_BUSY && from != AG_ARRANGE)
        a->busy_since = now;
    if (to == AG_ARRANGE && from == AG_BUSY)
        a->wrap_since = now;
    if (to == AG_BUSY)
        a->wrap_since = 0;
    if (to != AG_BUSY && to != AG_ARRANGE) {
        a->busy_since = a->wrap_since = 0;
        a->busy_call = 0;
    }
    log_debug("agent.state", "agent=%s from=%s to=%s", log_q(a->id), agent_status_names[from],
              agent_status_names[to]);
    a->status = to;
    a->since = now;
    if (to == AG_FREE)
        sched_kick(s);
}

/*
 * A status the agent reported (API or database; at_ms: the report's `at`, 0 when it has none).
 * Reports and call events travel apart: an agent that takes a queued call at the end of its
 * after-call work is reported free, then busy, and the connected event of its new call can
 * arrive before both. Until the report of busy for that call comes, unstamped reports are about
 * the previous call: applied, they would show the pacer a free agent that is on a call, and a
 * handle time of zero. A report stamped after the connection cannot be about an earlier call,
 * so it is applied even when no busy came first (an ACD that reports none, or one given up).
 */
static void agent_report(struct sched *s, struct agent *a, enum agent_status to, int64_t at_ms,
                         double now)
{
    if (at_ms > 0 && at_ms > a->connected_ms)
        a->await_busy = 0;
    if (a->await_busy) {
        if (to != AG_BUSY && to != AG_OFFLINE) {
            log_debug("agent.stale", "agent=%s status=%s reason=\"reported before busy for its "
                      "new call\"", log_q(a->id), agent_status_names[to]);
            return;
        }
        a->await_busy = 0;
    }
    if (at_ms > a->report_ms)
        a->report_ms = at_ms;
    agent_set_status(s, a, to, now);
}

/* Puts every agent in the best-priority pool among its skill groups that has work. */
static void agents_assign(struct sched *s)
{
    size_t pos = 0;
    struct agent *a;

    while ((a = hmap_next(s->agents, &pos, NULL)) != NULL) {
        struct pool *best = NULL;
        int best_prio = 99;
        for (int i = 0; i < a->n_groups; i++) {
            char key[32];
            struct pool *p;
            snprintf(key, sizeof(key), "sg:%" PRId64, a->groups[i]);
            p = hmap_get(s->pools, key);
            if (p && p->active && a->prios[i] < best_prio) {
                best = p;
                best_prio = a->prios[i];
            }
        }
        a->pool = best;
    }
}

/* Applies one agents_load row set (one or many agents, grouped by id in order). */
static void agents_apply_rows(struct sched *s, const struct db_result *r, int full)
{
    int rows = db_result_rows(r);
    double now = sched_now();
    struct agent *cur = NULL;

    for (int i = 0; i < rows; i++) {
        const char *id = db_result_value(r, i, 0), *st = db_result_value(r, i, 1);
        int64_t sg = db_result_int(r, i, 3, 0);
        int prio = (int)db_result_int(r, i, 4, 5), status;
        double since;

        if (id == NULL || st == NULL)
            continue;
        if (cur == NULL || strcmp(cur->id, id) != 0) {
            cur = hmap_get(s->agents, id);
            if (cur == NULL) {
                cur = util_xcalloc(1, sizeof(*cur));
                snprintf(cur->id, sizeof(cur->id), "%s", id);
                cur->status = AG_OFFLINE;
                hmap_put(s->agents, cur->id, cur);
            }
            cur->n_groups = 0;
            cur->seen = 1;
            status = agent_status_parse(st);
            since = db_result_value(r, i, 2) ? atof(db_result_value(r, i, 2)) : 0;
            /* A row read before this instance's own newer write committed is stale; so is any
             * row read while such a write is out, as the report is applied already. */
            if (status >= 0 && since >= cur->db_since && cur->writes_out == 0) {
                cur->db_since = since;
                agent_report(s, cur, (enum agent_status)status, 0, now);
            }
        }
        if (sg > 0 && cur->n_groups < SCHED_MAX_GROUPS) {
            cur->groups[cur->n_groups] = sg;
            cur->prios[cur->n_groups] = prio;
            cur->n_groups++;
        }
    }
    if (full) {
        /* Agents deleted from the database drop out of every pool. */
        size_t pos = 0;
        struct agent *a;
        char *gone[256];
        int ngone = 0;
        while ((a = hmap_next(s->agents, &pos, NULL)) != NULL) {
            if (!a->seen && ngone < 256)
                gone[ngone++] = a->id;
            a->seen = 0;
        }
        for (int i = 0; i < ngone; i++)
            free(hmap_del(s->agents, gone[i]));
    } else if (cur) {
        cur->seen = 0;
    }
    agents_assign(s);
}

/* agents_load result. */
static void agents_loaded(const struct db_result *r, void *arg)
{
    struct sched *s = arg;

    s->loading--;
    if (!db_result_ok(r)) {
        log_warn("sched.load_agents", "error=%s", log_q(db_result_error(r)));
        s->reload_agents = 1;
        return;
    }
    agents_apply_rows(s, r, 1);
    log_info("sched.agents_loaded", "agents=%zu", hmap_len(s->agents));
    sched_kick(s);
}

/* agent_load (one agent, after a NOTIFY) result. */
static void agent_loaded(const struct db_result *r, void *arg)
{
    struct sched *s = arg;

    if (db_result_ok(r))
        agents_apply_rows(s, r, 0);
}

/* Caller numbers with their limits. */
static void lines_loaded(const struct db_result *r, void *arg)
{
    struct sched *s = arg;
    int rows;

    s->loading--;
    if (!db_result_ok(r)) {
        log_warn("sched.load_callers", "error=%s", log_q(db_result_error(r)));
        s->reload_lines = 1;
        return;
    }
    rows = db_result_rows(r);
    for (int i = 0; i < rows; i++) {
        const char *num = db_result_value(r, i, 0);
        struct caller_line *l;
        if (num == NULL)
            continue;
        l = hmap_get(s->lines, num);
        if (l == NULL) {
            l = util_xcalloc(1, sizeof(*l));
            callers_line_init(l, num);
            hmap_put(s->lines, l->number, l);
        }
        l->max_concurrent = (int)db_result_int(r, i, 1, 10);
        l->max_cps = atof(db_result_value(r, i, 2) ? db_result_value(r, i, 2) : "5");
        l->state = (int)db_result_int(r, i, 3, 1);
    }
}

/* The line for a number, created with defaults when it has no dialer.caller_numbers row. */
static struct caller_line *line_get(struct sched *s, const char *number)
{
    struct caller_line *l = hmap_get(s->lines, number);

    if (l == NULL) {
        l = util_xcalloc(1, sizeof(*l));
        callers_line_init(l, number);
        hmap_put(s->lines, l->number, l);
    }
    return l;
}

/* ------------------------------------------------------------------------------------------ */
/* Campaigns                                                                                    */

/* Replaces a heap string field. */
static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? util_xstrdup(src) : NULL;
}

/* Forgets a campaign's callee zones. */
static void campaign_zones_clear(struct campaign *c)
{
    for (int i = 0; i < c->n_zones; i++)
        free(c->zones[i]);
    c->n_zones = 0;
}

/* Frees a campaign object (its calls must be gone). */
static void campaign_free(struct campaign *c)
{
    campaign_zones_clear(c);
    free(c->uui);
    free(c->variables);
    free(c->sms_sender);
    free(c->sms_content);
    free(c);
}

/* Applies one campaigns_load row to memory. */
static void campaign_apply_row(struct sched *s, const struct db_result *r, int i)
{
    char key[24], list[4096], *save = NULL, *tok;
    const char *v;
    int64_t id = db_result_int(r, i, 0, 0);
    struct campaign *c;
    double now = sched_now();

    snprintf(key, sizeof(key), "%" PRId64, id);
    c = hmap_get(s->campaigns, key);
    if (c == NULL) {
        c = util_xcalloc(1, sizeof(*c));
        c->id = id;
        hmap_put(s->campaigns, key, c);
    }
    c->seen = 1;
    c->gone = 0;
    snprintf(c->name, sizeof(c->name), "%s", db_result_value(r, i, 1) ? db_result_value(r, i, 1) : "");
    v = db_result_value(r, i, 2);
    c->mode = v && strcmp(v, "agentless") == 0 ? MODE_AGENTLESS
            : v && strcmp(v, "progressive") == 0 ? MODE_PROGRESSIVE : MODE_PREDICTIVE;
    if ((int)db_result_int(r, i, 3, 0) != c->status)
        log_info("campaign.status", "campaign=%" PRId64 " name=%s status=%lld", id, log_q(c->name),
                 db_result_int(r, i, 3, 0));
    c->status = (int)db_result_int(r, i, 3, 0);
    c->priority = (int)db_result_int(r, i, 4, 3);
    c->skill_group_id = db_result_int(r, i, 5, 0);
    c->callout_rate = atof(db_result_value(r, i, 6) ? db_result_value(r, i, 6) : "1");
    c->abandon_target = atof(db_result_value(r, i, 7) ? db_result_value(r, i, 7) : "3") / 100.0;
    c->max_concurrent = (int)db_result_int(r, i, 8, 0);
    snprintf(list, sizeof(list), "%s", db_result_value(r, i, 9) ? db_result_value(r, i, 9) : "");
    c->n_lines = 0;
    for (tok = strtok_r(list, ",", &save); tok && c->n_lines < SCHED_MAX_CALLERS;
         tok = strtok_r(NULL, ",", &save))
        c->lines[c->n_lines++] = line_get(s, tok);
    c->random_order = db_result_int(r, i, 10, 1) == 0;
    v = db_result_value(r, i, 11);
    c->not_before = v ? atof(v) : 0;
    v = db_result_value(r, i, 12);
    c->not_after = v ? atof(v) : 0;
    snprintf(c->tz, sizeof(c->tz), "%s", db_result_value(r, i, 13) ? db_result_value(r, i, 13) : "UTC");
    {
        char err[200];
        if (window_parse(db_result_value(r, i, 14), &c->win, err, sizeof(err)) != 0) {
            /* The database validates time_ranges; a row that still fails is not dialled. */
            log_error("campaign.time_ranges", "campaign=%" PRId64 " error=%s action=\"not dialled\"",
                      id, log_q(err));
        }
        c->bad_ranges = c->win.n == 0 && strcmp(db_result_value(r, i, 14) ? db_result_value(r, i, 14) : "[]", "[]") != 0;
    }
    c->ring_timeout_s = (int)db_result_int(r, i, 15, 30);
    c->recall.recall_num = (int)db_result_int(r, i, 16, 0);
    c->recall.interval_s = (int)db_result_int(r, i, 17, 30) * 60;
    c->recall.type = (int)db_result_int(r, i, 18, 1);
    c->recall.abandon_lock_s = s->o.abandon_lock_s;
    set_str(&c->uui, db_result_value(r, i, 19));
    set_str(&c->variables, db_result_value(r, i, 20));
    {
        const char *t = "t", *fb = db_result_value(r, i, 27);
        c->sms.on_hangup = db_result_value(r, i, 21) && strcmp(db_result_value(r, i, 21), t) == 0;
        c->sms.on_success = db_result_value(r, i, 22) && strcmp(db_result_value(r, i, 22), t) == 0;
        c->sms.on_failure = db_result_value(r, i, 23) && strcmp(db_result_value(r, i, 23), t) == 0;
        c->sms.on_ring = db_result_value(r, i, 24) && strcmp(db_result_value(r, i, 24), t) == 0;
        c->sms.on_feedback = db_result_value(r, i, 25) && strcmp(db_result_value(r, i, 25), t) == 0;
        c->sms.success_delay_s = (int)db_result_int(r, i, 26, 1);
        c->sms.feedback_value = fb && fb[0] >= '0' && fb[0] <= '9' ? fb[0] : 0;
        set_str(&c->sms_sender, db_result_value(r, i, 28));
        set_str(&c->sms_content, db_result_value(r, i, 29));
    }
    c->pool = pool_for(s, c);
    /* New data may mean new callees or new rules: look again at once. */
    c->empty_until = 0;
    c->callee_gen++;
    c->next_time_check = now;
    c->refresh = 1;
}

/* A pacer waiting for its abandon window from the database. */
struct seed_ctx {
    struct sched *s;
    struct pool *pool;
    struct pacer *pacer;           /* the pacer the counts are for; ignored if replaced since */
};

/* abandon_window result: what the window held before this pacer existed (after a restart). */
static void pool_budget_seeded(const struct db_result *r, void *arg)
{
    struct seed_ctx *cx = arg;

    cx->s->writes--;
    if (db_result_ok(r) && cx->pool->pacer == cx->pacer) {
        long long live = db_result_int(r, 0, 0, 0), ab = db_result_int(r, 0, 1, 0);
        pacer_seed(cx->pacer, sched_now(), (double)live, (double)ab);
        log_info("pool.abandon_window", "pool=%s live_answers=%lld abandons=%lld", cx->pool->key,
                 live, ab);
    } else if (!db_result_ok(r)) {
        log_warn("pool.abandon_window", "pool=%s error=%s", cx->pool->key,
                 log_q(db_result_error(r)));
    }
    free(cx);
}

/* Loads the abandon budget already spent in the window, so a restart does not reset it. */
static void pool_seed_budget(struct sched *s, struct pool *p, const struct campaign *c)
{
    struct seed_ctx *cx = util_xcalloc(1, sizeof(*cx));
    char id[24], win[24];
    const char *prm[2] = { id, win };

    cx->s = s;
    cx->pool = p;
    cx->pacer = p->pacer;
    snprintf(id, sizeof(id), "%" PRId64, c->id);
    snprintf(win, sizeof(win), "%.0f", p->params.abandon_window_s);
    if (db_exec(s->db, STORE_ABANDON_WINDOW, prm, 2, pool_budget_seeded, cx) == 0)
        s->writes++;
    else
        free(cx);
}

/* Brings each pool's pacer in line with its top running campaign (priority 1 highest). */
static void pools_refresh(struct sched *s)
{
    size_t pos = 0;
    struct pool *p;
    struct campaign *c;

    while ((p = hmap_next(s->pools, &pos, NULL)) != NULL) {
        p->active = 0;
        p->top = NULL;
    }
    pos = 0;
    while ((c = hmap_next(s->campaigns, &pos, NULL)) != NULL) {
        if (c->gone || c->status != 1 || c->pool == NULL)
            continue;
        c->pool->active = 1;
        if (c->pool->top == NULL || c->priority < c->pool->top->priority)
            c->pool->top = c;
    }
    pos = 0;
    while ((p = hmap_next(s->pools, &pos, NULL)) != NULL) {
        struct pacer_params want;
        if ((c = p->top) == NULL)
            continue;
        memset(&want, 0, sizeof(want));
        want.mode = c->mode == MODE_AGENTLESS ? PACER_AGENTLESS
                  : c->mode == MODE_PROGRESSIVE ? PACER_PROGRESSIVE : PACER_PREDICTIVE;
        want.callout_rate = c->callout_rate;
        want.abandon_target = c->abandon_target;
        want.abandon_window_s = 86400;
        want.max_in_flight = c->mode == MODE_AGENTLESS ? c->max_concurrent : 0;
        want.grace_s = s->o.acd_grace_ms / 1000.0;
        if (p->pacer == NULL || memcmp(&p->params, &want, sizeof(want)) != 0) {
            if (p->pacer)
                pacer_free(p->pacer);
            p->params = want;
            p->pacer = pacer_new(&want);
            log_info("pool.pacing", "pool=%s campaign=%" PRId64 " mode=%d callout_rate=%.2f "
                     "abandon_target=%.3f max_in_flight=%d", p->key, c->id, (int)want.mode,
                     want.callout_rate, want.abandon_target, want.max_in_flight);
            pool_seed_budget(s, p, c);
        }
    }
    agents_assign(s);
}

/* campaigns_load result: mark and sweep. */
static void campaigns_loaded(const struct db_result *r, void *arg)
{
    struct sched *s = arg;
    int rows;
    size_t pos = 0;
    struct campaign *c;
    char drop[512][24];
    int ndrop = 0;

    s->loading--;
    if (!db_result_ok(r)) {
        log_warn("sched.load_campaigns", "error=%s", log_q(db_result_error(r)));
        s->reload_campaigns = 1;
        return;
    }
    rows = db_result_rows(r);
    for (int i = 0; i < rows; i++)
        campaign_apply_row(s, r, i);
    while ((c = hmap_next(s->campaigns, &pos, NULL)) != NULL) {
        if (!c->seen) {
            if (!c->gone)
                log_info("campaign.unloaded", "campaign=%" PRId64 " name=%s in_flight=%d",
                         c->id, log_q(c->name), c->in_flight);
            c->gone = 1;
            if (c->in_flight == 0 && !c->claiming && ndrop < 512)
                snprintf(drop[ndrop++], sizeof(drop[0]), "%" PRId64, c->id);
        }
        c->seen = 0;
    }
    for (int i = 0; i < ndrop; i++)
        campaign_free(hmap_del(s->campaigns, drop[i]));
    pools_refresh(s);
    if (!s->loaded)
        log_info("sched.loaded", "campaigns=%zu", hmap_len(s->campaigns));
    s->loaded = 1;
    sched_kick(s);
}

/* Starts whichever loads are due. */
static void sched_reload(struct sched *s)
{
    if (!db_is_up(s->db))
        return;
    if (s->reload_lines && db_exec(s->db, STORE_CALLERS_LOAD, NULL, 0, lines_loaded, s) == 0) {
        s->reload_lines = 0;
        s->loading++;
    }
    if (s->reload_campaigns &&
        db_exec(s->db, STORE_CAMPAIGNS_LOAD, NULL, 0, campaigns_loaded, s) == 0) {
        s->reload_campaigns = 0;
        s->loading++;
    }
    if (s->reload_agents && db_exec(s->db, STORE_AGENTS_LOAD, NULL, 0, agents_loaded, s) == 0) {
        s->reload_agents = 0;
        s->loading++;
    }
}

/* Result of a campaign status statement (start, overtime, complete). */
static void campaign_transition_done(const struct db_result *r, void *arg)
{
    struct sched *s = arg;

    s->writes--;
    if (!db_result_ok(r)) {
        log_warn("campaign.transition", "error=%s", log_q(db_result_error(r)));
        return;
    }
    if (db_result_rows(r) > 0) {
        log_info("campaign.transition", "campaign=%s", db_result_value(r, 0, 0));
        s->reload_campaigns = 1;
        sched_reload(s);
    }
}

/* Runs one campaign status statement. */
static void campaign_transition(struct sched *s, struct campaign *c, enum store_stmt stmt)
{
    if (store_by_id(s->db, stmt, c->id, campaign_transition_done, s) == 0)
        s->writes++;
}

/* ------------------------------------------------------------------------------------------ */
/* Dialing                                                                                      */

static void call_dial(struct call *c);

/* Holds new dials for a while after the carrier pushed back or failed. */
static void carrier_hold(struct sched *s, const char *why)
{
    double now = sched_now();

    /* Short enough that a carrier back from an outage is found within seconds. */
    s->carrier_backoff = s->carrier_backoff <= 0 ? 0.25 : s->carrier_backoff * 2;
    if (s->carrier_backoff > 5)
        s->carrier_backoff = 5;
    if (s->carrier_hold_until < now + s->carrier_backoff) {
        s->carrier_hold_until = now + s->carrier_backoff;
        log_warn("carrier.hold", "seconds=%.1f reason=%s", s->carrier_backoff, log_q(why));
    }
}

/* Revert result: the claim is undone, the callee is back in the queue. */
static void call_reverted(const struct db_result *r, void *arg)
{
    struct call *c = arg;
    struct sched *s = c->s;

    s->writes--;
    if (!db_result_ok(r)) {
        struct timeval tv = { 1, 0 };
        /* Keep the call until the database takes the revert; reconciliation is the backstop. */
        log_warn("call.revert_failed", "attempt=%" PRId64 " error=%s", c->attempt_id,
                 log_q(db_result_error(r)));
        evtimer_add(c->retry_ev, &tv);
        return;
    }
    log_debug("call.reverted", "attempt=%" PRId64, c->attempt_id);
    call_free(c, 1);
    sched_kick(s);
}

/* Sends the revert statement for a dial that never left. */
static void call_revert(struct call *c)
{
    struct sched *s = c->s;

    call_set_state(c, CALL_REVERTING);
    if (store_by_id(s->db, STORE_ATTEMPT_REVERT, c->attempt_id, call_reverted, c) == 0) {
        s->writes++;
    } else {
        struct timeval tv = { 1, 0 };
        evtimer_add(c->retry_ev, &tv);
    }
}

/* Retry timer: dial again with the same attempt id, or revert again. */
static void call_on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct call *c = arg;

    (void)fd;
    (void)what;
    if (c->state == CALL_REVERTING)
        call_revert(c);
    else if (c->state == CALL_DIALING)
        call_dial(c);
}

/*
 * Records that the carrier has the call (dialed_at, its session id), once per attempt: from
 * its answer to the dial, or from the call's first event when that answer was lost or comes
 * late (the dial timed out on our side but reached the carrier).
 */
static void call_mark_dialed(struct call *c, const char *session_id)
{
    if (c->dial_marked)
        return;
    c->dial_marked = 1;
    metrics_inc(M_DIALS);
    store_batch_add_dialed(c->s->dialed_b, c->attempt_id,
                           session_id && session_id[0] ? session_id : NULL);
    sched_flush_soon(c->s);
}

/* The carrier answered a dial. */
static void call_on_carrier(enum carrier_result res, const char *session_id, int http_status,
                            const char *detail, void *arg)
{
    struct call *c = arg;
    struct sched *s = c->s;
    double now = sched_now();

    c->dial_out = 0;
    if (c->detached) {
        /* Ended (an event or reconciliation came first) and already out of every map. */
        log_info("call.late_carrier_answer", "attempt=%" PRId64 " result=%d http=%d",
                 c->attempt_id, (int)res, http_status);
        /* A retried dial the carrier took (as the same attempt) after the call's events had
         * ended it: it was dialed all the same, and the row says so. */
        if (res == CARRIER_PLACED)
            call_mark_dialed(c, session_id);
        free(c->uui);
        free(c->variables);
        free(c);
        return;
    }
    if (s->stopping && res == CARRIER_UNCERTAIN && strcmp(detail, "shutting down") == 0)
        return;
    switch (res) {
    case CARRIER_PLACED: {
        /* Once per attempt: nothing dials an attempt again after the carrier took it. */
        s->carrier_backoff = 0;
        snprintf(c->session_id, sizeof(c->session_id), "%s", session_id);
        if (c->state == CALL_DIALING)
            call_set_state(c, CALL_RINGING);
        call_mark_dialed(c, c->session_id);
        return;
    }
    case CARRIER_NOT_PLACED:
        s->st.dials_failed++;
        log_info("call.not_placed", "attempt=%" PRId64 " http=%d detail=%s", c->attempt_id,
                 http_status, log_q(detail));
        carrier_hold(s, detail);
        if (c->state == CALL_DIALING)
            call_revert(c);
        return;
    case CARRIER_REJECTED:
        s->st.dials_failed++;
        log_warn("call.rejected", "attempt=%" PRId64 " http=%d detail=%s", c->attempt_id,
                 http_status, log_q(detail));
        if (c->state == CALL_DIALING)
            sched_call_end(c, "clientError", util_wall_ms(), NULL, NULL, 0, NULL);
        return;
    case CARRIER_UNCERTAIN:
        s->st.dials_failed++;
        carrier_hold(s, detail);
        if (c->state != CALL_DIALING)
            return;
        if (now - c->first_dial < s->o.carrier_retry_s) {
            double d = 0.25 * pow(2, c->dial_tries < 8 ? c->dial_tries : 8);
            struct timeval tv = { (time_t)d, (suseconds_t)((d - floor(d)) * 1e6) };
            log_info("call.retry", "attempt=%" PRId64 " try=%d in_s=%.2f detail=%s",
                     c->attempt_id, c->dial_tries, d, log_q(detail));
            evtimer_add(c->retry_ev, &tv);
        } else {
            log_warn("call.carrier_failed", "attempt=%" PRId64 " tries=%d detail=%s",
                     c->attempt_id, c->dial_tries, log_q(detail));
            sched_call_end(c, "operatorError", util_wall_ms(), NULL, NULL, 0, NULL);
        }
        return;
    }
}

/* Sends (or re-sends, same attempt id) the dial request. */
static void call_dial(struct call *c)
{
    struct sched *s = c->s;
    struct carrier_dial d;
    struct campaign *camp = c->camp;

    memset(&d, 0, sizeof(d));
    d.attempt_id = c->attempt_id;
    d.campaign_id = c->campaign_id;
    d.callee = c->number;
    d.caller = c->caller;
    d.skill_group_id = c->pool ? c->pool->skill_group_id : 0;
    d.ring_timeout_s = camp ? camp->ring_timeout_s : 30;
    d.uui = c->uui ? c->uui : camp ? camp->uui : NULL;
    d.campaign_variables = camp ? camp->variables : NULL;
    d.callee_variables = c->variables;
    if (c->dial_tries++ == 0)
        c->first_dial = sched_now();
    c->dial_out = 1;
    if (carrier_dial(s->carrier, &d, call_on_carrier, c) != 0) {
        c->dial_out = 0;
        struct timeval tv = { 1, 0 };
        log_error("call.dial", "attempt=%" PRId64 " error=\"the request could not be started\"",
                  c->attempt_id);
        evtimer_add(c->retry_ev, &tv);
        return;
    }
    s->st.dials++;
}

/* What a claim carries back to its callback. */
struct claim_ctx {
    struct sched *s;
    struct campaign *camp;
    struct pool *pool;
    int asked;
    unsigned gen;                  /* camp->callee_gen when the claim went out */
    struct caller_line *lines[1024];
};

/* Claim result: each row is a committed attempt to dial now. */
static void claim_done(const struct db_result *r, void *arg)
{
    struct claim_ctx *cx = arg;
    struct sched *s = cx->s;
    struct campaign *camp = cx->camp;
    int rows = db_result_rows(r), i;
    double now = sched_now();

    camp->claiming = 0;
    cx->pool->claiming--;
    if (!db_result_ok(r)) {
        log_warn("sched.claim", "campaign=%" PRId64 " error=%s", camp->id,
                 log_q(db_result_error(r)));
        rows = 0;
    }
    for (i = 0; i < rows; i++) {
        struct call *c = call_new(s, db_result_int(r, i, 0, 0), camp, cx->pool);
        c->callee_id = db_result_int(r, i, 1, 0);
        snprintf(c->number, sizeof(c->number), "%s", db_result_value(r, i, 2));
        c->attempt_no = (int)db_result_int(r, i, 3, 1);
        set_str(&c->uui, db_result_value(r, i, 4));
        set_str(&c->variables, db_result_value(r, i, 5));
        snprintf(c->caller, sizeof(c->caller), "%s", db_result_value(r, i, 6));
        c->prior_success = db_result_value(r, i, 7) && db_result_value(r, i, 7)[0] == 't';
        c->line = cx->lines[i];
        c->retry_ev = evtimer_new(s->base, call_on_retry, c);
        call_dial(c);
    }
    /* Lines picked for rows that did not come back are given back untouched. */
    for (; i < cx->asked; i++)
        callers_release(cx->lines[i], 1);
    /* Short means "nothing more to dial now" only if no callees arrived since it was sent. */
    if (rows < cx->asked && camp->callee_gen == cx->gen) {
        camp->empty_until = now + 1.0;
        if (rows == 0 && camp->in_flight == 0 && now >= camp->next_complete_check &&
            camp->status == 1) {
            camp->next_complete_check = now + 1.0;
            campaign_transition(s, camp, STORE_CAMPAIGN_COMPLETE);
        }
    }
    /* Full: there may be more to claim. Short: the calls it could not use go to the next
     * priority now rather than at the next tick. */
    sched_kick(s);
    free(cx);
}

/* Builds the pacer's view of a pool. */
static void pool_view(struct sched *s, struct pool *p, double now, struct pacer_view *v,
                      double *busy, double *wrap, int busy_cap, double *ringing, int ring_cap)
{
    size_t pos = 0;
    struct agent *a;

    memset(v, 0, sizeof(*v));
    v->now = now;
    while ((a = hmap_next(s->agents, &pos, NULL)) != NULL) {
        if (a->pool != p)
            continue;
        if (a->status == AG_FREE) {
            v->n_free++;
        } else if ((a->status == AG_BUSY || a->status == AG_ARRANGE) && v->n_busy < busy_cap) {
            /* After a restart an agent may be met in after-call work: its status time is all
             * that is known of either phase. */
            wrap[v->n_busy] = a->status != AG_ARRANGE ? -1
                            : a->wrap_since > 0 ? a->wrap_since : a->since;
            busy[v->n_busy++] = a->busy_since > 0 ? a->busy_since : a->since;
        }
    }
    for (struct call *c = p->calls; c; c = c->next) {
        if (c->state == CALL_DIALING || c->state == CALL_RINGING) {
            if (v->n_ringing < ring_cap)
                ringing[v->n_ringing++] = c->placed;
        } else if (c->state == CALL_ANSWERED) {
            v->n_waiting++;
        }
    }
    v->busy_since = busy;
    v->wrapup_since = wrap;
    v->ringing_since = ringing;
}

/* Held by its lines' rates: a round when they allow a dial, not a tick later. */
static void sched_wake_lines(struct sched *s, const struct campaign *c, double now)
{
    double at = callers_next_room(c->lines, c->n_lines, now);

    if (at > now && (s->wake_at == 0 || at < s->wake_at))
        s->wake_at = at;
}

/* Paces one pool: how many calls, split by priority, claimed per campaign. */
static void pool_pace(struct sched *s, struct pool *p, double now)
{
    static double busy[8192], wrap[8192], ringing[8192];
    struct pacer_view v;
    struct alloc_item items[64];
    struct campaign *camps[64];
    int n = 0, want, given, sent = 0;
    size_t pos = 0;
    struct campaign *c;

    if (p->pacer == NULL || p->claiming || !p->active || now >= p->lease_until || p->handover)
        return;
    pool_view(s, p, now, &v, busy, wrap, 8192, ringing, 8192);
    want = pacer_decide(p->pacer, &v);
    if (want <= 0)
        return;
    if (want > s->o.claim_batch_max)
        want = s->o.claim_batch_max;
    while ((c = hmap_next(s->campaigns, &pos, NULL)) != NULL && n < 64) {
        int room;
        const char *open[SCHED_MAX_ZONES + 1];
        if (c->pool != p || c->gone || c->status != 1 || c->claiming || now < c->empty_until ||
            c->bad_ranges)
            continue;
        /* Outside every window of every zone it dials in: not dialable now. */
        if (campaign_open_zones(s, c, now, open) == 0)
            continue;
        /* Room in this second, not in the next 20 ms: a campaign whose lines spread their
         * second keeps its share from lower priorities. */
        room = callers_room(c->lines, c->n_lines, now);
        if (room <= 0)
            sched_wake_lines(s, c, now);
        if (c->mode == MODE_AGENTLESS && c->max_concurrent > 0 &&
            room > c->max_concurrent - c->in_flight)
            room = c->max_concurrent - c->in_flight;
        if (room <= 0)
            continue;
        camps[n] = c;
        items[n].priority = c->priority;
        items[n].capacity = room;
        n++;
    }
    given = alloc_split(items, n, want, &p->alloc_cursor);
    if (given == 0) {
        pacer_placed(p->pacer, now, 0);
        return;
    }
    for (int i = 0; i < n; i++) {
        struct claim_ctx *cx;
        int idx[1024], k;
        const char *callers[1024];

        if (items[i].share <= 0)
            continue;
        c = camps[i];
        cx = util_xcalloc(1, sizeof(*cx));
        k = callers_pick(c->lines, c->n_lines, items[i].share > 1024 ? 1024 : items[i].share,
                         now, &c->line_cursor, idx);
        if (k < items[i].share)
            sched_wake_lines(s, c, now);
        if (k == 0) {
            free(cx);
            continue;
        }
        for (int j = 0; j < k; j++) {
            cx->lines[j] = c->lines[idx[j]];
            callers[j] = cx->lines[j]->number;
        }
        cx->s = s;
        cx->camp = c;
        cx->pool = p;
        cx->asked = k;
        cx->gen = c->callee_gen;
        {
            const char *open[SCHED_MAX_ZONES + 1];
            int n_open = campaign_open_zones(s, c, now, open);
            if (store_claim(s->db, c->id, c->random_order, k, callers, p->skill_group_id,
                            s->instance, c->tz, n_open < 0 ? NULL : open, n_open,
                            claim_done, cx) != 0)
                k = -1;
        }
        if (k < 0) {
            k = cx->asked;
            for (int j = 0; j < k; j++)
                callers_release(cx->lines[j], 1);
            free(cx);
            continue;
        }
        c->claiming = 1;
        p->claiming++;
        sent += k;
        log_debug("sched.claim", "pool=%s campaign=%" PRId64 " n=%d free=%d ringing=%d waiting=%d",
                  p->key, c->id, k, v.n_free, v.n_ringing, v.n_waiting);
    }
    /* Caller-line limits and campaigns short of callees may place fewer than the pacer asked. */
    pacer_placed(p->pacer, now, sent);
}

/* ------------------------------------------------------------------------------------------ */
/* Windows and do-not-call                                                                      */

/* The campaign a refresh statement was about, looked up again when its answer comes. */
struct camp_ref {
    struct sched *s;
    int64_t id;
};

/* Finds a loaded campaign by id. */
static struct campaign *campaign_get(struct sched *s, int64_t id)
{
    char key[24];

    snprintf(key, sizeof(key), "%" PRId64, id);
    return hmap_get(s->campaigns, key);
}

/* callee_zones result: the zones of a campaign's waiting callees. */
static void callee_zones_loaded(const struct db_result *r, void *arg)
{
    struct camp_ref *ref = arg;
    struct campaign *c = campaign_get(ref->s, ref->id);

    ref->s->writes--;
    if (c && db_result_ok(r)) {
        int rows = db_result_rows(r);
        campaign_zones_clear(c);
        for (int i = 0; i < rows && c->n_zones < SCHED_MAX_ZONES; i++)
            c->zones[c->n_zones++] = util_xstrdup(db_result_value(r, i, 0));
        if (rows > SCHED_MAX_ZONES)
            log_warn("campaign.zones", "campaign=%" PRId64 " zones=%d kept=%d action=\"callees in "
                     "other zones wait\"", c->id, rows, SCHED_MAX_ZONES);
        ref->s->next_zone_read = 0;
    } else if (c) {
        c->refresh = 1;
    }
    free(ref);
}

/* Do-not-call sweep result. */
static void dnc_swept(const struct db_result *r, void *arg)
{
    struct camp_ref *ref = arg;
    struct sched *s = ref->s;

    s->writes--;
    if (!db_result_ok(r)) {
        struct campaign *c = campaign_get(s, ref->id);
        log_warn("dnc.sweep", "error=%s", log_q(db_result_error(r)));
        if (c)
            c->refresh = 1;
    } else if (db_result_rows(r) > 0) {
        /* Those callees were the last waiting ones, perhaps: let completion look again. A
         * campaign sweep returns callee ids; a number sweep returns the campaigns touched. */
        int rows = db_result_rows(r);
        log_info("dnc.sweep", "campaign=%" PRId64 " callees_removed=%d", ref->id, rows);
        for (int i = 0; i < (ref->id ? 1 : rows); i++) {
            struct campaign *c = campaign_get(s, ref->id ? ref->id : db_result_int(r, i, 0, 0));
            if (c)
                c->empty_until = 0;
        }
    }
    free(ref);
}

/* After callees change: take do-not-call numbers out and re-read the callees' zones. */
static void campaign_refresh(struct sched *s, struct campaign *c, double now)
{
    struct camp_ref *ref;

    if (!c->refresh || now < c->next_refresh || c->gone)
        return;
    c->refresh = 0;
    c->next_refresh = now + 5;
    ref = util_xcalloc(1, sizeof(*ref));
    ref->s = s;
    ref->id = c->id;
    if (store_by_id(s->db, STORE_DNC_SWEEP_CAMPAIGN, c->id, dnc_swept, ref) == 0)
        s->writes++;
    else
        free(ref), c->refresh = 1;
    if (c->win.n == 0)
        return;
    ref = util_xcalloc(1, sizeof(*ref));
    ref->s = s;
    ref->id = c->id;
    if (store_by_id(s->db, STORE_CALLEE_ZONES, c->id, callee_zones_loaded, ref) == 0)
        s->writes++;
    else
        free(ref), c->refresh = 1;
}

/* zone_seconds result: every zone's clock. */
static void zones_read(const struct db_result *r, void *arg)
{
    struct sched *s = arg;
    double now = sched_now();
    int rows = db_result_rows(r);

    s->zone_reading = 0;
    s->writes--;
    if (!db_result_ok(r)) {
        log_warn("sched.zones", "error=%s", log_q(db_result_error(r)));
        return;
    }
    for (int i = 0; i < rows; i++) {
        const char *z = db_result_value(r, i, 0);
        struct zone_clock *zc;
        if (z == NULL)
            continue;
        zc = hmap_get(s->zones, z);
        if (zc == NULL) {
            zc = util_xcalloc(1, sizeof(*zc));
            hmap_put(s->zones, z, zc);
        }
        zc->sod = db_result_value(r, i, 1) ? atof(db_result_value(r, i, 1)) : 0;
        /* The reading was taken when the statement ran, a little before now: using now makes
         * the local clock lag, never lead, so a window never opens early. */
        zc->at = now;
    }
    sched_kick(s);
}

/* Asks PostgreSQL for the local time of every zone a windowed campaign uses (once a second). */
static void zones_refresh(struct sched *s, double now)
{
    const char *names[512];
    int n = 0;
    size_t pos = 0;
    struct campaign *c;

    if (s->zone_reading || now < s->next_zone_read)
        return;
    s->next_zone_read = now + 1.0;
    while ((c = hmap_next(s->campaigns, &pos, NULL)) != NULL) {
        if (c->gone || c->win.n == 0)
            continue;
        if (n < 512)
            names[n++] = c->tz;
        for (int i = 0; i < c->n_zones && n < 512; i++)
            names[n++] = c->zones[i];
    }
    if (n == 0)
        return;
    if (store_by_array(s->db, STORE_ZONE_SECONDS, names, n, zones_read, s) == 0) {
        s->zone_reading = 1;
        s->writes++;
    }
}

/* Whether a zone's window is open now, from its last reading moved forward on our clock. */
static int zone_open(struct sched *s, const struct window *w, const char *zone, double now)
{
    struct zone_clock *zc = hmap_get(s->zones, zone);

    /* A zone never read yet is treated as closed: no call before we know its time. */
    if (zc == NULL || now - zc->at > 10)
        return 0;
    return window_open(w, (int)floor(zc->sod + (now - zc->at)));
}

/*
 * Zones of a campaign whose window is open now, into out[]. Returns how many, or -1 when the
 * campaign has no windows (every callee may be dialled).
 */
static int campaign_open_zones(struct sched *s, struct campaign *c, double now, const char **out)
{
    int n = 0;

    if (c->win.n == 0)
        return -1;
    if (zone_open(s, &c->win, c->tz, now))
        out[n++] = c->tz;
    for (int i = 0; i < c->n_zones; i++)
        if (strcmp(c->zones[i], c->tz) != 0 && zone_open(s, &c->win, c->zones[i], now))
            out[n++] = c->zones[i];
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Pool leases                                                                                  */

/*
 * Several instances share one database (sql/0007_leases.sql): an instance claims callees for a
 * pool only while it holds the pool's lease. Its own deadline is counted from when the renewal
 * was sent, which is no later than the database's now() that set expires_at, so this instance
 * stops before another can take over; the claim statement checks the lease again on the
 * database's clock.
 */

/* How much sooner than the database this instance treats a lease as over (s). */
#define LEASE_MARGIN_S 0.5

/* What a renewal carries back to its callback. */
struct lease_ctx {
    struct sched *s;
    double sent;                   /* mono s */
    int n_go;
    char go[64][32];               /* pools let go by this renewal */
};

/* Pre-connect calls of a pool: what must be over before its lease can be handed over. */
static int pool_open_calls(const struct pool *p)
{
    int n = 0;

    for (const struct call *c = p->calls; c; c = c->next)
        if (c->state == CALL_DIALING || c->state == CALL_RINGING || c->state == CALL_ANSWERED)
            n++;
    return n;
}

/* Renewal result: which pools this instance holds now; above the fair share, hand one over. */
static void leases_renewed(const struct db_result *r, void *arg)
{
    struct lease_ctx *cx = arg;
    struct sched *s = cx->s;
    double now = sched_now(), until = cx->sent + s->o.lease_ms / 1000.0 - LEASE_MARGIN_S;
    int rows, share = 0, live = 0, held = 0, handing = 0;
    size_t pos = 0;
    struct pool *p, *pick = NULL;

    s->leasing = 0;
    if (!db_result_ok(r)) {
        /* The leases held run out on their own deadline; the next renewal tries again. */
        log_warn("lease.renew_failed", "error=%s", log_q(db_result_error(r)));
        free(cx);
        return;
    }
    s->lease_gen++;
    rows = db_result_rows(r);
    for (int i = 0; i < rows; i++) {
        const char *key = db_result_value(r, i, 0);
        share = (int)db_result_int(r, i, 1, 0);
        live = (int)db_result_int(r, i, 2, 1);
        if (key == NULL || (p = hmap_get(s->pools, key)) == NULL)
            continue;
        if (p->lease_until <= now)
            log_info("lease.acquired", "pool=%s instance=%s", p->key, s->instance);
        p->lease_until = until;
        p->lease_mark = s->lease_gen;
    }
    for (int i = 0; i < cx->n_go; i++) {
        if ((p = hmap_get(s->pools, cx->go[i])) == NULL)
            continue;
        log_info("lease.handed_over", "pool=%s instance=%s", p->key, s->instance);
        p->handover = 0;
        p->lease_until = 0;
        p->lease_mark = s->lease_gen;
    }
    while ((p = hmap_next(s->pools, &pos, NULL)) != NULL) {
        if (p->lease_mark != s->lease_gen && p->lease_until > 0) {
            if (p->active || p->n_calls > 0)
                log_warn("lease.lost", "pool=%s instance=%s reason=\"another instance holds it: "
                         "this one was not renewing in time\"", p->key, s->instance);
            p->lease_until = 0;
            p->handover = 0;
        }
        if (p->lease_until > now) {
            held++;
            handing += p->handover;
            if (!p->handover && (pick == NULL || p->n_calls < pick->n_calls))
                pick = p;
        }
    }
    s->leases_held = held;
    /* One pool at a time, and only while another instance is alive to take it. */
    if (held > share && live > 1 && handing == 0 && pick && !s->stopping) {
        pick->handover = 1;
        log_info("lease.handover", "pool=%s instance=%s held=%d fair_share=%d live_instances=%d",
                 pick->key, s->instance, held, share, live);
    }
    free(cx);
}

/* Sends a renewal: every pool with a running campaign or calls in flight is wanted. */
static void leases_renew(struct sched *s, double now)
{
    struct lease_ctx *cx = util_xcalloc(1, sizeof(*cx));
    const char **wanted = util_xcalloc(hmap_len(s->pools) + 1, sizeof(*wanted));
    const char *go[64];
    size_t pos = 0;
    struct pool *p;
    int n = 0;

    cx->s = s;
    cx->sent = now;
    while ((p = hmap_next(s->pools, &pos, NULL)) != NULL) {
        if (!p->active && p->n_calls == 0)
            continue;
        wanted[n++] = p->key;
        if (p->handover && pool_open_calls(p) == 0 && cx->n_go < 64) {
            snprintf(cx->go[cx->n_go], sizeof(cx->go[0]), "%s", p->key);
            go[cx->n_go] = cx->go[cx->n_go];
            cx->n_go++;
        }
    }
    if (store_lease_renew(s->db, s->instance, wanted, n, go, cx->n_go, s->o.lease_ms,
                          (long)getpid(), s->host, leases_renewed, cx) == 0) {
        s->leasing = 1;
        s->lease_sent = now;
        s->next_lease = now + s->o.lease_renew_ms / 1000.0;
    } else {
        free(cx);
    }
    free(wanted);
}

/* Renews when due, or sooner when a pool with a running campaign has no lease yet. */
static void leases_tick(struct sched *s, double now)
{
    size_t pos = 0;
    struct pool *p;
    int due = now >= s->next_lease;

    if (s->leasing || s->leases_dropped)
        return;
    while (!due && (p = hmap_next(s->pools, &pos, NULL)) != NULL)
        if (p->active && p->lease_until <= now && now >= s->lease_sent + 0.25)
            due = 1;
    if (due)
        leases_renew(s, now);
}

/* lease_drop result: the stop is complete. */
static void leases_dropped(const struct db_result *r, void *arg)
{
    struct sched *s = arg;

    s->writes--;
    if (db_result_ok(r))
        log_info("lease.released", "instance=%s leases=%lld", s->instance,
                 db_result_rows(r) > 0 ? db_result_int(r, 0, 0, 0) : 0LL);
    else
        log_warn("lease.release_failed", "instance=%s error=%s action=\"the leases expire by "
                 "themselves\"", s->instance, log_q(db_result_error(r)));
}

/* Stopping and every call over: lets the pools go at once rather than when the leases expire. */
static void leases_drop(struct sched *s)
{
    const char *p[1] = { s->instance };
    size_t pos = 0;
    struct pool *pool;

    s->leases_dropped = 1;
    while ((pool = hmap_next(s->pools, &pos, NULL)) != NULL)
        pool->lease_until = 0;
    if (db_exec(s->db, STORE_LEASE_DROP, p, 1, leases_dropped, s) == 0)
        s->writes++;
}

/* ------------------------------------------------------------------------------------------ */
/* The tick                                                                                     */

static void sched_reconcile(struct sched *s);

/* Campaign clock rules: start at not_before, terminate at not_after. */
static void campaigns_time_checks(struct sched *s, double now)
{
    size_t pos = 0;
    struct campaign *c;
    double wall = (double)util_wall_ms() / 1000.0;

    while ((c = hmap_next(s->campaigns, &pos, NULL)) != NULL) {
        if (c->gone || now < c->next_time_check)
            continue;
        c->next_time_check = now + 1.0;
        if (c->not_after > 0 && wall >= c->not_after)
            campaign_transition(s, c, STORE_CAMPAIGN_OVERTIME);
        else if (c->status == 0 && wall >= c->not_before)
            campaign_transition(s, c, STORE_CAMPAIGN_START);
    }
}

/* Arms the wake-up for the soonest rate room this round found, when it comes before the tick. */
static void sched_wake_arm(struct sched *s, double now)
{
    double in_s = s->wake_at - now;
    struct timeval tv;

    if (s->wake_at == 0 || in_s * 1000 >= s->o.tick_ms)
        return;
    tv.tv_sec = 0;
    tv.tv_usec = (suseconds_t)(in_s * 1e6) + 1000;
    event_add(s->wake_ev, &tv);
}

/* One round: loads, clock rules, reconciliation, then pacing of every pool. */
static void sched_tick(struct sched *s)
{
    double now = sched_now();
    size_t pos = 0;
    struct pool *p;

    if (!db_is_up(s->db))
        return;
    if (now >= s->next_reload) {
        /* A safety net: NOTIFYs drive reloads, this catches anything they missed. */
        s->next_reload = now + 30;
        s->reload_campaigns = s->reload_agents = s->reload_lines = 1;
    }
    if (s->reload_campaigns || s->reload_agents || s->reload_lines)
        sched_reload(s);
    if (!s->loaded || s->loading)
        return;
    campaigns_time_checks(s, now);
    {
        size_t cpos = 0;
        struct campaign *c;
        while ((c = hmap_next(s->campaigns, &cpos, NULL)) != NULL)
            campaign_refresh(s, c, now);
    }
    zones_refresh(s, now);
    if (now >= s->next_reconcile) {
        s->next_reconcile = now + 10;
        sched_reconcile(s);
    }
    if (s->stopping && hmap_len(s->calls) == 0 && !s->leasing && !s->leases_dropped)
        leases_drop(s);
    leases_tick(s, now);
    if (s->stopping || now < s->carrier_hold_until)
        return;
    s->wake_at = 0;
    while ((p = hmap_next(s->pools, &pos, NULL)) != NULL)
        pool_pace(s, p, now);
    sched_wake_arm(s, now);
}

/*
 * Records how late the periodic tick runs. libevent schedules a persistent timer from its
 * previous due time, or from now when that is already past: the same rule is followed here.
 */
static void sched_tick_lag(struct sched *s)
{
    double now = metrics_clock(), period = s->o.tick_ms / 1000.0;

    metrics_observe(M_TICK_LAG_SECONDS, now > s->tick_due ? now - s->tick_due : 0);
    s->tick_due += period;
    if (s->tick_due < now)
        s->tick_due = now + period;
}

/* Periodic tick. */
static void sched_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sched_tick_lag(arg);
    sched_tick(arg);
}

/* Runs a tick soon (agent free, call ended, claim full): coalesced into one loop turn. */
static void sched_kick(struct sched *s)
{
    event_active(s->kick_ev, 0, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Call events                                                                                  */

/* Tells the SMS dispatcher that rows just queued are due in `in_ms`. */
static void sched_sms_wake(struct sched *s, int64_t in_ms)
{
    if (s->o.sms_wake)
        s->o.sms_wake(s->o.sms_wake_arg, in_ms);
}

/*
 * The SMS an event of call c triggers (smsrule.h), rendered for its callee, into `sms` (body in
 * `body`). Returns how many; rq->sms_wake_ms gets the soonest due time.
 */
static int call_sms(struct call *c, const struct sms_facts *f, struct store_sms *sms,
                    char *body, size_t len, struct sched_req *rq)
{
    struct campaign *camp = c->camp;
    struct sms_fire fires[SMS_TRIGGER_N];
    int64_t now_ms = util_wall_ms();
    int n;

    memset(sms, 0, sizeof(*sms));
    rq->sms_wake_ms = -1;
    /* A campaign no longer loaded (ended before a restart) has no settings to go by. */
    if (camp == NULL || !sms_rule_any(&camp->sms) || c->number[0] == '\0')
        return 0;
    n = sms_rule_decide(&camp->sms, f, now_ms, fires);
    if (n == 0)
        return 0;
    if (sms_rule_render_json(camp->sms_content, c->variables, camp->variables, body, len))
        log_warn("sms.text_cut", "attempt=%" PRId64 " campaign=%" PRId64 " max_chars=%d",
                 c->attempt_id, camp->id, SMS_RULE_BODY_MAX_CHARS);
    if (body[0] == '\0') {
        /* Only missing variables: an empty message is not worth sending. */
        log_warn("sms.empty_text", "attempt=%" PRId64 " campaign=%" PRId64 " action=\"not queued\"",
                 c->attempt_id, camp->id);
        return 0;
    }
    for (int i = 0; i < n && i < STORE_SMS_MAX; i++) {
        sms->trigger[i] = sms_trigger_name(fires[i].trigger);
        sms->due_in_ms[i] = fires[i].due_ms - now_ms;
        if (rq->sms_wake_ms < 0 || sms->due_in_ms[i] < rq->sms_wake_ms)
            rq->sms_wake_ms = sms->due_in_ms[i];
        sms->n++;
    }
    sms->to = c->number;
    sms->sender = camp->sms_sender;
    sms->body = body;
    return sms->n;
}

/* An end's write came back (error NULL: committed, with the counts the statement returned):
 * free the call, or leave it as it was for the carrier's retry. */
static void call_finished(struct sched_req *rq, const char *error, long long attempts,
                          long long callees, long long sms)
{
    struct call *c = rq->call;
    struct sched *s = rq->s;

    if (error) {
        log_warn("call.finish_failed", "attempt=%" PRId64 " error=%s", c->attempt_id,
                 log_q(error));
        /* Not committed: the call stays as it was so that the carrier's retry is applied. */
        c->state = c->connected_ms ? CALL_CONNECTED : c->answered_ms ? CALL_ANSWERED : CALL_RINGING;
        sched_req_done(rq, 503, API_UNAVAILABLE, "the database did not take the event; retry");
        return;
    }
    s->st.attempts_finished++;
    if (rq->live_answer)
        metrics_inc(M_ANSWERS);
    if (rq->abandoned)
        metrics_inc(M_ABANDONS);
    log_debug("call.finished", "attempt=%" PRId64 " attempts_updated=%lld callees_updated=%lld "
              "sms_queued=%lld", c->attempt_id, attempts, callees, sms);
    if (sms > 0)
        sched_sms_wake(s, rq->sms_wake_ms);
    {
        struct campaign *camp = c->camp;
        call_free(c, 0);
        if (camp && camp->gone && camp->in_flight == 0 && !camp->claiming) {
            s->reload_campaigns = 1;
        } else if (camp && camp->in_flight == 0 && camp->status == 1) {
            /* The last call may have been the campaign's last callee. */
            camp->empty_until = 0;
        }
    }
    sched_kick(s);
    sched_req_done(rq, 200, API_OK, "ok");
}

/* Ends a call: outcome, recall decision, one committed write, then the pacer. */
static void sched_call_end(struct call *c, const char *end_status, int64_t ended_ms,
                           const char *hangup_side, const char *keys, int seq,
                           struct sched_req *rq)
{
    struct sched *s = c->s;
    struct outcome_facts f;
    struct outcome out;
    struct recall_decision d;
    struct recall_rule none = { 0, 0, 1, 0 };
    struct store_finish fin;
    struct sms_facts sf;
    struct store_sms sms;
    char body[SMS_RULE_BODY_BYTES];
    double now = sched_now();

    f.answered = c->answered_ms > 0;
    f.connected = c->connected_ms > 0 || c->agent_id[0] != '\0';
    f.agentless = c->pool ? c->pool->skill_group_id == 0 : c->camp == NULL;
    f.end_status = end_status;
    outcome_classify(&f, &out);
    recall_decide(c->camp ? &c->camp->recall : &none, c->attempt_no, &out, c->prior_success, &d);
    if (c->agent_id[0]) {
        /* A report of busy that never came must not hold the agent's reports for ever. */
        struct agent *ag = hmap_get(s->agents, c->agent_id);
        if (ag && ag->busy_call == c->attempt_id)
            ag->await_busy = 0;
    }
    if (c->pool && c->pool->pacer) {
        if (!c->observed)
            pacer_observe_attempt(c->pool->pacer, now, now - c->placed, out.live_answer);
        if (out.cls == OUTCOME_ABANDONED)
            pacer_observe_abandon(c->pool->pacer, now);
    }
    c->observed = 1;
    call_set_state(c, CALL_ENDING);
    memset(&fin, 0, sizeof(fin));
    fin.attempt_id = c->attempt_id;
    fin.ended_ms = ended_ms;
    fin.ringing_ms = c->ringing_ms;
    fin.answered_ms = c->answered_ms;
    fin.connected_ms = c->connected_ms;
    fin.end_status = out.end_status;
    fin.success = out.success;
    fin.agent_id = c->agent_id[0] ? c->agent_id : NULL;
    fin.hangup_side = hangup_side;
    fin.keys = keys;
    fin.session_id = c->session_id[0] ? c->session_id : NULL;
    fin.seq = seq;
    fin.callee_state = d.state;
    fin.delay_s = d.delay_s;
    log_debug("call.end", "attempt=%" PRId64 " end_status=%s success=%d callee_state=%d delay_s=%d",
              c->attempt_id, out.end_status, out.success, (int)d.state, d.delay_s);
    if (rq == NULL) {
        rq = util_xcalloc(1, sizeof(*rq));
        rq->s = s;
    }
    rq->call = c;
    rq->live_answer = (unsigned char)out.live_answer;
    rq->abandoned = out.cls == OUTCOME_ABANDONED;
    memset(&sf, 0, sizeof(sf));
    sf.rang = c->ringing_ms > 0;
    sf.answered = c->answered_ms > 0 || c->connected_ms > 0;
    sf.out = &out;
    sf.keys = keys;
    sf.ended_ms = ended_ms;
    if (call_sms(c, &sf, &sms, body, sizeof(body), rq) > 0)
        fin.sms = &sms;
    if (!db_is_up(s->db) || store_batch_add_finish(s->finish_b, &fin) != 0) {
        c->state = c->connected_ms ? CALL_CONNECTED : c->answered_ms ? CALL_ANSWERED : CALL_RINGING;
        sched_req_done(rq, 503, API_UNAVAILABLE, "the database is unreachable; retry");
        return;
    }
    if (store_batch_rows(s->finish_b) > s->finish_cap) {
        s->finish_cap = 2 * store_batch_rows(s->finish_b) + 64;
        s->finish_rq = realloc(s->finish_rq, (size_t)s->finish_cap * sizeof(*s->finish_rq));
        if (s->finish_rq == NULL)
            abort();
    }
    s->finish_rq[store_batch_rows(s->finish_b) - 1] = rq;
    sched_flush_soon(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Batched writes                                                                               */

/* Most rows in one batch statement: bounds a statement's time and its parameters' size. */
#define SCHED_BATCH_MAX 256

/* A batch of ends on its way: the requests to answer, in the statement's row order. */
struct finish_batch {
    struct sched *s;
    int n;
    struct sched_req *rq[];
};

/* Batched dial confirmations came back. */
static void dialed_batch_written(const struct db_result *r, void *arg)
{
    struct sched *s = arg;

    s->writes--;
    s->dialed_out--;
    if (!db_result_ok(r))
        log_warn("call.dialed_write", "error=%s", log_q(db_result_error(r)));
    sched_flush(s);
}

/* Batched ends came back: each request is answered with its own row. */
static void finish_batch_written(const struct db_result *r, void *arg)
{
    struct finish_batch *fb = arg;
    int ok = db_result_ok(r), rows = ok ? db_result_rows(r) : 0;

    fb->s->writes--;
    fb->s->finish_out--;
    if (ok && rows != fb->n)
        log_error("call.finish_batch", "rows=%d ends=%d", rows, fb->n);
    for (int i = 0; i < fb->n; i++) {
        if (!ok || i >= rows)
            call_finished(fb->rq[i], ok ? "the end's row was missing from the batch result"
                                        : db_result_error(r), 0, 0, 0);
        else
            call_finished(fb->rq[i], NULL, db_result_int(r, i, 1, 0), db_result_int(r, i, 2, 0),
                          db_result_int(r, i, 3, 0));
    }
    {
        struct sched *s = fb->s;
        free(fb);
        /* What gathered while this batch was out goes now. */
        sched_flush(s);
    }
}

/*
 * Sends what the batches hold. While a batch of a kind is out, more rows of that kind gather
 * and go when it is back (a second one only once the batch is full): one statement per
 * round trip rather than one per loop turn.
 */
static void sched_flush(struct sched *s)
{
    int n = store_batch_rows(s->finish_b), nd = store_batch_rows(s->dialed_b);

    if (nd > 0 && (s->dialed_out == 0 || (nd >= SCHED_BATCH_MAX && s->dialed_out < 2))) {
        if (store_batch_send(s->db, s->dialed_b, dialed_batch_written, s) == 0) {
            s->writes++;
            s->dialed_out++;
        } else {
            log_warn("call.dialed_write", "error=%s", log_q("the database is unreachable"));
        }
    }
    if (n > 0 && (s->finish_out == 0 || (n >= SCHED_BATCH_MAX && s->finish_out < 2))) {
        struct finish_batch *fb = util_xcalloc(1, sizeof(*fb) + (size_t)n * sizeof(fb->rq[0]));
        fb->s = s;
        fb->n = n;
        memcpy(fb->rq, s->finish_rq, (size_t)n * sizeof(fb->rq[0]));
        if (store_batch_send(s->db, s->finish_b, finish_batch_written, fb) == 0) {
            s->writes++;
            s->finish_out++;
        } else {
            for (int i = 0; i < n; i++)
                call_finished(fb->rq[i], "the database is unreachable", 0, 0, 0);
            free(fb);
        }
    }
}

/* Flush event: the end of the loop turn that gathered the rows. */
static void sched_on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sched_flush(arg);
}

/* Sends the batches at the end of this loop turn, or now when one is full. */
static void sched_flush_soon(struct sched *s)
{
    if (store_batch_rows(s->finish_b) >= SCHED_BATCH_MAX ||
        store_batch_rows(s->dialed_b) >= SCHED_BATCH_MAX)
        sched_flush(s);
    else
        event_active(s->flush_ev, 0, 0);
}

/* Intermediate event write result. */
static void event_written(const struct db_result *r, void *arg)
{
    struct sched_req *rq = arg;

    rq->s->writes--;
    if (!db_result_ok(r)) {
        sched_req_done(rq, 503, API_UNAVAILABLE, "the database did not take the event; retry");
        return;
    }
    if (db_result_int(r, 0, 1, 0) > 0)
        sched_sms_wake(rq->s, rq->sms_wake_ms);
    sched_req_done(rq, 200, API_OK, "ok");
}

/* Applies an event to a call in memory. */
static void sched_apply_event(struct sched *s, struct call *c, struct sched_req *rq)
{
    const struct sched_event *ev = &rq->ev;
    double now = sched_now();
    const char *name = outcome_event_name(ev->kind);
    int rang_before = c->ringing_ms > 0 || c->answered_ms > 0;
    struct sms_facts sf;
    struct store_sms sms;
    char body[SMS_RULE_BODY_BYTES];

    s->st.events++;
    if (ev->session_id && !c->session_id[0])
        snprintf(c->session_id, sizeof(c->session_id), "%s", ev->session_id);
    /* An event for a call whose dial has no answer yet (still out, or uncertain and waiting
     * to be retried): the carrier has it. */
    if (c->state == CALL_DIALING)
        call_mark_dialed(c, c->session_id);
    if (ev->agent_id && ev->agent_id[0] && !c->agent_id[0])
        snprintf(c->agent_id, sizeof(c->agent_id), "%s", ev->agent_id);
    if (ev->seq > c->last_seq)
        c->last_seq = ev->seq;
    switch (ev->kind) {
    case OUTCOME_RINGING:
        if (!c->ringing_ms)
            c->ringing_ms = ev->at_ms;
        if (c->state == CALL_DIALING)
            call_set_state(c, CALL_RINGING);
        break;
    case OUTCOME_ANSWERED:
        if (!c->answered_ms)
            c->answered_ms = ev->at_ms;
        if (c->state == CALL_DIALING || c->state == CALL_RINGING)
            call_set_state(c, CALL_ANSWERED);
        if (!c->observed && c->pool && c->pool->pacer) {
            pacer_observe_attempt(c->pool->pacer, now, now - c->placed, 1);
            c->observed = 1;
        }
        break;
    case OUTCOME_CONNECTED:
        if (!c->connected_ms)
            c->connected_ms = ev->at_ms;
        if (!c->answered_ms)
            c->answered_ms = ev->at_ms;
        if (c->state != CALL_CONNECTED)
            call_set_state(c, CALL_CONNECTED);
        if (c->agent_id[0]) {
            struct agent *a = hmap_get(s->agents, c->agent_id);
            if (a && a->busy_call != c->attempt_id && ev->at_ms < a->report_ms) {
                /* The agent's own reports, stamped after this connection, have overtaken the
                 * event (a short call under load: busy, arrange, even free already in): they
                 * tell where the agent is now. Made busy again, it would wait for reports that
                 * were all sent already, unseen by the pacer until the next full reload. */
                log_debug("agent.stale_connected", "agent=%s attempt=%" PRId64 " at=%" PRId64
                          " report_at=%" PRId64, log_q(a->id), c->attempt_id, ev->at_ms,
                          a->report_ms);
            } else if (a && a->busy_call != c->attempt_id) {
                /* Still on, or in after-call work from, another call: it took this one from
                 * the queue, which ends the other one's handle time; the ACD's reports about
                 * the other call may still arrive (see agent_report). */
                if ((a->status == AG_BUSY || a->status == AG_ARRANGE) && a->busy_call != 0)
                    agent_handle_done(a, now);
                /* Busy with no call known yet: the report of busy for this call came first. */
                a->await_busy = !(a->status == AG_BUSY && a->busy_call == 0);
                agent_set_status(s, a, AG_BUSY, now);
                a->busy_since = now;
                a->wrap_since = 0;
                a->busy_call = c->attempt_id;
                a->connected_ms = ev->at_ms > 0 ? ev->at_ms : util_wall_ms();
            }
        }
        break;
    case OUTCOME_ENDED:
        sched_call_end(c, ev->end_status, ev->at_ms, ev->hangup_side, ev->keys, ev->seq, rq);
        return;
    }
    /* The first sign that the phone rang (ringing, or an answer without it) may queue the
     * ring SMS with the event; the end queues it too when it is missing (same key, no repeat). */
    memset(&sf, 0, sizeof(sf));
    sf.rang = c->ringing_ms > 0;
    sf.answered = c->answered_ms > 0;
    rq->sms_wake_ms = -1;
    if (store_event(s->db, c->attempt_id, name, ev->at_ms, ev->agent_id, ev->session_id, ev->seq,
                    !rang_before && call_sms(c, &sf, &sms, body, sizeof(body), rq) > 0 ? &sms : NULL,
                    event_written, rq) != 0) {
        sched_req_done(rq, 503, API_UNAVAILABLE, "the database is unreachable; retry");
        return;
    }
    s->writes++;
    if (ev->kind != OUTCOME_RINGING)
        sched_kick(s);
}

/* attempt_get result for an event about an attempt not in memory (placed before a restart). */
static void attempt_fetched(const struct db_result *r, void *arg)
{
    struct sched_req *rq = arg;
    struct sched *s = rq->s;
    struct call *c;
    struct campaign *camp;
    char key[24];

    s->writes--;
    if (!db_result_ok(r)) {
        sched_req_done(rq, 503, API_UNAVAILABLE, "the database is unreachable; retry");
        return;
    }
    if (db_result_rows(r) == 0) {
        char reason[96];
        snprintf(reason, sizeof(reason), "attempt_id %" PRId64 " does not exist", rq->ev.attempt_id);
        sched_req_done(rq, 404, API_INVALID, reason);
        return;
    }
    if (db_result_value(r, 0, 3)[0] == 't') {
        /* Already ended: a repeat changes nothing; a late earlier event only fills in its own
         * timestamp (the statement keeps a time already set and the highest seq). */
        if (rq->ev.kind == OUTCOME_ENDED ||
            store_event(s->db, rq->ev.attempt_id, outcome_event_name(rq->ev.kind), rq->ev.at_ms,
                        rq->ev.agent_id, rq->ev.session_id, rq->ev.seq, NULL, event_written,
                        rq) != 0) {
            sched_req_done(rq, 200, API_OK, "ok (attempt already ended)");
            return;
        }
        s->writes++;
        return;
    }
    /* Another event for the same attempt may have adopted it meanwhile. */
    snprintf(key, sizeof(key), "%" PRId64, rq->ev.attempt_id);
    c = hmap_get(s->calls, key);
    if (c == NULL) {
        snprintf(key, sizeof(key), "%s", db_result_value(r, 0, 1));
        camp = hmap_get(s->campaigns, key);
        if (camp == NULL && !s->loaded) {
            /* Right after a start the campaigns may not be loaded yet: adopted without its
             * campaign, the call would end with no recall rule and no SMS rule to follow. */
            sched_req_done(rq, 503, API_UNAVAILABLE,
                           "dialerd is starting and has not loaded its campaigns yet; retry");
            return;
        }
        c = call_new(s, rq->ev.attempt_id, camp, camp ? camp->pool : NULL);
        c->callee_id = db_result_int(r, 0, 0, 0);
        c->campaign_id = db_result_int(r, 0, 1, 0);
        c->attempt_no = (int)db_result_int(r, 0, 2, 1);
        c->created_ms = db_result_int(r, 0, 4, 0);
        c->ringing_ms = db_result_int(r, 0, 5, 0);
        c->answered_ms = db_result_int(r, 0, 6, 0);
        c->connected_ms = db_result_int(r, 0, 7, 0);
        sched_copy(c->agent_id, sizeof(c->agent_id), db_result_value(r, 0, 8));
        c->last_seq = (int)db_result_int(r, 0, 9, 0);
        sched_copy(c->caller, sizeof(c->caller), db_result_value(r, 0, 10));
        sched_copy(c->number, sizeof(c->number), db_result_value(r, 0, 11));
        c->prior_success = db_result_value(r, 0, 12) && db_result_value(r, 0, 12)[0] == 't';
        sched_copy(c->session_id, sizeof(c->session_id), db_result_value(r, 0, 13));
        /* The callee's variables fill its SMS templates. */
        set_str(&c->variables, db_result_value(r, 0, 14));
        c->state = c->connected_ms ? CALL_CONNECTED : c->answered_ms ? CALL_ANSWERED : CALL_RINGING;
        /* Placed before this process started: the pacer never timed it. */
        c->observed = 1;
        c->retry_ev = evtimer_new(s->base, call_on_retry, c);
        if (c->caller[0] && camp) {
            c->line = line_get(s, c->caller);
            c->line->in_flight++;
        }
        log_info("call.adopted", "attempt=%" PRId64 " campaign=%" PRId64 " state=%s",
                 c->attempt_id, c->campaign_id, call_state_names[c->state]);
    }
    sched_apply_event(s, c, rq);
}

/* Entry point for POST /v1/calls/events. */
void sched_event(struct sched *s, const struct sched_event *ev, sched_reply_cb cb, void *arg)
{
    struct sched_req *rq = util_xcalloc(1, sizeof(*rq));
    struct call *c;
    char key[24];

    rq->s = s;
    rq->cb = cb;
    rq->arg = arg;
    rq->ev = *ev;
    rq->ev.session_id = sched_copy(rq->session_id, sizeof(rq->session_id), ev->session_id);
    rq->ev.agent_id = sched_copy(rq->agent_id, sizeof(rq->agent_id), ev->agent_id);
    rq->ev.end_status = sched_copy(rq->end_status, sizeof(rq->end_status), ev->end_status);
    rq->ev.hangup_side = sched_copy(rq->hangup_side, sizeof(rq->hangup_side), ev->hangup_side);
    rq->ev.keys = sched_copy(rq->keys, sizeof(rq->keys), ev->keys);
    if (rq->ev.at_ms <= 0)
        rq->ev.at_ms = util_wall_ms();
    if (!db_is_up(s->db)) {
        sched_req_done(rq, 503, API_UNAVAILABLE, "the database is unreachable; retry");
        return;
    }
    snprintf(key, sizeof(key), "%" PRId64, ev->attempt_id);
    c = hmap_get(s->calls, key);
    if (c == NULL) {
        if (store_by_id(s->db, STORE_ATTEMPT_GET, ev->attempt_id, attempt_fetched, rq) != 0) {
            sched_req_done(rq, 503, API_UNAVAILABLE, "the database is unreachable; retry");
            return;
        }
        s->writes++;
        return;
    }
    if (c->state == CALL_ENDING || c->state == CALL_REVERTING) {
        /* The end is being written: this is a repeat, or an event that lost the race. */
        sched_req_done(rq, 200, API_OK, "ok (attempt is ending)");
        return;
    }
    rq->call = c;
    sched_apply_event(s, c, rq);
}

/* ------------------------------------------------------------------------------------------ */
/* Reconciliation                                                                               */

/* A lost attempt has been ended: nothing to answer. */
static void reconcile_reply(int http, int code, const char *reason, void *arg)
{
    (void)code;
    if (http != 200)
        log_warn("reconcile.failed", "attempt=%s reason=%s", (const char *)arg, log_q(reason));
    free(arg);
}

/* reconcile_list result: end each lost attempt as "unknown" through the normal event path. */
static void reconcile_listed(const struct db_result *r, void *arg)
{
    struct sched *s = arg;
    int rows, lost = 0;

    s->writes--;
    if (!db_result_ok(r)) {
        log_warn("reconcile.list", "error=%s", log_q(db_result_error(r)));
        return;
    }
    rows = db_result_rows(r);
    for (int i = 0; i < rows; i++) {
        struct call *c = hmap_get(s->calls, db_result_value(r, i, 0));
        lost += !(c && c->state == CALL_DIALING);
    }
    if (lost > 0)
        log_warn("reconcile.lost_attempts", "count=%d action=\"ended as unknown, recalled by rule\"",
                 lost);
    for (int i = 0; i < rows; i++) {
        struct sched_event ev;
        struct call *c = hmap_get(s->calls, db_result_value(r, i, 0));
        /* Still being dialed by this process: carrier_retry_s decides how that ends. */
        if (c && c->state == CALL_DIALING)
            continue;
        memset(&ev, 0, sizeof(ev));
        ev.attempt_id = db_result_int(r, i, 0, 0);
        ev.kind = OUTCOME_ENDED;
        ev.seq = 1 << 30;
        ev.end_status = "unknown";
        ev.hangup_side = "system";
        sched_event(s, &ev, reconcile_reply, util_xstrdup(db_result_value(r, i, 0)));
    }
}

/* Finds attempts that can no longer be in progress. */
static void sched_reconcile(struct sched *s)
{
    char grace[16], maxc[16];
    const char *p[3];

    snprintf(grace, sizeof(grace), "%d", s->o.reconcile_grace_s);
    snprintf(maxc, sizeof(maxc), "%d", s->o.max_call_s);
    p[0] = s->instance;
    p[1] = grace;
    p[2] = maxc;
    if (db_exec(s->db, STORE_RECONCILE_LIST, p, 3, reconcile_listed, s) == 0)
        s->writes++;
}

/* ------------------------------------------------------------------------------------------ */
/* Agents from the API                                                                          */

/* agent_set_status result: the reply. The report itself was applied when it came. */
static void agent_status_written(const struct db_result *r, void *arg)
{
    struct sched_req *rq = arg;
    struct sched *s = rq->s;
    struct agent *a = hmap_get(s->agents, rq->agent_id);
    char reason[200];

    s->writes--;
    if (a && a->writes_out > 0)
        a->writes_out--;
    if (!db_result_ok(r)) {
        /* The ACD retries; the pacer goes by the report meanwhile, as claims need the database
         * too and nothing is dialed without it. */
        sched_req_done(rq, 503, API_UNAVAILABLE, "the database did not take the status; retry");
        return;
    }
    if (db_result_rows(r) == 0) {
        /* Deleted from dialer.agents since it was loaded: no longer dialed for. */
        if (a)
            agent_set_status(s, a, AG_OFFLINE, sched_now());
        snprintf(reason, sizeof(reason), "agent \"%s\" does not exist; add it to dialer.agents first",
                 rq->agent_id);
        sched_req_done(rq, 404, API_INVALID, reason);
        return;
    }
    if (a) {
        double since = db_result_value(r, 0, 0) ? atof(db_result_value(r, 0, 0)) : 0;
        if (since > a->db_since)
            a->db_since = since;
    }
    sched_req_done(rq, 200, API_OK, "ok");
}

/* Entry point for PUT /v1/agents/{id}/status. */
void sched_agent_status(struct sched *s, const char *agent_id, const char *status,
                        const char *reason, int64_t at_ms, sched_reply_cb cb, void *arg)
{
    struct sched_req *rq = util_xcalloc(1, sizeof(*rq));
    const char *p[3];
    char why[300];
    struct agent *a = hmap_get(s->agents, agent_id);

    rq->s = s;
    rq->cb = cb;
    rq->arg = arg;
    if (agent_status_parse(status) < 0) {
        snprintf(why, sizeof(why), "status: \"%.40s\" is not an agent status; accepted: free, busy, "
                 "arrange, notReady, rest, offline", status);
        sched_req_done(rq, 422, API_INVALID, why);
        return;
    }
    /* The ACD reports "free" then "busy" when an agent takes a queued call, while the call's
     * `connected` event travels separately and may arrive first: applying the late "free"
     * would show the pacer an agent who is not there and a handle time of nothing. */
    if (a && at_ms > 0 && at_ms <= a->connected_ms && strcmp(status, "busy") != 0) {
        log_debug("agent.stale", "agent=%s status=%s at=%" PRId64 " connected_at=%" PRId64,
                  log_q(agent_id), status, at_ms, a->connected_ms);
        snprintf(why, sizeof(why), "not applied: the status (at %" PRId64 ") predates the agent's "
                 "connection to a call at %" PRId64, at_ms, a->connected_ms);
        sched_req_done(rq, 200, API_OK, why);
        return;
    }
    snprintf(rq->agent_id, sizeof(rq->agent_id), "%s", agent_id);
    snprintf(rq->status, sizeof(rq->status), "%s", status);
    rq->status_at_ms = at_ms;
    p[0] = agent_id;
    p[1] = status;
    p[2] = reason;
    if (db_exec(s->db, STORE_AGENT_SET_STATUS, p, 3, agent_status_written, rq) != 0) {
        sched_req_done(rq, 503, API_UNAVAILABLE, "the database is unreachable; retry");
        return;
    }
    s->writes++;
    /* Applied now, not when the row is written: a free agent is dialed for without waiting a
     * round trip. The row is a record, so it queues with the batches rather than ahead of the
     * claim the report causes. */
    if (a) {
        a->writes_out++;
        agent_report(s, a, (enum agent_status)agent_status_parse(status), at_ms, sched_now());
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Wiring                                                                                       */

/* Database up/down/listening. */
void sched_on_db_event(struct sched *s, enum db_event ev)
{
    if (ev == DB_EVENT_UP || ev == DB_EVENT_LISTENING) {
        /* Anything may have changed while we were away or not listening. */
        s->reload_campaigns = s->reload_agents = s->reload_lines = 1;
        sched_kick(s);
    } else {
        log_warn("sched.paused", "reason=\"database unreachable: no dials until it is back\"");
    }
}

/* NOTIFY dialer_changes: reload what changed. */
void sched_on_notify(struct sched *s, const char *channel, const char *payload)
{
    cJSON *j = cJSON_Parse(payload);
    const char *table = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "table"));

    (void)channel;
    if (table == NULL) {
        s->reload_campaigns = s->reload_agents = s->reload_lines = 1;
    } else if (strcmp(table, "campaigns") == 0) {
        s->reload_campaigns = 1;
    } else if (strcmp(table, "callees") == 0) {
        cJSON *ids = cJSON_GetObjectItemCaseSensitive(j, "campaign_ids"), *it;
        size_t pos = 0;
        struct campaign *c;
        if (cJSON_IsArray(ids)) {
            cJSON_ArrayForEach(it, ids) {
                char key[24];
                snprintf(key, sizeof(key), "%.0f", cJSON_GetNumberValue(it));
                c = hmap_get(s->campaigns, key);
                if (c) {
                    c->empty_until = 0;
                    c->callee_gen++;
                    c->refresh = 1;
                }
            }
        } else {
            while ((c = hmap_next(s->campaigns, &pos, NULL)) != NULL) {
                c->empty_until = 0;
                c->callee_gen++;
                c->refresh = 1;
            }
        }
    } else if (strcmp(table, "dnc") == 0) {
        const char *num = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "number"));
        const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "op"));
        const char *p[1] = { num };
        /* Only additions matter: a removal lets the number be dialled from the next claim. */
        if (num && op && strcmp(op, "DELETE") != 0) {
            struct camp_ref *ref = util_xcalloc(1, sizeof(*ref));
            ref->s = s;
            if (db_exec(s->db, STORE_DNC_SWEEP_NUMBER, p, 1, dnc_swept, ref) == 0)
                s->writes++;
            else
                free(ref);
        }
    } else if (strcmp(table, "agents") == 0) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id"));
        const char *p[1] = { id };
        if (id == NULL || db_exec(s->db, STORE_AGENT_LOAD, p, 1, agent_loaded, s) != 0)
            s->reload_agents = 1;
    } else if (strcmp(table, "caller_numbers") == 0) {
        s->reload_lines = 1;
    }
    cJSON_Delete(j);
    sched_kick(s);
}

/* Kick event: a tick now. */
static void sched_on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sched_tick(arg);
}

/* Creates the scheduler. */
struct sched *sched_setup(struct event_base *base, struct db *db, const struct sched_options *o)
{
    struct sched *s = util_xcalloc(1, sizeof(*s));
    struct timeval tv;

    s->base = base;
    s->db = db;
    s->o = *o;
    s->instance = util_xstrdup(o->instance);
    if (gethostname(s->host, sizeof(s->host)) != 0)
        snprintf(s->host, sizeof(s->host), "unknown");
    s->host[sizeof(s->host) - 1] = '\0';
    s->carrier_url = util_xstrdup(o->carrier_url);
    s->callback_url = util_xstrdup(o->callback_url);
    s->o.instance = s->instance;
    s->o.carrier_url = s->carrier_url;
    s->o.callback_url = s->callback_url;
    s->campaigns = hmap_new();
    s->agents = hmap_new();
    s->pools = hmap_new();
    s->lines = hmap_new();
    s->calls = hmap_new();
    s->zones = hmap_new();
    s->carrier = carrier_new(base, o->carrier_url, o->callback_url, o->carrier_timeout_ms,
                             o->carrier_max_conns);
    s->reload_campaigns = s->reload_agents = s->reload_lines = 1;
    s->next_reload = sched_now() + 30;
    s->tick_ev = event_new(base, -1, EV_PERSIST, sched_on_tick, s);
    s->kick_ev = event_new(base, -1, 0, sched_on_kick, s);
    s->wake_ev = evtimer_new(base, sched_on_kick, s);
    s->flush_ev = event_new(base, -1, 0, sched_on_flush, s);
    s->dialed_b = store_batch_new(STORE_BATCH_DIALED);
    s->finish_b = store_batch_new(STORE_BATCH_FINISH);
    tv.tv_sec = o->tick_ms / 1000;
    tv.tv_usec = (o->tick_ms % 1000) * 1000;
    event_add(s->tick_ev, &tv);
    s->tick_due = metrics_clock() + o->tick_ms / 1000.0;
    log_info("sched.setup", "carrier_url=%s callback_url=%s tick_ms=%d", log_q(o->carrier_url),
             log_q(o->callback_url), o->tick_ms);
    return s;
}

/* No new dials from now on. */
void sched_stop_dialing(struct sched *s)
{
    if (!s->stopping)
        log_info("sched.stop_dialing", "calls_in_flight=%zu", hmap_len(s->calls));
    s->stopping = 1;
}

/* Work the drain waits for. */
int sched_busy(const struct sched *s)
{
    /* With the database up, a stop waits for the leases to be let go (see sched_tick). */
    int release = s->stopping && !s->leases_dropped && db_is_up(s->db);

    return (int)hmap_len(s->calls) + s->writes + carrier_pending(s->carrier) + release;
}

/* Counters. */
void sched_stats(const struct sched *s, struct sched_stats *st)
{
    size_t pos = 0;
    struct agent *a;

    *st = s->st;
    st->campaigns = (int)hmap_len(s->campaigns);
    st->pools = (int)hmap_len(s->pools);
    st->calls_in_flight = (int)hmap_len(s->calls);
    st->agents_free = st->agents_busy = 0;
    while ((a = hmap_next(s->agents, &pos, NULL)) != NULL) {
        st->agents_free += a->status == AG_FREE;
        st->agents_busy += a->status == AG_BUSY || a->status == AG_ARRANGE;
    }
}

/* Agent status names, in enum agent_status order (for /metrics). */
const char *sched_agent_status_name(int i)
{
    return i >= 0 && i < SCHED_AGENT_STATUSES ? agent_status_names[i] : "?";
}

/* Per-pool calls and agents; agents and calls in no active pool go to a last "none" entry. */
int sched_pool_stats(const struct sched *s, struct sched_pool_stats *out, int max)
{
    size_t pos = 0;
    struct pool *p;
    struct agent *a;
    int n = 0, in_pools = 0;

    while ((p = hmap_next(s->pools, &pos, NULL)) != NULL) {
        if (n < max) {
            struct sched_pool_stats *ps = &out[n];
            size_t apos = 0;
            memset(ps, 0, sizeof(*ps));
            snprintf(ps->pool, sizeof(ps->pool), "%s", p->key);
            ps->skill_group_id = p->skill_group_id;
            ps->active = p->active;
            ps->leased = p->lease_until > sched_now() ? 1 + p->handover : 0;
            ps->calls_in_flight = p->n_calls;
            while ((a = hmap_next(s->agents, &apos, NULL)) != NULL)
                if (a->pool == p)
                    ps->agents[a->status]++;
        }
        in_pools += p->n_calls;
        n++;
    }
    if (n < max) {
        struct sched_pool_stats *ps = &out[n];
        memset(ps, 0, sizeof(*ps));
        snprintf(ps->pool, sizeof(ps->pool), "none");
        /* Calls adopted after a restart for a campaign no longer loaded have no pool. */
        ps->calls_in_flight = (int)hmap_len(s->calls) - in_pools;
        pos = 0;
        while ((a = hmap_next(s->agents, &pos, NULL)) != NULL)
            if (a->pool == NULL)
                ps->agents[a->status]++;
    }
    return n + 1;
}

/* Frees every map and object. Calls in flight stay in the database for reconciliation. */
void sched_cleanup(struct sched *s)
{
    size_t pos = 0;
    void *v;
    const char *key;

    if (s == NULL)
        return;
    s->stopping = 1;
    carrier_free(s->carrier);
    /* Calls: free without touching the maps they are being iterated from. */
    while ((v = hmap_next(s->calls, &pos, &key)) != NULL) {
        struct call *c = v;
        if (c->retry_ev)
            event_free(c->retry_ev);
        free(c->uui);
        free(c->variables);
        free(c);
    }
    pos = 0;
    while ((v = hmap_next(s->campaigns, &pos, NULL)) != NULL)
        campaign_free(v);
    pos = 0;
    while ((v = hmap_next(s->pools, &pos, NULL)) != NULL) {
        struct pool *p = v;
        if (p->pacer)
            pacer_free(p->pacer);
        free(p);
    }
    pos = 0;
    while ((v = hmap_next(s->agents, &pos, NULL)) != NULL)
        free(v);
    pos = 0;
    while ((v = hmap_next(s->lines, &pos, NULL)) != NULL)
        free(v);
    pos = 0;
    while ((v = hmap_next(s->zones, &pos, NULL)) != NULL)
        free(v);
    hmap_free(s->zones);
    hmap_free(s->calls);
    hmap_free(s->campaigns);
    hmap_free(s->pools);
    hmap_free(s->agents);
    hmap_free(s->lines);
    event_free(s->tick_ev);
    event_free(s->kick_ev);
    event_free(s->wake_ev);
    event_free(s->flush_ev);
    /* Ends never sent (the loop stopped first) are reconciled at the next start. */
    for (int i = 0; i < store_batch_rows(s->finish_b); i++)
        free(s->finish_rq[i]);
    free(s->finish_rq);
    store_batch_free(s->dialed_b);
    store_batch_free(s->finish_b);
    free(s->instance);
    free(s->carrier_url);
    free(s->callback_url);
    free(s);
}
