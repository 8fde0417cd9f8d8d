/* Unit tests for the pure core: outcome mapping, recall rules, priority allocation, pacing. */
#include "alloc.h"
#include "callers.h"
#include "outcome.h"
#include "pacing.h"
#include "recall.h"
#include "window.h"
#include "tap.h"

#include <math.h>
#include <string.h>

/* Classifies an end status with the given facts. */
static struct outcome classify(const char *es, int answered, int connected, int agentless)
{
    struct outcome_facts f = { answered, connected, agentless, es };
    struct outcome o;

    outcome_classify(&f, &o);
    return o;
}

/* Event names and the end-status vocabulary. */
static void test_outcome_vocabulary(void)
{
    is_int(outcome_event_parse("ringing"), OUTCOME_RINGING, "ringing parses");
    is_int(outcome_event_parse("ended"), OUTCOME_ENDED, "ended parses");
    is_int(outcome_event_parse("Ended"), 0, "event names are case-sensitive");
    is_int(outcome_event_parse(NULL), 0, "NULL event is refused");
    is_str(outcome_end_status("notAnswer"), "notAnswer", "seed status accepted");
    is_str(outcome_end_status("abandoned"), "abandoned", "abandoned accepted");
    ok(outcome_end_status("hungup") == NULL, "a status outside the vocabulary is refused");
    ok(outcome_end_status("") == NULL, "an empty status is refused");
}

/* Success needs an agent unless agentless; abandons and machines are not successes. */
static void test_outcome_classes(void)
{
    struct outcome o;

    o = classify("ok", 1, 1, 0);
    ok(o.success && o.live_answer && o.cls == OUTCOME_SUCCESS, "ok + connected = success");
    o = classify("ok", 1, 0, 0);
    ok(!o.success && o.live_answer && o.cls == OUTCOME_DROPPED, "ok without an agent on an agent campaign is not a success");
    o = classify("ok", 1, 0, 1);
    ok(o.success && o.cls == OUTCOME_SUCCESS, "ok on an agentless campaign = success");
    o = classify("abandoned", 1, 0, 0);
    ok(!o.success && o.live_answer && o.cls == OUTCOME_ABANDONED, "abandoned: live answer, failure");
    o = classify("machine", 1, 0, 0);
    ok(!o.success && !o.live_answer && o.cls == OUTCOME_MACHINE, "machine: no live answer");
    o = classify("busy", 0, 0, 0);
    ok(!o.success && !o.live_answer && o.cls == OUTCOME_NO_ANSWER, "busy: no answer");
    o = classify("numberNotExist", 0, 0, 0);
    is_int(o.cls, OUTCOME_INVALID, "numberNotExist is invalid");
    ok(!outcome_retryable(o.cls), "an invalid number is not retried");
    o = classify("weird", 0, 0, 0);
    ok(o.cls == OUTCOME_ERROR && !o.success, "an unknown status is an error");
    is_str(o.end_status, "unknown", "and is recorded as unknown");
    o = classify(NULL, 0, 0, 0);
    is_str(o.end_status, "unknown", "a missing status is unknown");
    o = classify("operatorError", 1, 0, 0);
    ok(o.live_answer, "a failure after an answer still counts the live answer");
}

