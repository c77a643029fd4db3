/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio_cfg.c - the vfio backend's configuration part: which entries it
 * takes and the models it knows, without touching hardware (uaccectl
 * check-config links this alone).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vfio.h"

const struct vfio_model_id vfio_id_edu = {
	.vendor = 0x1234,
	.device = 0x11e8,
	.desc = "QEMU edu",
	.apis = "dummy_v1",
};

const struct vfio_model_id *const vfio_model_ids[] = { &vfio_id_edu };
const size_t vfio_nmodel_ids = sizeof(vfio_model_ids) / sizeof(vfio_model_ids[0]);

bool vfio_model_api_ok(const struct vfio_model_id *id, const char *api)
{
	return api && strcmp(id->apis, api) == 0;
}

int vfio_cfg_bdf(const struct uacce_dev_cfg *cfg, char bdf[VFIO_BDF_LEN], char *why, size_t len)
{
	const char *s;

	if (uacce_dev_cfg_string(cfg, "pci", &s)) {
		snprintf(why, len, "pci: required: the PCI function, e.g. \"0000:00:03.0\"");
		return -EINVAL;
	}
	if (vfio_bdf_parse(s, bdf)) {
		snprintf(why, len, "pci: \"%.40s\" is not a PCI address "
			 "(domain:bus:slot.function, e.g. \"0000:00:03.0\")", s);
		return -EINVAL;
	}
	return 0;
}

static const char *const vfio_keys[] = { "pci", NULL };

static int vfio_check(const struct uacce_dev_cfg *cfg, char *why, size_t len)
{
	char bdf[VFIO_BDF_LEN];
	bool api_known = false;
	int err = vfio_cfg_bdf(cfg, bdf, why, len);

	if (err)
		return err;
	if (cfg->sva) {
		snprintf(why, len, "sva: the vfio backend has no shared virtual addressing "
			 "(the device sees only the queue's SS region through the IOMMU)");
		return -EINVAL;
	}
	for (size_t i = 0; i < vfio_nmodel_ids; i++)
		api_known |= vfio_model_api_ok(vfio_model_ids[i], cfg->api);
	if (!api_known) {
		snprintf(why, len, "api: \"%s\" is not one the vfio backend offers (%s)", cfg->api,
			 vfio_id_edu.apis);
		return -EINVAL;
	}
	return 0;
}

const struct uacce_backend_cfg_ops vfio_cfg_ops = {
	.extra_keys = vfio_keys,
	.check = vfio_check,
};
