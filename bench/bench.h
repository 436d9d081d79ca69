/*
 * bench.h - the pieces of bench/direct, a ping-pong and stream bench of the
 * transports, directly and through the files of a FUSE mount; one file
 * each, see docs/DESIGN.md, "The bench". A link is one road between a
 * parent and a forked child: ping (parent -> child) and pong (back).
 */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

static inline ssize_t bench_errno(ssize_t n)	/* a count or -errno */
{
	return n < 0 ? -errno : n;
}

#define BENCH_NSEC	1000000000ull

static inline uint64_t bench_now_ns(void)	/* CLOCK_MONOTONIC */
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * BENCH_NSEC + (uint64_t)ts.tv_nsec;
}

static inline void bench_close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

/* log-linear, exact below 128 ns; a percentile within BENCH_HIST_REL_ERR
 * up to BENCH_HIST_TOP, where it saturates (hist.c) */
#define BENCH_HIST_SUB_BITS	6
#define BENCH_HIST_EXACT	(2u << BENCH_HIST_SUB_BITS)	/* 128 */
#define BENCH_HIST_TOP_BITS	37
#define BENCH_HIST_TOP		((uint64_t)1 << BENCH_HIST_TOP_BITS)
#define BENCH_HIST_BUCKETS	(BENCH_HIST_EXACT + (BENCH_HIST_TOP_BITS - \
				 BENCH_HIST_SUB_BITS - 1) * (1u << BENCH_HIST_SUB_BITS))
#define BENCH_HIST_REL_ERR	(1.0 / (2u << BENCH_HIST_SUB_BITS))

struct bench_hist {
	uint64_t n, sum;	/* values recorded, their sum */
	uint64_t min, max;	/* exact; min is UINT64_MAX when empty */
	uint64_t count[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t v);
/* nearest-rank percentile, p in [0, 100]; 0 when empty */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);
double bench_hist_mean(const struct bench_hist *h);
/* bucket of v, and the range [lo, hi] of values that share it */
unsigned bench_hist_bucket(uint64_t v);
void bench_hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi);

enum bench_mode { BENCH_PINGPONG, BENCH_STREAM };
enum bench_cpus { BENCH_CPUS_SAME, BENCH_CPUS_SPLIT, BENCH_CPUS_NONE };
enum bench_format { BENCH_TABLE, BENCH_CSV, BENCH_JSON };
/* --road: which roads run (net: both, across two network namespaces);
 * a result's road */
enum bench_roads { BENCH_ROADS_BOTH, BENCH_ROADS_DIRECT, BENCH_ROADS_MOUNT, BENCH_ROADS_NET };
enum bench_road { BENCH_ROAD_DIRECT, BENCH_ROAD_MOUNT, BENCH_ROAD_FLOOR };

#define BENCH_MAX_SIZES		32
#define BENCH_MAX_TRANSPORTS	32
#define BENCH_SIZE_MAX		((size_t)256 << 20)	/* 256M */
#define BENCH_DURATION_MAX	86400.0
/* the default table stays under a minute (docs/DESIGN.md, "Warm-up") */
#define BENCH_DEFAULT_DURATION	1.0
#define BENCH_DEFAULT_WARMUP	1000
#define BENCH_DEFAULT_WARMUP_S	0.2
#define BENCH_DAEMON_CPU_AUTO	(-2)	/* as --cpus implies */
#define BENCH_STREAM_SIZES	{ 4096, 65536, 1048576 }
/* --size sweep: 16 B to 1M, powers of 4 (9 sizes) */
#define BENCH_SWEEP_MIN		16
#define BENCH_SWEEP_MAX		((size_t)1 << 20)
#define BENCH_SWEEP_STEP	4

