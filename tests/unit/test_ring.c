/*
 * test_ring.c - the shared-memory ring (ring.c) behind shm, mmap,
 * sysvshm, eventfd and uring (one ring, its doorbells and backings), past
 * what the contract suite checks: wrap-around, a full ring, hang-ups both
 * ways (also across fork, in either order, and by a killed peer), the
 * readiness fds, an explicit hang-up, 16 MiB between two processes in
 * sleep and spin mode, no lost wake-up in a stress of ping-pongs, the CPU
 * time of a sleeping consumer, ipc_stop, and no object left behind (System
 * V ones included).
 *
 * Run: `test_ring` (every ring transport) or `test_ring shm`.
 */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"

static const struct ipc_transport *the_transport;
static char rundir[64];
/* System V ids of the channels made (sysvshm), checked gone at the end */
#define MAX_SYSV	256
static int sysv_ids[MAX_SYSV][2];	/* shmid, semid */
static unsigned nsysv;

/* note the ids in a sysvshm object, "shm:<id>,sem:<id>" */
static void note_sysv(const char *object)
{
	int shm, sem;

	if (sscanf(object, "shm:%d,sem:%d", &shm, &sem) == 2 &&
	    nsysv < MAX_SYSV) {
		sysv_ids[nsysv][0] = shm;
		sysv_ids[nsysv][1] = sem;
		nsysv++;
	}
}

/* byte i of the test stream: no period a ring size could hide */
static unsigned char pat(uint64_t i)
{
	return (unsigned char)((i * 0x9E3779B97F4A7C15ull) >> 56);
}

static void fill_pat(unsigned char *p, size_t len, uint64_t pos)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pat(pos + i);
}

static bool is_pat(const unsigned char *p, size_t len, uint64_t pos)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pat(pos + i))
			return false;
	return true;
}

static void open_chan(struct ipc_chan *ch, size_t capacity, bool spin)
{
	struct ipc_opts o = { .capacity = capacity, .rundir = rundir,
			      .spin = spin };

	assert_int_equal(ipc_chan_open(ch, the_transport, &o), 0);
	note_sysv(ch->object);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int poll_now(struct ipc_chan *ch, enum ipc_end end)
{
	short events;
	int fd = ipc_wait_fd(ch, end, &events);
	struct pollfd p = { .fd = fd, .events = events };

	assert_true(fd >= 0);
	return poll(&p, 1, 0);
}

/* in a child: no cmocka there, say what failed and exit non-zero */
#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "child %s:%d: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			_exit(1);					\
		}							\
	} while (0)

static void reap(pid_t pid, struct rusage *ru)
{
	struct rusage dummy;
	int status;

	assert_int_equal(wait4(pid, &status, 0, ru ? ru : &dummy), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* capacity is rounded up to a power of two; 64 KiB by default */
static void test_capacity(void **state)
{
	static const size_t want[][2] = {
		{ 0, 65536 }, { 1, 1 }, { 100, 128 }, { 4096, 4096 },
		{ 65537, 131072 },
	};
	struct ipc_opts big = { .capacity = (size_t)2 << 30, .rundir = rundir };
	struct ipc_chan_stats st;
	struct ipc_chan ch;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		open_chan(&ch, want[i][0], false);
		ipc_stats(&ch, &st);
		assert_int_equal(st.capacity, want[i][1]);
		assert_int_equal(st.queued_bytes, 0);
		ipc_chan_close(&ch);
	}
	assert_int_equal(ipc_chan_open(&ch, the_transport, &big), -EINVAL);
}

/* odd sizes in and out of a 64-byte ring: thousands of wrap-arounds */
static void test_wrap(void **state)
{
	unsigned char out[64], in[64];
	uint64_t sent = 0, got = 0;
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	ssize_t n;

	(void)state;
	open_chan(&ch, 64, false);
	for (unsigned k = 0; k < 20000; k++) {
		size_t s = k * 7 % 61 + 1, r = k * 5 % 59 + 1;

		fill_pat(out, s, sent);
		n = ipc_send(&ch, out, s, IPC_DONTWAIT);
		if (n == -EAGAIN)
			assert_int_equal(sent - got, 64);
		else
			assert_true(n > 0 && (size_t)n <= s);
		if (n > 0)
			sent += n;
		ipc_stats(&ch, &st);
		assert_int_equal(st.queued_bytes, sent - got);
		n = ipc_recv(&ch, in, r, IPC_DONTWAIT);
		if (n == -EAGAIN) {
			assert_int_equal(sent, got);
			continue;
		}
		assert_true(n > 0 && (size_t)n <= r);
		assert_true(is_pat(in, n, got));
		got += n;
	}
	while ((n = ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT)) > 0) {
		assert_true(is_pat(in, n, got));
		got += n;
	}
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(got, sent);
	assert_true(sent > 100 * 64);
	ipc_chan_close(&ch);
}

