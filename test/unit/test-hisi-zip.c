/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-hisi-zip.c - the HiSilicon-QM-compatible zip device
 * (hwbackends/soft/hisi_zip.c) driven through the queue core as UADK
 * drives the hardware (uacce/hisi_qm.h): SQEs built from zero, the doorbell
 * word, CQEs with their phase, results read back from the SQ slot, the
 * client writing and stripping zlib/gzip headers.  Everything is checked
 * against zlib.  The test process is both the daemon and the client (its
 * own buffers are the SVA addresses).
 */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <zlib.h>

#include "core-fixture.h"
#include "handover.h"
#include "unit-main.h"
#include "uacce/hisi_qm.h"

static const uint8_t gzip_hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
static const uint8_t zlib_hdr[2] = { 0x78, 0x9c };

struct client {
	struct uacce_queue *q;
	struct uacce_caller w;
	uint8_t *mmio, *dus;
	struct hisi_zip_sqe *sq;
	struct hisi_qm_cqe *cq;
	uint16_t qn;
	uint32_t tail, cq_head;
	uint16_t phase;
	volatile uint64_t *db;
	uint32_t tag;
};

static int qm_ioctl(struct client *c, unsigned int cmd, void *data)
{
	struct uacce_ioctl io = { .cmd = cmd, .size = _IOC_SIZE(cmd), .data = data };

	return uq_ioctl(c->q, &c->w, &io);
}

static void client_open(struct client *c, struct uacce_dev *d, int qc_type)
{
	struct hisi_qp_ctx ctx = { .qc_type = (uint16_t)qc_type };
	struct hisi_qp_info info = { .reserved = 0x1122334455667788ULL };

	memset(c, 0, sizeof(*c));
	c->w = me();
	c->q = open_me(d);
	/* UADK's order: DUS, MMIO, SET_QP_CTX, SET_QP_INFO, START */
	c->dus = map_me(c->q, UACCE_QFRT_DUS, HISI_QM_DUS_SIZE);
	c->mmio = map_me(c->q, UACCE_QFRT_MMIO, HISI_QM_MMIO_SIZE);
	ck_assert_int_eq(qm_ioctl(c, UACCE_CMD_QM_SET_QP_CTX, &ctx), 0);
	c->qn = ctx.id;
	ck_assert_int_eq(qm_ioctl(c, UACCE_CMD_QM_SET_QP_INFO, &info), 0);
	ck_assert_uint_eq(info.sqe_size, 128);
	ck_assert_uint_eq(info.sq_depth, 1024);
	ck_assert_uint_eq(info.cq_depth, 1024);
	ck_assert_uint_eq(info.reserved, 0x1122334455667788ULL);
	start_as(c->q, c->w);
	c->sq = (struct hisi_zip_sqe *)c->dus;
	c->cq = (struct hisi_qm_cqe *)(c->dus + HISI_QM_CQ_OFFSET);
	c->db = (volatile uint64_t *)(c->mmio + HISI_QM_DB_OFFSET);
	c->phase = 1;
	c->tag = 100;
}

static void client_close(struct client *c)
{
	uq_release(c->q);
}

/* one 64-bit store, as the hardware's clients write the doorbell */
static void db_write(struct client *c, uint64_t v)
{
	__atomic_store_n((uint64_t *)c->db, v, __ATOMIC_RELEASE);
}

/* write the SQE into the slot at the tail; ring the SQ doorbell if asked */
static uint32_t post(struct client *c, const struct hisi_zip_sqe *e, bool ring)
{
	uint32_t slot = c->tail;

	memcpy(&c->sq[slot], e, sizeof(*e));
	c->tail = (c->tail + 1) % HISI_QM_Q_DEPTH;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (ring)
		db_write(c, HISI_QM_DB(c->qn, HISI_QM_DB_CMD_SQ, c->tail, 0));
	return slot;
}

/* the next CQE (phase), the completed SQE copied out of its slot */
static bool reap(struct client *c, struct hisi_zip_sqe *out, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		struct hisi_qm_cqe *q = &c->cq[c->cq_head];

		if ((__atomic_load_n(&q->w7, __ATOMIC_ACQUIRE) & 1) == c->phase) {
			ck_assert_uint_lt(q->sq_head, HISI_QM_Q_DEPTH);
			ck_assert_uint_eq(q->sq_num, c->qn);
			memcpy(out, &c->sq[q->sq_head], sizeof(*out));
			if (++c->cq_head == HISI_QM_Q_DEPTH) {
				c->cq_head = 0;
				c->phase ^= 1;
			}
			db_write(c, HISI_QM_DB(c->qn, HISI_QM_DB_CMD_CQ, c->cq_head, 0));
			return true;
		}
		if (now_ms() > end)
			return false;
		usleep(50);
	}
}

