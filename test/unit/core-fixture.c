/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core-fixture.c - the helpers and checked fixtures of the core's unit
 * tests (core-fixture.h).
 */
#define _GNU_SOURCE
#include <json-c/json.h>

#include "core-fixture.h"

/* uq_ioctl as a frontend calls it: _IOC_SIZE(cmd) bytes of argument data */
int ioctl_raw(struct uacce_queue *q, const struct uacce_caller *w, unsigned int cmd,
	      unsigned long arg)
{
	static unsigned char data[1 << 14];
	struct uacce_ioctl io = {
		.cmd = cmd, .arg = arg, .size = _IOC_SIZE(cmd), .data = _IOC_SIZE(cmd) ? data : NULL,
	};

	return uq_ioctl(q, w, &io);
}

/* ------------------------------------------------------------------------- */
/* hooks: record what the core tells the frontend                            */
/* ------------------------------------------------------------------------- */

struct hookrec H;

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

struct uacce_core *mkcore(void)
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

struct uacce_dev *mkdev(struct uacce_core *c, const char *api, bool sva, int queues,
			int id)
{
	return mkdev_abi(c, api, sva, queues, id, UACCE_ABI_V4);
}

struct uacce_dev *mkdev_abi(struct uacce_core *c, const char *api, bool sva, int queues,
			    int id, enum uacce_abi abi)
{
	struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "soft", .api = api, .sva = sva, .queues = queues,
		.abi = abi,
	};
	struct uacce_dev *d = NULL;

	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, id, &d), 0);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* ------------------------------------------------------------------------- */
/* callers                                                                    */
/* ------------------------------------------------------------------------- */

struct uacce_caller who_tid(pid_t tid)
{
	struct uacce_caller w = { .tid = tid, .uid = getuid(), .gid = getgid() };

	return w;
}

struct uacce_caller me(void)
{
	return who_tid(gettid());
}

struct child spawn_child(void)
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

void kill_child(struct child *ch)
{
	if (ch->pid <= 0)
		return;
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, NULL, 0);
	close(ch->wfd);
	ch->pid = -1;
}

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

void othread_start(struct othread *o)
{
	ck_assert_int_eq(pipe2(o->p, O_CLOEXEC), 0);
	ck_assert_int_eq(sem_init(&o->ready, 0, 0), 0);
	ck_assert_int_eq(pthread_create(&o->t, NULL, othread_fn, o), 0);
	while (sem_wait(&o->ready) < 0 && errno == EINTR)
		;
	ck_assert_int_gt(o->tid, 0);
	ck_assert_int_ne(o->tid, getpid());
}

void othread_stop(struct othread *o)
{
	close(o->p[1]);
	pthread_join(o->t, NULL);
	close(o->p[0]);
	sem_destroy(&o->ready);
}

/* ------------------------------------------------------------------------- */
/* queue helpers                                                              */
/* ------------------------------------------------------------------------- */

struct uacce_queue *open_as(struct uacce_dev *d, struct uacce_caller w)
{
	struct uacce_queue *q = NULL;

	ck_assert_int_eq(uq_open(d, &w, &q), 0);
	ck_assert_ptr_nonnull(q);
	return q;
}

struct uacce_queue *open_me(struct uacce_dev *d)
{
	return open_as(d, me());
}

int ioc(struct uacce_queue *q, struct uacce_caller w, unsigned int cmd)
{
	return ioctl_raw(q, &w, cmd, 0);
}

void start_as(struct uacce_queue *q, struct uacce_caller w)
{
	ck_assert_int_eq(ioc(q, w, UACCE_CMD_START), 0);
	ck_assert_int_eq((int)uq_state(q), UQ_STARTED);
}

int state(struct uacce_queue *q)
{
	return (int)uq_state(q);
}

/* uq_map + mmap of the returned fd, as the client library does */
void *map_as(struct uacce_queue *q, pid_t peer, int type, uint64_t size)
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

void *map_me(struct uacce_queue *q, int type, uint64_t size)
{
	return map_as(q, getpid(), type, size);
}

/* uq_map whose fd is not wanted (only the return value matters) */
int try_map(struct uacce_queue *q, pid_t peer, int type, uint64_t size)
{
	uint64_t out = 0;
	int fd = -1, r;

	r = uq_map(q, peer, type, size, &fd, &out);
	if (r == 0 && fd >= 0)
		close(fd);
	return r;
}