/* a full ring takes what fits, then -EAGAIN; nothing is lost */
static void test_full(void **state)
{
	unsigned char out[5000], in[5000];
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	size_t got = 0;
	ssize_t n;

	(void)state;
	open_chan(&ch, 4096, false);
	fill_pat(out, sizeof(out), 0);
	assert_int_equal(ipc_send(&ch, out, sizeof(out), IPC_DONTWAIT), 4096);
	assert_int_equal(ipc_send(&ch, out + 4096, 1, IPC_DONTWAIT), -EAGAIN);
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_bytes, 4096);
	assert_int_equal(ipc_recv(&ch, in, 1000, IPC_DONTWAIT), 1000);
	/* 904 left to send, room for 1000 */
	assert_int_equal(ipc_send(&ch, out + 4096, 904, IPC_DONTWAIT), 904);
	got = 1000;
	while (got < sizeof(in)) {
		n = ipc_recv(&ch, in + got, sizeof(in) - got, IPC_DONTWAIT);
		assert_true(n > 0);
		got += n;
	}
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(ipc_recv(&ch, in, 1, IPC_DONTWAIT), -EAGAIN);
	ipc_chan_close(&ch);
}

/* closing TX: the data, then 0, waiting or not */
static void test_eof(void **state)
{
	unsigned char buf[64];
	struct ipc_chan ch;

	(void)state;
	open_chan(&ch, 0, false);
	fill_pat(buf, 10, 0);
	assert_int_equal(ipc_send(&ch, buf, 10, 0), 10);
	ipc_close_end(&ch, IPC_TX);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 10);
	assert_true(is_pat(buf, 10, 0));
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 0);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), 0);
	ipc_chan_close(&ch);
}

/* closing RX: send fails with -EPIPE, room or not */
static void test_epipe(void **state)
{
	struct ipc_chan ch;

	(void)state;
	open_chan(&ch, 0, false);
	assert_int_equal(ipc_send(&ch, "abc", 3, 0), 3);
	ipc_close_end(&ch, IPC_RX);
	assert_int_equal(ipc_send(&ch, "abc", 3, 0), -EPIPE);
	assert_int_equal(ipc_send(&ch, "abc", 3, IPC_DONTWAIT), -EPIPE);
	ipc_chan_close(&ch);
}

/*
 * The readiness fds follow the data: quiet right after -EAGAIN (drained),
 * ready once the other side made progress or hung up.
 */
