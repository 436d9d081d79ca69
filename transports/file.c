/* file: PLACEHOLDER, not implemented yet */
#include "transport.h"
static int ph_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	(void)ch; (void)o;
	return -ENOSYS;
}
const struct ipc_transport ipc_file = { .name = "file", .create = ph_create };
