/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "list.h"
#include "relax.h"
#include "log.h"
#include "soft.h"

/* adaptive polling: spin this long after the last request, then sleep */
#define SPIN_NS		50000ULL
#define BOUNCE		65536
#define MAX_COPY	(256ULL << 20)
#define COPY_CHUNK	(1ULL << 20)

static const struct soft_personality *const personalities[] = {
	&soft_dummy_v1,
	&soft_dummy_v2,
	&soft_zip_v1,
	&soft_hisi_zip,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void futex_wait(uint32_t *word, uint32_t val, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	/* shared (not PRIVATE): the word lives in memory the client maps */
	syscall(SYS_futex, word, FUTEX_WAIT, val, ns ? &ts : NULL, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

uint64_t soft_now_ns(void) { return now_ns(); }
void soft_cpu_relax(void) { cpu_relax(); }

void soft_futex_wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

/*
 * Idle policy.  Right after a request the worker spins (SPIN_NS), then
 * sleeps in short futex waits (a client that writes the ring without any
 * system call is still served within tens of microseconds), and after
 * PARK_NS of silence it parks: it sleeps without a timeout, and one shared
 * scanner thread looks at every parked ring each SCAN_NS and wakes the
 * worker of a ring that has work.  So idle queues cost one wake-up per
 * SCAN_NS in all, not one per queue; libuacce's futex kick wakes a parked
 * worker at once.
 */
#define PARK_NS		100000000ULL
/* a device whose clients never kick it (kickless) looks this often when idle */
#define KICKLESS_NS	200000ULL
#define SCAN_NS		10000000ULL

static uint64_t idle_timeout_ns(uint64_t idle, bool kickless)
{
	if (idle < 1000000ULL)
		return 50000ULL;
	return kickless ? KICKLESS_NS : 1000000ULL;
}

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* parked list became non-empty */
	struct list parked;		/* soft_q.park_link */
	bool started;
} scanner = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.parked = { &scanner.parked, &scanner.parked },
};

static void wake_worker(struct soft_q *sq)
{
	uint32_t *sleeping, *wake = sq->dev->pers->wake_word(sq, &sleeping);

	__atomic_add_fetch(wake, 1, __ATOMIC_SEQ_CST);
	futex_wake(wake);
}

static void *scanner_thread(void *arg)
{
	struct timespec tick = { .tv_nsec = (long)SCAN_NS };

	(void)arg;
	pthread_mutex_lock(&scanner.lock);
	for (;;) {
		while (list_empty(&scanner.parked))
			pthread_cond_wait(&scanner.cond, &scanner.lock);
		list_for_each(pos, &scanner.parked) {
			struct soft_q *sq = container_of(pos, struct soft_q, park_link);

			if (sq->dev->pers->pending(sq))
				wake_worker(sq);
		}
		pthread_mutex_unlock(&scanner.lock);
		nanosleep(&tick, NULL);
		pthread_mutex_lock(&scanner.lock);
	}
	return NULL;
}

static void park(struct soft_q *sq)
{
	pthread_t t;

	pthread_mutex_lock(&scanner.lock);
	if (!scanner.started && pthread_create(&t, NULL, scanner_thread, NULL) == 0) {
		pthread_detach(t);
		scanner.started = true;
	}
	list_add_tail(&scanner.parked, &sq->park_link);
	pthread_cond_signal(&scanner.cond);
	pthread_mutex_unlock(&scanner.lock);
}

static void unpark(struct soft_q *sq)
{
	pthread_mutex_lock(&scanner.lock);
	list_del(&sq->park_link);
	pthread_mutex_unlock(&scanner.lock);
}

static int run_once(struct soft_q *sq)
{
	int n;

	pthread_mutex_lock(&sq->proc_lock);
	n = sq->dev->pers->process(sq);
	pthread_mutex_unlock(&sq->proc_lock);
	if (n > 0) {
		uacce_hwq_count(sq->q, (unsigned int)n);
		__atomic_store_n(&sq->updated, 1, __ATOMIC_RELEASE);
		uacce_hwq_notify(sq->q);
	}
	return n;
}

/*
 * The per-queue workers' threads.  A thread whose queue stops says so
 * (sq->worker_done, under threads.lock: stop_queue waits for it, then the
 * queue may go) and waits, one of at most IDLE_THREADS, for the next queue
 * to start; beyond them it exits.  Every thread is detached and owns its
 * struct soft_thread; an idle one is reachable from threads.idle.
 *
 * A stop need not wait for a thread that is not touching its queue: one
 * given the queue but not yet running (W_ASSIGNED), or asleep in a timed
 * futex wait on the queue's wake word (W_WAIT).  The stop takes the queue
 * from it (W_STOLEN, a compare-and-swap with the thread's own move back to
 * W_RUN) and returns at once; the thread, when it wakes, finds the queue
 * gone and touches nothing of it.  The region of the wake word is held by
 * the thread (t->held) till then: its futex wait never outlives the
 * memory, and the memory is never another queue's meanwhile.  A thread
 * running its queue (W_RUN: processing, spinning, or parked without a
 * timeout) is waited for, as before.
 */
#define IDLE_THREADS	8

enum { W_IDLE, W_ASSIGNED, W_RUN, W_WAIT, W_STOLEN };

struct soft_thread {
	struct list link;		/* threads.idle, while idle */
	pthread_cond_t cond;		/* sq was given */
	struct soft_q *sq;		/* its queue; threads.lock */
	int wstate;			/* atomic: W_* */
	struct uacce_region *held;	/* the region of sq's wake word; the thread's */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t done;		/* a worker_done became true */
	struct list idle;		/* soft_thread.link */
	int nidle;
} threads = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.idle = { &threads.idle, &threads.idle },
};

