/*
 * transport.h - one small interface in front of every IPC mechanism.
 *
 * A channel (struct ipc_chan) is one unidirectional conduit: bytes or
 * messages go in at its IPC_TX end and come out of its IPC_RX end. create()
 * makes both ends in the calling process; after fork() each process keeps
 * the end it uses with ipc_keep_end(). The daemon (fs/) holds both ends of
 * every channel; the bench (bench/) forks and keeps one end on each side.
 *
 * A new mechanism is one file here named after it, its name in
 * meson.build's transport_names and its table in registry.c: the daemon
 * gives it a file in every directory, the contract suite and the bench a
 * run, with nothing else to change.
 *
 * Conventions, as in libfuse's lowlevel API:
 *  - every operation returns a count or -errno; none prints or exits;
 *  - IPC_DONTWAIT asks an operation not to wait: -EAGAIN instead;
 *  - a waiting operation returns -EINTR when a signal handler runs;
 *  - recv() returning 0 means end of stream: the TX end was closed (or sent
 *    its hang-up) and everything before it has been received (never in
 *    local mode, below);
 *  - readiness fds may be edge-triggered (ZMQ_FD, ring doorbells): a
 *    poller must see -EAGAIN from the operation before it waits on the fd;
 *  - callers ignore SIGPIPE: a vanished reader is -EPIPE, never a signal;
 *  - a waiting operation that does not sleep in the kernel (a spinning
 *    ring) gives up with -EINTR once a signal handler sets ipc_stop.
 *
 * Local mode (ipc_opts.local: the daemon). Both ends stay in this process
 * for the channel's life and outsiders may join through the object. Then
 * the channel's end of file is the caller's business, never the
 * transport's: recv() never returns 0 (an outsider's empty message or
 * hang-up is dropped and counted in ch->dropped), the transport ignores
 * every "peer gone" signal an outsider could fake, ipc_drained() says
 * when all this process sent has come out, ipc_writable() says whether
 * send() would take something now, and a capacity the kernel refuses is
 * lowered to what it allows (stats show what was got).
 *
 * Duplex mode (ipc_opts.duplex; transports with IPC_DUPLEX: sockets and
 * zmq; the bench's direct road). The two ends are the two sides of one
 * connection, each of which can send and receive. Before ipc_keep_end the
 * channel is one-way like any other (TX to RX). After fork each process
 * keeps one side with ipc_keep_end(ch, side) and then holds both ends of
 * it: ipc_send (IPC_TX) goes to the other side, ipc_recv (IPC_RX) takes
 * what the other side sent, ch->side names the side kept and fd[IPC_TX]
 * is fd[IPC_RX]. ipc_close_end(ch, IPC_TX) hangs up one direction: the
 * other side's recv returns 0 after the data before, while this side
 * still receives. The daemon never uses it: its channels stay one-way.
 *
 * Byte transports (no IPC_MESSAGES) behave like write(2)/read(2) on a pipe:
 * send() may accept fewer bytes than offered, recv() returns what is there.
 * Message transports (IPC_MESSAGES) send a whole message or nothing; recv()
 * returns exactly one message and needs a buffer of ch->max_msg bytes
 * (-EMSGSIZE otherwise, nothing consumed); a message bigger than
 * ch->max_msg fails with -EMSGSIZE. Zero-length messages are reserved for
 * the hang-up and never sent by ipc_send().
 */
#ifndef IPC_TRANSPORT_H
#define IPC_TRANSPORT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ipc_end { IPC_RX = 0, IPC_TX = 1 };

/* transport capabilities (struct ipc_transport.caps) */
#define IPC_MESSAGES	0x1	/* one send is one recv: boundaries kept */
#define IPC_RING	0x2	/* user-space ring: honours ipc_opts.spin */
#define IPC_LOCAL	0x4	/* both ends in one process: no fork, not IPC */
#define IPC_SPLICE	0x8	/* fd[] are kernel pipe ends: splice(2) works */
/* a process joins one group of channels for life (MPI_Init once): users
 * run each use in a fresh process (bench rows, contract tests) */
