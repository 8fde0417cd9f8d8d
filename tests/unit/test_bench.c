/* Unit tests for dialer-bench: draw streams, the rolling window, the policies and whole runs. */
/* bench.h is private to src/bench; a path relative to this file needs no extra -I. */
#include "../../src/bench/bench.h"
#include "scenario.h"
#include "util.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define BASE "\"seed\": 7, \"shift_s\": 7200, \"answer_prob\": 0.2, " \
    "\"non_answer\": {\"busy\": 0.25, \"numberNotExist\": 0.15, \"notAnswer\": 0.6}, " \
    "\"talk_s\": {\"mean\": 150, \"cv\": 1.0}, \"acw_s\": {\"mean\": 10, \"cv\": 0.5}"

/* Parses a scenario the test needs; a broken fixture is a failed test, not a crash. */
static int test_load(const char *json, struct scenario *sc)
{
    char err[256];
    int rc = scenario_parse(json, sc, err, sizeof(err));

    if (rc < 0)
        printf("# fixture does not parse: %s\n", err);
    return rc;
}

/* One run with the given policy and replication, no decision gap. */
static void test_run(const struct scenario *sc, enum bench_policy_id pol, int rep,
                     struct bench_result *out)
{
    struct bench_run_cfg cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.sc = sc;
    cfg.shift_s = sc->shift_s;
    cfg.seed = sc->seed;
    cfg.rep = rep;
    cfg.policy = pol;
    bench_run(&cfg, out);
}

/* A stream state depends on every coordinate and on nothing else. */
static void test_streams(void)
{
    uint64_t a = bench_stream(1, 0, BENCH_STREAM_DIAL, 5);
    uint64_t b = bench_stream(1, 0, BENCH_STREAM_DIAL, 5);

    ok(a == b, "same coordinates, same stream");
    ok(a != bench_stream(2, 0, BENCH_STREAM_DIAL, 5), "seed changes the stream");
    ok(a != bench_stream(1, 1, BENCH_STREAM_DIAL, 5), "replication changes the stream");
    ok(a != bench_stream(1, 0, BENCH_STREAM_CONNECT, 5), "stream id changes the stream");
    ok(a != bench_stream(1, 0, BENCH_STREAM_DIAL, 6), "index changes the stream");
    ok(bench_stream(0, 0, 0, 0) != 0, "never the all-zero state");
}

/* The worst window, its minimum of answers, and a shift shorter than the window. */
static void test_window(void)
{
    double t[100];
    unsigned char ab[100];

    /* 40 answers in the first hour (2 abandoned), 40 in the third (10 abandoned). */
    for (int i = 0; i < 40; i++) {
        t[i] = i * 60.0;
        ab[i] = i < 2;
        t[40 + i] = 7200 + i * 60.0;
        ab[40 + i] = i < 10;
    }
    /* The worst qualifying window holds the 10 abandons and just 20 answers: [4800, 8400). */
    ok(fabs(bench_worst_window(t, ab, 80, 10800, 3600, 60, 20) - 0.5) < 1e-12,
       "worst window: the 10 abandons among the fewest answers allowed, 10 / 20");
    ok(fabs(bench_worst_window(t, ab, 80, 10800, 3600, 60, 40) - 0.25) < 1e-12,
       "with 40 answers required: the third hour, 10 / 40");
    ok(bench_worst_window(t, ab, 80, 10800, 3600, 60, 41) == -1,
       "no window qualifies with a minimum of 41 answers");
    ok(fabs(bench_worst_window(t, ab, 40, 1800, 3600, 60, 20) - 2.0 / 30) < 1e-12,
       "a half-hour shift is one window (answers after it are not counted)");
    ok(bench_worst_window(t, ab, 0, 28800, 3600, 60, 20) == -1, "no answers: no window");
    /* A window starting on a step boundary must catch answers at the window's first second. */
    for (int i = 0; i < 30; i++) {
        t[i] = 3000 + i;
        ab[i] = 1;
    }
    ok(fabs(bench_worst_window(t, ab, 30, 7200, 3600, 60, 20) - 1.0) < 1e-12,
       "a burst of abandons is found whatever the step");
}

