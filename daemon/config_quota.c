/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config_quota.c - the "quotas" and "control" sections of uacced.json
 * into the plain policy of policy.h.  Every value is checked; a message
 * names the key path and the reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "policy.h"

#define MAX_COUNT	1000000			/* queues */
#define MAX_BYTES	(1ULL << 50)		/* 1 PiB */
#define MAX_IDS		4096			/* users, groups */
#define MAX_PATTERNS	64
#define MAX_PATTERN_LEN	63

/* --- users and groups -------------------------------------------------------- */

static bool decimal_id(const char *s, uint32_t *out)
{
	unsigned long long v = 0;

	if (!*s || strlen(s) > 10 || strspn(s, "0123456789") != strlen(s))
		return false;
	v = strtoull(s, NULL, 10);
	if (v >= UINT32_MAX)	/* (uid_t)-1 is "no id" */
		return false;
	*out = (uint32_t)v;
	return true;
}

int config_user_id(const char *key, uid_t *out)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	uint32_t id;

	if (decimal_id(key, &id)) {
		*out = id;
		return 0;
	}
	if (getpwnam_r(key, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	*out = pw.pw_uid;
	return 0;
}

int config_group_id(const char *key, gid_t *out)
{
	struct group gr, *res = NULL;
	char buf[65536];
	uint32_t id;

	if (decimal_id(key, &id)) {
		*out = id;
		return 0;
	}
	if (getgrnam_r(key, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	*out = gr.gr_gid;
	return 0;
}

/* "user alice" or, without a passwd entry, "user 1234" */
static void user_label(uid_t uid, char *label, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[16384];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(label, len, "user %s", pw.pw_name);
	else
		snprintf(label, len, "user %u", (unsigned)uid);
}

static void group_label(gid_t gid, char *label, size_t len)
{
	struct group gr, *res = NULL;
	char buf[65536];

	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res)
		snprintf(label, len, "group %s", gr.gr_name);
	else
		snprintf(label, len, "group %u", (unsigned)gid);
}

/* --- values ---------------------------------------------------------------------- */

/*
 * A size: a JSON integer (bytes), or a string of digits with an optional
 * unit K, M, G, T (powers of 1024, optionally written KiB, MiB, ...).
 */
static int parse_size_string(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		int shift;
	} units[] = {
		{ "", 0 },	  { "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GiB", 30 }, { "T", 40 },	   { "TiB", 40 },
	};
	size_t nd = strspn(s, "0123456789");
	unsigned long long v;

	if (nd == 0 || nd > 16)
		return -EINVAL;
	v = strtoull(s, NULL, 10);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + nd, units[i].unit) != 0)
			continue;
		if (v > (MAX_BYTES >> units[i].shift))
			return -ERANGE;
		*out = (uint64_t)v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

static int parse_limit(json_object *v, enum policy_limit k, const char *path, uint64_t *out,
		       const char *origin, char *err, size_t errlen)
{
	bool bytes = k == PL_MAX_REGION_BYTES;
	uint64_t max = bytes ? MAX_BYTES : MAX_COUNT;

	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		int r;

		if (strcmp(s, "unlimited") == 0) {
			*out = POLICY_UNLIMITED;
			return 0;
		}
		if (!bytes)
			return config_fail(err, errlen, origin,
					   "%s: \"%s\" is not a count: an integer 0-%d or "
					   "\"unlimited\"", path, s, MAX_COUNT);
		r = parse_size_string(s, out);
		if (r == -ERANGE)
			return config_fail(err, errlen, origin, "%s: \"%s\" is too large (limit 1 PiB)",
					   path, s);
		if (r)
			return config_fail(err, errlen, origin,
					   "%s: \"%s\" is not a size (examples: 65536, \"64K\", "
					   "\"64M\", \"1G\", \"unlimited\")", path, s);
		return 0;
	}
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n < 0 || (uint64_t)n > max)
			return config_fail(err, errlen, origin, "%s: %lld is out of range 0-%llu", path,
					   (long long)n, (unsigned long long)max);
		*out = (uint64_t)n;
		return 0;
	}
	return config_fail(err, errlen, origin, "%s: must be %s or \"unlimited\"", path,
			   bytes ? "a size in bytes (65536) or a string such as \"64M\""
				 : "a non-negative integer");
}