/* Recall type 1 vs 0, the count, the interval and the abandon lock. */
static void test_recall(void)
{
    struct recall_rule r1 = { 2, 1800, 1, 72 * 3600 }, r0 = { 1, 600, 0, 0 };
    struct recall_decision d;
    struct outcome fail = classify("notAnswer", 0, 0, 0), ok_ = classify("ok", 1, 1, 0);
    struct outcome ab = classify("abandoned", 1, 0, 0), inv = classify("numberInvalid", 0, 0, 0);

    recall_decide(&r1, 1, &fail, 0, &d);
    ok(d.state == CALLEE_PENDING_RETRY && d.delay_s == 1800, "type 1: first failure is recalled after the interval");
    recall_decide(&r1, 2, &fail, 0, &d);
    is_int(d.state, CALLEE_PENDING_RETRY, "type 1: second failure (recall 1 of 2 used) is recalled");
    recall_decide(&r1, 3, &fail, 0, &d);
    is_int(d.state, CALLEE_UNANSWERED, "type 1: third failure uses up recall_num 2: unanswered");
    recall_decide(&r1, 1, &ok_, 0, &d);
    is_int(d.state, CALLEE_ANSWERED, "type 1: a success is final");
    recall_decide(&r1, 1, &ab, 0, &d);
    ok(d.state == CALLEE_PENDING_RETRY && d.delay_s == 72 * 3600, "an abandon waits the abandon lock, not the interval");
    r1.abandon_lock_s = 60;
    recall_decide(&r1, 1, &ab, 0, &d);
    is_int(d.delay_s, 1800, "a lock shorter than the interval: the interval wins");
    recall_decide(&r1, 1, &inv, 0, &d);
    is_int(d.state, CALLEE_UNANSWERED, "an invalid number is final at once");
    recall_decide(&r0, 1, &ok_, 0, &d);
    ok(d.state == CALLEE_PENDING_RETRY && d.delay_s == 600, "type 0: a success is recalled too");
    recall_decide(&r0, 2, &fail, 1, &d);
    is_int(d.state, CALLEE_ANSWERED, "type 0: out of recalls after an earlier success: answered");
    recall_decide(&r0, 2, &fail, 0, &d);
    is_int(d.state, CALLEE_UNANSWERED, "type 0: out of recalls, never answered: unanswered");
    struct recall_rule none = { 0, 60, 1, 0 };
    recall_decide(&none, 1, &fail, 0, &d);
    is_int(d.state, CALLEE_UNANSWERED, "recall_num 0: one attempt only");
}

/* Priority hand-out and turn-taking. */
static void test_alloc(void)
{
    struct alloc_item it[4];
    unsigned cur = 0;

    it[0] = (struct alloc_item){ 3, -1, 0 };
    it[1] = (struct alloc_item){ 1, 4, 0 };
    it[2] = (struct alloc_item){ 3, -1, 0 };
    it[3] = (struct alloc_item){ 5, -1, 0 };
    is_int(alloc_split(it, 4, 10, &cur), 10, "all ten calls given");
    is_int(it[1].share, 4, "priority 1 takes all it can use first");
    is_int(it[0].share + it[2].share, 6, "the rest goes to priority 3");
    ok(it[0].share == 3 && it[2].share == 3, "equal priorities share evenly");
    is_int(it[3].share, 0, "priority 5 gets nothing while 3 has room");
    is_int(alloc_split(it, 4, 3, &cur), 3, "three calls");
    is_int(it[1].share, 3, "priority 1 with room takes every call");
    it[1].capacity = 0;
    int a = 0, b = 0;
    for (int round = 0; round < 10; round++) {
        alloc_split(it, 4, 1, &cur);
        a += it[0].share;
        b += it[2].share;
        ok(it[3].share == 0, "priority 5 still gets nothing");
    }
    ok(a == 5 && b == 5, "one call per round alternates between equal priorities");
    it[0].capacity = 1;
    it[2].capacity = 0;
    is_int(alloc_split(it, 4, 5, &cur), 5, "five calls");
    ok(it[0].share == 1 && it[3].share == 4, "when higher priorities run dry the next one gets the rest at once");
    it[3].capacity = 0;
    is_int(alloc_split(it, 4, 5, &cur), 1, "calls beyond every capacity are not given");
    is_int(alloc_split(it, 0, 5, &cur), 0, "no campaigns, nothing given");
}

