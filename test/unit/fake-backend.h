/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake-backend.h - a backend for the core's unit tests: the whole of
 * struct uacce_backend_ops (hwbackends/backend.h) with no hardware and no
 * thread behind it.  It counts every op per queue and per device, records
 * the order of a queue's ops, checks the contract backend.h writes down
 * (op order, one op of a queue at a time, lock context, the _IOC data
 * contract) and lets a test steer it: a failing get_queue or start_queue,
 * the "is updated" answer of poll, an ioctl that blocks until the test
 * releases it or the core cancels the queue.
 *
 * Like any backend it sees only backend.h and common/ (it is built with the
 * backends' include path).  Its state lives until fake_reset(), so a test
 * can read the counters of queues and devices the core has put/destroyed.
 * Every function is thread-safe (one mutex; waits use a condition variable,
 * never sleeps).
 *
 * Device entry (struct uacce_dev_cfg): api "fake"; the optional integer
 * keys "mmio", "dus", "ss" are the region sizes (defaults 4096, 0, and
 * 1 = present for non-SVA devices, 0 for SVA ones) and "create_error" an
 * errno that dev_create fails with, the optional string "sysfs_device" the
 * info's sysfs_device (hardware behind it).  flags: UACCE_DEV_SVA with sva,
 * UACCE_DEV_SHARE_DOMAIN without; max_queues = queues.
 */
#ifndef UACCE_TEST_FAKE_BACKEND_H
#define UACCE_TEST_FAKE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "backend.h"

#define FAKE_NAME	"fake"
#define FAKE_API	"fake"

/* FAKE_CMD_ECHO: out[i] = ~in[i], tag = in tag + 1 (a _IOWR round trip) */
struct fake_echo {
	uint32_t tag;
	uint8_t in[12];
	uint8_t out[12];
};

#define FAKE_CMD_ECHO	_IOWR('f', 1, struct fake_echo)
/* blocks until fake_release() (returns 0) or a cancel (returns -ECANCELED) */
#define FAKE_CMD_BLOCK	_IO('f', 2)
/* an _IOC_NONE command: records its arg (fake_last_arg), returns 0 */
#define FAKE_CMD_ARG	_IO('f', 3)
/* any other command: -ENOTTY */

enum fake_op {
	FOP_GET,		/* get_queue */
	FOP_PUT,		/* put_queue */
	FOP_START,		/* start_queue */
	FOP_STOP,		/* stop_queue */
	FOP_IOCTL,		/* ioctl */
	FOP_UPDATED,		/* is_updated */
	FOP_CANCEL,		/* cancel */
	FOP_SUSPEND,		/* suspend_queue */
	FOP_RESUME,		/* resume_queue */
	FOP_SAVE,		/* save_queue */
	FOP_ADOPT,		/* adopt_queue */
	FOP_NR
};

/*
 * The fake's ops tables, writable so that a test can take a member out:
 * fake_table_init() fills a complete one.
 */
struct fake_table {
	struct uacce_backend_ops ops;
	struct uacce_backend_cfg_ops cfg;
	struct uacce_backend_queue_ops queue;
};

void fake_table_init(struct fake_table *t);
/* a complete table (every optional member too), shared */
const struct uacce_backend_ops *fake_ops(void);

/* forget every device and queue record (after core_free) */
void fake_reset(void);
/* contract violations seen since the reset, and the first one's text */
int fake_violations(const char **first);
/* devices dev_create created since the reset (including destroyed ones) */
int fake_created(void);

/* --- devices, by node name ("uacce-fake-1") --------------------------------- */
/* op calls over all the device's queues; -1 if there is no such device */
int fake_dev_calls(const char *node, enum fake_op op);
/* hardware queues taken and not put */
int fake_dev_live(const char *node);
bool fake_dev_destroyed(const char *node);
/* the device's next get_queue fails with err (0: succeeds again) */
void fake_dev_fail_get(const char *node, int err);

/* --- queues, by the core's queue (the latest fake queue got for it) -------- */
bool fake_has_queue(struct uacce_queue *q);
int fake_calls(struct uacce_queue *q, enum fake_op op);
/*
 * The queue's ops in order, one letter each: G get, S start, T stop,
 * I ioctl, C cancel, P put, U suspend, R resume, V save, A adopt
 * (is_updated, which may come any time, is only counted).  Copied into
 * buf (at least 64 bytes); returns buf.
 */
const char *fake_seq(struct uacce_queue *q, char *buf);
/* start_queue fails with err from now on (0: succeeds again) */
void fake_fail_start(struct uacce_queue *q, int err);
/* start_queue blocks like FAKE_CMD_BLOCK (and counts as "entered") */
void fake_block_start(struct uacce_queue *q, bool on);
/* the next is_updated answers `on` (it consumes the news) */
void fake_set_updated(struct uacce_queue *q, bool on);
/*
 * Wait until a blocking op of q (FAKE_CMD_BLOCK, a blocked start) has been
 * entered `n` times in all (counting since the queue was got); false after
 * `ms` milliseconds.
 */
bool fake_wait_entered(struct uacce_queue *q, int n, unsigned ms);
/* is an op of q blocked in the fake right now? */
bool fake_blocked(struct uacce_queue *q);
/* let the blocked op of q return 0 */
void fake_release(struct uacce_queue *q);
/*
 * When op was first called on q, on a clock that counts every op call of
 * every queue (0: never), to compare across queues.
 */
unsigned long fake_first(struct uacce_queue *q, enum fake_op op);
/* the arg of the last FAKE_CMD_ARG */
unsigned long fake_last_arg(struct uacce_queue *q);

/*
 * Live restart.  A fake queue's "hardware state" is a token (a number the
 * test sets) and whether it was started: save_queue writes them (version
 * byte 1, token, started), adopt_queue reads them back (a started queue
 * comes back suspended, waiting for resume_queue).  suspend_queue only on
 * a started queue, resume_queue only on a suspended one, save_queue only
 * on one not running: anything else is a contract violation.
 */
void fake_set_token(struct uacce_queue *q, uint32_t token);
/* the token of q's fake queue; 0 when there is none */
uint32_t fake_token(struct uacce_queue *q);
/* is q's fake queue suspended (suspend_queue/adopt_queue, no resume yet)? */
bool fake_suspended(struct uacce_queue *q);
/* the device's next adopt_queue fails with err (0: succeeds again) */
void fake_dev_fail_adopt(const char *node, int err);

#endif
