/*
 * dbus_bus.h - the private dbus-daemon behind the dbus transport
 * (dbus_bus.c), shared by dbus.c and its quirk test.
 */
#ifndef IPC_DBUS_BUS_H
#define IPC_DBUS_BUS_H

#include <stddef.h>
#include <sys/types.h>

#include "transport.h"

/* what one message of ours carries beyond its payload, at most: header
 * fields (path, interface, member, names, signature) and the array length */
#define IPC_DBUS_HEADER_MAX	256
/* messages of one channel in flight (sent, not yet received) at most */
#define IPC_DBUS_MAX_INFLIGHT	1024
/* channels on one shared bus; the next one starts another bus */
#define IPC_DBUS_BUS_CHANNELS	256
/* connections a shared bus takes beyond its channels' own: outsiders */
#define IPC_DBUS_BUS_OUTSIDERS	64
/* shared buses one process may run: -EMFILE past that many channels */
#define IPC_DBUS_MAX_BUSES	8
/* how long the bus may take to start; to answer all the calls that
 * connect a channel (Hello twice, RequestName, AddMatch twice) */
#define IPC_DBUS_START_MS	5000
#define IPC_DBUS_CALL_MS	2000

struct ipc_dbus_bus;

/*
 * A bus for one channel whose messages are up to max_msg bytes, with up
 * to capacity bytes in flight. Visible channels (o->visible: the daemon)
 * share a bus of this process that has room, else start one; others get
 * a bus of their own, whose socket goes once both ends are connected
 * (ipc_dbus_bus_hide). -ENOENT: no dbus-daemon in PATH; -ETIMEDOUT: it
 * did not listen within IPC_DBUS_START_MS; -EIO: it exited at once;
 * -EMFILE: IPC_DBUS_MAX_BUSES shared buses are full.
 */
int ipc_dbus_bus_get(struct ipc_dbus_bus **busp, const struct ipc_opts *o,
		     size_t max_msg, size_t capacity);
/* one channel less on it; the last one of the starting process stops it */
void ipc_dbus_bus_put(struct ipc_dbus_bus *bus);
/* the bus refused a connection (its connection limit), did not answer
 * or is gone: no more channels on it, and its place goes to another one;
 * it lives on for the channels it has */
void ipc_dbus_bus_retire(struct ipc_dbus_bus *bus);
/* remove the socket path: nobody else may connect any more */
void ipc_dbus_bus_hide(struct ipc_dbus_bus *bus);
/* the address to connect to, as the daemon printed it (with its guid) */
const char *ipc_dbus_bus_address(const struct ipc_dbus_bus *bus);
/* the socket path, and the address an outsider uses: "unix:path=..." */
const char *ipc_dbus_bus_path(const struct ipc_dbus_bus *bus);
const char *ipc_dbus_bus_public(const struct ipc_dbus_bus *bus);

/* for tests: smaller bounds than the defaults above; NULL: the defaults.
 * buses is at most IPC_DBUS_MAX_BUSES */
struct ipc_dbus_limits {
	unsigned channels;	/* IPC_DBUS_BUS_CHANNELS */
	unsigned buses;		/* IPC_DBUS_MAX_BUSES */
	unsigned outsiders;	/* IPC_DBUS_BUS_OUTSIDERS */
	unsigned start_ms;	/* IPC_DBUS_START_MS */
	unsigned long queue;	/* max_outgoing_bytes; 0: see bus_limits() */
};
void ipc_dbus_bus_set_limits(const struct ipc_dbus_limits *l);

#endif
