/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * zip-probe - one scenario of the uacce_zip_v1 protocol per subcommand,
 * against a running uacced: zip-probe SCENARIO DEVICE [ARG].  Exit 0 when
 * every check of the scenario held; otherwise each failed check is printed
 * ("zip-probe: SCENARIO: what") and the exit status is 1.
 *
 * Outputs are checked against zlib called in-process, so what the device
 * produces is readable by any zlib/gzip, and what zlib produces is
 * accepted by the device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <uacce/zip.h>

static const char *scenario;
static int failures;

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
			fail(__LINE__, __VA_ARGS__); \
	} while (0)

static void fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zip-probe: %s: line %d: ", scenario, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* text-like data that compresses about 4:1, deterministic */
static void fill_text(unsigned char *p, size_t n, uint32_t seed)
{
	static const char *const w[] = { "uacce ", "queue ", "device ", "the ", "zip ",
					 "stream ", "of ", "request\n", "buffer ", "and " };

	for (size_t i = 0; i < n;) {
		const char *s = w[(seed >> 16) % 10];

		seed = seed * 1103515245u + 12345u;
		for (; *s && i < n; s++)
			p[i++] = (unsigned char)*s;
		if (i < n && (seed >> 8) % 7 == 0)
			p[i++] = (unsigned char)('A' + (seed >> 20) % 26);
	}
}

/* sizes shrink under ZIP_PROBE_SMALL=1 (emulated guests) */
static size_t scaled(size_t n)
{
	return getenv("ZIP_PROBE_SMALL") && atoi(getenv("ZIP_PROBE_SMALL")) ? n / 8 : n;
}

static struct uacce_zip *open_dev(const char *dev, size_t ss)
{
	struct uacce_zip *z;
	int err = uacce_zip_open(dev, ss, &z);

	if (err) {
		fprintf(stderr, "zip-probe: %s: open %s: %s\n", scenario, dev, strerror(-err));
		exit(1);
	}
	return z;
}

static void *xalloc(struct uacce_zip *z, size_t n)
{
	void *p = uacce_zip_alloc(z, n);

	if (!p) {
		fprintf(stderr, "zip-probe: %s: alloc %zu: %s\n", scenario, n, strerror(errno));
		exit(1);
	}
	return p;
}

static struct uacce_zip_sqe req(int op, int alg, const void *src, size_t sl, void *dst, size_t dl)
{
	struct uacce_zip_sqe e = { .src = (uintptr_t)src, .src_len = (uint32_t)sl,
				   .dst = (uintptr_t)dst, .dst_len = (uint32_t)dl,
				   .op = (uint8_t)op, .alg = (uint8_t)alg };
	return e;
}

/* submit and wait for this one request; returns its completion */
static struct uacce_zip_cqe run1(struct uacce_zip *z, struct uacce_zip_sqe e)
{
	static uint64_t cookie = 1000;
	struct uacce_zip_cqe c = { .status = 0xdead };
	int r;

	e.cookie = ++cookie;
	r = uacce_zip_submit(z, &e);
	CHECK(r == 0, "submit: %s", strerror(-r));
	r = uacce_zip_wait(z, &c, 20000);
	CHECK(r == 1, "wait: %d", r);
	CHECK(c.cookie == e.cookie, "cookie %" PRIu64 " != %" PRIu64, (uint64_t)c.cookie,
	      (uint64_t)e.cookie);
	return c;
}

/* inflate with zlib (windowBits as for alg); the length or -1 */
static long zlib_inflate(int alg, const void *in, size_t n, void *out, size_t cap)
{
	z_stream s = { .next_in = (Bytef *)in, .avail_in = (uInt)n, .next_out = out,
		       .avail_out = (uInt)cap };
	int wb = alg == UACCE_ZIP_ALG_DEFLATE ? -15 : alg == UACCE_ZIP_ALG_ZLIB ? 15 : 31, r;

	if (inflateInit2(&s, wb) != Z_OK)
		return -1;
	r = inflate(&s, Z_FINISH);
	inflateEnd(&s);
	return r == Z_STREAM_END ? (long)s.total_out : -1;
}

