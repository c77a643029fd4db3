/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio.c - the "vfio" backend's ops table.  A device entry names one PCI
 * function ("pci": "0000:00:03.0") bound to vfio-pci; the function's
 * vendor:device picks the model that drives it.  The daemon registers the
 * device while the function is there and bound (hw_present), learns of
 * changes from kernel uevents (hw_uevent) and lets the function go when
 * the kernel asks for it back through VFIO's request interrupt
 * (hw_release_fd): unbinding or unplugging never waits for clients.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "soft.h"
#include "vfio.h"

static const struct vfio_model *const models[] = {
	&vfio_model_edu,
};

struct vfio_dev {
	struct uacce_hwdev hw;		/* the core's handle */
	struct vfio_pci pci;
	const struct vfio_model *model;
	void *priv;
	struct uacce_hwdev *soft;	/* the soft device serving the queues */
	int req_efd;			/* VFIO request interrupt, -1: none */
};

static const struct vfio_model *find_model(uint16_t vendor, uint16_t device)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (models[i]->id->vendor == vendor && models[i]->id->device == device)
			return models[i];
	return NULL;
}

static void supported(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]) && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%04x:%04x (%s)", i ? ", " : "",
				      models[i]->id->vendor, models[i]->id->device, models[i]->id->desc);
}

/*
 * Is cfg's function there, a model we drive, bound to vfio-pci with its
 * group node?  0 with its address and model, or -errno with why.
 */
static int probe(const struct uacce_dev_cfg *cfg, char bdf[VFIO_BDF_LEN],
		 const struct vfio_model **model, char *why, size_t len)
{
	struct vfio_pci_sysfs s;
	char sup[160], node[32];
	const struct vfio_model *m;
	int err = vfio_cfg_bdf(cfg, bdf, why, len);

	if (err)
		return err;
	err = vfio_pci_sysfs_read(bdf, &s);
	if (err == -ENODEV) {
		snprintf(why, len, "no PCI function %s", bdf);
		return err;
	}
	if (err) {
		snprintf(why, len, "%s: sysfs: %s", bdf, strerror(-err));
		return err;
	}
	m = find_model(s.vendor, s.device);
	if (!m) {
		supported(sup, sizeof(sup));
		snprintf(why, len, "%s is %04x:%04x, not a device the vfio backend drives (%s)",
			 bdf, s.vendor, s.device, sup);
		return -ENOTSUP;
	}
	if (!vfio_model_api_ok(m->id, cfg->api)) {
		snprintf(why, len, "%s (%s) offers api %s, not %s", bdf, m->id->desc, m->id->apis,
			 cfg->api);
		return -ENOTSUP;
	}
	if (strcmp(s.driver, "vfio-pci") != 0) {
		if (s.driver[0])
			snprintf(why, len, "%s is bound to driver %s, not vfio-pci", bdf, s.driver);
		else
			snprintf(why, len, "%s has no driver (bind it to vfio-pci)", bdf);
		return -ENODEV;
	}
	snprintf(node, sizeof(node), "/dev/vfio/%d", s.group_id);
	if (s.group_id < 0 || access(node, F_OK) != 0) {
		snprintf(why, len, "%s: no VFIO group node %s yet", bdf, s.group_id < 0 ? "" : node);
		return -ENODEV;
	}
	*model = m;
	return 0;
}

static int vfio_hw_present(const struct uacce_dev_cfg *cfg, char *why, size_t len)
{
	const struct vfio_model *m;
	char bdf[VFIO_BDF_LEN];

	return probe(cfg, bdf, &m, why, len);
}

static bool vfio_hw_uevent(const struct uacce_dev_cfg *cfg, const char *subsystem,
			   const char *sysname)
{
	char bdf[VFIO_BDF_LEN], why[128];

	return subsystem && sysname && strcmp(subsystem, "pci") == 0 &&
	       vfio_cfg_bdf(cfg, bdf, why, sizeof(why)) == 0 && strcmp(sysname, bdf) == 0;
}

