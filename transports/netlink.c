/*
 * netlink: NETLINK_USERSOCK unicast from one netlink socket to another,
 * the family the kernel keeps for user-space protocols and never parses.
 * Any user may open one and unicast to a port id; only multicast groups
 * need privilege. Messages, boundaries kept: each is a struct nlmsghdr
 * of type NLMSG_MIN_TYPE and the payload, one datagram; the hang-up is an
 * NLMSG_DONE (a zero-length datagram is ENODATA to netlink).
 *
 * Ports: both sockets bind with nl_pid 0 and the kernel picks their port
 * ids. The RX socket is connect()ed to the TX socket's port, after which
 * the kernel refuses every other sender (ECONNREFUSED to them), and the
 * receiver checks the source port anyway (msg_name's nl_pid is the
 * kernel's, the sending socket's bound port); with ipc_opts.outsiders it
 * stays open to any process of the network namespace, of any user.
 *
 * Sizes: max_msg is what the TX socket's SO_SNDBUF lets through, less
 * netlink's 32 bytes and our header: 212,944 B with the default 212,992
 * (a bigger ipc_opts.max_msg raises SO_SNDBUF, -EMSGSIZE if the kernel
 * will not). Capacity is the RX socket's SO_RCVBUF, which the kernel
 * charges with each message's full skb (832 bytes for up to 256 B of
 * payload): a full receiver makes a sender sleep, or -EAGAIN, and netlink
 * never drops a user-space unicast. An empty queue takes any message.
 *
 * Readiness: RX polls readable with a message. Nothing polls for room
 * (TX POLLOUT is the sender's own buffer), so the TX end has no fd and
 * writable() asks the RX socket (SO_MEMINFO) in local mode, against the
 * cost of a max_msg message measured at create.
 *
 * Ends: netlink has no connection, so a process that dies says nothing
 * to its peer. A socketpair, the link, does: each end holds one of its
 * sockets, the kernel counts holders across fork and death, and a
 * reader whose writer is gone gets its queued messages, then 0; a writer
 * whose reader is gone gets -EPIPE before it sends (so nothing goes to a
 * stranger who took the freed port id). RX's readiness fd is then an
 * epoll fd over its socket and its link. Local mode (the daemon) has no
 * link: both ends live as long as the channel, and an NLMSG_DONE is an
 * outsider's, dropped. Object: "usersock:PORT", the RX port id.
 */
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sock.h"
#include "transport.h"

#define NL_DATA		NLMSG_MIN_TYPE	/* below are netlink's own types */
#define NL_OVERHEAD	32	/* netlink_sendmsg: len <= sndbuf - 32 */
#define NL_MAX_MSG	((size_t)1 << 30)

struct nl {
	uint32_t rx_port, tx_port;
	uint32_t seq;
	long truesize;		/* what a max_msg message costs the receiver */
	bool outsiders, eof;
	int link[2];		/* socketpair: [RX] kept by the reader */
	int epfd;		/* RX readiness: the socket and the link */
};

/* a netlink socket bound to a port the kernel picks: fd or -errno */
static int nl_socket(uint32_t *port)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(sa);
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		err = -errno;
		(void)close(fd);
		return err;
	}
	*port = sa.nl_pid;
	return fd;
}

/* every holder of the other end of the link is gone */
static bool nl_peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

static ssize_t nl_send_type(struct ipc_chan *ch, uint16_t type,
			    const void *buf, size_t len, int flags)
{
	struct nl *n = ch->priv;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK,
				  .nl_pid = n->rx_port };
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)(NLMSG_HDRLEN + len),
			      .nlmsg_type = type, .nlmsg_seq = n->seq,
			      .nlmsg_pid = n->tx_port };
	struct iovec iov[2] = { { &h, NLMSG_HDRLEN }, { (void *)buf, len } };
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to),
			    .msg_iov = iov, .msg_iovlen = 2 };

	/* a port id freed by a gone reader may be someone else's now */
	if (!ch->local && nl_peer_gone(n->link[IPC_TX]))
		return -EPIPE;
	if (sendmsg(ch->fd[IPC_TX], &m,
		    flags & IPC_DONTWAIT ? MSG_DONTWAIT : 0) < 0)
		return errno == ECONNREFUSED ? -EPIPE : -errno;
	n->seq++;
	return (ssize_t)len;
}

static ssize_t nl_send(struct ipc_chan *ch, const void *buf, size_t len,
		       int flags)
{
	return nl_send_type(ch, NL_DATA, buf, len, flags);
}

/*
 * Is this datagram one of ours? 1: data, 0: our hang-up, -1: drop it (a
 * stranger's, malformed, cut short, or a hang-up in local mode).
 */
static int nl_classify(const struct ipc_chan *ch, const struct msghdr *m,
		       const struct nlmsghdr *h, ssize_t got)
{
	const struct sockaddr_nl *from = m->msg_name;
	const struct nl *n = ch->priv;
	bool ours = from->nl_pid == n->tx_port;

	if ((m->msg_flags & MSG_TRUNC) || got < NLMSG_HDRLEN ||
	    h->nlmsg_len != (uint32_t)got || (!ours && !n->outsiders))
		return -1;
	if (h->nlmsg_type == NLMSG_DONE)
		return ours && !ch->local ? 0 : -1;
	return h->nlmsg_type == NL_DATA && got > NLMSG_HDRLEN ? 1 : -1;
}

