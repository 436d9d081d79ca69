/*
 * net_import.c - peers' trees as MOUNT/net/NAME (-o peer=NAME=HOST:PORT).
 *
 * net/ and everything under it are FS_NET nodes with their own FUSE
 * handlers (net_import_ops; ops.c hands them over). Every request on a
 * peer's file becomes a numbered request to the peer, and the FUSE
 * request waits, unanswered, until the peer's REPLY (a signal sends a
 * CANCEL; the peer answers EINTR or a short count, as locally).
 *
 * Per peer: a DEALER with CURVE whose routing id is this daemon's random
 * session id; a window of NET_CALLS_MAX requests and NET_WINDOW_BYTES of
 * reads and writes in flight (more wait here, in order); the requests
 * not answered yet are sent again when the connection comes back
 * (HELLO, answered, after each handshake); the peer executes each seq
 * once. A peer silent for peer_timeout is lost: what waits gets
 * ETIMEDOUT, new requests EHOSTUNREACH until it answers again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

#include "net_import.h"

#define NET_WINDOW_BYTES	((size_t)8 << 20)
#define NET_RECONNECT_MS	200
/* an ACK once this many replies or bytes of them are unacked (or at the
 * tick): every request carries the low mark, which is all a ping-pong
 * needs, and an ACK per reply was a third message per round trip */
#define NET_ACK_EVERY		16
#define NET_ACK_BYTES		((size_t)1 << 20)

static const char *const state_names[] = { "connecting", "up", "lost" };

/* the peer's lowest seq without a reply: it has all replies below */
static uint64_t low_mark(const struct net_peer *p)
{
	struct net_out *o = TAILQ_FIRST(&p->inflight);

	return o ? o->m.seq : p->next_seq;
}

static void send_out(struct net_peer *p, struct net_out *o)
{
	struct net_msg c = { .type = NET_CANCEL, .arg = o->m.seq };

	if (!p->connected || !p->greeted)
		return;		/* sent again after the next HELLO */
	o->m.ack = low_mark(p);
	if (net_send(p->dealer, NULL, 0, &o->m) == 0 && o->cancel) {
		c.ack = o->m.ack;
		(void)net_send(p->dealer, NULL, 0, &c);
	}
}

static bool window_open(const struct net_peer *p, const struct net_out *o)
{
	return p->ninflight + p->nacks < NET_CALLS_MAX &&
	       p->inflight_bytes + o->cost <= NET_WINDOW_BYTES &&
	       p->next_seq - low_mark(p) < NET_SEQ_SPAN - 1;
}

/* admit what waits, in order, while the window has room */
static void pump(struct net_peer *p)
{
	struct net_out *o;

	while ((o = TAILQ_FIRST(&p->waiting)) != NULL && window_open(p, o)) {
		TAILQ_REMOVE(&p->waiting, o, link);
		o->m.seq = p->next_seq++;
		TAILQ_INSERT_TAIL(&p->inflight, o, link);
		o->queued = true;
		p->ninflight++;
		p->inflight_bytes += o->cost;
		send_out(p, o);
	}
}

static void out_free(struct net_out *o)
{
	struct net_peer *p = o->peer;

	if (o->queued) {
		TAILQ_REMOVE(&p->inflight, o, link);
		p->ninflight--;
		p->inflight_bytes -= o->cost;
	} else {
		TAILQ_REMOVE(&p->waiting, o, link);
	}
	if (o->ph)
		fuse_pollhandle_destroy(o->ph);
	free(o->blob);
	free(o);
}

/* a signal on the caller: not sent yet, EINTR now; else CANCEL */
static void out_interrupted(fuse_req_t req, void *data)
{
	struct net_out *o = data;
	struct net_msg c = { .type = NET_CANCEL, .arg = o->m.seq };

	(void)req;
	if (!o->queued) {
		fuse_reply_err(o->req, EINTR);
		o->req = NULL;
		net_write_end(o, EINTR);
		out_free(o);
		return;
	}
	if (o->cancel)
		return;
	o->cancel = true;
	if (o->peer->connected && o->peer->greeted) {
		c.ack = low_mark(o->peer);
		(void)net_send(o->peer->dealer, NULL, 0, &c);
	}
}

