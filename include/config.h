/* Configuration: one table of keys feeds the file parser, the environment and the command line. */
#ifndef DIALERD_CONFIG_H
#define DIALERD_CONFIG_H

#include <stddef.h>
#include <stdio.h>

/*
 * Every field is described by a row of the table in config.c (name, type, range, default,
 * whether SIGHUP may change it). Strings are owned by the struct and freed by config_free().
 */
struct config {
    char *database_url;          /* libpq URL or key=value conninfo */
    char *listen;                /* host:port of the HTTP endpoint */
    int log_level;               /* enum log_level */
    char *instance_name;         /* this daemon's name in attempts and leases */
    int db_pool_size;            /* connections to PostgreSQL */
    int db_connect_timeout_ms;   /* a connection attempt that takes longer is abandoned */
    int db_statement_timeout_ms; /* server-side statement_timeout on every session */
    int db_reconnect_min_ms;     /* first back-off after a lost connection */
    int db_reconnect_max_ms;     /* back-off ceiling */
    int db_heartbeat_ms;         /* how often an idle connection proves it is alive */
    int drain_timeout_ms;        /* SIGTERM: how long in-flight work may take to finish */
    int max_body_bytes;          /* HTTP request bodies larger than this get 413 */
    char *api_tokens;            /* bearer tokens for control routes, comma-separated */
    char *event_secrets;         /* HMAC secrets for event and push routes, comma-separated */
    int event_max_skew_s;        /* signed timestamps further from now are refused */
    int replay_cache_max;        /* signatures remembered against replay; past it -52 / 429 */
    int max_pending_requests;    /* requests waiting for a commit at once; past it -52 / 429 */
    char *carrier_url;           /* base URL of the carrier API (DESIGN §5.3) */
    char *public_url;            /* base URL the carrier calls back; "" = http://<listen> */
    int tick_ms;                 /* pacing period */
    int carrier_timeout_ms;      /* one dial request */
    int carrier_retry_s;         /* how long an uncertain dial is retried with its key */
    int carrier_max_conns;       /* connections to the carrier */
    int abandon_lock_s;          /* an abandoned callee is not called again sooner */
    int acd_grace_ms;            /* the ACD's abandon grace, as the pacer plans with it */
    int reconcile_grace_s;       /* unanswered calls past ring timeout + this are lost */
    int max_call_s;              /* answered calls older than this are lost */
    int lease_ms;                /* a pool lease not renewed for this long is free */
    int lease_renew_ms;          /* renewal period of this instance's leases */
    int claim_batch_max;         /* most callees claimed by one statement */
    int import_max_items;        /* most callees one REST import request carries */
    char *sms_url;               /* SMS gateway POST URL (DESIGN §5.4); "" = no dispatcher */
    int sms_timeout_ms;          /* one SMS request */
    int sms_max_tries;           /* sends of one SMS before it fails */
    int sms_backoff_min_ms;      /* first retry delay; doubles per try */
    int sms_backoff_max_ms;      /* retry delay ceiling */
    int sms_batch;               /* most outbox rows one claim takes */
    int sms_max_conns;           /* SMS sends in flight at once */
    int sms_poll_ms;             /* how often the outbox is looked at without a wake-up */
    int sms_lease_ms;            /* a row being sent is re-sent by anyone after this */
};

/* Where a value came from, for error messages and reload decisions. */
struct config_origin {
    const char *source;          /* file path, "environment", "command line", "default" */
    int line;                    /* line in the file, 0 otherwise */
};

/* A config with every default applied. Never NULL (aborts on out-of-memory). */
struct config *config_new(void);
/* Frees the config and its strings. NULL is fine. */
void config_free(struct config *c);

/*
 * Sets one key from its text form. On a bad key or value returns -1 and writes a message for
 * people into err: where it came from, the offending value, and what is accepted.
 */
int config_set(struct config *c, const char *key, const char *value,
               const struct config_origin *from, char *err, size_t errlen);

/*
 * Parses `key = value` lines (# comments, optional "double quotes"). Every bad line is
 * reported, one per line of err; returns the number of errors (0 = all applied).
 */
int config_parse_text(struct config *c, const char *text, const char *source,
                      char *err, size_t errlen);
/* Reads and parses a file; returns the number of errors (a missing file is one). */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
/* Applies DIALER_<KEY> variables from envp (NULL-terminated); returns the number of errors. */
int config_load_env(struct config *c, char *const *envp, char *err, size_t errlen);
/* Cross-field checks run after everything is loaded; returns the number of errors. */
int config_check(const struct config *c, char *err, size_t errlen);

/*
 * Lists in `out` (comma-separated) the keys whose values differ between a and b but cannot
 * change without a restart. Returns how many there are.
 */
int config_restart_keys(const struct config *a, const struct config *b, char *out, size_t len);

/* Copies every value of `from` into `to` (deep), for keys reloadable on SIGHUP only. */
void config_apply_reloadable(struct config *to, const struct config *from);

/* Splits "host:port" or "[v6]:port"; returns 0 and fills host (NUL-terminated) and port. */
int config_split_hostport(const char *s, char *host, size_t hostlen, int *port);

/* Writes every key with its default, range and meaning (for `dialerd --help-config`). */
void config_describe(FILE *fp);

#endif
