/* Scenario files: strict parsing with errors that name the field, defaults, drift and the draws. */
#include "scenario.h"

#include "util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Non-answer end statuses of DESIGN §4; the order fixes how a draw maps onto them. */
static const char *const scenario_non_answer_names[] = {
    "notAnswer", "userReject", "powerOff", "numberNotExist", "busy", "outOfCredit",
    "operatorError", "notInService", "clientError", "carrierBlocked", "numberInvalid",
    "callRestricted", "areaRestricted", NULL,
};
#define SCENARIO_N_NAMES (sizeof(scenario_non_answer_names) / sizeof(scenario_non_answer_names[0]) - 1)

static const char *const scenario_top_keys[] = {
    "name", "description", "seed", "shift_s", "agents", "skill_group_id", "agent_prefix",
    "answer_prob", "non_answer", "ring_s", "fail_s", "ring_timeout_s", "talk_s",
    "short_reject_share", "short_reject_s", "acw_s", "abandon_grace_s", "max_cps", "drift", "sim",
    NULL,
};
static const char *const scenario_dist_keys[] = { "mean", "cv", NULL };
static const char *const scenario_drift_keys[] = { "at_s", "answer_prob", "talk_scale", "agents", NULL };
static const char *const scenario_sim_keys[] = {
    "time_scale", "max_in_flight", "keys_share", "keys", "machine_share", "event_delay_ms", NULL,
};

#define SCENARIO_MAX_AGENTS 100000
#define SCENARIO_MAX_S 1e7          /* about 115 days: longer is surely a unit mistake */

/* Where a parse writes its one error message. */
struct scenario_ctx {
    char *err;
    size_t errlen;
};

/* Writes the error message and returns -1 so callers can `return scenario_fail(…)`. */
static int scenario_fail(struct scenario_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int scenario_fail(struct scenario_ctx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->err && c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Renders a JSON value short enough to quote in an error message. */
static void scenario_value_text(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 1e15)
            snprintf(buf, len, "%.0f", d);
        else
            snprintf(buf, len, "%.10g", d);
    } else {
        /* Printed as JSON so that control characters in a string come out escaped. */
        char *p = cJSON_PrintUnformatted(v);
        snprintf(buf, len, "%.40s%s", p ? p : "?", p && strlen(p) > 40 ? "..." : "");
        free(p);
    }
}

/* Joins "a, b, c" for the list of accepted keys in an error message. */
static void scenario_join(const char *const *names, size_t n, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && names[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
}

/* Rejects unknown and repeated keys: a typo must not pass silently as a default. */
static int scenario_check_keys(struct scenario_ctx *c, const cJSON *obj, const char *path,
                               const char *const *known)
{
    char list[512];
    size_t n = 0;

    while (known[n])
        n++;
    for (const cJSON *it = obj->child; it; it = it->next) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(it->string, known[i]) == 0)
                break;
        if (i == n) {
            scenario_join(known, n, list, sizeof(list));
            return scenario_fail(c, "%s.%s: unknown key; accepted: %s", path, it->string, list);
        }
        for (const cJSON *prev = obj->child; prev != it; prev = prev->next)
            if (strcmp(prev->string, it->string) == 0)
                return scenario_fail(c, "%s.%s: duplicate key; each key may appear once",
                                     path, it->string);
    }
    return 0;
}

/*
 * Reads an optional number into *out (left alone when the key is absent). The value must lie
 * in lo..hi (lo excluded when lo_open), be integral when `integer`, and `accepted` is what the
 * error message tells the user.
 */
static int scenario_num(struct scenario_ctx *c, const cJSON *obj, const char *path,
                        const char *key, double lo, int lo_open, double hi, int integer,
                        const char *accepted, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char text[96];
    double d;

    if (v == NULL)
        return 0;
    d = v->valuedouble;
    if (!cJSON_IsNumber(v) || !isfinite(d) || d < lo || (lo_open && d == lo) || d > hi ||
        (integer && d != floor(d))) {
        scenario_value_text(v, text, sizeof(text));
        return scenario_fail(c, "%s.%s = %s: accepted %s", path, key, text, accepted);
    }
    *out = d;
    return 0;
}

/* Fails when a required key is absent. */
static int scenario_require(struct scenario_ctx *c, const cJSON *obj, const char *path,
                            const char *key, const char *accepted)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
        return scenario_fail(c, "%s.%s is missing: required, accepted %s", path, key, accepted);
    return 0;
}

