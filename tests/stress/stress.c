/*
 * stress.c - soak every transport with many writers and many readers and
 * check that every record arrives exactly once, intact and in order.
 *
 * Usage: stress [--road direct|mount|both] [--via MOUNTPOINT]
 *		 [--transport a,b,...] [--writers N] [--readers M]
 *		 [--records R] [--seconds S] [--size BYTES] [--timeout S]
 *		 [--free-readers]
 *
 * A run is one transport on one road. Writers are forked processes that
 * send numbered records 0, 1, 2, ... until they have sent R each or the
 * run's share of S seconds is over; readers are forked processes that
 * read until end of stream. A record is a 32-byte header (magic, writer,
 * sequence number, payload length, a header checksum, an FNV-1a checksum
 * over header and payload) and a payload of 0..BYTES bytes, both
 * derived from (writer, sequence), so a reader can rebuild the record it
 * should have got and compare every byte.
 *
 * What is checked, per record: header and payload checksums, length and
 * every payload byte against the rebuilt record (else "corrupt"); that
 * it was not seen before, in a bitmap shared by all readers ("dup");
 * that its sequence number is above the last one from the same writer
 * ("disorder": in the one global order for byte streams, within each
 * reader for message transports, where readers share no order). After
 * the run, every number a writer says it sent and nobody received is
 * "lost". A byte stream that ends inside a record counts one "corrupt".
 *
 * What each road can promise decides its topology (printed per row):
 *  - message transports: a read is one whole message, so M readers read
 *    freely and each checks what it gets;
 *  - byte streams: a read returns what is there, and may end inside a
 *    record, whose rest goes to the next reader. No checker can put
 *    records back together from reads whose order it does not know, so
 *    the readers of a stream take turns (a process-shared lock around
 *    each read) and feed one shared parser: the stream is checked byte
 *    for byte in the order it came out. Writers stay free: the daemon
 *    never interleaves one write with another's, and a pipe write of at
 *    most PIPE_BUF bytes is atomic. --free-readers drops the lock and
 *    gives each reader its own parser; split records then show up as
 *    "corrupt" (a demonstration, not a bug);
 *  - direct road: a channel is made before fork and each process keeps
 *    an end. A stream socket (unix, tcp) does not keep concurrent
 *    writes whole, so there writers take turns too; the rings and cma are
 *    single-producer single-consumer rings; zmq, signal and file have one
 *    receiving process and a per-writer hang-up, so they run 1 x 1.
 *    unixdgram, udp, mqueue, netlink and memfd run N x M; their writers
 *    leave quietly and the parent ends the readers with one STOP record
 *    each. vmsplice(2) is not atomic at PIPE_BUF: its writers take turns.
 *
 * Exit status: 0 if every run lost, duplicated, corrupted and reordered
 * nothing, 1 otherwise, 2 for a usage error.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"

#define NSEC		1000000000ull
#define MAX_PROCS	64		/* writers, and readers */
#define REC_MAGIC	0x53545231u	/* "STR1" */
#define REC_HDR		32
#define REC_STOP	0x1		/* flags: no more records for you */
#define STOP_WRITER	0xffffu
#define SIZE_MAX_OK	(PIPE_BUF - REC_HDR)	/* pipe writes stay atomic */
#define READ_BUF	(64u << 10)
#define SEQ_CAP_TIMED	(4u << 20)	/* records per writer, --seconds only */

/* the header, in host order; 32 bytes with no padding */
struct rec_hdr {
	uint32_t magic;
	uint16_t writer;
	uint16_t flags;
	uint64_t seq;
	uint32_t len;		/* payload bytes after the header */
	uint32_t hsum;		/* FNV-1a 32 of the 20 bytes above */
	uint64_t sum;		/* FNV-1a 64 of bytes 0..23 and the payload */
};
_Static_assert(sizeof(struct rec_hdr) == REC_HDR, "header is 32 bytes");

/* a byte-stream parser: a record being put together */
struct parser {
	size_t have;
	bool desync;		/* skipping bytes after a bad header */
	unsigned char part[PIPE_BUF];
};

