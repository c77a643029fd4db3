/* SPDX-License-Identifier: GPL-2.0-or-later */
/* registry.c - the backends the daemon can drive: the one place naming them */
#include <string.h>

#include "backend.h"

extern const struct uacce_backend_ops soft_backend_ops, vfio_backend_ops;

static const struct uacce_backend_ops *const backends[] = {
	&soft_backend_ops,
	&vfio_backend_ops,
};

const struct uacce_backend_ops *uacce_backend_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const struct uacce_backend_ops *uacce_backend_nth(size_t i)
{
	return i < sizeof(backends) / sizeof(backends[0]) ? backends[i] : NULL;
}
