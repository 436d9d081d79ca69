/*
 * chan.c - a transport file's channel as the daemon serves it.
 *
 * The daemon holds both ends of the mechanism. A write() sends into it,
 * a read() receives from it, both with IPC_DONTWAIT: a request that cannot
 * be answered now is parked here and answered later from the loop, when
 * the channel moves (our own send or receive) or an end's readiness fd
 * fires (an outsider joined through the real object). Parked requests are
 * served first come, first served, so a write is never interleaved with
 * another writer's bytes. A signal on the waiting process interrupts its
 * request (EINTR) and leaves the rest of the queue alone.
 *
 * End of file follows FIFOs, with one refinement: a reader that has not
 * yet seen a writer waits for one rather than seeing EOF at once, so
 * `cat f` may be started before `echo hi > f`.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fs.h"

#ifndef TAILQ_FOREACH_SAFE	/* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	     (var) && ((tvar) = TAILQ_NEXT(var, field), 1);		\
	     (var) = (tvar))
#endif

#define FS_LOOKAHEAD	65536	/* what poll() may pull out of a byte stream */
#define FS_READ_MAX	(1u << 20)

/* the instance's one receive buffer: the loop is one thread */
static char *scratch_get(struct fs *fs, size_t len)
{
	char *p;

	if (len <= fs->scratch_len)
		return fs->scratch;
	p = realloc(fs->scratch, len);
	if (!p)
		return NULL;
	fs->scratch = p;
	fs->scratch_len = len;
	return p;
}

void fs_chan_init(struct fs_chan *fc, const struct ipc_transport *t,
		  const struct ipc_opts *o)
{
	fc->t = t;
	fc->opts = o;
	TAILQ_INIT(&fc->reads);
	TAILQ_INIT(&fc->writes);
	TAILQ_INIT(&fc->pollers);
	for (int e = IPC_RX; e <= IPC_TX; e++)
		fc->watch[e] = (struct fs_watch){ .fc = fc, .end = e,
						  .fd = -1 };
}

/*
 * Made at the first open, not at mkdir (docs/DESIGN.md, "channels made at
 * first open"). A failure is kept for stats and tried again next open.
 */
int fs_chan_make(struct fs_chan *fc)
{
	if (fc->ch.t)
		return 0;
	fc->open_err = ipc_chan_open(&fc->ch, fc->t, fc->opts);
	return fc->open_err;
}

/* uid's entry in the parked-bytes budget, made on first use; NULL: ENOMEM */
static struct fs_parker *parker_of(struct fs *fs, uid_t uid)
{
	struct fs_parker *p;

	for (unsigned i = 0; i < fs->nparkers; i++)
		if (fs->parkers[i].uid == uid)
			return &fs->parkers[i];
	p = realloc(fs->parkers, (fs->nparkers + 1) * sizeof(*p));
	if (!p)
		return NULL;
	fs->parkers = p;
	p += fs->nparkers++;
	p->uid = uid;
	p->bytes = 0;
	return p;
}

/* room for a parked write's copy of bytes: 0, -ENOSPC, -EDQUOT, -ENOMEM */
static int budget_take(struct fs *fs, uid_t uid, size_t bytes)
{
	struct fs_parker *p = parker_of(fs, uid);
	size_t all = bytes;

	if (!p)
		return -ENOMEM;
	for (unsigned i = 0; i < fs->nparkers; i++)
		all += fs->parkers[i].bytes;
	if (all > fs->max_parked)
		return -ENOSPC;
	if (p->bytes + bytes > fs->max_user_parked)
		return -EDQUOT;
	p->bytes += bytes;
	return 0;
}

static void budget_give(struct fs *fs, uid_t uid, size_t bytes)
{
	struct fs_parker *p = parker_of(fs, uid);

	if (p)
		p->bytes -= bytes;
}

