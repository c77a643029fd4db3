/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pool.c - a device's worker pool (pooled personalities, e.g. zip).
 *
 * N worker threads serve every started queue of one device.  A worker
 * claims a queue with pending work (round robin: the claimed queue moves to
 * the tail of the list), lets the personality process one request, and
 * gives the queue back.  A queue is served by one worker at a time, so its
 * requests run in order, and N busy queues keep N workers busy.
 *
 * Idle: after its last request a worker spins SPIN_NS, then sleeps in
 * futex_waitv(2) on the wake words of the started queues and on the pool's
 * control word.  A queue whose work is exhausted when a worker gives it
 * back raises its "need wakeup" flag; its client then kicks the wake word
 * (one FUTEX_WAKE) after submitting.  A queue that its client keeps fed
 * never raises it, so the steady state makes no system call.  A worker
 * that claims a queue while more queues wait and workers sleep wakes one
 * (work conserving).  Past FUTEX_WAITV_MAX - 1 queues, sleepers also
 * re-scan every RESCAN_NS.
 *
 * Locking: pool->lock guards the list, claimed/leaving, the counters and
 * the stop flag; process() runs without it.  Never takes the core lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "soft.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

#define SPIN_NS		50000ULL
#define RESCAN_NS	1000000L

struct soft_pool {
	pthread_mutex_t lock;
	pthread_cond_t released;	/* a leaving queue was given back */
	struct soft_dev *dev;
	struct list queues;		/* soft_q.pool_link, round-robin order */
	int sleepers;			/* workers in futex_waitv */
	uint32_t ctl;			/* futex: queues changed, stop, more work */
	bool stop;
	int nthreads;			/* created */
	pthread_t threads[];
};

/* wake n sleepers through the control word (lock held) */
static void ctl_kick(struct soft_pool *p, int n)
{
	__atomic_add_fetch(&p->ctl, 1, __ATOMIC_SEQ_CST);
	soft_futex_wake(&p->ctl, n);
}

/*
 * futex_waitv(2) (Linux 5.16); before it, sleep on the control word alone
 * and re-scan every RESCAN_NS.
 */
static void futex_waitv(struct futex_waitv *w, unsigned n, struct timespec *tmo)
{
	static int missing;	/* atomic */
	struct timespec rel = { .tv_nsec = RESCAN_NS };

	if (!__atomic_load_n(&missing, __ATOMIC_RELAXED)) {
		if (syscall(SYS_futex_waitv, w, n, 0, tmo, CLOCK_MONOTONIC) == 0 || errno != ENOSYS)
			return;
		__atomic_store_n(&missing, 1, __ATOMIC_RELAXED);
		log_warn("no futex_waitv(2): idle pool workers poll every %ld us", RESCAN_NS / 1000);
	}
	syscall(SYS_futex, (uint32_t *)(uintptr_t)w[0].uaddr, FUTEX_WAIT, (uint32_t)w[0].val, &rel,
		NULL, 0);
}

static struct soft_q *sq_of(struct list *pos)
{
	return container_of(pos, struct soft_q, pool_link);
}

/* the next queue with work nobody serves, claimed; NULL if none */
static struct soft_q *pick_locked(struct soft_pool *p)
{
	const struct soft_personality *pers = p->dev->pers;
	struct soft_q *found = NULL;
	bool more = false;

	list_for_each(pos, &p->queues) {
		struct soft_q *sq = sq_of(pos);

		if (sq->claimed || !pers->pending(sq))
			continue;
		if (found) {
			more = true;
			break;
		}
		found = sq;
	}
	if (!found)
		return NULL;
	list_del(&found->pool_link);
	list_add_tail(&p->queues, &found->pool_link);
	found->claimed = true;
	pers->set_idle(found, false);
	if (more && p->sleepers > 0)
		ctl_kick(p, 1);
	return found;
}

/* one request of a claimed queue; lock held on entry and exit */
static void serve_locked(struct soft_pool *p, struct soft_q *sq)
{
	const struct soft_personality *pers = p->dev->pers;
	int n;

	pthread_mutex_unlock(&p->lock);
	n = pers->process(sq);
	if (n > 0) {
		uacce_hwq_count(sq->q, (unsigned int)n);
		__atomic_store_n(&sq->updated, 1, __ATOMIC_RELEASE);
		uacce_hwq_notify(sq->q);
	}
	pthread_mutex_lock(&p->lock);
	sq->claimed = false;
	if (sq->leaving) {
		pthread_cond_broadcast(&p->released);
		return;
	}
	/*
	 * Nobody watches it now: raise need-wakeup (set_idle is a full
	 * barrier), then look again.  A submission that raced with it is
	 * either seen here (the flag goes down again at once) or its client
	 * sees the flag and kicks: no wake-up is lost either way.  Between
	 * the two a client can see the flag with work left and make one
	 * spurious kick; looking again keeps that window short.
	 */
	if (!pers->pending(sq)) {
		pers->set_idle(sq, true);
		if (pers->pending(sq))
			pers->set_idle(sq, false);
	}
}

