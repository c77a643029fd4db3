/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-open.c - unit tests of the queue core (daemon/core.c), group
 * "open": open / release, available_instances, non-SVA exclusivity, the owner
 * watch.  Helpers and fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

START_TEST(test_open_init_and_instances)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q;
	int pidfd;

	ck_assert_int_eq(ud_available_instances(d), 4);
	q = open_me(d);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(uq_owner_tgid(q), getpid());
	ck_assert_ptr_eq(uq_dev(q), d);
	ck_assert_uint_gt(uq_id(q), 0);
	ck_assert_int_eq(ud_available_instances(d), 3);
	ck_assert_int_eq(H.inst_calls, 1);
	ck_assert_int_eq(H.inst_last, 3);
	ck_assert_ptr_eq(H.inst_dev, d);
	/* the owner is watched through a live pidfd */
	ck_assert_int_eq(H.watch_calls, 1);
	ck_assert_ptr_eq(H.watch_q, q);
	ck_assert(H.watch_fd_valid);
	pidfd = H.watch_fd;
	ck_assert_int_eq(H.unwatch_calls, 0);

	/* PUT_Q gives the hardware queue back */
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q), UQ_ZOMBIE);
	ck_assert_int_eq(ud_available_instances(d), 4);
	ck_assert_int_eq(H.inst_calls, 2);
	ck_assert_int_eq(H.inst_last, 4);

	/* release after PUT_Q: no second increment */
	uq_release(q);
	ck_assert_int_eq(ud_available_instances(d), 4);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_ptr_eq(H.unwatch_q, q);
	ck_assert_int_eq(H.unwatch_fd, pidfd);
	ck_assert(H.unwatch_fd_valid);	/* still open while unwatching */
}
END_TEST

START_TEST(test_open_release_returns_instance)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q1, *q2;

	q1 = open_me(d);
	q2 = open_me(d);
	ck_assert_int_eq(ud_available_instances(d), 0);
	ck_assert_int_eq(H.inst_calls, 2);
	start_as(q1, me());
	uq_release(q1);		/* STARTED: stopped and put */
	ck_assert_int_eq(ud_available_instances(d), 1);
	ck_assert_int_eq(H.inst_calls, 3);
	ck_assert_int_eq(H.inst_last, 1);
	uq_release(q2);		/* INIT */
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(H.inst_calls, 4);
	ck_assert_int_eq(H.inst_last, 2);
	ck_assert_int_eq(H.unwatch_calls, 2);
}
END_TEST

START_TEST(test_open_no_free_queue_ebusy)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", true, 2, 1);
	struct uacce_queue *q1, *q2, *q3 = NULL;
	struct uacce_caller w = me();
	int calls;

	q1 = open_me(d);
	q2 = open_me(d);
	calls = H.inst_calls;
	ck_assert_int_eq(uq_open(d, &w, &q3), -EBUSY);
	ck_assert_ptr_null(q3);
	ck_assert_int_eq(ud_available_instances(d), 0);
	ck_assert_int_eq(H.inst_calls, calls);
	ck_assert_int_eq(H.watch_calls, 2);
	/* a queue given back with PUT_Q can be taken again */
	ck_assert_int_eq(ioc(q2, w, UACCE_CMD_PUT_Q), 0);
	q3 = open_me(d);
	ck_assert_int_eq(ud_available_instances(d), 0);
	uq_release(q1);
	uq_release(q2);
	uq_release(q3);
	ck_assert_int_eq(ud_available_instances(d), 2);
}
END_TEST

/*
 * A release still on its way when the same process opens again (FUSE
 * delivers releases asynchronously): uq_open_wait waits for it instead of
 * answering EBUSY; for another process's open, or with nothing coming
 * back, EBUSY stays the answer (issue 14 item 3).
 */
struct late_release {
	pthread_t t;
	struct uacce_queue *q;
};

static void *release_later(void *arg)
{
	struct late_release *l = arg;

	usleep(50000);	/* the opener is waiting by now, or will find it back */
	uq_release(l->q);
	return NULL;
}

START_TEST(test_open_waits_for_own_release)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", true, 2, 1);
	struct uacce_caller w = me(), w0, other;
	struct late_release l;
	struct uacce_queue *q1, *q2, *q3 = NULL;
	struct child ch = spawn_child();

	w.tgid = getpid();
	other = who_tid(ch.pid);
	other.tgid = ch.pid;
	q1 = open_me(d);
	q2 = open_me(d);
	/* full, and the opener holds queues of d: one may be coming back */
	ck_assert(uq_open_may_wait(d, &w));
	/* a caller whose process the frontend did not look up: looked up here */
	w0 = me();
	w0.tgid = 0;
	ck_assert(uq_open_may_wait(d, &w0));
	ck_assert_int_eq(w0.tgid, getpid());
	ck_assert_int_eq(uq_open(d, &w, &q3), -EBUSY);
	/* another process holds none: nothing of its own to wait for */
	ck_assert(!uq_open_may_wait(d, &other));
	ck_assert_int_eq(uq_open_wait(d, &other, 600000, &q3), -EBUSY);
	/* nothing comes back: EBUSY once the wait is over */
	ck_assert_int_eq(uq_open_wait(d, &w, 20, &q3), -EBUSY);
	ck_assert_ptr_null(q3);
	/* q1 comes back while the open waits: the open gets it */
	l.q = q1;
	ck_assert_int_eq(pthread_create(&l.t, NULL, release_later, &l), 0);
	ck_assert_int_eq(uq_open_wait(d, &w, 600000, &q3), 0);
	ck_assert_ptr_nonnull(q3);
	ck_assert_int_eq(pthread_join(l.t, NULL), 0);
	ck_assert_int_eq(ud_available_instances(d), 0);
	/* not full: no reason to wait */
	uq_release(q3);
	ck_assert(!uq_open_may_wait(d, &w));
	uq_release(q2);
	ck_assert_int_eq(ud_available_instances(d), 2);
	kill_child(&ch);
}
END_TEST

