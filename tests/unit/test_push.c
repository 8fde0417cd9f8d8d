/* Unit tests for push mapping: the seed-001 sample verbatim, seed-004 statuses, bad shapes, fuzz. */
#include "push.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a fixture (tests run from the repository root). Caller frees. */
static char *read_fixture(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* Replaces the first occurrence of `from` in text (a fresh malloc'd copy). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);

    if (at == NULL) {
        snprintf(out, n, "%s", text);
        return out;
    }
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

/* Parses then maps a CDR body; returns the map result, -2 when it is not even JSON. */
static int cdr(const char *text, struct push_outcome *o, char *err, size_t len)
{
    cJSON *j = push_json_parse(text, strlen(text), err, len);
    int rc;

    if (j == NULL)
        return -2;
    rc = push_cdr_map(j, o, err, len);
    cJSON_Delete(j);
    return rc;
}

/* Parses then maps an AI body. */
static int ai(const char *text, struct push_outcome *o, char *err, size_t len)
{
    cJSON *j = push_json_parse(text, strlen(text), err, len);
    int rc;

    if (j == NULL)
        return -2;
    rc = push_ai_map(j, o, err, len);
    cJSON_Delete(j);
    return rc;
}

/* The seed-001 sample, byte for byte (it lacks a comma after "Zhang San"). */
static void test_cdr_sample(void)
{
    size_t len = 0;
    char *sample = read_fixture("tests/fixtures/seed001_cdr_sample.json", &len), *fixed;
    struct push_outcome o;
    char err[600];
    cJSON *j;

    ok(sample != NULL, "the seed-001 sample fixture is readable");
    if (sample == NULL)
        return;
    ok(cJSON_ParseWithLength(sample, len) == NULL, "the sample is not strict JSON (missing comma)");
    j = push_json_parse(sample, len, err, sizeof(err));
    ok(j != NULL, "push_json_parse takes the sample verbatim");
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "SeatUser"), "Nick")),
           "Youyou", "the member after the missing comma is read");
    is_int(push_cdr_map(j, &o, err, sizeof(err)), 0, "the verbatim sample maps");
    is_int(o.attempt_id, 0, "its Uui \"abc\" holds no attempt id: 0, to be found by SessionId");
    is_str(o.uui, "abc", "the Uui is kept for the message should the lookup fail");
    is_str(o.session_id, "99a1c8f8-eb3d-4xxx-8401-5f6aa8761232", "SessionId -> session id");
    is_str(o.end_status, "numberNotExist", "EndStatusString mapped");
    is_str(o.hangup_side, "agent", "HungUpSide seat -> agent");
    cJSON_Delete(j);

    fixed = replace(sample, "\"Uui\": \"abc\"", "\"Uui\": \"42\"");
    is_int(cdr(fixed, &o, err, sizeof(err)), 0, "with an attempt id in Uui the sample maps");
    is_int(o.attempt_id, 42, "attempt id from Uui");
    is_str(o.end_status, "numberNotExist", "EndStatusString mapped");
    is_str(o.hangup_side, "agent", "HungUpSide seat -> agent");
    is_str(o.session_id, "99a1c8f8-eb3d-4xxx-8401-5f6aa8761232", "SessionId -> session id");
    is_int(o.ringing_ms, 1677140072000LL, "RingTimestamp -> ringing (ms)");
    is_int(o.answered, 0, "AcceptTimestamp 0: not answered");
    is_int(o.connected, 0, "not answered: not connected either");
    is_str(o.agent_id, "", "no agent recorded for an unanswered call");
    is_int(o.ended_ms, 1677140081000LL, "EndedTimestamp -> ended (ms)");
    is_str(o.keys, "", "IVRKeyPressed null: no keys");
    free(fixed);

    fixed = replace(sample, "\"Uui\": \"abc\"", "\"Uui\": \"42:abc\"");
    is_int(cdr(fixed, &o, err, sizeof(err)), 0, "Uui \"42:abc\": the id, then the caller's data");
    is_int(o.attempt_id, 42, "attempt id before the separator");
    free(fixed);
    free(sample);
}

