/* dialerd entry point: flags, configuration, signals, the event loop and the staged shutdown. */
#include "api.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "scheduler.h"
#include "sms.h"
#include "store.h"
#include "util.h"

#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DIALERD_VERSION
#define DIALERD_VERSION "0.0.0-dev"
#endif

/* The newest sql/ migration at build time: the oldest schema this build runs against. */
#ifndef DIALERD_SCHEMA_VERSION
#error "DIALERD_SCHEMA_VERSION must come from the Makefile (the highest sql/NNNN_ migration)"
#endif

extern char **environ;

/*
 * The daemon's own lifecycle: RUNNING until the first SIGTERM/SIGINT, then DRAINING while
 * in-flight work finishes (bounded by drain_timeout_ms), then STOPPING while modules are torn
 * down in the reverse order of their set-up.
 */
enum main_state { MAIN_RUNNING, MAIN_DRAINING, MAIN_STOPPING };

static const char *const main_state_names[] = { "running", "draining", "stopping" };

struct dialerd {
    struct event_base *base;
    struct config *cfg;
    const char *config_path;
    char **overrides;             /* --set key=value, in order */
    int n_overrides;
    struct db *db;
    struct sched *sched;
    struct sms *sms;              /* NULL when sms_url is empty */
    struct api *api;
    struct api_info info;
    struct event *sig_term, *sig_int, *sig_hup, *drain_ev;
    enum main_state state;
    int64_t drain_deadline_ms;
    int exit_code;
};

static const char *const main_channels[] = { "dialer_changes" };

/* The one way the lifecycle changes: forward only, logged. */
static void main_set_state(struct dialerd *d, enum main_state to)
{
    if (to <= d->state) {
        log_error("main.bad_transition", "from=%s to=%s", main_state_names[d->state],
                  main_state_names[to]);
        return;
    }
    log_info("main.state", "from=%s to=%s", main_state_names[d->state], main_state_names[to]);
    d->state = to;
}

/* Prints usage. */
static void main_usage(FILE *fp)
{
    fputs("usage: dialerd [-c FILE] [--set key=value]... [--check-config]\n"
          "       dialerd --help-config | --print-routes | --version | -h\n"
          "\n"
          "Predictive / auto-dialer campaign scheduler.\n"
          "\n"
          "  -c, --config FILE   read settings from FILE (key = value lines)\n"
          "      --set KEY=VAL   set one key; wins over the file and the environment\n"
          "      --check-config  load and check the configuration, print a summary, exit 0 or 2\n"
          "      --help-config   list every key with its default, range and meaning\n"
          "      --print-routes  list the HTTP routes served: METHOD PATH AUTH per line\n"
          "      --version       print the version\n"
          "  -h, --help          this text\n"
          "\n"
          "Precedence: defaults < file < DIALER_<KEY> environment variables < --set.\n"
          "Signals: SIGTERM/SIGINT drain then exit (a second one exits at once); SIGHUP reloads.\n",
          fp);
}

/* Builds a config from defaults, file, environment and --set flags; returns errors found. */
static int main_load_config(const struct dialerd *d, struct config **out, char *err, size_t len)
{
    struct config *c = config_new();
    struct config_origin cli = { "command line", 0 };
    int errors = 0;

    err[0] = '\0';
    if (d->config_path)
        errors += config_load_file(c, d->config_path, err, len);
    errors += config_load_env(c, environ, err, len);
    for (int i = 0; i < d->n_overrides; i++) {
        char key[128];
        const char *eq = strchr(d->overrides[i], '=');
        size_t klen = eq ? (size_t)(eq - d->overrides[i]) : 0;

        if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
            size_t o = strlen(err);
            snprintf(err + o, len - o, "%scommand line: --set \"%s\" is not key=value",
                     o ? "\n" : "", d->overrides[i]);
            errors++;
            continue;
        }
        memcpy(key, d->overrides[i], klen);
        key[klen] = '\0';
        if (config_set(c, key, eq + 1, &cli, err, len) != 0)
            errors++;
    }
    if (errors == 0)
        errors += config_check(c, err, len);
    if (errors) {
        config_free(c);
        *out = NULL;
        return errors;
    }
    *out = c;
    return 0;
}

