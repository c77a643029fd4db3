/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kabi-mainline.c - the mainline profile (Linux >= 5.7, with the 2025
 * stable fixes) as a mainline uacce program uses it.  Like such a program
 * it carries its own copy of the kernel's uapi numbers (below, from
 * include/uapi/misc/uacce/uacce.h: hisi-qm.md A.1), finds devices in
 * /sys/class/uacce by region_mmio_size/region_dus_size, maps a region by
 * page offset = region type with exactly the published size, and follows
 * A.2 and A.5: START_Q from INIT only, PUT_Q stops (the queue is given back
 * at close, START_Q works again), a second map EEXIST, pgoff >= 2 EINVAL,
 * mremap EPERM, mappings not inherited by a child.  A non-SVA device has
 * no SS: its DUS holds the request data beyond what the device uses.
 * Devices that publish qfrs_offset speak v4 and are left to kabi-v4.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uacce/dummy_usr_if.h>
#include <uacce/zip_usr_if.h>

#include "kabi.h"

/* the kernel's include/uapi/misc/uacce/uacce.h (mainline) */
#define UACCE_CMD_START_Q	_IO('W', 0)
#define UACCE_CMD_PUT_Q		_IO('W', 1)
#define UACCE_DEV_SVA		0x1
enum uacce_qfrt {
	UACCE_QFRT_MMIO = 0,
	UACCE_QFRT_DUS = 1,
};

static size_t page;

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

static bool ml_probe(struct kdev *d)
{
	unsigned long flags, v;
	long a;

	page = (size_t)sysconf(_SC_PAGESIZE);
	if (kattr_exists(d->name, "qfrs_offset"))
		return false;	/* a v4 device */
	if (kattr(d->name, "api", d->api, sizeof(d->api)) || kattr_ul(d->name, "flags", &flags))
		return false;
	d->kind = kind_of(d->api);
	d->sva = flags & UACCE_DEV_SVA;
	/* hidden when the region is absent */
	d->mmio_size = kattr_ul(d->name, "region_mmio_size", &v) ? 0 : v;
	d->dus_size = kattr_ul(d->name, "region_dus_size", &v) ? 0 : v;
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

static void *map(int fd, size_t len, int type)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)type * (off_t)page);
}

static void ml_close(struct kq *q)
{
	if (q->dus)
		munmap(q->dus, q->d->dus_size);
	if (q->mmio)
		munmap(q->mmio, q->d->mmio_size);
	kdata_free(q);
	if (q->fd >= 0)
		close(q->fd);
	q->dus = q->mmio = NULL;
	q->fd = -1;
}

/*
 * non-SVA: the request data lives in the DUS, from the data offset the
 * device's interface header names to the end (region_dus_size)
 */
static int dus_data(struct kq *q)
{
	size_t off = q->d->kind == KABI_ZIP	     ? UACCE_ZIP_ML_DATA_OFFSET :
		     q->d->kind == KABI_DUMMY_V2 ? DUMMY_V2_ML_DATA_OFFSET :
						   DUMMY_V1_ML_DATA_OFFSET;

	if (!q->dus || q->d->dus_size <= off)
		return -ENOSPC;
	q->data = (uint8_t *)q->dus + off;
	q->data_size = q->d->dus_size - off;
	return 0;
}

static int ml_open(struct kq *q, const struct kdev *d)
{
	int err = 0;

	memset(q, 0, sizeof(*q));
	q->d = d;
	q->fd = node_open(d);
	if (q->fd < 0)
		return -errno;
	if (ioctl(q->fd, UACCE_CMD_START_Q, 0) < 0) {
		err = -errno;
		goto out;
	}
	if (d->mmio_size) {
		q->mmio = map(q->fd, d->mmio_size, UACCE_QFRT_MMIO);
		if (q->mmio == MAP_FAILED) {
			q->mmio = NULL;
			err = -errno;
			goto out;
		}
	}
	if (d->dus_size) {
		q->dus = map(q->fd, d->dus_size, UACCE_QFRT_DUS);
		if (q->dus == MAP_FAILED) {
			q->dus = NULL;
			err = -errno;
			goto out;
		}
	}
	if (!q->mmio || (d->kind == KABI_DUMMY_V2 && !q->dus) || (d->kind == KABI_ZIP && !q->dus)) {
		err = -ENXIO;	/* the device lacks a region its protocol needs */
		goto out;
	}
	err = d->sva ? kdata_setup(q) : dus_data(q);
out:
	if (err)
		ml_close(q);
	return err;
}