#define IPC_FRESH	0x10
/* ipc_opts.duplex works: one connection carries both directions */
#define IPC_DUPLEX	0x20

/* per-call flags */
#define IPC_DONTWAIT	0x1	/* -EAGAIN rather than wait */

#define IPC_OBJECT_MAX	160

struct ipc_opts {
	size_t capacity;	/* bytes to buffer; 0: the mechanism's default */
	size_t max_msg;		/* largest message needed; 0: default */
	const char *rundir;	/* private dir for named objects; NULL: own */
	bool visible;		/* keep object names while open (daemon) */
	bool local;		/* local mode, see above; implies visible */
	/* duplex mode, see above: IPC_DUPLEX transports, not with local
	 * (-EOPNOTSUPP from ipc_chan_open otherwise) */
	bool duplex;
	/*
	 * Objects take anyone's traffic (outside tools, any local user):
	 * udp from any address, zmq on tcp:// by default. false: only our
	 * own where the kernel can tell (udp connected to our sender; zmq,
	 * when zmq_kind is NULL in local mode, over ipc:// in rundir).
	 */
	bool outsiders;
	bool spin;		/* rings: busy-wait, never sleep */
	bool sleep;		/* rings: sleep on the doorbell at once, with
				 * no spin or yield first (the doorbell table) */
	const char *zmq_kind;	/* zmq endpoint: "tcp" (default) or "ipc" */
	/* tcp, udp, zmq tcp://: the IPv4 address to listen on, dotted quad;
	 * NULL: 127.0.0.1. -EINVAL from create() if it does not parse */
	const char *bind_addr;
};

struct ipc_chan_stats {
	uint64_t bytes_in, bytes_out;	/* counted by ipc_recv / ipc_send */
	uint64_t msgs_in, msgs_out;
	long queued_bytes;	/* kernel's or ring's count; -1 unknown */
	long queued_msgs;	/* message transports; -1 unknown */
	long capacity;		/* bytes the channel buffers; -1 unknown */
	uint64_t dropped;	/* local mode: outsiders' empty messages */
	/* rings: this process's sleeps on the doorbell that a ring ended,
	 * and those the periodic look for a dead peer ended */
	uint64_t sleeps_rung, sleeps_timed_out;
};

struct ipc_chan {
	const struct ipc_transport *t;
	int fd[2];		/* mechanism fd of each end, -1 if none */
	bool open[2];		/* ends this process still holds */
	unsigned nonblock;	/* bit per end: fd is O_NONBLOCK now */
	size_t max_msg;		/* message transports: largest message */
	bool local;		/* ipc_opts.local */
	bool duplex;		/* ipc_opts.duplex */
	int side;		/* duplex after ipc_keep_end: the side kept,
				 * else -1 */
	void *priv;		/* the transport's own state */
	char object[IPC_OBJECT_MAX];	/* the real object, for outsiders */
	uint64_t bytes_in, bytes_out, msgs_in, msgs_out;
	uint64_t dropped;	/* local mode: empty messages not delivered */
};

struct ipc_transport {
	const char *name;	/* file name under the mount, --transport */
	const char *what;	/* one line for --help and the README */
	unsigned caps;

	/*
	 * Make both ends. Sets fd[], max_msg, object, priv.
	 * -EMSGSIZE if o->max_msg exceeds what the mechanism carries;
	 * otherwise the errno of the failing call.
	 */
	int (*create)(struct ipc_chan *ch, const struct ipc_opts *o);

	/*
	 * Drop this process's handle on one end, quietly: after fork() the
	 * parent drops its copy of the child's end and nothing must reach
	 * the peer. May be NULL: closing fd[end] is all there is to do.
	 */
	void (*close_end)(struct ipc_chan *ch, enum ipc_end end);

