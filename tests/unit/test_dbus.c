/*
 * test_dbus.c - quirks of the dbus transport: an outsider on the bus
 * (driving libdbus directly, as any program of ours could) sending empty,
 * oversized, wrong-interface and wrong-type messages, fake bus signals and
 * a flood that makes the bus refuse ours; the bus killed under a channel;
 * the bus process and its socket gone after destroy; no dbus-daemon in
 * PATH, one that never listens and one that exits; a stopped bus; the
 * bound on buses and channels per bus; the credit; dropped copies after
 * fork, a reader gone, a writer killed; the bench's forked pair with
 * 1 MiB messages. Every channel lives in a private runtime dir that must
 * be empty at the end.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <dbus/dbus.h>

#include "transport.h"
#include "dbus_bus.h"
#include "testlib.h"

extern const struct ipc_transport ipc_dbus;

static char rundir[64];
static char saved_path[4096];	/* PATH, as test_start_errors found it */

static struct ipc_opts opts(bool local)
{
	struct ipc_opts o = { .rundir = rundir, .visible = true,
			      .local = local };
	return o;
}

/* the socket path in an object "unix:path=<path>,dest=<name>" */
static void object_path(const struct ipc_chan *ch, char *buf, size_t size)
{
	const char *p = ch->object + strlen("unix:path=");
	size_t n = strcspn(p, ",");

	assert_true(strncmp(ch->object, "unix:path=", 10) == 0 && n < size);
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* the pid of the dbus-daemon behind ch: its --config-file names it */
static pid_t bus_pid(const struct ipc_chan *ch)
{
	char path[256], want[300], file[300], cmd[4096];
	struct dirent *de;
	DIR *d = opendir("/proc");
	pid_t pid = 0;
	ssize_t n;
	int fd;

	object_path(ch, path, sizeof(path));
	snprintf(want, sizeof(want), "--config-file=%s.conf", path);
	while (d && !pid && (de = readdir(d)) != NULL) {
		snprintf(file, sizeof(file), "/proc/%s/cmdline", de->d_name);
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i += strlen(cmd + i) + 1) {
			cmd[n] = '\0';
			if (strcmp(cmd + i, want) == 0)
				pid = atoi(de->d_name);
		}
	}
	if (d)
		closedir(d);
	return pid;
}

/* an outsider: its own connection to the channel's bus, registered */
static DBusConnection *outsider(const struct ipc_chan *ch)
{
	DBusConnection *c;
	DBusError e;

	dbus_error_init(&e);
	/* the object is an address (libdbus ignores the dest= key) */
	c = dbus_connection_open_private(ch->object, &e);
	assert_non_null(c);
	assert_true(dbus_bus_register(c, &e));
	return c;
}

static void outsider_close(DBusConnection *c)
{
	dbus_connection_close(c);
	dbus_connection_unref(c);
}

static const char *dest_of(const struct ipc_chan *ch)
{
	const char *p = strstr(ch->object, ",dest=");

	assert_non_null(p);
	return p + 6;
}

/* a message of type to dest: iface.member with a byte array of len, or
 * with a string when sig is "s", or two arrays when sig is "ayay" */
static void put(DBusConnection *c, const char *dest, int type,
		const char *iface, const char *sig, size_t len)
{
	unsigned char *buf = calloc(1, len + 1);
	const unsigned char *p = buf;
	const char *s = "text";
	DBusMessage *m = dbus_message_new(type);

	assert_non_null(m);
	assert_true(dbus_message_set_path(m, "/org/ipcfs/Channel") &&
		    dbus_message_set_interface(m, iface) &&
		    dbus_message_set_member(m, "Data") &&
		    dbus_message_set_destination(m, dest));
	dbus_message_set_no_reply(m, TRUE);
	memset(buf, 'o', len);
	if (strcmp(sig, "s") == 0)
		assert_true(dbus_message_append_args(m, DBUS_TYPE_STRING, &s,
						     DBUS_TYPE_INVALID));
	for (int i = 0; i < (strcmp(sig, "ayay") == 0 ? 2 : 1); i++)
		assert_true(strcmp(sig, "s") == 0 ||
			    dbus_message_append_args(m, DBUS_TYPE_ARRAY,
				DBUS_TYPE_BYTE, &p, (int)len,
				DBUS_TYPE_INVALID));
	assert_true(dbus_connection_send(c, m, NULL));
	dbus_message_unref(m);
	free(buf);
}

