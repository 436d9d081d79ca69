/*
 * test_net.c - the peering's pieces that need no network: the wire
 * decoder (fs/net_wire.c) on good and hostile frames, and exactly once
 * with its bounded reply cache (fs/net_calls.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_calls.h"
#include "net_wire.h"

static size_t encode(const struct net_msg *m, unsigned char *buf)
{
	net_wire_encode(m, buf);
	return net_wire_size(m);
}

static void test_round_trip(void **state)
{
	unsigned char buf[256];
	struct net_msg m = { .type = NET_WRITE, .flags = NET_F_NONBLOCK,
			     .seq = 7, .ack = 3, .handle = 0x1122334455667788,
			     .arg = 9, .off = 11, .blob = "hello",
			     .blob_len = 5 }, d;
	size_t len = encode(&m, buf);

	(void)state;
	assert_int_equal(len, NET_WIRE_HDR + 5);
	assert_int_equal(net_wire_decode(buf, len, &d), 0);
	assert_int_equal(d.type, NET_WRITE);
	assert_int_equal(d.flags, NET_F_NONBLOCK);
	assert_true(d.seq == 7 && d.ack == 3 && d.arg == 9 && d.off == 11);
	assert_true(d.handle == 0x1122334455667788);
	assert_int_equal(d.blob_len, 5);
	assert_memory_equal(d.blob, "hello", 5);
}

/* every prefix of a good frame is refused (each type's own checks) */
static void test_truncated(void **state)
{
	unsigned char buf[256];
	struct net_msg m = { .type = NET_OPEN, .seq = 1, .blob = "d/pipe",
			     .blob_len = 6 }, d;
	size_t len = encode(&m, buf);

	(void)state;
	for (size_t i = 0; i < NET_WIRE_HDR; i++)
		assert_int_equal(net_wire_decode(buf, i, &d), -EPROTO);
	/* "d/" and "d/p..." cut short: only names stay valid */
	assert_int_equal(net_wire_decode(buf, NET_WIRE_HDR + 2, &d), -EPROTO);
	assert_int_equal(net_wire_decode(buf, len, &d), 0);
}

static int decode_with(struct net_msg m)
{
	unsigned char buf[NET_WIRE_HDR + 2 * NET_PATH_MAX];
	struct net_msg d;

	return net_wire_decode(buf, encode(&m, buf), &d);
}

static void test_refused(void **state)
{
	unsigned char buf[64];
	struct net_msg good = { .type = NET_READ, .seq = 1, .arg = 10 }, d;
	size_t len = encode(&good, buf);

	(void)state;
	assert_int_equal(net_wire_decode(buf, len, &d), 0);
	buf[0] = NET_WIRE_VERSION + 1;	/* a version we do not speak */
	assert_int_equal(net_wire_decode(buf, len, &d), -EPROTO);
	buf[0] = NET_WIRE_VERSION;
	buf[1] = NET_TYPE_END;	/* an unknown type */
	assert_int_equal(net_wire_decode(buf, len, &d), -EPROTO);
	buf[1] = 0;
	assert_int_equal(net_wire_decode(buf, len, &d), -EPROTO);
	assert_int_equal(decode_with((struct net_msg){ .type = NET_READ,
		.seq = 1, .arg = 10, .flags = 0x80 }), -EPROTO);
	assert_int_equal(decode_with((struct net_msg){ .type = NET_READ,
		.seq = 1, .arg = 0 }), -EPROTO);
	assert_int_equal(decode_with((struct net_msg){ .type = NET_READ,
		.seq = 1, .arg = NET_IO_MAX + 1 }), -EPROTO);
	assert_int_equal(decode_with((struct net_msg){ .type = NET_READ,
		.seq = 0, .arg = 1 }), -EPROTO);	/* unnumbered */
	assert_int_equal(decode_with((struct net_msg){ .type = NET_READ,
		.seq = 1, .arg = 1, .err = 5 }), -EPROTO);
	assert_int_equal(decode_with((struct net_msg){ .type = NET_REPLY,
		.seq = 1, .err = -5 }), -EPROTO);
	assert_int_equal(decode_with((struct net_msg){ .type = NET_READ,
		.seq = 1, .arg = 1, .blob = "x", .blob_len = 1 }), -EPROTO);
	assert_int_equal(decode_with((struct net_msg){ .type = NET_ACK,
		.blob = "1234567", .blob_len = 7 }), -EPROTO);
	assert_int_equal(decode_with((struct net_msg){ .type = NET_CANCEL }),
			 -EPROTO);
}

