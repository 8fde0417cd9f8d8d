/* Recall: a callee's next state and when to call again, from an attempt's outcome (seed 003). */
#include "recall.h"

/* Applies recall_num / recall_interval / recall_type and the abandon lock. */
void recall_decide(const struct recall_rule *r, int attempt_no, const struct outcome *out,
                   int prior_success, struct recall_decision *d)
{
    int answered_ever = out->success || prior_success;
    int recalls_left = attempt_no <= r->recall_num;
    int wants_recall;

    d->delay_s = 0;
    if (r->type == 0)
        wants_recall = outcome_retryable(out->cls);
    else
        wants_recall = !out->success && outcome_retryable(out->cls);
    if (wants_recall && recalls_left) {
        d->state = CALLEE_PENDING_RETRY;
        d->delay_s = r->interval_s;
        /* Regulators (e.g. the UK's) forbid calling an abandoned number again for a while. */
        if (out->cls == OUTCOME_ABANDONED && d->delay_s < r->abandon_lock_s)
            d->delay_s = r->abandon_lock_s;
        if (d->delay_s < 0)
            d->delay_s = 0;
        return;
    }
    d->state = answered_ever ? CALLEE_ANSWERED : CALLEE_UNANSWERED;
}
