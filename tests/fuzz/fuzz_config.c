/* libFuzzer target for the config parser: config_new, config_parse_text, config_check, config_free. */
#include "config.h"

#include "log.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The source name every message of a parse must start with. */
#define SRC "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum kind { K_STR, K_INT, K_LEVEL };

/* One field of struct config (include/config.h); range and reloadability come from config_describe(). */
struct field {
    const char *name;
    size_t off;
    enum kind kind;
    int described;          /* found in config_describe()'s output */
    int has_range;
    long min, max;
    int reloadable;
};

#define S(f) { #f, offsetof(struct config, f), K_STR, 0, 0, 0, 0, 0 }
#define I(f) { #f, offsetof(struct config, f), K_INT, 0, 0, 0, 0, 0 }

/* The fields this target renders and compares; a key added later is parsed but not compared. */
static struct field fields[] = {
    S(database_url), S(listen), { "log_level", offsetof(struct config, log_level), K_LEVEL, 0, 0, 0, 0, 0 },
    S(instance_name), I(db_pool_size), I(db_connect_timeout_ms), I(db_statement_timeout_ms),
    I(db_reconnect_min_ms), I(db_reconnect_max_ms), I(db_heartbeat_ms), I(drain_timeout_ms),
    I(max_body_bytes), S(api_tokens), S(event_secrets), I(event_max_skew_s), I(replay_cache_max),
    I(max_pending_requests), S(carrier_url), S(public_url), I(tick_ms), I(carrier_timeout_ms),
    I(carrier_retry_s), I(carrier_max_conns), I(abandon_lock_s), I(acd_grace_ms),
    I(reconcile_grace_s), I(max_call_s), I(lease_ms), I(lease_renew_ms), I(claim_batch_max),
    I(import_max_items), S(sms_url), I(sms_timeout_ms), I(sms_max_tries), I(sms_backoff_min_ms),
    I(sms_backoff_max_ms), I(sms_batch), I(sms_max_conns), I(sms_poll_ms), I(sms_lease_ms),
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* Keys whose values must never appear in a message. */
static const char *const secrets[] = { "api_tokens", "event_secrets" };

/* Stops the run with a message: libFuzzer saves the input that got here. */
static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: invariant violated: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    __builtin_trap();
}

/* The string stored in a field of c. */
static const char *str_of(const struct config *c, const struct field *f)
{
    return *(char *const *)((const char *)c + f->off);
}

/* The int stored in a field of c. */
static int int_of(const struct config *c, const struct field *f)
{
    return *(const int *)((const char *)c + f->off);
}

/* Whether a field holds the same value in a and b. */
static int field_same(const struct config *a, const struct config *b, const struct field *f)
{
    if (f->kind == K_STR)
        return strcmp(str_of(a, f), str_of(b, f)) == 0;
    return int_of(a, f) == int_of(b, f);
}

/* Finds a field by name. */
static struct field *field_find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strlen(fields[i].name) == len && strncmp(fields[i].name, name, len) == 0)
            return &fields[i];
    return NULL;
}

/* Reads ranges and reloadability from config_describe(); a field it lacks means this file is stale. */
static void learn_table(void)
{
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    int has_range = 0, reloadable = 0;
    long lo = 0, hi = 0;

    if (fp == NULL)
        fail("open_memstream", NULL);
    config_describe(fp);
    fclose(fp);
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *eq = strstr(line, " = ");
        struct field *f;
        if (line[0] == '#') {
            if (strstr(line, "; env: DIALER_") != NULL) {
                has_range = sscanf(line, "# range: %ld..%ld;", &lo, &hi) == 2;
                reloadable = strstr(line, "restart only") == NULL;
            }
            continue;
        }
        if (eq == NULL || (f = field_find(line, (size_t)(eq - line))) == NULL)
            continue;
        f->described = 1;
        f->has_range = has_range;
        f->min = lo;
        f->max = hi;
        f->reloadable = reloadable;
        if ((f->kind == K_INT) != has_range)
            fail("config_describe gives a range to a string key, or none to a number", f->name);
    }
    free(buf);
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!fields[i].described)
            fail("tests/fuzz/fuzz_config.c names a key config_describe() does not list", fields[i].name);
}

