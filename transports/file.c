/*
 * file: a regular file that the TX end appends to (O_APPEND) and the RX
 * end follows, like `tail -f`, woken by inotify (IN_MODIFY). Byte stream,
 * no message boundaries for callers. Inside the file every send is one
 * record, [u32 length, host order][payload]; a record of length 0 is the
 * hang-up, so the reader returns 0 once it has read everything before it.
 * The reader follows the file's size, not the writer's word: a record
 * seen only partly written gives the bytes that are there, the rest comes
 * later.
 *
 * Capacity: payload written and not yet read, at most ipc_opts.capacity
 * (1 MiB by default); a send beyond it takes what fits, or waits (a futex
 * the reader bumps) or says -EAGAIN. A send once the reader has closed,
 * or while a waiting writer finds the reader dead, is -EPIPE. The RX
 * descriptor holds an OFD read lock on the file, which the kernel drops
 * with the last copy of it (across fork(), like a pipe's reader count):
 * closing the RX end clears the reader's pid in the shared page if it is
 * its own, and a writer that finds no pid there asks the lock whether
 * anyone still holds RX. A write error half-way (ENOSPC) leaves a torn
 * record the reader waits out. The counts, the read offset and the
 * reader's place in its record live in a MAP_SHARED anonymous page, so
 * they hold across fork(). Space the reader has consumed is freed with
 * fallocate(FALLOC_FL_PUNCH_HOLE) in 64 KiB steps (the file grows sparse;
 * a file system without hole punching just keeps it); when both ends are
 * in one process and all is read, the file is truncated back to 0.
 *
 * Where it lives: ipc_rundir()/ipcfs.<pid>.<n>.<token>.file, mode 0600, named in
 * ch->object. Not visible (the bench): unlinked as soon as it is open, so
 * even a killed process leaves nothing; visible (the daemon): kept while
 * the channel lives, for outsiders to read, and unlinked by destroy().
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frame.h"
#include "transport.h"

#define FILE_DEFAULT_CAP	(1u << 20)
#define FILE_HDR		sizeof(uint32_t)
#define FILE_PUNCH		(64u << 10)	/* free space in these steps */
#define FILE_REWIND		(1u << 20)	/* truncate once past this */
#define FILE_WAIT_NS		(100 * 1000 * 1000L)

/* shared by both sides of a fork */
struct file_shared {
	atomic_ullong sent, recvd;	/* payload bytes */
	atomic_ullong roff;		/* file offset the reader is at */
	atomic_ullong rec_left;		/* payload still due in its record */
	atomic_ullong punched;		/* the file is a hole before this */
	atomic_int eof;			/* the reader met the hang-up */
	atomic_int rx_pid;		/* the process reading; 0: it closed */
	atomic_int no_punch;		/* the file system cannot punch */
	atomic_uint rx_seq;		/* futex: bumped per receive */
	atomic_uint tx_waiting;
};

struct file_chan {
	struct file_shared *sh;
	int ino;		/* inotify fd of the RX end */
	unsigned long long capacity;
};

static int file_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct flock rdlock = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	struct file_chan *f;
	int err;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ino = -1;
	f->capacity = o->capacity ? o->capacity : FILE_DEFAULT_CAP;
	f->sh = mmap(NULL, sizeof(*f->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->sh == MAP_FAILED) {
		err = -errno;
		goto err_free;
	}
	err = ipc_object_path(ch, o, "file");
	if (err < 0)
		goto err_unmap;
	ch->fd[IPC_TX] = open(ch->object, O_WRONLY | O_APPEND | O_CREAT |
			      O_EXCL | O_CLOEXEC, 0600);
	if (ch->fd[IPC_TX] < 0) {
		err = -errno;
		goto err_unmap;
	}
	/* read-write: punching holes needs a writable descriptor */
	ch->fd[IPC_RX] = open(ch->object, O_RDWR | O_CLOEXEC);
	f->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ch->fd[IPC_RX] < 0 || f->ino < 0 ||
	    inotify_add_watch(f->ino, ch->object, IN_MODIFY) < 0) {
		err = -errno;
		goto err_close;
	}
	/* held while any process holds RX; without locks, rx_pid alone */
	(void)fcntl(ch->fd[IPC_RX], F_OFD_SETLK, &rdlock);
	/* the watch and the fds follow the inode, not the name */
	if (!o->visible)
		(void)unlink(ch->object);
	atomic_store(&f->sh->rx_pid, getpid());
	ch->priv = f;
	return 0;

err_close:
	ipc_fd_close(&f->ino);
	ipc_fd_destroy_named(ch);
err_unmap:
	(void)munmap(f->sh, sizeof(*f->sh));
err_free:
	free(f);
	return err;
}

