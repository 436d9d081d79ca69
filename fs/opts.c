/*
 * opts.c - ipcfs's own -o options (see opts.h), parsed with libfuse's
 * fuse_opt_parse so that "-o bind=X,allow_other" mixes with FUSE's own
 * options the way every FUSE file system's do; what is not ours is left
 * in the arguments for fuse_session_new, which refuses what it does not
 * know either.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "opts.h"

enum {
	KEY_BIND,		/* bind=ADDR */
	KEY_BIND_BARE,		/* bind, with no address */
	KEY_SPIN,		/* spin=US */
	KEY_CONTROL,		/* control: the bench's plainmem file */
	KEY_OUTSIDERS,		/* outsiders: anyone may send to objects */
	KEY_MAX_DIRS,		/* max_dirs=N */
	KEY_MAX_USER_DIRS,	/* max_user_dirs=N */
	KEY_MAX_PARKED,		/* max_parked=MIB */
	KEY_MAX_USER_PARKED,	/* max_user_parked=MIB */
	KEY_ALLOW_OTHER,
	KEY_DEFAULT_PERMISSIONS,
	KEY_LISTEN,		/* listen=ADDR:PORT */
	KEY_PEER,		/* peer=NAME=HOST:PORT */
	KEY_KEY,		/* key=FILE */
	KEY_TRUST,		/* trust=FILE */
	KEY_PEER_TIMEOUT,	/* peer_timeout=SECS */
};

static const struct fuse_opt fs_opt_table[] = {
	FUSE_OPT_KEY("bind=", KEY_BIND),
	FUSE_OPT_KEY("bind", KEY_BIND_BARE),
	FUSE_OPT_KEY("spin=", KEY_SPIN),
	FUSE_OPT_KEY("control", KEY_CONTROL),
	FUSE_OPT_KEY("outsiders", KEY_OUTSIDERS),
	FUSE_OPT_KEY("max_dirs=", KEY_MAX_DIRS),
	FUSE_OPT_KEY("max_user_dirs=", KEY_MAX_USER_DIRS),
	FUSE_OPT_KEY("max_parked=", KEY_MAX_PARKED),
	FUSE_OPT_KEY("max_user_parked=", KEY_MAX_USER_PARKED),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
	FUSE_OPT_KEY("listen=", KEY_LISTEN),
	FUSE_OPT_KEY("peer=", KEY_PEER),
	FUSE_OPT_KEY("key=", KEY_KEY),
	FUSE_OPT_KEY("trust=", KEY_TRUST),
	FUSE_OPT_KEY("peer_timeout=", KEY_PEER_TIMEOUT),
	FUSE_OPT_END
};

/* microseconds, decimal, 0..FS_SPIN_US_MAX; -1 after a line on stderr */
static int parse_spin(const char *s, unsigned *us)
{
	unsigned long v = 0;
	const char *p = s;

	/* digits only: strtoul would take " 5", "+5" and "-5" */
	for (; *p >= '0' && *p <= '9' && v <= FS_SPIN_US_MAX; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (p == s || *p || v > FS_SPIN_US_MAX) {
		fprintf(stderr, "ipcfs: bad spin '%s' (microseconds, 0 to %d)\n",
			s, FS_SPIN_US_MAX);
		return -1;
	}
	*us = (unsigned)v;
	return 0;
}

/* N of -o name=N: digits only, 1 to max; 0 or -1 */
static int parse_count(const char *name, const char *s, unsigned max,
		       unsigned *n)
{
	unsigned long v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9' && v <= max; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (p == s || *p || v < 1 || v > max) {
		fprintf(stderr, "ipcfs: bad %s '%s' (1 to %u)\n", name, s, max);
		return -1;
	}
	*n = (unsigned)v;
	return 0;
}

/* a port: digits only, 1..65535 */
static bool port_ok(const char *s)
{
	unsigned long v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	return p != s && !*p && v >= 1 && v <= 65535;
}

