/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-mainline.c - unit tests of the queue core (daemon/core.c),
 * group "mainline": the mainline ABI profile (ABI.md "Profiles",
 * hisi-qm.md A.2, A.5) of soft devices configured "abi": "mainline", and
 * uq_mmap (the broker's UB_MMAP) of both profiles.  Helpers and fixtures:
 * core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>

static bool all_zero_64(const char *p)
{
	for (int i = 0; i < 64; i++)
		if (p[i])
			return false;
	return true;
}
#include "uacce_ml.h"

/* uq_mmap + mmap of the fd, as libuacce does for UB_MMAP; *type: the region */
static void *mmap_me(struct uacce_queue *q, uint64_t offset, uint64_t len, int *type)
{
	uint64_t out = 0;
	int fd = -1, t = -1;
	void *p;

	ck_assert_int_eq(uq_mmap(q, getpid(), offset, len, &fd, &out, &t), 0);
	ck_assert_int_ge(fd, 0);
	p = mmap(NULL, (size_t)out, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	close(fd);
	ck_assert_int_eq(uq_mapped(q, getpid(), t, (uint64_t)(uintptr_t)p), 0);
	if (type)
		*type = t;
	return p;
}

/* uq_mmap's return value; the fd is closed */
static int try_mmap(struct uacce_queue *q, pid_t peer, uint64_t offset, uint64_t len)
{
	uint64_t out = 0;
	int fd = -1, t = -1, r;

	r = uq_mmap(q, peer, offset, len, &fd, &out, &t);
	if (fd >= 0)
		close(fd);
	if (r)
		ck_assert_int_eq(fd, -1);
	return r;
}

#define DUS_OFF		(UACCE_ML_QFRT_DUS * PAGE)

START_TEST(test_ml_cmd_kind)
{
	struct uacce_dev *v4 = mkdev(fx_core, "dummy_v2", true, 2, 1);
	struct uacce_dev *ml = mkdev_abi(fx_core, "dummy_v2", true, 2, 2, UACCE_ABI_MAINLINE);

	ck_assert_int_eq(ud_abi(v4), UACCE_ABI_V4);
	ck_assert_int_eq(ud_abi(ml), UACCE_ABI_MAINLINE);
	ck_assert_str_eq(ud_name(ml), "dummy-2");
	/* the same numbers, two meanings */
	ck_assert_int_eq(ud_cmd_kind(v4, _IO('W', 0)), UQ_CMD_SHARE_SVAS);
	ck_assert_int_eq(ud_cmd_kind(v4, _IO('W', 1)), UQ_CMD_START);
	ck_assert_int_eq(ud_cmd_kind(v4, _IO('W', 2)), UQ_CMD_PUT);
	ck_assert_int_eq(ud_cmd_kind(ml, UACCE_ML_CMD_START_Q), UQ_CMD_START);
	ck_assert_int_eq(ud_cmd_kind(ml, UACCE_ML_CMD_PUT_Q), UQ_CMD_PUT);
	ck_assert_uint_eq(UACCE_ML_CMD_START_Q, 0x5700);
	ck_assert_uint_eq(UACCE_ML_CMD_PUT_Q, 0x5701);
	/* no SHARE_SVAS, no v4 numbers */
	ck_assert_int_eq(ud_cmd_kind(ml, _IO('W', 2)), UQ_CMD_DEVICE);
	ck_assert_int_eq(ud_cmd_kind(ml, UACCE_CMD_GET_SS_DMA), UQ_CMD_DEVICE);
	ck_assert_int_eq(ud_cmd_kind(ml, DUMMY_CMD_FLUSH), UQ_CMD_DEVICE);
}
END_TEST

START_TEST(test_ml_start_put_restart)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v2", true, 2, 1, UACCE_ABI_MAINLINE);
	struct uacce_caller w = me();
	struct uacce_queue *q;

	ck_assert_int_eq(ud_available_instances(d), 2);
	q = open_me(d);
	/* the queue is taken at open */
	ck_assert_int_eq(ud_available_instances(d), 1);
	/* PUT_Q in INIT: a no-op */
	ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_START_Q), 0);
	ck_assert_int_eq(state(q), UQ_STARTED);
	ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_START_Q), -EINVAL);
	/* stop only: back to INIT, the hardware queue stays */
	ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ud_available_instances(d), 1);
	ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_PUT_Q), 0);
	/* and START_Q works again */
	ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_START_Q), 0);
	ck_assert_int_eq(state(q), UQ_STARTED);
	/* v4's PUT_Q number is the device's: no such ioctl */
	ck_assert_int_eq(ioc(q, w, _IO('W', 2)), -EINVAL);
	ck_assert_int_eq(state(q), UQ_STARTED);
	uq_release(q);
	ck_assert_int_eq(ud_available_instances(d), 2);
}
END_TEST

