/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-evloop.c - unit tests of the event loop (daemon/evloop.c): dispatch
 * of fd sources and timers, removal of a source by its own callback and of
 * another source of the same batch (whose context is freed at once: the
 * ASan build catches a call into it), removal from another thread, stop
 * from another thread, errors.  Links evloop.c only.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "unit-main.h"
#include "evloop.h"

/* a readable pipe with its callback's bookkeeping */
struct src {
	int p[2];
	struct ev_source *s;
	int calls;
	uint32_t events;
	struct src *other;		/* remove (and free) this one when called */
	bool remove_self;
	bool drain;
};

static int releases;
static struct src *freed;		/* the one freed by another's callback */
static int calls;			/* of on_readable, all sources */

static void release_count(void *ctx)
{
	(void)ctx;
	releases++;
}

static void on_readable(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct src *x = ctx;
	char buf[64];

	calls++;
	ck_assert_ptr_eq(s, x->s);
	ck_assert_int_eq(fd, x->p[0]);
	x->calls++;
	x->events = events;
	if (x->drain && read(fd, buf, sizeof(buf)) < 0)
		ck_abort_msg("read: %s", strerror(errno));
	if (x->other) {
		struct src *o = x->other;

		x->other = NULL;
		evloop_remove(o->s);
		/* like a connection freed on the spot: its callback must not run */
		close(o->p[0]);
		close(o->p[1]);
		freed = o;
		free(o);
	}
	if (x->remove_self)
		evloop_remove(s);
}

static struct src *src_new(struct evloop *l, bool readable)
{
	struct src *x = calloc(1, sizeof(*x));

	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(pipe2(x->p, O_CLOEXEC | O_NONBLOCK), 0);
	if (readable)
		ck_assert_int_eq(write(x->p[1], "x", 1), 1);
	ck_assert_int_eq(evloop_add_fd(l, x->p[0], EPOLLIN, on_readable, x, release_count,
				       &x->s), 0);
	return x;
}

static void src_free(struct src *x)
{
	close(x->p[0]);
	close(x->p[1]);
	free(x);
}

START_TEST(test_dispatch)
{
	struct evloop *l;
	struct src *a, *b;

	ck_assert_int_eq(evloop_new(&l), 0);
	a = src_new(l, true);
	b = src_new(l, false);
	a->drain = true;
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(a->calls, 1);
	ck_assert_uint_eq(a->events, EPOLLIN);
	ck_assert_int_eq(b->calls, 0);
	/* drained: nothing left */
	ck_assert_int_eq(evloop_dispatch(l, 20), 0);
	ck_assert_int_eq(a->calls, 1);
	/* EPOLLOUT on the write end, then back to nothing */
	ck_assert_int_eq(write(b->p[1], "yy", 2), 2);
	b->drain = true;
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(b->calls, 1);
	/* a hang-up is reported with EPOLLHUP */
	close(a->p[1]);
	a->p[1] = -1;
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(a->calls, 2);
	ck_assert(a->events & EPOLLHUP);
	ck_assert_int_eq(releases, 0);
	evloop_free(l);
	ck_assert_int_eq(releases, 2);	/* evloop_free releases the live sources */
	src_free(a);
	src_free(b);
}
END_TEST

START_TEST(test_modify)
{
	struct evloop *l;
	struct src *a;

	ck_assert_int_eq(evloop_new(&l), 0);
	a = src_new(l, true);
	ck_assert_int_eq(evloop_modify(a->s, 0), 0);	/* readable, but not asked */
	ck_assert_int_eq(evloop_dispatch(l, 20), 0);
	ck_assert_int_eq(a->calls, 0);
	ck_assert_int_eq(evloop_modify(a->s, EPOLLIN), 0);
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(a->calls, 1);
	evloop_free(l);
	src_free(a);
}
END_TEST

START_TEST(test_remove_self)
{
	struct evloop *l;
	struct src *a;

	ck_assert_int_eq(evloop_new(&l), 0);
	a = src_new(l, true);
	a->remove_self = true;
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(a->calls, 1);
	ck_assert_int_eq(releases, 1);		/* freed at the end of the round */
	/* still readable, but gone: no call, and the fd can be watched again */
	ck_assert_int_eq(evloop_dispatch(l, 20), 0);
	ck_assert_int_eq(a->calls, 1);
	ck_assert_int_eq(evloop_add_fd(l, a->p[0], EPOLLIN, on_readable, a, NULL, &a->s), 0);
	a->remove_self = false;
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(a->calls, 2);
	evloop_free(l);
	ck_assert_int_eq(releases, 1);		/* the second one had no release */
	src_free(a);
}
END_TEST

