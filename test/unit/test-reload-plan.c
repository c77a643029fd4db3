/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-reload-plan.c - unit tests of the reload plan (daemon/reload_plan.c):
 * unchanged entries keep their ids, removed ones are removed, new ones
 * take the lowest free ids in file order (removed ids included), entries
 * that bind hardware are not created ahead (they wait), a failed create
 * leaves the table untouched, removals come before additions.
 *
 * A fake table: entries are names ("hw..." binds hardware), equal when
 * their names are; every call is written to a log the tests compare.
 * Links reload_plan.c only.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "unit-main.h"
#include "reload_plan.h"

struct fake {
	const char *table[RELOAD_MAX_IDS];	/* per id: its entry, NULL: free */
	const char *const *nc;			/* the new entries */
	const char *fail_create;		/* create of this entry fails */
	const char *fail_install;		/* install of this entry fails */
	int made;				/* devices made and not discarded */
	char log[4096];
};

static void say(struct fake *f, const char *fmt, ...)
{
	size_t n = strlen(f->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->log + n, sizeof(f->log) - n, fmt, ap);
	va_end(ap);
}

static bool f_used(void *ctx, int id)
{
	return ((struct fake *)ctx)->table[id] != NULL;
}

static bool f_same(void *ctx, int id, int j)
{
	struct fake *f = ctx;

	return strcmp(f->table[id], f->nc[j]) == 0;
}

static bool f_binds_hw(void *ctx, int j)
{
	return strncmp(((struct fake *)ctx)->nc[j], "hw", 2) == 0;
}

static int f_create(void *ctx, int j, int id, void **made)
{
	struct fake *f = ctx;

	say(f, "create %s@%d;", f->nc[j], id);
	if (f->fail_create && !strcmp(f->nc[j], f->fail_create))
		return -EIO;
	f->made++;
	*made = (void *)f->nc[j];	/* the device: its name */
	return 0;
}

static void f_discard(void *ctx, void *made)
{
	struct fake *f = ctx;

	say(f, "discard %s;", (const char *)made);
	f->made--;
}

static void f_remove(void *ctx, int id)
{
	struct fake *f = ctx;

	say(f, "remove %s@%d;", f->table[id], id);
	f->table[id] = NULL;
}

static int f_install(void *ctx, int j, int id, void *made)
{
	struct fake *f = ctx;

	ck_assert_ptr_null(f->table[id]);		/* removals came first */
	say(f, "install %s@%d%s;", f->nc[j], id, made ? "" : " (waits)");
	if (made) {
		ck_assert_str_eq(made, f->nc[j]);	/* its own device */
		f->made--;
	}
	if (f->fail_install && !strcmp(f->nc[j], f->fail_install))
		return -ENOSPC;
	f->table[id] = f->nc[j];
	return 0;
}

static struct reload_ops ops_of(struct fake *f)
{
	return (struct reload_ops){
		.ctx = f,
		.used = f_used,
		.same = f_same,
		.binds_hw = f_binds_hw,
		.create = f_create,
		.discard = f_discard,
		.remove = f_remove,
		.install = f_install,
	};
}

/* the whole reload: compute, create, apply; the create error, or 0 */
static int reload(struct fake *f, const char *const *nc, int n, struct reload_plan *p,
		  int *failed_installs)
{
	const struct reload_ops ops = ops_of(f);
	int err, j = -1;

	f->nc = nc;
	f->log[0] = '\0';
	ck_assert_int_eq(reload_plan_compute(p, n, &ops), 0);
	err = reload_plan_create(p, &ops, &j);
	if (err) {
		ck_assert_int_ge(j, 0);
		ck_assert_int_lt(j, n);
		ck_assert_str_eq(nc[j], f->fail_create);
		return err;
	}
	*failed_installs = reload_plan_apply(p, &ops);
	return 0;
}

