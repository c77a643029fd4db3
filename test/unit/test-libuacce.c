/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-libuacce.c - libuacce's open against a runtime directory of our own
 * (no daemon): what uacce_queue_open reads of a device, and its cache of
 * it (libclient/uacce.c): kept while the device's attribute files stay,
 * read anew when the daemon publishes the device again or its node moves.
 * The "node" is a regular file here: open(2) is all the library does to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit-main.h"
#include "uacce/libuacce.h"
#include "uacce/uacce.h"

static char rt[64];

static void put(const char *rel, const char *val)
{
	char path[256], tmp[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", rt, rel);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(val, f);
	ck_assert_int_eq(fclose(f), 0);
	/* a new file, as the daemon's publish writes */
	ck_assert_int_eq(rename(tmp, path), 0);
}

static void mkdirs(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", rt, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* device uacce-x published with api `api`, its node in <rt>/<nodes> */
static void publish(const char *api, const char *nodes)
{
	char val[300];

	put("class/uacce-x/api", api);
	put("class/uacce-x/flags", "1\n");
	put("class/uacce-x/qfrs_offset", "0\t4096\t8192\t12288\n");
	snprintf(val, sizeof(val), "%s/%s\n", rt, nodes);
	put("devdir", val);
	snprintf(val, sizeof(val), "%s/uacce-x", nodes);
	put(val, "");
}

static void setup(void)
{
	snprintf(rt, sizeof(rt), "/tmp/uacce-libtest.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rt));
	mkdirs("class");
	mkdirs("class/uacce-x");
	mkdirs("n1");
	mkdirs("n2");
	setenv("UACCE_RUNTIME_DIR", rt, 1);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", rt);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *api_of(void)
{
	static char api[64];
	struct uacce_q *q;

	ck_assert_int_eq(uacce_queue_open("uacce-x", &q), 0);
	snprintf(api, sizeof(api), "%s", uacce_queue_api(q));
	uacce_queue_close(q);
	return api;
}

START_TEST(test_open_reads_attributes)
{
	uint64_t off, size;
	struct uacce_q *q;

	publish("dummy_v1\n", "n1");
	ck_assert_int_eq(uacce_queue_open("uacce-x", &q), 0);
	ck_assert_str_eq(uacce_queue_api(q), "dummy_v1");
	ck_assert_uint_eq(uacce_queue_flags(q), 1);
	ck_assert_int_eq(uacce_region_info(q, UACCE_QFRT_DUS, &off, &size), 0);
	ck_assert_uint_eq(off, 8192);
	uacce_queue_close(q);
}
END_TEST

/* kept: the files stay (a value changed in place is not a publish) */
START_TEST(test_cache_kept_while_files_stay)
{
	char path[256];
	int fd;

	publish("dummy_v1\n", "n1");
	ck_assert_str_eq(api_of(), "dummy_v1");
	snprintf(path, sizeof(path), "%s/class/uacce-x/flags", rt);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "7\n", 2), 2);
	close(fd);
	{
		struct uacce_q *q;

		ck_assert_int_eq(uacce_queue_open("uacce-x", &q), 0);
		ck_assert_uint_eq(uacce_queue_flags(q), 1);	/* the cache's */
		uacce_queue_close(q);
	}
}
END_TEST

/* a device published again (new files) is read anew, whatever it holds */
START_TEST(test_cache_republished_read_anew)
{
	struct uacce_q *q;

	publish("dummy_v1\n", "n1");
	ck_assert_str_eq(api_of(), "dummy_v1");
	publish("dummy_v2\n", "n1");
	put("class/uacce-x/flags", "3\n");
	ck_assert_int_eq(uacce_queue_open("uacce-x", &q), 0);
	ck_assert_str_eq(uacce_queue_api(q), "dummy_v2");
	ck_assert_uint_eq(uacce_queue_flags(q), 3);
	uacce_queue_close(q);
}
END_TEST

/* the node gone from where the cache has it: found where devdir says now */
START_TEST(test_cache_node_moved)
{
	char a[256], b[256], val[300];

	publish("dummy_v1\n", "n1");
	ck_assert_str_eq(api_of(), "dummy_v1");
	snprintf(a, sizeof(a), "%s/n1/uacce-x", rt);
	snprintf(b, sizeof(b), "%s/n2/uacce-x", rt);
	ck_assert_int_eq(rename(a, b), 0);
	snprintf(val, sizeof(val), "%s/n2\n", rt);
	put("devdir", val);
	ck_assert_str_eq(api_of(), "dummy_v1");
	/* and no node at all: the open's error, ENOENT */
	ck_assert_int_eq(unlink(b), 0);
	{
		struct uacce_q *q;

		ck_assert_int_eq(uacce_queue_open("uacce-x", &q), -ENOENT);
	}
}
END_TEST

/* no such device: ENODEV, cached or not */
START_TEST(test_no_device)
{
	struct uacce_q *q;

	ck_assert_int_eq(uacce_queue_open("uacce-y", &q), -ENODEV);
	publish("dummy_v1\n", "n1");
	ck_assert_str_eq(api_of(), "dummy_v1");
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s/class/uacce-x", rt);
		ck_assert_int_eq(system(cmd), 0);
	}
	ck_assert_int_eq(uacce_queue_open("uacce-x", &q), -ENODEV);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("libuacce");
	TCase *tc = tcase_create("open");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_reads_attributes);
	tcase_add_test(tc, test_cache_kept_while_files_stay);
	tcase_add_test(tc, test_cache_republished_read_anew);
	tcase_add_test(tc, test_cache_node_moved);
	tcase_add_test(tc, test_no_device);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
