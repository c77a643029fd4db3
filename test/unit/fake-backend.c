/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake-backend.c - the unit tests' backend (fake-backend.h).
 *
 * Locking: one mutex (fk.lock) guards every record; fk.cond is broadcast on
 * every change a waiter may care about (an op entered a blocking wait, a
 * release, a cancel).  The ops take it only for short sections, except the
 * blocking ones, which wait on the condition variable (dropping it).  It
 * is a backend lock (LOCKING.md rank 50): taken under the core's locks,
 * never the other way round.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake-backend.h"
#include "list.h"
#include "lockorder.h"

#define SEQ_MAX 63

struct fake_dev {
	struct uacce_hwdev hw;
	struct fake_dev *next;		/* fk.devs, newest first */
	char node[96];
	int calls[FOP_NR];
	int live;			/* queues got and not put */
	int get_err;			/* the next get_queue fails with it */
	int adopt_err;			/* the next adopt_queue fails with it */
	bool destroyed;
};

struct fake_q {
	struct uacce_hwq hw;
	struct fake_q *next;		/* fk.queues, newest first */
	struct fake_dev *dev;
	struct uacce_queue *q;		/* the core's queue, only compared */
	int calls[FOP_NR];
	char seq[SEQ_MAX + 1];
	int nseq;
	bool busy;			/* in get/start/stop/ioctl/put */
	bool put;
	bool started;
	bool cancelled;			/* sticky: every later blocking op fails */
	bool release;			/* the test let the blocked op go */
	bool blocked;
	bool block_start;
	bool updated;
	int start_err;
	int entered;			/* blocking waits entered */
	unsigned long first[FOP_NR];	/* fk.clock at the first call of each op */
	unsigned long last_arg;
	uint32_t token;			/* the "hardware state" save_queue writes */
	bool suspended;			/* started, but suspended (or adopted) */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fake_dev *devs;
	struct fake_q *queues;
	unsigned long clock;		/* counts every op call: orders them */
	int created;
	int violations;
	char first[256];
} fk = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void flock(void) { pthread_mutex_lock(&fk.lock); }
static void funlock(void) { pthread_mutex_unlock(&fk.lock); }

/* fk.lock held: a breach of backend.h's contract by the core */
static void __attribute__((format(printf, 1, 2))) violation(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fake backend: contract violated: %s\n", msg);
	if (fk.violations++ == 0)
		snprintf(fk.first, sizeof(fk.first), "%s", msg);
}

static const char letter[FOP_NR] = {
	[FOP_GET] = 'G', [FOP_PUT] = 'P', [FOP_START] = 'S', [FOP_STOP] = 'T',
	[FOP_IOCTL] = 'I', [FOP_UPDATED] = 0, [FOP_CANCEL] = 'C', [FOP_SUSPEND] = 'U',
	[FOP_RESUME] = 'R', [FOP_SAVE] = 'V', [FOP_ADOPT] = 'A',
};

static const char *const opname[FOP_NR] = {
	"get_queue", "put_queue", "start_queue", "stop_queue", "ioctl", "is_updated", "cancel",
	"suspend_queue", "resume_queue", "save_queue", "adopt_queue",
};

/*
 * fk.lock held: the lock context of backend.h.  With the lock-order checker
 * (sanitizer builds) the core's locks held by this thread are counted:
 * every op runs under exactly one of them (put_queue also under none, on
 * uq_open's error path), never both: an ioctl under the core lock would
 * hold up every other client.
 */
static void check_locks(struct fake_q *fq, enum fake_op op)
{
#ifdef UACCE_LOCK_CHECKS
	int held = lockorder_held();

	if (held > 1 || (held == 0 && op != FOP_PUT))
		violation("%s of %s called with %d core locks held", opname[op], fq->dev->node,
			  held);
#else
	(void)fq;
	(void)op;
#endif
}

/* fk.lock held: count op on fq, check the per-queue contract */
static void enter(struct fake_q *fq, enum fake_op op)
{
	bool serial = op != FOP_UPDATED && op != FOP_CANCEL;

	fq->calls[op]++;
	fq->dev->calls[op]++;
	if (!fq->first[op])
		fq->first[op] = ++fk.clock;
	if (letter[op] && fq->nseq < SEQ_MAX)
		fq->seq[fq->nseq++] = letter[op];
	if (fq->put)
		violation("%s on a queue of %s after put_queue", opname[op], fq->dev->node);
	if (fq->dev->destroyed)
		violation("%s on a queue of destroyed %s", opname[op], fq->dev->node);
	if (serial && fq->busy)
		violation("%s on a queue of %s while another op of it runs", opname[op],
			  fq->dev->node);
	check_locks(fq, op);
	if (serial)
		fq->busy = true;
}

