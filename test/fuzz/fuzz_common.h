/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_common.h - what the libFuzzer harnesses of test/fuzz/ share: an
 * input reader (every byte is consumed by exactly one decoder step, and
 * an exhausted input reads as zeros, so each input maps to one
 * deterministic sequence of actions), the harness-side client of a soft
 * queue, and the test-only backend ops table without worker threads.
 *
 * Test code only: nothing here is compiled into uacced.
 */
#ifndef UACCED_FUZZ_COMMON_H
#define UACCED_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

struct soft_q;

/* --- the input ------------------------------------------------------------- */

struct fin {
	const uint8_t *p;
	size_t n;
};

static inline bool fin_more(const struct fin *f) { return f->n > 0; }

static inline uint64_t fin_uint(struct fin *f, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++) {
		v |= (uint64_t)(f->n ? *f->p : 0) << (8 * i);
		if (f->n) {
			f->p++;
			f->n--;
		}
	}
	return v;
}

static inline uint8_t fin_u8(struct fin *f) { return (uint8_t)fin_uint(f, 1); }
static inline uint16_t fin_u16(struct fin *f) { return (uint16_t)fin_uint(f, 2); }
static inline uint32_t fin_u32(struct fin *f) { return (uint32_t)fin_uint(f, 4); }
static inline uint64_t fin_u64(struct fin *f) { return fin_uint(f, 8); }

/* up to len bytes of the input into buf (the rest zero); returns the count taken */
static inline size_t fin_bytes(struct fin *f, void *buf, size_t len)
{
	size_t k = len < f->n ? len : f->n;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = i < k ? f->p[i] : 0;
	f->p += k;
	f->n -= k;
	return k;
}

/* a failed invariant is a crash, with a line that says which */
#define FUZZ_CHECK(cond, ...)                                                            \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, \
				__LINE__, #cond);                                        \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* --- the harness environment ----------------------------------------------- */

/* quiet logging (FUZZ_LOG=debug for everything) */
void fuzz_log_init(void);

/* the harness process as a client: caller tid gettid(), peer getpid() */
struct uacce_caller fuzz_me(void);

/*
 * The soft backend's ops with start/stop replaced: a started queue gets
 * no worker thread and joins no pool; it is marked running, so that FLUSH
 * processes it in the calling thread, and the harness may call the
 * personality's process() itself.  fuzz_last_sq is the soft queue of the
 * latest get_queue.  Everything else (get/put, ioctl, cancel) is the
 * product's.
 */
extern const struct uacce_backend_ops fuzz_soft_noworker_ops;
extern struct soft_q *fuzz_last_sq;

/* a one-device core; sva false; -errno */
int fuzz_core_one(const struct uacce_backend_ops *ops, const char *api, int queues,
		  struct uacce_core **c, struct uacce_dev **d);
/* the same with the device's sva set as given */
int fuzz_core_one_sva(const struct uacce_backend_ops *ops, const char *api, int queues, bool sva,
		      struct uacce_core **c, struct uacce_dev **d);
void fuzz_core_free(struct uacce_core *c, struct uacce_dev *d);

/* map region `type` of q (uq_map + mmap + uq_mapped): the address, or NULL */
void *fuzz_map(struct uacce_queue *q, int type, uint64_t size);

#endif
