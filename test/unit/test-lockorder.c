/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-lockorder.c - the lock-order checker (common/lockorder.c), built
 * here with UACCE_LOCK_CHECKS whatever the build's configuration: locks
 * taken in increasing rank pass; a lower or equal rank taken while holding
 * a higher one, or a release of a rank not held, aborts (Check's fork
 * mode runs each test in a child and expects the SIGABRT).
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lockorder.h"

#ifndef UACCE_LOCK_CHECKS
#error "test-lockorder must be built with -DUACCE_LOCK_CHECKS"
#endif

/* the checker reports on stderr before it aborts: keep the log quiet */
static void quiet(void)
{
	if (!getenv("UACCED_TEST_LOG") && !freopen("/dev/null", "w", stderr))
		abort();
}

START_TEST(test_in_order_passes)
{
	pthread_mutex_t q = PTHREAD_MUTEX_INITIALIZER, c = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_t f = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

	ck_assert_int_eq(lockorder_held(), 0);
	rlock(&q, LR_QUEUE, "queue");
	rlock(&c, LR_CORE, "core");
	rlock(&f, LR_FRONTEND, "frontend");
	rlock(&b, LR_BACKEND, "backend");
	ck_assert_int_eq(lockorder_held(), 4);
	/* released in any order; then a lower rank may be taken again */
	runlock(&c, LR_CORE);
	ck_assert_int_eq(lockorder_held(), 3);
	runlock(&q, LR_QUEUE);
	runlock(&b, LR_BACKEND);
	runlock(&f, LR_FRONTEND);
	ck_assert_int_eq(lockorder_held(), 0);
	rlock(&c, LR_CORE, "core");
	runlock(&c, LR_CORE);
	rlock(&q, LR_QUEUE, "queue");
	rlock(&c, LR_CORE, "core");
	runlock(&c, LR_CORE);
	/* skipping ranks is fine */
	rlock(&b, LR_BACKEND, "backend");
	runlock(&b, LR_BACKEND);
	runlock(&q, LR_QUEUE);
	ck_assert_int_eq(lockorder_held(), 0);
}
END_TEST

/* the core lock, then a queue lock: the order of LOCKING.md broken */
START_TEST(test_lower_rank_aborts)
{
	quiet();
	lockorder_acquire(LR_CORE, "core");
	lockorder_acquire(LR_QUEUE, "queue");
	ck_abort_msg("a lower rank was taken");
}
END_TEST

/* two locks of one rank (two queues, say): refused too */
START_TEST(test_same_rank_aborts)
{
	quiet();
	lockorder_acquire(LR_QUEUE, "queue a");
	lockorder_acquire(LR_QUEUE, "queue b");
	ck_abort_msg("a rank was taken twice");
}
END_TEST

/* a lower rank under a higher one deeper down the list */
START_TEST(test_lower_rank_under_two_aborts)
{
	quiet();
	lockorder_acquire(LR_QUEUE, "queue");
	lockorder_acquire(LR_FRONTEND, "frontend");
	lockorder_acquire(LR_CORE, "core");
	ck_abort_msg("core was taken under frontend");
}
END_TEST

START_TEST(test_release_not_held_aborts)
{
	quiet();
	lockorder_acquire(LR_QUEUE, "queue");
	lockorder_release(LR_CORE);
	ck_abort_msg("a rank not held was released");
}
END_TEST

static void *hold_core(void *arg)
{
	(void)arg;
	lockorder_acquire(LR_CORE, "core");
	return (void *)(long)lockorder_held();
}

/* each thread has its own list: another thread's core lock is not ours */
START_TEST(test_per_thread)
{
	pthread_t t;
	void *held = NULL;

	lockorder_acquire(LR_FRONTEND, "frontend");
	ck_assert_int_eq(pthread_create(&t, NULL, hold_core, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &held), 0);
	ck_assert_int_eq((int)(long)held, 1);
	ck_assert_int_eq(lockorder_held(), 1);
	lockorder_release(LR_FRONTEND);
	ck_assert_int_eq(lockorder_held(), 0);
}
END_TEST

static Suite *lockorder_suite(void)
{
	Suite *s = suite_create("lockorder");
	TCase *tc = tcase_create("ranks");

	tcase_add_test(tc, test_in_order_passes);
	tcase_add_test(tc, test_per_thread);
	tcase_add_test_raise_signal(tc, test_lower_rank_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_same_rank_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_lower_rank_under_two_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_release_not_held_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lockorder_suite());
	int failed;

	/* the aborting tests need a child each */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