START_TEST(test_unchanged_keep_ids)
{
	struct fake f = { .table = { "a", "b", "c" } };
	const char *nc[] = { "c", "a", "b" };	/* another order in the file */
	struct reload_plan p;
	int failed = -1;

	ck_assert_int_eq(reload(&f, nc, 3, &p, &failed), 0);
	ck_assert_int_eq(failed, 0);
	ck_assert_str_eq(f.log, "");		/* nothing made, removed or installed */
	ck_assert_int_eq(p.id[0], 2);
	ck_assert_int_eq(p.id[1], 0);
	ck_assert_int_eq(p.id[2], 1);
	ck_assert(p.keep[0] && p.keep[1] && p.keep[2]);
	ck_assert_int_eq(p.kept, 3);
	ck_assert_int_eq(p.added, 0);
	ck_assert_int_eq(p.removed, 0);
}
END_TEST

START_TEST(test_removed)
{
	struct fake f = { .table = { "a", "b", "c" } };
	const char *nc[] = { "a", "c" };
	struct reload_plan p;
	int failed = -1;

	ck_assert_int_eq(reload(&f, nc, 2, &p, &failed), 0);
	ck_assert_str_eq(f.log, "remove b@1;");
	ck_assert(p.gone[1] && !p.gone[0] && !p.gone[2]);
	ck_assert_int_eq(p.kept, 2);
	ck_assert_int_eq(p.removed, 1);
	ck_assert_ptr_null(f.table[1]);
	ck_assert_str_eq(f.table[2], "c");	/* kept its id: no renumbering */
}
END_TEST

/* new entries: lowest free ids in file order, removed ones' ids included */
START_TEST(test_new_lowest_free_ids)
{
	struct fake f = { .table = { [0] = "a", [2] = "b", [5] = "c" } };
	const char *nc[] = { "x", "c", "y", "a", "z" };
	struct reload_plan p;
	int failed = -1;

	ck_assert_int_eq(reload(&f, nc, 5, &p, &failed), 0);
	ck_assert_int_eq(failed, 0);
	/* b (id 2) removed; x, y, z take 1, 2, 3 */
	ck_assert_str_eq(f.log, "create x@1;create y@2;create z@3;remove b@2;"
				"install x@1;install y@2;install z@3;");
	ck_assert_int_eq(p.id[1], 5);
	ck_assert_int_eq(p.id[3], 0);
	ck_assert_int_eq(p.kept, 2);
	ck_assert_int_eq(p.added, 3);
	ck_assert_int_eq(p.removed, 1);
	ck_assert_int_eq(f.made, 0);
}
END_TEST

/* equal entries: first match in id order, each entry of the table once */
START_TEST(test_duplicates)
{
	struct fake f = { .table = { "a", "a" } };
	const char *nc1[] = { "a" };
	const char *nc2[] = { "a", "a", "a" };
	struct reload_plan p;
	int failed = -1;

	ck_assert_int_eq(reload(&f, nc1, 1, &p, &failed), 0);
	ck_assert_str_eq(f.log, "remove a@1;");
	ck_assert_int_eq(p.id[0], 0);
	ck_assert_int_eq(reload(&f, nc2, 3, &p, &failed), 0);
	ck_assert_str_eq(f.log, "create a@1;create a@2;install a@1;install a@2;");
	ck_assert_int_eq(p.kept, 1);
	ck_assert_int_eq(p.added, 2);
}
END_TEST

/* an entry that binds hardware gets its id but no device ahead: it waits */
START_TEST(test_hardware_waits)
{
	struct fake f = { .table = { "a" } };
	const char *nc[] = { "hw-edu", "a", "x" };
	struct reload_plan p;
	int failed = -1;

	ck_assert_int_eq(reload(&f, nc, 3, &p, &failed), 0);
	ck_assert_str_eq(f.log, "create x@2;install hw-edu@1 (waits);install x@2;");
	ck_assert_ptr_null(p.made[0]);
	ck_assert_int_eq(p.added, 2);
	ck_assert_str_eq(f.table[1], "hw-edu");
}
END_TEST