/* a request from FUSE to the peer; EHOSTUNREACH at once if it is down */
struct net_out *net_out_new(struct net_peer *p, fuse_req_t req,
			    enum out_kind kind, unsigned type)
{
	struct net_out *o;

	if (p->state != PEER_UP) {
		if (req)
			fuse_reply_err(req, EHOSTUNREACH);
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		if (req)
			fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	o->peer = p;
	o->req = req;
	o->kind = kind;
	o->m.type = type;
	return o;
}

/* the blob is copied: the caller's memory is FUSE's */
int net_out_blob(struct net_out *o, const void *blob, size_t len)
{
	o->blob = malloc(len ? len : 1);
	if (!o->blob)
		return -ENOMEM;
	memcpy(o->blob, blob, len);
	o->m.blob = o->blob;
	o->m.blob_len = len;
	return 0;
}

void net_out_submit(struct net_out *o)
{
	struct net_peer *p = o->peer;

	TAILQ_INSERT_TAIL(&p->waiting, o, link);
	pump(p);
	/* may call out_interrupted at once: o is in a list by now */
	if (o->req)
		fuse_req_interrupt_func(o->req, out_interrupted, o);
}

/* every request in flight or waiting fails with err (lost, reset) */
static void fail_all(struct net_peer *p, int err)
{
	struct net_out *o;

	p->failing = true;
	while ((o = TAILQ_FIRST(&p->inflight)) != NULL ||
	       (o = TAILQ_FIRST(&p->waiting)) != NULL) {
		if (o->req)
			fuse_reply_err(o->req, err);
		o->req = NULL;
		net_write_end(o, err);
		out_free(o);
	}
	p->failing = false;
	p->nacks = 0;
}

/* the node of path in p's tree, made on first sight; NULL: ENOMEM */
struct net_node *net_node_at(struct net_peer *p, const char *path,
			     unsigned kind)
{
	struct fs *fs = p->im->net->fs;
	struct net_node *n;

	for (n = p->nodes; n; n = n->next)
		if (strcmp(n->path, path) == 0)
			return n;
	n = calloc(1, sizeof(*n));
	if (!n || fs_node_add(&n->node, FS_NET, fs->root) < 0) {
		free(n);
		return NULL;
	}
	n->peer = p;
	snprintf(n->path, sizeof(n->path), "%s", path);
	n->node.mode = kind == NET_KIND_DIR ? 0755 : 0600;
	n->next = p->nodes;
	p->nodes = n;
	return n;
}

void net_fill_stat(const struct net_node *n, const struct net_attr *a,
		   struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->node.ino;
	st->st_uid = n->node.uid;	/* ours: the peer acts as its own */
	st->st_gid = n->node.gid;
	st->st_blksize = 4096;
	if (!a) {	/* net/ or a peer's root, answered here */
		st->st_mode = S_IFDIR | (n->peer ? 0755 : 0555);
		st->st_nlink = 2;
		st->st_mtime = st->st_ctime = st->st_atime =
			n->node.dir->created;
		return;
	}
	st->st_mode = (a->kind == NET_KIND_DIR ? S_IFDIR : S_IFREG) |
		      (a->mode & 07777);
	st->st_nlink = a->kind == NET_KIND_DIR ? 2 : 1;
	st->st_size = (off_t)a->size;
	st->st_mtime = st->st_ctime = st->st_atime = (time_t)a->mtime;
}

void net_reply_entry(fuse_req_t req, struct net_node *n,
		     const struct net_attr *a)
{
	struct fuse_entry_param e = { 0 };

	e.ino = n->node.ino;
	net_fill_stat(n, a, &e.attr);
	e.entry_timeout = 1.0;
	e.attr_timeout = 0;
	if (fuse_reply_entry(req, &e) == 0)
		n->node.nlookup++;
}

/* a reply the peer should not have sent: EIO for the asker, logged */
static void bad_reply(struct net_out *o, const char *why)
{
	net_refused(o->peer->im->net, o->peer->name, why);
	if (o->req)
		fuse_reply_err(o->req, EIO);
}

static void finish_entry(struct net_out *o, const struct net_msg *r)
{
	struct net_attr a;
	struct net_node *n;

	if (net_wire_attr_decode(r->blob, r->blob_len, &a) < 0) {
		bad_reply(o, "a bad attribute reply");
		return;
	}
	n = net_node_at(o->peer, o->path, a.kind);
	if (!n) {
		fuse_reply_err(o->req, ENOMEM);
		return;
	}
	if (o->kind == OUT_ENTRY) {
		net_reply_entry(o->req, n, &a);
	} else {
		struct stat st;

		net_fill_stat(n, &a, &st);
		fuse_reply_attr(o->req, &st, 0);
	}
}

static void finish_list(struct net_out *o, const struct net_msg *r)
{
	struct net_list_walk w = { r->blob, r->blob_len };
	char name[NET_NAME_LEN_MAX + 1], *buf = malloc(o->size);
	size_t used = 0, len;
	struct stat st = { 0 };
	off_t i = 0;
	unsigned kind;
	int ret;

	if (!buf) {
		fuse_reply_err(o->req, ENOMEM);
		return;
	}
	while ((ret = net_wire_list_next(&w, &kind, name)) == 1) {
		if (i++ < o->off)
			continue;
		st.st_ino = 0xffffffff;		/* unknown until looked up */
		st.st_mode = kind == NET_KIND_DIR ? S_IFDIR : S_IFREG;
		len = fuse_add_direntry(o->req, buf + used, o->size - used,
					name, &st, i);
		if (len > o->size - used)
			break;
		used += len;
	}
	if (ret < 0)
		bad_reply(o, "a bad directory list");
	else
		fuse_reply_buf(o->req, buf, used);
	free(buf);
}

static void finish_open(struct net_out *o, const struct net_msg *r)
{
	struct net_peer *p = o->peer;
	struct net_file *f = calloc(1, sizeof(*f));
	struct net_node *n = net_node_at(p, o->path, NET_KIND_FILE);
	struct net_out *rel;

	if (!f || !n) {
		free(f);
		fuse_reply_err(o->req, ENOMEM);
		f = NULL;
	} else {
		f->h.node = &n->node;
		f->peer = p;
		f->remote = r->handle;
		f->is_msg = r->arg & 1;
		f->max_msg = (size_t)(r->arg >> 32);
		f->room = (size_t)r->off;
		f->epoch = p->epoch;
		TAILQ_INIT(&f->writes);
		f->next = p->files;
		p->files = f;
		o->fi.fh = (uintptr_t)f;
		o->fi.direct_io = 1;
		o->fi.nonseekable = 1;
		if (fuse_reply_open(o->req, &o->fi) == 0)
			return;
		p->files = f->next;
		free(f);
	}
	/* the opener is gone: the peer's handle goes too */
	rel = net_out_new(p, NULL, OUT_NONE, NET_RELEASE);
	if (rel) {
		rel->m.handle = r->handle;
		net_out_submit(rel);
	}
}

static void finish_poll(struct net_out *o, const struct net_msg *r)
{
	struct net_file *f = o->file;

	if (o->ph && !r->arg) {
		if (f->ph)
			fuse_pollhandle_destroy(f->ph);
		f->ph = o->ph;		/* NOTIFY wakes it */
		o->ph = NULL;
	}
	fuse_reply_poll(o->req, (unsigned)r->arg);
}

/* the FUSE answer to the peer's reply r of o */
static void finish(struct net_out *o, const struct net_msg *r)
{
	if (!o->req)
		return;
	if (r->err) {
		fuse_reply_err(o->req, r->err);
		return;
	}
	switch (o->kind) {
	case OUT_ENTRY:
	case OUT_ATTR:
		finish_entry(o, r);
		break;
	case OUT_LIST:
		finish_list(o, r);
		break;
	case OUT_OPEN:
		finish_open(o, r);
		break;
	case OUT_READ:
		if (r->blob_len > o->size)
			bad_reply(o, "more data than asked");
		else
			fuse_reply_buf(o->req, r->blob, r->blob_len);
		break;
	case OUT_WRITE:
		if (r->arg > o->size)
			bad_reply(o, "more written than sent");
		else
			fuse_reply_write(o->req, (size_t)r->arg);
		break;
	case OUT_POLL:
		finish_poll(o, r);
		break;
	default:
		fuse_reply_err(o->req, 0);
	}
}

static struct net_out *inflight_of(struct net_peer *p, uint64_t seq)
{
	struct net_out *o;