static void test_readiness(void **state)
{
	unsigned char buf[256];
	struct ipc_chan ch;

	(void)state;
	open_chan(&ch, 256, false);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(poll_now(&ch, IPC_RX), 0);
	assert_int_equal(ipc_send(&ch, "x", 1, 0), 1);
	assert_int_equal(poll_now(&ch, IPC_RX), 1);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), 1);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(poll_now(&ch, IPC_RX), 0);

	/* TX: full, then -EAGAIN, quiet; one byte read makes room */
	memset(buf, 'y', sizeof(buf));
	assert_int_equal(ipc_send(&ch, buf, sizeof(buf), IPC_DONTWAIT), 256);
	assert_int_equal(ipc_send(&ch, buf, 1, IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(poll_now(&ch, IPC_TX), 0);
	assert_int_equal(ipc_recv(&ch, buf, 1, IPC_DONTWAIT), 1);
	assert_int_equal(poll_now(&ch, IPC_TX), 1);
	assert_int_equal(ipc_send(&ch, buf, 2, IPC_DONTWAIT), 1);
	assert_int_equal(ipc_send(&ch, buf, 2, IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(poll_now(&ch, IPC_TX), 0);

	/* a hang-up wakes the poller of the other end */
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), 256);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(poll_now(&ch, IPC_RX), 0);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(poll_now(&ch, IPC_RX), 1);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), 0);
	ipc_chan_close(&ch);

	open_chan(&ch, 16, false);
	assert_int_equal(ipc_send(&ch, buf, 32, IPC_DONTWAIT), 16);
	assert_int_equal(ipc_send(&ch, buf, 1, IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(poll_now(&ch, IPC_TX), 0);
	ipc_close_end(&ch, IPC_RX);
	assert_int_equal(poll_now(&ch, IPC_TX), 1);
	assert_int_equal(ipc_send(&ch, buf, 1, IPC_DONTWAIT), -EPIPE);
	ipc_chan_close(&ch);
}

/* the child reads `total` bytes of the pattern, then expects EOF */
static void child_consume(struct ipc_chan *ch, uint64_t total)
{
	static unsigned char buf[65536];
	uint64_t got = 0;
	ssize_t n;

	while ((n = ipc_recv(ch, buf, 1 + got % sizeof(buf), 0)) > 0) {
		CHILD_CHECK(is_pat(buf, n, got));
		got += n;
	}
	CHILD_CHECK(n == 0);
	CHILD_CHECK(got == total);
	ipc_chan_close(ch);
	_exit(0);
}

/* 16 MiB from the parent to a child, odd chunk sizes, every byte checked */
static void stream(bool spin)
{
	const uint64_t total = 16u << 20;
	static unsigned char out[9000];
	struct ipc_chan ch;
	uint64_t sent = 0;
	pid_t pid;
	size_t n;

	open_chan(&ch, 0, spin);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		child_consume(&ch, total);
	}
	ipc_keep_end(&ch, IPC_TX);
	for (unsigned k = 0; sent < total; k++) {
		n = k * 997 % sizeof(out) + 1;
		if (n > total - sent)
			n = total - sent;
		fill_pat(out, n, sent);
		assert_int_equal(ipc_send_all(&ch, out, n, 0), 0);
		sent += n;
	}
	ipc_close_end(&ch, IPC_TX);
	reap(pid, NULL);
	ipc_chan_close(&ch);
}

static void test_fork_sleep(void **state)
{
	(void)state;
	stream(false);
}

static void test_fork_spin(void **state)
{
	(void)state;
	stream(true);
}

/*
 * After fork each side drops the end it does not use, and those closes
 * must not look like hang-ups to the other side, whichever comes first.
 * Here the parent writes and hangs up before the child has even dropped
 * its copy of TX; then the child drops TX before the parent writes.
 */
