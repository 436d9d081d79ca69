/*
 * sysvmsg: a System V message queue (msgget/msgsnd/msgrcv, svipc(7)),
 * mode 0600, keyed by a marker in the runtime dir (sysv.h) so that a
 * later ipcfs removes what a killed one left. The object is the queue id
 * as `ipcs -q` shows it. Boundaries kept, FIFO order: every message of
 * ours has mtype SYSVMSG_TYPE (1); a message of another mtype, or bigger
 * than max_msg, can only come from an outsider and is dropped and counted
 * (ch->dropped). Messages up to kernel.msgmax (8192 by default; -EMSGSIZE
 * above, never clamped); capacity msg_qbytes, kernel.msgmnb by default
 * (16384). The hang-up is a zero-length message.
 *
 * Waiting. A queue has no fd. A blocking call blocks in msgrcv/msgsnd.
 * For the readiness fds (the daemon's epoll loop) each end has a helper
 * thread with an eventfd, started in the process that first needs it:
 *  - RX, the doorbell: blocks in msgrcv(msgsz 0, any mtype), which fails
 *    with E2BIG as soon as a message waits and leaves it queued; it rings
 *    the eventfd and sleeps until recv() re-arms it on ENOMSG. recv()
 *    itself always takes the message, so nothing is held in user space.
 *  - TX, the sender: when msgsnd(IPC_NOWAIT) says the queue is full, send()
 *    accepts the message into a one-message slot and the thread blocks in
 *    msgsnd with it; it empties the slot and rings when the kernel took it,
 *    whoever made the room (our recv or an outsider's msgrcv).
 * docs/DESIGN.md, "sysvmsg", has the hand-off and the measured latency.
 *
 * Ends and fork (not local mode). A socketpair, the link, stands for the
 * two ends as in ring.c: a process holding one end runs a watchdog thread
 * that sees the other end's last holder go. A gone writer gets a hang-up
 * sent on its behalf (the reader's msgrcv wakes: EOF); a gone reader's
 * queue is removed (the writer's msgsnd wakes: -EPIPE). Helper threads
 * belong to the process that started them; a forked child starts its own.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sysv.h"
#include "transport.h"

#define SYSVMSG_TYPE	1L		/* mtype of data and hang-up */
#define SYSVMSG_STACK	(256u << 10)	/* helper threads need little */
#define SYSVMSG_HUP_MS	1000		/* hangup(): wait for room this long */
#define SYSVMSG_STRAYS	64		/* strays dropped per recv() at most */
#define SYSVMSG_LOCK_MS	1000		/* let_go(): the marker's lock, at most */

struct sysvmsg_buf {
	long mtype;
	char text[];
};

static const struct sysvmsg_buf sysvmsg_hup = { .mtype = SYSVMSG_TYPE };

/*
 * A helper thread of one process. `busy` and the eventfd's counter change
 * together under `lock`: RX, busy means armed and the counter is 1 once a
 * message waits; TX, busy means the slot is full and the counter is 1
 * while it is empty. So the fd is level-triggered and never stale.
 */
