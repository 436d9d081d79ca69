/*
 * test_signal.c - quirks of the signal transport: framing into 7-byte
 * signals (sizes around the chunk size), the capacity count, one signal
 * number per channel (several channels at once, running out of numbers),
 * strays and abandoned messages ignored, pending signals drained on
 * close, RLIMIT_SIGPENDING, and the bench's fork with the ready handshake
 * in both directions.
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
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "testlib.h"

extern const struct ipc_transport ipc_signal;

static struct ipc_opts opts;	/* defaults: 64 KiB messages and capacity */

/* the channel's signal number, from ch->object "SIGRTMIN+n" */
static int signo_of(const struct ipc_chan *ch)
{
	int n;

	assert_int_equal(sscanf(ch->object, "SIGRTMIN+%d", &n), 1);
	return SIGRTMIN + n;
}

static void test_roundtrip(void **state)
{
	size_t sizes[] = { 1, 2, 6, 7, 8, 13, 14, 15, 100, 1000, 4096,
			   65535, 65536 };
	unsigned char *out = malloc(65536), *in = malloc(65536);
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	assert_int_equal(ch.max_msg, 65536);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		tl_fill(out, sizes[i], (unsigned)i);
		assert_int_equal(ipc_send(&ch, out, sizes[i], IPC_DONTWAIT),
				 sizes[i]);
		assert_int_equal(tl_recv_nowait(&ch, in, ch.max_msg), sizes[i]);
		assert_memory_equal(in, out, sizes[i]);
	}
	free(out);
	free(in);
	ipc_chan_close(&ch);
}

static void test_boundaries_and_sizes(void **state)
{
	size_t lens[] = { 3, 1, 100, 99, 100, 7 };
	unsigned char out[101], in[100];
	struct ipc_opts o = opts;
	struct ipc_chan ch;

	(void)state;
	o.max_msg = 100;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &o), 0);
	assert_int_equal(ch.max_msg, 100);
	for (size_t i = 0; i < 6; i++) {
		tl_fill(out, lens[i], (unsigned)i);
		assert_int_equal(ipc_send(&ch, out, lens[i], IPC_DONTWAIT),
				 lens[i]);
	}
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), lens[i]);
		tl_fill(out, lens[i], (unsigned)i);
		assert_memory_equal(in, out, lens[i]);
	}
	assert_int_equal(ipc_send(&ch, out, 101, IPC_DONTWAIT), -EMSGSIZE);
	assert_int_equal(ipc_recv(&ch, in, 99, IPC_DONTWAIT), -EMSGSIZE);
	assert_int_equal(ipc_recv(&ch, in, 100, IPC_DONTWAIT), -EAGAIN);
	ipc_chan_close(&ch);

	/* more signals than RLIMIT_SIGPENDING lets anyone queue */
	o.max_msg = (size_t)1 << 30;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &o), -EMSGSIZE);
}

/* a lower RLIMIT_SIGPENDING lowers the default, and refuses more */
static void test_rlimit(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 1001, 1001 };
		struct ipc_opts o = opts;
		struct ipc_chan ch;

		if (setrlimit(RLIMIT_SIGPENDING, &rl) < 0 ||
		    ipc_chan_open(&ch, &ipc_signal, &o) < 0)
			_exit(1);
		if (ch.max_msg != 1000 * 7)
			_exit(2);
		ipc_chan_close(&ch);
		o.max_msg = 8000;
		_exit(ipc_chan_open(&ch, &ipc_signal, &o) == -EMSGSIZE ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_readiness(void **state)
{
	unsigned char in[65536];
	struct ipc_chan ch;
	short ev;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	assert_int_equal(ipc_wait_fd(&ch, IPC_TX, &ev), -1);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(tl_rx_poll(&ch, 0), 0);
	assert_int_equal(ipc_send(&ch, "hello, world", 12, IPC_DONTWAIT), 12);
	assert_int_equal(tl_rx_poll(&ch, 0), 1);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), 12);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(tl_rx_poll(&ch, 0), 0);
	ipc_chan_close(&ch);
}

