/*
 * net_import_write.c - a peer's writes answered early, and what waits
 * for them. A blocking write is answered as soon as B has sent it when
 * it is the oldest of its file's writes in flight and the peer's last
 * room hint covers it: a writer keeps one write travelling while it
 * makes the next, and a round trip costs two crossings, not four
 * (docs/DESIGN.md, "Across hosts"). What fails after the answer is
 * reported by the file's next write or its close, which waits for the
 * early write; the peer's handle is released after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_import.h"

struct net_flush {
	fuse_req_t req;
	struct net_file *f;
	struct net_flush *next;
};

void net_file_unlink(struct net_file *f)
{
	struct net_file **pp = &f->peer->files;

	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (*pp)
		*pp = f->next;
	if (f->ph)
		fuse_pollhandle_destroy(f->ph);
	f->ph = NULL;
}

static void flush_unlink(struct net_flush *fl)
{
	struct net_flush **pp = &fl->f->flushes;

	while (*pp != fl)
		pp = &(*pp)->next;
	*pp = fl->next;
}

static void flush_interrupted(fuse_req_t req, void *data)
{
	struct net_flush *fl = data;

	flush_unlink(fl);
	fuse_reply_err(req, EINTR);
	free(fl);
}

/* f's trouble, reported once */
static int file_err_take(struct net_file *f)
{
	int err = f->err;

	f->err = 0;
	return err;
}

static bool early_in_flight(const struct net_file *f)
{
	const struct net_out *o = TAILQ_FIRST(&f->writes);

	return o && o->early;
}

static void flushes_answer(struct net_file *f)
{
	struct net_flush *fl;
	int err = f->flushes ? file_err_take(f) : 0;

	while ((fl = f->flushes) != NULL) {
		f->flushes = fl->next;
		fuse_req_interrupt_func(fl->req, NULL, NULL);
		fuse_reply_err(fl->req, err);
		free(fl);
	}
}

void net_file_flush(struct net_file *f, fuse_req_t req)
{
	struct net_flush *fl;

	if (!early_in_flight(f)) {
		fuse_reply_err(req, file_err_take(f));
		return;
	}
	fl = calloc(1, sizeof(*fl));
	if (!fl) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fl->req = req;
	fl->f = f;
	fl->next = f->flushes;
	f->flushes = fl;
	fuse_req_interrupt_func(req, flush_interrupted, fl);
}

/* closed and its writes done: the peer's handle goes too */
static void file_gone(struct net_file *f)
{
	struct net_out *o = NULL;

	if (f->epoch == f->peer->epoch)
		o = net_out_new(f->peer, NULL, OUT_NONE, NET_RELEASE);
	if (o) {
		o->m.handle = f->remote;
		net_out_submit(o);
	}
	net_file_unlink(f);
	free(f);
}

void net_file_release(struct net_file *f)
{
	net_file_unlink(f);
	f->released = true;
	if (TAILQ_EMPTY(&f->writes))
		file_gone(f);
}

/* the oldest write not answered yet gets its answer, unless trouble
 * is waiting to be told or the peer fails everything */
static void writes_advance(struct net_file *f)
{
	struct net_out *o = TAILQ_FIRST(&f->writes);

	if (!o || o->early || !o->req || o->cancel || f->err ||
	    f->peer->failing || o->size > f->room)
		return;
	fuse_req_interrupt_func(o->req, NULL, NULL);
	fuse_reply_write(o->req, o->size);
	o->req = NULL;
	o->early = true;
	f->room -= o->size;
	f->peer->early++;
}

/* the peer's room after write o, less the early writes it had not
 * seen then */
void net_room_update(const struct net_out *o, size_t room)
{
	const struct net_out *e;

	TAILQ_FOREACH(e, &o->file->writes, wlink)
		if (e->early && (!e->queued || e->m.seq > o->m.seq))
			room = room > e->size ? room - e->size : 0;
	o->file->room = room;
}

/*
 * An early write failed after its file was closed without waiting for it
 * (close(2) interrupted): nobody is left to tell. Said in the log and
 * counted in stats, never silently gone.
 */
static void early_lost(const struct net_out *o, int err)
{
	struct net_peer *p = o->file->peer;

	p->lost++;
	fprintf(stderr, "ipcfs: peer %s: a write of %zu bytes, answered early, "
		"failed after its file was closed: %s\n", p->name, o->size,
		strerror(err));
}

/* o leaves its file's writes, with err for an early one */
void net_write_end(struct net_out *o, int err)
{
	struct net_file *f = o->file;

	if (!o->in_writes)
		return;
	TAILQ_REMOVE(&f->writes, o, wlink);
	o->in_writes = false;
	if (o->early && err && f->released)
		early_lost(o, err);
	else if (o->early && err && !f->err)
		f->err = err;
	writes_advance(f);
	if (!early_in_flight(f))
		flushes_answer(f);
	if (f->released && TAILQ_EMPTY(&f->writes))
		file_gone(f);
}

void net_out_submit_write(struct net_out *o, bool blocking)
{
	struct net_file *f = o->file;

	if (blocking) {
		TAILQ_INSERT_TAIL(&f->writes, o, wlink);
		o->in_writes = true;
		writes_advance(f);
	}
	net_out_submit(o);
}
