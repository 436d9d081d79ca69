/*
 * test_netlink.c - NETLINK_USERSOCK unicast (transports/netlink.c) past
 * the contract: it works for a normal user; max_msg follows SO_SNDBUF
 * (-EMSGSIZE past what the kernel allows); a full receiver makes the
 * sender wait or -EAGAIN and loses nothing; killed peers both ways; a
 * port id freed by a gone reader and taken by a squatter gets nothing;
 * strangers are refused by the kernel, or with ipc_opts.outsiders taken
 * when framed and dropped (and counted) when not; signals interrupt.
 */
#include <linux/netlink.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "testlib.h"

#define NOBODY	65534

static const struct ipc_transport *nl;

/* in a child: no cmocka there, say what failed and exit non-zero */
#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "child %s:%d: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			_exit(1);					\
		}							\
	} while (0)

static int reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static long proc_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &v), 1);
	fclose(f);
	return v;
}

static unsigned port_of(const struct ipc_chan *ch)
{
	unsigned port;

	assert_int_equal(sscanf(ch->object, "usersock:%u", &port), 1);
	return port;
}

/* a stranger's socket; sends one datagram of len bytes to port */
static int stranger_send(unsigned port, const void *buf, size_t len)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = port };
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_USERSOCK), ret;

	assert_true(fd >= 0);
	ret = sendto(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&to,
		     sizeof(to)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* a framed message as another program would send it */
static int stranger_msg(unsigned port, uint16_t type, const char *text)
{
	char buf[256];
	struct nlmsghdr h = { .nlmsg_type = type };
	size_t len = strlen(text);

	h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + len);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + NLMSG_HDRLEN, text, len);
	return stranger_send(port, buf, NLMSG_HDRLEN + len);
}

/* max_msg is SO_SNDBUF less 48; a bigger one raises it, to a point */
static void test_sizes(void **state)
{
	long wmem = proc_long("/proc/sys/net/core/wmem_default");
	struct ipc_opts o = { .max_msg = 1 << 20 };
	struct ipc_chan ch;
	unsigned char *buf = malloc(1 << 20);

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, nl, NULL), 0);
	assert_int_equal(ch.max_msg, wmem - 48);
	ipc_chan_close(&ch);
	/* root may pass net.core.wmem_max (SO_SNDBUFFORCE), others not */
	if (ipc_chan_open(&ch, nl, &o) == 0) {
		assert_int_equal(ch.max_msg, 1 << 20);
		tl_fill(buf, 1 << 20, 3);
		assert_int_equal(ipc_send(&ch, buf, 1 << 20, IPC_DONTWAIT),
				 1 << 20);
		memset(buf, 0, 1 << 20);
		assert_int_equal(tl_recv_nowait(&ch, buf, 1 << 20), 1 << 20);
		ipc_chan_close(&ch);
	}
	o.max_msg = (size_t)2 << 30;
	assert_int_equal(ipc_chan_open(&ch, nl, &o), -EMSGSIZE);
	free(buf);
}

/* a full receiver: -EAGAIN, nothing dropped, all comes back in order */
static void test_full(void **state)
{
	struct ipc_opts o = { .capacity = 65536, .local = true };
	struct ipc_chan_stats st;
	unsigned char buf[256 << 10];
	struct ipc_chan ch;
	unsigned i, n = 0;
	ssize_t got;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, nl, &o), 0);
	ipc_stats(&ch, &st);
	assert_true(st.capacity >= 65536);
	while (ipc_send(&ch, &n, sizeof(n), IPC_DONTWAIT) == sizeof(n))
		n++;
	assert_int_equal(ipc_send(&ch, &n, sizeof(n), IPC_DONTWAIT), -EAGAIN);
	/* each costs a whole skb: far fewer than capacity / 4 */
	assert_true(n > 10 && n < 65536 / 4);
	assert_false(ipc_writable(&ch));
	for (i = 0; i < n; i++) {
		got = ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT);
		assert_int_equal(got, sizeof(i));
		assert_memory_equal(buf, &i, sizeof(i));
	}
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	assert_true(ipc_writable(&ch));
	assert_int_equal(ch.dropped, 0);
	ipc_chan_close(&ch);
}