struct helper {
	unsigned life;		/* ipc_life() of its process; 0: none */
	bool running;		/* the thread was started */
	bool busy, stop, failed;
	int efd;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct sysvmsg {
	int qid;
	bool local;
	struct ipc_sysv name;
	size_t max_msg;
	struct sysvmsg_buf *rbuf;	/* max_msg + 1: oversize shows */
	struct sysvmsg_buf *tbuf;	/* the TX slot, and direct sends */
	size_t tlen;		/* bytes in the TX slot */
	struct helper bell, sender;
	unsigned watch_life;	/* the watchdog's process; 0: none */
	enum ipc_end watch_end;	/* the end it holds */
	pthread_t watchdog;
	/* what the threads hand to the kernel lives here, not on their
	 * stacks: a cancelled frame is unwound without ASan unpoisoning it */
	struct { long mtype; char c[1]; } peek;	/* the doorbell's msgrcv */
	struct pollfd watch;			/* the watchdog's poll */
	atomic_ulong strays;	/* dropped by the doorbell */
	atomic_bool hup;	/* the doorbell took a hang-up (not local) */
	atomic_bool gone;	/* the queue was removed: the reader left */
};

static void ring_efd(int efd, bool on)
{
	uint64_t v = 1;

	if (on)
		(void)!write(efd, &v, sizeof(v));
	else
		(void)!read(efd, &v, sizeof(v));
}

/*
 * Threads start with every signal blocked (the caller's handlers and the
 * signal transport's signalfd stay the main thread's business) and with
 * cancellation off except inside the one blocking call of each loop.
 */
static int spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int err;

	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	(void)pthread_attr_setstacksize(&attr, SYSVMSG_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	/* EAGAIN is RLIMIT_NPROC or the like here, not "would block" */
	return err == EAGAIN ? -ENOMEM : -err;
}

static void cancel_off(void)
{
	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
}

static void cancel_on(void)
{
	(void)pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
}

/* this process's helper: its eventfd made (counter `ready`), no thread */
static int helper_get(struct helper *h, bool ready)
{
	if (h->life == ipc_life())
		return 0;
	/* a copy from the parent: its thread is not here, its fd is ours */
	if (h->life)
		(void)close(h->efd);
	memset(h, 0, sizeof(*h));
	h->efd = eventfd(ready, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->efd < 0)
		return -errno;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->life = ipc_life();
	return 0;
}

static int helper_start(struct helper *h, bool ready, void *(*fn)(void *),
			void *arg)
{
	int err = helper_get(h, ready);

	if (err < 0 || h->running)
		return err;
	err = spawn(&h->thread, fn, arg);
	h->running = err == 0;
	return err;
}

/* stop and join this process's thread; the eventfd goes too */
static void helper_stop(struct helper *h)
{
	if (h->life != ipc_life()) {
		/* a forked copy: only the eventfd is ours */
		if (h->life)
			(void)close(h->efd);
		h->life = 0;
		return;
	}
	if (h->running) {
		pthread_mutex_lock(&h->lock);
		h->stop = true;
		pthread_cond_signal(&h->cond);
		pthread_mutex_unlock(&h->lock);
		pthread_cancel(h->thread);
		pthread_join(h->thread, NULL);
	}
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	(void)close(h->efd);
	memset(h, 0, sizeof(*h));
}

/* sleep until busy (the main thread handed work over) or stop */
static bool helper_wait(struct helper *h)
{
	bool stop;

	pthread_mutex_lock(&h->lock);
	while (!h->busy && !h->stop)
		pthread_cond_wait(&h->cond, &h->lock);
	stop = h->stop;
	pthread_mutex_unlock(&h->lock);
	return !stop;
}

/* the work is done (or failed): busy off, the eventfd rung */
static void helper_done(struct helper *h, bool failed)
{
	pthread_mutex_lock(&h->lock);
	h->busy = false;
	h->failed |= failed;
	ring_efd(h->efd, true);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static bool helper_busy(struct helper *h)
{
	bool busy;

	if (h->life != ipc_life())
		return false;
	pthread_mutex_lock(&h->lock);
	busy = h->busy;
	pthread_mutex_unlock(&h->lock);
	return busy;
}

/* RX doorbell: see the head comment */
static void *bell_main(void *arg)
{
	struct sysvmsg *s = arg;
	ssize_t n;

	cancel_off();
	while (helper_wait(&s->bell)) {
		cancel_on();
		n = msgrcv(s->qid, &s->peek, 0, 0, 0);
		cancel_off();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* E2BIG: a message waits; else the queue is gone */
			bool gone = errno != E2BIG;

			helper_done(&s->bell, gone);
			if (gone)
				break;
		} else if (!s->local && s->peek.mtype == SYSVMSG_TYPE) {
			/* it took a hang-up, after everything before it */
			atomic_store(&s->hup, true);
			helper_done(&s->bell, false);
		} else {
			atomic_fetch_add(&s->strays, 1);
		}
	}
	return NULL;
}

/* TX sender: the slot's message, sent as soon as the queue has room */
static void *sender_main(void *arg)
{
	struct sysvmsg *s = arg;
	int ret;

	cancel_off();
	while (helper_wait(&s->sender)) {
		cancel_on();
		ret = msgsnd(s->qid, s->tbuf, s->tlen, 0);
		cancel_off();
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			atomic_store(&s->gone, true);
		helper_done(&s->sender, ret < 0);
		if (ret < 0)
			break;
	}
	return NULL;
}

/* remove the queue if it is still the one we made; then the marker */
static void remove_queue(struct sysvmsg *s)
{
	struct msqid_ds ds;

	if (msgctl(s->qid, IPC_STAT, &ds) == 0 &&
	    ds.msg_perm.__key == s->name.key)
		(void)msgctl(s->qid, IPC_RMID, NULL);
	ipc_sysv_forget(&s->name);
}

/*
 * The watchdog: the link's other socket closed, so every holder of the
 * other end is gone, by close or by death. Nothing is ever sent on the
 * link, so POLLIN here is that hang-up.
 */
static void *watch_main(void *arg)
{
	struct sysvmsg *s = arg;
	int ret;

	cancel_off();
	do {
		cancel_on();
		ret = poll(&s->watch, 1, -1);
		cancel_off();
	} while (ret < 0 && errno == EINTR);
	if (s->watch_end == IPC_TX) {
		/* the reader left: a blocked msgsnd wakes with EIDRM */
		atomic_store(&s->gone, true);
		remove_queue(s);
		return NULL;
	}
	/* the writer left, maybe killed: its hang-up, after its data */
	do {
		cancel_on();
		ret = msgsnd(s->qid, &sysvmsg_hup, 0, 0);
		cancel_off();
	} while (ret < 0 && errno == EINTR);
	return NULL;
}

/* not local mode, one end held here: watch the other (once per process) */
static void watch_start(struct ipc_chan *ch)
{
	struct sysvmsg *s = ch->priv;
	enum ipc_end end = ch->open[IPC_RX] ? IPC_RX : IPC_TX;

	if (s->local || s->watch_life == ipc_life() ||
	    ch->open[IPC_RX] == ch->open[IPC_TX] || ch->fd[end] < 0)
		return;
	s->watch_end = end;
	s->watch = (struct pollfd){ .fd = ch->fd[end], .events = POLLIN };
	if (spawn(&s->watchdog, watch_main, s) == 0)
		s->watch_life = ipc_life();
}

static void watch_stop(struct sysvmsg *s)
{
	if (s->watch_life != ipc_life())
		return;
	pthread_cancel(s->watchdog);
	pthread_join(s->watchdog, NULL);
	s->watch_life = 0;
}

static int queue_get(key_t key, void *arg)
{
	int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);

