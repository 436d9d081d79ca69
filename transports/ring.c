/*
 * ring.c - the single-producer/single-consumer byte ring behind shm,
 * mmap, sysvshm, eventfd and uring. A byte stream like a pipe: send()
 * copies what fits (it may be short), recv() copies what is there, recv()
 * returns 0 once the writer has hung up and the ring is drained, send()
 * fails with -EPIPE once the reader is gone. Capacity is
 * ipc_opts.capacity rounded up to a power of two (64 KiB by default, like
 * a pipe), exactly: that many bytes fit, whatever the sizes of the sends.
 * The memory is one shared mapping (struct ipc_ring_backing: an fd to
 * mmap, or shmat): a header of three cache lines (head, the bytes ever
 * sent; tail, the bytes ever received; the wait words), then the data.
 *
 * Publishing. The data is 64-byte lines, each a stamp and 56 bytes of the
 * stream: byte p is byte p % 56 of line p / 56, in slot (p / 56) % nlines,
 * with enough slots that no slot holds a line the reader still reads and
 * one the writer writes. A line's stamp is the stream position where its
 * written bytes end, stored (release) after them; the reader at tail
 * loads (acquire) the stamp of tail's line and takes the bytes below it,
 * then the next line's. A stamp from the last lap ends at or before
 * tail, so it reads as "nothing yet". The reader thus waits on the line
 * that brings the data with it: one cache line crossing, not one for an
 * index and another for the data. A short send (up to RING_PIPELINE
 * bytes) stores its first line last, so that its other lines are there
 * once that stamp is; a long one goes in order, and the reader copies
 * behind the writer. head and tail are stored after each send and recv:
 * the writer reads tail only when its last look shows too little room,
 * and the reader reads head only before it sleeps.
 *
 * Waiting. A waiter spins briefly on the word that will change (the
 * stamp it needs, or tail), yields briefly, then sleeps on its end's
 * doorbell (struct ipc_ring_bell: a futex on the end's word in the
 * header, the default; an eventfd; a SysV semaphore; an io_uring CQE sent
 * with MSG_RING). Before its final look at the indices it sets
 * RING_SLEEP in its end's word (rx_wait for data, tx_wait for room);
 * after publishing, the other side stores its index and loads the word
 * and, only when it is not zero, takes it with an exchange and rings the
 * bell (ipc_opts.sleep: at once, no spin or yield first, so that every
 * wait rings it). Setting the bit and storing the index are both
 * seq_cst, so either the waiter's final look sees the index or the
 * publisher sees the bit: no lost wake-up, and no system call when
 * nobody waits. What each
 * bell adds is that a ring which comes between the final look and the
 * sleep is kept: FUTEX_WAIT fails at once because the exchange changed
 * the word; an eventfd's counter, a semaphore's count and a CQE all stay
 * until the sleeper takes them. A ring can also come for nothing (the
 * waiter cleared its bit itself after seeing progress): bells may wake
 * spuriously, and the waiter then looks again. A poller (IPC_DONTWAIT,
 * then poll on wait_fd) does the same with RING_POLL: it first drains
 * old rings, then sets the bit and looks; it is rung with one byte on
 * its doorbell socket, or on the bell's own fd (eventfd, io_uring).
 *
 * Spin mode (ipc_opts.spin) waiters only spin, so nobody sleeps: the
 * indices are stored with release alone and the words are never looked
 * at, so the hot path has no fence and no read-modify-write. A poller
 * cannot be promised its ring then: the readiness fds are rung once at
 * create and never drained, so they always poll readable, and a poller
 * polls the way it would spin.
 *
 * Ends and fork. The two ends are the two sockets of a socketpair ("the
 * link"), which are the readiness fds as well, unless the bell has its
 * own: RX polls readable when the producer rang, TX polls readable when
 * the consumer rang. The link is what makes hang-ups right across fork:
 * a process holds an end as long
 * as it holds that socket, and the kernel counts holders across fork()
 * and exit, as it does for a pipe. After fork, the child that keeps RX
 * closes its copy of the TX socket, which changes nothing for the parent
 * that still writes; the reader sees POLLHUP on its socket only once the
 * last holder of TX has closed it (or died). A flag in shared memory
 * cannot tell those two closes apart, since nothing tells the parent it
 * has forked. The kernel's answer costs a poll(), so close_end() also
 * bumps the hup word in the header: the other side polls its socket only
 * when hup has moved, or when a sleep timed out (a holder killed without
 * close_end(), which bumps nothing) and every 64Ki spins in spin mode.
 * An explicit hang-up (ipc_close_end(TX), our hangup()) need not wait for
 * the last holder: it sets the closed word, which the reader believes at
 * once, and rings the reader's doorbell itself. Where the bell has its
 * own fd and the channel is not local, the readiness fd is an epoll set
 * of that fd and the link socket, so that a poller also sees a peer that
 * was killed.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring.h"

#define RING_DEFAULT	(64u << 10)
#define RING_MAX	(1u << 30)
/* spin ~1 us, yield ~50 us, then sleep: docs/DESIGN.md, "ring wake-ups" */
#define RING_SPINS	40
#define RING_YIELDS	100
/* spin mode: look for a killed peer every 64 Ki turns */
#define RING_SPIN_CHECK	0xfffu
/* a sleeper looks for a killed peer this often; no CPU cost to speak of */
#define RING_SLEEP_NS	(500 * 1000 * 1000L)
/* sends up to this many bytes publish their first line last */
#define RING_PIPELINE	256
/* a long read asks for the line this many slots ahead */
#define RING_AHEAD	8
/* spin mode: loads of the watched word between other looks */
#define RING_SPIN_TURNS	16

