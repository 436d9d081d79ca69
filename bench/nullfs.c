/*
 * nullfs.c - the bench's FUSE floor, `nullfs [-f] [-o opt] MOUNTPOINT`: one
 * file, `null`; writes are discarded, reads give zeros, each answered at
 * once. direct_io, nonseekable and one thread as in ipcfs: a request costs
 * what any FUSE request costs and nothing more. Built with
 * -Wno-unused-parameter: the callbacks take more than they use.
 */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 14)

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NULL_INO	2
#define NULL_NAME	"null"

static char *zeros;		/* grown to the largest read seen */
static size_t zeros_len;
static time_t started;

static void null_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atime = st->st_mtime = st->st_ctime = started;
	st->st_mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0666;
	st->st_nlink = ino == FUSE_ROOT_ID ? 2 : 1;
}

static void null_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { .ino = NULL_INO, .entry_timeout = 1.0,
				      .attr_timeout = 1.0 };

	if (parent != FUSE_ROOT_ID || strcmp(name, NULL_NAME) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	null_attr(NULL_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void null_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	null_attr(ino, &st);
	if (ino != FUSE_ROOT_ID && ino != NULL_INO)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, 1.0);
}

static void null_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != NULL_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1;	/* every read and write reaches us, as in ipcfs */
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void null_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	char *p;

	if (size > zeros_len) {
		p = realloc(zeros, size);
		if (!p) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		memset(p + zeros_len, 0, size - zeros_len);
		zeros = p;
		zeros_len = size;
	}
	fuse_reply_buf(req, zeros, size);
}

static void null_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_reply_write(req, size);
}

static void null_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			 int to_set, struct fuse_file_info *fi)
{
	null_getattr(req, ino, fi);	/* `> null` truncates: nothing to do */
}

static void null_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi)
{
	static const char *const names[] = { ".", "..", NULL_NAME };
	char buf[512];
	size_t used = 0, len;
	struct stat st = { 0 };

	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	for (off_t i = off; i < 3; i++) {
		st.st_ino = i == 2 ? NULL_INO : FUSE_ROOT_ID;
		st.st_mode = i == 2 ? S_IFREG : S_IFDIR;
		len = fuse_add_direntry(req, buf + used, size - used, names[i], &st, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
}

static const struct fuse_lowlevel_ops null_ops = {
	.lookup  = null_lookup, .getattr = null_getattr, .setattr = null_setattr,
	.open    = null_open, .read    = null_read, .write   = null_write, .readdir = null_readdir,
};

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	int ret = 1;

	started = time(NULL);
	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	if (opts.show_help || opts.show_version) {
		printf("usage: %s [-f] [-d] [-o opt,...] MOUNTPOINT\n"
		       "The bench's FUSE floor: one file, `null`; writes are "
		       "discarded, reads return zeros.\n", argv[0]);
		if (opts.show_help) {
			fuse_cmdline_help();
			fuse_lowlevel_help();
		}
		ret = 0;
		goto out_args;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: %s [-f] MOUNTPOINT\n", argv[0]);
		goto out_args;
	}
	se = fuse_session_new(&args, &null_ops, sizeof(null_ops), NULL);
	if (se && fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, opts.mountpoint) == 0) {
			if (fuse_daemonize(opts.foreground) == 0)
				ret = fuse_session_loop(se) ? 1 : 0;	/* one thread */
			fuse_session_unmount(se);
		}
		fuse_remove_signal_handlers(se);
	}
	if (se)
		fuse_session_destroy(se);
out_args:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	free(zeros);
	return ret;
}
