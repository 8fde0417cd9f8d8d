/* Carrier client: POST {carrier_url}/calls per DESIGN §5.3, over httpc on the loop. */
#include "carrier.h"

#include "httpc.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct carrier {
    struct httpc *http;
    char *calls_url;
    char *callback_url;
    int timeout_ms;
};

struct carrier_req {
    carrier_cb cb;
    void *arg;
    int64_t attempt_id;
};

static const char *const carrier_result_names[] = { "placed", "not_placed", "rejected", "uncertain" };

/* Names a result. */
const char *carrier_result_name(enum carrier_result r)
{
    return (unsigned)r < 4 ? carrier_result_names[r] : "?";
}

/* Creates the client. */
struct carrier *carrier_new(struct event_base *base, const char *url, const char *callback_url,
                            int timeout_ms, int max_conns)
{
    struct carrier *c = util_xcalloc(1, sizeof(*c));
    size_t n = strlen(url);

    c->http = httpc_new(base, max_conns);
    c->calls_url = util_xcalloc(1, n + 8);
    /* A trailing slash on the base URL must not produce "//calls". */
    snprintf(c->calls_url, n + 8, "%.*s/calls", (int)(n && url[n - 1] == '/' ? n - 1 : n), url);
    c->callback_url = util_xstrdup(callback_url);
    c->timeout_ms = timeout_ms;
    return c;
}

/* Frees the client. */
void carrier_free(struct carrier *c)
{
    if (c == NULL)
        return;
    httpc_free(c->http);
    free(c->calls_url);
    free(c->callback_url);
    free(c);
}

/* The carrier error series a reply counts under, or -1 (a placed call, or shutting down). */
int carrier_error_metric(enum carrier_result r, const struct httpc_response *res)
{
    if (r == CARRIER_PLACED || (res->status == 0 && strcmp(res->error, "shutting down") == 0))
        return -1;
    if (r == CARRIER_NOT_PLACED)
        return M_CARRIER_REFUSED;
    if (r == CARRIER_REJECTED)
        return M_CARRIER_4XX;
    /* A slow carrier and one that drops connections call for different fixes. */
    if (res->status == 0)
        return res->timed_out ? M_CARRIER_TIMEOUT : M_CARRIER_CUT;
    return res->status >= 500 ? M_CARRIER_5XX : M_CARRIER_BAD_REPLY;
}

/* Sorts a carrier reply into one of the four results. */
static void carrier_on_reply(const struct httpc_response *res, void *arg)
{
    struct carrier_req *rq = arg;
    enum carrier_result r;
    int m;
    const char *session = NULL;
    char detail[300];
    cJSON *body = NULL;

    if (res->status == 0) {
        r = res->not_sent ? CARRIER_NOT_PLACED : CARRIER_UNCERTAIN;
        snprintf(detail, sizeof(detail), "%s", res->error);
    } else if (res->status >= 200 && res->status < 300) {
        body = cJSON_ParseWithLength(res->body, res->body_len);
        session = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "session_id"));
        if (session && *session && strlen(session) < 128) {
            r = CARRIER_PLACED;
            detail[0] = '\0';
        } else {
            /* It may have dialled: only a retry with the same key can tell. */
            r = CARRIER_UNCERTAIN;
            snprintf(detail, sizeof(detail), "HTTP %d without a usable session_id", res->status);
            session = NULL;
        }
    } else if (res->status == 429 || res->status == 503) {
        r = CARRIER_NOT_PLACED;
        snprintf(detail, sizeof(detail), "HTTP %d back-pressure", res->status);
    } else if (res->status >= 400 && res->status < 500) {
        r = CARRIER_REJECTED;
        snprintf(detail, sizeof(detail), "HTTP %d: %.200s", res->status, res->body);
    } else {
        r = CARRIER_UNCERTAIN;
        snprintf(detail, sizeof(detail), "HTTP %d: %.200s", res->status, res->body);
    }
    m = carrier_error_metric(r, res);
    if (m >= 0)
        metrics_inc((enum metric_id)m);
    if (rq->cb)
        rq->cb(r, session, res->status, detail, rq->arg);
    cJSON_Delete(body);
    free(rq);
}

/* Builds the variables object: the campaign's, overridden key by key by the callee's. */
static cJSON *carrier_variables(const char *campaign, const char *callee)
{
    cJSON *out = campaign ? cJSON_Parse(campaign) : NULL, *mine;

    if (!cJSON_IsObject(out)) {
        cJSON_Delete(out);
        out = cJSON_CreateObject();
    }
    mine = callee ? cJSON_Parse(callee) : NULL;
    if (cJSON_IsObject(mine)) {
        cJSON *it;
        cJSON_ArrayForEach(it, mine) {
            cJSON_DeleteItemFromObjectCaseSensitive(out, it->string);
            cJSON_AddItemToObject(out, it->string, cJSON_Duplicate(it, 1));
        }
    }
    cJSON_Delete(mine);
    return out;
}

/* Sends one dial. */
int carrier_dial(struct carrier *c, const struct carrier_dial *d, carrier_cb cb, void *arg)
{
    cJSON *b = cJSON_CreateObject();
    struct carrier_req *rq;
    char key[64], *text;
    const char *headers[2];
    int rc;

    cJSON_AddNumberToObject(b, "attempt_id", (double)d->attempt_id);
    cJSON_AddNumberToObject(b, "campaign_id", (double)d->campaign_id);
    cJSON_AddStringToObject(b, "callee", d->callee);
    cJSON_AddStringToObject(b, "caller", d->caller);
    if (d->skill_group_id > 0)
        cJSON_AddNumberToObject(b, "skill_group_id", (double)d->skill_group_id);
    else
        cJSON_AddNullToObject(b, "skill_group_id");
    cJSON_AddNumberToObject(b, "ring_timeout_s", d->ring_timeout_s);
    if (d->uui)
        cJSON_AddStringToObject(b, "uui", d->uui);
    else
        cJSON_AddNullToObject(b, "uui");
    cJSON_AddItemToObject(b, "variables", carrier_variables(d->campaign_variables, d->callee_variables));
    cJSON_AddStringToObject(b, "callback_url", c->callback_url);
    text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    if (text == NULL)
        return -1;
    snprintf(key, sizeof(key), "Idempotency-Key: %" PRId64, d->attempt_id);
    headers[0] = key;
    headers[1] = NULL;
    rq = util_xcalloc(1, sizeof(*rq));
    rq->cb = cb;
    rq->arg = arg;
    rq->attempt_id = d->attempt_id;
    rc = httpc_request(c->http, "POST", c->calls_url, text, headers, c->timeout_ms,
                       carrier_on_reply, rq);
    free(text);
    if (rc != 0)
        free(rq);
    return rc;
}

/* Dials in flight. */
int carrier_pending(const struct carrier *c)
{
    return httpc_pending(c->http);
}
