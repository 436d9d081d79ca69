/*
 * common.c - what several transports share: fd reads and writes with the
 * per-call IPC_DONTWAIT flag, the private runtime directory, unique object
 * names, and the sweep of objects left by an ipcfs process that was killed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sysv.h"
#include "transport.h"

volatile sig_atomic_t ipc_stop;

/*
 * Blocking is a property of the open file, not of the call, for pipes and
 * FIFOs; flip O_NONBLOCK only when the caller's wish changes, so that a
 * caller that always waits (the bench) or never waits (the daemon) pays
 * no extra system call.
 */
int ipc_fd_mode(struct ipc_chan *ch, enum ipc_end end, int flags)
{
	unsigned bit = 1u << end;
	bool want = flags & IPC_DONTWAIT;
	int fl;

	if (!!(ch->nonblock & bit) == want)
		return 0;
	fl = fcntl(ch->fd[end], F_GETFL);
	if (fl < 0)
		return -errno;
	fl = want ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (fcntl(ch->fd[end], F_SETFL, fl) < 0)
		return -errno;
	/* a duplex side's one fd serves both ends: both bits follow it */
	if (ch->fd[!end] == ch->fd[end])
		bit = 3u;
	ch->nonblock = want ? ch->nonblock | bit : ch->nonblock & ~bit;
	return 0;
}

/* write(2) on fd[TX]; callers ignore SIGPIPE, so a gone reader is -EPIPE */
ssize_t ipc_fd_send(struct ipc_chan *ch, const void *buf, size_t len,
		    int flags)
{
	ssize_t n;
	int ret;

	ret = ipc_fd_mode(ch, IPC_TX, flags);
	if (ret < 0)
		return ret;
	n = write(ch->fd[IPC_TX], buf, len);
	return n < 0 ? -errno : n;
}

ssize_t ipc_fd_recv(struct ipc_chan *ch, void *buf, size_t len, int flags)
{
	ssize_t n;
	int ret;

	ret = ipc_fd_mode(ch, IPC_RX, flags);
	if (ret < 0)
		return ret;
	n = read(ch->fd[IPC_RX], buf, len);
	return n < 0 ? -errno : n;
}

void ipc_fd_close(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

void ipc_fd_destroy(struct ipc_chan *ch)
{
	ipc_fd_close(&ch->fd[IPC_RX]);
	ipc_fd_close(&ch->fd[IPC_TX]);
}

/* destroy() of two fds with a path in the runtime dir */
void ipc_fd_destroy_named(struct ipc_chan *ch)
{
	ipc_fd_destroy(ch);
	(void)unlink(ch->object);	/* ENOENT when it was never visible */
}

/* futexes in memory shared across fork(): not the _PRIVATE variants */
/* bumped in every child of fork(): along one line of forks, no two
 * processes share a value */
static atomic_uint ipc_forks;
static pthread_once_t ipc_forks_once = PTHREAD_ONCE_INIT;

static void ipc_count_fork(void)
{
	atomic_fetch_add(&ipc_forks, 1);
}

static void ipc_watch_forks(void)
{
	(void)pthread_atfork(NULL, NULL, ipc_count_fork);
}

unsigned ipc_life(void)
{
	(void)pthread_once(&ipc_forks_once, ipc_watch_forks);
	return atomic_load_explicit(&ipc_forks, memory_order_relaxed) + 1;
}

int ipc_futex_wait(atomic_uint *word, unsigned val, long timeout_ns)
{
	struct timespec ts = { timeout_ns / 1000000000L,
			       timeout_ns % 1000000000L };

	if (syscall(SYS_futex, word, FUTEX_WAIT, val,
		    timeout_ns ? &ts : NULL, NULL, 0) < 0 &&
	    errno != EAGAIN && errno != ETIMEDOUT)
		return -errno;
	return 0;
}

void ipc_futex_wake(atomic_uint *word)
{
	(void)syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/*
 * The default runtime directory: $XDG_RUNTIME_DIR/ipcfs, else
 * /tmp/ipcfs-<uid>. It must be ours and 0700: a directory someone else
 * planted there would let them see or replace our FIFOs and sockets.
 */
/* 0 if path is a directory of ours that nobody else may enter */
static int rundir_private(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077))
		return -EPERM;
	return 0;
}

