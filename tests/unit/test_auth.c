/* Unit tests for request authentication: bearer tokens, signatures, skew, replay cache and its cap. */
#include "auth.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

#define NOW 1700000000LL
#define SKEW 300

static const char body[] = "{\"attempt_id\":1}";

/* Signs body at ts with secret; returns a static header value. */
static const char *sign(const char *secret, long long ts, const char *b)
{
    static char sig[AUTH_SIG_VALUE_LEN];
    char t[24];

    snprintf(t, sizeof(t), "%lld", ts);
    auth_sign(secret, strlen(secret), t, b, strlen(b), sig);
    return sig;
}

/* Checks a signed request made with the timestamp text `ts`. */
static enum auth_result check(struct auth *a, const char *ts, const char *sig, const char *b,
                              long long now, char *why, size_t len)
{
    return auth_check_signed(a, ts, sig, b, strlen(b), now, SKEW, why, len);
}

/* Token lists, rotation, schemes, and what an empty list means. */
static void test_bearer(void)
{
    struct auth *a = auth_new(100);
    char why[200];

    is_int(auth_check_bearer(a, "Bearer x", why, sizeof(why)), AUTH_UNCONFIGURED,
           "no tokens configured: every bearer is refused");
    has_str(why, "api_tokens is empty", "the reason says the list is empty");
    is_int(auth_set_tokens(a, " tok-old , ,tok-new,"), 2, "list parsing trims and skips empty items");
    is_int(auth_check_bearer(a, "Bearer tok-old", why, sizeof(why)), AUTH_OK, "first token accepted");
    is_int(auth_check_bearer(a, "Bearer tok-new", why, sizeof(why)), AUTH_OK,
           "second token accepted (rotation)");
    is_int(auth_check_bearer(a, "bearer   tok-new", why, sizeof(why)), AUTH_OK,
           "scheme is case-insensitive, several spaces allowed");
    is_int(auth_check_bearer(a, NULL, why, sizeof(why)), AUTH_MISSING, "no header: missing");
    is_int(auth_check_bearer(a, "Basic dG9rLW5ldzo=", why, sizeof(why)), AUTH_MALFORMED,
           "another scheme is malformed");
    is_int(auth_check_bearer(a, "Bearer", why, sizeof(why)), AUTH_MALFORMED, "no token after the scheme");
    is_int(auth_check_bearer(a, "Bearer ", why, sizeof(why)), AUTH_MALFORMED, "an empty token");
    is_int(auth_check_bearer(a, "Bearertok-new", why, sizeof(why)), AUTH_MALFORMED,
           "no space after the scheme");
    is_int(auth_check_bearer(a, "Bearer tok-ne", why, sizeof(why)), AUTH_MISMATCH, "a prefix of a token");
    is_int(auth_check_bearer(a, "Bearer tok-neww", why, sizeof(why)), AUTH_MISMATCH, "a token plus one");
    ok(strstr(why, "tok-") == NULL, "a refusal never quotes a token");
    is_int(auth_set_tokens(a, "tok-new"), 1, "reload to one token");
    is_int(auth_check_bearer(a, "Bearer tok-old", why, sizeof(why)), AUTH_MISMATCH,
           "a token removed by a reload is refused");
    is_int(auth_set_tokens(a, ""), 0, "reload to none");
    is_int(auth_check_bearer(a, "Bearer tok-new", why, sizeof(why)), AUTH_UNCONFIGURED,
           "an emptied list refuses everything");
    auth_free(a);
}

/* The signature format and the known value openssl computes. */
static void test_sign(void)
{
    char sig[AUTH_SIG_VALUE_LEN];

    auth_sign("s3cret", 6, "1700000000", body, strlen(body), sig);
    is_str(sig, "sha256=eb575efcc52383bf186b75698bd9b5e02353145b739a4bbe7213ed8a0225ca41",
           "auth_sign: sha256=<hex HMAC(secret, timestamp + body)>, as openssl computes it");
}