struct bench_opts {
	const struct ipc_transport *transports[BENCH_MAX_TRANSPORTS];
	int ntransports;
	bool all;		/* every transport, or the net road: limits skip
				 * rows, not fail; the control row is added */
	bool sweep;		/* --size sweep: so do they here */
	size_t sizes[BENCH_MAX_SIZES];
	int nsizes;
	uint64_t count;		/* round trips (messages); 0: by duration */
	double duration;	/* seconds, when count is 0 */
	uint64_t warmup;
	bool warmup_set;	/* exactly warmup; else also capped in time */
	enum bench_cpus cpus;
	enum bench_mode mode;
	enum bench_format format;
	bool spin;		/* ipc_opts.spin for IPC_RING transports */
	bool sleep;		/* ipc_opts.sleep, likewise */
	const char *zmq_kind;	/* ipc_opts.zmq_kind: "tcp" or "ipc" */
	bool baseline;		/* add the raw-fd "classic" rows */
	bool help;
	/* given on the command line, else a default (or the mode's) */
	bool transports_set, sizes_set, cpus_set, roads_set;
	enum bench_roads roads;	/* --road; --via none: direct */
	const char *via;	/* --via MOUNT: use it; NULL: mount our own */
	bool via_none;		/* --via none: no mount, direct only */
	const char *ipcfs;	/* --ipcfs PATH: the daemon to mount */
	const char *cdf;	/* --cdf FILE: latency percentiles per row */
	int daemon_cpu;		/* --daemon-cpu: a CPU, -1 none, or AUTO */
	/* --road net: --net's namespaces and addresses (parent, child) and
	 * --peer, the child's view of --via's tree */
	char netns[2][128], net_addr[2][16];
	const char *peer;
};

/* NULL, or a one-line message in err naming the option and its values */
const char *bench_parse_opts(struct bench_opts *o, int argc, char *const argv[],
			     char *err, size_t errlen);
/* "100", "1K", "64k", "1M": bytes; 0 or -EINVAL (not a size), -ERANGE */
int bench_parse_size(const char *s, size_t *out);
/* "64K" for 65536: the shortest exact form */
const char *bench_size_str(size_t size, char *buf, size_t len);
void bench_usage(FILE *f);
/* the names of enum bench_mode, _cpus, _roads, _road */
extern const char *const bench_mode_names[], *const bench_cpus_names[];
extern const char *const bench_roads_names[], *const bench_road_names[];

#define bench_uses_mount(o)	((o)->roads != BENCH_ROADS_DIRECT)
#define bench_uses_direct(o)	((o)->roads != BENCH_ROADS_MOUNT)
#define bench_paired(o)		((o)->roads == BENCH_ROADS_BOTH || (o)->roads == BENCH_ROADS_NET)

enum bench_side { BENCH_PARENT, BENCH_CHILD };

/* the net road's two hosts: a network namespace (an fd) and its IPv4
 * address per side */
struct bench_net {
	int ns[2];
	const char *addr[2];
};
/* this thread into side's namespace: 0 or -errno */
int bench_net_enter(const struct bench_net *net, enum bench_side side);

struct bench_link;
/* every op but close returns -errno on failure (-EINTR: a signal ran) */
struct bench_link_ops {
	/* before fork, both directions for `size` bytes (-EMSGSIZE: too big) */
	int (*open)(struct bench_link *l, size_t size);
	/* after fork, in each process: keep this side's ends */
	int (*attach)(struct bench_link *l, enum bench_side side);
	/* a count (byte links may be short); recv: one whole message on
	 * message links (len >= rx_min), 0 at the end */
	ssize_t (*send)(struct bench_link *l, const void *buf, size_t len);
	ssize_t (*recv)(struct bench_link *l, void *buf, size_t len);
	void (*hangup)(struct bench_link *l);	/* the peer's recv returns 0 */
	void (*close)(struct bench_link *l);	/* named objects included */
};

/* what run.c and the report see of a link; a road's own state wraps it */
struct bench_link {
	const struct bench_link_ops *ops;
	char name[40];		/* "pipe", "pipe(classic)", "floor" */
	enum bench_road road;
	bool messages;		/* one recv is one message */
	bool classic;		/* a baseline row, not the library */
	bool nodata;		/* reads give zeros: no payload checks */
	bool fresh;		/* IPC_FRESH: each row in a process of its own */
	size_t rx_min;		/* after open: smallest receive buffer */
	int tx, rx;		/* roads on fds: this side's ends, or -1 */
	double count_scale;	/* after close, > 0: scales the row's count */
};

