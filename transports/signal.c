/*
 * signal: POSIX real-time signals, queued with sigqueue(2) and read with
 * signalfd(2). A message is one header signal (length, sequence tag) and
 * then ceil(len / 7) data signals; the 8-byte sigval of each carries a tag
 * byte and 7 payload bytes. All go on one signal number per channel, which
 * the kernel keeps in order. The tag lets the reader drop what is left of
 * a message whose sending was given up half-way (-EAGAIN, -EINTR), so a
 * message arrives whole or not at all. Boundaries kept; the hang-up is a
 * header of length 0.
 *
 * Limits. Each channel takes one number from SIGRTMIN..SIGRTMAX (31 with
 * glibc, fewer if the program uses some): about 30 channels per process,
 * -EAGAIN after that. Queued signals count against RLIMIT_SIGPENDING,
 * shared by all processes of the user: max_msg defaults to 64 KiB
 * (9364 signals) and create() says -EMSGSIZE for one that can never fit.
 * Capacity: signals in flight are counted in a page shared across fork();
 * a send waits (or says -EAGAIN) until the whole message fits under
 * ipc_opts.capacity (64 KiB of payload by default, at least max_msg),
 * and never counts on more signals than RLIMIT_SIGPENDING: a channel
 * alone then never fills the user's queue half-way through a message.
 * The queue may still be full of other channels' or processes' signals:
 * a send then waits, retrying every SIG_WAIT_NS, or says -EAGAIN and
 * arms a timerfd for that retry, which is the TX end's wait_fd (a poller
 * such as the daemon has nothing else to wake it: room comes back when
 * someone else's reader takes their signals).
 *
 * Where it lives: the receiving process's queue of pending signals;
 * ch->object names the number ("SIGRTMIN+2"). The receiver must have the
 * signal blocked in every thread: create() blocks it in the calling
 * thread (threads made later inherit that), so make channels before
 * starting threads (the daemon does). The number is set to SIG_IGN while
 * we own it, so a stray one never kills us; destroy() drains what is
 * still queued, unblocks it and frees it. After fork() the process
 * keeping the RX end publishes its pid in the shared page from
 * ipc_keep_end(); the sender must not send before that (the bench's
 * ready handshake sees to it): until then a send may say -EPIPE. Closing
 * the RX end clears the pid if it is this process's own, so a sender
 * hears -EPIPE once the reader is gone. The sender is filtered by pid and
 * SI_QUEUE, so a stray kill(1) is ignored.
 */
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "frame.h"
#include "transport.h"

#define SIG_CHUNK	IPC_SIG_CHUNK
#define SIG_DEFAULT_MAX	(64u << 10)
#define SIG_DEFAULT_CAP	(64u << 10)
#define SIG_BATCH	64		/* signals per read(2) of signalfd */
#define SIG_WAIT_NS	(10 * 1000 * 1000L)

_Static_assert(sizeof(void *) == 8, "sigval carries 8 bytes");

/* shared by both sides of a fork */
struct sig_shared {
	atomic_int rx_pid;		/* where signals go; 0: reader gone */
	atomic_int tx_pid;		/* whose signals the reader takes */
	atomic_ulong sent_sigs, read_sigs;	/* in flight: the difference */
	atomic_ulong sent_bytes, recv_bytes, sent_msgs, recv_msgs;
	atomic_uint rx_seq;		/* futex: bumped as signals are read */
	atomic_uint tx_waiting;
};

struct sig_chan {
	struct sig_shared *sh;
	int signo;
	unsigned long cap_sigs;	/* signals allowed in flight */
	int timer;		/* TX: polls readable when a retry is due; -1 */
	bool timer_set;		/* set since the last send */
	size_t capacity;
	unsigned tx_tag;
	struct ipc_sig_rx rx;	/* reassembly, in the receiving process */
	bool eof;
	uint64_t stash[SIG_BATCH];	/* read past the end of a message */
	unsigned nstash, pos;
};

/* the process-wide allocator of signal numbers */
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t sig_taken;	/* bit n: SIGRTMIN + n belongs to a channel */
static uint64_t sig_ignored;	/* bit n: SIG_IGN is ours, not the program's */

