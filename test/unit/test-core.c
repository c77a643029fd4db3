/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-core.c - unit tests of the queue core (daemon/core.c) driven directly,
 * with the real "soft" backend (dummy_v1 / dummy_v2) behind it.
 *
 * The test process plays both the daemon (it owns the core) and, where a
 * test says so, the client: the owner of a queue is the test process itself
 * (caller tid = gettid(), peer = getpid()), or a forked child that stays
 * blocked on a pipe ("another process").  Region fds returned by uq_map are
 * mmap'ed here, which is what the client library does with them.
 *
 * Every test creates its own core; Check runs each test in its own process.
 *
 * The "regressions" case holds tests of bugs these tests found (fixed).
 */
#define _GNU_SOURCE
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
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "log.h"
#include "uacce/dummy_usr_if.h"
#include "uacce/uacce.h"

/* uq_ioctl as a frontend calls it: _IOC_SIZE(cmd) bytes of argument data */
static int ioctl_raw(struct uacce_queue *q, const struct uacce_caller *w, unsigned int cmd,
		     unsigned long arg)
{
	static unsigned char data[1 << 14];
	struct uacce_ioctl io = {
		.cmd = cmd, .arg = arg, .size = _IOC_SIZE(cmd), .data = _IOC_SIZE(cmd) ? data : NULL,
	};

	return uq_ioctl(q, w, &io);
}

#define MiB (1024ULL * 1024ULL)
#define PAGE 4096ULL

/* ------------------------------------------------------------------------- */
/* hooks: record what the core tells the frontend                            */
/* ------------------------------------------------------------------------- */

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

static struct hookrec H;

static void hk_instances(struct uacce_dev *d, void *ctx)
{
	ck_assert_ptr_eq(ctx, &H);
	H.inst_calls++;
	H.inst_dev = d;
	H.inst_last = ud_available_instances_locked(d);
}

static int hk_watch(struct uacce_queue *q, int pidfd, void *ctx)
{
	ck_assert_ptr_eq(ctx, &H);
	H.watch_calls++;
	H.watch_q = q;
	H.watch_fd = pidfd;
	H.watch_fd_valid = pidfd >= 0 && fcntl(pidfd, F_GETFD) >= 0;
	return H.watch_ret;
}

static void hk_unwatch(struct uacce_queue *q, int pidfd, void *ctx)
{
	ck_assert_ptr_eq(ctx, &H);
	H.unwatch_calls++;
	H.unwatch_q = q;
	H.unwatch_fd = pidfd;
	H.unwatch_fd_valid = pidfd >= 0 && fcntl(pidfd, F_GETFD) >= 0;
}

static struct uacce_core *mkcore(void)
{
	const struct uacce_core_hooks hooks = {
		.ctx = &H,
		.instances_changed = hk_instances,
		.watch_owner = hk_watch,
		.unwatch_owner = hk_unwatch,
	};
	struct uacce_core *c = NULL;

	memset(&H, 0, sizeof(H));
	H.watch_fd = H.unwatch_fd = -1;
	ck_assert_int_eq(core_new(&hooks, &c), 0);
	ck_assert_ptr_nonnull(c);
	return c;
}

static struct uacce_dev *mkdev(struct uacce_core *c, const char *api, bool sva, int queues,
			       int id)
{
	struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "soft", .api = api, .sva = sva, .queues = queues,
	};
	struct uacce_dev *d = NULL;

	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, id, &d), 0);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* ------------------------------------------------------------------------- */
/* callers                                                                    */
/* ------------------------------------------------------------------------- */

static struct uacce_caller who_tid(pid_t tid)
{
	struct uacce_caller w = { .tid = tid, .uid = getuid(), .gid = getgid() };

	return w;
}

static struct uacce_caller me(void)
{
	return who_tid(gettid());
}

/* another process: a forked child blocked reading a pipe until killed */
struct child {
	pid_t pid;
	int wfd;
};

static struct child spawn_child(void)
{
	struct child ch;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ch.pid = fork();
	ck_assert_int_ge(ch.pid, 0);
	if (ch.pid == 0) {
		char b;

		close(p[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while (read(p[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	ch.wfd = p[1];
	return ch;
}

static void kill_child(struct child *ch)
{
	if (ch->pid <= 0)
		return;
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, NULL, 0);
	close(ch->wfd);
	ch->pid = -1;
}

/* a second thread of the test process, alive until othread_stop() */
struct othread {
	pthread_t t;
	pid_t tid;
	int p[2];
	sem_t ready;
};

static void *othread_fn(void *arg)
{
	struct othread *o = arg;
	char b;

	o->tid = gettid();
	sem_post(&o->ready);
	while (read(o->p[0], &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void othread_start(struct othread *o)
{
	ck_assert_int_eq(pipe2(o->p, O_CLOEXEC), 0);
	ck_assert_int_eq(sem_init(&o->ready, 0, 0), 0);
	ck_assert_int_eq(pthread_create(&o->t, NULL, othread_fn, o), 0);
	while (sem_wait(&o->ready) < 0 && errno == EINTR)
		;
	ck_assert_int_gt(o->tid, 0);
	ck_assert_int_ne(o->tid, getpid());
}

static void othread_stop(struct othread *o)
{
	close(o->p[1]);
	pthread_join(o->t, NULL);
	close(o->p[0]);
	sem_destroy(&o->ready);
}

/* ------------------------------------------------------------------------- */
/* queue helpers                                                              */
/* ------------------------------------------------------------------------- */

static struct uacce_queue *open_as(struct uacce_dev *d, struct uacce_caller w)
{
	struct uacce_queue *q = NULL;

	ck_assert_int_eq(uq_open(d, &w, &q), 0);
	ck_assert_ptr_nonnull(q);
	return q;
}

static struct uacce_queue *open_me(struct uacce_dev *d)
{
	return open_as(d, me());
}

static int ioc(struct uacce_queue *q, struct uacce_caller w, unsigned int cmd)
{
	return ioctl_raw(q, &w, cmd, 0);
}

static void start_as(struct uacce_queue *q, struct uacce_caller w)
{
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_START), 0);
	ck_assert_int_eq((int)uq_state(q), UQ_STARTED);
}

static int state(struct uacce_queue *q)
{
	return (int)uq_state(q);
}

/* uq_map + mmap of the returned fd, as the client library does */
static void *map_as(struct uacce_queue *q, pid_t peer, int type, uint64_t size)
{
	uint64_t out = 0;
	int fd = -1;
	void *p;

	ck_assert_int_eq(uq_map(q, peer, type, size, &fd, &out), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(out, size);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	p = mmap(NULL, (size_t)out, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	close(fd);
	return p;
}

static void *map_me(struct uacce_queue *q, int type, uint64_t size)
{
	return map_as(q, getpid(), type, size);
}

/* uq_map whose fd is not wanted (only the return value matters) */
static int try_map(struct uacce_queue *q, pid_t peer, int type, uint64_t size)
{
	uint64_t out = 0;
	int fd = -1, r;

	r = uq_map(q, peer, type, size, &fd, &out);
	if (r == 0 && fd >= 0)
		close(fd);
	return r;
}

/* map the SS and tell the core where it is in "the client" (us) */
static void *map_ss_me(struct uacce_queue *q, uint64_t size)
{
	void *p = map_me(q, UACCE_QFRT_SS, size);

	ck_assert_int_eq(uq_mapped(q, getpid(), UACCE_QFRT_SS, (uint64_t)(uintptr_t)p), 0);
	return p;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ring access, as the dummy user driver does it */
static void submit(struct dummy_hw_queue_reg *reg, const void *src, void *dst, size_t size,
		   void *cookie)
{
	uint32_t h = __atomic_load_n(&reg->head, __ATOMIC_ACQUIRE);
	struct wd_dummy_cpy_msg *m = &reg->ring[h];

	m->src_addr = (char *)(uintptr_t)src;
	m->tgt_addr = dst;
	m->size = size;
	m->ptr = cookie;
	m->ret = 0xdeadbeefU;	/* the device must overwrite it */
	__atomic_store_n(&reg->head, (h + 1) % Q_BDS, __ATOMIC_RELEASE);
}

static bool wait_tail(struct dummy_hw_queue_reg *reg, uint32_t want, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	do {
		if (__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(200);
	} while (now_ms() < end);
	return __atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE) == want;
}

/* submit one request and wait for its completion; returns its ret */
static uint32_t do_copy(struct dummy_hw_queue_reg *reg, const void *src, void *dst, size_t size)
{
	uint32_t h = __atomic_load_n(&reg->head, __ATOMIC_ACQUIRE);
	uint32_t slot = h;

	submit(reg, src, dst, size, (void *)(uintptr_t)(0x1000 + h));
	ck_assert_msg(wait_tail(reg, (h + 1) % Q_BDS, 2000), "request %u not completed", h);
	ck_assert_ptr_eq(reg->ring[slot].ptr, (void *)(uintptr_t)(0x1000 + h));
	return __atomic_load_n(&reg->ring[slot].ret, __ATOMIC_ACQUIRE);
}

/* poll until the mask is non-zero or `ms` pass */
static unsigned wait_poll(struct uacce_queue *q, struct uacce_caller w, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	unsigned mask = 0;

	do {
		ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
		if (mask)
			return mask;
		usleep(1000);
	} while (now_ms() < end);
	return mask;
}

static void notify_cb(void *arg)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static bool wait_counter(int *ctr, int min, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (__atomic_load_n(ctr, __ATOMIC_SEQ_CST) < min && now_ms() < end)
		usleep(500);
	return __atomic_load_n(ctr, __ATOMIC_SEQ_CST) >= min;
}

static void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

/* ========================================================================= */
/* devices and attributes                                                     */
/* ========================================================================= */

START_TEST(test_qfrs_offset_v1)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 3);
	uint64_t off[UACCE_QFRT_NR];
	char buf[128];

	ud_qfrs_offset(d, off);
	ck_assert_uint_eq(off[UACCE_QFRT_MMIO], 0);
	ck_assert_uint_eq(off[UACCE_QFRT_DKO], UACCE_QFR_NA);
	ck_assert_uint_eq(off[UACCE_QFRT_DUS], UACCE_QFR_NA);
	ck_assert_uint_eq(off[UACCE_QFRT_SS], 4096);
	snprintf(buf, sizeof(buf), "%llu\t%llu\t%llu\t%llu", (unsigned long long)off[0],
		 (unsigned long long)off[1], (unsigned long long)off[2],
		 (unsigned long long)off[3]);
	ck_assert_str_eq(buf, "0\t18446744073709551615\t18446744073709551615\t4096");
	ck_assert_str_eq(ud_name(d), "uacce-dummy-3");
	ck_assert_int_eq(ud_id(d), 3);
	ck_assert_str_eq(ud_info(d)->api, "dummy_v1");
	ck_assert_str_eq(ud_info(d)->algorithms, "memcpy");
	ck_assert_uint_eq(ud_info(d)->flags, UACCE_DEV_SHARE_DOMAIN);
	ck_assert_int_eq(ud_available_instances(d), 2);
	core_free(c);
}
END_TEST

START_TEST(test_qfrs_offset_v2)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 5, 0);
	uint64_t off[UACCE_QFRT_NR];

	ud_qfrs_offset(d, off);
	ck_assert_uint_eq(off[UACCE_QFRT_MMIO], 0);
	ck_assert_uint_eq(off[UACCE_QFRT_DKO], UACCE_QFR_NA);
	ck_assert_uint_eq(off[UACCE_QFRT_DUS], 4096);
	ck_assert_uint_eq(off[UACCE_QFRT_SS], 8192);
	ck_assert_str_eq(ud_info(d)->api, "dummy_v2");
	ck_assert_uint_eq(ud_info(d)->flags, UACCE_DEV_SVA);
	ck_assert_int_eq(ud_available_instances(d), 5);
	core_free(c);
}
END_TEST

START_TEST(test_add_device_errors)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "nosuch", .api = "dummy_v1", .queues = 1,
	};
	struct uacce_dev *d = NULL;

	ck_assert_ptr_null(uacce_backend_find(cfg.backend));
	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), -EINVAL);
	cfg.backend = "soft";
	cfg.api = "dummy_v9";
	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), -EINVAL);
	cfg.api = "dummy_v1";
	cfg.queues = 0;
	ck_assert_int_lt(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), 0);
	cfg.queues = 4097;
	ck_assert_int_lt(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), 0);
	ck_assert_ptr_null(d);
	core_free(c);
}
END_TEST

