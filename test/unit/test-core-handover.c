/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core-handover.c - unit tests of the queue core (daemon/core.c),
 * group "handover": the live restart's core side.  One process plays both
 * daemons: core A (the old one) is frozen and exported, core B (the
 * successor, with the same devices) adopts the state, read back from its
 * text as the successor reads the state memfd; the fds go through the
 * state's table.  Helpers and fixtures: core-fixture.h.
 */
#define _GNU_SOURCE
#include <json-c/json.h>

#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "core-fixture.h"

#include <grp.h>
#include "handover.h"
#include "soft/soft.h"
#include "uacce/zip_usr_if.h"

#define A_NODE "uacce-fake-1"
#define B_NODE "uacce-fake-2"

/* the old daemon's state, as the successor receives it */
struct handed {
	struct ho_state *s;
	json_object *root;	/* parsed from the text of s's document */
};

/* freeze and export core a */
static struct handed export_core(struct uacce_core *a)
{
	struct handed h = { 0 };
	json_object *o = json_object_new_object();
	const char *txt;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ho_new(&h.s), 0);
	ck_assert_int_eq(core_freeze(a), 0);
	ck_assert_int_eq(core_export(a, h.s, o), 0);
	ck_assert_int_eq(json_object_object_add(ho_root(h.s), "core", o), 0);
	txt = json_object_to_json_string_ext(ho_root(h.s), JSON_C_TO_STRING_PLAIN);
	ck_assert_ptr_nonnull(txt);
	h.root = json_tokener_parse(txt);
	ck_assert_ptr_nonnull(h.root);
	return h;
}

static void adopt_core(struct uacce_core *b, struct handed *h)
{
	ck_assert_int_eq(core_adopt(b, h->s, ho_get(h->root, "core")), 0);
}

static void handed_free(struct handed *h)
{
	json_object_put(h->root);
	ho_free(h->s);
}

/* core B: the successor, with the fixture's devices (fake-1 non-SVA, fake-2 SVA) */
static struct uacce_core *successor(struct uacce_dev **a, struct uacce_dev **b)
{
	struct uacce_core *c = mkcore();

	*a = mkfake(c, false, 4, 1);
	if (b)
		*b = mkfake(c, true, 4, 2);
	return c;
}

/* core_queues' row of queue `id`, or NULL */
static const struct core_queue_stat *row(const struct core_queue_stat *a, int n, uint64_t id)
{
	for (int i = 0; i < n; i++)
		if (a[i].id == id)
			return &a[i];
	return NULL;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/*
 * Everything a queue can be, across one restart: started with MMIO and SS
 * mapped, started sharing that SS (SHARE_SVAS), INIT, ZOMBIE (PUT_Q), an
 * SVA queue of another process, a queue whose owner died (DEAD).
 */
START_TEST(test_roundtrip)
{
	struct uacce_core *a = fx_core, *b;
	struct uacce_queue *q[6], *n[6], *fresh;
	struct core_queue_stat *sa, *sb;
	struct core_user_stat *ua, *ub;
	struct uacce_dev *da, *db;
	struct child ch = spawn_child(), ch2 = spawn_child();
	struct uacce_caller w = me();
	int nsa, nsb, nua, nub, watched;
	struct handed h;
	uint64_t id[6];
	char *mmio, *ss, *again, seq[64];

	q[0] = open_me(fx_a);
	start_as(q[0], w);
	mmio = map_me(q[0], UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q[0], 4 * PAGE);
	fill(mmio, PAGE, 3);
	fill(ss, 4 * PAGE, 5);
	q[1] = open_me(fx_a);
	start_as(q[1], w);
	ck_assert_int_eq(uq_share_svas(q[1], &w, q[0]), 0);
	q[2] = open_me(fx_a);			/* INIT */
	q[3] = open_me(fx_a);
	ck_assert_int_eq(ioc(q[3], w, UACCE_CMD_PUT_Q), 0);	/* ZOMBIE */
	q[4] = open_as(fx_b, who_tid(ch.pid));	/* SVA, another process */
	start_as(q[4], who_tid(ch.pid));
	q[5] = open_as(fx_b, who_tid(ch2.pid));
	kill_child(&ch2);
	uq_owner_died(q[5]);			/* DEAD, EPERM */
	for (int i = 0; i < 6; i++) {
		id[i] = uq_id(q[i]);
		fake_set_token(q[i], 0x1000u + (uint32_t)i);
	}
	ck_assert_int_eq(ud_available_instances(fx_a), 1);
	ck_assert_int_eq(ud_available_instances(fx_b), 3);
	ck_assert_int_eq(core_queues(a, &sa, &nsa), 0);
	ck_assert_int_eq(core_usage(a, &ua, &nua), 0);

	h = export_core(a);
	/* frozen: the started queues' backends are suspended, nothing else touched */
	ck_assert_str_eq(fake_seq(q[0], seq), "GSUV");
	ck_assert_str_eq(fake_seq(q[2], seq), "GV");
	ck_assert_str_eq(fake_seq(q[4], seq), "GSUV");
	ck_assert_str_eq(fake_seq(q[3], seq), "GP");

	/* each region once: five MMIO pages and the one SS two queues share */
	ck_assert_uint_eq(json_object_array_length(ho_get(ho_get(h.root, "core"), "regions")), 6);
	b = successor(&da, &db);
	adopt_core(b, &h);
	for (int i = 0; i < 6; i++) {
		n[i] = core_claim_adopted(b, id[i]);
		ck_assert_ptr_nonnull(n[i]);
		ck_assert_ptr_null(core_claim_adopted(b, id[i]));	/* once */
		ck_assert_int_eq(state(n[i]), state(q[i]));
		ck_assert_uint_eq(uq_id(n[i]), id[i]);
		ck_assert_int_eq(uq_owner_tgid(n[i]), uq_owner_tgid(q[i]));
	}
	core_adopt_done(b);
	/* the backend: adopted with its state, started ones resumed, no init */
	ck_assert_str_eq(fake_seq(n[0], seq), "AR");
	ck_assert_str_eq(fake_seq(n[1], seq), "AR");
	ck_assert_str_eq(fake_seq(n[2], seq), "A");
	ck_assert_str_eq(fake_seq(n[4], seq), "AR");
	ck_assert(!fake_has_queue(n[3]) && !fake_has_queue(n[5]));
	for (int i = 0; i < 5; i++)
		if (i != 3)
			ck_assert_uint_eq(fake_token(n[i]), 0x1000u + (uint32_t)i);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_GET), 0);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_START), 0);
	/* accounting: exact */
	ck_assert_int_eq(ud_available_instances(da), 1);
	ck_assert_int_eq(ud_available_instances(db), 3);
	ck_assert_int_eq(fake_dev_live(A_NODE), 3);
	ck_assert_int_eq(core_queues(b, &sb, &nsb), 0);
	ck_assert_int_eq(nsb, nsa);
	for (int i = 0; i < nsa; i++) {
		const struct core_queue_stat *r = row(sb, nsb, sa[i].id);

		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(r->dev, sa[i].dev);
		ck_assert_int_eq(r->pid, sa[i].pid);
		ck_assert_uint_eq(r->uid, sa[i].uid);
		ck_assert_str_eq(r->comm, sa[i].comm);
		ck_assert_int_eq(r->state, sa[i].state);
		ck_assert_mem_eq(r->mapped, sa[i].mapped, sizeof(r->mapped));
		ck_assert_int_eq(r->has_ss, sa[i].has_ss);
		ck_assert_int_eq(r->ss_shared, sa[i].ss_shared);
		ck_assert_uint_eq(r->bytes, sa[i].bytes);
	}
	ck_assert(row(sb, nsb, id[1])->ss_shared);
	ck_assert_int_eq(core_usage(b, &ub, &nub), 0);
	ck_assert_int_eq(nub, nua);
	for (int i = 0; i < nua; i++) {
		ck_assert_uint_eq(ub[i].uid, ua[i].uid);
		ck_assert_int_eq(ub[i].queues, ua[i].queues);
		ck_assert_uint_eq(ub[i].bytes, ua[i].bytes);
	}
	free(sa);
	free(sb);
	free(ua);
	free(ub);
	/* the owners are watched again: every live queue's pidfd */
	watched = H.watch_calls;
	ck_assert_int_eq(watched, 5);
	/* the exclusive use of fake-1 (non-SVA) is ours still */
	ck_assert_int_eq(try_open(da, who_tid(ch.pid)), -EBUSY);
	/* the DEAD queue stays dead for its owner */
	ck_assert_int_eq(uq_check_owner(n[5], &w), -EPERM);
	ck_assert_int_eq(uq_check_owner(n[4], &w), -EPERM);	/* not ours */
	ck_assert_int_eq(uq_check_owner(n[4], &(struct uacce_caller){ .tid = ch.pid }), 0);
	/* the same memory: the MMIO page and the shared SS, mapped again */
	ck_assert_int_eq(uq_unmap(n[0], getpid(), UACCE_QFRT_MMIO), 0);
	again = map_me(n[0], UACCE_QFRT_MMIO, PAGE);
	ck_assert_mem_eq(again, mmio, PAGE);
	munmap(again, PAGE);
	ck_assert_int_eq(uq_unmap(n[0], getpid(), UACCE_QFRT_SS), 0);
	again = map_me(n[0], UACCE_QFRT_SS, 4 * PAGE);
	ck_assert_mem_eq(again, ss, 4 * PAGE);
	again[7] ^= 0x5a;	/* one memory: the old mapping sees the write */
	ck_assert_int_eq(again[7], ss[7]);
	munmap(again, 4 * PAGE);
	/* the shared SS is the same region for both (the share survives) */
	ck_assert_int_eq(uq_share_svas(n[2], &w, n[0]), -EINVAL);	/* INIT */
	/* new opens get ids after the old ones */
	fresh = open_me(da);
	ck_assert_uint_gt(uq_id(fresh), id[5]);
	ck_assert_int_eq(ud_available_instances(da), 0);
	uq_release(fresh);
	/* the owner's pidfd is the one handed over: its death reaches B */
	kill_child(&ch);
	uq_owner_died(n[4]);
	ck_assert_int_eq(state(n[4]), UQ_DEAD);
	ck_assert_int_eq(ud_available_instances(db), 4);
	for (int i = 0; i < 6; i++)
		uq_release(n[i]);
	ck_assert_int_eq(ud_available_instances(da), 4);
	ck_assert_int_eq(fake_dev_live(A_NODE), 0);
	ck_assert_str_eq(fake_seq(n[0], seq), "ARCTP");
	core_free(b);
	/* the old daemon would _exit; here it lets go of its own copies */
	for (int i = 0; i < 6; i++)
		uq_release(q[i]);
	munmap(mmio, PAGE);
	munmap(ss, 4 * PAGE);
	handed_free(&h);
}
END_TEST