/* Logs each line of a multi-line error buffer as its own event. */
static void main_log_lines(enum log_level lv, const char *event, const char *text)
{
    char line[1024];
    const char *p = text;

    while (*p) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        log_write(lv, event, "error=%s", log_q(line));
        p += n;
        if (*p == '\n')
            p++;
    }
}

/* Ends the loop once in-flight work is done or the drain deadline passes. */
static void main_on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct dialerd *d = arg;
    int pending = db_pending(d->db) + sched_busy(d->sched) + sms_busy(d->sms);
    int64_t now = util_mono_ms();

    (void)fd;
    (void)what;
    if (pending == 0 || now >= d->drain_deadline_ms) {
        if (pending)
            log_warn("main.drain_timeout", "pending_work=%d drain_timeout_ms=%d", pending,
                     d->cfg->drain_timeout_ms);
        else
            log_info("main.drained", "%s", "");
        event_base_loopbreak(d->base);
    }
}

/* SIGTERM / SIGINT: drain on the first, exit at once on the second. */
static void main_on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct dialerd *d = arg;
    struct timeval tv = { 0, 50 * 1000 };

    (void)what;
    if (d->state == MAIN_DRAINING) {
        log_warn("main.signal", "signal=%s action=exit_now", sig == SIGINT ? "SIGINT" : "SIGTERM");
        d->exit_code = 1;
        event_base_loopbreak(d->base);
        return;
    }
    log_info("main.signal", "signal=%s action=drain drain_timeout_ms=%d",
             sig == SIGINT ? "SIGINT" : "SIGTERM", d->cfg->drain_timeout_ms);
    main_set_state(d, MAIN_DRAINING);
    sched_stop_dialing(d->sched);
    sms_stop(d->sms);
    if (d->api)
        api_set_draining(d->api, 1);
    d->drain_deadline_ms = util_mono_ms() + d->cfg->drain_timeout_ms;
    d->drain_ev = event_new(d->base, -1, EV_PERSIST, main_on_drain_tick, d);
    event_add(d->drain_ev, &tv);
    main_on_drain_tick(-1, 0, d);
}

/* SIGHUP: reload; a bad configuration keeps the running one. */
static void main_on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct dialerd *d = arg;
    struct config *fresh = NULL;
    char err[8192], restart[512];

    (void)sig;
    (void)what;
    if (main_load_config(d, &fresh, err, sizeof(err)) != 0) {
        log_error("config.reload_failed", "file=%s action=\"kept the running configuration\"",
                  log_q(d->config_path ? d->config_path : "(none)"));
        main_log_lines(LOG_ERROR, "config.reload_error", err);
        return;
    }
    if (config_restart_keys(d->cfg, fresh, restart, sizeof(restart)) > 0)
        log_warn("config.reload", "needs_restart=%s action=\"kept the running values of these keys\"",
                 log_q(restart));
    config_apply_reloadable(d->cfg, fresh);
    config_free(fresh);
    log_setup(stderr, (enum log_level)d->cfg->log_level);
    if (d->api) {
        api_reconfigure(d->api, d->cfg);
        api_rest_reconfigure(d->api, d->cfg);
    }
    log_info("config.reloaded", "file=%s log_level=%s",
             log_q(d->config_path ? d->config_path : "(none)"),
             log_level_name((enum log_level)d->cfg->log_level));
}

/* Database pool events go to the scheduler. */
static void main_on_db_event(enum db_event ev, void *arg)
{
    struct dialerd *d = arg;

    sched_on_db_event(d->sched, ev);
}

/* The scheduler queued SMS: the dispatcher looks when they are due. */
static void main_on_sms_queued(void *arg, int64_t in_ms)
{
    struct dialerd *d = arg;

    sms_wake(d->sms, in_ms);
}