/* Header forms, skew, secrets and rotation. */
static void test_signed_checks(void)
{
    struct auth *a = auth_new(1000);
    char why[300], upper[AUTH_SIG_VALUE_LEN];

    is_int(check(a, "1700000000", sign("s3cret", NOW, body), body, NOW, why, sizeof(why)),
           AUTH_UNCONFIGURED, "no secrets configured: refused");
    is_int(auth_set_secrets(a, "old-secret, s3cret"), 2, "two secrets");
    is_int(check(a, "1700000000", sign("s3cret", NOW, body), body, NOW, why, sizeof(why)), AUTH_OK,
           "a correct signature is accepted");
    is_int(check(a, "1700000001", sign("old-secret", NOW + 1, body), body, NOW, why, sizeof(why)),
           AUTH_OK, "a signature with the other secret is accepted (rotation)");
    is_int(check(a, "1700000002", sign("wrong", NOW + 2, body), body, NOW, why, sizeof(why)),
           AUTH_MISMATCH, "an unknown secret is refused");
    has_str(why, "does not match", "the reason says so");
    is_int(check(a, "1700000003", sign("s3cret", NOW + 3, body), "{\"attempt_id\":2}", NOW, why,
                 sizeof(why)), AUTH_MISMATCH, "a changed body is refused");
    is_int(check(a, "1700000004", sign("s3cret", NOW + 3, body), body, NOW, why, sizeof(why)),
           AUTH_MISMATCH, "a changed timestamp is refused");
    is_int(check(a, NULL, sign("s3cret", NOW, body), body, NOW, why, sizeof(why)), AUTH_MISSING,
           "no timestamp header");
    is_int(check(a, "1700000005", NULL, body, NOW, why, sizeof(why)), AUTH_MISSING, "no signature header");
    is_int(check(a, "17e8", sign("s3cret", NOW, body), body, NOW, why, sizeof(why)), AUTH_MALFORMED,
           "a timestamp that is not digits");
    is_int(check(a, "-1700000000", sign("s3cret", NOW, body), body, NOW, why, sizeof(why)),
           AUTH_MALFORMED, "a negative timestamp");
    is_int(check(a, "1700000000000", sign("s3cret", NOW, body), body, NOW, why, sizeof(why)),
           AUTH_MALFORMED, "a timestamp in milliseconds (13 digits)");
    is_int(check(a, "1700000005", "sha1=00", body, NOW, why, sizeof(why)), AUTH_MALFORMED,
           "another algorithm");
    is_int(check(a, "1700000005", "sha256=zz", body, NOW, why, sizeof(why)), AUTH_MALFORMED,
           "a short signature");
    {
        char bad[AUTH_SIG_VALUE_LEN];
        snprintf(bad, sizeof(bad), "%s", sign("s3cret", NOW + 5, body));
        bad[20] = 'g';
        is_int(check(a, "1700000005", bad, body, NOW, why, sizeof(why)), AUTH_MALFORMED,
               "a non-hex digit");
    }
    snprintf(upper, sizeof(upper), "%s", sign("s3cret", NOW + 6, body));
    for (char *p = upper + 7; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    is_int(check(a, "1700000006", upper, body, NOW, why, sizeof(why)), AUTH_OK,
           "uppercase hex is accepted");
    is_int(check(a, "1700000006", sign("s3cret", NOW + 6, body), body, NOW, why, sizeof(why)),
           AUTH_REPLAYED, "...and its lowercase spelling is then a replay");
    is_int(check(a, "1699999700", sign("s3cret", NOW - 300, body), body, NOW, why, sizeof(why)),
           AUTH_OK, "exactly the skew in the past is accepted");
    is_int(check(a, "1699999699", sign("s3cret", NOW - 301, body), body, NOW, why, sizeof(why)),
           AUTH_STALE, "one second more is stale");
    has_str(why, "301 s before now", "the reason says how far off");
    is_int(check(a, "1700000301", sign("s3cret", NOW + 301, body), body, NOW, why, sizeof(why)),
           AUTH_STALE, "too far in the future is refused too");
    is_int(check(a, "1700000300", sign("s3cret", NOW + 300, body), body, NOW, why, sizeof(why)),
           AUTH_OK, "exactly the skew in the future is accepted");
    ok(strstr(why, "s3cret") == NULL, "no reason ever quotes a secret");
    auth_free(a);
}

/* A signature is taken once within the skew, forgotten after, and the cache is bounded. */
static void test_replay(void)
{
    struct auth *a = auth_new(100);
    char why[300];
    int refused = 0, accepted = 0;

    auth_set_secrets(a, "s3cret");
    is_int(check(a, "1700000000", sign("s3cret", NOW, body), body, NOW, why, sizeof(why)), AUTH_OK,
           "first use accepted");
    is_int(check(a, "1700000000", sign("s3cret", NOW, body), body, NOW + 10, why, sizeof(why)),
           AUTH_REPLAYED, "the same request again is a replay");
    has_str(why, "signature already used", "the reason says the signature was used");
    is_int(check(a, "1700000000", sign("s3cret", NOW, body), body, NOW + SKEW, why, sizeof(why)),
           AUTH_REPLAYED, "still a replay at the very end of the skew");
    is_int(check(a, "1700000000", sign("s3cret", NOW, body), body, NOW + SKEW + 1, why, sizeof(why)),
           AUTH_STALE, "after the skew it is refused as stale");
    is_int((long long)auth_replay_count(a), 0, "and no longer remembered");
    is_int(check(a, "1700000400", sign("s3cret", NOW + 400, body), body, NOW + 400, why, sizeof(why)),
           AUTH_OK, "a re-signed retry is accepted");

    /* Fill the cache to its cap within one skew window. */
    for (int i = 0; i < 150; i++) {
        char b[64], t[24];
        snprintf(b, sizeof(b), "{\"attempt_id\":%d}", i + 10);
        snprintf(t, sizeof(t), "%lld", NOW + 500);
        if (check(a, t, sign("s3cret", NOW + 500, b), b, NOW + 500, why, sizeof(why)) == AUTH_BUSY)
            refused++;
        else
            accepted++;
    }
    is_int(accepted, 99, "the cap (100) admits 99 more new signatures");
    is_int(refused, 51, "past the cap new signatures are refused as busy (fail closed)");
    has_str(why, "retry later", "the busy reason asks for a retry");
    is_int((long long)auth_replay_count(a), 100, "the cache holds exactly its cap");
    is_int(check(a, "1700000500", sign("s3cret", NOW + 500, "{\"attempt_id\":10}"),
                 "{\"attempt_id\":10}", NOW + 500, why, sizeof(why)),
           AUTH_REPLAYED, "at the cap a remembered signature is still a replay, never forgotten");
    is_int(check(a, "1700000801", sign("s3cret", NOW + 801, body), body, NOW + 801, why, sizeof(why)),
           AUTH_OK, "once the old ones pass the skew there is room again");
    is_int((long long)auth_replay_count(a), 1, "expired entries were dropped");

    /* A reload that raises the skew does not revive a forgotten signature. */
    is_int(auth_check_signed(a, "1700000801", sign("s3cret", NOW + 801, body), body, strlen(body),
                             NOW + 801 + 3000, 3600, why, sizeof(why)), AUTH_REPLAYED,
           "a larger skew keeps refusing what is remembered");
    auth_free(a);
    a = auth_new(100);
    auth_set_secrets(a, "s3cret");
    check(a, "1700000000", sign("s3cret", NOW, body), body, NOW, why, sizeof(why));
    check(a, "1700000400", sign("s3cret", NOW + 400, "{}"), "{}", NOW + 400, why, sizeof(why));
    is_int(auth_check_signed(a, "1700000000", sign("s3cret", NOW, body), body, strlen(body),
                             NOW + 400, 3600, why, sizeof(why)), AUTH_STALE,
           "a signature forgotten under a 300 s skew stays refused after the skew grows to 3600 s");
    auth_free(a);
}

int main(void)
{
    test_bearer();
    test_sign();
    test_signed_checks();
    test_replay();
    return tap_done();
}