static struct hisi_zip_sqe sqe(struct client *c, uint8_t alg, const void *src, uint32_t in_len,
			       void *dst, uint32_t avail)
{
	struct hisi_zip_sqe e = { 0 };

	e.dw9 = alg;
	e.input_data_length = in_len;
	e.dest_avail_out = avail;
	e.source_addr_l = (uint32_t)(uintptr_t)src;
	e.source_addr_h = (uint32_t)((uintptr_t)src >> 32);
	e.dest_addr_l = (uint32_t)(uintptr_t)dst;
	e.dest_addr_h = (uint32_t)((uintptr_t)dst >> 32);
	e.dw7 = HISI_ZIP_STREAM_NEW | HISI_ZIP_FLUSH_FINISH;
	e.dw13 = c->tag++;
	return e;
}

static struct hisi_zip_sqe run(struct client *c, const struct hisi_zip_sqe *e)
{
	struct hisi_zip_sqe r;

	post(c, e, true);
	ck_assert_msg(reap(c, &r, 5000), "no completion");
	ck_assert_uint_eq(r.dw13, e->dw13);	/* the tag comes back */
	ck_assert_uint_eq(r.dw9, e->dw9);
	return r;
}

static uint8_t *text(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n);
	static const char *const w[] = { "accelerator ", "queue ", "uacce ", "deflate ",
					 "zip ", "the ", "of ", "\n" };

	ck_assert_ptr_nonnull(p);
	srand(seed);
	for (size_t i = 0; i < n;) {
		const char *s = w[rand() % 8];

		for (; *s && i < n; s++)
			p[i++] = (uint8_t)*s;
		if (i < n && rand() % 7 == 0)
			p[i++] = (uint8_t)(rand() & 0xff);
	}
	return p;
}

/* inflate with zlib (windowBits: 31 gzip, 15 zlib, -15 raw); the size or -1 */
static long zinflate(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int wbits)
{
	z_stream z = { 0 };
	long r;

	ck_assert_int_eq(inflateInit2(&z, wbits), Z_OK);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	r = inflate(&z, Z_FINISH) == Z_STREAM_END ? (long)z.total_out : -1;
	inflateEnd(&z);
	return r;
}

static size_t zdeflate(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int wbits)
{
	z_stream z = { 0 };
	size_t r;

	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	r = z.total_out;
	deflateEnd(&z);
	return r;
}

static uint32_t bitrev(uint32_t x)
{
	uint32_t r = 0;

	for (int i = 0; i < 32; i++)
		r |= ((x >> i) & 1u) << (31 - i);
	return r;
}

static struct uacce_dev *hisi_dev(void)
{
	return mkdev(fx_core, HISI_QM_API_VER2_BASE, true, 4, 0);
}

/* ------------------------------------------------------------------------- */

START_TEST(test_ioctls_and_info)
{
	struct uacce_dev *d = hisi_dev();
	struct uacce_queue *q = open_me(d);
	struct uacce_caller w = me();
	struct hisi_qp_ctx ctx = { .qc_type = 2 };
	struct uacce_ioctl io = { .cmd = UACCE_CMD_QM_SET_QP_CTX, .size = sizeof(ctx), .data = &ctx };

	ck_assert_str_eq(ud_info(d)->api, "hisi_qm_v2");
	ck_assert_str_eq(ud_info(d)->algorithms, "zlib\ngzip\ndeflate");
	ck_assert_uint_eq(ud_info(d)->flags, UACCE_DEV_SVA);
	ck_assert_uint_eq(ud_info(d)->qfr_size[UACCE_QFRT_MMIO], 8192);
	ck_assert_uint_eq(ud_info(d)->qfr_size[UACCE_QFRT_DUS], 151552);
	ck_assert_int_eq(uq_ioctl(q, &w, &io), -EINVAL);	/* qc_type 2 */
	ctx.qc_type = 1;
	ctx.id = 0xffff;
	ck_assert_int_eq(uq_ioctl(q, &w, &io), 0);		/* before START too */
	ck_assert_uint_lt(ctx.id, 1024);
	uq_release(q);
}
END_TEST

