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
#include <sys/ioctl.h>
#include <sys/stat.h>
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

/* --- live restart: the device state (backend.h, uacce_backend_state_ops) --- */

/*
 * Blob: VFIO_STATE_V1, flags, the model's vendor and device (16-bit LE
 * each), the IOMMU group (32-bit LE), the BDF (13 bytes, NUL-padded),
 * then the model's bytes.  Fds: VFIO_FD_*, then the model's.
 */
#define VFIO_ST_REQ		0x1	/* flags: a request eventfd */
#define VFIO_ST_HDR		23
enum { VFIO_FD_CONTAINER, VFIO_FD_GROUP, VFIO_FD_DEVICE, VFIO_FD_REQ, VFIO_FD_MODEL };

/*
 * Is fd the VFIO fd `kind` (VFIO_FD_*) of IOMMU group `group`?  Asked of
 * the kernel with queries that change nothing (paths are no proof: in
 * another mount namespace, systemd's private /dev, /proc/self/fd shows
 * "/vfio/vfio").  got: what /proc/self/fd says, for the message.
 */
static int fd_is(int kind, int fd, int group, char *got, size_t len)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct stat st, node;
	char path[40];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = fd < 0 ? -1 : readlink(path, got, len - 1);
	if (n < 0) {
		snprintf(got, len, "%s", fd < 0 ? "missing" : strerror(errno));
		return -EBADF;
	}
	got[n] = 0;
	switch (kind) {
	case VFIO_FD_CONTAINER:
		return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
		       ioctl(fd, VFIO_GET_API_VERSION) == VFIO_API_VERSION ? 0 : -EBADF;
	case VFIO_FD_GROUP:
		snprintf(path, sizeof(path), "/dev/vfio/%d", group);
		if (fstat(fd, &st) || !S_ISCHR(st.st_mode) ||
		    ioctl(fd, VFIO_GROUP_GET_STATUS, &gs) < 0 ||
		    !(gs.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
			return -EBADF;
		/* the group's node, where this namespace has it, is the same */
		return stat(path, &node) == 0 && node.st_rdev != st.st_rdev ? -EBADF : 0;
	case VFIO_FD_DEVICE:
		return ioctl(fd, VFIO_DEVICE_GET_INFO, &di) == 0 &&
		       (di.flags & VFIO_DEVICE_FLAGS_PCI) ? 0 : -EBADF;
	default:
		return strcmp(got, "anon_inode:[eventfd]") == 0 ? 0 : -EBADF;
	}
}

int vfio_state_check(const struct uacce_dev_cfg *cfg, const struct uacce_dev_state *st, char *why,
		     size_t len)
{
	static const char *const fd_names[] = { "container", "group", "device", "request eventfd" };
	const uint8_t *b = st->blob;
	const struct vfio_model *m;
	char bdf[VFIO_BDF_LEN], sbdf[VFIO_BDF_LEN], got[128];
	int err, group;

	if (st->len < VFIO_ST_HDR) {
		snprintf(why, len, "%s: the device state has %zu bytes, too few", cfg->node_name,
			 st->len);
		return -EINVAL;
	}
	if (b[0] != VFIO_STATE_V1) {
		snprintf(why, len, "%s: device state version %u, this uacced reads %d",
			 cfg->node_name, b[0], VFIO_STATE_V1);
		return -EINVAL;
	}
	err = vfio_cfg_bdf(cfg, bdf, why, len);
	if (err)
		return err;
	memcpy(sbdf, b + 10, VFIO_BDF_LEN);
	sbdf[VFIO_BDF_LEN - 1] = 0;
	if (strcmp(sbdf, bdf) != 0) {
		snprintf(why, len, "%s: the device state is of PCI function %s, the configuration "
			 "names %s", cfg->node_name, sbdf, bdf);
		return -EINVAL;
	}
	m = find_model((uint16_t)(b[2] | b[3] << 8), (uint16_t)(b[4] | b[5] << 8));
	if (!m || !m->adopt || !m->check) {
		snprintf(why, len, "%s: %s is %02x%02x:%02x%02x, a device this uacced cannot take "
			 "over", cfg->node_name, bdf, b[3], b[2], b[5], b[4]);
		return -EINVAL;
	}
	group = (int)((uint32_t)b[6] | (uint32_t)b[7] << 8 | (uint32_t)b[8] << 16 |
		      (uint32_t)b[9] << 24);
	for (int i = 0; i < VFIO_FD_MODEL; i++) {
		if (i == VFIO_FD_REQ && !(b[1] & VFIO_ST_REQ))
			continue;
		if (i >= st->nfds || fd_is(i, st->fds[i], group, got, sizeof(got))) {
			snprintf(why, len, "%s: the VFIO %s fd of %s (IOMMU group %d) is not in the "
				 "handover (%s)", cfg->node_name, fd_names[i], bdf, group,
				 i >= st->nfds ? "missing" : got);
			return -EBADF;
		}
	}
	err = m->check(b + VFIO_ST_HDR, st->len - VFIO_ST_HDR, st->nfds - VFIO_FD_MODEL, got,
		       sizeof(got));
	if (err)
		snprintf(why, len, "%s: %s", cfg->node_name, got);
	return err;
}

/* core lock held; the queues are suspended: nothing moves */
static int vfio_dev_save(struct uacce_hwdev *hd, struct uacce_dev_state *st)
{
	struct vfio_dev *vd = vfio_dev_of(hd);
	uint8_t *b = st->blob;
	int nm = 0;
	ssize_t n;

	if (!vd->model->save)
		return -EOPNOTSUPP;
	memset(b, 0, VFIO_ST_HDR);
	b[0] = VFIO_STATE_V1;
	b[1] = vd->req_efd >= 0 ? VFIO_ST_REQ : 0;
	b[2] = (uint8_t)vd->model->id->vendor;
	b[3] = (uint8_t)(vd->model->id->vendor >> 8);
	b[4] = (uint8_t)vd->model->id->device;
	b[5] = (uint8_t)(vd->model->id->device >> 8);
	for (int i = 0; i < 4; i++)
		b[6 + i] = (uint8_t)((uint32_t)vd->pci.group_id >> (8 * i));
	memcpy(b + 10, vd->pci.bdf, VFIO_BDF_LEN);
	st->fds[VFIO_FD_CONTAINER] = vd->pci.container;
	st->fds[VFIO_FD_GROUP] = vd->pci.group;
	st->fds[VFIO_FD_DEVICE] = vd->pci.device;
	st->fds[VFIO_FD_REQ] = vd->req_efd;
	n = vd->model->save(vd->priv, b + VFIO_ST_HDR, UACCE_DEV_STATE_MAX - VFIO_ST_HDR,
			    st->fds + VFIO_FD_MODEL, &nm);
	if (n < 0)
		return (int)n;
	st->len = VFIO_ST_HDR + (size_t)n;
	st->nfds = VFIO_FD_MODEL + nm;
	return 0;
}

static int vfio_dev_adopt(const struct uacce_dev_cfg *cfg, struct uacce_dev_state *st,
			  struct uacce_hwdev_info *info, struct uacce_hwdev **out)
{
	const uint8_t *b = st->blob;
	struct vfio_dev *vd;
	char bdf[VFIO_BDF_LEN], why[320];
	int err = vfio_state_check(cfg, st, why, sizeof(why));

	if (err)
		goto fail;
	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return -ENOMEM;
	vd->hw.ops = &vfio_backend_ops;
	vd->req_efd = -1;
	vd->model = find_model((uint16_t)(b[2] | b[3] << 8), (uint16_t)(b[4] | b[5] << 8));
	memcpy(bdf, b + 10, VFIO_BDF_LEN);
	bdf[VFIO_BDF_LEN - 1] = 0;
	err = vfio_pci_adopt(&vd->pci, bdf,
			     (int)((uint32_t)b[6] | (uint32_t)b[7] << 8 | (uint32_t)b[8] << 16 |
				   (uint32_t)b[9] << 24),
			     st->fds[VFIO_FD_CONTAINER], st->fds[VFIO_FD_GROUP],
			     st->fds[VFIO_FD_DEVICE], why, sizeof(why));
	if (!err)
		err = vd->model->adopt(&vd->pci, cfg, b + VFIO_ST_HDR, st->len - VFIO_ST_HDR,
				       st->fds + VFIO_FD_MODEL, st->nfds - VFIO_FD_MODEL, info,
				       &vd->priv, &vd->soft, why, sizeof(why));
	if (err) {
		/* the fds stay the caller's; only our BAR mapping goes */
		vd->pci.container = vd->pci.group = vd->pci.device = -1;
		vfio_pci_close(&vd->pci);
		free(vd);
		goto fail;
	}
	st->fds[VFIO_FD_CONTAINER] = st->fds[VFIO_FD_GROUP] = st->fds[VFIO_FD_DEVICE] = -1;
	if (b[1] & VFIO_ST_REQ) {
		vd->req_efd = st->fds[VFIO_FD_REQ];
		st->fds[VFIO_FD_REQ] = -1;
	}
	snprintf(info->sysfs_device, sizeof(info->sysfs_device), "/sys/bus/pci/devices/%s", bdf);
	*out = &vd->hw;
	return 0;
fail:
	ulog_ctx(LOG_ERR, &(struct ulog_ctx){ .device = cfg->node_name },
		 "%s: live restart: the device state cannot be taken: %s", cfg->node_name, why);
	return err;
}

static void vfio_dev_adopt_done(struct uacce_hwdev *hd)
{
	struct vfio_dev *vd = vfio_dev_of(hd);

	if (vd->model->adopt_done)
		vd->model->adopt_done(vd->priv);
}

/* the queues: the model's soft device serves them (soft_queue_ops) */
static int vfio_get_queue(struct uacce_hwdev *hd, struct uacce_queue *q, struct uacce_hwq **out)
{
	return soft_get_queue(vfio_dev_of(hd)->soft, q, out);
}

static int vfio_adopt_queue(struct uacce_hwdev *hd, struct uacce_queue *q, const void *blob,
			    size_t len, struct uacce_hwq **out)
{
	return soft_adopt_queue(vfio_dev_of(hd)->soft, q, blob, len, out);
}

/* after a crash of uacced: the device was set up afresh (edu.c: the engine's recover_queue) */
static int vfio_recover_queue(struct uacce_hwdev *hd, struct uacce_queue *q,
			      struct uacce_hwq **out)
{
	return soft_recover_queue(vfio_dev_of(hd)->soft, q, out);
}

static const struct uacce_backend_queue_ops vfio_queue_ops = {
	.get_queue = vfio_get_queue,
	.put_queue = soft_put_queue,
	.start_queue = soft_start_queue,
	.stop_queue = soft_stop_queue,
	.ioctl = soft_ioctl,
	.is_updated = soft_is_updated,
	.cancel = soft_cancel,
	/* the soft queue's blob carries the engine's (edu.c: the IOMMU mapping) */
	.suspend_queue = soft_suspend_queue,
	.resume_queue = soft_resume_queue,
	.save_queue = soft_save_queue,
	.adopt_queue = vfio_adopt_queue,
	.recover_queue = vfio_recover_queue,
};

static const struct uacce_backend_state_ops vfio_state_ops = {
	.dev_save = vfio_dev_save,
	.dev_check = vfio_state_check,
	.dev_adopt = vfio_dev_adopt,
	.dev_adopt_done = vfio_dev_adopt_done,
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
	.state = &vfio_state_ops,
};
