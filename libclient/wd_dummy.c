/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wd_dummy.c - user driver of the dummy memcpy device (dummy_v1, dummy_v2) */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uacce/dummy_usr_if.h"
#include "uacce_internal.h"

struct dummy_priv {
	const struct wd_drv *drv;	/* first: wd.c finds the driver here */
	struct dummy_hw_queue_reg *reg;
	volatile uint64_t *doorbell;	/* v2 */
	struct dummy_wake *wake;
	uint32_t head;			/* our copy of what we submitted */
	uint32_t used;			/* our consumed position */
};

static struct dummy_priv *priv_of(struct wd_queue *q)
{
	return q->priv;
}

static int dummy_open(struct wd_queue *q, const struct wd_drv *drv)
{
	struct dummy_priv *p = calloc(1, sizeof(*p));
	uint64_t off, size;
	void *mmio, *dus;
	int err;

	if (!p)
		return -ENOMEM;
	p->drv = drv;
	err = uacce_region_info(q->uq, UACCE_QFRT_MMIO, &off, &size);
	if (!err)
		err = uacce_map_region(q->uq, UACCE_QFRT_MMIO, size, &mmio);
	if (err)
		goto fail;
	p->wake = (struct dummy_wake *)((char *)mmio + DUMMY_WAKE_OFFSET);
	if (drv == &wd_dummy_v2_drv) {
		err = uacce_region_info(q->uq, UACCE_QFRT_DUS, &off, &size);
		if (!err)
			err = uacce_map_region(q->uq, UACCE_QFRT_DUS, size, &dus);
		if (err)
			goto fail;
		p->reg = dus;
		p->doorbell = mmio;
	} else {
		p->reg = mmio;
	}
	if (memcmp(p->reg->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ) != 0 ||
	    p->reg->ring_bd_num != Q_BDS) {
		err = -EIO;
		goto fail;
	}
	p->head = p->reg->head;
	p->used = p->reg->tail;
	q->priv = p;
	return 0;
fail:
	free(p);
	return err;
}

static int dummy_v1_open(struct wd_queue *q) { return dummy_open(q, &wd_dummy_v1_drv); }
static int dummy_v2_open(struct wd_queue *q) { return dummy_open(q, &wd_dummy_v2_drv); }

static void dummy_close(struct wd_queue *q)
{
	free(q->priv);
	q->priv = NULL;
}

/* the device sleeps: one cheap system call wakes it (SQPOLL's need-wakeup) */
static void kick(struct dummy_priv *p)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&p->wake->sleeping, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&p->wake->wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &p->wake->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
}

static int dummy_send(struct wd_queue *q, void *req)
{
	struct dummy_priv *p = priv_of(q);
	uint32_t next = (p->head + 1) % Q_BDS;

	if (next == p->used)
		return -EBUSY;
	memcpy(&p->reg->ring[p->head], req, sizeof(struct wd_dummy_cpy_msg));
	p->reg->ring[p->head].ret = 0;
	__atomic_store_n(&p->reg->head, next, __ATOMIC_RELEASE);
	p->head = next;
	if (p->doorbell)
		*p->doorbell = 1;
	kick(p);
	return 0;
}

static bool dummy_ready(struct wd_queue *q)
{
	struct dummy_priv *p = priv_of(q);

	return __atomic_load_n(&p->reg->tail, __ATOMIC_ACQUIRE) != p->used;
}

static int dummy_recv(struct wd_queue *q, void **resp)
{
	struct dummy_priv *p = priv_of(q);
	uint32_t ret;

	if (!dummy_ready(q))
		return 0;
	*resp = p->reg->ring[p->used].ptr;
	ret = p->reg->ring[p->used].ret;
	p->used = (p->used + 1) % Q_BDS;
	return ret ? -(int)ret : 1;
}

static void dummy_flush(struct wd_queue *q)
{
	ioctl(q->fd, DUMMY_CMD_FLUSH, 0);
}

const struct wd_drv wd_dummy_v1_drv = {
	.api = "dummy_v1",
	.open = dummy_v1_open,
	.close = dummy_close,
	.send = dummy_send,
	.recv = dummy_recv,
	.ready = dummy_ready,
	.flush = dummy_flush,
};

const struct wd_drv wd_dummy_v2_drv = {
	.api = "dummy_v2",
	.open = dummy_v2_open,
	.close = dummy_close,
	.send = dummy_send,
	.recv = dummy_recv,
	.ready = dummy_ready,
	.flush = dummy_flush,
};