/* everything the outsider sent has been routed by the bus */
static void outsider_sync(DBusConnection *c)
{
	DBusMessage *m, *r;

	dbus_connection_flush(c);
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS, "GetId");
	r = dbus_connection_send_with_reply_and_block(c, m, 5000, NULL);
	dbus_message_unref(m);
	if (r)
		dbus_message_unref(r);
}

/* receive one message the daemon's way, never seeing 0 in local mode */
static ssize_t recv_one(struct ipc_chan *ch, void *buf)
{
	return tl_recv_nowait(ch, buf, ch->max_msg);
}

/* nothing more comes within ms: -EAGAIN after the last receive */
static void quiet(struct ipc_chan *ch, void *buf, int ms)
{
	do
		assert_int_equal(ipc_recv(ch, buf, ch->max_msg, IPC_DONTWAIT),
				 -EAGAIN);
	while (tl_rx_poll(ch, ms) > 0);
}

/*
 * Local mode, as the daemon has it: an outsider's empty message is dropped
 * and counted, a too-long one dropped and counted, other interfaces and
 * signatures ignored, its data delivered; ours still come in order and the
 * channel is drained after them.
 */
static void test_outsider_local(void **state)
{
	struct ipc_opts o = opts(true);
	unsigned char buf[100];
	struct ipc_chan ch;
	DBusConnection *c;

	(void)state;
	o.max_msg = 100;
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	c = outsider(&ch);
	put(c, dest_of(&ch), DBUS_MESSAGE_TYPE_SIGNAL, "org.ipcfs.Channel",
	    "ay", 0);
	put(c, dest_of(&ch), DBUS_MESSAGE_TYPE_SIGNAL, "org.ipcfs.Channel",
	    "ay", 101);
	put(c, dest_of(&ch), DBUS_MESSAGE_TYPE_SIGNAL, "org.example.Other",
	    "ay", 5);
	put(c, dest_of(&ch), DBUS_MESSAGE_TYPE_SIGNAL, "org.ipcfs.Channel",
	    "s", 0);
	put(c, dest_of(&ch), DBUS_MESSAGE_TYPE_METHOD_CALL,
	    "org.ipcfs.Channel", "ayay", 3);
	put(c, dest_of(&ch), DBUS_MESSAGE_TYPE_METHOD_CALL,
	    "org.ipcfs.Channel", "ay", 4);
	outsider_sync(c);
	assert_int_equal(ipc_send(&ch, "ours", 4, IPC_DONTWAIT), 4);
	assert_int_equal(recv_one(&ch, buf), 4);
	assert_memory_equal(buf, "oooo", 4);	/* the outsider's data */
	assert_int_equal(recv_one(&ch, buf), 4);
	assert_memory_equal(buf, "ours", 4);
	quiet(&ch, buf, 50);
	assert_int_equal(ch.dropped, 2);
	assert_true(ipc_drained(&ch));
	outsider_close(c);
	ipc_chan_close(&ch);
}

/*
 * Not local (a reader in this process, the bench's way): an outsider's
 * empty message is no end of stream, nor are fake NameOwnerChanged
 * signals for our connections; a message over the bus's own limit gets
 * the outsider disconnected, and ours go on.
 */
static void test_outsider_eof(void **state)
{
	struct ipc_opts o = opts(false);
	unsigned char buf[65536];
	struct ipc_chan ch;
	DBusConnection *c;
	DBusMessage *m;
	const char *a = ":1.0", *b = "";

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	c = outsider(&ch);
	put(c, dest_of(&ch), DBUS_MESSAGE_TYPE_SIGNAL, "org.ipcfs.Channel",
	    "ay", 0);
	for (int i = 0; i < 4; i++) {
		char name[16];
		const char *np = name;

		snprintf(name, sizeof(name), ":1.%d", i);
		m = dbus_message_new_signal(DBUS_PATH_DBUS,
					    DBUS_INTERFACE_DBUS,
					    "NameOwnerChanged");
		assert_true(dbus_message_set_destination(m, dest_of(&ch)) &&
			    dbus_message_append_args(m, DBUS_TYPE_STRING, &np,
				DBUS_TYPE_STRING, &a, DBUS_TYPE_STRING, &b,
				DBUS_TYPE_INVALID));
		assert_true(dbus_connection_send(c, m, NULL));
		dbus_message_unref(m);
	}
	outsider_sync(c);
	assert_int_equal(ipc_send(&ch, "ours", 4, 0), 4);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 4);
	assert_int_equal(ch.dropped, 1);
	/* the bus's max_message_size: the outsider is thrown out */
	put(c, dest_of(&ch), DBUS_MESSAGE_TYPE_SIGNAL, "org.ipcfs.Channel",
	    "ay", 2 << 20);
	dbus_connection_flush(c);
	for (int i = 0; i < 500 && dbus_connection_get_is_connected(c); i++)
		(void)dbus_connection_read_write(c, 10);
	assert_false(dbus_connection_get_is_connected(c));
	assert_int_equal(ipc_send(&ch, "more", 4, 0), 4);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "more", 4);
	outsider_close(c);
	ipc_chan_close(&ch);
}

