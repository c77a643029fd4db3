/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-regressions.c - unit tests of the queue core (daemon/core.c),
 * group "regressions": tests of bugs these tests found, now fixed. Helpers and
 * fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
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

TCase *tc_regressions(void)
{
	TCase *tc = tcase_create("regressions");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_regr_shared_ss_uncharged_after_source_release);
	return tc;
}
