/*
 * tree.c - the small in-memory tree: the root and the directories made
 * with mkdir, each holding one file per transport and a `stats` file.
 * Inode numbers index one table and are never reused while we run, so a
 * stale number from the kernel finds NULL, never someone else's file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

int fs_node_add(struct fs_node *n, enum fs_kind kind, struct fs_dir *d)
{
	struct fs *fs = d->fs;

	if (fs->next_ino >= fs->nodes_len) {
		fuse_ino_t len = fs->nodes_len ? fs->nodes_len * 2 : 256;
		struct fs_node **p = realloc(fs->nodes, len * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + fs->nodes_len, 0,
		       (len - fs->nodes_len) * sizeof(*p));
		fs->nodes = p;
		fs->nodes_len = len;
	}
	n->ino = fs->next_ino++;
	n->kind = kind;
	n->dir = d;
	n->nlookup = 0;
	/*
	 * The mounting user's; channels 0600 because reading one takes the
	 * data away from everyone else: with -o allow_other, sharing one is
	 * a chmod. stats shows counters and object names, never payload.
	 */
	n->uid = getuid();
	n->gid = getgid();
	n->mode = kind == FS_DIR ? 0755 : kind == FS_STATS ? 0444 : 0600;
	fs->nodes[n->ino] = n;
	return 0;
}

void fs_node_del(struct fs *fs, struct fs_node *n)
{
	if (n->ino < fs->nodes_len && fs->nodes[n->ino] == n)
		fs->nodes[n->ino] = NULL;
}

struct fs_node *fs_node_get(struct fs *fs, fuse_ino_t ino)
{
	return ino < fs->nodes_len ? fs->nodes[ino] : NULL;
}

static void dir_free(struct fs_dir *d)
{
	for (unsigned i = 0; i < d->nchans; i++) {
		fs_node_del(d->fs, &d->chans[i].node);
		fs_chan_fini(&d->chans[i]);
	}
	fs_node_del(d->fs, &d->stats);
	fs_node_del(d->fs, &d->node);
	free(d->chans);
	free(d);
}

/*
 * A directory and its channel files; the mechanisms behind them are made
 * when first needed (fs_chan_make), and one that cannot be made still has
 * its file: see docs/DESIGN.md, "channels made at first open".
 */
static int dir_new(struct fs *fs, struct fs_dir *parent, const char *name,
		   struct fs_dir **out)
{
	struct fs_dir *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->fs = fs;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->created = time(NULL);
	d->parent = parent;
	TAILQ_INIT(&d->subdirs);
	d->chans = calloc(fs->ntransports, sizeof(*d->chans));
	if (!d->chans) {
		free(d);
		return -ENOMEM;
	}
	err = fs_node_add(&d->node, FS_DIR, d);
	if (!err)
		err = fs_node_add(&d->stats, FS_STATS, d);
	for (unsigned i = 0; !err && i < fs->ntransports; i++) {
		err = fs_node_add(&d->chans[i].node, FS_CHAN, d);
		if (!err) {
			fs_chan_init(&d->chans[i], fs->transports[i],
				     &fs->chan_opts);
			d->nchans++;
		}
	}
	if (err) {
		dir_free(d);
		return err;
	}
	*out = d;
	return 0;
}

int fs_tree_init(struct fs *fs, const struct ipc_opts *o, bool control)
{
	unsigned n = 0;

	memset(fs, 0, sizeof(*fs));
	fs->next_ino = FUSE_ROOT_ID;
	fs->chan_opts = *o;
	fs->epfd = -1;
	fs->session_watch.fd = -1;
	fs->spin_us = FS_SPIN_US_DEFAULT;
	fs->max_dirs = FS_MAX_DIRS_DEFAULT;
	fs->max_user_dirs = FS_MAX_USER_DIRS_DEFAULT;
	fs->max_parked = FS_MAX_PARKED_DEFAULT;
	fs->max_user_parked = FS_MAX_USER_PARKED_DEFAULT;
	if (getrandom(&fs->hash_seed, sizeof(fs->hash_seed), GRND_NONBLOCK) < 0)
		fs->hash_seed = (uint32_t)time(NULL);
	TAILQ_INIT(&fs->open_handles);
	while (ipc_transports[n])
		n++;
	fs->transports = calloc(n, sizeof(*fs->transports));
	if (!fs->transports)
		return -ENOMEM;
	/* the registry stays the one list; the control is a flag there */
	for (unsigned i = 0; i < n; i++)
		if (control || !(ipc_transports[i]->caps & IPC_LOCAL))
			fs->transports[fs->ntransports++] = ipc_transports[i];
	return dir_new(fs, NULL, "", &fs->root);
}