/* an outsider floods the reader: 4 MiB, pushed as far as the bus takes */
static void flood(struct ipc_chan *ch, DBusConnection *c)
{
	for (int i = 0; i < 64; i++)
		put(c, dest_of(ch), DBUS_MESSAGE_TYPE_SIGNAL,
		    "org.example.Flood", "ay", 65000);
	/* the bus stops reading it at max_incoming_bytes: no flush */
	for (int i = 0; i < 50; i++)
		(void)dbus_connection_read_write(c, 10);
}

/*
 * With the bus's limits as made, an outsider's flood stops at its own
 * share (the bus stops reading it) and ours still go: never refused.
 */
static void test_flood(void **state)
{
	struct ipc_opts o = opts(true);
	unsigned char *buf = malloc(65536);
	struct ipc_chan ch;
	DBusConnection *c;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	c = outsider(&ch);
	flood(&ch, c);
	assert_true(dbus_connection_has_messages_to_send(c));
	assert_int_equal(ipc_send(&ch, "ours", 4, IPC_DONTWAIT), 4);
	assert_int_equal(recv_one(&ch, buf), 4);
	assert_memory_equal(buf, "ours", 4);
	assert_int_equal(ipc_send(&ch, "again", 5, IPC_DONTWAIT), 5);
	assert_int_equal(recv_one(&ch, buf), 5);
	assert_true(ipc_drained(&ch));
	outsider_close(c);
	ipc_chan_close(&ch);
	free(buf);
}

/*
 * A bus whose receiver queue is smaller than the outsiders' share (a test
 * limit): the bus refuses our next message (LimitsExceeded). The next send
 * says so (-ENOBUFS), the refused message is no longer in flight, and once
 * read the channel is drained and works.
 */
static void test_refused(void **state)
{
	struct ipc_dbus_limits l = { IPC_DBUS_BUS_CHANNELS, IPC_DBUS_MAX_BUSES,
				     IPC_DBUS_BUS_OUTSIDERS, IPC_DBUS_START_MS,
				     100000 };
	struct ipc_opts o = opts(true);
	unsigned char *buf = malloc(65536);
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	DBusConnection *c;
	struct pollfd p = { .events = POLLIN };
	short events;

	(void)state;
	ipc_dbus_bus_set_limits(&l);
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	c = outsider(&ch);
	flood(&ch, c);
	assert_int_equal(ipc_send(&ch, "lost", 4, IPC_DONTWAIT), 4);
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_msgs, 1);
	/* the refusal comes to the TX connection */
	p.fd = ipc_wait_fd(&ch, IPC_TX, &events);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(ipc_send(&ch, "next", 4, IPC_DONTWAIT), -ENOBUFS);
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_msgs, 0);
	quiet(&ch, buf, 200);
	assert_true(ipc_drained(&ch));
	outsider_close(c);
	assert_int_equal(ipc_send(&ch, "next", 4, IPC_DONTWAIT), 4);
	assert_int_equal(recv_one(&ch, buf), 4);
	assert_memory_equal(buf, "next", 4);
	ipc_chan_close(&ch);
	ipc_dbus_bus_set_limits(NULL);
	free(buf);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* the bus killed under a channel: a clear error at both ends, no hang;
 * the next channel gets a new bus, even with one bus allowed */
