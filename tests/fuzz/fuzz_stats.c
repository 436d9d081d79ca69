/*
 * fuzz_stats.c - directory names and the `stats` text of the daemon,
 * through the real fs/tree.c: fs_mkdir() (which validates the name,
 * valid_name()), fs_rmdir(), fs_lookup_name() and fs_stats_text(). No C
 * code reads stats (scripts and people do, by key), so this is a
 * property check: every name is judged as the README says (letters,
 * digits, "._-", 1..64 bytes, not "." or ".."; not a file already
 * there), and every stats line, whatever the counters, names and
 * errors, reads back unambiguously as space-separated key=value pairs
 * carrying exactly the values that went in.
 *
 * The channels are stubs (the fs_chan_* functions below): their
 * counters, objects and errors come from the input, so the formatting
 * sees extremes the real mechanisms would take years to reach.
 *
 * Input: per transport a profile (counters, object, error), then a
 * script of operations: mkdir, rmdir, stats of a directory.
 */
#include <errno.h>
#include <stdbool.h>

#include "fs.h"
#include "fuzz.h"

#define MAX_TRANSPORTS	32
#define MAX_OPS		64

static struct profile {
	int err;		/* fs_chan_make fails with it: an error line */
	uint64_t in, out, msgs_in, msgs_out;
	size_t queued;
	long capacity;
	unsigned readers, writers, parked_reads, parked_writes;
	char object[IPC_OBJECT_MAX];
	uint64_t dropped;
} prof[MAX_TRANSPORTS];

static unsigned index_of(const struct ipc_transport *t)
{
	unsigned i;

	for (i = 0; ipc_transports[i] && ipc_transports[i] != t; i++)
		;
	FUZZ_CHECK(i < MAX_TRANSPORTS, "transport %u", i);
	return i;
}

static void fake_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st)
{
	(void)ch;
	st->capacity = prof[index_of(ch->priv)].capacity;
}

static const struct ipc_transport fake = { .name = "fake",
					   .stats = fake_stats };

/* the channel side of the daemon, as stubs driven by the profiles */
void fs_chan_init(struct fs_chan *fc, const struct ipc_transport *t,
		  const struct ipc_opts *o)
{
	/* calloc'ed by tree.c, its node already numbered */
	fc->t = t;
	fc->opts = o;
	fc->ch.t = NULL;
}

int fs_chan_make(struct fs_chan *fc)
{
	const struct profile *p = &prof[index_of(fc->t)];

	fc->ch.t = NULL;
	fc->open_err = p->err;
	if (p->err)
		return p->err;
	fc->ch.t = &fake;
	fc->ch.priv = (void *)fc->t;
	fc->ch.bytes_in = p->in;
	fc->ch.bytes_out = p->out;
	fc->ch.msgs_in = p->msgs_in;
	fc->ch.msgs_out = p->msgs_out;
	fc->ch.dropped = p->dropped;
	fc->readers = p->readers;
	fc->writers = p->writers;
	snprintf(fc->ch.object, sizeof(fc->ch.object), "%s", p->object);
	return 0;
}

void fs_chan_fini(struct fs_chan *fc)
{
	fc->ch.t = NULL;
}

size_t fs_chan_queued(const struct fs_chan *fc)
{
	return prof[index_of(fc->t)].queued;
}

unsigned fs_chan_parked(const struct fs_chan *fc, bool writes)
{
	const struct profile *p = &prof[index_of(fc->t)];

	return writes ? p->parked_writes : p->parked_reads;
}

/* small values mostly, the extremes often: one byte says which */
static uint64_t number(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);

	if (b < 0xf0)
		return b;
	if (b == 0xff)
		return UINT64_MAX;
	return fuzz_uint(in, 1 + (b - 0xf0) % 8);
}

