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

struct vfio_model {
	uint16_t vendor, device;
	const char *desc;		/* "QEMU edu" */
	const char *apis;		/* what "api" may be, for messages */
	bool (*api_ok)(const char *api);
	/*
	 * Set the device up (pci is open; it outlives the model's state) and
	 * create the soft device serving its queues in *soft.  -errno with
	 * the reason in why.
	 */
	int (*create)(struct vfio_pci *pci, const struct uacce_dev_cfg *cfg,
		      struct uacce_hwdev_info *info, void **priv, void **soft, char *why,
		      size_t len);
	/* every queue and the soft device are gone */
	void (*destroy)(void *priv);
};

extern const struct vfio_model vfio_model_edu;

#endif
