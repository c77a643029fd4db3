/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kabi-common.c - what kabi-v4 and kabi-mainline share: reporting, sysfs,
 * the dummy memcpy ring and the zip rings, driven on the mapped regions
 * exactly as dummy_usr_if.h, zip_usr_if.h and dummy-device.md describe.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <uacce/dummy_usr_if.h>
#include <uacce/zip_usr_if.h>

#include "kabi.h"

int kabi_ok_n, kabi_fail_n;
int kabi_tscale = 1;

/* --- reporting --------------------------------------------------------------- */

static void vline(const char *tag, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* one write per line: threads and forked children do not mix lines */
	dprintf(STDOUT_FILENO, "%s: %s\n", tag, buf);
}

void kok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("ok", fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&kabi_ok_n, 1, __ATOMIC_RELAXED);
}

void kfail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("FAIL", fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&kabi_fail_n, 1, __ATOMIC_RELAXED);
}

void kinfo(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("info", fmt, ap);
	va_end(ap);
}

const char *kename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";

	return n ? n : "an unknown errno";
}

bool kexpect(const char *what, long rc, int err, int want)
{
	int got = rc < 0 ? err : 0;

	if (got == want) {
		kok("%s -> %s", what, want ? kename(want) : "success");
		return true;
	}
	kfail("%s: expected %s got %s", what, want ? kename(want) : "success",
	      got ? kename(got) : "success");
	return false;
}

bool kmap_expect(const char *what, int fd, size_t len, off_t off, int want, void **out)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	int e = errno;
	bool good = kexpect(what, p == MAP_FAILED ? -1 : 0, e, want);

	if (p != MAP_FAILED) {
		if (good && out)
			*out = p;
		else
			munmap(p, len);
	}
	return good;
}

uint64_t kabi_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- sysfs ------------------------------------------------------------------- */

int kattr(const char *dev, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KABI_SYSFS "/%s/%s", dev, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int kattr_ul(const char *dev, const char *attr, unsigned long *v)
{
	char buf[64], *end;
	int err = kattr(dev, attr, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	*v = strtoul(buf, &end, 10);
	return errno || end == buf || *end ? -EPROTO : 0;
}

bool kattr_exists(const char *dev, const char *attr)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), KABI_SYSFS "/%s/%s", dev, attr);
	return access(path, F_OK) == 0;
}

long kavail(const char *dev)
{
	unsigned long v;
	int err = kattr_ul(dev, "available_instances", &v);

	return err ? err : (long)v;
}

bool kavail_wait(const char *dev, long want, int ms)
{
	uint64_t end = kabi_ms() + (uint64_t)ms * (uint64_t)kabi_tscale;

	for (;;) {
		if (kavail(dev) == want)
			return true;
		if (kabi_ms() >= end)
			return false;
		usleep(5000);
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int kclass_list(char names[][KABI_NAME_MAX], int max)
{
	DIR *dir = opendir(KABI_SYSFS);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && n < max) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= KABI_NAME_MAX)
			continue;
		strcpy(names[n++], e->d_name);
	}
	closedir(dir);
	qsort(names, (size_t)n, KABI_NAME_MAX, cmp_name);
	return n;
}

/* --- request memory and data ------------------------------------------------------ */

int kdata_setup(struct kq *q)
{
	if (q->data)
		return 0;
	q->data_size = 256 * 1024;
	q->data = aligned_alloc(4096, q->data_size);
	if (!q->data)
		return -ENOMEM;
	q->data_own = true;
	return 0;
}

