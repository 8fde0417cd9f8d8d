/* The carrier: POST /calls, idempotent dials, each call's fate drawn per attempt, its events. */
#include "sim.h"

#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Carrier signalling before the callee's phone rings (simulated seconds, at most). */
#define SIM_RINGING_S 0.5
/* Answering-machine detection takes this long after the machine picks up. */
#define SIM_AMD_S 2.5

static const char *const sim_call_state_names[] = {
    "dialed", "ringing", "answered", "queued", "connected", "ended",
};

/* Which transitions a call can make; anything else is a simulator bug. */
static int sim_call_allowed(enum sim_call_state from, enum sim_call_state to)
{
    switch (from) {
    /* Straight to the end only in --instant-agentless mode (refused before it rings). */
    case SIM_CALL_DIALED:    return to == SIM_CALL_RINGING || to == SIM_CALL_ENDED;
    case SIM_CALL_RINGING:   return to == SIM_CALL_ANSWERED || to == SIM_CALL_ENDED;
    case SIM_CALL_ANSWERED:  return to == SIM_CALL_QUEUED || to == SIM_CALL_CONNECTED ||
                                    to == SIM_CALL_ENDED;
    case SIM_CALL_QUEUED:    return to == SIM_CALL_CONNECTED || to == SIM_CALL_ENDED;
    case SIM_CALL_CONNECTED: return to == SIM_CALL_ENDED;
    default:                 return 0;
    }
}

/* The one place a call changes state: checked and logged. */
static int sim_call_set_state(struct sim_call *c, enum sim_call_state to)
{
    if (!sim_call_allowed(c->state, to)) {
        log_error("sim.call_bad_transition", "attempt_id=%s from=%s to=%s", log_q(c->attempt_id),
                  sim_call_state_names[c->state], sim_call_state_names[to]);
        return -1;
    }
    log_debug("sim.call_state", "attempt_id=%s session_id=%s from=%s to=%s",
              log_q(c->attempt_id), log_q(c->session_id), sim_call_state_names[c->state],
              sim_call_state_names[to]);
    c->state = to;
    return 0;
}

/* Adds a unix-ms time, or null when it did not happen. */
static void sim_add_ms(cJSON *o, const char *key, int64_t ms)
{
    if (ms)
        cJSON_AddNumberToObject(o, key, (double)ms);
    else
        cJSON_AddNullToObject(o, key);
}

