/*
 * mpi_job.c - what the mpi transport needs beyond one channel: a process
 * manager for two-rank jobs, and this process's MPI, initialised once and
 * finalized at exit.
 *
 * MPICH learns its rank, its job's size and its peers' addresses from a
 * process manager through PMI, a line protocol on a socket it inherits
 * (PMI_FD); mpiexec (hydra) is the usual process manager. Debian's MPICH
 * 4.0.2 is built with the ch4:ucx device, which refuses MPI_Open_port,
 * MPI_Comm_accept, MPI_Comm_connect, MPI_Comm_spawn and MPI_Comm_join
 * ("not supported with ucx netmod"): two processes talk through MPI only
 * when one process manager started them as one job. So the process that
 * creates a channel manages a job of two ranks: a socketpair per rank and
 * a thread that answers PMI-1 as hydra does (init, maxes, appnum,
 * kvsname, put, get, barrier, finalize, abort). A process that holds one
 * end of a channel claims a rank at its first use, waits until another
 * process has claimed the other rank, and calls MPI_Init_thread with
 * PMI_FD, PMI_RANK, PMI_SIZE, MPI_LOCALNRANKS and MPI_LOCALRANKID set, as
 * hydra's proxy sets them before exec (without the last two, MPICH took
 * its peer for a remote one: 32 k instead of 1 M round trips/s, 100 B,
 * here). A process that holds both ends of the channel it first uses is a
 * job of one (no PMI at all) and talks to itself.
 *
 * Once per process. MPI_Init runs at most once in a process's life, and
 * MPI does not survive fork() (the child lacks MPICH's and UCX's threads
 * and shares their memory with the parent): a process stays in its first
 * job, and a fork of an initialised process gets -EOPNOTSUPP.
 *
 * UCX, MPICH's network module, listens on TCP ports of every interface by
 * default. Unless the caller set UCX_TLS, it gets "self" alone (a job of
 * one) or "self,sm" (two ranks on this node: UCX's shared-memory
 * transports, with process_vm_readv for large messages): no port at all.
 *
 * Finalize. MPI_Finalize is collective: it waits in a PMI barrier and then
 * in MPICH's shared-memory barrier for the peer to finalize too, and spins
 * there forever if the peer has died (measured). So it runs at exit
 * (on_exit), only while the peer lives, with a watchdog thread that ends
 * the process with its exit status when the peer dies meanwhile or has
 * not finalized after MPI_FINALIZE_WAIT_MS (alone, after that long too). A process that leaves with
 * _exit() or is killed does not finalize, and leaves nothing named behind
 * either: MPICH unlinks its /dev/shm segment as soon as both ranks have
 * mapped it, UCX its own at once.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mpi_job.h"
#include "transport.h"

#define PMI_LINE_MAX	4096
#define PMI_NKV		64	/* MPICH 4.0.2 puts two keys per rank */
#define PMI_KEY_MAX	64
#define PMI_VAL_MAX	1024
/* the manager looks for newly claimed ranks to watch this often */
#define PMI_WATCH_MS	100
/* a rank waiting for its peer's claim looks again this often */
#define MPI_CLAIM_POLL_MS	10
#define MPI_FINALIZE_WAIT_MS	3000

/* a rank's way through MPI_Init (mpi_job_shared.state) */
enum { RANK_OUT, RANK_IN_INIT, RANK_UP, RANK_FINALIZED };

struct mpi_job_shared {
	atomic_int claims;	/* ranks taken so far */
	atomic_int pid[2];	/* the process of each rank; 0: not yet */
	atomic_int state[2];	/* RANK_*: the manager reads it */
	atomic_uint tags;	/* the channels' tags */
};

struct mpi_job {
	struct mpi_job_shared *sh;	/* shared across fork */
	int srv[2];		/* the manager's ends of the PMI sockets */
	int cli[2];		/* the ranks' ends: PMI_FD */
	int stop[2];		/* a byte on stop[1] ends the thread */
	pthread_t thread;
	bool running;
	pid_t creator;		/* the process whose thread answers PMI */
	unsigned refs;		/* this process's channels, and its MPI */
	int *bells;		/* channel sockets to ring at a claim */
	unsigned nbells;
	atomic_uint started;	/* the thread runs its loop (a futex) */
	char kvs[48];		/* PMI's key-value space name */
};

/* ---- the process manager: one thread per job, in its creator ---- */