static unsigned long long file_queued(struct file_shared *sh)
{
	long long n = (long long)(atomic_load(&sh->sent) -
				  atomic_load(&sh->recvd));

	/* outsiders may write records too: never below 0 */
	return n < 0 ? 0 : (unsigned long long)n;
}

/*
 * The reader has closed for good. rx_pid 0 (the reader's own close
 * cleared it) says to look; the kernel says whether any process still
 * holds a copy of the RX descriptor, by its lock: after fork, the process
 * keeping TX may have cleared its own pid before the reader published.
 */
static bool file_rx_gone(const struct ipc_chan *ch, struct file_shared *sh)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (atomic_load(&sh->rx_pid) != 0)
		return false;
	if (fcntl(ch->fd[IPC_TX], F_OFD_GETLK, &fl) < 0)
		return true;
	return fl.l_type == F_UNLCK;
}

/* write all of iov; a short write of a regular file is rare (ENOSPC) */
static int file_write_all(int fd, struct iovec *iov, int cnt)
{
	ssize_t n;

	while (cnt > 0) {
		n = writev(fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}

static ssize_t file_send(struct ipc_chan *ch, const void *buf, size_t len,
			 int flags)
{
	struct file_chan *f = ch->priv;
	struct file_shared *sh = f->sh;
	unsigned long long queued;
	struct iovec iov[2];
	uint32_t hdr;
	unsigned seq;
	pid_t pid;
	int err;

	for (;;) {
		seq = atomic_load(&sh->rx_seq);
		if (file_rx_gone(ch, sh))
			return -EPIPE;
		queued = file_queued(sh);
		if (queued < f->capacity)
			break;
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
		if (ipc_stop)
			return -EINTR;
		atomic_store(&sh->tx_waiting, 1);
		/* time out now and then: a reader may vanish without a word */
		err = ipc_futex_wait(&sh->rx_seq, seq, FILE_WAIT_NS);
		if (err < 0)
			return err;
		pid = atomic_load(&sh->rx_pid);
		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
			return -EPIPE;
	}
	if (len > f->capacity - queued)
		len = f->capacity - queued;
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	hdr = (uint32_t)len;
	iov[0].iov_base = &hdr;
	iov[0].iov_len = FILE_HDR;
	iov[1].iov_base = (void *)buf;
	iov[1].iov_len = len;
	/* counted first: the reader may take it before writev returns */
	atomic_fetch_add(&sh->sent, len);
	err = file_write_all(ch->fd[IPC_TX], iov, 2);
	if (err < 0) {
		atomic_fetch_sub(&sh->sent, len);
		return err;
	}
	return (ssize_t)len;
}

/* free what the reader is done with: punch, or start the file over */
static void file_reclaim(struct ipc_chan *ch, struct file_chan *f)
{
	struct file_shared *sh = f->sh;
	unsigned long long off = atomic_load(&sh->roff);
	unsigned long long from = atomic_load(&sh->punched);
	unsigned long long to = off & ~(unsigned long long)(FILE_PUNCH - 1);

	/* both ends here, nothing due: no writer can race a truncate */
	if (off >= FILE_REWIND && ch->open[IPC_TX] &&
	    atomic_load(&sh->rec_left) == 0 && file_queued(sh) == 0) {
		struct stat st;

		if (fstat(ch->fd[IPC_RX], &st) == 0 &&
		    (unsigned long long)st.st_size == off &&
		    ftruncate(ch->fd[IPC_RX], 0) == 0) {
			atomic_store(&sh->roff, 0);
			atomic_store(&sh->punched, 0);
			return;
		}
	}
	if (to <= from || atomic_load(&sh->no_punch))
		return;
	if (fallocate(ch->fd[IPC_RX],
		      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)from, (off_t)(to - from)) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			atomic_store(&sh->no_punch, 1);
		return;
	}
	atomic_store(&sh->punched, to);
}

/* the reader's record parser, pure but for rd (frame.h) */
ssize_t ipc_file_parse(struct ipc_file_pos *pos,
		       ssize_t (*rd)(int fd, void *buf, size_t n, off_t off),
		       int fd, unsigned char *buf, size_t len)
{
	unsigned long long off = pos->off, left = pos->left;
	size_t got = 0, want;
	uint32_t hdr;
	ssize_t n;

	while (got < len) {
		if (left == 0) {
			n = rd(fd, &hdr, FILE_HDR, (off_t)off);
			if (n < 0 && got == 0)
				return -errno;
			if (n < (ssize_t)FILE_HDR)
				break;	/* not all of it is written yet */
			off += FILE_HDR;
			if (hdr == 0 && pos->skip_hangups)
				continue;
			if (hdr == 0) {
				pos->eof = true;
				break;
			}
			left = hdr;
			continue;
		}
		want = len - got < left ? len - got : (size_t)left;
		n = rd(fd, buf + got, want, (off_t)off);
		if (n < 0 && got == 0)
			return -errno;
		if (n <= 0)
			break;	/* the rest of the record is still to come */
		off += n;
		left -= n;
		got += n;
	}
	pos->off = off;
	pos->left = left;
	return (ssize_t)got;
}

/*
 * Read what has been written, across records, up to len bytes: a count,
 * 0 when nothing is there (eof set if the hang-up came first), -errno.
 */
static ssize_t file_take(struct ipc_chan *ch, struct file_chan *f,
			 unsigned char *buf, size_t len)
{
	struct file_shared *sh = f->sh;
	struct ipc_file_pos pos = {
		.off = atomic_load(&sh->roff),
		.left = atomic_load(&sh->rec_left),
		.skip_hangups = ch->local,
	};
	ssize_t got;

	got = ipc_file_parse(&pos, pread, ch->fd[IPC_RX], buf, len);
	if (got < 0)
		return got;
	if (pos.eof)
		atomic_store(&sh->eof, 1);
	atomic_store(&sh->roff, pos.off);
	atomic_store(&sh->rec_left, pos.left);
	if (got > 0) {
		atomic_fetch_add(&sh->recvd, got);
		atomic_fetch_add(&sh->rx_seq, 1);
		if (atomic_exchange(&sh->tx_waiting, 0))
			ipc_futex_wake(&sh->rx_seq);
		file_reclaim(ch, f);
	}
	return (ssize_t)got;
}

/* empty the inotify queue, so that it polls quiet */
static void file_drain(int ino)
{
	char ev[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(ino, ev, sizeof(ev)) > 0)
		;
}

static ssize_t file_recv(struct ipc_chan *ch, void *buf, size_t len,
			 int flags)
{
	struct file_chan *f = ch->priv;
	struct pollfd pfd = { .fd = f->ino, .events = POLLIN };
	ssize_t n;

	if (atomic_load(&f->sh->rx_pid) != getpid())
		atomic_store(&f->sh->rx_pid, getpid());
	for (;;) {
		if (atomic_load(&f->sh->eof))
			return 0;
		n = file_take(ch, f, buf, len);
		if (n != 0 || atomic_load(&f->sh->eof))
			return n;
		/* drain, then look again: a write between the two wakes us */
		file_drain(f->ino);
		n = file_take(ch, f, buf, len);
		if (n != 0 || atomic_load(&f->sh->eof))
			return n;
		if (flags & IPC_DONTWAIT)
			return -EAGAIN;
		if (ipc_stop)
			return -EINTR;
		if (poll(&pfd, 1, -1) < 0)
			return -errno;
	}
}

static bool file_writable(const struct ipc_chan *ch)
{
	const struct file_chan *f = ch->priv;

	return file_queued(f->sh) < f->capacity;
}

static int file_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
			short *events)
{
	const struct file_chan *f = ch->priv;

	*events = POLLIN;
	/* TX: room comes back only from our own reader */
	return end == IPC_RX ? f->ino : -1;
}

