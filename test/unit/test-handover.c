/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-handover.c - the live restart's state container (daemon/handover.c):
 * blobs, the fd table, and the execve transport end to end (this program
 * spawns itself as the successor: "--successor" reads the state the way
 * uacced does and reports what it found through a pipe of the state).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit-main.h"
#include "handover.h"

static const char *self_path;

START_TEST(test_bytes)
{
	uint8_t in[300], out[300];
	json_object *o = json_object_new_object();
	size_t len;

	for (size_t n = 0; n < sizeof(in); n++) {
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(i * 37 + n);
		ck_assert_int_eq(ho_set_bytes(o, "b", in, n), 0);
		ck_assert_int_eq(ho_get_bytes(o, "b", out, sizeof(out), &len), 0);
		ck_assert_uint_eq(len, n);
		ck_assert(memcmp(in, out, n) == 0);
	}
	/* too small a buffer, garbage, absent */
	ck_assert_int_eq(ho_set_bytes(o, "b", in, 10), 0);
	ck_assert_int_eq(ho_get_bytes(o, "b", out, 9, &len), -ENOSPC);
	json_object_object_add(o, "g", json_object_new_string("ab$d"));
	ck_assert_int_eq(ho_get_bytes(o, "g", out, sizeof(out), &len), -EINVAL);
	json_object_object_add(o, "g", json_object_new_string("abc"));
	ck_assert_int_eq(ho_get_bytes(o, "g", out, sizeof(out), &len), -EINVAL);
	json_object_object_add(o, "g", json_object_new_string("a=bc"));
	ck_assert_int_eq(ho_get_bytes(o, "g", out, sizeof(out), &len), -EINVAL);
	ck_assert_int_eq(ho_get_bytes(o, "none", out, sizeof(out), &len), -EINVAL);
	json_object_put(o);
}
END_TEST

START_TEST(test_fd_table)
{
	struct ho_state *s;
	int p[2], a, b, fd;

	ck_assert_int_eq(ho_new(&s), 0);
	ck_assert_int_eq(ho_format(s), HO_FORMAT);
	ck_assert_int_eq(pipe(p), 0);
	a = ho_put_fd(s, p[0]);
	b = ho_put_fd(s, p[1]);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(ho_put_fd(s, -1), -EBADF);
	close(p[0]);
	close(p[1]);
	/* the table holds its own copies */
	fd = ho_take_fd(s, b);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	ck_assert_int_eq(ho_take_fd(s, b), -EBADF);	/* once */
	ck_assert_int_eq(ho_take_fd(s, 7), -EBADF);
	ck_assert_int_eq(ho_take_fd(s, -1), -EBADF);
	close(fd);
	ho_free(s);	/* closes the read end it still holds */
}
END_TEST

/* the successor: read the state, answer "<format> <value> <bytes read from fd>" */
static int successor(void)
{
	struct ho_state *s;
	json_object *t;
	char buf[64] = "", reply[256];
	int listen_fds = getenv("LISTEN_FDS") ? atoi(getenv("LISTEN_FDS")) : 0;
	/* in place (LISTEN_PID): the old image's other fds must be gone; a
	 * spawned child inherits what its parent (Check) left open */
	bool inplace = getenv("LISTEN_PID") != NULL;
	int err = ho_receive(&s), rfd, wfd;
	ssize_t n;

	if (err || !s)
		return 10;
	t = ho_get(ho_root(s), "test");
	rfd = ho_take_fd(s, (int)ho_get_int(t, "data", -1));
	wfd = ho_take_fd(s, (int)ho_get_int(t, "ack", -1));
	if (rfd < 0 || wfd < 0)
		return 11;
	n = read(rfd, buf, sizeof(buf) - 1);
	if (n < 0)
		return 12;
	buf[n] = 0;
	snprintf(reply, sizeof(reply), "%d %s %s %s %d", ho_format(s),
		 ho_get_str(t, "value", "?"), buf, getenv("LISTEN_FDS") ? "env" : "clean",
		 (int)getpid());
	/* nothing but the handed fds came along (3 .. 3 + LISTEN_FDS) */
	for (int fd = 3 + listen_fds; inplace && fd < 256; fd++)
		if (fcntl(fd, F_GETFD) >= 0) {
			snprintf(reply, sizeof(reply), "stray fd %d", fd);
			break;
		}
	if (write(wfd, reply, strlen(reply)) < 0)
		return 13;
	ho_free(s);
	return 0;
}

