/*
 * test_zmq.c - quirks of the zmq transport, for both endpoint kinds
 * (tcp:// and ipc://): sockets made after fork() in the process that uses
 * them, the hang-up as an empty message (also when the queue is full),
 * ZMQ_FD readiness, ZMQ_MAXMSGSIZE against an outsider, names removed.
 * Every channel lives in a private runtime dir that must be empty at the
 * end.
 */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "transport.h"

extern const struct ipc_transport ipc_zmq;

static char rundir[64];

static struct ipc_opts opts_for(const char *kind, bool visible)
{
	struct ipc_opts o = { .rundir = rundir, .visible = visible,
			      .zmq_kind = kind };
	return o;
}

static void fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9));
}

static unsigned long sum(unsigned long s, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s = s * 31 + p[i];
	return s;
}

static int poll_fd(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, ms);
}

static int rx_poll(struct ipc_chan *ch, int ms)
{
	short ev;
	int fd = ipc_wait_fd(ch, IPC_RX, &ev);

	assert_true(fd >= 0);
	return poll_fd(fd, ev, ms);
}

/* the daemon's way: IPC_NOWAIT, and poll the RX fd on -EAGAIN */
static ssize_t recv_nowait(struct ipc_chan *ch, void *buf, size_t len)
{
	ssize_t n;

	while ((n = ipc_recv(ch, buf, len, IPC_NOWAIT)) == -EAGAIN)
		assert_int_equal(rx_poll(ch, 5000), 1);
	return n;
}

static void test_roundtrip(void **state)
{
	const char *kind = *state;
	struct ipc_opts o = opts_for(kind, true);
	size_t sizes[] = { 1, 2, 7, 8, 1000, 4096, 65536, 1 << 20 };
	struct ipc_chan ch;
	unsigned char *out, *in;

	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	assert_int_equal(ch.max_msg, 1 << 20);
	assert_true(strncmp(ch.object, kind, 3) == 0);
	out = malloc(ch.max_msg);
	in = malloc(ch.max_msg);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(out, sizes[i], (unsigned)i);
		assert_int_equal(ipc_send(&ch, out, sizes[i], IPC_NOWAIT),
				 sizes[i]);
		assert_int_equal(recv_nowait(&ch, in, ch.max_msg), sizes[i]);
		assert_memory_equal(in, out, sizes[i]);
	}
	free(out);
	free(in);
	ipc_chan_close(&ch);
}

static void test_boundaries_and_sizes(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	size_t lens[] = { 3, 1, 100, 99, 100 };
	unsigned char out[101], in[100];
	struct ipc_chan ch;

	o.max_msg = 100;
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	assert_int_equal(ch.max_msg, 100);
	for (size_t i = 0; i < 5; i++) {
		fill(out, lens[i], (unsigned)i);
		assert_int_equal(ipc_send(&ch, out, lens[i], 0), lens[i]);
	}
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(recv_nowait(&ch, in, sizeof(in)), lens[i]);
		fill(out, lens[i], (unsigned)i);
		assert_memory_equal(in, out, lens[i]);
	}
	assert_int_equal(ipc_send(&ch, out, 101, IPC_NOWAIT), -EMSGSIZE);
	assert_int_equal(ipc_recv(&ch, in, 99, IPC_NOWAIT), -EMSGSIZE);
	assert_int_equal(ipc_recv(&ch, in, 100, IPC_NOWAIT), -EAGAIN);
	ipc_chan_close(&ch);

	o.max_msg = (size_t)1 << 31;
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), -EMSGSIZE);
	o.max_msg = 0;
	o.zmq_kind = "udp";
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), -EINVAL);
}

/*
 * An outsider pushes to the endpoint. Too big for max_msg: dropped, never
 * cut short (far too big: ZMQ_MAXMSGSIZE drops the connection, and the
 * outsider reconnects); what fits gets through.
 */
