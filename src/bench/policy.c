/* dialer-bench policies: the daemon's pacer (three ways) and two bench-internal references. */
#include "bench.h"

#include <math.h>
#include <string.h>

static const char *const bench_policy_names[BENCH_N_POLICIES] = {
    "progressive", "ratio2", "vicidial", "ours", "ceiling", "matched",
};

/* Lines per free agent of the fixed-ratio reference. */
#define BENCH_RATIO 2.0
/* Lines per logged-in agent the predictive pacer may use (its callout_rate). */
#define BENCH_PREDICTIVE_LINES 3.0

/* Name → id; -1 for an unknown name. */
int bench_policy_parse(const char *name)
{
    for (int i = 0; i < BENCH_N_POLICIES; i++)
        if (strcmp(name, bench_policy_names[i]) == 0)
            return i;
    return -1;
}

/* Id → name. */
const char *bench_policy_name(enum bench_policy_id id)
{
    return (unsigned)id < BENCH_N_POLICIES ? bench_policy_names[id] : "?";
}

/* The pacer-backed policies get exactly the parameters a campaign would give the daemon. */
void bench_policy_init(struct bench_policy *p, enum bench_policy_id id, double shift_s,
                       double grace_s, double abandon_target)
{
    struct pacer_params pp;

    memset(p, 0, sizeof(*p));
    memset(&pp, 0, sizeof(pp));
    p->id = id;
    p->level = 1.0;
    switch (id) {
    case BENCH_PROGRESSIVE:
        pp.mode = PACER_PROGRESSIVE;
        pp.callout_rate = 1.0;
        p->pc = pacer_new(&pp);
        break;
    case BENCH_OURS:
    case BENCH_CEILING:
    case BENCH_MATCHED:
        pp.mode = PACER_PREDICTIVE;
        pp.callout_rate = BENCH_PREDICTIVE_LINES;
        pp.abandon_target = abandon_target > 0 ? abandon_target : BENCH_ABANDON_TARGET;
        /* The benchmark scores the shift as a whole, so the target holds over the shift. */
        pp.abandon_window_s = shift_s;
        pp.grace_s = grace_s;
        p->pc = pacer_new(&pp);
        break;
    default:
        break;
    }
}

/* Frees the pacer, if any. */
void bench_policy_free(struct bench_policy *p)
{
    if (p->pc)
        pacer_free(p->pc);
    p->pc = NULL;
}

/* Only the ceiling is told when busy agents will be free. */
int bench_policy_clairvoyant(const struct bench_policy *p)
{
    return p->id == BENCH_CEILING;
}

/* Forwards to the pacer. */
void bench_policy_attempt(struct bench_policy *p, double now, double ring_s, int live)
{
    if (p->pc)
        pacer_observe_attempt(p->pc, now, ring_s, live);
}

/* Forwards to the pacer: the whole handle, and its talk and after-call parts. */
void bench_policy_handle(struct bench_policy *p, double now, double talk_s, double acw_s)
{
    if (p->pc) {
        pacer_observe_handle(p->pc, now, talk_s + acw_s);
        pacer_observe_wrapup(p->pc, now, talk_s, acw_s);
    }
}

/* Forwards to the pacer. */
void bench_policy_abandon(struct bench_policy *p, double now)
{
    if (p->pc)
        pacer_observe_abandon(p->pc, now);
}

/* The day's drop rate so far; no answers yet counts as no drops. */
static double bench_drop_rate(long abandons, long answers)
{
    return answers > 0 ? (double)abandons / (double)answers : 0.0;
}

/*
 * VICIdial-style adaptation (docs/dialer-bench.md): the level grows while agents sit idle and
 * shrinks while answered calls queue, in proportion to the pool; over the drop limit it is held
 * at 1 so that dialing stops being aggressive until the day's rate is back under the limit.
 */
void bench_policy_adapt(struct bench_policy *p, int idle, int waiting, int logged_in,
                        long abandons, long answers)
{
    if (p->id != BENCH_VICIDIAL)
        return;
    if (bench_drop_rate(abandons, answers) > BENCH_VICIDIAL_DROP_LIMIT) {
        p->level = 1.0;
        return;
    }
    if (logged_in <= 0)
        return;
    p->level *= 1.0 + (double)(idle - waiting) / (double)logged_in;
    if (p->level < 1.0)
        p->level = 1.0;
    if (p->level > BENCH_VICIDIAL_MAX_LEVEL)
        p->level = BENCH_VICIDIAL_MAX_LEVEL;
}

/* Lines to add so that calls in flight reach floor(ratio × free agents). */
static int bench_fill_ratio(double ratio, const struct pacer_view *v)
{
    /* The epsilon keeps 2.0 × 3 from flooring to 5 through rounding. */
    int target = (int)floor(ratio * v->n_free + 1e-9);
    int want = target - v->n_ringing - v->n_waiting;

    return want > 0 ? want : 0;
}

/* Asks the policy; a pacer's answer is taken as is (a negative one as zero). */
int bench_policy_decide(struct bench_policy *p, const struct pacer_view *v, long abandons,
                        long answers)
{
    int n;

    switch (p->id) {
    case BENCH_RATIO2:
        return bench_fill_ratio(BENCH_RATIO, v);
    case BENCH_VICIDIAL:
        /* The cut to 1 is immediate: waiting for the next adaptation would drop more calls. */
        if (bench_drop_rate(abandons, answers) > BENCH_VICIDIAL_DROP_LIMIT)
            p->level = 1.0;
        return bench_fill_ratio(p->level, v);
    default:
        n = pacer_decide(p->pc, v);
        return n > 0 ? n : 0;
    }
}

/* Passes on how many of the calls asked for were placed (pacer policies only). */
void bench_policy_placed(struct bench_policy *p, double now, int placed)
{
    if (p->pc)
        pacer_placed(p->pc, now, placed);
}
