/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfg_access.c - the backend API's view of a device entry (backend.h):
 * a backend reads its own keys by name; that the entry is a json-c object
 * stays the configuration module's business.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>

#include "backend.h"

static int get(const struct uacce_dev_cfg *cfg, const char *key, json_type type,
	       json_object **v)
{
	if (!cfg->entry || !json_object_object_get_ex(cfg->entry, key, v) || !*v)
		return -ENOENT;
	return json_object_is_type(*v, type) ? 0 : -EINVAL;
}

int uacce_dev_cfg_string(const struct uacce_dev_cfg *cfg, const char *key, const char **out)
{
	json_object *v;
	int err = get(cfg, key, json_type_string, &v);

	if (!err)
		*out = json_object_get_string(v);
	return err;
}

int uacce_dev_cfg_int(const struct uacce_dev_cfg *cfg, const char *key, int64_t *out)
{
	json_object *v;
	int err = get(cfg, key, json_type_int, &v);

	if (!err)
		*out = json_object_get_int64(v);
	return err;
}

int uacce_node_name(const struct uacce_dev_cfg *cfg, int id, char *buf, size_t len)
{
	int n;

	if (cfg->node_prefix)
		n = snprintf(buf, len, "%s-%d", cfg->node_prefix, id);
	else if (cfg->abi == UACCE_ABI_MAINLINE)
		n = snprintf(buf, len, "%s-%d", cfg->name, id);
	else
		n = snprintf(buf, len, "uacce-%s-%d", cfg->name, id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
