/*
 * test_contract.c - the contract every registered transport must pass,
 * run once per transport: `test_contract pipe`, `test_contract mqueue`...
 * Mechanism quirks belong in test_<transport>.c, not here.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"

struct fixture {
	const struct ipc_transport *t;
	struct ipc_chan ch;
	unsigned char *buf;	/* receive buffer, max_msg or 1 MiB */
	size_t buflen;
};

static const struct ipc_transport *the_transport;

static int chan_setup_opts(void **state, const struct ipc_opts *o)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->t = the_transport;
	assert_int_equal(ipc_chan_open(&f->ch, f->t, o), 0);
	f->buflen = ipc_is_msg(&f->ch) ? f->ch.max_msg : 1 << 20;
	f->buf = malloc(f->buflen);
	assert_non_null(f->buf);
	*state = f;
	return 0;
}

static int chan_setup(void **state)
{
	struct ipc_opts o = { .visible = true };

	return chan_setup_opts(state, &o);
}

static int chan_teardown(void **state)
{
	struct fixture *f = *state;

	ipc_chan_close(&f->ch);
	free(f->buf);
	free(f);
	return 0;
}

static void fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 8));
}

/* wait up to 5 s for an end to be ready; an end without an fd is ready */
static void wait_ready(struct ipc_chan *ch, enum ipc_end end)
{
	short events;
	int fd = ipc_wait_fd(ch, end, &events);
	struct pollfd pfd = { .fd = fd, .events = events };

	if (fd < 0)
		return;
	assert_int_equal(poll(&pfd, 1, 5000), 1);
}

/*
 * Move len bytes through the channel in one process: send what fits,
 * receive what is there, wait on the readiness fds when neither moves.
 * Message transports: out is sent as msgs messages of len/msgs bytes.
 */
static void pump(struct fixture *f, const unsigned char *out, size_t len,
		 size_t msg, unsigned char *in)
{
	size_t sent = 0, got = 0;
	ssize_t n, m;

	while (got < len) {
		n = -EAGAIN;
		if (sent < len) {
			size_t want = msg < len - sent ? msg : len - sent;

			n = ipc_send(&f->ch, out + sent, want, IPC_DONTWAIT);
			if (n != -EAGAIN) {
				assert_true(n > 0);
				if (ipc_is_msg(&f->ch))
					assert_int_equal(n, want);
				sent += n;
			}
		}
		m = ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT);
		if (m != -EAGAIN) {
			assert_true(m > 0);
			assert_true(got + m <= sent);
			if (ipc_is_msg(&f->ch))
				assert_int_equal(m, msg < len - got ?
						 msg : len - got);
			memcpy(in + got, f->buf, m);
			got += m;
		}
		if (n == -EAGAIN && m == -EAGAIN)
			wait_ready(&f->ch, IPC_RX);
	}
	assert_memory_equal(in, out, len);
}

static size_t largest(const struct fixture *f)
{
	return ipc_is_msg(&f->ch) ? f->ch.max_msg : 256 * 1024;
}

static void test_roundtrip_sizes(void **state)
{
	struct fixture *f = *state;
	size_t sizes[] = { 1, 2, 7, 100, 1000, 1024, 4096, 8192, 65536, 0 };
	unsigned char *out, *in;

	sizes[sizeof(sizes) / sizeof(sizes[0]) - 1] = largest(f);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];

		if (len > largest(f))
			continue;
		out = malloc(len);
		in = malloc(len);
		fill(out, len, (unsigned)i);
		pump(f, out, len, len, in);
		free(out);
		free(in);
	}
}

/* 300 pieces of varying length arrive complete and in order */
static void test_order(void **state)
{
	struct fixture *f = *state;
	unsigned char out[64], in[64];

	for (unsigned i = 0; i < 300; i++) {
		size_t len = 1 + i % 64;

		fill(out, len, i);
		pump(f, out, len, len, in);
	}
	/* and a burst queued before any receive */
	size_t queued = 0;

	for (unsigned i = 0; i < 8; i++) {
		fill(out, 8, i);
		assert_int_equal(ipc_send(&f->ch, out, 8, IPC_DONTWAIT), 8);
		queued += 8;
	}
	unsigned char all[64], expect[64];

	for (unsigned i = 0; i < 8; i++)
		fill(expect + 8 * i, 8, i);
	size_t got = 0;

	while (got < queued) {
		ssize_t m = ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT);

		if (m == -EAGAIN) {
			wait_ready(&f->ch, IPC_RX);
			continue;
		}
		assert_true(m > 0);
		assert_true(got + m <= queued);
		memcpy(all + got, f->buf, m);
		got += m;
	}
	assert_memory_equal(all, expect, queued);
}