/* the device still works after PUT_Q and a second START_Q */
START_TEST(test_ml_restart_copies)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v1", true, 1, 1, UACCE_ABI_MAINLINE);
	struct uacce_caller w = me();
	struct uacce_queue *q = open_me(d);
	struct dummy_hw_queue_reg *reg = mmap_me(q, 0, PAGE, NULL);
	char src[64], dst[64];

	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_START_Q), 0);
		fill(src, sizeof(src), (unsigned)round + 1);
		memset(dst, 0, sizeof(dst));
		ck_assert_uint_eq(do_copy(reg, src, dst, sizeof(src)), 0);
		ck_assert_mem_eq(src, dst, sizeof(src));
		ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_PUT_Q), 0);
	}
	munmap(reg, PAGE);
	uq_release(q);
}
END_TEST

/*
 * PUT_Q returns with the device no longer serving the ring, whether the
 * stop took the queue from a worker asleep (soft.c: W_WAIT) or waited for
 * a busy one: a request written and kicked after it stays untouched till
 * the next START_Q, which serves it
 */
START_TEST(test_ml_no_work_after_put_q)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v1", true, 1, 1, UACCE_ABI_MAINLINE);
	struct uacce_caller w = me();
	struct uacce_queue *q = open_me(d);
	struct dummy_hw_queue_reg *reg = mmap_me(q, 0, PAGE, NULL);
	struct dummy_wake *wk = (struct dummy_wake *)((char *)reg + DUMMY_WAKE_OFFSET);
	char src[64], dst[64];
	uint32_t tail = 0;

	for (int round = 0; round < 12; round++) {
		ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_START_Q), 0);
		if (round % 2) {
			usleep(3000);	/* the worker sleeps in its timed wait */
		} else {		/* it has just served: spinning (SPIN_NS) */
			fill(src, sizeof(src), 99);
			submit(reg, src, dst, sizeof(src), NULL);
			__atomic_add_fetch(&wk->wake, 1, __ATOMIC_SEQ_CST);
			syscall(SYS_futex, &wk->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
			tail = (tail + 1) % Q_BDS;
			while (__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE) != tail)
				;
		}
		ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_PUT_Q), 0);
		fill(src, sizeof(src), (unsigned)round + 1);
		memset(dst, 0, sizeof(dst));
		submit(reg, src, dst, sizeof(src), NULL);
		__atomic_add_fetch(&wk->wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &wk->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
		usleep(20000);
		ck_assert_uint_eq(__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE), tail);
		ck_assert(all_zero_64(dst));
		/* started again: served */
		ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_START_Q), 0);
		tail = (tail + 1) % Q_BDS;
		ck_assert(wait_tail(reg, tail, 2000));
		ck_assert_mem_eq(src, dst, sizeof(src));
		ck_assert_int_eq(ioc(q, w, UACCE_ML_CMD_PUT_Q), 0);
	}
	munmap(reg, PAGE);
	uq_release(q);
}
END_TEST

