/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core.h - the queue core: devices, queues and the v4 uacce semantics
 * (states, owner process, fork rule, regions, SS sharing, accounting).
 * Plain C, no libfuse: frontends translate their requests into these calls.
 *
 * All functions return 0 or -errno.  The core never names a backend: the
 * caller hands core_add_device the backend's ops.  Locks: one global lock
 * (devices, lists, accounting, policy) and one per queue (its transitions
 * and its backend ops, so that one queue's long ioctl never holds up
 * another client); the order is written in daemon/LOCKING.md.  Backend
 * threads never take either.
 */
#ifndef UACCED_CORE_H
#define UACCED_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "policy.h"

struct uacce_core;
struct uacce_dev;
struct uacce_queue;
struct uacce_region;

/* Who sent a request, as the kernel reported it (pid is a thread id). */
struct uacce_caller {
	pid_t tid;
	uid_t uid;
	gid_t gid;
	/*
	 * open only: the supplementary groups of tid (for the policy), if
	 * groups_known (else the core reads its process's when a policy with
	 * group entries needs them: uq_policy_wants_groups)
	 */
	bool groups_known;
	const gid_t *groups;
	int ngroups;
	/*
	 * open only, optional: tid's process (0: unknown, the core looks it
	 * up) and its name ("" or NULL: unknown), read with the groups
	 * (proc_status_of) so that an open reads tid's status once
	 */
	pid_t tgid;
	const char *comm;
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
	/*
	 * What core_export writes of queue qid changed (called after the
	 * change, with any lock held: the callee takes only a leaf lock);
	 * gone: its file was released (never called for it again).  The
	 * crash journal (cjournal.h).
	 */
	void (*queue_changed)(uint64_t qid, bool gone, void *ctx);
};

int core_new(const struct uacce_core_hooks *hooks, struct uacce_core **out);
/* every device must have been removed */
void core_free(struct uacce_core *c);

/*
 * Create a device of backend `ops` (from uacce_backend_find(), or a test's
 * own table); *out holds one reference (see ud_unref).  -EINVAL when ops
 * lacks a required member.
 */
int core_add_device(struct uacce_core *c, const struct uacce_backend_ops *ops,
		    const struct uacce_dev_cfg *cfg, int id, struct uacce_dev **out);
/*
 * Revoke every queue (ENODEV from now on) and destroy the backend device.
 * The struct stays valid for its holders: it is freed with the last
 * reference after the removal (ud_unref), or by core_free.
 */
void core_remove_device(struct uacce_dev *d);
struct uacce_dev *ud_ref(struct uacce_dev *d);
void ud_unref(struct uacce_dev *d);

/*
 * The region memory the daemon holds for users, where the policy says
 * nothing (0: the default): max_region_bytes of a user other than root
 * with no entry setting it (default: a quarter of the machine's memory),
 * and the total of all users when quotas.total_region_bytes is not set
 * (default: half of it).  Region maps over them get ENOMEM.
 */
void core_set_builtin_limits(struct uacce_core *c, uint64_t user_bytes, uint64_t total_bytes);

/*
 * Install the admin policy (a reference is taken; NULL = no limits).  New
 * opens and new region maps obey it from now on; queues already open stay.
 */
void core_set_policy(struct uacce_core *c, struct uacce_policy *p);

/* device attributes */
int ud_id(const struct uacce_dev *d);
enum uacce_abi ud_abi(const struct uacce_dev *d);	/* the node's ABI profile */
/* readable when the kernel wants the device's hardware back; -1: none */
int ud_hw_release_fd(const struct uacce_dev *d);
const char *ud_name(const struct uacce_dev *d);	/* "uacce-dummy-1" */
const char *ud_cfg_name(const struct uacce_dev *d);	/* "dummy" */
const struct uacce_hwdev_info *ud_info(const struct uacce_dev *d);
int ud_available_instances(struct uacce_dev *d);
/* the same, for hooks that run with the core lock held */
int ud_available_instances_locked(const struct uacce_dev *d);
/* "%llu\t%llu\t%llu\t%llu" of the region offsets, UACCE_QFR_NA if absent */
void ud_qfrs_offset(const struct uacce_dev *d, uint64_t off[UACCE_QFRT_NR]);

