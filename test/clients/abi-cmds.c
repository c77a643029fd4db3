/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: the helpers for the integration scripts (hold, wait-death, open) */
#include "abi-common.h"

/* --- helpers for the scripts ------------------------------------------------------ */

int cmd_hold(const char *dev, int shared)
{
	struct wd_queue q;

	set_ctx(dev, "hold");
	if (request_wd(&q, dev))
		return 1;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE)) {
		fail("reserve SS: %s", strerror(errno));
		return 1;
	}
	if (shared > 0) {	/* SVA: `shared` copies in memory shared with the device */
		unsigned char *p;
		void *m;
		int r = uacce_share_alloc(q.uq, 8192, &m);

		if (r) {
			fail("uacce_share_alloc: %s", strerror(-r));
			return 1;
		}
		p = m;
		for (int i = 0; i < shared; i++) {
			fill(p, 4096, (uint32_t)i);
			r = wd_copy(&q, p + 4096, p, 4096, (uint32_t)i);
			if (r || memcmp(p, p + 4096, 4096)) {
				fail("copy %d in shared memory: %s", i, r ? strerror(r) : "differs");
				return 1;
			}
		}
		ok("%d copies of 4 KiB in memory shared with the device", shared);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

int cmd_wait_death(const char *dev, bool raw_poll)
{
	struct wd_queue q;
	double t0, t1;
	void *resp;
	int r;

	set_ctx(dev, "wait-death");
	if (request_wd(&q, dev))
		return 1;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE)) {
		fail("reserve SS: %s", strerror(errno));
		return 1;
	}
	check_copy("a copy before the wait", &q);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	t0 = now_ms();
	if (raw_poll) {
		struct pollfd p = { .fd = q.fd, .events = POLLIN };

		do
			r = poll(&p, 1, -1);
		while ((r == 1 && !(p.revents & (POLLERR | POLLHUP | POLLNVAL))) ||
		       (r < 0 && errno == EINTR));
		t1 = now_ms();
		if (r == 1)
			ok("blocked poll(POLLIN) woke with revents 0x%x (POLLERR) after %.0f ms",
			   (unsigned)p.revents, t1 - t0);
		else
			fail("blocked poll: expected POLLERR got %d (%s)", r, strerror(errno));
	} else {
		r = wd_recv_sync(&q, &resp, 0);	/* 0: wait forever */
		t1 = now_ms();
		if (r < 0)
			ok("blocked wd_recv_sync returned %s after %.0f ms", ename(-r), t1 - t0);
		else
			fail("blocked wd_recv_sync: expected an error got %d", r);
	}
	expect("UACCE_CMD_START on the dead queue", xioctl(q.fd, UACCE_CMD_START, 0), ENOTCONN);
	expect("DUMMY_CMD_FLUSH on the dead queue", xioctl(q.fd, DUMMY_CMD_FLUSH, 0), ENOTCONN);
	wd_release_queue(&q);
	return n_fail ? 1 : 0;
}

int cmd_open(const char *dev, const char *want_s)
{
	int want = errno_by_name(want_s), fd, got;
	char path[512], what[600];

	set_ctx(dev, "open");
	if (want < 0) {
		fprintf(stderr, "abi-probe: unknown errno name %s\n", want_s);
		return 2;
	}
	if (strchr(dev, '/'))
		snprintf(path, sizeof(path), "%s", dev);
	else if ((got = uacce_dev_path(dev, path, sizeof(path))) < 0) {
		fail("no device path: %s", ename(-got));
		return 1;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	got = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	snprintf(what, sizeof(what), "open(%s) by uid %d", path, (int)getuid());
	expect(what, got, want);
	return n_fail ? 1 : 0;
}

/*
 * flood DEV MS [MIB]: for MS ms, fill the ring of a started queue with
 * Q_BDS - 1 copies of MIB MiB (default 64; in SS on a non-SVA device) and
 * issue DUMMY_CMD_FLUSH, which makes the daemon process them all before it
 * answers.  Prints "ready PID" before the first FLUSH, and at the end
 * "flush-ms N MIN AVG MAX" (N FLUSHes, their durations).
 */
int cmd_flood(const char *dev, int ms, size_t mib)
{
	size_t sz = mib << 20;
	unsigned char *src, *heap = NULL;
	double end, min = 0, max = 0, sum = 0;
	struct rawq r;
	int n = 0;

	set_ctx(dev, "flood");
	if (!mib || rawq_open(&r, dev, 2 * sz))
		return 1;
	if (r.sva) {
		heap = malloc(2 * sz);
		if (!heap) {
			fail("malloc %zu MiB", 2 * mib);
			rawq_close(&r);
			return 1;
		}
	}
	src = r.sva ? heap : r.ss;
	memset(src, 0x5a, 2 * sz);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	end = now_ms() + ms;
	while (now_ms() < end) {
		double t0, d;
		int e;

		for (int i = 0; i < Q_BDS - 1; i++)
			rawq_submit(&r, src, src + sz, sz, false);
		t0 = now_ms();
		e = xioctl(r.fd, DUMMY_CMD_FLUSH, 0);
		d = now_ms() - t0;
		if (e || !rawq_done(&r)) {
			fail("DUMMY_CMD_FLUSH %d: %s, ring %s", n + 1, ename(e),
			     rawq_done(&r) ? "done" : "not done");
			break;
		}
		for (int i = 0; i < Q_BDS - 1; i++)
			if (rawq_take(&r) != 0)
				fail("FLUSH %d: a copy failed", n + 1);
		min = n && min < d ? min : d;
		max = max > d ? max : d;
		sum += d;
		n++;
	}
	info("%d FLUSHes of %d x %zu MiB in %d ms: %.0f ms each at least, %.0f on average, "
	     "%.0f at most", n, Q_BDS - 1, mib, ms, min, n ? sum / n : 0, max);
	printf("flush-ms %d %.0f %.0f %.0f\n", n, min, n ? sum / n : 0, max);
	free(heap);
	rawq_close(&r);
	return n_fail || !n ? 1 : 0;
}

/*
 * open-start DEV N: N times open DEV, START, close (with 50 ms between);
 * prints "open-start-ms N MAX AVG".
 */
int cmd_open_start(const char *dev, int n)
{
	double max = 0, sum = 0;

	set_ctx(dev, "open-start");
	for (int i = 0; i < n; i++) {
		double t0 = now_ms(), d;
		struct uacce_q *q;
		int e;

		e = uacce_queue_open(dev, &q);
		if (e) {
			fail("open %d: %s", i + 1, ename(-e));
			return 1;
		}
		e = uacce_queue_start(q);
		uacce_queue_close(q);
		d = now_ms() - t0;
		if (e) {
			fail("START %d: %s", i + 1, ename(-e));
			return 1;
		}
		max = max > d ? max : d;
		sum += d;
		sleep_ms(50);
	}
	info("%d x open+START+close: %.0f ms at most, %.0f on average", n, max, n ? sum / n : 0);
	printf("open-start-ms %d %.0f %.0f\n", n, max, n ? sum / n : 0);
	return 0;
}