/* Adds a string, or null. */
static void sim_add_str(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

/* Copies a member of the dial body (null when absent) so logs echo what dialerd sent. */
static void sim_add_req(cJSON *o, const struct sim_call *c, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->req, key);

    cJSON_AddItemToObject(o, key, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

/* Queues one event for the callback URL; seq numbers the call's events from 1. */
static void sim_call_emit(struct sim_call *c, const char *event, int64_t at)
{
    struct sim *sim = c->sim;
    cJSON *body = cJSON_CreateObject(), *failed = sim_truth_line("event_failed");
    int ended = strcmp(event, "ended") == 0;

    c->seq++;
    sim_add_req(body, c, "attempt_id");
    cJSON_AddStringToObject(body, "session_id", c->session_id);
    cJSON_AddNumberToObject(body, "seq", c->seq);
    cJSON_AddStringToObject(body, "event", event);
    cJSON_AddNumberToObject(body, "at", (double)at);
    sim_add_str(body, "agent_id", c->agent_id);
    sim_add_str(body, "end_status", ended ? c->final_status : NULL);
    sim_add_str(body, "hangup_side", ended ? c->final_side : NULL);
    sim_add_str(body, "keys", ended && c->final_status && strcmp(c->final_status, "ok") == 0 ?
                c->keys : NULL);

    sim_add_req(failed, c, "attempt_id");
    cJSON_AddStringToObject(failed, "session_id", c->session_id);
    cJSON_AddNumberToObject(failed, "seq", c->seq);
    cJSON_AddStringToObject(failed, "event", event);
    cJSON_AddNumberToObject(failed, "event_at", (double)at);
    cJSON_AddStringToObject(failed, "url", c->callback_url);

    sim_outq_push(&c->outq, SIM_MSG_EVENT, "POST", c->callback_url, cJSON_PrintUnformatted(body),
                  failed, sim->sc.sim.event_delay_ms);
    cJSON_Delete(body);
}

/* The ground-truth record of a call, written once at its end (or when cut off). */
static void sim_call_truth(struct sim_call *c, int cut_off)
{
    cJSON *line = sim_truth_line("call");

    sim_add_req(line, c, "attempt_id");
    cJSON_AddStringToObject(line, "session_id", c->session_id);
    sim_add_req(line, c, "campaign_id");
    sim_add_req(line, c, "callee");
    sim_add_req(line, c, "caller");
    sim_add_req(line, c, "skill_group_id");
    sim_add_ms(line, "dialed_at", c->dialed_at);
    sim_add_ms(line, "ringing_at", c->ringing_at);
    sim_add_ms(line, "answered_at", c->answered_at);
    sim_add_ms(line, "connected_at", c->connected_at);
    sim_add_ms(line, "ended_at", c->ended_at);
    sim_add_str(line, "end_status", c->final_status);
    sim_add_str(line, "agent_id", c->agent_id);
    sim_add_str(line, "hangup_side", c->final_side);
    sim_add_str(line, "keys", c->final_status && strcmp(c->final_status, "ok") == 0 ? c->keys : NULL);
    cJSON_AddBoolToObject(line, "live_answer", c->answered_at != 0);
    cJSON_AddBoolToObject(line, "abandoned", c->final_status && strcmp(c->final_status, "abandoned") == 0);
    cJSON_AddBoolToObject(line, "short_reject", c->short_reject && c->final_status &&
                          strcmp(c->final_status, "ok") == 0);
    cJSON_AddBoolToObject(line, "cut_off", cut_off);
    sim_truth_write(c->sim, line);
}

/* Frees a call object (ended and delivered, or at shutdown). */
static void sim_call_free(struct sim_call *c)
{
    struct sim *sim = c->sim;

    if (c->prev)
        c->prev->next = c->next;
    else
        sim->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    sim_outq_cleanup(&c->outq);
    if (c->timer)
        event_free(c->timer);
    cJSON_Delete(c->req);
    free(c->attempt_id);
    free(c->session_id);
    free(c);
}

/* All events delivered: an ended call has nothing left to do. */
static void sim_call_on_idle(void *owner)
{
    struct sim_call *c = owner;

    if (c->state == SIM_CALL_ENDED)
        sim_call_free(c);
}

/* Ends a call: the ended event, the ground-truth line, the counters. */
static void sim_call_end(struct sim_call *c, const char *status, const char *side)
{
    struct sim *sim = c->sim;
    enum sim_call_state was = c->state;

    if (sim_call_set_state(c, SIM_CALL_ENDED) < 0)
        return;
    if (was == SIM_CALL_QUEUED)
        sim_acd_unqueue(sim, c);
    evtimer_del(c->timer);
    c->ended_at = util_wall_ms();
    c->final_status = status;
    c->final_side = side;
    sim_call_emit(c, "ended", c->ended_at);
    sim_call_truth(c, 0);
    sim_stats_ended(&sim->st, status);
    if (strcmp(status, "abandoned") == 0)
        sim->st.abandoned++;
    if (strcmp(status, "machine") == 0)
        sim->st.machine++;
    sim->n_in_flight--;
    sim_drain_check(sim);
}

/* The connected (or agentless) call's talk is over; the agent moves on. */
static void sim_call_talk_over(struct sim_call *c)
{
    struct sim_agent *a = c->agent;
    struct sim *sim = c->sim;

    c->agent = NULL;
    sim_call_end(c, "ok", c->hangup_side);
    if (a)
        sim_acd_call_ended(sim, a);
}

/* The call's timer: the next step of its plan. */
static void sim_call_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sim_call *c = arg;
    struct sim *sim = c->sim;

    (void)fd;
    (void)what;
    switch (c->state) {
    case SIM_CALL_DIALED:
        if (c->instant) {
            /* --instant-agentless: the outcome at once, after the dial's answer went out. */
            if (sim->instant_ringing) {
                sim_call_set_state(c, SIM_CALL_RINGING);
                c->ringing_at = util_wall_ms();
                sim_call_emit(c, "ringing", c->ringing_at);
            }
            sim_call_end(c, c->end_status,
                         strcmp(c->end_status, "userReject") == 0 ? "callee" : "system");
            break;
        }
        sim_call_set_state(c, SIM_CALL_RINGING);
        c->ringing_at = util_wall_ms();
        sim_call_emit(c, "ringing", c->ringing_at);
        sim_timer_in(sim, c->timer, c->t_resolve - c->t_ringing);
        break;
    case SIM_CALL_RINGING:
        if (c->fate == SIM_FATE_MACHINE) {
            sim_call_end(c, "machine", "system");
        } else if (c->fate == SIM_FATE_NON_ANSWER) {
            sim_call_end(c, c->end_status,
                         strcmp(c->end_status, "userReject") == 0 ? "callee" : "system");
        } else {
            sim_call_set_state(c, SIM_CALL_ANSWERED);
            c->answered_at = util_wall_ms();
            sim->st.answered++;
            sim_call_emit(c, "answered", c->answered_at);
            if (c->agentless)
                sim_timer_in(sim, c->timer, c->talk_s);
            else
                sim_acd_offer(sim, c);
        }
        break;
    case SIM_CALL_ANSWERED:       /* agentless: the message / IVR is over */
    case SIM_CALL_CONNECTED:
        sim_call_talk_over(c);
        break;
    case SIM_CALL_QUEUED:         /* no agent within the grace */
        sim_call_end(c, "abandoned", "system");
        break;
    default:
        log_error("sim.call_timer", "attempt_id=%s state=%s", log_q(c->attempt_id),
                  sim_call_state_names[c->state]);
    }
}

/* The ACD gave the call to an agent (already marked busy). */
void sim_call_connect(struct sim_call *c, struct sim_agent *a)
{
    struct sim *sim = c->sim;

    if (sim_call_set_state(c, SIM_CALL_CONNECTED) < 0)
        return;
    evtimer_del(c->timer);
    c->connected_at = util_wall_ms();
    snprintf(c->agent_id_buf, sizeof(c->agent_id_buf), "%s", a->id);
    c->agent_id = c->agent_id_buf;
    c->agent = a;
    a->next_acw_s = c->acw_s;
    sim->st.connected++;
    sim_call_emit(c, "connected", c->connected_at);
    sim_timer_in(sim, c->timer, c->talk_s);
}

/* No agent now: wait at most abandon_grace_s for one. */
void sim_call_queue(struct sim_call *c)
{
    if (sim_call_set_state(c, SIM_CALL_QUEUED) < 0)
        return;
    sim_timer_in(c->sim, c->timer, c->sim->sc.abandon_grace_s);
}

/* A per-attempt generator: the same seed and attempt id always draw the same call. */
static uint64_t sim_call_rng(uint64_t seed, const char *attempt_id)
{
    uint64_t h = 0xcbf29ce484222325ULL, z;

    for (const char *p = attempt_id; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ULL;
    }
    /* splitmix64 finaliser: neighbouring ids must not give neighbouring states */
    z = seed * 0x9e3779b97f4a7c15ULL + h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return z ? z : 1;
}

/*
 * Draws the call's whole fate at dial time with the parameters then in force. The draws are
 * made in a fixed order whatever the outcome, so a scenario change in one place does not
 * reshuffle every other call.
 */
static void sim_call_plan(struct sim *sim, struct sim_call *c, double ring_timeout)
{
    const struct scenario *sc = &sim->sc;
    struct scenario_params p;
    struct scenario_dist talk = sc->talk_s;
    uint64_t rng = sim_call_rng(sc->seed, c->attempt_id);
    double u_kind, u_na, ring, fail, u_short, talk_s, short_s, u_keys, acw, u_side, cum = 0;

    scenario_at(sc, sim_now_s(sim), &p);
    talk.mean *= p.talk_scale;
    u_kind = util_rand01(&rng);
    u_na = util_rand01(&rng);
    ring = scenario_lognormal(&sc->ring_s, &rng);
    fail = scenario_lognormal(&sc->fail_s, &rng);
    u_short = util_rand01(&rng);
    talk_s = scenario_lognormal(&talk, &rng);
    short_s = scenario_lognormal(&sc->short_reject_s, &rng);
    u_keys = util_rand01(&rng);
    acw = scenario_lognormal(&sc->acw_s, &rng);
    u_side = util_rand01(&rng);

    c->end_status = sc->non_answer[sc->n_non_answer - 1].end_status;
    for (int i = 0; i < sc->n_non_answer; i++) {
        cum += sc->non_answer[i].share;
        if (u_na < cum) {
            c->end_status = sc->non_answer[i].end_status;
            break;
        }
    }
    if (u_kind < p.answer_prob)
        c->fate = SIM_FATE_LIVE;
    else if (u_kind < p.answer_prob + sc->sim.machine_share)
        c->fate = SIM_FATE_MACHINE;
    else
        c->fate = SIM_FATE_NON_ANSWER;
    /* Whoever would pick up after the ring timeout never gets the chance. */
    if (c->fate != SIM_FATE_NON_ANSWER && ring >= ring_timeout) {
        c->fate = SIM_FATE_NON_ANSWER;
        c->end_status = "notAnswer";
    }
    if (c->fate == SIM_FATE_LIVE)
        c->t_resolve = ring;
    else if (c->fate == SIM_FATE_MACHINE)
        c->t_resolve = ring + SIM_AMD_S;
    else if (strcmp(c->end_status, "notAnswer") == 0)
        c->t_resolve = ring_timeout;
    else
        c->t_resolve = fail < ring_timeout ? fail : ring_timeout;
    c->t_ringing = c->t_resolve / 2 < SIM_RINGING_S ? c->t_resolve / 2 : SIM_RINGING_S;
    c->short_reject = u_short < sc->short_reject_share;
    c->talk_s = c->short_reject ? short_s : talk_s;
    c->acw_s = acw;
    c->keys = u_keys < sc->sim.keys_share ? sc->sim.keys : NULL;
    if (c->short_reject || c->agentless)
        c->hangup_side = "callee";
    else
        c->hangup_side = u_side < 0.5 ? "agent" : "callee";
}

/* An id: a positive integer or a non-empty string; its text form goes to `out`. */
static int sim_id_text(const cJSON *v, char *out, size_t len)
{
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 9007199254740992.0 &&
        v->valuedouble == floor(v->valuedouble)) {
        snprintf(out, len, "%.0f", v->valuedouble);
        return 0;
    }
    if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < len) {
        for (const char *p = v->valuestring; *p; p++)
            if ((unsigned char)*p <= 0x20 || *p == 0x7f)
                return -1;
        snprintf(out, len, "%s", v->valuestring);
        return 0;
    }
    return -1;
}

