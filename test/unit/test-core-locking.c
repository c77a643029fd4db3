/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-locking.c - unit tests of the queue core (daemon/core.c), group
 * "locking": a device ioctl runs under its queue's lock only
 * (daemon/LOCKING.md), so that while one client's ioctl takes its time
 * everything else goes on; and tearing a queue down (owner death, device
 * removal, release) cancels the backend's work in progress first, so that
 * it does not wait for it.
 *
 * A thread T1 sits in the fake backend's FAKE_CMD_BLOCK (or a blocked
 * start_queue); the test waits for it to be inside (the fake's condition
 * variable, no sleeping) and does the rest from the main thread.  A core
 * that got this wrong deadlocks: the test case's timeout fails the test.
 * Fixture: fx_fake_setup (fx_a non-SVA, fx_b SVA, 4 queues each).
 */
#define _GNU_SOURCE
#include "core-fixture.h"

#define A_NODE "uacce-fake-1"
#define B_NODE "uacce-fake-2"
#define WAIT_MS 5000

/* T1: one ioctl (no argument data) of the owner process, in a thread */
struct ioctl_thread {
	pthread_t t;
	struct uacce_queue *q;
	unsigned int cmd;
	int ret;
	bool done;
};

static void *ioctl_fn(void *arg)
{
	struct ioctl_thread *it = arg;
	struct uacce_caller w = me();
	struct uacce_ioctl io = { .cmd = it->cmd };

	it->ret = uq_ioctl(it->q, &w, &io);
	__atomic_store_n(&it->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/* start T1 and wait until it is inside the fake (its n-th blocking op) */
static void ioctl_thread_blocked(struct ioctl_thread *it, struct uacce_queue *q,
				 unsigned int cmd, int n)
{
	it->q = q;
	it->cmd = cmd;
	it->ret = 1;
	it->done = false;
	ck_assert_int_eq(pthread_create(&it->t, NULL, ioctl_fn, it), 0);
	ck_assert_msg(fake_wait_entered(q, n, WAIT_MS), "the ioctl never reached the backend");
	ck_assert(fake_blocked(q));
}

static bool ioctl_thread_done(struct ioctl_thread *it)
{
	return __atomic_load_n(&it->done, __ATOMIC_SEQ_CST);
}

static int ioctl_thread_join(struct ioctl_thread *it)
{
	ck_assert_int_eq(pthread_join(it->t, NULL), 0);
	return it->ret;
}

static int echo(struct uacce_queue *q)
{
	struct fake_echo e = { .tag = 7 };
	struct uacce_ioctl io = { .cmd = FAKE_CMD_ECHO, .data = &e, .size = sizeof(e) };
	struct uacce_caller w = me();
	int r = uq_ioctl(q, &w, &io);

	if (r == 0)
		ck_assert_uint_eq(e.tag, 8);
	return r;
}

/* while T1 blocks in a device ioctl of device A, the core serves everyone else */
START_TEST(test_ioctl_outside_core_lock)
{
	struct uacce_queue *qa = open_me(fx_a), *qa2, *qb, *ref;
	struct uacce_caller w = me();
	struct core_queue_stat *qs = NULL;
	struct core_dev_stat *ds = NULL;
	struct core_user_stat *us = NULL;
	struct ioctl_thread t1;
	unsigned mask = 9;
	char seq[64];
	void *mm;
	int n = 0;

	start_as(qa, w);
	ioctl_thread_blocked(&t1, qa, FAKE_CMD_BLOCK, 1);

	/* another device: open, START, ioctl, poll, release */
	qb = open_me(fx_b);
	start_as(qb, w);
	ck_assert_int_eq(echo(qb), 0);
	fake_set_updated(qb, true);
	ck_assert_int_eq(uq_poll(qb, &w, &mask), 0);
	ck_assert_uint_eq(mask, POLLIN | POLLRDNORM);
	uq_release(qb);
	ck_assert_int_eq(ud_available_instances(fx_b), 4);

	/* the same device, another queue: a lock of its own */
	qa2 = open_me(fx_a);
	start_as(qa2, w);
	ck_assert_int_eq(echo(qa2), 0);
	ck_assert_int_eq(ioc(qa2, w, UACCE_CMD_PUT_Q), 0);
	uq_release(qa2);

	/* the accounting and the snapshots */
	ck_assert_int_eq(ud_available_instances(fx_a), 3);
	ck_assert_int_eq(core_queues(fx_core, &qs, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(qs[0].id, uq_id(qa));
	ck_assert_int_eq(qs[0].state, UQ_STARTED);
	free(qs);
	ck_assert_int_eq(core_devices(fx_core, &ds, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(ds[0].available, 3);
	free(ds);
	ck_assert_int_eq(core_usage(fx_core, &us, &n), 0);
	ck_assert_int_eq(n, 1);
	free(us);

	/* the blocked queue itself, for what takes only the core lock */
	ck_assert_int_eq(uq_check_owner(qa, &w), 0);
	ck_assert_int_eq(uq_poll(qa, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	mm = map_me(qa, UACCE_QFRT_MMIO, PAGE);
	ref = core_get_queue(fx_core, uq_id(qa));
	ck_assert_ptr_eq(ref, qa);
	uq_unref(ref);
	ck_assert_int_eq((int)uq_state(qa), UQ_STARTED);

	/* all of that while T1 was still inside */
	ck_assert(fake_blocked(qa));
	ck_assert(!ioctl_thread_done(&t1));
	fake_release(qa);
	ck_assert_int_eq(ioctl_thread_join(&t1), 0);
	ck_assert_str_eq(fake_seq(qa, seq), "GSI");
	munmap(mm, PAGE);
	uq_release(qa);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
}
END_TEST

/* two queues of one device: their ioctls run at the same time */
START_TEST(test_ioctls_of_two_queues_in_parallel)
{
	struct uacce_queue *q1 = open_me(fx_a), *q2 = open_me(fx_a);
	struct ioctl_thread t1, t2;

	ioctl_thread_blocked(&t1, q1, FAKE_CMD_BLOCK, 1);
	ioctl_thread_blocked(&t2, q2, FAKE_CMD_BLOCK, 1);
	ck_assert(fake_blocked(q1));	/* both inside at once */
	fake_release(q2);
	ck_assert_int_eq(ioctl_thread_join(&t2), 0);
	ck_assert(!ioctl_thread_done(&t1));
	fake_release(q1);
	ck_assert_int_eq(ioctl_thread_join(&t1), 0);
	uq_release(q1);
	uq_release(q2);
}
END_TEST

/* q's ops, with a run of cancels counted as one (device removal cancels twice) */
static const char *seq_squeezed(struct uacce_queue *q, char *buf)
{
	char *o = buf;

	fake_seq(q, buf);
	for (const char *i = buf; *i; i++)
		if (*i != 'C' || i == buf || i[-1] != 'C')
			*o++ = *i;
	*o = '\0';
	return buf;
}

/*
 * What every teardown below must leave: T1 cancelled, the queue dead, its
 * ops in the order seq_want (cancels squeezed), stop and put once.
 */
static void check_torn_down(struct ioctl_thread *t1, struct uacce_queue *q, const char *seq_want)
{
	int stops = strchr(seq_want, 'T') != NULL;
	char seq[64];

	ck_assert_int_eq(ioctl_thread_join(t1), -ECANCELED);
	ck_assert_int_eq((int)uq_state(q), UQ_DEAD);
	ck_assert_int_ge(fake_calls(q, FOP_CANCEL), 1);
	ck_assert_int_eq(fake_calls(q, FOP_STOP), stops);
	ck_assert_int_eq(fake_calls(q, FOP_PUT), 1);
	ck_assert_str_eq(seq_squeezed(q, seq), seq_want);
	ck_assert_int_eq(fake_dev_live(A_NODE), 0);
}

/* the owner dies while T1 is inside: the teardown cancels, then frees */
START_TEST(test_cancel_on_owner_died)
{
	struct uacce_queue *q = open_me(fx_a);
	struct ioctl_thread t1;
	int calls;

	start_as(q, me());
	ioctl_thread_blocked(&t1, q, FAKE_CMD_BLOCK, 1);
	calls = H.inst_calls;
	uq_owner_died(q);	/* returns: no waiting for the ioctl to end by itself */
	check_torn_down(&t1, q, "GSICTP");
	ck_assert_int_eq(fake_calls(q, FOP_CANCEL), 1);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
	ck_assert_int_eq(H.inst_calls, calls + 1);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_int_eq(uq_check_owner(q, &(struct uacce_caller){ gettid(), 0, 0 }), -EPERM);
	uq_release(q);		/* nothing more: counted once */
	ck_assert_int_eq(fake_calls(q, FOP_CANCEL), 1);
	ck_assert_int_eq(fake_calls(q, FOP_PUT), 1);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
}
END_TEST

/* the device goes while T1 is inside: every queue revoked, the device destroyed */
START_TEST(test_cancel_on_remove_device)
{
	struct uacce_queue *q = open_me(fx_a), *q2 = open_me(fx_a), *qb = open_me(fx_b);
	struct uacce_caller w = me();
	struct ioctl_thread t1;
	char seq[64];

	start_as(q, w);
	start_as(qb, w);
	ioctl_thread_blocked(&t1, q, FAKE_CMD_BLOCK, 1);
	core_remove_device(fx_a);
	check_torn_down(&t1, q, "GSICTP");
	ck_assert_int_eq(uq_check_owner(q, &w), -ENODEV);
	ck_assert_int_eq((int)uq_state(q2), UQ_DEAD);
	ck_assert_str_eq(seq_squeezed(q2, seq), "GCP");
	ck_assert(fake_dev_destroyed(A_NODE));
	/* the other device is untouched */
	ck_assert_int_eq((int)uq_state(qb), UQ_STARTED);
	ck_assert_int_eq(fake_calls(qb, FOP_CANCEL), 0);
	ck_assert_int_eq(echo(qb), 0);
	uq_release(q);
	uq_release(q2);
	uq_release(qb);
	ck_assert_str_eq(fake_seq(qb, seq), "GSICTP");
	ck_assert(!fake_dev_destroyed(B_NODE));
}
END_TEST

/* removal cancels every queue of the device before it stops the first */
START_TEST(test_remove_device_cancels_all_first)
{
	struct uacce_queue *q1 = open_me(fx_a), *q2 = open_me(fx_a);
	struct ioctl_thread t1, t2;

	start_as(q1, me());
	start_as(q2, me());
	ioctl_thread_blocked(&t1, q1, FAKE_CMD_BLOCK, 1);
	ioctl_thread_blocked(&t2, q2, FAKE_CMD_BLOCK, 1);
	core_remove_device(fx_a);
	check_torn_down(&t1, q1, "GSICTP");
	check_torn_down(&t2, q2, "GSICTP");
	/* both ioctls were told to stop at once, not one after the other */
	ck_assert_uint_lt(fake_first(q2, FOP_CANCEL), fake_first(q1, FOP_STOP));
	ck_assert_uint_lt(fake_first(q1, FOP_CANCEL), fake_first(q2, FOP_STOP));
	uq_release(q1);
	uq_release(q2);
}
END_TEST

/* the file is released (from the main thread) while T1 is inside */
START_TEST(test_cancel_on_release)
{
	struct uacce_queue *q = open_me(fx_a), *ref;
	struct ioctl_thread t1;

	start_as(q, me());
	ioctl_thread_blocked(&t1, q, FAKE_CMD_BLOCK, 1);
	/* the reference a frontend holds for a request in flight */
	ref = core_get_queue(fx_core, uq_id(q));
	ck_assert_ptr_eq(ref, q);
	uq_release(q);
	check_torn_down(&t1, ref, "GSICTP");
	ck_assert_int_eq(fake_calls(ref, FOP_CANCEL), 1);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
	uq_unref(ref);
}
END_TEST

/* the owner dies while T1's START is inside start_queue */
START_TEST(test_owner_died_during_start)
{
	struct uacce_queue *q = open_me(fx_a);
	struct ioctl_thread t1;

	fake_block_start(q, true);
	ioctl_thread_blocked(&t1, q, UACCE_CMD_START, 1);
	uq_owner_died(q);
	/* the start failed (cancelled): nothing to stop */
	check_torn_down(&t1, q, "GSCP");
	ck_assert_int_eq(fake_calls(q, FOP_CANCEL), 1);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
	uq_release(q);
}
END_TEST

TCase *tc_locking(void)
{
	TCase *tc = tcase_create("locking");

	/* a deadlock fails the test here */
	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_fake_setup, fx_fake_teardown);
	tcase_add_test(tc, test_ioctl_outside_core_lock);
	tcase_add_test(tc, test_ioctls_of_two_queues_in_parallel);
	tcase_add_test(tc, test_cancel_on_owner_died);
	tcase_add_test(tc, test_cancel_on_remove_device);
	tcase_add_test(tc, test_remove_device_cancels_all_first);
	tcase_add_test(tc, test_cancel_on_release);
	tcase_add_test(tc, test_owner_died_during_start);
	return tc;
}
