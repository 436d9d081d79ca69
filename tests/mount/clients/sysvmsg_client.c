/*
 * sysvmsg_client - an outsider at a sysvmsg channel's System V queue.
 *
 *   sysvmsg_client send MSQID SIZE COUNT [MTYPE]
 *	COUNT messages of SIZE random bytes (mtype 1 unless given), without
 *	waiting: prints "sent N refused M". COUNT 0: for 2 s.
 *   sysvmsg_client latency MSQID FILE COUNT
 *	A child reads FILE (the channel's file on the mount) like cat, while
 *	this process holds it open for writing (no EOF); COUNT
 *	times, once its read has parked (2 ms), msgsnd one message: prints
 *	the time from msgsnd to that read's return in microseconds, min,
 *	p50, p90, p99, max. docs/DESIGN.md, "sysvmsg", quotes it.
 */
#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct msg {
	long mtype;
	char text[1 << 16];
};

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int flood(int id, size_t size, long count, long mtype)
{
	static struct msg m;
	long sent = 0, refused = 0;
	double end = now_us() + 2e6;

	if (size > sizeof(m.text))
		errx(2, "SIZE at most %zu", sizeof(m.text));
	m.mtype = mtype;
	if (size && getrandom(m.text, size, 0) < 0)
		err(1, "getrandom");
	for (long i = 0; count ? i < count : now_us() < end; i++) {
		if (msgsnd(id, &m, size, IPC_NOWAIT) < 0)
			refused++;
		else
			sent++;
	}
	printf("sent %ld refused %ld\n", sent, refused);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* the reader, like cat: the time each read(2) of FILE returned, to fd */
static void reader(const char *file, int out)
{
	char buf[8192];
	int fd = open(file, O_RDONLY);
	double t;

	if (fd < 0)
		err(1, "%s", file);
	while (read(fd, buf, sizeof(buf)) > 0) {
		t = now_us();
		if (write(out, &t, sizeof(t)) != sizeof(t))
			break;
	}
	_exit(0);
}

static int latency(int id, const char *file, long count)
{
	struct msg m = { .mtype = 1 };
	double *us = calloc(count, sizeof(*us)), t0, t1;
	int p[2];
	pid_t pid;

	/* a writer holds the file open, or the reader would get EOF */
	int wfd = open(file, O_WRONLY);

	if (!us || pipe(p) < 0 || wfd < 0)
		err(1, "setup");
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		reader(file, p[1]);
	}
	close(p[1]);
	for (long i = 0; i < count; i++) {
		usleep(2000);	/* the reader's read parks in the daemon */
		snprintf(m.text, sizeof(m.text), "%ld", i);
		t0 = now_us();
		if (msgsnd(id, &m, strlen(m.text), 0) < 0)
			err(1, "msgsnd");
		if (read(p[0], &t1, sizeof(t1)) != sizeof(t1))
			errx(1, "the reader stopped");
		us[i] = t1 - t0;
	}
	kill(pid, SIGTERM);
	close(wfd);
	qsort(us, count, sizeof(*us), cmp_double);
	printf("min %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f us (%ld)\n",
	       us[0], us[count / 2], us[count * 9 / 10], us[count * 99 / 100],
	       us[count - 1], count);
	free(us);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "send"))
		return flood(atoi(argv[2]), strtoul(argv[3], NULL, 0),
			     strtol(argv[4], NULL, 0),
			     argc > 5 ? strtol(argv[5], NULL, 0) : 1);
	if (argc == 5 && !strcmp(argv[1], "latency") && atol(argv[4]) > 0)
		return latency(atoi(argv[2]), argv[3], atol(argv[4]));
	errx(2, "usage: sysvmsg_client send MSQID SIZE COUNT [MTYPE] | "
	     "latency MSQID FILE COUNT");
}