	/*
	 * The writer is done: the reader gets 0 once it has the data before.
	 * Called by ipc_close_end(ch, IPC_TX) before close_end. May be NULL
	 * where closing the last TX fd tells the reader (pipes, streams;
	 * a duplex stream side, whose fd still receives, shuts it instead).
	 */
	void (*hangup)(struct ipc_chan *ch);

	ssize_t (*send)(struct ipc_chan *ch, const void *buf, size_t len,
			int flags);
	ssize_t (*recv)(struct ipc_chan *ch, void *buf, size_t len, int flags);

	/*
	 * Readiness: an fd that polls readable (POLLIN) or writable
	 * (POLLOUT, for *events) when recv/send on that end may progress.
	 * It is a hint: retry with IPC_DONTWAIT and poll again on -EAGAIN.
	 * -1: the end never waits on anything another process does
	 * (for TX ends: space comes only from our own recv).
	 * May be NULL: fd[end] with POLLIN for RX, POLLOUT for TX.
	 */
	int (*wait_fd)(const struct ipc_chan *ch, enum ipc_end end,
		       short *events);

	/*
	 * Local mode: has everything this process sent come out of RX (or
	 * is some of it still on its way, in an I/O thread or a socket's
	 * send queue)? Asked once recv() said -EAGAIN. When it says false,
	 * the RX readiness fd fires as the rest arrives. May be NULL: what
	 * send() accepted can be received at once.
	 */
	bool (*drained)(const struct ipc_chan *ch);

	/*
	 * Would send() take something now (POLLOUT): a byte, or a message
	 * of any size up to max_msg? Needed where the TX
	 * readiness fd is edge-triggered or missing (-1 from wait_fd). May
	 * be NULL: poll(2) the TX wait_fd, which must then be level-triggered.
	 */
	bool (*writable)(const struct ipc_chan *ch);

	/* queued_bytes/msgs and capacity; may be NULL (all unknown) */
	void (*stats)(const struct ipc_chan *ch, struct ipc_chan_stats *st);

	/* Release what is still held and remove every named object. */
	void (*destroy)(struct ipc_chan *ch);
};

/* common.c: set from a signal handler to make spinning waits give up */
#include <signal.h>
extern volatile sig_atomic_t ipc_stop;
/*
 * ring.c: catch SIGBUS, which a ring's file truncated by another process
 * raises at our next access: that channel's sends and receives fail with
 * -EIO, the process lives on (the daemon). 0 or -errno.
 */
int ipc_catch_sigbus(void);

/* registry.c: the only list of transports, NULL-terminated */
extern const struct ipc_transport *const ipc_transports[];
const struct ipc_transport *ipc_transport_find(const char *name);
/* "pipe, fifo, ..." into buf, for error messages and --help */
const char *ipc_transport_names(char *buf, size_t size);

/* chan.c: the wrappers every caller uses */
int ipc_chan_open(struct ipc_chan *ch, const struct ipc_transport *t,
		  const struct ipc_opts *o);
void ipc_chan_close(struct ipc_chan *ch);
/* close one end; closing IPC_TX hangs up: the reader sees end of stream */
void ipc_close_end(struct ipc_chan *ch, enum ipc_end end);
/* after fork: keep `end`, quietly drop this process's copy of the other */
void ipc_keep_end(struct ipc_chan *ch, enum ipc_end end);
ssize_t ipc_send(struct ipc_chan *ch, const void *buf, size_t len, int flags);
ssize_t ipc_recv(struct ipc_chan *ch, void *buf, size_t len, int flags);
/* send all of buf (byte transports loop over short sends); -errno */
int ipc_send_all(struct ipc_chan *ch, const void *buf, size_t len, int flags);
int ipc_wait_fd(const struct ipc_chan *ch, enum ipc_end end, short *events);
/* local mode: all sent has come out (see struct ipc_transport.drained) */
bool ipc_drained(const struct ipc_chan *ch);
/* send() would take something now, without waiting */
bool ipc_writable(const struct ipc_chan *ch);
/* count n bytes the caller moved through fd[end] itself (splice(2)) */
void ipc_count(struct ipc_chan *ch, enum ipc_end end, size_t n);
/* the largest pipe an unprivileged process may have, pipe-max-size */
size_t ipc_pipe_max_size(void);
void ipc_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st);

