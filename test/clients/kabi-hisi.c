/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kabi-hisi.c - a client of the HiSilicon QM v2 zip protocol written as
 * Linaro UADK drives a Kunpeng 920 zip queue through the kernel's uacce,
 * from the protocol facts alone (hisi-qm.md sections A-D): no libuacce, no
 * uacced header; the numbers and layouts below are this program's own copy
 * of the kernel's uapi (misc/uacce/uacce.h, misc/uacce/hisi_qm.h) and of
 * the queue manager's rings, doorbell and descriptor.  It checks the
 * device independently of its implementation and of its unit tests.
 *
 *   kabi-hisi [-d DEV] [-n N] [-t THREADS] MODE...
 *
 *   attrs    the class entry (api, flags, algorithms, region sizes,
 *            isolate, device/numa_node, available_instances), the ioctls
 *   block    block compress/decompress, deflate/zlib/gzip, byte-exact
 *            against zlib (here), isize and checksum words
 *   stream   stateful stream compress (128 KiB chunks, FINISH on the last)
 *            and decompress (until status 0x13 + last block), two streams
 *            interleaved on one queue
 *   status   0x0e (output does not fit, compress and decompress, exact fit),
 *            0x10 (damaged trailer), errors for data that is not deflate, a
 *            request type v2 lacks, 8 MiB + 1 bytes (8 MiB works)
 *   sgl      hardware SGL buffers (chained, skips across entries), block
 *            and stream mode
 *   async    one thread submits and rings SQ doorbells, another receives
 *            and rings CQ doorbells on the same word: N requests, none lost
 *   doorbell a request whose SQ doorbell a CQ doorbell overwrote, a slot with
 *            no doorbell, a slot written in place after them
 *   poll     poll(2) reports POLLIN after completions (epoll_en)
 *   threads  THREADS queues, one per thread
 *   fork     a child has no mappings, the parent's queue is EPERM, it
 *            opens its own; available_instances at open and close
 *   stop     hold a queue, print "ready PID", and wait for the TX-stop and
 *            RX-stop words (the caller stops the device)
 *   all      every mode above but stop
 *
 * One line per check ("ok: ...", "FAIL: ...", "info: ..."); exit status 1
 * on any failure, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/ioctl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* --- the kernel's uapi (hisi-qm.md A.1, B.1) ----------------------------------------- */
#define UACCE_CMD_START_Q	_IO('W', 0)
#define UACCE_CMD_PUT_Q		_IO('W', 1)
#define UACCE_DEV_SVA		0x1
struct qp_ctx {
	uint16_t id;
	uint16_t qc_type;
};
struct qp_info {
	uint32_t sqe_size;
	uint16_t sq_depth;
	uint16_t cq_depth;
	uint64_t reserved;
};
#define CMD_SET_QP_CTX		_IOWR('H', 10, struct qp_ctx)
#define CMD_SET_QP_INFO		_IOWR('H', 11, struct qp_info)
_Static_assert(CMD_SET_QP_CTX == 0xc004480a, "SET_QP_CTX");
_Static_assert(CMD_SET_QP_INFO == 0xc010480b, "SET_QP_INFO");
_Static_assert(UACCE_CMD_START_Q == 0x5700 && UACCE_CMD_PUT_Q == 0x5701, "uacce ioctls");

/* --- the v2 queue (B.3, B.4) --------------------------------------------------------- */
#define SYSFS		"/sys/class/uacce"
#define MMIO_SIZE	8192
#define DUS_SIZE	151552
#define DB_OFF		0x1000
#define DEPTH		1024
#define SQE_SIZE	128
#define CQ_OFF		(SQE_SIZE * DEPTH)
#define DB_SQ		0
#define DB_CQ		1

struct cqe {
	uint32_t rsvd0;
	uint16_t cmd_id;
	uint16_t rsvd1;
	uint16_t sq_head;
	uint16_t sq_num;
	uint16_t rsvd2;
	uint16_t w7;
};
_Static_assert(sizeof(struct cqe) == 16 && offsetof(struct cqe, sq_head) == 8 &&
		       offsetof(struct cqe, w7) == 14,
	       "cqe");

/* the zip SQE as 32 words (C) */
enum {
	W_CONSUMED = 0, W_PRODUCED = 1, W_STATUS = 3, W_INLEN = 4, W_7 = 7, W_8 = 8, W_9 = 9,
	W_TAG = 13, W_AVAIL = 14, W_TAG3 = 26, W_CTX0 = 15, W_SRC = 18, W_DST = 20, W_SCTX = 22,
	W_ISIZE = 30, W_CHECK = 31,
};
#define F_FINISH	(1u << 25)
#define F_STATEFUL	(1u << 26)
#define F_NEW		(1u << 27)
#define ST_OK		0x00
#define ST_NEGA		0x0d
#define ST_DST_SMALL	0x0e
#define ST_CRC		0x10
#define ST_END		0x13
#define LSTBLK		(1u << 8)
#define ALG_DEFLATE	1
#define ALG_ZLIB	2
#define ALG_GZIP	3
#define CHUNK		(128 * 1024)
#define CTX_SIZE	(64 * 1024)

/* the hw SGL (C) */
struct sgl_hdr {
	uint64_t next_dma;
	uint16_t sum_in_chain;
	uint16_t sum_in_sgl;
	uint16_t length_in_sgl;
	uint16_t pad0;
	uint64_t pad1[4];
	uint64_t next;
	uint64_t size_in_sgl;
};
struct sge {
	uint64_t buff;
	uint64_t page_ctrl;
	uint32_t len;
	uint32_t pad;
	uint64_t vbuff;
};
_Static_assert(sizeof(struct sgl_hdr) == 64 && offsetof(struct sgl_hdr, next) == 48 &&
		       offsetof(struct sgl_hdr, size_in_sgl) == 56,
	       "sgl header");
_Static_assert(sizeof(struct sge) == 32 && offsetof(struct sge, len) == 16, "sge");

/* --- reporting ------------------------------------------------------------------------ */
static int n_ok, n_fail, tscale = 1;
static unsigned long n_req;
static unsigned nreq = 2000, nthreads = 4;

static void line(const char *tag, const char *fmt, va_list ap)
{
	char buf[600];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	dprintf(STDOUT_FILENO, "%s: %s\n", tag, buf);
}

__attribute__((format(printf, 1, 2))) static void ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line("ok", fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&n_ok, 1, __ATOMIC_RELAXED);
}

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line("FAIL", fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&n_fail, 1, __ATOMIC_RELAXED);
}

__attribute__((format(printf, 1, 2))) static void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line("info", fmt, ap);
	va_end(ap);
}

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";

	return n ? n : "an unknown errno";
}

static bool expect(const char *what, long rc, int err, int want)
{
	int got = rc < 0 ? err : 0;

	if (got == want) {
		ok("%s -> %s", what, want ? ename(want) : "success");
		return true;
	}
	fail("%s: expected %s got %s", what, want ? ename(want) : "success", ename(got));
	return false;
}

/* the same for a call written in place: its errno is read after it */
#define EXPECT(what, call, want)                                          \
	__extension__({                                                   \
		long x_rc_ = (long)(call);                                \
		int x_err_ = errno;                                       \
		expect((what), x_rc_, x_err_, (want));                    \
	})

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* data: 0 words (compressible), 1 random, 2 zeros, 3 half and half */
static void fill(uint8_t *p, size_t n, unsigned kind, uint64_t seed)
{
	static const char *const words[] = { "queue ", "doorbell ", "phase ", "zip ",
					     "stream ", "\n", "Kunpeng ", "deflate ",
					     "the ", "of ", "1024 ", "slot " };
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i = 0;

	while (i < n) {
		unsigned k = kind == 3 ? (unsigned)((i / 4096) & 1) : kind;

		if (k == 0) {
			const char *w = words[rnd(&s) % 12];

			while (*w && i < n)
				p[i++] = (uint8_t)*w++;
		} else if (k == 1) {
			p[i++] = (uint8_t)rnd(&s);
		} else {
			p[i++] = 0;
		}
	}
}

/* --- sysfs, as UADK reads it (D.1: realpath + open + read) ----------------------------- */
static int attr(const char *dev, const char *a, char *buf, size_t len)
{
	char path[PATH_MAX], real[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSFS "/%s/%s", dev, a);
	if (!realpath(path, real))
		return -errno;
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	buf[n] = 0;
	return 0;
}

static long attr_long(const char *dev, const char *a)
{
	char buf[64], *end;
	long v;
	int err = attr(dev, a, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && strcmp(end, "\n")))
		return -EPROTO;
	return v;
}

static long avail(const char *dev)
{
	return attr_long(dev, "available_instances");
}

static bool avail_wait(const char *dev, long want, int ms)
{
	uint64_t end = now_us() + (uint64_t)ms * 1000 * (uint64_t)tscale;

	while (avail(dev) != want) {
		if (now_us() >= end)
			return false;
		usleep(5000);
	}
	return true;
}