/* per-run counts and state, in one MAP_SHARED page set across fork() */
struct shared {
	atomic_int ready;		/* children set up and waiting */
	atomic_int failed;		/* a child met an error */
	uint64_t deadline;		/* writers stop sending at this time */
	atomic_ullong sent[MAX_PROCS];	/* records each writer sent */
	atomic_ullong sent_bytes;
	atomic_ullong received, dup, corrupt, disorder, bytes_in;
	pthread_mutex_t rlock, wlock;	/* readers / writers taking turns */
	/* byte streams with readers taking turns: under rlock */
	struct parser sp;
	int64_t slast[MAX_PROCS];
	char errmsg[256];
};

struct opts {
	bool direct, mount, free_readers;
	const char *via;
	const char *only;
	int writers, readers;
	uint64_t records;	/* per writer; 0: only the time bounds it */
	double seconds;		/* for all runs together; 0: no time bound */
	size_t size;		/* largest payload */
	double timeout;		/* per run, after the writers' time is up */
};

/* how one transport runs on one road */
struct plan {
	int writers, readers;
	bool wlock;		/* writers take turns */
	bool rlock;		/* readers take turns, one shared parser */
	bool stops;		/* direct messages: parent sends STOPs */
	const char *why;
};

struct run {
	const struct opts *o;
	const struct ipc_transport *t;
	bool mount, msg;
	struct plan p;
	struct shared *sh;
	atomic_ullong *seen;	/* a bit per (writer, sequence) */
	size_t seen_bytes;
	uint64_t seq_cap;	/* sequence numbers a writer may use */
	uint64_t stride;	/* bits per writer: seq_cap rounded to 64 */
	struct ipc_chan ch;	/* direct road */
	char path[PATH_MAX];	/* mount road: the transport file */
	char dir[PATH_MAX];
	int go[2];		/* closing go[1] starts everyone */
	pid_t pids[2 * MAX_PROCS];
	int npids;
	/* results */
	uint64_t lost, extra;
	double secs;
	bool timed_out, child_failed;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
	ipc_stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static void nap_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	(void)nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ records */

static uint32_t fnv32(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h;
}

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rec_key(unsigned writer, uint64_t seq)
{
	return splitmix(((uint64_t)writer << 48) ^ seq);
}

/* the payload length of (writer, seq): 0..size, spread evenly */
static uint32_t rec_len(unsigned writer, uint64_t seq, size_t size)
{
	return (uint32_t)(rec_key(writer, seq) % (size + 1));
}

static void rec_payload(unsigned char *p, size_t len, uint64_t key)
{
	uint64_t x = key | 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 32);
	}
}

/* build record (writer, seq) into buf; its total length */
static size_t rec_build(unsigned char *buf, unsigned writer, uint64_t seq,
			size_t size, unsigned flags)
{
	struct rec_hdr h = {
		.magic = REC_MAGIC, .writer = (uint16_t)writer,
		.flags = (uint16_t)flags, .seq = seq,
	};

	h.len = flags & REC_STOP ? 0 : rec_len(writer, seq, size);
	h.hsum = fnv32(&h, offsetof(struct rec_hdr, hsum));
	rec_payload(buf + REC_HDR, h.len, rec_key(writer, seq));
	h.sum = fnv64(fnv64(14695981039346656037ull, &h,
			    offsetof(struct rec_hdr, sum)),
		      buf + REC_HDR, h.len);
	memcpy(buf, &h, REC_HDR);
	return REC_HDR + h.len;
}

/* a header that can start a record: magic, checksum, sane length */
static bool hdr_ok(const struct rec_hdr *h, size_t size)
{
	return h->magic == REC_MAGIC &&
	       h->hsum == fnv32(h, offsetof(struct rec_hdr, hsum)) &&
	       h->len <= size;
}

/* mark (writer, seq) seen; true if it was seen before */
static bool seen_before(struct run *r, unsigned writer, uint64_t seq)
{
	uint64_t bit = (uint64_t)writer * r->stride + seq;
	uint64_t mask = 1ull << (bit % 64);

	return atomic_fetch_or(&r->seen[bit / 64], mask) & mask;
}

/*
 * Check one whole record of n bytes and count it. last[] holds the last
 * sequence number taken from each writer, in the order that is defined.
 * 1 for a STOP record, 0 otherwise.
 */
