/* dialer-bench: command line, scenario loading, the grid over worker processes, the output. */
#include "bench.h"

#include "util.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_DEFAULT_GLOB "bench/scenarios/*.json"
/* The demo is tuned for `make run`, not for comparing pacers. */
#define BENCH_SKIP_DEFAULT "demo.json"
#define BENCH_MAX_FILE (1 << 20)
/*
 * Decisions at most every 0.1 virtual seconds by default: a predictive pacer is asked after
 * every event, and at 500 agents that made the pacer, not the model, cost minutes per shift
 * (docs/dialer-bench.md, Run time). Occupancy moves by under 0.1 point.
 */
#define BENCH_DEFAULT_DECISION_GAP_S 0.1

static const char bench_usage[] =
    "usage: dialer-bench [--reps N] [--hours H] [--policies a,b,...] [--seed S] [--jobs J]\n"
    "                    [--json FILE] [--decision-gap S] [SCENARIO.json ...]\n"
    "\n"
    "  --reps N          replications per scenario and policy (default 30)\n"
    "  --hours H         shift length in hours (default: each scenario's shift_s)\n"
    "  --policies LIST   comma-separated, from: progressive, ratio2, vicidial, ours, ceiling,\n"
    "                    matched (default: all six)\n"
    "  --seed S          replaces every scenario's seed (integer 0..2^53)\n"
    "  --jobs J          worker processes (default 2; results do not depend on it)\n"
    "  --json FILE       also write the numbers, per replication too, as JSON\n"
    "  --decision-gap S  least virtual seconds between two decisions (default 0.1;\n"
    "                    0 asks after every event)\n"
    "\n"
    "Without files: every " BENCH_DEFAULT_GLOB " except " BENCH_SKIP_DEFAULT
    " (run from the repository root).\n"
    "The model, the policies and the columns are described in docs/dialer-bench.md.\n";

/* The command line once parsed. */
struct bench_opts {
    int reps;
    int jobs;
    double hours;
    int seed_given;
    uint64_t seed;
    double decide_gap_s;
    const char *json;
    int n_pol;
    enum bench_policy_id pol[BENCH_N_POLICIES];
    int n_files;
    char **files;             /* owned array; the strings are owned too */
};

/* One result on its way from a worker to the parent. */
struct bench_wire {
    uint64_t task;
    struct bench_result res;
};

/* Prints a usage error and returns the exit status for it. */
static int bench_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bench_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("dialer-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(dialer-bench --help for usage)\n", stderr);
    return 2;
}

/* A whole-string integer in lo..hi. */
static int bench_parse_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A whole-string finite number in lo..hi, lo excluded when lo_open. */
static int bench_parse_double(const char *s, double lo, int lo_open, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || (lo_open && v == lo) || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A comma-separated list of distinct policy names, kept in the order given. */
static int bench_parse_policies(const char *list, struct bench_opts *o)
{
    char buf[256], *save = NULL, *tok;

    if (strlen(list) >= sizeof(buf))
        return bench_usage_error("--policies %s: too long", list);
    snprintf(buf, sizeof(buf), "%s", list);
    o->n_pol = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int id = bench_policy_parse(tok);
        if (id < 0)
            return bench_usage_error("--policies: unknown policy \"%s\"; accepted: progressive, "
                                     "ratio2, vicidial, ours, ceiling, matched", tok);
        for (int i = 0; i < o->n_pol; i++)
            if (o->pol[i] == (enum bench_policy_id)id)
                return bench_usage_error("--policies: \"%s\" named twice", tok);
        o->pol[o->n_pol++] = (enum bench_policy_id)id;
    }
    if (o->n_pol == 0)
        return bench_usage_error("--policies \"%s\": accepted a comma-separated list of one "
                                 "or more policies", list);
    return 0;
}

/* The value of option argv[*i]: after '=' or the next argument. NULL when missing. */
static const char *bench_opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 < argc)
        return argv[++*i];
    return NULL;
}

