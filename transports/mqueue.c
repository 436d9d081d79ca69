/*
 * mqueue: a POSIX message queue (mq_overview(7)), named
 * /ipcfs.<pid>.<n>.<token>.mq and visible as /dev/mqueue/ipcfs.<pid>.<n>.<token>.mq while
 * the channel is visible. Boundaries kept, FIFO order (every message has
 * priority 0). Capacity: mq_maxmsg messages of mq_msgsize bytes; the
 * defaults come from /proc/sys/fs/mqueue (10 x 8192 here); a bigger
 * message size needs privilege (CAP_SYS_RESOURCE) or -EMSGSIZE. The
 * hang-up is an empty message. Each end has its own descriptor, so that
 * O_NONBLOCK can differ between them, and a descriptor polls like an fd.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <time.h>

#include "transport.h"

static int mq_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct mq_attr attr = { 0 };
	char name[64];
	int err;

	attr.mq_msgsize = o->max_msg ? (long)o->max_msg :
		ipc_sysctl_long("/proc/sys/fs/mqueue/msgsize_default", 8192);
	attr.mq_maxmsg = ipc_sysctl_long("/proc/sys/fs/mqueue/msg_default", 10);
	if (o->capacity) {
		attr.mq_maxmsg = (long)(o->capacity / attr.mq_msgsize);
		if (attr.mq_maxmsg < 1)
			attr.mq_maxmsg = 1;
	}
	ipc_unique_name(name + 1, sizeof(name) - 1, "mq");
	name[0] = '/';
	ch->fd[IPC_RX] = mq_open(name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				 0600, &attr);
	if (ch->fd[IPC_RX] < 0) {
		/* a message size over the limit shows up as EINVAL */
		if (errno == EINVAL && o->max_msg)
			return -EMSGSIZE;
		return -errno;
	}
	ch->fd[IPC_TX] = mq_open(name, O_WRONLY | O_CLOEXEC);
	if (ch->fd[IPC_TX] < 0) {
		err = -errno;
		(void)mq_close(ch->fd[IPC_RX]);
		(void)mq_unlink(name);
		return err;
	}
	if (!o->visible)
		(void)mq_unlink(name);
	ch->max_msg = attr.mq_msgsize;
	snprintf(ch->object, sizeof(ch->object), "/dev/mqueue%s", name);
	return 0;
}

/* O_NONBLOCK lives in the open description: set it only when it changes */
static int mq_mode(struct ipc_chan *ch, enum ipc_end end, int flags)
{
	struct mq_attr attr = { 0 };
	unsigned bit = 1u << end;
	bool want = flags & IPC_DONTWAIT;

	if (!!(ch->nonblock & bit) == want)
		return 0;
	attr.mq_flags = want ? O_NONBLOCK : 0;
	if (mq_setattr(ch->fd[end], &attr, NULL) < 0)
		return -errno;
	ch->nonblock ^= bit;
	return 0;
}

static ssize_t mq_send_msg(struct ipc_chan *ch, const void *buf, size_t len,
			   int flags)
{
	int err = mq_mode(ch, IPC_TX, flags);

	if (err < 0)
		return err;
	if (mq_send(ch->fd[IPC_TX], buf, len, 0) < 0)
		return -errno;
	return (ssize_t)len;
}

static ssize_t mq_recv_msg(struct ipc_chan *ch, void *buf, size_t len,
			   int flags)
{
	int err = mq_mode(ch, IPC_RX, flags);
	ssize_t n;

	if (err < 0)
		return err;
	n = mq_receive(ch->fd[IPC_RX], buf, len, NULL);
	return n < 0 ? -errno : n;
}

/* the hang-up: an empty message, waiting at most a second for room */
static void mq_hangup(struct ipc_chan *ch)
{
	struct timespec deadline;

	if (mq_mode(ch, IPC_TX, 0) < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	(void)mq_timedsend(ch->fd[IPC_TX], "", 0, 0, &deadline);
}

static void mq_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	struct mq_attr attr;
	int fd = ch->fd[IPC_RX] >= 0 ? ch->fd[IPC_RX] : ch->fd[IPC_TX];

	if (fd < 0 || mq_getattr(fd, &attr) < 0)
		return;
	st->queued_msgs = attr.mq_curmsgs;
	st->capacity = attr.mq_maxmsg * attr.mq_msgsize;
	/* the kernel counts messages, not bytes: none is none, whoever took
	 * them (an outsider reads the queue too); else our counts say */
	if (attr.mq_curmsgs == 0)
		st->queued_bytes = 0;
}

static void mq_destroy(struct ipc_chan *ch)
{
	if (ch->fd[IPC_RX] >= 0)
		(void)mq_close(ch->fd[IPC_RX]);
	if (ch->fd[IPC_TX] >= 0)
		(void)mq_close(ch->fd[IPC_TX]);
	ch->fd[IPC_RX] = ch->fd[IPC_TX] = -1;
	(void)mq_unlink(ch->object + sizeof("/dev/mqueue") - 1);
}

const struct ipc_transport ipc_mqueue = {
	.name      = "mqueue",
	.what      = "POSIX message queue, messages",
	.caps      = IPC_MESSAGES,
	.create    = mq_create,
	.hangup    = mq_hangup,
	.send      = mq_send_msg,
	.recv      = mq_recv_msg,
	.stats     = mq_stats,
	.destroy   = mq_destroy,
};