/* Counts the lines of a message buffer. */
static int count_lines(const char *s)
{
    int n = 0;

    if (*s == '\0')
        return 0;
    for (n = 1; *s; s++)
        n += *s == '\n';
    return n;
}

/* Every field of a loaded config is within what config.c accepts. */
static void check_values(const struct config *c)
{
    char host[256];
    int port;

    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct field *f = &fields[i];
        if (f->kind == K_STR && str_of(c, f) == NULL)
            fail("a string key is NULL", f->name);
        if (f->kind == K_INT && (int_of(c, f) < f->min || int_of(c, f) > f->max))
            fail("a number key is outside its described range", f->name);
        if (f->kind == K_LEVEL &&
            log_level_parse(log_level_name((enum log_level)int_of(c, f))) != int_of(c, f))
            fail("log_level is not a level log_level_parse() gives", NULL);
    }
    if (config_split_hostport(c->listen, host, sizeof(host), &port) != 0)
        fail("listen holds something config_split_hostport() refuses", c->listen);
}

/* Trims white space at both ends of [*b, *e). */
static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* The message about line `lineno`, or NULL; its length in *len. */
static const char *message_for(const char *err, int lineno, size_t *len)
{
    char prefix[32];
    size_t pl = (size_t)snprintf(prefix, sizeof(prefix), SRC ":%d: ", lineno);

    for (const char *m = err; m && *m; ) {
        const char *nl = strchr(m, '\n');
        size_t ml = nl ? (size_t)(nl - m) : strlen(m);
        if (ml >= pl && memcmp(m, prefix, pl) == 0) {
            *len = ml - pl;
            return m + pl;
        }
        m = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* Whether message m (length len) is exactly the text a, then the key name, then b. */
static int message_is(const char *m, size_t len, const char *a, const char *key, const char *b)
{
    size_t la = strlen(a), lk = strlen(key), lb = strlen(b);

    return la + lk + lb == len && memcmp(m, a, la) == 0 && memcmp(m + la, key, lk) == 0 &&
           memcmp(m + la + lk, b, lb) == 0;
}

/*
 * A line about a secret key gets only a message that holds no part of its value: the key is
 * "empty", the quote "not closed", or (no '=') the line is "not a setting" shown as the key alone.
 */
static void check_secret_lines(const char *text, const char *err)
{
    int lineno = 0;

    for (const char *p = text; p && *p; ) {
        const char *nl = strchr(p, '\n'), *b = p, *e = nl ? nl : p + strlen(p), *eq, *m;
        size_t ml;
        lineno++;
        p = nl ? nl + 1 : NULL;
        trim(&b, &e);
        if (b == e || *b == '#' || *b == ';')
            continue;
        eq = memchr(b, '=', (size_t)(e - b));
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
            const char *s = secrets[i], *kb = b, *ke = eq;
            size_t sl = strlen(s);
            if (eq == NULL) {
                if ((size_t)(e - b) < sl || memcmp(b, s, sl) != 0)
                    continue;
                m = message_for(err, lineno, &ml);
                if (m == NULL || !message_is(m, ml, "\"", s, " …\" is not a setting; expected key = value"))
                    fail("a line starting with a secret key is echoed", m);
                continue;
            }
            trim(&kb, &ke);
            if ((size_t)(ke - kb) != sl || memcmp(kb, s, sl) != 0)
                continue;
            m = message_for(err, lineno, &ml);
            if (m != NULL && !message_is(m, ml, "", s, " is empty; a value is required") &&
                !message_is(m, ml, "", s, ": the quoted value is not closed by a \" at the end"))
                fail("a message about a secret key may hold its value", m);
        }
    }
}

/* With a small message buffer the count is the same and the text a NUL-terminated prefix of the full one. */
static void check_small_buffer(const char *text, const char *full, int n)
{
    size_t len = 1 + strlen(full) % 97;
    char *err = malloc(len);
    struct config *c = config_new();

    if (err == NULL)
        fail("malloc", NULL);
    err[0] = '\0';
    if (config_parse_text(c, text, SRC, err, len) != n)
        fail("the error count depends on the size of the message buffer", NULL);
    if (memchr(err, '\0', len) == NULL || strncmp(err, full, strlen(err)) != 0)
        fail("a small message buffer holds something other than the start of the messages", err);
    config_free(c);
    free(err);
}

/* Renders every known field as `key = value` lines that config_parse_text() must take back. */
static char *render(const struct config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    if (fp == NULL)
        fail("open_memstream", NULL);
    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct field *f = &fields[i];
        if (f->kind == K_STR)
            fprintf(fp, "%s = \"%s\"\n", f->name, str_of(c, f));
        else if (f->kind == K_INT)
            fprintf(fp, "%s=%d\n", f->name, int_of(c, f));
        else
            fprintf(fp, "  %s = %s # level\n", f->name,
                    log_level_name((enum log_level)int_of(c, f)));
    }
    fclose(fp);
    return buf;
}