/* a free real-time signal, blocked and ignored; -EAGAIN if none is left */
static int sig_alloc(void)
{
	struct sigaction sa;
	sigset_t blocked, one;
	int s, ret = -EAGAIN;

	pthread_mutex_lock(&sig_lock);
	(void)pthread_sigmask(SIG_BLOCK, NULL, &blocked);
	for (s = SIGRTMIN; s <= SIGRTMAX; s++) {
		uint64_t bit = 1ull << (s - SIGRTMIN);
		bool ours = sig_ignored & bit;

		if ((sig_taken & bit) || sigaction(s, NULL, &sa) < 0)
			continue;
		/* someone else's: a handler, or blocked for their sigwait */
		if (sa.sa_flags & SA_SIGINFO ||
		    sa.sa_handler != (ours ? SIG_IGN : SIG_DFL) ||
		    (!ours && sigismember(&blocked, s)))
			continue;
		sigemptyset(&one);
		sigaddset(&one, s);
		if (pthread_sigmask(SIG_BLOCK, &one, NULL) != 0)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		if (sigaction(s, &sa, NULL) < 0) {
			(void)pthread_sigmask(SIG_UNBLOCK, &one, NULL);
			continue;
		}
		sig_ignored |= bit;
		sig_taken |= bit;
		ret = s;
		break;
	}
	pthread_mutex_unlock(&sig_lock);
	return ret;
}

/* drop what is still queued on s, unblock it (it stays ignored), free it */
static void sig_free(int s)
{
	const struct timespec zero = { 0, 0 };
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t one;

	sigemptyset(&one);
	sigaddset(&one, s);
	while (sigtimedwait(&one, NULL, &zero) == s)
		;
	/* setting SIG_IGN discards anything still pending for s */
	(void)sigaction(s, &sa, NULL);
	(void)pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	pthread_mutex_lock(&sig_lock);
	sig_taken &= ~(1ull << (s - SIGRTMIN));
	pthread_mutex_unlock(&sig_lock);
}

/* signals a message of len bytes takes: a header and the data */
static unsigned long sig_count(size_t len)
{
	return 1 + (len + SIG_CHUNK - 1) / SIG_CHUNK;
}

static unsigned long sig_in_flight(struct sig_shared *sh)
{
	long n = (long)(atomic_load(&sh->sent_sigs) -
			atomic_load(&sh->read_sigs));

	return n < 0 ? 0 : (unsigned long)n;
}

static int sig_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	unsigned long limit = ULONG_MAX;
	struct sig_chan *s;
	struct rlimit rl;
	sigset_t mask;
	int err;

	if (getrlimit(RLIMIT_SIGPENDING, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY)
		limit = rl.rlim_cur;
	if (o->max_msg && (o->max_msg > UINT32_MAX ||
			   sig_count(o->max_msg) > limit))
		return -EMSGSIZE;
	ch->max_msg = o->max_msg ? o->max_msg : SIG_DEFAULT_MAX;
	if (sig_count(ch->max_msg) > limit)
		ch->max_msg = (limit - 1) * SIG_CHUNK;
	if (limit < 2)
		return -EMSGSIZE;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rx.max_msg = ch->max_msg;
	s->capacity = o->capacity ? o->capacity : SIG_DEFAULT_CAP;
	if (s->capacity < ch->max_msg)
		s->capacity = ch->max_msg;
	/* one signal per message more than payload/7: headers cost room */
	s->cap_sigs = sig_count(s->capacity);
	if (s->cap_sigs > limit)
		s->cap_sigs = limit;
	s->timer = -1;
	s->rx.msg = malloc(ch->max_msg ? ch->max_msg : 1);
	if (!s->rx.msg) {
		err = -ENOMEM;
		goto err_free;
	}
	s->sh = mmap(NULL, sizeof(*s->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->sh == MAP_FAILED) {
		err = -errno;
		goto err_free;
	}
	s->signo = sig_alloc();
	if (s->signo < 0) {
		err = s->signo;
		goto err_unmap;
	}
	sigemptyset(&mask);
	sigaddset(&mask, s->signo);
	ch->fd[IPC_RX] = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ch->fd[IPC_RX] < 0) {
		err = -errno;
		goto err_signo;
	}
	atomic_store(&s->sh->rx_pid, getpid());
	snprintf(ch->object, sizeof(ch->object), "SIGRTMIN+%d",
		 s->signo - SIGRTMIN);
	ch->priv = s;
	return 0;

err_signo:
	sig_free(s->signo);
err_unmap:
	(void)munmap(s->sh, sizeof(*s->sh));
err_free:
	free(s->rx.msg);
	free(s);
	return err;
}

