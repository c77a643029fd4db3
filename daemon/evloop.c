/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * evloop.c - the epoll event loop (see evloop.h).
 *
 * Each source is epoll's data.ptr; the stop eventfd's is NULL.  A removed
 * source leaves epoll and the fd index at once and waits on the dead list
 * until the end of the round: epoll_wait may already have returned it in
 * the batch being dispatched, and `dead` (read under the lock) tells the
 * dispatcher to skip it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "evloop.h"
#include "list.h"

#define BATCH 64

struct ev_source {
	struct list link;		/* evloop::sources, then evloop::dead; under lock */
	struct evloop *loop;
	int fd;
	bool timer;			/* fd is our timerfd: closed when freed */
	bool dead;			/* removed; under loop->lock */
	evloop_cb cb;
	void *ctx;
	evloop_release release;
};

struct evloop {
	int epfd;
	int stop_fd;			/* eventfd: wakes epoll_wait for evloop_stop */
	atomic_bool stopped;
	pthread_mutex_t lock;		/* the lists, byfd, every source's dead flag */
	struct list sources;		/* live ones */
	struct list dead;		/* removed, freed at the end of the round */
	struct ev_source **byfd;	/* live source per fd number */
	int nbyfd;
};

int evloop_new(struct evloop **out)
{
	struct evloop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int err;

	if (!l)
		return -ENOMEM;
	list_init(&l->sources);
	list_init(&l->dead);
	atomic_init(&l->stopped, false);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stop_fd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
		err = -errno;
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->stop_fd >= 0)
			close(l->stop_fd);
		free(l);
		return err;
	}
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return 0;
}

static void source_free(struct ev_source *s)
{
	if (s->timer)
		close(s->fd);
	if (s->release)
		s->release(s->ctx);
	free(s);
}

/* free the dead sources, release functions without the lock */
static void free_dead(struct evloop *l)
{
	struct list dead;

	list_init(&dead);
	pthread_mutex_lock(&l->lock);
	if (!list_empty(&l->dead)) {	/* move the whole list */
		dead = l->dead;
		dead.next->prev = &dead;
		dead.prev->next = &dead;
		list_init(&l->dead);
	}
	pthread_mutex_unlock(&l->lock);
	list_for_each(pos, &dead)
		source_free(container_of(pos, struct ev_source, link));
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	list_for_each(pos, &l->sources) {
		struct ev_source *s = container_of(pos, struct ev_source, link);

		s->dead = true;
		list_del(&s->link);
		list_add_tail(&l->dead, &s->link);
	}
	pthread_mutex_unlock(&l->lock);
	free_dead(l);
	close(l->epfd);
	close(l->stop_fd);
	pthread_mutex_destroy(&l->lock);
	free(l->byfd);
	free(l);
}

