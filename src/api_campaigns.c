/* REST campaigns (DESIGN §5.2): create, list, read with progress, patch, delete, pause / resume / abort. */
#include "api_rest.h"

#include "campaign_check.h"
#include "log.h"
#include "store.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every handler checks what it can in C (campaign_check) and hands the rest to one prepared
 * statement; the database's constraints and triggers stay the final word, and their errors are
 * mapped to REST codes by campaign_check_sql_error(). Changes reach the scheduler through the
 * campaigns NOTIFY trigger, as a manager's SQL would.
 */

/* Formats an id for a statement parameter. */
static const char *api_campaign_idtext(char *buf, size_t len, int64_t id)
{
    snprintf(buf, len, "%" PRId64, id);
    return buf;
}

/* campaign_create result: id, campaign JSON. */
static void api_campaign_created(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;
    char reason[64];

    if (!db_result_ok(res) || db_result_rows(res) != 1) {
        api_job_sql_error(job, res);
        return;
    }
    log_info("api.campaign_created", "campaign=%s", db_result_value(res, 0, 0));
    snprintf(reason, sizeof(reason), "campaign %s created", db_result_value(res, 0, 0));
    api_job_reply_json(job, 201, reason, db_result_value(res, 0, 1));
}

/* POST /v1/campaigns: the body uses the column names of §5.1; answers 201 with the row. */
void api_campaign_create(struct api_call *call)
{
    cJSON *body = api_body_json(call->req), *norm = NULL;
    char err[1500], *text;
    const char *p[1];
    struct api_job *job;

    if (body == NULL)
        return;
    if (campaign_check_create(body, &norm, err, sizeof(err)) != 0) {
        cJSON_Delete(body);
        api_reply(call->req, 422, API_INVALID, err, NULL);
        return;
    }
    cJSON_Delete(body);
    text = cJSON_PrintUnformatted(norm);
    cJSON_Delete(norm);
    if (text == NULL) {
        api_reply(call->req, 500, API_UNAVAILABLE, "out of memory", NULL);
        return;
    }
    p[0] = text;
    job = api_job_new(call, 0);
    api_job_exec(job, STORE_CAMPAIGN_CREATE, p, 1, api_campaign_created);
    free(text);
}

/* campaign_list result: one page. */
static void api_campaign_listed(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;

    if (!db_result_ok(res)) {
        api_job_sql_error(job, res);
        return;
    }
    api_job_reply_json(job, 200, "ok", db_result_value(res, 0, 0));
}

/* GET /v1/campaigns?status=0,1&skill_group_id=&name=&limit=&after=: a page in id order. */
void api_campaign_list(struct api_call *call)
{
    static const char *const allowed[] = { "status", "skill_group_id", "name", "limit", "after", NULL };
    struct evkeyvalq q;
    char err[300] = "", statuses[96], sg[24], after[24], limit[16];
    int64_t v_sg, v_after, v_limit;
    const char *name, *p[5];
    struct api_job *job;

    if (api_query_parse(call, allowed, &q) != 0)
        return;
    name = evhttp_find_header(&q, "name");
    if (api_query_int_list(&q, "status", 0, 4, statuses, sizeof(statuses), err, sizeof(err)) != 0 ||
        api_query_int(&q, "skill_group_id", 1, INT64_MAX, 0, &v_sg, err, sizeof(err)) != 0 ||
        api_query_int(&q, "after", 0, INT64_MAX, 0, &v_after, err, sizeof(err)) != 0 ||
        api_query_int(&q, "limit", 1, API_PAGE_MAX, API_PAGE_DEFAULT, &v_limit, err, sizeof(err)) != 0 ||
        (name && (name[0] == '\0' || strlen(name) > 256))) {
        if (err[0] == '\0')
            snprintf(err, sizeof(err), "name: 1 to 256 characters (matches a part of the name, "
                     "ignoring case)");
        evhttp_clear_headers(&q);
        api_reply(call->req, 422, API_INVALID, err, NULL);
        return;
    }
    snprintf(sg, sizeof(sg), "%" PRId64, v_sg);
    snprintf(after, sizeof(after), "%" PRId64, v_after);
    snprintf(limit, sizeof(limit), "%" PRId64, v_limit);
    p[0] = statuses[0] ? statuses : NULL;
    p[1] = v_sg ? sg : NULL;
    p[2] = name;
    p[3] = after;
    p[4] = limit;
    job = api_job_new(call, 0);
    api_job_exec(job, STORE_CAMPAIGN_LIST, p, 5, api_campaign_listed);
    evhttp_clear_headers(&q);
}

