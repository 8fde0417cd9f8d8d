/* Integration test of the async db pool against a real PostgreSQL (PG* env / DIALER_DATABASE_URL). */
#include "db.h"
#include "log.h"
#include "util.h"
#include "../unit/tap.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ST_ECHO, ST_ADD, ST_DIV0, ST_SLEEP, ST_REPLAN, ST_N };

static const struct db_stmt stmts[ST_N] = {
    [ST_ECHO] = { "t_echo", "SELECT $1::text", 1 },
    [ST_ADD] = { "t_add", "SELECT $1::int + $2::int", 2 },
    [ST_DIV0] = { "t_div0", "SELECT 1 / $1::int", 1 },
    [ST_SLEEP] = { "t_sleep", "SELECT pg_sleep($1::float8)", 1 },
    [ST_REPLAN] = { "t_replan", "SELECT $1::int * 10", 1, .replan = 1 },
};

static const char *const channels[] = { "dialer_changes" };

static struct event_base *base;
static int ups, downs, listening;
static char last_payload[256];

/* Result sink for one query: copies what the checks need. */
struct sink {
    int calls;
    int ok;
    char value[256];
    int is_null;
    char sqlstate[6];
    char error[256];
    int order;                 /* 1 for the first callback of the run, 2 for the next, ... */
};
static int callbacks;

/* Stores a result into its sink. */
static void on_result(const struct db_result *r, void *arg)
{
    struct sink *s = arg;
    const char *v = db_result_value(r, 0, 0);

    s->calls++;
    s->order = ++callbacks;
    s->ok = db_result_ok(r);
    s->is_null = s->ok && v == NULL;
    snprintf(s->value, sizeof(s->value), "%s", v ? v : "");
    snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", db_result_sqlstate(r));
    snprintf(s->error, sizeof(s->error), "%s", db_result_error(r));
}

/* Pool events. */
static void on_event(enum db_event ev, void *arg)
{
    (void)arg;
    if (ev == DB_EVENT_UP)
        ups++;
    else if (ev == DB_EVENT_DOWN)
        downs++;
    else
        listening++;
}

/* NOTIFY sink. */
static void on_notify(const char *channel, const char *payload, void *arg)
{
    (void)arg;
    if (strcmp(channel, "dialer_changes") == 0)
        snprintf(last_payload, sizeof(last_payload), "%s", payload);
}

/* Sleeps 1 ms so a non-blocking loop turn does not spin a core. */
static void usleep_short(void)
{
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
}