START_TEST(test_block_compress_each_format)
{
	struct client c;
	size_t n = 300000;
	uint8_t *in = text(n, 1), *out = malloc(n + 1024), *back = malloc(n);

	client_open(&c, hisi_dev(), 0);
	for (uint8_t alg = HISI_ZIP_DEFLATE; alg <= HISI_ZIP_GZIP; alg++) {
		size_t hl = alg == HISI_ZIP_GZIP ? 10 : alg == HISI_ZIP_ZLIB ? 2 : 0;
		struct hisi_zip_sqe e, r;

		/* the client writes the header and hands the device what follows */
		memcpy(out, alg == HISI_ZIP_GZIP ? gzip_hdr : zlib_hdr, hl);
		e = sqe(&c, alg, in, (uint32_t)n, out + hl, (uint32_t)(n + 1024 - hl));
		r = run(&c, &e);
		ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_OK);
		ck_assert_uint_eq(r.consumed, n);
		ck_assert_uint_gt(r.produced, 100);
		ck_assert_uint_lt(r.produced, n / 2);
		ck_assert_uint_eq(r.isize, n);
		if (alg == HISI_ZIP_GZIP)
			ck_assert_uint_eq(bitrev(~r.checksum), (uint32_t)crc32(0, in, (uInt)n));
		if (alg == HISI_ZIP_ZLIB)
			ck_assert_uint_eq(r.checksum, (uint32_t)adler32(1, in, (uInt)n));
		ck_assert_int_eq(zinflate(out, hl + r.produced, back, n,
					  alg == HISI_ZIP_GZIP ? 31 : alg == HISI_ZIP_ZLIB ? 15 : -15),
				 (long)n);
		ck_assert_mem_eq(back, in, n);
	}
	client_close(&c);
	free(in);
	free(out);
	free(back);
}
END_TEST

START_TEST(test_block_decompress_and_errors)
{
	struct client c;
	size_t n = 200000, zn;
	uint8_t *in = text(n, 2), *z = malloc(n), *out = malloc(n);
	struct hisi_zip_sqe e, r;

	client_open(&c, hisi_dev(), 1);
	zn = zdeflate(in, n, z, n, 31);		/* a gzip file */
	/* the client strips the 10-byte header */
	e = sqe(&c, HISI_ZIP_GZIP, z + 10, (uint32_t)(zn - 10), out, (uint32_t)n);
	r = run(&c, &e);
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_DECOMP_END);
	ck_assert(r.dw3 & HISI_ZIP_LAST_BLOCK);
	ck_assert_uint_eq(r.consumed, zn - 10);		/* trailer included */
	ck_assert_uint_eq(r.produced, n);
	ck_assert_mem_eq(out, in, n);
	/* a damaged trailer: CRC error */
	z[zn - 6] ^= 0x40;
	e = sqe(&c, HISI_ZIP_GZIP, z + 10, (uint32_t)(zn - 10), out, (uint32_t)n);
	ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_CRC_ERR);
	z[zn - 6] ^= 0x40;
	/* the output does not fit */
	e = sqe(&c, HISI_ZIP_GZIP, z + 10, (uint32_t)(zn - 10), out, (uint32_t)(n / 2));
	ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_DST_SMALL);
	/* not deflate data */
	e = sqe(&c, HISI_ZIP_GZIP, in, 1000, out, (uint32_t)n);
	ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_BAD_DATA);
	/* an unknown request type, an oversized request */
	e = sqe(&c, 0x44, z + 10, 100, out, (uint32_t)n);
	ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_BAD_REQUEST);
	e = sqe(&c, HISI_ZIP_GZIP, z + 10, (9u << 20), out, (uint32_t)n);
	ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_BAD_REQUEST);
	/* addresses the owner cannot read or write */
	{
		uint8_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		e = sqe(&c, HISI_ZIP_GZIP, (void *)16, 100, out, (uint32_t)n);
		ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_FAULT);
		e = sqe(&c, HISI_ZIP_GZIP, z + 10, (uint32_t)(zn - 10), ro, 4096);
		ck_assert_uint_ne(run(&c, &e).dw3 & 0xff, HISI_ZIP_DECOMP_END);
		munmap(ro, 4096);
	}
	/* and a good request after all that */
	e = sqe(&c, HISI_ZIP_GZIP, z + 10, (uint32_t)(zn - 10), out, (uint32_t)n);
	ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_DECOMP_END);
	client_close(&c);
	free(in);
	free(z);
	free(out);
}
END_TEST

