/*
 * mount.c - ipcfs (-o control) and nullfs on temp dirs, each daemon our -f
 * child in its own process group (^C is ours) dying with us; undone at
 * exit too: fusermount3 -u, -uz; SIGTERM, SIGKILL; rmdir.
 */
#include <dirent.h>
#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"

#ifndef BENCH_IPCFS_PATH	/* meson: fs/ipcfs of this build tree */
#define BENCH_IPCFS_PATH ""
#endif
#ifndef BENCH_NULLFS_PATH	/* meson: bench/nullfs of this build tree */
#define BENCH_NULLFS_PATH ""
#endif
#ifndef BENCH_NULLFS_INSTALLED	/* meson: where it is installed, from bindir */
#define BENCH_NULLFS_INSTALLED ""
#endif
#define MOUNT_WAIT_S	10
#define POLL_NS		10000000L	/* 10 ms between looks */

struct mount {
	const char *what;	/* "ipcfs", "nullfs": for messages */
	char exe[PATH_MAX];	/* the daemon run with -f */
	char dir[64];		/* mkdtemp: the mount point */
	pid_t pid;		/* the daemon; 0 once reaped */
	int status;		/* its wait status once reaped */
	bool ours, made_dir;
};

/* ours: ipcfs, nullfs; file-scope for the atexit handler */
static struct mount mounts[2];

static bool executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/*
 * `given`, else $env, else the first of near[] (relative: to our own
 * directory, so that an installed bench, or a destdir's, runs its own),
 * else `name` in $PATH that is an executable, into buf; NULL if none (buf
 * then says where we looked: the last of near[] is the build tree's)
 */
static const char *find_daemon(const char *given, const char *env, const char *const *near,
			       const char *name, char *buf, size_t len)
{
	const char *e = getenv(env), *p = getenv("PATH"), *end, *built = "";
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int w;

	if (given || (e && *e)) {
		snprintf(buf, len, "%s", given ? given : e);
		return executable(buf) ? buf : NULL;
	}
	self[n > 0 ? n : 0] = '\0';
	*(strrchr(self, '/') ?: self) = '\0';	/* our directory */
	for (; *near; near++) {
		built = *near;
		w = snprintf(buf, len, "%s%s%s", **near == '/' ? "" : self,
			     **near == '/' ? "" : "/", *near);
		if (**near && w > 0 && (size_t)w < len && executable(buf))
			return buf;
	}
	for (p = p ? p : ""; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		snprintf(buf, len, "%.*s/%s", (int)(end - p), p, name);
		if (end > p && executable(buf))
			return buf;
	}
	snprintf(buf, len, "%s (not built here: %s; not in $PATH)", name,
		 *built ? built : "no build path");
	return NULL;
}

/* st_dev differs from the parent's: something is mounted on dir */
static bool is_mounted(const char *dir)
{
	char parent[128];
	struct stat st, pst;

	snprintf(parent, sizeof(parent), "%s/..", dir);
	return stat(dir, &st) == 0 && stat(parent, &pst) == 0 && st.st_dev != pst.st_dev;
}

/* NULL while the daemon runs; else "exited with status 1" etc. */
static const char *dead(struct mount *m, char *buf, size_t len)
{
	if (m->pid && waitpid(m->pid, &m->status, WNOHANG) != m->pid)
		return NULL;
	m->pid = 0;
	if (WIFSIGNALED(m->status))
		snprintf(buf, len, "killed by signal %d (SIG%s)", WTERMSIG(m->status),
			 sigabbrev_np(WTERMSIG(m->status)) ?: "?");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(m->status));
	return buf;
}

/* wait up to `s` seconds for the daemon to exit */
static bool wait_exit(struct mount *m, uint64_t s)
{
	struct timespec nap = { 0, POLL_NS };
	uint64_t deadline = bench_now_ns() + s * BENCH_NSEC;
	char buf[64];

	while (!dead(m, buf, sizeof(buf)) && bench_now_ns() < deadline)
		(void)nanosleep(&nap, NULL);
	return !m->pid;
}

