/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dummy.c - the "dummy" memcpy device (see dummy_usr_if.h), variants v1
 * (register page = MMIO) and v2 (register page = DUS, doorbell in MMIO).
 *
 * Everything in the register page is written by the client and therefore
 * untrusted: the device keeps its own tail, reads head once, bounds it, and
 * copies each message before using it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "soft.h"
#include "uacce/dummy_usr_if.h"

static struct dummy_hw_queue_reg *reg_of(struct soft_q *sq)
{
	int type = sq->dev->pers == &soft_dummy_v1 ? UACCE_QFRT_MMIO : UACCE_QFRT_DUS;

	return uacce_region_map(uacce_hwq_region(sq->q, type));
}

static struct dummy_wake *wake_of(struct soft_q *sq)
{
	return (struct dummy_wake *)((char *)uacce_region_map(uacce_hwq_region(sq->q, UACCE_QFRT_MMIO)) +
				     DUMMY_WAKE_OFFSET);
}

static int dummy_init_queue(struct soft_q *sq)
{
	struct dummy_hw_queue_reg *reg = reg_of(sq);

	memcpy(reg->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
	reg->ring_bd_num = Q_BDS;
	reg->head = 0;
	reg->tail = 0;
	sq->tail = 0;
	return 0;
}

/* called without proc_lock: a FLUSH may move sq->tail meanwhile (see soft.h) */
static bool dummy_pending(struct soft_q *sq)
{
	uint32_t head = __atomic_load_n(&reg_of(sq)->head, __ATOMIC_ACQUIRE);

	return head < Q_BDS && head != __atomic_load_n(&sq->tail, __ATOMIC_RELAXED);
}

static int dummy_process(struct soft_q *sq)
{
	struct dummy_hw_queue_reg *reg = reg_of(sq);
	uint32_t head = __atomic_load_n(&reg->head, __ATOMIC_ACQUIRE);
	int done = 0;

	if (head >= Q_BDS)	/* garbage from the client: nothing to take */
		return 0;
	while (sq->tail != head && !soft_leaving(sq)) {
		struct wd_dummy_cpy_msg m;
		uint32_t ret;

		memcpy(&m, &reg->ring[sq->tail], sizeof(m));
		/* the ring's status word: 0 or a positive errno */
		ret = (uint32_t)-soft_copy(sq, (uint64_t)(uintptr_t)m.tgt_addr,
					   (uint64_t)(uintptr_t)m.src_addr, m.size);
		__atomic_store_n(&reg->ring[sq->tail].ret, ret, __ATOMIC_RELAXED);
		__atomic_store_n(&sq->tail, (sq->tail + 1) % Q_BDS, __ATOMIC_RELAXED);
		__atomic_store_n(&reg->tail, sq->tail, __ATOMIC_RELEASE);
		done++;
	}
	return done;
}

/* saved state, version 1: the device's tail (u32) */
#define DUMMY_SAVE_V1	1

static ssize_t dummy_save(struct soft_q *sq, uint8_t *buf, size_t len)
{
	if (len < 5)
		return -ENOSPC;
	buf[0] = DUMMY_SAVE_V1;
	soft_put32(buf + 1, __atomic_load_n(&sq->tail, __ATOMIC_RELAXED));
	return 5;
}

/* the register page stays as the predecessor and the client left it */
static int dummy_adopt(struct soft_q *sq, const uint8_t *buf, size_t len)
{
	uint32_t tail;

	if (len < 5 || buf[0] != DUMMY_SAVE_V1)	/* the only version so far */
		return -EINVAL;
	tail = soft_get32(buf + 1);
	if (tail >= Q_BDS)
		return -EINVAL;
	sq->tail = tail;
	return 0;
}

/*
 * After a crash: the tail the device last published in the register page
 * (the client can write that page: a bad value only breaks its own queue).
 * A copy in progress is done again: memcpy is idempotent.
 */
static int dummy_recover(struct soft_q *sq)
{
	uint32_t tail = __atomic_load_n(&reg_of(sq)->tail, __ATOMIC_ACQUIRE);

	if (tail >= Q_BDS)
		return -EINVAL;
	sq->tail = tail;
	return 0;
}

static uint32_t *dummy_wake_word(struct soft_q *sq, uint32_t **sleeping)
{
	struct dummy_wake *w = wake_of(sq);

	*sleeping = &w->sleeping;
	return &w->wake;
}

const struct soft_personality soft_dummy_v1 = {
	.api = "dummy_v1",
	.algorithms = "memcpy",
	.qfr_size = { [UACCE_QFRT_MMIO] = 4096, [UACCE_QFRT_SS] = 1 },
	.ml_data_size = DUMMY_ML_DATA_SIZE,
	.flush_cmd = DUMMY_CMD_FLUSH,
	.init_queue = dummy_init_queue,
	.process = dummy_process,
	.pending = dummy_pending,
	.wake_word = dummy_wake_word,
	.save = dummy_save,
	.adopt = dummy_adopt,
	.recover = dummy_recover,
};

const struct soft_personality soft_dummy_v2 = {
	.api = "dummy_v2",
	.algorithms = "memcpy",
	.qfr_size = { [UACCE_QFRT_MMIO] = 4096, [UACCE_QFRT_DUS] = 4096, [UACCE_QFRT_SS] = 1 },
	.ml_data_size = DUMMY_ML_DATA_SIZE,
	.flush_cmd = DUMMY_CMD_FLUSH,
	.init_queue = dummy_init_queue,
	.process = dummy_process,
	.pending = dummy_pending,
	.wake_word = dummy_wake_word,
	.save = dummy_save,
	.adopt = dummy_adopt,
	.recover = dummy_recover,
};
