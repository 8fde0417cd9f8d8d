/* Pacing: how many calls a pool should place now. Pure C, no I/O, no clock reads (DESIGN §5.5). */
#ifndef DIALERD_PACING_H
#define DIALERD_PACING_H

/*
 * The daemon and dialer-bench drive this API; outside harnesses link src/pacing.c alone
 * against it. Source-compatible forever: fields are only ever added at the end of a struct,
 * where zero means "default".
 */

enum pacer_mode { PACER_PROGRESSIVE, PACER_PREDICTIVE, PACER_AGENTLESS };

struct pacer_params {
    enum pacer_mode mode;
    double callout_rate;      /* progressive: calls per free agent; else a cap on lines per agent */
    double abandon_target;    /* predictive: fraction of live answers, e.g. 0.03 */
    double abandon_window_s;  /* window the target holds over, e.g. 86400 */
    int    max_in_flight;     /* cap on calls in flight (trunk / agentless); 0 = none */
    double grace_s;           /* how long the ACD holds an answered call for an agent before
                                 it is abandoned; 0 = 2 s (DESIGN §5.3 default) */
};

struct pacer_view {           /* the pool as it stands at `now` */
    double now;               /* seconds on the caller's clock */
    int n_free;               /* agents ready for a call */
    int n_busy;               /* agents on a call or in after-call work */
    const double *busy_since; /* n_busy entries: when each one's current call was connected */
    int n_ringing;            /* calls placed, not yet answered or failed */
    const double *ringing_since; /* n_ringing entries: when each was placed */
    int n_waiting;            /* answered calls waiting for an agent */
    const double *busy_until; /* optional, n_busy entries parallel to busy_since: when each busy
                                 agent will be free. Only a clairvoyant benchmark knows this;
                                 NULL (the default) means unknown */
    const double *wrapup_since; /* optional, n_busy entries parallel to busy_since: when each
                                 busy agent's call ended and after-call work began; negative
                                 while the agent is still on the call. NULL = not known */
};

struct pacer;

/* A pacer with a copy of `p`. Never NULL (aborts on out-of-memory). Free with pacer_free(). */
struct pacer *pacer_new(const struct pacer_params *p);
void pacer_free(struct pacer *pc);
/* every resolved dial: seconds from placing to answer or failure; whether a person answered */
void pacer_observe_attempt(struct pacer *pc, double now, double ring_s, int live_answer);
/* every call an agent handled: connect to end of after-call work */
void pacer_observe_handle(struct pacer *pc, double now, double handle_s);
/* every answered call that no agent took in time */
void pacer_observe_abandon(struct pacer *pc, double now);
/* how many calls to place now (>= 0) */
int pacer_decide(struct pacer *pc, const struct pacer_view *v);
/* optional: how many of the calls the last pacer_decide() asked for were really placed (the
 * rest were held back by caller-line limits or ran out of callees); without it, all were */
void pacer_placed(struct pacer *pc, double now, int placed);
/* optional, with wrapup_since: how a handled call split into talk (connect to hang-up) and
 * after-call work (hang-up to free); calls pacer_observe_handle() needs as well */
void pacer_observe_wrapup(struct pacer *pc, double now, double talk_s, double wrapup_s);
/* live answers and abandons the window already holds from before this pacer existed (after a
 * restart the daemon reads them from the database), counted as of `now` */
void pacer_seed(struct pacer *pc, double now, double live_answers, double abandons);

#endif
