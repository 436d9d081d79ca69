/*
 * zmq: a ZeroMQ PUSH/PULL pair (libzmq 4.3). Boundaries kept; the largest
 * message is ipc_opts.max_msg (1 MiB by default, at most 1 GiB). The
 * receiver drops bigger ones (only an outsider can send them): it sets
 * ZMQ_MAXMSGSIZE (at least 4 KiB, which the handshake needs) and skips
 * what is between that and max_msg. Capacity counts messages, not
 * bytes: 1000 queued at each socket (ZMQ_SNDHWM, ZMQ_RCVHWM) plus what the
 * kernel's socket buffers hold. The hang-up is an empty message.
 *
 * The real object is the endpoint in ch->object: "tcp://127.0.0.1:PORT"
 * (the default; ipc_opts.bind_addr replaces 127.0.0.1; create() reserves
 * the port with a bound, non-listening SO_REUSEADDR socket, so both sides
 * of a fork agree on it) or, with
 * ipc_opts.zmq_kind "ipc", "ipc://<rundir>/ipcfs.<pid>.<n>.<token>.zmq". The RX end
 * binds a PULL socket, the TX end connects a PUSH socket; an outsider can
 * push to the endpoint too.
 *
 * A ZeroMQ context must not cross fork(): sockets are made lazily, in the
 * process that uses an end, in one context per process (made again when
 * getpid() changes; an inherited one is dropped, never terminated, since
 * its threads do not exist in the child). The process that keeps the RX
 * end binds as soon as it says so (ipc_keep_end), so the sender's connect
 * seldom has to retry, and then only ZMQ_IPC_RECONNECT_MS later. The
 * context goes when the last socket of the process is closed.
 *
 * The hang-up (ipc_close_end of TX) to a reader in another process waits
 * until the reader has received everything up to it (or no progress came
 * for ZMQ_IPC_HUP_WAIT_MS): libzmq 4.3 does not honour ZMQ_LINGER over
 * ipc:// once the reader's queue is full (zeromq/libzmq#4660), and what
 * its I/O thread still holds dies with the process. Messages sent and
 * received are counted in a page shared across fork() for that; stats
 * read the queue length from it too. A process that holds the RX end
 * itself queues the hang-up to itself and keeps its PUSH socket until
 * destroy(). Dropping an end (ipc_keep_end) sends nothing.
 *
 * Duplex mode (the bench's direct road): a PAIR socket each side instead,
 * the side kept as RX bound, the other connected; the counts above are
 * kept per direction, and a side's hang-up keeps its socket, which still
 * receives.
 *
 * With both ends in one process (the daemon), space for the TX end comes
 * from our own receives: its wait_fd is -1. Readiness of the RX end is
 * ZMQ_FD, edge-triggered: it is quiet once a receive said -EAGAIN. In
 * local mode an empty message is an outsider's and is dropped, and
 * drained() compares the messages counted in and out; an outsider's
 * message counts as one of ours, so its EOF may come while one of ours is
 * still in the I/O thread (it stays queued for the next reader).
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#include "sock.h"
#include "transport.h"

#define ZMQ_IPC_DEFAULT_MAX	(1u << 20)
#define ZMQ_IPC_LIMIT_MAX	(1u << 30)
#define ZMQ_IPC_RECONNECT_MS	10
/* ZMQ_MAXMSGSIZE limits the handshake's READY command too (~30 bytes) */
#define ZMQ_IPC_MIN_MAXMSG	4096
/* a hang-up to another process waits while the reader makes progress,
 * and gives up after this long without any */
#define ZMQ_IPC_HUP_WAIT_MS	500
/* how long the daemon waits for its own connection to come up */
#define ZMQ_IPC_SETTLE_MS	1000
/* free fds wanted before making sockets: libzmq aborts on some EMFILEs */
#define ZMQ_IPC_FD_HEADROOM	16

/* shared by both sides of a fork: what went in and what came out of one
 * direction */
struct zmq_dir {
	/* the sender's line and the receiver's: no cache line bounces
	 * between their CPUs on every message */
	_Alignas(64) atomic_ulong sent_msgs, sent_bytes; /* and the hang-up */
	_Alignas(64) atomic_ulong recv_msgs, recv_bytes;
	atomic_uint rx_seq;	/* futex: bumped per receive */
	atomic_uint tx_waiting;
};

