/* SPDX-License-Identifier: GPL-2.0-or-later */
/* unit-main.h - what every Check test program's main() ends with */
#ifndef UACCE_UNIT_MAIN_H
#define UACCE_UNIT_MAIN_H

#include <check.h>
#include <stdlib.h>

/* run every test of s (forking, Check's default); the exit status */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
