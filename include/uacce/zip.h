/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zip.h - libuacce's client of the compression device (api uacce_zip_v1,
 * protocol in uacce/zip_usr_if.h and uacce_zip(7)).
 *
 *   struct uacce_zip *z;
 *   uacce_zip_open(NULL, 8 << 20, &z);       first zip device, 8 MiB of SS
 *   in = uacce_zip_alloc(z, n); out = uacce_zip_alloc(z, cap);
 *   struct uacce_zip_sqe e = { .src = (uintptr_t)in, .src_len = n,
 *       .dst = (uintptr_t)out, .dst_len = cap, .op = UACCE_ZIP_OP_COMPRESS,
 *       .alg = UACCE_ZIP_ALG_GZIP, .level = 6 };
 *   uacce_zip_submit(z, &e);                 no system call while busy
 *   uacce_zip_wait(z, &cqe, -1);             spins briefly, then sleeps
 *   uacce_zip_close(z);
 *
 * Functions return 0 (or a count) or a negative errno.  A struct uacce_zip
 * belongs to the process that opened it; calls on one object must be
 * serialised by the caller.
 */
#ifndef UACCE_ZIP_H
#define UACCE_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include <uacce/libuacce.h>
#include <uacce/zip_usr_if.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uacce_zip;

/* Name of the first device whose api is uacce_zip_v1 ("uacce-zip-2"). */
int uacce_zip_find(char *dev, size_t len);

/*
 * Open and start a queue of `dev` (a name or a node path; NULL: the first
 * zip device).  A non-SVA device gets an SS of ss_size bytes (0: 16 MiB)
 * from which uacce_zip_alloc() carves buffers.
 */
int uacce_zip_open(const char *dev, size_t ss_size, struct uacce_zip **out);
/*
 * SVA devices: later uacce_zip_alloc() buffers come from `size` bytes of
 * memory shared with the device (uacce_share_alloc(), libuacce.h): the
 * daemon reads and writes them in place, without the kernel's copy
 * through /proc/<pid>/mem (for 1 MiB, ~0.4-0.6 ms each way).  Once per
 * queue; when it fails (-EINVAL: not SVA or shared already; -ENOMEM: the
 * user's region quota) buffers come from the heap as before.
 */
int uacce_zip_share(struct uacce_zip *z, size_t size);
void uacce_zip_close(struct uacce_zip *z);

struct uacce_q *uacce_zip_queue(const struct uacce_zip *z);
int uacce_zip_is_sva(const struct uacce_zip *z);
uint32_t uacce_zip_max_buf(const struct uacce_zip *z);
/* requests that may be outstanding at once (the CQ size) */
uint32_t uacce_zip_depth(const struct uacce_zip *z);
uint32_t uacce_zip_max_streams(const struct uacce_zip *z);

/*
 * A buffer the device can reach: the SS on a non-SVA device, page-aligned
 * heap memory on an SVA one.  Freed by uacce_zip_close().  NULL with errno
 * set (ENOMEM: the SS is used up).
 */
void *uacce_zip_alloc(struct uacce_zip *z, size_t size);

/* Output size that always suffices to compress len bytes in one request. */
size_t uacce_zip_bound(int alg, size_t len);

/* Queue one request: 0, or -EBUSY when uacce_zip_depth() are outstanding. */
int uacce_zip_submit(struct uacce_zip *z, const struct uacce_zip_sqe *e);
/* Take one completion: 1, or 0 when none is ready. */
int uacce_zip_reap(struct uacce_zip *z, struct uacce_zip_cqe *c);
/*
 * Wait up to timeout_ms (-1: forever) for a completion and take it: 1,
 * 0 on timeout, -ENOTCONN when the daemon or the queue is gone.
 */
int uacce_zip_wait(struct uacce_zip *z, struct uacce_zip_cqe *c, int timeout_ms);
/* requests submitted and not yet reaped */
uint32_t uacce_zip_outstanding(const struct uacce_zip *z);

/*
 * One whole-buffer request, synchronously, with nothing else outstanding
 * (-EBUSY otherwise): compress or decompress src into dst (both from
 * uacce_zip_alloc() or, SVA, any memory).  0 and *out_len, or the
 * request's status as a negative errno.
 */
int uacce_zip_run(struct uacce_zip *z, int op, int alg, int level, const void *src,
		  size_t src_len, void *dst, size_t dst_len, size_t *out_len);

/* "corrupt compressed data" and the like, for a completion status */
const char *uacce_zip_strerror(int status);

#ifdef __cplusplus
}
#endif

#endif /* UACCE_ZIP_H */
