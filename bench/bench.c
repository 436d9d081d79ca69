/*
 * bench.c - bench/direct: ping-pong (or stream) between a parent and a
 * forked child over every transport, without the filesystem.
 *
 *   direct                                   every transport, 100 B and 1 KiB
 *   direct -t pipe -s 4 -c 1000000 --cpus same --baseline
 *   direct -t unix,tcp -s 64K --mode stream --format csv
 *
 * Exit status: 0 every row ran, 1 a row failed or the bench was stopped,
 * 2 bad options (one line on stderr naming the option).
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

struct bench_row {
	struct bench_link link;
	struct bench_result res;
	bool ready;		/* probed: to be run */
};

__attribute__((noreturn, format(printf, 1, 2)))
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("direct: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* "0-1" style list of the CPUs we may run on; their count */
static int allowed_cpus(int *cpus, int max, char *list, size_t len)
{
	cpu_set_t set;
	int n = 0, c;
	size_t used = 0;

	list[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (n < max)
			cpus[n] = c;
		n++;
		if (used < len)
			used += snprintf(list + used, len - used, "%s%d",
					 n > 1 ? "," : "", c);
	}
	return n;
}

/* choose the CPUs for --cpus; exits 2 when split is impossible */
static void placement(struct bench_opts *o, struct bench_env *env)
{
	int cpus[2], n;
	char list[64];

	n = allowed_cpus(cpus, 2, list, sizeof(list));
	env->ncpus = n;
	if (o->cpus == BENCH_CPUS_SPLIT && n < 2) {
		if (o->cpus_set)
			usage_error("--cpus: 'split' needs two CPUs, only %s "
				    "is allowed here (same, split, none)", list);
		o->cpus = BENCH_CPUS_SAME;	/* the default, on one CPU */
	}
	switch (o->cpus) {
	case BENCH_CPUS_SAME:
		env->cpu_parent = env->cpu_child = cpus[0];
		snprintf(env->placement, sizeof(env->placement),
			 "same (parent and child on CPU %d)", cpus[0]);
		break;
	case BENCH_CPUS_SPLIT:
		env->cpu_parent = cpus[0];
		env->cpu_child = cpus[1];
		snprintf(env->placement, sizeof(env->placement),
			 "split (parent on CPU %d, child on CPU %d)", cpus[0],
			 cpus[1]);
		break;
	case BENCH_CPUS_NONE:
		env->cpu_parent = env->cpu_child = -1;
		snprintf(env->placement, sizeof(env->placement),
			 "none (unpinned; CPUs %s allowed)", list);
		break;
	}
}

/* big mqueue messages count against RLIMIT_MSGQUEUE (800 KiB default) */
static void raise_mq_limit(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (setrlimit(RLIMIT_MSGQUEUE, &rl) == 0)
		return;
	if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_MSGQUEUE, &rl);
	}
}

static void row_init(struct bench_row *row, size_t size,
		     const struct bench_opts *o)
{
	struct bench_result *r = &row->res;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", row->link.name);
	r->size = size;
	r->mode = o->mode;
	bench_hist_init(&r->hist);
}

static void row_mark(struct bench_row *row, enum bench_status st,
		     const char *what, int err)
{
	row->res.status = st;
	row->ready = false;
	snprintf(row->res.error, sizeof(row->res.error), "%s%s%s (%s)",
		 what ? what : "", what ? ": " : "", strerror(-err),
		 strerrorname_np(-err) ?: "?");
}

/* every row, in print order: per size, each transport then its classic */
static struct bench_row *make_rows(const struct bench_opts *o, int *nrows)
{
	struct ipc_opts io = { .spin = o->spin, .zmq_kind = o->zmq_kind };
	struct bench_row *rows, *row;
	int s, i, n = 0;

