/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: the queue state machine (START, PUT_Q, ioctls, instances) */
#include "abi-common.h"

/* --- scenarios ------------------------------------------------------------------ */

void sc_start_twice(const char *dev)
{
	struct uacce_q *q;
	int fd;

	set_ctx(dev, "start-twice");
	if (open_q(dev, &q))
		return;
	fd = uacce_queue_fd(q);
	expect("UACCE_CMD_START on a new queue", xioctl(fd, UACCE_CMD_START, 0), 0);
	expect("UACCE_CMD_START again", xioctl(fd, UACCE_CMD_START, 0), EINVAL);
	expect("UACCE_CMD_PUT_Q after START", xioctl(fd, UACCE_CMD_PUT_Q, 0), 0);
	expect("UACCE_CMD_START after PUT_Q", xioctl(fd, UACCE_CMD_START, 0), EINVAL);
	uacce_queue_close(q);
}

void sc_put_then_start(const char *dev)
{
	struct uacce_q *q;
	uint64_t off, size;
	void *p;
	int fd, n0;

	set_ctx(dev, "put-then-start");
	n0 = avail(dev);
	if (open_q(dev, &q))
		return;
	fd = uacce_queue_fd(q);
	expect("UACCE_CMD_PUT_Q on an INIT queue", xioctl(fd, UACCE_CMD_PUT_Q, 0), 0);
	expect("UACCE_CMD_START after PUT_Q", xioctl(fd, UACCE_CMD_START, 0), EINVAL);
	{
		int a = avail(dev);
		char got[32];

		snprintf(got, sizeof(got), "%d (before open %d)", a, n0);
		expect_true("available_instances back to its value before open after PUT_Q",
			    a == n0, got);
	}
	uacce_region_info(q, UACCE_QFRT_MMIO, &off, &size);
	expect("map MMIO after PUT_Q", -uacce_map_region(q, UACCE_QFRT_MMIO, size, &p), EINVAL);
	expect("DUMMY_CMD_FLUSH after PUT_Q", xioctl(fd, DUMMY_CMD_FLUSH, 0), EINVAL);
	uacce_queue_close(q);
}

void sc_unknown_ioctl(const char *dev)
{
	struct uacced_ident id = { 0 };
	unsigned long dma = 0;
	struct uacce_q *q;
	int fd, iarg = 1;

	set_ctx(dev, "unknown-ioctl");
	if (open_q(dev, &q))
		return;
	fd = uacce_queue_fd(q);
	expect("unknown _IO('W', 0x42) before START", xioctl(fd, _IO('W', 0x42), 0), EINVAL);
	expect("UACCE_CMD_START", xioctl(fd, UACCE_CMD_START, 0), 0);
	expect("unknown _IO('W', 0x42) after START", xioctl(fd, _IO('W', 0x42), 0), EINVAL);
	expect("unknown _IO('x', 7) after START", xioctl(fd, _IO('x', 7), 0), EINVAL);
	expect("unknown _IOW('W', 0x43, int)", ioctl(fd, _IOW('W', 0x43, int), &iarg) < 0 ? errno : 0,
	       EINVAL);
	expect("UACCE_CMD_GET_SS_DMA (not implemented)",
	       ioctl(fd, UACCE_CMD_GET_SS_DMA, &dma) < 0 ? errno : 0, EINVAL);
	expect("daemon-private UACCED_CMD_IDENT from a client",
	       ioctl(fd, UACCED_CMD_IDENT, &id) < 0 ? errno : 0, EPERM);
	expect_true("UACCED_CMD_IDENT leaked nothing", id.magic == 0 && id.queue_id == 0,
		    "a filled struct");
	expect("UACCE_CMD_PUT_Q", xioctl(fd, UACCE_CMD_PUT_Q, 0), 0);
	expect("unknown _IO('W', 0x42) after PUT_Q", xioctl(fd, _IO('W', 0x42), 0), EINVAL);
	uacce_queue_close(q);
}


void sc_instances(const char *dev)
{
	struct uacce_q *qs[4096];
	int n0, v, n, e = 0;
	char got[64];

	set_ctx(dev, "instances");
	n0 = avail(dev);
	if (n0 < 2) {
		fail("available_instances: expected at least 2 got %d", n0);
		return;
	}
	ok("available_instances is %d before the test", n0);
	if (open_q(dev, &qs[0]))
		return;
	v = avail(dev);
	snprintf(got, sizeof(got), "%d", v);
	expect_true("available_instances drops by one at open", v == n0 - 1, got);
	if (open_q(dev, &qs[1])) {
		uacce_queue_close(qs[0]);
		return;
	}
	v = avail(dev);
	snprintf(got, sizeof(got), "%d", v);
	expect_true("... and by one more at a second open", v == n0 - 2, got);
	expect("UACCE_CMD_START on the first", -uacce_queue_start(qs[0]), 0);
	expect("UACCE_CMD_PUT_Q on the first", -uacce_queue_put(qs[0]), 0);
	v = avail(dev);
	snprintf(got, sizeof(got), "%d", v);
	expect_true("available_instances rises by one at PUT_Q", v == n0 - 1, got);
	uacce_queue_close(qs[0]);
	v = wait_avail(dev, n0 - 1, 200);
	snprintf(got, sizeof(got), "%d", v);
	expect_true("closing the PUT queue changes nothing", v == n0 - 1, got);
	uacce_queue_close(qs[1]);
	v = wait_avail(dev, n0, 1000);
	snprintf(got, sizeof(got), "%d after 1 s", v);
	expect_true("available_instances back to its value at close (within 1 s)", v == n0, got);
	sleep_ms(100);
	v = avail(dev);
	snprintf(got, sizeof(got), "%d (before open %d)", v, n0);
	expect_true("... and not counted twice for the queue given back by PUT_Q", v == n0, got);

	/* take them all: the next open gets the backend's error */
	for (n = 0; n < n0 && n < 4096; n++) {
		e = uacce_queue_open(dev, &qs[n]);
		if (e)
			break;
	}
	snprintf(got, sizeof(got), "%d opened, then %s", n, ename(-e));
	if (expect_true("all free queues can be opened", n == n0, got)) {
		v = avail(dev);
		snprintf(got, sizeof(got), "%d", v);
		expect_true("available_instances is 0 with every queue taken", v == 0, got);
		e = uacce_queue_open(dev, &qs[n]);
		if (!e)
			uacce_queue_close(qs[n]);
		expect("open with no free hardware queue", -e, EBUSY);
	}
	while (n > 0)
		uacce_queue_close(qs[--n]);
	v = wait_avail(dev, n0, 1000);
	snprintf(got, sizeof(got), "%d after 1 s", v);
	expect_true("available_instances back to the maximum once all are closed", v == n0, got);
}
