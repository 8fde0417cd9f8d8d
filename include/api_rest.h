/* Helpers of the resource routes (campaigns, callees, agents): deferred database replies, query strings, ids. */
#ifndef DIALERD_API_REST_H
#define DIALERD_API_REST_H

/* TAILQ_* for walking query parameters; before libevent's headers, which then reuse it. */
#include <sys/queue.h>

#include "api_int.h"
#include "db.h"

#include <cjson/cJSON.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>

/* Default and largest page of the list routes. */
#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX 1000

/*
 * A request waiting for one statement. The job owns its api_pending record and `ctx`; both are
 * freed by api_job_reply() (or api_job_sql_error()), which every path through a handler and
 * its callback calls exactly once. If the client went away meanwhile, the reply is dropped.
 */
struct api_job {
    struct api_pending *pending;
    struct api *api;
    int64_t id;                   /* the campaign of the route, 0 when none */
    cJSON *ctx;                   /* the handler's own data (e.g. import results); owned */
    int n;                        /* the handler's own count (e.g. items) */
};

/* Starts a job for the request; never NULL. */
struct api_job *api_job_new(struct api_call *call, int64_t id);
/*
 * Runs prepared statement `stmt` for the job; `cb` gets the job as its argument. When no
 * database connection is up, answers 503 at once, frees the job and returns -1.
 */
int api_job_exec(struct api_job *job, int stmt, const char *const *params, int nparams, db_cb cb);
/* Answers the job's request (takes ownership of `data`) and frees the job. */
void api_job_reply(struct api_job *job, int http_status, enum api_code code, const char *reason,
                   cJSON *data);
/* Answers a failed statement with the mapped status and code, and frees the job. */
void api_job_sql_error(struct api_job *job, const struct db_result *res);
/* Answers with `json` (JSON text made by PostgreSQL) as data verbatim; NULL json is 500. */
void api_job_reply_json(struct api_job *job, int http_status, const char *reason, const char *json);

/*
 * Parses the {id} of the route as a campaign id. On failure answers 422 naming the value and
 * returns -1.
 */
int api_path_campaign_id(struct api_call *call, int64_t *id);

/*
 * Parses the query string into q (initialised here; free with evhttp_clear_headers) and checks
 * that every parameter is one of `allowed` (NULL-terminated) and given once. On failure answers
 * 422 and returns -1 (q is then already cleared).
 */
int api_query_parse(struct api_call *call, const char *const *allowed, struct evkeyvalq *q);
/*
 * Reads integer parameter `name` within [min, max]; absent gives `dflt`. Returns 0, or -1 after
 * writing a message naming the parameter into err.
 */
int api_query_int(struct evkeyvalq *q, const char *name, int64_t min, int64_t max, int64_t dflt,
                  int64_t *out, char *err, size_t errlen);
/*
 * Reads a comma-separated list of integers in [min, max] into a PostgreSQL array literal
 * "{0,2}" (at most 16 items); absent leaves out[0] = '\0'. Returns 0 or -1 with err.
 */
int api_query_int_list(struct evkeyvalq *q, const char *name, int min, int max, char *out,
                       size_t outlen, char *err, size_t errlen);

#endif
