/*
 * hist.c - HdrHistogram's layout, much reduced: exact below 128 ns, then 64
 * buckets per power of two up to 2^37 ns (~137 s); 16 KiB, no allocation.
 */
#include <math.h>
#include <string.h>

#include "bench.h"

#define SUB	(1u << BENCH_HIST_SUB_BITS)

void bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned bench_hist_bucket(uint64_t v)
{
	unsigned k, shift;

	if (v < BENCH_HIST_EXACT)
		return (unsigned)v;
	if (v >= BENCH_HIST_TOP)
		return BENCH_HIST_BUCKETS - 1;
	k = 63 - (unsigned)__builtin_clzll(v);	/* 2^k <= v < 2^(k+1) */
	shift = k - BENCH_HIST_SUB_BITS;
	return BENCH_HIST_EXACT + (k - BENCH_HIST_SUB_BITS - 1) * SUB +
	       (unsigned)((v >> shift) - SUB);
}

void bench_hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi)
{
	unsigned j, shift;

	if (b < BENCH_HIST_EXACT) {
		*lo = *hi = b;
		return;
	}
	j = b - BENCH_HIST_EXACT;
	shift = j / SUB + 1;
	*lo = (uint64_t)(SUB + j % SUB) << shift;
	*hi = *lo + ((uint64_t)1 << shift) - 1;
}

void bench_hist_record(struct bench_hist *h, uint64_t v)
{
	h->count[bench_hist_bucket(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* the middle of the bucket of the nearest rank: a bucket [lo, lo + w)
 * has w <= lo/64, so within w/2 <= lo/128 of anything in it */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
{
	uint64_t rank, seen = 0, lo, hi, v;
	unsigned b;

	if (!h->n)
		return 0;
	if (!(p > 0))
		return h->min;
	if (p >= 100)
		return h->max;
	rank = (uint64_t)ceil(p / 100 * (double)h->n);	/* 0 < p < 100: 1..n */
	for (b = 0; b < BENCH_HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank)
			break;
	}
	if (b == BENCH_HIST_BUCKETS)	/* counts and n disagree: not ours */
		return h->max;
	bench_hist_bucket_range(b, &lo, &hi);
	v = lo + (hi - lo + 1) / 2;	/* lo itself when exact */
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

double bench_hist_mean(const struct bench_hist *h)
{
	return h->n ? (double)h->sum / (double)h->n : 0;
}
