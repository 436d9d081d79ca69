/*
 * chan.c - the wrappers every caller goes through: NULL checks, the
 * message-size rule and the byte/message counters live here, once.
 */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"

/*
 * Local mode's default capacity for byte streams: a FUSE write carries up
 * to 1 MiB, which then goes in whole (see docs/DESIGN.md, "stream capacity").
 */
#define IPC_LOCAL_STREAM_CAPACITY	(1u << 20)

int ipc_chan_open(struct ipc_chan *ch, const struct ipc_transport *t,
		  const struct ipc_opts *o)
{
	static const struct ipc_opts defaults;
	struct ipc_opts lo;
	int ret;

	memset(ch, 0, sizeof(*ch));
	ch->fd[IPC_RX] = ch->fd[IPC_TX] = -1;
	ch->side = -1;
	if (!o)
		o = &defaults;
	if (o->duplex && (o->local || !(t->caps & IPC_DUPLEX)))
		return -EOPNOTSUPP;
	ch->t = t;
	ch->duplex = o->duplex;
	if (o->local) {
		lo = *o;
		lo.visible = true;
		if (!lo.capacity && !(t->caps & IPC_MESSAGES))
			lo.capacity = IPC_LOCAL_STREAM_CAPACITY;
		o = &lo;
		ch->local = true;
	}
	ret = t->create(ch, o);
	if (ret < 0) {
		ch->t = NULL;
		return ret;
	}
	ch->open[IPC_RX] = ch->open[IPC_TX] = true;
	return 0;
}

/* duplex, one side kept: fd[end] is the other end's fd too */
static bool shared_fd(const struct ipc_chan *ch, enum ipc_end end)
{
	return ch->side >= 0 && ch->open[!end] && ch->fd[end] == ch->fd[!end];
}

static void drop_end(struct ipc_chan *ch, enum ipc_end end)
{
	if (!ch->t || !ch->open[end])
		return;
	if (shared_fd(ch, end))
		ch->fd[end] = -1;	/* the other end still uses it */
	ch->open[end] = false;
	if (ch->t->close_end)
		ch->t->close_end(ch, end);
	else
		ipc_fd_close(&ch->fd[end]);
}

void ipc_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	if (end == IPC_TX && ch->t && ch->open[IPC_TX] && ch->t->hangup)
		ch->t->hangup(ch);
	drop_end(ch, end);
}

void ipc_keep_end(struct ipc_chan *ch, enum ipc_end end)
{
	enum ipc_end other = end == IPC_RX ? IPC_TX : IPC_RX;

	drop_end(ch, other);
	if (!ch->duplex || !ch->t || !ch->open[end] || ch->side >= 0)
		return;
	/* the side kept sends and receives: both ends are it */
	ch->side = end;
	ch->fd[other] = ch->fd[end];
	ch->nonblock = ch->nonblock & (1u << end) ? 3u : 0u;
	ch->open[other] = true;
}

void ipc_chan_close(struct ipc_chan *ch)
{
	if (!ch->t)
		return;
	if (shared_fd(ch, IPC_TX))
		ch->fd[IPC_TX] = -1;	/* destroy() closes it once */
	ch->t->destroy(ch);
	ch->open[IPC_RX] = ch->open[IPC_TX] = false;
	ch->t = NULL;
}

void ipc_count(struct ipc_chan *ch, enum ipc_end end, size_t n)
{
	if (n == 0)
		return;
	if (end == IPC_RX) {
		ch->bytes_in += n;
		ch->msgs_in++;
	} else {
		ch->bytes_out += n;
		ch->msgs_out++;
	}
}

ssize_t ipc_send(struct ipc_chan *ch, const void *buf, size_t len, int flags)
{
	ssize_t n;

	if (!ch->open[IPC_TX])
		return -EBADF;
	if (len == 0)
		return 0;	/* an empty message would read as a hang-up */
	if (ipc_is_msg(ch) && len > ch->max_msg)
		return -EMSGSIZE;
	n = ch->t->send(ch, buf, len, flags);
	if (n > 0)
		ipc_count(ch, IPC_TX, (size_t)n);
	return n;
}

ssize_t ipc_recv(struct ipc_chan *ch, void *buf, size_t len, int flags)
{
	ssize_t n;

	if (!ch->open[IPC_RX])
		return -EBADF;
	if (ipc_is_msg(ch) && len < ch->max_msg)
		return -EMSGSIZE;
	if (len == 0)
		return 0;
	/* local mode: our TX end is open, so a 0 is an outsider's doing */
	while ((n = ch->t->recv(ch, buf, len, flags)) == 0 && ch->local)
		ch->dropped++;
	if (n > 0)
		ipc_count(ch, IPC_RX, (size_t)n);
	return n;
}

int ipc_send_all(struct ipc_chan *ch, const void *buf, size_t len, int flags)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = ipc_send(ch, p, len, flags);
		if (n < 0)
			return n;
		p += n;
		len -= n;
	}
	return 0;
}

int ipc_wait_fd(const struct ipc_chan *ch, enum ipc_end end, short *events)
{
	if (!ch->open[end])
		return -EBADF;
	if (ch->t->wait_fd)
		return ch->t->wait_fd(ch, end, events);
	*events = end == IPC_RX ? POLLIN : POLLOUT;
	return ch->fd[end];
}

bool ipc_drained(const struct ipc_chan *ch)
{
	return !ch->t->drained || ch->t->drained(ch);
}

bool ipc_writable(const struct ipc_chan *ch)
{
	struct pollfd p;

	if (!ch->open[IPC_TX])
		return false;
	if (ch->t->writable)
		return ch->t->writable(ch);
	p.fd = ipc_wait_fd(ch, IPC_TX, &p.events);
	return p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & p.events);
}

void ipc_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->queued_bytes = st->queued_msgs = st->capacity = -1;
	if (ch->t && ch->t->stats)
		ch->t->stats(ch, st);
	st->bytes_in = ch->bytes_in;
	st->bytes_out = ch->bytes_out;
	st->msgs_in = ch->msgs_in;
	st->msgs_out = ch->msgs_out;
	st->dropped = ch->dropped;
	/* both ends ours: what went in and has not come out is queued */
	if (st->queued_bytes < 0 && ch->local)
		st->queued_bytes = ch->bytes_out > ch->bytes_in ?
				   (long)(ch->bytes_out - ch->bytes_in) : 0;
	/* ...but never more than it can hold */
	if (st->capacity >= 0 && st->queued_bytes > st->capacity)
		st->queued_bytes = st->capacity;
}