static void test_fork_close_order(void **state)
{
	unsigned char buf[100];
	struct ipc_chan ch;
	pid_t pid;

	(void)state;
	fill_pat(buf, sizeof(buf), 0);
	open_chan(&ch, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(100 * 1000);
		ipc_keep_end(&ch, IPC_RX);
		child_consume(&ch, sizeof(buf));
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, buf, sizeof(buf), 0), sizeof(buf));
	ipc_close_end(&ch, IPC_TX);
	reap(pid, NULL);
	ipc_chan_close(&ch);

	open_chan(&ch, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		child_consume(&ch, sizeof(buf));
	}
	usleep(100 * 1000);
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, buf, sizeof(buf), 0), sizeof(buf));
	ipc_close_end(&ch, IPC_TX);
	reap(pid, NULL);
	ipc_chan_close(&ch);

	/* the reader's drop of TX is no -EPIPE; its destroy() is */
	open_chan(&ch, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		CHILD_CHECK(ipc_recv(&ch, buf, 1, 0) == 1);
		ipc_chan_close(&ch);	/* hangs up what is still open */
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	usleep(100 * 1000);
	assert_int_equal(ipc_send(&ch, buf, 1, 0), 1);
	reap(pid, NULL);
	assert_int_equal(ipc_send(&ch, buf, 1, 0), -EPIPE);
	ipc_chan_close(&ch);
}

/*
 * ipc_close_end(TX) hangs up even while another process still holds a
 * copy of TX (here the reader itself, which never drops it): a blocked
 * reader and a poller both see the data, then 0.
 */
static void test_hangup_stale_copy(void **state)
{
	unsigned char buf[100];
	struct ipc_chan ch;
	pid_t pid;

	(void)state;
	fill_pat(buf, sizeof(buf), 0);
	for (int poller = 0; poller <= 1; poller++) {
		open_chan(&ch, 0, false);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			uint64_t got = 0;
			short events;
			struct pollfd p = {
				.fd = ipc_wait_fd(&ch, IPC_RX, &events),
			};
			ssize_t n;

			p.events = events;
			for (;;) {
				n = ipc_recv(&ch, buf, sizeof(buf),
					     poller ? IPC_DONTWAIT : 0);
				if (n == -EAGAIN) {
					CHILD_CHECK(poll(&p, 1, 5000) == 1);
					continue;
				}
				CHILD_CHECK(n >= 0);
				if (n == 0)
					break;
				CHILD_CHECK(is_pat(buf, n, got));
				got += n;
			}
			CHILD_CHECK(got == sizeof(buf));
			_exit(0);
		}
		ipc_keep_end(&ch, IPC_TX);
		usleep(50 * 1000);
		assert_int_equal(ipc_send(&ch, buf, sizeof(buf), 0),
				 sizeof(buf));
		usleep(50 * 1000);
		ipc_close_end(&ch, IPC_TX);
		reap(pid, NULL);
		ipc_chan_close(&ch);
	}
}

/*
 * A sleeping waiter is woken by the other process's close_end(), not by
 * its periodic look for dead peers (every 500 ms): if it slept at all, a
 * ring ended a sleep (no clock in it: a slow child only adds a look).
 */
static void assert_rung(const struct ipc_chan *ch)
{
	struct ipc_chan_stats st;

	ipc_stats(ch, &st);
	assert_true(st.sleeps_rung > 0 || st.sleeps_timed_out == 0);
}

static void test_fork_wake_on_close(void **state)
{
	unsigned char buf[4096];
	struct ipc_chan ch;
	pid_t pid;

	(void)state;
	open_chan(&ch, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		usleep(100 * 1000);
		ipc_close_end(&ch, IPC_TX);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_RX);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 0);
	assert_rung(&ch);
	reap(pid, NULL);
	ipc_chan_close(&ch);

	/* a writer blocked on a full ring gets -EPIPE when the reader goes */
	open_chan(&ch, 4096, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		usleep(100 * 1000);
		ipc_close_end(&ch, IPC_RX);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, buf, sizeof(buf), 0), sizeof(buf));
	assert_int_equal(ipc_send(&ch, buf, 1, 0), -EPIPE);
	assert_rung(&ch);
	reap(pid, NULL);
	ipc_chan_close(&ch);
}

