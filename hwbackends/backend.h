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
	const char *node_name;		/* "uacce-edu-1", set by the core for dev_create */
};

struct uacce_backend_ops {
	const char *name;
	/* keys a device entry may have besides name, backend, api, sva, queues */
	const char *const *extra_keys;
	/* check an entry without touching hardware: 0, or -EINVAL with why */
	int (*check_cfg)(const struct uacce_dev_cfg *cfg, char *why, size_t len);
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

	/*
	 * Backends that bind hardware (NULL for the others).  The daemon
	 * registers such a device while its hardware is there and usable and
	 * unregisters it (queues get ENODEV) when it goes, at runtime.
	 *  hw_present: is cfg's hardware there and usable now?  0, or -errno
	 *     with the reason in why (-ENODEV: absent or bound elsewhere).
	 *  hw_uevent: does a kernel uevent of (subsystem, sysname) concern
	 *     cfg's hardware?  (The daemon then asks hw_present again.)
	 *  hw_release_fd: an fd that becomes readable when the kernel asks for
	 *     the hardware back (it is being unbound or unplugged): the daemon
	 *     then unregisters the device; -1 for none.  Owned by hwdev.
	 */
	const char *hw_subsystem;	/* whose uevents matter: "pci" */
	int (*hw_present)(const struct uacce_dev_cfg *cfg, char *why, size_t len);
	bool (*hw_uevent)(const struct uacce_dev_cfg *cfg, const char *subsystem,
			  const char *sysname);
	int (*hw_release_fd)(void *hwdev);
};

/* Registered backends, by name. NULL if none. */
const struct uacce_backend_ops *uacce_backend_find(const char *name);
/* the i-th registered backend, NULL past the last */
const struct uacce_backend_ops *uacce_backend_nth(size_t i);

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
