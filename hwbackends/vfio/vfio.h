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

	/*
	 * Live restart (all four, or none: the device is then set up afresh
	 * in the successor).  save: the model's state of the device into buf
	 * (its version byte first) and its fds (at most VFIO_MODEL_FDS, the
	 * model keeps owning them): the bytes written or -errno; nothing
	 * changes.  check: could adopt take those bytes and that many fds?
	 * 0 or -EINVAL with why; no hardware touched.  adopt: create() for
	 * a device whose predecessor saved buf: no reset, no register write;
	 * the fds it keeps it sets to -1.  adopt_done: every queue of the
	 * state was adopted (the soft engine's adopt_queue) or not: drop
	 * what the others held (their IOMMU mappings).
	 */
	ssize_t (*save)(void *priv, uint8_t *buf, size_t len, int *fds, int *nfds);
	int (*check)(const uint8_t *buf, size_t blen, int nfds, char *why, size_t len);
	int (*adopt)(struct vfio_pci *pci, const struct uacce_dev_cfg *cfg, const uint8_t *buf,
		     size_t blen, int *fds, int nfds, struct uacce_hwdev_info *info, void **priv,
		     struct uacce_hwdev **soft, char *why, size_t len);
	void (*adopt_done)(void *priv);
};

#define VFIO_MODEL_FDS	4

/*
 * The device state of the vfio backend (backend.h, uacce_dev_state):
 * blob VFIO_STATE_V1, then the model's bytes; fds container, group,
 * device, request eventfd (-1: none), then the model's.  vfio_state_check
 * is its dev_check (no hardware touched).
 */
#define VFIO_STATE_V1	1
int vfio_state_check(const struct uacce_dev_cfg *cfg, const struct uacce_dev_state *st, char *why,
		     size_t len);

extern const struct vfio_model vfio_model_edu;

#endif