/* a queue whose owner exited during the gap: freed by the usual path */
START_TEST(test_owner_died_in_gap)
{
	struct uacce_core *b;
	struct child ch = spawn_child();
	struct uacce_queue *q = open_as(fx_b, who_tid(ch.pid)), *n;
	struct uacce_dev *da, *db;
	struct handed h;

	start_as(q, who_tid(ch.pid));
	h = export_core(fx_core);
	kill_child(&ch);
	b = successor(&da, &db);
	adopt_core(b, &h);
	n = core_claim_adopted(b, uq_id(q));
	ck_assert_ptr_nonnull(n);
	core_adopt_done(b);
	ck_assert_int_eq(state(n), UQ_STARTED);
	ck_assert_int_eq(ud_available_instances(db), 3);
	/* the frontend watches the pidfd it was given: readable at once */
	ck_assert_int_eq(H.watch_calls, 1);
	ck_assert(H.watch_fd_valid);
	ck_assert(readable(H.watch_fd));
	uq_owner_died(n);
	ck_assert_int_eq(state(n), UQ_DEAD);
	ck_assert_int_eq(ud_available_instances(db), 4);
	ck_assert_int_eq(H.unwatch_calls, 1);
	uq_release(n);
	core_free(b);
	uq_release(q);
	handed_free(&h);
}
END_TEST

/* queues of a device the successor does not have: dropped, their memory freed */
START_TEST(test_missing_device)
{
	struct uacce_queue *qa = open_me(fx_a), *qb = open_me(fx_b), *na;
	struct uacce_core *b;
	struct uacce_dev *da;
	struct handed h;
	char *ss;
	int fdi;

	start_as(qa, me());
	start_as(qb, me());
	ss = map_ss_me(qa, PAGE);
	h = export_core(fx_core);
	b = successor(&da, NULL);	/* no fake-2 */
	adopt_core(b, &h);
	ck_assert_ptr_null(core_claim_adopted(b, uq_id(qb)));
	na = core_claim_adopted(b, uq_id(qa));
	ck_assert_ptr_nonnull(na);
	core_adopt_done(b);
	ck_assert_int_eq(state(na), UQ_STARTED);
	ck_assert_int_eq(ud_available_instances(da), 3);
	/* every fd of the state was taken (the dropped queue's pidfd, memfd,
	 * mapsfd were closed, not left in the table) */
	fdi = 0;
	while (ho_take_fd(h.s, fdi) == -EBADF && fdi < 64)
		fdi++;
	ck_assert_int_eq(fdi, 64);
	uq_release(na);
	ck_assert_int_eq(ud_available_instances(da), 4);
	core_free(b);
	uq_release(qa);
	uq_release(qb);
	munmap(ss, PAGE);
	handed_free(&h);
}
END_TEST

