/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-core-ioctl - sequences of queue core calls (daemon/core.c) decoded
 * from the input, on three soft dummy devices (dummy_v1 non-SVA, dummy_v2
 * SVA, and a non-SVA dummy_v2 of the mainline profile, whose START_Q/PUT_Q
 * are 'W' 0/1 and whose regions come from uq_mmap by page offset) with the
 * real soft backend (uacce_backend_find("soft"): START
 * starts the queue's worker thread, PUT_Q and release stop it): open,
 * START/PUT_Q/FLUSH/SHARE_SVAS/unknown ioctl numbers with their _IOC sizes
 * (and wrong ones), map/mapped/unmap with fuzzed types, sizes, addresses
 * and peers, poll, release, owner death, SHARE_SVAS, lookups, snapshots,
 * device removal; callers are the harness itself or another process (a
 * child blocked on a pipe).
 *
 * Each input gets a fresh core.  After every step: each device's
 * available_instances lies in [0, max] and equals max minus the queues
 * the model says hold hardware; core_queues() lists exactly the queues
 * not dead; owner watches are balanced.  At the end, after every queue
 * is released: available == max, core_queues() is empty, no watch is
 * left.  The worker threads only process rings, which this harness never
 * fills: the core's decisions do not depend on them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "uacce/dummy_usr_if.h"
#include "uacce/uacce.h"

#define SLOTS		8
#define NDEV		3
#define ML_DEV		2	/* the mainline-profile device */
#define MAP_MAX		(1u << 20)	/* the harness mmaps regions up to this size */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pid_t other;		/* another process: blocked on a pipe until we exit */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int p[2];

	(void)argc;
	(void)argv;
	fuzz_log_init();
	if (pipe(p))
		exit(1);
	other = fork();
	if (other < 0)
		exit(1);
	if (other == 0) {
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[1]);
		while (read(p[0], &c, 1) < 0)
			;
		_exit(0);
	}
	close(p[0]);	/* p[1] stays open: the child lives as long as we do */
	return 0;
}

struct slot {
	struct uacce_queue *q;
	int dev;
	void *map[UACCE_QFRT_NR];
	size_t map_size[UACCE_QFRT_NR];
};

struct run {
	struct uacce_core *core;
	struct uacce_dev *dev[NDEV];
	int max[NDEV];
	bool removed[NDEV];
	struct slot s[SLOTS];
	int watches;		/* watch_owner - unwatch_owner */
};

static struct run R;

/* --- hooks ---------------------------------------------------------------- */

static void hook_instances(struct uacce_dev *d, void *ctx)
{
	int n = ud_available_instances_locked(d);

	(void)ctx;
	FUZZ_CHECK(n >= 0 && n <= ud_info(d)->max_queues, "available %d of %d", n,
		   ud_info(d)->max_queues);
}

static int hook_watch(struct uacce_queue *q, int pidfd, void *ctx)
{
	(void)q;
	(void)ctx;
	FUZZ_CHECK(pidfd >= 0, "watch without a pidfd");
	R.watches++;
	return 0;
}

static void hook_unwatch(struct uacce_queue *q, int pidfd, void *ctx)
{
	(void)q;
	(void)pidfd;
	(void)ctx;
	R.watches--;
}

static const struct uacce_core_hooks hooks = {
	.instances_changed = hook_instances,
	.watch_owner = hook_watch,
	.unwatch_owner = hook_unwatch,
};

/* --- the model and its invariants ---------------------------------------------- */

static bool holds_hw(enum uacce_q_state st)
{
	return st == UQ_INIT || st == UQ_STARTED;
}

