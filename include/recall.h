/* Recall: a callee's next state and when to call again, from an attempt's outcome (seed 003). */
#ifndef DIALERD_RECALL_H
#define DIALERD_RECALL_H

#include "outcome.h"

/* Callee states (DESIGN §4). */
enum callee_state {
    CALLEE_INITIAL = 0, CALLEE_ANSWERED = 1, CALLEE_UNANSWERED = 2, CALLEE_CALLING = 3,
    CALLEE_PENDING_RETRY = 4
};

struct recall_rule {
    int recall_num;         /* recalls after the first attempt, 0..10 */
    int interval_s;         /* recall_interval_min × 60 */
    int type;               /* 0 recall every attempt (notifications), 1 recall failed ones only */
    int abandon_lock_s;     /* an abandoned callee is not called again sooner than this */
};

struct recall_decision {
    enum callee_state state;
    int delay_s;            /* pending retry: seconds from now until the callee is due; else 0 */
};

/*
 * Decides after attempt `attempt_no` (1-based) ended with `out`. `prior_success` says whether
 * an earlier attempt of this callee succeeded (recall type 0 keeps calling after a success, and
 * the callee stays "answered" at the end).
 */
void recall_decide(const struct recall_rule *r, int attempt_no, const struct outcome *out,
                   int prior_success, struct recall_decision *d);

#endif