/* --- the rules ------------------------------------------------------------------- */

static void rules_maps(const struct kdev *d, int fd, const char *n, const char *state)
{
	char w[200];
	void *m = NULL, *u = NULL;

	snprintf(w, sizeof(w), "%s (%s): mmap MMIO (pgoff 0, %zu bytes)", n, state, d->mmio_size);
	kmap_expect(w, fd, d->mmio_size, 0, 0, &m);
	snprintf(w, sizeof(w), "%s (%s): mmap MMIO a second time", n, state);
	kmap_expect(w, fd, d->mmio_size, 0, EEXIST, NULL);
	if (d->dus_size) {
		snprintf(w, sizeof(w), "%s (%s): mmap DUS (pgoff 1, %zu bytes)", n, state,
			 d->dus_size);
		kmap_expect(w, fd, d->dus_size, (off_t)page, 0, &u);
		snprintf(w, sizeof(w), "%s (%s): mmap DUS a second time", n, state);
		kmap_expect(w, fd, d->dus_size, (off_t)page, EEXIST, NULL);
	}
	if (m) {
		munmap(m, d->mmio_size);
		snprintf(w, sizeof(w), "%s (%s): mmap MMIO again after munmap", n, state);
		kmap_expect(w, fd, d->mmio_size, 0, 0, &m);
		if (m)
			munmap(m, d->mmio_size);
	}
	if (u)
		munmap(u, d->dus_size);
}

static void rules_bad_maps(const struct kdev *d, int fd, const char *n)
{
	char w[200];

	for (int pg = 2; pg <= 16; pg += 14) {
		snprintf(w, sizeof(w), "%s: mmap at pgoff %d (no such region type)", n, pg);
		kmap_expect(w, fd, page, (off_t)pg * (off_t)page, EINVAL, NULL);
	}
	snprintf(w, sizeof(w), "%s: mmap at byte offset 100 (not page aligned)", n);
	kmap_expect(w, fd, page, 100, EINVAL, NULL);
	snprintf(w, sizeof(w), "%s: mmap MMIO with a page more than its %zu bytes", n, d->mmio_size);
	kmap_expect(w, fd, d->mmio_size + page, 0, EINVAL, NULL);
	if (!d->dus_size) {
		snprintf(w, sizeof(w), "%s: mmap DUS, a region this device lacks", n);
		kmap_expect(w, fd, page, (off_t)page, EINVAL, NULL);
		return;
	}
	snprintf(w, sizeof(w), "%s: mmap DUS with a page more than its %zu bytes", n, d->dus_size);
	kmap_expect(w, fd, d->dus_size + page, (off_t)page, EINVAL, NULL);
	if (d->dus_size > page) {
		snprintf(w, sizeof(w), "%s: mmap DUS with a page less than its %zu bytes", n,
			 d->dus_size);
		kmap_expect(w, fd, d->dus_size - page, (off_t)page, EINVAL, NULL);
	}
}

static void rules_ioctls(int fd, const char *n)
{
	char w[160];

	snprintf(w, sizeof(w), "%s: PUT_Q in INIT (a no-op)", n);
	KEXPECT(w, ioctl(fd, UACCE_CMD_PUT_Q, 0), 0);
	snprintf(w, sizeof(w), "%s: v4's PUT_Q number _IO('W', 2) (unknown here)", n);
	KEXPECT(w, ioctl(fd, _IO('W', 2), 0), EINVAL);
	snprintf(w, sizeof(w), "%s: START_Q", n);
	KEXPECT(w, ioctl(fd, UACCE_CMD_START_Q, 0), 0);
	snprintf(w, sizeof(w), "%s: START_Q a second time", n);
	KEXPECT(w, ioctl(fd, UACCE_CMD_START_Q, 0), EINVAL);
}

