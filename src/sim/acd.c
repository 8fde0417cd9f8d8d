/* The ACD and its agents: longest-idle routing, a FIFO queue with a grace, ACW, log-in and log-off. */
#include "sim.h"

#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sim_agent_names[SIM_AGENT_N] = { "offline", "free", "busy", "arrange" };

/* Status name as dialerd knows it (DESIGN §4). */
const char *sim_agent_status_name(enum sim_agent_status s)
{
    return (unsigned)s < SIM_AGENT_N ? sim_agent_names[s] : "?";
}

/* Tells dialerd and the ground-truth log what the agent's status now is. */
static void sim_agent_report(struct sim_agent *a, const char *reason)
{
    struct sim *sim = a->sim;
    cJSON *body = cJSON_CreateObject(), *line = sim_truth_line("agent"), *failed;
    char url[512];
    int64_t at = util_wall_ms();

    cJSON_AddStringToObject(line, "id", a->id);
    cJSON_AddStringToObject(line, "status", sim_agent_status_name(a->status));
    cJSON_AddStringToObject(line, "reason", reason);
    cJSON_AddNumberToObject(line, "at", (double)at);
    sim_truth_write(sim, line);

    cJSON_AddStringToObject(body, "status", sim_agent_status_name(a->status));
    cJSON_AddStringToObject(body, "reason", reason);
    /* When it happened, so that dialerd can tell a late report from a current one. */
    cJSON_AddNumberToObject(body, "at", (double)at);
    failed = sim_truth_line("agent_update_failed");
    cJSON_AddStringToObject(failed, "id", a->id);
    cJSON_AddStringToObject(failed, "status", sim_agent_status_name(a->status));
    cJSON_AddNumberToObject(failed, "status_at", (double)at);
    snprintf(url, sizeof(url), "%s/v1/agents/%s/status", sim->dialerd_url, a->id);
    sim_outq_push_agent(&a->outq, url, cJSON_PrintUnformatted(body), failed, (int)a->status);
    cJSON_Delete(body);
}

/* Which status changes an agent can make; anything else is a simulator bug. */
static int sim_agent_allowed(enum sim_agent_status from, enum sim_agent_status to)
{
    switch (from) {
    case SIM_AGENT_OFFLINE: return to == SIM_AGENT_FREE;
    case SIM_AGENT_FREE:    return to == SIM_AGENT_BUSY || to == SIM_AGENT_OFFLINE;
    case SIM_AGENT_BUSY:    return to == SIM_AGENT_ARRANGE || to == SIM_AGENT_FREE ||
                                   to == SIM_AGENT_OFFLINE;
    case SIM_AGENT_ARRANGE: return to == SIM_AGENT_FREE || to == SIM_AGENT_OFFLINE;
    default:                return 0;
    }
}

/* The one place an agent's status changes: checked, logged, reported. */
static int sim_agent_set_state(struct sim_agent *a, enum sim_agent_status to, const char *reason)
{
    if (!sim_agent_allowed(a->status, to)) {
        log_error("sim.agent_bad_transition", "agent=%s from=%s to=%s", log_q(a->id),
                  sim_agent_status_name(a->status), sim_agent_status_name(to));
        return -1;
    }
    log_debug("sim.agent_state", "agent=%s from=%s to=%s reason=%s", log_q(a->id),
              sim_agent_status_name(a->status), sim_agent_status_name(to), log_q(reason));
    a->status = to;
    if (to == SIM_AGENT_FREE)
        a->free_since_ms = util_mono_ms();
    if (to == SIM_AGENT_OFFLINE)
        a->logoff_pending = 0;
    sim_agent_report(a, reason);
    if (to == SIM_AGENT_OFFLINE)
        sim_drain_check(a->sim);
    return 0;
}

/* Hands the call at the head of the queue to a free agent, if there is one waiting. */
static void sim_agent_take_queue(struct sim *sim, struct sim_agent *a)
{
    struct sim_call *c = sim->q_head;

    if (c == NULL || a->status != SIM_AGENT_FREE)
        return;
    sim->q_head = c->q_next;
    if (sim->q_head == NULL)
        sim->q_tail = NULL;
    c->q_next = NULL;
    sim->n_queued--;
    a->call = c;
    sim_agent_set_state(a, SIM_AGENT_BUSY, "");
    sim_call_connect(c, a);
}

/* The agent is ready again: free (and maybe straight to the next queued call) or logged off. */
static void sim_agent_ready(struct sim_agent *a)
{
    if (a->logoff_pending) {
        sim_agent_set_state(a, SIM_AGENT_OFFLINE, a->sim->shift_over ? "shift end" : "logged off");
        return;
    }
    sim_agent_set_state(a, SIM_AGENT_FREE, "");
    sim_agent_take_queue(a->sim, a);
}