/* listen=ADDR:PORT, ADDR a dotted quad or "*"; -1 after a line */
static int parse_listen(const char *s, struct fs_opts *o)
{
	const char *colon = strrchr(s, ':');
	char addr[INET_ADDRSTRLEN];
	struct in_addr in;
	size_t len = colon ? (size_t)(colon - s) : 0;

	if (colon && len < sizeof(addr)) {
		memcpy(addr, s, len);
		addr[len] = '\0';
		if ((strcmp(addr, "*") == 0 ||
		     inet_pton(AF_INET, addr, &in) == 1) && port_ok(colon + 1)) {
			snprintf(o->listen, sizeof(o->listen), "%s", s);
			return 0;
		}
	}
	fprintf(stderr, "ipcfs: bad listen '%s' (ADDR:PORT, ADDR an IPv4 "
		"address or *)\n", s);
	return -1;
}

/* is name [a-z0-9_-]{1,32}? */
static bool peer_name_ok(const char *s, size_t len)
{
	if (len < 1 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '_' &&
		    s[i] != '-')
			return false;
	return true;
}

/* peer=NAME=HOST:PORT; -1 after a line */
static int parse_peer(const char *s, struct fs_opts *o)
{
	const char *eq = strchr(s, '='), *colon = strrchr(s, ':');
	struct fs_opts_peer *p = &o->peers[o->npeers];

	if (!eq || !peer_name_ok(s, (size_t)(eq - s)) || !colon ||
	    colon < eq || colon == eq + 1 || !port_ok(colon + 1) ||
	    strlen(eq + 1) >= sizeof(p->addr) ||
	    strcspn(eq + 1, " /\\\"'") != strlen(eq + 1)) {
		fprintf(stderr, "ipcfs: bad peer '%s' (NAME=HOST:PORT, NAME "
			"of a-z 0-9 _ -, at most 32)\n", s);
		return -1;
	}
	for (unsigned i = 0; i < o->npeers; i++)
		if (strncmp(o->peers[i].name, s, (size_t)(eq - s)) == 0 &&
		    !o->peers[i].name[eq - s]) {
			fprintf(stderr, "ipcfs: peer %.*s given twice\n",
				(int)(eq - s), s);
			return -1;
		}
	if (o->npeers == FS_PEERS_MAX) {
		fprintf(stderr, "ipcfs: more than %d peers\n", FS_PEERS_MAX);
		return -1;
	}
	memcpy(p->name, s, (size_t)(eq - s));
	p->name[eq - s] = '\0';
	snprintf(p->addr, sizeof(p->addr), "%s", eq + 1);
	o->npeers++;
	return 0;
}

/* key=FILE, trust=FILE: kept as given, read at start */
static int parse_path(const char *name, const char *s, char *to, size_t size)
{
	if (!*s || strlen(s) >= size) {
		fprintf(stderr, "ipcfs: bad %s '%s' (a file)\n", name, s);
		return -1;
	}
	snprintf(to, size, "%s", s);
	return 0;
}

