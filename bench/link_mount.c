/*
 * link_mount.c - the roads through a FUSE mount: the transport files of
 * a mounted ipcfs, and the floor, the one file of a mounted nullfs.
 *
 * Mount road. Ping is MOUNT/T (the root's channel), pong is
 * MOUNT/bench.<pid>.<n>/T, in a directory that open() makes (a fresh,
 * independent set of channels per row) and close() removes in the process
 * that made it, retrying while the kernel's asynchronous releases of the
 * peer's files are still on their way (EBUSY). Each process opens its two
 * files after fork, one O_WRONLY and one O_RDONLY: never one fd shared by
 * a reader and a writer. Whatever an earlier, failed row left in the
 * root's ping channel is drained (non-blocking reads) before a row runs.
 * Message transports keep boundaries through the mount: a write is one
 * message and a read returns at most one; the read asks for size + 1
 * bytes so that a longer message shows as a wrong length rather than
 * being cut silently (a read shorter than a message would keep the rest).
 * The size limit is the daemon's: open() writes one message of the size
 * to the fresh pong channel without blocking (EMSGSIZE: the row is
 * skipped) and reads it back.
 *
 * Floor road: see bench_floor_what(). floor-1p, the parent alone, is
 * exact: 4 requests (2 per message in a stream) per loop. In `floor`,
 * parent and child are not in
 * lock-step there (nothing makes them wait for each other), so each side
 * counts its loops in a shared page and close() leaves their ratio in
 * l->floor_ratio: a round trip of the floor is one loop of each side,
 * and the caller scales the parent's count by (1 + ratio) / 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define RMDIR_TRIES	2500	/* 2 ms apart: 5 s for the releases */
#define PROBE_TRIES	50	/* reads of the probe message... */
#define PROBE_POLL_MS	100	/* ...with a poll() this long between */

static unsigned mount_dirs;	/* per process: bench.<pid>.<n> */

static void mount_path(const struct bench_link *l, bool pong, char *buf,
		       size_t len)
{
	if (pong)
		snprintf(buf, len, "%s/%s/%s", l->mount, l->dir, l->t->name);
	else
		snprintf(buf, len, "%s/%s", l->mount, l->t->name);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

/* remove our directory; the peer's files may still be in release */
static void mount_rmdir(struct bench_link *l)
{
	char path[PATH_MAX];
	int i;

	if (!l->dir[0] || l->owner != getpid())
		return;
	snprintf(path, sizeof(path), "%s/%s", l->mount, l->dir);
	for (i = 0; i < RMDIR_TRIES; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			break;
		if (errno != EBUSY && errno != EINTR) {
			fprintf(stderr, "direct: rmdir %s: %s\n", path,
				strerror(errno));
			break;
		}
		nap_ms(2);
	}
	if (i == RMDIR_TRIES)
		fprintf(stderr, "direct: rmdir %s: still busy after %d s\n",
			path, RMDIR_TRIES * 2 / 1000);
	l->dir[0] = '\0';
}

static void link_mount_close(struct bench_link *l)
{
	close_fd(&l->tx);
	close_fd(&l->rx);
	mount_rmdir(l);
}

/* read what is queued in the root's ping channel, without waiting */
static int mount_drain(struct bench_link *l)
{
	char path[PATH_MAX], buf[65536];
	long total = 0;
	ssize_t n;
	int fd;

	mount_path(l, false, path, sizeof(path));
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	(void)close(fd);
	if (total)
		fprintf(stderr, "direct: %s: %ld stale bytes drained (an "
			"earlier row's or someone else's)\n", path, total);
	return 0;
}

/* a channel the daemon could not make fails open(): a failed row, not
 * a child that cannot attach */
static int mount_try_open(struct bench_link *l)
{
	char path[PATH_MAX];
	int fd, e;

	mount_path(l, true, path, sizeof(path));
	for (e = 0; e < 2; e++) {
		fd = open(path, (e ? O_RDONLY : O_WRONLY) | O_NONBLOCK |
			  O_CLOEXEC);
		if (fd < 0)
			return -errno;
		(void)close(fd);
	}
	return 0;
}

/* one message of `size` into the fresh pong channel and back: 0,
 * -EMSGSIZE above the daemon's limit, else -errno (-EIO: it came back
 * wrong) */
static int mount_probe(struct bench_link *l, size_t size)
{
	char path[PATH_MAX];
	unsigned char *buf = calloc(1, size + 1);
	struct pollfd pfd = { .events = POLLIN };
	ssize_t n;
	int wfd = -1, rfd = -1, ret = 0, i;

	if (!buf)
		return -ENOMEM;
	mount_path(l, true, path, sizeof(path));
	wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (wfd < 0 || rfd < 0) {
		ret = -errno;
		goto out;
	}
	pfd.fd = rfd;
	bench_fill(buf, size, 0);
	n = write(wfd, buf, size);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	if ((size_t)n != size) {
		ret = -EIO;
		goto out;
	}
	/* some mechanisms take a while to deliver (zmq's I/O thread) */
	for (i = 0; i < PROBE_TRIES; i++) {
		n = read(rfd, buf, size + 1);
		if (n >= 0 || errno != EAGAIN)
			break;
		(void)poll(&pfd, 1, PROBE_POLL_MS);
	}
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != size)
		ret = -EIO;
out:
	close_fd(&wfd);
	close_fd(&rfd);
	free(buf);
	return ret;
}

