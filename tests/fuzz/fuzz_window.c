/* libFuzzer target for the time_ranges parser and the window queries (include/window.h). */
#include "window.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S 86400

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run with a message: libFuzzer saves the input that got here. */
static void fail(const char *what, int a, int b)
{
    fprintf(stderr, "fuzz_window: invariant violated: %s (%d, %d)\n", what, a, b);
    __builtin_trap();
}

/* Writes seconds of the day as "HH:MM:SS" into buf (at least 9 bytes). */
static void render_time(int sod, char *buf, size_t len)
{
    snprintf(buf, len, "%02d:%02d:%02d", sod / 3600, sod / 60 % 60, sod % 60);
}

/* A parsed time must be a second of the day, and its rendering must be the input itself. */
static void check_time(const char *s)
{
    char back[16];
    int t = window_parse_time(s);

    if (t == -1)
        return;
    if (t < 0 || t >= DAY_S)
        fail("window_parse_time out of 0..86399", t, 0);
    render_time(t, back, sizeof(back));
    if (strcmp(back, s) != 0)
        fail("window_parse_time accepted text that is not its own rendering", t, (int)strlen(s));
}

/* Distance in seconds from sod forward to t, in 0..86399. */
static int ahead(int sod, int t)
{
    return ((t - sod) % DAY_S + DAY_S) % DAY_S;
}

/* window_open and window_next_change at sod agree with the ranges and with each other. */
static void check_sod(const struct window *w, int sod)
{
    int now = window_open(w, sod), r = window_next_change(w, sod);

    if (now != 0 && now != 1)
        fail("window_open is not 0 or 1", now, sod);
    if (w->n == 0) {
        if (now != 1 || r != -1)
            fail("no ranges must mean open all day, never changing", now, r);
        return;
    }
    if (r != -1 && (r < 1 || r >= DAY_S))
        fail("window_next_change out of 1..86399 (or -1)", r, sod);
    /* Openness only changes at range boundaries: every boundary before r keeps it, r flips it. */
    for (int i = 0; i < w->n; i++) {
        int b[2] = { w->r[i].start_s, w->r[i].end_s };
        for (int k = 0; k < 2; k++) {
            int d = ahead(sod, b[k]);
            if (d == 0)
                continue;
            if ((r == -1 || d < r) && window_open(w, (sod + d) % DAY_S) != now)
                fail("openness changed before window_next_change said it would", sod, d);
        }
    }
    if (r > 0) {
        if (window_open(w, (sod + r) % DAY_S) == now)
            fail("openness did not change where window_next_change said it would", sod, r);
        if (window_open(w, (sod + r - 1) % DAY_S) != now)
            fail("openness changed one second before window_next_change", sod, r);
    }
}

/* Structure of a parsed window, its rendering round trip, and the queries over a few seconds. */
static void check_window(const struct window *w, const uint8_t *data, size_t size)
{
    char json[WINDOW_MAX_RANGES * 40 + 8], err[256];
    size_t o = 0;
    struct window back;
    uint32_t h = 2166136261u;
    int sods[12], ns = 0;

    if (w->n < 0 || w->n > WINDOW_MAX_RANGES)
        fail("range count out of 0..WINDOW_MAX_RANGES", w->n, 0);
    o += (size_t)snprintf(json + o, sizeof(json) - o, "[");
    for (int i = 0; i < w->n; i++) {
        char s[16], e[16];
        int a = w->r[i].start_s, b = w->r[i].end_s;
        if (a < 0 || a >= DAY_S || b < 0 || b >= DAY_S || a == b)
            fail("a parsed range is outside the day or empty", a, b);
        render_time(a, s, sizeof(s));
        render_time(b, e, sizeof(e));
        if (window_parse_time(s) != a || window_parse_time(e) != b)
            fail("a rendered boundary does not parse back to itself", a, b);
        o += (size_t)snprintf(json + o, sizeof(json) - o, "%s{\"start\":\"%s\",\"end\":\"%s\"}",
                              i ? "," : "", s, e);
        /* A start is inside its window, and so is the second before its end. */
        if (!window_open(w, a) || !window_open(w, (b + DAY_S - 1) % DAY_S))
            fail("a range's first or last second is closed", a, b);
    }
    snprintf(json + o, sizeof(json) - o, "]");
    err[0] = '\0';
    if (window_parse(json, &back, err, sizeof(err)) != 0)
        fail("the rendering of a parsed window does not parse", w->n, 0);
    if (back.n != w->n || memcmp(back.r, w->r, sizeof(w->r[0]) * (size_t)w->n) != 0)
        fail("the rendering of a parsed window parses to different ranges", back.n, w->n);

    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    sods[ns++] = 0;
    sods[ns++] = DAY_S - 1;
    sods[ns++] = 43200;
    sods[ns++] = (int)(h % DAY_S);
    sods[ns++] = (int)((h >> 7) % DAY_S);
    for (int i = 0; i < w->n && i < 2; i++) {
        sods[ns++] = w->r[i].start_s;
        sods[ns++] = (w->r[i].end_s + DAY_S - 1) % DAY_S;
        sods[ns++] = w->r[i].end_s;
    }
    for (int i = 0; i < ns; i++)
        check_sod(w, sods[i]);
    /* Outside the documented 0..86399: no crash and no undefined behaviour, nothing more. */
    (void)window_open(w, -1);
    (void)window_next_change(w, DAY_S);
}

/* One input: a time_ranges JSON text, and the same bytes as a single "HH:MM:SS". */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[512];
    struct window w;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_time(text);
    err[0] = '\0';
    if (window_parse(text, &w, err, sizeof(err)) == 0) {
        check_window(&w, data, size);
    } else {
        if (w.n != 0)
            fail("a refused time_ranges left ranges behind", w.n, 0);
        if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
            fail("a refused time_ranges has no message", 0, 0);
    }
    free(text);
    return 0;
}
