/*
 * net_export.c - this tree offered to peers (-o listen=ADDR:PORT).
 *
 * One ROUTER socket, a CURVE server whose ZAP handler lets in the keys
 * of -o trust=. Each peer's DEALER has a routing id, its session: the
 * files it opened here (real struct fs_handles, so readers, writers, EOF
 * and poll work as for local ones) and its requests, executed exactly
 * once (net_calls.c). A request that must wait parks in chan.c like a
 * local one; its asker here answers with a REPLY instead of a FUSE
 * reply. A session is dropped, its files released, when the peer has
 * said nothing for -o peer_timeout, or says HELLO with a new epoch.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zmq.h>

#include "net.h"

#define NET_ID_LEN	8		/* a peer's routing id: its session */
#define NET_FILES_MAX	4096		/* open files of one session */
#define NET_LIST_MAX	(256 * 1024)	/* a LIST's answer */
/* kept replies of one session: twice what an honest peer's window lets
 * it have in flight (net_import.c's NET_WINDOW_BYTES) */
#define NET_KEPT_MAX	((size_t)16 << 20)

struct net_session;

/* a file a peer opened: first a real handle, as ops.c's are */
struct net_rfile {
	struct fs_handle h;
	struct net_session *s;
	uint64_t id;
};

/* a request being executed: the asker chan.c answers through */
struct net_acall {
	struct net_session *s;	/* NULL: orphaned, its session going */
	struct net_call *c;
	uint64_t seq;
	struct fs_req *parked;
	const struct fs_chan *fc;	/* a WRITE's, for the room hint */
};

struct net_session {
	TAILQ_ENTRY(net_session) link;
	struct net_export *x;
	unsigned char id[NET_ID_LEN];
	char name[NET_NAME_MAX + 1];
	uint64_t epoch;
	uint64_t heard_ms;
	struct net_rfile **files;	/* by handle id - 1 */
	unsigned nfiles;
	struct net_calls calls;
};

struct net_export {
	struct fs_net *net;
	void *router;
	struct fs_watch watch;
	TAILQ_HEAD(, net_session) sessions;
	uint64_t boot_id;		/* tells peers we restarted */
};

static struct fs *fs_of_x(const struct net_export *x)
{
	return x->net->fs;
}

/* HELLO, PONG, NOTIFY: lost with a dropped connection, which the peer
 * makes up for (HELLO and PING again, its pollers woken at HELLO) */
static void session_send(struct net_session *s, const struct net_msg *m)
{
	(void)net_send(s->x->router, s->id, NET_ID_LEN, m);
}

/* answer the call, keep the answer until acked, forget the call */
static void acall_reply(struct net_acall *a, struct net_msg *m)
{
	struct net_session *s = a->s;
	size_t len;
	void *frame;

	if (!s) {	/* orphaned by session_drop, which frees it */
		a->parked = NULL;
		return;
	}
	m->type = NET_REPLY;
	m->seq = a->seq;
	len = net_wire_size(m);
	frame = malloc(len);
	if (frame)
		net_wire_encode(m, frame);
	if (frame && zmq_send(s->x->router, s->id, NET_ID_LEN,
			      ZMQ_SNDMORE | ZMQ_DONTWAIT) == NET_ID_LEN)
		(void)zmq_send(s->x->router, frame, len, ZMQ_DONTWAIT);
	net_calls_done(&s->calls, a->c, frame, frame ? len : 0);
	free(a);
}

static struct net_acall *acall_of(const struct fs_asker *a)
{
	return a->ctx;
}

static void ask_data(const struct fs_asker *a, const void *buf, size_t len)
{
	struct net_msg m = { .blob = buf, .blob_len = len };

	acall_reply(acall_of(a), &m);
}

/* a kernel pipe's bytes: copied out, the network takes no pages */
static ssize_t ask_data_fd(const struct fs_asker *a, int fd, size_t len)
{
	char *buf = malloc(len);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = read(fd, buf, len);
	if (n < 0) {
		n = -errno;
	} else {
		struct net_msg m = { .blob = buf, .blob_len = (size_t)n };

		acall_reply(acall_of(a), &m);
	}
	free(buf);
	return n;
}

static void ask_error(const struct fs_asker *a, int err)
{
	struct net_msg m = { .err = err };

	acall_reply(acall_of(a), &m);
}

