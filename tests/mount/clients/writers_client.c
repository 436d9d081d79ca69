/*
 * writers_client.c - many writers and readers on one transport file of a
 * mounted ipcfs at once: every byte delivered exactly once, and a write of
 * up to PIPE_BUF bytes never interleaved with another writer's bytes.
 *
 *	writers_client FILE[,FILE...] WRITERS RECORDS MAXLEN READERS [msg]
 *
 * Several FILEs are names of one channel (A's file and B's net/a/ one):
 * writer i and reader i open FILE number i modulo their count.
 * WRITERS processes each write RECORDS records, one write() each, of
 * 16..MAXLEN bytes: a header (magic, writer, length, sequence number,
 * checksum) and a payload that only that record has. READERS processes,
 * all opened before any writer, read until EOF. All writers open the file
 * before any of them writes, so that EOF comes only after the last one.
 *
 * With one reader, the stream is parsed record by record: every record
 * must be whole (checksum), in its writer's order, exactly once, and
 * nothing may follow the last one. With `msg` (a message transport), every
 * read() must return exactly one whole record, with any number of readers.
 * With several readers on a byte stream, a record may be split between
 * readers, so each reader counts byte values; the totals must equal those
 * of what was written.
 *
 * Prints a summary; exits 1 on any failure.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAGIC	0x1bcf5ec0u
#define DEADLINE 90	/* seconds any process may take */

struct rec_hdr {
	uint32_t magic;
	uint16_t writer;
	uint16_t len;		/* of the whole record */
	uint32_t seq;
	uint32_t sum;		/* FNV-1a of the payload */
};

/* shared by every process */
struct shared {
	atomic_ulong hist[256];		/* byte values read, all readers */
	atomic_ulong bytes_read;
	atomic_uint seen[];		/* msg: times record w*records+s was read */
};

#define MAX_PATHS 8
static const char *paths[MAX_PATHS];	/* names of one channel */
static unsigned npaths;
static unsigned nwriters, nrecords, maxlen, nreaders;
static bool msg_mode;
static struct shared *sh;

