/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-ioctl.c - unit tests of the queue core (daemon/core.c), group
 * "ioctl": START, PUT_Q and device ioctls (the soft backend's). Helpers and
 * fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"
#include <dirent.h>

START_TEST(test_start)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);

	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_START), 0);
	ck_assert_int_eq(state(q), UQ_STARTED);
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_START), -EINVAL);
	ck_assert_int_eq(state(q), UQ_STARTED);
	ck_assert_int_eq(ud_available_instances(d), 1);
	uq_release(q);
}
END_TEST

START_TEST(test_put_q_then_start)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q1 = open_me(d), *q2 = open_me(d);
	int calls;

	/* PUT_Q from INIT */
	ck_assert_int_eq(ioc(q1, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q1), UQ_ZOMBIE);
	ck_assert_int_eq(ioc(q1, me(), UACCE_CMD_START), -EINVAL);
	ck_assert_int_eq(state(q1), UQ_ZOMBIE);
	ck_assert_int_eq(ioc(q1, me(), DUMMY_CMD_FLUSH), -EINVAL);
	/* PUT_Q again: nothing more to give back (the kernel answers 0) */
	calls = H.inst_calls;
	ck_assert_int_eq(ioc(q1, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q1), UQ_ZOMBIE);
	ck_assert_int_eq(ud_available_instances(d), 1);
	ck_assert_int_eq(H.inst_calls, calls);
	/* PUT_Q from STARTED stops the queue */
	start_as(q2, me());
	ck_assert_int_eq(ioc(q2, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q2), UQ_ZOMBIE);
	ck_assert_int_eq(ioc(q2, me(), UACCE_CMD_START), -EINVAL);
	ck_assert_int_eq(ioc(q2, me(), DUMMY_CMD_FLUSH), -EINVAL);
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_release(q1);
	uq_release(q2);
	ck_assert_int_eq(ud_available_instances(d), 2);
}
END_TEST

static int threads_now(void)
{
	struct dirent *de;
	DIR *dir = opendir("/proc/self/task");
	int n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * Open, START, PUT_Q, release, over and over, the worker asleep or not at
 * the stop: every stop leaves the queue for good (ASan: no use of a freed
 * queue by a thread it was taken from), and the threads are reused
 */
START_TEST(test_lifecycles_reuse_threads)
{
	struct uacce_dev *d = mkdev(fx_core, "dummy_v2", false, 2, 1);
	int base = threads_now();

	for (int i = 0; i < 300; i++) {
		struct uacce_queue *q = open_me(d);

		start_as(q, me());
		if (i % 3 == 0)
			usleep(500);
		ck_assert_int_eq(ioc(q, me(), UACCE_CMD_PUT_Q), 0);
		uq_release(q);
	}
	usleep(100000);
	/* at most IDLE_THREADS (8) idle workers stay; the scanner may exist */
	ck_assert_int_le(threads_now(), base + 9);
	ck_assert_int_eq(ud_available_instances(d), 2);
}
END_TEST

START_TEST(test_unknown_ioctl)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	const unsigned int bad[] = {
		_IO('W', 7), UACCE_CMD_GET_SS_DMA, _IO('d', 1), 0x1234, 0,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(ioctl_raw(q, &(struct uacce_caller){ gettid(), 0, 0 }, bad[i], 0),
				 -EINVAL);
	start_as(q, me());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(ioc(q, me(), bad[i]), -EINVAL);
	ck_assert_int_eq(state(q), UQ_STARTED);
	uq_release(q);
}
END_TEST

START_TEST(test_flush_ioctl)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);

	/* soft backend: no worker before START */
	ck_assert_int_eq(ioc(q, me(), DUMMY_CMD_FLUSH), -EINVAL);
	start_as(q, me());
	ck_assert_int_eq(ioc(q, me(), DUMMY_CMD_FLUSH), 0);
	ck_assert_int_eq(ioctl_raw(q, &(struct uacce_caller){ gettid(), 0, 0 }, DUMMY_CMD_FLUSH,
				  12345),
			 0);
	uq_release(q);
}
END_TEST

TCase *tc_ioctl(void)
{
	TCase *tc = tcase_create("ioctl");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_start);
	tcase_add_test(tc, test_put_q_then_start);
	tcase_add_test(tc, test_lifecycles_reuse_threads);
	tcase_add_test(tc, test_unknown_ioctl);
	tcase_add_test(tc, test_flush_ioctl);
	return tc;
}