/* the successor's backend has no adopt_queue: its queues are revoked */
START_TEST(test_backend_without_ops)
{
	struct uacce_queue *q = open_me(fx_a), *z = open_me(fx_a), *n, *nz;
	struct fake_params p = fake_params();
	struct uacce_core *b = mkcore();
	struct fake_table t;
	struct uacce_dev *da = NULL;
	struct handed h;

	start_as(q, me());
	ck_assert_int_eq(ioc(z, me(), UACCE_CMD_PUT_Q), 0);
	h = export_core(fx_core);
	fake_table_init(&t);
	t.queue.suspend_queue = NULL;
	t.queue.resume_queue = NULL;
	t.queue.save_queue = NULL;
	t.queue.adopt_queue = NULL;
	ck_assert_int_eq(add_fake(b, &t.ops, &p, 1, &da), 0);
	adopt_core(b, &h);
	n = core_claim_adopted(b, uq_id(q));
	nz = core_claim_adopted(b, uq_id(z));
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_nonnull(nz);
	core_adopt_done(b);
	ck_assert_int_eq(state(n), UQ_DEAD);
	ck_assert_int_eq(uq_check_owner(n, &(struct uacce_caller){ .tid = gettid() }), -ENODEV);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_ADOPT), 0);
	/* a ZOMBIE holds no hardware queue: it survives as it is */
	ck_assert_int_eq(state(nz), UQ_ZOMBIE);
	ck_assert_int_eq(ud_available_instances(da), 4);
	ck_assert_int_eq(H.watch_calls, 1);	/* the zombie's owner only */
	uq_release(n);
	uq_release(nz);
	core_free(b);
	uq_release(q);
	uq_release(z);
	handed_free(&h);
}
END_TEST

/* the old daemon's backend cannot save: the queue is revoked in the successor */
START_TEST(test_exporter_without_ops)
{
	struct fake_params p = fake_params();
	struct uacce_core *a = mkcore(), *b;
	struct uacce_queue *q, *n;
	struct uacce_dev *d = NULL, *da;
	struct fake_table t;
	struct handed h;
	char seq[64];

	fake_table_init(&t);
	t.queue.suspend_queue = NULL;
	t.queue.resume_queue = NULL;
	t.queue.save_queue = NULL;
	t.queue.adopt_queue = NULL;
	ck_assert_int_eq(add_fake(a, &t.ops, &p, 1, &d), 0);
	q = open_me(d);
	start_as(q, me());
	h = export_core(a);
	ck_assert_str_eq(fake_seq(q, seq), "GS");	/* nothing to suspend it with */
	b = successor(&da, NULL);
	adopt_core(b, &h);
	n = core_claim_adopted(b, uq_id(q));
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(state(n), UQ_DEAD);
	ck_assert_int_eq(ud_available_instances(da), 4);
	core_adopt_done(b);
	uq_release(n);
	core_free(b);
	uq_release(q);
	core_remove_device(d);
	ud_unref(d);
	core_free(a);
	handed_free(&h);
}
END_TEST

/* adopt_queue fails: revoked, the instance not counted */
START_TEST(test_adopt_failure)
{
	struct uacce_queue *q1 = open_me(fx_a), *q2 = open_me(fx_a), *n1, *n2;
	struct uacce_core *b;
	struct uacce_dev *da;
	struct handed h;

	start_as(q1, me());
	h = export_core(fx_core);
	b = successor(&da, NULL);
	fake_dev_fail_adopt(A_NODE, -EIO);
	adopt_core(b, &h);
	n1 = core_claim_adopted(b, uq_id(q1));
	n2 = core_claim_adopted(b, uq_id(q2));
	core_adopt_done(b);
	ck_assert_int_eq(state(n1), UQ_DEAD);
	ck_assert_int_eq(state(n2), UQ_DEAD);
	ck_assert_int_eq(ud_available_instances(da), 4);
	ck_assert_int_eq(fake_dev_live(A_NODE), 0);
	uq_release(n1);
	uq_release(n2);
	core_free(b);
	uq_release(q1);
	uq_release(q2);
	handed_free(&h);
}
END_TEST

/*
 * A state the successor's backend cannot read (a newer blob version) or
 * that lacks the blob: the queue is revoked, nothing else is hurt; keys
 * the successor does not know are ignored.
 */
START_TEST(test_blob_unreadable)
{
	struct uacce_queue *q1 = open_me(fx_a), *q2 = open_me(fx_a), *n1, *n2;
	static const uint8_t future[6] = { 99, 1, 2, 3, 4, 1 };
	json_object *qs;
	struct uacce_core *b;
	struct uacce_dev *da;
	struct handed h;

	start_as(q1, me());
	start_as(q2, me());
	h = export_core(fx_core);
	qs = ho_get(ho_get(h.root, "core"), "queues");
	ck_assert_int_eq(ho_set_bytes(json_object_array_get_idx(qs, 0), "blob", future,
				      sizeof(future)), 0);
	json_object_object_del(json_object_array_get_idx(qs, 1), "blob");
	json_object_object_add(ho_get(h.root, "core"), "from_the_future",
			       json_object_new_string("ignored"));
	b = successor(&da, NULL);
	adopt_core(b, &h);
	n1 = core_claim_adopted(b, uq_id(q1));
	n2 = core_claim_adopted(b, uq_id(q2));
	core_adopt_done(b);
	ck_assert_int_eq(state(n1), UQ_DEAD);
	ck_assert_int_eq(state(n2), UQ_DEAD);
	ck_assert_int_eq(uq_check_owner(n1, &(struct uacce_caller){ .tid = gettid() }), -ENODEV);
	ck_assert_int_eq(ud_available_instances(da), 4);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_ADOPT), 1);	/* the blob-less one: not asked */
	uq_release(n1);
	uq_release(n2);
	core_free(b);
	uq_release(q1);
	uq_release(q2);
	handed_free(&h);
}
END_TEST

