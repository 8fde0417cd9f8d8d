/* Unauthenticated read-outs: GET /metrics (Prometheus text) and GET / (the live status page). */
#include "api_int.h"

#include "db.h"
#include "metrics.h"
#include "scheduler.h"
#include "sha256.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* web/status.html, turned into a C array by the Makefile (build/gen/status_html.c). */
extern const unsigned char status_html[];
extern const size_t status_html_len;

/*
 * Content-Security-Policy of the status page: its one inline script and style are allowed by
 * their SHA-256 (computed from the embedded page once), nothing else runs, and it may talk to
 * this origin only. Built on first use; the page never changes while the process runs.
 */
static char api_status_csp[512];

/* Standard base64 of n bytes into out (4 * ceil(n / 3) characters and a NUL). */
static void api_base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/*
 * Writes 'sha256-<base64>' of the text between the first `open` tag and the next `close` tag
 * of the page into out; "" when the page has no such element.
 */
static void api_status_hash(const char *open, const char *close, char *out, size_t len)
{
    const char *page = (const char *)status_html;
    const char *a = strstr(page, open), *b;
    unsigned char d[SHA256_DIGEST_LEN];
    char b64[48];

    out[0] = '\0';
    if (a == NULL || (b = strstr(a + strlen(open), close)) == NULL)
        return;
    a += strlen(open);
    sha256_digest(a, (size_t)(b - a), d);
    api_base64(d, sizeof(d), b64);
    snprintf(out, len, "'sha256-%s'", b64);
}

/* The page's CSP header value. */
static const char *api_status_csp_value(void)
{
    if (api_status_csp[0] == '\0') {
        char script[64], style[64];

        api_status_hash("<script>", "</script>", script, sizeof(script));
        api_status_hash("<style>", "</style>", style, sizeof(style));
        snprintf(api_status_csp, sizeof(api_status_csp),
                 "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; "
                 "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                 script[0] ? script : "'none'", style[0] ? style : "'none'");
    }
    return api_status_csp;
}

/* GET /: the status page. It holds no data: its script reads the REST API with the user's token. */
void api_status_page(struct api_call *call)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(call->req);
    struct evbuffer *buf = evbuffer_new();

    if (buf == NULL) {
        evhttp_send_error(call->req, 500, "out of memory");
        return;
    }
    evbuffer_add_reference(buf, status_html, status_html_len, NULL, NULL);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "Content-Security-Policy", api_status_csp_value());
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_send_reply(call->req, 200, "OK", buf);
    evbuffer_free(buf);
}

/* GET /metrics: every metric in the Prometheus text exposition format 0.0.4. */
void api_metrics(struct api_call *call)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(call->req);
    struct evbuffer *buf;
    size_t len = 0;
    char *text = metrics_render(&len);

    if (text == NULL || (buf = evbuffer_new()) == NULL) {
        free(text);
        api_reply(call->req, 500, API_UNAVAILABLE, "out of memory rendering the metrics", NULL);
        return;
    }
    evbuffer_add(buf, text, len);
    free(text);
    evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(call->req, 200, "OK", buf);
    evbuffer_free(buf);
}

/* The per-pool gauges: calls in flight, then agents by status (each family in one block). */
static void api_collect_pools(struct metrics_out *o, const struct sched *sched)
{
    int n = sched_pool_stats(sched, NULL, 0);
    struct sched_pool_stats *ps = util_xcalloc((size_t)n, sizeof(*ps));

    n = sched_pool_stats(sched, ps, n);
    metrics_family(o, "dialerd_calls_in_flight", METRIC_GAUGE,
                   "Calls placed and not yet ended, per pool (sg:<skill group id>, "
                   "camp:<agentless campaign id>; none: campaigns no longer loaded).");
    for (int i = 0; i < n; i++) {
        const char *l[] = { "pool", ps[i].pool, NULL };
        metrics_sample(o, "dialerd_calls_in_flight", l, ps[i].calls_in_flight);
    }
    metrics_family(o, "dialerd_pool_lease", METRIC_GAUGE,
                   "Whether this instance holds the pool's lease (dialer.leases): 1 dialing for "
                   "it, 2 handing it over to another instance, 0 not held.");
    for (int i = 0; i < n; i++) {
        const char *l[] = { "pool", ps[i].pool, NULL };
        if (strcmp(ps[i].pool, "none") != 0)
            metrics_sample(o, "dialerd_pool_lease", l, ps[i].leased);
    }
    metrics_family(o, "dialerd_agents", METRIC_GAUGE,
                   "Agents by status, per pool they are counted in (an agent in several skill "
                   "groups counts in its best-priority pool with a running campaign; none: in no "
                   "such pool).");
    for (int i = 0; i < n; i++) {
        /* Agentless pools have no agents: no series to show. */
        if (strncmp(ps[i].pool, "camp:", 5) == 0)
            continue;
        for (int st = 0; st < SCHED_AGENT_STATUSES; st++) {
            const char *l[] = { "pool", ps[i].pool, "status", sched_agent_status_name(st), NULL };
            metrics_sample(o, "dialerd_agents", l, ps[i].agents[st]);
        }
    }
    free(ps);
}

