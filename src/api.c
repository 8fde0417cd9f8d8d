/* HTTP endpoint (evhttp): routing, the {status, reason, data} envelope, /healthz. */
#include "api.h"
#include "api_int.h"

#include "auth.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "scheduler.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Requests answered through api_defer() and not answered yet, over the process (one api per
 * daemon): the bound of max_pending_requests is checked against it before a handler runs.
 */
static int api_n_pending;

/* Name of an HTTP method for logs and Allow headers. */
static const char *api_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    default: return "OTHER";
    }
}

/*
 * Sends the envelope {"status", "reason", "data"} with an HTTP status. Takes ownership of
 * `data` (a cJSON tree or NULL) and frees it.
 */
void api_reply(struct evhttp_request *req, int http_status, enum api_code code,
                      const char *reason, cJSON *data)
{
    cJSON *root = cJSON_CreateObject();
    struct evbuffer *buf = evbuffer_new();
    char *text;

    cJSON_AddNumberToObject(root, "status", code);
    cJSON_AddStringToObject(root, "reason", reason);
    if (data)
        cJSON_AddItemToObject(root, "data", data);
    else
        cJSON_AddNullToObject(root, "data");
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (text == NULL || buf == NULL) {
        evhttp_send_error(req, 500, "out of memory");
        free(text);
        if (buf)
            evbuffer_free(buf);
        return;
    }
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, http_status, NULL, buf);
    evbuffer_free(buf);
}

/* GET /healthz: liveness plus database reachability, answered from the pool's own state. */
static void api_healthz(struct api_call *call)
{
    struct api *api = call->api;
    struct db_health h;
    int64_t now = util_mono_ms();
    cJSON *d = cJSON_CreateObject();
    int up;
    char reason[320];

    db_health(api->db, now, &h);
    /* A connection is set up and a round trip succeeded within the heartbeat deadline. */
    up = h.conns_ready > 0 && h.last_ok_age_ms >= 0 && h.last_ok_age_ms < api->healthy_within_ms;
    cJSON_AddStringToObject(d, "database", up ? "up" : "down");
    cJSON_AddNumberToObject(d, "db_conns_ready", h.conns_ready);
    cJSON_AddNumberToObject(d, "db_conns_total", h.conns_total);
    if (h.last_ok_age_ms >= 0)
        cJSON_AddNumberToObject(d, "db_last_ok_ms_ago", (double)h.last_ok_age_ms);
    else
        cJSON_AddNullToObject(d, "db_last_ok_ms_ago");
    cJSON_AddNumberToObject(d, "schema_version", h.schema_version);
    if (!up && h.last_error[0])
        cJSON_AddStringToObject(d, "db_last_error", h.last_error);
    cJSON_AddBoolToObject(d, "draining", api->draining);
    cJSON_AddStringToObject(d, "instance", api->info->instance);
    cJSON_AddStringToObject(d, "version", api->info->version);
    cJSON_AddNumberToObject(d, "uptime_s", (double)((now - api->started_ms) / 1000));
    if (!up) {
        snprintf(reason, sizeof(reason), "database unreachable: %s",
                 h.last_error[0] ? h.last_error : "no connection yet");
        api_reply(call->req, 503, API_UNAVAILABLE, reason, d);
    } else if (api->draining) {
        api_reply(call->req, 503, API_UNAVAILABLE, "draining: dialerd is shutting down", d);
    } else {
        api_reply(call->req, 200, API_OK, "ok", d);
    }
}


/* The client closed the connection while its request was pending. */
static void api_on_close(struct evhttp_connection *conn, void *arg)
{
    struct api_pending *p = arg;

    (void)conn;
    p->dead = 1;
    p->req = NULL;
}

/* Starts waiting for a commit. */
struct api_pending *api_defer(struct evhttp_request *req)
{
    struct api_pending *p = util_xcalloc(1, sizeof(*p));

    api_n_pending++;
    p->req = req;
    p->conn = evhttp_request_get_connection(req);
    if (p->conn)
        evhttp_connection_set_closecb(p->conn, api_on_close, p);
    return p;
}