struct zmq_shared {
	struct zmq_dir dir[2];	/* by sending side (ipc_dir): one-way,
				 * only [IPC_TX] */
	atomic_int pid[2];	/* the process holding each side's socket;
				 * 0: none made yet, -1: it closed it */
};

struct zmq_chan {
	void *sock[2];		/* sockets of process `life`, NULL until made */
	struct zmq_shared *sh;
	unsigned life;		/* ipc_life() of the process they are of */
	int resv;		/* tcp: holds the port until our bind */
	bool ipc;		/* ch->object is ipc://path */
	bool visible;
	bool unlinked;		/* the ipc:// path is gone already */
	bool hup_pending;	/* in-process hang-up still to be queued */
	bool eof;		/* the hang-up arrived */
};

static pthread_mutex_t zmq_lock = PTHREAD_MUTEX_INITIALIZER;
static void *zmq_ctx_p;		/* the context of process zmq_ctx_pid */
static pid_t zmq_ctx_pid;
static unsigned zmq_nsock;	/* sockets open in it */

/* forget sockets inherited from another process */
static struct zmq_chan *zmq_mine(const struct ipc_chan *ch)
{
	struct zmq_chan *z = ch->priv;

	if (z->life != ipc_life()) {
		z->sock[IPC_RX] = z->sock[IPC_TX] = NULL;
		z->life = ipc_life();
		z->hup_pending = false;
	}
	return z;
}

/* a socket in this process's context; NULL with errno set */
static void *zmq_open_sock(int type)
{
	void *s = NULL;

	pthread_mutex_lock(&zmq_lock);
	if (zmq_ctx_p && zmq_ctx_pid != getpid()) {
		/* inherited: unusable here, and zmq_ctx_term would hang */
		zmq_ctx_p = NULL;
		zmq_nsock = 0;
	}
	if (!zmq_ctx_p) {
		zmq_ctx_p = zmq_ctx_new();
		zmq_ctx_pid = getpid();
	}
	if (zmq_ctx_p) {
		s = zmq_socket(zmq_ctx_p, type);
		if (s)
			zmq_nsock++;
	}
	pthread_mutex_unlock(&zmq_lock);
	return s;
}

/* close a socket; the last one of the process takes the context along */
static void zmq_close_sock(void *s, int linger_ms)
{
	void *ctx = NULL;
	int saved = errno;

	(void)zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
	(void)zmq_close(s);
	pthread_mutex_lock(&zmq_lock);
	if (zmq_ctx_p && --zmq_nsock == 0) {
		ctx = zmq_ctx_p;
		zmq_ctx_p = NULL;
	}
	pthread_mutex_unlock(&zmq_lock);
	/* waits for lingering messages, at most linger_ms */
	while (ctx && zmq_ctx_term(ctx) < 0 && errno == EINTR)
		;
	errno = saved;
}

/* close this process's socket of one end, and say that it is gone */
static void zmq_close_end_sock(struct zmq_chan *z, enum ipc_end end,
			       int linger_ms)
{
	int me = getpid();

	if (!z->sock[end])
		return;
	zmq_close_sock(z->sock[end], linger_ms);
	z->sock[end] = NULL;
	(void)atomic_compare_exchange_strong(&z->sh->pid[end], &me, -1);
}

/* PULL binds, PUSH connects; duplex: a PAIR on each side */
static int zmq_type(const struct ipc_chan *ch, enum ipc_end end)
{
	if (ch->duplex)
		return ZMQ_PAIR;
	return end == IPC_RX ? ZMQ_PULL : ZMQ_PUSH;
}

static int zmq_bind_rx(const struct ipc_chan *ch, struct zmq_chan *z)
{
	int64_t max = ch->max_msg < ZMQ_IPC_MIN_MAXMSG ? ZMQ_IPC_MIN_MAXMSG :
		(int64_t)ch->max_msg;
	int zero = 0, err;
	void *s = zmq_open_sock(zmq_type(ch, IPC_RX));

	if (!s)
		return -errno;
	if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) < 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_bind(s, ch->object) < 0 ||
	    /* zmq makes the socket file 0777 & ~umask: 0600 like the rest */
	    (z->ipc && chmod(ch->object + 6, 0600) < 0)) {
		err = -errno;
		zmq_close_sock(s, 0);
		return err;
	}
	/* zmq's listener has SO_REUSEADDR too: it shared the port with resv */
	ipc_fd_close(&z->resv);
	z->sock[IPC_RX] = s;
	atomic_store(&z->sh->pid[IPC_RX], getpid());
	return 0;
}