static void test_boundaries(void **state)
{
	struct fixture *f = *state;
	size_t lens[] = { 1, 7, 300, 2, 1000 };
	unsigned char out[1000];

	if (!ipc_is_msg(&f->ch))
		skip();
	for (size_t i = 0; i < 5; i++) {
		fill(out, lens[i], (unsigned)i);
		assert_int_equal(ipc_send(&f->ch, out, lens[i], IPC_DONTWAIT),
				 lens[i]);
	}
	for (size_t i = 0; i < 5; i++) {
		ssize_t m;

		while ((m = ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT)) ==
		       -EAGAIN)
			wait_ready(&f->ch, IPC_RX);
		assert_int_equal(m, lens[i]);
		fill(out, lens[i], (unsigned)i);
		assert_memory_equal(f->buf, out, lens[i]);
	}
}

static void test_msgsize(void **state)
{
	struct fixture *f = *state;
	struct ipc_opts o = { .max_msg = (size_t)1 << 40 };
	struct ipc_chan big;
	unsigned char *out;

	if (!ipc_is_msg(&f->ch))
		skip();
	out = calloc(1, f->ch.max_msg + 1);
	assert_int_equal(ipc_send(&f->ch, out, f->ch.max_msg + 1, IPC_DONTWAIT),
			 -EMSGSIZE);
	/* a receive buffer smaller than the largest message is refused */
	assert_int_equal(ipc_recv(&f->ch, f->buf, f->ch.max_msg - 1,
				  IPC_DONTWAIT), -EMSGSIZE);
	free(out);
	assert_int_equal(ipc_chan_open(&big, f->t, &o), -EMSGSIZE);
}

static void test_nowait_empty(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT),
			 -EAGAIN);
	assert_int_equal(ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT),
			 -EAGAIN);
}

static int poll_now(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, 0);
}

/* the RX fd is quiet after -EAGAIN and fires once data is there */
static void test_readiness(void **state)
{
	struct fixture *f = *state;
	short events;
	int fd;

	assert_int_equal(ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT),
			 -EAGAIN);
	fd = ipc_wait_fd(&f->ch, IPC_RX, &events);
	if (f->t->caps & IPC_LOCAL) {
		assert_int_equal(fd, -1);	/* nothing outside can move it */
		return;
	}
	assert_true(fd >= 0);
	assert_int_equal(poll_now(fd, events), 0);
	assert_int_equal(ipc_send(&f->ch, "x", 1, IPC_DONTWAIT), 1);
	wait_ready(&f->ch, IPC_RX);
	assert_int_equal(ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT), 1);
	assert_int_equal(f->buf[0], 'x');

	/* an empty channel has room: a TX fd, where there is one, says so */
	fd = ipc_wait_fd(&f->ch, IPC_TX, &events);
	if (fd >= 0)
		assert_int_equal(poll_now(fd, events), 1);
}

/* closing the TX end: the data, then end of stream */
static void test_eof(void **state)
{
	struct fixture *f = *state;
	unsigned char got[5];
	size_t n = 0;
	ssize_t m;

	assert_int_equal(ipc_send(&f->ch, "hello", 5, IPC_DONTWAIT), 5);
	ipc_close_end(&f->ch, IPC_TX);
	assert_int_equal(ipc_send(&f->ch, "x", 1, IPC_DONTWAIT), -EBADF);
	while (n < 5) {
		m = ipc_recv(&f->ch, f->buf, f->buflen, 0);
		assert_true(m > 0);
		memcpy(got + n, f->buf, m);
		n += m;
	}
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(ipc_recv(&f->ch, f->buf, f->buflen, 0), 0);
}