/* ========================================================================= */
/* open / release / instances / exclusivity                                   */
/* ========================================================================= */

START_TEST(test_open_init_and_instances)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q;
	int pidfd;

	ck_assert_int_eq(ud_available_instances(d), 4);
	q = open_me(d);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(uq_owner_tgid(q), getpid());
	ck_assert_ptr_eq(uq_dev(q), d);
	ck_assert_uint_gt(uq_id(q), 0);
	ck_assert_int_eq(ud_available_instances(d), 3);
	ck_assert_int_eq(H.inst_calls, 1);
	ck_assert_int_eq(H.inst_last, 3);
	ck_assert_ptr_eq(H.inst_dev, d);
	/* the owner is watched through a live pidfd */
	ck_assert_int_eq(H.watch_calls, 1);
	ck_assert_ptr_eq(H.watch_q, q);
	ck_assert(H.watch_fd_valid);
	pidfd = H.watch_fd;
	ck_assert_int_eq(H.unwatch_calls, 0);

	/* PUT_Q gives the hardware queue back */
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q), UQ_ZOMBIE);
	ck_assert_int_eq(ud_available_instances(d), 4);
	ck_assert_int_eq(H.inst_calls, 2);
	ck_assert_int_eq(H.inst_last, 4);

	/* release after PUT_Q: no second increment */
	uq_release(q);
	ck_assert_int_eq(ud_available_instances(d), 4);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_ptr_eq(H.unwatch_q, q);
	ck_assert_int_eq(H.unwatch_fd, pidfd);
	ck_assert(H.unwatch_fd_valid);	/* still open while unwatching */
	core_free(c);
}
END_TEST

START_TEST(test_open_release_returns_instance)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q1, *q2;

	q1 = open_me(d);
	q2 = open_me(d);
	ck_assert_int_eq(ud_available_instances(d), 0);
	ck_assert_int_eq(H.inst_calls, 2);
	start_as(q1, me());
	uq_release(q1);		/* STARTED: stopped and put */
	ck_assert_int_eq(ud_available_instances(d), 1);
	ck_assert_int_eq(H.inst_calls, 3);
	ck_assert_int_eq(H.inst_last, 1);
	uq_release(q2);		/* INIT */
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(H.inst_calls, 4);
	ck_assert_int_eq(H.inst_last, 2);
	ck_assert_int_eq(H.unwatch_calls, 2);
	core_free(c);
}
END_TEST

START_TEST(test_open_no_free_queue_ebusy)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", true, 2, 1);
	struct uacce_queue *q1, *q2, *q3 = NULL;
	struct uacce_caller w = me();
	int calls;

	q1 = open_me(d);
	q2 = open_me(d);
	calls = H.inst_calls;
	ck_assert_int_eq(uq_open(d, &w, &q3), -EBUSY);
	ck_assert_ptr_null(q3);
	ck_assert_int_eq(ud_available_instances(d), 0);
	ck_assert_int_eq(H.inst_calls, calls);
	ck_assert_int_eq(H.watch_calls, 2);
	/* a queue given back with PUT_Q can be taken again */
	ck_assert_int_eq(ioc(q2, w, UACCE_CMD_PUT_Q), 0);
	q3 = open_me(d);
	ck_assert_int_eq(ud_available_instances(d), 0);
	uq_release(q1);
	uq_release(q2);
	uq_release(q3);
	ck_assert_int_eq(ud_available_instances(d), 2);
	core_free(c);
}
END_TEST

START_TEST(test_open_nonsva_exclusive)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller other = who_tid(ch.pid), w = me();
	struct uacce_queue *q1, *q2, *qc = NULL;

	q1 = open_me(d);
	ck_assert_int_eq(uq_open(d, &other, &qc), -EBUSY);
	ck_assert_ptr_null(qc);
	ck_assert_int_eq(ud_available_instances(d), 3);
	/* the same process may open a second queue */
	q2 = open_me(d);
	ck_assert_int_eq(ud_available_instances(d), 2);
	/* PUT_Q does not end the exclusivity: the queue is still open */
	ck_assert_int_eq(ioc(q1, w, UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(uq_open(d, &other, &qc), -EBUSY);
	uq_release(q1);
	ck_assert_int_eq(uq_open(d, &other, &qc), -EBUSY);
	uq_release(q2);
	/* the owner's last queue is gone: another process may open */
	qc = open_as(d, other);
	ck_assert_int_eq(uq_owner_tgid(qc), ch.pid);
	/* and now we are the other process */
	ck_assert_int_eq(uq_open(d, &w, &q1), -EBUSY);
	uq_release(qc);
	q1 = open_me(d);
	uq_release(q1);
	ck_assert_int_eq(ud_available_instances(d), 4);
	kill_child(&ch);
	core_free(c);
}
END_TEST

START_TEST(test_open_sva_not_exclusive)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", true, 4, 1);
	struct child ch = spawn_child();
	struct uacce_queue *q1, *qc;

	q1 = open_me(d);
	qc = open_as(d, who_tid(ch.pid));
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_release(qc);
	uq_release(q1);
	kill_child(&ch);
	core_free(c);
}
END_TEST

START_TEST(test_open_excl_released_by_owner_died)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller other = who_tid(ch.pid);
	struct uacce_queue *q, *qc = NULL;

	q = open_me(d);
	ck_assert_int_eq(uq_open(d, &other, &qc), -EBUSY);
	uq_owner_died(q);
	qc = open_as(d, other);
	uq_release(q);		/* must not drop the new owner's exclusivity */
	{
		struct uacce_caller w = me();
		struct uacce_queue *q2 = NULL;

		ck_assert_int_eq(uq_open(d, &w, &q2), -EBUSY);
	}
	uq_release(qc);
	ck_assert_int_eq(ud_available_instances(d), 4);
	kill_child(&ch);
	core_free(c);
}
END_TEST

START_TEST(test_open_watch_failure)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct child ch = spawn_child();
	struct uacce_caller w = me();
	struct uacce_queue *q = NULL, *qc;

	H.watch_ret = -EMFILE;
	ck_assert_int_eq(uq_open(d, &w, &q), -EMFILE);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(H.inst_calls, 0);
	ck_assert_int_eq(H.unwatch_calls, 0);
	/* no exclusivity left behind */
	H.watch_ret = 0;
	qc = open_as(d, who_tid(ch.pid));
	uq_release(qc);
	kill_child(&ch);
	core_free(c);
}
END_TEST

START_TEST(test_open_dead_caller)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct child ch = spawn_child();
	struct uacce_caller gone = who_tid(ch.pid);
	struct uacce_queue *q = NULL;

	kill_child(&ch);
	ck_assert_int_eq(uq_open(d, &gone, &q), -ESRCH);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(H.watch_calls, 0);
	core_free(c);
}
END_TEST

START_TEST(test_open_removed_device)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_caller w = me();
	struct uacce_queue *q = NULL;

	core_remove_device(d);
	ck_assert_int_eq(uq_open(d, &w, &q), -ENODEV);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(H.watch_calls, 0);
	core_free(c);
}
END_TEST

START_TEST(test_get_queue_reference)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d), *r;
	uint64_t id = uq_id(q);

	ck_assert_ptr_null(core_get_queue(c, id + 100));
	r = core_get_queue(c, id);
	ck_assert_ptr_eq(r, q);
	uq_release(q);
	/* the lookup's reference keeps the struct: it is dead, not freed */
	ck_assert_int_eq(state(r), UQ_DEAD);
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_unref(r);
	ck_assert_ptr_null(core_get_queue(c, id));
	/* ids are not reused */
	q = open_me(d);
	ck_assert_uint_gt(uq_id(q), id);
	uq_release(q);
	core_free(c);
}
END_TEST

/* ========================================================================= */
/* START / PUT_Q / device ioctls                                             */
/* ========================================================================= */

