/*
 * bench.h - the pieces of bench/direct, a ping-pong and streaming
 * benchmark of the transports: option parsing (opts.c), a log-linear
 * latency histogram (hist.c), the runs over a "link" (run.c), the links
 * themselves (link.c: the transports; classic.c: raw-fd baselines) and
 * the output (report.c). bench.c is main() and nothing else.
 * mount.c mounts ipcfs and the floor file system (nullfs.c) on temp dirs
 * for a run; link_mount.c is the road through their files.
 *
 * A link is one road between a parent and a forked child: two directions,
 * ping (parent -> child) and pong (child -> parent). The loop in run.c
 * only sees struct bench_link, so another road (files of a FUSE mount,
 * --via) is one more set of ops, not a change to the loop.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "transport.h"

/* ---------------------------------------------------------------- hist.c */

/*
 * Log-linear histogram of nanosecond values. Values below
 * BENCH_HIST_EXACT are counted exactly; above, every power of two is cut
 * into 2^BENCH_HIST_SUB_BITS equal buckets, so a bucket is at most 1/64
 * of its lower bound wide. A percentile is reported as the middle of its
 * bucket, clamped to [min, max]: within 1/128 (0.79%) of the true order
 * statistic for any value up to BENCH_HIST_TOP (2^37 ns, about 137 s).
 * Bigger values land in the top bucket (the percentile saturates there;
 * max stays exact). Mean, min and max are exact.
 */
#define BENCH_HIST_SUB_BITS	6
#define BENCH_HIST_EXACT	(2u << BENCH_HIST_SUB_BITS)	/* 128 */
#define BENCH_HIST_TOP_BITS	37
#define BENCH_HIST_TOP		((uint64_t)1 << BENCH_HIST_TOP_BITS)
#define BENCH_HIST_BUCKETS	(BENCH_HIST_EXACT + \
	(BENCH_HIST_TOP_BITS - BENCH_HIST_SUB_BITS - 1) * \
	(1u << BENCH_HIST_SUB_BITS))
/* the documented bound on the relative error of a percentile */
#define BENCH_HIST_REL_ERR	(1.0 / (2u << BENCH_HIST_SUB_BITS))

struct bench_hist {
	uint64_t n;		/* values recorded */
	uint64_t sum;		/* of all values, for the mean */
	uint64_t min, max;	/* exact; min is UINT64_MAX when empty */
	uint64_t count[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t v);
/* dst += src */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* nearest-rank percentile, p in [0, 100]; 0 when empty */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);
double bench_hist_mean(const struct bench_hist *h);
/* bucket of v, and the range [lo, hi] of values that share it */
unsigned bench_hist_bucket(uint64_t v);
void bench_hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi);

/* ---------------------------------------------------------------- opts.c */

enum bench_mode { BENCH_PINGPONG, BENCH_STREAM };
enum bench_cpus { BENCH_CPUS_SAME, BENCH_CPUS_SPLIT, BENCH_CPUS_NONE };
enum bench_format { BENCH_TABLE, BENCH_CSV, BENCH_JSON };
/* --road: which roads run; a result's road */
enum bench_roads { BENCH_ROADS_BOTH, BENCH_ROADS_DIRECT, BENCH_ROADS_MOUNT };
enum bench_road { BENCH_ROAD_DIRECT, BENCH_ROAD_MOUNT, BENCH_ROAD_FLOOR };

#define BENCH_MAX_SIZES		32
#define BENCH_MAX_TRANSPORTS	32
#define BENCH_SIZE_MAX		((size_t)256 << 20)	/* 256M */
#define BENCH_DURATION_MAX	86400.0

/* defaults: the whole default table (every transport, 100 B and 1 KiB)
 * stays under a minute: each row runs 1 s after a short warm-up */
#define BENCH_DEFAULT_DURATION	1.0
#define BENCH_DEFAULT_WARMUP	1000	/* round trips, but... */
#define BENCH_DEFAULT_WARMUP_S	0.2	/* ...at most this long by default */