/* a child sends 4 MiB (or 2000 messages) and hangs up; all arrives intact */
static void test_fork(void **state)
{
	struct fixture *f = *state;
	size_t msg = ipc_is_msg(&f->ch) ? 1000 : 4096;
	size_t total = ipc_is_msg(&f->ch) ? 2000 * msg : 4u << 20;
	unsigned long sum_out = 0, sum_in = 0;
	unsigned char *out = malloc(msg);
	size_t got = 0;
	int status;
	pid_t pid;

	if (f->t->caps & IPC_LOCAL) {
		free(out);
		skip();
	}
	for (size_t off = 0; off < total; off += msg) {
		fill(out, msg, (unsigned)(off / msg));
		for (size_t i = 0; i < msg; i++)
			sum_out = sum_out * 31 + out[i];
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&f->ch, IPC_TX);
		for (size_t off = 0; off < total; off += msg) {
			fill(out, msg, (unsigned)(off / msg));
			if (ipc_send_all(&f->ch, out, msg, 0) < 0)
				_exit(1);
		}
		ipc_close_end(&f->ch, IPC_TX);
		_exit(0);
	}
	ipc_keep_end(&f->ch, IPC_RX);
	for (;;) {
		ssize_t m = ipc_recv(&f->ch, f->buf, f->buflen, 0);

		if (m == -EINTR)
			continue;
		assert_true(m >= 0);
		if (m == 0)
			break;
		if (ipc_is_msg(&f->ch))
			assert_int_equal(m, msg);
		for (ssize_t i = 0; i < m; i++)
			sum_in = sum_in * 31 + f->buf[i];
		got += m;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got, total);
	assert_true(sum_in == sum_out);
	free(out);
}

/* a named object exists while visible and is gone after close */
static void test_cleanup(void **state)
{
	struct fixture *f = *state;
	struct ipc_opts hidden = { .visible = false };
	struct ipc_chan ch;
	char object[IPC_OBJECT_MAX];
	struct stat st;

	snprintf(object, sizeof(object), "%s", f->ch.object);
	if (object[0] == '/' && strncmp(object, "/dev/mqueue", 11) != 0)
		assert_int_equal(stat(object, &st), 0);
	ipc_chan_close(&f->ch);
	if (object[0] == '/')
		assert_int_equal(stat(object, &st), -1);

	/* not visible (the bench): the name is gone as soon as it is open */
	assert_int_equal(ipc_chan_open(&ch, f->t, &hidden), 0);
	if (ch.object[0] == '/')
		assert_int_equal(stat(ch.object, &st), -1);
	ipc_chan_close(&ch);
	assert_int_equal(ipc_chan_open(&f->ch, f->t, &hidden), 0);
}

/* stats: queued bytes (where known) follow what was sent */
static void test_stats(void **state)
{
	struct fixture *f = *state;
	struct ipc_chan_stats st;

	assert_int_equal(ipc_send(&f->ch, "abcdef", 6, IPC_DONTWAIT), 6);
	ipc_stats(&f->ch, &st);
	assert_int_equal(st.bytes_out, 6);
	assert_int_equal(st.msgs_out, 1);
	if (st.queued_bytes >= 0)
		assert_int_equal(st.queued_bytes, 6);
	if (st.queued_msgs >= 0)
		assert_int_equal(st.queued_msgs, 1);
	while (ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT) == -EAGAIN)
		wait_ready(&f->ch, IPC_RX);
	ipc_stats(&f->ch, &st);
	assert_int_equal(st.bytes_in, ipc_is_msg(&f->ch) ? 6 : st.bytes_in);
	if (st.queued_bytes >= 0 && st.bytes_in == 6)
		assert_int_equal(st.queued_bytes, 0);
}

/* ---- duplex mode: one connection both ways, a side per process */

static int chan_setup_duplex(void **state)
{
	struct ipc_opts o = { .duplex = the_transport->caps & IPC_DUPLEX };

	return chan_setup_opts(state, &o);
}

/* exactly len bytes (one message of len on message transports); 0 at EOF */
static ssize_t recv_exact(struct fixture *f, unsigned char *in, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = ipc_recv(&f->ch, f->buf, f->buflen, 0);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n;
		if (got + (size_t)n > len ||
		    (ipc_is_msg(&f->ch) && (size_t)n != len))
			return -EBADMSG;
		memcpy(in + got, f->buf, n);
		got += n;
	}
	return (ssize_t)got;
}

/* the child: answer each ping with its bytes plus one, then after the
 * parent's hang-up send "bye" (its side still sends) and hang up */