/* W_RUN again after W_WAIT or W_ASSIGNED; false: the queue was taken (W_STOLEN) */
static bool claim(struct soft_thread *t, int from)
{
	return __atomic_compare_exchange_n(&t->wstate, &from, W_RUN, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/*
 * Serve sq until it is stopped; true if a stop took it while the thread
 * slept (then nothing of sq may be touched any more).  No spin and no
 * short sleeps before its first request: a queue just started may never
 * get one (a lifecycle's open, START, close), and libuacce kicks the futex
 * when it finds the worker asleep; a client that never kicks waits at most
 * 1 ms for its first request to be seen (then the idle policy above
 * applies).
 */
static bool worker(struct soft_thread *t, struct soft_q *sq)
{
	const struct soft_personality *p;
	uint32_t *sleeping, *wake;
	uint64_t last = now_ns() - 1000000ULL;

	if (!claim(t, W_ASSIGNED))
		return true;
	p = sq->dev->pers;
	wake = p->wake_word(sq, &sleeping);
	while (!__atomic_load_n(&sq->stop, __ATOMIC_ACQUIRE)) {
		uint64_t idle;
		uint32_t seen;
		bool park_now;

		if (run_once(sq) > 0) {
			last = now_ns();
			continue;
		}
		idle = now_ns() - last;
		if (idle < SPIN_NS) {
			cpu_relax();
			continue;
		}
		seen = __atomic_load_n(wake, __ATOMIC_ACQUIRE);
		__atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
		park_now = idle >= PARK_NS && !p->kickless;
		if (park_now)
			park(sq);
		if (!p->pending(sq) && !__atomic_load_n(&sq->stop, __ATOMIC_ACQUIRE)) {
			if (park_now || !t->held) {
				futex_wait(wake, seen, park_now ? 0 : idle_timeout_ns(idle, p->kickless));
			} else {
				/* from here till claim(): a stop may take sq */
				__atomic_store_n(&t->wstate, W_WAIT, __ATOMIC_SEQ_CST);
				futex_wait(wake, seen, idle_timeout_ns(idle, p->kickless));
				if (!claim(t, W_WAIT))
					return true;
			}
		}
		if (park_now)
			unpark(sq);
		__atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
	}
	return false;
}

static void *thread_main(void *arg)
{
	struct soft_thread *t = arg;

	pthread_mutex_lock(&threads.lock);
	for (;;) {
		struct soft_q *sq = t->sq;
		struct uacce_region *held;
		bool taken;

		pthread_mutex_unlock(&threads.lock);
		taken = worker(t, sq);
		pthread_mutex_lock(&threads.lock);
		if (!taken) {
			sq->worker_done = true;	/* sq is not touched from here on */
			sq->thread = NULL;
			/* after the unlock (see worker_start) */
			pthread_mutex_unlock(&threads.lock);
			pthread_cond_broadcast(&threads.done);
			pthread_mutex_lock(&threads.lock);
		}
		t->sq = NULL;
		held = t->held;
		t->held = NULL;
		__atomic_store_n(&t->wstate, W_IDLE, __ATOMIC_RELAXED);
		if (held) {	/* the last hold may free or pool the region: not under the lock */
			pthread_mutex_unlock(&threads.lock);
			uacce_region_drop(held);
			pthread_mutex_lock(&threads.lock);
		}
		if (threads.nidle >= IDLE_THREADS)
			break;
		list_add_tail(&threads.idle, &t->link);
		threads.nidle++;
		while (!t->sq)
			pthread_cond_wait(&t->cond, &threads.lock);
	}
	pthread_mutex_unlock(&threads.lock);
	pthread_cond_destroy(&t->cond);
	free(t);
	return NULL;
}

/* the queue's region that holds p (the wake word), or NULL */
static struct uacce_region *region_holding(struct soft_q *sq, const void *p)
{
	for (int type = 0; type < UACCE_QFRT_NR; type++) {
		struct uacce_region *r = uacce_hwq_region(sq->q, type);
		const char *m = r ? uacce_region_map(r) : NULL;

		if (m && (const char *)p >= m && (const char *)p < m + uacce_region_size(r))
			return r;
	}
	return NULL;
}

/* a thread for sq's worker: an idle one, or a new one; -errno */
static int worker_start(struct soft_q *sq)
{
	uint32_t *sleeping, *wake = sq->dev->pers->wake_word(sq, &sleeping);
	struct uacce_region *held = region_holding(sq, wake);
	struct soft_thread *t = NULL;
	pthread_attr_t attr;
	pthread_t th;
	int err;

	if (held)
		uacce_region_hold(held);
	pthread_mutex_lock(&threads.lock);
	sq->worker_done = false;
	if (!list_empty(&threads.idle)) {
		t = container_of(threads.idle.next, struct soft_thread, link);
		list_del(&t->link);
		threads.nidle--;
		t->sq = sq;
		t->held = held;
		__atomic_store_n(&t->wstate, W_ASSIGNED, __ATOMIC_RELEASE);
		sq->thread = t;
	}
	pthread_mutex_unlock(&threads.lock);
	if (t) {
		/*
		 * After the unlock: signalled under it, the thread would wake
		 * only to block on the lock, and be woken a second time.  t
		 * stays (a thread with a queue never exits).
		 */
		pthread_cond_signal(&t->cond);
		return 0;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto fail;
	}
	list_init(&t->link);
	pthread_cond_init(&t->cond, NULL);
	t->sq = sq;
	t->held = held;
	t->wstate = W_ASSIGNED;
	pthread_mutex_lock(&threads.lock);
	sq->thread = t;
	pthread_mutex_unlock(&threads.lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&th, &attr, thread_main, t);
	pthread_attr_destroy(&attr);
	if (!err)
		return 0;
	pthread_cond_destroy(&t->cond);
	free(t);
fail:
	pthread_mutex_lock(&threads.lock);
	sq->thread = NULL;
	sq->worker_done = true;
	pthread_mutex_unlock(&threads.lock);
	if (held)
		uacce_region_drop(held);
	return err;
}

/* sq->stop is set and its worker woken: take sq from a thread that is not touching it */
static bool worker_take(struct soft_q *sq)
{
	bool taken = false;

	pthread_mutex_lock(&threads.lock);
	if (sq->worker_done) {
		taken = true;
	} else if (sq->thread) {
		int from = W_WAIT;

		taken = __atomic_compare_exchange_n(&sq->thread->wstate, &from, W_STOLEN, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		from = W_ASSIGNED;
		taken = taken || __atomic_compare_exchange_n(&sq->thread->wstate, &from, W_STOLEN,
							     false, __ATOMIC_ACQ_REL,
							     __ATOMIC_ACQUIRE);
		if (taken) {
			sq->thread = NULL;
			sq->worker_done = true;
		}
	}
	pthread_mutex_unlock(&threads.lock);
	return taken;
}

/*
 * sq->stop is set and its worker woken: wait until its thread left it.
 * Woken again every WAIT_REWAKE_MS: a worker that began its futex wait
 * after the first wake, on a word its client has set back meanwhile, would
 * sleep on (a parked one without a timeout).
 */
#define WAIT_REWAKE_MS	10

static void worker_wait(struct soft_q *sq)
{
	pthread_mutex_lock(&threads.lock);
	while (!sq->worker_done) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WAIT_REWAKE_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&threads.done, &threads.lock, &until) == ETIMEDOUT &&
		    !sq->worker_done) {
			pthread_mutex_unlock(&threads.lock);
			wake_worker(sq);
			pthread_mutex_lock(&threads.lock);
		}
	}
	pthread_mutex_unlock(&threads.lock);
}

