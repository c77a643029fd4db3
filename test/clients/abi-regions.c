/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: regions (sizes, SS rules, SHARE_SVAS, RLIMIT_DATA) */
#include "abi-common.h"

static const char *expected_qfrs(const char *api)
{
	if (strcmp(api, "dummy_v1") == 0)
		return "0\t18446744073709551615\t18446744073709551615\t4096";
	if (strcmp(api, "dummy_v2") == 0)
		return "0\t18446744073709551615\t4096\t8192";
	return NULL;
}

void sc_region_sizes(const char *dev)
{
	char buf[256], api[64] = "";
	const char *want;
	uint64_t off, size;
	struct uacce_q *q;
	void *p;

	set_ctx(dev, "region-sizes");
	uacce_dev_attr(dev, "api", api, sizeof(api));
	want = expected_qfrs(api);
	if (want && uacce_dev_attr(dev, "qfrs_offset", buf, sizeof(buf)) >= 0) {
		if (strcmp(buf, want) == 0)
			ok("qfrs_offset of %s is \"%s\"", api, buf);
		else
			fail("qfrs_offset of %s: expected \"%s\" got \"%s\"", api, want, buf);
	}
	if (open_q(dev, &q))
		return;
	expect("UACCE_CMD_START", -uacce_queue_start(q), 0);
	if (uacce_region_info(q, UACCE_QFRT_MMIO, &off, &size) == 0) {
		p = uacce_mmap(q, size * 2, (off_t)off);
		expect("mmap MMIO with twice its size", p == MAP_FAILED ? errno : 0, EINVAL);
		p = uacce_mmap(q, size / 2, (off_t)off);
		expect("mmap MMIO with half its size", p == MAP_FAILED ? errno : 0, EINVAL);
		p = uacce_mmap(q, size, (off_t)off);
		if (expect("mmap MMIO with its size", p == MAP_FAILED ? errno : 0, 0) &&
		    strcmp(api, "dummy_v1") == 0) {
			struct dummy_hw_queue_reg *reg = p;

			expect_true("MMIO holds the dummy register page (tag WDDUMMY, 16 BDs)",
				    memcmp(reg->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ) == 0 &&
					    reg->ring_bd_num == Q_BDS,
				    "another content");
		}
		p = uacce_mmap(q, size, (off_t)off);
		expect("mmap MMIO a second time", p == MAP_FAILED ? errno : 0, EBUSY);
	} else {
		fail("no MMIO region in qfrs_offset");
	}
	if (uacce_region_info(q, UACCE_QFRT_DUS, &off, &size) == 0) {
		p = uacce_mmap(q, size + 4096, (off_t)off);
		expect("mmap DUS with a wrong size", p == MAP_FAILED ? errno : 0, EINVAL);
		p = uacce_mmap(q, size, (off_t)off);
		if (expect("mmap DUS with its size", p == MAP_FAILED ? errno : 0, 0)) {
			struct dummy_hw_queue_reg *reg = p;

			expect_true("DUS holds the dummy register page (tag WDDUMMY, 16 BDs)",
				    memcmp(reg->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ) == 0 &&
					    reg->ring_bd_num == Q_BDS,
				    "another content");
		}
		p = uacce_mmap(q, size, (off_t)off);
		expect("mmap DUS a second time", p == MAP_FAILED ? errno : 0, EBUSY);
	} else {
		/* dummy_v1: no DUS; offset 8192 names no region */
		p = uacce_mmap(q, 4096, 8192);
		expect("mmap at offset 8192 (no region there, no DUS on this device)",
		       p == MAP_FAILED ? errno : 0, EINVAL);
		expect("DUS region request to the daemon (absent)",
		       -uacce_map_region(q, UACCE_QFRT_DUS, 4096, &p), EINVAL);
	}
	expect("DKO region request to the daemon (absent on dummy devices)",
	       -uacce_map_region(q, UACCE_QFRT_DKO, 4096, &p), EINVAL);
	p = uacce_mmap(q, 4096, 1);
	expect("mmap at offset 1 (no region)", p == MAP_FAILED ? errno : 0, EINVAL);
	uacce_queue_close(q);
}

