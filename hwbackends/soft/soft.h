/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * soft.h - the software accelerator.  Two worker models:
 *  - per queue (dummy): a worker thread per started queue plays the
 *    hardware (threads of stopped queues wait, up to IDLE_THREADS of
 *    them, for the next queue to start: no thread made per START).  It notices new ring entries by polling shared memory
 *    (spinning briefly after activity, then sleeping with a growing
 *    timeout), and can be woken at once through a futex word in the
 *    queue's MMIO page, by the FLUSH ioctl, or by stop.
 *  - pooled (zip): a fixed pool of workers per device (one per CPU by
 *    default) serves every started queue of the device, one request per
 *    turn, round robin (pool.c).
 */
#ifndef UACCED_SOFT_H
#define UACCED_SOFT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "list.h"

struct soft_dev;
struct soft_q;
struct soft_thread;

/* A personality: the device model behind an "api". */
struct soft_personality {
	const char *api;
	const char *algorithms;
	uint64_t qfr_size[UACCE_QFRT_NR];	/* v4 layout */
	/* mainline, non-SVA: default bytes of request data appended to the DUS */
	uint64_t ml_data_size;
	unsigned int flush_cmd;		/* ioctl: process the ring now (0: none) */
	/* set up the register pages of a new hardware queue */
	int (*init_queue)(struct soft_q *sq);
	/* process what is pending; returns how many requests completed */
	int (*process)(struct soft_q *sq);
	/* is there work the device has not taken yet? (lock-free peek) */
	bool (*pending)(struct soft_q *sq);
	/* the futex wake word of the queue */
	uint32_t *(*wake_word)(struct soft_q *sq, uint32_t **sleeping);

	/*
	 * Pooled personalities: process() handles at most one request per
	 * call; set_idle() raises/clears the queue's "need wakeup" flag (the
	 * client kicks wake_word while it is raised; `sleeping` is unused).
	 */
	bool pooled;
	void (*set_idle)(struct soft_q *sq, bool idle);
	/* free what process() keeps per thread (pool workers, at exit) */
	void (*worker_exit)(void);
	/* free what init_queue allocated besides priv (optional) */
	void (*fini_queue)(struct soft_q *sq);
	/* optional: before the queue's worker starts (START; again after a
	 * stop: the device starts its rings over) */
	int (*start)(struct soft_q *sq);
	/* optional: after the queue's worker stopped (PUT_Q, release, owner
	 * death, device removal): tell the client, if the protocol can */
	void (*stopped)(struct soft_q *sq);
	/*
	 * Its clients write the rings and a doorbell but never a futex kick
	 * (hisi_qm_v2: programs written for hardware): the worker never parks
	 * and looks at least every 200 us when idle.
	 */
	bool kickless;
	/* optional: the personality's own ioctls (qlock held); -ENOTTY for
	 * a command it does not know */
	int (*ioctl)(struct soft_q *sq, struct uacce_ioctl *io);

	/*
	 * Live restart (backend.h's save_queue / adopt_queue), both required:
	 * save writes the queue's device state that is not in its regions
	 * (its own ring positions) into buf, a version byte of its own first:
	 * the bytes written or -ENOSPC.  adopt is init_queue for a queue
	 * whose regions hold a predecessor's queue: it sets sq->priv up from
	 * them and from save's bytes (those of this build or an older one)
	 * without writing the register pages or the rings; -EINVAL for bytes
	 * it cannot read.  State that cannot be written down (codec streams)
	 * is not saved: a request on such a stream fails in the successor
	 * with the protocol's status for a stream the device does not know.
	 */
	ssize_t (*save)(struct soft_q *sq, uint8_t *buf, size_t len);
	int (*adopt)(struct soft_q *sq, const uint8_t *buf, size_t len);
	/* after a crash: positions from the shared memory (backend.h recover_queue) */
	int (*recover)(struct soft_q *sq);
};

struct soft_pool;
struct uacce_region;

#define SOFT_MAX_WORKERS	64

