/* dialer-sim internals shared by its files: the simulator, its calls, agents, listeners, queues. */
#ifndef DIALERD_SIM_H
#define DIALERD_SIM_H

#include "httpc.h"
#include "scenario.h"

#include <stdint.h>

struct cJSON;
struct event;
struct event_base;
struct evhttp;
struct evhttp_request;
struct sim;

/* ---- string map (map.c): attempt id → session id, SMS key → message id ---- */

struct sim_map;
struct sim_map *sim_map_new(void);
/* Frees the map and every key and value it copied. NULL is fine. */
void sim_map_free(struct sim_map *m);
/* The value stored under key, or NULL. The pointer stays valid until the map is freed. */
const char *sim_map_get(const struct sim_map *m, const char *key);
/* Stores copies of key and value; an existing key keeps its first value. */
void sim_map_put(struct sim_map *m, const char *key, const char *value);
size_t sim_map_count(const struct sim_map *m);

/* ---- requests to dialerd, in order, retried (deliver.c) ---- */

enum sim_msg_kind { SIM_MSG_EVENT, SIM_MSG_AGENT };

struct sim_msg;

/*
 * An ordered queue of requests to dialerd: one per call (its events) and one per agent (its
 * status changes), so a later message never overtakes an earlier one of the same call/agent.
 * Each message is retried with back-off while dialerd is unreachable, answers 5xx / 429 or
 * times out, until it succeeds or SIM_DELIVER_GIVE_UP_MS have passed since it was queued;
 * then its `failed` line is written to the ground-truth log and the next message goes.
 */
struct sim_outq {
    struct sim *sim;
    struct sim_msg *head, *tail;
    struct event *timer;          /* waits out back-off and event_delay_ms */
    int in_flight;                /* the head is being sent */
    void (*on_idle)(void *owner); /* called when the queue empties (not during shutdown) */
    void *owner;
};

#define SIM_DELIVER_GIVE_UP_MS 60000
#define SIM_DELIVER_TIMEOUT_MS 5000

void sim_outq_setup(struct sim_outq *q, struct sim *sim, void (*on_idle)(void *), void *owner);
/*
 * Writes an `event_failed` / `agent_update_failed` line for every message still queued and
 * frees them (shutdown). Must not be called while the head is in flight: free httpc first.
 */
void sim_outq_cleanup(struct sim_outq *q);
/*
 * Queues one request. Takes ownership of `body` (malloc'd text) and of `failed` (a cJSON
 * object identifying the message, written to the log with tries and error if it never gets
 * through). `delay_ms` holds the message back from now.
 */
void sim_outq_push(struct sim_outq *q, enum sim_msg_kind kind, const char *method,
                   const char *url, char *body, struct cJSON *failed, int delay_ms);
/* The same for an agent's status report: `status` tells the latency probe what went out. */
void sim_outq_push_agent(struct sim_outq *q, const char *url, char *body, struct cJSON *failed,
                         int status);
/* Whether nothing is queued or in flight. */
int sim_outq_idle(const struct sim_outq *q);
/* Messages queued or in flight over the whole simulator. */
int sim_deliver_pending(const struct sim *sim);

/*
 * The one way the simulator talks to dialerd (events and agent status): adds the
 * Authorization header (--token) and signs the request (--event-secret, DESIGN §5.2:
 * X-Dialer-Timestamp and X-Dialer-Signature). `signed_at` (may be NULL) is the Unix second a
 * previous try of the same message was signed at, updated here: a retry is always signed with
 * a later second, since dialerd refuses a signature it has already seen. Same contract as
 * httpc_request() otherwise.
 */
int sim_dialerd_request(struct sim *sim, const char *method, const char *url, const char *body,
                        int64_t *signed_at, void (*cb)(const struct httpc_response *, void *),
                        void *arg);

/* ---- ground truth (truth.c) ---- */

/* Opens the JSON Lines file for appending; -1 with errno when it cannot. NULL path: no log. */
int sim_truth_open(struct sim *sim, const char *path);
void sim_truth_close(struct sim *sim);
/*
 * Writes one line: adds "at" (unix ms) unless present, then one write(2) so a killed
 * simulator loses nothing already written. Takes ownership of `line` and frees it.
 */
