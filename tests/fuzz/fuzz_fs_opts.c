/*
 * fuzz_fs_opts.c - the daemon's own options, fs_opts_parse() (fs/opts.c),
 * on a command line of NUL-separated arguments after "ipcfs". Checks: it
 * says 0 or -1; on 0, a bind address is a dotted quad that reads back the
 * same, allow_other brings default_permissions, the arguments left for
 * fuse_session_new start with the program and hold none of our options,
 * and what is left parses again to the same options, into arguments that
 * are a fixed point: parsed once more, they come back unchanged (no
 * state between calls, as opts.h promises; fuse_opt_parse gathers the
 * -o options, so only the second pass must be the same as the third).
 * Its one line on stderr per refusal goes to /dev/null here; a
 * sanitizer's report does not.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "opts.h"

#define MAX_ARGS	32

static int quiet(int *saved)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	fflush(stderr);
	*saved = dup(2);
	if (null >= 0) {
		(void)dup2(null, 2);
		close(null);
	}
	return 0;
}

static void loud(int saved)
{
	fflush(stderr);
	if (saved >= 0) {
		(void)dup2(saved, 2);
		close(saved);
	}
}

/* args copied into a fuse_args of its own, then parsed: fs_opts_parse */
static int reparse(const struct fuse_args *args, struct fuse_args *out,
		   struct fs_opts *o)
{
	int ret, saved;

	*out = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	for (int a = 0; a < args->argc; a++)
		FUZZ_CHECK(fuse_opt_add_arg(out, args->argv[a]) == 0,
			   "fuse_opt_add_arg");
	quiet(&saved);
	ret = fs_opts_parse(out, o);
	loud(saved);
	return ret;
}

/* an element of an option list (unescaped commas) is bind[=...], spin=...,
 * max_dirs=..., max_user_dirs=..., max_parked=..., max_user_parked=...,
 * control or outsiders */
static bool has_ours(const char *list)
{
	const char *p = list;

	while (*p) {
		if (!strncmp(p, "bind", 4) && (!p[4] || p[4] == '=' ||
					       p[4] == ','))
			return true;
		if (!strncmp(p, "spin=", 5))
			return true;
		if (!strncmp(p, "control", 7) && (!p[7] || p[7] == ','))
			return true;
		if (!strncmp(p, "outsiders", 9) && (!p[9] || p[9] == ','))
			return true;
		if (!strncmp(p, "max_dirs=", 9) ||
		    !strncmp(p, "max_user_dirs=", 14) ||
		    !strncmp(p, "max_parked=", 11) ||
		    !strncmp(p, "max_user_parked=", 16))
			return true;
		if (!strncmp(p, "listen=", 7) || !strncmp(p, "peer=", 5) ||
		    !strncmp(p, "key=", 4) || !strncmp(p, "trust=", 6) ||
		    !strncmp(p, "peer_timeout=", 13))
			return true;
		for (; *p && *p != ','; p++)
			if (*p == '\\' && p[1])
				p++;
		if (*p)
			p++;
	}
	return false;
}

/* the peering's options: terminated, valid names, key and trust */
static void check_peering(const struct fs_opts *o)
{
	FUZZ_CHECK(memchr(o->listen, '\0', sizeof(o->listen)) &&
		   memchr(o->key, '\0', sizeof(o->key)) &&
		   memchr(o->trust, '\0', sizeof(o->trust)),
		   "a path or address not terminated");
	FUZZ_CHECK(o->npeers <= FS_PEERS_MAX, "%u peers", o->npeers);
	FUZZ_CHECK(o->peer_timeout_s >= 1 &&
		   o->peer_timeout_s <= FS_PEER_TIMEOUT_MAX, "timeout %u",
		   o->peer_timeout_s);
	FUZZ_CHECK(!(o->listen[0] || o->npeers) || (o->key[0] &&
						    o->trust[0]),
		   "peering without key= and trust=");
	for (unsigned i = 0; i < o->npeers; i++) {
		const char *n = o->peers[i].name;

		FUZZ_CHECK(n[0] && strlen(n) <= 32 &&
			   strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
			   strlen(n), "peer name '%s'", n);
		FUZZ_CHECK(strchr(o->peers[i].addr, ':'), "peer address '%s'",
			   o->peers[i].addr);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(o->peers[j].name, n) != 0,
				   "peer %s twice", n);
	}
}

