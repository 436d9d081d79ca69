/*
 * report.c - a table ('#' lines of parameters above), CSV or JSON, a row as
 * it ends; latencies one-way (RTT/2). With both roads the table pairs
 * direct and mount, then compares control and floor.
 */
#include <math.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "bench.h"
#include "bench_git.h"	/* BENCH_GIT, made by vcs_tag at build time */

static const char csv_header[] = "mode,transport,size,warmup,count,seconds,msg_per_s,mb_per_s,"
	"oneway_avg_us,oneway_min_us,oneway_p50_us,oneway_p99_us,"
	"oneway_p999_us,oneway_max_us,cpu_us_per_msg,cpu_parent_s,"
	"cpu_child_s,cpus,cpu_parent,cpu_child,status,road,error,cpu_daemon_s,"
	"daemon_cpu_us_per_msg\n";

static const char *const status_names[] = { "ok", "skipped", "failed", "error" };

void bench_env_init(struct bench_env *env)
{
	char line[256], *p = NULL;
	time_t now = time(NULL);
	struct utsname u;
	struct tm tm;
	FILE *f;

	memset(env, 0, sizeof(*env));
	env->git = BENCH_GIT[0] ? BENCH_GIT : "unknown";
	env->cpu_parent = env->cpu_child = -1;
	if (uname(&u) == 0)
		snprintf(env->kernel, sizeof(env->kernel), "%s %s %s %s", u.sysname,
			 u.release, u.version, u.machine);
	f = fopen("/proc/cpuinfo", "re");
	while (f && !p && fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0 && (p = strchr(line, ':')))
			p += strspn(p + 1, " \t") + 1;
	if (p)
		p[strcspn(p, "\n")] = '\0';
	snprintf(env->cpu_model, sizeof(env->cpu_model), "%s", p ? p : "unknown");
	if (f)
		fclose(f);
	gmtime_r(&now, &tm);
	strftime(env->date, sizeof(env->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* a JSON string, or null; after `key` when there is one */
static void json_str(FILE *f, const char *key, const char *s)
{
	if (key)
		fprintf(f, "%s: ", key);
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static double per_s(const struct bench_result *r)
{
	return r->seconds > 0 ? (double)r->count / r->seconds : 0;
}

static double mb_s(const struct bench_result *r)
{
	return per_s(r) * (double)r->size / 1e6;
}

static double oneway_us(uint64_t rtt_ns)
{
	return (double)rtt_ns / 2 / 1000;
}

static double pct_us(const struct bench_result *r, double p)
{
	return oneway_us(bench_hist_percentile(&r->hist, p));
}

static double cpu_us(const struct bench_result *r)
{
	return r->count ? (r->cpu_parent + r->cpu_child) / (double)r->count * 1e6 : 0;
}

static double daemon_us(const struct bench_result *r)
{
	return r->count && r->cpu_daemon >= 0 ? r->cpu_daemon / (double)r->count * 1e6 : 0;
}

/* the table's cpu: parent + child, and the daemon that served the row */
static double cpu_all_us(const struct bench_result *r)
{
	return cpu_us(r) + daemon_us(r);
}

static const char *unit(const struct bench_opts *o)
{
	return o->mode == BENCH_STREAM ? "messages" : "round trips";
}

static void roads_begin(FILE *f, const struct bench_opts *o, const struct bench_env *env)
{
	bool net = o->roads == BENCH_ROADS_NET;

	if (!bench_uses_mount(o)) {
		fprintf(f, "# road: direct (the transports library between the two "
			"processes, no file system)\n");
		return;
	}
	if (net)
		fprintf(f, "# net road: parent and child on two hosts (network namespaces "
			"joined by a veth pair)\n# direct = zmq: the transports library, "
			"tcp: one raw TCP connection, between the hosts\n");
	else if (bench_paired(o))
		fprintf(f, "# direct = the transports library between the two processes, "
			"no file system\n");
	fprintf(f, "# mount = the same through the files of ipcfs at %s, %s:\n"
		"#   ping = MOUNT/T, pong = MOUNT/bench.<pid>.<n>/T (a fresh directory "
		"per row)%s\n", env->mount ? env->mount : "?", env->mount_how,
		net ? ";\n#   the parent opens them at MOUNT, the child through the "
		"peering" : "");
	if (bench_paired(o))
		fprintf(f, "# ratio = direct / mount: how many times slower through FUSE%s\n",
			net ? " and the peering" : "");
	fprintf(f, "# control = plainmem through the mount: plain memory inside the "
		"daemon, not IPC (the FUSE road%s alone)\n", net ? " and the peering" : "");
	if (net)
		fprintf(f, "# floor: not measured across hosts\n");
	else if (env->floor)
		fprintf(f, "# %s\n# %s\n#   (nullfs %s mounted at %s)\n",
			bench_floor_what(o->mode, false), bench_floor_what(o->mode, true),
			env->floor_exe ? env->floor_exe : "", env->floor);
	else
		fprintf(f, "# floor: not measured (nullfs not found or not mounted)\n");
	fprintf(f, "# daemons: %s\n", env->daemon_place);
}

static void table_header(FILE *f, const struct bench_opts *o)
{
	if (bench_paired(o) && o->mode == BENCH_PINGPONG)
		fprintf(f, "%-13s %6s %10s %10s %7s %8s %8s %8s %8s %8s %8s\n"
			"%-13s %6s %10s %10s %7s %8s %8s %8s %8s %8s %8s\n", "transport", "size",
			"direct", "mount", "ratio", "dir p50", "dir p99", "mnt p50", "mnt p99",
			"dir cpu", "mnt cpu", "", "[B]", "[rt/s]", "[rt/s]", "[x]", "[us]", "[us]",
			"[us]", "[us]", "[us/rt]", "[us/rt]");
	else if (bench_paired(o))
		fprintf(f, "%-13s %6s %10s %10s %7s %10s %10s %8s %8s\n%-13s %6s %10s %10s %7s "
			"%10s %10s %8s %8s\n", "transport", "size", "direct", "mount", "ratio",
			"direct", "mount", "dir cpu", "mnt cpu", "", "[B]", "[MB/s]", "[MB/s]", "[x]",
			"[msg/s]", "[msg/s]", "[us/msg]", "[us/msg]");
	else if (o->mode == BENCH_PINGPONG)
		fprintf(f, "%-18s %8s %7s %10s %10s %8s %8s %8s %8s %9s %8s\n"
			"%-18s %8s %7s %10s %10s %8s %8s %8s %8s %9s %8s\n", "transport",
			"size", "warmup", "msgs", "msg/s", "avg", "p50", "p99", "p99.9", "max",
			"cpu/msg", "", "[B]", "[rt]", "[rt]", "[rt/s]", "[us]", "[us]", "[us]",
			"[us]", "[us]", "[us]");
	else
		fprintf(f, "%-18s %8s %7s %10s %10s %10s %8s\n%-18s %8s %7s %10s %10s %10s "
			"%8s\n", "transport", "size", "warmup", "msgs", "msg/s", "MB/s",
			"cpu/msg", "", "[B]", "[msg]", "[msg]", "[msg/s]", "[MB/s]", "[us]");
}

/* what the cpu column counts: the daemons' share where there is one */
static void table_cpu_note(FILE *f, const struct bench_opts *o, const struct bench_env *env)
{
	fprintf(f, "# cpu = CPU time per %s [us]: parent + child", o->mode == BENCH_PINGPONG ?
		"round trip" : "message");
	if (!bench_uses_mount(o)) {
		fputc('\n', f);
		return;
	}
	fprintf(f, "; through the mount also the daemon's%s\n#   (every thread, "
		"its process clock over the timed part)%s\n", env->floor ?
		" (nullfs's on the floor)" : "", env->ipcfs_pid ? "" :
		"; ipcfs is not ours (--via): not counted");
}

static void table_begin(FILE *f, const struct bench_opts *o, const struct bench_env *env)
{
	bool pp = o->mode == BENCH_PINGPONG;

	if (pp)
		fprintf(f, "# %s: ping-pong between two processes; 1 %s = 1 round trip "
			"carrying the\n#   full message each way, checked on arrival on "
			"both sides\n# latency is one-way = RTT/2 [us]\n",
			bench_paired(o) ? "direct vs mount" : "direct",
			bench_paired(o) ? "rt" : "msg");
	else
		fprintf(f, "# %s: stream, the child sends, the parent receives and checks "
			"every message\n# MB/s counts 10^6 bytes of payload%s\n",
			bench_paired(o) ? "direct vs mount" : "direct", bench_paired(o) ?
			", one way" : "");
	table_cpu_note(f, o, env);
	fprintf(f, "# cpus: %s; each row: ", env->placement);
	if (o->count)
		fprintf(f, "%llu %s", (unsigned long long)o->count, unit(o));
	else
		fprintf(f, "%g s", o->duration);
	if (o->warmup_set)
		fprintf(f, " after %llu %s of warm-up", (unsigned long long)o->warmup, unit(o));
	else
		fprintf(f, " after up to %llu %s (at most %g s) of warm-up",
			(unsigned long long)o->warmup, unit(o), BENCH_DEFAULT_WARMUP_S);
	fprintf(f, "\n# spin %s%s; zmq %s; baseline %s\n", o->spin ? "on (ring transports)" :
		"off", o->sleep ? "; sleep at once (ring transports)" : "", o->zmq_kind, o->baseline ?
		"on: name(classic) rows use raw fds, not the library" : "off");
	fprintf(f, "# %s; %s, %d CPUs; git %s; %s\n", env->kernel, env->cpu_model,
		env->ncpus, env->git, env->date);
	roads_begin(f, o, env);
	table_header(f, o);
}

static void table_row(FILE *f, const struct bench_opts *o, const struct bench_result *r)
{
	const char *partial = r->status == BENCH_FATAL ? "  ERROR (partial)" : "";
	char size[16];

	bench_size_str(r->size, size, sizeof(size));
	if (r->status == BENCH_SKIPPED || r->status == BENCH_FAILED ||
	    (r->status == BENCH_FATAL && !r->count)) {
		fprintf(f, "%-18s %8s  %s: %s\n", r->name, size,
			r->status == BENCH_SKIPPED ? "skipped" :
			r->status == BENCH_FAILED ? "FAILED" : "ERROR", r->error);
		return;
	}
	fprintf(f, "%-18s %8s %7llu %10llu %10.0f", r->name, size,
		(unsigned long long)r->warmup, (unsigned long long)r->count, per_s(r));
	if (o->mode == BENCH_PINGPONG)
		fprintf(f, " %8.2f %8.2f %8.2f %8.2f %9.2f %8.2f%s\n",
			bench_hist_mean(&r->hist) / 2 / 1000, pct_us(r, 50), pct_us(r, 99),
			pct_us(r, 99.9), oneway_us(r->hist.max), cpu_all_us(r), partial);
	else
		fprintf(f, " %10.1f %8.2f%s\n", mb_s(r), cpu_all_us(r), partial);
}

static void csv_row(FILE *f, const struct bench_opts *o, const struct bench_result *r)
{
	const struct bench_hist *h = &r->hist;

	fprintf(f, "%s,%s,%zu,%llu,%llu,%.6f,%.1f,", bench_mode_names[r->mode], r->name,
		r->size, (unsigned long long)r->warmup, (unsigned long long)r->count,
		r->seconds, per_s(r));
	if (r->mode == BENCH_STREAM)	/* one way only: not for ping-pong */
		fprintf(f, "%.3f,", mb_s(r));
	else
		fputc(',', f);
	if (r->mode == BENCH_PINGPONG && h->n)
		fprintf(f, "%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,", bench_hist_mean(h) / 2 / 1000,
			oneway_us(h->min), pct_us(r, 50), pct_us(r, 99), pct_us(r, 99.9),
			oneway_us(h->max));
	else
		fprintf(f, ",,,,,,");
	fprintf(f, "%.3f,%.6f,%.6f,%s,%d,%d,%s,%s,\"", cpu_us(r), r->cpu_parent,
		r->cpu_child, bench_cpus_names[o->cpus], r->cpu_parent_id,
		r->cpu_child_id, status_names[r->status], bench_road_names[r->road]);
	for (const char *e = r->error; *e; e++)
		fprintf(f, *e == '"' ? "\"\"" : "%c", *e);
	if (r->cpu_daemon >= 0)
		fprintf(f, "\",%.6f,%.3f\n", r->cpu_daemon, daemon_us(r));
	else
		fprintf(f, "\",,\n");
}

static void json_params(FILE *f, const struct bench_opts *o, const struct bench_env *env)
{
	fprintf(f, "  \"params\": {\"mode\": \"%s\", \"transports\": [", bench_mode_names[o->mode]);
	for (int i = 0; i < o->ntransports; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", o->transports[i]->name);
	fprintf(f, "], \"sizes\": [");
	for (int i = 0; i < o->nsizes; i++)
		fprintf(f, "%s%zu", i ? ", " : "", o->sizes[i]);
	if (o->count)
		fprintf(f, "], \"count\": %llu, \"duration_s\": null, ",
			(unsigned long long)o->count);
	else
		fprintf(f, "], \"count\": null, \"duration_s\": %g, ", o->duration);
	fprintf(f, "\"warmup\": %llu, \"warmup_max_s\": %g, \"cpus\": \"%s\", "
		"\"cpu_parent\": %d, \"cpu_child\": %d, ", (unsigned long long)o->warmup,
		o->warmup_set ? 0 : BENCH_DEFAULT_WARMUP_S, bench_cpus_names[o->cpus],
		env->cpu_parent, env->cpu_child);
	json_str(f, "\"placement\"", env->placement);
	fprintf(f, ", \"spin\": %s, \"sleep\": %s, \"zmq\": \"%s\", \"baseline\": %s, "
		"\"roads\": \"%s\", ", o->spin ? "true" : "false", o->sleep ? "true" : "false",
		o->zmq_kind, o->baseline ? "true" : "false",
		bench_roads_names[o->roads]);
	json_str(f, "\"mount\"", env->mount);
	json_str(f, ", \"peer\"", o->peer);
	json_str(f, ", \"floor\"", env->floor);
	if (env->floor) {
		json_str(f, ", \"floor_what\"", bench_floor_what(o->mode, false));
		json_str(f, ", \"floor_1p_what\"", bench_floor_what(o->mode, true));
	}
	json_str(f, ", \"daemons\"", env->daemon_place);
	fprintf(f, "},\n  \"results\": [");
}

static void json_begin(FILE *f, const struct bench_opts *o, const struct bench_env *env)
{
	fprintf(f, "{\n  \"tool\": \"direct\",\n  \"version\": \"%s\",\n", IPCFS_VERSION);
	json_str(f, "  \"git\"", env->git);
	fprintf(f, ",\n  \"date\": \"%s\",\n", env->date);
	json_str(f, "  \"kernel\"", env->kernel);
	json_str(f, ",\n  \"cpu_model\"", env->cpu_model);
	fprintf(f, ",\n  \"ncpus\": %d,\n  \"units\": {\"msg\": \"%s\", \"latency\": "
		"\"us, one-way = RTT/2\", \"cpu\": \"us per msg, parent + child\", "
		"\"daemon_cpu\": \"us per msg, the daemon serving the row, all threads\", "
		"\"mb\": \"10^6 bytes\"},\n", env->ncpus, o->mode == BENCH_PINGPONG ?
		"one round trip, full message each way" : "one message");
	json_params(f, o, env);
}

/* JSON rows are comma-separated: the first is the one after begin */
static bool json_first;

static void json_row(FILE *f, const struct bench_opts *o, const struct bench_result *r)
{
	const struct bench_hist *h = &r->hist;

	(void)o;
	json_str(f, json_first ? "\n    {\"transport\"" : ",\n    {\"transport\"", r->name);
	fprintf(f, ", \"road\": \"%s\", \"mode\": \"%s\", \"size\": %zu, \"status\": \"%s\"",
		bench_road_names[r->road], bench_mode_names[r->mode], r->size,
		status_names[r->status]);
	if (r->error[0])
		json_str(f, ", \"error\"", r->error);
	if (r->status == BENCH_SKIPPED || r->status == BENCH_FAILED) {
		fprintf(f, "}");
		return;
	}
	fprintf(f, ", \"warmup\": %llu, \"count\": %llu, \"seconds\": %.6f, "
		"\"msg_per_s\": %.1f, ", (unsigned long long)r->warmup,
		(unsigned long long)r->count, r->seconds, per_s(r));
	if (r->mode == BENCH_STREAM)
		fprintf(f, "\"mb_per_s\": %.3f, ", mb_s(r));
	fprintf(f, "\"cpu_us_per_msg\": %.3f, \"cpu_parent_s\": %.6f, \"cpu_child_s\": "
		"%.6f, \"cpu_parent\": %d, \"cpu_child\": %d", cpu_us(r), r->cpu_parent,
		r->cpu_child, r->cpu_parent_id, r->cpu_child_id);
	if (r->cpu_daemon >= 0)
		fprintf(f, ", \"cpu_daemon_s\": %.6f, \"daemon_cpu_us_per_msg\": %.3f",
			r->cpu_daemon, daemon_us(r));
	else
		fprintf(f, ", \"cpu_daemon_s\": null, \"daemon_cpu_us_per_msg\": null");
	if (r->mode == BENCH_PINGPONG && h->n)
		fprintf(f, ", \"oneway_us\": {\"avg\": %.3f, \"min\": %.3f, \"p50\": %.3f, "
			"\"p90\": %.3f, \"p99\": %.3f, \"p99.9\": %.3f, \"max\": %.3f}",
			bench_hist_mean(h) / 2 / 1000, oneway_us(h->min), pct_us(r, 50),
			pct_us(r, 90), pct_us(r, 99), pct_us(r, 99.9), oneway_us(h->max));
	fprintf(f, "}");
}

static void csv_begin(FILE *f, const struct bench_opts *o, const struct bench_env *env)
{
	(void)o;
	(void)env;
	fputs(csv_header, f);
}

/* by enum bench_format */
static void (*const begins[])(FILE *, const struct bench_opts *, const struct bench_env *) = {
	table_begin, csv_begin, json_begin };
static void (*const rows[])(FILE *, const struct bench_opts *, const struct bench_result *) = {
	table_row, csv_row, json_row };

void bench_report_begin(FILE *f, const struct bench_opts *o, const struct bench_env *env)
{
	begins[o->format](f, o, env);
	json_first = true;
	fflush(f);
}

void bench_report_row(FILE *f, const struct bench_opts *o, const struct bench_result *r)
{
	rows[o->format](f, o, r);
	json_first = false;
	fflush(f);
}

void bench_report_end(FILE *f, const struct bench_opts *o, int nfailed)
{
	if (o->format == BENCH_JSON)
		fprintf(f, "\n  ],\n  \"failed\": %d\n}\n", nfailed);
	else if (o->format == BENCH_TABLE && nfailed)
		fprintf(f, "# %d row%s failed\n", nfailed, nfailed == 1 ? "" : "s");
	fflush(f);
}

static bool has_figures(const struct bench_result *r)
{
	return r && r->count && (r->status == BENCH_OK || r->status == BENCH_FATAL);
}

/* the rate of a result: rt/s (ping-pong) or MB/s (stream) */
static double rate(const struct bench_result *r)
{
	if (!has_figures(r))
		return 0;
	return r->mode == BENCH_STREAM ? mb_s(r) : per_s(r);
}

/* a cell of `w` columns: the figure, "-" (not run) or why not */
static void cell(FILE *f, int w, const struct bench_result *r, double v, const char *fmt)
{
	if (!r)
		fprintf(f, " %*s", w, "-");
	else if (r->status == BENCH_SKIPPED)
		fprintf(f, " %*s", w, "skipped");
	else if (!has_figures(r))
		fprintf(f, " %*s", w, r->status == BENCH_FAILED ? "FAILED" : "ERROR");
	else
		fprintf(f, fmt, w, v);
}

static void pair_note(FILE *f, const char *road, const struct bench_result *r)
{
	if (r && r->error[0])
		fprintf(f, "#   %s %zu B, %s: %s%s\n", r->name, r->size, road,
			r->status == BENCH_FATAL && r->count ? "(partial) " : "", r->error);
}

void bench_report_pair(FILE *f, const struct bench_opts *o, const struct bench_result *d,
		       const struct bench_result *m)
{
	const char *rfmt = o->mode == BENCH_STREAM ? " %*.1f" : " %*.0f";
	double rd = rate(d), rm = rate(m);
	char size[16];

	bench_size_str((d ? d : m)->size, size, sizeof(size));
	fprintf(f, "%-13s %6s", (d ? d : m)->name, size);
	cell(f, 10, d, rd, rfmt);
	cell(f, 10, m, rm, rfmt);
	if (rd > 0 && rm > 0)
		fprintf(f, " %7.2f", rd / rm);
	else
		fprintf(f, " %7s", "-");
	for (int i = 0; i < 2 && o->mode == BENCH_PINGPONG; i++) {
		const struct bench_result *r = i ? m : d;

		cell(f, 8, r, has_figures(r) ? pct_us(r, 50) : 0, " %*.2f");
		cell(f, 8, r, has_figures(r) ? pct_us(r, 99) : 0, " %*.2f");
	}
	if (o->mode == BENCH_STREAM) {
		cell(f, 10, d, d ? per_s(d) : 0, " %*.0f");
		cell(f, 10, m, m ? per_s(m) : 0, " %*.0f");
	}
	cell(f, 8, d, has_figures(d) ? cpu_all_us(d) : 0, " %*.2f");
	cell(f, 8, m, has_figures(m) ? cpu_all_us(m) : 0, " %*.2f");
	fputc('\n', f);
	pair_note(f, "direct", d);
	pair_note(f, "mount", m);
	fflush(f);
}

/* the result on `road` of that name and size, or NULL */
static const struct bench_result *find(const struct bench_result *const *res, int nres,
				       enum bench_road road, const char *name, size_t size)
{
	for (int i = 0; i < nres; i++)
		if (res[i]->road == road && res[i]->size == size && !strcmp(res[i]->name, name))
			return res[i];
	return NULL;
}

static void summary_floor(FILE *f, const struct bench_opts *o,
			  const struct bench_result *const *res, int nres)
{
	const char *unit = o->mode == BENCH_STREAM ? "MB/s" : "rt/s";
	const struct bench_result *c, *fl;
	double ctl, flo, f1p;
	char size[16];

	for (int s = 0; s < o->nsizes; s++) {
		c = find(res, nres, BENCH_ROAD_MOUNT, "plainmem", o->sizes[s]);
		fl = find(res, nres, BENCH_ROAD_FLOOR, "floor", o->sizes[s]);
		ctl = rate(c);
		flo = rate(fl);
		f1p = rate(find(res, nres, BENCH_ROAD_FLOOR, "floor-1p", o->sizes[s]));
		bench_size_str(o->sizes[s], size, sizeof(size));
		if (!(ctl > 0 && flo > 0)) {
			fprintf(f, "# control at size %s vs floor: not both measured\n", size);
			continue;
		}
		fprintf(f, "# control at size %s: %.0f %s = %.1f%% of the floor's %.0f %s "
			"(target >= 80%%)", size, ctl, unit, 100 * ctl / flo, flo, unit);
		if (f1p > 0)
			fprintf(f, "; %.1f%% of floor-1p's %.0f", 100 * ctl / f1p, f1p);
		fputc('\n', f);
		if (c->cpu_daemon >= 0 && fl->cpu_daemon >= 0)
			fprintf(f, "#   daemon CPU per %s: ipcfs %.2f us, nullfs %.2f us\n",
				o->mode == BENCH_STREAM ? "message" : "round trip",
				daemon_us(c), daemon_us(fl));
	}
}

/* a transport's mount time per rt (message) over the control's */
static void summary_control(FILE *f, const struct bench_opts *o,
			    const struct bench_result *const *res, int nres)
{
	const char *per = o->mode == BENCH_STREAM ? "message" : "round trip";
	const struct bench_result *m;
	double t, ctl;
	char size[16];

	fprintf(f, "# mount time per %s over the control's (target <= 1.5x), per "
		"size:\n#   %-10s", per, "transport");
	for (int s = 0; s < o->nsizes; s++)
		fprintf(f, " %8s", bench_size_str(o->sizes[s], size, sizeof(size)));
	fputc('\n', f);
	for (int i = 0; i < nres; i++) {
		m = res[i];
		if (m->road != BENCH_ROAD_MOUNT || strcmp(m->name, "plainmem") == 0 ||
		    find(res, nres, BENCH_ROAD_MOUNT, m->name, o->sizes[0]) != m)
			continue;	/* one line per transport */
		fprintf(f, "#   %-10s", m->name);
		for (int s = 0; s < o->nsizes; s++) {
			t = rate(find(res, nres, BENCH_ROAD_MOUNT, m->name, o->sizes[s]));
			ctl = rate(find(res, nres, BENCH_ROAD_MOUNT, "plainmem", o->sizes[s]));
			if (t > 0 && ctl > 0)
				fprintf(f, " %7.2fx%s", ctl / t, ctl / t > 1.5 ? "!" : " ");
			else
				fprintf(f, " %8s ", "-");
		}
		fputc('\n', f);
	}
	fprintf(f, "#   (! = above 1.5x; time per %s = 1 / rate)\n", per);
}

/* across hosts: each mount row against direct zmq's round trip (target
 * <= 2x) or direct tcp's stream (target >= 50%) */
static void summary_net(FILE *f, const struct bench_opts *o,
			const struct bench_result *const *res, int nres)
{
	bool pp = o->mode == BENCH_PINGPONG;
	const struct bench_result *m;
	double d;
	char size[16];

	for (int i = 0; i < nres; i++) {
		m = res[i];
		d = rate(find(res, nres, BENCH_ROAD_DIRECT, pp ? "zmq" : "tcp", m->size));
		if (m->road != BENCH_ROAD_MOUNT || !(d > 0 && rate(m) > 0))
			continue;
		bench_size_str(m->size, size, sizeof(size));
		if (pp)
			fprintf(f, "# %s %s through the mounts: %.2fx the round trip of direct "
				"zmq (target <= 2x)\n", m->name, size, d / rate(m));
		else
			fprintf(f, "# %s %s through the mounts: %.0f%% of direct tcp's MB/s "
				"(target >= 50%%)\n", m->name, size, 100 * rate(m) / d);
	}
}

void bench_report_summary(FILE *f, const struct bench_opts *o,
			  const struct bench_result *const *res, int nres)
{
	bool control = false, others = false;

	if (o->format != BENCH_TABLE || !bench_uses_mount(o))
		return;
	for (int i = 0; i < nres; i++) {
		if (res[i]->road != BENCH_ROAD_MOUNT)
			continue;
		if (strcmp(res[i]->name, "plainmem") == 0)
			control = true;
		else
			others = true;
	}
	if (!control) {
		fprintf(f, "# no control row (plainmem): name it in -t for the figures "
			"against it\n");
		return;
	}
	if (o->roads == BENCH_ROADS_NET)
		summary_net(f, o, res, nres);
	else
		summary_floor(f, o, res, nres);
	if (others)
		summary_control(f, o, res, nres);
	fflush(f);
}

void bench_report_cdf_begin(FILE *f)
{
	fputs("road,transport,size,percentile,oneway_us\n", f);
}

void bench_report_cdf(FILE *f, const struct bench_result *r)
{
	static const double extra[] = { 99.5, 99.9, 99.99 };
	const struct bench_hist *h = &r->hist;
	const char *road = bench_road_names[r->road];

	if (r->mode != BENCH_PINGPONG || !h->n)
		return;
	for (double p = 0; p <= 100; p += 1) {
		fprintf(f, "%s,%s,%zu,%g,%.3f\n", road, r->name, r->size, p,
			oneway_us(p == 0 ? h->min : p == 100 ? h->max :
				  bench_hist_percentile(h, p)));
		for (size_t i = 0; p == 99 && i < sizeof(extra) / sizeof(extra[0]); i++)
			fprintf(f, "%s,%s,%zu,%g,%.3f\n", road, r->name, r->size, extra[i],
				pct_us(r, extra[i]));
	}
	fflush(f);
}
