/* dialer-bench model: one shift of one contact centre in virtual time, driven by one policy. */
#include "bench.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds between periodic decisions. */
#define BENCH_TICK_S 0.25
/* Answering-machine detection after the machine picks up, as dialer-sim has it. */
#define BENCH_AMD_S 2.5
/*
 * The shortest a dial may take: a scenario with zero-length failures would otherwise let a
 * policy dial without end at one instant of virtual time.
 */
#define BENCH_MIN_RESOLVE_S 0.01
/* busy_until for an agent who logs off after the call: never free again within any shift. */
#define BENCH_NEVER_S 1e12
/* Rolling window of the worst-hour abandon rate, its step and its least number of answers. */
#define BENCH_WINDOW_S 3600.0
#define BENCH_WINDOW_STEP_S 60.0
#define BENCH_WINDOW_MIN_ANSWERS 20

enum bench_ev_type {
    BENCH_EV_END,             /* shift end */
    BENCH_EV_RESOLVE,         /* a dial is answered live or fails; id = call */
    BENCH_EV_GRACE,           /* a waiting call's grace is over; id = call */
    BENCH_EV_TALK_END,        /* id = agent */
    BENCH_EV_ACW_END,         /* id = agent */
    BENCH_EV_DRIFT,           /* id = drift step */
    BENCH_EV_TICK,            /* periodic decision */
    BENCH_EV_ADAPT,           /* periodic VICIdial level adjustment */
    BENCH_EV_DECIDE,          /* a decision deferred by the decision gap */
};

struct bench_event {
    double t;
    uint64_t seq;             /* ties at one instant go in scheduling order: deterministic */
    int type;
    int id;
    uint32_t gen;             /* the call's generation when scheduled: stale events are skipped */
};

struct bench_heap {
    struct bench_event *ev;
    size_t n, cap;
    uint64_t seq;
};

enum bench_agent_state { BENCH_AG_OFF, BENCH_AG_FREE, BENCH_AG_TALK, BENCH_AG_ACW };

struct bench_agent {
    int state;
    int leaving;              /* logs off when this call's ACW is over */
    double login_at;
    double since;             /* start of the current state */
    double connect_at;
    double talk_len, acw_len;
    double free_at;           /* connect + talk + ACW: when the agent will be free */
    int slot;                 /* index in the busy arrays while talking or in ACW */
    int prev, next;           /* free list, longest idle first */
};

enum bench_call_state { BENCH_CALL_UNUSED, BENCH_CALL_RINGING, BENCH_CALL_WAITING };

struct bench_call {
    int state;
    uint32_t gen;
    int live;
    double placed_at;
    double talk_scale;        /* in force when dialed, as in dialer-sim */
    int slot;                 /* index in the ringing arrays while ringing */
    size_t answer_ix;         /* index in the answer record once answered */
    int qprev, qnext;         /* waiting queue, FIFO */
};

struct bench_sim {
    const struct bench_run_cfg *cfg;
    const struct scenario *sc;
    struct bench_result *res;
    struct bench_policy pol;
    struct bench_heap heap;
    double now;
    double answer_prob, talk_scale;

    struct bench_agent *ag;
    int n_ag;
    int free_head, free_tail, n_free, n_logged;
    /* Kept in step with the agents so that a decision costs O(1) to prepare. */
    double *busy_since, *busy_until;
    double *wrap_since;       /* parallel: when after-call work began, -1 while talking */
    int *busy_agent;
    int n_busy;

    struct bench_call *calls;
    int n_calls, cap_calls;
    int *call_stack;          /* unused call indices */
    int n_stack;
    double *ring_since;
    int *ring_call;
    int n_ringing, cap_ringing;
    int q_head, q_tail, n_waiting;

    double *ans_t;
    unsigned char *ans_ab;
    size_t n_ans, cap_ans;

    double *cps_t;            /* times of the last dials, oldest first (a ring) */
    int cps_k, cps_head, cps_n;
    double cps_window;

    long n_dials, n_connects, n_abandons;
    double last_decide;
    int decided, decide_pending;
};

/* realloc or abort: a half-run benchmark has nothing useful to report. */
static void *bench_grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n ? n : 1) * size);

    if (q == NULL) {
        fprintf(stderr, "dialer-bench: out of memory allocating %zu bytes\n", n * size);
        abort();
    }
    return q;
}