	TAILQ_FOREACH(o, &p->inflight, link)
		if (o->m.seq == seq)
			return o;
	return NULL;
}

static void on_reply(struct net_peer *p, const struct net_msg *r)
{
	struct net_out *o = inflight_of(p, r->seq);

	p->nack_bytes += r->blob_len;
	if (!o) {
		/* a repeat, for a request already answered: ack it again */
		p->nacks++;
		return;
	}
	if (o->req)
		fuse_req_interrupt_func(o->req, NULL, NULL);
	finish(o, r);
	o->req = NULL;
	if (o->kind == OUT_WRITE)	/* EAGAIN and all: no room */
		net_room_update(o, r->err ? 0 : (size_t)r->off);
	net_write_end(o, r->err ? r->err : r->arg < o->size ? EIO : 0);
	out_free(o);
	p->nacks++;
}

/* tell the peer which replies we still await: it forgets the others */
static void send_ack(struct net_peer *p)
{
	uint64_t seqs[NET_CALLS_MAX];
	unsigned char blob[8 * NET_CALLS_MAX];
	struct net_msg m = { .type = NET_ACK, .blob = blob };
	struct net_out *o;
	size_t n = 0;

	if (!p->connected || !p->greeted)
		return;
	TAILQ_FOREACH(o, &p->inflight, link)
		if (n < NET_CALLS_MAX)
			seqs[n++] = o->m.seq;
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++)
			blob[8 * i + b] = (unsigned char)(seqs[i] >> (8 * b));
	m.blob_len = 8 * n;
	m.seq = p->next_seq;
	m.ack = low_mark(p);
	if (net_send(p->dealer, NULL, 0, &m) == 0) {
		p->nacks = 0;
		p->nack_bytes = 0;
	}
}