/* Number check shared with the SMS sink. */
int sim_is_number(const cJSON *v)
{
    const char *s;
    size_t n = 0;

    if (!cJSON_IsString(v))
        return 0;
    s = v->valuestring;
    if (*s == '+')
        s++;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return 0;
    return n >= 3 && n <= 15;
}

/* A value for an error message. */
static void sim_value_text(const cJSON *v, char *buf, size_t len)
{
    char *p = v ? cJSON_PrintUnformatted(v) : NULL;

    snprintf(buf, len, "%.60s%s", p ? p : "(missing)", p && strlen(p) > 60 ? "..." : "");
    free(p);
}

/*
 * Checks a dial body field by field; on error writes "field = value: accepted …" to err.
 * `attempt` receives the attempt id's text form (also on some errors, for the log).
 */
static int sim_dial_validate(const cJSON *root, const char *key_header, char *attempt,
                             size_t attempt_len, char *err, size_t errlen)
{
    const cJSON *v;
    char text[96], tmp[96];
    double rt;

    attempt[0] = '\0';
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "body: not a JSON object: accepted {\"attempt_id\", \"campaign_id\", "
                 "\"callee\", \"caller\", \"skill_group_id\", \"ring_timeout_s\", \"uui\", "
                 "\"variables\", \"callback_url\"}");
        return -1;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "attempt_id");
    if (sim_id_text(v, attempt, attempt_len) < 0) {
        sim_value_text(v, text, sizeof(text));
        snprintf(err, errlen, "attempt_id = %s: accepted a positive integer or a non-empty string", text);
        return -1;
    }
    if (key_header == NULL) {
        snprintf(err, errlen, "Idempotency-Key header missing: accepted the attempt id (%s)", attempt);
        return -1;
    }
    if (strcmp(key_header, attempt) != 0) {
        snprintf(err, errlen, "Idempotency-Key = \"%.60s\": accepted the attempt id \"%s\"",
                 key_header, attempt);
        return -1;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "campaign_id");
    if (sim_id_text(v, tmp, sizeof(tmp)) < 0) {
        sim_value_text(v, text, sizeof(text));
        snprintf(err, errlen, "campaign_id = %s: accepted a positive integer or a non-empty string", text);
        return -1;
    }
    static const char *const numbers[] = { "callee", "caller" };
    for (int i = 0; i < 2; i++) {
        v = cJSON_GetObjectItemCaseSensitive(root, numbers[i]);
        if (!sim_is_number(v)) {
            sim_value_text(v, text, sizeof(text));
            snprintf(err, errlen, "%s = %s: accepted a string of an optional + and 3..15 digits",
                     numbers[i], text);
            return -1;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "skill_group_id");
    if (v == NULL || (!cJSON_IsNull(v) && (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
                                          v->valuedouble != floor(v->valuedouble)))) {
        sim_value_text(v, text, sizeof(text));
        snprintf(err, errlen, "skill_group_id = %s: accepted an integer >= 1, or null for an "
                 "agentless call", text);
        return -1;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "ring_timeout_s");
    rt = cJSON_IsNumber(v) ? v->valuedouble : 0;
    if (v && !cJSON_IsNull(v) && !(cJSON_IsNumber(v) && rt >= 1 && rt <= 600)) {
        sim_value_text(v, text, sizeof(text));
        snprintf(err, errlen, "ring_timeout_s = %s: accepted seconds 1..600, or null / absent "
                 "for the scenario's", text);
        return -1;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "uui");
    if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
        sim_value_text(v, text, sizeof(text));
        snprintf(err, errlen, "uui = %s: accepted a string or null", text);
        return -1;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "variables");
    if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v)) {
        sim_value_text(v, text, sizeof(text));
        snprintf(err, errlen, "variables = %s: accepted an object or null", text);
        return -1;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "callback_url");
    if (!cJSON_IsString(v) || (strncmp(v->valuestring, "http://", 7) != 0 &&
                               strncmp(v->valuestring, "https://", 8) != 0) ||
        strlen(v->valuestring) > 2000) {
        sim_value_text(v, text, sizeof(text));
        snprintf(err, errlen, "callback_url = %s: accepted an http:// or https:// URL", text);
        return -1;
    }
    return 0;
}

