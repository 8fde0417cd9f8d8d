/* The pacer's shortfall chance against the exact distribution, down to the far tail. */
#include "../../src/pacing.c"

#include "tap.h"

#define EXACT_SPAN 4096

/* Groups as drawn, before the pacer merges any. */
struct raw {
    int n;
    int cnt[64];
    double x[64];
};

/* Convolves `cnt` Bernoulli(x) steps of +step into a[] (b[] is scratch). */
static void convolve(double *a, double *b, int cnt, double x, int step)
{
    for (int t = 0; t < cnt; t++) {
        memset(b, 0, sizeof(double) * EXACT_SPAN);
        for (int i = 1; i < EXACT_SPAN - 1; i++) {
            b[i] += a[i] * (1 - x);
            b[i + step] += a[i] * x;
        }
        memcpy(a, b, sizeof(double) * EXACT_SPAN);
    }
}

/* P(D < 1) exactly, D = c + sup - dem - Binomial(k, q), one Bernoulli at a time. */
static double exact_shortfall(int c, const struct raw *sup, const struct raw *dem, int k,
                              double q)
{
    static double a[EXACT_SPAN], b[EXACT_SPAN];
    const int off = EXACT_SPAN / 2;
    double r = 0;

    memset(a, 0, sizeof(a));
    a[off + c] = 1;
    for (int j = 0; j < sup->n; j++)
        convolve(a, b, sup->cnt[j], sup->x[j], 1);
    for (int j = 0; j < dem->n; j++)
        convolve(a, b, dem->cnt[j], dem->x[j], -1);
    convolve(a, b, k, q, -1);
    for (int i = 0; i <= off; i++)
        r += a[i];
    return r;
}