/* Orders events by time, then by scheduling order. */
static int bench_ev_before(const struct bench_event *a, const struct bench_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

/* Schedules an event. */
static void bench_push(struct bench_sim *s, double t, int type, int id, uint32_t gen)
{
    struct bench_heap *h = &s->heap;
    struct bench_event e = { t, h->seq++, type, id, gen };
    size_t i;

    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->ev = bench_grow(h->ev, h->cap, sizeof(*h->ev));
    }
    i = h->n++;
    while (i > 0 && bench_ev_before(&e, &h->ev[(i - 1) / 2])) {
        h->ev[i] = h->ev[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->ev[i] = e;
}

/* Takes the earliest event; 0 when none is left. */
static int bench_pop(struct bench_sim *s, struct bench_event *out)
{
    struct bench_heap *h = &s->heap;
    struct bench_event last;
    size_t i = 0;

    if (h->n == 0)
        return 0;
    *out = h->ev[0];
    last = h->ev[--h->n];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && bench_ev_before(&h->ev[c + 1], &h->ev[c]))
            c++;
        if (!bench_ev_before(&h->ev[c], &last))
            break;
        h->ev[i] = h->ev[c];
        i = c;
    }
    if (h->n > 0)
        h->ev[i] = last;
    return 1;
}

/* splitmix64's finaliser: consecutive counters must give unrelated generator states. */
static uint64_t bench_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*
 * Counter-based seeding: the draws for (seed, replication, stream, index) are fixed whatever
 * happened before them, which is what makes the random numbers common across policies.
 */
uint64_t bench_stream(uint64_t seed, uint64_t rep, uint64_t stream, uint64_t index)
{
    uint64_t z = bench_mix(seed);

    z = bench_mix(z ^ rep);
    z = bench_mix(z ^ (stream << 56));
    z = bench_mix(z ^ index);
    return z ? z : 1;
}

/* Appends an agent to the free list: it is now the one idle the shortest. */
static void bench_free_push(struct bench_sim *s, int i)
{
    struct bench_agent *a = &s->ag[i];

    a->prev = s->free_tail;
    a->next = -1;
    if (s->free_tail >= 0)
        s->ag[s->free_tail].next = i;
    else
        s->free_head = i;
    s->free_tail = i;
    s->n_free++;
}

/* Takes an agent off the free list wherever it is (log-off may pick any). */
static void bench_free_remove(struct bench_sim *s, int i)
{
    struct bench_agent *a = &s->ag[i];

    if (a->prev >= 0)
        s->ag[a->prev].next = a->next;
    else
        s->free_head = a->next;
    if (a->next >= 0)
        s->ag[a->next].prev = a->prev;
    else
        s->free_tail = a->prev;
    a->prev = a->next = -1;
    s->n_free--;
}

/* Adds an agent to the busy arrays (talk or ACW). */
static void bench_busy_add(struct bench_sim *s, int i)
{
    struct bench_agent *a = &s->ag[i];

    a->slot = s->n_busy++;
    s->busy_since[a->slot] = a->connect_at;
    s->busy_until[a->slot] = a->leaving ? BENCH_NEVER_S : a->free_at;
    s->wrap_since[a->slot] = -1;
    s->busy_agent[a->slot] = i;
}

/* Removes an agent from the busy arrays; the last entry fills the hole. */
static void bench_busy_remove(struct bench_sim *s, int i)
{
    int slot = s->ag[i].slot, last = --s->n_busy;

    if (slot != last) {
        s->busy_since[slot] = s->busy_since[last];
        s->busy_until[slot] = s->busy_until[last];
        s->wrap_since[slot] = s->wrap_since[last];
        s->busy_agent[slot] = s->busy_agent[last];
        s->ag[s->busy_agent[slot]].slot = slot;
    }
    s->ag[i].slot = -1;
}

/* A call record from the pool. */
static int bench_call_new(struct bench_sim *s)
{
    int c;

    if (s->n_stack > 0) {
        c = s->call_stack[--s->n_stack];
    } else {
        if (s->n_calls == s->cap_calls) {
            s->cap_calls = s->cap_calls ? s->cap_calls * 2 : 256;
            s->calls = bench_grow(s->calls, (size_t)s->cap_calls, sizeof(*s->calls));
            s->call_stack = bench_grow(s->call_stack, (size_t)s->cap_calls, sizeof(int));
            memset(&s->calls[s->n_calls], 0,
                   (size_t)(s->cap_calls - s->n_calls) * sizeof(*s->calls));
        }
        c = s->n_calls++;
    }
    s->calls[c].qprev = s->calls[c].qnext = -1;
    s->calls[c].slot = -1;
    return c;
}