/* --- queues ------------------------------------------------------------- */
/*
 * Does the policy in force have group entries (an opener's supplementary
 * groups matter)?  Else a frontend may leave uacce_caller.groups unread.
 */
bool uq_policy_wants_groups(const struct uacce_dev *d);
int uq_open(struct uacce_dev *d, const struct uacce_caller *who, struct uacce_queue **out);
/*
 * A close's release may reach the daemon after the same process's next
 * open (FUSE delivers releases asynchronously; a client fd the daemon
 * held, e.g. the broker's, is closed by another thread).  uq_open's EBUSY
 * for lack of a free hardware queue is then no answer yet: may_wait says
 * whether the opener's own process holds hardware queues of d (one may be
 * on its way back), and uq_open_wait opens, waiting up to timeout_ms for
 * queues to come back as long as that holds.  uq_open_wait blocks: never
 * from a thread that answers releases (a frontend session thread).
 * may_wait looks up who->tgid when it is 0 (a frontend that did not: see
 * uq_policy_wants_groups), and fills it in for uq_open_wait.
 */
bool uq_open_may_wait(struct uacce_dev *d, struct uacce_caller *who);
int uq_open_wait(struct uacce_dev *d, const struct uacce_caller *who, int timeout_ms,
		 struct uacce_queue **out);
/* the frontend's wake-up for poll waiters */
void uq_set_notify(struct uacce_queue *q, void (*fn)(void *), void *arg);
/* last close of the file: stop, free, put; drops the open's reference */
void uq_release(struct uacce_queue *q);

int uq_check_owner(struct uacce_queue *q, const struct uacce_caller *who);

/*
 * What ioctl command `cmd` means on device d: its profile numbers the
 * queue commands (v4: SHARE_SVAS 'W' 0, START 1, PUT_Q 2; mainline:
 * START_Q 'W' 0, PUT_Q 1).  Every other number is the device's own.
 */
enum uq_cmd {
	UQ_CMD_START,		/* INIT -> STARTED */
	UQ_CMD_PUT,		/* v4: stop and give back (ZOMBIE); mainline: stop only */
	UQ_CMD_SHARE_SVAS,	/* v4 only: see uq_share_svas */
	UQ_CMD_DEVICE,		/* to the backend */
};
enum uq_cmd ud_cmd_kind(const struct uacce_dev *d, unsigned int cmd);
/*
 * START, PUT_Q (by the profile's numbers: ud_cmd_kind), and device ioctls (SHARE_SVAS: see uq_share_svas), with
 * backend.h's struct uacce_ioctl contract: the caller (frontend) copies
 * io->data in and out.  Takes only the queue's lock while the backend
 * works.
 */