/* A deterministic uniform draw in [0, 1). */
static double draw(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/*
 * Pools like those a decision sees: a few free agents, busy agents either talking (unlikely
 * to be back in time) or in after-call work (nearly sure to be), calls ringing each unlikely
 * to be answered, and k new calls. Against the exact chance of the groups as drawn (before
 * the pacer merges close ones), the estimate must stay within a factor of 2 from 1e-3 down
 * to 1e-12, and never under it by more than a few per cent: an underestimate there is an
 * abandon the pacer did not see coming.
 */
static void test_tail_accuracy(void)
{
    uint64_t seed = 12345;
    int cases = 0, within = 0, not_under = 0, edgeworth_off = 0;
    double worst_lo = 1e9, worst_hi = 0;

    for (int trial = 0; trial < 400; trial++) {
        struct pmoments sup, dem;
        struct raw rs = { 0 }, rd = { 0 };
        int nb = 3 + (int)(draw(&seed) * 25), nr = 3 + (int)(draw(&seed) * 25), k, c;
        double q = 0.02 + 0.2 * draw(&seed);

        c = (int)(draw(&seed) * 3);
        pm_init(&sup, c);
        pm_init(&dem, 0);
        for (int j = 0; j < nb; j++) {
            /* Talking (unlikely back in time) or in after-call work (nearly sure to be). */
            double x = draw(&seed) < 0.5 ? 0.6 * draw(&seed) : 1 - 0.1 * draw(&seed);
            rs.cnt[rs.n] = 1 + (int)(draw(&seed) * 6);
            rs.x[rs.n] = x;
            pm_add(&sup, rs.cnt[rs.n], x);
            rs.n++;
        }
        for (int j = 0; j < nr; j++) {
            rd.cnt[rd.n] = 1 + (int)(draw(&seed) * 10);
            rd.x[rd.n] = 0.15 * draw(&seed);
            pm_add(&dem, rd.cnt[rd.n], rd.x[rd.n]);
            rd.n++;
        }
        pm_finish(&sup);
        pm_finish(&dem);
        k = (int)(draw(&seed) * 12);
        {
            double ex = exact_shortfall(c, &rs, &rd, k, q), hint = 0, est, mu, var, ed, z;
            if (!(ex < 1e-3 && ex > 1e-12))
                continue;
            cases++;
            est = pacer_shortfall(&sup, &dem, k, q, &hint);
            if (est / ex > worst_hi)
                worst_hi = est / ex;
            if (est / ex < worst_lo)
                worst_lo = est / ex;
            within += est > ex / 2 && est < ex * 2;
            not_under += est > ex * 0.95;
            /* The plain normal curve, for comparison. */
            mu = sup.mean - dem.mean - k * q;
            var = sup.var + dem.var + k * q * (1 - q);
            z = (0.5 - mu) / sqrt(var);
            ed = pacer_tail(-z);
            edgeworth_off += ed < ex / 10;
        }
    }
    ok(cases >= 100, "at least 100 pools with a shortfall chance between 1e-12 and 1e-3");
    is_int(within, cases, "every estimate within a factor of 2 of the exact chance");
    is_int(not_under, cases, "none more than 5 % under it");
    ok(edgeworth_off > 0, "where a plain normal curve is off by 10x or more in some of them");
    printf("# %d pools; estimate / exact from %.3f to %.3f; normal curve 10x under in %d\n",
           cases, worst_lo, worst_hi, edgeworth_off);
}

/* Counts are whole numbers: the chance is exactly 0 or 1 where nothing else can happen. */
static void test_exact_bounds(void)
{
    struct pmoments sup, dem;
    double hint = 0;

    pm_init(&sup, 5);
    pm_init(&dem, 1);
    pm_add(&dem, 2, 0.4);
    pm_finish(&sup);
    pm_finish(&dem);
    /* 5 free, at most 3 answered of those ringing: a first new call always finds an agent. */
    ok(pacer_shortfall(&sup, &dem, 1, 0.3, &hint) == 0, "4 free beyond the worst case: 0");
    ok(pacer_shortfall(&sup, &dem, 2, 0.3, &hint) > 0, "one more new call: no longer 0");
    pm_init(&sup, 0);
    pm_init(&dem, 2);
    pm_finish(&sup);
    pm_finish(&dem);
    ok(pacer_shortfall(&sup, &dem, 0, 0.3, &hint) == 1, "no agent at all and calls waiting: 1");
}

/*
 * A decision asks for k = 0, 1, 2, 4, ... new calls in turn, each search starting from the
 * saddlepoint of the one before: where it starts must not change the answer by more than the
 * stopping rule allows.
 */
static void test_warm_start(void)
{
    struct pmoments sup, dem;
    double warm = 0, worst = 0;
    int n = 0;

    pm_init(&sup, 3);
    pm_init(&dem, 0);
    pm_add(&sup, 40, 0.02);
    pm_add(&sup, 12, 0.35);
    pm_add(&sup, 10, 0.97);
    pm_add(&dem, 30, 0.04);
    pm_add(&dem, 25, 0.11);
    pm_finish(&sup);
    pm_finish(&dem);
    for (int k = 0; k <= 12; k++) {
        double cold = 0, a = pacer_shortfall(&sup, &dem, k, 0.15, &warm);
        double b = pacer_shortfall(&sup, &dem, k, 0.15, &cold);
        if (b > 0 && b < PACER_SP_BELOW) {
            n++;
            if (fabs(a / b - 1) > worst)
                worst = fabs(a / b - 1);
        }
    }
    printf("# %d counts in the far tail; warm / cold - 1 at most %.2g\n", n, worst);
    ok(n >= 4, "at least 4 counts of new calls in the far tail");
    ok(worst < 0.01, "warm and cold starts agree within 1 %");
}

/* Adding a prepared term is adding its probability: same cumulants, same groups. */
static void test_prepared_terms(void)
{
    static const double xs[] = { 0, 1e-13, 1e-5, 3e-4, 0.02, 0.021, 0.3, 0.5, 0.9, 0.9995, 1 };
    struct pmoments a, b;
    int same = 1;

    pm_init(&a, 2);
    pm_init(&b, 2);
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        struct pm_term t;
        pm_term_set(&t, xs[i]);
        pm_add(&a, (double)(i + 1), xs[i]);
        pm_add_term(&b, (int)(i + 1), &t);
    }
    pm_finish(&a);
    pm_finish(&b);
    same = a.n == b.n && a.c == b.c && a.span == b.span && fabs(a.mean - b.mean) < 1e-12 &&
           fabs(a.var - b.var) < 1e-12 && fabs(a.k3 - b.k3) < 1e-12;
    for (int j = 0; same && j < a.n; j++)
        same = a.cnt[j] == b.cnt[j] && fabs(a.x[j] - b.x[j]) < 1e-15;
    ok(same, "pm_add_term and pm_add build the same moments and groups");
    is_int(a.n, 6, "groups under 2^-10 share one term, the certain and the impossible none");
}

/* Runs every group. */
int main(void)
{
    test_tail_accuracy();
    test_exact_bounds();
    test_warm_start();
    test_prepared_terms();
    return tap_done();
}