/*
 * Both readable in one batch; whichever runs first removes the other and
 * frees its context at once.  The other's callback must not run.
 */
START_TEST(test_remove_other_same_batch)
{
	struct evloop *l;
	struct src *a, *b, *alive;

	ck_assert_int_eq(evloop_new(&l), 0);
	a = src_new(l, true);
	b = src_new(l, true);
	a->other = b;
	b->other = a;
	ck_assert_int_eq(evloop_dispatch(l, 1000), 2);	/* both were in the batch */
	ck_assert(freed == a || freed == b);
	alive = freed == a ? b : a;
	ck_assert_int_eq(calls, 1);		/* the freed one was never called */
	ck_assert_int_eq(alive->calls, 1);
	ck_assert_int_eq(releases, 1);
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(alive->calls, 2);
	evloop_free(l);
	ck_assert_int_eq(releases, 2);
	src_free(alive);
}
END_TEST

/* a source removed by fd number, then its fd number watched again */
START_TEST(test_remove_fd)
{
	struct evloop *l;
	struct src *a;

	ck_assert_int_eq(evloop_new(&l), 0);
	a = src_new(l, true);
	ck_assert_int_eq(evloop_remove_fd(l, a->p[0]), 0);
	ck_assert_int_eq(evloop_remove_fd(l, a->p[0]), -ENOENT);
	ck_assert_int_eq(evloop_remove_fd(l, -1), -ENOENT);
	ck_assert_int_eq(evloop_remove_fd(l, 100000), -ENOENT);
	/* removed but not yet freed (no round since): the fd is free again */
	ck_assert_int_eq(releases, 0);
	ck_assert_int_eq(evloop_add_fd(l, a->p[0], EPOLLIN, on_readable, a, NULL, &a->s), 0);
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(releases, 1);
	ck_assert_int_eq(a->calls, 1);
	evloop_free(l);
	src_free(a);
}
END_TEST

/* --- timers -------------------------------------------------------------- */

static int ticks;

static void on_tick(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	(void)fd;
	ck_assert_uint_eq(events, EPOLLIN);
	ck_assert_ptr_eq(ctx, &ticks);
	if (++ticks == 3)
		ck_assert_int_eq(evloop_timer_set(s, 0, 0), 0);	/* disarm */
}

START_TEST(test_timer)
{
	struct evloop *l;
	struct ev_source *t;

	ck_assert_int_eq(evloop_new(&l), 0);
	ck_assert_int_eq(evloop_add_timer(l, on_tick, &ticks, release_count, &t), 0);
	ck_assert_int_eq(evloop_dispatch(l, 30), 0);	/* disarmed when made */
	ck_assert_int_eq(evloop_timer_set(t, 10, 0), 0);	/* once */
	ck_assert_int_eq(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(ticks, 1);
	ck_assert_int_eq(evloop_dispatch(l, 50), 0);
	ck_assert_int_eq(evloop_timer_set(t, 5, 5), 0);	/* periodic, disarmed at 3 */
	while (ticks < 3)
		ck_assert_int_ge(evloop_dispatch(l, 1000), 1);
	ck_assert_int_eq(evloop_dispatch(l, 50), 0);
	ck_assert_int_eq(ticks, 3);
	evloop_remove(t);
	ck_assert_int_eq(releases, 0);
	evloop_free(l);
	ck_assert_int_eq(releases, 1);
}
END_TEST

/* --- threads ----------------------------------------------------------------- */

static void *stopper(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	evloop_stop(arg);
	return NULL;
}

START_TEST(test_stop_from_thread)
{
	struct evloop *l;
	pthread_t t;

	ck_assert_int_eq(evloop_new(&l), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, stopper, l), 0);
	ck_assert_int_eq(evloop_run(l), 0);	/* the test's timeout catches a hang */
	pthread_join(t, NULL);
	ck_assert_int_eq(evloop_run(l), 0);	/* for good */
	evloop_free(l);
}
END_TEST

START_TEST(test_stop_before_run)
{
	struct evloop *l;

	ck_assert_int_eq(evloop_new(&l), 0);
	evloop_stop(l);
	ck_assert_int_eq(evloop_run(l), 0);
	evloop_free(l);
}
END_TEST

/* stop from a callback: run returns after that round */
static void on_stop(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	(void)s, (void)fd, (void)events;
	ticks++;
	evloop_stop(ctx);
}