START_TEST(test_start)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);

	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_START), 0);
	ck_assert_int_eq(state(q), UQ_STARTED);
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_START), -EINVAL);
	ck_assert_int_eq(state(q), UQ_STARTED);
	ck_assert_int_eq(ud_available_instances(d), 1);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_put_q_then_start)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q1 = open_me(d), *q2 = open_me(d);
	int calls;

	/* PUT_Q from INIT */
	ck_assert_int_eq(ioc(q1, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q1), UQ_ZOMBIE);
	ck_assert_int_eq(ioc(q1, me(), UACCE_CMD_START), -EINVAL);
	ck_assert_int_eq(state(q1), UQ_ZOMBIE);
	ck_assert_int_eq(ioc(q1, me(), DUMMY_CMD_FLUSH), -EINVAL);
	/* PUT_Q again: nothing more to give back (the kernel answers 0) */
	calls = H.inst_calls;
	ck_assert_int_eq(ioc(q1, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q1), UQ_ZOMBIE);
	ck_assert_int_eq(ud_available_instances(d), 1);
	ck_assert_int_eq(H.inst_calls, calls);
	/* PUT_Q from STARTED stops the queue */
	start_as(q2, me());
	ck_assert_int_eq(ioc(q2, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(state(q2), UQ_ZOMBIE);
	ck_assert_int_eq(ioc(q2, me(), UACCE_CMD_START), -EINVAL);
	ck_assert_int_eq(ioc(q2, me(), DUMMY_CMD_FLUSH), -EINVAL);
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_release(q1);
	uq_release(q2);
	ck_assert_int_eq(ud_available_instances(d), 2);
	core_free(c);
}
END_TEST

START_TEST(test_unknown_ioctl)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	const unsigned int bad[] = {
		_IO('W', 7), UACCE_CMD_GET_SS_DMA, _IO('d', 1), 0x1234, 0,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(ioctl_raw(q, &(struct uacce_caller){ gettid(), 0, 0 }, bad[i], 0),
				 -EINVAL);
	start_as(q, me());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(ioc(q, me(), bad[i]), -EINVAL);
	ck_assert_int_eq(state(q), UQ_STARTED);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_flush_ioctl)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);

	/* soft backend: no worker before START */
	ck_assert_int_eq(ioc(q, me(), DUMMY_CMD_FLUSH), -EINVAL);
	start_as(q, me());
	ck_assert_int_eq(ioc(q, me(), DUMMY_CMD_FLUSH), 0);
	ck_assert_int_eq(ioctl_raw(q, &(struct uacce_caller){ gettid(), 0, 0 }, DUMMY_CMD_FLUSH,
				  12345),
			 0);
	uq_release(q);
	core_free(c);
}
END_TEST

/* ========================================================================= */
/* the owner rule                                                             */
/* ========================================================================= */

START_TEST(test_owner_other_process_refused)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller other = who_tid(ch.pid), w = me();
	struct uacce_queue *q = open_me(d), *src = open_me(d);
	uint64_t out = 77;
	unsigned mask = 99;
	int fd = -2;
	void *ss, *mm;

	/* a source with an SS, for SHARE_SVAS */
	start_as(src, w);
	ss = map_ss_me(src, 64 * 1024);

	ck_assert_int_eq(uq_check_owner(q, &other), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, UACCE_CMD_START, 0), -EPERM);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ioctl_raw(q, &other, UACCE_CMD_PUT_Q, 0), -EPERM);
	ck_assert_int_eq(state(q), UQ_INIT);
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(ioctl_raw(q, &other, DUMMY_CMD_FLUSH, 0), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, 0x1234, 0), -EPERM);
	ck_assert_int_eq(uq_poll(q, &other, &mask), -EPERM);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(uq_attach(q, ch.pid), -EPERM);
	ck_assert_int_eq(uq_map(q, ch.pid, UACCE_QFRT_MMIO, PAGE, &fd, &out), -EPERM);
	ck_assert_int_eq(fd, -2);
	ck_assert_uint_eq(out, 77);

	/* the owner maps MMIO and starts: then the other process again */
	start_as(q, w);
	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(uq_map(q, ch.pid, UACCE_QFRT_SS, PAGE, &fd, &out), -EPERM);
	ck_assert_int_eq(fd, -2);
	ck_assert_int_eq(uq_mapped(q, ch.pid, UACCE_QFRT_MMIO, 0x10000), -EPERM);
	ck_assert_int_eq(uq_unmap(q, ch.pid, UACCE_QFRT_MMIO), -EPERM);
	ck_assert_int_eq(uq_share_svas(q, &other, src), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, UACCE_CMD_START, 0), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &other, UACCE_CMD_PUT_Q, 0), -EPERM);
	ck_assert_int_eq(state(q), UQ_STARTED);

	/* nothing of that changed anything: the owner still can */
	ck_assert_int_eq(uq_check_owner(q, &w), 0);
	ck_assert_int_eq(uq_attach(q, getpid()), 0);
	ck_assert_int_eq(uq_mapped(q, getpid(), UACCE_QFRT_MMIO, 0x10000), 0);
	ck_assert_int_eq(uq_unmap(q, getpid(), UACCE_QFRT_MMIO), 0);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_int_eq(uq_share_svas(q, &w, src), 0);
	ck_assert_int_eq(ioctl_raw(q, &w, UACCE_CMD_PUT_Q, 0), 0);

	/* nonsense peers */
	ck_assert_int_eq(uq_attach(src, 0), -EPERM);
	ck_assert_int_eq(uq_attach(src, -1), -EPERM);

	munmap(ss, 64 * 1024);
	munmap(mm, PAGE);
	uq_release(q);
	uq_release(src);
	kill_child(&ch);
	core_free(c);
}
END_TEST

START_TEST(test_owner_thread_accepted)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q, *src;
	struct uacce_caller t;
	struct othread ot;
	unsigned mask = 5;
	void *ss;

	othread_start(&ot);
	t = who_tid(ot.tid);
	/* opened by the second thread: the owner is the process */
	q = open_as(d, t);
	ck_assert_int_eq(uq_owner_tgid(q), getpid());
	src = open_me(d);
	start_as(src, me());
	ss = map_ss_me(src, PAGE);

	ck_assert_int_eq(uq_check_owner(q, &t), 0);
	ck_assert_int_eq(uq_check_owner(q, &(struct uacce_caller){ getpid(), 0, 0 }), 0);
	ck_assert_int_eq(uq_poll(q, &t, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(ioctl_raw(q, &t, UACCE_CMD_START, 0), 0);
	ck_assert_int_eq(ioctl_raw(q, &t, DUMMY_CMD_FLUSH, 0), 0);
	ck_assert_int_eq(uq_share_svas(q, &t, src), 0);
	ck_assert_int_eq(ioctl_raw(q, &t, UACCE_CMD_PUT_Q, 0), 0);
	ck_assert_int_eq(state(q), UQ_ZOMBIE);
	/* regions: the peer is the process */
	ck_assert_int_eq(uq_attach(q, getpid()), 0);

	othread_stop(&ot);
	/* the thread is gone: its tid no longer names the owner */
	ck_assert_int_eq(uq_check_owner(q, &t), -EPERM);
	ck_assert_int_eq(uq_check_owner(q, &(struct uacce_caller){ gettid(), 0, 0 }), 0);
	munmap(ss, PAGE);
	uq_release(q);
	uq_release(src);
	core_free(c);
}
END_TEST

START_TEST(test_owner_getfd)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q = open_me(d);
	struct stat a, b;
	int p[2], fd;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	/* uq_owner_getfd has no caller: the frontend checks ownership before
	 * (uq_check_owner); it duplicates the owner's fd */
	fd = uq_owner_getfd(q, p[0]);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fd, p[0]);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(fstat(p[0], &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_uint_eq(a.st_dev, b.st_dev);
	close(fd);
	ck_assert_int_eq(uq_owner_getfd(q, -1), -EBADF);
	ck_assert_int_eq(uq_owner_getfd(q, 100000), -EBADF);
	uq_owner_died(q);
	ck_assert_int_eq(uq_owner_getfd(q, p[0]), -EPERM);
	uq_release(q);

	q = open_me(d);
	core_remove_device(d);
	ck_assert_int_eq(uq_owner_getfd(q, p[0]), -ENODEV);
	uq_release(q);
	close(p[0]);
	close(p[1]);
	core_free(c);
}
END_TEST

START_TEST(test_owner_exited_refused)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	pid_t pid = ch.pid;
	struct uacce_caller cw = who_tid(pid);
	struct uacce_queue *q = open_as(d, cw);
	unsigned mask;

	start_as(q, cw);
	ck_assert_int_eq(uq_attach(q, pid), 0);
	kill_child(&ch);
	/* exited but not yet reported through the watch: already refused */
	ck_assert_int_eq(uq_check_owner(q, &cw), -EPERM);
	ck_assert_int_eq(uq_poll(q, &cw, &mask), -EPERM);
	ck_assert_int_eq(uq_attach(q, pid), -EPERM);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EPERM);
	ck_assert_int_eq(ioctl_raw(q, &cw, UACCE_CMD_PUT_Q, 0), -EPERM);
	ck_assert_int_eq(ud_available_instances(d), 3);
	uq_owner_died(q);
	ck_assert_int_eq(ud_available_instances(d), 4);
	uq_release(q);
	core_free(c);
}
END_TEST

/* ========================================================================= */
/* regions                                                                    */
/* ========================================================================= */

START_TEST(test_map_exact_size)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	const uint64_t bad[] = { 0, 1, PAGE - 1, PAGE + 1, 2 * PAGE, 8192 + 4096, UINT64_MAX };
	pid_t me_pid = getpid();
	void *p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(try_map(q, me_pid, UACCE_QFRT_MMIO, bad[i]), -EINVAL);
		ck_assert_int_eq(try_map(q, me_pid, UACCE_QFRT_DUS, bad[i]), -EINVAL);
	}
	/* mappable in INIT */
	p = map_me(q, UACCE_QFRT_MMIO, PAGE);
	munmap(p, PAGE);
	p = map_me(q, UACCE_QFRT_DUS, PAGE);
	munmap(p, PAGE);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_map_twice_ebusy)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	void *mm, *dus, *ss;

	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EBUSY);
	dus = map_me(q, UACCE_QFRT_DUS, PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_DUS, PAGE), -EBUSY);
	start_as(q, me());
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EBUSY);
	ss = map_me(q, UACCE_QFRT_SS, 3 * PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, 3 * PAGE), -EBUSY);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, PAGE), -EBUSY);
	munmap(mm, PAGE);
	munmap(dus, PAGE);
	munmap(ss, 3 * PAGE);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_map_sva_dko_ss_refused)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d1 = mkdev(c, "dummy_v1", true, 2, 1);
	struct uacce_dev *d2 = mkdev(c, "dummy_v2", true, 2, 2);
	struct uacce_queue *q1 = open_me(d1), *q2 = open_me(d2);
	pid_t pid = getpid();
	void *p;

	start_as(q1, me());
	start_as(q2, me());
	for (int i = 0; i < 2; i++) {
		struct uacce_queue *q = i ? q2 : q1;

		ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, PAGE), -EINVAL);
		ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, 1), -EINVAL);
		ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_DKO, PAGE), -EINVAL);
		p = map_me(q, UACCE_QFRT_MMIO, PAGE);
		munmap(p, PAGE);
	}
	/* DUS exists on an SVA dummy_v2 */
	p = map_me(q2, UACCE_QFRT_DUS, PAGE);
	ck_assert_str_eq(((struct dummy_hw_queue_reg *)p)->hw_tag, DUMMY_HW_TAG);
	munmap(p, PAGE);
	uq_release(q1);
	uq_release(q2);
	core_free(c);
}
END_TEST

