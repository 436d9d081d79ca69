/*
 * uring: the byte ring of ring.c in POSIX shared memory, like shm, whose
 * doorbell is an io_uring completion sent with IORING_OP_MSG_RING (Linux
 * 5.18) from the waker's io_uring into the waiter's. A byte stream like a
 * pipe: power-of-two capacity (64 KiB by default), EOF once the writer
 * hangs up, -EPIPE once the reader is gone. The object is
 * /dev/shm/ipcfs.<pid>.<n>.<token>.uring, mode 0600, kept while a visible
 * channel lives; the io_urings have no name.
 *
 * One io_uring per end. The holder of an end waits on its CQ and submits
 * on its SQ; to wake the other end it submits a MSG_RING (with
 * IOSQE_CQE_SKIP_SUCCESS, so nothing lands in its own CQ) aimed at the
 * other end's ring fd, which posts a CQE there. create() makes both in
 * one process; after fork() each process keeps its end's ring and holds
 * the other only as an fd to aim at (a dup: io_uring_queue_exit unmaps
 * the ring and closes its own fd). Two processes must never submit on one
 * ring: the SQ is memory both mapped, so the process that drops an end
 * it never used does not ring from it (see uring_wake).
 *
 * Waiting: io_uring_wait_cqe_timeout for at most 500 ms (a killed peer
 * sends nothing), then every CQE is consumed: one that came for nothing
 * costs one more look. A ring fd polls readable while CQEs are pending,
 * so in local mode the daemon's epoll loop watches it directly. Limits:
 * each ring's two pages count against RLIMIT_MEMLOCK unless the process
 * has CAP_IPC_LOCK (measured on 6.18): -ENOMEM past it, 512 channels in
 * 8 MiB; -EPERM where kernel.io_uring_disabled forbids io_uring; two fds
 * per channel more (RELIABILITY.md).
 */
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <unistd.h>

#include "ring.h"

#define URING_ENTRIES	8	/* one SQE in flight; CQEs: a few at most */

struct uring_bell {
	struct io_uring ring[2];	/* [end]: the holder's own */
	bool mapped[2];		/* ring[end] is mapped in this process */
	bool mine[2];		/* ... and this process may use it */
	int target[2];		/* ring[end]'s fd to aim at, or -1 */
};

/* aim a MSG_RING from ring[from] at target[to]: a CQE there */
static int uring_send(struct uring_bell *u, enum ipc_end from,
		      enum ipc_end to, unsigned sqe_flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring[from]);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_msg_ring(sqe, u->target[to], 0, 0, 0);
	sqe->flags |= sqe_flags;
	return io_uring_submit(&u->ring[from]);
}

/*
 * One MSG_RING between the two new rings, its result awaited: -EINVAL
 * from a kernel without it, rather than doorbells that never ring.
 */
static int uring_check(struct uring_bell *u)
{
	struct io_uring_cqe *cqe;
	int ret;

	ret = uring_send(u, IPC_TX, IPC_RX, 0);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&u->ring[IPC_TX], &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&u->ring[IPC_TX], cqe);
	io_uring_cq_advance(&u->ring[IPC_RX], io_uring_cq_ready(&u->ring[IPC_RX]));
	return ret < 0 ? ret : 0;
}

static void uring_close(struct ipc_chan *ch, void *bell)
{
	struct uring_bell *u = bell;

	(void)ch;
	for (int end = IPC_RX; end <= IPC_TX; end++) {
		if (u->mapped[end])
			io_uring_queue_exit(&u->ring[end]);
		else
			ipc_fd_close(&u->target[end]);
	}
	free(u);
}

static int uring_open(struct ipc_chan *ch, const struct ipc_opts *o,
		      void **bell)
{
	struct uring_bell *u = calloc(1, sizeof(*u));
	int err;

	(void)o;
	if (!u)
		return -ENOMEM;
	u->target[IPC_RX] = u->target[IPC_TX] = -1;
	for (int end = IPC_RX; end <= IPC_TX; end++) {
		/* -ENOMEM (memory, RLIMIT_MEMLOCK), -EMFILE, -EPERM
		 * (io_uring_disabled), -ENOSYS */
		err = io_uring_queue_init(URING_ENTRIES, &u->ring[end], 0);
		if (err < 0)
			goto err_close;
		u->mapped[end] = u->mine[end] = true;
		u->target[end] = u->ring[end].ring_fd;
	}
	err = uring_check(u);
	if (err < 0)
		goto err_close;
	*bell = u;
	return 0;

err_close:
	uring_close(ch, u);
	return err;
}

