/* Latency probe (--probe-free-to-dial): time from an agent's "free" report leaving to the next dial arriving. */
#include "sim.h"

#include "log.h"

#include <cjson/cJSON.h>
#include <time.h>

/* Monotonic microseconds: finer than util_mono_ms, for the probe's samples. */
int64_t sim_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Removes the waiting report at ring position k (0 = oldest), keeping the order of the rest. */
static void sim_probe_remove(struct sim_probe *p, int k)
{
    for (int i = k; i + 1 < p->count; i++) {
        int to = (p->head + i) % SIM_PROBE_PENDING, from = (p->head + i + 1) % SIM_PROBE_PENDING;
        p->agent[to] = p->agent[from];
        p->sent_us[to] = p->sent_us[from];
    }
    p->count--;
}

/* Records a "free" report going out; any other status drops the agent's waiting report. */
void sim_probe_agent_sent(struct sim *sim, int agent_index, int status)
{
    struct sim_probe *p = &sim->probe;
    int64_t now = sim_mono_us();

    for (int k = 0; k < p->count; k++) {
        if (p->agent[(p->head + k) % SIM_PROBE_PENDING] != agent_index)
            continue;
        if (status == SIM_AGENT_FREE) {
            /* A retry of the same report: the try that gets through is the one that counts. */
            p->sent_us[(p->head + k) % SIM_PROBE_PENDING] = now;
            return;
        }
        sim_probe_remove(p, k);
        p->unpaired_frees++;
        return;
    }
    if (status != SIM_AGENT_FREE)
        return;
    if (p->count == SIM_PROBE_PENDING) {
        /* Nothing dials for this many free agents: the oldest is not a sample any more. */
        p->head = (p->head + 1) % SIM_PROBE_PENDING;
        p->count--;
        p->unpaired_frees++;
    }
    p->agent[(p->head + p->count) % SIM_PROBE_PENDING] = agent_index;
    p->sent_us[(p->head + p->count) % SIM_PROBE_PENDING] = now;
    p->count++;
}

/* Pairs a dial for the scenario's skill group with the oldest waiting "free" report. */
void sim_probe_dial(struct sim *sim, const struct sim_call *c, int64_t dial_us)
{
    struct sim_probe *p = &sim->probe;
    cJSON *line;
    int agent;
    int64_t sent;

    if (!p->on || c->agentless || c->skill_group_id != sim->sc.skill_group_id)
        return;
    if (p->count == 0) {
        p->unpaired_dials++;
        return;
    }
    agent = p->agent[p->head];
    sent = p->sent_us[p->head];
    p->head = (p->head + 1) % SIM_PROBE_PENDING;
    p->count--;
    p->samples++;
    line = sim_truth_line("probe");
    cJSON_AddStringToObject(line, "agent_id", sim->agents[agent].id);
    cJSON_AddStringToObject(line, "attempt_id", c->attempt_id);
    cJSON_AddNumberToObject(line, "free_sent_us", (double)sent);
    cJSON_AddNumberToObject(line, "dial_at_us", (double)dial_us);
    cJSON_AddNumberToObject(line, "latency_us", (double)(dial_us - sent));
    sim_truth_write(sim, line);
    log_debug("sim.probe", "agent=%s attempt_id=%s latency_us=%lld", log_q(sim->agents[agent].id),
              log_q(c->attempt_id), (long long)(dial_us - sent));
}

/* Adds {"samples", "unpaired_dials", "unpaired_frees", "waiting"} under "probe" when it is on. */
void sim_probe_stats(const struct sim *sim, cJSON *o)
{
    const struct sim_probe *p = &sim->probe;
    cJSON *po;

    if (!p->on)
        return;
    po = cJSON_AddObjectToObject(o, "probe");
    cJSON_AddNumberToObject(po, "samples", (double)p->samples);
    cJSON_AddNumberToObject(po, "unpaired_dials", (double)p->unpaired_dials);
    cJSON_AddNumberToObject(po, "unpaired_frees", (double)p->unpaired_frees);
    cJSON_AddNumberToObject(po, "waiting", p->count);
}
