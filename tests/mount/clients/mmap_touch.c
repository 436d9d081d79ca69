/*
 * mmap_touch.c - map FILE MAP_PRIVATE and read its first page, as a
 * curious tool might; prints the first byte, or "SIGBUS" if the kernel
 * refused the page. Either is fine: what matters is that the channel
 * behind FILE loses nothing (the test reads it afterwards).
 *
 *   mmap_touch FILE
 */
#include <err.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf bus;

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus, 1);
}

int main(int argc, char **argv)
{
	volatile const char *p;
	int fd;

	if (argc != 2)
		errx(2, "usage: mmap_touch FILE");
	fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		err(1, "open %s", argv[1]);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		printf("mmap refused\n");
		return 0;
	}
	signal(SIGBUS, on_bus);
	if (sigsetjmp(bus, 1))
		printf("SIGBUS\n");
	else
		printf("first byte %d\n", p[0]);
	return 0;
}