/*
 * Ring `end` from the other end's ring, which must be ours alone: not
 * when we still hold `end` but let go of the other (ipc_keep_end(end)
 * after fork: the other process submits on that ring, and nobody here
 * sleeps on `end` while we run this).
 */
static void uring_wake(struct ipc_chan *ch, void *bell, enum ipc_end end,
		       atomic_uint *word)
{
	struct uring_bell *u = bell;
	enum ipc_end from = end == IPC_RX ? IPC_TX : IPC_RX;

	(void)word;
	if (!u->mine[from] || u->target[end] < 0)
		return;
	if (ch->open[end] && !ch->open[from])
		return;
	(void)uring_send(u, from, end, IOSQE_CQE_SKIP_SUCCESS);
}

static void uring_drain(struct ipc_chan *ch, void *bell, enum ipc_end end)
{
	struct uring_bell *u = bell;

	(void)ch;
	if (u->mine[end])
		io_uring_cq_advance(&u->ring[end],
				    io_uring_cq_ready(&u->ring[end]));
}

static int uring_sleep(struct ipc_chan *ch, void *bell, enum ipc_end end,
		       atomic_uint *word, unsigned seen, long timeout_ns)
{
	struct uring_bell *u = bell;
	struct __kernel_timespec ts = { timeout_ns / 1000000000L,
					timeout_ns % 1000000000L };
	struct io_uring_cqe *cqe;
	int ret;

	(void)word;
	(void)seen;
	if (!u->mine[end])
		return -EBADF;
	ret = io_uring_wait_cqe_timeout(&u->ring[end], &cqe, &ts);
	if (ret < 0 && ret != -ETIME)
		return ret;	/* -EINTR */
	uring_drain(ch, bell, end);
	return ret == -ETIME;
}

static int uring_poll_fd(const struct ipc_chan *ch, const void *bell,
			 enum ipc_end end)
{
	const struct uring_bell *u = bell;

	(void)ch;
	return u->mine[end] ? u->ring[end].ring_fd : -1;
}

/*
 * This process lets go of `end`: unmap its ring, but keep an fd to aim
 * at while we hold the other end. Should the dup fail, the ring stays
 * mapped (unused) so that its own fd can be aimed at.
 */
static void uring_drop(struct ipc_chan *ch, void *bell, enum ipc_end end)
{
	struct uring_bell *u = bell;
	enum ipc_end other = end == IPC_RX ? IPC_TX : IPC_RX;
	int fd = -1;

	if (!u->mine[end])
		return;
	u->mine[end] = false;
	if (ch->open[other]) {
		fd = fcntl(u->ring[end].ring_fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return;
	}
	io_uring_queue_exit(&u->ring[end]);
	u->mapped[end] = false;
	u->target[end] = fd;
}

static const struct ipc_ring_bell uring_bell = {
	.name    = "msg_ring",
	.open    = uring_open,
	.wake    = uring_wake,
	.sleep   = uring_sleep,
	.poll_fd = uring_poll_fd,
	.drain   = uring_drain,
	.drop    = uring_drop,
	.close   = uring_close,
};

static int uring_open_memory(struct ipc_chan *ch, const struct ipc_opts *o)
{
	(void)o;
	return ipc_shm_open_new(ch, "uring");
}

static const struct ipc_ring_backing uring_backing = {
	.open   = uring_open_memory,
	.remove = ipc_shm_remove,
};

static int uring_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	return ipc_ring_create(ch, o, &uring_backing, &uring_bell);
}

const struct ipc_transport ipc_uring = {
	.name      = "uring",
	.what      = "shm_open(3) memory, SPSC byte ring, io_uring MSG_RING",
	.create    = uring_create,
	IPC_RING_OPS,
};
