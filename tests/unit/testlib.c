/*
 * testlib.c - helpers shared by the quirk tests; see testlib.h.
 */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"
#include "testlib.h"

void tl_fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9));
}

unsigned long tl_sum(unsigned long s, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s = s * 31 + p[i];
	return s;
}

int tl_rx_poll(struct ipc_chan *ch, int ms)
{
	short ev;
	int fd = ipc_wait_fd(ch, IPC_RX, &ev);
	struct pollfd pfd = { .fd = fd, .events = ev };

	assert_true(fd >= 0);
	return poll(&pfd, 1, ms);
}

ssize_t tl_recv_nowait(struct ipc_chan *ch, void *buf, size_t len)
{
	ssize_t n;

	while ((n = ipc_recv(ch, buf, len, IPC_DONTWAIT)) == -EAGAIN)
		assert_int_equal(tl_rx_poll(ch, 5000), 1);
	return n;
}

/*
 * Two channels, ping (parent -> child) and pong (child -> parent), with
 * blocking calls, the child's "ready" on pong before the first ping.
 * Ping-pong of `rounds` messages (echoed, checked), then a stream of
 * `stream` messages on ping whose checksum the child sends back. With
 * rlimit, the child (the reader of ping) lowers RLIMIT_SIGPENDING, which
 * is checked against the receiver: the sender meets EAGAIN and waits.
 */
void tl_fork_pair(const struct ipc_transport *t, const struct ipc_opts *o,
		  size_t size, int rounds, int stream, rlim_t rlimit)
{
	struct ipc_chan ping, pong;
	unsigned char *out, *in;
	unsigned long s_out = 0, s_in;
	int status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(ipc_chan_open(&ping, t, o), 0);
	assert_int_equal(ipc_chan_open(&pong, t, o), 0);
	out = malloc(ping.max_msg);
	in = malloc(ping.max_msg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { rlimit, rlimit };
		unsigned long s = 0;

		if (rlimit && setrlimit(RLIMIT_SIGPENDING, &rl) < 0)
			_exit(4);
		ipc_keep_end(&ping, IPC_RX);
		ipc_keep_end(&pong, IPC_TX);
		if (ipc_send(&pong, "ready", 5, 0) != 5)
			_exit(1);
		for (int r = 0; r < rounds; r++) {
			n = ipc_recv(&ping, in, ping.max_msg, 0);
			if (n != (ssize_t)size ||
			    ipc_send(&pong, in, n, 0) != n)
				_exit(2);
		}
		while ((n = ipc_recv(&ping, in, ping.max_msg, 0)) > 0)
			s = tl_sum(s, in, n);
		if (n != 0 || ipc_send(&pong, &s, sizeof(s), 0) != sizeof(s))
			_exit(3);
		ipc_close_end(&pong, IPC_TX);
		ipc_chan_close(&ping);
		ipc_chan_close(&pong);
		_exit(0);
	}
	ipc_keep_end(&ping, IPC_TX);
	ipc_keep_end(&pong, IPC_RX);
	assert_int_equal(ipc_recv(&pong, in, pong.max_msg, 0), 5);
	assert_memory_equal(in, "ready", 5);
	for (int r = 0; r < rounds; r++) {
		tl_fill(out, size, (unsigned)r);
		assert_int_equal(ipc_send(&ping, out, size, 0), size);
		assert_int_equal(ipc_recv(&pong, in, pong.max_msg, 0), size);
		assert_memory_equal(in, out, size);
	}
	for (int m = 0; m < stream; m++) {
		tl_fill(out, size, (unsigned)m + 7);
		s_out = tl_sum(s_out, out, size);
		assert_int_equal(ipc_send(&ping, out, size, 0), size);
	}
	ipc_close_end(&ping, IPC_TX);
	assert_int_equal(ipc_recv(&pong, in, pong.max_msg, 0), sizeof(s_in));
	memcpy(&s_in, in, sizeof(s_in));
	assert_true(s_in == s_out);
	assert_int_equal(ipc_recv(&pong, in, pong.max_msg, 0), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ipc_chan_close(&ping);
	ipc_chan_close(&pong);
	free(out);
	free(in);
}

/*
 * The bench's child dies by SIGKILL mid-run: the parent still gets rid of
 * both channels quickly, and leaves nothing behind.
 */
void tl_killed_child(const struct ipc_transport *t, const struct ipc_opts *o)
{
	unsigned char *in;
	struct ipc_chan ping, pong;
	struct timespec t0, t1;
	int status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(ipc_chan_open(&ping, t, o), 0);
	assert_int_equal(ipc_chan_open(&pong, t, o), 0);
	in = malloc(1 << 20);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipc_keep_end(&ping, IPC_RX);
		ipc_keep_end(&pong, IPC_TX);
		if (ipc_send(&pong, "ready", 5, 0) != 5)
			_exit(1);
		for (;;)
			pause();
	}
	ipc_keep_end(&ping, IPC_TX);
	ipc_keep_end(&pong, IPC_RX);
	n = ipc_recv(&pong, in, 1 << 20, 0);
	assert_true(n > 0);
	assert_int_equal(ipc_send(&ping, "x", 1, 0), 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ipc_close_end(&ping, IPC_TX);
	ipc_chan_close(&ping);
	ipc_chan_close(&pong);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	free(in);
}

volatile sig_atomic_t tl_alarms;

void tl_on_alarm(int sig)
{
	(void)sig;
	tl_alarms++;
	ipc_stop = 1;
}

int tl_count_entries(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}
