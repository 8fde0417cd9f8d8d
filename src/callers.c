/* Callers: caller-number rotation within each line's concurrency and calls-per-second limits. */
#include "callers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Seconds added to the rate window for the dial's trip to the carrier. */
#define CALLERS_MARGIN_S 0.05

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

/* Whether a line can take one more call now. */
static int callers_has_room(struct caller_line *l, double now)
{
    if (l->state != 1 || l->in_flight >= l->max_concurrent)
        return 0;
    return callers_rate_room(l, now) > 0;
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