static int path_ok(const char *p)
{
	return decode_with((struct net_msg){ .type = NET_LOOKUP, .seq = 1,
					     .blob = p,
					     .blob_len = strlen(p) }) == 0;
}

static void test_paths(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(path_ok(""));
	assert_true(path_ok("pipe"));
	assert_true(path_ok("d-1.x_y/pipe"));
	assert_false(path_ok("/pipe"));
	assert_false(path_ok("d/"));
	assert_false(path_ok("d//pipe"));
	assert_false(path_ok("a/b/c"));
	assert_false(path_ok(".."));
	assert_false(path_ok("d/.."));
	assert_false(path_ok("d/./"));
	assert_false(path_ok("a b"));
	assert_false(decode_with((struct net_msg){ .type = NET_LOOKUP,
		.seq = 1, .blob = "ab\0c", .blob_len = 4 }) == 0);
	memset(long_name, 'x', 65);
	long_name[65] = '\0';
	assert_false(path_ok(long_name));
	long_name[64] = '\0';
	assert_true(path_ok(long_name));
}

static void test_attr_and_list(void **state)
{
	struct net_attr a = { .kind = NET_KIND_FILE, .mode = 0640,
			      .size = 99, .mtime = 5 }, b;
	char buf[64], name[NET_NAME_LEN_MAX + 1];
	size_t used = 0;
	struct net_list_walk w;
	unsigned kind;

	(void)state;
	net_wire_attr_encode(&a, buf);
	assert_int_equal(net_wire_attr_decode(buf, NET_ATTR_LEN, &b), 0);
	assert_true(b.kind == a.kind && b.mode == a.mode && b.size == 99);
	assert_int_equal(net_wire_attr_decode(buf, NET_ATTR_LEN - 1, &b),
			 -EPROTO);
	buf[0] = 3;
	assert_int_equal(net_wire_attr_decode(buf, NET_ATTR_LEN, &b), -EPROTO);

	assert_int_equal(net_wire_list_add(buf, sizeof(buf), &used,
					   NET_KIND_FILE, "pipe"), 0);
	assert_int_equal(net_wire_list_add(buf, sizeof(buf), &used,
					   NET_KIND_DIR, "d1"), 0);
	w = (struct net_list_walk){ (unsigned char *)buf, used };
	assert_int_equal(net_wire_list_next(&w, &kind, name), 1);
	assert_string_equal(name, "pipe");
	assert_int_equal(kind, NET_KIND_FILE);
	assert_int_equal(net_wire_list_next(&w, &kind, name), 1);
	assert_string_equal(name, "d1");
	assert_int_equal(net_wire_list_next(&w, &kind, name), 0);
	/* a length past the end, a bad name */
	w = (struct net_list_walk){ (unsigned char *)buf, used - 1 };
	assert_int_equal(net_wire_list_next(&w, &kind, name), 1);
	assert_int_equal(net_wire_list_next(&w, &kind, name), -EPROTO);
	buf[2] = '/';
	w = (struct net_list_walk){ (unsigned char *)buf, used };
	assert_int_equal(net_wire_list_next(&w, &kind, name), -EPROTO);
}

static struct net_calls *calls_new(void)
{
	struct net_calls *t = malloc(sizeof(*t));

	assert_non_null(t);
	net_calls_init(t);
	return t;
}

static void finish(struct net_calls *t, struct net_call *c, const char *r)
{
	net_calls_done(t, c, strdup(r), strlen(r));
}

static void test_exactly_once(void **state)
{
	struct net_calls *t = calls_new();
	struct net_call *c, *c2;

	(void)state;
	assert_int_equal(net_calls_admit(t, 1, &c), NET_ADMIT_NEW);
	assert_int_equal(net_calls_admit(t, 1, &c2), NET_ADMIT_RUNNING);
	assert_ptr_equal(net_calls_running(t, 1), c);
	finish(t, c, "r1");
	assert_null(net_calls_running(t, 1));
	/* a resend after a lost reply: the same reply, not a second run */
	assert_int_equal(net_calls_admit(t, 1, &c2), NET_ADMIT_REPLY);
	assert_memory_equal(c2->reply, "r1", 2);
	/* acked on its own: forgotten, but still never run again */
	net_calls_ack(t, 1, 1);
	assert_int_equal(t->used, 0);
	assert_int_equal(net_calls_admit(t, 1, &c2), NET_ADMIT_OLD);
	/* out of order: 3 before 2, then the low mark passes both */
	assert_int_equal(net_calls_admit(t, 3, &c), NET_ADMIT_NEW);
	finish(t, c, "r3");
	assert_int_equal(net_calls_admit(t, 2, &c), NET_ADMIT_NEW);
	finish(t, c, "r2");
	net_calls_ack(t, 4, 0);
	assert_int_equal(t->used, 0);
	assert_int_equal(t->reply_bytes, 0);
	assert_int_equal(net_calls_admit(t, 2, &c), NET_ADMIT_OLD);
	assert_int_equal(net_calls_admit(t, 3, &c), NET_ADMIT_OLD);
	net_calls_fini(t);
	free(t);
}