/* NOWAIT sends stop whole at the capacity; stats follow */
static void test_capacity(void **state)
{
	unsigned char out[1000] = { 0 }, in[65536];
	struct ipc_chan_stats st;
	struct ipc_opts o = opts;
	struct ipc_chan ch;
	int sent = 0;
	ssize_t n;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &o), 0);
	while ((n = ipc_send(&ch, out, sizeof(out), IPC_DONTWAIT)) > 0)
		sent++;
	assert_int_equal(n, -EAGAIN);
	/* each message costs 144 signals: 65 fit under 9364 */
	assert_int_equal(sent, 65);
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_msgs, sent);
	assert_int_equal(st.queued_bytes, sent * 1000);
	assert_int_equal(st.capacity, 65536);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 1000);
	assert_int_equal(ipc_send(&ch, out, sizeof(out), IPC_DONTWAIT), 1000);
	for (int i = 0; i < sent; i++)
		assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 1000);
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_msgs, 0);
	assert_int_equal(st.queued_bytes, 0);
	ipc_chan_close(&ch);

	/* a small capacity still takes one message of max_msg */
	o.capacity = 10;
	o.max_msg = 500;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &o), 0);
	assert_int_equal(ipc_send(&ch, out, 500, IPC_DONTWAIT), 500);
	assert_int_equal(ipc_send(&ch, out, 1, IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(tl_recv_nowait(&ch, in, 500), 500);
	ipc_stats(&ch, &st);
	assert_int_equal(st.capacity, 500);
	ipc_chan_close(&ch);
}

static void test_hangup(void **state)
{
	unsigned char in[65536];
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	assert_int_equal(ipc_send(&ch, "one", 3, IPC_DONTWAIT), 3);
	assert_int_equal(ipc_send(&ch, "two", 3, IPC_DONTWAIT), 3);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 3);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 3);
	assert_memory_equal(in, "two", 3);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), 0);
	ipc_chan_close(&ch);

	/* the reader closed for good: the sender hears -EPIPE */
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	ipc_close_end(&ch, IPC_RX);
	assert_int_equal(ipc_send(&ch, "x", 1, IPC_DONTWAIT), -EPIPE);
	ipc_chan_close(&ch);
}

/* the daemon: several channels at once, each its own signal number */
static void test_many(void **state)
{
	struct ipc_chan ch[10];
	unsigned char in[65536];
	char msg[32];

	(void)state;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(ipc_chan_open(&ch[i], &ipc_signal, &opts), 0);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(signo_of(&ch[i]),
					     signo_of(&ch[j]));
	}
	for (int r = 0; r < 20; r++)
		for (int i = 0; i < 10; i++) {
			int len = snprintf(msg, sizeof(msg), "ch%d-r%d", i, r);

			assert_int_equal(ipc_send(&ch[i], msg, len, IPC_DONTWAIT),
					 len);
		}
	for (int r = 0; r < 20; r++)
		for (int i = 9; i >= 0; i--) {
			int len = snprintf(msg, sizeof(msg), "ch%d-r%d", i, r);

			assert_int_equal(tl_recv_nowait(&ch[i], in, sizeof(in)),
					 len);
			assert_memory_equal(in, msg, len);
		}
	for (int i = 0; i < 10; i++)
		ipc_chan_close(&ch[i]);
}

/* numbers run out (~30 a process) with -EAGAIN, and come back */
static void test_exhaust(void **state)
{
	struct ipc_chan ch[64];
	struct ipc_opts o = opts;
	int n = 0, ret;

	(void)state;
	o.max_msg = 16;	/* small buffers */
	while ((ret = ipc_chan_open(&ch[n], &ipc_signal, &o)) == 0)
		n++;
	assert_int_equal(ret, -EAGAIN);
	assert_true(n >= 20 && n <= SIGRTMAX - SIGRTMIN + 1);
	while (n > 0)
		ipc_chan_close(&ch[--n]);
	assert_int_equal(ipc_chan_open(&ch[0], &ipc_signal, &o), 0);
	ipc_chan_close(&ch[0]);
}