/* a peer killed without close_end(): noticed within a second or so */
static void killed_peer(bool spin)
{
	unsigned char buf[4096];
	struct ipc_chan ch;
	int status;
	pid_t pid;

	open_chan(&ch, 4096, spin);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		pause();
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_RX);
	usleep(50 * 1000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ipc_chan_close(&ch);

	/* a poller: woken by the kill, then 0 rather than -EAGAIN again */
	open_chan(&ch, 4096, spin);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		pause();
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_RX);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(poll_now(&ch, IPC_RX), 1);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), 0);
	ipc_chan_close(&ch);

	open_chan(&ch, 4096, spin);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		pause();
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, buf, sizeof(buf), 0), sizeof(buf));
	usleep(50 * 1000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(ipc_send(&ch, buf, 1, 0), -EPIPE);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ipc_chan_close(&ch);
}

static void test_killed_peer_sleep(void **state)
{
	(void)state;
	killed_peer(false);
}

static void test_killed_peer_spin(void **state)
{
	(void)state;
	killed_peer(true);
}

/* busy-wait us microseconds: a pause that does not sleep */
static void pause_us(unsigned us)
{
	double end = now() + us / 1e6;

	while (now() < end)
		;
}

/* receive exactly len bytes of the pattern at pos; false on anything else */
static bool recv_pat(struct ipc_chan *ch, unsigned char *buf, size_t len,
		     uint64_t pos)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = ipc_recv(ch, buf + got, len - got, 0);
		if (n <= 0)
			return false;
		got += n;
	}
	return is_pat(buf, len, pos);
}

#define STRESS_ROUNDS	3000

/* the child: echo every ping back after a pause of 0 to 150 us */
static void stress_child(struct ipc_chan *ping, struct ipc_chan *pong)
{
	unsigned char buf[128];
	uint64_t pos = 0;

	ipc_keep_end(ping, IPC_RX);
	ipc_keep_end(pong, IPC_TX);
	for (unsigned k = 0; k < STRESS_ROUNDS; k++) {
		size_t len = k * 37 % 100 + 1;

		CHILD_CHECK(recv_pat(ping, buf, len, pos));
		pause_us(k * 7919 % 151);
		CHILD_CHECK(ipc_send_all(pong, buf, len, 0) == 0);
		pos += len;
	}
	ipc_chan_close(ping);
	ipc_chan_close(pong);
	_exit(0);
}

/*
 * Lost wake-ups. Ping-pongs in which either side pauses for 0 to 150 us
 * before it answers, so that the other often goes to sleep (after ~1 us
 * of spinning and ~50 us of yields, or at once with ipc_opts.sleep) just
 * as it is rung; messages of up to 100 bytes through 64-byte rings, so
 * that senders wait for room too. A lost wake-up leaves its sleeper to the
 * 500 ms look for a dead peer: none of our sleeps may end that way.
 */
static void pingpong_stress(bool sleep)
{
	struct ipc_opts o = { .capacity = 64, .rundir = rundir,
			      .sleep = sleep };
	unsigned char out[128], in[128];
	struct ipc_chan ping, pong;
	struct ipc_chan_stats tx, rx;
	uint64_t pos = 0;
	pid_t pid;

	assert_int_equal(ipc_chan_open(&ping, the_transport, &o), 0);
	note_sysv(ping.object);
	assert_int_equal(ipc_chan_open(&pong, the_transport, &o), 0);
	note_sysv(pong.object);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		stress_child(&ping, &pong);
	ipc_keep_end(&ping, IPC_TX);
	ipc_keep_end(&pong, IPC_RX);
	for (unsigned k = 0; k < STRESS_ROUNDS; k++) {
		size_t len = k * 37 % 100 + 1;

		fill_pat(out, len, pos);
		pause_us(k * 4111 % 151);
		assert_int_equal(ipc_send_all(&ping, out, len, 0), 0);
		assert_true(recv_pat(&pong, in, len, pos));
		pos += len;
	}
	ipc_stats(&ping, &tx);
	ipc_stats(&pong, &rx);
	print_message("%u round trips%s: sleeps rung %llu, timed out %llu\n",
		      STRESS_ROUNDS, sleep ? " (sleep at once)" : "",
		      (unsigned long long)(tx.sleeps_rung + rx.sleeps_rung),
		      (unsigned long long)(tx.sleeps_timed_out +
					   rx.sleeps_timed_out));
	assert_int_equal(tx.sleeps_timed_out + rx.sleeps_timed_out, 0);
	reap(pid, NULL);
	ipc_chan_close(&ping);
	ipc_chan_close(&pong);
}

