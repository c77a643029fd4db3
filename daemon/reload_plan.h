/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reload_plan.h - how the device entries of a new configuration map onto
 * the device table on a reload (README, "Policy": Reload):
 *
 *  - a new entry equal to an entry of the table keeps it: its id, node and
 *    open queues (first match in id order, new entries in file order);
 *  - entries of the table left over are removed (their queues get ENODEV);
 *  - the other new entries take the lowest free ids, in file order (the
 *    kernel's idr does the same), the ids of removed entries included.
 *
 * Then, before anything changes, the devices of the added entries are
 * created (unpublished), all or none: a failure leaves the table as it
 * was.  Entries whose backend binds hardware are not created: they wait
 * for their hardware and come when it can be used.  Then the swap:
 * removals first, then additions.
 *
 * The plan itself is plain data; the table and the devices are reached
 * through struct reload_ops only, so that these rules are unit-tested
 * without devices (test/unit/test-reload-plan.c).  Not thread-safe: the
 * caller holds what guards its table (uacced: the reload lock).
 */
#ifndef UACCED_RELOAD_PLAN_H
#define UACCED_RELOAD_PLAN_H

#include <stdbool.h>

#define RELOAD_MAX_IDS 64	/* ids 0..63, at least CONFIG_MAX_DEVICES */

struct reload_ops {
	void *ctx;
	/* is `id` taken in the table now? */
	bool (*used)(void *ctx, int id);
	/* does new entry j describe the device of the table's entry `id`? */
	bool (*same)(void *ctx, int id, int j);
	/* does new entry j's backend bind hardware (it then waits for it)? */
	bool (*binds_hw)(void *ctx, int j);
	/* make new entry j's device, with id `id`, unpublished: 0 with *made, or -errno */
	int (*create)(void *ctx, int j, int id, void **made);
	/* undo a create (a later one failed) */
	void (*discard)(void *ctx, void *made);
	/* forget the table's entry `id` and remove its device (queues: ENODEV) */
	void (*remove)(void *ctx, int id);
	/*
	 * Put new entry j in the table as `id` with the device made for it
	 * (NULL for an entry that binds hardware): 0, or -errno if the
	 * device could not be published (the entry was removed again).
	 */
	int (*install)(void *ctx, int j, int id, void *made);
};

struct reload_plan {
	int nnew;				/* entries in the new configuration */
	int id[RELOAD_MAX_IDS];			/* per new entry: its id */
	bool keep[RELOAD_MAX_IDS];		/* per new entry: an entry of the table */
	bool gone[RELOAD_MAX_IDS];		/* per id: removed */
	void *made[RELOAD_MAX_IDS];		/* per new entry: its device, created */
	int kept, added, removed;
};

/* map nnew new entries onto the table; -EINVAL if nnew is out of range */
int reload_plan_compute(struct reload_plan *p, int nnew, const struct reload_ops *ops);
/*
 * Create the added entries' devices.  All or none: on a failure, the ones
 * made are discarded, *failed is the new entry that failed and its -errno
 * is returned; the table was not touched.
 */
int reload_plan_create(struct reload_plan *p, const struct reload_ops *ops, int *failed);
/* the swap: removals, then additions; returns how many could not be installed */
int reload_plan_apply(struct reload_plan *p, const struct reload_ops *ops);

#endif