/* run fusermount3 with `flags` on dir; true when it exited 0 */
static bool fusermount(const char *flags, const char *dir)
{
	int st, fd;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			(void)dup2(fd, STDERR_FILENO);
		execlp("fusermount3", "fusermount3", flags, dir, (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	return pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int bench_pin(pid_t pid, int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	struct dirent *d;
	char path[64];
	cpu_set_t set;
	DIR *dir;
	int ret = 0;

	CPU_ZERO(&set);
	for (long c = cpu >= 0 ? cpu : 0; c < (cpu >= 0 ? cpu + 1 : n) && c < CPU_SETSIZE; c++)
		CPU_SET(c, &set);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return sched_setaffinity(pid, sizeof(set), &set) < 0 ? -errno : 0;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.' &&
		    sched_setaffinity(atoi(d->d_name), sizeof(set), &set) < 0)
			ret = -errno;
	closedir(dir);
	return ret;
}

static void mount_stop(struct mount *m)
{
	if (is_mounted(m->dir) && !fusermount("-u", m->dir) && is_mounted(m->dir) &&
	    !fusermount("-uz", m->dir))
		warnx("fusermount3 -u/-uz %s failed: unmount it by hand", m->dir);
	/* the daemon exits on unmount; else SIGTERM, then SIGKILL */
	for (int i = 0; i < 3 && m->pid && !wait_exit(m, i ? 2 : 3); i++)
		if (i < 2)
			(void)kill(m->pid, i ? SIGKILL : SIGTERM);
	if (m->made_dir && rmdir(m->dir) < 0 && errno != ENOENT)
		warn("rmdir %s", m->dir);
	m->made_dir = m->ours = false;
}

/* the daemon's child: its own process group, dies with us */
__attribute__((noreturn))
static void daemon_exec(struct mount *m, const char *opt, pid_t parent)
{
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGPIPE, SIG_DFL);
	if (opt)
		execl(m->exe, m->exe, "-f", "-o", opt, m->dir, (char *)NULL);
	else
		execl(m->exe, m->exe, "-f", m->dir, (char *)NULL);
	warn("exec %s", m->exe);
	_exit(127);
}

/* mount `exe -f [-o opt] DIR` on a temp dir; 0, or -1 with a reason in err */
static int mount_start(struct mount *m, const char *what, const char *exe,
		       const char *opt, char *err, size_t errlen)
{
	struct timespec nap = { 0, POLL_NS };
	uint64_t deadline = bench_now_ns() + MOUNT_WAIT_S * BENCH_NSEC;
	pid_t parent = getpid();
	char why[64];

	m->what = what;
	m->ours = true;
	snprintf(m->exe, sizeof(m->exe), "%s", exe);
	snprintf(m->dir, sizeof(m->dir), "/tmp/%s-bench.XXXXXX", what);
	m->made_dir = mkdtemp(m->dir) != NULL;
	if (!m->made_dir) {
		snprintf(err, errlen, "%s: mkdtemp %s: %s", what, m->dir, strerror(errno));
		return -1;
	}
	fflush(NULL);
	m->pid = fork();
	if (m->pid == 0)
		daemon_exec(m, opt, parent);
	if (m->pid < 0) {
		m->pid = 0;
		snprintf(err, errlen, "%s: fork: %s", what, strerror(errno));
	}
	for (; m->pid && !is_mounted(m->dir); (void)nanosleep(&nap, NULL)) {
		if (dead(m, why, sizeof(why)))
			snprintf(err, errlen, "%s (%s -f %s) %s before the mount was up (see "
				 "its messages above)", what, m->exe, m->dir, why);
		else if (bench_now_ns() > deadline)
			snprintf(err, errlen, "%s (%s -f %s, pid %d): not mounted after %d s",
				 what, m->exe, m->dir, (int)m->pid, MOUNT_WAIT_S);
		else if (bench_interrupted())
			snprintf(err, errlen, "%s: interrupted while mounting", what);
		else
			continue;	/* EINTR from nanosleep: look again */
		break;
	}
	if (m->pid && is_mounted(m->dir))
		return 0;
	mount_stop(m);
	return -1;
}

/* the mount road's ipcfs: --via's, else ours; exits on failure */
static void ipcfs_up(const struct bench_opts *o, struct bench_env *env)
{
	const char *trees[2] = { o->via, o->peer };	/* the net road's two views */
	char buf[PATH_MAX + 256];
	struct stat st;
	const char *exe;
	bool zmq_ipc;

	for (int i = 0; i < 2 && trees[i]; i++) {
		snprintf(buf, sizeof(buf), "%s/stats", trees[i]);
		if (stat(buf, &st) < 0)
			bench_usage_error("--%s: %s: no stats file (%s): not an ipcfs tree "
					  "(or none)", i ? "peer" : "via", trees[i], strerror(errno));
	}
	if (o->via) {
		env->mount = o->via;
		snprintf(env->mount_how, sizeof(env->mount_how), "given with --via%s%s",
			 o->peer ? "; the child's view of it: " : "", o->peer ? o->peer : "");
		return;
	}
	/* installed, ipcfs is in our bindir; in the build tree, in fs/ */
	exe = find_daemon(o->ipcfs, "IPCFS", (const char *const[]){ "ipcfs", BENCH_IPCFS_PATH, NULL },
			  "ipcfs", buf, sizeof(buf));
	if (!exe)
		errx(1, "the ipcfs daemon: %s is not an executable (--ipcfs PATH, $IPCFS, "
		     "or --via none for the direct road only)", buf);
	/* -o control: the control row's channel, plainmem, in the root; and
	 * zmq over tcp:// like the direct road's, which takes -o outsiders */
	zmq_ipc = o->zmq_kind && strcmp(o->zmq_kind, "ipc") == 0;
	if (mount_start(&mounts[0], "ipcfs", exe, zmq_ipc ? "control" : "control,outsiders",
			buf, sizeof(buf)) < 0)
		errx(1, "%s", buf);
	env->mount = mounts[0].dir;
	env->ipcfs_pid = mounts[0].pid;
	snprintf(env->mount_how, sizeof(env->mount_how), "mounted for this run (%s, pid %d)",
		 mounts[0].exe, (int)mounts[0].pid);
}

void bench_mounts_up(const struct bench_opts *o, struct bench_env *env)
{
	char buf[PATH_MAX + 256];
	const char *exe;

	if (!bench_uses_mount(o))
		return;
	atexit(bench_mounts_down);
	ipcfs_up(o, env);
	if (o->roads == BENCH_ROADS_NET)
		return;	/* the floor is a local figure */
	/* the floor: next to us (the build tree), where it is installed, the
	 * build tree's, else $PATH */
	exe = find_daemon(NULL, "NULLFS", (const char *const[]){ "nullfs", BENCH_NULLFS_INSTALLED,
			  BENCH_NULLFS_PATH, NULL }, "nullfs", buf, sizeof(buf));
	if (exe && mount_start(&mounts[1], "nullfs", exe, NULL, buf, sizeof(buf)) == 0) {
		env->floor = mounts[1].dir;
		env->floor_exe = mounts[1].exe;
		env->nullfs_pid = mounts[1].pid;
	} else {
		warnx("no floor row: %s", buf);
	}
}

void bench_mounts_down(void)
{
	for (int i = 0; i < 2; i++)
		if (mounts[i].ours)
			mount_stop(&mounts[i]);
}

void bench_mounts_check(enum bench_road road)
{
	struct mount *m = &mounts[road == BENCH_ROAD_FLOOR];
	char why[64];

	if (road != BENCH_ROAD_DIRECT && m->ours && dead(m, why, sizeof(why)))
		warnx("%s (%s -f %s) %s during the run", m->what, m->exe, m->dir, why);
}

/* pin our daemons as --daemon-cpu or --cpus says; env->daemon_place */
void bench_place_daemons(const struct bench_opts *o, struct bench_env *env)
{
	bool ipcfs = mounts[0].ours, nullfs = mounts[1].ours;
	char where[64];
	int ret = 0;

	if (o->daemon_cpu != BENCH_DAEMON_CPU_AUTO)
		snprintf(where, sizeof(where), env->cpu_daemon >= 0 ?
			 "pinned on CPU %d (--daemon-cpu)" : "unpinned (--daemon-cpu none)",
			 env->cpu_daemon);
	else if (env->cpu_daemon >= 0)
		snprintf(where, sizeof(where), "pinned on CPU %d%s", env->cpu_daemon,
			 o->cpus == BENCH_CPUS_SAME ? " with parent and child" :
			 " (a CPU of its own)");
	else
		snprintf(where, sizeof(where), o->cpus == BENCH_CPUS_SPLIT ?
			 "unpinned (no third CPU: it runs where there is room)" : "unpinned");
	for (int i = 0; i < 2; i++)
		if (mounts[i].ours && mounts[i].pid)
			ret |= bench_pin(mounts[i].pid, env->cpu_daemon);
	snprintf(env->daemon_place, sizeof(env->daemon_place), "%s%s%s %s%s%s",
		 ipcfs ? "ipcfs" : "", ipcfs && nullfs ? " and " : "",
		 nullfs ? "nullfs" : ipcfs ? "" : "none of ours", where,
		 ret ? " (pinning failed)" : "",
		 ipcfs ? "" : "; ipcfs (--via) is not ours: left as it is");
}
