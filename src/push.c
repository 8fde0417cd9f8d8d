/* Push mapping: CDR (seed 001) and AI call-record (seed 004) pushes to one attempt outcome. */
#include "push.h"

#include "outcome.h"
#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Most commas push_json_parse() inserts into one body. */
#define PUSH_MAX_REPAIRS 16
/* Unix seconds accepted in a push: up to 9999-12-31. */
#define PUSH_MAX_UNIX_S 253402300799.0
/* Attempt ids are bigserial values the daemon wrote; JSON numbers are exact up to 2^53 - 1. */
#define PUSH_MAX_ATTEMPT_ID 9007199254740991LL

/* Copies at most 40 bytes of a value for a message, as printable ASCII (anything else '?'),
 * so that an echoed value can neither break the JSON reply nor a log line. */
static const char *push_echo(const char *s, char *buf, size_t len)
{
    size_t i = 0;

    for (; s && s[i] && i < 40 && i + 1 < len; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
    buf[i] = '\0';
    if (s && s[i] && i + 4 < len)
        snprintf(buf + i, len - i, "...");
    return buf;
}

/* Whether bytes [from, to) are JSON white space only. */
static int push_blank(const char *from, const char *to)
{
    for (; from < to; from++)
        if (*from != ' ' && *from != '\t' && *from != '\n' && *from != '\r')
            return 0;
    return 1;
}

/*
 * Whether the parse error at `at` is a missing comma between two members on separate lines:
 * a string starts there, only white space with a newline lies before it, and before that a
 * value ended. Sets *ins to where the comma goes.
 */
static int push_comma_missing(const char *t, size_t len, size_t at, size_t *ins)
{
    size_t k = at;
    int newline = 0;
    char c;

    if (at >= len || t[at] != '"')
        return 0;
    while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == '\t' || t[k - 1] == '\r' || t[k - 1] == '\n')) {
        newline |= t[k - 1] == '\n';
        k--;
    }
    if (k == 0 || !newline)
        return 0;
    c = t[k - 1];
    if (c != '"' && c != '}' && c != ']' && !isdigit((unsigned char)c) && c != 'e' && c != 'l')
        return 0;
    *ins = k;
    return 1;
}

/* Parses, inserting a missing comma between lines at most PUSH_MAX_REPAIRS times. */
cJSON *push_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    char *copy = NULL;
    const char *cur = text;
    size_t clen = len;

    if (len == 0) {
        snprintf(err, errlen, "the request has no body; a JSON object is expected");
        return NULL;
    }
    for (int fixes = 0;; fixes++) {
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(cur, clen, &end, 0);
        size_t at, ins;
        char *n;

        if (j && end && push_blank(end, cur + clen)) {
            free(copy);
            return j;
        }
        if (j) {
            /* "{}xyz": a value followed by something else is not one JSON document. */
            snprintf(err, errlen, "the body is not valid JSON: data after the value at byte %zu",
                     (size_t)(end - cur) - (size_t)fixes);
            cJSON_Delete(j);
            free(copy);
            return NULL;
        }
        at = (end && end >= cur && end <= cur + clen) ? (size_t)(end - cur) : clen;
        if (fixes >= PUSH_MAX_REPAIRS || !push_comma_missing(cur, clen, at, &ins)) {
            snprintf(err, errlen, "the body is not valid JSON (near byte %zu)",
                     at >= (size_t)fixes ? at - (size_t)fixes : 0);
            free(copy);
            return NULL;
        }
        n = malloc(clen + 1);
        if (n == NULL) {
            snprintf(err, errlen, "out of memory");
            free(copy);
            return NULL;
        }
        memcpy(n, cur, ins);
        n[ins] = ',';
        memcpy(n + ins + 1, cur + ins, clen - ins);
        free(copy);
        copy = n;
        cur = n;
        clen++;
    }
}

/*
 * Reads an optional whole number (a JSON number, or a decimal string as some senders write
 * them) within [min, max]. Returns 0, 1 when absent or null, -1 after writing a message.
 */
