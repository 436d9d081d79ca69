/*
 * test_hist.c - the bench's latency histogram (bench/hist.c) against
 * distributions whose percentiles are known: constant, uniform 1..N,
 * two-point, tiny (exact region) and huge values, a skewed random one
 * checked against a sorted copy, and bucket edges. The promise under test
 * (bench.h): a percentile is within BENCH_HIST_REL_ERR (1/128) of the
 * true nearest-rank value; min, max and mean are exact.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench.h"

static const double pcts[] = { 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9,
			       99.99 };

/* the nearest-rank percentile of a sorted array */
static uint64_t true_pct(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100 * (double)n);

	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static void assert_close(uint64_t got, uint64_t want, const char *what,
			 double p)
{
	double err = fabs((double)got - (double)want);

	if (err > (double)want * BENCH_HIST_REL_ERR)
		fail_msg("%s p%g: got %llu, want %llu (error %.4f%% > %.4f%%)",
			 what, p, (unsigned long long)got,
			 (unsigned long long)want, 100 * err / (double)want,
			 100 * BENCH_HIST_REL_ERR);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* record v[], then check every percentile against a sorted copy */
static void check_against(const char *what, uint64_t *v, size_t n)
{
	struct bench_hist *h = malloc(sizeof(*h));
	uint64_t sum = 0;
	size_t i;

	assert_non_null(h);
	bench_hist_init(h);
	for (i = 0; i < n; i++) {
		bench_hist_record(h, v[i]);
		sum += v[i];
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	assert_int_equal(h->n, n);
	assert_int_equal(h->min, v[0]);
	assert_int_equal(h->max, v[n - 1]);
	assert_int_equal(h->sum, sum);
	assert_true(fabs(bench_hist_mean(h) - (double)sum / (double)n) < 1e-6 *
		    ((double)sum / (double)n + 1));
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		assert_close(bench_hist_percentile(h, pcts[i]),
			     true_pct(v, n, pcts[i]), what, pcts[i]);
	assert_int_equal(bench_hist_percentile(h, 0), v[0]);
	assert_int_equal(bench_hist_percentile(h, 100), v[n - 1]);
	free(h);
}

static void test_empty(void **state)
{
	struct bench_hist h;

	(void)state;
	bench_hist_init(&h);
	assert_int_equal(h.n, 0);
	assert_int_equal(bench_hist_percentile(&h, 50), 0);
	assert_true(bench_hist_mean(&h) == 0);
}

/* clamping to [min, max] makes a constant exact, at any magnitude */
static void test_constant(void **state)
{
	static const uint64_t values[] = { 0, 1, 127, 128, 12345,
					   2500000, 99999999999ull };
	struct bench_hist h;
	size_t i, k;

	(void)state;
	for (k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
		bench_hist_init(&h);
		for (i = 0; i < 1000; i++)
			bench_hist_record(&h, values[k]);
		for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
			assert_int_equal(bench_hist_percentile(&h, pcts[i]),
					 values[k]);
		assert_true(bench_hist_mean(&h) == (double)values[k]);
	}
}

static void test_uniform(void **state)
{
	size_t n = 200000, i;
	uint64_t *v = malloc(n * sizeof(*v));

	(void)state;
	assert_non_null(v);
	for (i = 0; i < n; i++)
		v[i] = i + 1;	/* 1..N */
	check_against("uniform 1..N", v, n);
	for (i = 0; i < n; i++)
		v[i] = (i + 1) * 1000;	/* 1 us .. 200 ms */
	check_against("uniform 1..N us", v, n);
	free(v);
}

static void test_two_point(void **state)
{
	struct bench_hist h;
	int i;

	(void)state;
	bench_hist_init(&h);
	for (i = 0; i < 900; i++)
		bench_hist_record(&h, 2000);	/* 2 us */
	for (i = 0; i < 100; i++)
		bench_hist_record(&h, 5000000);	/* 5 ms */
	assert_close(bench_hist_percentile(&h, 50), 2000, "two-point", 50);
	assert_close(bench_hist_percentile(&h, 90), 2000, "two-point", 90);
	/* rank 901 is the first slow one */
	assert_close(bench_hist_percentile(&h, 90.01), 5000000, "two-point",
		     90.01);
	assert_close(bench_hist_percentile(&h, 99), 5000000, "two-point", 99);
	assert_int_equal(bench_hist_percentile(&h, 100), 5000000);
	assert_true(bench_hist_mean(&h) == (900 * 2000.0 + 100 * 5e6) / 1000);
}

/* below BENCH_HIST_EXACT every value has its own bucket */
static void test_tiny(void **state)
{
	struct bench_hist h;
	uint64_t i;

	(void)state;
	bench_hist_init(&h);
	for (i = 0; i < BENCH_HIST_EXACT; i++)
		bench_hist_record(&h, i);
	assert_int_equal(bench_hist_percentile(&h, 50), 63);
	assert_int_equal(bench_hist_percentile(&h, 1), 1);
	assert_int_equal(bench_hist_percentile(&h, 0.5), 0);
	assert_int_equal(bench_hist_percentile(&h, 99), 126);
	assert_int_equal(h.min, 0);
	assert_int_equal(h.max, BENCH_HIST_EXACT - 1);
	for (i = 0; i < BENCH_HIST_EXACT; i++)
		assert_int_equal(bench_hist_bucket(i), i);
}

/* 100 s is inside the range; beyond it percentiles saturate, max is exact */
static void test_huge(void **state)
{
	struct bench_hist h;
	uint64_t v[] = { 1, 100000000000ull, 100000000000ull,
			 BENCH_HIST_TOP - 1 };
	size_t n = sizeof(v) / sizeof(v[0]);

	(void)state;
	check_against("huge", v, n);

	bench_hist_init(&h);
	bench_hist_record(&h, 1000);
	bench_hist_record(&h, (uint64_t)1 << 50);
	bench_hist_record(&h, UINT64_MAX / 4);
	assert_int_equal(h.max, UINT64_MAX / 4);
	assert_int_equal(bench_hist_bucket(UINT64_MAX),
			 BENCH_HIST_BUCKETS - 1);
	assert_true(bench_hist_percentile(&h, 99) <= h.max);
	assert_true(bench_hist_percentile(&h, 99) >= BENCH_HIST_TOP / 2);
	assert_int_equal(bench_hist_percentile(&h, 100), UINT64_MAX / 4);
	assert_close(bench_hist_percentile(&h, 33), 1000, "huge", 33);
}

/* a skewed distribution like real latencies: a body and a long tail */
static void test_random(void **state)
{
	size_t n = 100000, i;
	uint64_t *v = malloc(n * sizeof(*v)), x = 88172645463325252ull;

	(void)state;
	assert_non_null(v);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* log-uniform over 1 ns .. ~100 s */
		v[i] = (uint64_t)exp((double)(x >> 11) / 9007199254740992.0 *
				     log(1e11));
	}
	check_against("log-uniform", v, n);
	free(v);
}

/* every bucket holds what it claims, and is narrow enough */
static void test_buckets(void **state)
{
	uint64_t v, lo, hi, mid;
	unsigned b, k;
	int d;

	(void)state;
	for (k = 0; k < BENCH_HIST_TOP_BITS; k++) {
		for (d = -2; d <= 2; d++) {
			v = ((uint64_t)1 << k) + (uint64_t)(int64_t)d;
			if ((int64_t)v < 0 || v >= BENCH_HIST_TOP)
				continue;
			b = bench_hist_bucket(v);
			assert_true(b < BENCH_HIST_BUCKETS);
			bench_hist_bucket_range(b, &lo, &hi);
			assert_true(lo <= v && v <= hi);
			assert_true((double)(hi - lo + 1) <=
				    (double)lo * 2 * BENCH_HIST_REL_ERR + 1);
			mid = lo + (hi - lo + 1) / 2;
			assert_true(fabs((double)mid - (double)v) <=
				    (double)v * BENCH_HIST_REL_ERR);
		}
	}
	/* contiguous and increasing */
	for (b = 1; b < BENCH_HIST_BUCKETS; b++) {
		uint64_t plo, phi;

		bench_hist_bucket_range(b - 1, &plo, &phi);
		bench_hist_bucket_range(b, &lo, &hi);
		assert_int_equal(lo, phi + 1);
		assert_int_equal(bench_hist_bucket(lo), b);
		assert_int_equal(bench_hist_bucket(hi), b);
	}
	bench_hist_bucket_range(BENCH_HIST_BUCKETS - 1, &lo, &hi);
	assert_int_equal(hi, BENCH_HIST_TOP - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_two_point),
		cmocka_unit_test(test_tiny),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_buckets),
	};

	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