static void leave(struct fake_q *fq)
{
	fq->busy = false;
}

/* fk.lock held: wait for fake_release() (0) or a cancel (-ECANCELED) */
static int block_locked(struct fake_q *fq)
{
	int r;

	fq->entered++;
	fq->blocked = true;
	pthread_cond_broadcast(&fk.cond);
	while (!fq->release && !fq->cancelled)
		pthread_cond_wait(&fk.cond, &fk.lock);
	r = fq->release ? 0 : -ECANCELED;
	fq->release = false;
	fq->blocked = false;
	pthread_cond_broadcast(&fk.cond);
	return r;
}

/* --- configuration ----------------------------------------------------------- */

static const char *const fake_keys[] = { "mmio", "dus", "ss", "create_error", "sysfs_device",
					  NULL };

static int fake_check(const struct uacce_dev_cfg *cfg, char *why, size_t len)
{
	if (!cfg->api || strcmp(cfg->api, FAKE_API) != 0) {
		snprintf(why, len, "api: \"%s\" is not the fake backend's (%s)",
			 cfg->api ? cfg->api : "", FAKE_API);
		return -EINVAL;
	}
	if (cfg->queues < 1) {
		snprintf(why, len, "queues: must be at least 1");
		return -EINVAL;
	}
	return 0;
}