/* After-call work is over. */
static void sim_agent_on_acw(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sim_agent_ready(arg);
}

/* Delivery queue of an agent drained: nothing to do, agents live for the whole run. */
static void sim_agent_on_idle(void *owner)
{
    (void)owner;
}

/* Creates the agents, logs the first ones in and reports the rest offline. */
void sim_acd_setup(struct sim *sim)
{
    struct scenario_params p;

    sim->n_agents = scenario_agents_total(&sim->sc);
    sim->agents = util_xcalloc((size_t)sim->n_agents, sizeof(*sim->agents));
    scenario_at(&sim->sc, 0, &p);
    sim->target_agents = p.agents < sim->n_agents ? p.agents : sim->n_agents;
    for (int i = 0; i < sim->n_agents; i++) {
        struct sim_agent *a = &sim->agents[i];
        a->sim = sim;
        a->index = i;
        scenario_agent_id(&sim->sc, i + 1, a->id, sizeof(a->id));
        a->status = SIM_AGENT_OFFLINE;
        a->acw_timer = evtimer_new(sim->base, sim_agent_on_acw, a);
        sim_outq_setup(&a->outq, sim, sim_agent_on_idle, a);
        if (i < sim->target_agents)
            sim_agent_set_state(a, SIM_AGENT_FREE, "logged in");
        else
            sim_agent_report(a, "not logged in");  /* whatever an earlier run left in dialerd */
    }
    log_info("sim.agents", "total=%d logged_in=%d skill_group_id=%lld first=%s", sim->n_agents,
             sim->target_agents, sim->sc.skill_group_id,
             log_q(sim->n_agents ? sim->agents[0].id : ""));
}

/* Logs what never reached dialerd (after httpc is gone, so no delivery is in flight). */
void sim_acd_drop_pending(struct sim *sim)
{
    for (int i = 0; i < sim->n_agents; i++)
        sim_outq_cleanup(&sim->agents[i].outq);
}

/* Frees the agents (after httpc is gone, so no delivery is in flight). */
void sim_acd_cleanup(struct sim *sim)
{
    for (int i = 0; i < sim->n_agents; i++) {
        sim_outq_cleanup(&sim->agents[i].outq);
        if (sim->agents[i].acw_timer)
            event_free(sim->agents[i].acw_timer);
    }
    free(sim->agents);
    sim->agents = NULL;
    sim->n_agents = 0;
    if (sim->drift_timer)
        event_free(sim->drift_timer);
    if (sim->shift_timer)
        event_free(sim->shift_timer);
    sim->drift_timer = sim->shift_timer = NULL;
}

/* The free agent that has waited longest (ties: the lower number). */
static struct sim_agent *sim_acd_longest_idle(struct sim *sim)
{
    struct sim_agent *best = NULL;

    for (int i = 0; i < sim->n_agents; i++) {
        struct sim_agent *a = &sim->agents[i];
        if (a->status == SIM_AGENT_FREE && (best == NULL || a->free_since_ms < best->free_since_ms))
            best = a;
    }
    return best;
}

/* Routes an answered call, or queues it for at most abandon_grace_s. */
void sim_acd_offer(struct sim *sim, struct sim_call *c)
{
    struct sim_agent *a = NULL;

    if (c->skill_group_id != sim->sc.skill_group_id) {
        /* No agent of that group exists here: the call waits out its grace and is abandoned. */
        if (!sim->warned_skill_group) {
            sim->warned_skill_group = 1;
            log_warn("sim.unknown_skill_group", "attempt_id=%s skill_group_id=%lld served=%lld "
                     "note=%s", log_q(c->attempt_id), c->skill_group_id, sim->sc.skill_group_id,
                     log_q("calls for groups without agents are abandoned; logged once"));
        }
        sim_call_queue(c);
        return;
    }
    if (sim->q_head == NULL)
        a = sim_acd_longest_idle(sim);
    if (a) {
        a->call = c;
        sim_agent_set_state(a, SIM_AGENT_BUSY, "");
        sim_call_connect(c, a);
        return;
    }
    if (sim->q_tail)
        sim->q_tail->q_next = c;
    else
        sim->q_head = c;
    sim->q_tail = c;
    sim->n_queued++;
    sim_call_queue(c);
}

/* Removes a call from the waiting queue wherever it is (no-op when it is not there). */
void sim_acd_unqueue(struct sim *sim, struct sim_call *c)
{
    struct sim_call *prev = NULL;

    for (struct sim_call *it = sim->q_head; it; prev = it, it = it->q_next) {
        if (it != c)
            continue;
        if (prev)
            prev->q_next = c->q_next;
        else
            sim->q_head = c->q_next;
        if (sim->q_tail == c)
            sim->q_tail = prev;
        c->q_next = NULL;
        sim->n_queued--;
        return;
    }
}

