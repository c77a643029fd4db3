/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-hisi-sqe - the HiSilicon-QM-compatible zip device's descriptor
 * handling (hwbackends/soft/hisi_zip.c): SQEs with any fields (types,
 * sizes, flags, stream keys, flat and SGL buffers, addresses inside an
 * arena with read-only and inaccessible pages, or raw), the doorbell word
 * (SQ, CQ and garbage values), anything written over the rings and the
 * markers, SET_QP_CTX between requests.
 *
 * A real SVA "hisi_qm_v2" queue of this process (its memory is the
 * owner's), driven through the core; the device runs in the harness thread
 * (the test-only ops of fuzz_soft.c: no worker), the harness calls the
 * personality's process() itself.
 *
 * Invariants: process() takes a slot only when it is new work (request
 * type set, no marker) and, covered by the last SQ doorbell, always takes
 * it; each completion posts the CQE at the device's tail with the right
 * phase and slot, leaves the tag and the request fields as sent, reports a
 * known status and never more than it was given; a whole-buffer
 * compression inflates (zlib) back to its input and a whole-buffer
 * decompression equals zlib's inflate of its input; nothing outside the
 * destination is written (flat buffers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "soft.h"
#include "uacce/hisi_qm.h"

#define DEPTH		HISI_QM_Q_DEPTH
#define ARENA		(64u * 4096u)	/* page 1 read-only, page 2 inaccessible */
#define GUARD		(64u << 20)
#define MAX_RUNS	400

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct uacce_core *core;
static struct uacce_dev *dev;
static uint8_t *arena, *shadow, *scratch;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_init();
	if (fuzz_core_one_sva(&fuzz_soft_noworker_ops, HISI_QM_API_VER2_BASE, 2, true, &core,
			      &dev)) {
		fprintf(stderr, "fuzz-hisi-sqe: no device\n");
		exit(1);
	}
	/*
	 * The device may write wherever this process may (SVA): the arena is
	 * followed by GUARD bytes of PROT_NONE, more than any request's reach
	 * (8 MiB plus an SGL's skips), so that an address near the arena with
	 * any length faults on the device instead of writing over the harness.
	 */
	arena = mmap(NULL, ARENA + GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		     -1, 0);
	if (arena != MAP_FAILED && mprotect(arena, ARENA, PROT_READ | PROT_WRITE))
		exit(1);
	shadow = malloc(ARENA);
	scratch = malloc(8u << 20);
	if (arena == MAP_FAILED || !shadow || !scratch)
		exit(1);
	return 0;
}

struct run {
	struct uacce_queue *q;
	struct soft_q *sq;
	uint8_t *mmio, *dus;
	struct hisi_zip_sqe *sqr;
	struct hisi_qm_cqe *cq;
	uint32_t tail;			/* the client's */
	uint32_t head, cq_tail;		/* the model of the device's */
	uint16_t phase;
	uint64_t last_db;		/* the model of the device's doorbell view */
	uint32_t db_tail;
	bool db_valid;
	uint32_t qc_type;
	uint32_t tag;
	int runs;
};

static uint64_t arena_addr(struct fin *f, uint32_t *len, uint32_t cap)
{
	uint8_t mode = fin_u8(f);
	uint32_t off = fin_u32(f) % ARENA, l = fin_u32(f);

	switch (mode % 4) {
	case 0:		/* inside the arena, first page (writable) on */
		off = 3 * 4096 + off % (ARENA - 3 * 4096);
		*len = l % (ARENA - off + 1);
		break;
	case 1:		/* anywhere in the arena: the protected pages too */
		*len = l % (cap + 1);
		break;
	case 2:		/* past the arena's end */
		*len = l % 65536;
		return (uint64_t)(uintptr_t)arena + ARENA - off % 8192;
	default:	/* never mapped: the first page, or non-canonical (the device
			 * may write wherever this process can: never aim at it) */
		*len = l % (cap + 1);
		return mode & 4 ? off % 4096 : (1ULL << 47) + ((uint64_t)(mode >> 3) << 40) + off;
	}
	return (uint64_t)(uintptr_t)arena + off;
}

/* an SGL in the arena's scratch area (pages 3-5) over arena pieces */
static uint64_t make_sgl(struct fin *f, uint32_t *total)
{
	struct hisi_sgl_hdr *h = (void *)(arena + 3 * 4096 + (fin_u8(f) % 8) * 512);
	struct hisi_sge *e = (struct hisi_sge *)(h + 1);
	uint8_t n = fin_u8(f) % 9;

	memset(h, 0, sizeof(*h));
	h->entry_sum_in_sgl = fin_u8(f) & 0x80 ? fin_u16(f) : n;
	h->next_dma = fin_u8(f) & 1 ? (uint64_t)(uintptr_t)h : 0;	/* a loop, maybe */
	*total = 0;
	for (uint8_t i = 0; i < n; i++) {
		uint32_t len;

		e[i].buff = arena_addr(f, &len, 65536);
		e[i].len = len;
		*total += len;
	}
	return (uint64_t)(uintptr_t)h;
}

static void submit(struct run *r, struct fin *f, bool ring)
{
	struct hisi_zip_sqe e = { 0 };
	uint8_t how = fin_u8(f);
	uint64_t src, dst;
	uint32_t in_len, out_len;

	e.dw9 = (uint32_t)(fin_u8(f) % 5) | (how & 1 ? HISI_ZIP_BUF_SGL << 8 : 0);
	if (how & 0x40)
		e.dw9 = fin_u32(f);
	if (e.dw9 & (HISI_ZIP_BUF_SGL << 8)) {
		src = make_sgl(f, &in_len);
		dst = make_sgl(f, &out_len);
		e.dw7 = fin_u8(f) & 0x3f;
		e.dw8 = fin_u8(f) & 0x3f;
	} else {
		src = arena_addr(f, &in_len, 1u << 20);
		dst = arena_addr(f, &out_len, 1u << 20);
	}
	e.input_data_length = how & 2 ? fin_u32(f) : in_len;
	e.dest_avail_out = how & 4 ? fin_u32(f) : out_len;
	e.source_addr_l = (uint32_t)src;
	e.source_addr_h = (uint32_t)(src >> 32);
	e.dest_addr_l = (uint32_t)dst;
	e.dest_addr_h = (uint32_t)(dst >> 32);
	e.dw7 |= (uint32_t)(fin_u8(f) & 0xf) << 24;	/* finish, stateful, new */
	if (e.dw7 & HISI_ZIP_STATEFUL) {
		uint64_t key = (how & 8) ? fin_u64(f) : 0x1000 + (fin_u8(f) % 20) * 64;

		e.stream_ctx_addr_l = (uint32_t)key;
		e.stream_ctx_addr_h = (uint32_t)(key >> 32);
	}
	e.isize = how & 0x10 ? fin_u32(f) : 0;
	e.checksum = how & 0x10 ? fin_u32(f) : 0;
	e.dw13 = ++r->tag;
	memcpy(&r->sqr[r->tail], &e, sizeof(e));
	r->tail = (r->tail + 1) % DEPTH;
	if (ring)
		*(volatile uint64_t *)(r->mmio + HISI_QM_DB_OFFSET) =
			HISI_QM_DB(0, HISI_QM_DB_CMD_SQ, r->tail, 0);
}

static bool slot_new(const struct hisi_zip_sqe *e)
{
	return (e->dw9 & 0xff) && !e->dw5 && !e->dw11 && !e->dw16 && !e->dw27;
}

/* the device's view of the doorbell, modelled */
static bool model_covered(struct run *r)
{
	uint64_t db = *(volatile uint64_t *)(r->mmio + HISI_QM_DB_OFFSET);

	if (db != r->last_db) {
		r->last_db = db;
		if (((db >> 12) & 0xf) == 0 && ((db >> 32) & 0xffff) < DEPTH) {
			r->db_tail = (uint32_t)(db >> 32) & 0xffff;
			r->db_valid = true;
		}
	}
	return r->db_valid && r->db_tail != r->head;
}

static long raw_inflate(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *used)
{
	z_stream z = { 0 };
	long r = -1;

	if (inflateInit2(&z, -15) != Z_OK)
		return -1;
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (inflate(&z, Z_FINISH) == Z_STREAM_END) {
		r = (long)z.total_out;
		*used = z.total_in;
	}
	inflateEnd(&z);
	return r;
}

static bool in_arena(uint64_t a, uint64_t len)
{
	uint64_t b = (uint64_t)(uintptr_t)arena;

	return a >= b + 3 * 4096 && len <= ARENA && a - b <= ARENA - len;
}

static void check_done(struct run *r, const struct hisi_zip_sqe *e, const struct hisi_zip_sqe *got,
		       const uint8_t *before, bool alone)
{
	uint32_t st = got->dw3 & 0xff, tl = 0;
	uint8_t alg = e->dw9 & 0xff;
	uint64_t src = (uint64_t)e->source_addr_h << 32 | e->source_addr_l;
	uint64_t dst = (uint64_t)e->dest_addr_h << 32 | e->dest_addr_l;
	bool flat = ((e->dw9 >> 8) & 0xf) == 0, stateless = !(e->dw7 & HISI_ZIP_STATEFUL);
	uint32_t avail = e->dest_avail_out < (8u << 20) ? e->dest_avail_out : (8u << 20);
	const struct hisi_qm_cqe *c = &r->cq[r->cq_tail];

	FUZZ_CHECK((c->w7 & 1) == r->phase, "CQE phase %u, want %u", c->w7 & 1, r->phase);
	FUZZ_CHECK(c->sq_head == r->head, "CQE slot %u, want %u", c->sq_head, r->head);
	FUZZ_CHECK(got->dw13 == e->dw13 && got->dw9 == e->dw9 && got->dw7 == e->dw7 &&
		   got->input_data_length == e->input_data_length &&
		   got->source_addr_l == e->source_addr_l && got->dest_addr_h == e->dest_addr_h,
		   "request fields changed");
	FUZZ_CHECK(st == HISI_ZIP_OK || st == HISI_ZIP_NEGACOMPRESS || st == HISI_ZIP_DECOMP_END ||
		   st == HISI_ZIP_DST_SMALL || st == HISI_ZIP_CRC_ERR || st == HISI_ZIP_BAD_REQUEST ||
		   st == HISI_ZIP_BAD_DATA || st == HISI_ZIP_FAULT, "status %#x", st);
	FUZZ_CHECK(got->consumed <= e->input_data_length, "consumed %u of %u", got->consumed,
		   e->input_data_length);
	FUZZ_CHECK(got->produced <= avail, "produced %u into %u", got->produced, avail);
	/* the arena checks need this request to be the only one taken */
	if (!alone || !flat || !in_arena(dst, avail))
		return;
	/* nothing outside the destination changed */
	for (size_t i = 3 * 4096; i < ARENA; i++) {
		uint64_t a = (uint64_t)(uintptr_t)arena + i;

		if (a >= dst && a < dst + avail)
			continue;
		FUZZ_CHECK(arena[i] == before[i], "arena byte %zu written outside the output", i);
	}
	if (!stateless || !in_arena(src, e->input_data_length))
		return;
	tl = alg == HISI_ZIP_ZLIB ? 4 : alg == HISI_ZIP_GZIP ? 8 : 0;
	if (r->qc_type == 0 && (st == HISI_ZIP_OK || st == HISI_ZIP_NEGACOMPRESS)) {
		size_t used = 0;
		long n = raw_inflate(arena + (dst - (uint64_t)(uintptr_t)arena), got->produced - tl,
				     scratch, 8u << 20, &used);

		FUZZ_CHECK(n == (long)e->input_data_length && used == got->produced - tl,
			   "compressed output inflates to %ld bytes, input %u", n,
			   e->input_data_length);
		FUZZ_CHECK(!memcmp(scratch, before + (src - (uint64_t)(uintptr_t)arena), (size_t)n),
			   "compressed output inflates to other bytes");
	}
	if (r->qc_type == 1 && st == HISI_ZIP_DECOMP_END) {
		size_t used = 0;
		long n = raw_inflate(before + (src - (uint64_t)(uintptr_t)arena),
				     e->input_data_length, scratch, 8u << 20, &used);

		FUZZ_CHECK(n == (long)got->produced, "zlib inflates to %ld, device %u", n,
			   got->produced);
		FUZZ_CHECK(!memcmp(scratch, arena + (dst - (uint64_t)(uintptr_t)arena), (size_t)n),
			   "decompressed bytes differ from zlib's");
	}
}

static void run_device(struct run *r, int n)
{
	const struct soft_personality *p = &soft_hisi_zip;

	for (int i = 0; i < n && r->runs < MAX_RUNS; i++, r->runs++) {
		struct hisi_zip_sqe e, got;
		bool fresh, cover;
		int done;

		memcpy(&e, &r->sqr[r->head], sizeof(e));
		fresh = slot_new(&e);
		cover = fresh && model_covered(r);
		memcpy(shadow + 3 * 4096, arena + 3 * 4096, ARENA - 3 * 4096);
		done = p->process(r->sq);
		FUZZ_CHECK(done >= 0 && (fresh || done == 0), "took a slot that is no new work");
		FUZZ_CHECK(!cover || done >= 1, "a covered new slot was not taken");
		if (!done)
			break;
		/* taken without its doorbell (the grace): the device drops the
		 * last SQ doorbell's cover, as the model does */
		if (!cover)
			r->db_valid = false;
		/* process() may take several: check the first, then follow */
		memcpy(&got, &r->sqr[r->head], sizeof(got));
		check_done(r, &e, &got, shadow, done == 1);
		for (int k = 0; k < done; k++) {
			r->head = (r->head + 1) % DEPTH;
			if (++r->cq_tail == DEPTH) {
				r->cq_tail = 0;
				r->phase ^= 1;
			}
		}
	}
}

static void command(struct run *r, struct fin *f)
{
	uint8_t op = fin_u8(f);

	switch ((op & 0x7f) % 9) {
	case 0:
	case 1:
		submit(r, f, !(op & 0x80));
		break;
	case 2:
		run_device(r, 1 + fin_u8(f) % 8);
		break;
	case 3:		/* any doorbell value */
		*(volatile uint64_t *)(r->mmio + HISI_QM_DB_OFFSET) =
			op & 0x80 ? fin_u64(f) : HISI_QM_DB(0, HISI_QM_DB_CMD_CQ, fin_u16(f), 1);
		break;
	case 4: {	/* data into the arena */
		uint32_t off = 3 * 4096 + fin_u32(f) % (ARENA - 3 * 4096);
		size_t len = fin_u16(f) % 4096;

		if (len > ARENA - off)
			len = ARENA - off;
		fin_bytes(f, arena + off, len);
		break;
	}
	case 5: {	/* compressible input, or raw deflate of it */
		uint32_t off = 3 * 4096 + fin_u32(f) % (ARENA - 3 * 4096);
		uint32_t len = fin_u16(f) % (ARENA - off + 1);
		uint8_t b = fin_u8(f);

		for (uint32_t i = 0; i < len; i++)
			scratch[i] = (uint8_t)(b + i % 13);
		if (op & 0x80) {
			z_stream z = { 0 };

			if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
				z.next_in = scratch;
				z.avail_in = len;
				z.next_out = arena + off;
				z.avail_out = ARENA - off;
				deflate(&z, Z_FINISH);
				deflateEnd(&z);
			}
		} else {
			memcpy(arena + off, scratch, len);
		}
		break;
	}
	case 6: {	/* any bytes over the rings or the MMIO page */
		uint8_t *page = op & 0x80 ? r->dus : r->mmio;
		size_t psz = op & 0x80 ? HISI_QM_DUS_SIZE : HISI_QM_MMIO_SIZE;
		uint32_t off = fin_u32(f) % (uint32_t)psz;
		uint8_t len = fin_u8(f) % 64;

		fin_bytes(f, page + off, len < psz - off ? len : psz - off);
		break;
	}
	case 7: {	/* change direction between requests */
		struct hisi_qp_ctx ctx = { .qc_type = fin_u8(f) % 3 };
		struct uacce_ioctl io = { .cmd = UACCE_CMD_QM_SET_QP_CTX, .size = sizeof(ctx),
					  .data = &ctx };
		struct uacce_caller me = fuzz_me();
		int err = uq_ioctl(r->q, &me, &io);

		FUZZ_CHECK(err == (ctx.qc_type > 1 ? -EINVAL : 0), "SET_QP_CTX %u: %d",
			   ctx.qc_type, err);
		if (!err)
			r->qc_type = ctx.qc_type;
		break;
	}
	default:	/* the client's tail back in step with the device */
		r->tail = r->head;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	struct uacce_caller me = fuzz_me();
	struct uacce_ioctl start = { .cmd = UACCE_CMD_START };
	static struct run r;
	int err;

	memset(&r, 0, sizeof(r));
	mprotect(arena, ARENA, PROT_READ | PROT_WRITE);
	memset(arena, 0, ARENA);
	mprotect(arena + 4096, 4096, PROT_READ);
	mprotect(arena + 2 * 4096, 4096, PROT_NONE);
	err = uq_open(dev, &me, &r.q);
	FUZZ_CHECK(err == 0, "open: %d", err);
	r.sq = fuzz_last_sq;
	r.dus = fuzz_map(r.q, UACCE_QFRT_DUS, HISI_QM_DUS_SIZE);
	r.mmio = fuzz_map(r.q, UACCE_QFRT_MMIO, HISI_QM_MMIO_SIZE);
	FUZZ_CHECK(r.sq && r.mmio && r.dus, "queue set-up");
	FUZZ_CHECK(uq_ioctl(r.q, &me, &start) == 0, "START");
	FUZZ_CHECK(soft_hisi_zip.start(r.sq) == 0, "the device's start");
	r.sqr = (struct hisi_zip_sqe *)r.dus;
	r.cq = (struct hisi_qm_cqe *)(r.dus + HISI_QM_CQ_OFFSET);
	r.phase = 1;
	r.last_db = *(volatile uint64_t *)(r.mmio + HISI_QM_DB_OFFSET);

	while (fin_more(&f))
		command(&r, &f);
	run_device(&r, MAX_RUNS);

	uq_release(r.q);
	munmap(r.mmio, HISI_QM_MMIO_SIZE);
	munmap(r.dus, HISI_QM_DUS_SIZE);
	FUZZ_CHECK(ud_available_instances(dev) == 2, "instance leaked");
	return 0;
}
