/*
 * registry.c - the only list of transports. Adding a mechanism is one new
 * file in this directory plus one line here (and one in meson.build).
 */
#include <stdio.h>
#include <string.h>

#include "transport.h"

extern const struct ipc_transport ipc_pipe, ipc_fifo, ipc_unix,
	ipc_unixdgram, ipc_tcp, ipc_udp, ipc_mqueue, ipc_shm, ipc_mmap,
	ipc_zmq, ipc_signal, ipc_file, ipc_plainmem, ipc_sysvmsg, ipc_cma,
	ipc_netlink, ipc_eventfd, ipc_sysvshm, ipc_uring, ipc_vmsplice,
	ipc_memfd, ipc_mpi, ipc_dbus;

const struct ipc_transport *const ipc_transports[] = {
	&ipc_pipe,
	&ipc_fifo,
	&ipc_unix,
	&ipc_unixdgram,
	&ipc_tcp,
	&ipc_udp,
	&ipc_mqueue,
	&ipc_shm,
	&ipc_mmap,
	&ipc_sysvshm,
	&ipc_eventfd,
#if HAVE_URING
	&ipc_uring,
#endif
#if HAVE_ZMQ
	&ipc_zmq,
#endif
#if HAVE_DBUS
	&ipc_dbus,
#endif
	&ipc_signal,
	&ipc_file,
	&ipc_sysvmsg,
	&ipc_cma,
	&ipc_netlink,
	&ipc_vmsplice,
	&ipc_memfd,
#if HAVE_MPI
	&ipc_mpi,
#endif
	&ipc_plainmem,	/* the bench's control row: last, and not IPC */
	NULL,
};

const struct ipc_transport *ipc_transport_find(const char *name)
{
	const struct ipc_transport *const *t;

	for (t = ipc_transports; *t; t++)
		if (strcmp((*t)->name, name) == 0)
			return *t;
	return NULL;
}

const char *ipc_transport_names(char *buf, size_t size)
{
	const struct ipc_transport *const *t;
	size_t used = 0;
	int n;

	buf[0] = '\0';
	for (t = ipc_transports; *t && used < size; t++) {
		n = snprintf(buf + used, size - used, "%s%s",
			     t == ipc_transports ? "" : ", ", (*t)->name);
		if (n < 0)
			break;
		used += n;
	}
	return buf;
}
