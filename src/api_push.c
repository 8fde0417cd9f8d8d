/* POST /v1/push/cdr and /v1/push/ai: vendor call-record pushes replayed as carrier events. */
#include "api_int.h"

#include "db.h"
#include "log.h"
#include "push.h"
#include "scheduler.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/*
 * Push events carry a seq above any carrier's (which count from 1 per call) and below the
 * reconciler's (1 << 30), so a push never looks older than the events it summarises.
 */
#define API_PUSH_SEQ (1 << 29)

/*
 * The attempt a CDR is about when its Uui holds no id: the one the carrier's session id was
 * returned for (schema index attempts_session_idx). Newest first should a carrier ever reuse
 * a session id. Bound parameter only.
 *
 * The statement belongs in store.c with the others; it is here because store.c was being
 * changed by another hand at the same time. Moving it is mechanical (one STORE_ entry).
 */
#define API_PUSH_BY_SESSION_SQL \
    "SELECT id FROM dialer.attempts WHERE session_id = $1 ORDER BY id DESC LIMIT 1"

/* One push being applied: its events go to the scheduler one at a time, in order. */
struct api_push_run {
    struct sched *sched;
    struct api_pending *pending;  /* the HTTP request, answered after the last commit */
    struct push_outcome o;        /* owns every string the events point to */
    struct sched_event ev[4];
    int n, next;
};

static void api_push_step(struct api_push_run *run);

/*
 * One event committed (or refused): the next one, or the answer. A refusal stops the run and
 * is the answer (404 unknown attempt, 503 database away: the sender retries the whole push,
 * which is safe because every event is idempotent).
 */
static void api_push_stepped(int http_status, int code, const char *reason, void *arg)
{
    struct api_push_run *run = arg;

    if (http_status != 200 || run->next >= run->n) {
        api_pending_reply(http_status, code, reason, run->pending);
        free(run);
        return;
    }
    api_push_step(run);
}

/* Hands the next event to the scheduler (which may answer before this returns). */
static void api_push_step(struct api_push_run *run)
{
    struct sched_event *ev = &run->ev[run->next++];

    if (run->next == 1 && run->o.end_status_unknown)
        log_warn("api.end_status", "attempt=%" PRId64 " end_status=%s source=push action=\"recorded "
                 "as unknown\"", run->o.attempt_id, log_q(run->o.end_status_sent));

    sched_event(run->sched, ev, api_push_stepped, run);
}

/*
 * The carrier events a push stands for: ringing, answered, connected, ended, each only when
 * it happened. The agent rides on "ended" only: a "connected" naming the agent would mark it
 * busy in the pool although the call is already over.
 */
static void api_push_events(struct api_push_run *run)
{
    const struct push_outcome *o = &run->o;
    const char *session = o->session_id[0] ? o->session_id : NULL;
    struct sched_event *ev;

    run->n = 0;
    if (o->ringing_ms > 0) {
        ev = &run->ev[run->n++];
        ev->kind = OUTCOME_RINGING;
        ev->at_ms = o->ringing_ms;
    }
    if (o->answered) {
        ev = &run->ev[run->n++];
        ev->kind = OUTCOME_ANSWERED;
        ev->at_ms = o->answered_ms > 0 ? o->answered_ms : o->ended_ms;
    }
    if (o->connected) {
        ev = &run->ev[run->n++];
        ev->kind = OUTCOME_CONNECTED;
        ev->at_ms = o->connected_ms > 0 ? o->connected_ms : o->ended_ms;
    }
    ev = &run->ev[run->n++];
    ev->kind = OUTCOME_ENDED;
    ev->at_ms = o->ended_ms;
    ev->end_status = o->end_status;
    ev->hangup_side = o->hangup_side;
    ev->keys = o->keys[0] ? o->keys : NULL;
    ev->agent_id = o->connected && o->agent_id[0] ? o->agent_id : NULL;
    for (int i = 0; i < run->n; i++) {
        run->ev[i].attempt_id = o->attempt_id;
        run->ev[i].session_id = session;
        run->ev[i].seq = API_PUSH_SEQ + i + 1;
    }
}