struct bench_opts {
	const struct ipc_transport *transports[BENCH_MAX_TRANSPORTS];
	int ntransports;
	bool all;		/* every transport: limits skip rows, not fail */
	size_t sizes[BENCH_MAX_SIZES];
	int nsizes;
	uint64_t count;		/* round trips (messages); 0: by duration */
	double duration;	/* seconds, when count is 0 */
	uint64_t warmup;
	bool warmup_set;	/* exactly warmup; else also capped in time */
	enum bench_cpus cpus;
	bool cpus_set;
	enum bench_mode mode;
	enum bench_format format;
	bool spin;		/* ipc_opts.spin for IPC_RING transports */
	const char *zmq_kind;	/* ipc_opts.zmq_kind: "tcp" or "ipc" */
	bool baseline;		/* add the raw-fd "classic" rows */
	bool help;
	bool transports_set;	/* -t given (else: the default set) */
	bool sizes_set;		/* -s given (else: the mode's default) */
	enum bench_roads roads;	/* --road; --via none: direct */
	bool roads_set;
	const char *via;	/* --via MOUNT: use it; NULL: mount our own */
	bool via_none;		/* --via none: no mount, direct only */
	const char *ipcfs;	/* --ipcfs PATH: the daemon to mount */
	const char *cdf;	/* --cdf FILE: latency percentiles per row */
	int daemon_cpu;		/* --daemon-cpu: a CPU, -1 none, or AUTO */
};

#define BENCH_DAEMON_CPU_AUTO	(-2)	/* as --cpus implies */

/* stream mode's default sizes when the mount road runs */
#define BENCH_STREAM_SIZES	{ 4096, 65536, 1048576 }

/*
 * Fill o from argv (argv[0] is the program). NULL on success; else a
 * one-line message in err that names the option and the valid values,
 * e.g. "--cpus: 'both' is not a placement (same, split, none)".
 */
const char *bench_parse_opts(struct bench_opts *o, int argc,
			     char *const argv[], char *err, size_t errlen);
/* "100", "1K", "64k", "1M": bytes; 0 or -EINVAL (not a size), -ERANGE */
int bench_parse_size(const char *s, size_t *out);
/* "64K" for 65536, "100" for 100: the shortest exact form */
const char *bench_size_str(size_t size, char *buf, size_t len);
/* --help: the options and every transport with its .what */
void bench_usage(FILE *f);
const char *bench_mode_name(enum bench_mode m);
const char *bench_cpus_name(enum bench_cpus c);
const char *bench_format_name(enum bench_format f);
const char *bench_roads_name(enum bench_roads r);
const char *bench_road_name(enum bench_road r);
/* the mount road runs: --road both or mount, and not --via none */
static inline bool bench_uses_mount(const struct bench_opts *o)
{
	return o->roads != BENCH_ROADS_DIRECT;
}

static inline bool bench_uses_direct(const struct bench_opts *o)
{
	return o->roads != BENCH_ROADS_MOUNT;
}

/* ---------------------------------------------------------------- links */

enum bench_side { BENCH_PARENT, BENCH_CHILD };

struct bench_link;

struct bench_link_ops {
	/* before fork: make both directions for messages of `size` bytes;
	 * -EMSGSIZE when the mechanism cannot carry them, else -errno */
	int (*open)(struct bench_link *l, size_t size);
	/* after fork, in each process: keep this side's ends; -errno */
	int (*attach)(struct bench_link *l, enum bench_side side);
	/* one send on our sending direction: a count (byte links: maybe
	 * short) or -errno (-EINTR when a signal handler ran) */
	ssize_t (*send)(struct bench_link *l, const void *buf, size_t len);
	/* one receive: message links return one whole message, and len is
	 * at least rx_min; 0 is end of stream; -errno */
	ssize_t (*recv)(struct bench_link *l, void *buf, size_t len);
	/* close our sending direction: the peer's recv returns 0 */
	void (*hangup)(struct bench_link *l);
	/* release everything this process holds, named objects included */
	void (*close)(struct bench_link *l);
};

