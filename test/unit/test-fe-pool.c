/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-fe-pool.c - unit tests of the frontend's worker threads
 * (daemon/fe_pool.c): every job runs exactly once, at most FE_POOL_MAX at
 * a time, a long job does not hold up the others, idle threads are reused,
 * a live restart's wait for idle is bounded,
 * fe_pool_wait_tag waits for the jobs of its tag only, and stop waits for
 * the running jobs, runs the queued ones cancelled and refuses new ones.
 *
 * Jobs are held at a gate the test opens, so nothing depends on timing
 * except the bounded waits that detect a hang.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "unit-main.h"
#include "fe_pool.h"

#define WAIT_MS 5000	/* a bound for what must happen, far above the need */

/* what the jobs report; lock */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool gate_open;
	int running, max_running;
	int ran, cancelled;
} st;

struct tjob {
	struct fe_job job;
	bool hold;	/* wait at the gate */
};

static void reset(void)
{
	pthread_mutex_init(&st.lock, NULL);
	pthread_cond_init(&st.cond, NULL);
	st.gate_open = false;
	st.running = st.max_running = st.ran = st.cancelled = 0;
}

static void deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void tjob_run(struct fe_job *job, bool cancelled)
{
	struct tjob *j = (struct tjob *)job;

	pthread_mutex_lock(&st.lock);
	if (cancelled) {
		st.cancelled++;
	} else {
		st.running++;
		if (st.running > st.max_running)
			st.max_running = st.running;
		pthread_cond_broadcast(&st.cond);
		while (j->hold && !st.gate_open)
			pthread_cond_wait(&st.cond, &st.lock);
		st.running--;
		st.ran++;
	}
	pthread_cond_broadcast(&st.cond);
	pthread_mutex_unlock(&st.lock);
	free(j);
}

static int submit(struct fe_pool *p, const void *tag, bool hold)
{
	struct tjob *j = calloc(1, sizeof(*j));
	int err;

	ck_assert_ptr_nonnull(j);
	j->job.tag = tag;
	j->job.run = tjob_run;
	j->hold = hold;
	err = fe_pool_submit(p, &j->job);
	if (err)
		free(j);
	return err;
}

/* wait until *v reaches want (WAIT_MS at most); its last value */
static int wait_for(const int *v, int want)
{
	struct timespec ts;
	int got;

	deadline(&ts, WAIT_MS);
	pthread_mutex_lock(&st.lock);
	while (*v < want && pthread_cond_timedwait(&st.cond, &st.lock, &ts) == 0)
		;
	got = *v;
	pthread_mutex_unlock(&st.lock);
	return got;
}

static void open_gate(void)
{
	pthread_mutex_lock(&st.lock);
	st.gate_open = true;
	pthread_cond_broadcast(&st.cond);
	pthread_mutex_unlock(&st.lock);
}

static int get(const int *v)
{
	int got;

	pthread_mutex_lock(&st.lock);
	got = *v;
	pthread_mutex_unlock(&st.lock);
	return got;
}

static void short_sleep(void)
{
	struct timespec ts = { .tv_nsec = 100 * 1000000L };

	nanosleep(&ts, NULL);
}

static int tag_a, tag_b;

START_TEST(every_job_runs_once)
{
	struct fe_pool p;

	reset();
	fe_pool_init(&p);
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(submit(&p, &tag_a, false), 0);
	ck_assert_int_eq(wait_for(&st.ran, 50), 50);
	fe_pool_stop(&p);
	ck_assert_int_eq(st.ran, 50);
	ck_assert_int_eq(st.cancelled, 0);
	ck_assert_int_le(p.nthreads, FE_POOL_MAX);
	fe_pool_destroy(&p);
}
END_TEST

START_TEST(bounded_and_concurrent)
{
	struct fe_pool p;

	reset();
	fe_pool_init(&p);
	for (int i = 0; i < FE_POOL_MAX + 3; i++)
		ck_assert_int_eq(submit(&p, &tag_a, true), 0);
	/* FE_POOL_MAX held jobs run side by side: one long job blocks no other */
	ck_assert_int_eq(wait_for(&st.running, FE_POOL_MAX), FE_POOL_MAX);
	short_sleep();
	ck_assert_int_eq(get(&st.max_running), FE_POOL_MAX);	/* never more */
	pthread_mutex_lock(&p.lock);
	ck_assert_int_eq(p.nthreads, FE_POOL_MAX);
	pthread_mutex_unlock(&p.lock);
	open_gate();
	ck_assert_int_eq(wait_for(&st.ran, FE_POOL_MAX + 3), FE_POOL_MAX + 3);
	fe_pool_stop(&p);
	fe_pool_destroy(&p);
}
END_TEST

