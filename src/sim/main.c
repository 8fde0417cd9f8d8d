/* dialer-sim entry point: flags, scenario, listeners, signals, the drain, --print-sql. */
#include "sim.h"

#include "httpc.h"
#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Real time the drain may take before calls still in flight are cut off. */
#define SIM_DRAIN_MS 5000
/* How often a summary line goes to the log. */
#define SIM_STATS_EVERY_MS 10000

struct sim_args {
    const char *scenario_path;
    const char *dialerd;
    const char *carrier_listen, *sms_listen, *control_listen;
    const char *log_path;
    const char *token;
    const char *event_secret;
    const char *seed;
    const char *time_scale;
    const char *log_level;
    int print_sql;
    const char *instant;          /* --instant-agentless STATUS */
    int instant_ringing;
    int probe;
};

/* Simulated seconds since start. */
double sim_now_s(const struct sim *sim)
{
    return (double)(util_mono_ms() - sim->start_mono_ms) * sim->sc.sim.time_scale / 1000.0;
}

/* Simulated seconds to real milliseconds. */
int64_t sim_real_ms(const struct sim *sim, double sim_s)
{
    double ms = sim_s * 1000.0 / sim->sc.sim.time_scale;

    return ms > 0 ? (int64_t)llround(ms) : 0;
}

/* Arms a one-shot timer. */
void sim_timer_in(struct sim *sim, struct event *ev, double sim_s)
{
    int64_t ms = sim_real_ms(sim, sim_s);
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

    evtimer_add(ev, &tv);
}

/* Ends the loop once the drain has nothing left: no call, every agent off, all delivered. */
void sim_drain_check(struct sim *sim)
{
    if (!sim->draining || sim->closing || sim->n_in_flight > 0)
        return;
    if (!sim->agents_off) {
        sim->agents_off = 1;
        sim_acd_all_offline(sim);
    }
    if (sim_deliver_pending(sim) > 0)
        return;
    log_info("sim.drained", "dials=%ld", sim->st.dials);
    event_base_loopexit(sim->base, NULL);
}

/* Prints usage. */
static void sim_usage(FILE *fp)
{
    fputs("usage: dialer-sim -s SCENARIO.json --dialerd URL --carrier-listen HOST:PORT\n"
          "                  [--sms-listen HOST:PORT] [--control-listen HOST:PORT]\n"
          "                  [--log TRUTH.jsonl] [--token TOKEN] [--event-secret SECRET]\n"
          "                  [--seed N] [--time-scale X]\n"
          "                  [--instant-agentless STATUS [--instant-ringing]] [--probe-free-to-dial]\n"
          "                  [--log-level debug|info|warn|error]\n"
          "       dialer-sim -s SCENARIO.json --print-sql\n"
          "\n"
          "Plays carrier + ACD + agents + SMS gateway for dialerd (docs/dialer-sim.md).\n"
          "\n"
          "  -s, --scenario FILE      scenario file (JSON)\n"
          "      --dialerd URL        dialerd base URL, e.g. http://127.0.0.1:8080 (agent status PUTs)\n"
          "      --carrier-listen A   carrier endpoint (POST /calls); port 0 = any free port\n"
          "      --sms-listen A       SMS gateway sink (POST /sms)\n"
          "      --control-listen A   GET /healthz, GET /stats, POST /control\n"
          "      --log FILE           ground-truth JSON Lines, appended to\n"
          "      --token TOKEN        sends Authorization: Bearer TOKEN to dialerd\n"
          "      --event-secret S     signs every request to dialerd with HMAC-SHA256 (one of\n"
          "                           dialerd's event_secrets)\n"
          "      --seed N             overrides the scenario's seed\n"
          "      --time-scale X       overrides sim.time_scale (simulated seconds per real second)\n"
          "      --instant-agentless STATUS\n"
          "                           every agentless dial ends at once as STATUS (a non-answer\n"
          "                           status: notAnswer, busy, ...), one `ended` event, no draws;\n"
          "                           dials with a skill group follow the scenario (benchmarks)\n"
          "      --instant-ringing    with --instant-agentless: a `ringing` event before `ended`\n"
          "      --probe-free-to-dial pairs each agent \"free\" report sent with the next dial for\n"
          "                           the scenario's skill group; `probe` lines in the log with\n"
          "                           latency_us, counts under \"probe\" in /stats\n"
          "      --print-sql          prints idempotent SQL creating the skill group and agents, exits\n"
          "  -h, --help               this text\n", fp);
}

