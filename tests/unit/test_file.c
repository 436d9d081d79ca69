/*
 * test_file.c - quirks of the file transport: a byte stream made of
 * records in a regular file, a record seen only partly written (as an
 * outsider can leave it), the capacity, inotify readiness, space given
 * back (holes across fork, truncation in one process), the name visible
 * or not, and the bench's fork with the ready handshake. Channels live in
 * a private runtime dir that must be empty at the end.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "testlib.h"

extern const struct ipc_transport ipc_file;

static char rundir[64];

static struct ipc_opts opts_for(bool visible)
{
	struct ipc_opts o = { .rundir = rundir, .visible = visible };
	return o;
}

/* receive exactly len bytes, however they come */
static void recv_exact(struct ipc_chan *ch, unsigned char *buf, size_t len,
		       int flags)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = flags & IPC_DONTWAIT ? tl_recv_nowait(ch, buf + got, len - got)
				       : ipc_recv(ch, buf + got, len - got, 0);
		assert_true(n > 0);
		got += n;
	}
}

/* what an outsider appends to the file: raw bytes */
static void append(const struct ipc_chan *ch, const void *p, size_t len)
{
	int fd = open(ch->object, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), len);
	close(fd);
}

static void test_roundtrip(void **state)
{
	struct ipc_opts o = opts_for(true);
	size_t sizes[] = { 1, 2, 3, 4, 5, 7, 4096, 65536, 1 << 20 };
	unsigned char *out = malloc(1 << 20), *in = malloc(1 << 20);
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	assert_false(ipc_is_msg(&ch));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		tl_fill(out, sizes[i], (unsigned)i);
		assert_int_equal(ipc_send(&ch, out, sizes[i], IPC_DONTWAIT),
				 sizes[i]);
		recv_exact(&ch, in, sizes[i], IPC_DONTWAIT);
		assert_memory_equal(in, out, sizes[i]);
	}
	/* bytes, not messages: three sends come back in one receive */
	assert_int_equal(ipc_send(&ch, "abc", 3, IPC_DONTWAIT), 3);
	assert_int_equal(ipc_send(&ch, "de", 2, IPC_DONTWAIT), 2);
	assert_int_equal(ipc_send(&ch, "f", 1, IPC_DONTWAIT), 1);
	assert_int_equal(tl_recv_nowait(&ch, in, 1 << 20), 6);
	assert_memory_equal(in, "abcdef", 6);
	/* ... and a small buffer takes a record in pieces */
	assert_int_equal(ipc_send(&ch, "ghijk", 5, IPC_DONTWAIT), 5);
	assert_int_equal(tl_recv_nowait(&ch, in, 2), 2);
	assert_int_equal(tl_recv_nowait(&ch, in + 2, 2), 2);
	assert_int_equal(tl_recv_nowait(&ch, in + 4, 2), 1);
	assert_memory_equal(in, "ghijk", 5);
	assert_int_equal(ipc_recv(&ch, in, 1 << 20, IPC_DONTWAIT), -EAGAIN);
	free(out);
	free(in);
	ipc_chan_close(&ch);
}

static void test_readiness(void **state)
{
	struct ipc_opts o = opts_for(true);
	unsigned char in[64];
	struct ipc_chan ch;
	short ev;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	assert_int_equal(ipc_wait_fd(&ch, IPC_TX, &ev), -1);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(tl_rx_poll(&ch, 0), 0);
	assert_int_equal(ipc_send(&ch, "hello", 5, IPC_DONTWAIT), 5);
	assert_int_equal(tl_rx_poll(&ch, 0), 1);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), 5);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(tl_rx_poll(&ch, 0), 0);
	ipc_chan_close(&ch);
}

