/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-policy.c - unit tests of the queue core (daemon/core.c), group
 * "policy": the admin policy (device access, queue quotas, region bytes per
 * user), the snapshots, device references.  Helpers and fixtures:
 * core-fixture.h.
 */
#define _GNU_SOURCE
#include "core-fixture.h"

#include <grp.h>

static struct uacce_policy *mkpolicy(void)
{
	struct uacce_policy *p = NULL;

	ck_assert_int_eq(policy_new(&p), 0);
	return p;
}

/* install p in c (the core takes its own reference) */
static void install(struct uacce_core *c, struct uacce_policy *p)
{
	core_set_policy(c, p);
	policy_unref(p);
}

START_TEST(test_policy_device_access)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 4, 0);
	struct uacce_dev *d1 = mkdev(c, "dummy_v2", true, 4, 1);
	struct uacce_policy *p = mkpolicy();
	struct policy_entry *g = NULL;
	gid_t grp[] = { 50 };

	ck_assert_int_eq(policy_entry_add_device(&p->def, "uacce-dummy-1"), 0);
	ck_assert_int_eq(policy_add_group(p, 50, "group g", &g), 0);
	ck_assert_int_eq(policy_entry_add_device(g, "dummy"), 0);	/* by config name */
	install(c, p);
	H.watch_calls = 0;
	ck_assert_int_eq(try_open(d0, who_u(gettid(), 1000, NULL, 0)), -EACCES);
	ck_assert_int_eq(H.watch_calls, 0);	/* nothing was taken */
	ck_assert_int_eq(ud_available_instances(d0), 4);
	ck_assert_int_eq(try_open(d1, who_u(gettid(), 1000, NULL, 0)), 0);
	/* the group's list allows both */
	ck_assert_int_eq(try_open(d0, who_u(gettid(), 1000, grp, 1)), 0);
	/* root: the default does not apply */
	ck_assert_int_eq(try_open(d0, who_u(gettid(), 0, NULL, 0)), 0);
}
END_TEST

START_TEST(test_policy_max_queues)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 8, 0);
	struct uacce_dev *d1 = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_policy *p = mkpolicy();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_queue *a, *b, *e, *f;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 3);
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES_PER_DEVICE, 2);
	install(c, p);
	a = open_as(d1, w);
	b = open_as(d1, w);
	ck_assert_int_eq(try_open(d1, w), -EDQUOT);	/* per device */
	ck_assert_int_eq(ud_available_instances(d1), 6);
	e = open_as(d0, w);
	ck_assert_int_eq(try_open(d0, w), -EDQUOT);	/* in all */
	/* another user is counted apart */
	ck_assert_int_eq(try_open(d1, who_u(gettid(), 1001, NULL, 0)), 0);
	/* a queue after PUT_Q holds no hardware: it no longer counts */
	ck_assert_int_eq(ioc(a, w, UACCE_CMD_PUT_Q), 0);
	f = open_as(d0, w);
	ck_assert_int_eq(try_open(d1, w), -EDQUOT);
	/* nor does a queue whose owner exited */
	uq_owner_died(b);
	ck_assert_int_eq(try_open(d1, w), 0);
	uq_release(a);
	uq_release(b);
	uq_release(e);
	uq_release(f);
}
END_TEST

START_TEST(test_policy_groups_of_caller)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_policy *p = mkpolicy();
	struct policy_entry *e = NULL;
	gid_t one[] = { 77 }, two[] = { 77, 78 };
	struct uacce_queue *q;

	ck_assert_int_eq(policy_add_group(p, 77, "group a", &e), 0);
	policy_entry_set_limit(e, PL_MAX_QUEUES, 1);
	ck_assert_int_eq(policy_add_group(p, 78, "group b", &e), 0);
	policy_entry_set_limit(e, PL_MAX_QUEUES, 2);
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 0);
	install(c, p);
	ck_assert_int_eq(try_open(d, who_u(gettid(), 1000, NULL, 0)), -EDQUOT); /* default 0 */
	q = open_as(d, who_u(gettid(), 1000, one, 1));
	ck_assert_int_eq(try_open(d, who_u(gettid(), 1000, one, 1)), -EDQUOT);
	/* the most generous of two groups: 2 */
	ck_assert_int_eq(try_open(d, who_u(gettid(), 1000, two, 2)), 0);
	uq_release(q);
}
END_TEST

/*
 * The frontend reads an opener's supplementary groups only while the
 * policy has group entries (uq_policy_wants_groups).  A queue opened
 * without them gets its process's groups read when a policy with group
 * entries needs them: its limits then come from its group, as do those of
 * a new open that came without groups.
 */