static long zlib_deflate(int alg, int level, const void *in, size_t n, void *out, size_t cap)
{
	z_stream s = { .next_in = (Bytef *)in, .avail_in = (uInt)n, .next_out = out,
		       .avail_out = (uInt)cap };
	int wb = alg == UACCE_ZIP_ALG_DEFLATE ? -15 : alg == UACCE_ZIP_ALG_ZLIB ? 15 : 31, r;

	if (deflateInit2(&s, level, Z_DEFLATED, wb, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	r = deflate(&s, Z_FINISH);
	deflateEnd(&s);
	return r == Z_STREAM_END ? (long)s.total_out : -1;
}

/* --- whole buffers ------------------------------------------------------------- */

static int sc_roundtrip(const char *dev)
{
	size_t n = scaled(1u << 20), cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, n);
	struct uacce_zip *z = open_dev(dev, 2 * n + 2 * cap + 65536);
	unsigned char *in = xalloc(z, n), *out = xalloc(z, cap), *back = xalloc(z, n);
	unsigned char *ref = malloc(n);
	static const int levels[] = { 0, 1, 6, 9 };

	fill_text(in, n, 1);
	for (int alg = UACCE_ZIP_ALG_DEFLATE; alg <= UACCE_ZIP_ALG_GZIP; alg++) {
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
			struct uacce_zip_sqe e = req(UACCE_ZIP_OP_COMPRESS, alg, in, n, out, cap);
			struct uacce_zip_cqe c;
			long m;

			e.level = (uint8_t)levels[l];
			c = run1(z, e);
			CHECK(c.status == 0 && (c.flags & UACCE_ZIP_CF_EOS) && c.consumed == n,
			      "alg %d level %d: status %u flags %u consumed %u", alg, levels[l],
			      c.status, c.flags, c.consumed);
			CHECK(c.produced < n / 2, "alg %d: poor ratio %u", alg, c.produced);
			m = zlib_inflate(alg, out, c.produced, ref, n);
			CHECK(m == (long)n && memcmp(ref, in, n) == 0, "alg %d level %d: zlib reads %ld",
			      alg, levels[l], m);
		}
		/* what zlib made, the device reads */
		long zn = zlib_deflate(alg, 6, in, n, out, cap);
		struct uacce_zip_cqe c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, alg, out, (size_t)zn,
						      back, n));
		CHECK(c.status == 0 && c.produced == n && c.consumed == zn &&
		      memcmp(back, in, n) == 0, "alg %d: decompress status %u produced %u", alg,
		      c.status, c.produced);
	}
	/* an empty input is a valid stream too */
	struct uacce_zip_cqe c = run1(z, req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, 0, out, cap));
	CHECK(c.status == 0 && c.produced >= 20 && c.produced < 32, "empty: status %u produced %u",
	      c.status, c.produced);
	uint32_t m = c.produced;
	c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, out, m, back, n));
	CHECK(c.status == 0 && c.produced == 0 && c.consumed == m, "empty back: %u", c.status);
	free(ref);
	uacce_zip_close(z);
	return failures;
}

/* several whole-buffer requests in flight, completed in order */
static int sc_pipeline(const char *dev)
{
	enum { N = 24, D = 8 };
	size_t n = scaled(256u << 10), cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, n);
	struct uacce_zip *z = open_dev(dev, D * (n + cap) + 65536);
	unsigned char *in[D], *out[D], *ref = malloc(n), *chk = malloc(n);
	uint64_t next = 0, done = 0;

	for (int i = 0; i < D; i++) {
		in[i] = xalloc(z, n);
		out[i] = xalloc(z, cap);
	}
	while (done < N) {
		struct uacce_zip_cqe c;

		while (next < N && next - done < D) {
			struct uacce_zip_sqe e = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP,
						     in[next % D], n, out[next % D], cap);
			fill_text(in[next % D], n, (uint32_t)next);
			e.cookie = next++;
			CHECK(uacce_zip_submit(z, &e) == 0, "submit");
		}
		if (uacce_zip_wait(z, &c, 20000) != 1) {
			CHECK(0, "wait");
			break;
		}
		CHECK(c.cookie == done, "out of order: %" PRIu64 " for %" PRIu64,
		      (uint64_t)c.cookie, done);
		fill_text(ref, n, (uint32_t)c.cookie);
		CHECK(c.status == 0 && zlib_inflate(UACCE_ZIP_ALG_GZIP, out[c.cookie % D], c.produced,
						    chk, n) == (long)n && !memcmp(ref, chk, n),
		      "request %" PRIu64 ": bad output", (uint64_t)c.cookie);
		done++;
	}
	free(ref);
	free(chk);
	uacce_zip_close(z);
	return failures;
}

/* --- streams ------------------------------------------------------------------- */

/*
 * Run a whole stream with `depth` requests in flight, chunks of `chunk`
 * bytes and output buffers of `ocap` bytes, resubmitting what the device
 * cuts short (epochs).  Returns the output length; *shorts counts the cuts.
 */
struct piece {
	size_t off, len, done;
	bool busy;
	uint16_t epoch;
	unsigned char *out;
};

