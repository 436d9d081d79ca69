/*
 * test_memfd.c - quirks of the memfd transport: what an outsider may send
 * to its socket (a datagram with one sealed memfd) and everything it must
 * not get away with (no fd, several, too many, a FIFO, a device, a file,
 * a socket, an unsealed or half-sealed memfd, an empty or oversize one, one
 * opened write-only), each dropped and counted without a descriptor left
 * open or a receive that blocks; our own message still arrives at the
 * descriptor limit; the credit bounds the bytes in flight; a vanished
 * reader is EPIPE. Every channel lives in a private runtime dir that must
 * be empty at the end.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "testlib.h"

extern const struct ipc_transport ipc_memfd;

#define SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

static char rundir[64];

static struct ipc_opts local_opts(void)
{
	struct ipc_opts o = { .local = true, .rundir = rundir };

	return o;
}

/* a memfd holding text, with the given seals (0: none) */
static int memfd_with(const char *text, size_t len, int seals)
{
	int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	if (len)
		assert_int_equal(ftruncate(fd, (off_t)len), 0);
	if (text)
		assert_int_equal(pwrite(fd, text, strlen(text), 0),
				 (ssize_t)strlen(text));
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

/* an outsider's datagram to the channel's path: payload and fds */
static void outsider_send(const char *path, const void *data, size_t len,
			  const int *fds, int nfds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	char cbuf[CMSG_SPACE(sizeof(int) * 32)];
	struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa),
			     .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0 && nfds <= 32);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(s, &mh, MSG_DONTWAIT), (ssize_t)len);
	close(s);
}

/* what an outsider just sent is bad: dropped and counted, and nothing
 * else is there (the socket queue holds about 10 datagrams) */
