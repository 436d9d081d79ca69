/*
 * net.h - the peering: this tree exported to peers (net_export.c, -o
 * listen=) and peers' trees imported as net/NAME (net_import.c, -o peer=),
 * over ZeroMQ with CURVE (net_keys.c). One context, every socket's ZMQ_FD
 * in the daemon's one epoll loop, no thread but libzmq's own. See
 * docs/DESIGN.md, "Across hosts".
 */
#ifndef FS_NET_H
#define FS_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fs.h"
#include "net_calls.h"
#include "net_keys.h"
#include "net_wire.h"
#include "opts.h"

struct net_export;
struct net_import;

struct fs_net {
	struct fs *fs;
	void *zctx;
	struct net_key key;
	struct net_trust *trust;
	struct net_zap *zap;
	unsigned timeout_ms;		/* -o peer_timeout */
	int timer_fd;			/* every tick_ms: heartbeats, timeouts */
	unsigned tick_ms;
	struct fs_watch timer_watch, zap_watch;
	struct net_export *export;	/* NULL: not listening */
	struct net_import *import;	/* NULL: no peers */
	/* a peer acts as the mounting user: its ids, for the modes */
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	/* hostile or broken frames: counted, logged once a second */
	unsigned long refused;
	time_t refused_logged;
	bool quiet;			/* no session lines (the fuzz target) */
};

/* before mounting: the key and trust files load, every peer is
 * trusted; 0, or -1 after a line on stderr */
int fs_net_check(const struct fs_opts *o);
/* after fs_loop_init: 0, or -1 after a line on stderr */
int fs_net_start(struct fs *fs, const struct fs_opts *o);
/* release every peer's handles, close every socket */
void fs_net_stop(struct fs *fs);

/* inside the peering */
uint64_t net_now_ms(void);
uint64_t net_now_us(void);
/* watch a zmq socket's ZMQ_FD (edge-triggered: see net.c) */
int net_watch_zsock(struct fs_net *net, struct fs_watch *w, void *zsock);
void net_unwatch(struct fs_net *net, struct fs_watch *w);
/* a message, after a routing id if id; never waits: 0 or -errno */
int net_send(void *zsock, const void *id, size_t idlen,
	     const struct net_msg *m);
/* does zsock have a message for us? (also resets its ZMQ_FD edge) */
bool net_readable(void *zsock);
/* a refused frame: counted, and a line at most once a second */
void net_refused(struct fs_net *net, const char *peer, const char *why);
/* may the mounting user do want (4 r, 2 w, 1 x) to n? */
bool net_may(const struct fs_net *net, const struct fs_node *n, int want);

int net_export_start(struct fs_net *net, const char *listen);
/* the export on a ROUTER made elsewhere (the fuzz target's, inproc) */
int net_export_open(struct fs_net *net, void *router);
/* one message as received from routing id id (8 bytes), of peer name */
void net_export_message(struct net_export *x, const unsigned char *id,
			const char *name, const void *frame, size_t len);
void net_export_turn(struct net_export *x);
void net_export_tick(struct net_export *x);
void net_export_stop(struct net_export *x);

int net_import_start(struct fs_net *net, const struct fs_opts *o);
void net_import_turn(struct net_import *im);
void net_import_tick(struct net_import *im);
void net_import_stop(struct net_import *im);
/* the root stats' peer lines, snprintf-like */
int net_import_stats(struct net_import *im, char *buf, size_t size);

#endif
