/* HTTP client on the libevent loop (libcurl multi): the transport of the carrier and SMS clients. */
#include "httpc.h"

#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

/*
 * libcurl tells us which sockets to watch (socket callback) and when to wake it (timer
 * callback); libevent tells libcurl when a socket is ready. Finished transfers are collected
 * with curl_multi_info_read and handed to their callbacks from a deferred event, so a callback
 * never runs inside httpc_request() or inside libcurl.
 */

struct httpc_req {
    struct httpc *h;
    CURL *easy;
    struct curl_slist *headers;
    char *body;                  /* request body (owned; libcurl does not copy POSTFIELDS) */
    char *resp;                  /* response body being received */
    size_t resp_len, resp_cap;
    char errbuf[CURL_ERROR_SIZE];
    int timeout_ms;
    int handed_over;             /* a connection was ready and the request about to go out */
    httpc_cb cb;
    void *arg;
    struct httpc_req *next;      /* in the pending list */
    struct httpc_req *prev;
};

struct httpc_sock {
    struct event *ev;
    curl_socket_t fd;
};

struct httpc {
    struct event_base *base;
    CURLM *multi;
    struct event *timer_ev;
    struct event *done_ev;       /* deferred completion processing */
    struct httpc_req *reqs;      /* every request not yet called back */
    int n_reqs;
};

static int httpc_global_users;

/* Notes that a connection (new or reused) is about to carry the request. */
static int httpc_on_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                           int conn_primary_port, int conn_local_port)
{
    struct httpc_req *r = clientp;

    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    r->handed_over = 1;
    return CURL_PREREQFUNC_OK;
}

/* Appends received bytes, keeping the buffer NUL-terminated. */
static size_t httpc_on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct httpc_req *r = userdata;
    size_t n = size * nmemb;

    if (r->resp_len + n + 1 > r->resp_cap) {
        size_t cap = r->resp_cap ? r->resp_cap : 1024;
        char *p;
        while (cap < r->resp_len + n + 1)
            cap *= 2;
        /* A peer that streams without end is cut off rather than allowed to exhaust memory. */
        if (cap > 16 * 1024 * 1024)
            return 0;
        p = realloc(r->resp, cap);
        if (p == NULL)
            return 0;
        r->resp = p;
        r->resp_cap = cap;
    }
    memcpy(r->resp + r->resp_len, ptr, n);
    r->resp_len += n;
    r->resp[r->resp_len] = '\0';
    return n;
}

/* Unlinks and frees a request (after its callback). */
static void httpc_req_free(struct httpc_req *r)
{
    struct httpc *h = r->h;

    if (r->prev)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    h->n_reqs--;
    if (r->easy) {
        curl_multi_remove_handle(h->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r->resp);
    free(r);
}

/* Hands a finished transfer to its callback. */
static void httpc_finish(struct httpc_req *r, CURLcode code)
{
    struct httpc_response res;
    long status = 0;
    double secs = 0;
    char err[CURL_ERROR_SIZE + 64];

    memset(&res, 0, sizeof(res));
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &secs);
    res.elapsed_ms = (long)(secs * 1000);
    res.body = r->resp ? r->resp : "";
    res.body_len = r->resp_len;
    if (code == CURLE_OK) {
        res.status = (int)status;
        res.error = "";
    } else {
        res.status = 0;
        res.timed_out = code == CURLE_OPERATION_TIMEDOUT;
        /*
         * Only a failed connect proves the peer saw nothing; a timeout may hide a success. And
         * only if no connection ever took the request: libcurl retries a request whose reused
         * connection died on a fresh one, and when that connect is refused its error hides
         * that the first connection may have delivered the request.
         */
        {
            curl_off_t sent = -1;
            curl_easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, &sent);
            res.not_sent = !r->handed_over &&
                           (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
                            code == CURLE_COULDNT_RESOLVE_PROXY ||
                            (sent == 0 && r->body != NULL));
        }
        if (res.timed_out)
            snprintf(err, sizeof(err), "timed out after %d ms", r->timeout_ms);
        else
            snprintf(err, sizeof(err), "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
        res.error = err;
    }
    if (r->cb)
        r->cb(&res, r->arg);
    httpc_req_free(r);
}

/* Collects every finished transfer. */
static void httpc_check_done(struct httpc *h)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct httpc_req *r = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r)
            httpc_finish(r, msg->data.result);
    }
}