/*
 * Reads an optional string of minlen..maxlen bytes whose characters all appear in `charset`
 * (NULL: any printable character). Replaces *out (owned) only when the key is present.
 */
static int scenario_str(struct scenario_ctx *c, const cJSON *obj, const char *path,
                        const char *key, size_t minlen, size_t maxlen, const char *charset,
                        const char *accepted, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char text[96];
    size_t len;
    int good;

    if (v == NULL)
        return 0;
    good = cJSON_IsString(v);
    len = good ? strlen(v->valuestring) : 0;
    good = good && len >= minlen && len <= maxlen;
    for (size_t i = 0; good && i < len; i++) {
        unsigned char ch = (unsigned char)v->valuestring[i];
        if (charset ? strchr(charset, ch) == NULL : (ch < 0x20 || ch == 0x7f))
            good = 0;
    }
    if (!good) {
        scenario_value_text(v, text, sizeof(text));
        return scenario_fail(c, "%s.%s = %s: accepted %s", path, key, text, accepted);
    }
    free(*out);
    *out = util_xstrdup(v->valuestring);
    return 0;
}

/* Looks up an optional object member; a present non-object is an error. */
static int scenario_obj(struct scenario_ctx *c, const cJSON *obj, const char *path,
                        const char *key, const char *accepted, const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char text[96];

    *out = NULL;
    if (v == NULL)
        return 0;
    if (!cJSON_IsObject(v)) {
        scenario_value_text(v, text, sizeof(text));
        return scenario_fail(c, "%s.%s = %s: accepted %s", path, key, text, accepted);
    }
    *out = v;
    return 0;
}

/* Reads a {"mean", "cv"} object; absent keys keep the defaults already in *d. */
static int scenario_dist_read(struct scenario_ctx *c, const cJSON *obj, const char *path,
                              const char *key, struct scenario_dist *d)
{
    const cJSON *v;
    char sub[128];

    if (scenario_obj(c, obj, path, key, "an object {\"mean\": seconds, \"cv\": number}", &v) < 0)
        return -1;
    if (v == NULL)
        return 0;
    snprintf(sub, sizeof(sub), "%s.%s", path, key);
    if (scenario_check_keys(c, v, sub, scenario_dist_keys) < 0 ||
        scenario_num(c, v, sub, "mean", 0, 0, SCENARIO_MAX_S, 0, "seconds 0..10000000",
                     &d->mean) < 0 ||
        scenario_num(c, v, sub, "cv", 0, 0, 10, 0, "0..10 (0 = constant)", &d->cv) < 0)
        return -1;
    return 0;
}

/* Reads non_answer: known end statuses with non-negative weights, normalised to shares. */
static int scenario_non_answer_read(struct scenario_ctx *c, const cJSON *root, struct scenario *s)
{
    const char *path = "scenario.non_answer";
    double w[SCENARIO_N_NAMES] = { 0 }, sum = 0;
    const cJSON *v;
    char list[512];

    if (scenario_obj(c, root, "scenario", "non_answer",
                     "an object of end status → weight, e.g. {\"busy\": 0.3, \"notAnswer\": 0.7}",
                     &v) < 0)
        return -1;
    if (v == NULL) {
        s->non_answer[0].end_status = scenario_non_answer_names[0];
        s->non_answer[0].share = 1;
        s->n_non_answer = 1;
        return 0;
    }
    if (scenario_check_keys(c, v, path, scenario_non_answer_names) < 0)
        return -1;
    for (size_t i = 0; i < SCENARIO_N_NAMES; i++) {
        if (scenario_num(c, v, path, scenario_non_answer_names[i], 0, 0, 1e9, 0,
                         "a weight >= 0", &w[i]) < 0)
            return -1;
        sum += w[i];
    }
    if (!(sum > 0)) {
        scenario_join(scenario_non_answer_names, SCENARIO_N_NAMES, list, sizeof(list));
        return scenario_fail(c, "%s: the weights sum to 0: accepted at least one weight > 0 "
                             "among %s", path, list);
    }
    s->n_non_answer = 0;
    for (size_t i = 0; i < SCENARIO_N_NAMES; i++) {
        if (w[i] <= 0)
            continue;
        s->non_answer[s->n_non_answer].end_status = scenario_non_answer_names[i];
        s->non_answer[s->n_non_answer].share = w[i] / sum;
        s->n_non_answer++;
    }
    return 0;
}

