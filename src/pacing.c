/* Pacing: how many calls a pool should place now. Pure C, no I/O, no clock reads (DESIGN §5.5). */
#include "pacing.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Progressive keeps callout_rate × free agents calls in flight; agentless keeps up to
 * max_in_flight. Predictive works in three layers:
 *
 *  - inner rule: for the k-th extra call placed now, the chance that it is answered at a
 *    moment when no agent is free within the grace. Supply at time t is the free agents plus,
 *    per busy agent, the chance its call (and after-call work) ends by t given how long it has
 *    lasted; demand is the waiting calls plus, per ringing call, the chance it is answered by
 *    t given how long it has rung, plus the other new calls. Supply minus demand is a sum of
 *    independent Bernoullis: exact where no shortfall (or nothing but) is possible, a normal
 *    curve corrected for skew near the middle, a saddlepoint estimate in the far tail; it is
 *    averaged over when a live answer comes (the observed ring-time distribution). Calls are
 *    placed while that chance stays under θ.
 *  - θ is steered so that the predicted abandon rate of the calls placed tracks an allowance;
 *  - the allowance comes from the budget left in the campaign's abandon window: aim a little
 *    under the target, spend banked budget slowly, tighten when over.
 * A bias factor (abandons seen / abandons predicted) corrects the model with what happened.
 * Until enough answers and handled calls are seen, predictive paces progressively.
 */

#define PACER_WARMUP_ANSWERS 30
#define PACER_WARMUP_HANDLES 10
#define PACER_GRACE_S 2.0          /* the ACD's abandon grace when none is given (DESIGN §5.3) */
#define PACER_AIM 0.85             /* aim at this share of the abandon target ... */
#define PACER_AIM_NOISE 1.0        /* ... less this over the square root of answers per hour */
#define PACER_POINTS 4             /* ring-time quantiles averaged over */
#define PACER_MAX_NEW 512          /* most calls one decision places */
#define PACER_REFRESH_S 2.0        /* decision points and the tables are this fresh */
#define PACER_WRAP_Q 4             /* after-call work quantiles averaged over */
#define PACER_SP_BELOW 1e-3        /* shortfall chances under this get the saddlepoint */
#define PACER_SP_SMAX 40.0         /* bound on the saddlepoint: e^40 stays far from overflow */
#define PACER_SP_TOL 0.25          /* its search stops at steps under this share of it */

/* Four bins per octave from 0.1 s to 0.1 × 2^17 s (3.6 h): fine for ring times, wide enough
 * for handle times, and a bin is found from the float's exponent without a logarithm. */
#define PD_BINS 68
#define PD_LO 0.1
#define PD_HI (PD_LO * 131072.0)

/* A distribution of durations that forgets with a half-life, but never below min_weight. */
struct pdist {
    double edge[PD_BINS + 1];      /* lower edge of each bin; edge[PD_BINS] = PD_HI */
    double inv_width[PD_BINS];     /* 1 / (edge[i + 1] - edge[i]) */
    double w[PD_BINS];
    double total;
    double cdf[PD_BINS + 1];
    int dirty;
    double last_t;
    double half_life;
    double min_weight;
};

/*
 * Groups of nearly equal probability share a term: one bucket per octave of x below 1/2 and
 * of 1 - x above it, read from the float's exponent (this runs for every group at every
 * decision). Merging keeps the mean and only widens the spread (a sum of Bernoullis is the
 * narrowest at equal mean when their probabilities differ), so the tail it gives errs on the
 * careful side, and it bounds the terms every step of the saddlepoint search goes through.
 * Below 2^-10 one bucket takes all: such groups add almost nothing but their mean to the
 * supply's tail, and the demand's rarely reach down there.
 */
#define PM_BUCKETS 128
#define PM_FLOOR_EXP -10           /* one bucket for everything under 2^-10 (or over 1 - 2^-10) */

/* The bucket of probability x, 0 < x < 1: under 64 for x < 1/2, from 64 up for x >= 1/2. */
static int pm_bucket(double x)
{
    double y = x < 0.5 ? x : 1 - x;
    uint64_t bits;
    int e;

    memcpy(&bits, &y, sizeof(bits));
    e = (int)((bits >> 52) & 0x7ff) - 1023;   /* y < 1/2: e <= -1 */
    if (e < PM_FLOOR_EXP)
        e = PM_FLOOR_EXP;
    return x < 0.5 ? PM_BUCKETS / 2 + e : PM_BUCKETS / 2 - 1 - e;
}

/*
 * A count that is a constant plus sums of independent Bernoulli variables, kept both as its
 * first three cumulants (for the quick normal estimate) and as the groups themselves (count,
 * probability), for the saddlepoint estimate of its far tail. Groups that are certain (x near
 * 1) go into the constant and those that are impossible are dropped.
 */
struct pmoments {
    double mean, var, k3;
    double c;                      /* the certain part */
    double span;                   /* how many of the uncertain ones there are */
    int n;
    double cnt[PM_BUCKETS], sx[PM_BUCKETS];   /* per term: count, and count × probability */
    double x[PM_BUCKETS];          /* per term: probability, once pm_finish() has run */
    short at[PM_BUCKETS];          /* term of each bucket, -1 for none yet */
};

/* Resets to the constant c. */
static void pm_init(struct pmoments *m, double c)
{
    m->mean = m->c = c;
    m->var = m->k3 = m->span = 0;
    m->n = 0;
    memset(m->at, 0xff, sizeof(m->at));
}

/* Adds n independent Bernoulli(x) variables. */
static void pm_add(struct pmoments *m, double n, double x)
{
    int b, j;

    if (!(n > 0) || !(x > 1e-12))
        return;
    m->mean += n * x;
    m->var += n * x * (1 - x);
    m->k3 += n * x * (1 - x) * (1 - 2 * x);
    if (x >= 1 - 1e-12) {
        m->c += n;
        return;
    }
    m->span += n;
    b = pm_bucket(x);
    j = m->at[b];
    if (j < 0) {
        j = m->at[b] = (short)m->n++;
        m->cnt[j] = m->sx[j] = 0;
    }
    m->cnt[j] += n;
    m->sx[j] += n * x;
}