/* campaign_get result: the campaign with its progress, or nothing. */
static void api_campaign_got(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;
    char reason[80];

    if (!db_result_ok(res)) {
        api_job_sql_error(job, res);
        return;
    }
    if (db_result_rows(res) == 0) {
        snprintf(reason, sizeof(reason), "campaign %" PRId64 " does not exist", job->id);
        api_job_reply(job, 404, API_NO_CAMPAIGN, reason, NULL);
        return;
    }
    api_job_reply_json(job, 200, "ok", db_result_value(res, 0, 0));
}

/* Runs a statement whose one parameter is the route's campaign id, answered by `done`. */
static void api_campaign_by_id(struct api_call *call, enum store_stmt stmt, db_cb done)
{
    int64_t id;
    char idt[24];
    const char *p[1];

    if (api_path_campaign_id(call, &id) != 0)
        return;
    p[0] = api_campaign_idtext(idt, sizeof(idt), id);
    api_job_exec(api_job_new(call, id), stmt, p, 1, done);
}

/* GET /v1/campaigns/{id}: every column plus progress from dialer.campaign_progress. */
void api_campaign_get(struct api_call *call)
{
    api_campaign_by_id(call, STORE_CAMPAIGN_GET, api_campaign_got);
}

/* campaign_patch result: the status it had, and the row when the update happened. */
static void api_campaign_patched(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;
    const char *status, *row;
    char why[600];

    if (!db_result_ok(res)) {
        api_job_sql_error(job, res);
        return;
    }
    status = db_result_value(res, 0, 0);
    row = db_result_value(res, 0, 1);
    if (status == NULL) {
        snprintf(why, sizeof(why), "campaign %" PRId64 " does not exist", job->id);
        api_job_reply(job, 404, API_NO_CAMPAIGN, why, NULL);
        return;
    }
    if (row == NULL) {
        if (!campaign_check_patch_refusal(job->ctx, atoi(status), job->id, why, sizeof(why)))
            snprintf(why, sizeof(why), "campaign %" PRId64 " changed status while it was being "
                     "updated; read it again and retry", job->id);
        api_job_reply(job, 409, API_STATUS_FIXED, why, NULL);
        return;
    }
    log_info("api.campaign_patched", "campaign=%" PRId64, job->id);
    api_job_reply_json(job, 200, "updated", row);
}

/* PATCH /v1/campaigns/{id}: changes only the given columns, as far as the status allows. */
void api_campaign_patch(struct api_call *call)
{
    int64_t id;
    cJSON *body, *norm = NULL;
    unsigned mask;
    char err[1500], idt[24], statuses[16], *text;
    const char *p[3];
    struct api_job *job;
    size_t o = 0;
    int r;

    if (api_path_campaign_id(call, &id) != 0 || (body = api_body_json(call->req)) == NULL)
        return;
    r = campaign_check_patch(body, &norm, &mask, err, sizeof(err));
    if (r != 0) {
        cJSON_Delete(body);
        if (r == -2)
            api_reply(call->req, 409, API_STATUS_FIXED, err, NULL);
        else
            api_reply(call->req, 422, API_INVALID, err, NULL);
        return;
    }
    cJSON_Delete(body);
    /* The statuses that allow every named field; the UPDATE runs only in one of them. */
    statuses[o++] = '{';
    for (int s = 0; s <= 4; s++)
        if (mask & CAMPAIGN_STATUS_BIT(s))
            o += (size_t)snprintf(statuses + o, sizeof(statuses) - o, "%s%d", o > 1 ? "," : "", s);
    snprintf(statuses + o, sizeof(statuses) - o, "}");
    text = cJSON_PrintUnformatted(norm);
    if (text == NULL) {
        cJSON_Delete(norm);
        api_reply(call->req, 500, API_UNAVAILABLE, "out of memory", NULL);
        return;
    }
    p[0] = api_campaign_idtext(idt, sizeof(idt), id);
    p[1] = text;
    p[2] = statuses;
    job = api_job_new(call, id);
    job->ctx = norm;
    api_job_exec(job, STORE_CAMPAIGN_PATCH, p, 3, api_campaign_patched);
    free(text);
}

