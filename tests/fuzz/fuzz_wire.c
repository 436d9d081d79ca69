/*
 * fuzz_wire.c - the peering's decoder, net_wire_decode() (fs/net_wire.h),
 * and the decoders of reply blobs (attributes, directory lists): what a
 * hostile peer or a man in the middle before CURVE would send.
 *
 * Checks: a frame that decodes encodes back to the very same bytes (the
 * decoder read every field and kept nothing it did not check); a blob
 * lies inside the frame; paths are well formed; a list walk ends, and
 * every name it gives is a valid one no longer than the blob.
 */
#include <errno.h>

#include "fuzz.h"
#include "net_wire.h"

static void check_list(const void *blob, size_t len)
{
	struct net_list_walk w = { .p = blob, .left = len };
	char name[NET_NAME_LEN_MAX + 1];
	unsigned kind, n = 0;
	int ret;

	while ((ret = net_wire_list_next(&w, &kind, name)) == 1) {
		FUZZ_CHECK(strlen(name) >= 1 && strlen(name) <= 64,
			   "name of %zu bytes", strlen(name));
		FUZZ_CHECK(net_wire_path_ok(name, strlen(name)), "bad name");
		FUZZ_CHECK(++n <= len / 3, "%u entries in %zu bytes", n, len);
	}
	FUZZ_CHECK(ret == 0 || ret == -EPROTO, "walk gave %d", ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_msg m;
	struct net_attr a;
	uint8_t *again;

	if (net_wire_decode(data, size, &m) != 0)
		return 0;
	FUZZ_CHECK((const uint8_t *)m.blob + m.blob_len == data + size,
		   "blob not at the frame's end");
	FUZZ_CHECK(net_wire_size(&m) == size, "size %zu of %zu",
		   net_wire_size(&m), size);
	again = malloc(size);
	FUZZ_CHECK(again, "no memory");
	net_wire_encode(&m, again);
	FUZZ_CHECK(memcmp(again, data, size) == 0, "re-encoded differently");
	free(again);
	if (m.type == NET_REPLY) {
		if (net_wire_attr_decode(m.blob, m.blob_len, &a) == 0)
			FUZZ_CHECK(a.kind == NET_KIND_DIR ||
				   a.kind == NET_KIND_FILE, "kind %u", a.kind);
		check_list(m.blob, m.blob_len);
	}
	if (m.type == NET_OPEN || m.type == NET_LOOKUP)
		FUZZ_CHECK(!memchr(m.blob, 0, m.blob_len), "NUL in a path");
	return 0;
}