static int push_int(const cJSON *obj, const char *field, const char *path, double min, double max,
                    int64_t *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    char echo[48];
    double d;

    *out = 0;
    if (v == NULL || cJSON_IsNull(v))
        return 1;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        char *end;
        const char *s = v->valuestring;
        if (s[0] == '\0' || !(isdigit((unsigned char)s[0]) || s[0] == '-')) {
            snprintf(err, errlen, "%s: \"%s\" is not a whole number", path, push_echo(s, echo, sizeof(echo)));
            return -1;
        }
        d = strtod(s, &end);
        if (*end != '\0') {
            snprintf(err, errlen, "%s: \"%s\" is not a whole number", path, push_echo(s, echo, sizeof(echo)));
            return -1;
        }
    } else {
        snprintf(err, errlen, "%s: must be a whole number", path);
        return -1;
    }
    if (!isfinite(d) || d != floor(d) || d < min || d > max) {
        snprintf(err, errlen, "%s: %.17g is out of range; accepted: whole numbers %.0f..%.0f",
                 path, d, min, max);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/*
 * Reads an optional string of at most `max` bytes of UTF-8. Returns 0 (NULL in *out when
 * absent or null), -1 after writing a message. *out points into the tree.
 */
static int push_str(const cJSON *obj, const char *field, const char *path, size_t max,
                    const char **out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    size_t n;

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "%s: must be a string or null", path);
        return -1;
    }
    n = strlen(v->valuestring);
    if (n > max) {
        snprintf(err, errlen, "%s: longer than %zu characters", path, max);
        return -1;
    }
    if (!util_utf8_valid(v->valuestring, n)) {
        snprintf(err, errlen, "%s: not valid UTF-8; accepted: UTF-8 text", path);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/*
 * Parses an attempt id: 1..16 decimal digits, then the end of the text or, when `rest_ok`,
 * one of ':' '|' ';' ','. Returns the id, or 0 when malformed.
 */
static int64_t push_attempt_id(const char *s, int rest_ok)
{
    int64_t v = 0;
    size_t n = 0;

    for (; isdigit((unsigned char)s[n]); n++) {
        if (n >= 16)
            return 0;
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0 || v < 1 || v > PUSH_MAX_ATTEMPT_ID)
        return 0;
    if (s[n] == '\0' || (rest_ok && strchr(":|;,", s[n]) != NULL))
        return v;
    return 0;
}

/* Validates an end status and keeps its canonical spelling (or "unknown", flagged). */
static int push_end_status(const char *field, const char *sent, struct push_outcome *out,
                           char *err, size_t errlen)
{
    const char *canon;

    if (sent == NULL || sent[0] == '\0') {
        snprintf(err, errlen, "%s: required; accepted: a seed-000 EndStatusString such as ok, "
                 "notAnswer, busy, userReject, powerOff, numberNotExist", field);
        return -1;
    }
    canon = outcome_end_status(sent);
    /* As on /v1/calls/events: outside the vocabulary is recorded as unknown, not refused. */
    out->end_status = canon ? canon : "unknown";
    out->end_status_unknown = canon == NULL;
    snprintf(out->end_status_sent, sizeof(out->end_status_sent), "%s", sent);
    return 0;
}

/* Whether a field holds an object (or is absent / null when optional). */
static int push_object(const cJSON *v, const char *path, char *err, size_t errlen)
{
    if (v == NULL || cJSON_IsNull(v) || cJSON_IsObject(v))
        return 0;
    snprintf(err, errlen, "%s: must be an object or null", path);
    return -1;
}

/* Concatenates IVRKeyPressed (["1","2"]) into keys. */
static int push_cdr_keys(const cJSON *root, struct push_outcome *out, char *err, size_t errlen)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "IVRKeyPressed"), *k;
    size_t used = 0;
    int i = 0;

    if (arr == NULL || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen, "IVRKeyPressed: must be an array of strings or null");
        return -1;
    }
    cJSON_ArrayForEach(k, arr) {
        size_t n;
        if (!cJSON_IsString(k)) {
            snprintf(err, errlen, "IVRKeyPressed[%d]: must be a string", i);
            return -1;
        }
        n = strlen(k->valuestring);
        if (used + n >= sizeof(out->keys)) {
            snprintf(err, errlen, "IVRKeyPressed: more than %zu characters of keys",
                     sizeof(out->keys) - 1);
            return -1;
        }
        if (!util_utf8_valid(k->valuestring, n)) {
            snprintf(err, errlen, "IVRKeyPressed[%d]: not valid UTF-8", i);
            return -1;
        }
        memcpy(out->keys + used, k->valuestring, n);
        used += n;
        i++;
    }
    out->keys[used] = '\0';
    return 0;
}

