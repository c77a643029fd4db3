/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * abi-probe - check, scenario by scenario, that a uacce device served by
 * uacced answers as the v4 ABI (/work/shared/design/ABI.md) says.
 *
 *   abi-probe [-N NONSVA_DEV|none] [-S SVA_DEV|none] [--peer-uid UID] SCENARIO...
 *
 * Every check prints one line, "ok: ..." or "FAIL: ... expected X got Y";
 * measurements print "info: ...".  Exit status: 0 when every check passed,
 * 1 when one failed, 2 on a usage or set-up error.  The devices default to
 * the first dummy device without / with UACCE_DEV_SVA in the runtime
 * directory ($UACCE_RUNTIME_DIR, else /run/uacce); "none" skips that kind.
 * --peer-uid: in scm-rights the receiving process first drops to that uid.
 * UACCE_TIME_SCALE=N multiplies every time limit (slow emulated machines).
 *
 * Besides the checking scenarios ("abi-probe list"), helpers serve the
 * integration scripts: "hold DEV" (take a started queue with its regions,
 * print "ready", sleep until killed), "wait-death DEV [poll]" (block in
 * wd_recv_sync / poll until the daemon dies, then check that the wait
 * returned an error), "open DEV ERRNO" (open(2) must give ERRNO, "0" for
 * success), "flood DEV MS [MIB]" (DUMMY_CMD_FLUSH of a full ring of large
 * copies, again and again, timed) and "open-start DEV N" (open, START,
 * close, timed).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uacce/dummy_usr_if.h>
#include <uacce/libuacce.h>
#include <uacce/uacce.h>
#include <uacce/wd.h>

#include "broker_proto.h"

#define SS_SIZE		(64 * 1024)
#define BUSY_WAIT_MS	3000	/* how long an open waits for a previous owner's release */

static const char *nonsva_dev, *sva_dev;
static bool skip_nonsva, skip_sva;	/* -N none, -S none */
static int tscale = 1;			/* $UACCE_TIME_SCALE: slow machines (emulated guests) */
#define T(ms) ((ms) * tscale)
static int peer_uid = -1;		/* scm-rights: the receiver drops to this uid */
static int n_ok, n_fail;
static char ctx[160];			/* "scenario dev" prefix of every line */

/* --- reporting ------------------------------------------------------------ */

static const char *ename(int e)
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
	};
	static __thread char buf[32];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static int errno_by_name(const char *s)
{
	if (strcmp(s, "0") == 0 || strcmp(s, "success") == 0)
		return 0;
	for (int e = 1; e < 200; e++)
		if (strcmp(ename(e), s) == 0)
			return e;
	return -1;
}

__attribute__((format(printf, 1, 2))) static void ok(const char *fmt, ...)
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

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
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

__attribute__((format(printf, 1, 2))) static void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("info: %s: ", ctx);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

__attribute__((format(printf, 2, 3))) static void set_ctx(const char *dev, const char *fmt, ...)
{
	char s[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	snprintf(ctx, sizeof(ctx), "%s%s%s", s, dev ? " " : "", dev ? dev : "");
}

/* got and want are positive errno values, 0 for success */
static bool expect(const char *what, int got, int want)
{
	if (got == want) {
		ok("%s -> %s", what, ename(want));
		return true;
	}
	fail("%s: expected %s got %s", what, ename(want), ename(got));
	return false;
}

static bool expect2(const char *what, int got, int want1, int want2)
{
	if (got == want1 || got == want2) {
		ok("%s -> %s", what, ename(got));
		return true;
	}
	fail("%s: expected %s or %s got %s", what, ename(want1), ename(want2), ename(got));
	return false;
}

static bool expect_true(const char *what, bool cond, const char *got)
{
	if (cond)
		ok("%s", what);
	else
		fail("%s: expected true got %s", what, got);
	return cond;
}

/* --- small helpers ---------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int xioctl(int fd, unsigned long cmd, unsigned long arg)
{
	return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

static int avail(const char *dev)
{
	char buf[32];

	if (uacce_dev_attr(dev, "available_instances", buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

/* poll available_instances until it reads `want`; returns the last value */
static int wait_avail(const char *dev, int want, int ms)
{
	double end = now_ms() + T(ms);
	int v;

	while ((v = avail(dev)) != want && now_ms() < end)
		sleep_ms(5);
	return v;
}

static bool is_sva(const char *dev)
{
	char buf[32];

	return uacce_dev_attr(dev, "flags", buf, sizeof(buf)) >= 0 &&
	       (strtoul(buf, NULL, 0) & UACCE_DEV_SVA);
}

/* is [p, p+len) mapped in this process? (mincore: ENOMEM when not) */
static int mapped_err(void *p, size_t len)
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
static int open_q(const char *dev, struct uacce_q **q)
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

static int request_wd(struct wd_queue *q, const char *dev)
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
static int wd_copy(struct wd_queue *q, void *dst, const void *src, size_t size, uint32_t seed)
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
static void check_copy(const char *what, struct wd_queue *q)
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

struct rawq {
	struct uacce_q *q;
	int fd;
	bool sva, v2;
	struct dummy_hw_queue_reg *reg;
	volatile uint64_t *doorbell;
	struct dummy_wake *wake;
	unsigned char *ss;
	uint32_t head, used;
};

static int rawq_open(struct rawq *r, const char *dev, size_t sslen)
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

static void rawq_close(struct rawq *r)
{
	if (r->q)
		uacce_queue_close(r->q);
	r->q = NULL;
}

/* write one entry and move head; kick: wake the device like libuacce does */
static void rawq_submit(struct rawq *r, const void *src, void *dst, size_t size, bool kick)
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
static bool rawq_done(struct rawq *r)
{
	return __atomic_load_n(&r->reg->tail, __ATOMIC_ACQUIRE) == r->head;
}

static uint32_t rawq_take(struct rawq *r)
{
	uint32_t ret = r->reg->ring[r->used].ret;

	r->used = (r->used + 1) % Q_BDS;
	return ret;
}

/* --- raw broker client (to check the daemon, not the library) ---------------- */

static int bk_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", uacce_runtime_dir(), UB_SOCKET_NAME);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(s);
		return -e;
	}
	return s;
}

/* one request/reply; returns the reply status (-errno) or a transport -errno */
static int bk_call(int sock, uint16_t op, const void *body, uint16_t len, int sendfd)
{
	char out[sizeof(struct ub_hdr) + UB_MAX_BODY];
	struct ub_hdr h = { .version = UB_VERSION, .opcode = op, .body_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = out, .iov_len = sizeof(h) + len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct {
		struct ub_hdr h;
		struct ub_reply r;
	} in;
	ssize_t n;

	if (sendfd >= 0) {
		struct cmsghdr *cm;

		h.flags = UB_F_FD;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &sendfd, sizeof(int));
	}
	memcpy(out, &h, sizeof(h));
	if (len)
		memcpy(out + sizeof(h), body, len);
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &in;
	iov.iov_len = sizeof(in);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOTCONN;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
			close(fd);	/* we only want the status */
		}
	}
	if ((size_t)n != sizeof(in) || in.h.opcode != UB_REPLY)
		return -EPROTO;
	return in.r.status;
}

static int bk_map(int sock, int type, uint64_t size)
{
	struct ub_map m = { .type = (uint32_t)type, .size = size };

	return bk_call(sock, UB_MAP, &m, sizeof(m), -1);
}

/* a fresh broker connection, attached with queue fd `qfd`: the status */
static int bk_attach_status(int qfd, int *sock_out)
{
	int s = bk_connect(), r;

	if (sock_out)
		*sock_out = -1;
	if (s < 0)
		return s;
	r = bk_call(s, UB_ATTACH, NULL, 0, qfd);
	if (sock_out)
		*sock_out = s;
	else
		close(s);
	return r;
}

/* the broker connections this process holds (inherited ones included) */
static int find_broker_socks(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		struct sockaddr_un sa;
		socklen_t sl = sizeof(sa);
		int fd = atoi(de->d_name), type = 0;
		socklen_t tl = sizeof(type);
		size_t pl;

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET)
			continue;
		memset(&sa, 0, sizeof(sa));
		if (getpeername(fd, (struct sockaddr *)&sa, &sl) < 0 || sa.sun_family != AF_UNIX)
			continue;
		pl = strlen(sa.sun_path);
		if (pl >= strlen(UB_SOCKET_NAME) &&
		    strcmp(sa.sun_path + pl - strlen(UB_SOCKET_NAME), UB_SOCKET_NAME) == 0)
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

/* --- scenarios ------------------------------------------------------------------ */

static void sc_start_twice(const char *dev)
{
	struct uacce_q *q;
	int fd;

	set_ctx(dev, "start-twice");
	if (open_q(dev, &q))
		return;
	fd = uacce_queue_fd(q);
	expect("UACCE_CMD_START on a new queue", xioctl(fd, UACCE_CMD_START, 0), 0);
	expect("UACCE_CMD_START again", xioctl(fd, UACCE_CMD_START, 0), EINVAL);
	expect("UACCE_CMD_PUT_Q after START", xioctl(fd, UACCE_CMD_PUT_Q, 0), 0);
	expect("UACCE_CMD_START after PUT_Q", xioctl(fd, UACCE_CMD_START, 0), EINVAL);
	uacce_queue_close(q);
}