/* a record only partly written yet: what is there, then the rest */
static void test_partial(void **state)
{
	struct ipc_opts o = opts_for(true);
	uint32_t hdr = 10;
	unsigned char in[64];
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	append(&ch, &hdr, sizeof(hdr));
	append(&ch, "0123", 4);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 4);
	assert_memory_equal(in, "0123", 4);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(tl_rx_poll(&ch, 0), 0);
	append(&ch, "456789", 6);
	assert_int_equal(tl_rx_poll(&ch, 5000), 1);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 6);
	assert_memory_equal(in, "456789", 6);

	/* a header cut in two */
	hdr = 3;
	append(&ch, &hdr, 2);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	append(&ch, (char *)&hdr + 2, 2);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), IPC_DONTWAIT), -EAGAIN);
	append(&ch, "abc", 3);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 3);
	assert_memory_equal(in, "abc", 3);

	/* our own sends go on after the outsider's records */
	assert_int_equal(ipc_send(&ch, "xyz", 3, IPC_DONTWAIT), 3);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 3);
	assert_memory_equal(in, "xyz", 3);
	ipc_chan_close(&ch);
}

/* NOWAIT takes what fits under the capacity, then -EAGAIN */
static void test_capacity(void **state)
{
	struct ipc_opts o = opts_for(false);
	unsigned char *out = calloc(1, 3 << 20), *in = malloc(1 << 20);
	struct ipc_chan_stats st;
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	assert_int_equal(ipc_send(&ch, out, 3 << 19, IPC_DONTWAIT), 1 << 20);
	assert_int_equal(ipc_send(&ch, out, 1, IPC_DONTWAIT), -EAGAIN);
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_bytes, 1 << 20);
	assert_int_equal(st.capacity, 1 << 20);
	recv_exact(&ch, in, 1000, IPC_DONTWAIT);
	assert_int_equal(ipc_send(&ch, out, 5000, IPC_DONTWAIT), 1000);
	recv_exact(&ch, in, 1 << 20, IPC_DONTWAIT);
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_bytes, 0);
	ipc_chan_close(&ch);

	o.capacity = 4096;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	assert_int_equal(ipc_send(&ch, out, 5000, IPC_DONTWAIT), 4096);
	assert_int_equal(ipc_send(&ch, out, 5000, IPC_DONTWAIT), -EAGAIN);
	ipc_chan_close(&ch);
	free(out);
	free(in);
}

static void test_hangup(void **state)
{
	struct ipc_opts o = opts_for(true);
	unsigned char in[64];
	struct ipc_chan ch;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	assert_int_equal(ipc_send(&ch, "one", 3, IPC_DONTWAIT), 3);
	assert_int_equal(ipc_send(&ch, "two", 3, IPC_DONTWAIT), 3);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(tl_recv_nowait(&ch, in, 4), 4);
	assert_int_equal(tl_recv_nowait(&ch, in + 4, sizeof(in)), 2);
	assert_memory_equal(in, "onetwo", 6);
	assert_int_equal(tl_recv_nowait(&ch, in, sizeof(in)), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), 0);
	ipc_chan_close(&ch);

	/* the reader closed for good: the writer hears -EPIPE */
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	ipc_close_end(&ch, IPC_RX);
	assert_int_equal(ipc_send(&ch, "x", 1, IPC_DONTWAIT), -EPIPE);
	ipc_chan_close(&ch);
}

