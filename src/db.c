/* Asynchronous PostgreSQL on the libevent loop: a small pool, prepared statements, LISTEN, reconnect. */
#include "db.h"

#include "log.h"
#include "metrics.h"
#include "util.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Each connection is a state machine driven only by libevent callbacks:
 *
 *   DOWN --backoff timer--> CONNECTING --PQconnectPoll OK--> SETUP --last step--> READY
 *   READY <--> BUSY (one query at a time)      any state --failure--> DOWN (backoff doubles)
 *   any state --db_cleanup--> CLOSED
 *
 * SETUP runs the session settings, the schema-version check, every PREPARE and the LISTENs,
 * one command at a time, before the connection takes queries from the shared queue.
 */
enum dbc_state { DBC_DOWN, DBC_CONNECTING, DBC_SETUP, DBC_READY, DBC_BUSY, DBC_CLOSED };

static const char *const dbc_state_names[] = {
    "down", "connecting", "setup", "ready", "busy", "closed"
};

enum dbq_kind { DBQ_PREPARED, DBQ_PARAMS, DBQ_PREPARE, DBQ_SIMPLE };

struct db_query {
    struct db_query *next;
    enum dbq_kind kind;
    int stmt;                 /* DBQ_PREPARED / DBQ_PREPARE: statement index */
    char *sql;                /* DBQ_PARAMS / DBQ_SIMPLE: owned */
    char **params;            /* owned copies; NULL entries are SQL NULL */
    int nparams;
    db_cb cb;
    void *arg;
    int internal;             /* set-up step or heartbeat: not counted as pending */
    int urgent;               /* queued with db_exec_urgent */
    int64_t sent_ms;          /* monotonic, when it went out */
    double sent_s;            /* the same on the metrics clock, finer, for the latency histogram */
    int64_t deadline_ms;      /* monotonic; the connection is dropped past it */
};

struct db_result {
    PGresult *res;
    const char *error;        /* set when res is NULL or failed */
    char sqlstate[6];
};

struct db_conn {
    struct db *db;
    int idx;
    PGconn *pg;
    enum dbc_state state;
    struct event *io_ev;      /* connect polling, then persistent read */
    struct event *wr_ev;      /* flush pending output */
    struct event *retry_ev;   /* back-off timer */
    int io_fd;
    struct db_query *cur;     /* query in flight */
    PGresult *cur_res;        /* result kept for cur (first error wins, else last) */
    int setup_step;           /* set-up command being run, counted from 0 */
    int setup_failed;         /* the current set-up command failed: drop and retry */
    int failures;             /* consecutive; drives back-off */
    int64_t state_since_ms;
    int64_t last_io_ms;       /* last completed round trip */
};

struct db {
    struct event_base *base;
    char *conninfo;
    char *app_name;
    struct db_options opt;
    struct db_conn *conns;
    struct db_query *q_head, *q_tail;
    struct db_query *q_urgent_last;   /* the last urgent query, which all come first; NULL none */
    int q_len;
    struct event *dispatch_ev;
    struct event *tick_ev;
    db_notify_cb notify_cb;
    void *notify_arg;
    db_event_cb event_cb;
    void *event_arg;
    int was_up;
    int64_t last_ok_ms;
    int schema_version;
    char last_error[256];
    uint64_t rng;
};

static void dbc_connect(struct db_conn *c);
static void dbc_lost(struct db_conn *c, const char *why);
static void dbc_setup_next(struct db_conn *c);
static void db_dispatch(struct db *db);