void sim_truth_write(struct sim *sim, struct cJSON *line);
/* A new line object with "type" set, for the caller to fill. */
struct cJSON *sim_truth_line(const char *type);

/* ---- agents and the ACD (acd.c) ---- */

enum sim_agent_status { SIM_AGENT_OFFLINE, SIM_AGENT_FREE, SIM_AGENT_BUSY, SIM_AGENT_ARRANGE,
                        SIM_AGENT_N };

struct sim_call;

struct sim_agent {
    struct sim *sim;
    int index;                    /* 0-based; agent number index + 1 */
    char id[96];
    enum sim_agent_status status;
    int64_t free_since_ms;        /* monotonic: longest-idle routing */
    int logoff_pending;           /* log off once the current call and ACW are done */
    struct sim_call *call;        /* while busy */
    double next_acw_s;            /* ACW of the current call, drawn with it */
    struct event *acw_timer;
    struct sim_outq outq;         /* status updates to dialerd */
};

const char *sim_agent_status_name(enum sim_agent_status s);
/* Creates the agents and reports each one's starting status (free or offline). */
void sim_acd_setup(struct sim *sim);
void sim_acd_cleanup(struct sim *sim);
/* Routes an answered call: the longest-idle free agent, else the FIFO queue with its grace. */
void sim_acd_offer(struct sim *sim, struct sim_call *call);
/* Takes a queued call out of the queue (it was abandoned or cut off). */
void sim_acd_unqueue(struct sim *sim, struct sim_call *call);
/* A connected call ended: the agent goes to after-call work or free. */
void sim_acd_call_ended(struct sim *sim, struct sim_agent *a);
/* Logs agents in or off so that exactly the first n are logged in. */
void sim_acd_set_target(struct sim *sim, int n, const char *reason);
/* Logs the status updates that never went out (shutdown; httpc already freed). */
void sim_acd_drop_pending(struct sim *sim);
/* Logs every agent off at once (shutdown, no call left). */
void sim_acd_all_offline(struct sim *sim);
/* Schedules the drift steps and the end of the shift. */
void sim_acd_schedule(struct sim *sim);
/* Agents per status into counts[SIM_AGENT_N]. */
void sim_acd_counts(const struct sim *sim, int *counts);

/* ---- calls (carrier.c) ---- */

enum sim_call_state { SIM_CALL_DIALED, SIM_CALL_RINGING, SIM_CALL_ANSWERED, SIM_CALL_QUEUED,
                      SIM_CALL_CONNECTED, SIM_CALL_ENDED };

/* What the draws decided for a call at dial time. */
enum sim_fate { SIM_FATE_LIVE, SIM_FATE_MACHINE, SIM_FATE_NON_ANSWER };

struct sim_call {
    struct sim *sim;
    struct sim_call *prev, *next;       /* every call object alive */
    struct sim_call *q_next;            /* in the ACD's waiting queue */
    struct cJSON *req;                  /* the dial body as received; owned */
    char *attempt_id;                   /* text form, also the idempotency key */
    char *session_id;
    const char *callback_url;           /* points into req */
    int agentless;
    long long skill_group_id;
    enum sim_call_state state;
    int seq;
    /* the plan, in simulated seconds from the dial */
    enum sim_fate fate;
    const char *end_status;             /* non-answers: the drawn status */
    double t_ringing, t_resolve;        /* ringing; answer / failure / machine end */
    double talk_s, acw_s;
    int short_reject;
    const char *keys;                   /* pressed keys or NULL; points into the scenario */
    const char *hangup_side;            /* of a connected / agentless call */
    /* what happened, unix ms; 0 = not (yet) */
    int64_t dialed_at, ringing_at, answered_at, connected_at, ended_at;
    const char *final_status;
    const char *final_side;
    struct sim_agent *agent;            /* while connected */
    const char *agent_id;               /* agent_id_buf once connected, else NULL */
    char agent_id_buf[96];
    struct event *timer;
    struct sim_outq outq;               /* its events */
    int instant;                        /* --instant-agentless: ends at its first timer */
};