/* visible: the file is there (0600) while open; not: never seen */
static void test_names(void **state)
{
	struct ipc_opts o = opts_for(true);
	char path[IPC_OBJECT_MAX];
	struct ipc_chan ch;
	struct stat st;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	snprintf(path, sizeof(path), "%s", ch.object);
	assert_int_equal(strncmp(path, rundir, strlen(rundir)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	ipc_chan_close(&ch);
	assert_int_equal(stat(path, &st), -1);

	o.visible = false;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	assert_int_equal(stat(ch.object, &st), -1);
	assert_int_equal(ipc_send(&ch, "x", 1, IPC_DONTWAIT), 1);
	assert_int_equal(tl_recv_nowait(&ch, path, sizeof(path)), 1);
	ipc_chan_close(&ch);
}

/* one process, both ends: the file starts over once all is read */
static void test_rewind(void **state)
{
	struct ipc_opts o = opts_for(false);
	unsigned char *buf = calloc(1, 256 << 10);
	struct ipc_chan ch;
	struct stat st;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(ipc_send(&ch, buf, 256 << 10, IPC_DONTWAIT),
				 256 << 10);
		recv_exact(&ch, buf, 256 << 10, IPC_DONTWAIT);
		assert_int_equal(fstat(ch.fd[IPC_RX], &st), 0);
		assert_true(st.st_size <= (2 << 20));
	}
	ipc_chan_close(&ch);
	free(buf);
}

/*
 * The bench: two channels made before fork(), one end kept on each side,
 * blocking calls, the child's "ready" on pong before the first ping.
 * Ping-pong of `rounds` messages of `size` bytes (echoed, checked), then
 * `stream` bytes on ping whose checksum the child sends back. Across the
 * fork the reader punches holes: the file stays sparse.
 */
static void fork_pair(const struct ipc_opts *o, size_t size, int rounds,
		      size_t stream)
{
	size_t chunk = 64 << 10, bufsize = size > chunk ? size : chunk;
	struct ipc_chan ping, pong;
	unsigned char *out, *in;
	unsigned long s_out = 0, s_in;
	struct stat st;
	int status, keep;
	ssize_t n;
	pid_t pid;

	assert_int_equal(ipc_chan_open(&ping, &ipc_file, o), 0);
	assert_int_equal(ipc_chan_open(&pong, &ipc_file, o), 0);
	out = malloc(bufsize);
	in = malloc(bufsize);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned long s = 0;

		ipc_keep_end(&ping, IPC_RX);
		ipc_keep_end(&pong, IPC_TX);
		if (ipc_send_all(&pong, "ready", 5, 0) < 0)
			_exit(1);
		for (int r = 0; r < rounds; r++) {
			for (size_t got = 0; got < size; got += n) {
				n = ipc_recv(&ping, in + got, size - got, 0);
				if (n <= 0)
					_exit(2);
			}
			if (ipc_send_all(&pong, in, size, 0) < 0)
				_exit(2);
		}
		while ((n = ipc_recv(&ping, in, bufsize, 0)) > 0)
			s = tl_sum(s, in, n);
		if (n != 0 || ipc_send_all(&pong, &s, sizeof(s), 0) < 0)
			_exit(3);
		ipc_close_end(&pong, IPC_TX);
		ipc_chan_close(&ping);
		ipc_chan_close(&pong);
		_exit(0);
	}
	ipc_keep_end(&ping, IPC_TX);
	ipc_keep_end(&pong, IPC_RX);
	recv_exact(&pong, in, 5, 0);
	assert_memory_equal(in, "ready", 5);
	for (int r = 0; r < rounds; r++) {
		tl_fill(out, size, (unsigned)r);
		assert_int_equal(ipc_send_all(&ping, out, size, 0), 0);
		recv_exact(&pong, in, size, 0);
		assert_memory_equal(in, out, size);
	}
	for (size_t off = 0; off < stream; off += chunk) {
		size_t len = stream - off < chunk ? stream - off : chunk;

		tl_fill(out, len, (unsigned)(off / chunk));
		s_out = tl_sum(s_out, out, len);
		assert_int_equal(ipc_send_all(&ping, out, len, 0), 0);
	}
	keep = dup(ping.fd[IPC_TX]);	/* to look at the file later */
	assert_true(keep >= 0);
	ipc_close_end(&ping, IPC_TX);
	recv_exact(&pong, in, sizeof(s_in), 0);
	memcpy(&s_in, in, sizeof(s_in));
	assert_true(s_in == s_out);
	assert_int_equal(ipc_recv(&pong, in, bufsize, 0), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* ping's file: long, but the reader gave its blocks back */
	assert_int_equal(fstat(keep, &st), 0);
	close(keep);
	assert_true((size_t)st.st_size >= stream);
	if (stream >= (4u << 20))
		assert_true((size_t)st.st_blocks * 512 < (256u << 10));
	ipc_chan_close(&ping);
	ipc_chan_close(&pong);
	free(out);
	free(in);
}

static void test_fork_small(void **state)
{
	struct ipc_opts o = opts_for(false);

	(void)state;
	fork_pair(&o, 1, 1000, 100000);
	fork_pair(&o, 100, 300, 1 << 20);
}

static void test_fork_big(void **state)
{
	struct ipc_opts o = opts_for(false);

	(void)state;
	fork_pair(&o, 1 << 20, 5, 16 << 20);
	/* a small capacity: the writer waits for the reader all along */
	o.capacity = 8192;
	fork_pair(&o, 3000, 20, 4 << 20);
	/* visible: the same, with the file in the runtime dir */
	o.visible = true;
	o.capacity = 0;
	fork_pair(&o, 65536, 20, 4 << 20);
}

static void test_killed_child(void **state)
{
	struct ipc_opts o = opts_for(false);

	(void)state;
	tl_killed_child(&ipc_file, &o);
	o.visible = true;
	tl_killed_child(&ipc_file, &o);
}

/* a handler without SA_RESTART interrupts a blocking wait: -EINTR */
static void test_eintr(void **state)
{
	struct sigaction sa = { .sa_handler = tl_on_alarm };
	struct itimerval it = { .it_value = { 0, 50 * 1000 } };
	struct ipc_opts o = opts_for(false);
	unsigned char out[4096] = { 0 }, in[64];
	struct ipc_chan ch;

	(void)state;
	o.capacity = sizeof(out);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	ipc_stop = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), -EINTR);
	assert_int_equal(tl_alarms, 1);
	assert_int_equal(ipc_recv(&ch, in, sizeof(in), 0), -EINTR);

	ipc_stop = 0;
	assert_int_equal(ipc_send(&ch, out, sizeof(out), 0), sizeof(out));
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(ipc_send(&ch, out, 1, 0), -EINTR);
	assert_int_equal(tl_alarms, 2);
	ipc_stop = 0;
	tl_alarms = 0;
	ipc_chan_close(&ch);
	signal(SIGALRM, SIG_DFL);
}