/*
 * When an agent took the call: the first ServeParticipants entry with an AcceptTimestamp.
 * Writes 0 when none did.
 */
static int push_cdr_agent_accept(const cJSON *root, int64_t *accept_s, char *err, size_t errlen)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "ServeParticipants"), *p;
    int i = 0;

    *accept_s = 0;
    if (arr == NULL || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen, "ServeParticipants: must be an array of objects or null");
        return -1;
    }
    cJSON_ArrayForEach(p, arr) {
        char path[64];
        int64_t t;
        if (!cJSON_IsObject(p)) {
            snprintf(err, errlen, "ServeParticipants[%d]: must be an object", i);
            return -1;
        }
        snprintf(path, sizeof(path), "ServeParticipants[%d].AcceptTimestamp", i);
        if (push_int(p, "AcceptTimestamp", path, 0, PUSH_MAX_UNIX_S, &t, err, errlen) < 0)
            return -1;
        if (t > 0 && *accept_s == 0)
            *accept_s = t;
        i++;
    }
    return 0;
}

/* CDR push (seed 001). */
int push_cdr_map(const cJSON *root, struct push_outcome *out, char *err, size_t errlen)
{
    const char *uui, *session, *status, *side, *staff = NULL, *user = NULL;
    const cJSON *seat;
    int64_t ring, accept, ended, start, agent_accept;
    char echo[48];

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    if (push_str(root, "Uui", "Uui", 1024, &uui, err, errlen) < 0 ||
        push_str(root, "SessionId", "SessionId", sizeof(out->session_id) - 1, &session, err, errlen) < 0)
        return -1;
    out->attempt_id = uui ? push_attempt_id(uui, 1) : 0;
    push_echo(uui ? uui : "", out->uui, sizeof(out->uui));
    /* No id in Uui: the carrier's session id still names the call (the dial returned it). */
    if (out->attempt_id == 0 && (session == NULL || session[0] == '\0')) {
        if (uui == NULL)
            snprintf(err, errlen, "Uui: required when there is no SessionId; it carries the "
                     "attempt id dialerd dialed with");
        else
            snprintf(err, errlen, "Uui: \"%s\" does not start with an attempt id and there is "
                     "no SessionId; accepted: the attempt id (1..%lld) in decimal, optionally "
                     "followed by ':', '|', ';' or ',' and other data, or the carrier's SessionId",
                     push_echo(uui, echo, sizeof(echo)), (long long)PUSH_MAX_ATTEMPT_ID);
        return -1;
    }
    if (push_str(root, "EndStatusString", "EndStatusString", sizeof(out->end_status_sent) - 1,
                 &status, err, errlen) < 0 ||
        push_end_status("EndStatusString", status, out, err, errlen) < 0 ||
        push_str(root, "HungUpSide", "HungUpSide", 31, &side, err, errlen) < 0 ||
        push_int(root, "RingTimestamp", "RingTimestamp", 0, PUSH_MAX_UNIX_S, &ring, err, errlen) < 0 ||
        push_int(root, "AcceptTimestamp", "AcceptTimestamp", 0, PUSH_MAX_UNIX_S, &accept, err, errlen) < 0 ||
        push_int(root, "EndedTimestamp", "EndedTimestamp", 0, PUSH_MAX_UNIX_S, &ended, err, errlen) < 0 ||
        push_int(root, "StartTimestamp", "StartTimestamp", 0, PUSH_MAX_UNIX_S, &start, err, errlen) < 0)
        return -1;
    /* Seed 000 / 001: HungUpSide is seat, user or system; the events route says agent / callee. */
    if (side == NULL || side[0] == '\0')
        out->hangup_side = NULL;
    else if (strcmp(side, "user") == 0)
        out->hangup_side = "callee";
    else if (strcmp(side, "seat") == 0)
        out->hangup_side = "agent";
    else if (strcmp(side, "system") == 0)
        out->hangup_side = "system";
    else {
        snprintf(err, errlen, "HungUpSide: \"%s\" is not a hang-up side; accepted: user, seat, "
                 "system", push_echo(side, echo, sizeof(echo)));
        return -1;
    }
    seat = cJSON_GetObjectItemCaseSensitive(root, "SeatUser");
    if (push_object(seat, "SeatUser", err, errlen) < 0)
        return -1;
    if (cJSON_IsObject(seat) &&
        (push_str(seat, "StaffNumber", "SeatUser.StaffNumber", sizeof(out->agent_id) - 1, &staff,
                  err, errlen) < 0 ||
         push_str(seat, "UserId", "SeatUser.UserId", sizeof(out->agent_id) - 1, &user, err, errlen) < 0))
        return -1;
    if (push_cdr_agent_accept(root, &agent_accept, err, errlen) < 0 ||
        push_cdr_keys(root, out, err, errlen) < 0)
        return -1;
    if (session)
        snprintf(out->session_id, sizeof(out->session_id), "%s", session);
    out->ringing_ms = ring * 1000;
    out->ended_ms = ended * 1000;
    /* Outbound: AcceptTimestamp is when the callee answered (0: never). */
    out->answered = accept > 0;
    out->answered_ms = accept * 1000;
    if (out->answered) {
        /* Seed 001 names the agent by StaffNumber ("Agent ID"), else by UserId. */
        const char *agent = staff && staff[0] ? staff : user && user[0] ? user : NULL;
        if (agent_accept > 0 || agent) {
            out->connected = 1;
            out->connected_ms = (agent_accept > accept ? agent_accept : accept) * 1000;
            if (agent)
                snprintf(out->agent_id, sizeof(out->agent_id), "%s", agent);
        }
    }
    (void)start;                  /* validated; the attempt's own created_at is the start */
    return 0;
}

