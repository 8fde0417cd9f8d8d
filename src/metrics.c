/* Metrics: counters, gauges and histograms registered by name, rendered as Prometheus text. */
#include "metrics.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct metric {
    const char *name;             /* family name; counters end in _total */
    const char *labels;           /* fixed label set of this series, NULL for none */
    const char *help;
    enum metric_type type;
    int nbounds;
    double bounds[METRICS_MAX_BUCKETS];
    double value;                 /* counter / gauge */
    /* Histogram: observations per bucket, not cumulative; [nbounds] is above the last bound. */
    uint64_t counts[METRICS_MAX_BUCKETS + 1];
    double sum;
    uint64_t count;
};

/* Round trips to PostgreSQL on loopback take well under a millisecond; a slow disk or a lock
 * wait pushes them into seconds, and statement_timeout caps them. */
#define DB_BUCKETS { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }
/* A tick is due every tick_ms (10..250 ms); lateness beyond a tick means the loop was stuck. */
#define LAG_BUCKETS { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 }

/* Carrier errors are one family with a series per kind. */
#define CARRIER_HELP "Dial requests the carrier did not accept, by kind: refused (429, 503 or no " \
    "connection: the callee goes back to the queue), 5xx, timeout (no answer within " \
    "carrier_timeout_ms), cut (the connection closed after the request went out, before a " \
    "whole reply), 4xx (the attempt fails), bad_reply (2xx without a session_id)."

static struct metric metrics_table[METRICS_MAX] = {
    [M_DIALS] = { "dialerd_dials_total", NULL,
                  "Dials the carrier accepted (2xx with a session_id): attempts with dialed_at set.",
                  METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_ANSWERS] = { "dialerd_answers_total", NULL,
                    "Ended attempts a person answered (live answers: answering machines excluded, "
                    "abandoned calls included), counted once the end is committed.",
                    METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_ABANDONS] = { "dialerd_abandons_total", NULL,
                     "Ended attempts a person answered and no agent took within the ACD's grace "
                     "(end_status abandoned).",
                     METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_CARRIER_REFUSED] = { "dialerd_carrier_errors_total", "kind=\"refused\"", CARRIER_HELP,
                            METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_CARRIER_5XX] = { "dialerd_carrier_errors_total", "kind=\"5xx\"", CARRIER_HELP,
                        METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_CARRIER_TIMEOUT] = { "dialerd_carrier_errors_total", "kind=\"timeout\"", CARRIER_HELP,
                            METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_CARRIER_CUT] = { "dialerd_carrier_errors_total", "kind=\"cut\"", CARRIER_HELP,
                        METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_CARRIER_4XX] = { "dialerd_carrier_errors_total", "kind=\"4xx\"", CARRIER_HELP,
                        METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_CARRIER_BAD_REPLY] = { "dialerd_carrier_errors_total", "kind=\"bad_reply\"", CARRIER_HELP,
                              METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_SMS_SENT] = { "dialerd_sms_sent_total", NULL,
                     "SMS the gateway accepted (2xx); 0 while sms_url is empty.",
                     METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_SMS_FAILED] = { "dialerd_sms_failed_total", NULL,
                       "SMS given up: refused by the gateway (4xx other than 429) or still "
                       "failing after sms_max_tries sends.",
                       METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_SMS_RETRIED] = { "dialerd_sms_retries_total", NULL,
                        "SMS sends that failed for now (429, 5xx, timeout, no connection) and "
                        "are tried again after a back-off.",
                        METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_DB_QUERY_SECONDS] = { "dialerd_db_query_duration_seconds", NULL,
                             "Round trip of each statement dialerd sends to PostgreSQL, from "
                             "sending it to its last result (heartbeats and session set-up "
                             "excluded).",
                             METRIC_HISTOGRAM, 14, DB_BUCKETS, 0, { 0 }, 0, 0 },
    [M_DB_QUERY_ERRORS] = { "dialerd_db_query_errors_total", NULL,
                            "Statements that failed: an error from the server, a lost "
                            "connection or no answer in time.",
                            METRIC_COUNTER, 0, { 0 }, 0, { 0 }, 0, 0 },
    [M_TICK_LAG_SECONDS] = { "dialerd_scheduler_tick_lag_seconds", NULL,
                             "How late each periodic scheduler tick ran after it was due: a busy "
                             "or blocked event loop shows here first.",
                             METRIC_HISTOGRAM, 11, LAG_BUCKETS, 0, { 0 }, 0, 0 },
};

