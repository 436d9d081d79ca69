/*
 * loop.c - one epoll loop, in the style of redis' ae.c: the FUSE session
 * fd and the readiness fds of channel ends that have someone waiting,
 * armed one-shot when a waiter met -EAGAIN, so parked requests cost
 * memory, not threads (docs/DESIGN.md, "one thread, one epoll loop").
 *
 * Before it sleeps the loop polls for fs->spin_us (-o spin=US): the next
 * request of a round trip comes a few microseconds after our reply (see
 * docs/DESIGN.md, "spin before sleeping").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

#define FS_MAX_EVENTS		64
#define FS_REQS_PER_TURN	64	/* then let ready channels run */

int fs_loop_init(struct fs *fs, struct fuse_session *se)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = fuse_session_fd(se);

	fs->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (fs->epfd < 0)
		return -errno;
	/* read requests until -EAGAIN, so a burst costs one epoll_wait */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	fs->session_watch.fd = fd;
	ev.data.ptr = &fs->session_watch;
	if (epoll_ctl(fs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void fs_loop_fini(struct fs *fs)
{
	if (fs->epfd >= 0)
		close(fs->epfd);
	fs->epfd = -1;
}

void fs_watch_arm(struct fs_watch *w, int fd, short events)
{
	struct epoll_event ev = { .events = EPOLLONESHOT, .data.ptr = w };
	int epfd = fs_of_chan(w->fc)->epfd;

	if (events & POLLIN)
		ev.events |= EPOLLIN;
	if (events & POLLOUT)
		ev.events |= EPOLLOUT;
	if (w->fd >= 0 && w->fd != fd)
		fs_watch_drop(w);
	if (w->fd == fd) {
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
			w->armed = true;
		return;
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
		w->fd = fd;
		w->armed = true;
	}
}

void fs_watch_drop(struct fs_watch *w)
{
	if (w->fd >= 0)
		(void)epoll_ctl(fs_of_chan(w->fc)->epfd, EPOLL_CTL_DEL, w->fd,
				NULL);
	w->fd = -1;
	w->armed = false;
}

/* answer what the kernel sent; false once the session is over */
static bool serve_requests(struct fuse_session *se, struct fuse_buf *buf)
{
	int res;

	for (int i = 0; i < FS_REQS_PER_TURN; i++) {
		res = fuse_session_receive_buf(se, buf);
		if (res == -EAGAIN || res == -EINTR)
			return true;
		if (res <= 0)
			return false;	/* unmounted (ENODEV) or broken */
		fuse_session_process_buf(se, buf);
		if (fuse_session_exited(se))
			return false;
	}
	return true;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/*
 * epoll_wait, but poll up to fs->spin_us before going to sleep; yield
 * at every turn so that a client sharing our CPU runs first. The signals
 * that end the session are blocked except in here (wake is the mask to
 * wait with): one that came while we served or spun would otherwise
 * leave us asleep with the session already told to exit.
 */
static int wait_events(struct fs *fs, struct epoll_event *ev,
		       const sigset_t *wake)
{
	int64_t deadline;
	int n;

	if (fs->spin_us) {
		deadline = now_ns() + (int64_t)fs->spin_us * 1000;
		do {
			n = epoll_pwait(fs->epfd, ev, FS_MAX_EVENTS, 0, wake);
			if (n)
				return n;
			sched_yield();
		} while (now_ns() < deadline);
	}
	return epoll_pwait(fs->epfd, ev, FS_MAX_EVENTS, -1, wake);
}

int fs_loop_run(struct fs *fs, struct fuse_session *se)
{
	struct epoll_event ev[FS_MAX_EVENTS];
	struct fuse_buf buf = { 0 };
	sigset_t ending, wake;
	bool session_ready;
	int n, ret = 0;

	sigemptyset(&ending);
	sigaddset(&ending, SIGINT);
	sigaddset(&ending, SIGTERM);
	sigaddset(&ending, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &ending, NULL);
	while (!fuse_session_exited(se)) {
		/* what is blocked now (the signal transport blocks its
		 * signals as channels come), less the ending ones */
		pthread_sigmask(SIG_BLOCK, NULL, &wake);
		sigdelset(&wake, SIGINT);
		sigdelset(&wake, SIGTERM);
		sigdelset(&wake, SIGHUP);
		n = wait_events(fs, ev, &wake);
		if (n < 0) {
			if (errno == EINTR)
				continue;	/* a signal: exited() says */
			ret = -errno;
			break;
		}
		/*
		 * Channels first: serving requests may rmdir a directory and
		 * free channels whose events are still in this batch.
		 */
		session_ready = false;
		for (int i = 0; i < n; i++) {
			struct fs_watch *w = ev[i].data.ptr;

			if (w == &fs->session_watch) {
				session_ready = true;
				continue;
			}
			if (w->ready) {
				w->ready(w);
				continue;
			}
			w->armed = false;
			fs_chan_ready(w->fc, w->end);
		}
		if (session_ready && !serve_requests(se, &buf))
			break;
		if (fs->turn_end)
			fs->turn_end(fs);
	}
	free(buf.mem);
	pthread_sigmask(SIG_UNBLOCK, &ending, NULL);
	return ret;
}
