/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backend.h - the backend API: the one contract through which accelerators
 * plug into the queue core (the operations of the kernel's struct
 * uacce_ops), and everything a backend may call back.  Backends include
 * this header, common/ headers (log.h, list.h) and their own; never a
 * daemon/ header.  The core never names a backend: whoever registers the
 * devices (the daemon, a unit test) hands it an ops table.
 *
 * Handles are typed: a backend embeds struct uacce_hwdev in its device and
 * struct uacce_hwq in its queue, and gets its own struct back with
 * container_of.
 *
 * Locks (the whole order is in daemon/LOCKING.md): the core has one global
 * lock (devices, queue lists, accounting) and one lock per queue (its state
 * transitions and its backend queue ops).  Each op below says which of them
 * is held when it is called.  No op may take a core lock, and a backend's
 * own threads (the "hardware") never take one either: they reach the queue
 * only through the uacce_hwq_* helpers below, which are safe between
 * start_queue and the return of stop_queue.
 */
#ifndef UACCED_BACKEND_H
#define UACCED_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memreq.h"
#include "uacce/uacce.h"

struct uacce_queue;
struct uacce_region;

/* a backend's device and queue, embedded in the backend's own structs */
struct uacce_hwdev {
	const struct uacce_backend_ops *ops;	/* set by the backend */
};

struct uacce_hwq {
	struct uacce_hwdev *dev;		/* set by the backend */
};

/* What a backend tells the core about a device it created. */
struct uacce_hwdev_info {
	char api[64];
	char algorithms[256];		/* one per line, no trailing newline */
	unsigned flags;			/* UACCE_DEV_* */
	uint64_t qfr_size[UACCE_QFRT_NR]; /* 0 = absent; SS: nonzero = present */
	int max_queues;
	/*
	 * The sysfs directory of the hardware behind the device: the target of
	 * the "device" link in its class directory (its numa_node is read
	 * there), e.g. "/sys/bus/pci/devices/0000:00:03.0".  Empty: none (a
	 * software device; the daemon links a directory of its own).
	 */
	char sysfs_device[128];
};

/*
 * A device entry of the configuration.  The common keys are parsed; the
 * backend's own keys (cfg_ops.extra_keys) are read through
 * uacce_dev_cfg_string() / uacce_dev_cfg_int(): the entry's format is the
 * configuration module's business, not the backend's.
 */
/*
 * The ABI profile a device node speaks (ABI.md, "Profiles"): the 2019 v4
 * contract, or the mainline one of Linux >= 5.7 (START_Q/PUT_Q at 'W' 0/1,
 * regions MMIO and DUS selected by the mmap page offset, no SS).
 */
enum uacce_abi {
	UACCE_ABI_V4 = 0,
	UACCE_ABI_MAINLINE = 1,
};

struct uacce_dev_cfg {
	const char *name;
	const char *backend;
	const char *api;
	bool sva;
	int queues;
	enum uacce_abi abi;		/* "abi": "v4" (default) | "mainline" */
	const char *node_prefix;	/* "node_prefix"; NULL: the profile's default */
	void *entry;			/* opaque (the config module's): read it with the accessors */
	const char *node_name;		/* "uacce-edu-1", set by the core for dev_create */
};

/*
 * The node name of device entry `cfg` with id `id`: "<prefix>-<id>", where
 * the prefix is node_prefix, else "uacce-<name>" (v4) or "<name>"
 * (mainline, as the kernel names its class devices).  -ENAMETOOLONG.
 */
int uacce_node_name(const struct uacce_dev_cfg *cfg, int id, char *buf, size_t len);

/* the entry's key as a string / an integer: 0, -ENOENT (absent), -EINVAL (type) */
int uacce_dev_cfg_string(const struct uacce_dev_cfg *cfg, const char *key, const char **out);
int uacce_dev_cfg_int(const struct uacce_dev_cfg *cfg, const char *key, int64_t *out);

/*
 * A device-specific ioctl, with the kernel's _IOC contract: the frontend
 * copies _IOC_SIZE(cmd) bytes of the caller's argument into `data` before
 * the call when _IOC_DIR(cmd) has _IOC_WRITE, and back to the caller after
 * a successful call when it has _IOC_READ.  For _IOC_NONE commands `arg`
 * is the caller's raw argument: a value (a number, an fd of the caller's),
 * never a pointer the daemon could follow.
 */
struct uacce_ioctl {
	unsigned int cmd;
	unsigned long arg;		/* _IOC_NONE only */
	void *data;			/* _IOC_SIZE(cmd) bytes; not to be used when 0 */
	size_t size;			/* == _IOC_SIZE(cmd) */
};

