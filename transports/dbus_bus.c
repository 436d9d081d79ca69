/*
 * dbus_bus.c - the private message bus of the dbus transport: a real
 * dbus-daemon(1), never the system or session bus, started by the
 * process that makes a channel and stopped with its last channel.
 *
 * Each bus gets a generated configuration in the runtime directory
 * (ipcfs.<pid>.<n>.<token>.bus.conf, removed once the daemon listens):
 * it listens on unix:path=<rundir>/ipcfs.<pid>.<n>.<token>.bus (made
 * 0600 once it listens), allows EXTERNAL authentication only (so only
 * our uid may connect: the daemon refuses other users, and the 0700
 * runtime directory hides the socket anyway), sends and receives between
 * any of its connections, lets
 * connections own org.ipcfs.Channel.* names and nothing else, and
 * carries explicit limits sized for the channels it serves (see
 * bus_limits). The daemon prints its address on a pipe once it listens:
 * that is the start-up check, bounded by IPC_DBUS_START_MS.
 *
 * It must not outlive us: the child sets PR_SET_PDEATHSIG (SIGKILL) and
 * checks getppid() before exec, so even a SIGKILL of its creator takes
 * the bus along. (The signal follows the creating *thread*; ipcfs and
 * the bench make channels from their one thread.) What a killed daemon
 * leaves, its socket path, carries our name and is swept by the next
 * start (ipc_sweep_stale). destroy() stops it with SIGTERM, waits
 * (at most IPC_DBUS_STOP_MS, then SIGKILL) and reaps it.
 *
 * Resource use: visible channels (the daemon's) share one bus per process
 * for up to IPC_DBUS_BUS_CHANNELS channels, then start another, at most
 * IPC_DBUS_MAX_BUSES (-EMFILE past that). One bus per channel would cost
 * a process (about 4.7 MB, 0.4 MB of it its own) for each of the 256
 * directories another user may make (docs/DESIGN.md, "dbus"). Hidden
 * channels (the bench's) get a bus each, whose socket is unlinked once
 * both ends are connected.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dbus/dbus.h>

#include "dbus_bus.h"

/* how long a bus may take to exit on SIGTERM before it gets SIGKILL */
#define IPC_DBUS_STOP_MS	1000
/* room at the bus for its own messages to a connection */
#define IPC_DBUS_BUS_SLACK	(64u << 10)
/* a shared bus fits channels of at least these (dbus.c's defaults) */
#define IPC_DBUS_SHARED_MSG	(64u << 10)
#define IPC_DBUS_SHARED_CAP	(256u << 10)

struct ipc_dbus_bus {
	pid_t pid;		/* the dbus-daemon; 0 once reaped */
	pid_t owner;		/* the process that started it */
	unsigned users;		/* channels on it, in this process's memory */
	bool shared;		/* in shared_buses[], open to more channels */
	size_t max_msg, capacity;	/* its limits fit channels this big */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char conf[PATH_MAX];
	char address[IPC_OBJECT_MAX + 64];	/* printed, with the guid */
	char public[IPC_OBJECT_MAX];	/* "unix:path=..." */
};

static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ipc_dbus_bus *shared_buses[IPC_DBUS_MAX_BUSES];

#define DEFAULT_LIMITS { \
	.channels = IPC_DBUS_BUS_CHANNELS, .buses = IPC_DBUS_MAX_BUSES, \
	.outsiders = IPC_DBUS_BUS_OUTSIDERS, .start_ms = IPC_DBUS_START_MS, \
}
static const struct ipc_dbus_limits default_limits = DEFAULT_LIMITS;
static struct ipc_dbus_limits limits = DEFAULT_LIMITS;

void ipc_dbus_bus_set_limits(const struct ipc_dbus_limits *l)
{
	pthread_mutex_lock(&bus_lock);
	limits = l ? *l : default_limits;
	if (limits.buses > IPC_DBUS_MAX_BUSES)
		limits.buses = IPC_DBUS_MAX_BUSES;
	pthread_mutex_unlock(&bus_lock);
}

/* the limits a bus gets for channels of max_msg and capacity */
struct bus_limits {
	unsigned long msg;	/* max_message_size: one message, header too */
	unsigned long in;	/* max_incoming_bytes: one sender's, queued */
	unsigned long out;	/* max_outgoing_bytes: one receiver's queue */
	unsigned conns;		/* max_completed_connections, per user too */
};

/*
 * The bus charges a message to its sender until it is written to its
 * receiver, and stops reading a sender past max_incoming_bytes: that is
 * one connection's share of the bus's memory, room for all of a channel's
 * credit. A receiver's queue may then hold at most every connection's
 * share: with max_outgoing_bytes that large, the bus never refuses (nor
 * loses) a message of ours, whatever outsiders send (while it fits an
 * int; see docs/DESIGN.md, "dbus").
 */