static void check_invariants(void)
{
	struct core_queue_stat *qs = NULL;
	int used[NDEV] = { 0 }, live = 0, n = 0;

	for (int i = 0; i < SLOTS; i++) {
		enum uacce_q_state st;

		if (!R.s[i].q)
			continue;
		st = uq_state(R.s[i].q);
		used[R.s[i].dev] += holds_hw(st);
		live += st != UQ_DEAD;
		if (R.removed[R.s[i].dev])
			FUZZ_CHECK(st == UQ_DEAD, "queue %d alive on a removed device", i);
	}
	for (int d = 0; d < NDEV; d++) {
		int avail = ud_available_instances(R.dev[d]);

		FUZZ_CHECK(avail >= 0 && avail <= R.max[d], "dev %d: available %d of %d", d,
			   avail, R.max[d]);
		FUZZ_CHECK(avail == R.max[d] - used[d], "dev %d: available %d, model %d", d, avail,
			   R.max[d] - used[d]);
	}
	FUZZ_CHECK(core_queues(R.core, &qs, &n) == 0, "core_queues");
	FUZZ_CHECK(n == live, "core_queues lists %d, model %d", n, live);
	free(qs);
	FUZZ_CHECK(R.watches == live, "watches %d, live queues %d", R.watches, live);
}

/* --- decoding ---------------------------------------------------------------- */

static struct uacce_caller caller(struct fin *f)
{
	uint8_t sel = fin_u8(f) % 4;

	if (sel == 2)
		return (struct uacce_caller){ .tid = other, .uid = 1000, .gid = 1000 };
	if (sel == 3)	/* the main thread of this process: the owner too */
		return (struct uacce_caller){ .tid = getpid(), .uid = getuid(), .gid = getgid() };
	return fuzz_me();
}

static pid_t peer(struct fin *f)
{
	uint8_t sel = fin_u8(f) % 4;

	return sel == 2 ? other : sel == 3 ? 0 : getpid();
}

static struct slot *slot(struct fin *f)
{
	return &R.s[fin_u8(f) % SLOTS];
}

static int qtype(struct fin *f)
{
	return (int)(fin_u8(f) % (UACCE_QFRT_NR + 2)) - 1;	/* -1 .. NR */
}

static void drop_maps(struct slot *s)
{
	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		if (s->map[t])
			munmap(s->map[t], s->map_size[t]);
		s->map[t] = NULL;
	}
}

static void release(struct slot *s)
{
	uq_release(s->q);
	s->q = NULL;
	drop_maps(s);
}

/* --- steps ---------------------------------------------------------------------- */

static void do_open(struct fin *f)
{
	struct slot *s = slot(f);
	int d = fin_u8(f) % NDEV;
	struct uacce_caller who = caller(f);
	struct uacce_queue *q = NULL;
	int err;

	if (s->q)
		release(s);
	err = uq_open(R.dev[d], &who, &q);
	FUZZ_CHECK(err <= 0 && err > -4096, "open: %d", err);
	if (R.removed[d])
		FUZZ_CHECK(err == -ENODEV, "open of a removed device: %d", err);
	if (!err) {
		s->q = q;
		s->dev = d;
	}
}

static void do_ioctl(struct fin *f)
{
	static uint8_t data[1 << 14];
	struct slot *s = slot(f);
	struct uacce_caller who = caller(f);
	uint8_t kind = fin_u8(f), shape = fin_u8(f);
	struct uacce_ioctl io = { 0 };
	enum uacce_q_state before;
	enum uq_cmd cmd;
	bool owner;
	int err;

	if (!s->q)
		return;
	switch (kind % 6) {
	case 0: io.cmd = UACCE_CMD_START; break;
	case 1: io.cmd = UACCE_CMD_PUT_Q; break;
	case 2: io.cmd = DUMMY_CMD_FLUSH; break;
	case 3: io.cmd = UACCE_CMD_SHARE_SVAS; break;
	case 4: io.cmd = UACCE_CMD_GET_SS_DMA; break;
	default: io.cmd = fin_u32(f); break;
	}
	io.arg = fin_u8(f);
	io.size = shape & 1 ? fin_u16(f) % sizeof(data) : _IOC_SIZE(io.cmd);
	io.data = shape & 2 || !io.size ? NULL : data;
	if (io.data)
		fin_bytes(f, data, io.size);
	before = uq_state(s->q);
	owner = uq_check_owner(s->q, &who) == 0;
	/* the same number means another command on the mainline device */
	cmd = ud_cmd_kind(R.dev[s->dev], io.cmd);
	err = uq_ioctl(s->q, &who, &io);
	FUZZ_CHECK(err <= 0 && err > -4096, "ioctl %#x: %d", io.cmd, err);
	if (!owner)
		FUZZ_CHECK(err == -EPERM || err == -ENODEV, "ioctl by a stranger: %d", err);
	else if (cmd == UQ_CMD_START)
		FUZZ_CHECK(err == (before == UQ_INIT ? 0 : -EINVAL), "START in state %d: %d",
			   before, err);
	else if (cmd == UQ_CMD_PUT && s->dev == ML_DEV)	/* stop only */
		FUZZ_CHECK(err == 0 && uq_state(s->q) == UQ_INIT, "mainline PUT_Q in state %d: %d",
			   before, err);
	else if (cmd == UQ_CMD_PUT)
		FUZZ_CHECK(err == 0 && uq_state(s->q) == UQ_ZOMBIE, "PUT_Q: %d", err);
	else if (cmd == UQ_CMD_SHARE_SVAS)	/* only through uq_share_svas */
		FUZZ_CHECK(err == -EINVAL, "SHARE_SVAS through uq_ioctl: %d", err);
	else if (io.cmd == DUMMY_CMD_FLUSH && !(shape & 1))
		FUZZ_CHECK(err == (before == UQ_STARTED ? 0 : -EINVAL), "FLUSH in state %d: %d",
			   before, err);
}

