/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-backend.c - unit tests of the queue core (daemon/core.c), group
 * "backend": the backend contract of hwbackends/backend.h as the core
 * keeps it, seen from the fake backend (fake-backend.h): which ops a table
 * must have, what dev_create's info becomes, the order of a queue's ops,
 * failing get_queue / start_queue, the _IOC data contract of device
 * ioctls, is_updated behind poll.  The fixture (fx_fake_setup) gives every
 * test a core with fx_a (uacce-fake-1, non-SVA) and fx_b (uacce-fake-2,
 * SVA), and fails it if the fake saw a breach of the contract.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

#define A_NODE "uacce-fake-1"

/* ioctl with an argument buffer of `size` bytes at `data` */
static int ioctl_io(struct uacce_queue *q, struct uacce_caller w, unsigned int cmd, void *data,
		    size_t size)
{
	struct uacce_ioctl io = { .cmd = cmd, .data = data, .size = size };

	return uq_ioctl(q, &w, &io);
}

static int devices_listed(void)
{
	struct core_dev_stat *ds = NULL;
	int n = -1;

	ck_assert_int_eq(core_devices(fx_core, &ds, &n), 0);
	free(ds);
	return n;
}

/* every required member of the ops table, taken out one at a time */
START_TEST(test_add_device_required_ops)
{
	static const char *const member[] = {
		"(no table)", "cfg", "dev_create", "dev_destroy", "queue",
		"queue->get_queue", "queue->put_queue", "queue->start_queue", "queue->stop_queue",
	};
	struct fake_params p = fake_params();
	static struct fake_table t;	/* a device keeps its table: it outlives the test */
	struct uacce_dev *d;

	for (size_t m = 0; m < sizeof(member) / sizeof(member[0]); m++) {
		fake_table_init(&t);
		switch (m) {
		case 1: t.ops.cfg = NULL; break;
		case 2: t.ops.dev_create = NULL; break;
		case 3: t.ops.dev_destroy = NULL; break;
		case 4: t.ops.queue = NULL; break;
		case 5: t.queue.get_queue = NULL; break;
		case 6: t.queue.put_queue = NULL; break;
		case 7: t.queue.start_queue = NULL; break;
		case 8: t.queue.stop_queue = NULL; break;
		}
		d = NULL;
		ck_assert_msg(add_fake(fx_core, m ? &t.ops : NULL, &p, 10 + (int)m, &d) == -EINVAL,
			      "ops without %s accepted", member[m]);
		ck_assert_ptr_null(d);
	}
	/* nothing was created: no dev_create call, no device listed */
	ck_assert_int_eq(fake_created(), 2);
	ck_assert_int_eq(devices_listed(), 2);

	/* the optional members may be missing */
	fake_table_init(&t);
	t.queue.ioctl = NULL;
	t.queue.is_updated = NULL;
	t.queue.cancel = NULL;
	t.ops.hw = NULL;
	ck_assert_int_eq(add_fake(fx_core, &t.ops, &p, 20, &d), 0);
	ck_assert_str_eq(ud_name(d), "uacce-fake-20");
	ck_assert_int_eq(ud_hw_release_fd(d), -1);
	ck_assert_int_eq(fake_created(), 3);
	ck_assert_int_eq(devices_listed(), 3);
}
END_TEST

