/*
 * opts.c - command line of bench/direct. The parser fills a struct and
 * returns a message instead of exiting, so that tests can drive it; it
 * keeps no state between calls (no getopt). Every message names the
 * option and the values it takes.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const mode_names[] = { "pingpong", "stream", NULL };
static const char *const cpus_names[] = { "same", "split", "none", NULL };
static const char *const format_names[] = { "table", "csv", "json", NULL };
static const char *const zmq_names[] = { "tcp", "ipc", NULL };
static const char *const roads_names[] = { "both", "direct", "mount", NULL };
static const char *const road_names[] = { "direct", "mount", "floor", NULL };

enum opt_id {
	OPT_TRANSPORT, OPT_SIZE, OPT_COUNT, OPT_DURATION, OPT_WARMUP,
	OPT_CPUS, OPT_MODE, OPT_SPIN, OPT_ZMQ, OPT_FORMAT, OPT_BASELINE,
	OPT_HELP, OPT_VIA, OPT_ROAD, OPT_IPCFS, OPT_CDF, OPT_DAEMON_CPU,
};

static const struct bench_opt {
	const char *name;
	char short_name;
	bool has_arg;
	enum opt_id id;
} bench_options[] = {
	{ "transport", 't', true, OPT_TRANSPORT },
	{ "size", 's', true, OPT_SIZE },
	{ "count", 'c', true, OPT_COUNT },
	{ "duration", 'd', true, OPT_DURATION },
	{ "warmup", 'w', true, OPT_WARMUP },
	{ "cpus", 0, true, OPT_CPUS },
	{ "mode", 0, true, OPT_MODE },
	{ "spin", 0, false, OPT_SPIN },
	{ "zmq", 0, true, OPT_ZMQ },
	{ "format", 0, true, OPT_FORMAT },
	{ "baseline", 0, false, OPT_BASELINE },
	{ "help", 'h', false, OPT_HELP },
	{ "via", 0, true, OPT_VIA },
	{ "road", 0, true, OPT_ROAD },
	{ "ipcfs", 0, true, OPT_IPCFS },
	{ "cdf", 0, true, OPT_CDF },
	{ "daemon-cpu", 0, true, OPT_DAEMON_CPU },
	{ NULL, 0, false, 0 },
};

const char *bench_mode_name(enum bench_mode m)
{
	return mode_names[m];
}

const char *bench_cpus_name(enum bench_cpus c)
{
	return cpus_names[c];
}

const char *bench_format_name(enum bench_format f)
{
	return format_names[f];
}

const char *bench_roads_name(enum bench_roads r)
{
	return roads_names[r];
}

const char *bench_road_name(enum bench_road r)
{
	return road_names[r];
}

__attribute__((format(printf, 3, 4)))
static const char *fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return err;
}

/* "a, b, c" */
static const char *join(const char *const *names, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; names[i] && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
				 i ? ", " : "", names[i]);
	return buf;
}

/* index of arg in names, or -1 */
static int pick(const char *const *names, const char *arg)
{
	int i;

	for (i = 0; names[i]; i++)
		if (strcmp(names[i], arg) == 0)
			return i;
	return -1;
}