/* Reads drift: parameter steps in non-decreasing simulated time. */
static int scenario_drift_read(struct scenario_ctx *c, const cJSON *root, struct scenario *s)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "drift");
    char text[96], path[64];
    int i = 0;

    if (arr == NULL)
        return 0;
    if (!cJSON_IsArray(arr)) {
        scenario_value_text(arr, text, sizeof(text));
        return scenario_fail(c, "scenario.drift = %s: accepted an array of "
                             "{\"at_s\", \"answer_prob\", \"talk_scale\", \"agents\"}", text);
    }
    s->n_drift = cJSON_GetArraySize(arr);
    s->drift = util_xcalloc((size_t)s->n_drift, sizeof(*s->drift));
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        struct scenario_drift *d = &s->drift[i];
        double agents = -1;

        snprintf(path, sizeof(path), "scenario.drift[%d]", i);
        if (!cJSON_IsObject(it)) {
            scenario_value_text(it, text, sizeof(text));
            return scenario_fail(c, "%s = %s: accepted an object {\"at_s\", \"answer_prob\", "
                                 "\"talk_scale\", \"agents\"}", path, text);
        }
        d->answer_prob = d->talk_scale = -1;
        if (scenario_check_keys(c, it, path, scenario_drift_keys) < 0 ||
            scenario_require(c, it, path, "at_s", "seconds 0..10000000 into the shift") < 0 ||
            scenario_num(c, it, path, "at_s", 0, 0, SCENARIO_MAX_S, 0,
                         "seconds 0..10000000 into the shift", &d->at_s) < 0 ||
            scenario_num(c, it, path, "answer_prob", 0, 0, 1, 0, "0..1", &d->answer_prob) < 0 ||
            scenario_num(c, it, path, "talk_scale", 0, 1, 100, 0, "a factor > 0 and <= 100",
                         &d->talk_scale) < 0 ||
            scenario_num(c, it, path, "agents", 0, 0, SCENARIO_MAX_AGENTS, 1,
                         "an integer 0..100000", &agents) < 0)
            return -1;
        d->agents = (int)agents;
        if (d->answer_prob < 0 && d->talk_scale < 0 && d->agents < 0)
            return scenario_fail(c, "%s: changes nothing: accepted at least one of answer_prob, "
                                 "talk_scale, agents besides at_s", path);
        if (i > 0 && d->at_s < s->drift[i - 1].at_s)
            return scenario_fail(c, "%s.at_s = %g: accepted a time >= scenario.drift[%d].at_s = %g "
                                 "(steps in time order)", path, d->at_s, i - 1,
                                 s->drift[i - 1].at_s);
    }
    return 0;
}

/* Reads the "sim" object of real-time simulator knobs. */
static int scenario_sim_read(struct scenario_ctx *c, const cJSON *root, struct scenario *s)
{
    const char *path = "scenario.sim";
    const cJSON *v;
    double mif = s->sim.max_in_flight, delay = s->sim.event_delay_ms;

    if (scenario_obj(c, root, "scenario", "sim", "an object of simulator settings", &v) < 0)
        return -1;
    if (v == NULL)
        return 0;
    if (scenario_check_keys(c, v, path, scenario_sim_keys) < 0 ||
        scenario_num(c, v, path, "time_scale", 0, 1, 100000, 0, "a factor > 0 and <= 100000",
                     &s->sim.time_scale) < 0 ||
        scenario_num(c, v, path, "max_in_flight", 0, 0, 1000000, 1,
                     "an integer 0..1000000 (0 = no cap)", &mif) < 0 ||
        scenario_num(c, v, path, "keys_share", 0, 0, 1, 0, "0..1", &s->sim.keys_share) < 0 ||
        scenario_str(c, v, path, "keys", 1, 32, "0123456789*#",
                     "1..32 of the characters 0-9 * #", &s->sim.keys) < 0 ||
        scenario_num(c, v, path, "machine_share", 0, 0, 1, 0, "0..1",
                     &s->sim.machine_share) < 0 ||
        scenario_num(c, v, path, "event_delay_ms", 0, 0, 60000, 1,
                     "an integer 0..60000 (milliseconds)", &delay) < 0)
        return -1;
    s->sim.max_in_flight = (int)mif;
    s->sim.event_delay_ms = (int)delay;
    return 0;
}