/* the roads: each returns a link to free() (classic: NULL if it has no
 * baseline for that transport); floor's solo is "floor-1p" */
/* net: each side's ends made in its namespace (ipc: zmq; classic: tcp) */
struct bench_link *bench_link_ipc(const struct ipc_transport *t, const struct ipc_opts *o,
				  const struct bench_net *net);
struct bench_link *bench_link_classic(const char *transport, const struct bench_net *net);
#define BENCH_CLASSIC_NAMES	"pipe, unix, tcp, udp, mqueue, sysvmsg, eventfd, zmq,\n" \
	"                       shm, mmap; and cacheline, the shared-memory bound"
/* classic_zmq.c: the shape of a raw ZeroMQ ping-pong (libzmq's values) */
struct bench_zmq_cfg {
	int type[2];		/* socket type per side (BENCH_PARENT, _CHILD);
				 * PUSH, PULL: a pair each way. The child
				 * binds, sends first: a ROUTER is the
				 * parent's, a REQ the child's */
	const char *kind;	/* "tcp" or "ipc" */
	int io_threads;		/* ZMQ_IO_THREADS of each side's context */
	bool immediate;		/* ZMQ_IMMEDIATE */
	int hwm;		/* ZMQ_SNDHWM and ZMQ_RCVHWM; 0: the default */
};
/* the plain one: PAIR, PAIR, one I/O thread, defaults; kind NULL: tcp */
void bench_zmq_cfg_plain(struct bench_zmq_cfg *cfg, const char *kind);
struct bench_link *bench_link_classic_zmq(const struct bench_zmq_cfg *cfg,
					  const char *name);
/* peer: the child's view of mount's tree (the net road), or NULL */
struct bench_link *bench_link_mount(const struct ipc_transport *t, const char *mount,
				    const char *peer);
struct bench_link *bench_link_floor(const char *mount, enum bench_mode mode, bool solo);
/* lines describing what the floor measures, for the table's header */
const char *bench_floor_what(enum bench_mode mode, bool solo);
/* a road's struct of `size` bytes, its bench_link first, set up */
void *bench_link_new(size_t size, const struct bench_link_ops *ops, enum bench_road road,
		     const char *name);
/* links on two fds, l->tx and l->rx: write, read, close tx; open two
 * files for a side; close both */
ssize_t bench_fd_send(struct bench_link *l, const void *buf, size_t len);
ssize_t bench_fd_recv(struct bench_link *l, void *buf, size_t len);
void bench_fd_hangup(struct bench_link *l);
int bench_fd_attach(struct bench_link *l, const char *tx, const char *rx);
void bench_fd_close(struct bench_link *l);

/* what the report says of the machine and the set-up */
struct bench_env {
	char kernel[320], cpu_model[128];
	char date[40];		/* UTC, ISO 8601 */
	const char *git;	/* git describe at build time, or "unknown" */
	char placement[320];	/* "split (parent CPU 0, child CPU 1)" */
	int cpu_parent, cpu_child;
	int cpu_daemon;		/* -1: the daemons are not pinned */
	char daemon_place[160];
	const char *mount;	/* the mount road's mount point, or NULL */
	struct bench_net hosts;		/* --net's... */
	const struct bench_net *net;	/* ...with the net road, else NULL */
	char mount_how[4200];	/* "mounted for this run (...)", "given..." */
	const char *floor;	/* the floor's mount point, or NULL */
	const char *floor_exe;	/* the nullfs that serves it */
	pid_t ipcfs_pid, nullfs_pid;	/* our daemons; 0: none, or not ours (--via) */
	int ncpus;		/* CPUs we may run on */
};

