/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vfio.c - the parts of the vfio backend that need no hardware: the
 * IOVA allocator (edu's 28-bit DMA window), PCI address parsing, and the
 * check of a live restart's device state (what a successor refuses).  The
 * device itself is tested in the QEMU guest (test/integ/run-vfio.sh,
 * run-vfio-restart.sh).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "unit-main.h"
#include "iova.h"
#include "vfio.h"
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

/* an allocator rebuilt from iova_list's ranges is the same allocator */
START_TEST(test_iova_list_restore)
{
	struct iova_space s, t;
	struct iova_span sp[8], tp[8];
	uint64_t a, b, c, x, y;
	int n;

	iova_init(&s, MIB, 8 * MIB, 4096);
	ck_assert_int_eq(iova_reserve(&s, 5 * MIB, 6 * MIB - 1), 0);
	ck_assert_int_eq(iova_alloc(&s, 8192, &a), 0);
	ck_assert_int_eq(iova_alloc(&s, MIB, &b), 0);
	ck_assert_int_eq(iova_alloc(&s, 4096, &c), 0);
	ck_assert_int_eq(iova_free(&s, b), 0);		/* a hole */
	n = iova_list(&s, sp, 8);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(iova_list(&s, sp, 1), 3);	/* the count even when cut */
	n = iova_list(&s, sp, 8);
	iova_init(&t, MIB, 8 * MIB, 4096);
	for (int i = n - 1; i >= 0; i--)		/* any order */
		ck_assert_int_eq(iova_restore(&t, sp[i].start, sp[i].size), 0);
	ck_assert_int_eq(iova_list(&t, tp, 8), n);
	ck_assert_mem_eq(sp, tp, (size_t)n * sizeof(*sp));
	ck_assert_uint_eq(t.in_use, s.in_use);
	/* the same next allocations */
	ck_assert_int_eq(iova_alloc(&s, 4096, &x), 0);
	ck_assert_int_eq(iova_alloc(&t, 4096, &y), 0);
	ck_assert_uint_eq(x, y);
	ck_assert_uint_eq(x, b);
	/* no overlap, nothing outside the window, no unaligned start, no 0 */
	ck_assert_int_eq(iova_restore(&t, a, 4096), -EEXIST);
	ck_assert_int_eq(iova_restore(&t, a + 4096, 8192), -EEXIST);
	ck_assert_int_eq(iova_restore(&t, 0, 4096), -EINVAL);
	ck_assert_int_eq(iova_restore(&t, 8 * MIB - 4096, 8192), -EINVAL);
	ck_assert_int_eq(iova_restore(&t, 2 * MIB + 1, 4096), -EINVAL);
	ck_assert_int_eq(iova_restore(&t, 2 * MIB, 0), -EINVAL);
	ck_assert_int_eq(iova_restore(&t, 7 * MIB, UINT64_MAX), -EINVAL);
	/* a restored range frees like an allocated one */
	ck_assert_int_eq(iova_free(&t, c), 0);
	iova_fini(&s);
	iova_fini(&t);
}
END_TEST

/* a device state as vfio.c writes it: header only (23 bytes), BDF, ids */
static void state_of(struct uacce_dev_state *st, uint8_t *blob, const char *bdf, uint8_t flags)
{
	memset(blob, 0, 64);
	blob[0] = VFIO_STATE_V1;
	blob[1] = flags;
	blob[2] = 0x34, blob[3] = 0x12;		/* 1234:11e8, edu */
	blob[4] = 0xe8, blob[5] = 0x11;
	blob[6] = 4;				/* IOMMU group 4 */
	memcpy(blob + 10, bdf, VFIO_BDF_LEN);
	st->blob = blob;
	st->len = 23;
	st->nfds = 4;
	for (int i = 0; i < UACCE_DEV_STATE_FDS; i++)
		st->fds[i] = -1;
}

/* what a successor refuses before it touches anything (dev_check) */
START_TEST(test_state_check_refusals)
{
	json_object *entry = json_tokener_parse("{\"pci\": \"0000:00:04.0\"}");
	struct uacce_dev_cfg cfg = { .name = "edu", .backend = "vfio", .api = "dummy_v1",
				     .queues = 4, .entry = entry, .node_name = "uacce-edu-1" };
	struct uacce_dev_state st;
	uint8_t blob[64];
	char why[400];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), efd = eventfd(0, EFD_CLOEXEC);

	ck_assert_ptr_nonnull(entry);
	ck_assert_int_ge(null, 0);
	ck_assert_int_ge(efd, 0);
	/* too short, a newer version */
	state_of(&st, blob, "0000:00:04.0", 0);
	st.len = 22;
	ck_assert_int_eq(vfio_state_check(&cfg, &st, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "too few"));
	state_of(&st, blob, "0000:00:04.0", 0);
	blob[0] = VFIO_STATE_V1 + 1;
	ck_assert_int_eq(vfio_state_check(&cfg, &st, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "version 2"));
	ck_assert_ptr_nonnull(strstr(why, "uacce-edu-1"));
	/* another function than the configuration's */
	state_of(&st, blob, "0000:00:05.0", 0);
	ck_assert_int_eq(vfio_state_check(&cfg, &st, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "0000:00:05.0"));
	/* a device no model takes over */
	state_of(&st, blob, "0000:00:04.0", 0);
	blob[4] = 0xe9;
	ck_assert_int_eq(vfio_state_check(&cfg, &st, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "1234:11e9"));
	/* the group's fds missing, or not VFIO's */
	state_of(&st, blob, "0000:00:04.0", 0);
	ck_assert_int_eq(vfio_state_check(&cfg, &st, why, sizeof(why)), -EBADF);
	ck_assert_ptr_nonnull(strstr(why, "container fd"));
	ck_assert_ptr_nonnull(strstr(why, "missing"));
	st.nfds = 0;
	ck_assert_int_eq(vfio_state_check(&cfg, &st, why, sizeof(why)), -EBADF);
	state_of(&st, blob, "0000:00:04.0", 0);
	st.fds[0] = null;
	st.fds[1] = null;
	st.fds[2] = efd;
	ck_assert_int_eq(vfio_state_check(&cfg, &st, why, sizeof(why)), -EBADF);
	ck_assert_ptr_nonnull(strstr(why, "container fd"));
	ck_assert_ptr_nonnull(strstr(why, "(/dev/null)"));
	/* an eventfd is no group fd either; a request eventfd must be one */
	st.fds[0] = -1;
	ck_assert_int_eq(vfio_state_check(&cfg, &st, why, sizeof(why)), -EBADF);
	ck_assert_ptr_nonnull(strstr(why, "container fd"));
	close(null);
	close(efd);
	json_object_put(entry);
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
	tcase_add_test(tc, test_iova_list_restore);
	tcase_add_test(tc, test_state_check_refusals);
	tcase_add_test(tc, test_bdf_parse);
	tcase_add_test(tc, test_sysfs_absent_function);
	suite_add_tcase(su, tc);
	return unit_run(su);
}