static int metrics_n = M_BUILTIN_N;

#define METRICS_MAX_COLLECTORS 8

static struct {
    metrics_collect_cb cb;
    void *arg;
} metrics_collectors[METRICS_MAX_COLLECTORS];
static int metrics_n_collectors;

static double metrics_start_time;    /* Unix seconds; 0 before metrics_setup() */
static char *metrics_version, *metrics_instance;
static int metrics_schema;

/* A growable text buffer: what the render writes into. */
struct metrics_out {
    char *buf;
    size_t len, cap;
    int failed;                   /* out of memory: the render returns NULL */
};

/* Appends formatted text; on out-of-memory marks the buffer failed and stops writing. */
static void out_printf(struct metrics_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out_printf(struct metrics_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->failed)
        return;
    for (int tries = 0; tries < 2; tries++) {
        va_start(ap, fmt);
        n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        {
            size_t want = o->cap * 2 > o->len + (size_t)n + 1 ? o->cap * 2 : o->len + (size_t)n + 1;
            char *nb = realloc(o->buf, want);
            if (nb == NULL) {
                o->failed = 1;
                return;
            }
            o->buf = nb;
            o->cap = want;
        }
    }
}

/* Appends text with `\`, newlines and (when `quote`) `"` escaped, as HELP and label values need. */
static void out_escaped(struct metrics_out *o, const char *s, int quote)
{
    for (; s && *s; s++) {
        if (*s == '\\')
            out_printf(o, "\\\\");
        else if (*s == '\n')
            out_printf(o, "\\n");
        else if (*s == '"' && quote)
            out_printf(o, "\\\"");
        else
            out_printf(o, "%c", *s);
    }
}

/* Formats a sample value: whole numbers without a fraction, others in the shortest exact form. */
static const char *metrics_fmt(double v, char *buf, size_t len)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v);
        return buf;
    }
    snprintf(buf, len, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, len, "%.17g", v);
    return buf;
}

/* Whether a name fits [a-zA-Z_:][a-zA-Z0-9_:]* (colons only for metric names). */
static int metrics_name_ok(const char *s, int colons)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (colons && c == ':')))
            return 0;
    }
    return 1;
}

/* Records the start time and the build facts. */
void metrics_setup(const char *version, int schema_version, const char *instance)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    metrics_start_time = (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
    free(metrics_version);
    free(metrics_instance);
    metrics_version = strdup(version ? version : "");
    metrics_instance = strdup(instance ? instance : "");
    metrics_schema = schema_version;
}

/* Drops collectors and copied strings. */
void metrics_cleanup(void)
{
    metrics_n_collectors = 0;
    free(metrics_version);
    free(metrics_instance);
    metrics_version = metrics_instance = NULL;
}

