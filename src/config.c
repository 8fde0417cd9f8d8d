/* Configuration: the key table, and the file, environment and command-line loaders that share it. */
#include "config.h"

#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { CFG_STR, CFG_INT, CFG_LOGLEVEL, CFG_HOSTPORT };

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t off;
    const char *def;
    long min, max;          /* CFG_INT range */
    int reloadable;         /* SIGHUP may change it */
    int nonempty;           /* CFG_STR: an empty value is refused */
    const char *help;
};

#define F(field) offsetof(struct config, field)

static const struct cfg_key cfg_keys[] = {
    { "database_url", CFG_STR, F(database_url), "postgresql:///dialer", 0, 0, 0, 1,
      "PostgreSQL connection URL or conninfo string (libpq syntax); give the host as an IP "
      "address or a socket directory, since libpq resolves host names synchronously" },
    { "listen", CFG_HOSTPORT, F(listen), "127.0.0.1:8080", 0, 0, 0, 1,
      "address of the HTTP endpoint, host:port or [ipv6]:port; /healthz, /metrics and the "
      "status page need no credentials, so bind it to loopback or a private address" },
    { "log_level", CFG_LOGLEVEL, F(log_level), "info", 0, 0, 1, 1,
      "lowest level written: debug, info, warn, error" },
    { "instance_name", CFG_STR, F(instance_name), "dialerd", 0, 0, 0, 1,
      "name of this instance in attempts and pool leases; unique per instance" },
    { "db_pool_size", CFG_INT, F(db_pool_size), "2", 1, 32, 0, 0,
      "connections to PostgreSQL (the first one also LISTENs; with 2 or more, one is kept free "
      "for agents' claims)" },
    { "db_connect_timeout_ms", CFG_INT, F(db_connect_timeout_ms), "5000", 100, 120000, 1, 0,
      "a connection attempt that takes longer is abandoned and retried" },
    { "db_statement_timeout_ms", CFG_INT, F(db_statement_timeout_ms), "10000", 100, 600000, 1, 0,
      "server-side statement_timeout on every dialerd session" },
    { "db_reconnect_min_ms", CFG_INT, F(db_reconnect_min_ms), "100", 10, 60000, 1, 0,
      "first back-off after a lost connection; doubles up to db_reconnect_max_ms" },
    { "db_reconnect_max_ms", CFG_INT, F(db_reconnect_max_ms), "5000", 10, 600000, 1, 0,
      "back-off ceiling between reconnection attempts" },
    { "db_heartbeat_ms", CFG_INT, F(db_heartbeat_ms), "1000", 100, 60000, 1, 0,
      "an idle connection runs a round trip this often to prove it is alive" },
    { "drain_timeout_ms", CFG_INT, F(drain_timeout_ms), "30000", 0, 3600000, 1, 0,
      "on SIGTERM, how long in-flight work may take before dialerd exits anyway" },
    { "max_body_bytes", CFG_INT, F(max_body_bytes), "1048576", 1024, 67108864, 1, 0,
      "HTTP request bodies larger than this are refused with 413" },
    { "api_tokens", CFG_STR, F(api_tokens), "", 0, 0, 1, 0,
      "bearer tokens accepted on control routes, separated by commas (several for rotation); "
      "empty refuses every control request" },
    { "event_secrets", CFG_STR, F(event_secrets), "", 0, 0, 1, 0,
      "shared secrets for the HMAC-SHA256 signature of event and push requests, separated by "
      "commas (several for rotation); empty refuses every event and push" },
    { "event_max_skew_s", CFG_INT, F(event_max_skew_s), "300", 5, 3600, 1, 0,
      "a signed request whose timestamp is further than this from now is refused" },
    { "replay_cache_max", CFG_INT, F(replay_cache_max), "200000", 100, 10000000, 0, 0,
      "signatures of event and push requests remembered to refuse a replay (about 130 bytes "
      "each); when full, new signed requests get 429 until old ones pass event_max_skew_s: "
      "size it at signed requests per second x event_max_skew_s" },
    { "max_pending_requests", CFG_INT, F(max_pending_requests), "1000", 1, 1000000, 1, 0,
      "authenticated requests waiting for the database at once; more get 429 (status -52)" },
    { "carrier_url", CFG_STR, F(carrier_url), "http://127.0.0.1:9090", 0, 0, 0, 1,
      "base URL of the carrier API; dials go to <carrier_url>/calls" },
    { "public_url", CFG_STR, F(public_url), "", 0, 0, 0, 0,
      "base URL the carrier reaches this daemon at; empty = http://<listen>" },
    { "tick_ms", CFG_INT, F(tick_ms), "100", 10, 250, 0, 0,
      "pacing period; agent-free and call-ended events also pace at once" },
    { "carrier_timeout_ms", CFG_INT, F(carrier_timeout_ms), "5000", 100, 60000, 0, 0,
      "a dial request without an answer in this time is retried with the same attempt id" },
    { "carrier_retry_s", CFG_INT, F(carrier_retry_s), "60", 0, 3600, 0, 0,
      "how long an unanswered or failed (5xx) dial is retried before the attempt fails" },
    { "carrier_max_conns", CFG_INT, F(carrier_max_conns), "64", 1, 1024, 0, 0,
      "HTTP connections to the carrier" },
    { "abandon_lock_s", CFG_INT, F(abandon_lock_s), "259200", 0, 2592000, 0, 0,
      "an abandoned callee is not called again sooner than this (72 h: the UK rule)" },
    { "acd_grace_ms", CFG_INT, F(acd_grace_ms), "2000", 100, 60000, 0, 0,
      "how long the ACD holds an answered call for an agent before it is abandoned; the "
      "predictive pacer plans with it" },
    { "reconcile_grace_s", CFG_INT, F(reconcile_grace_s), "60", 5, 3600, 0, 0,
      "an unanswered call older than its ring timeout plus this is ended as unknown" },
    { "max_call_s", CFG_INT, F(max_call_s), "7200", 60, 86400, 0, 0,
      "an answered call with no end after this long is ended as unknown" },
    { "lease_ms", CFG_INT, F(lease_ms), "10000", 2000, 600000, 0, 0,
      "how long a pool lease (a skill group's agents, an agentless campaign) lasts unrenewed; "
      "another instance takes a dead instance's pools over this long after its last renewal" },
    { "lease_renew_ms", CFG_INT, F(lease_renew_ms), "2000", 200, 200000, 0, 0,
      "how often this instance renews its leases and bids for free ones; at most lease_ms / 3" },
    { "claim_batch_max", CFG_INT, F(claim_batch_max), "200", 1, 1000, 0, 0,
      "most callees one claim statement takes" },
    { "import_max_items", CFG_INT, F(import_max_items), "10000", 1, 100000, 1, 0,
      "most callees one POST /v1/campaigns/{id}/callees request may carry; more is refused "
      "whole with 413 (-56)" },
    { "sms_url", CFG_STR, F(sms_url), "", 0, 0, 0, 0,
      "SMS gateway URL: each outbox row is POSTed here as {\"to\", \"sender_id\", \"text\"} with "
      "Idempotency-Key: <row id>; empty = no dispatcher (rows are still queued)" },
    { "sms_timeout_ms", CFG_INT, F(sms_timeout_ms), "5000", 100, 120000, 0, 0,
      "an SMS request without an answer in this time is retried (same key)" },
    { "sms_max_tries", CFG_INT, F(sms_max_tries), "12", 1, 1000, 0, 0,
      "sends of one SMS (429, 5xx, timeouts, refused connections) before it is marked failed" },
    { "sms_backoff_min_ms", CFG_INT, F(sms_backoff_min_ms), "1000", 10, 3600000, 0, 0,
      "delay before the first SMS retry; doubles per try up to sms_backoff_max_ms, with jitter" },
    { "sms_backoff_max_ms", CFG_INT, F(sms_backoff_max_ms), "120000", 10, 86400000, 0, 0,
      "ceiling of the delay between SMS retries" },
    { "sms_batch", CFG_INT, F(sms_batch), "50", 1, 1000, 0, 0,
      "most outbox rows one claim statement takes" },
    { "sms_max_conns", CFG_INT, F(sms_max_conns), "16", 1, 1024, 0, 0,
      "SMS requests in flight at once (and connections to the gateway)" },
    { "sms_poll_ms", CFG_INT, F(sms_poll_ms), "1000", 50, 60000, 0, 0,
      "the outbox is looked at this often even without a new row (rows queued by this daemon "
      "wake it at once)" },
    { "sms_lease_ms", CFG_INT, F(sms_lease_ms), "60000", 1000, 3600000, 0, 0,
      "an SMS being sent by a dialerd that died is sent again by another after this; must "
      "exceed sms_timeout_ms" },
};

