/* dialer-bench report: replications aggregated into rows, the table, and the JSON twin of it. */
#include "bench.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A gap between ceiling and progressive occupancy below this cannot be divided by (η n/a). */
#define BENCH_ETA_MIN_GAP 1e-9

/* Means and maxima over the replications; the sd is the sample one (0 for one replication). */
void bench_row_fill(struct bench_row *row, enum bench_policy_id policy,
                    const struct bench_result *res, int reps)
{
    double sum_sq = 0;

    memset(row, 0, sizeof(*row));
    row->policy = policy;
    row->reps = reps;
    row->worst_hour_max = -1;
    row->eta = NAN;
    for (int i = 0; i < reps; i++) {
        const struct bench_result *r = &res[i];
        double ab = bench_abandon_rate(r);
        row->occ_mean += bench_occupancy(r);
        row->talk_min_agent_h += bench_talk_min_per_agent_hour(r);
        row->abandon_mean += ab;
        if (ab > row->abandon_max)
            row->abandon_max = ab;
        if (r->worst_hour > row->worst_hour_max)
            row->worst_hour_max = r->worst_hour;
        row->wait_mean_s += bench_wait_mean_s(r);
        row->dials_agent_h += bench_dials_per_agent_hour(r);
        row->decisions_mean += r->decisions;
        row->cps_held_mean += r->cps_held;
    }
    if (reps <= 0)
        return;
    row->occ_mean /= reps;
    row->talk_min_agent_h /= reps;
    row->abandon_mean /= reps;
    row->wait_mean_s /= reps;
    row->dials_agent_h /= reps;
    row->decisions_mean /= reps;
    row->cps_held_mean /= reps;
    for (int i = 0; i < reps; i++) {
        double d = bench_occupancy(&res[i]) - row->occ_mean;
        sum_sq += d * d;
    }
    row->occ_sd = reps > 1 ? sqrt(sum_sq / (reps - 1)) : 0;
}

/* η = (occ − occ_progressive) / (occ_ceiling − occ_progressive), on the mean occupancies. */
void bench_rows_eta(struct bench_row *rows, int n)
{
    const struct bench_row *floor_row = NULL, *ceil_row = NULL;
    double gap;

    for (int i = 0; i < n; i++) {
        if (rows[i].policy == BENCH_PROGRESSIVE)
            floor_row = &rows[i];
        else if (rows[i].policy == BENCH_CEILING)
            ceil_row = &rows[i];
    }
    if (floor_row == NULL || ceil_row == NULL)
        return;
    gap = ceil_row->occ_mean - floor_row->occ_mean;
    if (!(gap > BENCH_ETA_MIN_GAP))
        return;
    for (int i = 0; i < n; i++)
        rows[i].eta = (rows[i].occ_mean - floor_row->occ_mean) / gap;
}

/* Rows for every scenario × policy, then η per scenario. */
void bench_report_rows(struct bench_report *r)
{
    for (int s = 0; s < r->n_scen; s++) {
        for (int p = 0; p < r->n_pol; p++) {
            size_t at = ((size_t)s * (size_t)r->n_pol + (size_t)p) * (size_t)r->reps;
            bench_row_fill(&r->rows[s * r->n_pol + p], r->pol[p], &r->res[at], r->reps);
        }
        bench_rows_eta(&r->rows[s * r->n_pol], r->n_pol);
    }
}

/* The table: one row per scenario × policy, columns aligned under a two-line header. */
void bench_report_table(FILE *f, const struct bench_report *r)
{
    int w = 8;
    char eta[16], worst[16];

    for (int s = 0; s < r->n_scen; s++)
        if ((int)strlen(r->scen[s].sc.name) > w)
            w = (int)strlen(r->scen[s].sc.name);
    fprintf(f, "%-*s  %-11s  %9s  %6s  %8s  %8s  %8s  %9s  %7s  %8s\n", w, "", "",
            "occupancy", "", "talk min", "abandon", "abandon", "worst 1h", "wait", "dials");
    fprintf(f, "%-*s  %-11s  %9s  %6s  %8s  %8s  %8s  %9s  %7s  %8s  %6s\n", w, "scenario",
            "policy", "mean %", "sd %", "/agent-h", "mean %", "max %", "max %", "s", "/agent-h",
            "eta");
    for (int s = 0; s < r->n_scen; s++) {
        for (int p = 0; p < r->n_pol; p++) {
            const struct bench_row *row = &r->rows[s * r->n_pol + p];
            if (isnan(row->eta))
                snprintf(eta, sizeof(eta), "n/a");
            else
                snprintf(eta, sizeof(eta), "%.3f", row->eta);
            if (row->worst_hour_max < 0)
                snprintf(worst, sizeof(worst), "-");
            else
                snprintf(worst, sizeof(worst), "%.2f", 100 * row->worst_hour_max);
            fprintf(f, "%-*s  %-11s  %9.2f  %6.2f  %8.1f  %8.2f  %8.2f  %9s  %7.1f  %8.1f  %6s\n",
                    w, r->scen[s].sc.name, bench_policy_name(row->policy), 100 * row->occ_mean,
                    100 * row->occ_sd, row->talk_min_agent_h, 100 * row->abandon_mean,
                    100 * row->abandon_max, worst, row->wait_mean_s, row->dials_agent_h, eta);
        }
    }
}