void fs_tree_destroy(struct fs *fs)
{
	struct fs_dir *d, *root = fs->root;

	if (root) {
		while ((d = TAILQ_FIRST(&root->subdirs)) != NULL) {
			TAILQ_REMOVE(&root->subdirs, d, link);
			dir_free(d);
		}
		dir_free(root);
	}
	fs->root = NULL;
	free(fs->nodes);
	fs->nodes = NULL;
	fs->nodes_len = 0;
	free(fs->parkers);
	fs->parkers = NULL;
	fs->nparkers = 0;
	free(fs->dir_hash);
	fs->dir_hash = NULL;
	fs->dir_buckets = fs->ndirs = 0;
	free(fs->transports);
	fs->transports = NULL;
	fs->ntransports = 0;
	free(fs->scratch);
	fs->scratch = NULL;
	fs->scratch_len = 0;
}

/* FNV-1a from a per-instance seed: names are chosen by others */
static uint32_t name_hash(const struct fs *fs, const char *s)
{
	uint32_t h = 2166136261u ^ fs->hash_seed;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* the link that points at the directory named name, or at the NULL
 * that ends its chain */
static struct fs_dir **dir_slot(struct fs *fs, const char *name)
{
	struct fs_dir **p;

	if (!fs->dir_buckets)
		return NULL;
	p = &fs->dir_hash[name_hash(fs, name) & (fs->dir_buckets - 1)];
	while (*p && strcmp((*p)->name, name) != 0)
		p = &(*p)->hash_next;
	return p;
}

/* room for one more: double the buckets past two names a bucket */
static int dir_hash_grow(struct fs *fs)
{
	unsigned n = fs->dir_buckets ? fs->dir_buckets * 2 : 64;
	struct fs_dir **old = fs->dir_hash, *d, *next;
	unsigned oldn = fs->dir_buckets;

	if (fs->ndirs < 2 * fs->dir_buckets)
		return 0;
	fs->dir_hash = calloc(n, sizeof(*fs->dir_hash));
	if (!fs->dir_hash) {
		fs->dir_hash = old;
		return -ENOMEM;
	}
	fs->dir_buckets = n;
	for (unsigned i = 0; i < oldn; i++)
		for (d = old[i]; d; d = next) {
			struct fs_dir **head =
				&fs->dir_hash[name_hash(fs, d->name) & (n - 1)];

			next = d->hash_next;
			d->hash_next = *head;
			*head = d;
		}
	free(old);
	return 0;
}

static const char *chan_name(const struct fs_dir *d, unsigned i)
{
	return d->chans[i].t->name;
}

struct fs_node *fs_lookup_name(struct fs_dir *dir, const char *name)
{
	struct fs_dir *d;

	if (dir->removed)
		return NULL;
	if (strcmp(name, "stats") == 0)
		return &dir->stats;
	if (dir == dir->fs->root && dir->fs->net_dir &&
	    strcmp(name, "net") == 0)
		return dir->fs->net_dir;
	for (unsigned i = 0; i < dir->nchans; i++)
		if (strcmp(name, chan_name(dir, i)) == 0)
			return &dir->chans[i].node;
	if (dir != dir->fs->root)
		return NULL;
	/* one level: only the root has directories, in its name table */
	d = dir_slot(dir->fs, name) ? *dir_slot(dir->fs, name) : NULL;
	return d ? &d->node : NULL;
}

void fs_dir_entries(struct fs_dir *d, fs_dirent_fn fn, void *ctx)
{
	struct fs_dir *sub;

	if (d->removed)
		return;
	for (unsigned i = 0; i < d->nchans; i++)
		if (!fn(ctx, chan_name(d, i), &d->chans[i].node))
			return;
	if (!fn(ctx, "stats", &d->stats))
		return;
	if (d == d->fs->root && d->fs->net_dir && !fn(ctx, "net",
						       d->fs->net_dir))
		return;
	TAILQ_FOREACH(sub, &d->subdirs, link)
		if (!fn(ctx, sub->name, &sub->node))
			return;
}

void fs_fill_attr(const struct fs_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = n->dir->created;
	switch (n->kind) {
	case FS_DIR:
		st->st_mode = S_IFDIR | n->mode;
		st->st_nlink = 2;
		break;
	case FS_STATS:
		st->st_mode = S_IFREG | n->mode;
		st->st_nlink = 1;
		break;
	case FS_NET:	/* net/ itself: the import fills in the rest */
		st->st_mode = S_IFDIR | n->mode;
		st->st_nlink = 2;
		break;
	case FS_CHAN:
		st->st_mode = S_IFREG | n->mode;
		st->st_nlink = 1;
		/* so that `ls -l` shows queues filling */
		st->st_size = (off_t)fs_chan_queued((const struct fs_chan *)n);
		break;
	}
}

/* letters, digits and . _ - ; not "." or ".."; at most 64 bytes */
static int valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64)
		return -ENAMETOOLONG;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("._-", *p))
			return -EINVAL;
	return 0;
}

/* how many of the root's directories uid owns (at most max_dirs) */
static unsigned dirs_of(const struct fs_dir *root, uid_t uid)
{
	const struct fs_dir *d;
	unsigned n = 0;

	TAILQ_FOREACH(d, &root->subdirs, link)
		n += d->node.uid == uid;
	return n;
}