/* Checking an entry: what `uaccectl check-config` needs, no hardware touched. */
struct uacce_backend_cfg_ops {
	/* keys a device entry may have besides name, backend, api, sva, queues */
	const char *const *extra_keys;
	/* required: 0, or -EINVAL with the reason in why */
	int (*check)(const struct uacce_dev_cfg *cfg, char *why, size_t len);
};

/*
 * Backends that bind hardware (the whole table NULL for the others).  The
 * daemon registers such a device while its hardware is there and usable
 * and unregisters it (queues get ENODEV) when it goes, at runtime.  Called
 * from the daemon's main thread, no core lock held.
 */
struct uacce_backend_hw_ops {
	const char *subsystem;		/* whose uevents matter: "pci" */
	/* required: is cfg's hardware there and usable now?  0, or -errno with
	 * the reason in why (-ENODEV: absent or bound elsewhere) */
	int (*present)(const struct uacce_dev_cfg *cfg, char *why, size_t len);
	/* required: does a kernel uevent of (subsystem, sysname) concern cfg's
	 * hardware?  (The daemon then asks present() again.) */
	bool (*uevent)(const struct uacce_dev_cfg *cfg, const char *subsystem,
		       const char *sysname);
	/* required: an fd that becomes readable when the kernel asks for the
	 * hardware back (unbind, unplug); -1 for none.  Owned by the device. */
	int (*release_fd)(struct uacce_hwdev *hd);
};

/*
 * The queue ops.  "qlock" is the queue's lock, "core lock" the global one.
 * The core calls at most one op of a queue at a time, in this order:
 * get_queue, then start_queue / ioctl / stop_queue, then put_queue; cancel
 * and is_updated may come at any time between get_queue and put_queue.
 */
struct uacce_backend_queue_ops {
	/* required; core lock held (keep it short: no waiting on hardware).
	 * Take a hardware queue for q; its regions MMIO/DKO/DUS exist. */
	int (*get_queue)(struct uacce_hwdev *hd, struct uacce_queue *q, struct uacce_hwq **out);
	/* required; qlock held (or no lock at all when the open that got the
	 * queue fails after get_queue: nobody else can reach it then) */
	void (*put_queue)(struct uacce_hwq *hq);
	/* required; qlock held.  May leave the start of the work to the next
	 * flush_deferred when uacce_may_defer() (the queue counts as started). */
	int (*start_queue)(struct uacce_hwq *hq);
	/* required; qlock held.  After it returns the backend never touches the
	 * queue's memory. */
	void (*stop_queue)(struct uacce_hwq *hq);
	/*
	 * optional; no lock held; any thread.  Start the work start_queue
	 * deferred: all of it (older_ns 0), or what waited longer than
	 * older_ns or has a request pending.  True if some still waits.
	 */
	bool (*flush_deferred)(uint64_t older_ns);
	/* optional (-EINVAL for every device ioctl without it); qlock held, NOT
	 * the core lock: it may take as long as the hardware needs.  -ENOTTY
	 * for an unknown command. */
	int (*ioctl)(struct uacce_hwq *hq, struct uacce_ioctl *io);
	/* optional; core lock held, must not block: the consuming "is updated"
	 * test behind poll() */
	bool (*is_updated)(struct uacce_hwq *hq);
	/* optional; core lock held, must not block: the queue is about to be
	 * stopped (owner gone, device removed): abandon long work in progress
	 * (an ioctl running under qlock) so that the stop comes promptly.  It
	 * may come more than once, and it holds until put_queue: an ioctl that
	 * enters after it must give up too (-ECANCELED). */
	void (*cancel)(struct uacce_hwq *hq);

