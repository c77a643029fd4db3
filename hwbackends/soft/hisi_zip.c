/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hisi_zip.c - a HiSilicon-QM-compatible zip device ("hisi_qm_v2",
 * uacce/hisi_qm.h, uacce_hisi_zip(7)): what Linaro UADK drives on a
 * Kunpeng 920, served by the CPU.  Mainline profile, SVA only.
 *
 * Queue engine.  The client writes an SQE into the SQ slot at its tail and
 * rings the doorbell (MMIO + 0x1000) with the new tail; the device takes
 * SQEs in order from its own head, writes the results into the SQ slot,
 * then posts a CQE naming the slot, its phase bit written last.
 *
 * The shared doorbell word.  SQ and CQ doorbells go to the same 64-bit
 * word, so a CQ doorbell from another thread can overwrite an SQ doorbell
 * before a polling device reads it.  A second signal makes the device
 * independent of the doorbell: when it completes a slot it stamps a marker
 * into four SQE words the client always sends as 0 and never reads back
 * (dw5, dw11, dw16, dw27: one in each 32-byte quarter of the SQE).  A slot
 * is new work when all four markers are gone and its request type is set.
 * A new slot that the last SQ doorbell covers is taken at once (the client
 * rings after its SQE is complete); one the doorbell does not cover is
 * taken once it has stayed the same for GRACE_NS (its doorbell was lost,
 * or its writer has not finished: the grace lets it finish).
 *
 * Everything in the rings is the client's and untrusted: each SQE is copied
 * before use and every field bounded; buffers are reached through the SVA
 * helpers (the owner's page protections hold).  Streams (stateful
 * requests) keep their zlib state per queue, keyed by the SQE's stream
 * context address, at most MAX_STREAMS per queue (least recently used
 * goes), freed at release.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "log.h"
#include "soft.h"
#include "uacce/hisi_qm.h"

#define DEPTH		HISI_QM_Q_DEPTH
#define MAX_SIZE	(8u << 20)	/* per request, as the hardware's HZ_MAX_SIZE */
#define MAX_STREAMS	16
#define MAX_SGLS	1024		/* chained SGLs walked per buffer */
#define GRACE_NS	2000000ULL
#define MARK		0x55414343u	/* "UACC" */
#define LEVEL		6
#define KEEP_BUF	(1u << 20)	/* staging buffers kept between requests */

/*
 * Two words of the status page (the DUS region's last page, whose last two
 * words are the stop words) the device publishes for its successor after
 * a crash of uacced (hz_recover): its SQ head once a slot is served and
 * before its CQE, and the queue's direction (SET_QP_CTX).  HZ_PUB marks a
 * word as written.  The client can write them: a bad value only breaks its
 * own queue, and each is bounded when read.
 */
#define HZ_ST_HEAD	(HISI_QM_DUS_SIZE - 4096)
#define HZ_ST_QCTYPE	(HISI_QM_DUS_SIZE - 4096 + 4)
#define HZ_PUB		0x80000000u

_Static_assert(HISI_QM_CQ_OFFSET + HISI_QM_Q_DEPTH * HISI_QM_CQE_SIZE <= HZ_ST_HEAD,
	       "the published words are past the CQ");
_Static_assert(sizeof(struct hisi_zip_sqe) == HISI_ZIP_SQE_SIZE, "SQE layout");
_Static_assert(sizeof(struct hisi_qm_cqe) == HISI_QM_CQE_SIZE, "CQE layout");
_Static_assert(sizeof(struct hisi_sgl_hdr) == 64 && sizeof(struct hisi_sge) == 32, "SGL layout");
_Static_assert(HISI_QM_CQ_OFFSET + DEPTH * HISI_QM_CQE_SIZE + 4096 <= HISI_QM_DUS_SIZE,
	       "rings and status page fit in DUS");

struct hz_stream {
	uint64_t key;		/* the SQE's stream context address; 0 = free */
	uint64_t used;		/* LRU tick */
	z_stream z;
	bool zinit, deflating;
	bool ended;		/* decompress: deflate data ended, trailer next */
	bool finished;		/* compress: deflate data ended, trailer owed */
	uint8_t alg;
	uint32_t check;		/* running adler32 / crc32 */
	uint32_t isize;
	uint8_t trailer[8];	/* compress: not yet written; decompress: collected */
	uint32_t tlen, tdone;
	uint32_t skip;		/* compress: input bytes already taken, sent again */
};

