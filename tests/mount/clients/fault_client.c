/*
 * fault_client.c - one end of a transfer that a fault test cuts short
 * (kill -9 of a writer, a reader or the daemon), keeping score in a
 * counter file that survives its own SIGKILL.
 *
 *	fault_client write FILE BLOCK TOTAL COUNTER
 *	fault_client read FILE BLOCK COUNTER [resume]
 *
 * The stream is a numbered sequence: byte k is byte k % 8 of the
 * little-endian 64-bit word k / 8, so any slice of it tells where it
 * belongs. COUNTER is a file of 16 bytes mapped MAP_SHARED: the writer
 * stores there the bytes write() has acknowledged, after each write; the
 * reader stores the bytes it has received and checked, after each read,
 * and the stream offset it started at (resume: a second reader taking
 * over, which finds its place from the first whole word it gets). A
 * killed process leaves the counts of everything it was told.
 *
 * write: BLOCK-byte write()s until TOTAL bytes (0: forever) are
 * acknowledged; one write() is one message on message transports.
 * read: read()s of BLOCK bytes until end of file; every byte must be the
 * next one of the stream. On a failing call, prints "CALL: strerror" on
 * stderr and exits 3; on corrupt data exits 1; 0 otherwise. The final
 * line on stdout is "start=S bytes=N".
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BLOCK_MAX	(1u << 20)

struct score {
	volatile uint64_t bytes;	/* acknowledged / received */
	volatile uint64_t start;	/* reader: stream offset of its first byte */
};

static unsigned char at(uint64_t k)
{
	return (unsigned char)((k / 8) >> (8 * (k % 8)));
}

static struct score *score_map(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct score *s;

	if (fd < 0 || ftruncate(fd, sizeof(*s)) < 0)
		err(2, "%s", path);
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		err(2, "mmap %s", path);
	close(fd);
	return s;
}

static unsigned long num(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end || (strcmp(what, "BLOCK") == 0 && (!v || v > BLOCK_MAX)))
		errx(2, "%s: '%s' is not a number", what, s);
	return v;
}

static unsigned char buf[BLOCK_MAX];

static int do_write(const char *path, size_t block, uint64_t total,
		    struct score *sc)
{
	uint64_t k = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "open: %s\n", strerror(errno));
		return 3;
	}
	while (!total || k < total) {
		for (size_t i = 0; i < block; i++)
			buf[i] = at(k + i);
		n = write(fd, buf, block);
		if (n < 0) {
			fprintf(stderr, "write: %s\n", strerror(errno));
			printf("start=0 bytes=%llu\n", (unsigned long long)k);
			return 3;
		}
		/* a short write: the rest goes again in the next block */
		k += n;
		sc->bytes = k;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "close: %s\n", strerror(errno));
		return 3;
	}
	printf("start=0 bytes=%llu\n", (unsigned long long)k);
	return 0;
}

/* resume: the stream offset of buf[0..n): try each place a word may
 * start at, and keep the one the whole buffer agrees with */
static int find_place(const unsigned char *buf, size_t n, uint64_t *k)
{
	for (size_t a = 0; a < 8 && a + 8 <= n; a++) {
		uint64_t w = 0;
		size_t i;

		for (i = 0; i < 8; i++)
			w |= (uint64_t)buf[a + i] << (8 * i);
		if (w * 8 < a)
			continue;
		for (i = 0; i < n && buf[i] == at(w * 8 - a + i); i++)
			;
		if (i == n) {
			*k = w * 8 - a;
			return 0;
		}
	}
	return -1;
}

static int do_read(const char *path, size_t block, struct score *sc,
		   int resume)
{
	uint64_t k = 0, got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "open: %s\n", strerror(errno));
		return 3;
	}
	for (;;) {
		n = read(fd, buf, block);
		if (n < 0) {
			fprintf(stderr, "read: %s\n", strerror(errno));
			printf("start=%llu bytes=%llu\n",
			       (unsigned long long)sc->start,
			       (unsigned long long)got);
			return 3;
		}
		if (n == 0)
			break;
		if (resume && got == 0) {
			if (n < 16 || find_place(buf, n, &k) < 0)
				errx(1, "resume: no place in the stream for %zd bytes",
				     n);
			sc->start = k;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != at(k + i))
				errx(1, "byte %llu of the stream is %u, want %u",
				     (unsigned long long)(k + i), buf[i],
				     at(k + i));
		k += n;
		got += n;
		sc->bytes = got;
	}
	printf("start=%llu bytes=%llu\n", (unsigned long long)sc->start,
	       (unsigned long long)got);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], num(argv[3], "BLOCK"),
				num(argv[4], "TOTAL"), score_map(argv[5]));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "read") == 0)
		return do_read(argv[2], num(argv[3], "BLOCK"),
			       score_map(argv[4]),
			       argc == 6 && strcmp(argv[5], "resume") == 0);
	errx(2, "usage: fault_client write FILE BLOCK TOTAL COUNTER\n"
	     "       fault_client read FILE BLOCK COUNTER [resume]");
}
