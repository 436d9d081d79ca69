/*
 * classic.c - the baselines (--baseline): the same loop the textbook way on
 * raw fds: two pipe(2)s, a socketpair, a loopback TCP connection, two
 * connected UDP sockets, two POSIX queues, one System V queue with an mtype
 * per direction; shm (anonymous), mmap (a file) and eventfd (which also
 * rings) hand over one buffer per direction by a flag word, spun on; and
 * `cacheline`, their bound: one flag each way, no data. Across hosts (tcp):
 * the child's socket made in its namespace, connected to the parent's address.
 */
#include <fcntl.h>
#include <arpa/inet.h>
#include <limits.h>
#include <stdatomic.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "sysv.h"

enum classic_kind { CL_PIPE, CL_UNIX, CL_TCP, CL_UDP, CL_MQUEUE, CL_SYSVMSG,
		   CL_EVENTFD, CL_SHM, CL_MMAP, CL_CACHELINE };

static const char *const classic_names[] = {
	[CL_PIPE] = "pipe", [CL_UNIX] = "unix", [CL_TCP] = "tcp",
	[CL_UDP] = "udp", [CL_MQUEUE] = "mqueue", [CL_SYSVMSG] = "sysvmsg",
	[CL_EVENTFD] = "eventfd", [CL_SHM] = "shm", [CL_MMAP] = "mmap",
	[CL_CACHELINE] = "cacheline",
};

#define NKINDS	(int)(sizeof(classic_names) / sizeof(classic_names[0]))
#define UDP_MAX	65507

struct classic {
	struct bench_link l;
	enum classic_kind kind;
	enum bench_side side;
	int fd[4];		/* as made; l.tx and l.rx are two of them */
	struct ipc_sysv sv;	/* sysvmsg: the queue's marker, */
	int msqid;		/* the queue, -1 if none, */
	struct { long mtype; char text[]; } *msg;	/* a message */
	/* [0] ping, [1] pong: a flag, then data (cacheline: the flag alone) */
	unsigned char *slot;
	size_t slot_size;
	uint64_t sent, seen;	/* cacheline: our last flag, the peer's */
	const struct bench_net *net;
};

#define SLOT_ALIGN	128	/* a pair of lines: Intel prefetches pairs */
#define CL_HANGUP	UINT64_MAX	/* cacheline: the last flag */

#define C(p)	container_of(p, struct classic, l)

static void classic_close(struct bench_link *l)
{
	for (int i = 0; i < 4; i++)
		bench_close_fd(&C(l)->fd[i]);	/* mqd_t is a descriptor on Linux */
	if (C(l)->slot)
		(void)munmap(C(l)->slot, 2 * C(l)->slot_size);
	C(l)->slot = NULL;
	l->tx = l->rx = -1;
	/* the parent's: the child's last message may still be queued */
	if (C(l)->msqid >= 0 && C(l)->side == BENCH_PARENT) {
		(void)msgctl(C(l)->msqid, IPC_RMID, NULL);
		ipc_sysv_forget(&C(l)->sv);
	}
	C(l)->msqid = -1;
	free(C(l)->msg);
	C(l)->msg = NULL;
}

/* the slot this side fills (tx) or empties: ping is the parent's */
static unsigned char *slot_of(struct classic *l, bool tx)
{
	return l->slot + ((l->side == BENCH_PARENT) != tx) * l->slot_size;
}

/*
 * shm, mmap, eventfd, cacheline: a slot each way, SLOT_ALIGN bytes apart;
 * mmap's memory is a file in $TMPDIR (or /tmp), unlinked at once; eventfd
 * rings fd[0] for the ping slot, fd[1] for the pong slot
 */