static void req_free(struct fs_chan *fc, struct fs_req *r)
{
	TAILQ_REMOVE(r->is_write ? &fc->writes : &fc->reads, r, link);
	if (r->is_write)
		budget_give(fs_of_chan(fc), r->who.uid, r->size - r->from);
	free(r);
}

static void drop_poller(struct fs_chan *fc, struct fs_handle *h)
{
	if (!h->poller.arg)
		return;
	TAILQ_REMOVE(&fc->pollers, h, poll_link);
	h->poller.drop(h->poller.arg);
	h->poller.arg = NULL;
}

void fs_chan_fini(struct fs_chan *fc)
{
	struct fs_req *r;

	while ((r = TAILQ_FIRST(&fc->reads)) != NULL) {
		r->who.ops->error(&r->who, ENOENT);
		req_free(fc, r);
	}
	while ((r = TAILQ_FIRST(&fc->writes)) != NULL) {
		r->who.ops->error(&r->who, ENOENT);
		req_free(fc, r);
	}
	while (!TAILQ_EMPTY(&fc->pollers))
		drop_poller(fc, TAILQ_FIRST(&fc->pollers));
	fs_watch_drop(&fc->watch[IPC_RX]);
	fs_watch_drop(&fc->watch[IPC_TX]);
	ipc_chan_close(&fc->ch);
	free(fc->pend);
	fc->pend = NULL;
	fc->pend_len = fc->pend_off = 0;
}

static size_t pend_cap(const struct fs_chan *fc)
{
	return ipc_is_msg(&fc->ch) ? fc->ch.max_msg : FS_LOOKAHEAD;
}

/*
 * The one EOF rule, for a reader that has just found the channel empty:
 * no writer has it open, the reader has seen one, and the transport has
 * delivered everything we sent (local mode: recv never says EOF itself).
 */
static bool eof_due(const struct fs_chan *fc, const struct fs_handle *h)
{
	return fc->writers == 0 &&
	       (h->saw_writer || fc->writer_closes > h->writer_closes) &&
	       ipc_drained(&fc->ch);
}

/*
 * Pull the next piece out of the mechanism into fc->pend: a whole message,
 * or up to `want` bytes of a stream. 1 if there is something pending now,
 * -EAGAIN if the mechanism is empty, or -errno.
 */
static int pull(struct fs_chan *fc, size_t want)
{
	ssize_t n;

	if (fc->pend_len)
		return 1;
	if (!fc->pend) {
		fc->pend = malloc(pend_cap(fc));
		if (!fc->pend)
			return -ENOMEM;
	}
	if (ipc_is_msg(&fc->ch) || want > pend_cap(fc))
		want = pend_cap(fc);
	n = ipc_recv(&fc->ch, fc->pend, want, IPC_DONTWAIT);
	if (n < 0)
		return (int)n;
	fc->pend_off = 0;
	fc->pend_len = n;
	return 1;
}

/*
 * A big read of a kernel pipe: the asker takes the pipe's pages (FUSE
 * splices them straight into the reader's request) instead of our copy.
 * The count comes from FIONREAD, so the splice never meets an empty
 * pipe. 1 if who was answered, -EAGAIN if the pipe is empty, -errno.
 * Replies stay below pipe-max-size (docs/DESIGN.md, "splice for bulk
 * data"), or libfuse would copy them after all.
 */
static int splice_out(struct fs_chan *fc, const struct fs_asker *who,
		      size_t size)
{
	struct fs *fs = fs_of_chan(fc);
	int fd = fc->ch.fd[IPC_RX], avail;
	ssize_t n;
	size_t max;

	if (!fs->splice_max)
		fs->splice_max = ipc_pipe_max_size() -
				 4 * (size_t)getpagesize();
	max = fs->splice_max;
	if (ioctl(fd, FIONREAD, &avail) < 0)
		return -errno;
	if (avail <= 0)
		return -EAGAIN;
	if (size > max)
		size = max;
	n = who->ops->data_fd(who, fd, (size_t)avail < size ?
					(size_t)avail : size);
	if (n < 0)
		return (int)n;
	ipc_count(&fc->ch, IPC_RX, (size_t)n);
	return 1;
}

