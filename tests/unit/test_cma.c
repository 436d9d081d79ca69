/*
 * test_cma.c - cross-memory attach (transports/cma.c) past the contract:
 * sizes and limits, the in-flight bound, both directions across fork as
 * root and as a normal user, the sender waiting for the receiver's HELLO,
 * the kernel's refusals (another uid, a receiver that is not dumpable:
 * -EPERM, never a hang), killed peers both ways, the inaccessible ring a
 * receiver leaves behind, and hostile input: forged bells on both sockets
 * and an outsider scribbling over the ring at the published PID:ADDR.
 * Every test is one process or a forked pair; nothing named is made.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "testlib.h"

#define NOBODY	65534

/* the bell as transports/cma.c lays it out: what a hostile peer forges */
struct bell {
	uint32_t kind;		/* 1 DATA, 2 CREDIT, 3 HELLO */
	uint32_t msgs;
	uint64_t bytes;
	uint64_t addr;
};

static const struct ipc_transport *cma;

/* in a child: no cmocka there, say what failed and exit non-zero */
#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "child %s:%d: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			_exit(1);					\
		}							\
	} while (0)

static void open_cma(struct ipc_chan *ch, size_t capacity, size_t max_msg,
		     bool local)
{
	struct ipc_opts o = { .capacity = capacity, .max_msg = max_msg,
			      .local = local };

	assert_int_equal(ipc_chan_open(ch, cma, &o), 0);
}

static int reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* the ring's address, from the object "PID:0xADDR" */
static void *ring_of(const struct ipc_chan *ch, pid_t *pid)
{
	unsigned long long addr;
	long p;

	assert_int_equal(sscanf(ch->object, "%ld:%llx", &p, &addr), 2);
	if (pid)
		*pid = (pid_t)p;
	return (void *)(uintptr_t)addr;
}

/* capacity rounds up to a power of two, max_msg is at most half of it */
static void test_sizes(void **state)
{
	static const size_t want[][4] = {	/* capacity, max_msg -> */
		{ 0, 0, 262144, 65536 }, { 4096, 0, 4096, 2048 },
		{ 5000, 0, 8192, 4096 }, { 0, 100, 262144, 100 },
		{ 0, 1 << 20, 2 << 20, 1 << 20 }, { 1, 0, 4096, 2048 },
	};
	struct ipc_opts o = { .capacity = 4096, .max_msg = 4096 };
	struct ipc_chan_stats st;
	struct ipc_chan ch;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		open_cma(&ch, want[i][0], want[i][1], false);
		ipc_stats(&ch, &st);
		assert_int_equal(st.capacity, want[i][2]);
		assert_int_equal(ch.max_msg, want[i][3]);
		ipc_chan_close(&ch);
	}
	assert_int_equal(ipc_chan_open(&ch, cma, &o), -EMSGSIZE);
	o.capacity = 0;
	o.max_msg = (size_t)1 << 30;
	assert_int_equal(ipc_chan_open(&ch, cma, &o), -EMSGSIZE);
	o.max_msg = 0;
	o.capacity = (size_t)2 << 30;
	assert_int_equal(ipc_chan_open(&ch, cma, &o), -EINVAL);
}

/* at most 128 messages in flight, whatever room the ring has; the
 * credit comes back as the reader takes them */
static void test_flight(void **state)
{
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	unsigned char buf[65536];
	int n = 0;

	(void)state;
	open_cma(&ch, 0, 0, true);
	while (ipc_send(&ch, "m", 1, IPC_DONTWAIT) == 1)
		n++;
	assert_int_equal(n, 128);
	assert_false(ipc_writable(&ch));
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_msgs, 128);
	assert_int_equal(st.queued_bytes, 128);
	for (int i = 0; i < 64; i++)
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 1);
	assert_true(ipc_writable(&ch));
	assert_int_equal(ipc_send(&ch, "n", 1, IPC_DONTWAIT), 1);
	ipc_chan_close(&ch);
	/* four of the largest fill the 256 KiB ring */
	open_cma(&ch, 0, 0, true);
	for (n = 0; ipc_send(&ch, buf, sizeof(buf), IPC_DONTWAIT) > 0; n++)
		;
	assert_int_equal(n, 4);
	ipc_chan_close(&ch);
}

/* ping-pong, then a stream, both ways across fork */
static void test_fork_pair(void **state)
{
	struct ipc_opts o = { .max_msg = 65536 };

	(void)state;
	tl_fork_pair(cma, &o, 100, 200, 2000, 0);
	tl_fork_pair(cma, &o, 65536, 50, 300, 0);
	o.max_msg = 0;
	o.capacity = 4096;	/* wraps every other message */
	tl_fork_pair(cma, &o, 1500, 200, 2000, 0);
}