int fs_mkdir(struct fs_dir *parent, const char *name, uid_t uid,
	     struct fs_dir **out)
{
	struct fs *fs = parent->fs;
	int err;

	/* one level: a directory is a set of channels, not a namespace */
	if (parent != parent->fs->root)
		return -EPERM;
	if (fs_lookup_name(parent, name))
		return -EEXIST;
	err = valid_name(name);
	if (err)
		return err;
	if (fs->ndirs >= fs->max_dirs)
		return -ENOSPC;
	if (dirs_of(parent, uid) >= fs->max_user_dirs)
		return -EDQUOT;
	err = dir_hash_grow(fs);
	if (err)
		return err;
	err = dir_new(fs, parent, name, out);
	if (err)
		return err;
	(*out)->node.uid = uid;
	TAILQ_INSERT_TAIL(&parent->subdirs, *out, link);
	(*out)->hash_next = NULL;
	*dir_slot(fs, name) = *out;
	fs->ndirs++;
	return 0;
}

void fs_dir_own(struct fs_dir *d, uid_t uid, gid_t gid, mode_t mode)
{
	d->node.uid = d->stats.uid = uid;
	d->node.gid = d->stats.gid = gid;
	d->node.mode = mode;
	for (unsigned i = 0; i < d->nchans; i++) {
		d->chans[i].node.uid = uid;
		d->chans[i].node.gid = gid;
	}
}

static uint64_t dir_refs(const struct fs_dir *d)
{
	uint64_t refs = d->node.nlookup + d->stats.nlookup + d->open_handles;

	for (unsigned i = 0; i < d->nchans; i++)
		refs += d->chans[i].node.nlookup;
	return refs;
}

int fs_rmdir(struct fs_dir *parent, const char *name)
{
	struct fs_node *n = fs_lookup_name(parent, name);
	struct fs_dir *d;

	if (!n)
		return -ENOENT;
	if (n->kind != FS_DIR)
		return -ENOTDIR;
	d = n->dir;
	if (d->open_handles)
		return -EBUSY;
	TAILQ_REMOVE(&parent->subdirs, d, link);
	*dir_slot(parent->fs, name) = d->hash_next;
	parent->fs->ndirs--;
	d->removed = true;
	/* the channels go now: their kernel objects with them */
	for (unsigned i = 0; i < d->nchans; i++)
		fs_chan_fini(&d->chans[i]);
	if (dir_refs(d) == 0)
		dir_free(d);
	return 0;
}

/* a removed directory lives until the kernel forgets its last inode */
void fs_dir_unref(struct fs_dir *d)
{
	if (d->removed && dir_refs(d) == 0)
		dir_free(d);
}

void fs_forget(struct fs_node *n, uint64_t nlookup)
{
	n->nlookup = nlookup < n->nlookup ? n->nlookup - nlookup : 0;
	fs_dir_unref(n->dir);
}

static int stats_line(char *buf, size_t size, const struct fs_dir *d,
		      struct fs_chan *fc, const char *name)
{
	struct ipc_chan_stats st;

	/* reports, never makes: a channel not opened yet shows zeros */
	if (fc->open_err && !fc->ch.t)
		return snprintf(buf, size, "name=%s dir=/%s error=%s\n", name,
				d->name, strerror(-fc->open_err));
	ipc_stats(&fc->ch, &st);
	return snprintf(buf, size,
			"name=%s dir=/%s bytes_in=%llu bytes_out=%llu "
			"msgs_in=%llu msgs_out=%llu queued=%zu capacity=%ld "
			"readers=%u writers=%u parked_reads=%u "
			"parked_writes=%u object=%s dropped=%llu\n",
			name, d->name, (unsigned long long)st.bytes_in,
			(unsigned long long)st.bytes_out,
			(unsigned long long)st.msgs_in,
			(unsigned long long)st.msgs_out, fs_chan_queued(fc),
			st.capacity, fc->readers, fc->writers,
			fs_chan_parked(fc, false), fs_chan_parked(fc, true),
			fc->ch.object, (unsigned long long)st.dropped);
}

char *fs_stats_text(struct fs_dir *d, size_t *len)
{
	size_t size = 512 * (d->nchans + 1), used = 0, extra = 0;
	char *buf = malloc(size);
	int n;

	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (unsigned i = 0; i < d->nchans; i++) {
		n = stats_line(buf + used, size - used, d, &d->chans[i],
			       chan_name(d, i));
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += n;
	}
	if (d == d->fs->root && d->fs->stats_extra)
		extra = d->fs->stats_extra(d->fs, NULL, 0);
	if (extra) {
		char *p = realloc(buf, used + extra + 1);

		if (p) {
			buf = p;
			n = d->fs->stats_extra(d->fs, buf + used, extra + 1);
			if (n > 0 && (size_t)n <= extra)
				used += n;
		}
	}
	*len = used;
	return buf;
}
