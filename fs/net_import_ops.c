/*
 * net_import_ops.c - the FUSE handlers of net/ and of the peers' files
 * (net_import.h). net/ and each peer's root are answered here; below,
 * every request becomes one request to the peer, answered when its
 * reply comes (net_import.c's finish).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_import.h"

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
	struct net_out *o = net_out_new(p, req, kind, type);

	if (!o)
		return NULL;
	snprintf(o->path, sizeof(o->path), "%s", path);
	if (net_out_blob(o, path, strlen(path)) < 0) {
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
			net_reply_entry(req, p->root, NULL);
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
		net_out_submit(o);
}

static void ngetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct net_node *n = node_of(req, ino);
	struct net_out *o;
	struct stat st;

	(void)fi;
	if (!n->peer || n == n->peer->root) {
		net_fill_stat(n, NULL, &st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	o = path_out(n->peer, req, OUT_ATTR, NET_LOOKUP, n->path);
	if (o)
		net_out_submit(o);
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
	net_out_submit(o);
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
	net_out_submit(o);
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
	o = net_out_new(f->peer, req, kind, type);
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
	net_out_submit(o);
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
	 * nor than the peer's channel takes (said at open: a write may be
	 * answered before the peer sees it) */
	if (size > NET_IO_MAX ||
	    (f->is_msg && ((fs->msg_max && size > fs->msg_max) ||
			   (f->max_msg && size > f->max_msg)))) {
		fuse_reply_err(req, EMSGSIZE);
		return;
	}
	if (f->err) {		/* an earlier write, answered early, failed */
		fuse_reply_err(req, f->err);
		f->err = 0;
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
	net_out_submit_write(o, !(fi->flags & O_NONBLOCK));
}

static void nrelease(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	net_file_release((struct net_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* close(2) and fsync(2): once what was answered early is done */
static void nflush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	net_file_flush((struct net_file *)(uintptr_t)fi->fh, req);
}

static void nfsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi)
{
	(void)datasync;
	nflush(req, ino, fi);
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
	net_out_submit(o);
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
	net_out_submit(o);
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
		net_out_submit(o);
}

const struct fuse_lowlevel_ops net_import_ops = {
	.lookup = nlookup,
	.getattr = ngetattr,
	.readdir = nreaddir,
	.open = nopen,
	.read = nread,
	.write_buf = nwrite_buf,
	.release = nrelease,
	.flush = nflush,
	.fsync = nfsync,
	.poll = npoll,
	.mkdir = nmkdir,
	.rmdir = nrmdir,
};