static uint32_t rng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t fnv1a(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* record `seq` of writer `w` into buf; returns its length */
static size_t make_record(unsigned char *buf, unsigned w, unsigned seq)
{
	uint32_t s = (w + 1) * 2654435761u ^ (seq + 1) * 40503u;
	struct rec_hdr h;
	size_t len;

	if (!s)
		s = 1;
	len = sizeof(h) + rng(&s) % (maxlen - sizeof(h) + 1);
	for (size_t i = sizeof(h); i < len; i++)
		buf[i] = (unsigned char)rng(&s);
	h.magic = MAGIC;
	h.writer = (uint16_t)w;
	h.len = (uint16_t)len;
	h.seq = seq;
	h.sum = fnv1a(buf + sizeof(h), len - sizeof(h));
	memcpy(buf, &h, sizeof(h));
	return len;
}

/* NULL if buf[0..avail) starts with a valid record, else what is wrong */
static const char *bad_record(const unsigned char *buf, size_t avail,
			      struct rec_hdr *h)
{
	unsigned char want[65536];

	memcpy(h, buf, sizeof(*h));
	if (h->magic != MAGIC)
		return "bad magic: bytes of another write in the middle";
	if (h->writer >= nwriters || h->seq >= nrecords ||
	    h->len < sizeof(*h) || h->len > maxlen)
		return "bad header";
	if (avail < h->len)
		return NULL;
	if (fnv1a(buf + sizeof(*h), h->len - sizeof(*h)) != h->sum)
		return "bad checksum: record interleaved or corrupted";
	if (make_record(want, h->writer, h->seq) != h->len ||
	    memcmp(want, buf, h->len) != 0)
		return "record differs from what its writer wrote";
	return NULL;
}

/*
 * Every writer opens the file, says so on `ready` and waits for `go` to
 * close before it writes: the writer count must not touch 0 before the
 * last one is done, or the readers rightly see EOF in between.
 */
static void writer(unsigned w, int ready, int go)
{
	unsigned char buf[65536];
	const char *path = paths[w % npaths];
	int fd = open(path, O_WRONLY);
	char c;

	if (fd < 0)
		err(1, "writer %u: open %s", w, path);
	if (write(ready, "w", 1) != 1 || read(go, &c, 1) != 0)
		errx(1, "writer %u: start handshake failed", w);
	close(ready);
	close(go);
	for (unsigned s = 0; s < nrecords; s++) {
		size_t len = make_record(buf, w, s);
		ssize_t r = write(fd, buf, len);

		if (r != (ssize_t)len)
			errx(1, "writer %u: write of record %u (%zu bytes) gave %zd: %s",
			     w, s, len, r, r < 0 ? strerror(errno) : "short");
	}
	if (close(fd) < 0)
		err(1, "writer %u: close", w);
}

/* one reader that parses the whole stream */
static int single_reader(int fd)
{
	size_t cap = 1 << 20, have = 0, off;
	unsigned char *buf = malloc(cap);
	unsigned *next = calloc(nwriters, sizeof(*next));
	unsigned long records = 0;
	const char *why;
	struct rec_hdr h;
	ssize_t r;

	if (!buf || !next)
		err(1, "malloc");
	for (;;) {
		r = read(fd, buf + have, cap - have);
		if (r < 0)
			err(1, "reader: read");
		if (r == 0)
			break;
		if (msg_mode) {
			why = bad_record(buf, r, &h);
			if (!why && (size_t)r != h.len)
				why = "a read returned more or less than one message";
			if (why)
				errx(1, "reader: record %lu (read of %zd bytes): %s",
				     records, r, why);
		} else {
			have += r;
		}
		off = 0;
		for (;;) {
			size_t avail = msg_mode ? (size_t)r : have - off;

			if (avail < sizeof(h) || (msg_mode && off))
				break;
			why = bad_record(buf + off, avail, &h);
			if (why)
				errx(1, "reader: at byte %lu of record %lu: %s",
				     records, records, why);
			if (avail < h.len)
				break;
			if (h.seq != next[h.writer])
				errx(1, "reader: writer %u record %u came when %u was due",
				     h.writer, h.seq, next[h.writer]);
			next[h.writer]++;
			records++;
			off += h.len;
		}
		if (!msg_mode) {
			memmove(buf, buf + off, have - off);
			have -= off;
		}
	}
	if (have)
		errx(1, "reader: %zu bytes after the last whole record", have);
	for (unsigned w = 0; w < nwriters; w++)
		if (next[w] != nrecords)
			errx(1, "reader: got %u of writer %u's %u records",
			     next[w], w, nrecords);
	printf("1 reader: %lu records from %u writers, each whole, once, in order\n",
	       records, nwriters);
	free(buf);
	free(next);
	return 0;
}

/* one of several readers */
static int shared_reader(int fd)
{
	unsigned long hist[256] = { 0 }, total = 0;
	unsigned char *buf = malloc(1 << 20);
	const char *why;
	struct rec_hdr h;
	ssize_t r;

	if (!buf)
		err(1, "malloc");
	while ((r = read(fd, buf, 1 << 20)) > 0) {
		total += r;
		if (msg_mode) {
			why = bad_record(buf, r, &h);
			if (!why && (size_t)r != h.len)
				why = "a read returned more or less than one message";
			if (why)
				errx(1, "reader: read of %zd bytes: %s", r, why);
			atomic_fetch_add(&sh->seen[h.writer * nrecords + h.seq], 1);
		} else {
			for (ssize_t i = 0; i < r; i++)
				hist[buf[i]]++;
		}
	}
	if (r < 0)
		err(1, "reader: read");
	for (int i = 0; i < 256; i++)
		atomic_fetch_add(&sh->hist[i], hist[i]);
	atomic_fetch_add(&sh->bytes_read, total);
	free(buf);
	return 0;
}

/* what the readers together must have seen */
static int check_shared(void)
{
	unsigned long hist[256] = { 0 }, total = 0;
	unsigned char buf[65536];
	int bad = 0;

	for (unsigned w = 0; w < nwriters; w++)
		for (unsigned s = 0; s < nrecords; s++) {
			size_t len = make_record(buf, w, s);

			total += len;
			for (size_t i = 0; i < len; i++)
				hist[buf[i]]++;
			if (msg_mode && sh->seen[w * nrecords + s] != 1) {
				if (bad++ < 10)
					printf("writer %u record %u read %u times\n",
					       w, s, sh->seen[w * nrecords + s]);
			}
		}
	if (sh->bytes_read != total) {
		printf("readers got %lu bytes, writers wrote %lu\n",
		       (unsigned long)sh->bytes_read, total);
		bad++;
	}
	for (int i = 0; i < 256 && !msg_mode; i++)
		if (sh->hist[i] != hist[i]) {
			printf("byte value %d read %lu times, written %lu times\n",
			       i, (unsigned long)sh->hist[i], hist[i]);
			bad++;
			break;
		}
	if (bad)
		return 1;
	printf("%u readers: %lu bytes from %u writers, every %s exactly once\n",
	       nreaders, total, nwriters, msg_mode ? "record" : "byte (by value)");
	return 0;
}

static unsigned arg(const char *s, const char *what, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end || !v || v > max)
		errx(2, "%s: '%s' is not a number in 1..%u", what, s, max);
	return (unsigned)v;
}

