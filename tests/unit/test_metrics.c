/* Unit tests for the metrics registry (counting, histogram buckets, families, escaping, collectors) and the carrier error kinds. */
#include "carrier.h"
#include "httpc.h"
#include "metrics.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* Counts the lines of `text` that start with `prefix`. */
static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t pl = strlen(prefix);

    for (const char *p = text; p && *p; ) {
        if (strncmp(p, prefix, pl) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

/* Built-in counters count, refuse to go down, and ignore unknown ids. */
static void test_counters(void)
{
    double before = metrics_value(M_DIALS);

    metrics_inc(M_DIALS);
    metrics_add(M_DIALS, 2);
    metrics_add(M_DIALS, -5);
    is_int(metrics_value(M_DIALS) - before, 3, "inc and add count; a negative add is ignored");
    metrics_inc(-1);
    metrics_inc(METRICS_MAX + 5);
    metrics_set(M_DIALS, 100);
    is_int(metrics_value(M_DIALS) - before, 3, "unknown ids and set() on a counter change nothing");
}

/* Histogram observations land in the first bucket whose bound they do not exceed. */
static void test_histogram(void)
{
    static const double b[] = { 0.1, 1, 10 };
    int id = metrics_register(METRIC_HISTOGRAM, "test_latency_seconds", NULL, "Latency.", b, 3);
    char *text;

    ok(id >= M_BUILTIN_N, "a histogram registers with an id after the built-ins");
    metrics_observe(id, 0.05);
    metrics_observe(id, 0.1);
    metrics_observe(id, 0.5);
    metrics_observe(id, 20);
    is_int(metrics_value(id), 4, "four observations");
    text = metrics_render(NULL);
    has_str(text, "# TYPE test_latency_seconds histogram\n", "TYPE line");
    has_str(text, "test_latency_seconds_bucket{le=\"0.1\"} 2\n", "a value equal to a bound is in that bucket");
    has_str(text, "test_latency_seconds_bucket{le=\"1\"} 3\n", "buckets are cumulative");
    has_str(text, "test_latency_seconds_bucket{le=\"10\"} 3\n", "nothing between 1 and 10");
    has_str(text, "test_latency_seconds_bucket{le=\"+Inf\"} 4\n", "+Inf holds everything");
    has_str(text, "test_latency_seconds_sum 20.65\n", "sum in the shortest exact form");
    has_str(text, "test_latency_seconds_count 4\n", "count");
    free(text);
    {
        static const double bad[] = { 1, 1 };
        is_int(metrics_register(METRIC_HISTOGRAM, "test_bad_seconds", NULL, "x", bad, 2), -1,
               "bounds that do not ascend are refused");
    }
}

/* Series of one family share one header, even when registered apart. */
static void test_families(void)
{
    int a = metrics_register(METRIC_COUNTER, "test_things_total", "kind=\"a\"", "Things.", NULL, 0);
    int other = metrics_register(METRIC_GAUGE, "test_level", NULL, "Level.", NULL, 0);
    int b = metrics_register(METRIC_COUNTER, "test_things_total", "kind=\"b\"", "Things.", NULL, 0);
    char *text;

    ok(a >= 0 && b >= 0 && other >= 0, "three registrations");
    is_int(metrics_register(METRIC_GAUGE, "test_things_total", "kind=\"c\"", "x", NULL, 0), -1,
           "a second type for a family is refused");
    is_int(metrics_register(METRIC_GAUGE, "9starts_with_digit", NULL, "x", NULL, 0), -1,
           "an invalid metric name is refused");
    metrics_add(a, 2);
    metrics_inc(b);
    metrics_set(other, -1.5);
    text = metrics_render(NULL);
    is_int(count_lines(text, "# TYPE test_things_total counter"), 1, "one TYPE line per family");
    has_str(text, "# TYPE test_things_total counter\ntest_things_total{kind=\"a\"} 2\n"
            "test_things_total{kind=\"b\"} 1\n", "the family's series follow its header");
    has_str(text, "test_level -1.5\n", "a gauge may be negative");
    has_str(text, "# TYPE dialerd_carrier_errors_total counter\n"
            "dialerd_carrier_errors_total{kind=\"refused\"} 0\n", "built-in carrier errors are one family");
    free(text);
}

/* A collector's labels are escaped; it can be removed. */
static void collect(struct metrics_out *out, void *arg)
{
    const char *labels[] = { "pool", (const char *)arg, "status", "free", NULL };

    metrics_family(out, "test_agents", METRIC_GAUGE, "Agents.\nSecond line \\ end");
    metrics_sample(out, "test_agents", labels, 3);
}

/* Collectors run inside the render and stop when removed. */
static void test_collectors(void)
{
    char *text;
    size_t len = 0;
    const char *weird = "a\"b\\c\nd";

    ok(metrics_collector_add(collect, (void *)weird) == 0, "collector added");
    text = metrics_render(&len);
    is_int(len, strlen(text), "the length is reported");
    has_str(text, "# HELP test_agents Agents.\\nSecond line \\\\ end\n", "HELP escapes newline and backslash");
    has_str(text, "test_agents{pool=\"a\\\"b\\\\c\\nd\",status=\"free\"} 3\n", "label values are escaped");
    free(text);
    metrics_collector_remove(collect, (void *)weird);
    text = metrics_render(NULL);
    ok(strstr(text, "test_agents") == NULL, "a removed collector writes nothing");
    free(text);
}

/* Process metrics and build info. */
static void test_process(void)
{
    char *text;

    metrics_setup("9.9.9", 7, "inst-\"1\"");
    text = metrics_render(NULL);
    has_str(text, "dialerd_build_info{version=\"9.9.9\",schema_version=\"7\",instance_name=\"inst-\\\"1\\\"\"} 1\n",
            "build info carries version, schema and instance");
    has_str(text, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1", "start time");
    has_str(text, "# TYPE process_cpu_seconds_total counter\n", "CPU seconds");
    has_str(text, "# TYPE process_resident_memory_bytes gauge\n", "resident memory");
    ok(text[strlen(text) - 1] == '\n', "the text ends with a newline");
    free(text);
    metrics_cleanup();
}

/* Each carrier reply counts under the kind an operator must act on; a placed call under none. */
static void test_carrier_kinds(void)
{
    struct httpc_response res = { .body = "", .error = "" };

    res.status = 200;
    is_int(carrier_error_metric(CARRIER_PLACED, &res), -1, "a placed call is no error");
    res.status = 503;
    is_int(carrier_error_metric(CARRIER_NOT_PLACED, &res), M_CARRIER_REFUSED, "503 is refused");
    res.status = 0;
    res.not_sent = 1;
    res.error = "Couldn't connect to server";
    is_int(carrier_error_metric(CARRIER_NOT_PLACED, &res), M_CARRIER_REFUSED,
           "no connection is refused");
    res.not_sent = 0;
    res.timed_out = 1;
    res.error = "timed out after 1000 ms";
    is_int(carrier_error_metric(CARRIER_UNCERTAIN, &res), M_CARRIER_TIMEOUT,
           "no answer within carrier_timeout_ms is a timeout");
    res.timed_out = 0;
    res.error = "Empty reply from server";
    is_int(carrier_error_metric(CARRIER_UNCERTAIN, &res), M_CARRIER_CUT,
           "a connection closed after the request went out is cut, not a timeout");
    res.error = "Couldn't connect to server";
    is_int(carrier_error_metric(CARRIER_UNCERTAIN, &res), M_CARRIER_CUT,
           "a request handed to a reused connection that died, then refused on a new one, is cut");
    res.error = "shutting down";
    is_int(carrier_error_metric(CARRIER_UNCERTAIN, &res), -1, "dialerd's own shutdown is no carrier error");
    res.error = "";
    res.status = 502;
    is_int(carrier_error_metric(CARRIER_UNCERTAIN, &res), M_CARRIER_5XX, "502 is 5xx");
    res.status = 404;
    is_int(carrier_error_metric(CARRIER_REJECTED, &res), M_CARRIER_4XX, "404 is 4xx");
    res.status = 200;
    is_int(carrier_error_metric(CARRIER_UNCERTAIN, &res), M_CARRIER_BAD_REPLY,
           "2xx without a session_id is bad_reply");
}

/* Runs every group. */
int main(void)
{
    test_counters();
    test_histogram();
    test_families();
    test_collectors();
    test_process();
    test_carrier_kinds();
    return tap_done();
}