static void duplex_child(struct fixture *f, unsigned char *in)
{
	size_t len = 1;
	ssize_t n;

	ipc_keep_end(&f->ch, IPC_RX);
	while ((n = recv_exact(f, in, len)) == (ssize_t)len) {
		for (size_t i = 0; i < len; i++)
			in[i]++;
		if (ipc_send_all(&f->ch, in, len, 0) < 0)
			_exit(1);
		len = len * 3 + 1;
	}
	if (n != 0 || ipc_send_all(&f->ch, "bye", 3, 0) < 0)
		_exit(2);
	ipc_close_end(&f->ch, IPC_TX);
	_exit(0);
}

/* a round trip over one duplex channel: pings of 1, 4, 13... bytes come
 * back changed; a hang-up ends one direction only */
static void test_duplex(void **state)
{
	struct fixture *f = *state;
	size_t max = largest(f) < 65536 ? largest(f) : 65536, len;
	unsigned char *out = malloc(max), *in = malloc(max);
	int status;
	pid_t pid;

	if (!f->ch.duplex) {
		free(out);
		free(in);
		skip();
	}
	assert_true(f->ch.side < 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		duplex_child(f, in);
	ipc_keep_end(&f->ch, IPC_TX);
	assert_int_equal(f->ch.side, IPC_TX);
	for (len = 1; len <= max; len = len * 3 + 1) {
		fill(out, len, (unsigned)len);
		assert_int_equal(ipc_send_all(&f->ch, out, len, 0), 0);
		assert_int_equal(recv_exact(f, in, len), len);
		for (size_t i = 0; i < len; i++)
			assert_int_equal(in[i], (unsigned char)(out[i] + 1));
	}
	ipc_close_end(&f->ch, IPC_TX);
	assert_int_equal(ipc_send(&f->ch, "x", 1, 0), -EBADF);
	assert_int_equal(recv_exact(f, in, 3), 3);
	assert_memory_equal(in, "bye", 3);
	assert_int_equal(recv_exact(f, in, 1), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(out);
	free(in);
}

/* duplex needs IPC_DUPLEX, and is never local */
static void test_duplex_refused(void **state)
{
	struct ipc_opts o = { .duplex = true };
	struct ipc_chan ch;
	int ret;

	(void)state;
	ret = ipc_chan_open(&ch, the_transport, &o);
	if (ret == 0)
		ipc_chan_close(&ch);
	assert_int_equal(ret, the_transport->caps & IPC_DUPLEX ? 0 :
			 -EOPNOTSUPP);
	o.local = true;
	assert_int_equal(ipc_chan_open(&ch, the_transport, &o), -EOPNOTSUPP);
}

/* ---- local mode: both ends here, outsiders join through the object */

static int chan_setup_local(void **state)
{
	struct ipc_opts o = { .local = true };

	return chan_setup_opts(state, &o);
}

/* receive until len bytes came, never seeing 0; then the channel is empty */
static void recv_exactly(struct fixture *f, const char *want, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT);
		assert_int_not_equal(n, 0);
		if (n == -EAGAIN) {
			wait_ready(&f->ch, IPC_RX);
			continue;
		}
		assert_true(n > 0 && got + n <= len);
		assert_memory_equal(f->buf, want + got, n);
		got += n;
	}
	assert_true(ipc_drained(&f->ch));
	assert_int_equal(ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT),
			 -EAGAIN);
}

/*
 * The transport's own hang-up, as an outsider could write it into the
 * object (an empty message, a closed flag, a zero record): in local mode
 * it is dropped, never end of file, and the channel goes on working.
 */
static void test_local_hangup_dropped(void **state)
{
	struct fixture *f = *state;

	if (!f->t->hangup)
		skip();	/* only closing the last TX fd hangs up: we hold it */
	f->t->hangup(&f->ch);
	assert_int_equal(ipc_send(&f->ch, "abc", 3, IPC_DONTWAIT), 3);
	recv_exactly(f, "abc", 3);
	f->t->hangup(&f->ch);
	assert_int_equal(ipc_send(&f->ch, "defg", 4, IPC_DONTWAIT), 4);
	recv_exactly(f, "defg", 4);
}

/* drained: false only while something we sent is on its way */
static void test_local_drained(void **state)
{
	struct fixture *f = *state;

	assert_true(ipc_drained(&f->ch));
	assert_int_equal(ipc_send(&f->ch, "abcdef", 6, IPC_DONTWAIT), 6);
	recv_exactly(f, "abcdef", 6);
	assert_true(ipc_drained(&f->ch));
}

/* writable: true with room (a byte, a one-byte message), false once the
 * channel is full, back after our own receives emptied it */