static void read_profile(struct fuzz_in *in, struct profile *p)
{
	/* what the transports put in ch->object: paths under the runtime
	 * dir, /dev/mqueue/..., 127.0.0.1:PORT, SIGRTMIN+n, tcp:// */
	static const char objchars[] = "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				       "/._:+-";
	uint8_t flags = fuzz_u8(in);
	size_t len;

	memset(p, 0, sizeof(*p));
	if (flags & 1) {
		p->err = -(int)(1 + fuzz_u8(in) % 140);
		return;
	}
	p->in = number(in);
	p->out = number(in);
	p->msgs_in = number(in);
	p->msgs_out = number(in);
	p->queued = (size_t)number(in);
	p->capacity = flags & 2 ? -1 : (long)number(in);
	p->readers = (unsigned)number(in);
	p->writers = (unsigned)number(in);
	p->parked_reads = (unsigned)number(in);
	p->parked_writes = (unsigned)number(in);
	len = flags >> 2;	/* 0..63, x2.5 for the longest objects */
	if (flags & 0x80)
		len = IPC_OBJECT_MAX - 1;
	for (size_t i = 0; i < len; i++)
		p->object[i] = objchars[fuzz_u8(in) % (sizeof(objchars) - 1)];
	p->dropped = number(in);
}

/* the README's rule for mkdir names */
static bool name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 64 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

static uint64_t parse_u64(const char *key, const char *v)
{
	char *end;
	unsigned long long n;

	FUZZ_CHECK(*v >= '0' && *v <= '9', "%s='%s'", key, v);
	errno = 0;
	n = strtoull(v, &end, 10);
	FUZZ_CHECK(!*end && !errno, "%s='%s'", key, v);
	return n;
}

static long parse_long(const char *key, const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	FUZZ_CHECK(*v && !*end && !errno, "%s='%s'", key, v);
	return n;
}

/* the value of key number k of a line for transport i, as it went in */
static void check_value(unsigned k, const char *key, const char *v,
			const char *dir, unsigned i)
{
	const struct profile *p = &prof[i];

	switch (k) {
	case 0:
		FUZZ_CHECK(!strcmp(v, ipc_transports[i]->name), "name=%s", v);
		break;
	case 1:
		FUZZ_CHECK(!strcmp(v, dir), "dir=%s, not %s", v, dir);
		break;
	case 2:
		if (p->err)
			FUZZ_CHECK(!strcmp(v, strerror(-p->err)), "error=%s", v);
		else
			FUZZ_CHECK(parse_u64(key, v) == p->in, "bytes_in");
		break;
	case 7:
		FUZZ_CHECK(parse_long(key, v) == p->capacity, "capacity");
		break;
	case 12:
		FUZZ_CHECK(!strcmp(v, p->object), "object=%s, not %s", v,
			   p->object);
		break;
	default: {
		/* the unsigned counters, in the order of the keys */
		const uint64_t want[] = {
			[3] = p->out, [4] = p->msgs_in, [5] = p->msgs_out,
			[6] = p->queued, [8] = p->readers, [9] = p->writers,
			[10] = p->parked_reads, [11] = p->parked_writes,
			[13] = p->dropped,
		};

		FUZZ_CHECK(k < sizeof(want) / sizeof(want[0]), "key %u", k);
		FUZZ_CHECK(parse_u64(key, v) == want[k], "%s", key);
		break;
	}
	}
}

/*
 * One line, read the way the README says to: split at spaces, each
 * field key=value, keys in the documented order; the values must be the
 * ones that went in. The exception: error= is strerror()'s text, spaces
 * and all, so it is the last key of its line and runs to the end (as
 * tests/mount/test_faults.sh reads it).
 */
static void check_line(char *line, const struct fs_dir *d, unsigned i)
{
	static const char *const keys[] = {
		"name", "dir", "bytes_in", "bytes_out", "msgs_in", "msgs_out",
		"queued", "capacity", "readers", "writers", "parked_reads",
		"parked_writes", "object", "dropped",
	};
	static const char *const err_keys[] = { "name", "dir", "error" };
	const struct profile *p = &prof[i];
	const char *const *want = p->err ? err_keys : keys;
	unsigned nkeys = p->err ? 3 : sizeof(keys) / sizeof(keys[0]);
	char *field, *eq, *rest = line, dir[sizeof(d->name) + 1];
	unsigned k = 0;

	snprintf(dir, sizeof(dir), "/%s", d->name);
	/* error= runs to the end of its line */
	while ((field = strsep(&rest, p->err && k == 2 ? "" : " "))) {
		FUZZ_CHECK(k < nkeys, "field %u '%s' past the last key", k,
			   field);
		eq = strchr(field, '=');
		FUZZ_CHECK(eq, "field '%s' is not key=value (line %u)", field,
			   i);
		*eq = '\0';
		FUZZ_CHECK(!strcmp(field, want[k]), "key '%s', not '%s'",
			   field, want[k]);
		check_value(k, want[k], eq + 1, dir, i);
		k++;
	}
	FUZZ_CHECK(k == nkeys, "%u fields of %u", k, nkeys);
}