/*
 * One Bernoulli probability with what pm_add derives from it, for groups added again and again
 * (the tables' rows): adding it costs a few additions.
 */
struct pm_term {
    double x, v, k3;               /* x, x(1 - x), x(1 - x)(1 - 2x) */
    int b;                         /* its bucket; -1 impossible, -2 certain */
};

/* Derives t from probability x. */
static void pm_term_set(struct pm_term *t, double x)
{
    t->x = x;
    t->v = x * (1 - x);
    t->k3 = t->v * (1 - 2 * x);
    t->b = !(x > 1e-12) ? -1 : x >= 1 - 1e-12 ? -2 : pm_bucket(x);
}

/* Adds n independent Bernoulli(t->x) variables: pm_add() with the work done beforehand. */
static void pm_add_term(struct pmoments *m, int n, const struct pm_term *t)
{
    int j;

    if (n <= 0 || t->b == -1)
        return;
    m->mean += n * t->x;
    m->var += n * t->v;
    m->k3 += n * t->k3;
    if (t->b == -2) {
        m->c += n;
        return;
    }
    m->span += n;
    j = m->at[t->b];
    if (j < 0) {
        j = m->at[t->b] = (short)m->n++;
        m->cnt[j] = m->sx[j] = 0;
    }
    m->cnt[j] += n;
    m->sx[j] += n * t->x;
}

/* Sets each term's probability once every group is in. */
static void pm_finish(struct pmoments *m)
{
    for (int j = 0; j < m->n; j++)
        m->x[j] = m->sx[j] / m->cnt[j];
}

/* Windowed counts of live answers and abandons (for the abandon budget). */
#define PB_SLOTS 1440
struct pbudget {
    double slot_s;
    int head;                      /* ring index of the newest slot */
    long newest;                   /* absolute slot number of the newest slot */
    float answers[PB_SLOTS], abandons[PB_SLOTS];
    double sum_answers, sum_abandons;
    int started;
};

struct pacer {
    struct pacer_params p;
    struct pdist ring_live, ring_fail, handle;
    struct pdist talk, wrap;       /* the two parts of a handle, when the caller reports them */
    double att_w, ans_w, rate_t;   /* decayed attempts and live answers (answer rate) */
    double live_w, live_t, live_t0;   /* decayed live answers without a floor (answers/s) */
    double pts_t;                  /* when t_pts and the tables were refreshed; -1 never */
    double t_pts[PACER_POINTS];    /* decision points: ring-time quantiles of live answers */
    int tab_ok;                    /* the tables below are current */
    struct pm_term talk_tab[PD_BINS][PACER_POINTS];   /* P(free in time) on the call, by bin */
    struct pm_term wrap_tab[PD_BINS][PACER_POINTS];   /* the same in after-call work */
    struct pm_term ring_tab[PD_BINS][PACER_POINTS];   /* P(answered in time), by ringing bin */
    /* Which rows have been filled since the refresh. */
    unsigned char talk_done[PD_BINS], wrap_done[PD_BINS], ring_done[PD_BINS];
    double tab_p;                  /* the answer rate the ringing rows are filled with */
    double tab_wq[PACER_WRAP_Q], tab_mean_t, tab_mean_w;    /* what the rows are filled from */
    long answers, handles, splits; /* all-time counts, for the warm-up */
    struct pbudget budget;
    double theta;                  /* marginal abandon risk allowed for one more call */
    double pred_ab, pred_live, pred_t;   /* decayed predicted abandons / live answers placed */
    double seen_ab, seen_pred, bias_t;   /* for the bias factor */
    int last_k;                    /* calls the last decision asked for */
    double last_p;                 /* answer rate it assumed */
    double last_risk[PACER_MAX_NEW];     /* each one's predicted abandon risk (bias included) */
};

/* ------------------------------------------------------------------------------------------ */
/* Distributions                                                                                */


/* Lower edge of bin i (bin 0 starts at 0), computed once per distribution. */
static double pd_edge_calc(int i)
{
    if (i <= 0)
        return 0;
    if (i >= PD_BINS)
        return PD_HI;
    return PD_LO * exp2(i / 4.0);
}

/*
 * Bin of a duration: the octave is the binary exponent of x / PD_LO and the quarter comes from
 * its mantissa bits compared with those of 2^(1/4), 2^(1/2) and 2^(3/4). Reading the IEEE 754
 * bits directly keeps this out of libm: it runs for every agent and call at every decision.
 */
static int pd_bin_in(const double *edge, double x)
{
    uint64_t u, f;
    int e, b;
    double y;

    (void)edge;
    if (!(x > PD_LO))
        return 0;
    y = x * (1.0 / PD_LO);
    if (!(y < PD_HI / PD_LO))
        return PD_BINS - 1;
    memcpy(&u, &y, sizeof(u));
    e = (int)((u >> 52) & 0x7ff) - 1023;         /* y = 1.f × 2^e, e >= 0 here */
    f = u & 0xfffffffffffffULL;
    b = 4 * e + (f >= 0x306FE0A31B715ULL) + (f >= 0x6A09E667F3BCDULL) + (f >= 0xAE89F995AD3ADULL);
    return b >= PD_BINS ? PD_BINS - 1 : b;
}

/* Sets up an empty distribution. */
static void pd_init(struct pdist *d, double half_life, double min_weight)
{
    memset(d, 0, sizeof(*d));
    for (int i = 0; i <= PD_BINS; i++)
        d->edge[i] = pd_edge_calc(i);
    for (int i = 0; i < PD_BINS; i++)
        d->inv_width[i] = 1 / (d->edge[i + 1] - d->edge[i]);
    d->half_life = half_life;
    d->min_weight = min_weight;
    d->dirty = 1;
    d->last_t = -1;
}

/*
 * The factor 2^(-dt / half_life) for the time since *last, which moves to now. 1 the first
 * time, and when the clock has not moved.
 */
static double pacer_decay_factor(double *last, double now, double half_life)
{
    double f;

    if (*last < 0 || now <= *last) {
        if (*last < 0)
            *last = now;
        return 1.0;
    }
    f = exp2(-(now - *last) / half_life);
    *last = now;
    return f;
}

