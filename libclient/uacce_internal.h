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
	uint64_t qfr_off[UACCE_QFRT_NR];
	void *addr[UACCE_QFRT_NR];
	size_t len[UACCE_QFRT_NR];
	bool own[UACCE_QFRT_NR];	/* mapped by us (not shared from another queue) */
};

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