#define N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* Keys whose values are credentials: no message ever echoes them. */
static const char *const cfg_secret_keys[] = { "api_tokens", "event_secrets" };

/* Appends one formatted line to an error buffer. */
static void cfg_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
    size_t o;
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    o = strnlen(err, errlen);
    if (o + 2 >= errlen)
        return;
    if (o > 0)
        err[o++] = '\n';
    va_start(ap, fmt);
    vsnprintf(err + o, errlen - o, fmt, ap);
    va_end(ap);
}

/* Levenshtein distance, for "did you mean" on unknown keys. */
static size_t cfg_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

/* Finds a key row by name. */
static const struct cfg_key *cfg_find(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    return NULL;
}

/* Describes where a value came from: "dialerd.conf:12" or "environment". */
static const char *cfg_where(const struct config_origin *from, char *buf, size_t len)
{
    if (from == NULL)
        return "config";
    if (from->line > 0)
        snprintf(buf, len, "%s:%d", from->source, from->line);
    else
        snprintf(buf, len, "%s", from->source);
    return buf;
}

/* Duplicates a string or aborts: configuration cannot go on half-applied. */
static char *cfg_strdup(const char *s)
{
    char *d = strdup(s);

    if (d == NULL) {
        fputs("dialerd: out of memory\n", stderr);
        abort();
    }
    return d;
}