static size_t stream_all(struct uacce_zip *z, int op, int alg, int level, int sid,
			 const unsigned char *in, size_t n, size_t chunk, size_t ocap, int depth,
			 unsigned char *dst, size_t dcap, int *shorts)
{
	size_t npieces = n / chunk + 1, head = 0, produced = 0;
	struct piece *p = calloc(npieces, sizeof(*p));
	uint16_t epoch = 7;
	bool started = false, ended = false;

	for (size_t i = 0; i < npieces; i++) {
		p[i].off = i * chunk;
		p[i].len = i + 1 == npieces ? n - p[i].off : chunk;
		p[i].out = xalloc(z, ocap);
	}
	*shorts = 0;
	while (!ended) {
		struct uacce_zip_cqe c;
		int inflight = 0;

		for (size_t i = head; i < npieces && inflight < depth; i++) {
			struct uacce_zip_sqe e;

			if (p[i].busy) {
				if (p[i].epoch != epoch)
					break;
				inflight++;
				continue;
			}
			e = req(op, alg, in + p[i].off + p[i].done, p[i].len - p[i].done, p[i].out,
				ocap);
			e.stream = (uint8_t)sid;
			e.level = (uint8_t)level;
			e.epoch = epoch;
			e.cookie = i;
			e.flags = (started ? 0 : UACCE_ZIP_F_START) |
				  (i + 1 == npieces ? UACCE_ZIP_F_END : 0);
			if (uacce_zip_submit(z, &e))
				break;
			started = true;
			p[i].busy = true;
			p[i].epoch = epoch;
			inflight++;
		}
		if (uacce_zip_wait(z, &c, 20000) != 1) {
			CHECK(0, "stream wait");
			break;
		}
		p[c.cookie].busy = false;
		if (c.status == ECANCELED)
			continue;
		CHECK(c.status == 0, "stream piece %" PRIu64 ": %s", (uint64_t)c.cookie,
		      uacce_zip_strerror((int)c.status));
		if (c.status)
			break;
		CHECK(c.cookie == head, "stream completion %" PRIu64 " while at %zu",
		      (uint64_t)c.cookie, head);
		CHECK(produced + c.produced <= dcap, "stream output overflow");
		if (produced + c.produced > dcap)
			break;
		memcpy(dst + produced, p[c.cookie].out, c.produced);
		produced += c.produced;
		p[c.cookie].done += c.consumed;
		if (c.flags & UACCE_ZIP_CF_EOS)
			ended = true;
		else if (c.flags & UACCE_ZIP_CF_MORE) {
			epoch = c.epoch;
			(*shorts)++;
		} else
			head++;
	}
	while (uacce_zip_outstanding(z)) {
		struct uacce_zip_cqe c;

		if (uacce_zip_wait(z, &c, 20000) != 1)
			break;
	}
	free(p);
	return produced;
}

static int sc_stream(const char *dev)
{
	size_t n = scaled(4u << 20), cap = n + (1u << 20);
	struct uacce_zip *z = open_dev(dev, 48u << 20);
	unsigned char *in = xalloc(z, n), *gz = malloc(cap), *back = malloc(n + 1);
	int shorts;

	fill_text(in, n, 42);
	/* each format at level 1 (ISA-L streams) and 6 (zlib), uacce_zip(7) */
	for (int i = 0; i < 6; i++) {
		int alg = UACCE_ZIP_ALG_DEFLATE + i / 2, lv = i % 2 ? 6 : 1;

		/* big chunks, small outputs: the device cuts requests short */
		size_t m = stream_all(z, UACCE_ZIP_OP_COMPRESS, alg, lv, 1, in, n,
				      scaled(512u << 10), scaled(64u << 10), 4, gz, cap, &shorts);
		long k = zlib_inflate(alg, gz, m, back, n + 1);

		CHECK(k == (long)n && !memcmp(back, in, n),
		      "alg %d level %d: compressed stream unreadable", alg, lv);
		CHECK(shorts > 0, "alg %d level %d: no request was cut short", alg, lv);
		/* and back through the device, 100 KiB of input at a time, 128 KiB out */
		unsigned char *gzs = xalloc(z, m), *plain = malloc(n + 1);
		memcpy(gzs, gz, m);
		size_t r = stream_all(z, UACCE_ZIP_OP_DECOMPRESS, alg, 0, 2, gzs, m,
				      scaled(100u << 10), scaled(128u << 10), 3, plain, n + 1, &shorts);
		CHECK(r == n && !memcmp(plain, in, n), "alg %d: stream decompress %zu", alg, r);
		CHECK(shorts > 0, "alg %d: decompress never cut short", alg);
		free(plain);
	}
	free(gz);
	free(back);
	uacce_zip_close(z);
	return failures;
}