static int open_shared(struct classic *l, size_t size)
{
	const char *dir = getenv("TMPDIR") ?: "/tmp";
	char path[PATH_MAX];
	int fd = -1, err;

	l->slot_size = l->kind == CL_CACHELINE ? SLOT_ALIGN :
		       (sizeof(uint64_t) + size + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
	if (l->kind == CL_MMAP) {
		snprintf(path, sizeof(path), "%s/ipcfs-classic.XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			return -errno;
		(void)unlink(path);
		if (ftruncate(fd, (off_t)(2 * l->slot_size)) < 0) {
			err = -errno;
			(void)close(fd);
			return err;
		}
	}
	l->slot = mmap(NULL, 2 * l->slot_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
	err = -errno;
	if (fd >= 0)
		(void)close(fd);
	if (l->slot == MAP_FAILED) {
		l->slot = NULL;
		return err;
	}
	for (int i = 0; i < 2 && l->kind == CL_EVENTFD; i++)
		if ((l->fd[i] = eventfd(0, EFD_CLOEXEC)) < 0)
			return -errno;
	return 0;
}

static _Atomic uint64_t *flag_of(unsigned char *slot)
{
	return (_Atomic uint64_t *)(void *)slot;
}

/* shm, mmap, eventfd: wait until the peer has emptied our buffer, fill
 * it, hand it over (flag = length + 1; 1 is the hang-up) */
static ssize_t shared_send(struct classic *l, const void *buf, size_t len)
{
	unsigned char *s = slot_of(l, true);

	while (atomic_load_explicit(flag_of(s), memory_order_acquire) != 0)
		if (ipc_stop)
			return -EINTR;
	memcpy(s + sizeof(uint64_t), buf, len);
	atomic_store_explicit(flag_of(s), len + 1, memory_order_release);
	return (ssize_t)len;
}

/* the empty message, once the peer has taken the last (a second at most:
 * it may be gone) */
static void shared_hangup(struct classic *l)
{
	_Atomic uint64_t *flag = flag_of(slot_of(l, true));
	uint64_t end = bench_now_ns() + BENCH_NSEC;

	while (atomic_load_explicit(flag, memory_order_acquire) != 0 && bench_now_ns() < end)
		;
	atomic_store_explicit(flag, 1, memory_order_release);
}

/* wait for the peer's buffer, empty it, hand it back */
static ssize_t shared_recv(struct classic *l, void *buf)
{
	unsigned char *s = slot_of(l, false);
	uint64_t v;

	while ((v = atomic_load_explicit(flag_of(s), memory_order_acquire)) == 0)
		if (ipc_stop)
			return -EINTR;
	if (--v > l->slot_size - sizeof(uint64_t))
		return -EBADMSG;
	memcpy(buf, s + sizeof(uint64_t), v);
	atomic_store_explicit(flag_of(s), 0, memory_order_release);
	return (ssize_t)v;
}

/* cacheline: a new flag value is the message (ping-pong only) */
static ssize_t cacheline_send(struct classic *l, bool hangup)
{
	atomic_store_explicit(flag_of(slot_of(l, true)), hangup ? CL_HANGUP : ++l->sent,
			      memory_order_release);
	return (ssize_t)l->l.rx_min;
}

static ssize_t cacheline_recv(struct classic *l)
{
	_Atomic uint64_t *flag = flag_of(slot_of(l, false));
	uint64_t v;

	while ((v = atomic_load_explicit(flag, memory_order_acquire)) == l->seen)
		if (ipc_stop)
			return -EINTR;
	l->seen = v;
	return v == CL_HANGUP ? 0 : (ssize_t)l->l.rx_min;
}

#define LOOPBACK	{ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }

/* fd[0] the parent's end, fd[1] the child's: one connection */
static int open_tcp(struct classic *l)
{
	struct sockaddr_in sa = LOOPBACK;
	socklen_t len = sizeof(sa);
	int lfd, one = 1;

	if (l->net && inet_pton(AF_INET, l->net->addr[BENCH_PARENT], &sa.sin_addr) != 1)
		return -EINVAL;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&sa, len) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0 || listen(lfd, 1) < 0)
		goto err;
	if (l->net && bench_net_enter(l->net, BENCH_CHILD) < 0)
		goto err;
	l->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->net && bench_net_enter(l->net, BENCH_PARENT) < 0)
		goto err;
	if (l->fd[1] < 0 || connect(l->fd[1], (struct sockaddr *)&sa, len) < 0)
		goto err;
	l->fd[0] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (l->fd[0] < 0 || setsockopt(l->fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    setsockopt(l->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		goto err;
	(void)close(lfd);
	return 0;
err:
	one = -errno;
	(void)close(lfd);
	return one;
}

/* two sockets on 127.0.0.1, each connected to the other */
static int open_udp(struct classic *l)
{
	struct sockaddr_in sa[2] = { LOOPBACK, LOOPBACK };
	socklen_t len = sizeof(sa[0]);
	int i;

	for (i = 0; i < 2; i++) {
		l->fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (l->fd[i] < 0 || bind(l->fd[i], (struct sockaddr *)&sa[i], len) < 0 ||
		    getsockname(l->fd[i], (struct sockaddr *)&sa[i], &len) < 0)
			return -errno;
	}
	for (i = 0; i < 2; i++)
		if (connect(l->fd[i], (struct sockaddr *)&sa[!i], len) < 0)
			return -errno;
	return 0;
}

/* fd[0], fd[1]: ping queue; fd[2], fd[3]: pong queue (read, write) */
static int open_mqueue(struct classic *l, size_t size)
{
	struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = (long)size };
	char name[64];
	int i, err;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "/ipcfs.%ld.classic%d", (long)getpid(), i);
		l->fd[2 * i] = mq_open(name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
		if (l->fd[2 * i] < 0)
			return errno == EINVAL ? -EMSGSIZE : -errno;
		l->fd[2 * i + 1] = mq_open(name, O_WRONLY | O_CLOEXEC);
		err = -errno;
		(void)mq_unlink(name);	/* nothing stays behind, whatever happens */
		if (l->fd[2 * i + 1] < 0)
			return err;
	}
	return 0;
}

static int sysvmsg_get(key_t key, void *arg)
{
	int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);

	(void)arg;
	return id < 0 ? -errno : id;
}