/* one compress stream in chunks as UADK's stream mode sends it */
static size_t stream_compress(struct client *c, uint8_t alg, const uint8_t *in, size_t n,
			      size_t chunk, uint8_t *out, size_t cap, void *ctxkey)
{
	size_t done = 0, o = alg == HISI_ZIP_GZIP ? 10 : 2;
	bool first = true;

	memcpy(out, alg == HISI_ZIP_GZIP ? gzip_hdr : zlib_hdr, o);
	for (;;) {
		size_t len = n - done < chunk ? n - done : chunk;
		bool last = done + len == n;
		struct hisi_zip_sqe e = sqe(c, alg, in + done, (uint32_t)len, out + o,
					    (uint32_t)(cap - o)), r;

		e.dw7 = HISI_ZIP_STATEFUL | (first ? HISI_ZIP_STREAM_NEW : 0) |
			(last ? HISI_ZIP_FLUSH_FINISH : 0);
		e.stream_ctx_addr_l = (uint32_t)(uintptr_t)ctxkey;
		e.stream_ctx_addr_h = (uint32_t)((uintptr_t)ctxkey >> 32);
		r = run(c, &e);
		ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_OK);
		first = false;
		done += r.consumed;
		o += r.produced;
		if (last && r.consumed == len)
			return o;
	}
}

START_TEST(test_stream_compress_two_sessions)
{
	struct client c;
	size_t n = 700000;
	uint8_t *a = text(n, 3), *b = text(n, 4), *oa = malloc(n), *ob = malloc(n),
		*back = malloc(n);
	int ka, kb;
	size_t la, lb;

	client_open(&c, hisi_dev(), 0);
	/* interleave two sessions on one queue: chunk by chunk */
	{
		size_t da = 0, db = 0, pa = 10, pb = 2;
		bool fa = true, fb = true;

		memcpy(oa, gzip_hdr, 10);
		memcpy(ob, zlib_hdr, 2);
		while (da < n || db < n) {
			for (int s = 0; s < 2; s++) {
				size_t *d = s ? &db : &da, *p = s ? &pb : &pa;
				bool *f = s ? &fb : &fa;
				const uint8_t *src = s ? b : a;
				uint8_t *dst = s ? ob : oa;
				size_t len = n - *d < 131072 ? n - *d : 131072;
				struct hisi_zip_sqe e, r;

				if (*d == n)
					continue;
				e = sqe(&c, s ? HISI_ZIP_ZLIB : HISI_ZIP_GZIP, src + *d, (uint32_t)len,
					dst + *p, (uint32_t)(n - *p));
				e.dw7 = HISI_ZIP_STATEFUL | (*f ? HISI_ZIP_STREAM_NEW : 0) |
					(*d + len == n ? HISI_ZIP_FLUSH_FINISH : 0);
				e.stream_ctx_addr_l = (uint32_t)(uintptr_t)(s ? (void *)&kb : (void *)&ka);
				e.stream_ctx_addr_h = (uint32_t)((uintptr_t)(s ? (void *)&kb : (void *)&ka) >> 32);
				r = run(&c, &e);
				ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_OK);
				*f = false;
				*d += r.consumed;
				*p += r.produced;
			}
		}
		la = pa;
		lb = pb;
	}
	ck_assert_int_eq(zinflate(oa, la, back, n, 31), (long)n);
	ck_assert_mem_eq(back, a, n);
	ck_assert_int_eq(zinflate(ob, lb, back, n, 15), (long)n);
	ck_assert_mem_eq(back, b, n);
	/* a stream whose last chunk's output does not fit: finished by resubmission */
	{
		uint8_t *small = malloc(n);
		size_t l = stream_compress(&c, HISI_ZIP_GZIP, a, 5000, 5000, small, n, &ka);

		ck_assert_int_eq(zinflate(small, l, back, n, 31), 5000);
		free(small);
	}
	/* a continuation of a stream nobody started */
	{
		struct hisi_zip_sqe e = sqe(&c, HISI_ZIP_GZIP, a, 100, oa, (uint32_t)n);
		int k2;

		e.dw7 = HISI_ZIP_STATEFUL;
		e.stream_ctx_addr_l = (uint32_t)(uintptr_t)&k2;
		e.stream_ctx_addr_h = (uint32_t)((uintptr_t)&k2 >> 32);
		ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_BAD_REQUEST);
	}
	client_close(&c);
	free(a);
	free(b);
	free(oa);
	free(ob);
	free(back);
}
END_TEST

