/*
 * bench.c - bench/direct: ping-pong (or stream) between a parent and a
 * forked child over every transport, directly (the transports library)
 * and through the files of an ipcfs mount, side by side, with the
 * control row (plainmem, through the mount only) and the FUSE floor
 * (bench/nullfs, a file system that answers every request at once).
 *
 *   direct                            mounts ipcfs and nullfs on temp dirs,
 *                                     every transport, 100 B and 1 KiB
 *   direct --via /mnt/ipc -t pipe     the mount at /mnt/ipc (and the floor)
 *   direct --via none                 the library only, no mount
 *   direct -t pipe -s 4 -c 1000000 --cpus same --baseline --via none
 *   direct --mode stream              4K, 64K, 1M through both roads
 *   direct --format csv --cdf cdf.csv && bench/plot.sh ...
 *
 * Our mounts are undone at the end, on ^C (SIGINT, SIGTERM, SIGHUP) and
 * on errors (atexit).
 *
 * Exit status: 0 every row ran, 1 a row failed or the bench was stopped
 * or a mount failed, 2 bad options (one line on stderr naming the option).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#ifndef BENCH_IPCFS_PATH	/* meson: fs/ipcfs of this build tree */
#define BENCH_IPCFS_PATH ""
#endif
#ifndef BENCH_NULLFS_PATH	/* meson: bench/nullfs of this build tree */
#define BENCH_NULLFS_PATH ""
#endif

struct bench_row {
	struct bench_link link;
	struct bench_result res;
	bool ready;		/* probed: to be run */
};

/* one line of the combined table: direct and/or mount */
struct bench_line {
	struct bench_row *d, *m;
};

/* the mounts of this run: ipcfs (unless --via) and the floor's nullfs */
static struct bench_mount ipcfs_mount, null_mount;
static bool ipcfs_ours, null_ours;

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

/*
 * Choose the CPUs for --cpus; exits 2 when split is impossible. The mount
 * road has a third process, the daemon: with `same` it shares the one CPU;
 * with `split` it gets a third CPU if there is one, else it is left
 * unpinned (it runs where the scheduler finds room); `none`: unpinned.
 */
