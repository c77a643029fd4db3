/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * region.h - queue file region memory: a sealed memfd, mapped in the
 * daemon, whose fd is handed to the owner process by the broker.
 */
#ifndef UACCED_REGION_H
#define UACCED_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uacce_region {
	int refs;		/* its holders (SS can be shared); atomic */
	int type;		/* enum uacce_qfrt */
	int fd;			/* sealed memfd, -1 for a reservation (DKO) */
	void *map;		/* the daemon's mapping of all `size` bytes */
	size_t size;
	uint64_t uaddr;		/* owner's address, 0 = not mapped; atomic */
	unsigned long acct_gen;	/* core accounting pass that counted it; core lock */
	uint64_t serial;	/* unique in this process (its name in the crash journal) */
	bool handed_out;	/* a client got its fd (region_handed_out): never reused */
	struct uacce_region *pool_next;	/* in the pool of regions to reuse */
};

/*
 * -errno; *out owns one reference.  A region of the same size that no
 * client ever got (see region_put) may come back instead of a new memfd:
 * zeroed, with a new serial, and the memfd's name of its first use.
 */
int region_create(int type, size_t size, const char *name, struct uacce_region **out);
/*
 * A live restart's region (core_adopt): the predecessor's memfd `fd`
 * (taken over: closed with the region, or by the caller on error) of
 * `size` bytes, mapped again here, the owner's address uaddr (0: not
 * mapped).  fd -1: a region whose memory nobody else maps (a fresh one).
 * serial: the predecessor's serial of it, kept (0: a new one).
 * -errno (-EINVAL: fd is not a file of `size` bytes).
 */
int region_adopt(int type, int fd, size_t size, uint64_t uaddr, uint64_t serial,
		 struct uacce_region **out);
struct uacce_region *region_get(struct uacce_region *r);
/*
 * Drop one reference.  The last one frees the memory, or keeps it for
 * region_create, zeroed, when no client ever got the region's fd (a
 * queue opened and closed without a map: its memfd was only ever the
 * daemon's and the backend's) and the pool has room (REGION_POOL_BYTES,
 * REGION_POOL_MAX).
 */
void region_put(struct uacce_region *r);
/* a client gets the region's fd (a dup of it): from now on it is never reused */
void region_handed_out(struct uacce_region *r);
/* the pool's regions and bytes (uaccectl stats, tests) */
void region_pool_stats(unsigned *n, size_t *bytes);

#define REGION_POOL_BYTES	(1u << 20)
#define REGION_POOL_MAX		32	/* regions: each keeps its memfd open */

static inline uint64_t region_uaddr(const struct uacce_region *r)
{
	return __atomic_load_n(&r->uaddr, __ATOMIC_ACQUIRE);
}

/* uacce_region_map/size/translate: the backend API (backend.h) */

#endif