START_TEST(idle_threads_reused)
{
	struct fe_pool p;

	reset();
	fe_pool_init(&p);
	for (int i = 1; i <= 10; i++) {
		ck_assert_int_eq(submit(&p, &tag_a, false), 0);
		ck_assert_int_eq(wait_for(&st.ran, i), i);
		short_sleep();	/* the thread is back waiting */
	}
	pthread_mutex_lock(&p.lock);
	ck_assert_int_eq(p.nthreads, 1);
	pthread_mutex_unlock(&p.lock);
	fe_pool_stop(&p);
	fe_pool_destroy(&p);
}
END_TEST

struct waiter {
	struct fe_pool *p;
	const void *tag;
	bool done;	/* st.lock */
};

static void *wait_tag_thread(void *arg)
{
	struct waiter *w = arg;

	fe_pool_wait_tag(w->p, w->tag);
	pthread_mutex_lock(&st.lock);
	w->done = true;
	pthread_cond_broadcast(&st.cond);
	pthread_mutex_unlock(&st.lock);
	return NULL;
}

START_TEST(wait_tag_waits_for_its_jobs)
{
	struct waiter w;
	struct fe_pool p;
	pthread_t t;
	struct timespec ts;

	reset();
	fe_pool_init(&p);
	/* a running and a queued job of tag a (the queued one waits for the first) */
	ck_assert_int_eq(submit(&p, &tag_a, true), 0);
	ck_assert_int_eq(wait_for(&st.running, 1), 1);
	fe_pool_wait_tag(&p, &tag_b);	/* none of b: at once */
	w = (struct waiter){ .p = &p, .tag = &tag_a };
	ck_assert_int_eq(pthread_create(&t, NULL, wait_tag_thread, &w), 0);
	short_sleep();
	pthread_mutex_lock(&st.lock);
	ck_assert(!w.done);	/* job a still running */
	pthread_mutex_unlock(&st.lock);
	open_gate();
	deadline(&ts, WAIT_MS);
	pthread_mutex_lock(&st.lock);
	while (!w.done && pthread_cond_timedwait(&st.cond, &st.lock, &ts) == 0)
		;
	ck_assert(w.done);
	ck_assert_int_eq(st.ran, 1);	/* returned after the job, not before */
	pthread_mutex_unlock(&st.lock);
	pthread_join(t, NULL);
	fe_pool_stop(&p);
	fe_pool_destroy(&p);
}
END_TEST

/* a live restart's bounded wait: a job that does not end times out; once it ends, idle */
START_TEST(wait_idle_until_is_bounded)
{
	struct timespec dl;
	struct fe_pool p;

	reset();
	fe_pool_init(&p);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	ck_assert_int_eq(fe_pool_wait_idle_until(&p, &dl), 0);	/* nothing runs */
	ck_assert_int_eq(submit(&p, &tag_a, true), 0);
	ck_assert_int_eq(wait_for(&st.running, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 50 * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	ck_assert_int_eq(fe_pool_wait_idle_until(&p, &dl), -ETIMEDOUT);
	ck_assert_int_eq(get(&st.ran), 0);	/* the job still runs: not cut short */
	open_gate();
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	ck_assert_int_eq(fe_pool_wait_idle_until(&p, &dl), 0);
	ck_assert_int_eq(get(&st.ran), 1);
	fe_pool_stop(&p);
	fe_pool_destroy(&p);
}
END_TEST

static void *stop_thread(void *arg)
{
	fe_pool_stop(arg);
	return NULL;
}

START_TEST(stop_cancels_queued_waits_running)
{
	struct fe_pool p;
	pthread_t t;

	reset();
	fe_pool_init(&p);
	for (int i = 0; i < FE_POOL_MAX + 3; i++)
		ck_assert_int_eq(submit(&p, &tag_a, true), 0);
	ck_assert_int_eq(wait_for(&st.running, FE_POOL_MAX), FE_POOL_MAX);
	ck_assert_int_eq(pthread_create(&t, NULL, stop_thread, &p), 0);
	short_sleep();
	ck_assert_int_eq(submit(&p, &tag_a, false), -ENODEV);
	ck_assert_int_eq(get(&st.ran), 0);	/* stop waits for the running jobs */
	open_gate();
	pthread_join(t, NULL);	/* stop returned: every job is done */
	ck_assert_int_eq(st.ran, FE_POOL_MAX);
	ck_assert_int_eq(st.cancelled, 3);
	fe_pool_wait_tag(&p, &tag_a);	/* at once after stop */
	fe_pool_destroy(&p);
}
END_TEST

static Suite *pool_suite(void)
{
	Suite *s = suite_create("fe_pool");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, every_job_runs_once);
	tcase_add_test(tc, bounded_and_concurrent);
	tcase_add_test(tc, idle_threads_reused);
	tcase_add_test(tc, wait_tag_waits_for_its_jobs);
	tcase_add_test(tc, stop_cancels_queued_waits_running);
	tcase_add_test(tc, wait_idle_until_is_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(pool_suite());
}
