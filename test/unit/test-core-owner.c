/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-owner.c - unit tests of the queue core (daemon/core.c), group
 * "owner": only the process that opened a queue may use it. Helpers and
 * fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

START_TEST(test_owner_other_process_refused)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller other = who_tid(ch.pid), w = me();
	struct uacce_queue *q = open_me(d), *src = open_me(d);
	uint64_t out = 77;
	unsigned mask = 99;
	int fd = -2;
	void *ss, *mm;

	/* a source with an SS, for SHARE_SVAS */
	start_as(src, w);
	ss = map_ss_me(src, 64 * 1024);

	ck_assert_int_eq(uq_check_owner(q, &other), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, UACCE_CMD_START, 0), -EPERM);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ioctl_raw(q, &other, UACCE_CMD_PUT_Q, 0), -EPERM);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(ioctl_raw(q, &other, DUMMY_CMD_FLUSH, 0), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, 0x1234, 0), -EPERM);
	ck_assert_int_eq(uq_poll(q, &other, &mask), -EPERM);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(uq_attach(q, ch.pid), -EPERM);
	ck_assert_int_eq(uq_map(q, ch.pid, UACCE_QFRT_MMIO, PAGE, &fd, &out), -EPERM);
	ck_assert_int_eq(fd, -2);
	ck_assert_uint_eq(out, 77);

	/* the owner maps MMIO and starts: then the other process again */
	start_as(q, w);
	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(uq_map(q, ch.pid, UACCE_QFRT_SS, PAGE, &fd, &out), -EPERM);
	ck_assert_int_eq(fd, -2);
	ck_assert_int_eq(uq_mapped(q, ch.pid, UACCE_QFRT_MMIO, 0x10000), -EPERM);
	ck_assert_int_eq(uq_unmap(q, ch.pid, UACCE_QFRT_MMIO), -EPERM);
	ck_assert_int_eq(uq_share_svas(q, &other, src), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, UACCE_CMD_START, 0), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, UACCE_CMD_PUT_Q, 0), -EPERM);
	ck_assert_int_eq(state(q), UQ_STARTED);

	/* nothing of that changed anything: the owner still can */
	ck_assert_int_eq(uq_check_owner(q, &w), 0);
	ck_assert_int_eq(uq_attach(q, getpid()), 0);
	ck_assert_int_eq(uq_mapped(q, getpid(), UACCE_QFRT_MMIO, 0x10000), 0);
	ck_assert_int_eq(uq_unmap(q, getpid(), UACCE_QFRT_MMIO), 0);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_int_eq(uq_share_svas(q, &w, src), 0);
	ck_assert_int_eq(ioctl_raw(q, &w, UACCE_CMD_PUT_Q, 0), 0);

	/* nonsense peers */
	ck_assert_int_eq(uq_attach(src, 0), -EPERM);
	ck_assert_int_eq(uq_attach(src, -1), -EPERM);

	munmap(ss, 64 * 1024);
	munmap(mm, PAGE);
	uq_release(q);
	uq_release(src);
	kill_child(&ch);
}
END_TEST

START_TEST(test_owner_thread_accepted)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q, *src;
	struct uacce_caller t;
	struct othread ot;
	unsigned mask = 5;
	void *ss;

	othread_start(&ot);
	t = who_tid(ot.tid);
	/* opened by the second thread: the owner is the process */
	q = open_as(d, t);
	ck_assert_int_eq(uq_owner_tgid(q), getpid());
	src = open_me(d);
	start_as(src, me());
	ss = map_ss_me(src, PAGE);

	ck_assert_int_eq(uq_check_owner(q, &t), 0);
	ck_assert_int_eq(uq_check_owner(q, &(struct uacce_caller){ getpid(), 0, 0 }), 0);
	ck_assert_int_eq(uq_poll(q, &t, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(ioctl_raw(q, &t, UACCE_CMD_START, 0), 0);
	ck_assert_int_eq(ioctl_raw(q, &t, DUMMY_CMD_FLUSH, 0), 0);
	ck_assert_int_eq(uq_share_svas(q, &t, src), 0);
	ck_assert_int_eq(ioctl_raw(q, &t, UACCE_CMD_PUT_Q, 0), 0);
	ck_assert_int_eq(state(q), UQ_ZOMBIE);
	/* regions: the peer is the process */
	ck_assert_int_eq(uq_attach(q, getpid()), 0);

	othread_stop(&ot);
	/* the thread is gone: its tid no longer names the owner */
	ck_assert_int_eq(uq_check_owner(q, &t), -EPERM);
	ck_assert_int_eq(uq_check_owner(q, &(struct uacce_caller){ gettid(), 0, 0 }), 0);
	munmap(ss, PAGE);
	uq_release(q);
	uq_release(src);
}
END_TEST

START_TEST(test_owner_getfd)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q = open_me(d);
	struct stat a, b;
	int p[2], fd;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	/* uq_owner_getfd has no caller: the frontend checks ownership before
	 * (uq_check_owner); it duplicates the owner's fd */
	fd = uq_owner_getfd(q, p[0]);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fd, p[0]);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(fstat(p[0], &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_uint_eq(a.st_dev, b.st_dev);
	close(fd);
	ck_assert_int_eq(uq_owner_getfd(q, -1), -EBADF);
	ck_assert_int_eq(uq_owner_getfd(q, 100000), -EBADF);
	uq_owner_died(q);
	ck_assert_int_eq(uq_owner_getfd(q, p[0]), -EPERM);
	uq_release(q);

	q = open_me(d);
	core_remove_device(d);
	ck_assert_int_eq(uq_owner_getfd(q, p[0]), -ENODEV);
	uq_release(q);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_owner_exited_refused)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	pid_t pid = ch.pid;
	struct uacce_caller cw = who_tid(pid);
	struct uacce_queue *q = open_as(d, cw);
	unsigned mask;

	start_as(q, cw);
	ck_assert_int_eq(uq_attach(q, pid), 0);
	kill_child(&ch);
	/* exited but not yet reported through the watch: already refused */
	ck_assert_int_eq(uq_check_owner(q, &cw), -EPERM);
	ck_assert_int_eq(uq_poll(q, &cw, &mask), -EPERM);
	ck_assert_int_eq(uq_attach(q, pid), -EPERM);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &cw, UACCE_CMD_PUT_Q, 0), -EPERM);
	ck_assert_int_eq(ud_available_instances(d), 3);
	uq_owner_died(q);
	ck_assert_int_eq(ud_available_instances(d), 4);
	uq_release(q);
}
END_TEST

TCase *tc_owner(void)
{
	TCase *tc = tcase_create("owner");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_owner_other_process_refused);
	tcase_add_test(tc, test_owner_thread_accepted);
	tcase_add_test(tc, test_owner_getfd);
	tcase_add_test(tc, test_owner_exited_refused);
	return tc;
}
