/* Scenario files for dialer-sim and dialer-bench: parsing, validation, defaults and the draws. */
#ifndef DIALERD_SCENARIO_H
#define DIALERD_SCENARIO_H

/*
 * Pure module: no I/O, no clock reads, no globals. The format is documented field by field in
 * docs/dialer-sim.md; every time in a scenario is in simulated seconds.
 */

#include <stddef.h>
#include <stdint.h>

/* A lognormal duration given by its mean and coefficient of variation (cv 0 = constant). */
struct scenario_dist {
    double mean;
    double cv;
};

/* One non-answer outcome and its normalised share of all non-answers. */
struct scenario_share {
    const char *end_status;   /* static string from the §4 vocabulary; never freed */
    double share;             /* > 0; the shares of a scenario sum to 1 */
};

/* A parameter step at a point of simulated time; a negative value means "unchanged". */
struct scenario_drift {
    double at_s;
    double answer_prob;       /* < 0: unchanged */
    double talk_scale;        /* multiplies talk_s.mean (not compounding); < 0: unchanged */
    int agents;               /* logged-in agents from here on; < 0: unchanged */
};

/* Knobs that only the real-time simulator uses (dialer-bench ignores them). */
struct scenario_sim {
    double time_scale;        /* simulated seconds per real second */
    int max_in_flight;        /* carrier answers 429 above this many calls; 0 = no cap */
    double keys_share;        /* share of connected calls whose callee presses `keys` */
    char *keys;               /* owned */
    double machine_share;     /* share of dials answered by a machine */
    int event_delay_ms;       /* real delay before each event is posted */
};

#define SCENARIO_MAX_NON_ANSWER 16

struct scenario {
    char *name;               /* owned */
    char *description;        /* owned */
    uint64_t seed;
    double shift_s;
    int agents;
    long long skill_group_id;
    char *agent_prefix;       /* owned; agent ids are prefix + "%03d" from 1 */
    double answer_prob;
    struct scenario_share non_answer[SCENARIO_MAX_NON_ANSWER]; /* in vocabulary order */
    int n_non_answer;
    struct scenario_dist ring_s;
    struct scenario_dist fail_s;
    double ring_timeout_s;
    struct scenario_dist talk_s;
    double short_reject_share;
    struct scenario_dist short_reject_s;
    struct scenario_dist acw_s;
    double abandon_grace_s;
    double max_cps;           /* dials per simulated second; 0 = no cap */
    struct scenario_drift *drift; /* owned, n_drift entries in non-decreasing at_s */
    int n_drift;
    struct scenario_sim sim;
};

/* The parameters in force at one simulated instant, after every drift step up to it. */
struct scenario_params {
    double answer_prob;
    double talk_scale;
    int agents;
};

/*
 * Parses and validates a scenario. On success returns 0 and fills `out` (release it with
 * scenario_free). On failure returns -1, leaves `out` empty (scenario_free is still safe) and
 * writes to `err` a message naming the field path, the value and what is accepted, e.g.
 * "scenario.answer_prob = 1.5: accepted 0..1".
 */
int scenario_parse(const char *json_text, struct scenario *out, char *err, size_t errlen);
/* Frees what a scenario owns and zeroes it. NULL and an empty scenario are fine. */
void scenario_free(struct scenario *s);

/* The parameters in force at simulated time t (seconds since the shift started). */
void scenario_at(const struct scenario *s, double t, struct scenario_params *out);
/* The most agents logged in at any point: how many agent ids the scenario needs. */
int scenario_agents_total(const struct scenario *s);
/* Writes agent number n (1-based) of the scenario into buf, e.g. "sg1-agent-007". */
void scenario_agent_id(const struct scenario *s, int n, char *buf, size_t len);
/* Whether `name` is an end status a scenario's non_answer may use. */
int scenario_is_non_answer_status(const char *name);

/*
 * A standard normal draw (Box–Muller). Always consumes exactly two util_rand01() values from
 * *rng, so a sequence of draws stays aligned whatever the parameters.
 */
double scenario_normal(uint64_t *rng);
/*
 * A lognormal draw with mean d->mean and coefficient of variation d->cv: sigma² = ln(1 + cv²),
 * mu = ln(mean) − sigma²/2. cv 0 (or mean 0) returns the mean. Consumes two values like
 * scenario_normal() in every case.
 */
double scenario_lognormal(const struct scenario_dist *d, uint64_t *rng);

#endif
