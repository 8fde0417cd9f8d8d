/* dialer-bench internals: the policies, one simulated shift, its draws, the report over many. */
#ifndef DIALERD_BENCH_H
#define DIALERD_BENCH_H

/*
 * The model and the metrics are documented in docs/dialer-bench.md. Everything here is pure
 * computation on virtual time; only main.c does I/O.
 */

#include "pacing.h"
#include "scenario.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The reference policies, in the order the table lists them. */
enum bench_policy_id {
    BENCH_PROGRESSIVE,        /* pacer, PACER_PROGRESSIVE, callout_rate 1: the floor */
    BENCH_RATIO2,             /* fixed 2 lines per free agent (bench-internal) */
    BENCH_VICIDIAL,           /* VICIdial-style adaptive dial level (bench-internal) */
    BENCH_OURS,               /* pacer, PACER_PREDICTIVE, as the daemon drives it */
    BENCH_CEILING,            /* the same pacer, told when each busy agent will be free */
    BENCH_MATCHED,            /* ours, its abandon target set to the rate the VICIdial-style
                                 policy reached in the same replication */
    BENCH_N_POLICIES
};

/* A policy's own state; one per run, so runs never share anything. */
struct bench_policy {
    enum bench_policy_id id;
    struct pacer *pc;         /* progressive, ours, ceiling; NULL otherwise */
    double level;             /* vicidial: lines per free agent */
};

/* Named policy: its id or -1. */
int bench_policy_parse(const char *name);
/* The policy's name as the CLI and the table spell it. */
const char *bench_policy_name(enum bench_policy_id id);
/* Sets up a policy's state for one run of a shift of shift_s seconds. */
void bench_policy_init(struct bench_policy *p, enum bench_policy_id id, double shift_s,
                       double grace_s, double abandon_target);
/* Releases what bench_policy_init took. */
void bench_policy_free(struct bench_policy *p);
/* Whether the view handed to this policy carries busy_until. */
int bench_policy_clairvoyant(const struct bench_policy *p);
/* Feeds a resolved dial to the policy (only pacer-backed policies listen). */
void bench_policy_attempt(struct bench_policy *p, double now, double ring_s, int live);
/* Feeds a finished handle (connect → end of ACW). */
void bench_policy_handle(struct bench_policy *p, double now, double talk_s, double acw_s);
/* Feeds an abandon. */
void bench_policy_abandon(struct bench_policy *p, double now);
/* The periodic VICIdial level adjustment; a no-op for the other policies. */
void bench_policy_adapt(struct bench_policy *p, int idle, int waiting, int logged_in,
                        long abandons, long answers);
/* How many calls to place now, given the pool and the day's abandons / live answers so far. */
int bench_policy_decide(struct bench_policy *p, const struct pacer_view *v, long abandons,
                        long answers);

/* Seconds between VICIdial level adjustments. */
#define BENCH_VICIDIAL_ADAPT_S 15.0
/* The abandon target the predictive pacer is given. */
#define BENCH_ABANDON_TARGET 0.03
/* The least target `matched` is given when the VICIdial-style policy abandoned nothing. */
#ifndef BENCH_MATCHED_MIN_TARGET
#define BENCH_MATCHED_MIN_TARGET 1e-7
#endif

/* Drop-rate limit above which the VICIdial level is held at 1. */
#define BENCH_VICIDIAL_DROP_LIMIT 0.03
/* Highest VICIdial level (its adaptive_maximum_level default). */
#define BENCH_VICIDIAL_MAX_LEVEL 3.0

/* Draw streams: one per kind of thing drawn, so a dial's draws never depend on a talk's. */
enum bench_stream_id { BENCH_STREAM_DIAL = 1, BENCH_STREAM_CONNECT = 2 };

/* The starting state for util_rand01 of draw number `index` of a stream (never 0). */
uint64_t bench_stream(uint64_t seed, uint64_t rep, uint64_t stream, uint64_t index);