static void test_outsider(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	static unsigned char big[8192];
	unsigned char in[100];
	struct ipc_chan ch;
	void *ctx, *push;
	int zero = 0;

	o.max_msg = sizeof(in);
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_NOWAIT), -EAGAIN);
	ctx = zmq_ctx_new();
	push = zmq_socket(ctx, ZMQ_PUSH);
	assert_int_equal(zmq_setsockopt(push, ZMQ_LINGER, &zero, 4), 0);
	assert_int_equal(zmq_connect(push, ch.object), 0);
	assert_int_equal(zmq_send(push, big, 200, 0), 200);
	assert_int_equal(zmq_send(push, "first", 5, 0), 5);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 5);
	assert_memory_equal(in, "first", 5);
	assert_int_equal(zmq_send(push, big, sizeof(big), 0), sizeof(big));
	usleep(100 * 1000);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_NOWAIT), -EAGAIN);
	assert_int_equal(zmq_send(push, "outsider", 8, 0), 8);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 8);
	assert_memory_equal(in, "outsider", 8);
	zmq_close(push);
	zmq_ctx_term(ctx);
	ipc_chan_close(&ch);
}

/* ZMQ_FD is edge-triggered: quiet after -EAGAIN, fires on a message */
static void test_readiness(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	unsigned char in[16];
	struct ipc_chan ch;
	short ev;

	for (int i = 0; i < 50; i++) {
		assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
		/* the daemon registers the fd before anything is sent */
		int fd = ipc_wait_fd(&ch, IPC_RX, &ev);

		assert_true(fd >= 0);
		assert_int_equal(ev, POLLIN);
		assert_int_equal(ipc_wait_fd(&ch, IPC_TX, &ev), -1);
		assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_NOWAIT),
				 -EMSGSIZE);
		ipc_chan_close(&ch);
	}
	o.max_msg = sizeof(in);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
		assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_NOWAIT),
				 -EAGAIN);
		assert_int_equal(rx_poll(&ch, 0), 0);
		assert_int_equal(ipc_send(&ch, "ab", 2, IPC_NOWAIT), 2);
		assert_int_equal(rx_poll(&ch, 5000), 1);
		assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_NOWAIT), 2);
		assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_NOWAIT),
				 -EAGAIN);
		assert_int_equal(rx_poll(&ch, 0), 0);
		ipc_chan_close(&ch);
	}
}

static void test_hangup(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	unsigned char in[64];
	struct ipc_chan ch;

	o.max_msg = sizeof(in);
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	assert_int_equal(ipc_send(&ch, "one", 3, IPC_NOWAIT), 3);
	assert_int_equal(ipc_send(&ch, "two", 3, IPC_NOWAIT), 3);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 3);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 3);
	assert_memory_equal(in, "two", 3);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), 0);
	ipc_chan_close(&ch);
}

