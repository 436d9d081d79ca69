/*
 * mpi_job.h - internal to the mpi transport: mpi_job.c owns this process's
 * MPI (initialised once, finalized at exit) and the two-rank jobs this
 * process manages; mpi.c is the channel on top. See the head of each.
 */
#ifndef IPC_MPI_JOB_H
#define IPC_MPI_JOB_H

#include <stdbool.h>

#include <mpi.h>

struct mpi_job;

/*
 * The job a channel created now belongs to: the one this process made
 * last if no process has joined it yet, else a new one (a thread that
 * answers PMI starts with it). A reference; NULL with errno set.
 */
struct mpi_job *mpi_job_get(void);
void mpi_job_put(struct mpi_job *j);
/* a tag no other channel of the job has */
int mpi_job_tag(struct mpi_job *j);

/* how a channel reaches its other end, once MPI is up here */
struct mpi_route {
	MPI_Comm comm;		/* MPI_COMM_SELF, or the job's world */
	int peer;		/* the rank sends go to and come from */
};

/*
 * MPI in this process, for a channel of job j whose ends are both here
 * (alone: a one-rank job, messages to ourselves) or one here and one in
 * another process (a rank of j, after waiting for the other process to
 * claim the other rank). MPI_Init_thread runs once per process; later
 * calls only check that the route exists. 0 and *r set; -EAGAIN
 * (IPC_DONTWAIT, the peer has not come yet); -EINTR (ipc_stop);
 * -EPIPE (the peer's end closed before it came); -EOPNOTSUPP (this
 * process is already in another job, or a fork of an initialised one).
 * gone_fd: polls POLLHUP once the peer's end is closed everywhere.
 */
int mpi_join(struct mpi_job *j, bool alone, int flags, int gone_fd,
	     struct mpi_route *r);

/* a channel's link sockets, rung when a process claims a rank in j */
void mpi_job_add_bell(struct mpi_job *j, int fd);
void mpi_job_del_bell(struct mpi_job *j, int fd);

#endif