/* Sets every default before the file is read. */
static void scenario_defaults(struct scenario *s)
{
    memset(s, 0, sizeof(*s));
    s->name = util_xstrdup("unnamed");
    s->description = util_xstrdup("");
    s->seed = 1;
    s->shift_s = 28800;
    s->skill_group_id = 1;
    s->ring_s = (struct scenario_dist){ 8.5, 0.5 };
    s->fail_s = (struct scenario_dist){ 4, 0.5 };
    s->ring_timeout_s = 30;
    s->talk_s = (struct scenario_dist){ 0, 1.0 };
    s->short_reject_s = (struct scenario_dist){ 8, 0.5 };
    s->acw_s = (struct scenario_dist){ 0, 0 };
    s->abandon_grace_s = 2;
    s->sim.time_scale = 1;
    s->sim.keys = util_xstrdup("1");
}

/* Reads the top-level scalar fields. */
static int scenario_top_read(struct scenario_ctx *c, const cJSON *root, struct scenario *s)
{
    const char *p = "scenario";
    double seed = (double)s->seed, agents = 0, sg = (double)s->skill_group_id;
    char prefix[64];

    if (scenario_check_keys(c, root, p, scenario_top_keys) < 0 ||
        scenario_str(c, root, p, "name", 1, 64, NULL, "1..64 printable characters", &s->name) < 0 ||
        scenario_str(c, root, p, "description", 0, 4000, NULL, "up to 4000 printable characters",
                     &s->description) < 0 ||
        scenario_num(c, root, p, "seed", 0, 0, 9007199254740992.0, 1,
                     "an integer 0..9007199254740992", &seed) < 0 ||
        scenario_num(c, root, p, "shift_s", 0, 1, SCENARIO_MAX_S, 0,
                     "seconds > 0 and <= 10000000", &s->shift_s) < 0 ||
        scenario_require(c, root, p, "agents", "an integer 0..100000") < 0 ||
        scenario_num(c, root, p, "agents", 0, 0, SCENARIO_MAX_AGENTS, 1, "an integer 0..100000",
                     &agents) < 0 ||
        scenario_num(c, root, p, "skill_group_id", 1, 0, 9007199254740992.0, 1,
                     "an integer >= 1", &sg) < 0)
        return -1;
    s->seed = (uint64_t)seed;
    s->agents = (int)agents;
    s->skill_group_id = (long long)sg;
    snprintf(prefix, sizeof(prefix), "sg%lld-agent-", s->skill_group_id);
    s->agent_prefix = util_xstrdup(prefix);
    if (scenario_str(c, root, p, "agent_prefix", 1, 64,
                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-",
                     "1..64 of the characters A-Z a-z 0-9 . _ : -", &s->agent_prefix) < 0 ||
        scenario_require(c, root, p, "answer_prob", "0..1") < 0 ||
        scenario_num(c, root, p, "answer_prob", 0, 0, 1, 0, "0..1", &s->answer_prob) < 0 ||
        scenario_num(c, root, p, "ring_timeout_s", 1, 0, 600, 0, "seconds 1..600",
                     &s->ring_timeout_s) < 0 ||
        scenario_num(c, root, p, "short_reject_share", 0, 0, 1, 0, "0..1",
                     &s->short_reject_share) < 0 ||
        scenario_num(c, root, p, "abandon_grace_s", 0, 0, 600, 0, "seconds 0..600",
                     &s->abandon_grace_s) < 0 ||
        scenario_num(c, root, p, "max_cps", 0, 0, 100000, 0,
                     "dials per second 0..100000 (0 = no cap)", &s->max_cps) < 0)
        return -1;
    return 0;
}