/* one datagram without waiting: its payload length, 0 at EOF, -errno */
static ssize_t nl_take(struct ipc_chan *ch, void *buf, size_t len)
{
	struct sockaddr_nl from;
	struct nlmsghdr h;
	struct iovec iov[2] = { { &h, NLMSG_HDRLEN }, { buf, len } };
	struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from),
			    .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t got;
	int kind;

	for (;;) {
		m.msg_namelen = sizeof(from);
		got = recvmsg(ch->fd[IPC_RX], &m, MSG_DONTWAIT | MSG_TRUNC);
		/* ENOBUFS: the kernel dropped a broadcast, never one of ours */
		if (got < 0 && errno == ENOBUFS) {
			ch->dropped++;
			continue;
		}
		if (got < 0)
			return -errno;
		kind = nl_classify(ch, &m, &h, got);
		if (kind > 0)
			return got - NLMSG_HDRLEN;
		if (kind == 0)
			return 0;
		ch->dropped++;
	}
}

/*
 * Has the writer gone? With wait, sleep until a message comes or it has.
 * 1: gone (every holder of its link closed it), 0: look again, -EINTR.
 */
static int nl_writer_gone(struct ipc_chan *ch, bool wait)
{
	struct nl *n = ch->priv;
	struct pollfd p[2] = {	/* poll(2) passes over an fd of -1 */
		{ .fd = n->link[IPC_RX], .events = POLLIN },
		{ .fd = ch->fd[IPC_RX], .events = POLLIN },
	};

	if (!wait && n->link[IPC_RX] < 0)
		return 0;	/* local mode: the writer never goes */
	if (poll(p, wait ? 2 : 1, wait ? -1 : 0) < 0)
		return -errno;
	return (p[0].revents & POLLHUP) != 0;
}

static ssize_t nl_recv(struct ipc_chan *ch, void *buf, size_t len, int flags)
{
	struct nl *n = ch->priv;
	ssize_t got;
	int gone;

	while (!n->eof) {
		got = nl_take(ch, buf, len);
		if (got != -EAGAIN) {
			n->eof = got == 0;
			return got;
		}
		gone = nl_writer_gone(ch, !(flags & IPC_DONTWAIT));
		if (gone < 0)
			return gone;
		if (gone) {
			/* its last messages came before its link closed */
			got = nl_take(ch, buf, len);
			n->eof = got == -EAGAIN || got == 0;
			return n->eof ? 0 : got;
		}
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
	}
	return 0;
}

/* the hang-up: an NLMSG_DONE, waiting at most a second for room */
static void nl_hangup(struct ipc_chan *ch)
{
	struct timeval tv = { .tv_sec = 1 };

	(void)setsockopt(ch->fd[IPC_TX], SOL_SOCKET, SO_SNDTIMEO, &tv,
			 sizeof(tv));
	(void)nl_send_type(ch, NLMSG_DONE, NULL, 0, 0);
}

/* SO_MEMINFO of the RX socket: bytes charged, and the limit */
static bool nl_meminfo(const struct ipc_chan *ch, long *rmem, long *rcvbuf)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (ch->fd[IPC_RX] < 0 ||
	    getsockopt(ch->fd[IPC_RX], SOL_SOCKET, SO_MEMINFO, mi, &len) < 0)
		return false;
	*rmem = mi[SK_MEMINFO_RMEM_ALLOC];
	*rcvbuf = mi[SK_MEMINFO_RCVBUF];
	return true;
}

/* the kernel takes a message into an empty queue, or one that fits */
static bool nl_writable(const struct ipc_chan *ch)
{
	const struct nl *n = ch->priv;
	long rmem, rcvbuf;

	if (!nl_meminfo(ch, &rmem, &rcvbuf))
		return false;
	return rmem == 0 || rmem + n->truesize <= rcvbuf;
}

static int nl_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
		      short *events)
{
	const struct nl *n = ch->priv;

	*events = POLLIN;
	if (end == IPC_TX)
		return -1;	/* room is the reader's: writable() says */
	return n->epfd >= 0 ? n->epfd : ch->fd[IPC_RX];
}

static void nl_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	long rmem, rcvbuf;

	/* rmem counts whole skbs, not payload: queued bytes stay ours */
	if (nl_meminfo(ch, &rmem, &rcvbuf))
		st->capacity = rcvbuf;
}

static void nl_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct nl *n = ch->priv;

	ipc_fd_close(&ch->fd[end]);
	ipc_fd_close(&n->link[end]);
	if (end == IPC_RX)
		ipc_fd_close(&n->epfd);
}

