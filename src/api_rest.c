/* Helpers of the resource routes (campaigns, callees, agents): deferred database replies, query strings, ids. */
#include "api_rest.h"

#include "campaign_check.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies the reloadable limits of these routes into the api. */
void api_rest_reconfigure(struct api *api, const struct config *cfg)
{
    api->import_max_items = cfg->import_max_items;
}

/* A job bound to the request; the pending record watches for the client going away. */
struct api_job *api_job_new(struct api_call *call, int64_t id)
{
    struct api_job *job = util_xcalloc(1, sizeof(*job));

    job->pending = api_defer(call->req);
    job->api = call->api;
    job->id = id;
    return job;
}

/*
 * Sends the envelope unless the client is gone; frees data in every case, then the job. The
 * pending record is released through api_pending_reply(), marked answered, so that api.c's
 * bookkeeping of requests in flight (max_pending_requests) sees it end.
 */
void api_job_reply(struct api_job *job, int http_status, enum api_code code, const char *reason,
                   cJSON *data)
{
    struct api_pending *p = job->pending;

    if (p->dead) {
        cJSON_Delete(data);
    } else {
        if (p->conn)
            evhttp_connection_set_closecb(p->conn, NULL, NULL);
        api_reply(p->req, http_status, code, reason, data);
        p->dead = 1;
    }
    api_pending_reply(http_status, code, reason, p);
    cJSON_Delete(job->ctx);
    free(job);
}

/* Queues the statement; answers 503 at once when the database is away. */
int api_job_exec(struct api_job *job, int stmt, const char *const *params, int nparams, db_cb cb)
{
    if (db_exec(job->api->db, stmt, params, nparams, cb, job) == 0)
        return 0;
    api_job_reply(job, 503, API_UNAVAILABLE, "the database is unreachable; nothing was changed, retry",
                  NULL);
    return -1;
}

/* Maps the statement's error through campaign_check_sql_error(). */
void api_job_sql_error(struct api_job *job, const struct db_result *res)
{
    struct campaign_sql_error e;
    char reason[800];

    campaign_check_sql_error(db_result_sqlstate(res), db_result_error(res), &e, reason,
                             sizeof(reason));
    if (e.http_status >= 500)
        log_warn("api.db_error", "campaign=%lld sqlstate=%s error=%s", (long long)job->id,
                 log_q(db_result_sqlstate(res)), log_q(db_result_error(res)));
    api_job_reply(job, e.http_status, e.code, reason, NULL);
}

/* PostgreSQL made the JSON: it goes out as it is, without a parse and print round trip. */
void api_job_reply_json(struct api_job *job, int http_status, const char *reason, const char *json)
{
    cJSON *raw = json ? cJSON_CreateRaw(json) : NULL;

    if (raw == NULL) {
        api_job_reply(job, 500, API_UNAVAILABLE, "the database returned no data", NULL);
        return;
    }
    api_job_reply(job, http_status, API_OK, reason, raw);
}

/* {id} of /v1/campaigns/{id}/...: decoded, then checked as a bigint. */
int api_path_campaign_id(struct api_call *call, int64_t *id)
{
    char err[200], *text = call->nargs > 0 ? evhttp_uridecode(call->args[0], 0, NULL) : NULL;
    int r = campaign_check_id(text, id, err, sizeof(err));

    free(text);
    if (r != 0)
        api_reply(call->req, 422, API_INVALID, err, NULL);
    return r;
}

/* Query string: known parameters only, each once. */
int api_query_parse(struct api_call *call, const char *const *allowed, struct evkeyvalq *q)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(call->req);
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyval *kv, *other;
    char err[400];

    TAILQ_INIT(q);
    if (qs == NULL || qs[0] == '\0')
        return 0;
    if (evhttp_parse_query_str(qs, q) != 0) {
        evhttp_clear_headers(q);
        api_reply(call->req, 400, API_INVALID, "the query string cannot be parsed; use name=value "
                  "pairs separated by &", NULL);
        return -1;
    }
    TAILQ_FOREACH(kv, q, next) {
        int known = 0;
        size_t o = 0;

        for (const char *const *a = allowed; *a; a++)
            known |= strcmp(*a, kv->key) == 0;
        if (!known) {
            o = (size_t)snprintf(err, sizeof(err), "query parameter \"%.40s\" is not known here; accepted:",
                                 kv->key);
            for (const char *const *a = allowed; *a && o < sizeof(err); a++)
                o += (size_t)snprintf(err + o, sizeof(err) - o, "%s %s", a == allowed ? "" : ",", *a);
            goto bad;
        }
        for (other = TAILQ_NEXT(kv, next); other; other = TAILQ_NEXT(other, next)) {
            if (strcmp(other->key, kv->key) == 0) {
                snprintf(err, sizeof(err), "query parameter %s is given twice; give it once "
                         "(lists are comma-separated)", kv->key);
                goto bad;
            }
        }
    }
    return 0;
bad:
    evhttp_clear_headers(q);
    api_reply(call->req, 422, API_INVALID, err, NULL);
    return -1;
}

/* Whole number within [min, max] from text; 0 or -1. */
static int api_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0' || strlen(s) > 20)
        return -1;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* One integer parameter. */
int api_query_int(struct evkeyvalq *q, const char *name, int64_t min, int64_t max, int64_t dflt,
                  int64_t *out, char *err, size_t errlen)
{
    const char *v = evhttp_find_header(q, name);

    *out = dflt;
    if (v == NULL)
        return 0;
    if (api_parse_int(v, min, max, out) != 0) {
        snprintf(err, errlen, "%s: \"%.40s\" is not accepted; accepted: whole numbers %lld to %lld",
                 name, v, (long long)min, (long long)max);
        return -1;
    }
    return 0;
}

/* A comma-separated integer list as an array literal. */
int api_query_int_list(struct evkeyvalq *q, const char *name, int min, int max, char *out,
                       size_t outlen, char *err, size_t errlen)
{
    const char *v = evhttp_find_header(q, name), *p;
    size_t o = 0;
    int n = 0;

    out[0] = '\0';
    if (v == NULL)
        return 0;
    p = v;
    if (outlen < 4)
        return -1;
    out[o++] = '{';
    while (*p && n < 16) {
        char item[24];
        size_t len = strcspn(p, ",");
        int64_t x;

        snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : sizeof(item) - 1), p);
        if (len >= sizeof(item) || api_parse_int(item, min, max, &x) != 0)
            goto bad;
        o += (size_t)snprintf(out + o, outlen - o, "%s%lld", n ? "," : "", (long long)x);
        if (o + 2 >= outlen)
            goto bad;
        n++;
        p += len;
        if (*p == ',' && *++p == '\0')
            goto bad;
    }
    if (*p || n == 0)
        goto bad;
    out[o++] = '}';
    out[o] = '\0';
    return 0;
bad:
    out[0] = '\0';
    snprintf(err, errlen, "%s: \"%.40s\" is not accepted; accepted: whole numbers %d to %d, "
             "comma-separated (e.g. %s=%d,%d)", name, v, min, max, name, min, max);
    return -1;
}
