/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fe_pool.h - a frontend's worker threads: requests that must not hold up a
 * session thread (device ioctls, which may run for seconds; SHARE_SVAS
 * lookups, which need a session thread to answer them) are answered from
 * here.  A session thread submits a job and goes on with other requests;
 * a worker runs it and replies.
 *
 * Threads are created on demand, at most FE_POOL_MAX, and live until
 * fe_pool_stop.  Jobs wait in a FIFO queue when every thread is busy.
 */
#ifndef UACCED_FE_POOL_H
#define UACCED_FE_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "list.h"

#define FE_POOL_MAX 4

struct fe_job {
	struct list link;	/* fe_pool::jobs while queued */
	/*
	 * Not NULL, never dereferenced by the pool: who the reply goes
	 * through (the node whose session received the request), for
	 * fe_pool_wait_tag.
	 */
	const void *tag;
	/*
	 * Reply to the request exactly once, release what the job holds and
	 * free it.  `cancelled`: the pool is stopping and the job never
	 * started: answer ENODEV without doing the work.  Runs in a worker,
	 * no pool lock held.
	 */
	void (*run)(struct fe_job *j, bool cancelled);
};

struct fe_pool;

/* one worker thread */
struct fe_worker {
	struct fe_pool *pool;
	pthread_t thread;
	const void *tag;	/* of the job it runs, NULL when idle; pool lock */
};

struct fe_pool {
	pthread_mutex_t lock;	/* a leaf: nothing is called with it held */
	pthread_cond_t work;	/* a job was queued, or stopping */
	pthread_cond_t done;	/* a job finished */
	struct list jobs;	/* fe_job.link, queued, oldest first; lock */
	int queued;		/* length of jobs; lock */
	int idle;		/* threads waiting for work; lock */
	int nthreads;		/* w[0..nthreads) were started; lock */
	bool stopping;		/* lock */
	struct fe_worker w[FE_POOL_MAX];
};

void fe_pool_init(struct fe_pool *p);
/*
 * Queue j; a worker will run it.  0, -ENODEV when the pool is stopping, or
 * -errno when no thread could be started: then j was not queued, the
 * caller still owns it and replies itself.
 */
int fe_pool_submit(struct fe_pool *p, struct fe_job *j);
/*
 * Wait until no job tagged `tag` is queued or running (the jobs queued
 * meanwhile included): before the session the tag names goes.  Never from
 * a worker.
 */
void fe_pool_wait_tag(struct fe_pool *p, const void *tag);
/*
 * Wait until no job is queued or running (a live restart's freeze: the
 * session threads, which submit, are stopped already).  Never from a
 * worker.
 */
void fe_pool_wait_idle(struct fe_pool *p);
/*
 * The same, while the session threads go on (new jobs may come): 0 at a
 * moment with no job, -ETIMEDOUT at deadline (CLOCK_MONOTONIC).
 */
int fe_pool_wait_idle_until(struct fe_pool *p, const struct timespec *deadline);
/*
 * Stop: later submits get -ENODEV, the jobs still queued run cancelled,
 * the running ones finish; every thread is joined.  No job runs after
 * this returns (fe_pool_wait_tag returns at once).
 */
void fe_pool_stop(struct fe_pool *p);
/* free it: stopped, and nobody calls it any more */
void fe_pool_destroy(struct fe_pool *p);

#endif