/* a whole line of the algorithms attribute equals alg (UADK's dev_has_alg) */
static bool has_alg(const char *algs, const char *alg)
{
	size_t n = strlen(alg);

	for (const char *p = algs; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && !strncmp(p, alg, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* --- a queue --------------------------------------------------------------------------- */
struct hq {
	char name[64];
	int fd;
	uint8_t *mmio, *dus, *sq;
	volatile uint64_t *db;
	struct cqe *cq;
	uint32_t *rx_stop, *tx_stop;
	uint16_t qn;
	unsigned qc_type;
	unsigned tail, head, phase;	/* tail: the sender's; head, phase: the receiver's */
	unsigned used;			/* atomic */
	unsigned epoll;			/* CQ doorbell priority */
	bool broken;
	uint64_t tag;
};

static void hq_close(struct hq *q)
{
	if (q->fd >= 0 && ioctl(q->fd, UACCE_CMD_PUT_Q, 0) < 0)
		fail("%s: PUT_Q: %s", q->name, ename(errno));
	if (q->mmio)
		munmap(q->mmio, MMIO_SIZE);
	if (q->dus)
		munmap(q->dus, DUS_SIZE);
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->mmio = q->dus = NULL;
}

/* B.6: open, DUS, MMIO, SET_QP_CTX, SET_QP_INFO, START_Q; -errno */
static int hq_open(struct hq *q, const char *dev, unsigned qc_type)
{
	long page = sysconf(_SC_PAGESIZE);
	char path[PATH_MAX];
	struct qp_ctx ctx = { .qc_type = (uint16_t)qc_type };
	struct qp_info qi = { 0 };
	void *p;
	int err;

	memset(q, 0, sizeof(*q));
	snprintf(q->name, sizeof(q->name), "%s", dev);
	q->qc_type = qc_type;
	q->phase = 1;
	q->tag = (uint64_t)now_us() ^ ((uint64_t)getpid() << 20) ^ (uintptr_t)q;
	snprintf(path, sizeof(path), "/dev/%s", dev);
	q->fd = open(path, O_RDWR | O_CLOEXEC);
	if (q->fd < 0)
		return -errno;
	p = mmap(NULL, DUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, 1 * page);
	if (p == MAP_FAILED)
		goto bad;
	q->dus = p;
	p = mmap(NULL, MMIO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, 0);
	if (p == MAP_FAILED)
		goto bad;
	q->mmio = p;
	if (ioctl(q->fd, CMD_SET_QP_CTX, &ctx) < 0)
		goto bad;
	q->qn = ctx.id;
	if (ioctl(q->fd, CMD_SET_QP_INFO, &qi) < 0)
		goto bad;
	if (qi.sqe_size != SQE_SIZE || qi.sq_depth != DEPTH || qi.cq_depth != DEPTH) {
		fail("%s: SET_QP_INFO: sqe_size %u sq_depth %u cq_depth %u, expected 128 1024 1024",
		     dev, qi.sqe_size, qi.sq_depth, qi.cq_depth);
		errno = EPROTO;
		goto bad;
	}
	if (ioctl(q->fd, UACCE_CMD_START_Q, 0) < 0)
		goto bad;
	q->sq = q->dus;
	q->cq = (struct cqe *)(q->dus + CQ_OFF);
	q->tx_stop = (uint32_t *)(q->dus + DUS_SIZE - 4);
	q->rx_stop = (uint32_t *)(q->dus + DUS_SIZE - 8);
	q->db = (volatile uint64_t *)(q->mmio + DB_OFF);
	return 0;
bad:
	err = -errno;
	if (q->fd >= 0)
		close(q->fd);
	if (q->mmio)
		munmap(q->mmio, MMIO_SIZE);
	if (q->dus)
		munmap(q->dus, DUS_SIZE);
	q->fd = -1;
	q->mmio = q->dus = NULL;
	return err;
}

/* B.3: one 64-bit store: qn 0-15, cmd 12-15, index 32-47, priority 48-63 */
static void ring(struct hq *q, unsigned cmd, unsigned index, unsigned prio)
{
	uint64_t v = ((uint64_t)q->qn & 0x3ff) | ((uint64_t)cmd << 12) | ((uint64_t)index << 32) |
		     ((uint64_t)prio << 48);

	__atomic_store_n(q->db, v, __ATOMIC_SEQ_CST);
}

/* the slot it went to, or -errno */
static int hq_send(struct hq *q, const uint32_t *sqe)
{
	unsigned slot = q->tail;

	if (__atomic_load_n(q->tx_stop, __ATOMIC_ACQUIRE) == 1)
		return -EIO;
	if (__atomic_load_n(&q->used, __ATOMIC_ACQUIRE) >= DEPTH - 1)
		return -EBUSY;
	memcpy(q->sq + (size_t)slot * SQE_SIZE, sqe, SQE_SIZE);
	q->tail = (slot + 1) % DEPTH;
	__atomic_add_fetch(&q->used, 1, __ATOMIC_SEQ_CST);
	ring(q, DB_SQ, q->tail, 0);
	__atomic_add_fetch(&n_req, 1, __ATOMIC_RELAXED);
	return (int)slot;
}

/* B.5: the completed slot (its SQE copied to out), -EAGAIN, or -errno */
static int hq_recv(struct hq *q, uint32_t *out)
{
	struct cqe *c = &q->cq[q->head];
	uint16_t w7 = __atomic_load_n(&c->w7, __ATOMIC_ACQUIRE);
	unsigned slot;

	if ((w7 & 1) != q->phase)
		return -EAGAIN;
	slot = __atomic_load_n(&c->sq_head, __ATOMIC_ACQUIRE);
	if (slot >= DEPTH) {
		fail("%s: CQE %u names SQ slot %u (>= %u)", q->name, q->head, slot, DEPTH);
		return -EIO;
	}
	if (c->sq_num != q->qn) {
		fail("%s: CQE %u: sq_num %u, the queue is %u", q->name, q->head, c->sq_num, q->qn);
		return -EIO;
	}
	memcpy(out, q->sq + (size_t)slot * SQE_SIZE, SQE_SIZE);
	if (++q->head == DEPTH) {
		q->head = 0;
		q->phase ^= 1;
	}
	if (__atomic_load_n(q->rx_stop, __ATOMIC_ACQUIRE) == 1)
		return -EIO;
	ring(q, DB_CQ, q->head, q->epoll);
	__atomic_sub_fetch(&q->used, 1, __ATOMIC_SEQ_CST);
	return (int)slot;
}

/*
 * The tag, where UADK puts it on a v2 device (C): zlib and gzip requests
 * are "v1" SQEs (type 0, dw7 bits 28-31) with the tag in dw13; deflate and
 * every other request type are type 3 SQEs with the tag in dw26.
 */
static bool sqe_v3(const uint32_t *sqe)
{
	unsigned alg = sqe[W_9] & 0xff;

	return alg != ALG_ZLIB && alg != ALG_GZIP;
}

static void tag_set(uint32_t *sqe, uint32_t tag)
{
	sqe[W_7] = (sqe[W_7] & 0x0fffffffu) | (sqe_v3(sqe) ? 3u << 28 : 0);
	sqe[sqe_v3(sqe) ? W_TAG3 : W_TAG] = tag;
}

static uint32_t tag_of(const uint32_t *sqe)
{
	return sqe[sqe_v3(sqe) ? W_TAG3 : W_TAG];
}

/* one request, waited for (sync mode): 0 with the completed SQE in out, or -errno */
static int hq_do(struct hq *q, uint32_t *sqe, uint32_t *out, bool use_poll)
{
	uint64_t end = now_us() + 30000000ull * (uint64_t)tscale;
	uint32_t tag = (uint32_t)rnd(&q->tag);
	int slot, r;

	if (q->broken)
		return -EIO;
	tag_set(sqe, tag);
	slot = hq_send(q, sqe);
	if (slot < 0)
		return slot;
	for (unsigned i = 0;; i++) {
		if (use_poll) {
			struct pollfd pfd = { .fd = q->fd, .events = POLLIN };

			if (poll(&pfd, 1, 1000) < 0)
				fail("%s: poll: %s", q->name, ename(errno));
		}
		r = hq_recv(q, out);
		if (r != -EAGAIN)
			break;
		if (now_us() > end) {
			fail("%s: no completion of slot %d (tag %#x) within %d s", q->name, slot, tag,
			     30 * tscale);
			q->broken = true;
			return -ETIMEDOUT;
		}
		if (i > 2000)
			usleep(20);
	}
	if (r < 0) {
		q->broken = true;
		return r;
	}
	if (r != slot || tag_of(out) != tag || (out[W_7] >> 28) != (sqe[W_7] >> 28)) {
		fail("%s: completion of slot %d tag %#x (SQE type %u), sent slot %d tag %#x (type "
		     "%u)", q->name, r, tag_of(out), out[W_7] >> 28, slot, tag, sqe[W_7] >> 28);
		q->broken = true;
		return -EPROTO;
	}
	return 0;
}

static void set_addr(uint32_t *sqe, int w, const void *p)
{
	uint64_t a = (uintptr_t)p;

	sqe[w] = (uint32_t)a;
	sqe[w + 1] = (uint32_t)(a >> 32);
}

/* --- zip requests ----------------------------------------------------------------------- */
static const char *const alg_name[] = { "?", "deflate", "zlib", "gzip" };
static const unsigned hdr_len[] = { 0, 0, 2, 10 };
static const uint8_t zlib_hdr[2] = { 0x78, 0x9c };
static const uint8_t gzip_hdr[10] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03 };
static const int zwbits[] = { 0, -15, 15, 31 };

static void put_hdr(uint8_t *p, unsigned alg)
{
	if (alg == ALG_ZLIB)
		memcpy(p, zlib_hdr, 2);
	else if (alg == ALG_GZIP)
		memcpy(p, gzip_hdr, 10);
}

static uint32_t bitrev32(uint32_t v)
{
	uint32_t r = 0;

	for (int i = 0; i < 32; i++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

/* what the device's checksum word must hold for data (C: zlib adler32, gzip ~bitrev(crc)) */
static uint32_t want_check(unsigned alg, const uint8_t *p, size_t n)
{
	if (alg == ALG_ZLIB)
		return (uint32_t)adler32(adler32(0, NULL, 0), p, (uInt)n);
	return ~bitrev32((uint32_t)crc32(crc32(0, NULL, 0), p, (uInt)n));
}

/* zlib inflates it (format alg) back to exactly want, using all of it: 0 or -1 */
static int zlib_check(unsigned alg, const uint8_t *c, size_t clen, const uint8_t *want, size_t n,
		      char *why, size_t wl)
{
	z_stream z = { 0 };
	uint8_t *out = malloc(n + 64);
	int rc;

	if (!out || inflateInit2(&z, zwbits[alg]) != Z_OK) {
		snprintf(why, wl, "zlib set-up");
		free(out);
		return -1;
	}
	z.next_in = (uint8_t *)c;
	z.avail_in = (uInt)clen;
	z.next_out = out;
	z.avail_out = (uInt)n + 64;
	rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (rc != Z_STREAM_END)
		snprintf(why, wl, "zlib inflate: %d (%s) after %lu of %zu bytes", rc,
			 z.msg ? z.msg : "-", z.total_in, clen);
	else if (z.avail_in)
		snprintf(why, wl, "%u bytes after the end of the %s stream", z.avail_in,
			 alg_name[alg]);
	else if (z.total_out != n || memcmp(out, want, n))
		snprintf(why, wl, "inflated %lu bytes, not the %zu input bytes", z.total_out, n);
	else
		rc = 0;
	free(out);
	return rc == 0 ? 0 : -1;
}

/* zlib compresses in (format alg, level); the length, 0 on error */
static size_t zlib_comp(unsigned alg, int level, const uint8_t *in, size_t n, uint8_t *out,
			size_t cap)
{
	z_stream z = { 0 };
	size_t r = 0;

	if (deflateInit2(&z, level, Z_DEFLATED, zwbits[alg], 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END)
		r = z.total_out;
	deflateEnd(&z);
	return r;
}

static void sqe_init(uint32_t *sqe, unsigned alg, bool sgl, const void *src, uint32_t in_len,
		     void *dst, uint32_t avail_out)
{
	memset(sqe, 0, SQE_SIZE);
	sqe[W_INLEN] = in_len;
	sqe[W_9] = alg | (sgl ? 1u << 8 : 0) | (4u << 12);	/* 32K window */
	sqe[W_AVAIL] = avail_out;
	set_addr(sqe, W_SRC, in_len ? src : dst);
	set_addr(sqe, W_DST, dst);
}

static unsigned st(const uint32_t *r)
{
	return r[W_STATUS] & 0xff;
}

/* --- block mode ------------------------------------------------------------------------- */
/* compress in (n) as alg, block mode; byte-exact check; 0 or -1 */
static int block_comp(struct hq *q, unsigned alg, const uint8_t *in, size_t n, const char *what)
{
	size_t cap = n + n / 8 + 1024, h = hdr_len[alg];
	uint8_t *dst = malloc(cap);
	uint32_t sqe[32], r[32];
	char why[200] = "";
	int rc = -1, err;

	if (!dst)
		return -1;
	memset(dst, 0xa5, cap);
	put_hdr(dst, alg);
	sqe_init(sqe, alg, false, in, (uint32_t)n, dst + h, (uint32_t)(cap - h));
	sqe[W_7] = F_FINISH | F_NEW;
	err = hq_do(q, sqe, r, false);
	if (err) {
		fail("%s: %s block compress of %s: %s", q->name, alg_name[alg], what, ename(-err));
		goto out;
	}
	if (st(r) != ST_OK && st(r) != ST_NEGA)
		snprintf(why, sizeof(why), "status %#x", st(r));
	else if (r[W_CONSUMED] != n)
		snprintf(why, sizeof(why), "consumed %u of %zu", r[W_CONSUMED], n);
	else if (r[W_PRODUCED] == 0 || r[W_PRODUCED] > cap - h)
		snprintf(why, sizeof(why), "produced %u (room %zu)", r[W_PRODUCED], cap - h);
	else if (alg != ALG_DEFLATE && r[W_ISIZE] != n)
		snprintf(why, sizeof(why), "isize %u, not %zu", r[W_ISIZE], n);
	else if (alg != ALG_DEFLATE && r[W_CHECK] != want_check(alg, in, n))
		snprintf(why, sizeof(why), "checksum word %#x, expected %#x", r[W_CHECK],
			 want_check(alg, in, n));
	else if (h + r[W_PRODUCED] < cap && dst[h + r[W_PRODUCED]] != 0xa5)
		snprintf(why, sizeof(why), "a byte written past the %u produced", r[W_PRODUCED]);
	else if (!zlib_check(alg, dst, h + r[W_PRODUCED], in, n, why, sizeof(why)))
		rc = 0;
	if (rc)
		fail("%s: %s block compress of %s: %s", q->name, alg_name[alg], what, why);
out:
	free(dst);
	return rc;
}

/* decompress zlib's compression of in (n) as alg, block mode; 0 or -1 */
static int block_decomp(struct hq *q, unsigned alg, const uint8_t *in, size_t n, int level,
			const char *what)
{
	size_t ccap = n + n / 8 + 1024, h = hdr_len[alg], clen, cap = n + 4096;
	uint8_t *c = malloc(ccap), *dst = malloc(cap);
	uint32_t sqe[32], r[32];
	char why[200] = "";
	int rc = -1, err;

	if (!c || !dst)
		goto out;
	clen = zlib_comp(alg, level, in, n, c, ccap);
	if (!clen) {
		fail("%s: zlib could not compress %s", q->name, what);
		goto out;
	}
	memset(dst, 0xa5, cap);
	sqe_init(sqe, alg, false, c + h, (uint32_t)(clen - h), dst, (uint32_t)cap);
	sqe[W_7] = F_FINISH | F_NEW;
	err = hq_do(q, sqe, r, false);
	if (err) {
		fail("%s: %s block decompress of %s: %s", q->name, alg_name[alg], what,
		     ename(-err));
		goto out;
	}
	if (st(r) != ST_OK && st(r) != ST_END)
		snprintf(why, sizeof(why), "status %#x", st(r));
	else if (r[W_CONSUMED] != clen - h)
		snprintf(why, sizeof(why), "consumed %u of %zu", r[W_CONSUMED], clen - h);
	else if (r[W_PRODUCED] != n)
		snprintf(why, sizeof(why), "produced %u, not %zu", r[W_PRODUCED], n);
	else if (memcmp(dst, in, n))
		snprintf(why, sizeof(why), "the output differs from the original");
	else if (dst[n] != 0xa5)
		snprintf(why, sizeof(why), "a byte written past the %zu produced", n);
	else
		rc = 0;
	if (rc)
		fail("%s: %s block decompress of %s (zlib level %d, %zu bytes): %s", q->name,
		     alg_name[alg], what, level, clen, why);
out:
	free(c);
	free(dst);
	return rc;
}

static const size_t block_sizes[] = { 1, 100, 4096, 65543, 1 << 20, 3 << 20 };
static const char *const kind_name[] = { "text", "random", "zeros", "mixed" };

static void mode_block(const char *dev)
{
	size_t max = 3 << 20;
	uint8_t *in = malloc(max);
	struct hq cq, dq;
	int err;
	unsigned bad = 0, n = 0;

	if (!in)
		return;
	if ((err = hq_open(&cq, dev, 0)) || (err = hq_open(&dq, dev, 1))) {
		fail("%s: block: open two queues: %s", dev, ename(-err));
		free(in);
		return;
	}
	for (unsigned alg = 1; alg <= 3; alg++)
		for (unsigned k = 0; k < 4; k++)
			for (size_t i = 0; i < sizeof(block_sizes) / sizeof(block_sizes[0]); i++) {
				size_t sz = block_sizes[i];
				char what[64];

				if (sz > (1u << 20) && k != 3)
					continue;
				fill(in, sz, k, sz + k);
				snprintf(what, sizeof(what), "%zu bytes of %s", sz, kind_name[k]);
				bad += block_comp(&cq, alg, in, sz, what) != 0;
				bad += block_decomp(&dq, alg, in, sz, (int)(i % 9) + 1, what) != 0;
				n += 2;
			}
	if (!bad)
		ok("%s: block: %u requests (deflate, zlib, gzip; compress and decompress; "
		   "1 B .. 3 MiB), byte-exact against zlib, isize and checksum words right",
		   dev, n);
	else
		fail("%s: block: %u of %u requests wrong", dev, bad, n);
	hq_close(&cq);
	hq_close(&dq);
	free(in);
}

/* --- stream mode ------------------------------------------------------------------------ */
struct zstream {
	unsigned alg, dir;
	const uint8_t *in;
	size_t in_len, pos;
	uint8_t *out;
	size_t out_cap, out_len;
	uint8_t *ctx;			/* the session's 64 KiB context buffer */
	bool started, done;
	uint32_t isize, check;
	unsigned reqs, idle, drains;	/* drains: requests with no input left */
	bool sgl;			/* SGL buffers: SGLs over the flat ones */
	uint8_t *sgl_mem[2];		/* src, dst: one SGL each, 3 entries */
};

/* one SGL of up to 3 entries over [p, p + len) at mem (64 + 3 * 32 bytes) */
static void *sgl_over(uint8_t *mem, const uint8_t *p, size_t len)
{
	struct sgl_hdr *hd = (struct sgl_hdr *)mem;
	struct sge *e = (struct sge *)(mem + 64);
	size_t a = len / 3, b = len / 2 - len / 3;
	size_t part[3] = { a, b, len - a - b };
	unsigned n = 0;

	memset(mem, 0, 64 + 3 * 32);
	for (unsigned i = 0; i < 3; i++) {
		if (!part[i] && (i < 2 || n))
			continue;
		e[n].buff = e[n].vbuff = (uintptr_t)p;
		e[n].len = (uint32_t)part[i];
		p += part[i];
		n++;
	}
	hd->sum_in_chain = hd->sum_in_sgl = (uint16_t)n;
	hd->length_in_sgl = 3;
	hd->size_in_sgl = 3;
	return mem;
}

static int zs_init(struct zstream *s, unsigned alg, unsigned dir, const uint8_t *in, size_t n,
		   size_t out_cap)
{
	memset(s, 0, sizeof(*s));
	s->alg = alg;
	s->dir = dir;
	s->in = in;
	s->in_len = n;
	s->out_cap = out_cap;
	s->out = malloc(out_cap);
	s->ctx = aligned_alloc(4096, CTX_SIZE);
	s->sgl_mem[0] = aligned_alloc(64, 192);
	s->sgl_mem[1] = aligned_alloc(64, 192);
	if (!s->out || !s->ctx || !s->sgl_mem[0] || !s->sgl_mem[1])
		return -1;
	memset(s->ctx, 0, CTX_SIZE);
	return 0;
}

static void zs_free(struct zstream *s)
{
	free(s->out);
	free(s->ctx);
	free(s->sgl_mem[0]);
	free(s->sgl_mem[1]);
}

/* one request of the stream: 1 done, 0 more to do, -1 failed */
static int zs_step(struct hq *q, struct zstream *s, const char *tag)
{
	size_t h = hdr_len[s->alg], chunk, room;
	uint32_t sqe[32], r[32], flags = F_STATEFUL;
	int err;

	if (!s->started) {
		flags |= F_NEW;
		if (s->dir == 0) {
			put_hdr(s->out, s->alg);
			s->out_len = h;
		} else {
			s->pos = h;	/* the client strips the header */
		}
	}
	chunk = s->in_len - s->pos < CHUNK ? s->in_len - s->pos : CHUNK;
	s->drains += chunk == 0;
	if (s->pos + chunk == s->in_len)
		flags |= F_FINISH;
	room = s->out_cap - s->out_len;
	if (s->dir == 0 && room > chunk + chunk / 8 + 256)
		room = chunk + chunk / 8 + 256;
	if (s->dir == 1 && room > CHUNK)
		room = CHUNK;
	if (s->sgl) {
		/* the header in the lists, skipped by dw7/dw8 (first request) */
		size_t iskip = s->dir == 1 && (flags & F_NEW) ? h : 0;
		size_t oskip = s->dir == 0 && (flags & F_NEW) ? h : 0;
		void *src = sgl_over(s->sgl_mem[0], s->in + s->pos - iskip, chunk + iskip);
		void *dst = sgl_over(s->sgl_mem[1], s->out + s->out_len - oskip, room + oskip);

		sqe_init(sqe, s->alg, true, src, (uint32_t)chunk, dst, (uint32_t)room);
		set_addr(sqe, W_SRC, src);
		sqe[W_7] = flags | (uint32_t)iskip;
		sqe[W_8] = (uint32_t)oskip;
	} else {
		sqe_init(sqe, s->alg, false, s->in + s->pos, (uint32_t)chunk,
			 s->out + s->out_len, (uint32_t)room);
		sqe[W_7] = flags;
	}
	set_addr(sqe, W_SCTX, s->ctx + 64);
	sqe[W_ISIZE] = s->isize;
	sqe[W_CHECK] = s->check;
	err = hq_do(q, sqe, r, false);
	s->reqs++;
	if (err) {
		fail("%s: request %u: %s", tag, s->reqs, ename(-err));
		return -1;
	}
	s->started = true;
	if (r[W_CONSUMED] > chunk || r[W_PRODUCED] > room) {
		fail("%s: request %u: consumed %u of %zu, produced %u in %zu", tag, s->reqs,
		     r[W_CONSUMED], chunk, r[W_PRODUCED], room);
		return -1;
	}
	s->pos += r[W_CONSUMED];
	s->out_len += r[W_PRODUCED];
	s->isize = r[W_ISIZE];
	s->check = r[W_CHECK];
	if (s->dir == 0) {
		if (st(r) != ST_OK && st(r) != ST_NEGA) {
			fail("%s: request %u (%zu bytes%s): status %#x", tag, s->reqs, chunk,
			     flags & F_FINISH ? ", FINISH" : "", st(r));
			return -1;
		}
		if (r[W_CONSUMED] != chunk) {
			fail("%s: request %u: consumed %u of %zu", tag, s->reqs, r[W_CONSUMED],
			     chunk);
			return -1;
		}
		return (flags & F_FINISH) ? 1 : 0;
	}
	if (st(r) != ST_OK && st(r) != ST_END) {
		fail("%s: request %u (input %zu at %zu, room %zu): status %#x", tag, s->reqs, chunk,
		     s->pos - r[W_CONSUMED], room, st(r));
		return -1;
	}
	if (st(r) == ST_END && (r[W_STATUS] & LSTBLK))
		return 1;
	if (r[W_CONSUMED] == 0 && r[W_PRODUCED] == 0) {
		if (++s->idle > 3) {
			fail("%s: request %u: no progress (status %#x, %zu of %zu input used)", tag,
			     s->reqs, st(r), s->pos, s->in_len);
			return -1;
		}
	} else {
		s->idle = 0;
	}
	if (s->reqs > 100000) {
		fail("%s: no end after %u requests", tag, s->reqs);
		return -1;
	}
	return 0;
}

/* the stream's result checked against zlib / the original; 0 or -1 */
static int zs_verify(struct zstream *s, const uint8_t *orig, size_t n, const char *tag)
{
	char why[200] = "";

	if (s->dir == 0) {
		if (s->alg != ALG_DEFLATE && (s->isize != n || s->check != want_check(s->alg, orig, n)))
			snprintf(why, sizeof(why), "isize %u checksum %#x, expected %zu %#x", s->isize,
				 s->check, n, want_check(s->alg, orig, n));
		else if (!zlib_check(s->alg, s->out, s->out_len, orig, n, why, sizeof(why)))
			return 0;
	} else {
		if (s->pos != s->in_len)
			snprintf(why, sizeof(why), "ended with %zu of %zu input bytes used", s->pos,
				 s->in_len);
		else if (s->out_len != n || memcmp(s->out, orig, n))
			snprintf(why, sizeof(why), "%zu bytes out, not the %zu original bytes",
				 s->out_len, n);
		else
			return 0;
	}
	fail("%s: %s", tag, why);
	return -1;
}

static int stream_run(struct hq *q, unsigned alg, unsigned dir, const uint8_t *orig, size_t n,
		      unsigned kind, bool sgl)
{
	size_t clen = 0, ccap = n + n / 8 + 4096;
	uint8_t *c = NULL;
	struct zstream s;
	char tag[160];
	int rc = -1, k;

	snprintf(tag, sizeof(tag), "%s: stream %s %s of %zu bytes of %s%s", q->name,
		 dir ? "decompress" : "compress", alg_name[alg], n, kind_name[kind],
		 sgl ? ", SGL buffers" : "");
	if (dir) {
		c = malloc(ccap);
		clen = c ? zlib_comp(alg, 1, orig, n, c, ccap) : 0;	/* gzip --fast */
		if (!clen) {
			fail("%s: zlib could not compress it", tag);
			free(c);
			return -1;
		}
	}
	if (zs_init(&s, alg, dir, dir ? c : orig, dir ? clen : n, dir ? n + 4096 : ccap))
		goto out;
	s.sgl = sgl;
	while ((k = zs_step(q, &s, tag)) == 0)
		;
	if (k == 1 && !zs_verify(&s, orig, n, tag)) {
		ok("%s: %u requests (%u with no input left), verified with zlib", tag, s.reqs,
		   s.drains);
		rc = 0;
	}
out:
	zs_free(&s);
	free(c);
	return rc;
}

/* two streams alternating on one queue */
static int stream_pair(struct hq *q, unsigned dir, const uint8_t *a, size_t na, const uint8_t *b,
		       size_t nb)
{
	unsigned alg[2] = { ALG_GZIP, ALG_ZLIB };
	const uint8_t *orig[2] = { a, b };
	size_t n[2] = { na, nb }, clen[2] = { 0, 0 };
	uint8_t *c[2] = { NULL, NULL };
	struct zstream s[2];
	bool done[2] = { false, false };
	char tag[2][160];
	int rc = -1;

	memset(s, 0, sizeof(s));
	for (int i = 0; i < 2; i++) {
		size_t cap = n[i] + n[i] / 8 + 4096;

		snprintf(tag[i], sizeof(tag[i]), "%s: interleaved stream %c (%s %s, %zu bytes)",
			 q->name, 'A' + i, dir ? "decompress" : "compress", alg_name[alg[i]], n[i]);
		if (dir) {
			c[i] = malloc(cap);
			clen[i] = c[i] ? zlib_comp(alg[i], 6, orig[i], n[i], c[i], cap) : 0;
			if (!clen[i])
				goto out;
		}
		if (zs_init(&s[i], alg[i], dir, dir ? c[i] : orig[i], dir ? clen[i] : n[i],
			    dir ? n[i] + 4096 : cap))
			goto out;
	}
	while (!done[0] || !done[1])
		for (int i = 0; i < 2; i++) {
			int k;

			if (done[i])
				continue;
			k = zs_step(q, &s[i], tag[i]);
			if (k < 0)
				goto out;
			done[i] = k == 1;
		}
	if (!zs_verify(&s[0], a, na, tag[0]) && !zs_verify(&s[1], b, nb, tag[1])) {
		ok("%s: two %s streams interleaved on one queue (%u + %u requests), both verified",
		   q->name, dir ? "decompression" : "compression", s[0].reqs, s[1].reqs);
		rc = 0;
	}
out:
	for (int i = 0; i < 2; i++) {
		zs_free(&s[i]);
		free(c[i]);
	}
	return rc;
}

static void mode_stream(const char *dev)
{
	size_t n = (3 << 19) + 12345, m = (1 << 20) + 777;
	uint8_t *a = malloc(n), *b = malloc(m);
	struct hq cq, dq;
	int err;

	if (!a || !b)
		goto out;
	if ((err = hq_open(&cq, dev, 0)) || (err = hq_open(&dq, dev, 1))) {
		fail("%s: stream: open two queues: %s", dev, ename(-err));
		goto out;
	}
	for (unsigned alg = 1; alg <= 3; alg++)
		for (unsigned k = 0; k < 4; k++) {
			if (k == 1)
				continue;
			fill(a, n, k, 7 + alg);
			stream_run(&cq, alg, 0, a, n, k, false);
			stream_run(&dq, alg, 1, a, n, k, false);
		}
	fill(a, n, 3, 11);
	fill(b, m, 0, 12);
	stream_pair(&cq, 0, a, n, b, m);
	stream_pair(&dq, 1, a, n, b, m);
	hq_close(&cq);
	hq_close(&dq);
out:
	free(a);
	free(b);
}

/* --- statuses ---------------------------------------------------------------------------- */
static void expect_status(struct hq *q, uint32_t *sqe, unsigned want, const char *what)
{
	uint32_t r[32];
	int err = hq_do(q, sqe, r, false);

	if (err)
		fail("%s: %s: %s", q->name, what, ename(-err));
	else if (st(r) != want)
		fail("%s: %s: status %#x, expected %#x", q->name, what, st(r), want);
	else
		ok("%s: %s -> status %#x", q->name, what, want);
}

static void mode_status(const char *dev)
{
	size_t n = 65536, cap = 2 * n;
	uint8_t *in = malloc(n), *c = malloc(cap), *dst = malloc(cap);
	uint32_t sqe[32];
	struct hq cq, dq;
	int err;

	if (!in || !c || !dst)
		goto out;
	if ((err = hq_open(&cq, dev, 0)) || (err = hq_open(&dq, dev, 1))) {
		fail("%s: status: open two queues: %s", dev, ename(-err));
		goto out;
	}
	fill(in, n, 1, 99);
	sqe_init(sqe, ALG_DEFLATE, false, in, (uint32_t)n, dst, 1024);
	sqe[W_7] = F_FINISH | F_NEW;
	expect_status(&cq, sqe, ST_DST_SMALL, "block compress of 64 KiB random into 1 KiB");
	if (!block_comp(&cq, ALG_GZIP, in, 4096, "4 KiB after a failed request"))
		ok("%s: the compress queue works on after the failure", dev);
	for (unsigned alg = ALG_ZLIB; alg <= ALG_GZIP; alg++) {
		size_t h = hdr_len[alg], clen;
		char what[120];

		fill(in, n, 0, 5);
		clen = zlib_comp(alg, 6, in, n, c, cap);
		sqe_init(sqe, alg, false, c + h, (uint32_t)(clen - h), dst, 1000);
		sqe[W_7] = F_FINISH | F_NEW;
		snprintf(what, sizeof(what), "block decompress of %s (64 KiB) into 1000 bytes",
			 alg_name[alg]);
		expect_status(&dq, sqe, ST_DST_SMALL, what);
		/* damaged trailers: the checksum, then (gzip) the size */
		for (unsigned t = 0; t < (alg == ALG_GZIP ? 2u : 1u); t++) {
			size_t at = alg == ALG_ZLIB ? clen - 1 : clen - 8 + 4 * t;

			c[at] ^= 0x40;
			sqe_init(sqe, alg, false, c + h, (uint32_t)(clen - h), dst, (uint32_t)cap);
			sqe[W_7] = F_FINISH | F_NEW;
			snprintf(what, sizeof(what), "block decompress of %s with a damaged %s",
				 alg_name[alg], t ? "isize" : alg == ALG_ZLIB ? "adler32" : "crc32");
			expect_status(&dq, sqe, ST_CRC, what);
			c[at] ^= 0x40;
		}
	}
	/* the output exactly as large as the data, and a byte less */
	fill(in, n, 0, 6);
	{
		size_t clen = zlib_comp(ALG_DEFLATE, 6, in, n, c, cap);
		uint32_t r[32];

		for (unsigned less = 0; less < 2; less++) {
			memset(dst, 0xa5, cap);
			sqe_init(sqe, ALG_DEFLATE, false, c, (uint32_t)clen, dst, (uint32_t)(n - less));
			sqe[W_7] = F_FINISH | F_NEW;
			err = hq_do(&dq, sqe, r, false);
			if (err)
				fail("%s: decompress into %zu bytes: %s", dev, n - less, ename(-err));
			else if (less && st(r) != ST_DST_SMALL)
				fail("%s: block decompress of %zu bytes into %zu: status %#x, expected "
				     "0xe", dev, n, n - less, st(r));
			else if (!less && ((st(r) != ST_OK && st(r) != ST_END) || r[W_PRODUCED] != n ||
					   memcmp(dst, in, n) || dst[n] != 0xa5))
				fail("%s: block decompress of %zu bytes into exactly %zu: status %#x "
				     "produced %u%s", dev, n, n, st(r), r[W_PRODUCED],
				     memcmp(dst, in, n) ? ", output differs" : "");
			else
				ok("%s: block decompress of %zu bytes into %zu bytes -> status %#x", dev,
				   n, n - less, st(r));
		}
		/* not deflate data, a request type v2 does not have: errors, not results */
		fill(c, 4096, 1, 8);
		c[0] = 0xff;	/* block type 3: invalid */
		sqe_init(sqe, ALG_DEFLATE, false, c, 4096, dst, (uint32_t)cap);
		sqe[W_7] = F_FINISH | F_NEW;
		err = hq_do(&dq, sqe, r, false);
		if (err || st(r) == ST_OK || st(r) == ST_END || st(r) == ST_NEGA)
			fail("%s: decompress of 4 KiB that is not deflate data: %s status %#x", dev,
			     ename(-err), err ? 0 : st(r));
		else
			ok("%s: decompress of 4 KiB that is not deflate data -> status %#x", dev, st(r));
		sqe_init(sqe, 0x42, false, in, 4096, dst, (uint32_t)cap);
		sqe[W_7] = F_FINISH | F_NEW | (3u << 28);
		err = hq_do(&cq, sqe, r, false);
		if (err || st(r) == ST_OK || st(r) == ST_END || st(r) == ST_NEGA)
			fail("%s: request type 0x42 (lz77_zstd, not a v2 type): %s status %#x", dev,
			     ename(-err), err ? 0 : st(r));
		else
			ok("%s: request type 0x42 (lz77_zstd, not a v2 type) -> status %#x", dev,
			   st(r));
	}
	/* 8 MiB per request: exactly that works, a byte more is refused */
	{
		size_t big = 8u << 20;
		uint8_t *b = malloc(big + 1), *o = malloc(big + big / 8 + 1024);
		uint32_t r[32];

		if (b && o) {
			fill(b, big + 1, 0, 13);
			if (!block_comp(&cq, ALG_GZIP, b, big, "8 MiB (the limit)"))
				ok("%s: gzip block compress of exactly 8 MiB, byte-exact", dev);
			sqe_init(sqe, ALG_GZIP, false, b, (uint32_t)big + 1, o + 10,
				 (uint32_t)(big + big / 8));
			sqe[W_7] = F_FINISH | F_NEW;
			err = hq_do(&cq, sqe, r, false);
			if (err || st(r) == ST_OK || st(r) == ST_NEGA)
				fail("%s: block compress of 8 MiB + 1: %s status %#x, expected an error",
				     dev, ename(-err), err ? 0 : st(r));
			else
				ok("%s: block compress of 8 MiB + 1 byte -> status %#x", dev, st(r));
		}
		free(b);
		free(o);
	}
	if (!block_decomp(&dq, ALG_GZIP, in, 5000, 6, "5000 bytes after failed requests"))
		ok("%s: the decompress queue works on after the failures", dev);
	hq_close(&cq);
	hq_close(&dq);
out:
	free(in);
	free(c);
	free(dst);
}

/* --- SGL ------------------------------------------------------------------------------ */
struct chain {
	uint8_t *mem[4];		/* SGLs: header + entries */
	uint8_t *buf[32];
	size_t len[32];
	unsigned nbuf;
};

/* an SGL chain over buffers of the given lengths (split over nsgl SGLs) */
static void *chain_build(struct chain *ch, const size_t *lens, unsigned nb, unsigned nsgl)
{
	unsigned per = (nb + nsgl - 1) / nsgl, b = 0;

	memset(ch, 0, sizeof(*ch));
	ch->nbuf = nb;
	for (unsigned i = 0; i < nb; i++) {
		ch->len[i] = lens[i];
		ch->buf[i] = malloc(lens[i]);
		if (!ch->buf[i])
			return NULL;
		memset(ch->buf[i], 0xa5, lens[i]);
	}
	for (unsigned s = 0; s < nsgl; s++) {
		unsigned cnt = nb - b < per ? nb - b : per;
		/* aligned_alloc: a multiple of the alignment */
		size_t sz = (64 + (size_t)(per + 2) * 32 + 63) & ~(size_t)63;
		struct sgl_hdr *hd;
		struct sge *e;

		ch->mem[s] = aligned_alloc(64, sz);
		if (!ch->mem[s])
			return NULL;
		memset(ch->mem[s], 0, sz);
		hd = (struct sgl_hdr *)ch->mem[s];
		e = (struct sge *)(ch->mem[s] + 64);
		hd->sum_in_sgl = (uint16_t)cnt;
		hd->length_in_sgl = (uint16_t)(per + 2);
		hd->size_in_sgl = per + 2;
		if (s == 0)
			hd->sum_in_chain = (uint16_t)nb;
		for (unsigned i = 0; i < cnt; i++, b++) {
			e[i].buff = (uintptr_t)ch->buf[b];
			e[i].vbuff = (uintptr_t)ch->buf[b];
			e[i].len = (uint32_t)ch->len[b];
		}
		if (s)
			((struct sgl_hdr *)ch->mem[s - 1])->next_dma =
				((struct sgl_hdr *)ch->mem[s - 1])->next = (uintptr_t)ch->mem[s];
	}
	return ch->mem[0];
}

static void chain_free(struct chain *ch)
{
	for (unsigned i = 0; i < 4; i++)
		free(ch->mem[i]);
	for (unsigned i = 0; i < ch->nbuf; i++)
		free(ch->buf[i]);
}

/* copy between the chain's bytes [off, off + n) and flat p */
static void chain_io(struct chain *ch, size_t off, uint8_t *p, size_t n, bool to_chain)
{
	for (unsigned i = 0; i < ch->nbuf && n; i++) {
		size_t l;

		if (off >= ch->len[i]) {
			off -= ch->len[i];
			continue;
		}
		l = ch->len[i] - off < n ? ch->len[i] - off : n;
		if (to_chain)
			memcpy(ch->buf[i] + off, p, l);
		else
			memcpy(p, ch->buf[i] + off, l);
		p += l;
		n -= l;
		off = 0;
	}
}

static size_t chain_size(const struct chain *ch)
{
	size_t t = 0;

	for (unsigned i = 0; i < ch->nbuf; i++)
		t += ch->len[i];
	return t;
}

static void sgl_one(struct hq *cq, struct hq *dq, unsigned alg, const uint8_t *in, size_t n,
		    unsigned *bad)
{
	/* odd sizes: the first ones shorter than a gzip header */
	static const size_t src_lens[] = { 7, 3, 1000, 4093, 65536, 17, 200000, 8192, 300000,
					   99999, 1, 400000 };
	static const size_t dst_lens[] = { 5, 4, 2048, 77777, 131072, 3, 250000, 500000,
					   262144, 100000 };
	size_t h = hdr_len[alg], total = 0, out_n;
	struct chain s, d, s2, d2;
	uint32_t sqe[32], r[32];
	uint8_t *flat = malloc(n + n / 8 + 4096);
	char why[200] = "";
	void *ss, *ds;
	int err;

	ss = chain_build(&s, src_lens, 12, 3);
	ds = chain_build(&d, dst_lens, 10, 2);
	if (!flat || !ss || !ds || chain_size(&s) < n) {
		fail("%s: sgl: set-up", cq->name);
		goto out;
	}
	/* compress: input spread over the src chain; the header at the start of dst */
	chain_io(&s, 0, (uint8_t *)in, n, true);
	put_hdr(flat, alg);
	chain_io(&d, 0, flat, h, true);
	sqe_init(sqe, alg, true, ss, (uint32_t)n, ds, (uint32_t)(chain_size(&d) - h));
	sqe[W_7] = F_FINISH | F_NEW;
	sqe[W_8] = (uint32_t)h;
	err = hq_do(cq, sqe, r, false);
	if (err) {
		snprintf(why, sizeof(why), "%s", ename(-err));
	} else if ((st(r) != ST_OK && st(r) != ST_NEGA) || r[W_CONSUMED] != n) {
		snprintf(why, sizeof(why), "status %#x consumed %u of %zu", st(r), r[W_CONSUMED], n);
	} else {
		total = h + r[W_PRODUCED];
		chain_io(&d, 0, flat, total, false);
		zlib_check(alg, flat, total, in, n, why, sizeof(why));
	}
	if (*why) {
		fail("%s: sgl %s compress of %zu bytes (12 entries in 3 SGLs -> 10 in 2): %s",
		     cq->name, alg_name[alg], n, why);
		++*bad;
		goto out;
	}
	/* decompress that stream again from an SGL, the header skipped by dw7 */
	ss = chain_build(&s2, dst_lens, 10, 3);
	ds = chain_build(&d2, src_lens, 12, 2);
	if (!ss || !ds) {
		fail("%s: sgl: set-up", cq->name);
		chain_free(&s2);
		chain_free(&d2);
		goto out;
	}
	chain_io(&s2, 0, flat, total, true);
	sqe_init(sqe, alg, true, ss, (uint32_t)(total - h), ds, (uint32_t)chain_size(&d2));
	sqe[W_7] = F_FINISH | F_NEW | (uint32_t)h;
	err = hq_do(dq, sqe, r, false);
	out_n = err ? 0 : r[W_PRODUCED];
	if (err)
		snprintf(why, sizeof(why), "%s", ename(-err));
	else if ((st(r) != ST_OK && st(r) != ST_END) || r[W_CONSUMED] != total - h ||
		 out_n != n)
		snprintf(why, sizeof(why), "status %#x consumed %u of %zu produced %zu of %zu",
			 st(r), r[W_CONSUMED], total - h, out_n, n);
	else {
		chain_io(&d2, 0, flat, n, false);
		if (memcmp(flat, in, n))
			snprintf(why, sizeof(why), "the output differs from the original");
	}
	if (*why) {
		fail("%s: sgl %s decompress of %zu bytes (10 entries in 3 SGLs, skip %zu -> 12 in 2): %s",
		     dq->name, alg_name[alg], total, h, why);
		++*bad;
	}
	chain_free(&s2);
	chain_free(&d2);
out:
	chain_free(&s);
	chain_free(&d);
	free(flat);
}

static void mode_sgl(const char *dev)
{
	size_t n = 1000000;
	uint8_t *in = malloc(n);
	unsigned bad = 0, cnt = 0;
	struct hq cq, dq;
	int err;

	if (!in)
		return;
	if ((err = hq_open(&cq, dev, 0)) || (err = hq_open(&dq, dev, 1))) {
		fail("%s: sgl: open two queues: %s", dev, ename(-err));
		free(in);
		return;
	}
	for (unsigned alg = 1; alg <= 3; alg++)
		for (unsigned k = 0; k < 4; k++) {
			size_t sz = k == 1 ? 70000 : k == 2 ? 12 : n;

			fill(in, sz, k, 40 + k);
			sgl_one(&cq, &dq, alg, in, sz, &bad);
			cnt += 2;
		}
	if (!bad)
		ok("%s: sgl: %u requests (compress and decompress, chained SGLs, skips across "
		   "entries), byte-exact against zlib", dev, cnt);
	/* stream mode on SGL buffers (uadk_tool --stream --sgl) */
	fill(in, n, 3, 44);
	for (unsigned alg = 1; alg <= 3; alg++) {
		stream_run(&cq, alg, 0, in, n, 3, true);
		stream_run(&dq, alg, 1, in, n, 3, true);
	}
	hq_close(&cq);
	hq_close(&dq);
	free(in);
}

/* --- async: the shared doorbell word ---------------------------------------------------- */
#define AIN	1024			/* input bytes per tag, at most */
#define AOUT	(AIN + 512)

struct async {
	struct hq *q;
	unsigned n;
	uint8_t *in, *out;
	uint64_t *t_sub;		/* submit times (us), 0: not yet */
	uint8_t *seen;
	unsigned done, bad;
	uint64_t max_lat;
	int stop;
	uint64_t bound_us;
};

static unsigned alen(unsigned t)
{
	return 16 + (t * 2654435761u) % (AIN - 16);
}

static void *async_submit(void *arg)
{
	struct async *a = arg;
	uint64_t s = 0x1234567;

	for (unsigned t = 0; t < a->n && !__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE);) {
		unsigned burst = 1 + (unsigned)(rnd(&s) % 48);

		for (; burst && t < a->n; burst--, t++) {
			uint32_t sqe[32];
			int r;

			sqe_init(sqe, ALG_DEFLATE, false, a->in + (size_t)t * AIN, alen(t),
				 a->out + (size_t)t * AOUT, AOUT);
			sqe[W_7] = F_FINISH | F_NEW;
			tag_set(sqe, t);
			__atomic_store_n(&a->t_sub[t], now_us(), __ATOMIC_RELEASE);
			while ((r = hq_send(a->q, sqe)) == -EBUSY) {
				if (__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE))
					return NULL;
				sched_yield();
			}
			if (r < 0) {
				fail("%s: async: send of tag %u: %s", a->q->name, t, ename(-r));
				__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
				return NULL;
			}
		}
		/*
		 * The last SQ doorbell of a burst is the one a CQ doorbell from the
		 * other thread may overwrite with nothing after it: every other burst
		 * waits until the poller has it all (a request taken only with its
		 * doorbell would never come: the poller's bound catches it); a pause
		 * now and then otherwise.
		 */
		if (rnd(&s) % 2 == 0) {
			while (__atomic_load_n(&a->done, __ATOMIC_ACQUIRE) < t)
				if (__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE))
					return NULL;
				else
					usleep(20);
		} else if (rnd(&s) % 2 == 0) {
			usleep((useconds_t)(rnd(&s) % 300));
		}
	}
	return NULL;
}

static void async_done(struct async *a, const uint32_t *r, int slot)
{
	unsigned t = tag_of(r);
	uint64_t lat;
	char why[200] = "";

	if (t >= a->n || a->seen[t]) {
		fail("%s: async: completion (slot %d) with tag %u: %s", a->q->name, slot, t,
		     t >= a->n ? "never sent" : "seen twice");
		a->bad++;
		return;
	}
	a->seen[t] = 1;
	__atomic_add_fetch(&a->done, 1, __ATOMIC_RELEASE);
	lat = now_us() - __atomic_load_n(&a->t_sub[t], __ATOMIC_ACQUIRE);
	if (lat > a->max_lat)
		a->max_lat = lat;
	if ((st(r) != ST_OK && st(r) != ST_NEGA) || r[W_CONSUMED] != alen(t))
		snprintf(why, sizeof(why), "status %#x consumed %u of %u", st(r), r[W_CONSUMED],
			 alen(t));
	else
		zlib_check(ALG_DEFLATE, a->out + (size_t)t * AOUT, r[W_PRODUCED],
			   a->in + (size_t)t * AIN, alen(t), why, sizeof(why));
	if (*why) {
		fail("%s: async: tag %u (slot %d): %s", a->q->name, t, slot, why);
		a->bad++;
	}
}

/* the oldest request submitted and not completed for longer than the bound */
static bool async_overdue(struct async *a)
{
	uint64_t now = now_us();

	for (unsigned t = 0; t < a->n; t++) {
		uint64_t ts = __atomic_load_n(&a->t_sub[t], __ATOMIC_ACQUIRE);

		if (!ts)
			break;
		if (!a->seen[t] && now > ts && now - ts > a->bound_us) {
			fail("%s: async: tag %u (of %u) not completed %llu ms after its submission "
			     "(%u done, %u in flight, SQ tail %u, CQ head %u)",
			     a->q->name, t, a->n, (unsigned long long)(now - ts) / 1000, a->done,
			     __atomic_load_n(&a->q->used, __ATOMIC_ACQUIRE), a->q->tail, a->q->head);
			return true;
		}
	}
	return false;
}

/*
 * A request is lost when it never completes: the bound only ends the wait.
 * It is far above any latency (the worst seen is in the ok line): an
 * emulated guest on a loaded host once had 9 requests of 1 KiB wait 2.2 s.
 */
#define ASYNC_BOUND_US	15000000ull

static void mode_async(const char *dev)
{
	struct async a = { .n = nreq, .bound_us = ASYNC_BOUND_US * (uint64_t)tscale };
	uint64_t t0, last_check = 0;
	pthread_t th;
	struct hq q;
	int err;

	a.in = malloc((size_t)a.n * AIN);
	a.out = malloc((size_t)a.n * AOUT);
	a.t_sub = calloc(a.n, sizeof(*a.t_sub));
	a.seen = calloc(a.n, 1);
	if (!a.in || !a.out || !a.t_sub || !a.seen)
		goto out;
	for (unsigned t = 0; t < a.n; t++)
		fill(a.in + (size_t)t * AIN, alen(t), t % 3 == 2 ? 1 : 0, t);
	err = hq_open(&q, dev, 0);
	if (err) {
		fail("%s: async: open: %s", dev, ename(-err));
		goto out;
	}
	a.q = &q;
	t0 = now_us();
	if (pthread_create(&th, NULL, async_submit, &a)) {
		fail("%s: async: pthread_create", dev);
		hq_close(&q);
		goto out;
	}
	/* this thread: the poller (B.5), CQ doorbells on the same word */
	while (a.done < a.n && !a.bad) {
		uint32_t r[32];
		int slot = hq_recv(&q, r);

		if (slot >= 0) {
			async_done(&a, r, slot);
			continue;
		}
		if (slot != -EAGAIN) {
			fail("%s: async: receive: %s", dev, ename(-slot));
			break;
		}
		if (now_us() - last_check > 50000) {
			last_check = now_us();
			if (async_overdue(&a))
				break;
		}
		sched_yield();
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	info("%s: async: worst latency %llu ms (%u of %u completed)", dev,
	     (unsigned long long)a.max_lat / 1000, a.done, a.n);
	if (a.done == a.n && !a.bad)
		ok("%s: async: %u requests, submitter and poller threads sharing the doorbell "
		   "word: every tag completed once, byte-exact (max latency %llu ms, bound %llu "
		   "ms, %llu ms in all)", dev, a.n, (unsigned long long)a.max_lat / 1000,
		   (unsigned long long)a.bound_us / 1000,
		   (unsigned long long)(now_us() - t0) / 1000);
	else
		fail("%s: async: %u of %u requests completed", dev, a.done, a.n);
	hq_close(&q);
out:
	free(a.in);
	free(a.out);
	free(a.t_sub);
	free(a.seen);
}

/* --- lost SQ doorbells, one at a time -------------------------------------------------- */
/* write sqe into the next SQ slot without an SQ doorbell; the slot or -errno */
static int put_slot(struct hq *q, uint32_t *sqe)
{
	unsigned slot = q->tail;

	tag_set(sqe, (uint32_t)rnd(&q->tag));
	memcpy(q->sq + (size_t)slot * SQE_SIZE, sqe, SQE_SIZE);
	q->tail = (slot + 1) % DEPTH;
	__atomic_add_fetch(&q->used, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&n_req, 1, __ATOMIC_RELAXED);
	return (int)slot;
}

/* the completion of slot (us after t0 in *lat); 0 or -errno */
static int wait_slot(struct hq *q, int slot, uint64_t t0, uint32_t *r, uint64_t *lat)
{
	uint64_t end = t0 + 10000000ull * (uint64_t)tscale;
	int got;

	while ((got = hq_recv(q, r)) == -EAGAIN) {
		if (now_us() > end) {
			q->broken = true;
			return -ETIMEDOUT;
		}
		usleep(20);
	}
	*lat = now_us() - t0;
	if (got != slot) {
		q->broken = true;
		return got < 0 ? got : -EPROTO;
	}
	return 0;
}

static bool good_result(const uint32_t *r, const uint8_t *in, size_t n, const uint8_t *out,
			char *why, size_t wl)
{
	if (st(r) != ST_OK && st(r) != ST_NEGA) {
		snprintf(why, wl, "status %#x", st(r));
		return false;
	}
	if (r[W_CONSUMED] != n) {
		snprintf(why, wl, "consumed %u of %zu (input_data_length in the slot now %u)",
			 r[W_CONSUMED], n, r[W_INLEN]);
		return false;
	}
	return zlib_check(ALG_DEFLATE, out, r[W_PRODUCED], in, n, why, wl) == 0;
}

/*
 * The device's second signal (the slot itself) must not make a slot that no
 * SQ doorbell covers look covered: after a request was taken without its
 * doorbell (overwritten by a CQ doorbell, B.5), the next slot is still
 * uncovered until its own doorbell.  A client that fills a slot in place
 * (here: everything, then input_data_length 1 ms later) and rings the
 * doorbell after it must get the request it wrote.
 */
static void mode_doorbell(const char *dev)
{
	enum { N = 4096 };
	static uint8_t in[N], out[N + 1024];
	uint32_t sqe[32], r[32];
	char why[200];
	uint64_t t0, lat;
	struct hq q;
	int slot, err;

	err = hq_open(&q, dev, 0);
	if (err) {
		fail("%s: doorbell: open: %s", dev, ename(-err));
		return;
	}
	fill(in, N, 0, 31);
	for (unsigned attempt = 0; attempt < 5 && !q.broken; attempt++) {
		uint64_t pause;
		volatile uint32_t *w;

		/* a request with its doorbell, then one whose SQ doorbell a CQ doorbell
		 * overwrote */
		sqe_init(sqe, ALG_DEFLATE, false, in, N, out, sizeof(out));
		sqe[W_7] = F_FINISH | F_NEW;
		err = hq_do(&q, sqe, r, false);
		if (err || !good_result(r, in, N, out, why, sizeof(why))) {
			fail("%s: doorbell: a request with its doorbell: %s", dev,
			     err ? ename(-err) : why);
			break;
		}
		sqe_init(sqe, ALG_DEFLATE, false, in, N, out, sizeof(out));
		sqe[W_7] = F_FINISH | F_NEW;
		slot = put_slot(&q, sqe);
		t0 = now_us();
		ring(&q, DB_CQ, q.head, 0);
		err = wait_slot(&q, slot, t0, r, &lat);
		if (err) {
			fail("%s: doorbell: slot %d with its SQ doorbell overwritten by a CQ doorbell: "
			     "%s", dev, slot, ename(-err));
			break;
		}
		if (attempt == 0)
			ok("%s: doorbell: slot %d, its SQ doorbell overwritten by a CQ doorbell, "
			   "completed after %llu us", dev, slot, (unsigned long long)lat);
		if (attempt == 0) {
			/* the next slot, no doorbell at all: not covered by the last SQ doorbell */
			sqe_init(sqe, ALG_DEFLATE, false, in, N, out, sizeof(out));
			sqe[W_7] = F_FINISH | F_NEW;
			slot = put_slot(&q, sqe);
			t0 = now_us();
			err = wait_slot(&q, slot, t0, r, &lat);
			if (err)
				fail("%s: doorbell: slot %d without a doorbell: %s", dev, slot,
				     ename(-err));
			else if (lat < 1800)
				fail("%s: doorbell: slot %d, written with no SQ doorbell after it (the "
				     "last SQ doorbell had tail %d), was taken after %llu us, not "
				     "after the 2 ms a slot no doorbell covers must stay unchanged",
				     dev, slot, slot - 1, (unsigned long long)lat);
			else
				ok("%s: doorbell: slot %d with no doorbell taken after %llu us (>= 2 ms "
				   "unchanged)", dev, slot, (unsigned long long)lat);
			continue;
		}
		/* in place: everything but input_data_length, then that, then the doorbell */
		sqe_init(sqe, ALG_DEFLATE, false, in, N, out, sizeof(out));
		sqe[W_7] = F_FINISH | F_NEW;
		tag_set(sqe, (uint32_t)rnd(&q.tag));
		slot = (int)q.tail;
		w = (volatile uint32_t *)(q.sq + (size_t)slot * SQE_SIZE);
		memset(out, 0, sizeof(out));
		t0 = now_us();
		for (int i = 31; i >= 0; i--)
			if (i != W_INLEN)
				w[i] = sqe[i];
		while (now_us() - t0 < 1000)
			;
		w[W_INLEN] = sqe[W_INLEN];
		pause = now_us() - t0;
		q.tail = (q.tail + 1) % DEPTH;
		__atomic_add_fetch(&q.used, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&n_req, 1, __ATOMIC_RELAXED);
		ring(&q, DB_SQ, q.tail, 0);
		err = wait_slot(&q, slot, t0, r, &lat);
		if (err) {
			fail("%s: doorbell: slot %d written in place: %s", dev, slot, ename(-err));
			break;
		}
		if (pause > 1500) {
			info("%s: doorbell: the in-place write took %llu us (preempted): again", dev,
			     (unsigned long long)pause);
			continue;
		}
		if (good_result(r, in, N, out, why, sizeof(why)))
			ok("%s: doorbell: slot %d written in place (input_data_length %llu us after "
			   "the rest, then the SQ doorbell), after a lost doorbell: the request as "
			   "written", dev, slot, (unsigned long long)pause);
		else
			fail("%s: doorbell: slot %d written in place after a request taken without "
			     "its doorbell (all words but input_data_length, %llu us later that, "
			     "then the SQ doorbell with tail %u): %s", dev, slot,
			     (unsigned long long)pause, q.tail, why);
		break;
	}
	hq_close(&q);
}

/* --- poll ------------------------------------------------------------------------------ */
static void mode_poll(const char *dev)
{
	struct pollfd pfd;
	uint8_t in[4096], out[8192];
	unsigned good = 0, n = 50;
	struct hq q;
	int err, rc;

	err = hq_open(&q, dev, 0);
	if (err) {
		fail("%s: poll: open: %s", dev, ename(-err));
		return;
	}
	q.epoll = 1;
	pfd = (struct pollfd){ .fd = q.fd, .events = POLLIN };
	rc = poll(&pfd, 1, 100);
	if (rc == 0)
		ok("%s: poll: nothing submitted -> not readable within 100 ms", dev);
	else
		fail("%s: poll on an idle queue: %d (revents %#x)", dev, rc, pfd.revents);
	for (unsigned i = 0; i < n; i++) {
		uint32_t sqe[32], r[32];
		int slot;

		fill(in, sizeof(in), i % 2, i);
		sqe_init(sqe, ALG_ZLIB, false, in, sizeof(in), out + 2, sizeof(out) - 2);
		sqe[W_7] = F_FINISH | F_NEW;
		tag_set(sqe, i);
		slot = hq_send(&q, sqe);
		if (slot < 0) {
			fail("%s: poll: send: %s", dev, ename(-slot));
			break;
		}
		pfd = (struct pollfd){ .fd = q.fd, .events = POLLIN };
		rc = poll(&pfd, 1, 5000 * tscale);
		if (rc != 1 || !(pfd.revents & POLLIN)) {
			fail("%s: poll: request %u: poll gave %d (revents %#x), expected POLLIN", dev,
			     i, rc, pfd.revents);
			q.broken = true;
			break;
		}
		slot = hq_recv(&q, r);
		if (slot < 0) {
			fail("%s: poll: request %u: POLLIN but no CQE (%s)", dev, i, ename(-slot));
			q.broken = true;
			break;
		}
		good += tag_of(r) == i && (st(r) == ST_OK || st(r) == ST_NEGA);
	}
	if (good == n)
		ok("%s: poll: %u requests, POLLIN after each completion (CQ doorbell priority 1)",
		   dev, n);
	else if (!q.broken)
		fail("%s: poll: %u of %u completions right", dev, good, n);
	hq_close(&q);
}

/* --- threads ------------------------------------------------------------------------------ */
struct tctx {
	const char *dev;
	unsigned idx, bad;
	pthread_barrier_t *held;
};

static void *thread_main(void *arg)
{
	struct tctx *t = arg;
	uint8_t *in = malloc(200000);
	struct hq q;
	int err = hq_open(&q, t->dev, t->idx & 1);

	if (err)
		fail("%s: thread %u: open: %s", t->dev, t->idx, ename(-err));
	pthread_barrier_wait(t->held);
	pthread_barrier_wait(t->held);
	if (err || !in) {
		t->bad = 1;
		free(in);
		return NULL;
	}
	for (unsigned i = 0; i < nreq / 10 + 1; i++) {
		size_t sz = 1 + (i * 7919u + t->idx * 104729u) % 200000;
		unsigned alg = 1 + (i + t->idx) % 3;

		fill(in, sz, i % 4, i + 1000 * t->idx);
		if (t->idx & 1)
			t->bad += block_decomp(&q, alg, in, sz, 6, "a thread's data") != 0;
		else
			t->bad += block_comp(&q, alg, in, sz, "a thread's data") != 0;
	}
	hq_close(&q);
	free(in);
	return NULL;
}

static void mode_threads(const char *dev)
{
	unsigned nt = nthreads > 16 ? 16 : nthreads, bad = 0;
	struct tctx t[16];
	pthread_t th[16];
	pthread_barrier_t held;
	long a0 = avail(dev), a;

	pthread_barrier_init(&held, NULL, nt + 1);
	for (unsigned i = 0; i < nt; i++) {
		t[i] = (struct tctx){ .dev = dev, .idx = i, .held = &held };
		if (pthread_create(&th[i], NULL, thread_main, &t[i])) {
			fail("%s: pthread_create", dev);
			exit(1);
		}
	}
	pthread_barrier_wait(&held);
	a = avail(dev);
	if (a == a0 - (long)nt)
		ok("%s: threads: %u queues held, available_instances %ld -> %ld", dev, nt, a0, a);
	else
		fail("%s: threads: %u queues held, available_instances %ld, expected %ld", dev, nt,
		     a, a0 - (long)nt);
	pthread_barrier_wait(&held);
	for (unsigned i = 0; i < nt; i++) {
		pthread_join(th[i], NULL);
		bad += t[i].bad;
	}
	pthread_barrier_destroy(&held);
	if (!bad)
		ok("%s: threads: %u threads x %u block requests, each on its own queue, byte-exact",
		   dev, nt, nreq / 10 + 1);
	else
		fail("%s: threads: %u requests wrong", dev, bad);
	if (avail_wait(dev, a0, 1000))
		ok("%s: threads: available_instances back to %ld", dev, a0);
	else
		fail("%s: threads: available_instances %ld, expected %ld", dev, avail(dev), a0);
}

/* --- fork ------------------------------------------------------------------------------ */
static int child(struct hq *p)
{
	int fails = n_fail;
	unsigned char vec;
	struct qp_ctx ctx = { .qc_type = 0 };
	uint8_t in[10000];
	char w[160];
	struct hq q;
	int err;

	snprintf(w, sizeof(w), "%s: child: the parent's MMIO mapping is absent (mincore)", p->name);
	EXPECT(w, mincore(p->mmio, 4096, &vec), ENOMEM);
	snprintf(w, sizeof(w), "%s: child: the parent's DUS mapping is absent (mincore)", p->name);
	EXPECT(w, mincore(p->dus, 4096, &vec), ENOMEM);
	snprintf(w, sizeof(w), "%s: child: SET_QP_CTX on the parent's queue", p->name);
	EXPECT(w, ioctl(p->fd, CMD_SET_QP_CTX, &ctx), EPERM);
	snprintf(w, sizeof(w), "%s: child: PUT_Q on the parent's queue", p->name);
	EXPECT(w, ioctl(p->fd, UACCE_CMD_PUT_Q, 0), EPERM);
	snprintf(w, sizeof(w), "%s: child: mmap DUS of the parent's queue", p->name);
	{
		void *m = mmap(NULL, DUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 4096);
		int e = errno;

		expect(w, m == MAP_FAILED ? -1 : 0, e, EPERM);
		if (m != MAP_FAILED)
			munmap(m, DUS_SIZE);
	}
	err = hq_open(&q, p->name, 0);
	if (err) {
		fail("%s: child: open its own queue: %s", p->name, ename(-err));
		return 1;
	}
	fill(in, sizeof(in), 0, 77);
	if (!block_comp(&q, ALG_GZIP, in, sizeof(in), "the child's data") &&
	    !block_comp(&q, ALG_ZLIB, in, 77, "the child's data"))
		ok("%s: child: its own queue works, byte-exact", p->name);
	hq_close(&q);
	return n_fail != fails;
}

static void mode_fork(const char *dev)
{
	long a0 = avail(dev), a1;
	uint8_t in[5000];
	struct hq q;
	pid_t pid;
	int err, stt;

	err = hq_open(&q, dev, 0);
	if (err) {
		fail("%s: fork: open: %s", dev, ename(-err));
		return;
	}
	a1 = avail(dev);
	if (a1 == a0 - 1)
		ok("%s: available_instances %ld -> %ld at open", dev, a0, a1);
	else
		fail("%s: available_instances after open: %ld, expected %ld", dev, a1, a0 - 1);
	fill(in, sizeof(in), 0, 3);
	block_comp(&q, ALG_DEFLATE, in, sizeof(in), "before fork");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fail("%s: fork: %s", dev, ename(errno));
	} else if (pid == 0) {
		_exit(child(&q));
	} else if (waitpid(pid, &stt, 0) != pid || !WIFEXITED(stt) || WEXITSTATUS(stt)) {
		fail("%s: fork: the child failed (status %#x)", dev, (unsigned)stt);
	} else {
		ok("%s: fork: the child passed its checks", dev);
		if (!block_comp(&q, ALG_GZIP, in, sizeof(in), "after the child"))
			ok("%s: fork: the parent's queue works on after the child", dev);
	}
	hq_close(&q);
	if (avail_wait(dev, a0, 1000))
		ok("%s: available_instances back to %ld after close", dev, a0);
	else
		fail("%s: available_instances after close: %ld, expected %ld", dev, avail(dev), a0);
}

/* --- the device stops under a client (B.4: the RX/TX-stop words) ------------------------ */
/*
 * A queue in use; "ready PID" on stdout; then the device goes away (the
 * caller stops the daemon): the TX-stop and RX-stop words must become 1,
 * as the kernel sets them when the device is reset or removed, so that a
 * UADK client fails (-WD_HW_EACCESS) instead of spinning on a dead queue.
 */
static void mode_stop(const char *dev)
{
	uint8_t in[3000];
	uint64_t t0, end;
	struct hq q;
	int err;

	err = hq_open(&q, dev, 0);
	if (err) {
		fail("%s: stop: open: %s", dev, ename(-err));
		return;
	}
	fill(in, sizeof(in), 0, 9);
	if (block_comp(&q, ALG_ZLIB, in, sizeof(in), "before the stop")) {
		hq_close(&q);
		return;
	}
	dprintf(STDOUT_FILENO, "ready %d\n", (int)getpid());
	t0 = now_us();
	end = t0 + 30000000ull * (uint64_t)tscale;
	while (!(__atomic_load_n(q.tx_stop, __ATOMIC_ACQUIRE) == 1 &&
		 __atomic_load_n(q.rx_stop, __ATOMIC_ACQUIRE) == 1) &&
	       now_us() < end)
		usleep(1000);
	if (*q.tx_stop == 1 && *q.rx_stop == 1)
		ok("%s: stop: TX-stop and RX-stop words 1 after %llu ms: a UADK client fails "
		   "instead of spinning", dev, (unsigned long long)(now_us() - t0) / 1000);
	else
		fail("%s: stop: TX-stop %u RX-stop %u %d s after \"ready\" (the device was to "
		     "stop): a UADK client would go on submitting and polling a dead queue", dev,
		     *q.tx_stop, *q.rx_stop, 30 * tscale);
	/* the daemon is gone: no PUT_Q, only the mappings and the fd */
	munmap(q.mmio, MMIO_SIZE);
	munmap(q.dus, DUS_SIZE);
	close(q.fd);
}

/* --- attributes and ioctls ------------------------------------------------------------------ */
static void mode_attrs(const char *dev)
{
	char buf[256], w[160];
	struct qp_ctx ctx = { .qc_type = 2 };
	struct qp_info qi = { 0 };
	long v;
	int fd;

	if (attr(dev, "api", buf, sizeof(buf)) || strcmp(buf, "hisi_qm_v2\n"))
		fail("%s: api \"%s\", expected \"hisi_qm_v2\\n\"", dev, buf);
	else
		ok("%s: api hisi_qm_v2", dev);
	v = attr_long(dev, "flags");
	if (v < 0 || !(v & UACCE_DEV_SVA))
		fail("%s: flags %ld, expected the SVA bit (1)", dev, v);
	else
		ok("%s: flags %ld (SVA)", dev, v);
	if (attr(dev, "algorithms", buf, sizeof(buf)) || !has_alg(buf, "zlib") ||
	    !has_alg(buf, "gzip") || !has_alg(buf, "deflate") || has_alg(buf, ""))
		fail("%s: algorithms \"%s\": expected lines zlib, gzip, deflate", dev, buf);
	else
		ok("%s: algorithms lines zlib, gzip, deflate", dev);
	v = attr_long(dev, "region_mmio_size");
	if (v != MMIO_SIZE)
		fail("%s: region_mmio_size %ld, expected %d", dev, v, MMIO_SIZE);
	else
		ok("%s: region_mmio_size %d", dev, MMIO_SIZE);
	v = attr_long(dev, "region_dus_size");
	if (v != DUS_SIZE)
		fail("%s: region_dus_size %ld, expected %d", dev, v, DUS_SIZE);
	else
		ok("%s: region_dus_size %d", dev, DUS_SIZE);
	v = attr_long(dev, "isolate");
	if (v != 0)
		fail("%s: isolate %ld, expected 0", dev, v);
	else
		ok("%s: isolate 0", dev);
	v = attr_long(dev, "device/numa_node");
	if (v < -1)
		fail("%s: device/numa_node: %s", dev, ename((int)-v));
	else
		ok("%s: device/numa_node %ld", dev, v);
	v = avail(dev);
	if (v <= 0)
		fail("%s: available_instances %ld", dev, v);
	else
		ok("%s: available_instances %ld", dev, v);

	/* the ioctls (B.2) on a fresh queue */
	snprintf(buf, sizeof(buf), "/dev/%s", dev);
	snprintf(w, sizeof(w), "%s: open /dev/%s O_RDWR|O_CLOEXEC", dev, dev);
	if (!EXPECT(w, fd = open(buf, O_RDWR | O_CLOEXEC), 0))
		return;
	snprintf(w, sizeof(w), "%s: SET_QP_CTX qc_type 2", dev);
	EXPECT(w, ioctl(fd, CMD_SET_QP_CTX, &ctx), EINVAL);
	qi.reserved = 0x1122334455667788ull;
	snprintf(w, sizeof(w), "%s: SET_QP_INFO", dev);
	if (EXPECT(w, ioctl(fd, CMD_SET_QP_INFO, &qi), 0)) {
		if (qi.sqe_size == 128 && qi.sq_depth == 1024 && qi.cq_depth == 1024 &&
		    qi.reserved == 0x1122334455667788ull)
			ok("%s: SET_QP_INFO: sqe_size 128, depths 1024/1024, reserved untouched", dev);
		else
			fail("%s: SET_QP_INFO: sqe_size %u sq_depth %u cq_depth %u reserved %#llx",
			     dev, qi.sqe_size, qi.sq_depth, qi.cq_depth,
			     (unsigned long long)qi.reserved);
	}
	for (unsigned t = 0; t < 2; t++) {
		ctx = (struct qp_ctx){ .id = 0xffff, .qc_type = (uint16_t)t };
		snprintf(w, sizeof(w), "%s: SET_QP_CTX qc_type %u (before START_Q)", dev, t);
		if (EXPECT(w, ioctl(fd, CMD_SET_QP_CTX, &ctx), 0) && ctx.id >= 1024)
			fail("%s: SET_QP_CTX wrote back id %u (not a queue number)", dev, ctx.id);
	}
	snprintf(w, sizeof(w), "%s: START_Q", dev);
	EXPECT(w, ioctl(fd, UACCE_CMD_START_Q, 0), 0);
	snprintf(w, sizeof(w), "%s: PUT_Q", dev);
	EXPECT(w, ioctl(fd, UACCE_CMD_PUT_Q, 0), 0);
	close(fd);
}

/* --- main ------------------------------------------------------------------------------ */
static const struct {
	const char *name;
	void (*fn)(const char *dev);
	bool in_all;
} modes[] = {
	{ "attrs", mode_attrs, true },	     { "block", mode_block, true },
	{ "stream", mode_stream, true },     { "status", mode_status, true },
	{ "sgl", mode_sgl, true },	     { "async", mode_async, true },
	{ "doorbell", mode_doorbell, true }, { "poll", mode_poll, true },
	{ "threads", mode_threads, true },   { "fork", mode_fork, true },
	{ "stop", mode_stop, false },
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

/* UADK's way: the first class entry whose name starts with hisi_zip and has a node */
static int find_dev(char *out, size_t len)
{
	DIR *d = opendir(SYSFS);
	struct dirent *e;
	int rc = -ENODEV;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[PATH_MAX];

		if (strncmp(e->d_name, "hisi_zip", 8))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (access(path, F_OK))
			continue;
		snprintf(out, len, "%s", e->d_name);
		rc = 0;
		break;
	}
	closedir(d);
	return rc;
}

static void usage(const char *p)
{
	fprintf(stderr, "usage: %s [-d DEV] [-n N] [-t THREADS] MODE...\n modes: all", p);
	for (size_t i = 0; i < NMODES; i++)
		fprintf(stderr, " %s", modes[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char dev[256] = "";
	const char *ts = getenv("UACCE_TIME_SCALE");
	bool run[NMODES] = { false };
	uint64_t t0 = now_us();
	int c, err;

	if (ts && atoi(ts) > 0)
		tscale = atoi(ts);
	while ((c = getopt(argc, argv, "d:n:t:")) != -1) {
		switch (c) {
		case 'd':
			snprintf(dev, sizeof(dev), "%s", optarg);
			break;
		case 'n':
			nreq = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 't':
			nthreads = (unsigned)strtoul(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind >= argc || !nreq || !nthreads)
		usage(argv[0]);
	for (int i = optind; i < argc; i++) {
		bool found = false;

		for (size_t m = 0; m < NMODES; m++)
			if ((!strcmp(argv[i], "all") && modes[m].in_all) ||
			    !strcmp(argv[i], modes[m].name))
				run[m] = found = true;
		if (!found)
			usage(argv[0]);
	}
	if (!*dev && (err = find_dev(dev, sizeof(dev)))) {
		fail("no hisi_zip-* entry with a node in " SYSFS ": %s", ename(-err));
		return 1;
	}
	info("device %s", dev);
	for (size_t m = 0; m < NMODES; m++)
		if (run[m])
			modes[m].fn(dev);
	info("kabi-hisi: %s: %lu requests, %d checks passed, %d failed, %llu ms", dev, n_req,
	     n_ok, n_fail, (unsigned long long)(now_us() - t0) / 1000);
	return n_fail ? 1 : 0;
}