/* bits of rx_wait and tx_wait */
#define RING_SLEEP	0x1u	/* a waiter is in (or entering) FUTEX_WAIT */
#define RING_POLL	0x2u	/* a poller wants a doorbell byte */

/*
 * The data: 64-byte lines, each a stamp and 56 bytes of the stream. Byte p
 * of the stream is byte p % 56 of line p / 56, which lives in slot
 * (p / 56) % nlines. A line's stamp is the stream position where its
 * valid bytes end: more than the reader's position means data for it
 * (see "Publishing", above).
 */
#define RING_LINE	64
#define RING_PAYLOAD	(RING_LINE - 8)

struct ring_line {
	alignas(RING_LINE) _Atomic uint64_t stamp;
	unsigned char data[RING_PAYLOAD];
};

struct ring_hdr {
	/* written by the producer only: bytes ever sent */
	alignas(64) _Atomic uint64_t head;
	/* written by the consumer only: bytes ever received */
	alignas(64) _Atomic uint64_t tail;
	/* written rarely, read after each publish */
	alignas(64) atomic_uint rx_wait;	/* consumer waits for data */
	atomic_uint tx_wait;		/* producer waits for room */
	atomic_uint hup;		/* bumped by close_end(), hangup() */
	atomic_uint closed;		/* the writer hung up */
};

/* what one process knows; both ends are here in the daemon */
struct ring {
	struct ring_hdr *hdr;
	struct ring_line *line;	/* right after the header */
	size_t nlines;
	uint64_t size;		/* the capacity in bytes */
	uint64_t tail_seen;	/* the producer's last look at tail */
	/* per end, a stream position and its slot: a division spared */
	uint64_t at_pos[2];
	struct ring_line *at_line[2];
	unsigned hup_seen[2];
	bool peer_gone[2];	/* [TX]: reader gone, [RX]: writer gone */
	bool spin;
	bool sleep;		/* no spin or yield before the doorbell */
	/* its file was truncated: private zero pages in its place, -EIO
	 * (beside what each send and recv reads anyway) */
	volatile sig_atomic_t broken;
	/* ipc_chan_stats, per end: each end may be another thread's */
	uint64_t sleeps_rung[2], sleeps_timed_out[2];
	const struct ipc_ring_backing *b;
	const struct ipc_ring_bell *bell;
	void *bell_state;
	/* non-local, a bell with its own fd: it and the link, or -1 */
	int pollfd[2];
	/* a file's pages (not shmat): on ring_files, for the SIGBUS handler */
	struct ring *next, *prev;
	bool listed;
};

static inline void ring_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* the word the waiter of `end` sleeps on */
static atomic_uint *ring_word(struct ring *r, enum ipc_end end)
{
	return end == IPC_RX ? &r->hdr->rx_wait : &r->hdr->tx_wait;
}

/*
 * True once every holder of the other end has closed it or died. The
 * kernel knows (POLLHUP on our socket); ask it only when hup has moved
 * since we last asked, or when forced. Once gone, a peer stays gone.
 */
