/* Window: daily calling windows (time_ranges) as seconds of the local day; pure, no clock reads. */
#include "window.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define DAY_S 86400

/* "HH:MM:SS" with two digits each; hours 00..23. */
int window_parse_time(const char *s)
{
    int v[3];

    if (s == NULL || strlen(s) != 8 || s[2] != ':' || s[5] != ':')
        return -1;
    for (int i = 0; i < 3; i++) {
        const char *p = s + 3 * i;
        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
            return -1;
        v[i] = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (v[0] > 23 || v[1] > 59 || v[2] > 59)
        return -1;
    return v[0] * 3600 + v[1] * 60 + v[2];
}

/* Reads one "start" / "end" field of element i. */
static int window_field(const cJSON *el, int i, const char *name, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(el, name);
    int t;

    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "time_ranges[%d].%s: %s; accepted: \"HH:MM:SS\"", i + 1, name,
                 v ? "must be a string" : "missing");
        return -1;
    }
    t = window_parse_time(v->valuestring);
    if (t < 0)
        snprintf(err, errlen, "time_ranges[%d].%s: \"%.20s\" is not a time of day; accepted: "
                 "\"HH:MM:SS\" from 00:00:00 to 23:59:59", i + 1, name, v->valuestring);
    return t;
}

/* Parses the JSON array of ranges. */
int window_parse(const char *json, struct window *w, char *err, size_t errlen)
{
    cJSON *arr = cJSON_Parse(json ? json : "[]"), *el;
    int i = 0;

    memset(w, 0, sizeof(*w));
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen, "time_ranges: must be a JSON array of {\"start\", \"end\"} objects");
        cJSON_Delete(arr);
        return -1;
    }
    cJSON_ArrayForEach(el, arr) {
        int s, e;
        if (i >= WINDOW_MAX_RANGES) {
            snprintf(err, errlen, "time_ranges: more than %d ranges", WINDOW_MAX_RANGES);
            goto fail;
        }
        if (!cJSON_IsObject(el)) {
            snprintf(err, errlen, "time_ranges[%d]: must be an object {\"start\", \"end\"}", i + 1);
            goto fail;
        }
        if ((s = window_field(el, i, "start", err, errlen)) < 0 ||
            (e = window_field(el, i, "end", err, errlen)) < 0)
            goto fail;
        if (s == e) {
            snprintf(err, errlen, "time_ranges[%d]: start and end are both %.8s; a range needs "
                     "two different times (end before start spans midnight)", i + 1,
                     cJSON_GetObjectItemCaseSensitive(el, "start")->valuestring);
            goto fail;
        }
        w->r[i].start_s = s;
        w->r[i].end_s = e;
        i++;
    }
    w->n = i;
    cJSON_Delete(arr);
    return 0;
fail:
    cJSON_Delete(arr);
    memset(w, 0, sizeof(*w));
    return -1;
}

/* Whether one range contains sod. */
static int window_range_has(const struct window_range *r, int sod)
{
    if (r->start_s < r->end_s)
        return sod >= r->start_s && sod < r->end_s;
    return sod >= r->start_s || sod < r->end_s;
}

/* Open at sod? */
int window_open(const struct window *w, int sod)
{
    if (w->n == 0)
        return 1;
    sod = ((sod % DAY_S) + DAY_S) % DAY_S;
    for (int i = 0; i < w->n; i++)
        if (window_range_has(&w->r[i], sod))
            return 1;
    return 0;
}

/* Walks the boundaries after sod to the first one where openness flips. */
int window_next_change(const struct window *w, int sod)
{
    int now = window_open(w, sod), best = -1;

    if (w->n == 0)
        return -1;
    sod = ((sod % DAY_S) + DAY_S) % DAY_S;
    /* Candidate instants are the range boundaries; check each in order of distance. */
    for (int pass = 0; pass < 2 * w->n; pass++) {
        int cand = -1;
        for (int i = 0; i < w->n; i++) {
            int b[2] = { w->r[i].start_s, w->r[i].end_s };
            for (int k = 0; k < 2; k++) {
                int d = ((b[k] - sod) % DAY_S + DAY_S) % DAY_S;
                if (d == 0)
                    d = DAY_S;
                if (d > best && (cand < 0 || d < cand))
                    cand = d;
            }
        }
        if (cand < 0)
            return -1;
        if (window_open(w, sod + cand) != now)
            return cand;
        best = cand;
    }
    return -1;
}