static int rec_check(struct run *r, const unsigned char *buf, size_t n,
		     int64_t *last)
{
	static unsigned char want[PIPE_BUF];
	struct shared *s = r->sh;
	struct rec_hdr h;

	if (n < REC_HDR)
		goto corrupt;
	memcpy(&h, buf, REC_HDR);
	if (!hdr_ok(&h, r->o->size) || n != REC_HDR + h.len)
		goto corrupt;
	if (h.flags == REC_STOP && h.writer == STOP_WRITER && h.len == 0)
		return 1;
	if (h.flags || h.writer >= r->p.writers || h.seq >= r->seq_cap)
		goto corrupt;
	/* the whole record, rebuilt from (writer, seq): every byte counts */
	if (rec_build(want, h.writer, h.seq, r->o->size, 0) != n ||
	    memcmp(want, buf, n) != 0)
		goto corrupt;
	if (seen_before(r, h.writer, h.seq)) {
		atomic_fetch_add(&s->dup, 1);
		return 0;
	}
	if ((int64_t)h.seq <= last[h.writer])
		atomic_fetch_add(&s->disorder, 1);
	last[h.writer] = (int64_t)h.seq;
	atomic_fetch_add(&s->received, 1);
	atomic_fetch_add(&s->bytes_in, n);
	return 0;

corrupt:
	atomic_fetch_add(&s->corrupt, 1);
	return 0;
}

/*
 * Feed stream bytes to a parser. A bad header counts one corrupt record
 * and the parser slides a byte at a time until a good header comes.
 */
static void stream_feed(struct run *r, struct parser *ps, int64_t *last,
			const unsigned char *p, size_t n)
{
	struct rec_hdr h;
	size_t need, take;

	for (;;) {
		if (ps->have < REC_HDR) {
			take = REC_HDR - ps->have < n ? REC_HDR - ps->have : n;
			memcpy(ps->part + ps->have, p, take);
			ps->have += take;
			p += take;
			n -= take;
			if (ps->have < REC_HDR)
				return;
			memcpy(&h, ps->part, REC_HDR);
			if (!hdr_ok(&h, r->o->size)) {
				if (!ps->desync)
					atomic_fetch_add(&r->sh->corrupt, 1);
				ps->desync = true;
				memmove(ps->part, ps->part + 1, REC_HDR - 1);
				ps->have = REC_HDR - 1;
				continue;
			}
		}
		memcpy(&h, ps->part, REC_HDR);
		need = REC_HDR + h.len;
		take = need - ps->have < n ? need - ps->have : n;
		memcpy(ps->part + ps->have, p, take);
		ps->have += take;
		p += take;
		n -= take;
		if (ps->have < need)
			return;
		(void)rec_check(r, ps->part, need, last);
		ps->have = 0;
		ps->desync = false;
	}
}

/* end of stream: a record begun and never finished is a corrupt one */
static void stream_end(struct run *r, struct parser *ps)
{
	if (ps->have > 0 && !ps->desync)
		atomic_fetch_add(&r->sh->corrupt, 1);
	ps->have = 0;
}

/* ------------------------------------------------------------ children */

static void child_fail(struct run *r, const char *what, int errnum)
{
	struct shared *s = r->sh;

	if (atomic_fetch_add(&s->failed, 1) == 0)
		snprintf(s->errmsg, sizeof(s->errmsg), "%s %s: %s: %s",
			 r->mount ? "mount" : "direct", r->t->name, what,
			 strerror(errnum));
	_exit(1);
}

/* tell the parent we are set up, then wait for everyone else */
static void child_ready(struct run *r)
{
	char c;

	close(r->go[1]);
	atomic_fetch_add(&r->sh->ready, 1);
	while (read(r->go[0], &c, 1) < 0 && errno == EINTR)
		;
	close(r->go[0]);
}

static int mount_open(struct run *r, int flags)
{
	int fd = open(r->path, flags | O_CLOEXEC);

	if (fd < 0)
		child_fail(r, flags == O_RDONLY ? "open for reading" :
			   "open for writing", errno);
	return fd;
}