/* What one run is. */
struct bench_run_cfg {
    const struct scenario *sc;
    double shift_s;           /* the simulated shift: scenario shift_s or --hours */
    uint64_t seed;            /* scenario seed or --seed */
    int rep;                  /* replication number from 0 */
    enum bench_policy_id policy;
    double decide_gap_s;      /* least virtual time between two decisions; 0 = none */
    double abandon_target;    /* ours / ceiling / matched; 0 = BENCH_ABANDON_TARGET */
};

/* The raw totals of one run; every metric of the report derives from these. */
struct bench_result {
    double logged_s;          /* agent logged-in seconds within the shift */
    double talk_s;            /* agent talk seconds within the shift */
    double acw_s;             /* agent after-call-work seconds within the shift */
    double wait_s;            /* sum of the completed waits (free → connect) */
    double worst_hour;        /* worst rolling-hour abandon rate; -1 when no window qualified */
    double decisions;         /* times the policy was asked */
    double dials;
    double answers;           /* live answers */
    double abandons;
    double connects;
    double waits;             /* completed waits */
    double cps_held;          /* dials a policy wanted that max_cps held back */
};

/* Simulates one shift. */
void bench_run(const struct bench_run_cfg *cfg, struct bench_result *out);

/* Per-run metrics derived from the totals. */
double bench_occupancy(const struct bench_result *r);
double bench_abandon_rate(const struct bench_result *r);
double bench_talk_min_per_agent_hour(const struct bench_result *r);
double bench_wait_mean_s(const struct bench_result *r);
double bench_dials_per_agent_hour(const struct bench_result *r);

/*
 * Worst abandon rate over windows of window_s (slid in steps of step_s) of answers given by
 * answer time t[] (non-decreasing) and abandoned flag ab[]; windows with fewer than
 * min_answers live answers are ignored. -1 when none qualifies. When the shift is shorter than
 * the window, the one window is the whole shift.
 */
double bench_worst_window(const double *t, const unsigned char *ab, size_t n, double shift_s,
                          double window_s, double step_s, long min_answers);

/* One row of the report: a scenario × policy aggregated over the replications. */
struct bench_row {
    enum bench_policy_id policy;
    int reps;
    double occ_mean, occ_sd;
    double talk_min_agent_h;
    double abandon_mean, abandon_max;
    double worst_hour_max;    /* -1 when no replication had a qualifying window */
    double wait_mean_s;
    double dials_agent_h;
    double eta;               /* captured gain; NAN when not defined */
    double decisions_mean;
    double cps_held_mean;
};

/* Aggregates `reps` results of one scenario × policy into a row (eta left NAN). */
void bench_row_fill(struct bench_row *row, enum bench_policy_id policy,
                    const struct bench_result *res, int reps);
/* Sets eta on every row of one scenario from its progressive and ceiling rows, if both exist. */
void bench_rows_eta(struct bench_row *rows, int n);

/* One scenario of a benchmark: what was run and, once run, its rows. */
struct bench_scen {
    char *file;               /* owned: the path it was read from */
    struct scenario sc;       /* owned */
    double shift_s;
    uint64_t seed;
};

/* A whole benchmark: the grid scenario × policy × replication and its results. */
struct bench_report {
    int reps;
    int jobs;
    double hours;             /* --hours, 0 = each scenario's shift_s */
    int seed_given;           /* --seed used */
    uint64_t seed;
    double decide_gap_s;
    int n_scen;
    struct bench_scen *scen;
    int n_pol;
    enum bench_policy_id pol[BENCH_N_POLICIES];
    struct bench_result *res; /* [scenario][policy][replication] */
    struct bench_row *rows;   /* [scenario][policy] */
    double wall_s;            /* real seconds the grid took */
};

/* Fills the rows (and eta) from the results. */
void bench_report_rows(struct bench_report *r);
/* Prints the one table. */
void bench_report_table(FILE *f, const struct bench_report *r);
/*
 * Writes the same numbers (and the per-replication ones) as JSON to f, opened on `path` for the
 * messages, and closes it; -1 with a message in err.
 */
int bench_report_json(FILE *f, const char *path, const struct bench_report *r, char *err,
                      size_t errlen);

/* Tells a pacer policy how many of the calls it asked for were placed. */
void bench_policy_placed(struct bench_policy *p, double now, int placed);

#endif
