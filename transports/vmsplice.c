/*
 * vmsplice: a kernel pipe fed with vmsplice(2), drained with read(2). The
 * pipe takes references to the sender's pages instead of a copy of the
 * bytes. Byte stream, EOF once the write end is closed. Capacity is the
 * pipe size (F_GETPIPE_SZ: 64 KiB by default, 1 MiB in local mode), but
 * counted in slots: every send takes one slot per page it touches (the
 * kernel never merges them), so a pipe of 16 pages holds 16 sends of one
 * byte. Anonymous: there is no name an outsider could open.
 *
 * Pages in the pipe still belong to the sender until the reader has read
 * them: changed before, the reader sees the change. So (docs/DESIGN.md,
 * "vmsplice: who owns the pages"):
 *  - a blocking send of 32 KiB or more from a process that does not hold
 *    the RX end (the bench's child) lends the caller's pages and returns
 *    only once the pipe is empty, i.e. the reader has copied them out:
 *    zero-copy, but a rendezvous with the reader, who must be reading;
 *    a signal does not cut that wait short;
 *  - every other send (smaller, IPC_DONTWAIT, local mode, both ends here)
 *    copies into a ring of pages the transport owns, reused only once
 *    FIONREAD shows them read, and vmsplices those: one copy, as
 *    write(2) makes.
 * A lender waits as the rings do: it watches the readers' byte count in a
 * page shared across fork, spinning ~1 us, yielding ~50 us, then sleeping
 * on a futex there, which the reader wakes once it has read that far.
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "transport.h"

/*
 * Smaller sends are copied even when they could wait: below this the
 * rendezvous costs more than the copy saves (measured in streams of 16 and
 * 32 KiB, docs/DESIGN.md).
 */
#define VMS_LEND_MIN	(32u << 10)
/* a lender looks for a vanished reader this often */
#define VMS_WAIT_NS	(100 * 1000 * 1000L)
/* before its futex sleep a lender spins ~1 us and yields ~50 us, as the
 * rings do (docs/DESIGN.md, "ring wake-ups"): a reader on another CPU is
 * usually done by then, and a sleep and wake-up costs 20-50 us here */
#define VMS_SPINS	40
#define VMS_YIELDS	100

/* shared across fork: how far the readers got, and who waits for that */
struct vms_shared {
	atomic_ulong consumed;		/* bytes our recv() has read, all readers */
	atomic_ulong want;		/* the lender's position in the stream */
	atomic_uint rx_seq;		/* futex word, bumped to wake the lender */
	atomic_uint tx_waiting;
};

struct vms {
	struct vms_shared *sh;
	unsigned char *pool;		/* the copying sends' ring, made lazily */
	size_t pool_size, pool_head;
	unsigned long sent;		/* bytes this process put in the pipe */
};

