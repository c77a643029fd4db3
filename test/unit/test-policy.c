/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-policy.c - unit tests of daemon/policy.c: which limits and which
 * devices apply to an identity (user over groups over default, the most
 * generous group, root only by name), patterns, reference counting.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit-main.h"
#include "policy.h"

#define U POLICY_UNLIMITED

static struct uacce_policy *mk(void)
{
	struct uacce_policy *p = NULL;

	ck_assert_int_eq(policy_new(&p), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

static struct policy_entry *user(struct uacce_policy *p, uid_t uid, const char *label)
{
	struct policy_entry *e = NULL;

	ck_assert_int_eq(policy_add_user(p, uid, label, &e), 0);
	return e;
}

static struct policy_entry *group(struct uacce_policy *p, gid_t gid, const char *label)
{
	struct policy_entry *e = NULL;

	ck_assert_int_eq(policy_add_group(p, gid, label, &e), 0);
	return e;
}

static struct policy_limits resolve(const struct uacce_policy *p, uid_t uid, gid_t gid,
				    const gid_t *groups, int n)
{
	struct uacce_ident id = { .uid = uid, .gid = gid, .groups = groups, .ngroups = n };
	struct policy_limits l;

	policy_resolve(p, &id, &l);
	return l;
}

static bool allowed(const struct uacce_policy *p, uid_t uid, gid_t gid, const gid_t *groups,
		    int n, const char *node, const char *name, const char **by)
{
	struct uacce_ident id = { .uid = uid, .gid = gid, .groups = groups, .ngroups = n };
	const char *dummy;

	return policy_device_allowed(p, &id, node, name, by ? by : &dummy);
}

START_TEST(test_no_policy)
{
	struct policy_limits l = resolve(NULL, 1000, 1000, NULL, 0);
	const char *by = NULL;

	for (int k = 0; k < PL_NR; k++) {
		ck_assert_uint_eq(l.lim[k], U);
		ck_assert_str_eq(l.src[k], "none");
	}
	ck_assert(allowed(NULL, 1000, 1000, NULL, 0, "uacce-dummy-0", "dummy", &by));
	ck_assert_str_eq(by, "none");
}
END_TEST

START_TEST(test_empty_policy)
{
	struct uacce_policy *p = mk();
	struct policy_limits l = resolve(p, 1000, 1000, NULL, 0);

	for (int k = 0; k < PL_NR; k++)
		ck_assert_uint_eq(l.lim[k], U);
	ck_assert(allowed(p, 1000, 1000, NULL, 0, "uacce-zip-2", "zip", NULL));
	policy_unref(p);
}
END_TEST

START_TEST(test_default_applies)
{
	struct uacce_policy *p = mk();
	struct policy_limits l;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 4);
	policy_entry_set_limit(&p->def, PL_MAX_REGION_BYTES, 1 << 20);
	l = resolve(p, 1000, 1000, NULL, 0);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], 4);
	ck_assert_str_eq(l.src[PL_MAX_QUEUES], "default");
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES_PER_DEVICE], U);	/* not set anywhere */
	ck_assert_str_eq(l.src[PL_MAX_QUEUES_PER_DEVICE], "none");
	ck_assert_uint_eq(l.lim[PL_MAX_REGION_BYTES], 1 << 20);
	policy_unref(p);
}
END_TEST

