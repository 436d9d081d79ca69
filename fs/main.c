/*
 * main.c - ipcfs: mount a directory where every IPC transport is a file.
 *
 *	ipcfs [-f] [-d] [-o opt,...] MOUNTPOINT
 *	mount -t fuse.ipcfs ipcfs MOUNTPOINT	(through mount.fuse3)
 *	ipcfs --genkey FILE			(a CURVE key pair for peering)
 *
 * Our own -o options are in opts.c; libfuse takes the rest.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "opts.h"

#if HAVE_ZMQ
#include <zmq.h>

#include "net.h"
#include "net_keys.h"
#endif

/* the IPC transports, "pipe, fifo, ...": not the control (IPC_LOCAL) */
static const char *ipc_names(char *buf, size_t size)
{
	size_t used = 0;
	int n;

	buf[0] = '\0';
	for (unsigned i = 0; ipc_transports[i] && used < size; i++) {
		if (ipc_transports[i]->caps & IPC_LOCAL)
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
			     ipc_transports[i]->name);
		if (n < 0)
			break;
		used += n;
	}
	return buf;
}

/* only what does something here: the loop is one thread, whatever -s */
static void usage(const char *prog)
{
	char names[256];

	printf("usage: %s [options] MOUNTPOINT\n"
	       "\n"
	       "Mount a directory where every IPC mechanism is a file:\n"
	       "  %s\n"
	       "Write a file to send through that mechanism, read it to "
	       "receive;\n`stats` shows every channel; mkdir makes a fresh "
	       "set of channels.\n\n"
	       "    -f              stay in the foreground\n"
	       "    -d, -o debug    print every FUSE request (implies -f)\n"
	       "    -h, --help      this help\n"
	       "    -V, --version   the versions of ipcfs, libfuse and "
	       "libzmq\n"
	       "    --genkey FILE   write a new CURVE key pair for peering: "
	       "FILE (secret,\n"
	       "                    0600) and FILE.pub; print the public key\n"
	       "    -o bind=ADDR    IPv4 address for the tcp and udp channels, "
	       "and zmq's\n"
	       "                    with -o outsiders (default 127.0.0.1, this "
	       "host only)\n"
	       "    -o spin=US      poll this long for the next request "
	       "before sleeping\n"
	       "                    (default %u, at most %u; 0 sleeps at "
	       "once)\n"
	       "    -o control      add the bench's control file plainmem "
	       "(plain memory,\n"
	       "                    not IPC) to every directory\n"
	       "    -o outsiders    let outside tools send to the udp and zmq "
	       "channels:\n"
	       "                    udp takes datagrams from any address, zmq "
	       "listens on\n"
	       "                    tcp://; EVERY local user can then write "
	       "into them\n"
	       "    -o max_dirs=N   mkdir fails with ENOSPC past N directories "
	       "(default %u)\n"
	       "    -o max_user_dirs=N  ... with EDQUOT past N of one user's "
	       "(default %u)\n"
	       "    -o max_parked=MIB  a write that must wait, past MIB waiting "
	       "in all,\n"
	       "                    fails with ENOSPC (default %zu)\n"
	       "    -o max_user_parked=MIB  ... past MIB of one user's, EDQUOT "
	       "(default %zu)\n"
	       "    -o allow_other  let other users in; implies "
	       "-o default_permissions:\n"
	       "                    the file modes are honoured (transport "
	       "files 0600,\n"
	       "                    stats 0444; chmod to share)\n"
	       "    -o default_permissions  the kernel checks each access "
	       "against the modes\n"
	       "    -o listen=ADDR:PORT  export this tree to the peers in "
	       "trust= (ADDR: IPv4\n"
	       "                    or *); needs key= and trust=\n"
	       "    -o peer=NAME=HOST:PORT  show that host's tree as "
	       "net/NAME (repeatable);\n"
	       "                    needs key= and trust= with a line for "
	       "NAME\n"
	       "    -o key=FILE     this host's CURVE secret key (ipcfs "
	       "--genkey FILE)\n"
	       "    -o trust=FILE   the peers' public keys, one \"NAME KEY\" "
	       "a line\n"
	       "    -o peer_timeout=SECS  a peer silent this long is lost "
	       "(default %u)\n"
	       "\n"
	       "These FUSE mount options go to the kernel as for any FUSE "
	       "file system:\n"
	       "    fsname=NAME, subtype=NAME, allow_root, auto_unmount,\n"
	       "    ro, nosuid, nodev, noexec, noatime\n",
	       prog, ipc_names(names, sizeof(names)), FS_SPIN_US_DEFAULT,
	       FS_SPIN_US_MAX, FS_MAX_DIRS_DEFAULT, FS_MAX_USER_DIRS_DEFAULT,
	       FS_MAX_PARKED_DEFAULT >> 20, FS_MAX_USER_PARKED_DEFAULT >> 20,
	       FS_PEER_TIMEOUT_DEFAULT);
}