static int vms_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct vms *v = calloc(1, sizeof(*v));
	int fd[2], err;

	if (!v)
		return -ENOMEM;
	v->sh = mmap(NULL, sizeof(*v->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (v->sh == MAP_FAILED) {
		err = -errno;
		goto err_free;
	}
	if (pipe2(fd, O_CLOEXEC) < 0) {
		err = -errno;
		goto err_unmap;
	}
	err = ipc_pipe_resize(fd[1], o);
	if (err < 0) {
		close(fd[0]);
		close(fd[1]);
		goto err_unmap;
	}
	ch->fd[IPC_RX] = fd[0];
	ch->fd[IPC_TX] = fd[1];
	ch->priv = v;
	return 0;

err_unmap:
	(void)munmap(v->sh, sizeof(*v->sh));
err_free:
	free(v);
	return err;
}

/* bytes in the pipe, ours or not yet read; -errno */
static long vms_queued(const struct ipc_chan *ch)
{
	int q;

	if (ioctl(ch->fd[IPC_TX], FIONREAD, &q) < 0)
		return -errno;
	return q;
}

/* no process holds the read end any more: nobody will read our pages */
static bool vms_reader_gone(const struct ipc_chan *ch)
{
	struct pollfd p = { .fd = ch->fd[IPC_TX], .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

static inline void vms_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/*
 * Watch the readers' count in shared memory, no system call, until they
 * have read `upto` bytes of the stream; false when the spin is over first.
 */
static bool vms_spin_until(const struct vms *v, unsigned long upto)
{
	for (unsigned i = 0; i < VMS_SPINS + VMS_YIELDS; i++) {
		if (atomic_load(&v->sh->consumed) >= upto)
			return true;
		if (i < VMS_SPINS)
			vms_relax();
		else
			(void)sched_yield();
	}
	return false;
}

/*
 * Wait until the pipe is empty: every page we lent has been read. Not
 * cut short by signals, since the caller would then change bytes the
 * reader has yet to see; it ends when the readers are gone too.
 */
static void vms_wait_read(struct ipc_chan *ch)
{
	struct vms *v = ch->priv;
	struct vms_shared *sh = v->sh;
	unsigned seq;

	/* FIONREAD has the last word: the count misses other writers */
	if (vms_spin_until(v, v->sent) && vms_queued(ch) <= 0)
		return;
	atomic_store(&sh->want, v->sent);
	for (;;) {
		seq = atomic_load(&sh->rx_seq);
		atomic_store(&sh->tx_waiting, 1);
		/* seq_cst store, then the pipe's lock: a reader that empties
		 * it after this look sees tx_waiting and bumps rx_seq */
		if (vms_queued(ch) <= 0 || vms_reader_gone(ch))
			break;
		(void)ipc_futex_wait(&sh->rx_seq, seq, VMS_WAIT_NS);
	}
	atomic_store(&sh->tx_waiting, 0);
}

/* zero-copy: the caller's pages go into the pipe; back once all are read */
static ssize_t vms_lend(struct ipc_chan *ch, const void *buf, size_t len)
{
	struct vms *v = ch->priv;
	struct iovec iov;
	size_t done = 0;
	unsigned long seen;
	int how = SPLICE_F_NONBLOCK;
	ssize_t n;

	while (done < len) {
		iov.iov_base = (char *)buf + done;
		iov.iov_len = len - done;
		seen = atomic_load(&v->sh->consumed);
		n = vmsplice(ch->fd[IPC_TX], &iov, 1, how);
		/* full: spin while the reader frees slots, else sleep in
		 * the kernel until it does */
		if (n < 0 && errno == EAGAIN) {
			how = vms_spin_until(v, seen + 1) ? SPLICE_F_NONBLOCK : 0;
			continue;
		}
		if (n < 0 && done == 0)
			return -errno;
		if (n < 0)
			break;	/* a signal, or no reader: say what went */
		done += (size_t)n;
		v->sent += (unsigned long)n;
		how = SPLICE_F_NONBLOCK;
	}
	vms_wait_read(ch);
	return (ssize_t)done;
}

/* the ring the copying sends use: as big as the pipe, so never short */
static int vms_pool(struct ipc_chan *ch)
{
	struct vms *v = ch->priv;
	int size;

	if (v->pool)
		return 0;
	size = fcntl(ch->fd[IPC_TX], F_GETPIPE_SZ);
	if (size <= 0)
		return size < 0 ? -errno : -EINVAL;
	v->pool = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->pool == MAP_FAILED) {
		v->pool = NULL;
		return -errno;
	}
	v->pool_size = (size_t)size;
	return 0;
}

/*
 * Room in the ring after pool_head, up to its end. Everything in the pipe
 * is treated as the latest bytes we copied (the pipe is FIFO, and a
 * lending send leaves it empty), so what FIONREAD counts is not reused.
 */
static long vms_pool_room(struct ipc_chan *ch)
{
	struct vms *v = ch->priv;
	long q = vms_queued(ch), room;

	if (q < 0)
		return q;
	room = (long)v->pool_size - q;
	if (room > (long)(v->pool_size - v->pool_head))
		room = (long)(v->pool_size - v->pool_head);
	return room > 0 ? room : 0;
}

/* wait for a free slot, which frees ring space too; 0 or -errno */
static int vms_wait_room(struct ipc_chan *ch)
{
	struct pollfd p = { .fd = ch->fd[IPC_TX], .events = POLLOUT };

	if (poll(&p, 1, -1) < 0)
		return -errno;
	return (p.revents & POLLERR) ? -EPIPE : 0;
}

/* one copy: into our own pages, which the pipe then references */
static ssize_t vms_copy(struct ipc_chan *ch, const void *buf, size_t len,
			int flags)
{
	struct vms *v = ch->priv;
	struct iovec iov;
	long room;
	ssize_t n;
	int err;

	err = vms_pool(ch);
	if (err < 0)
		return err;
	while ((room = vms_pool_room(ch)) == 0) {
		if (flags & IPC_DONTWAIT)
			return vms_reader_gone(ch) ? -EPIPE : -EAGAIN;
		err = vms_wait_room(ch);
		if (err < 0)
			return err;
	}
	if (room < 0)
		return room;
	if (len > (size_t)room)
		len = (size_t)room;
	iov.iov_base = v->pool + v->pool_head;
	iov.iov_len = len;
	memcpy(iov.iov_base, buf, len);
	n = vmsplice(ch->fd[IPC_TX], &iov, 1,
		     flags & IPC_DONTWAIT ? SPLICE_F_NONBLOCK : 0);
	if (n < 0)
		return -errno;
	v->pool_head = (v->pool_head + (size_t)n) % v->pool_size;
	v->sent += (unsigned long)n;
	return n;
}

static ssize_t vms_send(struct ipc_chan *ch, const void *buf, size_t len,
			int flags)
{
	/* with the RX end here, a rendezvous would wait for ourselves */
	if (!(flags & IPC_DONTWAIT) && !ch->open[IPC_RX] && len >= VMS_LEND_MIN)
		return vms_lend(ch, buf, len);
	return vms_copy(ch, buf, len, flags);
}

static ssize_t vms_recv(struct ipc_chan *ch, void *buf, size_t len, int flags)
{
	struct vms_shared *sh = ((struct vms *)ch->priv)->sh;
	ssize_t n = ipc_fd_recv(ch, buf, len, flags);
	unsigned long got;

	if (n <= 0)
		return n;
	got = atomic_fetch_add(&sh->consumed, (unsigned long)n) +
	      (unsigned long)n;
	/* the lender waits for the pipe to empty: wake it only then */
	if (atomic_load(&sh->tx_waiting) && got >= atomic_load(&sh->want) &&
	    atomic_exchange(&sh->tx_waiting, 0)) {
		atomic_fetch_add(&sh->rx_seq, 1);
		ipc_futex_wake(&sh->rx_seq);
	}
	return n;
}

static void vms_destroy(struct ipc_chan *ch)
{
	struct vms *v = ch->priv;

	ipc_fd_destroy(ch);
	if (!v)
		return;
	/* pages still in a pipe someone holds stay alive: the pipe has
	 * references to them, munmap only drops ours */
	if (v->pool)
		(void)munmap(v->pool, v->pool_size);
	(void)munmap(v->sh, sizeof(*v->sh));
	free(v);
	ch->priv = NULL;
}

const struct ipc_transport ipc_vmsplice = {
	.name    = "vmsplice",
	.what    = "pipe fed with vmsplice(2) (pages, not copies), byte stream",
	.create  = vms_create,
	.send    = vms_send,
	.recv    = vms_recv,
	.stats   = ipc_pipe_stats,
	.destroy = vms_destroy,
};
