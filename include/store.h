/* Store: every SQL statement the daemon runs, prepared on each connection, with typed wrappers. */
#ifndef DIALERD_STORE_H
#define DIALERD_STORE_H

#include "db.h"

#include <stdint.h>

/* Statement ids: indexes into store_statements(). Result columns are listed in store.c. */
enum store_stmt {
    STORE_CAMPAIGNS_LOAD,       /* campaigns not yet ended */
    STORE_AGENTS_LOAD,          /* agents with their skill groups (one row per membership) */
    STORE_AGENT_LOAD,           /* the same for one agent ($1 id) */
    STORE_CALLERS_LOAD,         /* caller numbers and their limits */
    STORE_CLAIM_ORDERED,        /* claim callees in insertion order */
    STORE_CLAIM_RANDOM,         /* claim callees in random order (order_key) */
    STORE_ATTEMPT_DIALED,       /* the carrier accepted the dial */
    STORE_ATTEMPT_REVERT,       /* the dial never left: undo the claim, no attempt counted */
    STORE_ATTEMPT_EVENT,        /* ringing / answered / connected timestamps */
    STORE_ATTEMPT_GET,          /* one attempt's facts, for events about attempts not in memory */
    STORE_AGENT_SET_STATUS,     /* PUT /v1/agents/{id}/status */
    STORE_CAMPAIGN_START,       /* ready -> running once not_before has passed */
    STORE_CAMPAIGN_OVERTIME,    /* -> terminated (reason 2) once not_after has passed */
    STORE_CAMPAIGN_COMPLETE,    /* running -> completed when every callee is final */
    STORE_RECONCILE_LIST,       /* attempts in flight for longer than they can be */
    STORE_ZONE_SECONDS,         /* local second of the day in each zone ($1 text[]) */
    STORE_CALLEE_ZONES,         /* distinct time zones of a campaign's waiting callees */
    STORE_DNC_SWEEP_CAMPAIGN,   /* waiting callees of a campaign on dialer.dnc -> unanswered */
    STORE_DNC_SWEEP_NUMBER,     /* waiting callees with this number, once it is on dialer.dnc */
    STORE_ABANDON_WINDOW,       /* a campaign's live answers and abandons in the last $2 s */
    /* Pool leases (sql/0007_leases.sql): several instances on one database. */
    STORE_LEASE_RENEW,          /* $1 instance $2 pools wanted text[] $3 lease ms $4 pools let go
                                   text[] $5 pid $6 host -> one row per lease held (pool, NULL when
                                   none), fair share, live instances */
    STORE_LEASE_DROP,           /* $1 instance: every lease and the instance row (clean stop) */
    /* Batches: many attempts in one statement (struct store_batch). */
    STORE_ATTEMPTS_DIALED,      /* $1 ids bigint[] $2 session ids text[] */
    STORE_ATTEMPTS_FINISH,      /* ends: 14 arrays of struct store_finish's fields, then 6 SMS
                                   arrays -> attempt_id, attempts_updated, callees_updated,
                                   sms_queued per end, in the order added */
    /* REST resource routes (src/api_campaigns.c, api_callees.c, api_agents.c): each answers in
       one round trip; lists and single campaigns come back as JSON text built by PostgreSQL. */
    STORE_CAMPAIGN_CREATE,      /* $1 jsonb of every writable column -> id, campaign JSON */
    STORE_CAMPAIGN_LIST,        /* $1 status[] $2 skill group $3 name part $4 after id $5 limit -> page JSON */
    STORE_CAMPAIGN_GET,         /* $1 id -> campaign JSON with its progress (campaign_progress) */
    STORE_CAMPAIGN_PATCH,       /* $1 id $2 jsonb $3 statuses allowing it -> status before, campaign JSON */
    STORE_CAMPAIGN_DELETE,      /* $1 id -> status, calls in flight, rows deleted */
    STORE_CAMPAIGN_PAUSE,       /* $1 id -> new status (dialer.campaign_pause) */
    STORE_CAMPAIGN_RESUME,      /* $1 id -> new status (dialer.campaign_resume) */
    STORE_CAMPAIGN_ABORT,       /* $1 id -> new status (dialer.campaign_abort) */
    STORE_CALLEES_IMPORT,       /* $1 campaign $2 jsonb items -> campaign status, per-item results JSON */
    STORE_CALLEES_LIST,         /* $1 campaign $2 state[] $3 after id $4 limit -> exists, page JSON */
    STORE_AGENTS_LIST,          /* $1 skill group $2 status[] $3 after id $4 limit -> page JSON */
    /* The SMS outbox dispatcher (src/sms.c). */
    STORE_SMS_RELEASE,          /* $1 instance: its rows left in 'sending' -> pending (restart) */
    STORE_SMS_CLAIM,            /* $1 n $2 lease ms $3 instance -> id, tries, to, sender, body,
                                   campaign_id, trigger of due rows, now 'sending' */
    STORE_SMS_DONE,             /* $1 id $2 tries $3 state $4 error $5 retry delay ms -> id */
    STORE_N_STMTS
};

