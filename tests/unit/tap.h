/* Minimal TAP producer for the unit tests: ok / is_int / is_str and a summary exit code. */
#ifndef DIALERD_TAP_H
#define DIALERD_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* Records one check; prints `ok N - desc` or `not ok N - desc`. */
static inline int tap_ok(int cond, const char *file, int line, const char *desc)
{
    tap_n++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, desc);
    if (!cond)
        printf("#   failed at %s:%d\n", file, line);
    return cond;
}

#define ok(cond, desc) tap_ok(!!(cond), __FILE__, __LINE__, desc)

#define is_int(got, want, desc) do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (!tap_ok(g_ == w_, __FILE__, __LINE__, desc)) \
            printf("#   got %lld, want %lld\n", g_, w_); \
    } while (0)

#define is_str(got, want, desc) do { \
        const char *g_ = (got), *w_ = (want); \
        int same_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_; \
        if (!tap_ok(same_, __FILE__, __LINE__, desc)) \
            printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

#define has_str(hay, needle, desc) do { \
        const char *h_ = (hay), *n_ = (needle); \
        if (!tap_ok(h_ && strstr(h_, n_) != NULL, __FILE__, __LINE__, desc)) \
            printf("#   \"%s\" does not contain \"%s\"\n", h_ ? h_ : "(null)", n_); \
    } while (0)

/* Prints the plan and returns the exit status for main(). */
static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
