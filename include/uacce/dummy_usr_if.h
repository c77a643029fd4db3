/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dummy_usr_if.h - the "dummy" memcpy accelerator's user interface
 * (byte compatible with the original framework's test device).
 */
#ifndef UACCE_DUMMY_USR_IF_H
#define UACCE_DUMMY_USR_IF_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

#define DUMMY_HW_TAG		"WDDUMMY"
#define DUMMY_HW_TAG_SZ		8
#define Q_BDS			16

struct wd_dummy_cpy_msg {
	char *src_addr;
	char *tgt_addr;
	size_t size;
	void *ptr;		/* the client's cookie, echoed */
	uint32_t ret;		/* 0 = done, else an error code */
};

struct dummy_hw_queue_reg {
	char hw_tag[DUMMY_HW_TAG_SZ];
	struct wd_dummy_cpy_msg ring[Q_BDS];
	uint32_t ring_bd_num;	/* set by the device */
	uint32_t head;		/* written by the user */
	uint32_t tail;		/* written by the device */
};

#define DUMMY_CMD_FLUSH		_IO('d', 0)

/*
 * The mainline profile (uacced.json(5) "abi": "mainline") has regions MMIO
 * (mmap page offset 0) and DUS (page offset 1) and no SS.  A non-SVA
 * device keeps the request buffers in its DUS instead: from the data
 * offset (v1: 0, all of the DUS; v2: after the register page) to the end
 * of the DUS (region_dus_size; the "data_size" key of the device's entry,
 * default DUMMY_ML_DATA_SIZE).  The addresses in a request are the
 * client's addresses inside its mapping of that part.
 */
#define DUMMY_ML_DATA_SIZE	(8u << 20)	/* default */
#define DUMMY_V1_ML_DATA_OFFSET	0
#define DUMMY_V2_ML_DATA_OFFSET	4096

/* Error codes in wd_dummy_cpy_msg.ret (positive errno values). */

/*
 * uacced extension, invisible to the original clients: the rest of the
 * register page (MMIO for v1) or of the MMIO page (v2) carries a wake-up
 * word.  While the device worker sleeps it sets `sleeping`; a client may
 * then wake it with one FUTEX_WAKE on `wake` (what libuacce does).  Clients
 * that ignore it are served within the device's idle poll interval.
 */
#define DUMMY_WAKE_OFFSET	2048
struct dummy_wake {
	uint32_t sleeping;	/* written by the device */
	uint32_t wake;		/* futex word: the client adds 1 and wakes */
};

#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(struct wd_dummy_cpy_msg) == 40, "dummy msg layout");
_Static_assert(sizeof(struct dummy_hw_queue_reg) == 664, "dummy reg layout");
_Static_assert(offsetof(struct dummy_hw_queue_reg, head) == 652, "head");
#endif

#endif /* UACCE_DUMMY_USR_IF_H */
