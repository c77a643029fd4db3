/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uacce.h - the user ABI of the uacce accelerator framework (v4 profile),
 * as served by uacced.  Programs written against the 2019 kernel header
 * build unchanged against this one: the names and numbers are the same.
 */
#ifndef UACCE_UACCE_H
#define UACCE_UACCE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ioctls on a queue fd (v4) */
#define UACCE_CMD_SHARE_SVAS	_IO('W', 0)	/* arg: fd of a source queue */
#define UACCE_CMD_START		_IO('W', 1)
#define UACCE_CMD_PUT_Q		_IO('W', 2)
/* named by the companion user library; not implemented (EINVAL) */
#define UACCE_CMD_GET_SS_DMA	_IOR('W', 100, unsigned long)

/* device flags (the "flags" attribute) */
#define UACCE_DEV_SHARE_DOMAIN	0x0	/* no PASID: one process at a time */
#define UACCE_DEV_SVA		0x1	/* shared virtual addressing */

/* queue file regions; mmap selects a region by its byte offset */
enum uacce_qfrt {
	UACCE_QFRT_MMIO = 0,	/* device registers / doorbell */
	UACCE_QFRT_DKO = 1,	/* device kernel-only (reserved, no access) */
	UACCE_QFRT_DUS = 2,	/* device user share */
	UACCE_QFRT_SS = 3,	/* static shared memory (non-SVA only) */
	UACCE_QFRT_MAX = 16,
};
#define UACCE_QFRT_INVALID	UACCE_QFRT_MAX
#define UACCE_QFR_NA		((__u64)~0ULL)	/* region not present */

/* number of region types listed in qfrs_offset (MMIO, DKO, DUS, SS) */
#define UACCE_QFRT_NR		4

#endif /* UACCE_UACCE_H */