static void test_bus_killed(void **state)
{
	struct ipc_dbus_limits l = { IPC_DBUS_BUS_CHANNELS, 1,
				     IPC_DBUS_BUS_OUTSIDERS, IPC_DBUS_START_MS,
				     0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct ipc_opts o = opts(true);
	char before[256], after[256];
	unsigned char buf[65536];
	struct ipc_chan ch, ch2;
	pid_t pid;

	(void)state;
	ipc_dbus_bus_set_limits(&l);
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	pid = bus_pid(&ch);
	assert_true(pid > 0);
	object_path(&ch, before, sizeof(before));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tl_rx_poll(&ch, 5000), 1);	/* the hang-up fires */
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT),
			 -ECONNRESET);
	sigaction(SIGALRM, &sa, NULL);
	alarm(5);			/* a blocking one must not wait */
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), -ECONNRESET);
	assert_int_equal(ipc_send(&ch, "x", 1, 0), -ECONNRESET);
	alarm(0);
	assert_true(ipc_writable(&ch));
	assert_true(ipc_drained(&ch));
	/* the dead bus leaves its slot while a channel still uses it */
	assert_int_equal(ipc_chan_open(&ch2, &ipc_dbus, &o), 0);
	ipc_chan_close(&ch);
	assert_int_equal(access(before, F_OK), -1);
	object_path(&ch2, after, sizeof(after));
	assert_string_not_equal(before, after);
	assert_int_equal(ipc_send(&ch2, "x", 1, IPC_DONTWAIT), 1);
	assert_int_equal(recv_one(&ch2, buf), 1);
	ipc_chan_close(&ch2);
	ipc_dbus_bus_set_limits(NULL);
}

/* a stopped bus (SIGSTOP): the next channel waits for its answers 2 s
 * at most (IPC_DBUS_CALL_MS), then goes to a new bus; the first works
 * again once the bus runs */
static void test_bus_stopped(void **state)
{
	struct ipc_opts o = opts(true);
	char p0[256], p1[256];
	unsigned char buf[65536];
	struct ipc_chan ch0, ch1;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch0, &ipc_dbus, &o), 0);
	pid = bus_pid(&ch0);
	assert_true(pid > 0);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(ipc_chan_open(&ch1, &ipc_dbus, &o), 0);
	object_path(&ch0, p0, sizeof(p0));
	object_path(&ch1, p1, sizeof(p1));
	assert_string_not_equal(p0, p1);
	assert_int_equal(ipc_send(&ch1, "x", 1, IPC_DONTWAIT), 1);
	assert_int_equal(recv_one(&ch1, buf), 1);
	assert_int_equal(ipc_send(&ch0, "y", 1, IPC_DONTWAIT), 1);
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_int_equal(recv_one(&ch0, buf), 1);
	assert_int_equal(buf[0], 'y');
	ipc_chan_close(&ch1);
	ipc_chan_close(&ch0);
	assert_int_equal(kill(pid, 0), -1);
}

/* destroy stops the bus: its process is reaped, its socket gone; a
 * hidden channel's socket is gone as soon as it is open */
static void test_bus_gone(void **state)
{
	struct ipc_opts o = opts(false), hidden = { .rundir = rundir };
	char path[256];
	struct ipc_chan ch, ch2;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	assert_int_equal(ipc_chan_open(&ch2, &ipc_dbus, &o), 0);
	pid = bus_pid(&ch);
	assert_true(pid > 0);
	assert_int_equal(bus_pid(&ch2), pid);	/* one bus for both */
	object_path(&ch, path, sizeof(path));
	ipc_chan_close(&ch);
	assert_int_equal(kill(pid, 0), 0);	/* ch2 still uses it */
	ipc_chan_close(&ch2);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &hidden), 0);
	pid = bus_pid(&ch);
	assert_true(pid > 0);
	object_path(&ch, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(ipc_send(&ch, "x", 1, 0), 1);
	ipc_chan_close(&ch);
	assert_int_equal(kill(pid, 0), -1);
}

/* a fake dbus-daemon in dir: `script` is its body */
static void fake_daemon(const char *dir, const char *script)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/dbus-daemon", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", script);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

/* no dbus-daemon in PATH: ENOENT; one that exits: EIO; one that never
 * listens: ETIMEDOUT (after start_ms), killed; nothing left behind */