/* Answers a deferred request (a scheduler reply callback) and frees the record. */
void api_pending_reply(int http_status, int code, const char *reason, void *arg)
{
    struct api_pending *p = arg;

    /* Counted down before the reply goes out, so a client that sees it may send again. */
    api_n_pending--;
    if (!p->dead) {
        if (p->conn)
            evhttp_connection_set_closecb(p->conn, NULL, NULL);
        api_reply(p->req, http_status, (enum api_code)code, reason, NULL);
    }
    free(p);
}

/*
 * Parses the request body as a JSON object. On failure replies (400 / 422) and returns NULL.
 * The caller owns the returned tree and frees it with cJSON_Delete().
 */
cJSON *api_body_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *text = len ? (const char *)evbuffer_pullup(in, -1) : "";
    const char *end = NULL;
    cJSON *j;

    if (len == 0) {
        api_reply(req, 400, API_INVALID, "the request has no body; a JSON object is expected", NULL);
        return NULL;
    }
    j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (j == NULL) {
        char reason[160];
        size_t at = (size_t)(end && end >= text ? end - text : 0);
        snprintf(reason, sizeof(reason), "the body is not valid JSON (near byte %zu)",
                 at <= len ? at : len);
        api_reply(req, 400, API_INVALID, reason, NULL);
        return NULL;
    }
    /* "{} junk" is not one JSON document: cJSON stops after the value, so look at the rest. */
    for (const char *p = end; p && p < text + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            char reason[160];
            snprintf(reason, sizeof(reason), "the body is not valid JSON: data after the value "
                     "at byte %zu", (size_t)(p - text));
            cJSON_Delete(j);
            api_reply(req, 400, API_INVALID, reason, NULL);
            return NULL;
        }
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        api_reply(req, 422, API_INVALID, "the body must be a JSON object", NULL);
        return NULL;
    }
    return j;
}

/*
 * Reads an optional string field: absent or null gives NULL; another type or a longer value
 * than `max` writes a message naming the field into err and returns -1.
 */