static void sc_put_then_start(const char *dev)
{
	struct uacce_q *q;
	uint64_t off, size;
	void *p;
	int fd, n0;

	set_ctx(dev, "put-then-start");
	n0 = avail(dev);
	if (open_q(dev, &q))
		return;
	fd = uacce_queue_fd(q);
	expect("UACCE_CMD_PUT_Q on an INIT queue", xioctl(fd, UACCE_CMD_PUT_Q, 0), 0);
	expect("UACCE_CMD_START after PUT_Q", xioctl(fd, UACCE_CMD_START, 0), EINVAL);
	{
		int a = avail(dev);
		char got[32];

		snprintf(got, sizeof(got), "%d (before open %d)", a, n0);
		expect_true("available_instances back to its value before open after PUT_Q",
			    a == n0, got);
	}
	uacce_region_info(q, UACCE_QFRT_MMIO, &off, &size);
	expect("map MMIO after PUT_Q", -uacce_map_region(q, UACCE_QFRT_MMIO, size, &p), EINVAL);
	expect("DUMMY_CMD_FLUSH after PUT_Q", xioctl(fd, DUMMY_CMD_FLUSH, 0), EINVAL);
	uacce_queue_close(q);
}

static void sc_unknown_ioctl(const char *dev)
{
	struct uacced_ident id = { 0 };
	unsigned long dma = 0;
	struct uacce_q *q;
	int fd, iarg = 1;

	set_ctx(dev, "unknown-ioctl");
	if (open_q(dev, &q))
		return;
	fd = uacce_queue_fd(q);
	expect("unknown _IO('W', 0x42) before START", xioctl(fd, _IO('W', 0x42), 0), EINVAL);
	expect("UACCE_CMD_START", xioctl(fd, UACCE_CMD_START, 0), 0);
	expect("unknown _IO('W', 0x42) after START", xioctl(fd, _IO('W', 0x42), 0), EINVAL);
	expect("unknown _IO('x', 7) after START", xioctl(fd, _IO('x', 7), 0), EINVAL);
	expect("unknown _IOW('W', 0x43, int)", ioctl(fd, _IOW('W', 0x43, int), &iarg) < 0 ? errno : 0,
	       EINVAL);
	expect("UACCE_CMD_GET_SS_DMA (not implemented)",
	       ioctl(fd, UACCE_CMD_GET_SS_DMA, &dma) < 0 ? errno : 0, EINVAL);
	expect("daemon-private UACCED_CMD_IDENT from a client",
	       ioctl(fd, UACCED_CMD_IDENT, &id) < 0 ? errno : 0, EPERM);
	expect_true("UACCED_CMD_IDENT leaked nothing", id.magic == 0 && id.queue_id == 0,
		    "a filled struct");
	expect("UACCE_CMD_PUT_Q", xioctl(fd, UACCE_CMD_PUT_Q, 0), 0);
	expect("unknown _IO('W', 0x42) after PUT_Q", xioctl(fd, _IO('W', 0x42), 0), EINVAL);
	uacce_queue_close(q);
}

static void sc_flush(const char *dev)
{
	unsigned char *src, *dst, *heap = NULL;
	struct rawq r;
	int e;

	set_ctx(dev, "flush");
	if (rawq_open(&r, dev, SS_SIZE))
		return;
	expect("DUMMY_CMD_FLUSH on an empty ring after START", xioctl(r.fd, DUMMY_CMD_FLUSH, 0), 0);
	if (r.sva) {
		heap = malloc(8192);
		src = heap;
		dst = heap + 4096;
	} else {
		src = r.ss;
		dst = r.ss + 4096;
	}
	fill(src, 4096, 7);
	memset(dst, 0, 4096);
	rawq_submit(&r, src, dst, 4096, false);	/* no wake-up: FLUSH must do it */
	e = xioctl(r.fd, DUMMY_CMD_FLUSH, 0);
	expect("DUMMY_CMD_FLUSH with one request queued", e, 0);
	if (!e) {
		char got[64];
		bool done = rawq_done(&r);

		snprintf(got, sizeof(got), "tail %u head %u", r.reg->tail, r.head);
		expect_true("the request is complete when FLUSH returns", done, got);
		if (done) {
			uint32_t ret = rawq_take(&r);

			snprintf(got, sizeof(got), "ret %u", ret);
			expect_true("its ret is 0", ret == 0, got);
			expect_true("the bytes were copied", memcmp(src, dst, 4096) == 0,
				    "different bytes");
		}
	}
	free(heap);
	rawq_close(&r);
}

static const char *expected_qfrs(const char *api)
{
	if (strcmp(api, "dummy_v1") == 0)
		return "0\t18446744073709551615\t18446744073709551615\t4096";
	if (strcmp(api, "dummy_v2") == 0)
		return "0\t18446744073709551615\t4096\t8192";
	return NULL;
}

static void sc_region_sizes(const char *dev)
{
	char buf[256], api[64] = "";
	const char *want;
	uint64_t off, size;
	struct uacce_q *q;
	void *p;

	set_ctx(dev, "region-sizes");
	uacce_dev_attr(dev, "api", api, sizeof(api));
	want = expected_qfrs(api);
	if (want && uacce_dev_attr(dev, "qfrs_offset", buf, sizeof(buf)) >= 0) {
		if (strcmp(buf, want) == 0)
			ok("qfrs_offset of %s is \"%s\"", api, buf);
		else
			fail("qfrs_offset of %s: expected \"%s\" got \"%s\"", api, want, buf);
	}
	if (open_q(dev, &q))
		return;
	expect("UACCE_CMD_START", -uacce_queue_start(q), 0);
	if (uacce_region_info(q, UACCE_QFRT_MMIO, &off, &size) == 0) {
		p = uacce_mmap(q, size * 2, (off_t)off);
		expect("mmap MMIO with twice its size", p == MAP_FAILED ? errno : 0, EINVAL);
		p = uacce_mmap(q, size / 2, (off_t)off);
		expect("mmap MMIO with half its size", p == MAP_FAILED ? errno : 0, EINVAL);
		p = uacce_mmap(q, size, (off_t)off);
		if (expect("mmap MMIO with its size", p == MAP_FAILED ? errno : 0, 0) &&
		    strcmp(api, "dummy_v1") == 0) {
			struct dummy_hw_queue_reg *reg = p;

			expect_true("MMIO holds the dummy register page (tag WDDUMMY, 16 BDs)",
				    memcmp(reg->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ) == 0 &&
					    reg->ring_bd_num == Q_BDS,
				    "another content");
		}
		p = uacce_mmap(q, size, (off_t)off);
		expect("mmap MMIO a second time", p == MAP_FAILED ? errno : 0, EBUSY);
	} else {
		fail("no MMIO region in qfrs_offset");
	}
	if (uacce_region_info(q, UACCE_QFRT_DUS, &off, &size) == 0) {
		p = uacce_mmap(q, size + 4096, (off_t)off);
		expect("mmap DUS with a wrong size", p == MAP_FAILED ? errno : 0, EINVAL);
		p = uacce_mmap(q, size, (off_t)off);
		if (expect("mmap DUS with its size", p == MAP_FAILED ? errno : 0, 0)) {
			struct dummy_hw_queue_reg *reg = p;

			expect_true("DUS holds the dummy register page (tag WDDUMMY, 16 BDs)",
				    memcmp(reg->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ) == 0 &&
					    reg->ring_bd_num == Q_BDS,
				    "another content");
		}
		p = uacce_mmap(q, size, (off_t)off);
		expect("mmap DUS a second time", p == MAP_FAILED ? errno : 0, EBUSY);
	} else {
		/* dummy_v1: no DUS; offset 8192 names no region */
		p = uacce_mmap(q, 4096, 8192);
		expect("mmap at offset 8192 (no region there, no DUS on this device)",
		       p == MAP_FAILED ? errno : 0, EINVAL);
		expect("DUS region request to the daemon (absent)",
		       -uacce_map_region(q, UACCE_QFRT_DUS, 4096, &p), EINVAL);
	}
	expect("DKO region request to the daemon (absent on dummy devices)",
	       -uacce_map_region(q, UACCE_QFRT_DKO, 4096, &p), EINVAL);
	p = uacce_mmap(q, 4096, 1);
	expect("mmap at offset 1 (no region)", p == MAP_FAILED ? errno : 0, EINVAL);
	uacce_queue_close(q);
}