void kdata_free(struct kq *q)
{
	if (q->data_own)
		free(q->data);
	q->data = NULL;
	q->data_own = false;
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void fill(uint8_t *p, size_t n, unsigned seed, unsigned req)
{
	uint32_t s = seed * 2654435761u + req * 40503u + 1;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(&s);
}

/* compressible text: words from a small vocabulary */
static void fill_text(uint8_t *p, size_t n, unsigned seed, unsigned req)
{
	static const char *const w[] = { "uacce ", "queue ", "region ", "mmap ", "ioctl ",
					 "deflate ", "the ", "a ", "of ", "device\n" };
	uint32_t s = seed * 2246822519u + req * 3266489917u + 7;
	size_t i = 0;

	while (i < n) {
		const char *x = w[rnd(&s) % 10];

		while (*x && i < n)
			p[i++] = (uint8_t)*x++;
	}
}

/* --- dummy ------------------------------------------------------------------------- */

void *kdummy_regs(struct kq *q)
{
	return q->d->kind == KABI_DUMMY_V1 ? q->mmio : q->dus;
}

/* wait for the device's tail to move past `consumed`: poll(POLLIN), 5 s */
static int dummy_wait(struct kq *q, struct dummy_hw_queue_reg *r, uint32_t consumed)
{
	uint64_t end = kabi_ms() + 5000ULL * (uint64_t)kabi_tscale;

	while (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == consumed) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return -errno;
		if (p.revents & (POLLERR | POLLNVAL))
			return -EIO;
		if (kabi_ms() > end)
			return -ETIMEDOUT;
	}
	return 0;
}

static void dummy_submit(struct kq *q, struct dummy_hw_queue_reg *r, uint32_t *head,
			 uint8_t *src, uint8_t *dst, size_t len, uintptr_t cookie)
{
	struct wd_dummy_cpy_msg *m = &r->ring[*head];

	m->src_addr = (char *)src;
	m->tgt_addr = (char *)dst;
	m->size = len;
	m->ptr = (void *)cookie;
	m->ret = UINT32_MAX;
	*head = (*head + 1) % Q_BDS;
	__atomic_store_n(&r->head, *head, __ATOMIC_RELEASE);
	if (q->d->kind == KABI_DUMMY_V2)	/* the doorbell: first 8 bytes of MMIO */
		__atomic_store_n((volatile uint64_t *)q->mmio, 1, __ATOMIC_RELEASE);
}

static int dummy_check(struct kq *q, struct dummy_hw_queue_reg *r, uint32_t i, size_t slot,
		       unsigned seed, unsigned req, size_t len, const char *tag)
{
	struct wd_dummy_cpy_msg *m = &r->ring[i];
	uint8_t *dst = q->data + (size_t)i * 2 * slot + slot;
	uint8_t want[4096];

	if (m->ret != 0) {
		kfail("%s: dummy request %u: ret %u", tag, req, m->ret);
		return -EIO;
	}
	if ((uintptr_t)m->ptr != req + 1u) {
		kfail("%s: dummy request %u: cookie %p", tag, req, m->ptr);
		return -EIO;
	}
	fill(want, len, seed, req);
	if (memcmp(dst, want, len) != 0) {
		kfail("%s: dummy request %u: %zu bytes copied differ", tag, req, len);
		return -EIO;
	}
	return 0;
}

