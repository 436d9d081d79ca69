/*
 * mount.c - the bench mounts its own file systems: ipcfs for the mount
 * road and nullfs for the floor, each on a fresh temp dir, as the mount
 * tests do. The daemon runs with -f as our child, in its own process
 * group (a ^C at the terminal is ours to handle: we unmount), and dies
 * with us (PR_SET_PDEATHSIG). We poll for the mount against a deadline
 * and fail early if the daemon died. At the end: fusermount3 -u, then
 * -uz; SIGTERM, then SIGKILL the daemon; remove the dir. Every mount is
 * remembered so that bench_mount_cleanup() (at exit) leaves nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_MOUNTS	4
#define POLL_NS		10000000L	/* 10 ms between looks */

static struct bench_mount *mounts[MAX_MOUNTS];

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(long ns)
{
	struct timespec ts = { 0, ns };

	(void)nanosleep(&ts, NULL);	/* EINTR: the caller looks again */
}

static bool executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

const char *bench_find_daemon(const char *given, const char *env,
			      const char *built, const char *name, char *buf, size_t len)
{
	const char *e = env ? getenv(env) : NULL, *path = getenv("PATH");
	const char *p, *end;

	if (given) {
		snprintf(buf, len, "%s", given);
		return executable(buf) ? buf : NULL;
	}
	if (e && *e) {
		snprintf(buf, len, "%s", e);
		return executable(buf) ? buf : NULL;
	}
	if (built && *built && executable(built)) {
		snprintf(buf, len, "%s", built);
		return buf;
	}
	for (p = path ? path : ""; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		snprintf(buf, len, "%.*s/%s", (int)(end - p), p, name);
		if (end > p && executable(buf))
			return buf;
	}
	snprintf(buf, len, "%s (not built here: %s; not in $PATH)", name,
		 built && *built ? built : "no build path");
	return NULL;
}

/* st_dev differs from the parent's: something is mounted on dir */
static bool is_mounted(const char *dir)
{
	char parent[128];
	struct stat st, pst;

	snprintf(parent, sizeof(parent), "%s/..", dir);
	if (stat(dir, &st) < 0 || stat(parent, &pst) < 0)
		return false;
	return st.st_dev != pst.st_dev;
}

static bool reap(struct bench_mount *m, bool wait)
{
	pid_t pid;

	if (!m->pid)
		return true;
	do
		pid = waitpid(m->pid, &m->status, wait ? 0 : WNOHANG);
	while (pid < 0 && errno == EINTR && !wait);
	if (pid == m->pid) {
		m->pid = 0;
		return true;
	}
	return false;
}

const char *bench_mount_dead(struct bench_mount *m, char *buf, size_t len)
{
	if (m->pid && !reap(m, false))
		return NULL;
	if (WIFSIGNALED(m->status))
		snprintf(buf, len, "killed by signal %d (SIG%s)", WTERMSIG(m->status),
			 sigabbrev_np(WTERMSIG(m->status)) ?: "?");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(m->status));
	return buf;
}

static void remember(struct bench_mount *m, bool on)
{
	int i;

	for (i = 0; i < MAX_MOUNTS; i++) {
		if (on && !mounts[i]) {
			mounts[i] = m;
			return;
		}
		if (!on && mounts[i] == m)
			mounts[i] = NULL;
	}
}