static void test_pingpong_stress(void **state)
{
	(void)state;
	pingpong_stress(false);
}

static void test_pingpong_stress_sleep(void **state)
{
	(void)state;
	pingpong_stress(true);
}

/* a consumer asleep for 300 ms uses (almost) no CPU */
static void test_sleep_cpu(void **state)
{
	struct ipc_chan ch;
	struct rusage ru;
	double cpu;
	pid_t pid;

	(void)state;
	open_chan(&ch, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char c;
		double t0 = now();

		ipc_keep_end(&ch, IPC_RX);
		CHILD_CHECK(ipc_recv(&ch, &c, 1, 0) == 1 && c == 'z');
		CHILD_CHECK(now() - t0 > 0.25);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	usleep(300 * 1000);
	assert_int_equal(ipc_send(&ch, "z", 1, 0), 1);
	reap(pid, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	print_message("child CPU while waiting 300 ms: %.3f ms\n", cpu * 1e3);
	assert_true(cpu < 0.050);
	ipc_chan_close(&ch);
}

static void on_alarm(int sig)
{
	(void)sig;
	ipc_stop = 1;
}

/* ipc_stop ends a spinning wait; a signal ends a sleeping one */
static void test_stop(void **state)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 50 * 1000 } };
	unsigned char buf[16];
	struct ipc_chan ch;

	(void)state;
	sa.sa_flags = SA_RESTART;	/* even so: -EINTR, not a restart */
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	for (int spin = 0; spin <= 1; spin++) {
		open_chan(&ch, 0, spin);
		ipc_stop = 0;
		assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), -EINTR);
		assert_int_equal(ipc_stop, 1);
		ipc_stop = 0;
		ipc_chan_close(&ch);
	}
	signal(SIGALRM, SIG_DFL);
}

/*
 * sysvshm: the segment is attached once and already marked for removal,
 * the semaphore set is there; both 0600, both gone after close
 */
static void sysv_cleanup(struct ipc_chan *ch)
{
	struct shmid_ds shm;
	struct semid_ds sem;
	int shmid, semid;

	assert_int_equal(sscanf(ch->object, "shm:%d,sem:%d", &shmid, &semid),
			 2);
	assert_int_equal(shmctl(shmid, IPC_STAT, &shm), 0);
	assert_true(shm.shm_perm.mode & SHM_DEST);
	assert_int_equal(shm.shm_perm.mode & 0777, 0600);
	assert_int_equal(shm.shm_nattch, 1);
	assert_int_equal(semctl(semid, 0, IPC_STAT, &sem), 0);
	assert_int_equal(sem.sem_perm.mode & 0777, 0600);
	assert_int_equal(sem.sem_nsems, 2);
	ipc_chan_close(ch);
	assert_int_equal(shmctl(shmid, IPC_STAT, &shm), -1);
	assert_int_equal(semctl(semid, 0, IPC_STAT, &sem), -1);
}