/*
 * The shared name (XDG_RUNTIME_DIR/ipcfs, else /tmp/ipcfs-UID) is the
 * first choice, since the next start sweeps it. When someone else made
 * it first (or made it wrong), a fresh mkdtemp(3) beside it, which nobody
 * can have made: once per process, then reused.
 */
static int rundir_fallback(const char *want, char *buf, size_t size)
{
	static char made[PATH_MAX];
	static pid_t made_pid;
	int n;

	if (made_pid != getpid() || rundir_private(made) < 0) {
		n = snprintf(made, sizeof(made), "%s.XXXXXX", want);
		if (n < 0 || (size_t)n >= sizeof(made) || !mkdtemp(made)) {
			made_pid = 0;
			return n >= 0 && (size_t)n < sizeof(made) ? -errno :
				-ENAMETOOLONG;
		}
		made_pid = getpid();
	}
	n = snprintf(buf, size, "%s", made);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int ipc_rundir(const struct ipc_opts *o, char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n, err;

	if (o && o->rundir)
		n = snprintf(buf, size, "%s", o->rundir);
	else if (xdg && *xdg == '/')
		n = snprintf(buf, size, "%s/ipcfs", xdg);
	else
		n = snprintf(buf, size, "/tmp/ipcfs-%u", (unsigned)getuid());
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	err = rundir_private(buf);
	/* a directory given by the caller is theirs to get right */
	if (err == -EPERM && !(o && o->rundir)) {
		char want[PATH_MAX];

		snprintf(want, sizeof(want), "%s", buf);
		return rundir_fallback(want, buf, size);
	}
	return err;
}

/*
 * 64 random bits per process, made again after fork: with them in every
 * name, nobody can create our objects' names before we do (O_EXCL would
 * then fail us with EEXIST).
 */
static unsigned long long name_token(void)
{
	static _Atomic unsigned long long token;
	static atomic_int token_pid;
	unsigned long long t;

	if (atomic_load(&token_pid) == getpid())
		return atomic_load(&token);
	if (getrandom(&t, sizeof(t), GRND_NONBLOCK) != sizeof(t))
		t = (unsigned long long)time(NULL) * 6364136223846793005ULL ^
		    (unsigned long long)getpid() << 32 ^ (uintptr_t)&t;
	atomic_store(&token, t);
	atomic_store(&token_pid, getpid());
	return t;
}

void ipc_unique_name(char *buf, size_t size, const char *what)
{
	static atomic_uint seq;

	snprintf(buf, size, "ipcfs.%ld.%u.%016llx.%s", (long)getpid(),
		 atomic_fetch_add(&seq, 1), name_token(), what);
}

long ipc_sysctl_long(const char *path, long fallback)
{
	FILE *f = fopen(path, "re");
	long v;

	if (!f)
		return fallback;
	if (fscanf(f, "%ld", &v) != 1)
		v = fallback;
	fclose(f);
	return v;
}

int ipc_object_path(struct ipc_chan *ch, const struct ipc_opts *o,
		    const char *what)
{
	char dir[IPC_OBJECT_MAX], name[64];
	int n, err;

	err = ipc_rundir(o, dir, sizeof(dir));
	if (err < 0)
		return err;
	ipc_unique_name(name, sizeof(name), what);
	n = snprintf(ch->object, sizeof(ch->object), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(ch->object))
		return -ENAMETOOLONG;
	return 0;
}

/*
 * pid of "ipcfs.<pid>.<n>.<token>.<what>" if that process is gone, else
 * 0; *seq gets <n>, *token <token>.
 */
static pid_t stale_owner(const char *name, unsigned long *seq,
			 unsigned long long *token)
{
	char *end;
	long pid;

	if (strncmp(name, "ipcfs.", 6) != 0)
		return 0;
	pid = strtol(name + 6, &end, 10);
	if (end == name + 6 || *end != '.' || pid <= 0 || pid > INT_MAX)
		return 0;
	*seq = strtoul(end + 1, &end, 10);
	*token = *end == '.' ? strtoull(end + 1, NULL, 16) : 0;
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	return (pid_t)pid;
}

#define SWEEP_PIDS	64

/* dead owners seen, with the highest object number each one reached */
struct sweep {
	pid_t pid[SWEEP_PIDS];
	unsigned long top[SWEEP_PIDS];
	unsigned long long token[SWEEP_PIDS];
	unsigned n;
};

static void sweep_note(struct sweep *sw, pid_t pid, unsigned long seq,
		       unsigned long long token)
{
	unsigned i;

	for (i = 0; i < sw->n && sw->pid[i] != pid; i++)
		;
	if (i == sw->n) {
		if (sw->n == SWEEP_PIDS)
			return;
		sw->n++;
		sw->pid[i] = pid;
		sw->top[i] = 0;
		sw->token[i] = token;
	}
	if (seq > sw->top[i])
		sw->top[i] = seq;
}

/* a runtime-dir file, and the System V object it may stand for */
static int remove_marked(const char *path)
{
	ipc_sysv_remove_stale(path);
	return unlink(path);
}

/*
 * A /dev/shm name; a ".mpiseg" one is a link to MPICH's segment that a
 * killed job could not remove (mpi_job.c): that goes too, if it is ours.
 */
static int remove_shm(const char *name)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;
	size_t len = strlen(name);

	if (len > 7 && strcmp(name + len - 7, ".mpiseg") == 0) {
		snprintf(link, sizeof(link), "/dev/shm%s", name);
		/* someone else's link may not make us remove our files */
		n = lstat(link, &st) == 0 && st.st_uid == geteuid() ?
		    readlink(link, target, sizeof(target) - 1) : -1;
		if (n > 0) {
			target[n] = '\0';
			if (strncmp(target, "/dev/shm/mpich_", 15) == 0 &&
			    !strchr(target + 9, '/') &&
			    lstat(target, &st) == 0 && S_ISREG(st.st_mode) &&
			    st.st_uid == geteuid())
				(void)unlink(target);
		}
	}
	return shm_unlink(name);
}