static void on_rt(int sig)
{
	(void)sig;
}

/* a signal number the program handles itself is left alone */
static void test_taken(void **state)
{
	struct sigaction sa = { .sa_handler = on_rt }, old;
	struct ipc_chan ch;

	(void)state;
	/* SIGRTMIN would be the first pick */
	assert_int_equal(sigaction(SIGRTMIN, &sa, &old), 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	assert_int_not_equal(signo_of(&ch), SIGRTMIN);
	ipc_chan_close(&ch);
	assert_int_equal(sigaction(SIGRTMIN, &old, NULL), 0);
}

/*
 * Strays: a kill() (SI_USER) and a data signal of no message are ignored;
 * a message abandoned half-way is dropped when the next header comes.
 */
static void test_strays(void **state)
{
	unsigned char in[65536];
	struct ipc_chan ch;
	union sigval v;
	int s;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	s = signo_of(&ch);
	assert_int_equal(ipc_send(&ch, "a", 1, IPC_DONTWAIT), 1);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 1);

	assert_int_equal(kill(getpid(), s), 0);
	v.sival_ptr = (void *)(uintptr_t)0x33ffffffffffffffull;	/* data */
	assert_int_equal(sigqueue(getpid(), s, v), 0);
	/* a header for 100 bytes (tag 0x55), then only 14 of them */
	v.sival_ptr = (void *)(uintptr_t)(0xd5ull << 56 | 100);
	assert_int_equal(sigqueue(getpid(), s, v), 0);
	v.sival_ptr = (void *)(uintptr_t)(0x55ull << 56 | 0x41414141);
	assert_int_equal(sigqueue(getpid(), s, v), 0);
	assert_int_equal(sigqueue(getpid(), s, v), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(tl_rx_poll(&ch, 0), 0);

	assert_int_equal(ipc_send(&ch, "hello", 5, IPC_DONTWAIT), 5);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 5);
	assert_memory_equal(in, "hello", 5);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	ipc_chan_close(&ch);
}

/* close drains what is still queued and leaves the number harmless */
static void test_drain(void **state)
{
	struct sigaction sa;
	struct ipc_chan ch;
	sigset_t set;
	int s;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	s = signo_of(&ch);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &set), 0);
	assert_true(sigismember(&set, s));
	for (int i = 0; i < 5; i++)
		assert_int_equal(ipc_send(&ch, "pending", 7, IPC_DONTWAIT), 7);
	assert_int_equal(sigpending(&set), 0);
	assert_true(sigismember(&set, s));
	ipc_chan_close(&ch);
	assert_int_equal(sigpending(&set), 0);
	assert_false(sigismember(&set, s));
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &set), 0);
	assert_false(sigismember(&set, s));
	/* ignored: a late one from a slow sender cannot kill us */
	assert_int_equal(sigaction(s, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_IGN);
	assert_int_equal(kill(getpid(), s), 0);
}

static void test_fork_small(void **state)
{
	(void)state;
	tl_fork_pair(&ipc_signal, &opts, 1, 1000, 3000, 0);
	tl_fork_pair(&ipc_signal, &opts, 100, 200, 2000, 0);
}

static void test_fork_max(void **state)
{
	(void)state;
	tl_fork_pair(&ipc_signal, &opts, 65536, 5, 20, 0);
}

/* the reader's queue limit is hit: the sender waits, nothing is lost */
static void test_fork_rlimit(void **state)
{
	struct ipc_opts o = opts;

	(void)state;
	o.max_msg = 7000;	/* 1001 signals */
	tl_fork_pair(&ipc_signal, &o, 7000, 3, 200, 1500);
}

/*
 * The bench's child dies by SIGKILL mid-run: the parent still gets rid of
 * both channels quickly, and leaves nothing behind.
 */
