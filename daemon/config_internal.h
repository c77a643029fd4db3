/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config_internal.h - shared by config.c and config_quota.c */
#ifndef UACCED_CONFIG_INTERNAL_H
#define UACCED_CONFIG_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "uacced_config.h"

/* "<origin>: <message>" into err; returns -EINVAL */
int config_fail(char *err, size_t errlen, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* reject keys of obj not in `allowed`; path names obj ("" = the top level) */
int config_check_keys(json_object *obj, const char *path, const char *const *allowed,
		      const char *origin, char *err, size_t errlen);
/* obj.key, when present and not null (null means absent: see merging) */
bool config_get(json_object *obj, const char *key, json_object **v);

/* quotas.* and control.* (config_quota.c) */
int config_parse_quotas(json_object *q, struct uacce_config *c, const char *origin, char *err,
			size_t errlen);
int config_parse_control(json_object *ctl, struct uacce_config *c, const char *origin,
			 char *err, size_t errlen);
/* "kernel" (config_kernel.c) */
int config_parse_kernel(json_object *k, struct uacce_config *c, const char *origin, char *err,
			size_t errlen);
/* a user (name or decimal uid) / group key as a number; -ENOENT if unknown */
int config_user_id(const char *key, uid_t *out);
int config_group_id(const char *key, gid_t *out);
/*
 * Rewrite the keys of quotas.users and quotas.groups of a checked document
 * as decimal ids, so that "alice" in one file and "1001" in a later one
 * merge as the same user.  -ENOMEM.
 */
int config_canonical_ids(json_object *root);

#endif
