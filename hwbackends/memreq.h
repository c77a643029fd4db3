/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memreq.h - one request's accesses to an SVA owner's memory.
 *
 * A device request names a few ranges of its owner's memory (a source, a
 * destination, descriptors).  Their page protections are looked up once
 * per mapping they lie in (one PROCMAP_QUERY each, or one pass over the
 * maps text for all of them) and the answers are kept here for this one
 * request: never across requests, so an mprotect or munmap between two
 * requests is seen by the second.  Within a request the owner racing its
 * own request with mprotect gains nothing (see daemon/proc.c).
 *
 * Filled by the core (uacce_hwq_mem_*, backend.h; proc_mem_req_*,
 * daemon/proc.h); a backend only declares one on its stack.
 */
#ifndef UACCED_MEMREQ_H
#define UACCED_MEMREQ_H

#include <stdbool.h>
#include <stdint.h>

#define UACCE_MEM_SPANS	8
#define UACCE_MEM_SPAN_SHARED	0x08	/* a MAP_SHARED mapping */

struct uacce_mem_span {
	uint64_t start, end;	/* [start, end) of one mapping */
	uint64_t flags;		/* readable 1, writable 2, UACCE_MEM_SPAN_SHARED */
	uint64_t pgoff;		/* the file offset of start (file mappings) */
	uint64_t ino;		/* the file's inode, 0: anonymous */
	uint64_t dev;		/* its device (makedev), with ino */
};

struct uacce_mem_req {
	void *owner;		/* the core's (struct uacce_owner) */
	void *shm;		/* the queue's (struct uq_shm_set), or NULL */
	unsigned n, next;	/* spans held; the next one to replace when full */
	struct uacce_mem_span span[UACCE_MEM_SPANS];
};

/* a range a request will touch */
struct uacce_mem_range {
	uint64_t addr, len;
	bool write;		/* written (else only read) */
};

#endif
