/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-rundir.c - unit tests of the runtime directory's files
 * (daemon/rundir.c): writing a file, removing devdir and uacced.pid, what
 * a dead daemon left behind, and whether uacced.pid names a live uacced
 * (a child named "uacced" plays one), a socket's owner, group and mode,
 * and whether the nodes' users can search every directory of its path.  Links rundir.c and the log (libuaccebase).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit-main.h"
#include "rundir.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-rundir.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static bool exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_write)
{
	char path[256], buf[64] = "";
	FILE *f;

	ck_assert_int_eq(rundir_write(dir, "devdir", "/dev"), 0);
	snprintf(path, sizeof(path), "%s/devdir", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, f), 5);
	fclose(f);
	ck_assert_str_eq(buf, "/dev\n");
	/* replaced, not appended */
	ck_assert_int_eq(rundir_write(dir, "devdir", "/x"), 0);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	ck_assert_ptr_null(fgets(buf + 10, 10, f));
	fclose(f);
	ck_assert_str_eq(buf, "/x\n");
	ck_assert_int_eq(rundir_write("/nonexistent/dir", "devdir", "/dev"), -ENOENT);
}
END_TEST

START_TEST(test_remove)
{
	ck_assert_int_eq(rundir_write(dir, "devdir", "/dev"), 0);
	ck_assert_int_eq(rundir_write(dir, "uacced.pid", "1"), 0);
	put("broker.sock", "");
	rundir_remove_files(dir);
	ck_assert(!exists("devdir"));
	ck_assert(!exists("uacced.pid"));
	ck_assert(exists("broker.sock"));	/* not ours to remove */
	rundir_remove_files(dir);		/* nothing there: fine */
}
END_TEST

