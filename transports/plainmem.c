/*
 * plainmem: NOT inter-process communication. A byte buffer in the
 * daemon's own memory, with no kernel mechanism behind it: the control
 * row of the bench. Whatever it costs through the mount is the FUSE road
 * alone, so a transport's mount figure against plainmem's is that
 * transport's own cost. Both ends live in one process (IPC_LOCAL): it
 * cannot be shared across fork(), and the direct bench leaves it out.
 * Byte stream, 64 KiB by default, EOF after the hang-up.
 */
#include <stdlib.h>
#include <string.h>

#include "transport.h"

struct plainmem {
	char *buf;
	size_t cap, head, len;	/* circular: data at head, len bytes */
	bool hung_up;
};

static int plainmem_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct plainmem *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->cap = o->capacity ? o->capacity : 65536;
	m->buf = malloc(m->cap);
	if (!m->buf) {
		free(m);
		return -ENOMEM;
	}
	ch->priv = m;
	return 0;
}

/* copy between the ring and a flat buffer, in at most two pieces */
static void ring_copy(struct plainmem *m, size_t pos, char *flat, size_t len,
		      bool into_ring)
{
	size_t first = m->cap - pos < len ? m->cap - pos : len;

	if (into_ring) {
		memcpy(m->buf + pos, flat, first);
		memcpy(m->buf, flat + first, len - first);
	} else {
		memcpy(flat, m->buf + pos, first);
		memcpy(flat + first, m->buf, len - first);
	}
}

static ssize_t plainmem_send(struct ipc_chan *ch, const void *buf, size_t len,
			     int flags)
{
	struct plainmem *m = ch->priv;
	size_t room = m->cap - m->len;

	/* nobody else could ever make room: waiting would be forever */
	(void)flags;
	if (!ch->open[IPC_RX])
		return -EPIPE;
	if (room == 0)
		return -EAGAIN;
	if (len > room)
		len = room;
	ring_copy(m, (m->head + m->len) % m->cap, (char *)buf, len, true);
	m->len += len;
	return (ssize_t)len;
}

static ssize_t plainmem_recv(struct ipc_chan *ch, void *buf, size_t len,
			     int flags)
{
	struct plainmem *m = ch->priv;

	(void)flags;
	if (m->len == 0)
		return (m->hung_up && !ch->local) || !ch->open[IPC_TX] ?
		       0 : -EAGAIN;
	if (len > m->len)
		len = m->len;
	ring_copy(m, m->head, buf, len, false);
	m->head = (m->head + len) % m->cap;
	m->len -= len;
	return (ssize_t)len;
}

static void plainmem_hangup(struct ipc_chan *ch)
{
	((struct plainmem *)ch->priv)->hung_up = true;
}

static void plainmem_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	(void)ch;
	(void)end;
}

static bool plainmem_writable(const struct ipc_chan *ch)
{
	const struct plainmem *m = ch->priv;

	return m->len < m->cap;
}

/* both ends are ours: only our own send or receive changes anything */
static int plainmem_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
			    short *events)
{
	(void)ch;
	(void)end;
	*events = 0;
	return -1;
}

static void plainmem_stats(const struct ipc_chan *ch,
			   struct ipc_chan_stats *st)
{
	const struct plainmem *m = ch->priv;

	st->queued_bytes = (long)m->len;
	st->capacity = (long)m->cap;
}

static void plainmem_destroy(struct ipc_chan *ch)
{
	struct plainmem *m = ch->priv;

	if (m)
		free(m->buf);
	free(m);
	ch->priv = NULL;
}

const struct ipc_transport ipc_plainmem = {
	.name      = "plainmem",
	.what      = "control, not IPC: a buffer in one process's memory",
	.caps      = IPC_LOCAL,
	.create    = plainmem_create,
	.close_end = plainmem_close_end,
	.hangup    = plainmem_hangup,
	.send      = plainmem_send,
	.recv      = plainmem_recv,
	.wait_fd   = plainmem_wait_fd,
	.writable  = plainmem_writable,
	.stats     = plainmem_stats,
	.destroy   = plainmem_destroy,
};
