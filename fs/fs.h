/*
 * fs.h - the ipcfs daemon: the in-memory tree (tree.c), channel logic
 * with parked requests (chan.c), the FUSE handlers (ops.c) and the epoll
 * loop (loop.c). Single-threaded: every function runs on the loop thread.
 */
#ifndef FS_H
#define FS_H

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 14)

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "transport.h"

/* FS_NET: net/ and what is under it, a peer's files (net_import.c) */
enum fs_kind { FS_DIR, FS_CHAN, FS_STATS, FS_NET };

struct fs;
struct fs_dir;

/* what an inode is; embedded in the dir, chan or stats it names */
struct fs_node {
	fuse_ino_t ino;
	enum fs_kind kind;
	struct fs_dir *dir;	/* the dir itself, or the file's parent */
	uint64_t nlookup;	/* the kernel's references (lookup/forget) */
	/* getattr's; the kernel checks them with -o default_permissions */
	mode_t mode;		/* permission bits only */
	uid_t uid;
	gid_t gid;
};

struct fs_req;
struct fs_asker;

/*
 * Who asked for a read, write or poll: a FUSE request (ops.c), or a
 * peer's request (net_export.c). chan.c answers through these and never
 * asks which it is. Each request is answered exactly once.
 */
struct fs_asker_ops {
	void (*data)(const struct fs_asker *a, const void *buf, size_t len);
	/* answer with up to len bytes moved out of fd (a kernel pipe):
	 * the count, or -errno if nothing could be taken */
	ssize_t (*data_fd)(const struct fs_asker *a, int fd, size_t len);
	void (*error)(const struct fs_asker *a, int err);
	void (*written)(const struct fs_asker *a, size_t count);
	void (*polled)(const struct fs_asker *a, unsigned revents);
	/* r waits now: the asker calls fs_req_interrupt(r) if it gives up
	 * (at once, if it already has) */
	void (*parked)(const struct fs_asker *a, struct fs_req *r);
};

struct fs_asker {
	const struct fs_asker_ops *ops;
	void *ctx;		/* fuse_req_t, or a peer's call */
	uid_t uid;		/* whose budget a parked write's copy takes */
};

/* someone polling a handle, told once when it may be ready */
struct fs_poller {
	void (*notify)(void *arg);
	void (*drop)(void *arg);	/* after notify, or instead of it */
	void *arg;			/* NULL: nobody polls */
};

/* a read or write waiting for the channel: answered later from the loop */
struct fs_req {
	TAILQ_ENTRY(fs_req) link;
	struct fs_asker who;
	struct fs_handle *h;
	bool is_write;
	size_t size;		/* read: bytes wanted; write: bytes in data */
	size_t done;		/* write: bytes sent so far */
	size_t from;		/* write: done when parked, data[0]'s offset */
	char data[];		/* write: a copy of the bytes not yet sent */
};
TAILQ_HEAD(fs_req_list, fs_req);

/* one open file */
struct fs_handle {
	struct fs_node *node;
	bool reads, writes;
	bool saw_writer;	/* read data, or a writer came and went */
	uint64_t writer_closes;	/* chan->writer_closes when opened */
	struct fs_poller poller;	/* arg NULL: nobody polls */
	TAILQ_ENTRY(fs_handle) poll_link;
	TAILQ_ENTRY(fs_handle) open_link;	/* every open handle */
	char *text;		/* stats: the snapshot taken at open */
	size_t text_len;
};
TAILQ_HEAD(fs_handle_list, fs_handle);

/* an epoll registration: which channel end became ready */
struct fs_watch {
	struct fs_chan *fc;	/* NULL: the FUSE session, or ready's */
	/* not a channel's: the loop calls this (the peering's sockets) */
	void (*ready)(struct fs_watch *w);
	enum ipc_end end;
	int fd;			/* registered fd, -1 if none */
	bool armed;
};

struct fs_chan {
	struct fs_node node;
	struct ipc_chan ch;
	const struct ipc_transport *t;
	const struct ipc_opts *opts;
	int open_err;		/* -errno of the last failed fs_chan_make */
	unsigned readers, writers;
	uint64_t writer_closes;
	struct fs_req_list reads, writes;
	struct fs_handle_list pollers;
	/* received from the mechanism, not yet read: the rest of a message
	 * that a short read() did not take, or what poll() looked ahead at */
	char *pend;
	size_t pend_off, pend_len;
	struct fs_watch watch[2];
};