/* every poller polls again: a NOTIFY may have been lost, or be moot */
static void wake_pollers(struct net_peer *p)
{
	struct net_file *f;

	for (f = p->files; f; f = f->next)
		if (f->ph) {
			fuse_lowlevel_notify_poll(f->ph);
			fuse_pollhandle_destroy(f->ph);
			f->ph = NULL;
		}
}

/* the peer's files of an old session answer ECONNRESET from now on */
static void session_reset(struct net_peer *p, int err)
{
	p->epoch++;	/* first: a file closed meanwhile releases nothing */
	fail_all(p, err);
	wake_pollers(p);
	p->greeted = false;
}

static void send_hello(struct net_peer *p)
{
	struct net_msg m = { .type = NET_HELLO, .arg = p->epoch };

	(void)net_send(p->dealer, NULL, 0, &m);
}

/* the peer's HELLO: it knows our session; resend what it may lack */
static void on_hello(struct net_peer *p, const struct net_msg *r)
{
	struct net_out *o;

	if (r->arg != p->epoch)
		return;		/* the answer to an older HELLO */
	if (p->boot_id && r->handle != p->boot_id) {
		fprintf(stderr, "ipcfs: peer %s restarted: what waited for "
			"it fails with ECONNRESET\n", p->name);
		p->boot_id = r->handle;
		session_reset(p, ECONNRESET);
		send_hello(p);
		return;
	}
	p->boot_id = r->handle;
	p->greeted = true;
	if (p->state != PEER_UP)
		fprintf(stderr, "ipcfs: peer %s (%s) is up\n", p->name,
			p->addr);
	p->state = PEER_UP;
	p->err = 0;
	TAILQ_FOREACH(o, &p->inflight, link)
		send_out(p, o);
	send_ack(p);
	wake_pollers(p);
}