/* A decay factor that would leave less than `floor` of `total` is raised to keep `floor`. */
static double pacer_decay_floor(double f, double total, double floor_w)
{
    if (total * f < floor_w)
        f = total > floor_w ? floor_w / total : 1.0;
    return f;
}

/* Forgets old weight: half-life in seconds, keeping at least min_weight. */
static void pd_decay(struct pdist *d, double now)
{
    double f = pacer_decay_factor(&d->last_t, now, d->half_life);

    f = pacer_decay_floor(f, d->total, d->min_weight);
    if (f >= 1.0)
        return;
    /* Every weight scales alike: the cumulative table stays as it is. */
    for (int i = 0; i < PD_BINS; i++)
        d->w[i] *= f;
    d->total *= f;
}

/* Adds one observation. */
static void pd_add(struct pdist *d, double now, double x)
{
    if (!(x >= 0) || !isfinite(x))
        return;
    pd_decay(d, now);
    d->w[pd_bin_in(d->edge, x)] += 1.0;
    d->total += 1.0;
    d->dirty = 1;
}

/* Rebuilds the cumulative table after changes. */
static void pd_prepare(struct pdist *d)
{
    double acc = 0, inv;

    if (!d->dirty)
        return;
    inv = d->total > 0 ? 1 / d->total : 0;
    d->cdf[0] = 0;
    for (int i = 0; i < PD_BINS; i++) {
        acc += d->w[i];
        d->cdf[i + 1] = acc * inv;
    }
    d->dirty = 0;
}

/* P(X <= x), linear within a bin. */
static double pd_cdf(const struct pdist *d, double x)
{
    int i;

    if (x <= 0 || d->total <= 0)
        return 0;
    if (x >= PD_HI)
        return 1;
    i = pd_bin_in(d->edge, x);
    return d->cdf[i] + (d->cdf[i + 1] - d->cdf[i]) * (x - d->edge[i]) * d->inv_width[i];
}

/* The q-quantile (0 < q < 1). */
static double pd_quantile(const struct pdist *d, double q)
{
    for (int i = 0; i < PD_BINS; i++) {
        if (d->cdf[i + 1] >= q && d->cdf[i + 1] > d->cdf[i]) {
            double lo = d->edge[i], hi = d->edge[i + 1];
            return lo + (hi - lo) * (q - d->cdf[i]) / (d->cdf[i + 1] - d->cdf[i]);
        }
    }
    return PD_HI;
}

/* Mean of the distribution (bin midpoints). */
static double pd_mean(const struct pdist *d)
{
    double m = 0;

    if (d->total <= 0)
        return 0;
    for (int i = 0; i < PD_BINS; i++)
        m += d->w[i] * 0.5 * (d->edge[i] + d->edge[i + 1]);
    return m / d->total;
}

/* ------------------------------------------------------------------------------------------ */
/* Abandon budget over the window                                                              */

