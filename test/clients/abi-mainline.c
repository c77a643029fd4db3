/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * abi-probe: "mainline DEV", the rules of the mainline ABI profile (ABI.md
 * "Profiles", hisi-qm.md A.2-A.5) on a device configured "abi":
 * "mainline", through the real daemon and its broker: the attribute set,
 * START_Q/PUT_Q at 'W' 0/1 (stop only, START_Q again), the queue taken at
 * open, regions by mmap page offset (EINVAL, EEXIST, exact DUS size), and
 * a forked child (no mappings, EPERM from the daemon itself).
 */
#include "abi-common.h"

/* the mainline numbers, as the kernel's uapi header has them */
#define ML_START_Q	_IO('W', 0)
#define ML_PUT_Q	_IO('W', 1)

static uint64_t attr_u64(const char *dev, const char *name, int *err)
{
	char buf[64];
	int r = uacce_dev_attr(dev, name, buf, sizeof(buf));

	*err = r < 0 ? -r : 0;
	return r < 0 ? 0 : strtoull(buf, NULL, 10);
}

static void check_attrs(const char *dev)
{
	static const char *const absent[] = { "qfrs_offset", "id", "node_id", "numa_distance" };
	char buf[64];
	uint64_t v;
	int err;

	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		char what[96];
		int r = uacce_dev_attr(dev, absent[i], buf, sizeof(buf));

		snprintf(what, sizeof(what), "v4 attribute %s absent", absent[i]);
		expect(what, r < 0 ? -r : 0, ENOENT);
	}
	v = attr_u64(dev, "isolate", &err);
	expect_true("isolate reads 0", !err && v == 0, err ? ename(err) : "another value");
	v = attr_u64(dev, "isolate_strategy", &err);
	expect_true("isolate_strategy reads 0", !err && v == 0, err ? ename(err) : "another value");
	attr_u64(dev, "region_mmio_size", &err);
	expect("region_mmio_size present", err, 0);
}

/* mmap through libuacce (UB_MMAP): 0 or the errno */
static int try_mmap(struct uacce_q *q, size_t len, off_t off, void **p)
{
	void *a = uacce_mmap(q, len, off);

	if (p)
		*p = a == MAP_FAILED ? NULL : a;
	return a == MAP_FAILED ? errno : 0;
}

static void check_ioctls(const char *dev, int fd, int n0)
{
	char got[64];
	int a;

	expect("PUT_Q ('W' 1) in INIT: a no-op", xioctl(fd, ML_PUT_Q, 0), 0);
	expect("START_Q ('W' 0)", xioctl(fd, ML_START_Q, 0), 0);
	expect("START_Q again", xioctl(fd, ML_START_Q, 0), EINVAL);
	expect("PUT_Q: stop", xioctl(fd, ML_PUT_Q, 0), 0);
	expect("PUT_Q again", xioctl(fd, ML_PUT_Q, 0), 0);
	a = avail(dev);
	snprintf(got, sizeof(got), "%d (before open %d)", a, n0);
	expect_true("PUT_Q keeps the hardware queue (available_instances)", a == n0 - 1, got);
	expect("START_Q after PUT_Q", xioctl(fd, ML_START_Q, 0), 0);
	expect("_IO('W', 2) (v4's PUT_Q number): the device's, none", xioctl(fd, _IO('W', 2), 0),
	       EINVAL);
	expect("START_Q while started (v4's SHARE_SVAS number is START_Q here)",
	       xioctl(fd, ML_START_Q, (unsigned long)fd), EINVAL);
}

