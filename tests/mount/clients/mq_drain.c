/*
 * mq_drain.c - an outsider empties a POSIX message queue: receive every
 * message without waiting, print how many bytes came.
 *
 *   mq_drain /dev/mqueue/NAME      (or /NAME)
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *name;
	struct mq_attr attr;
	long long total = 0;
	ssize_t n;
	char *buf;
	mqd_t q;

	if (argc != 2)
		errx(2, "usage: mq_drain /dev/mqueue/NAME");
	name = argv[1];
	if (!strncmp(name, "/dev/mqueue/", 12))
		name += 11;	/* mq_open wants "/NAME" */
	q = mq_open(name, O_RDONLY | O_NONBLOCK);
	if (q == (mqd_t)-1 || mq_getattr(q, &attr) < 0)
		err(1, "mq_open %s", name);
	buf = malloc((size_t)attr.mq_msgsize);
	if (!buf)
		err(1, "malloc");
	while ((n = mq_receive(q, buf, (size_t)attr.mq_msgsize, NULL)) >= 0)
		total += n;
	if (errno != EAGAIN)
		err(1, "mq_receive");
	printf("%lld\n", total);
	free(buf);
	mq_close(q);
	return 0;
}
