/* Unit tests for scenario files: defaults, every validation message, normalisation and the draws. */
#include "scenario.h"
#include "util.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MINIMAL "\"agents\": 5, \"answer_prob\": 0.2, \"talk_s\": {\"mean\": 150}"

/* A file with only the required keys gets every documented default. */
static void test_defaults(void)
{
    struct scenario s;
    char err[256];

    is_int(scenario_parse("{" MINIMAL "}", &s, err, sizeof(err)), 0, "minimal scenario parses");
    is_str(err, "", "no error text on success");
    is_str(s.name, "unnamed", "name defaults to unnamed");
    is_str(s.description, "", "description defaults to empty");
    is_int(s.seed, 1, "seed defaults to 1");
    ok(s.shift_s == 28800, "shift_s defaults to 28800");
    is_int(s.agents, 5, "agents as given");
    is_int(s.skill_group_id, 1, "skill_group_id defaults to 1");
    is_str(s.agent_prefix, "sg1-agent-", "agent_prefix defaults to sg<id>-agent-");
    ok(s.answer_prob == 0.2, "answer_prob as given");
    is_int(s.n_non_answer, 1, "non_answer defaults to one outcome");
    is_str(s.non_answer[0].end_status, "notAnswer", "… which is notAnswer");
    ok(s.non_answer[0].share == 1, "… with share 1");
    ok(s.ring_s.mean == 8.5 && s.ring_s.cv == 0.5, "ring_s defaults to 8.5 s, cv 0.5");
    ok(s.fail_s.mean == 4 && s.fail_s.cv == 0.5, "fail_s defaults to 4 s, cv 0.5");
    ok(s.ring_timeout_s == 30, "ring_timeout_s defaults to 30");
    ok(s.talk_s.mean == 150 && s.talk_s.cv == 1.0, "talk_s mean as given, cv defaults to 1");
    ok(s.short_reject_share == 0, "short_reject_share defaults to 0");
    ok(s.short_reject_s.mean == 8 && s.short_reject_s.cv == 0.5, "short_reject_s defaults to 8 s, cv 0.5");
    ok(s.acw_s.mean == 0, "acw_s defaults to 0");
    ok(s.abandon_grace_s == 2, "abandon_grace_s defaults to 2");
    ok(s.max_cps == 0, "max_cps defaults to 0 (no cap)");
    is_int(s.n_drift, 0, "no drift by default");
    ok(s.sim.time_scale == 1, "sim.time_scale defaults to 1");
    is_int(s.sim.max_in_flight, 0, "sim.max_in_flight defaults to 0");
    ok(s.sim.keys_share == 0, "sim.keys_share defaults to 0");
    is_str(s.sim.keys, "1", "sim.keys defaults to \"1\"");
    ok(s.sim.machine_share == 0, "sim.machine_share defaults to 0");
    is_int(s.sim.event_delay_ms, 0, "sim.event_delay_ms defaults to 0");
    scenario_free(&s);
    ok(s.name == NULL && s.drift == NULL, "scenario_free clears the struct");
    scenario_free(&s);
    scenario_free(NULL);
    ok(1, "scenario_free twice and on NULL is harmless");
}