static void version(void)
{
	printf("ipcfs %s\n", IPCFS_VERSION);
	printf("libfuse %s\n", fuse_pkgversion());
#if HAVE_ZMQ
	{
		int major, minor, patch;

		zmq_version(&major, &minor, &patch);
		printf("libzmq %d.%d.%d\n", major, minor, patch);
	}
#endif
}

/* ipcfs --genkey FILE: never overwrites; exit status */
static int genkey(int argc, char **argv)
{
#if HAVE_ZMQ
	struct net_key k;
	char err[512];
	int ret = 0;

	if (argc != 3 || argv[2][0] == '\0') {
		fprintf(stderr, "usage: %s --genkey FILE\n", argv[0]);
		return 1;
	}
	if (net_genkey(argv[2], &k, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipcfs: %s\n", err);
		return 1;
	}
	if (printf("%s\n", k.public_z85) < 0 || fflush(stdout) != 0)
		ret = 1;
	explicit_bzero(&k, sizeof(k));
	return ret;
#else
	(void)argc;
	fprintf(stderr, "%s: --genkey: built without ZeroMQ\n", argv[0]);
	return 1;
#endif
}

/*
 * mount.fuse3 runs `ipcfs SOURCE MOUNTPOINT -o ...`: drop the source,
 * which names nothing for us, so that fuse_parse_cmdline sees one path.
 */
static void drop_mount_source(int *argc, char **argv)
{
	int first = -1, count = 0;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "-o") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] == '-')
			continue;
		if (count++ == 0)
			first = i;
	}
	if (count != 2)
		return;
	memmove(&argv[first], &argv[first + 1],
		(*argc - first) * sizeof(*argv));
	(*argc)--;
}

/* one line and false when `path` cannot take our mount */
static bool mountpoint_ok(const char *path)
{
	char parent[PATH_MAX];
	struct stat st, pst;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "ipcfs: mount point %s: %s\n", path,
			strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ipcfs: mount point %s: %s\n", path,
			strerror(ENOTDIR));
		return false;
	}
	snprintf(parent, sizeof(parent), "%s/..", path);
	if (stat(parent, &pst) == 0 &&
	    (st.st_dev != pst.st_dev || st.st_ino == pst.st_ino)) {
		fprintf(stderr, "ipcfs: mount point %s: already a mount point"
			" (unmount it first: fusermount3 -u %s)\n", path, path);
		return false;
	}
	return true;
}

/*
 * fuse_parse_cmdline took the mount point from after a "--" and left the
 * "--" behind, then appended -osubtype=ipcfs past it, where
 * fuse_session_new would refuse it as a stray argument: `ipcfs -- DIR`
 * must mount as `ipcfs DIR` does. What is left is options only.
 */
static void drop_dashes(struct fuse_args *args)
{
	int to = 0;

	for (int i = 0; i < args->argc; i++) {
		if (i > 0 && strcmp(args->argv[i], "--") == 0) {
			if (args->allocated)
				free(args->argv[i]);
			continue;
		}
		args->argv[to++] = args->argv[i];
	}
	args->argc = to;
	args->argv[to] = NULL;
}