/* Progressive and agentless pacing. */
static void test_pacing(void)
{
    struct pacer_params p = { .mode = PACER_PROGRESSIVE, .callout_rate = 1.0 };
    struct pacer *pc = pacer_new(&p);
    struct pacer_view v = { 0 };

    v.n_free = 5;
    is_int(pacer_decide(pc, &v), 5, "progressive 1:1: five free agents, five calls");
    v.n_ringing = 3;
    is_int(pacer_decide(pc, &v), 2, "three already ringing: two more");
    v.n_waiting = 2;
    is_int(pacer_decide(pc, &v), 0, "ringing + waiting cover the free agents: none");
    v.n_ringing = 9;
    is_int(pacer_decide(pc, &v), 0, "never negative");
    pacer_free(pc);
    p.callout_rate = 2.5;
    pc = pacer_new(&p);
    v.n_free = 3;
    v.n_ringing = 0;
    v.n_waiting = 0;
    is_int(pacer_decide(pc, &v), 7, "rate 2.5 × 3 free = 7 (floored)");
    pacer_free(pc);
    p.callout_rate = 1.0;
    p.max_in_flight = 4;
    pc = pacer_new(&p);
    v.n_free = 10;
    v.n_ringing = 1;
    is_int(pacer_decide(pc, &v), 3, "a trunk cap of 4 with one in flight: three");
    pacer_free(pc);
    p.mode = PACER_AGENTLESS;
    p.max_in_flight = 20;
    pc = pacer_new(&p);
    v.n_free = 0;
    v.n_ringing = 5;
    v.n_waiting = 0;
    is_int(pacer_decide(pc, &v), 15, "agentless fills the cap regardless of agents");
    pacer_free(pc);
    p.max_in_flight = 0;
    pc = pacer_new(&p);
    is_int(pacer_decide(pc, &v), 0, "agentless without a cap places nothing");
    pacer_free(pc);
    p.mode = PACER_PROGRESSIVE;
    p.callout_rate = 0;
    pc = pacer_new(&p);
    v.n_free = 2;
    v.n_ringing = 0;
    is_int(pacer_decide(pc, &v), 2, "a zero callout_rate means the default 1");
    pacer_free(pc);
}

/* Caller rotation, concurrency cap, calls-per-second bucket, non-normal states. */
/* Resets line l to a fresh one with the given rate and concurrency. */
static void line_reset(struct caller_line *l, double max_cps, int max_concurrent)
{
    callers_line_init(l, "+4420000001");
    l->max_cps = max_cps;
    l->max_concurrent = max_concurrent;
}