static void killed_child(const struct ipc_opts *o)
{
	unsigned char *in;
	struct ipc_chan ping, pong;
	struct timespec t0, t1;
	int status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(ipc_chan_open(&ping, &ipc_signal, o), 0);
	assert_int_equal(ipc_chan_open(&pong, &ipc_signal, o), 0);
	in = malloc(1 << 20);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ping, IPC_RX);
		ipc_keep_end(&pong, IPC_TX);
		if (ipc_send(&pong, "ready", 5, 0) != 5)
			_exit(1);
		for (;;)
			pause();
	}
	ipc_keep_end(&ping, IPC_TX);
	ipc_keep_end(&pong, IPC_RX);
	n = ipc_recv(&pong, in, 1 << 20, 0);
	assert_true(n > 0);
	assert_int_equal(ipc_send(&ping, "x", 1, 0), 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* the reader is gone: no signal can reach it */
	assert_int_equal(ipc_send(&ping, "y", 1, 0), -EPIPE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ipc_close_end(&ping, IPC_TX);
	ipc_chan_close(&ping);
	ipc_chan_close(&pong);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	free(in);
}

static void test_killed_child(void **state)
{
	(void)state;
	killed_child(&opts);
}

/* a handler without SA_RESTART interrupts a blocking wait: -EINTR */
static void test_eintr(void **state)
{
	struct sigaction sa = { .sa_handler = tl_on_alarm };
	struct itimerval it = { .it_value = { 0, 50 * 1000 } };
	unsigned char out[1000] = { 0 }, in[65536];
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	ipc_stop = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), -EINTR);
	assert_int_equal(tl_alarms, 1);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), -EINTR);

	/* a sender waiting for room */
	ipc_stop = 0;
	while (ipc_send(&ch, out, sizeof(out), IPC_DONTWAIT) > 0)
		;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(ipc_send(&ch, out, sizeof(out), 0), -EINTR);
	assert_int_equal(tl_alarms, 2);
	ipc_stop = 0;
	tl_alarms = 0;
	ipc_chan_close(&ch);
	signal(SIGALRM, SIG_DFL);
}

/*
 * close_end is quiet and hangup is the only hang-up: a process that used
 * the channel and forked for something else still hangs up to itself; a
 * reader that closes RX for good is gone for the sender.
 */
static void test_ends(void **state)
{
	struct ipc_opts o = opts;
	unsigned char in[65536];
	struct ipc_chan ch;
	int status, sync[2];
	char c;
	pid_t pid;

	(void)state;
	/* used, forked for something else, then closed: still a hang-up */
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &o), 0);
	assert_int_equal(ipc_send(&ch, "one", 3, IPC_DONTWAIT), 3);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 3);
	assert_int_equal(ipc_send(&ch, "two", 3, IPC_DONTWAIT), 3);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 3);
	assert_memory_equal(in, "two", 3);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 0);
	ipc_chan_close(&ch);

	/* a reader child closes RX for good and lives on: -EPIPE */
	assert_int_equal(pipe(sync), 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &o), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		ipc_close_end(&ch, IPC_RX);
		if (write(sync[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(read(sync[0], &c, 1), 1);
	assert_int_equal(ipc_send(&ch, "x", 1, IPC_DONTWAIT), -EPIPE);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(sync[0]);
	close(sync[1]);
	ipc_chan_close(&ch);
}

/* no named object anywhere; ch->object names the signal */
static void test_nothing_left(void **state)
{
	char prefix[32];
	struct dirent *de;
	struct ipc_chan ch;
	DIR *d;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_signal, &opts), 0);
	assert_true(strncmp(ch.object, "SIGRTMIN+", 9) == 0);
	ipc_chan_close(&ch);
	snprintf(prefix, sizeof(prefix), "ipcfs.%ld.", (long)getpid());
	d = opendir("/dev/shm");
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		assert_false(strncmp(de->d_name, prefix, strlen(prefix)) == 0);
	closedir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_boundaries_and_sizes),
		cmocka_unit_test(test_rlimit),
		cmocka_unit_test(test_readiness),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_exhaust),
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_strays),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_fork_small),
		cmocka_unit_test(test_fork_max),
		cmocka_unit_test(test_fork_rlimit),
		cmocka_unit_test(test_killed_child),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_ends),
		cmocka_unit_test(test_nothing_left),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("signal", tests, NULL, NULL);
}