/* The example of the brief parses with every value where it belongs. */
static void test_full(void)
{
    const char *text =
        "{\"name\": \"medium-high\", \"description\": \"d\", \"seed\": 7, \"shift_s\": 3600,"
        " \"agents\": 50, \"skill_group_id\": 4, \"agent_prefix\": \"a.\", \"answer_prob\": 0.35,"
        " \"non_answer\": {\"busy\": 0.25, \"numberNotExist\": 0.15, \"notAnswer\": 0.6},"
        " \"ring_s\": {\"mean\": 9, \"cv\": 0.6}, \"fail_s\": {\"mean\": 3}, \"ring_timeout_s\": 25,"
        " \"talk_s\": {\"mean\": 150, \"cv\": 1.0}, \"short_reject_share\": 0.25,"
        " \"short_reject_s\": {\"mean\": 8, \"cv\": 0.5}, \"acw_s\": {\"mean\": 10, \"cv\": 0.5},"
        " \"abandon_grace_s\": 3, \"max_cps\": 30,"
        " \"drift\": [{\"at_s\": 14400, \"answer_prob\": 0.30, \"talk_scale\": 0.8},"
        "             {\"at_s\": 18000, \"agents\": 60}],"
        " \"sim\": {\"time_scale\": 20, \"max_in_flight\": 7, \"keys_share\": 0.5, \"keys\": \"12#\","
        "         \"machine_share\": 0.1, \"event_delay_ms\": 5}}";
    struct scenario s;
    struct scenario_params p;
    char err[256], id[64];

    is_int(scenario_parse(text, &s, err, sizeof(err)), 0, "full scenario parses");
    is_str(s.name, "medium-high", "name");
    is_int(s.seed, 7, "seed");
    is_int(s.skill_group_id, 4, "skill_group_id");
    is_str(s.agent_prefix, "a.", "agent_prefix");
    ok(s.fail_s.mean == 3 && s.fail_s.cv == 0.5, "a dist without cv keeps the default cv");
    ok(s.ring_timeout_s == 25 && s.abandon_grace_s == 3 && s.max_cps == 30, "scalars");
    is_int(s.n_drift, 2, "two drift steps");
    ok(s.drift[0].talk_scale == 0.8 && s.drift[0].agents < 0, "drift[0] keeps agents");
    ok(s.drift[1].agents == 60 && s.drift[1].answer_prob < 0, "drift[1] keeps answer_prob");
    ok(s.sim.time_scale == 20 && s.sim.max_in_flight == 7 && s.sim.event_delay_ms == 5, "sim knobs");
    is_str(s.sim.keys, "12#", "sim.keys");
    scenario_at(&s, 0, &p);
    ok(p.answer_prob == 0.35 && p.talk_scale == 1 && p.agents == 50, "parameters at t=0");
    scenario_at(&s, 14400, &p);
    ok(p.answer_prob == 0.30 && p.talk_scale == 0.8 && p.agents == 50, "a step applies at its at_s");
    scenario_at(&s, 20000, &p);
    ok(p.answer_prob == 0.30 && p.talk_scale == 0.8 && p.agents == 60, "steps accumulate");
    is_int(scenario_agents_total(&s), 60, "agents_total counts a drift raise");
    scenario_agent_id(&s, 7, id, sizeof(id));
    is_str(id, "a.007", "agent ids are prefix + 3 digits");
    scenario_agent_id(&s, 1234, id, sizeof(id));
    is_str(id, "a.1234", "more than 999 agents widen the number");
    scenario_free(&s);
}

/* Weights become shares that sum to 1, in vocabulary order; zero weights drop out. */
static void test_normalise(void)
{
    struct scenario s;
    char err[256];
    double sum = 0;

    is_int(scenario_parse("{" MINIMAL ", \"non_answer\": {\"busy\": 1, \"powerOff\": 0,"
                          " \"notAnswer\": 3}}", &s, err, sizeof(err)), 0, "weights parse");
    is_int(s.n_non_answer, 2, "a zero weight is dropped");
    is_str(s.non_answer[0].end_status, "notAnswer", "vocabulary order, not file order");
    ok(fabs(s.non_answer[0].share - 0.75) < 1e-12, "notAnswer 3 of 4");
    ok(fabs(s.non_answer[1].share - 0.25) < 1e-12, "busy 1 of 4");
    for (int i = 0; i < s.n_non_answer; i++)
        sum += s.non_answer[i].share;
    ok(fabs(sum - 1) < 1e-12, "shares sum to 1");
    ok(scenario_is_non_answer_status("numberNotExist") && !scenario_is_non_answer_status("ok"),
       "vocabulary check");
    scenario_free(&s);
}

/* One bad input and the text its error must contain. */
struct bad_case {
    const char *json;
    const char *want;
};

