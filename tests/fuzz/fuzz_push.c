/* libFuzzer target for the push bodies: push_json_parse, push_cdr_map, push_ai_map, push_ai_status. */
#include "push.h"

#include "outcome.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Times a push may carry: Unix seconds up to 9999-12-31, in milliseconds. */
#define MAX_UNIX_MS (253402300799LL * 1000)
/* Attempt ids: exact JSON integers. */
#define MAX_ATTEMPT_ID 9007199254740991LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run with a message: libFuzzer saves the input that got here. */
static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_push: invariant violated: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    __builtin_trap();
}

/* An error message is non-empty, NUL-terminated and printable ASCII (it goes into JSON and logs). */
static void check_err(const char *err, size_t errlen, const char *who)
{
    const char *nul = memchr(err, '\0', errlen);

    if (nul == NULL || nul == err)
        fail("a refusal without a NUL-terminated message", who);
    for (const char *p = err; p < nul; p++)
        if (*p < 0x20 || *p > 0x7e)
            fail("a message holds a byte that is not printable ASCII", err);
}

/* A fixed-size string field is NUL-terminated inside its array and valid UTF-8. */
static void check_field(const char *s, size_t len, const char *name)
{
    const char *nul = memchr(s, '\0', len);

    if (nul == NULL)
        fail("a string field is not NUL-terminated", name);
    if (!util_utf8_valid(s, (size_t)(nul - s)))
        fail("a string field is not valid UTF-8", name);
}

/* Whether two static-or-NULL strings are the same text. */
static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether s is a canonical end status: outcome.h's vocabulary spells it the same way. */
static int canonical(const char *s)
{
    const char *c = s ? outcome_end_status(s) : NULL;

    return c != NULL && strcmp(c, s) == 0;
}

/* Whether a static string pointer is non-NULL and equal to one of the words in the list. */
static int one_of(const char *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s != NULL && strcmp(s, words[i]) == 0)
            return 1;
    return 0;
}

