/* Pacing: how many calls a pool should place now. Pure C, no I/O, no clock reads (DESIGN §5.5). */
#include "pacing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Progressive keeps callout_rate × free agents calls in flight; agentless keeps up to
 * max_in_flight. Predictive starts progressive and stays so until the estimates below have
 * seen enough answers to trust (PACER_WARMUP_ANSWERS).
 */
#define PACER_WARMUP_ANSWERS 30

struct pacer {
    struct pacer_params p;
    long attempts;            /* resolved dials observed */
    long answers;             /* of which live answers */
    long handled;             /* calls handled by agents */
    long abandons;
    double sum_handle_s;
};

/* Copies and sanitises the parameters: zero or nonsense means "default". */
struct pacer *pacer_new(const struct pacer_params *p)
{
    struct pacer *pc = calloc(1, sizeof(*pc));

    if (pc == NULL) {
        fputs("pacer: out of memory\n", stderr);
        abort();
    }
    pc->p = *p;
    if (!(pc->p.callout_rate >= 1.0))
        pc->p.callout_rate = 1.0;
    if (pc->p.callout_rate > 100.0)
        pc->p.callout_rate = 100.0;
    if (!(pc->p.abandon_target > 0))
        pc->p.abandon_target = 0.03;
    if (!(pc->p.abandon_window_s > 0))
        pc->p.abandon_window_s = 86400;
    if (pc->p.max_in_flight < 0)
        pc->p.max_in_flight = 0;
    return pc;
}

/* Frees a pacer. */
void pacer_free(struct pacer *pc)
{
    free(pc);
}

/* Counts a resolved dial. */
void pacer_observe_attempt(struct pacer *pc, double now, double ring_s, int live_answer)
{
    (void)now;
    (void)ring_s;
    pc->attempts++;
    if (live_answer)
        pc->answers++;
}

/* Counts a handled call. */
void pacer_observe_handle(struct pacer *pc, double now, double handle_s)
{
    (void)now;
    if (handle_s >= 0) {
        pc->handled++;
        pc->sum_handle_s += handle_s;
    }
}

/* Counts an abandon. */
void pacer_observe_abandon(struct pacer *pc, double now)
{
    (void)now;
    pc->abandons++;
}

/* Applies the trunk cap to a wanted number of new calls. */
static int pacer_cap(const struct pacer *pc, const struct pacer_view *v, int want)
{
    int in_flight = v->n_ringing + v->n_waiting;

    if (pc->p.max_in_flight > 0 && in_flight + want > pc->p.max_in_flight)
        want = pc->p.max_in_flight - in_flight;
    return want > 0 ? want : 0;
}

/* Progressive: callout_rate × free agents in flight, answered-waiting calls included. */
static int pacer_progressive(const struct pacer *pc, const struct pacer_view *v)
{
    /* The small epsilon keeps 1.0 × 3 from flooring to 2 through rounding error. */
    int target = (int)floor(pc->p.callout_rate * v->n_free + 1e-9);

    return pacer_cap(pc, v, target - v->n_ringing - v->n_waiting);
}

/* Decides how many calls to place now. */
int pacer_decide(struct pacer *pc, const struct pacer_view *v)
{
    switch (pc->p.mode) {
    case PACER_AGENTLESS:
        /* No agents to protect: fill the trunk up to its cap (a cap is required). */
        return pacer_cap(pc, v, pc->p.max_in_flight > 0
                         ? pc->p.max_in_flight - v->n_ringing - v->n_waiting : 0);
    case PACER_PREDICTIVE:
        if (pc->answers < PACER_WARMUP_ANSWERS)
            return pacer_progressive(pc, v);
        return pacer_progressive(pc, v);
    case PACER_PROGRESSIVE:
    default:
        return pacer_progressive(pc, v);
    }
}