/* Logs a dial that was not placed, echoing its attempt_id as sent (null when unusable). */
static void sim_carrier_rejected(struct sim *sim, const cJSON *root, int status,
                                 const char *reason)
{
    cJSON *line = sim_truth_line("rejected");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "attempt_id");
    char attempt[80];

    if (id && sim_id_text(id, attempt, sizeof(attempt)) == 0)
        cJSON_AddItemToObject(line, "attempt_id", cJSON_Duplicate(id, 1));
    else
        cJSON_AddNullToObject(line, "attempt_id");
    cJSON_AddNumberToObject(line, "status", status == SIM_STATUS_CUT ? 0 : status);
    cJSON_AddStringToObject(line, "reason", reason);
    sim_truth_write(sim, line);
    switch (status) {
    case 400: sim->st.rejected_400++; break;
    case 429: sim->st.rejected_429++; break;
    case 500: sim->st.rejected_500++; break;
    case 503: sim->st.rejected_503++; break;
    case SIM_STATUS_CUT: sim->st.cut++; break;
    default:  sim->st.held++; break;
    }
    log_debug("sim.dial_rejected", "status=%d reason=%s", status, log_q(reason));
}

/* Logs a dial that a control mode (error500, timeout, cut) swallowed; best effort on the body. */
void sim_carrier_mode_rejected(struct sim *sim, struct evhttp_request *req, int status,
                               const char *reason)
{
    char *body = sim_request_body(req);
    cJSON *root = body ? cJSON_Parse(body) : NULL;

    sim_carrier_rejected(sim, root, status, reason);
    cJSON_Delete(root);
    free(body);
}

