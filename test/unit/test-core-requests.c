/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-requests.c - unit tests of the queue core (daemon/core.c), group
 * "device": requests on the soft device's ring, poll, notify. Helpers and
 * fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

START_TEST(test_poll_completion_nonsva)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct dummy_hw_queue_reg *reg;
	int notified = 0;
	unsigned mask = 7;
	char *ss;

	uq_set_notify(q, notify_cb, &notified);
	/* INIT: nothing to report */
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	start_as(q, w);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 1 * MiB);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	usleep(30000);	/* let the worker go to sleep */
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(__atomic_load_n(&notified, __ATOMIC_SEQ_CST), 0);

	fill(ss, 3000, 77);
	submit(reg, ss, ss + 512 * 1024, 3000, (void *)0x1234);
	mask = wait_poll(q, w, 1000);
	ck_assert_uint_eq(mask, POLLIN | POLLRDNORM);
	ck_assert(wait_counter(&notified, 1, 1000));
	ck_assert_uint_eq(__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE), 1);
	ck_assert_uint_eq(reg->ring[0].ret, 0);
	ck_assert_ptr_eq(reg->ring[0].ptr, (void *)0x1234);
	ck_assert_mem_eq(ss + 512 * 1024, ss, 3000);
	/* poll consumed the news */
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);

	/* a request outside the SS fails, the daemon does not */
	{
		char *heap = malloc(256);
		uint32_t ret;

		fill(heap, 256, 5);
		memset(ss, 0, 256);
		ret = do_copy(reg, heap, ss, 256);	/* source outside */
		ck_assert_uint_ne(ret, 0);
		ck_assert_uint_ne(ret, 0xdeadbeefU);
		ck_assert_mem_ne(ss, heap, 256);
		ck_assert_uint_ne(do_copy(reg, ss, heap, 256), 0);	/* target outside */
		/* straddling the end of the SS */
		ck_assert_uint_ne(do_copy(reg, ss + 1 * MiB - 100, ss, 200), 0);
		ck_assert_uint_ne(do_copy(reg, ss, ss + 1 * MiB - 100, 200), 0);
		/* just below the start */
		ck_assert_uint_ne(do_copy(reg, ss - 1, ss + PAGE, 16), 0);
		/* exactly the last bytes: fine */
		ck_assert_uint_eq(do_copy(reg, ss, ss + 1 * MiB - 100, 100), 0);
		ck_assert_mem_eq(ss + 1 * MiB - 100, ss, 100);
		free(heap);
	}
	ck_assert_uint_eq(wait_poll(q, w, 1000), POLLIN | POLLRDNORM);
	munmap(reg, PAGE);
	munmap(ss, 1 * MiB);
	uq_release(q);
}
END_TEST

START_TEST(test_ring_wraps)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct dummy_hw_queue_reg *reg;
	char *ss;

	start_as(q, me());
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 64 * PAGE);
	for (int i = 0; i < 3 * Q_BDS + 3; i++) {
		fill(ss, 128, (unsigned)i);
		ck_assert_uint_eq(do_copy(reg, ss, ss + PAGE + (size_t)i * 128, 128), 0);
		ck_assert_mem_eq(ss + PAGE + (size_t)i * 128, ss, 128);
	}
	ck_assert_uint_eq(reg->tail, (3 * Q_BDS + 3) % Q_BDS);
	munmap(reg, PAGE);
	munmap(ss, 64 * PAGE);
	uq_release(q);
}
END_TEST

START_TEST(test_request_after_long_idle)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct dummy_hw_queue_reg *reg;
	uint64_t t0;
	char *ss;

	start_as(q, w);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 4 * PAGE);
	for (int round = 0; round < 2; round++) {
		/* idle long enough for the worker to park */
		usleep(250000);
		fill(ss, 100, (unsigned)round);
		t0 = now_ms();
		/* no system call, no doorbell: the device must notice by itself */
		submit(reg, ss, ss + PAGE, 100, NULL);
		ck_assert_uint_eq(wait_poll(q, w, 1000), POLLIN | POLLRDNORM);
		ck_assert_uint_lt(now_ms() - t0, 1000);
		ck_assert_uint_eq(reg->tail, (uint32_t)round + 1);
		ck_assert_uint_eq(reg->ring[round].ret, 0);
		ck_assert_mem_eq(ss + PAGE, ss, 100);
	}
	munmap(reg, PAGE);
	munmap(ss, 4 * PAGE);
	uq_release(q);
}
END_TEST

START_TEST(test_flush_processes_ring_v2)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct dummy_hw_queue_reg *reg;
	int notified = 0;
	uint32_t *bell;
	char *ss;

	start_as(q, w);
	uq_set_notify(q, notify_cb, &notified);
	reg = map_me(q, UACCE_QFRT_DUS, PAGE);
	bell = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 4 * PAGE);
	for (int i = 0; i < 5; i++) {
		fill(ss + (size_t)i * 64, 64, (unsigned)i + 100);
		submit(reg, ss + (size_t)i * 64, ss + 2 * PAGE + (size_t)i * 64, 64, NULL);
	}
	/* FLUSH processes everything up to head before it returns */
	ck_assert_int_eq(ioc(q, w, DUMMY_CMD_FLUSH), 0);
	ck_assert_uint_eq(__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(reg->ring[i].ret, 0);
	ck_assert_mem_eq(ss + 2 * PAGE, ss, 5 * 64);
	ck_assert_uint_eq(wait_poll(q, w, 1000), POLLIN | POLLRDNORM);
	ck_assert(wait_counter(&notified, 1, 1000));
	/* the doorbell path: write head, ring */
	fill(ss, 64, 1);
	submit(reg, ss, ss + 3 * PAGE, 64, NULL);
	__atomic_store_n(bell, 1, __ATOMIC_RELEASE);
	ck_assert(wait_tail(reg, 6, 1000));
	ck_assert_uint_eq(reg->ring[5].ret, 0);
	ck_assert_mem_eq(ss + 3 * PAGE, ss, 64);
	munmap(reg, PAGE);
	munmap(bell, PAGE);
	munmap(ss, 4 * PAGE);
	uq_release(q);
}
END_TEST

