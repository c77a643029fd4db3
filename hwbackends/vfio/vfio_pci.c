/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio_pci.h"

#define SYSFS_PCI "/sys/bus/pci/devices"

int vfio_bdf_parse(const char *in, char out[VFIO_BDF_LEN])
{
	/* DDDD:BB:SS.F: hex domain, bus, slot (< 0x20), function 0-7 */
	static const char shape[] = "xxxx:xx:xx.f";
	unsigned slot;

	if (!in || strlen(in) != sizeof(shape) - 1)
		return -EINVAL;
	for (size_t i = 0; shape[i]; i++) {
		char c = in[i];

		if (shape[i] == 'x' ? !isxdigit((unsigned char)c) :
		    shape[i] == 'f' ? (c < '0' || c > '7') : c != shape[i])
			return -EINVAL;
		out[i] = (char)tolower((unsigned char)c);
	}
	out[sizeof(shape) - 1] = '\0';
	if (sscanf(out + 8, "%2x", &slot) != 1 || slot > 0x1f)
		return -EINVAL;
	return 0;
}

static int read_hex(const char *bdf, const char *attr, unsigned *val)
{
	char path[128], buf[32];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/%s", bdf, attr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) && sscanf(buf, "%x", val) == 1;
	fclose(f);
	return ok ? 0 : -EIO;
}

/* basename of the symlink <fn>/<attr>, "" when absent */
static void link_name(const char *bdf, const char *attr, char *out, size_t len)
{
	char path[128], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/%s", bdf, attr);
	n = readlink(path, target, sizeof(target) - 1);
	out[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	n = (ssize_t)strnlen(base, len - 1);
	memcpy(out, base, (size_t)n);
	out[n] = '\0';
}

int vfio_pci_sysfs_read(const char *bdf, struct vfio_pci_sysfs *s)
{
	unsigned vendor, device;
	char group[32];
	int err;

	memset(s, 0, sizeof(*s));
	s->group_id = -1;
	err = read_hex(bdf, "vendor", &vendor);
	if (!err)
		err = read_hex(bdf, "device", &device);
	if (err)
		return err == -ENOENT ? -ENODEV : err;
	s->vendor = (uint16_t)vendor;
	s->device = (uint16_t)device;
	link_name(bdf, "driver", s->driver, sizeof(s->driver));
	link_name(bdf, "iommu_group", group, sizeof(group));
	if (group[0])
		s->group_id = atoi(group);
	return 0;
}

static int fail(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(why, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		snprintf(why + n, len - (size_t)n, ": %s", strerror(-err));
	return err;
}

int vfio_pci_open(const char *bdf, struct vfio_pci *v, char *why, size_t len)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ci = { .argsz = sizeof(ci),
				       .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_pci_sysfs s;
	char path[64];
	int err, iommu;

	memset(v, 0, sizeof(*v));
	v->container = v->group = v->device = -1;
	snprintf(v->bdf, sizeof(v->bdf), "%s", bdf);
	err = vfio_pci_sysfs_read(bdf, &s);
	if (err)
		return fail(why, len, err, "PCI function %s", bdf);
	if (s.group_id < 0)
		return fail(why, len, -ENODEV, "%s has no IOMMU group (boot with intel_iommu=on "
			    "or amd_iommu=on)", bdf);
	v->group_id = s.group_id;
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return fail(why, len, -errno, "/dev/vfio/vfio (modprobe vfio-pci)");
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		err = fail(why, len, -ENOTSUP, "/dev/vfio/vfio: unknown VFIO API version");
		goto out;
	}
	iommu = ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1 ?
		VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU;
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, iommu) != 1) {
		err = fail(why, len, -ENOTSUP, "/dev/vfio/vfio: no type 1 IOMMU");
		goto out;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", v->group_id);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		err = fail(why, len, -errno, "%s (IOMMU group of %s)%s", path, bdf,
			   errno == EBUSY ? ", in use by another program" : "");
		goto out;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs) < 0) {
		err = fail(why, len, -errno, "%s: VFIO_GROUP_GET_STATUS", path);
		goto out;
	}
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		err = fail(why, len, -EBUSY, "IOMMU group %d is not viable (every device in it "
			   "must be bound to vfio-pci or have no driver)", v->group_id);
		goto out;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, iommu) < 0) {
		err = fail(why, len, -errno, "%s: attaching the IOMMU", path);
		goto out;
	}
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (v->device < 0) {
		err = fail(why, len, -errno, "VFIO_GROUP_GET_DEVICE_FD %s", bdf);
		goto out;
	}
	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &di) < 0 || !(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ci) < 0) {
		err = fail(why, len, -ENODEV, "%s: not a VFIO PCI device", bdf);
		goto out;
	}
	v->cfg_off = ci.offset;
	return 0;
out:
	vfio_pci_close(v);
	return err;
}

