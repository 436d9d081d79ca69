/*
 * test_fs.c - two daemons' trees side by side in one process, through
 * the real fs/tree.c and fs/chan.c: a mkdir, a rmdir or data in one is
 * not seen in the other, each numbers its inodes from the root, each
 * has its own stats, only the one asked for the control (-o control)
 * has plainmem, and both go away cleanly (ASan in the sanitized build).
 * Channel objects live in a private runtime dir, empty at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs.h"
#include "testlib.h"

static char rundir[64];

struct two {
	struct fs a, b;
};

static int setup(void **state)
{
	struct ipc_opts o = { .rundir = rundir, .local = true };
	struct two *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(fs_tree_init(&t->a, &o, false), 0);
	assert_int_equal(fs_tree_init(&t->b, &o, true), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct two *t = *state;

	fs_tree_destroy(&t->a);
	fs_tree_destroy(&t->b);
	free(t);
	return 0;
}

static struct fs_dir *root_of(struct fs *fs)
{
	struct fs_node *n = fs_node_get(fs, FUSE_ROOT_ID);

	assert_non_null(n);
	assert_int_equal(n->kind, FS_DIR);
	return n->dir;
}

/* the stats line of channel `name` in d, malloc'ed; NULL if none */
static char *stats_line(struct fs_dir *d, const char *name)
{
	size_t len, nlen = strlen(name);
	char *text = fs_stats_text(d, &len), *line, *end, *ret = NULL;

	assert_non_null(text);
	for (line = text; *line; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		if (!strncmp(line, "name=", 5) &&
		    !strncmp(line + 5, name, nlen) && line[5 + nlen] == ' ') {
			ret = strndup(line, end - line);
			break;
		}
	}
	free(text);
	return ret;
}

static unsigned stats_lines(struct fs_dir *d)
{
	size_t len;
	char *text = fs_stats_text(d, &len);
	unsigned n = 0;

	assert_non_null(text);
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	free(text);
	return n;
}

static void test_roots(void **state)
{
	struct two *t = *state;
	struct fs_dir *ra = root_of(&t->a), *rb = root_of(&t->b);

	assert_ptr_not_equal(ra, rb);
	assert_ptr_equal(ra->fs, &t->a);
	assert_ptr_equal(rb->fs, &t->b);
	assert_int_equal(ra->node.ino, rb->node.ino);
	assert_non_null(fs_lookup_name(ra, "pipe"));
	assert_non_null(fs_lookup_name(rb, "pipe"));
	assert_ptr_not_equal(fs_lookup_name(ra, "pipe"),
			     fs_lookup_name(rb, "pipe"));
}

static void test_mkdir_one(void **state)
{
	struct two *t = *state;
	struct fs_dir *ra = root_of(&t->a), *rb = root_of(&t->b), *x, *y;
	struct fs_node *n;

	assert_int_equal(fs_mkdir(ra, "x", 0, &x), 0);
	assert_ptr_equal(fs_lookup_name(ra, "x"), &x->node);
	assert_null(fs_lookup_name(rb, "x"));
	/* a's number for x means nothing, or b's own, in b */
	n = fs_node_get(&t->b, x->node.ino);
	assert_true(n == NULL || n->dir->fs == &t->b);
	assert_int_equal(fs_mkdir(rb, "x", 0, &y), 0);
	assert_ptr_not_equal(x, y);
	assert_ptr_equal(fs_node_get(&t->a, x->node.ino), &x->node);
	assert_ptr_equal(fs_node_get(&t->b, y->node.ino), &y->node);
	/* rmdir in b leaves a's x */
	assert_int_equal(fs_rmdir(rb, "x"), 0);
	assert_null(fs_lookup_name(rb, "x"));
	assert_ptr_equal(fs_lookup_name(ra, "x"), &x->node);
	assert_int_equal(fs_rmdir(rb, "x"), -ENOENT);
	/* one level in each */
	assert_int_equal(fs_mkdir(x, "z", 0, &y), -EPERM);
}

static void test_same_numbers(void **state)
{
	struct two *t = *state;
	struct fs c;
	struct ipc_opts o = { .rundir = rundir, .local = true };
	struct fs_dir *x, *y;

	/* a tree of the same shape numbers as a does, whatever a did */
	assert_int_equal(fs_tree_init(&c, &o, false), 0);
	assert_int_equal(fs_mkdir(root_of(&t->a), "one", 0, &x), 0);
	assert_int_equal(fs_mkdir(root_of(&c), "two", 0, &y), 0);
	assert_int_equal(x->node.ino, y->node.ino);
	assert_ptr_equal(fs_node_get(&t->a, x->node.ino), &x->node);
	assert_ptr_equal(fs_node_get(&c, y->node.ino), &y->node);
	fs_tree_destroy(&c);
	assert_ptr_equal(fs_node_get(&t->a, x->node.ino), &x->node);
}