/*
 * Both ends in this process: wait (a bounded time) until the connection is
 * up. Its set-up sends the PULL socket a command that would wake ZMQ_FD
 * for nothing after a receive had already said -EAGAIN. The monitor event
 * comes after that command was sent; ZMQ_EVENTS then takes it in.
 */
static void zmq_settle(void *rx, void *mon)
{
	zmq_pollitem_t it = { .socket = mon, .events = ZMQ_POLLIN };
	zmq_msg_t msg;
	size_t len = sizeof(int);
	int events;

	if (zmq_poll(&it, 1, ZMQ_IPC_SETTLE_MS) == 1) {
		zmq_msg_init(&msg);
		/* two frames: event + value, then the endpoint */
		while (zmq_msg_recv(&msg, mon, ZMQ_DONTWAIT) >= 0 &&
		       zmq_msg_more(&msg))
			;
		zmq_msg_close(&msg);
	}
	(void)zmq_getsockopt(rx, ZMQ_EVENTS, &events, &len);
}

static int zmq_connect_tx(const struct ipc_chan *ch, struct zmq_chan *z)
{
	int ivl = ZMQ_IPC_RECONNECT_MS, zero = 0, err;
	void *rx = z->sock[IPC_RX], *mon = NULL;
	char monep[64];
	void *s;

	s = zmq_open_sock(zmq_type(ch, IPC_TX));
	if (!s)
		return -errno;
	if (zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)) < 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) < 0)
		goto err_close;
	if (rx) {
		snprintf(monep, sizeof(monep), "inproc://ipcfs-zmq-mon-%p", rx);
		if (zmq_socket_monitor(rx, monep,
				       ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0) {
			mon = zmq_open_sock(ZMQ_PAIR);
			if (mon && zmq_connect(mon, monep) < 0) {
				zmq_close_sock(mon, 0);
				mon = NULL;
			}
		}
	}
	if (zmq_connect(s, ch->object) < 0)
		goto err_close;
	if (mon) {
		zmq_settle(rx, mon);
		(void)zmq_socket_monitor(rx, NULL, 0);
		zmq_close_sock(mon, 0);
	}
	z->sock[IPC_TX] = s;
	atomic_store(&z->sh->pid[IPC_TX], getpid());
	return 0;

err_close:
	err = -errno;
	if (mon) {
		(void)zmq_socket_monitor(rx, NULL, 0);
		zmq_close_sock(mon, 0);
	}
	zmq_close_sock(s, 0);
	return err;
}

/*
 * 0 if ZMQ_IPC_FD_HEADROOM more fds can be opened, else -EMFILE (or
 * -ENFILE). libzmq's context, sockets and connection take about 10, and
 * some of its paths abort the process when socket() fails (an assertion
 * in ip_resolver.cpp with "Too many open files"), so we ask first.
 */
static int zmq_fd_headroom(void)
{
	int fd[ZMQ_IPC_FD_HEADROOM], n, err = 0;

	for (n = 0; n < ZMQ_IPC_FD_HEADROOM; n++) {
		fd[n] = n ? fcntl(fd[0], F_DUPFD_CLOEXEC, 0) :
			    open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd[n] < 0) {
			err = -errno;
			break;
		}
	}
	while (n > 0)
		(void)close(fd[--n]);
	return err;
}

/* make the sockets this process needs: RX if open here, TX if want_tx;
 * a duplex side only its own (RX binds, TX connects) */
static int zmq_setup(const struct ipc_chan *ch, bool want_tx)
{
	struct zmq_chan *z = zmq_mine(ch);
	bool want_rx = ch->side < 0 ? ch->open[IPC_RX] : ch->side == IPC_RX;
	int err;

	if (ch->side >= 0)
		want_tx = ch->side == IPC_TX;
	if (((want_rx && !z->sock[IPC_RX]) ||
	     (want_tx && !z->sock[IPC_TX])) &&
	    (err = zmq_fd_headroom()) < 0)
		return err;
	if (want_rx && !z->sock[IPC_RX]) {
		err = zmq_bind_rx(ch, z);
		if (err < 0)
			return err;
		/* the daemon holds both ends: connect now, not at first send */
		want_tx |= ch->side < 0 && ch->open[IPC_TX];
	}
	if (want_tx && !z->sock[IPC_TX])
		return zmq_connect_tx(ch, z);
	return 0;
}

