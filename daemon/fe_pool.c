/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fe_pool.c - a frontend's worker threads (see fe_pool.h) */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>

#include "fe_pool.h"

void fe_pool_init(struct fe_pool *p)
{
	*p = (struct fe_pool){ .queued = 0 };
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	list_init(&p->jobs);
}

static void *worker(void *arg)
{
	struct fe_worker *w = arg;
	struct fe_pool *p = w->pool;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct fe_job *j;
		bool cancelled;

		while (list_empty(&p->jobs) && !p->stopping) {
			p->idle++;
			pthread_cond_wait(&p->work, &p->lock);
			p->idle--;
		}
		if (list_empty(&p->jobs))
			break;	/* stopping, nothing left */
		j = container_of(p->jobs.next, struct fe_job, link);
		list_del(&j->link);
		p->queued--;
		w->tag = j->tag;
		cancelled = p->stopping;
		pthread_mutex_unlock(&p->lock);
		j->run(j, cancelled);	/* j is gone */
		pthread_mutex_lock(&p->lock);
		w->tag = NULL;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int fe_pool_submit(struct fe_pool *p, struct fe_job *j)
{
	int err = 0;

	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		err = -ENODEV;
		goto out;
	}
	list_add_tail(&p->jobs, &j->link);
	p->queued++;
	if (p->queued > p->idle && p->nthreads < FE_POOL_MAX) {
		struct fe_worker *w = &p->w[p->nthreads];

		w->pool = p;
		w->tag = NULL;
		err = -pthread_create(&w->thread, NULL, worker, w);
		if (!err)
			p->nthreads++;
		else if (p->nthreads > 0)
			err = 0;	/* the threads there are will run it */
		else {
			list_del(&j->link);
			p->queued--;
			goto out;
		}
	}
	pthread_cond_signal(&p->work);
out:
	pthread_mutex_unlock(&p->lock);
	return err;
}

static bool busy_with(struct fe_pool *p, const void *tag)
{
	for (int i = 0; i < p->nthreads; i++)
		if (p->w[i].tag == tag)
			return true;
	list_for_each(pos, &p->jobs)
		if (container_of(pos, struct fe_job, link)->tag == tag)
			return true;
	return false;
}

void fe_pool_wait_tag(struct fe_pool *p, const void *tag)
{
	pthread_mutex_lock(&p->lock);
	while (busy_with(p, tag))
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

static bool busy(struct fe_pool *p)
{
	for (int i = 0; i < p->nthreads; i++)
		if (p->w[i].tag)
			return true;
	return !list_empty(&p->jobs);
}

void fe_pool_wait_idle(struct fe_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (busy(p))
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

int fe_pool_wait_idle_until(struct fe_pool *p, const struct timespec *deadline)
{
	int err = 0;

	pthread_mutex_lock(&p->lock);
	while (busy(p) && !err)
		err = pthread_cond_clockwait(&p->done, &p->lock, CLOCK_MONOTONIC, deadline);
	err = busy(p) ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&p->lock);
	return err;
}

void fe_pool_stop(struct fe_pool *p)
{
	int n;

	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	n = p->nthreads;	/* no thread is started from now on */
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < n; i++)
		pthread_join(p->w[i].thread, NULL);
}

void fe_pool_destroy(struct fe_pool *p)
{
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
}