struct pmi_rank {
	int fd;			/* the job's srv[i]; -1 once closed */
	int pidfd;		/* -1 until the rank's process is known */
	char buf[PMI_LINE_MAX];
	size_t len;
	bool barrier;		/* waits in barrier_in */
	bool gone;		/* died, hung up, aborted or finalized */
};

struct pmi_kv {
	char key[PMI_KEY_MAX];
	char val[PMI_VAL_MAX];
};

struct pmi_server {
	struct mpi_job *j;
	struct pmi_rank r[2];
	struct pmi_kv kv[PMI_NKV];
	unsigned nkv;
	char seg[PATH_MAX];	/* MPICH's /dev/shm segment, once named */
	/* /dev/shm/ipcfs.<pid>.<n>.<token>.mpiseg -> seg, so that the sweep
	 * (common.c) removes seg if this process is killed first */
	char link[64];
};

/* the value of " name=" in line (which starts with a space), or false */
static bool pmi_field(const char *line, const char *name, char *out,
		      size_t size)
{
	char pat[32];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), " %s=", name);
	p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	n = strcspn(p, " ");
	if (n >= size)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

__attribute__((format(printf, 2, 3)))
static void pmi_reply(struct pmi_rank *r, const char *fmt, ...)
{
	char line[PMI_LINE_MAX];
	va_list ap;
	size_t len, done = 0;
	ssize_t n;
	int ret;

	va_start(ap, fmt);
	ret = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (ret < 0 || (size_t)ret >= sizeof(line) || r->fd < 0)
		return;
	len = (size_t)ret;
	while (done < len) {
		n = send(r->fd, line + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the rank is gone; its poll says so */
		done += (size_t)n;
	}
}

static void pmi_gone(struct pmi_rank *r)
{
	r->gone = true;
	r->barrier = false;
	ipc_fd_close(&r->fd);
	ipc_fd_close(&r->pidfd);
}

/*
 * MPICH's node-local segment, /dev/shm/mpich_shar_tmpXXXXXX, made by rank
 * 0 and named to rank 1 through us (a "-bcast-" key, hex). MPICH unlinks
 * it once both ranks have mapped it; when a rank dies before, we do.
 */
static void pmi_note_seg(struct pmi_server *s, const char *key,
			 const char *hex)
{
	size_t n = strlen(hex) / 2, i;
	unsigned c;

	if (strncmp(key, "-bcast-", 7) != 0 || n >= sizeof(s->seg))
		return;
	for (i = 0; i < n && sscanf(hex + 2 * i, "%2X", &c) == 1; i++)
		s->seg[i] = (char)c;
	s->seg[i] = '\0';
	if (strncmp(s->seg, "/dev/shm/mpich_", 15) != 0 || strstr(s->seg, "..")) {
		s->seg[0] = '\0';
		return;
	}
	if (!s->link[0]) {
		memcpy(s->link, "/dev/shm/", 9);
		ipc_unique_name(s->link + 9, sizeof(s->link) - 9, "mpiseg");
		if (symlink(s->seg, s->link) < 0)
			s->link[0] = '\0';
	}
}

static void pmi_unlink_seg(struct pmi_server *s)
{
	if (s->seg[0])
		(void)unlink(s->seg);	/* ENOENT: MPICH did */
	s->seg[0] = '\0';
	if (s->link[0])
		(void)unlink(s->link);
	s->link[0] = '\0';
}

/*
 * Rank i is gone. If the other is inside MPI_Init (or about to enter it),
 * MPICH will fail it (and then abort) or spin in its shared-memory barrier
 * forever: kill it, as mpiexec kills a job when one of its processes dies.
 * A rank that has not begun MPI_Init sees the death itself and says so.
 */
static void pmi_died(struct pmi_server *s, int i)
{
	struct mpi_job_shared *sh = s->j->sh;
	int other = atomic_load(&sh->pid[!i]);
	int state = atomic_load(&sh->state[!i]);

	pmi_gone(&s->r[i]);
	/* past its MPI_Init, so past every barrier of ours: no harm done */
	if (atomic_load(&sh->state[i]) >= RANK_UP)
		return;
	pmi_unlink_seg(s);
	if (other > 0 && state == RANK_IN_INIT)
		(void)kill(other, SIGKILL);
}

/* everyone still there waits in the barrier: let them all out */
static void pmi_barrier_check(struct pmi_server *s)
{
	int waiting = 0;

	for (int i = 0; i < 2; i++) {
		if (!s->r[i].gone && !s->r[i].barrier)
			return;
		waiting += s->r[i].barrier;
	}
	for (int i = 0; i < 2 && waiting; i++)
		if (s->r[i].barrier) {
			s->r[i].barrier = false;
			pmi_reply(&s->r[i], "cmd=barrier_out\n");
		}
}

/*
 * MPI_Abort, or MPI_Init failing (the peer died in it): hydra kills the
 * job, and MPICH counts on it, crashing when PMI_Abort returns. The job
 * is its two ranks; kill the one that asked (the other is gone or will
 * find this one gone).
 */
static void pmi_abort(struct pmi_server *s, struct pmi_rank *r)
{
	int pid = atomic_load(&s->j->sh->pid[r - s->r]);

	pmi_unlink_seg(s);
	if (pid > 0)
		(void)kill(pid, SIGKILL);
	pmi_gone(r);
}

static void pmi_put(struct pmi_server *s, struct pmi_rank *r,
		    const char *line)
{
	struct pmi_kv *kv = &s->kv[s->nkv];

	if (s->nkv < PMI_NKV &&
	    pmi_field(line, "key", kv->key, sizeof(kv->key)) &&
	    pmi_field(line, "value", kv->val, sizeof(kv->val))) {
		pmi_note_seg(s, kv->key, kv->val);
		s->nkv++;
		pmi_reply(r, "cmd=put_result rc=0 msg=success\n");
	} else {
		pmi_reply(r, "cmd=put_result rc=-1 msg=no_room\n");
	}
}

static void pmi_get(struct pmi_server *s, struct pmi_rank *r,
		    const char *line)
{
	char key[PMI_KEY_MAX];

	if (!pmi_field(line, "key", key, sizeof(key))) {
		pmi_reply(r, "cmd=get_result rc=-1 msg=no_key\n");
		return;
	}
	/* both ranks on node 0 */
	if (strcmp(key, "PMI_process_mapping") == 0) {
		pmi_reply(r, "cmd=get_result rc=0 msg=success "
			  "value=(vector,(0,1,2))\n");
		return;
	}
	for (unsigned i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0) {
			pmi_reply(r, "cmd=get_result rc=0 msg=success "
				  "value=%s\n", s->kv[i].val);
			return;
		}
	pmi_reply(r, "cmd=get_result rc=-1 msg=key_%s_not_found\n", key);
}

/* one line from rank r, without its newline, after a space */
static void pmi_command(struct pmi_server *s, struct pmi_rank *r,
			const char *line)
{
	char cmd[32];

	if (!pmi_field(line, "cmd", cmd, sizeof(cmd)))
		cmd[0] = '\0';
	if (strcmp(cmd, "init") == 0)
		pmi_reply(r, "cmd=response_to_init pmi_version=1 "
			  "pmi_subversion=1 rc=0\n");
	else if (strcmp(cmd, "get_maxes") == 0)
		pmi_reply(r, "cmd=maxes kvsname_max=%d keylen_max=%d "
			  "vallen_max=%d\n", (int)sizeof(s->j->kvs),
			  PMI_KEY_MAX, PMI_VAL_MAX);
	else if (strcmp(cmd, "get_appnum") == 0)
		pmi_reply(r, "cmd=appnum appnum=0\n");
	else if (strcmp(cmd, "get_my_kvsname") == 0)
		pmi_reply(r, "cmd=my_kvsname kvsname=%s\n", s->j->kvs);
	else if (strcmp(cmd, "get_universe_size") == 0)
		pmi_reply(r, "cmd=universe_size size=2\n");
	else if (strcmp(cmd, "put") == 0)
		pmi_put(s, r, line);
	else if (strcmp(cmd, "get") == 0)
		pmi_get(s, r, line);
	else if (strcmp(cmd, "barrier_in") == 0)
		r->barrier = true;
	else if (strcmp(cmd, "finalize") == 0)
		pmi_reply(r, "cmd=finalize_ack\n");
	else if (strcmp(cmd, "abort") == 0)
		pmi_abort(s, r);
	else	/* not PMI-1: not MPICH */
		pmi_gone(r);
}

/* what rank r sent; its death if it hung up */
static void pmi_read(struct pmi_server *s, struct pmi_rank *r)
{
	char line[PMI_LINE_MAX + 1];
	char *nl;
	ssize_t n;
	size_t len;

	n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		pmi_died(s, (int)(r - s->r));	/* or finalized: then no harm */
		return;
	}
	r->len += (size_t)n;
	while (!r->gone && (nl = memchr(r->buf, '\n', r->len))) {
		len = (size_t)(nl - r->buf);
		line[0] = ' ';
		memcpy(line + 1, r->buf, len);
		line[len + 1] = '\0';
		r->len -= len + 1;
		memmove(r->buf, nl + 1, r->len);
		pmi_command(s, r, line);
	}
	if (!r->gone && r->len == sizeof(r->buf))
		pmi_gone(r);	/* a line longer than PMI allows */
}