/* Fixed ratio and VICIdial-style level on hand-made views. */
static void test_policies(void)
{
    struct bench_policy p;
    struct pacer_view v;

    memset(&v, 0, sizeof(v));
    ok(bench_policy_parse("ratio2") == BENCH_RATIO2, "names parse");
    ok(bench_policy_parse("nope") == -1, "unknown names do not");
    bench_policy_init(&p, BENCH_RATIO2, 3600, 2, 0);
    v.n_free = 3;
    v.n_ringing = 2;
    v.n_waiting = 0;
    is_int(bench_policy_decide(&p, &v, 0, 0), 4, "ratio2: 2 x 3 free - 2 ringing = 4");
    v.n_ringing = 9;
    is_int(bench_policy_decide(&p, &v, 0, 0), 0, "ratio2 never asks for a negative number");
    bench_policy_free(&p);

    bench_policy_init(&p, BENCH_VICIDIAL, 3600, 2, 0);
    ok(p.level == 1.0, "vicidial starts at level 1");
    bench_policy_adapt(&p, 5, 0, 10, 0, 100);
    ok(fabs(p.level - 1.5) < 1e-12, "5 idle of 10 logged in: level x 1.5");
    bench_policy_adapt(&p, 10, 0, 10, 0, 100);
    ok(p.level == 3.0, "level clamped at 3");
    bench_policy_adapt(&p, 0, 5, 10, 0, 100);
    ok(fabs(p.level - 1.5) < 1e-12, "5 calls waiting of 10 logged in: level x 0.5");
    bench_policy_adapt(&p, 0, 10, 10, 0, 100);
    ok(p.level == 1.0, "level clamped at 1");
    bench_policy_adapt(&p, 10, 0, 10, 0, 100);
    v.n_free = 4;
    v.n_ringing = 0;
    is_int(bench_policy_decide(&p, &v, 2, 100), 8, "level 2 x 4 free = 8 while drops are 2%");
    is_int(bench_policy_decide(&p, &v, 4, 100), 4, "over 3% drops: level cut to 1 at once");
    ok(p.level == 1.0, "… and stays cut");
    bench_policy_adapt(&p, 10, 0, 10, 4, 100);
    ok(p.level == 1.0, "no growth while the day's drop rate is over the limit");
    bench_policy_free(&p);
}

/* Whole runs: zero abandons at 1:1, determinism, ratio beats progressive, expected waits. */
static void test_runs(void)
{
    struct scenario sc;
    struct bench_result a, b, r2;
    double expect_wait;

    if (test_load("{\"agents\": 10, " BASE "}", &sc) < 0) {
        ok(0, "fixture");
        return;
    }
    test_run(&sc, BENCH_PROGRESSIVE, 0, &a);
    test_run(&sc, BENCH_PROGRESSIVE, 0, &b);
    ok(memcmp(&a, &b, sizeof(a)) == 0, "the same run twice gives the same numbers");
    is_int((long long)a.abandons, 0, "progressive 1:1 never abandons");
    ok(a.answers > 100, "progressive connects calls");
    ok(fabs(a.logged_s - 10 * 7200) < 1e-6, "logged-in time is agents x shift");
    ok(a.talk_s + a.acw_s <= a.logged_s, "occupancy <= 1");
    /* Dialing until a live answer: failures per answer x mean failure, plus the ring. */
    expect_wait = (0.8 / 0.2) * (0.6 * 30 + 0.4 * 4) + 8.5;
    ok(fabs(bench_wait_mean_s(&a) - expect_wait) < 0.15 * expect_wait,
       "progressive wait between calls near the analytic dialing time");
    test_run(&sc, BENCH_PROGRESSIVE, 1, &b);
    ok(memcmp(&a, &b, sizeof(a)) != 0, "another replication draws differently");
    test_run(&sc, BENCH_RATIO2, 0, &r2);
    ok(bench_occupancy(&r2) > bench_occupancy(&a), "ratio2 occupancy above progressive");
    ok(r2.dials > a.dials, "ratio2 dials more");
    test_run(&sc, BENCH_CEILING, 0, &b);
    ok(b.logged_s == a.logged_s, "the ceiling runs the same shift");
    scenario_free(&sc);
}

/* max_cps: no more than the cap's dials in any second, so no more than cap x shift in all. */
static void test_cps(void)
{
    struct scenario sc;
    struct bench_result r;

    if (test_load("{\"agents\": 200, \"max_cps\": 2, " BASE "}", &sc) < 0) {
        ok(0, "fixture");
        return;
    }
    test_run(&sc, BENCH_RATIO2, 0, &r);
    ok(r.dials <= 2 * 7200 + 2, "dials within max_cps over the shift");
    ok(r.dials > 2 * 7200 * 0.9, "the cap binds: dials close to it");
    ok(r.cps_held > 0, "dials were held back");
    scenario_free(&sc);
}

