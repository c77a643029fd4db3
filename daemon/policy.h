/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy.h - the admin policy as plain C: per-user and per-group quotas
 * and device access (quotas.* of uacced.json(5)).  config.c builds it from
 * JSON; the queue core reads it under its lock.  A policy is immutable once
 * built and refcounted, so that a reload swaps it while the old one may
 * still be read.
 *
 * Resolution, limit by limit (every limit and the device list separately):
 *   1. the user's own entry (quotas.users.<name or uid>) if it sets it;
 *   2. else, among the entries of the user's groups (primary and
 *      supplementary) that set it, the most generous: the highest number
 *      ("unlimited" above all), and for devices the union of the lists;
 *   3. else quotas.default if it sets it;
 *   4. else unlimited / every device (the core then applies its built-in
 *      max_region_bytes to users other than root: see core.h).
 * uid 0 is like root in pam_limits: only an entry for user root (or "0")
 * applies to it, never the default nor a group entry.
 *
 * quotas.total_region_bytes bounds the region memory of all users
 * together, root included (the daemon maps it all); when not set the core
 * applies its built-in total.
 */
#ifndef UACCED_POLICY_H
#define UACCED_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POLICY_UNLIMITED UINT64_MAX
#define POLICY_LABEL_MAX 80

enum policy_limit {
	PL_MAX_QUEUES,			/* queues holding hardware, all devices */
	PL_MAX_QUEUES_PER_DEVICE,	/* the same, on one device */
	PL_MAX_REGION_BYTES,		/* region memory over all queues */
	PL_NR,
};

/* "max_queues", ... (the configuration key names) */
extern const char *const policy_limit_names[PL_NR];

#define POLICY_SET_DEVICES (1u << PL_NR)

struct policy_entry {
	char label[POLICY_LABEL_MAX];	/* "default", "user alice", "group 1002" */
	unsigned set;			/* 1 << PL_*, POLICY_SET_DEVICES: given here */
	uint64_t lim[PL_NR];
	int ndevices;
	char **devices;			/* device names or fnmatch(3) patterns */
};

struct policy_id_entry {
	uint32_t id;			/* uid or gid */
	struct policy_entry e;
};

struct uacce_policy {
	int refs;			/* atomic */
	struct policy_entry def;
	int nusers, ngroups;
	struct policy_id_entry *users;
	struct policy_id_entry *groups;
	bool total_set;			/* quotas.total_region_bytes given */
	uint64_t total_region_bytes;	/* all users together */
};

/* Whom a policy is applied to: the opener of a queue. */
struct uacce_ident {
	uid_t uid;
	gid_t gid;			/* primary (FUSE: fsgid) */
	const gid_t *groups;		/* supplementary */
	int ngroups;
};

/* The limits that apply to one identity. */
struct policy_limits {
	uint64_t lim[PL_NR];
	const char *src[PL_NR];		/* label of the deciding entry, or "none" */
};

/* --- building (config.c) -------------------------------------------------- */

int policy_new(struct uacce_policy **out);
struct uacce_policy *policy_ref(struct uacce_policy *p);
void policy_unref(struct uacce_policy *p);	/* NULL is fine */

/* A new entry for uid / gid; -EEXIST if it has one already. */
int policy_add_user(struct uacce_policy *p, uid_t uid, const char *label,
		    struct policy_entry **out);
int policy_add_group(struct uacce_policy *p, gid_t gid, const char *label,
		     struct policy_entry **out);
void policy_entry_set_limit(struct policy_entry *e, enum policy_limit which, uint64_t v);
/* mark the device list as given (possibly empty) and add patterns to it */
int policy_entry_set_devices(struct policy_entry *e);
int policy_entry_add_device(struct policy_entry *e, const char *pattern);

/* --- lookups (core) --------------------------------------------------------- */

/* p may be NULL: no policy, everything unlimited */
void policy_resolve(const struct uacce_policy *p, const struct uacce_ident *id,
		    struct policy_limits *out);

/*
 * May `id` open the device whose node is `node` ("uacce-dummy-1") and whose
 * configured name is `name` ("dummy")?  A pattern matches either.  *by gets
 * the label of the deciding level ("user alice", "group uacce",
 * "the user's groups", "default", "none").
 */
bool policy_device_allowed(const struct uacce_policy *p, const struct uacce_ident *id,
			   const char *node, const char *name, const char **by);

/*
 * The device patterns that apply to `id`, for display: up to `max` in
 * pats[], their total count returned; -1 when every device is allowed.
 * *by as above.
 */
int policy_device_patterns(const struct uacce_policy *p, const struct uacce_ident *id,
			   const char **pats, int max, const char **by);

/* "unlimited" or the decimal number */
const char *policy_fmt_limit(uint64_t v, char *buf, size_t len);

#endif
