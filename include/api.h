/* HTTP endpoint (evhttp): routing, the {status, reason, data} envelope, /healthz. */
#ifndef DIALERD_API_H
#define DIALERD_API_H

#include <stdio.h>

struct event_base;
struct config;
struct db;
struct api;
struct sched;

/* Response codes of the REST envelope (seed 004), used with a fitting HTTP status. */
enum api_code {
    API_OK = 0,
    API_AUTH = -1,
    API_UNAVAILABLE = -5,          /* "port program unusual": a dependency is down */
    API_TIMESTAMP_EXPIRED = -4,
    API_INVALID = -27,
    API_NO_CAMPAIGN = -32,
    API_NAME_EXISTS = -33,
    API_CANNOT_PAUSE = -38,
    API_CANNOT_START = -39,
    API_CANNOT_DELETE = -44,
    API_TOO_MANY = -52,
    API_CALLEE_EXISTS = -53,
    API_STATUS_FIXED = -54,
    API_IMPORT_LIMIT = -56
};

struct api_info {
    const char *version;           /* dialerd's version string */
    const char *instance;          /* instance name */
};

/*
 * Binds `cfg->listen` and serves requests on `base`. Returns NULL after logging why when the
 * address cannot be bound. The api keeps pointers to db, sched and info (they must outlive
 * it) and reads cfg only here and in api_reconfigure().
 */
struct api *api_setup(struct event_base *base, const struct config *cfg, struct db *db,
                      struct sched *sched, const struct api_info *info);
/* Applies reloadable settings: body size limit, tokens, secrets, skew, pending bound. */
void api_reconfigure(struct api *api, const struct config *cfg);
/* Marks the daemon as draining: /healthz answers 503 so load balancers stop sending work. */
void api_set_draining(struct api *api, int draining);
/* The port actually bound (useful with port 0). */
int api_port(const struct api *api);
/* Stops listening and frees everything. NULL is fine. */
void api_cleanup(struct api *api);
/* Prints the route table, "METHOD PATTERN AUTH" per line (dialerd --print-routes). */
void api_print_routes(FILE *fp);
/* Applies the reloadable settings of the resource routes: import_max_items (api_rest.c). */
void api_rest_reconfigure(struct api *api, const struct config *cfg);

#endif
