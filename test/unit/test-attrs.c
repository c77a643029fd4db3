/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-attrs.c - unit tests of the published class directory
 * (daemon/attrs.c) for what both profiles share: "dev" (the node's
 * MAJ:MIN), the "device" link (a directory of our own with numa_node -1
 * for a software device, the hardware's sysfs directory otherwise),
 * available_instances current after every change (and never stale when it
 * cannot be rewritten), no temporary file ever inside a class directory,
 * and nothing left after attrs_remove.  A core with the fake backend (the
 * instances hook rewrites the attribute, as the daemon's does) in a
 * temporary runtime directory.  Links attrs.c, the core and the fake
 * backend.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "unit-main.h"
#include "attrs.h"
#include "core.h"
#include "fake-backend.h"

static char rundir[64];
static struct uacce_core *core;
static int hook_calls;

/* the daemon's hook (main.c): the core lock is held */
static void on_instances(struct uacce_dev *d, void *ctx)
{
	(void)ctx;
	hook_calls++;
	attrs_update_instances(rundir, d);
}

static void setup(void)
{
	static const struct uacce_core_hooks hooks = { .instances_changed = on_instances };

	snprintf(rundir, sizeof(rundir), "/tmp/test-attrs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rundir));
	fake_reset();
	hook_calls = 0;
	ck_assert_int_eq(core_new(&hooks, &core), 0);
}

static void teardown(void)
{
	char cmd[128];

	core_free(core);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", rundir);
}

/* a fake device with id `id`; sysfs_device: the hardware behind it, or NULL */
static struct uacce_dev *mkdev(int id, enum uacce_abi abi, const char *sysfs_device)
{
	json_object *entry = json_object_new_object();
	struct uacce_dev_cfg cfg = {
		.name = "fake", .backend = FAKE_NAME, .api = FAKE_API, .sva = true,
		.queues = 4, .abi = abi, .entry = entry,
	};
	struct uacce_dev *d = NULL;

	if (sysfs_device)
		json_object_object_add(entry, "sysfs_device", json_object_new_string(sysfs_device));
	ck_assert_int_eq(core_add_device(core, fake_ops(), &cfg, id, &d), 0);
	json_object_put(entry);
	return d;
}

static void drop(struct uacce_dev *d)
{
	core_remove_device(d);
	ud_unref(d);
}

/* the text of <rundir>/<rel>, "" when it cannot be read */
static const char *slurp(const char *rel)
{
	static char buf[256];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", rundir, rel);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *rel)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", rundir, rel);
	return lstat(path, &st) == 0;
}

/* entries of <rundir>/<rel> whose names contain `part` */
static int count_entries(const char *rel, const char *part)
{
	char path[256];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", rundir, rel);
	dir = opendir(path);
	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)))
		n += strstr(de->d_name, part) != NULL;
	closedir(dir);
	return n;
}

START_TEST(test_dev)
{
	struct uacce_dev *v4 = mkdev(0, UACCE_ABI_V4, NULL);
	struct uacce_dev *ml = mkdev(1, UACCE_ABI_MAINLINE, NULL);

	ck_assert_int_eq(attrs_publish(rundir, v4), 0);
	ck_assert_int_eq(attrs_publish(rundir, ml), 0);
	/* before the node exists: no dev (its number is the kernel's to give) */
	ck_assert(!exists("class/uacce-fake-0/dev"));
	ck_assert_int_eq(attrs_publish_dev(rundir, v4, makedev(510, 7)), 0);
	ck_assert_str_eq(slurp("class/uacce-fake-0/dev"), "510:7\n");
	/* both profiles; a FUSE fallback file has no device number: 0:0 */
	ck_assert_int_eq(attrs_publish_dev(rundir, ml, 0), 0);
	ck_assert_str_eq(slurp("class/fake-1/dev"), "0:0\n");
	/* minors above 255 as sysfs prints them (print_dev_t: MAJOR:MINOR) */
	ck_assert_int_eq(attrs_publish_dev(rundir, v4, makedev(4095, 1048575)), 0);
	ck_assert_str_eq(slurp("class/uacce-fake-0/dev"), "4095:1048575\n");
	drop(v4);
	drop(ml);
}
END_TEST

START_TEST(test_device_link_soft)
{
	struct uacce_dev *d = mkdev(2, UACCE_ABI_MAINLINE, NULL);
	char link[256], got[PATH_MAX], want[PATH_MAX];
	struct stat st;
	ssize_t n;

	ck_assert_int_eq(attrs_publish(rundir, d), 0);
	snprintf(link, sizeof(link), "%s/class/fake-2/device", rundir);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	/* absolute, to our own directory */
	n = readlink(link, got, sizeof(got) - 1);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_ptr_nonnull(realpath(rundir, want));
	strcat(want, "/devices/fake-2");
	ck_assert_str_eq(got, want);
	/* what UADK reads: device/numa_node */
	ck_assert_str_eq(slurp("class/fake-2/device/numa_node"), "-1\n");
	drop(d);
}
END_TEST

START_TEST(test_device_link_hw)
{
	struct uacce_dev *d = mkdev(3, UACCE_ABI_V4, "/sys/bus/pci/devices/0000:00:03.0");
	char link[256], got[256];
	ssize_t n;

	ck_assert_int_eq(attrs_publish(rundir, d), 0);
	snprintf(link, sizeof(link), "%s/class/uacce-fake-3/device", rundir);
	n = readlink(link, got, sizeof(got) - 1);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_str_eq(got, "/sys/bus/pci/devices/0000:00:03.0");
	/* the hardware's own directory: none of ours */
	ck_assert(!exists("devices/uacce-fake-3"));
	drop(d);
}
END_TEST

