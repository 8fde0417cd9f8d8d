/* Carrier client: POST {carrier_url}/calls per DESIGN §5.3, over httpc on the loop. */
#ifndef DIALERD_CARRIER_H
#define DIALERD_CARRIER_H

#include <stdint.h>

struct event_base;
struct carrier;
struct httpc_response;

/* One dial; strings are copied into the request body before carrier_dial() returns. */
struct carrier_dial {
    int64_t attempt_id;
    int64_t campaign_id;
    const char *callee;
    const char *caller;
    int64_t skill_group_id;          /* 0 = agentless (sent as null) */
    int ring_timeout_s;
    const char *uui;                 /* callee's, else campaign's; NULL = none */
    const char *campaign_variables;  /* JSON object text or NULL */
    const char *callee_variables;    /* JSON object text or NULL; overrides the campaign's */
};

enum carrier_result {
    CARRIER_PLACED,          /* 2xx with a session id */
    CARRIER_NOT_PLACED,      /* 429 / 503 back-pressure, or no connection: the dial never left */
    CARRIER_REJECTED,        /* another 4xx: the carrier refused this dial */
    CARRIER_UNCERTAIN        /* 5xx, timeout, broken reply: retry with the same attempt id */
};

/* Result of one dial. `session_id` and `detail` are valid only during the call. */
typedef void (*carrier_cb)(enum carrier_result r, const char *session_id, int http_status,
                           const char *detail, void *arg);

/* `url` is the carrier's base URL; `callback_url` is where it sends call events. Copied. */
struct carrier *carrier_new(struct event_base *base, const char *url, const char *callback_url,
                            int timeout_ms, int max_conns);
/* Frees the client; dials in flight get CARRIER_UNCERTAIN "shutting down". NULL is fine. */
void carrier_free(struct carrier *c);
/* Sends a dial with header Idempotency-Key: <attempt id>. 0 = started, -1 = not started. */
int carrier_dial(struct carrier *c, const struct carrier_dial *d, carrier_cb cb, void *arg);
/* Dials sent and not yet answered. */
int carrier_pending(const struct carrier *c);
/* Names a result for logs. */
const char *carrier_result_name(enum carrier_result r);
/* The dialerd_carrier_errors_total series (an enum metric_id) a reply sorted as `r` counts
 * under: refused, 5xx, timeout (no answer in time), cut (the connection closed after the
 * request went out), 4xx or bad_reply; -1 for a placed call or a shutdown. */
int carrier_error_metric(enum carrier_result r, const struct httpc_response *res);

#endif
