/* SPDX-License-Identifier: GPL-2.0-or-later */
/* policy.c - quota and device-access resolution (rules in policy.h) */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

const char *const policy_limit_names[PL_NR] = {
	[PL_MAX_QUEUES] = "max_queues",
	[PL_MAX_QUEUES_PER_DEVICE] = "max_queues_per_device",
	[PL_MAX_REGION_BYTES] = "max_region_bytes",
};

static void entry_init(struct policy_entry *e, const char *label)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->label, sizeof(e->label), "%s", label);
	for (int k = 0; k < PL_NR; k++)
		e->lim[k] = POLICY_UNLIMITED;
}

static void entry_fini(struct policy_entry *e)
{
	for (int i = 0; i < e->ndevices; i++)
		free(e->devices[i]);
	free(e->devices);
	e->devices = NULL;
	e->ndevices = 0;
}

int policy_new(struct uacce_policy **out)
{
	struct uacce_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->refs = 1;
	entry_init(&p->def, "default");
	p->total_region_bytes = POLICY_UNLIMITED;
	*out = p;
	return 0;
}

struct uacce_policy *policy_ref(struct uacce_policy *p)
{
	if (p)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void policy_unref(struct uacce_policy *p)
{
	if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	entry_fini(&p->def);
	for (int i = 0; i < p->nusers; i++)
		entry_fini(&p->users[i].e);
	for (int i = 0; i < p->ngroups; i++)
		entry_fini(&p->groups[i].e);
	free(p->users);
	free(p->groups);
	free(p);
}

static int add_id(struct policy_id_entry **arr, int *n, uint32_t id, const char *label,
		  struct policy_entry **out)
{
	struct policy_id_entry *a;