static int parse_devices(json_object *v, const char *path, struct policy_entry *e,
			 const char *origin, char *err, size_t errlen)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return config_fail(err, errlen, origin,
				   "%s: must be an array of device names or patterns", path);
	n = json_object_array_length(v);
	if (n > MAX_PATTERNS)
		return config_fail(err, errlen, origin, "%s: more than %d entries", path,
				   MAX_PATTERNS);
	policy_entry_set_devices(e);
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(v, i);
		const char *s = p ? json_object_get_string(p) : NULL;

		if (!p || !json_object_is_type(p, json_type_string) || !*s ||
		    strlen(s) > MAX_PATTERN_LEN || strpbrk(s, "/ \t\n"))
			return config_fail(err, errlen, origin,
					   "%s[%zu]: must be a device name or glob pattern "
					   "(1-%d characters, no '/' or blanks)",
					   path, i, MAX_PATTERN_LEN);
		if (policy_entry_add_device(e, s))
			return config_fail(err, errlen, origin, "%s: out of memory", path);
	}
	return 0;
}

/* one quota object: default, users.<u> or groups.<g> */
static int parse_entry(json_object *o, const char *path, struct policy_entry *e,
		       const char *origin, char *err, size_t errlen)
{
	static const char *const keys[] = { "max_queues", "max_queues_per_device",
					     "max_region_bytes", "devices", NULL };
	char sub[256];
	json_object *v;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return config_fail(err, errlen, origin, "%s: must be an object", path);
	r = config_check_keys(o, path, keys, origin, err, errlen);
	if (r)
		return r;
	for (int k = 0; k < PL_NR; k++) {
		uint64_t lim = 0;

		if (!config_get(o, policy_limit_names[k], &v))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", path, policy_limit_names[k]);
		r = parse_limit(v, (enum policy_limit)k, sub, &lim, origin, err, errlen);
		if (r)
			return r;
		policy_entry_set_limit(e, (enum policy_limit)k, lim);
	}
	if (config_get(o, "devices", &v)) {
		snprintf(sub, sizeof(sub), "%s.devices", path);
		return parse_devices(v, sub, e, origin, err, errlen);
	}
	return 0;
}