/* the hang-up: a record of length 0, unless nobody will read it */
static void file_hangup(struct ipc_chan *ch)
{
	struct file_chan *f = ch->priv;
	uint32_t hup = 0;
	struct iovec iov = { &hup, FILE_HDR };

	if (!file_rx_gone(ch, f->sh))
		(void)file_write_all(ch->fd[IPC_TX], &iov, 1);
}

/*
 * Quiet: nothing is written. Dropping TX while keeping RX (after fork)
 * makes us the reader a waiting writer watches. Closing RX clears the
 * reader's pid only if it is ours (see file_rx_gone()).
 */
static void file_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct file_chan *f = ch->priv;
	int me = getpid();

	if (end == IPC_RX) {
		(void)atomic_compare_exchange_strong(&f->sh->rx_pid, &me, 0);
		ipc_fd_close(&f->ino);
	} else if (ch->open[IPC_RX]) {
		atomic_store(&f->sh->rx_pid, me);
	}
	ipc_fd_close(&ch->fd[end]);
}

static void file_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	const struct file_chan *f = ch->priv;

	st->queued_bytes = (long)file_queued(f->sh);
	st->capacity = (long)f->capacity;
}

static void file_destroy(struct ipc_chan *ch)
{
	struct file_chan *f = ch->priv;

	ipc_fd_destroy_named(ch);	/* ENOENT when it was not visible */
	if (!f)
		return;
	ipc_fd_close(&f->ino);
	(void)munmap(f->sh, sizeof(*f->sh));
	free(f);
	ch->priv = NULL;
}

const struct ipc_transport ipc_file = {
	.name      = "file",
	.what      = "regular file appended to and followed (inotify), bytes",
	.create    = file_create,
	.close_end = file_close_end,
	.hangup    = file_hangup,
	.send      = file_send,
	.recv      = file_recv,
	.wait_fd   = file_wait_fd,
	.writable  = file_writable,
	.stats     = file_stats,
	.destroy   = file_destroy,
};