/* config_check() reports one line per problem and says the same without a buffer. */
static void check_cross(const struct config *c)
{
    char err[4096] = "";
    int n = config_check(c, err, sizeof(err));

    if (n < 0 || count_lines(err) != n)
        fail("config_check's count and its message lines differ", err);
    if (config_check(c, NULL, 0) != n)
        fail("config_check counts differently without a buffer", NULL);
}

/* Reload rules: copying the reloadable keys changes nothing that needs a restart. */
static void check_reload(const struct config *c)
{
    struct config *d = config_new();
    char out[2048], out2[2048];
    int n = config_restart_keys(d, c, out, sizeof(out)), n2, want = 0;

    for (size_t i = 0; i < N_FIELDS; i++)
        want += !fields[i].reloadable && !field_same(d, c, &fields[i]);
    if (n < want || (n > 0 && count_lines(out) != 1))
        fail("config_restart_keys misses a restart-only key that differs", out);
    config_apply_reloadable(d, c);
    n2 = config_restart_keys(d, c, out2, sizeof(out2));
    if (n2 != n || strcmp(out, out2) != 0)
        fail("config_apply_reloadable changed a restart-only key", out2);
    for (size_t i = 0; i < N_FIELDS; i++)
        if (fields[i].reloadable && !field_same(d, c, &fields[i]))
            fail("config_apply_reloadable did not copy a reloadable key", fields[i].name);
    config_free(d);
}

/* One input: the text of a configuration file (up to its first NUL, as config_load_file refuses NULs). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int learned;
    char *text, *err, *again;
    size_t len, errlen, nlines = 1;
    struct config *c, *r;
    int n;

    if (!learned) {
        learn_table();
        c = config_new();
        check_values(c);
        if (config_check(c, NULL, 0) != 0)
            fail("the defaults fail config_check", NULL);
        config_free(c);
        learned = 1;
    }
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    len = strlen(text);
    for (size_t i = 0; i < len; i++)
        nlines += text[i] == '\n';
    /* Room for every message: none is longer than its line plus a few hundred bytes. */
    errlen = 2 * len + 512 * (nlines + 1);
    err = malloc(errlen);
    if (err == NULL) {
        free(text);
        return 0;
    }
    err[0] = '\0';

    c = config_new();
    n = config_parse_text(c, text, SRC, err, errlen);
    if (n < 0 || (size_t)n > nlines)
        fail("config_parse_text's error count is out of 0..lines", NULL);
    if (memchr(err, '\0', errlen) == NULL || count_lines(err) != n)
        fail("config_parse_text's count and its message lines differ", err);
    for (const char *m = err; m && *m; ) {
        const char *nl = strchr(m, '\n');
        char *end;
        unsigned long ln;
        if (strncmp(m, SRC ":", sizeof(SRC)) != 0)
            fail("a message does not start with the source name", m);
        ln = strtoul(m + sizeof(SRC), &end, 10);
        if (ln < 1 || ln > nlines || *end != ':')
            fail("a message names a line the text does not have", m);
        m = nl ? nl + 1 : NULL;
    }
    check_secret_lines(text, err);
    if (len <= 512)
        check_small_buffer(text, err, n);
    check_values(c);
    check_cross(c);
    check_reload(c);

    /* Rendered back and parsed into fresh defaults, the values come out the same. */
    again = render(c);
    r = config_new();
    err[0] = '\0';
    if (config_parse_text(r, again, "rendered", err, errlen) != 0)
        fail("the rendering of a loaded config is refused", err);
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!field_same(c, r, &fields[i]))
            fail("a key changed through rendering and parsing again", fields[i].name);
    config_free(r);
    free(again);

    config_free(c);
    free(err);
    free(text);
    return 0;
}
