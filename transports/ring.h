/*
 * ring.h - the single-producer/single-consumer byte ring (ring.c) behind
 * shm, mmap, sysvshm, eventfd and uring. Internal to transports/: the
 * files differ only in where the memory comes from (struct
 * ipc_ring_backing) and in how a waiter is woken (struct ipc_ring_bell).
 */
#ifndef IPC_RING_H
#define IPC_RING_H

#include <stdatomic.h>

#include "transport.h"

/* Where the ring's memory comes from: an fd to mmap, or the memory itself */
struct ipc_ring_backing {
	/* a new, empty object named in ch->object; its fd or -errno */
	int (*open)(struct ipc_chan *ch, const struct ipc_opts *o);
	/* remove the name in ch->object (ENOENT is fine); may be NULL */
	void (*remove)(const char *object);
	/*
	 * Instead of open: len zeroed bytes shared across fork(), with
	 * nothing left to remove (sysvshm: shmat, then IPC_RMID); the
	 * memory or NULL with *err = -errno. unmap undoes it.
	 */
	void *(*map)(struct ipc_chan *ch, const struct ipc_opts *o, size_t len,
		     int *err);
	void (*unmap)(void *mem, size_t len);
};

/*
 * A doorbell: how a waiter sleeps on one end and is woken, and what a
 * poller of that end polls. ring.c decides when to ring (the RING_SLEEP
 * and RING_POLL bits, see its head comment); a bell must only keep a
 * ring that comes before the sleep or the poll, and may wake spuriously.
 * `bell` is what open() made; `word` is the end's wait word in the ring.
 */
struct ipc_ring_bell {
	const char *name;
	/* the bell of a new channel, both ends in this process; or -errno */
	int (*open)(struct ipc_chan *ch, const struct ipc_opts *o, void **bell);
	/* wake the sleeper (or poller, with poll_fd) of `end` */
	void (*wake)(struct ipc_chan *ch, void *bell, enum ipc_end end,
		     atomic_uint *word);
	/*
	 * Sleep on `end` until woken, or for about timeout_ns. 0 when woken
	 * (or for nothing: the caller looks again), 1 when timed out; -EINTR
	 * when a signal cut it; another -errno when the bell is broken.
	 * `seen` is the word as the sleeper set it.
	 */
	int (*sleep)(struct ipc_chan *ch, void *bell, enum ipc_end end,
		     atomic_uint *word, unsigned seen, long timeout_ns);
	/*
	 * Pollers: the fd that wake() makes readable, and drain(), which
	 * consumes its rings before a poller arms. NULL: pollers are rung
	 * with a byte on the link socket (the futex and SysV bells).
	 */
	int (*poll_fd)(const struct ipc_chan *ch, const void *bell,
		       enum ipc_end end);
	void (*drain)(struct ipc_chan *ch, void *bell, enum ipc_end end);
	/* this process lets go of `end` (after waking its peer); may be NULL */
	void (*drop)(struct ipc_chan *ch, void *bell, enum ipc_end end);
	void (*close)(struct ipc_chan *ch, void *bell);
};

/*
 * shm.c: a new /dev/shm/ipcfs.<pid>.<n>.<token>.<what> (0600) named in
 * ch->object, its fd or -errno; and its removal, for backings like shm's
 */
int ipc_shm_open_new(struct ipc_chan *ch, const char *what);
void ipc_shm_remove(const char *object);

/* ring.c: FUTEX_WAIT on the end's word, the default (shm, mmap) */
extern const struct ipc_ring_bell ipc_ring_futex;

/*
 * map a ring of o->capacity bytes (a power of two) in a new object,
 * woken through `bell`
 */
int ipc_ring_create(struct ipc_chan *ch, const struct ipc_opts *o,
		    const struct ipc_ring_backing *b,
		    const struct ipc_ring_bell *bell);
void ipc_ring_close_end(struct ipc_chan *ch, enum ipc_end end);
void ipc_ring_hangup(struct ipc_chan *ch);
ssize_t ipc_ring_send(struct ipc_chan *ch, const void *buf, size_t len,
		      int flags);
ssize_t ipc_ring_recv(struct ipc_chan *ch, void *buf, size_t len, int flags);
/* room for a byte now: the doorbell fd says so only when armed */
bool ipc_ring_writable(const struct ipc_chan *ch);
int ipc_ring_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
		     short *events);
void ipc_ring_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st);
/* hang up what is still open, unmap, remove the name */
void ipc_ring_destroy(struct ipc_chan *ch);

/* the rest of a ring transport's struct ipc_transport: all of it is ring.c */
#define IPC_RING_OPS						\
	.caps      = IPC_RING,					\
	.close_end = ipc_ring_close_end,			\
	.hangup    = ipc_ring_hangup,				\
	.send      = ipc_ring_send,				\
	.recv      = ipc_ring_recv,				\
	.wait_fd   = ipc_ring_wait_fd,				\
	.writable  = ipc_ring_writable,			\
	.stats     = ipc_ring_stats,				\
	.destroy   = ipc_ring_destroy

#endif
