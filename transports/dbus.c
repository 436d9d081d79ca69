/*
 * dbus: D-Bus messages through a private message bus: a real dbus-daemon
 * that the channel starts (dbus_bus.c), never the system or session bus.
 * Each end is one libdbus connection to it. The TX end sends every
 * message as a signal org.ipcfs.Channel.Data carrying one byte array
 * ("ay") to the RX connection's unique name. Boundaries kept: one send is
 * one message. The largest is ipc_opts.max_msg (64 KiB by default, at
 * most 16 MiB); the bus disconnects a sender of anything bigger than it
 * was configured for. The hang-up is an empty array.
 *
 * Flow control. libdbus queues outgoing messages in our memory without
 * bound, and the bus queues what the receiver has not read up to its
 * max_outgoing_bytes, then refuses more with an error reply to the sender
 * (LimitsExceeded): a lost message. So the sender counts what is in flight
 * (sent, not yet received) in a page shared across fork(): send() takes a
 * message only while libdbus's queue is empty, fewer than
 * IPC_DBUS_MAX_INFLIGHT messages are in flight and their bytes plus this
 * one fit the capacity (ipc_opts.capacity, 256 KiB by default, at least
 * max_msg). Capacity and queued in stats are those: our bytes in flight.
 * The bus's limits (dbus_bus.c) keep it from ever refusing ours; should
 * it refuse one anyway (out of memory, a test's smaller limit), its error
 * reply comes to the TX connection, the message is counted lost and the
 * next send() says so: -ENOBUFS (-EPIPE: the reader was gone; -EACCES:
 * the policy refused it).
 *
 * Waiting. The RX end's readiness fd is an epoll fd holding its socket and,
 * while this process holds the TX end too, the TX socket (readable: the
 * bus's answers; writable while libdbus holds a message the socket did not
 * take); a receive pumps the TX connection first. The sockets polled are
 * our own dups: libdbus closes its fd when the bus goes, ours then says
 * POLLHUP. The TX end's readiness is its socket: POLLOUT while libdbus
 * holds a message or the credit has room, else POLLIN (the bus's answers):
 * the credit comes back from receives. A blocking send waits for credit on
 * a futex in the shared page, which the receiver wakes, and returns once
 * libdbus has written the whole message: what the socket did not take
 * goes out only at this end's next call, and a sender that next waits for
 * its peer on another channel (the bench) would wait for ever. A
 * non-blocking sender in another process than its reader must come back
 * (poll the TX fd) until ipc_writable() for the same reason.
 *
 * End of stream (not in local mode): the empty message from our TX
 * connection, or the bus's NameOwnerChanged for it (its process closed or
 * died), which the bus sends after all that connection sent. A reader
 * gone is NameOwnerChanged for the RX connection: -EPIPE. The bus gone
 * (killed) is -ECONNRESET at both ends. After fork each process keeps one
 * connection; dropping the other closes our copy of its socket and sends
 * nothing.
 *
 * Outsiders (our uid only, see dbus_bus.c) may connect and send to the RX
 * connection, by its unique name or by the name it owns,
 * org.ipcfs.Channel.p<pid>_<n>_<token>. Data is a signal or method call
 * org.ipcfs.Channel.Data with signature "ay"; anything else is ignored; an
 * array longer than max_msg is dropped and counted (ch->dropped); an empty
 * one ends the stream only from our TX connection. The object is the bus
 * address with that name: "unix:path=<socket>,dest=<name>" (libdbus
 * ignores the extra key), so
 *   dbus-send --bus="$obj" --dest="${obj##*dest=}" --type=signal \
 *	/org/ipcfs/Channel org.ipcfs.Channel.Data array:byte:104,105,10
 */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <dbus/dbus.h>

#include "dbus_bus.h"

#define DBUS_IPC_IFACE		"org.ipcfs.Channel"
#define DBUS_IPC_MEMBER		"Data"
#define DBUS_IPC_OBJ_PATH	"/org/ipcfs/Channel"
#define DBUS_IPC_DEFAULT_MAX	(64u << 10)
#define DBUS_IPC_LIMIT_MAX	(16u << 20)
#define DBUS_IPC_DEFAULT_CAP	(256u << 10)
#define DBUS_IPC_LIMIT_CAP	(64u << 20)
/* libdbus reads up to 4 KiB per iteration: about 4 MiB per call, then
 * -EAGAIN (the socket still polls readable) so that others may run */