static void test_callers(void)
{
    struct caller_line a, b, c;
    struct caller_line *lines[3] = { &a, &b, &c };
    unsigned cur = 0;
    int out[64], n;

    callers_line_init(&a, "+4420000001");
    callers_line_init(&b, "+4420000002");
    callers_line_init(&c, "+4420000003");
    c.state = 4;
    n = callers_pick(lines, 3, 4, 100.0, &cur, out);
    is_int(n, 4, "four calls picked from two usable lines");
    ok(out[0] != out[1] && out[1] != out[2] && out[2] != out[3], "picks alternate between lines");
    ok(a.in_flight == 2 && b.in_flight == 2 && c.in_flight == 0, "a disabled line (state 4) is never used");
    line_reset(&a, 2, 1000);
    lines[1] = &a;
    n = callers_pick(lines + 1, 1, 10, 200.0, &cur, out);
    is_int(n, 2, "max_cps 2: two dials at one instant");
    is_int(callers_pick(lines + 1, 1, 10, 200.9, &cur, out), 0, "none 0.9 s later: the window is one second");
    is_int(callers_pick(lines + 1, 1, 10, 201.06, &cur, out), 2, "two more once the first ones leave the window");
    {
        /* Over 20 s of 10 ms steps, no sliding one-second window ever holds more than 2 dials. */
        double times[200];
        int nt = 0, worst = 0;
        line_reset(&a, 2, 1000);
        for (int t = 0; t < 2000 && nt < 200; t++) {
            double now = 300.0 + t * 0.01;
            int k = callers_pick(lines + 1, 1, 10, now, &cur, out);
            for (int j = 0; j < k && nt < 200; j++)
                times[nt++] = now;
        }
        for (int i = 0; i < nt; i++) {
            int inw = 0;
            for (int j = i; j < nt && times[j] < times[i] + 1.0; j++)
                inw++;
            worst = inw > worst ? inw : worst;
        }
        is_int(worst, 2, "sliding one-second windows never see more than max_cps dials");
        ok(nt >= 36 && nt <= 40, "and the rate is used: about 2 per second over 20 s");
    }
    callers_line_init(&a, "+4420000001");
    a.max_cps = 0.5;
    is_int(callers_pick(lines + 1, 1, 10, 400.0, &cur, out), 1, "max_cps 0.5: one dial");
    is_int(callers_pick(lines + 1, 1, 10, 401.9, &cur, out), 0, "none 1.9 s later");
    is_int(callers_pick(lines + 1, 1, 10, 402.1, &cur, out), 1, "one after two seconds");
    callers_release(&a, 1);
    is_int(callers_pick(lines + 1, 1, 10, 402.1, &cur, out), 1, "a refunded dial frees its place in the window");
    callers_line_init(&b, "+4420000002");
    b.max_concurrent = 3;
    b.max_cps = 100;
    lines[0] = &b;
    is_int(callers_pick(lines, 1, 10, 300.0, &cur, out), 3, "max_concurrent 3 caps in-flight calls");
    callers_release(&b, 0);
    is_int(callers_pick(lines, 1, 10, 300.0, &cur, out), 1, "a released slot is reusable");
    c.state = 2;
    lines[0] = &c;
    is_int(callers_pick(lines, 1, 5, 400.0, &cur, out), 0, "a suspended line (state 2) gives nothing");
    ok(callers_next_room(lines, 1, 400.0) == 0, "and is never expected to have room");
    {
        /* A fast line's second is spread: 250 cps leaves at most 5 dials per 20 ms. */
        double times[600];
        int nt = 0, worst20 = 0, worst1s = 0, burst;
        line_reset(&a, 250, 100000);
        lines[1] = &a;
        burst = callers_pick(lines + 1, 1, 250, 500.0, &cur, out);
        is_int(burst, 5, "max_cps 250: 5 dials at one instant, not the whole second");
        ok(fabs(callers_next_room(lines + 1, 1, 500.0) - 500.02) < 1e-9,
           "next room 20 ms after the burst");
        is_int(callers_pick(lines + 1, 1, 250, 500.0199, &cur, out), 0, "none just before");
        is_int(callers_pick(lines + 1, 1, 250, 500.0201, &cur, out), 5, "5 more once the 20 ms pass");
        /* 2 s of 1 ms steps: never more than 5 in 20 ms or 250 in a second, and the rate is used. */
        line_reset(&a, 250, 100000);
        nt = 0;
        for (int t = 0; t < 2000; t++) {
            double now = 600.0 + t * 0.001;
            int k = callers_pick(lines + 1, 1, 250, now, &cur, out);
            for (int j = 0; j < k && nt < 600; j++)
                times[nt++] = now;
        }
        for (int i = 0; i < nt; i++) {
            int in20 = 0, in1s = 0;
            for (int j = i; j < nt && times[j] < times[i] + 1.0; j++) {
                in1s++;
                in20 += times[j] < times[i] + 0.02 - 1e-9;
            }
            worst20 = in20 > worst20 ? in20 : worst20;
            worst1s = in1s > worst1s ? in1s : worst1s;
        }
        is_int(worst20, 5, "no 20 ms window holds more than 5 dials");
        ok(worst1s <= 250, "no one-second window holds more than max_cps");
        ok(nt >= 470 && nt <= 500, "and the rate is used: 2 s place about two seconds' worth");
        /* A slow line keeps its small burst: 5 cps, up to 4 at one instant (the second allows 5). */
        line_reset(&a, 5, 100);
        is_int(callers_pick(lines + 1, 1, 10, 700.0, &cur, out), 4, "max_cps 5: 4 dials at one instant");
        is_int(callers_pick(lines + 1, 1, 10, 700.021, &cur, out), 1, "the fifth 20 ms later");
        ok(fabs(callers_next_room(lines + 1, 1, 700.03) - 701.05) < 1e-9,
           "then room when the first dial leaves the one-second window (plus its margin)");
        a.in_flight = a.max_concurrent;
        ok(callers_next_room(lines + 1, 1, 700.03) == 0, "a line at max_concurrent waits for ends, not time");
    }
}

/* Seconds of the day for h:m:s. */
static int hms(int h, int m, int sec)
{
    return h * 3600 + m * 60 + sec;
}