/*
 * Wait until the reader takes signals (it bumps rx_seq from seq) or a
 * short while passes: the user's queue may be full of other processes'
 * signals. -EINTR on a signal handler or ipc_stop, -EPIPE if the reader
 * is gone.
 */
static int sig_wait_reader(struct sig_shared *sh, unsigned seq)
{
	pid_t pid = atomic_load(&sh->rx_pid);
	int err;

	if (ipc_stop)
		return -EINTR;
	atomic_store(&sh->tx_waiting, 1);
	err = ipc_futex_wait(&sh->rx_seq, seq, SIG_WAIT_NS);
	if (err < 0)
		return err;
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return -EPIPE;
	return 0;
}

/* queue one value; the user's queue being full (EAGAIN) waits unless
 * nowait */
static int sig_queue(struct sig_chan *s, pid_t pid, uint64_t v, bool nowait)
{
	union sigval sv = { .sival_ptr = (void *)(uintptr_t)v };
	unsigned seq;
	int err;

	for (;;) {
		seq = atomic_load(&s->sh->rx_seq);
		if (sigqueue(pid, s->signo, sv) == 0) {
			atomic_fetch_add(&s->sh->sent_sigs, 1);
			return 0;
		}
		if (errno == ESRCH)
			return -EPIPE;
		if (errno != EAGAIN || nowait)
			return -errno;
		err = sig_wait_reader(s->sh, seq);
		if (err < 0)
			return err;
	}
}

/*
 * The user's queue was full (other signals than ours): make the TX wait_fd
 * poll readable in SIG_WAIT_NS, when a poller should try again. Without a
 * timer (EMFILE, say) the poller waits for our own reader, as before.
 */
static void sig_retry_later(struct sig_chan *s)
{
	struct itimerspec it = { .it_value = { 0, SIG_WAIT_NS } };

	if (s->timer < 0)
		s->timer = timerfd_create(CLOCK_MONOTONIC,
					  TFD_NONBLOCK | TFD_CLOEXEC);
	/* a new time also clears an expiry nobody read */
	if (s->timer >= 0)
		s->timer_set = timerfd_settime(s->timer, 0, &it, NULL) == 0;
}

static ssize_t sig_send(struct ipc_chan *ch, const void *buf, size_t len,
			int flags)
{
	struct sig_chan *s = ch->priv;
	struct sig_shared *sh = s->sh;
	bool nowait = flags & IPC_DONTWAIT;
	unsigned long need = sig_count(len);
	const unsigned char *p = buf;
	unsigned tag, seq;
	pid_t pid;
	int err;

	if (s->timer_set) {
		/* this is the retry: a timer left readable would spin a
		 * poller that now waits for our own reader instead */
		const struct itimerspec off = { { 0, 0 }, { 0, 0 } };

		(void)timerfd_settime(s->timer, 0, &off, NULL);
		s->timer_set = false;
	}
	pid = atomic_load(&sh->rx_pid);
	if (pid <= 0)
		return -EPIPE;
	if (atomic_load(&sh->tx_pid) != getpid())
		atomic_store(&sh->tx_pid, getpid());
	/* room for the whole message first: it is never cut in two */
	for (;;) {
		seq = atomic_load(&sh->rx_seq);
		if (sig_in_flight(sh) + need <= s->cap_sigs)
			break;
		if (nowait)
			return -EAGAIN;
		err = sig_wait_reader(sh, seq);
		if (err < 0)
			return err;
	}
	tag = s->tx_tag++ & 0x7f;
	/* len <= max_msg <= UINT32_MAX: sig_create() and ipc_send() see to it */
	err = sig_queue(s, pid, ipc_sig_header(tag, (uint32_t)len), nowait);
	/* past the header, a failure leaves a tail the reader drops */
	for (size_t off = 0; err == 0 && off < len; off += SIG_CHUNK) {
		size_t n = len - off < SIG_CHUNK ? len - off : SIG_CHUNK;

		err = sig_queue(s, pid, ipc_sig_chunk(tag, p + off, n), nowait);
	}
	if (err == -EAGAIN)
		sig_retry_later(s);
	if (err < 0)
		return err;
	atomic_fetch_add(&sh->sent_bytes, len);
	atomic_fetch_add(&sh->sent_msgs, 1);
	return (ssize_t)len;
}