#define DBUS_IPC_READS_PER_CALL	1024
/* a waiting sender looks at its connection this often */
#define DBUS_IPC_WAIT_MS	10
/* a hang-up waits at most this long for room, then to be written */
#define DBUS_IPC_HUP_MS	1000

/* shared by both sides of a fork: the credit */
struct dbus_shared {
	atomic_ulong sent_msgs, sent_bytes;	/* TX: the hang-up counts */
	atomic_ulong recv_msgs, recv_bytes;	/* RX: from our TX connection */
	atomic_ulong lost_msgs, lost_bytes;	/* TX: refused by the bus */
	atomic_uint rx_seq;			/* futex: bumped per receive */
	atomic_uint tx_waiting;
};

/* a message in flight, by serial: what to count lost if it is refused */
struct dbus_sent {
	dbus_uint32_t serial;
	uint32_t len;
};

struct dbus_chan {
	struct ipc_dbus_bus *bus;
	DBusConnection *conn[2];
	char name[2][64];	/* unique names, ":1.N" */
	char own[96];		/* the name RX owns, for outsiders */
	struct dbus_shared *sh;
	size_t capacity;
	int epfd;		/* RX readiness, see above */
	unsigned ep_events[2];	/* what each end's socket has in epfd */
	int tx_err;		/* TX: to report at the next send */
	struct timespec t0;	/* create()'s calls began */
	bool eof;		/* RX: the hang-up or the writer's end came */
	bool rx_gone;		/* TX: the reader's connection is gone */
	struct dbus_sent sent[IPC_DBUS_MAX_INFLIGHT];
};

/* the errno for a D-Bus error name */
static int dbus_err_name(const char *name)
{
	static const struct { const char *name; int err; } map[] = {
		{ DBUS_ERROR_NO_MEMORY, ENOMEM },
		{ DBUS_ERROR_LIMITS_EXCEEDED, ENOBUFS },
		{ DBUS_ERROR_ACCESS_DENIED, EACCES },
		{ DBUS_ERROR_AUTH_FAILED, EACCES },
		{ DBUS_ERROR_NO_REPLY, ETIMEDOUT },
		{ DBUS_ERROR_TIMEOUT, ETIMEDOUT },
		{ DBUS_ERROR_TIMED_OUT, ETIMEDOUT },
		{ DBUS_ERROR_NO_SERVER, ECONNREFUSED },
		{ DBUS_ERROR_DISCONNECTED, ECONNREFUSED },
		{ DBUS_ERROR_SERVICE_UNKNOWN, EPIPE },
		{ DBUS_ERROR_NAME_HAS_NO_OWNER, EPIPE },
		{ DBUS_ERROR_FILE_NOT_FOUND, ENOENT },
	};

	for (size_t i = 0; name && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(name, map[i].name) == 0)
			return -map[i].err;
	return -EIO;
}

static int dbus_err(DBusError *e)
{
	int err = dbus_err_name(e->name);

	dbus_error_free(e);
	return err;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* the reply to serial among what came to c; the rest is dropped: create()
 * has no use for the bus's signals (NameAcquired) */
static DBusMessage *reply_to(DBusConnection *c, dbus_uint32_t serial)
{
	DBusMessage *m;

	while ((m = dbus_connection_pop_message(c)) != NULL) {
		if (dbus_message_get_reply_serial(m) == serial)
			return m;
		dbus_message_unref(m);
	}
	return NULL;
}

/*
 * A method call from `end` to the bus driver, waiting for its reply
 * (returned) until IPC_DBUS_CALL_MS after d->t0: all of create()'s calls
 * together. NULL with *err: -ETIMEDOUT, -ECONNREFUSED (the bus closed
 * the connection), or the bus's error. Not libdbus's blocking call: it
 * first flushes without a timeout, forever if the bus never authenticates
 * us (stopped).
 */
static DBusMessage *bus_call(struct dbus_chan *d, enum ipc_end end, int *err,
			     const char *method, int type, ...)
{
	DBusConnection *c = d->conn[end];
	DBusMessage *m, *r = NULL;
	dbus_uint32_t serial;
	va_list ap;
	long left;
	bool ok;

	*err = -ENOMEM;
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS, method);
	if (!m)
		return NULL;
	va_start(ap, type);
	ok = dbus_message_append_args_valist(m, type, ap) &&
	     dbus_connection_send(c, m, &serial);
	va_end(ap);
	dbus_message_unref(m);
	if (!ok)
		return NULL;
	while (!r && (left = IPC_DBUS_CALL_MS - ms_since(&d->t0)) > 0 &&
	       dbus_connection_get_is_connected(c)) {
		(void)dbus_connection_read_write(c, (int)left);
		r = reply_to(c, serial);
	}
	*err = !r && !dbus_connection_get_is_connected(c) ? -ECONNREFUSED :
	       !r ? -ETIMEDOUT : 0;
	if (r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR) {
		*err = dbus_err_name(dbus_message_get_error_name(r));
		dbus_message_unref(r);
		r = NULL;
	}
	return r;
}