struct hz_q {
	uint8_t *mmio, *dus;
	struct hisi_zip_sqe *sq;
	struct hisi_qm_cqe *cq;
	uint32_t head;			/* next SQ slot to take */
	uint32_t cq_tail;
	uint16_t phase;			/* of the next CQE */
	uint16_t qp_id;
	uint64_t last_db;		/* the doorbell value last read */
	uint32_t db_tail;		/* the last SQ doorbell's tail */
	bool db_valid;
	int waiting_slot;		/* uncovered new slot in its grace, -1 none */
	uint64_t waiting_since;
	struct hisi_zip_sqe waiting_copy;
	uint64_t lost_db;		/* slots taken by their markers alone */
	uint32_t qc_type;		/* 0 compress, 1 decompress (SET_QP_CTX) */
	uint64_t tick;
	struct hz_stream st[MAX_STREAMS];
	uint8_t *in, *out;		/* staging */
	size_t in_cap, out_cap;
	/* whole-buffer codecs, the queue's (a worker thread's own would leak
	 * when the thread ends with its queue) */
	struct libdeflate_compressor *comp;
	struct libdeflate_decompressor *decomp;
};

static struct hz_q *hq_of(struct soft_q *sq) { return sq->priv; }

/* --- staging buffers ------------------------------------------------------- */

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/* big buffers are not kept: an idle queue holds at most 2 x KEEP_BUF */
static void trim(struct hz_q *h)
{
	if (h->in_cap > KEEP_BUF) {
		free(h->in);
		h->in = NULL;
		h->in_cap = 0;
	}
	if (h->out_cap > KEEP_BUF) {
		free(h->out);
		h->out = NULL;
		h->out_cap = 0;
	}
}

/* --- buffers in the owner's memory (flat or SGL) ----------------------------- */

/*
 * Walk the SGL chain at `addr`, skipping `skip` bytes, and call fn on each
 * piece up to `len` bytes.  0, or a status code.
 */
static int sgl_walk(struct uacce_mem_req *mr, uint64_t addr, uint32_t skip, uint32_t len,
		    int (*fn)(struct uacce_mem_req *mr, uint64_t a, uint8_t *buf, uint32_t n),
		    uint8_t *buf, uint32_t *done)
{
	struct hisi_sge sge[32];
	uint32_t got = 0;

	for (int n = 0; addr && got < len; n++) {
		struct hisi_sgl_hdr h;
		uint32_t entries;

		if (n >= MAX_SGLS || uacce_hwq_mem_read(mr, addr, &h, sizeof(h)))
			return n >= MAX_SGLS ? HISI_ZIP_BAD_REQUEST : HISI_ZIP_FAULT;
		entries = h.entry_sum_in_sgl;
		if (entries > 255)
			return HISI_ZIP_BAD_REQUEST;
		for (uint32_t i = 0; i < entries && got < len; i += 32) {
			uint32_t k = entries - i < 32 ? entries - i : 32;

			if (uacce_hwq_mem_read(mr, addr + sizeof(h) + (uint64_t)i * sizeof(sge[0]), sge,
					       k * sizeof(sge[0])))
				return HISI_ZIP_FAULT;
			for (uint32_t j = 0; j < k && got < len; j++) {
				uint64_t a = sge[j].buff;
				uint32_t l = sge[j].len;

				if (skip >= l) {
					skip -= l;
					continue;
				}
				a += skip;
				l -= skip;
				skip = 0;
				if (l > len - got)
					l = len - got;
				if (fn(mr, a, buf + got, l))
					return HISI_ZIP_FAULT;
				got += l;
			}
		}
		addr = h.next_dma;
	}
	*done = got;
	return 0;
}

static int piece_read(struct uacce_mem_req *mr, uint64_t a, uint8_t *buf, uint32_t n)
{
	return uacce_hwq_mem_read(mr, a, buf, n);
}

static int piece_write(struct uacce_mem_req *mr, uint64_t a, uint8_t *buf, uint32_t n)
{
	return uacce_hwq_mem_write(mr, a, buf, n);
}

static uint64_t addr64(uint32_t lo, uint32_t hi) { return (uint64_t)hi << 32 | lo; }

static bool is_sgl(const struct hisi_zip_sqe *e) { return ((e->dw9 >> 8) & 0xf) == HISI_ZIP_BUF_SGL; }

/* the input into h->in; 0 or a status */
static int fetch_input(struct uacce_mem_req *mr, struct hz_q *h, const struct hisi_zip_sqe *e)
{
	uint32_t len = e->input_data_length, got;
	uint64_t src = addr64(e->source_addr_l, e->source_addr_h);
	int st;

	if (grow(&h->in, &h->in_cap, len ? len : 1))
		return HISI_ZIP_BAD_REQUEST;
	if (!len)
		return 0;
	if (!is_sgl(e))
		return uacce_hwq_mem_read(mr, src, h->in, len) ? HISI_ZIP_FAULT : 0;
	st = sgl_walk(mr, src, e->dw7 & 0xffffff, len, piece_read, h->in, &got);
	if (!st && got != len)
		st = HISI_ZIP_BAD_REQUEST;	/* the chain is shorter than the input */
	return st;
}

