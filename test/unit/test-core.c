/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core.c - unit tests of the queue core (daemon/core.c) driven
 * directly: the suite.  Each group (a Check test case) is in a file of its
 * own, test-core-<group>.c; what they share is in core-fixture.h.
 *
 * Most groups run the real "soft" backend (dummy_v1 / dummy_v2) behind the
 * core; "backend" and "locking" run the fake one (fake-backend.h), which
 * counts and checks every backend op and can block in an ioctl.
 *
 * Every test has a core of its own; Check runs each test in its own
 * process.  The "regressions" case holds tests of bugs these tests found
 * (fixed).  UACCED_TEST_LOG=1 shows the core's log.
 */
#define _GNU_SOURCE
#include "unit-main.h"
#include "core-fixture.h"

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");

	suite_add_tcase(s, tc_devices());
	suite_add_tcase(s, tc_open());
	suite_add_tcase(s, tc_ioctl());
	suite_add_tcase(s, tc_owner());
	suite_add_tcase(s, tc_regions());
	suite_add_tcase(s, tc_rlimit());
	suite_add_tcase(s, tc_share_svas());
	suite_add_tcase(s, tc_device());
	suite_add_tcase(s, tc_death());
	suite_add_tcase(s, tc_policy());
	/* the mainline ABI profile and UB_MMAP's region choice */
	suite_add_tcase(s, tc_mainline());
	/* bugs found by these tests, fixed: kept as regressions */
	suite_add_tcase(s, tc_regressions());
	/* the backend contract and the locks, with the fake backend */
	suite_add_tcase(s, tc_backend());
	suite_add_tcase(s, tc_locking());
	/* the live restart: freeze, export, adopt into a second core */
	suite_add_tcase(s, tc_handover());
	return s;
}

int main(void)
{
	/* refusals and the expected errors are logged: keep the output readable */
	log_set_level(getenv("UACCED_TEST_LOG") ? LOG_DEBUG : LOG_CRIT);
	return unit_run(core_suite());
}
