/* Push mapping: seed-001 CDR pushes and seed-004 AI call-record pushes to one attempt outcome. */
#ifndef DIALERD_PUSH_H
#define DIALERD_PUSH_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Pure: a parsed JSON tree in, a struct out (or a message naming the field, the value and
 * what is accepted). No I/O, no clock, no globals, so it can be fuzzed on its own.
 *
 * Which attempt a push is about:
 *   CDR (seed 001): "Uui" starts with the attempt id in decimal, optionally followed by one of
 *                   ':' '|' ';' ',' and anything (the caller's own data). When it does not
 *                   (the seed's own sample has "abc"), "SessionId" is the carrier's session id
 *                   that the dial returned: attempt_id is left 0 and the caller looks it up.
 *   AI  (seed 004): "properties" (the dial's custom variables) holds "attempt_id", a decimal
 *                   string or a whole number.
 * Times are Unix seconds in both; 0 or absent means "did not happen" / "not known".
 */

/* Everything a push says about one attempt. Strings are copies; the struct owns them. */
struct push_outcome {
    int64_t attempt_id;            /* 0: find it by session_id (CDR without an id in Uui) */
    char uui[48];                  /* the Uui as sent (printable), for a message when the lookup fails */
    char session_id[128];          /* CDR SessionId / AI callId; "" when absent */
    int64_t ringing_ms;            /* Unix ms; 0 = not known (no ringing event is sent) */
    int answered;                  /* a person answered */
    int64_t answered_ms;           /* 0 with answered = at an unknown time */
    int connected;                 /* an agent took the call */
    int64_t connected_ms;
    int64_t ended_ms;              /* 0 = unknown (the receiver uses its own clock) */
    char agent_id[129];            /* "" unless connected */
    const char *end_status;        /* canonical spelling (outcome.h vocabulary), static */
    int end_status_unknown;        /* the pushed status is outside the vocabulary ("unknown") */
    char end_status_sent[32];      /* what was pushed, for the log when unknown */
    const char *hangup_side;       /* "callee", "agent", "system" (static) or NULL */
    char keys[64];                 /* IVR keys pressed, concatenated; "" when none */
};

/*
 * Parses a push body. Strict JSON, except one tolerance: a comma missing between two members
 * or elements on separate lines (the seed-001 sample itself lacks one) is inserted, at most 16
 * times per body. Returns a tree the caller frees with cJSON_Delete(), or NULL after writing
 * a message (with the byte offset) into err.
 */
cJSON *push_json_parse(const char *text, size_t len, char *err, size_t errlen);

/* Maps a CDR push (seed 001). Returns 0, or -1 after writing a message naming the field. */
int push_cdr_map(const cJSON *root, struct push_outcome *out, char *err, size_t errlen);

/* Maps an AI call-record push (seed 004). Returns 0, or -1 after writing a message. */
int push_ai_map(const cJSON *root, struct push_outcome *out, char *err, size_t errlen);

/*
 * The end status an AI resultStatus stands for (ANSWERED -> "ok", NO_ANSWER -> "notAnswer",
 * BUSY -> "busy", ...), and through *answered whether a person answered. NULL when the value
 * is not in seed 004's list.
 */
const char *push_ai_status(const char *result_status, int *answered);

#endif
