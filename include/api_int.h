/* Shared by the HTTP route modules: the request context, the envelope and body helpers. */
#ifndef DIALERD_API_INT_H
#define DIALERD_API_INT_H

#include "api.h"

#include <cjson/cJSON.h>
#include <event2/http.h>
#include <stddef.h>
#include <stdint.h>

#define API_MAX_ARGS 4

struct auth;

struct api {
    struct event_base *base;
    struct evhttp *http;
    struct db *db;
    struct sched *sched;
    const struct api_info *info;
    int port;
    int draining;
    int64_t healthy_within_ms;    /* a round trip older than this means "down" */
    int64_t started_ms;
    struct auth *auth;            /* tokens, secrets, replay cache (auth.h) */
    int max_skew_s;               /* event_max_skew_s */
    int max_pending;              /* max_pending_requests */
    int import_max_items;         /* most callees one POST .../callees takes (api_rest.c) */
};

/* What a handler gets: the request, the api, and the {placeholders} of its route. */
struct api_call {
    struct api *api;
    struct evhttp_request *req;
    const char *args[API_MAX_ARGS];
    int nargs;
};

typedef void (*api_handler)(struct api_call *call);

/* What a route demands before its handler runs (DESIGN §5.2). */
enum api_auth {
    API_AUTH_NONE,                /* /healthz, /metrics, the status page */
    API_AUTH_BEARER,              /* control routes: Authorization: Bearer <token> */
    API_AUTH_SIGNED               /* event and push routes: HMAC-SHA256 of timestamp + body */
};

struct api_route {
    enum evhttp_cmd_type method;
    const char *pattern;          /* "/v1/campaigns/{id}/pause": {x} matches one segment */
    api_handler handler;
    enum api_auth auth;
};

/*
 * A request whose answer waits for a commit. If the client goes away first, evhttp frees the
 * request and calls the connection's close callback, which marks this record dead so that the
 * late answer is dropped instead of written to freed memory.
 */
struct api_pending {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    int dead;
};

/*
 * Sends the envelope {"status", "reason", "data"} with an HTTP status. Takes ownership of
 * `data` (a cJSON tree or NULL) and frees it.
 */
void api_reply(struct evhttp_request *req, int http_status, enum api_code code,
               const char *reason, cJSON *data);
/* Starts waiting for a commit; the record is freed by api_pending_reply(). */
struct api_pending *api_defer(struct evhttp_request *req);
/* Answers a deferred request (shaped as a scheduler reply callback) and frees the record. */
void api_pending_reply(int http_status, int code, const char *reason, void *arg);
/*
 * Parses the request body as a JSON object. On failure replies (400 / 422) and returns NULL.
 * The caller owns the returned tree and frees it with cJSON_Delete().
 */
cJSON *api_body_json(struct evhttp_request *req);
/*
 * Reads an optional string field: absent or null gives NULL; another type or a longer value
 * than `max` writes a message naming the field into err and returns -1. *out points into j.
 */
int api_opt_string(const cJSON *j, const char *field, size_t max, const char **out,
                   char *err, size_t errlen);
/*
 * Reads an integer field given as a JSON number or a decimal string, within [min, max].
 * Returns 0, 1 when absent (and not required), -1 after writing a message into err.
 */
int api_int_field(const cJSON *j, const char *field, int required, double min, double max,
                  int64_t *out, char *err, size_t errlen);

/* Resource routes (DESIGN §5.2): src/api_campaigns.c, src/api_callees.c, src/api_agents.c. */
void api_campaign_create(struct api_call *call);
void api_campaign_list(struct api_call *call);
void api_campaign_get(struct api_call *call);
void api_campaign_patch(struct api_call *call);
void api_campaign_delete(struct api_call *call);
void api_campaign_pause(struct api_call *call);
void api_campaign_resume(struct api_call *call);
void api_campaign_abort(struct api_call *call);
void api_callees_import(struct api_call *call);
void api_callees_list(struct api_call *call);
void api_agents_list(struct api_call *call);

/* Unauthenticated read-outs: src/api_status.c. */
void api_metrics(struct api_call *call);            /* GET /metrics */
void api_status_page(struct api_call *call);        /* GET /: the live status page */
/* Registers / unregisters the api's /metrics collector (db pool, scheduler, pools). */
void api_status_setup(struct api *api);
void api_status_cleanup(struct api *api);

/* Push routes (DESIGN §5.2): src/api_push.c. */
void api_push_cdr(struct api_call *call);
void api_push_ai(struct api_call *call);

#endif