/*
 * The one receive path: answer who with up to size bytes, from what is
 * pending, else the kernel pipe's pages, else a receive (a big read of a
 * stream straight into the scratch buffer). 1 when answered, -EAGAIN
 * when the channel is empty, or -errno.
 */
static int take(struct fs_chan *fc, const struct fs_asker *who, size_t size)
{
	ssize_t n;
	char *buf;
	int ret;

	if (!fc->pend_len && size > FS_LOOKAHEAD) {
		if (fc->t->caps & IPC_SPLICE)
			return splice_out(fc, who, size);
		if (!ipc_is_msg(&fc->ch)) {
			buf = scratch_get(fs_of_chan(fc), size);
			if (!buf)
				return -ENOMEM;
			n = ipc_recv(&fc->ch, buf, size, IPC_DONTWAIT);
			if (n < 0)
				return (int)n;
			who->ops->data(who, buf, n);
			return 1;
		}
	}
	ret = pull(fc, size);
	if (ret < 1)
		return ret;
	n = fc->pend_len < size ? fc->pend_len : size;
	who->ops->data(who, fc->pend + fc->pend_off, n);
	fc->pend_off += n;
	fc->pend_len -= n;
	return 1;
}

/* Answer a read with data, EOF or an error; false: it must wait. */
static bool try_read(struct fs_chan *fc, struct fs_handle *h,
		     const struct fs_asker *who, size_t size)
{
	int ret = take(fc, who, size < FS_READ_MAX ? size : FS_READ_MAX);

	if (ret == 1)
		h->saw_writer = true;
	else if (ret != -EAGAIN)
		who->ops->error(who, -ret);
	else if (eof_due(fc, h))
		who->ops->data(who, NULL, 0);
	else
		return false;
	return true;
}

static void notify_pollers(struct fs_chan *fc)
{
	struct fs_handle *h;

	while ((h = TAILQ_FIRST(&fc->pollers)) != NULL) {
		h->poller.notify(h->poller.arg);
		drop_poller(fc, h);
	}
}

/* wait for the mechanism where someone waits and an fd can tell us */
static void arm(struct fs_chan *fc)
{
	bool want_in = !TAILQ_EMPTY(&fc->reads) ||
		       (!TAILQ_EMPTY(&fc->pollers) && !fc->pend_len);
	bool want_out = !TAILQ_EMPTY(&fc->writes) ||
			(!TAILQ_EMPTY(&fc->pollers) && !ipc_writable(&fc->ch));
	short events;
	int fd;

	if (want_in && !fc->watch[IPC_RX].armed) {
		fd = ipc_wait_fd(&fc->ch, IPC_RX, &events);
		if (fd >= 0)
			fs_watch_arm(&fc->watch[IPC_RX], fd, events);
	}
	if (want_out && !fc->watch[IPC_TX].armed) {
		fd = ipc_wait_fd(&fc->ch, IPC_TX, &events);
		if (fd >= 0)
			fs_watch_arm(&fc->watch[IPC_TX], fd, events);
	}
}

/*
 * Move everything that can move: parked writes into the mechanism, data
 * out to parked reads, EOF to readers due one; until nothing moves.
 */
