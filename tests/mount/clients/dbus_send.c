/*
 * dbus_send.c - an outsider's D-Bus messages: connect to the bus of a
 * dbus channel's object ("unix:path=SOCKET,dest=NAME", as stats shows
 * it) and send each MESSAGE to NAME as org.ipcfs.Channel.Data with one
 * byte array: "" an empty one, "@N" N bytes of garbage, "!TEXT" TEXT on
 * another interface (org.example.Other), "#N" N messages of 100 bytes,
 * anything else its text. In order over one connection; then a call to
 * the bus (5 s at most), answered once the bus has routed them all.
 * Exits 1 if the bus threw us out or did not answer.
 *
 *   dbus_send OBJECT MESSAGE...
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include <dbus/dbus.h>

static void put(DBusConnection *c, const char *dest, const char *iface,
		const unsigned char *p, size_t n)
{
	DBusMessage *m = dbus_message_new_signal("/org/ipcfs/Channel", iface,
						 "Data");

	if (!m || !dbus_message_set_destination(m, dest) ||
	    !dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &p,
				      (int)n, DBUS_TYPE_INVALID) ||
	    !dbus_connection_send(c, m, NULL))
		errx(1, "out of memory");
	dbus_message_unref(m);
}

/* one MESSAGE argument, as above */
static void send_arg(DBusConnection *c, const char *dest, const char *arg)
{
	const char *iface = arg[0] == '!' ? "org.example.Other" :
			    "org.ipcfs.Channel";
	size_t n = strtoul(arg + 1, NULL, 0), count = 1;
	unsigned char *buf;

	if (arg[0] == '#') {
		count = n;
		n = 100;
	} else if (arg[0] != '@') {
		n = strlen(arg + (arg[0] == '!'));
	}
	buf = calloc(1, n + 1);
	if (!buf)
		err(1, "calloc");
	for (size_t k = 0; k < n; k++)
		buf[k] = arg[0] == '@' || arg[0] == '#' ?
			 (unsigned char)(k * 131 + 7) :
			 (unsigned char)arg[k + (arg[0] == '!')];
	while (count--)
		put(c, dest, iface, buf, n);
	free(buf);
}

int main(int argc, char **argv)
{
	const char *dest = argc > 1 ? strstr(argv[1], ",dest=") : NULL;
	DBusMessage *m, *r;
	DBusConnection *c;
	DBusError e;

	if (argc < 3 || !dest)
		errx(2, "usage: dbus_send unix:path=SOCK,dest=NAME MESSAGE...");
	dbus_error_init(&e);
	/* libdbus ignores the dest= key of the address */
	c = dbus_connection_open_private(argv[1], &e);
	if (!c || !dbus_bus_register(c, &e))
		errx(1, "%s: %s", argv[1], e.message);
	for (int i = 2; i < argc; i++)
		send_arg(c, dest + 6, argv[i]);
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS, "GetId");
	r = m ? dbus_connection_send_with_reply_and_block(c, m, 5000, &e) :
		NULL;
	if (!r)
		errx(1, "no answer from the bus: %s",
		     e.message ? e.message : "out of memory");
	dbus_message_unref(r);
	dbus_message_unref(m);
	dbus_connection_close(c);
	dbus_connection_unref(c);
	return 0;
}
