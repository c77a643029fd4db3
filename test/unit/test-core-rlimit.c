/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-rlimit.c - unit tests of the queue core (daemon/core.c), group
 * "rlimit": region memory is charged to the owner's RLIMIT_DATA. Helpers and
 * fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

START_TEST(test_rlimit_data_enomem)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller cw = who_tid(ch.pid);
	struct uacce_queue *q1, *q2;

	set_child_rlimit_data(ch.pid, 64 * MiB);
	q1 = open_as(d, cw);
	q2 = open_as(d, cw);
	start_as(q1, cw);
	start_as(q2, cw);
	ck_assert_int_eq(try_map(q1, ch.pid, UACCE_QFRT_SS, 128 * MiB), -ENOMEM);
	ck_assert_int_eq(try_map(q1, ch.pid, UACCE_QFRT_SS, 64 * MiB + 1), -ENOMEM);
	ck_assert_int_eq(try_map(q1, ch.pid, UACCE_QFRT_SS, 1 * MiB), 0);
	/* the owner's total counts, over its queues: 1 + 64 > 64 */
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_SS, 64 * MiB), -ENOMEM);
	/* a refusal charged nothing: exactly up to the limit is fine */
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_SS, 63 * MiB), 0);
	/* MMIO is charged too */
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	/* releasing q1 uncharges its megabyte */
	uq_release(q1);
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_MMIO, PAGE), 0);
	/* and unmapping MMIO uncharges it */
	ck_assert_int_eq(uq_unmap(q2, ch.pid, UACCE_QFRT_MMIO), 0);
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_MMIO, PAGE), 0);
	uq_release(q2);
	kill_child(&ch);
}
END_TEST

START_TEST(test_rlimit_data_dead_queue_uncharged)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller cw = who_tid(ch.pid);
	struct uacce_queue *q1, *q2;

	set_child_rlimit_data(ch.pid, 8 * MiB);
	q1 = open_as(d, cw);
	start_as(q1, cw);
	ck_assert_int_eq(try_map(q1, ch.pid, UACCE_QFRT_SS, 8 * MiB), 0);
	q2 = open_as(d, cw);
	start_as(q2, cw);
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_SS, PAGE), -ENOMEM);
	/* a device removal frees q1's memory */
	{
		struct uacce_dev *d2 = mkdev(c, "dummy_v1", false, 4, 2);
		struct uacce_queue *q3 = open_as(d2, cw);

		start_as(q3, cw);
		ck_assert_int_eq(try_map(q3, ch.pid, UACCE_QFRT_SS, PAGE), -ENOMEM);
		core_remove_device(d);
		ck_assert_int_eq(try_map(q3, ch.pid, UACCE_QFRT_SS, 8 * MiB), 0);
		uq_release(q3);
	}
	uq_release(q1);
	uq_release(q2);
	kill_child(&ch);
}
END_TEST

TCase *tc_rlimit(void)
{
	TCase *tc = tcase_create("rlimit");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_rlimit_data_enomem);
	tcase_add_test(tc, test_rlimit_data_dead_queue_uncharged);
	return tc;
}