/* one record out; 0 or -errno */
static int send_rec(struct run *r, int fd, const unsigned char *buf,
		    size_t n)
{
	ssize_t k;

	if (!r->mount)
		return r->msg ? (int)ipc_send(&r->ch, buf, n, 0) :
				ipc_send_all(&r->ch, buf, n, 0);
	while (n > 0) {
		k = write(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		/* a message write must go whole: a short one is an error */
		if (r->msg && (size_t)k != n)
			return -EIO;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

static void writer(struct run *r, unsigned id)
{
	static unsigned char buf[PIPE_BUF];
	struct shared *s = r->sh;
	uint64_t seq;
	size_t n;
	int fd = -1, ret;

	if (r->mount)
		fd = mount_open(r, O_WRONLY);
	else
		ipc_keep_end(&r->ch, IPC_TX);
	child_ready(r);
	for (seq = 0; seq < r->seq_cap; seq++) {
		if (s->deadline && now_ns() >= s->deadline)
			break;
		n = rec_build(buf, id, seq, r->o->size, 0);
		if (r->p.wlock)
			pthread_mutex_lock(&s->wlock);
		ret = send_rec(r, fd, buf, n);
		if (r->p.wlock)
			pthread_mutex_unlock(&s->wlock);
		if (ret == -EINTR && !interrupted)
			continue;	/* nothing went: send it again */
		if (ret < 0)
			child_fail(r, "send", -ret);
		atomic_fetch_add(&s->sent[id], 1);
		atomic_fetch_add(&s->sent_bytes, n);
	}
	if (r->mount)
		close(fd);
	else if (r->p.stops)
		ipc_keep_end(&r->ch, IPC_RX);	/* leave quietly: no hang-up */
	else
		ipc_close_end(&r->ch, IPC_TX);
	_exit(0);
}

/* one read; bytes, 0 at end of stream, or -errno */
static ssize_t recv_some(struct run *r, int fd, unsigned char *buf,
			 size_t len)
{
	ssize_t n;

	do {
		if (r->mount) {
			n = read(fd, buf, len);
			if (n < 0)
				n = -errno;
		} else {
			n = ipc_recv(&r->ch, buf, len, 0);
		}
	} while (n == -EINTR && !interrupted);
	return n;
}

/*
 * Streams are read in sizes of every kind, so that records come out cut
 * anywhere: a quarter of reads ask 1..64 bytes, a quarter up to two
 * records, the rest the whole buffer.
 */
static size_t read_size(uint64_t *rng)
{
	uint64_t x = *rng = splitmix(*rng);

	switch (x & 3) {
	case 0:
		return 1 + (x >> 8) % 64;
	case 1:
		return 1 + (x >> 8) % (2 * PIPE_BUF);
	default:
		return READ_BUF;
	}
}

static void reader(struct run *r)
{
	static unsigned char buf[READ_BUF];
	static struct parser own;
	struct shared *s = r->sh;
	int64_t last[MAX_PROCS];
	size_t len = sizeof(buf);
	uint64_t rng = splitmix(now_ns() ^ (uint64_t)getpid());
	ssize_t n;
	int fd = -1;

	memset(last, 0xff, sizeof(last));	/* -1: nothing yet */
	if (r->mount)
		fd = mount_open(r, O_RDONLY);
	else
		ipc_keep_end(&r->ch, IPC_RX);
	if (!r->mount && r->msg && r->ch.max_msg > len)
		child_fail(r, "max_msg above the read buffer", EMSGSIZE);
	child_ready(r);
	for (;;) {
		if (!r->msg)
			len = read_size(&rng);
		if (r->p.rlock)
			pthread_mutex_lock(&s->rlock);
		n = recv_some(r, fd, buf, len);
		if (n > 0 && r->p.rlock)
			stream_feed(r, &s->sp, s->slast, buf, (size_t)n);
		else if (n > 0 && !r->msg)
			stream_feed(r, &own, last, buf, (size_t)n);
		else if (n > 0 && rec_check(r, buf, (size_t)n, last) == 1)
			n = 0;		/* our STOP */
		if (n == 0 && !r->msg)
			stream_end(r, r->p.rlock ? &s->sp : &own);
		if (r->p.rlock)
			pthread_mutex_unlock(&s->rlock);
		if (n == 0)
			break;
		if (n < 0)
			child_fail(r, "receive", (int)-n);
	}
	if (r->mount)
		close(fd);
	else
		ipc_close_end(&r->ch, IPC_RX);
	_exit(0);
}

/* ------------------------------------------------------------ plans */

static bool is(const struct ipc_transport *t, const char *names)
{
	size_t n = strlen(t->name);
	const char *p;

	for (p = names; (p = strstr(p, t->name)) != NULL; p += n)
		if ((p == names || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static struct plan plan_of(const struct opts *o, const struct ipc_transport *t,
			   bool mount)
{
	struct plan p = { o->writers, o->readers, false, false, false, "" };
	bool msg = t->caps & IPC_MESSAGES;

	if (mount) {
		p.rlock = !msg && !o->free_readers;
		p.why = msg ? "a read is one message" :
			p.rlock ? "stream: readers take turns" :
				  "stream: free readers, splits count";
		return p;
	}
	if (is(t, "unixdgram udp mqueue netlink memfd")) {
		p.stops = true;
		p.why = "kernel queue; STOP per reader";
	} else if (is(t, "pipe fifo")) {
		p.rlock = !o->free_readers;
		p.why = p.rlock ? "atomic <= PIPE_BUF; readers take turns" :
				  "atomic <= PIPE_BUF; free readers";
	} else if (is(t, "vmsplice")) {
		p.wlock = true;	/* vmsplice(2) is not atomic at PIPE_BUF */
		p.rlock = !o->free_readers;
		p.why = "vmsplice: writers take turns";
	} else if (is(t, "unix tcp")) {
		p.wlock = true;
		p.rlock = !o->free_readers;
		p.why = "stream socket: writers take turns";
	} else {
		p.writers = p.readers = 1;
		p.why = is(t, "shm mmap sysvshm eventfd uring cma") ? "SPSC ring" :
			is(t, "zmq") ? "one PULL binds; hang-up per writer" :
			is(t, "signal") ? "one receiving pid" :
					  "one reader; hang-up per writer";
	}
	return p;
}

/* ------------------------------------------------------------ a run */

static int shared_init(struct run *r)
{
	pthread_mutexattr_t ma;
	struct shared *s;

	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return -errno;
	memset(s, 0, sizeof(*s));
	memset(s->slast, 0xff, sizeof(s->slast));
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->rlock, &ma);
	pthread_mutex_init(&s->wlock, &ma);
	pthread_mutexattr_destroy(&ma);
	r->sh = s;
	/* touched only where bits are set: NORESERVE keeps it cheap */
	r->stride = (r->seq_cap + 63) / 64 * 64;
	r->seen_bytes = (size_t)r->p.writers * r->stride / 8;
	r->seen = mmap(NULL, r->seen_bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->seen == MAP_FAILED) {
		(void)munmap(s, sizeof(*s));
		return -errno;
	}
	return 0;
}

static void shared_fini(struct run *r)
{
	pthread_mutex_destroy(&r->sh->rlock);
	pthread_mutex_destroy(&r->sh->wlock);
	(void)munmap(r->sh, sizeof(*r->sh));
	(void)munmap(r->seen, r->seen_bytes);
}

/* mount road: a fresh directory, so that the channel starts empty */
static int mount_setup(struct run *r, unsigned n)
{
	int len;

	len = snprintf(r->path, sizeof(r->path), "%s/stress.%d.%u/%s",
		       r->o->via, (int)getpid(), n, r->t->name);
	if (len < 0 || (size_t)len >= sizeof(r->path))
		return -ENAMETOOLONG;
	memcpy(r->dir, r->path, sizeof(r->dir));
	*strrchr(r->dir, '/') = '\0';
	if (mkdir(r->dir, 0700) < 0)
		return -errno;
	return 0;
}

/* the daemon may see the last release a moment after close() */
static int mount_teardown(struct run *r)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (rmdir(r->dir) == 0)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nap_ms(10);
	}
	return -EBUSY;
}

static pid_t spawn(struct run *r, bool is_writer, unsigned id)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0) {
		r->pids[r->npids++] = pid;
		return pid;
	}
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (is_writer)
		writer(r, id);
	reader(r);
	return 0;	/* not reached */
}

/* wait for pids[from..to) to exit, until deadline; false on time-out */
static bool wait_range(struct run *r, int from, int to, uint64_t deadline)
{
	int i, left, st;
	pid_t pid;

	for (;;) {
		for (left = 0, i = from; i < to; i++) {
			if (r->pids[i] <= 0)
				continue;
			pid = waitpid(r->pids[i], &st, WNOHANG);
			if (pid == 0) {
				left++;
				continue;
			}
			if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
				r->child_failed = true;
			r->pids[i] = 0;
		}
		if (!left)
			return true;
		if (interrupted || now_ns() >= deadline)
			return false;
		nap_ms(2);
	}
}

static void kill_all(struct run *r)
{
	int i, st;

	for (i = 0; i < r->npids; i++)
		if (r->pids[i] > 0)
			(void)kill(r->pids[i], SIGKILL);
	for (i = 0; i < r->npids; i++)
		if (r->pids[i] > 0) {
			(void)waitpid(r->pids[i], &st, 0);
			r->pids[i] = 0;
		}
}

/* direct messages: one STOP per reader, once every writer has left */
static void send_stops(struct run *r, uint64_t deadline)
{
	unsigned char buf[REC_HDR];
	size_t n = rec_build(buf, STOP_WRITER, 0, 0, REC_STOP);
	int i = 0;
	ssize_t k;

	while (i < r->p.readers && !interrupted && now_ns() < deadline) {
		k = ipc_send(&r->ch, buf, n, IPC_DONTWAIT);
		if (k == (ssize_t)n)
			i++;
		else if (k == -EAGAIN || k == -EINTR)
			nap_ms(1);
		else
			break;
	}
	if (i < r->p.readers)
		r->timed_out = true;
}

/* fork everyone, start them together, wait; the counts are in r->sh */
static void run_procs(struct run *r, uint64_t budget_ns)
{
	int nw = r->p.writers, i;
	uint64_t t0 = now_ns(), deadline;

	r->npids = 0;
	for (i = 0; i < nw; i++)
		if (spawn(r, true, (unsigned)i) < 0)
			goto err_kill;
	for (i = 0; i < r->p.readers; i++)
		if (spawn(r, false, 0) < 0)
			goto err_kill;
	/* the parent holds no end: EOF comes when the last writer goes */
	if (!r->mount && r->p.stops)
		ipc_keep_end(&r->ch, IPC_TX);
	else if (!r->mount) {
		ipc_keep_end(&r->ch, IPC_TX);
		ipc_keep_end(&r->ch, IPC_RX);
	}
	close(r->go[0]);
	deadline = now_ns() + 10 * NSEC;
	while (atomic_load(&r->sh->ready) < r->npids &&
	       !atomic_load(&r->sh->failed) && !interrupted) {
		if (now_ns() >= deadline)
			goto err_kill;
		nap_ms(1);
	}
	if (atomic_load(&r->sh->failed) || interrupted)
		goto err_kill;
	t0 = now_ns();
	r->sh->deadline = budget_ns ? t0 + budget_ns : 0;
	close(r->go[1]);
	deadline = t0 + budget_ns + (uint64_t)(r->o->timeout * NSEC);
	if (!wait_range(r, 0, nw, deadline))
		goto err_timeout;
	if (!r->mount && r->p.stops) {
		send_stops(r, deadline);
		ipc_keep_end(&r->ch, IPC_RX);	/* our TX, quietly */
	}
	if (!wait_range(r, nw, r->npids, deadline))
		goto err_timeout;
	r->secs = (double)(now_ns() - t0) / NSEC;
	return;

err_timeout:
	r->timed_out = true;
	r->secs = (double)(now_ns() - t0) / NSEC;
	kill_all(r);
	return;
err_kill:
	r->child_failed = true;
	close(r->go[1]);
	kill_all(r);
}

/* lost: sent and never seen; extra: seen and never sent */
static void count_lost(struct run *r)
{
	uint64_t w, i, sent, word, below;
	atomic_ullong *bits;

	for (w = 0; w < (uint64_t)r->p.writers; w++) {
		sent = atomic_load(&r->sh->sent[w]);
		bits = r->seen + w * r->stride / 64;
		for (i = 0; i < r->stride / 64; i++) {
			word = atomic_load_explicit(&bits[i],
						    memory_order_relaxed);
			if (sent >= (i + 1) * 64)
				below = ~0ull;
			else if (sent > i * 64)
				below = (1ull << (sent - i * 64)) - 1;
			else
				below = 0;
			r->lost += (uint64_t)__builtin_popcountll(~word & below);
			r->extra += (uint64_t)__builtin_popcountll(word & ~below);
		}
	}
}

static bool run_bad(const struct run *r)
{
	const struct shared *s = r->sh;

	return r->lost || r->extra || s->dup || s->corrupt || s->disorder ||
	       r->timed_out || r->child_failed || s->failed ||
	       s->received + s->dup == 0;
}

static void print_head(void)
{
	printf("%-6s %-9s %5s %9s %9s %6s %5s %7s %8s %8s %9s %6s  %s\n",
	       "road", "transport", "WxR", "sent", "received", "lost", "dup",
	       "corrupt", "disorder", "MB/s", "records/s", "secs", "topology");
}

static void print_row(const struct run *r)
{
	const struct shared *s = r->sh;
	uint64_t sent = 0;
	char wxr[16];
	double secs = r->secs > 0 ? r->secs : 1e-9;
	int w;

	for (w = 0; w < r->p.writers; w++)
		sent += s->sent[w];
	snprintf(wxr, sizeof(wxr), "%dx%d", r->p.writers, r->p.readers);
	printf("%-6s %-9s %5s %9llu %9llu %6llu %5llu %7llu %8llu %8.2f "
	       "%9.0f %6.2f  %s%s%s\n",
	       r->mount ? "mount" : "direct", r->t->name, wxr,
	       (unsigned long long)sent, (unsigned long long)s->received,
	       (unsigned long long)r->lost, (unsigned long long)s->dup,
	       (unsigned long long)(s->corrupt + r->extra),
	       (unsigned long long)s->disorder, s->bytes_in / secs / 1e6,
	       s->received / secs, r->secs, r->p.why,
	       r->timed_out ? "; TIMED OUT" : "",
	       r->child_failed || s->failed ? "; CHILD FAILED" : "");
	if (s->failed)
		printf("       %s\n", s->errmsg);
	if (run_bad(r))
		printf("       FAIL: %s %s\n", r->mount ? "mount" : "direct",
		       r->t->name);
	fflush(stdout);
}

/* one transport on one road; true if it passed */
static bool run_one(const struct opts *o, const struct ipc_transport *t,
		    bool mount, unsigned n, uint64_t budget_ns)
{
	struct ipc_opts io = { 0 };
	struct run r;
	bool bad;
	int ret;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.t = t;
	r.mount = mount;
	r.msg = t->caps & IPC_MESSAGES;
	r.p = plan_of(o, t, mount);
	r.seq_cap = o->records ? o->records : SEQ_CAP_TIMED;
	if (shared_init(&r) < 0)
		err(1, "mmap");
	if (pipe(r.go) < 0)
		err(1, "pipe");
	if (mount)
		ret = mount_setup(&r, n);
	else {
		io.max_msg = r.msg ? REC_HDR + o->size : 0;
		ret = ipc_chan_open(&r.ch, t, &io);
	}
	if (ret < 0) {
		printf("%-6s %-9s FAIL: %s: %s\n", mount ? "mount" : "direct",
		       t->name, mount ? "mkdir" : "ipc_chan_open",
		       strerror(-ret));
		close(r.go[0]);
		close(r.go[1]);
		shared_fini(&r);
		return false;
	}
	run_procs(&r, budget_ns);
	count_lost(&r);
	print_row(&r);
	bad = run_bad(&r);
	if (mount && (ret = mount_teardown(&r)) < 0) {
		printf("       FAIL: rmdir %s: %s\n", r.dir, strerror(-ret));
		bad = true;
	}
	if (!mount)
		ipc_chan_close(&r.ch);
	shared_fini(&r);
	return !bad;
}

/* ------------------------------------------------------------ main */

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: stress [--road direct|mount|both] [--via MOUNTPOINT]\n"
		"              [--transport a,b,...] [--writers N] [--readers M]\n"
		"              [--records R] [--seconds S] [--size BYTES]\n"
		"              [--timeout S] [--free-readers]\n"
		"Every writer sends R numbered, checksummed records (or sends\n"
		"for its share of S seconds, S for all runs together); readers\n"
		"check each arrives exactly once, intact, in per-writer order.\n"
		"--size: largest payload (default 1000, at most %d);\n"
		"--timeout: a run hung if its readers are not done this long\n"
		"after its writers' time is up (default 60).\n",
		(int)SIZE_MAX_OK);
	exit(status);
}