/* mount.c: ipcfs unless --via, and nullfs; exits 1 when ipcfs cannot be
 * mounted, 2 on a bad --via; undone at exit */
void bench_mounts_up(const struct bench_opts *o, struct bench_env *env);
void bench_mounts_down(void);
/* after a fatal row on `road`: say whether our daemon died */
void bench_mounts_check(enum bench_road road);
/* pin our daemons as --daemon-cpu or --cpus says; env->daemon_place */
void bench_place_daemons(const struct bench_opts *o, struct bench_env *env);
/* every thread of pid (0: this thread) on `cpu` (-1: every online CPU); -errno */
int bench_pin(pid_t pid, int cpu);

/* place.c: --cpus, --daemon-cpu and --net into env (this process into
 * the parent's namespace); exits 2 when split or --net cannot be */
void bench_place(struct bench_opts *o, struct bench_env *env);
/* "direct: " (the program's name) and the message on stderr, exit 2 */
__attribute__((noreturn, format(printf, 1, 2)))
void bench_usage_error(const char *fmt, ...);
void *bench_calloc(size_t n, size_t size);	/* or exit(1) */

struct bench_run_params {
	size_t size;
	enum bench_mode mode;
	uint64_t count;		/* 0: duration */
	double duration;
	uint64_t warmup;
	double warmup_max_s;	/* > 0: stop warming up after this long */
	int cpu_parent, cpu_child;	/* -1: leave unpinned */
	const struct bench_net *net;	/* the child enters its namespace */
	pid_t daemon;		/* the daemon serving the row, or 0 */
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
	enum bench_mode mode;
	enum bench_status status;
	size_t size;
	char error[256];
	uint64_t warmup;	/* round trips (messages) actually done */
	uint64_t count;
	double seconds;		/* the timed part */
	double cpu_parent, cpu_child;	/* CPU seconds in the timed part */
	double cpu_daemon;	/* the daemon's (all its threads); < 0: not measured */
	int cpu_parent_id, cpu_child_id;	/* -1: unpinned */
	struct bench_hist hist;	/* ping-pong: round-trip times [ns] */
};

/* the signal handlers that keep a run from hanging; the mqueue limit */
void bench_run_init(void);
bool bench_interrupted(void);	/* SIGINT, SIGTERM or SIGHUP arrived */
/* open, fork, ping-pong or stream, close; fills r */
enum bench_status bench_run(struct bench_link *l, const struct bench_run_params *p,
			    struct bench_result *r);
/* r for a run of l: its name, road, size and mode, nothing measured */
void bench_result_init(struct bench_result *r, const struct bench_link *l, size_t size,
		       enum bench_mode mode);
/* open and close again: 0, -EMSGSIZE or -errno, before anything runs */
int bench_probe(struct bench_link *l, size_t size);
/* the pattern of direction `dir` that messages carry */
void bench_fill(unsigned char *buf, size_t len, unsigned dir);

/* rows.c: every row, probed, run in order and reported as each ends; the
 * number that failed (FATAL: *fatal set, the rest not run) */
int bench_rows(const struct bench_opts *o, const struct bench_env *env, FILE *cdf,
	       bool *fatal);

/* report.c */
void bench_env_init(struct bench_env *env);
void bench_report_begin(FILE *f, const struct bench_opts *o, const struct bench_env *env);
void bench_report_row(FILE *f, const struct bench_opts *o, const struct bench_result *r);
void bench_report_end(FILE *f, const struct bench_opts *o, int nfailed);
/* a line of the combined table (both roads); d or m may be NULL */
void bench_report_pair(FILE *f, const struct bench_opts *o, const struct bench_result *d,
		       const struct bench_result *m);
/* under the combined table: control vs floor, transports vs control */
void bench_report_summary(FILE *f, const struct bench_opts *o,
			  const struct bench_result *const *res, int nres);
/* --cdf: "road,transport,size,percentile,oneway_us" lines */
void bench_report_cdf_begin(FILE *f);
void bench_report_cdf(FILE *f, const struct bench_result *r);

#endif