/* ping-pong and a stream across fork: the sender sleeps in the kernel
 * while the reader is full, and is woken as it reads */
static void test_fork_pair(void **state)
{
	struct ipc_opts o = { .max_msg = 65536 };

	(void)state;
	tl_fork_pair(nl, &o, 100, 200, 5000, 0);
	tl_fork_pair(nl, &o, 65536, 50, 300, 0);
}

/* a normal user's buffers stop at net.core.[rw]mem_max: past them,
 * EMSGSIZE and ENOBUFS; the daemon takes the smaller receive buffer */
static void user_limits(void)
{
	long rmax = proc_long("/proc/sys/net/core/rmem_max");
	long wmax = proc_long("/proc/sys/net/core/wmem_max");
	struct ipc_opts o = { .max_msg = (size_t)wmax * 4 };
	struct ipc_chan_stats st;
	struct ipc_chan ch;

	CHILD_CHECK(ipc_chan_open(&ch, nl, &o) == -EMSGSIZE);
	o.max_msg = 0;
	o.capacity = (size_t)rmax * 4;
	CHILD_CHECK(ipc_chan_open(&ch, nl, &o) == -ENOBUFS);
	o.local = true;
	CHILD_CHECK(ipc_chan_open(&ch, nl, &o) == 0);
	ipc_stats(&ch, &st);
	CHILD_CHECK(st.capacity > 0 && st.capacity < (long)o.capacity);
	ipc_chan_close(&ch);
}

/* a normal user opens, sends and receives, across fork too, and meets
 * the limits on socket buffers */
static void test_user(void **state)
{
	struct ipc_chan ch;
	char buf[256 << 10];
	pid_t pid, kid;
	int status;

	(void)state;
	if (geteuid() != 0)
		skip();		/* we are one already: the contract covers it */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		CHILD_CHECK(setresgid(NOBODY, NOBODY, NOBODY) == 0);
		CHILD_CHECK(setresuid(NOBODY, NOBODY, NOBODY) == 0);
		user_limits();
		CHILD_CHECK(ipc_chan_open(&ch, nl, NULL) == 0);
		kid = fork();
		if (kid == 0) {
			ipc_keep_end(&ch, IPC_TX);
			CHILD_CHECK(ipc_send(&ch, "as nobody", 9, 0) == 9);
			_exit(0);
		}
		ipc_keep_end(&ch, IPC_RX);
		CHILD_CHECK(ipc_recv(&ch, buf, sizeof(buf), 0) == 9);
		CHILD_CHECK(ipc_recv(&ch, buf, sizeof(buf), 0) == 0);
		CHILD_CHECK(waitpid(kid, &status, 0) == kid && status == 0);
		_exit(0);
	}
	assert_int_equal(reap(pid), 0);
}

/*
 * A killed writer: the reader gets what was sent, then end of file (the
 * link says so; netlink would not). A killed reader: -EPIPE, also for a
 * sender asleep on the full queue.
 */
static void test_killed(void **state)
{
	struct ipc_opts o = { .capacity = 8192 };
	char buf[256 << 10];
	struct ipc_chan ch;
	pid_t pid;

	(void)state;
	tl_killed_child(nl, &o);
	assert_int_equal(ipc_chan_open(&ch, nl, &o), 0);
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

	assert_int_equal(ipc_chan_open(&ch, nl, &o), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		usleep(200000);
		kill(getpid(), SIGKILL);
	}
	ipc_keep_end(&ch, IPC_TX);
	while (ipc_send(&ch, buf, 1000, 0) == 1000)
		;	/* fills, sleeps, then the reader dies */
	assert_int_equal(ipc_send(&ch, buf, 1000, 0), -EPIPE);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	ipc_chan_close(&ch);
}