/* two gzip members, one stream: the output is both, like gzip -d */
static int sc_members(const char *dev)
{
	size_t n = 300000, cap = 2 * n;
	struct uacce_zip *z = open_dev(dev, 8u << 20);
	unsigned char *in = xalloc(z, 2 * n), *gz = xalloc(z, cap), *out = xalloc(z, 2 * n + 16);
	long a, b;

	fill_text(in, 2 * n, 5);
	a = zlib_deflate(UACCE_ZIP_ALG_GZIP, 6, in, n, gz, cap);
	b = zlib_deflate(UACCE_ZIP_ALG_GZIP, 1, in + n, n, gz + a, cap - (size_t)a);
	struct uacce_zip_sqe e = req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, (size_t)(a + b),
				     out, 2 * n + 16);
	e.stream = 1;
	e.flags = UACCE_ZIP_F_START | UACCE_ZIP_F_END;
	struct uacce_zip_cqe c = run1(z, e);
	CHECK(c.status == 0 && (c.flags & UACCE_ZIP_CF_EOS) && c.produced == 2 * n &&
	      c.consumed == a + b && !memcmp(out, in, 2 * n), "two members: status %u produced %u",
	      c.status, c.produced);
	/* trailing garbage: EOS, and consumed stops at the end of the member */
	memcpy(gz + a, "garbage!", 8);
	e.src_len = (uint32_t)a + 8;
	c = run1(z, e);
	CHECK(c.status == 0 && (c.flags & UACCE_ZIP_CF_EOS) && c.consumed == a && c.produced == n,
	      "trailing garbage: status %u consumed %u", c.status, c.consumed);
	uacce_zip_close(z);
	return failures;
}

/* --- error paths --------------------------------------------------------------- */

static int sc_corrupt(const char *dev)
{
	size_t n = scaled(1u << 20), cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, n);
	struct uacce_zip *z = open_dev(dev, 8u << 20);
	unsigned char *in = xalloc(z, n), *gz = xalloc(z, cap), *out = xalloc(z, n);
	struct uacce_zip_cqe c;
	uint32_t m;

	fill_text(in, n, 9);
	c = run1(z, req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, n, gz, cap));
	m = c.produced;
	/* bad CRC, bad header, bad block type, truncated */
	gz[m - 6] ^= 0xff;
	c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, m, out, n));
	CHECK(c.status == EBADMSG, "bad crc: %u", c.status);
	gz[m - 6] ^= 0xff;
	gz[2] = 7;	/* CM must be 8 */
	c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, m, out, n));
	CHECK(c.status == EBADMSG, "bad header: %u", c.status);
	gz[2] = 8;
	c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, m / 2, out, n));
	CHECK(c.status == EBADMSG, "truncated whole buffer: %u", c.status);
	c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_ZLIB, gz, m, out, n));
	CHECK(c.status == EBADMSG, "gzip read as zlib: %u", c.status);

	/* streams: an error closes the stream, the next request gets EPIPE */
	struct uacce_zip_sqe e = req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, m / 2, out, n);
	e.stream = 1;
	e.flags = UACCE_ZIP_F_START;
	c = run1(z, e);
	CHECK(c.status == 0 && !(c.flags & UACCE_ZIP_CF_EOS), "first half: %u", c.status);
	e.src = (uintptr_t)(gz + m / 2);
	e.src_len = m - m / 2;
	e.flags = UACCE_ZIP_F_END;
	gz[m - 6] ^= 0xff;
	c = run1(z, e);
	CHECK(c.status == EBADMSG, "stream bad crc: %u", c.status);
	gz[m - 6] ^= 0xff;
	c = run1(z, e);
	CHECK(c.status == EPIPE, "after the error: %u", c.status);
	/* truncated stream: ENODATA at the end */
	e.src = (uintptr_t)gz;
	e.src_len = m - 100;
	e.flags = UACCE_ZIP_F_START | UACCE_ZIP_F_END;
	c = run1(z, e);
	CHECK(c.status == ENODATA, "truncated stream: %u", c.status);
	/* the queue still works */
	c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, m, out, n));
	CHECK(c.status == 0 && c.produced == n && !memcmp(out, in, n), "afterwards: %u", c.status);
	uacce_zip_close(z);
	return failures;
}

