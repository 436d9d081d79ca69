/*
 * classic_zmq.c - the zmq baseline (--baseline): a ZeroMQ ping-pong the
 * way a plain program writes it, on libzmq alone: one PAIR socket each, the
 * child's bound at tcp://127.0.0.1:PORT (--zmq ipc: ipc://), an empty
 * message the hang-up; bench/zmq-settings runs the other shapes through it.
 * A context must not cross fork(): open() only reserves the endpoints (a
 * bound, non-listening SO_REUSEADDR socket holds each port, which the
 * child's listener then shares); the sockets are made in attach().
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include "bench.h"

struct czmq {
	struct bench_link l;
	struct bench_zmq_cfg cfg;
	enum bench_side side;
	char ep[2][IPC_OBJECT_MAX];	/* ping's endpoint, pong's (two pairs) */
	int resv[2];		/* tcp: the ports until the child binds */
	void *ctx, *sock[2];	/* [0] ping or both ways, [1] pong */
	zmq_msg_t id;		/* ROUTER: the peer's identity frame */
	bool have_id;
};

#define Z(p)	container_of(p, struct czmq, l)

/* sockets per side: a pair each way for PUSH/PULL, else one */
static int czmq_nsock(const struct czmq *c)
{
	return c->cfg.type[BENCH_CHILD] == ZMQ_PULL ? 2 : 1;
}

static void czmq_close(struct bench_link *l)
{
	struct czmq *c = Z(l);

	for (int i = 0; i < 2; i++) {
		if (c->sock[i])
			(void)zmq_close(c->sock[i]);
		c->sock[i] = NULL;
		bench_close_fd(&c->resv[i]);
		if (c->ep[i][0] == 'i')
			(void)unlink(c->ep[i] + 6);
		c->ep[i][0] = '\0';
	}
	if (c->have_id)
		zmq_msg_close(&c->id);
	c->have_id = false;
	if (c->ctx)
		while (zmq_ctx_term(c->ctx) < 0 && errno == EINTR)
			;
	c->ctx = NULL;
}

/* ep gets a fresh endpoint; tcp: its port held by *resv */
static int czmq_endpoint(struct czmq *c, char *ep, int *resv, int n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	char dir[IPC_OBJECT_MAX - 64];
	int one = 1, ret;

	if (strcmp(c->cfg.kind, "ipc") == 0) {
		ret = ipc_rundir(NULL, dir, sizeof(dir));
		if (ret < 0)
			return ret;
		snprintf(ep, IPC_OBJECT_MAX, "ipc://%s/bench.%ld.%d.zmq", dir,
			 (long)getpid(), n);
		return 0;
	}
	*resv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*resv < 0 ||
	    setsockopt(*resv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(*resv, (struct sockaddr *)&sa, len) < 0 ||
	    getsockname(*resv, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	snprintf(ep, IPC_OBJECT_MAX, "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
	return 0;
}

static int czmq_open(struct bench_link *l, size_t size)
{
	struct czmq *c = Z(l);
	int ret = 0;

	czmq_close(l);
	l->messages = true;
	l->rx_min = size;
	for (int i = 0; i < czmq_nsock(c) && ret == 0; i++)
		ret = czmq_endpoint(c, c->ep[i], &c->resv[i], i);
	if (ret < 0)
		czmq_close(l);
	return ret;
}

/* a socket of type, bound (the child's ping, the parent's pong) or
 * connected to ep; NULL with errno set */
static void *czmq_socket(struct czmq *c, int type, bool bind, const char *ep)
{
	int hwm = c->cfg.hwm, on = 1, linger = 1000;
	void *s = zmq_socket(c->ctx, type);

	if (!s)
		return NULL;
	if ((hwm && (zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
		     zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0)) ||
	    (c->cfg.immediate &&
	     zmq_setsockopt(s, ZMQ_IMMEDIATE, &on, sizeof(on)) < 0) ||
	    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
	    (bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) < 0) {
		linger = errno;
		(void)zmq_close(s);
		errno = linger;
		return NULL;
	}
	return s;
}

static int czmq_attach(struct bench_link *l, enum bench_side side)
{
	struct czmq *c = Z(l);
	bool child = side == BENCH_CHILD;
	int n = czmq_nsock(c);

	c->side = side;
	c->ctx = zmq_ctx_new();
	if (!c->ctx || zmq_ctx_set(c->ctx, ZMQ_IO_THREADS, c->cfg.io_threads) < 0)
		return -errno;
	/* ping: the child binds; pong of two pairs: the parent binds */
	c->sock[0] = czmq_socket(c, n == 1 ? c->cfg.type[side] :
				 child ? ZMQ_PULL : ZMQ_PUSH, child, c->ep[0]);
	if (c->sock[0] && n == 2)
		c->sock[1] = czmq_socket(c, child ? ZMQ_PUSH : ZMQ_PULL,
					 !child, c->ep[1]);
	if (!c->sock[0] || (n == 2 && !c->sock[1]))
		return -errno;
	for (int i = 0; i < 2; i++)
		bench_close_fd(&c->resv[i]);	/* bound: the port is the listener's */
	return 0;
}

/* PUSH/PULL: the parent sends on [0] and receives on [1], the child the
 * other way; one socket otherwise */
static void *czmq_sock(struct czmq *c, bool tx)
{
	return c->sock[czmq_nsock(c) == 2 && (c->side == BENCH_CHILD) == tx];
}

static ssize_t czmq_send(struct bench_link *l, const void *buf, size_t len)
{
	struct czmq *c = Z(l);
	void *s = czmq_sock(c, true);
	zmq_msg_t id;

	if (c->have_id) {	/* ROUTER: address the reply */
		zmq_msg_init(&id);
		if (zmq_msg_copy(&id, &c->id) < 0 ||
		    zmq_msg_send(&id, s, ZMQ_SNDMORE) < 0) {
			zmq_msg_close(&id);
			return -errno;
		}
	}
	return zmq_send(s, buf, len, 0) < 0 ? -errno : (ssize_t)len;
}

static ssize_t czmq_recv(struct bench_link *l, void *buf, size_t len)
{
	struct czmq *c = Z(l);
	void *s = czmq_sock(c, false);
	int n;

	if (c->cfg.type[c->side] == ZMQ_ROUTER) {
		if (!c->have_id)
			zmq_msg_init(&c->id);
		c->have_id = true;
		if (zmq_msg_recv(&c->id, s, 0) < 0)
			return -errno;
	}
	n = zmq_recv(s, buf, len, 0);
	if (n < 0)
		return -errno;
	return (size_t)n > len ? -EMSGSIZE : n;
}

static void czmq_hangup(struct bench_link *l)
{
	(void)czmq_send(l, "", 0);
}

static const struct bench_link_ops czmq_ops = {
	.open = czmq_open, .attach = czmq_attach, .send = czmq_send,
	.recv = czmq_recv, .hangup = czmq_hangup, .close = czmq_close,
};

struct bench_link *bench_link_classic_zmq(const struct bench_zmq_cfg *cfg,
					  const char *name)
{
	struct czmq *c = bench_link_new(sizeof(*c), &czmq_ops,
					BENCH_ROAD_DIRECT, name);

	c->l.classic = true;
	c->cfg = *cfg;
	c->resv[0] = c->resv[1] = -1;
	return &c->l;
}

void bench_zmq_cfg_plain(struct bench_zmq_cfg *cfg, const char *kind)
{
	*cfg = (struct bench_zmq_cfg){ .type = { ZMQ_PAIR, ZMQ_PAIR },
				       .kind = kind ? kind : "tcp",
				       .io_threads = 1 };
}