/* Runs the loop until *flag reaches want or ms pass; returns whether it did. */
static int run_until(const int *flag, int want, int ms)
{
    int64_t end = util_mono_ms() + ms;

    while (*flag < want && util_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep_short();
    return *flag >= want;
}

/* A pool of n connections without LISTEN, like `o` otherwise; returns once all n are up (at
 * most 5 s) with *up set to how many are. */
static struct db *pool_of(const struct db_options *o, int n, int *up)
{
    struct db_options on = *o;
    struct db *d;
    int64_t end = util_mono_ms() + 5000;
    struct db_health h;

    on.pool_size = n;
    on.channels = NULL;
    on.n_channels = 0;
    d = db_setup(base, &on);
    for (;;) {
        db_health(d, util_mono_ms(), &h);
        if (h.conns_ready == n || util_mono_ms() >= end)
            break;
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep_short();
    }
    *up = h.conns_ready;
    return d;
}

/* Runs every check in order; each depends on a live pool. */
int main(void)
{
    const char *url = getenv("DIALER_DATABASE_URL");
    struct db_options o;
    struct db *db;
    static struct sink many[1000];
    struct sink s;
    char buf[32];
    int done = 0;

    log_setup(stderr, LOG_WARN);
    if (url == NULL) {
        printf("not ok 1 - DIALER_DATABASE_URL is set\n");
        return 1;
    }
    base = event_base_new();
    memset(&o, 0, sizeof(o));
    o.conninfo = url;
    o.app_name = "itest_db";
    o.pool_size = 2;
    o.connect_timeout_ms = 3000;
    o.statement_timeout_ms = 800;
    o.reconnect_min_ms = 50;
    o.reconnect_max_ms = 300;
    o.heartbeat_ms = 200;
    o.min_schema_version = 1;
    o.stmts = stmts;
    o.n_stmts = ST_N;
    o.channels = channels;
    o.n_channels = 1;
    db = db_setup(base, &o);
    db_set_event_cb(db, on_event, NULL);
    db_set_notify_cb(db, on_notify, NULL);

    {
        const char *p[1] = { "x" };
        memset(&s, 0, sizeof(s));
        is_int(db_exec(db, ST_ECHO, p, 1, on_result, &s), -1, "before any connection, db_exec refuses at once");
        is_int(s.calls, 0, "and does not call the callback");
    }
    ok(run_until(&ups, 1, 5000), "the pool comes up");
    ok(run_until(&listening, 1, 5000), "the LISTEN connection reports it is subscribed");

    /* A thousand queries through two connections: each answered once, correctly. */
    for (int i = 0; i < 1000; i++) {
        char a[16], b[16];
        const char *p[2] = { a, b };
        snprintf(a, sizeof(a), "%d", i);
        snprintf(b, sizeof(b), "%d", 2 * i);
        if (db_exec(db, ST_ADD, p, 2, on_result, &many[i]) != 0)
            break;
    }
    {
        int64_t end = util_mono_ms() + 10000;
        while (util_mono_ms() < end) {
            int n = 0;
            for (int i = 0; i < 1000; i++)
                n += many[i].calls;
            if (n == 1000)
                break;
            event_base_loop(base, EVLOOP_ONCE);
        }
        int once = 1, right = 1;
        for (int i = 0; i < 1000; i++) {
            snprintf(buf, sizeof(buf), "%d", 3 * i);
            once &= many[i].calls == 1;
            right &= many[i].ok && strcmp(many[i].value, buf) == 0;
        }
        ok(once, "1000 queued queries: every callback called exactly once");
        ok(right, "1000 queued queries: every result is right");
        is_int(db_pending(db), 0, "nothing pending afterwards");
    }

    /* Parameters travel as data: SQL metacharacters come back verbatim, NULL stays NULL. */
    {
        const char *evil = "'; DROP TABLE dialer.schema_version; -- \"\\ $1";
        const char *p[1] = { evil };
        memset(&s, 0, sizeof(s));
        db_exec(db, ST_ECHO, p, 1, on_result, &s);
        run_until(&s.calls, 1, 3000);
        is_str(s.value, evil, "SQL metacharacters in a parameter come back verbatim");
        p[0] = NULL;
        memset(&s, 0, sizeof(s));
        db_exec(db, ST_ECHO, p, 1, on_result, &s);
        run_until(&s.calls, 1, 3000);
        ok(s.ok && s.is_null, "a NULL parameter is SQL NULL");
    }

    /* Errors carry SQLSTATE and a one-line message; the connection stays usable. */
    {
        const char *p[1] = { "0" };
        memset(&s, 0, sizeof(s));
        db_exec(db, ST_DIV0, p, 1, on_result, &s);
        run_until(&s.calls, 1, 3000);
        ok(!s.ok, "division by zero is an error result");
        is_str(s.sqlstate, "22012", "with SQLSTATE 22012");
        has_str(s.error, "division by zero", "and the server's message");
        ok(strchr(s.error, '\n') == NULL, "on one line");
        p[0] = "1";
        memset(&s, 0, sizeof(s));
        db_exec(db, ST_DIV0, p, 1, on_result, &s);
        run_until(&s.calls, 1, 3000);
        ok(s.ok && strcmp(s.value, "1") == 0, "the next query on the pool works");
        is_int(db_exec(db, ST_ADD, p, 1, on_result, &s), -1, "a wrong parameter count is refused");
        is_int(db_exec(db, 99, p, 1, on_result, &s), -1, "an unknown statement is refused");
    }

    /* Urgent queries go before those already waiting, in their own order; a statement marked
     * replan is sent with its text and answers like any other. One connection, so that the
     * order of the answers is the order of the queue. */
    {
        static struct sink busy, normal[3], urgent[2], rp;
        const char *sl[1] = { "0.3" }, *p[1] = { "7" };
        struct db *db1;
        int n = 0, up;

        db1 = pool_of(&o, 1, &up);
        ok(up == 1 && db_is_up(db1), "a pool of one connection comes up");
        db_exec(db1, ST_SLEEP, sl, 1, on_result, &busy);
        for (int i = 0; i < 3; i++)
            db_exec(db1, ST_ECHO, p, 1, on_result, &normal[i]);
        for (int i = 0; i < 2; i++)
            db_exec_urgent(db1, ST_ECHO, p, 1, on_result, &urgent[i]);
        db_exec(db1, ST_REPLAN, p, 1, on_result, &rp);
        run_until(&rp.calls, 1, 5000);
        for (int i = 0; i < 3; i++)
            n += normal[i].calls;
        is_int(n + urgent[0].calls + urgent[1].calls, 5, "every queued query answered");
        ok(urgent[0].order < urgent[1].order, "urgent queries run in the order they came");
        ok(urgent[1].order < normal[0].order, "urgent queries run before the ones queued earlier");
        ok(normal[0].order < normal[1].order && normal[1].order < normal[2].order,
           "the others keep their order");
        ok(rp.ok && strcmp(rp.value, "70") == 0, "a replan statement answers (7 * 10 = 70)");
        db_cleanup(db1);
    }

    /* With two connections, the other work never takes the last idle one: two slow queries run
     * one after the other, and an urgent one queued behind them is answered at once. */
    {
        static struct sink slow[2], quick;
        const char *sl[1] = { "0.3" }, *p[1] = { "u" };
        struct db *db2;
        int64_t end, t0, t_quick = 0;
        int up;

        db2 = pool_of(&o, 2, &up);
        is_int(up, 2, "a pool of two connections comes up");
        callbacks = 0;
        t0 = util_mono_ms();
        for (int i = 0; i < 2; i++)
            db_exec(db2, ST_SLEEP, sl, 1, on_result, &slow[i]);
        db_exec_urgent(db2, ST_ECHO, p, 1, on_result, &quick);
        end = t0 + 5000;
        while (slow[1].calls == 0 && util_mono_ms() < end) {
            event_base_loop(base, EVLOOP_ONCE);
            if (quick.calls && !t_quick)
                t_quick = util_mono_ms();
        }
        ok(quick.ok && quick.order == 1, "the urgent query is answered first");
        ok(t_quick > 0 && t_quick - t0 < 250, "before the first slow query is over");
        ok(slow[0].ok && slow[1].ok && util_mono_ms() - t0 >= 550,
           "the slow ones run one after the other: one connection stays free");
        db_cleanup(db2);
    }

    /* statement_timeout is set on every session. */
    {
        const char *p[1] = { "3" };
        memset(&s, 0, sizeof(s));
        db_exec(db, ST_SLEEP, p, 1, on_result, &s);
        run_until(&s.calls, 1, 5000);
        is_str(s.sqlstate, "57014", "a statement over statement_timeout is cancelled (57014)");
    }

    /* NOTIFY reaches the notify callback. */
    {
        const char *p[1] = { "hello-from-test" };
        memset(&s, 0, sizeof(s));
        db_exec_sql(db, "SELECT pg_notify('dialer_changes', $1)", p, 1, on_result, &s);
        run_until(&s.calls, 1, 3000);
        int64_t end = util_mono_ms() + 3000;
        while (strcmp(last_payload, "hello-from-test") != 0 && util_mono_ms() < end)
            event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep_short();
        is_str(last_payload, "hello-from-test", "a NOTIFY on dialer_changes reaches the callback");
    }

    /* Backends killed under a running query: the query fails, the pool reconnects. */
    {
        const char *p[1] = { "0.5" };
        struct sink killer;
        int before = listening;
        /* The killer has a pool of its own: the pool under test keeps its other connection
         * for urgent queries while the sleep runs. */
        int kup;
        struct db *kdb = pool_of(&o, 1, &kup);
        int64_t kend;
        ok(kup == 1, "the killer's own pool comes up");
        memset(&s, 0, sizeof(s));
        memset(&killer, 0, sizeof(killer));
        db_exec(db, ST_SLEEP, p, 1, on_result, &s);
        /* Once the sleep is running, not before. */
        kend = util_mono_ms() + 100;
        while (util_mono_ms() < kend)
            event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep_short();
        db_exec_sql(kdb, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'itest_db' AND pid <> pg_backend_pid()",
                    NULL, 0, on_result, &killer);
        run_until(&s.calls, 1, 5000);
        run_until(&killer.calls, 1, 5000);
        db_cleanup(kdb);
        ok(!s.ok, "the query on a terminated backend fails instead of hanging");
        ok(s.sqlstate[0] == '5' || s.sqlstate[0] == '0', "with a connection-class SQLSTATE");
        ok(run_until(&listening, before + 1, 5000), "the LISTEN connection comes back and says so");
        const char *q[1] = { "back" };
        memset(&s, 0, sizeof(s));
        int64_t end = util_mono_ms() + 5000;
        while (util_mono_ms() < end) {
            memset(&s, 0, sizeof(s));
            if (db_exec(db, ST_ECHO, q, 1, on_result, &s) == 0 && run_until(&s.calls, 1, 2000) && s.ok)
                break;
            event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
            usleep_short();
        }
        is_str(s.value, "back", "queries work again after the reconnect");
    }

    /* Cleanup with work queued: every callback is told, nothing leaks. */
    {
        static struct sink q[10];
        const char *p[1] = { "0.2" };
        for (int i = 0; i < 10; i++)
            db_exec(db, ST_SLEEP, p, 1, on_result, &q[i]);
        db_cleanup(db);
        for (int i = 0; i < 10; i++)
            done += q[i].calls;
        is_int(done, 10, "db_cleanup calls back every queued and in-flight query");
        has_str(q[9].error, "shutting down", "with a shutting-down error");
    }
    event_base_free(base);
    return tap_done();
}