static inline bool ipc_is_msg(const struct ipc_chan *ch)
{
	return ch->t->caps & IPC_MESSAGES;
}

/*
 * For transports: which end's fd or socket carries this process's sends
 * (IPC_TX) or receives (IPC_RX): the side kept in duplex mode, else end.
 */
static inline enum ipc_end ipc_own_end(const struct ipc_chan *ch,
				       enum ipc_end end)
{
	return ch->side < 0 ? end : (enum ipc_end)ch->side;
}

/*
 * For per-direction state: the side whose messages a send (IPC_TX) or a
 * receive (IPC_RX) of this process moves. One-way: always IPC_TX's.
 */
static inline enum ipc_end ipc_dir(const struct ipc_chan *ch, enum ipc_end end)
{
	if (ch->side < 0)
		return IPC_TX;
	return end == IPC_TX ? (enum ipc_end)ch->side : (enum ipc_end)!ch->side;
}

/* common.c: helpers shared by the transport files, not by callers */
/* Put fd[end] in blocking or non-blocking mode, only when it changes. */
int ipc_fd_mode(struct ipc_chan *ch, enum ipc_end end, int flags);
ssize_t ipc_fd_send(struct ipc_chan *ch, const void *buf, size_t len,
		    int flags);
ssize_t ipc_fd_recv(struct ipc_chan *ch, void *buf, size_t len, int flags);
void ipc_fd_close(int *fd);
/* destroy() of transports that are just two fds */
void ipc_fd_destroy(struct ipc_chan *ch);
/* ... and remove ch->object, the path of a named one */
void ipc_fd_destroy_named(struct ipc_chan *ch);
/* futex on a word in shared memory; 0 when woken, timed out or changed */
#include <stdatomic.h>
/*
 * Which process this is, for state a fork() copies but must not use (a
 * parent's threads, its ZeroMQ sockets): never 0, and different in every
 * child of fork() from its parent's. getpid() would do, but is a system
 * call on every message.
 */
unsigned ipc_life(void);
int ipc_futex_wait(atomic_uint *word, unsigned val, long timeout_ns);
void ipc_futex_wake(atomic_uint *word);
/* pipe.c: F_SETPIPE_SZ to o->capacity, lowered in local mode if refused */
int ipc_pipe_resize(int fd, const struct ipc_opts *o);
/* pipe.c: FIONREAD and F_GETPIPE_SZ, for pipe and fifo */
void ipc_pipe_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st);
/* the number in a /proc/sys file, or fallback if it cannot be read */
long ipc_sysctl_long(const char *path, long fallback);
/* A private 0700 directory for named objects: o->rundir, or the shared
 * XDG_RUNTIME_DIR/ipcfs or /tmp/ipcfs-UID, or, when someone else made
 * that first, a fresh mkdtemp(3) beside it. */
int ipc_rundir(const struct ipc_opts *o, char *buf, size_t size);
/* A name unique to this process and channel: "ipcfs.<pid>.<n>.<what>". */
void ipc_unique_name(char *buf, size_t size, const char *what);
/* ch->object = "<runtime dir>/<unique name>"; -ENAMETOOLONG if too long */
int ipc_object_path(struct ipc_chan *ch, const struct ipc_opts *o,
		    const char *what);
/* Remove named objects of dead ipcfs processes (an earlier killed run). */
void ipc_sweep_stale(const char *rundir);

#endif
