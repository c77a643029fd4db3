/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-contention.c - uacce-bench's contention figure.
 *
 * Phase 1 (idle): open + UACCE_CMD_START + close on o->device, o->samples
 * times or for o->seconds, whichever ends first, each timed.  Phase 2 (flood): a forked child opens o->flood_device
 * (a dummy device), fills its ring with o->copies copies of o->copy_size
 * bytes and issues DUMMY_CMD_FLUSH, again and again, while this process
 * repeats phase 1's measurement.  The child tells the parent over a
 * socketpair when its first FLUSH is done (the flood is running and its
 * memory touched), and stops at the parent's word with its FLUSH count
 * and time; it dies with the parent (PR_SET_PDEATHSIG).
 *
 * Non-SVA flood device: the copies run inside the queue's SS (2 x copy
 * size); SVA: between two malloc buffers.  Either way the size is halved
 * until twice it fits in half of RLIMIT_DATA (the daemon charges the SS to
 * the owner's limit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uacce/dummy_usr_if.h>
#include <uacce/libuacce.h>

#include "bench-util.h"
#include "bench-contention.h"
#include "bench-lifecycle.h"

#define WARMUP		3	/* untimed lifecycles before each phase */
#define MSG_WAIT_MS	120000	/* longest wait for the child's word */

/* --- the measured side ----------------------------------------------------- */

static int lifecycle(const char *dev)
{
	return bench_lifecycle_once(dev, false);	/* bench-lifecycle.c */
}

static int measure(const char *dev, unsigned max, double seconds, struct contention_lat *out)
{
	uint64_t *t = calloc(max, sizeof(*t)), end;
	int err = t ? 0 : -ENOMEM;
	unsigned n = 0;

	for (unsigned i = 0; i < WARMUP && !err; i++)
		err = lifecycle(dev);
	end = bench_now_ns() + (uint64_t)(seconds * 1e9);
	while (n < max && !err && (n == 0 || bench_now_ns() < end)) {
		uint64_t s = bench_now_ns();

		err = lifecycle(dev);
		t[n++] = bench_now_ns() - s;
	}
	if (!err) {
		out->n = n;
		qsort(t, n, sizeof(*t), bench_cmp_u64);
		out->p50_us = t[n / 2] / 1e3;
		out->p99_us = t[(uint64_t)n * 99 / 100] / 1e3;
		out->max_us = t[n - 1] / 1e3;
		out->ok = true;
	}
	free(t);
	return err;
}

/* --- the flood (the child) --------------------------------------------------- */

enum { FLOOD_READY = 1, FLOOD_DONE };

/* child -> parent; parent -> child is one byte: stop */
struct flood_msg {
	int kind;
	int err;
	uint64_t copy_size;
	uint64_t flushes, flush_ns, max_ns, window_ns;
};

struct flood {
	struct uacce_q *q;
	bool sva;
	struct dummy_hw_queue_reg *reg;	/* MMIO (dummy_v1) or DUS (dummy_v2) */
	volatile uint64_t *doorbell;	/* dummy_v2: MMIO */
	char *src, *dst;
	uint32_t head;
};

static int flood_setup(struct flood *f, const char *dev, uint64_t size)
{
	uint64_t off, len;
	void *mmio = NULL, *dus = NULL, *ss;
	int err = uacce_queue_open(dev, &f->q);

	if (err)
		return err;
	if (strncmp(uacce_queue_api(f->q), "dummy_", 6) != 0)
		return -EINVAL;	/* the ring below is the dummy device's */
	f->sva = uacce_queue_flags(f->q) & UACCE_DEV_SVA;
	err = uacce_queue_start(f->q);
	if (!err)
		err = uacce_region_info(f->q, UACCE_QFRT_MMIO, &off, &len);
	if (!err)
		err = uacce_map_region(f->q, UACCE_QFRT_MMIO, len, &mmio);
	if (!err && uacce_region_info(f->q, UACCE_QFRT_DUS, &off, &len) == 0)
		err = uacce_map_region(f->q, UACCE_QFRT_DUS, len, &dus);
	if (err)
		return err;
	if (f->sva) {
		f->src = malloc(size);
		f->dst = malloc(size);
		if (!f->src || !f->dst)
			return -ENOMEM;
	} else {
		err = uacce_map_region(f->q, UACCE_QFRT_SS, 2 * size, &ss);
		if (err)
			return err;
		f->src = ss;
		f->dst = f->src + size;
	}
	memset(f->src, 0x5a, size);
	f->reg = dus ? dus : mmio;
	f->doorbell = dus ? mmio : NULL;
	f->head = __atomic_load_n(&f->reg->head, __ATOMIC_ACQUIRE) % Q_BDS;
	return 0;
}

/* fill the ring with `copies` copies, FLUSH, wait until all are done */
static int flood_round(struct flood *f, unsigned copies, uint64_t size, uint64_t *ns)
{
	uint32_t first = f->head;
	uint64_t t;
	int err = 0;

	for (unsigned i = 0; i < copies; i++) {
		struct wd_dummy_cpy_msg *m = &f->reg->ring[f->head];

		m->src_addr = f->src;
		m->tgt_addr = f->dst;
		m->size = size;
		m->ptr = (void *)(uintptr_t)(i + 1);
		m->ret = 0xffffffffu;	/* the device overwrites it */
		f->head = (f->head + 1) % Q_BDS;
	}
	__atomic_store_n(&f->reg->head, f->head, __ATOMIC_RELEASE);
	if (f->doorbell)
		*f->doorbell = 1;
	t = bench_now_ns();
	if (ioctl(uacce_queue_fd(f->q), DUMMY_CMD_FLUSH, 0) < 0)
		err = -errno;
	*ns = bench_now_ns() - t;
	/* FLUSH processes the ring; should the device's worker have it, wait */
	for (int w = 0; !err && w < 600 &&
	     __atomic_load_n(&f->reg->tail, __ATOMIC_ACQUIRE) != f->head; w++) {
		int r = uacce_queue_wait(f->q, 100);

		err = r < 0 ? r : 0;
	}
	if (!err && __atomic_load_n(&f->reg->tail, __ATOMIC_ACQUIRE) != f->head)
		err = -ETIMEDOUT;
	for (uint32_t i = first; !err && i != f->head; i = (i + 1) % Q_BDS)
		if (f->reg->ring[i].ret)
			err = -(int)f->reg->ring[i].ret;
	return err;
}

static bool stop_asked(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	return poll(&p, 1, 0) != 0;	/* the stop byte, a hang-up, or an error */
}

static void flood_child(int sock, const struct contention_opts *o, uint64_t size)
{
	struct flood f = { 0 };
	struct flood_msg m = { .kind = FLOOD_READY, .copy_size = size };
	uint64_t ns, t0;

	m.err = flood_setup(&f, o->flood_device, size);
	if (!m.err)	/* the first round touches the memory: not counted */
		m.err = flood_round(&f, o->copies, size, &ns);
	if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m) || m.err)
		goto out;
	t0 = bench_now_ns();
	while (!stop_asked(sock)) {
		m.err = flood_round(&f, o->copies, size, &ns);
		if (m.err)
			break;
		m.flushes++;
		m.flush_ns += ns;
		if (ns > m.max_ns)
			m.max_ns = ns;
	}
	m.window_ns = bench_now_ns() - t0;
	m.kind = FLOOD_DONE;
	if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m))
		m.err = -EPIPE;
