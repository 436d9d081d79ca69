/*
 * mpi: MPI point-to-point messages (MPICH 4.0.2 from Debian, ch4:ucx).
 * Each send is one MPI_Isend on the channel's tag and each receive one
 * MPI_Improbe + MPI_Imrecv: boundaries kept, FIFO order (MPI's
 * non-overtaking rule). The largest message is ipc_opts.max_msg (1 MiB by
 * default, at most 1 GiB). The hang-up is an empty message. There is no
 * object an outside tool can see: ch->object is empty.
 *
 * Who talks to whom (mpi_job.c): the process that creates a channel is
 * the process manager of a two-rank MPI job. After fork, the process that
 * holds one end joins that job as a rank at its first use (MPI_Init_thread,
 * once per process) and talks to the rank holding the other end on
 * MPI_COMM_WORLD, which MPICH hands to UCX's tag matching over UCX's
 * shared-memory transports. A process that holds both ends (the daemon;
 * a channel not split by fork) is a job of one and sends to itself on
 * MPI_COMM_SELF: MPICH's self path, a match and a copy inside the library,
 * no UCX. Channels created together before anyone joins share one job, so
 * a ping and a pong channel join one pair of processes; a process stays
 * in its first job (IPC_FRESH).
 *
 * Capacity. Between processes: UCX's (a FIFO of 64 slots per receiver
 * for small messages, a rendezvous for large ones), not counted here
 * (stats say -1); a send waits, or with IPC_DONTWAIT keeps one message of
 * its own (a copy) in flight and says -EAGAIN to the next until it is
 * out. To itself: MPICH's self path queues without bound, so the
 * transport does: 64 messages (UCX's FIFO depth) and ipc_opts.capacity
 * bytes (4 MiB by default, at least max_msg).
 *
 * Waiting. MPI has no file descriptor: its progress happens inside MPI
 * calls. A blocking call polls (MPI_Improbe or MPI_Test) and yields the
 * CPU every MPI_POLLS_BEFORE_YIELD polls, as MPICH's own blocking calls
 * do. A poller gets the channel's link (below) as its readiness fd: a
 * receive that says -EAGAIN sets MPI_POLL in a word shared across fork,
 * and the sender, after each MPI call that may have moved data, rings a
 * byte on the link when it finds the bit (the ring's doorbell). Through
 * the daemon both ends are ours: our own send rings.
 *
 * Ends and death. The link is a socketpair, one socket per end, as in
 * ring.c: the kernel counts its holders across fork and exit, so a
 * process learns that the other end is closed everywhere (or its holder
 * died) from POLLHUP. MPI itself notices nothing: a receive from a dead
 * rank polls forever. So a waiting call looks at the link every
 * MPI_GONE_EVERY polls (a send every MPI_GONE_EVERY sends): a reader
 * whose writer is gone gets what had arrived, then 0; a writer whose
 * reader is gone gets -EPIPE. A send handed to MPI is not taken back: a
 * signal interrupts a blocking send only before, as with MPI_Send.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mpi_job.h"
#include "transport.h"

#define MPI_IPC_DEFAULT_MAX	(1u << 20)
#define MPI_IPC_LIMIT_MAX	(1u << 30)
/* to ourselves: as deep as UCX's shared-memory FIFO, and this many bytes */
#define MPI_QUEUE_MSGS		64
#define MPI_QUEUE_BYTES		(4u << 20)
/* as MPICH's MPIR_CVAR_POLLS_BEFORE_YIELD */
#define MPI_POLLS_BEFORE_YIELD	1000
/* a waiting call asks the kernel whether the other end is gone */
#define MPI_GONE_EVERY		1024
/* a receive whose writer is gone waits this long for what MPI holds */
#define MPI_GONE_DRAIN_MS	100
/* a hang-up to another process waits this long for MPI at most */
#define MPI_HUP_WAIT_MS		500
/* the local tags: the least MPI_TAG_UB allows */
#define MPI_TAGS		32768

#define MPI_POLL	0x1u	/* a poller of this end wants a doorbell */

/* one page per channel, shared across fork; a line per writer */
struct mpi_shared {
	/* MPI_POLL for each end: set by its poller, taken by the other */
	alignas(64) atomic_uint wait[2];
	alignas(64) atomic_ulong sent_msgs, sent_bytes;	/* not the hang-up */
	alignas(64) atomic_ulong recv_msgs, recv_bytes;
};