/* NOTIFYs go to the scheduler. */
static void main_on_notify(const char *channel, const char *payload, void *arg)
{
    struct dialerd *d = arg;

    sched_on_notify(d->sched, channel, payload);
}

/* Parses the command line into d; returns -1 to exit with 2, 1 to exit with 0, 0 to go on. */
static int main_parse_args(struct dialerd *d, int argc, char **argv, int *check_only)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "set", required_argument, NULL, 's' },
        { "check-config", no_argument, NULL, 'k' },
        { "help-config", no_argument, NULL, 'K' },
        { "print-routes", no_argument, NULL, 'R' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            d->config_path = optarg;
            break;
        case 's':
            d->overrides = realloc(d->overrides, sizeof(char *) * (size_t)(d->n_overrides + 1));
            if (d->overrides == NULL)
                abort();
            d->overrides[d->n_overrides++] = optarg;
            break;
        case 'k':
            *check_only = 1;
            break;
        case 'K':
            config_describe(stdout);
            return 1;
        case 'R':
            api_print_routes(stdout);
            return 1;
        case 'V':
            printf("dialerd %s\n", DIALERD_VERSION);
            return 1;
        case 'h':
            main_usage(stdout);
            return 1;
        default:
            main_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dialerd: unexpected argument \"%s\"; settings go in -c FILE or --set key=value\n",
                argv[optind]);
        return -1;
    }
    return 0;
}

