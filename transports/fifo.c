/*
 * fifo: a named pipe (mkfifo(3)) in the private runtime directory. Same
 * semantics as pipe (byte stream, pipe-size capacity, EOF once every
 * writer has closed), but it has a path, so an outside process can open
 * it and join in: `echo hi > $(path)`. Unless the channel is visible
 * (the daemon), the path is removed as soon as both ends are open.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport.h"

static int fifo_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	int err;

	err = ipc_object_path(ch, o, "fifo");
	if (err < 0)
		return err;
	if (mkfifo(ch->object, 0600) < 0)
		return -errno;

	/* the read end first, non-blocking: opening a FIFO waits for a peer */
	ch->fd[IPC_RX] = open(ch->object, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (ch->fd[IPC_RX] < 0)
		goto err_unlink;
	ch->nonblock = 1u << IPC_RX;
	ch->fd[IPC_TX] = open(ch->object, O_WRONLY | O_CLOEXEC);
	if (ch->fd[IPC_TX] < 0)
		goto err_close;
	err = ipc_pipe_resize(ch->fd[IPC_TX], o);
	if (err < 0) {
		errno = -err;
		goto err_close;
	}
	if (!o->visible)
		(void)unlink(ch->object);
	return 0;

err_close:
	err = -errno;
	ipc_fd_destroy(ch);
	(void)unlink(ch->object);
	return err;
err_unlink:
	err = -errno;
	(void)unlink(ch->object);
	return err;
}

const struct ipc_transport ipc_fifo = {
	.name    = "fifo",
	.what    = "named pipe (mkfifo) in the runtime dir, byte stream",
	.caps    = IPC_SPLICE,
	.create  = fifo_create,
	.send    = ipc_fd_send,
	.recv    = ipc_fd_recv,
	.stats   = ipc_pipe_stats,
	.destroy = ipc_fd_destroy_named,
};