/* map the SS and tell the core where it is in "the client" (us) */
void *map_ss_me(struct uacce_queue *q, uint64_t size)
{
	void *p = map_me(q, UACCE_QFRT_SS, size);

	ck_assert_int_eq(uq_mapped(q, getpid(), UACCE_QFRT_SS, (uint64_t)(uintptr_t)p), 0);
	return p;
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ring access, as the dummy user driver does it */
void submit(struct dummy_hw_queue_reg *reg, const void *src, void *dst, size_t size,
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

bool wait_tail(struct dummy_hw_queue_reg *reg, uint32_t want, unsigned ms)
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
uint32_t do_copy(struct dummy_hw_queue_reg *reg, const void *src, void *dst, size_t size)
{
	uint32_t h = __atomic_load_n(&reg->head, __ATOMIC_ACQUIRE);
	uint32_t slot = h;

	submit(reg, src, dst, size, (void *)(uintptr_t)(0x1000 + h));
	ck_assert_msg(wait_tail(reg, (h + 1) % Q_BDS, 2000), "request %u not completed", h);
	ck_assert_ptr_eq(reg->ring[slot].ptr, (void *)(uintptr_t)(0x1000 + h));
	return __atomic_load_n(&reg->ring[slot].ret, __ATOMIC_ACQUIRE);
}

/* poll until the mask is non-zero or `ms` pass */
unsigned wait_poll(struct uacce_queue *q, struct uacce_caller w, unsigned ms)
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

void notify_cb(void *arg)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

bool wait_counter(int *ctr, int min, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (__atomic_load_n(ctr, __ATOMIC_SEQ_CST) < min && now_ms() < end)
		usleep(500);
	return __atomic_load_n(ctr, __ATOMIC_SEQ_CST) >= min;
}

void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

/* lower the soft RLIMIT_DATA of the (idle) child owner */
void set_child_rlimit_data(pid_t pid, uint64_t soft)
{
	struct rlimit old, nw;

	ck_assert_int_eq(prlimit(pid, RLIMIT_DATA, NULL, &old), 0);
	nw.rlim_cur = soft;
	nw.rlim_max = old.rlim_max;
	ck_assert_int_eq(prlimit(pid, RLIMIT_DATA, &nw, NULL), 0);
}

struct uacce_caller who_u(pid_t tid, uid_t uid, const gid_t *groups, int n)
{
	struct uacce_caller w = {
		.tid = tid, .uid = uid, .gid = uid, .groups_known = true, .groups = groups,
		.ngroups = n,
	};

	return w;
}

int try_open(struct uacce_dev *d, struct uacce_caller w)
{
	struct uacce_queue *q = NULL;
	int r = uq_open(d, &w, &q);

	if (r == 0)
		uq_release(q);
	else
		ck_assert_ptr_null(q);
	return r;
}

/* ------------------------------------------------------------------------- */
/* checked fixtures                                                            */
/* ------------------------------------------------------------------------- */

struct uacce_core *fx_core;

void fx_core_setup(void)
{
	fx_core = mkcore();
}

void fx_core_teardown(void)
{
	core_free(fx_core);	/* and the devices the test left */
	fx_core = NULL;
}

/* ------------------------------------------------------------------------- */
/* fake-backend devices                                                        */
/* ------------------------------------------------------------------------- */

struct uacce_dev *fx_a, *fx_b;

struct fake_params fake_params(void)
{
	struct fake_params p = { .queues = 4, .mmio = -1, .dus = -1, .ss = -1 };

	return p;
}

static void set_int(json_object *o, const char *key, int64_t v)
{
	json_object *jv = json_object_new_int64(v);

	ck_assert_ptr_nonnull(jv);
	ck_assert_int_eq(json_object_object_add(o, key, jv), 0);
}

int add_fake(struct uacce_core *c, const struct uacce_backend_ops *ops,
	     const struct fake_params *p, int id, struct uacce_dev **out)
{
	json_object *entry = json_object_new_object();
	struct uacce_dev_cfg cfg = {
		.name = "fake", .backend = FAKE_NAME, .api = FAKE_API, .sva = p->sva,
		.queues = p->queues, .entry = entry,
	};
	int err;

	/* the entry as the configuration module would hand it over */
	ck_assert_ptr_nonnull(entry);
	if (p->mmio >= 0)
		set_int(entry, "mmio", p->mmio);
	if (p->dus >= 0)
		set_int(entry, "dus", p->dus);
	if (p->ss >= 0)
		set_int(entry, "ss", p->ss);
	if (p->create_error)
		set_int(entry, "create_error", p->create_error);
	err = core_add_device(c, ops, &cfg, id, out);
	json_object_put(entry);	/* the core keeps nothing of the entry */
	return err;
}

struct uacce_dev *mkfake(struct uacce_core *c, bool sva, int queues, int id)
{
	struct fake_params p = fake_params();
	struct uacce_dev *d = NULL;

	p.sva = sva;
	p.queues = queues;
	ck_assert_int_eq(add_fake(c, fake_ops(), &p, id, &d), 0);
	ck_assert_ptr_nonnull(d);
	return d;
}

void fake_assert_clean(void)
{
	const char *first = NULL;
	int n = fake_violations(&first);

	ck_assert_msg(n == 0, "the fake backend saw %d contract violations, the first: %s", n,
		      first);
}

void fx_fake_setup(void)
{
	fake_reset();
	fx_core = mkcore();
	fx_a = mkfake(fx_core, false, 4, 1);
	fx_b = mkfake(fx_core, true, 4, 2);
}

void fx_fake_teardown(void)
{
	core_free(fx_core);	/* destroys the devices: the fake checks they are empty */
	fx_core = NULL;
	fx_a = fx_b = NULL;
	fake_assert_clean();
	fake_reset();
}
