/* Metrics: counters, gauges and histograms registered by name, rendered as Prometheus text. */
#ifndef DIALERD_METRICS_H
#define DIALERD_METRICS_H

#include <stddef.h>

/*
 * One registry per process, driven from the event loop's thread only (no locking). Modules
 * count where things happen — metrics_inc(M_DIALS) — without holding a pointer to anything;
 * values that live elsewhere (calls in flight, agents per pool) are read at scrape time by
 * collectors. metrics_render() writes everything in the Prometheus text exposition format
 * 0.0.4: `# HELP` / `# TYPE` once per family, base units (seconds, bytes), counters end in
 * `_total`.
 *
 * The metrics below exist from the start (static storage): metrics_inc() and friends work
 * before metrics_setup() and in unit tests that never call it.
 */
enum metric_id {
    M_DIALS,                     /* dials the carrier accepted: attempts with dialed_at */
    M_ANSWERS,                   /* ended attempts a person answered (live; not machines) */
    M_ABANDONS,                  /* ended attempts answered with no agent in time */
    M_CARRIER_REFUSED,           /* carrier errors by kind: 429 / 503 / no connection */
    M_CARRIER_5XX,               /*   another 5xx */
    M_CARRIER_TIMEOUT,           /*   no answer in carrier_timeout_ms */
    M_CARRIER_CUT,               /*   the connection closed after the request went out */
    M_CARRIER_4XX,               /*   another 4xx: the dial was refused for good */
    M_CARRIER_BAD_REPLY,         /*   2xx without a usable session_id */
    M_SMS_SENT,                  /* SMS the gateway took (2xx) */
    M_SMS_FAILED,                /* SMS given up: other 4xx, or sms_max_tries reached */
    M_SMS_RETRIED,               /* SMS sends to be tried again (429 / 5xx / timeout) */
    M_DB_QUERY_SECONDS,          /* histogram: round trip of each query the daemon sends */
    M_DB_QUERY_ERRORS,           /* queries that came back with an error or no answer */
    M_TICK_LAG_SECONDS,          /* histogram: how late each scheduler tick ran */
    M_BUILTIN_N
};

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* Most metrics the registry holds (built-in and registered), and buckets per histogram. */
#define METRICS_MAX 96
#define METRICS_MAX_BUCKETS 20

/*
 * Records the process start time and the build facts of dialerd_build_info. Strings are
 * copied. Resets nothing: counters run for the life of the process.
 */
void metrics_setup(const char *version, int schema_version, const char *instance);
/* Forgets the registered collectors and the copied strings (counters keep their values). */
void metrics_cleanup(void);

/*
 * Registers another metric and returns its id (>= M_BUILTIN_N), or -1 when the registry is
 * full or the name is not a valid metric name. `name`, `labels` and `help` must outlive the
 * registry (string literals); `labels` is NULL or a fixed label set such as `kind="refused"`,
 * so that one family can hold several series registered one by one. Counters' names end in
 * `_total`. `bounds` (histograms only, ascending, at most METRICS_MAX_BUCKETS) is copied.
 */
int metrics_register(enum metric_type type, const char *name, const char *labels,
                     const char *help, const double *bounds, int nbounds);

/* Counter or gauge += 1. An unknown id is ignored (never a crash in a hot path). */
void metrics_inc(int id);
/* Counter += v (v >= 0) or gauge += v. */
void metrics_add(int id, double v);
/* Gauge = v. */
void metrics_set(int id, double v);
/* Histogram: counts one observation `v` (seconds, bytes, …). */
void metrics_observe(int id, double v);
/* Current value of a counter or gauge; a histogram's count. For tests and logs. */
double metrics_value(int id);

/* Seconds on the monotonic clock, for timing what is then observed. */
double metrics_clock(void);

/*
 * Collectors add series whose values live in other modules (per-pool gauges, the database's
 * state). They run inside metrics_render(), in the order they were added, and write through
 * metrics_family() / metrics_sample().
 */
struct metrics_out;
typedef void (*metrics_collect_cb)(struct metrics_out *out, void *arg);
/* Adds a collector; 0, or -1 when too many are registered. `arg` must outlive it. */
int metrics_collector_add(metrics_collect_cb cb, void *arg);
/* Removes a collector added with the same cb and arg (call it before arg is freed). */
void metrics_collector_remove(metrics_collect_cb cb, void *arg);

/* Starts a family inside a collector: its # HELP and # TYPE lines. */
void metrics_family(struct metrics_out *out, const char *name, enum metric_type type,
                    const char *help);
/*
 * One sample of the family just started. `labels` is NULL or a NULL-terminated list of
 * name, value, name, value, …; values are escaped here (any text is fine).
 */
void metrics_sample(struct metrics_out *out, const char *name, const char *const *labels,
                    double v);

/*
 * Renders every metric in the text format: built-in and registered ones in registration
 * order (grouped by family), process metrics, then each collector. Returns a NUL-terminated
 * string the caller frees with free(); its length without the NUL goes to *len when not NULL.
 */
char *metrics_render(size_t *len);

#endif