int bench_mount_start(struct bench_mount *m, const char *what,
		      const char *exe, const char *opt, char *err, size_t errlen)
{
	char dead[64];
	double deadline;
	pid_t parent = getpid();

	memset(m, 0, sizeof(*m));
	m->what = what;
	snprintf(m->exe, sizeof(m->exe), "%s", exe);
	snprintf(m->dir, sizeof(m->dir), "/tmp/%s-bench.XXXXXX", what);
	if (!mkdtemp(m->dir)) {
		snprintf(err, errlen, "%s: mkdtemp %s: %s", what, m->dir, strerror(errno));
		return -1;
	}
	m->made_dir = true;
	remember(m, true);
	fflush(NULL);
	m->pid = fork();
	if (m->pid < 0) {
		m->pid = 0;
		snprintf(err, errlen, "%s: fork: %s", what, strerror(errno));
		goto err_stop;
	}
	if (m->pid == 0) {
		/* ^C at the terminal is for the bench, which unmounts us */
		(void)setpgid(0, 0);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		(void)signal(SIGINT, SIG_DFL);
		(void)signal(SIGTERM, SIG_DFL);
		(void)signal(SIGPIPE, SIG_DFL);
		if (opt)
			execl(m->exe, m->exe, "-f", "-o", opt, m->dir, NULL);
		else
			execl(m->exe, m->exe, "-f", m->dir, (char *)NULL);
		fprintf(stderr, "direct: exec %s: %s\n", m->exe, strerror(errno));
		_exit(127);
	}
	deadline = mono_s() + BENCH_MOUNT_WAIT_S;
	while (!is_mounted(m->dir)) {
		if (bench_mount_dead(m, dead, sizeof(dead))) {
			snprintf(err, errlen, "%s (%s -f %s) %s before the "
				 "mount was up (see its messages above)",
				 what, m->exe, m->dir, dead);
			goto err_stop;
		}
		if (mono_s() > deadline) {
			snprintf(err, errlen, "%s (%s -f %s, pid %d): not "
				 "mounted after %d s", what, m->exe, m->dir,
				 (int)m->pid, BENCH_MOUNT_WAIT_S);
			goto err_stop;
		}
		if (bench_interrupted()) {
			snprintf(err, errlen, "%s: interrupted while mounting", what);
			goto err_stop;
		}
		nap(POLL_NS);
	}
	m->mounted = m->ours = true;
	return 0;

err_stop:
	bench_mount_stop(m);
	return -1;
}

int bench_mount_pin(struct bench_mount *m, int cpu)
{
	char path[64];
	struct dirent *d;
	cpu_set_t set;
	DIR *dir;
	int ret = 0;
	long c, n = sysconf(_SC_NPROCESSORS_ONLN);

	if (!m->pid)
		return -ESRCH;
	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	else	/* we may be pinned already: every online CPU, not ours */
		for (c = 0; c < n && c < CPU_SETSIZE; c++)
			CPU_SET(c, &set);
	/* every thread of the daemon, should it have more than one */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)m->pid);
	dir = opendir(path);
	if (!dir)
		return sched_setaffinity(m->pid, sizeof(set), &set) < 0 ? -errno : 0;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		if (sched_setaffinity(atoi(d->d_name), sizeof(set), &set) < 0)
			ret = -errno;
	}
	closedir(dir);
	return ret;
}

