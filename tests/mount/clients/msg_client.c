/*
 * msg_client.c - message boundaries of one message-transport file of a
 * mounted ipcfs (mqueue, unixdgram, udp, zmq, signal).
 *
 *	msg_client FILE [MAXMSG]	(the channel must be empty)
 *
 * Checks: one write() is one message and one read() returns exactly one
 * (sizes 1, 100, 1000, 3000, in order); a read shorter than the message
 * returns its first part and the next read the rest, never bytes of the
 * following message; a leftover part keeps the file readable for poll();
 * with MAXMSG: a write of MAXMSG + 1 bytes fails with EMSGSIZE and sends
 * nothing, one of MAXMSG bytes arrives whole, from any alignment of its
 * buffer (48 and 4095 bytes into a page too), and 3 MiB is EMSGSIZE; EOF
 * once the writer closed.
 *
 * Prints one line per check; exits 1 if any failed.
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
#include <unistd.h>

static const char *name;
static int failures;
static unsigned char *rbuf;
static const size_t rbuf_len = 1 << 20;

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

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "msg_client: a read waited 10 s: no data\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/* message number `id`: len bytes, every one telling who it belongs to */
static void make_msg(unsigned char *p, size_t len, unsigned id)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(id * 37 + i * 11 + (i >> 8));
}

static bool is_msg(const unsigned char *p, size_t len, unsigned id,
		   size_t from)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(id * 37 + (from + i) * 11 +
					    ((from + i) >> 8)))
			return false;
	return true;
}

/* write message id from a buffer `off` bytes into a page: the kernel
 * splits a write at page boundaries, and must not split a message */
static ssize_t write_at(int wfd, size_t len, unsigned id, size_t off)
{
	unsigned char *p = aligned_alloc(4096, (len + off + 4095) / 4096 * 4096);
	ssize_t r;

	if (!p)
		err(1, "aligned_alloc");
	make_msg(p + off, len, id);
	r = write(wfd, p + off, len);
	free(p);
	return r;
}

static void send_msg_at(int wfd, size_t len, unsigned id, size_t off)
{
	ssize_t r = write_at(wfd, len, id, off);

	check(r == (ssize_t)len,
	      "write of a %zu-byte message, %zu bytes into a page (got %zd%s%s)",
	      len, off, r, r < 0 ? ", " : "", r < 0 ? strerror(errno) : "");
}

static void send_msg(int wfd, size_t len, unsigned id)
{
	send_msg_at(wfd, len, id, 0);
}

/* read up to want bytes, expecting `len` bytes of message id from `from` */
static void expect_read(int rfd, size_t want, size_t len, unsigned id,
			size_t from)
{
	ssize_t r;

	alarm(10);
	r = read(rfd, rbuf, want);
	alarm(0);
	check(r == (ssize_t)len && is_msg(rbuf, len, id, from),
	      "read(%zu) gives bytes %zu..%zu of message %u (got %zd bytes%s)",
	      want, from, from + len, id, r,
	      r > 0 && !is_msg(rbuf, r, id, from) ? ", wrong ones" : "");
}

/* the limit: one over it is EMSGSIZE from any alignment, it arrives whole */
static void check_limit(int wfd, int rfd, size_t maxmsg)
{
	unsigned char *big;
	ssize_t r;

	big = malloc(maxmsg + 1);
	if (!big)
		err(1, "malloc");
	make_msg(big, maxmsg + 1, 20);
	r = write(wfd, big, maxmsg + 1);
	check(r < 0 && errno == EMSGSIZE,
	      "write of %zu bytes (limit + 1) says EMSGSIZE (got %zd, %s)",
	      maxmsg + 1, r, r < 0 ? strerror(errno) : "no error");
	send_msg(wfd, maxmsg, 21);
	expect_read(rfd, rbuf_len, maxmsg, 21, 0);
	free(big);
	/* whole from any alignment; anything bigger is no message */
	for (size_t off = 48; off < 4096; off += 4047) {
		send_msg_at(wfd, maxmsg, 22, off);
		expect_read(rfd, rbuf_len, maxmsg, 22, 0);
		r = write_at(wfd, maxmsg + 1, 23, off);
		check(r < 0 && errno == EMSGSIZE,
		      "write of limit + 1, %zu bytes into a page, says "
		      "EMSGSIZE (got %zd)", off, r);
	}
	r = write_at(wfd, 3u << 20, 24, 0);
	check(r < 0 && errno == EMSGSIZE,
	      "write of 3 MiB says EMSGSIZE (got %zd)", r);
}

int main(int argc, char **argv)
{
	size_t maxmsg = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
	static const size_t sizes[] = { 1, 100, 1000, 3000 };
	const char *slash;
	int rfd, wfd;
	ssize_t r;

	if (argc < 2 || argc > 3)
		errx(2, "usage: msg_client FILE [MAXMSG]");
	slash = strrchr(argv[1], '/');
	name = slash ? slash + 1 : argv[1];
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	rbuf = malloc(rbuf_len);
	if (!rbuf)
		err(1, "malloc");

	/* one fd to read, one to write, as DESIGN.md asks */
	rfd = open(argv[1], O_RDONLY);
	if (rfd < 0)
		err(1, "open %s", argv[1]);
	wfd = open(argv[1], O_WRONLY);
	if (wfd < 0)
		err(1, "open %s for writing", argv[1]);

	for (unsigned i = 0; i < 4; i++)
		send_msg(wfd, sizes[i], i);
	for (unsigned i = 0; i < 4; i++)
		expect_read(rfd, rbuf_len, sizes[i], i, 0);

	/* short reads: the rest of a message comes next, alone */
	send_msg(wfd, 100, 10);
	send_msg(wfd, 50, 11);
	expect_read(rfd, 10, 10, 10, 0);
	check(poll(&(struct pollfd){ .fd = rfd, .events = POLLIN }, 1, 0) == 1,
	      "the rest of a message polls readable");
	expect_read(rfd, 200, 90, 10, 10);
	expect_read(rfd, 200, 50, 11, 0);

	send_msg(wfd, 4000, 12);
	send_msg(wfd, 20, 13);
	for (unsigned k = 0; k < 4; k++)
		expect_read(rfd, 1000, 1000, 12, k * 1000);
	expect_read(rfd, 1000, 20, 13, 0);

	if (maxmsg)
		check_limit(wfd, rfd, maxmsg);

	/* nothing else is queued; with the writer gone, EOF */
	check(poll(&(struct pollfd){ .fd = rfd, .events = POLLIN }, 1, 0) == 0,
	      "nothing left over");
	close(wfd);
	alarm(10);
	r = read(rfd, rbuf, rbuf_len);
	alarm(0);
	check(r == 0, "EOF after the writer closed (got %zd)", r);
	close(rfd);
	free(rbuf);
	return failures ? 1 : 0;
}