bool soft_stopping(struct soft_q *sq)
{
	return __atomic_load_n(&sq->stop, __ATOMIC_ACQUIRE) == SOFT_STOP_CANCEL;
}

bool soft_leaving(struct soft_q *sq)
{
	return __atomic_load_n(&sq->stop, __ATOMIC_ACQUIRE) != 0;
}

void *soft_data_ptr(struct soft_q *sq, uint64_t uaddr, uint64_t len)
{
	char *p = uacce_hwq_ss_ptr(sq->q, uaddr, len);
	struct uacce_region *r;

	if (!p || !sq->dev->data_off)
		return p;
	r = uacce_hwq_data_region(sq->q);
	return r && (uint64_t)(p - (char *)uacce_region_map(r)) >= sq->dev->data_off ? p : NULL;
}

/* memmove in pieces: a queue being stopped must not wait for a huge copy */
static int move_chunked(struct soft_q *sq, void *d, const void *s, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += COPY_CHUNK) {
		uint64_t n = len - off < COPY_CHUNK ? len - off : COPY_CHUNK;

		if (soft_stopping(sq))
			return -ECANCELED;
		memmove((char *)d + (s < d ? len - off - n : off),
			(const char *)s + (s < d ? len - off - n : off), n);
	}
	return 0;
}