/* run fusermount3 with `flags` on dir; true when it exited 0 */
static bool fusermount(const char *flags, const char *dir)
{
	int st, fd;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			(void)dup2(fd, STDERR_FILENO);
		execlp("fusermount3", "fusermount3", flags, dir, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* wait up to `s` seconds for the daemon to exit */
static bool wait_exit(struct bench_mount *m, double s)
{
	double deadline = mono_s() + s;

	while (!reap(m, false)) {
		if (mono_s() > deadline)
			return false;
		nap(POLL_NS);
	}
	return true;
}

void bench_mount_stop(struct bench_mount *m)
{
	if (m->mounted || is_mounted(m->dir)) {
		if (!fusermount("-u", m->dir) && is_mounted(m->dir) && !fusermount("-uz", m->dir))
			fprintf(stderr, "direct: fusermount3 -u/-uz %s "
				"failed: unmount it by hand\n", m->dir);
		m->mounted = false;
	}
	if (m->pid && !wait_exit(m, 3)) {
		(void)kill(m->pid, SIGTERM);
		if (!wait_exit(m, 2)) {
			(void)kill(m->pid, SIGKILL);
			(void)wait_exit(m, 2);
		}
	}
	if (m->made_dir && rmdir(m->dir) < 0 && errno != ENOENT)
		fprintf(stderr, "direct: rmdir %s: %s\n", m->dir, strerror(errno));
	m->made_dir = false;
	remember(m, false);
}

void bench_mount_cleanup(void)
{
	int i;

	for (i = 0; i < MAX_MOUNTS; i++)
		if (mounts[i])
			bench_mount_stop(mounts[i]);
}

#ifndef BENCH_IPCFS_PATH	/* meson: fs/ipcfs of this build tree */
#define BENCH_IPCFS_PATH ""
#endif
#ifndef BENCH_NULLFS_PATH	/* meson: bench/nullfs of this build tree */
#define BENCH_NULLFS_PATH ""
#endif

/* the mount road's ipcfs: --via's, else ours; exits on failure */
static void ipcfs_up(struct bench_mounts *ms, const struct bench_opts *o, struct bench_env *env)
{
	char buf[PATH_MAX + 256];
	const char *exe;
	struct stat st;

	if (o->via) {
		snprintf(buf, sizeof(buf), "%s/stats", o->via);
		if (stat(buf, &st) < 0)
			bench_usage_error("--via: %s: no stats file (%s): not an "
					  "ipcfs mount (or none)", o->via, strerror(errno));
		env->mount = o->via;
		snprintf(env->mount_how, sizeof(env->mount_how), "given with --via");
		return;
	}
	exe = bench_find_daemon(o->ipcfs, "IPCFS", BENCH_IPCFS_PATH, "ipcfs", buf, sizeof(buf));
	if (!exe) {
		fprintf(stderr, "direct: the ipcfs daemon: %s is not an "
			"executable (--ipcfs PATH, $IPCFS, or --via none for "
			"the direct road only)\n", buf);
		exit(1);
	}
	/* -o control: the control row's channel, plainmem, in the root */
	if (bench_mount_start(&ms->ipcfs, "ipcfs", exe, "control", buf, sizeof(buf)) < 0) {
		fprintf(stderr, "direct: %s\n", buf);
		exit(1);
	}
	env->mount = ms->ipcfs.dir;
	snprintf(env->mount_how, sizeof(env->mount_how),
		 "mounted for this run (%s, pid %d)", ms->ipcfs.exe, (int)ms->ipcfs.pid);
}

void bench_mounts_up(struct bench_mounts *ms, const struct bench_opts *o, struct bench_env *env)
{
	char self[PATH_MAX], buf[PATH_MAX + 256], *slash;
	const char *exe;
	ssize_t n;

	memset(ms, 0, sizeof(*ms));
	if (!bench_uses_mount(o))
		return;
	atexit(bench_mount_cleanup);
	ipcfs_up(ms, o, env);
	/* the floor: next to us, else the build tree's, else $PATH */
	n = readlink("/proc/self/exe", self, sizeof(self) - 8);
	self[n > 0 ? n : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		snprintf(slash + 1, 8, "nullfs");
	exe = bench_find_daemon(NULL, "NULLFS", slash && !access(self, X_OK) ?
				self : BENCH_NULLFS_PATH, "nullfs", buf, sizeof(buf));
	if (exe && bench_mount_start(&ms->null, "nullfs", exe, NULL, buf, sizeof(buf)) == 0)
		env->floor = ms->null.dir;
	else
		fprintf(stderr, "direct: no floor row: %s\n", buf);
}

void bench_mounts_down(struct bench_mounts *ms)
{
	if (ms->ipcfs.ours)
		bench_mount_stop(&ms->ipcfs);
	if (ms->null.ours)
		bench_mount_stop(&ms->null);
}

void bench_mounts_check(struct bench_mounts *ms, enum bench_road road)
{
	struct bench_mount *m = road == BENCH_ROAD_FLOOR ? &ms->null :
			       &ms->ipcfs;
	char why[64];

	if (road != BENCH_ROAD_DIRECT && m->ours && bench_mount_dead(m, why, sizeof(why)))
		fprintf(stderr, "direct: %s (%s -f %s) %s during the run\n",
			m->what, m->exe, m->dir, why);
}
