/*
 * eventfd: the byte ring of ring.c in POSIX shared memory, like shm, with
 * an eventfd(2) per end for its doorbell, the way vhost and virtio kick a
 * queue: the waker adds 1, the sleeper polls the eventfd and reads the
 * counter. A byte stream like a pipe: power-of-two capacity (64 KiB by
 * default), EOF once the writer hangs up, -EPIPE once the reader is gone.
 * The object is /dev/shm/ipcfs.<pid>.<n>.<token>.eventfd, mode 0600, kept
 * while a visible channel lives, removed at once otherwise; the eventfds
 * have no name.
 *
 * Waiting: a sleeper polls its end's eventfd and its link socket (so a
 * peer killed without closing is seen at once, not after the 500 ms a
 * futex sleeper waits), then reads the counter whole: a ring that came
 * for nothing costs one more look, never a lost one. A poller polls the
 * eventfd itself in local mode (the daemon's epoll loop watches it), else
 * an epoll set of it and the link socket (ring.c).
 */
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ring.h"

struct efd_bell {
	int fd[2];	/* [end]: rung when that end may progress */
};

static int efd_open(struct ipc_chan *ch, const struct ipc_opts *o,
		    void **bell)
{
	struct efd_bell *b = malloc(sizeof(*b));
	int err;

	(void)ch;
	(void)o;
	if (!b)
		return -ENOMEM;
	b->fd[IPC_RX] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b->fd[IPC_TX] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->fd[IPC_RX] < 0 || b->fd[IPC_TX] < 0) {
		err = -errno;
		ipc_fd_close(&b->fd[IPC_RX]);
		ipc_fd_close(&b->fd[IPC_TX]);
		free(b);
		return err;
	}
	*bell = b;
	return 0;
}

static void efd_wake(struct ipc_chan *ch, void *bell, enum ipc_end end,
		     atomic_uint *word)
{
	struct efd_bell *b = bell;
	uint64_t one = 1;

	(void)ch;
	(void)word;
	/* EAGAIN only at a counter of 2^64 - 2: it is readable anyway */
	(void)!write(b->fd[end], &one, sizeof(one));
}

static void efd_drain(struct ipc_chan *ch, void *bell, enum ipc_end end)
{
	struct efd_bell *b = bell;
	uint64_t n;

	(void)ch;
	(void)!read(b->fd[end], &n, sizeof(n));
}

static int efd_sleep(struct ipc_chan *ch, void *bell, enum ipc_end end,
		     atomic_uint *word, unsigned seen, long timeout_ns)
{
	struct efd_bell *b = bell;
	/* events 0 on the link: only its POLLHUP, a peer gone */
	struct pollfd p[2] = {
		{ .fd = b->fd[end], .events = POLLIN },
		{ .fd = ch->fd[end], .events = 0 },
	};

	int n;

	(void)word;
	(void)seen;
	n = poll(p, 2, (int)(timeout_ns / 1000000));
	if (n < 0)
		return -errno;
	if (p[0].revents & POLLIN)
		efd_drain(ch, bell, end);
	return n == 0;
}

static int efd_poll_fd(const struct ipc_chan *ch, const void *bell,
		       enum ipc_end end)
{
	const struct efd_bell *b = bell;

	(void)ch;
	return b->fd[end];
}

/* both stay to the end: a process rings the other end's */
static void efd_close(struct ipc_chan *ch, void *bell)
{
	struct efd_bell *b = bell;

	(void)ch;
	ipc_fd_close(&b->fd[IPC_RX]);
	ipc_fd_close(&b->fd[IPC_TX]);
	free(b);
}

static const struct ipc_ring_bell efd_bell = {
	.name    = "eventfd",
	.open    = efd_open,
	.wake    = efd_wake,
	.sleep   = efd_sleep,
	.poll_fd = efd_poll_fd,
	.drain   = efd_drain,
	.close   = efd_close,
};

static int efd_open_memory(struct ipc_chan *ch, const struct ipc_opts *o)
{
	(void)o;
	return ipc_shm_open_new(ch, "eventfd");
}

static const struct ipc_ring_backing efd_backing = {
	.open   = efd_open_memory,
	.remove = ipc_shm_remove,
};

static int efd_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	return ipc_ring_create(ch, o, &efd_backing, &efd_bell);
}

const struct ipc_transport ipc_eventfd = {
	.name      = "eventfd",
	.what      = "shm_open(3) memory, SPSC byte ring, eventfd doorbells",
	.create    = efd_create,
	IPC_RING_OPS,
};