static void sc_ss_rules(const char *dev)
{
	uint64_t off, size;
	struct uacce_q *q;
	bool sva = is_sva(dev);
	void *p;

	set_ctx(dev, "ss-rules");
	if (open_q(dev, &q))
		return;
	if (!sva) {
		expect("map SS before START", -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p),
		       EINVAL);
		expect("UACCE_CMD_START", -uacce_queue_start(q), 0);
		if (expect("map SS after START", -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p),
			   0)) {
			memset(p, 0x5a, SS_SIZE);
			ok("SS is writable by the user");
		}
		expect("map SS a second time", -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p),
		       EBUSY);
		expect("DKO (absent on dummy devices)",
		       -uacce_map_region(q, UACCE_QFRT_DKO, 4096, &p), EINVAL);
	} else {
		expect("map SS before START (SVA)",
		       -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p), EINVAL);
		expect("UACCE_CMD_START", -uacce_queue_start(q), 0);
		expect("map SS on an SVA device", -uacce_map_region(q, UACCE_QFRT_SS, SS_SIZE, &p),
		       EINVAL);
		if (uacce_region_info(q, UACCE_QFRT_SS, &off, &size) == 0) {
			p = uacce_mmap(q, SS_SIZE, (off_t)off);
			expect("mmap at the SS offset on an SVA device",
			       p == MAP_FAILED ? errno : 0, EINVAL);
		}
		expect("map DKO on an SVA device", -uacce_map_region(q, UACCE_QFRT_DKO, 4096, &p),
		       EINVAL);
	}
	uacce_queue_close(q);
}

static void sc_instances(const char *dev)
{
	struct uacce_q *qs[4096];
	int n0, v, n, e = 0;
	char got[64];

	set_ctx(dev, "instances");
	n0 = avail(dev);
	if (n0 < 2) {
		fail("available_instances: expected at least 2 got %d", n0);
		return;
	}
	ok("available_instances is %d before the test", n0);
	if (open_q(dev, &qs[0]))
		return;
	v = avail(dev);
	snprintf(got, sizeof(got), "%d", v);
	expect_true("available_instances drops by one at open", v == n0 - 1, got);
	if (open_q(dev, &qs[1])) {
		uacce_queue_close(qs[0]);
		return;
	}
	v = avail(dev);
	snprintf(got, sizeof(got), "%d", v);
	expect_true("... and by one more at a second open", v == n0 - 2, got);
	expect("UACCE_CMD_START on the first", -uacce_queue_start(qs[0]), 0);
	expect("UACCE_CMD_PUT_Q on the first", -uacce_queue_put(qs[0]), 0);
	v = avail(dev);
	snprintf(got, sizeof(got), "%d", v);
	expect_true("available_instances rises by one at PUT_Q", v == n0 - 1, got);
	uacce_queue_close(qs[0]);
	v = wait_avail(dev, n0 - 1, 200);
	snprintf(got, sizeof(got), "%d", v);
	expect_true("closing the PUT queue changes nothing", v == n0 - 1, got);
	uacce_queue_close(qs[1]);
	v = wait_avail(dev, n0, 1000);
	snprintf(got, sizeof(got), "%d after 1 s", v);
	expect_true("available_instances back to its value at close (within 1 s)", v == n0, got);
	sleep_ms(100);
	v = avail(dev);
	snprintf(got, sizeof(got), "%d (before open %d)", v, n0);
	expect_true("... and not counted twice for the queue given back by PUT_Q", v == n0, got);

	/* take them all: the next open gets the backend's error */
	for (n = 0; n < n0 && n < 4096; n++) {
		e = uacce_queue_open(dev, &qs[n]);
		if (e)
			break;
	}
	snprintf(got, sizeof(got), "%d opened, then %s", n, ename(-e));
	if (expect_true("all free queues can be opened", n == n0, got)) {
		v = avail(dev);
		snprintf(got, sizeof(got), "%d", v);
		expect_true("available_instances is 0 with every queue taken", v == 0, got);
		e = uacce_queue_open(dev, &qs[n]);
		if (!e)
			uacce_queue_close(qs[n]);
		expect("open with no free hardware queue", -e, EBUSY);
	}
	while (n > 0)
		uacce_queue_close(qs[--n]);
	v = wait_avail(dev, n0, 1000);
	snprintf(got, sizeof(got), "%d after 1 s", v);
	expect_true("available_instances back to the maximum once all are closed", v == n0, got);
}

/* pipe helpers for two-process scenarios */
static void put_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(99);
}

static char get_byte(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&p, 1, T(ms)) <= 0 || read(fd, &c, 1) != 1)
		return 0;
	return c;
}

static int child_status(pid_t pid, int ms)
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

static void sc_nonsva_busy(const char *dev)
{
	int to_a[2], from_a[2], e, st;
	struct uacce_q *q;
	double t0;
	pid_t a;

	set_ctx(dev, "nonsva-busy");
	if (is_sva(dev)) {
		fail("%s is an SVA device", dev);
		return;
	}
	if (pipe2(to_a, O_CLOEXEC) < 0 || pipe2(from_a, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	a = fork();
	if (a == 0) {	/* process A: hold the device until told */
		struct uacce_q *qa;

		snprintf(ctx, sizeof(ctx), "nonsva-busy %s (process A)", dev);
		if (open_q(dev, &qa) || uacce_queue_start(qa))
			_exit(1);
		put_byte(from_a[1], 'R');
		if (get_byte(to_a[0], 10000) != 'C')
			_exit(2);
		uacce_queue_close(qa);
		put_byte(from_a[1], 'D');
		get_byte(to_a[0], 10000);	/* stay alive: only the close released it */
		_exit(0);
	}
	if (a < 0) {
		fail("fork: %s", strerror(errno));
		return;
	}
	if (get_byte(from_a[0], 5000) != 'R') {
		fail("process A could not open %s", dev);
		child_status(a, 1000);
		return;
	}
	e = uacce_queue_open(dev, &q);
	if (!e)
		uacce_queue_close(q);
	expect("open by a second process while A holds it", -e, EBUSY);
	if (sva_dev) {
		e = uacce_queue_open(sva_dev, &q);
		if (!e)
			uacce_queue_close(q);
		{
			char what[160];

			snprintf(what, sizeof(what), "open of the SVA device %s meanwhile", sva_dev);
			expect(what, -e, 0);
		}
	}
	put_byte(to_a[1], 'C');
	if (get_byte(from_a[0], 5000) != 'D') {
		fail("process A did not close");
	} else {
		t0 = now_ms();
		while ((e = uacce_queue_open(dev, &q)) == -EBUSY && now_ms() - t0 < T(1000))
			sleep_ms(2);
		info("open succeeded %.1f ms after A's close() returned", now_ms() - t0);
		if (expect("open by the second process after A closed (A still alive)", -e, 0)) {
			expect("UACCE_CMD_START by the second process", -uacce_queue_start(q), 0);
			uacce_queue_close(q);
		}
	}
	put_byte(to_a[1], 'X');
	st = child_status(a, 5000);
	if (st != 0)
		fail("process A: expected exit 0 got %d", st);
	close(to_a[0]);
	close(to_a[1]);
	close(from_a[0]);
	close(from_a[1]);
}

/* checks done by a process that has the queue fd but is not its owner */
static void stranger_checks(struct wd_queue *q, int fd, bool inherited)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n, s, socks[8];
	char c;

	expect("UACCE_CMD_START", xioctl(fd, UACCE_CMD_START, 0), EPERM);
	expect("UACCE_CMD_PUT_Q", xioctl(fd, UACCE_CMD_PUT_Q, 0), EPERM);
	expect("DUMMY_CMD_FLUSH", xioctl(fd, DUMMY_CMD_FLUSH, 0), EPERM);
	expect("UACCE_CMD_SHARE_SVAS", xioctl(fd, UACCE_CMD_SHARE_SVAS, (unsigned long)fd), EPERM);
	expect("read(2)", read(fd, &c, 1) < 0 ? errno : 0, EPERM);
	n = poll(&p, 1, T(1000));
	if (n == 1 && (p.revents & POLLERR))
		ok("poll reports POLLERR (revents 0x%x)", (unsigned)p.revents);
	else
		fail("poll: expected POLLERR got %d, revents 0x%x", n, (unsigned)p.revents);
	n = bk_attach_status(fd, &s);
	expect("broker UB_ATTACH with this queue fd", -n, EPERM);
	if (s >= 0) {
		n = bk_map(s, UACCE_QFRT_MMIO, 4096);
		if (n != 0)
			ok("UB_MAP on the refused connection -> %s", ename(-n));
		else
			fail("UB_MAP on the refused connection: expected an error got success");
		close(s);
	}
	if (inherited) {
		uint64_t off, size;
		void *addr;

		uacce_region_info(q->uq, UACCE_QFRT_MMIO, &off, &size);
		expect("uacce_map_region(MMIO) in the child",
		       -uacce_map_region(q->uq, UACCE_QFRT_MMIO, size, &addr), EPERM);
		/* the parent's broker connection, inherited: every message is checked */
		n = find_broker_socks(socks, 8);
		if (n == 0)
			fail("no inherited broker connection found");
		for (int i = 0; i < n; i++) {
			int r = bk_map(socks[i], UACCE_QFRT_MMIO, size);

			expect("UB_MAP on the parent's inherited broker connection", -r, EPERM);
		}
	}
}

static void sc_fork(const char *dev)
{
	static const int types[] = { UACCE_QFRT_MMIO, UACCE_QFRT_DUS, UACCE_QFRT_SS };
	struct wd_queue q;
	pid_t c;
	int st;

	set_ctx(dev, "fork");
	if (request_wd(&q, dev))
		return;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE)) {
		fail("reserve SS: %s", strerror(errno));
		wd_release_queue(&q);
		return;
	}
	check_copy("a copy in the parent before fork", &q);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		snprintf(ctx, sizeof(ctx), "fork %s (child)", dev);
		n_fail = 0;
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			void *addr = uacce_region_addr(q.uq, types[i]);
			static const char *const nm[] = { "MMIO", "DKO", "DUS", "SS" };
			char what[96];

			if (!addr)
				continue;
			snprintf(what, sizeof(what), "%s region address not mapped in the child (mincore)",
				 nm[types[i]]);
			expect(what, mapped_err(addr, 4096), ENOMEM);
		}
		stranger_checks(&q, q.fd, true);
		close(q.fd);
		fflush(stdout);
		_exit(n_fail ? 1 : 0);
	}
	if (c < 0) {
		fail("fork: %s", strerror(errno));
		wd_release_queue(&q);
		return;
	}
	st = child_status(c, 20000);
	expect_true("child finished its checks", st == 0, st < 0 ? "timeout" : "failures");
	expect("parent: region still mapped", mapped_err(uacce_region_addr(q.uq, UACCE_QFRT_MMIO),
						     4096), 0);
	expect("parent: DUMMY_CMD_FLUSH", xioctl(q.fd, DUMMY_CMD_FLUSH, 0), 0);
	check_copy("parent: a copy after the child closed its copy of the fd", &q);
	wd_release_queue(&q);
}