	for (int i = 0; i < *n; i++)
		if ((*arr)[i].id == id)
			return -EEXIST;
	a = realloc(*arr, (size_t)(*n + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	*arr = a;
	a[*n].id = id;
	entry_init(&a[*n].e, label);
	*out = &a[*n].e;
	(*n)++;
	return 0;
}

/* entries are only ever added while building: *out stays valid until the next add */
int policy_add_user(struct uacce_policy *p, uid_t uid, const char *label,
		    struct policy_entry **out)
{
	return add_id(&p->users, &p->nusers, uid, label, out);
}

int policy_add_group(struct uacce_policy *p, gid_t gid, const char *label,
		     struct policy_entry **out)
{
	return add_id(&p->groups, &p->ngroups, gid, label, out);
}

void policy_entry_set_limit(struct policy_entry *e, enum policy_limit which, uint64_t v)
{
	e->lim[which] = v;
	e->set |= 1u << which;
}

int policy_entry_set_devices(struct policy_entry *e)
{
	e->set |= POLICY_SET_DEVICES;
	return 0;
}

int policy_entry_add_device(struct policy_entry *e, const char *pattern)
{
	char **d = realloc(e->devices, (size_t)(e->ndevices + 1) * sizeof(*d));

	if (!d)
		return -ENOMEM;
	e->devices = d;
	d[e->ndevices] = strdup(pattern);
	if (!d[e->ndevices])
		return -ENOMEM;
	e->ndevices++;
	e->set |= POLICY_SET_DEVICES;
	return 0;
}

/* --- lookups ---------------------------------------------------------------- */

static const struct policy_entry *user_entry(const struct uacce_policy *p, uid_t uid)
{
	for (int i = 0; i < p->nusers; i++)
		if (p->users[i].id == uid)
			return &p->users[i].e;
	return NULL;
}

static bool member(const struct uacce_ident *id, gid_t gid)
{
	if (id->gid == gid)
		return true;
	for (int i = 0; i < id->ngroups; i++)
		if (id->groups[i] == gid)
			return true;
	return false;
}

/* the i-th group entry that applies to id and sets `bit`, from index *i on */
static const struct policy_entry *next_group(const struct uacce_policy *p,
					     const struct uacce_ident *id, unsigned bit, int *i)
{
	for (; *i < p->ngroups; (*i)++) {
		const struct policy_id_entry *g = &p->groups[*i];

		if ((g->e.set & bit) && member(id, g->id)) {
			(*i)++;
			return &g->e;
		}
	}
	return NULL;
}

static const struct policy_entry *limit_source(const struct uacce_policy *p,
					       const struct uacce_ident *id, int k)
{
	const struct policy_entry *ue = user_entry(p, id->uid), *best = NULL, *g;
	unsigned bit = 1u << k;
	int i = 0;

	if (ue && (ue->set & bit))
		return ue;
	if (id->uid == 0)
		return NULL;
	while ((g = next_group(p, id, bit, &i)))
		if (!best || g->lim[k] > best->lim[k])
			best = g;
	if (best)
		return best;
	return (p->def.set & bit) ? &p->def : NULL;
}

void policy_resolve(const struct uacce_policy *p, const struct uacce_ident *id,
		    struct policy_limits *out)
{
	for (int k = 0; k < PL_NR; k++) {
		const struct policy_entry *e = p ? limit_source(p, id, k) : NULL;

		out->lim[k] = e ? e->lim[k] : POLICY_UNLIMITED;
		out->src[k] = e ? e->label : "none";
	}
}

static bool entry_matches(const struct policy_entry *e, const char *node, const char *name)
{
	for (int i = 0; i < e->ndevices; i++)
		if (fnmatch(e->devices[i], node, 0) == 0 || fnmatch(e->devices[i], name, 0) == 0)
			return true;
	return false;
}

bool policy_device_allowed(const struct uacce_policy *p, const struct uacce_ident *id,
			   const char *node, const char *name, const char **by)
{
	const struct policy_entry *ue, *g, *first = NULL;
	int i = 0, n = 0;

	*by = "none";
	if (!p)
		return true;
	ue = user_entry(p, id->uid);
	if (ue && (ue->set & POLICY_SET_DEVICES)) {
		*by = ue->label;
		return entry_matches(ue, node, name);
	}
	if (id->uid == 0)
		return true;
	while ((g = next_group(p, id, POLICY_SET_DEVICES, &i))) {
		if (entry_matches(g, node, name)) {
			*by = g->label;
			return true;
		}
		first = first ? first : g;
		n++;
	}
	if (n) {
		*by = n == 1 ? first->label : "the user's groups";
		return false;
	}
	if (p->def.set & POLICY_SET_DEVICES) {
		*by = p->def.label;
		return entry_matches(&p->def, node, name);
	}
	return true;
}

static int collect(const struct policy_entry *e, const char **pats, int max, int n)
{
	for (int i = 0; i < e->ndevices; i++, n++)
		if (n < max)
			pats[n] = e->devices[i];
	return n;
}

int policy_device_patterns(const struct uacce_policy *p, const struct uacce_ident *id,
			   const char **pats, int max, const char **by)
{
	const struct policy_entry *ue, *g, *first = NULL;
	int i = 0, n = 0, ng = 0;

	*by = "none";
	if (!p)
		return -1;
	ue = user_entry(p, id->uid);
	if (ue && (ue->set & POLICY_SET_DEVICES)) {
		*by = ue->label;
		return collect(ue, pats, max, 0);
	}
	if (id->uid == 0)
		return -1;
	while ((g = next_group(p, id, POLICY_SET_DEVICES, &i))) {
		n = collect(g, pats, max, n);
		first = first ? first : g;
		ng++;
	}
	if (ng) {
		*by = ng == 1 ? first->label : "the user's groups";
		return n;
	}
	if (p->def.set & POLICY_SET_DEVICES) {
		*by = p->def.label;
		return collect(&p->def, pats, max, 0);
	}
	return -1;
}

const char *policy_fmt_limit(uint64_t v, char *buf, size_t len)
{
	if (v == POLICY_UNLIMITED)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%" PRIu64, v);
	return buf;
}