struct fs_dir {
	struct fs_node node;
	struct fs *fs;		/* the instance the dir belongs to */
	char name[256];
	struct fs_dir *parent;	/* NULL for the root */
	TAILQ_ENTRY(fs_dir) link;
	TAILQ_HEAD(, fs_dir) subdirs;
	struct fs_dir *hash_next;	/* the root's name table's chain */
	struct fs_node stats;
	unsigned nchans;
	struct fs_chan *chans;	/* one per transport, registry order */
	unsigned open_handles;
	time_t created;		/* every file's times */
	bool removed;		/* rmdir'ed: freed when the kernel forgets */
};

/*
 * One daemon: its tree, its event loop, its open files. main() makes it
 * and gives it to libfuse as the session's userdata; handlers find it
 * with fuse_req_userdata(), channels through their dir. Nothing else in
 * fs/ holds state, so two can live side by side (tests/unit/test_fs.c).
 */
struct fs {
	/* tree.c */
	struct fs_node **nodes;		/* by inode number */
	fuse_ino_t nodes_len, next_ino;
	struct fs_dir *root;
	struct ipc_opts chan_opts;
	/* the root's directories by name: chained, seeded, grown */
	struct fs_dir **dir_hash;
	unsigned dir_buckets, ndirs;
	uint32_t hash_seed;
	/* mkdir's bounds: ENOSPC past max_dirs, EDQUOT past max_user_dirs
	 * of one user's own */
	unsigned max_dirs, max_user_dirs;
	/* parked writes' copies: ENOSPC past max_parked bytes in all,
	 * EDQUOT past max_user_parked of one user's */
	size_t max_parked, max_user_parked;
	struct fs_parker {
		uid_t uid;
		size_t bytes;
	} *parkers;
	unsigned nparkers;
	const struct ipc_transport **transports;	/* a file each */
	unsigned ntransports;
	/* loop.c */
	int epfd;
	struct fs_watch session_watch;
	unsigned spin_us;		/* poll this long before sleeping */
	/* ops.c: files still open at unmount get no release */
	struct fs_handle_list open_handles;
	/* chan.c: one receive buffer, the loop being one thread */
	char *scratch;
	size_t scratch_len;
	size_t splice_max;		/* largest reply spliced, 0: unknown */
	/* the largest write the kernel always sends in one request, from
	 * any buffer alignment: a message's bound through the mount */
	size_t msg_max;
	/* the peering (net.c), NULL without listen= or peer= */
	struct fs_net *net;
	/* net/ under the root, with peer=; its own FUSE handlers */
	struct fs_node *net_dir;
	const struct fuse_lowlevel_ops *net_ops;
	/* after each turn of the loop: the peering's sockets */
	void (*turn_end)(struct fs *fs);
	/* peers may make and remove directories (-o listen=): the kernel
	 * must not keep a directory's entry (docs/DESIGN.md, "Across
	 * hosts") */
	bool dirs_shared;
	/* the root's stats: lines of the peering's, appended */
	int (*stats_extra)(struct fs *fs, char *buf, size_t size);
};

static inline struct fs *fs_of_chan(const struct fs_chan *fc)
{
	return fc->node.dir->fs;
}

/* tree.c */
/*
 * Set up every part of fs at rest and make its root. Each transport gets
 * a file, but the local ones (IPC_LOCAL: the bench's control, no IPC)
 * only with `control`. 0 or -errno; fs_tree_destroy() either way.
 */
int fs_tree_init(struct fs *fs, const struct ipc_opts *o, bool control);
void fs_tree_destroy(struct fs *fs);
struct fs_node *fs_node_get(struct fs *fs, fuse_ino_t ino);
/* give n an inode number in d's instance; 0 or -ENOMEM */
int fs_node_add(struct fs_node *n, enum fs_kind kind, struct fs_dir *d);
void fs_node_del(struct fs *fs, struct fs_node *n);
struct fs_node *fs_lookup_name(struct fs_dir *dir, const char *name);
void fs_fill_attr(const struct fs_node *n, struct stat *st);
/* a directory for uid; -EEXIST, -EINVAL (name), -ENOSPC, -EDQUOT */
int fs_mkdir(struct fs_dir *parent, const char *name, uid_t uid,
	     struct fs_dir **out);