/* n bytes of h->out to the destination; 0 or a status */
static int store_output(struct uacce_mem_req *mr, struct hz_q *h, const struct hisi_zip_sqe *e,
			uint32_t n)
{
	uint64_t dst = addr64(e->dest_addr_l, e->dest_addr_h);
	uint32_t put;
	int st;

	if (!n)
		return 0;
	if (!is_sgl(e))
		return uacce_hwq_mem_write(mr, dst, h->out, n) ? HISI_ZIP_FAULT : 0;
	st = sgl_walk(mr, dst, e->dw8 & 0xffffff, n, piece_write, h->out, &put);
	if (!st && put != n)
		st = HISI_ZIP_DST_SMALL;
	return st;
}

/* --- checksums and trailers -------------------------------------------------- */

static uint32_t bitrev32(uint32_t x)
{
	x = (x >> 1 & 0x55555555u) | (x & 0x55555555u) << 1;
	x = (x >> 2 & 0x33333333u) | (x & 0x33333333u) << 2;
	x = (x >> 4 & 0x0f0f0f0fu) | (x & 0x0f0f0f0fu) << 4;
	x = (x >> 8 & 0x00ff00ffu) | (x & 0x00ff00ffu) << 8;
	return x >> 16 | x << 16;
}

static uint32_t check_init(uint8_t alg)
{
	return alg == HISI_ZIP_ZLIB ? (uint32_t)adler32(0, NULL, 0) : (uint32_t)crc32(0, NULL, 0);
}

static uint32_t check_add(uint8_t alg, uint32_t c, const uint8_t *p, uint32_t n)
{
	if (alg == HISI_ZIP_ZLIB)
		return (uint32_t)adler32(c, p, n);
	if (alg == HISI_ZIP_GZIP)
		return (uint32_t)crc32(c, p, n);
	return c;
}

/*
 * The checksum word as the client reads it back: the adler32 for zlib;
 * for gzip the complement of the bit-reversed crc32 (so that the client's
 * bit_reverse(~dw31) is the crc32 it writes into a trailer).
 */
static uint32_t check_word(uint8_t alg, uint32_t c)
{
	return alg == HISI_ZIP_GZIP ? ~bitrev32(c) : c;
}

static uint32_t trailer_len(uint8_t alg)
{
	return alg == HISI_ZIP_ZLIB ? 4 : alg == HISI_ZIP_GZIP ? 8 : 0;
}

static void trailer_make(uint8_t alg, uint32_t check, uint32_t isize, uint8_t t[8])
{
	if (alg == HISI_ZIP_ZLIB) {	/* adler32, big-endian */
		t[0] = (uint8_t)(check >> 24);
		t[1] = (uint8_t)(check >> 16);
		t[2] = (uint8_t)(check >> 8);
		t[3] = (uint8_t)check;
	} else if (alg == HISI_ZIP_GZIP) {	/* crc32, isize: little-endian */
		for (int i = 0; i < 4; i++) {
			t[i] = (uint8_t)(check >> (8 * i));
			t[4 + i] = (uint8_t)(isize >> (8 * i));
		}
	}
}

/* --- whole-buffer requests (stateless) ---------------------------------------- */

struct result {
	uint32_t consumed, produced, status, check, isize;
	bool last;		/* decompression saw the last block (and trailer) */
	bool done;		/* a stream ended: its state can go */
};

static void block_compress(struct hz_q *h, uint8_t alg, uint32_t in_len, uint32_t avail,
			   struct result *r)
{
	uint32_t tl = trailer_len(alg), check;
	size_t n;

	if (!h->comp && !(h->comp = libdeflate_alloc_compressor(LEVEL))) {
		r->status = HISI_ZIP_BAD_REQUEST;
		return;
	}
	n = avail > tl ? libdeflate_deflate_compress(h->comp, h->in, in_len, h->out, avail - tl) : 0;
	if (!n) {
		r->status = HISI_ZIP_DST_SMALL;
		return;
	}
	check = check_add(alg, check_init(alg), h->in, in_len);
	trailer_make(alg, check, in_len, h->out + n);
	r->consumed = in_len;
	r->produced = (uint32_t)n + tl;
	r->check = check_word(alg, check);
	r->isize = in_len;
	r->status = r->produced > in_len ? HISI_ZIP_NEGACOMPRESS : HISI_ZIP_OK;
}

static void block_decompress(struct hz_q *h, uint8_t alg, uint32_t in_len, uint32_t avail,
			     struct result *r)
{
	uint32_t tl = trailer_len(alg), check;
	size_t in_used = 0, out_used = 0;
	enum libdeflate_result lr;