/* Adds a metric to the registry. */
int metrics_register(enum metric_type type, const char *name, const char *labels,
                     const char *help, const double *bounds, int nbounds)
{
    struct metric *m;

    if (metrics_n >= METRICS_MAX || !metrics_name_ok(name, 1) || help == NULL)
        return -1;
    if (type == METRIC_HISTOGRAM && (bounds == NULL || nbounds < 1 || nbounds > METRICS_MAX_BUCKETS))
        return -1;
    for (int i = 1; type == METRIC_HISTOGRAM && i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return -1;
    /* One family, one type: a second series of a name must agree with the first. */
    for (int i = 0; i < metrics_n; i++)
        if (strcmp(metrics_table[i].name, name) == 0 && metrics_table[i].type != type)
            return -1;
    m = &metrics_table[metrics_n];
    memset(m, 0, sizeof(*m));
    m->name = name;
    m->labels = labels;
    m->help = help;
    m->type = type;
    if (type == METRIC_HISTOGRAM) {
        m->nbounds = nbounds;
        memcpy(m->bounds, bounds, sizeof(double) * (size_t)nbounds);
    }
    return metrics_n++;
}

/* The metric of an id, or NULL. */
static struct metric *metrics_get(int id)
{
    return id >= 0 && id < metrics_n ? &metrics_table[id] : NULL;
}

/* += 1. */
void metrics_inc(int id)
{
    metrics_add(id, 1);
}

/* += v; counters never go down. */
void metrics_add(int id, double v)
{
    struct metric *m = metrics_get(id);

    if (m == NULL || m->type == METRIC_HISTOGRAM || (m->type == METRIC_COUNTER && !(v >= 0)))
        return;
    m->value += v;
}

/* = v (gauges only). */
void metrics_set(int id, double v)
{
    struct metric *m = metrics_get(id);

    if (m && m->type == METRIC_GAUGE)
        m->value = v;
}

/* Counts an observation into its bucket. */
void metrics_observe(int id, double v)
{
    struct metric *m = metrics_get(id);
    int b = 0;

    if (m == NULL || m->type != METRIC_HISTOGRAM || isnan(v))
        return;
    while (b < m->nbounds && v > m->bounds[b])
        b++;
    m->counts[b]++;
    m->sum += v;
    m->count++;
}

/* Value (histograms: count). */
double metrics_value(int id)
{
    const struct metric *m = metrics_get(id);

    if (m == NULL)
        return 0;
    return m->type == METRIC_HISTOGRAM ? (double)m->count : m->value;
}

/* CLOCK_MONOTONIC in seconds. */
double metrics_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Registers a collector. */
int metrics_collector_add(metrics_collect_cb cb, void *arg)
{
    if (cb == NULL || metrics_n_collectors >= METRICS_MAX_COLLECTORS)
        return -1;
    metrics_collectors[metrics_n_collectors].cb = cb;
    metrics_collectors[metrics_n_collectors].arg = arg;
    metrics_n_collectors++;
    return 0;
}

/* Unregisters a collector, keeping the others in order. */
void metrics_collector_remove(metrics_collect_cb cb, void *arg)
{
    for (int i = 0; i < metrics_n_collectors; i++) {
        if (metrics_collectors[i].cb == cb && metrics_collectors[i].arg == arg) {
            memmove(&metrics_collectors[i], &metrics_collectors[i + 1],
                    sizeof(metrics_collectors[0]) * (size_t)(metrics_n_collectors - i - 1));
            metrics_n_collectors--;
            return;
        }
    }
}

static const char *const metrics_type_names[] = { "counter", "gauge", "histogram" };

/* # HELP and # TYPE of a family. */
void metrics_family(struct metrics_out *out, const char *name, enum metric_type type,
                    const char *help)
{
    out_printf(out, "# HELP %s ", name);
    out_escaped(out, help, 0);
    out_printf(out, "\n# TYPE %s %s\n", name, metrics_type_names[type]);
}

/* One sample line with escaped label values. */
void metrics_sample(struct metrics_out *out, const char *name, const char *const *labels,
                    double v)
{
    char num[40];

    out_printf(out, "%s", name);
    if (labels && labels[0]) {
        out_printf(out, "{");
        for (int i = 0; labels[i] && labels[i + 1] && i < 64; i += 2) {
            out_printf(out, "%s%s=\"", i ? "," : "", labels[i]);
            out_escaped(out, labels[i + 1], 1);
            out_printf(out, "\"");
        }
        out_printf(out, "}");
    }
    out_printf(out, " %s\n", metrics_fmt(v, num, sizeof(num)));
}

/* The series lines of one registry metric (its family header is written by the caller). */
static void metrics_render_one(struct metrics_out *o, const struct metric *m)
{
    char num[40], le[40];
    const char *sep = m->labels ? "," : "";

    if (m->type != METRIC_HISTOGRAM) {
        out_printf(o, "%s%s%s%s %s\n", m->name, m->labels ? "{" : "", m->labels ? m->labels : "",
                   m->labels ? "}" : "", metrics_fmt(m->value, num, sizeof(num)));
        return;
    }
    {
        uint64_t cum = 0;
        for (int b = 0; b <= m->nbounds; b++) {
            cum += m->counts[b];
            out_printf(o, "%s_bucket{%s%sle=\"%s\"} %llu\n", m->name, m->labels ? m->labels : "",
                       sep, b < m->nbounds ? metrics_fmt(m->bounds[b], le, sizeof(le)) : "+Inf",
                       (unsigned long long)cum);
        }
    }
    out_printf(o, "%s_sum%s%s%s %s\n", m->name, m->labels ? "{" : "", m->labels ? m->labels : "",
               m->labels ? "}" : "", metrics_fmt(m->sum, num, sizeof(num)));
    out_printf(o, "%s_count%s%s%s %llu\n", m->name, m->labels ? "{" : "",
               m->labels ? m->labels : "", m->labels ? "}" : "", (unsigned long long)m->count);
}

/* Open file descriptors of this process (bounded: a runaway count is reported as is). */
static int metrics_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL && n < 10000000)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    /* The directory handle itself was one of them. */
    return n > 0 ? n - 1 : 0;
}

