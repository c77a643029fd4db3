/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-fdident.c - fd_ident() (daemon/fdident.c) tells what fstat() would
 * without asking the file system (cached attributes): device, inode, type
 * and device number agree with fstat; the mount's type where we see it;
 * pipes and sockets are identified and local; closed fds are errors.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "unit-main.h"
#include "fdident.h"

static void same_as_fstat(const char *path)
{
	struct fd_ident id;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(fd_ident(fd, &id), 0);
	ck_assert_msg(id.dev == st.st_dev && id.ino == st.st_ino,
		      "%s: fd_ident %lu/%lu, fstat %lu/%lu (%s)", path, (unsigned long)id.dev,
		      (unsigned long)id.ino, (unsigned long)st.st_dev, (unsigned long)st.st_ino,
		      id.fstype);
	ck_assert(id.fstype[0]);
	close(fd);
}

START_TEST(test_agrees_with_fstat)
{
	char tmp[] = "/tmp/test-fdident.XXXXXX";
	int fd = mkstemp(tmp);

	ck_assert_int_ge(fd, 0);
	close(fd);
	same_as_fstat(tmp);
	unlink(tmp);
	same_as_fstat("/dev/null");
	{	/* a device node: its type and device number too */
		struct fd_ident id;
		struct stat st;
		int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		ck_assert_int_eq(fstat(nfd, &st), 0);
		ck_assert_int_eq(fd_ident(nfd, &id), 0);
		ck_assert(S_ISCHR(id.mode));
		ck_assert_uint_eq(id.rdev, st.st_rdev);
		close(nfd);
	}
	same_as_fstat("/proc/self/status");
	same_as_fstat("/");
}
END_TEST

START_TEST(test_devtmpfs_is_local)
{
	struct fd_ident id;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_eq(fd_ident(fd, &id), 0);
	/* /dev is devtmpfs or, in a container, a tmpfs */
	ck_assert_msg(fd_ident_local(&id), "/dev/null on %s", id.fstype);
	close(fd);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(fd_ident(fd, &id), 0);
	ck_assert_str_eq(id.fstype, "proc");
	ck_assert(!fd_ident_local(&id));
	close(fd);
}
END_TEST

/*
 * A device node on devtmpfs: its close is its driver's.  The memory
 * devices never wait; any other may (a CUSE node's last close waits for
 * its server's RELEASE, ours included; a tty's for its output).
 */
START_TEST(test_devices_by_driver)
{
	struct fd_ident id = { .mode = S_IFCHR | 0666, .fstype = "devtmpfs" };

	id.rdev = makedev(1, 3);	/* /dev/null */
	ck_assert(fd_ident_local(&id));
	id.rdev = makedev(1, 9);	/* /dev/urandom */
	ck_assert(fd_ident_local(&id));
	id.rdev = makedev(240, 0);	/* a CUSE node (dynamic major) */
	ck_assert(!fd_ident_local(&id));
	id.rdev = makedev(4, 64);	/* /dev/ttyS0 */
	ck_assert(!fd_ident_local(&id));
	id.mode = S_IFBLK | 0660;
	id.rdev = makedev(1, 0);	/* /dev/ram0: a block device, never */
	ck_assert(!fd_ident_local(&id));
	id.mode = S_IFREG | 0644;	/* a file on the same tmpfs-like mount */
	ck_assert(fd_ident_local(&id));
}
END_TEST

/* pipes and sockets live on no mount we see: identified, and closing them never waits */
START_TEST(test_not_on_a_mount)
{
	struct fd_ident id;
	int p[2], sv[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fd_ident(p[0], &id), 0);
	ck_assert(S_ISFIFO(id.mode));
	ck_assert_str_eq(id.fstype, "");
	ck_assert(fd_ident_local(&id));
	ck_assert_int_eq(fd_ident(sv[0], &id), 0);
	ck_assert(S_ISSOCK(id.mode));
	ck_assert(fd_ident_local(&id));
	close(p[0]);
	ck_assert_int_eq(fd_ident(p[0], &id), -EBADF);
	ck_assert_int_eq(fd_ident(-1, &id), -EBADF);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* open, identify, close <dir>/f: its mount's type in *type, its mount id returned */
static int ident_in(const char *dir, char *type, size_t len)
{
	char path[128];
	struct fd_ident id;
	int fd;

	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fd_ident(fd, &id), 0);
	close(fd);
	snprintf(type, len, "%s", id.fstype);
	return id.mnt_id;
}

static int fd_count(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/*
 * Mount types are cached by mount id; a change of the mount table empties
 * the cache, so a mount id given again to a new mount (the kernel hands
 * out the lowest free one) is not taken for the old mount's type.  In a
 * mount namespace of our own (a user namespace when not root); the
 * look-ups themselves open no fd beyond the one prepared.
 */
START_TEST(test_mount_type_cache)
{
	char dir[] = "/tmp/fdident-mnt.XXXXXX", type[64];
	int a, b, fds;

	if (unshare(CLONE_NEWNS) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		printf("info: no mount namespace (%m): mount type cache not checked\n");
		return;
	}
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(fd_ident_prepare(), 0);
	fds = fd_count();
	ck_assert_int_eq(fd_ident_prepare(), 0);	/* once only */
	ck_assert_int_eq(mount("uacce-t", dir, "tmpfs", 0, NULL), 0);
	a = ident_in(dir, type, sizeof(type));
	ck_assert_str_eq(type, "tmpfs");
	a = ident_in(dir, type, sizeof(type));	/* from the cache */
	ck_assert_str_eq(type, "tmpfs");
	ck_assert_int_eq(umount(dir), 0);
	ck_assert_int_eq(mount("uacce-r", dir, "ramfs", 0, NULL), 0);
	b = ident_in(dir, type, sizeof(type));
	ck_assert_str_eq(type, "ramfs");
	printf("info: mount ids %d then %d%s\n", a, b, a == b ? " (reused)" : "");
	ck_assert_int_eq(fd_count(), fds);
	ck_assert_int_eq(umount(dir), 0);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fdident");
	TCase *tc = tcase_create("fdident");

	tcase_add_test(tc, test_agrees_with_fstat);
	tcase_add_test(tc, test_devtmpfs_is_local);
	tcase_add_test(tc, test_devices_by_driver);
	tcase_add_test(tc, test_not_on_a_mount);
	tcase_add_test(tc, test_mount_type_cache);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
