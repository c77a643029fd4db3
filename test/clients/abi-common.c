/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: reporting, small helpers, the raw ring, pipe helpers */
#include "abi-common.h"

const char *nonsva_dev, *sva_dev;
bool skip_nonsva, skip_sva;	/* -N none, -S none */
int tscale = 1;			/* $UACCE_TIME_SCALE: slow machines (emulated guests) */
int peer_uid = -1;		/* scm-rights: the receiver drops to this uid */
int n_ok, n_fail;
char ctx[160];			/* "scenario dev" prefix of every line */

/* --- reporting ------------------------------------------------------------ */

const char *ename(int e)
{
	static const struct {
		int e;
		const char *n;
	} t[] = {
		{ 0, "success" },     { EPERM, "EPERM" },	{ ENOENT, "ENOENT" },
		{ ESRCH, "ESRCH" },	  { EINTR, "EINTR" },	{ EIO, "EIO" },
		{ ENXIO, "ENXIO" },	  { EBADF, "EBADF" },	{ EAGAIN, "EAGAIN" },
		{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },	{ EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" },	  { EEXIST, "EEXIST" },	{ ENODEV, "ENODEV" },
		{ EINVAL, "EINVAL" }, { ENOTTY, "ENOTTY" },	{ ENOSPC, "ENOSPC" },
		{ EPIPE, "EPIPE" },	  { ERANGE, "ERANGE" },	{ EPROTO, "EPROTO" },
		{ EBADMSG, "EBADMSG" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ ECONNRESET, "ECONNRESET" }, { ENOTCONN, "ENOTCONN" },
		{ ETIMEDOUT, "ETIMEDOUT" }, { ECONNREFUSED, "ECONNREFUSED" },
		{ EALREADY, "EALREADY" }, { ECONNABORTED, "ECONNABORTED" },
		{ EDQUOT, "EDQUOT" },
	};
	static __thread char buf[32];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

int errno_by_name(const char *s)
{
	if (strcmp(s, "0") == 0 || strcmp(s, "success") == 0)
		return 0;
	for (int e = 1; e < 200; e++)
		if (strcmp(ename(e), s) == 0)
			return e;
	return -1;
}

__attribute__((format(printf, 1, 2))) void ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("ok: %s: ", ctx);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	n_ok++;
}

__attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: %s: ", ctx);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	n_fail++;
}

__attribute__((format(printf, 1, 2))) void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("info: %s: ", ctx);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