/* Resident set size from /proc/self/statm, in bytes; -1 when unknown. */
static double metrics_rss_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    int got;

    if (fp == NULL)
        return -1;
    got = fscanf(fp, "%lu %lu", &size, &rss);
    fclose(fp);
    return got == 2 ? (double)rss * (double)sysconf(_SC_PAGESIZE) : -1;
}

/* The standard process_* families and dialerd_build_info. */
static void metrics_render_process(struct metrics_out *o)
{
    struct rusage ru;
    struct rlimit rl;
    double v;
    char schema[16];
    const char *build[] = { "version", metrics_version ? metrics_version : "",
                            "schema_version", schema,
                            "instance_name", metrics_instance ? metrics_instance : "", NULL };

    snprintf(schema, sizeof(schema), "%d", metrics_schema);
    metrics_family(o, "dialerd_build_info", METRIC_GAUGE,
                   "Always 1; the labels say which dialerd this is: its version, the newest "
                   "schema migration it was built with, and its instance_name.");
    metrics_sample(o, "dialerd_build_info", build, 1);
    if (metrics_start_time > 0) {
        metrics_family(o, "process_start_time_seconds", METRIC_GAUGE,
                       "Start time of the process since the Unix epoch in seconds.");
        metrics_sample(o, "process_start_time_seconds", NULL, metrics_start_time);
    }
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        v = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        metrics_family(o, "process_cpu_seconds_total", METRIC_COUNTER,
                       "Total user and system CPU time spent in seconds.");
        metrics_sample(o, "process_cpu_seconds_total", NULL, v);
    }
    if ((v = metrics_rss_bytes()) >= 0) {
        metrics_family(o, "process_resident_memory_bytes", METRIC_GAUGE,
                       "Resident memory size in bytes.");
        metrics_sample(o, "process_resident_memory_bytes", NULL, v);
    }
    if ((v = metrics_open_fds()) >= 0) {
        metrics_family(o, "process_open_fds", METRIC_GAUGE, "Number of open file descriptors.");
        metrics_sample(o, "process_open_fds", NULL, v);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        metrics_family(o, "process_max_fds", METRIC_GAUGE,
                       "Maximum number of open file descriptors.");
        metrics_sample(o, "process_max_fds", NULL, (double)rl.rlim_cur);
    }
}

/* Everything, in the text exposition format. */
char *metrics_render(size_t *len)
{
    struct metrics_out o = { NULL, 0, 0, 0 };
    unsigned char done[METRICS_MAX] = { 0 };

    o.cap = 16384;
    o.buf = malloc(o.cap);
    if (o.buf == NULL)
        return NULL;
    o.buf[0] = '\0';
    /* Series of one family are written together under one header, wherever they were added. */
    for (int i = 0; i < metrics_n; i++) {
        if (done[i])
            continue;
        metrics_family(&o, metrics_table[i].name, metrics_table[i].type, metrics_table[i].help);
        for (int j = i; j < metrics_n; j++) {
            if (!done[j] && strcmp(metrics_table[j].name, metrics_table[i].name) == 0) {
                metrics_render_one(&o, &metrics_table[j]);
                done[j] = 1;
            }
        }
    }
    metrics_render_process(&o);
    for (int i = 0; i < metrics_n_collectors; i++)
        metrics_collectors[i].cb(&o, metrics_collectors[i].arg);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    if (len)
        *len = o.len;
    return o.buf;
}
