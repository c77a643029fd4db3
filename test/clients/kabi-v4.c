/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kabi-v4.c - the v4 profile (uacce patch series v4, 2019) as a program
 * of that ABI uses it: the public uacce.h, regions selected by the byte
 * offsets of qfrs_offset, a region's size = the distance to the next
 * present region, SS (non-SVA only) mapped after START with a size of our
 * choosing, PUT_Q gives the hardware queue back (START after it: EINVAL),
 * a second map of a region: EBUSY, a non-SVA (SHARE_DOMAIN) device held
 * by one process at a time (EBUSY for another opener).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uacce/uacce.h>

#include "kabi.h"

#define SS_SIZE		(64 * 1024)

static enum kabi_kind kind_of(const char *api)
{
	if (strcmp(api, "dummy_v1") == 0)
		return KABI_DUMMY_V1;
	if (strcmp(api, "dummy_v2") == 0)
		return KABI_DUMMY_V2;
	if (strcmp(api, "uacce_zip_v1") == 0)
		return KABI_ZIP;
	return KABI_OTHER;
}

/* qfrs_offset: UACCE_QFRT_NR offsets, tab separated, NA = ~0 */
static int parse_qfrs(const char *s, uint64_t off[4])
{
	char *end;

	for (int i = 0; i < UACCE_QFRT_NR; i++) {
		errno = 0;
		off[i] = strtoull(s, &end, 10);
		if (errno || end == s || (i < UACCE_QFRT_NR - 1 && *end != '\t') ||
		    (i == UACCE_QFRT_NR - 1 && *end))
			return -EPROTO;
		s = end + 1;
	}
	return 0;
}

/* distance to the next present region (SS has no size of its own) */
static size_t region_size(const uint64_t off[4], int t)
{
	if (off[t] == UACCE_QFR_NA)
		return 0;
	for (int n = t + 1; n < UACCE_QFRT_NR; n++)
		if (off[n] != UACCE_QFR_NA)
			return off[n] > off[t] ? (size_t)(off[n] - off[t]) : 0;
	return 0;
}

static bool v4_probe(struct kdev *d)
{
	char buf[256];
	unsigned long flags;
	long a;

	if (kattr(d->name, "qfrs_offset", buf, sizeof(buf)) || parse_qfrs(buf, d->off))
		return false;
	if (kattr(d->name, "api", d->api, sizeof(d->api)) ||
	    kattr_ul(d->name, "flags", &flags))
		return false;
	d->kind = kind_of(d->api);
	d->sva = flags & UACCE_DEV_SVA;
	d->mmio_size = region_size(d->off, UACCE_QFRT_MMIO);
	d->dus_size = region_size(d->off, UACCE_QFRT_DUS);
	a = kavail(d->name);
	d->queues = a < 0 ? 0 : a;
	return true;
}

static int node_open(const struct kdev *d)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/dev/%s", d->name);
	return open(path, O_RDWR | O_CLOEXEC);
}

static void *map(int fd, size_t len, uint64_t off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
}

static void v4_close(struct kq *q)
{
	if (q->ss)
		munmap(q->ss, q->ss_size);
	if (q->dus)
		munmap(q->dus, q->d->dus_size);
	if (q->mmio)
		munmap(q->mmio, q->d->mmio_size);
	kdata_free(q);
	if (q->fd >= 0)
		close(q->fd);
	q->ss = q->dus = q->mmio = NULL;
	q->fd = -1;
}

static int v4_open(struct kq *q, const struct kdev *d)
{
	int err = 0;

	memset(q, 0, sizeof(*q));
	q->d = d;
	q->fd = node_open(d);
	if (q->fd < 0)
		return -errno;
	q->mmio = map(q->fd, d->mmio_size, d->off[UACCE_QFRT_MMIO]);
	if (q->mmio == MAP_FAILED) {
		q->mmio = NULL;
		err = -errno;
		goto out;
	}
	if (d->dus_size) {
		q->dus = map(q->fd, d->dus_size, d->off[UACCE_QFRT_DUS]);
		if (q->dus == MAP_FAILED) {
			q->dus = NULL;
			err = -errno;
			goto out;
		}
	}
	if (ioctl(q->fd, UACCE_CMD_START, 0) < 0) {
		err = -errno;
		goto out;
	}
	if (!d->sva) {	/* SS: after START, our size */
		q->ss = map(q->fd, SS_SIZE, d->off[UACCE_QFRT_SS]);
		if (q->ss == MAP_FAILED) {
			q->ss = NULL;
			err = -errno;
			goto out;
		}
		q->ss_size = SS_SIZE;
		q->data = q->ss;
		q->data_size = SS_SIZE;
	}
	err = kdata_setup(q);
out:
	if (err)
		v4_close(q);
	return err;
}