/* Moves the ring forward to `now`, clearing slots that fall out of the window. */
static void pb_advance(struct pbudget *b, double now)
{
    long slot = (long)floor(now / b->slot_s);

    if (!b->started) {
        b->started = 1;
        b->newest = slot;
        b->head = 0;
        return;
    }
    if (slot <= b->newest)
        return;
    if (slot - b->newest >= PB_SLOTS) {
        memset(b->answers, 0, sizeof(b->answers));
        memset(b->abandons, 0, sizeof(b->abandons));
        b->sum_answers = b->sum_abandons = 0;
        b->newest = slot;
        return;
    }
    while (b->newest < slot) {
        b->newest++;
        b->head = (b->head + 1) % PB_SLOTS;
        b->sum_answers -= b->answers[b->head];
        b->sum_abandons -= b->abandons[b->head];
        b->answers[b->head] = 0;
        b->abandons[b->head] = 0;
    }
    if (b->sum_answers < 0)
        b->sum_answers = 0;
    if (b->sum_abandons < 0)
        b->sum_abandons = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* API                                                                                          */

/* Copies and sanitises the parameters: zero or nonsense means "default". */
struct pacer *pacer_new(const struct pacer_params *p)
{
    struct pacer *pc = calloc(1, sizeof(*pc));

    if (pc == NULL) {
        fputs("pacer: out of memory\n", stderr);
        abort();
    }
    pc->p = *p;
    if (!(pc->p.callout_rate >= 1.0))
        pc->p.callout_rate = 1.0;
    if (pc->p.callout_rate > 100.0)
        pc->p.callout_rate = 100.0;
    if (!(pc->p.abandon_target > 0))
        pc->p.abandon_target = 0.03;
    if (!(pc->p.abandon_window_s > 0))
        pc->p.abandon_window_s = 86400;
    if (pc->p.max_in_flight < 0)
        pc->p.max_in_flight = 0;
    if (!(pc->p.grace_s > 0) || pc->p.grace_s > 600)
        pc->p.grace_s = PACER_GRACE_S;
    /* Ring times change with the list and the hour: forget within minutes. Handle times are
     * steadier and need a long tail: forget over half an hour. */
    pd_init(&pc->ring_live, 600, 50);
    pd_init(&pc->ring_fail, 600, 100);
    pd_init(&pc->handle, 1800, 50);
    pd_init(&pc->talk, 1800, 50);
    pd_init(&pc->wrap, 1800, 50);
    pc->rate_t = pc->live_t = pc->live_t0 = pc->pts_t = -1;
    pc->budget.slot_s = pc->p.abandon_window_s / PB_SLOTS;
    pc->theta = pc->p.abandon_target;
    pc->pred_t = pc->bias_t = -1;
    return pc;
}

/* Frees a pacer. */
void pacer_free(struct pacer *pc)
{
    free(pc);
}

/*
 * Forgets attempt counts with a 5-minute half-life, so that a changing answer rate is followed
 * within minutes, keeping at least 200 attempts' worth so that it is not noise.
 */
static void pacer_decay_rate(struct pacer *pc, double now)
{
    double f = pacer_decay_floor(pacer_decay_factor(&pc->rate_t, now, 300.0), pc->att_w, 200);

    pc->att_w *= f;
    pc->ans_w *= f;
}

/* Live answers per second over the last several minutes (10-minute half-life). */
static double pacer_live_rate(struct pacer *pc, double now, int add)
{
    const double hl = 600.0;
    double span;

    pc->live_w *= pacer_decay_factor(&pc->live_t, now, hl);
    pc->live_w += add;
    if (pc->live_t0 < 0)
        pc->live_t0 = now;
    /* Until a few half-lives have passed the decayed count covers less than its full span. */
    span = (1 - exp2(-(now - pc->live_t0) / hl)) * hl / M_LN2;
    return span > 1 ? pc->live_w / span : 0;
}

/* Records a resolved dial. */
void pacer_observe_attempt(struct pacer *pc, double now, double ring_s, int live_answer)
{
    pacer_decay_rate(pc, now);
    pc->att_w += 1;
    if (live_answer) {
        pc->ans_w += 1;
        pacer_live_rate(pc, now, 1);
        pc->answers++;
        pd_add(&pc->ring_live, now, ring_s);
        pb_advance(&pc->budget, now);
        pc->budget.answers[pc->budget.head] += 1;
        pc->budget.sum_answers += 1;
    } else {
        pd_add(&pc->ring_fail, now, ring_s);
    }
}

/* Records a handled call (connect to end of after-call work). */
void pacer_observe_handle(struct pacer *pc, double now, double handle_s)
{
    if (handle_s < 0)
        return;
    pc->handles++;
    pd_add(&pc->handle, now, handle_s);
}

/* Records how a handled call split into talk and after-call work. */
void pacer_observe_wrapup(struct pacer *pc, double now, double talk_s, double wrapup_s)
{
    if (!(talk_s >= 0) || !(wrapup_s >= 0))
        return;
    pc->splits++;
    pd_add(&pc->talk, now, talk_s);
    pd_add(&pc->wrap, now, wrapup_s);
}

/* Decays the bias counters (abandons seen vs predicted) with a one-hour half-life. */
static void pacer_decay_bias(struct pacer *pc, double now)
{
    double f = pacer_decay_factor(&pc->bias_t, now, 3600.0);

    pc->seen_ab *= f;
    pc->seen_pred *= f;
}

/* Records an abandon. */
void pacer_observe_abandon(struct pacer *pc, double now)
{
    pb_advance(&pc->budget, now);
    pc->budget.abandons[pc->budget.head] += 1;
    pc->budget.sum_abandons += 1;
    pacer_decay_bias(pc, now);
    pc->seen_ab += 1;
}

/* Takes back the predictions for calls the last decision asked for but that were not placed. */
void pacer_placed(struct pacer *pc, double now, int placed)
{
    double risk = 0, bias;

    (void)now;
    if (placed < 0)
        placed = 0;
    if (placed >= pc->last_k)
        return;
    bias = (pc->seen_ab + 1.0) / (pc->seen_pred + 1.0);
    bias = bias < 0.5 ? 0.5 : bias > 3.0 ? 3.0 : bias;
    for (int i = placed; i < pc->last_k; i++)
        risk += pc->last_risk[i];
    pc->pred_ab -= pc->last_p * risk;
    pc->pred_live -= pc->last_p * (pc->last_k - placed);
    pc->seen_pred -= pc->last_p * risk / bias;
    if (pc->pred_ab < 0)
        pc->pred_ab = 0;
    if (pc->pred_live < 0)
        pc->pred_live = 0;
    if (pc->seen_pred < 0)
        pc->seen_pred = 0;
    pc->last_k = placed;
}

/* Seeds the abandon window with counts from before this pacer existed. */
void pacer_seed(struct pacer *pc, double now, double live_answers, double abandons)
{
    if (!(live_answers >= 0) || !(abandons >= 0))
        return;
    pb_advance(&pc->budget, now);
    pc->budget.answers[pc->budget.head] += (float)live_answers;
    pc->budget.abandons[pc->budget.head] += (float)abandons;
    pc->budget.sum_answers += live_answers;
    pc->budget.sum_abandons += abandons;
}

/* Applies the trunk cap to a wanted number of new calls. */
static int pacer_cap(const struct pacer *pc, const struct pacer_view *v, int want)
{
    int in_flight = v->n_ringing + v->n_waiting;

    if (pc->p.max_in_flight > 0 && in_flight + want > pc->p.max_in_flight)
        want = pc->p.max_in_flight - in_flight;
    return want > 0 ? want : 0;
}

/* Progressive: callout_rate × free agents in flight, answered-waiting calls included. */
static int pacer_progressive(const struct pacer *pc, const struct pacer_view *v)
{
    /* The small epsilon keeps 1.0 × 3 from flooring to 2 through rounding error. */
    int target = (int)floor(pc->p.callout_rate * v->n_free + 1e-9);

    return pacer_cap(pc, v, target - v->n_ringing - v->n_waiting);
}

/* Standard normal upper tail: P(Z > z). */
static double pacer_tail(double z)
{
    return 0.5 * erfc(z / M_SQRT2);
}

/*
 * One side's share of K'(s) and K''(s) (and of K(s) and K'''(s) when k0 and k3 are given) for
 * the cumulant generating function K of D = supply - demand - new calls; sign is +1 for supply,
 * -1 for the others. Every term of a side tilts by the same e^(sign s), so a step costs one
 * division per term and no exponential.
 */
static void pacer_cgf_side(const struct pmoments *m, double sign, double e, double *k0,
                           double *k1, double *k2, double *k3)
{
    for (int j = 0; j < m->n; j++) {
        double x = m->x[j], den = 1 - x + x * e, pi = x * e / den, v = pi * (1 - pi);
        if (k0) {
            *k0 += m->cnt[j] * log(den);
            *k3 += sign * m->cnt[j] * v * (1 - 2 * pi);
        }
        *k1 += sign * m->cnt[j] * pi;
        *k2 += m->cnt[j] * v;
    }
}

/* K'(s), K''(s) and, when k0 and k3 are given (both or neither), K(s) and K'''(s) of D. */
static void pacer_cgf(const struct pmoments *sup, const struct pmoments *dem, int k, double q,
                      double s, double *k0, double *k1, double *k2, double *k3)
{
    double c = sup->c - dem->c, ep = exp(s), em = 1 / ep;

    if (k0) {
        *k0 = c * s;
        *k3 = 0;
    }
    *k1 = c;
    *k2 = 0;
    pacer_cgf_side(sup, 1, ep, k0, k1, k2, k3);
    pacer_cgf_side(dem, -1, em, k0, k1, k2, k3);
    if (k > 0 && q > 1e-12) {
        double den = 1 - q + q * em, pi = q * em / den, v = pi * (1 - pi);
        if (k0) {
            *k0 += k * log(den);
            *k3 -= k * v * (1 - 2 * pi);
        }
        *k1 -= k * pi;
        *k2 += k * v;
    }
}

/*
 * P(D < 1) by the saddlepoint approximation for lattice variables (Lugannani-Rice with Daniels'
 * continuity correction): accurate to a few per cent where a normal curve, even corrected for
 * skew, is off by orders of magnitude. Returns -1 where it does not apply (D's mean too near
 * the boundary); the caller then keeps its normal estimate.
 */
static double pacer_shortfall_sp(const struct pmoments *sup, const struct pmoments *dem, int k,
                                 double q, double mu, double var, double *hint)
{
    double s, lo, hi, k0, k1, k2, k3, d, g, w, u, r;

    if (fabs(mu - 0.5) < 1e-6 * (1 + mu))
        return -1;
    /* K'(s) = 0.5 by Newton, kept inside a bracket that tightens as it goes: K' rises with
     * s and the root lies on the side of 0 away from the mean. It starts from the root found
     * for a neighbouring count of new calls when there is one, else from the normal curve's.
     * Steps are bounded so that the first ones, from far off, cannot overshoot into overflow.
     * The search stops once a step moves s by under PACER_SP_TOL of itself: the rest of the
     * way is one more step, taken on Taylor terms below. */
    lo = mu > 0.5 ? -PACER_SP_SMAX : 0;
    hi = mu > 0.5 ? 0 : PACER_SP_SMAX;
    s = *hint;
    if (!(s > lo && s < hi))
        s = (0.5 - mu) / (var > 0.04 ? var : 0.04);
    if (!(s > lo && s < hi))
        s = 0.5 * (lo + hi);
    for (int i = 0; i < 60; i++) {
        pacer_cgf(sup, dem, k, q, s, NULL, &k1, &k2, NULL);
        if (k1 < 0.5)
            lo = s;
        else
            hi = s;
        d = k2 > 1e-300 ? (0.5 - k1) / k2 : 0;
        if (d > 2)
            d = 2;
        if (d < -2)
            d = -2;
        if (!(s + d > lo && s + d < hi))
            d = 0.5 * (lo + hi) - s;
        s += d;
        if (fabs(d) < PACER_SP_TOL * fabs(s) || hi - lo < 1e-9)
            break;
    }
    pacer_cgf(sup, dem, k, q, s, &k0, &k1, &k2, &k3);
    /* The root is one short Newton step d away: K and K'' there come from the Taylor terms
     * at s, which leaves an error of the order of K'''' d^4 / 24 in the exponent. */
    d = k2 > 1e-300 ? (0.5 - k1) / k2 : 0;
    g = 0.5 * s - k0 + 0.5 * k2 * d * d - k3 * d * d * d / 6;
    k2 += k3 * d;
    s += d;
    *hint = s;
    w = 2 * g;
    if (!(w > 0) || !(k2 > 0) || fabs(s) < 1e-4)
        return -1;
    w = s < 0 ? -sqrt(w) : sqrt(w);
    u = 2 * sinh(0.5 * s) * sqrt(k2);
    r = 0.5 * erfc(-w / M_SQRT2) + exp(-0.5 * w * w) / sqrt(2 * M_PI) * (1 / w - 1 / u);
    if (!isfinite(r))
        return -1;
    return r < 0 ? 0 : r > 1 ? 1 : r;
}

/*
 * P(supply - demand - k new answers < 1): no agent left for the k-th new call. Near the middle
 * a normal curve with a one-term Edgeworth correction for skew is good and cheap; in the tail,
 * where decisions at small abandon targets are made, answers from many calls each unlikely to
 * be answered pile up far beyond what that curve says, so the saddlepoint estimate takes over.
 */
static double pacer_shortfall(const struct pmoments *sup, const struct pmoments *dem, int k,
                              double q, double *hint)
{
    double mu = sup->mean - dem->mean - k * q;
    double var = sup->var + dem->var + k * q * (1 - q);
    double k3 = sup->k3 - dem->k3 - k * q * (1 - q) * (1 - 2 * q);
    double sd, z, g, r, sp;

    /* Counts are whole numbers: when no outcome can fall below 1, or none reach it, the chance
     * is exact. Free agents beyond the calls that could take them are never a risk. */
    if (sup->c - dem->c - dem->span - (q > 1e-12 ? k : 0) > 0.5 + 1e-9)
        return 0;
    if (sup->c + sup->span - dem->c < 0.5 - 1e-9)
        return 1;
    if (var < 0.04)
        var = 0.04;
    sd = sqrt(var);
    z = (0.5 - mu) / sd;
    /* Below z = -4 the corrected curve is under 3.2e-5 + 15/6 x 1.34e-4 < 1e-3 whatever the
     * skew: straight to the saddlepoint. */
    if (z < -4) {
        sp = pacer_shortfall_sp(sup, dem, k, q, mu, var, hint);
        if (sp >= 0)
            return sp;
    }
    g = k3 / (var * sd);
    if (g > 1)
        g = 1;
    if (g < -1)
        g = -1;
    r = pacer_tail(-z) - g / 6 * (z * z - 1) * exp(-0.5 * z * z) / sqrt(2 * M_PI);
    r = r < 0 ? 0 : r > 1 ? 1 : r;
    if (r >= PACER_SP_BELOW)
        return r;
    sp = pacer_shortfall_sp(sup, dem, k, q, mu, var, hint);
    return sp >= 0 ? sp : r;
}

/* P(a busy agent that has handled for e seconds is free within t more). */
static double pacer_free_by(const struct pacer *pc, double e, double t, double mean_h)
{
    double f0 = pd_cdf(&pc->handle, e), surv = 1 - f0;

    if (surv < 1e-3)
        /* Longer than anything seen lately: assume a memoryless rest of the call. */
        return 1 - exp(-t / (mean_h > 1 ? mean_h : 1));
    return (pd_cdf(&pc->handle, e + t) - f0) / surv;
}

/* P(an agent in after-call work for w seconds is free within t more). */
static double pacer_wrap_free_by(const struct pacer *pc, double w, double t, double mean_w)
{
    double f0 = pd_cdf(&pc->wrap, w), surv = 1 - f0;

    if (surv < 1e-3)
        return 1 - exp(-t / (mean_w > 0.1 ? mean_w : 0.1));
    return (pd_cdf(&pc->wrap, w + t) - f0) / surv;
}

/*
 * P(an agent on a call for e seconds is free within t more): the call must end and its
 * after-call work follow, averaged over after-call work quantiles wq[0..nq).
 */
static double pacer_talk_free_by(const struct pacer *pc, double e, double t, const double *wq,
                                 int nq, double mean_t)
{
    double f0 = pd_cdf(&pc->talk, e), surv = 1 - f0, acc = 0;

    for (int i = 0; i < nq; i++) {
        double left = t - wq[i];
        if (left <= 0)
            continue;
        if (surv < 1e-3)
            acc += 1 - exp(-left / (mean_t > 1 ? mean_t : 1));
        else
            acc += (pd_cdf(&pc->talk, e + left) - f0) / surv;
    }
    return acc / nq;
}

/*
 * P(a call that has rung r seconds without resolving is answered live within t[i] more), for
 * each of the decision points.
 */
static void pacer_answer_by(const struct pacer *pc, double p, double r, const double *t,
                            double *out)
{
    double fl = pd_cdf(&pc->ring_live, r), ff = pd_cdf(&pc->ring_fail, r);
    double alive = p * (1 - fl) + (1 - p) * (1 - ff);

    for (int i = 0; i < PACER_POINTS; i++)
        out[i] = alive < 1e-6 ? 0 : p * (pd_cdf(&pc->ring_live, r + t[i]) - fl) / alive;
}

/* Counts elapsed times (now - since[j]) per distribution bin, with their sum per bin. */
static void pacer_group(const double *edge, const double *since, int n, double now, int *cnt,
                        double *sum)
{
    memset(cnt, 0, sizeof(int) * PD_BINS);
    memset(sum, 0, sizeof(double) * PD_BINS);
    for (int j = 0; j < n; j++) {
        double e = now - since[j];
        int b;
        if (e < 0)
            e = 0;
        b = pd_bin_in(edge, e);
        cnt[b]++;
        sum[b] += e;
    }
}

/*
 * Refreshes the decision points (ring-time quantiles of live answers) and what the tables are
 * filled from (answer rate p for the ringing calls' table; in split mode, the handle-time parts
 * for the busy agents' tables), and empties the tables: a bin's rows are refilled when an agent
 * or a call is first seen in it. The distributions move little from one decision to the next
 * (forgetting scales every weight alike and leaves them as they are), so a refresh every
 * PACER_REFRESH_S keeps decisions cheap for pools of hundreds of agents.
 */
static void pacer_refresh(struct pacer *pc, double now, int split, double p)
{
    if (pc->pts_t >= 0 && now >= pc->pts_t && now - pc->pts_t < PACER_REFRESH_S &&
        (!split || pc->tab_ok))
        return;
    pc->pts_t = now;
    for (int i = 0; i < PACER_POINTS; i++)
        pc->t_pts[i] = pd_quantile(&pc->ring_live, (i + 0.5) / PACER_POINTS);
    pc->tab_p = p;
    memset(pc->ring_done, 0, sizeof(pc->ring_done));
    pc->tab_ok = 0;
    if (!split)
        return;
    pd_decay(&pc->talk, now);
    pd_decay(&pc->wrap, now);
    pd_prepare(&pc->talk);
    pd_prepare(&pc->wrap);
    pc->tab_mean_t = pd_mean(&pc->talk);
    pc->tab_mean_w = pd_mean(&pc->wrap);
    for (int q = 0; q < PACER_WRAP_Q; q++)
        pc->tab_wq[q] = pd_quantile(&pc->wrap, (q + 0.5) / PACER_WRAP_Q);
    /* Rows are filled when an agent is first seen in their bin: most bins hold nobody. */
    memset(pc->talk_done, 0, sizeof(pc->talk_done));
    memset(pc->wrap_done, 0, sizeof(pc->wrap_done));
    pc->tab_ok = 1;
}

/* The geometric middle of bin b (half the first bin's width for bin 0): what stands for every
 * agent or call in the bin in the tables. */
static double pd_mid(const struct pdist *d, int b)
{
    return b == 0 ? PD_LO / 2 : d->edge[b] * 1.0905077326652577;   /* 2^(1/8) */
}

/* Fills bin b's rows of the supply tables (talking if `wrapping` is 0, else after-call work). */
static void pacer_tab_fill(struct pacer *pc, int b, int wrapping)
{
    double e = pd_mid(&pc->talk, b);

    for (int i = 0; i < PACER_POINTS; i++) {
        double t = pc->t_pts[i] + pc->p.grace_s;
        if (wrapping)
            pm_term_set(&pc->wrap_tab[b][i], pacer_wrap_free_by(pc, e, t, pc->tab_mean_w));
        else
            pm_term_set(&pc->talk_tab[b][i], pacer_talk_free_by(pc, e, t, pc->tab_wq,
                                                                 PACER_WRAP_Q, pc->tab_mean_t));
    }
    if (wrapping)
        pc->wrap_done[b] = 1;
    else
        pc->talk_done[b] = 1;
}

/* Fills ringing bin b's row: P(a call ringing that long is answered live by each point). */
static void pacer_ring_fill(struct pacer *pc, int b)
{
    double a[PACER_POINTS];

    pacer_answer_by(pc, pc->tab_p, pd_mid(&pc->ring_live, b), pc->t_pts, a);
    for (int i = 0; i < PACER_POINTS; i++)
        pm_term_set(&pc->ring_tab[b][i], a[i]);
    pc->ring_done[b] = 1;
}

/* Adds the calls ringing, each a Bernoulli answer by each point, to the demand. */
static void pacer_demand(struct pacer *pc, const struct pacer_view *v, struct pmoments *dem)
{
    int cnt[PD_BINS];
    double sum[PD_BINS];

    pacer_group(pc->ring_live.edge, v->ringing_since, v->n_ringing, v->now, cnt, sum);
    for (int b = 0; b < PD_BINS; b++) {
        if (cnt[b] == 0)
            continue;
        if (!pc->ring_done[b])
            pacer_ring_fill(pc, b);
        for (int i = 0; i < PACER_POINTS; i++)
            pm_add_term(&dem[i], cnt[b], &pc->ring_tab[b][i]);
    }
}

/*
 * Adds the busy agents' expected supply (and its variance) at each point when the caller says
 * which agents are still on the call and which are in after-call work: those in after-call
 * work are nearly certain to be back soon, those on the call nearly certain not to be.
 */
static void pacer_supply_split(struct pacer *pc, const struct pacer_view *v,
                               struct pmoments *sup)
{
    int cnt_t[PD_BINS], cnt_w[PD_BINS];

    memset(cnt_t, 0, sizeof(cnt_t));
    memset(cnt_w, 0, sizeof(cnt_w));
    for (int j = 0; j < v->n_busy; j++) {
        int wrapping = v->wrapup_since[j] >= 0;
        double e = v->now - (wrapping ? v->wrapup_since[j] : v->busy_since[j]);
        int b = pd_bin_in(pc->talk.edge, e > 0 ? e : 0);
        if (wrapping)
            cnt_w[b]++;
        else
            cnt_t[b]++;
    }
    for (int b = 0; b < PD_BINS; b++) {
        if (cnt_t[b] == 0 && cnt_w[b] == 0)
            continue;
        if (cnt_t[b] > 0 && !pc->talk_done[b])
            pacer_tab_fill(pc, b, 0);
        if (cnt_w[b] > 0 && !pc->wrap_done[b])
            pacer_tab_fill(pc, b, 1);
        for (int i = 0; i < PACER_POINTS; i++) {
            pm_add_term(&sup[i], cnt_t[b], &pc->talk_tab[b][i]);
            pm_add_term(&sup[i], cnt_w[b], &pc->wrap_tab[b][i]);
        }
    }
}

/*
 * The abandon risk of the k-th extra call (k from 0), bias included. Past `stop` the exact
 * figure does not matter (the caller only learns that the call is too risky), so the sum
 * stops as soon as it passes: it only grows.
 */
static double pacer_risk(const struct pmoments *sup, const struct pmoments *dem,
                         const double *q_new, double bias, int k, double *hint, double stop)
{
    double risk = 0, later = 0, scale = bias / PACER_POINTS;

    /* A new call answered at one point also holds its agent at every later point, where
     * calls answered after it need one: it costs the worst shortfall from there on. */
    for (int i = PACER_POINTS - 1; i >= 0; i--) {
        double r = pacer_shortfall(&sup[i], &dem[i], k, q_new[i], &hint[i]);
        if (r > later)
            later = r;
        risk += later;
        if (risk * scale > stop)
            break;
    }
    return risk * scale;
}

/*
 * How many calls to place: the first k whose risk passes θ, at most cap. Risk grows with k, so
 * the boundary is found by doubling then halving, and the risks in between (for the bias and
 * take-back bookkeeping in last_risk) are interpolated: a pool that may place hundreds of
 * calls costs a dozen evaluations, not hundreds.
 */
static int pacer_count(struct pacer *pc, const struct pmoments *sup, const struct pmoments *dem,
                       const double *q_new, double bias, int cap)
{
    int at[48], n = 0, lo, hi, j;
    double rk[48], hint[PACER_POINTS] = { 0 };   /* each point's last saddlepoint; 0: none */

    rk[n] = pacer_risk(sup, dem, q_new, bias, 0, hint, pc->theta);
    at[n++] = 0;
    if (rk[0] > pc->theta)
        return 0;
    lo = 0;
    for (j = 1; j < cap; j *= 2) {
        rk[n] = pacer_risk(sup, dem, q_new, bias, j, hint, pc->theta);
        at[n++] = j;
        if (rk[n - 1] > pc->theta)
            break;
        lo = j;
    }
    hi = j < cap ? j : cap;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        rk[n] = pacer_risk(sup, dem, q_new, bias, mid, hint, pc->theta);
        at[n++] = mid;
        if (rk[n - 1] > pc->theta)
            hi = mid;
        else
            lo = mid;
    }
    /* Risks of the calls placed (0..lo): exact where evaluated, else between the nearest
     * evaluated neighbours. */
    for (int i = 0; i <= lo; i++) {
        int a = -1, b = -1;
        for (int e = 0; e < n; e++) {
            if (at[e] <= i && (a < 0 || at[e] > at[a]))
                a = e;
            if (at[e] >= i && (b < 0 || at[e] < at[b]))
                b = e;
        }
        if (b < 0 || at[b] == at[a])
            pc->last_risk[i] = rk[a];
        else
            pc->last_risk[i] = rk[a] + (rk[b] - rk[a]) * (i - at[a]) / (at[b] - at[a]);
    }
    return lo + 1;
}