/* Deferred completion: runs outside libcurl's call stack. */
static void httpc_on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    httpc_check_done(arg);
}

/* A watched socket is ready: let libcurl act on it. */
static void httpc_on_socket(evutil_socket_t fd, short what, void *arg)
{
    struct httpc *h = arg;
    int running, flags = 0;

    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, fd, flags, &running);
    event_active(h->done_ev, 0, 0);
}

/* libcurl's timer fired. */
static void httpc_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct httpc *h = arg;
    int running;

    (void)fd;
    (void)what;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    event_active(h->done_ev, 0, 0);
}

/* libcurl asks to watch (or stop watching) a socket. */
static int httpc_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct httpc *h = userp;
    struct httpc_sock *hs = socketp;
    short kind;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (hs) {
            event_free(hs->ev);
            free(hs);
            curl_multi_assign(h->multi, s, NULL);
        }
        return 0;
    }
    kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                   ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
    if (hs == NULL) {
        hs = util_xcalloc(1, sizeof(*hs));
        hs->fd = s;
        curl_multi_assign(h->multi, s, hs);
    } else {
        event_free(hs->ev);
    }
    hs->ev = event_new(h->base, s, kind, httpc_on_socket, h);
    event_add(hs->ev, NULL);
    return 0;
}

/* libcurl asks to be woken after timeout_ms (-1 = cancel). */
static int httpc_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct httpc *h = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(h->timer_ev);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    evtimer_add(h->timer_ev, &tv);
    return 0;
}

/* Creates a client bound to a loop. */
struct httpc *httpc_new(struct event_base *base, int max_host_conns)
{
    struct httpc *h = util_xcalloc(1, sizeof(*h));

    if (httpc_global_users++ == 0)
        curl_global_init(CURL_GLOBAL_DEFAULT);
    h->base = base;
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        log_error("httpc.setup", "error=%s", log_q("curl_multi_init failed"));
        abort();
    }
    h->timer_ev = evtimer_new(base, httpc_on_timer, h);
    h->done_ev = event_new(base, -1, 0, httpc_on_done, h);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, httpc_socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, httpc_timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    if (max_host_conns > 0)
        curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_host_conns);
    return h;
}

/* Fails what is in flight, then frees everything. */
void httpc_free(struct httpc *h)
{
    if (h == NULL)
        return;
    while (h->reqs) {
        struct httpc_req *r = h->reqs;
        struct httpc_response res;
        memset(&res, 0, sizeof(res));
        res.body = "";
        res.error = "shutting down";
        if (r->cb)
            r->cb(&res, r->arg);
        httpc_req_free(r);
    }
    curl_multi_cleanup(h->multi);
    event_free(h->timer_ev);
    event_free(h->done_ev);
    free(h);
    if (--httpc_global_users == 0)
        curl_global_cleanup();
}

/* Starts one transfer. */
int httpc_request(struct httpc *h, const char *method, const char *url, const char *body,
                  const char *const *headers, int timeout_ms, httpc_cb cb, void *arg)
{
    struct httpc_req *r = util_xcalloc(1, sizeof(*r));
    int has_ct = 0;

    r->h = h;
    r->cb = cb;
    r->arg = arg;
    r->timeout_ms = timeout_ms;
    r->easy = curl_easy_init();
    if (r->easy == NULL) {
        free(r);
        return -1;
    }
    for (const char *const *p = headers; p && *p; p++) {
        if (strncasecmp(*p, "Content-Type:", 13) == 0)
            has_ct = 1;
        r->headers = curl_slist_append(r->headers, *p);
    }
    if (body && !has_ct)
        r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
    /* "Expect: 100-continue" would cost a round trip on every POST. */
    r->headers = curl_slist_append(r->headers, "Expect:");
    curl_easy_setopt(r->easy, CURLOPT_URL, url);
    curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        r->body = util_xstrdup(body);
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, httpc_on_data);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->easy, CURLOPT_PREREQFUNCTION, httpc_on_prereq);
    curl_easy_setopt(r->easy, CURLOPT_PREREQDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 3000 ? timeout_ms : 3000));
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
    /* Only plain HTTP(S); a redirect to elsewhere is not followed. */
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    r->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = r;
    h->reqs = r;
    h->n_reqs++;
    if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
        r->cb = NULL;
        httpc_req_free(r);
        return -1;
    }
    return 0;
}

/* In-flight count. */
int httpc_pending(const struct httpc *h)
{
    return h->n_reqs;
}
