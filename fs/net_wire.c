/*
 * net_wire.c - encode and strictly decode the peering's messages
 * (net_wire.h). Nothing here trusts a length it has not checked against
 * the frame: a hostile peer gets -EPROTO, never a read past the end.
 */
#include <errno.h>
#include <string.h>

#include "net_wire.h"

static const char *const type_names[NET_TYPE_END] = {
	[NET_HELLO] = "HELLO", [NET_PING] = "PING", [NET_PONG] = "PONG",
	[NET_ACK] = "ACK", [NET_LOOKUP] = "LOOKUP", [NET_LIST] = "LIST",
	[NET_OPEN] = "OPEN", [NET_READ] = "READ", [NET_WRITE] = "WRITE",
	[NET_RELEASE] = "RELEASE", [NET_POLL] = "POLL",
	[NET_CANCEL] = "CANCEL", [NET_MKDIR] = "MKDIR", [NET_RMDIR] = "RMDIR",
	[NET_REPLY] = "REPLY", [NET_NOTIFY] = "NOTIFY",
};

const char *net_wire_type_name(unsigned type)
{
	return type && type < NET_TYPE_END ? type_names[type] : "?";
}

int net_wire_is_request(unsigned type)
{
	return type >= NET_LOOKUP && type <= NET_RMDIR && type != NET_CANCEL;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

size_t net_wire_size(const struct net_msg *m)
{
	return NET_WIRE_HDR + m->blob_len;
}

void net_wire_encode(const struct net_msg *m, void *out)
{
	unsigned char *p = out;
	uint32_t err = (uint32_t)m->err;

	p[0] = NET_WIRE_VERSION;
	p[1] = m->type;
	put16(p + 2, m->flags);
	for (int i = 0; i < 4; i++)
		p[4 + i] = err >> (8 * i);
	put64(p + 8, m->seq);
	put64(p + 16, m->ack);
	put64(p + 24, m->handle);
	put64(p + 32, m->arg);
	put64(p + 40, m->off);
	if (m->blob_len)
		memcpy(p + NET_WIRE_HDR, m->blob, m->blob_len);
}

/* one component: [A-Za-z0-9._-]{1,64}, not "." nor ".." */
static int name_ok(const char *s, size_t len)
{
	if (len == 0 || len > NET_NAME_LEN_MAX)
		return 0;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
					  s[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '.' && c != '_' &&
		    c != '-')
			return 0;
	}
	return 1;
}

int net_wire_path_ok(const char *path, size_t len)
{
	const char *slash;

	if (len == 0)
		return 1;
	if (len > NET_PATH_MAX)
		return 0;
	slash = memchr(path, '/', len);
	if (!slash)
		return name_ok(path, len);
	return name_ok(path, (size_t)(slash - path)) &&
	       name_ok(slash + 1, len - (size_t)(slash - path) - 1);
}

/* what each type may carry besides the header */
static int blob_ok(const struct net_msg *m)
{
	switch (m->type) {
	case NET_LOOKUP:
	case NET_LIST:
	case NET_OPEN:
	case NET_MKDIR:
	case NET_RMDIR:
		return net_wire_path_ok(m->blob, m->blob_len);
	case NET_WRITE:
	case NET_REPLY:
		return m->blob_len <= NET_IO_MAX;
	case NET_ACK:
		return m->blob_len % 8 == 0 &&
		       m->blob_len <= 8 * (size_t)NET_ACKS_MAX;
	default:
		return m->blob_len == 0;
	}
}

int net_wire_decode(const void *frame, size_t len, struct net_msg *m)
{
	const unsigned char *p = frame;

	memset(m, 0, sizeof(*m));
	if (len < NET_WIRE_HDR || len > NET_FRAME_MAX ||
	    p[0] != NET_WIRE_VERSION || p[1] == 0 || p[1] >= NET_TYPE_END)
		return -EPROTO;
	m->type = p[1];
	m->flags = get16(p + 2);
	m->err = (int32_t)get32(p + 4);
	m->seq = get64(p + 8);
	m->ack = get64(p + 16);
	m->handle = get64(p + 24);
	m->arg = get64(p + 32);
	m->off = get64(p + 40);
	m->blob = p + NET_WIRE_HDR;
	m->blob_len = len - NET_WIRE_HDR;
	if ((m->flags & ~NET_F_ALL) || !blob_ok(m))
		return -EPROTO;
	/* an errno only in a reply, and a real one */
	if (m->err && (m->type != NET_REPLY || m->err < 0 || m->err > 4095))
		return -EPROTO;
	if (net_wire_is_request(m->type) && m->seq == 0)
		return -EPROTO;
	if (m->type == NET_READ && (m->arg == 0 || m->arg > NET_IO_MAX))
		return -EPROTO;
	if (m->type == NET_CANCEL && m->arg == 0)
		return -EPROTO;
	return 0;
}

void net_wire_attr_encode(const struct net_attr *a, void *out)
{
	unsigned char *p = out;

	memset(p, 0, NET_ATTR_LEN);
	p[0] = a->kind;
	put16(p + 2, a->mode);
	put64(p + 8, a->size);
	put64(p + 16, a->mtime);
}

int net_wire_attr_decode(const void *blob, size_t len, struct net_attr *a)
{
	const unsigned char *p = blob;

	if (len != NET_ATTR_LEN || (p[0] != NET_KIND_DIR &&
				    p[0] != NET_KIND_FILE))
		return -EPROTO;
	a->kind = p[0];
	a->mode = get16(p + 2) & 07777;
	a->size = get64(p + 8);
	a->mtime = get64(p + 16);
	return 0;
}

int net_wire_list_add(char *buf, size_t cap, size_t *used, unsigned kind,
		      const char *name)
{
	size_t len = strlen(name);

	if (len > 255 || *used + 2 + len > cap)
		return -ENOSPC;
	buf[*used] = (char)kind;
	buf[*used + 1] = (char)len;
	memcpy(buf + *used + 2, name, len);
	*used += 2 + len;
	return 0;
}

int net_wire_list_next(struct net_list_walk *w, unsigned *kind, char *name)
{
	size_t len;

	if (!w->left)
		return 0;
	if (w->left < 2)
		return -EPROTO;
	*kind = w->p[0];
	len = w->p[1];
	if ((*kind != NET_KIND_DIR && *kind != NET_KIND_FILE) ||
	    len > w->left - 2 || !name_ok((const char *)w->p + 2, len))
		return -EPROTO;
	memcpy(name, w->p + 2, len);
	name[len] = '\0';
	w->p += 2 + len;
	w->left -= 2 + len;
	return 1;
}
