/*
 * fuzz_bench_opts.c - the command line of bench/direct, bench_parse_opts().
 * Input: byte 0 picks the size of the message buffer (1..256 bytes), the
 * rest is argv[1..], NUL-separated. Each argument lives in a buffer of
 * exactly its size and the message buffer is exactly errlen, so ASan sees
 * any read or write past them. Checks: the parser keeps no state (a
 * second parse gives the same answer); a refusal is a terminated message
 * in err; an acceptance leaves options the bench can run: every list,
 * number, enum and string within its documented range, every size
 * printable and readable back, --via and --road consistent.
 */
#include <math.h>
#include <sched.h>

#include "bench.h"
#include "fuzz.h"

#define MAX_ARGS	64

static bool in_args(const char *p, char *const *argv, int argc)
{
	for (int i = 1; i < argc; i++)
		if (p >= argv[i] && p < argv[i] + strlen(argv[i]))
			return true;
	return false;
}

static bool is_transport(const struct ipc_transport *t)
{
	for (const struct ipc_transport *const *r = ipc_transports; *r; r++)
		if (*r == t)
			return true;
	return false;
}

static void check_ok(const struct bench_opts *o, char *const *argv, int argc)
{
	char buf[32];
	size_t back;

	FUZZ_CHECK(o->nsizes >= 1 && o->nsizes <= BENCH_MAX_SIZES, "%d sizes",
		   o->nsizes);
	for (int i = 0; i < o->nsizes; i++) {
		FUZZ_CHECK(o->sizes[i] >= 1 && o->sizes[i] <= BENCH_SIZE_MAX,
			   "size %zu", o->sizes[i]);
		bench_size_str(o->sizes[i], buf, sizeof(buf));
		FUZZ_CHECK(bench_parse_size(buf, &back) == 0 &&
			   back == o->sizes[i], "%zu -> '%s'", o->sizes[i], buf);
	}
	FUZZ_CHECK(o->ntransports >= 0 &&
		   o->ntransports <= BENCH_MAX_TRANSPORTS, "%d transports",
		   o->ntransports);
	for (int i = 0; i < o->ntransports; i++) {
		FUZZ_CHECK(is_transport(o->transports[i]), "transport %d", i);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(o->transports[i] != o->transports[j],
				   "%s twice", o->transports[i]->name);
		/* the control row runs only when asked for by name */
		FUZZ_CHECK(o->transports_set ||
			   !(o->transports[i]->caps & IPC_LOCAL),
			   "%s by default", o->transports[i]->name);
	}
	if (o->count == 0)
		FUZZ_CHECK(isfinite(o->duration) && o->duration > 0 &&
			   o->duration <= BENCH_DURATION_MAX, "duration %g",
			   o->duration);
	FUZZ_CHECK((unsigned)o->cpus <= BENCH_CPUS_NONE, "cpus %d", o->cpus);
	FUZZ_CHECK((unsigned)o->mode <= BENCH_STREAM, "mode %d", o->mode);
	FUZZ_CHECK((unsigned)o->format <= BENCH_JSON, "format %d", o->format);
	FUZZ_CHECK((unsigned)o->roads <= BENCH_ROADS_NET, "roads %d",
		   o->roads);
	if (o->roads == BENCH_ROADS_NET)
		FUZZ_CHECK(o->netns[0][0] && o->netns[1][0] && o->net_addr[1][0] &&
			   o->via && o->peer && *o->peer && !o->baseline && o->all &&
			   strcmp(o->zmq_kind, "ipc"),
			   "--road net without its hosts, mounts or skips");
	else
		FUZZ_CHECK(!o->netns[0][0] && !o->peer, "--net or --peer off the net road");
	FUZZ_CHECK(o->zmq_kind && (!strcmp(o->zmq_kind, "tcp") ||
				   !strcmp(o->zmq_kind, "ipc")), "zmq kind");
	if (o->via_none)
		FUZZ_CHECK(!o->via && o->roads == BENCH_ROADS_DIRECT,
			   "--via none with a mount road");
	if (o->via)
		FUZZ_CHECK(*o->via && in_args(o->via, argv, argc) &&
			   o->roads != BENCH_ROADS_DIRECT, "--via '%s'", o->via);
	if (o->ipcfs)
		FUZZ_CHECK(in_args(o->ipcfs, argv, argc), "--ipcfs");
	if (o->cdf)
		FUZZ_CHECK(in_args(o->cdf, argv, argc), "--cdf");
	FUZZ_CHECK(o->daemon_cpu == BENCH_DAEMON_CPU_AUTO ||
		   o->daemon_cpu == -1 ||
		   (o->daemon_cpu >= 0 && o->daemon_cpu < CPU_SETSIZE),
		   "daemon cpu %d", o->daemon_cpu);
}

