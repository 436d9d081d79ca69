/*
 * poll_client.c - O_NONBLOCK, poll(2), select(2) and epoll(7) on one
 * transport file of a mounted ipcfs, and EINTR of a waiting read or write.
 *
 *	poll_client nonblock FILE	(the channel must be empty, no writer)
 *	poll_client intr FILE
 *
 * nonblock: read of the empty channel says EAGAIN and polls not readable;
 * the write end polls writable; epoll armed before a write wakes after it;
 * a poll() that waits wakes when another process writes; writes fill the
 * channel to EAGAIN (nothing dropped); the full channel polls not
 * writable and wakes a waiting poll(POLLOUT) once another process
 * drains it; the drained bytes are exactly those written, in order; with
 * the writer gone, read says EOF.
 *
 * intr: a blocking read of the empty channel and a blocking write to the
 * full one both end with EINTR when a SIGALRM handler (no SA_RESTART)
 * runs, and the channel keeps working afterwards.
 *
 * Prints one line per check; exits 1 if any failed. Compile with
 *	cc -Wall -o poll_client poll_client.c
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK		1000		/* under every message limit */
#define FILL_MAX	(256L << 20)	/* no EAGAIN by then: no backpressure */

static const char *name;
static int failures;

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "ok:" : "FAIL:", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* byte `off` of the stream the writer sends */
static unsigned char pattern(long off)
{
	return (unsigned char)(off % 251);
}

static void fill_pattern(unsigned char *p, long off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(off + (long)i);
}

/* revents of fd for `events` after up to ms milliseconds */
static short poll_one(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n = poll(&pfd, 1, ms);

	if (n < 0)
		err(1, "poll");
	return n ? pfd.revents : 0;
}

/* child: after delay_ms, write len pattern bytes; exits 0 when all went */
static pid_t delayed_writer(int wfd, int delay_ms, size_t len)
{
	unsigned char buf[CHUNK];
	pid_t pid = fork();

	if (pid < 0)
		err(1, "fork");
	if (pid)
		return pid;
	usleep(delay_ms * 1000);
	fill_pattern(buf, 0, len);
	_exit(write(wfd, buf, len) == (ssize_t)len ? 0 : 1);
}

/*
 * Read until the channel stays empty for quiet_ms, checking the pattern
 * from offset `off`. Returns the bytes read, -1 on a wrong byte.
 */
static long drain(int rfd, long off, int quiet_ms)
{
	unsigned char buf[65536];
	long got = 0;

	for (;;) {
		ssize_t n = read(rfd, buf, sizeof(buf));

		if (n < 0 && errno == EAGAIN) {
			if (!(poll_one(rfd, POLLIN, quiet_ms) & POLLIN))
				return got;
			continue;
		}
		if (n < 0)
			err(1, "read %s", name);
		if (n == 0)
			return got;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(off + got + i)) {
				printf("byte %ld is %u, want %u\n", off + got + i,
				       buf[i], pattern(off + got + i));
				return -1;
			}
		got += n;
	}
}

/*
 * Write CHUNKs of the pattern from offset *filled until the channel stays
 * full: EAGAIN, and EAGAIN again on a retry 300 ms later (a TCP send
 * buffer, or ZeroMQ's I/O thread, frees space by itself for a while; and
 * poll() is not trusted here, it is what gets checked afterwards). 0 when
 * full, -1 on an error or no backpressure after FILL_MAX bytes or 20 s.
 */
static int fill(int wfd, long *filled)
{
	unsigned char buf[CHUNK];
	double t0 = now(), full_since = 0;
	ssize_t r;

	while (*filled < FILL_MAX && now() - t0 < 20) {
		fill_pattern(buf, *filled, CHUNK);
		r = write(wfd, buf, CHUNK);
		if (r < 0 && errno == EAGAIN) {
			if (full_since && now() - full_since >= 0.3)
				return 0;
			if (!full_since)
				full_since = now();
			(void)poll_one(wfd, POLLOUT, 300);
			continue;
		}
		if (r < 0) {
			printf("write while filling: %s\n", strerror(errno));
			return -1;
		}
		*filled += r;
		full_since = 0;
	}
	printf("no EAGAIN after %ld bytes in %.1f s\n", *filled, now() - t0);
	return -1;
}

