/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reload_plan.c - the reload plan's rules (see reload_plan.h).
 */
#include <errno.h>
#include <string.h>

#include "reload_plan.h"

int reload_plan_compute(struct reload_plan *p, int nnew, const struct reload_ops *ops)
{
	bool claimed[RELOAD_MAX_IDS] = { false }, taken[RELOAD_MAX_IDS];

	if (nnew < 0 || nnew > RELOAD_MAX_IDS)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->nnew = nnew;
	for (int j = 0; j < nnew; j++) {
		p->id[j] = -1;
		for (int id = 0; id < RELOAD_MAX_IDS && p->id[j] < 0; id++) {
			if (!ops->used(ops->ctx, id) || claimed[id] || !ops->same(ops->ctx, id, j))
				continue;
			claimed[id] = p->keep[j] = true;
			p->id[j] = id;
			p->kept++;
		}
	}
	for (int id = 0; id < RELOAD_MAX_IDS; id++) {
		p->gone[id] = ops->used(ops->ctx, id) && !claimed[id];
		p->removed += p->gone[id];
		taken[id] = claimed[id];
	}
	/* at most nnew - kept ids are wanted, and RELOAD_MAX_IDS - kept are free */
	for (int j = 0; j < nnew; j++) {
		if (p->keep[j])
			continue;
		for (int id = 0; id < RELOAD_MAX_IDS && p->id[j] < 0; id++)
			if (!taken[id])
				taken[id] = true, p->id[j] = id;
		p->added++;
	}
	return 0;
}

int reload_plan_create(struct reload_plan *p, const struct reload_ops *ops, int *failed)
{
	for (int j = 0; j < p->nnew; j++) {
		int err;

		if (p->keep[j] || ops->binds_hw(ops->ctx, j))	/* those come when they can */
			continue;
		err = ops->create(ops->ctx, j, p->id[j], &p->made[j]);
		if (!err)
			continue;
		*failed = j;
		for (int k = 0; k < j; k++) {
			if (p->made[k])
				ops->discard(ops->ctx, p->made[k]);
			p->made[k] = NULL;
		}
		p->made[j] = NULL;
		return err;
	}
	return 0;
}

int reload_plan_apply(struct reload_plan *p, const struct reload_ops *ops)
{
	int failed = 0;

	for (int id = 0; id < RELOAD_MAX_IDS; id++)
		if (p->gone[id])
			ops->remove(ops->ctx, id);
	for (int j = 0; j < p->nnew; j++) {
		if (p->keep[j])
			continue;
		if (ops->install(ops->ctx, j, p->id[j], p->made[j]))
			failed++;
		p->made[j] = NULL;	/* the table's now */
	}
	return failed;
}