START_TEST(test_policy_groups_read_when_needed)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_caller w = who_tid(gettid());
	struct uacce_policy *p = mkpolicy();
	struct policy_entry *e = NULL;
	struct core_user_stat *us = NULL;
	struct uacce_queue *q, *q2 = NULL;
	gid_t g[64], mine = 4242;
	int n = getgroups(64, g), nus = 0, found = 0;

	w.uid = w.gid = 1000;
	if (geteuid() == 0) {
		ck_assert_int_eq(setgroups(1, &mine), 0);	/* this forked test's own */
	} else if (n > 0 && g[0] != 1000) {
		mine = g[0];
	} else {
		fprintf(stderr, "test_policy_groups_read_when_needed: skipped (not root, "
			"no supplementary group)\n");
		return;
	}
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 5);
	install(c, p);
	ck_assert(!uq_policy_wants_groups(d));
	q = open_as(d, w);	/* w.groups_known: false */
	p = mkpolicy();
	ck_assert_int_eq(policy_add_group(p, mine, "group mine", &e), 0);
	policy_entry_set_limit(e, PL_MAX_QUEUES, 7);
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 1);
	install(c, p);
	ck_assert(uq_policy_wants_groups(d));
	ck_assert_int_eq(core_usage(c, &us, &nus), 0);
	for (int i = 0; i < nus; i++) {
		if (us[i].uid != 1000)
			continue;
		found++;
		ck_assert_uint_eq(us[i].lim[PL_MAX_QUEUES], 7);
		ck_assert_str_eq(us[i].src[PL_MAX_QUEUES], "group mine");
	}
	free(us);
	ck_assert_int_eq(found, 1);
	/* the default (1) would refuse a second queue; the group (7) does not */
	ck_assert_int_eq(uq_open(d, &w, &q2), 0);
	uq_release(q2);
	uq_release(q);
}
END_TEST

START_TEST(test_policy_swap_keeps_queues)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_policy *p = mkpolicy();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_queue *a, *b;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 5);
	install(c, p);
	a = open_as(d, w);
	b = open_as(d, w);
	p = mkpolicy();
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 1);
	install(c, p);
	/* the open queues stay and work; new opens obey the new limit */
	ck_assert_int_eq(ioc(a, w, UACCE_CMD_START), 0);
	ck_assert_int_eq(ioc(b, w, UACCE_CMD_START), 0);
	ck_assert_int_eq(try_open(d, w), -EDQUOT);
	install(c, NULL);	/* no policy: no limit */
	ck_assert_int_eq(try_open(d, w), 0);
	uq_release(a);
	uq_release(b);
}
END_TEST

