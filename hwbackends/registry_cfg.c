/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry_cfg.c - the configuration part of every backend, by name: what
 * checking an entry needs, without the devices (registry.c has those; a
 * backend's ops->cfg is the same table).
 */
#include <string.h>

#include "backend.h"

extern const struct uacce_backend_cfg_ops soft_cfg_ops, vfio_cfg_ops;

static const struct {
	const char *name;
	const struct uacce_backend_cfg_ops *ops;
} backends[] = {
	{ "soft", &soft_cfg_ops },
	{ "vfio", &vfio_cfg_ops },
};

const struct uacce_backend_cfg_ops *uacce_backend_cfg_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i].name, name) == 0)
			return backends[i].ops;
	return NULL;
}