/* a create fails: the ones made are discarded, the table is untouched */
START_TEST(test_failed_create_keeps_table)
{
	struct fake f = { .table = { "a", "b" }, .fail_create = "y" };
	const char *nc[] = { "x", "b", "hw-1", "y", "z" };
	struct reload_plan p;
	int failed = -1;

	ck_assert_int_eq(reload(&f, nc, 5, &p, &failed), -EIO);
	ck_assert_str_eq(f.log, "create x@0;create y@3;discard x;");
	ck_assert_int_eq(f.made, 0);
	ck_assert_str_eq(f.table[0], "a");
	ck_assert_str_eq(f.table[1], "b");
	for (int id = 2; id < RELOAD_MAX_IDS; id++)
		ck_assert_ptr_null(f.table[id]);
	/* the first one failing: nothing to discard */
	f.fail_create = "x";
	ck_assert_int_eq(reload(&f, nc, 5, &p, &failed), -EIO);
	ck_assert_str_eq(f.log, "create x@0;");
}
END_TEST

/* an addition that cannot be published is counted; the others go on */
START_TEST(test_failed_install_counted)
{
	struct fake f = { .fail_install = "x" };
	const char *nc[] = { "x", "y" };
	struct reload_plan p;
	int failed = -1;

	ck_assert_int_eq(reload(&f, nc, 2, &p, &failed), 0);
	ck_assert_int_eq(failed, 1);
	ck_assert_str_eq(f.log, "create x@0;create y@1;install x@0;install y@1;");
	ck_assert_ptr_null(f.table[0]);
	ck_assert_str_eq(f.table[1], "y");
}
END_TEST

/* every id in use, every entry replaced; and the limits */
START_TEST(test_full_table)
{
	static char names[2][RELOAD_MAX_IDS][8];
	const char *nc[RELOAD_MAX_IDS + 1];
	struct fake f = { 0 };
	struct reload_ops ops = ops_of(&f);
	struct reload_plan p;
	int failed = -1;

	for (int i = 0; i < RELOAD_MAX_IDS; i++) {
		snprintf(names[0][i], sizeof(names[0][i]), "o%d", i);
		snprintf(names[1][i], sizeof(names[1][i]), "n%d", i);
		f.table[i] = names[0][i];
		nc[i] = names[1][i];
	}
	nc[RELOAD_MAX_IDS] = "extra";
	ck_assert_int_eq(reload(&f, nc, RELOAD_MAX_IDS, &p, &failed), 0);
	ck_assert_int_eq(p.removed, RELOAD_MAX_IDS);
	ck_assert_int_eq(p.added, RELOAD_MAX_IDS);
	for (int j = 0; j < RELOAD_MAX_IDS; j++)
		ck_assert_int_eq(p.id[j], j);
	ck_assert_int_eq(reload_plan_compute(&p, RELOAD_MAX_IDS + 1, &ops), -EINVAL);
	ck_assert_int_eq(reload_plan_compute(&p, -1, &ops), -EINVAL);
	/* an empty configuration removes everything */
	ck_assert_int_eq(reload(&f, nc, 0, &p, &failed), 0);
	ck_assert_int_eq(p.removed, RELOAD_MAX_IDS);
	for (int id = 0; id < RELOAD_MAX_IDS; id++)
		ck_assert_ptr_null(f.table[id]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reload_plan");
	TCase *tc = tcase_create("plan");

	tcase_add_test(tc, test_unchanged_keep_ids);
	tcase_add_test(tc, test_removed);
	tcase_add_test(tc, test_new_lowest_free_ids);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_hardware_waits);
	tcase_add_test(tc, test_failed_create_keeps_table);
	tcase_add_test(tc, test_failed_install_counted);
	tcase_add_test(tc, test_full_table);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