/* Returns a call record; its generation moves on so that its pending events go stale. */
static void bench_call_release(struct bench_sim *s, int c)
{
    s->calls[c].state = BENCH_CALL_UNUSED;
    s->calls[c].gen++;
    s->call_stack[s->n_stack++] = c;
}

/* Adds a call to the ringing arrays. */
static void bench_ring_add(struct bench_sim *s, int c)
{
    if (s->n_ringing == s->cap_ringing) {
        s->cap_ringing = s->cap_ringing ? s->cap_ringing * 2 : 256;
        s->ring_since = bench_grow(s->ring_since, (size_t)s->cap_ringing, sizeof(double));
        s->ring_call = bench_grow(s->ring_call, (size_t)s->cap_ringing, sizeof(int));
    }
    s->calls[c].slot = s->n_ringing++;
    s->ring_since[s->calls[c].slot] = s->calls[c].placed_at;
    s->ring_call[s->calls[c].slot] = c;
}

/* Removes a call from the ringing arrays; the last entry fills the hole. */
static void bench_ring_remove(struct bench_sim *s, int c)
{
    int slot = s->calls[c].slot, last = --s->n_ringing;

    if (slot != last) {
        s->ring_since[slot] = s->ring_since[last];
        s->ring_call[slot] = s->ring_call[last];
        s->calls[s->ring_call[slot]].slot = slot;
    }
    s->calls[c].slot = -1;
}

/* Appends an answered call to the waiting queue. */
static void bench_queue_push(struct bench_sim *s, int c)
{
    s->calls[c].qprev = s->q_tail;
    s->calls[c].qnext = -1;
    if (s->q_tail >= 0)
        s->calls[s->q_tail].qnext = c;
    else
        s->q_head = c;
    s->q_tail = c;
    s->n_waiting++;
}

/* Takes a call out of the waiting queue wherever it is. */
static void bench_queue_remove(struct bench_sim *s, int c)
{
    struct bench_call *k = &s->calls[c];

    if (k->qprev >= 0)
        s->calls[k->qprev].qnext = k->qnext;
    else
        s->q_head = k->qnext;
    if (k->qnext >= 0)
        s->calls[k->qnext].qprev = k->qprev;
    else
        s->q_tail = k->qprev;
    k->qprev = k->qnext = -1;
    s->n_waiting--;
}

/* Records a live answer for the abandon rates; returns its index. */
static size_t bench_answer_record(struct bench_sim *s)
{
    if (s->n_ans == s->cap_ans) {
        s->cap_ans = s->cap_ans ? s->cap_ans * 2 : 1024;
        s->ans_t = bench_grow(s->ans_t, s->cap_ans, sizeof(double));
        s->ans_ab = bench_grow(s->ans_ab, s->cap_ans, 1);
    }
    s->ans_t[s->n_ans] = s->now;
    s->ans_ab[s->n_ans] = 0;
    return s->n_ans++;
}

/* The connected call's talk and ACW come from the connect stream, by connect number. */
static void bench_connect(struct bench_sim *s, int i, int c)
{
    const struct scenario *sc = s->sc;
    struct bench_agent *a = &s->ag[i];
    struct scenario_dist talk = sc->talk_s;
    uint64_t rng = bench_stream(s->cfg->seed, (uint64_t)s->cfg->rep, BENCH_STREAM_CONNECT,
                                (uint64_t)s->n_connects++);
    double u_short, talk_s, short_s, acw;

    talk.mean *= s->calls[c].talk_scale;
    u_short = util_rand01(&rng);
    talk_s = scenario_lognormal(&talk, &rng);
    short_s = scenario_lognormal(&sc->short_reject_s, &rng);
    acw = scenario_lognormal(&sc->acw_s, &rng);

    bench_free_remove(s, i);
    s->res->wait_s += s->now - a->since;
    s->res->waits++;
    s->res->connects++;
    a->state = BENCH_AG_TALK;
    a->since = a->connect_at = s->now;
    a->talk_len = u_short < sc->short_reject_share ? short_s : talk_s;
    a->acw_len = acw;
    a->free_at = s->now + a->talk_len + a->acw_len;
    bench_busy_add(s, i);
    bench_push(s, s->now + a->talk_len, BENCH_EV_TALK_END, i, 0);
    bench_call_release(s, c);
}

