/*
 * test_sysvshm.c - what is System V about sysvshm, past test_ring and the
 * contract suite: the kernel's limits (shmmax, shmmni, semmni, semmns,
 * semmsl) give clear errors and leave nothing behind, tried in a private
 * IPC namespace so that the host's limits are never touched; the
 * semaphore set lives as long as a process has the channel, whoever
 * closes first or dies, even right after fork; an outsider who removes
 * the set stops a sleeper with EIDRM but not the daemon; a killed
 * process's set is swept through its marker.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "sysv.h"
#include "testlib.h"

static const struct ipc_transport *sysvshm;
static char rundir[64];

#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "child %s:%d: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			_exit(1);					\
		}							\
	} while (0)

#define CHILD_SKIP	77

static void open_chan(struct ipc_chan *ch, bool local)
{
	struct ipc_opts o = { .rundir = rundir, .local = local };

	assert_int_equal(ipc_chan_open(ch, sysvshm, &o), 0);
}

static int sem_of(const struct ipc_chan *ch)
{
	const char *p = strstr(ch->object, "sem:");

	assert_non_null(p);
	return atoi(p + 4);
}

static bool sem_exists(int id)
{
	struct semid_ds ds;

	return semctl(id, 0, IPC_STAT, &ds) == 0;
}

static int markers(void)
{
	return tl_count_entries(rundir, "ipcfs.");
}

static void reap(pid_t pid, int want)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SKIP)
		skip();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), want);
}

static bool write_sysctl(const char *name, const char *value)
{
	char path[64];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	close(fd);
	return ok;
}

/* objects listed in /proc/sysvipc/NAME (of this IPC namespace) */
static int sysv_count(const char *name)
{
	char path[64], line[512];
	int n = -1;	/* the header */
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* in a child, in a new IPC namespace: set a limit, expect err at create */
static void limit_case(const char *sysctl, const char *value, size_t cap,
		       int err)
{
	struct ipc_opts o = { .rundir = rundir, .capacity = cap };
	struct ipc_chan ch;

	CHILD_CHECK(sysv_count("shm") == 0 && sysv_count("sem") == 0);
	CHILD_CHECK(write_sysctl(sysctl, value));
	CHILD_CHECK(ipc_chan_open(&ch, sysvshm, &o) == err);
	/* nothing half made: no marker, no segment, no set */
	CHILD_CHECK(markers() == 0);
	CHILD_CHECK(sysv_count("shm") == 0 && sysv_count("sem") == 0);
}

/*
 * The limits, in a private IPC namespace (root, or a user namespace where
 * the kernel allows it; skipped otherwise). Each case in a fresh one.
 */
static void test_limits(void **state)
{
	static const struct {
		const char *sysctl, *value;
		size_t cap;
		int err;
	} cases[] = {
		{ "shmmax", "4096", 65536, -EINVAL },	/* segment too big */
		{ "shmmni", "0", 0, -ENOSPC },		/* no segment ids */
		{ "shmall", "1", 65536, -ENOSPC },	/* no pages */
		{ "sem", "250 32000 32 0", 0, -ENOSPC },	/* semmni */
		{ "sem", "250 1 32 32000", 0, -ENOSPC },	/* semmns < 2 */
		{ "sem", "1 32000 32 32000", 0, -EINVAL },	/* semmsl < 2 */
	};
	pid_t pid;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (unshare(CLONE_NEWIPC) < 0 &&
			    unshare(CLONE_NEWUSER | CLONE_NEWIPC) < 0)
				_exit(CHILD_SKIP);
			limit_case(cases[i].sysctl, cases[i].value,
				   cases[i].cap, cases[i].err);
			_exit(0);
		}
		reap(pid, 0);
		print_message("%s=%s: %s\n", cases[i].sysctl, cases[i].value,
			      strerror(-cases[i].err));
	}
	assert_int_equal(markers(), 0);
}

/*
 * The set lives while some process has the channel: the writer closes
 * and destroys its channel first, even before the child has kept its end,
 * the reader still gets everything, then 0, and the set goes with the
 * reader's close. A killed reader's attachment goes with it: the writer's
 * close then removes the set.
 */