/*
 * The process that keeps TX learns the reader's pid and address only
 * from its HELLO: until then IPC_DONTWAIT says -EAGAIN, and the TX fd polls
 * readable once the HELLO came. The child, the reader, says it late.
 */
static void test_hello(void **state)
{
	unsigned char buf[65536];
	struct ipc_chan ch;
	short ev;
	pid_t pid;
	int fd;

	(void)state;
	open_cma(&ch, 0, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(200000);
		ipc_keep_end(&ch, IPC_RX);
		CHILD_CHECK(ipc_recv(&ch, buf, sizeof(buf), 0) == 5);
		CHILD_CHECK(memcmp(buf, "hello", 5) == 0);
		CHILD_CHECK(ipc_recv(&ch, buf, sizeof(buf), 0) == 0);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, "hello", 5, IPC_DONTWAIT), -EAGAIN);
	assert_false(ipc_writable(&ch));
	fd = ipc_wait_fd(&ch, IPC_TX, &ev);
	assert_int_equal(ev, POLLIN);
	assert_int_equal(poll(&(struct pollfd){ .fd = fd, .events = ev }, 1,
			      5000), 1);
	assert_int_equal(ipc_send(&ch, "hello", 5, IPC_DONTWAIT), 5);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(reap(pid), 0);
	ipc_chan_close(&ch);
}

/* as uid 65534, dumpable: both directions work between parent and child */
static int user_pair(bool dumpable)
{
	struct ipc_chan ping, pong;
	char buf[65536];
	ssize_t n;
	pid_t pid;
	int status;

	if (setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return 10;
	/* a changed uid clears it; exec would set it again */
	(void)prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0);
	if (ipc_chan_open(&ping, cma, NULL) < 0 ||
	    ipc_chan_open(&pong, cma, NULL) < 0)
		return 11;
	pid = fork();
	if (pid == 0) {
		ipc_keep_end(&ping, IPC_RX);
		ipc_keep_end(&pong, IPC_TX);
		n = ipc_send(&pong, "up", 2, 0);	/* child -> parent */
		if (n != 2)
			_exit(n == -EPERM ? 20 : 21);
		n = ipc_recv(&ping, buf, sizeof(buf), 0);
		_exit(n == 4 && !memcmp(buf, "down", 4) ? 0 : 22);
	}
	ipc_keep_end(&ping, IPC_TX);
	ipc_keep_end(&pong, IPC_RX);
	n = ipc_recv(&pong, buf, sizeof(buf), 0);
	if (n == 0)		/* the child gave up */
		return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ?
		       WEXITSTATUS(status) : 12;
	if (n != 2 || ipc_send(&ping, "down", 4, 0) != 4)
		return 13;
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ?
	       WEXITSTATUS(status) : 14;
}

/*
 * A normal user: the child may write into its parent and the parent into
 * its child (no Yama here; with Yama 1 the parent's PR_SET_PTRACER
 * does it). A receiver that is not dumpable refuses: -EPERM.
 */
static void test_user(void **state)
{
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(user_pair(true));
	assert_int_equal(reap(pid), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(user_pair(false));
	assert_int_equal(reap(pid), 20);
}

/* a sender of another uid: the kernel refuses, send says -EPERM at once
 * and for good; the reader sees nothing, then end of file */
static void test_other_uid(void **state)
{
	unsigned char buf[65536];
	struct ipc_chan ch;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	open_cma(&ch, 0, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		CHILD_CHECK(setresuid(NOBODY, NOBODY, NOBODY) == 0);
		CHILD_CHECK(ipc_send(&ch, "x", 1, 0) == -EPERM);
		CHILD_CHECK(ipc_send(&ch, "x", 1, IPC_DONTWAIT) == -EPERM);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_RX);
	assert_int_equal(reap(pid), 0);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 0);
	ipc_chan_close(&ch);
}

/* killed peers: a reader's death is -EPIPE, a writer's end of file */
static void test_killed(void **state)
{
	unsigned char buf[65536];
	struct ipc_chan ch;
	pid_t pid;

	(void)state;
	tl_killed_child(cma, &(struct ipc_opts){ 0 });
	open_cma(&ch, 0, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		pause();
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, "a", 1, 0), 1);	/* waits for HELLO */
	kill(pid, SIGKILL);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	assert_int_equal(ipc_send(&ch, "b", 1, 0), -EPIPE);
	assert_int_equal(ipc_send(&ch, "c", 1, IPC_DONTWAIT), -EPIPE);
	ipc_chan_close(&ch);

	open_cma(&ch, 0, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		(void)ipc_send(&ch, "last", 4, 0);
		kill(getpid(), SIGKILL);
	}
	ipc_keep_end(&ch, IPC_RX);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 4);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 0);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	ipc_chan_close(&ch);
}