/* Reads a whole file into a malloc'd string. */
static char *sim_read_file(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (fp == NULL) {
        snprintf(err, errlen, "cannot open scenario %s: %s", path, strerror(errno));
        return NULL;
    }
    do {
        if (len + 4096 + 1 > cap) {
            char *p;
            cap = cap ? cap * 2 : 8192;
            p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                fclose(fp);
                snprintf(err, errlen, "out of memory reading %s", path);
                return NULL;
            }
            buf = p;
        }
        n = fread(buf + len, 1, 4096, fp);
        len += n;
    } while (n > 0 && len < (16u << 20));
    if (ferror(fp)) {
        snprintf(err, errlen, "cannot read scenario %s: %s", path, strerror(errno));
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    buf[len] = '\0';
    return buf;
}

/* Doubles single quotes for an SQL literal. */
static void sim_sql_quote(FILE *fp, const char *s)
{
    fputc('\'', fp);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', fp);
        fputc(*s, fp);
    }
    fputc('\'', fp);
}

/* --print-sql: the scenario's skill group and every agent it may log in, offline. */
static void sim_print_sql(const struct scenario *sc)
{
    int n = scenario_agents_total(sc);
    char id[128], name[64];

    printf("-- dialer-sim: skill group and agents of scenario ");
    sim_sql_quote(stdout, sc->name);
    printf(" (idempotent)\nbegin;\n");
    snprintf(name, sizeof(name), "sg%lld", sc->skill_group_id);
    printf("insert into dialer.skill_groups (id, name) values (%lld, ", sc->skill_group_id);
    sim_sql_quote(stdout, name);
    printf(") on conflict do nothing;\n");
    if (n > 0) {
        printf("insert into dialer.agents (id, name, status) values\n");
        for (int i = 1; i <= n; i++) {
            scenario_agent_id(sc, i, id, sizeof(id));
            printf("  (");
            sim_sql_quote(stdout, id);
            printf(", ");
            sim_sql_quote(stdout, id);
            printf(", 'offline')%s\n", i < n ? "," : "");
        }
        printf("on conflict do nothing;\n");
        printf("insert into dialer.agent_skill_groups (agent_id, skill_group_id) values\n");
        for (int i = 1; i <= n; i++) {
            scenario_agent_id(sc, i, id, sizeof(id));
            printf("  (");
            sim_sql_quote(stdout, id);
            printf(", %lld)%s\n", sc->skill_group_id, i < n ? "," : "");
        }
        printf("on conflict do nothing;\n");
    }
    printf("commit;\n");
}

