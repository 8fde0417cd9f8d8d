/* Callers: caller-number rotation within each line's concurrency and calls-per-second limits. */
#include "callers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Seconds added to the rate window for the dial's trip to the carrier. */
#define CALLERS_MARGIN_S 0.05
/* Dials are spread over windows this long (seconds), in bursts of at most CALLERS_SPREAD_MIN or
 * the window's share of max_cps, whichever is more. */
#define CALLERS_SPREAD_S 0.02
#define CALLERS_SPREAD_MIN 4

/* Defaults for a number without a dialer.caller_numbers row. */
void callers_line_init(struct caller_line *l, const char *number)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->number, sizeof(l->number), "%s", number);
    l->state = 1;
    l->max_concurrent = 10;
    l->max_cps = 5;
}

/* Dials allowed per window, and the window in seconds. */
static int callers_rate(const struct caller_line *l, double *window_s)
{
    double cps = l->max_cps > CALLERS_MAX_CPS ? CALLERS_MAX_CPS : l->max_cps;

    if (!(cps > 0)) {
        *window_s = 1.0 + CALLERS_MARGIN_S;
        return 0;
    }
    if (cps < 1) {
        *window_s = 1.0 / cps + CALLERS_MARGIN_S;
        return 1;
    }
    *window_s = 1.0 + CALLERS_MARGIN_S;
    return (int)floor(cps + 1e-9);
}

/* Most dials a line sends within any CALLERS_SPREAD_S: at least CALLERS_SPREAD_MIN. */
static int callers_spread_limit(const struct caller_line *l)
{
    double cps = l->max_cps > CALLERS_MAX_CPS ? CALLERS_MAX_CPS : l->max_cps;
    int k = (int)ceil(cps * CALLERS_SPREAD_S - 1e-9);

    return k > CALLERS_SPREAD_MIN ? k : CALLERS_SPREAD_MIN;
}

/*
 * Of `room` dials the one-second window allows, those the spreading window allows too. Without
 * it a line's whole second leaves in one burst whenever the window slides, which the carrier
 * sees as a flood and which delays every other request behind it by as long.
 */
static int callers_spread_room(const struct caller_line *l, double now, int room)
{
    int k = callers_spread_limit(l), in_w = 0;

    for (int i = l->count - 1; i >= 0 && in_w < k; i--) {
        if (l->recent[(l->head + i) % CALLERS_MAX_CPS] <= now - CALLERS_SPREAD_S)
            break;
        in_w++;
    }
    return room < k - in_w ? room : k - in_w;
}

/* Dials the rate window still allows at `now`. */
static int callers_rate_room(struct caller_line *l, double now)
{
    double window;
    int limit = callers_rate(l, &window);

    /* Forget dials that have left the window. */
    while (l->count > 0 && l->recent[l->head] <= now - window) {
        l->head = (l->head + 1) % CALLERS_MAX_CPS;
        l->count--;
    }
    return limit > l->count ? limit - l->count : 0;
}

/* Whether a line can take one more call now (both rate windows). */
static int callers_has_room(struct caller_line *l, double now)
{
    if (l->state != 1 || l->in_flight >= l->max_concurrent)
        return 0;
    return callers_spread_room(l, now, callers_rate_room(l, now)) > 0;
}

/* Rotation over the campaign's lines. */
int callers_pick(struct caller_line *const *lines, int n, int want, double now,
                 unsigned *cursor, int *out)
{
    int got = 0;

    while (got < want && n > 0) {
        int progressed = 0;
        unsigned start = *cursor;
        for (int k = 0; k < n && got < want; k++) {
            int i = (int)((start + 1u + (unsigned)k) % (unsigned)n);
            struct caller_line *l = lines[i];
            if (!callers_has_room(l, now))
                continue;
            l->recent[(l->head + l->count) % CALLERS_MAX_CPS] = now;
            l->count++;
            l->in_flight++;
            out[got++] = i;
            *cursor = (unsigned)i;
            progressed = 1;
        }
        if (!progressed)
            break;
    }
    return got;
}

/* Returns a slot (and, for a dial that never left, forgets its newest dial). */
void callers_release(struct caller_line *l, int refund)
{
    if (l->in_flight > 0)
        l->in_flight--;
    if (refund && l->count > 0)
        l->count--;
}

/* Sum over usable lines of min(free slots, dials the rate window allows). */
int callers_room(struct caller_line *const *lines, int n, double now)
{
    int room = 0;

    for (int i = 0; i < n; i++) {
        struct caller_line *l = lines[i];
        int slots, rate;
        if (l->state != 1 || l->in_flight >= l->max_concurrent)
            continue;
        slots = l->max_concurrent - l->in_flight;
        rate = callers_rate_room(l, now);
        room += slots < rate ? slots : rate;
    }
    return room;
}

/* The soonest time after `now` a line that could take a call gains rate room (0: never). */
double callers_next_room(struct caller_line *const *lines, int n, double now)
{
    double best = 0;

    for (int i = 0; i < n; i++) {
        struct caller_line *l = lines[i];
        double window, at = now;
        int limit, k;

        if (l->state != 1 || l->in_flight >= l->max_concurrent)
            continue;
        limit = callers_rate(l, &window);
        if (limit == 0)
            continue;
        callers_rate_room(l, now);      /* drops the dials that have left the window */
        /* The one-second window: the oldest of the last `limit` dials must leave it. */
        if (l->count >= limit) {
            double t = l->recent[(l->head + l->count - limit) % CALLERS_MAX_CPS] + window;
            at = t > at ? t : at;
        }
        /* The spreading window: likewise for the last k. */
        k = callers_spread_limit(l);
        if (l->count >= k) {
            double t = l->recent[(l->head + l->count - k) % CALLERS_MAX_CPS] + CALLERS_SPREAD_S;
            at = t > at ? t : at;
        }
        if (best == 0 || at < best)
            best = at;
    }
    return best;
}
