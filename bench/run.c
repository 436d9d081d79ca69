/*
 * run.c - one row: fork, then ping-pong or stream over a link, timed;
 * every message carries its sequence number and a pattern, checked on
 * arrival; a run never hangs. See docs/DESIGN.md, "The bench: one row".
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define NSEC		BENCH_NSEC
#define WATCHDOG_US	200000		/* SIGALRM period */
#define EXIT_WAIT_NS	(2 * NSEC)	/* for the child after a hang-up */
#define STALL_NS	(10 * NSEC)	/* one message waited for this long */
#define PROGRESS_AFTER	(2 * NSEC)
#define PROGRESS_EVERY	(NSEC / 2)

/* the child's exit status tells the parent what went wrong */
#define CHILD_BAD_PAYLOAD	3
#define CHILD_IO_ERROR		4

#define DIR_PING	1
#define DIR_PONG	2

#define run_error(run, ...)	run_fail(run, -1, __VA_ARGS__)

/* "round trip 12" or "message 12": what a sequence number counts */
#define SEQ(run, d)	(run)->p->mode == BENCH_STREAM ? "message" : "round trip", \
			(unsigned long long)(run)->seq + (d)

struct run_shared {
	atomic_int stop;		/* stream: parent -> child */
	atomic_int done;		/* stream: child has sent its last */
	atomic_uint_least64_t sent;	/* ...and this many */
};

struct run {
	struct bench_link *l;
	const struct bench_run_params *p;
	struct bench_result *r;
	pid_t child;			/* 0 in the child */
	bool reaped;
	int status;			/* wait status once reaped */
	struct rusage child_ru;
	unsigned char *tx, *ref_rx, *rx;	/* one block; ref_rx: what rx should be */
	size_t rxlen;
	struct run_shared *sh;
	uint64_t seq;			/* last sequence sent or expected */
	uint64_t stall_seq, stall_since;	/* no progress since */
	clockid_t cclk;			/* the child's CPU clock... */
	bool cclk_ok;			/* ...if it can be read */
	clockid_t dclk;			/* the daemon's, likewise */
	bool dclk_ok;
};

static volatile sig_atomic_t run_stop_asked;

static void run_on_signal(int sig)
{
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
		run_stop_asked = 1;
	ipc_stop = 1;	/* spinning waits give up; the rest got -EINTR */
}

void bench_run_init(void)
{
	static const int sigs[] = { SIGCHLD, SIGALRM, SIGINT, SIGTERM, SIGHUP };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct sigaction sa = { .sa_handler = run_on_signal };

	sigemptyset(&sa.sa_mask);	/* no SA_RESTART: blocked calls must return */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	/* big mqueue messages count against RLIMIT_MSGQUEUE (800 KiB default) */
	if (setrlimit(RLIMIT_MSGQUEUE, &rl) < 0 && getrlimit(RLIMIT_MSGQUEUE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_MSGQUEUE, &rl);
	}
}

bool bench_interrupted(void)
{
	return run_stop_asked;
}

static void watchdog(bool on)
{
	long us = on ? WATCHDOG_US : 0;
	struct itimerval it = { { 0, us }, { 0, us } };

	(void)setitimer(ITIMER_REAL, &it, NULL);
}

void bench_fill(unsigned char *buf, size_t len, unsigned dir)
{
	uint32_t x = 0x9e3779b9u * (dir + 1);	/* xorshift32, per direction */

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static void put_seq(unsigned char *p, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seq >> (8 * i));
}

/* the sequence number in the first min(len, 8) bytes, from 16 bytes also
 * in the last 8 */
static void stamp(unsigned char *buf, size_t len, uint64_t seq)
{
	put_seq(buf, len < 8 ? len : 8, seq);
	if (len >= 16)
		put_seq(buf + len - 8, 8, seq);
}

/* r->error as "pipe: size 100: round trip 12: " (seq + d) and the rest;
 * d < 0: the rest alone */
__attribute__((format(printf, 3, 4)))
static void run_fail(struct run *run, int d, const char *fmt, ...)
{
	size_t n = d < 0 ? 0 : (size_t)snprintf(run->r->error, sizeof(run->r->error),
						"%s: size %zu: %s %llu: ", run->l->name,
						run->p->size, SEQ(run, d));
	va_list ap;

	va_start(ap, fmt);
	if (n < sizeof(run->r->error))
		vsnprintf(run->r->error + n, sizeof(run->r->error) - n, fmt, ap);
	va_end(ap);
}

