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
