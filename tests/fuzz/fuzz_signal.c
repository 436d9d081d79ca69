/*
 * fuzz_signal.c - the signal transport's framing (transports/frame.h):
 * ipc_sig_take() reassembles messages from 64-bit sigvals that any
 * process of the user can queue to us, ipc_sig_header()/ipc_sig_chunk()
 * make them. Byte 0 picks the mode, bytes 1-2 max_msg (0..4095); the
 * reassembly buffer is malloc'ed at exactly max_msg, so ASan sees any
 * write past it.
 *
 * Mode 0, raw values: the rest is 8-byte values fed one by one, checked
 * against a model written from frame.h (same completions, same bytes);
 * want never exceeds max_msg, have never exceeds want.
 *
 * Mode 1, round trip: the rest is a script of messages (length, given-up
 * point, bytes) that the real encoder turns into values the way
 * sig_send() does, a sender that gives up half-way (-EAGAIN) stopping
 * early; the decoder must hand back exactly the messages sent whole, in
 * order, and nothing of the others, tags wrapping past 127 included.
 */
#include <stdbool.h>

#include "frame.h"
#include "fuzz.h"

#define MAX_VALUES	(1u << 16)

/* the reader's side of frame.h, written again from its description */
struct model {
	unsigned char *msg;
	size_t max, want, have;
	unsigned tag;
	bool active;
};

static bool model_take(struct model *m, uint64_t v)
{
	unsigned tag = (unsigned)(v >> 56);

	if (tag & 0x80) {
		m->want = v & 0xffffffffu;
		m->have = 0;
		m->tag = tag & 0x7f;
		m->active = m->want <= m->max;
		return m->active && m->want == 0;
	}
	if (!m->active || tag != m->tag)
		return false;
	for (unsigned i = 0; i < 7 && m->have < m->want; i++)
		m->msg[m->have++] = (unsigned char)(v >> (8 * i));
	return m->have == m->want;
}

static void check_rx(const struct ipc_sig_rx *r)
{
	if (r->active)
		FUZZ_CHECK(r->want <= r->max_msg && r->have <= r->want,
			   "want %zu have %zu max %zu", r->want, r->have,
			   r->max_msg);
	FUZZ_CHECK(r->tag <= 0x7f, "tag %u", r->tag);
}

static void raw(struct fuzz_in *in, struct ipc_sig_rx *r, struct model *m)
{
	while (in->left) {
		uint64_t v = fuzz_uint(in, 8);
		bool done = ipc_sig_take(r, v), mdone = model_take(m, v);

		check_rx(r);
		FUZZ_CHECK(done == mdone, "value %#llx: %d, the model says %d",
			   (unsigned long long)v, done, mdone);
		if (!done)
			continue;
		FUZZ_CHECK(r->active && r->have == r->want &&
			   r->want == m->want && !memcmp(r->msg, m->msg, r->want),
			   "message of %zu bytes differs", r->want);
		r->active = false;	/* as sig_recv() does once it took it */
		m->active = false;
	}
}

static void roundtrip(struct fuzz_in *in, struct ipc_sig_rx *r)
{
	static uint64_t vals[MAX_VALUES];
	unsigned char *sent = malloc(r->max_msg + 1);
	unsigned tag = fuzz_u8(in);
	size_t nvals, pos;

	FUZZ_CHECK(sent, "malloc");
	while (in->left) {
		/* len 0 is the hang-up, which ipc_send() never sends */
		size_t len = 1 + fuzz_uint(in, 2) % (r->max_msg ? r->max_msg : 1);
		uint8_t cut = fuzz_u8(in);	/* < 32: given up after cut */
		bool whole = cut >= 32 || r->max_msg == 0;

		if (r->max_msg == 0)
			len = 0;
		/* the bytes, repeated from what is left of the input */
		for (size_t i = 0; i < len; i++)
			sent[i] = (unsigned char)(fuzz_u8(in) ^ i);
		nvals = 0;
		vals[nvals++] = ipc_sig_header(tag, (uint32_t)len);
		for (size_t off = 0; off < len && nvals < MAX_VALUES;
		     off += IPC_SIG_CHUNK) {
			size_t n = len - off < IPC_SIG_CHUNK ? len - off
							     : IPC_SIG_CHUNK;

			if (!whole && nvals > cut)
				break;	/* the sender gave up here */
			vals[nvals++] = ipc_sig_chunk(tag, sent + off, n);
		}
		tag = (tag + 1) & 0x7f;
		for (pos = 0; pos < nvals; pos++) {
			bool done = ipc_sig_take(r, vals[pos]);

			check_rx(r);
			FUZZ_CHECK(!done || pos == nvals - 1,
				   "done after %zu of %zu values", pos + 1,
				   nvals);
			if (done) {
				FUZZ_CHECK(r->want == len &&
					   !memcmp(r->msg, sent, len),
					   "message of %zu bytes differs", len);
				r->active = false;
				break;
			}
		}
		if (pos == nvals)	/* not done: only a given-up message */
			FUZZ_CHECK(!whole && nvals < 1 + (len + 6) / 7,
				   "%zu bytes sent whole, never done", len);
	}
	free(sent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);
	struct ipc_sig_rx r = { .max_msg = fuzz_uint(&in, 2) % 4096 };
	struct model m = { .max = r.max_msg };

	r.msg = malloc(r.max_msg ? r.max_msg : 1);
	m.msg = malloc(r.max_msg ? r.max_msg : 1);
	FUZZ_CHECK(r.msg && m.msg, "malloc");
	if (mode & 1)
		roundtrip(&in, &r);
	else
		raw(&in, &r, &m);
	free(r.msg);
	free(m.msg);
	return 0;
}
