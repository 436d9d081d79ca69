/*
 * frame.h - how the signal and file transports frame messages, as pure
 * functions over memory, without signals or files. signal.c and file.c
 * are built on them; tests/fuzz drives them with arbitrary input, which
 * the real mechanisms can deliver too (any process of the user may
 * sigqueue() to us or append to the file).
 */
#ifndef IPC_FRAME_H
#define IPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * signal: each signal carries one 64-bit sigval, [tag:8][payload:56].
 * A header has bit 7 of the tag set, a 7-bit sequence tag below it and
 * the message length in the low 32 bits; then ceil(len / 7) data values
 * with the same 7-bit tag carry the bytes, least significant first.
 */
#define IPC_SIG_CHUNK	7		/* payload bytes per data signal */
#define IPC_SIG_HDR	0x80u		/* tag bit of a header */

/* reassembly of one message at a time, in the receiving process */
struct ipc_sig_rx {
	unsigned char *msg;	/* max_msg bytes */
	size_t max_msg;
	size_t want, have;
	unsigned tag;
	bool active;		/* a header came, its data is still coming */
};

/* the header of a message of len bytes under tag (0..127) */
uint64_t ipc_sig_header(unsigned tag, uint32_t len);
/* a data value: n (1..7) bytes of p under tag */
uint64_t ipc_sig_chunk(unsigned tag, const unsigned char *p, size_t n);
/*
 * One received value into r: true when it completes a message (r->want
 * bytes in r->msg; want 0 is the hang-up). A header restarts reassembly,
 * dropping a message its sender gave up; a header longer than max_msg
 * and data of another tag are ignored.
 */
bool ipc_sig_take(struct ipc_sig_rx *r, uint64_t v);

/*
 * file: every send is one record, [u32 length, host order][payload]; a
 * length of 0 is the hang-up. The reader follows the file as it grows.
 */
struct ipc_file_pos {
	unsigned long long off;		/* file offset the reader is at */
	unsigned long long left;	/* payload still due in its record */
	bool eof;			/* met the hang-up */
	bool skip_hangups;		/* local mode: they are outsiders' */
};

/*
 * Read payload from the records at pos->off with rd (pread(2), or a fake
 * one), across records, up to len bytes into buf: a count, 0 when nothing
 * is there yet (pos->eof set if the hang-up came first), -errno when the
 * first read fails, with *pos unchanged.
 */
ssize_t ipc_file_parse(struct ipc_file_pos *pos,
		       ssize_t (*rd)(int fd, void *buf, size_t n, off_t off),
		       int fd, unsigned char *buf, size_t len);

#endif