/* The allowance: the abandon rate new calls may run at, from the budget left in the window. */
static double pacer_allowance(struct pacer *pc, double now, double p_live_per_s)
{
    double aim, L, B, horizon, future, allow, per_hour = p_live_per_s * 3600;

    /* Abandons come at random, and the fewer answers an hour brings the larger their noise
     * relative to the budget: a small team aims lower so that an unlucky day still ends
     * under the target (about 0.1 lower at 100 answers an hour, nothing noticeable at 10,000). */
    aim = (PACER_AIM - PACER_AIM_NOISE / sqrt(per_hour > 1 ? per_hour : 1)) *
          pc->p.abandon_target;
    if (aim < 0.5 * pc->p.abandon_target)
        aim = 0.5 * pc->p.abandon_target;
    pb_advance(&pc->budget, now);
    L = pc->budget.sum_answers;
    B = pc->budget.sum_abandons;
    /* Spread what is banked (or owed) over the next hour's answers, or the window if shorter. */
    horizon = pc->p.abandon_window_s < 3600 ? pc->p.abandon_window_s : 3600;
    future = p_live_per_s * horizon;
    if (future < 20)
        future = 20;
    allow = (aim * (L + future) - B) / future;
    if (allow > 1.3 * aim)
        allow = 1.3 * aim;
    if (allow < 0.2 * aim)
        allow = 0.2 * aim;
    return allow;
}