/* An answered call no agent took in time. */
static void bench_abandon(struct bench_sim *s, int c)
{
    s->ans_ab[s->calls[c].answer_ix] = 1;
    s->n_abandons++;
    s->res->abandons++;
    bench_policy_abandon(&s->pol, s->now);
    bench_call_release(s, c);
}

/* Logs an agent in: free at once, and the first thing it does is take a waiting call. */
static void bench_agent_free(struct bench_sim *s, int i)
{
    struct bench_agent *a = &s->ag[i];

    a->state = BENCH_AG_FREE;
    a->since = s->now;
    bench_free_push(s, i);
    if (s->q_head >= 0) {
        int c = s->q_head;
        bench_queue_remove(s, c);
        bench_connect(s, i, c);
    }
}

/* Ends an agent's logged-in time. */
static void bench_agent_logoff(struct bench_sim *s, int i)
{
    struct bench_agent *a = &s->ag[i];

    s->res->logged_s += s->now - a->login_at;
    a->state = BENCH_AG_OFF;
    a->leaving = 0;
    s->n_logged--;
}

/* Starts an agent's logged-in time. */
static void bench_agent_login(struct bench_sim *s, int i)
{
    s->ag[i].login_at = s->now;
    s->n_logged++;
    bench_agent_free(s, i);
}

/* The call and its ACW are over: the handle is known, the agent goes free or logs off. */
static void bench_agent_done(struct bench_sim *s, int i)
{
    struct bench_agent *a = &s->ag[i];

    bench_policy_handle(&s->pol, s->now, a->talk_len, s->now - a->connect_at - a->talk_len);
    bench_busy_remove(s, i);
    if (a->leaving)
        bench_agent_logoff(s, i);
    else
        bench_agent_free(s, i);
}

/* Sets the logged-in count: agents beyond it leave (after their call), those within log in. */
static void bench_set_agents(struct bench_sim *s, int n)
{
    for (int i = 0; i < s->n_ag; i++) {
        struct bench_agent *a = &s->ag[i];
        if (i < n) {
            if (a->state == BENCH_AG_OFF) {
                bench_agent_login(s, i);
            } else if (a->leaving) {
                a->leaving = 0;
                s->busy_until[a->slot] = a->free_at;
            }
        } else if (a->state == BENCH_AG_FREE) {
            bench_free_remove(s, i);
            bench_agent_logoff(s, i);
        } else if (a->state != BENCH_AG_OFF && !a->leaving) {
            a->leaving = 1;
            s->busy_until[a->slot] = BENCH_NEVER_S;
        }
    }
}

/* How many dials max_cps still allows now (a large number without a cap). */
static int bench_cps_allowed(struct bench_sim *s)
{
    if (s->cps_k == 0)
        return 1 << 30;
    while (s->cps_n > 0 && s->cps_t[s->cps_head] <= s->now - s->cps_window) {
        s->cps_head = (s->cps_head + 1) % s->cps_k;
        s->cps_n--;
    }
    return s->cps_k - s->cps_n;
}

/* Notes a dial for max_cps (only called when bench_cps_allowed said yes). */
static void bench_cps_note(struct bench_sim *s)
{
    if (s->cps_k == 0)
        return;
    s->cps_t[(s->cps_head + s->cps_n) % s->cps_k] = s->now;
    s->cps_n++;
}

