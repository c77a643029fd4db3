/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core.h - the queue core: devices, queues and the v4 uacce semantics
 * (states, owner process, fork rule, regions, SS sharing, accounting).
 * Plain C, no libfuse: frontends translate their requests into these calls.
 *
 * All functions return 0 or -errno.  One mutex (core->lock) serialises
 * every state transition; backend threads never take it.
 */
#ifndef UACCED_CORE_H
#define UACCED_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"

struct uacce_core;
struct uacce_dev;
struct uacce_queue;
struct uacce_region;

/* Who sent a request, as the kernel reported it (pid is a thread id). */
struct uacce_caller {
	pid_t tid;
	uid_t uid;
	gid_t gid;
};

enum uacce_q_state {
	UQ_INIT,		/* open, hardware queue taken */
	UQ_STARTED,		/* after UACCE_CMD_START */
	UQ_ZOMBIE,		/* after UACCE_CMD_PUT_Q: hardware queue given back */
	UQ_DEAD,		/* owner exited or device removed: all freed */
};

struct uacce_core_hooks {
	void *ctx;
	/* a device's available_instances changed (called with the lock held) */
	void (*instances_changed)(struct uacce_dev *d, void *ctx);
	/* start/stop watching the owner's pidfd; on exit call uq_owner_died */
	int (*watch_owner)(struct uacce_queue *q, int pidfd, void *ctx);
	void (*unwatch_owner)(struct uacce_queue *q, int pidfd, void *ctx);
};

int core_new(const struct uacce_core_hooks *hooks, struct uacce_core **out);
/* every device must have been removed */
void core_free(struct uacce_core *c);

int core_add_device(struct uacce_core *c, const struct uacce_dev_cfg *cfg, int id,
		    struct uacce_dev **out);
/* revoke every queue (ENODEV from now on) and free the device */
void core_remove_device(struct uacce_dev *d);

/* device attributes */
int udev_id(const struct uacce_dev *d);
const char *udev_name(const struct uacce_dev *d);	/* "uacce-dummy-1" */
const struct uacce_hwdev_info *udev_info(const struct uacce_dev *d);
int udev_available_instances(struct uacce_dev *d);
/* the same, for hooks that run with the core lock held */
int udev_available_instances_locked(const struct uacce_dev *d);
/* "%llu\t%llu\t%llu\t%llu" of the region offsets, UACCE_QFR_NA if absent */
void udev_qfrs_offset(const struct uacce_dev *d, uint64_t off[UACCE_QFRT_NR]);

/* --- queues ------------------------------------------------------------- */
int uq_open(struct uacce_dev *d, const struct uacce_caller *who, struct uacce_queue **out);
/* the frontend's wake-up for poll waiters */
void uq_set_notify(struct uacce_queue *q, void (*fn)(void *), void *arg);
/* last close of the file: stop, free, put; drops the open's reference */
void uq_release(struct uacce_queue *q);

int uq_check_owner(struct uacce_queue *q, const struct uacce_caller *who);
/* START, PUT_Q, and device ioctls (SHARE_SVAS: see uq_share_svas) */
int uq_ioctl(struct uacce_queue *q, const struct uacce_caller *who, unsigned int cmd,
	     unsigned long arg);
/* share src's SS with q (UACCE_CMD_SHARE_SVAS, fd already resolved) */
int uq_share_svas(struct uacce_queue *q, const struct uacce_caller *who,
		  struct uacce_queue *src);
/* duplicate the owner's fd number `fd` into the daemon (SHARE_SVAS) */
int uq_owner_getfd(struct uacce_queue *q, int fd);
/* poll: *mask gets POLLIN|POLLRDNORM when the queue was updated */
int uq_poll(struct uacce_queue *q, const struct uacce_caller *who, unsigned *mask);

/* region broker entry points: `peer` is the peer's process id (SO_PEERCRED) */
int uq_attach(struct uacce_queue *q, pid_t peer);
/*
 * Map a region: *fd gets a new fd of its memory (-1 for DKO, which is only
 * reserved in the client's address space), *size its size.
 */
int uq_map(struct uacce_queue *q, pid_t peer, int type, uint64_t size, int *fd,
	   uint64_t *out_size);
int uq_mapped(struct uacce_queue *q, pid_t peer, int type, uint64_t addr);
int uq_unmap(struct uacce_queue *q, pid_t peer, int type);

/* the owner process exited: tear everything down now */
void uq_owner_died(struct uacce_queue *q);

/* lookup by id (for the broker's identification); takes a reference */
struct uacce_queue *core_get_queue(struct uacce_core *c, uint64_t id);
void uq_unref(struct uacce_queue *q);
uint64_t uq_id(const struct uacce_queue *q);
struct uacce_dev *uq_dev(const struct uacce_queue *q);
enum uacce_q_state uq_state(struct uacce_queue *q);
pid_t uq_owner_tgid(const struct uacce_queue *q);

#endif
