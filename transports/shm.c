/*
 * shm: a POSIX shared-memory object (shm_open(3)) holding the byte ring
 * of ring.c: a byte stream like a pipe, power-of-two capacity (64 KiB by
 * default), EOF once the writer hangs up, -EPIPE once the reader is gone.
 * The object is /dev/shm/ipcfs.<pid>.<n>.<token>.shm, mode 0600. A visible channel
 * (the daemon) keeps that name until destroy(), so `ls /dev/shm` shows it;
 * otherwise (the bench) the name goes as soon as the memory is mapped, and
 * even a SIGKILL leaves nothing behind.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>

#include "ring.h"

#define SHM_DIR	"/dev/shm"

int ipc_shm_open_new(struct ipc_chan *ch, const char *what)
{
	char name[64];
	int fd;

	name[0] = '/';
	ipc_unique_name(name + 1, sizeof(name) - 1, what);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	snprintf(ch->object, sizeof(ch->object), SHM_DIR "%s", name);
	return fd;
}

void ipc_shm_remove(const char *object)
{
	(void)shm_unlink(object + sizeof(SHM_DIR) - 1);
}

static int shm_open_ring(struct ipc_chan *ch, const struct ipc_opts *o)
{
	(void)o;
	return ipc_shm_open_new(ch, "shm");
}

static const struct ipc_ring_backing shm_backing = {
	.open   = shm_open_ring,
	.remove = ipc_shm_remove,
};

static int shm_create(struct ipc_chan *ch, const struct ipc_opts *o)
{
	return ipc_ring_create(ch, o, &shm_backing, &ipc_ring_futex);
}

const struct ipc_transport ipc_shm = {
	.name      = "shm",
	.what      = "shm_open(3) memory, SPSC byte ring, futex wake-ups",
	.create    = shm_create,
	IPC_RING_OPS,
};