/* Checks a transition, logs it and applies it: the one way a connection changes state. */
static void dbc_set_state(struct db_conn *c, enum dbc_state to)
{
    static const unsigned char legal[6][6] = {
        /* to:        DOWN CONN SETUP READY BUSY CLOSED */
        /* DOWN  */ { 0,   1,   0,    0,    0,   1 },
        /* CONN  */ { 1,   0,   1,    0,    0,   1 },
        /* SETUP */ { 1,   0,   0,    1,    0,   1 },
        /* READY */ { 1,   0,   0,    0,    1,   1 },
        /* BUSY  */ { 1,   0,   0,    1,    0,   1 },
        /* CLOSED*/ { 0,   0,   0,    0,    0,   0 },
    };
    enum dbc_state from = c->state;

    if (!legal[from][to]) {
        log_error("db.bad_transition", "conn=%d from=%s to=%s", c->idx,
                  dbc_state_names[from], dbc_state_names[to]);
        abort();
    }
    c->state = to;
    c->state_since_ms = util_mono_ms();
    /* READY <-> BUSY happens per query: too frequent to log above debug. */
    if ((from == DBC_READY && to == DBC_BUSY) || (from == DBC_BUSY && to == DBC_READY))
        log_debug("db.state", "conn=%d from=%s to=%s", c->idx, dbc_state_names[from],
                  dbc_state_names[to]);
    else
        log_write(from == DBC_DOWN || to == DBC_DOWN ? LOG_DEBUG : LOG_INFO, "db.state", "conn=%d from=%s to=%s",
                  c->idx, dbc_state_names[from], dbc_state_names[to]);
}

/* Whether a connection can take or is running queries. */
static int dbc_serving(const struct db_conn *c)
{
    return c->state == DBC_READY || c->state == DBC_BUSY;
}

/* Frees a query and its owned strings. */
static void dbq_free(struct db_query *q)
{
    if (q == NULL)
        return;
    for (int i = 0; i < q->nparams; i++)
        free(q->params[i]);
    free(q->params);
    free(q->sql);
    free(q);
}

/* Calls a query's callback with a synthetic error and frees the query. */
static void dbq_fail(struct db_query *q, const char *why, const char *sqlstate)
{
    struct db_result r = { NULL, why, "" };

    snprintf(r.sqlstate, sizeof(r.sqlstate), "%s", sqlstate);
    if (!q->internal)
        metrics_inc(M_DB_QUERY_ERRORS);
    if (q->cb)
        q->cb(&r, q->arg);
    dbq_free(q);
}

/* Makes a query object with copied parameters. */
static struct db_query *dbq_new(enum dbq_kind kind, int stmt, const char *sql,
                                const char *const *params, int nparams, db_cb cb, void *arg)
{
    struct db_query *q = util_xcalloc(1, sizeof(*q));

    q->kind = kind;
    q->stmt = stmt;
    q->sql = sql ? util_xstrdup(sql) : NULL;
    q->nparams = nparams;
    if (nparams > 0) {
        q->params = util_xcalloc((size_t)nparams, sizeof(char *));
        for (int i = 0; i < nparams; i++)
            q->params[i] = params[i] ? util_xstrdup(params[i]) : NULL;
    }
    q->cb = cb;
    q->arg = arg;
    return q;
}