static void progress(struct fs_chan *fc)
{
	struct fs_req *r, *next;
	bool moved, any = false;
	ssize_t n;

	do {
		moved = false;
		while ((r = TAILQ_FIRST(&fc->writes)) != NULL) {
			n = ipc_send(&fc->ch, r->data + (r->done - r->from),
				     r->size - r->done, IPC_DONTWAIT);
			if (n == -EAGAIN)
				break;
			moved = true;
			if (n < 0) {
				r->who.ops->error(&r->who, (int)-n);
				req_free(fc, r);
				continue;
			}
			r->done += n;
			if (r->done == r->size) {
				r->who.ops->written(&r->who, r->size);
				req_free(fc, r);
			}
		}
		while ((r = TAILQ_FIRST(&fc->reads)) != NULL &&
		       try_read(fc, r->h, &r->who, r->size)) {
			req_free(fc, r);
			moved = true;
		}
		any |= moved;
	} while (moved);

	/* the first reader waits for data; later ones may be due EOF */
	if (fc->writers == 0 && !fc->pend_len)
		TAILQ_FOREACH_SAFE(r, &fc->reads, link, next)
			if (eof_due(fc, r->h)) {
				r->who.ops->data(&r->who, NULL, 0);
				req_free(fc, r);
				any = true;
			}
	if (any)
		notify_pollers(fc);
	arm(fc);
}

void fs_req_interrupt(struct fs_req *r)
{
	struct fs_chan *fc = fs_chan_of(r->h->node);

	/* like a pipe: a write cut short by a signal reports what went */
	if (r->is_write && r->done)
		r->who.ops->written(&r->who, r->done);
	else
		r->who.ops->error(&r->who, EINTR);
	req_free(fc, r);
	/* a writer gone from the head may unblock the next one */
	progress(fc);
}

/*
 * A parked request; a write's room for its unsent bytes, size - done,
 * from its user's budget. NULL with *err: -ENOMEM, -ENOSPC, -EDQUOT.
 */
static struct fs_req *req_new(struct fs_chan *fc, struct fs_handle *h,
			      const struct fs_asker *who, bool is_write,
			      size_t size, size_t done, int *err)
{
	uid_t uid = who->uid;
	size_t copy = is_write ? size - done : 0;
	struct fs_req *r;

	*err = copy ? budget_take(fs_of_chan(fc), uid, copy) : 0;
	if (*err)
		return NULL;
	r = malloc(sizeof(*r) + copy);
	if (!r) {
		if (copy)
			budget_give(fs_of_chan(fc), uid, copy);
		*err = -ENOMEM;
		return NULL;
	}
	r->who = *who;
	r->h = h;
	r->is_write = is_write;
	r->size = size;
	r->done = r->from = done;
	return r;
}

static void req_park(struct fs_chan *fc, struct fs_req *r)
{
	TAILQ_INSERT_TAIL(r->is_write ? &fc->writes : &fc->reads, r, link);
	/* may call fs_req_interrupt() at once if the signal came already */
	r->who.ops->parked(&r->who, r);
}

/* park a read, or a write with a copy of its unsent bytes at buf */
/* a parked request could not be made: what went is written, a short
 * count rather than an error */
static void park_failed(const struct fs_asker *who, size_t done, int err)
{
	if (done)
		who->ops->written(who, done);
	else
		who->ops->error(who, -err);
}

static void park(struct fs_chan *fc, struct fs_handle *h,
		 const struct fs_asker *who, bool is_write, const char *buf,
		 size_t size, size_t done)
{
	int err;
	struct fs_req *r = req_new(fc, h, who, is_write, size, done, &err);

	if (!r) {
		park_failed(who, done, err);
		return;
	}
	if (is_write)
		memcpy(r->data, buf, size - done);
	req_park(fc, r);
}

void fs_chan_read(struct fs_chan *fc, struct fs_handle *h,
		  const struct fs_asker *who, size_t size, int flags)
{
	if (TAILQ_EMPTY(&fc->reads) && try_read(fc, h, who, size)) {
		/* room now: for parked writers, and pollers without an fd to
		 * tell them (a TX end with no readiness fd) */
		notify_pollers(fc);
		progress(fc);
		return;
	}
	if (flags & O_NONBLOCK) {
		who->ops->error(who, EAGAIN);
		return;
	}
	park(fc, h, who, false, NULL, size, 0);
	arm(fc);
}