	if (!h->decomp && !(h->decomp = libdeflate_alloc_decompressor())) {
		r->status = HISI_ZIP_BAD_REQUEST;
		return;
	}
	lr = libdeflate_deflate_decompress_ex(h->decomp, h->in, in_len, h->out, avail, &in_used,
					      &out_used);
	if (lr == LIBDEFLATE_INSUFFICIENT_SPACE) {
		r->status = HISI_ZIP_DST_SMALL;
		return;
	}
	if (lr != LIBDEFLATE_SUCCESS) {
		r->status = HISI_ZIP_BAD_DATA;
		return;
	}
	check = check_add(alg, check_init(alg), h->out, (uint32_t)out_used);
	r->consumed = (uint32_t)in_used;
	r->produced = (uint32_t)out_used;
	r->check = check_word(alg, check);
	r->isize = (uint32_t)out_used;
	r->status = HISI_ZIP_DECOMP_END;
	r->last = true;
	/* the trailer, where the input has it */
	if (tl && in_len - in_used >= tl) {
		uint8_t want[8];

		trailer_make(alg, check, (uint32_t)out_used, want);
		if (memcmp(want, h->in + in_used, tl) != 0)
			r->status = HISI_ZIP_CRC_ERR;
		r->consumed += tl;
	}
}

/* --- streams (stateful) ------------------------------------------------------------ */

static void stream_free(struct hz_stream *s)
{
	if (s->zinit) {
		if (s->deflating)
			deflateEnd(&s->z);
		else
			inflateEnd(&s->z);
	}
	memset(s, 0, sizeof(*s));
}