int api_opt_string(const cJSON *j, const char *field, size_t max, const char **out,
                          char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "%s: must be a string or null", field);
        return -1;
    }
    if (strlen(v->valuestring) > max) {
        snprintf(err, errlen, "%s: longer than %zu characters", field, max);
        return -1;
    }
    /* The database would refuse it with an error the sender could only retry forever. */
    if (!util_utf8_valid(v->valuestring, strlen(v->valuestring))) {
        snprintf(err, errlen, "%s: not valid UTF-8; accepted: UTF-8 text", field);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/*
 * Reads an integer field given as a JSON number or a decimal string, within [min, max].
 * Returns 0, 1 when absent (and not required), -1 after writing a message into err.
 */
int api_int_field(const cJSON *j, const char *field, int required, double min, double max,
                         int64_t *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
    double d;
    char *end;

    if (v == NULL || cJSON_IsNull(v)) {
        if (!required)
            return 1;
        snprintf(err, errlen, "%s: required", field);
        return -1;
    }
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring[0]) {
        d = strtod(v->valuestring, &end);
        if (*end != '\0') {
            snprintf(err, errlen, "%s: \"%.40s\" is not a whole number", field, v->valuestring);
            return -1;
        }
    } else {
        snprintf(err, errlen, "%s: must be a whole number", field);
        return -1;
    }
    if (d != floor(d) || d < min || d > max) {
        snprintf(err, errlen, "%s: %.17g is out of range; accepted: whole numbers %.0f..%.0f",
                 field, d, min, max);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* POST /v1/calls/events: one carrier event (DESIGN §5.3), answered once committed. */
static void api_call_event(struct api_call *call)
{
    cJSON *j = api_body_json(call->req);
    struct sched_event ev;
    char err[200] = "";
    int64_t v;
    const char *kind;

    if (j == NULL)
        return;
    memset(&ev, 0, sizeof(ev));
    if (api_int_field(j, "attempt_id", 1, 1, 9007199254740991.0, &ev.attempt_id, err, sizeof(err)) < 0 ||
        api_int_field(j, "seq", 1, 0, 2147483647.0, &v, err, sizeof(err)) < 0)
        goto bad;
    ev.seq = (int)v;
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "event");
        if (k && !cJSON_IsString(k) && !cJSON_IsNull(k)) {
            snprintf(err, sizeof(err), "event: must be a string; accepted: ringing, answered, "
                     "connected, ended");
            goto bad;
        }
        kind = cJSON_GetStringValue(k);
    }
    ev.kind = outcome_event_parse(kind);
    if (ev.kind == 0) {
        snprintf(err, sizeof(err), "event: \"%.40s\" is not an event; accepted: ringing, answered, "
                 "connected, ended", kind ? kind : "(missing)");
        goto bad;
    }
    if (api_int_field(j, "at", 0, 1, 9007199254740991.0, &ev.at_ms, err, sizeof(err)) < 0 ||
        api_opt_string(j, "session_id", 127, &ev.session_id, err, sizeof(err)) < 0 ||
        api_opt_string(j, "agent_id", 128, &ev.agent_id, err, sizeof(err)) < 0 ||
        api_opt_string(j, "end_status", 31, &ev.end_status, err, sizeof(err)) < 0 ||
        api_opt_string(j, "hangup_side", 31, &ev.hangup_side, err, sizeof(err)) < 0 ||
        api_opt_string(j, "keys", 63, &ev.keys, err, sizeof(err)) < 0)
        goto bad;
    if (ev.end_status && outcome_end_status(ev.end_status) == NULL)
        log_warn("api.end_status", "attempt=%" PRId64 " end_status=%s action=\"recorded as unknown\"",
                 ev.attempt_id, log_q(ev.end_status));
    sched_event(call->api->sched, &ev, api_pending_reply, api_defer(call->req));
    cJSON_Delete(j);
    return;
bad:
    cJSON_Delete(j);
    api_reply(call->req, 422, API_INVALID, err, NULL);
}

/* PUT /v1/agents/{id}/status: {"status": "free", "reason": ""}. */
static void api_agent_status(struct api_call *call)
{
    cJSON *j;
    const char *status = NULL, *reason = NULL;
    int64_t at_ms = 0;
    size_t idlen = 0;
    char err[200] = "", *id = evhttp_uridecode(call->args[0], 0, &idlen);

    /* A %00 would cut the id short and address another agent: refused with the rest. */
    if (id == NULL || idlen == 0 || idlen > 128 || strlen(id) != idlen ||
        !util_utf8_valid(id, idlen)) {
        free(id);
        api_reply(call->req, 422, API_INVALID, "agent id: 1 to 128 characters of UTF-8 "
                  "(no NUL)", NULL);
        return;
    }
    j = api_body_json(call->req);
    if (j == NULL) {
        free(id);
        return;
    }
    if (api_opt_string(j, "status", 16, &status, err, sizeof(err)) < 0 ||
        api_opt_string(j, "reason", 200, &reason, err, sizeof(err)) < 0 ||
        api_int_field(j, "at", 0, 1, 9007199254740991.0, &at_ms, err, sizeof(err)) < 0 ||
        status == NULL) {
        if (status == NULL && err[0] == '\0')
            snprintf(err, sizeof(err), "status: required; accepted: free, busy, arrange, notReady, rest, offline");
        api_reply(call->req, 422, API_INVALID, err, NULL);
    } else {
        sched_agent_status(call->api->sched, id, status, reason, at_ms, api_pending_reply,
                           api_defer(call->req));
    }
    cJSON_Delete(j);
    free(id);
}

