/* Unit tests for the SMS rules: triggers per outcome, due times, template rendering, verdicts. */
#include "outcome.h"
#include "smsrule.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

#define NOW 1700000000000LL

/* A campaign with every trigger on, feedback on '2', success 30 s after the end. */
static const struct sms_rule all_on = { 1, 1, 1, 1, 1, 30, '2' };

/* Decides the end of a call with status es; returns the triggers as "hangup,ring" text. */
static const char *ended(const struct sms_rule *r, const char *es, int rang, int answered,
                         int connected, int agentless, const char *keys, int64_t ended_ms,
                         struct sms_fire *fires, int *n_out)
{
    static char text[128];
    struct outcome_facts of = { answered, connected, agentless, es };
    struct outcome o;
    struct sms_facts f;
    struct sms_fire local[SMS_TRIGGER_N];
    struct sms_fire *out = fires ? fires : local;
    int n;

    outcome_classify(&of, &o);
    memset(&f, 0, sizeof(f));
    f.rang = rang;
    f.answered = answered;
    f.out = &o;
    f.keys = keys;
    f.ended_ms = ended_ms;
    n = sms_rule_decide(r, &f, NOW, out);
    text[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(text, ",");
        strcat(text, sms_trigger_name(out[i].trigger));
    }
    if (n_out)
        *n_out = n;
    return text;
}

/* Names and the "any trigger" test. */
static void test_names(void)
{
    struct sms_rule none = { 0, 0, 0, 0, 0, 1, 0 };

    is_str(sms_trigger_name(SMS_TRIGGER_HANGUP), "hangup", "hangup spelt as the outbox's check constraint");
    is_str(sms_trigger_name(SMS_TRIGGER_SUCCESS), "success", "success");
    is_str(sms_trigger_name(SMS_TRIGGER_FAILURE), "failure", "failure");
    is_str(sms_trigger_name(SMS_TRIGGER_RING), "ring", "ring");
    is_str(sms_trigger_name(SMS_TRIGGER_FEEDBACK), "feedback", "feedback");
    is_str(sms_trigger_name(SMS_TRIGGER_N), "?", "out of range: ?");
    ok(!sms_rule_any(&none), "no trigger on: nothing to do");
    ok(sms_rule_any(&all_on), "a trigger on");
}

/* Which triggers fire for each kind of end, every trigger on. */
static void test_triggers_by_outcome(void)
{
    is_str(ended(&all_on, "ok", 1, 1, 1, 0, NULL, NOW, NULL, NULL), "hangup,success,ring",
           "connected to an agent: hangup, success, ring");
    is_str(ended(&all_on, "ok", 1, 1, 0, 1, NULL, NOW, NULL, NULL), "hangup,success,ring",
           "agentless, answered: hangup, success, ring");
    is_str(ended(&all_on, "ok", 1, 1, 0, 0, NULL, NOW, NULL, NULL), "hangup,failure,ring",
           "answered, left before an agent (dropped): hangup and failure");
    is_str(ended(&all_on, "abandoned", 1, 1, 0, 0, NULL, NOW, NULL, NULL), "hangup,failure,ring",
           "abandoned counts as answered (hangup) and as a failure");
    is_str(ended(&all_on, "machine", 1, 0, 0, 0, NULL, NOW, NULL, NULL), "hangup,failure,ring",
           "a machine picked up without an answered event: hangup and failure");
    is_str(ended(&all_on, "notAnswer", 1, 0, 0, 0, NULL, NOW, NULL, NULL), "failure,ring",
           "rang out: failure and ring, no hangup");
    is_str(ended(&all_on, "busy", 0, 0, 0, 0, NULL, NOW, NULL, NULL), "failure",
           "busy without ringing: failure only");
    is_str(ended(&all_on, "numberNotExist", 0, 0, 0, 0, NULL, NOW, NULL, NULL), "failure",
           "invalid number: failure");
    is_str(ended(&all_on, "clientError", 0, 0, 0, 0, NULL, NOW, NULL, NULL), "failure",
           "the carrier refused the dial: failure");
    is_str(ended(&all_on, "operatorError", 1, 1, 1, 0, NULL, NOW, NULL, NULL), "hangup,failure,ring",
           "a network failure after the answer: hangup and failure");
    is_str(ended(&all_on, "unknown", 1, 0, 0, 0, NULL, NOW, NULL, NULL), "ring",
           "outcome unknown (reconciled after a crash): no failure SMS, the call may have succeeded");
    is_str(ended(&all_on, "unknown", 0, 1, 1, 0, NULL, NOW, NULL, NULL), "hangup,ring",
           "unknown end after an answer: hangup (it was picked up), no failure");
    is_str(ended(&all_on, NULL, 0, 0, 0, 0, NULL, NOW, NULL, NULL), "",
           "no end status at all classifies as unknown: nothing");
}