/* Seed 004 resultStatus values and the seed-000 end status each stands for. */
static const struct {
    const char *result;
    const char *end_status;
    int answered;
} push_ai_statuses[] = {
    { "ANSWERED", "ok", 1 },
    { "NO_ANSWER", "notAnswer", 0 },
    { "BUSY", "busy", 0 },
    { "POWER_OFF", "powerOff", 0 },
    { "OUT_OF_SERVICE", "outOfCredit", 0 },      /* "shutdown": service suspended, in arrears */
    { "REFUSED", "userReject", 0 },
    { "VACANT_NUMBER", "numberNotExist", 0 },
    { "CAN_NOT_CONNECT", "notInService", 0 },    /* unreachable */
    { "FROM_PHONE_ERROR", "operatorError", 0 },  /* our caller line is in arrears */
    { "SYSTEM_ERROR", "clientError", 0 },        /* the platform failed to place the call */
    { "CALL_LOSS", "operatorError", 0 },         /* lost in the network before an answer */
    { "TRANSFER_ARTIFICIAL", "abandoned", 1 },   /* answered, lost on transfer to a person */
};

#define PUSH_N_AI (sizeof(push_ai_statuses) / sizeof(push_ai_statuses[0]))

/* Looks up a resultStatus. */
const char *push_ai_status(const char *result_status, int *answered)
{
    for (size_t i = 0; result_status && i < PUSH_N_AI; i++) {
        if (strcmp(result_status, push_ai_statuses[i].result) == 0) {
            if (answered)
                *answered = push_ai_statuses[i].answered;
            return push_ai_statuses[i].end_status;
        }
    }
    return NULL;
}

