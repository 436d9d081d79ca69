/*
 * net_wire.h - the peering's messages (docs/DESIGN.md, "Across hosts").
 *
 * One ZeroMQ frame per message (after the ROUTER's routing id): a fixed
 * little-endian header of NET_WIRE_HDR bytes, then the blob (a path, a
 * write's bytes, a reply's data) up to the end of the frame:
 *
 *	0  u8  version (NET_WIRE_VERSION)	1  u8  type (enum net_type)
 *	2  u16 flags (NET_F_*)			4  i32 err (REPLY: an errno)
 *	8  u64 seq	16 u64 ack	24 u64 handle	32 u64 arg	40 u64 off
 *
 * net_wire_decode() is the one way in: it checks everything against the
 * frame and refuses the rest with -EPROTO.
 */
#ifndef FS_NET_WIRE_H
#define FS_NET_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define NET_WIRE_VERSION	2
#define NET_WIRE_HDR		48
#define NET_IO_MAX		(1u << 20)	/* a READ's or WRITE's bytes */
#define NET_PATH_MAX		200		/* "dir/file" */
#define NET_NAME_LEN_MAX	64		/* one path component */
#define NET_ACKS_MAX		1024		/* seqs in one ACK */
#define NET_FRAME_MAX		(NET_WIRE_HDR + NET_IO_MAX)

enum net_type {
	NET_HELLO = 1,	/* B: a session (re)starts; arg: B's epoch */
	NET_PING,	/* heartbeat, either way */
	NET_PONG,	/* a PING's answer */
	NET_ACK,	/* B: blob: the u64 seqs below seq it awaits replies
			 * of, ascending (it has all others); ack: low mark */
	NET_LOOKUP,	/* path -> REPLY blob: struct net_attr */
	NET_LIST,	/* path of a directory -> REPLY blob: entries */
	NET_OPEN,	/* path; arg: O_ACCMODE | O_NONBLOCK -> REPLY handle;
			 * arg: bit 0 a message channel, bits 32-63 its
			 * largest message; off: room (as WRITE's) */
	NET_READ,	/* handle; arg: bytes wanted; off: stats' offset */
	NET_WRITE,	/* handle; blob: the bytes -> REPLY arg: count;
			 * off: the channel's room now, a hint: bytes a
			 * write would put in without waiting */
	NET_RELEASE,	/* handle */
	NET_POLL,	/* handle; NET_F_NOTIFY: keep a poller -> arg: revents */
	NET_CANCEL,	/* arg: the seq of a parked request to interrupt */
	NET_MKDIR,	/* path; arg: mode -> REPLY blob: struct net_attr */
	NET_RMDIR,	/* path */
	NET_REPLY,	/* A: the answer to request seq; err or data */
	NET_NOTIFY,	/* A: a polled handle may be ready */
	NET_TYPE_END
};

#define NET_F_NONBLOCK	0x1	/* READ, WRITE: EAGAIN rather than wait */
#define NET_F_NOTIFY	0x2	/* POLL: NOTIFY me when it may change */
#define NET_F_NOSESSION	0x4	/* REPLY: no session for you (HELLO first) */
#define NET_F_ALL	0x7

struct net_msg {
	uint8_t type;
	uint16_t flags;
	int32_t err;
	uint64_t seq, ack, handle, arg, off;
	const void *blob;
	size_t blob_len;
};

/* is this type a numbered request, executed once and answered by REPLY? */
int net_wire_is_request(unsigned type);
const char *net_wire_type_name(unsigned type);

/* the frame's length for m; then write it to out (that many bytes) */
size_t net_wire_size(const struct net_msg *m);
void net_wire_encode(const struct net_msg *m, void *out);

/* 0, or -EPROTO: m then means nothing. m->blob points into frame. */
int net_wire_decode(const void *frame, size_t len, struct net_msg *m);

/* what LOOKUP and MKDIR answer */
enum net_kind { NET_KIND_DIR = 1, NET_KIND_FILE = 2 };
struct net_attr {
	uint8_t kind;		/* enum net_kind */
	uint16_t mode;		/* permission bits */
	uint64_t size;		/* queued bytes */
	uint64_t mtime;
};
#define NET_ATTR_LEN	24
void net_wire_attr_encode(const struct net_attr *a, void *out);
int net_wire_attr_decode(const void *blob, size_t len, struct net_attr *a);

/*
 * LIST's answer: entries of u8 kind, u8 name length, the name. Append
 * one (0, or -ENOSPC past cap); walk them: 1 with the next in kind and
 * name (NUL-terminated, NET_NAME_LEN_MAX + 1 bytes), 0 at the end,
 * -EPROTO for anything malformed.
 */
int net_wire_list_add(char *buf, size_t cap, size_t *used, unsigned kind,
		      const char *name);
struct net_list_walk {
	const unsigned char *p;
	size_t left;
};
int net_wire_list_next(struct net_list_walk *w, unsigned *kind, char *name);

/* is path a well-formed relative path: "", "x" or "x/y", no "."/".."? */
int net_wire_path_ok(const char *path, size_t len);

#endif