/* Whether argv[i] is the option `name`, alone or as name=value. */
static int bench_is_opt(const char *arg, const char *name)
{
    size_t n = strlen(name);

    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Adds a scenario file to the list. */
static void bench_add_file(struct bench_opts *o, const char *path)
{
    char **f = realloc(o->files, (size_t)(o->n_files + 1) * sizeof(*f));

    if (f == NULL) {
        fputs("dialer-bench: out of memory\n", stderr);
        abort();
    }
    o->files = f;
    o->files[o->n_files++] = util_xstrdup(path);
}

/* Parses the command line; returns -1 to go on, else the exit status. */
static int bench_parse_args(int argc, char **argv, struct bench_opts *o)
{
    int rc, only_files = 0;

    memset(o, 0, sizeof(*o));
    o->reps = 30;
    o->jobs = 2;
    o->decide_gap_s = BENCH_DEFAULT_DECISION_GAP_S;
    for (int i = 0; i < BENCH_N_POLICIES; i++)
        o->pol[i] = (enum bench_policy_id)i;
    o->n_pol = BENCH_N_POLICIES;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long n;
        double d;

        if (only_files || a[0] != '-' || a[1] == '\0') {
            bench_add_file(o, a);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(bench_usage, stdout);
            return 0;
        } else if (bench_is_opt(a, "--reps")) {
            if ((v = bench_opt_value(argc, argv, &i, "--reps")) == NULL ||
                bench_parse_long(v, 1, 1000000, &n) < 0)
                return bench_usage_error("--reps %s: accepted an integer 1..1000000",
                                         v ? v : "(missing)");
            o->reps = (int)n;
        } else if (bench_is_opt(a, "--jobs")) {
            if ((v = bench_opt_value(argc, argv, &i, "--jobs")) == NULL ||
                bench_parse_long(v, 1, 256, &n) < 0)
                return bench_usage_error("--jobs %s: accepted an integer 1..256",
                                         v ? v : "(missing)");
            o->jobs = (int)n;
        } else if (bench_is_opt(a, "--hours")) {
            if ((v = bench_opt_value(argc, argv, &i, "--hours")) == NULL ||
                bench_parse_double(v, 0, 1, 2777, &d) < 0)
                return bench_usage_error("--hours %s: accepted hours > 0 and <= 2777",
                                         v ? v : "(missing)");
            o->hours = d;
        } else if (bench_is_opt(a, "--seed")) {
            if ((v = bench_opt_value(argc, argv, &i, "--seed")) == NULL ||
                bench_parse_long(v, 0, 9007199254740992LL, &n) < 0)
                return bench_usage_error("--seed %s: accepted an integer 0..9007199254740992",
                                         v ? v : "(missing)");
            o->seed_given = 1;
            o->seed = (uint64_t)n;
        } else if (bench_is_opt(a, "--decision-gap")) {
            if ((v = bench_opt_value(argc, argv, &i, "--decision-gap")) == NULL ||
                bench_parse_double(v, 0, 0, 60, &d) < 0)
                return bench_usage_error("--decision-gap %s: accepted seconds 0..60",
                                         v ? v : "(missing)");
            o->decide_gap_s = d;
        } else if (bench_is_opt(a, "--policies")) {
            if ((v = bench_opt_value(argc, argv, &i, "--policies")) == NULL)
                return bench_usage_error("--policies %s: accepted a comma-separated list",
                                         "(missing)");
            if ((rc = bench_parse_policies(v, o)) != 0)
                return rc;
        } else if (bench_is_opt(a, "--json")) {
            if ((v = bench_opt_value(argc, argv, &i, "--json")) == NULL || *v == '\0')
                return bench_usage_error("--json %s: accepted a file name", "(missing)");
            o->json = v;
        } else {
            return bench_usage_error("%s: unknown option", a);
        }
    }
    return -1;
}

/* Every default scenario file, sorted, the demo left out. */
static int bench_default_files(struct bench_opts *o)
{
    glob_t g;
    int rc = glob(BENCH_DEFAULT_GLOB, 0, NULL, &g);

    if (rc == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *base = strrchr(g.gl_pathv[i], '/');
            base = base ? base + 1 : g.gl_pathv[i];
            if (strcmp(base, BENCH_SKIP_DEFAULT) != 0)
                bench_add_file(o, g.gl_pathv[i]);
        }
    }
    globfree(&g);
    if (o->n_files == 0) {
        fprintf(stderr, "dialer-bench: no scenario files: %s matched none besides %s "
                "(run from the repository root or name the files)\n", BENCH_DEFAULT_GLOB,
                BENCH_SKIP_DEFAULT);
        return 1;
    }
    return 0;
}