/* POST /calls on the carrier listener. */
void sim_carrier_handle(struct sim *sim, struct evhttp_request *req);
/* The ACD connected the call to agent a (a is busy already). */
void sim_call_connect(struct sim_call *c, struct sim_agent *a);
/* The ACD put the call in its queue; the grace timer starts. */
void sim_call_queue(struct sim_call *c);
/* A dial cut without an answer: logged with status 0 like a held one, counted under `cut`. */
#define SIM_STATUS_CUT (-1)
/* Logs a dial a control mode swallowed (status 500, 0 when held unanswered, SIM_STATUS_CUT). */
void sim_carrier_mode_rejected(struct sim *sim, struct evhttp_request *req, int status,
                               const char *reason);
/* E.164-like: an optional + and 3..15 digits, as dialer.callees accepts. */
int sim_is_number(const struct cJSON *v);
/* Ends calls cut off by shutdown: logs them with ended_at null, frees every call. */
void sim_calls_cleanup(struct sim *sim);

/* ---- listeners, SMS sink, control (http.c) ---- */

/* accept_timeout: the dial is placed / the message taken and logged, the answer never comes.
 * cut: the request is read, then the connection is closed without an answer. */
enum sim_mode { SIM_MODE_OK, SIM_MODE_REFUSE, SIM_MODE_ERROR500, SIM_MODE_TIMEOUT,
                SIM_MODE_ACCEPT_TIMEOUT, SIM_MODE_CUT, SIM_N_MODES };

struct sim_listener {
    struct sim *sim;
    const char *name;             /* "carrier", "sms", "control" */
    char host[64];
    int port;                     /* the bound port once open */
    struct evhttp *http;          /* NULL while closed ("refuse") */
    enum sim_mode mode;
    int64_t mode_until_ms;        /* monotonic: back to "ok" then (control *_for_ms); 0 = never */
    void (*handle)(struct sim *sim, struct evhttp_request *req);
};

const char *sim_mode_name(enum sim_mode m);
/* Parses "HOST:PORT" into the listener; -1 with a message when malformed. */
int sim_listener_parse(struct sim_listener *l, const char *spec, char *err, size_t errlen);
/* Binds (again); port 0 binds any port and records it. -1 when binding fails. */
int sim_listener_open(struct sim_listener *l);
/* Closes the socket and every connection (clients see "connection refused"). */
void sim_listener_close(struct sim_listener *l);
/*
 * Replies with a JSON body and status. Takes ownership of `body` (may be NULL: empty object).
 */