/* a message handed to MPI and not complete yet: kept with its copy */
struct mpi_out {
	MPI_Request req;
	void *buf;		/* our copy; NULL: nothing to keep */
	size_t len;
	struct mpi_out *next;
};

struct mpi_chan {
	struct mpi_job *job;	/* NULL in local mode */
	struct mpi_shared *sh;
	int tag;
	pid_t pid;		/* route and requests are this process's */
	bool routed;
	bool alone;		/* both ends here: messages to ourselves */
	struct mpi_route route;
	struct mpi_out *out, **out_tail;	/* oldest first */
	size_t out_bytes, cap;	/* queued to ourselves; the limit */
	unsigned out_msgs;
	MPI_Request in_req;	/* an IPC_DONTWAIT receive under way */
	void *in_buf;		/* ...into this, ch->max_msg bytes */
	int in_len;
	bool eof;		/* the hang-up arrived */
	bool gone[2];		/* [RX] writer gone, [TX] reader gone */
	unsigned polls;
};

/* requests MPI may still use after their channel went: kept reachable */
static struct mpi_out *graveyard;

static void out_bury(struct mpi_out *o)
{
	o->next = graveyard;
	graveyard = o;
}

/* after fork: the parent's requests and route are not this process's */
static struct mpi_chan *mpi_mine(struct ipc_chan *ch)
{
	struct mpi_chan *m = ch->priv;
	struct mpi_out *o;

	if (m->pid == getpid())
		return m;
	while ((o = m->out)) {
		m->out = o->next;
		out_bury(o);
	}
	m->out_tail = &m->out;
	m->out_bytes = 0;
	m->out_msgs = 0;
	m->in_req = MPI_REQUEST_NULL;
	m->routed = false;
	m->pid = getpid();
	return m;
}

/*
 * True once every holder of the other end has closed it or died: the
 * kernel hangs up our link socket. Both ends ours: never.
 */
static bool mpi_peer_gone(struct ipc_chan *ch, enum ipc_end end)
{
	struct mpi_chan *m = ch->priv;
	struct pollfd p = { .fd = ch->fd[end] };

	if (m->gone[end] || ch->local || ch->fd[!end] >= 0)
		return m->gone[end];
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		m->gone[end] = true;
	return m->gone[end];
}

/*
 * An MPI call failed: UCX could not reach a peer that died while we were
 * in MPI_Init, most likely. Gone: -EPIPE (TX), -ECONNRESET (RX); else -EIO.
 */
static int mpi_fail(struct ipc_chan *ch, enum ipc_end end)
{
	if (!mpi_peer_gone(ch, end))
		return -EIO;
	return end == IPC_TX ? -EPIPE : -ECONNRESET;
}

/* MPI ready for this end here; see mpi_join() */
static int mpi_ready(struct ipc_chan *ch, enum ipc_end end, int flags)
{
	struct mpi_chan *m = mpi_mine(ch);
	bool alone = ch->local || (ch->open[IPC_RX] && ch->open[IPC_TX]);
	int err;

	if (m->routed)
		return 0;
	err = mpi_join(m->job, alone, flags, ch->fd[end], &m->route);
	if (err < 0)
		return err;
	m->alone = alone;
	m->routed = true;
	return 0;
}

