/*
 * pipe: a kernel pipe(2). Byte stream, no message boundaries; capacity is
 * the pipe size (F_GETPIPE_SZ, 64 KiB by default, up to
 * /proc/sys/fs/pipe-max-size). EOF once the write end is closed.
 * Anonymous: there is no name an outsider could open.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "transport.h"

/*
 * Make the pipe at fd hold o->capacity bytes. A capacity is a wish in
 * local mode: past pipe-max-size or the user's pipe-user-pages-soft the
 * kernel says EPERM, and we take the largest size it allows instead
 * (halving down to its default). 0 or -errno.
 */
int ipc_pipe_resize(int fd, const struct ipc_opts *o)
{
	size_t want = o->capacity;

	if (!want)
		return 0;
	while (fcntl(fd, F_SETPIPE_SZ, (int)want) < 0) {
		if (!o->local || (errno != EPERM && errno != ENOMEM) ||
		    want <= 4096)
			return o->local ? 0 : -errno;
		want /= 2;
	}
	return 0;
}

static int pipe_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	int fd[2], err;

	if (pipe2(fd, O_CLOEXEC) < 0)
		return -errno;
	if ((err = ipc_pipe_resize(fd[1], o)) < 0) {
		close(fd[0]);
		close(fd[1]);
		return err;
	}
	ch->fd[IPC_RX] = fd[0];
	ch->fd[IPC_TX] = fd[1];
	return 0;
}

size_t ipc_pipe_max_size(void)
{
	long n = ipc_sysctl_long("/proc/sys/fs/pipe-max-size", 0);

	return n >= 65536 ? (size_t)n : 1048576;	/* Linux's default */
}

/* shared with fifo.c: both are a pair of pipe fds */
void ipc_pipe_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	int fd = ch->fd[IPC_RX] >= 0 ? ch->fd[IPC_RX] : ch->fd[IPC_TX];
	int n;

	if (fd < 0)
		return;
	if (ch->fd[IPC_RX] >= 0 && ioctl(ch->fd[IPC_RX], FIONREAD, &n) == 0)
		st->queued_bytes = n;
	n = fcntl(fd, F_GETPIPE_SZ);
	if (n > 0)
		st->capacity = n;
}

const struct ipc_transport ipc_pipe = {
	.name    = "pipe",
	.what    = "kernel pipe(2), byte stream",
	.caps    = IPC_SPLICE,
	.create  = pipe_create,
	.send    = ipc_fd_send,
	.recv    = ipc_fd_recv,
	.stats   = ipc_pipe_stats,
	.destroy = ipc_fd_destroy,
};