/* Splits host:port; accepts [v6]:port. */
int config_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon, *hb, *he;
    char *end;
    long p;

    if (s[0] == '[') {
        he = strchr(s, ']');
        if (he == NULL || he[1] != ':')
            return -1;
        hb = s + 1;
        colon = he + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || strchr(s, ':') != colon)
            return -1;
        hb = s;
        he = colon;
    }
    if (he == hb || (size_t)(he - hb) >= hostlen)
        return -1;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 || p > 65535)
        return -1;
    memcpy(host, hb, (size_t)(he - hb));
    host[he - hb] = '\0';
    *port = (int)p;
    return 0;
}

/* Applies one value to one key after validating it. */
static int cfg_apply(struct config *c, const struct cfg_key *k, const char *value,
                     const char *where, char *err, size_t errlen)
{
    char *base = (char *)c;

    switch (k->type) {
    case CFG_STR:
    case CFG_HOSTPORT: {
        char **slot = (char **)(base + k->off);
        if (k->nonempty && value[0] == '\0') {
            cfg_err(err, errlen, "%s: %s is empty; a value is required", where, k->name);
            return -1;
        }
        if (k->type == CFG_HOSTPORT) {
            char host[256];
            int port;
            if (config_split_hostport(value, host, sizeof(host), &port) != 0) {
                cfg_err(err, errlen, "%s: %s = \"%s\" is not an address; accepted: host:port "
                        "(e.g. 127.0.0.1:8080, [::1]:8080), port 0..65535", where, k->name, value);
                return -1;
            }
        }
        free(*slot);
        *slot = cfg_strdup(value);
        return 0;
    }
    case CFG_INT: {
        char *end;
        long v;
        errno = 0;
        v = strtol(value, &end, 10);
        if (value[0] == '\0' || *end != '\0' || errno != 0 || isspace((unsigned char)value[0])) {
            cfg_err(err, errlen, "%s: %s = \"%s\" is not a whole number; accepted: %ld..%ld",
                    where, k->name, value, k->min, k->max);
            return -1;
        }
        if (v < k->min || v > k->max) {
            cfg_err(err, errlen, "%s: %s = %ld is out of range; accepted: %ld..%ld",
                    where, k->name, v, k->min, k->max);
            return -1;
        }
        *(int *)(base + k->off) = (int)v;
        return 0;
    }
    case CFG_LOGLEVEL: {
        int lv = log_level_parse(value);
        if (lv < 0) {
            cfg_err(err, errlen, "%s: %s = \"%s\" is not a level; accepted: debug, info, warn, error",
                    where, k->name, value);
            return -1;
        }
        *(int *)(base + k->off) = lv;
        return 0;
    }
    }
    return -1;
}

