/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend.h - publishes the devices of the core as character devices
 * (CUSE: /dev/<node>, the name uacce_node_name() gives) or, on kernels
 * without CUSE, as files of a FUSE mount with the same names.  Both drive
 * the same request handlers.
 */
#ifndef UACCED_FRONTEND_H
#define UACCED_FRONTEND_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ho_state;
struct uacce_core;
struct uacce_dev;
struct frontend;
struct cj_recovery;

enum fe_kind { FE_CUSE, FE_FUSE };

/* frontend_freeze: how long requests in progress may hold up a live restart (default) */
#define FE_FREEZE_WAIT_S 5

struct fe_opts {
	enum fe_kind kind;
	const char *fuse_dir;	/* FE_FUSE: mount point */
	mode_t mode;		/* node mode */
	uid_t uid;		/* node owner */
	gid_t gid;		/* node group */
	/*
	 * CUSE: where each node's udev properties go (<runtime-dir>/udev, see
	 * udevnode.h) before the node exists and while it does; NULL: none
	 */
	const char *udev_dir;
	/*
	 * The crash journal (cjournal.h): every request read and not answered
	 * yet, and the poll handles; NULL: none
	 */
	struct cjournal *journal;
	/*
	 * frontend_adopt of a crash journal's snapshot: the predecessor's
	 * requests in flight (cjournal.h), answered before a request is read
	 */
	const struct cj_recovery *crash;
	/*
	 * frontend_freeze (a live restart): how long requests in progress
	 * may hold it up before the restart is refused; 0: FE_FREEZE_WAIT_S
	 */
	int freeze_wait_s;
};

/* Publish `n` devices; returns once every node exists with its final mode. */
int frontend_start(const struct fe_opts *opts, struct uacce_core *core,
		   struct uacce_dev *const *devs, int n, struct frontend **out);
/* Remove every node; clients of open queues get errors (ENOTCONN/ENODEV). */
void frontend_stop(struct frontend *fe);

/*
 * Publish one more device (the frontend takes a reference on d); returns
 * once its node exists with its final mode.  -errno.
 */
int frontend_add_device(struct frontend *fe, struct uacce_dev *d);
/*
 * Unpublish d: its node disappears at once (new opens: ENOENT).  Call it
 * after core_remove_device(d), so that open queues get ENODEV.  CUSE: the
 * session of d lives on, unreachable, until its last file is closed (or
 * until its name is needed for a new device: then ENOTCONN for them).
 */
void frontend_remove_device(struct frontend *fe, struct uacce_dev *d);
/* New owner, group and mode for every node (a reload changed nodes.*). */
void frontend_set_perms(struct frontend *fe, uid_t uid, gid_t gid, mode_t mode);

/*
 * The device number of the published node `name` (sysfs's "dev"): the
 * CUSE character device's, or 0 for a file of the FUSE fallback (no
 * device: its st_rdev is 0).  -ENOENT when no such node is published.
 * Any thread.
 */
int frontend_node_devt(struct frontend *fe, const char *name, dev_t *out);

/* The directory holding the nodes ("/dev" or the FUSE mount point). */
const char *frontend_dev_dir(const struct frontend *fe);

/*
 * Which of our queues is the open file `fd` (received from a client)?
 * Verifies that fd is one of our nodes before asking it.  0 or -errno.
 * Blocks briefly: never call it from a frontend request handler.
 */
int frontend_identify(struct frontend *fe, int fd, uint64_t *qid);

/*
 * Close an fd received from a client: at once when it is one of our nodes
 * (its release must come now), else through fd_close_nowait() (fdclose.h):
 * never waits for a file system the client controls.
 */
void frontend_close_client_fd(struct frontend *fe, int fd);

/* --- live restart (uacced(8), "Live restart"; handover.h) ------------------- */

/*
 * Stop serving at a request boundary: every session thread leaves its
 * loop between two requests, every request already read is answered (the
 * workers drained; SHARE_SVAS lookups meanwhile answer EAGAIN), then
 * nothing reads from the kernel: new requests wait there.  A device
 * ioctl in progress (a long FLUSH) is waited for.  Main thread.  0, or
 * -errno with nothing frozen.
 */
int frontend_freeze(struct frontend *fe);
/* Serve again (the successor refused the state). */
void frontend_thaw(struct frontend *fe);
/*
 * Frozen: write the frontend's state into `out` (the "frontend" member of
 * the handover document, format HO_FORMAT; unknown keys are ignored,
 * missing ones take defaults), its fds into s:
 *   kind ("cuse"|"fuse"); nodes[] {name; CUSE: fd (its /dev/cuse file),
 *   init, init_opcode (the kernel's CUSE_INIT body, base64); FUSE: ino,
 *   born_s, born_ns}; FUSE: mount, next_ino, born_s, born_ns (the root),
 *   fd, init, init_opcode (the one session's /dev/fuse file and FUSE_INIT);
 *   files[] {fh (= the queue's id), node (name), kh (the kernel's poll
 *   handle to wake, 0: none)}.
 * A removed node (open files, device gone) and its files are not handed
 * over.  -errno.
 */
int frontend_export(struct frontend *fe, struct ho_state *s, json_object *out);
/* the same while serving (the crash journal's snapshot; main thread) */
int frontend_export_live(struct frontend *fe, struct ho_state *s, json_object *out);
struct cj_inflight;
/*
 * After frontend_adopt of a crash journal's snapshot: the requests the dead
 * predecessor had read and not answered are done again (fed to the
 * connection's session as if read now: their callers get real answers); one
 * the journal could not keep whole is answered EIO.  Then every poller that
 * may wait is woken (handles up to max_kh).  0.
 */
int frontend_crash_answer(struct frontend *fe, const struct cj_inflight *v, int n,
			  uint64_t max_kh);
/*
 * frontend_start for a successor: `in` is the "frontend" member of the
 * state (NULL: exactly frontend_start).  A device whose node
 * is in the state takes over its session (no new CUSE device, no new
 * mount; the kernel's INIT is replayed to libfuse); others are published
 * as by frontend_start; a state node whose device is not in devs loses its
 * session (its clients get ENOTCONN/ENODEV).  Every open file of the state
 * is rebuilt with the same fh and bound to core_claim_adopted(core, fh)
 * (none: its requests answer ENODEV until it is released); every poller
 * is woken (FUSE_NOTIFY_POLL: it polls again).  The caller calls
 * core_adopt() before and core_adopt_done() after.  -errno: nothing is
 * published; sessions already taken out of s were ended (their clients get
 * errors); a state of the other transport (kind) is refused untouched.
 */
int frontend_adopt(const struct fe_opts *opts, struct uacce_core *core,
		   struct uacce_dev *const *devs, int n, struct ho_state *s, json_object *in,
		   struct frontend **out);
/*
 * Frozen: free fe without ending anything the kernel sees (sessions,
 * nodes, mount, open files: the state's duplicate fds keep them; the
 * queues stay the core's for core_claim_adopted; their notify callbacks
 * are cleared: call it after core_freeze, when no backend notifies).  For a
 * successor in the same process (tests); a daemon handing over just exits.
 */
void frontend_abandon(struct frontend *fe);

/* Is CUSE usable here (after trying modprobe cuse)? */
bool frontend_cuse_available(void);

#endif
