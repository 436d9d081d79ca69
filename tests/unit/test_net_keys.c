/*
 * test_net_keys.c - fs/net_keys.c: key files and --genkey (modes, never
 * overwritten, malformed files refused), the trust file (comments, line
 * numbers in errors, duplicates), and the ZAP handler with a real CURVE
 * server and clients over tcp://127.0.0.1, driven by poll() on
 * net_zap_fd as the daemon's loop drives it: the trusted key talks, an
 * untrusted key, a client without CURVE and one with a wrong server key
 * are refused and logged; malformed ZAP requests get an answer; the
 * handler never blocks (SIGALRM kills a test that hangs).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "net_keys.h"

#define DEADLINE_S	20	/* generous: waits end on conditions */

static char dir[64];
static char err[512];
static int saved_stderr = -1;	/* while a test's stderr goes to dir/log */

/* dir/name with content and mode; the path (static buffer of 4) */
static const char *put(const char *name, const char *content, mode_t mode)
{
	static char paths[4][128];
	static int next;
	char *p = paths[next++ % 4];
	int fd;

	snprintf(p, 128, "%s/%s", dir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)),
			 (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return p;
}

static const char *path_of(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ipcfs-netkeys.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	alarm(120);	/* a handler that blocked would hang the test */
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_genkey(void **state)
{
	struct net_key k, l, again;
	struct stat st;
	char line[64];

	(void)state;
	assert_int_equal(net_genkey(path_of("k1"), &k, err, sizeof(err)), 0);
	assert_int_equal(strlen(k.public_z85), NET_KEY_Z85_LEN);
	assert_int_equal(stat(path_of("k1"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(path_of("k1.pub"), &st), 0);
	assert_int_equal(st.st_mode & 0777 & ~0644, 0);
	snprintf(line, sizeof(line), "%s\n", k.public_z85);
	assert_string_equal(slurp(path_of("k1.pub")), line);
	snprintf(line, sizeof(line), "%s\n", k.secret_z85);
	assert_string_equal(slurp(path_of("k1")), line);

	assert_int_equal(net_key_load(path_of("k1"), &l, err, sizeof(err)), 0);
	assert_string_equal(l.public_z85, k.public_z85);
	assert_string_equal(l.secret_z85, k.secret_z85);

	/* never overwritten: the old pair stays */
	assert_int_equal(net_genkey(path_of("k1"), &again, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "never overwritten"));
	assert_int_equal(net_key_load(path_of("k1"), &l, err, sizeof(err)), 0);
	assert_string_equal(l.secret_z85, k.secret_z85);
	/* FILE.pub there already: FILE is not left behind either */
	put("k2.pub", "x\n", 0644);
	assert_int_equal(net_genkey(path_of("k2"), &again, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "k2.pub"));
	assert_int_equal(access(path_of("k2"), F_OK), -1);
	assert_string_equal(slurp(path_of("k2.pub")), "x\n");
}

/* a key file holding text, mode: net_key_load's result, err set */
static int load_text(const char *text, mode_t mode)
{
	struct net_key k;

	err[0] = '\0';
	return net_key_load(put("key", text, mode), &k, err, sizeof(err));
}

static void test_key_refused(void **state)
{
	struct net_key k;
	char good[64], bad[96];

	(void)state;
	assert_int_equal(zmq_curve_keypair(k.public_z85, k.secret_z85), 0);
	snprintf(good, sizeof(good), "%s\n", k.secret_z85);
	assert_int_equal(load_text(good, 0600), 0);
	assert_int_equal(load_text(good, 0400), 0);
	snprintf(good, sizeof(good), "%s\r\n", k.secret_z85);
	assert_int_equal(load_text(good, 0600), 0);
	assert_int_equal(load_text(k.secret_z85, 0600), 0);

	snprintf(good, sizeof(good), "%s\n", k.secret_z85);
	assert_int_equal(load_text(good, 0640), -EPERM);
	assert_non_null(strstr(err, "too open"));
	assert_int_equal(load_text(good, 0604), -EPERM);
	assert_int_equal(load_text(good, 0620), -EPERM);

	assert_int_equal(load_text("", 0600), -EINVAL);
	assert_non_null(strstr(err, "Z85"));
	assert_int_equal(load_text("\n", 0600), -EINVAL);
	snprintf(bad, sizeof(bad), "%.39s\n", k.secret_z85);	/* short */
	assert_int_equal(load_text(bad, 0600), -EINVAL);
	snprintf(bad, sizeof(bad), "%s0\n", k.secret_z85);	/* long */
	assert_int_equal(load_text(bad, 0600), -EINVAL);
	snprintf(bad, sizeof(bad), "%s\n", k.secret_z85);
	bad[7] = '"';					/* not Z85 */
	assert_int_equal(load_text(bad, 0600), -EINVAL);
	/* Z85 characters, but 5 of them overflow 32 bits */
	assert_int_equal(load_text("########################################\n",
				   0600), -EINVAL);
	snprintf(bad, sizeof(bad), "%s\n%s\n", k.secret_z85, k.secret_z85);
	assert_int_equal(load_text(bad, 0600), -EINVAL);	/* two lines */
	snprintf(bad, sizeof(bad), "%.20s%c%s\n", k.secret_z85, '\0',
		 k.secret_z85 + 21);
	assert_int_equal(load_text(bad, 0600), -EINVAL);	/* cut at NUL */

	assert_int_equal(net_key_load(path_of("nothing"), &k, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "nothing"));
	assert_int_equal(net_key_load(dir, &k, err, sizeof(err)), -EINVAL);
}

static void test_trust_ok(void **state)
{
	struct net_key a, b;
	struct net_trust *t;
	char text[512];

	(void)state;
	assert_int_equal(zmq_curve_keypair(a.public_z85, a.secret_z85), 0);
	assert_int_equal(zmq_curve_keypair(b.public_z85, b.secret_z85), 0);
	snprintf(text, sizeof(text),
		 "# the hosts we talk to\n\n"
		 "a %s\n"
		 "   \t\n"
		 "  # indented comment\n"
		 "host-b_2\t %s  \r\n", a.public_z85, b.public_z85);
	assert_int_equal(net_trust_load(put("trust", text, 0644), &t, err,
					sizeof(err)), 0);
	assert_string_equal(net_trust_key(t, "a"), a.public_z85);
	assert_string_equal(net_trust_key(t, "host-b_2"), b.public_z85);
	assert_null(net_trust_key(t, "b"));
	assert_null(net_trust_key(t, ""));
	assert_string_equal(net_trust_name(t, b.public_z85), "host-b_2");
	assert_null(net_trust_name(t, a.secret_z85));
	net_trust_free(t);

	/* an empty file trusts nobody */
	assert_int_equal(net_trust_load(put("trust", "", 0600), &t, err,
					sizeof(err)), 0);
	assert_null(net_trust_key(t, "a"));
	net_trust_free(t);
}

/* a trust file of text: load's result; on failure err holds want */
static void trust_refused(const char *text, mode_t mode, int ret,
			  const char *want)
{
	struct net_trust *t = (void *)1;
	char where[160];

	err[0] = '\0';
	assert_int_equal(net_trust_load(put("trust", text, mode), &t, err,
					sizeof(err)), ret);
	assert_null(t);
	snprintf(where, sizeof(where), "%s/trust%s", dir, want);
	if (!strstr(err, where))
		fail_msg("error '%s' does not hold '%s'", err, where);
}

static void test_trust_refused(void **state)
{
	char k1[48], k2[48], text[512];
	struct net_key a, b;

	(void)state;
	assert_int_equal(zmq_curve_keypair(a.public_z85, a.secret_z85), 0);
	assert_int_equal(zmq_curve_keypair(b.public_z85, b.secret_z85), 0);
	snprintf(k1, sizeof(k1), "%s", a.public_z85);
	snprintf(k2, sizeof(k2), "%s", b.public_z85);

	snprintf(text, sizeof(text), "# x\n\nA %s\n", k1);
	trust_refused(text, 0644, -EINVAL, ":3: bad name 'A'");
	snprintf(text, sizeof(text), "%s %s\n",
		 "abcdefghijklmnopqrstuvwxyz0123456", k1);	/* 33 */
	trust_refused(text, 0644, -EINVAL, ":1: bad name");
	snprintf(text, sizeof(text), "a/b %s\n", k1);
	trust_refused(text, 0644, -EINVAL, ":1: bad name");
	trust_refused("a\n", 0644, -EINVAL, ":1: want `NAME Z85KEY`");
	snprintf(text, sizeof(text), "a %s extra\n", k1);
	trust_refused(text, 0644, -EINVAL, ":1: want");
	snprintf(text, sizeof(text), "a %s\nb %.39s\n", k1, k2);
	trust_refused(text, 0644, -EINVAL, ":2: the key of b is not a Z85");
	snprintf(text, sizeof(text), "a %s\nb %s#\n", k1, k2);
	trust_refused(text, 0644, -EINVAL, ":2: the key of b");
	snprintf(text, sizeof(text), "a %s\n\n\na %s\n", k1, k2);
	trust_refused(text, 0644, -EINVAL, ":4: a listed twice (line 1)");
	snprintf(text, sizeof(text), "a %s\nb %s\n", k1, k1);
	trust_refused(text, 0644, -EINVAL, ":2: the key of b is a's too");
	snprintf(text, sizeof(text), "a %s\n", k1);
	trust_refused(text, 0664, -EPERM, ": writable by group or others");
	trust_refused(text, 0646, -EPERM, ": writable");
}

static void test_trust_nul_and_missing(void **state)
{
	struct net_trust *t;
	int fd;

	(void)state;
	fd = open(path_of("trust0"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "# ok\na\0b x\n", 11), 11);
	close(fd);
	assert_int_equal(net_trust_load(path_of("trust0"), &t, err,
					sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "trust0:2: a NUL byte"));
	assert_int_equal(net_trust_load(path_of("none"), &t, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "none"));
	/* a FIFO or a directory: refused, never waited on */
	assert_int_equal(mkfifo(path_of("fifo"), 0600), 0);
	assert_int_equal(net_trust_load(path_of("fifo"), &t, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(net_trust_load(dir, &t, err, sizeof(err)), -EINVAL);
	{
		struct net_key k;

		assert_int_equal(net_key_load(path_of("fifo"), &k, err,
					      sizeof(err)), -EINVAL);
	}
}


/* --- a CURVE server with the ZAP handler, and clients */

struct net_rig {
	void *ctx, *server;
	struct net_key skey, good, bad;
	struct net_trust *trust;
	struct net_zap *zap;
	char endpoint[64];
	int from_good, from_others;
};

/* stderr into dir/log, to read the refusal lines back */
static void log_start(void)
{
	int fd = open(path_of("log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

/* also a test's teardown: a failed check jumps past rig_close */
static int log_stop(void **state)
{
	(void)state;
	if (saved_stderr < 0)
		return 0;
	fflush(stderr);
	if (dup2(saved_stderr, 2) != 2)
		return -1;
	close(saved_stderr);
	saved_stderr = -1;
	return 0;
}

static void rig_open(struct net_rig *r, bool server)
{
	char text[128];
	size_t len;

	memset(r, 0, sizeof(*r));
	assert_int_equal(zmq_curve_keypair(r->skey.public_z85,
					   r->skey.secret_z85), 0);
	assert_int_equal(zmq_curve_keypair(r->good.public_z85,
					   r->good.secret_z85), 0);
	assert_int_equal(zmq_curve_keypair(r->bad.public_z85,
					   r->bad.secret_z85), 0);
	snprintf(text, sizeof(text), "good %s\n", r->good.public_z85);
	assert_int_equal(net_trust_load(put("trust", text, 0644), &r->trust,
					err, sizeof(err)), 0);
	log_start();
	r->ctx = zmq_ctx_new();
	assert_non_null(r->ctx);
	assert_int_equal(net_zap_open(r->ctx, r->trust, &r->zap), 0);
	/* one handler per context */
	{
		struct net_zap *z2;

		assert_int_equal(net_zap_open(r->ctx, r->trust, &z2),
				 -EADDRINUSE);
		assert_null(z2);
	}
	if (!server)
		return;
	r->server = zmq_socket(r->ctx, ZMQ_ROUTER);
	assert_non_null(r->server);
	assert_int_equal(net_curve_server(r->server, &r->skey), 0);
	assert_int_equal(net_zap_watch(r->zap, r->server), 0);
	assert_int_equal(net_zap_watch(r->zap, r->server), -EBUSY);
	assert_int_equal(zmq_bind(r->server, "tcp://127.0.0.1:*"), 0);
	len = sizeof(r->endpoint);
	assert_int_equal(zmq_getsockopt(r->server, ZMQ_LAST_ENDPOINT,
					r->endpoint, &len), 0);
}

static void rig_close(struct net_rig *r)
{
	int zero = 0;

	if (r->server) {
		zmq_setsockopt(r->server, ZMQ_LINGER, &zero, sizeof(zero));
		zmq_close(r->server);
	}
	net_zap_close(r->zap);
	assert_int_equal(zmq_ctx_term(r->ctx), 0);
	net_trust_free(r->trust);
	assert_int_equal(log_stop(NULL), 0);
}

/* a DEALER to the rig's server: CURVE with key k and server key spub
 * (k NULL: no CURVE), with msg queued to go once it is through */
static void *client(struct net_rig *r, const struct net_key *k,
		    const char *spub, const char *msg)
{
	void *s = zmq_socket(r->ctx, ZMQ_DEALER);
	int zero = 0;

	assert_non_null(s);
	assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)), 0);
	if (k)
		assert_int_equal(net_curve_client(s, k, spub), 0);
	assert_int_equal(zmq_connect(s, r->endpoint), 0);
	assert_int_equal(zmq_send(s, msg, strlen(msg), ZMQ_DONTWAIT),
			 (int)strlen(msg));
	return s;
}

/* take what the server has: count the good client's, check its User-Id */
static void server_drain(struct net_rig *r)
{
	zmq_msg_t id, m;
	const char *user;

	for (;;) {
		zmq_msg_init(&id);
		zmq_msg_init(&m);
		if (zmq_msg_recv(&id, r->server, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&id);
			zmq_msg_close(&m);
			return;
		}
		assert_true(zmq_msg_recv(&m, r->server, ZMQ_DONTWAIT) >= 0);
		user = zmq_msg_gets(&m, "User-Id");
		if (user && strcmp(user, "good") == 0 &&
		    zmq_msg_size(&m) >= 9 &&
		    memcmp(zmq_msg_data(&m), "from good", 9) == 0)
			r->from_good++;
		else
			r->from_others++;
		zmq_msg_close(&id);
		zmq_msg_close(&m);
	}
}

static bool log_has(const char *what)
{
	fflush(stderr);
	return strstr(slurp(path_of("log")), what) != NULL;
}

/* serve the ZAP fd and the server as the daemon's loop does, until
 * done(r) or the deadline; false on the deadline */
static bool pump(struct net_rig *r, bool (*done)(struct net_rig *))
{
	time_t end = time(NULL) + DEADLINE_S;
	zmq_pollitem_t it[2] = {
		{ .fd = net_zap_fd(r->zap), .events = ZMQ_POLLIN },
		{ .socket = r->server, .events = ZMQ_POLLIN },
	};

	while (!done(r)) {
		if (time(NULL) > end)
			return false;
		assert_true(zmq_poll(it, r->server ? 2 : 1, 200) >= 0);
		if (it[0].revents & ZMQ_POLLIN)
			net_zap_serve(r->zap);
		if (r->server)
			server_drain(r);
	}
	return true;
}

static bool all_seen(struct net_rig *r)
{
	char line[160];

	snprintf(line, sizeof(line), "refused a peer at 127.0.0.1: key %s "
		 "is not in the trust file", r->bad.public_z85);
	/* the client without CURVE: the server sees the mismatch, or the
	 * client saw it first and hung up on the server's greeting */
	return r->from_good >= 1 && log_has(line) &&
	       (log_has("not CURVE (mechanism mismatch)") ||
		log_has("a handshake on tcp://127.0.0.1:")) &&
	       log_has("(a wrong server key?)");
}

static bool two_from_good(struct net_rig *r)
{
	return r->from_good >= 2;
}

static void test_curve_zap(void **state)
{
	void *good, *untrusted, *plain, *wrongserver;
	struct net_rig r;

	(void)state;
	rig_open(&r, true);
	net_zap_serve(r.zap);	/* nothing pending: returns at once */
	good = client(&r, &r.good, r.skey.public_z85, "from good 1");
	untrusted = client(&r, &r.bad, r.skey.public_z85, "from untrusted");
	plain = client(&r, NULL, NULL, "from plain");
	wrongserver = client(&r, &r.good, r.bad.public_z85, "from wrong");
	if (!pump(&r, all_seen))
		fail_msg("after %d s: %d from good, refused %lu, log:\n%s",
			 DEADLINE_S, r.from_good, net_zap_refused(r.zap),
			 slurp(path_of("log")));
	assert_true(net_zap_refused(r.zap) >= 3);
	/* the trusted key is never in a refusal */
	assert_false(log_has(r.good.public_z85));

	/* and it keeps talking; nobody else got through meanwhile */
	assert_int_equal(zmq_send(good, "from good 2", 11, 0), 11);
	assert_true(pump(&r, two_from_good));
	assert_int_equal(r.from_good, 2);
	assert_int_equal(r.from_others, 0);

	zmq_close(good);
	zmq_close(untrusted);
	zmq_close(plain);
	zmq_close(wrongserver);
	rig_close(&r);
}

/* --- hostile ZAP requests, straight to the handler */

struct zap_answer {
	char reqid[32], code[8], user[40];
	int frames;
};

static struct zap_answer zap_answer;
static void *zap_client;

static bool zap_answered(struct net_rig *r)
{
	char *out[] = { NULL, zap_answer.reqid, zap_answer.code, NULL,
			zap_answer.user };
	size_t size[] = { 0, sizeof(zap_answer.reqid),
			  sizeof(zap_answer.code), 0,
			  sizeof(zap_answer.user) };
	int more = 1, n;
	size_t len = sizeof(more);
	char buf[64];

	(void)r;
	if (zmq_recv(zap_client, buf, sizeof(buf), ZMQ_DONTWAIT) < 0)
		return false;
	for (zap_answer.frames = 1; ; zap_answer.frames++) {
		assert_int_equal(zmq_getsockopt(zap_client, ZMQ_RCVMORE,
						&more, &len), 0);
		if (!more)
			break;
		n = zmq_recv(zap_client, buf, sizeof(buf) - 1, 0);
		assert_true(n >= 0);
		buf[n] = '\0';
		if (zap_answer.frames < 5 && out[zap_answer.frames])
			snprintf(out[zap_answer.frames],
				 size[zap_answer.frames], "%s", buf);
	}
	return true;
}

/* send a request of n frames (lens[i] < 0: strlen) and wait its answer */
static void zap_ask(struct net_rig *r, int n, const char **f, const int *lens)
{
	memset(&zap_answer, 0, sizeof(zap_answer));
	for (int i = 0; i < n; i++) {
		size_t len = lens && lens[i] >= 0 ? (size_t)lens[i] :
			     strlen(f[i]);

		assert_int_equal(zmq_send(zap_client, f[i], len,
					  i < n - 1 ? ZMQ_SNDMORE : 0),
				 (int)len);
	}
	assert_true(pump(r, zap_answered));
	assert_int_equal(zap_answer.frames, 6);
}

static void test_zap_hostile(void **state)
{
	uint8_t key[32], other[32];
	struct net_rig r;
	const char *req[12];
	int lens[12];

	(void)state;
	rig_open(&r, false);
	assert_non_null(zmq_z85_decode(key, r.good.public_z85));
	assert_non_null(zmq_z85_decode(other, r.bad.public_z85));
	zap_client = zmq_socket(r.ctx, ZMQ_REQ);
	assert_non_null(zap_client);
	assert_int_equal(zmq_connect(zap_client, "inproc://zeromq.zap.01"), 0);

	req[0] = "hello";
	zap_ask(&r, 1, req, NULL);
	assert_string_equal(zap_answer.code, "500");

	const char *v2[] = { "2.0", "id0", "ipcfs", "10.0.0.9", "", "CURVE",
			     (char *)key };
	const int keylens[] = { -1, -1, -1, -1, -1, -1, 32 };
	zap_ask(&r, 7, v2, keylens);
	assert_string_equal(zap_answer.code, "500");
	assert_string_equal(zap_answer.reqid, "id0");

	const char *null[] = { "1.0", "id1", "ipcfs", "10.0.0.9", "", "NULL" };
	zap_ask(&r, 6, null, NULL);
	assert_string_equal(zap_answer.code, "400");
	assert_string_equal(zap_answer.reqid, "id1");

	const char *dom[] = { "1.0", "id2", "other", "10.0.0.9", "", "CURVE",
			      (char *)key };
	zap_ask(&r, 7, dom, keylens);
	assert_string_equal(zap_answer.code, "400");

	const int shortkey[] = { -1, -1, -1, -1, -1, -1, 31 };
	const char *sk[] = { "1.0", "id3", "ipcfs", "10.0.0.9", "", "CURVE",
			     (char *)key };
	zap_ask(&r, 7, sk, shortkey);
	assert_string_equal(zap_answer.code, "400");

	/* 12 frames: the extra ones are read and dropped */
	for (int i = 0; i < 12; i++) {
		req[i] = i < 7 ? sk[i] : "extra";
		lens[i] = i == 6 ? 32 : -1;
	}
	req[1] = "id4";
	zap_ask(&r, 12, req, lens);
	assert_string_equal(zap_answer.code, "400");
	assert_string_equal(zap_answer.reqid, "id4");

	const char *untrusted[] = { "1.0", "id5", "ipcfs", "10.0.0.9", "",
				    "CURVE", (char *)other };
	zap_ask(&r, 7, untrusted, keylens);
	assert_string_equal(zap_answer.code, "400");
	assert_true(log_has("refused a peer at 10.0.0.9: key"));

	/* after all that, a trusted key still gets in, named */
	const char *ok[] = { "1.0", "id6", "ipcfs", "10.0.0.9", "", "CURVE",
			     (char *)key };
	zap_ask(&r, 7, ok, keylens);
	assert_string_equal(zap_answer.code, "200");
	assert_string_equal(zap_answer.reqid, "id6");
	assert_string_equal(zap_answer.user, "good");
	assert_int_equal(net_zap_refused(r.zap), 7);
	assert_true(log_has("ZAP domain 'other', want ipcfs"));
	assert_true(log_has("mechanism NULL, want CURVE"));
	assert_true(log_has("malformed CURVE credentials"));
	assert_true(log_has("refused a malformed ZAP request"));

	net_zap_serve(r.zap);	/* nothing pending: returns at once */
	zmq_close(zap_client);
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genkey),
		cmocka_unit_test(test_key_refused),
		cmocka_unit_test(test_trust_ok),
		cmocka_unit_test(test_trust_refused),
		cmocka_unit_test(test_trust_nul_and_missing),
		cmocka_unit_test_teardown(test_curve_zap, log_stop),
		cmocka_unit_test_teardown(test_zap_hostile, log_stop),
	};

	if (!zmq_has("curve")) {
		printf("SKIP: libzmq was built without CURVE\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