/* true once the child is reaped; waits at most until `deadline` (ns) */
static bool run_reap(struct run *run, uint64_t deadline)
{
	pid_t pid;

	while (!run->reaped) {
		pid = wait4(run->child, &run->status, deadline ? 0 : WNOHANG, &run->child_ru);
		if (pid == run->child)
			run->reaped = true;
		else if (pid == 0 || (pid < 0 && errno != EINTR))
			return false;
		else if (deadline && bench_now_ns() >= deadline)	/* EINTR: watchdog */
			return false;
		else
			ipc_stop = 0;
	}
	return true;
}

/* "died: killed by signal 9 (SIGKILL)", "failed: exited with status 3 (...)" */
static const char *status_str(int st, char *buf, size_t len)
{
	int code = WEXITSTATUS(st);

	if (WIFSIGNALED(st))
		snprintf(buf, len, "died: killed by signal %d (SIG%s)", WTERMSIG(st),
			 sigabbrev_np(WTERMSIG(st)) ?: "?");
	else if (code == CHILD_BAD_PAYLOAD || code == CHILD_IO_ERROR)
		snprintf(buf, len, "failed: exited with status %d (%s, see above)", code,
			 code == CHILD_BAD_PAYLOAD ? "bad payload" : "transport error");
	else
		snprintf(buf, len, "exited early with status %d", code);
	return buf;
}

/*
 * After -EINTR: 0 to try again, -ECHILD peer gone, -ECANCELED ^C,
 * -ETIMEDOUT when the same message has been waited for STALL_NS with the
 * peer alive (a lost message, a stopped peer): a bench never hangs.
 */
static int run_intr(struct run *run)
{
	uint64_t now;

	ipc_stop = 0;
	if (!run->child)
		return 0;	/* the child: PR_SET_PDEATHSIG handles the parent */
	if (run_stop_asked)
		return -ECANCELED;
	if (run_reap(run, 0))
		return -ECHILD;
	now = bench_now_ns();
	if (!run->stall_since || run->stall_seq != run->seq) {
		run->stall_seq = run->seq;
		run->stall_since = now;
	} else if (now - run->stall_since >= STALL_NS) {
		return -ETIMEDOUT;
	}
	return 0;
}

/* the whole message; 0 or -errno (-ECHILD, -ECANCELED from run_intr) */
static int send_all(struct run *run, const unsigned char *buf, size_t len)
{
	struct bench_link *l = run->l;
	size_t done = 0;
	ssize_t n;
	int ret;

	while (done < len) {
		n = l->ops->send(l, buf + done, len - done);
		if (n == -EINTR && (ret = run_intr(run)) < 0)
			return ret;
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0 || (l->messages && (size_t)n != len))
			return -EIO;	/* a message transport cut it */
		done += (size_t)n;
	}
	return 0;
}

#define RX_EOF		0	/* end of stream at a message boundary */
#define RX_OK		1
/* -EBADMSG: wrong length (message links); -ENODATA: EOF mid-message */

static int recv_exact(struct run *run, unsigned char *buf, size_t len, size_t *got)
{
	struct bench_link *l = run->l;
	ssize_t n;
	int ret;

	*got = 0;
	while (*got < len) {
		n = l->ops->recv(l, buf + *got, l->messages ? run->rxlen : len - *got);
		if (n == -EINTR && (ret = run_intr(run)) < 0)
			return ret;
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return *got ? -ENODATA : RX_EOF;
		if (l->messages && (size_t)n != len) {
			*got = (size_t)n;
			return -EBADMSG;
		}
		*got += (size_t)n;
	}
	return RX_OK;
}