/* Flattens libpq's multi-line error text to one line for the log and for callers. */
static void db_one_line(char *dst, size_t len, const char *src)
{
    size_t o = 0;

    for (; src && *src && o + 1 < len; src++)
        dst[o++] = (*src == '\n' || *src == '\r' || *src == '\t') ? ' ' : *src;
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

/* Remembers a connection failure for /healthz. */
static void db_note_error(struct db *db, const char *why)
{
    size_t n = strnlen(why, sizeof(db->last_error) - 1);

    memcpy(db->last_error, why, n);
    db->last_error[n] = '\0';
}

/* Tells the owner when the pool as a whole goes up or down. */
static void db_update_up(struct db *db)
{
    int up = db_is_up(db);

    if (up == db->was_up)
        return;
    db->was_up = up;
    if (up)
        log_info("db.up", "pool_size=%d", db->opt.pool_size);
    else
        log_warn("db.down", "reason=%s", log_q(db->last_error));
    if (db->event_cb)
        db->event_cb(up ? DB_EVENT_UP : DB_EVENT_DOWN, db->event_arg);
}

/* Points io_ev at the current socket for one connect-poll wait. */
static void dbc_wait(struct db_conn *c, short what, event_callback_fn fn)
{
    if (c->io_ev) {
        event_free(c->io_ev);
        c->io_ev = NULL;
    }
    c->io_fd = PQsocket(c->pg);
    if (c->io_fd < 0) {
        dbc_lost(c, "libpq returned no socket");
        return;
    }
    c->io_ev = event_new(c->db->base, c->io_fd, what, fn, c);
    event_add(c->io_ev, NULL);
}

/* Drops libpq and libevent resources of a connection. */
static void dbc_close(struct db_conn *c)
{
    if (c->io_ev) {
        event_free(c->io_ev);
        c->io_ev = NULL;
    }
    if (c->wr_ev) {
        event_free(c->wr_ev);
        c->wr_ev = NULL;
    }
    if (c->cur_res) {
        PQclear(c->cur_res);
        c->cur_res = NULL;
    }
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
}

/* Fails every queued query (used when no connection is left to run them). */
static void db_fail_queue(struct db *db, const char *why)
{
    while (db->q_head) {
        struct db_query *q = db->q_head;
        db->q_head = q->next;
        if (db->q_head == NULL)
            db->q_tail = NULL;
        if (db->q_urgent_last == q)
            db->q_urgent_last = NULL;
        db->q_len--;
        dbq_fail(q, why, "08006");
    }
}

/* Back-off delay for the n-th consecutive failure, with ±20 % jitter so instances spread out. */
static int64_t dbc_backoff_ms(struct db_conn *c)
{
    const struct db_options *o = &c->db->opt;
    double d = o->reconnect_min_ms;

    for (int i = 1; i < c->failures && d < o->reconnect_max_ms; i++)
        d *= 2;
    if (d > o->reconnect_max_ms)
        d = o->reconnect_max_ms;
    d *= 0.8 + 0.4 * util_rand01(&c->db->rng);
    return (int64_t)d;
}

/* Handles a dead or failed connection: fail its query, close, schedule a reconnect. */
static void dbc_lost(struct db_conn *c, const char *why)
{
    struct db *db = c->db;
    struct db_query *q = c->cur;
    char msg[512];
    int64_t delay;
    struct timeval tv;

    db_one_line(msg, sizeof(msg), why);
    c->cur = NULL;
    c->failures++;
    db_note_error(db, msg);
    delay = dbc_backoff_ms(c);
    log_write(c->failures <= 1 ? LOG_WARN : LOG_INFO, "db.lost",
              "conn=%d state=%s failures=%d retry_in_ms=%lld error=%s", c->idx,
              dbc_state_names[c->state], c->failures, (long long)delay, log_q(msg));
    dbc_close(c);
    dbc_set_state(c, DBC_DOWN);
    if (q) {
        if (q->internal)
            dbq_free(q);
        else
            dbq_fail(q, msg, "08006");
    }
    tv.tv_sec = delay / 1000;
    tv.tv_usec = (delay % 1000) * 1000;
    evtimer_add(c->retry_ev, &tv);
    if (!db_is_up(db))
        db_fail_queue(db, "database connection lost");
    db_update_up(db);
}

/* Delivers notifications received on a connection. */
static void dbc_notifies(struct db_conn *c)
{
    PGnotify *n;

    while (c->pg && (n = PQnotifies(c->pg)) != NULL) {
        log_debug("db.notify", "channel=%s payload=%s", n->relname, log_q(n->extra));
        if (c->db->notify_cb)
            c->db->notify_cb(n->relname, n->extra, c->db->notify_arg);
        PQfreemem(n);
    }
}

/* Completes the query in flight: callback, then the connection takes the next one. */
static void dbc_complete(struct db_conn *c)
{
    struct db_query *q = c->cur;
    struct db_result r = { c->cur_res, NULL, "" };
    char err[512] = "";
    ExecStatusType st;
    const char *ss;

    c->cur = NULL;
    c->cur_res = NULL;
    /* The round trip, as the daemon's work sees it: heartbeats and set-up are not work. */
    if (!q->internal)
        metrics_observe(M_DB_QUERY_SECONDS, metrics_clock() - q->sent_s);
    st = r.res ? PQresultStatus(r.res) : PGRES_FATAL_ERROR;
    if (r.res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
        db_one_line(err, sizeof(err), r.res ? PQresultErrorMessage(r.res) : "no result");
        r.error = err;
        if (!q->internal)
            metrics_inc(M_DB_QUERY_ERRORS);
        ss = r.res ? PQresultErrorField(r.res, PG_DIAG_SQLSTATE) : NULL;
        snprintf(r.sqlstate, sizeof(r.sqlstate), "%s", ss ? ss : "");
    } else {
        c->last_io_ms = util_mono_ms();
        c->db->last_ok_ms = c->last_io_ms;
    }
    if (c->state == DBC_BUSY)
        dbc_set_state(c, DBC_READY);
    if (q->cb)
        q->cb(&r, q->arg);
    if (r.res)
        PQclear(r.res);
    dbq_free(q);
}

/* Reads whatever the server sent; finishes the current query when its results are in. */
static void dbc_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    PGresult *res;

    (void)fd;
    (void)what;
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
        dbc_lost(c, PQerrorMessage(c->pg));
        return;
    }
    dbc_notifies(c);
    while (c->cur && !PQisBusy(c->pg)) {
        res = PQgetResult(c->pg);
        if (res == NULL) {
            int was_setup = c->state == DBC_SETUP;
            dbc_complete(c);
            if (c->state == DBC_DOWN || c->state == DBC_CLOSED)
                return;
            if (was_setup)
                dbc_setup_next(c);
            else
                db_dispatch(c->db);
            return;
        }
        /* Keep the first error; otherwise the last result (one per statement). */
        if (c->cur_res && PQresultStatus(c->cur_res) == PGRES_FATAL_ERROR) {
            PQclear(res);
        } else {
            if (c->cur_res)
                PQclear(c->cur_res);
            c->cur_res = res;
        }
    }
    dbc_notifies(c);
}

