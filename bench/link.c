/*
 * link.c - the transports road: each direction is one channel made with
 * ipc_chan_open() before fork; after fork each side keeps the ends it
 * uses with ipc_keep_end(). Everything goes through the library's
 * wrappers (ipc_send, ipc_recv, ipc_close_end, ipc_chan_close).
 */
#include <string.h>

#include "bench.h"

#define PING	0
#define PONG	1

static void link_ipc_close(struct bench_link *l)
{
	ipc_chan_close(&l->ch[PING]);
	ipc_chan_close(&l->ch[PONG]);
}

static int link_ipc_open(struct bench_link *l, size_t size)
{
	struct ipc_opts o = l->ipc;
	int i, ret;

	o.max_msg = size;
	memset(l->ch, 0, sizeof(l->ch));	/* ipc_chan_close: t == NULL */
	if (l->t->caps & IPC_LOCAL)
		return -EOPNOTSUPP;	/* one process only: the mount's control */
	for (i = 0; i < 2; i++) {
		ret = ipc_chan_open(&l->ch[i], l->t, &o);
		if (ret < 0)
			goto err_close;
	}
	l->messages = ipc_is_msg(&l->ch[PING]);
	l->rx_min = 0;
	if (l->messages) {
		/* a transport that took max_msg but cannot carry size */
		if (l->ch[PING].max_msg < size || l->ch[PONG].max_msg < size) {
			ret = -EMSGSIZE;
			goto err_close;
		}
		l->rx_min = l->ch[PING].max_msg > l->ch[PONG].max_msg ?
			    l->ch[PING].max_msg : l->ch[PONG].max_msg;
	}
	return 0;

err_close:
	link_ipc_close(l);
	return ret;
}

/* the parent sends pings and receives pongs; the child the other way */
static int link_ipc_attach(struct bench_link *l, enum bench_side side)
{
	l->side = side;
	ipc_keep_end(&l->ch[PING], side == BENCH_PARENT ? IPC_TX : IPC_RX);
	ipc_keep_end(&l->ch[PONG], side == BENCH_PARENT ? IPC_RX : IPC_TX);
	return 0;
}

static struct ipc_chan *tx(struct bench_link *l)
{
	return &l->ch[l->side == BENCH_PARENT ? PING : PONG];
}

static struct ipc_chan *rx(struct bench_link *l)
{
	return &l->ch[l->side == BENCH_PARENT ? PONG : PING];
}

static ssize_t link_ipc_send(struct bench_link *l, const void *buf,
			     size_t len)
{
	return ipc_send(tx(l), buf, len, 0);
}

static ssize_t link_ipc_recv(struct bench_link *l, void *buf, size_t len)
{
	return ipc_recv(rx(l), buf, len, 0);
}

static void link_ipc_hangup(struct bench_link *l)
{
	ipc_close_end(tx(l), IPC_TX);
}

static const struct bench_link_ops link_ipc_ops = {
	.open   = link_ipc_open,
	.attach = link_ipc_attach,
	.send   = link_ipc_send,
	.recv   = link_ipc_recv,
	.hangup = link_ipc_hangup,
	.close  = link_ipc_close,
};

void bench_link_ipc(struct bench_link *l, const struct ipc_transport *t,
		    const struct ipc_opts *o)
{
	memset(l, 0, sizeof(*l));
	l->ops = &link_ipc_ops;
	l->t = t;
	l->ipc = *o;
	/* only rings honour spin; keep it off elsewhere so rows say so */
	l->ipc.spin = o->spin && (t->caps & IPC_RING);
	snprintf(l->name, sizeof(l->name), "%s", t->name);
}