static bool ring_peer_gone(struct ipc_chan *ch, enum ipc_end end, bool force)
{
	struct ring *r = ch->priv;
	unsigned hup = atomic_load_explicit(&r->hdr->hup,
					    memory_order_acquire);
	struct pollfd p = { .fd = ch->fd[end], .events = POLLIN };

	if (r->peer_gone[end] || (!force && hup == r->hup_seen[end]))
		return r->peer_gone[end];
	r->hup_seen[end] = hup;
	/* both ends ours for good: a hang-up can only be an outsider's fake */
	if (ch->local)
		return false;
	if (end == IPC_RX && atomic_load(&r->hdr->closed))
		r->peer_gone[end] = true;
	else if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		r->peer_gone[end] = true;
	return r->peer_gone[end];
}

/*
 * The waiter's final look, after announcing itself: could `end` progress
 * (the stamp it watches past limit for RX, tail past the one the writer
 * saw for TX), or is there a hang-up to look at? seq_cst loads: they pair
 * with the publisher's seq_cst store and load. It asks what recv() and
 * send() will ask, so that an outsider's head, tail or hup makes a waiter
 * wait, never loop (in local mode a hang-up is only ever an outsider's).
 */
static bool ring_can_progress(struct ipc_chan *ch, enum ipc_end end,
			      const _Atomic uint64_t *watch, uint64_t limit)
{
	struct ring *r = ch->priv;

	if (!ch->local &&
	    atomic_load(&r->hdr->hup) != r->hup_seen[end])
		return true;
	if (end == IPC_TX)
		return atomic_load(watch) > limit;
	/* head first, for the pairing; its stamp is there once it moved */
	return atomic_load(&r->hdr->head) != limit &&
	       atomic_load_explicit(watch, memory_order_acquire) > limit;
}