static void check_regions(const char *dev, struct uacce_q *q)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t mmio, dus;
	void *p = NULL, *p2;
	int err, derr;

	mmio = attr_u64(dev, "region_mmio_size", &err);
	dus = attr_u64(dev, "region_dus_size", &derr);
	expect("mmap page offset 2", try_mmap(q, (size_t)pg, 2 * pg, NULL), EINVAL);
	expect("mmap page offset 16", try_mmap(q, (size_t)pg, 16 * pg, NULL), EINVAL);
	expect("mmap offset not page aligned", try_mmap(q, (size_t)pg, 100, NULL), EINVAL);
	expect("MMIO larger than region_mmio_size", try_mmap(q, mmio + (uint64_t)pg, 0, NULL),
	       EINVAL);
	if (derr) {
		expect("DUS of a device without one", try_mmap(q, (size_t)pg, pg, NULL), EINVAL);
	} else {
		expect("DUS one page short", try_mmap(q, dus - (uint64_t)pg, pg, NULL), EINVAL);
		expect("DUS one page long", try_mmap(q, dus + (uint64_t)pg, pg, NULL), EINVAL);
		expect("DUS with its exact size", try_mmap(q, dus, pg, &p2), 0);
		expect("DUS again: EEXIST", try_mmap(q, dus, pg, NULL), EEXIST);
	}
	expect("MMIO with one page", try_mmap(q, (size_t)pg, 0, &p), 0);
	expect("MMIO again: EEXIST", try_mmap(q, (size_t)pg, 0, NULL), EEXIST);
	expect("MMIO unmapped (UB_UNMAP)", -uacce_unmap_region(q, UACCE_QFRT_MMIO), 0);
	expect("MMIO maps again after the unmap", try_mmap(q, mmio, 0, &p), 0);
}

/* a forked child: no mapping, and the daemon refuses it (not only libuacce) */
static void check_fork(struct uacce_q *q)
{
	void *mm = uacce_region_addr(q, UACCE_QFRT_MMIO);
	int fd = uacce_queue_fd(q), st;
	pid_t pid = fork();

	if (pid == 0) {
		int bad = 0;

		bad |= mm && mapped_err(mm, 4096) != ENOMEM;
		bad |= (xioctl(fd, ML_PUT_Q, 0) != EPERM) << 1;
		bad |= (bk_attach_status(fd, NULL) != -EPERM) << 2;
		_exit(bad);
	}
	st = child_status(pid, 10000);
	expect("forked child: region not inherited (1), PUT_Q EPERM (2), broker attach EPERM "
	       "(4): failed checks", st, 0);
	expect("the parent still owns the queue: PUT_Q", xioctl(fd, ML_PUT_Q, 0), 0);
}

/*
 * A non-SVA dummy has no SS: it reaches only its DUS after the register
 * part, as the client mapped it (wd_reserve_memory returns that part).
 */
static void check_nonsva_data(const char *dev)
{
	unsigned char *data, heap[4096];
	struct wd_queue q;
	uint64_t dus;
	int err;

	if (request_wd(&q, dev))
		return;
	dus = attr_u64(dev, "region_dus_size", &err);
	data = wd_reserve_memory(&q, 8192);
	expect("wd_reserve_memory (the DUS's data part)", data ? 0 : errno, 0);
	expect("wd_reserve_memory beyond the DUS", wd_reserve_memory(&q, dus + 1) ? 0 : errno,
	       ENOMEM);
	if (data) {
		check_copy("a copy inside the data part", &q);
		fill(data, 4096, 9);
		expect("a copy from the heap (outside the DUS)", wd_copy(&q, data + 4096, heap, 64, 3),
		       EFAULT);
		expect("a copy to the heap", wd_copy(&q, heap, data, 64, 5), EFAULT);
	}
	wd_release_queue(&q);
}

int cmd_mainline(const char *dev)
{
	char api[64];

	struct uacce_q *q;
	int n0;

	set_ctx(dev, "mainline");
	check_attrs(dev);
	n0 = avail(dev);
	if (open_q(dev, &q))
		return 1;
	{
		char got[64];
		int a = avail(dev);

		snprintf(got, sizeof(got), "%d (before open %d)", a, n0);
		expect_true("available_instances drops at open", a == n0 - 1, got);
	}
	check_ioctls(dev, uacce_queue_fd(q), n0);
	check_regions(dev, q);
	check_fork(q);
	uacce_queue_close(q);
	if (uacce_dev_attr(dev, "api", api, sizeof(api)) > 0 && strncmp(api, "dummy_", 6) == 0 &&
	    !is_sva(dev)) {
		/* the previous queue's release may still be on its way (FUSE) */
		wait_avail(dev, n0, 3000);
		check_nonsva_data(dev);
	}
	{
		char got[64];
		int a = wait_avail(dev, n0, 3000);

		snprintf(got, sizeof(got), "%d (before open %d)", a, n0);
		expect_true("available_instances back after close (release)", a == n0, got);
	}
	printf("abi-probe: %d ok, %d failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}