/* Parses argv; returns 0, or 2 after printing what was wrong. */
static int sim_parse_args(int argc, char **argv, struct sim_args *a)
{
    static const struct option opts[] = {
        { "scenario", required_argument, NULL, 's' },
        { "dialerd", required_argument, NULL, 'd' },
        { "carrier-listen", required_argument, NULL, 'C' },
        { "sms-listen", required_argument, NULL, 'S' },
        { "control-listen", required_argument, NULL, 'K' },
        { "log", required_argument, NULL, 'l' },
        { "token", required_argument, NULL, 't' },
        { "event-secret", required_argument, NULL, 'E' },
        { "seed", required_argument, NULL, 'e' },
        { "time-scale", required_argument, NULL, 'x' },
        { "log-level", required_argument, NULL, 'L' },
        { "print-sql", no_argument, NULL, 'P' },
        { "instant-agentless", required_argument, NULL, 'I' },
        { "instant-ringing", no_argument, NULL, 'R' },
        { "probe-free-to-dial", no_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(a, 0, sizeof(*a));
    a->log_level = "info";
    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': a->scenario_path = optarg; break;
        case 'd': a->dialerd = optarg; break;
        case 'C': a->carrier_listen = optarg; break;
        case 'S': a->sms_listen = optarg; break;
        case 'K': a->control_listen = optarg; break;
        case 'l': a->log_path = optarg; break;
        case 't': a->token = optarg; break;
        case 'E': a->event_secret = optarg; break;
        case 'e': a->seed = optarg; break;
        case 'x': a->time_scale = optarg; break;
        case 'L': a->log_level = optarg; break;
        case 'P': a->print_sql = 1; break;
        case 'I': a->instant = optarg; break;
        case 'R': a->instant_ringing = 1; break;
        case 'F': a->probe = 1; break;
        case 'h': sim_usage(stdout); exit(0);
        default: sim_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dialer-sim: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (a->scenario_path == NULL) {
        fprintf(stderr, "dialer-sim: -s SCENARIO.json is required\n");
        return 2;
    }
    if (log_level_parse(a->log_level) < 0) {
        fprintf(stderr, "dialer-sim: --log-level %s: accepted debug, info, warn, error\n", a->log_level);
        return 2;
    }
    if (a->print_sql)
        return 0;
    if (a->instant && !scenario_is_non_answer_status(a->instant)) {
        fprintf(stderr, "dialer-sim: --instant-agentless %s: accepted a non-answer end status: "
                "notAnswer, userReject, powerOff, numberNotExist, busy, outOfCredit, "
                "operatorError, notInService, clientError, carrierBlocked, numberInvalid, "
                "callRestricted, areaRestricted\n", a->instant);
        return 2;
    }
    if (a->instant_ringing && a->instant == NULL) {
        fprintf(stderr, "dialer-sim: --instant-ringing: accepted only with --instant-agentless STATUS\n");
        return 2;
    }
    if ((a->token && a->token[0] == '\0') || (a->event_secret && a->event_secret[0] == '\0')) {
        fprintf(stderr, "dialer-sim: --token and --event-secret need a non-empty value\n");
        return 2;
    }
    if (a->dialerd == NULL || (strncmp(a->dialerd, "http://", 7) != 0 &&
                               strncmp(a->dialerd, "https://", 8) != 0)) {
        fprintf(stderr, "dialer-sim: --dialerd %s: accepted an http:// or https:// base URL\n",
                a->dialerd ? a->dialerd : "(missing)");
        return 2;
    }
    if (a->carrier_listen == NULL) {
        fprintf(stderr, "dialer-sim: --carrier-listen HOST:PORT is required\n");
        return 2;
    }
    return 0;
}

/* Applies --seed and --time-scale over the scenario. */
static int sim_overrides(const struct sim_args *a, struct scenario *sc)
{
    char *end;

    if (a->seed) {
        unsigned long long v;
        errno = 0;
        v = strtoull(a->seed, &end, 10);
        if (errno || *end || end == a->seed || a->seed[0] == '-') {
            fprintf(stderr, "dialer-sim: --seed %s: accepted an integer >= 0\n", a->seed);
            return -1;
        }
        sc->seed = v;
    }
    if (a->time_scale) {
        double v = strtod(a->time_scale, &end);
        if (*end || end == a->time_scale || !(v > 0 && v <= 100000)) {
            fprintf(stderr, "dialer-sim: --time-scale %s: accepted a factor > 0 and <= 100000\n",
                    a->time_scale);
            return -1;
        }
        sc->sim.time_scale = v;
    }
    return 0;
}

/* First signal: drain; second: stop now. */
static void sim_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct sim *sim = arg;

    (void)what;
    if (sim->draining) {
        log_warn("sim.signal", "signal=%d action=%s in_flight=%d", (int)sig, "exit now",
                 sim->n_in_flight);
        event_base_loopbreak(sim->base);
        return;
    }
    log_info("sim.signal", "signal=%d action=%s in_flight=%d", (int)sig, "drain", sim->n_in_flight);
    sim->draining = 1;
    sim->drain_deadline_ms = util_mono_ms() + SIM_DRAIN_MS;
    sim_drain_check(sim);
}

/* Periodic tick: the drain deadline, and a summary line now and then. */
static void sim_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct sim *sim = arg;
    int64_t now = util_mono_ms();
    int counts[SIM_AGENT_N];

    (void)fd;
    (void)what;
    if (sim->draining && now >= sim->drain_deadline_ms) {
        log_warn("sim.drain_timeout", "in_flight=%d pending_deliveries=%d", sim->n_in_flight,
                 sim_deliver_pending(sim));
        event_base_loopexit(sim->base, NULL);
        return;
    }
    sim_drain_check(sim);
    if (now - sim->last_stats_ms >= SIM_STATS_EVERY_MS) {
        sim->last_stats_ms = now;
        sim_acd_counts(sim, counts);
        log_info("sim.stats", "sim_time_s=%.0f dials=%ld in_flight=%d queued=%d answered=%ld "
                 "connected=%ld abandoned=%ld free=%d busy=%d arrange=%d offline=%d "
                 "events_sent=%ld events_failed=%ld duplicates=%ld rejected_429=%ld sms=%ld",
                 sim_now_s(sim), sim->st.dials, sim->n_in_flight, sim->n_queued, sim->st.answered,
                 sim->st.connected, sim->st.abandoned, counts[SIM_AGENT_FREE],
                 counts[SIM_AGENT_BUSY], counts[SIM_AGENT_ARRANGE], counts[SIM_AGENT_OFFLINE],
                 sim->st.events_sent, sim->st.events_failed, sim->st.duplicates,
                 sim->st.rejected_429, sim->st.sms_received);
    }
}