/* the queue is full when TX closes: the hang-up still comes, last */
static void test_hangup_full(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	unsigned char in[64];
	struct ipc_chan ch;
	unsigned sent = 0, got = 0;
	ssize_t n;

	o.max_msg = sizeof(in);
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	/* twice: the first -EAGAIN may come before data reached the PULL */
	for (int round = 0; round < 2; round++) {
		while (ipc_send(&ch, &sent, sizeof(sent), IPC_NOWAIT) > 0)
			sent++;
		usleep(50 * 1000);
	}
	assert_true(sent >= 1000);
	ipc_close_end(&ch, IPC_TX);
	while ((n = recv_nowait(&ch, in, sizeof(in))) > 0) {
		assert_int_equal(n, sizeof(got));
		assert_memory_equal(in, &got, sizeof(got));
		got++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(got, sent);
	ipc_chan_close(&ch);
}

/* a daemon holds many channels in one context */
static void test_many(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	struct ipc_chan ch[8];
	unsigned char in[32];
	char msg[32];

	o.max_msg = sizeof(in);
	for (int i = 0; i < 8; i++)
		assert_int_equal(ipc_chan_open(&ch[i], &ipc_zmq, &o), 0);
	for (int r = 0; r < 20; r++)
		for (int i = 0; i < 8; i++) {
			int len = snprintf(msg, sizeof(msg), "ch%d-r%d", i, r);

			assert_int_equal(ipc_send(&ch[i], msg, len, 0), len);
		}
	for (int r = 0; r < 20; r++)
		for (int i = 7; i >= 0; i--) {
			int len = snprintf(msg, sizeof(msg), "ch%d-r%d", i, r);

			assert_int_equal(recv_nowait(&ch[i], in, sizeof(in)),
					 len);
			assert_memory_equal(in, msg, len);
		}
	for (int i = 0; i < 8; i++)
		ipc_chan_close(&ch[i]);
}

/*
 * The bench: two channels made before fork(), one end kept on each side,
 * blocking calls, the child's "ready" on pong before the first ping.
 * Then ping-pong of `rounds` messages (echoed, checked), then a stream of
 * `stream` messages on ping whose checksum the child sends back.
 */
static void fork_pair(const struct ipc_opts *o, size_t size, int rounds,
		      int stream)
{
	struct ipc_chan ping, pong;
	unsigned char *out, *in;
	unsigned long s_out = 0, s_in;
	int status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(ipc_chan_open(&ping, &ipc_zmq, o), 0);
	assert_int_equal(ipc_chan_open(&pong, &ipc_zmq, o), 0);
	out = malloc(ping.max_msg);
	in = malloc(ping.max_msg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned long s = 0;

		ipc_keep_end(&ping, IPC_RX);
		ipc_keep_end(&pong, IPC_TX);
		if (ipc_send(&pong, "ready", 5, 0) != 5)
			_exit(1);
		for (int r = 0; r < rounds; r++) {
			n = ipc_recv(&ping, in, ping.max_msg, 0);
			if (n != (ssize_t)size ||
			    ipc_send(&pong, in, n, 0) != n)
				_exit(2);
		}
		while ((n = ipc_recv(&ping, in, ping.max_msg, 0)) > 0)
			s = sum(s, in, n);
		if (n != 0 || ipc_send(&pong, &s, sizeof(s), 0) != sizeof(s))
			_exit(3);
		ipc_close_end(&pong, IPC_TX);
		ipc_chan_close(&ping);
		ipc_chan_close(&pong);
		_exit(0);
	}
	ipc_keep_end(&ping, IPC_TX);
	ipc_keep_end(&pong, IPC_RX);
	assert_int_equal(ipc_recv(&pong, in, pong.max_msg, 0), 5);
	assert_memory_equal(in, "ready", 5);
	for (int r = 0; r < rounds; r++) {
		fill(out, size, (unsigned)r);
		assert_int_equal(ipc_send(&ping, out, size, 0), size);
		assert_int_equal(ipc_recv(&pong, in, pong.max_msg, 0), size);
		assert_memory_equal(in, out, size);
	}
	for (int m = 0; m < stream; m++) {
		fill(out, size, (unsigned)m + 7);
		s_out = sum(s_out, out, size);
		assert_int_equal(ipc_send(&ping, out, size, 0), size);
	}
	ipc_close_end(&ping, IPC_TX);
	assert_int_equal(ipc_recv(&pong, in, pong.max_msg, 0), sizeof(s_in));
	memcpy(&s_in, in, sizeof(s_in));
	assert_true(s_in == s_out);
	assert_int_equal(ipc_recv(&pong, in, pong.max_msg, 0), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_chan_close(&ping);
	ipc_chan_close(&pong);
	free(out);
	free(in);
}

static void test_fork_small(void **state)
{
	struct ipc_opts o = opts_for(*state, false);

	fork_pair(&o, 1, 1000, 5000);
	fork_pair(&o, 64, 100, 3000);
}

static void test_fork_max(void **state)
{
	struct ipc_opts o = opts_for(*state, false);

	fork_pair(&o, 1 << 20, 10, 20);
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

	assert_int_equal(ipc_chan_open(&ping, &ipc_zmq, o), 0);
	assert_int_equal(ipc_chan_open(&pong, &ipc_zmq, o), 0);
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
	struct ipc_opts o = opts_for(*state, false);

	killed_child(&o);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	ipc_stop = 1;
}

/* a handler without SA_RESTART interrupts a blocking wait: -EINTR */
static void test_eintr(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 50 * 1000 } };
	unsigned char in[16];
	struct ipc_chan ch;

	o.max_msg = sizeof(in);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	ipc_stop = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), -EINTR);
	assert_int_equal(alarms, 1);
	/* ipc_stop already set: no wait at all */
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), -EINTR);
	ipc_stop = 0;
	alarms = 0;
	ipc_chan_close(&ch);
	signal(SIGALRM, SIG_DFL);
}