/* Time ranges: parsing with messages, edges to the second, midnight, several ranges. */
static void test_window(void)
{
    struct window w;
    char err[256];

    is_int(window_parse_time("09:00:00"), 32400, "09:00:00 is 32400 s");
    is_int(window_parse_time("23:59:59"), 86399, "23:59:59 is the last second");
    is_int(window_parse_time("24:00:00"), -1, "24:00:00 is refused");
    is_int(window_parse_time("9:00:00"), -1, "one-digit hours are refused");
    is_int(window_parse_time("09:60:00"), -1, "minute 60 is refused");
    is_int(window_parse_time("09:00"), -1, "HH:MM without seconds is refused");
    is_int(window_parse("[]", &w, err, sizeof(err)), 0, "an empty list parses");
    ok(window_open(&w, 0) && window_open(&w, 86399), "no ranges: open all day");
    is_int(window_next_change(&w, 100), -1, "all day: never changes");

    is_int(window_parse("[{\"start\":\"09:00:00\",\"end\":\"20:00:00\"}]", &w, err, sizeof(err)), 0,
           "one daytime range parses");
    ok(!window_open(&w, hms(8, 59, 59)), "08:59:59 closed");
    ok(window_open(&w, hms(9, 0, 0)), "09:00:00 open (start is inside)");
    ok(window_open(&w, hms(19, 59, 59)), "19:59:59 open");
    ok(!window_open(&w, hms(20, 0, 0)), "20:00:00 closed (end is outside)");
    is_int(window_next_change(&w, hms(8, 59, 59)), 1, "one second before opening");
    is_int(window_next_change(&w, hms(12, 0, 0)), 8 * 3600, "closes 8 h after noon");
    is_int(window_next_change(&w, hms(21, 0, 0)), 12 * 3600, "reopens at 09:00 the next day");

    is_int(window_parse("[{\"start\":\"22:00:00\",\"end\":\"02:00:00\"}]", &w, err, sizeof(err)), 0,
           "a range across midnight parses");
    ok(window_open(&w, hms(23, 59, 59)) && window_open(&w, 0) && window_open(&w, hms(1, 59, 59)),
       "across midnight: 23:59:59, 00:00:00 and 01:59:59 open");
    ok(!window_open(&w, hms(2, 0, 0)) && !window_open(&w, hms(21, 59, 59)), "02:00:00 and 21:59:59 closed");
    is_int(window_next_change(&w, hms(23, 0, 0)), 3 * 3600, "closes three hours after 23:00");

    is_int(window_parse("[{\"start\":\"09:00:00\",\"end\":\"12:00:00\"},"
                        "{\"start\":\"13:00:00\",\"end\":\"17:30:00\"}]", &w, err, sizeof(err)), 0,
           "two ranges parse");
    ok(window_open(&w, hms(11, 59, 59)) && !window_open(&w, hms(12, 30, 0)) && window_open(&w, hms(13, 0, 0)),
       "lunch break closed between the ranges");
    is_int(window_next_change(&w, hms(12, 0, 0)), 3600, "reopens an hour after 12:00");
    is_int(window_parse("[{\"start\":\"09:00:00\",\"end\":\"12:00:00\"},"
                        "{\"start\":\"12:00:00\",\"end\":\"15:00:00\"}]", &w, err, sizeof(err)), 0,
           "adjacent ranges parse");
    is_int(window_next_change(&w, hms(10, 0, 0)), 5 * 3600, "adjacent ranges: no change at the seam");

    is_int(window_parse("{}", &w, err, sizeof(err)), -1, "an object instead of an array is refused");
    has_str(err, "time_ranges: must be a JSON array", "with a message");
    is_int(window_parse("[{\"start\":\"09:00:00\"}]", &w, err, sizeof(err)), -1, "a missing end is refused");
    has_str(err, "time_ranges[1].end: missing", "naming element and field");
    is_int(window_parse("[{\"start\":\"09:00:00\",\"end\":\"25:00:00\"}]", &w, err, sizeof(err)), -1,
           "hour 25 is refused");
    has_str(err, "time_ranges[1].end: \"25:00:00\" is not a time of day", "naming the value");
    is_int(window_parse("[{\"start\":\"10:00:00\",\"end\":\"10:00:00\"}]", &w, err, sizeof(err)), -1,
           "start equal to end is refused");
    is_int(window_parse("[1]", &w, err, sizeof(err)), -1, "a non-object element is refused");
    is_int(window_parse("not json", &w, err, sizeof(err)), -1, "text that is not JSON is refused");
    is_int(w.n, 0, "a refused list leaves no ranges");
}

