/* Request authentication: bearer tokens, HMAC-SHA256 signatures and a bounded replay cache. */
#include "auth.h"

#include "hmap.h"
#include "sha256.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest timestamp text accepted: 12 digits reach the year 33658, and cannot overflow. */
#define AUTH_TS_MAX_DIGITS 12
/* The replay ring starts this small and doubles up to the configured cap. */
#define AUTH_RING_MIN 64

struct auth_secret {
    unsigned char *key;
    size_t len;
};

/* One remembered signature, in arrival order. */
struct auth_seen {
    char key[AUTH_REPLAY_KEY_HEX + 1];
    int64_t ts;                     /* the request's own timestamp: forgotten at ts + skew */
};

struct auth {
    unsigned char (*tokens)[SHA256_DIGEST_LEN];   /* digests: the tokens themselves are not kept */
    int n_tokens;
    struct auth_secret *secrets;
    int n_secrets;
    struct hmap *seen;              /* replay key -> the auth itself (membership only) */
    struct auth_seen *ring;         /* FIFO of the same keys, oldest at head */
    size_t ring_len, head, count, cap;
    int64_t forgot_ts;              /* the newest timestamp of any signature already forgotten */
};

/* New, empty authenticator. */
struct auth *auth_new(size_t replay_max)
{
    struct auth *a = util_xcalloc(1, sizeof(*a));

    a->seen = hmap_new();
    a->cap = replay_max > 0 ? replay_max : 1;
    return a;
}

/* Wipes and frees the secrets. */
static void auth_clear_secrets(struct auth *a)
{
    for (int i = 0; i < a->n_secrets; i++) {
        sha256_wipe(a->secrets[i].key, a->secrets[i].len);
        free(a->secrets[i].key);
    }
    free(a->secrets);
    a->secrets = NULL;
    a->n_secrets = 0;
}

/* Frees everything. */
void auth_free(struct auth *a)
{
    if (a == NULL)
        return;
    auth_clear_secrets(a);
    if (a->tokens)
        sha256_wipe(a->tokens, (size_t)a->n_tokens * SHA256_DIGEST_LEN);
    free(a->tokens);
    hmap_free(a->seen);
    free(a->ring);
    free(a);
}

/*
 * Walks a comma-separated list: calls fn for each trimmed, non-empty item. Returns the count.
 * Items are passed as pointer + length into csv (no copy, so no stray copy of a secret).
 */
