/* Unit tests for the shared helpers: clocks move forward, the generator stays in [0, 1). */
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

/* Runs every group. */
int main(void)
{
    test_rand();
    test_clocks();
    return tap_done();
}