int bench_parse_size(const char *s, size_t *out)
{
	unsigned long long v, mult = 1;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;	/* strtoull would take " 1", "+1", "-1" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end == 'K' || *end == 'k')
		mult = 1024;
	else if (*end == 'M' || *end == 'm')
		mult = 1024 * 1024;
	if (mult != 1)
		end++;
	if (*end)
		return -EINVAL;
	if (v > BENCH_SIZE_MAX / mult)
		return -ERANGE;
	*out = (size_t)(v * mult);
	return 0;
}

const char *bench_size_str(size_t size, char *buf, size_t len)
{
	if (size >= 1024 * 1024 && size % (1024 * 1024) == 0)
		snprintf(buf, len, "%zuM", size / (1024 * 1024));
	else if (size >= 1024 && size % 1024 == 0)
		snprintf(buf, len, "%zuK", size / 1024);
	else
		snprintf(buf, len, "%zu", size);
	return buf;
}

/* a decimal number and nothing else */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static void add_transport(struct bench_opts *o, const struct ipc_transport *t)
{
	int i;

	for (i = 0; i < o->ntransports; i++)
		if (o->transports[i] == t)
			return;
	if (o->ntransports < BENCH_MAX_TRANSPORTS)
		o->transports[o->ntransports++] = t;
}

static void all_transports(struct bench_opts *o)
{
	const struct ipc_transport *const *t;

	o->ntransports = 0;
	for (t = ipc_transports; *t; t++)
		if (!((*t)->caps & IPC_LOCAL))	/* not IPC: the control row */
			add_transport(o, *t);
	o->all = true;
}

/* strsep over a copy: tokens of a comma-separated list */
static const char *parse_transports(struct bench_opts *o, const char *arg,
				    char *err, size_t errlen)
{
	char copy[512], names[512], *p = copy, *tok;
	const struct ipc_transport *t;
	bool all = false;

	if (strlen(arg) >= sizeof(copy))
		return fail(err, errlen, "--transport: list too long");
	strcpy(copy, arg);
	o->ntransports = 0;
	o->all = false;
	while ((tok = strsep(&p, ",")) != NULL) {
		if (strcmp(tok, "all") == 0) {
			all = true;
			continue;
		}
		t = ipc_transport_find(tok);
		if (!t)
			return fail(err, errlen,
				    "--transport: '%s' is not a transport (%s, all)",
				    tok, ipc_transport_names(names,
							     sizeof(names)));
		add_transport(o, t);
	}
	if (all)
		all_transports(o);
	return NULL;
}

static const char *parse_sizes(struct bench_opts *o, const char *arg,
			       char *err, size_t errlen)
{
	char copy[512], *p = copy, *tok, max[16];
	size_t size;
	int ret;

	if (strlen(arg) >= sizeof(copy))
		return fail(err, errlen, "--size: list too long");
	strcpy(copy, arg);
	o->nsizes = 0;
	while ((tok = strsep(&p, ",")) != NULL) {
		ret = bench_parse_size(tok, &size);
		if (ret == -ERANGE)
			return fail(err, errlen,
				    "--size: '%s' is too big (at most %s)", tok,
				    bench_size_str(BENCH_SIZE_MAX, max,
						   sizeof(max)));
		if (ret < 0 || size == 0)
			return fail(err, errlen,
				    "--size: '%s' is not a size (bytes, at least 1, "
				    "K=1024, M=1048576: e.g. 100,1K,64K)",
				    tok);
		if (o->nsizes == BENCH_MAX_SIZES)
			return fail(err, errlen, "--size: more than %d sizes",
				    BENCH_MAX_SIZES);
		o->sizes[o->nsizes++] = size;
	}
	return NULL;
}

static const char *parse_choice(const char *opt, const char *what,
				const char *const *names, const char *arg,
				int *out, char *err, size_t errlen)
{
	char list[128];
	int i = pick(names, arg);

	if (i < 0)
		return fail(err, errlen, "--%s: '%s' is not %s (%s)", opt, arg,
			    what, join(names, list, sizeof(list)));
	*out = i;
	return NULL;
}

static void defaults(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	all_transports(o);
	o->sizes[0] = 100;
	o->sizes[1] = 1024;
	o->nsizes = 2;
	o->duration = BENCH_DEFAULT_DURATION;
	o->warmup = BENCH_DEFAULT_WARMUP;
	o->cpus = BENCH_CPUS_SPLIT;
	o->mode = BENCH_PINGPONG;
	o->format = BENCH_TABLE;
	o->zmq_kind = "tcp";
	o->daemon_cpu = BENCH_DAEMON_CPU_AUTO;
}

static const char *apply(struct bench_opts *o, const struct bench_opt *opt,
			 const char *arg, bool *count_set, bool *duration_set,
			 char *err, size_t errlen)
{
	uint64_t n;
	double d;
	char *end;
	int i;
	const char *e;

	switch (opt->id) {
	case OPT_TRANSPORT:
		o->transports_set = true;
		return parse_transports(o, arg, err, errlen);
	case OPT_SIZE:
		o->sizes_set = true;
		return parse_sizes(o, arg, err, errlen);
	case OPT_COUNT:
		if (parse_u64(arg, &n) < 0 || n == 0)
			return fail(err, errlen,
				    "--count: '%s' is not a count (a whole number of "
				    "round trips, or messages in stream mode, "
				    "at least 1)",
				    arg);
		o->count = n;
		*count_set = true;
		return NULL;
	case OPT_DURATION:
		errno = 0;
		d = strtod(arg, &end);
		if (!*arg || *end || errno || !isfinite(d) || !(d > 0) ||
		    d > BENCH_DURATION_MAX || isspace((unsigned char)*arg))
			return fail(err, errlen,
				    "--duration: '%s' is not a duration (seconds, "
				    "more than 0 and at most %.0f, e.g. 2 or 0.5)",
				    arg, BENCH_DURATION_MAX);
		o->duration = d;
		*duration_set = true;
		return NULL;
	case OPT_WARMUP:
		if (parse_u64(arg, &n) < 0)
			return fail(err, errlen,
				    "--warmup: '%s' is not a count (a whole number "
				    "of round trips, 0 or more)",
				    arg);
		o->warmup = n;
		o->warmup_set = true;
		return NULL;
	case OPT_CPUS:
		e = parse_choice("cpus", "a placement", cpus_names, arg, &i,
				 err, errlen);
		if (e)
			return e;
		o->cpus = i;
		o->cpus_set = true;
		return NULL;
	case OPT_MODE:
		e = parse_choice("mode", "a mode", mode_names, arg, &i, err,
				 errlen);
		if (e)
			return e;
		o->mode = i;
		return NULL;
	case OPT_FORMAT:
		e = parse_choice("format", "a format", format_names, arg, &i,
				 err, errlen);
		if (e)
			return e;
		o->format = i;
		return NULL;
	case OPT_ZMQ:
		e = parse_choice("zmq", "a zmq endpoint kind", zmq_names, arg,
				 &i, err, errlen);
		if (e)
			return e;
		o->zmq_kind = zmq_names[i];
		return NULL;
	case OPT_SPIN:
		o->spin = true;
		return NULL;
	case OPT_BASELINE:
		o->baseline = true;
		return NULL;
	case OPT_HELP:
		o->help = true;
		return NULL;
	case OPT_VIA:
		if (strncmp(arg, "mount:", 6) == 0)	/* DESIGN.md's spelling */
			arg += 6;
		if (!*arg)
			return fail(err, errlen,
				    "--via: '' is not a mount point (a directory "
				    "where ipcfs is mounted, or none)");
		o->via_none = strcmp(arg, "none") == 0;
		o->via = o->via_none ? NULL : arg;
		return NULL;
	case OPT_ROAD:
		e = parse_choice("road", "a road", roads_names, arg, &i, err,
				 errlen);
		if (e)
			return e;
		o->roads = i;
		o->roads_set = true;
		return NULL;
	case OPT_IPCFS:
		if (!*arg)
			return fail(err, errlen,
				    "--ipcfs: '' is not a path (the ipcfs daemon "
				    "to mount)");
		o->ipcfs = arg;
		return NULL;
	case OPT_DAEMON_CPU:
		if (strcmp(arg, "none") == 0) {
			o->daemon_cpu = -1;
			return NULL;
		}
		if (parse_u64(arg, &n) < 0 || n >= CPU_SETSIZE)
			return fail(err, errlen,
				    "--daemon-cpu: '%s' is not a CPU (a CPU number, "
				    "or none for unpinned)", arg);
		o->daemon_cpu = (int)n;
		return NULL;
	case OPT_CDF:
		if (!*arg)
			return fail(err, errlen,
				    "--cdf: '' is not a file name (where to "
				    "write latency percentiles)");
		o->cdf = arg;
		return NULL;
	}
	return NULL;
}

/* what the options imply once all are read: roads, stream defaults */
static const char *settle(struct bench_opts *o, char *err, size_t errlen)
{
	static const size_t stream_sizes[] = BENCH_STREAM_SIZES;
	const struct ipc_transport *t;
	int i, n;

	if (o->via_none) {
		if (o->roads_set && o->roads != BENCH_ROADS_DIRECT)
			return fail(err, errlen,
				    "--road: '%s' needs the mount, but --via "
				    "none was given (both, direct, mount)",
				    roads_names[o->roads]);
		o->roads = BENCH_ROADS_DIRECT;
	}
	if (o->via && o->roads == BENCH_ROADS_DIRECT)
		return fail(err, errlen,
			    "--via: a mount is not used with --road direct "
			    "(give one or the other)");
	if (o->mode != BENCH_STREAM || !bench_uses_mount(o))
		return NULL;
	if (!o->sizes_set) {
		o->nsizes = 0;
		for (i = 0; i < (int)(sizeof(stream_sizes) /
				      sizeof(stream_sizes[0])); i++)
			o->sizes[o->nsizes++] = stream_sizes[i];
	}
	if (!o->transports_set) {	/* bandwidth: the byte transports */
		for (i = n = 0; i < o->ntransports; i++) {
			t = o->transports[i];
			if (!(t->caps & IPC_MESSAGES))
				o->transports[n++] = t;
		}
		o->ntransports = n;
	}
	return NULL;
}

static const struct bench_opt *find_long(const char *name, size_t len)
{
	const struct bench_opt *opt;

	for (opt = bench_options; opt->name; opt++)
		if (strlen(opt->name) == len && !strncmp(opt->name, name, len))
			return opt;
	return NULL;
}

static const struct bench_opt *find_short(char c)
{
	const struct bench_opt *opt;

	for (opt = bench_options; opt->name; opt++)
		if (opt->short_name && opt->short_name == c)
			return opt;
	return NULL;
}

const char *bench_parse_opts(struct bench_opts *o, int argc,
			     char *const argv[], char *err, size_t errlen)
{
	bool count_set = false, duration_set = false;
	const struct bench_opt *opt;
	const char *a, *arg, *eq, *e;
	int i;

	defaults(o);
	for (i = 1; i < argc; i++) {
		a = argv[i];
		arg = NULL;
		if (a[0] == '-' && a[1] == '-' && a[2]) {
			eq = strchr(a + 2, '=');
			opt = find_long(a + 2, eq ? (size_t)(eq - a - 2)
						  : strlen(a + 2));
			if (!opt)
				return fail(err, errlen,
					    "'%.*s' is not an option (try --help)",
					    eq ? (int)(eq - a) : (int)strlen(a),
					    a);
			if (eq && !opt->has_arg)
				return fail(err, errlen,
					    "--%s: takes no value", opt->name);
			if (eq)
				arg = eq + 1;
		} else if (a[0] == '-' && a[1] && a[1] != '-') {
			opt = find_short(a[1]);
			if (!opt)
				return fail(err, errlen,
					    "'-%c' is not an option (try --help)",
					    a[1]);
			if (a[2] && !opt->has_arg)
				return fail(err, errlen,
					    "-%c: takes no value", a[1]);
			if (a[2])
				arg = a + 2;
		} else {
			return fail(err, errlen,
				    "'%s' is not an option (try --help)", a);
		}
		if (opt->has_arg && !arg) {
			if (i + 1 >= argc)
				return fail(err, errlen,
					    "--%s: needs a value (see --help)",
					    opt->name);
			arg = argv[++i];
		}
		e = apply(o, opt, arg, &count_set, &duration_set, err, errlen);
		if (e)
			return e;
	}
	if (count_set && duration_set)
		return fail(err, errlen,
			    "--duration: cannot be combined with --count (give one)");
	if (!count_set)
		o->count = 0;
	return settle(o, err, errlen);
}

void bench_usage(FILE *f)
{
	const struct ipc_transport *const *t;

	fprintf(f,
		"usage: direct [options]\n"
		"Ping-pong (or stream) between a parent and a forked child over the ipcfs\n"
		"transports, directly (the library, no filesystem) and through the files\n"
		"of an ipcfs mount, side by side, with the control row (plainmem, mount\n"
		"only) and the FUSE floor (nullfs, a file system that does nothing).\n"
		"A \"msg\" is one round trip carrying the full message in each\n"
		"direction; one-way latency is RTT/2.\n"
		"\n"
		"  -t, --transport NAME[,NAME...]|all  transports to run (default all)\n"
		"  -s, --size LIST      message sizes in bytes, K=1024, M=1048576\n"
		"                       (default 100,1K; at most 256M)\n"
		"  -c, --count N        timed round trips (messages) per row\n"
		"  -d, --duration S     timed seconds per row, may be fractional\n"
		"                       (default %g s when no --count)\n"
		"  -w, --warmup N       untimed round trips first (default %d, cut\n"
		"                       short after %g s)\n"
		"      --cpus same|split|none  pin both on one CPU, on two CPUs,\n"
		"                       or not at all (default split)\n"
		"      --mode pingpong|stream  latency, or one-way bandwidth\n"
		"      --spin           ring transports busy-wait (ipc_opts.spin)\n"
		"      --zmq tcp|ipc    zmq endpoint kind (default tcp)\n"
		"      --format table|csv|json  output (default table)\n"
		"      --baseline       add rows measured on raw fds without the\n"
		"                       library: %s\n"
		"      --road both|direct|mount  which roads run (default both)\n"
		"      --via MOUNT|none  the mount road uses the ipcfs mounted at\n"
		"                       MOUNT; none: direct only. Default: mount\n"
		"                       ipcfs on a temp dir for the run\n"
		"      --ipcfs PATH     the daemon to mount (default $IPCFS, else\n"
		"                       the build tree's, else ipcfs in $PATH)\n"
		"      --daemon-cpu N|none  pin our daemons (ipcfs, nullfs) on CPU N,\n"
		"                       or not at all; default: with --cpus same\n"
		"                       on that CPU, with split on a third CPU if\n"
		"                       there is one, else unpinned\n"
		"      --cdf FILE       write one-way latency percentiles of every\n"
		"                       ping-pong row to FILE (CSV, for bench/plot.sh)\n"
		"  -h, --help           this text\n"
		"\n"
		"Stream mode through the mount defaults to 4K,64K,1M and the byte\n"
		"transports.\n"
		"\n"
		"Exit status: 0 all rows ran, 1 a row failed or the bench was\n"
		"stopped, 2 bad options.\n"
		"\n"
		"transports:\n",
		BENCH_DEFAULT_DURATION, BENCH_DEFAULT_WARMUP,
		BENCH_DEFAULT_WARMUP_S, bench_classic_names());
	for (t = ipc_transports; *t; t++)
		fprintf(f, "  %-10s  %s\n", (*t)->name,
			(*t)->what ? (*t)->what : "(not implemented yet)");
}
