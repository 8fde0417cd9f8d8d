/* REST callees (DESIGN §5.2): batch import with a result per item, and listing by state. */
#include "api_rest.h"

#include "campaign_check.h"
#include "hmap.h"
#include "log.h"
#include "store.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * An import is checked item by item in C first: a bad item gets -27, a number given twice in
 * the batch -53, and neither stops the others. The good items go to PostgreSQL in one
 * statement, which skips numbers already in the campaign (-53) and unknown time zones (-27)
 * per item too. job->ctx holds the result array, in item order; job->n the items received.
 */

/* Adds a refusal to the results. */
static void api_callee_refuse(cJSON *results, int index, const char *number, enum api_code code,
                              const char *reason)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddNumberToObject(r, "index", index);
    if (number)
        cJSON_AddStringToObject(r, "number", number);
    else
        cJSON_AddNullToObject(r, "number");
    cJSON_AddNumberToObject(r, "status", code);
    cJSON_AddStringToObject(r, "reason", reason);
    cJSON_AddItemToArray(results, r);
}

/* The number an item carries, when it is a string, for the result line; else NULL. */
static const char *api_callee_number(const cJSON *item)
{
    const cJSON *n = cJSON_IsString(item) ? item : cJSON_GetObjectItemCaseSensitive(item, "number");

    if (n == NULL && cJSON_IsObject(item))
        n = cJSON_GetObjectItemCaseSensitive(item, "Callee");
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* Counts refusals and builds the reply from the completed results. */
static void api_callees_answer(struct api_job *job)
{
    cJSON *d = cJSON_CreateObject(), *r;
    int imported = 0;
    char reason[200];

    cJSON_ArrayForEach(r, job->ctx)
        imported += cJSON_GetObjectItemCaseSensitive(r, "status")->valueint == 0;
    cJSON_AddNumberToObject(d, "campaign_id", (double)job->id);
    cJSON_AddNumberToObject(d, "received", job->n);
    cJSON_AddNumberToObject(d, "imported", imported);
    cJSON_AddNumberToObject(d, "refused", job->n - imported);
    cJSON_AddItemToObject(d, "results", job->ctx);
    job->ctx = NULL;
    snprintf(reason, sizeof(reason), "imported %d of %d callees%s", imported, job->n,
             imported < job->n ? "; the others were refused (see data.results)" : "");
    log_info("api.callees_imported", "campaign=%" PRId64 " received=%d imported=%d", job->id, job->n,
             imported);
    api_job_reply(job, 200, API_OK, reason, d);
}

/* callees_import result: campaign status, then {i, id, zone_error} per item sent, in order. */
static void api_callees_imported(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;
    const char *status = db_result_value(res, 0, 0);
    cJSON *rows, *row, *r;
    char why[300];

    if (!db_result_ok(res)) {
        api_job_sql_error(job, res);
        return;
    }
    if (status == NULL) {
        snprintf(why, sizeof(why), "campaign %" PRId64 " does not exist", job->id);
        api_job_reply(job, 404, API_NO_CAMPAIGN, why, NULL);
        return;
    }
    if (atoi(status) > 2) {
        snprintf(why, sizeof(why), "campaign %" PRId64 " is %s: callees cannot be added to an ended "
                 "campaign; nothing was imported", job->id, campaign_check_status_label(atoi(status)));
        api_job_reply(job, 409, API_STATUS_FIXED, why, NULL);
        return;
    }
    rows = cJSON_Parse(db_result_value(res, 0, 1) ? db_result_value(res, 0, 1) : "");
    if (!cJSON_IsArray(rows)) {
        cJSON_Delete(rows);
        api_job_reply(job, 500, API_UNAVAILABLE, "the database returned no per-item results", NULL);
        return;
    }
    /* Both lists are in item order: walk them together. */
    r = job->ctx ? job->ctx->child : NULL;
    cJSON_ArrayForEach(row, rows) {
        int i = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "i"));
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");
        const char *zerr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "zone_error"));

        while (r && cJSON_GetObjectItemCaseSensitive(r, "index")->valueint < i)
            r = r->next;
        if (r == NULL || cJSON_GetObjectItemCaseSensitive(r, "index")->valueint != i)
            continue;
        if (cJSON_IsNumber(id)) {
            cJSON_ReplaceItemInObjectCaseSensitive(r, "status", cJSON_CreateNumber(API_OK));
            cJSON_AddNumberToObject(r, "id", id->valuedouble);
        } else if (zerr) {
            cJSON_ReplaceItemInObjectCaseSensitive(r, "status", cJSON_CreateNumber(API_INVALID));
            cJSON_AddStringToObject(r, "reason", zerr);
        } else {
            cJSON_ReplaceItemInObjectCaseSensitive(r, "status", cJSON_CreateNumber(API_CALLEE_EXISTS));
            snprintf(why, sizeof(why), "number: already in campaign %" PRId64, job->id);
            cJSON_AddStringToObject(r, "reason", why);
        }
    }
    cJSON_Delete(rows);
    api_callees_answer(job);
}

/*
 * POST /v1/campaigns/{id}/callees with {"callees": [item, ...]}: at most import_max_items
 * items (-56 / 413 past it, nothing imported). Answers 200 with a result per item.
 */