/* Whether the carrier takes one more dial per max_cps (a token bucket in simulated time). */
static int sim_cps_take(struct sim *sim)
{
    double rate = sim->sc.max_cps, cap = rate > 1 ? rate : 1, now = sim_now_s(sim);

    if (rate <= 0)
        return 1;
    sim->cps_tokens += (now - sim->cps_at_s) * rate;
    if (sim->cps_tokens > cap)
        sim->cps_tokens = cap;
    sim->cps_at_s = now;
    if (sim->cps_tokens < 1)
        return 0;
    sim->cps_tokens -= 1;
    return 1;
}

/*
 * Places an accepted dial: the call object, its plan, the log line, the first timer. dial_us
 * is when the request arrived (monotonic microseconds, for the latency probe).
 */
static const char *sim_carrier_place(struct sim *sim, cJSON *root, const char *attempt,
                                     int64_t dial_us)
{
    struct sim_call *c = util_xcalloc(1, sizeof(*c));
    const cJSON *sg = cJSON_GetObjectItemCaseSensitive(root, "skill_group_id");
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(root, "ring_timeout_s");
    char sid[64];
    cJSON *line;

    c->sim = sim;
    c->req = root;
    c->attempt_id = util_xstrdup(attempt);
    snprintf(sid, sizeof(sid), "sim-%lld-%ld", (long long)sim->start_wall_ms, ++sim->session_seq);
    c->session_id = util_xstrdup(sid);
    c->callback_url = cJSON_GetObjectItemCaseSensitive(root, "callback_url")->valuestring;
    c->agentless = cJSON_IsNull(sg);
    c->skill_group_id = c->agentless ? 0 : (long long)sg->valuedouble;
    c->state = SIM_CALL_DIALED;
    c->dialed_at = util_wall_ms();
    c->timer = evtimer_new(sim->base, sim_call_on_timer, c);
    sim_outq_setup(&c->outq, sim, sim_call_on_idle, c);
    if (sim->instant_status && c->agentless) {
        /* No draws: every agentless dial ends as --instant-agentless says. */
        c->instant = 1;
        c->fate = SIM_FATE_NON_ANSWER;
        c->end_status = sim->instant_status;
    } else {
        sim_call_plan(sim, c, cJSON_IsNumber(rt) ? rt->valuedouble : sim->sc.ring_timeout_s);
    }
    c->next = sim->calls;
    if (sim->calls)
        sim->calls->prev = c;
    sim->calls = c;
    sim->n_in_flight++;
    sim->st.dials++;
    sim_map_put(sim->dials, attempt, sid);

    line = sim_truth_line("dial");
    sim_add_req(line, c, "attempt_id");
    cJSON_AddStringToObject(line, "session_id", sid);
    sim_add_req(line, c, "campaign_id");
    sim_add_req(line, c, "callee");
    sim_add_req(line, c, "caller");
    sim_add_req(line, c, "skill_group_id");
    cJSON_AddNumberToObject(line, "ring_timeout_s",
                            cJSON_IsNumber(rt) ? rt->valuedouble : sim->sc.ring_timeout_s);
    cJSON_AddNumberToObject(line, "at", (double)c->dialed_at);
    sim_truth_write(sim, line);
    log_debug("sim.dial", "attempt_id=%s session_id=%s fate=%d", log_q(attempt), log_q(sid),
              (int)c->fate);
    sim_probe_dial(sim, c, dial_us);
    /* An instant call's timer fires on the next loop turn: its answer to the dial goes first. */
    sim_timer_in(sim, c->timer, c->instant ? 0 : c->t_ringing);
    return c->session_id;
}