/* An answered CDR: agent from SeatUser, connect time from ServeParticipants. */
static void test_cdr_answered(void)
{
    struct push_outcome o;
    char err[600];
    const char *b =
        "{\"Uui\":\"7\",\"EndStatusString\":\"ok\",\"HungUpSide\":\"user\",\"RingTimestamp\":100,"
        "\"AcceptTimestamp\":105,\"EndedTimestamp\":200,\"SeatUser\":{\"StaffNumber\":\"8546\","
        "\"UserId\":\"z@x\"},\"ServeParticipants\":[{\"AcceptTimestamp\":0},{\"AcceptTimestamp\":107}],"
        "\"IVRKeyPressed\":[\"1\",\"2\",\"3\"]}";

    is_int(cdr(b, &o, err, sizeof(err)), 0, "an answered CDR maps");
    is_int(o.answered_ms, 105000, "answered at AcceptTimestamp");
    is_int(o.connected, 1, "an agent accepted: connected");
    is_int(o.connected_ms, 107000, "at the first participant's AcceptTimestamp");
    is_str(o.agent_id, "8546", "agent = SeatUser.StaffNumber");
    is_str(o.hangup_side, "callee", "HungUpSide user -> callee");
    is_str(o.keys, "123", "IVRKeyPressed concatenated");
    is_int(cdr("{\"Uui\":\"7\",\"EndStatusString\":\"ok\",\"AcceptTimestamp\":105,"
               "\"SeatUser\":{\"UserId\":\"z@x\"}}", &o, err, sizeof(err)), 0, "UserId when no StaffNumber");
    is_str(o.agent_id, "z@x", "agent = SeatUser.UserId");
    is_int(o.connected_ms, 105000, "no participant time: connected when answered");
    is_int(cdr("{\"Uui\":\"7\",\"EndStatusString\":\"martian\"}", &o, err, sizeof(err)), 0,
           "an end status outside the vocabulary is accepted");
    is_str(o.end_status, "unknown", "as unknown");
    is_int(o.end_status_unknown, 1, "and flagged for the log");
}

/* Every wrong shape is refused with the field named, never a crash. */
static void test_cdr_bad(void)
{
    static const struct { const char *body, *want; } cases[] = {
        { "[]", "must be a JSON object" },
        { "{\"EndStatusString\":\"ok\"}", "Uui: required when there is no SessionId" },
        { "{\"Uui\":\"abc\",\"SessionId\":\"\",\"EndStatusString\":\"ok\"}",
          "Uui: \"abc\" does not start with an attempt id and there is no SessionId" },
        { "{\"Uui\":7,\"EndStatusString\":\"ok\"}", "Uui: must be a string" },
        { "{\"Uui\":\"0\",\"EndStatusString\":\"ok\"}", "Uui: \"0\" does not start with an attempt id" },
        { "{\"Uui\":\"1\",\"SessionId\":7,\"EndStatusString\":\"ok\"}", "SessionId: must be a string" },
        { "{\"Uui\":\"99999999999999999\",\"EndStatusString\":\"ok\"}", "does not start with an attempt id" },
        { "{\"Uui\":\"12x\",\"EndStatusString\":\"ok\"}", "Uui: \"12x\"" },
        { "{\"Uui\":\"1\"}", "EndStatusString: required" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"\"}", "EndStatusString: required" },
        { "{\"Uui\":\"1\",\"EndStatusString\":5}", "EndStatusString: must be a string" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"HungUpSide\":\"moon\"}",
          "HungUpSide: \"moon\" is not a hang-up side; accepted: user, seat, system" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"RingTimestamp\":\"abc\"}",
          "RingTimestamp: \"abc\" is not a whole number" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"RingTimestamp\":1.5}", "RingTimestamp: 1.5 is out of range" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"EndedTimestamp\":-1}", "EndedTimestamp: -1 is out of range" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"AcceptTimestamp\":1e300}", "AcceptTimestamp: 1.0000000000000001e+300 is out of range" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"AcceptTimestamp\":[]}", "AcceptTimestamp: must be a whole number" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"SeatUser\":[]}", "SeatUser: must be an object or null" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"SeatUser\":{\"StaffNumber\":1}}",
          "SeatUser.StaffNumber: must be a string" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"ServeParticipants\":{}}", "ServeParticipants: must be an array" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"ServeParticipants\":[1]}", "ServeParticipants[0]: must be an object" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"ServeParticipants\":[{},{\"AcceptTimestamp\":\"x\"}]}",
          "ServeParticipants[1].AcceptTimestamp: \"x\" is not a whole number" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"IVRKeyPressed\":\"12\"}", "IVRKeyPressed: must be an array" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"IVRKeyPressed\":[\"1\",2]}", "IVRKeyPressed[1]: must be a string" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"SessionId\":\"\xff\xfe\"}", "SessionId: not valid UTF-8" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\"} x", "data after the value" },
        { "{\"Uui\":\"1\",\"EndStatusString\":\"ok\"", "not valid JSON" },
        { "", "no body" },
    };
    struct push_outcome o;
    char err[600];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char desc[160];
        int rc = cdr(cases[i].body, &o, err, sizeof(err));
        snprintf(desc, sizeof(desc), "CDR refused: %s", cases[i].want);
        ok(rc < 0, desc);
        has_str(err, cases[i].want, desc);
    }
    {
        char keys[400] = "{\"Uui\":\"1\",\"EndStatusString\":\"ok\",\"IVRKeyPressed\":[";
        for (int i = 0; i < 33; i++)
            strcat(keys, i ? ",\"12\"" : "\"12\"");
        strcat(keys, "]}");
        ok(cdr(keys, &o, err, sizeof(err)) < 0, "more than 63 key characters are refused");
        has_str(err, "IVRKeyPressed: more than 63 characters", "naming the field");
    }
}