static void on_notify(struct net_peer *p, uint64_t handle)
{
	struct net_file *f;

	for (f = p->files; f; f = f->next)
		if (f->epoch == p->epoch && f->remote == handle && f->ph) {
			fuse_lowlevel_notify_poll(f->ph);
			fuse_pollhandle_destroy(f->ph);
			f->ph = NULL;
		}
}

static void on_message(struct net_peer *p, const void *frame, size_t len)
{
	struct net_msg m;

	if (net_wire_decode(frame, len, &m) < 0) {
		net_refused(p->im->net, p->name, "a malformed message");
		return;
	}
	p->heard_ms = net_now_ms();
	switch (m.type) {
	case NET_HELLO:
		on_hello(p, &m);
		break;
	case NET_PONG:
		p->rtt_us = (unsigned)(net_now_us() - p->ping_us);
		break;
	case NET_REPLY:
		if (m.flags & NET_F_NOSESSION) {
			/* it forgot us (restarted, or timed us out) */
			if (p->greeted)
				session_reset(p, ECONNRESET);
			send_hello(p);
		} else if (p->greeted) {
			on_reply(p, &m);
		}
		break;
	case NET_NOTIFY:
		on_notify(p, m.handle);
		break;
	default:
		net_refused(p->im->net, p->name, "a message only we send");
	}
}

/* the monitor's event: handshakes made and failed, disconnections */
static void on_event(struct net_peer *p)
{
	zmq_msg_t ev, ep;
	uint16_t event = 0;
	int32_t value = 0;

	zmq_msg_init(&ev);
	zmq_msg_init(&ep);
	if (zmq_msg_recv(&ev, p->monitor, ZMQ_DONTWAIT) >= 0 &&
	    zmq_msg_size(&ev) >= 6) {
		memcpy(&event, zmq_msg_data(&ev), 2);
		memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
	}
	while (zmq_msg_more(&ev) &&
	       zmq_msg_recv(&ep, p->monitor, ZMQ_DONTWAIT) >= 0 &&
	       zmq_msg_more(&ep))
		;
	zmq_msg_close(&ev);
	zmq_msg_close(&ep);
	if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
		p->connected = true;
		p->greeted = false;
		send_hello(p);
	} else if (event == ZMQ_EVENT_DISCONNECTED) {
		p->connected = false;
		p->greeted = false;
	} else if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
			    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
			    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)) {
		if (p->err != EACCES)
			fprintf(stderr, "ipcfs: peer %s (%s): handshake "
				"refused: wrong key, or not trusted there\n",
				p->name, p->addr);
		p->err = EACCES;
	} else if (event == ZMQ_EVENT_CONNECT_RETRIED && !p->err) {
		p->err = ECONNREFUSED;
	}
}

static void peer_turn(struct net_peer *p)
{
	zmq_msg_t msg;

	while (p->monitor && net_readable(p->monitor))
		on_event(p);
	while (p->dealer && net_readable(p->dealer)) {
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, p->dealer, ZMQ_DONTWAIT) >= 0) {
			if (zmq_msg_more(&msg))
				net_refused(p->im->net, p->name,
					    "a message of several frames");
			else
				on_message(p, zmq_msg_data(&msg),
					   zmq_msg_size(&msg));
		}
		zmq_msg_close(&msg);
	}
	if (p->nacks >= NET_ACK_EVERY || p->nack_bytes >= NET_ACK_BYTES ||
	    (p->nacks && !TAILQ_EMPTY(&p->waiting)))
		send_ack(p);
	pump(p);
}

void net_import_turn(struct net_import *im)
{
	for (unsigned i = 0; i < im->npeers; i++)
		peer_turn(&im->peers[i]);
}

static void peer_close(struct net_peer *p)
{
	struct fs_net *net = p->im->net;

	net_unwatch(net, &p->watch);
	net_unwatch(net, &p->mon_watch);
	if (p->monitor)
		zmq_close(p->monitor);
	if (p->dealer)
		zmq_close(p->dealer);
	p->monitor = p->dealer = NULL;
	p->connected = p->greeted = false;
}