/* the stream of `key`, (re)started when `fresh`; NULL: unknown stream */
static struct hz_stream *stream_get(struct hz_q *h, uint64_t key, bool fresh, bool deflating,
				    uint8_t alg)
{
	struct hz_stream *s = NULL, *lru = &h->st[0];

	for (int i = 0; i < MAX_STREAMS; i++) {
		if (h->st[i].key == key) {
			s = &h->st[i];
			break;
		}
		if (h->st[i].used < lru->used)
			lru = &h->st[i];
	}
	if (!s) {
		if (!fresh)
			return NULL;
		s = lru;		/* a free slot has used == 0 */
	}
	if (fresh || s->deflating != deflating || s->alg != alg) {
		if (!fresh)
			return NULL;	/* the stream changed kind midway */
		stream_free(s);
		s->key = key;
		s->alg = alg;
		s->deflating = deflating;
		if ((deflating ? deflateInit2(&s->z, LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
			       : inflateInit2(&s->z, -15)) != Z_OK) {
			memset(s, 0, sizeof(*s));
			return NULL;
		}
		s->zinit = true;
		s->check = check_init(alg);
	}
	s->used = ++h->tick;
	return s;
}

static void stream_compress(struct hz_q *h, struct hz_stream *s, uint32_t in_len, uint32_t avail,
			    bool finish, struct result *r)
{
	uint32_t skip = s->skip < in_len ? s->skip : in_len, out = 0;
	int zr = Z_OK;

	s->skip -= skip;
	r->consumed = skip;
	if (!s->finished) {
		uint32_t took;

		s->z.next_in = h->in + skip;
		s->z.avail_in = in_len - skip;
		s->z.next_out = h->out;
		s->z.avail_out = avail;
		zr = deflate(&s->z, finish ? Z_FINISH : Z_SYNC_FLUSH);
		out = avail - s->z.avail_out;
		took = in_len - skip - s->z.avail_in;
		s->check = check_add(s->alg, s->check, h->in + skip, took);
		s->isize += took;
		r->consumed += took;
		if (zr == Z_STREAM_END) {
			s->finished = true;
			s->tlen = trailer_len(s->alg);
			s->tdone = 0;
			trailer_make(s->alg, s->check, s->isize, s->trailer);
		}
	}
	/* the trailer (what fits; the rest goes with the next request) */
	while (s->tdone < s->tlen && out < avail)
		h->out[out++] = s->trailer[s->tdone++];
	/*
	 * The client ends a compress stream when its last chunk is wholly
	 * consumed: while output is still owed, keep one input byte
	 * "unconsumed" (taken already: skipped when it comes again).
	 */
	if (finish && (!s->finished || s->tdone < s->tlen) && r->consumed &&
	    r->consumed == in_len) {
		r->consumed--;
		s->skip++;
	}
	r->produced = out;
	r->check = check_word(s->alg, s->check);
	r->isize = s->isize;
	r->done = s->finished && s->tdone == s->tlen && !s->skip;
	r->status = zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR ? HISI_ZIP_OK
									 : HISI_ZIP_BAD_REQUEST;
}

static void stream_decompress(struct hz_q *h, struct hz_stream *s, uint32_t in_len, uint32_t avail,
			      struct result *r)
{
	uint32_t used = 0, out = 0, tl = trailer_len(s->alg);

	if (!s->ended) {
		int zr;

		s->z.next_in = h->in;
		s->z.avail_in = in_len;
		s->z.next_out = h->out;
		s->z.avail_out = avail;
		zr = inflate(&s->z, Z_SYNC_FLUSH);
		used = in_len - s->z.avail_in;
		out = avail - s->z.avail_out;
		s->check = check_add(s->alg, s->check, h->out, out);
		s->isize += out;
		if (zr == Z_STREAM_END) {
			s->ended = true;
			s->tdone = 0;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			r->status = HISI_ZIP_BAD_DATA;
			r->consumed = used;
			r->produced = out;
			return;
		}
	}
	if (s->ended) {
		while (s->tdone < tl && used < in_len)
			s->trailer[s->tdone++] = h->in[used++];
		if (s->tdone == tl) {
			uint8_t want[8];

			trailer_make(s->alg, s->check, s->isize, want);
			r->status = memcmp(want, s->trailer, tl) ? HISI_ZIP_CRC_ERR
								 : HISI_ZIP_DECOMP_END;
			r->last = true;
			r->done = true;
		}
	}
	r->consumed = used;
	r->produced = out;
	r->check = check_word(s->alg, s->check);
	r->isize = s->isize;
}

/* --- one request ------------------------------------------------------------------- */

static void do_request(struct soft_q *sq, struct hz_q *h, struct hisi_zip_sqe *e)
{
	uint8_t alg = e->dw9 & 0xff;
	uint32_t in_len = e->input_data_length;
	uint32_t avail = e->dest_avail_out < MAX_SIZE ? e->dest_avail_out : MAX_SIZE;
	bool stateful = e->dw7 & HISI_ZIP_STATEFUL, fresh = e->dw7 & HISI_ZIP_STREAM_NEW;
	bool compress = h->qc_type == 0;
	struct result r = { .status = HISI_ZIP_OK };
	struct uacce_mem_req mr;	/* this request's look at the owner's mappings */
	int st;

	if ((alg != HISI_ZIP_DEFLATE && alg != HISI_ZIP_ZLIB && alg != HISI_ZIP_GZIP) ||
	    in_len > MAX_SIZE || ((e->dw9 >> 8) & 0xf) > HISI_ZIP_BUF_SGL) {
		r.status = HISI_ZIP_BAD_REQUEST;
		goto out;
	}
	uacce_hwq_mem_begin(sq->q, &mr);
	if ((st = fetch_input(&mr, h, e)) || grow(&h->out, &h->out_cap, avail ? avail : 1)) {
		r.status = st ? (uint32_t)st : HISI_ZIP_BAD_REQUEST;
		goto out;
	}
	if (!stateful) {
		if (compress)
			block_compress(h, alg, in_len, avail, &r);
		else
			block_decompress(h, alg, in_len, avail, &r);
	} else {
		uint64_t key = addr64(e->stream_ctx_addr_l, e->stream_ctx_addr_h);
		struct hz_stream *s = key ? stream_get(h, key, fresh, compress, alg) : NULL;

		if (!s) {
			r.status = HISI_ZIP_BAD_REQUEST;
			goto out;
		}
		if (compress)
			stream_compress(h, s, in_len, avail, e->dw7 & HISI_ZIP_FLUSH_FINISH, &r);
		else
			stream_decompress(h, s, in_len, avail, &r);
		if ((r.status != HISI_ZIP_OK && r.status != HISI_ZIP_DECOMP_END) || r.done)
			stream_free(s);		/* ended or broken: a new one must start */
	}
	if (r.status == HISI_ZIP_OK || r.status == HISI_ZIP_NEGACOMPRESS ||
	    r.status == HISI_ZIP_DECOMP_END) {
		st = store_output(&mr, h, e, r.produced);
		if (st)
			r = (struct result){ .status = (uint32_t)st };
	}
out:
	e->consumed = r.consumed;
	e->produced = r.produced;
	e->dw3 = (e->dw3 & ~0x1ffu) | (r.status & 0xff) | (r.last ? HISI_ZIP_LAST_BLOCK : 0);
	e->ctx_dw0 = e->ctx_dw1 = e->ctx_dw2 = 0;
	e->isize = r.isize;
	e->checksum = r.check;
	trim(h);
}

/* --- the rings --------------------------------------------------------------------- */

static bool slot_new(const volatile struct hisi_zip_sqe *e)
{
	return (e->dw9 & 0xff) && !e->dw5 && !e->dw11 && !e->dw16 && !e->dw27;
}

static void slot_mark(volatile struct hisi_zip_sqe *e)
{
	e->dw5 = e->dw11 = e->dw16 = e->dw27 = MARK;
}

/* read the doorbell; is slot `head` covered by the last SQ doorbell? */
static bool covered(struct hz_q *h)
{
	uint64_t db = __atomic_load_n((uint64_t *)(h->mmio + HISI_QM_DB_OFFSET), __ATOMIC_ACQUIRE);

	if (db != h->last_db) {
		h->last_db = db;
		if (((db >> 12) & 0xf) == HISI_QM_DB_CMD_SQ && ((db >> 32) & 0xffff) < DEPTH) {
			h->db_tail = (uint32_t)(db >> 32) & 0xffff;
			h->db_valid = true;
		}
	}
	return h->db_valid && h->db_tail != h->head;
}

static void publish(struct hz_q *h, uint32_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)(h->dus + off), v | HZ_PUB, __ATOMIC_RELEASE);
}