__attribute__((format(printf, 2, 3))) void set_ctx(const char *dev, const char *fmt, ...)
{
	char s[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	snprintf(ctx, sizeof(ctx), "%s%s%s", s, dev ? " " : "", dev ? dev : "");
}

/* got and want are positive errno values, 0 for success */
bool expect(const char *what, int got, int want)
{
	if (got == want) {
		ok("%s -> %s", what, ename(want));
		return true;
	}
	fail("%s: expected %s got %s", what, ename(want), ename(got));
	return false;
}

bool expect2(const char *what, int got, int want1, int want2)
{
	if (got == want1 || got == want2) {
		ok("%s -> %s", what, ename(got));
		return true;
	}
	fail("%s: expected %s or %s got %s", what, ename(want1), ename(want2), ename(got));
	return false;
}

bool expect_true(const char *what, bool cond, const char *got)
{
	if (cond)
		ok("%s", what);
	else
		fail("%s: expected true got %s", what, got);
	return cond;
}

/* --- small helpers ---------------------------------------------------------- */

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int xioctl(int fd, unsigned long cmd, unsigned long arg)
{
	return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

void fill(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

int avail(const char *dev)
{
	char buf[32];

	if (uacce_dev_attr(dev, "available_instances", buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

/* poll available_instances until it reads `want`; returns the last value */
int wait_avail(const char *dev, int want, int ms)
{
	double end = now_ms() + T(ms);
	int v;

	while ((v = avail(dev)) != want && now_ms() < end)
		sleep_ms(5);
	return v;
}

bool is_sva(const char *dev)
{
	char buf[32];

	return uacce_dev_attr(dev, "flags", buf, sizeof(buf)) >= 0 &&
	       (strtoul(buf, NULL, 0) & UACCE_DEV_SVA);
}

/* is [p, p+len) mapped in this process? (mincore: ENOMEM when not) */
int mapped_err(void *p, size_t len)
{
	unsigned char vec[64];

	if (len > sizeof(vec) * 4096)
		len = sizeof(vec) * 4096;
	return mincore(p, len, vec) < 0 ? errno : 0;
}

/*
 * Open a queue; a non-SVA device may still be held for a moment by the
 * process that ran before us (the FUSE fallback releases asynchronously),
 * so EBUSY is retried for a while and the wait reported.
 */
int open_q(const char *dev, struct uacce_q **q)
{
	double t0 = now_ms();
	int r, tries = 0;

	while ((r = uacce_queue_open(dev, q)) == -EBUSY && now_ms() - t0 < T(BUSY_WAIT_MS)) {
		tries++;
		sleep_ms(5);
	}
	if (r == 0 && tries)
		info("%s was busy for %.0f ms before this open succeeded", dev, now_ms() - t0);
	if (r)
		fail("open %s: expected success got %s", dev, ename(-r));
	return r;
}

int request_wd(struct wd_queue *q, const char *dev)
{
	double t0 = now_ms();
	int r, tries = 0;

	memset(q, 0, sizeof(*q));
	q->capa.alg = "memcpy";
	snprintf(q->dev_path, sizeof(q->dev_path), "%s", dev);
	while ((r = wd_request_queue(q)) == -EBUSY && now_ms() - t0 < T(BUSY_WAIT_MS)) {
		tries++;
		sleep_ms(5);
	}
	if (r == 0 && tries)
		info("%s was busy for %.0f ms before wd_request_queue succeeded", dev,
		     now_ms() - t0);
	if (r)
		fail("wd_request_queue %s: expected success got %s", dev, ename(-r));
	return r;
}

/* one request through the wd API; returns 0 or the positive error */
int wd_copy(struct wd_queue *q, void *dst, const void *src, size_t size, uint32_t seed)
{
	struct wd_dummy_cpy_msg m = { .src_addr = (char *)src, .tgt_addr = (char *)dst,
				      .size = size, .ptr = (void *)(uintptr_t)(seed | 1) };
	void *resp = NULL;
	int r;

	r = wd_send(q, &m);
	if (!r)
		r = wd_recv_sync(q, &resp, 3000);
	if (r < 0)
		return -r;
	if (resp != m.ptr)
		return EPROTO;
	return 0;
}

/* fill src, copy, compare: 0 or the positive error (EIO: bytes differ) */
static int wd_copy_verify(struct wd_queue *q, unsigned char *dst, unsigned char *src, size_t size,
			  uint32_t seed)
{
	int r;

	fill(src, size, seed);
	memset(dst, 0, size);
	r = wd_copy(q, dst, src, size, seed);
	if (!r && memcmp(src, dst, size) != 0)
		r = EIO;
	return r;
}

/* a copy that must work: malloc buffers on SVA, SS on non-SVA */
void check_copy(const char *what, struct wd_queue *q)
{
	bool sva = q->dev_flags & UACCE_DEV_SVA;
	unsigned char *src, *dst;
	int r;

	if (sva) {
		src = malloc(4096);
		dst = malloc(4096);
	} else {
		src = q->ss_va;
		dst = src ? src + 8192 : NULL;
	}
	if (!src || !dst) {
		fail("%s: no buffers (SS not reserved?)", what);
		r = 0;
	} else {
		r = wd_copy_verify(q, dst, src, 4096, (uint32_t)rand());
		expect(what, r, 0);
	}
	if (sva) {
		free(src);
		free(dst);
	}
}


/* --- the raw ring (for checks the wd API hides) ----------------------------- */


int rawq_open(struct rawq *r, const char *dev, size_t sslen)
{
	uint64_t off, size;
	void *mmio, *dus = NULL;
	int err;

	memset(r, 0, sizeof(*r));
	if (open_q(dev, &r->q))
		return -1;
	r->fd = uacce_queue_fd(r->q);
	r->sva = uacce_queue_flags(r->q) & UACCE_DEV_SVA;
	err = uacce_queue_start(r->q);
	if (!err)
		err = uacce_region_info(r->q, UACCE_QFRT_MMIO, &off, &size);
	if (!err)
		err = uacce_map_region(r->q, UACCE_QFRT_MMIO, size, &mmio);
	if (!err && uacce_region_info(r->q, UACCE_QFRT_DUS, &off, &size) == 0) {
		r->v2 = true;
		err = uacce_map_region(r->q, UACCE_QFRT_DUS, size, &dus);
	}
	if (!err && !r->sva && sslen) {
		void *ss;

		err = uacce_map_region(r->q, UACCE_QFRT_SS, sslen, &ss);
		r->ss = ss;
	}
	if (err) {
		fail("setting up a raw queue on %s: %s", dev, ename(-err));
		uacce_queue_close(r->q);
		r->q = NULL;
		return -1;
	}
	r->reg = r->v2 ? dus : mmio;
	r->doorbell = r->v2 ? mmio : NULL;
	r->wake = (struct dummy_wake *)((char *)mmio + DUMMY_WAKE_OFFSET);
	r->head = r->reg->head;
	r->used = r->reg->tail;
	return 0;
}

void rawq_close(struct rawq *r)
{
	if (r->q)
		uacce_queue_close(r->q);
	r->q = NULL;
}

/* write one entry and move head; kick: wake the device like libuacce does */
void rawq_submit(struct rawq *r, const void *src, void *dst, size_t size, bool kick)
{
	struct wd_dummy_cpy_msg *m = &r->reg->ring[r->head];

	m->src_addr = (char *)src;
	m->tgt_addr = dst;
	m->size = size;
	m->ptr = (void *)(uintptr_t)(r->head + 100);
	m->ret = 0xffffffffu;	/* the device overwrites it */
	r->head = (r->head + 1) % Q_BDS;
	__atomic_store_n(&r->reg->head, r->head, __ATOMIC_RELEASE);
	if (r->doorbell)
		*r->doorbell = 1;
	if (kick) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&r->wake->sleeping, __ATOMIC_RELAXED)) {
			__atomic_add_fetch(&r->wake->wake, 1, __ATOMIC_SEQ_CST);
			syscall(SYS_futex, &r->wake->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
		}
	}
}

/* completed entries not consumed yet */
bool rawq_done(struct rawq *r)
{
	return __atomic_load_n(&r->reg->tail, __ATOMIC_ACQUIRE) == r->head;
}

uint32_t rawq_take(struct rawq *r)
{
	uint32_t ret = r->reg->ring[r->used].ret;

	r->used = (r->used + 1) % Q_BDS;
	return ret;
}


/* pipe helpers for two-process scenarios */
void put_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(99);
}

char get_byte(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&p, 1, T(ms)) <= 0 || read(fd, &c, 1) != 1)
		return 0;
	return c;
}

int child_status(pid_t pid, int ms)
{
	double end = now_ms() + T(ms);
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		sleep_ms(5);
	}
}


bool daemon_alive(void)
{
	char path[512], buf[32];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/uacced.pid", uacce_runtime_dir());
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		pid = atoi(buf);
	fclose(f);
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}
