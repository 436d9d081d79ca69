/*
 * report.c - what bench/direct prints: an aligned table (with the
 * parameters and units in '#' lines above it), CSV (one header line, every
 * parameter repeated on each row, for gnuplot and spreadsheets) or JSON
 * (the machine, the build and the parameters, then one object per row).
 * Rows are printed as they finish. Latencies are one-way: RTT/2.
 * With both roads the table is one line per transport and size, direct
 * and mount side by side, then the control (plainmem, mount only) and
 * the floor (nullfs), and the figures that compare them under it; CSV
 * and JSON keep one row per result, with its road.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "bench.h"
#include "bench_git.h"	/* BENCH_GIT, made by vcs_tag at build time */

static int json_rows;

void bench_env_init(struct bench_env *env)
{
	struct utsname u;
	char line[256], *p;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	memset(env, 0, sizeof(*env));
	env->git = BENCH_GIT[0] ? BENCH_GIT : "unknown";
	env->cpu_parent = env->cpu_child = -1;
	if (uname(&u) == 0)
		snprintf(env->kernel, sizeof(env->kernel), "%s %s %s %s",
			 u.sysname, u.release, u.version, u.machine);
	snprintf(env->cpu_model, sizeof(env->cpu_model), "unknown");
	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) != 0)
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		p += strspn(p + 1, " \t") + 1;
		p[strcspn(p, "\n")] = '\0';
		snprintf(env->cpu_model, sizeof(env->cpu_model), "%s", p);
		break;
	}
	if (f)
		fclose(f);
	gmtime_r(&now, &tm);
	strftime(env->date, sizeof(env->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void json_str(FILE *f, const char *s)
{
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

/* one-way latency in microseconds from a round-trip time in ns */
static double oneway_us(uint64_t rtt_ns)
{
	return (double)rtt_ns / 2 / 1000;
}

static double cpu_us(const struct bench_result *r)
{
	return r->count ? (r->cpu_parent + r->cpu_child) / (double)r->count *
			  1e6 : 0;
}

static const char *status_name(enum bench_status s)
{
	static const char *const names[] = {
		[BENCH_OK] = "ok", [BENCH_SKIPPED] = "skipped",
		[BENCH_FAILED] = "failed", [BENCH_FATAL] = "error",
	};

	return names[s];
}

static void run_length(FILE *f, const struct bench_opts *o)
{
	const char *unit = o->mode == BENCH_STREAM ? "messages" :
			   "round trips";

	if (o->count)
		fprintf(f, "%llu %s", (unsigned long long)o->count, unit);
	else
		fprintf(f, "%g s", o->duration);
	if (o->warmup_set)
		fprintf(f, " after %llu %s of warm-up",
			(unsigned long long)o->warmup, unit);
	else
		fprintf(f, " after up to %llu %s (at most %g s) of warm-up",
			(unsigned long long)o->warmup, unit,
			BENCH_DEFAULT_WARMUP_S);
}

static bool both_roads(const struct bench_opts *o)
{
	return o->roads == BENCH_ROADS_BOTH;
}

/* where the mount road goes, and the floor, for the header */
static void roads_begin(FILE *f, const struct bench_opts *o,
			const struct bench_env *env)
{
	if (!bench_uses_mount(o)) {
		fprintf(f, "# road: direct (the transports library between "
			   "the two processes, no file system)\n");
		return;
	}
	if (both_roads(o))
		fprintf(f, "# direct = the transports library between the two "
			   "processes, no file system\n");
	fprintf(f, "# mount = the same through the files of ipcfs at %s, %s:\n"
		   "#   ping = MOUNT/T, pong = MOUNT/bench.<pid>.<n>/T (a "
		   "fresh directory per row)\n",
		env->mount ? env->mount : "?", env->mount_how);
	if (both_roads(o))
		fprintf(f, "# ratio = direct / mount: how many times slower "
			   "through FUSE\n");
	fprintf(f, "# control = plainmem through the mount: plain memory "
		   "inside the daemon, not IPC (the FUSE road alone)\n");
	if (env->floor)
		fprintf(f, "# %s\n# %s\n#   (nullfs mounted at %s)\n",
			bench_floor_what(o->mode, false),
			bench_floor_what(o->mode, true), env->floor);
	else
		fprintf(f, "# floor: not measured (nullfs not found or not "
			   "mounted)\n");
	fprintf(f, "# daemons: %s\n", env->daemon_place);
}

static void pair_header(FILE *f, const struct bench_opts *o)
{
	if (o->mode == BENCH_PINGPONG)
		fprintf(f, "%-13s %6s %10s %10s %7s %9s %9s %9s %9s\n"
			   "%-13s %6s %10s %10s %7s %9s %9s %9s %9s\n",
			"transport", "size", "direct", "mount", "ratio",
			"dir p50", "dir p99", "mnt p50", "mnt p99",
			"", "[B]", "[rt/s]", "[rt/s]", "[x]", "[us]", "[us]",
			"[us]", "[us]");
	else
		fprintf(f, "%-13s %6s %10s %10s %7s %10s %10s\n"
			   "%-13s %6s %10s %10s %7s %10s %10s\n",
			"transport", "size", "direct", "mount", "ratio",
			"direct", "mount", "", "[B]", "[MB/s]", "[MB/s]",
			"[x]", "[msg/s]", "[msg/s]");
}

static void table_begin(FILE *f, const struct bench_opts *o,
			const struct bench_env *env)
{
	if (both_roads(o) && o->mode == BENCH_PINGPONG) {
		fprintf(f, "# direct vs mount: ping-pong between two processes; "
			   "1 rt = 1 round trip carrying the\n"
			   "#   full message each way, checked on arrival "
			   "on both sides\n"
			   "# latency is one-way = RTT/2 [us]\n");
	} else if (both_roads(o)) {
		fprintf(f, "# direct vs mount: stream, the child sends, the "
			   "parent receives and checks every message\n"
			   "# MB/s counts 10^6 bytes of payload, one way\n");
	} else if (o->mode == BENCH_PINGPONG) {
		fprintf(f, "# direct: ping-pong between two processes; "
			   "1 msg = 1 round trip carrying the\n"
			   "#   full message each way, checked on arrival "
			   "on both sides\n"
			   "# latency is one-way = RTT/2 [us]; cpu = parent + "
			   "child CPU time per round trip [us]\n");
	} else {
		fprintf(f, "# direct: stream, the child sends, the parent "
			   "receives and checks every message\n"
			   "# MB/s counts 10^6 bytes of payload; cpu = parent + "
			   "child CPU time per message [us]\n");
	}
	fprintf(f, "# cpus: %s; each row: ", env->placement);
	run_length(f, o);
	fprintf(f, "\n# spin %s; zmq %s; baseline %s\n",
		o->spin ? "on (ring transports)" : "off", o->zmq_kind,
		o->baseline ? "on: name(classic) rows use raw fds, not the library" :
		"off");
	fprintf(f, "# %s; %s, %d CPUs; git %s; %s\n", env->kernel,
		env->cpu_model, env->ncpus, env->git, env->date);
	roads_begin(f, o, env);
	if (both_roads(o))
		pair_header(f, o);
	else if (o->mode == BENCH_PINGPONG)
		fprintf(f, "%-18s %8s %7s %10s %10s %8s %8s %8s %8s %9s %8s\n"
			   "%-18s %8s %7s %10s %10s %8s %8s %8s %8s %9s %8s\n",
			"transport", "size", "warmup", "msgs", "msg/s",
			"avg", "p50", "p99", "p99.9", "max", "cpu/msg",
			"", "[B]", "[rt]", "[rt]", "[rt/s]", "[us]", "[us]",
			"[us]", "[us]", "[us]", "[us]");
	else
		fprintf(f, "%-18s %8s %7s %10s %10s %10s %8s\n"
			   "%-18s %8s %7s %10s %10s %10s %8s\n",
			"transport", "size", "warmup", "msgs", "msg/s",
			"MB/s", "cpu/msg", "", "[B]", "[msg]", "[msg]",
			"[msg/s]", "[MB/s]", "[us]");
}

static void table_row(FILE *f, const struct bench_opts *o,
		      const struct bench_result *r)
{
	const struct bench_hist *h = &r->hist;
	char size[16];

	bench_size_str(r->size, size, sizeof(size));
	if (r->status == BENCH_SKIPPED || r->status == BENCH_FAILED ||
	    (r->status == BENCH_FATAL && !r->count)) {
		fprintf(f, "%-18s %8s  %s: %s\n", r->name, size,
			r->status == BENCH_SKIPPED ? "skipped" :
			r->status == BENCH_FAILED ? "FAILED" : "ERROR",
			r->error);
		return;
	}
	if (o->mode == BENCH_PINGPONG)
		fprintf(f, "%-18s %8s %7llu %10llu %10.0f %8.2f %8.2f %8.2f %8.2f %9.2f %8.2f%s\n",
			r->name, size, (unsigned long long)r->warmup,
			(unsigned long long)r->count, per_s(r),
			bench_hist_mean(h) / 2 / 1000,
			oneway_us(bench_hist_percentile(h, 50)),
			oneway_us(bench_hist_percentile(h, 99)),
			oneway_us(bench_hist_percentile(h, 99.9)),
			oneway_us(h->max), cpu_us(r),
			r->status == BENCH_FATAL ? "  ERROR (partial)" : "");
	else
		fprintf(f, "%-18s %8s %7llu %10llu %10.0f %10.1f %8.2f%s\n",
			r->name, size, (unsigned long long)r->warmup,
			(unsigned long long)r->count, per_s(r),
			per_s(r) * (double)r->size / 1e6, cpu_us(r),
			r->status == BENCH_FATAL ? "  ERROR (partial)" : "");
}

static const char csv_header[] =
	"mode,transport,size,warmup,count,seconds,msg_per_s,mb_per_s,"
	"oneway_avg_us,oneway_min_us,oneway_p50_us,oneway_p99_us,"
	"oneway_p999_us,oneway_max_us,cpu_us_per_msg,cpu_parent_s,"
	"cpu_child_s,cpus,cpu_parent,cpu_child,status,road,error\n";

static void csv_row(FILE *f, const struct bench_opts *o,
		    const struct bench_result *r)
{
	const struct bench_hist *h = &r->hist;
	const char *e;

	fprintf(f, "%s,%s,%zu,%llu,%llu,%.6f,%.1f,",
		bench_mode_name(r->mode), r->name, r->size,
		(unsigned long long)r->warmup, (unsigned long long)r->count,
		r->seconds, per_s(r));
	if (r->mode == BENCH_STREAM)	/* one way only: not for ping-pong */
		fprintf(f, "%.3f,", per_s(r) * (double)r->size / 1e6);
	else
		fputc(',', f);
	if (r->mode == BENCH_PINGPONG && h->n)
		fprintf(f, "%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,",
			bench_hist_mean(h) / 2 / 1000, oneway_us(h->min),
			oneway_us(bench_hist_percentile(h, 50)),
			oneway_us(bench_hist_percentile(h, 99)),
			oneway_us(bench_hist_percentile(h, 99.9)),
			oneway_us(h->max));
	else
		fprintf(f, ",,,,,,");
	fprintf(f, "%.3f,%.6f,%.6f,%s,%d,%d,%s,%s,\"", cpu_us(r),
		r->cpu_parent, r->cpu_child, bench_cpus_name(o->cpus),
		r->cpu_parent_id, r->cpu_child_id, status_name(r->status),
		bench_road_name(r->road));
	for (e = r->error; *e; e++) {
		if (*e == '"')
			fputc('"', f);
		fputc(*e, f);
	}
	fprintf(f, "\"\n");
}

static void json_begin(FILE *f, const struct bench_opts *o,
		       const struct bench_env *env)
{
	int i;

	fprintf(f, "{\n  \"tool\": \"direct\",\n  \"version\": \"%s\",\n  \"git\": ",
		IPCFS_VERSION);
	json_str(f, env->git);
	fprintf(f, ",\n  \"date\": \"%s\",\n  \"kernel\": ", env->date);
	json_str(f, env->kernel);
	fprintf(f, ",\n  \"cpu_model\": ");
	json_str(f, env->cpu_model);
	fprintf(f, ",\n  \"ncpus\": %d,\n  \"units\": {\"msg\": \"%s\", "
		"\"latency\": \"us, one-way = RTT/2\", "
		"\"cpu\": \"us per msg, parent + child\", "
		"\"mb\": \"10^6 bytes\"},\n",
		env->ncpus, o->mode == BENCH_PINGPONG ?
		"one round trip, full message each way" : "one message");
	fprintf(f, "  \"params\": {\"mode\": \"%s\", \"transports\": [",
		bench_mode_name(o->mode));
	for (i = 0; i < o->ntransports; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", o->transports[i]->name);
	fprintf(f, "], \"sizes\": [");
	for (i = 0; i < o->nsizes; i++)
		fprintf(f, "%s%zu", i ? ", " : "", o->sizes[i]);
	fprintf(f, "], ");
	if (o->count)
		fprintf(f, "\"count\": %llu, \"duration_s\": null, ",
			(unsigned long long)o->count);
	else
		fprintf(f, "\"count\": null, \"duration_s\": %g, ",
			o->duration);
	fprintf(f, "\"warmup\": %llu, \"warmup_max_s\": %g, \"cpus\": \"%s\", "
		"\"cpu_parent\": %d, \"cpu_child\": %d, \"placement\": ",
		(unsigned long long)o->warmup,
		o->warmup_set ? 0 : BENCH_DEFAULT_WARMUP_S,
		bench_cpus_name(o->cpus), env->cpu_parent, env->cpu_child);
	json_str(f, env->placement);
	fprintf(f, ", \"spin\": %s, \"zmq\": \"%s\", \"baseline\": %s, "
		"\"roads\": \"%s\", \"mount\": ",
		o->spin ? "true" : "false", o->zmq_kind,
		o->baseline ? "true" : "false", bench_roads_name(o->roads));
	if (env->mount)
		json_str(f, env->mount);
	else
		fputs("null", f);
	fputs(", \"floor\": ", f);
	if (env->floor) {
		json_str(f, env->floor);
		fputs(", \"floor_what\": ", f);
		json_str(f, bench_floor_what(o->mode, false));
		fputs(", \"floor_1p_what\": ", f);
		json_str(f, bench_floor_what(o->mode, true));
	} else {
		fputs("null", f);
	}
	fputs(", \"daemons\": ", f);
	json_str(f, env->daemon_place);
	fprintf(f, "},\n  \"results\": [");
	json_rows = 0;
}

static void json_row(FILE *f, const struct bench_result *r)
{
	const struct bench_hist *h = &r->hist;

	fprintf(f, "%s\n    {\"transport\": ", json_rows++ ? "," : "");
	json_str(f, r->name);
	fprintf(f, ", \"road\": \"%s\", \"mode\": \"%s\", \"size\": %zu, "
		"\"status\": \"%s\"", bench_road_name(r->road),
		bench_mode_name(r->mode), r->size, status_name(r->status));
	if (r->error[0]) {
		fprintf(f, ", \"error\": ");
		json_str(f, r->error);
	}
	if (r->status == BENCH_SKIPPED || r->status == BENCH_FAILED) {
		fprintf(f, "}");
		return;
	}
	fprintf(f, ", \"warmup\": %llu, \"count\": %llu, \"seconds\": %.6f, "
		"\"msg_per_s\": %.1f, ",
		(unsigned long long)r->warmup, (unsigned long long)r->count,
		r->seconds, per_s(r));
	if (r->mode == BENCH_STREAM)
		fprintf(f, "\"mb_per_s\": %.3f, ",
			per_s(r) * (double)r->size / 1e6);
	fprintf(f, "\"cpu_us_per_msg\": %.3f, \"cpu_parent_s\": %.6f, "
		"\"cpu_child_s\": %.6f, \"cpu_parent\": %d, "
		"\"cpu_child\": %d", cpu_us(r), r->cpu_parent, r->cpu_child,
		r->cpu_parent_id, r->cpu_child_id);
	if (r->mode == BENCH_PINGPONG && h->n)
		fprintf(f, ", \"oneway_us\": {\"avg\": %.3f, \"min\": %.3f, "
			"\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
			"\"p99.9\": %.3f, \"max\": %.3f}",
			bench_hist_mean(h) / 2 / 1000, oneway_us(h->min),
			oneway_us(bench_hist_percentile(h, 50)),
			oneway_us(bench_hist_percentile(h, 90)),
			oneway_us(bench_hist_percentile(h, 99)),
			oneway_us(bench_hist_percentile(h, 99.9)),
			oneway_us(h->max));
	fprintf(f, "}");
}

void bench_report_begin(FILE *f, const struct bench_opts *o,
			const struct bench_env *env)
{
	switch (o->format) {
	case BENCH_TABLE:
		table_begin(f, o, env);
		break;
	case BENCH_CSV:
		fputs(csv_header, f);
		break;
	case BENCH_JSON:
		json_begin(f, o, env);
		break;
	}
	fflush(f);
}

void bench_report_row(FILE *f, const struct bench_opts *o,
		      const struct bench_result *r)
{
	switch (o->format) {
	case BENCH_TABLE:
		table_row(f, o, r);
		break;
	case BENCH_CSV:
		csv_row(f, o, r);
		break;
	case BENCH_JSON:
		json_row(f, r);
		break;
	}
	fflush(f);
}

void bench_report_end(FILE *f, const struct bench_opts *o, int nfailed)
{
	if (o->format == BENCH_JSON)
		fprintf(f, "\n  ],\n  \"failed\": %d\n}\n", nfailed);
	else if (o->format == BENCH_TABLE && nfailed)
		fprintf(f, "# %d row%s failed\n", nfailed,
			nfailed == 1 ? "" : "s");
	fflush(f);
}

/* ------------------------------------------------- the combined table */

static bool has_figures(const struct bench_result *r)
{
	return r && r->count && (r->status == BENCH_OK ||
				 r->status == BENCH_FATAL);
}

/* the rate of a result: rt/s (ping-pong) or MB/s (stream) */
static double rate(const struct bench_result *r)
{
	if (!has_figures(r))
		return 0;
	return r->mode == BENCH_STREAM ? per_s(r) * (double)r->size / 1e6 :
	       per_s(r);
}

/* a cell of `w` columns: the figure, "-" (not run) or why not */
static void cell(FILE *f, int w, const struct bench_result *r, double v,
		 const char *fmt)
{
	if (!r)
		fprintf(f, " %*s", w, "-");
	else if (r->status == BENCH_SKIPPED)
		fprintf(f, " %*s", w, "skipped");
	else if (!has_figures(r))
		fprintf(f, " %*s", w, r->status == BENCH_FAILED ? "FAILED" :
					      "ERROR");
	else
		fprintf(f, fmt, w, v);
}

static void pair_note(FILE *f, const char *road, const struct bench_result *r)
{
	if (r && r->error[0])
		fprintf(f, "#   %s %zu B, %s: %s%s\n", r->name, r->size, road,
			r->status == BENCH_FATAL && r->count ? "(partial) " :
			"", r->error);
}

void bench_report_pair(FILE *f, const struct bench_opts *o,
		       const struct bench_result *d,
		       const struct bench_result *m)
{
	const struct bench_result *any = d ? d : m;
	char size[16];
	double rd = rate(d), rm = rate(m);
	int i;

	if (o->format != BENCH_TABLE) {
		if (d)
			bench_report_row(f, o, d);
		if (m)
			bench_report_row(f, o, m);
		return;
	}
	bench_size_str(any->size, size, sizeof(size));
	fprintf(f, "%-13s %6s", any->name, size);
	cell(f, 10, d, rd, o->mode == BENCH_STREAM ? " %*.1f" : " %*.0f");
	cell(f, 10, m, rm, o->mode == BENCH_STREAM ? " %*.1f" : " %*.0f");
	if (rd > 0 && rm > 0)
		fprintf(f, " %7.2f", rd / rm);
	else
		fprintf(f, " %7s", "-");
	if (o->mode == BENCH_PINGPONG) {
		for (i = 0; i < 2; i++) {
			const struct bench_result *r = i ? m : d;

			cell(f, 9, r, has_figures(r) ? oneway_us(
			     bench_hist_percentile(&r->hist, 50)) : 0,
			     " %*.2f");
			cell(f, 9, r, has_figures(r) ? oneway_us(
			     bench_hist_percentile(&r->hist, 99)) : 0,
			     " %*.2f");
		}
	} else {
		cell(f, 10, d, d ? per_s(d) : 0, " %*.0f");
		cell(f, 10, m, m ? per_s(m) : 0, " %*.0f");
	}
	fputc('\n', f);
	pair_note(f, "direct", d);
	pair_note(f, "mount", m);
	fflush(f);
}

static const struct bench_result *find(const struct bench_result *const *res,
				       int nres, enum bench_road road,
				       const char *name, size_t size)
{
	int i;

	for (i = 0; i < nres; i++)
		if (res[i]->road == road && res[i]->size == size &&
		    (!name || strcmp(res[i]->name, name) == 0))
			return res[i];
	return NULL;
}

void bench_report_summary(FILE *f, const struct bench_opts *o,
			  const struct bench_result *const *res, int nres)
{
	const struct bench_result *ctl, *flo, *f1p, *m;
	const char *unit = o->mode == BENCH_STREAM ? "MB/s" : "rt/s";
	char size[16];
	int s, i;
	bool any;

	if (o->format != BENCH_TABLE || !bench_uses_mount(o))
		return;
	any = false;
	for (i = 0; i < nres && !any; i++)
		any = res[i]->road == BENCH_ROAD_MOUNT &&
		      strcmp(res[i]->name, "plainmem") == 0;
	if (!any) {
		fprintf(f, "# no control row (plainmem): name it in -t for the "
			   "figures against it\n");
		return;
	}
	for (s = 0; s < o->nsizes; s++) {
		ctl = find(res, nres, BENCH_ROAD_MOUNT, "plainmem", o->sizes[s]);
		flo = find(res, nres, BENCH_ROAD_FLOOR, "floor", o->sizes[s]);
		f1p = find(res, nres, BENCH_ROAD_FLOOR, "floor-1p",
			   o->sizes[s]);
		bench_size_str(o->sizes[s], size, sizeof(size));
		if (rate(ctl) > 0 && rate(flo) > 0) {
			fprintf(f, "# control at size %s: %.0f %s = %.1f%% of the "
				   "floor's %.0f %s (target >= 80%%)", size,
				rate(ctl), unit, 100 * rate(ctl) / rate(flo),
				rate(flo), unit);
			if (rate(f1p) > 0)
				fprintf(f, "; %.1f%% of floor-1p's %.0f",
					100 * rate(ctl) / rate(f1p),
					rate(f1p));
			fputc('\n', f);
		} else
			fprintf(f, "# control at size %s vs floor: not both "
				   "measured\n", size);
	}
	/* a transport's mount time per rt (message) over the control's */
	any = false;
	for (i = 0; i < nres && !any; i++)
		any = res[i]->road == BENCH_ROAD_MOUNT &&
		      strcmp(res[i]->name, "plainmem") != 0;
	if (!any)
		return;
	fprintf(f, "# mount time per %s over the control's (target <= "
		   "1.5x), per size:\n#   %-10s", o->mode == BENCH_STREAM ?
		   "message" : "round trip", "transport");
	for (s = 0; s < o->nsizes; s++)
		fprintf(f, " %8s", bench_size_str(o->sizes[s], size,
						  sizeof(size)));
	fputc('\n', f);
	for (i = 0; i < nres; i++) {
		m = res[i];
		if (m->road != BENCH_ROAD_MOUNT ||
		    strcmp(m->name, "plainmem") == 0 ||
		    find(res, nres, BENCH_ROAD_MOUNT, m->name, o->sizes[0]) != m)
			continue;	/* one line per transport */
		fprintf(f, "#   %-10s", m->name);
		for (s = 0; s < o->nsizes; s++) {
			const struct bench_result *t = find(res, nres,
				BENCH_ROAD_MOUNT, m->name, o->sizes[s]);

			ctl = find(res, nres, BENCH_ROAD_MOUNT, "plainmem",
				   o->sizes[s]);
			if (rate(t) > 0 && rate(ctl) > 0)
				fprintf(f, " %7.2fx%s", rate(ctl) / rate(t),
					rate(ctl) / rate(t) > 1.5 ? "!" : " ");
			else
				fprintf(f, " %8s ", "-");
		}
		fputc('\n', f);
	}
	fprintf(f, "#   (! = above 1.5x; time per %s = 1 / rate)\n",
		o->mode == BENCH_STREAM ? "message" : "round trip");
	fflush(f);
}

/* ------------------------------------------------------------ --cdf */

void bench_report_cdf_begin(FILE *f)
{
	fputs("road,transport,size,percentile,oneway_us\n", f);
}

void bench_report_cdf(FILE *f, const struct bench_result *r)
{
	static const double extra[] = { 99.5, 99.9, 99.99 };
	const struct bench_hist *h = &r->hist;
	double p;
	size_t i;

	if (r->mode != BENCH_PINGPONG || !h->n)
		return;
	for (p = 0; p <= 100; p += 1) {
		uint64_t v = p == 0 ? h->min : p == 100 ? h->max :
			     bench_hist_percentile(h, p);

		fprintf(f, "%s,%s,%zu,%g,%.3f\n", bench_road_name(r->road),
			r->name, r->size, p, oneway_us(v));
		if (p == 99)
			for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
				fprintf(f, "%s,%s,%zu,%g,%.3f\n",
					bench_road_name(r->road), r->name,
					r->size, extra[i], oneway_us(
					bench_hist_percentile(h, extra[i])));
	}
	fflush(f);
}
