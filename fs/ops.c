/*
 * ops.c - the FUSE lowlevel handlers: short, as in passthrough_ll. The
 * tree is fixed but for mkdir/rmdir; everything else that would change
 * it is refused with the errno a user of a read-only tree expects.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

/* the instance main() gave fuse_session_new */
static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*
 * A FUSE request as chan.c's asker: each answer is the fuse_reply_* of
 * the same name; a signal on the caller interrupts the parked request.
 */
static fuse_req_t req_of(const struct fs_asker *a)
{
	return a->ctx;
}

static void fuse_data(const struct fs_asker *a, const void *buf, size_t len)
{
	fuse_reply_buf(req_of(a), buf, len);
}

/* the pipe's pages spliced into the reply (FUSE_CAP_SPLICE_WRITE) */
static ssize_t fuse_data_fd(const struct fs_asker *a, int fd, size_t len)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(len);

	bv.buf[0].flags = FUSE_BUF_IS_FD;
	bv.buf[0].fd = fd;
	/* the bytes have left the pipe even if the reader is gone */
	(void)fuse_reply_data(req_of(a), &bv, FUSE_BUF_SPLICE_MOVE);
	return (ssize_t)len;
}

static void fuse_error(const struct fs_asker *a, int err)
{
	fuse_reply_err(req_of(a), err);
}

static void fuse_written(const struct fs_asker *a, size_t count)
{
	fuse_reply_write(req_of(a), count);
}

static void fuse_polled(const struct fs_asker *a, unsigned revents)
{
	fuse_reply_poll(req_of(a), revents);
}

static void fuse_interrupted(fuse_req_t req, void *data)
{
	(void)req;
	fs_req_interrupt(data);
}

static void fuse_parked(const struct fs_asker *a, struct fs_req *r)
{
	fuse_req_interrupt_func(req_of(a), fuse_interrupted, r);
}

static const struct fs_asker_ops fuse_asker_ops = {
	.data = fuse_data,
	.data_fd = fuse_data_fd,
	.error = fuse_error,
	.written = fuse_written,
	.polled = fuse_polled,
	.parked = fuse_parked,
};

struct fs_asker fs_asker_fuse(fuse_req_t req)
{
	return (struct fs_asker){ .ops = &fuse_asker_ops, .ctx = req,
				  .uid = fuse_req_ctx(req)->uid };
}

static void fuse_poll_notify(void *ph)
{
	(void)fuse_lowlevel_notify_poll(ph);
}

static void fuse_poll_drop(void *ph)
{
	fuse_pollhandle_destroy(ph);
}

static void handle_free(struct fs *fs, struct fs_handle *h)
{
	TAILQ_REMOVE(&fs->open_handles, h, open_link);
	free(h->text);
	free(h);
}

void fs_handles_free(struct fs *fs)
{
	while (!TAILQ_EMPTY(&fs->open_handles))
		handle_free(fs, TAILQ_FIRST(&fs->open_handles));
}

/* a node of the peering's (net/ and below): its own handlers say */
static const struct fuse_lowlevel_ops *net_of(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_node *n = fs_node_get(fs_of(req), ino);

	return n && n->kind == FS_NET ? fs_of(req)->net_ops : NULL;
}

static struct fs_dir *dir_of(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_node *n = fs_node_get(fs_of(req), ino);

	return n && n->kind == FS_DIR && !n->dir->removed ? n->dir : NULL;
}

static void reply_entry(fuse_req_t req, struct fs_node *n)
{
	struct fuse_entry_param e = { 0 };

	e.ino = n->ino;
	fs_fill_attr(n, &e.attr);
	e.entry_timeout = n->kind == FS_DIR && fs_of(req)->dirs_shared ? 0 :
									 1.0;
	e.attr_timeout = 0;	/* st_size moves with the queue */
	if (fuse_reply_entry(req, &e) == 0)
		n->nlookup++;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct fuse_lowlevel_ops *net = net_of(req, parent);
	struct fs_dir *d = dir_of(req, parent);
	struct fs_node *n = d ? fs_lookup_name(d, name) : NULL;

	if (net)
		net->lookup(req, parent, name);
	else if (!d)
		fuse_reply_err(req, ENOTDIR);
	else if (!n)
		fuse_reply_err(req, ENOENT);
	else
		reply_entry(req, n);
}

