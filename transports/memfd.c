/*
 * memfd: every message is a sealed memfd (memfd_create(2), then
 * F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) passed with
 * SCM_RIGHTS over a Unix datagram socket bound to a path in the private
 * runtime directory; the receiver checks the fd and pread(2)s it. The
 * socket carries 16 bytes and an fd per message, never the payload.
 * Boundaries kept: a message is the memfd's whole content, 1 byte to
 * max_msg (1 MiB by default, at most 1 GiB). The hang-up is an empty
 * datagram without an fd.
 *
 * Capacity: the sender counts the bytes of its messages not yet taken out
 * of the socket (default 4 MiB, at least one max_msg; the memory the
 * queued memfds pin) in a page shared across fork, and waits (or says
 * -EAGAIN) past it, as udp does; the socket's queue bounds the count too
 * (net.unix.max_dgram_qlen datagrams). A receiver gives the count back as
 * it takes each of ours, told apart from outsiders' by a random token.
 *
 * Outsiders (the path is visible while the daemon holds the channel) may
 * send one datagram with exactly one fd, which must be a memfd with all
 * four seals, 1 byte to max_msg long; anything else (no fd, several, a
 * cut-off control message, a FIFO, a device, an unsealed memfd, too big)
 * is dropped and counted, never read. An fd that is not a memfd is closed
 * by a helper thread: closing a file of a FUSE mount whose daemon does not
 * answer blocks in FLUSH, and the caller must never block on an
 * outsider's fd. One descriptor slot is kept free for each receive (a
 * spare fd, let go just before recvmsg): at the descriptor limit, a
 * message of ours never loses its fd.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "sock.h"

#define MEMFD_DEFAULT_MAX	(1u << 20)
#define MEMFD_MAX		(1u << 30)
#define MEMFD_DEFAULT_CAPACITY	(4u << 20)
#define MEMFD_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)
/* fds looked at in one datagram; more are cut off (MSG_CTRUNC) */
#define MEMFD_FDS	8
/* a sender over its credit looks again this often */
#define MEMFD_WAIT_NS	(100 * 1000 * 1000L)

/* the 16 bytes beside each of our memfds */
struct mfd_hdr {
	uint64_t token;
	uint64_t len;
};

/* shared across fork: our messages in the socket, and who waits */
struct mfd_shared {
	atomic_ulong sent, taken;	/* bytes of ours: sent, taken out */
	atomic_ulong sent_msgs, taken_msgs;
	atomic_uint rx_seq;		/* futex word: bumped per taking */
	atomic_uint tx_waiting;
	uint64_t token;			/* marks our datagrams */
	unsigned long limit;		/* bytes of ours allowed in flight */
};

struct mfd {
	struct mfd_shared *sh;
	int spare;	/* RX: a dup of the socket whose slot a receive uses */
};

/* one datagram as it came */
struct mfd_dgram {
	struct mfd_hdr hdr;
	ssize_t len;		/* payload bytes */
	int fds[MEMFD_FDS];
	int nfds;
	bool trunc;		/* MSG_TRUNC: a longer payload than ours */
	bool ctrunc;		/* MSG_CTRUNC: fds cut off (and closed) */
};

static int mfd_create_chan(struct ipc_chan *ch, const struct ipc_opts *o,
			     struct mfd *m)
{
	int err;

	err = ipc_sock_named_dgram(ch, o, "memfd");
	if (err < 0)
		return err;
	if (getrandom(&m->sh->token, sizeof(m->sh->token), 0) !=
	    sizeof(m->sh->token)) {
		err = -errno;
		ipc_fd_destroy(ch);
		(void)unlink(ch->object);
		return err;
	}
	if (!o->visible)
		(void)unlink(ch->object);
	return 0;
}

static int mfd_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct mfd *m;
	int err;

	ch->max_msg = o->max_msg ? o->max_msg : MEMFD_DEFAULT_MAX;
	if (ch->max_msg > MEMFD_MAX)
		return -EMSGSIZE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->spare = -1;
	m->sh = mmap(NULL, sizeof(*m->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->sh == MAP_FAILED) {
		err = -errno;
		free(m);
		return err;
	}
	m->sh->limit = o->capacity ? o->capacity : MEMFD_DEFAULT_CAPACITY;
	if (m->sh->limit < ch->max_msg)
		m->sh->limit = ch->max_msg;
	err = mfd_create_chan(ch, o, m);
	if (err < 0) {
		(void)munmap(m->sh, sizeof(*m->sh));
		free(m);
		return err;
	}
	ch->priv = m;
	return 0;
}

/* ---- sending */

