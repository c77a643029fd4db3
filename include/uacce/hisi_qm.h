/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hisi_qm.h - the user interface of uacced's HiSilicon-QM-compatible zip
 * device (api "hisi_qm_v2", mainline profile), as Linaro UADK drives a
 * Kunpeng 920 zip engine through the kernel's uacce.  Written from the
 * documented facts of the interface (the kernel's uapi
 * misc/uacce/hisi_qm.h and the queue manager's register and descriptor
 * layouts); see uacce_hisi_zip(7).
 *
 * Regions (mainline profile, mmap page offset = region): MMIO (page 0,
 * 8192 bytes; the 64-bit doorbell at 0x1000) and DUS (page 1, exactly
 * 151552 bytes: SQ ring, CQ ring, a status page whose last two words are
 * the RX/TX stop flags).  Every address in an SQE is a virtual address of
 * the process that opened the queue (SVA).
 */
#ifndef UACCE_HISI_QM_H
#define UACCE_HISI_QM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HISI_QM_API_VER2_BASE	"hisi_qm_v2"

/* the kernel's uapi (misc/uacce/hisi_qm.h) */
struct hisi_qp_ctx {
	__u16 id;		/* out: the queue number (qn in doorbells) */
	__u16 qc_type;		/* in: 0 compress, 1 decompress */
};

struct hisi_qp_info {
	__u32 sqe_size;
	__u16 sq_depth;
	__u16 cq_depth;
	__u64 reserved;
};

#define UACCE_CMD_QM_SET_QP_CTX		_IOWR('H', 10, struct hisi_qp_ctx)
#define UACCE_CMD_QM_SET_QP_INFO	_IOWR('H', 11, struct hisi_qp_info)

/* queue geometry of the v2 zip queue manager */
#define HISI_ZIP_SQE_SIZE	128
#define HISI_QM_Q_DEPTH		1024
#define HISI_QM_MMIO_SIZE	8192
#define HISI_QM_DB_OFFSET	0x1000
#define HISI_QM_CQE_SIZE	16
#define HISI_QM_DUS_SIZE	151552	/* 37 pages of 4 KiB */
#define HISI_QM_CQ_OFFSET	(HISI_ZIP_SQE_SIZE * HISI_QM_Q_DEPTH)
#define HISI_QM_RX_STOP_OFFSET	(HISI_QM_DUS_SIZE - 8)	/* u32 */
#define HISI_QM_TX_STOP_OFFSET	(HISI_QM_DUS_SIZE - 4)	/* u32 */

/* doorbell (v2): qn 0-15, cmd 12-15 (0 SQ, 1 CQ), index 32-47, priority 48-63 */
#define HISI_QM_DB_CMD_SQ	0
#define HISI_QM_DB_CMD_CQ	1
#define HISI_QM_DB(qn, cmd, index, prio) \
	(((__u64)(qn) & 0x3ff) | ((__u64)(cmd) << 12) | ((__u64)(index) << 32) | \
	 ((__u64)(prio) << 48))

/* completion queue entry: the SQ slot that completed and the phase bit */
struct hisi_qm_cqe {
	__u32 rsvd0;
	__u16 cmd_id;
	__u16 rsvd1;
	__u16 sq_head;		/* the SQ slot whose request completed */
	__u16 sq_num;		/* the queue number */
	__u16 rsvd2;
	__u16 w7;		/* bit 0: phase (1 on the first pass, flips each wrap) */
};

/*
 * The zip SQE (128 bytes).  The device writes its results back into the
 * slot (consumed, produced, dw3, ctx_dw*, isize, checksum) before it posts
 * the CQE; everything else comes back as it was sent.
 */
struct hisi_zip_sqe {
	__u32 consumed;			/* dw0 out: input bytes consumed */
	__u32 produced;			/* dw1 out: output bytes produced */
	__u32 comp_data_length;		/* dw2 */
	__u32 dw3;			/* out: 0-7 status, 8 last block seen */
	__u32 input_data_length;	/* dw4 */
	__u32 dw5;
	__u32 dw6;
	__u32 dw7;	/* 0-23 in-SGL skip, 25 FINISH, 26 stateful, 27 new stream, 28-31 sqe type */
	__u32 dw8;	/* 0-23 out-SGL skip */
	__u32 dw9;	/* 0-7 request type, 8-11 buffer type (0 flat, 1 SGL), 12-15 window */
	__u32 dw10;
	__u32 dw11;
	__u32 dw12;
	__u32 dw13;			/* tag (sqe type 0) */
	__u32 dest_avail_out;		/* dw14 */
	__u32 ctx_dw0;			/* dw15 */
	__u32 dw16;
	__u32 dw17;
	__u32 source_addr_l;		/* dw18 */
	__u32 source_addr_h;
	__u32 dest_addr_l;		/* dw20 */
	__u32 dest_addr_h;
	__u32 stream_ctx_addr_l;	/* dw22: stateful: the stream's identity */
	__u32 stream_ctx_addr_h;
	__u32 literals_addr_l;		/* dw24 */
	__u32 literals_addr_h;
	__u32 dw26;			/* tag (sqe type 3) */
	__u32 dw27;
	__u32 ctx_dw1;			/* dw28 */
	__u32 ctx_dw2;			/* dw29 */
	__u32 isize;			/* dw30: running input size */
	__u32 checksum;			/* dw31: running checksum */
};

/* request types (dw9 bits 0-7) */
#define HISI_ZIP_DEFLATE	0x1
#define HISI_ZIP_ZLIB		0x2
#define HISI_ZIP_GZIP		0x3

#define HISI_ZIP_FLUSH_FINISH	(1u << 25)
#define HISI_ZIP_STATEFUL	(1u << 26)
#define HISI_ZIP_STREAM_NEW	(1u << 27)
#define HISI_ZIP_BUF_SGL	1u	/* dw9 bits 8-11 */
#define HISI_ZIP_LAST_BLOCK	(1u << 8)	/* dw3 */

/* status (dw3 bits 0-7) */
#define HISI_ZIP_OK		0x00
#define HISI_ZIP_NEGACOMPRESS	0x0d	/* output larger than input: still valid */
#define HISI_ZIP_DST_SMALL	0x0e	/* the output does not fit dest_avail_out */
#define HISI_ZIP_CRC_ERR	0x10	/* trailer checksum or size mismatch */
#define HISI_ZIP_DECOMP_END	0x13	/* decompression reached the end of the stream */
/* uacced's own codes (any other status is an error for UADK) */
/* a field out of range: type, sizes, stream (an unknown stream context:
 * also one opened before a live restart of uacced, whose zlib state does
 * not survive it; stateless requests do) */
#define HISI_ZIP_BAD_REQUEST	0x0a
#define HISI_ZIP_BAD_DATA	0x0b	/* input is not valid deflate data */
#define HISI_ZIP_FAULT		0x0c	/* an address the owner cannot read or write */

/* the hardware scatter-gather list (SGL buffer type) */
struct hisi_sgl_hdr {
	__u64 next_dma;			/* next SGL of the chain, 0 at the end */
	__u16 entry_sum_in_chain;
	__u16 entry_sum_in_sgl;		/* entries in this SGL */
	__u16 entry_length_in_sgl;
	__u16 pad0;
	__u64 pad1[4];
	__u64 next;			/* the producer's own link (unused) */
	__u64 entry_size_in_sgl;
};

struct hisi_sge {
	__u64 buff;			/* the buffer's address */
	__u64 page_ctrl;
	__u32 len;			/* its length */
	__u32 pad;
	__u64 vbuff;
};

#endif /* UACCE_HISI_QM_H */