START_TEST(test_open_nonsva_exclusive)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller other = who_tid(ch.pid), w = me();
	struct uacce_queue *q1, *q2, *qc = NULL;

	q1 = open_me(d);
	ck_assert_int_eq(uq_open(d, &other, &qc), -EBUSY);
	ck_assert_ptr_null(qc);
	ck_assert_int_eq(ud_available_instances(d), 3);
	/* the same process may open a second queue */
	q2 = open_me(d);
	ck_assert_int_eq(ud_available_instances(d), 2);
	/* PUT_Q does not end the exclusivity: the queue is still open */
	ck_assert_int_eq(ioc(q1, w, UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(uq_open(d, &other, &qc), -EBUSY);
	uq_release(q1);
	ck_assert_int_eq(uq_open(d, &other, &qc), -EBUSY);
	uq_release(q2);
	/* the owner's last queue is gone: another process may open */
	qc = open_as(d, other);
	ck_assert_int_eq(uq_owner_tgid(qc), ch.pid);
	/* and now we are the other process */
	ck_assert_int_eq(uq_open(d, &w, &q1), -EBUSY);
	uq_release(qc);
	q1 = open_me(d);
	uq_release(q1);
	ck_assert_int_eq(ud_available_instances(d), 4);
	kill_child(&ch);
}
END_TEST

START_TEST(test_open_sva_not_exclusive)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", true, 4, 1);
	struct child ch = spawn_child();
	struct uacce_queue *q1, *qc;

	q1 = open_me(d);
	qc = open_as(d, who_tid(ch.pid));
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_release(qc);
	uq_release(q1);
	kill_child(&ch);
}
END_TEST

START_TEST(test_open_excl_released_by_owner_died)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller other = who_tid(ch.pid);
	struct uacce_queue *q, *qc = NULL;

	q = open_me(d);
	ck_assert_int_eq(uq_open(d, &other, &qc), -EBUSY);
	uq_owner_died(q);
	qc = open_as(d, other);
	uq_release(q);		/* must not drop the new owner's exclusivity */
	{
		struct uacce_caller w = me();
		struct uacce_queue *q2 = NULL;

		ck_assert_int_eq(uq_open(d, &w, &q2), -EBUSY);
	}
	uq_release(qc);
	ck_assert_int_eq(ud_available_instances(d), 4);
	kill_child(&ch);
}
END_TEST

START_TEST(test_open_watch_failure)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct child ch = spawn_child();
	struct uacce_caller w = me();
	struct uacce_queue *q = NULL, *qc;

	H.watch_ret = -EMFILE;
	ck_assert_int_eq(uq_open(d, &w, &q), -EMFILE);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(H.inst_calls, 0);
	ck_assert_int_eq(H.unwatch_calls, 0);
	/* no exclusivity left behind */
	H.watch_ret = 0;
	qc = open_as(d, who_tid(ch.pid));
	uq_release(qc);
	kill_child(&ch);
}
END_TEST

START_TEST(test_open_dead_caller)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct child ch = spawn_child();
	struct uacce_caller gone = who_tid(ch.pid);
	struct uacce_queue *q = NULL;

	kill_child(&ch);
	ck_assert_int_eq(uq_open(d, &gone, &q), -ESRCH);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(H.watch_calls, 0);
}
END_TEST

START_TEST(test_open_removed_device)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_caller w = me();
	struct uacce_queue *q = NULL;

	core_remove_device(d);
	ck_assert_int_eq(uq_open(d, &w, &q), -ENODEV);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(H.watch_calls, 0);
}
END_TEST

START_TEST(test_get_queue_reference)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d), *r;
	uint64_t id = uq_id(q);

	ck_assert_ptr_null(core_get_queue(c, id + 100));
	r = core_get_queue(c, id);
	ck_assert_ptr_eq(r, q);
	uq_release(q);
	/* the lookup's reference keeps the struct: it is dead, not freed */
	ck_assert_int_eq(state(r), UQ_DEAD);
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_unref(r);
	ck_assert_ptr_null(core_get_queue(c, id));
	/* ids are not reused */
	q = open_me(d);
	ck_assert_uint_gt(uq_id(q), id);
	uq_release(q);
}
END_TEST

TCase *tc_open(void)
{
	TCase *tc = tcase_create("open");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_open_init_and_instances);
	tcase_add_test(tc, test_open_release_returns_instance);
	tcase_add_test(tc, test_open_no_free_queue_ebusy);
	tcase_add_test(tc, test_open_waits_for_own_release);
	tcase_add_test(tc, test_open_nonsva_exclusive);
	tcase_add_test(tc, test_open_sva_not_exclusive);
	tcase_add_test(tc, test_open_excl_released_by_owner_died);
	tcase_add_test(tc, test_open_watch_failure);
	tcase_add_test(tc, test_open_dead_caller);
	tcase_add_test(tc, test_open_removed_device);
	tcase_add_test(tc, test_get_queue_reference);
	return tc;
}