/* Flushes output that did not fit in the socket buffer. */
static void dbc_on_write(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    int r;

    (void)fd;
    (void)what;
    r = PQflush(c->pg);
    if (r < 0)
        dbc_lost(c, PQerrorMessage(c->pg));
    else if (r > 0)
        event_add(c->wr_ev, NULL);
}

/* Sends one query on an idle (or setting-up) connection. */
static void dbc_send(struct db_conn *c, struct db_query *q)
{
    const struct db_options *o = &c->db->opt;
    const char *const *params = (const char *const *)q->params;
    int ok = 0, fl;

    c->cur = q;
    q->sent_ms = util_mono_ms();
    q->sent_s = metrics_clock();
    q->deadline_ms = q->sent_ms +
        (q->internal && c->state != DBC_SETUP ? 2 * (int64_t)o->heartbeat_ms + 1000
                                              : (int64_t)o->statement_timeout_ms + 5000);
    if (c->state == DBC_READY)
        dbc_set_state(c, DBC_BUSY);
    switch (q->kind) {
    case DBQ_PREPARED:
        if (o->stmts[q->stmt].replan)
            ok = PQsendQueryParams(c->pg, o->stmts[q->stmt].sql, q->nparams, NULL, params, NULL,
                                   NULL, 0);
        else
            ok = PQsendQueryPrepared(c->pg, o->stmts[q->stmt].name, q->nparams, params, NULL,
                                     NULL, 0);
        break;
    case DBQ_PARAMS:
        ok = PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, params, NULL, NULL, 0);
        break;
    case DBQ_PREPARE:
        ok = PQsendPrepare(c->pg, o->stmts[q->stmt].name, o->stmts[q->stmt].sql,
                           o->stmts[q->stmt].nparams, NULL);
        break;
    case DBQ_SIMPLE:
        ok = PQsendQuery(c->pg, q->sql);
        break;
    }
    if (!ok) {
        dbc_lost(c, PQerrorMessage(c->pg));
        return;
    }
    fl = PQflush(c->pg);
    if (fl < 0)
        dbc_lost(c, PQerrorMessage(c->pg));
    else if (fl > 0)
        event_add(c->wr_ev, NULL);
}

/*
 * Hands queued queries to idle connections. With two connections or more up, queries that are
 * not urgent never take the last idle one: an agent's claim then finds a connection free at once
 * rather than waiting for batches of other work to commit.
 */
static void db_dispatch(struct db *db)
{
    int idle = 0, serving = 0;

    for (int i = 0; i < db->opt.pool_size; i++) {
        idle += db->conns[i].state == DBC_READY;
        serving += dbc_serving(&db->conns[i]);
    }
    for (int i = 0; i < db->opt.pool_size && db->q_head; i++) {
        struct db_conn *c = &db->conns[i];
        struct db_query *q;

        if (c->state != DBC_READY)
            continue;
        if (!db->q_head->urgent && idle == 1 && serving >= 2)
            break;
        idle--;
        q = db->q_head;
        db->q_head = q->next;
        if (db->q_head == NULL)
            db->q_tail = NULL;
        if (db->q_urgent_last == q)
            db->q_urgent_last = NULL;
        db->q_len--;
        q->next = NULL;
        dbc_send(c, q);
    }
}