/* Places one dial; its fate comes from the dial stream, by dial number. */
static void bench_place(struct bench_sim *s)
{
    const struct scenario *sc = s->sc;
    uint64_t rng = bench_stream(s->cfg->seed, (uint64_t)s->cfg->rep, BENCH_STREAM_DIAL,
                                (uint64_t)s->n_dials++);
    double u_kind = util_rand01(&rng), u_na = util_rand01(&rng), cum = 0, delay;
    double ring = scenario_lognormal(&sc->ring_s, &rng);
    double fail = scenario_lognormal(&sc->fail_s, &rng);
    const char *status = sc->non_answer[sc->n_non_answer - 1].end_status;
    int live = 0, machine = 0, c;

    for (int i = 0; i < sc->n_non_answer; i++) {
        cum += sc->non_answer[i].share;
        if (u_na < cum) {
            status = sc->non_answer[i].end_status;
            break;
        }
    }
    if (u_kind < s->answer_prob)
        live = 1;
    else if (u_kind < s->answer_prob + sc->sim.machine_share)
        machine = 1;
    /* Whoever would pick up after the ring timeout never gets the chance. */
    if ((live || machine) && ring >= sc->ring_timeout_s) {
        live = machine = 0;
        status = "notAnswer";
    }
    if (live)
        delay = ring;
    else if (machine)
        delay = ring + BENCH_AMD_S;
    else if (strcmp(status, "notAnswer") == 0)
        delay = sc->ring_timeout_s;
    else
        delay = fail < sc->ring_timeout_s ? fail : sc->ring_timeout_s;
    if (delay < BENCH_MIN_RESOLVE_S)
        delay = BENCH_MIN_RESOLVE_S;

    c = bench_call_new(s);
    s->calls[c].state = BENCH_CALL_RINGING;
    s->calls[c].live = live;
    s->calls[c].placed_at = s->now;
    s->calls[c].talk_scale = s->talk_scale;
    bench_ring_add(s, c);
    bench_push(s, s->now + delay, BENCH_EV_RESOLVE, c, s->calls[c].gen);
    bench_cps_note(s);
    s->res->dials++;
}

/* Asks the policy and places what it wants, within max_cps and the decision gap. */
static void bench_decide(struct bench_sim *s)
{
    double gap = s->cfg->decide_gap_s;
    struct pacer_view v;
    int want, allowed;

    if (gap > 0 && s->decided && s->now - s->last_decide < gap - 1e-9) {
        if (!s->decide_pending) {
            s->decide_pending = 1;
            bench_push(s, s->last_decide + gap, BENCH_EV_DECIDE, 0, 0);
        }
        return;
    }
    memset(&v, 0, sizeof(v));
    v.now = s->now;
    v.n_free = s->n_free;
    v.n_busy = s->n_busy;
    v.busy_since = s->busy_since;
    v.n_ringing = s->n_ringing;
    v.ringing_since = s->ring_since;
    v.n_waiting = s->n_waiting;
    v.busy_until = bench_policy_clairvoyant(&s->pol) ? s->busy_until : NULL;
    v.wrapup_since = s->wrap_since;
    want = bench_policy_decide(&s->pol, &v, s->n_abandons, (long)s->n_ans);
    s->res->decisions++;
    s->last_decide = s->now;
    s->decided = 1;
    if (want <= 0)
        return;
    allowed = bench_cps_allowed(s);
    if (want > allowed) {
        s->res->cps_held += want - allowed;
        want = allowed;
        /* Tell the pacer, as the daemon does when caller lines hold calls back. */
        bench_policy_placed(&s->pol, s->now, want);
    }
    for (int k = 0; k < want; k++)
        bench_place(s);
}

/* A dial resolves: the pacer learns of it; a live answer goes to an agent, waits or is lost. */
static void bench_on_resolve(struct bench_sim *s, int c)
{
    struct bench_call *k = &s->calls[c];

    bench_ring_remove(s, c);
    bench_policy_attempt(&s->pol, s->now, s->now - k->placed_at, k->live);
    if (!k->live) {
        bench_call_release(s, c);
        return;
    }
    s->res->answers++;
    k->answer_ix = bench_answer_record(s);
    if (s->free_head >= 0) {
        bench_connect(s, s->free_head, c);
    } else if (s->sc->abandon_grace_s > 0) {
        k->state = BENCH_CALL_WAITING;
        bench_queue_push(s, c);
        bench_push(s, s->now + s->sc->abandon_grace_s, BENCH_EV_GRACE, c, k->gen);
    } else {
        bench_abandon(s, c);
    }
}

/* Applies a drift step: the parameters for new dials, and the logged-in count. */
static void bench_on_drift(struct bench_sim *s)
{
    struct scenario_params p;

    scenario_at(s->sc, s->now, &p);
    s->answer_prob = p.answer_prob;
    s->talk_scale = p.talk_scale;
    bench_set_agents(s, p.agents);
}

