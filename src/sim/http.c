/* The simulator's HTTP side: listeners that can be refused / broken on demand, SMS sink, control. */
#include "sim.h"

#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SIM_MAX_BODY (1 << 20)

static const char *const sim_mode_names[SIM_N_MODES] = { "ok", "refuse", "error500", "timeout",
                                                         "accept_timeout", "cut" };

static void sim_sms_take(struct sim *sim, struct evhttp_request *req, int reply);

const char *const sim_end_status_names[SIM_N_END_STATUS] = {
    "ok", "abandoned", "machine", "notAnswer", "userReject", "powerOff", "numberNotExist",
    "busy", "outOfCredit", "operatorError", "notInService", "clientError", "carrierBlocked",
    "numberInvalid", "callRestricted", "areaRestricted",
};

/* Mode name for logs and the control API. */
const char *sim_mode_name(enum sim_mode m)
{
    return (unsigned)m < SIM_N_MODES ? sim_mode_names[m] : "?";
}

/* Counts an ended call under its status (unknown names are a bug and are logged). */
void sim_stats_ended(struct sim_stats *st, const char *end_status)
{
    for (int i = 0; i < SIM_N_END_STATUS; i++) {
        if (strcmp(sim_end_status_names[i], end_status) == 0) {
            st->ended[i]++;
            return;
        }
    }
    log_error("sim.unknown_end_status", "end_status=%s", log_q(end_status));
}

/* Sends JSON. */
void sim_reply(struct evhttp_request *req, int status, cJSON *body)
{
    struct evbuffer *buf = evbuffer_new();
    cJSON *o = body ? body : cJSON_CreateObject();
    char *text = cJSON_PrintUnformatted(o);

    cJSON_Delete(o);
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
    free(text);
}

/* Sends {"error": "..."}. */
void sim_reply_error(struct evhttp_request *req, int status, const char *fmt, ...)
{
    char msg[512];
    cJSON *o = cJSON_CreateObject();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(o, "error", msg);
    sim_reply(req, status, o);
}

/* Copies the body out of libevent's buffer with a terminating NUL. */
char *sim_request_body(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    char *s;

    if (n > SIM_MAX_BODY)
        return NULL;
    s = util_xcalloc(1, n + 1);
    evbuffer_copyout(in, s, n);
    return s;
}

/* Path part of the request URI. */
const char *sim_request_path(struct evhttp_request *req)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *p = u ? evhttp_uri_get_path(u) : NULL;

    return p ? p : "";
}

/* Closes a request's connection without an answer; libevent frees both when it reads the end. */
static void sim_request_cut(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

/* Records a request a control mode swallowed: a carrier dial in the truth log, an SMS counted. */
static void sim_mode_swallowed(struct sim_listener *l, struct evhttp_request *req, int status,
                               const char *reason)
{
    struct sim *sim = l->sim;

    if (l == &sim->carrier)
        sim_carrier_mode_rejected(sim, req, status, reason);
    else if (l == &sim->sms)
        sim->st.sms_rejected++;
}

/* Every request on every listener: the control mode first, then the listener's handler. */
static void sim_listener_on_request(struct evhttp_request *req, void *arg)
{
    struct sim_listener *l = arg;
    struct sim *sim = l->sim;

    if (l->mode == SIM_MODE_ERROR500) {
        sim_mode_swallowed(l, req, 500, "control: error500");
        sim_reply_error(req, 500, "%s: error500 mode set through the control API", l->name);
        return;
    }
    if (l->mode == SIM_MODE_TIMEOUT) {
        /* Never answered: libevent frees the request when the client gives up and hangs up. */
        sim_mode_swallowed(l, req, 0, "control: timeout, never answered");
        return;
    }
    if (l->mode == SIM_MODE_CUT) {
        /* Read, then hung up on: the client cannot tell whether it was acted on. Not acted on. */
        sim_mode_swallowed(l, req, SIM_STATUS_CUT, "control: cut, closed without an answer");
        sim_request_cut(req);
        return;
    }
    if (l->mode == SIM_MODE_ACCEPT_TIMEOUT && l == &sim->sms) {
        /* The gateway took the message, the answer is lost: only the key can tell a resend. */
        sim_sms_take(sim, req, 0);
        return;
    }
    l->handle(sim, req);
}

/* "HOST:PORT" with PORT 0..65535. */
int sim_listener_parse(struct sim_listener *l, const char *spec, char *err, size_t errlen)
{
    const char *colon = strrchr(spec, ':');
    char *end;
    long port;

    if (colon == NULL || colon == spec || (size_t)(colon - spec) >= sizeof(l->host)) {
        snprintf(err, errlen, "--%s-listen %s: accepted HOST:PORT, e.g. 127.0.0.1:0", l->name, spec);
        return -1;
    }
    port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535) {
        snprintf(err, errlen, "--%s-listen %s: port \"%s\": accepted 0..65535 (0 = any free port)",
                 l->name, spec, colon + 1);
        return -1;
    }
    memcpy(l->host, spec, (size_t)(colon - spec));
    l->host[colon - spec] = '\0';
    l->port = (int)port;
    return 0;
}

