/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backend.h - the one ops table through which accelerators plug into the
 * queue core (the operations of the kernel's struct uacce_ops).
 *
 * Locking: the core calls every op with its lock held, except where noted.
 * A backend's own threads (the "hardware") must never take the core lock;
 * they reach the queue only through the uacce_hwq_* helpers below, which
 * are safe between start_queue and the return of stop_queue.
 */
#ifndef UACCED_BACKEND_H
#define UACCED_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uacce/uacce.h"

struct uacce_queue;
struct uacce_region;
struct json_object;

/* What a backend tells the core about a device it created. */
struct uacce_hwdev_info {
	char api[64];
	char algorithms[256];		/* one per line, no trailing newline */
	unsigned flags;			/* UACCE_DEV_* */
	uint64_t qfr_size[UACCE_QFRT_NR]; /* 0 = absent; SS: nonzero = present */
	int max_queues;
};

struct uacce_dev_cfg {
	const char *name;
	const char *backend;
	const char *api;
	bool sva;
	int queues;
	struct json_object *json;	/* the device's whole config object */
};

struct uacce_backend_ops {
	const char *name;
	/* validate cfg, create the device; fill *info. -errno */
	int (*dev_create)(const struct uacce_dev_cfg *cfg, struct uacce_hwdev_info *info,
			  void **hwdev);
	void (*dev_destroy)(void *hwdev);
	/* take a hardware queue for q; regions MMIO/DKO/DUS already exist */
	int (*get_queue)(void *hwdev, struct uacce_queue *q, void **hwq);
	void (*put_queue)(void *hwq);
	int (*start_queue)(void *hwq);
	/* after it returns the backend never touches the queue's memory */
	void (*stop_queue)(void *hwq);
	/* device-specific ioctl; -ENOTTY when unknown */
	int (*ioctl)(void *hwq, unsigned int cmd, unsigned long arg);
	/* the consuming "is updated" test behind poll() */
	bool (*is_updated)(void *hwq);
};

/* Registered backends, by name. NULL if none. */
const struct uacce_backend_ops *uacce_backend_find(const char *name);

/* --- helpers for backend threads ---------------------------------------- */

/* region of the queue, or NULL (SS appears once mapped/shared) */
struct uacce_region *uacce_hwq_region(struct uacce_queue *q, int type);
bool uacce_hwq_is_sva(struct uacce_queue *q);
/* copy from/to the owner's address space (SVA devices). 0 or -EFAULT */
int uacce_hwq_read(struct uacce_queue *q, uint64_t uaddr, void *buf, size_t len);
int uacce_hwq_write(struct uacce_queue *q, uint64_t uaddr, const void *buf, size_t len);
/* a device-visible pointer for [uaddr, +len) inside the SS, or NULL */
void *uacce_hwq_ss_ptr(struct uacce_queue *q, uint64_t uaddr, uint64_t len);
/* the queue has news for poll(): wake waiters */
void uacce_hwq_notify(struct uacce_queue *q);
/* for log lines: "uacce-dummy-1 q7 uid 1000 pid 1234" */
const char *uacce_hwq_label(struct uacce_queue *q);

#endif