/* Maps hangupBy, whose vocabulary seed 004 leaves open: known words only, else unknown. */
static const char *push_ai_side(const char *s)
{
    static const struct { const char *word, *side; } words[] = {
        { "customer", "callee" }, { "user", "callee" }, { "callee", "callee" },
        { "person", "callee" }, { "human", "callee" },
        { "robot", "agent" }, { "ai", "agent" }, { "seat", "agent" }, { "agent", "agent" },
        { "system", "system" }, { "platform", "system" },
    };

    for (size_t i = 0; s && i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(s, words[i].word) == 0)
            return words[i].side;
    return NULL;
}

/* AI call-record push (seed 004). */
int push_ai_map(const cJSON *root, struct push_outcome *out, char *err, size_t errlen)
{
    const cJSON *props, *idv;
    const char *call_id, *result, *hangup;
    int64_t start, end, chat;
    char echo[48];

    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    props = cJSON_GetObjectItemCaseSensitive(root, "properties");
    if (props == NULL || cJSON_IsNull(props)) {
        snprintf(err, errlen, "properties: required; the dial's custom variables carry attempt_id");
        return -1;
    }
    if (!cJSON_IsObject(props)) {
        snprintf(err, errlen, "properties: must be an object");
        return -1;
    }
    idv = cJSON_GetObjectItemCaseSensitive(props, "attempt_id");
    if (cJSON_IsString(idv)) {
        out->attempt_id = push_attempt_id(idv->valuestring, 0);
        if (out->attempt_id == 0) {
            snprintf(err, errlen, "properties.attempt_id: \"%s\" is not an attempt id; accepted: "
                     "1..%lld in decimal", push_echo(idv->valuestring, echo, sizeof(echo)),
                     (long long)PUSH_MAX_ATTEMPT_ID);
            return -1;
        }
    } else if (cJSON_IsNumber(idv)) {
        if (push_int(props, "attempt_id", "properties.attempt_id", 1, (double)PUSH_MAX_ATTEMPT_ID,
                     &out->attempt_id, err, errlen) < 0)
            return -1;
    } else {
        snprintf(err, errlen, "properties.attempt_id: %s; accepted: the attempt id as a decimal "
                 "string or a whole number", idv == NULL || cJSON_IsNull(idv) ? "required" :
                 "must be a string or a number");
        return -1;
    }
    if (push_str(root, "callId", "callId", sizeof(out->session_id) - 1, &call_id, err, errlen) < 0 ||
        push_str(root, "resultStatus", "resultStatus", 31, &result, err, errlen) < 0 ||
        push_int(root, "startTime", "startTime", 0, PUSH_MAX_UNIX_S, &start, err, errlen) < 0 ||
        push_int(root, "endTime", "endTime", 0, PUSH_MAX_UNIX_S, &end, err, errlen) < 0 ||
        push_int(root, "chatDuration", "chatDuration", 0, 86400.0 * 365, &chat, err, errlen) < 0 ||
        push_str(root, "hangupBy", "hangupBy", 31, &hangup, err, errlen) < 0)
        return -1;
    out->end_status = push_ai_status(result, &out->answered);
    if (out->end_status == NULL) {
        char list[400] = "";
        size_t o = 0;
        for (size_t i = 0; i < PUSH_N_AI && o < sizeof(list); i++)
            o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
                                  push_ai_statuses[i].result);
        if (result == NULL)
            snprintf(err, errlen, "resultStatus: required; accepted: %s", list);
        else
            snprintf(err, errlen, "resultStatus: \"%s\" is not a call result; accepted: %s",
                     push_echo(result, echo, sizeof(echo)), list);
        return -1;
    }
    snprintf(out->end_status_sent, sizeof(out->end_status_sent), "%s", result);
    if (call_id)
        snprintf(out->session_id, sizeof(out->session_id), "%s", call_id);
    out->hangup_side = push_ai_side(hangup);
    out->ended_ms = end * 1000;
    if (out->answered) {
        /* The talk ended at endTime and lasted chatDuration; else the dial start will do. */
        if (end > 0 && chat > 0 && chat <= end - start)
            out->answered_ms = (end - chat) * 1000;
        else
            out->answered_ms = start * 1000;
    }
    return 0;
}