START_TEST(test_remove_stale)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/class", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/class/uacce-dummy-0", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/class/uacce-dummy-0/sub", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	put("class/uacce-dummy-0/api", "dummy_v1\n");
	put("class/uacce-dummy-0/sub/x", "1\n");
	put("devdir", "/dev\n");
	put("uacced.pid", "1\n");
	put("other", "kept\n");
	/* a software device's own directory, its link, udev properties, temporaries */
	snprintf(path, sizeof(path), "%s/devices", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/devices/uacce-dummy-0", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	put("devices/uacce-dummy-0/numa_node", "-1\n");
	/* a link to hardware: the link goes, never what it points to */
	snprintf(path, sizeof(path), "%s/hw", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	put("hw/numa_node", "0\n");
	snprintf(path, sizeof(path), "%s/class/uacce-dummy-0/device", dir);
	ck_assert_int_eq(symlink("../../hw", path), 0);
	snprintf(path, sizeof(path), "%s/udev", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	put("udev/uacce-dummy-0", "UACCE_NODE_MODE=0660\n");
	put(".uacce-dummy-0.available_instances.tmp", "3\n");
	put(".keep", "kept\n");
	rundir_remove_stale(dir);
	ck_assert(!exists("class"));
	ck_assert(!exists("devices"));
	ck_assert(!exists("udev"));
	ck_assert(!exists(".uacce-dummy-0.available_instances.tmp"));
	ck_assert(!exists("devdir"));
	ck_assert(!exists("uacced.pid"));
	ck_assert(exists("other"));
	ck_assert(exists(".keep"));
	ck_assert(exists("hw/numa_node"));
	rundir_remove_stale(dir);		/* nothing left: fine */
}
END_TEST

/* a child called "uacced" that waits to be killed */
static pid_t fake_uacced(const char *comm)
{
	int p[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_NAME, comm);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);		/* named by now */
	close(p[0]);
	return pid;
}

START_TEST(test_in_use)
{
	char text[32];
	pid_t pid;

	ck_assert(!rundir_in_use(dir));			/* no pid file */
	put("uacced.pid", "garbage\n");
	ck_assert(!rundir_in_use(dir));
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	put("uacced.pid", text);
	prctl(PR_SET_NAME, "uacced");			/* Check's child: only this test */
	ck_assert(!rundir_in_use(dir));			/* ourselves */
	pid = fake_uacced("uacced");
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	put("uacced.pid", text);
	ck_assert(rundir_in_use(dir));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert(!rundir_in_use(dir));			/* it died */
	pid = fake_uacced("sleep");			/* pid reused by another program */
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	put("uacced.pid", text);
	ck_assert(!rundir_in_use(dir));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

/* a socket's owner, group and mode; never a file that is no socket */
START_TEST(test_sock_perms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sock_perms p = { .uid = geteuid(), .gid = getegid(), .mode = 0600 };
	char file[128], link[128];
	struct stat st;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s.sock", dir);
	ck_assert_int_eq(rundir_sock_perms(sa.sun_path, &p), -ENOENT);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(rundir_sock_perms(sa.sun_path, &p), 0);
	ck_assert_int_eq(lstat(sa.sun_path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	p.mode = 0660 | S_ISUID;		/* permission bits only */
	if (geteuid() == 0)
		p.gid = 4242;
	ck_assert_int_eq(rundir_sock_perms(sa.sun_path, &p), 0);
	ck_assert_int_eq(lstat(sa.sun_path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	ck_assert_uint_eq(st.st_gid, p.gid);
	snprintf(file, sizeof(file), "%s/devdir", dir);
	ck_assert_int_eq(rundir_write(dir, "devdir", "/dev"), 0);
	ck_assert_int_eq(rundir_sock_perms(file, &p), -ENOTSOCK);
	snprintf(link, sizeof(link), "%s/l.sock", dir);
	ck_assert_int_eq(symlink(sa.sun_path, link), 0);
	ck_assert_int_eq(rundir_sock_perms(link, &p), -ENOTSOCK);	/* not followed */
	close(s);
	unlink(sa.sun_path);
	unlink(link);
	unlink(file);
}
END_TEST

/* the first directory of the path the nodes' users cannot search */
START_TEST(test_closed_to_clients)
{
	struct sock_perms others = { .uid = 0, .gid = getegid(), .mode = 0666 };
	struct sock_perms group = { .uid = 0, .gid = getegid(), .mode = 0660 };
	struct sock_perms stranger = { .uid = 0, .gid = getegid() + 1, .mode = 0660 };
	struct sock_perms rootonly = { .uid = 0, .gid = 0, .mode = 0600 };
	struct sock_perms owner = { .uid = geteuid(), .gid = 0, .mode = 0600 };
	char a[128], b[160], bad[256];
	struct stat st;

	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", a);
	ck_assert_int_eq(mkdir(a, 0755), 0);
	ck_assert_int_eq(mkdir(b, 0755), 0);
	/* mkdtemp made dir 0700 */
	ck_assert_int_eq(rundir_closed_to_clients(b, &others, bad, sizeof(bad), &st), 1);
	ck_assert_str_eq(bad, dir);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(rundir_closed_to_clients(b, &group, bad, sizeof(bad), &st), 1);
	ck_assert_int_eq(rundir_closed_to_clients(b, &rootonly, bad, sizeof(bad), &st), 0);
	ck_assert_int_eq(rundir_closed_to_clients(b, &owner, bad, sizeof(bad), &st), 0);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod(a, 0750), 0);	/* group: ours */
	ck_assert_int_eq(rundir_closed_to_clients(b, &group, bad, sizeof(bad), &st), 0);
	ck_assert_int_eq(rundir_closed_to_clients(b, &stranger, bad, sizeof(bad), &st), 1);
	ck_assert_str_eq(bad, a);
	ck_assert_int_eq(rundir_closed_to_clients(b, &others, bad, sizeof(bad), &st), 1);
	ck_assert_str_eq(bad, a);
	ck_assert_int_eq(chmod(b, 0700), 0);	/* the runtime dir itself */
	ck_assert_int_eq(chmod(a, 0755), 0);
	ck_assert_int_eq(rundir_closed_to_clients(b, &others, bad, sizeof(bad), &st), 1);
	ck_assert_str_eq(bad, b);
	ck_assert_int_eq(chmod(b, 0711), 0);
	ck_assert_int_eq(rundir_closed_to_clients(b, &others, bad, sizeof(bad), &st), 0);
	snprintf(b, sizeof(b), "%s/none", a);
	ck_assert_int_eq(rundir_closed_to_clients(b, &others, bad, sizeof(bad), &st), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rundir");
	TCase *tc = tcase_create("rundir");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_remove_stale);
	tcase_add_test(tc, test_in_use);
	tcase_add_test(tc, test_sock_perms);
	tcase_add_test(tc, test_closed_to_clients);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