out:
	uacce_queue_close(f.q);
	if (f.sva) {
		free(f.src);
		free(f.dst);
	}
	_exit(m.err ? 1 : 0);
}

/* --- the parent's side of the flood -------------------------------------------- */

static int recv_msg(int sock, int kind, struct flood_msg *m)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, MSG_WAIT_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = recv(sock, m, sizeof(*m), 0);
	if (n < 0)
		return -errno;
	if (n != sizeof(*m) || m->kind != kind)
		return -EPIPE;	/* the child died or said something else */
	return 0;
}

/* twice the size in at most half the data limit: the SS is charged to it */
static uint64_t fit_rlimit(uint64_t size)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		while (size > 4096 && 2 * size > (uint64_t)rl.rlim_cur / 2)
			size /= 2;
	return size;
}

static int flood_phase(const struct contention_opts *o, struct contention_result *r)
{
	struct flood_msg m;
	pid_t parent = getpid(), pid;
	int sv[2], err, stop_err = 0, rerr;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		flood_child(sv[1], o, r->copy_size);
	}
	close(sv[1]);
	err = recv_msg(sv[0], FLOOD_READY, &m);
	if (!err)
		err = m.err;
	if (!err) {
		err = measure(o->device, o->samples, o->seconds, &r->flood);
		if (send(sv[0], "s", 1, MSG_NOSIGNAL) != 1)
			stop_err = -errno;
		/*
		 * The child's last word, also when it ended before the stop
		 * (its error then says why, rather than the send's)
		 */
		rerr = recv_msg(sv[0], FLOOD_DONE, &m);
		if (!rerr)
			stop_err = m.err;
		else if (!stop_err)
			stop_err = rerr;
		if (!stop_err) {
			r->flushes = m.flushes;
			r->flush_mean_ms = m.flushes ? m.flush_ns / 1e6 / m.flushes : 0;
			r->flush_max_ms = m.max_ns / 1e6;
			r->flood_seconds = m.window_ns / 1e9;
			r->flood_busy = m.window_ns ? (double)m.flush_ns / m.window_ns : 0;
		}
		if (!err)
			err = stop_err;
	}
	close(sv[0]);
	if (err == -ETIMEDOUT || stop_err == -ETIMEDOUT)
		kill(pid, SIGKILL);	/* a FLUSH that never returns */
	waitpid(pid, NULL, 0);
	return err;
}

