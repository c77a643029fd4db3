/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "region.h"

static uint64_t region_serial;

/*
 * Regions no client ever got, kept for the next queue: a queue's open and
 * release then cost no memfd_create, ftruncate, seal, mmap, munmap and
 * close (a probe that opens and closes, a lifecycle without a map).  Only
 * the daemon and its backends ever held such a memfd, so its zeroed pages
 * tell the next queue nothing; a region handed out is never kept (the
 * client may hold its fd or mapping for ever).
 */
static struct {
	pthread_mutex_t lock;
	struct uacce_region *head;
	unsigned n;
	size_t bytes;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct uacce_region *pool_take(size_t size)
{
	struct uacce_region *r, **pp;

	pthread_mutex_lock(&pool.lock);
	for (pp = &pool.head; (r = *pp) && r->size != size; pp = &r->pool_next)
		;
	if (r) {
		*pp = r->pool_next;
		pool.n--;
		pool.bytes -= r->size;
	}
	pthread_mutex_unlock(&pool.lock);
	return r;
}

/* true: r is the pool's now (zeroed by the region_create that takes it) */
static bool pool_keep(struct uacce_region *r)
{
	bool kept = false;

	if (__atomic_load_n(&r->handed_out, __ATOMIC_RELAXED) || r->fd < 0 ||
	    r->size > REGION_POOL_BYTES)
		return false;
	pthread_mutex_lock(&pool.lock);
	if (pool.bytes + r->size <= REGION_POOL_BYTES && pool.n < REGION_POOL_MAX) {
		r->pool_next = pool.head;
		pool.head = r;
		pool.n++;
		pool.bytes += r->size;
		kept = true;
	}
	pthread_mutex_unlock(&pool.lock);
	return kept;
}

void region_pool_stats(unsigned *n, size_t *bytes)
{
	pthread_mutex_lock(&pool.lock);
	*n = pool.n;
	*bytes = pool.bytes;
	pthread_mutex_unlock(&pool.lock);
}

void region_handed_out(struct uacce_region *r)
{
	__atomic_store_n(&r->handed_out, true, __ATOMIC_RELAXED);
}

int region_create(int type, size_t size, const char *name, struct uacce_region **out)
{
	struct uacce_region *r;
	int err;

	if (size == 0)
		return -EINVAL;
	r = pool_take(size);
	if (r) {	/* the last queue's data: zeroed before anyone sees it */
		memset(r->map, 0, r->size);
		r->serial = __atomic_add_fetch(&region_serial, 1, __ATOMIC_RELAXED);
		r->refs = 1;
		r->type = type;
		r->uaddr = 0;
		r->acct_gen = 0;
		r->pool_next = NULL;
		*out = r;
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->serial = __atomic_add_fetch(&region_serial, 1, __ATOMIC_RELAXED);
	r->refs = 1;
	r->type = type;
	r->size = size;
	r->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (r->fd < 0) {
		err = -errno;
		goto out_free;
	}
	if (ftruncate(r->fd, (off_t)size) < 0) {
		err = -errno;
		goto out_close;
	}
	/*
	 * The client gets this very file: seal its size, or a client could
	 * shrink it and make the daemon fault on its own mapping.
	 */
	if (fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = -errno;
		goto out_close;
	}
	r->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED) {
		err = -errno;
		goto out_close;
	}
	*out = r;
	return 0;
out_close:
	close(r->fd);
out_free:
	free(r);
	return err;
}

/* serial: the predecessor's (kept: the crash journal stores by it), 0 a new one */
static uint64_t take_serial(uint64_t serial)
{
	uint64_t cur;

	if (!serial)
		return __atomic_add_fetch(&region_serial, 1, __ATOMIC_RELAXED);
	/* new regions from now on are numbered past every adopted one */
	cur = __atomic_load_n(&region_serial, __ATOMIC_RELAXED);
	while (cur < serial && !__atomic_compare_exchange_n(&region_serial, &cur, serial, true,
							     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return serial;
}

int region_adopt(int type, int fd, size_t size, uint64_t uaddr, uint64_t serial,
		 struct uacce_region **out)
{
	struct uacce_region *r;
	struct stat st;
	int err;

	if (size == 0)
		return -EINVAL;
	if (fd < 0) {	/* a reservation: memory nobody else sees */
		err = region_create(type, size, "uacce-adopted", &r);
		if (err)
			return err;
		r->uaddr = uaddr;
		*out = r;
		return 0;
	}
	/* the predecessor's memfd: its size is sealed, and must be the region's */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->serial = take_serial(serial);
	r->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->map == MAP_FAILED) {
		err = -errno;
		free(r);
		return err;
	}
	r->refs = 1;
	r->type = type;
	r->size = size;
	r->fd = fd;
	r->uaddr = uaddr;
	r->handed_out = true;	/* the predecessor's: its clients may hold it */
	*out = r;
	return 0;
}

struct uacce_region *region_get(struct uacce_region *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

void region_put(struct uacce_region *r)
{
	if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (pool_keep(r))
		return;
	munmap(r->map, r->size);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

void *uacce_region_translate(const struct uacce_region *r, uint64_t uaddr, uint64_t len)
{
	uint64_t base = region_uaddr(r);

	if (!base || uaddr < base || len > r->size || uaddr - base > r->size - len)
		return NULL;
	return (char *)r->map + (uaddr - base);
}

struct uacce_region *uacce_region_hold(struct uacce_region *r) { return region_get(r); }
void uacce_region_drop(struct uacce_region *r) { region_put(r); }
void *uacce_region_map(const struct uacce_region *r) { return r->map; }
size_t uacce_region_size(const struct uacce_region *r) { return r->size; }