/* Closes the books at shift end: partial states count up to the end, nothing after it. */
static void bench_finish(struct bench_sim *s)
{
    for (int i = 0; i < s->n_ag; i++) {
        struct bench_agent *a = &s->ag[i];
        if (a->state == BENCH_AG_OFF)
            continue;
        s->res->logged_s += s->now - a->login_at;
        if (a->state == BENCH_AG_TALK)
            s->res->talk_s += s->now - a->since;
        else if (a->state == BENCH_AG_ACW)
            s->res->acw_s += s->now - a->since;
    }
    s->res->worst_hour = bench_worst_window(s->ans_t, s->ans_ab, s->n_ans, s->cfg->shift_s,
                                            BENCH_WINDOW_S, BENCH_WINDOW_STEP_S,
                                            BENCH_WINDOW_MIN_ANSWERS);
}

/* Handles one event; returns 0 at shift end. */
static int bench_step(struct bench_sim *s, const struct bench_event *e)
{
    struct bench_agent *a;

    s->now = e->t;
    switch (e->type) {
    case BENCH_EV_END:
        return 0;
    case BENCH_EV_RESOLVE:
        if (s->calls[e->id].gen != e->gen || s->calls[e->id].state != BENCH_CALL_RINGING)
            break;
        bench_on_resolve(s, e->id);
        bench_decide(s);
        break;
    case BENCH_EV_GRACE:
        if (s->calls[e->id].gen != e->gen || s->calls[e->id].state != BENCH_CALL_WAITING)
            break;
        bench_queue_remove(s, e->id);
        bench_abandon(s, e->id);
        bench_decide(s);
        break;
    case BENCH_EV_TALK_END:
        a = &s->ag[e->id];
        s->res->talk_s += s->now - a->since;
        if (a->acw_len > 0) {
            a->state = BENCH_AG_ACW;
            a->since = s->now;
            s->wrap_since[a->slot] = s->now;
            bench_push(s, s->now + a->acw_len, BENCH_EV_ACW_END, e->id, 0);
            /* An agent entering after-call work changes what the pacer expects. */
            bench_decide(s);
        } else {
            bench_agent_done(s, e->id);
            bench_decide(s);
        }
        break;
    case BENCH_EV_ACW_END:
        s->res->acw_s += s->now - s->ag[e->id].since;
        bench_agent_done(s, e->id);
        bench_decide(s);
        break;
    case BENCH_EV_DRIFT:
        bench_on_drift(s);
        bench_decide(s);
        break;
    case BENCH_EV_TICK:
        bench_decide(s);
        bench_push(s, s->now + BENCH_TICK_S, BENCH_EV_TICK, 0, 0);
        break;
    case BENCH_EV_ADAPT:
        bench_policy_adapt(&s->pol, s->n_free, s->n_waiting, s->n_logged, s->n_abandons,
                           (long)s->n_ans);
        bench_push(s, s->now + BENCH_VICIDIAL_ADAPT_S, BENCH_EV_ADAPT, 0, 0);
        break;
    case BENCH_EV_DECIDE:
        s->decide_pending = 0;
        bench_decide(s);
        break;
    default:
        break;
    }
    return 1;
}

/* Sets up the pool at shift start. */
static void bench_setup(struct bench_sim *s, const struct bench_run_cfg *cfg,
                        struct bench_result *out)
{
    const struct scenario *sc = cfg->sc;
    struct scenario_params p;

    memset(s, 0, sizeof(*s));
    memset(out, 0, sizeof(*out));
    s->cfg = cfg;
    s->sc = sc;
    s->res = out;
    s->free_head = s->free_tail = s->q_head = s->q_tail = -1;
    s->n_ag = scenario_agents_total(sc);
    s->ag = util_xcalloc((size_t)s->n_ag, sizeof(*s->ag));
    s->busy_since = util_xcalloc((size_t)s->n_ag, sizeof(double));
    s->busy_until = util_xcalloc((size_t)s->n_ag, sizeof(double));
    s->wrap_since = util_xcalloc((size_t)s->n_ag, sizeof(double));
    s->busy_agent = util_xcalloc((size_t)s->n_ag, sizeof(int));
    for (int i = 0; i < s->n_ag; i++)
        s->ag[i].prev = s->ag[i].next = s->ag[i].slot = -1;
    /* At least one cps dial per window; below 1 cps the window widens instead (see the docs). */
    if (sc->max_cps > 0) {
        s->cps_k = sc->max_cps >= 1 ? (int)floor(sc->max_cps) : 1;
        s->cps_window = sc->max_cps >= 1 ? 1.0 : 1.0 / sc->max_cps;
        s->cps_t = util_xcalloc((size_t)s->cps_k, sizeof(double));
    }
    bench_policy_init(&s->pol, cfg->policy, cfg->shift_s, s->sc->abandon_grace_s,
                      cfg->abandon_target);