void sim_reply(struct evhttp_request *req, int status, struct cJSON *body);
/* Replies {"error": msg} with the status. */
void sim_reply_error(struct evhttp_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The request body as a NUL-terminated string (malloc'd), or NULL when too large. */
char *sim_request_body(struct evhttp_request *req);
/* The request path without query, or "" when the URI cannot be parsed. */
const char *sim_request_path(struct evhttp_request *req);
/* The stats JSON object (caller frees). */
struct cJSON *sim_stats_json(const struct sim *sim);
void sim_sms_handle(struct sim *sim, struct evhttp_request *req);
void sim_control_handle(struct sim *sim, struct evhttp_request *req);

/* ---- latency probe (probe.c): agent "free" report sent -> next dial arriving ---- */

#define SIM_PROBE_PENDING 256

/*
 * --probe-free-to-dial: each agent status report "free" is timed when it is handed to the
 * HTTP client; the next dial for the scenario's skill group that the carrier accepts is
 * paired with the oldest such report still waiting (first in, first out) and written to the
 * ground-truth log as a `probe` line with the time between the two. A report is dropped
 * unpaired when the same agent reports another status first. Meant for one free agent at a
 * time (progressive, callout_rate 1), where each pair is unambiguous.
 */
struct sim_probe {
    int on;
    int agent[SIM_PROBE_PENDING];       /* agent index of each waiting report, FIFO ring */
    int64_t sent_us[SIM_PROBE_PENDING]; /* monotonic microseconds it was handed to libcurl */
    int head, count;
    long samples, unpaired_dials, unpaired_frees;
};

/* Monotonic microseconds. */
int64_t sim_mono_us(void);
/* An agent's status report is going out now (every try). */
void sim_probe_agent_sent(struct sim *sim, int agent_index, int status);
/* A dial was accepted (arrival time dial_us): pairs it with a waiting "free" report. */
void sim_probe_dial(struct sim *sim, const struct sim_call *c, int64_t dial_us);
/* The probe's counters for /stats, or nothing when the probe is off. */
void sim_probe_stats(const struct sim *sim, struct cJSON *o);

/* ---- the simulator ---- */

#define SIM_N_END_STATUS 16

struct sim_stats {
    long dials, duplicates, answered, connected, abandoned, machine;
    long rejected_400, rejected_429, rejected_500, rejected_503, held;
    long cut;                       /* dials read in cut mode, the connection closed unanswered */
    long unanswered_dials;          /* placed in accept_timeout mode, the answer held back */
    long ended[SIM_N_END_STATUS];   /* by end status, in sim_end_status_names order */
    long events_sent, events_retried, events_failed;
    long agent_sent, agent_retried, agent_failed;
    long sms_received, sms_duplicates, sms_rejected;
    long sms_unanswered;            /* taken and logged in accept_timeout mode, never answered */
};

extern const char *const sim_end_status_names[SIM_N_END_STATUS];
/* Counts one ended call under its end status. */
void sim_stats_ended(struct sim_stats *st, const char *end_status);

struct sim {
    struct event_base *base;
    struct httpc *http;
    struct scenario sc;
    char *dialerd_url;            /* without a trailing slash */
    char *auth_header;            /* "Authorization: Bearer …" or NULL */
    const char *event_secret;     /* --event-secret: signs every request to dialerd, or NULL */
    int truth_fd;                 /* -1: no ground-truth log */
    struct sim_listener carrier, sms, control;
    int64_t start_mono_ms;
    int64_t start_wall_ms;
    uint64_t ctl_rng;             /* error_rate draws */
    double error_rate;
    double cps_tokens, cps_at_s;  /* max_cps token bucket, in simulated time */
    struct sim_call *calls;       /* every call object alive (ended ones while delivering) */
    int n_in_flight;              /* calls not yet ended */
    struct sim_call *q_head, *q_tail; /* answered calls waiting for an agent */
    int n_queued;
    struct sim_agent *agents;
    int n_agents;
    int target_agents;
    int shift_over;
    struct event *drift_timer, *shift_timer;
    int next_drift;
    struct sim_map *dials;        /* attempt id → session id, for the whole run */
    struct sim_map *sms_keys;     /* idempotency key → message id */
    long session_seq, sms_seq;
    int n_msgs;                   /* messages to dialerd queued or in flight */
    int draining, closing;
    int agents_off;               /* the drain has logged every agent off */
    int warned_skill_group;       /* a dial for a group without agents was logged once */
    int64_t last_stats_ms;        /* monotonic: last summary line */
    int64_t drain_deadline_ms;
    struct sim_stats st;
    /* Benchmark modes (tests/perf/bench_throughput.sh); all off by default. */
    const char *instant_status;   /* --instant-agentless: agentless dials end at once so */
    int instant_ringing;          /* --instant-ringing: ... after a ringing event */
    struct sim_probe probe;       /* --probe-free-to-dial */
};

/* Simulated seconds since the start. */
double sim_now_s(const struct sim *sim);
/* Real milliseconds a span of simulated seconds lasts. */
int64_t sim_real_ms(const struct sim *sim, double sim_s);
/* Arms a one-shot timer for `sim_s` simulated seconds from now. */
void sim_timer_in(struct sim *sim, struct event *ev, double sim_s);
/* Called when a call ends or an agent goes offline: the drain may be done. */
void sim_drain_check(struct sim *sim);

#endif