/* make the readiness fd of `end` readable: the bell's, or the link's */
static void ring_poke(struct ipc_chan *ch, enum ipc_end end)
{
	struct ring *r = ch->priv;

	if (r->bell->poll_fd) {
		r->bell->wake(ch, r->bell_state, end, ring_word(r, end));
		return;
	}
	/* our end's socket: the byte arrives on the other end's */
	(void)send(ch->fd[end == IPC_RX ? IPC_TX : IPC_RX], "", 1,
		   MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * The ring's file was truncated under us (see ipc_catch_sigbus): wake the
 * waiters of both ends, whose next look gets -EIO as well.
 */
static ssize_t ring_broke(struct ipc_chan *ch)
{
	ring_poke(ch, IPC_RX);
	ring_poke(ch, IPC_TX);
	return -EIO;
}

/*
 * Store our index, then ring the other side's doorbell if it waits. In
 * spin mode nobody sleeps and pollers are never owed a ring (see
 * ring_arm_poll): a release store, no fence, no look at the word.
 */
static void ring_publish(struct ipc_chan *ch, _Atomic uint64_t *index,
			 uint64_t val, enum ipc_end other)
{
	struct ring *r = ch->priv;
	atomic_uint *word = ring_word(r, other);
	unsigned w;

	if (r->spin) {
		atomic_store_explicit(index, val, memory_order_release);
		return;
	}
	/* seq_cst: ordered before the load of the word (see the top) */
	atomic_store(index, val);
	/* a load first: the exchange would take the line from the waiter */
	if (!atomic_load(word))
		return;
	w = atomic_exchange(word, 0);
	/* a bell with its own fd wakes pollers and sleepers alike: once */
	if ((w & RING_POLL) && !(r->bell->poll_fd && (w & RING_SLEEP)))
		ring_poke(ch, other);
	if (w & RING_SLEEP)
		r->bell->wake(ch, r->bell_state, other, word);
}

/*
 * Drain stale doorbell bytes from the link socket of `end`. false at its
 * end of file (or reset): the other end's last holder is gone, perhaps
 * killed without bumping hup.
 */
static bool ring_link_drain(struct ipc_chan *ch, enum ipc_end end)
{
	char junk[64];
	ssize_t n;

	while ((n = recv(ch->fd[end], junk, sizeof(junk), MSG_DONTWAIT)) > 0)
		;
	return !(n == 0 || errno == ECONNRESET);
}

/*
 * IPC_DONTWAIT found nothing to do: drain stale doorbell bytes, so the fd
 * is not readable after our -EAGAIN, then ask for a new one. 0 when a
 * look after asking finds progress possible after all.
 */
static int ring_arm_poll(struct ipc_chan *ch, enum ipc_end end,
			 const _Atomic uint64_t *watch, uint64_t limit)
{
	struct ring *r = ch->priv;
	bool linked = true;

	/*
	 * Spin mode publishes without a fence (ring_publish), so it cannot
	 * promise a poller its ring: the fd stays readable (create() rang
	 * it, nothing drains it) and a poller polls the way it would spin.
	 */
	if (r->spin)
		return ring_peer_gone(ch, end, true) ? 0 : -EAGAIN;
	/* the link carries no bytes then: it only says who is gone */
	if (r->bell->drain)
		r->bell->drain(ch, r->bell_state, end);
	if (!r->bell->drain || !ch->local)
		linked = ring_link_drain(ch, end);
	/*
	 * Say the peer is gone, or a poller woken by the POLLHUP would get
	 * -EAGAIN and poll again, forever.
	 */
	if (!linked) {
		r->peer_gone[end] = true;
		return 0;
	}
	atomic_fetch_or(ring_word(r, end), RING_POLL);
	return ring_can_progress(ch, end, watch, limit) ? 0 : -EAGAIN;
}

/* 0 when woken (or timed out: the caller looks again), -EINTR, -errno */
static int ring_sleep(struct ipc_chan *ch, enum ipc_end end,
		      const _Atomic uint64_t *watch, uint64_t limit)
{
	struct ring *r = ch->priv;
	atomic_uint *word = ring_word(r, end);
	unsigned w = atomic_fetch_or(word, RING_SLEEP) | RING_SLEEP;
	int err;

	if (ring_can_progress(ch, end, watch, limit)) {
		/* spare the other side a wake-up nobody waits for */
		atomic_fetch_and(word, ~RING_SLEEP);
		return 0;
	}
	/* a ring from now on is kept by the bell: see the top of the file */
	err = r->bell->sleep(ch, r->bell_state, end, word, w, RING_SLEEP_NS);
	if (err < 0)
		return err;
	if (err)
		r->sleeps_timed_out[end]++;
	else
		r->sleeps_rung[end]++;
	/* nothing happened: timed out, so has the peer died silently? */
	if (!ring_can_progress(ch, end, watch, limit))
		(void)ring_peer_gone(ch, end, true);
	return 0;
}

/*
 * Spin while *watch <= limit, up to n times: the stamp the reader waits
 * on, or the tail the writer waits to move. One load a turn, so that
 * the change is seen as soon as its line comes over.
 */
static void ring_spin(const _Atomic uint64_t *watch, uint64_t limit,
		      unsigned n)
{
	while (n-- && atomic_load_explicit(watch, memory_order_relaxed) <= limit)
		ring_relax();
}

/*
 * Wait a little for `end` to be able to progress, spinning on *watch
 * (see ring_spin). 0: look again; -EAGAIN for IPC_DONTWAIT; -EINTR when
 * ipc_stop is set or a signal cut the sleep.
 */
static int ring_wait(struct ipc_chan *ch, enum ipc_end end, int flags,
		     unsigned *spins, const _Atomic uint64_t *watch,
		     uint64_t limit)
{
	struct ring *r = ch->priv;

	if (flags & IPC_DONTWAIT)
		return ring_arm_poll(ch, end, watch, limit);
	if (ipc_stop)
		return -EINTR;
	++*spins;
	if (r->spin) {
		if ((*spins & RING_SPIN_CHECK) == 0)
			(void)ring_peer_gone(ch, end, true);
		ring_spin(watch, limit, RING_SPIN_TURNS);
		return 0;
	}
	if (r->sleep)
		return ring_sleep(ch, end, watch, limit);
	if (*spins == 1) {
		ring_spin(watch, limit, RING_SPINS);
		return 0;
	}
	if (*spins <= 1 + RING_YIELDS) {
		(void)sched_yield();
		return 0;
	}
	return ring_sleep(ch, end, watch, limit);
}

/* the slot after l, round the ring */
static struct ring_line *ring_next(const struct ring *r, struct ring_line *l)
{
	return ++l == r->line + r->nlines ? r->line : l;
}

/* the slot of stream byte pos for `end`, which moves forward: cached */
static struct ring_line *ring_line_at(struct ring *r, enum ipc_end end,
				      uint64_t pos)
{
	uint64_t old = r->at_pos[end];
	size_t i;

	/* a step of less than a lap from where we were: no division */
	if (pos >= old && pos - old < r->size) {
		i = (size_t)(r->at_line[end] - r->line) +
		    (size_t)(pos / RING_PAYLOAD - old / RING_PAYLOAD);
		while (i >= r->nlines)
			i -= r->nlines;
	} else {
		i = (size_t)(pos / RING_PAYLOAD % r->nlines);
	}
	r->at_pos[end] = pos;
	r->at_line[end] = &r->line[i];
	return &r->line[i];
}

/* bytes into line l at off, then its stamp: where its bytes end now */
static inline void ring_fill(struct ring_line *l, size_t off,
			     const unsigned char *src, size_t n, uint64_t stamp)
{
	if (n == RING_PAYLOAD)	/* a whole line: the copy is inlined */
		memcpy(l->data, src, RING_PAYLOAD);
	else
		memcpy(l->data + off, src, n);
	atomic_store_explicit(&l->stamp, stamp, memory_order_release);
}

/*
 * Copy n bytes into the stream at pos, line l, and publish them: each
 * line's stamp right after its bytes. A short send does its first line
 * last, so that once the reader sees that stamp the rest is there too
 * (stores are seen in order: release) and the line it polls is written
 * once; a long one goes in order, so that the reader copies while we
 * write (docs/DESIGN.md, "ring lines").
 */
static void ring_put(const struct ring *r, struct ring_line *l, uint64_t pos,
		     const unsigned char *src, size_t n)
{
	struct ring_line *first = l;
	size_t off = pos % RING_PAYLOAD;
	size_t head = n < RING_PAYLOAD - off ? n : RING_PAYLOAD - off;
	bool in_order = n > RING_PIPELINE;
	size_t done = head, chunk;

	if (in_order)
		ring_fill(first, off, src, head, pos + head);
	for (; done < n; done += chunk) {
		l = ring_next(r, l);
		chunk = n - done < RING_PAYLOAD ? n - done : RING_PAYLOAD;
		ring_fill(l, 0, src + done, chunk, pos + done + chunk);
	}
	if (!in_order)
		ring_fill(first, off, src, head, pos + head);
}

/*
 * Copy what the stream holds at pos (line l), up to len bytes; 0 if
 * nothing. A stamp past its line's end (an outsider's) counts as the end.
 */
static size_t ring_get(const struct ring *r, struct ring_line *l,
		       uint64_t pos, unsigned char *dst, size_t len)
{
	uint64_t line_end = pos - pos % RING_PAYLOAD + RING_PAYLOAD, stamp;
	struct ring_line *ahead = l;
	size_t got = 0, chunk;

	/* a long read asks for lines ahead, so that several cross at once
	 * rather than one after the other */
	for (int i = 0; i < RING_AHEAD && len > RING_AHEAD * RING_PAYLOAD; i++)
		ahead = ring_next(r, ahead);
	for (;;) {
		if (len - got > RING_AHEAD * RING_PAYLOAD) {
			__builtin_prefetch(ahead);
			ahead = ring_next(r, ahead);
		}
		stamp = atomic_load_explicit(&l->stamp, memory_order_acquire);
		if (stamp <= pos)
			break;
		if (stamp > line_end)
			stamp = line_end;
		chunk = stamp - pos < len - got ? stamp - pos : len - got;
		if (chunk == RING_PAYLOAD)	/* a whole line: inlined */
			memcpy(dst + got, l->data, RING_PAYLOAD);
		else
			memcpy(dst + got, l->data + RING_PAYLOAD -
			       (line_end - pos), chunk);
		got += chunk;
		pos += chunk;
		/* done, or the rest of this line is not written yet */
		if (got == len || pos < line_end)
			break;
		l = ring_next(r, l);
		line_end += RING_PAYLOAD;
	}
	return got;
}

ssize_t ipc_ring_send(struct ipc_chan *ch, const void *buf, size_t len,
		      int flags)
{
	struct ring *r = ch->priv;
	struct ring_hdr *h = r->hdr;
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
	unsigned spins = 0;
	size_t n;
	int err;

	for (;;) {
		if (r->broken)
			return -EIO;
		if (ring_peer_gone(ch, IPC_TX, false))
			return -EPIPE;
		/*
		 * The cached tail is old, so it can only show less room:
		 * read the consumer's line only when that is not enough.
		 * An outsider's tail may show too much: the slots keep us
		 * inside the ring all the same.
		 */
		n = r->size - (head - r->tail_seen);
		if (n < len) {
			r->tail_seen = atomic_load_explicit(&h->tail,
						memory_order_acquire);
			n = r->size - (head - r->tail_seen);
		}
		if (n > 0)
			break;
		err = ring_wait(ch, IPC_TX, flags, &spins, &h->tail,
				r->tail_seen);
		if (err < 0)
			return err;
	}
	if (n > len)
		n = len;
	ring_put(r, ring_line_at(r, IPC_TX, head), head, buf, n);
	ring_publish(ch, &h->head, head + n, IPC_RX);
	/* the bytes went with the file: not written */
	return r->broken ? ring_broke(ch) : (ssize_t)n;
}

ssize_t ipc_ring_recv(struct ipc_chan *ch, void *buf, size_t len, int flags)
{
	struct ring *r = ch->priv;
	struct ring_hdr *h = r->hdr;
	uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	struct ring_line *l = ring_line_at(r, IPC_RX, tail);
	unsigned spins = 0;
	size_t n;
	int err;

	for (;;) {
		if (r->broken)
			return -EIO;
		n = ring_get(r, l, tail, buf, len);
		if (r->broken)	/* what came was the zero pages' */
			return ring_broke(ch);
		if (n > 0)
			break;
		if (ring_peer_gone(ch, IPC_RX, false)) {
			/* the last bytes may have come just before the close */
			n = ring_get(r, l, tail, buf, len);
			if (n == 0)
				return 0;
			break;
		}
		err = ring_wait(ch, IPC_RX, flags, &spins, &l->stamp, tail);
		if (err < 0)
			return err;
	}
	ring_publish(ch, &h->tail, tail + n, IPC_TX);
	return (ssize_t)n;
}

bool ipc_ring_writable(const struct ipc_chan *ch)
{
	const struct ring *r = ch->priv;

	if (r->broken)	/* a send would say -EIO at once */
		return true;
	return atomic_load(&r->hdr->head) - atomic_load(&r->hdr->tail) <
	       r->size;
}

int ipc_ring_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
		     short *events)
{
	const struct ring *r = ch->priv;

	/* doorbells and the peer's hang-up all read as POLLIN */
	*events = POLLIN;
	if (r->pollfd[end] >= 0)
		return r->pollfd[end];
	if (r->bell->poll_fd)
		return r->bell->poll_fd(ch, r->bell_state, end);
	return ch->fd[end];
}

/*
 * Drop this process's hold on `end`. Only the last holder's close hangs
 * up (the kernel decides, see the top of the file); bump hup so that the
 * other side asks, and wake it if it sleeps. Its pollers need nothing
 * from us: the last close makes their socket poll POLLHUP.
 */
void ipc_ring_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct ring *r = ch->priv;
	enum ipc_end other = end == IPC_RX ? IPC_TX : IPC_RX;
	atomic_uint *word = ring_word(r, other);

	/* close first: whoever sees the new hup must see the close too */
	ipc_fd_close(&ch->fd[end]);
	ipc_fd_close(&r->pollfd[end]);
	atomic_fetch_add(&r->hdr->hup, 1);
	/* clear only RING_SLEEP: a RING_POLL bit is still owed a doorbell */
	if (atomic_fetch_and(word, ~RING_SLEEP) & RING_SLEEP)
		r->bell->wake(ch, r->bell_state, other, word);
	if (r->bell->drop)
		r->bell->drop(ch, r->bell_state, end);
}