/* an optional size key: 0, or -EINVAL for a bad value */
static int size_key(const struct uacce_dev_cfg *cfg, const char *key, uint64_t dflt,
		    uint64_t *out)
{
	int64_t v;
	int err = uacce_dev_cfg_int(cfg, key, &v);

	if (err == -ENOENT) {
		*out = dflt;
		return 0;
	}
	if (err || v < 0)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

/* --- devices ----------------------------------------------------------------- */

static int fake_dev_create(const struct uacce_dev_cfg *cfg, struct uacce_hwdev_info *info,
			   struct uacce_hwdev **out)
{
	struct fake_dev *fd;
	const char *sysdev;
	int64_t cerr;
	char why[128];
	int err;

	err = fake_check(cfg, why, sizeof(why));
	if (err)
		return err;
	if (uacce_dev_cfg_int(cfg, "create_error", &cerr) == 0 && cerr > 0)
		return -(int)cerr;
	memset(info, 0, sizeof(*info));
	snprintf(info->api, sizeof(info->api), "%s", FAKE_API);
	snprintf(info->algorithms, sizeof(info->algorithms), "echo\nblock");
	info->flags = cfg->sva ? UACCE_DEV_SVA : UACCE_DEV_SHARE_DOMAIN;
	info->max_queues = cfg->queues;
	if (uacce_dev_cfg_string(cfg, "sysfs_device", &sysdev) == 0)
		snprintf(info->sysfs_device, sizeof(info->sysfs_device), "%s", sysdev);
	if (size_key(cfg, "mmio", 4096, &info->qfr_size[UACCE_QFRT_MMIO]) ||
	    size_key(cfg, "dus", 0, &info->qfr_size[UACCE_QFRT_DUS]) ||
	    size_key(cfg, "ss", cfg->sva ? 0 : 1, &info->qfr_size[UACCE_QFRT_SS]))
		return -EINVAL;
	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	fd->hw.ops = fake_ops();
	snprintf(fd->node, sizeof(fd->node), "%s", cfg->node_name ? cfg->node_name : cfg->name);
	flock();
	fd->next = fk.devs;
	fk.devs = fd;
	fk.created++;
	funlock();
	*out = &fd->hw;
	return 0;
}

static void fake_dev_destroy(struct uacce_hwdev *hd)
{
	struct fake_dev *fd = container_of(hd, struct fake_dev, hw);

	flock();
	if (fd->destroyed)
		violation("%s destroyed twice", fd->node);
	if (fd->live)
		violation("%s destroyed with %d queues not put", fd->node, fd->live);
	fd->destroyed = true;	/* the record stays until fake_reset() */
	funlock();
}

/* --- queues ------------------------------------------------------------------ */

static int fake_get_queue(struct uacce_hwdev *hd, struct uacce_queue *q, struct uacce_hwq **out)
{
	struct fake_dev *fd = container_of(hd, struct fake_dev, hw);
	struct fake_q *fq;
	int err;

	flock();
	err = fd->get_err;
	fq = err ? NULL : calloc(1, sizeof(*fq));
	if (!fq) {
		fd->calls[FOP_GET]++;	/* no queue: counted on the device only */
		if (fd->destroyed)
			violation("get_queue on destroyed %s", fd->node);
		funlock();
		return err ? err : -ENOMEM;
	}
	fq->hw.dev = hd;
	fq->dev = fd;
	fq->q = q;
	enter(fq, FOP_GET);
	fd->live++;
	fq->next = fk.queues;
	fk.queues = fq;
	leave(fq);
	funlock();
	*out = &fq->hw;
	return 0;
}

static struct fake_q *fq_of(struct uacce_hwq *hq)
{
	return container_of(hq, struct fake_q, hw);
}

static void fake_put_queue(struct uacce_hwq *hq)
{
	struct fake_q *fq = fq_of(hq);

	flock();
	enter(fq, FOP_PUT);
	if (fq->started)
		violation("put_queue of a started queue of %s (no stop_queue)", fq->dev->node);
	if (!fq->put)
		fq->dev->live--;
	fq->put = true;
	leave(fq);
	funlock();
}

static int fake_start_queue(struct uacce_hwq *hq)
{
	struct fake_q *fq = fq_of(hq);
	int err = 0;

	flock();
	enter(fq, FOP_START);
	if (fq->started)
		violation("start_queue of a started queue of %s", fq->dev->node);
	if (fq->block_start)
		err = block_locked(fq);
	if (!err)
		err = fq->start_err;
	if (!err)
		fq->started = true;
	leave(fq);
	funlock();
	return err;
}

static void fake_stop_queue(struct uacce_hwq *hq)
{
	struct fake_q *fq = fq_of(hq);

	flock();
	enter(fq, FOP_STOP);
	if (!fq->started)
		violation("stop_queue of a queue of %s not started", fq->dev->node);
	fq->started = false;
	fq->suspended = false;
	leave(fq);
	funlock();
}

/* fk.lock held: the core must hand over exactly _IOC_SIZE(cmd) bytes */
static bool io_ok(struct fake_q *fq, const struct uacce_ioctl *io)
{
	size_t want = _IOC_SIZE(io->cmd);

	if (io->size != want || (want && !io->data) || (!want && io->data)) {
		violation("ioctl %#x on %s: %zu bytes at %p, _IOC_SIZE %zu", io->cmd, fq->dev->node,
			  io->size, io->data, want);
		return false;
	}
	return true;
}

static int fake_ioctl(struct uacce_hwq *hq, struct uacce_ioctl *io)
{
	struct fake_q *fq = fq_of(hq);
	int err = 0;

	flock();
	enter(fq, FOP_IOCTL);
	if (!io_ok(fq, io)) {
		err = -EFAULT;
	} else if (io->cmd == FAKE_CMD_ECHO) {
		struct fake_echo *e = io->data;

		for (size_t i = 0; i < sizeof(e->in); i++)
			e->out[i] = (uint8_t)~e->in[i];
		e->tag++;
	} else if (io->cmd == FAKE_CMD_BLOCK) {
		err = block_locked(fq);
	} else if (io->cmd == FAKE_CMD_ARG) {
		fq->last_arg = io->arg;
	} else {
		err = -ENOTTY;
	}
	leave(fq);
	funlock();
	return err;
}

static bool fake_is_updated(struct uacce_hwq *hq)
{
	struct fake_q *fq = fq_of(hq);
	bool r;

	flock();
	enter(fq, FOP_UPDATED);
	r = fq->updated;
	fq->updated = false;	/* consumed */
	funlock();
	return r;
}

static void fake_cancel(struct uacce_hwq *hq)
{
	struct fake_q *fq = fq_of(hq);

	flock();
	enter(fq, FOP_CANCEL);
	fq->cancelled = true;
	pthread_cond_broadcast(&fk.cond);
	funlock();
}

/* --- live restart ------------------------------------------------------------ */

#define FAKE_SAVE_V1	1
#define FAKE_SAVE_LEN	6

static void fake_suspend_queue(struct uacce_hwq *hq)
{
	struct fake_q *fq = fq_of(hq);

	flock();
	enter(fq, FOP_SUSPEND);
	if (!fq->started || fq->suspended)
		violation("suspend_queue of a queue of %s %s", fq->dev->node,
			  fq->started ? "suspended already" : "not started");
	fq->suspended = true;
	leave(fq);
	funlock();
}

static int fake_resume_queue(struct uacce_hwq *hq)
{
	struct fake_q *fq = fq_of(hq);

	flock();
	enter(fq, FOP_RESUME);
	if (!fq->started || !fq->suspended)
		violation("resume_queue of a queue of %s not suspended", fq->dev->node);
	fq->suspended = false;
	leave(fq);
	funlock();
	return 0;
}

static ssize_t fake_save_queue(struct uacce_hwq *hq, void *buf, size_t len)
{
	struct fake_q *fq = fq_of(hq);
	uint8_t *b = buf;
	ssize_t r = FAKE_SAVE_LEN;

	flock();
	enter(fq, FOP_SAVE);
	if (fq->started && !fq->suspended) {
		violation("save_queue of a running queue of %s", fq->dev->node);
		r = -EBUSY;
	} else if (len < FAKE_SAVE_LEN) {
		r = -ENOSPC;
	} else {
		b[0] = FAKE_SAVE_V1;
		memcpy(b + 1, &fq->token, 4);
		b[5] = fq->started;
	}
	leave(fq);
	funlock();
	return r;
}

static int fake_adopt_queue(struct uacce_hwdev *hd, struct uacce_queue *q, const void *blob,
			    size_t len, struct uacce_hwq **out)
{
	struct fake_dev *fd = container_of(hd, struct fake_dev, hw);
	const uint8_t *b = blob;
	struct fake_q *fq;
	int err;

	flock();
	err = fd->adopt_err ? fd->adopt_err : len != FAKE_SAVE_LEN || b[0] != FAKE_SAVE_V1 ?
								-EINVAL : 0;
	fq = err ? NULL : calloc(1, sizeof(*fq));
	if (!fq) {
		fd->calls[FOP_ADOPT]++;
		funlock();
		return err ? err : -ENOMEM;
	}
	fq->hw.dev = hd;
	fq->dev = fd;
	fq->q = q;
	enter(fq, FOP_ADOPT);
	memcpy(&fq->token, b + 1, 4);
	fq->started = fq->suspended = b[5] != 0;
	fd->live++;
	fq->next = fk.queues;
	fk.queues = fq;
	leave(fq);
	funlock();
	*out = &fq->hw;
	return 0;
}

/* --- the tables ------------------------------------------------------------- */

static const struct uacce_backend_cfg_ops fake_cfg_ops = {
	.extra_keys = fake_keys,
	.check = fake_check,
};

static const struct uacce_backend_queue_ops fake_queue_ops = {
	.get_queue = fake_get_queue,
	.put_queue = fake_put_queue,
	.start_queue = fake_start_queue,
	.stop_queue = fake_stop_queue,
	.ioctl = fake_ioctl,
	.is_updated = fake_is_updated,
	.cancel = fake_cancel,
	.suspend_queue = fake_suspend_queue,
	.resume_queue = fake_resume_queue,
	.save_queue = fake_save_queue,
	.adopt_queue = fake_adopt_queue,
};

static const struct uacce_backend_ops fake_backend_ops = {
	.name = FAKE_NAME,
	.cfg = &fake_cfg_ops,
	.dev_create = fake_dev_create,
	.dev_destroy = fake_dev_destroy,
	.queue = &fake_queue_ops,
};

const struct uacce_backend_ops *fake_ops(void)
{
	return &fake_backend_ops;
}

void fake_table_init(struct fake_table *t)
{
	t->ops = fake_backend_ops;
	t->cfg = fake_cfg_ops;
	t->queue = fake_queue_ops;
	t->ops.cfg = &t->cfg;
	t->ops.queue = &t->queue;
}

/* --- the test's side ----------------------------------------------------------- */

void fake_reset(void)
{
	flock();
	while (fk.queues) {
		struct fake_q *fq = fk.queues;

		fk.queues = fq->next;
		free(fq);
	}
	while (fk.devs) {
		struct fake_dev *fd = fk.devs;

		fk.devs = fd->next;
		free(fd);
	}
	fk.clock = 0;
	fk.created = 0;
	fk.violations = 0;
	fk.first[0] = '\0';
	funlock();
}

int fake_violations(const char **first)
{
	int n;

	flock();
	n = fk.violations;
	if (first)
		*first = fk.first;	/* stable until fake_reset() */
	funlock();
	return n;
}

int fake_created(void)
{
	int n;

	flock();
	n = fk.created;
	funlock();
	return n;
}

/* fk.lock held */
static struct fake_dev *dev_by_node(const char *node)
{
	for (struct fake_dev *fd = fk.devs; fd; fd = fd->next)
		if (strcmp(fd->node, node) == 0)
			return fd;
	return NULL;
}

int fake_dev_calls(const char *node, enum fake_op op)
{
	struct fake_dev *fd;
	int n;

	flock();
	fd = dev_by_node(node);
	n = fd ? fd->calls[op] : -1;
	funlock();
	return n;
}

int fake_dev_live(const char *node)
{
	struct fake_dev *fd;
	int n;

	flock();
	fd = dev_by_node(node);
	n = fd ? fd->live : -1;
	funlock();
	return n;
}

bool fake_dev_destroyed(const char *node)
{
	struct fake_dev *fd;
	bool r;

	flock();
	fd = dev_by_node(node);
	r = fd && fd->destroyed;
	funlock();
	return r;
}

void fake_dev_fail_get(const char *node, int err)
{
	struct fake_dev *fd;

	flock();
	fd = dev_by_node(node);
	if (fd)
		fd->get_err = err;
	funlock();
}

/* fk.lock held; NULL if the core never got a queue for q */
static struct fake_q *queue_of(struct uacce_queue *q)
{
	for (struct fake_q *fq = fk.queues; fq; fq = fq->next)
		if (fq->q == q)
			return fq;
	return NULL;
}

bool fake_has_queue(struct uacce_queue *q)
{
	bool r;

	flock();
	r = queue_of(q) != NULL;
	funlock();
	return r;
}

int fake_calls(struct uacce_queue *q, enum fake_op op)
{
	struct fake_q *fq;
	int n;

	flock();
	fq = queue_of(q);
	n = fq ? fq->calls[op] : -1;
	funlock();
	return n;
}

const char *fake_seq(struct uacce_queue *q, char *buf)
{
	struct fake_q *fq;

	flock();
	fq = queue_of(q);
	snprintf(buf, SEQ_MAX + 1, "%s", fq ? fq->seq : "(no queue)");
	funlock();
	return buf;
}

void fake_fail_start(struct uacce_queue *q, int err)
{
	struct fake_q *fq;

	flock();
	fq = queue_of(q);
	if (fq)
		fq->start_err = err;
	funlock();
}

void fake_block_start(struct uacce_queue *q, bool on)
{
	struct fake_q *fq;

	flock();
	fq = queue_of(q);
	if (fq)
		fq->block_start = on;
	funlock();
}

void fake_set_updated(struct uacce_queue *q, bool on)
{
	struct fake_q *fq;

	flock();
	fq = queue_of(q);
	if (fq)
		fq->updated = on;
	funlock();
}

bool fake_wait_entered(struct uacce_queue *q, int n, unsigned ms)
{
	struct timespec end;
	struct fake_q *fq;
	bool r;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	flock();
	for (;;) {
		fq = queue_of(q);
		if (fq && fq->entered >= n)
			break;
		if (pthread_cond_timedwait(&fk.cond, &fk.lock, &end) == ETIMEDOUT)
			break;
	}
	fq = queue_of(q);
	r = fq && fq->entered >= n;
	funlock();
	return r;
}

bool fake_blocked(struct uacce_queue *q)
{
	struct fake_q *fq;
	bool r;

	flock();
	fq = queue_of(q);
	r = fq && fq->blocked;
	funlock();
	return r;
}

void fake_release(struct uacce_queue *q)
{
	struct fake_q *fq;

	flock();
	fq = queue_of(q);
	if (fq)
		fq->release = true;
	pthread_cond_broadcast(&fk.cond);
	funlock();
}

unsigned long fake_first(struct uacce_queue *q, enum fake_op op)
{
	struct fake_q *fq;
	unsigned long r;

	flock();
	fq = queue_of(q);
	r = fq ? fq->first[op] : 0;
	funlock();
	return r;
}

unsigned long fake_last_arg(struct uacce_queue *q)
{
	struct fake_q *fq;
	unsigned long r;

	flock();
	fq = queue_of(q);
	r = fq ? fq->last_arg : 0;
	funlock();
	return r;
}

void fake_set_token(struct uacce_queue *q, uint32_t token)
{
	struct fake_q *fq;

	flock();
	fq = queue_of(q);
	if (fq)
		fq->token = token;
	funlock();
}

uint32_t fake_token(struct uacce_queue *q)
{
	struct fake_q *fq;
	uint32_t r;

	flock();
	fq = queue_of(q);
	r = fq ? fq->token : 0;
	funlock();
	return r;
}

bool fake_suspended(struct uacce_queue *q)
{
	struct fake_q *fq;
	bool r;

	flock();
	fq = queue_of(q);
	r = fq && fq->suspended;
	funlock();
	return r;
}

void fake_dev_fail_adopt(const char *node, int err)
{
	struct fake_dev *fd;

	flock();
	fd = dev_by_node(node);
	if (fd)
		fd->adopt_err = err;
	funlock();
}