	/*
	 * Live restart (uacced(8), "Live restart"): the four below are
	 * optional, all or none.  A backend without them cannot hand its
	 * queues to a successor daemon: they are revoked there (ENODEV).
	 *
	 * suspend_queue: qlock held; only for a started queue.  Stop at a
	 * request boundary, like stop_queue, but the queue's memory keeps
	 * its contents and the client is told nothing (no personality
	 * "stopped" effect): requests it submits meanwhile stay in the rings.
	 * After it returns the backend never touches the queue's memory
	 * until resume_queue (or put_queue).
	 */
	void (*suspend_queue)(struct uacce_hwq *hq);
	/*
	 * resume_queue: qlock held.  Serve on where the queue stopped: after
	 * suspend_queue, or for a started queue adopt_queue rebuilt (the
	 * rings are taken from the positions save_queue recorded, never
	 * reset).  0 or -errno (the queue then stays suspended).
	 */
	int (*resume_queue)(struct uacce_hwq *hq);
	/*
	 * save_queue: qlock held; the queue is suspended or was never
	 * started.  The backend's own state of the queue beyond its regions
	 * (the ring positions it keeps, etc.) into buf: the bytes written, or
	 * -errno (-ENOSPC: len too small).  The blob starts with a version
	 * byte of the backend's own, so that a newer build reads an older
	 * blob.
	 */
	ssize_t (*save_queue)(struct uacce_hwq *hq, void *buf, size_t len);
	/*
	 * adopt_queue: core lock held (as get_queue).  Take a hardware queue
	 * for q whose regions already hold a predecessor's queue (the same
	 * memory, adopted): NO initialisation of the register pages or the
	 * rings; the state comes from blob (save_queue's, maybe of an older
	 * build).  -EINVAL for a blob it cannot read.  The core calls
	 * resume_queue afterwards when the queue was started.
	 */
	int (*adopt_queue)(struct uacce_hwdev *hd, struct uacce_queue *q, const void *blob,
			   size_t len, struct uacce_hwq **out);
	/*
	 * recover_queue (optional): as adopt_queue, after a crash of the
	 * daemon: there is no saved state, the positions are taken from the
	 * shared memory (rings, register pages) as the client and the dead
	 * daemon left them.  A request the dead daemon was in the middle of
	 * is done again (the backend must make that safe, or return -errno:
	 * the queue is then revoked).  The core calls resume_queue afterwards
	 * when the queue was started.
	 */
	int (*recover_queue)(struct uacce_hwdev *hd, struct uacce_queue *q,
			     struct uacce_hwq **out);
};

/*
 * A device's own state across a live restart (uacced(8), "Live restart"),
 * for backends whose devices hold more than their queues: hardware fds
 * (VFIO container/group/device, interrupt eventfds) and what lives with
 * them (IOMMU mappings, the device's registers as they are).  It travels
 * as a blob of the backend's own (a version byte first, so that a newer
 * build reads an older blob) and a few fds.
 */
#define UACCE_DEV_STATE_MAX	65536	/* bytes of blob */
#define UACCE_DEV_STATE_FDS	8

struct uacce_dev_state {
	uint8_t *blob;			/* UACCE_DEV_STATE_MAX bytes */
	size_t len;
	int fds[UACCE_DEV_STATE_FDS];	/* -1: none */
	int nfds;
};

/*
 * Optional (the whole table NULL for backends without device state; the
 * first three all or none).  Without it a device is created afresh in the
 * successor (dev_create) and only its queues' blobs travel.
 */
struct uacce_backend_state_ops {
	/*
	 * The predecessor, core lock held (keep it short), every started
	 * queue of the device suspended (no request in flight): write the
	 * device's state into st (len, and fds the device keeps owning: the
	 * core hands duplicates).  0 or -errno.  It changes nothing: the
	 * daemon may serve on afterwards (a refused restart).
	 */
	int (*dev_save)(struct uacce_hwdev *hd, struct uacce_dev_state *st);
	/*
	 * The successor's checking child, before anything is touched (no
	 * hardware access, no lock): could dev_adopt take st for cfg (blob
	 * version, the same hardware, every fd there and of the right
	 * kind)?  st's fds are borrowed.  0, or -errno with the reason in why.
	 */
	int (*dev_check)(const struct uacce_dev_cfg *cfg, const struct uacce_dev_state *st,
			 char *why, size_t len);
	/*
	 * The successor, instead of dev_create (no lock held): the device of
	 * cfg as its predecessor left it, from st: NO reset, no
	 * re-initialisation of the hardware, no re-open of what the fds are.
	 * The fds it keeps it sets to -1 in st->fds; the core closes the
	 * rest.  -errno: the core logs it and creates the device afresh
	 * (dev_create): queues whose blobs need the old state are then
	 * refused by adopt_queue (revoked, ENODEV).
	 */
	int (*dev_adopt)(const struct uacce_dev_cfg *cfg, struct uacce_dev_state *st,
			 struct uacce_hwdev_info *info, struct uacce_hwdev **out);
	/*
	 * optional; core lock held: every queue of the state was adopted or
	 * dropped; release what the state held for queues no adopt_queue
	 * took (their IOMMU mappings)
	 */
	void (*dev_adopt_done)(struct uacce_hwdev *hd);
};

struct uacce_backend_ops {
	const char *name;
	const struct uacce_backend_cfg_ops *cfg;	/* required */
	/* required; no lock held.  Create the device for cfg (already checked
	 * by cfg->check), fill *info.  -errno */
	int (*dev_create)(const struct uacce_dev_cfg *cfg, struct uacce_hwdev_info *info,
			  struct uacce_hwdev **out);
	/* required; no lock held; every queue of the device has been put */
	void (*dev_destroy)(struct uacce_hwdev *hd);
	const struct uacce_backend_queue_ops *queue;	/* required */
	const struct uacce_backend_hw_ops *hw;		/* optional */
	const struct uacce_backend_state_ops *state;	/* optional */
};