/* quotas.users or quotas.groups */
static int parse_ids(json_object *obj, bool users, struct uacce_policy *p, const char *origin,
		     char *err, size_t errlen)
{
	const char *what = users ? "users" : "groups";
	uint32_t ids[MAX_IDS];
	const char *keys[MAX_IDS];
	int n = 0;

	if (!json_object_is_type(obj, json_type_object))
		return config_fail(err, errlen, origin,
				   "quotas.%s: must be an object (keys: %s names or ids)", what,
				   users ? "user" : "group");
	if (json_object_object_length(obj) > MAX_IDS)
		return config_fail(err, errlen, origin, "quotas.%s: more than %d entries", what,
				   MAX_IDS);
	json_object_object_foreach(obj, key, val) {
		struct policy_entry *e;
		char path[256], label[POLICY_LABEL_MAX];
		uint32_t id;
		int r;

		snprintf(path, sizeof(path), "quotas.%s.%s", what, key);
		if (!val)
			continue;	/* null: deleted (a drop-in's way to remove a key) */
		r = users ? config_user_id(key, &id) : config_group_id(key, &id);
		if (r)
			return config_fail(err, errlen, origin, "%s: no such %s", path,
					   users ? "user" : "group");
		for (int i = 0; i < n; i++)
			if (ids[i] == id)
				return config_fail(err, errlen, origin,
						   "%s: the same %s as quotas.%s.%s (id %u)", path,
						   users ? "user" : "group", what, keys[i],
						   (unsigned)id);
		ids[n] = id;
		keys[n++] = key;
		if (users)
			user_label(id, label, sizeof(label));
		else
			group_label(id, label, sizeof(label));
		r = users ? policy_add_user(p, id, label, &e) : policy_add_group(p, id, label, &e);
		if (r)
			return config_fail(err, errlen, origin, "%s: %s", path, strerror(-r));
		r = parse_entry(val, path, e, origin, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

int config_parse_quotas(json_object *q, struct uacce_config *c, const char *origin, char *err,
			size_t errlen)
{
	static const char *const keys[] = { "default", "users", "groups", "total_region_bytes",
					     NULL };
	json_object *v;
	int r;

	if (!json_object_is_type(q, json_type_object))
		return config_fail(err, errlen, origin, "quotas: must be an object");
	r = config_check_keys(q, "quotas", keys, origin, err, errlen);
	if (r)
		return r;
	if (config_get(q, "total_region_bytes", &v)) {
		r = parse_limit(v, PL_MAX_REGION_BYTES, "quotas.total_region_bytes",
				&c->policy->total_region_bytes, origin, err, errlen);
		if (r)
			return r;
		c->policy->total_set = true;
	}
	if (config_get(q, "default", &v)) {
		r = parse_entry(v, "quotas.default", &c->policy->def, origin, err, errlen);
		if (r)
			return r;
	}
	if (config_get(q, "users", &v)) {
		r = parse_ids(v, true, c->policy, origin, err, errlen);
		if (r)
			return r;
	}
	if (config_get(q, "groups", &v))
		return parse_ids(v, false, c->policy, origin, err, errlen);
	return 0;
}

int config_parse_control(json_object *ctl, struct uacce_config *c, const char *origin,
			 char *err, size_t errlen)
{
	static const char *const keys[] = { "admin_group", NULL };
	json_object *v;
	int r;

	if (!json_object_is_type(ctl, json_type_object))
		return config_fail(err, errlen, origin, "control: must be an object");
	r = config_check_keys(ctl, "control", keys, origin, err, errlen);
	if (r)
		return r;
	if (!config_get(ctl, "admin_group", &v))
		return 0;
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (strlen(s) < sizeof(c->admin_group) && config_group_id(s, &c->admin_gid) == 0) {
			snprintf(c->admin_group, sizeof(c->admin_group), "%s", s);
			c->admin_group_set = true;
			return 0;
		}
		return config_fail(err, errlen, origin, "control.admin_group: no such group \"%s\"",
				   s);
	}
	return config_fail(err, errlen, origin, "control.admin_group: must be a group name or gid");
}

/* --- merging -------------------------------------------------------------------- */

static int canonical(json_object *quotas, const char *what, bool users)
{
	json_object *obj, *fresh;

	if (!json_object_object_get_ex(quotas, what, &obj) ||
	    !json_object_is_type(obj, json_type_object))
		return 0;
	fresh = json_object_new_object();
	if (!fresh)
		return -ENOMEM;
	json_object_object_foreach(obj, key, val) {
		char id[16];
		uint32_t n;
		int r = users ? config_user_id(key, &n) : config_group_id(key, &n);

		if (r)
			snprintf(id, sizeof(id), "%.15s", key);	/* checked before: not reached */
		else
			snprintf(id, sizeof(id), "%u", (unsigned)n);
		if (json_object_object_add(fresh, id, json_object_get(val)) < 0) {
			json_object_put(fresh);
			return -ENOMEM;
		}
	}
	return json_object_object_add(quotas, what, fresh) < 0 ? -ENOMEM : 0;
}

int config_canonical_ids(json_object *root)
{
	json_object *q;
	int r;

	if (!json_object_object_get_ex(root, "quotas", &q) ||
	    !json_object_is_type(q, json_type_object))
		return 0;
	r = canonical(q, "users", true);
	return r ? r : canonical(q, "groups", false);
}
