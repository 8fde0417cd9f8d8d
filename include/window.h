/* Window: daily calling windows (time_ranges) as seconds of the local day; pure, no clock reads. */
#ifndef DIALERD_WINDOW_H
#define DIALERD_WINDOW_H

#include <stddef.h>

#define WINDOW_MAX_RANGES 24

/* One range of the local day in seconds, [start, end); end < start spans midnight. */
struct window_range {
    int start_s;
    int end_s;
};

/* A day's windows; no ranges means "all day". */
struct window {
    int n;
    struct window_range r[WINDOW_MAX_RANGES];
};

/*
 * Parses campaigns.time_ranges: a JSON array of {"start":"HH:MM:SS","end":"HH:MM:SS"}. Returns
 * 0, or -1 with a message naming the element and field, the value and what is accepted.
 */
int window_parse(const char *json, struct window *w, char *err, size_t errlen);
/* Parses "HH:MM:SS" (00:00:00..23:59:59) into seconds of the day; -1 when malformed. */
int window_parse_time(const char *s);
/* Whether the local second of the day `sod` (0..86399) is inside a window. */
int window_open(const struct window *w, int sod);
/* Seconds from `sod` until window_open() changes; -1 when it never does (all day, or never). */
int window_next_change(const struct window *w, int sod);

#endif