static void nl_destroy(struct ipc_chan *ch)
{
	struct nl *n = ch->priv;

	if (!n)
		return;
	nl_close_end(ch, IPC_RX);
	nl_close_end(ch, IPC_TX);
	free(n);
	ch->priv = NULL;
}

/* a socket buffer's size as the kernel reports it, raised to want
 * bytes first if want is not 0; -errno */
static long nl_buffer(int fd, int opt, int force, size_t want)
{
	/* the kernel doubles it */
	return ipc_sock_buffer(fd, opt, force, (int)((want + 1) / 2));
}

/* max_msg from SO_SNDBUF (raised for o->max_msg), capacity SO_RCVBUF */
static int nl_sizes(struct ipc_chan *ch, const struct ipc_opts *o)
{
	size_t extra = NL_OVERHEAD + NLMSG_HDRLEN;
	long snd, rcv;

	if (o->max_msg > NL_MAX_MSG || o->capacity > NL_MAX_MSG)
		return o->max_msg > NL_MAX_MSG ? -EMSGSIZE : -EINVAL;
	snd = nl_buffer(ch->fd[IPC_TX], SO_SNDBUF, SO_SNDBUFFORCE, 0);
	if (snd >= 0 && o->max_msg && (size_t)snd < o->max_msg + extra)
		snd = nl_buffer(ch->fd[IPC_TX], SO_SNDBUF, SO_SNDBUFFORCE,
				o->max_msg + extra);
	if (snd < 0)
		return (int)snd;
	if ((size_t)snd < (o->max_msg ? o->max_msg : 1) + extra)
		return -EMSGSIZE;	/* above net.core.wmem_max */
	ch->max_msg = o->max_msg ? o->max_msg : (size_t)snd - extra;
	if (!o->capacity)
		return 0;
	rcv = nl_buffer(ch->fd[IPC_RX], SO_RCVBUF, SO_RCVBUFFORCE,
			o->capacity);
	if (rcv < 0)
		return (int)rcv;
	/* above net.core.rmem_max: the daemon takes what it got */
	return (size_t)rcv < o->capacity && !o->local ? -ENOBUFS : 0;
}

/* what a message of max_msg costs the receiver: send one, look, take it */
static int nl_measure(struct ipc_chan *ch)
{
	struct nl *n = ch->priv;
	char *buf = calloc(1, ch->max_msg + NLMSG_HDRLEN);
	long rcvbuf;
	ssize_t got;

	if (!buf)
		return -ENOMEM;
	got = nl_send_type(ch, NLMSG_NOOP, buf, ch->max_msg, IPC_DONTWAIT);
	if (got >= 0 && !nl_meminfo(ch, &n->truesize, &rcvbuf))
		got = -errno;
	while (recv(ch->fd[IPC_RX], buf, ch->max_msg + NLMSG_HDRLEN,
		    MSG_DONTWAIT) >= 0)
		;
	free(buf);
	n->seq = 0;
	return got < 0 ? (int)got : 0;
}

/* the link and the epoll fd over RX's socket and link end */
static int nl_link(struct ipc_chan *ch)
{
	struct nl *n = ch->priv;
	struct epoll_event ev = { .events = EPOLLIN };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, n->link) < 0)
		return -errno;
	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (n->epfd < 0 ||
	    epoll_ctl(n->epfd, EPOLL_CTL_ADD, ch->fd[IPC_RX], &ev) < 0 ||
	    epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->link[IPC_RX], &ev) < 0)
		return -errno;
	return 0;
}

static int nl_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nl *n = calloc(1, sizeof(*n));
	int fd, err;

	if (!n)
		return -ENOMEM;
	n->link[0] = n->link[1] = n->epfd = -1;
	n->outsiders = o->outsiders;
	ch->priv = n;
	fd = nl_socket(&n->rx_port);
	if (fd < 0)
		goto err_fd;
	ch->fd[IPC_RX] = fd;
	fd = nl_socket(&n->tx_port);
	if (fd < 0)
		goto err_fd;
	ch->fd[IPC_TX] = fd;
	/* only our sender, where the kernel can see to it */
	sa.nl_pid = n->tx_port;
	if (!o->outsiders &&
	    connect(ch->fd[IPC_RX], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto err_destroy;
	}
	err = nl_sizes(ch, o);
	if (!err)
		err = nl_measure(ch);
	if (!err && !o->local)
		err = nl_link(ch);
	if (err)
		goto err_destroy;
	snprintf(ch->object, sizeof(ch->object), "usersock:%u", n->rx_port);
	return 0;

err_fd:
	err = fd;
err_destroy:
	nl_destroy(ch);
	return err;
}

const struct ipc_transport ipc_netlink = {
	.name      = "netlink",
	.what      = "NETLINK_USERSOCK unicast between two port ids, messages",
	.caps      = IPC_MESSAGES,
	.create    = nl_create,
	.close_end = nl_close_end,
	.hangup    = nl_hangup,
	.send      = nl_send,
	.recv      = nl_recv,
	.wait_fd   = nl_wait_fd,
	.writable  = nl_writable,
	.stats     = nl_stats,
	.destroy   = nl_destroy,
};
