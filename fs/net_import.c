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
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

#include "net.h"

#define NET_WINDOW_BYTES	((size_t)8 << 20)
#define NET_RECONNECT_MS	200

enum peer_state { PEER_CONNECTING, PEER_UP, PEER_LOST };
static const char *const state_names[] = { "connecting", "up", "lost" };

struct net_peer;

/* net/ (peer NULL), a peer's root (path ""), or a node of its tree */
struct net_node {
	struct fs_node node;
	struct net_peer *peer;
	char path[NET_PATH_MAX + 1];
	struct net_node *next;		/* the peer's nodes */
};

/* a file open on the peer; first its handle, for ops.c's handle_of */
struct net_file {
	struct fs_handle h;
	struct net_peer *peer;
	uint64_t remote;		/* the peer's handle id */
	uint64_t epoch;			/* opened in this session */
	bool is_msg;			/* a write is one message */
	struct fuse_pollhandle *ph;	/* waits for a NOTIFY */
	struct net_file *next;
};

/* how a reply is turned into the FUSE answer */
enum out_kind { OUT_ENTRY, OUT_ATTR, OUT_LIST, OUT_OPEN, OUT_READ,
		OUT_WRITE, OUT_POLL, OUT_ERR, OUT_NONE };

/* one request to the peer, from admission to its reply */
struct net_out {
	TAILQ_ENTRY(net_out) link;
	struct net_peer *peer;
	fuse_req_t req;			/* NULL: nobody waits (RELEASE) */
	enum out_kind kind;
	struct net_msg m;		/* seq and ack are set when sent */
	char *blob;			/* m.blob's own copy */
	size_t cost;			/* bytes against the window */
	bool queued, cancel;		/* in inflight; CANCEL sent */
	char path[NET_PATH_MAX + 1];	/* ENTRY: the node's path */
	struct fuse_file_info fi;	/* OPEN */
	size_t size;			/* READ, LIST, WRITE */
	off_t off;			/* LIST */
	struct net_file *file;		/* POLL */
	struct fuse_pollhandle *ph;	/* POLL */
};
TAILQ_HEAD(net_out_list, net_out);

struct net_peer {
	struct net_import *im;
	char name[NET_NAME_MAX + 1], addr[272];
	const char *server_key;
	enum peer_state state;
	int err;			/* the last trouble, for stats */
	void *dealer, *monitor;
	struct fs_watch watch, mon_watch;
	uint64_t session_id, epoch, boot_id;
	bool connected, greeted;
	uint64_t heard_ms, ping_us;
	unsigned rtt_us;
	uint64_t next_seq;
	struct net_out_list waiting, inflight;
	unsigned ninflight;
	unsigned nacks;			/* replies since the last ACK */
	size_t inflight_bytes;
	struct net_node *root, *nodes;
	struct net_file *files;
};

struct net_import {
	struct fs_net *net;
	struct net_node dir;		/* net/ */
	struct net_peer *peers;
	unsigned npeers;
};

static const struct fuse_lowlevel_ops net_import_ops;

static struct net_import *im_of(fuse_req_t req)
{
	return ((struct fs *)fuse_req_userdata(req))->net->import;
}

static struct net_node *node_of(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_node *n = fs_node_get(fuse_req_userdata(req), ino);

	return n && n->kind == FS_NET ? (struct net_node *)n : NULL;
}

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
static struct net_out *out_new(struct net_peer *p, fuse_req_t req,
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
static int out_blob(struct net_out *o, const void *blob, size_t len)
{
	o->blob = malloc(len ? len : 1);
	if (!o->blob)
		return -ENOMEM;
	memcpy(o->blob, blob, len);
	o->m.blob = o->blob;
	o->m.blob_len = len;
	return 0;
}

static void out_submit(struct net_out *o)
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

	while ((o = TAILQ_FIRST(&p->inflight)) != NULL ||
	       (o = TAILQ_FIRST(&p->waiting)) != NULL) {
		if (o->req)
			fuse_reply_err(o->req, err);
		out_free(o);
	}
	p->nacks = 0;
}

