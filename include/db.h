/* Asynchronous PostgreSQL on the libevent loop: a small pool, prepared statements, LISTEN, reconnect. */
#ifndef DIALERD_DB_H
#define DIALERD_DB_H

#include <stdint.h>

struct event_base;
struct db;
struct db_result;

/*
 * A statement every connection prepares as soon as it connects (the store module owns the
 * table). The strings must outlive the db.
 */
struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    /* 1: planned at every execution (sent with its text; still prepared at connect, which
     * checks it). For statements whose best plan depends on how far a table has grown since
     * the session began: a prepared statement soon keeps a generic plan made from the sizes
     * of then, and after a bulk load or on a fresh database that plan reads whole tables. */
    int replan;
};

struct db_options {
    const char *conninfo;          /* libpq URL or key=value string; copied */
    const char *app_name;          /* application_name of every session; copied */
    int pool_size;                 /* connections; the first one also LISTENs */
    int connect_timeout_ms;
    int statement_timeout_ms;      /* set on every session; queries get this + 5 s client-side */
    int reconnect_min_ms;
    int reconnect_max_ms;
    int heartbeat_ms;
    int min_schema_version;        /* refuse to serve a database older than this */
    const struct db_stmt *stmts;   /* prepared on every connection; index = statement id */
    int n_stmts;
    const char *const *channels;   /* LISTENed on the first connection */
    int n_channels;
};

enum db_event {
    DB_EVENT_UP,            /* the first connection became ready */
    DB_EVENT_DOWN,          /* the last ready connection was lost */
    DB_EVENT_LISTENING      /* the LISTEN connection is (again) subscribed: notifications
                               sent while it was away are lost, so resynchronise */
};

/*
 * Called with every query's outcome. `res` belongs to the db and is freed when the callback
 * returns: copy what you need. Never called from inside db_exec()/db_exec_sql().
 */
typedef void (*db_cb)(const struct db_result *res, void *arg);
typedef void (*db_notify_cb)(const char *channel, const char *payload, void *arg);
typedef void (*db_event_cb)(enum db_event ev, void *arg);

/* Creates the pool and starts connecting; never blocks. The db keeps no pointer into `opt`
 * except stmts and channels. */
struct db *db_setup(struct event_base *base, const struct db_options *opt);
/*
 * Closes every connection. Queries still queued or in flight get their callback with an
 * error ("dialerd is shutting down") before this returns. NULL is fine.
 */
void db_cleanup(struct db *db);

void db_set_notify_cb(struct db *db, db_notify_cb cb, void *arg);
void db_set_event_cb(struct db *db, db_event_cb cb, void *arg);

/*
 * Queues prepared statement `stmt` (an index into opt.stmts) with text parameters (NULL for
 * SQL NULL; copied, the caller keeps ownership of its strings). Returns 0 when queued, and
 * then `cb` is called exactly once, later, from the loop: with the result, or with an error
 * if the connection was lost or the query timed out (the statement may or may not have been
 * committed then). Returns -1 without calling `cb` when no connection is up.
 */
int db_exec(struct db *db, int stmt, const char *const *params, int nparams, db_cb cb, void *arg);
/*
 * Like db_exec(), queued ahead of every query that is not urgent (after the urgent ones already
 * waiting): for the few statements something waits on now (an agent free for a call), which
 * would otherwise queue behind batches of ends and claims of campaigns without agents. With two
 * connections or more up, the last idle one is kept for these: other queries wait for another.
 */
int db_exec_urgent(struct db *db, int stmt, const char *const *params, int nparams, db_cb cb,
                   void *arg);
/* Like db_exec() for SQL text that is not prepared (rare, administrative statements). */
int db_exec_sql(struct db *db, const char *sql, const char *const *params, int nparams,
                db_cb cb, void *arg);

/* Whether at least one connection is ready for queries. */
int db_is_up(const struct db *db);
/* Queries queued or in flight (heartbeats excluded), for the shutdown drain. */
int db_pending(const struct db *db);

struct db_health {
    int conns_ready;             /* connected and set up */
    int conns_total;
    int64_t last_ok_age_ms;      /* since the last successful round trip; -1 never */
    int schema_version;          /* as read at the last connection set-up; 0 unknown */
    char last_error[256];        /* the most recent connection failure, "" none */
};
/* Fills `h` with the pool's state as of `now_ms` (monotonic). */
void db_health(const struct db *db, int64_t now_ms, struct db_health *h);

/* Result accessors; valid only inside the callback. */
int db_result_ok(const struct db_result *r);           /* command or rows, no error */
const char *db_result_error(const struct db_result *r); /* "" when ok; one line */
const char *db_result_sqlstate(const struct db_result *r); /* "" when unknown */
int db_result_rows(const struct db_result *r);
int db_result_cols(const struct db_result *r);
/* Text value, NULL for SQL NULL or out of range. */
const char *db_result_value(const struct db_result *r, int row, int col);
/* Integer value, `dflt` for NULL, out of range or not a number. */
long long db_result_int(const struct db_result *r, int row, int col, long long dflt);
/* Rows affected by an INSERT/UPDATE/DELETE, -1 when not applicable. */
long long db_result_affected(const struct db_result *r);

#endif