	(void)arg;
	return id < 0 ? -errno : id;
}

/*
 * msg_qbytes = the capacity wished for, at least one whole message.
 * Above kernel.msgmnb the kernel wants CAP_SYS_RESOURCE: local mode keeps
 * what it has (stats show it), otherwise -EPERM.
 */
static int queue_size(struct sysvmsg *s, const struct ipc_opts *o)
{
	struct msqid_ds ds;
	size_t want = o->capacity;

	if (msgctl(s->qid, IPC_STAT, &ds) < 0)
		return -errno;
	if (want && want < s->max_msg)
		want = s->max_msg;
	if (!want && ds.msg_qbytes < s->max_msg)
		want = s->max_msg;
	if (want && want != ds.msg_qbytes) {
		ds.msg_qbytes = want;
		if (msgctl(s->qid, IPC_SET, &ds) < 0 &&
		    (errno != EPERM || !o->local))
			return -errno;
		if (msgctl(s->qid, IPC_STAT, &ds) < 0)
			return -errno;
	}
	/* a message of max_msg must fit, or it would wait forever */
	return ds.msg_qbytes < s->max_msg ? -EMSGSIZE : 0;
}

static int sysvmsg_alloc(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct sysvmsg *s = calloc(1, sizeof(*s));
	long msgmax = ipc_sysctl_long("/proc/sys/kernel/msgmax", 8192);

	if (!s)
		return -ENOMEM;
	ch->priv = s;
	s->qid = -1;
	s->local = o->local;
	if (o->max_msg > (size_t)msgmax)
		return -EMSGSIZE;
	s->max_msg = o->max_msg ? o->max_msg : (size_t)msgmax;
	s->rbuf = malloc(sizeof(*s->rbuf) + s->max_msg + 1);
	s->tbuf = malloc(sizeof(*s->tbuf) + s->max_msg);
	if (!s->rbuf || !s->tbuf)
		return -ENOMEM;
	s->tbuf->mtype = SYSVMSG_TYPE;
	return 0;
}