/* Feedback needs the configured digit among the keys. */
static void test_feedback(void)
{
    struct sms_rule fb = { 0, 0, 0, 0, 1, 1, '2' };
    struct sms_rule fb_none = { 0, 0, 0, 0, 1, 1, 0 };

    is_str(ended(&fb, "ok", 1, 1, 1, 0, "2", NOW, NULL, NULL), "feedback", "key 2 pressed: feedback");
    is_str(ended(&fb, "ok", 1, 1, 1, 0, "1#2*", NOW, NULL, NULL), "feedback", "2 among other keys: feedback");
    is_str(ended(&fb, "ok", 1, 1, 1, 0, "13", NOW, NULL, NULL), "", "other keys: no feedback");
    is_str(ended(&fb, "ok", 1, 1, 1, 0, "", NOW, NULL, NULL), "", "no keys: no feedback");
    is_str(ended(&fb, "ok", 1, 1, 1, 0, NULL, NOW, NULL, NULL), "", "keys null: no feedback");
    is_str(ended(&fb_none, "ok", 1, 1, 1, 0, "2", NOW, NULL, NULL), "",
           "no feedback value configured: never fires");
}

/* Flags off fire nothing; each flag alone fires only itself. */
static void test_flags(void)
{
    struct sms_rule none = { 0, 0, 0, 0, 0, 1, '2' };
    struct sms_rule ring = { 0, 0, 0, 1, 0, 1, 0 };
    struct sms_rule hang = { 1, 0, 0, 0, 0, 1, 0 };
    struct sms_rule fail = { 0, 0, 1, 0, 0, 1, 0 };

    is_str(ended(&none, "ok", 1, 1, 1, 0, "2", NOW, NULL, NULL), "", "every trigger off: nothing");
    is_str(ended(&ring, "ok", 1, 1, 1, 0, "2", NOW, NULL, NULL), "ring", "ring alone");
    is_str(ended(&ring, "ok", 0, 1, 1, 0, NULL, NOW, NULL, NULL), "ring",
           "answered without a ringing event: it rang");
    is_str(ended(&hang, "notAnswer", 1, 0, 0, 0, NULL, NOW, NULL, NULL), "", "hangup: not without an answer");
    is_str(ended(&fail, "ok", 1, 1, 1, 0, NULL, NOW, NULL, NULL), "", "failure: not on a success");
}

/* Intermediate events: only ring, and only when it rang. */
static void test_intermediate(void)
{
    struct sms_facts f;
    struct sms_fire out[SMS_TRIGGER_N];
    struct sms_rule no_ring = { 1, 1, 1, 0, 1, 1, '1' };

    memset(&f, 0, sizeof(f));
    f.rang = 1;
    is_int(sms_rule_decide(&all_on, &f, NOW, out), 1, "ringing event: one SMS");
    is_int(out[0].trigger, SMS_TRIGGER_RING, "ringing event: the ring SMS");
    is_int(out[0].due_ms, NOW, "ring is due at once");
    f.rang = 0;
    is_int(sms_rule_decide(&all_on, &f, NOW, out), 0, "an event before ringing: nothing");
    f.answered = 1;
    is_int(sms_rule_decide(&all_on, &f, NOW, out), 1, "answered event: the phone rang");
    is_int(sms_rule_decide(&no_ring, &f, NOW, out), 0, "ring trigger off: nothing before the end");
}