static void bus_limits(const struct ipc_dbus_bus *b, struct bus_limits *l)
{
	unsigned long long out;

	l->msg = b->max_msg + IPC_DBUS_HEADER_MAX;
	l->in = b->capacity + IPC_DBUS_HEADER_MAX * IPC_DBUS_MAX_INFLIGHT +
		IPC_DBUS_BUS_SLACK;
	if (l->in < 2 * l->msg)
		l->in = 2 * l->msg;
	l->conns = b->shared ? 2 * limits.channels + limits.outsiders : 2 + 2;
	out = (unsigned long long)l->conns * l->in + IPC_DBUS_BUS_SLACK;
	l->out = out > INT_MAX ? INT_MAX : (unsigned long)out;
	if (limits.queue)
		l->out = limits.queue;
}

/* s with &, <, >, " and ' as XML entities, into buf; false if too long */
static bool xml_escape(const char *s, char *buf, size_t size)
{
	size_t used = 0;
	const char *rep;
	char one[2] = { 0 };

	for (; *s; s++) {
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default: one[0] = *s; rep = one; break;
		}
		if (used + strlen(rep) >= size)
			return false;
		memcpy(buf + used, rep, strlen(rep));
		used += strlen(rep);
	}
	buf[used] = '\0';
	return true;
}

/* write b->conf: where to listen, who may do what, and the limits */
static int bus_write_config(const struct ipc_dbus_bus *b)
{
	char listen[2 * IPC_OBJECT_MAX + 64];
	struct bus_limits l;
	int fd, err = 0;
	FILE *f;

	if (!xml_escape(b->public, listen, sizeof(listen)))
		return -ENAMETOOLONG;
	bus_limits(b, &l);
	fd = open(b->conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		(void)close(fd);
		(void)unlink(b->conf);
		return err;
	}
	fprintf(f,
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
		"Configuration 1.0//EN\"\n \"http://www.freedesktop.org/"
		"standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig>\n  <type>ipcfs</type>\n"
		"  <listen>%s</listen>\n  <auth>EXTERNAL</auth>\n"
		"  <policy context=\"default\">\n"
		"    <allow send_destination=\"*\"/>\n"
		"    <allow receive_sender=\"*\"/>\n"
		"    <deny own=\"*\"/>\n"
		"    <allow own_prefix=\"org.ipcfs.Channel\"/>\n"
		"  </policy>\n", listen);
	fprintf(f,
		"  <limit name=\"max_message_size\">%lu</limit>\n"
		"  <limit name=\"max_incoming_bytes\">%lu</limit>\n"
		"  <limit name=\"max_outgoing_bytes\">%lu</limit>\n"
		"  <limit name=\"max_message_unix_fds\">0</limit>\n"
		"  <limit name=\"max_completed_connections\">%u</limit>\n"
		"  <limit name=\"max_connections_per_user\">%u</limit>\n"
		"  <limit name=\"max_incomplete_connections\">16</limit>\n"
		"  <limit name=\"auth_timeout\">%d</limit>\n"
		"  <limit name=\"max_names_per_connection\">4</limit>\n"
		"  <limit name=\"max_match_rules_per_connection\">16</limit>\n"
		"  <limit name=\"max_replies_per_connection\">64</limit>\n"
		"  <limit name=\"reply_timeout\">%d</limit>\n"
		"</busconfig>\n", l.msg, l.in, l.out, l.conns, l.conns,
		IPC_DBUS_CALL_MS, IPC_DBUS_CALL_MS);
	if (ferror(f))
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (err)
		(void)unlink(b->conf);
	return err;
}

/*
 * The child, between fork and exec: die with the parent, leave its
 * process group (a terminal's ^C is the parent's to handle), reset the
 * signal mask, keep only /dev/null as 0-2, the address pipe as 3 and the
 * exec-error pipe as 4 (close-on-exec). Writes errno to 4 if exec fails.
 */
__attribute__((noreturn))
static void bus_child(int addr_fd, int err_fd, int null_fd, pid_t parent,
		      char *const argv[])
{
	sigset_t none;
	int a, e;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	(void)setpgid(0, 0);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	a = fcntl(addr_fd, F_DUPFD, 10);
	e = fcntl(err_fd, F_DUPFD_CLOEXEC, 10);
	if (a < 0 || e < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 ||
	    dup2(null_fd, 2) < 0 || dup2(a, 3) < 0 ||
	    dup3(e, 4, O_CLOEXEC) < 0 || close_range(5, ~0U, 0) < 0)
		_exit(127);
	execvp(argv[0], argv);
	e = errno;
	(void)!write(4, &e, sizeof(e));
	_exit(127);
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * Read one line from fd into buf within the deadline. 1: a line; 0: end
 * of file first; -ETIMEDOUT; -errno.
 */
static int read_line(int fd, char *buf, size_t size,
		     const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t used = 0;
	long left;
	ssize_t n;

	while (used < size - 1) {
		left = ms_left(deadline);
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n == 0)
			return 0;
		if (n > 0)
			used += (size_t)n;
		buf[used] = '\0';
		if (strchr(buf, '\n')) {
			*strchr(buf, '\n') = '\0';
			return 1;
		}
	}
	return -ENAMETOOLONG;
}