static int auth_each_item(const char *csv, void (*fn)(void *ctx, const char *s, size_t n),
                          void *ctx)
{
    int count = 0;
    const char *p = csv ? csv : "";

    while (*p) {
        const char *end = strchr(p, ',');
        const char *b = p, *e = end ? end : p + strlen(p);

        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (e > b) {
            if (fn)
                fn(ctx, b, (size_t)(e - b));
            count++;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return count;
}

/* Adds one token's digest. */
static void auth_add_token(void *ctx, const char *s, size_t n)
{
    struct auth *a = ctx;

    sha256_digest(s, n, a->tokens[a->n_tokens++]);
}

/* Replaces the token digests. */
int auth_set_tokens(struct auth *a, const char *csv)
{
    int n = auth_each_item(csv, NULL, NULL);

    if (a->tokens)
        sha256_wipe(a->tokens, (size_t)a->n_tokens * SHA256_DIGEST_LEN);
    free(a->tokens);
    a->tokens = NULL;
    a->n_tokens = 0;
    if (n > 0) {
        a->tokens = util_xcalloc((size_t)n, SHA256_DIGEST_LEN);
        auth_each_item(csv, auth_add_token, a);
    }
    return a->n_tokens;
}

/* Adds one secret (a private copy, wiped when replaced). */
static void auth_add_secret(void *ctx, const char *s, size_t n)
{
    struct auth *a = ctx;
    struct auth_secret *sec = &a->secrets[a->n_secrets++];

    sec->key = util_xcalloc(1, n);
    memcpy(sec->key, s, n);
    sec->len = n;
}

/* Replaces the secrets. */
int auth_set_secrets(struct auth *a, const char *csv)
{
    int n = auth_each_item(csv, NULL, NULL);

    auth_clear_secrets(a);
    if (n > 0) {
        a->secrets = util_xcalloc((size_t)n, sizeof(*a->secrets));
        auth_each_item(csv, auth_add_secret, a);
    }
    return a->n_secrets;
}

/* Writes a reason and returns the result, to keep the checks below one line each. */
static enum auth_result auth_refuse(enum auth_result r, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum auth_result auth_refuse(enum auth_result r, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why && whylen) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return r;
}

/* Bearer token check: digest the candidate, compare with every digest, never stop early. */
enum auth_result auth_check_bearer(const struct auth *a, const char *header, char *why,
                                   size_t whylen)
{
    unsigned char got[SHA256_DIGEST_LEN];
    const char *tok;
    int match = 0;

    if (a->n_tokens == 0)
        return auth_refuse(AUTH_UNCONFIGURED, why, whylen, "no API token is configured "
                           "(api_tokens is empty), so every control request is refused");
    if (header == NULL || header[0] == '\0')
        return auth_refuse(AUTH_MISSING, why, whylen,
                           "Authorization: missing; accepted: Bearer <token>");
    /* RFC 6750 §2.1: the scheme name is case-insensitive, then one or more spaces. */
    if (strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
        return auth_refuse(AUTH_MALFORMED, why, whylen,
                           "Authorization: not a bearer token; accepted: Bearer <token>");
    tok = header + 6;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    if (*tok == '\0')
        return auth_refuse(AUTH_MALFORMED, why, whylen,
                           "Authorization: the bearer token is empty; accepted: Bearer <token>");
    /* Comparing digests makes the time independent of the tokens' lengths and contents. */
    sha256_digest(tok, strlen(tok), got);
    for (int i = 0; i < a->n_tokens; i++)
        match |= sha256_ct_equal(got, a->tokens[i], SHA256_DIGEST_LEN);
    sha256_wipe(got, sizeof(got));
    if (!match)
        return auth_refuse(AUTH_MISMATCH, why, whylen, "Authorization: the bearer token is not valid");
    return AUTH_OK;
}

/* Signs as a sender does. */
void auth_sign(const char *secret, size_t secret_len, const char *ts, const void *body,
               size_t len, char out[AUTH_SIG_VALUE_LEN])
{
    struct sha256_hmac h;
    unsigned char mac[SHA256_DIGEST_LEN];

    sha256_hmac_init(&h, secret, secret_len);
    sha256_hmac_update(&h, ts, strlen(ts));
    if (len > 0)
        sha256_hmac_update(&h, body, len);
    sha256_hmac_final(&h, mac);
    memcpy(out, AUTH_SIG_PREFIX, sizeof(AUTH_SIG_PREFIX) - 1);
    sha256_hex(mac, sizeof(mac), out + sizeof(AUTH_SIG_PREFIX) - 1);
}

/* Forgets signatures whose timestamp is now older than the skew (oldest first). */
static void auth_replay_expire(struct auth *a, int64_t now, int max_skew_s)
{
    /*
     * Arrival order is not timestamp order (a sender's clock may run a little ahead), so an
     * entry may outlive its expiry behind a younger head; that costs memory within the cap,
     * never a forgotten signature. Bounded: each pass removes an entry.
     */
    while (a->count > 0 && a->ring[a->head].ts + max_skew_s < now) {
        if (a->ring[a->head].ts > a->forgot_ts)
            a->forgot_ts = a->ring[a->head].ts;
        hmap_del(a->seen, a->ring[a->head].key);
        a->head = (a->head + 1) % a->ring_len;
        a->count--;
    }
}

/* Makes room for one more entry; 0 when the cap is reached. */
static int auth_replay_room(struct auth *a)
{
    struct auth_seen *ring;
    size_t len;

    if (a->count >= a->cap)
        return 0;
    if (a->count < a->ring_len)
        return 1;
    len = a->ring_len ? a->ring_len * 2 : AUTH_RING_MIN;
    if (len > a->cap)
        len = a->cap;
    ring = util_xcalloc(len, sizeof(*ring));
    /* Unwrap into the new ring, oldest first. */
    for (size_t i = 0; i < a->count; i++)
        ring[i] = a->ring[(a->head + i) % a->ring_len];
    free(a->ring);
    a->ring = ring;
    a->ring_len = len;
    a->head = 0;
    return 1;
}

/* Parses the timestamp text: 1..12 decimal digits, nothing else. -1 when malformed. */
static int64_t auth_parse_ts(const char *s)
{
    int64_t v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        if (n >= AUTH_TS_MAX_DIGITS || !isdigit((unsigned char)s[n]))
            return -1;
        v = v * 10 + (s[n] - '0');
    }
    return n == 0 ? -1 : v;
}

/* Checks a signed request, then records it. */
enum auth_result auth_check_signed(struct auth *a, const char *ts_header, const char *sig_header,
                                   const void *body, size_t len, int64_t now, int max_skew_s,
                                   char *why, size_t whylen)
{
    char want[AUTH_SIG_VALUE_LEN], got[AUTH_SIG_VALUE_LEN];
    const size_t plen = sizeof(AUTH_SIG_PREFIX) - 1;
    int64_t ts, off;
    int match = 0;

    if (a->n_secrets == 0)
        return auth_refuse(AUTH_UNCONFIGURED, why, whylen, "no signing secret is configured "
                           "(event_secrets is empty), so every signed request is refused");
    /* First, so that forgot_ts below is current and the cache never holds the long dead. */
    auth_replay_expire(a, now, max_skew_s);
    if (ts_header == NULL || ts_header[0] == '\0')
        return auth_refuse(AUTH_MISSING, why, whylen, AUTH_TS_HEADER ": missing; accepted: the "
                           "Unix time in seconds the request was signed at");
    ts = auth_parse_ts(ts_header);
    if (ts < 0)
        return auth_refuse(AUTH_MALFORMED, why, whylen, AUTH_TS_HEADER ": \"%.24s\" is not a Unix "
                           "time; accepted: 1 to %d decimal digits (seconds)", ts_header,
                           AUTH_TS_MAX_DIGITS);
    if (sig_header == NULL || sig_header[0] == '\0')
        return auth_refuse(AUTH_MISSING, why, whylen, AUTH_SIG_HEADER ": missing; accepted: "
                           "sha256=<hex HMAC-SHA256(secret, timestamp + body)>");
    if (strncmp(sig_header, AUTH_SIG_PREFIX, plen) != 0 || strlen(sig_header) != plen + SHA256_HEX_LEN)
        return auth_refuse(AUTH_MALFORMED, why, whylen, AUTH_SIG_HEADER ": not in the accepted "
                           "form sha256=<64 hex digits>");
    /* Normalise to lowercase so that the comparison and the replay key are one spelling. */
    memcpy(got, sig_header, plen);
    for (size_t i = plen; i < plen + SHA256_HEX_LEN; i++) {
        unsigned char c = (unsigned char)sig_header[i];
        if (!isxdigit(c))
            return auth_refuse(AUTH_MALFORMED, why, whylen, AUTH_SIG_HEADER ": not in the "
                               "accepted form sha256=<64 hex digits>");
        got[i] = (char)tolower(c);
    }
    got[plen + SHA256_HEX_LEN] = '\0';
    off = ts - now;
    if (off > max_skew_s || off < -(int64_t)max_skew_s)
        return auth_refuse(AUTH_STALE, why, whylen, AUTH_TS_HEADER ": %lld is %lld s %s now; "
                           "accepted: within %d s (re-sign with the current time)",
                           (long long)ts, (long long)(off < 0 ? -off : off),
                           off < 0 ? "before" : "after", max_skew_s);
    /*
     * With a constant skew this never refuses anything the line above let through. After a
     * reload raised the skew it stops a signature forgotten under the smaller one from being
     * taken again.
     */
    if (ts <= a->forgot_ts)
        return auth_refuse(AUTH_STALE, why, whylen, AUTH_TS_HEADER ": %lld is older than "
                           "signatures already forgotten; re-sign with the current time",
                           (long long)ts);
    for (int i = 0; i < a->n_secrets; i++) {
        auth_sign((const char *)a->secrets[i].key, a->secrets[i].len, ts_header, body, len, want);
        match |= sha256_ct_equal(want, got, sizeof(want));
    }
    sha256_wipe(want, sizeof(want));
    if (!match)
        return auth_refuse(AUTH_MISMATCH, why, whylen, AUTH_SIG_HEADER ": does not match the "
                           "timestamp and body for any configured secret");
    {
        char key[AUTH_REPLAY_KEY_HEX + 1];
        struct auth_seen *e;

        memcpy(key, got + plen, AUTH_REPLAY_KEY_HEX);
        key[AUTH_REPLAY_KEY_HEX] = '\0';
        if (hmap_get(a->seen, key) != NULL)
            return auth_refuse(AUTH_REPLAYED, why, whylen, AUTH_SIG_HEADER ": signature already "
                               "used; a retry must be signed again with a new timestamp");
        if (!auth_replay_room(a))
            return auth_refuse(AUTH_BUSY, why, whylen, "too many signed requests within %d s "
                               "(%zu remembered against replay); retry later", max_skew_s, a->cap);
        e = &a->ring[(a->head + a->count) % a->ring_len];
        memcpy(e->key, key, sizeof(key));
        e->ts = ts;
        a->count++;
        hmap_put(a->seen, e->key, a);     /* any non-NULL value: only presence matters */
    }
    return AUTH_OK;
}

/* Entries in the replay cache. */
size_t auth_replay_count(const struct auth *a)
{
    return a->count;
}