/*
 * Checks the query string of the CDR route: seed 001 posts to ?action=cdr&version=1. Other
 * parameters are ignored. Returns 0, or -1 after writing a message.
 */
static int api_push_cdr_query(struct evhttp_request *req, char *err, size_t errlen)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq params;
    const char *action, *version;
    int rc = 0;

    if (q == NULL || q[0] == '\0')
        return 0;
    if (evhttp_parse_query_str(q, &params) != 0) {
        snprintf(err, errlen, "the query string cannot be parsed; accepted: action=cdr&version=1");
        return -1;
    }
    action = evhttp_find_header(&params, "action");
    version = evhttp_find_header(&params, "version");
    if (action && strcmp(action, "cdr") != 0) {
        snprintf(err, errlen, "action: \"%.20s\" is not accepted here; accepted: cdr", action);
        rc = -1;
    } else if (version && strcmp(version, "1") != 0) {
        snprintf(err, errlen, "version: \"%.20s\" is not accepted; accepted: 1", version);
        rc = -1;
    }
    evhttp_clear_headers(&params);
    return rc;
}

/* The session lookup answered: the attempt id goes into every event, then they are applied. */
static void api_push_found(const struct db_result *r, void *arg)
{
    struct api_push_run *run = arg;
    char reason[400];

    if (!db_result_ok(r)) {
        api_pending_reply(503, API_UNAVAILABLE, "the database did not answer; retry", run->pending);
        free(run);
        return;
    }
    if (db_result_rows(r) == 0) {
        snprintf(reason, sizeof(reason), "no attempt has SessionId \"%.127s\", and Uui \"%s\" "
                 "does not start with an attempt id", run->o.session_id, run->o.uui);
        api_pending_reply(404, API_INVALID, reason, run->pending);
        free(run);
        return;
    }
    run->o.attempt_id = db_result_int(r, 0, 0, 0);
    for (int i = 0; i < run->n; i++)
        run->ev[i].attempt_id = run->o.attempt_id;
    api_push_step(run);
}

/* Shared by both routes: parse, map, then replay the outcome as events. */
static void api_push(struct api_call *call, int cdr)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(call->req);
    size_t len = evbuffer_get_length(in);
    const char *text = len ? (const char *)evbuffer_pullup(in, -1) : "";
    struct api_push_run *run;
    char err[600] = "";
    cJSON *j;
    int rc;

    if (cdr && api_push_cdr_query(call->req, err, sizeof(err)) < 0) {
        api_reply(call->req, 422, API_INVALID, err, NULL);
        return;
    }
    j = push_json_parse(text, len, err, sizeof(err));
    if (j == NULL) {
        api_reply(call->req, 400, API_INVALID, err, NULL);
        return;
    }
    run = util_xcalloc(1, sizeof(*run));
    rc = cdr ? push_cdr_map(j, &run->o, err, sizeof(err)) : push_ai_map(j, &run->o, err, sizeof(err));
    cJSON_Delete(j);
    if (rc < 0) {
        free(run);
        api_reply(call->req, 422, API_INVALID, err, NULL);
        return;
    }
    run->sched = call->api->sched;
    api_push_events(run);
    run->pending = api_defer(call->req);
    if (run->o.attempt_id == 0) {
        const char *params[1] = { run->o.session_id };
        if (db_exec_sql(call->api->db, API_PUSH_BY_SESSION_SQL, params, 1, api_push_found, run) != 0) {
            api_pending_reply(503, API_UNAVAILABLE, "the database is unreachable; retry", run->pending);
            free(run);
        }
        return;
    }
    api_push_step(run);
}

/* POST /v1/push/cdr: a seed-001 CDR push. */
void api_push_cdr(struct api_call *call)
{
    api_push(call, 1);
}

/* POST /v1/push/ai: a seed-004 AI call-record push. */
void api_push_ai(struct api_call *call)
{
    api_push(call, 0);
}