/* adopted queues no open file claims are released by core_adopt_done */
START_TEST(test_unclaimed)
{
	struct uacce_queue *q1 = open_me(fx_a), *q2 = open_me(fx_a), *n1;
	struct uacce_core *b;
	struct uacce_dev *da;
	struct handed h;
	char seq[64];

	start_as(q1, me());
	start_as(q2, me());
	h = export_core(fx_core);
	b = successor(&da, NULL);
	adopt_core(b, &h);
	ck_assert_int_eq(ud_available_instances(da), 2);
	n1 = core_claim_adopted(b, uq_id(q1));
	ck_assert_ptr_nonnull(n1);
	core_adopt_done(b);
	ck_assert_int_eq(ud_available_instances(da), 3);
	ck_assert_ptr_null(core_claim_adopted(b, uq_id(q2)));
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_PUT), 1);
	uq_release(n1);
	ck_assert_str_eq(fake_seq(n1, seq), "ARCTP");
	core_free(b);
	uq_release(q1);
	uq_release(q2);
	handed_free(&h);
}
END_TEST

/*
 * A queue opened while the policy had no group entries (its groups not
 * read): the successor knows so, and reads its process's groups when a
 * policy with group entries needs them; a queue whose groups were read
 * keeps them (none here) and is not read again.
 */
START_TEST(test_groups_known_across)
{
	struct uacce_caller wu = me(), wk = me();
	struct uacce_queue *q1, *q2, *n1, *n2;
	struct uacce_policy *p = NULL;
	struct policy_entry *e = NULL;
	struct core_user_stat *us = NULL;
	struct uacce_core *b;
	struct uacce_dev *da;
	struct handed h;
	json_object *qs;
	gid_t g[64], mine = 4242;
	int ngr = getgroups(64, g), nus = 0, unknown = 0;

	if (geteuid() == 0) {
		ck_assert_int_eq(setgroups(1, &mine), 0);	/* this forked test's own */
	} else if (ngr > 0) {
		mine = g[0];
	} else {
		fprintf(stderr, "test_groups_known_across: skipped (not root, no group)\n");
		return;
	}
	wu.uid = wu.gid = 1001;		/* groups_known: false */
	ck_assert_int_eq(uq_open(fx_a, &wu, &q1), 0);
	wk.uid = wk.gid = 1000;
	wk.groups_known = true;		/* read, and none */
	ck_assert_int_eq(uq_open(fx_a, &wk, &q2), 0);
	h = export_core(fx_core);
	qs = ho_get(ho_get(h.root, "core"), "queues");
	for (size_t i = 0; qs && i < json_object_array_length(qs); i++) {
		json_object *gk = ho_get(ho_get(json_object_array_get_idx(qs, i), "owner"),
					 "groups_known");

		unknown += gk && !json_object_get_boolean(gk);
	}
	ck_assert_int_eq(unknown, 1);
	b = successor(&da, NULL);
	adopt_core(b, &h);
	n1 = core_claim_adopted(b, uq_id(q1));
	n2 = core_claim_adopted(b, uq_id(q2));
	ck_assert_ptr_nonnull(n1);
	ck_assert_ptr_nonnull(n2);
	core_adopt_done(b);
	ck_assert_int_eq(policy_new(&p), 0);
	ck_assert_int_eq(policy_add_group(p, mine, "group mine", &e), 0);
	policy_entry_set_limit(e, PL_MAX_QUEUES, 7);
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 3);
	core_set_policy(b, p);
	policy_unref(p);
	ck_assert_int_eq(core_usage(b, &us, &nus), 0);
	for (int i = 0; i < nus; i++) {
		if (us[i].uid == 1001)		/* q1: its groups read now */
			ck_assert_uint_eq(us[i].lim[PL_MAX_QUEUES], 7);
		else if (us[i].uid == 1000)	/* q2: known to have none */
			ck_assert_uint_eq(us[i].lim[PL_MAX_QUEUES], 3);
	}
	ck_assert_int_eq(nus, 2);
	free(us);
	uq_release(n1);
	uq_release(n2);
	core_free(b);
	uq_release(q1);
	uq_release(q2);
	handed_free(&h);
}
END_TEST

/* the successor refused: thaw resumes every suspended queue */
START_TEST(test_freeze_thaw)
{
	struct uacce_queue *q1 = open_me(fx_a), *q2 = open_me(fx_a);
	char seq[64];

	start_as(q1, me());
	ck_assert_int_eq(core_freeze(fx_core), 0);
	ck_assert_int_eq(core_freeze(fx_core), -EBUSY);
	ck_assert(fake_suspended(q1));
	ck_assert_str_eq(fake_seq(q2, seq), "G");
	core_thaw(fx_core);
	ck_assert(!fake_suspended(q1));
	ck_assert_str_eq(fake_seq(q1, seq), "GSUR");
	/* it serves on, and a freeze works again */
	ck_assert_int_eq(ioc(q2, me(), UACCE_CMD_START), 0);
	ck_assert_int_eq(core_freeze(fx_core), 0);
	ck_assert(fake_suspended(q2));
	/* a queue released while frozen is stopped (the suspension ends) */
	uq_release(q2);
	ck_assert_str_eq(fake_seq(q2, seq), "GSUCTP");
	core_thaw(fx_core);
	uq_release(q1);
	ck_assert_str_eq(fake_seq(q1, seq), "GSURURCTP");
}
END_TEST

/* --- the soft backend: rings keep their contents ------------------------- */

/* completed requests of queue id, as uaccectl queues shows them */
static uint64_t queue_requests(struct uacce_core *c, uint64_t id)
{
	struct core_queue_stat *a;
	uint64_t r;
	int n;

	ck_assert_int_eq(core_queues(c, &a, &n), 0);
	ck_assert_ptr_nonnull(row(a, n, id));
	r = row(a, n, id)->requests;
	free(a);
	return r;
}

/*
 * A dummy queue with requests written into its ring while it is
 * suspended: the successor serves them, byte-exact; the ring goes on.
 */