void sc_ss_rules(const char *dev)
{
	uint64_t off, size;
	struct uacce_q *q;
	bool sva = is_sva(dev);
	void *p;

	set_ctx(dev, "ss-rules");
	if (open_q(dev, &q))
		return;
	if (!sva) {
		expect("map SS before START", -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p),
		       EINVAL);
		expect("UACCE_CMD_START", -uacce_queue_start(q), 0);
		if (expect("map SS after START", -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p),
			   0)) {
			memset(p, 0x5a, SS_SIZE);
			ok("SS is writable by the user");
		}
		expect("map SS a second time", -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p),
		       EBUSY);
		expect("DKO (absent on dummy devices)",
		       -uacce_map_region(q, UACCE_QFRT_DKO, 4096, &p), EINVAL);
	} else {
		expect("map SS before START (SVA)",
		       -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p), EINVAL);
		expect("UACCE_CMD_START", -uacce_queue_start(q), 0);
		expect("map SS on an SVA device", -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p),
		       EINVAL);
		if (uacce_region_info(q, UACCE_QFRT_SS, &off, &size) == 0) {
			p = uacce_mmap(q, SS_SIZE, (off_t)off);
			expect("mmap at the SS offset on an SVA device",
			       p == MAP_FAILED ? errno : 0, EINVAL);
		}
		expect("map DKO on an SVA device", -uacce_map_region(q, UACCE_QFRT_DKO, 4096, &p),
		       EINVAL);
	}
	uacce_queue_close(q);
}


