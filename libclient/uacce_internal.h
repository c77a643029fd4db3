/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LIBUACCE_INTERNAL_H
#define LIBUACCE_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "uacce/libuacce.h"
#include "uacce/wd.h"

#define UACCE_EXPORT __attribute__((visibility("default")))

struct uacce_q {
	int fd;
	int sock;			/* broker connection, -1 until the first map */
	pid_t pid;			/* the process that opened it */
	char dev[96];
	char api[64];
	unsigned flags;
	bool mainline;			/* the device speaks the mainline profile */
	uint64_t qfr_off[UACCE_QFRT_NR];	/* v4: from qfrs_offset */
	uint64_t ml_size[UACCE_QFRT_NR];	/* mainline: region_mmio/dus_size */
	void *addr[UACCE_QFRT_NR];
	size_t len[UACCE_QFRT_NR];
	bool own[UACCE_QFRT_NR];	/* mapped by us (not shared from another queue) */
};

/*
 * Mainline, non-SVA: the device takes request data from its DUS (it has no
 * SS), from byte `offset` (the device's own part before it) to the end.
 * Map the DUS if it is not yet and point *addr there, *size (optional) to
 * the bytes there; -ENOMEM when `want` exceeds them, -EINVAL on any other
 * queue.
 */
int uacce_ml_data_area(struct uacce_q *q, size_t offset, size_t want, void **addr,
		       size_t *size);

/* a user driver of the wd API */
struct wd_drv {
	const char *api;
	int (*open)(struct wd_queue *q);
	void (*close)(struct wd_queue *q);
	int (*send)(struct wd_queue *q, void *req);
	int (*recv)(struct wd_queue *q, void **resp);
	bool (*ready)(struct wd_queue *q);	/* a response is waiting */
	void (*flush)(struct wd_queue *q);
};

extern const struct wd_drv wd_dummy_v1_drv, wd_dummy_v2_drv;

#endif