void fs_chan_write(struct fs_chan *fc, struct fs_handle *h,
		   const struct fs_asker *who, const char *buf, size_t size,
		   int flags)
{
	ssize_t n = 0;

	/* one write is one message: no bigger than the channel takes, nor
	 * than the kernel always delivers in one request */
	if (ipc_is_msg(&fc->ch) &&
	    (size > fc->ch.max_msg ||
	     (fs_of_chan(fc)->msg_max && size > fs_of_chan(fc)->msg_max))) {
		who->ops->error(who, EMSGSIZE);
		return;
	}
	if (TAILQ_EMPTY(&fc->writes)) {
		n = ipc_send(&fc->ch, buf, size, IPC_DONTWAIT);
		if (n < 0 && n != -EAGAIN) {
			who->ops->error(who, (int)-n);
			return;
		}
		if (n == -EAGAIN)
			n = 0;
		if ((size_t)n == size || (n > 0 && (flags & O_NONBLOCK))) {
			who->ops->written(who, n);
			/* data now: an end moved only by us has no fd to say so */
			notify_pollers(fc);
			progress(fc);
			return;
		}
	}
	if (flags & O_NONBLOCK) {
		who->ops->error(who, EAGAIN);
		return;
	}
	park(fc, h, who, true, buf + n, size, n);
	progress(fc);
}

/*
 * Move a write libfuse spliced out of /dev/fuse (its pages wait in
 * libfuse's pipe, bufv) into our kernel pipe with splice(2): page
 * references move, nothing is copied. The count that went, or -errno
 * (-EAGAIN: the pipe is full).
 */
static ssize_t splice_in(struct fs_chan *fc, struct fuse_bufvec *bufv,
			 size_t size)
{
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	ssize_t n;

	dst.buf[0].flags = FUSE_BUF_IS_FD;
	dst.buf[0].fd = fc->ch.fd[IPC_TX];
	n = fuse_buf_copy(&dst, bufv, FUSE_BUF_SPLICE_NONBLOCK);
	if (n > 0)
		ipc_count(&fc->ch, IPC_TX, (size_t)n);
	return n;
}

/* bufv's bytes into memory at to: fuse_buf_copy, which advances bufv */
static bool bufv_to_mem(struct fuse_bufvec *bufv, char *to, size_t len)
{
	struct fuse_bufvec mem = FUSE_BUFVEC_INIT(len);

	mem.buf[0].mem = to;
	return fuse_buf_copy(&mem, bufv, 0) == (ssize_t)len;
}

/*
 * libfuse's write_buf: the bytes in memory, or (SPLICE_READ, see ops.c)
 * pages in libfuse's pipe. A pipe or fifo channel takes the pages with
 * splice_in; what does not fit is copied into the parked request now,
 * before any reply may splice through libfuse's pipe. Other channels
 * get the bytes copied out, as a plain write.
 */
void fs_chan_write_buf(struct fs_chan *fc, struct fs_handle *h,
		       const struct fs_asker *who, struct fuse_bufvec *bufv,
		       int flags)
{
	size_t size = fuse_buf_size(bufv), done;
	struct fs_req *r;
	ssize_t n;
	int err;
	char *buf;

	if (bufv->count == 1 && !(bufv->buf[0].flags & FUSE_BUF_IS_FD)) {
		fs_chan_write(fc, h, who, (char *)bufv->buf[0].mem + bufv->off,
			      size, flags);
		return;
	}
	if (!(fc->t->caps & IPC_SPLICE) || !TAILQ_EMPTY(&fc->writes)) {
		/* not a pipe, or behind other writers: as a plain write
		 * (which copies what it parks before anything else may
		 * take the scratch buffer) */
		buf = scratch_get(fs_of_chan(fc), size);
		if (!buf || !bufv_to_mem(bufv, buf, size))
			who->ops->error(who, ENOMEM);
		else
			fs_chan_write(fc, h, who, buf, size, flags);
		return;
	}
	n = splice_in(fc, bufv, size);
	if (n < 0 && n != -EAGAIN) {
		who->ops->error(who, (int)-n);
		return;
	}
	done = n > 0 ? (size_t)n : 0;
	if (done == size || (done && (flags & O_NONBLOCK))) {
		who->ops->written(who, done);
		notify_pollers(fc);
		progress(fc);
		return;
	}
	if (flags & O_NONBLOCK) {
		who->ops->error(who, EAGAIN);	/* libfuse drops the pages */
		return;
	}
	r = req_new(fc, h, who, true, size, done, &err);
	if (r && !bufv_to_mem(bufv, r->data, size - done)) {
		budget_give(fs_of_chan(fc), r->who.uid, size - done);
		free(r);
		r = NULL;
		err = -ENOMEM;
	}
	if (!r) {
		park_failed(who, done, err);
		return;
	}
	req_park(fc, r);
	notify_pollers(fc);
	progress(fc);
}