/* A mapped outcome keeps every promise of push.h. */
static void check_outcome(const struct push_outcome *o, int ai)
{
    static const char *const sides[] = { "callee", "agent", "system" };
    const int64_t times[] = { o->ringing_ms, o->answered_ms, o->connected_ms, o->ended_ms };

    check_field(o->uui, sizeof(o->uui), "uui");
    check_field(o->session_id, sizeof(o->session_id), "session_id");
    check_field(o->agent_id, sizeof(o->agent_id), "agent_id");
    check_field(o->end_status_sent, sizeof(o->end_status_sent), "end_status_sent");
    check_field(o->keys, sizeof(o->keys), "keys");
    for (const char *p = o->uui; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            fail("uui is not echoed as printable ASCII", o->uui);
    if (o->attempt_id < 0 || o->attempt_id > MAX_ATTEMPT_ID || (ai && o->attempt_id == 0))
        fail("attempt_id out of range", NULL);
    if (!ai && o->attempt_id == 0 && o->session_id[0] == '\0')
        fail("a CDR accepted with neither an attempt id nor a SessionId", NULL);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        if (times[i] < 0 || times[i] > MAX_UNIX_MS)
            fail("a time is out of 0..9999-12-31", NULL);
    if (!canonical(o->end_status))
        fail("end_status is not a canonical outcome.h spelling", o->end_status);
    if ((o->end_status_unknown != 0 && o->end_status_unknown != 1) ||
        (o->end_status_unknown && strcmp(o->end_status, "unknown") != 0))
        fail("end_status_unknown without end_status unknown", o->end_status);
    if (o->end_status_sent[0] == '\0')
        fail("end_status_sent is empty", NULL);
    if (!o->end_status_unknown && !ai &&
        !same_str(outcome_end_status(o->end_status_sent), o->end_status))
        fail("a known CDR end status was not kept as sent", o->end_status_sent);
    if (o->end_status_unknown && outcome_end_status(o->end_status_sent) != NULL)
        fail("a status in the vocabulary was flagged unknown", o->end_status_sent);
    if (ai) {
        int answered = -1;
        if (!same_str(push_ai_status(o->end_status_sent, &answered), o->end_status) ||
            answered != o->answered)
            fail("push_ai_map and push_ai_status disagree", o->end_status_sent);
    }
    if ((o->answered != 0 && o->answered != 1) || (o->connected != 0 && o->connected != 1))
        fail("answered / connected are not 0 or 1", NULL);
    if (o->connected && !o->answered)
        fail("connected without answered", NULL);
    if (o->agent_id[0] && !o->connected)
        fail("an agent id without connected", o->agent_id);
    if (!o->answered && (o->answered_ms != 0 || o->connected_ms != 0))
        fail("answer or connect time on an unanswered call", NULL);
    if (o->connected && o->connected_ms < o->answered_ms)
        fail("connected before answered", NULL);
    if (o->hangup_side != NULL && !one_of(o->hangup_side, sides, 3))
        fail("hangup_side outside callee / agent / system", o->hangup_side);
}

/* Both mappings of one tree: return code, message or outcome. */
struct mapped {
    int rc[2];
    char err[2][512];
    struct push_outcome out[2];
};

/* Maps a tree as a CDR push and as an AI push, checking each result. */
static void map_both(const cJSON *root, struct mapped *m)
{
    memset(m, 0, sizeof(*m));
    for (int ai = 0; ai < 2; ai++) {
        m->rc[ai] = ai ? push_ai_map(root, &m->out[ai], m->err[ai], sizeof(m->err[ai]))
                       : push_cdr_map(root, &m->out[ai], m->err[ai], sizeof(m->err[ai]));
        if (m->rc[ai] == 0)
            check_outcome(&m->out[ai], ai);
        else if (m->rc[ai] == -1)
            check_err(m->err[ai], sizeof(m->err[ai]), ai ? "push_ai_map" : "push_cdr_map");
        else
            fail("a mapping returned neither 0 nor -1", NULL);
    }
}

/* Whether two mappings say the same thing. */
static int same_mapped(const struct mapped *a, const struct mapped *b)
{
    for (int i = 0; i < 2; i++) {
        const struct push_outcome *x = &a->out[i], *y = &b->out[i];
        if (a->rc[i] != b->rc[i])
            return 0;
        if (a->rc[i] != 0) {
            if (strcmp(a->err[i], b->err[i]) != 0)
                return 0;
            continue;
        }
        if (x->attempt_id != y->attempt_id || strcmp(x->uui, y->uui) ||
            strcmp(x->session_id, y->session_id) || x->ringing_ms != y->ringing_ms ||
            x->answered != y->answered || x->answered_ms != y->answered_ms ||
            x->connected != y->connected || x->connected_ms != y->connected_ms ||
            x->ended_ms != y->ended_ms || strcmp(x->agent_id, y->agent_id) ||
            !same_str(x->end_status, y->end_status) ||
            x->end_status_unknown != y->end_status_unknown ||
            strcmp(x->end_status_sent, y->end_status_sent) ||
            !same_str(x->hangup_side, y->hangup_side) || strcmp(x->keys, y->keys))
            return 0;
    }
    return 1;
}

/*
 * Whether the tree holds a number cJSON does not print back exactly: inf and nan become null,
 * and a value whose %1.15g form is only within an epsilon of it is printed that way.
 */
static int has_lossy_number(const cJSON *j)
{
    for (; j; j = j->next) {
        if (cJSON_IsNumber(j)) {
            char buf[64];
            double d = j->valuedouble;
            if (!isfinite(d))
                return 1;
            snprintf(buf, sizeof(buf), "%1.15g", d);
            if (d != (double)j->valueint && strtod(buf, NULL) != d)
                return 1;
        }
        if (j->child && has_lossy_number(j->child))
            return 1;
    }
    return 0;
}

/* A parse refusal names a byte offset inside the body, when it names one. */
static void check_parse_err(const char *err, size_t errlen, size_t size)
{
    const char *at;

    check_err(err, errlen, "push_json_parse");
    at = strstr(err, "byte ");
    if (at && strtoull(at + 5, NULL, 10) > size)
        fail("push_json_parse names a byte past the end of the body", err);
}

/* push_ai_status on arbitrary text: NULL or a canonical status with answered 0 / 1. */
static void check_ai_status(const char *s)
{
    int answered = -1;
    const char *st = push_ai_status(s, &answered);

    if (st == NULL)
        return;
    if (!canonical(st) || (answered != 0 && answered != 1))
        fail("push_ai_status gave a status outside outcome.h", s);
    if (!same_str(push_ai_status(s, NULL), st))
        fail("push_ai_status depends on whether answered is asked for", s);
}

/* One input: a push body as the receiver gets it (not NUL-terminated). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], err2[512], *text, *printed;
    cJSON *root, *again, *rs;
    struct mapped first, second;

    err[0] = '\0';
    root = push_json_parse((const char *)data, size, err, sizeof(err));
    if (root == NULL) {
        check_parse_err(err, sizeof(err), size);
    } else {
        map_both(root, &first);
        rs = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "resultStatus") : NULL;
        if (cJSON_IsString(rs))
            check_ai_status(rs->valuestring);
        /* Printed back and parsed again, the same tree maps to the same outcome or message. */
        printed = cJSON_PrintUnformatted(root);
        if (printed != NULL) {
            err2[0] = '\0';
            again = push_json_parse(printed, strlen(printed), err2, sizeof(err2));
            if (again == NULL)
                fail("cJSON's printing of an accepted body is refused", err2);
            if (!has_lossy_number(root)) {
                map_both(again, &second);
                if (!same_mapped(&first, &second))
                    fail("the body printed back maps differently", printed);
            }
            cJSON_Delete(again);
            free(printed);
        }
        cJSON_Delete(root);
    }
    text = malloc(size + 1);
    if (text != NULL) {
        memcpy(text, data, size);
        text[size] = '\0';
        check_ai_status(text);
        free(text);
    }
    if (push_ai_status(NULL, NULL) != NULL)
        fail("push_ai_status(NULL) is not NULL", NULL);
    return 0;
}