/* Binds the listener's address; records the port the kernel chose for port 0. */
int sim_listener_open(struct sim_listener *l)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (l->http)
        return 0;
    l->http = evhttp_new(l->sim->base);
    evhttp_set_max_body_size(l->http, SIM_MAX_BODY);
    evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(l->http, sim_listener_on_request, l);
    bs = evhttp_bind_socket_with_handle(l->http, l->host, (ev_uint16_t)l->port);
    if (bs == NULL) {
        log_error("sim.listen", "listener=%s host=%s port=%d error=%s", l->name, log_q(l->host),
                  l->port, log_q("cannot bind (address in use or not local?)"));
        evhttp_free(l->http);
        l->http = NULL;
        return -1;
    }
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

/* Frees the evhttp: its socket and every open connection go, held requests with them. */
void sim_listener_close(struct sim_listener *l)
{
    if (l->http)
        evhttp_free(l->http);
    l->http = NULL;
}

/* POST /sms: the SMS gateway sink of DESIGN §5.4. */
void sim_sms_handle(struct sim *sim, struct evhttp_request *req)
{
    sim_sms_take(sim, req, 1);
}

/* Checks, records and (when `reply`) answers one SMS; a bad request is answered either way. */
static void sim_sms_take(struct sim *sim, struct evhttp_request *req, int reply)
{
    const char *path = sim_request_path(req), *key, *mid;
    const cJSON *to, *sender, *text;
    char *body, buf[64];
    cJSON *root, *line, *answer;
    int dup;

    if (strcmp(path, "/sms") != 0) {
        sim_reply_error(req, 404, "no route %.200s: accepted POST /sms", path);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        sim_reply_error(req, 405, "/sms: accepted method POST");
        return;
    }
    key = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
    if (key == NULL || key[0] == '\0' || strlen(key) > 200) {
        sim->st.sms_rejected++;
        sim_reply_error(req, 400, "Idempotency-Key header missing or empty: accepted the outbox id");
        return;
    }
    body = sim_request_body(req);
    root = body ? cJSON_Parse(body) : NULL;
    free(body);
    to = cJSON_GetObjectItemCaseSensitive(root, "to");
    sender = cJSON_GetObjectItemCaseSensitive(root, "sender_id");
    text = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (!cJSON_IsObject(root)) {
        sim->st.sms_rejected++;
        sim_reply_error(req, 400, "body: not a JSON object: accepted {\"to\", \"sender_id\", \"text\"}");
    } else if (!sim_is_number(to)) {
        sim->st.sms_rejected++;
        sim_reply_error(req, 400, "to: accepted a string of an optional + and 3..15 digits");
    } else if (sender && !cJSON_IsNull(sender) && !cJSON_IsString(sender)) {
        sim->st.sms_rejected++;
        sim_reply_error(req, 400, "sender_id: accepted a string or null");
    } else if (!cJSON_IsString(text)) {
        sim->st.sms_rejected++;
        sim_reply_error(req, 400, "text: accepted a string");
    } else {
        mid = sim_map_get(sim->sms_keys, key);
        dup = mid != NULL;
        if (!dup) {
            snprintf(buf, sizeof(buf), "msg-%lld-%ld", (long long)sim->start_wall_ms, ++sim->sms_seq);
            sim_map_put(sim->sms_keys, key, buf);
            mid = sim_map_get(sim->sms_keys, key);
        }
        sim->st.sms_received++;
        if (dup) {
            sim->st.sms_duplicates++;
            log_warn("sim.sms_duplicate", "key=%s message_id=%s", log_q(key), log_q(mid));
        }
        line = sim_truth_line("sms");
        cJSON_AddStringToObject(line, "key", key);
        cJSON_AddStringToObject(line, "message_id", mid);
        cJSON_AddStringToObject(line, "to", to->valuestring);
        if (cJSON_IsString(sender))
            cJSON_AddStringToObject(line, "sender_id", sender->valuestring);
        else
            cJSON_AddNullToObject(line, "sender_id");
        cJSON_AddStringToObject(line, "text", text->valuestring);
        cJSON_AddBoolToObject(line, "duplicate", dup);
        cJSON_AddBoolToObject(line, "answered", reply);
        sim_truth_write(sim, line);
        if (reply) {
            answer = cJSON_CreateObject();
            cJSON_AddStringToObject(answer, "message_id", mid);
            sim_reply(req, 200, answer);
        } else {
            /* Held until the client gives up and hangs up; libevent frees it then. */
            sim->st.sms_unanswered++;
        }
    }
    cJSON_Delete(root);
}