struct bench_link {
	const struct bench_link_ops *ops;
	char name[40];		/* "pipe", "pipe(classic)", "floor" */
	enum bench_road road;
	bool messages;		/* one recv is one message */
	bool classic;		/* a baseline row, not the library */
	bool nodata;		/* the floor: reads give zeros; payloads and
				 * sequence numbers are not checked */
	size_t rx_min;		/* after open: smallest receive buffer */
	enum bench_side side;
	/* the transports road (link.c) */
	const struct ipc_transport *t;
	struct ipc_opts ipc;
	struct ipc_chan ch[2];	/* [0] ping, [1] pong */
	/* the classic road (classic.c) */
	int kind;
	int fd[4];		/* as made, before fork */
	int tx, rx;		/* after attach: the fds this side uses */
	/* the mount road and the floor (link_mount.c); tx, rx as above */
	const char *mount;	/* the mount point */
	char dir[64];		/* mount road: our pong directory under it */
	pid_t owner;		/* the process that made dir: it removes it */
	enum bench_mode mode;	/* the floor: which requests a message is */
	atomic_uint *stop;	/* the floor: shared hang-up word, counts */
	double floor_ratio;	/* the floor: child's loops / parent's */
	bool solo;		/* floor-1p: the parent does all requests */
	unsigned char *scratch;	/* floor-1p: the stand-in requests' buffer */
};

/* link.c: the transport t, both directions made with ipc_chan_open */
void bench_link_ipc(struct bench_link *l, const struct ipc_transport *t,
		    const struct ipc_opts *o);
/* classic.c: "pipe(classic)" etc. on raw fds; false: no baseline for it */
bool bench_link_classic(struct bench_link *l, const char *transport);
/* "pipe, unix, tcp, udp, mqueue" */
const char *bench_classic_names(void);
/*
 * link_mount.c: transport t through a mounted ipcfs: ping is MOUNT/<t>,
 * pong is MOUNT/bench.<pid>.<n>/<t>, a directory made by open() and
 * removed by close() in the process that made it.
 */
void bench_link_mount(struct bench_link *l, const struct ipc_transport *t,
		      const char *mount);
/*
 * The FUSE floor: MOUNT/null of a mounted nullfs, driven by the same
 * loop: each side sends (writes S) and receives (reads S zeros) with no
 * waiting for the other; after close, floor_ratio is the child's loops
 * over the parent's (see bench_floor_what). solo ("floor-1p"): the
 * parent issues every request of a round trip (message) itself and the
 * child sleeps.
 */
void bench_link_floor(struct bench_link *l, const char *mount,
		      enum bench_mode mode, bool solo);
/* lines describing what the floor measures, for the table's header */
const char *bench_floor_what(enum bench_mode mode, bool solo);

/* ---------------------------------------------------------------- mount.c */

struct bench_mount {
	const char *what;	/* "ipcfs", "nullfs": for messages */
	char exe[4096];		/* the daemon run with -f */
	char dir[64];		/* mkdtemp: the mount point */
	pid_t pid;		/* the daemon; 0 once reaped */
	int status;		/* its wait status once reaped */
	bool mounted;
	bool made_dir;
};

/*
 * The daemon to run: `given`, else $env, else `built` (the build tree's,
 * passed by meson) if it exists, else `name` in $PATH. The path into buf;
 * NULL if none was found (buf then says where we looked).
 */
const char *bench_find_daemon(const char *given, const char *env,
			      const char *built, const char *name, char *buf,
			      size_t len);
/*
 * Make a temp dir, run `exe -f DIR` in its own process group, wait for
 * the mount (deadline BENCH_MOUNT_WAIT_S); 0, or -1 with a one-line
 * reason in err (the daemon's exit status when it died). Registered for
 * bench_mount_cleanup().
 */
#define BENCH_MOUNT_WAIT_S	10
int bench_mount_start(struct bench_mount *m, const char *what,
		      const char *exe, char *err, size_t errlen);
/* pin the daemon on `cpu` (-1: every CPU we may use); -errno */
int bench_mount_pin(struct bench_mount *m, int cpu);
/* NULL while the daemon runs; else "exited with status 1" etc. */
const char *bench_mount_dead(struct bench_mount *m, char *buf, size_t len);
/* fusermount3 -u, then -uz; end the daemon (SIGTERM, SIGKILL); rmdir */
void bench_mount_stop(struct bench_mount *m);
/* stop every mount still up: at exit, on a fatal error */
void bench_mount_cleanup(void);