static unsigned long mfd_in_flight(const struct mfd_shared *sh)
{
	unsigned long sent = atomic_load(&sh->sent);
	unsigned long taken = atomic_load(&sh->taken);

	return sent > taken ? sent - taken : 0;
}

/* none of our datagrams is in the socket any more (SIOCOUTQ: the kernel
 * counts them per sending socket, so outsiders' do not show) */
static bool mfd_none_queued(const struct ipc_chan *ch)
{
	int n;

	return ioctl(ch->fd[IPC_TX], SIOCOUTQ, &n) == 0 && n == 0;
}

static bool mfd_credit(const struct ipc_chan *ch, size_t len)
{
	const struct mfd_shared *sh = ((struct mfd *)ch->priv)->sh;

	return mfd_in_flight(sh) + len <= sh->limit ||
	       mfd_none_queued(ch);
}

/*
 * Wait until len more bytes of ours may be in flight: 0, -EAGAIN, -EINTR.
 * With nothing of ours left in the socket there is always room: a reader
 * killed between taking a message and giving its count back, or gone
 * altogether (then sendmsg says so), cannot stop us for good.
 */
static int mfd_wait_credit(struct ipc_chan *ch, size_t len, int flags)
{
	struct mfd_shared *sh = ((struct mfd *)ch->priv)->sh;
	unsigned seq;
	int err;

	while (!mfd_credit(ch, len)) {
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
		if (ipc_stop)
			return -EINTR;
		seq = atomic_load(&sh->rx_seq);
		atomic_store(&sh->tx_waiting, 1);
		if (mfd_credit(ch, len))
			break;
		err = ipc_futex_wait(&sh->rx_seq, seq, MEMFD_WAIT_NS);
		if (err < 0)
			return err;
	}
	return 0;
}

/* a sealed memfd holding buf; the fd or -errno */
static int mfd_make(const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;
	int fd, err;

	fd = memfd_create("ipcfs", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			goto err_close;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, MEMFD_SEALS) < 0) {
		err = -errno;
		goto err_close;
	}
	return fd;

err_close:
	(void)close(fd);
	return err;
}

/* one datagram: the header and the fd; -errno (-EPIPE: no reader) */
static int mfd_post(struct ipc_chan *ch, int fd, size_t len, int flags)
{
	struct mfd_shared *sh = ((struct mfd *)ch->priv)->sh;
	struct mfd_hdr hdr = { .token = sh->token, .len = len };
	struct iovec iov = { .iov_base = &hdr, .iov_len = sizeof(hdr) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} c;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	memset(&c, 0, sizeof(c));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(ch->fd[IPC_TX], &mh, MSG_NOSIGNAL |
		    (flags & IPC_DONTWAIT ? MSG_DONTWAIT : 0)) < 0)
		/* a connected datagram socket whose peer is gone says
		 * ECONNREFUSED once, then ENOTCONN */
		return errno == ECONNREFUSED || errno == ENOTCONN ? -EPIPE :
		       -errno;
	return 0;
}

static ssize_t mfd_send(struct ipc_chan *ch, const void *buf, size_t len,
			  int flags)
{
	struct mfd_shared *sh = ((struct mfd *)ch->priv)->sh;
	int fd, err;

	err = mfd_wait_credit(ch, len, flags);
	if (err < 0)
		return err;
	fd = mfd_make(buf, len);
	if (fd < 0)
		return fd;
	/* counted first: a receiver may take it before sendmsg returns */
	atomic_fetch_add(&sh->sent, len);
	atomic_fetch_add(&sh->sent_msgs, 1);
	err = mfd_post(ch, fd, len, flags);
	(void)close(fd);	/* the socket holds its own reference */
	if (err < 0) {
		atomic_fetch_sub(&sh->sent, len);
		atomic_fetch_sub(&sh->sent_msgs, 1);
		return err;
	}
	return (ssize_t)len;
}

/* room for a message of any size up to max_msg, and in the socket */
static bool mfd_writable(const struct ipc_chan *ch)
{
	struct pollfd p = { .fd = ch->fd[IPC_TX], .events = POLLOUT };

	return mfd_credit(ch, ch->max_msg) && poll(&p, 1, 0) == 1 &&
	       (p.revents & POLLOUT);
}

/* ---- closing an outsider's fd without blocking */

static pthread_mutex_t closer_lock = PTHREAD_MUTEX_INITIALIZER;
static int closer_pipe[2] = { -1, -1 };
static pid_t closer_pid;

static void *closer_main(void *arg)
{
	int rd = (int)(intptr_t)arg, fd;

	while (read(rd, &fd, sizeof(fd)) == sizeof(fd))
		(void)close(fd);
	return NULL;
}

/* the helper thread of this process, started at first need (again after
 * fork: threads do not cross it); false if it cannot be had */