static void dropped_one(struct ipc_chan *ch)
{
	static char buf[1 << 20];
	uint64_t before = ch->dropped;

	assert_int_equal(ipc_recv(ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(ch->dropped, before + 1);
}

/* one bad fd, sent, closed here and dropped there */
static void outsider_fd(struct ipc_chan *ch, int fd)
{
	assert_true(fd >= 0);
	outsider_send(ch->object, "x", 1, &fd, 1);
	close(fd);
	dropped_one(ch);
}

static int open_fds(void)
{
	return tl_count_entries("/proc/self/fd", "");
}

/* wait up to 5 s for our descriptor count to come back to `want` (the
 * helper thread closes an outsider's non-memfd fds a moment later) */
static int settle_fds(int want)
{
	int n = open_fds();

	for (int i = 0; i < 500 && n != want; i++) {
		usleep(10000);
		n = open_fds();
	}
	return n;
}

/* valid messages from outsiders arrive: any payload, even none */
static void test_outsider_ok(void **state)
{
	struct ipc_opts o = local_opts();
	struct ipc_chan ch;
	char buf[1 << 20];
	int fd;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_memfd, &o), 0);
	fd = memfd_with("hello", 0, SEALS);
	outsider_send(ch.object, "anything at all", 15, &fd, 1);
	close(fd);
	fd = memfd_with("none", 0, SEALS | F_SEAL_FUTURE_WRITE);
	outsider_send(ch.object, "", 0, &fd, 1);
	close(fd);
	assert_int_equal(tl_recv_nowait(&ch, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tl_recv_nowait(&ch, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "none", 4);
	assert_int_equal(ch.dropped, 0);
	ipc_chan_close(&ch);
}

/*
 * The table of bad input: each is dropped and counted, nothing is read
 * (a FIFO with no writer would block a read), no descriptor stays open,
 * and our message after them all arrives.
 */
static void test_outsider_bad(void **state)
{
	struct ipc_opts o = local_opts();
	char fifo[128], file[128], buf[1 << 20];
	int fd, fds[20], base, sv[2];
	unsigned bad = 0;
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_memfd, &o), 0);
	/* a first receive makes the spare; the first untrusted fd starts
	 * the helper thread (its pipe: two fds), which closes it soon */
	assert_int_equal(ipc_send(&ch, "first", 5, IPC_DONTWAIT), 5);
	assert_int_equal(tl_recv_nowait(&ch, buf, sizeof(buf)), 5);
	base = open_fds() + 2;
	outsider_fd(&ch, open("/dev/null", O_RDONLY | O_CLOEXEC));
	assert_int_equal(settle_fds(base), base);

	outsider_send(ch.object, "junk", 4, NULL, 0);
	dropped_one(&ch);
	outsider_fd(&ch, memfd_with("unsealed", 0, 0));
	outsider_fd(&ch, memfd_with("no write seal", 0,
			F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	outsider_fd(&ch, memfd_with("future only", 0, F_SEAL_SHRINK |
			F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL));
	outsider_fd(&ch, memfd_with(NULL, 0, SEALS));	/* empty */
	outsider_fd(&ch, memfd_with(NULL, ch.max_msg + 1, SEALS));
	outsider_fd(&ch, open("/dev/zero", O_RDONLY | O_CLOEXEC));
	/* a FIFO nobody writes: a read of it would wait forever */
	snprintf(fifo, sizeof(fifo), "%s/fifo", rundir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fd = open(fifo, O_RDWR | O_CLOEXEC);
	unlink(fifo);
	outsider_fd(&ch, fd);
	snprintf(file, sizeof(file), "%s/file", rundir);
	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	unlink(file);
	assert_int_equal(write(fd, "file", 4), 4);
	outsider_fd(&ch, fd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	outsider_fd(&ch, sv[0]);
	close(sv[1]);
	/* sealed, but no read access: pread fails */
	fd = memfd_with("write-only", 0, SEALS);
	snprintf(file, sizeof(file), "/proc/self/fd/%d", fd);
	outsider_fd(&ch, open(file, O_WRONLY | O_CLOEXEC));
	close(fd);
	/* two good ones in one datagram, then twenty (cut off at 8) */
	fds[0] = memfd_with("one", 0, SEALS);
	fds[1] = memfd_with("two", 0, SEALS);
	outsider_send(ch.object, "x", 1, fds, 2);
	dropped_one(&ch);
	close(fds[0]);
	close(fds[1]);
	for (int i = 0; i < 20; i++)
		fds[i] = memfd_with("many", 0, SEALS);
	outsider_send(ch.object, "x", 1, fds, 20);
	dropped_one(&ch);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	bad = (unsigned)ch.dropped;

	assert_int_equal(ipc_send(&ch, "ours", 4, IPC_DONTWAIT), 4);
	assert_int_equal(tl_recv_nowait(&ch, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ours", 4);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(ch.dropped, bad);
	assert_int_equal(settle_fds(base), base);
	ipc_chan_close(&ch);
}

/* the descriptor table full: our message still gets its fd (the spare) */
static void test_fd_limit(void **state)
{
	struct ipc_opts o = local_opts();
	struct rlimit old, rl;
	struct ipc_chan ch;
	int dups[512], n = 0, null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char buf[1 << 20];

	(void)state;
	assert_true(null >= 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_memfd, &o), 0);
	assert_int_equal(ipc_send(&ch, "a", 1, IPC_DONTWAIT), 1);
	assert_int_equal(tl_recv_nowait(&ch, buf, sizeof(buf)), 1);
	assert_int_equal(ipc_send(&ch, "b", 1, IPC_DONTWAIT), 1);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)open_fds() + 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (n < 512 && (dups[n] = dup(null)) >= 0)
		n++;
	assert_int_equal(errno, EMFILE);
	/* a send needs a descriptor of its own: refused, nothing lost */
	assert_int_equal(ipc_send(&ch, "c", 1, IPC_DONTWAIT), -EMFILE);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), 1);
	assert_int_equal(buf[0], 'b');
	while (n > 0)
		close(dups[--n]);
	close(null);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(ch.dropped, 0);
	ipc_chan_close(&ch);
}

/* capacity: bytes of ours in flight, not the socket's queue length */
static void test_credit(void **state)
{
	struct ipc_opts o = local_opts();
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	char *buf = calloc(1, 1 << 16);

	(void)state;
	o.max_msg = 1 << 16;
	o.capacity = 1 << 17;
	assert_int_equal(ipc_chan_open(&ch, &ipc_memfd, &o), 0);
	assert_int_equal(ipc_send(&ch, buf, 1 << 16, IPC_DONTWAIT), 1 << 16);
	assert_true(ipc_writable(&ch));
	assert_int_equal(ipc_send(&ch, buf, 1 << 16, IPC_DONTWAIT), 1 << 16);
	assert_false(ipc_writable(&ch));
	assert_int_equal(ipc_send(&ch, buf, 1, IPC_DONTWAIT), -EAGAIN);
	ipc_stats(&ch, &st);
	assert_int_equal(st.capacity, 1 << 17);
	assert_int_equal(st.queued_bytes, 1 << 17);
	assert_int_equal(st.queued_msgs, 2);
	assert_int_equal(tl_recv_nowait(&ch, buf, 1 << 16), 1 << 16);
	assert_true(ipc_writable(&ch));
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_msgs, 1);
	ipc_chan_close(&ch);
	/* a capacity below max_msg is raised to one message */
	o.capacity = 1000;
	assert_int_equal(ipc_chan_open(&ch, &ipc_memfd, &o), 0);
	ipc_stats(&ch, &st);
	assert_int_equal(st.capacity, 1 << 16);
	ipc_chan_close(&ch);
	free(buf);
}

/* the reader is gone with our messages unread: EPIPE, not a wait */
static void test_reader_gone(void **state)
{
	struct ipc_opts o = { .rundir = rundir, .max_msg = 4096,
			      .capacity = 4096 };
	struct ipc_chan ch;
	char buf[4096] = "x";
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_memfd, &o), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		_exit(tl_rx_poll(&ch, 10000) == 1 ? 0 : 1);	/* reads nothing */
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, buf, sizeof(buf), 0), sizeof(buf));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* over the credit, but nothing of ours is queued any more */
	assert_int_equal(ipc_send(&ch, buf, sizeof(buf), 0), -EPIPE);
	assert_int_equal(ipc_send(&ch, buf, 1, IPC_DONTWAIT), -EPIPE);
	ipc_chan_close(&ch);
}

/* big messages, across fork, checked; and the sizes' limit */
static void test_big(void **state)
{
	struct ipc_opts o = { .rundir = rundir, .max_msg = 8u << 20 };
	struct ipc_chan ch;

	(void)state;
	tl_fork_pair(&ipc_memfd, &o, 8u << 20, 4, 8, 0);
	o.max_msg = (size_t)2 << 30;
	assert_int_equal(ipc_chan_open(&ch, &ipc_memfd, &o), -EMSGSIZE);
}

static int setup(void **state)
{
	(void)state;
	snprintf(rundir, sizeof(rundir), "/tmp/ipcfs-test-memfd.XXXXXX");
	assert_non_null(mkdtemp(rundir));
	return 0;
}

/* nothing may be left; whatever a failed test left goes anyway */
static int teardown(void **state)
{
	int left = tl_count_entries(rundir, "");
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
	if (system(cmd) != 0)
		return -1;
	assert_int_equal(left, 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outsider_ok),
		cmocka_unit_test(test_outsider_bad),
		cmocka_unit_test(test_fd_limit),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_reader_gone),
		cmocka_unit_test(test_big),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("memfd", tests, setup, teardown);
}