/* POST /calls: validate, deduplicate, apply back-pressure, place. */
void sim_carrier_handle(struct sim *sim, struct evhttp_request *req)
{
    const char *path = sim_request_path(req), *key, *sid;
    char *body = NULL, attempt[80] = "", err[400];
    cJSON *root = NULL, *reply;
    int64_t dial_us = sim_mono_us();

    if (strcmp(path, "/calls") != 0) {
        sim_reply_error(req, 404, "no route %.200s: accepted POST /calls", path);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        sim_reply_error(req, 405, "/calls: accepted method POST");
        return;
    }
    body = sim_request_body(req);
    root = body ? cJSON_Parse(body) : NULL;
    free(body);
    key = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
    if (root == NULL) {
        snprintf(err, sizeof(err), "body: not valid JSON: accepted a JSON object");
        goto bad;
    }
    if (sim_dial_validate(root, key, attempt, sizeof(attempt), err, sizeof(err)) < 0)
        goto bad;
    sid = sim_map_get(sim->dials, attempt);
    if (sid) {
        /* The same attempt again (dialerd retried after a timeout): same call, no new one. */
        cJSON *line = sim_truth_line("duplicate_dial");
        cJSON_AddItemToObject(line, "attempt_id",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(root, "attempt_id"), 1));
        cJSON_AddStringToObject(line, "session_id", sid);
        sim_add_str(line, "callee", cJSON_GetObjectItemCaseSensitive(root, "callee")->valuestring);
        sim_truth_write(sim, line);
        sim->st.duplicates++;
        log_warn("sim.duplicate_dial", "attempt_id=%s session_id=%s", log_q(attempt), log_q(sid));
        if (sim->carrier.mode == SIM_MODE_ACCEPT_TIMEOUT) {
            sim->st.unanswered_dials++;
        } else {
            reply = cJSON_CreateObject();
            cJSON_AddStringToObject(reply, "session_id", sid);
            sim_reply(req, 200, reply);
        }
        cJSON_Delete(root);
        return;
    }
    if (sim->draining) {
        sim_carrier_rejected(sim, root, 503, "draining: the simulator is shutting down");
        sim_reply_error(req, 503, "draining: the simulator is shutting down");
    } else if (sim->sc.sim.max_in_flight > 0 && sim->n_in_flight >= sim->sc.sim.max_in_flight) {
        snprintf(err, sizeof(err), "max_in_flight: %d calls in flight, the scenario allows %d",
                 sim->n_in_flight, sim->sc.sim.max_in_flight);
        sim_carrier_rejected(sim, root, 429, err);
        sim_reply_error(req, 429, "%s", err);
    } else if (!sim_cps_take(sim)) {
        snprintf(err, sizeof(err), "max_cps: more than %g dials per simulated second",
                 sim->sc.max_cps);
        sim_carrier_rejected(sim, root, 429, err);
        sim_reply_error(req, 429, "%s", err);
    } else if (sim->error_rate > 0 && util_rand01(&sim->ctl_rng) < sim->error_rate) {
        sim_carrier_rejected(sim, root, 500, "error_rate: injected failure");
        sim_reply_error(req, 500, "error_rate: injected failure");
    } else if (sim->carrier.mode == SIM_MODE_ACCEPT_TIMEOUT) {
        /* The call is placed and its events go out; the answer to the dial is lost (held until
         * the client gives up), as when a carrier's reply never makes it back. */
        sim_carrier_place(sim, root, attempt, dial_us);
        sim->st.unanswered_dials++;
        return;    /* root now belongs to the call */
    } else {
        reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "session_id",
                                sim_carrier_place(sim, root, attempt, dial_us));
        sim_reply(req, 200, reply);
        return;    /* root now belongs to the call */
    }
    cJSON_Delete(root);
    return;
bad:
    sim_carrier_rejected(sim, root, 400, err);
    sim_reply_error(req, 400, "%s", err);
    cJSON_Delete(root);
}

/* Shutdown: calls still in flight are logged as cut off, then every call object is freed. */
void sim_calls_cleanup(struct sim *sim)
{
    while (sim->calls) {
        struct sim_call *c = sim->calls;
        if (c->state != SIM_CALL_ENDED) {
            sim_call_truth(c, 1);
            sim->n_in_flight--;
        }
        sim_call_free(c);
    }
    sim->q_head = sim->q_tail = NULL;
    sim->n_queued = 0;
}