/* one queue, named like the library's (a killed run's is swept); ping is
 * mtype 1, pong mtype 2; above kernel.msgmax msgsnd says EINVAL */
static int open_sysvmsg(struct classic *l, size_t size)
{
	struct ipc_opts o = { .visible = true };

	if (size > (size_t)ipc_sysctl_long("/proc/sys/kernel/msgmax", 8192))
		return -EMSGSIZE;
	l->msg = malloc(sizeof(*l->msg) + size);
	if (!l->msg)
		return -ENOMEM;
	l->side = BENCH_PARENT;	/* until attach: ours to remove */
	l->msqid = ipc_sysv_create(&l->sv, &o, "sysvmsg", sysvmsg_get, NULL);
	return l->msqid < 0 ? l->msqid : 0;
}

static int classic_open(struct bench_link *bl, size_t size)
{
	struct classic *l = C(bl);
	int ret = 0;

	classic_close(bl);
	bl->messages = l->kind != CL_PIPE && l->kind != CL_UNIX &&
		       l->kind != CL_TCP;
	bl->rx_min = bl->messages ? size : 0;
	if (l->kind == CL_PIPE)
		ret = pipe2(l->fd, O_CLOEXEC) < 0 || pipe2(l->fd + 2, O_CLOEXEC) < 0 ? -errno : 0;
	else if (l->kind == CL_UNIX)
		ret = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->fd) < 0 ? -errno : 0;
	else if (l->kind == CL_TCP)
		ret = open_tcp(l);
	else if (l->kind == CL_UDP)
		ret = size > UDP_MAX ? -EMSGSIZE : open_udp(l);
	else if (l->kind >= CL_EVENTFD)
		ret = open_shared(l, size);
	else if (l->kind == CL_MQUEUE)
		ret = open_mqueue(l, size);
	else
		ret = open_sysvmsg(l, size);
	if (ret < 0)
		classic_close(bl);
	return ret;
}

static int classic_attach(struct bench_link *bl, enum bench_side side)
{
	struct classic *l = C(bl);
	bool parent = side == BENCH_PARENT;

	l->side = side;
	l->sent = l->seen = 0;
	if (l->kind == CL_SYSVMSG || l->kind >= CL_SHM)
		return 0;
	if (l->kind == CL_EVENTFD) {
		bl->tx = l->fd[parent ? 0 : 1];
		bl->rx = l->fd[parent ? 1 : 0];
	} else if (l->kind == CL_PIPE || l->kind == CL_MQUEUE) {
		/* ping: fd[0] read, fd[1] write; pong: fd[2], fd[3] */
		bl->tx = parent ? l->fd[1] : l->fd[3];
		bl->rx = parent ? l->fd[2] : l->fd[0];
		bench_close_fd(&l->fd[parent ? 0 : 1]);
		bench_close_fd(&l->fd[parent ? 3 : 2]);
	} else {
		/* one bidirectional socket each */
		bl->tx = bl->rx = l->fd[parent ? 0 : 1];
		bench_close_fd(&l->fd[parent ? 1 : 0]);
	}
	return 0;
}

/* the mtype this side sends: ping from the parent, pong from the child */
static long sysvmsg_type(const struct classic *l, bool tx)
{
	return (l->side == BENCH_PARENT) == tx ? 1 : 2;
}

