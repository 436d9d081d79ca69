/*
 * pingpong.c - round trips through an ipcfs mount, from C.
 *
 * Shows: how a program uses ipcfs files: a parent and a forked child
 * bounce a message through two directories of the mount, MOUNT/ping.PID/T
 * (parent to child) and MOUNT/pong.PID/T (child to parent), each opened
 * once for reading and once for writing, never one fd for both (see
 * DESIGN.md). Every reply is checked; the time of COUNT round trips gives
 * round trips per second; one-way latency is RTT/2.
 *
 * Compile with	cc -O2 -o pingpong pingpong.c	(meson builds it too)
 * Run:		pingpong MOUNT [TRANSPORT [COUNT [SIZE]]]
 *		(defaults: pipe, 10000 round trips, 64 bytes)
 *
 * What you should see:
 *	pingpong: pipe, 10000 round trips of 64 bytes via /mnt/ipc
 *	pipe: 10000 round trips in 0.512 s: 19531 round trips/s, one-way ~25.6 us (RTT/2)
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP	100

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !v)
		errx(2, "%s: '%s' is not a positive number", what, s);
	return v;
}

/* read exactly len bytes (a byte stream may return less per read); 0 on EOF */
static size_t read_full(int fd, char *buf, size_t len, const char *what)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(1, "read %s", what);
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

static void write_full(int fd, const char *buf, size_t len, const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(1, "write %s", what);
		done += n;
	}
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		err(1, "open %s", path);
	return fd;
}

/* rmdir, retrying while the kernel still releases our files */
static void remove_dir(const char *path)
{
	for (int i = 0; i < 100; i++) {
		if (rmdir(path) == 0 || errno != EBUSY)
			return;
		usleep(10000);
	}
	warn("rmdir %s", path);
}

/* child: send back whatever comes, until the parent hangs up */
static void echo_loop(const char *ping, const char *pong, size_t size)
{
	char *buf = malloc(size);
	int in = open_or_die(ping, O_RDONLY);
	int out = open_or_die(pong, O_WRONLY);

	if (!buf)
		err(1, "malloc");
	while (read_full(in, buf, size, ping) == size)
		write_full(out, buf, size, pong);
	close(out);
	close(in);
	free(buf);
}

int main(int argc, char **argv)
{
	const char *mnt, *t;
	char ping_dir[PATH_MAX], pong_dir[PATH_MAX], ping[PATH_MAX + 16],
	     pong[PATH_MAX + 16];
	unsigned long count, i;
	char *msg, *reply;
	int out, in, status;
	size_t size;
	double t0, dt;
	pid_t pid;

	if (argc < 2 || argc > 5)
		errx(2, "usage: pingpong MOUNT [TRANSPORT [COUNT [SIZE]]]");
	mnt = argv[1];
	t = argc > 2 ? argv[2] : "pipe";
	count = argc > 3 ? number(argv[3], "COUNT") : 10000;
	size = argc > 4 ? number(argv[4], "SIZE") : 64;
	if (strchr(t, '/'))
		errx(2, "TRANSPORT: '%s' is a name like pipe or mqueue", t);

	snprintf(ping_dir, sizeof(ping_dir), "%s/ping.%d", mnt, (int)getpid());
	snprintf(pong_dir, sizeof(pong_dir), "%s/pong.%d", mnt, (int)getpid());
	if (mkdir(ping_dir, 0755) < 0)
		err(1, "mkdir %s (is %s an ipcfs mount?)", ping_dir, mnt);
	if (mkdir(pong_dir, 0755) < 0) {
		warn("mkdir %s", pong_dir);
		remove_dir(ping_dir);
		return 1;
	}
	snprintf(ping, sizeof(ping), "%s/%s", ping_dir, t);
	snprintf(pong, sizeof(pong), "%s/%s", pong_dir, t);

	msg = malloc(size);
	reply = malloc(size);
	if (!msg || !reply)
		err(1, "malloc");
	printf("pingpong: %s, %lu round trips of %zu bytes via %s\n", t, count,
	       size, mnt);
	fflush(stdout);

	pid = fork();
	if (pid < 0)
		err(1, "fork");
	if (pid == 0) {
		echo_loop(ping, pong, size);
		_exit(0);
	}
	out = open_or_die(ping, O_WRONLY);
	in = open_or_die(pong, O_RDONLY);

	t0 = now();
	for (i = 0; i < WARMUP + count; i++) {
		if (i == WARMUP)
			t0 = now();
		memset(msg, (int)(i & 0xff), size);
		memcpy(msg, &i, size < sizeof(i) ? size : sizeof(i));
		write_full(out, msg, size, ping);
		if (read_full(in, reply, size, pong) != size)
			errx(1, "%s: the echo ended early", pong);
		if (memcmp(msg, reply, size) != 0)
			errx(1, "%s: round trip %lu came back changed", t, i);
	}
	dt = now() - t0;

	close(out);	/* the child's read sees EOF and it ends */
	if (waitpid(pid, &status, 0) < 0)
		err(1, "waitpid");
	close(in);
	remove_dir(ping_dir);
	remove_dir(pong_dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		errx(1, "the echoing child failed");

	printf("%s: %lu round trips in %.3f s: %.0f round trips/s, one-way ~%.1f us (RTT/2)\n",
	       t, count, dt, count / dt, dt / count / 2 * 1e6);
	free(msg);
	free(reply);
	return 0;
}
