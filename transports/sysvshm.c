/*
 * sysvshm: the byte ring of ring.c in a System V shared memory segment
 * (shmget/shmat), woken through System V semaphores (semop), the classic
 * pairing. A byte stream like a pipe: power-of-two capacity (64 KiB by
 * default), EOF once the writer hangs up, -EPIPE once the reader is gone.
 *
 * Objects. The segment is marked IPC_RMID as soon as it is attached:
 * fork() inherits the attachment, and the daemon holds both ends itself,
 * so nothing can leak it, even a SIGKILL (`ipcs -m` shows it with key 0,
 * status "dest", while attached). A semaphore set cannot be used once
 * removed, so the set of two (RX, TX) lives with the channel; its key
 * comes from a marker file in the runtime dir (sysv.h), which the next
 * daemon's sweep follows when a killed process left the set behind. The
 * last process to close the channel removes the set: the segment's
 * attachments say who is left (see sem_close). ch->object is
 * "shm:<shmid>,sem:<semid>", as ipcs shows them, both 0600.
 *
 * Waiting: semtimedop(-1) on the end's semaphore, for at most 500 ms (a
 * killed peer bumps nothing); the waker adds 1. A count left by a ring
 * that came for nothing makes one sleep return at once, then the waiter
 * looks again. Semaphores have no fd: pollers (the daemon) are rung with
 * a byte on the link socket, as with the futex. Limits: shmmax (EINVAL),
 * shmmni and shmall (ENOSPC), semmni and semmns (ENOSPC), see
 * RELIABILITY.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "sysv.h"

#define SEM_COUNT	2	/* one per end: [IPC_RX], [IPC_TX] */

/* ---- the memory: a segment, removed as soon as it is attached ------- */

static int shm_get(key_t key, void *arg)
{
	int id = shmget(key, *(size_t *)arg, IPC_CREAT | IPC_EXCL | 0600);

	return id < 0 ? -errno : id;
}

static void *sysvshm_map(struct ipc_chan *ch, const struct ipc_opts *o,
			 size_t len, int *err)
{
	struct ipc_sysv marker;
	void *mem;
	int id;

	id = ipc_sysv_create(&marker, o, "sysvshm", shm_get, &len);
	if (id < 0) {
		*err = id;
		return NULL;
	}
	mem = shmat(id, NULL, 0);
	*err = mem == (void *)-1 ? -errno : 0;
	/* the kernel frees it with the last detach, fork or not */
	(void)shmctl(id, IPC_RMID, NULL);
	ipc_sysv_forget(&marker);
	if (*err)
		return NULL;
	/* allocate now: -ENOMEM here rather than a fault at the first store */
	if (madvise(mem, len, MADV_POPULATE_WRITE) < 0 && errno != EINVAL) {
		*err = -errno;
		(void)shmdt(mem);
		return NULL;
	}
	snprintf(ch->object, sizeof(ch->object), "shm:%d", id);
	return mem;
}

static void sysvshm_unmap(void *mem, size_t len)
{
	(void)len;
	(void)shmdt(mem);
}

static const struct ipc_ring_backing sysvshm_backing = {
	.map   = sysvshm_map,
	.unmap = sysvshm_unmap,
};

/* ---- the bell: a semaphore per end ---------------------------------- */

struct sem_bell {
	struct ipc_sysv sysv;	/* the marker: its name gives the key */
	int id;
	int shmid;		/* the segment, whose attachments count users */
	pid_t shm_cpid;		/* ... and what tells it from a later one */
	time_t shm_ctime;
};

static int sem_get(key_t key, void *arg)
{
	int id = semget(key, SEM_COUNT, IPC_CREAT | IPC_EXCL | 0600);

	(void)arg;
	return id < 0 ? -errno : id;
}

static void sem_remove(struct sem_bell *b)
{
	(void)semctl(b->id, 0, IPC_RMID);
	ipc_sysv_forget(&b->sysv);
}

