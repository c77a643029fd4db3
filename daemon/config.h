/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.h - uacced.json: node permissions and devices.  Unknown keys,
 * wrong types and bad values are rejected with the key path and reason.
 */
#ifndef UACCED_CONFIG_H
#define UACCED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "backend.h"

#define CONFIG_DEFAULT_PATH "/etc/uacce/uacced.json"
#define CONFIG_MAX_DEVICES 64

struct uacce_config {
	char origin[256];		/* file name, or "(embedded default)" */
	char group[64];			/* node group name */
	mode_t mode;			/* node mode */
	int ndev;
	struct uacce_dev_cfg devs[CONFIG_MAX_DEVICES];
	struct json_object *root;	/* owns the strings devs point to */
};

/* The embedded default configuration, as JSON text. */
extern const char config_embedded_default[];

int config_parse(const char *text, const char *origin, struct uacce_config *c, char *err,
		 size_t errlen);
/*
 * Load `path`; when it does not exist and `explicit_path` is false, the
 * embedded default.  -errno, with a message in err.
 */
int config_load(const char *path, bool explicit_path, struct uacce_config *c, char *err,
		size_t errlen);
void config_free(struct uacce_config *c);

#endif