/* ipc://: the socket file is there while visible and gone after close */
static void test_names(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	unsigned char in[16];
	struct ipc_chan ch;
	char path[2 * IPC_OBJECT_MAX];	/* roomy: gcc cannot see the bound */
	struct stat st;

	if (strcmp(*state, "ipc") != 0)
		skip();
	o.max_msg = sizeof(in);
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	snprintf(path, sizeof(path), "%s", ch.object + 6);
	assert_int_equal(strncmp(path, rundir, strlen(rundir)), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_NOWAIT), -EAGAIN);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	ipc_chan_close(&ch);
	assert_int_equal(stat(path, &st), -1);

	/* not visible: gone once the sender is known to be connected */
	o.visible = false;
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	snprintf(path, sizeof(path), "%s", ch.object + 6);
	assert_int_equal(ipc_send(&ch, "x", 1, 0), 1);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 1);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(ipc_send(&ch, "y", 1, 0), 1);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 1);
	ipc_chan_close(&ch);
}

/* never used: no socket, no context, nothing to clean but the port */
static void test_unused(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	struct ipc_chan ch;

	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	ipc_chan_close(&ch);
}

/*
 * close_end is quiet and hangup is the only hang-up: a process that used
 * the channel and forked for something else still hangs up to itself.
 */
static void test_hangup_after_fork(void **state)
{
	struct ipc_opts o = opts_for(*state, false);
	unsigned char in[64];
	struct ipc_chan ch;
	int status;
	pid_t pid;

	o.max_msg = sizeof(in);
	/* used, forked for something else, then closed: still a hang-up */
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	assert_int_equal(ipc_send(&ch, "one", 3, IPC_NOWAIT), 3);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 3);
	assert_int_equal(ipc_send(&ch, "two", 3, IPC_NOWAIT), 3);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 3);
	assert_memory_equal(in, "two", 3);
	assert_int_equal(recv_nowait(&ch, in, sizeof(in)), 0);
	ipc_chan_close(&ch);
}

/* entries of dir whose name starts with prefix ("" for all) */
static int count_entries(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void test_nothing_left(void **state)
{
	char prefix[32];

	(void)state;
	snprintf(prefix, sizeof(prefix), "ipcfs.%ld.", (long)getpid());
	assert_int_equal(count_entries(rundir, ""), 0);
	assert_int_equal(count_entries("/dev/shm", prefix), 0);
}

static int make_rundir(void **state)
{
	(void)state;
	snprintf(rundir, sizeof(rundir), "/tmp/ipcfs-test-zmq-XXXXXX");
	return mkdtemp(rundir) ? 0 : -1;
}

static int remove_rundir(void **state)
{
	(void)state;
	return rmdir(rundir);
}

#define T(fn, kind) cmocka_unit_test_prestate(fn, (void *)kind)
#define ALL(kind) \
	T(test_roundtrip, kind), T(test_boundaries_and_sizes, kind), \
	T(test_outsider, kind), T(test_readiness, kind), \
	T(test_hangup, kind), T(test_hangup_full, kind), \
	T(test_many, kind), T(test_fork_small, kind), \
	T(test_fork_max, kind), T(test_eintr, kind), T(test_names, kind), \
	T(test_killed_child, kind), T(test_hangup_after_fork, kind), \
	T(test_unused, kind), T(test_nothing_left, kind)

int main(void)
{
	const struct CMUnitTest tcp[] = { ALL("tcp") };
	const struct CMUnitTest ipc[] = { ALL("ipc") };
	int fails = 0;

	signal(SIGPIPE, SIG_IGN);
	fails += cmocka_run_group_tests_name("zmq tcp://", tcp, make_rundir,
					     remove_rundir);
	fails += cmocka_run_group_tests_name("zmq ipc://", ipc, make_rundir,
					     remove_rundir);
	return fails;
}