static int sc_short(const char *dev)
{
	size_t n = scaled(1u << 20), cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, n);
	struct uacce_zip *z = open_dev(dev, 8u << 20);
	unsigned char *in = xalloc(z, n), *gz = xalloc(z, cap), *out = xalloc(z, n);
	struct uacce_zip_cqe c;
	uint32_t m;

	fill_text(in, n, 11);
	c = run1(z, req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, n, gz, 1000));
	CHECK(c.status == ENOSPC && c.produced == 0, "compress short: %u", c.status);
	c = run1(z, req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, n, gz, cap));
	m = c.produced;
	c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, m, out, n - 1));
	CHECK(c.status == ENOSPC, "decompress short: %u", c.status);
	c = run1(z, req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, m, out, 0));
	CHECK(c.status == ENOSPC, "decompress into nothing: %u", c.status);
	/* a stream is cut short instead: MORE, new epoch, then the rest */
	struct uacce_zip_sqe e = req(UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, gz, m, out, 4096);
	e.stream = 3;
	e.epoch = 100;
	e.flags = UACCE_ZIP_F_START | UACCE_ZIP_F_END;
	c = run1(z, e);
	CHECK(c.status == 0 && (c.flags & UACCE_ZIP_CF_MORE) && c.produced == 4096 &&
	      c.epoch == 101, "stream short: %u flags %u epoch %u", c.status, c.flags, c.epoch);
	e.flags = UACCE_ZIP_F_END;
	e.src += c.consumed;
	e.src_len -= c.consumed;
	e.dst = (uintptr_t)(out + 4096);
	e.dst_len = (uint32_t)(n - 4096);
	c = run1(z, e);		/* stale epoch 100 */
	CHECK(c.status == ECANCELED && c.epoch == 101, "stale epoch: %u", c.status);
	e.epoch = 101;
	c = run1(z, e);
	CHECK(c.status == 0 && (c.flags & UACCE_ZIP_CF_EOS) && c.produced == n - 4096 &&
	      !memcmp(out, in, n), "stream rest: %u produced %u", c.status, c.produced);
	/* compression ending in a small buffer: the rest of the last input again */
	size_t got = 0, rest = n;
	unsigned char *src = in;
	e = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, n, gz, 16384);
	e.stream = 4;
	e.flags = UACCE_ZIP_F_START | UACCE_ZIP_F_END;
	for (int k = 0; k < 10000; k++) {
		c = run1(z, e);
		CHECK(c.status == 0, "ending in small buffers: %s", uacce_zip_strerror((int)c.status));
		if (c.status)
			break;
		got += c.produced;
		src += c.consumed;
		rest -= c.consumed;
		if (c.flags & UACCE_ZIP_CF_EOS)
			break;
		e.flags = UACCE_ZIP_F_END;
		e.epoch = c.epoch;
		e.src = (uintptr_t)src;
		e.src_len = (uint32_t)rest;
		e.dst = (uintptr_t)(gz + got);
		e.dst_len = (uint32_t)(cap - got < 16384 ? cap - got : 16384);
	}
	CHECK(rest == 0 && zlib_inflate(UACCE_ZIP_ALG_GZIP, gz, got, out, n) == (long)n &&
	      !memcmp(out, in, n), "ending in small buffers: output unreadable");
	/* and new input after the end is refused */
	e = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, 65536, gz, 16);
	e.stream = 4;
	e.flags = UACCE_ZIP_F_START | UACCE_ZIP_F_END;
	c = run1(z, e);
	CHECK(c.status == 0 && (c.flags & UACCE_ZIP_CF_MORE), "tiny end: %u", c.status);
	e.flags = UACCE_ZIP_F_END;
	e.epoch = c.epoch;
	e.src_len = 65536 - c.consumed + 1;	/* one byte more than what was left */
	e.src += c.consumed;
	c = run1(z, e);
	CHECK(c.status == EINVAL, "input after the end: %u", c.status);
	uacce_zip_close(z);
	return failures;
}

static int sc_invalid(const char *dev)
{
	struct uacce_zip *z = open_dev(dev, 1u << 20);
	unsigned char *in = xalloc(z, 4096), *out = xalloc(z, 8192);
	struct uacce_zip_sqe good = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, 4096, out, 8192);
	struct uacce_zip_sqe e;
	struct uacce_zip_cqe c;

	memset(in, 'a', 4096);
#define BAD(field, val, want) \
	do { \
		e = good; \
		e.field = val; \
		c = run1(z, e); \
		CHECK(c.status == (want), #field "=" #val ": %u", c.status); \
	} while (0)
	BAD(op, 0, EINVAL);
	BAD(op, 3, EINVAL);
	BAD(alg, 0, EINVAL);
	BAD(alg, 4, EINVAL);
	BAD(level, 10, EINVAL);
	BAD(stream, 200, EINVAL);
	BAD(flags, 0x80, EINVAL);
	BAD(rsvd0, 1, EINVAL);
	BAD(rsvd[4], 1, EINVAL);
	BAD(src_len, uacce_zip_max_buf(z) + 1, E2BIG);
	BAD(dst_len, 0xffffffffu, E2BIG);
	/* streams: no stream yet, wrong op for the stream */
	e = good;
	e.stream = 2;
	c = run1(z, e);
	CHECK(c.status == EPIPE, "no stream: %u", c.status);
	e.flags = UACCE_ZIP_F_START;
	c = run1(z, e);
	CHECK(c.status == 0, "start: %u", c.status);
	e.flags = 0;
	e.op = UACCE_ZIP_OP_DECOMPRESS;
	c = run1(z, e);
	CHECK(c.status == EINVAL, "other op on the stream: %u", c.status);
	c = run1(z, good);
	CHECK(c.status == 0, "a good request afterwards: %u", c.status);
	uacce_zip_close(z);
	return failures;
}