/*
 * Connect one end and say Hello: the bus answers with its unique name.
 * -EUSERS: the bus refused the connection (its connection limit).
 */
static int conn_open(struct dbus_chan *d, enum ipc_end end)
{
	const char *name;
	DBusMessage *r;
	DBusError e;
	int err = 0;

	dbus_error_init(&e);
	d->conn[end] = dbus_connection_open_private(
				ipc_dbus_bus_address(d->bus), &e);
	if (!d->conn[end]) {
		err = dbus_err(&e);
		/* libdbus says LimitsExceeded for our EMFILE and ENFILE */
		return err == -ENOBUFS ? -EMFILE : err;
	}
	dbus_connection_set_exit_on_disconnect(d->conn[end], FALSE);
	r = bus_call(d, end, &err, "Hello", DBUS_TYPE_INVALID);
	if (!r)
		return err == -ENOBUFS ? -EUSERS : err;
	if (!dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &name,
				   DBUS_TYPE_INVALID) ||
	    strlen(name) >= sizeof(d->name[end]))
		err = -EPROTO;
	else if (!dbus_bus_set_unique_name(d->conn[end], name))
		err = -ENOMEM;
	else
		strcpy(d->name[end], name);
	dbus_message_unref(r);
	return err;
}

static void conn_close(struct dbus_chan *d, enum ipc_end end)
{
	if (!d->conn[end])
		return;
	dbus_connection_close(d->conn[end]);	/* closes our socket copy */
	dbus_connection_unref(d->conn[end]);
	d->conn[end] = NULL;
}

/* RX owns org.ipcfs.Channel.p<pid>_<n>_<token>: a name nobody guesses */
static int own_name(struct dbus_chan *d)
{
	dbus_uint32_t flags = DBUS_NAME_FLAG_DO_NOT_QUEUE, got = 0;
	unsigned long long token;
	char unique[64];
	const char *p = d->own;
	DBusMessage *r;
	unsigned seq;
	long pid;
	int err;

	ipc_unique_name(unique, sizeof(unique), "dbus");
	if (sscanf(unique, "ipcfs.%ld.%u.%llx", &pid, &seq, &token) != 3)
		return -EPROTO;
	snprintf(d->own, sizeof(d->own), "org.ipcfs.Channel.p%ld_%u_%016llx",
		 pid, seq, token);
	r = bus_call(d, IPC_RX, &err, "RequestName", DBUS_TYPE_STRING,
		     &p, DBUS_TYPE_UINT32, &flags, DBUS_TYPE_INVALID);
	if (!r)
		return err;
	if (!dbus_message_get_args(r, NULL, DBUS_TYPE_UINT32, &got,
				   DBUS_TYPE_INVALID))
		got = 0;
	dbus_message_unref(r);
	return got == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER ? 0 : -EEXIST;
}

/* ask the bus to tell `end` when the connection `peer` goes */
static int watch_peer(struct dbus_chan *d, enum ipc_end end, const char *peer)
{
	char rule[256];
	const char *p = rule;
	DBusMessage *r;
	int err;

	snprintf(rule, sizeof(rule),
		 "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='"
		 DBUS_INTERFACE_DBUS "',member='NameOwnerChanged',arg0='%s'",
		 peer);
	r = bus_call(d, end, &err, "AddMatch", DBUS_TYPE_STRING, &p,
		     DBUS_TYPE_INVALID);
	if (!r)
		return err;
	dbus_message_unref(r);
	return 0;
}

/* drop what came before the last reply: NameAcquired and the like */
static void discard_queued(DBusConnection *c)
{
	DBusMessage *m;

	while ((m = dbus_connection_pop_message(c)) != NULL)
		dbus_message_unref(m);
}