/* the node of path in p's tree, made on first sight; NULL: ENOMEM */
static struct net_node *node_at(struct net_peer *p, const char *path,
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

static void fill_stat(const struct net_node *n, const struct net_attr *a,
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

static void reply_entry(fuse_req_t req, struct net_node *n,
			const struct net_attr *a)
{
	struct fuse_entry_param e = { 0 };

	e.ino = n->node.ino;
	fill_stat(n, a, &e.attr);
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
	n = node_at(o->peer, o->path, a.kind);
	if (!n) {
		fuse_reply_err(o->req, ENOMEM);
		return;
	}
	if (o->kind == OUT_ENTRY) {
		reply_entry(o->req, n, &a);
	} else {
		struct stat st;

		fill_stat(n, &a, &st);
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
	struct net_node *n = node_at(p, o->path, NET_KIND_FILE);
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
		f->epoch = p->epoch;
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
	rel = out_new(p, NULL, OUT_NONE, NET_RELEASE);
	if (rel) {
		rel->m.handle = r->handle;
		out_submit(rel);
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

	if (!o) {
		/* a repeat, for a request already answered: ack it again */
		p->nacks++;
		return;
	}
	if (o->req)
		fuse_req_interrupt_func(o->req, NULL, NULL);
	finish(o, r);
	o->req = NULL;
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
	if (net_send(p->dealer, NULL, 0, &m) == 0)
		p->nacks = 0;
}

/* the peer's files of an old session answer ECONNRESET from now on */
static void session_reset(struct net_peer *p, int err)
{
	struct net_file *f;

	fail_all(p, err);
	for (f = p->files; f; f = f->next)
		if (f->ph) {
			fuse_lowlevel_notify_poll(f->ph);
			fuse_pollhandle_destroy(f->ph);
			f->ph = NULL;
		}
	p->epoch++;
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
	p->nacks++;	/* an ACK at the end of the turn */
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
	if (p->nacks)
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
			     "inflight=%u\n", p->name, p->addr,
			     state_names[p->state],
			     p->err ? strerrorname_np(p->err) : "none",
			     p->rtt_us, p->ninflight);
		if (n < 0)
			return 0;
		used += n;
		if (buf && (size_t)used >= size)
			return 0;
	}
	return used;
}

static struct net_peer *peer_named(struct net_import *im, const char *name)
{
	for (unsigned i = 0; i < im->npeers; i++)
		if (strcmp(im->peers[i].name, name) == 0)
			return &im->peers[i];
	return NULL;
}

/* "PATH/NAME" of the peer's tree; false if no such path can be */
static bool child_path(const struct net_node *parent, const char *name,
		       char *out)
{
	int n = snprintf(out, NET_PATH_MAX + 1, "%s%s%s", parent->path,
			 parent->path[0] ? "/" : "", name);

	return n > 0 && n <= NET_PATH_MAX && net_wire_path_ok(out, (size_t)n);
}

/* a request about a path: LOOKUP, LIST, OPEN, MKDIR, RMDIR */
static struct net_out *path_out(struct net_peer *p, fuse_req_t req,
				enum out_kind kind, unsigned type,
				const char *path)
{
	struct net_out *o = out_new(p, req, kind, type);

	if (!o)
		return NULL;
	snprintf(o->path, sizeof(o->path), "%s", path);
	if (out_blob(o, path, strlen(path)) < 0) {
		fuse_reply_err(req, ENOMEM);
		free(o);
		return NULL;
	}
	return o;
}

static void nlookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct net_node *d = node_of(req, parent);
	char path[NET_PATH_MAX + 1];
	struct net_out *o;
	struct net_peer *p;

	if (!d->peer) {		/* in net/: the peers, answered here */
		p = peer_named(im_of(req), name);
		if (p)
			reply_entry(req, p->root, NULL);
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	if (!child_path(d, name, path)) {
		fuse_reply_err(req, strlen(name) > NET_NAME_LEN_MAX ?
				    ENAMETOOLONG : ENOENT);
		return;
	}
	o = path_out(d->peer, req, OUT_ENTRY, NET_LOOKUP, path);
	if (o)
		out_submit(o);
}

static void ngetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct net_node *n = node_of(req, ino);
	struct net_out *o;
	struct stat st;

	(void)fi;
	if (!n->peer || n == n->peer->root) {
		fill_stat(n, NULL, &st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	o = path_out(n->peer, req, OUT_ATTR, NET_LOOKUP, n->path);
	if (o)
		out_submit(o);
}

static bool add_dirent(fuse_req_t req, char *buf, size_t size, size_t *used,
		       const char *name, fuse_ino_t ino, off_t next)
{
	struct stat st = { .st_ino = ino, .st_mode = S_IFDIR };
	size_t len = fuse_add_direntry(req, buf + *used, size - *used, name,
				       &st, next);

	if (len > size - *used)
		return false;
	*used += len;
	return true;
}

/* net/ itself: ".", "..", a directory per peer */
static void readdir_net(fuse_req_t req, struct net_node *d, size_t size,
			off_t off)
{
	struct net_import *im = im_of(req);
	char *buf = malloc(size);
	size_t used = 0;
	off_t i = off;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (i == 0 && add_dirent(req, buf, size, &used, ".", d->node.ino, 1))
		i = 1;
	if (i == 1 && add_dirent(req, buf, size, &used, "..", FUSE_ROOT_ID, 2))
		i = 2;
	for (; i >= 2 && (size_t)(i - 2) < im->npeers; i++)
		if (!add_dirent(req, buf, size, &used, im->peers[i - 2].name,
				im->peers[i - 2].root->node.ino, i + 1))
			break;
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void nreaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct net_node *d = node_of(req, ino);
	struct net_out *o;

	(void)fi;
	if (!d->peer) {
		readdir_net(req, d, size, off);
		return;
	}
	o = path_out(d->peer, req, OUT_LIST, NET_LIST, d->path);
	if (!o)
		return;
	o->size = size;
	o->off = off;
	out_submit(o);
}

static void nopen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct net_node *n = node_of(req, ino);
	struct net_out *o;

	if (!n->peer || n == n->peer->root) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	o = path_out(n->peer, req, OUT_OPEN, NET_OPEN, n->path);
	if (!o)
		return;
	o->fi = *fi;
	o->m.arg = (uint64_t)(fi->flags & (O_ACCMODE | O_NONBLOCK));
	out_submit(o);
}

/* a request on an open file: ECONNRESET if opened in a lost session */
static struct net_out *file_out(fuse_req_t req, struct fuse_file_info *fi,
				enum out_kind kind, unsigned type)
{
	struct net_file *f = (struct net_file *)(uintptr_t)fi->fh;
	struct net_out *o;

	if (f->epoch != f->peer->epoch) {
		fuse_reply_err(req, ECONNRESET);
		return NULL;
	}
	o = out_new(f->peer, req, kind, type);
	if (!o)
		return NULL;
	o->file = f;
	o->m.handle = f->remote;
	if (fi->flags & O_NONBLOCK)
		o->m.flags |= NET_F_NONBLOCK;
	return o;
}

static void nread(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	struct net_out *o;

	(void)ino;
	/* as ops.c: an mmap's page-in is no reader (no lock owner) */
	if (!fi->lock_owner) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	o = file_out(req, fi, OUT_READ, NET_READ);
	if (!o)
		return;
	o->size = size < NET_IO_MAX ? size : NET_IO_MAX;
	o->m.arg = o->size;
	o->m.off = (uint64_t)off;
	o->cost = o->size;
	out_submit(o);
}

static void nwrite_buf(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_bufvec *bufv, off_t off,
		       struct fuse_file_info *fi)
{
	size_t size = fuse_buf_size(bufv);
	struct fuse_bufvec mem = FUSE_BUFVEC_INIT(size);
	struct net_file *f = (struct net_file *)(uintptr_t)fi->fh;
	struct fs *fs = fuse_req_userdata(req);
	struct net_out *o;

	(void)ino;
	(void)off;
	/* a message no bigger than our kernel always sends whole (ops.c),
	 * as well as than the peer's channel takes (the peer checks) */
	if (size > NET_IO_MAX || (f->is_msg && fs->msg_max &&
				  size > fs->msg_max)) {
		fuse_reply_err(req, EMSGSIZE);
		return;
	}
	o = file_out(req, fi, OUT_WRITE, NET_WRITE);
	if (!o)
		return;
	o->blob = malloc(size ? size : 1);
	mem.buf[0].mem = o->blob;
	if (!o->blob || fuse_buf_copy(&mem, bufv, 0) != (ssize_t)size) {
		free(o->blob);
		free(o);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	o->m.blob = o->blob;
	o->m.blob_len = size;
	o->size = size;
	o->cost = size;
	out_submit(o);
}

static void file_unlink(struct net_file *f)
{
	struct net_file **pp = &f->peer->files;

	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (*pp)
		*pp = f->next;
	if (f->ph)
		fuse_pollhandle_destroy(f->ph);
}

/* answered at once; the peer's handle goes in order, after what waits */
static void nrelease(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct net_file *f = (struct net_file *)(uintptr_t)fi->fh;
	struct net_out *o = NULL;

	(void)ino;
	if (f->epoch == f->peer->epoch)
		o = out_new(f->peer, NULL, OUT_NONE, NET_RELEASE);
	if (o) {
		o->m.handle = f->remote;
		out_submit(o);
	}
	file_unlink(f);
	free(f);
	fuse_reply_err(req, 0);
}

static void npoll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		  struct fuse_pollhandle *ph)
{
	struct net_out *o = file_out(req, fi, OUT_POLL, NET_POLL);

	(void)ino;
	if (!o) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		return;
	}
	o->ph = ph;
	if (ph)
		o->m.flags |= NET_F_NOTIFY;
	out_submit(o);
}

static void nmkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode)
{
	struct net_node *d = node_of(req, parent);
	char path[NET_PATH_MAX + 1];
	struct net_out *o;

	if (!d->peer) {
		fuse_reply_err(req, EPERM);	/* net/ is the peers' */
		return;
	}
	if (!child_path(d, name, path)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	o = path_out(d->peer, req, OUT_ENTRY, NET_MKDIR, path);
	if (!o)
		return;
	o->m.arg = mode & 01777;
	out_submit(o);
}

static void nrmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct net_node *d = node_of(req, parent);
	char path[NET_PATH_MAX + 1];
	struct net_out *o;

	if (!d->peer) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (!child_path(d, name, path)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	o = path_out(d->peer, req, OUT_ERR, NET_RMDIR, path);
	if (o)
		out_submit(o);
}

static const struct fuse_lowlevel_ops net_import_ops = {
	.lookup = nlookup,
	.getattr = ngetattr,
	.readdir = nreaddir,
	.open = nopen,
	.read = nread,
	.write_buf = nwrite_buf,
	.release = nrelease,
	.poll = npoll,
	.mkdir = nmkdir,
	.rmdir = nrmdir,
};

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
			file_unlink(f);
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
