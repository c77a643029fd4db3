/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-regions.c - unit tests of the queue core (daemon/core.c), group
 * "regions": map, mapped, unmap (the region broker's entry points). Helpers
 * and fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"
#include "backend.h"
#include "region.h"

START_TEST(test_map_exact_size)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	const uint64_t bad[] = { 0, 1, PAGE - 1, PAGE + 1, 2 * PAGE, 8192 + 4096, UINT64_MAX };
	pid_t me_pid = getpid();
	void *p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(try_map(q, me_pid, UACCE_QFRT_MMIO, bad[i]), -EINVAL);
		ck_assert_int_eq(try_map(q, me_pid, UACCE_QFRT_DUS, bad[i]), -EINVAL);
	}
	/* mappable in INIT */
	p = map_me(q, UACCE_QFRT_MMIO, PAGE);
	munmap(p, PAGE);
	p = map_me(q, UACCE_QFRT_DUS, PAGE);
	munmap(p, PAGE);
	uq_release(q);
}
END_TEST

START_TEST(test_map_twice_ebusy)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	void *mm, *dus, *ss;

	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EBUSY);
	dus = map_me(q, UACCE_QFRT_DUS, PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_DUS, PAGE), -EBUSY);
	start_as(q, me());
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EBUSY);
	ss = map_me(q, UACCE_QFRT_SS, 3 * PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, 3 * PAGE), -EBUSY);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, PAGE), -EBUSY);
	munmap(mm, PAGE);
	munmap(dus, PAGE);
	munmap(ss, 3 * PAGE);
	uq_release(q);
}
END_TEST

START_TEST(test_map_sva_dko_ss_refused)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d1 = mkdev(c, "dummy_v1", true, 2, 1);
	struct uacce_dev *d2 = mkdev(c, "dummy_v2", true, 2, 2);
	struct uacce_queue *q1 = open_me(d1), *q2 = open_me(d2);
	pid_t pid = getpid();
	void *p;

	start_as(q1, me());
	start_as(q2, me());
	for (int i = 0; i < 2; i++) {
		struct uacce_queue *q = i ? q2 : q1;

		ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, PAGE), -EINVAL);
		ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, 1), -EINVAL);
		ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_DKO, PAGE), -EINVAL);
		p = map_me(q, UACCE_QFRT_MMIO, PAGE);
		munmap(p, PAGE);
	}
	/* DUS exists on an SVA dummy_v2 */
	p = map_me(q2, UACCE_QFRT_DUS, PAGE);
	ck_assert_str_eq(((struct dummy_hw_queue_reg *)p)->hw_tag, DUMMY_HW_TAG);
	munmap(p, PAGE);
	uq_release(q1);
	uq_release(q2);
}
END_TEST

START_TEST(test_map_ss_only_after_start)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	const uint64_t sizes[] = { 1, 3 * PAGE + 5, 64 * MiB };
	struct uacce_queue *q[3];
	pid_t pid = getpid();

	for (int i = 0; i < 3; i++) {
		uint64_t out = 0;
		int fd = -1;
		struct stat st;

		q[i] = open_me(d);
		ck_assert_int_eq(try_map(q[i], pid, UACCE_QFRT_SS, sizes[i]), -EINVAL);
		start_as(q[i], me());
		ck_assert_int_eq(try_map(q[i], pid, UACCE_QFRT_SS, 0), -EINVAL);
		ck_assert_int_eq(uq_map(q[i], pid, UACCE_QFRT_SS, sizes[i], &fd, &out), 0);
		ck_assert_uint_eq(out, sizes[i]);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)sizes[i]);
		close(fd);
	}
	for (int i = 0; i < 3; i++)
		uq_release(q[i]);
}
END_TEST

START_TEST(test_map_ss_huge_refused)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q = open_me(d);

	start_as(q, me());
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, (1ULL << 40) + 1), -ENOMEM);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, UINT64_MAX), -ENOMEM);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, PAGE), 0);
	uq_release(q);
}
END_TEST

START_TEST(test_map_absent_region)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	const int types[] = { -1, 4, UACCE_QFRT_MAX, 1000, UACCE_QFRT_DKO, UACCE_QFRT_DUS };

	start_as(q, me());
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ck_assert_int_eq(try_map(q, pid, types[i], PAGE), -EINVAL);
		ck_assert_int_eq(uq_mapped(q, pid, types[i], 0x10000), -EINVAL);
		ck_assert_int_eq(uq_unmap(q, pid, types[i]), -EINVAL);
	}
	uq_release(q);
}
END_TEST

START_TEST(test_map_after_put_q)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 4, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();

	start_as(q, me());
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EINVAL);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_DUS, PAGE), -EINVAL);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, PAGE), -EINVAL);
	uq_release(q);
}
END_TEST