/* Sets a key by name from text. */
int config_set(struct config *c, const char *key, const char *value,
               const struct config_origin *from, char *err, size_t errlen)
{
    char wbuf[512];
    const char *where = cfg_where(from, wbuf, sizeof(wbuf));
    const struct cfg_key *k = cfg_find(key);

    if (k == NULL) {
        const char *best = NULL;
        size_t bestd = 4;
        for (size_t i = 0; i < N_KEYS; i++) {
            size_t d = cfg_distance(key, cfg_keys[i].name);
            if (d < bestd) {
                bestd = d;
                best = cfg_keys[i].name;
            }
        }
        if (best)
            cfg_err(err, errlen, "%s: unknown key \"%s\" (did you mean \"%s\"?); "
                    "`dialerd --help-config` lists every key", where, key, best);
        else
            cfg_err(err, errlen, "%s: unknown key \"%s\"; `dialerd --help-config` lists every key",
                    where, key);
        return -1;
    }
    return cfg_apply(c, k, value, where, err, errlen);
}

/* Returns a config holding every default. */
struct config *config_new(void)
{
    struct config *c = calloc(1, sizeof(*c));
    struct config_origin def = { "default", 0 };
    char err[512] = "";

    if (c == NULL) {
        fputs("dialerd: out of memory\n", stderr);
        abort();
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        if (cfg_apply(c, &cfg_keys[i], cfg_keys[i].def, def.source, err, sizeof(err)) != 0) {
            /* A default that fails its own check is a programming error. */
            fprintf(stderr, "dialerd: %s\n", err);
            abort();
        }
    }
    return c;
}

/* Frees every string field, then the struct. */
void config_free(struct config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < N_KEYS; i++)
        if (cfg_keys[i].type == CFG_STR || cfg_keys[i].type == CFG_HOSTPORT)
            free(*(char **)((char *)c + cfg_keys[i].off));
    free(c);
}

/* Trims leading and trailing white space in place. */
static char *cfg_trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Parses a whole configuration text, reporting every bad line. */
int config_parse_text(struct config *c, const char *text, const char *source,
                      char *err, size_t errlen)
{
    char *copy = cfg_strdup(text), *line;
    int lineno = 0, errors = 0;
    const char *p = copy;

    /* Walked by hand rather than with strtok_r, which skips empty lines and so misnumbers. */
    while (p != NULL && *p != '\0') {
        char *nl = strchr(p, '\n'), *eq, *key, *val;
        struct config_origin from;

        lineno++;
        line = (char *)p;
        if (nl) {
            *nl = '\0';
            p = nl + 1;
        } else {
            p = NULL;
        }
        line = cfg_trim(line);
        if (*line == '\0' || *line == '#' || *line == ';')
            continue;
        from.source = source;
        from.line = lineno;
        eq = strchr(line, '=');
        if (eq == NULL) {
            const char *shown = line;
            /* "api_tokens: abc" must not put the token into a log line. */
            for (size_t i = 0; i < sizeof(cfg_secret_keys) / sizeof(cfg_secret_keys[0]); i++)
                if (strncmp(line, cfg_secret_keys[i], strlen(cfg_secret_keys[i])) == 0)
                    shown = cfg_secret_keys[i];
            cfg_err(err, errlen, "%s:%d: \"%s%s\" is not a setting; expected key = value",
                    source, lineno, shown, shown == line ? "" : " …");
            errors++;
            continue;
        }
        *eq = '\0';
        key = cfg_trim(line);
        val = cfg_trim(eq + 1);
        if (*val == '"') {
            char *close = strrchr(val + 1, '"');
            if (close == NULL || close[1] != '\0') {
                cfg_err(err, errlen, "%s:%d: %s: the quoted value is not closed by a \" at the end",
                        source, lineno, key);
                errors++;
                continue;
            }
            *close = '\0';
            val++;
        } else {
            /* An unquoted value ends at a comment. */
            char *hash = strchr(val, '#');
            if (hash) {
                *hash = '\0';
                val = cfg_trim(val);
            }
        }
        if (config_set(c, key, val, &from, err, errlen) != 0)
            errors++;
    }
    free(copy);
    return errors;
}