/* the segment in ch->object, as it is now: -errno when there is none */
static int sem_note_segment(struct ipc_chan *ch, struct sem_bell *b)
{
	struct shmid_ds ds;

	if (sscanf(ch->object, "shm:%d", &b->shmid) != 1)
		return -EINVAL;
	if (shmctl(b->shmid, IPC_STAT, &ds) < 0)
		return -errno;
	b->shm_cpid = ds.shm_cpid;
	b->shm_ctime = ds.shm_ctime;
	return 0;
}

static int sem_open_bell(struct ipc_chan *ch, const struct ipc_opts *o,
			 void **bell)
{
	struct sem_bell *b = calloc(1, sizeof(*b));
	size_t n;
	int err;

	if (!b)
		return -ENOMEM;
	err = sem_note_segment(ch, b);
	if (err < 0)
		goto err_free;
	b->id = ipc_sysv_create(&b->sysv, o, "sysvsem", sem_get, NULL);
	err = b->id;
	if (err < 0)
		goto err_free;
	/* SETVAL stamps our pid on each: whose set it is, for `ipcs -s -i` */
	for (int end = IPC_RX; end <= IPC_TX; end++)
		if (semctl(b->id, end, SETVAL, 0) < 0) {
			err = -errno;
			sem_remove(b);
			goto err_free;
		}
	n = strlen(ch->object);
	snprintf(ch->object + n, sizeof(ch->object) - n, ",sem:%d", b->id);
	*bell = b;
	return 0;

err_free:
	free(b);
	return err;
}

static void sem_wake(struct ipc_chan *ch, void *bell, enum ipc_end end,
		     atomic_uint *word)
{
	struct sem_bell *b = bell;
	struct sembuf op = { (unsigned short)end, 1, 0 };

	(void)ch;
	(void)word;
	/* ERANGE at SEMVMX: it is up anyway; EINVAL: removed under us */
	(void)semop(b->id, &op, 1);
}

static int sem_sleep(struct ipc_chan *ch, void *bell, enum ipc_end end,
		     atomic_uint *word, unsigned seen, long timeout_ns)
{
	struct sem_bell *b = bell;
	struct sembuf op = { (unsigned short)end, -1, 0 };
	struct timespec ts = { timeout_ns / 1000000000L,
			       timeout_ns % 1000000000L };

	(void)ch;
	(void)word;
	(void)seen;
	if (semtimedop(b->id, &op, 1, &ts) == 0)
		return 0;
	if (errno == EAGAIN)
		return 1;	/* timed out */
	/* someone removed the set (ipcrm): EIDRM asleep, EINVAL after */
	return errno == EINVAL ? -EIDRM : -errno;
}

/*
 * The last user out removes the set, and its marker. Users are the
 * segment's attachments, which the kernel counts across fork() and death
 * as it counts the link's holders: ring.c has detached ours already, so
 * the segment is gone (or is a later one under the same id) when nobody
 * else has it. In local mode both ends were ours alone.
 */
static void sem_close(struct ipc_chan *ch, void *bell)
{
	struct sem_bell *b = bell;
	struct shmid_ds ds;

	if (ch->local || shmctl(b->shmid, IPC_STAT, &ds) < 0 ||
	    ds.shm_cpid != b->shm_cpid || ds.shm_ctime != b->shm_ctime)
		sem_remove(b);
	free(b);
}

static const struct ipc_ring_bell sem_bell = {
	.name  = "sysvsem",
	.open  = sem_open_bell,
	.wake  = sem_wake,
	.sleep = sem_sleep,
	.close = sem_close,
};

static int sysvshm_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	return ipc_ring_create(ch, o, &sysvshm_backing, &sem_bell);
}

const struct ipc_transport ipc_sysvshm = {
	.name      = "sysvshm",
	.what      = "System V segment, SPSC byte ring, semaphore wake-ups",
	.create    = sysvshm_create,
	IPC_RING_OPS,
};