static bool any_work_locked(struct soft_pool *p)
{
	list_for_each(pos, &p->queues) {
		struct soft_q *sq = sq_of(pos);

		if (!sq->claimed && p->dev->pers->pending(sq))
			return true;
	}
	return false;
}

/*
 * Sleep until a client kicks, the queue set changes or the pool stops.
 * Lock held on entry and exit.  Wait on every queue's word, claimed ones
 * too: their worker may give them back idle and go on with another queue.
 */
static void sleep_locked(struct soft_pool *p, struct futex_waitv *w)
{
	const struct soft_personality *pers = p->dev->pers;
	struct timespec ts, *tmo = NULL;
	unsigned n = 0;

	w[n++] = (struct futex_waitv){ .uaddr = (uintptr_t)&p->ctl,
				       .val = __atomic_load_n(&p->ctl, __ATOMIC_SEQ_CST),
				       .flags = FUTEX_32 };
	list_for_each(pos, &p->queues) {
		uint32_t *sleeping, *wake = pers->wake_word(sq_of(pos), &sleeping);

		if (n == FUTEX_WAITV_MAX) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += RESCAN_NS;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			tmo = &ts;
			break;
		}
		w[n++] = (struct futex_waitv){ .uaddr = (uintptr_t)wake,
					       .val = __atomic_load_n(wake, __ATOMIC_SEQ_CST),
					       .flags = FUTEX_32 };
	}
	/* the words are read: a kick from now on changes one of them */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (any_work_locked(p))
		return;
	p->sleepers++;
	pthread_mutex_unlock(&p->lock);
	futex_waitv(w, n, tmo);
	pthread_mutex_lock(&p->lock);
	p->sleepers--;
}

static void *pool_worker(void *arg)
{
	struct soft_pool *p = arg;
	struct futex_waitv w[FUTEX_WAITV_MAX];
	uint64_t last = soft_now_ns();

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct soft_q *sq = pick_locked(p);

		if (sq) {
			serve_locked(p, sq);
			last = soft_now_ns();
		} else if (soft_now_ns() - last < SPIN_NS) {
			pthread_mutex_unlock(&p->lock);
			soft_cpu_relax();
			pthread_mutex_lock(&p->lock);
		} else {
			sleep_locked(p, w);
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (p->dev->pers->worker_exit)
		p->dev->pers->worker_exit();
	return NULL;
}

static void stop_workers(struct soft_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	ctl_kick(p, INT_MAX);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
}

int soft_pool_create(struct soft_dev *d, int nworkers, struct soft_pool **out)
{
	struct soft_pool *p;

	if (nworkers < 1 || nworkers > SOFT_MAX_WORKERS)
		return -EINVAL;
	p = calloc(1, sizeof(*p) + (size_t)nworkers * sizeof(pthread_t));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->released, NULL);
	list_init(&p->queues);
	p->dev = d;
	for (int i = 0; i < nworkers; i++) {
		char name[16];
		int err = pthread_create(&p->threads[i], NULL, pool_worker, p);

		if (err) {
			log_err("%s: cannot start worker %d: %s", d->name, i, strerror(err));
			soft_pool_destroy(p);
			return -err;
		}
		p->nthreads++;
		snprintf(name, sizeof(name), "%.9s-w%d", d->name, i);
		pthread_setname_np(p->threads[i], name);
	}
	log_debug("%s: %d pool workers", d->name, nworkers);
	*out = p;
	return 0;
}

void soft_pool_destroy(struct soft_pool *p)
{
	stop_workers(p);
	pthread_cond_destroy(&p->released);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void soft_pool_add(struct soft_pool *p, struct soft_q *sq)
{
	pthread_mutex_lock(&p->lock);
	sq->claimed = false;
	sq->leaving = false;
	p->dev->pers->set_idle(sq, true);
	list_add_tail(&p->queues, &sq->pool_link);
	/* sleepers must watch its wake word too */
	ctl_kick(p, INT_MAX);
	pthread_mutex_unlock(&p->lock);
}

void soft_pool_remove(struct soft_pool *p, struct soft_q *sq)
{
	pthread_mutex_lock(&p->lock);
	sq->leaving = true;
	list_del(&sq->pool_link);
	ctl_kick(p, INT_MAX);	/* sleepers forget its wake word */
	while (sq->claimed)
		pthread_cond_wait(&p->released, &p->lock);
	sq->leaving = false;
	pthread_mutex_unlock(&p->lock);
}
