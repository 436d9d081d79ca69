/* sock.h - socket set-up shared by the socket transports (sock.c) */
#ifndef IPC_SOCK_H
#define IPC_SOCK_H

#include <sys/socket.h>

#include "transport.h"

/*
 * AF_UNIX at the path `where`, or AF_INET port 0 at the IPv4 address
 * `where` (NULL: 127.0.0.1). -ENAMETOOLONG, or -EINVAL for a bad address.
 */
int ipc_sock_addr(struct sockaddr_storage *sa, socklen_t *len, int domain,
		  const char *where);
/* listen at sa, connect fd[TX] to it, accept fd[RX]; sa gets the bound
 * address; not duplex: RX's sending half shut */
int ipc_sock_stream_pair(int domain, struct sockaddr_storage *sa,
			 socklen_t *len, int fd[2], int *listener, bool duplex);
/* connect fd[RX] to fd[TX]'s address: the kernel drops others' data */
int ipc_sock_connect_peer(int fd[2]);
/* SO_SNDBUF or SO_RCVBUF (opt) of fd set to want (> 0; through the
 * privileged force, else capped by the kernel), then what the kernel
 * reports, twice what it charges messages against; or -errno */
long ipc_sock_buffer(int fd, int opt, int force, int want);
/* stream sockets' hang-up: a duplex side's shutdown(fd[TX], SHUT_WR) */
void ipc_sock_hangup(struct ipc_chan *ch);
/* a Unix datagram pair, RX bound to ch->object, a fresh name for `what`
 * in the runtime dir (removed again on failure); connected both ways in
 * duplex mode */
int ipc_sock_named_dgram(struct ipc_chan *ch, const struct ipc_opts *o,
			 const char *what);
/* bind fd[RX] at sa, connect fd[TX] to it */
int ipc_sock_dgram_pair(int domain, struct sockaddr_storage *sa,
			socklen_t *len, int fd[2]);
void ipc_sock_stats(const struct ipc_chan *ch, struct ipc_chan_stats *st);
/* "<scheme>ADDR:PORT" of a bound AF_INET address, for ch->object */
void ipc_sock_inet_name(const struct sockaddr_storage *sa, const char *scheme,
			char *buf, size_t size);



ssize_t ipc_dgram_send(struct ipc_chan *ch, const void *buf, size_t len,
		       int flags);
ssize_t ipc_dgram_recv(struct ipc_chan *ch, void *buf, size_t len, int flags);
void ipc_dgram_hangup(struct ipc_chan *ch);
int ipc_dgram_size_buffers(struct ipc_chan *ch, size_t max_msg);
#endif