/* Every validation rule answers with the field path, the value and what is accepted. */
static void test_errors(void)
{
    static const struct bad_case cases[] = {
        { "{\"agents\": 5, ", "scenario: not valid JSON at byte" },
        { "[1, 2]", "scenario: the top level is not an object: accepted a JSON object" },
        { "{" MINIMAL ", \"agnets\": 3}", "scenario.agnets: unknown key; accepted: name, description" },
        { "{" MINIMAL ", \"seed\": 1, \"seed\": 2}", "scenario.seed: duplicate key" },
        { "{\"answer_prob\": 0.2, \"talk_s\": {\"mean\": 1}}", "scenario.agents is missing: required, accepted an integer 0..100000" },
        { "{\"agents\": 5, \"talk_s\": {\"mean\": 1}}", "scenario.answer_prob is missing: required, accepted 0..1" },
        { "{\"agents\": 5, \"answer_prob\": 0.2}", "scenario.talk_s is missing: required" },
        { "{\"agents\": 5, \"answer_prob\": 0.2, \"talk_s\": {\"cv\": 1}}", "scenario.talk_s.mean is missing: required, accepted seconds" },
        { "{\"agents\": 5, \"answer_prob\": 0.2, \"talk_s\": 150}", "scenario.talk_s = 150: accepted an object" },
        { "{" MINIMAL ", \"name\": \"\"}", "scenario.name = \"\": accepted 1..64 printable characters" },
        { "{" MINIMAL ", \"name\": 5}", "scenario.name = 5: accepted 1..64 printable characters" },
        { "{" MINIMAL ", \"description\": \"a\\nb\"}", "scenario.description = \"a\\nb\": accepted up to 4000 printable" },
        { "{" MINIMAL ", \"seed\": -1}", "scenario.seed = -1: accepted an integer 0..9007199254740992" },
        { "{" MINIMAL ", \"seed\": 1.5}", "scenario.seed = 1.5: accepted an integer" },
        { "{" MINIMAL ", \"shift_s\": 0}", "scenario.shift_s = 0: accepted seconds > 0" },
        { "{\"agents\": -1, \"answer_prob\": 0.2, \"talk_s\": {\"mean\": 1}}", "scenario.agents = -1: accepted an integer 0..100000" },
        { "{\"agents\": \"ten\", \"answer_prob\": 0.2, \"talk_s\": {\"mean\": 1}}", "scenario.agents = \"ten\": accepted an integer 0..100000" },
        { "{" MINIMAL ", \"skill_group_id\": 0}", "scenario.skill_group_id = 0: accepted an integer >= 1" },
        { "{" MINIMAL ", \"agent_prefix\": \"a b\"}", "scenario.agent_prefix = \"a b\": accepted 1..64 of the characters" },
        { "{\"agents\": 5, \"answer_prob\": 1.5, \"talk_s\": {\"mean\": 1}}", "scenario.answer_prob = 1.5: accepted 0..1" },
        { "{\"agents\": 5, \"answer_prob\": true, \"talk_s\": {\"mean\": 1}}", "scenario.answer_prob = true: accepted 0..1" },
        { "{" MINIMAL ", \"non_answer\": [1]}", "scenario.non_answer = [1]: accepted an object of end status" },
        { "{" MINIMAL ", \"non_answer\": {\"bussy\": 1}}", "scenario.non_answer.bussy: unknown key; accepted: notAnswer, userReject" },
        { "{" MINIMAL ", \"non_answer\": {\"busy\": -0.1}}", "scenario.non_answer.busy = -0.1: accepted a weight >= 0" },
        { "{" MINIMAL ", \"non_answer\": {\"busy\": 0}}", "scenario.non_answer: the weights sum to 0: accepted at least one weight > 0" },
        { "{" MINIMAL ", \"ring_s\": {\"mean\": -1}}", "scenario.ring_s.mean = -1: accepted seconds 0..10000000" },
        { "{" MINIMAL ", \"fail_s\": {\"cv\": 11}}", "scenario.fail_s.cv = 11: accepted 0..10 (0 = constant)" },
        { "{" MINIMAL ", \"acw_s\": {\"mean\": 1, \"sd\": 2}}", "scenario.acw_s.sd: unknown key; accepted: mean, cv" },
        { "{" MINIMAL ", \"short_reject_s\": \"8\"}", "scenario.short_reject_s = \"8\": accepted an object" },
        { "{" MINIMAL ", \"ring_timeout_s\": 0.5}", "scenario.ring_timeout_s = 0.5: accepted seconds 1..600" },
        { "{" MINIMAL ", \"short_reject_share\": 2}", "scenario.short_reject_share = 2: accepted 0..1" },
        { "{" MINIMAL ", \"abandon_grace_s\": 601}", "scenario.abandon_grace_s = 601: accepted seconds 0..600" },
        { "{" MINIMAL ", \"max_cps\": -3}", "scenario.max_cps = -3: accepted dials per second 0..100000" },
        { "{" MINIMAL ", \"drift\": {}}", "scenario.drift = {}: accepted an array" },
        { "{" MINIMAL ", \"drift\": [3]}", "scenario.drift[0] = 3: accepted an object" },
        { "{" MINIMAL ", \"drift\": [{\"answer_prob\": 0.1}]}", "scenario.drift[0].at_s is missing: required" },
        { "{" MINIMAL ", \"drift\": [{\"at_s\": 5}]}", "scenario.drift[0]: changes nothing: accepted at least one of answer_prob, talk_scale, agents" },
        { "{" MINIMAL ", \"drift\": [{\"at_s\": 5, \"agent\": 3}]}", "scenario.drift[0].agent: unknown key; accepted: at_s, answer_prob, talk_scale, agents" },
        { "{" MINIMAL ", \"drift\": [{\"at_s\": 5, \"answer_prob\": 2}]}", "scenario.drift[0].answer_prob = 2: accepted 0..1" },
        { "{" MINIMAL ", \"drift\": [{\"at_s\": 5, \"talk_scale\": 0}]}", "scenario.drift[0].talk_scale = 0: accepted a factor > 0" },
        { "{" MINIMAL ", \"drift\": [{\"at_s\": 5, \"agents\": 2.5}]}", "scenario.drift[0].agents = 2.5: accepted an integer 0..100000" },
        { "{" MINIMAL ", \"drift\": [{\"at_s\": 9, \"agents\": 2}, {\"at_s\": 5, \"agents\": 3}]}", "scenario.drift[1].at_s = 5: accepted a time >= scenario.drift[0].at_s = 9" },
        { "{" MINIMAL ", \"sim\": 1}", "scenario.sim = 1: accepted an object" },
        { "{" MINIMAL ", \"sim\": {\"timescale\": 2}}", "scenario.sim.timescale: unknown key; accepted: time_scale, max_in_flight" },
        { "{" MINIMAL ", \"sim\": {\"time_scale\": 0}}", "scenario.sim.time_scale = 0: accepted a factor > 0" },
        { "{" MINIMAL ", \"sim\": {\"max_in_flight\": -1}}", "scenario.sim.max_in_flight = -1: accepted an integer 0..1000000" },
        { "{" MINIMAL ", \"sim\": {\"keys_share\": 1.1}}", "scenario.sim.keys_share = 1.1: accepted 0..1" },
        { "{" MINIMAL ", \"sim\": {\"keys\": \"1a\"}}", "scenario.sim.keys = \"1a\": accepted 1..32 of the characters 0-9 * #" },
        { "{" MINIMAL ", \"sim\": {\"machine_share\": 0.9}}", "scenario.sim.machine_share = 0.9: accepted 0..0.8 (answer_prob + machine_share must not exceed 1)" },
        { "{" MINIMAL ", \"sim\": {\"machine_share\": 0.5}, \"drift\": [{\"at_s\": 1, \"answer_prob\": 0.6}]}", "scenario.drift[0].answer_prob = 0.6: accepted 0..0.5" },
        { "{" MINIMAL ", \"sim\": {\"event_delay_ms\": 60001}}", "scenario.sim.event_delay_ms = 60001: accepted an integer 0..60000" },
    };
    char err[512], desc[160];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct scenario s;
        int rc = scenario_parse(cases[i].json, &s, err, sizeof(err));
        snprintf(desc, sizeof(desc), "rejects: %.100s", cases[i].want);
        if (rc == 0) {
            ok(0, desc);
            printf("#   accepted %s\n", cases[i].json);
        } else {
            has_str(err, cases[i].want, desc);
        }
        ok(s.name == NULL && s.drift == NULL, "a failed parse leaves nothing allocated");
        scenario_free(&s);
    }
    {
        struct scenario s;
        is_int(scenario_parse(NULL, &s, err, sizeof(err)), -1, "NULL text is an error");
        is_int(scenario_parse("{}", &s, NULL, 0), -1, "no error buffer is fine");
    }
}

