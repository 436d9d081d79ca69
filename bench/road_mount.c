/*
 * road_mount.c - the mount road: ping is MOUNT/T, pong MOUNT/bench.<pid>.<n>/T
 * in a fresh directory per row. Message reads ask for size + 1 bytes: a
 * longer message shows as a wrong length rather than being cut. Across
 * hosts the child opens the same files through another mount (PEER/T).
 */
#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define RMDIR_TRIES	2500	/* 2 ms apart: 5 s for the releases */
#define PROBE_TRIES	50	/* reads of the probe message... */
#define PROBE_POLL_MS	100	/* ...with a poll() this long between */

struct mnt {
	struct bench_link l;
	const struct ipc_transport *t;
	const char *mount;
	const char *peer;	/* the child's view of mount, or NULL */
	char dir[64];		/* our pong directory under mount */
	pid_t owner;		/* the process that made dir removes it */
};

#define M(p)	container_of(p, struct mnt, l)

static void mount_path(const struct mnt *m, bool pong, char *buf, size_t len)
{
	if (pong)
		snprintf(buf, len, "%s/%s/%s", m->mount, m->dir, m->t->name);
	else
		snprintf(buf, len, "%s/%s", m->mount, m->t->name);
}

/* close; remove our directory (the peer's files may still be in release) */
static void mount_close(struct bench_link *l)
{
	struct timespec ms2 = { 0, 2000000 };
	struct mnt *m = M(l);
	char path[PATH_MAX];
	int i;

	bench_fd_close(l);
	if (!m->dir[0] || m->owner != getpid())
		return;
	snprintf(path, sizeof(path), "%s/%s", m->mount, m->dir);
	for (i = 0; i < RMDIR_TRIES; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			break;
		if (errno != EBUSY && errno != EINTR) {
			warn("rmdir %s", path);
			break;
		}
		(void)nanosleep(&ms2, NULL);
	}
	if (i == RMDIR_TRIES)
		warnx("rmdir %s: still busy after %d s", path, RMDIR_TRIES * 2 / 1000);
	m->dir[0] = '\0';
}

/* read what is queued in the root's ping channel, without waiting */
static int mount_drain(struct mnt *m)
{
	char path[PATH_MAX], buf[65536];
	long total = 0;
	ssize_t n;
	int fd;

	mount_path(m, false, path, sizeof(path));
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	(void)close(fd);
	if (total)
		warnx("%s: %ld stale bytes drained (an earlier row's or someone "
		      "else's)", path, total);
	return 0;
}

/* open the fresh pong channel each way alone (a channel the daemon could
 * not make is a failed row, not a failed attach); then a message of `size`
 * through it and back: -EMSGSIZE above the daemon's limit, -EIO: wrong */
static int mount_probe(struct mnt *m, size_t size)
{
	struct pollfd pfd = { .fd = -1, .events = POLLIN };
	unsigned char *buf = NULL;
	char path[PATH_MAX];
	int wfd = -1, i;
	ssize_t n = 0;

	mount_path(m, true, path, sizeof(path));
	for (i = 0; i < 2 && n == 0; i++) {
		pfd.fd = open(path, (i ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_CLOEXEC);
		n = pfd.fd < 0 ? -errno : 0;
		bench_close_fd(&pfd.fd);
	}
	if (n < 0 || !m->l.messages)
		return (int)n;
	buf = calloc(1, size + 1);
	wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	pfd.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	n = !buf ? -ENOMEM : wfd < 0 || pfd.fd < 0 ? -errno : 0;
	if (n == 0) {
		bench_fill(buf, size, 0);
		n = bench_errno(write(wfd, buf, size));
	}
	/* some mechanisms take a while to deliver (zmq's I/O thread) */
	for (i = 0; n >= 0 && i < PROBE_TRIES; i++) {
		n = bench_errno(read(pfd.fd, buf, size + 1));
		if (n != -EAGAIN)
			break;
		(void)poll(&pfd, 1, PROBE_POLL_MS);
		n = 0;	/* try again */
	}
	bench_close_fd(&wfd);
	bench_close_fd(&pfd.fd);
	free(buf);
	return n < 0 ? (int)n : (size_t)n != size ? -EIO : 0;
}

static int mount_open(struct bench_link *l, size_t size)
{
	static unsigned ndirs;	/* per process: bench.<pid>.<n> */
	struct mnt *m = M(l);
	char path[PATH_MAX];
	int ret;

	m->owner = getpid();
	snprintf(m->dir, sizeof(m->dir), "bench.%d.%u", (int)getpid(), ++ndirs);
	snprintf(path, sizeof(path), "%s/%s", m->mount, m->dir);
	if (mkdir(path, 0755) < 0) {
		ret = -errno;
		warn("mkdir %s", path);
		m->dir[0] = '\0';
		return ret;
	}
	ret = mount_drain(m);
	if (ret == 0)
		ret = mount_probe(m, size);
	if (ret < 0)
		mount_close(l);
	l->rx_min = l->messages ? size + 1 : 0;
	return ret;
}

/* the parent writes ping and reads pong; the child the other way */
static int mount_attach(struct bench_link *l, enum bench_side side)
{
	char ping[PATH_MAX], pong[PATH_MAX];
	bool parent = side == BENCH_PARENT;

	if (!parent && M(l)->peer)
		M(l)->mount = M(l)->peer;	/* the child's copy */
	mount_path(M(l), false, ping, sizeof(ping));
	mount_path(M(l), true, pong, sizeof(pong));
	return bench_fd_attach(l, parent ? ping : pong, parent ? pong : ping);
}

/* hangup: the last writer's close, EOF once the reader has drained */
static const struct bench_link_ops mount_ops = {
	.open = mount_open, .attach = mount_attach, .send = bench_fd_send,
	.recv = bench_fd_recv, .hangup = bench_fd_hangup, .close = mount_close,
};

struct bench_link *bench_link_mount(const struct ipc_transport *t, const char *mount,
				    const char *peer)
{
	struct mnt *m = bench_link_new(sizeof(*m), &mount_ops, BENCH_ROAD_MOUNT, t->name);

	m->l.messages = t->caps & IPC_MESSAGES;
	m->t = t;
	m->mount = mount;
	m->peer = peer;
	return &m->l;
}