int vfio_pci_adopt(struct vfio_pci *v, const char *bdf, int group_id, int container, int group,
		   int device, char *why, size_t len)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ci = { .argsz = sizeof(ci),
				       .index = VFIO_PCI_CONFIG_REGION_INDEX };

	memset(v, 0, sizeof(*v));
	v->container = v->group = v->device = -1;
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) < 0)
		return fail(why, len, -errno, "IOMMU group %d: VFIO_GROUP_GET_STATUS", group_id);
	if (!(gs.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
		return fail(why, len, -ENODEV, "IOMMU group %d has no container any more", group_id);
	if (ioctl(device, VFIO_DEVICE_GET_INFO, &di) < 0 || !(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &ci) < 0)
		return fail(why, len, -ENODEV, "%s: not a VFIO PCI device", bdf);
	snprintf(v->bdf, sizeof(v->bdf), "%s", bdf);
	v->group_id = group_id;
	v->container = container;
	v->group = group;
	v->device = device;
	v->cfg_off = ci.offset;
	return 0;
}

void vfio_pci_close(struct vfio_pci *v)
{
	if (v->bar)
		munmap(v->bar, v->bar_size);
	v->bar = NULL;
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->device = v->group = v->container = -1;
}

int vfio_pci_map_bar(struct vfio_pci *v, unsigned index, char *why, size_t len)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };
	void *p;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return fail(why, len, -errno, "%s: BAR%u", v->bdf, index);
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP) || !ri.size)
		return fail(why, len, -ENOTSUP, "%s: BAR%u cannot be mapped", v->bdf, index);
	p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device, (off_t)ri.offset);
	if (p == MAP_FAILED)
		return fail(why, len, -errno, "%s: mmap BAR%u", v->bdf, index);
	v->bar = p;
	v->bar_size = ri.size;
	return 0;
}

static int command_update(struct vfio_pci *v, uint16_t set, uint16_t clear)
{
	uint16_t cmd;

	if (pread(v->device, &cmd, sizeof(cmd), (off_t)(v->cfg_off + PCI_COMMAND)) != sizeof(cmd))
		return -EIO;
	cmd = (uint16_t)((cmd | set) & ~clear);
	if (pwrite(v->device, &cmd, sizeof(cmd), (off_t)(v->cfg_off + PCI_COMMAND)) != sizeof(cmd))
		return -EIO;
	return 0;
}

int vfio_pci_command_set(struct vfio_pci *v, uint16_t bits) { return command_update(v, bits, 0); }
int vfio_pci_command_clear(struct vfio_pci *v, uint16_t bits) { return command_update(v, 0, bits); }

int vfio_pci_irq_eventfd(struct vfio_pci *v, unsigned index, int *efd)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = index };
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)(void *)buf;
	int32_t fd;

	if (ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 || ii.count < 1 ||
	    !(ii.flags & VFIO_IRQ_INFO_EVENTFD))
		return -ENOTSUP;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	if (ioctl(v->device, VFIO_DEVICE_SET_IRQS, set) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*efd = fd;
	return 0;
}

void vfio_pci_irq_disable(struct vfio_pci *v, unsigned index)
{
	struct vfio_irq_set set = { .argsz = sizeof(set), .index = index, .start = 0, .count = 0,
				    .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER };

	ioctl(v->device, VFIO_DEVICE_SET_IRQS, &set);
}

int vfio_pci_iova_ranges(struct vfio_pci *v, struct vfio_pci_iova_range **out, int *n)
{
	struct vfio_iommu_type1_info *info;
	size_t len = sizeof(*info);
	uint32_t off;
	int err = -ENOTSUP;

	*out = NULL;
	*n = 0;
	for (int pass = 0; pass < 2; pass++) {	/* the kernel says how big it is */
		info = calloc(1, len);
		if (!info)
			return -ENOMEM;
		info->argsz = (uint32_t)len;
		if (ioctl(v->container, VFIO_IOMMU_GET_INFO, info) < 0) {
			err = -errno;
			free(info);
			return err;
		}
		if (info->argsz <= len || pass == 1)
			break;
		len = info->argsz;
		free(info);
		info = NULL;
	}
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS) || len < sizeof(*info))
		goto out;
	/*
	 * The capability chain: offsets from the start of info, 0 ends it.
	 * The kernel packs the capabilities at 4-byte offsets: copy them out
	 * instead of pointing at their 8-byte members.
	 */
	for (off = info->cap_offset; off && off + sizeof(struct vfio_info_cap_header) <= len;) {
		struct vfio_iommu_type1_info_cap_iova_range c;
		const char *at = (const char *)info + off;
		struct vfio_info_cap_header h;

		memcpy(&h, at, sizeof(h));
		if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && off + sizeof(c) <= len) {
			memcpy(&c, at, sizeof(c));
			if (c.nr_iovas < 1 || c.nr_iovas > 4096 ||
			    off + sizeof(c) + c.nr_iovas * sizeof(struct vfio_iova_range) > len)
				break;
			*out = calloc(c.nr_iovas, sizeof(**out));
			if (!*out) {
				err = -ENOMEM;
				goto out;
			}
			for (uint32_t i = 0; i < c.nr_iovas; i++) {
				struct vfio_iova_range r;

				memcpy(&r, at + sizeof(c) + i * sizeof(r), sizeof(r));
				(*out)[i].start = r.start;
				(*out)[i].end = r.end;
			}
			*n = (int)c.nr_iovas;
			err = 0;
			break;
		}
		if (h.next <= off)	/* the chain only goes forward */
			break;
		off = h.next;
	}
out:
	free(info);
	return err;
}

int vfio_pci_dma_map(struct vfio_pci *v, void *vaddr, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uint64_t)(uintptr_t)vaddr, .iova = iova, .size = size,
	};

	return ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m) < 0 ? -errno : 0;
}

int vfio_pci_dma_unmap(struct vfio_pci *v, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };

	return ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u) < 0 ? -errno : 0;
}