static bool conn_up(const struct dbus_chan *d, enum ipc_end end)
{
	return d->conn[end] && dbus_connection_get_is_connected(d->conn[end]);
}

static bool fd_ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1;
}

/* set what the socket of `end` (our dup, fd) waits for in epfd; 0: none */
static void ep_set(struct dbus_chan *d, int fd, enum ipc_end end,
		   unsigned events)
{
	struct epoll_event ev = { .events = events, .data.u32 = end };
	int op = !events ? EPOLL_CTL_DEL :
		 d->ep_events[end] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (d->epfd < 0 || fd < 0 || d->ep_events[end] == events)
		return;
	if (epoll_ctl(d->epfd, op, fd, &ev) == 0 || !events)
		d->ep_events[end] = events;
}

static bool tx_pending(const struct dbus_chan *d)
{
	return conn_up(d, IPC_TX) &&
	       dbus_connection_has_messages_to_send(d->conn[IPC_TX]);
}

/* both ends here: RX's epoll also waits for the TX socket */
static void tx_track(const struct ipc_chan *ch)
{
	struct dbus_chan *d = ch->priv;

	if (ch->open[IPC_RX] && conn_up(d, IPC_TX))
		ep_set(d, ch->fd[IPC_TX], IPC_TX,
		       EPOLLIN | (tx_pending(d) ? EPOLLOUT : 0));
}

/* m is the bus saying that the connection `name` is gone */
static bool peer_gone(DBusMessage *m, const char *name)
{
	const char *sender = dbus_message_get_sender(m), *who, *old, *now;

	return sender && strcmp(sender, DBUS_SERVICE_DBUS) == 0 &&
	       dbus_message_is_signal(m, DBUS_INTERFACE_DBUS,
				      "NameOwnerChanged") &&
	       dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &who,
				     DBUS_TYPE_STRING, &old, DBUS_TYPE_STRING,
				     &now, DBUS_TYPE_INVALID) &&
	       strcmp(who, name) == 0 && now[0] == '\0';
}

/* what came to the TX connection: the bus refusing one of ours (counted
 * lost), or the reader's end; anything else, an outsider's, is ignored */
static void tx_note(const struct ipc_chan *ch, DBusMessage *m)
{
	struct dbus_chan *d = ch->priv;
	const char *sender = dbus_message_get_sender(m);
	dbus_uint32_t rs = dbus_message_get_reply_serial(m);
	struct dbus_sent *s = &d->sent[rs % IPC_DBUS_MAX_INFLIGHT];

	if (!sender || strcmp(sender, DBUS_SERVICE_DBUS) != 0)
		return;
	if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR) {
		if (!rs || s->serial != rs)
			return;
		atomic_fetch_add(&d->sh->lost_msgs, 1);
		atomic_fetch_add(&d->sh->lost_bytes, s->len);
		s->serial = 0;
		if (!d->tx_err)
			d->tx_err = dbus_err_name(
					dbus_message_get_error_name(m));
	} else if (!ch->local && peer_gone(m, d->name[IPC_RX])) {
		d->rx_gone = true;
	}
}

/*
 * Move the TX connection: write what libdbus holds as far as the socket
 * takes it, read the bus's answers (a bounded amount). -ECONNRESET once
 * the bus is gone.
 */
static int tx_pump(const struct ipc_chan *ch)
{
	struct dbus_chan *d = ch->priv;
	DBusConnection *c = d->conn[IPC_TX];
	DBusMessage *m;

	for (int i = 0; i < DBUS_IPC_READS_PER_CALL && conn_up(d, IPC_TX);
	     i++) {
		if (!fd_ready(ch->fd[IPC_TX],
			      POLLIN | (tx_pending(d) ? POLLOUT : 0)))
			break;
		(void)dbus_connection_read_write(c, 0);
		while ((m = dbus_connection_pop_message(c)) != NULL) {
			tx_note(ch, m);
			dbus_message_unref(m);
		}
	}
	if (!conn_up(d, IPC_TX))
		return -ECONNRESET;
	tx_track(ch);
	return 0;
}

/* our messages and bytes in flight: sent, not yet received nor lost */
static void in_flight(const struct dbus_shared *sh, long *msgs, long *bytes)
{
	*msgs = (long)(atomic_load(&sh->sent_msgs) -
		       atomic_load(&sh->recv_msgs) -
		       atomic_load(&sh->lost_msgs));
	*bytes = (long)(atomic_load(&sh->sent_bytes) -
			atomic_load(&sh->recv_bytes) -
			atomic_load(&sh->lost_bytes));
	/* a receiver may count a message before its sender did */
	if (*msgs < 0)
		*msgs = 0;
	if (*bytes < 0)
		*bytes = 0;
}