static int drop_to(int uid)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	gid_t gid = pw ? pw->pw_gid : (gid_t)uid;

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
		return -errno;
	return 0;
}

static int send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char b = 'F';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	int fd = -1;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void sc_scm_rights(const char *dev)
{
	struct wd_queue q;
	int sv[2], st;
	pid_t c;

	set_ctx(dev, "scm-rights");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		fail("socketpair: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	c = fork();	/* before the queue exists: the fd only arrives by SCM_RIGHTS */
	if (c == 0) {
		int fd;

		close(sv[0]);
		snprintf(ctx, sizeof(ctx), "scm-rights %s (receiver)", dev);
		n_fail = 0;
		if (peer_uid >= 0) {
			int e = drop_to(peer_uid);

			if (e) {
				fail("dropping to uid %d: %s", peer_uid, ename(-e));
				_exit(1);
			}
			snprintf(ctx, sizeof(ctx), "scm-rights %s (receiver, uid %d)", dev, peer_uid);
		}
		fd = recv_fd(sv[1]);
		if (fd < 0) {
			fail("no fd received");
			_exit(1);
		}
		stranger_checks(NULL, fd, false);
		close(fd);
		fflush(stdout);
		_exit(n_fail ? 1 : 0);
	}
	close(sv[1]);
	if (c < 0) {
		fail("fork: %s", strerror(errno));
		close(sv[0]);
		return;
	}
	if (request_wd(&q, dev)) {
		close(sv[0]);
		child_status(c, 5000);
		return;
	}
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE))
		fail("reserve SS: %s", strerror(errno));
	expect("sending the queue fd over a socketpair", -send_fd(sv[0], q.fd), 0);
	st = child_status(c, 20000);
	expect_true("the receiver finished its checks", st == 0, st < 0 ? "timeout" : "failures");
	close(sv[0]);
	check_copy("the owner still copies after the receiver closed its fd", &q);
	wd_release_queue(&q);
}

/*
 * Another process reaching the owner's queue file without fork or
 * SCM_RIGHTS: pidfd_getfd(2) gives it the very same open file (refused like
 * any stranger); opening /proc/<owner>/fd/<n> re-opens the device node, which
 * is a new open and so a queue of its own (EBUSY on a non-SVA device the
 * owner holds), never access to the owner's queue.
 */
static void sc_proc_fd(const char *dev)
{
	struct wd_queue q;
	pid_t owner = getpid(), c;
	int before, st;

	set_ctx(dev, "proc-fd");
	if (request_wd(&q, dev))
		return;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE))
		fail("reserve SS: %s", strerror(errno));
	before = avail(dev);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		char path[64];
		int pfd, fd;

		snprintf(ctx, sizeof(ctx), "proc-fd %s (other process)", dev);
		n_fail = 0;
		pfd = (int)syscall(SYS_pidfd_open, owner, 0);
		fd = pfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pfd, q.fd, 0);
		if (fd < 0) {
			info("pidfd_getfd of the owner's queue fd: %s (ptrace rules): skipped",
			     strerror(errno));
		} else {
			ok("pidfd_getfd gave this process the owner's open queue file");
			stranger_checks(NULL, fd, false);
			close(fd);
		}
		if (pfd >= 0)
			close(pfd);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)owner, q.fd);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (q.dev_flags & UACCE_DEV_SVA) {
			expect("open(/proc/<owner>/fd/<n>) is a new open", fd < 0 ? errno : 0, 0);
			if (fd >= 0) {
				expect_true("the new open took a hardware queue of its own",
					    avail(dev) == before - 1, "available_instances unchanged");
				expect("UACCE_CMD_START on the new open (its own queue)",
				       xioctl(fd, UACCE_CMD_START, 0), 0);
				close(fd);
			}
		} else {
			expect("open(/proc/<owner>/fd/<n>) while the owner holds the non-SVA device",
			       fd < 0 ? errno : 0, EBUSY);
			if (fd >= 0)
				close(fd);
		}
		fflush(stdout);
		_exit(n_fail ? 1 : 0);
	}
	if (c < 0) {
		fail("fork: %s", strerror(errno));
	} else {
		st = child_status(c, T(20000));
		expect_true("the other process finished its checks", st == 0,
			    st < 0 ? "timeout" : "failures");
	}
	check_copy("the owner still copies", &q);
	wd_release_queue(&q);
}

/* another non-SVA dummy device with another api, if the daemon has one */
static char *other_nonsva(const char *dev)
{
	char path[512], api[64], api2[64];
	struct dirent *de;
	char *found = NULL;
	DIR *d;

	if (uacce_dev_attr(dev, "api", api, sizeof(api)) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/class", uacce_runtime_dir());
	d = opendir(path);
	if (!d)
		return NULL;
	while (!found && (de = readdir(d)))
		if (strncmp(de->d_name, "uacce-", 6) == 0 && strcmp(de->d_name, dev) != 0 &&
		    !is_sva(de->d_name) &&
		    uacce_dev_attr(de->d_name, "api", api2, sizeof(api2)) >= 0 &&
		    strncmp(api2, "dummy_", 6) == 0 && strcmp(api, api2) != 0)
			found = strdup(de->d_name);
	closedir(d);
	return found;
}

static void share_other_type(const char *dev)
{
	char *other = other_nonsva(dev), what[200];
	struct wd_queue a, c;

	if (!other)
		return;
	if (request_wd(&a, dev) == 0) {
		if (!wd_reserve_memory(&a, SS_SIZE)) {
			fail("reserve SS: %s", strerror(errno));
		} else if (request_wd(&c, other) == 0) {
			snprintf(what, sizeof(what), "SHARE_SVAS into a queue of %s (api %s) from %s",
				 other, uacce_queue_api(c.uq), dev);
			expect(what, xioctl(c.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
			wd_release_queue(&c);
		}
		wd_release_queue(&a);
	}
	free(other);
}

static void sc_share(const char *dev, const char *svadev)
{
	struct wd_queue a, b;
	struct uacce_q *d;
	int pfd[2], nullfd, badfd;
	unsigned char *ss;
	void *p;

	set_ctx(dev, "share");
	if (request_wd(&a, dev))
		return;
	if (request_wd(&b, dev)) {
		wd_release_queue(&a);
		return;
	}
	expect("SHARE_SVAS from a source without SS",
	       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
	ss = wd_reserve_memory(&a, SS_SIZE);
	if (!ss) {
		fail("reserve SS on queue A: %s", strerror(errno));
		goto out;
	}
	if (open_q(dev, &d) == 0) {
		expect("SHARE_SVAS on a queue that is not STARTED",
		       xioctl(uacce_queue_fd(d), UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
		uacce_queue_close(d);
	}
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	expect("SHARE_SVAS with an fd of /dev/null",
	       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)nullfd), EINVAL);
	close(nullfd);
	if (pipe2(pfd, O_CLOEXEC) == 0) {
		expect("SHARE_SVAS with a pipe fd",
		       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)pfd[0]), EINVAL);
		close(pfd[0]);
		close(pfd[1]);
	}
	for (badfd = 900; badfd < 1000 && fcntl(badfd, F_GETFD) >= 0; badfd++)
		;
	expect2("SHARE_SVAS with an fd number that is not open",
		xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)badfd), EBADF, EINVAL);
	expect2("SHARE_SVAS with fd -1", xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)-1),
		EBADF, EINVAL);
	expect("SHARE_SVAS with its own fd", xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)b.fd),
	       EINVAL);
	if (expect("SHARE_SVAS of A's SS into B", -wd_share_reserved_memory(&a, &b), 0)) {
		int r;

		fill(ss, 4096, 11);
		memset(ss + 16384, 0, 4096);
		r = wd_copy(&b, ss + 16384, ss, 4096, 11);
		expect("B copies inside the shared SS", r, 0);
		expect_true("B's copy landed in A's memory", r == 0 && memcmp(ss, ss + 16384, 4096) == 0,
			    "different bytes");
		fill(ss + 4096, 4096, 12);
		r = wd_copy(&a, ss + 32768, ss + 4096, 4096, 12);
		expect_true("A still copies in its SS",
			    r == 0 && memcmp(ss + 4096, ss + 32768, 4096) == 0, ename(r));
		expect("SHARE_SVAS again (B has an SS now)",
		       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
		expect("B maps SS itself after sharing",
		       -uacce_map_region(b.uq, UACCE_QFRT_SS, SS_SIZE, &p), EBUSY);
		/* the SS lives while a queue shares it (the bytes are A's mapping: gone) */
		wd_release_queue(&a);
		sleep_ms(50);
		expect("B still copies inside the shared SS after A was closed",
		       wd_copy(&b, ss + 16384, ss, 4096, 13), 0);
	}
out:
	wd_release_queue(&b);
	wd_release_queue(&a);
	share_other_type(dev);
	if (svadev) {
		set_ctx(svadev, "share");
		if (request_wd(&a, svadev))
			return;
		if (request_wd(&b, svadev) == 0) {
			expect("SHARE_SVAS between two queues of an SVA device",
			       xioctl(b.fd, UACCE_CMD_SHARE_SVAS, (unsigned long)a.fd), EINVAL);
			wd_release_queue(&b);
		}
		wd_release_queue(&a);
	}
}