/* Parses and opens one listener; NULL spec leaves it unconfigured. */
static int sim_listener_setup(struct sim *sim, struct sim_listener *l, const char *name,
                              const char *spec, void (*handle)(struct sim *, struct evhttp_request *))
{
    char err[256];

    l->sim = sim;
    l->name = name;
    l->mode = SIM_MODE_OK;
    if (spec == NULL)
        return 0;
    l->handle = handle;
    if (sim_listener_parse(l, spec, err, sizeof(err)) < 0) {
        fprintf(stderr, "dialer-sim: %s\n", err);
        return -1;
    }
    if (sim_listener_open(l) < 0) {
        fprintf(stderr, "dialer-sim: --%s-listen %s: cannot bind (in use, or not a local address)\n",
                name, spec);
        return -1;
    }
    return 0;
}

/* Writes the first line of a run: what runs, where. */
static void sim_truth_start(struct sim *sim)
{
    cJSON *line = sim_truth_line("start");
    char buf[96];

    cJSON_AddStringToObject(line, "scenario", sim->sc.name);
    cJSON_AddNumberToObject(line, "seed", (double)sim->sc.seed);
    cJSON_AddNumberToObject(line, "time_scale", sim->sc.sim.time_scale);
    cJSON_AddNumberToObject(line, "agents", sim->sc.agents);
    cJSON_AddNumberToObject(line, "skill_group_id", (double)sim->sc.skill_group_id);
    snprintf(buf, sizeof(buf), "%s:%d", sim->carrier.host, sim->carrier.port);
    cJSON_AddStringToObject(line, "carrier", buf);
    if (sim->sms.handle) {
        snprintf(buf, sizeof(buf), "%s:%d", sim->sms.host, sim->sms.port);
        cJSON_AddStringToObject(line, "sms", buf);
    } else {
        cJSON_AddNullToObject(line, "sms");
    }
    if (sim->control.handle) {
        snprintf(buf, sizeof(buf), "%s:%d", sim->control.host, sim->control.port);
        cJSON_AddStringToObject(line, "control", buf);
    } else {
        cJSON_AddNullToObject(line, "control");
    }
    cJSON_AddStringToObject(line, "dialerd", sim->dialerd_url);
    sim_truth_write(sim, line);
}