/* the credit has room for a message of len bytes */
static bool credit_for(const struct dbus_chan *d, size_t len)
{
	long msgs, bytes;

	in_flight(d->sh, &msgs, &bytes);
	return msgs < IPC_DBUS_MAX_INFLIGHT &&
	       (size_t)bytes + len <= d->capacity;
}

/* one message into libdbus, which writes what the socket takes now */
static ssize_t tx_put(const struct ipc_chan *ch, const void *buf, size_t len)
{
	struct dbus_chan *d = ch->priv;
	const unsigned char *p = buf;
	dbus_uint32_t serial = 0;
	DBusMessage *m;
	bool ok;

	m = dbus_message_new_signal(DBUS_IPC_OBJ_PATH, DBUS_IPC_IFACE,
				    DBUS_IPC_MEMBER);
	if (!m)
		return -ENOMEM;
	/* counted first: the reader may count it as soon as it is sent */
	atomic_fetch_add(&d->sh->sent_msgs, 1);
	atomic_fetch_add(&d->sh->sent_bytes, len);
	ok = dbus_message_set_destination(m, d->name[IPC_RX]) &&
	     dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &p,
				      (int)len, DBUS_TYPE_INVALID) &&
	     dbus_connection_send(d->conn[IPC_TX], m, &serial);
	dbus_message_unref(m);
	if (!ok) {
		atomic_fetch_sub(&d->sh->sent_msgs, 1);
		atomic_fetch_sub(&d->sh->sent_bytes, len);
		return -ENOMEM;
	}
	d->sent[serial % IPC_DBUS_MAX_INFLIGHT] =
		(struct dbus_sent){ serial, (uint32_t)len };
	tx_track(ch);
	return (ssize_t)len;
}

/* send now or -EAGAIN; an error the bus told us about comes first */
static ssize_t tx_try(const struct ipc_chan *ch, const void *buf, size_t len)
{
	struct dbus_chan *d = ch->priv;
	int err = tx_pump(ch);

	if (d->tx_err) {
		err = d->tx_err;
		d->tx_err = 0;
		return err;
	}
	if (err < 0)
		return err;
	if (d->rx_gone)
		return -EPIPE;
	if (tx_pending(d) || !credit_for(d, len))
		return -EAGAIN;
	return tx_put(ch, buf, len);
}

/* wait a while for the socket to take libdbus's message, or for credit */
static int tx_wait(const struct ipc_chan *ch, size_t len)
{
	struct dbus_chan *d = ch->priv;
	struct pollfd p = { .fd = ch->fd[IPC_TX], .events = POLLIN | POLLOUT };
	unsigned seq;

	if (tx_pending(d))
		return poll(&p, 1, DBUS_IPC_WAIT_MS) < 0 && errno == EINTR ?
		       -EINTR : 0;
	seq = atomic_load(&d->sh->rx_seq);
	atomic_store(&d->sh->tx_waiting, 1);
	if (credit_for(d, len))
		return 0;
	/* time out now and then: the bus's answers come on our socket */
	return ipc_futex_wait(&d->sh->rx_seq, seq, DBUS_IPC_WAIT_MS * 1000000L);
}

/*
 * Wait until libdbus has written all it holds: what the socket did not
 * take goes out only at our next call, and a blocking sender's next call
 * may be a receive elsewhere, which its peer waits for. The bus reads us
 * while our credit lasts, so this ends soon; it gives up after limit_ms
 * (0: no limit), and when ipc_stop stays set DBUS_IPC_HUP_MS (a stopped
 * bus). A signal alone does not stop it: the message was accepted.
 */
static void tx_flush(const struct ipc_chan *ch, long limit_ms)
{
	struct pollfd p = { .fd = ch->fd[IPC_TX], .events = POLLOUT };
	struct timespec t0;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (tx_pending(ch->priv)) {
		ms = ms_since(&t0);
		if ((limit_ms && ms > limit_ms) ||
		    (ipc_stop && ms > DBUS_IPC_HUP_MS))
			return;
		(void)poll(&p, 1, DBUS_IPC_WAIT_MS);
		if (tx_pump(ch) < 0)
			return;
	}
}