START_TEST(test_user_over_group_over_default)
{
	struct uacce_policy *p = mk();
	gid_t sup[] = { 50 };
	struct policy_entry *g = group(p, 50, "group staff");
	struct policy_entry *u = user(p, 1000, "user alice");
	struct policy_limits l;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 1);
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES_PER_DEVICE, 1);
	policy_entry_set_limit(&p->def, PL_MAX_REGION_BYTES, 100);
	policy_entry_set_limit(g, PL_MAX_QUEUES, 10);
	policy_entry_set_limit(g, PL_MAX_QUEUES_PER_DEVICE, 5);
	(void)u;
	/* the user entry exists but sets only one limit: the others fall through */
	policy_entry_set_limit(&p->users[0].e, PL_MAX_QUEUES, 2);

	l = resolve(p, 1000, 1000, sup, 1);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], 2);		/* user, though smaller */
	ck_assert_str_eq(l.src[PL_MAX_QUEUES], "user alice");
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES_PER_DEVICE], 5);	/* group */
	ck_assert_str_eq(l.src[PL_MAX_QUEUES_PER_DEVICE], "group staff");
	ck_assert_uint_eq(l.lim[PL_MAX_REGION_BYTES], 100);	/* default */
	ck_assert_str_eq(l.src[PL_MAX_REGION_BYTES], "default");

	/* another user in the group: group, then default */
	l = resolve(p, 1001, 1001, sup, 1);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], 10);
	ck_assert_uint_eq(l.lim[PL_MAX_REGION_BYTES], 100);
	/* a user in no group: default */
	l = resolve(p, 1002, 1002, NULL, 0);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], 1);
	ck_assert_str_eq(l.src[PL_MAX_QUEUES], "default");
	policy_unref(p);
}
END_TEST

START_TEST(test_most_generous_group)
{
	struct uacce_policy *p = mk();
	gid_t sup[] = { 60, 70, 80 };
	struct policy_entry *a = group(p, 60, "group a");
	struct policy_entry *b, *c;
	struct policy_limits l;

	policy_entry_set_limit(a, PL_MAX_QUEUES, 3);
	policy_entry_set_limit(a, PL_MAX_REGION_BYTES, 1000);
	b = group(p, 70, "group b");
	policy_entry_set_limit(b, PL_MAX_QUEUES, 7);
	policy_entry_set_limit(b, PL_MAX_REGION_BYTES, 10);
	c = group(p, 90, "group c");		/* the user is not in it */
	policy_entry_set_limit(c, PL_MAX_QUEUES, 100);
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 1000);

	l = resolve(p, 1000, 1000, sup, 3);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], 7);		/* not the default's 1000 */
	ck_assert_str_eq(l.src[PL_MAX_QUEUES], "group b");
	ck_assert_uint_eq(l.lim[PL_MAX_REGION_BYTES], 1000);	/* per limit: another group */
	ck_assert_str_eq(l.src[PL_MAX_REGION_BYTES], "group a");

	/* "unlimited" is the most generous */
	policy_entry_set_limit(&p->groups[0].e, PL_MAX_QUEUES, U);
	l = resolve(p, 1000, 1000, sup, 3);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], U);
	ck_assert_str_eq(l.src[PL_MAX_QUEUES], "group a");
	policy_unref(p);
}
END_TEST

START_TEST(test_primary_group_counts)
{
	struct uacce_policy *p = mk();
	struct policy_entry *g = group(p, 500, "group prim");
	struct policy_limits l;

	policy_entry_set_limit(g, PL_MAX_QUEUES, 9);
	l = resolve(p, 1000, 500, NULL, 0);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], 9);
	l = resolve(p, 1000, 501, NULL, 0);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], U);
	policy_unref(p);
}
END_TEST

START_TEST(test_root_only_by_name)
{
	struct uacce_policy *p = mk();
	gid_t sup[] = { 0, 50 };
	struct policy_entry *g = group(p, 0, "group root");
	struct policy_limits l;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 1);
	policy_entry_set_devices(&p->def);	/* no device at all by default */
	policy_entry_set_limit(g, PL_MAX_QUEUES, 2);
	l = resolve(p, 0, 0, sup, 2);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], U);
	ck_assert_str_eq(l.src[PL_MAX_QUEUES], "none");
	ck_assert(allowed(p, 0, 0, sup, 2, "uacce-dummy-0", "dummy", NULL));
	/* ... but a user entry for root applies */
	policy_entry_set_limit(user(p, 0, "user root"), PL_MAX_QUEUES, 3);
	l = resolve(p, 0, 0, sup, 2);
	ck_assert_uint_eq(l.lim[PL_MAX_QUEUES], 3);
	ck_assert_str_eq(l.src[PL_MAX_QUEUES], "user root");
	/* others still get the default */
	ck_assert(!allowed(p, 5, 5, NULL, 0, "uacce-dummy-0", "dummy", NULL));
	policy_unref(p);
}
END_TEST

