/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zip.c - client of the compression device (uacce/zip.h): rings in the
 * MMIO and DUS regions, buffers in the SS (non-SVA) or the heap (SVA).
 * Submitting and reaping touch only shared memory; a system call happens
 * only to wake a sleeping device (FUTEX_WAKE) or to sleep ourselves.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "uacce/zip.h"
#include "uacce_internal.h"

#define DEFAULT_SS	(16u << 20)
#define WAIT_SPIN_NS	20000ULL	/* before sleeping on cq_tail */
#define WAIT_SLICE_MS	250		/* then check that the queue is alive */
#define ALLOC_ALIGN	64

struct uacce_zip {
	struct uacce_q *q;
	struct uacce_zip_regs *regs;	/* MMIO */
	struct uacce_zip_sqe *sqes;	/* DUS */
	struct uacce_zip_cqe *cqes;	/* DUS */
	uint32_t sq_mask, cq_mask, depth;
	uint32_t sq_tail;		/* ours: published */
	uint32_t cq_head;		/* ours: consumed */
	uint64_t next_cookie;		/* uacce_zip_run */
	bool sva;
	char *ss;			/* non-SVA: the SS mapping; SVA: memory
					 * shared by uacce_zip_share(), or NULL */
	size_t ss_size, ss_used;
	void **heap;			/* SVA: uacce_zip_alloc() blocks */
	size_t nheap, heap_cap;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool is_zip_dev(const char *name)
{
	char api[64];

	return name[0] != '.' && uacce_dev_attr(name, "api", api, sizeof(api)) > 0 &&
	       strcmp(api, UACCE_ZIP_API) == 0;
}

UACCE_EXPORT int uacce_zip_find(char *dev, size_t len)
{
	char dir[512], best[256] = "";
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class", uacce_runtime_dir());
	d = opendir(dir);
	if (!d)
		return errno == EACCES ? -EACCES : -ENODEV;
	while ((de = readdir(d)))
		if (is_zip_dev(de->d_name) && (!best[0] || strcmp(de->d_name, best) < 0))
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	if (!best[0])
		return -ENODEV;
	if (snprintf(dev, len, "%s", best) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int map_fixed(struct uacce_zip *z, int type, size_t want, void **addr)
{
	uint64_t off, size;
	int err = uacce_region_info(z->q, type, &off, &size);

	if (err)
		return err;
	if (size < want)
		return -EPROTO;
	return uacce_map_region(z->q, type, (size_t)size, addr);
}

/* the device's register page must describe rings that fit its DUS */
static int check_regs(const struct uacce_zip_regs *r)
{
	uint64_t sq_end = (uint64_t)r->sqe_off + (uint64_t)r->sq_entries * sizeof(struct uacce_zip_sqe);
	uint64_t cq_end = (uint64_t)r->cqe_off + (uint64_t)r->cq_entries * sizeof(struct uacce_zip_cqe);

	if (memcmp(r->magic, UACCE_ZIP_MAGIC, sizeof(r->magic)) != 0 ||
	    r->version != UACCE_ZIP_VERSION)
		return -EPROTO;
	if (!r->sq_entries || (r->sq_entries & (r->sq_entries - 1)) || !r->cq_entries ||
	    (r->cq_entries & (r->cq_entries - 1)) || sq_end > UACCE_ZIP_DUS_SIZE ||
	    cq_end > UACCE_ZIP_DUS_SIZE)
		return -EPROTO;
	return 0;
}

static int setup_rings(struct uacce_zip *z)
{
	void *mmio, *dus;
	int err = map_fixed(z, UACCE_QFRT_MMIO, UACCE_ZIP_MMIO_SIZE, &mmio);

	if (!err)
		err = map_fixed(z, UACCE_QFRT_DUS, UACCE_ZIP_DUS_SIZE, &dus);
	if (err)
		return err;
	z->regs = mmio;
	err = check_regs(z->regs);
	if (err)
		return err;
	z->sqes = (struct uacce_zip_sqe *)((char *)dus + z->regs->sqe_off);
	z->cqes = (struct uacce_zip_cqe *)((char *)dus + z->regs->cqe_off);
	z->sq_mask = z->regs->sq_entries - 1;
	z->cq_mask = z->regs->cq_entries - 1;
	z->depth = z->regs->sq_entries < z->regs->cq_entries ? z->regs->sq_entries
							      : z->regs->cq_entries;
	z->sq_tail = __atomic_load_n(&z->regs->sq_tail, __ATOMIC_ACQUIRE);
	z->cq_head = __atomic_load_n(&z->regs->cq_head, __ATOMIC_ACQUIRE);
	return 0;
}

static int setup_ss(struct uacce_zip *z, size_t ss_size)
{
	void *ss;
	int err;

	z->ss_size = ss_size ? ss_size : DEFAULT_SS;
	/* mainline has no SS: the buffers are the DUS after the rings */
	if (z->q->mainline) {
		size_t have = 0;

		err = uacce_ml_data_area(z->q, UACCE_ZIP_ML_DATA_OFFSET, ss_size, &ss, &have);
		if (!err && !ss_size)
			z->ss_size = have;
	} else {
		err = uacce_map_region(z->q, UACCE_QFRT_SS, z->ss_size, &ss);
	}
	if (!err)
		z->ss = ss;
	return err;
}

UACCE_EXPORT int uacce_zip_open(const char *dev, size_t ss_size, struct uacce_zip **out)
{
	char name[256];
	struct uacce_zip *z;
	int err;

	if (!dev) {
		err = uacce_zip_find(name, sizeof(name));
		if (err)
			return err;
		dev = name;
	}
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	err = uacce_queue_open(dev, &z->q);
	if (err) {
		free(z);
		return err;
	}
	z->sva = uacce_queue_flags(z->q) & UACCE_DEV_SVA;
	err = strcmp(uacce_queue_api(z->q), UACCE_ZIP_API) ? -ENODEV : 0;
	if (!err)
		err = uacce_queue_start(z->q);
	if (!err)
		err = setup_rings(z);
	if (!err && !z->sva)
		err = setup_ss(z, ss_size);
	if (err) {
		uacce_zip_close(z);
		return err;
	}
	*out = z;
	return 0;
}

UACCE_EXPORT int uacce_zip_share(struct uacce_zip *z, size_t size)
{
	void *p;
	int err;

	if (!z->sva || z->ss || !size)
		return -EINVAL;
	err = uacce_share_alloc(z->q, size, &p);
	if (err)
		return err;
	z->ss = p;
	z->ss_size = size;
	z->ss_used = 0;
	return 0;
}

UACCE_EXPORT void uacce_zip_close(struct uacce_zip *z)
{
	if (!z)
		return;
	uacce_queue_close(z->q);	/* unmaps the regions */
	if (z->sva && z->ss)		/* uacce_zip_share's */
		munmap(z->ss, z->ss_size);
	for (size_t i = 0; i < z->nheap; i++)
		free(z->heap[i]);
	free(z->heap);
	free(z);
}

UACCE_EXPORT struct uacce_q *uacce_zip_queue(const struct uacce_zip *z) { return z->q; }
UACCE_EXPORT int uacce_zip_is_sva(const struct uacce_zip *z) { return z->sva; }
UACCE_EXPORT uint32_t uacce_zip_max_buf(const struct uacce_zip *z) { return z->regs->max_buf; }
UACCE_EXPORT uint32_t uacce_zip_depth(const struct uacce_zip *z) { return z->depth; }

UACCE_EXPORT uint32_t uacce_zip_max_streams(const struct uacce_zip *z)
{
	return z->regs->max_streams;
}

UACCE_EXPORT uint32_t uacce_zip_outstanding(const struct uacce_zip *z)
{
	return z->sq_tail - z->cq_head;
}

static void *heap_alloc(struct uacce_zip *z, size_t size)
{
	void *p;

	if (z->nheap == z->heap_cap) {
		size_t cap = z->heap_cap ? z->heap_cap * 2 : 16;
		void **n = realloc(z->heap, cap * sizeof(*n));

		if (!n)
			return NULL;
		z->heap = n;
		z->heap_cap = cap;
	}
	if (posix_memalign(&p, 4096, size ? size : 1)) {
		errno = ENOMEM;
		return NULL;
	}
	z->heap[z->nheap++] = p;
	return p;
}

UACCE_EXPORT void *uacce_zip_alloc(struct uacce_zip *z, size_t size)
{
	size_t start = (z->ss_used + ALLOC_ALIGN - 1) & ~(size_t)(ALLOC_ALIGN - 1);

	/* SVA: from the memory shared with uacce_zip_share() while it lasts */
	if (z->sva && (!z->ss || start > z->ss_size || size > z->ss_size - start))
		return heap_alloc(z, size);
	if (start > z->ss_size || size > z->ss_size - start) {
		errno = ENOMEM;
		return NULL;
	}
	z->ss_used = start + size;
	return z->ss + start;
}

UACCE_EXPORT size_t uacce_zip_bound(int alg, size_t len)
{
	/* stored blocks cost 5 bytes per 64 KiB; libdeflate and zlib stay far below this */
	size_t wrapper = alg == UACCE_ZIP_ALG_GZIP ? 18 : alg == UACCE_ZIP_ALG_ZLIB ? 6 : 0;

	return len + 5 * (len / 1024 + 1) + 64 + wrapper;
}

/* the device sleeps: one FUTEX_WAKE wakes a worker (SQPOLL's need-wakeup) */
static void kick(struct uacce_zip *z)
{
	__atomic_add_fetch(&z->regs->wake, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &z->regs->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
}

UACCE_EXPORT int uacce_zip_submit(struct uacce_zip *z, const struct uacce_zip_sqe *e)
{
	if (z->sq_tail - z->cq_head >= z->depth)
		return -EBUSY;
	memcpy(&z->sqes[z->sq_tail & z->sq_mask], e, sizeof(*e));
	z->sq_tail++;
	/* publish, then look at the flag: pairs with the device's set-then-check */
	__atomic_store_n(&z->regs->sq_tail, z->sq_tail, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&z->regs->flags, __ATOMIC_SEQ_CST) & UACCE_ZIP_NEED_WAKEUP)
		kick(z);
	return 0;
}

UACCE_EXPORT int uacce_zip_reap(struct uacce_zip *z, struct uacce_zip_cqe *c)
{
	uint32_t tail = __atomic_load_n(&z->regs->cq_tail, __ATOMIC_ACQUIRE);

	if (tail == z->cq_head || z->sq_tail == z->cq_head)
		return 0;
	memcpy(c, &z->cqes[z->cq_head & z->cq_mask], sizeof(*c));
	z->cq_head++;
	__atomic_store_n(&z->regs->cq_head, z->cq_head, __ATOMIC_RELEASE);
	return 1;
}

/* sleep on cq_tail for up to ms; true when it moved */
static bool sleep_cq(struct uacce_zip *z, int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	uint32_t seen;

	__atomic_add_fetch(&z->regs->cq_waiters, 1, __ATOMIC_SEQ_CST);
	seen = __atomic_load_n(&z->regs->cq_tail, __ATOMIC_SEQ_CST);
	if (seen == z->cq_head)
		syscall(SYS_futex, &z->regs->cq_tail, FUTEX_WAIT, seen, &ts, NULL, 0);
	__atomic_sub_fetch(&z->regs->cq_waiters, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&z->regs->cq_tail, __ATOMIC_ACQUIRE) != z->cq_head;
}

UACCE_EXPORT int uacce_zip_wait(struct uacce_zip *z, struct uacce_zip_cqe *c, int timeout_ms)
{
	uint64_t start = now_ns(), end = timeout_ms < 0 ? UINT64_MAX
							: start + (uint64_t)timeout_ms * 1000000ULL;

	if (z->sq_tail == z->cq_head)
		return -EINVAL;	/* nothing outstanding: would wait forever */
	while (now_ns() - start < WAIT_SPIN_NS)
		if (uacce_zip_reap(z, c))
			return 1;
	for (;;) {
		uint64_t now = now_ns();
		int ms;

		if (uacce_zip_reap(z, c))
			return 1;
		if (now >= end)
			return 0;
		ms = end - now > (uint64_t)WAIT_SLICE_MS * 1000000ULL ? WAIT_SLICE_MS
			: (int)((end - now + 999999) / 1000000);
		if (!sleep_cq(z, ms) && uacce_queue_wait(z->q, 0) < 0)
			return -ENOTCONN;
	}
}

UACCE_EXPORT int uacce_zip_run(struct uacce_zip *z, int op, int alg, int level, const void *src,
			       size_t src_len, void *dst, size_t dst_len, size_t *out_len)
{
	struct uacce_zip_sqe e = { .src = (uintptr_t)src, .dst = (uintptr_t)dst,
				   .src_len = (uint32_t)src_len, .dst_len = (uint32_t)dst_len,
				   .op = (uint8_t)op, .alg = (uint8_t)alg, .level = (uint8_t)level,
				   .cookie = ++z->next_cookie };
	struct uacce_zip_cqe c;
	int r;

	if (src_len > UINT32_MAX || dst_len > UINT32_MAX || level < 0 || level > 255)
		return -E2BIG;
	if (uacce_zip_outstanding(z))
		return -EBUSY;	/* we would take others' completions */
	r = uacce_zip_submit(z, &e);
	if (r)
		return r;
	r = uacce_zip_wait(z, &c, -1);
	if (r < 0)
		return r;
	if (c.status)
		return -(int)c.status;
	*out_len = c.produced;
	return 0;
}

UACCE_EXPORT const char *uacce_zip_strerror(int status)
{
	switch (status < 0 ? -status : status) {
	case 0: return "success";
	case EINVAL: return "invalid request";
	case E2BIG: return "buffer larger than the device accepts";
	case EFAULT: return "buffer address the device cannot reach";
	case EBADMSG: return "corrupt compressed data";
	case ENODATA: return "compressed data ends too early";
	case ENOSPC: return "output buffer too small";
	case ECANCELED: return "cancelled: an earlier request of the stream was cut short";
	case EPIPE: return "no open stream in this slot";
	case ENOMEM: return "the device is out of memory";
	default: return strerror(status < 0 ? -status : status);
	}
}