static void parse_args(int argc, char **argv)
{
	if (argc < 6 || argc > 7)
		errx(2, "usage: writers_client FILE[,FILE...] WRITERS RECORDS "
		     "MAXLEN READERS [msg]");
	for (char *save, *p = strtok_r(argv[1], ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		if (npaths == MAX_PATHS)
			errx(2, "FILE: at most %d names", MAX_PATHS);
		paths[npaths++] = p;
	}
	if (!npaths)
		errx(2, "FILE: no name");
	nwriters = arg(argv[2], "WRITERS", 1000);
	nrecords = arg(argv[3], "RECORDS", 1000000);
	maxlen = arg(argv[4], "MAXLEN", 65535);
	nreaders = arg(argv[5], "READERS", 1000);
	msg_mode = argc == 7 && strcmp(argv[6], "msg") == 0;
	if (maxlen < sizeof(struct rec_hdr))
		errx(2, "MAXLEN: at least %zu", sizeof(struct rec_hdr));
}

/* readers first: each has seen the writers come and go, so EOF ends it */
static void start_readers(pid_t *pids, int ready[2], int go[2])
{
	char c;
	int fd;

	for (unsigned i = 0; i < nreaders; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			err(1, "fork");
		if (pids[i] == 0) {
			free(pids);	/* the parent's business */
			alarm(DEADLINE);
			close(ready[0]);
			close(go[0]);
			close(go[1]);
			fd = open(paths[i % npaths], O_RDONLY);
			if (fd < 0)
				err(1, "reader: open %s", paths[i % npaths]);
			if (write(ready[1], "r", 1) != 1)
				err(1, "reader: write");
			close(ready[1]);
			exit(nreaders == 1 ? single_reader(fd) :
			     shared_reader(fd));
		}
	}
	for (unsigned i = 0; i < nreaders; i++)
		if (read(ready[0], &c, 1) != 1)
			errx(1, "a reader died before it opened %s", paths[0]);
}

/* the writers, all open before any of them writes */
static void start_writers(pid_t *pids, int ready[2], int go[2])
{
	char c;

	for (unsigned i = 0; i < nwriters; i++) {
		pids[nreaders + i] = fork();
		if (pids[nreaders + i] < 0)
			err(1, "fork");
		if (pids[nreaders + i] == 0) {
			free(pids);
			alarm(DEADLINE);
			close(ready[0]);
			close(go[1]);
			writer(i, ready[1], go[0]);
			exit(0);
		}
	}
	close(ready[1]);
	close(go[0]);
	for (unsigned i = 0; i < nwriters; i++)
		if (read(ready[0], &c, 1) != 1)
			errx(1, "a writer died before it opened %s", paths[0]);
	close(ready[0]);
	close(go[1]);	/* all open: go */
}

/* 1 if any reader or writer failed */
static int wait_all(const pid_t *pids)
{
	int status, failed = 0;

	for (unsigned i = 0; i < nreaders + nwriters; i++) {
		if (waitpid(pids[i], &status, 0) < 0)
			err(1, "waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("%s %u %s\n", i < nreaders ? "reader" : "writer",
			       i < nreaders ? i : i - nreaders,
			       WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ?
			       "timed out" : "failed");
			failed = 1;
		}
	}
	return failed;
}

int main(int argc, char **argv)
{
	int ready[2], go[2], failed;
	pid_t *pids;
	size_t shsize;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	alarm(DEADLINE + 30);	/* we wait for children: never forever */

	shsize = sizeof(*sh) + sizeof(atomic_uint) * nwriters * nrecords;
	sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		err(1, "mmap");
	pids = calloc(nreaders + nwriters, sizeof(*pids));
	if (!pids || pipe(ready) < 0 || pipe(go) < 0)
		err(1, "setup");

	start_readers(pids, ready, go);
	start_writers(pids, ready, go);
	failed = wait_all(pids);
	if (!failed && nreaders > 1)
		failed = check_shared();
	free(pids);
	return failed;
}