START_TEST(test_map_ss_only_after_start)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	const uint64_t sizes[] = { 1, 3 * PAGE + 5, 64 * MiB };
	struct uacce_queue *q[3];
	pid_t pid = getpid();

	for (int i = 0; i < 3; i++) {
		uint64_t out = 0;
		int fd = -1;
		struct stat st;

		q[i] = open_me(d);
		ck_assert_int_eq(try_map(q[i], pid, UACCE_QFRT_SS, sizes[i]), -EINVAL);
		start_as(q[i], me());
		ck_assert_int_eq(try_map(q[i], pid, UACCE_QFRT_SS, 0), -EINVAL);
		ck_assert_int_eq(uq_map(q[i], pid, UACCE_QFRT_SS, sizes[i], &fd, &out), 0);
		ck_assert_uint_eq(out, sizes[i]);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)sizes[i]);
		close(fd);
	}
	for (int i = 0; i < 3; i++)
		uq_release(q[i]);
	core_free(c);
}
END_TEST

START_TEST(test_map_ss_huge_refused)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q = open_me(d);

	start_as(q, me());
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, (1ULL << 40) + 1), -ENOMEM);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, UINT64_MAX), -ENOMEM);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, PAGE), 0);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_map_absent_region)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	const int types[] = { -1, 4, UACCE_QFRT_MAX, 1000, UACCE_QFRT_DKO, UACCE_QFRT_DUS };

	start_as(q, me());
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ck_assert_int_eq(try_map(q, pid, types[i], PAGE), -EINVAL);
		ck_assert_int_eq(uq_mapped(q, pid, types[i], 0x10000), -EINVAL);
		ck_assert_int_eq(uq_unmap(q, pid, types[i]), -EINVAL);
	}
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_map_after_put_q)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 4, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();

	start_as(q, me());
	ck_assert_int_eq(ioc(q, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EINVAL);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_DUS, PAGE), -EINVAL);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, PAGE), -EINVAL);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_map_fd_is_register_page)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d1 = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_dev *d2 = mkdev(c, "dummy_v2", false, 2, 2);
	struct uacce_queue *q1 = open_me(d1), *q2 = open_me(d2);
	struct dummy_hw_queue_reg *r1, *r2;
	char *mmio2;

	/* v1: the register page is the MMIO region */
	r1 = map_me(q1, UACCE_QFRT_MMIO, PAGE);
	ck_assert_mem_eq(r1->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
	ck_assert_uint_eq(r1->ring_bd_num, Q_BDS);
	ck_assert_uint_eq(r1->ring_bd_num, 16);
	ck_assert_uint_eq(r1->head, 0);
	ck_assert_uint_eq(r1->tail, 0);
	/* v2: the register page is DUS; MMIO is the doorbell page */
	r2 = map_me(q2, UACCE_QFRT_DUS, PAGE);
	ck_assert_mem_eq(r2->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
	ck_assert_uint_eq(r2->ring_bd_num, 16);
	mmio2 = map_me(q2, UACCE_QFRT_MMIO, PAGE);
	ck_assert_mem_ne(mmio2, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
	/* the same memory as the device's: a write here is seen by a second
	 * mapping obtained after unmap + map */
	r1->head = 0;
	memset(r1->ring, 0xa5, sizeof(r1->ring[0]));
	ck_assert_int_eq(uq_unmap(q1, getpid(), UACCE_QFRT_MMIO), 0);
	{
		struct dummy_hw_queue_reg *again = map_me(q1, UACCE_QFRT_MMIO, PAGE);

		ck_assert_ptr_ne(again, r1);
		ck_assert_mem_eq(again->ring, r1->ring, sizeof(r1->ring[0]));
		ck_assert_mem_eq(again->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ);
		munmap(again, PAGE);
	}
	munmap(r1, PAGE);
	munmap(r2, PAGE);
	munmap(mmio2, PAGE);
	uq_release(q1);
	uq_release(q2);
	core_free(c);
}
END_TEST

START_TEST(test_mapped_rules)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	void *mm;

	/* not mapped yet */
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, 0x10000), -EINVAL);
	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, 0), -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, (uint64_t)(uintptr_t)mm + 1), -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, (uint64_t)(uintptr_t)mm + 2048),
			 -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, (uint64_t)(uintptr_t)mm), 0);
	/* SS not mapped yet */
	start_as(q, me());
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_SS, 0x10000), -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_DUS, 0x10000), -EINVAL);
	munmap(mm, PAGE);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_unmap_and_map_again)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	pid_t pid = getpid();
	char *ss, *ss2;
	void *mm;

	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), -EINVAL);
	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), 0);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), -EINVAL);
	munmap(mm, PAGE);
	mm = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EBUSY);
	munmap(mm, PAGE);

	/* SS: unmap keeps the memory; mapping it again gives the same memory */
	start_as(q, me());
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_SS), -EINVAL);
	ss = map_ss_me(q, 2 * PAGE);
	fill(ss, 2 * PAGE, 3);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_SS), 0);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_SS), -EINVAL);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_SS, (uint64_t)(uintptr_t)ss), -EINVAL);
	/* another size than the existing SS: refused */
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, PAGE), -EINVAL);
	ss2 = map_me(q, UACCE_QFRT_SS, 2 * PAGE);
	ck_assert_mem_eq(ss2, ss, 2 * PAGE);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_SS, 2 * PAGE), -EBUSY);
	munmap(ss, 2 * PAGE);
	munmap(ss2, 2 * PAGE);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_unmap_forgets_device_address)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct dummy_hw_queue_reg *reg;
	char *ss;

	start_as(q, me());
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 2 * PAGE);
	fill(ss, 64, 1);
	ck_assert_uint_eq(do_copy(reg, ss, ss + PAGE, 64), 0);
	ck_assert_mem_eq(ss + PAGE, ss, 64);
	/* the device loses the SS address with the unmap */
	ck_assert_int_eq(uq_unmap(q, getpid(), UACCE_QFRT_SS), 0);
	fill(ss, 64, 2);
	ck_assert_uint_ne(do_copy(reg, ss, ss + PAGE, 64), 0);
	ck_assert_mem_ne(ss + PAGE, ss, 64);
	munmap(ss, 2 * PAGE);
	munmap(reg, PAGE);
	uq_release(q);
	core_free(c);
}
END_TEST

/* ========================================================================= */
/* RLIMIT_DATA accounting                                                     */
/* ========================================================================= */

/* lower the soft RLIMIT_DATA of the (idle) child owner */
static void set_child_rlimit_data(pid_t pid, uint64_t soft)
{
	struct rlimit old, nw;

	ck_assert_int_eq(prlimit(pid, RLIMIT_DATA, NULL, &old), 0);
	nw.rlim_cur = soft;
	nw.rlim_max = old.rlim_max;
	ck_assert_int_eq(prlimit(pid, RLIMIT_DATA, &nw, NULL), 0);
}

START_TEST(test_rlimit_data_enomem)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller cw = who_tid(ch.pid);
	struct uacce_queue *q1, *q2;

	set_child_rlimit_data(ch.pid, 64 * MiB);
	q1 = open_as(d, cw);
	q2 = open_as(d, cw);
	start_as(q1, cw);
	start_as(q2, cw);
	ck_assert_int_eq(try_map(q1, ch.pid, UACCE_QFRT_SS, 128 * MiB), -ENOMEM);
	ck_assert_int_eq(try_map(q1, ch.pid, UACCE_QFRT_SS, 64 * MiB + 1), -ENOMEM);
	ck_assert_int_eq(try_map(q1, ch.pid, UACCE_QFRT_SS, 1 * MiB), 0);
	/* the owner's total counts, over its queues: 1 + 64 > 64 */
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_SS, 64 * MiB), -ENOMEM);
	/* a refusal charged nothing: exactly up to the limit is fine */
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_SS, 63 * MiB), 0);
	/* MMIO is charged too */
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	/* releasing q1 uncharges its megabyte */
	uq_release(q1);
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_MMIO, PAGE), 0);
	/* and unmapping MMIO uncharges it */
	ck_assert_int_eq(uq_unmap(q2, ch.pid, UACCE_QFRT_MMIO), 0);
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_MMIO, PAGE), 0);
	uq_release(q2);
	kill_child(&ch);
	core_free(c);
}
END_TEST

START_TEST(test_rlimit_data_dead_queue_uncharged)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct child ch = spawn_child();
	struct uacce_caller cw = who_tid(ch.pid);
	struct uacce_queue *q1, *q2;

	set_child_rlimit_data(ch.pid, 8 * MiB);
	q1 = open_as(d, cw);
	start_as(q1, cw);
	ck_assert_int_eq(try_map(q1, ch.pid, UACCE_QFRT_SS, 8 * MiB), 0);
	q2 = open_as(d, cw);
	start_as(q2, cw);
	ck_assert_int_eq(try_map(q2, ch.pid, UACCE_QFRT_SS, PAGE), -ENOMEM);
	/* a device removal frees q1's memory */
	{
		struct uacce_dev *d2 = mkdev(c, "dummy_v1", false, 4, 2);
		struct uacce_queue *q3 = open_as(d2, cw);

		start_as(q3, cw);
		ck_assert_int_eq(try_map(q3, ch.pid, UACCE_QFRT_SS, PAGE), -ENOMEM);
		core_remove_device(d);
		ck_assert_int_eq(try_map(q3, ch.pid, UACCE_QFRT_SS, 8 * MiB), 0);
		uq_release(q3);
	}
	uq_release(q1);
	uq_release(q2);
	kill_child(&ch);
	core_free(c);
}
END_TEST

