/*
 * test_mpi.c - quirks of the mpi transport: a forked pair joins one MPI
 * job through the creator's PMI thread, with no mpiexec; doorbells for a
 * poller on the other side of a fork; a killed peer is an end (reader) or
 * -EPIPE (writer), never a hang; MPI once per process (a fork of an
 * initialised process, a second job, a third process: -EOPNOTSUPP); no
 * TCP port, no helper process, no /dev/shm file left; MPI_Finalize at
 * exit when both ranks exit, and no hang when the peer is gone. Each test
 * runs in a fresh child of main(), as MPI_Init may run once per process.
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <mpi.h>

#include "transport.h"
#include "testlib.h"

extern const struct ipc_transport ipc_mpi;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* listening sockets of this process: UCX's TCP transport would add some */
static int listeners(void)
{
	int n = 0, v;
	socklen_t len;

	for (int fd = 0; fd < 1024; fd++) {
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 &&
		    v)
			n++;
	}
	return n;
}

/* a forked pair, ping-pong and stream, small and multi-cell messages */
static void test_pair(void **state)
{
	(void)state;
	tl_fork_pair(&ipc_mpi, NULL, 100, 300, 300, 0);
	assert_int_equal(listeners(), 0);
	assert_null(getenv("UCX_TLS"));		/* set for MPI_Init only */
	assert_null(getenv("PMI_FD"));
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);	/* no helper */
}

static void test_pair_big(void **state)
{
	struct ipc_opts big = { .max_msg = 1 << 20 };

	(void)state;
	/* 1 MiB: 16 of MPICH's 68 KiB cells, pipelined */
	tl_fork_pair(&ipc_mpi, &big, 1 << 20, 20, 20, 0);
}

/* a job of one: the daemon's way; no thread, no port */
static void test_alone(void **state)
{
	struct ipc_opts o = { .local = true };
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	char buf[1 << 20];

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_mpi, &o), 0);
	assert_string_equal(ch.object, "");
	assert_int_equal(ipc_send(&ch, "hi", 2, IPC_DONTWAIT), 2);
	assert_int_equal(tl_recv_nowait(&ch, buf, sizeof(buf)), 2);
	ipc_stats(&ch, &st);
	assert_int_equal(st.capacity, 4 << 20);
	assert_int_equal(listeners(), 0);
	ipc_chan_close(&ch);
}

/* IPC_DONTWAIT and the doorbell on the other side of a fork */
static void test_nowait_pair(void **state)
{
	size_t sizes[] = { 1, 100, 65536, 200000, 1 << 20 };
	struct ipc_opts o = { .max_msg = 1 << 20 };
	unsigned char *out = malloc(1 << 20), *in = malloc(1 << 20);
	struct ipc_chan ch;
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_mpi, &o), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		usleep(100000);	/* the reader polls first */
		for (size_t i = 0; i < 5; i++) {
			tl_fill(out, sizes[i], (unsigned)i);
			if (ipc_send(&ch, out, sizes[i], 0) != (ssize_t)sizes[i])
				_exit(1);
		}
		ipc_close_end(&ch, IPC_TX);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_RX);
	for (size_t i = 0; i < 5; i++) {
		tl_fill(out, sizes[i], (unsigned)i);
		assert_int_equal(tl_recv_nowait(&ch, in, 1 << 20), sizes[i]);
		assert_memory_equal(in, out, sizes[i]);
	}
	assert_int_equal(tl_recv_nowait(&ch, in, 1 << 20), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_chan_close(&ch);
	free(out);
	free(in);
}

static void test_killed_child(void **state)
{
	(void)state;
	tl_killed_child(&ipc_mpi, NULL);
}

/* the writer dies: what it sent arrives, then the end; no hang */
static void test_writer_killed(void **state)
{
	struct ipc_chan ch;
	char buf[1 << 20];
	int n = 0, status;
	ssize_t r;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_mpi, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		for (int i = 0; i < 50; i++)
			if (ipc_send(&ch, "hello", 5, 0) != 5)
				_exit(1);
		raise(SIGKILL);
	}
	ipc_keep_end(&ch, IPC_RX);
	while ((r = ipc_recv(&ch, buf, sizeof(buf), 0)) == 5)
		n++;
	assert_int_equal(r, 0);
	assert_int_equal(n, 50);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	ipc_chan_close(&ch);
}

/* the reader dies: sends fail with EPIPE once MPI's cells are full */
static void test_reader_killed(void **state)
{
	struct ipc_chan ch;
	char buf[1 << 20] = "";
	int status;
	ssize_t r;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_mpi, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		if (ipc_recv(&ch, buf, sizeof(buf), 0) != 1)
			_exit(1);
		raise(SIGKILL);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, "x", 1, 0), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	for (int i = 0; i < 100000; i++)
		if ((r = ipc_send(&ch, buf, 1000, 0)) < 0)
			break;
	assert_int_equal(r, -EPIPE);
	ipc_chan_close(&ch);	/* the hang-up finds the reader gone */
}