/* Deferred dispatch, so that no callback ever runs inside db_exec(). */
static void db_on_dispatch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    db_dispatch(arg);
}

/* Set-up step result: a failure drops the connection with a message saying what to do. */
static void dbc_setup_done(const struct db_result *r, void *arg)
{
    struct db_conn *c = arg;
    struct db *db = c->db;
    char why[600];

    if (db_result_ok(r)) {
        if (c->setup_step == 1) {
            db->schema_version = (int)db_result_int(r, 0, 0, 0);
            if (db->schema_version < db->opt.min_schema_version) {
                snprintf(why, sizeof(why), "database schema is at version %d; this dialerd needs "
                         "version %d or later: run sql/migrate.sh (make migrate) against it",
                         db->schema_version, db->opt.min_schema_version);
                c->setup_failed = 1;
                db_note_error(db, why);
                log_error("db.schema", "conn=%d error=%s", c->idx, log_q(why));
            }
        }
        return;
    }
    if (c->setup_step == 1 && strcmp(db_result_sqlstate(r), "42P01") == 0)
        snprintf(why, sizeof(why), "the dialer schema is missing from this database: run "
                 "sql/migrate.sh (make migrate) against it");
    else if (c->setup_step >= 2 && c->setup_step < 2 + db->opt.n_stmts)
        snprintf(why, sizeof(why), "cannot prepare statement %s: %s",
                 db->opt.stmts[c->setup_step - 2].name, db_result_error(r));
    else
        snprintf(why, sizeof(why), "session set-up step %d failed: %s", c->setup_step,
                 db_result_error(r));
    db_note_error(db, why);
    log_error("db.setup", "conn=%d error=%s", c->idx, log_q(why));
    c->setup_failed = 1;
}

/*
 * Runs the next set-up command: 0 session settings, 1 schema version, 2.. PREPAREs, then the
 * LISTENs on connection 0. Marks the connection READY after the last one.
 */
static void dbc_setup_next(struct db_conn *c)
{
    struct db *db = c->db;
    struct db_query *q = NULL;
    int step;
    char buf[64];

    if (c->setup_failed) {
        char why[sizeof(db->last_error)];
        snprintf(why, sizeof(why), "%s", db->last_error);
        dbc_lost(c, why);
        return;
    }
    step = ++c->setup_step;
    if (step == 0) {
        const char *p[2];
        snprintf(buf, sizeof(buf), "%d", db->opt.statement_timeout_ms);
        p[0] = db->app_name;
        p[1] = buf;
        /* dialer.origin tells the callee NOTIFY trigger to stay quiet for our own updates. */
        q = dbq_new(DBQ_PARAMS, 0,
                    "SELECT set_config('application_name', $1, false), "
                    "set_config('statement_timeout', $2, false), "
                    "set_config('dialer.origin', 'dialerd', false)", p, 2, dbc_setup_done, c);
    } else if (step == 1) {
        q = dbq_new(DBQ_PARAMS, 0, "SELECT coalesce(max(version), 0) FROM dialer.schema_version",
                    NULL, 0, dbc_setup_done, c);
    } else if (step < 2 + db->opt.n_stmts) {
        q = dbq_new(DBQ_PREPARE, step - 2, NULL, NULL, 0, dbc_setup_done, c);
    } else if (c->idx == 0 && step < 2 + db->opt.n_stmts + db->opt.n_channels) {
        char sql[128];
        const char *ch = db->opt.channels[step - 2 - db->opt.n_stmts];
        /* Channel names are compile-time identifiers of ours, never user input. */
        snprintf(sql, sizeof(sql), "LISTEN \"%s\"", ch);
        q = dbq_new(DBQ_SIMPLE, 0, sql, NULL, 0, dbc_setup_done, c);
    }
    if (q) {
        q->internal = 1;
        dbc_send(c, q);
        return;
    }
    c->failures = 0;
    c->last_io_ms = util_mono_ms();
    db->last_ok_ms = c->last_io_ms;
    dbc_set_state(c, DBC_READY);
    /* The server is back: connections still waiting out a long back-off retry now. */
    for (int i = 0; i < db->opt.pool_size; i++) {
        struct db_conn *o = &db->conns[i];
        if (o->state == DBC_DOWN && o->failures > 1) {
            struct timeval soon = { 0, (suseconds_t)(util_rand01(&db->rng) * 50000) };
            o->failures = 0;
            evtimer_add(o->retry_ev, &soon);
        }
    }
    db_update_up(db);
    if (c->idx == 0 && db->opt.n_channels > 0 && db->event_cb)
        db->event_cb(DB_EVENT_LISTENING, db->event_arg);
    db_dispatch(db);
}