void fs_chan_poll(struct fs_chan *fc, struct fs_handle *h,
		  const struct fs_asker *who, const struct fs_poller *p)
{
	unsigned revents = 0;

	if (h->reads) {
		if (pull(fc, FS_LOOKAHEAD) == 1)
			revents |= POLLIN;
		else if (eof_due(fc, h))
			revents |= POLLIN | POLLHUP;
	}
	if (h->writes && TAILQ_EMPTY(&fc->writes) && ipc_writable(&fc->ch))
		revents |= POLLOUT;
	if (p && p->arg) {
		drop_poller(fc, h);
		if (revents) {
			p->drop(p->arg);
		} else {
			h->poller = *p;
			TAILQ_INSERT_TAIL(&fc->pollers, h, poll_link);
			arm(fc);
		}
	}
	who->ops->polled(who, revents);
}

void fs_chan_ready(struct fs_chan *fc, enum ipc_end end)
{
	(void)end;
	progress(fc);
	/* an outsider's data with nobody parked: pollers still want to know */
	if (!TAILQ_EMPTY(&fc->pollers)) {
		notify_pollers(fc);
		arm(fc);
	}
}

void fs_chan_open(struct fs_chan *fc, struct fs_handle *h)
{
	h->writer_closes = fc->writer_closes;
	h->saw_writer = false;
	if (h->reads)
		fc->readers++;
	if (h->writes)
		fc->writers++;
}

void fs_chan_release(struct fs_chan *fc, struct fs_handle *h)
{
	drop_poller(fc, h);
	if (h->reads)
		fc->readers--;
	if (h->writes) {
		fc->writers--;
		fc->writer_closes++;
		if (fc->writers == 0) {
			progress(fc);	/* waiting readers may be due EOF */
			notify_pollers(fc);
		}
	}
}

size_t fs_chan_queued(const struct fs_chan *fc)
{
	struct ipc_chan_stats st;

	if (!fc->ch.t)
		return 0;
	ipc_stats(&fc->ch, &st);
	return fc->pend_len + (st.queued_bytes > 0 ? (size_t)st.queued_bytes : 0);
}

size_t fs_chan_room(const struct fs_chan *fc)
{
	struct ipc_chan_stats st;

	if (!fc->ch.t || !TAILQ_EMPTY(&fc->writes) || !ipc_writable(&fc->ch))
		return 0;
	ipc_stats(&fc->ch, &st);
	if (st.capacity <= 0 || st.queued_bytes < 0)
		return FS_ROOM_UNKNOWN;	/* writable, by how much unsaid */
	if (st.queued_bytes >= st.capacity)
		return 0;
	return (size_t)(st.capacity - st.queued_bytes);
}

unsigned fs_chan_parked(const struct fs_chan *fc, bool writes)
{
	const struct fs_req *r;
	unsigned n = 0;

	TAILQ_FOREACH(r, writes ? &fc->writes : &fc->reads, link)
		n++;
	return n;
}