START_TEST(test_ml_regions_layout)
{
	struct uacce_dev *v1s = mkdev_abi(fx_core, "dummy_v1", true, 1, 1, UACCE_ABI_MAINLINE);
	struct uacce_dev *v1n = mkdev_abi(fx_core, "dummy_v1", false, 1, 2, UACCE_ABI_MAINLINE);
	struct uacce_dev *v2s = mkdev_abi(fx_core, "dummy_v2", true, 1, 3, UACCE_ABI_MAINLINE);
	struct uacce_dev *v2n = mkdev_abi(fx_core, "dummy_v2", false, 1, 4, UACCE_ABI_MAINLINE);
	const uint64_t *s;

	/* no DKO, no SS; non-SVA: the data part at the DUS's end */
	s = ud_info(v1s)->qfr_size;
	ck_assert(s[UACCE_QFRT_MMIO] == PAGE && !s[UACCE_QFRT_DKO] && !s[UACCE_QFRT_DUS] &&
		  !s[UACCE_QFRT_SS]);
	s = ud_info(v1n)->qfr_size;
	ck_assert(s[UACCE_QFRT_MMIO] == PAGE && s[UACCE_QFRT_DUS] == DUMMY_ML_DATA_SIZE &&
		  !s[UACCE_QFRT_SS]);
	s = ud_info(v2s)->qfr_size;
	ck_assert(s[UACCE_QFRT_DUS] == PAGE && !s[UACCE_QFRT_SS]);
	s = ud_info(v2n)->qfr_size;
	ck_assert(s[UACCE_QFRT_DUS] == PAGE + DUMMY_ML_DATA_SIZE && !s[UACCE_QFRT_SS]);
}
END_TEST

START_TEST(test_ml_mmap_rules)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v2", true, 2, 1, UACCE_ABI_MAINLINE);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	uint64_t out = 0;
	int fd = -1, t = -1;
	void *mm, *dus;

	/* page offset 2 and beyond, unaligned offsets */
	ck_assert_int_eq(try_mmap(q, pid, 2 * PAGE, PAGE), -EINVAL);
	ck_assert_int_eq(try_mmap(q, pid, 3 * PAGE, PAGE), -EINVAL);
	ck_assert_int_eq(try_mmap(q, pid, UINT64_MAX - PAGE + 1, PAGE), -EINVAL);
	ck_assert_int_eq(try_mmap(q, pid, 1, PAGE), -EINVAL);
	ck_assert_int_eq(try_mmap(q, pid, PAGE + 8, PAGE), -EINVAL);
	/* DUS only with its exact (page-rounded) size */
	ck_assert_int_eq(try_mmap(q, pid, DUS_OFF, 0), -EINVAL);
	ck_assert_int_eq(try_mmap(q, pid, DUS_OFF, 2 * PAGE), -EINVAL);
	ck_assert_int_eq(try_mmap(q, pid, DUS_OFF, UINT64_MAX), -EINVAL);
	/* MMIO at most its size */
	ck_assert_int_eq(try_mmap(q, pid, 0, PAGE + 1), -EINVAL);
	ck_assert_int_eq(try_mmap(q, pid, 0, 0), -EINVAL);
	/* the v4 broker opcode is refused: one set of rules per profile */
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EINVAL);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_DUS, PAGE), -EINVAL);
	/* a part of the MMIO page maps (rounded up to the page) */
	ck_assert_int_eq(uq_mmap(q, pid, 0, 100, &fd, &out, &t), 0);
	ck_assert_int_eq(t, UACCE_QFRT_MMIO);
	ck_assert_uint_eq(out, PAGE);
	close(fd);
	/* mapped already: EEXIST, until it is unmapped */
	ck_assert_int_eq(try_mmap(q, pid, 0, PAGE), -EEXIST);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), 0);
	mm = mmap_me(q, 0, PAGE, &t);
	ck_assert_int_eq(t, UACCE_QFRT_MMIO);
	dus = mmap_me(q, DUS_OFF, PAGE - 10, &t);
	ck_assert_int_eq(t, UACCE_QFRT_DUS);
	ck_assert_str_eq(((struct dummy_hw_queue_reg *)dus)->hw_tag, DUMMY_HW_TAG);
	ck_assert_int_eq(try_mmap(q, pid, DUS_OFF, PAGE), -EEXIST);
	ck_assert_int_eq(try_mmap(q, pid, 0, PAGE), -EEXIST);
	/* and in STARTED as in INIT */
	ck_assert_int_eq(ioc(q, me(), UACCE_ML_CMD_START_Q), 0);
	ck_assert_int_eq(try_mmap(q, pid, DUS_OFF, PAGE), -EEXIST);
	munmap(mm, PAGE);
	munmap(dus, PAGE);
	uq_release(q);
}
END_TEST

