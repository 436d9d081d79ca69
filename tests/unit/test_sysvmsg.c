/*
 * test_sysvmsg.c - what the contract suite cannot see of sysvmsg and of
 * transports/sysv.c: the sweep of a killed process's marker and queue
 * (and not of a queue someone else now holds under that key), EEXIST
 * retries, outsiders' strays, a killed writer (EOF) or reader (EPIPE) in
 * the bench's mode, and msgmni/msgmax in a private IPC namespace. Every
 * queue made here is removed, also when a check fails (teardown).
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sysv.h"
#include "transport.h"
#include "testlib.h"

extern const struct ipc_transport ipc_sysvmsg;

#define MAX_IDS	16

struct fix {
	char dir[64];
	int ids[MAX_IDS];	/* queues to remove at teardown */
	int nids;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_sysvmsg.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	for (int i = 0; i < f->nids; i++)
		(void)msgctl(f->ids[i], IPC_RMID, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void keep_id(struct fix *f, int id)
{
	assert_true(f->nids < MAX_IDS);
	f->ids[f->nids++] = id;
}

static bool queue_exists(int id)
{
	struct msqid_ds ds;

	return msgctl(id, IPC_STAT, &ds) == 0;
}

/* a child makes a visible channel in f->dir and dies: its queue's id */
static int dead_owner_queue(struct fix *f)
{
	struct ipc_opts o = { .visible = true, .rundir = f->dir };
	int p[2], id = -1, status;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ipc_chan ch;

		if (ipc_chan_open(&ch, &ipc_sysvmsg, &o) < 0)
			_exit(1);
		id = atoi(ch.object);
		(void)!write(p[1], &id, sizeof(id));
		_exit(0);	/* no close: as if killed */
	}
	close(p[1]);
	assert_int_equal(read(p[0], &id, sizeof(id)), sizeof(id));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	keep_id(f, id);
	assert_true(queue_exists(id));
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 1);
	return id;
}

static void test_sweep_dead(void **state)
{
	struct fix *f = *state;
	int id = dead_owner_queue(f);

	ipc_sweep_stale(f->dir);
	assert_false(queue_exists(id));
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

/* the marker's key now names another user's queue: the sweep leaves it */
static void test_sweep_foreign(void **state)
{
	struct fix *f = *state;
	int id = dead_owner_queue(f), p[2], other = -1, status;
	struct msqid_ds ds;
	pid_t pid;

	if (geteuid() != 0)
		skip();		/* needs a second user */
	assert_int_equal(msgctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(msgctl(id, IPC_RMID, NULL), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		other = msgget(ds.msg_perm.__key, IPC_CREAT | IPC_EXCL | 0600);
		(void)!write(p[1], &other, sizeof(other));
		_exit(other < 0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &other, sizeof(other)), sizeof(other));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(other >= 0);
	keep_id(f, other);
	ipc_sweep_stale(f->dir);
	assert_true(queue_exists(other));
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

/* get() for ipc_sysv_create: -EEXIST (*arg) times, then a real queue */
static int get_busy(key_t key, void *arg)
{
	int *busy = arg, id;

	if ((*busy)-- > 0)
		return -EEXIST;
	id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	return id < 0 ? -errno : id;
}

static void test_eexist_retries(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .rundir = f->dir };
	struct ipc_sysv sv;
	int busy = 3, id;

	id = ipc_sysv_create(&sv, &o, "sysvmsg", get_busy, &busy);
	assert_true(id >= 0);
	keep_id(f, id);
	assert_int_equal(busy, -1);
	/* the refused names' markers are gone, the one in use is there */
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 1);
	assert_true(access(sv.marker, F_OK) == 0);
	ipc_sysv_forget(&sv);
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);

	busy = 1000;
	assert_int_equal(ipc_sysv_create(&sv, &o, "sysvmsg", get_busy, &busy),
			 -EEXIST);
	assert_int_equal(sv.marker[0], '\0');
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

static void outsider_send(int id, long mtype, size_t len, int count)
{
	static struct { long mtype; char text[8192]; } m;

	m.mtype = mtype;
	memset(m.text, 'z', sizeof(m.text));
	for (int i = 0; i < count; i++)
		assert_int_equal(msgsnd(id, &m, len, IPC_NOWAIT), 0);
}

/* local mode: empty, wrong-mtype and oversize messages are dropped */
static void test_local_strays(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .local = true, .rundir = f->dir, .max_msg = 100 };
	struct ipc_chan ch;
	char buf[100];
	int id, eagain = 0;
	ssize_t n;

	assert_int_equal(ipc_chan_open(&ch, &ipc_sysvmsg, &o), 0);
	id = atoi(ch.object);
	keep_id(f, id);
	outsider_send(id, 1, 0, 1);
	outsider_send(id, 7, 10, 1);
	outsider_send(id, 1, 101, 1);
	assert_int_equal(ipc_send(&ch, "data", 4, IPC_DONTWAIT), 4);
	assert_int_equal(tl_recv_nowait(&ch, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "data", 4);
	assert_int_equal(ch.dropped, 3);

	/* a flood: recv gives up now and then (-EAGAIN), the fd fires */
	outsider_send(id, 9, 10, 1000);
	assert_int_equal(ipc_send(&ch, "last", 4, IPC_DONTWAIT), 4);
	while ((n = ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT)) == -EAGAIN) {
		assert_int_equal(tl_rx_poll(&ch, 5000), 1);
		eagain++;
	}
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "last", 4);
	assert_true(eagain >= 1000 / 64);
	assert_int_equal(ch.dropped, 1003);
	ipc_chan_close(&ch);
	assert_false(queue_exists(id));
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

