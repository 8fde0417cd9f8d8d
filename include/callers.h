/* Callers: caller-number rotation within each line's concurrency and calls-per-second limits. */
#ifndef DIALERD_CALLERS_H
#define DIALERD_CALLERS_H

/* Dials remembered per line: max_cps above this is treated as this. */
#define CALLERS_MAX_CPS 256

/*
 * One caller number (dialer.caller_numbers, or the defaults when it has no row there).
 * max_cps is enforced over a sliding window: at most floor(max_cps) dials in any window of one
 * second (below 1: one dial per 1/max_cps seconds), plus a small margin for the time a dial
 * takes to reach the carrier, so the carrier never counts more than max_cps. Within that, dials
 * are spread: at most max(4, ceil(max_cps / 50)) in any 20 ms, so a line's second does not
 * leave in one burst.
 */
struct caller_line {
    char number[24];
    int state;              /* 1 normal; 2, 4, 5 are not dialled from (seed NumberInfo) */
    int max_concurrent;
    double max_cps;
    int in_flight;          /* calls placed from it and not yet ended */
    double recent[CALLERS_MAX_CPS];  /* ring of the latest dial times (caller's clock, s) */
    int head;               /* index of the oldest entry */
    int count;              /* entries in the ring */
};

/* Resets a line to the defaults of DESIGN §5.1 (10 concurrent, 5 cps, normal). */
void callers_line_init(struct caller_line *l, const char *number);

/*
 * Picks up to `want` calls' worth of lines from `lines` (an array of pointers, in the order
 * of the campaign's callers), one line per call, in rotation after *cursor, skipping lines
 * that are not normal, full, or at their rate (either window) at `now`. Each pick records a dial and takes a
 * slot (in_flight + 1). Writes the chosen indexes to out[] and returns how many were picked.
 */
int callers_pick(struct caller_line *const *lines, int n, int want, double now,
                 unsigned *cursor, int *out);

/*
 * How many calls the lines could take within this second (concurrency room, capped by the
 * one-second window). callers_pick may place fewer now: the rest of the second is spread.
 */
int callers_room(struct caller_line *const *lines, int n, double now);

/*
 * The soonest time, at or after `now`, at which one of the lines that has a free slot gains
 * room in its rate windows; 0 when none has a free slot or a rate above zero.
 */
double callers_next_room(struct caller_line *const *lines, int n, double now);
/* Gives back a slot when a call ends; `refund` also forgets its dial (it never left). */
void callers_release(struct caller_line *l, int refund);

#endif
