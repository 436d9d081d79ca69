/*
 * fuzz_size.c - bench_parse_size() ("100", "1K", "64k", "1M") against a
 * model written from its documentation, on any string: same verdict,
 * same value, same errno. Every size it accepts survives the trip
 * through bench_size_str() and back, whatever the buffer size, and a
 * short buffer is cut, never overrun.
 */
#include <errno.h>
#include <stdbool.h>

#include "bench.h"
#include "fuzz.h"

/* digits, then K/k (1024) or M/m (1048576) or nothing; at most 256M */
static int model(const char *s, size_t *out)
{
	unsigned long long v = 0, mult = 1;
	bool overflow = false;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (~0ull - (unsigned)(*p - '0')) / 10)
			overflow = true;
		else
			v = v * 10 + (unsigned)(*p - '0');
	}
	if (overflow)
		return -ERANGE;	/* said before the suffix is looked at */
	if (*p == 'K' || *p == 'k')
		mult = 1024, p++;
	else if (*p == 'M' || *p == 'm')
		mult = 1024 * 1024, p++;
	if (*p)
		return -EINVAL;
	if (v > BENCH_SIZE_MAX / mult)
		return -ERANGE;
	*out = (size_t)(v * mult);
	return 0;
}

static void check_str(size_t size, size_t buflen)
{
	char *buf = malloc(buflen);	/* exact: ASan sees an overrun */
	char full[32];
	size_t back = 0;

	FUZZ_CHECK(buf, "malloc");
	bench_size_str(size, full, sizeof(full));
	FUZZ_CHECK(bench_parse_size(full, &back) == 0 && back == size,
		   "%zu printed as '%s' reads back as %zu", size, full, back);
	bench_size_str(size, buf, buflen);
	FUZZ_CHECK(strlen(buf) < buflen && !strncmp(buf, full, buflen - 1),
		   "%zu in %zu bytes: '%s', not a cut '%s'", size, buflen,
		   buf, full);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t got = 7, want = 7;	/* untouched on failure */
	int ret, mret;
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);	/* data[1..] as a string of exactly its size */
	FUZZ_CHECK(s, "malloc");
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	ret = bench_parse_size(s, &got);
	mret = model(s, &want);
	FUZZ_CHECK(ret == mret, "'%s': %d, the model says %d", s, ret, mret);
	FUZZ_CHECK(got == want, "'%s': %zu, the model says %zu", s, got, want);
	if (ret == 0) {
		FUZZ_CHECK(got <= BENCH_SIZE_MAX, "'%s': %zu", s, got);
		check_str(got, 1 + data[0] % 16);
	}
	free(s);
	return 0;
}