static int link_mount_open(struct bench_link *l, size_t size)
{
	char path[PATH_MAX];
	int ret;

	l->tx = l->rx = -1;
	l->owner = getpid();
	snprintf(l->dir, sizeof(l->dir), "bench.%d.%u", (int)getpid(),
		 ++mount_dirs);
	snprintf(path, sizeof(path), "%s/%s", l->mount, l->dir);
	if (mkdir(path, 0755) < 0) {
		ret = -errno;
		fprintf(stderr, "direct: mkdir %s: %s\n", path,
			strerror(errno));
		l->dir[0] = '\0';
		return ret;
	}
	ret = mount_drain(l);
	if (ret == 0)
		ret = mount_try_open(l);
	if (ret == 0 && l->messages)
		ret = mount_probe(l, size);
	if (ret < 0) {
		link_mount_close(l);
		return ret;
	}
	l->rx_min = l->messages ? size + 1 : 0;
	return 0;
}

/* the parent writes ping and reads pong; the child the other way */
static int link_mount_attach(struct bench_link *l, enum bench_side side)
{
	char ping[PATH_MAX], pong[PATH_MAX];

	l->side = side;
	mount_path(l, false, ping, sizeof(ping));
	mount_path(l, true, pong, sizeof(pong));
	l->tx = open(side == BENCH_PARENT ? ping : pong,
		     O_WRONLY | O_CLOEXEC);
	if (l->tx < 0)
		return -errno;
	l->rx = open(side == BENCH_PARENT ? pong : ping,
		     O_RDONLY | O_CLOEXEC);
	if (l->rx < 0)
		return -errno;
	return 0;
}

static ssize_t fd_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t fd_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	return n < 0 ? -errno : n;
}

static ssize_t link_mount_send(struct bench_link *l, const void *buf,
			       size_t len)
{
	return fd_write(l->tx, buf, len);
}

static ssize_t link_mount_recv(struct bench_link *l, void *buf, size_t len)
{
	return fd_read(l->rx, buf, len);
}

/* the last writer's close: the reader sees EOF once it has drained */
static void link_mount_hangup(struct bench_link *l)
{
	close_fd(&l->tx);
}

static const struct bench_link_ops link_mount_ops = {
	.open   = link_mount_open,
	.attach = link_mount_attach,
	.send   = link_mount_send,
	.recv   = link_mount_recv,
	.hangup = link_mount_hangup,
	.close  = link_mount_close,
};

void bench_link_mount(struct bench_link *l, const struct ipc_transport *t,
		      const char *mount)
{
	memset(l, 0, sizeof(*l));
	l->ops = &link_mount_ops;
	l->road = BENCH_ROAD_MOUNT;
	l->t = t;
	l->mount = mount;
	l->messages = t->caps & IPC_MESSAGES;
	l->tx = l->rx = -1;
	snprintf(l->name, sizeof(l->name), "%s", t->name);
}

/* ------------------------------------------------------------ the floor */

/* the floor's shared page: the hang-up word, then each side's count */
#define FLOOR_STOP	0
#define FLOOR_PARENT	1	/* the parent's receives */
#define FLOOR_CHILD	2	/* the child's sends */
#define FLOOR_WORDS	3

const char *bench_floor_what(enum bench_mode mode, bool solo)
{
	if (solo && mode == BENCH_STREAM)
		return "floor-1p = the same requests by the parent alone: "
		       "write S, read S per message, back to back";
	if (solo)
		return "floor-1p = the same 4 requests by the parent alone, "
		       "back to back (the child idles):\n"
		       "#   FUSE's cost of a round trip without a second "
		       "client; on one CPU the tighter bound";
	if (mode == BENCH_STREAM)
		return "floor = nullfs (a FUSE fs that does nothing): the "
		       "child writes S, the parent reads S (zeros),\n"
		       "#   each as fast as it can; every request answered "
		       "at once; 1 msg = 1 write + 1 read";
	return "floor = nullfs (a FUSE fs that does nothing) driven as a "
	       "round trip: the parent writes S\n"
	       "#   and reads S, the child reads S and writes S, each as "
	       "fast as it can: nothing waits\n"
	       "#   for data, no request is parked, nobody is woken but "
	       "by FUSE's own reply;\n"
	       "#   1 rt = these 4 requests: rt/s = (parent's + child's "
	       "loops)/2 per s; latency = the parent's";
}