/* Sample mean and coefficient of variation of 200k draws. */
static void sample_stats(const struct scenario_dist *d, uint64_t seed, double *mean, double *cv)
{
    const int n = 200000;
    uint64_t rng = seed;
    double sum = 0, sq = 0;

    for (int i = 0; i < n; i++) {
        double x = scenario_lognormal(d, &rng);
        sum += x;
        sq += x * x;
    }
    *mean = sum / n;
    *cv = sqrt(sq / n - *mean * *mean) / *mean;
}

/* Lognormal draws have the requested mean and cv; cv 0 is constant; normal is standard. */
static void test_lognormal(void)
{
    static const struct scenario_dist dists[] = { { 8.5, 0.5 }, { 150, 1.0 }, { 4, 0.25 }, { 10, 0.5 } };
    char desc[128];
    uint64_t rng = 99;
    double sum = 0, sq = 0;
    int constant = 1, positive = 1;

    for (size_t i = 0; i < sizeof(dists) / sizeof(dists[0]); i++) {
        double m, cv;
        sample_stats(&dists[i], 12345 + i, &m, &cv);
        snprintf(desc, sizeof(desc), "mean %g cv %g: sample mean %.3f within 1%%", dists[i].mean,
                 dists[i].cv, m);
        ok(fabs(m / dists[i].mean - 1) < 0.01, desc);
        snprintf(desc, sizeof(desc), "mean %g cv %g: sample cv %.4f within 5%%", dists[i].mean,
                 dists[i].cv, cv);
        ok(fabs(cv / dists[i].cv - 1) < 0.05, desc);
    }
    for (int i = 0; i < 1000; i++) {
        struct scenario_dist c = { 7, 0 }, d = { 3, 2 };
        if (scenario_lognormal(&c, &rng) != 7)
            constant = 0;
        if (!(scenario_lognormal(&d, &rng) > 0))
            positive = 0;
    }
    ok(constant, "cv 0 returns the mean every time");
    ok(positive, "draws are positive");
    {
        struct scenario_dist z = { 0, 1 };
        uint64_t a = 5, b = 5;
        ok(scenario_lognormal(&z, &a) == 0, "mean 0 returns 0");
        scenario_normal(&b);
        is_int(a, b, "a constant draw consumes the same randomness as a normal");
    }
    for (int i = 0; i < 200000; i++) {
        double z = scenario_normal(&rng);
        sum += z;
        sq += z * z;
    }
    ok(fabs(sum / 200000) < 0.01, "normal: sample mean near 0");
    ok(fabs(sq / 200000 - 1) < 0.02, "normal: sample variance near 1");
}