/*
 * The writer is done, whoever else still holds a copy of TX. Bump hup
 * before ringing, so that a poller woken by the byte looks at closed;
 * close_end(), which follows, wakes a sleeping reader.
 */
void ipc_ring_hangup(struct ipc_chan *ch)
{
	struct ring *r = ch->priv;

	atomic_store(&r->hdr->closed, 1);
	atomic_fetch_add(&r->hdr->hup, 1);
	ring_poke(ch, IPC_RX);
}

void ipc_ring_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	const struct ring *r = ch->priv;

	st->queued_bytes = (long)(atomic_load(&r->hdr->head) -
				  atomic_load(&r->hdr->tail));
	st->capacity = (long)r->size;
	st->sleeps_rung = r->sleeps_rung[IPC_TX] + r->sleeps_rung[IPC_RX];
	st->sleeps_timed_out = r->sleeps_timed_out[IPC_TX] +
			       r->sleeps_timed_out[IPC_RX];
}

/*
 * Slots for a window of size bytes, [tail, tail + size), which touches
 * ceil((size + 55) / 56) lines at most: then no slot holds both a line
 * the reader still reads and one the writer writes.
 */
static size_t ring_nlines(uint64_t size)
{
	return (size_t)((size + 2 * RING_PAYLOAD - 2) / RING_PAYLOAD);
}

