/*
 * test_vmsplice.c - quirks of the vmsplice transport: the pipe holds the
 * sender's pages, not copies, so
 *  - a lending send (blocking, 32 KiB or more, the reader elsewhere)
 *    returns only once the reader has everything: the caller may then
 *    change its buffer and the reader never sees it; a signal cuts it
 *    short only before its pages are in; a reader that dies ends it;
 *  - a copying send (IPC_DONTWAIT, smaller, or both ends here) never lets
 *    the caller's later writes through, and its ring of pages is reused
 *    only once read, across partial reads and wrap-arounds;
 *  - every send takes a pipe slot per page, so tiny sends fill it early;
 *  - a capacity past pipe-max-size is an error, or lowered in local mode.
 * The channels are anonymous pipes: nothing to clean up but fds.
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "testlib.h"

extern const struct ipc_transport ipc_vmsplice;

#define BIG	(256u << 10)	/* lent: over VMS_LEND_MIN, over the pipe */

/* bytes that never repeat with a period of a ring's size */
static void fill_random(unsigned char *p, size_t len, unsigned seed)
{
	uint32_t x = 0x9e3779b9u * (seed + 1);

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* read exactly len bytes (blocking) into buf; false at EOF or error */
static bool read_all(struct ipc_chan *ch, unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = ipc_recv(ch, buf + got, len - got, 0);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/*
 * The child lends one buffer three times, changing it right after each
 * send returns, and checks that the pipe was empty by then. The parent
 * reads slowly, in small pieces: had a send returned early, it would see
 * the next round's bytes.
 */
static void test_lend_returns_after_read(void **state)
{
	struct ipc_chan ch;
	unsigned char *out = malloc(BIG), *in = malloc(BIG);
	int status, q;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_vmsplice, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		for (unsigned r = 0; r < 3; r++) {
			tl_fill(out, BIG, r);
			if (ipc_send(&ch, out, BIG, 0) != BIG)
				_exit(1);
			if (ioctl(ch.fd[IPC_TX], FIONREAD, &q) < 0 || q != 0)
				_exit(2);
			memset(out, 0xee, BIG);	/* the reader must not see it */
		}
		ipc_chan_close(&ch);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_RX);
	for (unsigned r = 0; r < 3; r++) {
		for (size_t off = 0; off < BIG; off += 1000) {
			size_t want = BIG - off < 1000 ? BIG - off : 1000;

			assert_true(read_all(&ch, in + off, want));
			(void)sched_yield();
		}
		tl_fill(out, BIG, r);
		assert_memory_equal(in, out, BIG);
	}
	assert_int_equal(ipc_recv(&ch, in, 1, 0), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_chan_close(&ch);
	free(out);
	free(in);
}

/* with both ends here a blocking send copies: no wait for ourselves */
static void test_both_ends_copy(void **state)
{
	struct ipc_chan ch;
	unsigned char out[40000], in[40000];

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_vmsplice, NULL), 0);
	tl_fill(out, sizeof(out), 1);
	assert_int_equal(ipc_send_all(&ch, out, sizeof(out), 0), 0);
	memset(out, 0xee, sizeof(out));
	assert_true(read_all(&ch, in, sizeof(in)));
	tl_fill(out, sizeof(out), 1);
	assert_memory_equal(in, out, sizeof(out));
	ipc_chan_close(&ch);
}

/* shared with the signal handler: the child reads only after signals */
static atomic_int *alarms_seen;

static void count_alarm(int sig)
{
	(void)sig;
	atomic_fetch_add(alarms_seen, 1);
	ipc_stop = 1;
}

/*
 * Signals every 20 ms while the lender waits for a reader that reads only
 * after three of them: a send cut short by one says how much went (or
 * -EINTR when nothing did), never -EINTR with its pages in the pipe; the
 * caller scribbles over what a send reported, and the reader sees none
 * of it, nor any byte twice.
 */
static void test_lend_signals(void **state)
{
	struct sigaction sa = { .sa_handler = count_alarm }, old;
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, off = { 0 };
	unsigned char *out = malloc(BIG), *in = malloc(BIG);
	struct pollfd p;
	struct ipc_chan ch;
	size_t done = 0;
	int status;
	ssize_t n;
	pid_t pid;

	(void)state;
	alarms_seen = mmap(NULL, sizeof(*alarms_seen), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(alarms_seen != MAP_FAILED);
	assert_int_equal(ipc_chan_open(&ch, &ipc_vmsplice, NULL), 0);
	tl_fill(out, BIG, 9);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		p = (struct pollfd){ .fd = ch.fd[IPC_RX], .events = POLLIN };
		/* data is in the pipe: the parent lends; let it be signalled */
		if (poll(&p, 1, 10000) != 1)
			_exit(1);
		while (atomic_load(alarms_seen) < 3)
			usleep(1000);
		if (!read_all(&ch, in, BIG) || memcmp(in, out, BIG) != 0)
			_exit(2);
		_exit(ipc_recv(&ch, in, 1, 0) == 0 ? 0 : 3);
	}
	ipc_keep_end(&ch, IPC_TX);
	sigemptyset(&sa.sa_mask);	/* no SA_RESTART */
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	while (done < BIG) {
		n = ipc_send(&ch, out + done, BIG - done, 0);
		ipc_stop = 0;
		if (n == -EINTR)
			continue;
		assert_true(n > 0);
		memset(out + done, 0xee, (size_t)n);
		done += (size_t)n;
	}
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	assert_true(atomic_load(alarms_seen) >= 3);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_chan_close(&ch);
	munmap(alarms_seen, sizeof(*alarms_seen));
	free(out);
	free(in);
}