/* Seed 004 resultStatus mapping, every value. */
static void test_ai_statuses(void)
{
    static const struct { const char *result, *status; int answered; } map[] = {
        { "ANSWERED", "ok", 1 }, { "NO_ANSWER", "notAnswer", 0 }, { "BUSY", "busy", 0 },
        { "POWER_OFF", "powerOff", 0 }, { "OUT_OF_SERVICE", "outOfCredit", 0 },
        { "REFUSED", "userReject", 0 }, { "VACANT_NUMBER", "numberNotExist", 0 },
        { "CAN_NOT_CONNECT", "notInService", 0 }, { "FROM_PHONE_ERROR", "operatorError", 0 },
        { "SYSTEM_ERROR", "clientError", 0 }, { "CALL_LOSS", "operatorError", 0 },
        { "TRANSFER_ARTIFICIAL", "abandoned", 1 },
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        char desc[120];
        int answered = -1;
        snprintf(desc, sizeof(desc), "resultStatus %s -> %s (answered %d)", map[i].result,
                 map[i].status, map[i].answered);
        is_str(push_ai_status(map[i].result, &answered), map[i].status, desc);
        is_int(answered, map[i].answered, desc);
    }
    ok(push_ai_status("answered", NULL) == NULL, "resultStatus is case-sensitive");
    ok(push_ai_status(NULL, NULL) == NULL, "no resultStatus maps to nothing");
}

/* The seed-004 fixture and AI bad shapes. */
static void test_ai_push(void)
{
    size_t len = 0;
    char *fx = read_fixture("tests/fixtures/seed004_ai_push.json", &len);
    struct push_outcome o;
    char err[600];

    ok(fx != NULL, "the seed-004 fixture is readable");
    if (fx) {
        is_int(ai(fx, &o, err, sizeof(err)), 0, "the seed-004 push maps");
        is_int(o.attempt_id, 1, "attempt id from properties.attempt_id");
        is_str(o.end_status, "ok", "ANSWERED -> ok");
        is_int(o.answered, 1, "answered");
        is_int(o.answered_ms, (1700000075LL - 62) * 1000, "answered at endTime - chatDuration");
        is_int(o.ended_ms, 1700000075000LL, "ended at endTime");
        is_str(o.hangup_side, "callee", "hangupBy CUSTOMER -> callee");
        is_str(o.session_id, "ai-call-7d1f0c2e", "callId -> session id");
        free(fx);
    }
    is_int(ai("{\"properties\":{\"attempt_id\":9},\"resultStatus\":\"BUSY\"}", &o, err, sizeof(err)), 0,
           "attempt_id may be a number");
    is_int(o.attempt_id, 9, "...and is read");
    is_int(o.answered, 0, "BUSY: not answered");
    ok(o.hangup_side == NULL, "no hangupBy: side unknown");
    ok(ai("{\"resultStatus\":\"BUSY\"}", &o, err, sizeof(err)) < 0, "no properties: refused");
    has_str(err, "properties: required", "naming properties");
    ok(ai("{\"properties\":[],\"resultStatus\":\"BUSY\"}", &o, err, sizeof(err)) < 0, "properties not an object");
    has_str(err, "properties: must be an object", "naming it");
    ok(ai("{\"properties\":{},\"resultStatus\":\"BUSY\"}", &o, err, sizeof(err)) < 0, "no attempt_id");
    has_str(err, "properties.attempt_id: required", "naming properties.attempt_id");
    ok(ai("{\"properties\":{\"attempt_id\":\"1; DROP TABLE x\"},\"resultStatus\":\"BUSY\"}", &o, err,
          sizeof(err)) < 0, "an attempt_id with anything after the digits");
    has_str(err, "properties.attempt_id: \"1; DROP TABLE x\" is not an attempt id", "echoed and named");
    ok(ai("{\"properties\":{\"attempt_id\":true},\"resultStatus\":\"BUSY\"}", &o, err, sizeof(err)) < 0,
       "an attempt_id of the wrong type");
    ok(ai("{\"properties\":{\"attempt_id\":\"1\"},\"resultStatus\":\"MAYBE\"}", &o, err, sizeof(err)) < 0,
       "an unknown resultStatus");
    has_str(err, "resultStatus: \"MAYBE\" is not a call result; accepted: ANSWERED, NO_ANSWER, BUSY",
            "lists the accepted values");
    ok(ai("{\"properties\":{\"attempt_id\":\"1\"}}", &o, err, sizeof(err)) < 0, "no resultStatus");
    has_str(err, "resultStatus: required", "naming it");
    ok(ai("{\"properties\":{\"attempt_id\":\"1\"},\"resultStatus\":\"BUSY\",\"endTime\":\"soon\"}", &o,
          err, sizeof(err)) < 0, "a non-numeric endTime");
    has_str(err, "endTime: \"soon\" is not a whole number", "naming endTime");
    ok(ai("{\"properties\":{\"attempt_id\":\"1\"},\"resultStatus\":\"BUSY\",\"hangupBy\":3}", &o,
          err, sizeof(err)) < 0, "a hangupBy that is not a string");
    has_str(err, "hangupBy: must be a string", "naming hangupBy");
}

