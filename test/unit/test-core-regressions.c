/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-regressions.c - unit tests of the queue core (daemon/core.c),
 * group "regressions": tests of bugs these tests found, now fixed. Helpers and
 * fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/time.h>

#include "core-fixture.h"

/*
 * A shared SS stays in memory as long as one queue holds it, but its charge
 * goes away with the queue that created it: with the source released, the
 * owner holds the SS through the target and nothing counts it, so it can
 * exceed RLIMIT_DATA by creating, sharing and releasing sources.
 */
START_TEST(test_regr_shared_ss_uncharged_after_source_release)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 8, 1);
	struct child ch = spawn_child();
	struct uacce_caller cw = who_tid(ch.pid);
	struct uacce_queue *src, *tgt, *q3;

	set_child_rlimit_data(ch.pid, 64 * MiB);
	src = open_as(d, cw);
	tgt = open_as(d, cw);
	q3 = open_as(d, cw);
	start_as(src, cw);
	start_as(tgt, cw);
	start_as(q3, cw);
	ck_assert_int_eq(try_map(src, ch.pid, UACCE_QFRT_SS, 40 * MiB), 0);
	ck_assert_int_eq(uq_share_svas(tgt, &cw, src), 0);
	uq_release(src);
	/* 40 MiB are still held (by tgt): another 40 MiB exceed 64 MiB */
	ck_assert_int_eq(try_map(q3, ch.pid, UACCE_QFRT_SS, 40 * MiB), -ENOMEM);
	uq_release(q3);
	uq_release(tgt);
	kill_child(&ch);
}
END_TEST

/*
 * proc_owner_alive() polls the owner's pidfd with no timeout, and poll(2)
 * fails with EINTR even then when a signal arrives: a live owner was taken
 * for dead and its broker requests refused (EPERM).  Found by
 * test/fuzz/fuzz-dummy-ring (libFuzzer's SIGALRM); here a signal every
 * 100 us while the owner attaches again and again.
 */
static void regr_noop_handler(int sig)
{
	(void)sig;
}

START_TEST(test_regr_owner_alive_eintr)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 1, 1);
	struct uacce_queue *q = open_as(d, me());
	struct sigaction sa = { .sa_handler = regr_noop_handler };
	struct itimerval on = { { 0, 100 }, { 0, 100 } }, off = { { 0, 0 }, { 0, 0 } };
	int refused = 0;

	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &on, NULL), 0);
	for (int i = 0; i < 200000; i++)
		refused += uq_attach(q, getpid()) != 0;
	setitimer(ITIMER_REAL, &off, NULL);
	ck_assert_int_eq(refused, 0);
	uq_release(q);
}
END_TEST

TCase *tc_regressions(void)
{
	TCase *tc = tcase_create("regressions");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_regr_shared_ss_uncharged_after_source_release);
	tcase_add_test(tc, test_regr_owner_alive_eintr);
	return tc;
}