static void test_local_writable(void **state)
{
	struct fixture *f = *state;
	size_t msg = ipc_is_msg(&f->ch) ? 1 : 65536;
	unsigned char *out = calloc(1, msg);
	unsigned long sends = 0;
	ssize_t n;
	int tries;

	assert_non_null(out);
	assert_true(ipc_writable(&f->ch));
	while ((n = ipc_send(&f->ch, out, msg, IPC_DONTWAIT)) > 0)
		assert_true(++sends < 1000000);
	assert_int_equal(n, -EAGAIN);
	/* an asynchronous one may make room as we look: never say writable
	 * when a send would fail */
	while (ipc_writable(&f->ch)) {
		assert_true(ipc_send(&f->ch, out, msg, IPC_DONTWAIT) > 0);
		assert_true(++sends < 1000000);
	}
	/* empty it; an asynchronous one (zmq) says so through drained() */
	while ((n = ipc_recv(&f->ch, f->buf, f->buflen, IPC_DONTWAIT)) > 0 ||
	       !ipc_drained(&f->ch))
		if (n == -EAGAIN)
			wait_ready(&f->ch, IPC_RX);
	assert_int_equal(n, -EAGAIN);
	/* room is ours at once, or (zmq) once its I/O thread says so */
	for (tries = 0; !ipc_writable(&f->ch) && tries < 500; tries++)
		usleep(10000);
	assert_true(ipc_writable(&f->ch));
	free(out);
}

/* a capacity the kernel refuses is lowered in local mode, an error else */
static void test_local_capacity(void **state)
{
	struct fixture *f = *state;
	struct ipc_opts o = { .capacity = 4 * ipc_pipe_max_size() };
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	int ret;

	if (!(f->t->caps & IPC_SPLICE))
		skip();		/* pipe sizes: pipe and fifo */
	ret = ipc_chan_open(&ch, f->t, &o);
	if (ret == 0) {
		ipc_chan_close(&ch);
		skip();		/* CAP_SYS_RESOURCE: no limit to hit */
	}
	assert_int_equal(ret, -EPERM);
	o.local = true;
	assert_int_equal(ipc_chan_open(&ch, f->t, &o), 0);
	ipc_stats(&ch, &st);
	assert_true(st.capacity > 0 &&
		    (size_t)st.capacity <= ipc_pipe_max_size());
	ipc_chan_close(&ch);
}

/*
 * IPC_FRESH (mpi): a process joins one group of channels for life, so a
 * test that forks a peer (test_fork) cannot follow tests that used a
 * channel in the same process. Each test runs, unchanged, in a fresh
 * child of this process, which never touches a channel itself.
 */
static int run_each_fresh(const char *name, const struct CMUnitTest *tests,
			  size_t n)
{
	int failed = 0, status;
	pid_t pid;

	for (size_t i = 0; i < n; i++) {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0)
			exit(_cmocka_run_group_tests(name, &tests[i], 1, NULL,
						     NULL) ? 1 : 0);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "%s: %s failed in its own process "
				"(status %#x)\n", name, tests[i].name, status);
			failed++;
		}
	}
	return failed;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, chan_setup, chan_teardown)
#define L(fn) cmocka_unit_test_setup_teardown(fn, chan_setup_local, \
					      chan_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_roundtrip_sizes), T(test_order), T(test_boundaries),
		T(test_msgsize), T(test_nowait_empty), T(test_readiness),
		T(test_eof), T(test_fork), T(test_cleanup), T(test_stats),
		L(test_roundtrip_sizes), L(test_order), L(test_readiness),
		L(test_stats), L(test_local_hangup_dropped),
		L(test_local_drained), L(test_local_writable),
		L(test_local_capacity),
		cmocka_unit_test_setup_teardown(test_duplex, chan_setup_duplex,
						chan_teardown),
		cmocka_unit_test(test_duplex_refused),
	};
	char names[256];

	if (argc != 2 || !(the_transport = ipc_transport_find(argv[1]))) {
		fprintf(stderr, "usage: %s TRANSPORT (%s)\n", argv[0],
			ipc_transport_names(names, sizeof(names)));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (the_transport->caps & IPC_FRESH)
		return run_each_fresh(the_transport->name, tests,
				      sizeof(tests) / sizeof(tests[0]));
	return cmocka_run_group_tests_name(the_transport->name, tests, NULL,
					   NULL);
}