/* Predictive decision (DESIGN §6). */
static int pacer_predictive(struct pacer *pc, const struct pacer_view *v)
{
    double now = v->now, p, t_pts[PACER_POINTS], q_new[PACER_POINTS], mean_h, allow, bias;
    struct pmoments sup[PACER_POINTS], dem[PACER_POINTS];
    double dt, risk_sum = 0, sum[PD_BINS];
    int cnt[PD_BINS];
    int logged = v->n_free + v->n_busy, in_flight = v->n_ringing + v->n_waiting, cap, k, split;

    pacer_decay_rate(pc, now);
    if (pc->answers < PACER_WARMUP_ANSWERS || pc->handles < PACER_WARMUP_HANDLES ||
        pc->att_w <= 0 || logged == 0)
        /* Warm-up: one call per free agent, whatever callout_rate (here only a cap) says. */
        return pacer_cap(pc, v, v->n_free - v->n_ringing - v->n_waiting);
    cap = (int)floor(pc->p.callout_rate * logged + 1e-9) - in_flight;
    cap = pacer_cap(pc, v, cap);
    if (cap > PACER_MAX_NEW)
        cap = PACER_MAX_NEW;
    if (cap <= 0)
        return 0;
    p = pc->ans_w / pc->att_w;
    if (p <= 0)
        return pacer_progressive(pc, v);
    pd_decay(&pc->ring_live, now);
    pd_decay(&pc->ring_fail, now);
    pd_decay(&pc->handle, now);
    pd_prepare(&pc->ring_live);
    pd_prepare(&pc->ring_fail);
    pd_prepare(&pc->handle);
    mean_h = pd_mean(&pc->handle);

    /* When a new call's live answer would come: quantiles of the ring time of live answers. */
    split = v->wrapup_since && pc->splits >= PACER_WARMUP_HANDLES;
    pacer_refresh(pc, now, split, p);
    for (int i = 0; i < PACER_POINTS; i++) {
        double t = pc->t_pts[i];
        t_pts[i] = t;
        pm_init(&sup[i], v->n_free);
        pm_init(&dem[i], v->n_waiting);
        q_new[i] = p * pd_cdf(&pc->ring_live, t);
    }
    /* Agents and calls are grouped by how long they have lasted (the distribution's bins):
     * one evaluation per group keeps a decision cheap for pools of hundreds of agents. */
    if (v->busy_until) {
        /* The points rise, so an agent free by one point is free by every later one: count
         * each agent at its first point and add up. */
        int first[PACER_POINTS + 1] = { 0 };
        for (int j = 0; j < v->n_busy; j++) {
            double need = v->busy_until[j] - now - pc->p.grace_s;
            int i = 0;
            if (need > t_pts[PACER_POINTS - 1])
                continue;
            while (i < PACER_POINTS && t_pts[i] < need)
                i++;
            first[i]++;
        }
        for (int i = 0, acc = 0; i < PACER_POINTS; i++) {
            acc += first[i];
            sup[i].mean += acc;
            sup[i].c += acc;
        }
    } else if (split) {
        pacer_supply_split(pc, v, sup);
    } else {
        pacer_group(pc->handle.edge, v->busy_since, v->n_busy, now, cnt, sum);
        for (int b = 0; b < PD_BINS; b++) {
            if (cnt[b] == 0)
                continue;
            for (int i = 0; i < PACER_POINTS; i++) {
                double x = pacer_free_by(pc, sum[b] / cnt[b], t_pts[i] + pc->p.grace_s, mean_h);
                pm_add(&sup[i], cnt[b], x);
            }
        }
    }
    pacer_demand(pc, v, dem);

    for (int i = 0; i < PACER_POINTS; i++) {
        pm_finish(&sup[i]);
        pm_finish(&dem[i]);
    }

    /* Middle and outer loops: θ follows the allowance through the predicted rate. */
    pacer_decay_bias(pc, now);
    bias = (pc->seen_ab + 1.0) / (pc->seen_pred + 1.0);
    if (bias < 0.5)
        bias = 0.5;
    if (bias > 3.0)
        bias = 3.0;
    allow = pacer_allowance(pc, now, pacer_live_rate(pc, now, 0));
    if (pc->pred_t >= 0 && now > pc->pred_t && pc->pred_live > 1) {
        double f = exp2(-(now - pc->pred_t) / 600.0), rate;
        pc->pred_ab *= f;
        pc->pred_live *= f;
        rate = pc->pred_ab / pc->pred_live;
        dt = now - pc->pred_t;
        /* Integral step on log θ, one time constant a minute. */
        pc->theta *= exp((allow - rate) / allow * (dt / 60.0));
    }
    pc->pred_t = now;
    /* The floor scales with the target so that a tiny target can still be held. */
    if (pc->theta < 0.05 * pc->p.abandon_target)
        pc->theta = 0.05 * pc->p.abandon_target;
    if (pc->theta > 0.5)
        pc->theta = 0.5;

    k = pacer_count(pc, sup, dem, q_new, bias, cap);
    for (int i = 0; i < k; i++)
        risk_sum += pc->last_risk[i];
    pc->last_k = k;
    pc->last_p = p;
    /* What was placed, as the model sees it, for the middle loop and the bias factor. */
    pc->pred_ab += p * risk_sum;
    pc->pred_live += p * k;
    pc->seen_pred += p * risk_sum / bias;
    return k;
}

/* Decides how many calls to place now. */
int pacer_decide(struct pacer *pc, const struct pacer_view *v)
{
    pc->last_k = 0;
    switch (pc->p.mode) {
    case PACER_AGENTLESS:
        /* No agents to protect: fill the trunk up to its cap (a cap is required). */
        return pacer_cap(pc, v, pc->p.max_in_flight > 0
                         ? pc->p.max_in_flight - v->n_ringing - v->n_waiting : 0);
    case PACER_PREDICTIVE:
        return pacer_predictive(pc, v);
    case PACER_PROGRESSIVE:
    default:
        return pacer_progressive(pc, v);
    }
}
