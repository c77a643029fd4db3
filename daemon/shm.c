// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * shm.c - memory an SVA queue's owner shares with the device (shm.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm.h"

/* fd's file, when shm_add may take it: 0 and *st, or -EINVAL */
static int probe(int fd, struct stat *st)
{
	int seals, fl;

	/* memfd_fcntl answers for shmem and hugetlbfs files alone, asking no
	 * file system: every other file is EINVAL here */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return -EINVAL;
	if (!(seals & F_SEAL_SHRINK) || (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
		return -EINVAL;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_size <= 0 ||
	    (uint64_t)st->st_size > UQ_SHM_MAX_BYTES)
		return -EINVAL;
	return 0;
}

int shm_probe(int fd, uint64_t *size)
{
	struct stat st;
	int err = probe(fd, &st);

	if (!err)
		*size = (uint64_t)st.st_size;
	return err;
}

int shm_add(struct uq_shm_set *s, int fd, uint64_t *size)
{
	struct stat st;
	void *map;
	int err = probe(fd, &st);

	if (err)
		return err;
	for (unsigned i = 0; i < s->n; i++)
		if (s->slot[i].dev == (uint64_t)st.st_dev && s->slot[i].ino == (uint64_t)st.st_ino)
			return -EEXIST;
	if (s->n == UQ_SHM_MAX)
		return -ENOSPC;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return errno == EACCES || errno == EPERM ? -EINVAL : -errno;
	s->slot[s->n] = (struct uq_shm){ .map = map, .size = (uint64_t)st.st_size,
					 .dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino };
	__atomic_store_n(&s->n, s->n + 1, __ATOMIC_RELEASE);
	*size = (uint64_t)st.st_size;
	return 0;
}

void shm_clear(struct uq_shm_set *s)
{
	for (unsigned i = 0; i < s->n; i++)
		munmap(s->slot[i].map, (size_t)s->slot[i].size);
	memset(s, 0, sizeof(*s));
}

uint64_t shm_bytes(const struct uq_shm_set *s)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < s->n; i++)
		sum += s->slot[i].size;
	return sum;
}

void *shm_direct(struct uq_shm_set *s, const struct uacce_mem_span *sp, uint64_t uaddr,
		 uint64_t len)
{
	unsigned n;
	uint64_t off;

	if (!s || !sp->ino || !(sp->flags & UACCE_MEM_SPAN_SHARED) || uaddr < sp->start ||
	    uaddr > sp->end || len > sp->end - uaddr)
		return NULL;
	n = __atomic_load_n(&s->n, __ATOMIC_ACQUIRE);
	off = sp->pgoff + (uaddr - sp->start);
	if (off < sp->pgoff)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		const struct uq_shm *m = &s->slot[i];

		if (m->ino != sp->ino || m->dev != sp->dev)
			continue;
		if (off > m->size || len > m->size - off)
			return NULL;
		__atomic_fetch_add(&s->direct, 1, __ATOMIC_RELAXED);
		return (char *)m->map + off;
	}
	return NULL;
}
