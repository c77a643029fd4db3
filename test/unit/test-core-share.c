/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-share.c - unit tests of the queue core (daemon/core.c), group
 * "share_svas": SHARE_SVAS, one SS shared by queues of one process. Helpers
 * and fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

/* share, write through the source, release `first`, check the survivor */
static void share_release_order(bool src_first)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *src = open_me(d), *tgt = open_me(d), *surv;
	struct dummy_hw_queue_reg *rs, *rt, *rsurv;
	pid_t pid = getpid();
	char *ss, *again;

	start_as(src, me());
	start_as(tgt, me());
	rs = map_me(src, UACCE_QFRT_MMIO, PAGE);
	rt = map_me(tgt, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(src, 8 * PAGE);
	ck_assert_int_eq(uq_share_svas(tgt, &(struct uacce_caller){ gettid(), 0, 0 }, src), 0);
	fill(ss, PAGE, 42);
	if (src_first) {
		uq_release(src);
		munmap(rs, PAGE);
		surv = tgt;
		rsurv = rt;
	} else {
		uq_release(tgt);
		munmap(rt, PAGE);
		surv = src;
		rsurv = rs;
	}
	ck_assert_int_eq(ud_available_instances(d), 3);
	/* the device still reaches the SS through the survivor */
	ck_assert_uint_eq(do_copy(rsurv, ss, ss + 2 * PAGE, PAGE), 0);
	ck_assert_mem_eq(ss + 2 * PAGE, ss, PAGE);
	/* and the memory is still there: map it again through the survivor */
	ck_assert_int_eq(uq_unmap(surv, pid, UACCE_QFRT_SS), 0);
	again = map_me(surv, UACCE_QFRT_SS, 8 * PAGE);
	ck_assert_mem_eq(again, ss, 8 * PAGE);
	munmap(again, 8 * PAGE);
	munmap(ss, 8 * PAGE);
	munmap(rsurv, PAGE);
	uq_release(surv);
	ck_assert_int_eq(ud_available_instances(d), 4);
}

START_TEST(test_share_svas_ok)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *src = open_me(d), *tgt = open_me(d);
	struct dummy_hw_queue_reg *rs, *rt;
	pid_t pid = getpid();
	char *ss;

	start_as(src, me());
	start_as(tgt, me());
	rs = map_me(src, UACCE_QFRT_MMIO, PAGE);
	rt = map_me(tgt, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(src, 16 * PAGE);
	ck_assert_int_eq(uq_share_svas(tgt, &(struct uacce_caller){ gettid(), 0, 0 }, src), 0);
	/* the target has an SS now */
	ck_assert_int_eq(try_map(tgt, pid, UACCE_QFRT_SS, 16 * PAGE), -EBUSY);
	ck_assert_int_eq(try_map(tgt, pid, UACCE_QFRT_SS, PAGE), -EBUSY);
	/* sharing again: the target has an SS */
	ck_assert_int_eq(uq_share_svas(tgt, &(struct uacce_caller){ gettid(), 0, 0 }, src),
			 -EINVAL);
	/* same memory at the same device address on both queues */
	fill(ss, PAGE, 9);
	ck_assert_uint_eq(do_copy(rt, ss, ss + 4 * PAGE, PAGE), 0);
	ck_assert_mem_eq(ss + 4 * PAGE, ss, PAGE);
	fill(ss + PAGE, PAGE, 10);
	ck_assert_uint_eq(do_copy(rs, ss + PAGE, ss + 8 * PAGE, PAGE), 0);
	ck_assert_mem_eq(ss + 8 * PAGE, ss + PAGE, PAGE);
	munmap(ss, 16 * PAGE);
	munmap(rs, PAGE);
	munmap(rt, PAGE);
	uq_release(tgt);
	uq_release(src);
}
END_TEST