/* ========================================================================= */
/* SHARE_SVAS                                                                 */
/* ========================================================================= */

START_TEST(test_share_svas_ok)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *src = open_me(d), *tgt = open_me(d);
	struct dummy_hw_queue_reg *rs, *rt;
	pid_t pid = getpid();
	char *ss;

	start_as(src, me());
	start_as(tgt, me());
	rs = map_me(src, UACCE_QFRT_MMIO, PAGE);
	rt = map_me(tgt, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(src, 16 * PAGE);
	ck_assert_int_eq(uq_share_svas(tgt, &(struct uacce_caller){ gettid(), 0, 0 }, src), 0);
	/* the target has an SS now */
	ck_assert_int_eq(try_map(tgt, pid, UACCE_QFRT_SS, 16 * PAGE), -EBUSY);
	ck_assert_int_eq(try_map(tgt, pid, UACCE_QFRT_SS, PAGE), -EBUSY);
	/* sharing again: the target has an SS */
	ck_assert_int_eq(uq_share_svas(tgt, &(struct uacce_caller){ gettid(), 0, 0 }, src),
			 -EINVAL);
	/* same memory at the same device address on both queues */
	fill(ss, PAGE, 9);
	ck_assert_uint_eq(do_copy(rt, ss, ss + 4 * PAGE, PAGE), 0);
	ck_assert_mem_eq(ss + 4 * PAGE, ss, PAGE);
	fill(ss + PAGE, PAGE, 10);
	ck_assert_uint_eq(do_copy(rs, ss + PAGE, ss + 8 * PAGE, PAGE), 0);
	ck_assert_mem_eq(ss + 8 * PAGE, ss + PAGE, PAGE);
	munmap(ss, 16 * PAGE);
	munmap(rs, PAGE);
	munmap(rt, PAGE);
	uq_release(tgt);
	uq_release(src);
	core_free(c);
}
END_TEST

START_TEST(test_share_svas_refusals)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d1 = mkdev(c, "dummy_v1", false, 8, 1);
	struct uacce_dev *d1b = mkdev(c, "dummy_v1", false, 8, 2);
	struct uacce_dev *d2 = mkdev(c, "dummy_v2", false, 8, 3);
	struct uacce_dev *dsva = mkdev(c, "dummy_v1", true, 8, 4);
	struct uacce_caller w = me();
	struct child ch = spawn_child();
	struct uacce_caller cw = who_tid(ch.pid);
	struct uacce_queue *src, *nss, *tgt, *own, *v2src, *svat, *other, *zomb, *dead;

	src = open_me(d1);
	start_as(src, w);
	ck_assert_int_eq(try_map(src, getpid(), UACCE_QFRT_SS, PAGE), 0);
	tgt = open_me(d1);

	/* target not started */
	ck_assert_int_eq(uq_share_svas(tgt, &w, src), -EINVAL);
	start_as(tgt, w);
	/* source == target */
	ck_assert_int_eq(uq_share_svas(src, &w, src), -EINVAL);
	/* source without SS */
	nss = open_me(d1);
	start_as(nss, w);
	ck_assert_int_eq(uq_share_svas(tgt, &w, nss), -EINVAL);
	/* target with its own SS */
	own = open_me(d1);
	start_as(own, w);
	ck_assert_int_eq(try_map(own, getpid(), UACCE_QFRT_SS, PAGE), 0);
	ck_assert_int_eq(uq_share_svas(own, &w, src), -EINVAL);
	/* different api */
	v2src = open_me(d2);
	start_as(v2src, w);
	ck_assert_int_eq(try_map(v2src, getpid(), UACCE_QFRT_SS, PAGE), 0);
	ck_assert_int_eq(uq_share_svas(tgt, &w, v2src), -EINVAL);
	/* SVA target (with a valid non-SVA source of the same api) */
	svat = open_me(dsva);
	start_as(svat, w);
	ck_assert_int_eq(uq_share_svas(svat, &w, src), -EINVAL);
	/* a source of another process (on another device of the same api) */
	other = open_as(d1b, cw);
	start_as(other, cw);
	ck_assert_int_eq(try_map(other, ch.pid, UACCE_QFRT_SS, PAGE), 0);
	ck_assert_int_eq(uq_share_svas(tgt, &w, other), -EINVAL);
	/* and the other process cannot share ours either */
	ck_assert_int_eq(uq_share_svas(tgt, &cw, src), -EPERM);
	/* a ZOMBIE target */
	zomb = open_me(d1);
	start_as(zomb, w);
	ck_assert_int_eq(ioc(zomb, w, UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(uq_share_svas(zomb, &w, src), -EINVAL);
	/* a dead source */
	dead = open_me(d1);
	start_as(dead, w);
	ck_assert_int_eq(try_map(dead, getpid(), UACCE_QFRT_SS, PAGE), 0);
	uq_owner_died(dead);
	ck_assert_int_eq(uq_share_svas(tgt, &w, dead), -EINVAL);
	/* after all of that the target still has no SS: it can share or map */
	ck_assert_int_eq(uq_share_svas(tgt, &w, src), 0);

	uq_release(dead);
	uq_release(zomb);
	uq_release(other);
	uq_release(svat);
	uq_release(v2src);
	uq_release(own);
	uq_release(nss);
	uq_release(tgt);
	uq_release(src);
	kill_child(&ch);
	core_free(c);
}
END_TEST

/* share, write through the source, release `first`, check the survivor */
static void share_release_order(bool src_first)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_queue *src = open_me(d), *tgt = open_me(d), *surv;
	struct dummy_hw_queue_reg *rs, *rt, *rsurv;
	pid_t pid = getpid();
	char *ss, *again;

	start_as(src, me());
	start_as(tgt, me());
	rs = map_me(src, UACCE_QFRT_MMIO, PAGE);
	rt = map_me(tgt, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(src, 8 * PAGE);
	ck_assert_int_eq(uq_share_svas(tgt, &(struct uacce_caller){ gettid(), 0, 0 }, src), 0);
	fill(ss, PAGE, 42);
	if (src_first) {
		uq_release(src);
		munmap(rs, PAGE);
		surv = tgt;
		rsurv = rt;
	} else {
		uq_release(tgt);
		munmap(rt, PAGE);
		surv = src;
		rsurv = rs;
	}
	ck_assert_int_eq(ud_available_instances(d), 3);
	/* the device still reaches the SS through the survivor */
	ck_assert_uint_eq(do_copy(rsurv, ss, ss + 2 * PAGE, PAGE), 0);
	ck_assert_mem_eq(ss + 2 * PAGE, ss, PAGE);
	/* and the memory is still there: map it again through the survivor */
	ck_assert_int_eq(uq_unmap(surv, pid, UACCE_QFRT_SS), 0);
	again = map_me(surv, UACCE_QFRT_SS, 8 * PAGE);
	ck_assert_mem_eq(again, ss, 8 * PAGE);
	munmap(again, 8 * PAGE);
	munmap(ss, 8 * PAGE);
	munmap(rsurv, PAGE);
	uq_release(surv);
	ck_assert_int_eq(ud_available_instances(d), 4);
	core_free(c);
}

START_TEST(test_share_svas_release_source_first)
{
	share_release_order(true);
}
END_TEST

START_TEST(test_share_svas_release_target_first)
{
	share_release_order(false);
}
END_TEST

/* ========================================================================= */
/* the device: requests, poll, notify                                          */
/* ========================================================================= */

START_TEST(test_poll_completion_nonsva)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct dummy_hw_queue_reg *reg;
	int notified = 0;
	unsigned mask = 7;
	char *ss;

	uq_set_notify(q, notify_cb, &notified);
	/* INIT: nothing to report */
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	start_as(q, w);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 1 * MiB);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	usleep(30000);	/* let the worker go to sleep */
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(__atomic_load_n(&notified, __ATOMIC_SEQ_CST), 0);

	fill(ss, 3000, 77);
	submit(reg, ss, ss + 512 * 1024, 3000, (void *)0x1234);
	mask = wait_poll(q, w, 1000);
	ck_assert_uint_eq(mask, POLLIN | POLLRDNORM);
	ck_assert(wait_counter(&notified, 1, 1000));
	ck_assert_uint_eq(__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE), 1);
	ck_assert_uint_eq(reg->ring[0].ret, 0);
	ck_assert_ptr_eq(reg->ring[0].ptr, (void *)0x1234);
	ck_assert_mem_eq(ss + 512 * 1024, ss, 3000);
	/* poll consumed the news */
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);

	/* a request outside the SS fails, the daemon does not */
	{
		char *heap = malloc(256);
		uint32_t ret;

		fill(heap, 256, 5);
		memset(ss, 0, 256);
		ret = do_copy(reg, heap, ss, 256);	/* source outside */
		ck_assert_uint_ne(ret, 0);
		ck_assert_uint_ne(ret, 0xdeadbeefU);
		ck_assert_mem_ne(ss, heap, 256);
		ck_assert_uint_ne(do_copy(reg, ss, heap, 256), 0);	/* target outside */
		/* straddling the end of the SS */
		ck_assert_uint_ne(do_copy(reg, ss + 1 * MiB - 100, ss, 200), 0);
		ck_assert_uint_ne(do_copy(reg, ss, ss + 1 * MiB - 100, 200), 0);
		/* just below the start */
		ck_assert_uint_ne(do_copy(reg, ss - 1, ss + PAGE, 16), 0);
		/* exactly the last bytes: fine */
		ck_assert_uint_eq(do_copy(reg, ss, ss + 1 * MiB - 100, 100), 0);
		ck_assert_mem_eq(ss + 1 * MiB - 100, ss, 100);
		free(heap);
	}
	ck_assert_uint_eq(wait_poll(q, w, 1000), POLLIN | POLLRDNORM);
	munmap(reg, PAGE);
	munmap(ss, 1 * MiB);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_request_after_long_idle)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct dummy_hw_queue_reg *reg;
	uint64_t t0;
	char *ss;

	start_as(q, w);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 4 * PAGE);
	for (int round = 0; round < 2; round++) {
		/* idle long enough for the worker to park */
		usleep(250000);
		fill(ss, 100, (unsigned)round);
		t0 = now_ms();
		/* no system call, no doorbell: the device must notice by itself */
		submit(reg, ss, ss + PAGE, 100, NULL);
		ck_assert_uint_eq(wait_poll(q, w, 1000), POLLIN | POLLRDNORM);
		ck_assert_uint_lt(now_ms() - t0, 1000);
		ck_assert_uint_eq(reg->tail, (uint32_t)round + 1);
		ck_assert_uint_eq(reg->ring[round].ret, 0);
		ck_assert_mem_eq(ss + PAGE, ss, 100);
	}
	munmap(reg, PAGE);
	munmap(ss, 4 * PAGE);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_ring_wraps)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct dummy_hw_queue_reg *reg;
	char *ss;

	start_as(q, me());
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 64 * PAGE);
	for (int i = 0; i < 3 * Q_BDS + 3; i++) {
		fill(ss, 128, (unsigned)i);
		ck_assert_uint_eq(do_copy(reg, ss, ss + PAGE + (size_t)i * 128, 128), 0);
		ck_assert_mem_eq(ss + PAGE + (size_t)i * 128, ss, 128);
	}
	ck_assert_uint_eq(reg->tail, (3 * Q_BDS + 3) % Q_BDS);
	munmap(reg, PAGE);
	munmap(ss, 64 * PAGE);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_flush_processes_ring_v2)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct dummy_hw_queue_reg *reg;
	int notified = 0;
	uint32_t *bell;
	char *ss;

	start_as(q, w);
	uq_set_notify(q, notify_cb, &notified);
	reg = map_me(q, UACCE_QFRT_DUS, PAGE);
	bell = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, 4 * PAGE);
	for (int i = 0; i < 5; i++) {
		fill(ss + (size_t)i * 64, 64, (unsigned)i + 100);
		submit(reg, ss + (size_t)i * 64, ss + 2 * PAGE + (size_t)i * 64, 64, NULL);
	}
	/* FLUSH processes everything up to head before it returns */
	ck_assert_int_eq(ioc(q, w, DUMMY_CMD_FLUSH), 0);
	ck_assert_uint_eq(__atomic_load_n(&reg->tail, __ATOMIC_ACQUIRE), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(reg->ring[i].ret, 0);
	ck_assert_mem_eq(ss + 2 * PAGE, ss, 5 * 64);
	ck_assert_uint_eq(wait_poll(q, w, 1000), POLLIN | POLLRDNORM);
	ck_assert(wait_counter(&notified, 1, 1000));
	/* the doorbell path: write head, ring */
	fill(ss, 64, 1);
	submit(reg, ss, ss + 3 * PAGE, 64, NULL);
	__atomic_store_n(bell, 1, __ATOMIC_RELEASE);
	ck_assert(wait_tail(reg, 6, 1000));
	ck_assert_uint_eq(reg->ring[5].ret, 0);
	ck_assert_mem_eq(ss + 3 * PAGE, ss, 64);
	munmap(reg, PAGE);
	munmap(bell, PAGE);
	munmap(ss, 4 * PAGE);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_sva_requests)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", true, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct dummy_hw_queue_reg *reg;
	size_t big = 200 * 1024;	/* more than one bounce buffer */
	char *a = malloc(big), *b = malloc(big);
	char *unmapped, *hole;
	int notified = 0, memfd;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	/*
	 * An address that faults and stays so: the second page of a mapping
	 * of a one-page file (an unmapped hole could be reused by the next
	 * mmap, e.g. the worker's stack).
	 */
	memfd = memfd_create("beyond-eof", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, PAGE), 0);
	hole = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(hole, MAP_FAILED);
	unmapped = hole + PAGE;

	uq_set_notify(q, notify_cb, &notified);
	start_as(q, w);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	fill(a, big, 11);
	memset(b, 0, big);
	ck_assert_uint_eq(do_copy(reg, a, b, big), 0);
	ck_assert_mem_eq(b, a, big);
	ck_assert_uint_eq(wait_poll(q, w, 1000), POLLIN | POLLRDNORM);
	ck_assert(wait_counter(&notified, 1, 1000));
	/* unmapped addresses fail the request, not the daemon */
	ck_assert_uint_ne(do_copy(reg, (void *)0x10, b, 16), 0);
	ck_assert_uint_ne(do_copy(reg, a, (void *)0x10, 16), 0);
	ck_assert_uint_ne(do_copy(reg, unmapped, b, 64), 0);
	ck_assert_uint_ne(do_copy(reg, a, unmapped, 64), 0);
	/* and a valid one works afterwards */
	fill(a, 4096, 12);
	ck_assert_uint_eq(do_copy(reg, a, b, 4096), 0);
	ck_assert_mem_eq(b, a, 4096);
	/* an empty copy is fine */
	ck_assert_uint_eq(do_copy(reg, a, b, 0), 0);
	munmap(reg, PAGE);
	uq_release(q);
	munmap(hole, 2 * PAGE);
	close(memfd);
	free(a);
	free(b);
	core_free(c);
}
END_TEST

