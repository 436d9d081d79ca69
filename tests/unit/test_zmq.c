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
#include "testlib.h"

extern const struct ipc_transport ipc_zmq;

static char rundir[64];

static struct ipc_opts opts_for(const char *kind, bool visible)
{
	struct ipc_opts o = { .rundir = rundir, .visible = visible,
			      .zmq_kind = kind };
	return o;
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
	struct ipc_opts o = opts_for(*state, true);
	size_t lens[] = { 3, 1, 100, 99, 100 };
	unsigned char out[101], in[100];
	struct ipc_chan ch;

	o.max_msg = 100;
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	assert_int_equal(ch.max_msg, 100);
	for (size_t i = 0; i < 5; i++) {
		tl_fill(out, lens[i], (unsigned)i);
		assert_int_equal(ipc_send(&ch, out, lens[i], 0), lens[i]);
	}
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), lens[i]);
		tl_fill(out, lens[i], (unsigned)i);
		assert_memory_equal(in, out, lens[i]);
	}
	assert_int_equal(ipc_send(&ch, out, 101, IPC_DONTWAIT), -EMSGSIZE);
	assert_int_equal(ipc_recv(&ch, in, 99, IPC_DONTWAIT), -EMSGSIZE);
	assert_int_equal(ipc_recv(&ch, in, 100, IPC_DONTWAIT), -EAGAIN);
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
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	ctx = zmq_ctx_new();
	push = zmq_socket(ctx, ZMQ_PUSH);
	assert_int_equal(zmq_setsockopt(push, ZMQ_LINGER, &zero, 4), 0);
	assert_int_equal(zmq_connect(push, ch.object), 0);
	assert_int_equal(zmq_send(push, big, 200, 0), 200);
	assert_int_equal(zmq_send(push, "first", 5, 0), 5);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 5);
	assert_memory_equal(in, "first", 5);
	assert_int_equal(zmq_send(push, big, sizeof(big), 0), sizeof(big));
	usleep(100 * 1000);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(zmq_send(push, "outsider", 8, 0), 8);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 8);
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
		assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT),
				 -EMSGSIZE);
		ipc_chan_close(&ch);
	}
	o.max_msg = sizeof(in);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
		assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT),
				 -EAGAIN);
		assert_int_equal(tl_rx_poll(&ch, 0), 0);
		assert_int_equal(ipc_send(&ch, "ab", 2, IPC_DONTWAIT), 2);
		assert_int_equal(tl_rx_poll(&ch, 5000), 1);
		assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), 2);
		assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT),
				 -EAGAIN);
		assert_int_equal(tl_rx_poll(&ch, 0), 0);
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
	assert_int_equal(ipc_send(&ch, "one", 3, IPC_DONTWAIT), 3);
	assert_int_equal(ipc_send(&ch, "two", 3, IPC_DONTWAIT), 3);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 3);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 3);
	assert_memory_equal(in, "two", 3);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 0);
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
		while (ipc_send(&ch, &sent, sizeof(sent), IPC_DONTWAIT) > 0)
			sent++;
		usleep(50 * 1000);
	}
	assert_true(sent >= 1000);
	ipc_close_end(&ch, IPC_TX);
	while ((n = tl_recv_nowait(&ch, in, sizeof(in))) > 0) {
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

			assert_int_equal(tl_recv_nowait(&ch[i], in, sizeof(in)),
					 len);
			assert_memory_equal(in, msg, len);
		}
	for (int i = 0; i < 8; i++)
		ipc_chan_close(&ch[i]);
}

static void test_fork_small(void **state)
{
	struct ipc_opts o = opts_for(*state, false);

	tl_fork_pair(&ipc_zmq, &o, 1, 1000, 5000, 0);
	tl_fork_pair(&ipc_zmq, &o, 64, 100, 3000, 0);
}

static void test_fork_max(void **state)
{
	struct ipc_opts o = opts_for(*state, false);

	tl_fork_pair(&ipc_zmq, &o, 1 << 20, 10, 20, 0);
}

static void test_killed_child(void **state)
{
	struct ipc_opts o = opts_for(*state, false);

	tl_killed_child(&ipc_zmq, &o);
}

/* a handler without SA_RESTART interrupts a blocking wait: -EINTR */
static void test_eintr(void **state)
{
	struct ipc_opts o = opts_for(*state, true);
	struct sigaction sa = { .sa_handler = tl_on_alarm };
	struct itimerval it = { .it_value = { 0, 50 * 1000 } };
	unsigned char in[16];
	struct ipc_chan ch;

	o.max_msg = sizeof(in);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	ipc_stop = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), -EINTR);
	assert_int_equal(tl_alarms, 1);
	/* ipc_stop already set: no wait at all */
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), -EINTR);
	ipc_stop = 0;
	tl_alarms = 0;
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
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	ipc_chan_close(&ch);
	assert_int_equal(stat(path, &st), -1);

	/* not visible: gone once the sender is known to be connected */
	o.visible = false;
	assert_int_equal(ipc_chan_open(&ch, &ipc_zmq, &o), 0);
	snprintf(path, sizeof(path), "%s", ch.object + 6);
	assert_int_equal(ipc_send(&ch, "x", 1, 0), 1);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 1);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(ipc_send(&ch, "y", 1, 0), 1);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 1);
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
}

static void test_nothing_left(void **state)
{
	char prefix[32];

	(void)state;
	snprintf(prefix, sizeof(prefix), "ipcfs.%ld.", (long)getpid());
	assert_int_equal(tl_count_entries(rundir, ""), 0);
	assert_int_equal(tl_count_entries("/dev/shm", prefix), 0);
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
