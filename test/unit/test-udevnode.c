/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-udevnode.c - unit tests of a CUSE node's udev properties
 * (daemon/udevnode.c): the file udev's IMPORT{file} reads for
 * systemd/60-uacce.rules, for any node name, replaced (not appended) when
 * nodes.* change, refused for names that are no node's, and gone with the
 * node (its directory once empty).  The rule file itself is checked too:
 * it must select nodes by that file, not by a name pattern.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit-main.h"
#include "udevnode.h"

#ifndef UACCE_SRCDIR
#error "UACCE_SRCDIR: the source tree (for systemd/60-uacce.rules)"
#endif

static char top[64], dir[96];

static void setup(void)
{
	snprintf(top, sizeof(top), "/tmp/test-udevnode.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/udev", top);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
}

static const char *slurp(const char *name)
{
	static char buf[512];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int entries(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(dd);
	while ((de = readdir(dd)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(dd);
	return n;
}

START_TEST(test_any_name)
{
	/* v4, mainline, a node_prefix: the file is named after the node */
	ck_assert_int_eq(udevnode_write(dir, "uacce-dummy-0", 0, 998, 0660), 0);
	ck_assert_int_eq(udevnode_write(dir, "hisi_zip-3", 0, 998, 0660), 0);
	ck_assert_int_eq(udevnode_write(dir, "My.acc_el-x-12", 1001, 27, 0600), 0);
	ck_assert_str_eq(slurp("uacce-dummy-0"),
			 "UACCE_NODE_OWNER=0\nUACCE_NODE_GROUP=998\nUACCE_NODE_MODE=0660\n");
	ck_assert_str_eq(slurp("hisi_zip-3"),
			 "UACCE_NODE_OWNER=0\nUACCE_NODE_GROUP=998\nUACCE_NODE_MODE=0660\n");
	ck_assert_str_eq(slurp("My.acc_el-x-12"),
			 "UACCE_NODE_OWNER=1001\nUACCE_NODE_GROUP=27\nUACCE_NODE_MODE=0600\n");
	/* no temporaries left beside them */
	ck_assert_int_eq(entries(dir), 3);
}
END_TEST

START_TEST(test_replaced)
{
	ck_assert_int_eq(udevnode_write(dir, "zip-0", 0, 998, 0660), 0);
	ck_assert_int_eq(udevnode_write(dir, "zip-0", 0, 0, 0666), 0);
	ck_assert_str_eq(slurp("zip-0"),
			 "UACCE_NODE_OWNER=0\nUACCE_NODE_GROUP=0\nUACCE_NODE_MODE=0666\n");
	/* file type bits never reach the mode */
	ck_assert_int_eq(udevnode_write(dir, "zip-0", 0, 0, S_IFCHR | 0640), 0);
	ck_assert_str_eq(slurp("zip-0"),
			 "UACCE_NODE_OWNER=0\nUACCE_NODE_GROUP=0\nUACCE_NODE_MODE=0640\n");
}
END_TEST

START_TEST(test_bad_names)
{
	ck_assert_int_eq(udevnode_write(dir, "", 0, 0, 0660), -EINVAL);
	ck_assert_int_eq(udevnode_write(dir, "a/b", 0, 0, 0660), -EINVAL);
	ck_assert_int_eq(udevnode_write(dir, "..", 0, 0, 0660), -EINVAL);
	ck_assert_int_eq(udevnode_write(dir, ".x.tmp", 0, 0, 0660), -EINVAL);
	ck_assert_int_eq(udevnode_write("/nonexistent/x/udev", "zip-0", 0, 0, 0660), -ENOENT);
}
END_TEST

START_TEST(test_remove)
{
	struct stat st;

	ck_assert_int_eq(udevnode_write(dir, "zip-0", 0, 998, 0660), 0);
	ck_assert_int_eq(udevnode_write(dir, "zip-1", 0, 998, 0660), 0);
	udevnode_remove(dir, "zip-0");
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(entries(dir), 1);
	udevnode_remove(dir, "zip-1");
	ck_assert_int_eq(stat(dir, &st), -1);	/* empty: gone */
	udevnode_remove(dir, "zip-1");		/* twice: harmless */
}
END_TEST

/*
 * The installed rule: cuse devices with a properties file in the default
 * runtime directory, values from it; no name pattern (it would miss
 * mainline names and node_prefix ones, and touch other programs' devices).
 */
START_TEST(test_rule_file)
{
	char path[512], line[1024];
	bool rule = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/systemd/60-uacce.rules", UACCE_SRCDIR);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		ck_assert_msg(!rule, "more than one rule: %s", line);
		rule = true;
		ck_assert_ptr_nonnull(strstr(line, "SUBSYSTEM==\"cuse\""));
		ck_assert_ptr_nonnull(strstr(line, "TEST==\"/run/uacce/udev/$kernel\""));
		ck_assert_ptr_nonnull(strstr(line, "IMPORT{file}=\"/run/uacce/udev/$kernel\""));
		ck_assert_ptr_nonnull(strstr(line, "OWNER=\"$env{UACCE_NODE_OWNER}\""));
		ck_assert_ptr_nonnull(strstr(line, "GROUP=\"$env{UACCE_NODE_GROUP}\""));
		ck_assert_ptr_nonnull(strstr(line, "MODE=\"$env{UACCE_NODE_MODE}\""));
		ck_assert_ptr_null(strstr(line, "KERNEL=="));
	}
	fclose(f);
	ck_assert_msg(rule, "%s has no rule", path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("udevnode");
	TCase *tc = tcase_create("udevnode");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_any_name);
	tcase_add_test(tc, test_replaced);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_rule_file);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