static int dealer_options(struct net_peer *p)
{
	int zero = 0, one = 1, ivl = NET_RECONNECT_MS, ivl_max = 1000;
	int64_t maxmsg = NET_FRAME_MAX + 64;

	return zmq_setsockopt(p->dealer, ZMQ_ROUTING_ID, &p->session_id,
			      sizeof(p->session_id)) < 0 ||
	       zmq_setsockopt(p->dealer, ZMQ_LINGER, &zero,
			      sizeof(zero)) < 0 ||
	       zmq_setsockopt(p->dealer, ZMQ_IMMEDIATE, &one,
			      sizeof(one)) < 0 ||
	       zmq_setsockopt(p->dealer, ZMQ_SNDHWM, &zero,
			      sizeof(zero)) < 0 ||
	       zmq_setsockopt(p->dealer, ZMQ_RECONNECT_IVL, &ivl,
			      sizeof(ivl)) < 0 ||
	       zmq_setsockopt(p->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max,
			      sizeof(ivl_max)) < 0 ||
	       zmq_setsockopt(p->dealer, ZMQ_MAXMSGSIZE, &maxmsg,
			      sizeof(maxmsg)) < 0 ? -errno : 0;
}

/*
 * A fresh DEALER: after a loss, what the old one still queued must not
 * reach the peer (its askers were told ETIMEDOUT).
 */
static int peer_open(struct net_peer *p)
{
	struct fs_net *net = p->im->net;
	char ep[320], mon[64];
	int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
		     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
		     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
		     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
		     ZMQ_EVENT_CONNECT_RETRIED;
	int err;

	snprintf(mon, sizeof(mon), "inproc://ipcfs-peer-%p-%llu", (void *)p,
		 (unsigned long long)p->epoch);
	snprintf(ep, sizeof(ep), "tcp://%s", p->addr);
	p->dealer = zmq_socket(net->zctx, ZMQ_DEALER);
	if (!p->dealer)
		return -errno;
	err = dealer_options(p);
	if (!err && net_curve_client(p->dealer, &net->key, p->server_key) < 0)
		err = -errno;
	if (!err && zmq_socket_monitor(p->dealer, mon, events) < 0)
		err = -errno;
	if (!err && !(p->monitor = zmq_socket(net->zctx, ZMQ_PAIR)))
		err = -errno;
	if (!err && (zmq_connect(p->monitor, mon) < 0 ||
		     zmq_connect(p->dealer, ep) < 0))
		err = -errno;
	if (!err)
		err = net_watch_zsock(net, &p->watch, p->dealer);
	if (!err)
		err = net_watch_zsock(net, &p->mon_watch, p->monitor);
	return err;
}

/* silent past peer_timeout: lost; its waiters fail, a new session next */
static void peer_lost(struct net_peer *p)
{
	fprintf(stderr, "ipcfs: peer %s (%s) lost: nothing heard for %u s\n",
		p->name, p->addr, p->im->net->timeout_ms / 1000);
	p->state = PEER_LOST;
	p->err = ETIMEDOUT;
	session_reset(p, ETIMEDOUT);
	peer_close(p);
	if (peer_open(p) < 0)
		p->err = EIO;
}

void net_import_tick(struct net_import *im)
{
	uint64_t now = net_now_ms();
	struct net_msg ping = { .type = NET_PING };

	for (unsigned i = 0; i < im->npeers; i++) {
		struct net_peer *p = &im->peers[i];

		if (p->state == PEER_UP &&
		    now - p->heard_ms > im->net->timeout_ms) {
			peer_lost(p);
			continue;
		}
		if (p->connected && p->greeted) {
			ping.ack = low_mark(p);
			p->ping_us = net_now_us();
			(void)net_send(p->dealer, NULL, 0, &ping);
			if (p->nacks)
				send_ack(p);
		}
	}
}

