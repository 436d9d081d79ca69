/*
 * test_uring.c - what is io_uring about uring, past test_ring and the
 * contract suite: its doorbell fds are io_uring fds (eventfd's are
 * eventfds) that the daemon's epoll loop can watch; after fork each
 * process maps only its own end's ring; RLIMIT_MEMLOCK, to which the
 * kernel charges ring memory of a process without CAP_IPC_LOCK, gives a
 * clear -ENOMEM and leaves nothing behind.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "testlib.h"

static char rundir[64];

#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "child %s:%d: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			_exit(1);					\
		}							\
	} while (0)

static void open_chan(struct ipc_chan *ch, const char *name, bool local)
{
	struct ipc_opts o = { .rundir = rundir, .local = local };
	const struct ipc_transport *t = ipc_transport_find(name);

	assert_non_null(t);
	assert_int_equal(ipc_chan_open(ch, t, &o), 0);
}

/* what fd is: "anon_inode:[io_uring]", "socket:[...]" */
static void fd_kind(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

/* mappings of io_uring rings in this process (two per ring) */
static int ring_maps(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[io_uring]"))
			n++;
	fclose(f);
	return n;
}

/*
 * Local mode (the daemon): the RX readiness fd is the bell's own, an
 * io_uring fd for uring and an eventfd for eventfd; an epoll set sees it
 * fire on a send after -EAGAIN, and go quiet once drained.
 */
static void test_local_poll_fd(void **state)
{
	static const char *const names[][2] = {
		{ "uring", "anon_inode:[io_uring]" },
		{ "eventfd", "anon_inode:[eventfd]" },
	};
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned char buf[16];
	struct ipc_chan ch;
	char kind[64];
	short events;
	int fd, ep;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		open_chan(&ch, names[i][0], true);
		fd = ipc_wait_fd(&ch, IPC_RX, &events);
		fd_kind(fd, kind, sizeof(kind));
		assert_string_equal(kind, names[i][1]);
		ep = epoll_create1(EPOLL_CLOEXEC);
		assert_true(ep >= 0);
		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 -EAGAIN);
		assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
		assert_int_equal(ipc_send(&ch, "ab", 2, IPC_DONTWAIT), 2);
		assert_int_equal(epoll_wait(ep, &ev, 1, 1000), 1);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 2);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 -EAGAIN);
		assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
		close(ep);
		ipc_chan_close(&ch);
	}
}

/*
 * create() makes both rings; after fork each process keeps its end's
 * ring mapped and only an fd of the other's. Then data goes both ways
 * through two channels, with sleeps on both sides.
 */
static void test_fork_one_ring_each(void **state)
{
	struct ipc_chan ping, pong;
	unsigned char c;
	int base, status;
	pid_t pid;

	(void)state;
	base = ring_maps();
	open_chan(&ping, "uring", false);
	open_chan(&pong, "uring", false);
	assert_int_equal(ring_maps() - base, 8);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ping, IPC_RX);
		ipc_keep_end(&pong, IPC_TX);
		CHILD_CHECK(ring_maps() - base == 4);
		for (int i = 0; i < 100; i++) {
			CHILD_CHECK(ipc_recv(&ping, &c, 1, 0) == 1);
			CHILD_CHECK(ipc_send(&pong, &c, 1, 0) == 1);
		}
		ipc_chan_close(&ping);
		ipc_chan_close(&pong);
		CHILD_CHECK(ring_maps() == base);
		_exit(0);
	}
	ipc_keep_end(&ping, IPC_TX);
	ipc_keep_end(&pong, IPC_RX);
	assert_int_equal(ring_maps() - base, 4);
	for (int i = 0; i < 100; i++) {
		c = (unsigned char)i;
		if (i % 10 == 0)
			usleep(2000);	/* the child sleeps on its ring */
		assert_int_equal(ipc_send(&ping, &c, 1, 0), 1);
		assert_int_equal(ipc_recv(&pong, &c, 1, 0), 1);
		assert_int_equal(c, (unsigned char)i);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_chan_close(&ping);
	ipc_chan_close(&pong);
	assert_int_equal(ring_maps(), base);
}

/* drop CAP_IPC_LOCK from the effective set: ring memory is then charged */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective &= ~(1u << CAP_IPC_LOCK);
	return (int)syscall(SYS_capset, &h, d);
}

/* RLIMIT_MEMLOCK 0: -ENOMEM from create, no object in /dev/shm after */
static void test_memlock(void **state)
{
	char prefix[32];
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit zero = { 0, 0 };
		struct ipc_opts o = { .rundir = rundir };
		struct ipc_chan ch;

		CHILD_CHECK(drop_ipc_lock() == 0);
		CHILD_CHECK(setrlimit(RLIMIT_MEMLOCK, &zero) == 0);
		CHILD_CHECK(ipc_chan_open(&ch, ipc_transport_find("uring"),
					  &o) == -ENOMEM);
		snprintf(prefix, sizeof(prefix), "ipcfs.%d.", (int)getpid());
		CHILD_CHECK(tl_count_entries("/dev/shm", prefix) == 0);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_poll_fd),
		cmocka_unit_test(test_fork_one_ring_each),
		cmocka_unit_test(test_memlock),
	};
	int fails;

	signal(SIGPIPE, SIG_IGN);
	snprintf(rundir, sizeof(rundir), "/tmp/test_uring.XXXXXX");
	if (!mkdtemp(rundir)) {
		perror("mkdtemp");
		return 1;
	}
	fails = cmocka_run_group_tests_name("uring", tests, NULL, NULL);
	if (rmdir(rundir) < 0) {
		perror(rundir);
		fails++;
	}
	return fails ? 1 : 0;
}