/* bench mode: a killed writer is end of stream after its data */
static void test_killed_writer(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .rundir = f->dir };
	struct ipc_chan ch;
	char buf[8192];
	int status;
	pid_t pid;

	assert_int_equal(ipc_chan_open(&ch, &ipc_sysvmsg, &o), 0);
	keep_id(f, atoi(ch.object));
	pid = fork();
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		for (int i = 0; i < 3; i++)
			(void)ipc_send(&ch, "abc", 3, 0);
		raise(SIGKILL);
	}
	ipc_keep_end(&ch, IPC_RX);
	alarm(10);	/* a hang fails the test rather than the suite */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 3);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 0);
	alarm(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ipc_chan_close(&ch);
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

/* bench mode: a writer blocked on a full queue whose reader is killed */
static void test_killed_reader(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .rundir = f->dir };
	struct ipc_chan ch;
	char msg[1000] = { 0 };
	int status, id;
	ssize_t n;
	pid_t pid;

	assert_int_equal(ipc_chan_open(&ch, &ipc_sysvmsg, &o), 0);
	id = atoi(ch.object);
	keep_id(f, id);
	pid = fork();
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		pause();
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	alarm(10);
	/* fill it, then kill the reader while we wait for room */
	while (ipc_send(&ch, msg, sizeof(msg), IPC_DONTWAIT) > 0)
		;
	assert_int_equal(kill(pid, SIGKILL), 0);
	n = ipc_send(&ch, msg, sizeof(msg), 0);
	alarm(0);
	assert_int_equal(n, -EPIPE);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(queue_exists(id));
	ipc_chan_close(&ch);
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

/* bench mode: writer and reader are children, the parent lets go of
 * both ends at once; the last one out, the reader, removes the queue */
static void test_last_one_out(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .rundir = f->dir };
	struct ipc_chan ch;
	char buf[8192];
	pid_t w, r;
	int st, id;

	assert_int_equal(ipc_chan_open(&ch, &ipc_sysvmsg, &o), 0);
	id = atoi(ch.object);
	keep_id(f, id);
	w = fork();
	if (w == 0) {
		ipc_keep_end(&ch, IPC_TX);
		for (int i = 0; i < 10; i++)
			(void)ipc_send(&ch, "abc", 3, 0);
		ipc_close_end(&ch, IPC_TX);
		_exit(0);
	}
	r = fork();
	if (r == 0) {
		ipc_keep_end(&ch, IPC_RX);
		alarm(10);
		for (int i = 0; i < 10; i++)
			if (ipc_recv(&ch, buf, sizeof(buf), 0) != 3)
				_exit(1);
		if (ipc_recv(&ch, buf, sizeof(buf), 0) != 0)
			_exit(2);
		ipc_close_end(&ch, IPC_RX);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	ipc_keep_end(&ch, IPC_RX);
	assert_int_equal(waitpid(w, &st, 0), w);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(waitpid(r, &st, 0), r);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_false(queue_exists(id));
	ipc_chan_close(&ch);
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

/* a child that keeps `end` and lets go of it when the gate opens */
static pid_t close_at_gate(struct ipc_chan *ch, enum ipc_end end,
			   const int gate[2])
{
	pid_t pid = fork();
	char c;

	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(ch, end);
		close(gate[1]);
		(void)read(gate[0], &c, 1);	/* EOF: the gate opens */
		ipc_close_end(ch, end);
		_exit(0);
	}
	return pid;
}

/*
 * The two ends let go at the same moment, many times: each closer may
 * see the other still there, yet one of them must remove the queue.
 */
static void test_close_together(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .rundir = f->dir };
	int leaked = 0;

	for (int i = 0; i < 1000; i++) {
		struct ipc_chan ch;
		int gate[2], id, st;
		pid_t w, r;

		assert_int_equal(pipe(gate), 0);
		assert_int_equal(ipc_chan_open(&ch, &ipc_sysvmsg, &o), 0);
		id = atoi(ch.object);
		w = close_at_gate(&ch, IPC_TX, gate);
		r = close_at_gate(&ch, IPC_RX, gate);
		ipc_keep_end(&ch, IPC_TX);
		ipc_keep_end(&ch, IPC_RX);
		close(gate[0]);
		close(gate[1]);
		assert_int_equal(waitpid(w, &st, 0), w);
		assert_int_equal(waitpid(r, &st, 0), r);
		if (queue_exists(id)) {
			leaked++;
			(void)msgctl(id, IPC_RMID, NULL);
		}
		ipc_chan_close(&ch);
	}
	assert_int_equal(leaked, 0);
}

