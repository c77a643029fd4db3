/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vfio.c - the parts of the vfio backend that need no hardware: the
 * IOVA allocator (edu's 28-bit DMA window) and PCI address parsing.  The
 * device itself is tested in the QEMU guest (test/integ/run-vfio.sh).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "unit-main.h"
#include "iova.h"
#include "vfio_pci.h"

#define MIB (1ULL << 20)

START_TEST(test_iova_first_fit)
{
	struct iova_space s;
	uint64_t a, b, c, d;

	iova_init(&s, MIB, 8 * MIB, 4096);
	ck_assert_int_eq(iova_alloc(&s, 1, &a), 0);	/* rounded up to a page */
	ck_assert_uint_eq(a, MIB);
	ck_assert_int_eq(iova_alloc(&s, 2 * MIB, &b), 0);
	ck_assert_uint_eq(b, MIB + 4096);
	ck_assert_int_eq(iova_alloc(&s, 4096, &c), 0);
	ck_assert_uint_eq(c, 3 * MIB + 4096);
	ck_assert_uint_eq(s.in_use, 2 * MIB + 2 * 4096);
	/* a freed hole is reused by what fits, the rest goes after */
	ck_assert_int_eq(iova_free(&s, b), 0);
	ck_assert_int_eq(iova_alloc(&s, MIB, &d), 0);
	ck_assert_uint_eq(d, b);
	ck_assert_int_eq(iova_alloc(&s, 2 * MIB, &d), 0);
	ck_assert_uint_eq(d, c + 4096);
	ck_assert_int_eq(iova_free(&s, 12345), -ENOENT);
	ck_assert_int_eq(iova_free(&s, a + 8), -ENOENT);	/* inside, not a start */
	iova_fini(&s);
	ck_assert_uint_eq(s.in_use, 0);
}
END_TEST

START_TEST(test_iova_window_bounds)
{
	struct iova_space s;
	uint64_t a, b;

	iova_init(&s, MIB, 4 * MIB, 4096);
	ck_assert_int_eq(iova_alloc(&s, 0, &a), -EINVAL);
	ck_assert_int_eq(iova_alloc(&s, 3 * MIB + 1, &a), -ENOSPC);
	ck_assert_int_eq(iova_alloc(&s, UINT64_MAX, &a), -ENOSPC);	/* no wrap */
	ck_assert_int_eq(iova_alloc(&s, UINT64_MAX - 100, &a), -ENOSPC);
	ck_assert_int_eq(iova_alloc(&s, 3 * MIB, &a), 0);	/* exactly the window */
	ck_assert_uint_eq(a, MIB);
	ck_assert_int_eq(iova_alloc(&s, 4096, &b), -ENOSPC);
	ck_assert_int_eq(iova_free(&s, a), 0);
	/* many small ranges fill it exactly, then no more */
	for (int i = 0; i < 768; i++) {
		ck_assert_int_eq(iova_alloc(&s, 4096, &b), 0);
		ck_assert(b >= MIB && b + 4096 <= 4 * MIB);
	}
	ck_assert_int_eq(iova_alloc(&s, 1, &b), -ENOSPC);
	iova_fini(&s);
}
END_TEST

/* what the IOMMU cannot map is taken out of the window for good */
START_TEST(test_iova_reserve)
{
	struct iova_space s;
	uint64_t a, b;

	iova_init(&s, MIB, 8 * MIB, 4096);
	/* a hole in the middle (inclusive end), and ranges outside the window */
	ck_assert_int_eq(iova_reserve(&s, 2 * MIB, 3 * MIB - 1), 0);
	ck_assert_int_eq(iova_reserve(&s, 0, MIB - 1), 0);		/* below: nothing */
	ck_assert_int_eq(iova_reserve(&s, 9 * MIB, 10 * MIB), 0);	/* above: nothing */
	ck_assert_uint_eq(s.in_use, MIB);
	ck_assert_int_eq(iova_reserve(&s, 2 * MIB + 4096, 2 * MIB + 8191), -EEXIST);
	/* allocations go around it */
	ck_assert_int_eq(iova_alloc(&s, MIB, &a), 0);
	ck_assert_uint_eq(a, MIB);
	ck_assert_int_eq(iova_alloc(&s, 4096, &b), 0);
	ck_assert_uint_eq(b, 3 * MIB);
	ck_assert_int_eq(iova_alloc(&s, 5 * MIB, &b), -ENOSPC);	/* 5 MiB - 4 KiB left */
	ck_assert_int_eq(iova_alloc(&s, 5 * MIB - 4096, &b), 0);
	ck_assert_uint_eq(b, 3 * MIB + 4096);
	/* a reservation is never freed by an allocation's address */
	ck_assert_int_eq(iova_free(&s, a), 0);
	ck_assert_int_eq(iova_alloc(&s, 2 * MIB, &a), -ENOSPC);
	iova_fini(&s);
	/* clipped to the window at both ends */
	iova_init(&s, MIB, 4 * MIB, 4096);
	ck_assert_int_eq(iova_reserve(&s, 0, 2 * MIB - 1), 0);
	ck_assert_int_eq(iova_reserve(&s, 3 * MIB, UINT64_MAX), 0);
	ck_assert_uint_eq(s.in_use, 2 * MIB);
	ck_assert_int_eq(iova_alloc(&s, MIB, &a), 0);
	ck_assert_uint_eq(a, 2 * MIB);
	ck_assert_int_eq(iova_alloc(&s, 1, &b), -ENOSPC);
	iova_fini(&s);
	/* an unaligned hole takes whole pages: what follows stays aligned */
	iova_init(&s, MIB, 4 * MIB, 4096);
	ck_assert_int_eq(iova_reserve(&s, MIB + 100, MIB + 5000), 0);
	ck_assert_uint_eq(s.in_use, 8192);
	ck_assert_int_eq(iova_alloc(&s, 4096, &a), 0);
	ck_assert_uint_eq(a, MIB + 8192);
	iova_fini(&s);
}
END_TEST

START_TEST(test_bdf_parse)
{
	char out[VFIO_BDF_LEN];

	ck_assert_int_eq(vfio_bdf_parse("0000:00:03.0", out), 0);
	ck_assert_str_eq(out, "0000:00:03.0");
	ck_assert_int_eq(vfio_bdf_parse("ABCD:EF:1F.7", out), 0);
	ck_assert_str_eq(out, "abcd:ef:1f.7");
	ck_assert_int_eq(vfio_bdf_parse("00:03.0", out), -EINVAL);	/* no domain */
	ck_assert_int_eq(vfio_bdf_parse("0000:00:03.8", out), -EINVAL);	/* function > 7 */
	ck_assert_int_eq(vfio_bdf_parse("0000:00:20.0", out), -EINVAL);	/* slot > 0x1f */
	ck_assert_int_eq(vfio_bdf_parse("0000:00:03.0 ", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse("0000:0g:03.0", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse("0000-00:03.0", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse("../../../etc", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse("", out), -EINVAL);
	ck_assert_int_eq(vfio_bdf_parse(NULL, out), -EINVAL);
}
END_TEST

START_TEST(test_sysfs_absent_function)
{
	struct vfio_pci_sysfs s;

	/* a valid address no machine has: absent, not an error of another kind */
	ck_assert_int_eq(vfio_pci_sysfs_read("ffff:ff:1f.7", &s), -ENODEV);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("vfio");
	TCase *tc = tcase_create("vfio");

	tcase_add_test(tc, test_iova_first_fit);
	tcase_add_test(tc, test_iova_window_bounds);
	tcase_add_test(tc, test_iova_reserve);
	tcase_add_test(tc, test_bdf_parse);
	tcase_add_test(tc, test_sysfs_absent_function);
	suite_add_tcase(su, tc);
	return unit_run(su);
}