int kdummy_run(struct kq *q, unsigned n, unsigned seed, const char *tag)
{
	struct dummy_hw_queue_reg *r = kdummy_regs(q);
	size_t slot = q->data_size / (2 * Q_BDS) / 64 * 64, lens[Q_BDS];
	unsigned reqs[Q_BDS], sub = 0, done = 0;
	uint32_t s = seed + 11, head, consumed;
	int err;

	if (slot > 4096)
		slot = 4096;
	if (memcmp(r->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ) != 0 || r->ring_bd_num != Q_BDS) {
		kfail("%s: dummy register page: tag \"%.8s\", ring_bd_num %u", tag, r->hw_tag,
		      r->ring_bd_num);
		return -EPROTO;
	}
	if (slot < 64) {
		kfail("%s: dummy: %zu bytes of request memory are too few", tag, q->data_size);
		return -ENOSPC;
	}
	head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	consumed = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (head != consumed || head >= Q_BDS) {
		kfail("%s: dummy ring not idle at start: head %u tail %u", tag, head, consumed);
		return -EPROTO;
	}
	while (done < n) {
		while (sub < n && (head + 1) % Q_BDS != consumed) {
			uint8_t *src = q->data + (size_t)head * 2 * slot;

			lens[head] = 1 + rnd(&s) % slot;
			reqs[head] = sub;
			fill(src, lens[head], seed, sub);
			memset(src + slot, 0x5a, lens[head]);
			dummy_submit(q, r, &head, src, src + slot, lens[head], sub + 1u);
			sub++;
		}
		err = dummy_wait(q, r, consumed);
		if (err) {
			kfail("%s: dummy: waiting for request %u: %s", tag, done, kename(-err));
			return err;
		}
		while (consumed != __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE)) {
			err = dummy_check(q, r, consumed, slot, seed, reqs[consumed], lens[consumed], tag);
			if (err)
				return err;
			consumed = (consumed + 1) % Q_BDS;
			done++;
		}
	}
	return 0;
}

/* --- zip ------------------------------------------------------------------------------ */

struct zring {
	struct uacce_zip_regs *regs;
	struct uacce_zip_sqe *sqes;
	struct uacce_zip_cqe *cqes;
	uint32_t sq_tail, cq_head;
};

bool kzip_regs_ok(struct kq *q)
{
	const struct uacce_zip_regs *g = q->mmio;

	return memcmp(g->magic, UACCE_ZIP_MAGIC, 8) == 0 && g->version == UACCE_ZIP_VERSION &&
	       g->sq_entries && !(g->sq_entries & (g->sq_entries - 1)) && g->cq_entries &&
	       !(g->cq_entries & (g->cq_entries - 1));
}

size_t kzip_rings_end(struct kq *q)
{
	const struct uacce_zip_regs *g = q->mmio;
	size_t s = g->sqe_off + (size_t)g->sq_entries * sizeof(struct uacce_zip_sqe);
	size_t c = g->cqe_off + (size_t)g->cq_entries * sizeof(struct uacce_zip_cqe);

	return s > c ? s : c;
}

static int zip_ring(struct kq *q, struct zring *z, const char *tag)
{
	z->regs = q->mmio;
	if (!kzip_regs_ok(q) || kzip_rings_end(q) > q->d->dus_size) {
		kfail("%s: zip registers: magic \"%.8s\" version %u entries %u/%u, rings end at %zu "
		      "of a %zu-byte DUS", tag, z->regs->magic, z->regs->version,
		      z->regs->sq_entries, z->regs->cq_entries, kzip_rings_end(q), q->d->dus_size);
		return -EPROTO;
	}
	z->sqes = (void *)((char *)q->dus + z->regs->sqe_off);
	z->cqes = (void *)((char *)q->dus + z->regs->cqe_off);
	z->sq_tail = __atomic_load_n(&z->regs->sq_tail, __ATOMIC_RELAXED);
	z->cq_head = __atomic_load_n(&z->regs->cq_head, __ATOMIC_RELAXED);
	return 0;
}

/* one request, submitted and waited for (poll); its completion in *c */
static int zip_one(struct kq *q, struct zring *z, const struct uacce_zip_sqe *e,
		   struct uacce_zip_cqe *c)
{
	uint64_t end = kabi_ms() + 10000ULL * (uint64_t)kabi_tscale;

	z->sqes[z->sq_tail & (z->regs->sq_entries - 1)] = *e;
	z->sq_tail++;
	__atomic_store_n(&z->regs->sq_tail, z->sq_tail, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&z->regs->flags, __ATOMIC_ACQUIRE) & UACCE_ZIP_NEED_WAKEUP) {
		__atomic_add_fetch(&z->regs->wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &z->regs->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	while (__atomic_load_n(&z->regs->cq_tail, __ATOMIC_ACQUIRE) == z->cq_head) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return -errno;
		if (p.revents & (POLLERR | POLLNVAL))
			return -EIO;
		if (kabi_ms() > end)
			return -ETIMEDOUT;
	}
	*c = z->cqes[z->cq_head & (z->regs->cq_entries - 1)];
	z->cq_head++;
	__atomic_store_n(&z->regs->cq_head, z->cq_head, __ATOMIC_RELEASE);
	return c->cookie == e->cookie ? 0 : -EPROTO;
}

