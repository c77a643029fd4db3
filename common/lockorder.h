/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lockorder.h - the daemon's lock order, checked.  Every lock has a rank; a
 * thread takes locks in increasing rank only (never two of one rank).  The
 * order and what each lock protects are written in daemon/LOCKING.md.
 *
 * Builds configured with --enable-lock-checks (the sanitizer builds turn it
 * on) keep a per-thread list of the ranks held and abort with both lock
 * names on a violation; other builds compile the checks away.
 */
#ifndef UACCED_LOCKORDER_H
#define UACCED_LOCKORDER_H

#include <pthread.h>

enum lock_rank {
	LR_QUEUE = 20,		/* uacce_queue.lock: one queue's transitions, backend ops */
	LR_CORE = 30,		/* uacce_core.lock: devices, queue lists, accounting */
	LR_FRONTEND = 40,	/* frontend.lock, fe_file.lock */
	LR_BACKEND = 50,	/* a backend's own locks */
};

#ifdef UACCE_LOCK_CHECKS
void lockorder_acquire(int rank, const char *name);
void lockorder_release(int rank);
/* ranks the calling thread holds (for tests) */
int lockorder_held(void);
#else
static inline void lockorder_acquire(int rank, const char *name) { (void)rank; (void)name; }
static inline void lockorder_release(int rank) { (void)rank; }
static inline int lockorder_held(void) { return 0; }
#endif

/* a mutex taken with its rank checked */
static inline void rlock(pthread_mutex_t *m, int rank, const char *name)
{
	lockorder_acquire(rank, name);
	pthread_mutex_lock(m);
}

static inline void runlock(pthread_mutex_t *m, int rank)
{
	pthread_mutex_unlock(m);
	lockorder_release(rank);
}

#endif