/* another non-SVA dummy device with another api, if the daemon has one */
static char *other_nonsva(const char *dev)
{
	char path[512], api[64], api2[64];
	struct dirent *de;
	char *found = NULL;
	DIR *d;

	if (uacce_dev_attr(dev, "api", api, sizeof(api)) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/class", uacce_runtime_dir());
	d = opendir(path);
	if (!d)
		return NULL;
	while (!found && (de = readdir(d)))
		if (strncmp(de->d_name, "uacce-", 6) == 0 && strcmp(de->d_name, dev) != 0 &&
		    !is_sva(de->d_name) &&
		    uacce_dev_attr(de->d_name, "api", api2, sizeof(api2)) >= 0 &&
		    strncmp(api2, "dummy_", 6) == 0 && strcmp(api, api2) != 0)
			found = strdup(de->d_name);
	closedir(d);
	return found;
}

static void share_other_type(const char *dev)
{
	char *other = other_nonsva(dev), what[200];
	struct wd_queue a, c;

	if (!other)
		return;
	if (request_wd(&a, dev) == 0) {
		if (!wd_reserve_memory(&a, SS_SIZE)) {
			fail("reserve SS: %s", strerror(errno));
		} else if (request_wd(&c, other) == 0) {
			snprintf(what, sizeof(what), "SHARE_SVAS into a queue of %s (api %s) from %s",
				 other, uacce_queue_api(c.uq), dev);
			expect(what, xioctl(c.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
			wd_release_queue(&c);
		}
		wd_release_queue(&a);
	}
	free(other);
}

void sc_share(const char *dev, const char *svadev)
{
	struct wd_queue a, b;
	struct uacce_q *d;
	int pfd[2], nullfd, badfd;
	unsigned char *ss;
	void *p;

	set_ctx(dev, "share");
	if (request_wd(&a, dev))
		return;
	if (request_wd(&b, dev)) {
		wd_release_queue(&a);
		return;
	}
	expect("SHARE_SVAS from a source without SS",
	       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
	ss = wd_reserve_memory(&a, SS_SIZE);
	if (!ss) {
		fail("reserve SS on queue A: %s", strerror(errno));
		goto out;
	}
	if (open_q(dev, &d) == 0) {
		expect("SHARE_SVAS on a queue that is not STARTED",
		       xioctl(uacce_queue_fd(d), UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
		uacce_queue_close(d);
	}
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	expect("SHARE_SVAS with an fd of /dev/null",
	       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)nullfd), EINVAL);
	close(nullfd);
	if (pipe2(pfd, O_CLOEXEC) == 0) {
		expect("SHARE_SVAS with a pipe fd",
		       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)pfd[0]), EINVAL);
		close(pfd[0]);
		close(pfd[1]);
	}
	for (badfd = 900; badfd < 1000 && fcntl(badfd, F_GETFD) >= 0; badfd++)
		;
	expect2("SHARE_SVAS with an fd number that is not open",
		xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)badfd), EBADF, EINVAL);
	expect2("SHARE_SVAS with fd -1", xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)-1),
		EBADF, EINVAL);
	expect("SHARE_SVAS with its own fd", xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)b.fd),
	       EINVAL);
	if (expect("SHARE_SVAS of A's SS into B", -wd_share_reserved_memory(&a, &b), 0)) {
		int r;

		fill(ss, 4096, 11);
		memset(ss + 16384, 0, 4096);
		r = wd_copy(&b, ss + 16384, ss, 4096, 11);
		expect("B copies inside the shared SS", r, 0);
		expect_true("B's copy landed in A's memory", r == 0 && memcmp(ss, ss + 16384, 4096) == 0,
			    "different bytes");
		fill(ss + 4096, 4096, 12);
		r = wd_copy(&a, ss + 32768, ss + 4096, 4096, 12);
		expect_true("A still copies in its SS",
			    r == 0 && memcmp(ss + 4096, ss + 32768, 4096) == 0, ename(r));
		expect("SHARE_SVAS again (B has an SS now)",
		       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
		expect("B maps SS itself after sharing",
		       -uacce_map_region(b.uq, UACCE_QFRT_SS, SS_SIZE, &p), EBUSY);
		/* the SS lives while a queue shares it (the bytes are A's mapping: gone) */
		wd_release_queue(&a);
		sleep_ms(50);
		expect("B still copies inside the shared SS after A was closed",
		       wd_copy(&b, ss + 16384, ss, 4096, 13), 0);
	}
out:
	wd_release_queue(&b);
	wd_release_queue(&a);
	share_other_type(dev);
	if (svadev) {
		set_ctx(svadev, "share");
		if (request_wd(&a, svadev))
			return;
		if (request_wd(&b, svadev) == 0) {
			expect("SHARE_SVAS between two queues of an SVA device",
			       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
			wd_release_queue(&b);
		}
		wd_release_queue(&a);
	}
}

void sc_rlimit(const char *dev)
{
	const rlim_t lim = 16 << 20;
	struct uacce_q *a = NULL, *b = NULL;
	struct rlimit old, rl;
	uint64_t off, size;
	int r[5];
	void *p;

	set_ctx(dev, "rlimit");
	if (getrlimit(RLIMIT_DATA, &old) < 0 || (old.rlim_max != RLIM_INFINITY && old.rlim_max < lim)) {
		fail("RLIMIT_DATA cannot be set to %lu", (unsigned long)lim);
		return;
	}
	/* everything that allocates happens before the limit is lowered */
	if (open_q(dev, &a) || open_q(dev, &b))
		goto out;
	uacce_region_info(a, UACCE_QFRT_MMIO, &off, &size);
	if (uacce_queue_start(a) || uacce_queue_start(b) ||
	    uacce_map_region(a, UACCE_QFRT_MMIO, size, &p) ||
	    uacce_map_region(b, UACCE_QFRT_MMIO, size, &p)) {
		fail("set-up (START, map MMIO) failed");
		goto out;
	}
	rl = old;
	rl.rlim_cur = lim;
	if (setrlimit(RLIMIT_DATA, &rl) < 0) {
		fail("setrlimit: %s", strerror(errno));
		goto out;
	}
	/* nothing but the region calls until the limit is restored (no printf:
	 * a sanitizer's allocator cannot grow under a small RLIMIT_DATA) */
	r[0] = -uacce_map_region(a, UACCE_QFRT_SS, 64 << 20, &p);
	r[1] = -uacce_map_region(a, UACCE_QFRT_SS, 17 << 20, &p);
	r[2] = -uacce_map_region(a, UACCE_QFRT_SS, 8 << 20, &p);
	r[3] = -uacce_map_region(b, UACCE_QFRT_SS, 8 << 20, &p);
	r[4] = -uacce_map_region(b, UACCE_QFRT_SS, 4 << 20, &p);
	setrlimit(RLIMIT_DATA, &old);
	ok("RLIMIT_DATA lowered to 16 MiB for the following calls");
	expect("map an SS of 64 MiB (more than RLIMIT_DATA)", r[0], ENOMEM);
	expect("map an SS of 17 MiB (just over RLIMIT_DATA)", r[1], ENOMEM);
	expect("map an SS of 8 MiB on queue A (under RLIMIT_DATA)", r[2], 0);
	expect("map 8 MiB more on queue B (the process's regions would pass RLIMIT_DATA)", r[3],
	       ENOMEM);
	expect("map 4 MiB on queue B (fits)", r[4], 0);
out:
	if (b)
		uacce_queue_close(b);
	if (a)
		uacce_queue_close(a);
}