static void test_start_errors(void **state)
{
	struct ipc_dbus_limits l = { IPC_DBUS_BUS_CHANNELS, IPC_DBUS_MAX_BUSES,
				     IPC_DBUS_BUS_OUTSIDERS, 300, 0 };
	struct ipc_opts o = opts(true);
	char dir[64];
	struct ipc_chan ch;

	(void)state;
	snprintf(saved_path, sizeof(saved_path), "%s", getenv("PATH"));
	snprintf(dir, sizeof(dir), "/tmp/ipcfs-test-dbus-bin-XXXXXX");
	assert_non_null(mkdtemp(dir));
	setenv("PATH", dir, 1);
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), -ENOENT);
	fake_daemon(dir, "exit 1");
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), -EIO);
	fake_daemon(dir, "exec /bin/sleep 60");
	ipc_dbus_bus_set_limits(&l);
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), -ETIMEDOUT);
	ipc_dbus_bus_set_limits(NULL);
	setenv("PATH", saved_path, 1);
	assert_int_equal(tl_count_entries(rundir, ""), 0);
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/dbus-daemon");
	unlink(dir);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(rmdir(dir), 0);
}

/* limits: a bus takes `channels`, then another starts; past `buses`
 * full ones, -EMFILE; a bus whose connections outsiders took (it refuses
 * us) is passed over for a new one */
static void test_bound(void **state)
{
	struct ipc_dbus_limits l = { 2, 2, 0, IPC_DBUS_START_MS, 0 };
	struct ipc_opts o = opts(true);
	char p[5][256];
	struct ipc_chan ch[5];
	DBusConnection *c;

	(void)state;
	ipc_dbus_bus_set_limits(&l);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ipc_chan_open(&ch[i], &ipc_dbus, &o), 0);
		object_path(&ch[i], p[i], sizeof(p[i]));
	}
	assert_string_equal(p[0], p[1]);
	assert_string_equal(p[2], p[3]);
	assert_string_not_equal(p[0], p[2]);
	assert_int_equal(ipc_chan_open(&ch[4], &ipc_dbus, &o), -EMFILE);
	ipc_chan_close(&ch[1]);
	assert_int_equal(ipc_chan_open(&ch[1], &ipc_dbus, &o), 0);
	object_path(&ch[1], p[1], sizeof(p[1]));
	assert_string_equal(p[0], p[1]);
	for (int i = 0; i < 4; i++)
		ipc_chan_close(&ch[i]);

	/* 2 channels' 4 connections: an outsider takes the 4th */
	assert_int_equal(ipc_chan_open(&ch[0], &ipc_dbus, &o), 0);
	c = outsider(&ch[0]);
	assert_int_equal(ipc_chan_open(&ch[1], &ipc_dbus, &o), 0);
	object_path(&ch[0], p[0], sizeof(p[0]));
	object_path(&ch[1], p[1], sizeof(p[1]));
	assert_string_not_equal(p[0], p[1]);
	assert_int_equal(ipc_send(&ch[1], "x", 1, IPC_DONTWAIT), 1);
	assert_int_equal(recv_one(&ch[1], p[2]), 1);
	outsider_close(c);
	ipc_chan_close(&ch[0]);
	ipc_chan_close(&ch[1]);
	ipc_dbus_bus_set_limits(NULL);
}

/* the credit: sends stop at the capacity (or the message count), and the
 * bus never refuses ours; stats say what is in flight */
static void test_credit(void **state)
{
	struct ipc_opts o = opts(true);
	unsigned char buf[1000] = { 0 };
	struct ipc_chan_stats st;
	struct ipc_chan ch;
	long n = 0;

	(void)state;
	o.max_msg = 1000;
	o.capacity = 10000;
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	while (ipc_send(&ch, buf, 1000, IPC_DONTWAIT) == 1000)
		n++;
	assert_int_equal(n, 10);
	assert_false(ipc_writable(&ch));
	ipc_stats(&ch, &st);
	assert_int_equal(st.queued_bytes, 10000);
	assert_int_equal(st.queued_msgs, 10);
	assert_int_equal(st.capacity, 10000);
	assert_int_equal(recv_one(&ch, buf), 1000);
	assert_true(ipc_writable(&ch));
	while (n-- > 1)
		assert_int_equal(recv_one(&ch, buf), 1000);
	assert_true(ipc_drained(&ch));

	/* tiny messages: the count stops them (the socket may stop them
	 * first, for a while: each takes a few hundred bytes of its buffer) */
	n = 0;
	for (;;) {
		ssize_t r = ipc_send(&ch, "x", 1, IPC_DONTWAIT);
		short events;
		struct pollfd p;

		if (r == 1) {
			n++;
			continue;
		}
		assert_int_equal(r, -EAGAIN);
		ipc_stats(&ch, &st);
		if (st.queued_msgs == IPC_DBUS_MAX_INFLIGHT)
			break;
		p.fd = ipc_wait_fd(&ch, IPC_TX, &events);
		p.events = events;
		assert_int_equal(poll(&p, 1, 5000), 1);
	}
	assert_int_equal(n, IPC_DBUS_MAX_INFLIGHT);
	assert_false(ipc_writable(&ch));
	while (n-- > 0)
		assert_int_equal(recv_one(&ch, buf), 1);
	assert_true(ipc_drained(&ch));
	ipc_chan_close(&ch);

	o.max_msg = 17 << 20;
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), -EMSGSIZE);
	o.max_msg = 0;
	o.local = false;
	o.capacity = 1ul << 30;
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), -EINVAL);
}