static void zmq_destroy(struct ipc_chan *ch);

static int zmq_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	/* the daemon's, unless outsiders are welcome: a 0700 directory's */
	const char *kind = o->zmq_kind ? o->zmq_kind :
			   o->local && !o->outsiders ? "ipc" : "tcp";
	struct sockaddr_storage sa;
	socklen_t len;
	char dir[IPC_OBJECT_MAX], name[64];
	struct zmq_chan *z;
	int one = 1, n, err;

	ch->max_msg = o->max_msg ? o->max_msg : ZMQ_IPC_DEFAULT_MAX;
	if (ch->max_msg > ZMQ_IPC_LIMIT_MAX)
		return -EMSGSIZE;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->sh = mmap(NULL, sizeof(*z->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (z->sh == MAP_FAILED) {
		err = -errno;
		free(z);
		return err;
	}
	z->resv = -1;
	z->life = ipc_life();
	z->visible = o->visible;
	if (strcmp(kind, "ipc") == 0) {
		err = ipc_rundir(o, dir, sizeof(dir));
		if (err < 0)
			goto err_free;
		ipc_unique_name(name, sizeof(name), "zmq");
		n = snprintf(ch->object, sizeof(ch->object), "ipc://%s/%s",
			     dir, name);
		err = -ENAMETOOLONG;
		if (n < 0 || (size_t)n >= sizeof(ch->object) ||
		    strlen(ch->object + 6) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path))
			goto err_free;
		z->ipc = true;
	} else if (strcmp(kind, "tcp") == 0) {
		err = ipc_sock_addr(&sa, &len, AF_INET, o->bind_addr);
		if (err < 0)
			goto err_free;
		z->resv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (z->resv < 0 ||
		    setsockopt(z->resv, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) < 0 ||
		    bind(z->resv, (struct sockaddr *)&sa, len) < 0 ||
		    getsockname(z->resv, (struct sockaddr *)&sa, &len) < 0) {
			err = -errno;
			goto err_close;
		}
		ipc_sock_inet_name(&sa, "tcp://", ch->object,
				   sizeof(ch->object));
	} else {
		err = -EINVAL;
		goto err_free;
	}
	ch->priv = z;
	/* local mode: both ends live here from now on, and the endpoint
	 * that stats shows listens from the moment it exists */
	if (o->local && ((err = zmq_fd_headroom()) < 0 ||
			 (err = zmq_bind_rx(ch, z)) < 0 ||
			 (err = zmq_connect_tx(ch, z)) < 0)) {
		zmq_destroy(ch);
		return err;
	}
	return 0;

err_close:
	ipc_fd_close(&z->resv);
err_free:
	(void)munmap(z->sh, sizeof(*z->sh));
	free(z);
	ch->object[0] = '\0';
	return err;
}

/* this process's socket for its sends (IPC_TX) or receives (IPC_RX) */
static void *zmq_sock(const struct ipc_chan *ch, enum ipc_end end)
{
	return ((struct zmq_chan *)ch->priv)->sock[ipc_own_end(ch, end)];
}

/* the counts of the direction a send or receive of ours moves */
static struct zmq_dir *zmq_dir(const struct ipc_chan *ch, enum ipc_end end)
{
	return &((struct zmq_chan *)ch->priv)->sh->dir[ipc_dir(ch, end)];
}

static ssize_t zmq_send_msg(struct ipc_chan *ch, const void *buf, size_t len,
			    int flags)
{
	struct zmq_dir *d = zmq_dir(ch, IPC_TX);
	int err = zmq_setup(ch, true);

	if (err < 0)
		return err;
	if (!(flags & IPC_DONTWAIT) && ipc_stop)
		return -EINTR;
	if (zmq_send(zmq_sock(ch, IPC_TX), buf, len,
		     flags & IPC_DONTWAIT ? ZMQ_DONTWAIT : 0) < 0)
		return -errno;
	atomic_fetch_add(&d->sent_msgs, 1);
	atomic_fetch_add(&d->sent_bytes, len);
	return (ssize_t)len;
}