/* --- the rules -------------------------------------------------------------------- */

static void rules_regions(const struct kdev *d, int fd, const char *n)
{
	uint64_t mo = d->off[UACCE_QFRT_MMIO];
	char w[160];
	void *m = NULL;

	snprintf(w, sizeof(w), "%s: mmap MMIO with twice its size", n);
	kmap_expect(w, fd, 2 * d->mmio_size, (off_t)mo, EINVAL, NULL);
	snprintf(w, sizeof(w), "%s: mmap at an offset no region has (1 MiB)", n);
	kmap_expect(w, fd, 4096, 1 << 20, EINVAL, NULL);
	snprintf(w, sizeof(w), "%s: mmap MMIO (%zu bytes at offset %llu)", n, d->mmio_size,
		 (unsigned long long)mo);
	kmap_expect(w, fd, d->mmio_size, (off_t)mo, 0, &m);
	snprintf(w, sizeof(w), "%s: mmap MMIO a second time", n);
	kmap_expect(w, fd, d->mmio_size, (off_t)mo, EBUSY, NULL);
	if (m) {
		munmap(m, d->mmio_size);
		snprintf(w, sizeof(w), "%s: mmap MMIO again after munmap", n);
		kmap_expect(w, fd, d->mmio_size, (off_t)mo, 0, NULL);
	}
	if (d->dus_size) {
		uint64_t o = d->off[UACCE_QFRT_DUS];

		snprintf(w, sizeof(w), "%s: mmap DUS with a page more than its %zu bytes", n,
			 d->dus_size);
		kmap_expect(w, fd, d->dus_size + 4096, (off_t)o, EINVAL, NULL);
		snprintf(w, sizeof(w), "%s: mmap DUS with its size", n);
		kmap_expect(w, fd, d->dus_size, (off_t)o, 0, NULL);
	}
	if (d->off[UACCE_QFRT_SS] == UACCE_QFR_NA)
		return;
	snprintf(w, sizeof(w), "%s: mmap SS before START (%s)", n, d->sva ? "SVA" : "non-SVA");
	kmap_expect(w, fd, SS_SIZE, (off_t)d->off[UACCE_QFRT_SS], EINVAL, NULL);
}

static void rules_started(const struct kdev *d, int fd, const char *n)
{
	void *ss = NULL;
	char w[160];

	snprintf(w, sizeof(w), "%s: START", n);
	KEXPECT(w, ioctl(fd, UACCE_CMD_START, 0), 0);
	snprintf(w, sizeof(w), "%s: START a second time", n);
	KEXPECT(w, ioctl(fd, UACCE_CMD_START, 0), EINVAL);
	snprintf(w, sizeof(w), "%s: an unknown 'W' ioctl (_IO('W', 50))", n);
	KEXPECT(w, ioctl(fd, _IO('W', 50), 0), EINVAL);
	if (d->off[UACCE_QFRT_SS] == UACCE_QFR_NA) {
		if (!d->sva)
			kfail("%s: a non-SVA device without an SS region in qfrs_offset", n);
		return;
	}
	snprintf(w, sizeof(w), "%s: mmap SS after START (%s)", n, d->sva ? "SVA" : "non-SVA");
	if (d->sva) {
		kmap_expect(w, fd, SS_SIZE, (off_t)d->off[UACCE_QFRT_SS], EINVAL, NULL);
		return;
	}
	kmap_expect(w, fd, SS_SIZE, (off_t)d->off[UACCE_QFRT_SS], 0, &ss);
	snprintf(w, sizeof(w), "%s: mmap SS a second time", n);
	kmap_expect(w, fd, SS_SIZE, (off_t)d->off[UACCE_QFRT_SS], EBUSY, NULL);
	if (ss)
		munmap(ss, SS_SIZE);
}