/* Drift: agents leave after their call, and the logged-in time says so. */
static void test_drift(void)
{
    struct scenario sc;
    struct bench_result r;

    if (test_load("{\"agents\": 10, " BASE ", \"drift\": [{\"at_s\": 3600, \"agents\": 5}, "
                  "{\"at_s\": 5400, \"agents\": 8, \"answer_prob\": 0.5}]}", &sc) < 0) {
        ok(0, "fixture");
        return;
    }
    test_run(&sc, BENCH_PROGRESSIVE, 0, &r);
    /* 10 h + 5 × 0.5 h + 8 × 0.5 h = 16.5 agent-hours, plus the leavers' last calls. */
    ok(r.logged_s >= 16.5 * 3600 - 1e-6 && r.logged_s < 16.5 * 3600 + 5 * 1200,
       "logged-in time follows the drift (leavers finish their call)");
    is_int((long long)r.abandons, 0, "still no abandons at 1:1");
    scenario_free(&sc);
}

/* Degenerate pools: nobody logged in; no grace at all. */
static void test_edges(void)
{
    struct scenario sc;
    struct bench_result r;

    if (test_load("{\"agents\": 0, " BASE "}", &sc) == 0) {
        test_run(&sc, BENCH_RATIO2, 0, &r);
        ok(r.logged_s == 0 && r.dials == 0, "no agents: nothing happens");
        ok(bench_occupancy(&r) == 0 && r.worst_hour == -1, "… and the metrics are 0 / none");
        scenario_free(&sc);
    } else {
        ok(0, "fixture");
    }
    if (test_load("{\"agents\": 5, \"abandon_grace_s\": 0, " BASE "}", &sc) == 0) {
        test_run(&sc, BENCH_RATIO2, 0, &r);
        ok(r.abandons > 0, "grace 0 with ratio2: answers with no free agent are lost");
        ok(r.connects + r.abandons <= r.answers, "every answer connects, is lost or is waiting");
        scenario_free(&sc);
    } else {
        ok(0, "fixture");
    }
}

/* Rows: means, sample sd, max, and eta from the floor and the ceiling. */
static void test_rows(void)
{
    struct bench_result res[2];
    struct bench_row rows[3];

    memset(res, 0, sizeof(res));
    res[0].logged_s = res[1].logged_s = 3600;
    res[0].talk_s = 1800;
    res[1].talk_s = 2520;
    res[0].answers = 100;
    res[0].abandons = 1;
    res[1].answers = 100;
    res[1].abandons = 3;
    res[0].worst_hour = 0.05;
    res[1].worst_hour = -1;
    bench_row_fill(&rows[0], BENCH_OURS, res, 2);
    ok(fabs(rows[0].occ_mean - 0.6) < 1e-12, "mean occupancy");
    ok(fabs(rows[0].occ_sd - sqrt(0.02)) < 1e-12, "sample sd of occupancy");
    ok(fabs(rows[0].abandon_max - 0.03) < 1e-12, "max abandon rate");
    ok(fabs(rows[0].worst_hour_max - 0.05) < 1e-12,
       "max worst hour ignores replications without one");
    ok(isnan(rows[0].eta), "eta undefined alone");
    rows[1] = rows[0];
    rows[1].policy = BENCH_PROGRESSIVE;
    rows[1].occ_mean = 0.5;
    rows[2] = rows[0];
    rows[2].policy = BENCH_CEILING;
    rows[2].occ_mean = 0.7;
    bench_rows_eta(rows, 3);
    ok(fabs(rows[0].eta - 0.5) < 1e-12, "eta = (0.6 - 0.5) / (0.7 - 0.5)");
    ok(rows[1].eta == 0 && rows[2].eta == 1, "floor 0, ceiling 1");
    rows[2].occ_mean = 0.5;
    rows[0].eta = NAN;
    bench_rows_eta(rows, 3);
    ok(isnan(rows[0].eta), "no gap between floor and ceiling: eta undefined");
}

/* Runs every group. */
int main(void)
{
    test_streams();
    test_window();
    test_policies();
    test_runs();
    test_cps();
    test_drift();
    test_edges();
    test_rows();
    return tap_done();
}
