/*
 * opts.h - ipcfs's own -o options, apart from FUSE's (opts.c).
 *
 *	-o bind=ADDR		IPv4 address the tcp, udp and zmq channels
 *				listen on (default 127.0.0.1)
 *	-o spin=US		how long the event loop polls before it
 *				sleeps (default FS_SPIN_US_DEFAULT, 0..10000)
 *	-o control		adds the bench's control file plainmem
 *				(plain memory, not IPC) to every directory
 *	-o outsiders		objects take anyone's data: udp from any
 *				address, zmq on tcp:// (every local user)
 *	-o max_dirs=N		mkdir fails with ENOSPC past N directories
 *	-o max_user_dirs=N	... with EDQUOT past N of one user's own
 *	-o max_parked=MIB	a write that would park past MIB of copies
 *				in all fails with ENOSPC (a short count if
 *				part of it went)
 *	-o max_user_parked=MIB	... past MIB of one user's, EDQUOT
 *	-o allow_other		(FUSE's) turns on default_permissions too
 *	-o listen=ADDR:PORT	export this tree to peers (ADDR: IPv4 or *)
 *	-o peer=NAME=HOST:PORT	import a peer's tree as net/NAME (repeatable)
 *	-o key=FILE		this daemon's CURVE secret key
 *	-o trust=FILE		the peers' public keys, "NAME KEY" lines
 *	-o peer_timeout=SECS	a peer silent this long is lost (default 10)
 */
#ifndef FS_OPTS_H
#define FS_OPTS_H

#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>

#include "fs.h"

#define FS_PEERS_MAX	16
#define FS_PEER_TIMEOUT_DEFAULT	10
#define FS_PEER_TIMEOUT_MAX	3600

struct fs_opts {
	char bind_addr[INET_ADDRSTRLEN];	/* dotted quad; "": loopback */
	bool allow_other;		/* -o allow_other was given */
	bool default_permissions;	/* given, or added for allow_other */
	unsigned spin_us;		/* -o spin=US, else the default */
	bool control;			/* -o control: plainmem files too */
	bool outsiders;			/* -o outsiders: see ipc_opts */
	unsigned max_dirs;		/* -o max_dirs=N: mkdir's bound */
	unsigned max_user_dirs;		/* -o max_user_dirs=N: each user's */
	unsigned max_parked_mib;	/* -o max_parked=MIB: parked writes */
	unsigned max_user_parked_mib;	/* -o max_user_parked=MIB */
	/* the peering (docs/DESIGN.md, "Across hosts") */
	char listen[INET_ADDRSTRLEN + 8];	/* "ADDR:PORT", "": none */
	struct fs_opts_peer {
		char name[33];			/* [a-z0-9_-]{1,32} */
		char addr[272];			/* HOST:PORT */
	} peers[FS_PEERS_MAX];
	unsigned npeers;
	char key[PATH_MAX];			/* "": none */
	char trust[PATH_MAX];
	unsigned peer_timeout_s;
};

#define FS_SPIN_US_MAX	10000	/* more is a busy loop, not a wait */
#define FS_MAX_DIRS_LIMIT	1000000
#define FS_MAX_PARKED_MIB	65536	/* 64 GiB: more is not a bound */

/*
 * Take ipcfs's options out of args and fill *o.
 *
 * args is a command line as main() gets it (argv[0] the program), before
 * or after fuse_parse_cmdline: options come as "-o a,b" or "-oa,b". On
 * return args holds every argument that is not ours, in order, for
 * fuse_session_new; with allow_other and no default_permissions it also
 * ends in "-odefault_permissions", so that the kernel checks the modes
 * of the files against the caller.
 *
 * Returns 0, or -1 after one line on stderr naming the bad option
 * ("ipcfs: bad bind address 'xyz'", "ipcfs: bad spin 'x'"; libfuse's
 * own "fuse: ..." for a dangling -o or no memory). *o is zeroed first, owns no memory, and
 * means nothing after -1.
 * args may have been reallocated either way: the caller frees it with
 * fuse_opt_free_args(). No exit(), no global state, no system calls
 * beyond malloc: safe to call again and again (the fuzz target does).
 */
int fs_opts_parse(struct fuse_args *args, struct fs_opts *o);

/*
 * Check what only the system can tell: that ADDR is one of this host's
 * (a socket binds to it). 0, or -1 after one line on stderr.
 */
int fs_opts_check(const struct fs_opts *o);

#endif