START_TEST(test_stream_decompress_small_pieces)
{
	struct client c;
	size_t n = 400000, zn, done = 0, o = 0;
	uint8_t *in = text(n, 5), *z = malloc(n), *out = malloc(n + 10);
	bool first = true, end = false;
	int key;

	client_open(&c, hisi_dev(), 1);
	zn = zdeflate(in, n, z, n, 15) - 2;	/* zlib, header stripped */
	memmove(z, z + 2, zn);
	/* 3000 bytes in, at most 7000 out per request, as a stream */
	for (int i = 0; !end; i++) {
		size_t len = zn - done < 3000 ? zn - done : 3000;
		size_t room = n + 10 - o < 7000 ? n + 10 - o : 7000;
		struct hisi_zip_sqe e = sqe(&c, HISI_ZIP_ZLIB, z + done, (uint32_t)len, out + o,
					    (uint32_t)room), r;

		ck_assert_int_lt(i, 10000);
		e.dw7 = HISI_ZIP_STATEFUL | (first ? HISI_ZIP_STREAM_NEW : 0);
		e.stream_ctx_addr_l = (uint32_t)(uintptr_t)&key;
		e.stream_ctx_addr_h = (uint32_t)((uintptr_t)&key >> 32);
		r = run(&c, &e);
		first = false;
		done += r.consumed;
		o += r.produced;
		if ((r.dw3 & 0xff) == HISI_ZIP_DECOMP_END) {
			ck_assert(r.dw3 & HISI_ZIP_LAST_BLOCK);
			end = true;
		} else {
			ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_OK);
		}
	}
	ck_assert_uint_eq(done, zn);
	ck_assert_uint_eq(o, n);
	ck_assert_mem_eq(out, in, n);
	client_close(&c);
	free(in);
	free(z);
	free(out);
}
END_TEST

START_TEST(test_sgl_buffers)
{
	struct client c;
	size_t n = 100000;
	uint8_t *in = text(n, 6), *z = malloc(n), *back = malloc(n);
	/* input: two chained SGLs of 2 + 1 entries, with a 5-byte skip */
	struct {
		struct hisi_sgl_hdr h;
		struct hisi_sge e[2];
	} *s1 = calloc(1, sizeof(*s1)), *s2 = calloc(1, sizeof(*s2)), *o1 = calloc(1, sizeof(*o1));
	uint8_t *p1 = malloc(30005), *p2 = malloc(40000), *p3 = malloc(30000), *q1 = malloc(n),
		*q2 = malloc(n);
	struct hisi_zip_sqe e, r;

	memcpy(p1 + 5, in, 30000);
	memcpy(p2, in + 30000, 40000);
	memcpy(p3, in + 70000, 30000);
	s1->h.entry_sum_in_sgl = 2;
	s1->e[0] = (struct hisi_sge){ .buff = (uintptr_t)p1, .len = 30005 };
	s1->e[1] = (struct hisi_sge){ .buff = (uintptr_t)p2, .len = 40000 };
	s1->h.next_dma = (uintptr_t)s2;
	s2->h.entry_sum_in_sgl = 1;
	s2->e[0] = (struct hisi_sge){ .buff = (uintptr_t)p3, .len = 30000 };
	/* output: two pieces, a 10-byte skip for the gzip header */
	o1->h.entry_sum_in_sgl = 2;
	o1->e[0] = (struct hisi_sge){ .buff = (uintptr_t)q1, .len = 1000 };
	o1->e[1] = (struct hisi_sge){ .buff = (uintptr_t)q2, .len = (uint32_t)n };

	client_open(&c, hisi_dev(), 0);
	memcpy(q1, gzip_hdr, 10);
	e = sqe(&c, HISI_ZIP_GZIP, s1, (uint32_t)n, o1, (uint32_t)n);
	e.dw9 |= HISI_ZIP_BUF_SGL << 8;
	e.dw7 |= 5;		/* in-SGL skip */
	e.dw8 = 10;		/* out-SGL skip */
	r = run(&c, &e);
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_OK);
	ck_assert_uint_eq(r.consumed, n);
	ck_assert_uint_gt(r.produced, 990);
	memcpy(z, q1, 1000);
	memcpy(z + 1000, q2, r.produced + 10 - 1000);
	ck_assert_int_eq(zinflate(z, r.produced + 10, back, n, 31), (long)n);
	ck_assert_mem_eq(back, in, n);
	/* an SGL that points nowhere */
	s2->h.next_dma = 8;
	e = sqe(&c, HISI_ZIP_GZIP, s1, (uint32_t)n + 10, o1, (uint32_t)n);
	e.dw9 |= HISI_ZIP_BUF_SGL << 8;
	ck_assert_uint_eq(run(&c, &e).dw3 & 0xff, HISI_ZIP_FAULT);
	client_close(&c);
	free(in); free(z); free(back); free(s1); free(s2); free(o1);
	free(p1); free(p2); free(p3); free(q1); free(q2);
}
END_TEST