/* dev_create's error goes to the caller, and nothing is left behind */
START_TEST(test_add_device_create_error)
{
	struct fake_params p = fake_params();
	struct uacce_dev *d = NULL;

	p.create_error = EIO;
	ck_assert_int_eq(add_fake(fx_core, fake_ops(), &p, 3, &d), -EIO);
	ck_assert_ptr_null(d);
	p = fake_params();
	p.queues = 0;		/* the fake's check refuses it */
	ck_assert_int_eq(add_fake(fx_core, fake_ops(), &p, 3, &d), -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(fake_created(), 2);
	ck_assert_int_eq(devices_listed(), 2);
}
END_TEST

/* what dev_create reports is what the core publishes */
START_TEST(test_info_from_backend)
{
	struct fake_params p = fake_params();
	uint64_t off[UACCE_QFRT_NR];
	struct uacce_dev *d = NULL;

	/* the fixture's devices: defaults */
	ck_assert_str_eq(ud_info(fx_a)->api, FAKE_API);
	ck_assert_str_eq(ud_info(fx_a)->algorithms, "echo\nblock");
	ck_assert_uint_eq(ud_info(fx_a)->flags, UACCE_DEV_SHARE_DOMAIN);
	ck_assert_uint_eq(ud_info(fx_b)->flags, UACCE_DEV_SVA);
	ck_assert_str_eq(ud_name(fx_a), A_NODE);
	ck_assert_str_eq(ud_cfg_name(fx_a), "fake");
	ud_qfrs_offset(fx_a, off);
	ck_assert_uint_eq(off[UACCE_QFRT_MMIO], 0);
	ck_assert_uint_eq(off[UACCE_QFRT_DKO], UACCE_QFR_NA);
	ck_assert_uint_eq(off[UACCE_QFRT_DUS], UACCE_QFR_NA);
	ck_assert_uint_eq(off[UACCE_QFRT_SS], 4096);
	ud_qfrs_offset(fx_b, off);
	ck_assert_uint_eq(off[UACCE_QFRT_SS], UACCE_QFR_NA);	/* SVA: no SS */

	/* sizes and queues from the entry */
	p.mmio = 2 * PAGE;
	p.dus = PAGE;
	p.queues = 3;
	ck_assert_int_eq(add_fake(fx_core, fake_ops(), &p, 7, &d), 0);
	ck_assert_int_eq(ud_info(d)->max_queues, 3);
	ck_assert_int_eq(ud_available_instances(d), 3);
	ck_assert_uint_eq(ud_info(d)->qfr_size[UACCE_QFRT_MMIO], 2 * PAGE);
	ck_assert_uint_eq(ud_info(d)->qfr_size[UACCE_QFRT_DUS], PAGE);
	ud_qfrs_offset(d, off);
	ck_assert_uint_eq(off[UACCE_QFRT_MMIO], 0);
	ck_assert_uint_eq(off[UACCE_QFRT_DUS], 2 * PAGE);
	ck_assert_uint_eq(off[UACCE_QFRT_SS], 3 * PAGE);
	/* and the regions the core creates have those sizes */
	{
		struct uacce_queue *q = open_me(d);
		void *mm = map_me(q, UACCE_QFRT_MMIO, 2 * PAGE);
		void *dus = map_me(q, UACCE_QFRT_DUS, PAGE);

		ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_MMIO, PAGE), -EINVAL);
		munmap(mm, 2 * PAGE);
		munmap(dus, PAGE);
		uq_release(q);
	}
}
END_TEST

/* get -> start -> (ioctl) -> stop -> put, each once; teardown cancels first */
START_TEST(test_queue_op_order)
{
	struct uacce_queue *q1, *q2, *q3, *q4;
	struct fake_echo e = { .tag = 1 };
	char seq[64];

	q1 = open_me(fx_a);
	ck_assert_str_eq(fake_seq(q1, seq), "G");
	start_as(q1, me());
	ck_assert_int_eq(ioctl_io(q1, me(), FAKE_CMD_ECHO, &e, sizeof(e)), 0);
	ck_assert_str_eq(fake_seq(q1, seq), "GSI");
	uq_release(q1);			/* STARTED: cancel, stop, put */
	ck_assert_str_eq(fake_seq(q1, seq), "GSICTP");

	q2 = open_me(fx_a);
	start_as(q2, me());
	ck_assert_int_eq(ioc(q2, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_str_eq(fake_seq(q2, seq), "GSTP");	/* no cancel: not a teardown */
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
	uq_release(q2);			/* nothing more to put */
	ck_assert_str_eq(fake_seq(q2, seq), "GSTP");
	ck_assert_int_eq(fake_calls(q2, FOP_PUT), 1);

	q3 = open_me(fx_a);
	uq_release(q3);			/* INIT: no stop */
	ck_assert_str_eq(fake_seq(q3, seq), "GCP");

	q4 = open_me(fx_a);
	ck_assert_int_eq(ioc(q4, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(ioc(q4, me(), UACCE_CMD_PUT_Q), 0);
	uq_owner_died(q4);
	uq_release(q4);
	ck_assert_str_eq(fake_seq(q4, seq), "GP");

	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_GET), 4);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_PUT), 4);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_START), 2);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_STOP), 2);
	ck_assert_int_eq(fake_dev_live(A_NODE), 0);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
	/* the other device saw nothing */
	for (int op = 0; op < FOP_NR; op++)
		ck_assert_int_eq(fake_dev_calls("uacce-fake-2", (enum fake_op)op), 0);
}
END_TEST

