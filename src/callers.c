/* Callers: caller-number rotation within each line's concurrency and calls-per-second limits. */
#include "callers.h"

#include <stdio.h>
#include <string.h>

/* Defaults for a number without a dialer.caller_numbers row. */
void callers_line_init(struct caller_line *l, const char *number)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->number, sizeof(l->number), "%s", number);
    l->state = 1;
    l->max_concurrent = 10;
    l->max_cps = 5;
    l->tokens = 1;
    l->refilled_at = -1;
}

/* Tops up the token bucket: max_cps per second, at most max(1, max_cps) banked. */
static void callers_refill(struct caller_line *l, double now)
{
    double cap = l->max_cps < 1 ? 1 : l->max_cps;

    if (l->refilled_at < 0) {
        l->tokens = cap;
    } else if (now > l->refilled_at) {
        l->tokens += (now - l->refilled_at) * l->max_cps;
        if (l->tokens > cap)
            l->tokens = cap;
    }
    l->refilled_at = now;
}

/* Whether a line can take one more call now. */
static int callers_has_room(struct caller_line *l, double now)
{
    if (l->state != 1 || l->in_flight >= l->max_concurrent)
        return 0;
    callers_refill(l, now);
    return l->tokens >= 1.0 - 1e-9;
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
            if (!callers_has_room(lines[i], now))
                continue;
            lines[i]->tokens -= 1.0;
            lines[i]->in_flight++;
            out[got++] = i;
            *cursor = (unsigned)i;
            progressed = 1;
        }
        if (!progressed)
            break;
    }
    return got;
}

/* Returns a slot (and, for a dial that never left, its token). */
void callers_release(struct caller_line *l, int refund)
{
    if (l->in_flight > 0)
        l->in_flight--;
    if (refund)
        l->tokens += 1.0;
}

/* Sum over usable lines of min(free slots, whole tokens). */
int callers_room(struct caller_line *const *lines, int n, double now)
{
    int room = 0;

    for (int i = 0; i < n; i++) {
        struct caller_line *l = lines[i];
        int slots, toks;
        if (l->state != 1 || l->in_flight >= l->max_concurrent)
            continue;
        callers_refill(l, now);
        slots = l->max_concurrent - l->in_flight;
        toks = (int)(l->tokens + 1e-9);
        room += slots < toks ? slots : toks;
    }
    return room;
}
