/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_soft.c - the harnesses' environment (fuzz_common.h): quiet logging,
 * the caller identity, a one-device core, region mapping as the client
 * library does it, and the test-only "no worker" soft ops table.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "log.h"
#include "soft.h"

void fuzz_log_init(void)
{
	const char *v = getenv("FUZZ_LOG");

	log_set_target(LOG_TARGET_CONSOLE);
	log_set_level(v && strcmp(v, "debug") == 0 ? LOG_DEBUG : LOG_CRIT);
}

struct uacce_caller fuzz_me(void)
{
	return (struct uacce_caller){ .tid = gettid(), .uid = getuid(), .gid = getgid() };
}

/* --- soft queues without workers ------------------------------------------- */

struct soft_q *fuzz_last_sq;

static int noworker_get_queue(struct uacce_hwdev *hd, struct uacce_queue *q,
			      struct uacce_hwq **out)
{
	int err = soft_get_queue(hd, q, out);

	fuzz_last_sq = err ? NULL : soft_q_of(*out);
	return err;
}

/* qlock held: the same flag soft_start_queue sets, without the thread */
static int noworker_start_queue(struct uacce_hwq *hq)
{
	soft_q_of(hq)->running = true;
	return 0;
}

static void noworker_stop_queue(struct uacce_hwq *hq)
{
	soft_q_of(hq)->running = false;
}

static void noworker_put_queue(struct uacce_hwq *hq)
{
	if (fuzz_last_sq == soft_q_of(hq))
		fuzz_last_sq = NULL;
	soft_put_queue(hq);
}

static const struct uacce_backend_queue_ops noworker_queue_ops = {
	.get_queue = noworker_get_queue,
	.put_queue = noworker_put_queue,
	.start_queue = noworker_start_queue,
	.stop_queue = noworker_stop_queue,
	.ioctl = soft_ioctl,
	.is_updated = soft_is_updated,
	.cancel = soft_cancel,
};

const struct uacce_backend_ops fuzz_soft_noworker_ops = {
	.name = "soft-noworker",
	.cfg = &soft_cfg_ops,
	.dev_create = NULL,	/* filled from soft_backend_ops: see fuzz_core_one */
	.queue = &noworker_queue_ops,
};

/* --- a core ---------------------------------------------------------------- */

int fuzz_core_one(const struct uacce_backend_ops *ops, const char *api, int queues,
		  struct uacce_core **c, struct uacce_dev **d)
{
	return fuzz_core_one_sva(ops, api, queues, false, c, d);
}

int fuzz_core_one_sva(const struct uacce_backend_ops *ops, const char *api, int queues, bool sva,
		      struct uacce_core **c, struct uacce_dev **d)
{
	static struct uacce_backend_ops noworker;
	struct uacce_dev_cfg cfg = {
		.name = "fuzz", .backend = "soft", .api = api, .sva = sva, .queues = queues,
	};
	int err;

	if (ops == &fuzz_soft_noworker_ops) {
		noworker = fuzz_soft_noworker_ops;
		noworker.dev_create = soft_backend_ops.dev_create;
		noworker.dev_destroy = soft_backend_ops.dev_destroy;
		ops = &noworker;
	}
	err = core_new(NULL, c);
	if (err)
		return err;
	err = core_add_device(*c, ops, &cfg, 0, d);
	if (err) {
		core_free(*c);
		*c = NULL;
	}
	return err;
}

void fuzz_core_free(struct uacce_core *c, struct uacce_dev *d)
{
	core_remove_device(d);
	ud_unref(d);
	core_free(c);
}

void *fuzz_map(struct uacce_queue *q, int type, uint64_t size)
{
	uint64_t got = 0;
	int fd = -1;
	void *p;

	if (uq_map(q, getpid(), type, size, &fd, &got) || fd < 0)
		return NULL;
	p = mmap(NULL, got, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	if (uq_mapped(q, getpid(), type, (uint64_t)(uintptr_t)p)) {
		munmap(p, got);
		return NULL;
	}
	return p;
}