    /* END first: whatever else falls exactly on shift end is not part of the shift. */
    bench_push(s, cfg->shift_s, BENCH_EV_END, 0, 0);
    for (int i = 0; i < sc->n_drift; i++)
        if (sc->drift[i].at_s > 0 && sc->drift[i].at_s < cfg->shift_s)
            bench_push(s, sc->drift[i].at_s, BENCH_EV_DRIFT, i, 0);
    bench_push(s, 0, BENCH_EV_TICK, 0, 0);
    if (cfg->policy == BENCH_VICIDIAL)
        bench_push(s, BENCH_VICIDIAL_ADAPT_S, BENCH_EV_ADAPT, 0, 0);

    scenario_at(sc, 0, &p);
    s->answer_prob = p.answer_prob;
    s->talk_scale = p.talk_scale;
    bench_set_agents(s, p.agents);
}

/* Releases everything a run allocated. */
static void bench_teardown(struct bench_sim *s)
{
    bench_policy_free(&s->pol);
    free(s->heap.ev);
    free(s->ag);
    free(s->busy_since);
    free(s->busy_until);
    free(s->wrap_since);
    free(s->busy_agent);
    free(s->calls);
    free(s->call_stack);
    free(s->ring_since);
    free(s->ring_call);
    free(s->ans_t);
    free(s->ans_ab);
    free(s->cps_t);
}

/* Runs the shift event by event until its end. */
void bench_run(const struct bench_run_cfg *cfg, struct bench_result *out)
{
    struct bench_sim s;
    struct bench_event e;

    bench_setup(&s, cfg, out);
    while (bench_pop(&s, &e) && bench_step(&s, &e))
        ;
    s.now = cfg->shift_s;
    bench_finish(&s);
    bench_teardown(&s);
}

/* Two pointers over the answers, which arrive in time order. */
double bench_worst_window(const double *t, const unsigned char *ab, size_t n, double shift_s,
                          double window_s, double step_s, long min_answers)
{
    double w = window_s < shift_s ? window_s : shift_s, last = shift_s - w, worst = -1;
    size_t lo = 0, hi = 0;
    long ab_in = 0;

    for (long k = 0;; k++) {
        double start = (double)k * step_s;
        if (start > last)
            start = last;
        while (hi < n && t[hi] < start + w)
            ab_in += ab[hi++];
        while (lo < hi && t[lo] < start)
            ab_in -= ab[lo++];
        if ((long)(hi - lo) >= min_answers && (double)ab_in / (double)(hi - lo) > worst)
            worst = (double)ab_in / (double)(hi - lo);
        if (start >= last)
            break;
    }
    return worst;
}

/* (talk + ACW) / logged-in time; 0 when nobody was logged in. */
double bench_occupancy(const struct bench_result *r)
{
    return r->logged_s > 0 ? (r->talk_s + r->acw_s) / r->logged_s : 0;
}

/* abandoned / live answers; 0 without answers. */
double bench_abandon_rate(const struct bench_result *r)
{
    return r->answers > 0 ? r->abandons / r->answers : 0;
}

/* Talk minutes per logged-in agent-hour. */
double bench_talk_min_per_agent_hour(const struct bench_result *r)
{
    return r->logged_s > 0 ? (r->talk_s / 60) / (r->logged_s / 3600) : 0;
}

/* Mean completed wait between calls; 0 when no agent ever waited and connected. */
double bench_wait_mean_s(const struct bench_result *r)
{
    return r->waits > 0 ? r->wait_s / r->waits : 0;
}

/* Dials per logged-in agent-hour. */
double bench_dials_per_agent_hour(const struct bench_result *r)
{
    return r->logged_s > 0 ? r->dials / (r->logged_s / 3600) : 0;
}
