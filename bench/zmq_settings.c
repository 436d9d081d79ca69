/*
 * zmq_settings.c - bench/zmq-settings: which ZeroMQ set-up ping-pongs
 * fastest here. Raw libzmq loops (classic_zmq.c) in each shape (PAIR,
 * PUSH/PULL both ways, DEALER/ROUTER, DEALER/DEALER, REQ/REP), over tcp://
 * and ipc://, with one or two I/O threads, ZMQ_IMMEDIATE and a high-water
 * mark of 1, then the library's zmq (duplex, tcp:// and ipc://), all
 * through bench/run.c's loop. Rounds alternate the rows; each row's
 * figure is the median of its rounds, and its ratio the median of its
 * per-round ratios to the plain PAIR over tcp:// of the same round.
 *
 * usage: zmq-settings [-r ROUNDS] [-d SECONDS] [-s SIZE]   (3, 1, 100)
 * Parent on CPU 0, child on CPU 1 (when there are two).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "bench.h"

#define ROUNDS_MAX	15

/* a raw libzmq set-up (socket types by side), or the library's (types 0) */
static const struct variant {
	const char *name;
	struct bench_zmq_cfg cfg;	/* type[parent, child], kind, I/O threads, immediate, hwm */
} variants[] = {
	{ "PAIR tcp (plain)", { { ZMQ_PAIR, ZMQ_PAIR }, "tcp", 1, false, 0 } },
	{ "PAIR ipc", { { ZMQ_PAIR, ZMQ_PAIR }, "ipc", 1, false, 0 } },
	{ "PUSH/PULL x2 tcp", { { ZMQ_PUSH, ZMQ_PULL }, "tcp", 1, false, 0 } },
	{ "PUSH/PULL x2 ipc", { { ZMQ_PUSH, ZMQ_PULL }, "ipc", 1, false, 0 } },
	{ "ROUTER/DEALER tcp", { { ZMQ_ROUTER, ZMQ_DEALER }, "tcp", 1, false, 0 } },
	{ "DEALER/DEALER tcp", { { ZMQ_DEALER, ZMQ_DEALER }, "tcp", 1, false, 0 } },
	{ "REP/REQ tcp", { { ZMQ_REP, ZMQ_REQ }, "tcp", 1, false, 0 } },
	{ "PAIR tcp, 2 I/O threads", { { ZMQ_PAIR, ZMQ_PAIR }, "tcp", 2, false, 0 } },
	{ "PAIR tcp, IMMEDIATE", { { ZMQ_PAIR, ZMQ_PAIR }, "tcp", 1, true, 0 } },
	{ "PAIR tcp, HWM 1", { { ZMQ_PAIR, ZMQ_PAIR }, "tcp", 1, false, 1 } },
	{ "library zmq tcp", { { 0, 0 }, "tcp", 1, false, 0 } },
	{ "library zmq ipc", { { 0, 0 }, "ipc", 1, false, 0 } },
};

#define NVARIANTS	(int)(sizeof(variants) / sizeof(variants[0]))

static struct bench_link *variant_link(const struct variant *v)
{
	struct ipc_opts io = { .zmq_kind = v->cfg.kind };

	if (!v->cfg.type[BENCH_PARENT])
		return bench_link_ipc(ipc_transport_find("zmq"), &io, NULL);
	return bench_link_classic_zmq(&v->cfg, v->name);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* one round: every variant once, round trips per second into rate[] */
static void run_round(const struct bench_run_params *p, double *rate)
{
	struct bench_result r;
	struct bench_link *l;

	for (int i = 0; i < NVARIANTS && !bench_interrupted(); i++) {
		l = variant_link(&variants[i]);
		bench_result_init(&r, l, p->size, p->mode);
		if (bench_run(l, p, &r) != BENCH_OK)
			errx(1, "%s: %s", variants[i].name, r.error);
		rate[i] = (double)r.count / r.seconds;
		free(l);
	}
}

int main(int argc, char **argv)
{
	struct bench_run_params p = { .size = 100, .duration = 1.0,
				      .warmup = 1000, .warmup_max_s = 0.2,
				      .cpu_parent = 0, .cpu_child = 1 };
	static double rate[ROUNDS_MAX][NVARIANTS];
	double col[ROUNDS_MAX], ratio[ROUNDS_MAX];
	int rounds = 3, c;

	while ((c = getopt(argc, argv, "r:d:s:")) != -1) {
		if (c == 'r' && (rounds = atoi(optarg)) >= 1 && rounds <= ROUNDS_MAX)
			continue;
		if (c == 'd' && (p.duration = atof(optarg)) > 0)
			continue;
		if (c == 's' && bench_parse_size(optarg, &p.size) == 0 && p.size)
			continue;
		errx(2, "usage: %s [-r ROUNDS (1-%d)] [-d SECONDS] [-s SIZE]",
		     argv[0], ROUNDS_MAX);
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		p.cpu_child = 0;
	bench_run_init();
	printf("# zmq settings: ping-pong, %zu B, %d rounds of %.1f s per row, "
	       "rows alternated; parent on CPU %d, child on CPU %d\n"
	       "# rt/s: median of the rounds; ratio: median per-round ratio "
	       "to the plain PAIR over tcp://\n", p.size, rounds, p.duration,
	       p.cpu_parent, p.cpu_child);
	for (int r = 0; r < rounds; r++)
		run_round(&p, rate[r]);
	if (bench_interrupted())
		return 1;
	printf("%-26s %10s %10s %10s %7s\n", "setting", "rt/s", "min", "max",
	       "ratio");
	for (int i = 0; i < NVARIANTS; i++) {
		for (int r = 0; r < rounds; r++) {
			col[r] = rate[r][i];
			ratio[r] = rate[r][i] / rate[r][0];
		}
		printf("%-26s %10.0f", variants[i].name, median(col, rounds));
		printf(" %10.0f %10.0f %7.3f\n", col[0], col[rounds - 1],
		       median(ratio, rounds));
	}
	return 0;
}