static void ask_written(const struct fs_asker *a, size_t count)
{
	const struct fs_chan *fc = acall_of(a)->fc;
	struct net_msg m = { .arg = count, .off = fc ? fs_chan_room(fc) : 0 };

	acall_reply(acall_of(a), &m);
}

static void ask_polled(const struct fs_asker *a, unsigned revents)
{
	struct net_msg m = { .arg = revents };

	acall_reply(acall_of(a), &m);
}

static void ask_parked(const struct fs_asker *a, struct fs_req *r)
{
	acall_of(a)->parked = r;
}

static const struct fs_asker_ops remote_asker_ops = {
	.data = ask_data,
	.data_fd = ask_data_fd,
	.error = ask_error,
	.written = ask_written,
	.polled = ask_polled,
	.parked = ask_parked,
};

static void reply_err(struct fs_asker *who, int err)
{
	who->ops->error(who, err);
}

/*
 * A peer's path in this tree: "", "NAME" or "DIR/NAME" (net_wire_path_ok
 * checked the form). Looking into a directory takes its x bit. Our own
 * net/ is not exported: no peering through us.
 */
static struct fs_node *resolve(struct net_export *x, const struct net_msg *m,
			       int *err)
{
	struct fs_dir *root = fs_of_x(x)->root;
	const char *p = m->blob, *slash = memchr(p, '/', m->blob_len);
	char name[NET_NAME_LEN_MAX + 1];
	struct fs_node *n;
	size_t len;

	if (!m->blob_len)
		return &root->node;
	len = slash ? (size_t)(slash - p) : m->blob_len;
	memcpy(name, p, len);
	name[len] = '\0';
	*err = -EACCES;
	if (!net_may(x->net, &root->node, 1))
		return NULL;
	*err = -ENOENT;
	n = fs_lookup_name(root, name);
	if (!n || n->kind == FS_NET || !slash)
		return n && n->kind != FS_NET ? n : NULL;
	*err = -ENOTDIR;
	if (n->kind != FS_DIR)
		return NULL;
	*err = -EACCES;
	if (!net_may(x->net, n, 1))
		return NULL;
	len = m->blob_len - len - 1;
	memcpy(name, slash + 1, len);
	name[len] = '\0';
	*err = -ENOENT;
	return fs_lookup_name(n->dir, name);
}

static void attr_of(const struct fs_node *n, struct net_attr *a)
{
	struct fs_chan *fc = fs_chan_of((struct fs_node *)n);

	a->kind = n->kind == FS_DIR ? NET_KIND_DIR : NET_KIND_FILE;
	a->mode = n->mode;
	a->size = fc ? fs_chan_queued(fc) : 0;
	a->mtime = (uint64_t)n->dir->created;
}

static void reply_attr(struct fs_asker *who, const struct fs_node *n)
{
	char blob[NET_ATTR_LEN];
	struct net_attr a;

	attr_of(n, &a);
	net_wire_attr_encode(&a, blob);
	who->ops->data(who, blob, sizeof(blob));
}

struct list_buf {
	char *buf;
	size_t used;
};

static bool list_add(void *ctx, const char *name, const struct fs_node *n)
{
	struct list_buf *b = ctx;

	if (n && n->kind == FS_NET)
		return true;
	return net_wire_list_add(b->buf, NET_LIST_MAX, &b->used,
				 n && n->kind == FS_DIR ? NET_KIND_DIR :
							  NET_KIND_FILE,
				 name) == 0;
}

static void do_list(struct net_export *x, struct fs_asker *who,
		    const struct net_msg *m)
{
	int err = 0;
	struct fs_node *n = resolve(x, m, &err);
	struct list_buf b = { 0 };

	if (!n || n->kind != FS_DIR) {
		reply_err(who, n ? ENOTDIR : -err);
		return;
	}
	if (!net_may(x->net, n, 4)) {
		reply_err(who, EACCES);
		return;
	}
	b.buf = malloc(NET_LIST_MAX);
	if (!b.buf) {
		reply_err(who, ENOMEM);
		return;
	}
	fs_dir_entries(n->dir, list_add, &b);
	who->ops->data(who, b.buf, b.used);
	free(b.buf);
}

