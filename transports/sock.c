/*
 * sock.c - socket set-up shared by unix, unixdgram, tcp and udp: a
 * connected pair made the way two separate programs would make it
 * (bind/listen/connect/accept), so the kernel path is the real one and
 * not socketpair(2)'s shortcut.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

static void close_keep_errno(int fd)
{
	int saved = errno;

	(void)close(fd);
	errno = saved;
}

/* bind a fresh socket to addr (port 0 or a path) and read the address back */
static int bound_socket(int domain, int type, struct sockaddr_storage *sa,
			socklen_t *len)
{
	int fd = socket(domain, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/*
	 * A Unix socket file takes the socket inode's mode, less the umask,
	 * at bind: 0600 from the start, not 0777 & ~umask (0755) until a
	 * chmod catches up. The runtime dir is 0700 anyway; this is depth.
	 */
	if (domain == AF_UNIX && fchmod(fd, 0600) < 0) {
		close_keep_errno(fd);
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)sa, *len) < 0 ||
	    getsockname(fd, (struct sockaddr *)sa, len) < 0) {
		close_keep_errno(fd);
		return -errno;
	}
	return fd;
}

int ipc_sock_addr(struct sockaddr_storage *sa, socklen_t *len, int domain,
		  const char *where)
{
	memset(sa, 0, sizeof(*sa));
	if (domain == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)sa;

		if (strlen(where) >= sizeof(un->sun_path))
			return -ENAMETOOLONG;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, where);
		*len = sizeof(*un);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		/* loopback unless the user asked otherwise (-o bind=ADDR) */
		if (where && inet_pton(AF_INET, where, &in->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*in);
	}
	return 0;
}

/* the two ends of a connection: the same addresses, crossed */
static bool sock_is_peer(int fd, int peer)
{
	struct sockaddr_storage a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);
	struct ucred cred;
	socklen_t lc = sizeof(cred);

	if (getpeername(fd, (struct sockaddr *)&a, &la) < 0 ||
	    getsockname(peer, (struct sockaddr *)&b, &lb) < 0)
		return false;
	if (a.ss_family == AF_UNIX)	/* an unbound client has no name */
		return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &lc) == 0 &&
		       cred.pid == getpid();
	return la == lb && memcmp(&a, &b, la) == 0;
}

/*
 * Accept the connection our socket `own` made, closing any stranger's
 * that came first (it connected while the listener was up). Ours is in
 * the queue already, so this ends. The fd, or -1 with errno set.
 */
static int accept_own(int lfd, int own)
{
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0 || sock_is_peer(fd, own))
			return fd;
		(void)close(fd);
	}
}

int ipc_sock_stream_pair(int domain, struct sockaddr_storage *sa,
			 socklen_t *len, int fd[2], int *listener, bool duplex)
{
	int lfd, one = 1, err;

	lfd = bound_socket(domain, SOCK_STREAM, sa, len);
	if (lfd < 0)
		return lfd;
	if (listen(lfd, 64) < 0)
		goto err_listener;
	fd[IPC_TX] = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd[IPC_TX] < 0)
		goto err_listener;
	if (connect(fd[IPC_TX], (struct sockaddr *)sa, *len) < 0)
		goto err_tx;
	fd[IPC_RX] = accept_own(lfd, fd[IPC_TX]);
	if (fd[IPC_RX] < 0)
		goto err_tx;
	if (domain == AF_INET) {
		/* ping-pong of small messages: never wait for Nagle */
		(void)setsockopt(fd[IPC_TX], IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
		(void)setsockopt(fd[IPC_RX], IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	}
	/* one-way: the reader never writes */
	if (!duplex)
		(void)shutdown(fd[IPC_RX], SHUT_WR);
	*listener = lfd;
	return 0;

err_tx:
	err = -errno;
	(void)close(fd[IPC_TX]);
	(void)close(lfd);
	return err;
err_listener:
	err = -errno;
	(void)close(lfd);
	return err;
}

int ipc_sock_dgram_pair(int domain, struct sockaddr_storage *sa,
			socklen_t *len, int fd[2])
{
	int err;

	fd[IPC_RX] = bound_socket(domain, SOCK_DGRAM, sa, len);
	if (fd[IPC_RX] < 0)
		return fd[IPC_RX];
	fd[IPC_TX] = socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd[IPC_TX] < 0)
		goto err_rx;
	if (connect(fd[IPC_TX], (struct sockaddr *)sa, *len) < 0)
		goto err_tx;
	return 0;

err_tx:
	err = -errno;
	(void)close(fd[IPC_TX]);
	(void)close(fd[IPC_RX]);
	return err;
err_rx:
	err = -errno;
	(void)close(fd[IPC_RX]);
	return err;
}

/*
 * Connect the RX socket to the TX socket's address: only it may send, and
 * RX can answer (duplex). An unbound Unix TX socket is autobound first
 * (an abstract name the kernel picks), since it has no address to name.
 */
