/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio.h - the vfio backend: PCI accelerators bound to vfio-pci, driven
 * from the daemon.  A model (edu.c, ...) knows one kind of hardware; it
 * serves the queues with a soft personality's ring protocol
 * (hwbackends/soft) whose copies its DMA engine performs.
 */
#ifndef UACCED_VFIO_H
#define UACCED_VFIO_H

#include "backend.h"
#include "vfio_pci.h"

/* what a model is, for checking entries (vfio_cfg.c) */
struct vfio_model_id {
	uint16_t vendor, device;
	const char *desc;		/* "QEMU edu" */
	const char *apis;		/* what "api" may be: one, for now */
};

extern const struct vfio_model_id vfio_id_edu;
extern const struct vfio_model_id *const vfio_model_ids[];
extern const size_t vfio_nmodel_ids;
extern const struct uacce_backend_cfg_ops vfio_cfg_ops;
extern const struct uacce_backend_ops vfio_backend_ops;

/* the entry's "pci" value, normalised; -EINVAL with why */
int vfio_cfg_bdf(const struct uacce_dev_cfg *cfg, char bdf[VFIO_BDF_LEN], char *why,
		 size_t len);
bool vfio_model_api_ok(const struct vfio_model_id *id, const char *api);

/* a model: how the vfio backend drives one kind of device */
struct vfio_model {
	const struct vfio_model_id *id;
	/*
	 * Set the device up (pci is open; it outlives the model's state) and
	 * create the soft device serving its queues in *soft.  -errno with
	 * the reason in why.
	 */
	int (*create)(struct vfio_pci *pci, const struct uacce_dev_cfg *cfg,
		      struct uacce_hwdev_info *info, void **priv, struct uacce_hwdev **soft,
		      char *why, size_t len);
	/* every queue and the soft device are gone */
	void (*destroy)(void *priv);
};

extern const struct vfio_model vfio_model_edu;

#endif