static void post_cqe(struct hz_q *h, uint32_t slot)
{
	struct hisi_qm_cqe *c = &h->cq[h->cq_tail];

	c->rsvd0 = 0;
	c->cmd_id = 0;
	c->rsvd1 = 0;
	c->sq_head = (uint16_t)slot;
	c->sq_num = h->qp_id;
	c->rsvd2 = 0;
	/* the phase last: the CQE is valid from that store on */
	__atomic_store_n(&c->w7, h->phase, __ATOMIC_RELEASE);
	if (++h->cq_tail == DEPTH) {
		h->cq_tail = 0;
		h->phase ^= 1;
	}
}

static int hz_process(struct soft_q *sq)
{
	struct hz_q *h = hq_of(sq);
	int done = 0;

	while (!soft_leaving(sq) && done < 64) {
		volatile struct hisi_zip_sqe *slot = &h->sq[h->head];
		struct hisi_zip_sqe e;

		if (!slot_new(slot))
			break;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		memcpy(&e, (const void *)slot, sizeof(e));
		if (!covered(h)) {
			uint64_t now = soft_now_ns();

			if (h->waiting_slot != (int)h->head ||
			    memcmp(&e, &h->waiting_copy, sizeof(e)) != 0) {
				h->waiting_slot = (int)h->head;
				h->waiting_since = now;
				h->waiting_copy = e;
				break;
			}
			if (now - h->waiting_since < GRACE_NS)
				break;
			if (!h->lost_db++)
				ulog_rl(LOG_INFO, "%s: SQ slot %u taken without its doorbell "
					"(overwritten by a CQ doorbell?)", uacce_hwq_label(sq->q),
					h->head);
			/* the last SQ doorbell covers none of the slots after this one:
			 * head now passes its tail, and "tail != head" would say it does */
			h->db_valid = false;
		}
		h->waiting_slot = -1;
		do_request(sq, h, &e);
		/* results into the slot, the markers, the head past it, then the CQE */
		memcpy((void *)slot, &e, sizeof(e));
		slot_mark(slot);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		publish(h, HZ_ST_HEAD, (h->head + 1) % DEPTH);
		post_cqe(h, h->head);
		h->head = (h->head + 1) % DEPTH;
		done++;
	}
	return done;
}

static bool hz_pending(struct soft_q *sq)
{
	struct hz_q *h = hq_of(sq);

	return h && slot_new(&h->sq[h->head]);
}

static uint32_t *hz_wake_word(struct soft_q *sq, uint32_t **sleeping)
{
	/* page 0 of the MMIO region: the doorbell is on page 1 */
	uint32_t *w = (uint32_t *)hq_of(sq)->mmio;

	*sleeping = &w[1];
	return &w[0];
}

static int hz_init_queue(struct soft_q *sq)
{
	struct hz_q *h = calloc(1, sizeof(*h));
	struct uacce_region *mmio = uacce_hwq_region(sq->q, UACCE_QFRT_MMIO);
	struct uacce_region *dus = uacce_hwq_region(sq->q, UACCE_QFRT_DUS);

	if (!h)
		return -ENOMEM;
	if (!mmio || !dus || uacce_region_size(mmio) < HISI_QM_MMIO_SIZE ||
	    uacce_region_size(dus) < HISI_QM_DUS_SIZE) {
		free(h);
		return -EINVAL;
	}
	h->mmio = uacce_region_map(mmio);
	h->dus = uacce_region_map(dus);
	h->sq = (struct hisi_zip_sqe *)h->dus;
	h->cq = (struct hisi_qm_cqe *)(h->dus + HISI_QM_CQ_OFFSET);
	h->qp_id = (uint16_t)(uacce_hwq_id(sq->q) & 0x3ff);
	h->waiting_slot = -1;
	h->phase = 1;
	sq->priv = h;
	return 0;
}