START_TEST(test_devices_patterns)
{
	struct uacce_policy *p = mk();
	const char *by = NULL;

	ck_assert_int_eq(policy_entry_add_device(&p->def, "uacce-dummy-[01]"), 0);
	ck_assert_int_eq(policy_entry_add_device(&p->def, "zip"), 0);
	ck_assert(allowed(p, 1000, 1000, NULL, 0, "uacce-dummy-0", "dummy", &by));
	ck_assert_str_eq(by, "default");
	ck_assert(allowed(p, 1000, 1000, NULL, 0, "uacce-dummy-1", "dummy", NULL));
	ck_assert(!allowed(p, 1000, 1000, NULL, 0, "uacce-dummy-2", "dummy", &by));
	ck_assert_str_eq(by, "default");
	/* the configured name matches every device of that name */
	ck_assert(allowed(p, 1000, 1000, NULL, 0, "uacce-zip-7", "zip", NULL));
	ck_assert(!allowed(p, 1000, 1000, NULL, 0, "uacce-zipper-7", "zipper", NULL));
	policy_unref(p);
}
END_TEST

START_TEST(test_devices_user_group_default)
{
	struct uacce_policy *p = mk();
	gid_t sup[] = { 50, 60 };
	struct policy_entry *g1 = group(p, 50, "group g1"), *g2;
	const char *by = NULL;

	policy_entry_add_device(&p->def, "dummy");
	policy_entry_add_device(g1, "uacce-zip-*");
	g2 = group(p, 60, "group g2");
	policy_entry_add_device(g2, "uacce-dummy-1");
	/* groups: union of their lists, the default does not add to it */
	ck_assert(allowed(p, 1000, 1000, sup, 2, "uacce-zip-2", "zip", &by));
	ck_assert_str_eq(by, "group g1");
	ck_assert(allowed(p, 1000, 1000, sup, 2, "uacce-dummy-1", "dummy", &by));
	ck_assert_str_eq(by, "group g2");
	ck_assert(!allowed(p, 1000, 1000, sup, 2, "uacce-dummy-0", "dummy", &by));
	ck_assert_str_eq(by, "the user's groups");
	ck_assert(!allowed(p, 1000, 1000, sup, 1, "uacce-dummy-0", "dummy", &by));
	ck_assert_str_eq(by, "group g1");
	/* not in those groups: the default */
	ck_assert(allowed(p, 1001, 1001, NULL, 0, "uacce-dummy-0", "dummy", &by));
	ck_assert_str_eq(by, "default");
	ck_assert(!allowed(p, 1001, 1001, NULL, 0, "uacce-zip-2", "zip", NULL));
	/* a user entry wins, even an empty list (nothing allowed) */
	policy_entry_set_devices(user(p, 1000, "user alice"));
	ck_assert(!allowed(p, 1000, 1000, sup, 2, "uacce-zip-2", "zip", &by));
	ck_assert_str_eq(by, "user alice");
	/* a user entry without devices: falls through to the groups */
	policy_entry_set_limit(user(p, 1002, "user bob"), PL_MAX_QUEUES, 1);
	ck_assert(allowed(p, 1002, 1002, sup, 1, "uacce-zip-2", "zip", &by));
	policy_unref(p);
}
END_TEST