static void sysvmsg_free(struct ipc_chan *ch)
{
	struct sysvmsg *s = ch->priv;

	if (!s)
		return;
	free(s->rbuf);
	free(s->tbuf);
	free(s);
	ch->priv = NULL;
}

static int sysvmsg_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct sysvmsg *s;
	int err = sysvmsg_alloc(ch, o);

	s = ch->priv;
	if (err < 0)
		goto fail;
	/* msgmni reached: msgget says ENOSPC, and so do we */
	s->qid = ipc_sysv_create(&s->name, o, "sysvmsg", queue_get, NULL);
	if (s->qid < 0) {
		err = s->qid;
		goto fail;
	}
	err = queue_size(s, o);
	if (!err && !o->local &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch->fd) < 0)
		err = -errno;
	if (err < 0)
		goto fail_queue;
	ch->max_msg = s->max_msg;
	snprintf(ch->object, sizeof(ch->object), "%d", s->qid);
	return 0;

fail_queue:
	(void)msgctl(s->qid, IPC_RMID, NULL);
	ipc_sysv_forget(&s->name);
fail:
	sysvmsg_free(ch);
	return err;
}

/* a queue removed under us: by the reader's side, or by a user's ipcrm */
static int removed(int err)
{
	return err == EIDRM || err == EINVAL ? -EIDRM : -err;
}

/* wait for a helper's eventfd; -EINTR when a signal handler ran */
static int wait_efd(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };

	return poll(&p, 1, -1) < 0 ? -errno : 0;
}

/* hand a message the full queue refused to the sender thread */
static ssize_t hand_over(struct sysvmsg *s, size_t len)
{
	int err = helper_start(&s->sender, true, sender_main, s);

	if (err < 0)
		return err;
	pthread_mutex_lock(&s->sender.lock);
	s->tlen = len;
	s->sender.busy = true;
	ring_efd(s->sender.efd, false);
	pthread_cond_signal(&s->sender.cond);
	pthread_mutex_unlock(&s->sender.lock);
	return (ssize_t)len;
}

static ssize_t sysvmsg_send(struct ipc_chan *ch, const void *buf, size_t len,
			    int flags)
{
	struct sysvmsg *s = ch->priv;
	int err;

	if (!(flags & IPC_DONTWAIT))
		watch_start(ch);
	/* the slot's message goes first: FIFO */
	while (helper_busy(&s->sender)) {
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
		err = wait_efd(s->sender.efd);
		if (err < 0)
			return err;
	}
	if (atomic_load(&s->gone))
		return -EPIPE;
	memcpy(s->tbuf->text, buf, len);
	if (msgsnd(s->qid, s->tbuf, len,
		   flags & IPC_DONTWAIT ? IPC_NOWAIT : 0) == 0)
		return (ssize_t)len;
	if (errno == EAGAIN) {
		/* a thread may now wait on the reader: see that it lives */
		watch_start(ch);
		return hand_over(s, len);
	}
	err = removed(errno);
	/* the reader's side removes the queue when it leaves: a pipe's EPIPE */
	return err == -EIDRM && !s->local ? -EPIPE : err;
}

/* arm the doorbell after ENOMSG: it rings once a message waits */
static int bell_arm(struct sysvmsg *s)
{
	int err = helper_start(&s->bell, false, bell_main, s);

	if (err < 0)
		return err;
	pthread_mutex_lock(&s->bell.lock);
	if (!s->bell.busy && !s->bell.failed) {
		ring_efd(s->bell.efd, false);
		s->bell.busy = true;
		pthread_cond_signal(&s->bell.cond);
	}
	pthread_mutex_unlock(&s->bell.lock);
	return 0;
}

/*
 * One msgrcv: the length of an SYSVMSG_TYPE message of at most max_msg,
 * 1 + max_msg for one to drop, or -errno. Any mtype is taken, so that an
 * outsider's stray cannot sit at the head of the queue for ever.
 */