	rows = calloc((size_t)o->nsizes * o->ntransports * 2, sizeof(*rows));
	if (!rows) {
		perror("direct: calloc");
		exit(1);
	}
	for (s = 0; s < o->nsizes; s++) {
		for (i = 0; i < o->ntransports; i++) {
			row = &rows[n++];
			bench_link_ipc(&row->link, o->transports[i], &io);
			row_init(row, o->sizes[s], o);
			row->ready = true;
			if (!o->baseline)
				continue;
			row = &rows[n];
			if (!bench_link_classic(&row->link,
						o->transports[i]->name))
				continue;
			n++;
			row_init(row, o->sizes[s], o);
			row->ready = true;
			if (o->mode == BENCH_STREAM &&
			    strcmp(o->transports[i]->name, "udp") == 0) {
				row->ready = false;
				row->res.status = BENCH_SKIPPED;
				snprintf(row->res.error,
					 sizeof(row->res.error),
					 "plain UDP has no flow control: "
					 "a stream would lose datagrams");
			}
		}
	}
	*nrows = n;
	return rows;
}

/* open and close every row's link before anything runs: sizes above a
 * mechanism's limit are bad input (or skipped rows under "all") */
static void probe_rows(const struct bench_opts *o, struct bench_row *rows,
		       int nrows)
{
	struct bench_row *row;
	char size[16];
	int i, ret;

	for (i = 0; i < nrows; i++) {
		row = &rows[i];
		if (!row->ready)
			continue;
		ret = bench_probe(&row->link, row->res.size);
		if (ret == 0)
			continue;
		if (ret == -EMSGSIZE && !o->all && !row->link.classic)
			usage_error("--size: %s is above what %s can carry (%s)",
				    bench_size_str(row->res.size, size,
						   sizeof(size)),
				    row->link.name, strerror(EMSGSIZE));
		if (ret == -EMSGSIZE)
			row_mark(row, BENCH_SKIPPED, "size above its limit",
				 ret);
		else
			row_mark(row, BENCH_FAILED, "create", ret);
	}
}

int main(int argc, char **argv)
{
	struct bench_run_params p = { 0 };
	struct bench_env env;
	struct bench_opts o;
	struct bench_row *rows;
	char err[512];
	int i, nrows, nfailed = 0;
	bool fatal = false;

	if (bench_parse_opts(&o, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "direct: %s\n", err);
		return 2;
	}
	if (o.help) {
		bench_usage(stdout);
		return 0;
	}
	bench_env_init(&env);
	placement(&o, &env);
	if (o.spin && o.cpus == BENCH_CPUS_SAME)
		fprintf(stderr, "direct: note: --spin with --cpus same: the "
			"spinning side holds the only CPU until preempted\n");
	bench_signals_init();
	raise_mq_limit();
	rows = make_rows(&o, &nrows);
	probe_rows(&o, rows, nrows);

	p.mode = o.mode;
	p.count = o.count;
	p.duration = o.duration;
	p.warmup = o.warmup;
	p.warmup_max_s = o.warmup_set ? 0 : BENCH_DEFAULT_WARMUP_S;
	p.cpu_parent = env.cpu_parent;
	p.cpu_child = env.cpu_child;
	p.progress = isatty(STDERR_FILENO);

	bench_report_begin(stdout, &o, &env);
	for (i = 0; i < nrows && !fatal; i++) {
		struct bench_row *row = &rows[i];

		if (bench_interrupted())
			break;
		if (row->ready) {
			p.size = row->res.size;
			bench_run(&row->link, &p, &row->res);
		}
		if (row->res.status == BENCH_FAILED ||
		    row->res.status == BENCH_FATAL)
			nfailed++;
		bench_report_row(stdout, &o, &row->res);
		if (row->res.status == BENCH_FATAL) {
			fprintf(stderr, "direct: %s\n", row->res.error);
			fatal = true;
		}
	}
	bench_report_end(stdout, &o, nfailed);
	free(rows);
	if (bench_interrupted()) {
		if (!fatal)
			fprintf(stderr, "direct: interrupted\n");
		return 130;
	}
	if (nfailed && !fatal)
		fprintf(stderr, "direct: %d row%s failed\n", nfailed,
			nfailed == 1 ? "" : "s");
	return nfailed ? 1 : 0;
}
