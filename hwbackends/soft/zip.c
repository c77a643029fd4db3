/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * zip.c - the compression device "uacce_zip_v1" (uacce/zip_usr_if.h,
 * uacce_zip(7)): deflate, zlib and gzip; whole buffers and streams.
 *
 * Codecs (codec.c has the map and the figures): whole buffers go through
 * libdeflate; streams through ISA-L's stateful deflate at levels 1-3 and
 * its stateful inflate (gzip), zlib at levels 4-9 and for raw and zlib
 * decompression.
 *
 * Everything in the MMIO page and the rings is written by the client and
 * untrusted: the device keeps its own sq_head and cq_tail, bounds what it
 * reads, copies each SQE before looking at it and validates every field.
 * Buffers: a non-SVA device reaches them inside the SS (zero copy); an SVA
 * device stages them through per-worker buffers (uacce_hwq_mem_*: one
 * look at the owner's mappings per request).
 *
 * Runs on the device's worker pool (pool.c): one request per process()
 * call, one worker per queue at a time, so a queue's requests run in order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "soft.h"
#include "uacce/zip_usr_if.h"

#define SQ_ENTRIES	128u
#define CQ_ENTRIES	128u
#define SQE_OFF		0u
#define CQE_OFF		(SQ_ENTRIES * sizeof(struct uacce_zip_sqe))
#define MAX_BUF		(4u << 20)
#define MAX_STREAMS	4
#define DEFAULT_LEVEL	6

_Static_assert(CQE_OFF + CQ_ENTRIES * sizeof(struct uacce_zip_cqe) <= UACCE_ZIP_DUS_SIZE,
	       "rings fit in DUS");
_Static_assert(sizeof(struct uacce_zip_regs) <= UACCE_ZIP_MMIO_SIZE, "regs fit in MMIO");

struct zip_stream {
	struct codec_stream *cs;	/* NULL when closed */
	bool live;		/* open for requests */
	bool ending;		/* compress: Z_FINISH issued */
	bool between;		/* gzip decompress: at a member boundary */
	uint32_t left;		/* compress: input the last request did not take */
	uint8_t op, alg;
	uint16_t epoch;
};

struct zip_q {
	struct uacce_zip_regs *regs;	/* the MMIO page */
	struct uacce_zip_sqe *sqes;	/* in DUS */
	struct uacce_zip_cqe *cqes;	/* in DUS */
	uint32_t sq_head, cq_tail;	/* the device's own copies */
	bool ring_bad;			/* an invalid sq_tail was seen (logged once) */
	uint32_t bad_tail;		/* the last one, counted once */
	struct zip_stream st[MAX_STREAMS + 1];	/* slot 0 unused */
};

/* per worker thread: codecs and SVA staging buffers */
static __thread struct {
	struct codec_ws *ws;
	uint8_t *in, *out;			/* MAX_BUF each */
} tls;

/* the client's view of one request's buffers */
struct zbufs {
	const uint8_t *in;
	uint8_t *out;
	bool staged;		/* SVA: out is staged, goes back through mr */
	struct uacce_mem_req mr;	/* SVA: this request's look at the owner's mappings */
};

static struct zip_q *zq_of(struct soft_q *sq)
{
	return sq->priv;
}

/* --- rings ----------------------------------------------------------------- */

/* count (once per value) and log (once per queue) a garbage sq_tail */
static void ring_error(struct soft_q *sq, struct zip_q *zq, uint32_t tail)
{
	if (zq->ring_bad && tail == zq->bad_tail)
		return;
	__atomic_add_fetch(&zq->regs->ring_errors, 1, __ATOMIC_RELAXED);
	if (!zq->ring_bad)
		ulog_rl(LOG_NOTICE, "%s: invalid sq_tail %u (sq_head %u), ring ignored",
			uacce_hwq_label(sq->q), tail, zq->sq_head);
	zq->ring_bad = true;
	zq->bad_tail = tail;
}

/* SQEs published and not taken; 0 when the client's tail is garbage */
static uint32_t sq_avail(struct soft_q *sq, struct zip_q *zq)
{
	uint32_t tail = __atomic_load_n(&zq->regs->sq_tail, __ATOMIC_ACQUIRE);
	uint32_t n = tail - zq->sq_head;

	if (n > SQ_ENTRIES) {
		ring_error(sq, zq, tail);
		return 0;
	}
	return n;
}

/* room for one more CQE?  A garbage cq_head reads as "full" */
static bool cq_room(struct zip_q *zq)
{
	uint32_t head = __atomic_load_n(&zq->regs->cq_head, __ATOMIC_ACQUIRE);

	return zq->cq_tail - head < CQ_ENTRIES;
}

static bool zip_pending(struct soft_q *sq)
{
	struct zip_q *zq = zq_of(sq);

	return sq_avail(sq, zq) > 0 && cq_room(zq);
}

static bool take_sqe(struct soft_q *sq, struct zip_q *zq, struct uacce_zip_sqe *e)
{
	if (!sq_avail(sq, zq) || !cq_room(zq))
		return false;
	memcpy(e, &zq->sqes[zq->sq_head & (SQ_ENTRIES - 1)], sizeof(*e));
	zq->sq_head++;
	__atomic_store_n(&zq->regs->sq_head, zq->sq_head, __ATOMIC_RELEASE);
	return true;
}

static void post_cqe(struct zip_q *zq, const struct uacce_zip_cqe *c)
{
	memcpy(&zq->cqes[zq->cq_tail & (CQ_ENTRIES - 1)], c, sizeof(*c));
	zq->cq_tail++;
	/* store, then look for sleepers: pairs with the client's add-then-read */
	__atomic_store_n(&zq->regs->cq_tail, zq->cq_tail, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&zq->regs->cq_waiters, __ATOMIC_SEQ_CST))
		soft_futex_wake(&zq->regs->cq_tail, 1 << 30);
}