static size_t ring_len(const struct ring *r)
{
	return sizeof(struct ring_hdr) + r->nlines * sizeof(struct ring_line);
}

/* ---- a ring's file truncated under us -------------------------------- */

/*
 * Any process of the user may truncate a ring's file (in /dev/shm or the
 * runtime dir), and the next access to its pages raises SIGBUS. Under
 * ipc_catch_sigbus() (the daemon), a fault inside a ring on this list
 * maps private zero pages over the whole ring, so that the access
 * completes, and marks the ring broken: its sends and receives fail with
 * -EIO from then on. The list changes under a lock; the handler reads it
 * in the thread that faulted, in a ring operation, not in create/destroy.
 */
static struct ring *ring_files;
static pthread_mutex_t ring_files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction ring_old_bus;

static void ring_list(struct ring *r, bool add)
{
	pthread_mutex_lock(&ring_files_lock);
	if (add) {
		r->next = ring_files;
		if (ring_files)
			ring_files->prev = r;
		ring_files = r;	/* last: the handler sees it whole */
	} else if (r->listed) {
		if (r->next)
			r->next->prev = r->prev;
		if (r->prev)
			r->prev->next = r->next;
		else
			ring_files = r->next;
	}
	r->listed = add;
	pthread_mutex_unlock(&ring_files_lock);
}