/* Feeds a predictive pacer a history: answer rate p, live ring 8 s, failures 20 s, handle h. */
static void feed(struct pacer *pc, double p, double handle_s)
{
    double t = 0;

    for (int i = 0; i < 400; i++) {
        t += 1.0;
        if (i % 100 < (int)(p * 100))
            pacer_observe_attempt(pc, t, 6.0 + (i % 5), 1);
        else
            pacer_observe_attempt(pc, t, 20.0, 0);
    }
    for (int i = 0; i < 60; i++)
        pacer_observe_handle(pc, t, handle_s * (0.9 + 0.2 * (i % 3) / 2.0));
}

/*
 * At a target of 0.00001 % the pacer still gives every free agent a call (none of those can
 * be abandoned: an agent is there for each), and beyond that only calls whose risk it can
 * rule out: with the first ten calls all answered, the eleventh finds nobody.
 */
static void test_predictive_tiny(const struct pacer_params *base)
{
    struct pacer_params pp = *base;
    struct pacer *pc;
    struct pacer_view v;
    double until[20];
    int n, m;

    pp.abandon_target = 1e-7;
    pc = pacer_new(&pp);
    feed(pc, 0.25, 100);
    memset(&v, 0, sizeof(v));
    v.now = 400;
    v.n_free = 10;
    n = pacer_decide(pc, &v);
    ok(n >= 10, "target 1e-7, ten free agents and nothing ringing: ten calls at least");
    ok(n <= 11, "... and at most one more (ten of ten answering is 0.25^10 = 1e-6)");
    /* Twenty agents busy for good (told so) and two free: two calls and not one more. */
    for (int i = 0; i < 20; i++)
        until[i] = v.now + 3600;
    v.n_free = 2;
    v.n_busy = 20;
    v.busy_until = until;
    m = pacer_decide(pc, &v);
    ok(m >= 2 && m <= 3, "two free agents, the rest busy for an hour: two or three calls");
    pacer_free(pc);
}

/*
 * Told which busy agents are in after-call work, the pacer counts on them and not on those
 * still talking; a longer ACD grace lets it dial more; a tiny target makes it careful.
 */
static void test_predictive_split(const struct pacer_params *base)
{
    struct pacer_params pp = *base, slow = *base, tiny = *base;
    struct pacer *a = pacer_new(&pp), *b, *c, *d;
    struct pacer_view v;
    double since[20], wrap[20];
    int talking, wrapping, short_grace, long_grace, normal, careful;

    /* Talk ~90 s then ~10 s of after-call work. */
    feed(a, 0.25, 100);
    for (int i = 0; i < 60; i++)
        pacer_observe_wrapup(a, 400, 90 * (0.9 + 0.1 * (i % 3)), 10 * (0.8 + 0.2 * (i % 3)));
    memset(&v, 0, sizeof(v));
    v.now = 400;
    v.n_free = 1;
    v.n_busy = 20;
    v.busy_since = since;
    v.wrapup_since = wrap;
    for (int i = 0; i < 20; i++) {
        since[i] = 400 - 60;     /* 60 s into the call */
        wrap[i] = -1;            /* still talking */
    }
    talking = pacer_decide(a, &v);
    for (int i = 0; i < 20; i++)
        wrap[i] = 400 - 8;       /* the same agents 8 s into ~10 s of after-call work */
    wrapping = pacer_decide(a, &v);
    ok(wrapping > talking, "agents in after-call work count as soon free, agents on the call do not");
    ok(talking >= 1 && talking <= 4, "one free agent, twenty mid-call: one agent's worth of calls at most (1 / p = 4)");
    pacer_free(a);

    /* The same pool with a 10 s grace instead of 2 s: more agents free up within it. */
    slow.grace_s = 10;
    b = pacer_new(&pp);
    c = pacer_new(&slow);
    feed(b, 0.25, 100);
    feed(c, 0.25, 100);
    v.wrapup_since = NULL;
    for (int i = 0; i < 20; i++)
        since[i] = 400 - 85;
    short_grace = pacer_decide(b, &v);
    long_grace = pacer_decide(c, &v);
    ok(long_grace > short_grace, "a longer ACD grace (grace_s) lets the pacer dial further ahead");
    pacer_free(b);
    pacer_free(c);

    /* A target of 0.01 % against 3 %: after a few minutes of steering, far fewer calls. */
    tiny.abandon_target = 0.0001;
    c = pacer_new(&pp);
    d = pacer_new(&tiny);
    feed(c, 0.25, 100);
    feed(d, 0.25, 100);
    normal = careful = 0;
    for (int step = 0; step < 300; step++) {
        v.now = 400 + step;
        normal += pacer_decide(c, &v);
        careful += pacer_decide(d, &v);
    }
    ok(careful < normal, "a tiny abandon target places fewer calls than 3 %");
    pacer_free(c);
    pacer_free(d);
    test_predictive_tiny(base);
}