/* ---------------------------------------------------------------- run.c */

struct bench_run_params {
	size_t size;
	enum bench_mode mode;
	uint64_t count;		/* 0: duration */
	double duration;
	uint64_t warmup;
	double warmup_max_s;	/* > 0: stop warming up after this long */
	int cpu_parent, cpu_child;	/* -1: leave unpinned */
	bool progress;		/* a progress line on stderr */
};

enum bench_status {
	BENCH_OK,
	BENCH_SKIPPED,		/* size above this mechanism's limit (all) */
	BENCH_FAILED,		/* set-up failed: reported, the run goes on */
	BENCH_FATAL,		/* peer died, bad payload: the bench ends */
};

struct bench_result {
	char name[40];
	enum bench_road road;
	size_t size;
	enum bench_mode mode;
	enum bench_status status;
	char error[256];
	uint64_t warmup;	/* round trips (messages) actually done */
	uint64_t count;
	double seconds;		/* the timed part */
	double cpu_parent, cpu_child;	/* CPU seconds in the timed part */
	int cpu_parent_id, cpu_child_id;	/* -1: unpinned */
	struct bench_hist hist;	/* ping-pong: round-trip times [ns] */
};

/* the signal handlers and watchdog that keep a run from hanging */
void bench_signals_init(void);
/* SIGINT or SIGTERM arrived */
bool bench_interrupted(void);
/* open, fork, ping-pong or stream, close; fills r */
enum bench_status bench_run(struct bench_link *l,
			    const struct bench_run_params *p,
			    struct bench_result *r);
/* open and close again: 0, -EMSGSIZE or -errno, before anything runs */
int bench_probe(struct bench_link *l, size_t size);

/*
 * Message contents: the sequence number in the first min(len, 8) bytes
 * (little-endian) and, from 16 bytes, in the last 8 as well; in between
 * a fixed pattern of the direction (bench_fill). Exposed for tests.
 */
void bench_fill(unsigned char *buf, size_t len, unsigned dir);
void bench_stamp(unsigned char *buf, size_t len, uint64_t seq);
/* -1 if buf is message `seq` over the pattern ref, else its first bad byte */
ssize_t bench_check(const unsigned char *buf, const unsigned char *ref,
		    size_t len, uint64_t seq);

/* ------------------------------------------------------------- report.c */

struct bench_env {
	char kernel[320];	/* uname */
	char cpu_model[128];	/* /proc/cpuinfo */
	char date[40];		/* UTC, ISO 8601 */
	const char *git;	/* git describe at build time, or "unknown" */
	char placement[160];	/* "split (parent CPU 0, child CPU 1)" */
	int cpu_parent, cpu_child;
	int cpu_daemon;		/* -1: the daemons are not pinned */
	char daemon_place[160];	/* where the mount's daemon runs */
	const char *mount;	/* the mount road's mount point, or NULL */
	const char *mount_how;	/* "ours (ipcfs at PATH)" or "given (--via)" */
	const char *floor;	/* the floor's mount point, or NULL */
	int ncpus;		/* CPUs we may run on */
};

void bench_env_init(struct bench_env *env);
void bench_report_begin(FILE *f, const struct bench_opts *o,
			const struct bench_env *env);
void bench_report_row(FILE *f, const struct bench_opts *o,
		      const struct bench_result *r);
void bench_report_end(FILE *f, const struct bench_opts *o, int nfailed);
/* the combined table (both roads): one line per transport and size; d or
 * m may be NULL (the control: mount only; the floor) */
void bench_report_pair(FILE *f, const struct bench_opts *o,
		       const struct bench_result *d,
		       const struct bench_result *m);
/* under the combined table: control vs floor, transports vs control */
void bench_report_summary(FILE *f, const struct bench_opts *o,
			  const struct bench_result *const *res, int nres);
/* --cdf: "road,transport,size,percentile,oneway_us" lines of a result */
void bench_report_cdf_begin(FILE *f);
void bench_report_cdf(FILE *f, const struct bench_result *r);

#endif