/*
 * The shared doorbell word: SQ doorbells overwritten by CQ doorbells (an
 * async poll thread) must never lose a request.
 */
struct racer {
	struct client *c;
	bool stop;		/* atomic */
	unsigned long writes;
};

static void *cq_doorbells(void *arg)
{
	struct racer *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		db_write(r->c, HISI_QM_DB(r->c->qn, HISI_QM_DB_CMD_CQ, 7, 1));
		r->writes++;
		sched_yield();
	}
	return NULL;
}

START_TEST(test_lost_doorbells)
{
	struct client c;
	uint8_t *in = text(4096, 7), *out = malloc(8192);
	struct hisi_zip_sqe e, r;
	struct racer rc = { .c = &c };
	pthread_t t;
	int n = 300;

	client_open(&c, hisi_dev(), 0);
	/* 1: never rung at all, the doorbell word holds a CQ doorbell */
	db_write(&c, HISI_QM_DB(c.qn, HISI_QM_DB_CMD_CQ, 0, 0));
	e = sqe(&c, HISI_ZIP_DEFLATE, in, 4096, out, 8192);
	post(&c, &e, false);
	ck_assert_msg(reap(&c, &r, 5000), "an SQE without its doorbell was never taken");
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_OK);
	/* 2: every SQ doorbell raced by CQ doorbells from another thread */
	ck_assert_int_eq(pthread_create(&t, NULL, cq_doorbells, &rc), 0);
	for (int i = 0; i < n; i++) {
		e = sqe(&c, HISI_ZIP_DEFLATE, in, 4096, out, 8192);
		post(&c, &e, true);
		db_write(&c, HISI_QM_DB(c.qn, HISI_QM_DB_CMD_CQ, c.cq_head, 0));	/* overwrite at once */
		ck_assert_msg(reap(&c, &r, 5000), "request %d lost", i);
		ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_OK);
		ck_assert_uint_eq(r.dw13, e.dw13);
	}
	__atomic_store_n(&rc.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	ck_assert_uint_gt(rc.writes, 0);
	/* 3: a burst of 1,000 rung normally still flows past the ring's end */
	for (int i = 0; i < 1000; i++) {
		e = sqe(&c, HISI_ZIP_DEFLATE, in, 512, out, 8192);
		post(&c, &e, true);
		ck_assert(reap(&c, &r, 5000));
		ck_assert_uint_eq(r.dw13, e.dw13);
	}
	client_close(&c);
	free(in);
	free(out);
}
END_TEST

/* a stopped queue raises the RX/TX stop words; START clears them */
START_TEST(test_stop_words)
{
	struct uacce_dev *d = hisi_dev();
	struct client c;
	volatile uint32_t *rx, *tx;

	client_open(&c, d, 0);
	rx = (volatile uint32_t *)(c.dus + HISI_QM_RX_STOP_OFFSET);
	tx = (volatile uint32_t *)(c.dus + HISI_QM_TX_STOP_OFFSET);
	ck_assert_uint_eq(*rx, 0);
	ck_assert_uint_eq(*tx, 0);
	/* the device goes away under a started queue */
	core_remove_device(d);
	ck_assert_uint_eq(*rx, 1);
	ck_assert_uint_eq(*tx, 1);
	client_close(&c);
}
END_TEST

START_TEST(test_poll_and_restart)
{
	struct client c;
	uint8_t *in = text(1000, 8), *out = malloc(4096);
	struct hisi_zip_sqe e, r;
	unsigned mask = 0;

	client_open(&c, hisi_dev(), 0);
	ck_assert_int_eq(uq_poll(c.q, &c.w, &mask), 0);
	ck_assert_uint_eq(mask, 0);
	e = sqe(&c, HISI_ZIP_DEFLATE, in, 1000, out, 4096);
	post(&c, &e, true);
	ck_assert_uint_eq(wait_poll(c.q, c.w, 3000), POLLIN | POLLRDNORM);
	ck_assert(reap(&c, &r, 1000));
	client_close(&c);
	free(in);
	free(out);
}
END_TEST

/*
 * The core's state as a successor reads it (*s: its fds): a planned
 * restart's (the core frozen) or the crash journal's, taken while serving
 */
static json_object *state_of(struct uacce_core *c, bool live, struct ho_state **s)
{
	json_object *o = json_object_new_object(), *root;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ho_new(s), 0);
	ck_assert_int_eq(live ? core_export_live(c, *s, o) : core_export(c, *s, o), 0);
	json_object_object_add(ho_root(*s), "core", o);
	root = json_tokener_parse(json_object_to_json_string(ho_root(*s)));
	ck_assert_ptr_nonnull(root);
	return root;
}

