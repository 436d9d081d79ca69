/*
 * fd_outsider.c - an outsider at a memfd channel's socket (its stats
 * object): datagrams that carry file descriptors.
 *
 *   fd_outsider PATH good TEXT       one sealed memfd holding TEXT
 *   fd_outsider PATH bad ROUNDS      every kind of fd that is not one
 *                                    sealed memfd, ROUNDS times: none,
 *                                    unsealed, half-sealed, empty, 2 GiB,
 *                                    /dev/zero, a FIFO nobody writes, a
 *                                    socket, twenty memfds at once
 *   fd_outsider PATH fuse FILE PID   FILE's fd, sent while PID (the FUSE
 *                                    daemon serving FILE) is stopped for
 *                                    1.5 s: the receiver's close(2) of it
 *                                    would wait that long for FLUSH
 *
 * A send waits at most 5 s for room (SO_SNDTIMEO), so that a reader
 * draining the channel gets them all; what times out is counted, not
 * fatal. Prints "sent N refused M".
 */
#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

static int sock = -1;
static long sent, refused;

static void post(const int *fds, int nfds, const char *data)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 32)];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		refused++;
	else
		sent++;
}

/* post one fd, then close it here */
static void post_one(int fd)
{
	if (fd < 0)
		err(1, "open");
	post(&fd, 1, "x");
	close(fd);
}

static int memfd(const char *text, off_t size, int seals)
{
	int fd = memfd_create("outsider", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		err(1, "memfd_create");
	if (size && ftruncate(fd, size) < 0)
		err(1, "ftruncate");
	if (text && write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err(1, "write");
	if (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)
		err(1, "F_ADD_SEALS");
	return fd;
}

/* a FIFO with no writer but itself: a read of it never returns */
static int fifo_fd(void)
{
	char dir[] = "/tmp/fd_outsider.XXXXXX", path[64];
	int fd;

	if (!mkdtemp(dir))
		err(1, "mkdtemp");
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (mkfifo(path, 0600) < 0)
		err(1, "mkfifo");
	fd = open(path, O_RDWR | O_CLOEXEC);
	unlink(path);
	rmdir(dir);
	return fd;
}

static void bad_round(void)
{
	int fds[20], sv[2];

	post(NULL, 0, "no fd");
	post_one(memfd("unsealed", 0, 0));
	post_one(memfd("half", 0, F_SEAL_SHRINK | F_SEAL_GROW));
	post_one(memfd(NULL, 0, SEALS));
	post_one(memfd(NULL, (off_t)2 << 30, SEALS));
	post_one(open("/dev/zero", O_RDONLY | O_CLOEXEC));
	post_one(fifo_fd());
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		err(1, "socketpair");
	post_one(sv[0]);
	close(sv[1]);
	for (int i = 0; i < 20; i++)
		fds[i] = memfd("many", 0, SEALS);
	post(fds, 20, "x");
	for (int i = 0; i < 20; i++)
		close(fds[i]);
}

static void fuse_fd(const char *file, pid_t daemon)
{
	struct timespec pause = { 1, 500 * 1000 * 1000 };
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		err(1, "open %s", file);
	if (kill(daemon, SIGSTOP) < 0)
		err(1, "kill -STOP %d", (int)daemon);
	post(&fd, 1, "x");
	nanosleep(&pause, NULL);
	(void)kill(daemon, SIGCONT);
	close(fd);	/* our own FLUSH, now that it answers */
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };
	int fd;

	if (argc < 4)
		errx(2, "usage: fd_outsider PATH good TEXT | bad ROUNDS | "
		     "fuse FILE PID");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err(1, "connect %s", argv[1]);
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!strcmp(argv[2], "good")) {
		fd = memfd(argv[3], 0, SEALS);
		post(&fd, 1, "");
		close(fd);
	} else if (!strcmp(argv[2], "bad")) {
		for (long r = strtol(argv[3], NULL, 0); r > 0; r--)
			bad_round();
	} else if (!strcmp(argv[2], "fuse") && argc == 5) {
		fuse_fd(argv[3], (pid_t)atoi(argv[4]));
	} else {
		errx(2, "unknown '%s'", argv[2]);
	}
	printf("sent %ld refused %ld\n", sent, refused);
	return 0;
}