static const struct api_route api_routes[] = {
    { EVHTTP_REQ_GET, "/healthz", api_healthz, API_AUTH_NONE },
    /* Read-outs without credentials: bind `listen` to a private address (docs/operations.md). */
    { EVHTTP_REQ_GET, "/metrics", api_metrics, API_AUTH_NONE },
    { EVHTTP_REQ_GET, "/", api_status_page, API_AUTH_NONE },
    { EVHTTP_REQ_POST, "/v1/calls/events", api_call_event, API_AUTH_SIGNED },
    { EVHTTP_REQ_PUT, "/v1/agents/{id}/status", api_agent_status, API_AUTH_BEARER },
    { EVHTTP_REQ_POST, "/v1/push/cdr", api_push_cdr, API_AUTH_SIGNED },
    { EVHTTP_REQ_POST, "/v1/push/ai", api_push_ai, API_AUTH_SIGNED },
    { EVHTTP_REQ_POST, "/v1/campaigns", api_campaign_create, API_AUTH_BEARER },
    { EVHTTP_REQ_GET, "/v1/campaigns", api_campaign_list, API_AUTH_BEARER },
    { EVHTTP_REQ_GET, "/v1/campaigns/{id}", api_campaign_get, API_AUTH_BEARER },
    { EVHTTP_REQ_PATCH, "/v1/campaigns/{id}", api_campaign_patch, API_AUTH_BEARER },
    { EVHTTP_REQ_DELETE, "/v1/campaigns/{id}", api_campaign_delete, API_AUTH_BEARER },
    { EVHTTP_REQ_POST, "/v1/campaigns/{id}/pause", api_campaign_pause, API_AUTH_BEARER },
    { EVHTTP_REQ_POST, "/v1/campaigns/{id}/resume", api_campaign_resume, API_AUTH_BEARER },
    { EVHTTP_REQ_POST, "/v1/campaigns/{id}/abort", api_campaign_abort, API_AUTH_BEARER },
    { EVHTTP_REQ_POST, "/v1/campaigns/{id}/callees", api_callees_import, API_AUTH_BEARER },
    { EVHTTP_REQ_GET, "/v1/campaigns/{id}/callees", api_callees_list, API_AUTH_BEARER },
    { EVHTTP_REQ_GET, "/v1/agents", api_agents_list, API_AUTH_BEARER },
};

#define N_ROUTES (sizeof(api_routes) / sizeof(api_routes[0]))

/*
 * Prints the route table, one "METHOD PATTERN AUTH" line per route (auth: none, bearer,
 * signed), for `dialerd --print-routes`: the test that docs/openapi.yaml matches what is served.
 */
void api_print_routes(FILE *fp)
{
    static const char *const auth_names[] = { "none", "bearer", "signed" };

    for (size_t i = 0; i < N_ROUTES; i++)
        fprintf(fp, "%s %s %s\n", api_method_name(api_routes[i].method), api_routes[i].pattern,
                auth_names[api_routes[i].auth]);
}

/*
 * Matches a path (no query string) against a route pattern segment by segment. `path` is a
 * writable copy that is split in place; placeholders point into it.
 */
static int api_match(const char *pattern, char *path, struct api_call *call)
{
    char pat[128], *psave = NULL, *ssave = NULL, *p, *s;

    snprintf(pat, sizeof(pat), "%s", pattern);
    call->nargs = 0;
    p = strtok_r(pat, "/", &psave);
    s = strtok_r(path, "/", &ssave);
    while (p && s) {
        if (p[0] == '{') {
            if (call->nargs >= API_MAX_ARGS)
                return 0;
            call->args[call->nargs++] = s;
        } else if (strcmp(p, s) != 0) {
            return 0;
        }
        p = strtok_r(NULL, "/", &psave);
        s = strtok_r(NULL, "/", &ssave);
    }
    return p == NULL && s == NULL;
}

/* HTTP status and envelope code for a refused authentication. */
static void api_auth_status(enum auth_result r, int *http_status, enum api_code *code)
{
    *http_status = 401;
    *code = API_AUTH;
    if (r == AUTH_STALE)
        *code = API_TIMESTAMP_EXPIRED;
    else if (r == AUTH_BUSY) {
        *http_status = 429;
        *code = API_TOO_MANY;
    }
}

