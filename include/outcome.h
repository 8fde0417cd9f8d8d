/* Outcome: one vocabulary for how a call ended, from carrier events, CDR pushes and AI pushes. */
#ifndef DIALERD_OUTCOME_H
#define DIALERD_OUTCOME_H

/* Carrier event kinds of DESIGN §5.3, in the order a call goes through them. */
enum outcome_event { OUTCOME_RINGING = 1, OUTCOME_ANSWERED, OUTCOME_CONNECTED, OUTCOME_ENDED };

/* What an ended call means for pacing, recall and SMS. */
enum outcome_class {
    OUTCOME_SUCCESS,        /* a person answered and (unless agentless) talked to an agent */
    OUTCOME_ABANDONED,      /* a person answered, no agent took the call within the grace */
    OUTCOME_MACHINE,        /* an answering machine answered */
    OUTCOME_DROPPED,        /* answered, ended before any agent was involved, not abandoned */
    OUTCOME_NO_ANSWER,      /* rang out, rejected, busy, powered off, out of service */
    OUTCOME_INVALID,        /* the number cannot be reached: does not exist, invalid, blocked */
    OUTCOME_ERROR           /* the network or the carrier failed, or the outcome is unknown */
};

/* Facts gathered about one attempt from its events. */
struct outcome_facts {
    int answered;           /* an "answered" event arrived, or answered_at is known */
    int connected;          /* a "connected" event or an agent id arrived */
    int agentless;          /* the campaign has no agents */
    const char *end_status; /* from the "ended" event; NULL or "" when none was given */
};

struct outcome {
    enum outcome_class cls;
    int live_answer;        /* a person answered (for pacing and the abandon rate) */
    int success;            /* DESIGN §4: answered and connected (agentless: answered) */
    const char *end_status; /* canonical spelling, static storage */
};

/* Parses "ringing" / "answered" / "connected" / "ended"; 0 for anything else. */
enum outcome_event outcome_event_parse(const char *s);
/* Name of an event kind. */
const char *outcome_event_name(enum outcome_event ev);
/*
 * Canonical spelling of an end status from the seed-000 EndStatusString vocabulary plus
 * "abandoned", "machine" and "unknown"; NULL when `s` is not in it (callers refuse the input).
 */
const char *outcome_end_status(const char *s);
/* Classifies an ended attempt. An unknown or missing end_status classifies as an error. */
void outcome_classify(const struct outcome_facts *f, struct outcome *out);
/* Whether a number that ended this way is worth calling again (invalid numbers are not). */
int outcome_retryable(enum outcome_class cls);

#endif
