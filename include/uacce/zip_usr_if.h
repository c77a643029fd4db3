/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zip_usr_if.h - the user interface of uacced's compression accelerator,
 * api "uacce_zip_v1", algorithms deflate, zlib and gzip.  See uacce_zip(7).
 *
 * Regions: MMIO (one page of registers, struct uacce_zip_regs), DUS (the
 * submission and completion rings), SS (non-SVA devices only: the buffers).
 *
 * Submit: write an SQE at sqes[sq_tail % sq_entries], store sq_tail + 1
 * with release order, then a full barrier; if `flags` has
 * UACCE_ZIP_NEED_WAKEUP, add 1 to `wake` and FUTEX_WAKE it (one worker).
 * Complete: the device writes a CQE and stores cq_tail with release order;
 * the client reads CQEs up to cq_tail (acquire) and stores cq_head.  To
 * sleep, a client adds 1 to `cq_waiters`, re-reads cq_tail and FUTEX_WAITs
 * on it; the device FUTEX_WAKEs cq_tail after posting while cq_waiters is
 * non-zero.  poll(2) on the queue fd reports POLLIN after completions too.
 *
 * Keep at most cq_entries requests outstanding (submitted, CQE not yet
 * consumed).  All fields are native-endian; indices are free-running
 * 32-bit counters.  The device validates everything the client writes.
 */
#ifndef UACCE_ZIP_USR_IF_H
#define UACCE_ZIP_USR_IF_H

#include <linux/types.h>
#include <stddef.h>

#define UACCE_ZIP_API		"uacce_zip_v1"
#define UACCE_ZIP_MAGIC		"UACCZIP"	/* 8 bytes with the NUL */
#define UACCE_ZIP_VERSION	1

/* sizes of the regions (the device publishes them in qfrs_offset) */
#define UACCE_ZIP_MMIO_SIZE	4096
#define UACCE_ZIP_DUS_SIZE	16384

/*
 * The mainline profile (uacced.json(5) "abi": "mainline") has MMIO (mmap
 * page offset 0) and DUS (page offset 1) and no SS: a non-SVA device's
 * buffers are its DUS from UACCE_ZIP_ML_DATA_OFFSET to the end
 * (region_dus_size: the rings, then the "data_size" key of the device's
 * entry, default UACCE_ZIP_ML_DATA_SIZE).
 */
#define UACCE_ZIP_ML_DATA_OFFSET	UACCE_ZIP_DUS_SIZE
#define UACCE_ZIP_ML_DATA_SIZE		(16u << 20)	/* default */

/* --- requests ----------------------------------------------------------- */

enum uacce_zip_op {
	UACCE_ZIP_OP_COMPRESS = 1,
	UACCE_ZIP_OP_DECOMPRESS = 2,
};

enum uacce_zip_alg {
	UACCE_ZIP_ALG_DEFLATE = 1,	/* raw deflate, RFC 1951 */
	UACCE_ZIP_ALG_ZLIB = 2,		/* RFC 1950 */
	UACCE_ZIP_ALG_GZIP = 3,		/* RFC 1952 */
};

/* sqe.flags (stream requests; ignored by whole-buffer requests) */
#define UACCE_ZIP_F_START	0x1	/* begin a new stream in this slot */
#define UACCE_ZIP_F_END		0x2	/* the last input of the stream */
#define UACCE_ZIP_F_FLUSH	0x4	/* compress: sync flush after this input */
#define UACCE_ZIP_F_ALL		0x7

/*
 * One request.  stream 0: a whole buffer (the input is one complete
 * compressed stream or all the data to compress).  stream 1..max_streams:
 * a piece of a stateful stream of this queue.
 */
struct uacce_zip_sqe {
	__u64 src;		/* +0  client address of the input */
	__u64 dst;		/* +8  client address of the output buffer */
	__u32 src_len;		/* +16 input bytes (at most max_buf) */
	__u32 dst_len;		/* +20 output buffer bytes (at most max_buf) */
	__u64 cookie;		/* +24 echoed in the completion */
	__u8 op;		/* +32 enum uacce_zip_op */
	__u8 alg;		/* +33 enum uacce_zip_alg */
	__u8 level;		/* +34 compress: 1..9, 0 = 6 */
	__u8 stream;		/* +35 0 = whole buffer, else a stream slot */
	__u32 flags;		/* +36 UACCE_ZIP_F_* */
	__u16 epoch;		/* +40 stream: the stream's current epoch */
	__u16 rsvd0;		/* +42 must be 0 */
	__u32 rsvd[5];		/* +44 must be 0 */
};