/*
 * A copy engine other than the CPU: a device's DMA engine (hwbackends/
 * vfio).  Non-SVA personalities only: copy() moves len bytes from offset
 * src to offset dst of the queue's SS region (both checked to lie inside
 * it; they may overlap) and returns 0 or -errno, abandoning the copy with
 * -ECANCELED once soft_stopping(sq).  queue_stopped() is called
 * after the queue's worker has stopped (stop_queue, or put_queue of a
 * queue suspended or adopted with sq->engine_q set): the engine drops
 * what it keeps for the queue (IOMMU mappings) in sq->engine_q.  A
 * suspend keeps them (the queue serves on with them, maybe in a successor
 * daemon that adopted them: the engine's backend sets sq->engine_q after
 * soft_adopt_queue).
 */
struct soft_engine {
	int (*copy)(void *ctx, struct soft_q *sq, struct uacce_region *ss, uint64_t dst,
		    uint64_t src, uint64_t len);
	void (*queue_stopped)(void *ctx, struct soft_q *sq);
	/*
	 * Live restart, optional (both or none): what the engine keeps for
	 * a suspended queue (sq->engine_q: its IOMMU mapping) into buf, its
	 * own version byte first: the bytes written (0: nothing kept) or
	 * -ENOSPC; and, in the successor, after the personality adopted
	 * sq, taking those bytes back (sq->engine_q): 0, or -EINVAL when
	 * the engine cannot (the queue is then revoked).
	 */
	ssize_t (*save_queue)(void *ctx, struct soft_q *sq, uint8_t *buf, size_t len);
	int (*adopt_queue)(void *ctx, struct soft_q *sq, const uint8_t *buf, size_t len);
	/*
	 * Crash restart, optional: after the personality recovered sq from
	 * its rings (soft_recover_queue).  The successor of a crashed daemon
	 * set the device up afresh (the crash journal holds no device
	 * state): the engine keeps nothing of the queue yet, and makes what
	 * it needs again at its next request (edu: the IOMMU mapping).  0, or
	 * -errno (the queue is revoked).  Without it an engine's queues are
	 * revoked by a crash.
	 */
	int (*recover_queue)(void *ctx, struct soft_q *sq);
};

struct soft_dev {
	struct uacce_hwdev hw;		/* the core's handle */
	const struct soft_personality *pers;
	bool sva;
	int max_queues;
	struct soft_pool *pool;		/* pooled personalities */
	char name[48];			/* "zip", for thread names */
	const struct soft_engine *engine;	/* NULL: the CPU copies */
	void *engine_ctx;
	/* mainline non-SVA: the DUS's data part starts here (its device part,
	 * the register page or rings, is no request memory); 0: all of it */
	uint64_t data_off;
};

struct soft_q {
	struct uacce_hwq hw;		/* the core's handle */
	struct soft_dev *dev;
	struct uacce_queue *q;
	pthread_mutex_t proc_lock;	/* one processor at a time (worker, FLUSH) */
	bool running;			/* worker exists; the queue's lock */
	bool suspended;			/* suspend_queue, not resumed; the queue's lock */
	bool worker_done;		/* its thread left it (soft.c's threads.lock) */
	struct soft_thread *thread;	/* the thread serving it (threads.lock) */
	int stop;			/* atomic: worker must exit */
	int updated;			/* atomic: news for poll() */
	/*
	 * device's own copy of the ring tail: written under proc_lock (an
	 * atomic store), read by pending() without it (an atomic load): a
	 * worker asks while a FLUSH processes in another thread
	 */
	uint32_t tail;
	struct list park_link;		/* the idle scanner's list, while parked */
	/* started, its worker not yet (soft.c's deferred list, under its lock) */
	struct list defer_link;
	bool deferred;
	uint64_t defer_ns;		/* when it was started */
	/* pooled: all under the pool's lock */
	struct list pool_link;		/* soft_pool.queues, while started */
	bool claimed;			/* a worker is serving it */
	bool leaving;			/* stop_queue waits for the worker */
	void *priv;
	void *engine_q;			/* the copy engine's, per queue */
};

extern const struct soft_personality soft_dummy_v1, soft_dummy_v2, soft_zip_v1, soft_hisi_zip;
extern const struct uacce_backend_ops soft_backend_ops;
extern const struct uacce_backend_queue_ops soft_queue_ops;
extern const struct uacce_backend_cfg_ops soft_cfg_ops;

static inline struct soft_dev *soft_dev_of(struct uacce_hwdev *hd)
{
	return container_of(hd, struct soft_dev, hw);
}