/*
 * Runs what a route demands before its handler (DESIGN §5.2): the credentials of its auth
 * class, then the bound on requests pending at once. Returns 1 to go on; otherwise the
 * request has been answered. The clock is read here, never inside the auth module.
 */
static int api_admit(struct api *api, struct evhttp_request *req, const struct api_route *route,
                     const char *path)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    enum auth_result r = AUTH_OK;
    char why[200] = "";

    if (route->auth == API_AUTH_NONE)
        return 1;
    if (route->auth == API_AUTH_BEARER) {
        r = auth_check_bearer(api->auth, evhttp_find_header(in, "Authorization"), why, sizeof(why));
    } else {
        struct evbuffer *body = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(body);
        const unsigned char *bytes = len ? evbuffer_pullup(body, -1) : NULL;

        r = auth_check_signed(api->auth, evhttp_find_header(in, AUTH_TS_HEADER),
                              evhttp_find_header(in, AUTH_SIG_HEADER), bytes, len,
                              (int64_t)time(NULL), api->max_skew_s, why, sizeof(why));
    }
    if (r != AUTH_OK) {
        int http_status;
        enum api_code code;
        char *peer = NULL;
        ev_uint16_t port = 0;
        struct evhttp_connection *conn = evhttp_request_get_connection(req);

        if (conn)
            evhttp_connection_get_peer(conn, &peer, &port);
        /* The reason names headers and values the client sent, never a token or a secret. */
        log_info("api.auth_refused", "method=%s path=%s peer=%s reason=%s",
                 api_method_name(evhttp_request_get_command(req)), log_q(path),
                 log_q(peer ? peer : "?"), log_q(why));
        api_auth_status(r, &http_status, &code);
        if (route->auth == API_AUTH_BEARER && http_status == 401)
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"dialerd\"");
        if (http_status == 429)
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        api_reply(req, http_status, code, why, NULL);
        return 0;
    }
    if (api_n_pending >= api->max_pending) {
        char reason[160];

        snprintf(reason, sizeof(reason), "too many requests pending: %d are waiting for the "
                 "database (max_pending_requests = %d); retry later", api_n_pending,
                 api->max_pending);
        log_info("api.too_many", "method=%s path=%s pending=%d",
                 api_method_name(evhttp_request_get_command(req)), log_q(path), api_n_pending);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        api_reply(req, 429, API_TOO_MANY, reason, NULL);
        return 0;
    }
    return 1;
}

/* Every request lands here: find the route, check the method, call the handler. */
static void api_on_request(struct evhttp_request *req, void *arg)
{
    struct api *api = arg;
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct evhttp_uri *parsed = evhttp_uri_parse(uri);
    const char *rawpath = parsed ? evhttp_uri_get_path(parsed) : NULL;
    char path[512], allow[128] = "";
    int path_matched = 0;

    if (rawpath == NULL || strlen(rawpath) >= sizeof(path)) {
        api_reply(req, 400, API_INVALID, "the request URI cannot be parsed or is too long", NULL);
        goto out;
    }
    for (size_t i = 0; i < N_ROUTES; i++) {
        struct api_call call = { api, req, { NULL }, 0 };

        snprintf(path, sizeof(path), "%s", rawpath);
        if (!api_match(api_routes[i].pattern, path, &call))
            continue;
        path_matched = 1;
        if (api_routes[i].method == method ||
            (method == EVHTTP_REQ_HEAD && api_routes[i].method == EVHTTP_REQ_GET)) {
            log_debug("api.request", "method=%s path=%s", api_method_name(method), log_q(rawpath));
            if (api_admit(api, req, &api_routes[i], rawpath))
                api_routes[i].handler(&call);
            goto out;
        }
        size_t o = strlen(allow);
        snprintf(allow + o, sizeof(allow) - o, "%s%s", o ? ", " : "",
                 api_method_name(api_routes[i].method));
    }
    if (path_matched) {
        char reason[200];
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        snprintf(reason, sizeof(reason), "method %s is not allowed here; allowed: %s",
                 api_method_name(method), allow);
        api_reply(req, 405, API_INVALID, reason, NULL);
    } else {
        char reason[600];
        snprintf(reason, sizeof(reason), "no such route: %s %s", api_method_name(method), rawpath);
        api_reply(req, 404, API_INVALID, reason, NULL);
    }
out:
    if (parsed)
        evhttp_uri_free(parsed);
}