START_TEST(test_stop_from_callback)
{
	struct evloop *l;
	struct ev_source *t;

	ck_assert_int_eq(evloop_new(&l), 0);
	ck_assert_int_eq(evloop_add_timer(l, on_stop, l, NULL, &t), 0);
	ck_assert_int_eq(evloop_timer_set(t, 1, 1), 0);
	ck_assert_int_eq(evloop_run(l), 0);
	ck_assert_int_eq(ticks, 1);
	evloop_free(l);
}
END_TEST

/*
 * Another thread removes a source that stays readable while the loop
 * dispatches: after the round that frees it, its callback never runs.
 */
struct remover {
	struct evloop *l;
	int fd;
};

static void *remover_thread(void *arg)
{
	struct remover *r = arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	ck_assert_int_eq(evloop_remove_fd(r->l, r->fd), 0);
	return NULL;
}

START_TEST(test_remove_from_thread)
{
	struct remover r;
	struct src *a;
	pthread_t t;
	int n;

	ck_assert_int_eq(evloop_new(&r.l), 0);
	a = src_new(r.l, true);		/* never drained: called every round */
	r.fd = a->p[0];
	ck_assert_int_eq(pthread_create(&t, NULL, remover_thread, &r), 0);
	while (releases == 0)
		ck_assert_int_ge(evloop_dispatch(r.l, 1000), 0);
	pthread_join(t, NULL);
	n = a->calls;
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(evloop_dispatch(r.l, 30), 0);
	ck_assert_int_eq(a->calls, n);
	evloop_free(r.l);
	ck_assert_int_eq(releases, 1);
	src_free(a);
}
END_TEST

/* --- errors -------------------------------------------------------------------- */

static void never(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	(void)s, (void)fd, (void)events, (void)ctx;
	ck_abort_msg("called");
}

START_TEST(test_errors)
{
	struct ev_source *s = NULL, *t;
	struct evloop *l;
	int p[2], f;

	ck_assert_int_eq(evloop_new(&l), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(evloop_add_fd(l, -1, EPOLLIN, never, NULL, NULL, &s), -EBADF);
	ck_assert_int_eq(evloop_add_fd(l, p[0], EPOLLIN, NULL, NULL, NULL, &s), -EINVAL);
	ck_assert_int_eq(evloop_add_fd(NULL, p[0], EPOLLIN, never, NULL, NULL, &s), -EINVAL);
	ck_assert_ptr_null(s);
	/* a closed fd number, and a regular file (epoll cannot watch it) */
	ck_assert_int_eq(evloop_add_fd(l, 999, EPOLLIN, never, NULL, NULL, NULL), -EBADF);
	f = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	if (f < 0)
		f = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(f, 0);
	ck_assert_int_eq(evloop_add_fd(l, f, EPOLLIN, never, NULL, NULL, NULL), -EPERM);
	close(f);
	/* twice the same fd */
	ck_assert_int_eq(evloop_add_fd(l, p[0], EPOLLIN, never, NULL, release_count, &s), 0);
	ck_assert_int_eq(evloop_add_fd(l, p[0], EPOLLOUT, never, NULL, NULL, NULL), -EEXIST);
	/* a fd source is not a timer, a timer's events are its own */
	ck_assert_int_eq(evloop_timer_set(s, 10, 0), -EINVAL);
	ck_assert_int_eq(evloop_add_timer(l, never, NULL, NULL, &t), 0);
	ck_assert_int_eq(evloop_modify(t, EPOLLOUT), -EINVAL);
	ck_assert_int_eq(evloop_add_timer(l, NULL, NULL, NULL, &t), -EINVAL);
	/* nothing failed left anything behind: only s is released */
	ck_assert_int_eq(evloop_dispatch(l, 20), 0);
	evloop_remove(NULL);
	evloop_free(NULL);
	evloop_free(l);
	ck_assert_int_eq(releases, 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("evloop");
	TCase *tc = tcase_create("dispatch");

	tcase_add_test(tc, test_dispatch);
	tcase_add_test(tc, test_modify);
	tcase_add_test(tc, test_timer);
	suite_add_tcase(s, tc);
	tc = tcase_create("removal");
	tcase_add_test(tc, test_remove_self);
	tcase_add_test(tc, test_remove_other_same_batch);
	tcase_add_test(tc, test_remove_fd);
	tcase_add_test(tc, test_remove_from_thread);
	suite_add_tcase(s, tc);
	tc = tcase_create("stop");
	tcase_add_test(tc, test_stop_from_thread);
	tcase_add_test(tc, test_stop_before_run);
	tcase_add_test(tc, test_stop_from_callback);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