static bool closer_start(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	bool ok;

	if (closer_pid == getpid())
		return true;
	ipc_fd_close(&closer_pipe[0]);	/* the parent's, after fork */
	ipc_fd_close(&closer_pipe[1]);
	if (pipe2(closer_pipe, O_CLOEXEC) < 0)
		return false;
	(void)fcntl(closer_pipe[1], F_SETFL, O_NONBLOCK);
	/* no signal for it: process-directed ones (the signal transport's,
	 * queued to our pid) must reach the thread that waits for them */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	ok = pthread_attr_init(&attr) == 0 &&
	     pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
	     pthread_create(&tid, &attr, closer_main,
			    (void *)(intptr_t)closer_pipe[0]) == 0;
	(void)pthread_attr_destroy(&attr);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ok) {
		ipc_fd_close(&closer_pipe[0]);
		ipc_fd_close(&closer_pipe[1]);
		return false;
	}
	closer_pid = getpid();
	return true;
}

/*
 * Close an fd an outsider gave us. A memfd's close cannot block; any
 * other file's may (a FUSE file's FLUSH), so the helper thread does it.
 * Should the thread be stuck with its queue full, the fd stays open
 * (counted in closer_kept): a descriptor lost rather than a frozen caller.
 */
static unsigned long closer_kept;

static void mfd_discard(int fd)
{
	if (fcntl(fd, F_GET_SEALS) >= 0) {	/* shmem or hugetlbfs */
		(void)close(fd);
		return;
	}
	(void)pthread_mutex_lock(&closer_lock);
	if (!closer_start() ||
	    write(closer_pipe[1], &fd, sizeof(fd)) != sizeof(fd))
		closer_kept++;
	(void)pthread_mutex_unlock(&closer_lock);
}

/* ---- receiving */

/*
 * Keep one descriptor slot free for the receive to come: the spare, a
 * dup of the socket, is closed now and made again after. 0, or -EMFILE
 * (nothing received) when no slot can be had.
 */
static int mfd_spare_free(struct ipc_chan *ch)
{
	struct mfd *m = ch->priv;

	if (m->spare < 0)
		m->spare = fcntl(ch->fd[IPC_RX], F_DUPFD_CLOEXEC, 0);
	if (m->spare < 0)
		return -errno;
	(void)close(m->spare);
	m->spare = -1;
	return 0;
}

/* the spare again, in the slot of a memfd we are done with if any
 * (dup3 closes it); left at -1 when no slot is free */
static void mfd_spare_take(struct ipc_chan *ch, int done_fd)
{
	struct mfd *m = ch->priv;

	if (done_fd >= 0 &&
	    dup3(ch->fd[IPC_RX], done_fd, O_CLOEXEC) == done_fd) {
		m->spare = done_fd;
		return;
	}
	if (done_fd >= 0)
		(void)close(done_fd);
	m->spare = fcntl(ch->fd[IPC_RX], F_DUPFD_CLOEXEC, 0);
}

/* every fd of every SCM_RIGHTS in mh, up to MEMFD_FDS (the rest closed) */
static void mfd_collect(struct msghdr *mh, struct mfd_dgram *d)
{
	struct cmsghdr *cm;
	size_t n;
	int fd;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (d->nfds < MEMFD_FDS)
				d->fds[d->nfds++] = fd;
			else
				mfd_discard(fd);
		}
	}
}