static void dummy_across(bool sva)
{
	struct uacce_core *a = fx_core, *b;
	struct uacce_dev *d = mkdev(a, "dummy_v1", sva, 2, 1), *d2;
	struct uacce_queue *q = open_me(d), *n;
	struct dummy_hw_queue_reg *reg;
	struct handed h;
	size_t len = 3 * PAGE;
	char *src, *dst, *ss = NULL;

	start_as(q, me());
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	if (sva) {
		src = malloc(4 * len);
		ck_assert_ptr_nonnull(src);
	} else {
		ss = src = map_ss_me(q, 4 * len);
	}
	dst = src + len;
	fill(src, len, 11);
	ck_assert_uint_eq(do_copy(reg, src, dst, len), 0);
	ck_assert_mem_eq(dst, src, len);

	h = export_core(a);
	/* suspended: requests stay in the ring */
	fill(src, len, 12);
	memset(dst, 0, 3 * len);
	for (int i = 0; i < 3; i++)
		submit(reg, src + (size_t)i * PAGE, dst + (size_t)i * len, PAGE, NULL);
	usleep(20000);
	ck_assert_uint_eq(__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE), 1);
	ck_assert_int_eq(dst[0], 0);

	b = mkcore();
	d2 = mkdev(b, "dummy_v1", sva, 2, 1);
	adopt_core(b, &h);
	n = core_claim_adopted(b, uq_id(q));
	ck_assert_ptr_nonnull(n);
	core_adopt_done(b);
	ck_assert_int_eq(state(n), UQ_STARTED);
	ck_assert_int_eq(ud_available_instances(d2), 1);
	ck_assert_msg(wait_tail(reg, 4, 5000), "requests of before the restart not served");
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(reg->ring[1 + i].ret, 0);
		ck_assert_mem_eq(dst + (size_t)i * len, src + (size_t)i * PAGE, PAGE);
	}
	/* each served once: the device went on from its own saved tail */
	ck_assert_uint_eq(queue_requests(b, uq_id(n)), 4);
	/* and after it */
	fill(src, len, 13);
	ck_assert_uint_eq(do_copy(reg, src, dst, len), 0);
	ck_assert_mem_eq(dst, src, len);
	ck_assert_int_eq(ioc(n, me(), DUMMY_CMD_FLUSH), 0);
	uq_release(n);
	core_free(b);
	uq_release(q);
	munmap(reg, PAGE);
	if (ss)
		munmap(ss, 4 * len);
	else
		free(src);
	handed_free(&h);
}

/*
 * A freeze comes while the device copies a long request (16 MiB, SVA: in
 * 64 KiB bounce pieces through the owner's memory, milliseconds): the request
 * completes (status 0, every byte) before the worker leaves; a freeze is
 * no stop, it never cancels (ECANCELED) a request in progress.  Several
 * rounds, each freezing a little later into the copy.
 */
START_TEST(test_freeze_never_cancels)
{
	struct uacce_core *a = fx_core;
	struct uacce_dev *d = mkdev(a, "dummy_v1", true, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct dummy_hw_queue_reg *reg;
	size_t len = 16u << 20;
	char *src = malloc(len), *dst = malloc(len);
	uint32_t head = 0;

	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(dst);
	start_as(q, me());
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	fill(src, len, 21);
	for (int round = 0; round < 3; round++) {
		memset(dst, 0, len);
		src[0] = 0x5a;
		submit(reg, src, dst, len, NULL);
		/* the device is inside the copy (the first piece landed), then
		 * a little later each round */
		for (int i = 0; i < 5000 && !__atomic_load_n(&dst[0], __ATOMIC_ACQUIRE); i++)
			usleep(1000);
		ck_assert_msg(dst[0] == 0x5a, "round %d: the copy never started", round);
		usleep(2000 * (useconds_t)round);
		ck_assert_int_eq(core_freeze(a), 0);
		/* the worker has left: the request it had is done, not abandoned */
		ck_assert_uint_eq(__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE), head + 1);
		ck_assert_uint_eq(reg->ring[head].ret, 0);
		ck_assert_msg(memcmp(dst, src, len) == 0, "round %d: the copy is incomplete", round);
		core_thaw(a);
		head++;
	}
	uq_release(q);
	munmap(reg, PAGE);
	free(src);
	free(dst);
}
END_TEST

/*
 * --- a DMA engine's queues across a crash (soft_engine.recover_queue) -----
 * A soft dummy_v1 device whose copies an engine of the test's makes (as
 * hwbackends/vfio/edu.c's DMA): it "maps" a queue at its first copy
 * (sq->engine_q) as edu maps the SS region into the IOMMU.  After a crash
 * the successor's device is new: a recovered queue starts with no mapping
 * and gets one again at its next request.
 */
struct teng {
	int maps, copies, recovered;
};

static struct teng teng_ctx;
static char teng_mapping;
static const struct soft_engine *teng_use;

