/* SMS dispatcher: claims due dialer.sms_outbox rows and sends them to the gateway (DESIGN §5.4). */
#ifndef DIALERD_SMS_H
#define DIALERD_SMS_H

#include <stdint.h>

struct event_base;
struct db;
struct sms;

struct sms_options {
    const char *url;            /* POST target (sms_url); copied */
    const char *instance;       /* claimed_by on the rows it claims; copied */
    int timeout_ms;             /* one request */
    int max_tries;              /* sends of one row before it fails (429 / 5xx / no answer) */
    int backoff_min_ms, backoff_max_ms;
    int batch;                  /* most rows one claim takes */
    int max_conns;              /* sends in flight at once */
    int poll_ms;                /* look for due rows at least this often */
    int lease_ms;               /* a claimed row is ours this long; > timeout_ms */
};

/*
 * Row states (dialer.sms_outbox.state), moved only by sms.c's one set_state:
 *   pending --claim--> sending --2xx--> sent
 *                      sending --429 / 5xx / timeout / refused, tries < max--> pending (backoff)
 *                      sending --other 4xx, or tries = max--> failed
 *   sending --lease passed (the claimer died)--> claimed again (tries + 1)
 * Every send carries Idempotency-Key: <row id>, so a resend after a crash is harmless.
 */

/* Creates the dispatcher; it starts claiming once the database is up. The db must outlive it. */
struct sms *sms_setup(struct event_base *base, struct db *db, const struct sms_options *o);
/*
 * Frees it. Sends still in flight are abandoned: their rows stay 'sending' and are sent again
 * (same key) by the next dialerd with this instance name at once, or by anyone after the lease.
 * Call it after db_cleanup(): statements still out then call back into the dispatcher, which
 * must still exist. NULL is fine.
 */
void sms_cleanup(struct sms *s);

/* Rows may be due in `in_ms` ms (a statement just queued some): look then, not at the next poll. */
void sms_wake(struct sms *s, int64_t in_ms);
/* Drain: claim nothing more; sends in flight finish and their results are written. */
void sms_stop(struct sms *s);
/* Sends in flight plus result writes not yet committed (the drain waits for them). */
int sms_busy(const struct sms *s);

struct sms_stats {
    long claimed, sent, retried, failed, write_errors;
    int in_flight;
};
/* Counters since start. */
void sms_stats(const struct sms *s, struct sms_stats *st);

#endif