/* Adds how long a timed mode has left (ms), or null when it lasts until changed. */
static void sim_mode_left(cJSON *o, const char *key, const struct sim_listener *l)
{
    int64_t left = l->mode_until_ms - util_mono_ms();

    if (l->mode_until_ms == 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, (double)(left > 0 ? left : 0));
}

/* Adds {"sent", "retried", "failed"}. */
static void sim_stats_delivery(cJSON *o, const char *key, long sent, long retried, long failed)
{
    cJSON *d = cJSON_AddObjectToObject(o, key);

    cJSON_AddNumberToObject(d, "sent", (double)sent);
    cJSON_AddNumberToObject(d, "retried", (double)retried);
    cJSON_AddNumberToObject(d, "failed", (double)failed);
}

/* Every counter, for GET /stats and the final log line. */
cJSON *sim_stats_json(const struct sim *sim)
{
    const struct sim_stats *st = &sim->st;
    cJSON *o = cJSON_CreateObject(), *ended, *agents, *sms, *modes;
    int counts[SIM_AGENT_N];

    cJSON_AddStringToObject(o, "scenario", sim->sc.name ? sim->sc.name : "");
    cJSON_AddNumberToObject(o, "sim_time_s", sim_now_s(sim));
    cJSON_AddBoolToObject(o, "draining", sim->draining);
    cJSON_AddNumberToObject(o, "dials", (double)st->dials);
    cJSON_AddNumberToObject(o, "duplicates", (double)st->duplicates);
    cJSON_AddNumberToObject(o, "rejected_400", (double)st->rejected_400);
    cJSON_AddNumberToObject(o, "rejected_429", (double)st->rejected_429);
    cJSON_AddNumberToObject(o, "rejected_500", (double)st->rejected_500);
    cJSON_AddNumberToObject(o, "rejected_503", (double)st->rejected_503);
    cJSON_AddNumberToObject(o, "held", (double)st->held);
    cJSON_AddNumberToObject(o, "cut", (double)st->cut);
    cJSON_AddNumberToObject(o, "unanswered_dials", (double)st->unanswered_dials);
    cJSON_AddNumberToObject(o, "in_flight", sim->n_in_flight);
    cJSON_AddNumberToObject(o, "queued", sim->n_queued);
    cJSON_AddNumberToObject(o, "answered", (double)st->answered);
    cJSON_AddNumberToObject(o, "connected", (double)st->connected);
    cJSON_AddNumberToObject(o, "abandoned", (double)st->abandoned);
    cJSON_AddNumberToObject(o, "machine", (double)st->machine);
    ended = cJSON_AddObjectToObject(o, "ended");
    for (int i = 0; i < SIM_N_END_STATUS; i++)
        cJSON_AddNumberToObject(ended, sim_end_status_names[i], (double)st->ended[i]);
    agents = cJSON_AddObjectToObject(o, "agents");
    sim_acd_counts(sim, counts);
    for (int i = 0; i < SIM_AGENT_N; i++)
        cJSON_AddNumberToObject(agents, sim_agent_status_name((enum sim_agent_status)i), counts[i]);
    sim_stats_delivery(o, "events", st->events_sent, st->events_retried, st->events_failed);
    sim_stats_delivery(o, "agent_updates", st->agent_sent, st->agent_retried, st->agent_failed);
    cJSON_AddNumberToObject(o, "pending_deliveries", sim_deliver_pending(sim));
    sms = cJSON_AddObjectToObject(o, "sms");
    cJSON_AddNumberToObject(sms, "received", (double)st->sms_received);
    cJSON_AddNumberToObject(sms, "duplicates", (double)st->sms_duplicates);
    cJSON_AddNumberToObject(sms, "rejected", (double)st->sms_rejected);
    cJSON_AddNumberToObject(sms, "unanswered", (double)st->sms_unanswered);
    modes = cJSON_AddObjectToObject(o, "modes");
    cJSON_AddStringToObject(modes, "carrier", sim_mode_name(sim->carrier.mode));
    cJSON_AddStringToObject(modes, "sms", sim_mode_name(sim->sms.mode));
    sim_mode_left(modes, "carrier_for_ms", &sim->carrier);
    sim_mode_left(modes, "sms_for_ms", &sim->sms);
    cJSON_AddNumberToObject(modes, "error_rate", sim->error_rate);
    sim_probe_stats(sim, o);
    return o;
}