/* Runs the simulator. */
int main(int argc, char **argv)
{
    struct sim_args args;
    struct sim sim;
    struct event *sig_term = NULL, *sig_int = NULL, *tick = NULL;
    struct timeval tick_tv = { 0, 100 * 1000 };
    char err[512], *text;
    int rc;
    size_t ulen;
    cJSON *stop;

    if ((rc = sim_parse_args(argc, argv, &args)) != 0)
        return rc;
    log_setup(stderr, (enum log_level)log_level_parse(args.log_level));
    memset(&sim, 0, sizeof(sim));
    sim.truth_fd = -1;
    text = sim_read_file(args.scenario_path, err, sizeof(err));
    if (text == NULL) {
        fprintf(stderr, "dialer-sim: %s\n", err);
        return 1;
    }
    rc = scenario_parse(text, &sim.sc, err, sizeof(err));
    free(text);
    if (rc < 0) {
        fprintf(stderr, "dialer-sim: %s: %s\n", args.scenario_path, err);
        return 1;
    }
    if (sim_overrides(&args, &sim.sc) < 0) {
        scenario_free(&sim.sc);
        return 2;
    }
    if (args.print_sql) {
        sim_print_sql(&sim.sc);
        scenario_free(&sim.sc);
        return 0;
    }

    signal(SIGPIPE, SIG_IGN);
    log_capture_libevent();
    sim.base = event_base_new();
    sim.http = httpc_new(sim.base, 128);
    sim.dialerd_url = util_xstrdup(args.dialerd);
    ulen = strlen(sim.dialerd_url);
    while (ulen > 0 && sim.dialerd_url[ulen - 1] == '/')
        sim.dialerd_url[--ulen] = '\0';
    if (args.token) {
        size_t n = strlen(args.token) + 32;
        sim.auth_header = util_xcalloc(1, n);
        snprintf(sim.auth_header, n, "Authorization: Bearer %s", args.token);
    }
    sim.event_secret = args.event_secret;
    sim.instant_status = args.instant;
    sim.instant_ringing = args.instant_ringing;
    sim.probe.on = args.probe;
    sim.start_mono_ms = util_mono_ms();
    sim.start_wall_ms = util_wall_ms();
    sim.ctl_rng = sim.sc.seed ^ 0x243f6a8885a308d3ULL;
    sim.cps_tokens = sim.sc.max_cps > 1 ? sim.sc.max_cps : 1;
    sim.dials = sim_map_new();
    sim.sms_keys = sim_map_new();
    rc = 1;
    if (sim_truth_open(&sim, args.log_path) < 0) {
        fprintf(stderr, "dialer-sim: --log %s: %s\n", args.log_path, strerror(errno));
        goto out;
    }
    if (sim_listener_setup(&sim, &sim.carrier, "carrier", args.carrier_listen, sim_carrier_handle) < 0 ||
        sim_listener_setup(&sim, &sim.sms, "sms", args.sms_listen, sim_sms_handle) < 0 ||
        sim_listener_setup(&sim, &sim.control, "control", args.control_listen, sim_control_handle) < 0)
        goto out;
    sig_term = evsignal_new(sim.base, SIGTERM, sim_on_signal, &sim);
    sig_int = evsignal_new(sim.base, SIGINT, sim_on_signal, &sim);
    evsignal_add(sig_term, NULL);
    evsignal_add(sig_int, NULL);
    tick = event_new(sim.base, -1, EV_PERSIST, sim_on_tick, &sim);
    evtimer_add(tick, &tick_tv);

    log_info("sim.listening", "carrier=%s:%d sms=%s:%d control=%s:%d scenario=%s seed=%llu "
             "time_scale=%g dialerd=%s", sim.carrier.host, sim.carrier.port,
             sim.sms.handle ? sim.sms.host : "-", sim.sms.port,
             sim.control.handle ? sim.control.host : "-", sim.control.port, log_q(sim.sc.name),
             (unsigned long long)sim.sc.seed, sim.sc.sim.time_scale, log_q(sim.dialerd_url));
    if (sim.instant_status || sim.probe.on)
        log_info("sim.bench_modes", "instant_agentless=%s instant_ringing=%d probe_free_to_dial=%d",
                 log_q(sim.instant_status ? sim.instant_status : "-"), sim.instant_ringing,
                 sim.probe.on);
    sim_truth_start(&sim);
    sim_acd_setup(&sim);
    sim_acd_schedule(&sim);

    event_base_dispatch(sim.base);
    rc = 0;

out:
    sim.closing = 1;
    sim_listener_close(&sim.carrier);
    sim_listener_close(&sim.sms);
    sim_listener_close(&sim.control);
    if (tick)
        event_free(tick);
    if (sig_term)
        event_free(sig_term);
    if (sig_int)
        event_free(sig_int);
    httpc_free(sim.http);         /* fails what is in flight: logged as never delivered */
    sim_calls_cleanup(&sim);
    sim_acd_drop_pending(&sim);
    if (rc == 0) {
        stop = sim_truth_line("stop");
        cJSON_AddItemToObject(stop, "stats", sim_stats_json(&sim));
        sim_truth_write(&sim, stop);
        log_info("sim.stop", "dials=%ld duplicates=%ld events_failed=%ld agent_updates_failed=%ld",
                 sim.st.dials, sim.st.duplicates, sim.st.events_failed, sim.st.agent_failed);
    }
    sim_acd_cleanup(&sim);
    sim_truth_close(&sim);
    sim_map_free(sim.dials);
    sim_map_free(sim.sms_keys);
    free(sim.dialerd_url);
    free(sim.auth_header);
    event_base_free(sim.base);
    scenario_free(&sim.sc);
    return rc;
}
