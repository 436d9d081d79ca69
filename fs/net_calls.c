/*
 * net_calls.c - exactly once on the exporting side (net_calls.h). Small
 * and without I/O, so that tests/unit/test_net.c drives it directly.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "net_calls.h"

void net_calls_init(struct net_calls *t)
{
	memset(t, 0, sizeof(*t));
	t->low = 1;
}

static void call_free(struct net_calls *t, struct net_call *c)
{
	t->reply_bytes -= c->reply_len;
	free(c->reply);
	memset(c, 0, sizeof(*c));
	t->used--;
}

void net_calls_fini(struct net_calls *t)
{
	for (unsigned i = 0; i < NET_CALLS_MAX; i++)
		if (t->call[i].state != NET_CALL_FREE)
			call_free(t, &t->call[i]);
}

static bool bit_get(const struct net_calls *t, uint64_t seq)
{
	uint64_t i = seq % NET_SEQ_SPAN;

	return t->done_bits[i / 64] >> (i % 64) & 1;
}

static void bit_put(struct net_calls *t, uint64_t seq, bool on)
{
	uint64_t i = seq % NET_SEQ_SPAN, m = (uint64_t)1 << (i % 64);

	if (on)
		t->done_bits[i / 64] |= m;
	else
		t->done_bits[i / 64] &= ~m;
}

static struct net_call *find(struct net_calls *t, uint64_t seq)
{
	for (unsigned i = 0; i < NET_CALLS_MAX; i++)
		if (t->call[i].state != NET_CALL_FREE && t->call[i].seq == seq)
			return &t->call[i];
	return NULL;
}

struct net_call *net_calls_running(struct net_calls *t, uint64_t seq)
{
	struct net_call *c = find(t, seq);

	return c && c->state == NET_CALL_RUNNING ? c : NULL;
}

enum net_admit net_calls_admit(struct net_calls *t, uint64_t seq,
			       struct net_call **c)
{
	if (seq < t->low)
		return NET_ADMIT_OLD;
	if (seq - t->low >= NET_SEQ_SPAN)
		return NET_ADMIT_REFUSED;
	*c = find(t, seq);
	if (*c)
		return (*c)->state == NET_CALL_RUNNING ? NET_ADMIT_RUNNING :
							 NET_ADMIT_REPLY;
	if (bit_get(t, seq))
		return NET_ADMIT_OLD;
	if (t->used == NET_CALLS_MAX)
		return NET_ADMIT_REFUSED;
	for (unsigned i = 0; i < NET_CALLS_MAX; i++)
		if (t->call[i].state == NET_CALL_FREE) {
			*c = &t->call[i];
			break;
		}
	t->used++;
	(*c)->seq = seq;
	(*c)->state = NET_CALL_RUNNING;
	bit_put(t, seq, true);
	return NET_ADMIT_NEW;
}

void net_calls_done(struct net_calls *t, struct net_call *c, void *reply,
		    size_t len)
{
	c->state = NET_CALL_DONE;
	c->owner = NULL;
	c->reply = reply;
	c->reply_len = len;
	t->reply_bytes += len;
}

/* forget seqs below low: their bits, their kept replies */
static void advance(struct net_calls *t, uint64_t low)
{
	uint64_t n = low - t->low;

	if (n >= NET_SEQ_SPAN)
		memset(t->done_bits, 0, sizeof(t->done_bits));
	else
		for (uint64_t s = t->low; s < low; s++)
			bit_put(t, s, false);
	t->low = low;
	for (unsigned i = 0; i < NET_CALLS_MAX; i++)
		if (t->call[i].state == NET_CALL_DONE && t->call[i].seq < low)
			call_free(t, &t->call[i]);
}

void net_calls_ack(struct net_calls *t, uint64_t low, uint64_t seq)
{
	struct net_call *c;

	/* a running call stays: the peer cannot have its reply */
	for (unsigned i = 0; i < NET_CALLS_MAX; i++)
		if (t->call[i].state == NET_CALL_RUNNING &&
		    t->call[i].seq < low)
			low = t->call[i].seq;
	if (low > t->low)
		advance(t, low);
	c = seq ? find(t, seq) : NULL;
	if (c && c->state == NET_CALL_DONE)
		call_free(t, c);
}

static bool awaited_has(const uint64_t *awaited, size_t n, uint64_t seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (awaited[mid] == seq)
			return true;
		if (awaited[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void net_calls_ack_all_but(struct net_calls *t, uint64_t low, uint64_t below,
			   const uint64_t *awaited, size_t n)
{
	net_calls_ack(t, low, 0);
	for (unsigned i = 0; i < NET_CALLS_MAX; i++) {
		struct net_call *c = &t->call[i];

		if (c->state == NET_CALL_DONE && c->seq < below &&
		    !awaited_has(awaited, n, c->seq))
			call_free(t, c);
	}
}
