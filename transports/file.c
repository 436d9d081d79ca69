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
 * or while a waiting writer finds the reader dead, is -EPIPE. A write
 * error half-way (ENOSPC) leaves a torn record the reader waits out. The counts, the read offset and the
 * reader's place in its record live in a MAP_SHARED anonymous page, so
 * they hold across fork(). Space the reader has consumed is freed with
 * fallocate(FALLOC_FL_PUNCH_HOLE) in 64 KiB steps (the file grows sparse;
 * a file system without hole punching just keeps it); when both ends are
 * in one process and all is read, the file is truncated back to 0.
 *
 * Where it lives: ipc_rundir()/ipcfs.<pid>.<n>.file, mode 0600, named in
 * ch->object. Not visible (the bench): unlinked as soon as it is open, so
 * even a killed process leaves nothing; visible (the daemon): kept while
 * the channel lives, for outsiders to read, and unlinked by destroy().
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

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
	atomic_int rx_gone;		/* the reader closed its end */
	atomic_int rx_pid;		/* the process reading */
	atomic_int no_punch;		/* the file system cannot punch */
	atomic_uint rx_seq;		/* futex: bumped per receive */
	atomic_uint tx_waiting;
};

struct file_chan {
	struct file_shared *sh;
	int ino;		/* inotify fd of the RX end */
	unsigned forks;		/* file_forks when this process last used us */
	unsigned long long capacity;
};

/* fork() counter: tells ipc_keep_end() after fork from a real close */
static atomic_uint file_forks;
static pthread_once_t file_once = PTHREAD_ONCE_INIT;

static void file_forked(void)
{
	atomic_fetch_add(&file_forks, 1);
}

static void file_init_once(void)
{
	(void)pthread_atfork(NULL, file_forked, file_forked);
}

static int file_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	struct file_chan *f;
	int err;

	(void)pthread_once(&file_once, file_init_once);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ino = -1;
	f->forks = atomic_load(&file_forks);
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
	int err;

	f->forks = atomic_load(&file_forks);
	for (;;) {
		seq = atomic_load(&sh->rx_seq);
		if (atomic_load(&sh->rx_gone))
			return -EPIPE;
		queued = file_queued(sh);
		if (queued < f->capacity)
			break;
		if (flags & IPC_NOWAIT)
			return -EAGAIN;
		if (ipc_stop)
			return -EINTR;
		atomic_store(&sh->tx_waiting, 1);
		/* time out now and then: a reader may vanish without a word */
		err = ipc_futex_wait(&sh->rx_seq, seq, FILE_WAIT_NS);
		if (err < 0)
			return err;
		if (kill(atomic_load(&sh->rx_pid), 0) < 0 && errno == ESRCH)
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

/*
 * Read what has been written, across records, up to len bytes: a count,
 * 0 when nothing is there (eof set if the hang-up came first), -errno.
 */
static ssize_t file_take(struct ipc_chan *ch, struct file_chan *f,
			 unsigned char *buf, size_t len)
{
	struct file_shared *sh = f->sh;
	unsigned long long off = atomic_load(&sh->roff);
	unsigned long long left = atomic_load(&sh->rec_left);
	size_t got = 0, want;
	uint32_t hdr;
	ssize_t n;

	while (got < len) {
		if (left == 0) {
			n = pread(ch->fd[IPC_RX], &hdr, FILE_HDR, (off_t)off);
			if (n < 0 && got == 0)
				return -errno;
			if (n < (ssize_t)FILE_HDR)
				break;	/* not all of it is written yet */
			off += FILE_HDR;
			if (hdr == 0) {
				atomic_store(&sh->eof, 1);
				break;
			}
			left = hdr;
			continue;
		}
		want = len - got < left ? len - got : (size_t)left;
		n = pread(ch->fd[IPC_RX], buf + got, want, (off_t)off);
		if (n < 0 && got == 0)
			return -errno;
		if (n <= 0)
			break;	/* the rest of the record is still to come */
		off += n;
		left -= n;
		got += n;
	}
	atomic_store(&sh->roff, off);
	atomic_store(&sh->rec_left, left);
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

	f->forks = atomic_load(&file_forks);
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
		if (flags & IPC_NOWAIT)
			return -EAGAIN;
		if (ipc_stop)
			return -EINTR;
		if (poll(&pfd, 1, -1) < 0)
			return -errno;
	}
}

static int file_wait_fd(const struct ipc_chan *ch, enum ipc_end end,
			short *events)
{
	const struct file_chan *f = ch->priv;

	*events = POLLIN;
	/* TX: room comes back only from our own reader */
	return end == IPC_RX ? f->ino : -1;
}

/*
 * ipc_keep_end() after fork closes the other end while the kept one is
 * open: that only drops this process's copy. Otherwise closing TX writes
 * the hang-up and closing RX tells the writer the reader is gone.
 */
static void file_close_end(struct ipc_chan *ch, enum ipc_end end)
{
	struct file_chan *f = ch->priv;
	bool drop = ch->open[!end] && f->forks != atomic_load(&file_forks);
	uint32_t hup = 0;
	struct iovec iov = { &hup, FILE_HDR };

	f->forks = atomic_load(&file_forks);
	if (end == IPC_RX) {
		if (!drop)
			atomic_store(&f->sh->rx_gone, 1);
		ipc_fd_close(&f->ino);
	} else if (drop) {
		/* we keep the RX end: a waiting writer watches us now */
		atomic_store(&f->sh->rx_pid, getpid());
	} else if (!atomic_load(&f->sh->rx_gone)) {
		(void)file_write_all(ch->fd[IPC_TX], &iov, 1);
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
	.send      = file_send,
	.recv      = file_recv,
	.wait_fd   = file_wait_fd,
	.stats     = file_stats,
	.destroy   = file_destroy,
};
