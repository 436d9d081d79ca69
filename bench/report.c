/*
 * report.c - what bench/direct prints: an aligned table (with the
 * parameters and units in '#' lines above it), CSV (one header line, every
 * parameter repeated on each row, for gnuplot and spreadsheets) or JSON
 * (the machine, the build and the parameters, then one object per row).
 * Rows are printed as they finish. Latencies are one-way: RTT/2.
 */
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

static void table_begin(FILE *f, const struct bench_opts *o,
			const struct bench_env *env)
{
	if (o->mode == BENCH_PINGPONG) {
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
	if (o->mode == BENCH_PINGPONG)
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
	"cpu_child_s,cpus,cpu_parent,cpu_child,status,error\n";

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
	fprintf(f, "%.3f,%.6f,%.6f,%s,%d,%d,%s,\"", cpu_us(r), r->cpu_parent,
		r->cpu_child, bench_cpus_name(o->cpus), r->cpu_parent_id,
		r->cpu_child_id, status_name(r->status));
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
	fprintf(f, ", \"spin\": %s, \"zmq\": \"%s\", \"baseline\": %s},\n  \"results\": [",
		o->spin ? "true" : "false", o->zmq_kind,
		o->baseline ? "true" : "false");
	json_rows = 0;
}

static void json_row(FILE *f, const struct bench_result *r)
{
	const struct bench_hist *h = &r->hist;

	fprintf(f, "%s\n    {\"transport\": ", json_rows++ ? "," : "");
	json_str(f, r->name);
	fprintf(f, ", \"mode\": \"%s\", \"size\": %zu, \"status\": \"%s\"",
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