/* a successor's core (*b) takes the state: the client's queue is its; the old one returned */
static struct uacce_queue *successor(struct client *c, struct ho_state *s, json_object *root,
				     struct uacce_core **b)
{
	struct uacce_queue *old = c->q;
	struct uacce_dev *d2;

	*b = mkcore();
	d2 = mkdev(*b, HISI_QM_API_VER2_BASE, true, 4, 0);
	ck_assert_int_eq(core_adopt(*b, s, ho_get(root, "core")), 0);
	c->q = core_claim_adopted(*b, uq_id(old));
	ck_assert_ptr_nonnull(c->q);
	core_adopt_done(*b);
	ck_assert_int_eq(ud_available_instances(d2), 3);
	return old;
}

/*
 * A live restart (daemon/core.h, core_freeze .. core_adopt_done): the
 * queue's rings and stateless requests survive, in order and with the
 * queue's direction (SET_QP_CTX) and CQ phase; the suspension raises no
 * stop words; a stream of before is one the device does not know (0x0a).
 */
START_TEST(test_live_restart)
{
	struct uacce_core *b = NULL;
	struct ho_state *s = NULL;
	json_object *root;
	struct uacce_queue *old;
	struct client c;
	size_t n = 200000, zn, z2n;
	uint8_t *in = text(n, 21), *in2 = text(n, 22), *z = malloc(n), *z2 = malloc(n);
	uint8_t *out = malloc(n), *sout = malloc(n);
	volatile uint32_t *rx, *tx;
	struct hisi_zip_sqe e, r;
	int key;

	ck_assert(z && z2 && out && sout);
	client_open(&c, hisi_dev(), 1);		/* a decompression queue */
	rx = (volatile uint32_t *)(c.dus + HISI_QM_RX_STOP_OFFSET);
	tx = (volatile uint32_t *)(c.dus + HISI_QM_TX_STOP_OFFSET);
	zn = zdeflate(in, n, z, n, -15);
	z2n = zdeflate(in2, n, z2, n, -15);
	/* a stream, left open: its first 1000 bytes */
	e = sqe(&c, HISI_ZIP_DEFLATE, z, 1000, sout, (uint32_t)n);
	e.dw7 = HISI_ZIP_STATEFUL | HISI_ZIP_STREAM_NEW;
	e.stream_ctx_addr_l = (uint32_t)(uintptr_t)&key;
	e.stream_ctx_addr_h = (uint32_t)((uintptr_t)&key >> 32);
	r = run(&c, &e);
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_OK);

	ck_assert_int_eq(core_freeze(fx_core), 0);
	root = state_of(fx_core, false, &s);
	/* suspended: the client is told nothing, its requests wait in the ring */
	ck_assert_uint_eq(*rx, 0);
	ck_assert_uint_eq(*tx, 0);
	e = sqe(&c, HISI_ZIP_DEFLATE, z, (uint32_t)zn, out, (uint32_t)n);
	e.dw7 = 0;				/* stateless */
	post(&c, &e, true);
	e = sqe(&c, HISI_ZIP_DEFLATE, z + 1000, 1000, sout, (uint32_t)n);
	e.dw7 = HISI_ZIP_STATEFUL;		/* the stream of before */
	e.stream_ctx_addr_l = (uint32_t)(uintptr_t)&key;
	e.stream_ctx_addr_h = (uint32_t)((uintptr_t)&key >> 32);
	post(&c, &e, true);

	old = successor(&c, s, root, &b);
	ck_assert_msg(reap(&c, &r, 5000), "the stateless request of before not served");
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_DECOMP_END);
	ck_assert_uint_eq(r.produced, n);
	ck_assert_mem_eq(out, in, n);
	ck_assert_msg(reap(&c, &r, 5000), "the stream request not answered");
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_BAD_REQUEST);
	ck_assert_uint_eq(r.produced, 0);
	/* and after it, in the same direction */
	memset(out, 0, n);
	e = sqe(&c, HISI_ZIP_DEFLATE, z2, (uint32_t)z2n, out, (uint32_t)n);
	e.dw7 = 0;
	r = run(&c, &e);
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_DECOMP_END);
	ck_assert_mem_eq(out, in2, n);
	ck_assert_uint_eq(*rx, 0);
	client_close(&c);			/* the successor's */
	ck_assert_uint_eq(*rx, 1);		/* a real stop raises them */
	core_free(b);
	uq_release(old);
	json_object_put(root);
	ho_free(s);
	free(in);
	free(in2);
	free(z);
	free(z2);
	free(out);
	free(sout);
}
END_TEST

