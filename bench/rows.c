/* rows.c - per size: each transport (direct, classic, mount), the control,
 * the floor; a line pairs direct and mount; all probed before any runs.
 * Across hosts: direct for zmq (the library) and tcp (raw), no floor */
#include <err.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

struct row {
	struct bench_link *link;
	struct bench_result res;
	bool ready;		/* probed: to be run */
};

/* one line of the combined table: direct and/or mount */
struct line {
	struct row *d, *m;
};

struct rows {
	struct row *row;
	struct line *line;
	int nrows, nlines;
};

__attribute__((format(printf, 3, 4)))
static void row_mark(struct row *row, enum bench_status st, const char *fmt, ...)
{
	va_list ap;

	row->res.status = st;
	row->ready = false;
	va_start(ap, fmt);
	vsnprintf(row->res.error, sizeof(row->res.error), fmt, ap);
	va_end(ap);
}

/* a row of link l at size, as line's d or m */
static struct row *add(struct rows *rs, struct bench_link *l, size_t size,
		       const struct bench_opts *o, struct row **slot)
{
	struct row *row = &rs->row[rs->nrows++];

	row->link = l;
	bench_result_init(&row->res, l, size, o->mode);
	row->ready = true;
	*slot = row;
	return row;
}

/* the control row: in the default set, and whenever it was named */
static bool wants_control(const struct bench_opts *o)
{
	for (int i = 0; i < o->ntransports; i++)
		if (o->transports[i]->caps & IPC_LOCAL)
			return false;	/* already a line of its own */
	return bench_uses_mount(o) && (!o->transports_set || o->all);
}

/* the daemon lists its control channel only when mounted with -o control */
static void row_control(struct row *row, const char *mount)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", mount, row->link->name);
	if (stat(path, &st) < 0)
		row_mark(row, BENCH_SKIPPED, "%s has no %s: mount ipcfs with "
			 "-o control for the control row", mount, row->link->name);
}

/* the raw-fd (or raw-libzmq) row of t, or NULL if it has none */
static struct bench_link *classic_of(const struct ipc_transport *t, const struct bench_opts *o)
{
#if HAVE_ZMQ
	struct bench_zmq_cfg cfg;

	if (strcmp(t->name, "zmq") == 0) {
		bench_zmq_cfg_plain(&cfg, o->zmq_kind);
		return bench_link_classic_zmq(&cfg, "zmq(classic)");
	}
#endif
	return bench_link_classic(t->name, NULL);
}

/* the raw shared-memory loops spin and never yield */
#define SPIN_ONLY	"spins without yielding: on one CPU each hand-over " \
			"waits for a scheduler tick"

/* the first transport asked for with a shared-memory ring, or NULL */
static const struct ipc_transport *first_ring(const struct bench_opts *o)
{
	for (int i = 0; i < o->ntransports; i++)
		if (o->transports[i]->caps & IPC_RING)
			return o->transports[i];
	return NULL;
}

/* a transport's rows at one size: direct, classic, mount */
static void add_transport(struct rows *rs, const struct bench_opts *o, const struct bench_env *env,
			  const struct ipc_transport *t, size_t size)
{
	struct ipc_opts io = { .spin = o->spin, .sleep = o->sleep,
			       .zmq_kind = o->zmq_kind };
	struct line *ln = &rs->line[rs->nlines++];
	const struct bench_net *net = env->net;
	bool zmq = !strcmp(t->name, "zmq");
	struct bench_link *l;
	struct row *row;

	/* not IPC (the control): it has no direct road; across hosts only
	 * zmq (the library's) and tcp (raw sockets) have one */
	if (net && (zmq || !strcmp(t->name, "tcp")))
		add(rs, zmq ? bench_link_ipc(t, &io, net) : bench_link_classic("tcp", net),
		    size, o, &ln->d);
	else if (!net && bench_uses_direct(o) && !(t->caps & IPC_LOCAL))
		add(rs, bench_link_ipc(t, &io, NULL), size, o, &ln->d);
	l = bench_uses_direct(o) && o->baseline ? classic_of(t, o) : NULL;
	if (l) {
		row = add(rs, l, size, o, &rs->line[rs->nlines++].d);
		if (o->mode == BENCH_STREAM && strcmp(t->name, "udp") == 0)
			row_mark(row, BENCH_SKIPPED, "plain UDP has no flow "
				 "control: a stream would lose datagrams");
		if (o->mode == BENCH_STREAM && strcmp(t->name, "eventfd") == 0)
			row_mark(row, BENCH_SKIPPED, "two raw eventfds ring for "
				 "one slot each way: a ping-pong, not a stream");
		if (o->cpus == BENCH_CPUS_SAME &&
		    (!strcmp(t->name, "shm") || !strcmp(t->name, "mmap")))
			row_mark(row, BENCH_SKIPPED, SPIN_ONLY);
	}
	/* the bound of the shared-memory rows, after the first ring */
	if (bench_uses_direct(o) && o->baseline && !net && t == first_ring(o)) {
		row = add(rs, bench_link_classic("cacheline", NULL), size, o,
			  &rs->line[rs->nlines++].d);
		if (o->mode == BENCH_STREAM)
			row_mark(row, BENCH_SKIPPED, "one flag each way, no data: "
				 "a ping-pong, not a stream");
		else if (o->cpus == BENCH_CPUS_SAME)
			row_mark(row, BENCH_SKIPPED, SPIN_ONLY);
	}
	if (!bench_uses_mount(o))
		return;
	row = add(rs, bench_link_mount(t, env->mount, o->peer), size, o, &ln->m);
	if (t->caps & IPC_LOCAL)	/* the daemon shows it when asked */
		row_control(row, env->mount);
}