static ssize_t dbus_send_msg(struct ipc_chan *ch, const void *buf, size_t len,
			     int flags)
{
	ssize_t n;
	int err;

	for (;;) {
		n = tx_try(ch, buf, len);
		if (n > 0 && !(flags & IPC_DONTWAIT))
			tx_flush(ch, 0);
		if (n != -EAGAIN || (flags & IPC_DONTWAIT))
			return n;
		if (ipc_stop)
			return -EINTR;
		err = tx_wait(ch, len);
		if (err < 0)
			return err;
	}
}

/* the RX side counts what came from our TX connection: the credit */
static void rx_count(struct dbus_chan *d, size_t len)
{
	atomic_fetch_add(&d->sh->recv_msgs, 1);
	atomic_fetch_add(&d->sh->recv_bytes, len);
	atomic_fetch_add(&d->sh->rx_seq, 1);
	if (atomic_load(&d->sh->tx_waiting) &&
	    atomic_exchange(&d->sh->tx_waiting, 0))
		ipc_futex_wake(&d->sh->rx_seq);
}

/* m carries our data: its byte array in *data, *len */
static bool is_data(DBusMessage *m, const void **data, int *len)
{
	int type = dbus_message_get_type(m);
	DBusMessageIter it, sub;

	if ((type != DBUS_MESSAGE_TYPE_SIGNAL &&
	     type != DBUS_MESSAGE_TYPE_METHOD_CALL) ||
	    !dbus_message_has_interface(m, DBUS_IPC_IFACE) ||
	    !dbus_message_has_member(m, DBUS_IPC_MEMBER) ||
	    !dbus_message_has_signature(m, "ay") ||
	    !dbus_message_iter_init(m, &it))
		return false;
	dbus_message_iter_recurse(&it, &sub);
	*data = NULL;
	*len = 0;
	dbus_message_iter_get_fixed_array(&sub, data, len);
	return true;
}

/*
 * One message that came to RX: its length (data, copied to buf), 0 (end
 * of stream; in local mode an empty message, which ipc_recv drops), or
 * -EAGAIN (nothing for the reader: another's, too big, not ours at all).
 */
static ssize_t rx_one(struct ipc_chan *ch, DBusMessage *m, void *buf)
{
	struct dbus_chan *d = ch->priv;
	const char *sender = dbus_message_get_sender(m);
	bool ours = sender && strcmp(sender, d->name[IPC_TX]) == 0;
	const void *data;
	int n;

	if (peer_gone(m, d->name[IPC_TX])) {
		d->eof = !ch->local;
		return ch->local ? -EAGAIN : 0;
	}
	if (!is_data(m, &data, &n))
		return -EAGAIN;		/* not for us: ignored */
	if ((size_t)n > ch->max_msg) {
		ch->dropped++;		/* only an outsider sends these */
		return -EAGAIN;
	}
	if (ours)
		rx_count(d, (size_t)n);
	if (n > 0) {
		memcpy(buf, data, (size_t)n);
		return n;
	}
	if (ch->local)
		return 0;
	if (!ours) {
		ch->dropped++;		/* an outsider's: no end of ours */
		return -EAGAIN;
	}
	d->eof = true;
	return 0;
}

/* receive now or -EAGAIN, reading the socket a bounded amount */
static ssize_t rx_take(struct ipc_chan *ch, void *buf)
{
	struct dbus_chan *d = ch->priv;
	DBusConnection *c = d->conn[IPC_RX];
	DBusMessage *m;
	int reads = 0;
	bool tx_lost = false;
	ssize_t n;

	if (d->eof)
		return 0;
	/* what we left in libdbus goes now; our TX cut off means the bus
	 * is gone, whose hang-up RX may not have seen yet */
	if (ch->open[IPC_TX])
		tx_lost = tx_pump(ch) < 0;
	for (;;) {
		m = dbus_connection_pop_message(c);
		if (m) {
			n = rx_one(ch, m, buf);
			dbus_message_unref(m);
			if (n != -EAGAIN)
				return n;
			continue;
		}
		if (!dbus_connection_get_is_connected(c))
			return -ECONNRESET;
		if (reads++ == DBUS_IPC_READS_PER_CALL ||
		    !fd_ready(ch->fd[IPC_RX], POLLIN))
			return tx_lost ? -ECONNRESET : -EAGAIN;
		(void)dbus_connection_read_write(c, 0);
	}
}

