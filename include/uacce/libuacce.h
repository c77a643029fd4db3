/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libuacce.h - open uacce queues served by uacced and map their regions.
 *
 * A queue is an open file of /dev/uacce-<name>-<id> (or of the FUSE
 * fallback directory).  CUSE cannot mmap, so region memory comes from the
 * daemon's region broker; uacce_mmap() is the mmap(2) the kernel would
 * have done, with its rules and errors.  All functions return 0 or a
 * negative errno unless said otherwise.  Not async-signal-safe; a queue
 * may be used by several threads of its owner process if they serialise
 * their calls on it.
 */
#ifndef UACCE_LIBUACCE_H
#define UACCE_LIBUACCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uacce/uacce.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uacce_q;

/* The daemon's runtime directory: $UACCE_RUNTIME_DIR, else /run/uacce. */
const char *uacce_runtime_dir(void);

/*
 * Can this process reach a daemon through the runtime directory?  0: yes;
 * -EACCES: `where` gets the directory it may not search (or the file it
 * may not open); -ENOENT: the directory does not exist; -ESRCH: no daemon
 * serves it (no devdir, or nobody listens on broker.sock).  Connects to
 * broker.sock and closes at once.
 */
int uacce_runtime_check(char *where, size_t len);

/*
 * A line for a failure err (-errno) of a call about device dev (a name;
 * NULL: no device in particular) that says why when the reason lies with
 * the runtime directory or the daemon: "uacce-dummy-1: permission denied:
 * /run/x (mode 0700, owner 0, group 0) is closed to uid 1000, ...", "no
 * uacced serves the runtime directory /run/uacce (...)".  Returns buf.
 */
const char *uacce_explain(int err, const char *dev, char *buf, size_t len);

/*
 * Read attribute `attr` of device `dev` ("uacce-dummy-1") into buf, without
 * the trailing newline.  Returns its length or -errno.
 */
int uacce_dev_attr(const char *dev, const char *attr, char *buf, size_t len);

/* Path of the device node of `dev` (under /dev or the FUSE directory). */
int uacce_dev_path(const char *dev, char *buf, size_t len);

/* Open a queue of `dev` (a device name or a node path); O_CLOEXEC always. */
int uacce_queue_open(const char *dev, struct uacce_q **out);
/* Unmap every region and close the queue fd. */
void uacce_queue_close(struct uacce_q *q);

int uacce_queue_fd(const struct uacce_q *q);
const char *uacce_queue_dev(const struct uacce_q *q);	/* "uacce-dummy-1" */
unsigned uacce_queue_flags(const struct uacce_q *q);	/* UACCE_DEV_* */
const char *uacce_queue_api(const struct uacce_q *q);

int uacce_queue_start(struct uacce_q *q);		/* UACCE_CMD_START */
int uacce_queue_put(struct uacce_q *q);			/* UACCE_CMD_PUT_Q */
/* UACCE_CMD_SHARE_SVAS: q gets the SS of src */
int uacce_queue_share_ss(struct uacce_q *q, const struct uacce_q *src);

/*
 * SVA queues (uacced; v4 and mainline SVA devices of the daemon alike, not
 * the kernel's): share the memfd `fd` with the device.  It must be opened
 * read/write, sealed F_SEAL_SHRINK (not F_SEAL_WRITE), of at most 4 GiB.
 * A request whose buffer lies in a MAP_SHARED mapping of that file is then
 * served from the daemon's own mapping of it, without the kernel's copy
 * through /proc/<pid>/mem; any other buffer as before.  Counted against
 * the user's region quotas; at most 8 files a queue; kept till the queue
 * is released (a live restart of the daemon drops it: buffers then take
 * the copy again).  fd stays the caller's.  -EINVAL (not SVA, not such a
 * memfd), -EEXIST, -ENOSPC, -ENOMEM (quota), -EPERM (not the opener).
 */
int uacce_queue_share_fd(struct uacce_q *q, int fd);
/*
 * `size` bytes of fresh memory shared with q's device as above (a sealed
 * memfd, mapped MAP_SHARED, not inherited by a forked child); *addr.
 * Free it with munmap(*addr, size), after the requests that use it.
 */
int uacce_share_alloc(struct uacce_q *q, size_t size, void **addr);

/* Offset and size of a region from qfrs_offset (size of SS: 0). -ENXIO if absent */
int uacce_region_info(const struct uacce_q *q, int type, uint64_t *offset, uint64_t *size);

/*
 * mmap(2) of the queue file: `offset` selects the region, `len` must be its
 * exact size (SS: any size).  Returns the address, or MAP_FAILED with errno
 * set (EINVAL, EBUSY, ENOMEM, EPERM, ...), as the kernel's uacce did.
 * The mapping is not inherited by fork() (MADV_DONTFORK).
 */
void *uacce_mmap(struct uacce_q *q, size_t len, off_t offset);
/* Map region `type`; *addr gets the address. */
int uacce_map_region(struct uacce_q *q, int type, size_t len, void **addr);
int uacce_unmap_region(struct uacce_q *q, int type);
/* address of a mapped region (SS after sharing included), or NULL */
void *uacce_region_addr(const struct uacce_q *q, int type);

/* wait for POLLIN (completion) up to timeout_ms; 1 ready, 0 timeout, -errno */
int uacce_queue_wait(struct uacce_q *q, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