/*
 * Saved state, version 1 (little-endian): head, cq_tail (u32), phase,
 * qp_id (u16), last_db (u64), db_tail (u32), db_valid (u8), qc_type (u32),
 * lost_db (u64).  The streams' zlib state cannot be written down: in the
 * successor a stateful request on a stream context opened before the
 * restart (no HISI_ZIP_STREAM_NEW) is one the device does not know and
 * completes with HISI_ZIP_BAD_REQUEST (uacce_hisi_zip(7)), as one on a
 * stream evicted from the queue's MAX_STREAMS would; stateless requests
 * and new streams are served as usual.  A slot in its doorbell grace
 * starts its grace again.
 */
#define HZ_SAVE_V1	1
#define HZ_SAVE_LEN	38

static ssize_t hz_save(struct soft_q *sq, uint8_t *buf, size_t len)
{
	struct hz_q *h = hq_of(sq);

	if (len < HZ_SAVE_LEN)
		return -ENOSPC;
	buf[0] = HZ_SAVE_V1;
	soft_put32(buf + 1, h->head);
	soft_put32(buf + 5, h->cq_tail);
	buf[9] = (uint8_t)h->phase;
	buf[10] = (uint8_t)(h->phase >> 8);
	buf[11] = (uint8_t)h->qp_id;
	buf[12] = (uint8_t)(h->qp_id >> 8);
	soft_put64(buf + 13, h->last_db);
	soft_put32(buf + 21, h->db_tail);
	buf[25] = h->db_valid ? 1 : 0;
	soft_put32(buf + 26, h->qc_type);
	soft_put64(buf + 30, h->lost_db);
	return HZ_SAVE_LEN;
}

static int hz_adopt(struct soft_q *sq, const uint8_t *buf, size_t len)
{
	struct hz_q *h;
	int err;

	if (len < HZ_SAVE_LEN || buf[0] != HZ_SAVE_V1)	/* the only version so far */
		return -EINVAL;
	if (soft_get32(buf + 1) >= DEPTH || soft_get32(buf + 5) >= DEPTH ||
	    soft_get32(buf + 21) >= DEPTH || soft_get32(buf + 26) > 1)
		return -EINVAL;
	err = hz_init_queue(sq);	/* pointers only: the rings are left as they are */
	if (err)
		return err;
	h = hq_of(sq);
	h->head = soft_get32(buf + 1);
	h->cq_tail = soft_get32(buf + 5);
	h->phase = (uint16_t)(buf[9] | buf[10] << 8) & 1;
	h->qp_id = (uint16_t)(buf[11] | buf[12] << 8);
	h->last_db = soft_get64(buf + 13);
	h->db_tail = soft_get32(buf + 21);
	h->db_valid = buf[25] & 1;
	h->qc_type = soft_get32(buf + 26);
	h->lost_db = soft_get64(buf + 30);
	return 0;
}

/* forget what the doorbell said: read it afresh (a slot it does not cover waits its grace) */
static void doorbell_afresh(struct hz_q *h)
{
	h->db_valid = false;
	h->last_db = __atomic_load_n((uint64_t *)(h->mmio + HISI_QM_DB_OFFSET), __ATOMIC_ACQUIRE);
	h->waiting_slot = -1;
}