/* Reads a file into memory and parses it. */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char *buf;
    long size;
    int errors;

    if (fp == NULL) {
        cfg_err(err, errlen, "%s: cannot open the config file: %s", path, strerror(errno));
        return 1;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || size > 1048576 ||
        fseek(fp, 0, SEEK_SET) != 0) {
        cfg_err(err, errlen, "%s: cannot read the config file (larger than 1 MiB, or not a file)",
                path);
        fclose(fp);
        return 1;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, fp) != (size_t)size) {
        cfg_err(err, errlen, "%s: cannot read the config file: %s", path, strerror(errno));
        free(buf);
        fclose(fp);
        return 1;
    }
    fclose(fp);
    buf[size] = '\0';
    if (memchr(buf, '\0', (size_t)size) != NULL) {
        cfg_err(err, errlen, "%s: the config file holds a NUL byte; it must be text", path);
        free(buf);
        return 1;
    }
    errors = config_parse_text(c, buf, path, err, errlen);
    free(buf);
    return errors;
}

/* Applies DIALER_* environment variables. */
int config_load_env(struct config *c, char *const *envp, char *err, size_t errlen)
{
    static const char prefix[] = "DIALER_";
    struct config_origin from = { "environment", 0 };
    int errors = 0;

    for (char *const *e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        char key[128];
        size_t klen;

        if (strncmp(*e, prefix, sizeof(prefix) - 1) != 0 || eq == NULL)
            continue;
        klen = (size_t)(eq - *e) - (sizeof(prefix) - 1);
        if (klen == 0 || klen >= sizeof(key))
            continue;
        for (size_t i = 0; i < klen; i++)
            key[i] = (char)tolower((unsigned char)(*e)[sizeof(prefix) - 1 + i]);
        key[klen] = '\0';
        /* Other tools may share the DIALER_ prefix; only known keys are ours. */
        if (cfg_find(key) == NULL)
            continue;
        if (config_set(c, key, eq + 1, &from, err, errlen) != 0)
            errors++;
    }
    return errors;
}

/* Checks relations between keys. */
int config_check(const struct config *c, char *err, size_t errlen)
{
    int errors = 0;

    if (c->db_reconnect_min_ms > c->db_reconnect_max_ms) {
        cfg_err(err, errlen, "db_reconnect_min_ms = %d is above db_reconnect_max_ms = %d; "
                "the first back-off must not exceed the ceiling",
                c->db_reconnect_min_ms, c->db_reconnect_max_ms);
        errors++;
    }
    if (c->sms_backoff_min_ms > c->sms_backoff_max_ms) {
        cfg_err(err, errlen, "sms_backoff_min_ms = %d is above sms_backoff_max_ms = %d; "
                "the first back-off must not exceed the ceiling",
                c->sms_backoff_min_ms, c->sms_backoff_max_ms);
        errors++;
    }
    /* Three renewals per lease: one late or lost round trip must not cost the pools. */
    if (c->lease_renew_ms * 3 > c->lease_ms) {
        cfg_err(err, errlen, "lease_renew_ms = %d is too long for lease_ms = %d; accepted: at most "
                "lease_ms / 3 (%d)", c->lease_renew_ms, c->lease_ms, c->lease_ms / 3);
        errors++;
    }
    /* A lease that ends while the send may still be waiting for its answer would let a second
     * dispatcher send the same row at the same time. */
    if (c->sms_lease_ms < c->sms_timeout_ms + 1000) {
        cfg_err(err, errlen, "sms_lease_ms = %d is too short for sms_timeout_ms = %d; accepted: "
                "at least sms_timeout_ms + 1000 (%d)", c->sms_lease_ms, c->sms_timeout_ms,
                c->sms_timeout_ms + 1000);
        errors++;
    }
    if (c->sms_url[0] && strncmp(c->sms_url, "http://", 7) != 0 &&
        strncmp(c->sms_url, "https://", 8) != 0) {
        cfg_err(err, errlen, "sms_url = \"%s\" is not an HTTP URL; accepted: http://… or "
                "https://…, or empty for no SMS dispatcher", c->sms_url);
        errors++;
    }
    return errors;
}