/* Due times: immediate triggers at now, success after its delay from the end. */
static void test_due(void)
{
    struct sms_fire out[SMS_TRIGGER_N];
    int n;

    ended(&all_on, "ok", 1, 1, 1, 0, NULL, NOW - 1000, out, &n);
    is_int(n, 3, "three SMS");
    is_int(out[0].due_ms, NOW, "hangup due now");
    is_int(out[1].trigger, SMS_TRIGGER_SUCCESS, "then success");
    is_int(out[1].due_ms, NOW - 1000 + 30000, "success due 30 s after the end, not after now");
    ended(&all_on, "ok", 1, 1, 1, 0, NULL, 0, out, &n);
    is_int(out[1].due_ms, NOW + 30000, "end time unknown: 30 s from now");
    ended(&all_on, "ok", 1, 1, 1, 0, NULL, NOW - 60000, out, &n);
    is_int(out[1].due_ms, NOW, "an end reported later than the delay: due now, never in the past");
}

/* Renders with ten variables named v1..v10 and returns the text. */
static const char *render(const char *tmpl, int *cut)
{
    static char out[SMS_RULE_BODY_BYTES];
    const char *vars[SMS_RULE_VARS] = { "v1", "v2", "v3", NULL, "v5", "v6", "v7", "v8", "v9", "v10" };
    int c = sms_rule_render(tmpl, vars, out, sizeof(out));

    if (cut)
        *cut = c;
    return out;
}

/* Placeholders, and everything that is not one. */
static void test_render(void)
{
    int cut = -1;

    is_str(render("Hi ${text1}, ref ${text2}.", &cut), "Hi v1, ref v2.", "two variables");
    is_int(cut, 0, "not cut");
    is_str(render("${text10}${text1}${text9}", NULL), "v10v1v9", "text10 is not text1 followed by 0");
    is_str(render("[${text4}]", NULL), "[]", "a missing variable renders empty");
    is_str(render("cost $5 and $$", NULL), "cost $5 and $$", "a literal $ stays");
    is_str(render("${x} ${text0} ${text11} ${TEXT1} ${ text1} ${text01}", NULL),
           "${x} ${text0} ${text11} ${TEXT1} ${ text1} ${text01}", "unknown placeholders stay as they are");
    is_str(render("end ${text1", NULL), "end ${text1", "an unclosed placeholder stays");
    is_str(render("$${text1}", NULL), "$v1", "a $ just before a placeholder");
    is_str(render("${text2}${text2}", NULL), "v2v2", "the same variable twice");
    is_str(render("", NULL), "", "empty template");
    is_str(render("no vars at all", NULL), "no vars at all", "plain text");
    {
        char out[16];
        const char *vars[SMS_RULE_VARS] = { "${text2}", "BAD" };
        sms_rule_render("${text1}", vars, out, sizeof(out));
        is_str(out, "${text2}", "a variable's value is not rendered again");
    }
    {
        char out[4];
        is_int(sms_rule_render(NULL, NULL, out, sizeof(out)), 0, "NULL template renders empty");
        is_str(out, "", "NULL template: empty text");
        is_int(sms_rule_render("x", NULL, out, 0), 1, "no room at all: reported as cut");
    }
}

/* Limits: bytes and characters, never inside a UTF-8 sequence. */
static void test_render_limits(void)
{
    char out[SMS_RULE_BODY_BYTES], small[6], tmpl[1100 * 3 + 1], big[5000];
    const char *vars[SMS_RULE_VARS] = { "é✓😀", NULL };
    int cut;

    cut = sms_rule_render("Zoë ${text1}", vars, out, sizeof(out));
    is_str(out, "Zoë é✓😀", "UTF-8 in template and variable kept");
    is_int(cut, 0, "not cut");
    /* "Zoë" is 4 bytes: 5 bytes of room + NUL hold "Zoë " but not the 2-byte é after it. */
    cut = sms_rule_render("Zoë ${text1}", vars, small, sizeof(small));
    is_str(small, "Zoë ", "cut before a character that does not fit, not inside it");
    is_int(cut, 1, "reported as cut");
    cut = sms_rule_render("ab😀", NULL, small, 6);
    is_str(small, "ab", "a 4-byte character that does not fit whole is left out");
    /* 1000 three-byte characters plus a variable of 4000 one-byte ones: cut at 2000 characters. */
    tmpl[0] = '\0';
    for (int i = 0; i < 1000; i++)
        strcat(tmpl, "✓");
    strcat(tmpl, "${text1}");
    memset(big, 'x', 4000);
    big[4000] = '\0';
    vars[0] = big;
    cut = sms_rule_render(tmpl, vars, out, sizeof(out));
    is_int(cut, 1, "a text over 2000 characters is cut");
    is_int(strlen(out), 1000 * 3 + 1000, "cut at 2000 characters (3000 + 1000 bytes)");
    /* Bytes that are not UTF-8 are copied one by one, never read past the end. */
    cut = sms_rule_render("a\xe2\x9c", NULL, out, sizeof(out));
    is_str(out, "a\xe2\x9c", "a truncated sequence in the input is copied as bytes");
    is_int(cut, 0, "and is not a cut");
}

