/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wd.h - the framework's user API ("WarpDrive", v4 era) on top of libuacce.
 *
 *   struct wd_queue q = { .capa.alg = "memcpy" };
 *   wd_request_queue(&q);            open + START + map MMIO/DUS
 *   p = wd_reserve_memory(&q, size); non-SVA: map SS (device addr = p)
 *   wd_send(&q, &msg); wd_recv_sync(&q, &resp, 1000);
 *   wd_release_queue(&q);
 */
#ifndef UACCE_WD_H
#define UACCE_WD_H

#include <linux/types.h>
#include <stddef.h>

#include <uacce/uacce.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PATH_STR_SIZE		256
#define WD_NAME_SIZE		64

struct wd_capa {
	const char *alg;	/* wanted algorithm, e.g. "memcpy" */
	int throughput;
	int latency;
	__u32 flags;
	void *priv;
};

struct wd_queue {
	const char *hw_type;		/* the device's api, once requested */
	int hw_type_id;
	void *priv;			/* the user driver's state */
	int fd;
	int iommu_type;
	char dev_path[PATH_STR_SIZE];	/* in: a device name/path to use, or "" */
	void *ss_va;			/* reserved memory (non-SVA) */
	void *ss_dma;			/* its device address (= ss_va) */
	struct wd_capa capa;
	unsigned int dev_flags;		/* UACCE_DEV_* of the device */
	struct uacce_q *uq;		/* the libuacce queue */
};

/* 0 or -errno */
int wd_request_queue(struct wd_queue *q);
void wd_release_queue(struct wd_queue *q);
/* 0, -EBUSY when the ring is full, or -errno */
int wd_send(struct wd_queue *q, void *req);
/*
 * 1 and *resp (the request's cookie) when a response was taken, 0 when none
 * is ready, or -errno when the device failed that request (*resp set too).
 */
int wd_recv(struct wd_queue *q, void **resp);
/* like wd_recv, waiting up to ms milliseconds (0: forever); -ETIMEDOUT */
int wd_recv_sync(struct wd_queue *q, void **resp, __u16 ms);
/* ask the device to process its ring now */
void wd_flush(struct wd_queue *q);
/* non-SVA: map `size` bytes of SS; NULL with errno set on failure */
void *wd_reserve_memory(struct wd_queue *q, size_t size);
/* target_q uses q's reserved memory (UACCE_CMD_SHARE_SVAS); 0 or -errno */
int wd_share_reserved_memory(struct wd_queue *q, struct wd_queue *target_q);

#ifdef __cplusplus
}
#endif

#endif
