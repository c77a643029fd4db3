/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-zip-sqe - the zip device's descriptor handling (hwbackends/soft/
 * zip.c): SQE validation, whole-buffer and stream requests, the ring
 * indices (garbage sq_tail, CQ full) and anything the client writes into
 * its MMIO and DUS pages.
 *
 * A real non-SVA soft "uacce_zip_v1" queue, driven through the core as the
 * daemon drives it (uq_open, START, uq_map of MMIO/DUS/SS whose fds the
 * harness mmaps as libuacce does, uq_mapped with those addresses).  The
 * device runs in the harness thread: the queue is started through the
 * test-only ops table of fuzz_soft.c (no pool worker takes it) and the
 * harness calls the personality's process() itself, one request per call,
 * exactly as a pool worker does.  So every input is one deterministic run.
 *
 * Input: first byte and a u16: the SS size (1..65536 bytes); then
 * commands, one opcode byte each (see the switch).  Buffer addresses are
 * given relative to the SS (inside or outside it) or as raw values.
 * Invariants checked against a model of the device's own indices (which
 * the client cannot overwrite): pending() and process() take a request
 * exactly when the ring holds a valid one and the CQ has room; sq_head
 * and cq_tail are the device's after each request; the completion carries
 * the cookie of the slot taken, status 0 or an errno, and never reports
 * more bytes than its buffers hold (nor any when it failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "soft.h"
#include "uacce/zip_usr_if.h"

#define SQ_N		128u		/* the device's ring sizes (zip.c) */
#define CQ_N		128u
#define MAX_RUNS	600		/* process() calls per input */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct uacce_core *core;
static struct uacce_dev *dev;
static bool trace;	/* FUZZ_TRACE=1: print each completion (seed checking) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_init();
	trace = getenv("FUZZ_TRACE") != NULL;
	if (fuzz_core_one(&fuzz_soft_noworker_ops, UACCE_ZIP_API, 4, &core, &dev)) {
		fprintf(stderr, "fuzz-zip-sqe: no zip device\n");
		exit(1);
	}
	return 0;
}

struct run {
	struct uacce_queue *q;
	struct soft_q *sq;
	struct uacce_zip_regs *regs;
	uint8_t *mmio, *dus, *ss;
	size_t ss_size;
	bool ss_mapped;
	uint32_t tail;			/* the harness's sq_tail */
	uint32_t dev_head, dev_cq;	/* the model of the device's indices */
	uint16_t epoch[8];		/* per stream slot, from the completions */
	uint64_t cookie;
	int runs;
};

/* a buffer address: inside the SS, relative to it (maybe outside), or raw */
static uint64_t addr_of(struct run *r, struct fin *f, uint32_t *len)
{
	uint8_t mode = fin_u8(f);
	uint32_t off = fin_u32(f), l = fin_u32(f);
	uint64_t base = (uint64_t)(uintptr_t)r->ss;

	switch (mode % 4) {
	case 0:		/* inside: offset and length bounded by the SS */
		off %= (uint32_t)r->ss_size;
		*len = l % ((uint32_t)r->ss_size - off + 1);
		return base + off;
	case 1:		/* relative, anywhere from -2 GiB to +2 GiB */
		*len = l;
		return base + (uint64_t)(int64_t)(int32_t)off;
	case 2:		/* near the end: straddles it */
		*len = l % 65536;
		return base + r->ss_size - off % 4096;
	default:	/* raw, with the high bits of mode */
		*len = l;
		return ((uint64_t)(mode >> 2) << 56) | off;
	}
}

static void submit(struct run *r, struct fin *f)
{
	struct uacce_zip_sqe e = { 0 };
	uint8_t flags = fin_u8(f), emode = fin_u8(f), raw = fin_u8(f);

	e.op = fin_u8(f) % 4;
	e.alg = fin_u8(f) % 5;
	e.level = fin_u8(f) % 12;
	e.stream = fin_u8(f) % 7;
	e.flags = flags & 0x80 ? (uint32_t)flags << 24 | (flags & 7) : flags & 7;
	e.epoch = emode & 1 ? r->epoch[e.stream] : (uint16_t)(emode >> 1);
	if (raw & 1)
		e.rsvd0 = raw;
	if (raw & 2)
		e.rsvd[raw % 5] = raw;
	e.src = addr_of(r, f, &e.src_len);
	e.dst = addr_of(r, f, &e.dst_len);
	e.cookie = ++r->cookie;
	memcpy(r->dus + (r->tail % SQ_N) * sizeof(e), &e, sizeof(e));
	r->tail++;
	__atomic_store_n(&r->regs->sq_tail, r->tail, __ATOMIC_RELEASE);
}