static void vfio_dev_free(struct vfio_dev *vd)
{
	if (vd->req_efd >= 0) {
		vfio_pci_irq_disable(&vd->pci, VFIO_PCI_REQ_IRQ_INDEX);
		close(vd->req_efd);
	}
	vfio_pci_close(&vd->pci);
	free(vd);
}

static int vfio_dev_create(const struct uacce_dev_cfg *cfg, struct uacce_hwdev_info *info,
			   struct uacce_hwdev **out)
{
	const struct vfio_model *model;
	struct vfio_dev *vd;
	char bdf[VFIO_BDF_LEN], why[320];
	int err;

	err = probe(cfg, bdf, &model, why, sizeof(why));
	if (err)
		goto fail;
	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return -ENOMEM;
	vd->hw.ops = &vfio_backend_ops;
	vd->req_efd = -1;
	vd->model = model;
	err = vfio_pci_open(bdf, &vd->pci, why, sizeof(why));
	if (err) {
		free(vd);
		goto fail;
	}
	err = vfio_pci_irq_eventfd(&vd->pci, VFIO_PCI_REQ_IRQ_INDEX, &vd->req_efd);
	if (err) {
		vd->req_efd = -1;
		ulog_ctx(LOG_WARNING, &(struct ulog_ctx){ .device = cfg->node_name },
			 "%s: %s has no VFIO request interrupt (%s): unbinding it waits until "
			 "the daemon stops", cfg->node_name, bdf, strerror(-err));
	}
	err = vd->model->create(&vd->pci, cfg, info, &vd->priv, &vd->soft, why, sizeof(why));
	if (err) {
		vfio_dev_free(vd);
		goto fail;
	}
	/* the class directory's "device" link: the PCI function itself */
	snprintf(info->sysfs_device, sizeof(info->sysfs_device), "/sys/bus/pci/devices/%s", bdf);
	*out = &vd->hw;
	return 0;
fail:
	ulog_ctx(LOG_ERR, &(struct ulog_ctx){ .device = cfg->node_name }, "%s: %s",
		 cfg->node_name ? cfg->node_name : cfg->name, why);
	return err;
}

static struct vfio_dev *vfio_dev_of(struct uacce_hwdev *hd)
{
	return container_of(hd, struct vfio_dev, hw);
}

static void vfio_dev_destroy(struct uacce_hwdev *hd)
{
	struct vfio_dev *vd;

	if (!hd)
		return;
	vd = vfio_dev_of(hd);
	soft_backend_ops.dev_destroy(vd->soft);
	vd->model->destroy(vd->priv);
	vfio_dev_free(vd);
}

static int vfio_hw_release_fd(struct uacce_hwdev *hd)
{
	return vfio_dev_of(hd)->req_efd;
}

/* the queues: the model's soft device serves them (soft_queue_ops) */
static int vfio_get_queue(struct uacce_hwdev *hd, struct uacce_queue *q, struct uacce_hwq **out)
{
	return soft_get_queue(vfio_dev_of(hd)->soft, q, out);
}

static const struct uacce_backend_queue_ops vfio_queue_ops = {
	.get_queue = vfio_get_queue,
	.put_queue = soft_put_queue,
	.start_queue = soft_start_queue,
	.stop_queue = soft_stop_queue,
	.ioctl = soft_ioctl,
	.is_updated = soft_is_updated,
	.cancel = soft_cancel,
};

static const struct uacce_backend_hw_ops vfio_hw_ops = {
	.subsystem = "pci",
	.present = vfio_hw_present,
	.uevent = vfio_hw_uevent,
	.release_fd = vfio_hw_release_fd,
};

const struct uacce_backend_ops vfio_backend_ops = {
	.name = "vfio",
	.cfg = &vfio_cfg_ops,
	.dev_create = vfio_dev_create,
	.dev_destroy = vfio_dev_destroy,
	.queue = &vfio_queue_ops,
	.hw = &vfio_hw_ops,
};