/* The statement table for db_setup(); static storage. */
const struct db_stmt *store_statements(int *n);

/*
 * Claims up to `n` dialable callees of a campaign in one statement: state 0/4 -> 3, attempts
 * + 1 and an attempt row each, caller i of `callers` (n entries) on the i-th row. When
 * `open_zones` is not NULL only callees whose zone (their own, else `campaign_tz`) is one of
 * the `n_open` zones are taken. Rows come back as: attempt_id, callee_id, number, attempt_no,
 * uui, variables (JSON text), caller, prior_success ('t'/'f'), callee time_zone. Same
 * callback contract as db_exec().
 */
int store_claim(struct db *db, int64_t campaign_id, int random_order, int n,
                const char *const *callers, int64_t skill_group_id, const char *instance,
                const char *campaign_tz, const char *const *open_zones, int n_open,
                db_cb cb, void *arg);

/*
 * Lease renewal (STORE_LEASE_RENEW): holds or bids for the `n` pools in `wanted` and lets the
 * `n_go` pools in `let_go` go. Strings are copied before it returns; -1 if the statement could
 * not be sent (the callback is then never called).
 */
int store_lease_renew(struct db *db, const char *instance, const char *const *wanted, int n,
                      const char *const *let_go, int n_go, int lease_ms, long pid,
                      const char *host, db_cb cb, void *arg);

/* Runs a statement whose only parameter is a text array (zone names). */
int store_by_array(struct db *db, enum store_stmt stmt, const char *const *items, int n,
                   db_cb cb, void *arg);

/*
 * SMS queued by the statement that records an event (STORE_ATTEMPTS_FINISH, STORE_ATTEMPT_EVENT),
 * in the same transaction. Strings are the caller's; they are copied before the call returns.
 */
#define STORE_SMS_MAX 5
struct store_sms {
    int n;                          /* 0..STORE_SMS_MAX rows, one per trigger */
    const char *trigger[STORE_SMS_MAX];   /* dialer.sms_outbox.trigger names */
    int64_t due_in_ms[STORE_SMS_MAX];     /* due this long after the statement's now() */
    const char *to, *sender, *body; /* the callee's number, sender id (NULL ok), rendered text */
};

/* What an attempt's end writes (STORE_ATTEMPTS_FINISH). Times are Unix ms, 0 = unknown. */
struct store_finish {
    int64_t attempt_id;
    int64_t ended_ms, ringing_ms, answered_ms, connected_ms;
    const char *end_status;     /* canonical */
    int success;
    const char *agent_id, *hangup_side, *keys, *session_id;   /* NULL = leave as is */
    int seq;
    int callee_state;           /* enum callee_state */
    int delay_s;                /* pending retry: due this many seconds from now */
    const struct store_sms *sms;    /* SMS to queue with the end; NULL = none */
};

/* Writes one intermediate event; `event` is "ringing" / "answered" / "connected". `sms` (NULL =
 * none) is queued in the same statement when the event was new. The result has a row only when
 * the attempt changed: ended ('t'/'f'), sms_queued. */
int store_event(struct db *db, int64_t attempt_id, const char *event, int64_t at_ms,
                const char *agent_id, const char *session_id, int seq,
                const struct store_sms *sms, db_cb cb, void *arg);

/*
 * A batch of writes of one kind being built: every row is turned into array-literal text as
 * it is added, so the caller's strings need not outlive the call. One statement per batch
 * means one round trip, one commit and one firing of the statement-level counter triggers for
 * many calls. Owned by its creator (store_batch_free).
 */
struct store_batch;

enum store_batch_kind { STORE_BATCH_DIALED, STORE_BATCH_FINISH };

struct store_batch *store_batch_new(enum store_batch_kind kind);
void store_batch_free(struct store_batch *b);
/* Rows added since the last send. */
int store_batch_rows(const struct store_batch *b);
/* STORE_BATCH_DIALED: the carrier took the dial of this attempt under this session id. */
void store_batch_add_dialed(struct store_batch *b, int64_t attempt_id, const char *session_id);
/* STORE_BATCH_FINISH: one end and its SMS; -1 if f->sms has too many rows. */
int store_batch_add_finish(struct store_batch *b, const struct store_finish *f);
/* Sends the rows as one statement and empties the batch (also when sending fails: -1). */
int store_batch_send(struct db *db, struct store_batch *b, db_cb cb, void *arg);

/* Runs a statement whose only parameter is one id (campaign id, attempt id). */
int store_by_id(struct db *db, enum store_stmt stmt, int64_t id, db_cb cb, void *arg);

#endif