/* make room for fd in the index; under the lock */
static int byfd_grow(struct evloop *l, int fd)
{
	struct ev_source **nb;
	int n;

	if (fd < l->nbyfd)
		return 0;
	n = fd < 32 ? 64 : fd * 2;
	nb = realloc(l->byfd, (size_t)n * sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	memset(nb + l->nbyfd, 0, (size_t)(n - l->nbyfd) * sizeof(*nb));
	l->byfd = nb;
	l->nbyfd = n;
	return 0;
}

static int add_source(struct evloop *l, int fd, uint32_t events, bool timer, evloop_cb cb,
		      void *ctx, evloop_release release, struct ev_source **out)
{
	struct epoll_event ev = { .events = events };
	struct ev_source *s;
	int err;

	if (!l || !cb)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct ev_source){ .loop = l, .fd = fd, .timer = timer, .cb = cb, .ctx = ctx,
				 .release = release };
	ev.data.ptr = s;
	pthread_mutex_lock(&l->lock);
	err = byfd_grow(l, fd);
	if (!err && l->byfd[fd])
		err = -EEXIST;
	if (!err && epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		err = -errno;
	if (!err) {
		l->byfd[fd] = s;
		list_add_tail(&l->sources, &s->link);
		if (out)
			*out = s;
	}
	pthread_mutex_unlock(&l->lock);
	if (err)
		free(s);
	return err;
}

int evloop_add_fd(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *ctx,
		  evloop_release release, struct ev_source **out)
{
	return add_source(l, fd, events, false, cb, ctx, release, out);
}

int evloop_add_timer(struct evloop *l, evloop_cb cb, void *ctx, evloop_release release,
		     struct ev_source **out)
{
	int fd, err;

	if (!l || !cb)
		return -EINVAL;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = add_source(l, fd, EPOLLIN, true, cb, ctx, release, out);
	if (err)
		close(fd);
	return err;
}

int evloop_modify(struct ev_source *s, uint32_t events)
{
	struct evloop *l = s->loop;
	struct epoll_event ev = { .events = events, .data.ptr = s };
	int err = 0;

	pthread_mutex_lock(&l->lock);
	if (s->dead)
		err = -ENOENT;
	else if (s->timer)
		err = -EINVAL;
	else if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		err = -errno;
	pthread_mutex_unlock(&l->lock);
	return err;
}

int evloop_timer_set(struct ev_source *s, uint64_t first_ms, uint64_t interval_ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(first_ms / 1000),
			      .tv_nsec = (long)(first_ms % 1000) * 1000000 },
		.it_interval = { .tv_sec = (time_t)(interval_ms / 1000),
				 .tv_nsec = (long)(interval_ms % 1000) * 1000000 },
	};

	if (!s->timer)
		return -EINVAL;
	/* the fd is open until the source is freed, by the dispatching thread */
	return timerfd_settime(s->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static void remove_locked(struct ev_source *s)
{
	struct evloop *l = s->loop;

	if (s->dead)
		return;
	/* fails if the owner closed the fd already: epoll dropped it then */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	if (s->fd < l->nbyfd && l->byfd[s->fd] == s)
		l->byfd[s->fd] = NULL;
	s->dead = true;
	list_del(&s->link);
	list_add_tail(&l->dead, &s->link);
}

void evloop_remove(struct ev_source *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->loop->lock);
	remove_locked(s);
	pthread_mutex_unlock(&s->loop->lock);
}

int evloop_remove_fd(struct evloop *l, int fd)
{
	int err = -ENOENT;

	pthread_mutex_lock(&l->lock);
	if (fd >= 0 && fd < l->nbyfd && l->byfd[fd]) {
		remove_locked(l->byfd[fd]);
		err = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return err;
}

static bool is_dead(struct ev_source *s)
{
	bool dead;

	pthread_mutex_lock(&s->loop->lock);
	dead = s->dead;
	pthread_mutex_unlock(&s->loop->lock);
	return dead;
}

int evloop_dispatch(struct evloop *l, int timeout_ms)
{
	struct epoll_event evs[BATCH];
	int n = epoll_wait(l->epfd, evs, BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct ev_source *s = evs[i].data.ptr;
		uint64_t expiries;

		if (!s || is_dead(s))	/* the stop eventfd: run() looks at `stopped` */
			continue;
		/* nothing to read: re-armed since it expired */
		if (s->timer && read(s->fd, &expiries, sizeof(expiries)) != sizeof(expiries))
			continue;
		s->cb(s, s->fd, evs[i].events, s->ctx);
	}
	free_dead(l);
	return n;
}

int evloop_run(struct evloop *l)
{
	while (!atomic_load(&l->stopped)) {
		int r = evloop_dispatch(l, -1);

		if (r < 0)
			return r;
	}
	return 0;
}

void evloop_rearm(struct evloop *l)
{
	uint64_t v;

	/* the stop's wake-up is consumed: the next run waits again */
	while (read(l->stop_fd, &v, sizeof(v)) == sizeof(v))
		;
	atomic_store(&l->stopped, false);
}

void evloop_stop(struct evloop *l)
{
	uint64_t one = 1;

	atomic_store(&l->stopped, true);
	/* cannot fail but for a counter at its maximum: readable then anyway */
	if (write(l->stop_fd, &one, sizeof(one)) < 0)
		return;
}