/* the reader dies with our pages unread: the lender stops waiting */
static void test_lend_reader_dies(void **state)
{
	unsigned char *out = calloc(1, BIG);
	struct ipc_chan ch;
	struct pollfd p;
	int status;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_vmsplice, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		p = (struct pollfd){ .fd = ch.fd[IPC_RX], .events = POLLIN };
		_exit(poll(&p, 1, 10000) == 1 ? 0 : 1);	/* reads nothing */
	}
	ipc_keep_end(&ch, IPC_TX);
	/* what fitted went in; the rest met the closed pipe */
	n = ipc_send(&ch, out, BIG, 0);
	assert_true(n > 0 && n < (ssize_t)BIG);
	assert_int_equal(ipc_send(&ch, out, BIG, 0), -EPIPE);
	assert_int_equal(ipc_send(&ch, out, 1, IPC_DONTWAIT), -EPIPE);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_chan_close(&ch);
	free(out);
}

/*
 * The copying sends' ring: a stream of odd-sized sends and reads, in
 * local mode (a 1 MiB pipe and ring), wraps around the ring many times
 * with pages partly read. Every byte arrives as sent, though the caller's
 * buffer is scribbled on after each send.
 */
static void test_ring_reuse(void **state)
{
	struct ipc_opts o = { .local = true };
	const size_t total = 24u << 20;
	unsigned char *out = malloc(total), *buf = malloc(70000),
		      *in = malloc(1 << 20);
	size_t sent = 0, got = 0, step = 1;
	struct ipc_chan ch;
	ssize_t n;

	(void)state;
	fill_random(out, total, 3);
	assert_int_equal(ipc_chan_open(&ch, &ipc_vmsplice, &o), 0);
	while (got < total) {
		step = (step * 7919 + 13) % 69999 + 1;
		if (sent < total) {
			size_t len = total - sent < step ? total - sent : step;

			memcpy(buf, out + sent, len);
			n = ipc_send(&ch, buf, len, IPC_DONTWAIT);
			assert_true(n > 0 || n == -EAGAIN);
			if (n > 0)
				sent += (size_t)n;
			memset(buf, 0xee, len);
		}
		n = ipc_recv(&ch, in, step / 2 + 1, IPC_DONTWAIT);
		assert_true(n > 0 || n == -EAGAIN);
		if (n > 0) {
			assert_memory_equal(in, out + got, (size_t)n);
			got += (size_t)n;
		}
	}
	ipc_chan_close(&ch);
	free(out);
	free(buf);
	free(in);
}

/*
 * Whole pages: the ring fills as the pipe does. The sends that find it
 * full, and one after a partial read, must not copy over unread bytes.
 */
static void test_ring_full(void **state)
{
	struct ipc_opts o = { .local = true };
	unsigned char *out = malloc(4u << 20), *in = malloc(1 << 20);
	size_t sent = 0, got = 0, chunk = 65536;
	struct ipc_chan ch;
	ssize_t n;

	(void)state;
	fill_random(out, 4u << 20, 5);
	assert_int_equal(ipc_chan_open(&ch, &ipc_vmsplice, &o), 0);
	while ((n = ipc_send(&ch, out + sent, chunk, IPC_DONTWAIT)) > 0)
		sent += (size_t)n;
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(ipc_send(&ch, out + sent, 1, IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(ipc_recv(&ch, in, 100, IPC_DONTWAIT), 100);
	got = 100;
	n = ipc_send(&ch, out + sent, chunk, IPC_DONTWAIT);
	assert_true(n == -EAGAIN || n > 0);
	if (n > 0)
		sent += (size_t)n;
	while (got < sent) {
		n = ipc_recv(&ch, in, 1 << 20, IPC_DONTWAIT);
		assert_true(n > 0);
		assert_memory_equal(in, out + got, (size_t)n);
		got += (size_t)n;
	}
	ipc_chan_close(&ch);
	free(out);
	free(in);
}

/* one slot per send: a pipe of N pages takes N one-byte sends */
static void test_slot_per_send(void **state)
{
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	unsigned char b[1];
	long sends = 0;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_vmsplice, NULL), 0);
	while (ipc_send(&ch, "x", 1, IPC_DONTWAIT) == 1)
		assert_true(++sends < 100000);
	ipc_stats(&ch, &st);
	assert_int_equal(sends, st.capacity / getpagesize());
	assert_int_equal(st.queued_bytes, sends);
	assert_false(ipc_writable(&ch));
	assert_int_equal(ipc_recv(&ch, b, 1, IPC_DONTWAIT), 1);
	assert_true(ipc_writable(&ch));
	ipc_chan_close(&ch);
}

/* a capacity over pipe-max-size: -EPERM, or the most allowed (local) */
static void test_capacity(void **state)
{
	struct ipc_opts o = { .capacity = 4 * ipc_pipe_max_size() };
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	int ret;

	(void)state;
	ret = ipc_chan_open(&ch, &ipc_vmsplice, &o);
	if (ret == 0) {
		ipc_chan_close(&ch);
		skip();		/* CAP_SYS_RESOURCE: no limit to hit */
	}
	assert_int_equal(ret, -EPERM);
	o.local = true;
	assert_int_equal(ipc_chan_open(&ch, &ipc_vmsplice, &o), 0);
	ipc_stats(&ch, &st);
	assert_true(st.capacity > 0 &&
		    (size_t)st.capacity <= ipc_pipe_max_size());
	ipc_chan_close(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lend_returns_after_read),
		cmocka_unit_test(test_both_ends_copy),
		cmocka_unit_test(test_lend_signals),
		cmocka_unit_test(test_lend_reader_dies),
		cmocka_unit_test(test_ring_reuse),
		cmocka_unit_test(test_ring_full),
		cmocka_unit_test(test_slot_per_send),
		cmocka_unit_test(test_capacity),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("vmsplice", tests, NULL, NULL);
}
