/*
 * road_floor.c - the floor: MOUNT/null of nullfs driven by run.c's loop,
 * each side writing S and reading S zeros without waiting for the other
 * (docs/DESIGN.md, "The floor's count"); in floor-1p the parent alone.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* the shared page: the hang-up word, then each side's count */
enum { STOP, PARENT_LOOPS, CHILD_LOOPS, NWORDS };

struct floor {
	struct bench_link l;
	char path[PATH_MAX];	/* MOUNT/null */
	enum bench_mode mode;	/* which requests a message is */
	bool solo;		/* floor-1p */
	enum bench_side side;
	pid_t owner;
	atomic_uint *page;	/* NWORDS, shared with the child */
	unsigned char *scratch;	/* floor-1p: the stand-in requests' buffer */
};

#define F(p)	container_of(p, struct floor, l)

const char *bench_floor_what(enum bench_mode mode, bool solo)
{
	if (solo && mode == BENCH_STREAM)
		return "floor-1p = the same requests by the parent alone: "
		       "write S, read S per message, back to back";
	if (solo)
		return "floor-1p = the same 4 requests by the parent alone, "
		       "back to back (the child idles):\n"
		       "#   FUSE's cost of a round trip without a second "
		       "client; on one CPU the tighter bound";
	if (mode == BENCH_STREAM)
		return "floor = nullfs (a FUSE fs that does nothing): the "
		       "child writes S, the parent reads S (zeros),\n"
		       "#   each as fast as it can; every request answered "
		       "at once; 1 msg = 1 write + 1 read";
	return "floor = nullfs (a FUSE fs that does nothing) driven as a "
	       "round trip: the parent writes S\n"
	       "#   and reads S, the child reads S and writes S, each as "
	       "fast as it can: nothing waits\n"
	       "#   for data, no request is parked, nobody is woken but by FUSE's own reply;\n"
	       "#   1 rt = these 4 requests: rt/s = (parent's + child's "
	       "loops)/2 per s; latency = the parent's";
}

static void floor_close(struct bench_link *l)
{
	struct floor *f = F(l);
	unsigned parent;

	bench_fd_close(l);
	free(f->scratch);
	f->scratch = NULL;
	if (!f->page)
		return;
	parent = atomic_load(&f->page[PARENT_LOOPS]);
	if (f->owner == getpid() && !f->solo && parent)
		l->count_scale = (1 + (double)atomic_load(&f->page[CHILD_LOOPS]) / parent) / 2;
	(void)munmap(f->page, NWORDS * sizeof(*f->page));
	f->page = NULL;
}

static int floor_open(struct bench_link *l, size_t size)
{
	struct floor *f = F(l);
	struct stat st;

	l->count_scale = 0;
	if (stat(f->path, &st) < 0)
		return -errno;
	f->page = mmap(NULL, NWORDS * sizeof(*f->page), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->page == MAP_FAILED) {
		f->page = NULL;
		return -ENOMEM;
	}
	f->owner = getpid();
	f->scratch = f->solo ? malloc(size) : NULL;
	if (f->solo && !f->scratch) {
		floor_close(l);
		return -ENOMEM;
	}
	return 0;
}

static int floor_attach(struct bench_link *l, enum bench_side side)
{
	F(l)->side = side;
	return bench_fd_attach(l, F(l)->path, F(l)->path);
}

/* floor-1p: the idle child sleeps until the parent hangs up; -EINTR */
static int floor_idle(struct floor *f)
{
	while (!atomic_load(&f->page[STOP]))
		if (ipc_futex_wait(&f->page[STOP], 0, 0) == -EINTR)
			return -EINTR;
	return 0;
}

static ssize_t floor_send(struct bench_link *l, const void *buf, size_t len)
{
	struct floor *f = F(l);
	ssize_t n;

	if (f->side == BENCH_CHILD && f->solo && atomic_fetch_add(&f->page[CHILD_LOOPS], 1)) {
		n = floor_idle(f);	/* past "ready": nothing to send */
		return n < 0 ? n : (ssize_t)len;
	}
	if (f->side == BENCH_CHILD)
		atomic_fetch_add_explicit(&f->page[CHILD_LOOPS], 1, memory_order_relaxed);
	if (f->side == BENCH_PARENT && f->solo) {
		/* the ping, its read and the pong's write: the 4th is recv */
		n = bench_fd_send(l, buf, len);
		if (n >= 0)
			n = bench_fd_recv(l, f->scratch, len);
		if (n < 0)
			return n;
	}
	return bench_fd_send(l, buf, len);
}

/* zeros at once; end of stream once the parent hung up */
static ssize_t floor_recv(struct bench_link *l, void *buf, size_t len)
{
	struct floor *f = F(l);
	ssize_t n;

	if (f->side == BENCH_CHILD && f->solo)
		return floor_idle(f);	/* 0: the end, or -EINTR */
	if (atomic_load(&f->page[STOP]))
		return 0;
	if (f->side == BENCH_PARENT)
		atomic_fetch_add_explicit(&f->page[PARENT_LOOPS], 1, memory_order_relaxed);
	if (f->solo && f->mode == BENCH_STREAM) {
		/* the child's write */
		n = bench_fd_send(l, f->scratch, len);
		if (n < 0)
			return n;
	}
	return bench_fd_recv(l, buf, len);
}

static void floor_hangup(struct bench_link *l)
{
	atomic_store(&F(l)->page[STOP], 1);
	ipc_futex_wake(&F(l)->page[STOP]);
	bench_fd_hangup(l);
}

static const struct bench_link_ops floor_ops = {
	.open = floor_open, .attach = floor_attach, .send = floor_send,
	.recv = floor_recv, .hangup = floor_hangup, .close = floor_close,
};

struct bench_link *bench_link_floor(const char *mount, enum bench_mode mode, bool solo)
{
	struct floor *f = bench_link_new(sizeof(*f), &floor_ops, BENCH_ROAD_FLOOR,
					 solo ? "floor-1p" : "floor");

	f->l.nodata = true;
	snprintf(f->path, sizeof(f->path), "%s/null", mount);
	f->mode = mode;
	f->solo = solo;
	return &f->l;
}
