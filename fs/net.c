/*
 * net.c - the peering's common part: the ZeroMQ context, keys, the ZAP
 * handler, the timer of heartbeats and timeouts, and how zmq sockets sit
 * in the epoll loop.
 *
 * A socket's ZMQ_FD only says "look at ZMQ_EVENTS", edge-triggered, and
 * a send may eat the edge of a message that came meanwhile. So the loop
 * does not trust the fd to say everything: after every turn (fs->
 * turn_end) each socket is drained while ZMQ_EVENTS says POLLIN, and the
 * fd only wakes the loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zmq.h>

#include "net.h"

uint64_t net_now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

uint64_t net_now_ms(void)
{
	return net_now_us() / 1000;
}

static void nothing_ready(struct fs_watch *w)
{
	(void)w;	/* turn_end drains the sockets */
}

static int watch_fd(struct fs_net *net, struct fs_watch *w, int fd,
		    void (*ready)(struct fs_watch *), uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fc = NULL;
	w->ready = ready;
	w->fd = fd;
	if (epoll_ctl(net->fs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		w->fd = -1;
		return -errno;
	}
	return 0;
}

int net_watch_zsock(struct fs_net *net, struct fs_watch *w, void *zsock)
{
	size_t len = sizeof(int);
	int fd;

	if (zmq_getsockopt(zsock, ZMQ_FD, &fd, &len) < 0)
		return -errno;
	return watch_fd(net, w, fd, nothing_ready, EPOLLIN | EPOLLET);
}

void net_unwatch(struct fs_net *net, struct fs_watch *w)
{
	if (w->fd >= 0)
		(void)epoll_ctl(net->fs->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->fd = -1;
}

bool net_readable(void *zsock)
{
	int events = 0;
	size_t len = sizeof(events);

	return zmq_getsockopt(zsock, ZMQ_EVENTS, &events, &len) == 0 &&
	       (events & ZMQ_POLLIN);
}

int net_send(void *zsock, const void *id, size_t idlen,
	     const struct net_msg *m)
{
	size_t len = net_wire_size(m);
	zmq_msg_t msg;

	if (id && zmq_send(zsock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -errno;
	if (zmq_msg_init_size(&msg, len) < 0)
		return -errno;
	net_wire_encode(m, zmq_msg_data(&msg));
	if (zmq_msg_send(&msg, zsock, ZMQ_DONTWAIT) < 0) {
		int err = errno;

		zmq_msg_close(&msg);
		return -err;
	}
	return 0;
}

void net_refused(struct fs_net *net, const char *peer, const char *why)
{
	time_t now = time(NULL);

	net->refused++;
	if (now == net->refused_logged)
		return;
	net->refused_logged = now;
	fprintf(stderr, "ipcfs: peer %s: refused: %s (%lu refused so far)\n",
		peer, why, net->refused);
}

bool net_may(const struct fs_net *net, const struct fs_node *n, int want)
{
	unsigned bits = n->mode & 7;

	if (net->uid == 0)
		return true;
	if (n->uid == net->uid) {
		bits = n->mode >> 6 & 7;
	} else {
		bool member = n->gid == net->gid;

		for (int i = 0; i < net->ngroups && !member; i++)
			member = net->groups[i] == n->gid;
		if (member)
			bits = n->mode >> 3 & 7;
	}
	return ((unsigned)want & bits) == (unsigned)want;
}

static void timer_ready(struct fs_watch *w)
{
	struct fs_net *net = (struct fs_net *)((char *)w -
				offsetof(struct fs_net, timer_watch));
	uint64_t ticks;

	if (read(net->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	if (net->export)
		net_export_tick(net->export);
	if (net->import)
		net_import_tick(net->import);
}

static void zap_ready(struct fs_watch *w)
{
	struct fs_net *net = (struct fs_net *)((char *)w -
				offsetof(struct fs_net, zap_watch));

	net_zap_serve(net->zap);
}

static void net_turn_end(struct fs *fs)
{
	if (fs->net->zap)
		net_zap_serve(fs->net->zap);
	if (fs->net->export)
		net_export_turn(fs->net->export);
	if (fs->net->import)
		net_import_turn(fs->net->import);
}

static int net_stats(struct fs *fs, char *buf, size_t size)
{
	return fs->net->import ? net_import_stats(fs->net->import, buf, size)
			       : 0;
}

/* a tick a quarter of the timeout, at most a second: heartbeats */
static int timer_start(struct fs_net *net)
{
	struct itimerspec its = { 0 };

	net->tick_ms = net->timeout_ms / 4;
	if (net->tick_ms > 1000)
		net->tick_ms = 1000;
	net->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				       TFD_NONBLOCK | TFD_CLOEXEC);
	if (net->timer_fd < 0)
		return -errno;
	its.it_interval.tv_sec = net->tick_ms / 1000;
	its.it_interval.tv_nsec = (long)(net->tick_ms % 1000) * 1000000;
	its.it_value = its.it_interval;
	if (timerfd_settime(net->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return watch_fd(net, &net->timer_watch, net->timer_fd, timer_ready,
			EPOLLIN);
}

/* keys, trust, ZAP; 0 or -1 after a line */
static int keys_start(struct fs_net *net, const struct fs_opts *o)
{
	char err[256];
	int ret;

	if (net_key_load(o->key, &net->key, err, sizeof(err)) < 0 ||
	    net_trust_load(o->trust, &net->trust, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipcfs: %s\n", err);
		return -1;
	}
	ret = net_zap_open(net->zctx, net->trust, &net->zap);
	if (ret == 0)
		ret = watch_fd(net, &net->zap_watch, net_zap_fd(net->zap),
			       zap_ready, EPOLLIN);
	if (ret < 0) {
		fprintf(stderr, "ipcfs: ZAP handler: %s\n", strerror(-ret));
		return -1;
	}
	return 0;
}

static int net_setup(struct fs_net *net, const struct fs_opts *o)
{
	int ret;

	net->zctx = zmq_ctx_new();
	if (!net->zctx) {
		fprintf(stderr, "ipcfs: zmq context: %s\n", strerror(errno));
		return -1;
	}
	if (keys_start(net, o) < 0)
		return -1;
	ret = timer_start(net);
	if (ret < 0) {
		fprintf(stderr, "ipcfs: timer: %s\n", strerror(-ret));
		return -1;
	}
	if (o->listen[0] && net_export_start(net, o->listen) < 0)
		return -1;
	if (o->npeers && net_import_start(net, o) < 0)
		return -1;
	return 0;
}

/* can we listen at ADDR:PORT? what zmq_bind would say later, where a
 * daemon in the background could no longer tell the user */
static int listen_check(const char *listen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *colon = strrchr(listen, ':');
	char addr[INET_ADDRSTRLEN];
	int fd, one = 1, err = 0;

	snprintf(addr, sizeof(addr), "%.*s", (int)(colon - listen), listen);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (strcmp(addr, "*") != 0 &&
	    inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		err = EINVAL;
	fd = err ? -1 : socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!err && (fd < 0 ||
		     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				sizeof(one)) < 0 ||
		     bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0))
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err)
		fprintf(stderr, "ipcfs: listen=%s: %s\n", listen, strerror(err));
	return err ? -1 : 0;
}

int fs_net_check(const struct fs_opts *o)
{
	struct net_trust *t = NULL;
	struct net_key k;
	char err[256];
	int ret = 0;

	if (!o->listen[0] && !o->npeers)
		return 0;
	if (net_key_load(o->key, &k, err, sizeof(err)) < 0 ||
	    net_trust_load(o->trust, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipcfs: %s\n", err);
		ret = -1;
	}
	for (unsigned i = 0; t && i < o->npeers; i++)
		if (!net_trust_key(t, o->peers[i].name)) {
			fprintf(stderr, "ipcfs: peer %s: no key for it in %s\n",
				o->peers[i].name, o->trust);
			ret = -1;
		}
	if (t)
		net_trust_free(t);
	explicit_bzero(&k, sizeof(k));
	if (!ret && o->listen[0])
		ret = listen_check(o->listen);
	return ret;
}

int fs_net_start(struct fs *fs, const struct fs_opts *o)
{
	struct fs_net *net;

	if (!o->listen[0] && !o->npeers)
		return 0;
	net = calloc(1, sizeof(*net));
	if (!net) {
		fprintf(stderr, "ipcfs: %s\n", strerror(ENOMEM));
		return -1;
	}
	net->fs = fs;
	net->timer_fd = -1;
	net->timer_watch.fd = net->zap_watch.fd = -1;
	net->timeout_ms = o->peer_timeout_s * 1000;
	net->uid = geteuid();
	net->gid = getegid();
	net->ngroups = getgroups(64, net->groups);
	if (net->ngroups < 0)
		net->ngroups = 0;
	fs->net = net;
	fs->turn_end = net_turn_end;
	fs->stats_extra = net_stats;
	if (net_setup(net, o) < 0) {
		fs_net_stop(fs);
		return -1;
	}
	return 0;
}

void fs_net_stop(struct fs *fs)
{
	struct fs_net *net = fs->net;

	if (!net)
		return;
	if (net->import)
		net_import_stop(net->import);
	if (net->export)
		net_export_stop(net->export);
	net_unwatch(net, &net->timer_watch);
	net_unwatch(net, &net->zap_watch);
	if (net->timer_fd >= 0)
		close(net->timer_fd);
	if (net->zap)
		net_zap_close(net->zap);
	if (net->trust)
		net_trust_free(net->trust);
	if (net->zctx)
		zmq_ctx_term(net->zctx);
	fs->turn_end = NULL;
	fs->stats_extra = NULL;
	fs->net = NULL;
	free(net);
}
