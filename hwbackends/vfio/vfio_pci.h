/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio_pci.h - one PCI function through VFIO (the group/container API):
 * sysfs probing, the device fd, BAR mapping, config space, interrupts as
 * eventfds, and IOMMU mappings in the function's own container.
 */
#ifndef UACCED_VFIO_PCI_H
#define UACCED_VFIO_PCI_H

#include <stddef.h>
#include <stdint.h>

#define VFIO_BDF_LEN	13	/* "0000:00:03.0" + NUL */

struct vfio_pci {
	char bdf[VFIO_BDF_LEN];
	int group_id;
	int container, group, device;	/* -1 when closed */
	uint64_t cfg_off;		/* offset of the config space region */
	void *bar;			/* the mapped BAR, or NULL */
	size_t bar_size;
};

/* What sysfs says about a function. */
struct vfio_pci_sysfs {
	uint16_t vendor, device;
	char driver[64];		/* "" when no driver is bound */
	int group_id;			/* IOMMU group, -1 without one */
};

/* "0000:00:03.0" (hex, either case) -> lower-case copy; 0 or -EINVAL */
int vfio_bdf_parse(const char *in, char out[VFIO_BDF_LEN]);
/* read /sys/bus/pci/devices/<bdf>; -ENODEV when the function is absent */
int vfio_pci_sysfs_read(const char *bdf, struct vfio_pci_sysfs *s);

/* open the function (bound to vfio-pci); -errno with the reason in why */
int vfio_pci_open(const char *bdf, struct vfio_pci *v, char *why, size_t len);
void vfio_pci_close(struct vfio_pci *v);
/*
 * The function as a predecessor daemon left it open (live restart): its
 * container, group and device fds (v owns them on success; on failure the
 * caller keeps them).  Nothing is reset or re-attached: the container
 * keeps its IOMMU mappings, the device its state.  -errno with why.
 */
int vfio_pci_adopt(struct vfio_pci *v, const char *bdf, int group_id, int container, int group,
		   int device, char *why, size_t len);
/* map BAR `index` (VFIO_PCI_BAR0_REGION_INDEX...) read/write */
int vfio_pci_map_bar(struct vfio_pci *v, unsigned index, char *why, size_t len);
/* set bits in the PCI command register (bus master, memory space) */
int vfio_pci_command_set(struct vfio_pci *v, uint16_t bits);
int vfio_pci_command_clear(struct vfio_pci *v, uint16_t bits);
/*
 * Trigger interrupt `index` (VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX,
 * ...) vector 0 through a new eventfd in *efd (non-blocking, close-on-exec;
 * the caller owns it).  -ENOTSUP when the function has no such interrupt.
 */
int vfio_pci_irq_eventfd(struct vfio_pci *v, unsigned index, int *efd);
void vfio_pci_irq_disable(struct vfio_pci *v, unsigned index);
/* an inclusive range of I/O virtual addresses */
struct vfio_pci_iova_range {
	uint64_t start, end;
};

/*
 * The IOVA ranges the container's IOMMU can map (VFIO_IOMMU_GET_INFO's
 * IOVA range capability): *out (malloc'd) and *n; -ENOTSUP when the
 * kernel does not say (every address is then taken as usable).
 */
int vfio_pci_iova_ranges(struct vfio_pci *v, struct vfio_pci_iova_range **out, int *n);
/* IOMMU: the device may read and write [vaddr, +size) at iova */
int vfio_pci_dma_map(struct vfio_pci *v, void *vaddr, uint64_t iova, uint64_t size);
int vfio_pci_dma_unmap(struct vfio_pci *v, uint64_t iova, uint64_t size);

#endif
