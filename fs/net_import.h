/*
 * net_import.h - inside the import (-o peer=): net_import.c keeps the
 * peers, their sessions and requests; net_import_ops.c has the FUSE
 * handlers of net/ and the peers' files, each turning a request into a
 * net_out.
 */
#ifndef FS_NET_IMPORT_H
#define FS_NET_IMPORT_H

#include <sys/queue.h>

#include "net.h"

enum peer_state { PEER_CONNECTING, PEER_UP, PEER_LOST };

struct net_peer;
struct net_flush;
TAILQ_HEAD(net_out_list, net_out);

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
	size_t max_msg;			/* the peer channel's largest */
	size_t room;			/* the peer's hint, less what went */
	struct fuse_pollhandle *ph;	/* waits for a NOTIFY */
	struct net_out_list writes;	/* its blocking writes, oldest first */
	int err;		/* an early answered write's trouble, for
				 * the next write or close to report */
	bool released;		/* closed: goes once writes is empty */
	struct net_flush *flushes;	/* closes waiting for writes */
	struct net_file *next;
};

/* how a reply is turned into the FUSE answer */
enum out_kind { OUT_ENTRY, OUT_ATTR, OUT_LIST, OUT_OPEN, OUT_READ,
		OUT_WRITE, OUT_POLL, OUT_ERR, OUT_NONE };

/* one request to the peer, from admission to its reply */
struct net_out {
	TAILQ_ENTRY(net_out) link;
	TAILQ_ENTRY(net_out) wlink;	/* in its file's writes */
	struct net_peer *peer;
	fuse_req_t req;			/* NULL: nobody waits (RELEASE) */
	enum out_kind kind;
	struct net_msg m;		/* seq and ack are set when sent */
	char *blob;			/* m.blob's own copy */
	size_t cost;			/* bytes against the window */
	bool queued, cancel;		/* in inflight; CANCEL sent */
	bool in_writes, early;		/* a blocking WRITE; answered */
	char path[NET_PATH_MAX + 1];	/* ENTRY: the node's path */
	struct fuse_file_info fi;	/* OPEN */
	size_t size;			/* READ, LIST, WRITE */
	off_t off;			/* LIST */
	struct net_file *file;		/* POLL */
	struct fuse_pollhandle *ph;	/* POLL */
};

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
	uint64_t early;			/* writes answered early, in all */
	uint64_t lost;			/* of those, failed with nobody left
					 * to tell (their close interrupted) */
	bool failing;			/* fail_all runs: answer nothing early */
	unsigned nacks;			/* replies since the last ACK */
	size_t nack_bytes;		/* and their bytes */
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

extern const struct fuse_lowlevel_ops net_import_ops;

static inline struct net_import *im_of(fuse_req_t req)
{
	return ((struct fs *)fuse_req_userdata(req))->net->import;
}

static inline struct net_node *node_of(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_node *n = fs_node_get(fuse_req_userdata(req), ino);

	return n && n->kind == FS_NET ? (struct net_node *)n : NULL;
}

/* a request from FUSE to the peer; EHOSTUNREACH at once if it is down
 * (then NULL, req answered) */
struct net_out *net_out_new(struct net_peer *p, fuse_req_t req,
			    enum out_kind kind, unsigned type);
/* the message's blob, copied; 0 or -ENOMEM */
int net_out_blob(struct net_out *o, const void *blob, size_t len);
/* queue it (sent when the window allows), interruptible from now on */
void net_out_submit(struct net_out *o);
/* a WRITE: as net_out_submit; a blocking one may be answered before
 * the peer's reply (net_import.c, "writes answered early") */
void net_out_submit_write(struct net_out *o, bool blocking);
/* FLUSH, FSYNC: answered once the file's early writes are done, with
 * their trouble if any */
void net_file_flush(struct net_file *f, fuse_req_t req);
/* RELEASE: the peer's handle goes once the file's writes are done */
void net_file_release(struct net_file *f);
/* take f off its peer's list, its poller destroyed (f is not freed) */
void net_file_unlink(struct net_file *f);
/* a WRITE's reply: the peer's room after o (less early writes since) */
void net_room_update(const struct net_out *o, size_t room);
/* o (any request) is done: if one of its file's writes, with err */
void net_write_end(struct net_out *o, int err);
/* the node of path in p's tree, made on first sight; NULL: ENOMEM */
struct net_node *net_node_at(struct net_peer *p, const char *path,
			     unsigned kind);
/* a's attributes (NULL: net/ or a peer's root, answered here) */
void net_fill_stat(const struct net_node *n, const struct net_attr *a,
		   struct stat *st);
void net_reply_entry(fuse_req_t req, struct net_node *n,
		     const struct net_attr *a);

#endif
