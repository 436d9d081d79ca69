/*
 * unix: a Unix-domain stream socket on a path in the private runtime
 * directory, connected the way two programs would (listen, connect,
 * accept). Byte stream; capacity is the socket buffers; EOF once the
 * writer closes. The listener and the path go away once the pair is
 * connected, so there is no object an outsider could reach (ch->object
 * stays empty); join from outside through fifo or unixdgram instead.
 */
#include <stdio.h>
#include <unistd.h>

#include "sock.h"

static int unix_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int err, listener;

	err = ipc_object_path(ch, o, "sock");
	if (err < 0)
		return err;
	err = ipc_sock_addr(&sa, &len, AF_UNIX, ch->object);
	if (err < 0)
		return err;
	err = ipc_sock_stream_pair(AF_UNIX, &sa, &len, ch->fd, &listener,
				   ch->duplex);
	(void)unlink(ch->object);
	ch->object[0] = '\0';
	if (err < 0)
		return err;
	(void)close(listener);
	return 0;
}

const struct ipc_transport ipc_unix = {
	.name    = "unix",
	.what    = "Unix-domain stream socket, byte stream",
	.caps    = IPC_DUPLEX,
	.create  = unix_create,
	.hangup  = ipc_sock_hangup,
	.send    = ipc_fd_send,
	.recv    = ipc_fd_recv,
	.stats   = ipc_sock_stats,
	.destroy = ipc_fd_destroy,
};