/*
 * The device's own indices are private (zip.c); the harness models them:
 * sq_head counts the SQEs taken, cq_tail the CQEs posted, both from 0.
 * Whatever the client writes over the registers, the device must take
 * exactly when the model says there is work and room.
 */
static bool model_pending(const struct run *r)
{
	uint32_t tail = __atomic_load_n(&r->regs->sq_tail, __ATOMIC_ACQUIRE);
	uint32_t cq_head = __atomic_load_n(&r->regs->cq_head, __ATOMIC_ACQUIRE);
	uint32_t avail = tail - r->dev_head;

	return avail && avail <= SQ_N && r->dev_cq - cq_head < CQ_N;
}

/* the completion of request e, just posted */
static void check_cqe(struct run *r, const struct uacce_zip_sqe *e)
{
	const struct uacce_zip_cqe *c =
		(const void *)(r->dus + SQ_N * sizeof(*e) + (r->dev_cq % CQ_N) * sizeof(*c));

	if (trace)
		fprintf(stderr, "cqe %llu: op %u alg %u stream %u flags %#x: status %u flags %#x "
			"consumed %u produced %u epoch %u\n", (unsigned long long)c->cookie, e->op,
			e->alg, e->stream, e->flags, c->status, c->flags, c->consumed, c->produced,
			c->epoch);
	FUZZ_CHECK(c->cookie == e->cookie, "cookie %llu for %llu",
		   (unsigned long long)c->cookie, (unsigned long long)e->cookie);
	FUZZ_CHECK(c->status == 0 || (c->status > 0 && c->status < 4096), "status %u",
		   c->status);
	FUZZ_CHECK(!(c->flags & ~(UACCE_ZIP_CF_EOS | UACCE_ZIP_CF_MORE)), "flags %#x", c->flags);
	if (c->status) {
		FUZZ_CHECK(!c->consumed && !c->produced && !c->flags,
			   "failed request (%u) reports progress", c->status);
	} else {
		FUZZ_CHECK(c->consumed <= e->src_len, "consumed %u of %u", c->consumed,
			   e->src_len);
		FUZZ_CHECK(c->produced <= e->dst_len, "produced %u into %u", c->produced,
			   e->dst_len);
	}
	if (e->stream < 8)
		r->epoch[e->stream] = c->epoch;
}

/* the device: up to n process() calls, as a pool worker makes them */
static void run_device(struct run *r, int n)
{
	const struct soft_personality *p = &soft_zip_v1;

	for (int i = 0; i < n && r->runs < MAX_RUNS; i++, r->runs++) {
		struct uacce_zip_sqe e;
		bool model = model_pending(r), pending = p->pending(r->sq);
		int done;

		memcpy(&e, r->dus + (r->dev_head % SQ_N) * sizeof(e), sizeof(e));
		done = p->process(r->sq);
		FUZZ_CHECK(pending == model, "pending %d, model %d", pending, model);
		FUZZ_CHECK(done == (model ? 1 : 0), "model %d, process %d", model, done);
		if (!done)
			break;
		r->dev_head++;
		FUZZ_CHECK(r->regs->sq_head == r->dev_head, "sq_head %u, model %u",
			   r->regs->sq_head, r->dev_head);
		FUZZ_CHECK(r->regs->cq_tail == r->dev_cq + 1, "cq_tail %u, model %u",
			   r->regs->cq_tail, r->dev_cq + 1);
		check_cqe(r, &e);
		r->dev_cq++;
	}
}