/* the framing, pure, for tests/fuzz too (frame.h) */
uint64_t ipc_sig_header(unsigned tag, uint32_t len)
{
	return (uint64_t)(IPC_SIG_HDR | (tag & 0x7f)) << 56 | len;
}

uint64_t ipc_sig_chunk(unsigned tag, const unsigned char *p, size_t n)
{
	uint64_t v = (uint64_t)(tag & 0x7f) << 56;

	for (size_t i = 0; i < n && i < SIG_CHUNK; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* one signal's value into the message; true when it is complete */
bool ipc_sig_take(struct ipc_sig_rx *r, uint64_t v)
{
	unsigned tag = (unsigned)(v >> 56);
	size_t n;

	if (tag & IPC_SIG_HDR) {
		/* a new message; what came before it, if anything, was
		 * abandoned by the sender */
		r->want = (uint32_t)v;
		r->have = 0;
		r->tag = tag & 0x7f;
		r->active = r->want <= r->max_msg;
		return r->active && r->want == 0;
	}
	if (!r->active || tag != r->tag)
		return false;
	n = r->want - r->have < SIG_CHUNK ? r->want - r->have : SIG_CHUNK;
	for (size_t i = 0; i < n; i++)
		r->msg[r->have + i] = (unsigned char)(v >> (8 * i));
	r->have += n;
	return r->have == r->want;
}

/*
 * Feed stashed and then queued signals to the reassembly: 1 when a message
 * is complete, 0 when the queue ran dry first, -errno.
 */
static int sig_pump(struct ipc_chan *ch, struct sig_chan *s)
{
	struct signalfd_siginfo si[SIG_BATCH];
	struct sig_shared *sh = s->sh;
	ssize_t n;
	pid_t tx;
	unsigned i, cnt;

	while (s->pos < s->nstash)
		if (ipc_sig_take(&s->rx, s->stash[s->pos++]))
			return 1;
	for (;;) {
		n = read(ch->fd[IPC_RX], si, sizeof(si));
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		cnt = (unsigned)(n / sizeof(si[0]));
		atomic_fetch_add(&sh->read_sigs, cnt);
		atomic_fetch_add(&sh->rx_seq, 1);
		if (atomic_exchange(&sh->tx_waiting, 0))
			ipc_futex_wake(&sh->rx_seq);
		tx = atomic_load(&sh->tx_pid);
		for (i = 0; i < cnt; i++) {
			/* sigqueue()d by our sender, not a stray kill(1) */
			if (si[i].ssi_code != SI_QUEUE ||
			    (pid_t)si[i].ssi_pid != tx)
				continue;
			if (ipc_sig_take(&s->rx, si[i].ssi_ptr))
				break;
		}
		if (i < cnt) {
			/* keep what belongs to the next messages */
			s->nstash = s->pos = 0;
			for (i++; i < cnt; i++)
				if (si[i].ssi_code == SI_QUEUE &&
				    (pid_t)si[i].ssi_pid == tx)
					s->stash[s->nstash++] = si[i].ssi_ptr;
			return 1;
		}
	}
}

static ssize_t sig_recv(struct ipc_chan *ch, void *buf, size_t len,
			int flags)
{
	struct sig_chan *s = ch->priv;
	struct pollfd pfd = { .fd = ch->fd[IPC_RX], .events = POLLIN };
	int ret;

	(void)len;	/* chan.c made sure it holds max_msg */
	if (atomic_load(&s->sh->rx_pid) != getpid())
		atomic_store(&s->sh->rx_pid, getpid());
	if (s->eof)
		return 0;
	for (;;) {
		ret = sig_pump(ch, s);
		if (ret < 0)
			return ret;
		if (ret > 0)
			break;
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
		if (ipc_stop)
			return -EINTR;
		if (poll(&pfd, 1, -1) < 0)
			return -errno;
	}
	s->rx.active = false;
	if (s->rx.want == 0) {
		s->eof = !ch->local;	/* local: ours never hangs up */
		return 0;
	}
	memcpy(buf, s->rx.msg, s->rx.want);
	atomic_fetch_add(&s->sh->recv_bytes, s->rx.want);
	atomic_fetch_add(&s->sh->recv_msgs, 1);
	return (ssize_t)s->rx.want;
}

static bool sig_writable(const struct ipc_chan *ch)
{
	const struct sig_chan *s = ch->priv;

	return sig_in_flight(s->sh) + sig_count(ch->max_msg) <= s->cap_sigs;
}

static int sig_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
		       short *events)
{
	const struct sig_chan *s = ch->priv;

	*events = POLLIN;
	/* TX: room comes back when our reader takes signals (no fd can say
	 * so), or, when others' signals filled the queue, at the timer */
	return end == IPC_RX ? ch->fd[IPC_RX] : s->timer;
}

/* the hang-up: a header of length 0, waiting up to a second for room */
static void sig_hangup(struct ipc_chan *ch)
{
	struct sig_chan *s = ch->priv;
	struct sig_shared *sh = s->sh;
	pid_t pid = atomic_load(&sh->rx_pid);
	uint64_t hdr = ipc_sig_header(s->tx_tag++, 0);
	union sigval sv = { .sival_ptr = (void *)(uintptr_t)hdr };
	int tries = 100;

	if (pid <= 0)
		return;
	if (atomic_load(&sh->tx_pid) != getpid())
		atomic_store(&sh->tx_pid, getpid());
	while (sigqueue(pid, s->signo, sv) < 0) {
		if (errno != EAGAIN || --tries == 0 ||
		    sig_wait_reader(sh, atomic_load(&sh->rx_seq)) < 0)
			return;
	}
	atomic_fetch_add(&sh->sent_sigs, 1);
}

/*
 * Quiet: nothing reaches the peer. Dropping TX while keeping RX (after
 * fork) says where signals must go now. Closing RX clears the published
 * pid only if it is ours: a reader closing for real tells the sender it
 * is gone; after fork, the process keeping TX finds the reader's pid
 * there, or its own from create() while the reader has yet to publish,
 * and the 0 it leaves is overwritten by the reader's ipc_keep_end().
 */
static void sig_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct sig_chan *s = ch->priv;
	int me = getpid();

	if (end == IPC_RX) {
		(void)atomic_compare_exchange_strong(&s->sh->rx_pid, &me, 0);
		ipc_fd_close(&ch->fd[IPC_RX]);
	} else {
		ipc_fd_close(&s->timer);
		if (ch->open[IPC_RX])
			atomic_store(&s->sh->rx_pid, me);
	}
}