/* queue the hang-up without waiting; false when the queue is full */
static bool zmq_hangup_now(struct ipc_chan *ch)
{
	struct zmq_chan *z = ch->priv;

	if (zmq_send(zmq_sock(ch, IPC_TX), "", 0, ZMQ_DONTWAIT) < 0)
		return false;
	atomic_fetch_add(&zmq_dir(ch, IPC_TX)->sent_msgs, 1);
	z->hup_pending = false;
	return true;
}

/* one received message of n bytes counted; the sender's wait woken */
static void zmq_count_in(struct zmq_dir *d, int n)
{
	atomic_fetch_add(&d->recv_msgs, 1);
	atomic_fetch_add(&d->recv_bytes, n);
	atomic_fetch_add(&d->rx_seq, 1);
	if (atomic_load(&d->tx_waiting) && atomic_exchange(&d->tx_waiting, 0))
		ipc_futex_wake(&d->rx_seq);
}

static ssize_t zmq_recv_msg(struct ipc_chan *ch, void *buf, size_t len,
			    int flags)
{
	struct zmq_chan *z;
	int err = zmq_setup(ch, false), n;

	if (err < 0)
		return err;
	z = ch->priv;
	if (z->eof)
		return 0;
	if (z->hup_pending)
		(void)zmq_hangup_now(ch);
	do {
		if (!(flags & IPC_DONTWAIT) && ipc_stop)
			return -EINTR;
		n = zmq_recv(zmq_sock(ch, IPC_RX), buf, len,
			     flags & IPC_DONTWAIT ? ZMQ_DONTWAIT : 0);
		if (n < 0)
			return -errno;
		/* too big: only an outsider ignoring max_msg; drop it */
	} while ((size_t)n > ch->max_msg);
	zmq_count_in(zmq_dir(ch, IPC_RX), n);
	if (n == 0) {
		/* local mode: only an outsider sends an empty message */
		z->eof = !ch->local;
		return 0;
	}
	if (z->ipc && !z->visible && !z->unlinked) {
		/* the sender is connected: nobody needs the name any more */
		(void)unlink(ch->object + 6);
		z->unlinked = true;
	}
	return n;
}

/* ZMQ_FD; a one-way TX end has none (see the header), a duplex side's
 * one socket serves both ends */
static int zmq_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
		       short *events)
{
	size_t len = sizeof(int);
	int fd, err;

	*events = POLLIN;
	if (end == IPC_TX && ch->side < 0)
		return -1;
	err = zmq_setup(ch, false);
	if (err < 0)
		return err;
	if (zmq_getsockopt(zmq_sock(ch, end), ZMQ_FD, &fd, &len) < 0)
		return -errno;
	return fd;
}

/* local mode: every message counted as sent has been received */
static bool zmq_drained(const struct ipc_chan *ch)
{
	const struct zmq_dir *d = zmq_dir(ch, IPC_RX);

	return atomic_load(&d->recv_msgs) >= atomic_load(&d->sent_msgs);
}

/* the sending socket is below its high-water mark */
static bool zmq_writable(const struct ipc_chan *ch)
{
	size_t len = sizeof(int);
	int events;

	if (zmq_setup(ch, true) < 0 ||
	    zmq_getsockopt(zmq_sock(ch, IPC_TX), ZMQ_EVENTS, &events,
			   &len) < 0)
		return false;
	return events & ZMQ_POLLOUT;
}

/* the reader of our sends is known to be gone */
static bool zmq_peer_gone(const struct ipc_chan *ch)
{
	const struct zmq_chan *z = ch->priv;
	pid_t pid = atomic_load(&z->sh->pid[!ipc_own_end(ch, IPC_TX)]);

	return pid < 0 || (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH);
}

/*
 * The hang-up to a reader in another process: wait for room for it, then
 * until the reader has received it, which means everything before it has
 * left this process too. Give up after ZMQ_IPC_HUP_WAIT_MS without
 * progress, or when the reader is gone or ipc_stop is set; then close
 * with that much linger, for a process that lives on (a duplex side
 * keeps its socket: it still receives).
 */