/*
 * The end of what a non-SVA device reaches: the SS the probe asked for
 * (`ss_end`), or on a mainline-profile device (no SS) the end of its DUS.
 */
static const void *data_end(struct uacce_zip *z, const void *ss_end)
{
	struct uacce_q *q = uacce_zip_queue(z);
	uint64_t off, size;

	if (uacce_region_info(q, UACCE_QFRT_SS, &off, &size) != -ENXIO ||
	    uacce_region_info(q, UACCE_QFRT_DUS, &off, &size) < 0)
		return ss_end;
	return (const char *)uacce_region_addr(q, UACCE_QFRT_DUS) + size;
}

static int sc_badaddr(const char *dev)
{
	struct uacce_zip *z = open_dev(dev, 1u << 20);
	unsigned char *in = xalloc(z, 65536), *out = xalloc(z, 131072);
	unsigned char *heap = malloc(65536);
	/* a hole far from every buffer of ours */
	char *hole = mmap(NULL, 8u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *gone = hole + (4u << 20);
	struct uacce_zip_sqe good = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, 65536, out, 131072);
	struct uacce_zip_sqe e;
	struct uacce_zip_cqe c;
	bool sva = uacce_zip_is_sva(z);

	fill_text(in, 65536, 3);
	munmap(hole, 8u << 20);
	BAD(src, 0, EFAULT);
	BAD(dst, 0, EFAULT);
	BAD(src, (uintptr_t)gone, EFAULT);
	BAD(dst, (uintptr_t)gone, EFAULT);
	BAD(src, 0xffff800000000000ULL, EFAULT);
	BAD(src, 0xfffffffffffff000ULL, EFAULT);	/* wraps around */
	BAD(dst, (uintptr_t)(in + 100), EINVAL);	/* overlaps the input */
	if (!sva) {	/* only the SS is reachable */
		memcpy(heap, in, 65536);
		BAD(src, (uintptr_t)heap, EFAULT);
		BAD(dst, (uintptr_t)heap, EFAULT);
		BAD(src, (uintptr_t)data_end(z, in + (1u << 20)) - 100, EFAULT);	/* past its end */
	} else {	/* any memory of ours is */
		memcpy(heap, in, 65536);
		e = good;
		e.src = (uintptr_t)heap;
		c = run1(z, e);
		CHECK(c.status == 0, "SVA heap input: %u", c.status);
	}
	/* a stream hit by a bad address is closed */
	e = good;
	e.stream = 1;
	e.flags = UACCE_ZIP_F_START;
	e.src = (uintptr_t)gone;
	c = run1(z, e);
	CHECK(c.status == EFAULT, "stream bad address: %u", c.status);
	e.flags = 0;
	e.src = good.src;
	c = run1(z, e);
	CHECK(c.status == EPIPE, "stream after EFAULT: %u", c.status);
	c = run1(z, good);
	CHECK(c.status == 0, "a good request afterwards: %u", c.status);
	free(heap);
	uacce_zip_close(z);
	return failures;
}

/* --- the rings ----------------------------------------------------------------- */

static struct uacce_zip_regs *regs_of(struct uacce_zip *z)
{
	return uacce_region_addr(uacce_zip_queue(z), UACCE_QFRT_MMIO);
}