/* Parses a mode name; -1 when unknown. */
static int sim_mode_parse(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return -1;
    for (int i = 0; i < SIM_N_MODES; i++)
        if (strcmp(v->valuestring, sim_mode_names[i]) == 0)
            return i;
    return -1;
}

/* A timed mode's end: back to "ok", unless the mode was changed since (then its own end rules). */
static void sim_mode_expire(evutil_socket_t fd, short what, void *arg)
{
    struct sim_listener *l = arg;
    int64_t left = l->mode_until_ms - util_mono_ms();

    (void)fd;
    (void)what;
    if (l->mode_until_ms == 0)
        return;
    if (left > 0) {
        /* The loop's clock may fire a timer a millisecond before ours says it is due. */
        struct timeval tv = { (time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000) };
        event_base_once(l->sim->base, -1, EV_TIMEOUT, sim_mode_expire, l, &tv);
        return;
    }
    l->mode_until_ms = 0;
    log_info("sim.mode_expired", "listener=%s mode=%s action=\"back to ok\"", l->name,
             sim_mode_name(l->mode));
    if (l->mode != SIM_MODE_OK) {
        l->mode = SIM_MODE_OK;
        if (sim_listener_open(l) < 0)
            log_error("sim.mode_expired", "listener=%s error=%s", l->name,
                      log_q("cannot bind the listener again (port taken?)"));
    }
}

/* Ends a mode after for_ms (> 0), through a one-shot timer libevent frees itself. */
static void sim_mode_for(struct sim_listener *l, long for_ms)
{
    struct timeval tv = { for_ms / 1000, (for_ms % 1000) * 1000 };

    if (for_ms <= 0) {
        l->mode_until_ms = 0;
        return;
    }
    l->mode_until_ms = util_mono_ms() + for_ms;
    event_base_once(l->sim->base, -1, EV_TIMEOUT, sim_mode_expire, l, &tv);
}

/* Moves a listener into a mode: refuse closes it, every other mode needs it open. */
static int sim_listener_set_mode(struct sim_listener *l, enum sim_mode m)
{
    if (l->mode != m)
        log_info("sim.mode", "listener=%s from=%s to=%s port=%d", l->name, sim_mode_name(l->mode),
                 sim_mode_name(m), l->port);
    l->mode = m;
    if (m == SIM_MODE_REFUSE) {
        sim_listener_close(l);
        return 0;
    }
    return sim_listener_open(l);
}

/*
 * POST /control: {"carrier": mode, "sms": mode, "error_rate": 0..1, "carrier_for_ms": n,
 * "sms_for_ms": n}; a *_for_ms puts the listener back to "ok" after n ms.
 */