/* Binds the listen address and installs the request handler. */
struct api *api_setup(struct event_base *base, const struct config *cfg, struct db *db,
                      struct sched *sched, const struct api_info *info)
{
    struct api *api = util_xcalloc(1, sizeof(*api));
    struct evhttp_bound_socket *bound;
    char host[256];
    int port;

    api->base = base;
    api->db = db;
    api->sched = sched;
    api->info = info;
    api->started_ms = util_mono_ms();
    api->auth = auth_new((size_t)cfg->replay_cache_max);
    api->http = evhttp_new(base);
    if (api->http == NULL || config_split_hostport(cfg->listen, host, sizeof(host), &port) != 0) {
        log_error("api.setup", "listen=%s error=\"cannot create the HTTP server\"", log_q(cfg->listen));
        api_cleanup(api);
        return NULL;
    }
    evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(api->http, 30);
    /* Read (and drop) an oversized body before the 413, so that the client sees the answer
     * instead of a connection reset in the middle of its upload. */
    evhttp_set_flags(api->http, EVHTTP_SERVER_LINGERING_CLOSE);
    /* Headers are never legitimately large here; without a cap they are buffered whole. */
    evhttp_set_max_headers_size(api->http, 65536);
    api_reconfigure(api, cfg);
    evhttp_set_gencb(api->http, api_on_request, api);
    bound = evhttp_bind_socket_with_handle(api->http, host, (ev_uint16_t)port);
    if (bound == NULL) {
        log_error("api.listen", "listen=%s error=\"cannot bind the address: in use, or not an "
                  "address of this host\"", log_q(cfg->listen));
        api_cleanup(api);
        return NULL;
    }
    {
        struct sockaddr_storage ss;
        ev_socklen_t len = sizeof(ss);
        evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);
        api->port = port;
        if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
            if (ss.ss_family == AF_INET)
                api->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            else if (ss.ss_family == AF_INET6)
                api->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    log_info("api.listening", "host=%s port=%d", log_q(host), api->port);
    api_status_setup(api);
    return api;
}

/* Applies the reloadable limits. */
void api_reconfigure(struct api *api, const struct config *cfg)
{
    evhttp_set_max_body_size(api->http, (ev_ssize_t)cfg->max_body_bytes);
    /* Heartbeats run every db_heartbeat_ms; missing about three of them means trouble. */
    api->healthy_within_ms = 3 * (int64_t)cfg->db_heartbeat_ms + 1000;
    api->max_skew_s = cfg->event_max_skew_s;
    api->max_pending = cfg->max_pending_requests;
    {
        /* Counts only: the tokens and secrets themselves never reach a log. */
        int nt = auth_set_tokens(api->auth, cfg->api_tokens);
        int ns = auth_set_secrets(api->auth, cfg->event_secrets);

        log_info("api.auth", "api_tokens=%d event_secrets=%d event_max_skew_s=%d "
                 "max_pending_requests=%d", nt, ns, api->max_skew_s, api->max_pending);
        if (nt == 0)
            log_warn("api.auth", "api_tokens=0 action=\"every control request is refused (401)\"");
        if (ns == 0)
            log_warn("api.auth", "event_secrets=0 action=\"every event and push is refused (401)\"");
    }
}

/* Flags draining for /healthz. */
void api_set_draining(struct api *api, int draining)
{
    api->draining = draining;
}

/* Bound port. */
int api_port(const struct api *api)
{
    return api->port;
}

/* Frees the server. */
void api_cleanup(struct api *api)
{
    if (api == NULL)
        return;
    api_status_cleanup(api);
    if (api->http)
        evhttp_free(api->http);
    auth_free(api->auth);
    free(api);
}