/* a region the device lacks: EINVAL (dummy_v1 SVA has no DUS) */
START_TEST(test_ml_mmap_absent_region)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v1", true, 1, 1, UACCE_ABI_MAINLINE);
	struct uacce_queue *q = open_me(d);

	ck_assert_int_eq(try_mmap(q, getpid(), DUS_OFF, PAGE), -EINVAL);
	ck_assert_int_eq(try_mmap(q, getpid(), 0, PAGE), 0);
	uq_release(q);
}
END_TEST

START_TEST(test_ml_mmap_other_process_eperm)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v2", true, 1, 1, UACCE_ABI_MAINLINE);
	struct child ch = spawn_child();
	struct uacce_queue *q = open_me(d);

	ck_assert_int_eq(try_mmap(q, ch.pid, 0, PAGE), -EPERM);
	ck_assert_int_eq(try_mmap(q, ch.pid, DUS_OFF, PAGE), -EPERM);
	ck_assert_int_eq(ioc(q, who_tid(ch.pid), UACCE_ML_CMD_START_Q), -EPERM);
	ck_assert_int_eq(try_mmap(q, getpid(), 0, PAGE), 0);
	kill_child(&ch);
	uq_release(q);
}
END_TEST

/* device removed: the queue is dead, mmap says ENXIO (current mainline) */
START_TEST(test_ml_mmap_dead_enxio)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v2", true, 1, 1, UACCE_ABI_MAINLINE);
	struct uacce_queue *q = open_me(d);

	core_remove_device(d);
	ck_assert_int_eq(state(q), UQ_DEAD);
	ck_assert_int_eq(try_mmap(q, getpid(), 0, PAGE), -ENXIO);
	ck_assert_int_eq(try_mmap(q, getpid(), DUS_OFF, PAGE), -ENXIO);
	uq_release(q);
}
END_TEST

/* non-SVA: the device sees only the data part of the DUS as mapped */
START_TEST(test_ml_nonsva_data_in_dus)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v2", false, 1, 1, UACCE_ABI_MAINLINE);
	struct uacce_queue *q = open_me(d);
	uint64_t dus_size = ud_info(d)->qfr_size[UACCE_QFRT_DUS];
	struct dummy_hw_queue_reg *reg;
	char *dus, *data, heap[64];

	ck_assert_int_eq(try_mmap(q, getpid(), DUS_OFF, PAGE), -EINVAL);
	dus = mmap_me(q, DUS_OFF, dus_size, NULL);
	reg = (struct dummy_hw_queue_reg *)dus;
	data = dus + dus_size - DUMMY_ML_DATA_SIZE;
	ck_assert_int_eq(ioc(q, me(), UACCE_ML_CMD_START_Q), 0);
	fill(data, 4096, 7);
	ck_assert_uint_eq(do_copy(reg, data, data + 8192, 4096), 0);
	ck_assert_mem_eq(data, data + 8192, 4096);
	/* the last byte of the DUS is inside, one past it is not */
	ck_assert_uint_eq(do_copy(reg, data, dus + dus_size - 16, 16), 0);
	ck_assert_uint_eq(do_copy(reg, data, dus + dus_size - 15, 16), EFAULT);
	/* the register page before the data part is not request memory */
	ck_assert_uint_eq(do_copy(reg, dus, data, 64), EFAULT);
	ck_assert_uint_eq(do_copy(reg, data, dus + 64, 16), EFAULT);
	ck_assert_uint_eq(do_copy(reg, data + 4096 - 8, data - 8, 16), EFAULT);
	ck_assert_str_eq(reg->hw_tag, DUMMY_HW_TAG);
	/* memory outside the DUS is not the device's */
	ck_assert_uint_eq(do_copy(reg, heap, data, sizeof(heap)), EFAULT);
	ck_assert_uint_eq(do_copy(reg, data, heap, sizeof(heap)), EFAULT);
	munmap(dus, dus_size);
	uq_release(q);
}
END_TEST

/* no SHARE_DOMAIN in mainline: another process opens a non-SVA device in use */
START_TEST(test_ml_nonsva_not_exclusive)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v1", false, 4, 1, UACCE_ABI_MAINLINE);
	struct child ch = spawn_child();
	struct uacce_caller other = who_tid(ch.pid);
	struct uacce_queue *q1, *qc;

	q1 = open_me(d);
	qc = open_as(d, other);
	ck_assert_int_eq(uq_owner_tgid(qc), ch.pid);
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_release(q1);
	uq_release(qc);
	ck_assert_int_eq(ud_available_instances(d), 4);
	kill_child(&ch);
}
END_TEST