static void zmq_hangup_remote(struct ipc_chan *ch, struct zmq_chan *z)
{
	struct zmq_dir *d = zmq_dir(ch, IPC_TX);
	int ms = ZMQ_IPC_HUP_WAIT_MS, idle = 0;
	unsigned long got, last = ULONG_MAX;
	unsigned seq;

	if (zmq_setup(ch, true) < 0)
		return;
	(void)zmq_setsockopt(zmq_sock(ch, IPC_TX), ZMQ_SNDTIMEO, &ms,
			     sizeof(ms));
	while (zmq_send(zmq_sock(ch, IPC_TX), "", 0, 0) < 0)
		if (errno != EINTR || ipc_stop)
			goto out;
	atomic_fetch_add(&d->sent_msgs, 1);
	while (idle < ZMQ_IPC_HUP_WAIT_MS / 10 && !ipc_stop &&
	       !zmq_peer_gone(ch)) {
		seq = atomic_load(&d->rx_seq);
		got = atomic_load(&d->recv_msgs);
		if (got >= atomic_load(&d->sent_msgs))
			break;
		idle = got == last ? idle + 1 : 0;
		last = got;
		atomic_store(&d->tx_waiting, 1);
		(void)ipc_futex_wait(&d->rx_seq, seq, 10 * 1000 * 1000L);
	}
out:
	/* not all received, by a reader that may still come to it */
	if (ipc_stop || zmq_peer_gone(ch) ||
	    atomic_load(&d->recv_msgs) >= atomic_load(&d->sent_msgs))
		ms = 0;
	if (ch->side < 0)
		zmq_close_end_sock(z, IPC_TX, ms);
}

/*
 * The writer is done. The reader is us: queue the hang-up to ourselves
 * (zmq_recv_msg retries it while the queue is full) and keep the socket.
 * The reader is another process: wait until it has the hang-up, unless it
 * is known to be gone.
 */
static void zmq_hangup(struct ipc_chan *ch)
{
	struct zmq_chan *z = zmq_mine(ch);

	if (ch->side < 0 && ch->open[IPC_RX]) {
		if (zmq_setup(ch, true) == 0 && !zmq_hangup_now(ch))
			z->hup_pending = true;
	} else if (!zmq_peer_gone(ch)) {
		zmq_hangup_remote(ch, z);
	}
}

/*
 * Quiet: nothing is sent. Keeping the RX end (after fork), bind now,
 * before the sender starts; a PUSH socket of ours then stays until
 * destroy(), since what it holds (a hang-up too) is for us. A duplex
 * side's socket goes with the last of its two ends.
 */
static void zmq_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct zmq_chan *z = zmq_mine(ch);

	if (ch->side >= 0) {
		if (!ch->open[!end])
			zmq_close_end_sock(z, (enum ipc_end)ch->side, 0);
	} else if (end == IPC_RX) {
		ipc_fd_close(&z->resv);
		zmq_close_end_sock(z, IPC_RX, 0);
	} else if (ch->open[IPC_RX]) {
		(void)zmq_setup(ch, false);
	} else {
		zmq_close_end_sock(z, IPC_TX, 0);
	}
}

static void zmq_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	const struct zmq_dir *d = zmq_dir(ch, IPC_RX);
	long m = (long)(atomic_load(&d->sent_msgs) -
			atomic_load(&d->recv_msgs));
	long b = (long)(atomic_load(&d->sent_bytes) -
			atomic_load(&d->recv_bytes));

	/* outsiders' messages are received but not sent by us */
	st->queued_msgs = m < 0 ? 0 : m;
	st->queued_bytes = b < 0 ? 0 : b;
}

static void zmq_destroy(struct ipc_chan *ch)
{
	struct zmq_chan *z = ch->priv;

	if (!z)
		return;
	z = zmq_mine(ch);
	zmq_close_end_sock(z, IPC_TX, 0);
	zmq_close_end_sock(z, IPC_RX, 0);
	ipc_fd_close(&z->resv);
	if (z->ipc)
		(void)unlink(ch->object + 6);	/* ENOENT if zmq did it */
	(void)munmap(z->sh, sizeof(*z->sh));
	free(z);
	ch->priv = NULL;
}

const struct ipc_transport ipc_zmq = {
	.name      = "zmq",
	.what      = "ZeroMQ PUSH/PULL (duplex: PAIR) over tcp:// or ipc://, messages",
	.caps      = IPC_MESSAGES | IPC_DUPLEX,
	.create    = zmq_create,
	.close_end = zmq_close_end,
	.hangup    = zmq_hangup,
	.send      = zmq_send_msg,
	.recv      = zmq_recv_msg,
	.wait_fd   = zmq_wait_fd,
	.drained   = zmq_drained,
	.writable  = zmq_writable,
	.stats     = zmq_stats,
	.destroy   = zmq_destroy,
};