START_TEST(test_map_fd_is_register_page)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d1 = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_dev *d2 = mkdev(c, "dummy_v2", false, 2, 2);
	struct uacce_queue *q1 = open_me(d1), *q2 = open_me(d2);
	struct dummy_hw_queue_reg *r1, *r2;
	char *mmio2;

	/* v1: the register page is the MMIO region */
	r1 = map_me(q1, UACCE_QFRT_MMIO, PAGE);
	ck_assert_mem_eq(r1->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
	ck_assert_uint_eq(r1->ring_bd_num, Q_BDS);
	ck_assert_uint_eq(r1->ring_bd_num, 16);
	ck_assert_uint_eq(r1->head, 0);
	ck_assert_uint_eq(r1->tail, 0);
	/* v2: the register page is DUS; MMIO is the doorbell page */
	r2 = map_me(q2, UACCE_QFRT_DUS, PAGE);
	ck_assert_mem_eq(r2->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
	ck_assert_uint_eq(r2->ring_bd_num, 16);
	mmio2 = map_me(q2, UACCE_QFRT_MMIO, PAGE);
	ck_assert_mem_ne(mmio2, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
	/* the same memory as the device's: a write here is seen by a second
	 * mapping obtained after unmap + map */
	r1->head = 0;
	memset(r1->ring, 0xa5, sizeof(r1->ring[0]));
	ck_assert_int_eq(uq_unmap(q1, getpid(), UACCE_QFRT_MMIO), 0);
	{
		struct dummy_hw_queue_reg *again = map_me(q1, UACCE_QFRT_MMIO, PAGE);

		ck_assert_ptr_ne(again, r1);
		ck_assert_mem_eq(again->ring, r1->ring, sizeof(r1->ring[0]));
		ck_assert_mem_eq(again->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
		munmap(again, PAGE);
	}
	munmap(r1, PAGE);
	munmap(r2, PAGE);
	munmap(mmio2, PAGE);
	uq_release(q1);
	uq_release(q2);
}
END_TEST

START_TEST(test_mapped_rules)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	void *mm;

	/* not mapped yet */
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, 0x10000), -EINVAL);
	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, 0), -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, (uint64_t)(uintptr_t)mm + 1), -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, (uint64_t)(uintptr_t)mm + 2048),
			 -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, (uint64_t)(uintptr_t)mm), 0);
	/* SS not mapped yet */
	start_as(q, me());
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_SS, 0x10000), -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_DUS, 0x10000), -EINVAL);
	munmap(mm, PAGE);
	uq_release(q);
}
END_TEST

START_TEST(test_unmap_and_map_again)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	char *ss, *ss2;
	void *mm;

	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), -EINVAL);
	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), 0);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), -EINVAL);
	munmap(mm, PAGE);
	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EBUSY);
	munmap(mm, PAGE);

	/* SS: unmap keeps the memory; mapping it again gives the same memory */
	start_as(q, me());
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_SS), -EINVAL);
	ss = map_ss_me(q, 2 * PAGE);
	fill(ss, 2 * PAGE, 3);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_SS), 0);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_SS), -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_SS, (uint64_t)(uintptr_t)ss), -EINVAL);
	/* another size than the existing SS: refused */
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, PAGE), -EINVAL);
	ss2 = map_me(q, UACCE_QFRT_SS, 2 * PAGE);
	ck_assert_mem_eq(ss2, ss, 2 * PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, 2 * PAGE), -EBUSY);
	munmap(ss, 2 * PAGE);
	munmap(ss2, 2 * PAGE);
	uq_release(q);
}
END_TEST

START_TEST(test_unmap_forgets_device_address)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct dummy_hw_queue_reg *reg;
	char *ss;

	start_as(q, me());
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 2 * PAGE);
	fill(ss, 64, 1);
	ck_assert_uint_eq(do_copy(reg, ss, ss + PAGE, 64), 0);
	ck_assert_mem_eq(ss + PAGE, ss, 64);
	/* the device loses the SS address with the unmap */
	ck_assert_int_eq(uq_unmap(q, getpid(), UACCE_QFRT_SS), 0);
	fill(ss, 64, 2);
	ck_assert_uint_ne(do_copy(reg, ss, ss + PAGE, 64), 0);
	ck_assert_mem_ne(ss + PAGE, ss, 64);
	munmap(ss, 2 * PAGE);
	munmap(reg, PAGE);
	uq_release(q);
}
END_TEST

