/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fdclose.c - closing client fds without waiting for them (fdclose.h) */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "fdclose.h"
#include "fdident.h"
#include "log.h"

/*
 * The queue: a ring of fds under `lock`.  Closer threads are detached and
 * live as long as the process (an fd they are stuck on would keep them
 * anyway); idle ones sleep on `cond`.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t drained;		/* nothing queued, nothing being closed */
	int ring[FD_CLOSE_BACKLOG];
	int head, count;
	int threads, idle, busy;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	.drained = PTHREAD_COND_INITIALIZER };

static void *closer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		int fd;

		while (!q.count) {
			q.idle++;
			pthread_cond_wait(&q.cond, &q.lock);
			q.idle--;
		}
		fd = q.ring[q.head];
		q.head = (q.head + 1) % FD_CLOSE_BACKLOG;
		q.count--;
		q.busy++;
		pthread_mutex_unlock(&q.lock);
		close(fd);	/* may wait for a stopped server: only this thread does */
		pthread_mutex_lock(&q.lock);
		if (!--q.busy && !q.count)
			pthread_cond_broadcast(&q.drained);
	}
	return NULL;
}

/* may closing fd wait for another process?  (id: known already, or NULL) */
static bool may_wait(int fd, const struct fd_ident *id)
{
	struct fd_ident own;

	if (!id) {
		if (fd_ident(fd, &own) != 0)
			return false;
		id = &own;
	}
	/* pipes, sockets, anonymous inodes: no flush; in-memory file systems */
	return !fd_ident_local(id);
}

void fd_close_nowait(int fd, const struct fd_ident *id)
{
	bool queued = false;
	pthread_t t;

	if (fd < 0)
		return;
	if (!may_wait(fd, id)) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&q.lock);
	if (q.count < FD_CLOSE_BACKLOG) {
		q.ring[(q.head + q.count) % FD_CLOSE_BACKLOG] = fd;
		q.count++;
		queued = true;
		if (q.idle)
			pthread_cond_signal(&q.cond);
		else if (q.threads < FD_CLOSERS && pthread_create(&t, NULL, closer, NULL) == 0) {
			pthread_detach(t);
			q.threads++;
		}
	}
	pthread_mutex_unlock(&q.lock);
	if (!queued) {
		ulog_rl(LOG_WARNING, "%d client fds wait to be closed (their file systems do not "
			"answer): closing one in this thread", FD_CLOSE_BACKLOG);
		close(fd);
	}
}

int fd_close_pending(void)
{
	int n;

	pthread_mutex_lock(&q.lock);
	n = q.count;
	pthread_mutex_unlock(&q.lock);
	return n;
}

int fd_close_drain(int timeout_ms)
{
	struct timespec until;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q.lock);
	while ((q.count || q.busy) && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&q.drained, &q.lock, &until);
	err = q.count || q.busy ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&q.lock);
	return err;
}
