/*
 * testlib.h - small helpers shared by the quirk tests (test_zmq.c,
 * test_signal.c, test_file.c): the byte pattern and its checksum, the
 * daemon's non-blocking receive, the forked ping-pong pair, the killed
 * child, the SIGALRM handler and the count of leftover directory entries.
 * Include after <cmocka.h> and "transport.h".
 */
#ifndef IPCFS_TESTLIB_H
#define IPCFS_TESTLIB_H

#include <signal.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* p[i] from seed and i */
void tl_fill(unsigned char *p, size_t len, unsigned seed);
/* running checksum of p, from s */
unsigned long tl_sum(unsigned long s, const unsigned char *p, size_t len);
/* poll the RX fd of ch for up to ms */
int tl_rx_poll(struct ipc_chan *ch, int ms);
/* the daemon's way: IPC_DONTWAIT, and poll the RX fd on -EAGAIN */
ssize_t tl_recv_nowait(struct ipc_chan *ch, void *buf, size_t len);

/*
 * Two channels of transport t, ping (parent -> child) and pong (back);
 * see the comment in testlib.c. rlimit 0: RLIMIT_SIGPENDING left alone.
 */
void tl_fork_pair(const struct ipc_transport *t, const struct ipc_opts *o,
		  size_t size, int rounds, int stream, rlim_t rlimit);
/* the bench's child dies by SIGKILL mid-run; the parent cleans up fast */
void tl_killed_child(const struct ipc_transport *t, const struct ipc_opts *o);

/* SIGALRM handler: counts in tl_alarms and sets ipc_stop */
extern volatile sig_atomic_t tl_alarms;
void tl_on_alarm(int sig);

/* entries of dir whose name starts with prefix ("" for all) */
int tl_count_entries(const char *dir, const char *prefix);

#endif