/* a visible object is there while open (mode 0600) and gone after close */
static void test_cleanup(void **state)
{
	struct ipc_opts o = { .rundir = rundir, .visible = true };
	char object[IPC_OBJECT_MAX];
	struct ipc_chan ch;
	struct stat st;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, the_transport, &o), 0);
	note_sysv(ch.object);
	snprintf(object, sizeof(object), "%s", ch.object);
	if (object[0] != '/') {
		sysv_cleanup(&ch);
		open_chan(&ch, 0, false);
		sysv_cleanup(&ch);
		return;
	}
	if (strcmp(the_transport->name, "mmap") != 0)
		assert_int_equal(strncmp(object, "/dev/shm/ipcfs.", 15), 0);
	else
		assert_int_equal(strncmp(object, rundir, strlen(rundir)), 0);
	assert_int_equal(stat(object, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_size >= 65536);
	ipc_chan_close(&ch);
	assert_int_equal(stat(object, &st), -1);

	/* not visible: gone as soon as it is mapped */
	open_chan(&ch, 0, false);
	assert_int_equal(stat(ch.object, &st), -1);
	ipc_chan_close(&ch);
}

/* names of this process's objects left in dir: must be none (removed) */
static int leftovers(const char *dir)
{
	char prefix[32];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), "ipcfs.%ld.", (long)getpid());
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			print_error("left behind: %s/%s\n", dir, de->d_name);
			(void)unlinkat(dirfd(d), de->d_name, 0);
			n++;
		}
	closedir(d);
	return n;
}

/* System V objects of the channels made that still exist: must be none */
static int sysv_leftovers(void)
{
	struct shmid_ds shm;
	struct semid_ds sem;
	int n = 0;

	for (unsigned i = 0; i < nsysv; i++) {
		if (shmctl(sysv_ids[i][0], IPC_STAT, &shm) == 0 &&
		    shm.shm_cpid == getpid()) {
			print_error("left behind: segment %d\n", sysv_ids[i][0]);
			n++;
		}
		if (semctl(sysv_ids[i][1], 0, IPC_STAT, &sem) == 0) {
			print_error("left behind: semaphores %d\n",
				    sysv_ids[i][1]);
			(void)semctl(sysv_ids[i][1], 0, IPC_RMID);
			n++;
		}
	}
	nsysv = 0;
	return n;
}

static int group_teardown(void **state)
{
	(void)state;
	return leftovers("/dev/shm") + leftovers(rundir) + sysv_leftovers() ?
	       -1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_epipe),
		cmocka_unit_test(test_readiness),
		cmocka_unit_test(test_fork_sleep),
		cmocka_unit_test(test_fork_spin),
		cmocka_unit_test(test_fork_close_order),
		cmocka_unit_test(test_hangup_stale_copy),
		cmocka_unit_test(test_fork_wake_on_close),
		cmocka_unit_test(test_killed_peer_sleep),
		cmocka_unit_test(test_killed_peer_spin),
		cmocka_unit_test(test_pingpong_stress),
		cmocka_unit_test(test_pingpong_stress_sleep),
		cmocka_unit_test(test_sleep_cpu),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_cleanup),
	};
	/* one ring, five doorbells (with --spin) and three backings */
	const char *names[] = { "shm", "mmap", "sysvshm", "eventfd", "uring" };
	const size_t nnames = sizeof(names) / sizeof(names[0]);
	int fails = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [shm|mmap|sysvshm|eventfd|uring]\n",
			argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(rundir, sizeof(rundir), "/tmp/test_ring.XXXXXX");
	if (!mkdtemp(rundir)) {
		perror("mkdtemp");
		return 1;
	}
	for (size_t i = 0; i < nnames; i++) {
		if (argc == 2 && strcmp(argv[1], names[i]) != 0)
			continue;
		the_transport = ipc_transport_find(names[i]);
		if (!the_transport) {
			/* uring: built without liburing */
			fprintf(stderr, "no transport %s\n", names[i]);
			if (argc == 2 || strcmp(names[i], "uring") != 0)
				return 1;
			continue;
		}
		fails += cmocka_run_group_tests_name(names[i], tests, NULL,
						     group_teardown);
	}
	if (rmdir(rundir) < 0) {
		perror(rundir);
		fails++;
	}
	return fails ? 1 : 0;
}
