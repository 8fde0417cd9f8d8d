/* Request authentication: bearer tokens, HMAC-SHA256 request signatures, the replay cache. */
#ifndef DIALERD_AUTH_H
#define DIALERD_AUTH_H

#include <stddef.h>
#include <stdint.h>

/*
 * The wire format (DESIGN §5.2, docs/api-auth.md):
 *
 *   control routes:  Authorization: Bearer <token>
 *   event and push:  X-Dialer-Timestamp: <Unix seconds, decimal digits>
 *                    X-Dialer-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + body)>
 *
 * The signed message is the timestamp header's text immediately followed by the raw body.
 * Any configured token / secret may match (rotation). No function here reads a clock: `now`
 * is always passed in, so every decision can be replayed in a unit test.
 */
#define AUTH_TS_HEADER "X-Dialer-Timestamp"
#define AUTH_SIG_HEADER "X-Dialer-Signature"
#define AUTH_SIG_PREFIX "sha256="
/* "sha256=" + 64 hex digits + NUL */
#define AUTH_SIG_VALUE_LEN (7 + 64 + 1)
/* Hex digits of a MAC kept for replay detection: 128 bits cannot collide by chance. */
#define AUTH_REPLAY_KEY_HEX 32

enum auth_result {
    AUTH_OK = 0,
    AUTH_UNCONFIGURED,      /* no token / secret configured: the whole class is refused */
    AUTH_MISSING,           /* the request carries no credentials */
    AUTH_MALFORMED,         /* a header is not in the accepted form */
    AUTH_MISMATCH,          /* wrong token, or a signature that does not match */
    AUTH_STALE,             /* the timestamp is further than the skew from now */
    AUTH_REPLAYED,          /* this signature was already used within the skew */
    AUTH_BUSY               /* the replay cache is full: refused, the sender retries later */
};

struct auth;

/*
 * An empty authenticator (refuses everything until tokens / secrets are set). The replay
 * cache remembers at most `replay_max` signatures; at the cap new signed requests get
 * AUTH_BUSY until old ones expire, rather than forgetting a signature that could still be
 * replayed (fail closed). Never NULL (aborts on out-of-memory).
 */
struct auth *auth_new(size_t replay_max);
/* Wipes the secrets and frees everything. NULL is fine. */
void auth_free(struct auth *a);

/*
 * Replaces the accepted bearer tokens with the comma-separated list in `csv` (white space
 * around each is trimmed, empty items skipped). Only SHA-256 digests of the tokens are kept.
 * Returns how many tokens are accepted now.
 */
int auth_set_tokens(struct auth *a, const char *csv);
/* Replaces the signing secrets (same list syntax); the old ones are wiped. Returns the count. */
int auth_set_secrets(struct auth *a, const char *csv);

/*
 * Checks an Authorization header value (NULL when absent). On refusal writes a reason for
 * the client into why (never the token itself).
 */
enum auth_result auth_check_bearer(const struct auth *a, const char *header, char *why,
                                   size_t whylen);

/*
 * Checks a signed request: the two header values (NULL when absent), the raw body, the
 * current Unix time and the allowed skew in seconds. In order: header form, timestamp within
 * skew (AUTH_STALE), signature against every secret (AUTH_MISMATCH), then the replay cache
 * (AUTH_REPLAYED / AUTH_BUSY). Only a request that passes everything is remembered, keyed on
 * the MAC that matched (so a different spelling of the same signature is still a replay), and
 * forgotten once its timestamp is older than the skew.
 */
enum auth_result auth_check_signed(struct auth *a, const char *ts_header, const char *sig_header,
                                   const void *body, size_t len, int64_t now, int max_skew_s,
                                   char *why, size_t whylen);

/* Signatures remembered right now (for tests and metrics). */
size_t auth_replay_count(const struct auth *a);

/*
 * Signs a request as a sender does: writes "sha256=<64 lowercase hex>" (AUTH_SIG_VALUE_LEN
 * bytes with the NUL) for the timestamp text and body.
 */
void auth_sign(const char *secret, size_t secret_len, const char *ts, const void *body,
               size_t len, char out[AUTH_SIG_VALUE_LEN]);

#endif