/* a free handle id in s, or 0 */
static uint64_t file_slot(struct net_session *s)
{
	struct net_rfile **p;
	unsigned i;

	for (i = 0; i < s->nfiles; i++)
		if (!s->files[i])
			return i + 1;
	if (s->nfiles == NET_FILES_MAX)
		return 0;
	p = realloc(s->files, (s->nfiles + 16) * sizeof(*p));
	if (!p)
		return 0;
	memset(p + s->nfiles, 0, 16 * sizeof(*p));
	s->files = p;
	s->nfiles += 16;
	return i + 1;
}

static void do_open(struct net_session *s, struct fs_asker *who,
		    const struct net_msg *m)
{
	int acc = (int)(m->arg & O_ACCMODE), err = 0;
	struct fs_node *n = resolve(s->x, m, &err);
	int want = (acc != O_WRONLY ? 4 : 0) | (acc != O_RDONLY ? 2 : 0);
	struct net_msg r = { 0 };
	struct net_rfile *f;
	uint64_t id;

	if (!n || acc == 3 || !net_may(s->x->net, n, want)) {
		reply_err(who, !n ? -err : acc == 3 ? EINVAL : EACCES);
		return;
	}
	id = file_slot(s);
	f = id ? calloc(1, sizeof(*f)) : NULL;
	if (!f) {
		reply_err(who, id ? ENOMEM : EMFILE);
		return;
	}
	err = fs_handle_open(fs_of_x(s->x), n, acc, &f->h);
	if (err) {
		free(f);
		reply_err(who, -err);
		return;
	}
	f->s = s;
	f->id = id;
	s->files[id - 1] = f;
	r.handle = id;
	/* B checks a message's size and answers writes early within room */
	if (fs_chan_of(n)) {
		const struct fs_chan *fc = fs_chan_of(n);

		if (ipc_is_msg(&fc->ch))
			r.arg = 1 | (uint64_t)fc->ch.max_msg << 32;
		r.off = fs_chan_room(fc);
	}
	acall_reply(acall_of(who), &r);
}

/* the session's requests parked on h end first (EINTR): a hostile peer
 * may release a file it still waits on */
static void interrupt_parked(struct net_session *s, const struct fs_handle *h)
{
	for (unsigned i = 0; i < NET_CALLS_MAX; i++) {
		struct net_call *c = &s->calls.call[i];
		struct net_acall *a = c->state == NET_CALL_RUNNING ?
				      c->owner : NULL;

		if (a && a->parked && (!h || a->parked->h == h))
			fs_req_interrupt(a->parked);
	}
}

static void file_close(struct net_rfile *f)
{
	interrupt_parked(f->s, &f->h);
	f->s->files[f->id - 1] = NULL;
	fs_handle_close(fs_of_x(f->s->x), &f->h);
	free(f);
}

static struct net_rfile *file_of(struct net_session *s, uint64_t id)
{
	return id >= 1 && id <= s->nfiles ? s->files[id - 1] : NULL;
}

/* the peer's poller: NOTIFY it, once */
static void notify_peer(void *arg)
{
	struct net_rfile *f = arg;
	struct net_msg m = { .type = NET_NOTIFY, .handle = f->id };

	session_send(f->s, &m);
}

static void keep_nothing(void *arg)
{
	(void)arg;
}

/* READ of a stats file: its snapshot, at the offset asked */
static void read_text(struct fs_asker *who, const struct fs_handle *h,
		      const struct net_msg *m)
{
	size_t off = m->off < h->text_len ? (size_t)m->off : h->text_len;
	size_t len = h->text_len - off;

	if (len > m->arg)
		len = (size_t)m->arg;
	who->ops->data(who, h->text + off, len);
}

static void do_file(struct net_session *s, struct fs_asker *who,
		    const struct net_msg *m)
{
	struct net_rfile *f = file_of(s, m->handle);
	struct fs_chan *fc = f ? fs_chan_of(f->h.node) : NULL;
	int flags = m->flags & NET_F_NONBLOCK ? O_NONBLOCK : 0;
	struct fs_poller p = { notify_peer, keep_nothing, f };

	if (!f) {
		reply_err(who, EBADF);
		return;
	}
	switch (m->type) {
	case NET_READ:
		if (!fc)
			read_text(who, &f->h, m);
		else if (!f->h.reads)
			reply_err(who, EBADF);
		else
			fs_chan_read(fc, &f->h, who, (size_t)m->arg, flags);
		break;
	case NET_WRITE:
		if (!fc || !f->h.writes) {
			reply_err(who, EBADF);
			break;
		}
		acall_of(who)->fc = fc;
		fs_chan_write(fc, &f->h, who, m->blob, m->blob_len, flags);
		break;
	case NET_POLL:
		if (!fc)
			who->ops->polled(who, POLLIN);
		else
			fs_chan_poll(fc, &f->h, who, m->flags & NET_F_NOTIFY ?
						     &p : NULL);
		break;
	default:	/* NET_RELEASE */
		file_close(f);
		reply_err(who, 0);
	}
}