static int teng_copy(void *ctx, struct soft_q *sq, struct uacce_region *ss, uint64_t dst,
		     uint64_t src, uint64_t len)
{
	struct teng *t = ctx;
	char *m = uacce_region_map(ss);

	if (!sq->engine_q) {
		sq->engine_q = &teng_mapping;
		__atomic_add_fetch(&t->maps, 1, __ATOMIC_SEQ_CST);
	}
	memmove(m + dst, m + src, len);
	__atomic_add_fetch(&t->copies, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void teng_stopped(void *ctx, struct soft_q *sq)
{
	(void)ctx;
	sq->engine_q = NULL;
}

static int teng_recover(void *ctx, struct soft_q *sq)
{
	struct teng *t = ctx;

	ck_assert_ptr_null(sq->engine_q);
	__atomic_add_fetch(&t->recovered, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static const struct soft_engine teng_with_recover = {
	.copy = teng_copy, .queue_stopped = teng_stopped, .recover_queue = teng_recover,
};
static const struct soft_engine teng_without_recover = {
	.copy = teng_copy, .queue_stopped = teng_stopped,
};

static int teng_dev_create(const struct uacce_dev_cfg *cfg, struct uacce_hwdev_info *info,
			   struct uacce_hwdev **out)
{
	return soft_dev_create_engine(cfg, teng_use, &teng_ctx, info, out);
}

static struct uacce_backend_ops teng_ops;

/* the engine's counters are written by the queues' worker threads */
static int teng_count(int *c)
{
	return __atomic_load_n(c, __ATOMIC_SEQ_CST);
}

static struct uacce_dev *mkteng(struct uacce_core *c)
{
	struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "soft", .api = "dummy_v1", .queues = 2,
	};
	struct uacce_dev *d = NULL;

	if (!teng_ops.name) {	/* once: a core's threads may be reading it */
		teng_ops = soft_backend_ops;
		teng_ops.name = "engine";
		teng_ops.dev_create = teng_dev_create;
		teng_ops.state = NULL;
	}
	ck_assert_int_eq(core_add_device(c, &teng_ops, &cfg, 1, &d), 0);
	return d;
}

static void engine_crash(bool recovers)
{
	struct uacce_core *a = fx_core, *b;
	struct uacce_dev *d, *d2;
	struct uacce_queue *q, *n;
	struct dummy_hw_queue_reg *reg;
	struct handed h = { 0 };
	json_object *o = json_object_new_object();
	size_t len = 2 * PAGE;
	char *ss, *src, *dst;

	teng_use = recovers ? &teng_with_recover : &teng_without_recover;
	memset(&teng_ctx, 0, sizeof(teng_ctx));
	d = mkteng(a);
	q = open_me(d);
	start_as(q, me());
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 4 * len);
	src = ss;
	dst = ss + len;
	fill(src, len, 31);
	ck_assert_uint_eq(do_copy(reg, src, dst, len), 0);
	ck_assert_mem_eq(dst, src, len);
	ck_assert_int_eq(teng_count(&teng_ctx.maps), 1);

	/* the crash journal's snapshot, taken while serving */
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ho_new(&h.s), 0);
	ck_assert_int_eq(core_export_live(a, h.s, o), 0);
	json_object_object_add(ho_root(h.s), "core", o);
	h.root = json_tokener_parse(json_object_to_json_string(ho_root(h.s)));
	ck_assert_ptr_nonnull(h.root);
	/* the daemon dies: its worker stops where it is; the client writes on */
	ck_assert_int_eq(core_freeze(a), 0);
	fill(src, len, 32);
	memset(dst, 0, 2 * len);
	submit(reg, src, dst, PAGE, NULL);
	submit(reg, src + PAGE, dst + len, PAGE, NULL);

	b = mkcore();
	d2 = mkteng(b);
	adopt_core(b, &h);
	n = core_claim_adopted(b, uq_id(q));
	ck_assert_ptr_nonnull(n);
	core_adopt_done(b);
	if (recovers) {
		ck_assert_int_eq(state(n), UQ_STARTED);
		ck_assert_int_eq(teng_count(&teng_ctx.recovered), 1);
		ck_assert_int_eq(ud_available_instances(d2), 1);
		ck_assert_msg(wait_tail(reg, 3, 5000), "requests written while no daemon ran not served");
		ck_assert_uint_eq(reg->ring[1].ret, 0);
		ck_assert_uint_eq(reg->ring[2].ret, 0);
		ck_assert_mem_eq(dst, src, PAGE);
		ck_assert_mem_eq(dst + len, src + PAGE, PAGE);
		/* the successor's device mapped the queue again */
		ck_assert_int_eq(teng_count(&teng_ctx.maps), 2);
		fill(src, len, 33);
		ck_assert_uint_eq(do_copy(reg, src, dst, len), 0);
		ck_assert_mem_eq(dst, src, len);
		ck_assert_int_eq(teng_count(&teng_ctx.maps), 2);
	} else {
		/* an engine that cannot start a queue over: revoked */
		ck_assert_int_eq(state(n), UQ_DEAD);
		ck_assert_int_eq(uq_check_owner(n, &(struct uacce_caller){ .tid = gettid() }),
				 -ENODEV);
		ck_assert_int_eq(ud_available_instances(d2), 2);
		ck_assert_int_eq(teng_count(&teng_ctx.maps), 1);
	}
	uq_release(n);
	core_free(b);
	uq_release(q);
	munmap(reg, PAGE);
	munmap(ss, 4 * len);
	handed_free(&h);
}

START_TEST(test_engine_crash_recovered)
{
	engine_crash(true);
}
END_TEST

START_TEST(test_engine_crash_without_recover)
{
	engine_crash(false);
}
END_TEST

START_TEST(test_dummy_ring_across)
{
	dummy_across(false);
}
END_TEST

START_TEST(test_dummy_ring_across_sva)
{
	dummy_across(true);
}
END_TEST

/* --- zip: whole buffers survive, streams end with EPIPE ------------------ */

static struct uacce_dev *mkzip(struct uacce_core *c)
{
	struct uacce_dev_cfg cfg = {
		.name = "zip", .backend = "soft", .api = UACCE_ZIP_API, .queues = 2,
	};
	struct uacce_dev *d = NULL;

	ck_assert_int_eq(core_add_device(c, uacce_backend_find("soft"), &cfg, 1, &d), 0);
	return d;
}

struct zipq {
	struct uacce_zip_regs *regs;
	struct uacce_zip_sqe *sqes;
	struct uacce_zip_cqe *cqes;
	uint8_t *dus;
};

/* submit as uacce_zip(7) says: the SQE, sq_tail, a barrier, the kick */
static void zsubmit(struct zipq *z, struct uacce_zip_sqe e)
{
	uint32_t t = z->regs->sq_tail;

	z->sqes[t % z->regs->sq_entries] = e;
	__atomic_store_n(&z->regs->sq_tail, t + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&z->regs->flags, __ATOMIC_ACQUIRE) & UACCE_ZIP_NEED_WAKEUP) {
		__atomic_add_fetch(&z->regs->wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &z->regs->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

static bool zwait(struct zipq *z, uint32_t want, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	do {
		if (__atomic_load_n(&z->regs->cq_tail, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(500);
	} while (now_ms() < end);
	return __atomic_load_n(&z->regs->cq_tail, __ATOMIC_ACQUIRE) == want;
}

static const struct uacce_zip_cqe *zcqe(struct zipq *z, uint32_t i)
{
	return &z->cqes[i % z->regs->cq_entries];
}

static struct uacce_zip_sqe zreq(uint8_t op, const void *src, uint32_t slen, void *dst,
				 uint32_t dlen, uint64_t cookie)
{
	return (struct uacce_zip_sqe){
		.src = (uintptr_t)src, .src_len = slen, .dst = (uintptr_t)dst, .dst_len = dlen,
		.cookie = cookie, .op = op, .alg = UACCE_ZIP_ALG_ZLIB,
	};
}

START_TEST(test_zip_across)
{
	struct uacce_core *a = fx_core, *b;
	struct uacce_dev *d = mkzip(a), *d2;
	struct uacce_queue *q = open_me(d), *n;
	const uint32_t len = 64 * 1024, cap = 128 * 1024;
	struct uacce_zip_sqe e;
	struct handed h;
	struct zipq z;
	uint8_t *ss, *in, *in2, *c1, *c2, *out, *out2, *sbuf;
	uint32_t c1len, c2len;
	uint16_t epoch;

	start_as(q, me());
	z.regs = map_me(q, UACCE_QFRT_MMIO, UACCE_ZIP_MMIO_SIZE);
	z.dus = map_me(q, UACCE_QFRT_DUS, UACCE_ZIP_DUS_SIZE);
	z.sqes = (struct uacce_zip_sqe *)(z.dus + z.regs->sqe_off);
	z.cqes = (struct uacce_zip_cqe *)(z.dus + z.regs->cqe_off);
	ss = map_ss_me(q, 2 * MiB);
	in = ss;
	in2 = in + len;
	c1 = in2 + len;
	c2 = c1 + cap;
	out = c2 + cap;
	out2 = out + cap;
	sbuf = out2 + cap;
	for (uint32_t i = 0; i < len; i++) {
		in[i] = (uint8_t)("restart "[i % 8] + (i / 4096));
		in2[i] = (uint8_t)("upgrade "[i % 8] ^ (i / 1024));
	}
	/* before: a whole buffer, and a stream left open */
	zsubmit(&z, zreq(UACCE_ZIP_OP_COMPRESS, in, len, c1, cap, 1));
	e = zreq(UACCE_ZIP_OP_COMPRESS, in, 4096, sbuf, 4096, 2);
	e.stream = 1;
	e.flags = UACCE_ZIP_F_START;
	zsubmit(&z, e);
	ck_assert(zwait(&z, 2, 5000));
	ck_assert_uint_eq(zcqe(&z, 0)->status, 0);
	c1len = zcqe(&z, 0)->produced;
	ck_assert_uint_gt(c1len, 0);
	ck_assert_uint_eq(zcqe(&z, 1)->status, 0);
	epoch = zcqe(&z, 1)->epoch;

	h = export_core(a);
	/* suspended: these wait in the ring */
	zsubmit(&z, zreq(UACCE_ZIP_OP_DECOMPRESS, c1, c1len, out, cap, 3));
	e = zreq(UACCE_ZIP_OP_COMPRESS, in + 4096, 4096, sbuf, 4096, 4);
	e.stream = 1;
	e.epoch = epoch;
	e.flags = UACCE_ZIP_F_END;
	zsubmit(&z, e);
	zsubmit(&z, zreq(UACCE_ZIP_OP_COMPRESS, in2, len, c2, cap, 5));
	usleep(20000);
	ck_assert_uint_eq(__atomic_load_n(&z.regs->cq_tail, __ATOMIC_ACQUIRE), 2);

	b = mkcore();
	d2 = mkzip(b);
	adopt_core(b, &h);
	n = core_claim_adopted(b, uq_id(q));
	ck_assert_ptr_nonnull(n);
	core_adopt_done(b);
	ck_assert_int_eq(ud_available_instances(d2), 1);
	ck_assert_msg(zwait(&z, 5, 5000), "requests of before the restart not served");
	/* whole buffers: served, byte-exact */
	ck_assert_uint_eq(zcqe(&z, 2)->cookie, 3);
	ck_assert_uint_eq(zcqe(&z, 2)->status, 0);
	ck_assert_uint_eq(zcqe(&z, 2)->produced, len);
	ck_assert_mem_eq(out, in, len);
	/* the stream of before: the device does not know it any more */
	ck_assert_uint_eq(zcqe(&z, 3)->cookie, 4);
	ck_assert_uint_eq(zcqe(&z, 3)->status, EPIPE);
	ck_assert_uint_eq(zcqe(&z, 3)->produced, 0);
	ck_assert_uint_eq(zcqe(&z, 4)->cookie, 5);
	ck_assert_uint_eq(zcqe(&z, 4)->status, 0);
	c2len = zcqe(&z, 4)->produced;
	/* after: the compressed data of across the restart decompresses */
	zsubmit(&z, zreq(UACCE_ZIP_OP_DECOMPRESS, c2, c2len, out2, cap, 6));
	/* and a stream started now works */
	e = zreq(UACCE_ZIP_OP_COMPRESS, in, 4096, sbuf, 8192, 7);
	e.stream = 1;
	e.flags = UACCE_ZIP_F_START | UACCE_ZIP_F_END;
	zsubmit(&z, e);
	ck_assert(zwait(&z, 7, 5000));
	ck_assert_uint_eq(zcqe(&z, 5)->status, 0);
	ck_assert_uint_eq(zcqe(&z, 5)->produced, len);
	ck_assert_mem_eq(out2, in2, len);
	ck_assert_uint_eq(zcqe(&z, 6)->status, 0);
	ck_assert_uint_ne(zcqe(&z, 6)->flags & UACCE_ZIP_CF_EOS, 0);
	ck_assert_uint_eq(z.regs->ring_errors, 0);
	uq_release(n);
	core_remove_device(d2);
	ud_unref(d2);
	core_free(b);
	uq_release(q);
	munmap(z.regs, UACCE_ZIP_MMIO_SIZE);
	munmap(z.dus, UACCE_ZIP_DUS_SIZE);
	munmap(ss, 2 * MiB);
	handed_free(&h);
}
END_TEST

/* --- a device's own state (backend.h, uacce_backend_state_ops) ------------- */

static struct {
	int saves, checks, adopts, adopt_dones;
	int check_ret, adopt_ret;
	int fd;			/* the old device's "hardware" fd (an eventfd) */
	int adopted_fd;		/* what dev_adopt kept */
} DS;

static int ds_save(struct uacce_hwdev *hd, struct uacce_dev_state *st)
{
	(void)hd;
	DS.saves++;
	st->len = (size_t)snprintf((char *)st->blob, UACCE_DEV_STATE_MAX, "fake-state-1");
	st->fds[0] = DS.fd;
	st->fds[1] = -1;	/* a hole in the fds */
	st->nfds = 2;
	return 0;
}

static bool ds_ok(const struct uacce_dev_state *st)
{
	return st->len == 12 && memcmp(st->blob, "fake-state-1", 12) == 0 && st->nfds == 2 &&
	       st->fds[0] >= 0 && st->fds[1] == -1;
}

static int ds_check(const struct uacce_dev_cfg *cfg, const struct uacce_dev_state *st,
		    char *why, size_t len)
{
	DS.checks++;
	if (!ds_ok(st) || DS.check_ret) {
		snprintf(why, len, "%s: check refused", cfg->node_name);
		return DS.check_ret ? DS.check_ret : -EINVAL;
	}
	return 0;
}

static int ds_adopt(const struct uacce_dev_cfg *cfg, struct uacce_dev_state *st,
		    struct uacce_hwdev_info *info, struct uacce_hwdev **out)
{
	int err;

	DS.adopts++;
	if (!ds_ok(st) || DS.adopt_ret)
		return DS.adopt_ret ? DS.adopt_ret : -EINVAL;
	err = fake_ops()->dev_create(cfg, info, out);
	if (!err) {
		DS.adopted_fd = st->fds[0];
		st->fds[0] = -1;
	}
	return err;
}

static void ds_adopt_done(struct uacce_hwdev *hd)
{
	(void)hd;
	DS.adopt_dones++;
}

static const struct uacce_backend_state_ops ds_ops = {
	.dev_save = ds_save,
	.dev_check = ds_check,
	.dev_adopt = ds_adopt,
	.dev_adopt_done = ds_adopt_done,
};

/* a core A with one fake device whose backend has device state, a started queue */
static struct uacce_core *ds_core(struct fake_table *t, struct uacce_dev **d, struct uacce_queue **q)
{
	struct fake_params p = fake_params();
	struct uacce_core *a = mkcore();

	memset(&DS, 0, sizeof(DS));
	DS.adopted_fd = -1;
	DS.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(DS.fd, 0);
	fake_table_init(t);
	t->ops.state = &ds_ops;
	ck_assert_int_eq(add_fake(a, &t->ops, &p, 1, d), 0);
	*q = open_me(*d);
	start_as(*q, me());
	return a;
}

static void ds_core_free(struct uacce_core *a, struct uacce_dev *d, struct uacce_queue *q)
{
	uq_release(q);
	core_remove_device(d);
	ud_unref(d);
	core_free(a);
	close(DS.fd);
	if (DS.adopted_fd >= 0)
		close(DS.adopted_fd);
}

/* the state and its fd reach the successor's dev_adopt; adopt_done once */
START_TEST(test_dev_state_roundtrip)
{
	struct fake_params p = fake_params();
	struct uacce_dev *d, *db = NULL, *dx = NULL;
	struct uacce_queue *q, *n;
	struct uacce_core *a, *b;
	struct fake_table t;
	struct handed h;
	json_object *hs;
	uint64_t v = 0;
	char why[300];
	struct uacce_dev_cfg cfg = { .name = "fake", .backend = FAKE_NAME, .queues = 4,
				     .node_name = A_NODE };

	a = ds_core(&t, &d, &q);
	h = export_core(a);
	ck_assert_int_eq(DS.saves, 1);
	hs = ho_get(json_object_array_get_idx(ho_get(ho_get(h.root, "core"), "devices"), 0),
		    "hw_state");
	ck_assert_ptr_nonnull(hs);
	ck_assert_int_eq((int)json_object_array_length(ho_get(hs, "fds")), 2);
	/* the successor's check: the backend's verdict, or no backend support */
	ck_assert_int_eq(core_check_dev_state(h.s, ho_get(h.root, "core"), &t.ops, &cfg, why,
					      sizeof(why)), 0);
	ck_assert_int_eq(DS.checks, 1);
	DS.check_ret = -EBADF;
	ck_assert_int_eq(core_check_dev_state(h.s, ho_get(h.root, "core"), &t.ops, &cfg, why,
					      sizeof(why)), -EBADF);
	ck_assert_ptr_nonnull(strstr(why, "check refused"));
	DS.check_ret = 0;
	ck_assert_int_eq(core_check_dev_state(h.s, ho_get(h.root, "core"), fake_ops(), &cfg, why,
					      sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "cannot take the device's state"));
	/* the check took nothing: the successor adopts the device with its fd */
	b = mkcore();
	core_set_handover(b, h.s, ho_get(h.root, "core"));
	ck_assert_int_eq(add_fake(b, &t.ops, &p, 1, &db), 0);
	ck_assert_int_eq(DS.adopts, 1);
	ck_assert_int_ge(DS.adopted_fd, 0);
	ck_assert_int_ne(DS.adopted_fd, DS.fd);
	ck_assert_int_eq(eventfd_write(DS.fd, 5), 0);		/* the same eventfd */
	ck_assert_int_eq(eventfd_read(DS.adopted_fd, &v), 0);
	ck_assert_uint_eq(v, 5);
	adopt_core(b, &h);
	n = core_claim_adopted(b, uq_id(q));
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(DS.adopt_dones, 0);
	core_adopt_done(b);
	ck_assert_int_eq(DS.adopt_dones, 1);
	ck_assert_int_eq(state(n), UQ_STARTED);
	ck_assert_int_eq(ud_available_instances(db), 3);
	/* taken once: a device made after the hand-over is created afresh */
	ck_assert_int_eq(add_fake(b, &t.ops, &p, 3, &dx), 0);
	ck_assert_int_eq(DS.adopts, 1);
	core_adopt_done(b);
	ck_assert_int_eq(DS.adopt_dones, 1);
	uq_release(n);
	core_remove_device(dx);
	ud_unref(dx);
	core_remove_device(db);
	ud_unref(db);
	core_free(b);
	ds_core_free(a, d, q);
	handed_free(&h);
}
END_TEST

/* dev_adopt fails: the device is created afresh, the state's fds closed */
START_TEST(test_dev_state_adopt_fails)
{
	struct fake_params p = fake_params();
	struct uacce_dev *d, *db = NULL;
	struct uacce_queue *q, *n;
	struct uacce_core *a, *b;
	struct fake_table t;
	struct handed h;
	int fdi;

	a = ds_core(&t, &d, &q);
	h = export_core(a);
	DS.adopt_ret = -EINVAL;
	b = mkcore();
	core_set_handover(b, h.s, ho_get(h.root, "core"));
	ck_assert_int_eq(add_fake(b, &t.ops, &p, 1, &db), 0);	/* dev_create */
	ck_assert_int_eq(DS.adopts, 1);
	ck_assert_int_eq(fake_dev_calls(A_NODE, FOP_ADOPT), 0);
	adopt_core(b, &h);
	n = core_claim_adopted(b, uq_id(q));
	ck_assert_ptr_nonnull(n);
	core_adopt_done(b);
	ck_assert_int_eq(DS.adopt_dones, 0);	/* nothing adopted */
	/* every fd of the state was taken: the device's too */
	fdi = 0;
	while (ho_take_fd(h.s, fdi) == -EBADF && fdi < 64)
		fdi++;
	ck_assert_int_eq(fdi, 64);
	uq_release(n);
	core_remove_device(db);
	ud_unref(db);
	core_free(b);
	ds_core_free(a, d, q);
	handed_free(&h);
}
END_TEST

TCase *tc_handover(void)
{
	TCase *tc = tcase_create("handover");

	tcase_add_checked_fixture(tc, fx_fake_setup, fx_fake_teardown);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_owner_died_in_gap);
	tcase_add_test(tc, test_missing_device);
	tcase_add_test(tc, test_backend_without_ops);
	tcase_add_test(tc, test_exporter_without_ops);
	tcase_add_test(tc, test_adopt_failure);
	tcase_add_test(tc, test_blob_unreadable);
	tcase_add_test(tc, test_unclaimed);
	tcase_add_test(tc, test_groups_known_across);
	tcase_add_test(tc, test_freeze_thaw);
	tcase_add_test(tc, test_dummy_ring_across);
	tcase_add_test(tc, test_freeze_never_cancels);
	tcase_add_test(tc, test_dummy_ring_across_sva);
	tcase_add_test(tc, test_zip_across);
	tcase_add_test(tc, test_dev_state_roundtrip);
	tcase_add_test(tc, test_dev_state_adopt_fails);
	tcase_add_test(tc, test_engine_crash_recovered);
	tcase_add_test(tc, test_engine_crash_without_recover);
	return tc;
}