/* the low mark never passes a call still running */
static void test_running_holds_low(void **state)
{
	struct net_calls *t = calls_new();
	struct net_call *c;

	(void)state;
	assert_int_equal(net_calls_admit(t, 1, &c), NET_ADMIT_NEW);
	assert_int_equal(net_calls_admit(t, 2, &c), NET_ADMIT_NEW);
	finish(t, c, "r2");
	net_calls_ack(t, 10, 0);	/* a peer that lies */
	assert_int_equal(t->low, 1);
	assert_non_null(net_calls_running(t, 1));
	assert_int_equal(net_calls_admit(t, 2, &c), NET_ADMIT_REPLY);
	net_calls_fini(t);
	free(t);
}

/* bounded: a peer past its window or its seq span is refused */
static void test_bounds(void **state)
{
	struct net_calls *t = calls_new();
	struct net_call *c;
	uint64_t s;

	(void)state;
	for (s = 1; s <= NET_CALLS_MAX; s++)
		assert_int_equal(net_calls_admit(t, s, &c), NET_ADMIT_NEW);
	assert_int_equal(net_calls_admit(t, s, &c), NET_ADMIT_REFUSED);
	for (s = 1; s <= NET_CALLS_MAX; s++)
		finish(t, net_calls_running(t, s), "reply");
	assert_int_equal(net_calls_admit(t, s, &c), NET_ADMIT_REFUSED);
	assert_int_equal(t->reply_bytes, 5 * NET_CALLS_MAX);
	net_calls_ack(t, NET_CALLS_MAX + 1, 0);
	assert_int_equal(t->used, 0);
	assert_int_equal(t->reply_bytes, 0);
	assert_int_equal(net_calls_admit(t, t->low + NET_SEQ_SPAN, &c),
			 NET_ADMIT_REFUSED);
	assert_int_equal(net_calls_admit(t, t->low + NET_SEQ_SPAN - 1, &c),
			 NET_ADMIT_NEW);
	/* a seq that shares a bit with one long gone is new */
	finish(t, c, "x");
	net_calls_ack(t, c->seq + 1, 0);
	assert_int_equal(net_calls_admit(t, t->low + NET_SEQ_SPAN - 1, &c),
			 NET_ADMIT_NEW);
	net_calls_fini(t);
	free(t);
}

/* an ACK lists what the peer awaits; every other reply below goes */
static void test_ack_all_but(void **state)
{
	struct net_calls *t = calls_new();
	const uint64_t awaited[] = { 2, 4 };
	struct net_call *c;

	(void)state;
	for (uint64_t s = 1; s <= 6; s++) {
		assert_int_equal(net_calls_admit(t, s, &c), NET_ADMIT_NEW);
		finish(t, c, "r");
	}
	/* 6 was executed after the ACK was written: it stays */
	net_calls_ack_all_but(t, 2, 6, awaited, 2);
	assert_int_equal(t->used, 3);
	assert_int_equal(net_calls_admit(t, 2, &c), NET_ADMIT_REPLY);
	assert_int_equal(net_calls_admit(t, 4, &c), NET_ADMIT_REPLY);
	assert_int_equal(net_calls_admit(t, 6, &c), NET_ADMIT_REPLY);
	assert_int_equal(net_calls_admit(t, 3, &c), NET_ADMIT_OLD);
	assert_int_equal(net_calls_admit(t, 5, &c), NET_ADMIT_OLD);
	net_calls_fini(t);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_attr_and_list),
		cmocka_unit_test(test_exactly_once),
		cmocka_unit_test(test_running_holds_low),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_ack_all_but),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