/* Sets up every module in order, runs the loop, tears down in reverse order. */
int main(int argc, char **argv)
{
    struct dialerd d;
    struct db_options dbo;
    char err[8192];
    int check_only = 0, r;

    memset(&d, 0, sizeof(d));
    log_setup(stderr, LOG_INFO);
    r = main_parse_args(&d, argc, argv, &check_only);
    if (r != 0) {
        free(d.overrides);
        return r < 0 ? 2 : 0;
    }
    if (main_load_config(&d, &d.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "dialerd: the configuration has errors:\n%s\n", err);
        free(d.overrides);
        return 2;
    }
    if (check_only) {
        printf("configuration ok: listen=%s instance_name=%s log_level=%s\n", d.cfg->listen,
               d.cfg->instance_name, log_level_name((enum log_level)d.cfg->log_level));
        config_free(d.cfg);
        free(d.overrides);
        return 0;
    }
    log_setup(stderr, (enum log_level)d.cfg->log_level);
    log_capture_libevent();
    /* A peer closing its socket must not kill the daemon; write errors are handled instead. */
    signal(SIGPIPE, SIG_IGN);

    d.base = event_base_new();
    if (d.base == NULL) {
        log_error("main.setup", "error=%s", log_q("cannot create the event loop"));
        return 1;
    }
    d.info.version = DIALERD_VERSION;
    d.info.instance = d.cfg->instance_name;
    metrics_setup(DIALERD_VERSION, DIALERD_SCHEMA_VERSION, d.cfg->instance_name);
    log_info("main.start", "version=%s instance=%s pid=%d listen=%s", DIALERD_VERSION,
             log_q(d.cfg->instance_name), (int)getpid(), log_q(d.cfg->listen));

    memset(&dbo, 0, sizeof(dbo));
    dbo.conninfo = d.cfg->database_url;
    dbo.app_name = d.cfg->instance_name;
    dbo.pool_size = d.cfg->db_pool_size;
    dbo.connect_timeout_ms = d.cfg->db_connect_timeout_ms;
    dbo.statement_timeout_ms = d.cfg->db_statement_timeout_ms;
    dbo.reconnect_min_ms = d.cfg->db_reconnect_min_ms;
    dbo.reconnect_max_ms = d.cfg->db_reconnect_max_ms;
    dbo.heartbeat_ms = d.cfg->db_heartbeat_ms;
    dbo.min_schema_version = DIALERD_SCHEMA_VERSION;
    dbo.channels = main_channels;
    dbo.n_channels = (int)(sizeof(main_channels) / sizeof(main_channels[0]));
    dbo.stmts = store_statements(&dbo.n_stmts);
    d.db = db_setup(d.base, &dbo);

    {
        struct sched_options so;
        char callback[600];
        memset(&so, 0, sizeof(so));
        if (d.cfg->public_url[0])
            snprintf(callback, sizeof(callback), "%s/v1/calls/events", d.cfg->public_url);
        else
            snprintf(callback, sizeof(callback), "http://%s/v1/calls/events", d.cfg->listen);
        so.instance = d.cfg->instance_name;
        so.carrier_url = d.cfg->carrier_url;
        so.callback_url = callback;
        so.tick_ms = d.cfg->tick_ms;
        so.carrier_timeout_ms = d.cfg->carrier_timeout_ms;
        so.carrier_retry_s = d.cfg->carrier_retry_s;
        so.carrier_max_conns = d.cfg->carrier_max_conns;
        so.abandon_lock_s = d.cfg->abandon_lock_s;
        so.acd_grace_ms = d.cfg->acd_grace_ms;
        so.reconcile_grace_s = d.cfg->reconcile_grace_s;
        so.max_call_s = d.cfg->max_call_s;
        so.claim_batch_max = d.cfg->claim_batch_max;
        so.lease_ms = d.cfg->lease_ms;
        so.lease_renew_ms = d.cfg->lease_renew_ms;
        so.sms_wake = main_on_sms_queued;
        so.sms_wake_arg = &d;
        d.sched = sched_setup(d.base, d.db, &so);
    }
    if (d.cfg->sms_url[0]) {
        struct sms_options mo;
        memset(&mo, 0, sizeof(mo));
        mo.url = d.cfg->sms_url;
        mo.instance = d.cfg->instance_name;
        mo.timeout_ms = d.cfg->sms_timeout_ms;
        mo.max_tries = d.cfg->sms_max_tries;
        mo.backoff_min_ms = d.cfg->sms_backoff_min_ms;
        mo.backoff_max_ms = d.cfg->sms_backoff_max_ms;
        mo.batch = d.cfg->sms_batch;
        mo.max_conns = d.cfg->sms_max_conns;
        mo.poll_ms = d.cfg->sms_poll_ms;
        mo.lease_ms = d.cfg->sms_lease_ms;
        d.sms = sms_setup(d.base, d.db, &mo);
    } else {
        log_info("sms.disabled", "reason=%s", log_q("sms_url is empty: SMS are queued in "
                 "dialer.sms_outbox but not sent"));
    }
    db_set_event_cb(d.db, main_on_db_event, &d);
    db_set_notify_cb(d.db, main_on_notify, &d);

    d.api = api_setup(d.base, d.cfg, d.db, d.sched, &d.info);
    if (d.api == NULL) {
        d.exit_code = 1;
        goto cleanup;
    }
    api_rest_reconfigure(d.api, d.cfg);

    d.sig_term = evsignal_new(d.base, SIGTERM, main_on_stop_signal, &d);
    d.sig_int = evsignal_new(d.base, SIGINT, main_on_stop_signal, &d);
    d.sig_hup = evsignal_new(d.base, SIGHUP, main_on_hup, &d);
    event_add(d.sig_term, NULL);
    event_add(d.sig_int, NULL);
    event_add(d.sig_hup, NULL);

    event_base_dispatch(d.base);

cleanup:
    if (d.state < MAIN_STOPPING)
        main_set_state(&d, MAIN_STOPPING);
    api_cleanup(d.api);
    sched_cleanup(d.sched);
    db_cleanup(d.db);
    /* After the db: its last callbacks (failed statements) still reach the dispatcher. */
    sms_cleanup(d.sms);
    if (d.drain_ev)
        event_free(d.drain_ev);
    if (d.sig_term) {
        event_free(d.sig_term);
        event_free(d.sig_int);
        event_free(d.sig_hup);
    }
    log_info("main.exit", "code=%d", d.exit_code);
    metrics_cleanup();
    event_base_free(d.base);
    config_free(d.cfg);
    free(d.overrides);
    return d.exit_code;
}