/* after an MPI call that may have moved data: ring a poller of `end` */
static void mpi_ring(struct ipc_chan *ch, enum ipc_end end)
{
	struct mpi_chan *m = ch->priv;
	atomic_uint *w = &m->sh->wait[end];

	/* a load first: the exchange would take the line from the poller */
	if (!atomic_load(w) || !(atomic_exchange(w, 0) & MPI_POLL))
		return;
	/* our end's socket: the byte arrives on the other end's */
	(void)send(ch->fd[!end], "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * IPC_DONTWAIT found nothing to do at `end`: drain old doorbell bytes, so
 * that the fd is quiet after our -EAGAIN, then ask for a new one. The
 * caller looks once more afterwards (either it sees the progress or the
 * other side sees the bit: both are seq_cst).
 */
static void mpi_arm(struct ipc_chan *ch, enum ipc_end end)
{
	struct mpi_chan *m = ch->priv;
	char junk[64];

	while (recv(ch->fd[end], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	atomic_fetch_or(&m->sh->wait[end], MPI_POLL);
}

/* a blocking call polled once more in vain: 0, -EINTR, or -EPIPE (gone) */
static int mpi_pause(struct ipc_chan *ch, enum ipc_end end, bool stoppable)
{
	struct mpi_chan *m = ch->priv;

	if (stoppable && ipc_stop)
		return -EINTR;
	if (++m->polls % MPI_GONE_EVERY == 0 && mpi_peer_gone(ch, end))
		return -EPIPE;
	if (m->polls % MPI_POLLS_BEFORE_YIELD == 0)
		(void)sched_yield();
	return 0;
}

/* complete what can be of our queued sends, oldest first */
static void out_progress(struct mpi_chan *m)
{
	struct mpi_out *o;
	int done;

	while ((o = m->out)) {
		if (MPI_Test(&o->req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS ||
		    !done)
			break;
		m->out = o->next;
		if (!m->out)
			m->out_tail = &m->out;
		m->out_bytes -= o->len;
		m->out_msgs -= o->len > 0;
		free(o->buf);
		free(o);
	}
}

/* hand a copy of buf to MPI and keep it until complete */
static int out_post(struct ipc_chan *ch, const void *buf, size_t len)
{
	struct mpi_chan *m = ch->priv;
	struct mpi_out *o = calloc(1, sizeof(*o));

	if (!o || (len && !(o->buf = malloc(len)))) {
		free(o);
		return -ENOMEM;
	}
	if (len)
		memcpy(o->buf, buf, len);
	if (MPI_Isend(o->buf, (int)len, MPI_BYTE, m->route.peer, m->tag,
		      m->route.comm, &o->req) != MPI_SUCCESS) {
		free(o->buf);
		free(o);
		return mpi_fail(ch, IPC_TX);
	}
	o->len = len;	/* the hang-up, empty, takes no room */
	m->out_bytes += len;
	m->out_msgs += len > 0;
	*m->out_tail = o;
	m->out_tail = &o->next;
	return 0;
}

/* to ourselves: room in our queue, else wait for our own receive */
static ssize_t send_alone(struct ipc_chan *ch, const void *buf, size_t len,
			  int flags)
{
	struct mpi_chan *m = ch->priv;
	int err;

	out_progress(m);
	while (m->out_msgs >= MPI_QUEUE_MSGS || m->out_bytes + len > m->cap) {
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
		if (ipc_stop)
			return -EINTR;
		(void)poll(NULL, 0, 10);	/* only a signal can help us now */
	}
	err = out_post(ch, buf, len);
	if (err < 0)
		return err;
	mpi_ring(ch, IPC_RX);
	return (ssize_t)len;
}

/* to the other rank, waiting: MPI_Send, from the caller's buffer */
static ssize_t send_wait(struct ipc_chan *ch, const void *buf, size_t len)
{
	struct mpi_chan *m = ch->priv;
	MPI_Request req;
	int done = 0, err;

	while (m->out) {	/* an IPC_DONTWAIT one first */
		out_progress(m);
		mpi_ring(ch, IPC_RX);
		if (m->out && (err = mpi_pause(ch, IPC_TX, true)) < 0)
			return err;
	}
	if (ipc_stop)
		return -EINTR;
	if (MPI_Isend(buf, (int)len, MPI_BYTE, m->route.peer, m->tag,
		      m->route.comm, &req) != MPI_SUCCESS)
		return mpi_fail(ch, IPC_TX);
	/* handed over: only the reader's end can stop it now */
	for (;;) {
		if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			return mpi_fail(ch, IPC_TX);
		mpi_ring(ch, IPC_RX);
		if (done)
			return (ssize_t)len;
		if (mpi_pause(ch, IPC_TX, false) < 0)
			return -EPIPE;	/* MPI keeps the request: never done */
	}
}

/* to the other rank, now: one message of ours in flight at most */
static ssize_t send_nowait(struct ipc_chan *ch, const void *buf, size_t len)
{
	struct mpi_chan *m = ch->priv;
	int err;

	out_progress(m);
	mpi_ring(ch, IPC_RX);
	if (m->out) {
		mpi_arm(ch, IPC_TX);
		out_progress(m);
		if (m->out)
			return -EAGAIN;
	}
	err = out_post(ch, buf, len);
	if (err < 0)
		return err;
	out_progress(m);
	mpi_ring(ch, IPC_RX);
	return (ssize_t)len;
}

static ssize_t mpi_send_msg(struct ipc_chan *ch, const void *buf, size_t len,
			    int flags)
{
	struct mpi_chan *m = ch->priv;
	ssize_t n;
	int err = mpi_ready(ch, IPC_TX, flags);

	if (err < 0)
		return err;
	/* MPI takes a message for a dead reader while it has room: ask the
	 * kernel now and then, and whenever a send has to wait */
	if ((++m->polls % MPI_GONE_EVERY == 0 || m->gone[IPC_TX]) &&
	    mpi_peer_gone(ch, IPC_TX))
		return -EPIPE;
	if (m->alone)
		n = send_alone(ch, buf, len, flags);
	else if (flags & IPC_DONTWAIT)
		n = send_nowait(ch, buf, len);
	else
		n = send_wait(ch, buf, len);
	if (n > 0) {
		atomic_fetch_add(&m->sh->sent_msgs, 1);
		atomic_fetch_add(&m->sh->sent_bytes, (unsigned long)n);
	}
	return n;
}

/* a message for us? its size in *len and the handle in *msg */
static bool in_probe(struct mpi_chan *m, MPI_Message *msg, int *len)
{
	MPI_Status st;
	int flag = 0;

	if (MPI_Improbe(m->route.peer, m->tag, m->route.comm, &flag, msg,
			&st) != MPI_SUCCESS || !flag)
		return false;
	MPI_Get_count(&st, MPI_BYTE, len);
	return true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The writer is gone with a message under way. If its send had completed,
 * the rest is in shared memory and comes in at once; if it died half-way,
 * it never will: -ECONNRESET after MPI_GONE_DRAIN_MS.
 */
static int in_drain_gone(MPI_Request *req)
{
	uint64_t end = now_ms() + MPI_GONE_DRAIN_MS;
	int done = 0;

	do {
		if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			return -ECONNRESET;
		if (done)
			return 0;
		(void)sched_yield();
	} while (now_ms() < end);
	return -ECONNRESET;
}

/* wait for a matched receive: the sender is handing it over */
static int in_finish(struct ipc_chan *ch, MPI_Request *req)
{
	int done = 0;

	for (;;) {
		if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			return mpi_fail(ch, IPC_RX);
		if (done)
			return 0;
		if (mpi_pause(ch, IPC_RX, false) < 0)
			return in_drain_gone(req);
	}
}

/* a received message of n bytes: count it, make room, tell a sender */
static ssize_t in_done(struct ipc_chan *ch, int n)
{
	struct mpi_chan *m = ch->priv;

	if (m->alone)
		out_progress(m);	/* our own send of it is complete */
	mpi_ring(ch, IPC_TX);
	if (n == 0) {
		/* local mode: cannot come from anyone, yet never the end */
		m->eof = !ch->local;
		return 0;
	}
	atomic_fetch_add(&m->sh->recv_msgs, 1);
	atomic_fetch_add(&m->sh->recv_bytes, (unsigned long)n);
	return n;
}

/* IPC_DONTWAIT, from the other rank: into our buffer, copied when complete */
static ssize_t recv_nowait(struct ipc_chan *ch, void *buf, MPI_Message msg,
			   int len)
{
	struct mpi_chan *m = ch->priv;
	int done = 0, err;

	if (msg != MPI_MESSAGE_NULL) {
		if (!m->in_buf && !(m->in_buf = malloc(ch->max_msg)))
			return -ENOMEM;
		if (MPI_Imrecv(m->in_buf, len, MPI_BYTE, &msg,
			       &m->in_req) != MPI_SUCCESS)
			return mpi_fail(ch, IPC_RX);
		m->in_len = len;
	}
	for (int look = 0; look < 2 && !done; look++) {
		if (look)
			mpi_arm(ch, IPC_RX);
		if (MPI_Test(&m->in_req, &done, MPI_STATUS_IGNORE) !=
		    MPI_SUCCESS)
			return mpi_fail(ch, IPC_RX);
		mpi_ring(ch, IPC_TX);
	}
	if (!done && !mpi_peer_gone(ch, IPC_RX))
		return -EAGAIN;
	if (!done && (err = in_drain_gone(&m->in_req)) < 0)
		return err;
	memcpy(buf, m->in_buf, (size_t)m->in_len);
	return in_done(ch, m->in_len);
}

/* the writer is gone: what had arrived first, then the end */
static ssize_t recv_gone(struct ipc_chan *ch, void *buf, size_t len)
{
	struct mpi_chan *m = ch->priv;
	MPI_Message msg;
	int n;

	if (!in_probe(m, &msg, &n))
		return 0;
	if ((size_t)n > len)
		return -EMSGSIZE;
	if (MPI_Mrecv(buf, n, MPI_BYTE, &msg, MPI_STATUS_IGNORE) != MPI_SUCCESS)
		return mpi_fail(ch, IPC_RX);
	return in_done(ch, n);
}

static ssize_t mpi_recv_msg(struct ipc_chan *ch, void *buf, size_t len,
			    int flags)
{
	struct mpi_chan *m = ch->priv;
	MPI_Message msg = MPI_MESSAGE_NULL;
	MPI_Request req;
	bool armed = false;
	int n, err = mpi_ready(ch, IPC_RX, flags);

	if (err == -EPIPE) {
		m->eof = true;	/* the writer left before it ever joined */
		return 0;
	}
	if (err < 0)
		return err;
	if (m->eof)
		return 0;
	if (m->in_req != MPI_REQUEST_NULL) {	/* an IPC_DONTWAIT one first */
		if (!(flags & IPC_DONTWAIT) && (err = in_finish(ch, &m->in_req)))
			return err;
		return recv_nowait(ch, buf, msg, 0);
	}
	while (!in_probe(m, &msg, &n)) {
		if (flags & IPC_DONTWAIT) {
			if (armed)
				return mpi_peer_gone(ch, IPC_RX) ?
					recv_gone(ch, buf, len) : -EAGAIN;
			mpi_arm(ch, IPC_RX);
			armed = true;
		} else if ((err = mpi_pause(ch, IPC_RX, true)) < 0) {
			return err == -EPIPE ? recv_gone(ch, buf, len) : err;
		}
	}
	if ((size_t)n > len)	/* cannot be: both ends have our max_msg */
		return -EMSGSIZE;
	if (m->alone)		/* our own message: copied as it is matched */
		err = MPI_Mrecv(buf, n, MPI_BYTE, &msg, MPI_STATUS_IGNORE) ==
		      MPI_SUCCESS ? 0 : -EIO;
	else if (flags & IPC_DONTWAIT)
		return recv_nowait(ch, buf, msg, n);
	else if (MPI_Imrecv(buf, n, MPI_BYTE, &msg, &req) != MPI_SUCCESS)
		err = mpi_fail(ch, IPC_RX);
	else
		err = in_finish(ch, &req);
	return err < 0 ? err : in_done(ch, n);
}

/*
 * The writer is done: an empty message after the rest. To another
 * process, wait until MPI has handed everything over, or the reader is
 * gone, or MPI_HUP_WAIT_MS passed; what is left then dies with us, and
 * the reader sees the link hang up instead. A writer that never sent
 * from this process has not joined the job, and does not now: its close
 * of the link is the hang-up, once every holder of TX has closed it.
 */
static void mpi_hangup(struct ipc_chan *ch)
{
	struct mpi_chan *m = mpi_mine(ch);
	unsigned waited = 0;

	if (!m->routed && !ch->local && !ch->open[IPC_RX])
		return;
	if (mpi_ready(ch, IPC_TX, 0) < 0 || out_post(ch, "", 0) < 0)
		return;
	out_progress(m);
	mpi_ring(ch, IPC_RX);
	while (m->out && !m->alone && !ipc_stop && waited < MPI_HUP_WAIT_MS &&
	       !mpi_peer_gone(ch, IPC_TX)) {
		(void)poll(NULL, 0, 1);
		waited++;
		out_progress(m);
		mpi_ring(ch, IPC_RX);
	}
}

/* drop this process's hold on an end: its link socket */
static void mpi_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct mpi_chan *m = mpi_mine(ch);

	if (m->job)
		mpi_job_del_bell(m->job, ch->fd[end]);
	ipc_fd_close(&ch->fd[end]);
}

static int mpi_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
		       short *events)
{
	const struct mpi_chan *m = ch->priv;
	bool alone = m->routed && m->pid == getpid() ? m->alone :
		     ch->local || (ch->open[IPC_RX] && ch->open[IPC_TX]);

	/* doorbell bytes and the other end's hang-up both read as POLLIN */
	*events = POLLIN;
	/* to ourselves, room comes only from our own receives */
	if (end == IPC_TX && alone)
		return -1;
	return ch->fd[end];
}

/* a message of up to max_msg would be taken now */
static bool mpi_writable(const struct ipc_chan *cch)
{
	struct ipc_chan *ch = (struct ipc_chan *)cch;
	struct mpi_chan *m = mpi_mine(ch);

	if (!m->routed)
		return true;	/* nothing sent yet from here */
	out_progress(m);
	if (m->alone)
		return m->out_msgs < MPI_QUEUE_MSGS &&
		       m->out_bytes + ch->max_msg <= m->cap;
	return !m->out;
}

static void mpi_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	const struct mpi_chan *m = ch->priv;
	long msgs = (long)(atomic_load(&m->sh->sent_msgs) -
			   atomic_load(&m->sh->recv_msgs));
	long bytes = (long)(atomic_load(&m->sh->sent_bytes) -
			    atomic_load(&m->sh->recv_bytes));

	st->queued_msgs = msgs < 0 ? 0 : msgs;
	st->queued_bytes = bytes < 0 ? 0 : bytes;
	/* between processes UCX holds what is queued: its limits, not ours */
	st->capacity = m->routed && !m->alone ? -1 : (long)m->cap;
}

/* to ourselves: take back what we sent and nobody received */
static void drain_alone(struct mpi_chan *m)
{
	MPI_Message msg;
	void *junk;
	int n;

	while (in_probe(m, &msg, &n)) {
		junk = malloc(n ? (size_t)n : 1);
		if (!junk || MPI_Mrecv(junk, n, MPI_BYTE, &msg,
				       MPI_STATUS_IGNORE) != MPI_SUCCESS) {
			free(junk);
			break;
		}
		free(junk);
	}
	out_progress(m);
}

/* what MPI may still read or write: kept, never freed */
static void bury_requests(struct mpi_chan *m)
{
	struct mpi_out *o;

	while ((o = m->out)) {
		m->out = o->next;
		out_bury(o);
	}
	if (m->in_req != MPI_REQUEST_NULL &&
	    (o = calloc(1, sizeof(*o)))) {
		o->req = m->in_req;
		o->buf = m->in_buf;
		out_bury(o);
		m->in_buf = NULL;
	}
}

static void mpi_destroy(struct ipc_chan *ch)
{
	struct mpi_chan *m = ch->priv;

	if (!m)
		return;
	m = mpi_mine(ch);
	if (m->routed && m->alone)
		drain_alone(m);
	else if (m->routed)
		out_progress(m);
	bury_requests(m);
	for (int e = IPC_RX; e <= IPC_TX; e++)
		if (ch->fd[e] >= 0)
			mpi_close_end(ch, e);
	mpi_job_put(m->job);
	(void)munmap(m->sh, sizeof(*m->sh));
	free(m->in_buf);
	free(m);
	ch->priv = NULL;
}

static int mpi_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	static atomic_uint local_tags;
	size_t max = o->max_msg ? o->max_msg : MPI_IPC_DEFAULT_MAX;
	size_t cap = o->capacity ? o->capacity : MPI_QUEUE_BYTES;
	struct mpi_chan *m;
	int err;

	if (max > MPI_IPC_LIMIT_MAX)
		return -EMSGSIZE;
	if (cap < max)
		return -EINVAL;	/* not even one message would fit */
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->sh = mmap(NULL, sizeof(*m->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->sh == MAP_FAILED) {
		err = -errno;
		free(m);
		return err;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch->fd) < 0) {
		err = -errno;
		goto err_unmap;
	}
	if (!o->local) {
		m->job = mpi_job_get();
		if (!m->job) {
			err = -errno;
			goto err_close;
		}
		m->tag = mpi_job_tag(m->job);
		mpi_job_add_bell(m->job, ch->fd[IPC_RX]);
		mpi_job_add_bell(m->job, ch->fd[IPC_TX]);
	} else {
		m->tag = (int)(atomic_fetch_add(&local_tags, 1) % MPI_TAGS);
	}
	m->pid = getpid();
	m->cap = cap;
	m->out_tail = &m->out;
	m->in_req = MPI_REQUEST_NULL;
	ch->max_msg = max;
	ch->priv = m;
	return 0;

err_close:
	ipc_fd_close(&ch->fd[IPC_RX]);
	ipc_fd_close(&ch->fd[IPC_TX]);
err_unmap:
	(void)munmap(m->sh, sizeof(*m->sh));
	free(m);
	return err;
}

const struct ipc_transport ipc_mpi = {
	.name      = "mpi",
	.what      = "MPI point-to-point (MPICH), messages",
	.caps      = IPC_MESSAGES | IPC_FRESH,
	.create    = mpi_create,
	.close_end = mpi_close_end,
	.hangup    = mpi_hangup,
	.send      = mpi_send_msg,
	.recv      = mpi_recv_msg,
	.wait_fd   = mpi_wait_fd,
	.writable  = mpi_writable,
	.stats     = mpi_stats,
	.destroy   = mpi_destroy,
};