/* mremap of a mapped region must fail (the kernel's VM_DONTEXPAND) */
static void rules_mremap(struct kq *q, const char *n)
{
	void *p = mremap(q->mmio, q->d->mmio_size, 2 * q->d->mmio_size, MREMAP_MAYMOVE);

	if (p == MAP_FAILED) {
		kok("%s: mremap of MMIO to twice its size fails (%s)", n, kename(errno));
	} else {
		kfail("%s: mremap of MMIO to twice its size succeeded", n);
		q->mmio = p;	/* what close unmaps: its first part */
	}
}

static void v4_rules(const struct kdev *d)
{
	const char *n = d->name;
	long a0 = kavail(n);
	struct kq q;
	char w[160];
	int fd, err;

	fd = node_open(d);
	snprintf(w, sizeof(w), "%s: open", n);
	if (!kexpect(w, fd, errno, 0))
		return;
	if (kavail(n) == a0 - 1)
		kok("%s: available_instances %ld -> %ld at open", n, a0, a0 - 1);
	else
		kfail("%s: available_instances after open: expected %ld got %ld", n, a0 - 1, kavail(n));
	rules_regions(d, fd, n);
	rules_started(d, fd, n);
	close(fd);
	if (kavail_wait(n, a0, 1000))
		kok("%s: available_instances back to %ld after close", n, a0);
	else
		kfail("%s: available_instances after close: expected %ld got %ld", n, a0, kavail(n));

	/* a working queue: requests, mremap, PUT_Q, START after it */
	err = v4_open(&q, d);
	if (err) {
		kfail("%s: open, map, START: %s", n, kename(-err));
		return;
	}
	err = kwork(&q, 20, 7, n);
	if (!err)
		kok("%s: 20 requests, results byte-exact", n);
	krefused(&q, n);
	rules_mremap(&q, n);
	snprintf(w, sizeof(w), "%s: PUT_Q", n);
	KEXPECT(w, ioctl(q.fd, UACCE_CMD_PUT_Q, 0), 0);
	if (kavail_wait(n, a0, 1000))
		kok("%s: available_instances back to %ld after PUT_Q", n, a0);
	else
		kfail("%s: available_instances after PUT_Q: expected %ld got %ld", n, a0, kavail(n));
	snprintf(w, sizeof(w), "%s: START after PUT_Q", n);
	KEXPECT(w, ioctl(q.fd, UACCE_CMD_START, 0), EINVAL);
	v4_close(&q);
}

/* in a child: the parent's queue is not ours */
static void v4_stranger(struct kq *p)
{
	const char *n = p->d->name;
	unsigned char vec;
	char w[160];

	snprintf(w, sizeof(w), "%s: child: the parent's MMIO mapping is absent (mincore)", n);
	KEXPECT(w, mincore(p->mmio, 4096, &vec), ENOMEM);
	snprintf(w, sizeof(w), "%s: child: START on the parent's queue", n);
	KEXPECT(w, ioctl(p->fd, UACCE_CMD_START, 0), EPERM);
	snprintf(w, sizeof(w), "%s: child: PUT_Q on the parent's queue", n);
	KEXPECT(w, ioctl(p->fd, UACCE_CMD_PUT_Q, 0), EPERM);
	snprintf(w, sizeof(w), "%s: child: mmap MMIO of the parent's queue", n);
	kmap_expect(w, p->fd, p->d->mmio_size, (off_t)p->d->off[UACCE_QFRT_MMIO], EPERM, NULL);
	if (!p->d->sva) {	/* SHARE_DOMAIN: one process at a time */
		int fd = node_open(p->d);

		snprintf(w, sizeof(w), "%s: child: open of the non-SVA device its parent holds", n);
		kexpect(w, fd, errno, EBUSY);
		if (fd >= 0)
			close(fd);
	}
}

/* SHARE_DOMAIN: a child cannot open the device its parent holds */
static bool v4_child_opens(const struct kdev *d)
{
	return d->sva;
}

const struct kprofile kabi_profile = {
	.name = "v4",
	.child_opens = v4_child_opens,
	.probe = v4_probe,
	.open = v4_open,
	.close = v4_close,
	.rules = v4_rules,
	.stranger = v4_stranger,
};
