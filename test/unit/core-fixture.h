/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core-fixture.h - what the unit tests of the queue core (test-core-*.c)
 * share: a core with recording hooks, devices of the soft backend
 * (dummy_v1 / dummy_v2) or of the fake one (fake-backend.h), callers, a
 * child process and a second thread to play "another process/thread",
 * and queue, region, ring and poll helpers.
 *
 * The test process plays both the daemon (it owns the core) and, where a
 * test says so, the client: the owner of a queue is the test process itself
 * (caller tid = gettid(), peer = getpid()), or a forked child that stays
 * blocked on a pipe ("another process").  Region fds returned by uq_map are
 * mmap'ed here, which is what the client library does with them.
 *
 * Check runs each test in its own process; the checked fixtures below run
 * in that process, before and after each test of the groups that use them.
 * Every helper fails the test (ck_assert) rather than return an error,
 * unless it says otherwise.
 */
#ifndef UACCE_TEST_CORE_FIXTURE_H
#define UACCE_TEST_CORE_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "fake-backend.h"
#include "log.h"
#include "policy.h"
#include "uacce/dummy_usr_if.h"
#include "uacce/uacce.h"

#define MiB (1024ULL * 1024ULL)
#define PAGE 4096ULL

/* --- the core and its hooks ------------------------------------------------- */

/* what the core told the frontend through its hooks (mkcore resets it) */
struct hookrec {
	int inst_calls;			/* instances_changed */
	int inst_last;			/* available_instances seen in the last call */
	struct uacce_dev *inst_dev;
	int watch_calls;
	struct uacce_queue *watch_q;
	int watch_fd;
	bool watch_fd_valid;
	int watch_ret;			/* what watch_owner returns */
	int unwatch_calls;
	struct uacce_queue *unwatch_q;
	int unwatch_fd;
	bool unwatch_fd_valid;
};

extern struct hookrec H;

/* a new core whose hooks record into H */
struct uacce_core *mkcore(void);
/* a soft-backend device "dummy" of api dummy_v1/dummy_v2: uacce-dummy-<id> */
struct uacce_dev *mkdev(struct uacce_core *c, const char *api, bool sva, int queues,
			int id);
/* the same in profile `abi` (mainline: node dummy-<id>) */
struct uacce_dev *mkdev_abi(struct uacce_core *c, const char *api, bool sva, int queues,
			    int id, enum uacce_abi abi);

/* checked fixture: fx_core = mkcore(), freed (with its devices) afterwards */
extern struct uacce_core *fx_core;
void fx_core_setup(void);
void fx_core_teardown(void);

/* --- fake-backend devices ------------------------------------------------------ */

/* a device entry of the fake backend (fake-backend.h says what the keys do) */
struct fake_params {
	bool sva;
	int queues;
	int64_t mmio, dus, ss;		/* -1: the key is absent (default) */
	int create_error;		/* 0: the key is absent */
};

/* the entry's defaults: non-SVA, 4 queues, no region key */
struct fake_params fake_params(void);
/* core_add_device of a fake device "fake" (uacce-fake-<id>); its return value */
int add_fake(struct uacce_core *c, const struct uacce_backend_ops *ops,
	     const struct fake_params *p, int id, struct uacce_dev **out);
/* the same, which must succeed: the fake's complete ops, sva, queues */
struct uacce_dev *mkfake(struct uacce_core *c, bool sva, int queues, int id);

/*
 * checked fixture: fx_core with two fake devices of 4 queues, fx_a
 * (uacce-fake-1, non-SVA) and fx_b (uacce-fake-2, SVA).  The teardown
 * frees the core, fails the test if the fake saw a breach of the backend
 * contract, and resets the fake.
 */
extern struct uacce_dev *fx_a, *fx_b;
void fx_fake_setup(void);
void fx_fake_teardown(void);
/* fail the test if the fake saw a breach of the backend contract */
void fake_assert_clean(void);

/* --- callers ---------------------------------------------------------------- */

struct uacce_caller who_tid(pid_t tid);
/* the calling thread */
struct uacce_caller me(void);
/* a caller with an identity of its own (the policy's) */
struct uacce_caller who_u(pid_t tid, uid_t uid, const gid_t *groups, int n);

/* another process: a forked child blocked reading a pipe until killed */
struct child {
	pid_t pid;
	int wfd;
};

struct child spawn_child(void);
void kill_child(struct child *ch);

/* a second thread of the test process, alive until othread_stop() */
struct othread {
	pthread_t t;
	pid_t tid;
	int p[2];
	sem_t ready;
};

void othread_start(struct othread *o);
void othread_stop(struct othread *o);

/* lower the soft RLIMIT_DATA of the (idle) child owner */
void set_child_rlimit_data(pid_t pid, uint64_t soft);

/* --- queues ----------------------------------------------------------------- */

/* uq_ioctl as a frontend calls it: _IOC_SIZE(cmd) bytes of argument data */
int ioctl_raw(struct uacce_queue *q, const struct uacce_caller *w, unsigned int cmd,
	      unsigned long arg);
struct uacce_queue *open_as(struct uacce_dev *d, struct uacce_caller w);
struct uacce_queue *open_me(struct uacce_dev *d);
/* uq_open + uq_release: uq_open's return value */
int try_open(struct uacce_dev *d, struct uacce_caller w);
int ioc(struct uacce_queue *q, struct uacce_caller w, unsigned int cmd);
void start_as(struct uacce_queue *q, struct uacce_caller w);
int state(struct uacce_queue *q);

/* --- regions ---------------------------------------------------------------- */

/* uq_map + mmap of the returned fd, as the client library does */
void *map_as(struct uacce_queue *q, pid_t peer, int type, uint64_t size);
void *map_me(struct uacce_queue *q, int type, uint64_t size);
/* uq_map whose fd is not wanted (only the return value matters) */
int try_map(struct uacce_queue *q, pid_t peer, int type, uint64_t size);
/* map the SS and tell the core where it is in "the client" (us) */
void *map_ss_me(struct uacce_queue *q, uint64_t size);

/* --- the dummy device's ring, poll, notify ---------------------------------- */

uint64_t now_ms(void);
void submit(struct dummy_hw_queue_reg *reg, const void *src, void *dst, size_t size,
	    void *cookie);
bool wait_tail(struct dummy_hw_queue_reg *reg, uint32_t want, unsigned ms);
/* submit one request and wait for its completion; returns its ret */
uint32_t do_copy(struct dummy_hw_queue_reg *reg, const void *src, void *dst, size_t size);
/* poll until the mask is non-zero or `ms` pass */
unsigned wait_poll(struct uacce_queue *q, struct uacce_caller w, unsigned ms);
/* a notify callback counting its calls in *(int *)arg */
void notify_cb(void *arg);
bool wait_counter(int *ctr, int min, unsigned ms);
void fill(void *p, size_t n, unsigned seed);

/* --- the groups (test-core-*.c), in the order test-core.c runs them --------- */

TCase *tc_devices(void);
TCase *tc_open(void);
TCase *tc_ioctl(void);
TCase *tc_owner(void);
TCase *tc_regions(void);
TCase *tc_rlimit(void);
TCase *tc_share_svas(void);
TCase *tc_device(void);
TCase *tc_death(void);
TCase *tc_policy(void);
TCase *tc_regressions(void);
TCase *tc_backend(void);
TCase *tc_locking(void);
TCase *tc_mainline(void);
TCase *tc_handover(void);

#endif
