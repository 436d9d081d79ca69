/*
 * test_tcp.c - the tcp transport's quirk: its pair is made through a
 * listener on a loopback port, which anyone may connect to while it is
 * up. A stranger that connects first must not become the channel's
 * source. connect() is interposed here to be that stranger, exactly
 * between our listen() and our own connect().
 */
#include <dlfcn.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"

static int stranger = -1;
static bool arm;

int connect(int fd, const struct sockaddr *sa, socklen_t len);

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);

	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))
			dlsym(RTLD_NEXT, "connect");
	if (arm && sa->sa_family == AF_INET) {
		arm = false;
		stranger = socket(AF_INET, SOCK_STREAM, 0);
		if (stranger >= 0 && real(stranger, sa, len) == 0)
			(void)write(stranger, "evil", 4);
	}
	return real(fd, sa, len);
}

/* wait up to 5 s for fd to poll readable */
static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 5000) == 1;
}

static void test_stranger_first(void **state)
{
	struct ipc_opts o = { .local = true };
	struct ipc_chan ch;
	char buf[16];
	ssize_t n;

	(void)state;
	arm = true;
	assert_int_equal(ipc_chan_open(&ch, ipc_transport_find("tcp"), &o), 0);
	assert_false(arm);
	assert_true(stranger >= 0);
	/* our bytes arrive, the stranger's never do */
	assert_int_equal(ipc_send(&ch, "ours", 4, 0), 4);
	assert_true(readable(ch.fd[IPC_RX]));
	n = ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ours", 4);
	assert_int_equal(ipc_recv(&ch, buf, sizeof(buf), IPC_DONTWAIT), -EAGAIN);
	/* and its connection was closed: end of stream (or a reset) */
	assert_true(readable(stranger));
	assert_true(read(stranger, buf, sizeof(buf)) <= 0);
	close(stranger);
	ipc_chan_close(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stranger_first),
	};

	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
