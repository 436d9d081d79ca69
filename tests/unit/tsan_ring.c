/*
 * tsan_ring.c - the ring's memory ordering under ThreadSanitizer: a
 * writer thread and a reader thread on one shm (and one mmap) channel,
 * every byte checked, in spin mode, in the default spin-then-sleep mode
 * and sleeping at once; 64-byte rings (writers wait for room) and 64 KiB
 * ones, sends short (first line published last) and long (in order). A
 * missing release or acquire shows as a data race on the ring's lines.
 * Built only with -fsanitize=thread (tests/unit/meson.build), as its own
 * program: the rest of the suite runs under ASan, which TSan excludes.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

extern const struct ipc_transport ipc_shm, ipc_mmap;

#define TOTAL	(2u << 20)	/* bytes per run */

static unsigned char pat(uint64_t i)
{
	return (unsigned char)((i * 0x9E3779B97F4A7C15ull) >> 56);
}

static void *writer(void *arg)
{
	struct ipc_chan *ch = arg;
	static __thread unsigned char buf[3000];
	uint64_t sent = 0;
	ssize_t n;

	for (unsigned k = 0; sent < TOTAL; k++) {
		size_t len = k % 7 == 0 ? 1000 + k % 2000 : k % 300 + 1;

		if (len > TOTAL - sent)
			len = TOTAL - sent;
		for (size_t i = 0; i < len; i++)
			buf[i] = pat(sent + i);
		n = ipc_send(ch, buf, len, 0);
		if (n <= 0) {
			fprintf(stderr, "send: %zd\n", n);
			exit(1);
		}
		sent += (uint64_t)n;
	}
	ipc_close_end(ch, IPC_TX);
	return NULL;
}

/* the reader: the whole pattern, then end of file; 0 or 1 */
static int reader(struct ipc_chan *ch)
{
	unsigned char buf[4096];
	uint64_t got = 0;
	ssize_t n;

	while ((n = ipc_recv(ch, buf, 1 + got % sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pat(got + (uint64_t)i)) {
				fprintf(stderr, "byte %llu differs\n",
					(unsigned long long)(got + i));
				return 1;
			}
		got += (uint64_t)n;
	}
	if (n < 0 || got != TOTAL) {
		fprintf(stderr, "recv: %zd after %llu bytes\n", n,
			(unsigned long long)got);
		return 1;
	}
	return 0;
}

static int run(const struct ipc_transport *t, size_t capacity, bool spin,
	       bool sleep, const char *rundir)
{
	struct ipc_opts o = { .capacity = capacity, .spin = spin,
			      .sleep = sleep, .rundir = rundir };
	struct ipc_chan ch;
	pthread_t w;
	int ret;

	if (ipc_chan_open(&ch, t, &o) < 0 ||
	    pthread_create(&w, NULL, writer, &ch) != 0) {
		fprintf(stderr, "%s: open or thread failed\n", t->name);
		return 1;
	}
	ret = reader(&ch);
	pthread_join(w, NULL);
	ipc_chan_close(&ch);
	printf("%s capacity %zu%s%s: %s\n", t->name, capacity,
	       spin ? " spin" : "", sleep ? " sleep" : "", ret ? "FAIL" : "ok");
	return ret;
}

int main(void)
{
	const struct ipc_transport *ts[] = { &ipc_shm, &ipc_mmap };
	char rundir[] = "/tmp/tsan_ring.XXXXXX";
	int fails = 0;

	if (!mkdtemp(rundir)) {
		perror("mkdtemp");
		return 1;
	}
	for (size_t i = 0; i < 2; i++)
		for (size_t cap = 64; cap <= 65536; cap *= 1024) {
			fails += run(ts[i], cap, true, false, rundir);
			fails += run(ts[i], cap, false, false, rundir);
			fails += run(ts[i], cap, false, true, rundir);
		}
	(void)remove(rundir);
	return fails ? 1 : 0;
}
