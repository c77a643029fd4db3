/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-death.c - unit tests of the queue core (daemon/core.c), group
 * "death": owner death, device removal.  Helpers and fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

START_TEST(test_owner_died)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	pid_t pid = getpid();
	struct dummy_hw_queue_reg *reg;
	unsigned mask = 9;
	int pidfd = H.watch_fd, calls;
	char *ss;

	start_as(q, w);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, PAGE);
	ck_assert_int_eq(ud_available_instances(d), 1);
	calls = H.inst_calls;
	uq_owner_died(q);
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(H.inst_calls, calls + 1);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_int_eq(H.unwatch_fd, pidfd);
	ck_assert_int_eq(state(q), UQ_DEAD);
	/* later requests: EPERM */
	ck_assert_int_eq(uq_check_owner(q, &w), -EPERM);
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_START), -EPERM);
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_PUT_Q), -EPERM);
	ck_assert_int_eq(ioc(q, w, DUMMY_CMD_FLUSH), -EPERM);
	ck_assert_int_eq(uq_poll(q, &w, &mask), -EPERM);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(uq_attach(q, pid), -EPERM);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EPERM);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, 0x10000), -EPERM);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_SS), -EPERM);
	ck_assert_int_eq(uq_share_svas(q, &w, q), -EPERM);
	/* a second report and the release are harmless */
	uq_owner_died(q);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_int_eq(H.inst_calls, calls + 1);
	uq_release(q);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_int_eq(ud_available_instances(d), 2);
	/* the device is usable again */
	q = open_me(d);
	ck_assert_int_eq(ud_available_instances(d), 1);
	uq_release(q);
	munmap(reg, PAGE);
	munmap(ss, PAGE);
}
END_TEST

START_TEST(test_owner_died_in_init_and_zombie)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 3, 1);
	struct uacce_queue *qi = open_me(d), *qz = open_me(d);

	ck_assert_int_eq(ioc(qz, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_owner_died(qz);	/* nothing more to give back */
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_owner_died(qi);
	ck_assert_int_eq(ud_available_instances(d), 3);
	uq_release(qz);
	uq_release(qi);
	ck_assert_int_eq(ud_available_instances(d), 3);
}
END_TEST

START_TEST(test_remove_device)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_dev *keep = mkdev(c, "dummy_v1", false, 4, 2);
	struct uacce_queue *q1 = open_me(d), *q2 = open_me(d), *qk = open_me(keep);
	struct uacce_caller w = me();
	pid_t pid = getpid();
	struct dummy_hw_queue_reg *reg;
	unsigned mask = 1;
	char *ss;

	start_as(q1, w);
	start_as(qk, w);
	reg = map_me(q1, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q1, 4 * PAGE);
	ck_assert_uint_eq(do_copy(reg, ss, ss + PAGE, 16), 0);
	core_remove_device(d);
	ck_assert_int_eq(H.unwatch_calls, 2);
	for (int i = 0; i < 2; i++) {
		struct uacce_queue *q = i ? q2 : q1;

		ck_assert_int_eq(state(q), UQ_DEAD);
		ck_assert_int_eq(uq_check_owner(q, &w), -ENODEV);
		ck_assert_int_eq(ioc(q, w, UACCE_CMD_START), -ENODEV);
		ck_assert_int_eq(ioc(q, w, UACCE_CMD_PUT_Q), -ENODEV);
		ck_assert_int_eq(ioc(q, w, DUMMY_CMD_FLUSH), -ENODEV);
		ck_assert_int_eq(uq_poll(q, &w, &mask), -ENODEV);
		ck_assert_int_eq(uq_attach(q, pid), -ENODEV);
		ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -ENODEV);
		ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, 0x10000), -ENODEV);
		ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), -ENODEV);
		ck_assert_int_eq(uq_share_svas(q, &w, qk), -ENODEV);
	}
	/* the other device is untouched */
	ck_assert_int_eq(state(qk), UQ_STARTED);
	ck_assert_int_eq(uq_check_owner(qk, &w), 0);
	ck_assert_int_eq(ud_available_instances(keep), 3);
	/* the owner dying after the removal changes nothing */
	uq_owner_died(q1);
	ck_assert_int_eq(uq_check_owner(q1, &w), -ENODEV);
	uq_release(q1);
	uq_release(q2);
	uq_release(qk);
	munmap(reg, PAGE);
	munmap(ss, 4 * PAGE);
}
END_TEST

TCase *tc_death(void)
{
	TCase *tc = tcase_create("death");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_owner_died);
	tcase_add_test(tc, test_owner_died_in_init_and_zombie);
	tcase_add_test(tc, test_remove_device);
	return tc;
}