static ssize_t take(struct sysvmsg *s, bool wait)
{
	ssize_t n = msgrcv(s->qid, s->rbuf, s->max_msg + 1, 0,
			   MSG_NOERROR | (wait ? 0 : IPC_NOWAIT));

	if (n < 0)
		return errno == EINTR || errno == ENOMSG ? -errno :
			removed(errno);
	if (s->rbuf->mtype != SYSVMSG_TYPE)
		return (ssize_t)s->max_msg + 1;
	return n;
}

/* wait with the doorbell, armed already or now */
static ssize_t take_or_arm(struct ipc_chan *ch, int flags)
{
	struct sysvmsg *s = ch->priv;
	ssize_t n = take(s, false);
	int err;

	if (n != -ENOMSG)
		return n;
	/* the doorbell took the hang-up that was the last message */
	if (!s->local && atomic_load(&s->hup))
		return 0;
	err = bell_arm(s);
	if (err < 0)
		return err;
	/* a writer killed now must still wake the doorbell: its hang-up */
	watch_start(ch);
	if (flags & IPC_DONTWAIT)
		return -EAGAIN;
	err = wait_efd(s->bell.efd);
	return err < 0 ? err : -ENOMSG;
}

static ssize_t sysvmsg_recv(struct ipc_chan *ch, void *buf, size_t len,
			    int flags)
{
	struct sysvmsg *s = ch->priv;
	ssize_t n;

	(void)len;	/* ipc_recv made sure of max_msg */
	for (int strays = 0;; ) {
		/* a plain blocking msgrcv unless the doorbell runs here */
		if (!(flags & IPC_DONTWAIT) && s->bell.life != ipc_life()) {
			watch_start(ch);
			n = take(s, true);
		} else {
			n = take_or_arm(ch, flags);
		}
		/* local mode: an empty message is an outsider's too */
		if (n == 0 && s->local)
			n = (ssize_t)s->max_msg + 1;
		if (n != (ssize_t)s->max_msg + 1 && n != -ENOMSG)
			break;
		if (n < 0)
			continue;
		atomic_fetch_add(&s->strays, 1);
		/* an endless flood of strays must not keep the daemon here:
		 * come back when the loop has looked at everyone else */
		if ((flags & IPC_DONTWAIT) && ++strays == SYSVMSG_STRAYS) {
			n = bell_arm(s);
			if (n == 0)
				n = -EAGAIN;
			break;
		}
	}
	ch->dropped += atomic_exchange(&s->strays, 0);
	/* not local: only the last one out removes it, so it is over */
	if (n == -EIDRM && !s->local)
		n = 0;
	if (n > 0)
		memcpy(buf, s->rbuf->text, (size_t)n);
	return n;
}

/* the hang-up: after the slot's message, an empty one; room for 1 s */
static void sysvmsg_hangup(struct ipc_chan *ch)
{
	struct sysvmsg *s = ch->priv;
	struct timespec nap = { 0, 1000 * 1000 };

	for (int ms = 0; ms < SYSVMSG_HUP_MS; ms++) {
		if (!helper_busy(&s->sender) &&
		    (msgsnd(s->qid, &sysvmsg_hup, 0, IPC_NOWAIT) == 0 ||
		     errno != EAGAIN))
			return;
		nanosleep(&nap, NULL);
	}
}

static int sysvmsg_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
			   short *events)
{
	struct sysvmsg *s = ch->priv;
	struct helper *h = end == IPC_RX ? &s->bell : &s->sender;

	*events = POLLIN;
	return helper_get(h, end == IPC_TX) < 0 ? -1 : h->efd;
}

/* local mode: nothing of ours in the slot nor in the queue */
static bool sysvmsg_drained(const struct ipc_chan *ch)
{
	struct sysvmsg *s = ch->priv;
	struct msqid_ds ds;

	if (helper_busy(&s->sender))
		return false;
	return msgctl(s->qid, IPC_STAT, &ds) < 0 || ds.msg_qnum == 0;
}