START_TEST(test_sva_requests)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", true, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct dummy_hw_queue_reg *reg;
	size_t big = 200 * 1024;	/* more than one bounce buffer */
	char *a = malloc(big), *b = malloc(big);
	char *unmapped, *hole;
	int notified = 0, memfd;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	/*
	 * An address that faults and stays so: the second page of a mapping
	 * of a one-page file (an unmapped hole could be reused by the next
	 * mmap, e.g. the worker's stack).
	 */
	memfd = memfd_create("beyond-eof", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, PAGE), 0);
	hole = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(hole, MAP_FAILED);
	unmapped = hole + PAGE;

	uq_set_notify(q, notify_cb, &notified);
	start_as(q, w);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	fill(a, big, 11);
	memset(b, 0, big);
	ck_assert_uint_eq(do_copy(reg, a, b, big), 0);
	ck_assert_mem_eq(b, a, big);
	ck_assert_uint_eq(wait_poll(q, w, 1000), POLLIN | POLLRDNORM);
	ck_assert(wait_counter(&notified, 1, 1000));
	/* unmapped addresses fail the request, not the daemon */
	ck_assert_uint_ne(do_copy(reg, (void *)0x10, b, 16), 0);
	ck_assert_uint_ne(do_copy(reg, a, (void *)0x10, 16), 0);
	ck_assert_uint_ne(do_copy(reg, unmapped, b, 64), 0);
	ck_assert_uint_ne(do_copy(reg, a, unmapped, 64), 0);
	/* and a valid one works afterwards */
	fill(a, 4096, 12);
	ck_assert_uint_eq(do_copy(reg, a, b, 4096), 0);
	ck_assert_mem_eq(b, a, 4096);
	/* an empty copy is fine */
	ck_assert_uint_eq(do_copy(reg, a, b, 0), 0);
	munmap(reg, PAGE);
	uq_release(q);
	munmap(hole, 2 * PAGE);
	close(memfd);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_poll_after_put_q)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	unsigned mask = 3;

	start_as(q, w);
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	uq_release(q);
}
END_TEST

/*
 * On a thread that flushes (a session thread: uq_defer_enable), START
 * leaves the worker to the next uq_flush_deferred: a request meanwhile
 * waits (the device shows itself asleep, so a client kicks), and a flush
 * starts the worker at once for a queue with a request pending, or for
 * every queue when the thread would sleep (older_ns 0)
 */
START_TEST(test_deferred_start)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d), *q2 = open_me(d);
	struct dummy_hw_queue_reg *reg;
	struct dummy_wake *wk;
	char *ss;

	uq_defer_enable(true);
	start_as(q, me());
	start_as(q2, me());
	uq_defer_enable(false);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	wk = (struct dummy_wake *)((char *)reg + DUMMY_WAKE_OFFSET);
	ck_assert_uint_eq(__atomic_load_n(&wk->sleeping, __ATOMIC_ACQUIRE), 1);
	ss = map_ss_me(q, 4 * PAGE);
	fill(ss, 100, 7);
	submit(reg, ss, ss + PAGE, 100, NULL);
	usleep(20000);
	ck_assert_uint_eq(__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE), 0);	/* no worker yet */
	/* young, but a request is pending: q's worker starts; q2 waits on */
	ck_assert(uq_flush_deferred(c, 60ULL * 1000000000ULL));
	ck_assert(wait_tail(reg, 1, 2000));
	ck_assert_mem_eq(ss + PAGE, ss, 100);
	/* the thread would sleep: q2's worker starts too */
	ck_assert(!uq_flush_deferred(c, 0));
	ck_assert(!uq_flush_deferred(c, 0));
	munmap(reg, PAGE);
	munmap(ss, 4 * PAGE);
	uq_release(q);
	uq_release(q2);
}
END_TEST

/* started and stopped before any flush: no worker ever, the instance back */
START_TEST(test_deferred_start_then_stop)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 2, 1);

	uq_defer_enable(true);
	for (int i = 0; i < 50; i++) {
		struct uacce_queue *q = open_me(d);

		start_as(q, me());
		ck_assert_int_eq(ioc(q, me(), UACCE_CMD_PUT_Q), 0);
		ck_assert_int_eq(ud_available_instances(d), 2);
		uq_release(q);
	}
	/* and one released while still waiting for its worker */
	{
		struct uacce_queue *q = open_me(d);

		start_as(q, me());
		uq_release(q);
	}
	uq_defer_enable(false);
	ck_assert(!uq_flush_deferred(c, 0));
	ck_assert_int_eq(ud_available_instances(d), 2);
}
END_TEST

TCase *tc_device(void)
{
	TCase *tc = tcase_create("device");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_poll_completion_nonsva);
	tcase_add_test(tc, test_ring_wraps);
	tcase_add_test(tc, test_request_after_long_idle);
	tcase_add_test(tc, test_flush_processes_ring_v2);
	tcase_add_test(tc, test_sva_requests);
	tcase_add_test(tc, test_poll_after_put_q);
	tcase_add_test(tc, test_deferred_start);
	tcase_add_test(tc, test_deferred_start_then_stop);
	return tc;
}