static ssize_t dbus_recv_msg(struct ipc_chan *ch, void *buf, size_t len,
			     int flags)
{
	struct dbus_chan *d = ch->priv;
	struct pollfd p = { .fd = d->epfd, .events = POLLIN };
	ssize_t n;

	(void)len;	/* ipc_recv checked it holds max_msg */
	for (;;) {
		n = rx_take(ch, buf);
		if (n != -EAGAIN || (flags & IPC_DONTWAIT))
			return n;
		if (ipc_stop)
			return -EINTR;
		if (poll(&p, 1, -1) < 0 && errno == EINTR)
			return -EINTR;
	}
}

/*
 * The writer is done: an empty message, after the rest. To a reader in
 * another process it waits (DBUS_IPC_HUP_MS at most) for room and until it is
 * written; in local mode it never waits, and is dropped on arrival.
 */
static void dbus_hangup(struct ipc_chan *ch)
{
	struct dbus_chan *d = ch->priv;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (tx_pump(ch) < 0 || d->rx_gone)
			return;
		if (!tx_pending(d) && credit_for(d, 0))
			break;
		if (ch->local || ipc_stop || ms_since(&t0) > DBUS_IPC_HUP_MS ||
		    tx_wait(ch, 0) < 0)
			return;
	}
	/* once in the socket, the bus delivers it even if we exit now */
	if (tx_put(ch, "", 0) == 0 && !ch->local)
		tx_flush(ch, DBUS_IPC_HUP_MS);
}

/*
 * Drop this process's handle on one end: close our copy of its socket,
 * which sends nothing (the other process's copy keeps the connection).
 */
static void dbus_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct dbus_chan *d = ch->priv;

	if (end == IPC_RX)
		ipc_fd_close(&d->epfd);	/* after fork: the other process's
					 * registrations stay as they are */
	else if (d->epfd >= 0)
		ep_set(d, ch->fd[IPC_TX], IPC_TX, 0);
	conn_close(d, end);
	ipc_fd_close(&ch->fd[end]);
}

static int dbus_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
			short *events)
{
	struct dbus_chan *d = ch->priv;

	*events = POLLIN;
	if (end == IPC_RX)
		return d->epfd;
	if (tx_pending(d))
		*events = POLLIN | POLLOUT;
	else if (credit_for(d, ch->max_msg))
		*events = POLLOUT;
	return ch->fd[IPC_TX];
}

/* local mode: all we sent has been received (or refused by the bus) */
static bool dbus_drained(const struct ipc_chan *ch)
{
	struct dbus_chan *d = ch->priv;
	long msgs, bytes;

	if (!conn_up(d, IPC_TX) || !conn_up(d, IPC_RX))
		return true;	/* nothing more can come */
	in_flight(d->sh, &msgs, &bytes);
	return msgs == 0 && !tx_pending(d);
}

/* room for a message of max_msg; true too when send() would fail at once */
static bool dbus_writable(const struct ipc_chan *ch)
{
	struct dbus_chan *d = ch->priv;

	if (tx_pump(ch) < 0 || d->tx_err || d->rx_gone)
		return true;
	return !tx_pending(d) && credit_for(d, ch->max_msg);
}

static void dbus_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	const struct dbus_chan *d = ch->priv;
	long msgs, bytes;

	in_flight(d->sh, &msgs, &bytes);
	st->queued_msgs = msgs;
	st->queued_bytes = bytes;
	st->capacity = (long)d->capacity;
}

static void dbus_destroy(struct ipc_chan *ch)
{
	struct dbus_chan *d = ch->priv;

	if (!d)
		return;
	for (int end = IPC_RX; end <= IPC_TX; end++) {
		conn_close(d, end);
		ipc_fd_close(&ch->fd[end]);
	}
	ipc_fd_close(&d->epfd);
	ipc_dbus_bus_put(d->bus);
	if (d->sh)
		(void)munmap(d->sh, sizeof(*d->sh));
	free(d);
	ch->priv = NULL;
}

/* our own dups of the sockets (libdbus closes its own when the bus goes)
 * and the RX epoll set */