int soft_copy(struct soft_q *sq, uint64_t dst, uint64_t src, uint64_t len)
{
	const struct uacce_mem_range rg[2] = { { .addr = src, .len = len },
					       { .addr = dst, .len = len, .write = true } };
	struct uacce_mem_req mr;
	char small[4096], *bounce;
	void *ds, *dd;
	int err = 0;

	if (len > MAX_COPY)
		return -EINVAL;
	if (sq->dev->engine) {	/* a DMA engine: offsets into the data region */
		struct uacce_region *ss = uacce_hwq_data_region(sq->q);
		char *s = soft_data_ptr(sq, src, len);
		char *d = soft_data_ptr(sq, dst, len);

		if (!ss || !s || !d)
			return -EFAULT;
		return sq->dev->engine->copy(sq->dev->engine_ctx, sq, ss,
					     (uint64_t)(d - (char *)uacce_region_map(ss)),
					     (uint64_t)(s - (char *)uacce_region_map(ss)), len);
	}
	if (!uacce_hwq_is_sva(sq->q)) {
		void *s = soft_data_ptr(sq, src, len);
		void *d = soft_data_ptr(sq, dst, len);

		if (!s || !d)
			return -EFAULT;
		return move_chunked(sq, d, s, len);
	}
	/* one look at the owner's mappings for both ranges, for this request */
	uacce_hwq_mem_begin(sq->q, &mr);
	err = uacce_hwq_mem_check(&mr, rg, 2);
	if (err)
		return err;
	/* a memfd the owner shared (UB_SHARE): in place, no kernel copy */
	ds = len ? uacce_hwq_mem_direct(&mr, src, len, false) : NULL;
	dd = len ? uacce_hwq_mem_direct(&mr, dst, len, true) : NULL;
	if (ds && dd)
		return move_chunked(sq, dd, ds, len);
	for (uint64_t off = 0; (ds || dd) && off < len && !err; off += BOUNCE) {
		size_t chunk = len - off < BOUNCE ? (size_t)(len - off) : BOUNCE;

		if (soft_stopping(sq))
			return -ECANCELED;
		err = dd ? uacce_hwq_mem_read(&mr, src + off, (char *)dd + off, chunk)
			 : uacce_hwq_mem_write(&mr, dst + off, (const char *)ds + off, chunk);
	}
	if (ds || dd)
		return err;
	bounce = len <= sizeof(small) ? small : malloc(len < BOUNCE ? len : BOUNCE);
	if (!bounce)
		return -ENOMEM;
	for (uint64_t off = 0; off < len && !err;) {
		size_t chunk = len - off < BOUNCE ? (size_t)(len - off) : BOUNCE;

		if (soft_stopping(sq)) {
			err = -ECANCELED;
			break;
		}
		err = uacce_hwq_mem_read(&mr, src + off, bounce, chunk);
		if (!err)
			err = uacce_hwq_mem_write(&mr, dst + off, bounce, chunk);
		off += chunk;
	}
	if (bounce != small)
		free(bounce);
	return err;
}

/* --- ops ------------------------------------------------------------------- */

static const struct soft_personality *find_personality(const char *api)
{
	for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]); i++)
		if (api && strcmp(personalities[i]->api, api) == 0)
			return personalities[i];
	return NULL;
}