/* Drives PQconnectPoll until the connection is made or fails. */
static void dbc_on_connect_io(evutil_socket_t fd, short what, void *arg)
{
    struct db_conn *c = arg;
    PostgresPollingStatusType st;

    (void)fd;
    (void)what;
    st = PQconnectPoll(c->pg);
    if (st == PGRES_POLLING_READING || st == PGRES_POLLING_WRITING) {
        dbc_wait(c, st == PGRES_POLLING_READING ? EV_READ : EV_WRITE, dbc_on_connect_io);
        return;
    }
    if (st != PGRES_POLLING_OK || PQsetnonblocking(c->pg, 1) != 0) {
        dbc_lost(c, PQerrorMessage(c->pg));
        return;
    }
    log_info("db.connected", "conn=%d server_version=%d backend_pid=%d", c->idx,
             PQserverVersion(c->pg), PQbackendPID(c->pg));
    dbc_set_state(c, DBC_SETUP);
    /* From here on the socket is fixed: one persistent read event serves results and NOTIFYs. */
    event_free(c->io_ev);
    c->io_fd = PQsocket(c->pg);
    c->io_ev = event_new(c->db->base, c->io_fd, EV_READ | EV_PERSIST, dbc_on_read, c);
    c->wr_ev = event_new(c->db->base, c->io_fd, EV_WRITE, dbc_on_write, c);
    event_add(c->io_ev, NULL);
    c->setup_step = -1;
    c->setup_failed = 0;
    dbc_setup_next(c);
}

/* libpq notice processor: server notices and warnings become log events, not raw stderr. */
static void dbc_on_notice(void *arg, const char *message)
{
    struct db_conn *c = arg;
    char line[512];

    db_one_line(line, sizeof(line), message);
    log_info("db.notice", "conn=%d message=%s", c->idx, log_q(line));
}

/* Starts a non-blocking connection attempt. */
static void dbc_connect(struct db_conn *c)
{
    c->pg = PQconnectStart(c->db->conninfo);
    if (c->pg == NULL) {
        fputs("dialerd: out of memory starting a database connection\n", stderr);
        abort();
    }
    dbc_set_state(c, DBC_CONNECTING);
    PQsetNoticeProcessor(c->pg, dbc_on_notice, c);
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        dbc_lost(c, PQerrorMessage(c->pg));
        return;
    }
    /* libpq's documented start: act as if PQconnectPoll had asked to wait for writing. */
    dbc_wait(c, EV_WRITE, dbc_on_connect_io);
}

/* Back-off timer: try again. */
static void dbc_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dbc_connect(arg);
}

/* Periodic check of every connection: connect and query deadlines, heartbeats. */
static void db_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct db *db = arg;
    int64_t now = util_mono_ms();

    (void)fd;
    (void)what;
    for (int i = 0; i < db->opt.pool_size; i++) {
        struct db_conn *c = &db->conns[i];
        char why[128];

        if ((c->state == DBC_CONNECTING || c->state == DBC_SETUP) &&
            now - c->state_since_ms > db->opt.connect_timeout_ms && c->cur == NULL) {
            snprintf(why, sizeof(why), "connection attempt took longer than %d ms",
                     db->opt.connect_timeout_ms);
            dbc_lost(c, why);
        } else if (c->cur && now > c->cur->deadline_ms) {
            snprintf(why, sizeof(why), "no answer from the server within %lld ms",
                     (long long)(c->cur->deadline_ms - c->cur->sent_ms));
            dbc_lost(c, why);
        } else if (c->state == DBC_READY && now - c->last_io_ms >= db->opt.heartbeat_ms) {
            struct db_query *q = dbq_new(DBQ_PARAMS, 0, "SELECT 1", NULL, 0, NULL, NULL);
            q->internal = 1;
            dbc_send(c, q);
        }
    }
}