START_TEST(test_policy_region_bytes)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 8, 0);
	struct uacce_dev *d1 = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_policy *p = mkpolicy();
	struct child ch = spawn_child(), ch2 = spawn_child();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_caller cw = who_u(ch.pid, 1000, NULL, 0);
	struct uacce_caller ow = who_u(ch2.pid, 1001, NULL, 0);
	struct uacce_queue *q, *qc, *qo;

	policy_entry_set_limit(&p->def, PL_MAX_REGION_BYTES, 64 * 1024);
	install(c, p);
	q = open_as(d0, w);
	start_as(q, w);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_MMIO, PAGE), 0);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, 64 * 1024), -ENOMEM);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, 60 * 1024), 0);
	/* another process of the same user: the user's bytes are shared */
	qc = open_as(d1, cw);
	ck_assert_int_eq(try_map(qc, ch.pid, UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	/* another user is not */
	qo = open_as(d1, ow);
	ck_assert_int_eq(try_map(qo, ch2.pid, UACCE_QFRT_MMIO, PAGE), 0);
	/* unmapping MMIO gives its bytes back; the SS stays charged until release */
	ck_assert_int_eq(uq_unmap(q, getpid(), UACCE_QFRT_MMIO), 0);
	ck_assert_int_eq(try_map(qc, ch.pid, UACCE_QFRT_MMIO, PAGE), 0);
	ck_assert_int_eq(try_map(qc, ch.pid, UACCE_QFRT_DUS, PAGE), -ENOMEM);
	/* the owner's death frees its share */
	uq_owner_died(q);
	ck_assert_int_eq(try_map(qc, ch.pid, UACCE_QFRT_DUS, PAGE), 0);
	uq_release(q);
	uq_release(qc);
	uq_release(qo);
	kill_child(&ch);
	kill_child(&ch2);
}
END_TEST

/* the daemon maps every region: built-in bounds where the policy says nothing */
START_TEST(test_policy_builtin_region_limits)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 8, 0);
	struct uacce_dev *d1 = mkdev(c, "dummy_v2", true, 8, 1);
	struct child ch = spawn_child();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_caller rw = who_u(ch.pid, 0, NULL, 0);
	struct uacce_policy *p;
	struct uacce_queue *q, *qr;

	/* no policy at all (the embedded default): a user gets the built-in */
	core_set_builtin_limits(c, 62 * 1024, 128 * 1024);
	q = open_as(d0, w);
	start_as(q, w);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, 64 * 1024), -ENOMEM);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, 60 * 1024), 0);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	/* root has no per-user built-in, but all users together are bounded */
	qr = open_as(d1, rw);
	ck_assert_int_eq(try_map(qr, ch.pid, UACCE_QFRT_MMIO, PAGE), 0);
	ck_assert_int_eq(try_map(qr, ch.pid, UACCE_QFRT_DUS, PAGE), 0);
	core_set_builtin_limits(c, 62 * 1024, 66 * 1024);
	ck_assert_int_eq(uq_unmap(qr, ch.pid, UACCE_QFRT_DUS), 0);
	ck_assert_int_eq(try_map(qr, ch.pid, UACCE_QFRT_DUS, PAGE), -ENOMEM);
	/* an entry that says "unlimited" is the admin's word; the total is set too */
	p = mkpolicy();
	policy_entry_set_limit(&p->def, PL_MAX_REGION_BYTES, POLICY_UNLIMITED);
	p->total_set = true;
	p->total_region_bytes = POLICY_UNLIMITED;
	install(c, p);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_MMIO, PAGE), 0);
	ck_assert_int_eq(try_map(qr, ch.pid, UACCE_QFRT_DUS, PAGE), 0);
	uq_release(q);
	uq_release(qr);
	kill_child(&ch);
}
END_TEST