/* reap pid, waiting at most ms for it to exit, then SIGKILL */
static void reap(pid_t pid, int ms)
{
	pid_t r;

	for (int i = 0; i <= ms; i++) {
		r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return;	/* ECHILD: SIGCHLD ignored, reaped for us */
		if (i < ms)
			usleep(1000);
	}
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/*
 * The exec's outcome on the error pipe: 0 once exec succeeded (the pipe
 * closed), or the child's errno (-ENOENT: no dbus-daemon in PATH).
 */
static int exec_result(int fd, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int e;
	ssize_t n;

	for (;;) {
		long left = ms_left(deadline);

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = read(fd, &e, sizeof(e));
		if (n < 0 && errno == EINTR)
			continue;
		return n == sizeof(e) ? -e : 0;
	}
}

/* fork and exec the daemon on b->conf; its address in b->address */
static int bus_spawn(struct ipc_dbus_bus *b)
{
	char confarg[PATH_MAX + 16];
	char *argv[] = { "dbus-daemon", "--nofork", "--nopidfile",
			 "--nosyslog", confarg, "--print-address=3", NULL };
	int addr[2] = { -1, -1 }, errp[2] = { -1, -1 }, null_fd, err;
	struct timespec deadline;
	pid_t parent = getpid(), pid;

	snprintf(confarg, sizeof(confarg), "--config-file=%s", b->conf);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return -errno;
	if (pipe2(addr, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		err = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (pid == 0)
		bus_child(addr[1], errp[1], null_fd, parent, argv);
	b->pid = pid;
	ipc_fd_close(&addr[1]);
	ipc_fd_close(&errp[1]);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += (long)limits.start_ms * 1000000;
	deadline.tv_sec += deadline.tv_nsec / 1000000000;
	deadline.tv_nsec %= 1000000000;
	err = exec_result(errp[0], &deadline);
	if (!err)
		err = read_line(addr[0], b->address, sizeof(b->address),
				&deadline);
	if (err == 0)
		err = -EIO;	/* exited without listening: bad config... */
	if (err < 0) {
		if (err == -ETIMEDOUT)
			(void)kill(pid, SIGKILL);
		reap(pid, err == -ETIMEDOUT ? 0 : IPC_DBUS_STOP_MS);
		b->pid = 0;
	} else {
		err = 0;
	}
out:
	ipc_fd_close(&addr[0]);
	ipc_fd_close(&addr[1]);
	ipc_fd_close(&errp[0]);
	ipc_fd_close(&errp[1]);
	ipc_fd_close(&null_fd);
	return err;
}

/* the daemon still runs (reaping it if it died) */
static bool bus_alive(struct ipc_dbus_bus *b)
{
	pid_t r;

	if (b->pid <= 0)
		return false;
	if (b->owner != getpid())
		return kill(b->pid, 0) == 0;
	r = waitpid(b->pid, NULL, WNOHANG);
	/* ECHILD: SIGCHLD is ignored and the kernel reaps for us */
	if (r == b->pid || (r < 0 && errno == ECHILD && kill(b->pid, 0) < 0)) {
		b->pid = 0;
		return false;
	}
	return true;
}

static void bus_stop(struct ipc_dbus_bus *b)
{
	if (b->owner != getpid())
		return;		/* our parent's, inherited by fork() */
	if (b->pid > 0 && kill(b->pid, SIGTERM) == 0) {
		(void)kill(b->pid, SIGCONT);	/* stopped: let it hear that */
		reap(b->pid, IPC_DBUS_STOP_MS);
	}
	else if (b->pid > 0)
		reap(b->pid, 0);
	b->pid = 0;
	(void)unlink(b->path);	/* dbus-daemon did, unless it was killed */
}

/* name the socket and config in the runtime dir, write it, start it */
static int bus_start(struct ipc_dbus_bus *b, const struct ipc_opts *o)
{
	char dir[IPC_OBJECT_MAX], name[64], *esc;
	int n, err;

	err = ipc_rundir(o, dir, sizeof(dir));
	if (err < 0)
		return err;
	ipc_unique_name(name, sizeof(name), "bus");
	n = snprintf(b->path, sizeof(b->path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(b->path))
		return -ENAMETOOLONG;
	snprintf(b->conf, sizeof(b->conf), "%s.conf", b->path);
	esc = dbus_address_escape_value(b->path);
	if (!esc)
		return -ENOMEM;
	n = snprintf(b->public, sizeof(b->public), "unix:path=%s", esc);
	dbus_free(esc);
	if (n < 0 || (size_t)n >= sizeof(b->public))
		return -ENAMETOOLONG;
	err = bus_write_config(b);
	if (err < 0)
		return err;
	b->owner = getpid();
	err = bus_spawn(b);
	/* read at start: a reload (SIGHUP) would find it gone, and keep
	 * the configuration it has */
	(void)unlink(b->conf);
	/* dbus-daemon makes its socket 0777 (access is its business, by
	 * authentication): 0600 like our other objects */
	if (err == 0 && chmod(b->path, 0600) < 0)
		err = -errno;
	if (err < 0) {
		bus_stop(b);
		(void)unlink(b->path);
	}
	return err;
}

static struct ipc_dbus_bus *bus_new(const struct ipc_opts *o, size_t max_msg,
				    size_t capacity, bool shared, int *err)
{
	struct ipc_dbus_bus *b = calloc(1, sizeof(*b));

	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	b->shared = shared;
	b->max_msg = max_msg;
	b->capacity = capacity;
	if (shared) {
		if (b->max_msg < IPC_DBUS_SHARED_MSG)
			b->max_msg = IPC_DBUS_SHARED_MSG;
		if (b->capacity < IPC_DBUS_SHARED_CAP)
			b->capacity = IPC_DBUS_SHARED_CAP;
	}
	*err = bus_start(b, o);
	if (*err < 0) {
		free(b);
		return NULL;
	}
	b->users = 1;
	return b;
}

/*
 * A shared bus of this process with room for the channel, or a free
 * slot. Our parent's buses (inherited by fork) and dead ones leave the
 * list; a dead one lives on for the channels still on it.
 */
static struct ipc_dbus_bus *shared_find(size_t max_msg, size_t capacity,
					int *slot)
{
	struct ipc_dbus_bus *b;

	*slot = -1;
	for (unsigned i = 0; i < limits.buses; i++) {
		b = shared_buses[i];
		if (b && (b->owner != getpid() || !bus_alive(b)))
			shared_buses[i] = b = NULL;
		if (!b) {
			if (*slot < 0)
				*slot = (int)i;
			continue;
		}
		if (b->users < limits.channels &&
		    b->max_msg >= max_msg && b->capacity >= capacity)
			return b;
	}
	return NULL;
}

int ipc_dbus_bus_get(struct ipc_dbus_bus **busp, const struct ipc_opts *o,
		     size_t max_msg, size_t capacity)
{
	struct ipc_dbus_bus *b;
	int slot, err = 0;

	if (!o->visible) {
		*busp = bus_new(o, max_msg, capacity, false, &err);
		return err;
	}
	pthread_mutex_lock(&bus_lock);
	b = shared_find(max_msg, capacity, &slot);
	if (b) {
		b->users++;
	} else if (slot < 0) {
		err = -EMFILE;
	} else {
		b = bus_new(o, max_msg, capacity, true, &err);
		shared_buses[slot] = b;
	}
	pthread_mutex_unlock(&bus_lock);
	*busp = b;
	return err;
}

void ipc_dbus_bus_put(struct ipc_dbus_bus *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&bus_lock);
	if (--b->users > 0) {
		pthread_mutex_unlock(&bus_lock);
		return;
	}
	for (int i = 0; i < IPC_DBUS_MAX_BUSES; i++)
		if (shared_buses[i] == b)
			shared_buses[i] = NULL;
	pthread_mutex_unlock(&bus_lock);
	bus_stop(b);
	free(b);
}

void ipc_dbus_bus_retire(struct ipc_dbus_bus *b)
{
	pthread_mutex_lock(&bus_lock);
	for (int i = 0; i < IPC_DBUS_MAX_BUSES; i++)
		if (shared_buses[i] == b)
			shared_buses[i] = NULL;
	pthread_mutex_unlock(&bus_lock);
}

void ipc_dbus_bus_hide(struct ipc_dbus_bus *b)
{
	(void)unlink(b->path);
}

const char *ipc_dbus_bus_address(const struct ipc_dbus_bus *b)
{
	return b->address;
}

const char *ipc_dbus_bus_path(const struct ipc_dbus_bus *b)
{
	return b->path;
}

const char *ipc_dbus_bus_public(const struct ipc_dbus_bus *b)
{
	return b->public;
}