static uint64_t map_size(struct fin *f, struct slot *s, int type)
{
	uint8_t sel = fin_u8(f) % 4;
	const struct uacce_hwdev_info *info = ud_info(R.dev[s->dev]);

	switch (sel) {
	case 0:
		return type >= 0 && type < UACCE_QFRT_NR && type != UACCE_QFRT_SS &&
		       info->qfr_size[type] ? info->qfr_size[type] : 4096;
	case 1:
		return fin_u16(f);
	case 2:
		return (uint64_t)fin_u16(f) << 12;
	default:
		return fin_u64(f);
	}
}

static void do_map(struct fin *f)
{
	struct slot *s = slot(f);
	int type = qtype(f);
	pid_t p = peer(f);
	uint64_t size, got = 0;
	int fd = -1, err;

	if (!s->q)
		return;
	size = map_size(f, s, type);
	err = uq_map(s->q, p, type, size, &fd, &got);
	FUZZ_CHECK(err <= 0 && err > -4096, "map: %d", err);
	FUZZ_CHECK(s->dev != ML_DEV || err, "UB_MAP on a mainline device");
	if (err) {
		FUZZ_CHECK(fd == -1, "an fd with an error");
		return;
	}
	FUZZ_CHECK(p == uq_owner_tgid(s->q), "map for peer %d", (int)p);
	FUZZ_CHECK(got == size, "map of %llu gave %llu", (unsigned long long)size,
		   (unsigned long long)got);
	FUZZ_CHECK(type == UACCE_QFRT_DKO ? fd == -1 : fd >= 0, "map type %d: fd %d", type, fd);
	if (fd < 0)
		return;
	if (got <= MAP_MAX && !s->map[type]) {
		void *m = mmap(NULL, got, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (m != MAP_FAILED) {
			s->map[type] = m;
			s->map_size[type] = got;
		}
	}
	close(fd);
}

/* uq_mmap (UB_MMAP): the region by offset, per the device's profile */
static void do_mmap(struct fin *f)
{
	struct slot *s = slot(f);
	pid_t p = peer(f);
	uint8_t sel = fin_u8(f) % 4;
	uint64_t off[UACCE_QFRT_NR], offset, size, got = 0, rsize;
	int fd = -1, type = -1, err;
	bool ml;

	if (!s->q)
		return;
	ml = s->dev == ML_DEV;
	ud_qfrs_offset(R.dev[s->dev], off);
	if (sel == 0)
		offset = (uint64_t)(fin_u8(f) % 3) << 12;	/* mainline page offsets 0..2 */
	else if (sel == 1)
		offset = off[fin_u8(f) % UACCE_QFRT_NR];	/* v4 byte offsets */
	else if (sel == 2)
		offset = fin_u16(f);
	else
		offset = fin_u64(f);
	size = map_size(f, s, ml && offset == 4096 ? UACCE_QFRT_DUS : UACCE_QFRT_MMIO);
	err = uq_mmap(s->q, p, offset, size, &fd, &got, &type);
	FUZZ_CHECK(err <= 0 && err > -4096, "mmap: %d", err);
	if (err) {
		FUZZ_CHECK(fd == -1, "an fd with an error");
		return;
	}
	FUZZ_CHECK(p == uq_owner_tgid(s->q), "mmap for peer %d", (int)p);
	FUZZ_CHECK(type >= 0 && type < UACCE_QFRT_NR, "mmap gave type %d", type);
	rsize = ud_info(R.dev[s->dev])->qfr_size[type];
	if (ml) {
		FUZZ_CHECK(offset % 4096 == 0 && offset < 8192 &&
			   type == (offset ? UACCE_QFRT_DUS : UACCE_QFRT_MMIO),
			   "mainline offset %#llx gave type %d", (unsigned long long)offset, type);
		FUZZ_CHECK(got % 4096 == 0 && got >= size && got - size < 4096 &&
			   (type == UACCE_QFRT_DUS ? got == rsize : got <= rsize),
			   "mainline map of %llu gave %llu (region %llu)", (unsigned long long)size,
			   (unsigned long long)got, (unsigned long long)rsize);
	} else {
		FUZZ_CHECK(off[type] == offset, "v4 offset %#llx gave type %d",
			   (unsigned long long)offset, type);
	}
	if (fd < 0)
		return;
	if (got <= MAP_MAX && !s->map[type]) {
		void *m = mmap(NULL, got, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (m != MAP_FAILED) {
			s->map[type] = m;
			s->map_size[type] = got;
		}
	}
	close(fd);
}

static void do_mapped(struct fin *f)
{
	struct slot *s = slot(f);
	int type = qtype(f);
	pid_t p = peer(f);
	uint8_t sel = fin_u8(f) % 4;
	uint64_t addr;
	int err;

	if (!s->q)
		return;
	if (sel == 0 && type >= 0 && type < UACCE_QFRT_NR && s->map[type])
		addr = (uint64_t)(uintptr_t)s->map[type];
	else if (sel == 1)
		addr = (uint64_t)fin_u32(f) << 12;
	else if (sel == 2)
		addr = 0;
	else
		addr = fin_u64(f);
	err = uq_mapped(s->q, p, type, addr);
	FUZZ_CHECK(err <= 0 && err > -4096, "mapped: %d", err);
	if (!err)
		FUZZ_CHECK(addr && addr % 4096 == 0, "mapped at %#llx", (unsigned long long)addr);
}

static void do_share(struct fin *f)
{
	struct slot *a = slot(f), *b = slot(f);
	struct uacce_caller who = caller(f);
	int err;

	if (!a->q || !b->q)
		return;
	err = uq_share_svas(a->q, &who, b->q);
	FUZZ_CHECK(err <= 0 && err > -4096, "share: %d", err);
	if (a == b)
		FUZZ_CHECK(err, "a queue shared its own SS");
}

static void do_lookup(struct fin *f)
{
	struct slot *s = slot(f);
	uint64_t id = fin_u8(f) & 1 || !s->q ? fin_u8(f) : uq_id(s->q);
	struct uacce_queue *q = core_get_queue(R.core, id);

	if (q) {
		FUZZ_CHECK(uq_id(q) == id, "lookup of %llu", (unsigned long long)id);
		uq_unref(q);
	}
}

static void do_snapshots(void)
{
	struct core_dev_stat *ds = NULL;
	struct core_user_stat *us = NULL;
	int nd = 0, nu = 0, want = 0;

	for (int d = 0; d < NDEV; d++)
		want += !R.removed[d];
	FUZZ_CHECK(core_devices(R.core, &ds, &nd) == 0 && nd == want, "core_devices: %d", nd);
	for (int i = 0; i < nd; i++)
		FUZZ_CHECK(ds[i].available >= 0 && ds[i].available <= ds[i].info.max_queues,
			   "core_devices: available %d", ds[i].available);
	FUZZ_CHECK(core_usage(R.core, &us, &nu) == 0, "core_usage");
	for (int i = 0; i < nu; i++)
		FUZZ_CHECK(us[i].queues >= 0 && us[i].dev_queues <= us[i].queues,
			   "core_usage: %d queues, %d on one device", us[i].queues, us[i].dev_queues);
	free(ds);
	free(us);
}

static void step(struct fin *f)
{
	uint8_t op = fin_u8(f);
	struct uacce_caller who;
	struct slot *s;
	unsigned mask;
	int err;

	switch (op % 16) {
	case 0:
	case 1:
		do_open(f);
		break;
	case 2:
	case 3:
	case 4:
		do_ioctl(f);
		break;
	case 5:
		do_map(f);
		break;
	case 6:
		do_mmap(f);
		break;
	case 7:
		do_mapped(f);
		break;
	case 8:
		s = slot(f);
		if (s->q) {
			int type = qtype(f);

			err = uq_unmap(s->q, peer(f), type);
			FUZZ_CHECK(err <= 0 && err > -4096, "unmap: %d", err);
		}
		break;
	case 9:
		s = slot(f);
		who = caller(f);
		if (s->q) {
			err = uq_poll(s->q, &who, &mask);
			FUZZ_CHECK(err <= 0 && err > -4096 && (err == 0 || mask == 0), "poll: %d",
				   err);
		}
		break;
	case 10:
		s = slot(f);
		if (s->q)
			release(s);
		break;
	case 11:
		s = slot(f);
		if (s->q) {
			uq_owner_died(s->q);
			FUZZ_CHECK(uq_state(s->q) == UQ_DEAD, "alive after its owner died");
		}
		break;
	case 12:
		do_share(f);
		break;
	case 13:
		s = slot(f);
		if (s->q) {
			pid_t p = peer(f);

			err = uq_attach(s->q, p);
			FUZZ_CHECK(err <= 0 && err > -4096, "attach: %d", err);
			err = uq_owner_getfd(s->q, fin_u8(f) % 8);
			if (err >= 0)
				close(err);
		}
		break;
	case 14:
		if (op & 0x80)
			do_lookup(f);
		else
			do_snapshots();
		break;
	default: {	/* remove a device: its queues are revoked (ENODEV) */
		int d = fin_u8(f) % NDEV;

		if (!R.removed[d] && op & 0x80) {
			core_remove_device(R.dev[d]);
			R.removed[d] = true;
		}
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	const struct uacce_backend_ops *soft = uacce_backend_find("soft");
	static const char *const api[NDEV] = { "dummy_v1", "dummy_v2", "dummy_v2" };
	uint8_t cfg = fin_u8(&f);
	struct core_queue_stat *qs = NULL;
	int n = -1;

	memset(&R, 0, sizeof(R));
	FUZZ_CHECK(soft && core_new(&hooks, &R.core) == 0, "core");
	for (int d = 0; d < NDEV; d++) {
		struct uacce_dev_cfg dc = { .name = "dummy", .backend = "soft", .api = api[d],
					    .sva = d == 1, .queues = 1 + ((cfg >> (2 * d)) & 3),
					    .abi = d == ML_DEV ? UACCE_ABI_MAINLINE : UACCE_ABI_V4 };

		R.max[d] = dc.queues;
		FUZZ_CHECK(core_add_device(R.core, soft, &dc, d, &R.dev[d]) == 0, "device %d", d);
	}
	check_invariants();
	for (int i = 0; i < 400 && fin_more(&f); i++) {
		step(&f);
		check_invariants();
	}
	for (int i = 0; i < SLOTS; i++)
		if (R.s[i].q)
			release(&R.s[i]);
	for (int d = 0; d < NDEV; d++)
		FUZZ_CHECK(ud_available_instances(R.dev[d]) == R.max[d], "dev %d: %d of %d left", d,
			   ud_available_instances(R.dev[d]), R.max[d]);
	FUZZ_CHECK(core_queues(R.core, &qs, &n) == 0 && n == 0, "%d queues left", n);
	free(qs);
	FUZZ_CHECK(R.watches == 0, "%d owner watches left", R.watches);
	for (int d = 0; d < NDEV; d++) {
		if (!R.removed[d])
			core_remove_device(R.dev[d]);
		ud_unref(R.dev[d]);
	}
	core_free(R.core);
	return 0;
}