/* Predictive pacing: warm-up, agents about to be free, caps, the abandon budget. */
static void test_predictive(void)
{
    struct pacer_params pp = { .mode = PACER_PREDICTIVE, .callout_rate = 3.0,
                               .abandon_target = 0.03, .abandon_window_s = 86400 };
    struct pacer *pc = pacer_new(&pp), *fresh, *spent;
    struct pacer_view v;
    double since[40], ringing[40];
    int near_end, just_started;

    memset(&v, 0, sizeof(v));
    v.now = 500;
    v.n_free = 4;
    is_int(pacer_decide(pc, &v), 4, "before enough answers, predictive paces like progressive");
    feed(pc, 0.25, 100);
    for (int i = 0; i < 20; i++)
        since[i] = 400 - 99;   /* on the call for 99 s of a ~100 s handle time */
    v.now = 400;
    v.n_free = 0;
    v.n_busy = 20;
    v.busy_since = since;
    near_end = pacer_decide(pc, &v);
    ok(near_end > 0, "all agents busy but about to finish: it dials ahead (progressive would not)");
    for (int i = 0; i < 20; i++)
        since[i] = 400 - 1;    /* calls just connected */
    just_started = pacer_decide(pc, &v);
    ok(just_started < near_end, "agents that just connected: fewer calls than for agents about to finish");
    is_int(just_started, 0, "no free agent and none soon: no call");
    v.n_free = 10;
    v.n_busy = 0;
    for (int i = 0; i < 40; i++)
        ringing[i] = 400 - 1;
    v.ringing_since = ringing;
    v.n_ringing = 30;
    ok(pacer_decide(pc, &v) == 0, "lines per agent capped at callout_rate (3 × 10 = 30 already ringing)");
    v.n_ringing = 0;
    int free_ten = pacer_decide(pc, &v);
    ok(free_ten >= 10 && free_ten <= 30, "ten free agents at p = 0.25: at least ten calls, within the cap");
    pacer_free(pc);

    /* The same history with the window's budget already overspent places fewer calls. */
    fresh = pacer_new(&pp);
    spent = pacer_new(&pp);
    feed(fresh, 0.25, 100);
    feed(spent, 0.25, 100);
    pacer_seed(spent, 400, 1000, 80);
    for (int i = 0; i < 20; i++)
        since[i] = 400 - 90;
    v.n_free = 2;
    v.n_busy = 20;
    v.n_ringing = 0;
    int a = 0, b = 0;
    for (int step = 0; step < 60; step++) {
        v.now = 400 + step;
        a += pacer_decide(fresh, &v);
        b += pacer_decide(spent, &v);
    }
    ok(b < a, "a window already over its abandon budget makes it more careful");
    pacer_free(fresh);
    pacer_free(spent);
    {
        struct pacer *cl = pacer_new(&pp);
        struct pacer_view cv = v;
        double until[40];
        int n_far, n_near;
        feed(cl, 0.25, 100);
        cv.now = 400;
        for (int i = 0; i < 20; i++)
            until[i] = cv.now + 1000;   /* clairvoyant: nobody frees up for a long time */
        cv.busy_until = until;
        n_far = pacer_decide(cl, &cv);
        for (int i = 0; i < 20; i++)
            until[i] = cv.now + 5;      /* everyone frees within five seconds */
        n_near = pacer_decide(cl, &cv);
        ok(n_far < n_near, "told when agents free up, it dials for those about to be free");
        ok(n_far <= 8, "and with only two free agents and none soon, few calls (2 / p = 8 at most)");
        pacer_free(cl);
    }
    test_predictive_split(&pp);
}

/* Runs every group. */
int main(void)
{
    test_predictive();
    test_window();
    test_callers();
    test_outcome_vocabulary();
    test_outcome_classes();
    test_recall();
    test_alloc();
    test_pacing();
    return tap_done();
}
