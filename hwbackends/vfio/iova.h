/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iova.h - a first-fit allocator of I/O virtual address ranges inside a
 * device's DMA window (e.g. QEMU edu: 28 address bits).  Not thread-safe:
 * the caller locks.
 */
#ifndef UACCED_IOVA_H
#define UACCED_IOVA_H

#include <stdint.h>

#include "list.h"

struct iova_space {
	uint64_t base, end;		/* window [base, end) */
	uint64_t align;			/* power of two */
	struct list used;		/* struct iova_range, by start */
	uint64_t in_use;		/* bytes */
};

void iova_init(struct iova_space *s, uint64_t base, uint64_t end, uint64_t align);
/* free every range */
void iova_fini(struct iova_space *s);
/* 0 with *iova, -EINVAL (size 0), -ENOSPC (no gap), -ENOMEM */
int iova_alloc(struct iova_space *s, uint64_t size, uint64_t *iova);
/* 0, or -ENOENT when no range starts at iova */
int iova_free(struct iova_space *s, uint64_t iova);
/*
 * Take [start, end] (inclusive, clipped to the window) out of use for
 * good: addresses the IOMMU cannot map.  Before any allocation.  0,
 * -EEXIST (overlaps a range), -ENOMEM.
 */
int iova_reserve(struct iova_space *s, uint64_t start, uint64_t end);

/* a range in use: allocated or reserved */
struct iova_span {
	uint64_t start, size;
};

/* the ranges in use, by start, into out[0..max): how many there are */
int iova_list(const struct iova_space *s, struct iova_span *out, int max);
/*
 * Put [start, +size) in use again, exactly as iova_list gave it (an
 * allocator rebuilt after a live restart).  0, -EINVAL (size 0, outside
 * the window, not aligned), -EEXIST (overlaps a range), -ENOMEM.
 */
int iova_restore(struct iova_space *s, uint64_t start, uint64_t size);

#endif
