/*
 * fuzz_file.c - the file transport's record parser, ipc_file_parse()
 * (transports/frame.h), over a file in memory that grows while it is
 * read, the way the writer appends to the real one. Anyone who can
 * write the file (the user's other processes) can put anything in it.
 *
 * Byte 0 picks the mode, byte 1 the length of the control script that
 * follows; the rest is the file. Mode 0: the file is taken as it is.
 * Mode 1: the rest is a list of messages ([u8 length][bytes]) written
 * as records the way file_send() does, then the hang-up. The script
 * says, step by step, how much more of the file becomes visible, how
 * many bytes the reader asks for, and whether the read fails (EIO).
 *
 * Checks, against a model reading the whole file in one go: what the
 * reader gets, concatenated, is always a prefix of what the model gets
 * and, once the file is all visible and read to the end, all of it; the
 * hang-up is seen exactly when the model sees it; a call never returns
 * more than asked, never reads past the visible end, never moves back,
 * and a failed call leaves the position as it was.
 */
#include <errno.h>
#include <stdbool.h>

#include "frame.h"
#include "fuzz.h"

#define MAX_FILE	(1u << 16)

static const uint8_t *file;	/* the contents, of which vis are visible */
static size_t file_len, vis;
static unsigned fail_in;	/* the fail_in-th read fails; 0: none */

static ssize_t fake_pread(int fd, void *buf, size_t n, off_t off)
{
	(void)fd;
	FUZZ_CHECK(off >= 0, "read at %lld", (long long)off);
	if (fail_in && --fail_in == 0) {
		errno = EIO;
		return -1;
	}
	if ((size_t)off >= vis)
		return 0;
	if (n > vis - (size_t)off)
		n = vis - (size_t)off;
	memcpy(buf, file + off, n);	/* buf of n bytes: ASan checks it */
	return (ssize_t)n;
}

/* every payload byte of the file, in order; *eof if a hang-up ends it */
static size_t model(uint8_t *out, bool *eof)
{
	size_t off = 0, got = 0, n;
	uint32_t hdr;

	*eof = false;
	while (file_len - off >= sizeof(hdr)) {
		memcpy(&hdr, file + off, sizeof(hdr));
		off += sizeof(hdr);
		if (hdr == 0) {
			*eof = true;
			break;
		}
		n = hdr < file_len - off ? hdr : file_len - off;
		memcpy(out + got, file + off, n);
		off += n;
		got += n;
	}
	return got;
}

/* mode 1: records of the messages, then the hang-up */
static size_t encode(struct fuzz_in *in, uint8_t *out)
{
	size_t used = 0;
	uint32_t hdr;

	while (in->left && used + 4 + 255 + 4 <= MAX_FILE) {
		hdr = fuzz_u8(in);
		if (hdr == 0)	/* ipc_send() never sends an empty message */
			hdr = 1;
		memcpy(out + used, &hdr, 4);
		used += 4;
		for (uint32_t i = 0; i < hdr; i++)
			out[used++] = fuzz_u8(in);
	}
	hdr = 0;
	memcpy(out + used, &hdr, 4);
	return used + 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t enc[MAX_FILE], want[MAX_FILE];
	struct fuzz_in in = { data, size }, script;
	struct ipc_file_pos pos = { 0 }, was;
	size_t ngot = 0, nwant, len, step;
	bool want_eof, idle;
	uint8_t *buf;
	ssize_t n;

	uint8_t mode = fuzz_u8(&in);
	size_t nscript = fuzz_u8(&in);

	if (nscript > in.left)
		nscript = in.left;
	script = (struct fuzz_in){ in.p, nscript };
	in.p += nscript;
	in.left -= nscript;
	if (mode & 1) {
		file = enc;
		file_len = encode(&in, enc);
	} else {
		file = in.p;
		file_len = in.left < MAX_FILE ? in.left : MAX_FILE;
	}
	nwant = model(want, &want_eof);
	vis = 0;
	fail_in = 0;
	/* the script, then reads of everything until nothing more comes */
	for (step = 0;; step++) {
		uint8_t c = fuzz_u8(&script);
		bool scripted = step < nscript;

		vis += scripted ? (size_t)(c & 0x3f) * (c & 0x40 ? 61 : 1) : file_len;
		if (vis > file_len)
			vis = file_len;
		len = MAX_FILE;
		if (scripted)
			len = 1 + (size_t)fuzz_u8(&script) % 64 *
				  (c & 0x80 ? 97 : 1);
		/* a failing read: the first one of the call, or a later one */
		fail_in = scripted && (c & 0xc0) == 0xc0 ?
			  1 + fuzz_u8(&script) % 4 : 0;
		buf = malloc(len);	/* exactly len: ASan sees an overrun */
		FUZZ_CHECK(buf, "malloc");
		was = pos;
		n = ipc_file_parse(&pos, fake_pread, -1, buf, len);
		if (n < 0) {
			FUZZ_CHECK(n == -EIO, "%zd", n);
			FUZZ_CHECK(pos.off == was.off && pos.left == was.left &&
				   pos.eof == was.eof, "moved on failure");
		} else {
			FUZZ_CHECK((size_t)n <= len, "%zd of %zu", n, len);
			FUZZ_CHECK(pos.off >= was.off && pos.off <= vis,
				   "at %llu, was %llu, %zu visible",
				   pos.off, was.off, vis);
			FUZZ_CHECK(ngot + (size_t)n <= nwant &&
				   !memcmp(want + ngot, buf, (size_t)n),
				   "bytes %zu..%zu are not the file's payload",
				   ngot, ngot + (size_t)n);
			ngot += (size_t)n;
			FUZZ_CHECK(!pos.eof || (want_eof && ngot == nwant),
				   "hang-up seen after %zu of %zu bytes", ngot,
				   nwant);
		}
		idle = n == 0;
		free(buf);
		fail_in = 0;
		if (pos.eof || (!scripted && idle))
			break;
	}
	FUZZ_CHECK(ngot == nwant, "read %zu of the file's %zu bytes", ngot,
		   nwant);
	FUZZ_CHECK(pos.eof == want_eof, "hang-up %d, the model says %d",
		   pos.eof, want_eof);
	return 0;
}