START_TEST(test_poll_after_put_q)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	unsigned mask = 3;

	start_as(q, w);
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(uq_poll(q, &w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	uq_release(q);
	core_free(c);
}
END_TEST

/* ========================================================================= */
/* owner death, device removal                                                */
/* ========================================================================= */

START_TEST(test_owner_died)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 2, 1);
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	pid_t pid = getpid();
	struct dummy_hw_queue_reg *reg;
	unsigned mask = 9;
	int pidfd = H.watch_fd, calls;
	char *ss;

	start_as(q, w);
	reg = map_me(q, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q, PAGE);
	ck_assert_int_eq(ud_available_instances(d), 1);
	calls = H.inst_calls;
	uq_owner_died(q);
	ck_assert_int_eq(ud_available_instances(d), 2);
	ck_assert_int_eq(H.inst_calls, calls + 1);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_int_eq(H.unwatch_fd, pidfd);
	ck_assert_int_eq(state(q), UQ_DEAD);
	/* later requests: EPERM */
	ck_assert_int_eq(uq_check_owner(q, &w), -EPERM);
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_START), -EPERM);
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_PUT_Q), -EPERM);
	ck_assert_int_eq(ioc(q, w, DUMMY_CMD_FLUSH), -EPERM);
	ck_assert_int_eq(uq_poll(q, &w, &mask), -EPERM);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(uq_attach(q, pid), -EPERM);
	ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -EPERM);
	ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, 0x10000), -EPERM);
	ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_SS), -EPERM);
	ck_assert_int_eq(uq_share_svas(q, &w, q), -EPERM);
	/* a second report and the release are harmless */
	uq_owner_died(q);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_int_eq(H.inst_calls, calls + 1);
	uq_release(q);
	ck_assert_int_eq(H.unwatch_calls, 1);
	ck_assert_int_eq(ud_available_instances(d), 2);
	/* the device is usable again */
	q = open_me(d);
	ck_assert_int_eq(ud_available_instances(d), 1);
	uq_release(q);
	munmap(reg, PAGE);
	munmap(ss, PAGE);
	core_free(c);
}
END_TEST

START_TEST(test_owner_died_in_init_and_zombie)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", false, 3, 1);
	struct uacce_queue *qi = open_me(d), *qz = open_me(d);

	ck_assert_int_eq(ioc(qz, me(), UACCE_CMD_PUT_Q), 0);
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_owner_died(qz);	/* nothing more to give back */
	ck_assert_int_eq(ud_available_instances(d), 2);
	uq_owner_died(qi);
	ck_assert_int_eq(ud_available_instances(d), 3);
	uq_release(qz);
	uq_release(qi);
	ck_assert_int_eq(ud_available_instances(d), 3);
	core_free(c);
}
END_TEST

START_TEST(test_remove_device)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 4, 1);
	struct uacce_dev *keep = mkdev(c, "dummy_v1", false, 4, 2);
	struct uacce_queue *q1 = open_me(d), *q2 = open_me(d), *qk = open_me(keep);
	struct uacce_caller w = me();
	pid_t pid = getpid();
	struct dummy_hw_queue_reg *reg;
	unsigned mask = 1;
	char *ss;

	start_as(q1, w);
	start_as(qk, w);
	reg = map_me(q1, UACCE_QFRT_MMIO, PAGE);
	ss = map_ss_me(q1, 4 * PAGE);
	ck_assert_uint_eq(do_copy(reg, ss, ss + PAGE, 16), 0);
	core_remove_device(d);
	ck_assert_int_eq(H.unwatch_calls, 2);
	for (int i = 0; i < 2; i++) {
		struct uacce_queue *q = i ? q2 : q1;

		ck_assert_int_eq(state(q), UQ_DEAD);
		ck_assert_int_eq(uq_check_owner(q, &w), -ENODEV);
		ck_assert_int_eq(ioc(q, w, UACCE_CMD_START), -ENODEV);
		ck_assert_int_eq(ioc(q, w, UACCE_CMD_PUT_Q), -ENODEV);
		ck_assert_int_eq(ioc(q, w, DUMMY_CMD_FLUSH), -ENODEV);
		ck_assert_int_eq(uq_poll(q, &w, &mask), -ENODEV);
		ck_assert_int_eq(uq_attach(q, pid), -ENODEV);
		ck_assert_int_eq(try_map(q, pid, UACCE_QFRT_MMIO, PAGE), -ENODEV);
		ck_assert_int_eq(uq_mapped(q, pid, UACCE_QFRT_MMIO, 0x10000), -ENODEV);
		ck_assert_int_eq(uq_unmap(q, pid, UACCE_QFRT_MMIO), -ENODEV);
		ck_assert_int_eq(uq_share_svas(q, &w, qk), -ENODEV);
	}
	/* the other device is untouched */
	ck_assert_int_eq(state(qk), UQ_STARTED);
	ck_assert_int_eq(uq_check_owner(qk, &w), 0);
	ck_assert_int_eq(ud_available_instances(keep), 3);
	/* the owner dying after the removal changes nothing */
	uq_owner_died(q1);
	ck_assert_int_eq(uq_check_owner(q1, &w), -ENODEV);
	uq_release(q1);
	uq_release(q2);
	uq_release(qk);
	munmap(reg, PAGE);
	munmap(ss, 4 * PAGE);
	core_free(c);
}
END_TEST