/* fuse_opt_parse's callback: -1 refuses, 0 takes the option, 1 keeps it */
static int fs_opt_proc(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct fs_opts *o = data;
	struct in_addr in;
	const char *addr;

	(void)outargs;
	switch (key) {
	case KEY_BIND:
		addr = arg + strlen("bind=");
		/* dotted quad only: inet_aton's "127.1" or "0x7f.1" would
		 * make ch->object disagree with what the user typed */
		if (inet_pton(AF_INET, addr, &in) != 1) {
			fprintf(stderr, "ipcfs: bad bind address '%s'\n",
				addr);
			return -1;
		}
		/* the last one wins, as for FUSE's own options; a parsed
		 * address always fits INET_ADDRSTRLEN */
		(void)inet_ntop(AF_INET, &in, o->bind_addr,
				sizeof(o->bind_addr));
		return 0;
	case KEY_SPIN:
		return parse_spin(arg + strlen("spin="), &o->spin_us) ? -1 : 0;
	case KEY_CONTROL:
		o->control = true;
		return 0;
	case KEY_OUTSIDERS:
		o->outsiders = true;
		return 0;
	case KEY_MAX_DIRS:
		return parse_count("max_dirs", arg + strlen("max_dirs="),
				   FS_MAX_DIRS_LIMIT, &o->max_dirs);
	case KEY_MAX_USER_DIRS:
		return parse_count("max_user_dirs",
				   arg + strlen("max_user_dirs="),
				   FS_MAX_DIRS_LIMIT, &o->max_user_dirs);
	case KEY_MAX_PARKED:
		return parse_count("max_parked", arg + strlen("max_parked="),
				   FS_MAX_PARKED_MIB, &o->max_parked_mib);
	case KEY_MAX_USER_PARKED:
		return parse_count("max_user_parked",
				   arg + strlen("max_user_parked="),
				   FS_MAX_PARKED_MIB, &o->max_user_parked_mib);
	case KEY_LISTEN:
		return parse_listen(arg + strlen("listen="), o);
	case KEY_PEER:
		return parse_peer(arg + strlen("peer="), o);
	case KEY_KEY:
		return parse_path("key", arg + strlen("key="), o->key,
				  sizeof(o->key));
	case KEY_TRUST:
		return parse_path("trust", arg + strlen("trust="), o->trust,
				  sizeof(o->trust));
	case KEY_PEER_TIMEOUT:
		return parse_count("peer_timeout",
				   arg + strlen("peer_timeout="),
				   FS_PEER_TIMEOUT_MAX, &o->peer_timeout_s);
	case KEY_BIND_BARE:
		fprintf(stderr, "ipcfs: -o bind needs an address "
			"(-o bind=ADDR)\n");
		return -1;
	case KEY_ALLOW_OTHER:
		o->allow_other = true;
		return 1;	/* FUSE's too: it goes to the mount */
	case KEY_DEFAULT_PERMISSIONS:
		o->default_permissions = true;
		return 1;
	default:
		return 1;	/* FUSE's or nobody's: fuse_session_new says */
	}
}

int fs_opts_parse(struct fuse_args *args, struct fs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->spin_us = FS_SPIN_US_DEFAULT;
	o->max_dirs = FS_MAX_DIRS_DEFAULT;
	o->max_user_dirs = FS_MAX_USER_DIRS_DEFAULT;
	o->max_parked_mib = FS_MAX_PARKED_DEFAULT >> 20;
	o->max_user_parked_mib = FS_MAX_USER_PARKED_DEFAULT >> 20;
	o->peer_timeout_s = FS_PEER_TIMEOUT_DEFAULT;
	if (fuse_opt_parse(args, o, fs_opt_table, fs_opt_proc) != 0)
		return -1;
	/* the peering is authenticated or not at all */
	if ((o->listen[0] || o->npeers) && (!o->key[0] || !o->trust[0])) {
		fprintf(stderr, "ipcfs: -o %s needs -o key=FILE and "
			"-o trust=FILE (see ipcfs --genkey)\n",
			o->listen[0] ? "listen" : "peer");
		return -1;
	}
	/*
	 * Other users reach the files: let the kernel check each access
	 * against the modes and owners getattr reports, as for any file.
	 * Without it every file would be open to everyone.
	 */
	if (o->allow_other && !o->default_permissions) {
		/* in front: after a "--" it would be a mount point */
		if (fuse_opt_insert_arg(args, 1, "-odefault_permissions"))
			return -1;
		o->default_permissions = true;
	}
	return 0;
}

int fs_opts_check(const struct fs_opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, err = 0;

	if (!o->bind_addr[0])
		return 0;
	/* an address of another host would fail each channel's bind later,
	 * one `error=` at a time: say so once, now */
	if (inet_pton(AF_INET, o->bind_addr, &sa.sin_addr) != 1) {
		err = EINVAL;
	} else {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			err = errno;
		if (fd >= 0)
			(void)close(fd);
	}
	if (err) {
		fprintf(stderr, "ipcfs: bind address '%s': %s\n", o->bind_addr,
			strerror(err));
		return -1;
	}
	return 0;
}