/* a failed start_queue leaves the queue in INIT, holding its instance */
START_TEST(test_start_failure)
{
	struct uacce_queue *q = open_me(fx_a), *q2 = open_me(fx_a);
	char seq[64];

	fake_fail_start(q, -EIO);
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_START), -EIO);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ud_available_instances(fx_a), 2);
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_START), -EIO);
	/* it may be started once the device lets it */
	fake_fail_start(q, 0);
	start_as(q, me());
	ck_assert_str_eq(fake_seq(q, seq), "GSSS");
	uq_release(q);
	ck_assert_str_eq(fake_seq(q, seq), "GSSSCTP");

	/* released after a failed start: nothing to stop */
	fake_fail_start(q2, -ENOMEM);
	ck_assert_int_eq(ioc(q2, me(), UACCE_CMD_START), -ENOMEM);
	ck_assert_int_eq(state(q2), UQ_INIT);
	uq_release(q2);
	ck_assert_str_eq(fake_seq(q2, seq), "GSCP");
	ck_assert_int_eq(fake_calls(q2, FOP_STOP), 0);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
}
END_TEST

/* a failed get_queue takes nothing; a failed open after it puts the queue */
START_TEST(test_get_failure)
{
	struct uacce_caller w = me();
	struct uacce_queue *q = NULL;

	fake_dev_fail_get(A_NODE, -ENOSPC);
	ck_assert_int_eq(uq_open(fx_a, &w, &q), -ENOSPC);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_GET), 1);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_PUT), 0);
	ck_assert_int_eq(H.inst_calls, 0);
	ck_assert_int_eq(H.watch_calls, 0);
	fake_dev_fail_get(A_NODE, 0);

	/* the owner watch fails after get_queue: the queue is put again */
	H.watch_ret = -EMFILE;
	ck_assert_int_eq(uq_open(fx_a, &w, &q), -EMFILE);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_GET), 2);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_PUT), 1);
	ck_assert_int_eq(fake_dev_live(A_NODE), 0);
	ck_assert_int_eq(ud_available_instances(fx_a), 4);
	H.watch_ret = 0;
	q = open_me(fx_a);
	uq_release(q);
}
END_TEST

/* struct uacce_ioctl: _IOC_SIZE(cmd) bytes in and out, else EINVAL */
START_TEST(test_ioctl_data_contract)
{
	struct uacce_queue *q = open_me(fx_a);
	struct child ch = spawn_child();
	struct uacce_caller w = me(), other = who_tid(ch.pid);
	struct fake_echo e = { .tag = 41 }, ref;
	int calls;

	for (size_t i = 0; i < sizeof(e.in); i++)
		e.in[i] = (uint8_t)(i * 17 + 3);
	ref = e;
	start_as(q, w);
	/* the round trip: the backend reads in[] and writes out[] and tag */
	ck_assert_int_eq(ioctl_io(q, w, FAKE_CMD_ECHO, &e, sizeof(e)), 0);
	ck_assert_uint_eq(e.tag, 42);
	ck_assert_mem_eq(e.in, ref.in, sizeof(e.in));
	for (size_t i = 0; i < sizeof(e.in); i++)
		ck_assert_uint_eq(e.out[i], (uint8_t)~ref.in[i]);
	ck_assert_int_eq(fake_calls(q, FOP_IOCTL), 1);

	/* a size that is not _IOC_SIZE(cmd), or no data: refused before the backend */
	ck_assert_int_eq(ioctl_io(q, w, FAKE_CMD_ECHO, &e, sizeof(e) - 1), -EINVAL);
	ck_assert_int_eq(ioctl_io(q, w, FAKE_CMD_ECHO, &e, sizeof(e) + 1), -EINVAL);
	ck_assert_int_eq(ioctl_io(q, w, FAKE_CMD_ECHO, NULL, 0), -EINVAL);
	ck_assert_int_eq(ioctl_io(q, w, FAKE_CMD_ECHO, NULL, sizeof(e)), -EINVAL);
	ck_assert_int_eq(ioctl_io(q, w, FAKE_CMD_ARG, &e, sizeof(e)), -EINVAL);
	ck_assert_int_eq(fake_calls(q, FOP_IOCTL), 1);
	ck_assert_uint_eq(e.tag, 42);

	/* _IOC_NONE: the raw argument reaches the backend */
	ck_assert_int_eq(ioctl_raw(q, &w, FAKE_CMD_ARG, 0xabcdefUL), 0);
	ck_assert_uint_eq(fake_last_arg(q), 0xabcdefUL);

	/* unknown to the backend (ENOTTY): EINVAL, as the kernel answers */
	calls = fake_calls(q, FOP_IOCTL);
	ck_assert_int_eq(ioctl_raw(q, &w, _IO('f', 99), 0), -EINVAL);
	ck_assert_int_eq(ioctl_raw(q, &w, _IOWR('f', 98, struct fake_echo), 0), -EINVAL);
	ck_assert_int_eq(fake_calls(q, FOP_IOCTL), calls + 2);

	/* another process: EPERM, the backend never called */
	calls = fake_calls(q, FOP_IOCTL);
	ck_assert_int_eq(ioctl_io(q, other, FAKE_CMD_ECHO, &e, sizeof(e)), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, FAKE_CMD_ARG, 5), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, FAKE_CMD_BLOCK, 0), -EPERM);
	ck_assert_int_eq(fake_calls(q, FOP_IOCTL), calls);
	ck_assert_uint_eq(e.tag, 42);

	/* no hardware queue after PUT_Q: EINVAL without the backend */
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(ioctl_io(q, w, FAKE_CMD_ECHO, &e, sizeof(e)), -EINVAL);
	ck_assert_int_eq(ioctl_raw(q, &w, FAKE_CMD_BLOCK, 0), -EINVAL);
	ck_assert_int_eq(fake_calls(q, FOP_IOCTL), calls);
	uq_release(q);
	kill_child(&ch);
}
END_TEST

