/* opts.c - the command line of bench/direct: getopt_long, a message
 * returned rather than printed (docs/DESIGN.md, "Layout") */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const char *const bench_mode_names[] = { "pingpong", "stream", NULL };
const char *const bench_cpus_names[] = { "same", "split", "none", NULL };
static const char *const format_names[] = { "table", "csv", "json", NULL };
static const char *const zmq_names[] = { "tcp", "ipc", NULL };
const char *const bench_roads_names[] = { "both", "direct", "mount", "net", NULL };
const char *const bench_road_names[] = { "direct", "mount", "floor", NULL };

enum { OPT_CPUS = 256, OPT_MODE, OPT_SPIN, OPT_ZMQ, OPT_FORMAT, OPT_BASELINE,
       OPT_VIA, OPT_ROAD, OPT_IPCFS, OPT_CDF, OPT_DAEMON_CPU, OPT_SLEEP, OPT_NET,
       OPT_PEER };

/* '+': stop at the first non-option (no permuting); ':': report a
 * missing value apart from an unknown option */
#define SHORT_OPTS	"+:t:s:c:d:w:h"

#define REQ(name, val)	{ name, required_argument, NULL, val }
static const struct option long_opts[] = {
	REQ("transport", 't'), REQ("size", 's'), REQ("count", 'c'), REQ("duration", 'd'),
	REQ("warmup", 'w'), REQ("cpus", OPT_CPUS), REQ("mode", OPT_MODE), REQ("zmq", OPT_ZMQ),
	REQ("format", OPT_FORMAT), REQ("via", OPT_VIA), REQ("road", OPT_ROAD),
	REQ("ipcfs", OPT_IPCFS), REQ("cdf", OPT_CDF), REQ("daemon-cpu", OPT_DAEMON_CPU),
	REQ("net", OPT_NET), REQ("peer", OPT_PEER),
	{ "spin", no_argument, NULL, OPT_SPIN }, { "baseline", no_argument, NULL, OPT_BASELINE },
	{ "sleep", no_argument, NULL, OPT_SLEEP },
	{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
};

/* one parse: where messages go, and what must be checked at the end */
struct parse {
	struct bench_opts *o;
	char *err;
	size_t errlen;
	bool count_set, duration_set;
	bool all;		/* "all" in --transport */
};

__attribute__((format(printf, 2, 3)))
static const char *fail(struct parse *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	return ps->err;
}

/* a whole number at s, *end after it: 0, -EINVAL or -ERANGE */
static int parse_u64(const char *s, uint64_t *out, char **end)
{
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;	/* strtoull would take " 1", "+1", "-1" */
	errno = 0;
	*out = strtoull(s, end, 10);
	return errno == ERANGE ? -ERANGE : 0;
}

int bench_parse_size(const char *s, size_t *out)
{
	uint64_t v, mult = 1;
	char *end;
	int ret = parse_u64(s, &v, &end);

	if (ret < 0)
		return ret;
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

static void add_transport(struct bench_opts *o, const struct ipc_transport *t)
{
	for (int i = 0; i < o->ntransports; i++)
		if (o->transports[i] == t)
			return;
	if (o->ntransports < BENCH_MAX_TRANSPORTS)
		o->transports[o->ntransports++] = t;
}

static void all_transports(struct bench_opts *o)
{
	o->ntransports = 0;
	for (const struct ipc_transport *const *t = ipc_transports; *t; t++)
		if (!((*t)->caps & IPC_LOCAL))	/* not IPC: the control row */
			add_transport(o, *t);
	o->all = true;
}

static const char *add_transport_name(struct parse *ps, const char *tok)
{
	const struct ipc_transport *t = ipc_transport_find(tok);
	char names[512];

	if (strcmp(tok, "all") == 0)
		ps->all = true;
	else if (!t)
		return fail(ps, "--transport: '%s' is not a transport (%s, all)", tok,
			    ipc_transport_names(names, sizeof(names)));
	else
		add_transport(ps->o, t);
	return NULL;
}

static const char *push_size(struct parse *ps, size_t size)
{
	if (ps->o->nsizes == BENCH_MAX_SIZES)
		return fail(ps, "--size: more than %d sizes", BENCH_MAX_SIZES);
	ps->o->sizes[ps->o->nsizes++] = size;
	return NULL;
}

static const char *add_size(struct parse *ps, const char *tok)
{
	size_t size = 0;
	int ret = bench_parse_size(tok, &size);
	const char *e = NULL;
	char max[16];

	if (strcmp(tok, "sweep") == 0) {	/* _MIN to _MAX, each _STEP times the last */
		for (size = BENCH_SWEEP_MIN; !e && size <= BENCH_SWEEP_MAX; size *= BENCH_SWEEP_STEP)
			e = push_size(ps, size);
		ps->o->sweep = true;
		return e;
	}
	if (ret == -ERANGE)
		return fail(ps, "--size: '%s' is too big (at most %s)", tok,
			    bench_size_str(BENCH_SIZE_MAX, max, sizeof(max)));
	if (ret < 0 || size == 0)
		return fail(ps, "--size: '%s' is not a size (bytes, at least 1, "
			    "K=1024, M=1048576: e.g. 100,1K,64K; or sweep)", tok);
	return push_size(ps, size);
}

/* each item of the comma-separated list arg of --opt through add */
static const char *parse_list(struct parse *ps, const char *opt, const char *arg,
			      const char *(*add)(struct parse *ps, const char *tok))
{
	char copy[512], *p = copy, *tok;
	const char *e = NULL;

	if (strlen(arg) >= sizeof(copy))
		return fail(ps, "--%s: list too long", opt);
	strcpy(copy, arg);
	while (!e && (tok = strsep(&p, ",")) != NULL)
		e = add(ps, tok);
	return e;
}

/* the index of arg in names into *out, or the message naming them all */
static const char *choose(struct parse *ps, const char *opt, const char *what,
			  const char *const *names, const char *arg, int *out)
{
	char list[128];
	size_t used = 0;

	for (*out = 0; names[*out]; ++*out)
		if (strcmp(names[*out], arg) == 0)
			return NULL;
	for (int i = 0; names[i]; i++)
		used += snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
	return fail(ps, "--%s: '%s' is not %s (%s)", opt, arg, what, list);
}

static void defaults(struct bench_opts *o)
{
	*o = (struct bench_opts){
		.sizes = { 100, 1024 }, .nsizes = 2, .duration = BENCH_DEFAULT_DURATION,
		.warmup = BENCH_DEFAULT_WARMUP, .cpus = BENCH_CPUS_SPLIT, .mode = BENCH_PINGPONG,
		.format = BENCH_TABLE, .zmq_kind = "tcp", .daemon_cpu = BENCH_DAEMON_CPU_AUTO,
	};
	all_transports(o);
}

static const char *apply_number(struct parse *ps, int id, const char *arg)
{
	struct bench_opts *o = ps->o;
	uint64_t n;
	char *end;

	switch (id) {
	case 'c':
		if (parse_u64(arg, &n, &end) < 0 || *end || n == 0)
			return fail(ps, "--count: '%s' is not a count (a whole number of "
				    "round trips, or messages in stream mode, at least 1)", arg);
		o->count = n;
		ps->count_set = true;
		break;
	case 'd':
		errno = 0;
		o->duration = strtod(arg, &end);
		if (!*arg || *end || errno || !isfinite(o->duration) ||
		    !(o->duration > 0) || o->duration > BENCH_DURATION_MAX ||
		    isspace((unsigned char)*arg))
			return fail(ps, "--duration: '%s' is not a duration (seconds, "
				    "more than 0 and at most %.0f, e.g. 2 or 0.5)",
				    arg, BENCH_DURATION_MAX);
		ps->duration_set = true;
		break;
	case 'w':
		if (parse_u64(arg, &o->warmup, &end) < 0 || *end)
			return fail(ps, "--warmup: '%s' is not a count (a whole number "
				    "of round trips, 0 or more)", arg);
		o->warmup_set = true;
		break;
	case OPT_DAEMON_CPU:
		if (strcmp(arg, "none") == 0)
			n = (uint64_t)-1;
		else if (parse_u64(arg, &n, &end) < 0 || *end || n >= CPU_SETSIZE)
			return fail(ps, "--daemon-cpu: '%s' is not a CPU (a CPU number, "
				    "or none for unpinned)", arg);
		o->daemon_cpu = (int)n;
		break;
	}
	return NULL;
}

static const char *apply_choice(struct parse *ps, int id, const char *arg)
{
	struct bench_opts *o = ps->o;
	const char *e = NULL;
	int i;

	switch (id) {
	case OPT_CPUS:
		e = choose(ps, "cpus", "a placement", bench_cpus_names, arg, &i);
		o->cpus = e ? o->cpus : (enum bench_cpus)i;
		o->cpus_set = true;
		break;
	case OPT_MODE:
		e = choose(ps, "mode", "a mode", bench_mode_names, arg, &i);
		o->mode = e ? o->mode : (enum bench_mode)i;
		break;
	case OPT_FORMAT:
		e = choose(ps, "format", "a format", format_names, arg, &i);
		o->format = e ? o->format : (enum bench_format)i;
		break;
	case OPT_ZMQ:
		e = choose(ps, "zmq", "a zmq endpoint kind", zmq_names, arg, &i);
		o->zmq_kind = e ? o->zmq_kind : zmq_names[i];
		break;
	case OPT_ROAD:
		e = choose(ps, "road", "a road", bench_roads_names, arg, &i);
		o->roads = e ? o->roads : (enum bench_roads)i;
		o->roads_set = true;
		break;
	}
	return e;
}

/* --net NS_A=ADDR,NS_B=ADDR: the parent's host, then the child's */
static const char *parse_net(struct parse *ps, const char *arg)
{
	struct bench_opts *o = ps->o;
	struct in_addr a;
	int end = 0;

	if (sscanf(arg, "%127[^=,]=%15[0-9.],%127[^=,]=%15[0-9.]%n", o->netns[0],
		   o->net_addr[0], o->netns[1], o->net_addr[1], &end) != 4 || arg[end] ||
	    inet_pton(AF_INET, o->net_addr[0], &a) != 1 ||
	    inet_pton(AF_INET, o->net_addr[1], &a) != 1)
		return fail(ps, "--net: '%s' is not two hosts (NS_A=ADDR,NS_B=ADDR: a "
			    "network namespace, a name in /run/netns or a path, and its "
			    "IPv4 address; the parent's, then the child's)", arg);
	return NULL;
}

static const char *apply(struct parse *ps, int id, const char *arg)
{
	struct bench_opts *o = ps->o;
	const char *e;

	switch (id) {
	case 't':
		o->transports_set = true;
		o->ntransports = 0;
		o->all = ps->all = false;
		e = parse_list(ps, "transport", arg, add_transport_name);
		if (!e && ps->all)
			all_transports(o);
		return e;
	case 's':
		o->sizes_set = true;
		o->nsizes = 0;
		o->sweep = false;
		return parse_list(ps, "size", arg, add_size);
	case 'h':
	case OPT_SPIN:
	case OPT_SLEEP:
	case OPT_BASELINE:
		*(id == 'h' ? &o->help : id == OPT_SPIN ? &o->spin :
		  id == OPT_SLEEP ? &o->sleep : &o->baseline) = true;
		return NULL;
	case OPT_VIA:
		if (strncmp(arg, "mount:", 6) == 0)	/* DESIGN.md's spelling */
			arg += 6;
		if (!*arg)
			return fail(ps, "--via: '' is not a mount point (a directory "
				    "where ipcfs is mounted, or none)");
		o->via_none = strcmp(arg, "none") == 0;
		o->via = o->via_none ? NULL : arg;
		return NULL;
	case OPT_NET:
		return parse_net(ps, arg);
	case OPT_PEER:
	case OPT_IPCFS:
	case OPT_CDF:
		if (!*arg)
			return fail(ps, "--%s: '' is not a %s", id == OPT_CDF ? "cdf" :
				    id == OPT_PEER ? "peer" : "ipcfs", id == OPT_CDF ?
				    "file name (where to write latency percentiles)" :
				    id == OPT_PEER ? "directory (the child's view of --via's tree)" :
				    "path (the ipcfs daemon to mount)");
		*(id == OPT_CDF ? &o->cdf : id == OPT_PEER ? &o->peer : &o->ipcfs) = arg;
		return NULL;
	case 'c': case 'd': case 'w': case OPT_DAEMON_CPU:
		return apply_number(ps, id, arg);
	default:
		return apply_choice(ps, id, arg);
	}
}

/* what the options imply once all are read: roads, stream defaults */
static const char *settle(struct parse *ps)
{
	static const size_t stream_sizes[] = BENCH_STREAM_SIZES;
	struct bench_opts *o = ps->o;
	int i, n;

	if (ps->count_set && ps->duration_set)
		return fail(ps, "--duration: cannot be combined with --count (give one)");
	if (o->spin && o->sleep)
		return fail(ps, "--sleep: cannot be combined with --spin (give one)");
	if (!ps->count_set)
		o->count = 0;
	if (o->via_none) {
		if (o->roads_set && o->roads != BENCH_ROADS_DIRECT)
			return fail(ps, "--road: '%s' needs the mount, but --via none "
				    "was given (both, direct, mount)", bench_roads_names[o->roads]);
		o->roads = BENCH_ROADS_DIRECT;
	}
	if (o->via && o->roads == BENCH_ROADS_DIRECT)
		return fail(ps, "--via: a mount is not used with --road direct "
			    "(give one or the other)");
	if (o->roads == BENCH_ROADS_NET && (!o->netns[0][0] || !o->via || !o->peer))
		return fail(ps, "--road: 'net' needs --net, --via and --peer (bench/net.sh "
			    "gives them)");
	if (o->roads != BENCH_ROADS_NET && (o->netns[0][0] || o->peer))
		return fail(ps, "--%s: only with --road net", o->peer ? "peer" : "net");
	if (o->roads == BENCH_ROADS_NET && (o->baseline || !strcmp(o->zmq_kind, "ipc")))
		return fail(ps, "--%s: not with --road net (its direct rows are zmq over "
			    "tcp:// and raw tcp)", o->baseline ? "baseline" : "zmq");
	/* across hosts: rows above a limit are skipped; the control row always */
	o->all |= o->roads == BENCH_ROADS_NET;
	if (o->mode != BENCH_STREAM || !bench_uses_mount(o))
		return NULL;
	if (!o->sizes_set) {
		o->nsizes = sizeof(stream_sizes) / sizeof(stream_sizes[0]);
		memcpy(o->sizes, stream_sizes, sizeof(stream_sizes));
	}
	if (!o->transports_set) {	/* bandwidth: the byte transports */
		for (i = n = 0; i < o->ntransports; i++)
			if (!(o->transports[i]->caps & IPC_MESSAGES))
				o->transports[n++] = o->transports[i];
		o->ntransports = n;
	}
	return NULL;
}

static const struct option *long_opt(const char *name, size_t len)
{
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (strlen(lo->name) == len && !strncmp(lo->name, name, len))
			return lo;
	return NULL;
}

/*
 * What getopt_long's answer c means for argv[cur], the argument it read:
 * NULL to apply it, else the message. One short option per argument
 * ("-hx" is refused) and no abbreviated long ones, as before getopt.
 */
static const char *check(struct parse *ps, int c, char *const argv[], int cur)
{
	const char *a = argv[cur], *eq = strchr(a, '=');
	size_t len = a[1] == '-' && eq ? (size_t)(eq - a) : strlen(a);
	const struct option *lo = a[1] == '-' ? long_opt(a + 2, len - 2) : NULL;

	if (a[1] == '-' && !lo)
		return fail(ps, "'%.*s' is not an option (try --help)", (int)len, a);
	if (c == '?' && lo)
		return fail(ps, "--%s: takes no value", lo->name);
	if (c == '?')
		return fail(ps, "'-%c' is not an option (try --help)", optopt);
	if (c == ':') {
		for (lo = long_opts; !lo->name || lo->val != optopt; lo++)
			;
		return fail(ps, "--%s: needs a value (see --help)", lo->name);
	}
	if (a[1] != '-' && optind == cur)	/* more letters follow */
		return fail(ps, "-%c: takes no value", c);
	return NULL;
}

const char *bench_parse_opts(struct bench_opts *o, int argc,
			     char *const argv[], char *err, size_t errlen)
{
	struct parse ps = { .o = o, .err = err, .errlen = errlen };
	const char *e;
	int c, cur;

	defaults(o);
	optind = 0;	/* glibc: a full reset, for the next caller too */
	opterr = 0;
	for (;;) {
		cur = optind ? optind : 1;
		c = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL);
		if (c == -1)
			break;
		e = check(&ps, c, argv, cur);
		if (!e)
			e = apply(&ps, c, optarg);
		if (e)
			return e;
	}
	if (optind > cur)	/* "--" ended the options */
		return fail(&ps, "'--' is not an option (try --help)");
	if (optind < argc)
		return fail(&ps, "'%s' is not an option (try --help)", argv[optind]);
	return settle(&ps);
}

void bench_usage(FILE *f)
{
	const struct ipc_transport *const *t;

	fprintf(f, "usage: %s [options]\n"
		"Ping-pong (or stream) between a parent and a forked child over the ipcfs\n"
		"transports, directly (the library, no filesystem) and through the files\n"
		"of an ipcfs mount, side by side, with the control row (plainmem, mount\n"
		"only) and the FUSE floor (nullfs, a file system that does nothing).\n"
		"A \"msg\" is one round trip carrying the full message in each\n"
		"direction; one-way latency is RTT/2.\n\n"
		"  -t, --transport NAME[,NAME...]|all  transports to run (default all)\n"
		"  -s, --size LIST      message sizes in bytes, K=1024, M=1048576\n"
		"                       (default 100,1K; at most 256M); sweep:\n"
		"                       16 to 1M, powers of 4, each row above a\n"
		"                       mechanism's limit skipped\n"
		"  -c, --count N        timed round trips (messages) per row\n"
		"  -d, --duration S     timed seconds per row, may be fractional\n"
		"                       (default %g s when no --count)\n"
		"  -w, --warmup N       untimed round trips first (default %d, cut\n"
		"                       short after %g s)\n"
		"      --cpus same|split|none  pin both on one CPU, on two CPUs,\n"
		"                       or not at all (default split)\n"
		"      --mode pingpong|stream  latency, or one-way bandwidth\n"
		"      --spin           ring transports busy-wait (ipc_opts.spin)\n"
		"      --sleep          ring transports sleep on their doorbell at\n"
		"                       once, no spin or yield (ipc_opts.sleep)\n"
		"      --zmq tcp|ipc    zmq endpoint kind (default tcp)\n"
		"      --format table|csv|json  output (default table)\n"
		"      --baseline       add rows measured on raw fds without the\n"
		"                       library: %s\n"
		"      --road both|direct|mount|net  which roads run (default both);\n"
		"                       net: both between two hosts (bench/net.sh)\n"
		"      --net NS_A=ADDR,NS_B=ADDR  the net road's hosts: the parent's and\n"
		"                       the child's network namespace and IPv4 address\n"
		"      --peer DIR       the net road: the child's view of --via's tree\n"
		"      --via MOUNT|none  the mount road uses the ipcfs mounted at\n"
		"                       MOUNT; none: direct only. Default: mount\n"
		"                       ipcfs on a temp dir for the run\n"
		"      --ipcfs PATH     the daemon to mount (default $IPCFS, else\n"
		"                       the ipcfs next to this program, else the\n"
		"                       build tree's, else ipcfs in $PATH)\n"
		"      --daemon-cpu N|none  pin our daemons (ipcfs, nullfs) on CPU N,\n"
		"                       or not at all; default: with --cpus same\n"
		"                       on that CPU, with split on a third CPU if\n"
		"                       there is one, else unpinned\n"
		"      --cdf FILE       write one-way latency percentiles of every\n"
		"                       ping-pong row to FILE (CSV, for bench/plot.sh)\n"
		"  -h, --help           this text\n\n"
		"Stream mode through the mount defaults to 4K,64K,1M and the byte\ntransports.\n\n"
		"Exit status: 0 all rows ran, 1 a row failed or the bench was\n"
		"stopped, 2 bad options.\n\ntransports:\n", program_invocation_short_name,
		BENCH_DEFAULT_DURATION, BENCH_DEFAULT_WARMUP,
		BENCH_DEFAULT_WARMUP_S, BENCH_CLASSIC_NAMES);
	for (t = ipc_transports; *t; t++)
		fprintf(f, "  %-10s  %s\n", (*t)->name,
			(*t)->what ? (*t)->what : "(not implemented yet)");
}