START_TEST(test_policy_shared_ss_counted_once)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 8, 0);
	struct uacce_policy *p = mkpolicy();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_queue *q1, *q2, *q3;
	struct core_user_stat *u = NULL;
	int n = 0;

	policy_entry_set_limit(&p->def, PL_MAX_REGION_BYTES, 128 * 1024);
	install(c, p);
	q1 = open_as(d, w);
	start_as(q1, w);
	ck_assert_int_eq(try_map(q1, getpid(), UACCE_QFRT_SS, 64 * 1024), 0);
	q2 = open_as(d, w);
	start_as(q2, w);
	ck_assert_int_eq(uq_share_svas(q2, &w, q1), 0);
	q3 = open_as(d, w);
	start_as(q3, w);
	/* 64K shared by two queues + 64K: exactly the limit */
	ck_assert_int_eq(try_map(q3, getpid(), UACCE_QFRT_SS, 64 * 1024), 0);
	ck_assert_int_eq(try_map(q3, getpid(), UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	ck_assert_int_eq(core_usage(c, &u, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(u[0].bytes, 128 * 1024);
	free(u);
	/* the source goes: the target keeps the SS, still counted once */
	uq_release(q1);
	ck_assert_int_eq(try_map(q3, getpid(), UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	uq_release(q2);
	ck_assert_int_eq(try_map(q3, getpid(), UACCE_QFRT_MMIO, PAGE), 0);
	uq_release(q3);
}
END_TEST

START_TEST(test_policy_snapshots)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d2 = mkdev(c, "dummy_v2", true, 8, 2);
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 4, 0);
	struct uacce_policy *p = mkpolicy();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_queue *a, *b, *z;
	struct core_dev_stat *ds = NULL;
	struct core_queue_stat *qs = NULL;
	struct core_user_stat *us = NULL;
	int n = 0;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 10);
	policy_entry_add_device(&p->def, "dummy");
	core_set_builtin_limits(c, 1ULL << 30, 0);
	install(c, p);
	a = open_as(d2, w);
	b = open_as(d2, w);
	z = open_as(d0, who_u(gettid(), 0, NULL, 0));
	start_as(a, w);
	ck_assert_int_eq(try_map(a, getpid(), UACCE_QFRT_MMIO, PAGE), 0);
	ck_assert_int_eq(ioc(b, w, UACCE_CMD_PUT_Q), 0);

	ck_assert_int_eq(core_devices(c, &ds, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(ds[0].id, 0);		/* in id order */
	ck_assert_str_eq(ds[0].name, "uacce-dummy-0");
	ck_assert_str_eq(ds[0].cfg_name, "dummy");
	ck_assert_int_eq(ds[0].available, 3);
	ck_assert_int_eq(ds[1].id, 2);
	ck_assert_int_eq(ds[1].available, 7);	/* b gave its queue back */
	ck_assert_int_eq(ds[1].open_queues, 2);
	free(ds);

	ck_assert_int_eq(core_queues(c, &qs, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(qs[0].id, uq_id(a));
	ck_assert_str_eq(qs[0].dev, "uacce-dummy-2");
	ck_assert_int_eq(qs[0].pid, getpid());
	ck_assert_uint_eq(qs[0].uid, 1000);
	ck_assert_int_eq(qs[0].state, UQ_STARTED);
	ck_assert(qs[0].mapped[UACCE_QFRT_MMIO]);
	ck_assert_uint_eq(qs[0].bytes, PAGE);
	ck_assert_int_eq(qs[1].state, UQ_ZOMBIE);
	ck_assert_uint_eq(qs[2].uid, 0);
	free(qs);

	ck_assert_int_eq(core_usage(c, &us, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(us[0].uid, 0);	/* in uid order */
	ck_assert_uint_eq(us[0].lim[PL_MAX_QUEUES], POLICY_UNLIMITED);
	ck_assert_int_eq(us[0].npatterns, -1);
	ck_assert_uint_eq(us[1].uid, 1000);
	ck_assert_int_eq(us[1].queues, 1);	/* the zombie holds no hardware */
	ck_assert_int_eq(us[1].dev_queues, 1);
	ck_assert_str_eq(us[1].dev, "uacce-dummy-2");
	ck_assert_uint_eq(us[1].bytes, PAGE);
	ck_assert_uint_eq(us[1].lim[PL_MAX_QUEUES], 10);
	ck_assert_str_eq(us[1].src[PL_MAX_QUEUES], "default");
	/* no entry sets it: the core's built-in applies, not to root */
	ck_assert_uint_eq(us[1].lim[PL_MAX_REGION_BYTES], 1ULL << 30);
	ck_assert_str_eq(us[1].src[PL_MAX_REGION_BYTES], "built-in: a quarter of memory");
	ck_assert_uint_eq(us[0].lim[PL_MAX_REGION_BYTES], POLICY_UNLIMITED);
	ck_assert_int_eq(us[1].npatterns, 1);
	ck_assert_str_eq(us[1].patterns[0], "dummy");
	ck_assert_str_eq(us[1].devices_src, "default");
	free(us);
	uq_release(a);
	uq_release(b);
	uq_release(z);
}
END_TEST

/* a removed device lives as long as someone holds it, no longer (ASan) */
START_TEST(test_device_references)
{
	struct uacce_core *c = fx_core;
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 4, 1);
	struct uacce_dev *e = mkdev(c, "dummy_v2", true, 4, 2);
	struct uacce_caller w = me();
	struct uacce_queue *q = open_me(e);
	struct core_dev_stat *ds = NULL;
	int n = 0;

	ck_assert_ptr_eq(ud_ref(d), d);	/* a frontend's reference */
	core_remove_device(d);
	ud_unref(d);				/* the creator's */
	ck_assert_str_eq(ud_name(d), "uacce-dummy-1");
	ck_assert_int_eq(try_open(d, w), -ENODEV);
	ud_unref(d);				/* freed here */
	/* an open queue holds its device */
	core_remove_device(e);
	ud_unref(e);
	ck_assert_int_eq(uq_check_owner(q, &w), -ENODEV);
	ck_assert_str_eq(ud_name(uq_dev(q)), "uacce-dummy-2");
	ck_assert_int_eq(core_devices(c, &ds, &n), 0);
	ck_assert_int_eq(n, 0);		/* removed devices are not listed */
	free(ds);
	uq_release(q);			/* e freed here */
}
END_TEST

TCase *tc_policy(void)
{
	TCase *tc = tcase_create("policy");

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_add_test(tc, test_policy_device_access);
	tcase_add_test(tc, test_policy_max_queues);
	tcase_add_test(tc, test_policy_groups_of_caller);
	tcase_add_test(tc, test_policy_groups_read_when_needed);
	tcase_add_test(tc, test_policy_swap_keeps_queues);
	tcase_add_test(tc, test_policy_region_bytes);
	tcase_add_test(tc, test_policy_shared_ss_counted_once);
	tcase_add_test(tc, test_policy_builtin_region_limits);
	tcase_add_test(tc, test_policy_snapshots);
	tcase_add_test(tc, test_device_references);
	return tc;
}
