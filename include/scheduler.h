/* Scheduler: pools, pacing, priority allocation, claims, dispatch, call events, agent status. */
#ifndef DIALERD_SCHEDULER_H
#define DIALERD_SCHEDULER_H

#include "db.h"
#include "outcome.h"

#include <stdint.h>

struct event_base;
struct sched;

struct sched_options {
    const char *instance;          /* written on every attempt */
    const char *carrier_url;
    const char *callback_url;      /* where the carrier sends call events */
    int tick_ms;                   /* pacing period; events also trigger a tick at once */
    int carrier_timeout_ms;
    int carrier_retry_s;           /* how long an uncertain dial is retried with its key */
    int carrier_max_conns;
    int abandon_lock_s;            /* an abandoned callee waits at least this long */
    int acd_grace_ms;              /* the ACD's abandon grace (pacer parameter) */
    int reconcile_grace_s;         /* unanswered calls older than ring timeout + this are lost */
    int max_call_s;                /* answered calls older than this are lost */
    int claim_batch_max;           /* most callees claimed by one statement */
    int lease_ms;                  /* pool lease time (dialer.leases) */
    int lease_renew_ms;            /* renewal period, at most lease_ms / 3 */
    /* Called when a committed write queued SMS due in `in_ms` (the SMS dispatcher's wake-up);
     * NULL = nobody to tell. */
    void (*sms_wake)(void *arg, int64_t in_ms);
    void *sms_wake_arg;
};

/* Creates the scheduler; it reads the database once the pool reports DB_EVENT_UP. Strings in
 * `o` are copied. The db must outlive it. */
struct sched *sched_setup(struct event_base *base, struct db *db, const struct sched_options *o);
/* Frees everything; calls still in flight are left to crash-recovery reconciliation. */
void sched_cleanup(struct sched *s);

/* Pool events and NOTIFY payloads, forwarded by main from the db module. */
void sched_on_db_event(struct sched *s, enum db_event ev);
void sched_on_notify(struct sched *s, const char *channel, const char *payload);

/* Drain: place no new calls from now on; once the calls have ended the pool leases and the
 * instance row are deleted, so that another instance takes the pools over at once. */
void sched_stop_dialing(struct sched *s);
/* Calls placed and not yet ended, plus dials, writes and the lease release in progress. */
int sched_busy(const struct sched *s);

/*
 * How a request is answered once its work is committed: an HTTP status, an envelope code
 * (enum api_code) and a reason. Called exactly once, possibly before the function that was
 * given it returns.
 */
typedef void (*sched_reply_cb)(int http_status, int code, const char *reason, void *arg);

/* A carrier event (DESIGN §5.3), validated by the caller. Strings may be NULL. */
struct sched_event {
    int64_t attempt_id;
    const char *session_id;
    int seq;
    enum outcome_event kind;
    int64_t at_ms;                 /* Unix ms */
    const char *agent_id;
    const char *end_status;        /* as sent; mapped to the vocabulary here */
    const char *hangup_side;
    const char *keys;
};

/* Applies a carrier event; replies once it is committed (503 when the database is away). */
void sched_event(struct sched *s, const struct sched_event *ev, sched_reply_cb cb, void *arg);

/*
 * Sets an agent's status (free, busy, arrange, notReady, rest, offline); replies when stored.
 * `at_ms` (Unix ms, 0 = unknown) is when the status changed at the ACD: a status not newer than the
 * agent's latest `connected` event is about its previous call, arrived late, and is not applied.
 */
void sched_agent_status(struct sched *s, const char *agent_id, const char *status,
                        const char *reason, int64_t at_ms, sched_reply_cb cb, void *arg);

struct sched_stats {
    int campaigns;                 /* loaded (ready, running, paused) */
    int pools;
    int calls_in_flight;
    int agents_free, agents_busy;
    long dials, dials_failed, events, attempts_finished;
};
/* Counters for /healthz and /metrics. */
void sched_stats(const struct sched *s, struct sched_stats *st);

/* Agent statuses, and their names in the order of sched_pool_stats.agents[]. */
#define SCHED_AGENT_STATUSES 6
const char *sched_agent_status_name(int i);

/* One pool as /metrics shows it. */
struct sched_pool_stats {
    char pool[32];                 /* "sg:<skill group id>", "camp:<campaign id>" (agentless), or
                                      "none": agents counted in no active pool, calls of
                                      campaigns no longer loaded */
    int64_t skill_group_id;        /* 0 for agentless and "none" */
    int active;                    /* has a running campaign */
    int leased;                    /* this instance holds its lease: 1 dialing, 2 handing it over */
    int calls_in_flight;           /* placed and not yet ended */
    int agents[SCHED_AGENT_STATUSES]; /* agents counted in this pool, by status */
};
/*
 * Fills up to `max` entries of `out` (caller-owned) with every pool, then the "none" entry;
 * returns how many entries there are in all (call with max 0 to size the array).
 */
int sched_pool_stats(const struct sched *s, struct sched_pool_stats *out, int max);

#endif