static int chan_fds(struct ipc_chan *ch, struct dbus_chan *d)
{
	int fd;

	for (int end = IPC_RX; end <= IPC_TX; end++) {
		if (!dbus_connection_get_socket(d->conn[end], &fd))
			return -EBADF;
		ch->fd[end] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (ch->fd[end] < 0)
			return -errno;
	}
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	ep_set(d, ch->fd[IPC_RX], IPC_RX, EPOLLIN);
	ep_set(d, ch->fd[IPC_TX], IPC_TX, EPOLLIN);
	return d->ep_events[IPC_RX] ? 0 : -errno;
}

/* both connections, RX's name, each watching the other, fds, object */
static int chan_connect(struct ipc_chan *ch, struct dbus_chan *d)
{
	int err, n;

	clock_gettime(CLOCK_MONOTONIC, &d->t0);
	if ((err = conn_open(d, IPC_RX)) < 0 ||
	    (err = conn_open(d, IPC_TX)) < 0 ||
	    (err = own_name(d)) < 0 ||
	    (err = watch_peer(d, IPC_RX, d->name[IPC_TX])) < 0 ||
	    (err = watch_peer(d, IPC_TX, d->name[IPC_RX])) < 0 ||
	    (err = chan_fds(ch, d)) < 0)
		return err;
	/* the calls' replies came after the bus's signals: all read */
	discard_queued(d->conn[IPC_RX]);
	discard_queued(d->conn[IPC_TX]);
	n = snprintf(ch->object, sizeof(ch->object), "%s,dest=%s",
		     ipc_dbus_bus_public(d->bus), d->own);
	return n < 0 || (size_t)n >= sizeof(ch->object) ? -ENAMETOOLONG : 0;
}

static void chan_disconnect(struct ipc_chan *ch, struct dbus_chan *d)
{
	for (int end = IPC_RX; end <= IPC_TX; end++) {
		conn_close(d, end);
		ipc_fd_close(&ch->fd[end]);
		d->ep_events[end] = 0;
	}
	ipc_fd_close(&d->epfd);
}

/* a bus, both ends on it; one more bus if the first refused us (full:
 * outsiders took its connections), did not answer (stopped) or is gone
 * (killed, not reaped yet) */
static int chan_on_bus(struct ipc_chan *ch, struct dbus_chan *d,
		       const struct ipc_opts *o)
{
	int err;

	for (int tries = 0;; tries++) {
		err = ipc_dbus_bus_get(&d->bus, o, ch->max_msg, d->capacity);
		if (err < 0)
			return err;
		err = chan_connect(ch, d);
		if ((err != -EUSERS && err != -ETIMEDOUT &&
		     err != -ECONNREFUSED) || tries == 1)
			break;
		ipc_dbus_bus_retire(d->bus);
		chan_disconnect(ch, d);
		ipc_dbus_bus_put(d->bus);
		d->bus = NULL;
	}
	if (err == 0 && !o->visible)
		ipc_dbus_bus_hide(d->bus);	/* both ends are connected */
	return err;
}

static int dbus_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct dbus_chan *d;
	size_t cap = o->capacity ? o->capacity : DBUS_IPC_DEFAULT_CAP;
	int err;

	ch->max_msg = o->max_msg ? o->max_msg : DBUS_IPC_DEFAULT_MAX;
	if (ch->max_msg > DBUS_IPC_LIMIT_MAX)
		return -EMSGSIZE;
	if (cap > DBUS_IPC_LIMIT_CAP) {
		if (!o->local)
			return -EINVAL;
		cap = DBUS_IPC_LIMIT_CAP;
	}
	if (cap < ch->max_msg)
		cap = ch->max_msg;	/* a message always fits alone */
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->epfd = -1;
	d->capacity = cap;
	ch->priv = d;
	d->sh = mmap(NULL, sizeof(*d->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (d->sh == MAP_FAILED) {
		d->sh = NULL;
		err = -errno;
	} else {
		err = chan_on_bus(ch, d, o);
	}
	if (err < 0) {
		dbus_destroy(ch);
		ch->object[0] = '\0';
	}
	return err;
}

const struct ipc_transport ipc_dbus = {
	.name      = "dbus",
	.what      = "D-Bus signals through a private dbus-daemon, messages",
	.caps      = IPC_MESSAGES,
	.create    = dbus_create,
	.close_end = dbus_close_end,
	.hangup    = dbus_hangup,
	.send      = dbus_send_msg,
	.recv      = dbus_recv_msg,
	.wait_fd   = dbus_wait_fd,
	.drained   = dbus_drained,
	.writable  = dbus_writable,
	.stats     = dbus_stats,
	.destroy   = dbus_destroy,
};