static void rules_mremap(struct kq *q, const char *n)
{
	void *to, *p;
	char w[160];

	p = mremap(q->mmio, q->d->mmio_size, 2 * q->d->mmio_size, MREMAP_MAYMOVE);
	snprintf(w, sizeof(w), "%s: mremap of MMIO to twice its size", n);
	if (!kexpect(w, p == MAP_FAILED ? -1 : 0, errno, EPERM) && p != MAP_FAILED)
		q->mmio = p;
	to = mmap(NULL, q->d->mmio_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED)
		return;
	p = mremap(q->mmio, q->d->mmio_size, q->d->mmio_size, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	snprintf(w, sizeof(w), "%s: mremap of MMIO to another address", n);
	if (!kexpect(w, p == MAP_FAILED ? -1 : 0, errno, EPERM) && p != MAP_FAILED)
		q->mmio = p;
	else
		munmap(to, q->d->mmio_size);
}

static void ml_rules(const struct kdev *d)
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
	rules_bad_maps(d, fd, n);
	rules_maps(d, fd, n, "INIT");
	rules_ioctls(fd, n);
	rules_maps(d, fd, n, "STARTED");
	close(fd);
	if (kavail_wait(n, a0, 1000))
		kok("%s: available_instances back to %ld after close", n, a0);
	else
		kfail("%s: available_instances after close: expected %ld got %ld", n, a0, kavail(n));

	/* a working queue: requests, mremap, PUT_Q (stop only), START_Q again */
	err = ml_open(&q, d);
	if (err) {
		kfail("%s: open, START_Q, map: %s", n, kename(-err));
		return;
	}
	if (!kwork(&q, 20, 3, n))
		kok("%s: 20 requests, results byte-exact", n);
	krefused(&q, n);
	/* non-SVA: only the DUS's data part, not the device's part before it */
	if (!d->sva && (uint8_t *)q.data - (uint8_t *)q.dus >= 4096)
		krefused_from(&q, q.dus, "the DUS before its data part (non-SVA)", n);
	rules_mremap(&q, n);
	snprintf(w, sizeof(w), "%s: PUT_Q on a started queue", n);
	KEXPECT(w, ioctl(q.fd, UACCE_CMD_PUT_Q, 0), 0);
	if (kavail(n) == a0 - 1)
		kok("%s: available_instances stays %ld after PUT_Q (given back at close)", n, a0 - 1);
	else
		kfail("%s: available_instances after PUT_Q: expected %ld got %ld", n, a0 - 1, kavail(n));
	snprintf(w, sizeof(w), "%s: START_Q after PUT_Q", n);
	if (KEXPECT(w, ioctl(q.fd, UACCE_CMD_START_Q, 0), 0) && !kwork(&q, 20, 4, n))
		kok("%s: 20 requests after PUT_Q + START_Q, results byte-exact", n);
	ml_close(&q);
	if (kavail_wait(n, a0, 1000))
		kok("%s: available_instances back to %ld after close", n, a0);
	else
		kfail("%s: available_instances after close: expected %ld got %ld", n, a0, kavail(n));
}

/* in a child: the parent's queue is not ours (uacced's one stricter rule) */
static void ml_stranger(struct kq *p)
{
	const char *n = p->d->name;
	unsigned char vec;
	char w[160];

	snprintf(w, sizeof(w), "%s: child: the parent's MMIO mapping is absent (mincore)", n);
	KEXPECT(w, mincore(p->mmio, page, &vec), ENOMEM);
	if (p->dus) {
		snprintf(w, sizeof(w), "%s: child: the parent's DUS mapping is absent (mincore)", n);
		KEXPECT(w, mincore(p->dus, page, &vec), ENOMEM);
	}
	snprintf(w, sizeof(w), "%s: child: START_Q on the parent's queue", n);
	KEXPECT(w, ioctl(p->fd, UACCE_CMD_START_Q, 0), EPERM);
	snprintf(w, sizeof(w), "%s: child: PUT_Q on the parent's queue", n);
	KEXPECT(w, ioctl(p->fd, UACCE_CMD_PUT_Q, 0), EPERM);
	snprintf(w, sizeof(w), "%s: child: mmap MMIO of the parent's queue", n);
	kmap_expect(w, p->fd, p->d->mmio_size, 0, EPERM, NULL);
}

static bool ml_child_opens(const struct kdev *d)
{
	(void)d;
	return true;
}

const struct kprofile kabi_profile = {
	.name = "mainline",
	.probe = ml_probe,
	.open = ml_open,
	.close = ml_close,
	.rules = ml_rules,
	.stranger = ml_stranger,
	.child_opens = ml_child_opens,
};