/* the same answer twice: opts.c keeps nothing between calls */
static void check_same(const struct bench_opts *a, const struct bench_opts *b)
{
	FUZZ_CHECK(a->ntransports == b->ntransports &&
		   !memcmp(a->transports, b->transports,
			   sizeof(a->transports[0]) * a->ntransports) &&
		   a->nsizes == b->nsizes &&
		   !memcmp(a->sizes, b->sizes, sizeof(a->sizes[0]) * a->nsizes) &&
		   a->count == b->count && a->warmup == b->warmup &&
		   (a->count || a->duration == b->duration) &&
		   a->cpus == b->cpus && a->mode == b->mode &&
		   a->format == b->format && a->roads == b->roads &&
		   a->spin == b->spin && a->baseline == b->baseline &&
		   a->help == b->help && a->via == b->via &&
		   a->via_none == b->via_none && a->ipcfs == b->ipcfs &&
		   a->cdf == b->cdf && a->zmq_kind == b->zmq_kind &&
		   a->daemon_cpu == b->daemon_cpu && a->all == b->all &&
		   a->peer == b->peer && !memcmp(a->netns, b->netns, sizeof(a->netns)) &&
		   !memcmp(a->net_addr, b->net_addr, sizeof(a->net_addr)),
		   "a second parse differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 1] = { "direct" }, *err, *err2;
	static struct bench_opts o, o2;
	const char *e, *e2;
	size_t errlen, i, start;
	int argc = 1;

	if (size < 1)
		return 0;
	errlen = 1 + data[0];
	for (start = i = 1; size > 1 && i <= size && argc < MAX_ARGS; i++) {
		if (i < size && data[i])
			continue;
		argv[argc] = malloc(i - start + 1);
		FUZZ_CHECK(argv[argc], "malloc");
		memcpy(argv[argc], data + start, i - start);
		argv[argc++][i - start] = '\0';
		start = i + 1;
	}
	argv[argc] = NULL;
	err = malloc(errlen);
	err2 = malloc(errlen);
	FUZZ_CHECK(err && err2, "malloc");
	memset(err, 'x', errlen);
	e = bench_parse_opts(&o, argc, argv, err, errlen);
	e2 = bench_parse_opts(&o2, argc, argv, err2, errlen);
	if (e) {
		FUZZ_CHECK(e == err, "the message is not in err");
		FUZZ_CHECK(memchr(err, '\0', errlen), "err is not terminated");
		/* one that fits names the option or quotes the argument */
		FUZZ_CHECK(errlen < 3 || err[0] == '-' || err[0] == '\'',
			   "'%s' names no option", err);
		FUZZ_CHECK(e2 == err2 && !strcmp(err, err2),
			   "'%s', then '%s'", err, e2 ? err2 : "(accepted)");
	} else {
		FUZZ_CHECK(!e2, "accepted, then '%s'", err2);
		check_ok(&o, argv, argc);
		check_same(&o, &o2);
	}
	for (int a = 1; a < argc; a++)
		free(argv[a]);
	free(err);
	free(err2);
	return 0;
}