static void link_floor_close(struct bench_link *l);

static int link_floor_open(struct bench_link *l, size_t size)
{
	char path[PATH_MAX];
	struct stat st;

	l->tx = l->rx = -1;
	snprintf(path, sizeof(path), "%s/null", l->mount);
	if (stat(path, &st) < 0)
		return -errno;
	l->stop = mmap(NULL, FLOOR_WORDS * sizeof(*l->stop),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		       0);
	if (l->stop == MAP_FAILED) {
		l->stop = NULL;
		return -ENOMEM;
	}
	l->owner = getpid();
	if (l->solo) {
		l->scratch = malloc(size);
		if (!l->scratch) {
			link_floor_close(l);
			return -ENOMEM;
		}
	}
	return 0;
}

static void link_floor_close(struct bench_link *l)
{
	unsigned parent, child;

	close_fd(&l->tx);
	close_fd(&l->rx);
	free(l->scratch);
	l->scratch = NULL;
	if (!l->stop)
		return;
	if (l->owner == getpid() && !l->solo) {
		parent = atomic_load(&l->stop[FLOOR_PARENT]);
		child = atomic_load(&l->stop[FLOOR_CHILD]);
		l->floor_ratio = parent ? (double)child / parent : 0;
	}
	(void)munmap(l->stop, FLOOR_WORDS * sizeof(*l->stop));
	l->stop = NULL;
}

static int link_floor_attach(struct bench_link *l, enum bench_side side)
{
	char path[PATH_MAX];

	l->side = side;
	snprintf(path, sizeof(path), "%s/null", l->mount);
	l->tx = open(path, O_WRONLY | O_CLOEXEC);
	if (l->tx < 0)
		return -errno;
	l->rx = open(path, O_RDONLY | O_CLOEXEC);
	if (l->rx < 0)
		return -errno;
	return 0;
}

/* floor-1p: the idle child sleeps until the parent hangs up; -EINTR */
static int floor_idle(struct bench_link *l)
{
	while (!atomic_load(&l->stop[FLOOR_STOP]))
		if (ipc_futex_wait(&l->stop[FLOOR_STOP], 0, 0) == -EINTR)
			return -EINTR;
	return 0;
}

static ssize_t link_floor_send(struct bench_link *l, const void *buf,
			       size_t len)
{
	ssize_t n;
	int ret;

	if (l->side == BENCH_CHILD && l->solo &&
	    atomic_fetch_add(&l->stop[FLOOR_CHILD], 1)) {
		ret = floor_idle(l);	/* past "ready": nothing to send */
		return ret < 0 ? ret : (ssize_t)len;
	}
	if (l->side == BENCH_CHILD)
		atomic_fetch_add_explicit(&l->stop[FLOOR_CHILD], 1,
					  memory_order_relaxed);
	if (l->side == BENCH_PARENT && l->solo) {
		/* the ping, its read and the pong's write: the 4th is recv */
		n = fd_write(l->tx, buf, len);
		if (n >= 0)
			n = fd_read(l->rx, l->scratch, len);
		if (n < 0)
			return n;
	}
	return fd_write(l->tx, buf, len);
}

/* zeros at once; end of stream once the parent hung up */
static ssize_t link_floor_recv(struct bench_link *l, void *buf, size_t len)
{
	ssize_t n;

	if (l->side == BENCH_CHILD && l->solo)
		return floor_idle(l);	/* 0: the end, or -EINTR */
	if (atomic_load(&l->stop[FLOOR_STOP]))
		return 0;
	if (l->side == BENCH_PARENT)
		atomic_fetch_add_explicit(&l->stop[FLOOR_PARENT], 1,
					  memory_order_relaxed);
	if (l->solo && l->mode == BENCH_STREAM) {
		n = fd_write(l->tx, l->scratch, len);	/* the child's write */
		if (n < 0)
			return n;
	}
	return fd_read(l->rx, buf, len);
}

static void link_floor_hangup(struct bench_link *l)
{
	atomic_store(&l->stop[FLOOR_STOP], 1);
	ipc_futex_wake(&l->stop[FLOOR_STOP]);
	close_fd(&l->tx);
}

static const struct bench_link_ops link_floor_ops = {
	.open   = link_floor_open,
	.attach = link_floor_attach,
	.send   = link_floor_send,
	.recv   = link_floor_recv,
	.hangup = link_floor_hangup,
	.close  = link_floor_close,
};

void bench_link_floor(struct bench_link *l, const char *mount,
		      enum bench_mode mode, bool solo)
{
	memset(l, 0, sizeof(*l));
	l->ops = &link_floor_ops;
	l->road = BENCH_ROAD_FLOOR;
	l->nodata = true;
	l->mount = mount;
	l->mode = mode;
	l->solo = solo;
	l->tx = l->rx = -1;
	snprintf(l->name, sizeof(l->name), solo ? "floor-1p" : "floor");
}
