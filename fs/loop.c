/*
 * loop.c - one epoll loop, in the style of redis' ae.c: the FUSE session
 * fd and the readiness fds of channel ends that have someone waiting.
 * Channel fds are armed one-shot when a waiter met -EAGAIN, so a channel
 * with unread data and no reader costs nothing, and thousands of parked
 * requests cost memory, not threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fs.h"

#define FS_MAX_EVENTS		64
#define FS_REQS_PER_TURN	64	/* then let ready channels run */

static int epfd = -1;
static struct fs_watch session_watch = { .fd = -1 };

int fs_loop_init(struct fuse_session *se)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = fuse_session_fd(se);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	/* read requests until -EAGAIN, so a burst costs one epoll_wait */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	session_watch.fd = fd;
	ev.data.ptr = &session_watch;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void fs_loop_fini(void)
{
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
}

void fs_watch_arm(struct fs_watch *w, int fd, short events)
{
	struct epoll_event ev = { .events = EPOLLONESHOT, .data.ptr = w };

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
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
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

int fs_loop_run(struct fuse_session *se)
{
	struct epoll_event ev[FS_MAX_EVENTS];
	struct fuse_buf buf = { 0 };
	bool session_ready;
	int n, ret = 0;

	while (!fuse_session_exited(se)) {
		n = epoll_wait(epfd, ev, FS_MAX_EVENTS, -1);
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

			if (w == &session_watch) {
				session_ready = true;
				continue;
			}
			w->armed = false;
			fs_chan_ready(w->fc, w->end);
		}
		if (session_ready && !serve_requests(se, &buf))
			break;
	}
	free(buf.mem);
	return ret;
}
