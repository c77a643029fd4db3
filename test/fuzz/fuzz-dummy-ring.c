/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-dummy-ring - the dummy device's ring (hwbackends/soft/dummy.c,
 * dummy_v1, non-SVA): buffer descriptors with addresses and sizes inside
 * or outside the SS, garbage head/tail/ring_bd_num and any other bytes of
 * the register page, processed through DUMMY_CMD_FLUSH via uq_ioctl
 * (struct uacce_ioctl), as the frontends call it.
 *
 * The queue is opened, mapped (MMIO, SS; the harness mmaps the fds) and
 * started through the core; it is started through the test-only ops
 * table of fuzz_soft.c, so no worker thread races with the harness: FLUSH
 * processes the ring in the harness thread (soft_ioctl -> run_once ->
 * dummy_process), and every input is one deterministic run.
 *
 * Input: a u16, the SS size (1..65536 bytes); then commands, one opcode
 * byte each (see the switch).  Invariants, against a model of the
 * device's own tail (which the client cannot overwrite): FLUSH succeeds;
 * it processes exactly the BDs from the model's tail up to a valid head
 * (none for head >= Q_BDS); the published tail is the device's; each
 * processed BD's status is 0 or the errno its addresses call for (EFAULT
 * outside the SS, EINVAL above the copy limit), and a successful copy
 * of disjoint buffers leaves dst equal to src.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "uacce/dummy_usr_if.h"

#define MMIO_SIZE	4096
#define MAX_COPY	(256ULL << 20)	/* soft.c */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct uacce_core *core;
static struct uacce_dev *dev;
static bool trace;	/* FUZZ_TRACE=1: print each processed BD (seed checking) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_init();
	trace = getenv("FUZZ_TRACE") != NULL;
	if (fuzz_core_one(&fuzz_soft_noworker_ops, "dummy_v1", 2, &core, &dev)) {
		fprintf(stderr, "fuzz-dummy-ring: no dummy device\n");
		exit(1);
	}
	return 0;
}

struct run {
	struct uacce_queue *q;
	struct dummy_hw_queue_reg *reg;
	uint8_t *mmio, *ss;
	size_t ss_size;
	bool ss_mapped;
	uint32_t dev_tail;		/* the model of the device's own tail */
};

/* an address: inside the SS, relative to it (maybe outside), or raw */
static uint64_t addr_of(struct run *r, struct fin *f)
{
	uint8_t mode = fin_u8(f);
	uint32_t off = fin_u32(f);
	uint64_t base = (uint64_t)(uintptr_t)r->ss;

	switch (mode % 4) {
	case 0:
	case 1:
		return base + off % r->ss_size;
	case 2:
		return base + (uint64_t)(int64_t)(int32_t)off;
	default:
		return ((uint64_t)(mode >> 2) << 56) | off;
	}
}

static uint64_t size_of(struct run *r, struct fin *f)
{
	uint8_t mode = fin_u8(f);
	uint32_t v = fin_u32(f);

	switch (mode % 4) {
	case 0:
	case 1:
		return v % (r->ss_size + 1);
	case 2:
		return v;
	default:
		return (uint64_t)v << (mode >> 2);	/* shifted up to 63 bits: huge */
	}
}

static void write_bd(struct run *r, struct fin *f)
{
	struct wd_dummy_cpy_msg m;
	uint8_t slot = fin_u8(f) % Q_BDS;

	memset(&m, 0, sizeof(m));
	m.src_addr = (char *)(uintptr_t)addr_of(r, f);
	m.tgt_addr = (char *)(uintptr_t)addr_of(r, f);
	m.size = size_of(r, f);
	m.ptr = (void *)(uintptr_t)fin_u16(f);
	m.ret = 0xdeadbeef;
	memcpy(&r->reg->ring[slot], &m, sizeof(m));
}

/* what the device must answer for m, and whether the copy can be checked */
static uint32_t expect(const struct run *r, const struct wd_dummy_cpy_msg *m, bool *check)
{
	uint64_t base = (uint64_t)(uintptr_t)r->ss, s = (uint64_t)(uintptr_t)m->src_addr,
		 d = (uint64_t)(uintptr_t)m->tgt_addr, n = m->size;
	bool in_s = s >= base && n <= r->ss_size && s - base <= r->ss_size - n;
	bool in_d = d >= base && n <= r->ss_size && d - base <= r->ss_size - n;

	*check = false;
	if (n > MAX_COPY)
		return EINVAL;
	if (!r->ss_mapped || !in_s || !in_d)
		return EFAULT;
	*check = s + n <= d || d + n <= s;
	return 0;
}