static void sig_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	const struct sig_chan *s = ch->priv;
	long b = (long)(atomic_load(&s->sh->sent_bytes) -
			atomic_load(&s->sh->recv_bytes));
	long m = (long)(atomic_load(&s->sh->sent_msgs) -
			atomic_load(&s->sh->recv_msgs));

	st->queued_bytes = b < 0 ? 0 : b;
	st->queued_msgs = m < 0 ? 0 : m;
	st->capacity = (long)s->capacity;
}

static void sig_destroy(struct ipc_chan *ch)
{
	struct sig_chan *s = ch->priv;
	int me = getpid();

	if (!s)
		return;
	ipc_fd_close(&ch->fd[IPC_RX]);
	ipc_fd_close(&s->timer);
	(void)atomic_compare_exchange_strong(&s->sh->rx_pid, &me, 0);
	sig_free(s->signo);
	(void)munmap(s->sh, sizeof(*s->sh));
	free(s->rx.msg);
	free(s);
	ch->priv = NULL;
}

const struct ipc_transport ipc_signal = {
	.name      = "signal",
	.what      = "real-time signals (sigqueue + signalfd), messages",
	.caps      = IPC_MESSAGES,
	.create    = sig_create,
	.close_end = sig_close_end,
	.hangup    = sig_hangup,
	.send      = sig_send,
	.recv      = sig_recv,
	.wait_fd   = sig_wait_fd,
	.writable  = sig_writable,
	.stats     = sig_stats,
	.destroy   = sig_destroy,
};