static void check_stats(struct fs_dir *d)
{
	char *text, *line, *rest;
	unsigned i = 0;
	size_t len;

	/* stats never makes a channel: open them all first, as files are */
	for (unsigned c = 0; c < d->nchans; c++)
		(void)fs_chan_make(&d->chans[c]);
	text = fs_stats_text(d, &len);

	FUZZ_CHECK(text, "fs_stats_text: NULL");
	FUZZ_CHECK(strlen(text) == len, "%zu bytes, said %zu", strlen(text),
		   len);
	rest = text;
	while (*rest) {
		line = rest;
		rest = strchr(rest, '\n');
		FUZZ_CHECK(rest, "the last line has no newline");
		*rest++ = '\0';
		FUZZ_CHECK(i < d->nchans, "more lines than channels");
		check_line(line, d, i++);
	}
	FUZZ_CHECK(i == d->nchans, "%u lines for %u channels", i, d->nchans);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ipc_opts opts = { 0 };
	struct fs fs;
	struct fs_dir *root, *d;
	struct fs_node *n;
	char name[80];
	unsigned i, ntrans = 0;
	int ret, want;

	while (ipc_transports[ntrans])
		ntrans++;
	FUZZ_CHECK(ntrans <= MAX_TRANSPORTS, "%u transports", ntrans);
	for (i = 0; i < ntrans; i++)
		read_profile(&in, &prof[i]);
	/* with the control: a profile and a line for every transport */
	FUZZ_CHECK(fs_tree_init(&fs, &opts, true) == 0, "fs_tree_init");
	n = fs_node_get(&fs, FUSE_ROOT_ID);
	FUZZ_CHECK(n && n->kind == FS_DIR, "no root at inode %d",
		   FUSE_ROOT_ID);
	root = n->dir;
	for (i = 0; i < MAX_OPS && in.left; i++) {
		uint8_t op = fuzz_u8(&in);
		size_t len = fuzz_u8(&in) % sizeof(name);

		len = fuzz_bytes(&in, name, len);
		name[len] = '\0';	/* up to the first NUL, as the kernel */
		switch (op % 3) {
		case 0:
			n = fs_lookup_name(root, name);
			want = n ? -EEXIST : !name_ok(name) ?
			       (!*name || strlen(name) > 64 ? -ENAMETOOLONG
							     : -EINVAL) : 0;
			ret = fs_mkdir(root, name, 0, &d);
			FUZZ_CHECK(ret == want, "mkdir '%s': %d, not %d", name,
				   ret, want);
			if (ret == 0)
				FUZZ_CHECK(fs_lookup_name(root, name) == &d->node,
					   "'%s' made, not found", name);
			break;
		case 1:
			n = fs_lookup_name(root, name);
			want = !n ? -ENOENT : n->kind != FS_DIR ? -ENOTDIR : 0;
			ret = fs_rmdir(root, name);	/* may free n */
			FUZZ_CHECK(ret == want, "rmdir '%s': %d, not %d", name,
				   ret, want);
			if (ret == 0)
				FUZZ_CHECK(!fs_lookup_name(root, name),
					   "'%s' removed, still found", name);
			break;
		case 2:
			n = fs_lookup_name(root, name);
			check_stats(n && n->kind == FS_DIR ? n->dir : root);
			break;
		}
	}
	check_stats(root);
	fs_tree_destroy(&fs);
	return 0;
}
