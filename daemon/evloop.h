/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * evloop.h - an epoll event loop: fd sources and timers, each with a
 * callback and its context.  The main loop, the region broker and the
 * control socket each run one.
 *
 * Threads.  One thread dispatches (evloop_dispatch / evloop_run); any
 * thread may add and remove sources and call evloop_stop.  The loop's
 * mutex is a leaf lock: callbacks run without it, so a callback may take
 * any lock, and code holding any lock may add or remove sources.
 *
 * Lifetime.  evloop_remove() takes the source out of epoll at once (the
 * fd may be closed as soon as it returns) and frees the source at the end
 * of the dispatch round (or in evloop_free), so a callback may remove any
 * source, itself or another one of the same batch: a removed source's
 * callback is not called again from then on by the dispatching thread.
 * Removed from another thread, its callback may still be running or about
 * to run once in the dispatching thread; the context stays valid until
 * the release function runs, in the dispatching thread at the end of the
 * round (or in evloop_free).  A fd source does not own its fd; a timer
 * owns its timerfd.
 *
 * All functions return 0 or -errno.
 */
#ifndef UACCED_EVLOOP_H
#define UACCED_EVLOOP_H

#include <stdint.h>

struct evloop;
struct ev_source;

/*
 * fd: the source's fd; events: EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR...
 * as epoll reported them (a timer: EPOLLIN once per expiry round).
 */
typedef void (*evloop_cb)(struct ev_source *s, int fd, uint32_t events, void *ctx);
/* the source is freed: the context may go */
typedef void (*evloop_release)(void *ctx);

int evloop_new(struct evloop **out);
/* every source still there is freed (release functions run); NULL is fine */
void evloop_free(struct evloop *l);

/*
 * Watch fd for events (EPOLLIN, EPOLLOUT; level-triggered).  -EEXIST when
 * fd is already watched by this loop.  out: may be NULL.
 */
int evloop_add_fd(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *ctx,
		  evloop_release release, struct ev_source **out);
/* change the events a fd source waits for */
int evloop_modify(struct ev_source *s, uint32_t events);
/*
 * A timer (a timerfd, CLOCK_MONOTONIC), disarmed: see evloop_timer_set.
 */
int evloop_add_timer(struct evloop *l, evloop_cb cb, void *ctx, evloop_release release,
		     struct ev_source **out);
/*
 * First expiry in first_ms (0: disarm), then every interval_ms (0: once).
 * -EINVAL for a fd source.
 */
int evloop_timer_set(struct ev_source *s, uint64_t first_ms, uint64_t interval_ms);

/* remove a source (see Lifetime above); NULL is fine */
void evloop_remove(struct ev_source *s);
/* remove the source watching fd; -ENOENT if there is none */
int evloop_remove_fd(struct evloop *l, int fd);

/*
 * One round: wait up to timeout_ms (-1: no limit) for events, run their
 * callbacks, free the removed sources.  The number of events, 0 on a
 * timeout or a signal, or -errno.
 */
int evloop_dispatch(struct evloop *l, int timeout_ms);
/* dispatch until evloop_stop; 0, or -errno if epoll failed */
int evloop_run(struct evloop *l);
/*
 * Make evloop_run return after the current round, from any thread (even
 * before evloop_run was called: it returns at once), until evloop_rearm.
 */
/* after evloop_stop and the end of evloop_run: the loop may run again */
void evloop_rearm(struct evloop *l);
void evloop_stop(struct evloop *l);

#endif