static void test_holders(void **state)
{
	unsigned char buf[64];
	struct ipc_chan ch;
	int id, status;
	pid_t pid;

	(void)state;
	open_chan(&ch, false);
	id = sem_of(&ch);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(100 * 1000);	/* the writer is gone by now */
		ipc_keep_end(&ch, IPC_RX);
		CHILD_CHECK(ipc_recv(&ch, buf, sizeof(buf), 0) == 5);
		CHILD_CHECK(ipc_recv(&ch, buf, sizeof(buf), 0) == 0);
		CHILD_CHECK(sem_exists(id));
		ipc_chan_close(&ch);
		CHILD_CHECK(!sem_exists(id));
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(ipc_send(&ch, "hello", 5, 0), 5);
	ipc_chan_close(&ch);
	assert_true(sem_exists(id));
	reap(pid, 0);
	assert_false(sem_exists(id));

	open_chan(&ch, false);
	id = sem_of(&ch);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		pause();
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	usleep(50 * 1000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ipc_chan_close(&ch);
	assert_false(sem_exists(id));
	assert_int_equal(markers(), 0);
}

/*
 * An outsider removes the set (ipcrm -s): a sleeping reader gets EIDRM;
 * the daemon (local mode: pollers are rung on the link) goes on; closing
 * leaves no marker either way.
 */
static void test_outsider_ipcrm(void **state)
{
	unsigned char buf[64];
	struct ipc_chan ch;

	(void)state;
	open_chan(&ch, false);
	assert_int_equal(semctl(sem_of(&ch), 0, IPC_RMID), 0);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), -EIDRM);
	assert_int_equal(ipc_send(&ch, "abc", 3, 0), 3);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 3);
	ipc_chan_close(&ch);
	assert_int_equal(markers(), 0);

	open_chan(&ch, true);
	assert_int_equal(semctl(sem_of(&ch), 0, IPC_RMID), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 -EAGAIN);
		assert_int_equal(tl_rx_poll(&ch, 0), 0);
		assert_int_equal(ipc_send(&ch, "abc", 3, IPC_DONTWAIT), 3);
		assert_int_equal(tl_rx_poll(&ch, 1000), 1);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
				 3);
	}
	ipc_chan_close(&ch);
	assert_int_equal(markers(), 0);
}

/* a process killed with its channel open: the sweep removes its set */
static void test_sweep(void **state)
{
	int pipefd[2], id, status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ipc_opts o = { .rundir = rundir, .visible = true };
		struct ipc_chan ch;

		CHILD_CHECK(ipc_chan_open(&ch, sysvshm, &o) == 0);
		id = sem_of(&ch);
		CHILD_CHECK(write(pipefd[1], &id, sizeof(id)) == sizeof(id));
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &id, sizeof(id)), sizeof(id));
	close(pipefd[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(sem_exists(id));
	assert_int_equal(markers(), 1);
	ipc_sweep_stale(rundir);
	assert_false(sem_exists(id));
	assert_int_equal(markers(), 0);
}

/* what a failed test left: each marker's object, then the marker */
static void remove_markers(void)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(rundir);

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "ipcfs.", 6) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", rundir, de->d_name);
		fprintf(stderr, "left behind: %s\n", path);
		ipc_sysv_remove_stale(path);
		(void)unlink(path);
	}
	closedir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_holders),
		cmocka_unit_test(test_outsider_ipcrm),
		cmocka_unit_test(test_sweep),
	};
	int fails;

	signal(SIGPIPE, SIG_IGN);
	sysvshm = ipc_transport_find("sysvshm");
	snprintf(rundir, sizeof(rundir), "/tmp/test_sysvshm.XXXXXX");
	if (!sysvshm || !mkdtemp(rundir)) {
		perror("sysvshm or mkdtemp");
		return 1;
	}
	fails = cmocka_run_group_tests_name("sysvshm", tests, NULL, NULL);
	/* a failed test may leave markers: remove them and their objects */
	remove_markers();
	if (rmdir(rundir) < 0) {
		perror(rundir);
		fails++;
	}
	return fails ? 1 : 0;
}