int ipc_sock_connect_peer(int fd[2])
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	sa_family_t family = AF_UNIX;

	if (getsockname(fd[IPC_TX], (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	if (sa.ss_family == AF_UNIX && len <= sizeof(sa_family_t)) {
		if (bind(fd[IPC_TX], (struct sockaddr *)&family,
			 sizeof(family)) < 0)
			return -errno;
		len = sizeof(sa);
		if (getsockname(fd[IPC_TX], (struct sockaddr *)&sa, &len) < 0)
			return -errno;
	}
	if (connect(fd[IPC_RX], (struct sockaddr *)&sa, len) < 0)
		return -errno;
	return 0;
}

/* stream sockets: closing fd[TX] hangs up, unless it is a duplex side's
 * one fd, which still receives: then shut its sending half */
void ipc_sock_hangup(struct ipc_chan *ch)
{
	if (ch->side >= 0)
		(void)shutdown(ch->fd[IPC_TX], SHUT_WR);
}

void ipc_sock_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	int n, fd = ch->fd[IPC_RX];
	socklen_t len = sizeof(n);

	if (fd < 0)
		return;
	if (ioctl(fd, FIONREAD, &n) == 0 && !ipc_is_msg(ch))
		st->queued_bytes = n;	/* for datagrams: the next one only */
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, &len) == 0)
		st->capacity = n;
}

/* "ADDR:PORT" of an AF_INET address into buf, for ch->object */
void ipc_sock_inet_name(const struct sockaddr_storage *sa, const char *scheme,
			char *buf, size_t size)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	char addr[INET_ADDRSTRLEN] = "?";

	(void)inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
	snprintf(buf, size, "%s%s:%d", scheme, addr, ntohs(in->sin_port));
}

/* datagram transports: per-call flags, no fcntl, no SIGPIPE */
ssize_t ipc_dgram_send(struct ipc_chan *ch, const void *buf, size_t len,
		       int flags)
{
	int f = MSG_NOSIGNAL | (flags & IPC_DONTWAIT ? MSG_DONTWAIT : 0);
	ssize_t n = send(ch->fd[IPC_TX], buf, len, f);

	return n < 0 ? -errno : n;
}

/* one datagram; one bigger than the buffer (only an outsider can send
 * one) is dropped with -EMSGSIZE rather than returned cut short */
ssize_t ipc_dgram_recv(struct ipc_chan *ch, void *buf, size_t len, int flags)
{
	int f = MSG_TRUNC | (flags & IPC_DONTWAIT ? MSG_DONTWAIT : 0);
	ssize_t n;

	for (;;) {
		n = recv(ch->fd[IPC_RX], buf, len, f);
		if (n < 0)
			return -errno;
		if ((size_t)n <= len)
			return n;
		if (!ch->local)
			return -EMSGSIZE;
		ch->dropped++;	/* an outsider's: ours fit in max_msg */
	}
}

/*
 * Closing the TX end sends the hang-up, an empty datagram, waiting up to
 * a second for room in a full queue: a reader that is not reading any
 * more should not keep a closing writer forever.
 */
void ipc_dgram_hangup(struct ipc_chan *ch)
{
	struct pollfd pfd = { .fd = ch->fd[IPC_TX], .events = POLLOUT };

	if (poll(&pfd, 1, 1000) == 1)
		(void)send(ch->fd[IPC_TX], "", 0, MSG_NOSIGNAL | MSG_DONTWAIT);
}

long ipc_sock_buffer(int fd, int opt, int force, int want)
{
	socklen_t len = sizeof(want);

	if (want > 0 && setsockopt(fd, SOL_SOCKET, force, &want,
				   sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &want, sizeof(want));
	if (getsockopt(fd, SOL_SOCKET, opt, &want, &len) < 0)
		return -errno;
	return want;
}

/* one direction: tx's send buffer and rx's receive buffer; 0 or -errno */
static int dgram_size_dir(int tx, int rx, size_t max_msg)
{
	int want = (int)(max_msg + 4096);
	long got;

	(void)ipc_sock_buffer(rx, SO_RCVBUF, SO_RCVBUFFORCE, want);
	got = ipc_sock_buffer(tx, SO_SNDBUF, SO_SNDBUFFORCE, want);
	if (got < 0)
		return (int)got;
	/* the kernel reports twice what it charges messages against */
	return (size_t)got / 2 < max_msg ? -EMSGSIZE : 0;
}

/*
 * Make the socket buffers big enough for one message of max_msg bytes
 * (plus the kernel's bookkeeping), or -EMSGSIZE when the kernel will not;
 * both ways in duplex mode.
 * SO_*BUFFORCE passes net.core.[rw]mem_max when we are privileged.
 */
int ipc_dgram_size_buffers(struct ipc_chan *ch, size_t max_msg)
{
	int err;

	if (max_msg > (size_t)1 << 30)
		return -EMSGSIZE;
	err = dgram_size_dir(ch->fd[IPC_TX], ch->fd[IPC_RX], max_msg);
	if (err == 0 && ch->duplex)
		err = dgram_size_dir(ch->fd[IPC_RX], ch->fd[IPC_TX], max_msg);
	return err;
}

int ipc_sock_named_dgram(struct ipc_chan *ch, const struct ipc_opts *o,
			 const char *what)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int err;

	err = ipc_object_path(ch, o, what);
	if (err < 0)
		return err;
	err = ipc_sock_addr(&sa, &len, AF_UNIX, ch->object);
	if (err < 0)
		return err;
	err = ipc_sock_dgram_pair(AF_UNIX, &sa, &len, ch->fd);
	if (err == 0 && ch->duplex && (err = ipc_sock_connect_peer(ch->fd)) < 0)
		ipc_fd_destroy(ch);
	if (err < 0)
		(void)unlink(ch->object);
	return err;
}
