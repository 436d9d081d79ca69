/*
 * udp: UDP datagrams over loopback (a socket bound to 127.0.0.1, or
 * ipc_opts.bind_addr, with a port chosen by the kernel, and a sending
 * socket connected to it).
 * Boundaries kept; the largest message is 65507 bytes (IPv4). The hang-up
 * is an empty datagram. Outsiders can join: `nc -u 127.0.0.1 PORT`.
 *
 * UDP has no flow control: a datagram that finds the receive buffer full
 * is dropped without a word to the sender. We refuse to lose data, so
 * the sender keeps a count of bytes in flight in a page shared across
 * fork() and waits (or gets -EAGAIN) before the receive buffer could
 * overflow; the receiver wakes it through a futex on that page. Duplex
 * mode keeps one such count per direction.
 */
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "sock.h"

#define UDP_MAX_PAYLOAD	65507
/* what the kernel charges a datagram beyond its payload (skb truesize) */
#define UDP_OVERHEAD	2048

struct udp_credit {
	atomic_ulong sent, received;	/* payload + UDP_OVERHEAD each */
	atomic_uint rx_seq;		/* futex word: bumped per receive */
	atomic_uint tx_waiting;
	unsigned long limit;		/* in-flight bytes allowed */
};

/* the count of the direction a send or receive of ours moves */
static struct udp_credit *udp_credit(const struct ipc_chan *ch,
				     enum ipc_end end)
{
	return (struct udp_credit *)ch->priv + ipc_dir(ch, end);
}

/* SO_RCVBUF of fd to want (or at least what the kernel grants); the
 * in-flight limit that leaves, or -errno */
static long udp_rcvbuf(int fd, int want)
{
	long got = ipc_sock_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, want);

	/* half of what the kernel reports is what datagrams are charged */
	return got < 0 ? got : got / 2;
}

static int udp_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct sockaddr_storage sa;
	struct udp_credit *cr;
	socklen_t len;
	long limit;
	int err, rcvbuf;

	ch->max_msg = o->max_msg ? o->max_msg : UDP_MAX_PAYLOAD;
	if (ch->max_msg > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	cr = mmap(NULL, 2 * sizeof(*cr), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cr == MAP_FAILED)
		return -errno;
	err = ipc_sock_addr(&sa, &len, AF_INET, o->bind_addr);
	if (err < 0)
		goto err_unmap;
	err = ipc_sock_dgram_pair(AF_INET, &sa, &len, ch->fd);
	if (err < 0)
		goto err_unmap;
	/* connected to our sender: the kernel drops anyone else's */
	if ((!o->outsiders || ch->duplex) &&
	    (err = ipc_sock_connect_peer(ch->fd)) < 0)
		goto err_close;
	rcvbuf = (int)(o->capacity ? o->capacity : 4u << 20);
	if (rcvbuf < (int)(ch->max_msg + UDP_OVERHEAD))
		rcvbuf = (int)(ch->max_msg + UDP_OVERHEAD);
	err = ipc_dgram_size_buffers(ch, ch->max_msg);
	if (err < 0)
		goto err_close;
	/* cr[s]: what side s sends, up to the other side's buffer; one-way,
	 * only TX sends */
	for (int s = ch->duplex ? IPC_RX : IPC_TX; s <= IPC_TX; s++) {
		limit = udp_rcvbuf(ch->fd[!s], rcvbuf);
		if (limit < 0) {
			err = (int)limit;
			goto err_close;
		}
		if ((unsigned long)limit < ch->max_msg + UDP_OVERHEAD)
			limit = (long)(ch->max_msg + UDP_OVERHEAD);
		cr[s].limit = (unsigned long)limit;
	}
	ch->priv = cr;
	ipc_sock_inet_name(&sa, "", ch->object, sizeof(ch->object));
	return 0;

err_close:
	ipc_fd_destroy(ch);
err_unmap:
	(void)munmap(cr, 2 * sizeof(*cr));
	return err;
}

static long udp_in_flight(const struct udp_credit *cr)
{
	long n = (long)(atomic_load(&cr->sent) - atomic_load(&cr->received));

	return n < 0 ? 0 : n;	/* outsiders' datagrams are received too */
}

static ssize_t udp_send(struct ipc_chan *ch, const void *buf, size_t len,
			int flags)
{
	struct udp_credit *cr = udp_credit(ch, IPC_TX);
	unsigned long cost = len + UDP_OVERHEAD;
	unsigned seq;
	ssize_t n;

	while (udp_in_flight(cr) + cost > cr->limit) {
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
		if (ipc_stop)
			return -EINTR;
		seq = atomic_load(&cr->rx_seq);
		atomic_store(&cr->tx_waiting, 1);
		if (udp_in_flight(cr) + cost <= cr->limit)
			break;
		/* time out now and then: a receiver killed mid-way never wakes us */
		n = ipc_futex_wait(&cr->rx_seq, seq, 100 * 1000 * 1000);
		if (n < 0)
			return n;
	}
	n = ipc_dgram_send(ch, buf, len, flags);
	if (n >= 0)
		atomic_fetch_add(&cr->sent, cost);
	return n;
}

static ssize_t udp_recv(struct ipc_chan *ch, void *buf, size_t len, int flags)
{
	struct udp_credit *cr = udp_credit(ch, IPC_RX);
	ssize_t n = ipc_dgram_recv(ch, buf, len, flags);

	if (n > 0 || n == -EMSGSIZE) {
		atomic_fetch_add(&cr->received,
				 (n > 0 ? (unsigned long)n : len) + UDP_OVERHEAD);
		atomic_fetch_add(&cr->rx_seq, 1);
		if (atomic_exchange(&cr->tx_waiting, 0))
			ipc_futex_wake(&cr->rx_seq);
	}
	return n;
}

/* credit for a datagram of any size we send */
static bool udp_writable(const struct ipc_chan *ch)
{
	struct udp_credit *cr = udp_credit(ch, IPC_TX);

	return udp_in_flight(cr) + (long)ch->max_msg + UDP_OVERHEAD <=
	       (long)cr->limit;
}

static int udp_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
		       short *events)
{
	*events = POLLIN;
	/* the sender waits for credit, which only our own receives return */
	return end == IPC_RX ? ch->fd[IPC_RX] : -1;
}

static void udp_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	const struct udp_credit *cr = udp_credit(ch, IPC_RX);

	/* in-flight counts the kernel's overhead too: not bytes queued */
	st->capacity = (long)cr->limit;
}

static void udp_destroy(struct ipc_chan *ch)
{
	ipc_fd_destroy(ch);
	if (ch->priv)
		(void)munmap(ch->priv, 2 * sizeof(struct udp_credit));
	ch->priv = NULL;
}

const struct ipc_transport ipc_udp = {
	.name      = "udp",
	.what      = "UDP datagrams over loopback, messages, flow-controlled",
	.caps      = IPC_MESSAGES | IPC_DUPLEX,
	.create    = udp_create,
	.hangup    = ipc_dgram_hangup,
	.send      = udp_send,
	.recv      = udp_recv,
	.wait_fd   = udp_wait_fd,
	.writable  = udp_writable,
	.stats     = udp_stats,
	.destroy   = udp_destroy,
};
