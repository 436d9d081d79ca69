/* road_direct.c - the direct road: one duplex channel where the
 * mechanism is duplex (IPC_DUPLEX: one connection both ways, as every
 * peer program does), else a channel each way; ipc_chan_open() before
 * fork, ipc_keep_end() after; only the library's wrappers. Across hosts
 * (zmq): each channel made in its reader's namespace (duplex: the
 * child's), at its address, where that side binds after fork */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct direct {
	struct bench_link l;
	const struct ipc_transport *t;
	struct ipc_opts ipc;
	struct ipc_chan ch[2];	/* ping, pong; duplex: ch[0] both ways */
	int nch;		/* 1 duplex, else 2 */
	enum bench_side side;
	const struct bench_net *net;
};

#define D(p)	container_of(p, struct direct, l)

static void direct_close(struct bench_link *l)
{
	for (int i = 0; i < D(l)->nch; i++)
		ipc_chan_close(&D(l)->ch[i]);
}

static int direct_open(struct bench_link *l, size_t size)
{
	struct direct *d = D(l);
	struct ipc_opts o = d->ipc;
	enum bench_side reader;
	int i, ret = 0;

	o.max_msg = size;
	memset(d->ch, 0, sizeof(d->ch));	/* ipc_chan_close: t == NULL */
	for (i = 0; i < d->nch && ret == 0; i++) {
		reader = i == 0 ? BENCH_CHILD : BENCH_PARENT;
		if (d->net && (ret = bench_net_enter(d->net, reader)) == 0)
			o.bind_addr = d->net->addr[reader];
		ret = ret ?: ipc_chan_open(&d->ch[i], d->t, &o);
	}
	if (d->net && (i = bench_net_enter(d->net, BENCH_PARENT)) < 0)
		ret = ret ?: i;
	l->messages = ret == 0 && ipc_is_msg(&d->ch[0]);
	l->rx_min = 0;
	for (i = 0; i < d->nch && l->messages; i++) {
		/* a transport that took max_msg but cannot carry size */
		if (d->ch[i].max_msg < size)
			ret = -EMSGSIZE;
		if (d->ch[i].max_msg > l->rx_min)
			l->rx_min = d->ch[i].max_msg;
	}
	if (ret < 0)
		direct_close(l);
	return ret;
}

/* the parent sends pings and receives pongs; the child the other way;
 * duplex: the parent keeps ch[0]'s TX side, the child its RX side */
static int direct_attach(struct bench_link *l, enum bench_side side)
{
	D(l)->side = side;
	ipc_keep_end(&D(l)->ch[0], side == BENCH_PARENT ? IPC_TX : IPC_RX);
	if (D(l)->nch == 2)
		ipc_keep_end(&D(l)->ch[1], side == BENCH_PARENT ? IPC_RX : IPC_TX);
	return 0;
}

static struct ipc_chan *chan(struct bench_link *l, bool tx)
{
	if (D(l)->nch == 1)
		return &D(l)->ch[0];
	return &D(l)->ch[(D(l)->side == BENCH_PARENT) != tx];
}

static ssize_t direct_send(struct bench_link *l, const void *buf, size_t len)
{
	return ipc_send(chan(l, true), buf, len, 0);
}

static ssize_t direct_recv(struct bench_link *l, void *buf, size_t len)
{
	return ipc_recv(chan(l, false), buf, len, 0);
}

static void direct_hangup(struct bench_link *l)
{
	ipc_close_end(chan(l, true), IPC_TX);
}

static const struct bench_link_ops direct_ops = {
	.open = direct_open, .attach = direct_attach, .send = direct_send,
	.recv = direct_recv, .hangup = direct_hangup, .close = direct_close,
};

struct bench_link *bench_link_ipc(const struct ipc_transport *t, const struct ipc_opts *o,
				  const struct bench_net *net)
{
	struct direct *d = bench_link_new(sizeof(*d), &direct_ops, BENCH_ROAD_DIRECT, t->name);

	d->t = t;
	d->net = net;
	d->ipc = *o;
	d->ipc.duplex = t->caps & IPC_DUPLEX;
	d->nch = d->ipc.duplex ? 1 : 2;
	d->l.fresh = t->caps & IPC_FRESH;
	/* only rings honour spin; keep it off elsewhere so rows say so */
	d->ipc.spin = o->spin && (t->caps & IPC_RING);
	d->ipc.sleep = o->sleep && (t->caps & IPC_RING);
	return &d->l;
}