/* parent: turn a failed send/recv into r->error */
static void run_io_error(struct run *run, int ret, size_t got, const char *what)
{
	bool gone = ret == RX_EOF || ret == -EPIPE || ret == -ECONNRESET || ret == -ECHILD;
	char where[64], st[96];

	snprintf(where, sizeof(where), "%s%s", ret == RX_EOF ? "end of stream, " : "", what);
	/* the peer went away (EOF, EPIPE or SIGCHLD): say how, within a second */
	if (gone && !run_reap(run, bench_now_ns() + NSEC))
		run_error(run, "%s: end of stream (%s) while the peer (pid %d) still runs "
			  "(%s %llu, size %zu)", run->l->name, where, (int)run->child,
			  SEQ(run, 0), run->p->size);
	else if (gone)
		run_error(run, "%s: peer (pid %d) %s (%s, %s %llu, size %zu)", run->l->name,
			  (int)run->child, status_str(run->status, st, sizeof(st)), where,
			  SEQ(run, 0), run->p->size);
	else if (ret == -ECANCELED)
		run_error(run, "%s: interrupted (%s %llu, size %zu)", run->l->name, SEQ(run, 0),
			  run->p->size);
	else if (ret == -ETIMEDOUT)
		run_fail(run, 0, "nothing for %llu s (%s) though the peer (pid %d) is alive: "
			 "lost message or stopped peer", STALL_NS / NSEC, what, (int)run->child);
	else if (ret == -EBADMSG)
		run_fail(run, 0, "%s message of %zu bytes", what, got);
	else if (ret == -ENODATA)
		run_fail(run, 0, "end of stream after %zu bytes of a message (%s)", got, what);
	else
		run_fail(run, 0, "%s: %s", what, strerror(-ret));
}

/* rx against the expected message: the pattern stamped with run->seq */
static bool run_payload_ok(struct run *run, const char *what)
{
	size_t bad = 0;

	if (run->l->nodata)	/* the floor: zeros, by design */
		return true;
	stamp(run->ref_rx, run->p->size, run->seq);
	if (!memcmp(run->rx, run->ref_rx, run->p->size))
		return true;
	while (run->rx[bad] == run->ref_rx[bad])
		bad++;
	run_fail(run, 0, "%s payload differs at byte %zu", what, bad);
	return false;
}

__attribute__((noreturn))
static void child_exit(struct run *run, int code)
{
	if (code && run->r->error[0])
		warnx("%s (seen by the child)", run->r->error);
	run->l->ops->close(run->l);
	_exit(code);
}

/* the child's answer to a failed send or receive */
__attribute__((noreturn))
static void child_io_error(struct run *run, int ret, size_t got)
{
	if (ret == -EPIPE || ret == -ECONNRESET)
		_exit(CHILD_IO_ERROR);	/* the parent went away: it reports */
	if (ret == -EBADMSG)
		run_fail(run, 1, "ping message of %zu bytes", got);
	else if (ret == -ENODATA)
		run_fail(run, 1, "end of stream inside a message");
	else if (ret == RX_EOF)
		run_fail(run, 1, "end of stream on ping before the parent hung up");
	else
		run_fail(run, 0, "%s", strerror(-ret));
	child_exit(run, CHILD_IO_ERROR);
}

/* the child's message run->seq */
static void child_send(struct run *run)
{
	int ret;

	stamp(run->tx, run->p->size, run->seq);
	ret = send_all(run, run->tx, run->p->size);
	if (ret < 0)
		child_io_error(run, ret, 0);
}

/* stream: send 1, 2, ... until the parent says stop */
__attribute__((noreturn))
static void child_stream(struct run *run)
{
	while (!atomic_load_explicit(&run->sh->stop, memory_order_relaxed)) {
		run->seq++;
		child_send(run);
	}
	atomic_store(&run->sh->sent, run->seq);
	atomic_store(&run->sh->done, 1);
	run->l->ops->hangup(run->l);
	child_exit(run, 0);
}