static void fs_forget_one(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_node *n = fs_node_get(fs_of(req), ino);

	if (n)
		fs_forget(n, nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++) {
		struct fs_node *n = fs_node_get(fs_of(req), forgets[i].ino);

		if (n)
			fs_forget(n, forgets[i].nlookup);
	}
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *net = net_of(req, ino);
	struct fs_node *n = fs_node_get(fs_of(req), ino);
	struct stat st;

	if (net) {
		net->getattr(req, ino, fi);
		return;
	}
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fs_fill_attr(n, &st);
	fuse_reply_attr(req, &st, 0);
}

/* is the caller root, or in group gid? */
static bool in_group(fuse_req_t req, const struct fuse_ctx *c, gid_t gid)
{
	gid_t groups[64];
	int max = (int)(sizeof(groups) / sizeof(groups[0])), n;

	if (c->uid == 0 || c->gid == gid)
		return true;
	n = fuse_req_getgroups(req, max, groups);
	for (int i = 0; i < n && i < max; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * chmod and chown, with chmod(2)'s and chown(2)'s rules checked here too:
 * without -o default_permissions the kernel does not check them.
 * Permission bits only (and sticky on dirs): these files are no programs.
 */
static int set_owner_mode(fuse_req_t req, struct fs_node *n,
			  const struct stat *attr, int to_set)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	bool root = c->uid == 0;
	uid_t uid = to_set & FUSE_SET_ATTR_UID ? attr->st_uid : n->uid;
	gid_t gid = to_set & FUSE_SET_ATTR_GID ? attr->st_gid : n->gid;

	if (!(to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
			FUSE_SET_ATTR_GID)))
		return 0;
	if (!root && (c->uid != n->uid || uid != n->uid ||
		      (gid != n->gid && !in_group(req, c, gid))))
		return -EPERM;
	if (to_set & FUSE_SET_ATTR_MODE)
		n->mode = attr->st_mode & (n->kind == FS_DIR ? 01777 : 0777);
	n->uid = uid;
	n->gid = gid;
	return 0;
}

/*
 * Besides chmod and chown, only what a shell does by the way is accepted:
 * truncation to 0 (the `>` redirection; nothing is discarded) and
 * touching the times.
 */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_get(fs_of(req), ino);
	int err;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->kind == FS_NET) {
		/* the peer's modes are the peer's; a shell's `>` and touch
		 * change nothing, as here */
		if ((to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
			       FUSE_SET_ATTR_GID)) ||
		    ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != 0))
			fuse_reply_err(req, to_set & FUSE_SET_ATTR_SIZE ?
					    EINVAL : EPERM);
		else
			fs_of(req)->net_ops->getattr(req, ino, fi);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (n->kind == FS_DIR) {
			fuse_reply_err(req, EISDIR);
			return;
		}
		if (n->kind == FS_STATS) {
			fuse_reply_err(req, EACCES);
			return;
		}
		if (attr->st_size != 0) {
			fuse_reply_err(req, EINVAL);	/* as for a pipe */
			return;
		}
	}
	err = set_owner_mode(req, n, attr, to_set);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_getattr(req, ino, fi);
}

static void fs_mkdir_op(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	const struct fuse_lowlevel_ops *net = net_of(req, parent);
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct fs_dir *d = dir_of(req, parent), *made;
	int err;

	if (net) {
		net->mkdir(req, parent, name, mode);
		return;
	}
	if (!d) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	err = fs_mkdir(d, name, c->uid, &made);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* as any mkdir: the maker's, with the mode asked (less umask) */
	fs_dir_own(made, c->uid, c->gid, mode & 01777);
	reply_entry(req, &made->node);
}

static void fs_rmdir_op(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct fuse_lowlevel_ops *net = net_of(req, parent);
	struct fs_dir *d = dir_of(req, parent);

	if (net)
		net->rmdir(req, parent, name);
	else
		fuse_reply_err(req, d ? -fs_rmdir(d, name) : ENOTDIR);
}

static void fs_refuse_name(fuse_req_t req, fuse_ino_t parent,
			   const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)mode;
	(void)rdev;
	fs_refuse_name(req, parent, name);
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link;
	fs_refuse_name(req, parent, name);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	(void)newparent;
	(void)newname;
	(void)flags;
	fs_refuse_name(req, parent, name);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino;
	fs_refuse_name(req, newparent, newname);
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	(void)fi;
	fs_refuse_name(req, parent, name);
}