static void ring_on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;

	for (struct ring *r = ring_files; r; r = r->next) {
		if (a - (uintptr_t)r->hdr >= ring_len(r))
			continue;
		if (mmap(r->hdr, ring_len(r), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		    MAP_FAILED)
			break;
		r->broken = 1;
		errno = saved;
		return;
	}
	errno = saved;
	/* not a ring's: what would have happened without us */
	if (ring_old_bus.sa_flags & SA_SIGINFO)
		ring_old_bus.sa_sigaction(sig, si, ctx);
	else if (ring_old_bus.sa_handler != SIG_DFL &&
		 ring_old_bus.sa_handler != SIG_IGN)
		ring_old_bus.sa_handler(sig);
	else
		(void)signal(SIGBUS, SIG_DFL);	/* it faults again: dies */
}

int ipc_catch_sigbus(void)
{
	struct sigaction sa = { .sa_sigaction = ring_on_sigbus,
				.sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, &ring_old_bus) < 0 ? -errno : 0;
}

/* the backing's memory for len bytes, allocated now; NULL, *err */
static void *ring_map(struct ipc_chan *ch, const struct ipc_opts *o,
		      const struct ipc_ring_backing *b, size_t len, int *err)
{
	void *mem;
	int fd;

	if (b->map)
		return b->map(ch, o, len, err);
	fd = b->open(ch, o);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	/*
	 * The object starts empty: zeroed pages. Allocate them now, so that
	 * a full /dev/shm (or runtime dir) is -ENOSPC here rather than a
	 * SIGBUS at the first store into a page with nothing behind it;
	 * ftruncate() alone where the file system cannot allocate.
	 */
	if (fallocate(fd, 0, 0, (off_t)len) < 0 &&
	    (errno != EOPNOTSUPP || ftruncate(fd, (off_t)len) < 0))
		goto err_close;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		goto err_close;
	(void)close(fd);	/* the mapping keeps the object alive */
	return mem;

err_close:
	*err = -errno;
	(void)close(fd);
	if (b->remove)
		b->remove(ch->object);
	return NULL;
}

static void ring_unmap(const struct ring *r, void *mem, size_t len)
{
	if (r->b->unmap)
		r->b->unmap(mem, len);
	else
		(void)munmap(mem, len);
}

/*
 * Non-local, with a bell that has its own fd: each end's readiness fd is
 * an epoll set of the bell's fd and the link socket, which polls
 * readable once the other end's last holder is gone.
 */
static int ring_pollfds(struct ipc_chan *ch, struct ring *r)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int fd;

	for (int end = IPC_RX; end <= IPC_TX; end++) {
		r->pollfd[end] = epoll_create1(EPOLL_CLOEXEC);
		if (r->pollfd[end] < 0)
			return -errno;
		fd = r->bell->poll_fd(ch, r->bell_state, end);
		if (epoll_ctl(r->pollfd[end], EPOLL_CTL_ADD, fd, &ev) < 0 ||
		    epoll_ctl(r->pollfd[end], EPOLL_CTL_ADD, ch->fd[end],
			      &ev) < 0)
			return -errno;
	}
	return 0;
}

