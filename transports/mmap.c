/*
 * mmap: a regular file in the private runtime directory, mapped
 * MAP_SHARED, holding the byte ring of ring.c: the same semantics as shm
 * (byte stream, power-of-two capacity, 64 KiB by default, EOF after the
 * writer's hang-up, -EPIPE once the reader is gone), only the memory comes
 * from a file: <runtime dir>/ipcfs.<pid>.<n>.<token>.mmap, mode 0600. A visible
 * channel keeps the path until destroy(); otherwise it is unlinked as soon
 * as the file is mapped.
 */
#include <fcntl.h>
#include <unistd.h>

#include "ring.h"

static int mmap_open_new(struct ipc_chan *ch, const struct ipc_opts *o)
{
	int fd, err;

	err = ipc_object_path(ch, o, "mmap");
	if (err < 0)
		return err;
	fd = open(ch->object, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

static void mmap_remove(const char *object)
{
	(void)unlink(object);
}

static const struct ipc_ring_backing mmap_backing = {
	.open   = mmap_open_new,
	.remove = mmap_remove,
};

static int mmap_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	return ipc_ring_create(ch, o, &mmap_backing, &ipc_ring_futex);
}

const struct ipc_transport ipc_mmap = {
	.name      = "mmap",
	.what      = "runtime-dir file mapped MAP_SHARED, SPSC byte ring",
	.create    = mmap_create,
	IPC_RING_OPS,
};