/* the DUS is charged as mapped: RLIMIT_DATA and the regions' accounting */
START_TEST(test_ml_charged)
{
	struct uacce_dev *d = mkdev_abi(fx_core, "dummy_v2", false, 1, 1, UACCE_ABI_MAINLINE);
	struct uacce_queue *q = open_me(d);
	uint64_t dus_size = ud_info(d)->qfr_size[UACCE_QFRT_DUS];
	struct core_queue_stat *st = NULL;
	void *mm, *dus;
	int n = 0;

	mm = mmap_me(q, 0, PAGE, NULL);
	dus = mmap_me(q, DUS_OFF, dus_size, NULL);
	ck_assert_int_eq(core_queues(fx_core, &st, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(st[0].bytes, PAGE + dus_size);
	free(st);
	ck_assert_int_eq(uq_unmap(q, getpid(), UACCE_QFRT_DUS), 0);
	ck_assert_int_eq(core_queues(fx_core, &st, &n), 0);
	ck_assert_uint_eq(st[0].bytes, PAGE);
	free(st);
	munmap(mm, PAGE);
	munmap(dus, dus_size);
	uq_release(q);
}
END_TEST

/* UB_MMAP on a v4 device: the byte offsets of qfrs_offset, v4's rules */
START_TEST(test_v4_mmap_by_offset)
{
	struct uacce_dev *d = mkdev(fx_core, "dummy_v2", false, 1, 1);
	struct uacce_queue *q = open_me(d);
	uint64_t off[UACCE_QFRT_NR], out = 0;
	pid_t pid = getpid();
	int fd = -1, t = -1;
	void *dus;

	ud_qfrs_offset(d, off);
	ck_assert_int_eq(try_mmap(q, pid, off[UACCE_QFRT_DUS] + 1, PAGE), -EINVAL);
	ck_assert_int_eq(try_mmap(q, pid, off[UACCE_QFRT_DUS], PAGE - 1), -EINVAL);
	dus = mmap_me(q, off[UACCE_QFRT_DUS], PAGE, &t);
	ck_assert_int_eq(t, UACCE_QFRT_DUS);
	ck_assert_int_eq(try_mmap(q, pid, off[UACCE_QFRT_DUS], PAGE), -EBUSY);
	/* the device has no DKO: its "offset" UACCE_QFR_NA selects nothing */
	ck_assert_uint_eq(off[UACCE_QFRT_DKO], UACCE_QFR_NA);
	ck_assert_int_eq(try_mmap(q, pid, UACCE_QFR_NA, PAGE), -EINVAL);
	/* SS: after START, any size */
	ck_assert_int_eq(try_mmap(q, pid, off[UACCE_QFRT_SS], 3 * PAGE), -EINVAL);
	start_as(q, me());
	ck_assert_int_eq(uq_mmap(q, pid, off[UACCE_QFRT_SS], 3 * PAGE, &fd, &out, &t), 0);
	ck_assert_int_eq(t, UACCE_QFRT_SS);
	ck_assert_uint_eq(out, 3 * PAGE);
	close(fd);
	munmap(dus, PAGE);
	uq_release(q);
}
END_TEST

TCase *tc_mainline(void)
{
	TCase *tc = tcase_create("mainline");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_ml_cmd_kind);
	tcase_add_test(tc, test_ml_start_put_restart);
	tcase_add_test(tc, test_ml_restart_copies);
	tcase_add_test(tc, test_ml_no_work_after_put_q);
	tcase_add_test(tc, test_ml_regions_layout);
	tcase_add_test(tc, test_ml_mmap_rules);
	tcase_add_test(tc, test_ml_mmap_absent_region);
	tcase_add_test(tc, test_ml_mmap_other_process_eperm);
	tcase_add_test(tc, test_ml_mmap_dead_enxio);
	tcase_add_test(tc, test_ml_nonsva_data_in_dus);
	tcase_add_test(tc, test_ml_nonsva_not_exclusive);
	tcase_add_test(tc, test_ml_charged);
	tcase_add_test(tc, test_v4_mmap_by_offset);
	return tc;
}