/* the reader is gone and someone took its port id: we send it nothing */
static void test_squatter(void **state)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[64];
	struct ipc_chan ch;
	pid_t pid;
	int fd;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, nl, NULL), 0);
	sa.nl_pid = port_of(&ch);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(reap(pid), 0);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(ipc_send(&ch, "secret", 6, 0), -EPIPE);
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close(fd);
	ipc_chan_close(&ch);
}

/* by default the kernel refuses a stranger: the RX is connected */
static void test_stranger_refused(void **state)
{
	char buf[256 << 10];
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, nl, NULL), 0);
	assert_int_equal(stranger_msg(port_of(&ch), NLMSG_MIN_TYPE, "hi"),
			 -ECONNREFUSED);
	assert_int_equal(stranger_msg(port_of(&ch), NLMSG_DONE, ""),
			 -ECONNREFUSED);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	ipc_chan_close(&ch);
}

/*
 * With outsiders, a framed message is data; an unframed one, a bad
 * length, netlink's own types, an empty one, one past max_msg or a
 * stranger's NLMSG_DONE are dropped and counted, never end of file.
 */
static void test_stranger_outsiders(void **state)
{
	struct ipc_opts o = { .outsiders = true, .max_msg = 1000 };
	struct nlmsghdr bad = { .nlmsg_len = 99, .nlmsg_type = NLMSG_MIN_TYPE };
	static char big[4096];
	char buf[1000];
	struct ipc_chan ch;
	unsigned port;

	(void)state;
	for (int local = 0; local < 2; local++) {
		o.local = local;
		assert_int_equal(ipc_chan_open(&ch, nl, &o), 0);
		port = port_of(&ch);
		assert_int_equal(stranger_send(port, "raw bytes", 9), 0);
		assert_int_equal(stranger_send(port, &bad, sizeof(bad)), 0);
		assert_int_equal(stranger_msg(port, NLMSG_ERROR, "e"), 0);
		assert_int_equal(stranger_msg(port, NLMSG_MIN_TYPE, ""), 0);
		assert_int_equal(stranger_msg(port, NLMSG_DONE, ""), 0);
		memcpy(big, &(struct nlmsghdr){ .nlmsg_len = sizeof(big),
			.nlmsg_type = NLMSG_MIN_TYPE }, NLMSG_HDRLEN);
		assert_int_equal(stranger_send(port, big, sizeof(big)), 0);
		assert_int_equal(stranger_msg(port, NLMSG_MIN_TYPE, "theirs"),
				 0);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 6);
		assert_memory_equal(buf, "theirs", 6);
		assert_int_equal(ch.dropped, 6);
		assert_int_equal(ipc_send(&ch, "ours", 4, IPC_DONTWAIT), 4);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 4);
		ipc_chan_close(&ch);
	}
}

/* a signal cuts a blocking receive, and a send to a full reader, short */
static void test_eintr(void **state)
{
	struct sigaction sa = { .sa_handler = tl_on_alarm };
	struct ipc_opts o = { .capacity = 8192 };
	char buf[256 << 10] = { 0 };
	struct ipc_chan ch;
	ssize_t n;

	(void)state;
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
	assert_int_equal(ipc_chan_open(&ch, nl, &o), 0);
	alarm(1);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), -EINTR);
	alarm(1);
	while ((n = ipc_send(&ch, buf, 1000, 0)) == 1000)
		;
	assert_int_equal(n, -EINTR);
	ipc_stop = 0;
	ipc_chan_close(&ch);
	signal(SIGALRM, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_fork_pair),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_squatter),
		cmocka_unit_test(test_stranger_refused),
		cmocka_unit_test(test_stranger_outsiders),
		cmocka_unit_test(test_eintr),
	};

	nl = ipc_transport_find("netlink");
	if (!nl)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("netlink", tests, NULL, NULL);
}