/* MKDIR, RMDIR: a name in the root, with w and x on it */
static void do_dir(struct net_session *s, struct fs_asker *who,
		   const struct net_msg *m)
{
	struct fs_net *net = s->x->net;
	struct fs_dir *root = fs_of_x(s->x)->root, *d;
	char name[NET_NAME_LEN_MAX + 1];
	int err;

	if (!m->blob_len || memchr(m->blob, '/', m->blob_len)) {
		reply_err(who, m->blob_len ? EPERM : EEXIST);
		return;
	}
	if (!net_may(net, &root->node, 3)) {
		reply_err(who, EACCES);
		return;
	}
	memcpy(name, m->blob, m->blob_len);
	name[m->blob_len] = '\0';
	if (m->type == NET_RMDIR) {
		reply_err(who, -fs_rmdir(root, name));
		return;
	}
	err = fs_mkdir(root, name, net->uid, &d);
	if (err) {
		reply_err(who, -err);
		return;
	}
	fs_dir_own(d, net->uid, net->gid, (mode_t)m->arg & 01777);
	reply_attr(who, &d->node);
}

static void execute(struct net_session *s, struct fs_asker *who,
		    const struct net_msg *m)
{
	struct fs_node *n;
	int err = 0;

	switch (m->type) {
	case NET_LOOKUP:
		n = resolve(s->x, m, &err);
		if (n)
			reply_attr(who, n);
		else
			reply_err(who, -err);
		break;
	case NET_LIST:
		do_list(s->x, who, m);
		break;
	case NET_OPEN:
		do_open(s, who, m);
		break;
	case NET_MKDIR:
	case NET_RMDIR:
		do_dir(s, who, m);
		break;
	default:
		do_file(s, who, m);
	}
}

/* a numbered request: once, whatever the repeats */
static void request(struct net_session *s, const struct net_msg *m)
{
	struct net_call *c = NULL;
	struct net_acall *a;
	struct fs_asker who;

	net_calls_ack(&s->calls, m->ack, 0);
	switch (net_calls_admit(&s->calls, m->seq, &c)) {
	case NET_ADMIT_NEW:
		break;
	case NET_ADMIT_REPLY:
		if (zmq_send(s->x->router, s->id, NET_ID_LEN,
			     ZMQ_SNDMORE | ZMQ_DONTWAIT) == NET_ID_LEN)
			(void)zmq_send(s->x->router, c->reply, c->reply_len,
				       ZMQ_DONTWAIT);
		return;
	case NET_ADMIT_REFUSED:
		net_refused(s->x->net, s->name, "request outside its window");
		return;
	default:
		return;		/* running, or done and acked */
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		net_calls_done(&s->calls, c, NULL, 0);
		return;
	}
	a->s = s;
	a->c = c;
	a->seq = m->seq;
	c->owner = a;
	who = (struct fs_asker){ &remote_asker_ops, a, s->x->net->uid };
	if (s->calls.reply_bytes > NET_KEPT_MAX) {
		net_refused(s->x->net, s->name, "requests past its window");
		reply_err(&who, ENOBUFS);
		return;
	}
	execute(s, &who, m);
}

static void cancel(struct net_session *s, uint64_t seq)
{
	struct net_call *c = net_calls_running(&s->calls, seq);
	struct net_acall *a = c ? c->owner : NULL;

	if (a && a->parked)
		fs_req_interrupt(a->parked);
}

static void ack(struct net_session *s, const struct net_msg *m)
{
	const unsigned char *p = m->blob;
	uint64_t awaited[NET_ACKS_MAX];
	size_t n = m->blob_len / 8;

	for (size_t i = 0; i < n; i++) {
		awaited[i] = 0;
		for (int b = 7; b >= 0; b--)
			awaited[i] = awaited[i] << 8 | p[8 * i + b];
		if (i && awaited[i] <= awaited[i - 1]) {
			net_refused(s->x->net, s->name, "an ACK out of order");
			return;
		}
	}
	net_calls_ack_all_but(&s->calls, m->ack, m->seq, awaited, n);
}