int net_import_stats(struct net_import *im, char *buf, size_t size)
{
	int used = 0, n;

	for (unsigned i = 0; i < im->npeers; i++) {
		struct net_peer *p = &im->peers[i];

		n = snprintf(buf ? buf + used : NULL,
			     buf ? size - (size_t)used : 0,
			     "peer %s addr=%s state=%s err=%s rtt_us=%u "
			     "inflight=%u early=%llu lost=%llu\n", p->name,
			     p->addr, state_names[p->state],
			     p->err ? strerrorname_np(p->err) : "none",
			     p->rtt_us, p->ninflight,
			     (unsigned long long)p->early,
			     (unsigned long long)p->lost);
		if (n < 0)
			return 0;
		used += n;
		if (buf && (size_t)used >= size)
			return 0;
	}
	return used;
}

/* answered at once; the peer's handle goes in order, after what waits */
static int peer_init(struct net_import *im, struct net_peer *p,
		     const struct fs_opts_peer *o, uint64_t session_id)
{
	struct fs *fs = im->net->fs;

	p->im = im;
	snprintf(p->name, sizeof(p->name), "%s", o->name);
	snprintf(p->addr, sizeof(p->addr), "%s", o->addr);
	p->watch.fd = p->mon_watch.fd = -1;
	p->session_id = session_id;
	p->epoch = 1;
	p->next_seq = 1;
	TAILQ_INIT(&p->waiting);
	TAILQ_INIT(&p->inflight);
	p->server_key = net_trust_key(im->net->trust, p->name);
	if (!p->server_key) {
		fprintf(stderr, "ipcfs: peer %s: no key for it in the trust "
			"file\n", p->name);
		return -1;
	}
	p->root = calloc(1, sizeof(*p->root));
	if (!p->root || fs_node_add(&p->root->node, FS_NET, fs->root) < 0) {
		fprintf(stderr, "ipcfs: %s\n", strerror(ENOMEM));
		return -1;
	}
	p->root->peer = p;
	p->root->next = p->nodes;
	p->nodes = p->root;
	if (peer_open(p) < 0) {
		fprintf(stderr, "ipcfs: peer %s (%s): %s\n", p->name, p->addr,
			strerror(errno));
		return -1;
	}
	return 0;
}

int net_import_start(struct fs_net *net, const struct fs_opts *o)
{
	struct net_import *im = calloc(1, sizeof(*im));
	struct fs *fs = net->fs;
	uint64_t session_id;

	if (!im || !(im->peers = calloc(o->npeers, sizeof(*im->peers))) ||
	    fs_node_add(&im->dir.node, FS_NET, fs->root) < 0) {
		if (im)
			free(im->peers);
		free(im);
		fprintf(stderr, "ipcfs: %s\n", strerror(ENOMEM));
		return -1;
	}
	im->net = net;
	im->dir.node.mode = 0555;
	net->import = im;
	fs->net_dir = &im->dir.node;
	fs->net_ops = &net_import_ops;
	/* one session id for all peers, stable across reconnects */
	if (getrandom(&session_id, sizeof(session_id), 0) < 0)
		session_id = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	for (unsigned i = 0; i < o->npeers; i++) {
		im->npeers++;
		if (peer_init(im, &im->peers[i], &o->peers[i], session_id) < 0)
			return -1;
	}
	return 0;
}

void net_import_stop(struct net_import *im)
{
	struct fs *fs = im->net->fs;

	for (unsigned i = 0; i < im->npeers; i++) {
		struct net_peer *p = &im->peers[i];
		struct net_node *n, *next;
		struct net_file *f;

		fail_all(p, ENOTCONN);
		while ((f = p->files) != NULL) {
			net_file_unlink(f);
			free(f);
		}
		peer_close(p);
		for (n = p->nodes; n; n = next) {
			next = n->next;
			fs_node_del(fs, &n->node);
			free(n);
		}
	}
	fs_node_del(fs, &im->dir.node);
	fs->net_dir = NULL;
	fs->net_ops = NULL;
	im->net->import = NULL;
	free(im->peers);
	free(im);
}