__attribute__((noreturn))
static void child_main(struct run *run, pid_t parent)
{
	struct bench_link *l = run->l;
	size_t size = run->p->size, got = 0;
	int ret;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(CHILD_IO_ERROR);	/* the parent died before prctl */
	(void)signal(SIGINT, SIG_IGN);	/* the parent reports ^C */
	if (run->p->cpu_child >= 0)
		(void)bench_pin(0, run->p->cpu_child);
	ret = run->p->net ? bench_net_enter(run->p->net, BENCH_CHILD) : 0;
	ret = ret ?: l->ops->attach(l, BENCH_CHILD);
	if (ret < 0) {
		run_error(run, "%s: attach: %s", l->name, strerror(-ret));
		child_exit(run, CHILD_IO_ERROR);
	}
	child_send(run);	/* ready */
	if (run->p->mode == BENCH_STREAM)
		child_stream(run);
	for (;;) {
		ret = recv_exact(run, run->rx, size, &got);
		if (ret == RX_EOF && atomic_load(&run->sh->stop))
			break;
		if (ret != RX_OK)
			child_io_error(run, ret, got);
		run->seq++;
		child_send(run);	/* answer first: the check is not the transport's */
		if (!run_payload_ok(run, "ping"))
			child_exit(run, CHILD_BAD_PAYLOAD);
	}
	/* no hang-up: the parent reads no more, and zmq's would wait for it */
	child_exit(run, 0);
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* a CPU clock's seconds so far, 0 if it cannot be read */
static double cpu_s(clockid_t clk, bool ok)
{
	struct timespec ts;

	if (!ok || clock_gettime(clk, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(struct run *run, uint64_t start, uint64_t now)
{
	const struct bench_run_params *p = run->p;
	char of[32] = "", dur[32] = "";

	if (p->count)
		snprintf(of, sizeof(of), "/%llu", (unsigned long long)p->count);
	else
		snprintf(dur, sizeof(dur), "/%.1f", p->duration);
	fprintf(stderr, "\rdirect: %s %s %zu B: %llu%s %s, %.1f%s s ",
		bench_road_names[run->l->road], run->l->name, p->size,
		(unsigned long long)run->r->count, of,
		p->mode == BENCH_STREAM ? "messages" : "round trips",
		(double)(now - start) / 1e9, dur);
}

/* a round trip (ping-pong) or one message received (stream), sequence
 * ++run->seq, from t0 to t1; -1 with r->error on failure */
static int step(struct run *run, uint64_t *t0, uint64_t *t1)
{
	bool pp = run->p->mode == BENCH_PINGPONG;
	size_t size = run->p->size, got;
	int ret = 0;

	run->seq++;
	if (pp)
		stamp(run->tx, size, run->seq);
	*t0 = bench_now_ns();
	if (pp)
		ret = send_all(run, run->tx, size);
	if (ret < 0) {
		run_io_error(run, ret, 0, "sending ping");
		return -1;
	}
	ret = recv_exact(run, run->rx, size, &got);
	*t1 = bench_now_ns();
	if (ret != RX_OK) {
		run_io_error(run, ret, got, pp ? "pong" : "stream");
		return -1;
	}
	return run_payload_ok(run, pp ? "pong" : "stream") ? 0 : -1;
}

/* the warm-up, then the timed part; r's figures filled; -1 on error */
static int parent_timed(struct run *run)
{
	const struct bench_run_params *p = run->p;
	struct bench_result *r = run->r;
	uint64_t t0 = 0, t1 = 0, start = 0, wstart = bench_now_ns(), next = 0;
	uint64_t dur_ns = (uint64_t)(p->duration * 1e9);
	double c0, u0, d0;
	bool shown = false;

	while (r->warmup < p->warmup) {
		if (step(run, &t0, &t1) < 0)
			return -1;
		r->warmup++;
		if (p->warmup_max_s > 0 && t1 - wstart >= (uint64_t)(p->warmup_max_s * 1e9))
			break;
	}
	u0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID, true);
	c0 = cpu_s(run->cclk, run->cclk_ok);
	d0 = cpu_s(run->dclk, run->dclk_ok);
	while (step(run, &t0, &t1) == 0) {
		if (!start) {
			start = t0;
			next = start + PROGRESS_AFTER;
		}
		if (p->mode == BENCH_PINGPONG)
			bench_hist_record(&r->hist, t1 - t0);
		r->count++;
		if (p->count ? r->count >= p->count : t1 - start >= dur_ns)
			break;
		if (p->progress && t1 >= next) {
			progress(run, start, t1);
			shown = true;
			next = t1 + PROGRESS_EVERY;
		}
	}
	if (shown)
		fprintf(stderr, "\r\033[K");
	r->seconds = start ? (double)(t1 - start) / 1e9 : 0;
	r->cpu_parent = cpu_s(CLOCK_PROCESS_CPUTIME_ID, true) - u0;
	r->cpu_child = cpu_s(run->cclk, run->cclk_ok) - c0;
	r->cpu_daemon = run->dclk_ok ? cpu_s(run->dclk, true) - d0 : -1;
	return r->error[0] ? -1 : 0;
}

/* stream: stop the child and take (and check) what it sent meanwhile */
static int stream_drain(struct run *run)
{
	uint64_t sent;
	size_t got;
	int ret, idle = 0;

	atomic_store(&run->sh->stop, 1);
	if (run->l->nodata)
		return 0;	/* the floor: nothing was queued anywhere */
	for (;;) {
		if (atomic_load(&run->sh->done) && run->seq == atomic_load(&run->sh->sent))
			return 0;
		run->seq++;
		ret = recv_exact(run, run->rx, run->p->size, &got);
		if (ret == RX_OK) {
			if (!run_payload_ok(run, "stream"))
				return -1;
			continue;
		}
		run->seq--;
		/* the child exited cleanly: what it sent may still be queued;
		 * give it two more watchdog periods to show up */
		if (ret == -ECHILD && WIFEXITED(run->status) &&
		    !WEXITSTATUS(run->status) && idle++ < 2)
			continue;
		if ((ret != RX_EOF && ret != -ECHILD) || !atomic_load(&run->sh->done))
			break;
		sent = atomic_load(&run->sh->sent);
		if (run->seq == sent)
			return 0;
		run_error(run, "%s: size %zu: stream ended after %llu of %llu "
			  "messages", run->l->name, run->p->size,
			  (unsigned long long)run->seq, (unsigned long long)sent);
		return -1;
	}
	run_io_error(run, ret, got, "stream");
	return -1;
}

/* hang up, give the child EXIT_WAIT_NS to exit 0, then SIGKILL it */
static void parent_finish(struct run *run, bool ok)
{
	char st[96];

	if (ok) {
		atomic_store(&run->sh->stop, 1);	/* end of stream is ours */
		run->l->ops->hangup(run->l);
	} else if (!run->reaped) {
		(void)kill(run->child, SIGKILL);
	}
	if (!run_reap(run, bench_now_ns() + EXIT_WAIT_NS)) {
		(void)kill(run->child, SIGKILL);
		(void)run_reap(run, bench_now_ns() + EXIT_WAIT_NS);
		if (ok)
			run_error(run, "%s: peer (pid %d) did not exit after "
				  "the hang-up; killed", run->l->name, (int)run->child);
	} else if (ok && (!WIFEXITED(run->status) || WEXITSTATUS(run->status))) {
		run_error(run, "%s: peer (pid %d) %s (after the end)",
			  run->l->name, (int)run->child, status_str(run->status, st, sizeof(st)));
	}
}

/* the parent's side of a forked row: the status */
static enum bench_status parent_main(struct run *run)
{
	struct bench_link *l = run->l;
	size_t got;
	int ret;

	watchdog(true);
	run->cclk_ok = clock_getcpuclockid(run->child, &run->cclk) == 0;
	/* a process clock sums every thread, as /proc/PID/stat does, in ns */
	run->dclk_ok = run->p->daemon > 0 &&
		       clock_getcpuclockid(run->p->daemon, &run->dclk) == 0;
	ret = l->ops->attach(l, BENCH_PARENT);
	if (ret < 0)
		run_error(run, "%s: attach: %s", l->name, strerror(-ret));
	if (ret == 0) {
		ret = recv_exact(run, run->rx, run->p->size, &got); /* ready */
		if (ret != RX_OK)
			run_io_error(run, ret, got, "waiting for ready");
		ret = ret == RX_OK && run_payload_ok(run, "ready") ? 0 : -1;
	}
	if (ret == 0) {
		ret = parent_timed(run);
		if (ret == 0 && run->p->mode == BENCH_STREAM)
			ret = stream_drain(run);
		parent_finish(run, ret == 0);
		if (!run->cclk_ok)	/* the child's whole life */
			run->r->cpu_child = tv_s(&run->child_ru.ru_utime) +
					    tv_s(&run->child_ru.ru_stime);
	} else {
		parent_finish(run, false);
	}
	watchdog(false);
	ipc_stop = 0;
	return run->r->error[0] ? BENCH_FATAL : BENCH_OK;
}

void bench_result_init(struct bench_result *r, const struct bench_link *l, size_t size,
		       enum bench_mode mode)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", l->name);
	r->cpu_daemon = -1;
	r->road = l->road;
	r->size = size;
	r->mode = mode;
	bench_hist_init(&r->hist);
}

void *bench_link_new(size_t size, const struct bench_link_ops *ops, enum bench_road road,
		     const char *name)
{
	struct bench_link *l = bench_calloc(1, size);

	l->ops = ops;
	l->road = road;
	l->tx = l->rx = -1;
	snprintf(l->name, sizeof(l->name), "%s", name);
	return l;
}

ssize_t bench_fd_send(struct bench_link *l, const void *buf, size_t len)
{
	return bench_errno(write(l->tx, buf, len));
}

ssize_t bench_fd_recv(struct bench_link *l, void *buf, size_t len)
{
	return bench_errno(read(l->rx, buf, len));
}

void bench_fd_hangup(struct bench_link *l)
{
	bench_close_fd(&l->tx);
}

int bench_fd_attach(struct bench_link *l, const char *tx, const char *rx)
{
	l->tx = open(tx, O_WRONLY | O_CLOEXEC);
	if (l->tx < 0)
		return -errno;
	l->rx = open(rx, O_RDONLY | O_CLOEXEC);
	return l->rx < 0 ? -errno : 0;
}

void bench_fd_close(struct bench_link *l)
{
	bench_close_fd(&l->tx);
	bench_close_fd(&l->rx);
}

int bench_probe(struct bench_link *l, size_t size)
{
	int ret = l->ops->open(l, size);

	if (ret == 0)
		l->ops->close(l);
	return ret;
}

static enum bench_status run_here(struct bench_link *l, const struct bench_run_params *p,
				  struct bench_result *r)
{
	struct run run = { .l = l, .p = p, .r = r };
	pid_t parent = getpid();
	int ret;

	bench_result_init(r, l, p->size, p->mode);
	r->cpu_parent_id = p->cpu_parent;
	r->cpu_child_id = p->cpu_child;
	ret = l->ops->open(l, p->size);
	if (ret < 0) {
		r->status = ret == -EMSGSIZE ? BENCH_SKIPPED : BENCH_FAILED;
		snprintf(r->error, sizeof(r->error), "%s (%s)",
			 strerror(-ret), strerrorname_np(-ret) ?: "?");
		return r->status;
	}
	r->status = BENCH_FAILED;
	/* tx, ref_rx (what rx should be) and rx in one block; the shared page */
	run.rxlen = p->size > l->rx_min ? p->size : l->rx_min;
	run.tx = malloc(2 * p->size + run.rxlen);
	run.sh = mmap(NULL, sizeof(*run.sh), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!run.tx || run.sh == MAP_FAILED) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		goto out;
	}
	run.ref_rx = run.tx + p->size;
	run.rx = run.tx + 2 * p->size;
	if (p->cpu_parent >= 0)
		(void)bench_pin(0, p->cpu_parent);
	ipc_stop = 0;
	fflush(NULL);	/* no stdio buffer is copied into the child */
	run.child = fork();
	if (run.child < 0) {
		snprintf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
		goto out;
	}
	/* the child receives pings and sends pongs; the parent the reverse */
	bench_fill(run.tx, p->size, run.child ? DIR_PING : DIR_PONG);
	bench_fill(run.ref_rx, p->size, run.child ? DIR_PONG : DIR_PING);
	if (!run.child)
		child_main(&run, parent);
	r->status = parent_main(&run);
out:
	l->ops->close(l);
	if (l->count_scale > 0)	/* the floor's free-running sides */
		r->count = (uint64_t)((double)r->count * l->count_scale + 0.5);
	free(run.tx);	/* and ref_rx, rx */
	if (run.sh && run.sh != MAP_FAILED)
		(void)munmap(run.sh, sizeof(*run.sh));
	return r->status;
}

/*
 * A link whose ends bind a process for life (IPC_FRESH: MPI_Init runs once
 * per process): the whole row, open to close, runs in a child of ours that
 * reports through a shared page; this process never opens the link.
 */
static enum bench_status run_fresh(struct bench_link *l, const struct bench_run_params *p,
				   struct bench_result *r)
{
	struct bench_result *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid = -1, parent = getpid();
	char st[96];
	int status;

	bench_result_init(r, l, p->size, p->mode);
	r->status = BENCH_FAILED;
	fflush(NULL);
	if (sh != MAP_FAILED)
		pid = fork();
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == parent)
			(void)run_here(l, p, sh);
		_exit(0);
	}
	if (pid < 0) {
		snprintf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
			/* a ^C from the terminal reached it too; kill(1) did not */
			if (run_stop_asked == 1) {
				(void)kill(pid, SIGINT);
				run_stop_asked = 2;
			}
			ipc_stop = 0;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			*r = *sh;
		} else {
			r->status = BENCH_FATAL;
			snprintf(r->error, sizeof(r->error), "%s: the row's process %s",
				 l->name, status_str(status, st, sizeof(st)));
		}
	}
	if (sh != MAP_FAILED)
		(void)munmap(sh, sizeof(*sh));
	ipc_stop = 0;
	return r->status;
}

enum bench_status bench_run(struct bench_link *l, const struct bench_run_params *p,
			    struct bench_result *r)
{
	return l->fresh ? run_fresh(l, p, r) : run_here(l, p, r);
}