/* what a client does when NEED_WAKEUP is up */
static void kick(struct uacce_zip_regs *r)
{
	__atomic_add_fetch(&r->wake, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &r->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* garbage indices: the device ignores them and counts; the queue recovers */
static int sc_ring(const char *dev)
{
	struct uacce_zip *z = open_dev(dev, 1u << 20);
	struct uacce_zip_regs *r = regs_of(z);
	unsigned char *in = xalloc(z, 4096), *out = xalloc(z, 8192);
	struct uacce_zip_sqe good = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, 4096, out, 8192);
	struct uacce_zip_cqe c;
	uint32_t tail, errs = r->ring_errors;

	memset(in, 'x', 4096);
	c = run1(z, good);
	CHECK(c.status == 0, "before: %u", c.status);
	tail = r->sq_tail;
	__atomic_store_n(&r->sq_tail, tail + 100000, __ATOMIC_SEQ_CST);
	kick(r);
	usleep(200000);
	CHECK(r->sq_head == tail && r->cq_tail == tail, "device took garbage: head %u", r->sq_head);
	CHECK(r->ring_errors > errs, "ring_errors did not move");
	__atomic_store_n(&r->sq_tail, tail, __ATOMIC_SEQ_CST);
	c = run1(z, good);
	CHECK(c.status == 0, "after sq_tail garbage: %u", c.status);
	/* a cq_head from the future: the CQ looks full, nothing is posted */
	tail = r->cq_head;
	__atomic_store_n(&r->cq_head, tail + 5000, __ATOMIC_SEQ_CST);
	struct uacce_zip_sqe e = good;
	e.cookie = 77;
	CHECK(uacce_zip_submit(z, &e) == 0, "submit");
	usleep(200000);
	CHECK(r->cq_tail == tail, "posted into a full CQ");
	__atomic_store_n(&r->cq_head, tail, __ATOMIC_SEQ_CST);
	kick(r);
	CHECK(uacce_zip_wait(z, &c, 5000) == 1 && c.cookie == 77 && c.status == 0,
	      "after cq_head garbage");
	uacce_zip_close(z);
	return failures;
}

/*
 * While the device has work of a queue, a submission never sees
 * NEED_WAKEUP (no system call); after the device idles, it does.  "Has
 * work" is read after the flag: the device raises the flag only after
 * posting the last completion, so flag up and a completion missing is a
 * violation, whatever the load (a client descheduled long enough lets the
 * device drain: then the flag is right, and only counted).
 */
static int sc_nowake(const char *dev)
{
	enum { N = 24, D = 4 };
	size_t n = scaled(512u << 10), cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, n);
	struct uacce_zip *z = open_dev(dev, D * (n + cap) + 65536);
	struct uacce_zip_regs *r = regs_of(z);
	unsigned char *in[D], *out[D];
	int flagged = 0, drained = 0, next = 0, done = 0;
	uint64_t t0;

	for (int i = 0; i < D; i++) {
		in[i] = xalloc(z, n);
		out[i] = xalloc(z, cap);
		fill_text(in[i], n, (uint32_t)i);
	}
	while (done < N) {
		struct uacce_zip_cqe c;

		while (next < N && next - done < D) {
			struct uacce_zip_sqe e = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP,
						     in[next % D], n, out[next % D], cap);
			e.cookie = (uint64_t)next;
			if (next >= D && (__atomic_load_n(&r->flags, __ATOMIC_SEQ_CST) &
					  UACCE_ZIP_NEED_WAKEUP)) {
				if (__atomic_load_n(&r->cq_tail, __ATOMIC_SEQ_CST) != r->sq_tail)
					flagged++;	/* work left, yet "wake me" */
				else
					drained++;
			}
			CHECK(uacce_zip_submit(z, &e) == 0, "submit");
			next++;
		}
		if (uacce_zip_wait(z, &c, 20000) != 1)
			break;
		done++;
	}
	/*
	 * The flag may be seen with work left when a submission races with
	 * the device going idle (it raises the flag, then looks again): that
	 * costs the client one spurious kick, loses nothing (every request
	 * above completed), and happens in a window of a few instructions
	 * unless the worker is preempted inside it, which a loaded machine
	 * does.  What must hold: a fed queue is not flagged as a rule.
	 */
	CHECK(done == N, "%d of %d requests completed", done, N);
	CHECK(flagged <= (N - D) / 2, "%d of %d submissions saw NEED_WAKEUP with work left",
	      flagged, N - D);
	usleep(300000);
	CHECK(__atomic_load_n(&r->flags, __ATOMIC_SEQ_CST) & UACCE_ZIP_NEED_WAKEUP,
	      "idle device does not ask for a wake-up");
	t0 = now_ms();
	struct uacce_zip_cqe c = run1(z, req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in[0], 4096,
					     out[0], 8192));
	CHECK(c.status == 0 && now_ms() - t0 < 500, "woken request took %" PRIu64 " ms",
	      now_ms() - t0);
	printf("nowake: %d of %d refills found the device busy and not flagged (%d found it drained, "
	       "%d flagged with work left), wake-up round trip %" PRIu64 " ms\n",
	       N - D - drained - flagged, N - D, drained, flagged, now_ms() - t0);
	uacce_zip_close(z);
	return failures;
}