/* Creates the pool and starts every connection. */
struct db *db_setup(struct event_base *base, const struct db_options *opt)
{
    struct db *db = util_xcalloc(1, sizeof(*db));
    struct timeval tick;
    int tick_ms;

    db->base = base;
    db->opt = *opt;
    db->conninfo = util_xstrdup(opt->conninfo);
    db->app_name = util_xstrdup(opt->app_name ? opt->app_name : "dialerd");
    db->opt.conninfo = db->conninfo;
    db->opt.app_name = db->app_name;
    db->last_ok_ms = -1;
    db->rng = (uint64_t)util_wall_ms() ^ ((uint64_t)(uintptr_t)db << 16);
    db->conns = util_xcalloc((size_t)opt->pool_size, sizeof(struct db_conn));
    db->dispatch_ev = event_new(base, -1, 0, db_on_dispatch, db);
    /* The tick bounds how late a deadline or heartbeat can be noticed. */
    tick_ms = opt->heartbeat_ms / 4 < 50 ? 50 : opt->heartbeat_ms / 4;
    if (tick_ms > 250)
        tick_ms = 250;
    tick.tv_sec = tick_ms / 1000;
    tick.tv_usec = (tick_ms % 1000) * 1000;
    db->tick_ev = event_new(base, -1, EV_PERSIST, db_on_tick, db);
    event_add(db->tick_ev, &tick);
    for (int i = 0; i < opt->pool_size; i++) {
        struct db_conn *c = &db->conns[i];
        c->db = db;
        c->idx = i;
        c->io_fd = -1;
        c->state = DBC_DOWN;
        c->retry_ev = evtimer_new(base, dbc_on_retry, c);
        dbc_connect(c);
    }
    return db;
}

/* Closes everything; pending callbacks get a shutdown error first. */
void db_cleanup(struct db *db)
{
    if (db == NULL)
        return;
    for (int i = 0; i < db->opt.pool_size; i++) {
        struct db_conn *c = &db->conns[i];
        struct db_query *q = c->cur;

        c->cur = NULL;
        dbc_close(c);
        if (c->state != DBC_CLOSED)
            dbc_set_state(c, DBC_CLOSED);
        if (q) {
            if (q->internal)
                dbq_free(q);
            else
                dbq_fail(q, "dialerd is shutting down", "57P01");
        }
        event_free(c->retry_ev);
    }
    while (db->q_head) {
        struct db_query *q = db->q_head;
        db->q_head = q->next;
        if (db->q_urgent_last == q)
            db->q_urgent_last = NULL;
        dbq_fail(q, "dialerd is shutting down", "57P01");
    }
    event_free(db->dispatch_ev);
    event_free(db->tick_ev);
    free(db->conns);
    free(db->conninfo);
    free(db->app_name);
    free(db);
}

/* Registers the NOTIFY handler. */
void db_set_notify_cb(struct db *db, db_notify_cb cb, void *arg)
{
    db->notify_cb = cb;
    db->notify_arg = arg;
}

/* Registers the up/down/listening handler. */
void db_set_event_cb(struct db *db, db_event_cb cb, void *arg)
{
    db->event_cb = cb;
    db->event_arg = arg;
}

/*
 * Adds a query to the shared queue and schedules a dispatch: at the end, or when `urgent`
 * after the urgent queries already waiting and before every other one.
 */
static int db_enqueue(struct db *db, struct db_query *q, int urgent)
{
    if (!db_is_up(db)) {
        dbq_free(q);
        return -1;
    }
    q->urgent = urgent;
    if (urgent) {
        struct db_query *after = db->q_urgent_last;
        q->next = after ? after->next : db->q_head;
        if (after)
            after->next = q;
        else
            db->q_head = q;
        if (q->next == NULL)
            db->q_tail = q;
        db->q_urgent_last = q;
    } else {
        if (db->q_tail)
            db->q_tail->next = q;
        else
            db->q_head = q;
        db->q_tail = q;
    }
    db->q_len++;
    event_active(db->dispatch_ev, 0, 0);
    return 0;
}

