/*
 * outsider.c - a process that is not the daemon sends to a channel's
 * object: COUNT datagrams or messages of SIZE random bytes (0: empty),
 * without waiting. What the object refuses (a full queue, no reader) is
 * counted, not fatal: the point is to try.
 *
 *   outsider unix PATH SIZE COUNT     datagrams to a Unix datagram socket
 *   outsider udp ADDR:PORT SIZE COUNT datagrams to a UDP port
 *   outsider mq /dev/mqueue/NAME SIZE COUNT   messages to a queue
 *   outsider cma PID:0xADDR SIZE COUNT  process_vm_writev(2) of SIZE bytes
 *                                       at ADDR in process PID (cma's ring)
 *   outsider netlink usersock:PORT SIZE COUNT  NETLINK_USERSOCK unicasts
 *                              to PORT: an nlmsghdr (NLMSG_MIN_TYPE) and
 *                              SIZE bytes; netlink-raw: the bytes alone
 *   outsider shm SHMID OFFSET SIZE|=HEX   attach a System V segment
 *                                     by id, write SIZE random bytes
 *                                     (or the bytes HEX) at OFFSET
 *   outsider sem SEMID 0 COUNT        COUNT semop(+1) on each semaphore
 *                                     of a set, then IPC_RMID it
 *
 * Prints "sent N refused M".
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <linux/netlink.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static int sock_to(const char *kind, const char *where, struct sockaddr_storage *sa,
		   socklen_t *len)
{
	struct sockaddr_un *un = (struct sockaddr_un *)sa;
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	char addr[64], *colon;

	memset(sa, 0, sizeof(*sa));
	if (!strncmp(kind, "netlink", 7)) {
		struct sockaddr_nl *nl = (struct sockaddr_nl *)sa;
		unsigned port;

		if (sscanf(where, "usersock:%u", &port) != 1)
			errx(2, "netlink: '%s' is not usersock:PORT", where);
		nl->nl_family = AF_NETLINK;
		nl->nl_pid = port;
		*len = sizeof(*nl);
		return socket(AF_NETLINK, SOCK_RAW, NETLINK_USERSOCK);
	}
	if (!strcmp(kind, "unix")) {
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", where);
		*len = sizeof(*un);
		return socket(AF_UNIX, SOCK_DGRAM, 0);
	}
	snprintf(addr, sizeof(addr), "%s", where);
	colon = strrchr(addr, ':');
	if (!colon)
		errx(2, "udp: '%s' is not ADDR:PORT", where);
	*colon = '\0';
	in->sin_family = AF_INET;
	in->sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
		errx(2, "udp: bad address '%s'", addr);
	*len = sizeof(*in);
	return socket(AF_INET, SOCK_DGRAM, 0);
}

/* SIZE random bytes written straight into another process, COUNT times */
static void cma_scribble(const char *where, const char *buf, size_t size,
			 long count)
{
	struct iovec l = { (void *)buf, size }, r = { NULL, size };
	unsigned long long addr;
	long pid, sent = 0, refused = 0;

	if (sscanf(where, "%ld:%llx", &pid, &addr) != 2)
		errx(2, "cma: '%s' is not PID:0xADDR", where);
	r.iov_base = (void *)(uintptr_t)addr;
	for (long i = 0; i < count; i++) {
		if (process_vm_writev((pid_t)pid, &l, 1, &r, 1, 0) < 0)
			refused++;
		else
			sent++;
	}
	printf("sent %ld refused %ld\n", sent, refused);
}