/* watch the process of each claimed rank; true while one is unknown */
static bool pmi_watch(struct pmi_server *s)
{
	bool unknown = false;
	int pid;

	for (int i = 0; i < 2; i++) {
		if (s->r[i].gone || s->r[i].pidfd >= 0)
			continue;
		pid = atomic_load(&s->j->sh->pid[i]);
		if (pid > 0)
			s->r[i].pidfd = pidfd_open(pid, 0);
		if (pid > 0 && s->r[i].pidfd < 0)
			pmi_died(s, i);	/* ESRCH: already */
		else if (pid == 0)
			unknown = true;
	}
	return unknown;
}

static void *pmi_thread(void *arg)
{
	struct pmi_server *s = arg;
	struct pollfd p[5];
	int timeout, i;

	atomic_store(&s->j->started, 1);
	ipc_futex_wake(&s->j->started);
	while (!s->r[0].gone || !s->r[1].gone) {
		timeout = pmi_watch(s) ? PMI_WATCH_MS : -1;
		p[0] = (struct pollfd){ .fd = s->j->stop[0], .events = POLLIN };
		for (i = 0; i < 2; i++) {
			p[1 + i] = (struct pollfd){ .fd = s->r[i].fd,
						    .events = POLLIN };
			p[3 + i] = (struct pollfd){ .fd = s->r[i].pidfd,
						    .events = POLLIN };
		}
		if (poll(p, 5, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		for (i = 0; i < 2; i++) {
			if (p[1 + i].revents && !s->r[i].gone)
				pmi_read(s, &s->r[i]);
			if (p[3 + i].revents && !s->r[i].gone)
				pmi_died(s, i);
		}
		pmi_barrier_check(s);
		/* both past MPI_Init: MPICH has unlinked its segment */
		if (s->link[0] &&
		    atomic_load(&s->j->sh->state[0]) >= RANK_UP &&
		    atomic_load(&s->j->sh->state[1]) >= RANK_UP)
			pmi_unlink_seg(s);
	}
	/* the job is over: nobody will map the segment by its name now */
	pmi_unlink_seg(s);
	for (i = 0; i < 2; i++)
		pmi_gone(&s->r[i]);
	free(s);
	return NULL;
}

/* the thread, with every signal blocked: they are the caller's threads' */
static int pmi_start(struct mpi_job *j)
{
	struct pmi_server *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int err;

	if (!s)
		return -ENOMEM;
	s->j = j;
	for (int i = 0; i < 2; i++) {
		s->r[i].fd = j->srv[i];
		s->r[i].pidfd = -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&j->thread, NULL, pmi_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(s);
		return -err;
	}
	j->running = true;
	/*
	 * The caller forks next: let the thread get through its start
	 * first. A fork while it was starting once left a child with a
	 * lock of AddressSanitizer's allocator held for good.
	 */
	while (!atomic_load(&j->started))
		(void)ipc_futex_wait(&j->started, 0, 10 * 1000 * 1000L);
	return 0;
}

/* ---- jobs ---- */

static struct mpi_job *pending;	/* the job new channels join */
static pid_t pending_pid;
static unsigned job_count;

/* in the creator the thread closes srv[] (it owns them once started) */
static void job_close_fds(struct mpi_job *j)
{
	for (int i = 0; i < 2; i++) {
		if (!j->running || j->creator != getpid())
			ipc_fd_close(&j->srv[i]);
		ipc_fd_close(&j->cli[i]);
		ipc_fd_close(&j->stop[i]);
	}
}

static void job_free(struct mpi_job *j)
{
	if (j->running && j->creator == getpid()) {
		(void)write(j->stop[1], "", 1);
		pthread_join(j->thread, NULL);
	}
	job_close_fds(j);
	if (j->sh)
		(void)munmap(j->sh, sizeof(*j->sh));
	free(j->bells);
	free(j);
}

static struct mpi_job *job_new(void)
{
	struct mpi_job *j = calloc(1, sizeof(*j));
	int sv[2], err = 0;

	if (!j)
		return NULL;
	j->srv[0] = j->srv[1] = j->cli[0] = j->cli[1] = -1;
	j->stop[0] = j->stop[1] = -1;
	j->creator = getpid();
	j->refs = 1;
	snprintf(j->kvs, sizeof(j->kvs), "ipcfs_mpi_%d_%u", (int)getpid(),
		 job_count++);
	j->sh = mmap(NULL, sizeof(*j->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (j->sh == MAP_FAILED) {
		err = errno;
		j->sh = NULL;
	}
	for (int i = 0; i < 2 && !err; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			err = errno;
			break;
		}
		j->srv[i] = sv[0];
		j->cli[i] = sv[1];
	}
	if (!err && pipe2(j->stop, O_CLOEXEC) < 0)
		err = errno;
	if (!err)
		err = -pmi_start(j);
	if (err) {
		job_free(j);
		errno = err;
		return NULL;
	}
	return j;
}

struct mpi_job *mpi_job_get(void)
{
	if (pending && pending_pid == getpid() &&
	    atomic_load(&pending->sh->claims) == 0) {
		pending->refs++;
		return pending;
	}
	pending = job_new();
	pending_pid = getpid();
	return pending;
}

void mpi_job_put(struct mpi_job *j)
{
	if (!j || --j->refs > 0)
		return;
	if (j == pending)
		pending = NULL;
	job_free(j);
}

int mpi_job_tag(struct mpi_job *j)
{
	/* MPI_TAG_UB is at least 32767; wrapping needs that many channels */
	return (int)(atomic_fetch_add(&j->sh->tags, 1) % 32768);
}

void mpi_job_add_bell(struct mpi_job *j, int fd)
{
	int *b = realloc(j->bells, (j->nbells + 1) * sizeof(*b));

	if (!b)
		return;	/* a bell is a hint: pollers also look again */
	j->bells = b;
	j->bells[j->nbells++] = fd;
}

void mpi_job_del_bell(struct mpi_job *j, int fd)
{
	for (unsigned i = 0; i < j->nbells; i++)
		if (j->bells[i] == fd) {
			j->bells[i] = j->bells[--j->nbells];
			return;
		}
}

/* ---- this process's MPI ---- */

static struct {
	pid_t pid;		/* the process that called MPI_Init_thread */
	struct mpi_job *job;	/* the job it is a rank of; NULL: alone */
	int rank;
	int peer_pidfd;
	/* a rank claimed, before MPI_Init: by this process, in this job */
	pid_t claim_pid;
	struct mpi_job_shared *claimed;
	bool finalized;
} me = { .peer_pidfd = -1 };

struct env_save {
	const char *name;
	char *old;	/* strdup'd value before, NULL: unset */
};

static const char *const env_names[] = {
	"PMI_FD", "PMI_RANK", "PMI_SIZE", "PMI_PORT", "PMI_ID",
	"MPI_LOCALNRANKS", "MPI_LOCALRANKID",
};
#define ENV_N	(sizeof(env_names) / sizeof(env_names[0]))

/* PMI's variables as given (NULL: unset) for MPI_Init, the old ones kept */
static void env_set(struct env_save *save, const char *const val[ENV_N])
{
	const char *old;

	for (size_t i = 0; i < ENV_N; i++) {
		old = getenv(env_names[i]);
		save[i].name = env_names[i];
		save[i].old = old ? strdup(old) : NULL;
		if (val[i])
			setenv(env_names[i], val[i], 1);
		else
			unsetenv(env_names[i]);
	}
}

static void env_restore(struct env_save *save)
{
	for (size_t i = 0; i < ENV_N; i++) {
		if (save[i].old)
			setenv(save[i].name, save[i].old, 1);
		else
			unsetenv(save[i].name);
		free(save[i].old);
	}
}

/* a pidfd polls readable once its process has exited; EINTR is not that */
static bool pidfd_exited(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
		;
	return n > 0;
}

static bool peer_exited(void)
{
	return me.peer_pidfd < 0 || pidfd_exited(me.peer_pidfd);
}

struct finalize_watch {
	int status;
	int done[2];	/* a pipe: Finalize returned */
};

/*
 * The peer died before finalizing, or does not finalize in time: MPICH
 * would wait forever. A peer that finalized may exit before we are done.
 */
static void *finalize_watchdog(void *arg)
{
	struct finalize_watch *w = arg;
	struct pollfd p[2] = {
		{ .fd = me.peer_pidfd, .events = POLLIN },
		{ .fd = w->done[0], .events = POLLIN },
	};
	atomic_int *peer = me.job ? &me.job->sh->state[!me.rank] : NULL;
	int n;

	for (;;) {
		n = poll(p, 2, MPI_FINALIZE_WAIT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && p[1].revents)
			return NULL;
		if (n <= 0 || !peer || atomic_load(peer) != RANK_FINALIZED)
			_exit(w->status);
		p[0].fd = -1;	/* it exited after its MPI_Finalize */
	}
}

static void mpi_at_exit(int status, void *arg)
{
	struct finalize_watch w = { .status = status, .done = { -1, -1 } };
	pthread_t t;
	bool watched = false;
	sigset_t all, old;

	(void)arg;
	if (me.pid != getpid() || me.finalized)
		return;	/* a fork of an initialised process: not ours */
	me.finalized = true;
	if (me.job && peer_exited())
		return;	/* Finalize would spin forever */
	/* alone, too: an exit must not hang in a library */
	if (pipe2(w.done, O_CLOEXEC) == 0) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		watched = pthread_create(&t, NULL, finalize_watchdog, &w) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (!watched) {
		ipc_fd_close(&w.done[0]);
		ipc_fd_close(&w.done[1]);
		if (me.job)
			return;	/* unwatched, a dying peer would hang us */
	}
	MPI_Finalize();
	if (me.job)
		atomic_store(&me.job->sh->state[me.rank], RANK_FINALIZED);
	if (watched) {
		(void)write(w.done[1], "", 1);
		pthread_join(t, NULL);
	}
	ipc_fd_close(&w.done[0]);
	ipc_fd_close(&w.done[1]);
}

/*
 * hwloc's I/O discovery (PCI devices, OpenGL displays, OpenCL devices)
 * tells MPICH where NICs and GPUs are, which shared memory on one node
 * never asks; its plugins load X11 and OpenCL into the process (the
 * daemon) and libpciaccess leaks at MPI_Finalize (LeakSanitizer).
 */
#define MPI_HWLOC_SKIP	"hwloc_pci,hwloc_gl,hwloc_opencl,hwloc_cuda," \
			"hwloc_nvml,hwloc_rsmi,hwloc_levelzero"

/* name=value for MPI_Init unless the caller set name; true if we did */
static bool env_default(const char *name, const char *value)
{
	return !getenv(name) && setenv(name, value, 1) == 0;
}

/* MPI_Init_thread with PMI's variables as given; UCX kept to `tls` */
static void mpi_init(const char *const env[ENV_N], const char *tls)
{
	struct env_save save[ENV_N];
	struct sigaction usr1;
	bool tls_set, hwloc_set;
	sigset_t all, old;
	int provided;

	env_set(save, env);
	tls_set = env_default("UCX_TLS", tls);
	hwloc_set = env_default("HWLOC_PLUGINS_BLACKLIST", MPI_HWLOC_SKIP);
	/*
	 * UCX's progress thread starts here and inherits our mask: block
	 * everything, so that the process's signals (the signal transport's
	 * numbers, the bench's SIGALRM) never land in it.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* MPICH takes SIGUSR1 (hydra's word of a failed process, which no
	 * one sends here): the caller's disposition is put back */
	sigaction(SIGUSR1, NULL, &usr1);
	/* fails only by aborting the process (MPI_ERRORS_ARE_FATAL) */
	MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
	sigaction(SIGUSR1, &usr1, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (tls_set)
		unsetenv("UCX_TLS");
	if (hwloc_set)
		unsetenv("HWLOC_PLUGINS_BLACKLIST");
	env_restore(save);
	me.pid = getpid();
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
	(void)on_exit(mpi_at_exit, NULL);
}

static void mpi_init_alone(void)
{
	static const char *const none[ENV_N];

	mpi_init(none, "self");
}

/* the rank's process: the manager's fds and the other rank's are not ours */
static void mpi_init_rank(struct mpi_job *j, int rank)
{
	char fd[16], r[16];
	const char *env[ENV_N] = { fd, r, "2", NULL, NULL, "2", r };

	if (j->creator != getpid()) {	/* copies of the manager's */
		ipc_fd_close(&j->srv[0]);
		ipc_fd_close(&j->srv[1]);
		ipc_fd_close(&j->stop[0]);
		ipc_fd_close(&j->stop[1]);
	}
	ipc_fd_close(&j->cli[!rank]);
	snprintf(fd, sizeof(fd), "%d", j->cli[rank]);
	snprintf(r, sizeof(r), "%d", rank);
	/* MPICH keeps PMI_FD open: the job stays with us for good */
	j->refs++;
	me.job = j;
	me.rank = rank;
	mpi_init(env, "self,sm");
}

/* claim a rank in j; -EOPNOTSUPP when both are taken */
static int mpi_claim(struct mpi_job *j)
{
	int rank = atomic_fetch_add(&j->sh->claims, 1);

	if (rank >= 2)
		return -EOPNOTSUPP;
	atomic_store(&j->sh->pid[rank], getpid());
	me.claim_pid = getpid();
	me.claimed = j->sh;
	me.rank = rank;
	/* pollers on the other ends of our channels: come and join */
	for (unsigned i = 0; i < j->nbells; i++)
		(void)send(j->bells[i], "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	return 0;
}

/*
 * The peer's process, which claimed the other rank: -EPIPE if it has died
 * since (MPI_Init would fail, and MPICH aborts us then), else its pidfd.
 */
static int mpi_peer_alive(struct mpi_job *j)
{
	int fd = pidfd_open(atomic_load(&j->sh->pid[!me.rank]), 0);

	if (fd < 0)
		return -EPIPE;
	if (pidfd_exited(fd)) {
		(void)close(fd);
		return -EPIPE;
	}
	return fd;
}

/* wait until the other rank is claimed, then MPI_Init as ours */
static int mpi_join_rank(struct mpi_job *j, int flags, int gone_fd)
{
	struct pollfd p = { .fd = gone_fd };
	int err;

	if (me.claim_pid != getpid()) {
		err = mpi_claim(j);
		if (err < 0)
			return err;
	} else if (me.claimed != j->sh) {
		return -EOPNOTSUPP;	/* waits for a peer in another job */
	}
	while (atomic_load(&j->sh->pid[!me.rank]) == 0) {
		if (!(flags & IPC_DONTWAIT) && ipc_stop)
			return -EINTR;
		if (poll(&p, 1, flags & IPC_DONTWAIT ? 0 :
			 MPI_CLAIM_POLL_MS) > 0 &&
		    (p.revents & (POLLHUP | POLLERR)))
			return -EPIPE;
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
	}
	/*
	 * Once we say IN_INIT, the peer's death gets us killed (see
	 * pmi_died): look at it before, and once more after saying so.
	 */
	err = mpi_peer_alive(j);
	if (err < 0)
		return err;
	(void)close(err);
	atomic_store(&j->sh->state[me.rank], RANK_IN_INIT);
	err = mpi_peer_alive(j);
	if (err < 0) {
		atomic_store(&j->sh->state[me.rank], RANK_OUT);
		return err;
	}
	me.peer_pidfd = err;
	mpi_init_rank(j, me.rank);
	atomic_store(&j->sh->state[me.rank], RANK_UP);
	return 0;
}

int mpi_join(struct mpi_job *j, bool alone, int flags, int gone_fd,
	     struct mpi_route *r)
{
	int err;

	if (me.pid && me.pid != getpid())
		return -EOPNOTSUPP;	/* MPI does not survive fork */
	if (!me.pid && (!alone || me.claim_pid == getpid())) {
		if (!j)
			return -EOPNOTSUPP;
		err = mpi_join_rank(j, flags, gone_fd);
		if (err < 0)
			return err;
	} else if (!me.pid) {
		mpi_init_alone();
	}
	if (alone) {
		*r = (struct mpi_route){ MPI_COMM_SELF, 0 };
		return 0;
	}
	if (!j || !me.job || me.job->sh != j->sh)
		return -EOPNOTSUPP;	/* a process stays in its first job */
	*r = (struct mpi_route){ MPI_COMM_WORLD, !me.rank };
	return 0;
}