static double num_arg(const char *name, const char *arg, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || v < lo || v > hi)
		errx(2, "%s: '%s' is not a number in %g..%g", name, arg, lo,
		     hi);
	return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "road", required_argument, NULL, 'R' },
		{ "via", required_argument, NULL, 'v' },
		{ "transport", required_argument, NULL, 't' },
		{ "writers", required_argument, NULL, 'w' },
		{ "readers", required_argument, NULL, 'r' },
		{ "records", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "free-readers", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	*o = (struct opts){ .direct = true, .writers = 4, .readers = 4,
			    .size = 1000, .timeout = 60 };
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'R':
			o->direct = !strcmp(optarg, "direct") ||
				    !strcmp(optarg, "both");
			o->mount = !strcmp(optarg, "mount") ||
				   !strcmp(optarg, "both");
			if (!o->direct && !o->mount)
				errx(2, "--road: '%s' is not direct, mount or "
				     "both", optarg);
			break;
		case 'v': o->via = optarg; break;
		case 't': o->only = optarg; break;
		case 'w':
			o->writers = (int)num_arg("--writers", optarg, 1,
						  MAX_PROCS);
			break;
		case 'r':
			o->readers = (int)num_arg("--readers", optarg, 1,
						  MAX_PROCS);
			break;
		case 'n':
			o->records = (uint64_t)num_arg("--records", optarg, 1,
						       1e9);
			break;
		case 's':
			o->seconds = num_arg("--seconds", optarg, 0, 1e6);
			break;
		case 'S':
			o->size = (size_t)num_arg("--size", optarg, 0,
						  SIZE_MAX_OK);
			break;
		case 'T':
			o->timeout = num_arg("--timeout", optarg, 1, 1e6);
			break;
		case 'f': o->free_readers = true; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (o->via && !o->mount && !o->direct)
		o->mount = true;
	if (o->mount && !o->via)
		errx(2, "--road mount needs --via MOUNTPOINT");
	if (!o->records && !o->seconds)
		errx(2, "give --records, --seconds or both: a soak has bounds");
}