static void sc_rlimit(const char *dev)
{
	const rlim_t lim = 16 << 20;
	struct uacce_q *a = NULL, *b = NULL;
	struct rlimit old, rl;
	uint64_t off, size;
	int r[5];
	void *p;

	set_ctx(dev, "rlimit");
	if (getrlimit(RLIMIT_DATA, &old) < 0 || (old.rlim_max != RLIM_INFINITY && old.rlim_max < lim)) {
		fail("RLIMIT_DATA cannot be set to %lu", (unsigned long)lim);
		return;
	}
	/* everything that allocates happens before the limit is lowered */
	if (open_q(dev, &a) || open_q(dev, &b))
		goto out;
	uacce_region_info(a, UACCE_QFRT_MMIO, &off, &size);
	if (uacce_queue_start(a) || uacce_queue_start(b) ||
	    uacce_map_region(a, UACCE_QFRT_MMIO, size, &p) ||
	    uacce_map_region(b, UACCE_QFRT_MMIO, size, &p)) {
		fail("set-up (START, map MMIO) failed");
		goto out;
	}
	rl = old;
	rl.rlim_cur = lim;
	if (setrlimit(RLIMIT_DATA, &rl) < 0) {
		fail("setrlimit: %s", strerror(errno));
		goto out;
	}
	/* nothing but the region calls until the limit is restored (no printf:
	 * a sanitizer's allocator cannot grow under a small RLIMIT_DATA) */
	r[0] = -uacce_map_region(a, UACCE_QFRT_SS, 64 << 20, &p);
	r[1] = -uacce_map_region(a, UACCE_QFRT_SS, 17 << 20, &p);
	r[2] = -uacce_map_region(a, UACCE_QFRT_SS, 8 << 20, &p);
	r[3] = -uacce_map_region(b, UACCE_QFRT_SS, 8 << 20, &p);
	r[4] = -uacce_map_region(b, UACCE_QFRT_SS, 4 << 20, &p);
	setrlimit(RLIMIT_DATA, &old);
	ok("RLIMIT_DATA lowered to 16 MiB for the following calls");
	expect("map an SS of 64 MiB (more than RLIMIT_DATA)", r[0], ENOMEM);
	expect("map an SS of 17 MiB (just over RLIMIT_DATA)", r[1], ENOMEM);
	expect("map an SS of 8 MiB on queue A (under RLIMIT_DATA)", r[2], 0);
	expect("map 8 MiB more on queue B (the process's regions would pass RLIMIT_DATA)", r[3],
	       ENOMEM);
	expect("map 4 MiB on queue B (fits)", r[4], 0);
out:
	if (b)
		uacce_queue_close(b);
	if (a)
		uacce_queue_close(a);
}

static bool daemon_alive(void)
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

/* a request that must fail on the device, not in the daemon */
static void expect_bad(struct wd_queue *q, const char *what, void *dst, const void *src, size_t size)
{
	int r = wd_copy(q, dst, src, size, 99);

	if (r != 0 && r != ETIMEDOUT && r != EPROTO && r != ENOTCONN)
		ok("%s -> request failed (ret %d, %s)", what, r, ename(r));
	else
		fail("%s: expected a non-zero ret got %s", what, r ? ename(r) : "ret 0");
}

static void sc_bad_requests(const char *dev)
{
	struct wd_queue q;
	unsigned char *ss, *heap, stackbuf[64];
	bool sva = is_sva(dev);

	set_ctx(dev, "bad-requests");
	if (request_wd(&q, dev))
		return;
	heap = malloc(8192);
	if (!sva) {
		ss = wd_reserve_memory(&q, SS_SIZE);
		if (!ss) {
			fail("reserve SS: %s", strerror(errno));
			goto out;
		}
		expect_bad(&q, "source outside SS (heap)", ss, heap, 4096);
		expect_bad(&q, "target outside SS (stack)", stackbuf, ss, sizeof(stackbuf));
		expect_bad(&q, "source runs past the end of SS", ss, ss + SS_SIZE - 2048, 4096);
		expect_bad(&q, "NULL source", ss, NULL, 16);
		expect_bad(&q, "size 2^40", ss + 4096, ss, 1ULL << 40);
		expect_bad(&q, "size wraps the address space", ss + 4096, ss, SIZE_MAX - 10);
	} else {
		void *hole = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		munmap(hole, 8192);
		expect_bad(&q, "unmapped source", heap, hole, 4096);
		expect_bad(&q, "unmapped target", hole, heap, 4096);
		expect_bad(&q, "NULL source", heap, NULL, 16);
		expect_bad(&q, "size 2^40", heap + 4096, heap, 1ULL << 40);
		expect_bad(&q, "source straddles into an unmapped page", heap,
			   (char *)hole + 4096 - 16, 64);
		/* a device behind an IOMMU faults on a write to a read-only page */
		{
			int r = wd_copy(&q, ro, heap, 64, 98);

			if (r != 0)
				ok("write to a read-only page -> request failed (ret %d)", r);
			else
				info("WARNING: a copy into a PROT_READ page succeeded "
				     "(the page now differs: %s)",
				     ((unsigned char *)ro)[0] == heap[0] ? "written" : "not written");
		}
		munmap(ro, 4096);
	}
	/* garbage in the register page must not hurt the device */
	{
		int type = uacce_region_info(q.uq, UACCE_QFRT_DUS, &(uint64_t){ 0 },
					     &(uint64_t){ 0 }) == 0 ? UACCE_QFRT_DUS : UACCE_QFRT_MMIO;
		struct dummy_hw_queue_reg *reg = uacce_region_addr(q.uq, type);
		uint32_t head = reg->head;

		reg->head = 0x7fffffff;
		expect("DUMMY_CMD_FLUSH with a garbage head", xioctl(q.fd, DUMMY_CMD_FLUSH, 0), 0);
		sleep_ms(20);
		reg->head = head;
		reg->tail = 12345;	/* the device keeps its own tail */
		sleep_ms(20);
		expect_true("daemon alive after garbage in the register page", daemon_alive(), "dead");
		reg->tail = head;
	}
	check_copy("a good request on the same queue afterwards", &q);
	expect_true("daemon still running", daemon_alive(), "no daemon");
out:
	free(heap);
	wd_release_queue(&q);
	{
		struct wd_queue q2;

		if (request_wd(&q2, dev) == 0) {
			if (!sva && !wd_reserve_memory(&q2, SS_SIZE))
				fail("reserve SS: %s", strerror(errno));
			check_copy("a new queue copies afterwards", &q2);
			wd_release_queue(&q2);
		}
	}
}

struct submitter {
	struct rawq *r;
	const void *src;
	void *dst;
	bool kick;
	int delay_ms;
	double t_submit;
};

