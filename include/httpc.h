/* HTTP client on the libevent loop (libcurl multi): the transport of the carrier and SMS clients. */
#ifndef DIALERD_HTTPC_H
#define DIALERD_HTTPC_H

#include <stddef.h>

struct event_base;
struct httpc;

struct httpc_response {
    int status;            /* HTTP status; 0 when no response arrived (see error) */
    const char *body;      /* NUL-terminated; "" when empty */
    size_t body_len;
    const char *error;     /* transport error for people ("Connection refused", "timed out
                              after 5000 ms"); "" when a response arrived */
    int timed_out;         /* the request hit its timeout */
    int not_sent;          /* no connection could be made: the request never reached the peer */
    long elapsed_ms;
};

/*
 * Called once per request from the loop, never from inside httpc_request(). `res` and the
 * strings in it belong to httpc and are freed when the callback returns.
 */
typedef void (*httpc_cb)(const struct httpc_response *res, void *arg);

/* One client per loop; `max_host_conns` caps connections to one host (0 = libcurl default). */
struct httpc *httpc_new(struct event_base *base, int max_host_conns);
/*
 * Frees the client. Requests still in flight get their callback with status 0 and error
 * "shutting down" before this returns. NULL is fine.
 */
void httpc_free(struct httpc *h);

/*
 * Starts a request. `method` is "GET", "POST", "PUT", …; `body` may be NULL; `headers` is a
 * NULL-terminated list of "Name: value" strings (copied) or NULL. Bodies are sent as JSON
 * unless a Content-Type header is given. Returns 0 when started (the callback will come), -1
 * when it could not be started (no callback).
 */
int httpc_request(struct httpc *h, const char *method, const char *url, const char *body,
                  const char *const *headers, int timeout_ms, httpc_cb cb, void *arg);

/* Requests started and not yet called back. */
int httpc_pending(const struct httpc *h);

#endif
