/*
 * fuzz_wire.c - the peering's decoder, net_wire_decode() (fs/net_wire.h),
 * and the decoders of reply blobs (attributes, directory lists): what a
 * hostile peer or a man in the middle before CURVE would send.
 *
 * Checks: a frame that decodes encodes back to the very same bytes (the
 * decoder read every field and kept nothing it did not check); a blob
 * lies inside the frame; paths are well formed; a list walk ends, and
 * every name it gives is a valid one no longer than the blob.
 *
 * Then the exporting side's dispatcher (fs/net_export.c) over a real tree
 * (tree.c, chan.c) takes the same bytes: as one frame from a peer that
 * said HELLO, or, after a first byte 0xff, as frames [u8 peer][u16 len]
 * [frame] from two peers. Its replies go to a ROUTER with no one on it.
 * Only pipe, unixdgram and stats are opened (no kernel object that would
 * outlive a crash, no MPI job). Sanitizers and the dispatcher's own
 * invariants (a peer's files and parked requests all go with its session,
 * checked through the channels' counts) are the checks.
 */
#include <errno.h>
#include <zmq.h>

#include "fs.h"
#include "fuzz.h"
#include "net.h"
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

static struct fs fs;
static struct fs_net net;
static char rundir[64];

static void tree_fini(void)
{
	fs_tree_destroy(&fs);
	zmq_ctx_term(net.zctx);
	rmdir(rundir);
}

static void tree_init(void)
{
	struct ipc_opts o = { .rundir = rundir, .local = true };

	snprintf(rundir, sizeof(rundir), "/tmp/ipcfs-fuzz-wire.XXXXXX");
	FUZZ_CHECK(mkdtemp(rundir), "mkdtemp");
	FUZZ_CHECK(fs_tree_init(&fs, &o, false) == 0, "tree");
	fs.max_dirs = 4;
	net.fs = &fs;
	net.zctx = zmq_ctx_new();
	FUZZ_CHECK(net.zctx, "zmq context");
	net.timeout_ms = 10000;
	net.uid = geteuid();
	net.gid = getegid();
	net.quiet = true;
	fs.net = &net;
	atexit(tree_fini);
}

/* what the target may open: nothing that outlives it, nothing slow */
static bool harmless(const uint8_t *frame, size_t len)
{
	struct net_msg m;
	const char *name, *slash;
	size_t n;

	if (net_wire_decode(frame, len, &m) != 0 || m.type != NET_OPEN)
		return true;
	slash = memrchr(m.blob, '/', m.blob_len);
	name = slash ? slash + 1 : m.blob;
	n = m.blob_len - (size_t)(name - (const char *)m.blob);
	return (n == 4 && !memcmp(name, "pipe", 4)) ||
	       (n == 9 && !memcmp(name, "unixdgram", 9)) ||
	       (n == 5 && !memcmp(name, "stats", 5));
}

static void feed(const unsigned char *id, const char *name,
		 const uint8_t *frame, size_t len)
{
	if (harmless(frame, len))
		net_export_message(net.export, id, name, frame, len);
}

/* every handle, parked request and poller of the peers went with them */
static void check_released(void)
{
	struct fs_dir *d = fs.root;

	FUZZ_CHECK(TAILQ_EMPTY(&fs.open_handles), "a peer's file still open");
	for (unsigned i = 0; i < d->nchans; i++) {
		FUZZ_CHECK(!d->chans[i].readers && !d->chans[i].writers,
			   "%s: a reader or writer left", d->chans[i].t->name);
		FUZZ_CHECK(!fs_chan_parked(&d->chans[i], false) &&
			   !fs_chan_parked(&d->chans[i], true),
			   "%s: a request left parked", d->chans[i].t->name);
		FUZZ_CHECK(TAILQ_EMPTY(&d->chans[i].pollers), "a poller left");
	}
}

static void dispatch(const uint8_t *data, size_t size)
{
	static const unsigned char ids[2][8] = { "peer-one", "peer-two" };
	static const char *const names[2] = { "one", "two" };
	unsigned char hello[NET_WIRE_HDR];
	struct net_msg h = { .type = NET_HELLO, .arg = 1 };
	struct fuzz_in in = { data, size };
	void *router;
	size_t len;
	int zero = 0;

	if (!fs.root)
		tree_init();
	router = zmq_socket(net.zctx, ZMQ_ROUTER);
	FUZZ_CHECK(router, "router");
	zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero));
	FUZZ_CHECK(net_export_open(&net, router) == 0, "export");
	net_wire_encode(&h, hello);
	net_export_message(net.export, ids[0], names[0], hello, sizeof(hello));
	net_export_message(net.export, ids[1], names[1], hello, sizeof(hello));
	if (size && data[0] == 0xff) {
		fuzz_u8(&in);
		while (in.left) {
			unsigned who = fuzz_u8(&in) & 1;

			len = (size_t)fuzz_uint(&in, 2);
			if (len > in.left)
				len = in.left;
			feed(ids[who], names[who], in.p, len);
			in.p += len;
			in.left -= len;
		}
	} else {
		feed(ids[0], names[0], data, size);
	}
	net_export_stop(net.export);
	check_released();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_msg m;
	struct net_attr a;
	uint8_t *again;

	dispatch(data, size);
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