/* Registered backends (hwbackends/registry.c), by name; NULL if none. */
const struct uacce_backend_ops *uacce_backend_find(const char *name);
/* the i-th registered backend, NULL past the last */
const struct uacce_backend_ops *uacce_backend_nth(size_t i);
/*
 * The configuration part alone (hwbackends/registry_cfg.c), for programs
 * that check entries without driving devices (uaccectl check-config).
 */
const struct uacce_backend_cfg_ops *uacce_backend_cfg_find(const char *name);

/* --- regions: the queue's memory as the device sees it -------------------- */

/* the daemon's mapping of the whole region, and its size */
void *uacce_region_map(const struct uacce_region *r);
size_t uacce_region_size(const struct uacce_region *r);
/*
 * Translate the owner's [uaddr, uaddr+len) into the daemon's mapping of r,
 * or NULL when it does not lie wholly inside the mapped region.
 */
void *uacce_region_translate(const struct uacce_region *r, uint64_t uaddr, uint64_t len);
/*
 * Keep r (its memory and the daemon's mapping of it) past the queue's
 * release, till the matching uacce_region_drop: for a backend thread that
 * may still be in a futex wait on a word of it when the queue goes.  Any
 * thread, no lock needed.
 */
struct uacce_region *uacce_region_hold(struct uacce_region *r);
void uacce_region_drop(struct uacce_region *r);

/* --- helpers for backend threads ------------------------------------------ */

/* region of the queue, or NULL (SS appears once mapped/shared) */
struct uacce_region *uacce_hwq_region(struct uacce_queue *q, int type);
bool uacce_hwq_is_sva(struct uacce_queue *q);
/*
 * May start_queue leave work to flush_deferred?  True on a thread that
 * answers requests in bursts and flushes between them and before it
 * sleeps (uq_defer_enable): a frontend's session thread.
 */
bool uacce_may_defer(void);
/*
 * Copies from/to the owner's address space (SVA devices), 0 or -EFAULT, for
 * one request that touches one or several ranges (memreq.h): _begin
 * empties r; _check looks the protections of all the ranges up at once
 * (one PROCMAP_QUERY per mapping, or one pass over the maps text), 0 or
 * -EFAULT; _read and _write then need no look-up of their own (they look
 * up, and keep, what _check did not cover).  One r per request, never kept
 * across requests.
 */
void uacce_hwq_mem_begin(struct uacce_queue *q, struct uacce_mem_req *r);
int uacce_hwq_mem_check(struct uacce_mem_req *r, const struct uacce_mem_range *rg, unsigned n);
int uacce_hwq_mem_read(struct uacce_mem_req *r, uint64_t uaddr, void *buf, size_t len);
int uacce_hwq_mem_write(struct uacce_mem_req *r, uint64_t uaddr, const void *buf, size_t len);
/*
 * The backend's own address of the owner's [uaddr, uaddr + len), to read
 * (and write: `write`) in place, when the owner shared the memfd it maps
 * there (UB_SHARE, daemon/shm.h); NULL: go through uacce_hwq_mem_read and
 * uacce_hwq_mem_write.  The owner may change the bytes at any time, as it
 * may for a device: read each once.
 */
void *uacce_hwq_mem_direct(struct uacce_mem_req *r, uint64_t uaddr, size_t len, bool write);
/*
 * The region holding a non-SVA device's request data: the SS (v4), or the
 * DUS (mainline has no SS: the DUS plays its part).  NULL until there.
 */
struct uacce_region *uacce_hwq_data_region(struct uacce_queue *q);
/* a device-visible pointer for [uaddr, +len) inside the data region, or NULL */
void *uacce_hwq_ss_ptr(struct uacce_queue *q, uint64_t uaddr, uint64_t len);
/*
 * The device completed n requests of the queue: counted per queue and per
 * device (uaccectl queues/list, "requests"; uaccectl top's rates).  Two
 * relaxed atomic adds; call it once per batch, from the "hardware" threads.
 */
void uacce_hwq_count(struct uacce_queue *q, unsigned int n);
/* the queue has news for poll(): wake waiters */
void uacce_hwq_notify(struct uacce_queue *q);
/* for log lines: "uacce-dummy-1 q7 uid 1000 pid 1234" */
const char *uacce_hwq_label(struct uacce_queue *q);
/* the queue's id (the daemon's, as uaccectl shows it) */
uint64_t uacce_hwq_id(struct uacce_queue *q);

#endif