/* -o listen=, -o peer=: 0, or -1 after a line */
static int peering(struct fs *fs, const struct fs_opts *fo)
{
#if HAVE_ZMQ
	return fs_net_start(fs, fo);
#else
	(void)fs;
	if (!fo->listen[0] && !fo->npeers)
		return 0;
	fprintf(stderr, "ipcfs: -o listen and -o peer: built without "
		"ZeroMQ\n");
	return -1;
#endif
}

/* before mounting, so that the user sees why: 0 or -1 after a line */
static int peering_check(const struct fs_opts *fo)
{
#if HAVE_ZMQ
	return fs_net_check(fo);
#else
	return peering(NULL, fo);
#endif
}

/* after daemonize: the tree and the loop, until unmounted; exit status */
static int serve(struct fs *fs, struct fuse_session *se,
		 const struct fs_opts *fo)
{
	struct ipc_opts io = { .local = true };
	char rundir[PATH_MAX];
	int err;

	/* channels record our pid (signal targets, object names) and the
	 * signal transport blocks its signals in this, the only thread */
	signal(SIGPIPE, SIG_IGN);
	/* an outsider's truncate of a ring's file ends that channel only */
	(void)ipc_catch_sigbus();
	err = ipc_rundir(NULL, rundir, sizeof(rundir));
	if (err < 0) {
		fprintf(stderr, "ipcfs: runtime directory %s: %s\n", rundir,
			strerror(-err));
		return 1;
	}
	ipc_sweep_stale(rundir);
	io.rundir = rundir;
	if (fo->bind_addr[0])
		io.bind_addr = fo->bind_addr;
	io.outsiders = fo->outsiders;
	err = fs_tree_init(fs, &io, fo->control);
	fs->max_dirs = fo->max_dirs;
	fs->max_user_dirs = fo->max_user_dirs;
	fs->max_parked = (size_t)fo->max_parked_mib << 20;
	fs->max_user_parked = (size_t)fo->max_user_parked_mib << 20;
	fs->spin_us = fo->spin_us;
	if (!err)
		err = fs_loop_init(fs, se);
	if (!err && peering(fs, fo) < 0)
		err = -EINVAL;		/* said why already */
	else if (!err)
		err = fs_loop_run(fs, se);
	if (err && err != -EINVAL)
		fprintf(stderr, "ipcfs: %s\n", strerror(-err));
#if HAVE_ZMQ
	fs_net_stop(fs);
#endif
	fs_tree_destroy(fs);
	fs_handles_free(fs);
	fs_loop_fini(fs);
	return err ? 1 : 0;
}

/* mount at `mountpoint` with what is left in args, serve, unmount */
static int run(struct fuse_args *args, const char *mountpoint,
	       bool foreground, const struct fs_opts *fo)
{
	struct fuse_session *se;
	struct fs fs;
	int ret = 1;

	/* prints "fuse: unknown option(s): ..." and fails */
	se = fuse_session_new(args, &fs_ops, sizeof(fs_ops), &fs);
	if (!se)
		return 1;
	/*
	 * libfuse only takes over signals left at their default; a shell
	 * starts `ipcfs ... &` with SIGINT ignored, and Ctrl-C or kill -INT
	 * must still unmount us cleanly.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, mountpoint) != 0)
		goto out_signals;
	if (fuse_daemonize(foreground) == 0)
		ret = serve(&fs, se, fo);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	return ret;
}

int main(int argc, char **argv)
{
	struct fuse_cmdline_opts opts;
	struct fuse_args args;
	struct fs_opts fo;
	int ret = 1;

	if (argc >= 2 && strcmp(argv[1], "--genkey") == 0)
		return genkey(argc, argv);
	drop_mount_source(&argc, argv);
	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	drop_dashes(&args);
	if (opts.show_help) {
		usage(argv[0]);
		ret = 0;
	} else if (opts.show_version) {
		version();
		ret = 0;
	} else if (fs_opts_parse(&args, &fo) == 0 && fs_opts_check(&fo) == 0 &&
		   peering_check(&fo) == 0) {
		if (!opts.mountpoint)
			fprintf(stderr, "usage: %s [options] MOUNTPOINT "
				"(--help for more)\n", argv[0]);
		else if (mountpoint_ok(opts.mountpoint))
			ret = run(&args, opts.mountpoint, opts.foreground, &fo);
	}
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