int contention_bench_run(const struct contention_opts *o, struct contention_result *r)
{
	memset(r, 0, sizeof(*r));
	r->copy_size = fit_rlimit(o->copy_size);
	r->err = measure(o->device, o->samples, o->seconds, &r->idle);
	if (!r->err)
		r->err = flood_phase(o, r);
	return r->err;
}

double contention_ratio_p99(const struct contention_result *r)
{
	return r->idle.ok && r->flood.ok && r->idle.p99_us > 0 ? r->flood.p99_us / r->idle.p99_us
								 : -1;
}

double contention_ratio_p50(const struct contention_result *r)
{
	return r->idle.ok && r->flood.ok && r->idle.p50_us > 0 ? r->flood.p50_us / r->idle.p50_us
								 : -1;
}

/* --- output ------------------------------------------------------------------- */

static void print_lat_json(const char *name, const struct contention_lat *l)
{
	if (l->ok)
		printf("\"%s\":{\"samples\":%u,\"p50_us\":%.3f,\"p99_us\":%.3f,\"max_us\":%.3f},",
		       name, l->n, l->p50_us, l->p99_us, l->max_us);
	else
		printf("\"%s\":null,", name);
}

void contention_bench_print_json(const struct contention_opts *o,
				 const struct contention_result *r)
{
	printf("\"contention\":{\"device\":\"%s\",\"flood_device\":\"%s\",\"samples\":%u,"
	       "\"seconds\":%.1f,\"flood_copy_bytes\":%llu,\"flood_copies_per_flush\":%u,",
	       o->device, o->flood_device, o->samples, o->seconds,
	       (unsigned long long)r->copy_size, o->copies);
	print_lat_json("idle", &r->idle);
	print_lat_json("flood", &r->flood);
	printf("\"ratio_p99_flood_to_idle\":%.4f,\"ratio_p50_flood_to_idle\":%.4f,",
	       contention_ratio_p99(r), contention_ratio_p50(r));
	printf("\"flood_flushes\":%llu,\"flood_flush_mean_ms\":%.3f,\"flood_flush_max_ms\":%.3f,"
	       "\"flood_seconds\":%.3f,\"flood_busy_fraction\":%.4f,\"error\":%d}",
	       (unsigned long long)r->flushes, r->flush_mean_ms, r->flush_max_ms,
	       r->flood_seconds, r->flood_busy, r->err);
}

static void print_lat(const char *name, const struct contention_lat *l)
{
	if (l->ok)
		printf("  %-16s %4u x  p50 %10.1f us   p99 %10.1f us   max %10.1f us\n", name,
		       l->n, l->p50_us, l->p99_us, l->max_us);
	else
		printf("  %-24s (not measured)\n", name);
}

void contention_bench_print_table(const struct contention_opts *o,
				  const struct contention_result *r)
{
	printf("contention: open + START + close on %s (%u times or %.0f s), idle and while "
	       "a client floods FLUSH on %s (%u x %.1f MiB per FLUSH):\n",
	       o->device, o->samples, o->seconds, o->flood_device, o->copies,
	       r->copy_size / 1048576.0);
	print_lat("idle daemon", &r->idle);
	print_lat("under the flood", &r->flood);
	printf("  flood / idle: p99 %.2f, p50 %.2f\n", contention_ratio_p99(r),
	       contention_ratio_p50(r));
	printf("  the flood: %llu FLUSHes in %.2f s, mean %.1f ms, max %.1f ms, "
	       "%.0f %% of the time inside FLUSH\n",
	       (unsigned long long)r->flushes, r->flood_seconds, r->flush_mean_ms,
	       r->flush_max_ms, 100 * r->flood_busy);
	if (r->err)
		printf("  error: %s\n", strerror(-r->err));
}