/* Reads a whole file into a NUL-terminated buffer (owned by the caller). */
static char *bench_read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    buf = util_xcalloc(BENCH_MAX_FILE + 1, 1);
    n = fread(buf, 1, BENCH_MAX_FILE + 1, f);
    if (ferror(f) || n > BENCH_MAX_FILE) {
        snprintf(err, errlen, "%s", ferror(f) ? strerror(errno) : "larger than 1 MiB");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Loads and validates every scenario; the first bad one ends the program. */
static int bench_load(const struct bench_opts *o, struct bench_report *r)
{
    char err[512];

    r->scen = util_xcalloc((size_t)o->n_files, sizeof(*r->scen));
    for (int i = 0; i < o->n_files; i++) {
        struct bench_scen *s = &r->scen[i];
        char *text = bench_read_file(o->files[i], err, sizeof(err));
        if (text == NULL) {
            fprintf(stderr, "dialer-bench: %s: %s\n", o->files[i], err);
            return 1;
        }
        if (scenario_parse(text, &s->sc, err, sizeof(err)) < 0) {
            fprintf(stderr, "dialer-bench: %s: %s\n", o->files[i], err);
            free(text);
            return 1;
        }
        free(text);
        r->n_scen++;
        s->file = util_xstrdup(o->files[i]);
        s->shift_s = o->hours > 0 ? o->hours * 3600 : s->sc.shift_s;
        s->seed = o->seed_given ? o->seed : s->sc.seed;
        if (scenario_agents_total(&s->sc) == 0)
            fprintf(stderr, "dialer-bench: %s: warning: no agent is ever logged in; every "
                    "metric will be 0\n", o->files[i]);
    }
    return 0;
}

/* Runs grid task t: the task numbering is scenario-major, then policy, then replication. */
static void bench_task(const struct bench_report *r, size_t t, struct bench_result *out)
{
    size_t per_scen = (size_t)r->n_pol * (size_t)r->reps;
    const struct bench_scen *s = &r->scen[t / per_scen];
    struct bench_run_cfg cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.sc = &s->sc;
    cfg.shift_s = s->shift_s;
    cfg.seed = s->seed;
    cfg.rep = (int)(t % (size_t)r->reps);
    cfg.policy = r->pol[(t / (size_t)r->reps) % (size_t)r->n_pol];
    cfg.decide_gap_s = r->decide_gap_s;
    if (cfg.policy == BENCH_MATCHED) {
        /* Same replication, same draws: what the VICIdial-style policy abandoned is the
         * target. Run here rather than looked up so that tasks stay independent. */
        struct bench_run_cfg vc = cfg;
        struct bench_result vr;
        memset(&vr, 0, sizeof(vr));
        vc.policy = BENCH_VICIDIAL;
        bench_run(&vc, &vr);
        cfg.abandon_target = bench_abandon_rate(&vr);
        if (cfg.abandon_target < BENCH_MATCHED_MIN_TARGET)
            cfg.abandon_target = BENCH_MATCHED_MIN_TARGET;
    }
    bench_run(&cfg, out);
}

/* Writes all of buf or fails. */
static int bench_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A worker: every J-th task from its own index; each result goes up its pipe. */
static void bench_worker(const struct bench_report *r, size_t total, int w, int fd)
{
    for (size_t t = (size_t)w; t < total; t += (size_t)r->jobs) {
        struct bench_wire msg;
        memset(&msg, 0, sizeof(msg));
        msg.task = t;
        bench_task(r, t, &msg.res);
        if (bench_write_all(fd, &msg, sizeof(msg)) < 0)
            _exit(1);
    }
    _exit(0);
}

/* Per worker: its pipe and the part of a message read so far. */
struct bench_chan {
    pid_t pid;
    int fd;
    size_t have;
    struct bench_wire msg;
};

/*
 * Runs the grid over J forked workers. Results are stored by task number, so the report does
 * not depend on J or on which worker finished first.
 */
static int bench_run_parallel(struct bench_report *r, size_t total)
{
    int jobs = r->jobs, open_fds = 0, rc = 0;
    struct bench_chan *ch = util_xcalloc((size_t)jobs, sizeof(*ch));
    struct pollfd *pf = util_xcalloc((size_t)jobs, sizeof(*pf));
    unsigned char *got = util_xcalloc(total, 1);
    size_t n_got = 0;

    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < jobs; w++) {
        int p[2];
        if (pipe(p) < 0) {
            fprintf(stderr, "dialer-bench: pipe: %s\n", strerror(errno));
            rc = 1;
            jobs = w;
            break;
        }
        ch[w].pid = fork();
        if (ch[w].pid < 0) {
            fprintf(stderr, "dialer-bench: fork: %s\n", strerror(errno));
            close(p[0]);
            close(p[1]);
            rc = 1;
            jobs = w;
            break;
        }
        if (ch[w].pid == 0) {
            /* The read ends of earlier workers' pipes are of no use here. */
            for (int k = 0; k < w; k++)
                close(ch[k].fd);
            close(p[0]);
            bench_worker(r, total, w, p[1]);
        }
        close(p[1]);
        ch[w].fd = p[0];
        open_fds++;
    }
    while (open_fds > 0) {
        int n = 0;
        for (int w = 0; w < jobs; w++) {
            if (ch[w].fd >= 0) {
                pf[n].fd = ch[w].fd;
                pf[n].events = POLLIN;
                pf[n].revents = 0;
                n++;
            }
        }
        if (poll(pf, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "dialer-bench: poll: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        for (int w = 0, k = 0; w < jobs; w++) {
            ssize_t got_n;
            if (ch[w].fd < 0)
                continue;
            if (pf[k++].revents == 0)
                continue;
            got_n = read(ch[w].fd, (char *)&ch[w].msg + ch[w].have, sizeof(ch[w].msg) - ch[w].have);
            if (got_n < 0 && errno == EINTR)
                continue;
            if (got_n <= 0) {
                close(ch[w].fd);
                ch[w].fd = -1;
                open_fds--;
                continue;
            }
            ch[w].have += (size_t)got_n;
            if (ch[w].have == sizeof(ch[w].msg)) {
                size_t t = (size_t)ch[w].msg.task;
                if (t < total && !got[t]) {
                    r->res[t] = ch[w].msg.res;
                    got[t] = 1;
                    n_got++;
                }
                ch[w].have = 0;
            }
        }
    }
    for (int w = 0; w < jobs; w++) {
        int status = 0;
        if (ch[w].fd >= 0)
            close(ch[w].fd);
        while (waitpid(ch[w].pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "dialer-bench: worker %d failed (%s %d)\n", w,
                    WIFSIGNALED(status) ? "signal" : "exit status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            rc = 1;
        }
    }
    if (rc == 0 && n_got != total) {
        fprintf(stderr, "dialer-bench: %zu of %zu results arrived\n", n_got, total);
        rc = 1;
    }
    free(ch);
    free(pf);
    free(got);
    return rc;
}

/* Frees what main allocated. */
static void bench_cleanup(struct bench_opts *o, struct bench_report *r)
{
    for (int i = 0; i < o->n_files; i++)
        free(o->files[i]);
    free(o->files);
    for (int i = 0; i < r->n_scen; i++) {
        scenario_free(&r->scen[i].sc);
        free(r->scen[i].file);
    }
    free(r->scen);
    free(r->res);
    free(r->rows);
}

/* Parses, loads, runs the grid, prints the table (and the JSON). */
int main(int argc, char **argv)
{
    struct bench_opts o;
    struct bench_report r;
    FILE *json = NULL;
    size_t total;
    int64_t t0;
    int rc;
    char err[512] = "";

    memset(&r, 0, sizeof(r));
    rc = bench_parse_args(argc, argv, &o);
    if (rc < 0 && o.n_files == 0)
        rc = bench_default_files(&o) ? 1 : -1;
    if (rc < 0)
        rc = bench_load(&o, &r) ? 1 : -1;
    /* Opened now: a bad path must not be found out after an hour of simulation. */
    if (rc < 0 && o.json && (json = fopen(o.json, "w")) == NULL) {
        fprintf(stderr, "dialer-bench: --json %s: %s\n", o.json, strerror(errno));
        rc = 1;
    }
    if (rc >= 0) {
        bench_cleanup(&o, &r);
        return rc;
    }
    r.reps = o.reps;
    r.hours = o.hours;
    r.seed_given = o.seed_given;
    r.seed = o.seed;
    r.decide_gap_s = o.decide_gap_s;
    r.n_pol = o.n_pol;
    memcpy(r.pol, o.pol, sizeof(r.pol));
    total = (size_t)r.n_scen * (size_t)r.n_pol * (size_t)r.reps;
    r.jobs = o.jobs < (int)(total < INT_MAX ? total : INT_MAX) ? o.jobs : (int)total;
    r.res = util_xcalloc(total, sizeof(*r.res));
    r.rows = util_xcalloc((size_t)r.n_scen * (size_t)r.n_pol, sizeof(*r.rows));

    t0 = util_mono_ms();
    if (r.jobs <= 1) {
        for (size_t t = 0; t < total; t++)
            bench_task(&r, t, &r.res[t]);
        rc = 0;
    } else {
        rc = bench_run_parallel(&r, total);
    }
    r.wall_s = (double)(util_mono_ms() - t0) / 1000.0;
    if (rc == 0) {
        bench_report_rows(&r);
        bench_report_table(stdout, &r);
        printf("\n%d replications per row; eta = (occ - occ_progressive) / (occ_ceiling - "
               "occ_progressive) on the mean occupancies (n/a: no gap to divide by).\n", r.reps);
        fflush(stdout);
        fprintf(stderr, "dialer-bench: %zu runs (%d scenarios x %d policies x %d replications) "
                "in %.2f s with %d job%s, decision gap %g s\n", total, r.n_scen, r.n_pol,
                r.reps, r.wall_s, r.jobs, r.jobs == 1 ? "" : "s", r.decide_gap_s);
        if (json && bench_report_json(json, o.json, &r, err, sizeof(err)) < 0)
            rc = 1;
        json = NULL;
    }
    if (json)
        fclose(json);
    if (rc == 1 && err[0])
        fprintf(stderr, "dialer-bench: --json %s\n", err);
    bench_cleanup(&o, &r);
    return rc;
}