START_TEST(test_instances_current)
{
	struct uacce_dev *d = mkdev(4, UACCE_ABI_V4, NULL);
	struct uacce_caller me = { .tid = gettid(), .uid = getuid(), .gid = getgid() };
	struct uacce_queue *q1, *q2;

	ck_assert_int_eq(attrs_publish(rundir, d), 0);
	ck_assert_str_eq(slurp("class/uacce-fake-4/available_instances"), "4\n");
	/* taken at open: the file says so when open returns */
	ck_assert_int_eq(uq_open(d, &me, &q1), 0);
	ck_assert_str_eq(slurp("class/uacce-fake-4/available_instances"), "3\n");
	ck_assert_int_eq(uq_open(d, &me, &q2), 0);
	ck_assert_str_eq(slurp("class/uacce-fake-4/available_instances"), "2\n");
	uq_release(q1);
	ck_assert_str_eq(slurp("class/uacce-fake-4/available_instances"), "3\n");
	uq_release(q2);
	ck_assert_str_eq(slurp("class/uacce-fake-4/available_instances"), "4\n");
	ck_assert_int_ge(hook_calls, 4);
	/* the temporaries live beside class/, never in a class directory */
	ck_assert_int_eq(count_entries("class/uacce-fake-4", "tmp"), 0);
	ck_assert_int_eq(count_entries("class", "tmp"), 0);
	drop(d);
}
END_TEST

static ino_t ino_of(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", rundir, rel);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_ino;
}

/*
 * Each value has its file, made once (under .avail/<node>/); the attribute
 * is exchanged with it: no inode made or freed per open or close, and the
 * value files' directory does not grow
 */
START_TEST(test_instances_value_files)
{
	struct uacce_dev *d = mkdev(8, UACCE_ABI_V4, NULL);
	struct uacce_caller me = { .tid = gettid(), .uid = getuid(), .gid = getgid() };
	struct uacce_queue *q;
	ino_t three = 0, four;
	int files = -1;

	ck_assert_int_eq(attrs_publish(rundir, d), 0);
	four = ino_of("class/uacce-fake-8/available_instances");
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(uq_open(d, &me, &q), 0);
		ck_assert_str_eq(slurp("class/uacce-fake-8/available_instances"), "3\n");
		if (!three)
			three = ino_of("class/uacce-fake-8/available_instances");
		ck_assert_uint_eq(ino_of("class/uacce-fake-8/available_instances"), three);
		ck_assert_uint_ne(three, four);
		uq_release(q);
		ck_assert_str_eq(slurp("class/uacce-fake-8/available_instances"), "4\n");
		ck_assert_uint_eq(ino_of("class/uacce-fake-8/available_instances"), four);
		if (files < 0)
			files = count_entries(".avail/uacce-fake-8", "");
		ck_assert_int_eq(count_entries(".avail/uacce-fake-8", ""), files);
	}
	ck_assert_int_gt(files, 0);
	ck_assert_int_eq(count_entries("class/uacce-fake-8", "tmp"), 0);
	ck_assert_int_eq(count_entries(".", "tmp"), 0);
	attrs_remove(rundir, d);
	ck_assert(!exists(".avail/uacce-fake-8"));
	drop(d);
}
END_TEST

START_TEST(test_instances_never_stale)
{
	struct uacce_dev *d = mkdev(5, UACCE_ABI_V4, NULL);
	struct uacce_caller me = { .tid = gettid(), .uid = getuid(), .gid = getgid() };
	struct uacce_queue *q;
	char tmp[256];

	ck_assert_int_eq(attrs_publish(rundir, d), 0);
	/* the new value's file cannot be made: the old value must not stay */
	snprintf(tmp, sizeof(tmp), "%s/.uacce-fake-5.avail.tmp", rundir);
	ck_assert_int_eq(mkdir(tmp, 0755), 0);
	ck_assert_int_eq(uq_open(d, &me, &q), 0);
	ck_assert(!exists("class/uacce-fake-5/available_instances"));
	/* the next change writes it again */
	ck_assert_int_eq(rmdir(tmp), 0);
	uq_release(q);
	ck_assert_str_eq(slurp("class/uacce-fake-5/available_instances"), "4\n");
	drop(d);
}
END_TEST

START_TEST(test_remove_all)
{
	struct uacce_dev *a = mkdev(6, UACCE_ABI_MAINLINE, NULL);
	struct uacce_dev *b = mkdev(7, UACCE_ABI_V4, "/sys/bus/pci/devices/0000:00:04.0");

	ck_assert_int_eq(attrs_publish(rundir, a), 0);
	ck_assert_int_eq(attrs_publish_dev(rundir, a, makedev(511, 0)), 0);
	ck_assert_int_eq(attrs_publish(rundir, b), 0);
	ck_assert_int_eq(attrs_publish_dev(rundir, b, makedev(511, 1)), 0);
	attrs_remove(rundir, a);
	ck_assert(!exists("class/fake-6"));
	ck_assert(!exists("devices/fake-6"));
	ck_assert(exists("class/uacce-fake-7/device"));
	attrs_remove(rundir, b);
	/* nothing left: not even the tree's directories */
	ck_assert(!exists("class"));
	ck_assert(!exists("devices"));
	ck_assert(!exists(".avail"));
	ck_assert_int_eq(count_entries(".", "tmp"), 0);
	drop(a);
	drop(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("attrs");
	TCase *tc = tcase_create("attrs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dev);
	tcase_add_test(tc, test_device_link_soft);
	tcase_add_test(tc, test_device_link_hw);
	tcase_add_test(tc, test_instances_current);
	tcase_add_test(tc, test_instances_value_files);
	tcase_add_test(tc, test_instances_never_stale);
	tcase_add_test(tc, test_remove_all);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