START_TEST(test_core_free_removes_devices)
{
	struct uacce_core *c = mkcore();

	mkdev(c, "dummy_v1", false, 4, 1);
	mkdev(c, "dummy_v2", true, 4, 2);
	core_free(c);	/* ASan: nothing leaks */
	core_free(NULL);
}
END_TEST

/* ========================================================================= */
/* regressions (bugs these tests found, now fixed)                             */
/* ========================================================================= */

/*
 * A shared SS stays in memory as long as one queue holds it, but its charge
 * goes away with the queue that created it: with the source released, the
 * owner holds the SS through the target and nothing counts it, so it can
 * exceed RLIMIT_DATA by creating, sharing and releasing sources.
 */
START_TEST(test_regr_shared_ss_uncharged_after_source_release)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 8, 1);
	struct child ch = spawn_child();
	struct uacce_caller cw = who_tid(ch.pid);
	struct uacce_queue *src, *tgt, *q3;

	set_child_rlimit_data(ch.pid, 64 * MiB);
	src = open_as(d, cw);
	tgt = open_as(d, cw);
	q3 = open_as(d, cw);
	start_as(src, cw);
	start_as(tgt, cw);
	start_as(q3, cw);
	ck_assert_int_eq(try_map(src, ch.pid, UACCE_QFRT_SS, 40 * MiB), 0);
	ck_assert_int_eq(uq_share_svas(tgt, &cw, src), 0);
	uq_release(src);
	/* 40 MiB are still held (by tgt): another 40 MiB exceed 64 MiB */
	ck_assert_int_eq(try_map(q3, ch.pid, UACCE_QFRT_SS, 40 * MiB), -ENOMEM);
	uq_release(q3);
	uq_release(tgt);
	kill_child(&ch);
	core_free(c);
}
END_TEST

/* ========================================================================= */
/* the admin policy: device access, queue quotas, region bytes per user      */
/* ========================================================================= */

static struct uacce_caller who_u(pid_t tid, uid_t uid, const gid_t *groups, int n)
{
	struct uacce_caller w = {
		.tid = tid, .uid = uid, .gid = uid, .groups = groups, .ngroups = n,
	};

	return w;
}

static struct uacce_policy *mkpolicy(void)
{
	struct uacce_policy *p = NULL;

	ck_assert_int_eq(policy_new(&p), 0);
	return p;
}

/* install p in c (the core takes its own reference) */
static void install(struct uacce_core *c, struct uacce_policy *p)
{
	core_set_policy(c, p);
	policy_unref(p);
}

static int try_open(struct uacce_dev *d, struct uacce_caller w)
{
	struct uacce_queue *q = NULL;
	int r = uq_open(d, &w, &q);

	if (r == 0)
		uq_release(q);
	else
		ck_assert_ptr_null(q);
	return r;
}

START_TEST(test_policy_device_access)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 4, 0);
	struct uacce_dev *d1 = mkdev(c, "dummy_v2", true, 4, 1);
	struct uacce_policy *p = mkpolicy();
	struct policy_entry *g = NULL;
	gid_t grp[] = { 50 };

	ck_assert_int_eq(policy_entry_add_device(&p->def, "uacce-dummy-1"), 0);
	ck_assert_int_eq(policy_add_group(p, 50, "group g", &g), 0);
	ck_assert_int_eq(policy_entry_add_device(g, "dummy"), 0);	/* by config name */
	install(c, p);
	H.watch_calls = 0;
	ck_assert_int_eq(try_open(d0, who_u(gettid(), 1000, NULL, 0)), -EACCES);
	ck_assert_int_eq(H.watch_calls, 0);	/* nothing was taken */
	ck_assert_int_eq(ud_available_instances(d0), 4);
	ck_assert_int_eq(try_open(d1, who_u(gettid(), 1000, NULL, 0)), 0);
	/* the group's list allows both */
	ck_assert_int_eq(try_open(d0, who_u(gettid(), 1000, grp, 1)), 0);
	/* root: the default does not apply */
	ck_assert_int_eq(try_open(d0, who_u(gettid(), 0, NULL, 0)), 0);
	core_free(c);
}
END_TEST

START_TEST(test_policy_max_queues)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 8, 0);
	struct uacce_dev *d1 = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_policy *p = mkpolicy();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_queue *a, *b, *e, *f;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 3);
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES_PER_DEVICE, 2);
	install(c, p);
	a = open_as(d1, w);
	b = open_as(d1, w);
	ck_assert_int_eq(try_open(d1, w), -EDQUOT);	/* per device */
	ck_assert_int_eq(ud_available_instances(d1), 6);
	e = open_as(d0, w);
	ck_assert_int_eq(try_open(d0, w), -EDQUOT);	/* in all */
	/* another user is counted apart */
	ck_assert_int_eq(try_open(d1, who_u(gettid(), 1001, NULL, 0)), 0);
	/* a queue after PUT_Q holds no hardware: it no longer counts */
	ck_assert_int_eq(ioc(a, w, UACCE_CMD_PUT_Q), 0);
	f = open_as(d0, w);
	ck_assert_int_eq(try_open(d1, w), -EDQUOT);
	/* nor does a queue whose owner exited */
	uq_owner_died(b);
	ck_assert_int_eq(try_open(d1, w), 0);
	uq_release(a);
	uq_release(b);
	uq_release(e);
	uq_release(f);
	core_free(c);
}
END_TEST

START_TEST(test_policy_groups_of_caller)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_policy *p = mkpolicy();
	struct policy_entry *e = NULL;
	gid_t one[] = { 77 }, two[] = { 77, 78 };
	struct uacce_queue *q;

	ck_assert_int_eq(policy_add_group(p, 77, "group a", &e), 0);
	policy_entry_set_limit(e, PL_MAX_QUEUES, 1);
	ck_assert_int_eq(policy_add_group(p, 78, "group b", &e), 0);
	policy_entry_set_limit(e, PL_MAX_QUEUES, 2);
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 0);
	install(c, p);
	ck_assert_int_eq(try_open(d, who_u(gettid(), 1000, NULL, 0)), -EDQUOT); /* default 0 */
	q = open_as(d, who_u(gettid(), 1000, one, 1));
	ck_assert_int_eq(try_open(d, who_u(gettid(), 1000, one, 1)), -EDQUOT);
	/* the most generous of two groups: 2 */
	ck_assert_int_eq(try_open(d, who_u(gettid(), 1000, two, 2)), 0);
	uq_release(q);
	core_free(c);
}
END_TEST

START_TEST(test_policy_swap_keeps_queues)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_policy *p = mkpolicy();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_queue *a, *b;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 5);
	install(c, p);
	a = open_as(d, w);
	b = open_as(d, w);
	p = mkpolicy();
	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 1);
	install(c, p);
	/* the open queues stay and work; new opens obey the new limit */
	ck_assert_int_eq(ioc(a, w, UACCE_CMD_START), 0);
	ck_assert_int_eq(ioc(b, w, UACCE_CMD_START), 0);
	ck_assert_int_eq(try_open(d, w), -EDQUOT);
	install(c, NULL);	/* no policy: no limit */
	ck_assert_int_eq(try_open(d, w), 0);
	uq_release(a);
	uq_release(b);
	core_free(c);
}
END_TEST

