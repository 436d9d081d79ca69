/*
 * main.c - ipcfs: mount a directory where every IPC transport is a file.
 *
 *	ipcfs [-f] [-d] [-o opt,...] MOUNTPOINT
 *	mount -t fuse.ipcfs ipcfs MOUNTPOINT	(through mount.fuse3)
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

static void usage(const char *prog)
{
	char names[256];

	printf("usage: %s [options] MOUNTPOINT\n"
	       "\n"
	       "Mount a directory where every IPC transport is a file:\n"
	       "  %s\n"
	       "Write a file to send through that mechanism, read it to "
	       "receive;\n`stats` shows every channel; mkdir makes a fresh "
	       "set of channels.\n\n"
	       "    -h, --help      this help\n"
	       "    -V, --version   the version\n"
	       "    -o bind=ADDR    IPv4 address for the tcp, udp and zmq "
	       "channels\n"
	       "                    (default 127.0.0.1, reachable from this "
	       "host only)\n"
	       "    -o spin=US      poll this long for the next request "
	       "before sleeping\n"
	       "                    (default %u; 0 sleeps at once, as a "
	       "plain FUSE loop)\n"
	       "    -o allow_other  let other users in (FUSE's option); "
	       "implies\n"
	       "                    -o default_permissions: the file modes "
	       "are honoured\n"
	       "                    (transport files 0600, stats 0444; "
	       "chmod to share)\n",
	       prog, ipc_transport_names(names, sizeof(names)),
	       FS_SPIN_US_DEFAULT);
	fuse_cmdline_help();
	fuse_lowlevel_help();
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

int main(int argc, char **argv)
{
	struct fuse_cmdline_opts opts;
	struct fs_opts fo;
	struct fuse_session *se;
	struct fs fs;
	struct ipc_opts io = { .visible = true };
	char rundir[PATH_MAX];
	int ret = 1, err;

	drop_mount_source(&argc, argv);
	{
		struct fuse_args args = FUSE_ARGS_INIT(argc, argv);

		if (fuse_parse_cmdline(&args, &opts) != 0)
			return 1;
		drop_dashes(&args);
		if (opts.show_help) {
			usage(argv[0]);
			ret = 0;
			goto out_args;
		}
		if (opts.show_version) {
			printf("ipcfs %s\n", IPCFS_VERSION);
			fuse_lowlevel_version();
			ret = 0;
			goto out_args;
		}
		if (fs_opts_parse(&args, &fo) != 0 || fs_opts_check(&fo) != 0)
			goto out_args;
		if (fo.bind_addr[0])
			io.bind_addr = fo.bind_addr;
		if (!opts.mountpoint) {
			fprintf(stderr, "usage: %s [options] MOUNTPOINT "
				"(--help for more)\n", argv[0]);
			goto out_args;
		}
		if (!mountpoint_ok(opts.mountpoint))
			goto out_args;
		/* prints "fuse: unknown option(s): ..." and fails */
		se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
		if (!se)
			goto out_args;
		/*
		 * libfuse only takes over signals left at their default; a
		 * shell starts `ipcfs ... &` with SIGINT ignored, and Ctrl-C
		 * or kill -INT must still unmount us cleanly.
		 */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (fuse_set_signal_handlers(se) != 0)
			goto out_session;
		if (fuse_session_mount(se, opts.mountpoint) != 0)
			goto out_signals;
		if (fuse_daemonize(opts.foreground) != 0)
			goto out_unmount;

		/*
		 * After daemonize: channels record our pid (signal targets,
		 * object names) and the signal transport blocks its signals
		 * in this, the only thread.
		 */
		signal(SIGPIPE, SIG_IGN);
		err = ipc_rundir(NULL, rundir, sizeof(rundir));
		if (err < 0) {
			fprintf(stderr, "ipcfs: runtime directory %s: %s\n",
				rundir, strerror(-err));
			goto out_unmount;
		}
		ipc_sweep_stale(rundir);
		io.rundir = rundir;
		err = fs_tree_init(&fs, &io, fo.control);
		fs.spin_us = fo.spin_us;
		if (!err)
			err = fs_loop_init(&fs, se);
		if (!err)
			err = fs_loop_run(&fs, se);
		if (err)
			fprintf(stderr, "ipcfs: %s\n", strerror(-err));
		else
			ret = 0;
		fs_tree_destroy(&fs);
		fs_handles_free(&fs);
		fs_loop_fini(&fs);
out_unmount:
		fuse_session_unmount(se);
out_signals:
		fuse_remove_signal_handlers(se);
out_session:
		fuse_session_destroy(se);
out_args:
		free(opts.mountpoint);
		fuse_opt_free_args(&args);
	}
	return ret;
}