/* a writer that never sent: closing the end is the end of stream */
static void test_hangup_unjoined(void **state)
{
	struct ipc_chan ch;
	char buf[1 << 20];
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_mpi, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		ipc_close_end(&ch, IPC_TX);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_RX);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ipc_chan_close(&ch);
}

/* MPI does not survive fork: the child of an initialised process */
static void test_fork_after_init(void **state)
{
	struct ipc_chan a, b;
	char buf[1 << 20];
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&a, &ipc_mpi, NULL), 0);
	assert_int_equal(ipc_chan_open(&b, &ipc_mpi, NULL), 0);
	assert_int_equal(ipc_send(&a, "x", 1, 0), 1);	/* MPI_Init here */
	assert_int_equal(ipc_recv(&a, buf, sizeof(buf), 0), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&b, IPC_TX);
		_exit(ipc_send(&b, "y", 1, IPC_DONTWAIT) == -EOPNOTSUPP &&
		      ipc_send(&a, "y", 1, IPC_DONTWAIT) == -EOPNOTSUPP ? 0 : 1);
	}
	ipc_keep_end(&b, IPC_RX);
	/* and we, alone in our job of one, cannot reach the child */
	assert_int_equal(ipc_recv(&b, buf, sizeof(buf), IPC_DONTWAIT),
			 -EOPNOTSUPP);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* what we hold alone still works */
	assert_int_equal(ipc_send(&a, "z", 1, 0), 1);
	assert_int_equal(ipc_recv(&a, buf, sizeof(buf), 0), 1);
	ipc_chan_close(&a);
	ipc_chan_close(&b);
}

/* a child that keeps TX of ch, sends `msg` and hangs up */
static pid_t fork_writer(struct ipc_chan *ch, const char *msg, int wait_fd)
{
	char c;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	ipc_keep_end(ch, IPC_TX);
	if (wait_fd >= 0 && read(wait_fd, &c, 1) != 1)
		_exit(2);
	if (ipc_send(ch, msg, strlen(msg), 0) != (ssize_t)strlen(msg))
		_exit(1);
	ipc_close_end(ch, IPC_TX);
	_exit(0);
}

/*
 * A process stays in its first job: a second peer is out of reach. Both
 * peers must be forked before we initialise, so we claim our rank in the
 * first job (IPC_DONTWAIT: its writer waits for a word) before the second.
 */