static inline struct soft_q *soft_q_of(struct uacce_hwq *hq)
{
	return container_of(hq, struct soft_q, hw);
}

/* the queue ops (soft_queue_ops), for backends whose queues soft serves */
int soft_get_queue(struct uacce_hwdev *hd, struct uacce_queue *q, struct uacce_hwq **out);
void soft_put_queue(struct uacce_hwq *hq);
int soft_start_queue(struct uacce_hwq *hq);
void soft_stop_queue(struct uacce_hwq *hq);
bool soft_flush_deferred(uint64_t older_ns);
int soft_ioctl(struct uacce_hwq *hq, struct uacce_ioctl *io);
bool soft_is_updated(struct uacce_hwq *hq);
void soft_cancel(struct uacce_hwq *hq);
void soft_suspend_queue(struct uacce_hwq *hq);
int soft_resume_queue(struct uacce_hwq *hq);
ssize_t soft_save_queue(struct uacce_hwq *hq, void *buf, size_t len);
int soft_recover_queue(struct uacce_hwdev *hd, struct uacce_queue *q, struct uacce_hwq **out);
int soft_adopt_queue(struct uacce_hwdev *hd, struct uacce_queue *q, const void *blob, size_t len,
		     struct uacce_hwq **out);

/* little-endian fields of the personalities' saved state */
static inline void soft_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t soft_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void soft_put64(uint8_t *p, uint64_t v)
{
	soft_put32(p, (uint32_t)v);
	soft_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t soft_get64(const uint8_t *p)
{
	return (uint64_t)soft_get32(p) | (uint64_t)soft_get32(p + 4) << 32;
}

/*
 * soft_cfg.c: the "workers" key of an entry (0: one per CPU, the default,
 * to SOFT_MAX_WORKERS; pooled personalities only): 0, or -EINVAL with why
 */
int soft_cfg_workers(const struct uacce_dev_cfg *cfg, bool pooled, int *out, char *why,
		     size_t len);
/*
 * soft_cfg.c: the "data_size" key (non-SVA devices of the mainline profile
 * only: the bytes of request data their DUS holds, a multiple of 4096 from
 * 4096 to 1 GiB; *out keeps its default when absent): 0, or -EINVAL with why
 */
int soft_cfg_data_size(const struct uacce_dev_cfg *cfg, uint64_t *out, char *why, size_t len);

/*
 * For backends that drive real hardware with a soft personality's ring
 * protocol (hwbackends/vfio): a soft device of cfg->api whose copies go
 * through engine; the queue ops of soft_backend_ops then serve it.
 */
int soft_dev_create_engine(const struct uacce_dev_cfg *cfg, const struct soft_engine *engine,
			   void *engine_ctx, struct uacce_hwdev_info *info, struct uacce_hwdev **out);

/* pool.c: nworkers threads named "<name>-w<i>"; -errno */
int soft_pool_create(struct soft_dev *d, int nworkers, struct soft_pool **out);
/* every queue must have left */
void soft_pool_destroy(struct soft_pool *p);
void soft_pool_add(struct soft_pool *p, struct soft_q *sq);
/* after it returns no worker touches sq */
void soft_pool_remove(struct soft_pool *p, struct soft_q *sq);

/* time and waiting helpers shared by the worker models (soft.c) */
uint64_t soft_now_ns(void);
void soft_cpu_relax(void);
void soft_futex_wake(uint32_t *word, int n);

/* soft_q.stop: the worker leaves; with CANCEL long work is abandoned too */
#define SOFT_STOP_CANCEL	1	/* a stop */
#define SOFT_STOP_PAUSE		2	/* a suspend: at a request boundary */
/* the queue is being stopped: abandon long work (ECANCELED) */
bool soft_stopping(struct soft_q *sq);
/* the worker is to leave (stop or suspend): take no further request */
bool soft_leaving(struct soft_q *sq);
/* copy between two client addresses as the device would; 0 or -errno */
int soft_copy(struct soft_q *sq, uint64_t dst, uint64_t src, uint64_t len);
/* non-SVA: the daemon's pointer to len bytes at the client's uaddr inside
 * the queue's data memory (SS, or the mainline DUS's data part); NULL when
 * not all of it lies there */
void *soft_data_ptr(struct soft_q *sq, uint64_t uaddr, uint64_t len);

#endif