static void flush(struct run *r)
{
	struct uacce_caller me = fuzz_me();
	struct uacce_ioctl io = { .cmd = DUMMY_CMD_FLUSH, .size = _IOC_SIZE(DUMMY_CMD_FLUSH) };
	uint32_t head = r->reg->head;
	struct wd_dummy_cpy_msg ring[Q_BDS];
	uint32_t want[Q_BDS];
	bool check[Q_BDS];
	static uint8_t src_copy[65536];
	int err, n = 0;

	memcpy(ring, r->reg->ring, sizeof(ring));
	for (uint32_t t = r->dev_tail; head < Q_BDS && t != head; t = (t + 1) % Q_BDS) {
		want[t] = expect(r, &ring[t], &check[t]);
		n++;
	}
	/* one BD: its source bytes, to compare the copy with */
	if (n == 1 && check[r->dev_tail])
		memcpy(src_copy, ring[r->dev_tail].src_addr, ring[r->dev_tail].size);
	err = uq_ioctl(r->q, &me, &io);
	FUZZ_CHECK(err == 0, "FLUSH: %d", err);
	for (int i = 0; i < n; i++) {
		uint32_t t = (r->dev_tail + (uint32_t)i) % Q_BDS;

		if (trace)
			fprintf(stderr, "bd %u: size %zu ret %u\n", t, ring[t].size,
				r->reg->ring[t].ret);
		FUZZ_CHECK(r->reg->ring[t].ret == want[t], "BD %u: ret %u, want %u", t,
			   r->reg->ring[t].ret, want[t]);
		if (n == 1 && check[t])
			FUZZ_CHECK(memcmp(ring[t].tgt_addr, src_copy, ring[t].size) == 0,
				   "BD %u: copy differs", t);
	}
	r->dev_tail = (r->dev_tail + (uint32_t)n) % Q_BDS;
	if (n)
		FUZZ_CHECK(r->reg->tail == r->dev_tail, "tail %u, model %u", r->reg->tail,
			   r->dev_tail);
}

static void command(struct run *r, struct fin *f)
{
	uint8_t op = fin_u8(f);

	switch (op % 8) {
	case 0:
	case 1:
		write_bd(r, f);
		break;
	case 2:		/* head: valid or anything */
		r->reg->head = op & 0x80 ? fin_u32(f) : fin_u8(f) % Q_BDS;
		break;
	case 3:
		flush(r);
		break;
	case 4: {	/* data into the SS */
		uint32_t off = fin_u16(f) % (uint32_t)r->ss_size;
		size_t len = fin_u8(f);

		fin_bytes(f, r->ss + off, len < r->ss_size - off ? len : r->ss_size - off);
		break;
	}
	case 5: {	/* any bytes of the register page (tail, ring_bd_num, tag, wake) */
		uint16_t off = fin_u16(f) % MMIO_SIZE;
		uint8_t len = fin_u8(f) % 32;

		fin_bytes(f, r->mmio + off, len < MMIO_SIZE - off ? len : MMIO_SIZE - off);
		break;
	}
	case 6:		/* the client unmaps the SS / maps it back */
		if (r->ss_mapped) {
			FUZZ_CHECK(uq_unmap(r->q, getpid(), UACCE_QFRT_SS) == 0, "SS unmap");
			r->ss_mapped = false;
		} else {
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
	default: {	/* poll: updated after a FLUSH that did something */
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
	struct run r;
	int err;

	memset(&r, 0, sizeof(r));
	r.ss_size = 1 + (size_t)fin_u16(&f);
	err = uq_open(dev, &me, &r.q);
	FUZZ_CHECK(err == 0, "open: %d", err);
	r.mmio = fuzz_map(r.q, UACCE_QFRT_MMIO, MMIO_SIZE);
	FUZZ_CHECK(r.mmio, "MMIO");
	FUZZ_CHECK(uq_ioctl(r.q, &me, &start) == 0, "START");
	r.ss = fuzz_map(r.q, UACCE_QFRT_SS, r.ss_size);
	FUZZ_CHECK(r.ss, "SS of %zu bytes", r.ss_size);
	r.ss_mapped = true;
	r.reg = (struct dummy_hw_queue_reg *)r.mmio;
	FUZZ_CHECK(memcmp(r.reg->hw_tag, DUMMY_HW_TAG, DUMMY_HW_TAG_SZ) == 0 &&
		   r.reg->ring_bd_num == Q_BDS, "register page set-up");

	while (fin_more(&f))
		command(&r, &f);
	flush(&r);

	uq_release(r.q);
	munmap(r.mmio, MMIO_SIZE);
	munmap(r.ss, r.ss_size);
	FUZZ_CHECK(ud_available_instances(dev) == 2, "instance leaked");
	return 0;
}
