/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: the helpers for the integration scripts (hold, wait-death, open) */
#include "abi-common.h"

/* --- helpers for the scripts ------------------------------------------------------ */

int cmd_hold(const char *dev)
{
	struct wd_queue q;

	set_ctx(dev, "hold");
	if (request_wd(&q, dev))
		return 1;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE)) {
		fail("reserve SS: %s", strerror(errno));
		return 1;
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