/* is t one of the comma-separated names in list (NULL: all)? */
static bool chosen(const char *list, const struct ipc_transport *t)
{
	size_t n = strlen(t->name);
	const char *p;

	if (!list)
		return true;
	for (p = list; (p = strstr(p, t->name)) != NULL; p += n)
		if ((p == list || p[-1] == ',') &&
		    (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const struct ipc_transport *const *t;
	struct sigaction sa;
	struct opts o;
	unsigned runs = 0, n = 0, failed = 0;
	uint64_t budget = 0;

	parse(argc, argv, &o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (t = ipc_transports; *t; t++) {
		if (!chosen(o.only, *t))
			continue;
		runs += o.direct && !((*t)->caps & IPC_LOCAL);
		runs += o.mount;
	}
	if (!runs)
		errx(2, "--transport: no such transport in '%s'", o.only);
	if (o.seconds)
		budget = (uint64_t)(o.seconds / runs * NSEC);
	printf("stress: %d writers x %d readers asked, payload 0..%zu B + "
	       "%d B header, %u runs; per writer and run: ", o.writers,
	       o.readers, o.size, REC_HDR, runs);
	if (o.records)
		printf("at most %llu records%s", (unsigned long long)o.records,
		       budget ? ", " : "");
	if (budget)
		printf("at most %.2f s", budget / 1e9);
	printf("; placement: unpinned, %ld CPUs online\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	print_head();
	for (t = ipc_transports; *t && !interrupted; t++) {
		if (!chosen(o.only, *t))
			continue;
		if (o.direct && !((*t)->caps & IPC_LOCAL))
			failed += !run_one(&o, *t, false, n++, budget);
		if (o.mount && !interrupted)
			failed += !run_one(&o, *t, true, n++, budget);
	}
	if (interrupted) {
		printf("stress: interrupted\n");
		return 130;
	}
	printf("stress: %u of %u runs failed\n", failed, runs);
	return failed ? 1 : 0;
}