static ssize_t classic_send(struct bench_link *l, const void *buf, size_t len)
{
	struct classic *c = C(l);
	uint64_t one = 1;
	ssize_t n;

	if (c->kind == CL_SYSVMSG) {
		c->msg->mtype = sysvmsg_type(c, true);
		memcpy(c->msg->text, buf, len);
		return msgsnd(c->msqid, c->msg, len, 0) < 0 ? -errno : (ssize_t)len;
	}
	if (c->kind == CL_MQUEUE)
		return mq_send(l->tx, buf, len, 0) < 0 ? -errno : (ssize_t)len;
	if (c->kind == CL_CACHELINE)
		return cacheline_send(c, false);
	if (c->kind < CL_EVENTFD)
		return bench_fd_send(l, buf, len);
	n = shared_send(c, buf, len);	/* shm, mmap; eventfd also rings */
	if (n >= 0 && c->kind == CL_EVENTFD && write(l->tx, &one, sizeof(one)) < 0)
		return -errno;
	return n;
}

static ssize_t classic_recv(struct bench_link *l, void *buf, size_t len)
{
	struct classic *c = C(l);
	uint64_t rung;
	ssize_t n;

	if (c->kind == CL_SYSVMSG) {
		n = msgrcv(c->msqid, c->msg, len, sysvmsg_type(c, false), 0);
		if (n > 0)
			memcpy(buf, c->msg->text, n);
		return bench_errno(n);
	}
	if (c->kind == CL_MQUEUE)
		return bench_errno(mq_receive(l->rx, buf, len, NULL));
	if (c->kind == CL_UDP)
		return bench_errno(recv(l->rx, buf, len, MSG_TRUNC));	/* true length */
	if (c->kind == CL_CACHELINE)
		return cacheline_recv(c);
	if (c->kind == CL_EVENTFD && read(l->rx, &rung, sizeof(rung)) < 0)
		return -errno;
	return c->kind >= CL_EVENTFD ? shared_recv(c, buf) : bench_fd_recv(l, buf, len);
}

static void classic_hangup(struct bench_link *bl)
{
	struct classic *l = C(bl);
	uint64_t one = 1;

	if (l->kind == CL_SYSVMSG) {
		l->msg->mtype = sysvmsg_type(l, true);
		(void)msgsnd(l->msqid, l->msg, 0, IPC_NOWAIT);
		return;
	}
	if (l->kind == CL_CACHELINE) {
		(void)cacheline_send(l, true);
		return;
	}
	if (l->kind >= CL_EVENTFD) {
		shared_hangup(l);
		if (l->kind == CL_EVENTFD)	/* and ring */
			(void)bench_errno(write(bl->tx, &one, sizeof(one)));
		return;
	}
	if (bl->tx < 0)
		return;
	if (l->kind == CL_PIPE)
		bench_close_fd(&l->fd[l->side == BENCH_PARENT ? 1 : 3]);
	else if (l->kind == CL_UNIX || l->kind == CL_TCP)
		(void)shutdown(bl->tx, SHUT_WR);
	else if (l->kind == CL_UDP)
		(void)send(bl->tx, "", 0, MSG_DONTWAIT);
	else
		(void)mq_send(bl->tx, "", 0, 0);
	bl->tx = -1;
}

static const struct bench_link_ops classic_ops = {
	.open = classic_open, .attach = classic_attach, .send = classic_send,
	.recv = classic_recv, .hangup = classic_hangup, .close = classic_close,
};

struct bench_link *bench_link_classic(const char *transport, const struct bench_net *net)
{
	char name[40];
	struct classic *c;
	int k;

	for (k = 0; k < NKINDS; k++)
		if (strcmp(classic_names[k], transport) == 0)
			break;
	if (k == NKINDS)
		return NULL;
	snprintf(name, sizeof(name), "%s%s", transport,
		 net || k == CL_CACHELINE ? "" : "(classic)");
	c = bench_link_new(sizeof(*c), &classic_ops, BENCH_ROAD_DIRECT, name);
	c->l.nodata = k == CL_CACHELINE;	/* a flag carries no payload */
	c->l.classic = !net;	/* across hosts: the tcp row itself */
	c->net = net;
	c->kind = k;
	memset(c->fd, -1, sizeof(c->fd));
	c->msqid = -1;
	return &c->l;
}
