/*
 * net_keys.h - the peering's keys: CURVE key files (-o key=), the trust
 * file (-o trust=), the ZAP handler that lets in exactly the trusted
 * keys, and `ipcfs --genkey`.
 *
 * Key file: one line, the 40-character Z85 secret key; must not be open
 * to group or others (like ssh). Trust file: `NAME Z85KEY` lines (NAME is
 * [a-z0-9_-]{1,32}), blank lines and lines starting with #; no name and
 * no key twice; must not be writable by group or others.
 *
 * The ZAP handler (RFC 27) is a REP socket on inproc://zeromq.zap.01 in
 * the daemon's context, served from the daemon's epoll loop: no thread.
 * libzmq asks it about every CURVE client of every socket of the
 * context; without a handler a CURVE server takes ANY key, so open it
 * before binding. Its answer's user id is the trusted NAME: a message
 * from that peer carries it as metadata (zmq_msg_gets(msg, "User-Id")).
 *
 * Errors: functions return 0 or -errno; those taking err/errlen also
 * leave one line there (no "ipcfs: " prefix, no newline). Refusals are
 * logged on stderr, one line each, at most NET_ZAP_LOG_PER_SEC a second.
 */
#ifndef FS_NET_KEYS_H
#define FS_NET_KEYS_H

#include <stddef.h>

#define NET_KEY_Z85_LEN		40	/* a 32-byte key in Z85 */
#define NET_NAME_MAX		32	/* [a-z0-9_-]{1,32} */
#define NET_ZAP_DOMAIN		"ipcfs"
#define NET_ZAP_LOG_PER_SEC	10

struct net_key {
	char public_z85[NET_KEY_Z85_LEN + 1];
	char secret_z85[NET_KEY_Z85_LEN + 1];
};

/* read a secret key file and derive its public key; -EPERM if the file
 * is open to group/others, -EINVAL if it is not one Z85 key */
int net_key_load(const char *path, struct net_key *k, char *err,
		 size_t errlen);

/* make a fresh key pair: path (secret, 0600) and path.pub (public,
 * 0644), neither overwritten (-EEXIST); the public key in k too */
int net_genkey(const char *path, struct net_key *k, char *err,
	       size_t errlen);

/* is name [a-z0-9_-]{1,32}? */
int net_name_valid(const char *name);

struct net_trust;

/* read a trust file; errors name the file and the line */
int net_trust_load(const char *path, struct net_trust **t, char *err,
		   size_t errlen);
/* the Z85 public key of NAME, or NULL */
const char *net_trust_key(const struct net_trust *t, const char *name);
/* the NAME whose key is public_z85, or NULL */
const char *net_trust_name(const struct net_trust *t, const char *public_z85);
void net_trust_free(struct net_trust *t);

/* make zsock a CURVE server with key k (ZAP domain NET_ZAP_DOMAIN) */
int net_curve_server(void *zsock, const struct net_key *k);
/* make zsock a CURVE client with key k, talking to server_public_z85 */
int net_curve_client(void *zsock, const struct net_key *k,
		     const char *server_public_z85);

struct net_zap;

/* bind the ZAP handler in zctx; t must outlive it */
int net_zap_open(void *zctx, const struct net_trust *t, struct net_zap **out);
/*
 * Also log the handshakes that fail before ZAP is asked on the CURVE
 * server zsock: a peer without CURVE ("mechanism mismatch", or, when
 * the peer saw the mismatch first and hung up, "a handshake failed"
 * with the errno), one using a wrong server key, garbage (a socket
 * monitor; its events come on net_zap_fd too). libzmq tells the local
 * endpoint of these, not the peer's address.
 */
int net_zap_watch(struct net_zap *z, void *zsock);
/*
 * One fd to watch for EPOLLIN (edge- or level-triggered, it is an epoll
 * fd over the sockets' ZMQ_FDs); call net_zap_serve when it fires.
 */
int net_zap_fd(const struct net_zap *z);
/* answer every pending request, log every refusal; never blocks */
void net_zap_serve(struct net_zap *z);
/* keys refused so far, and handshakes failed (net_zap_watch) */
unsigned long net_zap_refused(const struct net_zap *z);
void net_zap_close(struct net_zap *z);

#endif