/* forget a session: its parked requests unanswered, its files released */
static void session_drop(struct net_session *s, const char *why)
{
	struct net_export *x = s->x;

	struct net_acall *running[NET_CALLS_MAX];
	unsigned n = 0;

	if (!x->net->quiet)
		fprintf(stderr, "ipcfs: peer %s: session dropped: %s\n",
			s->name, why);
	/* first orphan them all: interrupting one moves the channel, which
	 * may answer others */
	for (unsigned i = 0; i < NET_CALLS_MAX; i++) {
		struct net_call *c = &s->calls.call[i];

		if (c->state != NET_CALL_RUNNING || !c->owner)
			continue;
		running[n] = c->owner;
		running[n++]->s = NULL;
		c->owner = NULL;
	}
	/* an orphan's answer goes nowhere, and clears its parked */
	for (unsigned i = 0; i < n; i++)
		if (running[i]->parked)
			fs_req_interrupt(running[i]->parked);
	for (unsigned i = 0; i < n; i++)
		free(running[i]);
	for (unsigned i = 0; i < s->nfiles; i++)
		if (s->files[i])
			file_close(s->files[i]);
	free(s->files);
	net_calls_fini(&s->calls);
	TAILQ_REMOVE(&x->sessions, s, link);
	free(s);
}

/* HELLO: a session starts, or goes on if the epoch is the same */
static struct net_session *hello(struct net_export *x, struct net_session *s,
				 const unsigned char *id, const char *name,
				 const struct net_msg *m)
{
	struct net_session *o, *next;
	struct net_msg r = { .type = NET_HELLO, .handle = x->boot_id,
			     .arg = m->arg };

	if (s && s->epoch != m->arg)
		session_drop(s, "a new epoch");
	else if (s)
		goto answer;
	/* one session per trusted name: a peer that restarted has a new id */
	for (o = TAILQ_FIRST(&x->sessions); o; o = next) {
		next = TAILQ_NEXT(o, link);
		if (name[0] && strcmp(o->name, name) == 0)
			session_drop(o, "the peer restarted");
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->x = x;
	memcpy(s->id, id, NET_ID_LEN);
	snprintf(s->name, sizeof(s->name), "%s", name[0] ? name : "?");
	s->epoch = m->arg;
	net_calls_init(&s->calls);
	TAILQ_INSERT_TAIL(&x->sessions, s, link);
	if (!x->net->quiet)
		fprintf(stderr, "ipcfs: peer %s: session started\n", s->name);
answer:
	session_send(s, &r);
	return s;
}

static struct net_session *session_of(struct net_export *x,
				      const unsigned char *id)
{
	struct net_session *s;

	TAILQ_FOREACH(s, &x->sessions, link)
		if (memcmp(s->id, id, NET_ID_LEN) == 0)
			return s;
	return NULL;
}

void net_export_message(struct net_export *x, const unsigned char *id,
			const char *name, const void *frame, size_t len)
{
	struct net_session *s = session_of(x, id);
	struct net_msg m, r = { .type = NET_REPLY, .err = ESTALE,
				.flags = NET_F_NOSESSION };

	if (net_wire_decode(frame, len, &m) < 0) {
		net_refused(x->net, name, "a malformed message");
		return;
	}
	if (m.type == NET_HELLO) {
		s = hello(x, s, id, name, &m);
	} else if (!s) {
		/* we restarted, or it never said HELLO: it must start over */
		r.seq = m.seq;
		if (net_wire_is_request(m.type))
			(void)net_send(x->router, id, NET_ID_LEN, &r);
		return;
	} else if (m.type == NET_PING) {
		r = (struct net_msg){ .type = NET_PONG };
		session_send(s, &r);
	} else if (m.type == NET_ACK) {
		ack(s, &m);
	} else if (m.type == NET_CANCEL) {
		cancel(s, m.arg);
	} else if (net_wire_is_request(m.type)) {
		request(s, &m);
	} else {
		net_refused(x->net, name, "a message only we send");
	}
	if (s)
		s->heard_ms = net_now_ms();
}

/* one routing id frame, one message frame; anything else is refused */
static void receive_one(struct net_export *x)
{
	zmq_msg_t id, body;
	const char *name;
	int more;

	zmq_msg_init(&id);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&id, x->router, ZMQ_DONTWAIT) < 0)
		goto out;
	if (!zmq_msg_more(&id) ||
	    zmq_msg_recv(&body, x->router, ZMQ_DONTWAIT) < 0)
		goto out;
	name = zmq_msg_gets(&body, "User-Id");
	more = zmq_msg_more(&body);
	while (more) {		/* drain the rest of a multipart message */
		zmq_msg_close(&body);
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, x->router, ZMQ_DONTWAIT) < 0)
			goto out;
		more = zmq_msg_more(&body);
		if (!more)
			net_refused(x->net, name ? name : "?",
				    "a message of several frames");
		if (!more)
			goto out;
	}
	if (zmq_msg_size(&id) != NET_ID_LEN)
		net_refused(x->net, name ? name : "?", "a bad routing id");
	else
		net_export_message(x, zmq_msg_data(&id), name ? name : "",
				   zmq_msg_data(&body), zmq_msg_size(&body));