static int create(const struct uacce_dev_cfg *cfg, const struct soft_engine *engine,
		  void *engine_ctx, struct uacce_hwdev_info *info, struct uacce_hwdev **out)
{
	const struct soft_personality *pers = find_personality(cfg->api);
	struct soft_dev *d;
	uint64_t data_size = pers ? pers->ml_data_size : 0;
	char why[160];
	int workers = 0, err;

	if (!pers)
		return -EINVAL;
	if (cfg->queues < 1 || cfg->queues > 4096)
		return -ERANGE;
	if (engine && (cfg->sva || pers->pooled))
		return -EINVAL;
	if (soft_cfg_workers(cfg, pers->pooled, &workers, why, sizeof(why)) ||
	    soft_cfg_data_size(cfg, &data_size, why, sizeof(why))) {
		log_err("%s: %s", cfg->name, why);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->hw.ops = &soft_backend_ops;
	d->pers = pers;
	d->sva = cfg->sva;
	d->max_queues = cfg->queues;
	d->engine = engine;
	d->engine_ctx = engine_ctx;
	snprintf(d->name, sizeof(d->name), "%s", cfg->name ? cfg->name : "soft");
	if (pers->pooled && (err = soft_pool_create(d, workers, &d->pool))) {
		free(d);
		return err;
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->api, sizeof(info->api), "%s", pers->api);
	snprintf(info->algorithms, sizeof(info->algorithms), "%s", pers->algorithms);
	info->flags = cfg->sva ? UACCE_DEV_SVA : UACCE_DEV_SHARE_DOMAIN;
	memcpy(info->qfr_size, pers->qfr_size, sizeof(info->qfr_size));
	if (cfg->abi == UACCE_ABI_MAINLINE) {
		/* MMIO and DUS only; no SS: non-SVA data goes at the DUS's end */
		info->qfr_size[UACCE_QFRT_DKO] = 0;
		info->qfr_size[UACCE_QFRT_SS] = 0;
		if (!cfg->sva) {
			d->data_off = info->qfr_size[UACCE_QFRT_DUS];
			info->qfr_size[UACCE_QFRT_DUS] += data_size;
		}
	}
	info->max_queues = cfg->queues;
	*out = &d->hw;
	return 0;
}

static int soft_dev_create(const struct uacce_dev_cfg *cfg, struct uacce_hwdev_info *info,
			   struct uacce_hwdev **out)
{
	return create(cfg, NULL, NULL, info, out);
}

int soft_dev_create_engine(const struct uacce_dev_cfg *cfg, const struct soft_engine *engine,
			   void *engine_ctx, struct uacce_hwdev_info *info, struct uacce_hwdev **out)
{
	return create(cfg, engine, engine_ctx, info, out);
}

static void soft_dev_destroy(struct uacce_hwdev *hd)
{
	struct soft_dev *d = hd ? soft_dev_of(hd) : NULL;

	if (d && d->pool)
		soft_pool_destroy(d->pool);
	free(d);
}

int soft_get_queue(struct uacce_hwdev *hd, struct uacce_queue *q, struct uacce_hwq **out)
{
	struct soft_q *sq = calloc(1, sizeof(*sq));
	int err;

	if (!sq)
		return -ENOMEM;
	sq->dev = soft_dev_of(hd);
	sq->hw.dev = hd;
	sq->q = q;
	pthread_mutex_init(&sq->proc_lock, NULL);
	err = sq->dev->pers->init_queue(sq);
	if (err) {
		pthread_mutex_destroy(&sq->proc_lock);
		free(sq);
		return err;
	}
	*out = &sq->hw;
	return 0;
}

/* the queue struct and what its personality holds (put, or a take-over the engine refused) */
static void free_queue(struct soft_q *sq)
{
	if (sq->dev->pers->fini_queue)
		sq->dev->pers->fini_queue(sq);
	pthread_mutex_destroy(&sq->proc_lock);
	free(sq->priv);
	free(sq);
}

void soft_put_queue(struct uacce_hwq *hq)
{
	struct soft_q *sq = soft_q_of(hq);

	/* a queue suspended (or adopted) and never stopped: the engine's
	 * resources for it (IOMMU mappings) go now */
	if (sq->engine_q && sq->dev->engine && sq->dev->engine->queue_stopped)
		sq->dev->engine->queue_stopped(sq->dev->engine_ctx, sq);
	free_queue(sq);
}

/*
 * Deferred starts.  A queue started on a thread that flushes (a session
 * thread, uacce_may_defer) gets its worker at the next flush_deferred
 * instead of at once: when the thread is about to sleep, between two
 * requests once it waited SOFT_DEFER_NS, or as soon as a request is
 * pending in its ring.  A queue stopped before that never wakes a
 * thread (a lifecycle's open, START, PUT_Q, close).  Meanwhile the
 * device shows itself asleep (a kicking client kicks; the session thread
 * sees the request).  Not for kickless personalities or a DMA engine.
 */
static struct {
	pthread_mutex_t lock;		/* before threads.lock */
	struct list q;			/* soft_q.defer_link, oldest first */
	int n;				/* atomic: the list's length */
} deferred = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.q = { &deferred.q, &deferred.q },
};