/* zlib's own inflate of what the device compressed: is it the real format? */
static bool zlib_agrees(const uint8_t *comp, size_t clen, const uint8_t *orig, size_t olen,
			int alg)
{
	int wbits = alg == UACCE_ZIP_ALG_DEFLATE ? -15 : alg == UACCE_ZIP_ALG_ZLIB ? 15 : 31;
	uint8_t *out = malloc(olen + 1);
	z_stream zs = { 0 };
	bool good = false;

	if (!out || inflateInit2(&zs, wbits) != Z_OK) {
		free(out);
		return false;
	}
	zs.next_in = (Bytef *)comp;
	zs.avail_in = (uInt)clen;
	zs.next_out = out;
	zs.avail_out = (uInt)olen + 1;
	if (inflate(&zs, Z_FINISH) == Z_STREAM_END && zs.total_out == olen &&
	    memcmp(out, orig, olen) == 0)
		good = true;
	inflateEnd(&zs);
	free(out);
	return good;
}

static int zip_pair(struct kq *q, struct zring *z, size_t b, unsigned seed, unsigned i,
		    const char *tag)
{
	uint8_t *in = q->data, *cmp = q->data + b, *out = q->data + 2 * b;
	uint32_t s = seed * 7 + i, len = (uint32_t)(b / 4 + rnd(&s) % (b / 4));
	uint8_t alg = (uint8_t)(1 + i % 3);
	struct uacce_zip_sqe e = { .op = UACCE_ZIP_OP_COMPRESS, .alg = alg,
				   .level = (uint8_t)(1 + i % 9) };
	struct uacce_zip_cqe c = { 0 };
	int err;

	fill_text(in, len, seed, i);
	memset(cmp, 0, b);
	memset(out, 0, b);
	e.src = (uintptr_t)in, e.dst = (uintptr_t)cmp;
	e.src_len = len, e.dst_len = (uint32_t)b;
	e.cookie = 2ULL * i + 1;
	err = zip_one(q, z, &e, &c);
	if (err || c.status || c.consumed != len || !c.produced || c.produced > b) {
		kfail("%s: zip compress %u (alg %u, %u bytes): %s status %s consumed %u produced %u",
		      tag, i, alg, len, kename(-err), kename((int)c.status), c.consumed, c.produced);
		return err ? err : -EIO;
	}
	if (!zlib_agrees(cmp, c.produced, in, len, alg)) {
		kfail("%s: zip compress %u (alg %u): zlib does not inflate the %u bytes to the input",
		      tag, i, alg, c.produced);
		return -EIO;
	}
	e.op = UACCE_ZIP_OP_DECOMPRESS, e.level = 0;
	e.src = (uintptr_t)cmp, e.dst = (uintptr_t)out;
	e.src_len = c.produced, e.dst_len = (uint32_t)b;
	e.cookie = 2ULL * i + 2;
	err = zip_one(q, z, &e, &c);
	if (err || c.status || c.produced != len || memcmp(out, in, len) != 0) {
		kfail("%s: zip decompress %u (alg %u): %s status %s produced %u of %u, %s", tag, i,
		      alg, kename(-err), kename((int)c.status), c.produced, len,
		      memcmp(out, in, len) ? "bytes differ" : "bytes equal");
		return err ? err : -EIO;
	}
	return 0;
}