START_TEST(test_policy_region_bytes)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 8, 0);
	struct uacce_dev *d1 = mkdev(c, "dummy_v2", true, 8, 1);
	struct uacce_policy *p = mkpolicy();
	struct child ch = spawn_child(), ch2 = spawn_child();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_caller cw = who_u(ch.pid, 1000, NULL, 0);
	struct uacce_caller ow = who_u(ch2.pid, 1001, NULL, 0);
	struct uacce_queue *q, *qc, *qo;

	policy_entry_set_limit(&p->def, PL_MAX_REGION_BYTES, 64 * 1024);
	install(c, p);
	q = open_as(d0, w);
	start_as(q, w);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_MMIO, PAGE), 0);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, 64 * 1024), -ENOMEM);
	ck_assert_int_eq(try_map(q, getpid(), UACCE_QFRT_SS, 60 * 1024), 0);
	/* another process of the same user: the user's bytes are shared */
	qc = open_as(d1, cw);
	ck_assert_int_eq(try_map(qc, ch.pid, UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	/* another user is not */
	qo = open_as(d1, ow);
	ck_assert_int_eq(try_map(qo, ch2.pid, UACCE_QFRT_MMIO, PAGE), 0);
	/* unmapping MMIO gives its bytes back; the SS stays charged until release */
	ck_assert_int_eq(uq_unmap(q, getpid(), UACCE_QFRT_MMIO), 0);
	ck_assert_int_eq(try_map(qc, ch.pid, UACCE_QFRT_MMIO, PAGE), 0);
	ck_assert_int_eq(try_map(qc, ch.pid, UACCE_QFRT_DUS, PAGE), -ENOMEM);
	/* the owner's death frees its share */
	uq_owner_died(q);
	ck_assert_int_eq(try_map(qc, ch.pid, UACCE_QFRT_DUS, PAGE), 0);
	uq_release(q);
	uq_release(qc);
	uq_release(qo);
	kill_child(&ch);
	kill_child(&ch2);
	core_free(c);
}
END_TEST

START_TEST(test_policy_shared_ss_counted_once)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 8, 0);
	struct uacce_policy *p = mkpolicy();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_queue *q1, *q2, *q3;
	struct core_user_stat *u = NULL;
	int n = 0;

	policy_entry_set_limit(&p->def, PL_MAX_REGION_BYTES, 128 * 1024);
	install(c, p);
	q1 = open_as(d, w);
	start_as(q1, w);
	ck_assert_int_eq(try_map(q1, getpid(), UACCE_QFRT_SS, 64 * 1024), 0);
	q2 = open_as(d, w);
	start_as(q2, w);
	ck_assert_int_eq(uq_share_svas(q2, &w, q1), 0);
	q3 = open_as(d, w);
	start_as(q3, w);
	/* 64K shared by two queues + 64K: exactly the limit */
	ck_assert_int_eq(try_map(q3, getpid(), UACCE_QFRT_SS, 64 * 1024), 0);
	ck_assert_int_eq(try_map(q3, getpid(), UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	ck_assert_int_eq(core_usage(c, &u, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(u[0].bytes, 128 * 1024);
	free(u);
	/* the source goes: the target keeps the SS, still counted once */
	uq_release(q1);
	ck_assert_int_eq(try_map(q3, getpid(), UACCE_QFRT_MMIO, PAGE), -ENOMEM);
	uq_release(q2);
	ck_assert_int_eq(try_map(q3, getpid(), UACCE_QFRT_MMIO, PAGE), 0);
	uq_release(q3);
	core_free(c);
}
END_TEST

START_TEST(test_policy_snapshots)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d2 = mkdev(c, "dummy_v2", true, 8, 2);
	struct uacce_dev *d0 = mkdev(c, "dummy_v1", false, 4, 0);
	struct uacce_policy *p = mkpolicy();
	struct uacce_caller w = who_u(gettid(), 1000, NULL, 0);
	struct uacce_queue *a, *b, *z;
	struct core_dev_stat *ds = NULL;
	struct core_queue_stat *qs = NULL;
	struct core_user_stat *us = NULL;
	int n = 0;

	policy_entry_set_limit(&p->def, PL_MAX_QUEUES, 10);
	policy_entry_add_device(&p->def, "dummy");
	install(c, p);
	a = open_as(d2, w);
	b = open_as(d2, w);
	z = open_as(d0, who_u(gettid(), 0, NULL, 0));
	start_as(a, w);
	ck_assert_int_eq(try_map(a, getpid(), UACCE_QFRT_MMIO, PAGE), 0);
	ck_assert_int_eq(ioc(b, w, UACCE_CMD_PUT_Q), 0);

	ck_assert_int_eq(core_devices(c, &ds, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(ds[0].id, 0);		/* in id order */
	ck_assert_str_eq(ds[0].name, "uacce-dummy-0");
	ck_assert_str_eq(ds[0].cfg_name, "dummy");
	ck_assert_int_eq(ds[0].available, 3);
	ck_assert_int_eq(ds[1].id, 2);
	ck_assert_int_eq(ds[1].available, 7);	/* b gave its queue back */
	ck_assert_int_eq(ds[1].open_queues, 2);
	free(ds);

	ck_assert_int_eq(core_queues(c, &qs, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(qs[0].id, uq_id(a));
	ck_assert_str_eq(qs[0].dev, "uacce-dummy-2");
	ck_assert_int_eq(qs[0].pid, getpid());
	ck_assert_uint_eq(qs[0].uid, 1000);
	ck_assert_int_eq(qs[0].state, UQ_STARTED);
	ck_assert(qs[0].mapped[UACCE_QFRT_MMIO]);
	ck_assert_uint_eq(qs[0].bytes, PAGE);
	ck_assert_int_eq(qs[1].state, UQ_ZOMBIE);
	ck_assert_uint_eq(qs[2].uid, 0);
	free(qs);

	ck_assert_int_eq(core_usage(c, &us, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(us[0].uid, 0);	/* in uid order */
	ck_assert_uint_eq(us[0].lim[PL_MAX_QUEUES], POLICY_UNLIMITED);
	ck_assert_int_eq(us[0].npatterns, -1);
	ck_assert_uint_eq(us[1].uid, 1000);
	ck_assert_int_eq(us[1].queues, 1);	/* the zombie holds no hardware */
	ck_assert_int_eq(us[1].dev_queues, 1);
	ck_assert_str_eq(us[1].dev, "uacce-dummy-2");
	ck_assert_uint_eq(us[1].bytes, PAGE);
	ck_assert_uint_eq(us[1].lim[PL_MAX_QUEUES], 10);
	ck_assert_str_eq(us[1].src[PL_MAX_QUEUES], "default");
	ck_assert_uint_eq(us[1].lim[PL_MAX_REGION_BYTES], POLICY_UNLIMITED);
	ck_assert_str_eq(us[1].src[PL_MAX_REGION_BYTES], "none");
	ck_assert_int_eq(us[1].npatterns, 1);
	ck_assert_str_eq(us[1].patterns[0], "dummy");
	ck_assert_str_eq(us[1].devices_src, "default");
	free(us);
	uq_release(a);
	uq_release(b);
	uq_release(z);
	core_free(c);
}
END_TEST

/* a removed device lives as long as someone holds it, no longer (ASan) */
START_TEST(test_device_references)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v2", true, 4, 1);
	struct uacce_dev *e = mkdev(c, "dummy_v2", true, 4, 2);
	struct uacce_caller w = me();
	struct uacce_queue *q = open_me(e);
	struct core_dev_stat *ds = NULL;
	int n = 0;

	ck_assert_ptr_eq(ud_ref(d), d);	/* a frontend's reference */
	core_remove_device(d);
	ud_unref(d);				/* the creator's */
	ck_assert_str_eq(ud_name(d), "uacce-dummy-1");
	ck_assert_int_eq(try_open(d, w), -ENODEV);
	ud_unref(d);				/* freed here */
	/* an open queue holds its device */
	core_remove_device(e);
	ud_unref(e);
	ck_assert_int_eq(uq_check_owner(q, &w), -ENODEV);
	ck_assert_str_eq(ud_name(uq_dev(q)), "uacce-dummy-2");
	ck_assert_int_eq(core_devices(c, &ds, &n), 0);
	ck_assert_int_eq(n, 0);		/* removed devices are not listed */
	free(ds);
	uq_release(q);			/* e freed here */
	core_free(c);
}
END_TEST

/* ========================================================================= */

/*
 * proc_owner_alive() polls the owner's pidfd with no timeout, and poll(2)
 * fails with EINTR even then when a signal arrives: a live owner was taken
 * for dead and its broker requests refused (EPERM).  Found by
 * test/fuzz/fuzz-dummy-ring (libFuzzer's SIGALRM); here a signal every
 * 100 us while the owner attaches again and again.
 */
static void regr_noop_handler(int sig)
{
	(void)sig;
}

START_TEST(test_regr_owner_alive_eintr)
{
	struct uacce_core *c = mkcore();
	struct uacce_dev *d = mkdev(c, "dummy_v1", false, 1, 1);
	struct uacce_queue *q = open_as(d, me());
	struct sigaction sa = { .sa_handler = regr_noop_handler };
	struct itimerval on = { { 0, 100 }, { 0, 100 } }, off = { { 0, 0 }, { 0, 0 } };
	int refused = 0;

	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &on, NULL), 0);
	for (int i = 0; i < 200000; i++)
		refused += uq_attach(q, getpid()) != 0;
	setitimer(ITIMER_REAL, &off, NULL);
	ck_assert_int_eq(refused, 0);
	uq_release(q);
	core_free(c);
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc;

	tc = tcase_create("devices");
	tcase_add_test(tc, test_qfrs_offset_v1);
	tcase_add_test(tc, test_qfrs_offset_v2);
	tcase_add_test(tc, test_add_device_errors);
	tcase_add_test(tc, test_core_free_removes_devices);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_open_init_and_instances);
	tcase_add_test(tc, test_open_release_returns_instance);
	tcase_add_test(tc, test_open_no_free_queue_ebusy);
	tcase_add_test(tc, test_open_nonsva_exclusive);
	tcase_add_test(tc, test_open_sva_not_exclusive);
	tcase_add_test(tc, test_open_excl_released_by_owner_died);
	tcase_add_test(tc, test_open_watch_failure);
	tcase_add_test(tc, test_open_dead_caller);
	tcase_add_test(tc, test_open_removed_device);
	tcase_add_test(tc, test_get_queue_reference);
	suite_add_tcase(s, tc);

	tc = tcase_create("ioctl");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_start);
	tcase_add_test(tc, test_put_q_then_start);
	tcase_add_test(tc, test_unknown_ioctl);
	tcase_add_test(tc, test_flush_ioctl);
	suite_add_tcase(s, tc);

	tc = tcase_create("owner");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_owner_other_process_refused);
	tcase_add_test(tc, test_owner_thread_accepted);
	tcase_add_test(tc, test_owner_getfd);
	tcase_add_test(tc, test_owner_exited_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("regions");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_map_exact_size);
	tcase_add_test(tc, test_map_twice_ebusy);
	tcase_add_test(tc, test_map_sva_dko_ss_refused);
	tcase_add_test(tc, test_map_ss_only_after_start);
	tcase_add_test(tc, test_map_ss_huge_refused);
	tcase_add_test(tc, test_map_absent_region);
	tcase_add_test(tc, test_map_after_put_q);
	tcase_add_test(tc, test_map_fd_is_register_page);
	tcase_add_test(tc, test_mapped_rules);
	tcase_add_test(tc, test_unmap_and_map_again);
	tcase_add_test(tc, test_unmap_forgets_device_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("rlimit");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_rlimit_data_enomem);
	tcase_add_test(tc, test_rlimit_data_dead_queue_uncharged);
	suite_add_tcase(s, tc);

	tc = tcase_create("share_svas");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_share_svas_ok);
	tcase_add_test(tc, test_share_svas_refusals);
	tcase_add_test(tc, test_share_svas_release_source_first);
	tcase_add_test(tc, test_share_svas_release_target_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("device");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_poll_completion_nonsva);
	tcase_add_test(tc, test_ring_wraps);
	tcase_add_test(tc, test_request_after_long_idle);
	tcase_add_test(tc, test_flush_processes_ring_v2);
	tcase_add_test(tc, test_sva_requests);
	tcase_add_test(tc, test_poll_after_put_q);
	suite_add_tcase(s, tc);

	tc = tcase_create("death");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_owner_died);
	tcase_add_test(tc, test_owner_died_in_init_and_zombie);
	tcase_add_test(tc, test_remove_device);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_policy_device_access);
	tcase_add_test(tc, test_policy_max_queues);
	tcase_add_test(tc, test_policy_groups_of_caller);
	tcase_add_test(tc, test_policy_swap_keeps_queues);
	tcase_add_test(tc, test_policy_region_bytes);
	tcase_add_test(tc, test_policy_shared_ss_counted_once);
	tcase_add_test(tc, test_policy_snapshots);
	tcase_add_test(tc, test_device_references);
	suite_add_tcase(s, tc);

	{	/* bugs found by these tests, fixed: kept as regressions */
		tc = tcase_create("regressions");
		tcase_set_timeout(tc, 10);
		tcase_add_test(tc, test_regr_shared_ss_uncharged_after_source_release);
		tcase_add_test(tc, test_regr_owner_alive_eintr);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* refusals and the expected errors are logged: keep the output readable */
	log_set_level(getenv("UACCED_TEST_LOG") ? LOG_DEBUG : LOG_CRIT);
	sr = srunner_create(core_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