static void test_second_job(void **state)
{
	struct ipc_chan a, b;
	char buf[1 << 20];
	int go[2], status;
	pid_t p1, p2;

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(ipc_chan_open(&a, &ipc_mpi, NULL), 0);
	p1 = fork_writer(&a, "one", go[0]);
	ipc_keep_end(&a, IPC_RX);
	assert_int_equal(ipc_recv(&a, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	assert_int_equal(ipc_chan_open(&b, &ipc_mpi, NULL), 0);
	p2 = fork();
	assert_true(p2 >= 0);
	if (p2 == 0) {	/* claims a rank of the new job, waits for a peer */
		ipc_keep_end(&b, IPC_TX);
		_exit(ipc_send(&b, "two", 3, IPC_DONTWAIT) == -EAGAIN ? 0 : 1);
	}
	ipc_keep_end(&b, IPC_RX);
	assert_int_equal(waitpid(p2, &status, 0), p2);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(write(go[1], "", 1), 1);
	assert_int_equal(ipc_recv(&a, buf, sizeof(buf), 0), 3);
	assert_int_equal(ipc_recv(&b, buf, sizeof(buf), IPC_DONTWAIT),
			 -EOPNOTSUPP);
	assert_int_equal(ipc_recv(&a, buf, sizeof(buf), 0), 0);
	assert_int_equal(waitpid(p1, &status, 0), p1);
	ipc_chan_close(&a);
	ipc_chan_close(&b);
	close(go[0]);
	close(go[1]);
}

/* a job has two ranks: a third process holding an end is refused */
static void test_third_process(void **state)
{
	struct ipc_chan ch;
	char buf[1 << 20];
	int go[2], status;
	pid_t p1, p2;

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(ipc_chan_open(&ch, &ipc_mpi, NULL), 0);
	p1 = fork_writer(&ch, "one", -1);
	p2 = fork();
	assert_true(p2 >= 0);
	if (p2 == 0) {
		char c;

		ipc_keep_end(&ch, IPC_TX);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(ipc_send(&ch, "two", 3, 0) == -EOPNOTSUPP ? 0 : 1);
	}
	ipc_keep_end(&ch, IPC_RX);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 3);
	assert_int_equal(write(go[1], "", 1), 1);
	assert_int_equal(waitpid(p2, &status, 0), p2);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(waitpid(p1, &status, 0), p1);
	ipc_chan_close(&ch);
	close(go[0]);
	close(go[1]);
}

/* each rank writes here, at exit after ours, whether MPI was finalized */
static int *finalized;
static int my_slot;

static void note_finalized(void)
{
	int f = 0;

	MPI_Finalized(&f);
	finalized[my_slot] = f;
}

/* one end of ch (max_msg 64) in a child that leaves with exit() */
static pid_t fork_rank(struct ipc_chan *ch, enum ipc_end end, int slot)
{
	char buf[64];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	my_slot = slot;
	atexit(note_finalized);	/* before MPI's own: runs after it */
	ipc_keep_end(ch, end);
	if (end == IPC_TX) {
		if (ipc_send(ch, "x", 1, 0) != 1)
			_exit(1);
		ipc_close_end(ch, IPC_TX);
	} else if (ipc_recv(ch, buf, sizeof(buf), 0) != 1 ||
		   ipc_recv(ch, buf, sizeof(buf), 0) != 0) {
		_exit(1);
	}
	exit(0);
}

/* both ranks exit normally: both finalize, promptly */
static void test_finalize_at_exit(void **state)
{
	struct ipc_opts small = { .max_msg = 64 };
	struct ipc_chan ch;
	double t0 = now_s();
	int status;
	pid_t p[2];

	(void)state;
	finalized = mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(finalized != MAP_FAILED);
	finalized[0] = finalized[1] = -1;
	assert_int_equal(ipc_chan_open(&ch, &ipc_mpi, &small), 0);
	p[0] = fork_rank(&ch, IPC_TX, 0);
	p[1] = fork_rank(&ch, IPC_RX, 1);
	ipc_keep_end(&ch, IPC_RX);	/* we hold neither end */
	ipc_keep_end(&ch, IPC_TX);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(p[i], &status, 0), p[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(finalized[i], 1);
	}
	assert_true(now_s() - t0 < 5);
	ipc_chan_close(&ch);
	munmap(finalized, 2 * sizeof(int));
}

/* the peer left with _exit (no MPI_Finalize): our exit must not wait */
/*
 * A job whose process manager was killed before MPICH unlinked its
 * segment left /dev/shm/mpich_shar_tmp* for good; now the manager's
 * link to it names a dead pid, and the next sweep removes both.
 */
static void test_sweep_killed_job(void **state)
{
	char seg[] = "/dev/shm/mpich_shar_tmpIPCFST", link[128];
	pid_t dead = fork();
	int fd;

	(void)state;
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	fd = open(seg, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(link, sizeof(link),
		 "/dev/shm/ipcfs.%d.0.0123456789abcdef.mpiseg", (int)dead);
	assert_int_equal(symlink(seg, link), 0);
	ipc_sweep_stale(NULL);
	assert_int_equal(access(link, F_OK), -1);
	assert_int_equal(access(seg, F_OK), -1);
	(void)unlink(seg);
	(void)unlink(link);
}

static void test_exit_peer_gone(void **state)
{
	struct ipc_opts small = { .max_msg = 64 };
	double t0;
	int status;
	pid_t r;

	(void)state;
	r = fork();
	assert_true(r >= 0);
	if (r == 0) {
		struct ipc_chan ch;
		char buf[64];
		pid_t w;

		if (ipc_chan_open(&ch, &ipc_mpi, &small) < 0)
			_exit(1);
		w = fork_writer(&ch, "x", -1);
		ipc_keep_end(&ch, IPC_RX);
		if (ipc_recv(&ch, buf, sizeof(buf), 0) != 1 ||
		    waitpid(w, NULL, 0) != w)
			_exit(1);
		exit(0);	/* MPI_Finalize would spin: skipped */
	}
	t0 = now_s();
	assert_int_equal(waitpid(r, &status, 0), r);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(now_s() - t0 < 5);
}

/* no /dev/shm file of MPICH's or UCX's outlives the pairs above */
static int shm_files(void)
{
	return tl_count_entries("/dev/shm", "mpich_") +
	       tl_count_entries("/dev/shm", "ucx_");
}

/* argv[1]: run only the tests whose name contains it */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair),
		cmocka_unit_test(test_pair_big),
		cmocka_unit_test(test_alone),
		cmocka_unit_test(test_nowait_pair),
		cmocka_unit_test(test_killed_child),
		cmocka_unit_test(test_writer_killed),
		cmocka_unit_test(test_reader_killed),
		cmocka_unit_test(test_hangup_unjoined),
		cmocka_unit_test(test_fork_after_init),
		cmocka_unit_test(test_second_job),
		cmocka_unit_test(test_third_process),
		cmocka_unit_test(test_finalize_at_exit),
		cmocka_unit_test(test_exit_peer_gone),
		cmocka_unit_test(test_sweep_killed_job),
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);
	int failed = 0, status, shm0 = shm_files();
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < n; i++) {	/* MPI_Init once per process */
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		fflush(NULL);
		pid = fork();
		if (pid == 0)
			exit(_cmocka_run_group_tests(tests[i].name, &tests[i],
						     1, NULL, NULL) ? 1 : 0);
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "%s failed (status %#x)\n",
				tests[i].name, status);
			failed++;
		}
	}
	/* another test's MPI_Init may hold one for a few ms: not ours */
	for (int tries = 0; shm_files() > shm0 && tries < 20; tries++)
		usleep(100000);
	if (shm_files() > shm0) {
		fprintf(stderr, "/dev/shm: MPICH or UCX files left\n");
		failed++;
	}
	return failed;
}