static void *submit_later(void *arg)
{
	struct submitter *s = arg;

	sleep_ms(s->delay_ms);
	s->t_submit = now_ms();
	rawq_submit(s->r, s->src, s->dst, 4096, s->kick);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void sc_poll_wakeup(const char *dev)
{
	enum { N = 15 };
	unsigned char *heap = NULL, *src, *dst;
	struct rawq r;

	set_ctx(dev, "poll-wakeup");
	if (rawq_open(&r, dev, SS_SIZE))
		return;
	if (r.sva) {
		heap = malloc(8192);
		src = heap;
		dst = heap + 4096;
	} else {
		src = r.ss;
		dst = r.ss + 4096;
	}
	for (int kick = 1; kick >= 0; kick--) {
		double lat[N];
		int bad = 0, n = 0, rdnorm_missing = 0;

		for (int i = 0; i < N; i++) {
			struct submitter s = { .r = &r, .src = src, .dst = dst, .kick = kick,
					       .delay_ms = 20 + i % 3 * 7 };
			struct pollfd p = { .fd = r.fd, .events = POLLIN | POLLRDNORM };
			pthread_t t;
			int k;

			while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN))	/* drain */
				;
			fill(src, 4096, (uint32_t)i);
			memset(dst, 0, 4096);
			if (pthread_create(&t, NULL, submit_later, &s) != 0) {
				fail("pthread_create");
				break;
			}
			/* a completion wakes a poller blocked before it happened */
			do {
				k = poll(&p, 1, T(2000));
			} while (k == 1 && !(p.revents & (POLLIN | POLLERR)));
			{
				double t1 = now_ms();

				pthread_join(t, NULL);
				if (k != 1 || !(p.revents & POLLIN)) {
					fail("poll after request %d: expected POLLIN got %d revents 0x%x",
					     i, k, (unsigned)p.revents);
					bad++;
					break;
				}
				lat[n++] = t1 - s.t_submit;
				if (!(p.revents & POLLRDNORM) && !rdnorm_missing++)
					fail("poll after request %d: expected POLLIN|POLLRDNORM got revents 0x%x",
					     i, (unsigned)p.revents);
			}
			if (!rawq_done(&r) || rawq_take(&r) != 0 || memcmp(src, dst, 4096) != 0) {
				bad++;
				fail("request %d: not complete or wrong after POLLIN", i);
			}
		}
		if (n) {
			qsort(lat, (size_t)n, sizeof(lat[0]), cmp_d);
			info("%s: submit -> poll(POLLIN) return over %d requests: min %.2f ms, "
			     "median %.2f ms, max %.2f ms",
			     kick ? "with the libuacce wake-up" : "original client (no wake-up)", n,
			     lat[0], lat[n / 2], lat[n - 1]);
			if (lat[n - 1] < T(1000.0))
				ok("%s: every poll returned within %d ms of the submission (max %.1f ms)",
				   kick ? "with wake-up" : "without wake-up", T(1000), lat[n - 1]);
			else
				fail("%s: poll latency: expected < %d ms got %.1f ms",
				     kick ? "with wake-up" : "without wake-up", T(1000), lat[n - 1]);
		}
		if (!bad && !rdnorm_missing)
			ok("%s: %d requests completed and woke the poller (POLLIN|POLLRDNORM)",
			   kick ? "with wake-up" : "without wake-up", N);
	}
	free(heap);
	rawq_close(&r);
}

/* the owner is the process: a queue opened by a thread that exits keeps working */
struct opener {
	const char *dev;
	struct wd_queue *q;
	int err;
};