/* Values that live in the api, the db pool and the scheduler, read at scrape time. */
static void api_collect(struct metrics_out *o, void *arg)
{
    struct api *api = arg;
    struct db_health dh;
    struct sched_stats st;
    int up;

    db_health(api->db, util_mono_ms(), &dh);
    /* The same rule as /healthz. */
    up = dh.conns_ready > 0 && dh.last_ok_age_ms >= 0 && dh.last_ok_age_ms < api->healthy_within_ms;
    metrics_family(o, "dialerd_database_up", METRIC_GAUGE,
                   "1 when a round trip to PostgreSQL succeeded within three heartbeats (as "
                   "/healthz says), else 0.");
    metrics_sample(o, "dialerd_database_up", NULL, up);
    metrics_family(o, "dialerd_db_connections", METRIC_GAUGE,
                   "Connections of the pool to PostgreSQL, by state (ready: set up and usable).");
    {
        const char *ready[] = { "state", "ready", NULL }, *other[] = { "state", "not_ready", NULL };
        metrics_sample(o, "dialerd_db_connections", ready, dh.conns_ready);
        metrics_sample(o, "dialerd_db_connections", other, dh.conns_total - dh.conns_ready);
    }
    metrics_family(o, "dialerd_schema_version", METRIC_GAUGE,
                   "dialer.schema_version as read at the last connection set-up (0: unknown).");
    metrics_sample(o, "dialerd_schema_version", NULL, dh.schema_version);
    metrics_family(o, "dialerd_draining", METRIC_GAUGE,
                   "1 after SIGTERM while in-flight work finishes, else 0.");
    metrics_sample(o, "dialerd_draining", NULL, api->draining);
    if (api->sched == NULL)
        return;
    sched_stats(api->sched, &st);
    metrics_family(o, "dialerd_campaigns_loaded", METRIC_GAUGE,
                   "Campaigns in memory: ready, running or paused.");
    metrics_sample(o, "dialerd_campaigns_loaded", NULL, st.campaigns);
    metrics_family(o, "dialerd_pools", METRIC_GAUGE,
                   "Pools in memory: one per skill group and per agentless campaign.");
    metrics_sample(o, "dialerd_pools", NULL, st.pools);
    metrics_family(o, "dialerd_dial_requests_total", METRIC_COUNTER,
                   "Dial requests sent to the carrier, retries of an attempt under its "
                   "Idempotency-Key included.");
    metrics_sample(o, "dialerd_dial_requests_total", NULL, (double)st.dials);
    metrics_family(o, "dialerd_call_events_total", METRIC_COUNTER,
                   "Carrier call events applied (repeats included).");
    metrics_sample(o, "dialerd_call_events_total", NULL, (double)st.events);
    metrics_family(o, "dialerd_attempts_finished_total", METRIC_COUNTER,
                   "Attempts whose end was committed (any outcome).");
    metrics_sample(o, "dialerd_attempts_finished_total", NULL, (double)st.attempts_finished);
    api_collect_pools(o, api->sched);
}

/* Registers the api's collector. */
void api_status_setup(struct api *api)
{
    metrics_collector_add(api_collect, api);
}

/* Unregisters it (before the api is freed). */
void api_status_cleanup(struct api *api)
{
    metrics_collector_remove(api_collect, api);
}
