/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shm.h - memory an SVA queue's owner shares with the device (UB_SHARE).
 *
 * An SVA device reaches its owner's memory through /proc/<pid>/mem: two
 * kernel copies a request (about 1.5 us each for 4 KiB, 400-600 us for
 * 1 MiB).  An owner that keeps buffers in a memfd may give the daemon that
 * memfd: the daemon maps it once, and a request whose range lies in a
 * shared mapping of that very file (the owner's mapping, looked up for the
 * request as every SVA access is: inode, device, offset, shared) is served
 * from the daemon's own mapping of it, with no kernel copy.  What the
 * device sees is still exactly what the owner maps at that address; a
 * range anywhere else goes through /proc/<pid>/mem as before.
 *
 * A set belongs to one queue.  Files are added under the core lock and
 * only removed when the queue's backend is stopped (shm_clear, with the
 * regions), so backend threads read a set without a lock.
 */
#ifndef UACCED_SHM_H
#define UACCED_SHM_H

#include <stdint.h>

#include "memreq.h"

#define UQ_SHM_MAX		8		/* files per queue */
#define UQ_SHM_MAX_BYTES	(1ULL << 32)	/* one file's size, at most */

struct uq_shm {
	void *map;		/* the daemon's mapping of the whole file */
	uint64_t size;
	uint64_t dev, ino;	/* the file (st_dev, st_ino) */
};

struct uq_shm_set {
	unsigned n;		/* slots published (release/acquire) */
	uint64_t direct;	/* accesses served in place (atomic) */
	struct uq_shm slot[UQ_SHM_MAX];
};

/*
 * Map the file of fd (not taken: the caller closes it) into s.  It must be
 * a memfd (or other shmem/hugetlbfs file that takes seals) opened for
 * reading and writing, sealed against shrinking (F_SEAL_SHRINK: the
 * daemon's accesses never meet a truncated page) and not against writing,
 * of 1 byte to UQ_SHM_MAX_BYTES; its seals are asked first, so a file of
 * any other file system (a FUSE server's, which may never answer) is
 * refused without being asked anything.  *size: its size.  -EINVAL (not
 * such a file), -EEXIST (already in s), -ENOSPC (UQ_SHM_MAX files), -errno
 * of mmap.  Core lock held (one writer).
 */
int shm_add(struct uq_shm_set *s, int fd, uint64_t *size);
/* shm_add's checks of fd alone, and its size: 0 or -EINVAL */
int shm_probe(int fd, uint64_t *size);
/* unmap every file; the queue's backend no longer runs (core lock held) */
void shm_clear(struct uq_shm_set *s);
/* total bytes of s's files */
uint64_t shm_bytes(const struct uq_shm_set *s);
/*
 * The daemon's address of [uaddr, uaddr + len) when the owner's mapping sp
 * (looked up for this request) holds the whole range and is a shared
 * mapping of a file of s; NULL otherwise.  Any thread, no lock.
 */
void *shm_direct(struct uq_shm_set *s, const struct uacce_mem_span *sp, uint64_t uaddr,
		 uint64_t len);

#endif