/* the empty channel, no writer yet: EAGAIN, and not readable */
static void check_empty(int rfd)
{
	unsigned char buf[CHUNK * 4];
	ssize_t r = read(rfd, buf, sizeof(buf));

	check(r < 0 && errno == EAGAIN,
	      "read of the empty channel says EAGAIN (got %zd, %s)", r,
	      r < 0 ? strerror(errno) : "no error");
	check(!(poll_one(rfd, POLLIN, 0) & POLLIN),
	      "empty channel does not poll readable");
}

/* epoll armed on the empty channel must be woken by a write */
static void check_epoll(int rfd, int wfd)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct timeval tv = { 0, 0 };
	unsigned char buf[CHUNK * 4];
	long drained;
	fd_set rs;
	ssize_t r;
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		err(1, "epoll_create1");
	ev.data.fd = rfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &ev) < 0)
		err(1, "epoll_ctl");
	check(epoll_wait(ep, &out, 1, 0) == 0, "epoll: not readable when empty");
	fill_pattern(buf, 0, 100);
	r = write(wfd, buf, 100);
	check(r == 100, "write of 100 bytes (got %zd, %s)", r,
	      r < 0 ? strerror(errno) : "no error");
	check(epoll_wait(ep, &out, 1, 2000) == 1 && (out.events & EPOLLIN),
	      "epoll wakes after the write");
	check(poll_one(rfd, POLLIN, 2000) & POLLIN, "poll: readable");
	FD_ZERO(&rs);
	FD_SET(rfd, &rs);
	check(select(rfd + 1, &rs, NULL, NULL, &tv) == 1, "select: readable");
	drained = drain(rfd, 0, 300);
	check(drained == 100, "read back the 100 bytes (got %ld)", drained);
	r = read(rfd, buf, sizeof(buf));
	check(r < 0 && errno == EAGAIN, "empty again: EAGAIN (got %zd)", r);
	check(epoll_wait(ep, &out, 1, 0) == 0, "epoll: quiet once drained");
	close(ep);
}

/* a poll that waits is woken by another process's write */
static void check_poll_wakes(int rfd, int wfd)
{
	pid_t pid = delayed_writer(wfd, 200, 100);
	double t0 = now();
	long drained;
	int st;

	check(poll_one(rfd, POLLIN, 5000) & POLLIN,
	      "waiting poll woken by a write %.2f s later", now() - t0);
	waitpid(pid, &st, 0);
	drained = drain(rfd, 0, 300);
	check(drained == 100, "read the delayed 100 bytes (got %ld)", drained);
}

/*
 * Fill until EAGAIN (backpressure, not loss), then another process drains
 * while our poll(POLLOUT) waits for it. -1 if the channel never filled.
 */
static int check_full(int rfd, int wfd)
{
	long filled = 0;
	double t0;
	pid_t pid;
	int n, st;

	n = fill(wfd, &filled);
	check(n == 0, "writes fill the channel to EAGAIN (after %ld bytes)",
	      filled);
	if (n)
		return -1;
	check(!(poll_one(wfd, POLLOUT, 0) & POLLOUT),
	      "full channel does not poll writable");
	check(poll_one(rfd, POLLIN, 0) & POLLIN, "full channel polls readable");

	pid = fork();
	if (pid < 0)
		err(1, "fork");
	if (pid == 0) {
		long d;

		usleep(300 * 1000);
		d = drain(rfd, 0, 1000);
		if (d != filled)
			printf("drained %ld of %ld bytes\n", d, filled);
		fflush(stdout);
		_exit(d == filled ? 0 : 1);
	}
	t0 = now();
	n = poll_one(wfd, POLLOUT, 10000);
	check(n & POLLOUT, "waiting poll(POLLOUT) woken by the drain after %.2f s",
	      now() - t0);
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "other process drained exactly the %ld bytes written, in order",
	      filled);
	return 0;
}

