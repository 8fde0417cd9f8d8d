/* SMS rules: which SMS an attempt's events trigger, when they are due, and the template's text. */
#ifndef DIALERD_SMSRULE_H
#define DIALERD_SMSRULE_H

#include "outcome.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Pure: no I/O, no clock reads, no globals. The scheduler feeds it a campaign's settings and an
 * attempt's facts and writes what it returns in the same statement as the outcome (docs/sms.md).
 *
 * Trigger semantics (seed 003 hangUpSms, successPush, failedPush, ringPush, feedbackPush):
 *   ring     the callee's phone rang: a "ringing" event, or an answer of any kind (an answered
 *            phone has rung). Fires on the ringing event, or at the end when no ringing event
 *            came; (attempt, trigger) is unique, so it fires once.
 *   hangup   the call was picked up and has ended: a person answered (success, dropped before
 *            an agent, abandoned, or any status after an "answered" event) or a machine did.
 *   success  the attempt is a success (DESIGN §4); due sms_success_delay_s after the call ended.
 *   failure  the attempt ended and is not a success: no answer, busy, invalid, carrier errors,
 *            abandoned, machine, dropped. Not when the outcome is unknown (end_status "unknown",
 *            what reconciliation writes after a crash): the call may have succeeded. Per
 *            attempt: a callee recalled three times can get up to four.
 *   feedback the keys pressed (ended event) contain sms_feedback_value.
 */

enum sms_trigger {
    SMS_TRIGGER_HANGUP, SMS_TRIGGER_SUCCESS, SMS_TRIGGER_FAILURE, SMS_TRIGGER_RING,
    SMS_TRIGGER_FEEDBACK, SMS_TRIGGER_N
};

/* The trigger's name in dialer.sms_outbox.trigger ("hangup", "success", ...). */
const char *sms_trigger_name(enum sms_trigger t);

/* A campaign's SMS settings (dialer.campaigns sms_* columns). */
struct sms_rule {
    int on_hangup, on_success, on_failure, on_ring, on_feedback;
    int success_delay_s;        /* 1..9999 */
    char feedback_value;        /* '0'..'9'; 0 = none (feedback never fires) */
};

/* What is known about an attempt when an event arrives. */
struct sms_facts {
    int rang;                   /* a ringing event arrived, or ringing_at is known */
    int answered;               /* an answered / connected event arrived */
    const struct outcome *out;  /* the classified end; NULL for an intermediate event */
    const char *keys;           /* keys pressed, from the ended event; NULL = none */
    int64_t ended_ms;           /* Unix ms the call ended; 0 = unknown (use now) */
};

/* One SMS to queue: its trigger and the Unix ms from which it may be sent. */
struct sms_fire {
    enum sms_trigger trigger;
    int64_t due_ms;
};

/* Whether a campaign has any trigger on. */
int sms_rule_any(const struct sms_rule *r);

/*
 * Decides which triggers fire for this event, at `now_ms` (Unix ms, the caller's clock). Writes
 * them into out[] in enum order and returns how many (0..SMS_TRIGGER_N).
 */
int sms_rule_decide(const struct sms_rule *r, const struct sms_facts *f, int64_t now_ms,
                    struct sms_fire out[SMS_TRIGGER_N]);

/* ---- the text ---- */

#define SMS_RULE_VARS 10
/* Longest rendered text in characters; the template is ≤ 1000, variables could make it grow. */
#define SMS_RULE_BODY_MAX_CHARS 2000
/* A buffer that always holds the longest rendered text (4 bytes per UTF-8 character). */
#define SMS_RULE_BODY_BYTES (SMS_RULE_BODY_MAX_CHARS * 4 + 1)

/*
 * Renders `tmpl`: every `${text1}`..`${text10}` (exactly so spelt) is replaced by vars[0..9];
 * a NULL var renders empty. Everything else is copied as it is, including a lone `$`,
 * `${text0}`, `${text11}`, `${TEXT1}`, `${x}` and an unclosed `${text1`. The output is cut at
 * SMS_RULE_BODY_MAX_CHARS characters and at `outlen` - 1 bytes, never inside a UTF-8
 * sequence; it is always NUL-terminated (outlen ≥ 1). Returns 1 when it was cut, else 0.
 */
int sms_rule_render(const char *tmpl, const char *const vars[SMS_RULE_VARS], char *out,
                    size_t outlen);

/*
 * Renders with the variables looked up in two JSON objects (text): text<i> from the callee's,
 * else the campaign's (as the carrier merges them: a key the callee has wins, even when null).
 * Strings render as they are, numbers and booleans in their JSON spelling, null / objects /
 * arrays / missing keys / unparsable JSON render empty. Same return and limits as
 * sms_rule_render().
 */
int sms_rule_render_json(const char *tmpl, const char *callee_vars, const char *campaign_vars,
                         char *out, size_t outlen);

/* ---- the gateway's answers ---- */

enum sms_verdict { SMS_VERDICT_SENT, SMS_VERDICT_RETRY, SMS_VERDICT_FAIL };

/*
 * DESIGN §5.4: 2xx sent; 429, 5xx, a timeout or no response at all (refused, reset) retry;
 * any other status (other 4xx, 1xx, 3xx) fails the row at once.
 */
enum sms_verdict sms_rule_verdict(int http_status);

/*
 * Back-off before try `tries` + 1 after `tries` failed ones (tries ≥ 1): min_ms doubling per
 * try up to max_ms, then "equal jitter": half of it fixed, the other half scaled by rnd01 in
 * [0, 1). Never below min_ms / 2 nor above max_ms.
 */
int64_t sms_rule_backoff_ms(int tries, int min_ms, int max_ms, double rnd01);

#endif