/*
 * A reader that closes RX while its sender lives leaves an inaccessible
 * reservation where its ring was: a late write faults, and lands in
 * nothing the reader uses.
 */
static void test_fence(void **state)
{
	struct iovec l = { "late", 4 }, r;
	struct ipc_chan ch;
	int go[2];
	pid_t pid;
	char c;

	(void)state;
	open_cma(&ch, 0, 0, false);
	r.iov_base = ring_of(&ch, NULL);
	r.iov_len = 4;
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[0]);
		ipc_keep_end(&ch, IPC_RX);
		ipc_close_end(&ch, IPC_RX);
		CHILD_CHECK(write(go[1], "k", 1) == 1);
		pause();
		_exit(0);
	}
	close(go[1]);
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(read(go[0], &c, 1), 1);
	assert_int_equal(process_vm_writev(pid, &l, 1, &r, 1, 0), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ipc_send(&ch, "x", 1, 0), -EPIPE);
	kill(pid, SIGKILL);
	reap(pid);
	close(go[0]);
	ipc_chan_close(&ch);
}

/* forged DATA bells: short, empty, too long, of another kind: dropped
 * and counted, never a copy from outside the ring */
static void test_forged_data(void **state)
{
	const struct bell bad[] = {
		{ .kind = 1, .bytes = 0 }, { .kind = 1, .bytes = 65537 },
		{ .kind = 1, .bytes = (uint64_t)1 << 40 },
		{ .kind = 1, .bytes = UINT64_MAX }, { .kind = 2, .bytes = 8 },
		{ .kind = 3, .bytes = 262144 }, { .kind = 99, .bytes = 8 },
	};
	unsigned char buf[65536];
	struct ipc_chan ch;
	int tx;

	for (int local = 0; local < 2; local++) {
		open_cma(&ch, 0, 0, local);
		tx = ch.fd[IPC_TX];	/* what a hostile sender holds */
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(send(tx, &bad[i], sizeof(bad[i]), 0),
					 sizeof(bad[i]));
		assert_int_equal(send(tx, "short", 5, 0), 5);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 -EAGAIN);
		assert_int_equal(ch.dropped, 8);
		assert_int_equal(ipc_send(&ch, "real", 4, IPC_DONTWAIT), 4);
		assert_int_equal(tl_recv_nowait(&ch, buf, sizeof(buf)), 4);
		assert_memory_equal(buf, "real", 4);
		ipc_chan_close(&ch);
	}
	(void)state;
}

/*
 * Forged credit to the sender, for more than was sent or going back,
 * never makes room over unread messages.
 */
static void test_forged_credit(void **state)
{
	unsigned char buf[65536] = { 0 };
	struct bell b = { .kind = 2, .bytes = (uint64_t)1 << 40, .msgs = 4 };
	struct ipc_chan ch;
	int rx;

	(void)state;
	open_cma(&ch, 0, 0, true);
	rx = ch.fd[IPC_RX];	/* what a hostile receiver holds */
	while (ipc_send(&ch, buf, sizeof(buf), IPC_DONTWAIT) > 0)
		;
	assert_int_equal(send(rx, &b, sizeof(b), 0), sizeof(b));
	b.bytes = (uint64_t)-65536;
	assert_int_equal(send(rx, &b, sizeof(b), 0), sizeof(b));
	assert_int_equal(ipc_send(&ch, buf, 1, IPC_DONTWAIT), -EAGAIN);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 65536);
	assert_int_equal(ipc_send(&ch, "ok", 2, IPC_DONTWAIT), 2);
	ipc_chan_close(&ch);
}

/* send 1-byte messages until room runs out (the bells are read then) */
static ssize_t send_until_full(struct ipc_chan *ch)
{
	ssize_t n;

	while ((n = ipc_send(ch, "x", 1, IPC_DONTWAIT)) == 1)
		;
	return n;
}

/*
 * A forged HELLO: of another size, ignored; with a bad address, our
 * writes go there in the forger's own memory (the kernel names the pid)
 * and fail with -EFAULT. In local mode both ends are ours: ignored.
 */