int kzip_run(struct kq *q, unsigned n, unsigned seed, const char *tag)
{
	size_t b = q->data_size / 3 / 64 * 64;
	struct zring z;
	int err = zip_ring(q, &z, tag);

	if (err)
		return err;
	if (b > 65536)
		b = 65536;
	if (b < 1024) {
		kfail("%s: zip: %zu bytes of request memory are too few", tag, q->data_size);
		return -ENOSPC;
	}
	for (unsigned i = 0; i < n; i++) {
		err = zip_pair(q, &z, b, seed, i, tag);
		if (err)
			return err;
	}
	return 0;
}

/* --- requests the device must refuse ------------------------------------------------ */

/* one dummy request from src to the data area: its ret (0 = copied) */
static int dummy_one(struct kq *q, const void *src, size_t len, uint32_t *ret)
{
	struct dummy_hw_queue_reg *r = kdummy_regs(q);
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	uint32_t consumed = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	int err;

	if (head != consumed || head >= Q_BDS)
		return -EPROTO;
	dummy_submit(q, r, &head, (uint8_t *)src, q->data, len, 1);
	err = dummy_wait(q, r, consumed);
	if (!err)
		*ret = r->ring[consumed].ret;
	return err;
}

/* one zip compress of src into the data area: its completion */
static int zip_from(struct kq *q, const void *src, uint32_t len, struct uacce_zip_cqe *c)
{
	struct uacce_zip_sqe e = { .op = UACCE_ZIP_OP_COMPRESS, .alg = UACCE_ZIP_ALG_DEFLATE };
	struct zring z;
	int err = zip_ring(q, &z, q->d->name);

	if (err)
		return err;
	e.src = (uintptr_t)src, e.dst = (uintptr_t)q->data;
	e.src_len = len, e.dst_len = (uint32_t)(q->data_size < 65536 ? q->data_size : 65536);
	e.cookie = 77;
	return zip_one(q, &z, &e, c);
}

/* a request whose input is at src must fail without harm; the queue still works */
void krefused_from(struct kq *q, const void *src, const char *where, const char *tag)
{
	uint32_t ret = 0;
	struct uacce_zip_cqe c = { 0 };
	bool wrote;
	int err;

	memset(q->data, 0x33, 4096);
	if (q->d->kind == KABI_ZIP) {
		err = zip_from(q, src, 4096, &c);
		ret = c.status;
	} else {
		err = dummy_one(q, src, 4096, &ret);
	}
	wrote = q->data[0] != 0x33 || memcmp(q->data, q->data + 1, 4095) != 0;
	if (err)
		kfail("%s: a request from %s: %s", tag, where, kename(-err));
	else if (ret && wrote)
		kfail("%s: a request from %s fails (%s) but wrote its output", tag, where,
		      kename((int)ret));
	else if (ret)
		kok("%s: a request from %s fails (%s) and writes nothing", tag, where,
		    kename((int)ret));
	else
		kfail("%s: a request from %s succeeded", tag, where);
}

void krefused(struct kq *q, const char *tag)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	void *gone = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *own;

	if (gone == MAP_FAILED) {
		kfail("%s: mmap of a scratch page: %s", tag, kename(errno));
		return;
	}
	munmap(gone, pg);
	krefused_from(q, gone, "an unmapped address", tag);
	if (!q->d->sva) {	/* only the device's shared memory is reachable */
		own = malloc(4096);
		if (own) {
			memset(own, 0x44, 4096);
			krefused_from(q, own, "the program's own memory (non-SVA)", tag);
			free(own);
		}
	}
	if (!kwork(q, 5, 9, tag))
		kok("%s: 5 requests after the refused ones, results byte-exact", tag);
}

int kwork(struct kq *q, unsigned n, unsigned seed, const char *tag)
{
	switch (q->d->kind) {
	case KABI_DUMMY_V1:
	case KABI_DUMMY_V2:
		return kdummy_run(q, n, seed, tag);
	case KABI_ZIP:
		return kzip_run(q, n, seed, tag);
	default:
		return -EOPNOTSUPP;
	}
}