int uq_ioctl(struct uacce_queue *q, const struct uacce_caller *who, struct uacce_ioctl *io);
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
 * Map a region of a v4 device (a mainline one: -EINVAL, see uq_mmap):
 * *fd gets a new fd of its memory (-1 for DKO, which is only reserved in
 * the client's address space), *size its size.
 */
int uq_map(struct uacce_queue *q, pid_t peer, int type, uint64_t size, int *fd,
	   uint64_t *out_size);
/*
 * mmap(2) of the queue file at byte `offset` with length `len`, by the
 * device's profile: v4 selects the region by the byte offsets of
 * qfrs_offset and then obeys uq_map's rules; mainline takes the page
 * offset as the region type (0 MMIO, 1 DUS; else or absent: -EINVAL; not
 * page aligned: -EINVAL), -ENXIO once the queue is dead, -EEXIST when
 * mapped already, DUS only with its exact (page-rounded) size, MMIO with
 * at most its size.  *type gets the region's internal type (enum
 * uacce_qfrt) that uq_mapped and uq_unmap then name, *out_size the bytes
 * to map of *fd (-1: reserve the address space only, v4 DKO).
 */
int uq_mmap(struct uacce_queue *q, pid_t peer, uint64_t offset, uint64_t len, int *fd,
	    uint64_t *out_size, int *type);
int uq_mapped(struct uacce_queue *q, pid_t peer, int type, uint64_t addr);
/*
 * UB_SHARE: the owner of an SVA queue (INIT or STARTED) shares the memfd
 * fd with the device (shm.h; fd not taken), counted against the owner's
 * region quotas; *size its bytes.  -EPERM (not the owner), -EINVAL (not
 * SVA, not INIT/STARTED, or not such a memfd), -EEXIST, -ENOSPC, -ENOMEM
 * (quota).  Dropped with the regions, and at a live restart (the requests
 * then go through /proc/<pid>/mem).
 */
int uq_share(struct uacce_queue *q, pid_t peer, int fd, uint64_t *size);
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

/*
 * Journal fields (log.h) of a record about a device (UACCE_DEVICE) or a
 * queue (UACCE_DEVICE, UACCE_QUEUE and the owner's UACCE_UID, UACCE_PID,
 * UACCE_COMM): fill *ctx, return it.  No lock: these never change.  The
 * strings point into d / q.  E.g.
 *	ulog_ctx(LOG_INFO, UQ_LOG_CTX(q), "%s: ...", uq_label(q));
 */
struct ulog_ctx;
const struct ulog_ctx *ud_log_ctx(const struct uacce_dev *d, struct ulog_ctx *ctx);
const struct ulog_ctx *uq_log_ctx(const struct uacce_queue *q, struct ulog_ctx *ctx);
#define UD_LOG_CTX(d)	ud_log_ctx((d), &(struct ulog_ctx){ 0 })
#define UQ_LOG_CTX(q)	uq_log_ctx((q), &(struct ulog_ctx){ 0 })
/* "uacce-dummy-1 q7 uid 1000 pid 1234 (comm)" */
const char *uq_label(const struct uacce_queue *q);

/* --- live restart (uacced(8), "Live restart"; handover.h) ------------------
 *
 * The old daemon, main thread, after frontend_freeze: core_freeze, then
 * core_export; if the successor refuses, core_thaw.  The successor, after
 * creating the same devices: core_adopt, then for each open file it adopts
 * core_claim_adopted, then core_adopt_done.  The state is the "core" member
 * of the handover document (format HO_FORMAT; unknown keys are ignored,
 * missing ones take defaults):
 *   next_qid; devices[] {name, requests, hw_state {blob, fds[]} (the
 *   backend's dev_save, base64; optional)}; regions[] {type, size, uaddr, fd}
 *   (each region once, also an SS that SHARE_SVAS shares between queues);
 *   queues[] {id, dev (node name), state, dead_err, holds_excl, charged,
 *   requests, owner {tgid, uid, gid, comm, groups[], pidfd, memfd, mapsfd},
 *   regions[UACCE_QFRT_NR] (indexes, -1 none), mapped[], mapped_len[],
 *   blob (the backend's save_queue bytes, base64)}; fds by table index.
 */
struct ho_state;
struct json_object;

/*
 * Every started queue's backend stops at a request boundary without
 * touching its memory or telling the client (suspend_queue; a backend
 * without it serves on: its queues do not survive the restart).  -EBUSY
 * when frozen already; on error nothing stays frozen.
 */
int core_freeze(struct uacce_core *c);
/* serve on after a freeze (the successor refused); a queue the backend
 * cannot resume is revoked (ENODEV, logged) */
void core_thaw(struct uacce_core *c);
/*
 * Write the core's state into `out` (the "core" member), its fds into s.
 * Frozen, or a started queue's backend state cannot be saved (that queue
 * is then revoked in the successor: logged).  -errno.
 */
int core_export(struct uacce_core *c, struct ho_state *s, struct json_object *out);
/*
 * Rebuild the exported queues on this core's devices (by node name):
 * owners (their pidfds: an owner that exited in the gap is freed by the
 * usual path once the hooks watch it), regions (the same memory),
 * accounting (available_instances, exclusivity, quotas: exact), backend
 * queues (adopt_queue, then resume_queue for started ones).  A queue
 * whose device, memory or backend support is missing is made DEAD
 * (ENODEV), its memory released, logged; one whose device is not
 * configured any more is dropped (core_claim_adopted: NULL).  in NULL: no
 * state, nothing done.  -errno (-ENOMEM) only when nothing can go on.
 */
int core_adopt(struct uacce_core *c, struct ho_state *s, struct json_object *in);
/*
 * The crash journal's snapshot: core_export of a serving core (not
 * frozen): no backend state of a running queue ("live": the successor's
 * core_adopt takes it with the backend's recover_queue instead).  A queue
 * with "revoke" set (by the crash recovery) is adopted dead (ENODEV).
 */
int core_export_live(struct uacce_core *c, struct ho_state *s, struct json_object *out);
/* the adopted queue `qid` with its open file's reference (the caller's
 * file releases it with uq_release), or NULL; each qid once */
struct uacce_queue *core_claim_adopted(struct uacce_core *c, uint64_t qid);
/*
 * queues adopted but not claimed: released (uq_release); then each device
 * that took its predecessor's state (core_set_handover) releases what the
 * state held for queues nobody adopted (dev_adopt_done), and the state is
 * forgotten
 */
void core_adopt_done(struct uacce_core *c);
/*
 * The successor, before its devices are created: core_add_device takes
 * each device's own state (in["devices"][].hw_state {blob, fds[]}, the
 * backend's dev_save; fds from s) through the backend's dev_adopt instead
 * of dev_create, once, until core_adopt_done.  in NULL: none.
 */
void core_set_handover(struct uacce_core *c, struct ho_state *s, struct json_object *in);
/*
 * The successor's check (nothing touched): could device cfg (node_name
 * set) of backend ops take its state in `in` (the "core" member)?  0 also
 * when there is none; -errno with the reason in why.
 */
struct uacce_dev_cfg;
struct uacce_backend_ops;
int core_check_dev_state(struct ho_state *s, struct json_object *in,
			 const struct uacce_backend_ops *ops, const struct uacce_dev_cfg *cfg,
			 char *why, size_t len);

/* --- snapshots for the control socket (malloc'd arrays, free()) ---------- */

struct core_dev_stat {
	int id;
	char name[96];			/* "uacce-dummy-0" */
	char cfg_name[40];		/* "dummy" */
	enum uacce_abi abi;		/* the profile its node speaks */
	struct uacce_hwdev_info info;
	int available;			/* available_instances */
	int open_queues;		/* open files that are not dead */
	uint64_t requests;		/* completed since the device was created */
};

struct core_queue_stat {
	uint64_t id;
	char dev[96];
	pid_t pid;
	uid_t uid;
	char comm[16];
	enum uacce_q_state state;
	bool mapped[UACCE_QFRT_NR];
	bool has_ss, ss_shared;
	unsigned shm_files;		/* memfds the owner shares (UB_SHARE) */
	uint64_t direct;		/* owner-memory accesses served in them */
	uint64_t bytes;			/* region bytes charged (SS: its size) */
	uint64_t requests;		/* completed since the queue was opened */
};

#define CORE_USER_PATTERNS 16

/* One user (uid) with live queues, and the limits that apply to it. */
struct core_user_stat {
	uid_t uid;
	int queues;			/* holding a hardware queue (max_queues) */
	int dev_queues;			/* the most on one device ... */
	char dev[96];			/* ... this one (max_queues_per_device) */
	uint64_t bytes;			/* region bytes (max_region_bytes) */
	uint64_t lim[PL_NR];
	char src[PL_NR][POLICY_LABEL_MAX];
	int npatterns;			/* allowed devices; -1: every device */
	char patterns[CORE_USER_PATTERNS][64];
	char devices_src[POLICY_LABEL_MAX];
};

/* devices not removed, in id order */
int core_devices(struct uacce_core *c, struct core_dev_stat **out, int *n);
/* queues not dead, in open order */
int core_queues(struct uacce_core *c, struct core_queue_stat **out, int *n);
/*
 * Per user, in uid order; limits are resolved with the identity (groups)
 * of the user's most recent open.
 */
int core_usage(struct uacce_core *c, struct core_user_stat **out, int *n);

/*
 * Deferred backend work (backend.h: flush_deferred).  A thread that
 * answers requests in bursts says so (uq_defer_enable(true)), and then
 * calls uq_flush_deferred between requests (older_ns: what waited longer,
 * or has a request pending) and with 0 before it sleeps: a queue started
 * and stopped again within one burst (open, START, PUT_Q, close) then
 * never wakes a worker.  True if some work still waits.
 */
void uq_defer_enable(bool on);
bool uq_flush_deferred(struct uacce_core *c, uint64_t older_ns);

#endif
