/*
 * sysv.h - System V objects (message queues, semaphore sets, shared
 * memory segments) named like every other ipcfs object, so that a later
 * ipcfs can remove what a killed one left: the kernel keeps a queue or a
 * semaphore set until someone removes it. The key is a hash of a marker
 * file's name, <runtime dir>/ipcfs.<pid>.<n>.<token>.<what>, and the
 * marker lives exactly as long as the object.
 */
#ifndef IPC_SYSV_H
#define IPC_SYSV_H

#include <sys/ipc.h>

#include "transport.h"

struct ipc_sysv {
	char marker[IPC_OBJECT_MAX];	/* empty when there is none */
	key_t key;
};

/*
 * Make the marker for `what` ("sysvmsg", "sysvsem", "sysvshm"), then the
 * object with get(key, arg), which must create it exclusively (IPC_CREAT
 * | IPC_EXCL) and return its id or -errno. A key someone else holds
 * (-EEXIST) is retried under a new name. The id, or -errno with nothing
 * left behind.
 */
int ipc_sysv_create(struct ipc_sysv *s, const struct ipc_opts *o,
		    const char *what, int (*get)(key_t key, void *arg),
		    void *arg);
/* remove the marker (the caller removes the object: IPC_RMID) */
void ipc_sysv_forget(struct ipc_sysv *s);
/*
 * The sweep: if path is a System V marker, remove its object when it is
 * still ours (creator uid); the caller unlinks the marker.
 */
void ipc_sysv_remove_stale(const char *path);

#endif