int ipc_ring_create(struct ipc_chan *ch, const struct ipc_opts *o,
		    const struct ipc_ring_backing *b,
		    const struct ipc_ring_bell *bell)
{
	size_t want = o->capacity ? o->capacity : RING_DEFAULT;
	struct ring *r;
	size_t len;
	void *mem;
	int err;

	if (want > RING_MAX)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->size = 1;
	while (r->size < want)
		r->size <<= 1;
	r->nlines = ring_nlines(r->size);
	len = ring_len(r);
	r->spin = o->spin;
	r->sleep = o->sleep && !o->spin;
	r->b = b;
	r->bell = bell;
	r->pollfd[IPC_RX] = r->pollfd[IPC_TX] = -1;

	mem = ring_map(ch, o, b, len, &err);
	if (!mem)
		goto err_free;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch->fd) < 0) {
		err = -errno;
		goto err_unmap;
	}
	err = bell->open(ch, o, &r->bell_state);
	if (err < 0)
		goto err_link;
	if (bell->poll_fd && !o->local) {
		err = ring_pollfds(ch, r);
		if (err < 0)
			goto err_bell;
	}
	/* the bench: the mapping survives fork; SIGKILL leaves nothing */
	if (!o->visible && b->remove)
		b->remove(ch->object);
	r->hdr = mem;
	r->line = (struct ring_line *)(r->hdr + 1);
	r->at_line[IPC_RX] = r->at_line[IPC_TX] = r->line;
	if (!b->map)
		ring_list(r, true);
	ch->priv = r;
	/* an empty ring has room: TX starts readable, like a pipe POLLOUT */
	ring_poke(ch, IPC_TX);
	if (r->spin)	/* and RX for good: see ring_arm_poll */
		ring_poke(ch, IPC_RX);
	return 0;

err_bell:
	ipc_fd_close(&r->pollfd[IPC_RX]);
	ipc_fd_close(&r->pollfd[IPC_TX]);
	/* as in destroy: the SysV bell counts the segment's users */
	ring_unmap(r, mem, len);
	mem = NULL;
	bell->close(ch, r->bell_state);
err_link:
	ipc_fd_close(&ch->fd[IPC_RX]);
	ipc_fd_close(&ch->fd[IPC_TX]);
err_unmap:
	if (mem)
		ring_unmap(r, mem, len);
	if (b->remove)
		b->remove(ch->object);
err_free:
	free(r);
	return err;
}

void ipc_ring_destroy(struct ipc_chan *ch)
{
	struct ring *r = ch->priv;

	if (!r)
		return;
	if (ch->fd[IPC_RX] >= 0)
		ipc_ring_close_end(ch, IPC_RX);
	if (ch->fd[IPC_TX] >= 0)
		ipc_ring_close_end(ch, IPC_TX);
	ring_list(r, false);
	/* unmap first: the SysV bell counts the segment's users */
	ring_unmap(r, r->hdr, ring_len(r));
	r->bell->close(ch, r->bell_state);
	/* ENOENT unless visible: it went as soon as it was mapped */
	if (r->b->remove)
		r->b->remove(ch->object);
	free(r);
	ch->priv = NULL;
}

/* ---- the default bell: a futex on the end's word -------------------- */

static int futex_open(struct ipc_chan *ch, const struct ipc_opts *o,
		      void **bell)
{
	(void)ch;
	(void)o;
	*bell = NULL;
	return 0;
}

static void futex_wake(struct ipc_chan *ch, void *bell, enum ipc_end end,
		       atomic_uint *word)
{
	(void)ch;
	(void)bell;
	(void)end;
	ipc_futex_wake(word);
}

/* the word changes when we are woken: FUTEX_WAIT then fails at once */
static int futex_sleep(struct ipc_chan *ch, void *bell, enum ipc_end end,
		       atomic_uint *word, unsigned seen, long timeout_ns)
{
	int err;

	(void)ch;
	(void)bell;
	(void)end;
	errno = 0;	/* ipc_futex_wait() leaves ETIMEDOUT there, and 0 */
	err = ipc_futex_wait(word, seen, timeout_ns);
	return err ? err : errno == ETIMEDOUT;
}

static void futex_close(struct ipc_chan *ch, void *bell)
{
	(void)ch;
	(void)bell;
}

const struct ipc_ring_bell ipc_ring_futex = {
	.name  = "futex",
	.open  = futex_open,
	.wake  = futex_wake,
	.sleep = futex_sleep,
	.close = futex_close,
};