/* the one marker file in dir, opened by someone else: its fd */
static int open_marker(const char *dir)
{
	char cmd[160], path[256];
	FILE *ls;

	snprintf(cmd, sizeof(cmd), "ls -d '%s'/ipcfs.*sysvmsg", dir);
	ls = popen(cmd, "r");
	assert_non_null(ls);
	assert_non_null(fgets(path, sizeof(path), ls));
	pclose(ls);
	path[strcspn(path, "\n")] = '\0';
	return open(path, O_RDONLY | O_CLOEXEC);
}

/*
 * An outsider of the same user holds the marker's lock for good: the last
 * one out still lets go, within a bounded wait, and still removes the
 * queue (the writer let go first, before the lock was taken).
 */
static void test_marker_held(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .rundir = f->dir };
	struct ipc_chan ch;
	int gate[2], lock, id, st = 0;
	pid_t r, done = 0;

	assert_int_equal(ipc_chan_open(&ch, &ipc_sysvmsg, &o), 0);
	id = atoi(ch.object);
	keep_id(f, id);
	assert_int_equal(pipe(gate), 0);
	r = close_at_gate(&ch, IPC_RX, gate);
	ipc_keep_end(&ch, IPC_TX);
	ipc_close_end(&ch, IPC_TX);
	assert_true(queue_exists(id));	/* the reader still holds RX */
	lock = open_marker(f->dir);
	assert_true(lock >= 0);
	assert_int_equal(flock(lock, LOCK_EX), 0);
	close(gate[0]);
	close(gate[1]);
	for (int i = 0; i < 100 && done == 0; i++) {
		done = waitpid(r, &st, WNOHANG);
		if (done == 0)
			usleep(50 * 1000);
	}
	if (done == 0) {
		kill(r, SIGKILL);
		(void)waitpid(r, &st, 0);
	}
	close(lock);
	assert_int_equal(done, r);	/* let go within 5 s */
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_false(queue_exists(id));
	ipc_chan_close(&ch);
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

static void test_fork_pair(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .rundir = f->dir };

	tl_fork_pair(&ipc_sysvmsg, &o, 100, 2000, 0, 0);
	tl_killed_child(&ipc_sysvmsg, &o);
	/* the child held ping's RX: its writer, the parent, removed it */
	assert_int_equal(tl_count_entries(f->dir, "ipcfs."), 0);
}

static int write_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, v, strlen(v));
	close(fd);
	return n == (ssize_t)strlen(v) ? 0 : -1;
}

/* the child's checks, in its own IPC namespace: its exit status */
static int ns_limits(const char *dir)
{
	struct ipc_opts o = { .rundir = dir };
	struct ipc_chan a, b;

	if (write_file("/proc/sys/kernel/msgmni", "1") < 0 ||
	    write_file("/proc/sys/kernel/msgmax", "100") < 0)
		return 10;
	if (ipc_chan_open(&a, &ipc_sysvmsg, &o) < 0 || a.max_msg != 100)
		return 11;
	if (ipc_chan_open(&b, &ipc_sysvmsg, &o) != -ENOSPC)
		return 12;
	ipc_chan_close(&a);
	o.max_msg = 101;
	if (ipc_chan_open(&b, &ipc_sysvmsg, &o) != -EMSGSIZE)
		return 13;
	return tl_count_entries(dir, "ipcfs.") == 0 ? 0 : 14;
}

/* msgmni reached: ENOSPC at open; msgmax: EMSGSIZE above, never clamped */
static void test_limits_in_namespace(void **state)
{
	struct fix *f = *state;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unshare(CLONE_NEWIPC) < 0 ? 77 : ns_limits(f->dir));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();		/* no CAP_SYS_ADMIN for a namespace */
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* capacity: msg_qbytes; above msgmnb an error, or lowered in local mode */
static void test_capacity(void **state)
{
	struct fix *f = *state;
	struct ipc_opts o = { .rundir = f->dir, .capacity = 1 << 20 };
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	int ret = ipc_chan_open(&ch, &ipc_sysvmsg, &o);

	if (ret == 0) {
		/* CAP_SYS_RESOURCE: granted */
		keep_id(f, atoi(ch.object));
		ipc_stats(&ch, &st);
		assert_int_equal(st.capacity, 1 << 20);
		ipc_chan_close(&ch);
		return;
	}
	assert_int_equal(ret, -EPERM);
	o.local = true;
	assert_int_equal(ipc_chan_open(&ch, &ipc_sysvmsg, &o), 0);
	keep_id(f, atoi(ch.object));
	ipc_stats(&ch, &st);
	assert_true(st.capacity > 0 && st.capacity < 1 << 20);
	ipc_chan_close(&ch);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sweep_dead), T(test_sweep_foreign),
		T(test_eexist_retries), T(test_local_strays),
		T(test_killed_writer), T(test_killed_reader),
		T(test_last_one_out), T(test_close_together),
		T(test_marker_held), T(test_fork_pair),
		T(test_limits_in_namespace),
		T(test_capacity),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