/* the memfd's inode: the same file, or another */
static ino_t region_ino(struct uacce_queue *q, int type)
{
	struct uacce_region *r = uacce_hwq_region(q, type);
	struct stat st;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(fstat(r->fd, &st), 0);
	return st.st_ino;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * A queue that never handed a region out leaves its memfds to the next
 * queue, zeroed, under new serials; one handed out is never seen again
 */
START_TEST(test_pool_reuses_unseen_regions)
{
	struct uacce_dev *d = mkdev(fx_core, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	ino_t mmio = region_ino(q, UACCE_QFRT_MMIO), dus = region_ino(q, UACCE_QFRT_DUS);
	uint64_t serial = uacce_hwq_region(q, UACCE_QFRT_MMIO)->serial;
	char *m = uacce_region_map(uacce_hwq_region(q, UACCE_QFRT_MMIO));
	unsigned n;
	size_t bytes;
	void *p;

	memset(m + PAGE / 2, 0xa5, PAGE / 2);	/* what the device wrote */
	uq_release(q);
	region_pool_stats(&n, &bytes);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(bytes, 2 * PAGE);
	q = open_me(d);
	ck_assert_uint_eq(region_ino(q, UACCE_QFRT_MMIO) == mmio || region_ino(q, UACCE_QFRT_MMIO) == dus, 1);
	ck_assert_uint_eq(region_ino(q, UACCE_QFRT_DUS) == mmio || region_ino(q, UACCE_QFRT_DUS) == dus, 1);
	ck_assert_uint_ne(uacce_hwq_region(q, UACCE_QFRT_MMIO)->serial, serial);
	ck_assert_uint_ne(uacce_hwq_region(q, UACCE_QFRT_DUS)->serial, serial);
	region_pool_stats(&n, &bytes);
	ck_assert_uint_eq(n, 0);
	/* zeroed: nothing of the last queue's (the new one's register page aside) */
	m = uacce_region_map(uacce_hwq_region(q, UACCE_QFRT_MMIO));
	ck_assert(all_zero(m + PAGE / 2, PAGE / 2));
	m = uacce_region_map(uacce_hwq_region(q, UACCE_QFRT_DUS));
	ck_assert(all_zero(m + PAGE / 2, PAGE / 2));
	/* the MMIO goes out: only the DUS comes back to the pool */
	mmio = region_ino(q, UACCE_QFRT_MMIO);
	dus = region_ino(q, UACCE_QFRT_DUS);
	p = map_me(q, UACCE_QFRT_MMIO, PAGE);
	munmap(p, PAGE);
	uq_release(q);
	region_pool_stats(&n, &bytes);
	ck_assert_uint_eq(n, 1);
	q = open_me(d);
	ck_assert_uint_ne(region_ino(q, UACCE_QFRT_MMIO), mmio);
	ck_assert_uint_ne(region_ino(q, UACCE_QFRT_DUS), mmio);
	ck_assert_uint_eq(region_ino(q, UACCE_QFRT_MMIO) == dus || region_ino(q, UACCE_QFRT_DUS) == dus, 1);
	uq_release(q);
}
END_TEST

/* the pool holds REGION_POOL_MAX regions (REGION_POOL_BYTES) at most; the rest is freed */
START_TEST(test_pool_bounded)
{
	enum { N = 160 };	/* 2 regions each: 320, far more than the pool holds */
	struct uacce_dev *d = mkdev(fx_core, "dummy_v2", false, N, 1);
	struct uacce_queue *q[N];
	unsigned n;
	size_t bytes;

	for (int i = 0; i < N; i++)
		q[i] = open_me(d);
	for (int i = 0; i < N; i++)
		uq_release(q[i]);
	region_pool_stats(&n, &bytes);
	ck_assert_uint_eq(n, REGION_POOL_MAX);
	ck_assert_uint_eq(bytes, REGION_POOL_MAX * PAGE);
	ck_assert_uint_le(bytes, REGION_POOL_BYTES);
}
END_TEST

/* a hold (a backend thread's) keeps the memory mapped past the queue, out of the pool */
START_TEST(test_region_hold_outlives_queue)
{
	struct uacce_dev *d = mkdev(fx_core, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_region *r = uacce_region_hold(uacce_hwq_region(q, UACCE_QFRT_MMIO));
	volatile uint32_t *w = uacce_region_map(r);
	unsigned n;
	size_t bytes;

	uq_release(q);
	region_pool_stats(&n, &bytes);
	ck_assert_uint_eq(n, 1);	/* the DUS only */
	*w = 7;				/* still mapped: no fault */
	ck_assert_uint_eq(*w, 7);
	uacce_region_drop(r);
	region_pool_stats(&n, &bytes);
	ck_assert_uint_eq(n, 2);
}
END_TEST

TCase *tc_regions(void)
{
	TCase *tc = tcase_create("regions");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_map_exact_size);
	tcase_add_test(tc, test_map_twice_ebusy);
	tcase_add_test(tc, test_map_sva_dko_ss_refused);
	tcase_add_test(tc, test_map_ss_only_after_start);
	tcase_add_test(tc, test_map_ss_huge_refused);
	tcase_add_test(tc, test_map_absent_region);
	tcase_add_test(tc, test_map_after_put_q);
	tcase_add_test(tc, test_map_fd_is_register_page);
	tcase_add_test(tc, test_mapped_rules);
	tcase_add_test(tc, test_unmap_and_map_again);
	tcase_add_test(tc, test_unmap_forgets_device_address);
	tcase_add_test(tc, test_pool_reuses_unseen_regions);
	tcase_add_test(tc, test_pool_bounded);
	tcase_add_test(tc, test_region_hold_outlives_queue);
	return tc;
}
