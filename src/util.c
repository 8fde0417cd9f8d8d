/* Small helpers shared by every module: clocks and allocation that cannot fail quietly. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads CLOCK_MONOTONIC in ms. */
int64_t util_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads CLOCK_REALTIME in ms. */
int64_t util_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reports out-of-memory and aborts. */
static void util_oom(size_t size)
{
    fprintf(stderr, "dialerd: out of memory allocating %zu bytes\n", size);
    abort();
}

/* calloc or abort. */
void *util_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        util_oom(n * size);
    return p;
}

/* strdup or abort. */
char *util_xstrdup(const char *s)
{
    char *d = strdup(s);

    if (d == NULL)
        util_oom(strlen(s) + 1);
    return d;
}

/* xorshift64* step mapped to [0, 1). */
double util_rand01(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

/* Walks the sequences; the lead byte gives the length and the range of the second byte. */
int util_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    while (p < end) {
        unsigned char c = *p;
        size_t len;
        unsigned char lo = 0x80, hi = 0xbf;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0;          /* overlong */
            else if (c == 0xed)
                hi = 0x9f;          /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90;          /* overlong */
            else if (c == 0xf4)
                hi = 0x8f;          /* above U+10FFFF */
        } else {
            return 0;
        }
        if ((size_t)(end - p) < len || p[1] < lo || p[1] > hi)
            return 0;
        for (size_t i = 2; i < len; i++)
            if (p[i] < 0x80 || p[i] > 0xbf)
                return 0;
        p += len;
    }
    return 1;
}