static void sim_control_post(struct sim *sim, struct evhttp_request *req)
{
    char *body = sim_request_body(req), text[96];
    cJSON *root = body ? cJSON_Parse(body) : NULL, *reply;
    const cJSON *v;
    int mc = -1, ms = -1;
    long for_c = 0, for_s = 0;
    double rate = -1;

    free(body);
    if (!cJSON_IsObject(root)) {
        sim_reply_error(req, 400, "body: not a JSON object: accepted {\"carrier\": mode, \"sms\": "
                        "mode, \"error_rate\": 0..1}");
        goto out;
    }
    for (v = root->child; v; v = v->next) {
        char *p = cJSON_PrintUnformatted(v);
        snprintf(text, sizeof(text), "%.60s", p ? p : "?");
        free(p);
        if (strcmp(v->string, "carrier") == 0 || strcmp(v->string, "sms") == 0) {
            int m = sim_mode_parse(v);
            if (m < 0) {
                sim_reply_error(req, 400, "%s = %s: accepted \"ok\", \"refuse\", \"error500\", "
                                "\"timeout\", \"accept_timeout\", \"cut\"", v->string, text);
                goto out;
            }
            if (v->string[0] == 'c')
                mc = m;
            else
                ms = m;
        } else if (strcmp(v->string, "carrier_for_ms") == 0 || strcmp(v->string, "sms_for_ms") == 0) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 86400000 ||
                v->valuedouble != (double)(long)v->valuedouble) {
                sim_reply_error(req, 400, "%s = %s: accepted a whole number of ms 1..86400000",
                                v->string, text);
                goto out;
            }
            if (v->string[0] == 'c')
                for_c = (long)v->valuedouble;
            else
                for_s = (long)v->valuedouble;
        } else if (strcmp(v->string, "error_rate") == 0) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1) {
                sim_reply_error(req, 400, "error_rate = %s: accepted 0..1", text);
                goto out;
            }
            rate = v->valuedouble;
        } else {
            sim_reply_error(req, 400, "%s: unknown key; accepted: carrier, sms, error_rate, "
                            "carrier_for_ms, sms_for_ms", v->string);
            goto out;
        }
    }
    if ((for_c && mc < 0) || (for_s && ms < 0)) {
        sim_reply_error(req, 400, "%s: accepted only with a \"%s\" mode in the same request",
                        for_c && mc < 0 ? "carrier_for_ms" : "sms_for_ms",
                        for_c && mc < 0 ? "carrier" : "sms");
        goto out;
    }
    if (ms >= 0 && sim->sms.handle == NULL) {
        sim_reply_error(req, 400, "sms: no SMS listener (start with --sms-listen)");
        goto out;
    }
    if (rate >= 0) {
        log_info("sim.mode", "error_rate from=%g to=%g", sim->error_rate, rate);
        sim->error_rate = rate;
    }
    if ((mc >= 0 && sim_listener_set_mode(&sim->carrier, (enum sim_mode)mc) < 0) ||
        (ms >= 0 && sim_listener_set_mode(&sim->sms, (enum sim_mode)ms) < 0)) {
        sim_reply_error(req, 500, "cannot bind the listener again (port taken?)");
        goto out;
    }
    if (mc >= 0)
        sim_mode_for(&sim->carrier, for_c);
    if (ms >= 0)
        sim_mode_for(&sim->sms, for_s);
    reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "carrier", sim_mode_name(sim->carrier.mode));
    cJSON_AddStringToObject(reply, "sms", sim_mode_name(sim->sms.mode));
    cJSON_AddNumberToObject(reply, "error_rate", sim->error_rate);
    cJSON_AddNumberToObject(reply, "carrier_port", sim->carrier.port);
    cJSON_AddNumberToObject(reply, "sms_port", sim->sms.port);
    sim_reply(req, 200, reply);
out:
    cJSON_Delete(root);
}

/* The control listener: /healthz, /stats, /control. */
void sim_control_handle(struct sim *sim, struct evhttp_request *req)
{
    const char *path = sim_request_path(req);
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    cJSON *o;

    if (strcmp(path, "/healthz") == 0 && m == EVHTTP_REQ_GET) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", sim->draining ? "draining" : "ok");
        cJSON_AddStringToObject(o, "scenario", sim->sc.name);
        sim_reply(req, 200, o);
    } else if (strcmp(path, "/stats") == 0 && m == EVHTTP_REQ_GET) {
        sim_reply(req, 200, sim_stats_json(sim));
    } else if (strcmp(path, "/control") == 0 && m == EVHTTP_REQ_POST) {
        sim_control_post(sim, req);
    } else {
        sim_reply_error(req, 404, "no route %.200s: accepted GET /healthz, GET /stats, POST /control",
                        path);
    }
}