START_TEST(test_device_patterns_listing)
{
	struct uacce_policy *p = mk();
	gid_t sup[] = { 50, 60 };
	struct uacce_ident id = { .uid = 1000, .gid = 1000, .groups = sup, .ngroups = 2 };
	const char *pats[4], *by;

	ck_assert_int_eq(policy_device_patterns(NULL, &id, pats, 4, &by), -1);
	ck_assert_int_eq(policy_device_patterns(p, &id, pats, 4, &by), -1);
	policy_entry_add_device(&p->def, "a");
	ck_assert_int_eq(policy_device_patterns(p, &id, pats, 4, &by), 1);
	ck_assert_str_eq(pats[0], "a");
	ck_assert_str_eq(by, "default");
	policy_entry_add_device(group(p, 50, "group x"), "b");
	policy_entry_add_device(&p->groups[0].e, "c");
	policy_entry_add_device(group(p, 60, "group y"), "d");
	ck_assert_int_eq(policy_device_patterns(p, &id, pats, 4, &by), 3);
	ck_assert_str_eq(pats[0], "b");
	ck_assert_str_eq(pats[2], "d");
	ck_assert_str_eq(by, "the user's groups");
	/* more than fit: the count, the first ones */
	ck_assert_int_eq(policy_device_patterns(p, &id, pats, 2, &by), 3);
	id.uid = 0;
	ck_assert_int_eq(policy_device_patterns(p, &id, pats, 4, &by), -1);
	policy_unref(p);
}
END_TEST

START_TEST(test_duplicates_refused)
{
	struct uacce_policy *p = mk();
	struct policy_entry *e;

	user(p, 7, "user seven");
	ck_assert_int_eq(policy_add_user(p, 7, "user 7", &e), -EEXIST);
	group(p, 7, "group seven");	/* another namespace */
	ck_assert_int_eq(policy_add_group(p, 7, "group 7", &e), -EEXIST);
	ck_assert_int_eq(p->nusers, 1);
	ck_assert_int_eq(p->ngroups, 1);
	policy_unref(p);
}
END_TEST

START_TEST(test_refcount)
{
	struct uacce_policy *p = mk();

	policy_entry_add_device(&p->def, "x");
	ck_assert_ptr_eq(policy_ref(p), p);
	ck_assert_int_eq(p->refs, 2);
	policy_unref(p);
	ck_assert_int_eq(p->refs, 1);
	policy_unref(p);	/* ASan: freed, nothing leaks */
	policy_unref(NULL);
	ck_assert_ptr_null(policy_ref(NULL));
}
END_TEST

START_TEST(test_fmt_limit)
{
	char buf[32];

	ck_assert_str_eq(policy_fmt_limit(U, buf, sizeof(buf)), "unlimited");
	ck_assert_str_eq(policy_fmt_limit(0, buf, sizeof(buf)), "0");
	ck_assert_str_eq(policy_fmt_limit(1048576, buf, sizeof(buf)), "1048576");
	ck_assert_str_eq(policy_limit_names[PL_MAX_QUEUES], "max_queues");
	ck_assert_str_eq(policy_limit_names[PL_MAX_QUEUES_PER_DEVICE], "max_queues_per_device");
	ck_assert_str_eq(policy_limit_names[PL_MAX_REGION_BYTES], "max_region_bytes");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("resolve");

	tcase_add_test(tc, test_no_policy);
	tcase_add_test(tc, test_empty_policy);
	tcase_add_test(tc, test_default_applies);
	tcase_add_test(tc, test_user_over_group_over_default);
	tcase_add_test(tc, test_most_generous_group);
	tcase_add_test(tc, test_primary_group_counts);
	tcase_add_test(tc, test_root_only_by_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("devices");
	tcase_add_test(tc, test_devices_patterns);
	tcase_add_test(tc, test_devices_user_group_default);
	tcase_add_test(tc, test_device_patterns_listing);
	suite_add_tcase(s, tc);
	tc = tcase_create("building");
	tcase_add_test(tc, test_duplicates_refused);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_fmt_limit);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