#define FS_MAX_DIRS_DEFAULT		1024
#define FS_MAX_PARKED_DEFAULT		((size_t)64 << 20)
#define FS_MAX_USER_PARKED_DEFAULT	((size_t)16 << 20)
#define FS_MAX_USER_DIRS_DEFAULT	256
/* give a dir made by mkdir and its files to their maker; mode: the dir's */
void fs_dir_own(struct fs_dir *d, uid_t uid, gid_t gid, mode_t mode);
int fs_rmdir(struct fs_dir *parent, const char *name);
void fs_forget(struct fs_node *n, uint64_t nlookup);
void fs_dir_unref(struct fs_dir *d);
/* the stats lines of a dir, malloc'ed; makes channels not made yet */
char *fs_stats_text(struct fs_dir *d, size_t *len);
/* call fn on every directory entry after ".", ".." */
typedef bool (*fs_dirent_fn)(void *ctx, const char *name,
			     const struct fs_node *n);
void fs_dir_entries(struct fs_dir *d, fs_dirent_fn fn, void *ctx);
static inline struct fs_chan *fs_chan_of(struct fs_node *n)
{
	return n->kind == FS_CHAN ? (struct fs_chan *)n : NULL;
}

/* chan.c */
void fs_chan_init(struct fs_chan *fc, const struct ipc_transport *t,
		  const struct ipc_opts *o);
/* make the mechanism if it is not there yet: 0 or -errno */
int fs_chan_make(struct fs_chan *fc);
void fs_chan_fini(struct fs_chan *fc);
void fs_chan_open(struct fs_chan *fc, struct fs_handle *h);
void fs_chan_release(struct fs_chan *fc, struct fs_handle *h);
void fs_chan_read(struct fs_chan *fc, struct fs_handle *h,
		  const struct fs_asker *who, size_t size, int flags);
void fs_chan_write(struct fs_chan *fc, struct fs_handle *h,
		   const struct fs_asker *who, const char *buf, size_t size,
		   int flags);
/* the same, for libfuse's write_buf: memory, or pages in its pipe */
void fs_chan_write_buf(struct fs_chan *fc, struct fs_handle *h,
		       const struct fs_asker *who, struct fuse_bufvec *bufv,
		       int flags);
/* answer who with the revents now; with a poller, keep it to notify
 * when they may have changed (p is copied) */
void fs_chan_poll(struct fs_chan *fc, struct fs_handle *h,
		  const struct fs_asker *who, const struct fs_poller *p);
/* the asker of a parked request gave up: EINTR, or a write's count */
void fs_req_interrupt(struct fs_req *r);
/* the loop saw an end's readiness fd fire */
void fs_chan_ready(struct fs_chan *fc, enum ipc_end end);
size_t fs_chan_queued(const struct fs_chan *fc);
/* what a write would put in now without waiting, as the channel's stats
 * tell (FS_ROOM_UNKNOWN if writable but they do not say how much): a
 * hint for a peer (net_import.c) */
#define FS_ROOM_UNKNOWN	((size_t)64 << 10)
size_t fs_chan_room(const struct fs_chan *fc);
unsigned fs_chan_parked(const struct fs_chan *fc, bool writes);

/* loop.c */
#define FS_SPIN_US_DEFAULT	50
int fs_loop_init(struct fs *fs, struct fuse_session *se);
int fs_loop_run(struct fs *fs, struct fuse_session *se);
void fs_loop_fini(struct fs *fs);
/* (un)register interest in an end's readiness; one-shot */
void fs_watch_arm(struct fs_watch *w, int fd, short events);
void fs_watch_drop(struct fs_watch *w);

/* ops.c */
extern const struct fuse_lowlevel_ops fs_ops;
/* a FUSE request as chan.c's asker */
struct fs_asker fs_asker_fuse(fuse_req_t req);
/* free the handles of files still open when the session ends */
void fs_handles_free(struct fs *fs);
/*
 * Open n for acc (O_RDONLY, O_WRONLY, O_RDWR) as handle h, zeroed by the
 * caller; the checks are the caller's. 0 or -errno. The same for FUSE's
 * and a peer's files (net_export.c), and so is fs_handle_close.
 */
int fs_handle_open(struct fs *fs, struct fs_node *n, int acc,
		   struct fs_handle *h);
/* release h (not freed) */
void fs_handle_close(struct fs *fs, struct fs_handle *h);

#endif