/* the next datagram, with its fds; 0 or -errno (-EAGAIN, -EINTR...) */
static int mfd_take(struct ipc_chan *ch, struct mfd_dgram *d, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MEMFD_FDS)];
		struct cmsghdr align;
	} c;
	struct iovec iov = { .iov_base = &d->hdr, .iov_len = sizeof(d->hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	int err;

	memset(d, 0, sizeof(*d));
	err = mfd_spare_free(ch);
	if (err < 0)
		return err;
	d->len = recvmsg(ch->fd[IPC_RX], &mh, MSG_CMSG_CLOEXEC |
			 (flags & IPC_DONTWAIT ? MSG_DONTWAIT : 0));
	if (d->len < 0) {
		err = -errno;
		mfd_spare_take(ch, -1);
		return err;
	}
	mfd_collect(&mh, d);
	d->trunc = mh.msg_flags & MSG_TRUNC;
	d->ctrunc = mh.msg_flags & MSG_CTRUNC;
	return 0;
}

/* a datagram of ours leaves the socket: give its bytes back */
static bool mfd_give_back(struct ipc_chan *ch, const struct mfd_dgram *d)
{
	struct mfd_shared *sh = ((struct mfd *)ch->priv)->sh;

	if (d->len != (ssize_t)sizeof(d->hdr) || d->trunc ||
	    d->hdr.token != sh->token)
		return false;
	atomic_fetch_add(&sh->taken, (unsigned long)d->hdr.len);
	atomic_fetch_add(&sh->taken_msgs, 1);
	atomic_fetch_add(&sh->rx_seq, 1);
	if (atomic_exchange(&sh->tx_waiting, 0))
		ipc_futex_wake(&sh->rx_seq);
	return true;
}

/*
 * The content of a memfd an outsider may have made, into buf: checked
 * first, never read when it is not sealed shmem of 1..max_msg bytes.
 * Its length, or -EBADMSG.
 */
static ssize_t mfd_read(const struct ipc_chan *ch, int fd, void *buf,
			  size_t len)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int seals = fcntl(fd, F_GET_SEALS);

	/* F_GET_SEALS first: it fails on other files without calling
	 * their file system, where fstat(2) might wait on a FUSE daemon */
	if (seals < 0 || (seals & MEMFD_SEALS) != MEMFD_SEALS)
		return -EBADMSG;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > ch->max_msg || (size_t)st.st_size > len)
		return -EBADMSG;
	while (got < (size_t)st.st_size) {
		n = pread(fd, (char *)buf + got, (size_t)st.st_size - got,
			  (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EBADMSG;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* one datagram taken: its message length, 0 for the hang-up, -EBADMSG
 * for anything else (its fds closed) */
static ssize_t mfd_open_dgram(struct ipc_chan *ch, struct mfd_dgram *d,
				void *buf, size_t len)
{
	ssize_t n = -EBADMSG;

	if (d->nfds == 0 && d->len == 0 && !d->trunc && !d->ctrunc) {
		mfd_spare_take(ch, -1);
		return 0;
	}
	if (d->nfds == 1 && !d->ctrunc)
		n = mfd_read(ch, d->fds[0], buf, len);
	if (n > 0) {
		mfd_spare_take(ch, d->fds[0]);
		return n;
	}
	for (int i = 0; i < d->nfds; i++)
		mfd_discard(d->fds[i]);
	mfd_spare_take(ch, -1);
	return n;
}

static ssize_t mfd_recv(struct ipc_chan *ch, void *buf, size_t len,
			  int flags)
{
	struct mfd_dgram d;
	bool ours;
	ssize_t n;
	int err;

	for (;;) {
		err = mfd_take(ch, &d, flags);
		if (err < 0)
			return err;
		ours = mfd_give_back(ch, &d);
		n = mfd_open_dgram(ch, &d, buf, len);
		if (n >= 0)
			return n;
		/* ours without its fd: a descriptor slot was stolen from
		 * under us (another thread): say so rather than drop it */
		if (ours && d.nfds == 0)
			return -EMFILE;
		ch->dropped++;	/* an outsider's, not a message */
	}
}

/* ---- the rest */

static int mfd_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
			 short *events)
{
	*events = POLLIN;
	/* the sender waits for credit and queue room, which only our own
	 * receives return */
	return end == IPC_RX ? ch->fd[IPC_RX] : -1;
}

static void mfd_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	const struct mfd_shared *sh = ((struct mfd *)ch->priv)->sh;
	unsigned long m = atomic_load(&sh->sent_msgs);
	unsigned long t = atomic_load(&sh->taken_msgs);

	/* ours only: outsiders' messages are not counted until taken */
	st->queued_bytes = (long)mfd_in_flight(sh);
	st->queued_msgs = m > t ? (long)(m - t) : 0;
	st->capacity = (long)sh->limit;
}

static void mfd_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct mfd *m = ch->priv;

	/* the spare is the RX socket too: a reader gone must be gone */
	if (end == IPC_RX)
		ipc_fd_close(&m->spare);
	ipc_fd_close(&ch->fd[end]);
}

static void mfd_destroy(struct ipc_chan *ch)
{
	struct mfd *m = ch->priv;

	ipc_fd_destroy_named(ch);
	if (!m)
		return;
	ipc_fd_close(&m->spare);
	(void)munmap(m->sh, sizeof(*m->sh));
	free(m);
	ch->priv = NULL;
}

const struct ipc_transport ipc_memfd = {
	.name      = "memfd",
	.what      = "sealed memfd per message, SCM_RIGHTS over a Unix "
		     "datagram socket, messages",
	.caps      = IPC_MESSAGES,
	.create    = mfd_create,
	.close_end = mfd_close_end,
	.hangup    = ipc_dgram_hangup,
	.send      = mfd_send,
	.recv      = mfd_recv,
	.wait_fd   = mfd_wait_fd,
	.writable  = mfd_writable,
	.stats     = mfd_stats,
	.destroy   = mfd_destroy,
};