/* The agent's call ended: ACW in status arrange, then ready. */
void sim_acd_call_ended(struct sim *sim, struct sim_agent *a)
{
    double acw = a->next_acw_s;

    a->call = NULL;
    if (acw > 0) {
        sim_agent_set_state(a, SIM_AGENT_ARRANGE, "");
        sim_timer_in(sim, a->acw_timer, acw);
        return;
    }
    sim_agent_ready(a);
}

/* Logs agents in or off so that the first n are the logged-in ones. */
void sim_acd_set_target(struct sim *sim, int n, const char *reason)
{
    if (n > sim->n_agents)
        n = sim->n_agents;
    log_info("sim.agents_target", "from=%d to=%d reason=%s", sim->target_agents, n, log_q(reason));
    sim->target_agents = n;
    for (int i = 0; i < sim->n_agents; i++) {
        struct sim_agent *a = &sim->agents[i];
        if (i < n) {
            a->logoff_pending = 0;
            if (a->status == SIM_AGENT_OFFLINE) {
                sim_agent_set_state(a, SIM_AGENT_FREE, reason);
                sim_agent_take_queue(sim, a);
            }
        } else if (a->status == SIM_AGENT_FREE) {
            sim_agent_set_state(a, SIM_AGENT_OFFLINE, reason);
        } else if (a->status != SIM_AGENT_OFFLINE) {
            a->logoff_pending = 1;   /* finishes its call and ACW first */
        }
    }
}

/* Shutdown: every agent offline now, cutting ACW short. */
void sim_acd_all_offline(struct sim *sim)
{
    for (int i = 0; i < sim->n_agents; i++) {
        struct sim_agent *a = &sim->agents[i];
        if (a->status == SIM_AGENT_FREE || a->status == SIM_AGENT_ARRANGE) {
            evtimer_del(a->acw_timer);
            sim_agent_set_state(a, SIM_AGENT_OFFLINE, "shutdown");
        } else if (a->status == SIM_AGENT_BUSY) {
            a->logoff_pending = 1;
        }
    }
}

/* Arms the drift timer for the first step after simulated time t. */
static void sim_acd_arm_drift(struct sim *sim, double t)
{
    while (sim->next_drift < sim->sc.n_drift && sim->sc.drift[sim->next_drift].at_s <= t)
        sim->next_drift++;
    if (sim->next_drift < sim->sc.n_drift)
        sim_timer_in(sim, sim->drift_timer, sim->sc.drift[sim->next_drift].at_s - sim_now_s(sim));
}

/* A drift step is due: parameters change; the logged-in count may change now. */
static void sim_acd_on_drift(evutil_socket_t fd, short what, void *arg)
{
    struct sim *sim = arg;
    const struct scenario_drift *d = &sim->sc.drift[sim->next_drift];
    struct scenario_params p;
    double t = sim_now_s(sim);

    (void)fd;
    (void)what;
    if (t < d->at_s)
        t = d->at_s;     /* the timer rounds to milliseconds; never read the step as not due */
    scenario_at(&sim->sc, t, &p);
    log_info("sim.drift", "at_s=%g answer_prob=%g talk_scale=%g agents=%d", t, p.answer_prob,
             p.talk_scale, p.agents);
    if (!sim->shift_over && !sim->draining && p.agents != sim->target_agents)
        sim_acd_set_target(sim, p.agents, "drift");
    sim_acd_arm_drift(sim, t);
}

/* The shift is over: every agent logs off after its current call. */
static void sim_acd_on_shift_end(evutil_socket_t fd, short what, void *arg)
{
    struct sim *sim = arg;

    (void)fd;
    (void)what;
    log_info("sim.shift_end", "shift_s=%g", sim->sc.shift_s);
    sim->shift_over = 1;
    if (!sim->draining)
        sim_acd_set_target(sim, 0, "shift end");
}

/* Timers for drift and the end of the shift. */
void sim_acd_schedule(struct sim *sim)
{
    sim->drift_timer = evtimer_new(sim->base, sim_acd_on_drift, sim);
    sim->shift_timer = evtimer_new(sim->base, sim_acd_on_shift_end, sim);
    sim_acd_arm_drift(sim, 0);
    sim_timer_in(sim, sim->shift_timer, sim->sc.shift_s);
}

/* Counts agents per status. */
void sim_acd_counts(const struct sim *sim, int *counts)
{
    memset(counts, 0, sizeof(int) * SIM_AGENT_N);
    for (int i = 0; i < sim->n_agents; i++)
        counts[sim->agents[i].status]++;
}
