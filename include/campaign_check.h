/* Campaign and callee bodies of the REST API checked field by field (DESIGN §5.1), and SQL errors mapped to REST codes. */
#ifndef DIALERD_CAMPAIGN_CHECK_H
#define DIALERD_CAMPAIGN_CHECK_H

/*
 * Pure: no I/O, no clock, no globals. Every message names the field, the offending value and
 * what is accepted. The database checks everything again (CHECK constraints, triggers): these
 * checks exist so that a person gets one clear message per field before anything reaches SQL,
 * and so that a batch import can refuse one bad item without failing the others.
 *
 * Ownership: every cJSON tree handed out through an `out` parameter is new and belongs to the
 * caller (free it with cJSON_Delete). Input trees are only read.
 */

#include "api.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Campaign statuses as a bit set: bit s is status s (0 ready .. 4 completed). */
#define CAMPAIGN_STATUS_BIT(s) (1u << (s))

/* Most items `callers` and `time_ranges` may hold, and longest uui. */
#define CAMPAIGN_MAX_CALLERS 100
#define CAMPAIGN_MAX_RANGES 48
#define CAMPAIGN_MAX_UUI 1024
/* variables: at most this many keys, each 1..64 characters, values at most 1000 characters. */
#define CAMPAIGN_MAX_VARIABLES 100

/*
 * Checks a POST /v1/campaigns body. On success returns 0 and sets *out to a normalised object
 * holding every writable column: the given values, the column defaults of §5.1 for the others
 * (not_before is left out when not given: the database fills in now()). On failure returns -1,
 * sets *out to NULL and writes every problem found, "; "-separated, into err.
 */
int campaign_check_create(const cJSON *body, cJSON **out, char *err, size_t errlen);

/*
 * Checks a PATCH /v1/campaigns/{id} body. On success returns 0, sets *out to the normalised
 * subset to apply and *may_change to the statuses (CAMPAIGN_STATUS_BIT) in which every given
 * field may change. On failure returns -1 as campaign_check_create() does, or -2 when the
 * body tries to set status or status_reason (REST -54: the status changes only through the
 * control routes).
 */
int campaign_check_patch(const cJSON *body, cJSON **out, unsigned *may_change,
                         char *err, size_t errlen);

/*
 * Why a checked patch cannot be applied to campaign `id` in `status`: writes a message naming
 * the first field that may not change and why, e.g. "mode: cannot change while campaign 7 is
 * running (1): ...". Returns 0 when every field may change in that status.
 */
int campaign_check_patch_refusal(const cJSON *patch, int status, int64_t id,
                                 char *why, size_t whylen);

/*
 * Checks one callee of a batch import. Accepts our column names {"number", "uui",
 * "variables", "time_zone"}, the seed CalleeAttribute {"Callee", "UUI", "Variables":
 * [{"Key", "Value"}]}, or a bare number string. On success returns 0, sets *out to
 * {"number", "uui", "variables", "time_zone"} (uui and time_zone may be null). The time zone
 * is only checked for shape: whether PostgreSQL knows it is the database's answer.
 */
int campaign_check_callee(const cJSON *item, cJSON **out, char *err, size_t errlen);

/* Parses a campaign id from a path segment: 1..2^63-1 in decimal. Returns 0 or -1 with err. */
int campaign_check_id(const char *text, int64_t *id, char *err, size_t errlen);

/*
 * Whether s is an RFC 3339 timestamp with an explicit offset: YYYY-MM-DD[T ]HH:MM[:SS[.f]]
 * then Z or +HH[:MM] / -HH[:MM], with a real calendar date. Returns 1 or 0.
 */
int campaign_check_timestamp(const char *s);

/* Whether s is a callee / caller number: 3..15 digits with an optional leading '+'. */
int campaign_check_number(const char *s);

/* A statement's failure as the REST layer answers it. */
struct campaign_sql_error {
    int http_status;
    enum api_code code;
    const char *field;           /* the column at fault when known, else NULL; static */
};

/*
 * Maps a failed statement (SQLSTATE, libpq's one-line message) to an HTTP status, a REST code
 * and a reason for people, written into reason. An empty sqlstate means the database did not
 * answer (connection lost, timeout): 503, and the reason says the change may or may not have
 * been made.
 */
void campaign_check_sql_error(const char *sqlstate, const char *message,
                              struct campaign_sql_error *out, char *reason, size_t len);

/* Label of a campaign status for messages: "running (1)". */
const char *campaign_check_status_label(int status);

#endif