/*
 * close_end is quiet and hangup is the only hang-up: a process that used
 * the channel and forked for something else still hangs up to itself; a
 * writer may send before its reader child has kept RX; a reader that
 * closes RX for good is gone for the writer.
 */
static void test_ends(void **state)
{
	struct ipc_opts o = opts_for(false);
	unsigned char in[64];
	struct ipc_chan ch;
	int status, sync[2];
	char c;
	pid_t pid;

	(void)state;
	/* used, forked for something else, then closed: still a hang-up */
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
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

	/* the writer drops RX before its reader child keeps it: no -EPIPE */
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ssize_t n, got = 0;

		usleep(100 * 1000);
		ipc_keep_end(&ch, IPC_RX);
		while ((n = ipc_recv(&ch, in, sizeof(in), 0)) > 0)
			got += n;
		_exit(n == 0 && got == 3 ? 0 : 1);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, "abc", 3, IPC_DONTWAIT), 3);
	ipc_close_end(&ch, IPC_TX);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_chan_close(&ch);

	/* a reader child closes RX for good and lives on: -EPIPE */
	assert_int_equal(pipe(sync), 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_file, &o), 0);
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
	snprintf(rundir, sizeof(rundir), "/tmp/ipcfs-test-file-XXXXXX");
	return mkdtemp(rundir) ? 0 : -1;
}

static int remove_rundir(void **state)
{
	(void)state;
	return rmdir(rundir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_readiness),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rewind),
		cmocka_unit_test(test_fork_small),
		cmocka_unit_test(test_fork_big),
		cmocka_unit_test(test_killed_child),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_ends),
		cmocka_unit_test(test_nothing_left),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("file", tests, make_rundir,
					   remove_rundir);
}
