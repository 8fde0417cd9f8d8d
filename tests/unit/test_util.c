/* Unit tests for the shared helpers: clocks move forward, the generator stays in [0, 1), UTF-8. */
#include "util.h"
#include "tap.h"

/* Random numbers are in range, deterministic per seed and not constant. */
static void test_rand(void)
{
    uint64_t s1 = 42, s2 = 42, s0 = 0;
    int in_range = 1, same = 1;
    double lo = 1, hi = 0;

    for (int i = 0; i < 100000; i++) {
        double a = util_rand01(&s1), b = util_rand01(&s2);
        if (a < 0 || a >= 1)
            in_range = 0;
        if (a != b)
            same = 0;
        lo = a < lo ? a : lo;
        hi = a > hi ? a : hi;
    }
    ok(in_range, "100000 draws in [0, 1)");
    ok(same, "same seed, same sequence");
    ok(lo < 0.001 && hi > 0.999, "draws cover the interval");
    ok(util_rand01(&s0) >= 0 && s0 != 0, "a zero state is replaced, not stuck");
}

/* Clocks: monotonic never goes back; wall clock is after 2020. */
static void test_clocks(void)
{
    int64_t a = util_mono_ms(), b = util_mono_ms();

    ok(b >= a, "monotonic clock does not go back");
    ok(util_wall_ms() > 1577836800000LL, "wall clock is after 2020");
}

/* UTF-8 validation: what PostgreSQL would refuse is refused here first. */
static void test_utf8(void)
{
    static const struct { const char *s; int valid; const char *desc; } cases[] = {
        { "", 1, "empty" },
        { "plain ASCII '); --", 1, "ASCII" },
        { "Zhang San \xe5\xbc\xa0\xe4\xb8\x89", 1, "three-byte sequences" },
        { "\xf0\x9f\x93\x9e", 1, "a four-byte sequence (U+1F4DE)" },
        { "\xc3\x28", 0, "a bad continuation byte" },
        { "\xff\xfe", 0, "bytes never used in UTF-8" },
        { "\xc0\xaf", 0, "an overlong '/'" },
        { "\xe0\x80\xaf", 0, "an overlong three-byte form" },
        { "\xed\xa0\x80", 0, "a UTF-16 surrogate" },
        { "\xf4\x90\x80\x80", 0, "above U+10FFFF" },
        { "abc\xe5\xbc", 0, "a sequence cut short at the end" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(util_utf8_valid(cases[i].s, strlen(cases[i].s)), cases[i].valid, cases[i].desc);
}

/* Runs every group. */
int main(void)
{
    test_rand();
    test_clocks();
    test_utf8();
    return tap_done();
}