/* Compares one key's value in two configs. */
static int cfg_differs(const struct config *a, const struct config *b, const struct cfg_key *k)
{
    const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;

    if (k->type == CFG_STR || k->type == CFG_HOSTPORT)
        return strcmp(*(char *const *)pa, *(char *const *)pb) != 0;
    return *(const int *)pa != *(const int *)pb;
}

/* Lists non-reloadable keys that differ. */
int config_restart_keys(const struct config *a, const struct config *b, char *out, size_t len)
{
    int n = 0;
    size_t o = 0;

    if (len > 0)
        out[0] = '\0';
    for (size_t i = 0; i < N_KEYS; i++) {
        if (cfg_keys[i].reloadable || !cfg_differs(a, b, &cfg_keys[i]))
            continue;
        if (o < len) {
            int w = snprintf(out + o, len - o, "%s%s", n ? "," : "", cfg_keys[i].name);
            if (w > 0)
                o += (size_t)w;
        }
        n++;
    }
    return n;
}

/* Copies reloadable values from `from` into `to`. */
void config_apply_reloadable(struct config *to, const struct config *from)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        if (!k->reloadable)
            continue;
        if (k->type == CFG_STR || k->type == CFG_HOSTPORT) {
            char **dst = (char **)((char *)to + k->off);
            free(*dst);
            *dst = cfg_strdup(*(char *const *)((const char *)from + k->off));
        } else {
            *(int *)((char *)to + k->off) = *(const int *)((const char *)from + k->off);
        }
    }
}

/* Writes `text` as "# " comment lines of at most 78 columns, broken at spaces. */
static void cfg_describe_wrapped(FILE *fp, const char *text)
{
    const size_t width = 76;

    while (*text) {
        size_t n = strlen(text), cut = n;

        if (n > width) {
            cut = width;
            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = strcspn(text, " ");
        }
        fprintf(fp, "# %.*s\n", (int)cut, text);
        text += cut;
        while (*text == ' ')
            text++;
    }
}

/*
 * Prints the key table for people: a commented sample configuration with every default
 * (deploy/dialerd.conf is this output; the man page's key list is generated from it).
 */
void config_describe(FILE *fp)
{
    fputs("# dialerd configuration: every key with its default (dialerd --help-config).\n"
          "#\n"
          "# Lines are `key = value`; `#` starts a comment; a value may be \"double-quoted\".\n"
          "# The environment overrides this file (DIALER_<KEY>: DIALER_DATABASE_URL, ...)\n"
          "# and `--set key=value` overrides both. SIGHUP (systemctl reload dialerd)\n"
          "# applies an edited file; keys marked \"restart only\" keep their running value\n"
          "# until dialerd restarts, and a file with errors is refused whole (the running\n"
          "# configuration stays).\n"
          "# `dialerd --check-config -c FILE` checks a file without starting anything.\n"
          "#\n"
          "# Secrets (api_tokens, event_secrets, a password in database_url) do not belong\n"
          "# in a world-readable file: put them in /etc/dialerd/dialerd.env (read by\n"
          "# systemd, mode 0600), or make this file 0640 root:dialerd. See dialerd(8) and\n"
          "# docs/operations.md.\n", fp);
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        char env[80];
        size_t e = (size_t)snprintf(env, sizeof(env), "DIALER_");

        for (const char *c = k->name; *c && e + 1 < sizeof(env); c++)
            env[e++] = (char)toupper((unsigned char)*c);
        env[e] = '\0';
        fputc('\n', fp);
        cfg_describe_wrapped(fp, k->help);
        if (k->type == CFG_INT)
            fprintf(fp, "# range: %ld..%ld; ", k->min, k->max);
        else
            fputs("# ", fp);
        fprintf(fp, "%s; env: %s\n", k->reloadable ? "reloadable" : "restart only", env);
        fprintf(fp, "%s = %s\n", k->name, k->def);
    }
}
