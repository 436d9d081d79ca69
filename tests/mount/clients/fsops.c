/*
 * fsops.c - do one file-system operation and print "OK" or the errno's
 * name (EPERM, ESPIPE...), so a shell test can assert the exact errno.
 *
 *	fsops create PATH		open(O_CREAT | O_EXCL | O_WRONLY)
 *	fsops mknod PATH		mknod(S_IFIFO)
 *	fsops unlink PATH
 *	fsops rename FROM TO
 *	fsops link FROM TO
 *	fsops symlink TARGET PATH
 *	fsops chmod PATH MODE		(octal)
 *	fsops truncate PATH LEN
 *	fsops ftruncate PATH LEN	(on an O_WRONLY | O_NONBLOCK fd)
 *	fsops write PATH TEXT		(O_WRONLY | O_NONBLOCK, one write)
 *	fsops writeclose PATH TEXT	(O_WRONLY; a byte read from stdin
 *					 first; one write, then close: two
 *					 answers)
 *	fsops mkdir PATH
 *	fsops rmdir PATH
 *	fsops lseek PATH WHENCE		(set, cur, end; O_RDONLY | O_NONBLOCK fd)
 *	fsops pread PATH		(O_RDONLY | O_NONBLOCK fd)
 *	fsops pwrite PATH		(O_WRONLY | O_NONBLOCK fd)
 *	fsops setxattr PATH
 *
 * Exits 0 when it could try the operation (whatever it answered), 2 on a
 * usage error, 1 when the file could not even be opened (printed too).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* strerrorname_np */
#endif
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int answer(long r)
{
	const char *e;

	if (r >= 0) {
		puts("OK");
		return 0;
	}
	e = strerrorname_np(errno);
	puts(e ? e : "E?");
	return 0;
}

static int open_or_say(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		const char *e = strerrorname_np(errno);

		printf("open:%s\n", e ? e : "E?");
		exit(1);
	}
	return fd;
}

static void need(int argc, int n)
{
	if (argc != n)
		errx(2, "wrong number of arguments; see the header of fsops.c");
}

/* operations on a name; -1 if op is not one of them */
static int name_op(const char *op, int argc, char **argv)
{
	if (!strcmp(op, "create")) {
		need(argc, 3);
		return answer(open(argv[2], O_CREAT | O_EXCL | O_WRONLY, 0644));
	}
	if (!strcmp(op, "mknod")) {
		need(argc, 3);
		return answer(mknod(argv[2], S_IFIFO | 0644, 0));
	}
	if (!strcmp(op, "unlink")) {
		need(argc, 3);
		return answer(unlink(argv[2]));
	}
	if (!strcmp(op, "rename")) {
		need(argc, 4);
		return answer(rename(argv[2], argv[3]));
	}
	if (!strcmp(op, "link")) {
		need(argc, 4);
		return answer(link(argv[2], argv[3]));
	}
	if (!strcmp(op, "symlink")) {
		need(argc, 4);
		return answer(symlink(argv[2], argv[3]));
	}
	if (!strcmp(op, "chmod")) {
		need(argc, 4);
		return answer(chmod(argv[2], strtoul(argv[3], NULL, 8)));
	}
	if (!strcmp(op, "truncate")) {
		need(argc, 4);
		return answer(truncate(argv[2], strtol(argv[3], NULL, 0)));
	}
	if (!strcmp(op, "mkdir")) {
		need(argc, 3);
		return answer(mkdir(argv[2], 0755));
	}
	if (!strcmp(op, "rmdir")) {
		need(argc, 3);
		return answer(rmdir(argv[2]));
	}
	if (!strcmp(op, "setxattr")) {
		need(argc, 3);
		return answer(setxattr(argv[2], "user.ipcfs", "x", 1, 0));
	}
	return -1;
}

/* operations on an open file; -1 if op is not one of them */
static int fd_op(const char *op, int argc, char **argv)
{
	char c = 'x';
	int fd;

	if (!strcmp(op, "ftruncate")) {
		need(argc, 4);
		fd = open_or_say(argv[2], O_WRONLY | O_NONBLOCK);
		return answer(ftruncate(fd, strtol(argv[3], NULL, 0)));
	}
	if (!strcmp(op, "write")) {
		need(argc, 4);
		fd = open_or_say(argv[2], O_WRONLY | O_NONBLOCK);
		return answer(write(fd, argv[3], strlen(argv[3])));
	}
	if (!strcmp(op, "writeclose")) {
		need(argc, 4);
		fd = open_or_say(argv[2], O_WRONLY);
		if (read(0, &c, 1) != 1)
			errx(2, "writeclose: nothing on stdin to go on");
		answer(write(fd, argv[3], strlen(argv[3])));
		fflush(stdout);
		return answer(close(fd));
	}
	if (!strcmp(op, "lseek")) {
		int whence = SEEK_SET;

		need(argc, 4);
		if (!strcmp(argv[3], "cur"))
			whence = SEEK_CUR;
		else if (!strcmp(argv[3], "end"))
			whence = SEEK_END;
		fd = open_or_say(argv[2], O_RDONLY | O_NONBLOCK);
		return answer(lseek(fd, 0, whence));
	}
	if (!strcmp(op, "pread")) {
		need(argc, 3);
		fd = open_or_say(argv[2], O_RDONLY | O_NONBLOCK);
		return answer(pread(fd, &c, 1, 0));
	}
	if (!strcmp(op, "pwrite")) {
		need(argc, 3);
		fd = open_or_say(argv[2], O_WRONLY | O_NONBLOCK);
		return answer(pwrite(fd, &c, 1, 0));
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	int r;

	if (argc < 3)
		errx(2, "usage: fsops OP PATH [ARG]");
	r = name_op(op, argc, argv);
	if (r < 0)
		r = fd_op(op, argc, argv);
	if (r < 0)
		errx(2, "%s: not an operation; see the header of fsops.c", op);
	return r;
}