static int test_nonblock(const char *path)
{
	unsigned char buf[CHUNK * 4];
	int rfd, wfd;
	ssize_t r;

	rfd = open(path, O_RDONLY | O_NONBLOCK);
	if (rfd < 0)
		err(1, "open %s for reading", path);
	check_empty(rfd);
	wfd = open(path, O_WRONLY | O_NONBLOCK);
	if (wfd < 0)
		err(1, "open %s for writing", path);
	check(poll_one(wfd, POLLOUT, 1000) & POLLOUT,
	      "empty channel polls writable");
	check_epoll(rfd, wfd);
	check_poll_wakes(rfd, wfd);
	if (check_full(rfd, wfd) < 0)
		return 1;

	/* the writer leaves: the reader, having read data, gets EOF */
	close(wfd);
	r = read(rfd, buf, sizeof(buf));
	check(r == 0, "EOF once the writer closed (got %zd, %s)", r,
	      r < 0 ? strerror(errno) : "no error");
	close(rfd);
	return failures ? 1 : 0;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* a SIGALRM every 200 ms, so one that comes before we wait is not lost */
static void ticker(bool on)
{
	struct itimerval it = { { 0, 200000 }, { 0, 200000 } };

	if (!on)
		memset(&it, 0, sizeof(it));
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		err(1, "setitimer");
}

/*
 * Fill the channel, then a waiting write to it, interrupted; everything
 * before it comes out, nothing of it. -1 if the channel never filled.
 */
static int check_intr_write(int rfd, int wfd)
{
	unsigned char buf[CHUNK];
	long filled = 0, drained;
	double t0, dt;
	ssize_t r;
	int fl;

	fl = fcntl(wfd, F_GETFL);
	if (fl < 0 || fcntl(wfd, F_SETFL, fl | O_NONBLOCK) < 0)
		err(1, "fcntl O_NONBLOCK");
	if (fill(wfd, &filled) < 0) {
		check(false, "fill to EAGAIN with F_SETFL O_NONBLOCK");
		return -1;
	}
	if (fcntl(wfd, F_SETFL, fl) < 0)
		err(1, "fcntl");
	fill_pattern(buf, filled, CHUNK);
	t0 = now();
	ticker(true);
	r = write(wfd, buf, CHUNK);
	ticker(false);
	dt = now() - t0;
	/* a short count is right too if some went in before the signal */
	check(((r < 0 && errno == EINTR) || (r > 0 && r < CHUNK)) && dt < 2,
	      "waiting write to the full channel ends with EINTR in %.2f s (got %zd, %s)",
	      dt, r, r < 0 ? strerror(errno) : "no error");
	if (r > 0)
		filled += r;

	fl = fcntl(rfd, F_GETFL);
	if (fl < 0 || fcntl(rfd, F_SETFL, fl | O_NONBLOCK) < 0)
		err(1, "fcntl");
	drained = drain(rfd, 0, 500);
	check(drained == filled,
	      "drained exactly what was written before (%ld of %ld bytes)",
	      drained, filled);
	return 0;
}

static int test_intr(const char *path)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	unsigned char buf[CHUNK];
	long drained;
	double t0, dt;
	int rfd, wfd;
	ssize_t r;

	if (sigaction(SIGALRM, &sa, NULL) < 0)
		err(1, "sigaction");
	rfd = open(path, O_RDONLY);
	if (rfd < 0)
		err(1, "open %s", path);

	/* a waiting read, interrupted */
	t0 = now();
	ticker(true);
	r = read(rfd, buf, sizeof(buf));
	ticker(false);
	dt = now() - t0;
	check(r < 0 && errno == EINTR && dt < 2,
	      "waiting read ends with EINTR in %.2f s (got %zd, %s)", dt, r,
	      r < 0 ? strerror(errno) : "no error");

	/* the interrupted read took nothing: the next data is ours */
	wfd = open(path, O_WRONLY);
	if (wfd < 0)
		err(1, "open %s for writing", path);
	fill_pattern(buf, 0, 10);
	r = write(wfd, buf, 10);
	check(r == 10, "write after the interrupted read (got %zd)", r);
	alarm(5);
	r = read(rfd, buf, sizeof(buf));
	alarm(0);
	check(r == 10 && buf[9] == pattern(9),
	      "the next read gets it (got %zd)", r);

	if (check_intr_write(rfd, wfd) < 0)
		return 1;
	fill_pattern(buf, 0, 10);
	r = write(wfd, buf, 10);
	check(r == 10, "the channel still takes a write (got %zd)", r);
	drained = drain(rfd, 0, 500);
	check(drained == 10, "and gives it back (got %ld)", drained);
	close(wfd);
	close(rfd);
	printf("%s: %d SIGALRM handled\n", name, (int)alarms);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *slash;

	if (argc != 3)
		errx(2, "usage: poll_client nonblock|intr FILE");
	slash = strrchr(argv[2], '/');
	name = slash ? slash + 1 : argv[2];
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "nonblock") == 0)
		return test_nonblock(argv[2]);
	if (strcmp(argv[1], "intr") == 0)
		return test_intr(argv[2]);
	errx(2, "%s: not a mode (nonblock, intr)", argv[1]);
}