/* cqe.flags */
#define UACCE_ZIP_CF_EOS	0x1	/* the stream ended (trailer written / found) */
#define UACCE_ZIP_CF_MORE	0x2	/* cut short: resubmit the rest, new epoch */

/*
 * One completion.  status is 0 or a positive errno value:
 *   EINVAL     malformed request (op, alg, level, stream, flags, reserved
 *              fields, overlapping buffers)
 *   E2BIG      a length above max_buf
 *   EFAULT     an address the device cannot reach (non-SVA: outside the SS)
 *   EBADMSG    corrupt compressed input
 *   ENODATA    stream: the compressed data ends before its end (F_END)
 *   ENOSPC     whole buffer: the output buffer is too small
 *   ECANCELED  stream: stale epoch, the request was not processed
 *   EPIPE      stream: no open stream in this slot (also: a stream opened
 *              before a live restart of uacced, whose codec state does
 *              not survive it; whole-buffer requests do)
 *   ENOMEM     the device could not allocate codec state
 * Every error but ECANCELED closes the stream.
 */
struct uacce_zip_cqe {
	__u64 cookie;		/* +0  the request's cookie */
	__u32 status;		/* +8  0 or a positive errno value */
	__u32 flags;		/* +12 UACCE_ZIP_CF_* */
	__u32 consumed;		/* +16 input bytes consumed */
	__u32 produced;		/* +20 output bytes written */
	__u16 epoch;		/* +24 stream: the epoch the next request must carry */
	__u16 rsvd0;		/* +26 */
	__u32 rsvd1;		/* +28 */
};

/* --- registers (the MMIO page) ------------------------------------------- */

#define UACCE_ZIP_NEED_WAKEUP	0x1	/* regs.flags: kick after submitting */

/* one 64-byte line per word that changes hands, to keep writers apart */
struct uacce_zip_regs {
	char magic[8];		/* +0   UACCE_ZIP_MAGIC, set by the device */
	__u32 version;		/* +8   UACCE_ZIP_VERSION */
	__u32 sq_entries;	/* +12  a power of two */
	__u32 cq_entries;	/* +16  a power of two */
	__u32 max_buf;		/* +20  bytes per buffer, at most */
	__u32 max_streams;	/* +24  stream slots 1..max_streams */
	__u32 sqe_off;		/* +28  offset of the SQE array in DUS */
	__u32 cqe_off;		/* +32  offset of the CQE array in DUS */
	__u32 pad0[7];
	__u32 sq_tail;		/* +64  client: SQEs published */
	__u32 pad1[15];
	__u32 sq_head;		/* +128 device: SQEs taken */
	__u32 pad2[15];
	__u32 cq_tail;		/* +192 device: CQEs posted (a futex) */
	__u32 pad3[15];
	__u32 cq_head;		/* +256 client: CQEs consumed */
	__u32 pad4[15];
	__u32 flags;		/* +320 device: UACCE_ZIP_NEED_WAKEUP */
	__u32 wake;		/* +324 futex: the client adds 1 and wakes */
	__u32 pad5[14];
	__u32 cq_waiters;	/* +384 client: threads sleeping on cq_tail */
	__u32 ring_errors;	/* +388 device: invalid indices seen */
	__u32 pad6[14];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct uacce_zip_sqe) == 64, "uacce_zip_sqe layout");
_Static_assert(sizeof(struct uacce_zip_cqe) == 32, "uacce_zip_cqe layout");
_Static_assert(offsetof(struct uacce_zip_regs, sq_tail) == 64, "sq_tail");
_Static_assert(offsetof(struct uacce_zip_regs, cq_tail) == 192, "cq_tail");
_Static_assert(offsetof(struct uacce_zip_regs, flags) == 320, "flags");
_Static_assert(offsetof(struct uacce_zip_regs, cq_waiters) == 384, "cq_waiters");
_Static_assert(sizeof(struct uacce_zip_regs) == 448, "uacce_zip_regs layout");
#endif

#endif /* UACCE_ZIP_USR_IF_H */
