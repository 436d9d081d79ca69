/*
 * net_keys.c - CURVE key files, the trust file, the ZAP handler and
 * `ipcfs --genkey` (net_keys.h says what each file holds).
 *
 * The ZAP handler answers libzmq's authentication requests (RFC 27) from
 * the daemon's own loop: libzmq's I/O thread parks a CURVE handshake
 * until the answer comes, so the handler must never block and must
 * answer every request, even a malformed one (its REP socket would wedge
 * otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "net_keys.h"

#define NET_ZAP_ENDPOINT	"inproc://zeromq.zap.01"
#define NET_ZAP_FRAMES_MAX	8	/* 6 + CURVE's one credential; then cut */
#define NET_KEY_FILE_MAX	256	/* a key line is 41 bytes */

struct net_trust_entry {
	char name[NET_NAME_MAX + 1];
	char key[NET_KEY_Z85_LEN + 1];
	unsigned line;
};

struct net_trust {
	struct net_trust_entry *e;
	size_t n, cap;
};

struct net_zap {
	void *rep;		/* inproc://zeromq.zap.01 */
	void *mon;		/* the watched server's monitor, or NULL */
	void *zctx;
	int epfd;		/* over both sockets' ZMQ_FDs */
	const struct net_trust *trust;
	unsigned long refused;
	time_t log_sec;		/* rate limit of the refusal lines */
	unsigned log_n;
	unsigned long log_dropped;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* is s exactly one Z85-encoded 32-byte key? */
static bool z85_key_valid(const char *s)
{
	uint8_t raw[32];

	return strlen(s) == NET_KEY_Z85_LEN && zmq_z85_decode(raw, s) != NULL;
}

int net_name_valid(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");

	return n > 0 && n <= NET_NAME_MAX && name[n] == '\0';
}

/* the text of a small regular file, NUL-terminated; -errno */
static int read_small(int fd, char *buf, size_t size)
{
	size_t used = 0;
	ssize_t n;

	while (used < size - 1) {
		n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		used += n;
	}
	buf[used] = '\0';
	if (used == size - 1)
		return -EFBIG;
	if (strlen(buf) != used)
		return -EINVAL;		/* a NUL byte */
	return 0;
}

/* open a key file that only its owner can read; -errno */
static int key_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		set_err(err, errlen, "key file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "key file %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		set_err(err, errlen, "key file %s: permissions %04o are too "
			"open (chmod 600 %s)", path,
			(unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int net_key_load(const char *path, struct net_key *k, char *err,
		 size_t errlen)
{
	char buf[NET_KEY_FILE_MAX];
	int fd, ret;

	memset(k, 0, sizeof(*k));
	fd = key_open(path, err, errlen);
	if (fd < 0)
		return fd;
	ret = read_small(fd, buf, sizeof(buf));
	close(fd);
	if (ret == 0) {
		/* one line: the key, then at most a newline */
		char *end = buf + strcspn(buf, "\r\n");

		if (strcmp(end, "") && strcmp(end, "\n") &&
		    strcmp(end, "\r\n"))
			ret = -EINVAL;
		*end = '\0';
		if (!z85_key_valid(buf))
			ret = -EINVAL;
	}
	if (ret < 0) {
		set_err(err, errlen, "key file %s: not one Z85 secret key "
			"(%d characters; ipcfs --genkey makes one)", path,
			NET_KEY_Z85_LEN);
		return -EINVAL;
	}
	memcpy(k->secret_z85, buf, sizeof(k->secret_z85));
	if (zmq_curve_public(k->public_z85, k->secret_z85) < 0) {
		ret = -errno;
		set_err(err, errlen, "key file %s: %s (libzmq without CURVE?)",
			path, strerror(errno));
		memset(k, 0, sizeof(*k));
		return ret;
	}
	return 0;
}

/* create path (O_EXCL) with mode and write line and a newline; -errno */
static int write_new(const char *path, mode_t mode, const char *line)
{
	size_t len = strlen(line);
	char buf[NET_KEY_Z85_LEN + 2];
	int fd, ret = 0;

	snprintf(buf, sizeof(buf), "%s\n", line);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  mode);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len + 1) != (ssize_t)(len + 1))
		ret = errno ? -errno : -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
	return ret;
}

int net_genkey(const char *path, struct net_key *k, char *err,
	       size_t errlen)
{
	char pub[4096];
	int ret;

	memset(k, 0, sizeof(*k));
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", path) >= sizeof(pub)) {
		set_err(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	if (zmq_curve_keypair(k->public_z85, k->secret_z85) < 0) {
		ret = -errno;
		set_err(err, errlen, "cannot make a CURVE key pair: %s "
			"(libzmq without CURVE?)", strerror(errno));
		return ret;
	}
	ret = write_new(path, 0600, k->secret_z85);
	if (ret) {
		set_err(err, errlen, "%s: %s%s", path, strerror(-ret),
			ret == -EEXIST ? " (never overwritten)" : "");
		goto fail;
	}
	ret = write_new(pub, 0644, k->public_z85);
	if (ret) {
		set_err(err, errlen, "%s: %s%s", pub, strerror(-ret),
			ret == -EEXIST ? " (never overwritten)" : "");
		unlink(path);
		goto fail;
	}
	return 0;
fail:
	memset(k, 0, sizeof(*k));
	return ret;
}

/* --- the trust file */

static const struct net_trust_entry *trust_find(const struct net_trust *t,
						const char *name,
						const char *key)
{
	for (size_t i = 0; t && i < t->n; i++) {
		if (name && strcmp(t->e[i].name, name) == 0)
			return &t->e[i];
		if (key && strcmp(t->e[i].key, key) == 0)
			return &t->e[i];
	}
	return NULL;
}

const char *net_trust_key(const struct net_trust *t, const char *name)
{
	const struct net_trust_entry *e = trust_find(t, name, NULL);

	return e ? e->key : NULL;
}

const char *net_trust_name(const struct net_trust *t, const char *public_z85)
{
	const struct net_trust_entry *e = trust_find(t, NULL, public_z85);

	return e ? e->name : NULL;
}

void net_trust_free(struct net_trust *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

/* check one `NAME KEY` line and add it; -EINVAL with err set */
static int trust_add(struct net_trust *t, char *line, unsigned lineno,
		     const char *path, char *err, size_t errlen)
{
	const char *ws = " \t\r\n";
	char *save, *name, *key, *extra;
	const struct net_trust_entry *dup;
	struct net_trust_entry *e;

	name = strtok_r(line, ws, &save);
	if (!name || name[0] == '#')
		return 0;		/* blank or comment */
	key = strtok_r(NULL, ws, &save);
	extra = strtok_r(NULL, ws, &save);
	if (!key || extra) {
		set_err(err, errlen, "%s:%u: want `NAME Z85KEY`", path, lineno);
		return -EINVAL;
	}
	if (!net_name_valid(name)) {
		set_err(err, errlen, "%s:%u: bad name '%.40s' (1 to %d of "
			"a-z 0-9 _ -)", path, lineno, name, NET_NAME_MAX);
		return -EINVAL;
	}
	if (!z85_key_valid(key)) {
		set_err(err, errlen, "%s:%u: the key of %s is not a Z85 "
			"public key (%d characters)", path, lineno, name,
			NET_KEY_Z85_LEN);
		return -EINVAL;
	}
	dup = trust_find(t, name, key);
	if (dup && strcmp(dup->name, name) == 0) {
		set_err(err, errlen, "%s:%u: %s listed twice (line %u)", path,
			lineno, name, dup->line);
		return -EINVAL;
	}
	if (dup) {
		set_err(err, errlen, "%s:%u: the key of %s is %s's too (line %u)",
			path, lineno, name, dup->name, dup->line);
		return -EINVAL;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		void *p = realloc(t->e, cap * sizeof(*t->e));

		if (!p) {
			set_err(err, errlen, "%s: %s", path, strerror(ENOMEM));
			return -ENOMEM;
		}
		t->e = p;
		t->cap = cap;
	}
	e = &t->e[t->n++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->line = lineno;
	return 0;
}

/* open a trust file that only its owner can change; NULL with err set */
static FILE *trust_open(const char *path, int *ret, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int fd;

	/* O_NONBLOCK: a FIFO given as the file must not hang us */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*ret = -errno;
		set_err(err, errlen, "trust file %s: %s", path,
			strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*ret = -EINVAL;
		set_err(err, errlen, "trust file %s: not a regular file", path);
	} else if (st.st_mode & 022) {
		*ret = -EPERM;
		set_err(err, errlen, "trust file %s: writable by group or "
			"others (chmod go-w %s)", path, path);
	} else if (!(f = fdopen(fd, "r"))) {
		*ret = -errno;
		set_err(err, errlen, "trust file %s: %s", path,
			strerror(errno));
	} else {
		return f;
	}
	close(fd);
	return NULL;
}

int net_trust_load(const char *path, struct net_trust **out, char *err,
		   size_t errlen)
{
	struct net_trust *t;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t len;
	int ret = 0;
	FILE *f;

	*out = NULL;
	f = trust_open(path, &ret, err, errlen);
	if (!f)
		return ret;
	t = calloc(1, sizeof(*t));
	if (!t) {
		fclose(f);
		set_err(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	while (!ret && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (strlen(line) != (size_t)len) {
			set_err(err, errlen, "%s:%u: a NUL byte", path, lineno);
			ret = -EINVAL;
		} else {
			ret = trust_add(t, line, lineno, path, err, errlen);
		}
	}
	if (!ret && ferror(f)) {
		ret = -EIO;
		set_err(err, errlen, "%s: %s", path, strerror(EIO));
	}
	free(line);
	fclose(f);
	if (ret) {
		net_trust_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

/* --- CURVE sockets */

static int set_opt(void *s, int opt, const void *val, size_t len)
{
	return zmq_setsockopt(s, opt, val, len) < 0 ? -errno : 0;
}

int net_curve_server(void *zsock, const struct net_key *k)
{
	int one = 1, ret;

	ret = set_opt(zsock, ZMQ_ZAP_DOMAIN, NET_ZAP_DOMAIN,
		      strlen(NET_ZAP_DOMAIN));
	if (!ret)
		ret = set_opt(zsock, ZMQ_CURVE_SERVER, &one, sizeof(one));
	if (!ret)
		ret = set_opt(zsock, ZMQ_CURVE_SECRETKEY, k->secret_z85,
			      NET_KEY_Z85_LEN + 1);
	return ret;
}

int net_curve_client(void *zsock, const struct net_key *k,
		     const char *server_public_z85)
{
	int ret;

	if (!z85_key_valid(server_public_z85))
		return -EINVAL;
	ret = set_opt(zsock, ZMQ_CURVE_SERVERKEY, server_public_z85,
		      NET_KEY_Z85_LEN + 1);
	if (!ret)
		ret = set_opt(zsock, ZMQ_CURVE_PUBLICKEY, k->public_z85,
			      NET_KEY_Z85_LEN + 1);
	if (!ret)
		ret = set_opt(zsock, ZMQ_CURVE_SECRETKEY, k->secret_z85,
			      NET_KEY_Z85_LEN + 1);
	return ret;
}

/* --- the ZAP handler */

/* one refusal line on stderr, at most NET_ZAP_LOG_PER_SEC a second */
static void zap_log(struct net_zap *z, const char *fmt, ...)
{
	struct timespec now;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != z->log_sec) {
		if (z->log_dropped)
			fprintf(stderr, "ipcfs: net: %lu more refusals not "
				"logged\n", z->log_dropped);
		z->log_sec = now.tv_sec;
		z->log_n = 0;
		z->log_dropped = 0;
	}
	if (z->log_n >= NET_ZAP_LOG_PER_SEC) {
		z->log_dropped++;
		return;
	}
	z->log_n++;
	va_start(ap, fmt);
	fputs("ipcfs: net: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* frame i of a request as a printable, bounded string */
static const char *frame_str(zmq_msg_t *f, char *buf, size_t size)
{
	size_t len = zmq_msg_size(f), i;
	const unsigned char *p = zmq_msg_data(f);

	if (len > size - 1)
		len = size - 1;
	for (i = 0; i < len; i++)
		buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	buf[i] = '\0';
	return buf;
}

static bool frame_is(zmq_msg_t *f, const char *s)
{
	return zmq_msg_size(f) == strlen(s) &&
	       memcmp(zmq_msg_data(f), s, strlen(s)) == 0;
}

/* the trusted NAME for a request's key, or NULL after logging why not
 * and setting the status code (RFC 27: 500 malformed, 400 refused) */
static const char *zap_decide(struct net_zap *z, zmq_msg_t *f, int n,
			      const char **code, const char **why)
{
	char addr[64], key[NET_KEY_Z85_LEN + 1], mech[16];
	const char *name;

	*code = "400";
	if (n < 6 || !frame_is(&f[0], "1.0")) {
		*code = "500";
		*why = "bad ZAP request";
		zap_log(z, "refused a malformed ZAP request (%d frames)", n);
		return NULL;
	}
	frame_str(&f[3], addr, sizeof(addr));
	*why = "CURVE only";
	if (!frame_is(&f[2], NET_ZAP_DOMAIN)) {
		zap_log(z, "refused a peer at %s: ZAP domain '%s', want %s", addr,
			frame_str(&f[2], mech, sizeof(mech)), NET_ZAP_DOMAIN);
		return NULL;
	}
	if (!frame_is(&f[5], "CURVE")) {
		zap_log(z, "refused a peer at %s: mechanism %s, want CURVE",
			addr, frame_str(&f[5], mech, sizeof(mech)));
		return NULL;
	}
	if (n != 7 || zmq_msg_size(&f[6]) != 32) {
		zap_log(z, "refused a peer at %s: malformed CURVE credentials",
			addr);
		return NULL;
	}
	if (!zmq_z85_encode(key, zmq_msg_data(&f[6]), 32))
		key[0] = '\0';
	name = net_trust_name(z->trust, key);
	if (!name) {
		*why = "key not trusted";
		zap_log(z, "refused a peer at %s: key %s is not in the trust "
			"file", addr, key);
	}
	return name;
}

/* send the reply's frames; a failure is logged, never waited out */
static void zap_reply(struct net_zap *z, zmq_msg_t *reqid, const char *code,
		      const char *text, const char *user)
{
	const char *f[] = { "1.0", NULL, code, text, user, "" };
	int flags;

	for (int i = 0; i < 6; i++) {
		flags = ZMQ_DONTWAIT | (i < 5 ? ZMQ_SNDMORE : 0);
		if (i == 1 && reqid) {
			if (zmq_send(z->rep, zmq_msg_data(reqid),
				     zmq_msg_size(reqid), flags) < 0)
				break;
		} else if (zmq_send(z->rep, f[i] ? f[i] : "",
				    f[i] ? strlen(f[i]) : 0, flags) < 0) {
			break;
		}
		if (i == 5)
			return;
	}
	fprintf(stderr, "ipcfs: net: ZAP reply lost: %s\n",
		zmq_strerror(zmq_errno()));
}

/* receive one whole request (extra frames dropped); frame count or 0 */
static int zap_recv(struct net_zap *z, zmq_msg_t *f)
{
	int n = 0, more = 1;
	size_t len = sizeof(more);
	zmq_msg_t extra;

	while (more) {
		zmq_msg_t *m = n < NET_ZAP_FRAMES_MAX ? &f[n] : &extra;

		zmq_msg_init(m);
		if (zmq_msg_recv(m, z->rep, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(m);
			break;
		}
		if (zmq_getsockopt(z->rep, ZMQ_RCVMORE, &more, &len) < 0)
			more = 0;
		if (m == &extra)
			zmq_msg_close(m);
		n++;
	}
	return n;
}

/* answer one request; false when none was there */
static bool zap_serve_one(struct net_zap *z)
{
	zmq_msg_t f[NET_ZAP_FRAMES_MAX];
	const char *name, *code, *why = "OK";
	int n = zap_recv(z, f), kept;

	if (n == 0)
		return false;
	kept = n < NET_ZAP_FRAMES_MAX ? n : NET_ZAP_FRAMES_MAX;
	name = zap_decide(z, f, n, &code, &why);
	if (!name)
		z->refused++;
	zap_reply(z, kept > 1 ? &f[1] : NULL, name ? "200" : code, why,
		  name ? name : "");
	for (int i = 0; i < kept; i++)
		zmq_msg_close(&f[i]);
	return true;
}

/* one monitor event; logs the handshakes that failed before ZAP */
static bool zap_monitor_one(struct net_zap *z)
{
	char endpoint[128];
	zmq_msg_t ev, ep;
	uint16_t event;
	uint32_t value;
	bool got = false;

	zmq_msg_init(&ev);
	zmq_msg_init(&ep);
	if (zmq_msg_recv(&ev, z->mon, ZMQ_DONTWAIT) < 0)
		goto out;
	got = true;
	/* an event is two frames: 6 bytes of (event, value), then the
	 * endpoint; anything else is not from libzmq's monitor */
	if (zmq_msg_more(&ev) && zmq_msg_recv(&ep, z->mon, ZMQ_DONTWAIT) < 0)
		goto out;
	if (zmq_msg_size(&ev) != 6)
		goto out;
	memcpy(&event, zmq_msg_data(&ev), 2);
	memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
	frame_str(&ep, endpoint, sizeof(endpoint));
	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
		z->refused++;
		zap_log(z, "refused a peer on %s: %s", endpoint,
			value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ?
			"not CURVE (mechanism mismatch)" :
			value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC ?
			"CURVE box not for our key (a wrong server key?)" :
			"protocol error in the handshake");
	} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
		/* also a peer without CURVE that saw the mismatch first
		 * and hung up: which side sees it first is a race */
		z->refused++;
		zap_log(z, "a handshake on %s failed: %s", endpoint,
			strerror((int)value));
	}
out:
	zmq_msg_close(&ev);
	zmq_msg_close(&ep);
	return got;
}

/* serve sock while it has input; one(z) must consume a message or
 * return false, so a lying ZMQ_EVENTS cannot spin us */
static void zap_drain(struct net_zap *z, void *sock,
		      bool (*one)(struct net_zap *))
{
	size_t len;
	int events;

	for (;;) {
		len = sizeof(events);
		if (zmq_getsockopt(sock, ZMQ_EVENTS, &events, &len) < 0 ||
		    !(events & ZMQ_POLLIN) || !one(z))
			return;
	}
}

void net_zap_serve(struct net_zap *z)
{
	struct epoll_event ev[2];

	/* consume the edges; then look at both sockets whatever fired */
	while (epoll_wait(z->epfd, ev, 2, 0) > 0)
		;
	zap_drain(z, z->rep, zap_serve_one);
	if (z->mon)
		zap_drain(z, z->mon, zap_monitor_one);
}

/* watch sock's ZMQ_FD on z's epoll fd; -errno */
static int zap_epoll_add(struct net_zap *z, void *sock)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	size_t len = sizeof(int);
	int fd;

	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) < 0)
		return -errno;
	ev.data.ptr = sock;
	return epoll_ctl(z->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int net_zap_open(void *zctx, const struct net_trust *t, struct net_zap **out)
{
	struct net_zap *z;
	int zero = 0, ret;

	*out = NULL;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->trust = t;
	z->zctx = zctx;
	z->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (z->epfd < 0) {
		ret = -errno;
		free(z);
		return ret;
	}
	z->rep = zmq_socket(zctx, ZMQ_REP);
	if (!z->rep ||
	    zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_bind(z->rep, NET_ZAP_ENDPOINT) < 0) {
		ret = -errno;	/* EADDRINUSE: a handler is there already */
		goto err;
	}
	ret = zap_epoll_add(z, z->rep);
	if (ret)
		goto err;
	*out = z;
	return 0;
err:
	net_zap_close(z);
	return ret;
}

int net_zap_watch(struct net_zap *z, void *zsock)
{
	int events = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
		     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
	char ep[64];
	int zero = 0, ret;

	if (z->mon)
		return -EBUSY;
	snprintf(ep, sizeof(ep), "inproc://ipcfs.zap-monitor.%p", (void *)z);
	if (zmq_socket_monitor(zsock, ep, events) < 0)
		return -errno;
	z->mon = zmq_socket(z->zctx, ZMQ_PAIR);
	if (!z->mon ||
	    zmq_setsockopt(z->mon, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_connect(z->mon, ep) < 0) {
		ret = -errno;
		goto err;
	}
	ret = zap_epoll_add(z, z->mon);
	if (!ret)
		return 0;
err:
	if (z->mon)
		zmq_close(z->mon);
	z->mon = NULL;
	(void)zmq_socket_monitor(zsock, NULL, 0);
	return ret;
}

int net_zap_fd(const struct net_zap *z)
{
	return z->epfd;
}

unsigned long net_zap_refused(const struct net_zap *z)
{
	return z->refused;
}

void net_zap_close(struct net_zap *z)
{
	if (!z)
		return;
	if (z->mon)
		zmq_close(z->mon);
	if (z->rep)
		zmq_close(z->rep);
	if (z->epfd >= 0)
		close(z->epfd);
	free(z);
}