/* Queues a prepared statement, at the end or (urgent) ahead of the queries that are not. */
static int db_exec_stmt(struct db *db, int stmt, const char *const *params, int nparams,
                        db_cb cb, void *arg, int urgent)
{
    if (stmt < 0 || stmt >= db->opt.n_stmts || nparams != db->opt.stmts[stmt].nparams) {
        log_error("db.exec", "stmt=%d nparams=%d error=\"unknown statement or wrong parameter count\"",
                  stmt, nparams);
        return -1;
    }
    return db_enqueue(db, dbq_new(DBQ_PREPARED, stmt, NULL, params, nparams, cb, arg), urgent);
}

/* Queues a prepared statement. */
int db_exec(struct db *db, int stmt, const char *const *params, int nparams, db_cb cb, void *arg)
{
    return db_exec_stmt(db, stmt, params, nparams, cb, arg, 0);
}

/* Queues a prepared statement ahead of every query that is not urgent. */
int db_exec_urgent(struct db *db, int stmt, const char *const *params, int nparams, db_cb cb,
                   void *arg)
{
    return db_exec_stmt(db, stmt, params, nparams, cb, arg, 1);
}

/* Queues SQL text with parameters. */
int db_exec_sql(struct db *db, const char *sql, const char *const *params, int nparams,
                db_cb cb, void *arg)
{
    return db_enqueue(db, dbq_new(DBQ_PARAMS, 0, sql, params, nparams, cb, arg), 0);
}

/* Any connection serving? */
int db_is_up(const struct db *db)
{
    for (int i = 0; i < db->opt.pool_size; i++)
        if (dbc_serving(&db->conns[i]))
            return 1;
    return 0;
}

/* Queued plus in-flight user queries. */
int db_pending(const struct db *db)
{
    int n = db->q_len;

    for (int i = 0; i < db->opt.pool_size; i++)
        if (db->conns[i].cur && !db->conns[i].cur->internal)
            n++;
    return n;
}

/* Snapshot of the pool for /healthz and metrics. */
void db_health(const struct db *db, int64_t now_ms, struct db_health *h)
{
    memset(h, 0, sizeof(*h));
    h->conns_total = db->opt.pool_size;
    for (int i = 0; i < db->opt.pool_size; i++)
        if (dbc_serving(&db->conns[i]))
            h->conns_ready++;
    h->last_ok_age_ms = db->last_ok_ms < 0 ? -1 : now_ms - db->last_ok_ms;
    h->schema_version = db->schema_version;
    snprintf(h->last_error, sizeof(h->last_error), "%s", db->last_error);
}

/* Whether the result carries rows or a command tag, not an error. */
int db_result_ok(const struct db_result *r)
{
    return r->error == NULL && r->res != NULL;
}

/* One-line error text. */
const char *db_result_error(const struct db_result *r)
{
    return r->error ? r->error : "";
}

/* Five-character SQLSTATE or "". */
const char *db_result_sqlstate(const struct db_result *r)
{
    return r->sqlstate;
}

/* Row count. */
int db_result_rows(const struct db_result *r)
{
    return db_result_ok(r) ? PQntuples(r->res) : 0;
}

/* Column count. */
int db_result_cols(const struct db_result *r)
{
    return db_result_ok(r) ? PQnfields(r->res) : 0;
}

/* Text of one value. */
const char *db_result_value(const struct db_result *r, int row, int col)
{
    if (row < 0 || col < 0 || row >= db_result_rows(r) || col >= db_result_cols(r) ||
        PQgetisnull(r->res, row, col))
        return NULL;
    return PQgetvalue(r->res, row, col);
}

/* Integer of one value. */
long long db_result_int(const struct db_result *r, int row, int col, long long dflt)
{
    const char *v = db_result_value(r, row, col);
    char *end;
    long long n;

    if (v == NULL || *v == '\0')
        return dflt;
    n = strtoll(v, &end, 10);
    return *end == '\0' ? n : dflt;
}

/* Affected-row count of a command. */
long long db_result_affected(const struct db_result *r)
{
    const char *t;

    if (!db_result_ok(r))
        return -1;
    t = PQcmdTuples(r->res);
    return (t && *t) ? strtoll(t, NULL, 10) : -1;
}