static void sweep_dir(const char *dir, struct sweep *sw,
		      int (*remove_one)(const char *path))
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned long long token;
	unsigned long seq;
	DIR *d = opendir(dir);
	pid_t pid;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		pid = stale_owner(de->d_name, &seq, &token);
		if (!pid)
			continue;
		/* shm_unlink and mq_unlink take "/name", unlink a path */
		snprintf(path, sizeof(path), "%s/%s",
			 remove_one == remove_marked ? dir : "", de->d_name);
		(void)remove_one(path);
		sweep_note(sw, pid, seq, token);
	}
	closedir(d);
}

/*
 * Where /dev/mqueue is not mounted there is no listing of message
 * queues: try the names a dead owner could have made, up to the highest
 * number its other objects reached (every channel makes some).
 */
static void sweep_mqueues(const struct sweep *sw)
{
	char name[NAME_MAX];

	for (unsigned i = 0; i < sw->n; i++)
		for (unsigned long seq = 0; seq <= sw->top[i] + 8; seq++) {
			snprintf(name, sizeof(name), "/ipcfs.%ld.%lu.%016llx.mq",
				 (long)sw->pid[i], seq, sw->token[i]);
			(void)mq_unlink(name);
		}
}

void ipc_sweep_stale(const char *rundir)
{
	struct sweep sw = { .n = 0 };

	if (rundir)
		sweep_dir(rundir, &sw, remove_marked);
	sweep_dir("/dev/shm", &sw, remove_shm);
	if (access("/dev/mqueue", F_OK) == 0)
		sweep_dir("/dev/mqueue", &sw, mq_unlink);
	else
		sweep_mqueues(&sw);
}