/* --- per-thread resources --------------------------------------------------- */

static struct codec_ws *tls_ws(void)
{
	if (!tls.ws)
		tls.ws = codec_ws_new();
	return tls.ws;
}

static bool tls_staging(void)
{
	if (!tls.in)
		tls.in = malloc(MAX_BUF);
	if (!tls.out)
		tls.out = malloc(MAX_BUF);
	return tls.in && tls.out;
}

static void zip_worker_exit(void)
{
	codec_ws_free(tls.ws);
	free(tls.in);
	free(tls.out);
	memset(&tls, 0, sizeof(tls));
}

/* --- buffers ---------------------------------------------------------------- */

static bool overlap(uint64_t a, uint32_t alen, uint64_t b, uint32_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* 0 or a positive errno for the completion */
static int get_bufs(struct soft_q *sq, const struct uacce_zip_sqe *e, struct zbufs *b)
{
	static const uint8_t empty[1];

	if (e->src + e->src_len < e->src || e->dst + e->dst_len < e->dst)
		return EFAULT;
	if (overlap(e->src, e->src_len, e->dst, e->dst_len))
		return EINVAL;
	if (!uacce_hwq_is_sva(sq->q)) {
		b->in = e->src_len ? soft_data_ptr(sq, e->src, e->src_len) : empty;
		b->out = e->dst_len ? soft_data_ptr(sq, e->dst, e->dst_len) : (uint8_t *)empty;
		return b->in && b->out ? 0 : EFAULT;
	}
	/* one request, one set of mapping lookups for its source and destination */
	uacce_hwq_mem_begin(sq->q, &b->mr);
	/* in a memfd the owner shared (UB_SHARE): in place, no kernel copy */
	b->in = e->src_len ? uacce_hwq_mem_direct(&b->mr, e->src, e->src_len, false) : empty;
	b->out = e->dst_len ? uacce_hwq_mem_direct(&b->mr, e->dst, e->dst_len, true)
			    : (uint8_t *)empty;
	if (b->in && b->out)
		return 0;
	if (!tls_staging())
		return ENOMEM;
	if (!b->in) {
		if (uacce_hwq_mem_read(&b->mr, e->src, tls.in, e->src_len))
			return EFAULT;
		b->in = tls.in;
	}
	if (!b->out) {
		b->out = tls.out;
		b->staged = true;
	}
	return 0;
}

static int put_bufs(struct zbufs *b, const struct uacce_zip_sqe *e, uint32_t produced)
{
	if (!b->staged || !produced)
		return 0;
	return uacce_hwq_mem_write(&b->mr, e->dst, b->out, produced) ? EFAULT : 0;
}

/* --- whole buffers --------------------------------------------------------- */

static int level_of(const struct uacce_zip_sqe *e)
{
	return e->level ? e->level : DEFAULT_LEVEL;
}

static enum codec_fmt fmt_of(int alg)
{
	return alg == UACCE_ZIP_ALG_DEFLATE ? CODEC_RAW : alg == UACCE_ZIP_ALG_ZLIB ? CODEC_ZLIB
										: CODEC_GZIP;
}

static int whole_compress(const struct uacce_zip_sqe *e, const struct zbufs *b,
			  struct uacce_zip_cqe *c)
{
	struct codec_ws *ws = tls_ws();
	size_t n = 0;
	int err;

	if (!ws)
		return ENOMEM;
	err = codec_compress(ws, codec_pick_whole(level_of(e)), fmt_of(e->alg), b->in, e->src_len,
			     b->out, e->dst_len, &n);
	if (err)
		return -err;
	c->consumed = e->src_len;
	c->produced = (uint32_t)n;
	c->flags = UACCE_ZIP_CF_EOS;
	return 0;
}

static int whole_decompress(const struct uacce_zip_sqe *e, const struct zbufs *b,
			    struct uacce_zip_cqe *c)
{
	struct codec_ws *ws = tls_ws();
	size_t in = 0, out = 0;
	int err;

	if (!ws)
		return ENOMEM;
	err = codec_decompress(ws, fmt_of(e->alg), b->in, e->src_len, b->out, e->dst_len, &in,
			       &out);
	if (err)
		return -err;
	c->consumed = (uint32_t)in;
	c->produced = (uint32_t)out;
	c->flags = UACCE_ZIP_CF_EOS;
	return 0;
}

/* --- streams --------------------------------------------------------------- */

static void stream_close(struct zip_stream *s)
{
	codec_stream_free(s->cs);
	s->cs = NULL;
	s->live = false;
}

static int stream_start(struct zip_stream *s, const struct uacce_zip_sqe *e)
{
	int r;

	stream_close(s);
	r = codec_stream_new(e->op == UACCE_ZIP_OP_COMPRESS, fmt_of(e->alg), level_of(e), &s->cs);
	if (r)
		return -r;
	s->live = true;
	s->ending = s->between = false;
	s->op = e->op;
	s->alg = e->alg;
	s->epoch = e->epoch;
	return 0;
}

/* the request was cut short: requests queued behind it are stale */
static void cut_short(struct zip_stream *s, struct uacce_zip_cqe *c)
{
	c->flags |= UACCE_ZIP_CF_MORE;
	s->epoch++;
}

static void io_of(const struct uacce_zip_sqe *e, const struct zbufs *b, struct codec_io *io)
{
	*io = (struct codec_io){ .in = b->in, .in_len = e->src_len, .out = b->out,
				 .out_cap = e->dst_len };
}

static int deflate_step(struct zip_stream *s, const struct uacce_zip_sqe *e,
			const struct zbufs *b, struct uacce_zip_cqe *c)
{
	enum codec_flush flush;
	struct codec_io io;
	bool ended;

	if (s->ending && e->src_len > s->left)
		return EINVAL;	/* after the end: only the rest of the last input */
	if (e->flags & UACCE_ZIP_F_END)
		s->ending = true;
	flush = s->ending ? CODEC_FINISH
			  : (e->flags & UACCE_ZIP_F_FLUSH) ? CODEC_SYNC_FLUSH : CODEC_NO_FLUSH;
	io_of(e, b, &io);
	if (codec_deflate(s->cs, &io, flush, &ended))
		return EINVAL;
	c->consumed = (uint32_t)io.consumed;
	c->produced = (uint32_t)io.produced;
	s->left = e->src_len - c->consumed;
	if (ended) {
		c->flags |= UACCE_ZIP_CF_EOS;
		stream_close(s);
	} else if (s->left || io.produced == io.out_cap || flush == CODEC_FINISH) {
		cut_short(s, c);
	}
	return 0;
}

/* inflate into io; false with *err set on an error */
static bool inflate_run(struct zip_stream *s, struct codec_io *io, bool end, bool *eos,
			int *err)
{
	for (;;) {
		bool member_end;
		int r;

		if (s->between) {	/* gzip: another member may follow */
			if (io->consumed == io->in_len) {
				*eos = end;
				return true;
			}
			if (io->in[io->consumed] != 0x1f) {	/* trailing data */
				*eos = true;
				return true;
			}
			codec_inflate_next(s->cs);
			s->between = false;
		}
		r = codec_inflate(s->cs, io, &member_end);
		if (r) {
			*err = -r;
			return false;
		}
		if (member_end && s->alg == UACCE_ZIP_ALG_GZIP) {
			s->between = true;
			continue;
		}
		if (member_end) {
			*eos = true;
			return true;
		}
		/* out of input or output: truncated if it was the last input */
		if (end && io->produced < io->out_cap && io->consumed == io->in_len) {
			*err = ENODATA;
			return false;
		}
		return true;
	}
}

static int inflate_step(struct zip_stream *s, const struct uacce_zip_sqe *e,
			const struct zbufs *b, struct uacce_zip_cqe *c)
{
	struct codec_io io;
	bool eos = false;
	int err = 0;

	io_of(e, b, &io);
	if (!inflate_run(s, &io, e->flags & UACCE_ZIP_F_END, &eos, &err))
		return err;
	c->consumed = (uint32_t)io.consumed;
	c->produced = (uint32_t)io.produced;
	if (eos) {
		c->flags |= UACCE_ZIP_CF_EOS;
		stream_close(s);
	} else if (io.produced == io.out_cap && !s->between) {
		cut_short(s, c);	/* output full: more may be pending */
	}
	return 0;
}

/* positive errno when the request cannot go on the stream */
static int stream_admit(struct zip_stream *s, const struct uacce_zip_sqe *e)
{
	if (e->flags & UACCE_ZIP_F_START)
		return stream_start(s, e);
	if (!s->live)
		return EPIPE;
	if (e->epoch != s->epoch)
		return ECANCELED;
	if (e->op != s->op || e->alg != s->alg)
		return EINVAL;
	return 0;
}

static int stream_exec(struct soft_q *sq, struct zip_stream *s, const struct uacce_zip_sqe *e,
		       struct uacce_zip_cqe *c)
{
	struct zbufs b = { 0 };
	int err = stream_admit(s, e);

	if (err == ECANCELED)
		return err;
	if (!err)
		err = get_bufs(sq, e, &b);
	if (!err && e->op == UACCE_ZIP_OP_COMPRESS)
		err = deflate_step(s, e, &b, c);
	else if (!err)
		err = inflate_step(s, e, &b, c);
	if (!err)
		err = put_bufs(&b, e, c->produced);
	if (err)
		stream_close(s);
	return err;
}

/* --- requests --------------------------------------------------------------- */

static int check_sqe(const struct uacce_zip_sqe *e)
{
	if (e->op < UACCE_ZIP_OP_COMPRESS || e->op > UACCE_ZIP_OP_DECOMPRESS ||
	    e->alg < UACCE_ZIP_ALG_DEFLATE || e->alg > UACCE_ZIP_ALG_GZIP || e->level > 9 ||
	    e->stream > MAX_STREAMS || (e->flags & ~UACCE_ZIP_F_ALL) || e->rsvd0)
		return EINVAL;
	for (size_t i = 0; i < sizeof(e->rsvd) / sizeof(e->rsvd[0]); i++)
		if (e->rsvd[i])
			return EINVAL;
	if (e->src_len > MAX_BUF || e->dst_len > MAX_BUF)
		return E2BIG;
	return 0;
}

static int whole_exec(struct soft_q *sq, const struct uacce_zip_sqe *e, struct uacce_zip_cqe *c)
{
	struct zbufs b = { 0 };
	int err = get_bufs(sq, e, &b);

	if (!err && e->op == UACCE_ZIP_OP_COMPRESS)
		err = whole_compress(e, &b, c);
	else if (!err)
		err = whole_decompress(e, &b, c);
	if (!err)
		err = put_bufs(&b, e, c->produced);
	return err;
}

static void execute(struct soft_q *sq, struct zip_q *zq, const struct uacce_zip_sqe *e,
		    struct uacce_zip_cqe *c)
{
	struct zip_stream *s = NULL;
	int err = check_sqe(e);

	if (!err && e->stream) {
		s = &zq->st[e->stream];
		err = stream_exec(sq, s, e, c);
	} else if (!err) {
		err = whole_exec(sq, e, c);
	}
	if (err) {	/* nothing the device wrote is meaningful */
		c->status = (uint32_t)err;
		c->flags = 0;
		c->consumed = c->produced = 0;
	}
	if (s)
		c->epoch = s->epoch;
}

static int zip_process(struct soft_q *sq)
{
	struct zip_q *zq = zq_of(sq);
	struct uacce_zip_sqe e;
	struct uacce_zip_cqe c;

	if (!take_sqe(sq, zq, &e))
		return 0;
	memset(&c, 0, sizeof(c));
	c.cookie = e.cookie;
	execute(sq, zq, &e, &c);
	post_cqe(zq, &c);
	return 1;
}

/* --- queue set-up ----------------------------------------------------------- */

/* the queue's view of its regions; `init`: a new queue, write the registers */
static int zip_setup(struct soft_q *sq, bool init)
{
	struct uacce_region *mmio = uacce_hwq_region(sq->q, UACCE_QFRT_MMIO);
	struct uacce_region *dus = uacce_hwq_region(sq->q, UACCE_QFRT_DUS);
	struct uacce_zip_regs *regs;
	struct zip_q *zq;

	if (!mmio || !dus || uacce_region_size(mmio) < UACCE_ZIP_MMIO_SIZE ||
	    uacce_region_size(dus) < UACCE_ZIP_DUS_SIZE)
		return -EINVAL;
	zq = calloc(1, sizeof(*zq));
	if (!zq)
		return -ENOMEM;
	regs = uacce_region_map(mmio);
	if (init) {
		memcpy(regs->magic, UACCE_ZIP_MAGIC, sizeof(regs->magic));
		regs->version = UACCE_ZIP_VERSION;
		regs->sq_entries = SQ_ENTRIES;
		regs->cq_entries = CQ_ENTRIES;
		regs->max_buf = MAX_BUF;
		regs->max_streams = MAX_STREAMS;
		regs->sqe_off = SQE_OFF;
		regs->cqe_off = (uint32_t)CQE_OFF;
	}
	zq->regs = regs;
	zq->sqes = (struct uacce_zip_sqe *)((char *)uacce_region_map(dus) + SQE_OFF);
	zq->cqes = (struct uacce_zip_cqe *)((char *)uacce_region_map(dus) + CQE_OFF);
	sq->priv = zq;
	return 0;
}

static int zip_init_queue(struct soft_q *sq)
{
	return zip_setup(sq, true);
}

/*
 * Saved state, version 1: sq_head, cq_tail, bad_tail (u32 each), a flags
 * byte (bit 0: ring_bad).  The streams' codec state cannot be written
 * down: in the successor every slot is closed, and a request that goes on
 * a stream opened before the restart completes with EPIPE (no open stream
 * in this slot, uacce_zip(7)); whole-buffer requests and streams started
 * after it (UACCE_ZIP_F_START) are served as usual.
 */
#define ZIP_SAVE_V1	1
#define ZIP_SAVE_LEN	14

static ssize_t zip_save(struct soft_q *sq, uint8_t *buf, size_t len)
{
	struct zip_q *zq = zq_of(sq);

	if (len < ZIP_SAVE_LEN)
		return -ENOSPC;
	buf[0] = ZIP_SAVE_V1;
	soft_put32(buf + 1, zq->sq_head);
	soft_put32(buf + 5, zq->cq_tail);
	soft_put32(buf + 9, zq->bad_tail);
	buf[13] = zq->ring_bad ? 1 : 0;
	return ZIP_SAVE_LEN;
}

static int zip_adopt(struct soft_q *sq, const uint8_t *buf, size_t len)
{
	struct zip_q *zq;
	int err;

	if (len < ZIP_SAVE_LEN || buf[0] != ZIP_SAVE_V1)	/* the only version so far */
		return -EINVAL;
	err = zip_setup(sq, false);
	if (err)
		return err;
	zq = zq_of(sq);
	zq->sq_head = soft_get32(buf + 1);
	zq->cq_tail = soft_get32(buf + 5);
	zq->bad_tail = soft_get32(buf + 9);
	zq->ring_bad = buf[13] & 1;
	return 0;
}

/*
 * After a crash: every SQE taken gets exactly one CQE, so the SQEs from
 * the last CQE the device published on are taken again (one the dead
 * daemon was working on is done again: a whole-buffer job rewrites the
 * same output; a stream's state is lost, it ends with EPIPE as after a
 * planned restart).
 */
static int zip_recover(struct soft_q *sq)
{
	struct zip_q *zq;
	int err = zip_setup(sq, false);

	if (err)
		return err;
	zq = zq_of(sq);
	zq->cq_tail = __atomic_load_n(&zq->regs->cq_tail, __ATOMIC_ACQUIRE);
	zq->sq_head = zq->cq_tail;
	__atomic_store_n(&zq->regs->sq_head, zq->sq_head, __ATOMIC_RELEASE);
	zq->bad_tail = 0;
	zq->ring_bad = false;
	return 0;
}

static void zip_fini_queue(struct soft_q *sq)
{
	struct zip_q *zq = zq_of(sq);

	for (int i = 1; zq && i <= MAX_STREAMS; i++)
		stream_close(&zq->st[i]);
}

static void zip_set_idle(struct soft_q *sq, bool idle)
{
	struct zip_q *zq = zq_of(sq);

	__atomic_store_n(&zq->regs->flags, idle ? UACCE_ZIP_NEED_WAKEUP : 0, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static uint32_t *zip_wake_word(struct soft_q *sq, uint32_t **sleeping)
{
	struct zip_q *zq = zq_of(sq);

	*sleeping = &zq->regs->flags;
	return &zq->regs->wake;
}

const struct soft_personality soft_zip_v1 = {
	.api = UACCE_ZIP_API,
	.algorithms = "deflate\nzlib\ngzip",
	.qfr_size = { [UACCE_QFRT_MMIO] = UACCE_ZIP_MMIO_SIZE,
		      [UACCE_QFRT_DUS] = UACCE_ZIP_DUS_SIZE, [UACCE_QFRT_SS] = 1 },
	.ml_data_size = UACCE_ZIP_ML_DATA_SIZE,
	.flush_cmd = 0,
	.init_queue = zip_init_queue,
	.process = zip_process,
	.pending = zip_pending,
	.wake_word = zip_wake_word,
	.pooled = true,
	.set_idle = zip_set_idle,
	.worker_exit = zip_worker_exit,
	.fini_queue = zip_fini_queue,
	.save = zip_save,
	.adopt = zip_adopt,
	.recover = zip_recover,
};