/* write into a segment by id: IPC_RMID does not stop shmat on Linux */
static int to_shm(const char *id, const char *offset, const char *what)
{
	unsigned char buf[4096];
	size_t len = 0, off = strtoul(offset, NULL, 0);
	char *mem;

	if (what[0] == '=') {
		for (const char *h = what + 1; h[0] && h[1] && len < sizeof(buf);
		     h += 2)
			sscanf(h, "%2hhx", &buf[len++]);
	} else {
		len = strtoul(what, NULL, 0);
		if (len > sizeof(buf) || getrandom(buf, len, 0) < 0)
			errx(2, "shm: bad size '%s'", what);
	}
	mem = shmat(atoi(id), NULL, 0);
	if (mem == (void *)-1)
		err(1, "shmat %s", id);
	memcpy(mem + off, buf, len);
	printf("sent %zu refused 0\n", len);
	return shmdt(mem);
}

/* post to every semaphore of a set COUNT times, then remove it */
static int to_sem(const char *id, long count)
{
	struct semid_ds ds;
	long sent = 0, refused = 0;
	int semid = atoi(id);

	if (semctl(semid, 0, IPC_STAT, &ds) < 0)
		err(1, "semctl %s", id);
	for (long i = 0; i < count; i++)
		for (unsigned short n = 0; n < ds.sem_nsems; n++) {
			struct sembuf op = { n, 1, IPC_NOWAIT };

			if (semop(semid, &op, 1) < 0)
				refused++;
			else
				sent++;
		}
	if (semctl(semid, 0, IPC_RMID) < 0)
		err(1, "IPC_RMID %s", id);
	printf("sent %ld refused %ld\n", sent, refused);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage sa;
	socklen_t len = 0;
	size_t size;
	long count, sent = 0, refused = 0;
	char *buf;
	mqd_t q = (mqd_t)-1;
	int fd = -1;
	ssize_t n;

	if (argc != 5)
		errx(2, "usage: outsider unix|udp|mq|cma|netlink|netlink-raw|"
		     "shm|sem WHERE SIZE COUNT");
	if (!strcmp(argv[1], "shm"))
		return to_shm(argv[2], argv[3], argv[4]);
	if (!strcmp(argv[1], "sem"))
		return to_sem(argv[2], strtol(argv[4], NULL, 0));
	size = strtoul(argv[3], NULL, 0);
	count = strtol(argv[4], NULL, 0);
	buf = malloc(size + 1);
	if (!buf)
		err(1, "malloc");
	if (size && getrandom(buf, size, 0) < 0)
		err(1, "getrandom");
	if (!strcmp(argv[1], "netlink")) {	/* a header in front */
		struct nlmsghdr h = { .nlmsg_type = NLMSG_MIN_TYPE };

		h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + size);

		buf = realloc(buf, NLMSG_HDRLEN + size + 1);
		if (!buf)
			err(1, "realloc");
		memmove(buf + NLMSG_HDRLEN, buf, size);
		memcpy(buf, &h, sizeof(h));
		size += NLMSG_HDRLEN;
	}
	if (!strcmp(argv[1], "cma")) {
		cma_scribble(argv[2], buf, size, count);
		free(buf);
		return 0;
	}
	if (!strcmp(argv[1], "mq")) {
		const char *name = argv[2];

		if (!strncmp(name, "/dev/mqueue/", 12))
			name += 11;
		q = mq_open(name, O_WRONLY | O_NONBLOCK);
		if (q == (mqd_t)-1)
			err(1, "mq_open %s", name);
	} else {
		int want = (int)size + 64;

		fd = sock_to(argv[1], argv[2], &sa, &len);
		if (fd < 0)
			err(1, "socket");
		/* an oversize datagram must at least leave our socket */
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want,
				 sizeof(want));
	}
	for (long i = 0; i < count; i++) {
		if (q != (mqd_t)-1)
			n = mq_send(q, buf, size, 0) < 0 ? -1 : (ssize_t)size;
		else
			n = sendto(fd, buf, size, MSG_DONTWAIT,
				   (struct sockaddr *)&sa, len);
		if (n < 0)
			refused++;
		else
			sent++;
	}
	printf("sent %ld refused %ld\n", sent, refused);
	free(buf);
	if (q != (mqd_t)-1)
		mq_close(q);
	if (fd >= 0)
		close(fd);
	return 0;
}