/* The same seed gives the same draws; another seed does not. */
static void test_determinism(void)
{
    struct scenario_dist d = { 150, 1 };
    uint64_t a = 42, b = 42, c = 43;
    int same = 1, differ = 0;

    for (int i = 0; i < 10000; i++) {
        double x = scenario_lognormal(&d, &a), y = scenario_lognormal(&d, &b);
        double z = scenario_lognormal(&d, &c);
        if (x != y)
            same = 0;
        if (x != z)
            differ = 1;
    }
    ok(same, "same seed, same sequence of draws");
    ok(differ, "another seed, another sequence");
}

/* Reads a whole file; NULL when it cannot. */
static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    return buf;
}

/* The shipped scenario files parse (run from the repository root). */
static void test_shipped(void)
{
    static const char *const names[] = { "small", "medium-low", "medium-high", "large", "drift", "demo" };
    char path[128], err[512], desc[160];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct scenario s;
        char *text;
        snprintf(path, sizeof(path), "bench/scenarios/%s.json", names[i]);
        text = read_text(path);
        snprintf(desc, sizeof(desc), "%s parses", path);
        if (text == NULL) {
            ok(0, desc);
            printf("#   cannot read %s (run from the repository root)\n", path);
            continue;
        }
        if (scenario_parse(text, &s, err, sizeof(err)) == 0) {
            ok(1, desc);
            snprintf(desc, sizeof(desc), "%s: name matches the file", path);
            is_str(s.name, names[i], desc);
        } else {
            ok(0, desc);
            printf("#   %s\n", err);
        }
        scenario_free(&s);
        free(text);
    }
}

/* Runs every group. */
int main(void)
{
    test_defaults();
    test_full();
    test_normalise();
    test_errors();
    test_lognormal();
    test_determinism();
    test_shipped();
    return tap_done();
}