/* every row; the array for the results as they are done */
static const struct bench_result **make_rows(struct rows *rs, const struct bench_opts *o,
					     const struct bench_env *env)
{
	const struct ipc_transport *control = ipc_transport_find("plainmem");
	size_t max = (size_t)o->nsizes * (o->ntransports * 3 + 4);
	const struct bench_result **done = bench_calloc(max, sizeof(*done));
	struct row *row;

	rs->row = bench_calloc(max, sizeof(*rs->row));
	rs->line = bench_calloc(max, sizeof(*rs->line));
	for (int s = 0; s < o->nsizes; s++) {
		for (int i = 0; i < o->ntransports; i++)
			add_transport(rs, o, env, o->transports[i], o->sizes[s]);
		if (wants_control(o) && control) {
			row = add(rs, bench_link_mount(control, env->mount, o->peer),
				  o->sizes[s], o, &rs->line[rs->nlines++].m);
			row_control(row, env->mount);
		}
		for (int i = 0; i < 2 && bench_uses_mount(o) && env->floor; i++)
			add(rs, bench_link_floor(env->floor, o->mode, i),
			    o->sizes[s], o, &rs->line[rs->nlines++].m);
	}
	return done;
}

/* open and close every row's link before anything runs: sizes above a
 * mechanism's limit are bad input (or skipped rows under "all", sweep) */
static void probe_rows(const struct bench_opts *o, struct rows *rs)
{
	struct row *row;
	char size[16];
	int ret;

	for (row = rs->row; row < rs->row + rs->nrows; row++) {
		ret = row->ready ? bench_probe(row->link, row->res.size) : 0;
		if (ret == -EMSGSIZE && !o->all && !o->sweep && !row->link->classic)
			bench_usage_error("--size: %s is above what %s can carry%s (%s)",
					  bench_size_str(row->res.size, size, sizeof(size)),
					  row->link->name, row->link->road == BENCH_ROAD_MOUNT ?
					  " through the mount" : "", strerror(EMSGSIZE));
		if (ret < 0)
			row_mark(row, ret == -EMSGSIZE ? BENCH_SKIPPED :
				 BENCH_FAILED, "%s: %s (%s)", ret == -EMSGSIZE ?
				 "size above its limit" : "create",
				 strerror(-ret), strerrorname_np(-ret) ?: "?");
	}
}

/* run one row and print it; false when it was fatal */
static bool run_row(struct row *row, const struct bench_opts *o, const struct bench_env *env,
		    struct bench_run_params *p, FILE *cdf)
{
	const char *road = bench_road_names[row->link->road];

	if (row->ready) {
		p->size = row->res.size;
		p->daemon = row->link->road == BENCH_ROAD_MOUNT ? env->ipcfs_pid :
			    row->link->road == BENCH_ROAD_FLOOR ? env->nullfs_pid : 0;
		bench_run(row->link, p, &row->res);
	}
	if (cdf && row->res.status == BENCH_OK)
		bench_report_cdf(cdf, &row->res);
	if (!bench_paired(o) || o->format != BENCH_TABLE)
		bench_report_row(stdout, o, &row->res);
	if (row->res.status != BENCH_FATAL)
		return true;
	warnx("%s%s%s", row->link->road ? road : "", row->link->road ? ": " : "",
	      row->res.error);
	bench_mounts_check(row->link->road);
	return false;
}

int bench_rows(const struct bench_opts *o, const struct bench_env *env,
	       FILE *cdf, bool *fatal)
{
	struct bench_run_params p = {
		.mode = o->mode, .count = o->count, .duration = o->duration,
		.warmup = o->warmup, .warmup_max_s = o->warmup_set ? 0 : BENCH_DEFAULT_WARMUP_S,
		.cpu_parent = env->cpu_parent, .cpu_child = env->cpu_child, .net = env->net,
		.progress = isatty(STDERR_FILENO),
	};
	struct rows rs = { 0 };
	const struct bench_result **done = make_rows(&rs, o, env);
	int i, j, ndone = 0, nfailed = 0;

	probe_rows(o, &rs);
	bench_report_begin(stdout, o, env);
	for (i = 0, *fatal = false; i < rs.nlines && !*fatal; i++) {
		struct row *pair[2] = { rs.line[i].d, rs.line[i].m };

		for (j = 0; j < 2 && !*fatal && !bench_interrupted(); j++) {
			if (!pair[j])
				continue;
			*fatal = !run_row(pair[j], o, env, &p, cdf);
			done[ndone++] = &pair[j]->res;
			nfailed += pair[j]->res.status == BENCH_FAILED ||
				   pair[j]->res.status == BENCH_FATAL;
		}
		if (bench_interrupted())
			break;
		if (bench_paired(o) && o->format == BENCH_TABLE)
			bench_report_pair(stdout, o, pair[0] ? &pair[0]->res : NULL,
					  pair[1] ? &pair[1]->res : NULL);
	}
	bench_report_summary(stdout, o, done, ndone);
	bench_report_end(stdout, o, nfailed);
	for (i = 0; i < rs.nrows; i++)
		free(rs.row[i].link);
	free(done);
	free(rs.line);
	free(rs.row);
	return nfailed;
}