static void test_forged_hello(void **state)
{
	struct bell b = { .kind = 3, .bytes = 4096, .addr = 4096 };
	unsigned char buf[65536];
	struct ipc_chan ch;

	(void)state;
	for (int local = 0; local < 2; local++) {
		open_cma(&ch, 0, 0, local);
		assert_int_equal(send(ch.fd[IPC_RX], &b, sizeof(b), 0),
				 sizeof(b));
		b.bytes = 262144;
		assert_int_equal(send(ch.fd[IPC_RX], &b, sizeof(b), 0),
				 sizeof(b));
		b.bytes = 4096;
		assert_int_equal(send_until_full(&ch), -EAGAIN);
		while (ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT) > 0)
			;
		assert_int_equal(send_until_full(&ch),
				 local ? -EAGAIN : -EFAULT);
		ipc_chan_close(&ch);
	}
}

/*
 * An outsider that may attach to us (same uid, or root) writes garbage
 * over the whole ring at the published address: the queued message reads
 * back as garbage of the right length, and the channel goes on.
 */
static void test_scribble(void **state)
{
	unsigned char buf[65536], junk[4096];
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	struct iovec l = { junk, sizeof(junk) }, r;
	pid_t pid, self;

	(void)state;
	open_cma(&ch, 4096, 0, true);
	r.iov_base = ring_of(&ch, &self);
	r.iov_len = sizeof(junk);
	assert_int_equal(self, getpid());
	assert_int_equal(ipc_send(&ch, "queued", 6, IPC_DONTWAIT), 6);
	memset(junk, 0xa5, sizeof(junk));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(process_vm_writev(self, &l, 1, &r, 1, 0) ==
		      (ssize_t)sizeof(junk) ? 0 : 1);
	assert_int_equal(reap(pid), 0);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), 6);
	assert_int_equal(buf[0], 0xa5);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_msgs, 0);
	assert_int_equal(ipc_send(&ch, "next", 4, IPC_DONTWAIT), 4);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), 4);
	assert_memory_equal(buf, "next", 4);
	ipc_chan_close(&ch);
}

#define STORM_MSGS	20000
#define STORM_US	20

static void on_storm(int sig)
{
	(void)sig;
}

/* SIGALRM every us microseconds, from the timer interrupt: it can come
 * in during any system call, on one CPU as well as on many */
static void alarm_every(long us)
{
	struct itimerval it = { { 0, us }, { 0, us } };

	(void)setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * Signals that hit a sender mid-send (the bench's 200 ms watchdog) are
 * -EINTR at worst, never the reader's end: the sender asks the reader's
 * pidfd whether it exited with a poll that waits for nothing, which a
 * signal still cuts short. A storm of them: many sends meet one.
 */
static void test_signal_storm(void **state)
{
	struct sigaction sa = { .sa_handler = on_storm }, old;
	unsigned char buf[65536] = { 0 };
	struct ipc_chan ch;
	ssize_t n = 0;
	pid_t pid;
	int i, status, sent = 0;

	(void)state;
	open_cma(&ch, 0, 0, false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		for (i = 0; (n = ipc_recv(&ch, buf, sizeof(buf), 0)) > 0; i++)
			CHILD_CHECK(n == 100);
		CHILD_CHECK(n == 0 && i == STORM_MSGS);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	sigaction(SIGALRM, &sa, &old);	/* no SA_RESTART */
	alarm_every(STORM_US);
	while (sent < STORM_MSGS) {
		n = ipc_send(&ch, buf, 100, 0);
		if (n == 100)
			sent++;
		else if (n != -EINTR)
			break;
	}
	alarm_every(0);
	sigaction(SIGALRM, &old, NULL);
	ipc_close_end(&ch, IPC_TX);
	status = reap(pid);
	ipc_chan_close(&ch);
	assert_int_equal(n, 100);
	assert_int_equal(status, 0);
}

/* a signal cuts a blocking receive short: -EINTR */
static void test_eintr(void **state)
{
	struct sigaction sa = { .sa_handler = tl_on_alarm };
	unsigned char buf[65536];
	struct ipc_chan ch;

	(void)state;
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
	open_cma(&ch, 0, 0, false);
	alarm(1);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), -EINTR);
	ipc_stop = 0;
	ipc_chan_close(&ch);
	signal(SIGALRM, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_flight),
		cmocka_unit_test(test_fork_pair),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_other_uid),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_fence),
		cmocka_unit_test(test_forged_data),
		cmocka_unit_test(test_forged_credit),
		cmocka_unit_test(test_forged_hello),
		cmocka_unit_test(test_scribble),
		cmocka_unit_test(test_signal_storm),
		cmocka_unit_test(test_eintr),
	};

	cma = ipc_transport_find("cma");
	if (!cma)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("cma", tests, NULL, NULL);
}
