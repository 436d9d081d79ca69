/*
 * net_calls.h - exactly once, for one peer's session (net_export.c):
 * which of the peer's numbered requests have been executed, and the
 * replies kept until the peer says it has them.
 *
 * The peer numbers its requests 1, 2, 3... and marks every message with
 * `low`: it has the replies of every request below. Its NET_ACK also
 * lists every seq below `below` whose reply it still awaits: it has the
 * replies of all the others. It never sends a seq at or past
 * low + NET_SEQ_SPAN, and never has more than NET_CALLS_MAX requests
 * that are running or whose reply it has not acked: so this table is
 * bounded, and a seq once executed is known as such until it is below
 * low (a bit per seq in [low, low + NET_SEQ_SPAN)).
 */
#ifndef FS_NET_CALLS_H
#define FS_NET_CALLS_H

#include <stddef.h>
#include <stdint.h>

#define NET_CALLS_MAX	256		/* the peer's window, in requests */
#define NET_SEQ_SPAN	65536		/* seqs past low the peer may use */

enum net_call_state { NET_CALL_FREE, NET_CALL_RUNNING, NET_CALL_DONE };

struct net_call {
	uint64_t seq;
	enum net_call_state state;
	void *owner;		/* RUNNING: the executor's record */
	void *reply;		/* DONE: the encoded reply, malloc'ed */
	size_t reply_len;
};

struct net_calls {
	struct net_call call[NET_CALLS_MAX];
	unsigned used;
	uint64_t low;				/* every seq below is done */
	uint64_t done_bits[NET_SEQ_SPAN / 64];	/* by seq % NET_SEQ_SPAN */
	size_t reply_bytes;			/* kept replies, in all */
};

enum net_admit {
	NET_ADMIT_NEW,		/* execute it: *c is its RUNNING entry */
	NET_ADMIT_RUNNING,	/* a repeat of one still running: ignore */
	NET_ADMIT_REPLY,	/* a repeat of one done: send c->reply again */
	NET_ADMIT_OLD,		/* done and acknowledged: ignore */
	NET_ADMIT_REFUSED,	/* outside the window: a broken peer */
};

void net_calls_init(struct net_calls *t);
/* free every kept reply; the owners of running calls are the caller's */
void net_calls_fini(struct net_calls *t);
enum net_admit net_calls_admit(struct net_calls *t, uint64_t seq,
			       struct net_call **c);
/* the call has its reply (taken over, malloc'ed); the executor is gone */
void net_calls_done(struct net_calls *t, struct net_call *c, void *reply,
		    size_t len);
/* the running call of seq, or NULL */
struct net_call *net_calls_running(struct net_calls *t, uint64_t seq);
/* the peer has the replies below low, and that of seq (0: none) */
void net_calls_ack(struct net_calls *t, uint64_t low, uint64_t seq);
/* ... and of every seq below `below` but those in awaited (ascending) */
void net_calls_ack_all_but(struct net_calls *t, uint64_t low, uint64_t below,
			   const uint64_t *awaited, size_t n);

#endif
