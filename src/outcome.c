/* Outcome: one vocabulary for how a call ended, from carrier events, CDR pushes and AI pushes. */
#include "outcome.h"

#include <stddef.h>
#include <string.h>

struct outcome_status {
    const char *name;
    enum outcome_class cls;     /* when the call was answered, ok/abandoned/machine decide */
};

/* Seed 000 EndStatusString values, plus abandoned / machine (DESIGN §4) and unknown. */
static const struct outcome_status outcome_statuses[] = {
    { "ok", OUTCOME_SUCCESS },
    { "abandoned", OUTCOME_ABANDONED },
    { "machine", OUTCOME_MACHINE },
    { "notAnswer", OUTCOME_NO_ANSWER },
    { "userReject", OUTCOME_NO_ANSWER },
    { "powerOff", OUTCOME_NO_ANSWER },
    { "busy", OUTCOME_NO_ANSWER },
    { "notInService", OUTCOME_NO_ANSWER },
    { "callerCancel", OUTCOME_NO_ANSWER },
    { "numberNotExist", OUTCOME_INVALID },
    { "numberInvalid", OUTCOME_INVALID },
    { "carrierBlocked", OUTCOME_INVALID },
    { "restrictedCallee", OUTCOME_INVALID },
    { "callRestricted", OUTCOME_INVALID },
    { "areaRestricted", OUTCOME_INVALID },
    { "outOfCredit", OUTCOME_ERROR },
    { "operatorError", OUTCOME_ERROR },
    { "clientError", OUTCOME_ERROR },
    { "tooManyRequest", OUTCOME_ERROR },
    { "restrictedTime", OUTCOME_ERROR },
    { "unknown", OUTCOME_ERROR },
};

#define N_STATUSES (sizeof(outcome_statuses) / sizeof(outcome_statuses[0]))

static const char *const outcome_event_names[] = { "", "ringing", "answered", "connected", "ended" };

/* Parses an event name. */
enum outcome_event outcome_event_parse(const char *s)
{
    for (int i = OUTCOME_RINGING; i <= OUTCOME_ENDED; i++)
        if (s && strcmp(s, outcome_event_names[i]) == 0)
            return (enum outcome_event)i;
    return 0;
}

/* Names an event kind. */
const char *outcome_event_name(enum outcome_event ev)
{
    return (ev >= OUTCOME_RINGING && ev <= OUTCOME_ENDED) ? outcome_event_names[ev] : "?";
}

/* Finds a status row by exact name. */
static const struct outcome_status *outcome_find(const char *s)
{
    for (size_t i = 0; s && i < N_STATUSES; i++)
        if (strcmp(s, outcome_statuses[i].name) == 0)
            return &outcome_statuses[i];
    return NULL;
}

/* Canonical spelling, or NULL when outside the vocabulary. */
const char *outcome_end_status(const char *s)
{
    const struct outcome_status *st = outcome_find(s);

    return st ? st->name : NULL;
}

/* Classifies an ended attempt from its facts. */
void outcome_classify(const struct outcome_facts *f, struct outcome *out)
{
    const struct outcome_status *st = outcome_find(f->end_status);

    out->end_status = st ? st->name : "unknown";
    out->cls = st ? st->cls : OUTCOME_ERROR;
    out->success = 0;
    out->live_answer = 0;
    switch (out->cls) {
    case OUTCOME_SUCCESS:
        out->live_answer = 1;
        /* "ok" without an agent on an agent campaign: the callee left before being served. */
        if (f->agentless || f->connected) {
            out->success = 1;
        } else {
            out->cls = OUTCOME_DROPPED;
        }
        break;
    case OUTCOME_ABANDONED:
        out->live_answer = 1;
        break;
    default:
        /* A failure status after an answer (e.g. operatorError mid-call) still saw a person. */
        out->live_answer = f->answered && out->cls != OUTCOME_MACHINE;
        break;
    }
}

/* Invalid numbers are final on the first try; everything else may be recalled. */
int outcome_retryable(enum outcome_class cls)
{
    return cls != OUTCOME_INVALID;
}
