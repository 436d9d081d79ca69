/*
 * unixdgram: a Unix-domain datagram socket bound to a path in the private
 * runtime directory, with a sending socket connected to it. Boundaries
 * kept: one send is one datagram is one recv. Reliable, and the kernel
 * makes a sender wait when the receiver's queue is full
 * (net.unix.max_dgram_qlen datagrams). The largest message is what the
 * socket buffers allow (they are sized for ipc_opts.max_msg, default
 * 64 KiB). The hang-up is an empty datagram. While the channel is
 * visible, outsiders can send to the path (socat - UNIX-SENDTO:path).
 */
#include <stdio.h>
#include <unistd.h>

#include "sock.h"

#define UNIXDGRAM_DEFAULT_MAX	65536

static int unixdgram_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	int err;

	err = ipc_sock_named_dgram(ch, o, "dgram");
	if (err < 0)
		return err;
	ch->max_msg = o->max_msg ? o->max_msg : UNIXDGRAM_DEFAULT_MAX;
	err = ipc_dgram_size_buffers(ch, ch->max_msg);
	if (err < 0) {
		ipc_fd_destroy(ch);
		(void)unlink(ch->object);
		return err;
	}
	if (!o->visible)
		(void)unlink(ch->object);
	return 0;
}


const struct ipc_transport ipc_unixdgram = {
	.name      = "unixdgram",
	.what      = "Unix-domain datagram socket, messages",
	.caps      = IPC_MESSAGES | IPC_DUPLEX,
	.create    = unixdgram_create,
	.hangup    = ipc_dgram_hangup,
	.send      = ipc_dgram_send,
	.recv      = ipc_dgram_recv,
	.stats     = ipc_sock_stats,
	.destroy   = ipc_fd_destroy_named,
};