/*
 * A crash of uacced (daemon/cjournal.h): the successor takes the queue
 * over from the crash journal's live snapshot, without saved state
 * (recover_queue): the CQ tail and phase come from the ring (after more
 * than one lap), the direction from the published word, a slot the dead
 * daemon had served and not posted gets its CQE, and the requests written
 * while no daemon ran are served in order.
 */
START_TEST(test_crash_recovery)
{
	struct uacce_core *b = NULL;
	struct ho_state *s = NULL;
	json_object *root;
	struct uacce_queue *old;
	struct client c;
	size_t n = 4096, zn;
	uint8_t *in = text(n, 31), *z = malloc(n), *out = malloc(n);
	volatile uint32_t *w;
	struct hisi_zip_sqe e, r;
	uint32_t served;

	ck_assert(z && out);
	client_open(&c, hisi_dev(), 1);		/* a decompression queue */
	zn = zdeflate(in, n, z, n, -15);
	/* more than one lap of the CQ: the phase has flipped */
	for (int i = 0; i < HISI_QM_Q_DEPTH + 37; i++) {
		e = sqe(&c, HISI_ZIP_DEFLATE, z, (uint32_t)zn, out, (uint32_t)n);
		e.dw7 = 0;
		r = run(&c, &e);
		ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_DECOMP_END);
	}
	/* the journal's snapshot, taken while serving: no backend state */
	root = state_of(fx_core, true, &s);
	/* the daemon dies: its worker stops where it is (no stop words) */
	ck_assert_int_eq(core_freeze(fx_core), 0);
	/* ... after serving a slot, before its CQE: the slot's results and
	 * markers (dw5, dw11, dw16, dw27), the head published past it */
	e = sqe(&c, HISI_ZIP_DEFLATE, z, (uint32_t)zn, out, (uint32_t)n);
	e.dw7 = 0;
	e.dw3 = HISI_ZIP_DECOMP_END;
	served = post(&c, &e, false);
	w = (volatile uint32_t *)&c.sq[served];
	w[5] = w[11] = w[16] = w[27] = 0x55414343u;
	*(volatile uint32_t *)(c.dus + HISI_QM_DUS_SIZE - 4096) = ((served + 1) % HISI_QM_Q_DEPTH) | 0x80000000u;
	/* and requests written while no daemon runs */
	memset(out, 0, n);
	e = sqe(&c, HISI_ZIP_DEFLATE, z, (uint32_t)zn, out, (uint32_t)n);
	e.dw7 = 0;
	post(&c, &e, true);

	old = successor(&c, s, root, &b);
	/* the served slot's CQE comes first, its results as the dead daemon wrote them */
	ck_assert_msg(reap(&c, &r, 5000), "the CQE of the slot served before the crash not posted");
	ck_assert_uint_eq(r.dw13, c.tag - 2);
	ck_assert_msg(reap(&c, &r, 5000), "the request written while no daemon ran not served");
	ck_assert_uint_eq(r.dw13, c.tag - 1);
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_DECOMP_END);	/* still a decompression queue */
	ck_assert_uint_eq(r.produced, n);
	ck_assert_mem_eq(out, in, n);
	memset(out, 0, n);
	e = sqe(&c, HISI_ZIP_DEFLATE, z, (uint32_t)zn, out, (uint32_t)n);
	e.dw7 = 0;
	r = run(&c, &e);
	ck_assert_uint_eq(r.dw3 & 0xff, HISI_ZIP_DECOMP_END);
	ck_assert_mem_eq(out, in, n);
	client_close(&c);
	core_free(b);
	uq_release(old);
	json_object_put(root);
	ho_free(s);
	free(in);
	free(z);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hisi_zip");
	TCase *tc = tcase_create("hisi_zip");

	tcase_add_checked_fixture(tc, fx_core_setup, fx_core_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ioctls_and_info);
	tcase_add_test(tc, test_block_compress_each_format);
	tcase_add_test(tc, test_block_decompress_and_errors);
	tcase_add_test(tc, test_stream_compress_two_sessions);
	tcase_add_test(tc, test_stream_decompress_small_pieces);
	tcase_add_test(tc, test_sgl_buffers);
	tcase_add_test(tc, test_lost_doorbells);
	tcase_add_test(tc, test_poll_and_restart);
	tcase_add_test(tc, test_stop_words);
	tcase_add_test(tc, test_live_restart);
	tcase_add_test(tc, test_crash_recovery);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