out:
	zmq_msg_close(&id);
	zmq_msg_close(&body);
}

void net_export_turn(struct net_export *x)
{
	while (net_readable(x->router))
		receive_one(x);
}

void net_export_tick(struct net_export *x)
{
	uint64_t now = net_now_ms();
	struct net_session *s, *next;

	for (s = TAILQ_FIRST(&x->sessions); s; s = next) {
		next = TAILQ_NEXT(s, link);
		if (now - s->heard_ms > x->net->timeout_ms)
			session_drop(s, "silent past peer_timeout");
	}
}

/*
 * The listening ROUTER: CURVE server, ZAP-checked, bound. A connection
 * costs a descriptor before it says a word, so one that has not finished
 * its handshake within peer_timeout is dropped (libzmq's default: 30 s),
 * and the soft descriptor limit is raised to the hard one: a client that
 * holds silent connections open must keep making them, and many.
 */
static void *router_open(struct fs_net *net, const char *listen)
{
	int zero = 0, one = 1, max = NET_FRAME_MAX + 64, err;
	int handshake_ms = (int)net->timeout_ms;
	struct rlimit rl;
	int64_t maxmsg = max;
	char ep[INET_ADDRSTRLEN + 16];
	void *router = zmq_socket(net->zctx, ZMQ_ROUTER);

	if (!router)
		return NULL;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(ep, sizeof(ep), "tcp://%s", listen);
	if (zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_setsockopt(router, ZMQ_HANDSHAKE_IVL, &handshake_ms,
			   sizeof(handshake_ms)) < 0 ||
	    zmq_setsockopt(router, ZMQ_SNDHWM, &zero, sizeof(zero)) < 0 ||
	    zmq_setsockopt(router, ZMQ_ROUTER_HANDOVER, &one,
			   sizeof(one)) < 0 ||
	    zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &maxmsg,
			   sizeof(maxmsg)) < 0 ||
	    net_curve_server(router, &net->key) < 0 ||
	    net_zap_watch(net->zap, router) < 0 || zmq_bind(router, ep) < 0) {
		err = errno;
		zmq_close(router);
		errno = err;
		return NULL;
	}
	return router;
}

int net_export_open(struct fs_net *net, void *router)
{
	struct net_export *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->net = net;
	x->router = router;
	x->watch.fd = -1;
	TAILQ_INIT(&x->sessions);
	if (getrandom(&x->boot_id, sizeof(x->boot_id), 0) < 0)
		x->boot_id = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	net->export = x;
	net->fs->dirs_shared = true;
	return net->fs->epfd >= 0 ?
	       net_watch_zsock(net, &x->watch, x->router) : 0;
}

int net_export_start(struct fs_net *net, const char *listen)
{
	void *router = router_open(net, listen);
	int err = router ? net_export_open(net, router) : -errno;

	if (!net->export && router)
		zmq_close(router);
	if (err < 0) {
		fprintf(stderr, "ipcfs: listen=%s: %s\n", listen,
			strerror(-err));
		return -1;
	}
	return 0;
}

void net_export_stop(struct net_export *x)
{
	while (!TAILQ_EMPTY(&x->sessions))
		session_drop(TAILQ_FIRST(&x->sessions), "unmounted");
	net_unwatch(x->net, &x->watch);
	if (x->router)
		zmq_close(x->router);
	x->net->export = NULL;
	free(x);
}