int fs_handle_open(struct fs *fs, struct fs_node *n, int acc,
		   struct fs_handle *h)
{
	struct fs_chan *fc = fs_chan_of(n);
	int err;

	if (n->dir->removed)
		return -ENOENT;
	if (n->kind == FS_DIR || n->kind == FS_NET)
		return -EISDIR;
	if (n->kind == FS_STATS && acc != O_RDONLY)
		return -EACCES;
	/* ENOSYS would tell the kernel we have no open() at all */
	if (fc && (err = fs_chan_make(fc)) < 0)
		return err == -ENOSYS ? -EOPNOTSUPP : err;
	h->node = n;
	h->reads = acc != O_WRONLY;
	h->writes = acc != O_RDONLY;
	if (n->kind == FS_STATS) {
		h->text = fs_stats_text(n->dir, &h->text_len);
		if (!h->text)
			return -ENOMEM;
	} else {
		fs_chan_open(fc, h);
	}
	n->dir->open_handles++;
	TAILQ_INSERT_TAIL(&fs->open_handles, h, open_link);
	return 0;
}

void fs_handle_close(struct fs *fs, struct fs_handle *h)
{
	struct fs_chan *fc = fs_chan_of(h->node);
	struct fs_dir *d = h->node->dir;

	if (fc)
		fs_chan_release(fc, h);
	d->open_handles--;
	TAILQ_REMOVE(&fs->open_handles, h, open_link);
	free(h->text);
	h->text = NULL;
	fs_dir_unref(d);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_get(fs_of(req), ino);
	struct fs_handle *h;
	int err;

	if (n && n->kind == FS_NET) {
		fs_of(req)->net_ops->open(req, ino, fi);
		return;
	}
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = fs_handle_open(fs_of(req), n, fi->flags & O_ACCMODE, h);
	if (err) {
		free(h);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;	/* every read and write reaches us */
	fi->nonseekable = 1;
	fi->noflush = 1;	/* a close has nothing to wait for here */
	if (fuse_reply_open(req, fi) != 0) {
		/* the opener is gone: undo as a release would */
		fs_handle_close(fs_of(req), h);
		free(h);
	}
}

static struct fs_handle *handle_of(struct fuse_file_info *fi)
{
	return (struct fs_handle *)(uintptr_t)fi->fh;
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_handle *h = handle_of(fi);
	struct fs_chan *fc = fs_chan_of(h->node);

	if (h->node->kind == FS_NET) {
		fs_of(req)->net_ops->read(req, ino, size, off, fi);
		return;
	}
	/*
	 * A read for the page cache, not for a reader: an mmap(MAP_PRIVATE)
	 * of the file faulting a page in. The kernel sends those without a
	 * lock owner, a read(2) of a direct_io file always with one. Taking
	 * data for it would lose it: an empty reply, so the toucher gets
	 * SIGBUS and the channel keeps its data.
	 */
	if (fc && !fi->lock_owner) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (fc) {
		struct fs_asker who = fs_asker_fuse(req);

		fs_chan_read(fc, h, &who, size, fi->flags);
		return;
	}
	/* stats: a snapshot taken at open, read like a file */
	if ((size_t)off >= h->text_len)
		size = 0;
	else if (size > h->text_len - (size_t)off)
		size = h->text_len - (size_t)off;
	fuse_reply_buf(req, h->text + off, size);
}

static void fs_write_buf(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_bufvec *bufv, off_t off,
			 struct fuse_file_info *fi)
{
	struct fs_handle *h = handle_of(fi);
	struct fs_chan *fc = fs_chan_of(h->node);
	struct fs_asker who = fs_asker_fuse(req);

	if (h->node->kind == FS_NET) {
		fs_of(req)->net_ops->write_buf(req, ino, bufv, off, fi);
		return;
	}
	if (!fc) {
		fuse_reply_err(req, EBADF);
		return;
	}
	fs_chan_write_buf(fc, h, &who, bufv, fi->flags);
}

/* a peer's file may have writes to wait for (net_import.c) */
static void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (handle_of(fi)->node->kind == FS_NET)
		fs_of(req)->net_ops->flush(req, ino, fi);
	else
		fuse_reply_err(req, 0);
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	if (handle_of(fi)->node->kind == FS_NET)
		fs_of(req)->net_ops->fsync(req, ino, datasync, fi);
	else
		fuse_reply_err(req, 0);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs_handle *h = handle_of(fi);

	if (h->node->kind == FS_NET) {
		fs_of(req)->net_ops->release(req, ino, fi);
		return;
	}
	fs_handle_close(fs_of(req), h);
	free(h);
	fuse_reply_err(req, 0);
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct fs_handle *h = handle_of(fi);
	struct fs_chan *fc = fs_chan_of(h->node);
	struct fs_asker who = fs_asker_fuse(req);
	struct fs_poller p = { .notify = fuse_poll_notify,
			       .drop = fuse_poll_drop, .arg = ph };

	if (h->node->kind == FS_NET) {
		fs_of(req)->net_ops->poll(req, ino, fi, ph);
		return;
	}
	if (!fc) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN);
		return;
	}
	fs_chan_poll(fc, h, &who, &p);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, used;
	off_t skip, next;	/* entries to pass over; this entry's offset */
};