static void defer_start(struct soft_q *sq)
{
	uint32_t *sleeping;

	sq->dev->pers->wake_word(sq, &sleeping);
	__atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
	sq->defer_ns = now_ns();
	pthread_mutex_lock(&deferred.lock);
	list_add_tail(&deferred.q, &sq->defer_link);
	sq->deferred = true;
	__atomic_add_fetch(&deferred.n, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&deferred.lock);
}

/* a stop of a queue whose worker never came: true if it was such */
static bool defer_cancel(struct soft_q *sq)
{
	bool was;

	pthread_mutex_lock(&deferred.lock);
	was = sq->deferred;
	if (was) {
		list_del(&sq->defer_link);
		sq->deferred = false;
		__atomic_sub_fetch(&deferred.n, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&deferred.lock);
	return was;
}

static int worker_start(struct soft_q *sq);

bool soft_flush_deferred(uint64_t older_ns)
{
	uint64_t now;
	bool more;

	if (!__atomic_load_n(&deferred.n, __ATOMIC_RELAXED))
		return false;
	now = now_ns();
	pthread_mutex_lock(&deferred.lock);
	list_for_each(pos, &deferred.q) {
		struct soft_q *sq = container_of(pos, struct soft_q, defer_link);
		int err;

		if (older_ns && now - sq->defer_ns < older_ns && !sq->dev->pers->pending(sq))
			continue;
		list_del(&sq->defer_link);
		sq->deferred = false;
		__atomic_sub_fetch(&deferred.n, 1, __ATOMIC_RELAXED);
		/* under the lock: a stop waits for it, then finds a worker to stop */
		err = worker_start(sq);
		if (err)
			log_err("%s: cannot start worker: %s", uacce_hwq_label(sq->q),
				strerror(-err));
	}
	more = !list_empty(&deferred.q);
	pthread_mutex_unlock(&deferred.lock);
	return more;
}

/*
 * The queue's worker (or its place in the pool) goes; the memory stays as
 * it is.  cancel: long work in progress is abandoned (ECANCELED, a stop);
 * else the request in progress completes first (a suspend: the worker
 * leaves at a request boundary).
 */
static void halt(struct soft_q *sq, bool cancel)
{
	if (sq->dev->pool) {
		soft_pool_remove(sq->dev->pool, sq);
		sq->running = false;
	} else {
		int none = 0;
		bool taken;

		if (defer_cancel(sq)) {	/* no worker came yet: none to stop */
			if (cancel)
				__atomic_store_n(&sq->stop, SOFT_STOP_CANCEL, __ATOMIC_RELEASE);
			sq->running = false;
			if (cancel && sq->dev->engine && sq->dev->engine->queue_stopped)
				sq->dev->engine->queue_stopped(sq->dev->engine_ctx, sq);
			return;
		}
		/* a suspend never undoes a cancel that came first */
		if (cancel)
			__atomic_store_n(&sq->stop, SOFT_STOP_CANCEL, __ATOMIC_RELEASE);
		else
			__atomic_compare_exchange_n(&sq->stop, &none, SOFT_STOP_PAUSE, false,
						    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
		/* taken from a thread that sleeps, or waited for; woken either way */
		taken = worker_take(sq);
		wake_worker(sq);
		if (!taken)
			worker_wait(sq);
		sq->running = false;
		/* a suspend keeps them: the queue serves on with them (resume,
		 * or a successor that adopts the engine's state) */
		if (cancel && sq->dev->engine && sq->dev->engine->queue_stopped)
			sq->dev->engine->queue_stopped(sq->dev->engine_ctx, sq);
	}
}

/* serve the queue (again) from where its rings are: no personality start */
static int run(struct soft_q *sq)
{
	int err;

	if (sq->dev->pool) {
		soft_pool_add(sq->dev->pool, sq);
		sq->running = true;
		return 0;
	}
	sq->stop = 0;
	if (uacce_may_defer() && !sq->dev->engine && !sq->dev->pers->kickless) {
		defer_start(sq);
		sq->running = true;
		return 0;
	}
	err = worker_start(sq);
	if (err) {
		log_err("%s: cannot start worker: %s", uacce_hwq_label(sq->q), strerror(-err));
		return err;
	}
	sq->running = true;
	return 0;
}

int soft_start_queue(struct uacce_hwq *hq)
{
	struct soft_q *sq = soft_q_of(hq);
	int err;

	if (sq->dev->pers->start && (err = sq->dev->pers->start(sq)))
		return err;
	return run(sq);
}

void soft_stop_queue(struct uacce_hwq *hq)
{
	struct soft_q *sq = soft_q_of(hq);

	if (!sq->running && !sq->suspended)
		return;
	if (sq->running)
		halt(sq, true);
	else if (sq->dev->engine && sq->dev->engine->queue_stopped)
		sq->dev->engine->queue_stopped(sq->dev->engine_ctx, sq);	/* suspended */
	sq->suspended = false;
	if (sq->dev->pers->stopped)
		sq->dev->pers->stopped(sq);
}

/* --- live restart ---------------------------------------------------------- */

/*
 * The saved state: SOFT_SAVE_V1, a flags byte (bit 0: news for poll() not
 * consumed yet), then the personality's bytes (its own version first).
 * SOFT_SAVE_V2 (devices with a copy engine that saves queues): the same,
 * with the engine's bytes (a 16-bit little-endian length, then its
 * save_queue bytes) before the personality's.
 */
#define SOFT_SAVE_V1		1
#define SOFT_SAVE_V2		2
#define SOFT_SAVE_UPDATED	0x1

void soft_suspend_queue(struct uacce_hwq *hq)
{
	struct soft_q *sq = soft_q_of(hq);

	if (!sq->running)
		return;
	halt(sq, false);
	sq->suspended = true;
}

int soft_resume_queue(struct uacce_hwq *hq)
{
	struct soft_q *sq = soft_q_of(hq);
	int err;

	if (sq->running)
		return 0;
	err = run(sq);
	if (!err)
		sq->suspended = false;
	return err;
}

ssize_t soft_save_queue(struct uacce_hwq *hq, void *buf, size_t len)
{
	struct soft_q *sq = soft_q_of(hq);
	uint8_t *b = buf;
	ssize_t n;

	if (sq->running)
		return -EBUSY;	/* the worker moves the positions */
	if (!sq->dev->pers->save)
		return -EOPNOTSUPP;
	if (len < 2)
		return -ENOSPC;
	b[0] = SOFT_SAVE_V1;
	b[1] = __atomic_load_n(&sq->updated, __ATOMIC_ACQUIRE) ? SOFT_SAVE_UPDATED : 0;
	if (sq->dev->engine && sq->dev->engine->save_queue) {
		ssize_t e;

		if (len < 4)
			return -ENOSPC;
		b[0] = SOFT_SAVE_V2;
		e = sq->dev->engine->save_queue(sq->dev->engine_ctx, sq, b + 4,
						len - 4 < 65535 ? len - 4 : 65535);
		if (e < 0)
			return e;
		b[2] = (uint8_t)e;
		b[3] = (uint8_t)(e >> 8);
		n = sq->dev->pers->save(sq, b + 4 + e, len - 4 - (size_t)e);
		return n < 0 ? n : n + 4 + e;
	}
	n = sq->dev->pers->save(sq, b + 2, len - 2);
	return n < 0 ? n : n + 2;
}

/* the queue struct of a queue taken over (adopt, recover): no worker yet */
static struct soft_q *taken_queue(struct uacce_hwdev *hd, struct uacce_queue *q, bool updated)
{
	struct soft_q *sq = calloc(1, sizeof(*sq));

	if (!sq)
		return NULL;
	sq->dev = soft_dev_of(hd);
	sq->hw.dev = hd;
	sq->q = q;
	sq->updated = updated ? 1 : 0;
	pthread_mutex_init(&sq->proc_lock, NULL);
	return sq;
}

int soft_adopt_queue(struct uacce_hwdev *hd, struct uacce_queue *q, const void *blob, size_t len,
		     struct uacce_hwq **out)
{
	const struct soft_engine *eng = soft_dev_of(hd)->engine;
	struct soft_q *sq;
	const uint8_t *b = blob, *eb = NULL;
	size_t elen = 0, off = 2;
	int err;

	if (!soft_dev_of(hd)->pers->adopt)
		return -EOPNOTSUPP;
	/* a version this build does not know */
	if (len < 2 || (b[0] != SOFT_SAVE_V1 && b[0] != SOFT_SAVE_V2))
		return -EINVAL;
	if (b[0] == SOFT_SAVE_V2) {	/* the engine's bytes: only an engine reads them */
		if (len < 4 || !eng || !eng->adopt_queue)
			return -EINVAL;
		elen = (size_t)b[2] | (size_t)b[3] << 8;
		if (len < 4 + elen)
			return -EINVAL;
		eb = b + 4;
		off = 4 + elen;
	}
	sq = taken_queue(hd, q, b[1] & SOFT_SAVE_UPDATED);
	if (!sq)
		return -ENOMEM;
	err = sq->dev->pers->adopt(sq, b + off, len - off);
	if (!err && eb && elen && (err = eng->adopt_queue(sq->dev->engine_ctx, sq, eb, elen))) {
		free_queue(sq);
		return err;
	}
	if (err) {
		pthread_mutex_destroy(&sq->proc_lock);
		free(sq);
		return err;
	}
	*out = &sq->hw;
	return 0;
}

int soft_recover_queue(struct uacce_hwdev *hd, struct uacce_queue *q, struct uacce_hwq **out)
{
	const struct soft_engine *eng = soft_dev_of(hd)->engine;
	struct soft_q *sq;
	int err;

	/* a DMA engine's queue (vfio edu): only when the engine can start it over */
	if (!soft_dev_of(hd)->pers->recover || (eng && !eng->recover_queue))
		return -EOPNOTSUPP;
	sq = taken_queue(hd, q, true);	/* whatever the client waits for: it looks again */
	if (!sq)
		return -ENOMEM;
	err = sq->dev->pers->recover(sq);
	if (!err && eng && (err = eng->recover_queue(sq->dev->engine_ctx, sq))) {
		free_queue(sq);
		return err;
	}
	if (err) {
		pthread_mutex_destroy(&sq->proc_lock);
		free(sq);
		return err;
	}
	*out = &sq->hw;
	return 0;
}

int soft_ioctl(struct uacce_hwq *hq, struct uacce_ioctl *io)
{
	struct soft_q *sq = soft_q_of(hq);

	if (sq->dev->pers->ioctl) {
		int r = sq->dev->pers->ioctl(sq, io);

		if (r != -ENOTTY)
			return r;
	}
	if (!sq->dev->pers->flush_cmd || io->cmd != sq->dev->pers->flush_cmd)
		return -ENOTTY;
	if (!sq->running)
		return -EINVAL;
	if (soft_stopping(sq))
		return -ECANCELED;	/* cancelled: the queue is going */
	/*
	 * CPU copies: processed in the caller's thread, done when FLUSH
	 * returns, as the original device did (the core holds only this
	 * queue's lock; a cancel makes the copies stop at the next piece).  A DMA engine's requests take
	 * as long as the hardware does: FLUSH wakes the worker and returns
	 * (completion comes through poll), so that the device's frontend
	 * thread is never held up for its other clients.
	 */
	if (sq->dev->engine) {
		wake_worker(sq);
		return 0;
	}
	run_once(sq);
	return 0;
}

bool soft_is_updated(struct uacce_hwq *hq)
{
	return __atomic_exchange_n(&soft_q_of(hq)->updated, 0, __ATOMIC_ACQ_REL) != 0;
}

/* the queue is going: long copies stop at their next piece (ECANCELED) */
void soft_cancel(struct uacce_hwq *hq)
{
	__atomic_store_n(&soft_q_of(hq)->stop, SOFT_STOP_CANCEL, __ATOMIC_RELEASE);
}

const struct uacce_backend_queue_ops soft_queue_ops = {
	.get_queue = soft_get_queue,
	.put_queue = soft_put_queue,
	.start_queue = soft_start_queue,
	.stop_queue = soft_stop_queue,
	.flush_deferred = soft_flush_deferred,
	.ioctl = soft_ioctl,
	.is_updated = soft_is_updated,
	.cancel = soft_cancel,
	.suspend_queue = soft_suspend_queue,
	.resume_queue = soft_resume_queue,
	.save_queue = soft_save_queue,
	.adopt_queue = soft_adopt_queue,
	.recover_queue = soft_recover_queue,
};

const struct uacce_backend_ops soft_backend_ops = {
	.name = "soft",
	.cfg = &soft_cfg_ops,
	.dev_create = soft_dev_create,
	.dev_destroy = soft_dev_destroy,
	.queue = &soft_queue_ops,
};