/*
 * After fork each process keeps one connection: a child that drops its
 * copies and exits disturbs nothing here. A child holding the reader that
 * exits: -EPIPE here. A writer killed: end of stream here.
 */
static void test_fork_ends(void **state)
{
	struct ipc_opts o = opts(false);
	unsigned char buf[65536];
	struct ipc_chan ch;
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	for (int end = IPC_RX; end <= IPC_TX; end++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			ipc_keep_end(&ch, (enum ipc_end)end);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_int_equal(ipc_send(&ch, "still", 5, 0), 5);
		assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 5);
	}
	pid = fork();
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_RX);
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_TX);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	for (int i = 0; i < 500; i++) {
		ssize_t n = ipc_send(&ch, "x", 1, 0);

		if (n == -EPIPE)
			break;
		assert_int_equal(n, 1);
		assert_true(i < 499);
		usleep(10000);
	}
	ipc_chan_close(&ch);

	assert_int_equal(ipc_chan_open(&ch, &ipc_dbus, &o), 0);
	pid = fork();
	if (pid == 0) {
		ipc_keep_end(&ch, IPC_TX);
		(void)ipc_send(&ch, "last", 4, 0);
		pause();
		_exit(0);
	}
	ipc_keep_end(&ch, IPC_RX);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 4);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), 0), 0);
	ipc_chan_close(&ch);
}

/*
 * The bench's pattern, with each process's blocking calls: a message the
 * socket does not take whole (1 MiB) must be written before the sender
 * goes on to wait for its peer elsewhere (it waited for ever, once).
 */
static void test_fork_pair(void **state)
{
	struct ipc_opts hidden = { .rundir = rundir, .max_msg = 1 << 20 };
	struct ipc_opts o = opts(false);

	(void)state;
	tl_fork_pair(&ipc_dbus, &hidden, 1 << 20, 5, 20, 0);
	tl_fork_pair(&ipc_dbus, &o, 100, 200, 2000, 0);
}

/* the bench's child killed mid-run: the parent is done at once */
static void test_killed_child(void **state)
{
	struct ipc_opts hidden = { .rundir = rundir };

	(void)state;
	tl_killed_child(&ipc_dbus, &hidden);
}

static void test_nothing_left(void **state)
{
	(void)state;
	assert_int_equal(tl_count_entries(rundir, ""), 0);
}

static int make_rundir(void **state)
{
	(void)state;
	snprintf(rundir, sizeof(rundir), "/tmp/ipcfs-test-dbus-XXXXXX");
	return mkdtemp(rundir) ? 0 : -1;
}

static int remove_rundir(void **state)
{
	(void)state;
	return rmdir(rundir);
}

/* a failed test leaves its limits and PATH behind: not to the next one */
static int reset(void **state)
{
	(void)state;
	ipc_dbus_bus_set_limits(NULL);
	if (saved_path[0])
		setenv("PATH", saved_path, 1);
	return 0;
}

#define T(fn) cmocka_unit_test_teardown(fn, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_outsider_local), T(test_outsider_eof), T(test_flood),
		T(test_refused), T(test_bus_killed), T(test_bus_stopped),
		T(test_bus_gone), T(test_start_errors), T(test_bound),
		T(test_credit), T(test_fork_ends), T(test_fork_pair),
		T(test_killed_child), T(test_nothing_left),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("dbus", tests, make_rundir,
					   remove_rundir);
}