/* three queues, each always fed: the device serves them about equally */
static int sc_fair(const char *dev)
{
	enum { Q = 3, D = 16 };	/* deep enough that no queue runs dry between refills */
	size_t n = scaled(128u << 10), cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, n);
	double secs = getenv("ZIP_PROBE_SECONDS") ? atof(getenv("ZIP_PROBE_SECONDS")) : 2.0;
	struct uacce_zip *z[Q];
	unsigned char *in[Q], *out[Q][D];
	uint64_t count[Q] = { 0 }, end, lo = UINT64_MAX, hi = 0;

	for (int q = 0; q < Q; q++) {
		z[q] = open_dev(dev, n + D * cap + 65536);
		in[q] = xalloc(z[q], n);
		fill_text(in[q], n, (uint32_t)q);
		for (int k = 0; k < D; k++) {
			struct uacce_zip_sqe e = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in[q],
						     n, NULL, cap);
			out[q][k] = xalloc(z[q], cap);
			e.dst = (uintptr_t)out[q][k];
			e.cookie = (uint64_t)k;
			uacce_zip_submit(z[q], &e);
		}
	}
	end = now_ms() + (uint64_t)(secs * 1000);
	while (now_ms() < end) {
		for (int q = 0; q < Q; q++) {
			struct uacce_zip_cqe c;

			while (uacce_zip_reap(z[q], &c) == 1) {
				struct uacce_zip_sqe e = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP,
							     in[q], n, out[q][c.cookie], cap);
				CHECK(c.status == 0, "status %u", c.status);
				count[q]++;
				e.cookie = c.cookie;
				uacce_zip_submit(z[q], &e);
			}
		}
		usleep(1000);
	}
	for (int q = 0; q < Q; q++) {
		lo = count[q] < lo ? count[q] : lo;
		hi = count[q] > hi ? count[q] : hi;
		uacce_zip_close(z[q]);
	}
	printf("fair: %" PRIu64 " %" PRIu64 " %" PRIu64 " requests\n", count[0], count[1], count[2]);
	CHECK(lo > 0 && (double)lo >= 0.6 * (double)hi, "unfair: %" PRIu64 " vs %" PRIu64, lo, hi);
	return failures;
}

/*
 * The owner dies mid-stream, requests in flight: the hardware queue comes
 * back, and the device serves new queues.  ARG: rounds (default 10).
 */
static int child_mid_stream(const char *dev, int fd)
{
	size_t n = scaled(4u << 20), cap = n + (1u << 20);
	struct uacce_zip *z;
	unsigned char *in, *out;

	if (uacce_zip_open(dev, 2 * (n + cap), &z))
		_exit(2);
	in = uacce_zip_alloc(z, n);
	out = uacce_zip_alloc(z, cap);
	fill_text(in, n, 77);
	for (int k = 0; k < 8; k++) {
		struct uacce_zip_sqe e = req(UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, in, n, out, cap);
		e.stream = 1;
		e.level = 9;
		e.flags = k == 0 ? UACCE_ZIP_F_START : 0;
		uacce_zip_submit(z, &e);
	}
	if (write(fd, "r", 1) != 1)
		_exit(3);
	pause();
	_exit(0);
}

static int avail(const char *dev)
{
	char buf[32];

	return uacce_dev_attr(dev, "available_instances", buf, sizeof(buf)) > 0 ? atoi(buf) : -1;
}

static int sc_killed(const char *dev, int rounds)
{
	int before = avail(dev);

	for (int i = 0; i < rounds; i++) {
		int p[2];
		char ch;
		pid_t pid;
		uint64_t t0;

		if (pipe(p) < 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			child_mid_stream(dev, p[1]);
		}
		close(p[1]);
		CHECK(read(p[0], &ch, 1) == 1, "child did not start");
		close(p[0]);
		usleep(20000 + (useconds_t)(i % 5) * 10000);	/* mid-request */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		t0 = now_ms();
		while (avail(dev) != before && now_ms() - t0 < 5000)
			usleep(10000);
		CHECK(avail(dev) == before, "round %d: available_instances %d, was %d", i,
		      avail(dev), before);
	}
	return sc_roundtrip(dev);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: zip-probe roundtrip|pipeline|stream|members|corrupt|short|"
				"invalid|badaddr|ring|nowake|fair|killed DEVICE [ARG]\n");
		return 2;
	}
	scenario = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(scenario, "roundtrip")) return sc_roundtrip(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "pipeline")) return sc_pipeline(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "stream")) return sc_stream(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "members")) return sc_members(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "corrupt")) return sc_corrupt(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "short")) return sc_short(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "invalid")) return sc_invalid(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "badaddr")) return sc_badaddr(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "ring")) return sc_ring(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "nowake")) return sc_nowake(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "fair")) return sc_fair(argv[2]) ? 1 : 0;
	if (!strcmp(scenario, "killed"))
		return sc_killed(argv[2], argc > 3 ? atoi(argv[3]) : 10) ? 1 : 0;
	fprintf(stderr, "zip-probe: unknown scenario %s\n", scenario);
	return 2;
}
