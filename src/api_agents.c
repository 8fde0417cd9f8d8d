/* REST agents (DESIGN §5.2): the agent list with status and skill groups, filtered by skill group or status. */
#include "api_rest.h"

#include "store.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The agent status vocabulary of §4 (dialer.agents' check constraint). */
static const char *const api_agent_statuses[] = { "free", "busy", "arrange", "notReady", "rest",
                                                  "offline" };

/*
 * Turns "free,busy" into the array literal {"free","busy"} after checking every name against
 * the vocabulary; returns 0, or -1 with a message in err.
 */
static int api_agents_status_list(const char *v, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t o = 0;
    const char *p = v;

    out[o++] = '{';
    while (*p) {
        size_t len = strcspn(p, ",");
        int known = 0;

        for (size_t i = 0; i < sizeof(api_agent_statuses) / sizeof(api_agent_statuses[0]); i++)
            known |= strlen(api_agent_statuses[i]) == len && strncmp(api_agent_statuses[i], p, len) == 0;
        if (!known || o + len + 4 >= outlen) {
            snprintf(err, errlen, "status: \"%.*s\" is not an agent status; accepted: free, busy, "
                     "arrange, notReady, rest, offline (comma-separated)", (int)(len > 40 ? 40 : len), p);
            return -1;
        }
        o += (size_t)snprintf(out + o, outlen - o, "%s\"%.*s\"", o > 1 ? "," : "", (int)len, p);
        p += len;
        if (*p == ',' && *++p == '\0')
            break;
    }
    if (o == 1 || p[-1] == ',') {
        snprintf(err, errlen, "status: empty; accepted: free, busy, arrange, notReady, rest, offline "
                 "(comma-separated)");
        return -1;
    }
    snprintf(out + o, outlen - o, "}");
    return 0;
}

/* agents_list result: one page. */
static void api_agents_listed(const struct db_result *res, void *arg)
{
    struct api_job *job = arg;

    if (!db_result_ok(res)) {
        api_job_sql_error(job, res);
        return;
    }
    api_job_reply_json(job, 200, "ok", db_result_value(res, 0, 0));
}

/* GET /v1/agents?skill_group_id=&status=free,busy&limit=&after=: a page in id order. */
void api_agents_list(struct api_call *call)
{
    static const char *const allowed[] = { "skill_group_id", "status", "limit", "after", NULL };
    struct evkeyvalq q;
    char err[300] = "", sg[24], limit[16], statuses[128];
    int64_t v_sg, v_limit;
    const char *status, *after, *p[4];

    if (api_query_parse(call, allowed, &q) != 0)
        return;
    status = evhttp_find_header(&q, "status");
    after = evhttp_find_header(&q, "after");
    statuses[0] = '\0';
    if (api_query_int(&q, "skill_group_id", 1, INT64_MAX, 0, &v_sg, err, sizeof(err)) != 0 ||
        api_query_int(&q, "limit", 1, API_PAGE_MAX, API_PAGE_DEFAULT, &v_limit, err, sizeof(err)) != 0 ||
        (status && api_agents_status_list(status, statuses, sizeof(statuses), err, sizeof(err)) != 0) ||
        (after && (after[0] == '\0' || strlen(after) > 128))) {
        if (err[0] == '\0')
            snprintf(err, sizeof(err), "after: an agent id, 1 to 128 characters (the last id of "
                     "the previous page)");
        evhttp_clear_headers(&q);
        api_reply(call->req, 422, API_INVALID, err, NULL);
        return;
    }
    snprintf(sg, sizeof(sg), "%" PRId64, v_sg);
    snprintf(limit, sizeof(limit), "%" PRId64, v_limit);
    p[0] = v_sg ? sg : NULL;
    p[1] = statuses[0] ? statuses : NULL;
    p[2] = after;
    p[3] = limit;
    api_job_exec(api_job_new(call, 0), STORE_AGENTS_LIST, p, 4, api_agents_listed);
    evhttp_clear_headers(&q);
}