static void test_stats_apart(void **state)
{
	struct two *t = *state;
	struct fs_dir *ra = root_of(&t->a), *rb = root_of(&t->b);
	struct fs_chan *fc = fs_chan_of(fs_lookup_name(ra, "pipe"));
	char *la, *lb;

	assert_non_null(fc);
	assert_int_equal(fs_chan_make(fc), 0);
	assert_int_equal(ipc_send(&fc->ch, "hello", 5, IPC_DONTWAIT), 5);
	la = stats_line(ra, "pipe");
	lb = stats_line(rb, "pipe");
	assert_non_null(la);
	assert_non_null(lb);
	assert_non_null(strstr(la, " bytes_out=5 "));
	assert_non_null(strstr(lb, " bytes_out=0 "));
	free(la);
	free(lb);
	/* stats makes nothing: an unopened channel has no object yet */
	la = stats_line(ra, "fifo");
	assert_non_null(la);
	assert_non_null(strstr(la, " object= "));
	free(la);
	/* each its own named object once made */
	assert_int_equal(fs_chan_make(fs_chan_of(fs_lookup_name(ra, "fifo"))), 0);
	assert_int_equal(fs_chan_make(fs_chan_of(fs_lookup_name(rb, "fifo"))), 0);
	la = stats_line(ra, "fifo");
	lb = stats_line(rb, "fifo");
	assert_non_null(la);
	assert_non_null(lb);
	assert_string_not_equal(strstr(la, "object="), strstr(lb, "object="));
	free(la);
	free(lb);
}

static void test_control(void **state)
{
	struct two *t = *state;
	struct fs_dir *ra = root_of(&t->a), *rb = root_of(&t->b), *d;
	char *line;

	assert_null(fs_lookup_name(ra, "plainmem"));
	assert_non_null(fs_lookup_name(rb, "plainmem"));
	assert_int_equal(stats_lines(rb), stats_lines(ra) + 1);
	assert_null(stats_line(ra, "plainmem"));
	line = stats_line(rb, "plainmem");
	assert_non_null(line);
	free(line);
	/* and in a mkdir'ed directory as in the root */
	assert_int_equal(fs_mkdir(ra, "d", 0, &d), 0);
	assert_null(fs_lookup_name(d, "plainmem"));
	assert_int_equal(fs_mkdir(rb, "d", 0, &d), 0);
	assert_non_null(fs_lookup_name(d, "plainmem"));
}

/* mkdir's bounds: EDQUOT past one user's own, ENOSPC past the mount's */
static void test_dir_limits(void **state)
{
	struct two *t = *state;
	struct fs_dir *r = root_of(&t->a), *d;

	t->a.max_dirs = 3;
	t->a.max_user_dirs = 2;
	assert_int_equal(fs_mkdir(r, "a", 1000, &d), 0);
	assert_int_equal(fs_mkdir(r, "b", 1000, &d), 0);
	assert_int_equal(fs_mkdir(r, "c", 1000, &d), -EDQUOT);
	assert_int_equal(fs_mkdir(r, "c", 1001, &d), 0);
	assert_int_equal(fs_mkdir(r, "d", 1002, &d), -ENOSPC);
	assert_null(fs_lookup_name(r, "d"));
	assert_int_equal(fs_rmdir(r, "a"), 0);
	assert_int_equal(fs_mkdir(r, "d", 1002, &d), 0);
	assert_int_equal(fs_mkdir(r, "a", 1000, &d), -ENOSPC);
	/* the other tree keeps its own count and defaults */
	assert_int_equal(fs_mkdir(root_of(&t->b), "a", 1000, &d), 0);
}

/* thousands of names: each found, each gone after rmdir */
static void test_dir_names(void **state)
{
	struct two *t = *state;
	struct fs_dir *r = root_of(&t->a), *d;
	enum { N = 3000 };
	char name[16];
	struct fs_node *n;

	t->a.max_dirs = t->a.max_user_dirs = N;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(fs_mkdir(r, name, 0, &d), 0);
	}
	assert_int_equal(fs_mkdir(r, "d17", 0, &d), -EEXIST);
	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(fs_rmdir(r, name), 0);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		n = fs_lookup_name(r, name);
		if (i % 2) {
			assert_non_null(n);
			assert_string_equal(n->dir->name, name);
		} else {
			assert_null(n);
		}
	}
	assert_int_equal(t->a.ndirs, N / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_one, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_same_numbers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stats_apart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_limits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dir_names, setup,
						teardown),
	};
	int ret;

	snprintf(rundir, sizeof(rundir), "/tmp/ipcfs-test-fs.XXXXXX");
	if (!mkdtemp(rundir))
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	if (tl_count_entries(rundir, "") != 0) {
		fprintf(stderr, "objects left in %s\n", rundir);
		ret = 1;
	}
	rmdir(rundir);
	return ret;
}