/* Parses, validates and fills in defaults. */
int scenario_parse(const char *json_text, struct scenario *out, char *err, size_t errlen)
{
    struct scenario_ctx c = { err, errlen };
    const char *end = NULL;
    cJSON *root;
    int rc = -1;

    scenario_defaults(out);
    if (err && errlen)
        err[0] = '\0';
    if (json_text == NULL) {
        scenario_fail(&c, "scenario: no text given: accepted a JSON object");
        goto out;
    }
    root = cJSON_ParseWithOpts(json_text, &end, 1);
    if (root == NULL) {
        size_t at = end && end >= json_text ? (size_t)(end - json_text) : 0;
        int line = 1;
        for (size_t i = 0; i < at && json_text[i]; i++)
            line += json_text[i] == '\n';
        scenario_fail(&c, "scenario: not valid JSON at byte %zu (line %d) near \"%.20s\": "
                      "accepted a JSON object", at, line, json_text + at);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        scenario_fail(&c, "scenario: the top level is not an object: accepted a JSON object");
    } else if (scenario_top_read(&c, root, out) == 0 &&
               scenario_non_answer_read(&c, root, out) == 0 &&
               scenario_dist_read(&c, root, "scenario", "ring_s", &out->ring_s) == 0 &&
               scenario_dist_read(&c, root, "scenario", "fail_s", &out->fail_s) == 0 &&
               scenario_require(&c, root, "scenario", "talk_s",
                                "an object {\"mean\": seconds, \"cv\": number}") == 0 &&
               scenario_dist_read(&c, root, "scenario", "talk_s", &out->talk_s) == 0 &&
               scenario_require(&c, cJSON_GetObjectItemCaseSensitive(root, "talk_s"),
                                "scenario.talk_s", "mean", "seconds 0..10000000") == 0 &&
               scenario_dist_read(&c, root, "scenario", "short_reject_s",
                                  &out->short_reject_s) == 0 &&
               scenario_dist_read(&c, root, "scenario", "acw_s", &out->acw_s) == 0 &&
               scenario_drift_read(&c, root, out) == 0 &&
               scenario_sim_read(&c, root, out) == 0) {
        rc = 0;
        if (out->answer_prob + out->sim.machine_share > 1 + 1e-12) {
            rc = scenario_fail(&c, "scenario.sim.machine_share = %g: accepted 0..%g "
                               "(answer_prob + machine_share must not exceed 1)",
                               out->sim.machine_share, 1 - out->answer_prob);
        }
        for (int i = 0; rc == 0 && i < out->n_drift; i++) {
            if (out->drift[i].answer_prob + out->sim.machine_share > 1 + 1e-12)
                rc = scenario_fail(&c, "scenario.drift[%d].answer_prob = %g: accepted 0..%g "
                                   "(answer_prob + sim.machine_share must not exceed 1)", i,
                                   out->drift[i].answer_prob, 1 - out->sim.machine_share);
        }
    }
    cJSON_Delete(root);
out:
    if (rc < 0)
        scenario_free(out);
    return rc;
}

/* Frees the owned strings and arrays. */
void scenario_free(struct scenario *s)
{
    if (s == NULL)
        return;
    free(s->name);
    free(s->description);
    free(s->agent_prefix);
    free(s->drift);
    free(s->sim.keys);
    memset(s, 0, sizeof(*s));
}

/* Applies every drift step at or before t to the base parameters. */
void scenario_at(const struct scenario *s, double t, struct scenario_params *out)
{
    out->answer_prob = s->answer_prob;
    out->talk_scale = 1;
    out->agents = s->agents;
    for (int i = 0; i < s->n_drift && s->drift[i].at_s <= t; i++) {
        if (s->drift[i].answer_prob >= 0)
            out->answer_prob = s->drift[i].answer_prob;
        if (s->drift[i].talk_scale >= 0)
            out->talk_scale = s->drift[i].talk_scale;
        if (s->drift[i].agents >= 0)
            out->agents = s->drift[i].agents;
    }
}

/* Largest logged-in count over the shift. */
int scenario_agents_total(const struct scenario *s)
{
    int n = s->agents;

    for (int i = 0; i < s->n_drift; i++)
        if (s->drift[i].agents > n)
            n = s->drift[i].agents;
    return n;
}

/* Formats an agent id: prefix + at least three digits. */
void scenario_agent_id(const struct scenario *s, int n, char *buf, size_t len)
{
    snprintf(buf, len, "%s%03d", s->agent_prefix, n);
}

/* Vocabulary check for non-answer end statuses. */
int scenario_is_non_answer_status(const char *name)
{
    for (size_t i = 0; i < SCENARIO_N_NAMES; i++)
        if (strcmp(name, scenario_non_answer_names[i]) == 0)
            return 1;
    return 0;
}

/* Box–Muller from two uniforms; 1 − u keeps the logarithm's argument in (0, 1]. */
double scenario_normal(uint64_t *rng)
{
    double u1 = 1.0 - util_rand01(rng);
    double u2 = util_rand01(rng);

    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Lognormal parameterised by mean and cv so that scenario files speak in observable terms. */
double scenario_lognormal(const struct scenario_dist *d, uint64_t *rng)
{
    double z = scenario_normal(rng), s2, mu;

    if (d->mean <= 0)
        return 0;
    if (d->cv <= 0)
        return d->mean;
    s2 = log1p(d->cv * d->cv);
    mu = log(d->mean) - s2 / 2;
    return exp(mu + sqrt(s2) * z);
}