static bool add_entry(void *ctx, const char *name, const struct fs_node *n)
{
	struct dirbuf *b = ctx;
	struct stat st = { 0 };
	size_t len;

	if (b->next++ < b->skip)
		return true;
	st.st_ino = n ? n->ino : FUSE_ROOT_ID;
	st.st_mode = n && n->kind != FS_DIR && n->kind != FS_NET ? S_IFREG :
								   S_IFDIR;
	len = fuse_add_direntry(b->req, b->buf + b->used, b->size - b->used,
				name, &st, b->next);
	if (len > b->size - b->used)
		return false;	/* full: the kernel asks again from here */
	b->used += len;
	return true;
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct fuse_lowlevel_ops *net = net_of(req, ino);
	struct fs_dir *d = dir_of(req, ino);
	struct dirbuf b = { .req = req, .size = size, .skip = off };

	if (net) {
		net->readdir(req, ino, size, off, fi);
		return;
	}
	if (!d) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	b.buf = malloc(size);
	if (!b.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (add_entry(&b, ".", &d->node) &&
	    add_entry(&b, "..", d->parent ? &d->parent->node : &d->node))
		fs_dir_entries(d, add_entry, &b);
	fuse_reply_buf(req, b.buf, b.used);
	free(b.buf);
}

/*
 * Bulk data through pipe and fifo moves as pipe pages, not through our
 * memory (chan.c's splice_in, splice_out). libfuse's pipe must hold a
 * whole request and only CAP_SYS_RESOURCE grows a pipe past
 * pipe-max-size: max_write one page under it. See docs/DESIGN.md,
 * "splice for bulk data".
 */
static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	size_t max = ipc_pipe_max_size() - 4096;	/* the header's page */
	unsigned splice = FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
			  FUSE_CAP_SPLICE_MOVE;

	struct fs *fs = userdata;
	size_t page = (size_t)getpagesize(), pages;

	conn->want |= conn->capable & splice;
	if ((conn->want & FUSE_CAP_SPLICE_READ) && conn->max_write > max)
		conn->max_write = max;
	/*
	 * A direct write is cut at max_write and at the request's pages
	 * (max_write's, rounded up): a buffer that starts late in a page
	 * spans one more. One page fewer always arrives whole, and the
	 * first piece of anything longer is longer than that.
	 */
	pages = (conn->max_write + page - 1) / page;
	fs->msg_max = (pages - 1) * page;
}

const struct fuse_lowlevel_ops fs_ops = {
	.init         = fs_init,
	.lookup       = fs_lookup,
	.forget       = fs_forget_one,
	.forget_multi = fs_forget_multi,
	.getattr      = fs_getattr,
	.setattr      = fs_setattr,
	.mknod        = fs_mknod,
	.mkdir        = fs_mkdir_op,
	.unlink       = fs_refuse_name,
	.rmdir        = fs_rmdir_op,
	.symlink      = fs_symlink,
	.rename       = fs_rename,
	.link         = fs_link,
	.create       = fs_create,
	.open         = fs_open,
	.read         = fs_read,
	.write_buf    = fs_write_buf,
	.flush        = fs_flush,
	.fsync        = fs_fsync,
	.release      = fs_release,
	.readdir      = fs_readdir,
	.poll         = fs_poll,
};