/* campaign_delete result: status, calls in flight, rows deleted. */
static void api_campaign_deleted(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;
    char why[300];
    cJSON *d;

    if (!db_result_ok(res)) {
        api_job_sql_error(job, res);
        return;
    }
    if (db_result_rows(res) == 0) {
        snprintf(why, sizeof(why), "campaign %" PRId64 " does not exist", job->id);
        api_job_reply(job, 404, API_NO_CAMPAIGN, why, NULL);
        return;
    }
    if (db_result_int(res, 0, 2, 0) != 1) {
        snprintf(why, sizeof(why), "campaign %" PRId64 " cannot be deleted: %lld of its calls are "
                 "in flight (callees in state 3); they would lose their attempt rows. Wait until "
                 "they end (it is %s), then delete it", job->id, db_result_int(res, 0, 1, 0),
                 campaign_check_status_label((int)db_result_int(res, 0, 0, -1)));
        api_job_reply(job, 409, API_CANNOT_DELETE, why, NULL);
        return;
    }
    log_info("api.campaign_deleted", "campaign=%" PRId64, job->id);
    d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "id", (double)job->id);
    snprintf(why, sizeof(why), "campaign %" PRId64 " deleted with its callees and attempts", job->id);
    api_job_reply(job, 200, API_OK, why, d);
}

/* DELETE /v1/campaigns/{id}: refused while it runs (-44) or has calls in flight. */
void api_campaign_delete(struct api_call *call)
{
    api_campaign_by_id(call, STORE_CAMPAIGN_DELETE, api_campaign_deleted);
}

/* pause / resume / abort result: the new status. */
static void api_campaign_controlled(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;
    char reason[120];
    cJSON *d;
    int status;

    if (!db_result_ok(res) || db_result_rows(res) != 1) {
        api_job_sql_error(job, res);
        return;
    }
    status = (int)db_result_int(res, 0, 0, -1);
    log_info("api.campaign_status", "campaign=%" PRId64 " status=%d", job->id, status);
    d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "id", (double)job->id);
    cJSON_AddNumberToObject(d, "status", status);
    snprintf(reason, sizeof(reason), "campaign %" PRId64 " is now %s", job->id,
             campaign_check_status_label(status));
    api_job_reply(job, 200, API_OK, reason, d);
}

/* POST /v1/campaigns/{id}/pause: dialer.campaign_pause; -38 unless running. */
void api_campaign_pause(struct api_call *call)
{
    api_campaign_by_id(call, STORE_CAMPAIGN_PAUSE, api_campaign_controlled);
}

/* POST /v1/campaigns/{id}/resume: dialer.campaign_resume; -39 unless paused. */
void api_campaign_resume(struct api_call *call)
{
    api_campaign_by_id(call, STORE_CAMPAIGN_RESUME, api_campaign_controlled);
}

/* POST /v1/campaigns/{id}/abort: dialer.campaign_abort; -54 once ended. */
void api_campaign_abort(struct api_call *call)
{
    api_campaign_by_id(call, STORE_CAMPAIGN_ABORT, api_campaign_controlled);
}