/* A number, or null for the "not defined" values (NAN, or a negative worst hour). */
static void bench_json_num(cJSON *o, const char *key, double v)
{
    if (isnan(v) || v < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, v);
}

/* The per-replication numbers of one row, for paired comparisons outside the bench. */
static cJSON *bench_json_runs(const struct bench_result *res, int reps)
{
    cJSON *arr = cJSON_CreateArray();

    for (int i = 0; i < reps; i++) {
        const struct bench_result *x = &res[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "occupancy", bench_occupancy(x));
        cJSON_AddNumberToObject(o, "abandon_rate", bench_abandon_rate(x));
        bench_json_num(o, "worst_hour_abandon_rate", x->worst_hour);
        cJSON_AddNumberToObject(o, "talk_min_per_agent_hour", bench_talk_min_per_agent_hour(x));
        cJSON_AddNumberToObject(o, "wait_mean_s", bench_wait_mean_s(x));
        cJSON_AddNumberToObject(o, "dials_per_agent_hour", bench_dials_per_agent_hour(x));
        cJSON_AddNumberToObject(o, "logged_in_s", x->logged_s);
        cJSON_AddNumberToObject(o, "talk_s", x->talk_s);
        cJSON_AddNumberToObject(o, "acw_s", x->acw_s);
        cJSON_AddNumberToObject(o, "dials", x->dials);
        cJSON_AddNumberToObject(o, "live_answers", x->answers);
        cJSON_AddNumberToObject(o, "abandons", x->abandons);
        cJSON_AddNumberToObject(o, "connects", x->connects);
        cJSON_AddNumberToObject(o, "decisions", x->decisions);
        cJSON_AddNumberToObject(o, "cps_held", x->cps_held);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* One scenario's object: what it was and its rows. */
static cJSON *bench_json_scen(const struct bench_report *r, int s)
{
    const struct bench_scen *sc = &r->scen[s];
    cJSON *o = cJSON_CreateObject(), *rows = cJSON_CreateArray();

    cJSON_AddStringToObject(o, "name", sc->sc.name);
    cJSON_AddStringToObject(o, "file", sc->file);
    cJSON_AddNumberToObject(o, "seed", (double)sc->seed);
    cJSON_AddNumberToObject(o, "shift_s", sc->shift_s);
    cJSON_AddNumberToObject(o, "agents", sc->sc.agents);
    cJSON_AddNumberToObject(o, "answer_prob", sc->sc.answer_prob);
    cJSON_AddNumberToObject(o, "max_cps", sc->sc.max_cps);
    for (int p = 0; p < r->n_pol; p++) {
        const struct bench_row *row = &r->rows[s * r->n_pol + p];
        size_t at = ((size_t)s * (size_t)r->n_pol + (size_t)p) * (size_t)r->reps;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "policy", bench_policy_name(row->policy));
        cJSON_AddNumberToObject(x, "occupancy_mean", row->occ_mean);
        cJSON_AddNumberToObject(x, "occupancy_sd", row->occ_sd);
        cJSON_AddNumberToObject(x, "talk_min_per_agent_hour", row->talk_min_agent_h);
        cJSON_AddNumberToObject(x, "abandon_rate_mean", row->abandon_mean);
        cJSON_AddNumberToObject(x, "abandon_rate_max", row->abandon_max);
        bench_json_num(x, "worst_hour_abandon_rate_max", row->worst_hour_max);
        cJSON_AddNumberToObject(x, "wait_mean_s", row->wait_mean_s);
        cJSON_AddNumberToObject(x, "dials_per_agent_hour", row->dials_agent_h);
        bench_json_num(x, "eta", row->eta);
        cJSON_AddNumberToObject(x, "decisions_mean", row->decisions_mean);
        cJSON_AddNumberToObject(x, "cps_held_mean", row->cps_held_mean);
        cJSON_AddItemToObject(x, "runs", bench_json_runs(&r->res[at], r->reps));
        cJSON_AddItemToArray(rows, x);
    }
    cJSON_AddItemToObject(o, "policies", rows);
    return o;
}

/* The whole report as one JSON document (no wall time: the file stays byte-for-byte stable). */
int bench_report_json(FILE *f, const char *path, const struct bench_report *r, char *err,
                      size_t errlen)
{
    cJSON *root = cJSON_CreateObject(), *scen = cJSON_CreateArray();
    char *text;
    int rc = 0;

    cJSON_AddStringToObject(root, "tool", "dialer-bench");
    cJSON_AddNumberToObject(root, "reps", r->reps);
    if (r->seed_given)
        cJSON_AddNumberToObject(root, "seed", (double)r->seed);
    else
        cJSON_AddNullToObject(root, "seed");
    if (r->hours > 0)
        cJSON_AddNumberToObject(root, "hours", r->hours);
    else
        cJSON_AddNullToObject(root, "hours");
    cJSON_AddNumberToObject(root, "decision_gap_s", r->decide_gap_s);
    for (int s = 0; s < r->n_scen; s++)
        cJSON_AddItemToArray(scen, bench_json_scen(r, s));
    cJSON_AddItemToObject(root, "scenarios", scen);
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory rendering JSON", path);
        fclose(f);
        return -1;
    }
    if (fputs(text, f) < 0 || fputc('\n', f) < 0)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    free(text);
    return rc;
}