/* a backend without the optional ops: ioctl EINVAL, poll quiet, no cancel */
START_TEST(test_optional_ops_missing)
{
	static struct fake_table t;	/* the device keeps its table */
	struct fake_params p = fake_params();
	struct fake_echo e = { 0 };
	struct uacce_queue *q;
	struct uacce_dev *d;
	struct uacce_caller w = me();
	unsigned mask = 7;
	char seq[64];

	fake_table_init(&t);
	t.queue.ioctl = NULL;
	t.queue.is_updated = NULL;
	t.queue.cancel = NULL;
	ck_assert_int_eq(add_fake(fx_core, &t.ops, &p, 5, &d), 0);
	q = open_me(d);
	start_as(q, w);
	ck_assert_int_eq(ioctl_io(q, w, FAKE_CMD_ECHO, &e, sizeof(e)), -EINVAL);
	ck_assert_int_eq(ioctl_raw(q, &w, FAKE_CMD_BLOCK, 0), -EINVAL);
	fake_set_updated(q, true);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	uq_release(q);
	ck_assert_str_eq(fake_seq(q, seq), "GSTP");
	ck_assert_int_eq(fake_calls(q, FOP_UPDATED), 0);
}
END_TEST

/* poll asks the backend's is_updated while the queue holds hardware */
START_TEST(test_poll_is_updated)
{
	struct uacce_queue *q = open_me(fx_b);
	struct child ch = spawn_child();
	struct uacce_caller w = me(), other = who_tid(ch.pid);
	unsigned mask = 7;

	start_as(q, w);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	fake_set_updated(q, true);
	ck_assert_int_eq(uq_poll(q, &other, &mask), -EPERM);	/* not asked */
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(fake_calls(q, FOP_UPDATED), 1);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, POLLIN | POLLRDNORM);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);		/* consumed */
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(fake_calls(q, FOP_UPDATED), 3);
	/* given back: the backend is not asked any more */
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(fake_calls(q, FOP_UPDATED), 3);
	uq_release(q);
	kill_child(&ch);
}
END_TEST

TCase *tc_backend(void)
{
	TCase *tc = tcase_create("backend");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_fake_setup, fx_fake_teardown);
	tcase_add_test(tc, test_add_device_required_ops);
	tcase_add_test(tc, test_add_device_create_error);
	tcase_add_test(tc, test_info_from_backend);
	tcase_add_test(tc, test_queue_op_order);
	tcase_add_test(tc, test_start_failure);
	tcase_add_test(tc, test_get_failure);
	tcase_add_test(tc, test_ioctl_data_contract);
	tcase_add_test(tc, test_optional_ops_missing);
	tcase_add_test(tc, test_poll_is_updated);
	return tc;
}
