/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uacce_ml.h - the numbers of the mainline uacce user ABI (Linux >= 5.7,
 * include/uapi/misc/uacce/uacce.h), under names of our own: the kernel's
 * names (UACCE_CMD_PUT_Q, UACCE_QFRT_DUS) mean other numbers in the v4
 * header include/uacce/uacce.h, so the two cannot share one translation
 * unit.  For the daemon and libuacce; programs include the kernel's header.
 */
#ifndef UACCE_ML_H
#define UACCE_ML_H

#include <linux/ioctl.h>

#define UACCE_ML_CMD_START_Q	_IO('W', 0)	/* INIT -> STARTED */
#define UACCE_ML_CMD_PUT_Q	_IO('W', 1)	/* stop: STARTED -> INIT */

/* mmap page offset = region type */
#define UACCE_ML_QFRT_MMIO	0
#define UACCE_ML_QFRT_DUS	1
#define UACCE_ML_MAX_REGION	2

#endif /* UACCE_ML_H */
