/*
 * ring.h - the single-producer/single-consumer byte ring that shm and mmap
 * share (ring.c). Internal to transports/: the two files differ only in
 * where the memory comes from, which is what struct ipc_ring_backing says.
 */
#ifndef IPC_RING_H
#define IPC_RING_H

#include "transport.h"

struct ipc_ring_backing {
	/* a new, empty object named in ch->object; its fd or -errno */
	int (*open)(struct ipc_chan *ch, const struct ipc_opts *o);
	/* remove the name in ch->object (ENOENT is fine) */
	void (*remove)(const char *object);
};

/* map a ring of o->capacity bytes (a power of two) in a new object */
int ipc_ring_create(struct ipc_chan *ch, const struct ipc_opts *o,
		    const struct ipc_ring_backing *b);
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

#endif