/* send() takes a message whenever the slot is free */
static bool sysvmsg_writable(const struct ipc_chan *ch)
{
	struct sysvmsg *s = ch->priv;

	return !helper_busy(&s->sender) && !atomic_load(&s->gone);
}

static void sysvmsg_stats(const struct ipc_chan *ch,
			  struct ipc_chan_stats *st)
{
	struct sysvmsg *s = ch->priv;
	struct msqid_ds ds;
	bool slot = helper_busy(&s->sender);

	if (msgctl(s->qid, IPC_STAT, &ds) < 0)
		return;
	st->queued_msgs = (long)ds.msg_qnum + slot;
	st->queued_bytes = (long)ds.__msg_cbytes + (slot ? (long)s->tlen : 0);
	st->capacity = (long)ds.msg_qbytes;
}

/*
 * The link: has every holder of the other end let go (closed or died)?
 * Nothing is ever sent on it, so readable means that hang-up.
 */
static bool other_gone(const struct ipc_chan *ch, enum ipc_end end)
{
	struct pollfd p = { .fd = ch->fd[end], .events = POLLIN };

	return p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/*
 * The marker's lock, tried every millisecond for SYSVMSG_LOCK_MS: its
 * holders hold it for a look, but any process of the user may open the
 * marker and hold it for good, and a close must not wait for that: then
 * the caller goes on without it.
 */
static void lock_marker(int fd)
{
	const struct timespec ms = { .tv_nsec = 1000 * 1000 };

	for (int i = 0; i < SYSVMSG_LOCK_MS; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			return;
		(void)nanosleep(&ms, NULL);
	}
}

/*
 * Let go of the link socket of `end`; the last one out removes the queue.
 * Under a lock on the marker, so that two processes letting go of the two
 * ends at once cannot each see the other still there: the second to take
 * the lock sees the first's socket closed. No marker: the queue is gone.
 * The lock held elsewhere for too long, the look goes on without it.
 */
static void let_go(struct ipc_chan *ch, enum ipc_end end)
{
	struct sysvmsg *s = ch->priv;
	int lock = open(s->name.marker, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool gone = lock < 0 && errno == ENOENT;

	if (lock >= 0)
		lock_marker(lock);
	if (!gone && other_gone(ch, end))
		remove_queue(s);
	ipc_fd_close(&ch->fd[end]);
	if (lock >= 0)
		close(lock);
}

/*
 * Drop this process's hold on an end: its helper thread, its link socket.
 * Not local mode, the last one out removes the queue: a process letting
 * go of an end after every holder of the other end did, whichever end.
 */
static void sysvmsg_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct sysvmsg *s = ch->priv;

	watch_stop(s);
	helper_stop(end == IPC_RX ? &s->bell : &s->sender);
	if (s->local)
		ipc_fd_close(&ch->fd[end]);
	else
		let_go(ch, end);
}

static void sysvmsg_destroy(struct ipc_chan *ch)
{
	struct sysvmsg *s = ch->priv;

	if (!s)
		return;
	/* threads first: cancelled, even in msgrcv or msgsnd */
	watch_stop(s);
	helper_stop(&s->bell);
	helper_stop(&s->sender);
	/* both ends here (local mode, or never shared): nobody is left */
	if (s->local || (ch->fd[IPC_RX] >= 0 && ch->fd[IPC_TX] >= 0))
		remove_queue(s);
	else if (ch->fd[IPC_RX] >= 0 || ch->fd[IPC_TX] >= 0)
		let_go(ch, ch->fd[IPC_RX] >= 0 ? IPC_RX : IPC_TX);
	ipc_fd_destroy(ch);
	sysvmsg_free(ch);
}

const struct ipc_transport ipc_sysvmsg = {
	.name      = "sysvmsg",
	.what      = "System V message queue, messages",
	.caps      = IPC_MESSAGES,
	.create    = sysvmsg_create,
	.close_end = sysvmsg_close_end,
	.hangup    = sysvmsg_hangup,
	.send      = sysvmsg_send,
	.recv      = sysvmsg_recv,
	.wait_fd   = sysvmsg_wait_fd,
	.drained   = sysvmsg_drained,
	.writable  = sysvmsg_writable,
	.stats     = sysvmsg_stats,
	.destroy   = sysvmsg_destroy,
};
