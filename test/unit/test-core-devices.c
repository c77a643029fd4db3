/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-devices.c - unit tests of the queue core (daemon/core.c), group
 * "devices": device attributes (region offsets, the backend's info),
 * core_add_device's errors, core_free.  Helpers and fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

START_TEST(test_qfrs_offset_v1)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 3);
	uint64_t off[UACCE_QFRT_NR];
	char buf[128];

	ud_qfrs_offset(d, off);
	ck_assert_uint_eq(off[UACCE_QFRT_MMIO], 0);
	ck_assert_uint_eq(off[UACCE_QFRT_DKO], UACCE_QFR_NA);
	ck_assert_uint_eq(off[UACCE_QFRT_DUS], UACCE_QFR_NA);
	ck_assert_uint_eq(off[UACCE_QFRT_SS], 4096);
	snprintf(buf, sizeof(buf), "%llu\t%llu\t%llu\t%llu", (unsigned long long)off[0],
		 (unsigned long long)off[1], (unsigned long long)off[2],
		 (unsigned long long)off[3]);
	ck_assert_str_eq(buf, "0\t18446744073709551615\t18446744073709551615\t4096");
	ck_assert_str_eq(ud_name(d), "uacce-dummy-3");
	ck_assert_int_eq(ud_id(d), 3);
	ck_assert_str_eq(ud_info(d)->api, "dummy_v1");
	ck_assert_str_eq(ud_info(d)->algorithms, "memcpy");
	ck_assert_uint_eq(ud_info(d)->flags, UACCE_DEV_SHARE_DOMAIN);
	ck_assert_int_eq(ud_available_instances(d), 2);
	core_free(c);
}
END_TEST

START_TEST(test_qfrs_offset_v2)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 5, 0);
	uint64_t off[UACCE_QFRT_NR];

	ud_qfrs_offset(d, off);
	ck_assert_uint_eq(off[UACCE_QFRT_MMIO], 0);
	ck_assert_uint_eq(off[UACCE_QFRT_DKO], UACCE_QFR_NA);
	ck_assert_uint_eq(off[UACCE_QFRT_DUS], 4096);
	ck_assert_uint_eq(off[UACCE_QFRT_SS], 8192);
	ck_assert_str_eq(ud_info(d)->api, "dummy_v2");
	ck_assert_uint_eq(ud_info(d)->flags, UACCE_DEV_SVA);
	ck_assert_int_eq(ud_available_instances(d), 5);
	core_free(c);
}
END_TEST

START_TEST(test_add_device_errors)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "nosuch", .api = "dummy_v1", .queues = 1,
	};
	struct uacce_dev *d = NULL;

	ck_assert_ptr_null(uacce_backend_find(cfg.backend));
	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), -EINVAL);
	cfg.backend = "soft";
	cfg.api = "dummy_v9";
	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), -EINVAL);
	cfg.api = "dummy_v1";
	cfg.queues = 0;
	ck_assert_int_lt(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), 0);
	cfg.queues = 4097;
	ck_assert_int_lt(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), 0);
	ck_assert_ptr_null(d);
	core_free(c);
}
END_TEST

START_TEST(test_core_free_removes_devices)
{
	struct uacce_core *c = mkcore();

	mkdev(c, "dummy_v1", false, 4, 1);
	mkdev(c, "dummy_v2", true, 4, 2);
	core_free(c);	/* ASan: nothing leaks */
	core_free(NULL);
}
END_TEST

TCase *tc_devices(void)
{
	TCase *tc = tcase_create("devices");

	tcase_add_test(tc, test_qfrs_offset_v1);
	tcase_add_test(tc, test_qfrs_offset_v2);
	tcase_add_test(tc, test_add_device_errors);
	tcase_add_test(tc, test_core_free_removes_devices);
	return tc;
}
