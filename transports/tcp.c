/*
 * tcp: a TCP connection over loopback (127.0.0.1, or ipc_opts.bind_addr;
 * port chosen by the kernel, TCP_NODELAY so small messages are not held
 * back). Byte stream;
 * capacity is the socket buffers; EOF once the writer closes. The
 * listener is closed once the pair is connected; the object name is the
 * listening address, as `ss -tn` shows it.
 */
#include <stdio.h>
#include <unistd.h>

#include "sock.h"

static int tcp_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int err, listener;

	err = ipc_sock_addr(&sa, &len, AF_INET, o->bind_addr);
	if (err < 0)
		return err;
	err = ipc_sock_stream_pair(AF_INET, &sa, &len, ch->fd, &listener,
				   ch->duplex);
	if (err < 0)
		return err;
	(void)close(listener);
	ipc_sock_inet_name(&sa, "", ch->object, sizeof(ch->object));
	return 0;
}

/*
 * Local mode: a send may leave bytes in our socket's send queue (the
 * congestion window) that the RX end has not got yet; they come, and
 * wake its fd, later. Both ends are ours and connected to each other, so
 * our own counts tell.
 */
static bool tcp_drained(const struct ipc_chan *ch)
{
	return ch->bytes_in >= ch->bytes_out;
}

const struct ipc_transport ipc_tcp = {
	.name    = "tcp",
	.what    = "TCP over loopback with TCP_NODELAY, byte stream",
	.caps    = IPC_DUPLEX,
	.create  = tcp_create,
	.hangup  = ipc_sock_hangup,
	.send    = ipc_fd_send,
	.recv    = ipc_fd_recv,
	.drained = tcp_drained,
	.stats   = ipc_sock_stats,
	.destroy = ipc_fd_destroy,
};