static void command(struct run *r, struct fin *f)
{
	uint8_t op = fin_u8(f);

	switch ((op & 0x7f) % 12) {	/* bit 7: a variant of the command */
	case 0:
	case 1:
	case 2:
		submit(r, f);
		break;
	case 3:		/* run the device */
		run_device(r, 1 + fin_u8(f) % 16);
		break;
	case 4:		/* garbage sq_tail */
		r->tail = fin_u32(f);
		__atomic_store_n(&r->regs->sq_tail, r->tail, __ATOMIC_RELEASE);
		break;
	case 5:		/* back in step with the device */
		r->tail = __atomic_load_n(&r->regs->sq_head, __ATOMIC_ACQUIRE);
		__atomic_store_n(&r->regs->sq_tail, r->tail, __ATOMIC_RELEASE);
		break;
	case 6:		/* consume the completions, or set cq_head to anything */
		if (op & 0x80)
			__atomic_store_n(&r->regs->cq_head, fin_u32(f), __ATOMIC_RELEASE);
		else
			__atomic_store_n(&r->regs->cq_head, r->regs->cq_tail, __ATOMIC_RELEASE);
		break;
	case 7: {	/* data into the SS */
		uint32_t off = fin_u16(f) % (uint32_t)r->ss_size;
		size_t len = fin_u16(f) % 4096;

		if (len > r->ss_size - off)
			len = r->ss_size - off;
		fin_bytes(f, r->ss + off, len);
		break;
	}
	case 8: {	/* a pattern into the SS (compressible input) */
		uint32_t off = fin_u16(f) % (uint32_t)r->ss_size;
		uint32_t len = fin_u16(f);
		uint8_t b = fin_u8(f);

		if (len > r->ss_size - off)
			len = (uint32_t)(r->ss_size - off);
		for (uint32_t i = 0; i < len; i++)
			r->ss[off + i] = (uint8_t)(b + (op & 0x80 ? i % 7 : 0));
		break;
	}
	case 9: {	/* any bytes anywhere in the MMIO page or the rings */
		uint16_t off = fin_u16(f);
		uint8_t len = fin_u8(f) % 64;
		uint8_t *page = op & 0x80 ? r->dus : r->mmio;
		size_t psz = op & 0x80 ? UACCE_ZIP_DUS_SIZE : UACCE_ZIP_MMIO_SIZE;

		off %= psz;
		fin_bytes(f, page + off, len < psz - off ? len : psz - off);
		r->tail = __atomic_load_n(&r->regs->sq_tail, __ATOMIC_ACQUIRE);
		break;
	}
	case 10:	/* the client unmaps the SS / maps it back */
		if (r->ss_mapped && uq_unmap(r->q, getpid(), UACCE_QFRT_SS) == 0)
			r->ss_mapped = false;
		else if (!r->ss_mapped) {
			uint64_t got = 0;
			int fd = -1;

			FUZZ_CHECK(uq_map(r->q, getpid(), UACCE_QFRT_SS, r->ss_size, &fd, &got) == 0,
				   "SS map again");
			close(fd);
			FUZZ_CHECK(uq_mapped(r->q, getpid(), UACCE_QFRT_SS,
					     (uint64_t)(uintptr_t)r->ss) == 0, "SS mapped again");
			r->ss_mapped = true;
		}
		break;
	default: {	/* poll, as the frontend does after a wake-up */
		struct uacce_caller me = fuzz_me();
		unsigned mask;

		FUZZ_CHECK(uq_poll(r->q, &me, &mask) == 0, "poll");
		break;
	}
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
	r.ss_size = 1 + (size_t)fin_u16(&f);
	err = uq_open(dev, &me, &r.q);
	FUZZ_CHECK(err == 0, "open: %d", err);
	r.sq = fuzz_last_sq;
	r.mmio = fuzz_map(r.q, UACCE_QFRT_MMIO, UACCE_ZIP_MMIO_SIZE);
	r.dus = fuzz_map(r.q, UACCE_QFRT_DUS, UACCE_ZIP_DUS_SIZE);
	FUZZ_CHECK(r.sq && r.mmio && r.dus, "queue set-up");
	FUZZ_CHECK(uq_ioctl(r.q, &me, &start) == 0, "START");
	r.ss = fuzz_map(r.q, UACCE_QFRT_SS, r.ss_size);
	FUZZ_CHECK(r.ss, "SS of %zu bytes", r.ss_size);
	r.ss_mapped = true;
	r.regs = (struct uacce_zip_regs *)r.mmio;

	while (fin_more(&f))
		command(&r, &f);
	/* whatever is left in the ring, as far as the device takes it */
	run_device(&r, MAX_RUNS);

	uq_release(r.q);
	munmap(r.mmio, UACCE_ZIP_MMIO_SIZE);
	munmap(r.dus, UACCE_ZIP_DUS_SIZE);
	munmap(r.ss, r.ss_size);
	FUZZ_CHECK(ud_available_instances(dev) == 4, "instance leaked");
	return 0;
}