/* start (again): the rings from the beginning, every slot already served */
static void hz_reset(struct hz_q *h)
{
	for (uint32_t i = 0; i < DEPTH; i++)
		slot_mark(&h->sq[i]);
	memset(h->cq, 0, DEPTH * sizeof(*h->cq));
	h->head = h->cq_tail = 0;
	h->phase = 1;
	doorbell_afresh(h);
	for (int i = 0; i < MAX_STREAMS; i++)
		stream_free(&h->st[i]);
	publish(h, HZ_ST_HEAD, 0);
	publish(h, HZ_ST_QCTYPE, h->qc_type);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/*
 * After a crash of uacced (nothing saved): where the device was, from the
 * rings.  The CQ's phase bits say where the next CQE goes (entries before
 * it carry the current phase, the rest the previous lap's); every slot
 * taken gets exactly one CQE, in order, so the SQ head is the CQ tail,
 * unless the dead daemon had served a slot (results and markers written,
 * the published head past it) and not posted its CQE yet: that CQE is
 * posted now.  A request it was in the middle of is taken again: its slot
 * has no markers yet.  Streams end as after a planned restart (their zlib
 * state is gone); the doorbell is read afresh (a slot it does not cover
 * is taken after its grace).
 */
static int hz_recover(struct soft_q *sq)
{
	struct hz_q *h;
	uint32_t pub, qct, p0, t = DEPTH;
	int err = hz_init_queue(sq);	/* pointers only: the rings are left as they are */

	if (err)
		return err;
	h = hq_of(sq);
	p0 = __atomic_load_n(&h->cq[0].w7, __ATOMIC_ACQUIRE) & 1;
	for (uint32_t i = 1; i < DEPTH && t == DEPTH; i++)
		if ((__atomic_load_n(&h->cq[i].w7, __ATOMIC_ACQUIRE) & 1) != p0)
			t = i;
	if (t == DEPTH) {		/* a whole lap in one phase: the next starts */
		h->cq_tail = 0;
		h->phase = (uint16_t)(p0 ^ 1);
	} else {
		h->cq_tail = t;
		h->phase = (uint16_t)p0;
	}
	h->head = h->cq_tail;
	pub = __atomic_load_n((uint32_t *)(h->dus + HZ_ST_HEAD), __ATOMIC_ACQUIRE);
	if ((pub & HZ_PUB) && (pub & ~HZ_PUB) == (h->head + 1) % DEPTH) {
		post_cqe(h, h->head);	/* served, its CQE not posted */
		h->head = (h->head + 1) % DEPTH;
	}
	qct = __atomic_load_n((uint32_t *)(h->dus + HZ_ST_QCTYPE), __ATOMIC_ACQUIRE);
	h->qc_type = (qct & HZ_PUB) && (qct & ~HZ_PUB) <= 1 ? qct & ~HZ_PUB : 0;
	doorbell_afresh(h);
	return 0;
}

static void stop_words(struct hz_q *h, uint32_t v)
{
	__atomic_store_n((uint32_t *)(h->dus + HISI_QM_RX_STOP_OFFSET), v, __ATOMIC_RELEASE);
	__atomic_store_n((uint32_t *)(h->dus + HISI_QM_TX_STOP_OFFSET), v, __ATOMIC_RELEASE);
}

static int hz_start(struct soft_q *sq)
{
	hz_reset(hq_of(sq));
	stop_words(hq_of(sq), 0);
	return 0;
}

/*
 * Stopped (PUT_Q, owner death, device removal): raise the RX/TX stop words
 * as the hardware's reset does, so that a client still polling fails
 * (UADK: -WD_HW_EACCESS) instead of spinning on a queue nobody serves.
 */
static void hz_stopped(struct soft_q *sq)
{
	stop_words(hq_of(sq), 1);
}

static void hz_fini_queue(struct soft_q *sq)
{
	struct hz_q *h = hq_of(sq);

	if (!h)
		return;
	if (h->lost_db)
		ulog_rl(LOG_INFO, "%s: %llu request(s) taken without their doorbell",
			uacce_hwq_label(sq->q), (unsigned long long)h->lost_db);
	for (int i = 0; i < MAX_STREAMS; i++)
		stream_free(&h->st[i]);
	free(h->in);
	free(h->out);
	libdeflate_free_compressor(h->comp);
	libdeflate_free_decompressor(h->decomp);
}

static int hz_ioctl(struct soft_q *sq, struct uacce_ioctl *io)
{
	struct hz_q *h = hq_of(sq);

	switch (io->cmd) {
	case UACCE_CMD_QM_SET_QP_CTX: {
		struct hisi_qp_ctx *c = io->data;

		if (c->qc_type > 1)
			return -EINVAL;
		/* not while a worker takes requests: the direction is the queue's */
		pthread_mutex_lock(&sq->proc_lock);
		h->qc_type = c->qc_type;
		publish(h, HZ_ST_QCTYPE, h->qc_type);
		pthread_mutex_unlock(&sq->proc_lock);
		c->id = h->qp_id;
		return 0;
	}
	case UACCE_CMD_QM_SET_QP_INFO: {
		struct hisi_qp_info *i = io->data;

		i->sqe_size = HISI_ZIP_SQE_SIZE;
		i->sq_depth = DEPTH;
		i->cq_depth = DEPTH;
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

const struct soft_personality soft_hisi_zip = {
	.api = HISI_QM_API_VER2_BASE,
	.algorithms = "zlib\ngzip\ndeflate",
	.qfr_size = { [UACCE_QFRT_MMIO] = HISI_QM_MMIO_SIZE, [UACCE_QFRT_DUS] = HISI_QM_DUS_SIZE },
	.init_queue = hz_init_queue,
	.start = hz_start,
	.stopped = hz_stopped,
	.process = hz_process,
	.pending = hz_pending,
	.wake_word = hz_wake_word,
	.kickless = true,
	.fini_queue = hz_fini_queue,
	.ioctl = hz_ioctl,
	.save = hz_save,
	.adopt = hz_adopt,
	.recover = hz_recover,
};
