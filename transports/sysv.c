/*
 * sysv.c - System V objects with names: see sysv.h. The key is FNV-1a of
 * the marker's name; the name carries 64 random bits, so a clash with
 * someone else's key is rare, and IPC_EXCL turns it into a retry.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "sysv.h"

#define SYSV_TRIES	8

static key_t name_key(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	/* IPC_PRIVATE (0) would make a new object every time */
	return h == (uint32_t)IPC_PRIVATE ? 1 : (key_t)h;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int ipc_sysv_create(struct ipc_sysv *s, const struct ipc_opts *o,
		    const char *what, int (*get)(key_t key, void *arg),
		    void *arg)
{
	struct ipc_chan scratch;
	int fd, id = -EEXIST;

	for (int i = 0; i < SYSV_TRIES && id == -EEXIST; i++) {
		id = ipc_object_path(&scratch, o, what);
		if (id < 0)
			break;
		fd = open(scratch.object, O_WRONLY | O_CREAT | O_EXCL |
			  O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			id = -errno;
			break;
		}
		(void)close(fd);
		s->key = name_key(base_name(scratch.object));
		id = get(s->key, arg);
		if (id < 0)
			(void)unlink(scratch.object);
	}
	if (id >= 0)
		snprintf(s->marker, sizeof(s->marker), "%s", scratch.object);
	else
		s->marker[0] = '\0';
	return id;
}

void ipc_sysv_forget(struct ipc_sysv *s)
{
	if (s->marker[0])
		(void)unlink(s->marker);
	s->marker[0] = '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

void ipc_sysv_remove_stale(const char *path)
{
	key_t key = name_key(base_name(path));
	uid_t me = geteuid();
	int id;

	/* only an object we created: the key could be someone else's now */
	if (ends_with(path, ".sysvmsg")) {
		struct msqid_ds ds;

		id = msgget(key, 0);
		if (id >= 0 && msgctl(id, IPC_STAT, &ds) == 0 &&
		    ds.msg_perm.cuid == me)
			(void)msgctl(id, IPC_RMID, NULL);
	} else if (ends_with(path, ".sysvsem")) {
		struct semid_ds ds;

		id = semget(key, 0, 0);
		if (id >= 0 && semctl(id, 0, IPC_STAT, &ds) == 0 &&
		    ds.sem_perm.cuid == me)
			(void)semctl(id, 0, IPC_RMID);
	} else if (ends_with(path, ".sysvshm")) {
		struct shmid_ds ds;

		id = shmget(key, 0, 0);
		if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 &&
		    ds.shm_perm.cuid == me)
			(void)shmctl(id, IPC_RMID, NULL);
	}
}
