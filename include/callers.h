/* Callers: caller-number rotation within each line's concurrency and calls-per-second limits. */
#ifndef DIALERD_CALLERS_H
#define DIALERD_CALLERS_H

/* One caller number (dialer.caller_numbers, or the defaults when it has no row there). */
struct caller_line {
    char number[24];
    int state;              /* 1 normal; 2, 4, 5 are not dialled from (seed NumberInfo) */
    int max_concurrent;
    double max_cps;
    int in_flight;          /* calls placed from it and not yet ended */
    double tokens;          /* calls-per-second bucket: one token per dial */
    double refilled_at;     /* when tokens were last topped up (caller's clock, seconds) */
};

/* Resets a line to the defaults of DESIGN §5.1 (10 concurrent, 5 cps, normal). */
void callers_line_init(struct caller_line *l, const char *number);

/*
 * Picks up to `want` calls' worth of lines from `lines` (an array of pointers, in the order
 * of the campaign's callers), one line per call, in rotation after *cursor, skipping lines
 * that are not normal, full, or out of tokens at `now`. Each pick takes a token and a slot
 * (in_flight + 1). Writes the chosen indexes to out[] and returns how many were picked.
 */
int callers_pick(struct caller_line *const *lines, int n, int want, double now,
                 unsigned *cursor, int *out);

/* How many calls the lines could take now (concurrency room, capped by banked tokens). */
int callers_room(struct caller_line *const *lines, int n, double now);

/* Gives back a slot when a call ends; `refund` also returns the token (the dial never left). */
void callers_release(struct caller_line *l, int refund);

#endif