START_TEST(test_exec_transport)
{
	struct ho_state *s;
	json_object *t = json_object_new_object();
	char *argv[] = { (char *)self_path, (char *)"--successor", NULL };
	int data[2], ack[2], st, pid;
	char buf[256] = "";
	ssize_t n;

	ck_assert_int_eq(pipe2(data, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(ack, O_CLOEXEC), 0);
	ck_assert_int_eq(write(data[1], "hello", 5), 5);
	close(data[1]);
	ck_assert_int_eq(ho_new(&s), 0);
	/* a few fds first, so that indexes and fd numbers differ */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ho_put_fd(s, ack[0]), i);
	json_object_object_add(t, "data", json_object_new_int(ho_put_fd(s, data[0])));
	json_object_object_add(t, "ack", json_object_new_int(ho_put_fd(s, ack[1])));
	json_object_object_add(t, "value", json_object_new_string("v42"));
	json_object_object_add(ho_root(s), "test", t);
	close(data[0]);
	close(ack[1]);
	pid = ho_exec(s, self_path, argv);
	ck_assert_int_gt(pid, 0);
	ho_free(s);	/* our copies go: only the successor holds the write end */
	n = read(ack[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "1 v42 hello clean %d", pid);
		ck_assert_str_eq(buf, want);
	}
	close(ack[0]);
}
END_TEST

/*
 * ho_exec_inplace: the same process becomes the successor (same pid),
 * with the state and its fds, and nothing else of the old image's fds.
 */
START_TEST(test_exec_inplace)
{
	int data[2], ack[2], st;
	char buf[256] = "", want[64];
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe2(data, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(ack, O_CLOEXEC), 0);
	ck_assert_int_eq(write(data[1], "inplace", 7), 7);
	close(data[1]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ho_state *s;
		json_object *t = json_object_new_object();
		char *argv[] = { (char *)self_path, (char *)"--successor", NULL };
		int stray = open("/dev/null", O_RDONLY);	/* not close-on-exec */

		close(ack[0]);
		if (stray < 0 || ho_new(&s))
			_exit(20);
		json_object_object_add(t, "data", json_object_new_int(ho_put_fd(s, data[0])));
		json_object_object_add(t, "ack", json_object_new_int(ho_put_fd(s, ack[1])));
		json_object_object_add(t, "value", json_object_new_string("v7"));
		json_object_object_add(ho_root(s), "test", t);
		ho_exec_inplace(s, self_path, argv);
		_exit(21);
	}
	close(data[0]);
	close(ack[1]);
	n = read(ack[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	snprintf(want, sizeof(want), "1 v7 inplace clean %d", pid);
	ck_assert_str_eq(buf, want);
	close(ack[0]);
}
END_TEST

START_TEST(test_exec_missing_binary)
{
	struct ho_state *s;
	char *argv[] = { (char *)"nope", NULL };
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(ho_new(&s), 0);
	ck_assert_int_eq(ho_put_fd(s, p[0]), 0);
	ck_assert_int_eq(ho_exec(s, "/nonexistent/uacced", argv), -ENOENT);
	/* the state is intact: the caller serves on */
	ck_assert_int_ge(ho_take_fd(s, 0), 0);
	ho_free(s);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_receive_none_or_foreign)
{
	struct ho_state *s = (void *)1;

	unsetenv("LISTEN_FDS");
	ck_assert_int_eq(ho_receive(&s), 0);
	ck_assert_ptr_null(s);
	/* socket activation meant for another pid: not ours */
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", HO_STATE_NAME, 1);
	setenv("LISTEN_PID", "1", 1);
	s = (void *)1;
	ck_assert_int_eq(ho_receive(&s), 0);
	ck_assert_ptr_null(s);
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
}
END_TEST

/* a state of a newer format is refused, with the fds closed */
START_TEST(test_receive_newer_format)
{
	char text[64];
	struct ho_state *s = NULL;
	int fd = memfd_create("st", 0), pid;

	snprintf(text, sizeof(text), "{\"format\": %d, \"nfds\": 0}", HO_FORMAT + 1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(dup2(fd, 3), 3);
	close(fd);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", HO_STATE_NAME, 1);
	pid = getpid();
	snprintf(text, sizeof(text), "%d", pid);
	setenv("LISTEN_PID", text, 1);
	ck_assert_int_eq(ho_receive(&s), -EPROTO);
	ck_assert_ptr_null(s);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *su;
	TCase *tc;

	if (argc > 1 && strcmp(argv[1], "--successor") == 0)
		return successor();
	self_path = "/proc/self/exe";
	{
		static char path[4096];
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

		if (n > 0) {
			path[n] = 0;
			self_path = path;
		}
	}
	su = suite_create("handover");
	tc = tcase_create("handover");
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_fd_table);
	tcase_add_test(tc, test_exec_transport);
	tcase_add_test(tc, test_exec_missing_binary);
	tcase_add_test(tc, test_exec_inplace);
	tcase_add_test(tc, test_receive_none_or_foreign);
	tcase_add_test(tc, test_receive_newer_format);
	suite_add_tcase(su, tc);
	return unit_run(su);
}