static void check_left(const struct fuse_args *a)
{
	FUZZ_CHECK(a->argc >= 1 && a->argv && !strcmp(a->argv[0], "ipcfs"),
		   "argv[0] lost");
	FUZZ_CHECK(!a->argv[a->argc], "argv not NULL-terminated");
	for (int i = 1; i < a->argc; i++) {
		const char *s = a->argv[i];

		if (!strcmp(s, "--"))
			break;	/* what follows is no option: "-o" a name */
		if (!strcmp(s, "-o") && i + 1 < a->argc)
			s = a->argv[++i];
		else if (!strncmp(s, "-o", 2))
			s += 2;
		else
			continue;
		FUZZ_CHECK(!has_ours(s), "'%s' left for FUSE", s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 1] = { "ipcfs" };
	struct fuse_args args, again, third;
	struct fs_opts o, o2, o3;
	struct in_addr in;
	char back[INET_ADDRSTRLEN];
	size_t i, start;
	int argc = 1, ret, ret2, saved;

	for (start = i = 0; size && i <= size && argc < MAX_ARGS; i++) {
		if (i < size && data[i])
			continue;
		argv[argc] = malloc(i - start + 1);	/* exact: for ASan */
		FUZZ_CHECK(argv[argc], "malloc");
		memcpy(argv[argc], data + start, i - start);
		argv[argc++][i - start] = '\0';
		start = i + 1;
	}
	argv[argc] = NULL;
	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	quiet(&saved);
	ret = fs_opts_parse(&args, &o);
	loud(saved);
	FUZZ_CHECK(ret == 0 || ret == -1, "%d", ret);
	if (ret == 0) {
		FUZZ_CHECK(memchr(o.bind_addr, '\0', sizeof(o.bind_addr)),
			   "bind_addr not terminated");
		if (o.bind_addr[0])
			FUZZ_CHECK(inet_pton(AF_INET, o.bind_addr, &in) == 1 &&
				   inet_ntop(AF_INET, &in, back, sizeof(back)) &&
				   !strcmp(back, o.bind_addr),
				   "bind address '%s'", o.bind_addr);
		FUZZ_CHECK(o.spin_us <= FS_SPIN_US_MAX, "spin %u", o.spin_us);
		FUZZ_CHECK(o.max_dirs >= 1 && o.max_dirs <= FS_MAX_DIRS_LIMIT &&
			   o.max_user_dirs >= 1 &&
			   o.max_user_dirs <= FS_MAX_DIRS_LIMIT,
			   "max_dirs %u, max_user_dirs %u", o.max_dirs,
			   o.max_user_dirs);
		FUZZ_CHECK(!o.allow_other || o.default_permissions,
			   "allow_other without default_permissions");
		check_peering(&o);
		check_left(&args);
		/* what is left, parsed again: nothing of ours, nothing new */
		ret2 = reparse(&args, &again, &o2);
		FUZZ_CHECK(ret2 == 0 && !o2.bind_addr[0] &&
			   o2.spin_us == FS_SPIN_US_DEFAULT && !o2.control &&
			   !o2.outsiders && o2.max_dirs == FS_MAX_DIRS_DEFAULT &&
			   o2.max_user_dirs == FS_MAX_USER_DIRS_DEFAULT &&
			   o2.max_parked_mib == FS_MAX_PARKED_DEFAULT >> 20 &&
			   o2.max_user_parked_mib ==
			   FS_MAX_USER_PARKED_DEFAULT >> 20 &&
			   o2.allow_other == o.allow_other &&
			   !o2.listen[0] && !o2.npeers && !o2.key[0] &&
			   !o2.trust[0] &&
			   o2.peer_timeout_s == FS_PEER_TIMEOUT_DEFAULT &&
			   o2.default_permissions == o.default_permissions,
			   "a second parse of what was left differs");
		check_left(&again);
		FUZZ_CHECK(reparse(&again, &third, &o3) == 0 &&
			   !memcmp(&o2, &o3, sizeof(o2)),
			   "a third parse differs");
		FUZZ_CHECK(third.argc == again.argc, "argc %d, then %d",
			   again.argc, third.argc);
		for (int a = 0; a < again.argc; a++)
			FUZZ_CHECK(!strcmp(again.argv[a], third.argv[a]),
				   "argument %d: '%s', then '%s'", a,
				   again.argv[a], third.argv[a]);
		fuse_opt_free_args(&again);
		fuse_opt_free_args(&third);
	}
	fuse_opt_free_args(&args);
	for (int a = 1; a < argc; a++)
		free(argv[a]);
	return 0;
}
