/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config_kernel.c - the "kernel" section of uacced.json: kernel character
 * devices (uacce class devices by name or pattern, or nodes by path) that
 * uacced gates with its policy instead of publishing (kgate.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "config_internal.h"

#define MAX_NAME 63
#define MAX_PATH 200

static int parse_one(json_object *e, int i, struct uacce_kernel_cfg *k, const char *origin,
		     char *err, size_t errlen)
{
	static const char *const keys[] = { "device", "node", NULL };
	json_object *dv = NULL, *nv = NULL;
	char path[32];
	int r;

	snprintf(path, sizeof(path), "kernel[%d]", i);
	if (!json_object_is_type(e, json_type_object))
		return config_fail(err, errlen, origin,
				   "%s: must be an object ({\"device\": \"hisi_zip-*\"} or "
				   "{\"node\": \"/dev/...\"})", path);
	r = config_check_keys(e, path, keys, origin, err, errlen);
	if (r)
		return r;
	config_get(e, "device", &dv);
	config_get(e, "node", &nv);
	if (!dv == !nv)
		return config_fail(err, errlen, origin,
				   "%s: needs exactly one of \"device\" (a uacce class device "
				   "name or pattern) and \"node\" (a character device path)", path);
	memset(k, 0, sizeof(*k));
	if (dv) {
		const char *s = json_object_get_string(dv);

		if (!json_object_is_type(dv, json_type_string) || !*s || strlen(s) > MAX_NAME ||
		    strpbrk(s, "/ \t\n") || s[0] == '.')
			return config_fail(err, errlen, origin,
					   "%s.device: must be a device name or glob pattern "
					   "(1-%d characters, no '/' or blanks, not starting with '.')",
					   path, MAX_NAME);
		k->device = s;
	} else {
		const char *s = json_object_get_string(nv);

		if (!json_object_is_type(nv, json_type_string) || s[0] != '/' ||
		    strlen(s) > MAX_PATH || strpbrk(s, " \t\n") || !s[strcspn(s, "/") + 1] ||
		    s[strlen(s) - 1] == '/')
			return config_fail(err, errlen, origin,
					   "%s.node: must be the absolute path of a character "
					   "device node (at most %d characters, no blanks)", path,
					   MAX_PATH);
		k->node = s;
	}
	return 0;
}

int config_parse_kernel(json_object *v, struct uacce_config *c, const char *origin, char *err,
			size_t errlen)
{
	size_t n;
	int r;

	if (!json_object_is_type(v, json_type_array))
		return config_fail(err, errlen, origin, "kernel: must be an array of entries");
	n = json_object_array_length(v);
	if (n > CONFIG_MAX_KERNEL)
		return config_fail(err, errlen, origin, "kernel: more than %d entries",
				   CONFIG_MAX_KERNEL);
	for (size_t i = 0; i < n; i++) {
		r = parse_one(json_object_array_get_idx(v, i), (int)i, &c->kernel[i], origin, err,
			      errlen);
		if (r)
			return r;
		for (size_t j = 0; j < i; j++) {
			const struct uacce_kernel_cfg *a = &c->kernel[j], *b = &c->kernel[i];

			if ((a->device && b->device && strcmp(a->device, b->device) == 0) ||
			    (a->node && b->node && strcmp(a->node, b->node) == 0))
				return config_fail(err, errlen, origin,
						   "kernel[%zu]: the same as kernel[%zu]", i, j);
		}
	}
	c->nkernel = (int)n;
	return 0;
}