START_TEST(test_share_svas_refusals)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d1 = mkdev(c, "dummy_v1", false, 8, 1);
	struct uacce_dev *d1b = mkdev(c, "dummy_v1", false, 8, 2);
	struct uacce_dev *d2 = mkdev(c, "dummy_v2", false, 8, 3);
	struct uacce_dev *dsva = mkdev(c, "dummy_v1", true, 8, 4);
	struct uacce_caller w = me();
	struct child ch = spawn_child();
	struct uacce_caller cw = who_tid(ch.pid);
	struct uacce_queue *src, *nss, *tgt, *own, *v2src, *svat, *other, *zomb, *dead;

	src = open_me(d1);
	start_as(src, w);
	ck_assert_int_eq(try_map(src, getpid(), UACCE_QFRT_SS, PAGE), 0);
	tgt = open_me(d1);

	/* target not started */
	ck_assert_int_eq(uq_share_svas(tgt, &w, src), -EINVAL);
	start_as(tgt, w);
	/* source == target */
	ck_assert_int_eq(uq_share_svas(src, &w, src), -EINVAL);
	/* source without SS */
	nss = open_me(d1);
	start_as(nss, w);
	ck_assert_int_eq(uq_share_svas(tgt, &w, nss), -EINVAL);
	/* target with its own SS */
	own = open_me(d1);
	start_as(own, w);
	ck_assert_int_eq(try_map(own, getpid(), UACCE_QFRT_SS, PAGE), 0);
	ck_assert_int_eq(uq_share_svas(own, &w, src), -EINVAL);
	/* different api */
	v2src = open_me(d2);
	start_as(v2src, w);
	ck_assert_int_eq(try_map(v2src, getpid(), UACCE_QFRT_SS, PAGE), 0);
	ck_assert_int_eq(uq_share_svas(tgt, &w, v2src), -EINVAL);
	/* SVA target (with a valid non-SVA source of the same api) */
	svat = open_me(dsva);
	start_as(svat, w);
	ck_assert_int_eq(uq_share_svas(svat, &w, src), -EINVAL);
	/* a source of another process (on another device of the same api) */
	other = open_as(d1b, cw);
	start_as(other, cw);
	ck_assert_int_eq(try_map(other, ch.pid, UACCE_QFRT_SS, PAGE), 0);
	ck_assert_int_eq(uq_share_svas(tgt, &w, other), -EINVAL);
	/* and the other process cannot share ours either */
	ck_assert_int_eq(uq_share_svas(tgt, &cw, src), -EPERM);
	/* a ZOMBIE target */
	zomb = open_me(d1);
	start_as(zomb, w);
	ck_assert_int_eq(ioc(zomb, w, UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(uq_share_svas(zomb, &w, src), -EINVAL);
	/* a dead source */
	dead = open_me(d1);
	start_as(dead, w);
	ck_assert_int_eq(try_map(dead, getpid(), UACCE_QFRT_SS, PAGE), 0);
	uq_owner_died(dead);
	ck_assert_int_eq(uq_share_svas(tgt, &w, dead), -EINVAL);
	/* after all of that the target still has no SS: it can share or map */
	ck_assert_int_eq(uq_share_svas(tgt, &w, src), 0);

	uq_release(dead);
	uq_release(zomb);
	uq_release(other);
	uq_release(svat);
	uq_release(v2src);
	uq_release(own);
	uq_release(nss);
	uq_release(tgt);
	uq_release(src);
	kill_child(&ch);
}
END_TEST

START_TEST(test_share_svas_release_source_first)
{
	share_release_order(true);
}
END_TEST

START_TEST(test_share_svas_release_target_first)
{
	share_release_order(false);
}
END_TEST

TCase *tc_share_svas(void)
{
	TCase *tc = tcase_create("share_svas");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_share_svas_ok);
	tcase_add_test(tc, test_share_svas_refusals);
	tcase_add_test(tc, test_share_svas_release_source_first);
	tcase_add_test(tc, test_share_svas_release_target_first);
	return tc;
}