static void placement(struct bench_opts *o, struct bench_env *env)
{
	int cpus[3], n;
	char list[64];

	n = allowed_cpus(cpus, 3, list, sizeof(list));
	env->ncpus = n;
	env->cpu_daemon = -1;
	if (o->cpus == BENCH_CPUS_SPLIT && n < 2) {
		if (o->cpus_set)
			usage_error("--cpus: 'split' needs two CPUs, only %s "
				    "is allowed here (same, split, none)", list);
		o->cpus = BENCH_CPUS_SAME;	/* the default, on one CPU */
	}
	switch (o->cpus) {
	case BENCH_CPUS_SAME:
		env->cpu_parent = env->cpu_child = cpus[0];
		env->cpu_daemon = cpus[0];
		snprintf(env->placement, sizeof(env->placement),
			 "same (parent and child on CPU %d)", cpus[0]);
		break;
	case BENCH_CPUS_SPLIT:
		env->cpu_parent = cpus[0];
		env->cpu_child = cpus[1];
		env->cpu_daemon = n >= 3 ? cpus[2] : -1;
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
	if (o->daemon_cpu != BENCH_DAEMON_CPU_AUTO)
		env->cpu_daemon = o->daemon_cpu;
}

/* pin our daemons as placement() chose; say where they run */
static void place_daemons(const struct bench_opts *o, struct bench_env *env)
{
	char where[64], mine[96];
	int ret = 0;

	if (o->daemon_cpu != BENCH_DAEMON_CPU_AUTO)
		snprintf(where, sizeof(where), env->cpu_daemon >= 0 ?
			 "pinned on CPU %d (--daemon-cpu)" :
			 "unpinned (--daemon-cpu none)", env->cpu_daemon);
	else if (env->cpu_daemon >= 0)
		snprintf(where, sizeof(where), "pinned on CPU %d%s",
			 env->cpu_daemon, o->cpus == BENCH_CPUS_SAME ?
			 " with parent and child" : " (a CPU of its own)");
	else if (o->cpus == BENCH_CPUS_SPLIT)
		snprintf(where, sizeof(where), "unpinned (no third CPU: "
			 "it runs where there is room)");
	else
		snprintf(where, sizeof(where), "unpinned");
	if (ipcfs_ours)
		ret |= bench_mount_pin(&ipcfs_mount, env->cpu_daemon);
	if (null_ours)
		ret |= bench_mount_pin(&null_mount, env->cpu_daemon);
	if (ret)
		snprintf(where + strlen(where), sizeof(where) - strlen(where),
			 " (pinning failed)");
	snprintf(mine, sizeof(mine), "%s%s%s", ipcfs_ours ? "ipcfs" : "",
		 ipcfs_ours && null_ours ? " and " : "",
		 null_ours ? "nullfs" : "");
	snprintf(env->daemon_place, sizeof(env->daemon_place), "%s %s%s",
		 mine[0] ? mine : "none of ours", where,
		 ipcfs_ours ? "" : "; ipcfs (--via) is not ours: left as "
		 "it is");
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
	r->road = row->link.road;
	r->size = size;
	r->mode = o->mode;
	bench_hist_init(&r->hist);
	row->ready = true;
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

/* the control row: in the default set, and whenever it was named */
static bool wants_control(const struct bench_opts *o)
{
	int i;

	if (!bench_uses_mount(o))
		return false;
	for (i = 0; i < o->ntransports; i++)
		if (o->transports[i]->caps & IPC_LOCAL)
			return false;	/* already a line of its own */
	return !o->transports_set || o->all;
}

/*
 * Every row, in print order: per size, each transport (direct, its
 * classic baseline, mount), then the control and the floor. Lines pair a
 * transport's direct and mount rows for the combined table.
 */
static struct bench_row *make_rows(const struct bench_opts *o,
				   const struct bench_env *env, int *nrows,
				   struct bench_line **lines, int *nlines)
{
	struct ipc_opts io = { .spin = o->spin, .zmq_kind = o->zmq_kind };
	const struct ipc_transport *control = ipc_transport_find("plainmem");
	struct bench_row *rows, *row;
	struct bench_line *ln;
	size_t max = (size_t)o->nsizes * (o->ntransports * 3 + 3);
	int s, i, n = 0, nl = 0;

	rows = calloc(max, sizeof(*rows));
	*lines = calloc(max, sizeof(**lines));
	if (!rows || !*lines) {
		perror("direct: calloc");
		exit(1);
	}
	for (s = 0; s < o->nsizes; s++) {
		for (i = 0; i < o->ntransports; i++) {
			const struct ipc_transport *t = o->transports[i];

			ln = &(*lines)[nl++];
			/* not IPC (the control): it has no direct road */
			if (bench_uses_direct(o) && !(t->caps & IPC_LOCAL)) {
				row = &rows[n++];
				bench_link_ipc(&row->link, t, &io);
				row_init(row, o->sizes[s], o);
				ln->d = row;
			}
			if (bench_uses_direct(o) && o->baseline &&
			    bench_link_classic(&rows[n].link, t->name)) {
				row = &rows[n++];
				row_init(row, o->sizes[s], o);
				(*lines)[nl++].d = row;
				if (o->mode == BENCH_STREAM &&
				    strcmp(t->name, "udp") == 0) {
					row->ready = false;
					row->res.status = BENCH_SKIPPED;
					snprintf(row->res.error,
						 sizeof(row->res.error),
						 "plain UDP has no flow control: "
						 "a stream would lose datagrams");
				}
			}
			if (bench_uses_mount(o)) {
				row = &rows[n++];
				bench_link_mount(&row->link, t, env->mount);
				row_init(row, o->sizes[s], o);
				ln->m = row;
			}
		}
		if (wants_control(o) && control) {
			row = &rows[n++];
			bench_link_mount(&row->link, control, env->mount);
			row_init(row, o->sizes[s], o);
			(*lines)[nl++].m = row;
		}
		for (i = 0; i < 2 && bench_uses_mount(o) && env->floor; i++) {
			row = &rows[n++];
			bench_link_floor(&row->link, env->floor, o->mode, i);
			row_init(row, o->sizes[s], o);
			(*lines)[nl++].m = row;
		}
	}
	*nrows = n;
	*nlines = nl;
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
			usage_error("--size: %s is above what %s can carry%s (%s)",
				    bench_size_str(row->res.size, size,
						   sizeof(size)),
				    row->link.name,
				    row->link.road == BENCH_ROAD_MOUNT ?
				    " through the mount" : "",
				    strerror(EMSGSIZE));
		if (ret == -EMSGSIZE)
			row_mark(row, BENCH_SKIPPED, "size above its limit",
				 ret);
		else
			row_mark(row, BENCH_FAILED, "create", ret);
	}
}

/* mount ipcfs (unless --via) and the floor's nullfs; exits 1 on failure */
static void mount_all(const struct bench_opts *o, struct bench_env *env)
{
	static char ipcfs_exe[PATH_MAX], null_exe[PATH_MAX];
	static char how[PATH_MAX + 64];
	char err[PATH_MAX + 256], stats[PATH_MAX], self[PATH_MAX];
	const char *exe;
	struct stat st;
	ssize_t n;

	if (!bench_uses_mount(o))
		return;
	atexit(bench_mount_cleanup);
	if (o->via) {
		snprintf(stats, sizeof(stats), "%s/stats", o->via);
		if (stat(stats, &st) < 0)
			usage_error("--via: %s: no stats file (%s): not an "
				    "ipcfs mount (or none)", o->via,
				    strerror(errno));
		env->mount = o->via;
		env->mount_how = "given with --via";
	} else {
		exe = bench_find_daemon(o->ipcfs, "IPCFS", BENCH_IPCFS_PATH,
					"ipcfs", ipcfs_exe, sizeof(ipcfs_exe));
		if (!exe) {
			fprintf(stderr, "direct: the ipcfs daemon: %s is not "
				"an executable (--ipcfs PATH, $IPCFS, or --via "
				"none for the direct road only)\n", ipcfs_exe);
			exit(1);
		}
		if (bench_mount_start(&ipcfs_mount, "ipcfs", exe, err,
				      sizeof(err)) < 0) {
			fprintf(stderr, "direct: %s\n", err);
			exit(1);
		}
		ipcfs_ours = true;
		env->mount = ipcfs_mount.dir;
		snprintf(how, sizeof(how), "mounted for this run (%s, pid %d)",
			 exe, (int)ipcfs_mount.pid);
		env->mount_how = how;
	}
	/* the floor: next to us, else the build tree's, else $PATH */
	n = readlink("/proc/self/exe", self, sizeof(self) - 8);
	if (n > 0) {
		self[n] = '\0';
		snprintf(strrchr(self, '/') ? strrchr(self, '/') + 1 : self,
			 8, "nullfs");
	} else {
		self[0] = '\0';
	}
	exe = bench_find_daemon(NULL, "NULLFS", self[0] && !access(self, X_OK) ?
				self : BENCH_NULLFS_PATH, "nullfs", null_exe,
				sizeof(null_exe));
	if (!exe) {
		fprintf(stderr, "direct: no floor row: %s\n", null_exe);
		return;
	}
	if (bench_mount_start(&null_mount, "nullfs", exe, err,
			      sizeof(err)) < 0) {
		fprintf(stderr, "direct: no floor row: %s\n", err);
		return;
	}
	null_ours = true;
	env->floor = null_mount.dir;
}

static void unmount_all(void)
{
	if (ipcfs_ours)
		bench_mount_stop(&ipcfs_mount);
	if (null_ours)
		bench_mount_stop(&null_mount);
}

/* after a fatal row through a mount: did its daemon die? */
static void daemon_check(const struct bench_row *row)
{
	struct bench_mount *m = row->link.road == BENCH_ROAD_FLOOR ?
				&null_mount : &ipcfs_mount;
	char why[64];

	if (row->link.road == BENCH_ROAD_DIRECT ||
	    (m == &ipcfs_mount && !ipcfs_ours) ||
	    (m == &null_mount && !null_ours))
		return;
	if (bench_mount_dead(m, why, sizeof(why)))
		fprintf(stderr, "direct: %s (%s -f %s) %s during the run\n",
			m->what, m->exe, m->dir, why);
}

/*
 * The floor's sides run free: one round trip (message) is one loop of
 * each, so the count is the parent's scaled by (1 + child/parent) / 2.
 */
static void floor_count(struct bench_row *row)
{
	struct bench_result *r = &row->res;
	double ratio = row->link.floor_ratio;

	if (row->link.road != BENCH_ROAD_FLOOR || !(ratio > 0))
		return;
	r->count = (uint64_t)((double)r->count * (1 + ratio) / 2 + 0.5);
}

static void report_row(FILE *f, FILE *cdf, const struct bench_opts *o,
		       const struct bench_row *row)
{
	if (cdf && row->res.status == BENCH_OK)
		bench_report_cdf(cdf, &row->res);
	if (o->roads != BENCH_ROADS_BOTH || o->format != BENCH_TABLE)
		bench_report_row(f, o, &row->res);
}

int main(int argc, char **argv)
{
	struct bench_run_params p = { 0 };
	const struct bench_result **done;
	struct bench_line *lines;
	struct bench_env env;
	struct bench_opts o;
	struct bench_row *rows;
	FILE *cdf = NULL;
	char err[512];
	int i, j, nrows, nlines, ndone = 0, nfailed = 0;
	bool fatal = false;

	if (bench_parse_opts(&o, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "direct: %s\n", err);
		return 2;
	}
	if (o.help) {
		bench_usage(stdout);
		return 0;
	}
	if (o.cdf) {
		cdf = fopen(o.cdf, "we");
		if (!cdf)
			usage_error("--cdf: %s: %s", o.cdf, strerror(errno));
		bench_report_cdf_begin(cdf);
	}
	bench_env_init(&env);
	placement(&o, &env);
	if (o.spin && o.cpus == BENCH_CPUS_SAME)
		fprintf(stderr, "direct: note: --spin with --cpus same: the "
			"spinning side holds the only CPU until preempted\n");
	bench_signals_init();
	raise_mq_limit();
	mount_all(&o, &env);
	place_daemons(&o, &env);
	rows = make_rows(&o, &env, &nrows, &lines, &nlines);
	done = calloc(nrows ? nrows : 1, sizeof(*done));
	if (!done) {
		perror("direct: calloc");
		exit(1);
	}
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
	for (i = 0; i < nlines && !fatal; i++) {
		struct bench_row *pair[2] = { lines[i].d, lines[i].m };

		for (j = 0; j < 2 && !fatal; j++) {
			struct bench_row *row = pair[j];

			if (!row)
				continue;
			if (bench_interrupted())
				break;
			if (row->ready) {
				p.size = row->res.size;
				bench_run(&row->link, &p, &row->res);
				floor_count(row);
			}
			done[ndone++] = &row->res;
			if (row->res.status == BENCH_FAILED ||
			    row->res.status == BENCH_FATAL)
				nfailed++;
			report_row(stdout, cdf, &o, row);
			if (row->res.status == BENCH_FATAL) {
				fprintf(stderr, "direct: %s%s%s\n",
					row->link.road != BENCH_ROAD_DIRECT ?
					bench_road_name(row->link.road) : "",
					row->link.road != BENCH_ROAD_DIRECT ?
					": " : "", row->res.error);
				daemon_check(row);
				fatal = true;
			}
		}
		if (bench_interrupted())
			break;
		if (o.roads == BENCH_ROADS_BOTH && o.format == BENCH_TABLE)
			bench_report_pair(stdout, &o,
					  lines[i].d ? &lines[i].d->res : NULL,
					  lines[i].m ? &lines[i].m->res : NULL);
	}
	bench_report_summary(stdout, &o, done, ndone);
	bench_report_end(stdout, &o, nfailed);
	unmount_all();
	if (cdf && fclose(cdf) != 0)
		fprintf(stderr, "direct: --cdf %s: %s\n", o.cdf,
			strerror(errno));
	free(done);
	free(lines);
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