/* Variables from the callee's JSON, the campaign's as fallback. */
static void test_render_json(void)
{
    char out[SMS_RULE_BODY_BYTES];

    sms_rule_render_json("${text1}|${text2}|${text3}|${text4}|${text5}|${text6}|${text7}|${text10}",
                         "{\"text1\":\"Ann\",\"text2\":42,\"text3\":true,\"text4\":null,"
                         "\"text5\":{\"a\":1},\"text6\":[1],\"text7\":1.5}",
                         "{\"text1\":\"camp\",\"text4\":\"camp4\",\"text10\":\"ten\"}", out, sizeof(out));
    is_str(out, "Ann|42|true||||1.5|ten",
           "strings, numbers, booleans; null/object/array empty; campaign fills what the callee lacks");
    sms_rule_render_json("Hi ${text1}", NULL, "{\"text1\":\"camp\"}", out, sizeof(out));
    is_str(out, "Hi camp", "no callee variables: the campaign's");
    sms_rule_render_json("Hi ${text1}", "not json", "[1,2]", out, sizeof(out));
    is_str(out, "Hi ", "unparsable or non-object variables: empty");
    sms_rule_render_json("Hi ${text1}", "{\"Text1\":\"x\"}", NULL, out, sizeof(out));
    is_str(out, "Hi ", "keys are case-sensitive");
}

/* Gateway answers and back-off. */
static void test_verdict_backoff(void)
{
    is_int(sms_rule_verdict(200), SMS_VERDICT_SENT, "200 sent");
    is_int(sms_rule_verdict(202), SMS_VERDICT_SENT, "202 sent");
    is_int(sms_rule_verdict(0), SMS_VERDICT_RETRY, "no response (timeout, refused): retry");
    is_int(sms_rule_verdict(429), SMS_VERDICT_RETRY, "429 retry");
    is_int(sms_rule_verdict(500), SMS_VERDICT_RETRY, "500 retry");
    is_int(sms_rule_verdict(503), SMS_VERDICT_RETRY, "503 retry");
    is_int(sms_rule_verdict(400), SMS_VERDICT_FAIL, "400 fails at once");
    is_int(sms_rule_verdict(404), SMS_VERDICT_FAIL, "404 fails at once");
    is_int(sms_rule_verdict(301), SMS_VERDICT_FAIL, "a redirect is not followed: fails");
    is_int(sms_rule_backoff_ms(1, 1000, 60000, 0), 500, "first retry: half of min with no jitter");
    is_int(sms_rule_backoff_ms(1, 1000, 60000, 0.999999), 999, "first retry: under min with full jitter");
    is_int(sms_rule_backoff_ms(3, 1000, 60000, 0), 2000, "third: 4000 halved");
    is_int(sms_rule_backoff_ms(30, 1000, 60000, 0.5), 45000, "capped at max (60000 → 30000 + 15000)");
    is_int(sms_rule_backoff_ms(1000, 1000, 60000, 1.5), 59999, "huge try counts and bad jitter stay under max");
    ok(sms_rule_backoff_ms(2, 200, 3000, 0.3) >= 200 && sms_rule_backoff_ms(2, 200, 3000, 0.3) <= 400,
       "second retry within [min, 2 min]");
}

/* Runs every group. */
int main(void)
{
    test_names();
    test_triggers_by_outcome();
    test_feedback();
    test_flags();
    test_intermediate();
    test_due();
    test_render();
    test_render_limits();
    test_render_json();
    test_verdict_backoff();
    return tap_done();
}