static void *open_in_thread(void *arg)
{
	struct opener *o = arg;
	struct wd_queue *q = o->q;

	o->err = request_wd(q, o->dev);
	if (!o->err && !(q->dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(q, SS_SIZE))
		o->err = errno;
	return NULL;
}

static void *flush_in_thread(void *arg)
{
	struct wd_queue *q = arg;

	return (void *)(intptr_t)xioctl(q->fd, DUMMY_CMD_FLUSH, 0);
}

static void sc_threads(const char *dev)
{
	struct wd_queue q;
	struct opener o = { .dev = dev, .q = &q };
	pthread_t t;
	void *ret;

	set_ctx(dev, "threads");
	if (pthread_create(&t, NULL, open_in_thread, &o) != 0) {
		fail("pthread_create");
		return;
	}
	pthread_join(t, NULL);
	if (!expect("a thread opens, starts and maps a queue, then exits", o.err, 0)) {
		if (q.uq)
			wd_release_queue(&q);
		return;
	}
	check_copy("the main thread copies on it", &q);
	if (pthread_create(&t, NULL, flush_in_thread, &q) == 0) {
		pthread_join(t, &ret);
		expect("DUMMY_CMD_FLUSH from another thread of the owner", (int)(intptr_t)ret, 0);
	}
	expect("DUMMY_CMD_FLUSH from the main thread", xioctl(q.fd, DUMMY_CMD_FLUSH, 0), 0);
	wd_release_queue(&q);
}

/*
 * The owner exits while a process it forked still holds the fd: the queue
 * is freed at once (instances back, a non-SVA device free again), and the
 * holder is refused.
 */
static void sc_owner_exit(const char *dev)
{
	int to_h[2], from[2], n0, v, st;
	struct uacce_q *q;
	char got[64];
	pid_t o;

	set_ctx(dev, "owner-exit");
	n0 = avail(dev);
	if (pipe2(to_h, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	o = fork();
	if (o == 0) {	/* the owner: open, start, fork the holder, exit */
		struct wd_queue wq;
		pid_t h;

		snprintf(ctx, sizeof(ctx), "owner-exit %s (owner)", dev);
		if (request_wd(&wq, dev))
			_exit(1);
		if (!(wq.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&wq, SS_SIZE))
			_exit(1);
		fflush(stdout);
		h = fork();
		if (h == 0) {	/* the holder: wait, then try the queue */
			struct pollfd p = { .fd = wq.fd, .events = POLLIN };
			int n;

			snprintf(ctx, sizeof(ctx), "owner-exit %s (holder)", dev);
			n_fail = 0;
			put_byte(from[1], 'H');
			if (get_byte(to_h[0], 20000) != 'T')
				_exit(2);
			expect("holder: UACCE_CMD_START after the owner exited",
			       xioctl(wq.fd, UACCE_CMD_START, 0), EPERM);
			expect("holder: DUMMY_CMD_FLUSH after the owner exited",
			       xioctl(wq.fd, DUMMY_CMD_FLUSH, 0), EPERM);
			n = poll(&p, 1, T(1000));
			if (n == 1 && (p.revents & POLLERR))
				ok("holder: poll reports POLLERR");
			else
				fail("holder: poll: expected POLLERR got %d revents 0x%x", n,
				     (unsigned)p.revents);
			fflush(stdout);
			put_byte(from[1], n_fail ? 'F' : 'P');
			get_byte(to_h[0], 20000);
			_exit(0);
		}
		if (get_byte(from[0], 5000) != 'H')
			_exit(3);
		_exit(0);	/* exit without closing: the holder keeps the file open */
	}
	if (o < 0) {
		fail("fork: %s", strerror(errno));
		return;
	}
	st = child_status(o, 10000);
	if (!expect_true("the owner opened a queue, forked a holder and exited", st == 0,
			 "an error")) {
		put_byte(to_h[1], 'X');
		return;
	}
	v = wait_avail(dev, n0, 1000);
	snprintf(got, sizeof(got), "%d (max %d) after 1 s", v, n0);
	expect_true("available_instances back to the maximum within 1 s (the holder still has the fd)",
		    v == n0, got);
	if (!is_sva(dev)) {
		int e = uacce_queue_open(dev, &q);

		if (!e)
			uacce_queue_close(q);
		expect("a new process opens the non-SVA device while the holder has the old fd", -e,
		       0);
	}
	put_byte(to_h[1], 'T');
	expect_true("the holder's checks passed", get_byte(from[0], 5000) == 'P', "failures");
	put_byte(to_h[1], 'X');
	close(to_h[0]);
	close(to_h[1]);
	close(from[0]);
	close(from[1]);
}

/* the region broker's wire protocol, from the client's side */
static void sc_broker_proto(const char *dev)
{
	struct wd_queue q;
	int s, s2, r, nullfd;

	set_ctx(dev, "broker-proto");
	if (request_wd(&q, dev))
		return;
	s = bk_connect();
	if (s < 0) {
		fail("connect to the broker: %s", ename(-s));
		wd_release_queue(&q);
		return;
	}
	expect("UB_MAP before UB_ATTACH", -bk_map(s, UACCE_QFRT_MMIO, 4096), ENOTCONN);
	expect("UB_ATTACH without an fd", -bk_call(s, UB_ATTACH, NULL, 0, -1), EBADF);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	expect("UB_ATTACH with /dev/null", -bk_call(s, UB_ATTACH, NULL, 0, nullfd), EINVAL);
	expect("unknown opcode 0x77", -bk_call(s, 0x77, NULL, 0, -1), EOPNOTSUPP);
	expect("UB_ATTACH with the queue fd", -bk_call(s, UB_ATTACH, NULL, 0, q.fd), 0);
	expect("UB_ATTACH a second time", -bk_call(s, UB_ATTACH, NULL, 0, q.fd), EALREADY);
	expect("UB_MAP of region type 99", -bk_map(s, 99, 4096), EINVAL);
	expect("UB_MAP of region type 0xffffffff", -bk_map(s, -1, 4096), EINVAL);
	expect("UB_MAP of MMIO with size 0", -bk_map(s, UACCE_QFRT_MMIO, 0), EINVAL);
	expect("UB_MAP of MMIO, mapped already by wd_request_queue", -bk_map(s, UACCE_QFRT_MMIO, 4096),
	       EBUSY);
	{
		struct ub_mapped m = { .type = UACCE_QFRT_DKO, .addr = 0x10000 };

		expect("UB_MAPPED for a region never mapped",
		       -bk_call(s, UB_MAPPED, &m, sizeof(m), -1), EINVAL);
		m.type = UACCE_QFRT_MMIO;
		m.addr = 0x10001;
		expect("UB_MAPPED with an unaligned address",
		       -bk_call(s, UB_MAPPED, &m, sizeof(m), -1), EINVAL);
	}
	{
		struct ub_region u = { .type = UACCE_QFRT_DUS };
		int e = -bk_call(s, UB_UNMAP, &u, 3, -1);

		expect("UB_UNMAP with a short body", e, EBADMSG);
	}
	{	/* an fd with a request that takes none: dropped, the reply comes */
		r = bk_call(s, 0x77, NULL, 0, nullfd);
		expect("unknown opcode with an fd attached", -r, EOPNOTSUPP);
	}
	{	/* a wrong version: the broker drops the connection */
		struct ub_hdr h = { .version = 99, .opcode = UB_ATTACH };
		char c;

		if (send(s, &h, sizeof(h), MSG_NOSIGNAL) < 0 || recv(s, &c, 1, 0) > 0)
			fail("protocol version 99: expected the connection closed");
		else
			ok("protocol version 99 -> connection closed");
	}
	close(s);
	s2 = bk_connect();
	if (s2 >= 0) {
		const char junk = 'x';

		if (send(s2, &junk, 1, MSG_NOSIGNAL) == 1) {
			char c;

			expect_true("a 1-byte packet -> connection closed", recv(s2, &c, 1, 0) <= 0,
				    "a reply");
		}
		close(s2);
	}
	close(nullfd);
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE))
		fail("reserve SS: %s", strerror(errno));
	check_copy("the queue still works", &q);
	expect_true("daemon still running", daemon_alive(), "no daemon");
	wd_release_queue(&q);
}

/*
 * Heavy, not part of "all": the owner of a non-SVA queue is killed while
 * its ring holds long copies and another process polls the inherited fd.
 * The daemon must free the queue and keep serving.
 */
static void sc_death_under_load(const char *dev)
{
	size_t sz = (size_t)(getenv("ABI_PROBE_LOAD_MB") ? atol(getenv("ABI_PROBE_LOAD_MB")) : 128)
		    << 20;
	int pp[2], n0, v, st;
	pid_t o, poller = 0, checker;
	char got[96];

	set_ctx(dev, "death-under-load");
	n0 = avail(dev);
	if (pipe2(pp, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	o = fork();
	if (o == 0) {
		struct wd_queue q;
		unsigned char *ss;
		pid_t c;

		snprintf(ctx, sizeof(ctx), "death-under-load %s (owner)", dev);
		if (request_wd(&q, dev))
			_exit(1);
		ss = wd_reserve_memory(&q, 2 * sz);
		if (!ss) {
			fail("reserve %zu MiB of SS: %s", 2 * sz >> 20, strerror(errno));
			_exit(1);
		}
		memset(ss, 1, 2 * sz);
		fflush(stdout);
		c = fork();
		if (c == 0) {	/* polls the inherited fd: every poll is refused */
			for (;;) {
				struct pollfd p = { .fd = q.fd, .events = POLLIN };

				poll(&p, 1, 5);
			}
		}
		for (int i = 0; i < Q_BDS - 1; i++) {
			struct wd_dummy_cpy_msg m = { .src_addr = (char *)ss,
						      .tgt_addr = (char *)ss + sz,
						      .size = sz, .ptr = (void *)1 };

			wd_send(&q, &m);
		}
		if (write(pp[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		for (;;)
			pause();
	}
	if (o < 0 || read(pp[0], &poller, sizeof(poller)) != sizeof(poller)) {
		fail("the owner could not set up");
		if (o > 0)
			child_status(o, 1000);
		return;
	}
	sleep_ms(20);
	kill(o, SIGKILL);
	waitpid(o, &st, 0);
	ok("owner killed with %d copies of %zu MiB in its ring, pid %d polling its fd",
	   Q_BDS - 1, sz >> 20, (int)poller);
	v = wait_avail(dev, n0, 10000);
	snprintf(got, sizeof(got), "%d (max %d) after 10 s", v, n0);
	expect_true("available_instances back to the maximum", v == n0, got);
	fflush(stdout);
	checker = fork();	/* a fresh client; it may hang if the daemon is wedged */
	if (checker == 0) {
		struct wd_queue q;

		snprintf(ctx, sizeof(ctx), "death-under-load %s (new client)", sva_dev ? sva_dev : dev);
		n_fail = 0;
		if (request_wd(&q, sva_dev ? sva_dev : dev))
			_exit(1);
		if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE))
			_exit(1);
		check_copy("a copy by a new client", &q);
		wd_release_queue(&q);
		_exit(n_fail ? 1 : 0);
	}
	st = child_status(checker, 10000);
	expect_true("the daemon serves a new client within 10 s", st == 0,
		    st < 0 ? "no answer: the daemon is wedged" : "an error");
	kill(poller, SIGKILL);
	close(pp[0]);
	close(pp[1]);
}

/* --- helpers for the scripts ------------------------------------------------------ */

static int cmd_hold(const char *dev)
{
	struct wd_queue q;

	set_ctx(dev, "hold");
	if (request_wd(&q, dev))
		return 1;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE)) {
		fail("reserve SS: %s", strerror(errno));
		return 1;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_wait_death(const char *dev, bool raw_poll)
{
	struct wd_queue q;
	double t0, t1;
	void *resp;
	int r;

	set_ctx(dev, "wait-death");
	if (request_wd(&q, dev))
		return 1;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE)) {
		fail("reserve SS: %s", strerror(errno));
		return 1;
	}
	check_copy("a copy before the wait", &q);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	t0 = now_ms();
	if (raw_poll) {
		struct pollfd p = { .fd = q.fd, .events = POLLIN };

		do
			r = poll(&p, 1, -1);
		while ((r == 1 && !(p.revents & (POLLERR | POLLHUP | POLLNVAL))) ||
		       (r < 0 && errno == EINTR));
		t1 = now_ms();
		if (r == 1)
			ok("blocked poll(POLLIN) woke with revents 0x%x (POLLERR) after %.0f ms",
			   (unsigned)p.revents, t1 - t0);
		else
			fail("blocked poll: expected POLLERR got %d (%s)", r, strerror(errno));
	} else {
		r = wd_recv_sync(&q, &resp, 0);	/* 0: wait forever */
		t1 = now_ms();
		if (r < 0)
			ok("blocked wd_recv_sync returned %s after %.0f ms", ename(-r), t1 - t0);
		else
			fail("blocked wd_recv_sync: expected an error got %d", r);
	}
	expect("UACCE_CMD_START on the dead queue", xioctl(q.fd, UACCE_CMD_START, 0), ENOTCONN);
	expect("DUMMY_CMD_FLUSH on the dead queue", xioctl(q.fd, DUMMY_CMD_FLUSH, 0), ENOTCONN);
	wd_release_queue(&q);
	return n_fail ? 1 : 0;
}

static int cmd_open(const char *dev, const char *want_s)
{
	int want = errno_by_name(want_s), fd, got;
	char path[512], what[600];

	set_ctx(dev, "open");
	if (want < 0) {
		fprintf(stderr, "abi-probe: unknown errno name %s\n", want_s);
		return 2;
	}
	if (strchr(dev, '/'))
		snprintf(path, sizeof(path), "%s", dev);
	else if ((got = uacce_dev_path(dev, path, sizeof(path))) < 0) {
		fail("no device path: %s", ename(-got));
		return 1;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	got = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	snprintf(what, sizeof(what), "open(%s) by uid %d", path, (int)getuid());
	expect(what, got, want);
	return n_fail ? 1 : 0;
}

/*
 * flood DEV MS [MIB]: for MS ms, fill the ring of a started queue with
 * Q_BDS - 1 copies of MIB MiB (default 64; in SS on a non-SVA device) and
 * issue DUMMY_CMD_FLUSH, which makes the daemon process them all before it
 * answers.  Prints "ready PID" before the first FLUSH, and at the end
 * "flush-ms N MIN AVG MAX" (N FLUSHes, their durations).
 */
static int cmd_flood(const char *dev, int ms, size_t mib)
{
	size_t sz = mib << 20;
	unsigned char *src, *heap = NULL;
	double end, min = 0, max = 0, sum = 0;
	struct rawq r;
	int n = 0;

	set_ctx(dev, "flood");
	if (!mib || rawq_open(&r, dev, 2 * sz))
		return 1;
	if (r.sva) {
		heap = malloc(2 * sz);
		if (!heap) {
			fail("malloc %zu MiB", 2 * mib);
			rawq_close(&r);
			return 1;
		}
	}
	src = r.sva ? heap : r.ss;
	memset(src, 0x5a, 2 * sz);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	end = now_ms() + ms;
	while (now_ms() < end) {
		double t0, d;
		int e;

		for (int i = 0; i < Q_BDS - 1; i++)
			rawq_submit(&r, src, src + sz, sz, false);
		t0 = now_ms();
		e = xioctl(r.fd, DUMMY_CMD_FLUSH, 0);
		d = now_ms() - t0;
		if (e || !rawq_done(&r)) {
			fail("DUMMY_CMD_FLUSH %d: %s, ring %s", n + 1, ename(e),
			     rawq_done(&r) ? "done" : "not done");
			break;
		}
		for (int i = 0; i < Q_BDS - 1; i++)
			if (rawq_take(&r) != 0)
				fail("FLUSH %d: a copy failed", n + 1);
		min = n && min < d ? min : d;
		max = max > d ? max : d;
		sum += d;
		n++;
	}
	info("%d FLUSHes of %d x %zu MiB in %d ms: %.0f ms each at least, %.0f on average, "
	     "%.0f at most", n, Q_BDS - 1, mib, ms, min, n ? sum / n : 0, max);
	printf("flush-ms %d %.0f %.0f %.0f\n", n, min, n ? sum / n : 0, max);
	free(heap);
	rawq_close(&r);
	return n_fail || !n ? 1 : 0;
}

/*
 * open-start DEV N: N times open DEV, START, close (with 50 ms between);
 * prints "open-start-ms N MAX AVG".
 */
static int cmd_open_start(const char *dev, int n)
{
	double max = 0, sum = 0;

	set_ctx(dev, "open-start");
	for (int i = 0; i < n; i++) {
		double t0 = now_ms(), d;
		struct uacce_q *q;
		int e;

		e = uacce_queue_open(dev, &q);
		if (e) {
			fail("open %d: %s", i + 1, ename(-e));
			return 1;
		}
		e = uacce_queue_start(q);
		uacce_queue_close(q);
		d = now_ms() - t0;
		if (e) {
			fail("START %d: %s", i + 1, ename(-e));
			return 1;
		}
		max = max > d ? max : d;
		sum += d;
		sleep_ms(50);
	}
	info("%d x open+START+close: %.0f ms at most, %.0f on average", n, max, n ? sum / n : 0);
	printf("open-start-ms %d %.0f %.0f\n", n, max, n ? sum / n : 0);
	return 0;
}

/* --- main ----------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_devices(void)
{
	char path[512], *names[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/class", uacce_runtime_dir());
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) && n < 64)
		if (strncmp(de->d_name, "uacce-", 6) == 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		char api[64];

		if (uacce_dev_attr(names[i], "api", api, sizeof(api)) < 0 ||
		    strncmp(api, "dummy_", 6) != 0) {
			free(names[i]);
			continue;
		}
		if (is_sva(names[i])) {
			if (!sva_dev) {
				sva_dev = names[i];
				continue;
			}
		} else if (!nonsva_dev) {
			nonsva_dev = names[i];
			continue;
		}
		free(names[i]);
	}
}

enum need { BOTH, NONSVA, NONSVA_SVA, HEAVY };

static const struct scenario {
	const char *name;
	enum need need;
	void (*fn)(const char *dev);
	const char *help;
} scenarios[] = {
	{ "start-twice", BOTH, sc_start_twice, "START, START -> EINVAL; PUT_Q, START -> EINVAL" },
	{ "put-then-start", BOTH, sc_put_then_start, "PUT_Q on INIT, then START -> EINVAL" },
	{ "unknown-ioctl", BOTH, sc_unknown_ioctl, "unknown ioctls -> EINVAL, IDENT -> EPERM" },
	{ "flush", BOTH, sc_flush, "DUMMY_CMD_FLUSH after START processes the ring" },
	{ "region-sizes", BOTH, sc_region_sizes, "qfrs_offset, MMIO/DUS sizes, EBUSY, absent regions" },
	{ "ss-rules", BOTH, sc_ss_rules, "SS only after START on non-SVA, never on SVA; DKO" },
	{ "instances", BOTH, sc_instances, "available_instances at open, PUT_Q, close; exhaustion" },
	{ "nonsva-busy", NONSVA, sc_nonsva_busy, "a second process gets EBUSY on a non-SVA device" },
	{ "fork", BOTH, sc_fork, "a forked child: no mappings, EPERM, POLLERR; parent unaffected" },
	{ "scm-rights", BOTH, sc_scm_rights, "a queue fd passed to another process: EPERM" },
	{ "proc-fd", BOTH, sc_proc_fd, "pidfd_getfd: EPERM; /proc/<pid>/fd reopen: a new queue" },
	{ "share", NONSVA_SVA, NULL, "UACCE_CMD_SHARE_SVAS rules and use" },
	{ "rlimit", NONSVA, sc_rlimit, "SS beyond RLIMIT_DATA -> ENOMEM" },
	{ "bad-requests", BOTH, sc_bad_requests, "bad addresses fail the request, not the daemon" },
	{ "poll-wakeup", BOTH, sc_poll_wakeup, "a blocked poll wakes within 1 s of a completion" },
	{ "threads", BOTH, sc_threads, "the owner is the process, not the opening thread" },
	{ "owner-exit", BOTH, sc_owner_exit, "owner exits, a forked holder keeps the fd" },
	{ "broker-proto", BOTH, sc_broker_proto, "region broker protocol errors" },
	{ "death-under-load", HEAVY, sc_death_under_load,
	  "(not in all) owner killed with a full ring while another process polls" },
};

static void run_scenario(const struct scenario *s)
{
	if (strcmp(s->name, "share") == 0) {
		if (skip_nonsva)
			return;
		if (!nonsva_dev) {
			set_ctx(NULL, "share");
			fail("no non-SVA dummy device");
			return;
		}
		sc_share(nonsva_dev, sva_dev);
		return;
	}
	if ((s->need == NONSVA || s->need == BOTH || s->need == HEAVY) && !skip_nonsva) {
		if (nonsva_dev) {
			s->fn(nonsva_dev);
		} else {
			set_ctx(NULL, "%s", s->name);
			fail("no non-SVA dummy device");
		}
	}
	if (s->need == BOTH && !skip_sva) {
		if (sva_dev) {
			s->fn(sva_dev);
		} else {
			set_ctx(NULL, "%s", s->name);
			fail("no SVA dummy device");
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: abi-probe [-N NONSVA_DEV|none] [-S SVA_DEV|none] [--peer-uid UID] "
		   "SCENARIO...\n"
		   "       abi-probe hold DEV | wait-death DEV [poll] | open DEV ERRNO\n"
		   "       abi-probe flood DEV MS [MIB] | open-start DEV N\n"
		   "       abi-probe list   (the scenarios of \"all\")\n"
		   "Scenarios (\"all\" runs every one):\n");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(f, "  %-15s %s\n", scenarios[i].name, scenarios[i].help);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nonsva", required_argument, NULL, 'N' },
		{ "sva", required_argument, NULL, 'S' },
		{ "peer-uid", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (getenv("UACCE_TIME_SCALE") && atoi(getenv("UACCE_TIME_SCALE")) > 1)
		tscale = atoi(getenv("UACCE_TIME_SCALE"));
	srand((unsigned)getpid());
	while ((c = getopt_long(argc, argv, "+N:S:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'N':
			nonsva_dev = optarg;
			break;
		case 'S':
			sva_dev = optarg;
			break;
		case 'u':
			peer_uid = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "list") == 0) {
		for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			if (scenarios[i].need != HEAVY)	/* those of "all" */
				printf("%s\n", scenarios[i].name);
		return 0;
	}
	if (strcmp(argv[optind], "hold") == 0 && optind + 1 < argc)
		return cmd_hold(argv[optind + 1]);
	if (strcmp(argv[optind], "wait-death") == 0 && optind + 1 < argc)
		return cmd_wait_death(argv[optind + 1],
				      optind + 2 < argc && strcmp(argv[optind + 2], "poll") == 0);
	if (strcmp(argv[optind], "open") == 0 && optind + 2 < argc)
		return cmd_open(argv[optind + 1], argv[optind + 2]);
	if (strcmp(argv[optind], "flood") == 0 && optind + 2 < argc)
		return cmd_flood(argv[optind + 1], atoi(argv[optind + 2]),
				 optind + 3 < argc ? (size_t)atol(argv[optind + 3]) : 64);
	if (strcmp(argv[optind], "open-start") == 0 && optind + 2 < argc)
		return cmd_open_start(argv[optind + 1], atoi(argv[optind + 2]));
	if (!nonsva_dev || !sva_dev)
		find_devices();
	if (nonsva_dev && strcmp(nonsva_dev, "none") == 0)
		nonsva_dev = NULL, skip_nonsva = true;
	if (sva_dev && strcmp(sva_dev, "none") == 0)
		sva_dev = NULL, skip_sva = true;
	for (int i = optind; i < argc; i++) {
		bool all = strcmp(argv[i], "all") == 0, found = all;

		for (size_t j = 0; j < sizeof(scenarios) / sizeof(scenarios[0]); j++) {
			if ((all && scenarios[j].need != HEAVY) ||
			    strcmp(argv[i], scenarios[j].name) == 0) {
				run_scenario(&scenarios[j]);
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "abi-probe: unknown scenario \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	printf("abi-probe: %d ok, %d failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}