void api_callees_import(struct api_call *call)
{
    int64_t id;
    cJSON *body, *items, *item, *results, *batch;
    const cJSON *kv;
    struct hmap *seen;
    struct api_job *job;
    char err[600], idt[24], *text;
    const char *p[2];
    int n, i = 0;

    if (api_path_campaign_id(call, &id) != 0 || (body = api_body_json(call->req)) == NULL)
        return;
    cJSON_ArrayForEach(kv, body) {
        if (strcmp(kv->string, "callees") != 0) {
            snprintf(err, sizeof(err), "\"%.40s\": unknown field; the body is {\"callees\": [...]}",
                     kv->string);
            cJSON_Delete(body);
            api_reply(call->req, 422, API_INVALID, err, NULL);
            return;
        }
    }
    items = cJSON_GetObjectItemCaseSensitive(body, "callees");
    n = cJSON_GetArraySize(items);
    if (!cJSON_IsArray(items) || n == 0) {
        cJSON_Delete(body);
        api_reply(call->req, 422, API_INVALID, "callees: required, a non-empty array of "
                  "{\"number\", \"uui\", \"variables\", \"time_zone\"} (or seed {\"Callee\", \"UUI\", "
                  "\"Variables\"}, or number strings)", NULL);
        return;
    }
    if (n > call->api->import_max_items) {
        snprintf(err, sizeof(err), "callees: %d items; at most %d per request (import_max_items): "
                 "split the list, nothing was imported", n, call->api->import_max_items);
        cJSON_Delete(body);
        api_reply(call->req, 413, API_IMPORT_LIMIT, err, NULL);
        return;
    }
    results = cJSON_CreateArray();
    batch = cJSON_CreateArray();
    seen = hmap_new();
    cJSON_ArrayForEach(item, items) {
        cJSON *norm = NULL;
        const char *number;

        if (campaign_check_callee(item, &norm, err, sizeof(err)) != 0) {
            api_callee_refuse(results, i++, api_callee_number(item), API_INVALID, err);
            continue;
        }
        number = cJSON_GetObjectItemCaseSensitive(norm, "number")->valuestring;
        if (hmap_get(seen, number)) {
            snprintf(err, sizeof(err), "number: already given at index %d of this batch",
                     (int)(intptr_t)hmap_get(seen, number) - 1);
            api_callee_refuse(results, i++, number, API_CALLEE_EXISTS, err);
            cJSON_Delete(norm);
            continue;
        }
        hmap_put(seen, number, (void *)(intptr_t)(i + 1));
        {
            cJSON *r = cJSON_CreateObject();

            cJSON_AddNumberToObject(r, "index", i);
            cJSON_AddStringToObject(r, "number", number);
            /* A placeholder until the statement's answer fills in the outcome. */
            cJSON_AddNumberToObject(r, "status", API_UNAVAILABLE);
            cJSON_AddItemToArray(results, r);
        }
        cJSON_AddNumberToObject(norm, "i", i);
        cJSON_AddItemToArray(batch, norm);
        i++;
    }
    hmap_free(seen);
    cJSON_Delete(body);
    job = api_job_new(call, id);
    job->ctx = results;
    job->n = n;
    /* Even when every item was refused here the (empty) batch goes to the database: the
       answer must still say whether the campaign exists and takes callees. */
    text = cJSON_PrintUnformatted(batch);
    cJSON_Delete(batch);
    if (text == NULL) {
        api_job_reply(job, 500, API_UNAVAILABLE, "out of memory", NULL);
        return;
    }
    snprintf(idt, sizeof(idt), "%" PRId64, id);
    p[0] = idt;
    p[1] = text;
    api_job_exec(job, STORE_CALLEES_IMPORT, p, 2, api_callees_imported);
    free(text);
}

/* callees_list result: whether the campaign exists, then the page. */
static void api_callees_listed(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;
    char why[80];

    if (!db_result_ok(res)) {
        api_job_sql_error(job, res);
        return;
    }
    if (strcmp(db_result_value(res, 0, 0) ? db_result_value(res, 0, 0) : "f", "t") != 0) {
        snprintf(why, sizeof(why), "campaign %" PRId64 " does not exist", job->id);
        api_job_reply(job, 404, API_NO_CAMPAIGN, why, NULL);
        return;
    }
    api_job_reply_json(job, 200, "ok", db_result_value(res, 0, 1));
}

/* GET /v1/campaigns/{id}/callees?state=0,4&limit=&after=: a page in id (insertion) order. */
void api_callees_list(struct api_call *call)
{
    static const char *const allowed[] = { "state", "limit", "after", NULL };
    struct evkeyvalq q;
    char err[300] = "", states[96], idt[24], after[24], limit[16];
    int64_t id, v_after, v_limit;
    const char *p[4];

    if (api_path_campaign_id(call, &id) != 0 || api_query_parse(call, allowed, &q) != 0)
        return;
    if (api_query_int_list(&q, "state", 0, 4, states, sizeof(states), err, sizeof(err)) != 0 ||
        api_query_int(&q, "after", 0, INT64_MAX, 0, &v_after, err, sizeof(err)) != 0 ||
        api_query_int(&q, "limit", 1, API_PAGE_MAX, API_PAGE_DEFAULT, &v_limit, err, sizeof(err)) != 0) {
        evhttp_clear_headers(&q);
        api_reply(call->req, 422, API_INVALID, err, NULL);
        return;
    }
    evhttp_clear_headers(&q);
    snprintf(idt, sizeof(idt), "%" PRId64, id);
    snprintf(after, sizeof(after), "%" PRId64, v_after);
    snprintf(limit, sizeof(limit), "%" PRId64, v_limit);
    p[0] = idt;
    p[1] = states[0] ? states : NULL;
    p[2] = after;
    p[3] = limit;
    api_job_exec(api_job_new(call, id), STORE_CALLEES_LIST, p, 4, api_callees_listed);
}