/* Deep nesting and the comma repair's bounds. */
static void test_parse_limits(void)
{
    size_t n = 100000;
    char *deep = malloc(2 * n + 1), err[300];
    cJSON *j;

    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    j = push_json_parse(deep, 2 * n, err, sizeof(err));
    ok(j == NULL, "100k nested arrays are refused, not recursed into");
    has_str(err, "not valid JSON", "as invalid JSON");
    free(deep);
    {
        /* 20 missing commas: more than the 16 repairs allowed. */
        char body[800] = "{\"a\":1";
        for (int i = 0; i < 20; i++) {
            char m[32];
            snprintf(m, sizeof(m), "\n\"k%d\":%d", i, i);
            strcat(body, m);
        }
        strcat(body, "}");
        ok(push_json_parse(body, strlen(body), err, sizeof(err)) == NULL, "at most 16 commas are inserted");
    }
    j = push_json_parse("{\"a\":1 \"b\":2}", 13, err, sizeof(err));
    ok(j == NULL, "a missing comma on the same line is not repaired");
    cJSON_Delete(j);
}

/* Mutations of the sample: every one parses-and-maps or is refused with a message; none
 * crashes (run under ASan / UBSan with `make test SAN=1`). Deterministic and bounded. */
static void test_fuzz(void)
{
    size_t len = 0;
    char *sample = read_fixture("tests/fixtures/seed001_cdr_sample.json", &len);
    static const char alphabet[] = "{}[]\",:0123456789.-eE\\ \n\tnulltrue\xff\x01";
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int silent = 0, runs = 0;

    if (sample == NULL)
        return;
    for (int i = 0; i < 20000; i++) {
        char *m = malloc(len + 1), err[600] = "";
        struct push_outcome o;
        cJSON *j;
        memcpy(m, sample, len + 1);
        for (int k = 0; k < 1 + i % 4; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            m[x % len] = alphabet[(x >> 32) % (sizeof(alphabet) - 1)];
        }
        j = push_json_parse(m, len, err, sizeof(err));
        if (j) {
            if (push_cdr_map(j, &o, err, sizeof(err)) < 0 && err[0] == '\0')
                silent++;
            if (push_ai_map(j, &o, err, sizeof(err)) < 0 && err[0] == '\0')
                silent++;
            cJSON_Delete(j);
        } else if (err[0] == '\0') {
            silent++;
        }
        runs++;
        free(m);
    }
    is_int(runs, 20000, "20000 mutated samples went through parse and both mappings");
    is_int(silent, 0, "every refusal came with a message");
    free(sample);
}

int main(void)
{
    test_cdr_sample();
    test_cdr_answered();
    test_cdr_bad();
    test_ai_statuses();
    test_ai_push();
    test_parse_limits();
    test_fuzz();
    return tap_done();
}
