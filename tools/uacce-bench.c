/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uacce-bench - measure uacced and its devices in one run, side by side:
 * 4 KiB round trips through the dummy devices, through a Unix socket to a
 * helper process (what a user would build instead) and plain memcpy; queue
 * lifecycles per second from N threads next to a plain open + close of a
 * null file on the daemon's transport (bench-lifecycle.c); the daemon's CPU use with idle open queues;
 * compression throughput of 1 MiB buffers through the zip device on one
 * and two queues against zlib and libdeflate called in-process on one and
 * two threads (bench-zip.c); with --contention, the latency of open +
 * START + close on one device, idle and while another client floods FLUSH
 * with large copies on a second (bench-contention.c).
 * Prints a table, or one JSON object with --json.  Ratios between figures
 * of one run are meaningful; absolute numbers depend on the machine.  On a
 * terminal a progress line on stderr names each measurement as it starts
 * (bench-progress.c); --plot draws the results as SVG (bench-plot.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uacce/dummy_usr_if.h>
#include <uacce/libuacce.h>
#include <uacce/wd.h>

#include "config.h"	/* autoconf: PACKAGE_VERSION */
#include "bench-util.h"
#include "bench-contention.h"
#include "bench-plot.h"
#include "bench-progress.h"
#include "bench-lifecycle.h"
#include "bench-restart.h"
#include "bench-zip.h"

struct lat {
	double p50_us, p99_us, per_second;
	double q[PLOT_QUANTILES];	/* the distribution: 0, 1, ..., 100 % (us) */
	bool ok;
};

static void summarize(uint64_t *t, unsigned n, uint64_t total, struct lat *out)
{
	qsort(t, n, sizeof(*t), bench_cmp_u64);
	out->p50_us = t[n / 2] / 1e3;
	out->p99_us = t[(uint64_t)n * 99 / 100] / 1e3;
	out->per_second = n / (total / 1e9);
	for (unsigned k = 0; k < PLOT_QUANTILES; k++)
		out->q[k] = t[k == PLOT_QUANTILES - 1 ? n - 1 : (uint64_t)n * k / 100] / 1e3;
	out->ok = true;
}

static void bench_memcpy(unsigned n, struct lat *out)
{
	char *a = malloc(4096), *b = malloc(4096);
	uint64_t *t = calloc(n, sizeof(*t)), t0 = bench_now_ns();

	memset(a, 1, 4096);
	for (unsigned i = 0; i < n; i++) {
		uint64_t s = bench_now_ns();

		a[i % 4096] = (char)i;
		memcpy(b, a, 4096);
		__asm__ __volatile__("" : : "r"(b) : "memory");
		t[i] = bench_now_ns() - s;
	}
	summarize(t, n, bench_now_ns() - t0, out);
	free(a);
	free(b);
	free(t);
}

static void bench_socket(unsigned n, struct lat *out)
{
	char buf[4096] = { 0 };
	uint64_t *t = calloc(n, sizeof(*t)), t0;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		char in[4096];
		ssize_t r;

		close(sv[0]);
		while ((r = read(sv[1], in, sizeof(in))) > 0)
			if (write(sv[1], in, (size_t)r) != r)
				break;
		_exit(0);
	}
	close(sv[1]);
	t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++) {
		uint64_t s = bench_now_ns();

		buf[0] = (char)i;
		if (write(sv[0], buf, sizeof(buf)) != sizeof(buf) ||
		    read(sv[0], buf, sizeof(buf)) != sizeof(buf))
			break;
		t[i] = bench_now_ns() - s;
	}
	summarize(t, n, bench_now_ns() - t0, out);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	free(t);
}

/* copies of `size` bytes (0: the ring's hand-off alone) */
/* SVA with `shared`: the buffers in memory shared with the device (uacce_share_alloc) */
static int bench_dummy(const char *dev, unsigned n, uint32_t size, bool shared, struct lat *out)
{
	struct wd_queue q = { .capa.alg = "memcpy" };
	uint64_t *t, t0;
	char *src, *dst;
	bool sva;
	int err;

	snprintf(q.dev_path, sizeof(q.dev_path), "%s", dev);
	err = wd_request_queue(&q);
	if (err)
		return err;
	sva = q.dev_flags & UACCE_DEV_SVA;
	if (sva && shared) {
		void *p;

		err = uacce_share_alloc(q.uq, 8192, &p);
		if (err) {
			wd_release_queue(&q);
			return err;
		}
		src = p;
		dst = src + 4096;
	} else if (sva) {
		src = malloc(4096);
		dst = malloc(4096);
	} else {
		src = wd_reserve_memory(&q, 8192);
		if (!src) {
			err = -errno;
			wd_release_queue(&q);
			return err;
		}
		dst = src + 4096;
	}
	memset(src, 7, 4096);
	t = calloc(n, sizeof(*t));
	t0 = bench_now_ns();
	for (unsigned i = 0; i < n && !err; i++) {
		struct wd_dummy_cpy_msg m = { .src_addr = src, .tgt_addr = dst, .size = size,
					      .ptr = (void *)(uintptr_t)(i + 1) };
		void *resp;
		uint64_t s = bench_now_ns();

		src[i % 4096] = (char)i;
		err = wd_send(&q, &m);
		if (!err)
			err = wd_recv_sync(&q, &resp, 5000);
		err = err < 0 ? err : 0;
		t[i] = bench_now_ns() - s;
	}
	if (!err)
		summarize(t, n, bench_now_ns() - t0, out);
	free(t);
	if (sva && shared) {
		munmap(src, 8192);
	} else if (sva) {
		free(src);
		free(dst);
	}
	wd_release_queue(&q);
	return err;
}

static long daemon_pid(void)
{
	char path[512];
	FILE *f;
	long pid = -1;

	snprintf(path, sizeof(path), "%s/uacced.pid", uacce_runtime_dir());
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* user+system CPU seconds of a process */
static double cpu_seconds(long pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			 &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* queues alternate between the two dummy devices (8 hardware queues each) */
static double bench_idle(int nq, double seconds, int *errp)
{
	struct uacce_q **qs = calloc((size_t)nq, sizeof(*qs));
	long pid = daemon_pid();
	double c0, c1, pct = -1;
	int opened = 0;

	*errp = 0;
	for (; opened < nq; opened++) {
		const char *dev = opened % 2 ? "uacce-dummy-0" : "uacce-dummy-1";

		*errp = uacce_queue_open(dev, &qs[opened]);
		if (!*errp)
			*errp = uacce_queue_start(qs[opened]);
		if (*errp) {
			if (qs[opened])
				uacce_queue_close(qs[opened]);
			break;
		}
	}
	if (!*errp && pid > 0) {
		usleep(1200000);	/* let the workers reach their idle sleep */
		c0 = cpu_seconds(pid);
		usleep((useconds_t)(seconds * 1e6));
		c1 = cpu_seconds(pid);
		if (c0 >= 0 && c1 >= 0)
			pct = 100.0 * (c1 - c0) / seconds;
	} else if (pid <= 0) {
		*errp = -ESRCH;
	}
	for (int i = 0; i < opened; i++)
		uacce_queue_close(qs[i]);
	free(qs);
	return pct;
}

static void print_lat_json(const char *name, const struct lat *l, bool comma)
{
	if (l->ok)
		printf("\"%s\":{\"p50_us\":%.3f,\"p99_us\":%.3f,\"per_second\":%.0f}%s", name,
		       l->p50_us, l->p99_us, l->per_second, comma ? "," : "");
	else
		printf("\"%s\":null%s", name, comma ? "," : "");
}

/* the targets, as booleans over this run's ratios (null: not measured) */
static void print_target(const char *name, bool measured, bool met)
{
	printf("\"%s\":%s,", name, !measured ? "null" : met ? "true" : "false");
}

static void print_targets_json(const struct lat *sock, const struct lat *d0, const struct lat *d1,
			       const struct lat *d1s, double idle, const struct zip_bench_result *zr,
			       const struct contention_result *cr, const struct lifecycle_result *lr)
{
	printf("\"targets\":{");
	/* issue 14 item 3 */
	print_target("lifecycles_ge_10000_per_s", lr && !lr->err, lr && !lr->err &&
		     lr->per_s >= 10000);
	print_target("zip_1q_ge_0.9_best_inprocess_1t_l6", zr && zip_ratio_1q(&zr->lv[0]) > 0,
		     zr && zip_ratio_1q(&zr->lv[0]) >= 0.9);
	print_target("zip_2q_ge_1.6_1q_l6", zr && zip_ratio_2q(&zr->lv[0]) > 0,
		     zr && zip_ratio_2q(&zr->lv[0]) >= 1.6);
	/* issue 14's "done when": at equal or better ratio, levels 1 and 6; decompression */
	for (int l = 0; l < 2; l++) {
		const char *nm;
		double q = zr ? zip_ratio_1q_equal_ratio(&zr->lv[l], &nm) : -1;
		char key[48];

		/* lv[0]: level 6, lv[1]: level 1 (zip_bench_run) */
		snprintf(key, sizeof(key), "zip_1q_ge_0.9_fastest_equal_ratio_l%d", l ? 1 : 6);
		print_target(key, q > 0, q >= 0.9);
		if (l == 1)
			print_target("zip_2q_ge_1.6_1q_l1", zr && zip_ratio_2q(&zr->lv[l]) > 0,
				     zr && zip_ratio_2q(&zr->lv[l]) >= 1.6);
	}
	{
		const char *nm;
		double q = zr ? zip_ratio_dec(zr, &nm) : -1;

		print_target("zip_dec_1q_ge_0.9_fastest_inprocess", q > 0, q >= 0.9);
	}
	print_target("dummy_sva_p50_le_0.2_socket", d1->ok && sock->ok,
		     d1->ok && sock->ok && d1->p50_us <= 0.2 * sock->p50_us);
	/* issue 14 item 4 */
	print_target("dummy_sva_p50_le_2us", d1->ok, d1->ok && d1->p50_us <= 2.0);
	print_target("dummy_sva_p50_le_0.05_socket", d1->ok && sock->ok,
		     d1->ok && sock->ok && d1->p50_us <= 0.05 * sock->p50_us);
	/* the same, buffers in memory shared with the device (UB_SHARE) */
	print_target("dummy_sva_shared_p50_le_2us", d1s->ok, d1s->ok && d1s->p50_us <= 2.0);
	print_target("dummy_sva_shared_p50_le_0.05_socket", d1s->ok && sock->ok,
		     d1s->ok && sock->ok && d1s->p50_us <= 0.05 * sock->p50_us);
	print_target("dummy_nonsva_p50_le_0.2_socket", d0->ok && sock->ok,
		     d0->ok && sock->ok && d0->p50_us <= 0.2 * sock->p50_us);
	print_target("contention_p99_le_2x_idle", cr && contention_ratio_p99(cr) > 0,
		     cr && contention_ratio_p99(cr) <= 2.0);
	printf("\"idle_cpu_lt_1pct\":%s},", idle < 0 ? "null" : idle < 1.0 ? "true" : "false");
}

static void print_lat(const char *name, const struct lat *l)
{
	if (l->ok)
		printf("  %-34s p50 %8.2f us   p99 %8.2f us   %10.0f /s\n", name, l->p50_us,
		       l->p99_us, l->per_second);
	else
		printf("  %-34s (not measured)\n", name);
}

static void print_table(unsigned n, const struct lat *mc, const struct lat *sock,
			const struct lat *d0, const struct lat *d1, const struct lat *d1e,
			const struct lat *d1s, int idle_q, double idle_s, double idle, int ei)
{
	printf("uacce-bench: 4 KiB round trips, %u each\n", n);
	print_lat("memcpy in process", mc);
	print_lat("Unix socket to a helper process", sock);
	print_lat("uacce-dummy-0 (non-SVA, SS)", d0);
	print_lat("uacce-dummy-1 (SVA, malloc)", d1);
	print_lat("uacce-dummy-1 (SVA, shared memfd)", d1s);
	print_lat("uacce-dummy-1, 0 bytes (hand-off)", d1e);
	if (d1->ok && sock->ok)
		printf("  dummy SVA p50 / socket p50 = %.3f, non-SVA = %.3f\n",
		       d1->p50_us / sock->p50_us, d0->ok ? d0->p50_us / sock->p50_us : -1);
	printf("daemon CPU with %d idle started queues over %.0f s: %.3f %% of one core%s\n",
	       idle_q, idle_s, idle, ei ? " (error)" : "");
}

/* a byte count with an optional K, M or G (binary) suffix; 0 when invalid */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	unsigned shift = 0;

	if (end == s)
		return 0;
	switch (*end) {
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return 0;
	}
	if (shift && end[1])
		return 0;
	return v > (UINT64_MAX >> shift) ? 0 : (uint64_t)v << shift;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: uacce-bench [OPTION]...\n"
		"Measure uacced and its devices next to what a program would do without\n"
		"them, in one run: a table, or one JSON object with --json.\n\n"
		"Output:\n"
		"  -j, --json                one JSON object on stdout instead of the table\n"
		"      --plot FILE.svg       also draw compression throughput per queue count and\n"
		"                            the round-trip latency distribution as SVG\n"
		"      --progress            a progress line on stderr even with --json\n"
		"                            (always a terminal only)\n"
		"      --quiet               no progress line\n"
		"  -h, --help                this help\n"
		"  -V, --version             the version\n\n"
		"Round trips and idle CPU:\n"
		"  -n, --count N             4 KiB round trips per path (default 20000, >= 100)\n"
		"  -i, --idle-queues N       started queues held idle while the daemon's CPU\n"
		"                            is measured (default 8)\n"
		"  -s, --idle-seconds S      how long the daemon's idle CPU is measured (10)\n"
		"  -q, --quick               a short run (about a minute): 2000 round trips,\n"
		"                            2 s idle, one 0.5 s round per codec, 8 MiB corpus\n\n"
		"Compression (the zip device against zlib, libdeflate, ISA-L in-process):\n"
		"      --zip-device DEV      the zip device (default: the first)\n"
		"      --hisi-device DEV     a hisi_qm_v2 zip device (default: the first, if any)\n"
		"      --corpus FILE         compress FILE (default: license texts and man pages)\n"
		"      --zip-seconds S       seconds per measurement (default 1, >= 0.05)\n"
		"      --zip-rounds N        measurements per figure, the best counts (3)\n"
		"      --zip-sva-heap        an SVA zip device's buffers from the heap (the\n"
		"                            kernel copies them), not memory shared with it\n"
		"      --zip-only            compression only\n"
		"      --no-zip              no compression\n\n"
		"Contention (open+START+close latency, idle and beside a flood of copies):\n"
		"      --contention          measure it too\n"
		"      --contention-only     measure it alone\n"
		"      --contention-samples N  lifecycles per phase (default 200, --quick 50)\n"
		"      --contention-seconds S  at most this long per phase (30, --quick 5)\n"
		"      --contention-device DEV the device measured (uacce-dummy-1)\n"
		"      --flood-device DEV    the device flooded (uacce-dummy-0)\n"
		"      --flood-size BYTES    bytes per copy, K/M/G suffixes (64M, --quick 16M)\n"
		"      --flood-copies N      copies per FLUSH (15)\n\n"
		"Queue lifecycles (open+START+close next to a null file's open+close):\n"
		"      --lifecycle-only      measure them alone\n"
		"      --lifecycle-threads N client threads (default 2, 1 to 64)\n"
		"      --lifecycle-seconds S seconds per figure (2, >= 0.1)\n"
		"      --lifecycle-device DEV the device (uacce-dummy-1)\n"
		"Live restart (uacced(8); root or the admin group: uaccectl restart):\n"
		"      --restarts N          restart uacced N times under a client doing 4 KiB\n"
		"                            round trips and report the pause it sees\n"
		"      --restart-only        measure that alone\n"
		"      --restart-device DEV  the client's device (uacce-dummy-1)\n");
}

/* what a device error means, on stderr: no daemon, a closed runtime dir... */
static void explain_errors(int e0, int e1, int el, int ei, int ez, int ec, const char *zipdev)
{
	const struct { int err; const char *dev; } e[] = {
		{ e0, "uacce-dummy-0" }, { e1, "uacce-dummy-1" }, { el, "uacce-dummy-1" },
		{ ei, "uacce-dummy-0/1" }, { ez, zipdev && *zipdev ? zipdev : "zip device" },
		{ ec, "contention devices" },
	};
	char why[1024];

	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		if (!e[i].err)
			continue;
		fprintf(stderr, "uacce-bench: %s\n", uacce_explain(e[i].err, e[i].dev, why,
								  sizeof(why)));
		if (uacce_runtime_check(why, sizeof(why)))
			break;	/* the same reason for every device */
	}
}

static void tp_series(struct plot_series *s, const char *id, const char *label,
		      const struct zip_figure *one, const struct zip_figure *two)
{
	s->id = id;
	s->label = label;
	s->n = 0;
	if (one->ok) {
		s->x[s->n] = 1;
		s->y[s->n++] = one->mbps;
	}
	if (two->ok) {
		s->x[s->n] = 2;
		s->y[s->n++] = two->mbps;
	}
}

static int plot_results(const char *path, const struct lat *mc, const struct lat *sock,
			const struct lat *d0, const struct lat *d1, const struct lat *d1e,
			const struct zip_bench_result *zr)
{
	static const struct zip_bench_result nozip;
	const struct zip_bench_result *z = zr ? zr : &nozip;
	struct plot_series tp[6];
	struct plot_cdf lat[5] = {
		{ "latency-memcpy", "memcpy in process", mc && mc->ok ? mc->q : NULL },
		{ "latency-socket", "Unix socket to a helper", mc && sock->ok ? sock->q : NULL },
		{ "latency-dummy-nonsva", "uacce-dummy-0 (non-SVA)", mc && d0->ok ? d0->q : NULL },
		{ "latency-dummy-sva", "uacce-dummy-1 (SVA)", mc && d1->ok ? d1->q : NULL },
		{ "latency-dummy-sva-empty", "uacce-dummy-1, 0 bytes", mc && d1e->ok ? d1e->q : NULL },
	};
	char sub[256];

	tp_series(&tp[0], "throughput-device-level6", "device, level 6", &z->lv[0].f[ZB_DEV1],
		  &z->lv[0].f[ZB_DEV2]);
	tp_series(&tp[1], "throughput-device-level1", "device, level 1", &z->lv[1].f[ZB_DEV1],
		  &z->lv[1].f[ZB_DEV2]);
	tp_series(&tp[2], "throughput-libdeflate-level6", "libdeflate, level 6",
		  &z->lv[0].f[ZB_LD1], &z->lv[0].f[ZB_LD2]);
	tp_series(&tp[3], "throughput-libdeflate-level1", "libdeflate, level 1",
		  &z->lv[1].f[ZB_LD1], &z->lv[1].f[ZB_LD2]);
	tp_series(&tp[4], "throughput-zlib-level6", "zlib, level 6", &z->lv[0].f[ZB_Z1],
		  &z->lv[0].f[ZB_Z2]);
	tp_series(&tp[5], "throughput-zlib-level1", "zlib, level 1", &z->lv[1].f[ZB_Z1],
		  &z->lv[1].f[ZB_Z2]);
	snprintf(sub, sizeof(sub), "uacced %s%s%s; ratios between figures of one run are "
		 "meaningful, absolute numbers depend on the machine", PACKAGE_VERSION,
		 zr && zr->device[0] ? ", zip device " : "", zr ? zr->device : "");
	return bench_plot_svg(path, sub, tp, 6, lat, 5);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "idle-queues", required_argument, NULL, 'i' },
		{ "idle-seconds", required_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ "zip-device", required_argument, NULL, 'Z' },
		{ "hisi-device", required_argument, NULL, 'H' },
		{ "corpus", required_argument, NULL, 'C' },
		{ "zip-seconds", required_argument, NULL, 'S' },
		{ "zip-rounds", required_argument, NULL, 'R' },
		{ "zip-sva-heap", no_argument, NULL, 'A' },
		{ "zip-only", no_argument, NULL, 'O' },
		{ "no-zip", no_argument, NULL, 'N' },
		{ "contention", no_argument, NULL, 'c' },
		{ "contention-only", no_argument, NULL, 'o' },
		{ "contention-samples", required_argument, NULL, 'M' },
		{ "contention-seconds", required_argument, NULL, 'T' },
		{ "contention-device", required_argument, NULL, 'D' },
		{ "flood-device", required_argument, NULL, 'F' },
		{ "flood-size", required_argument, NULL, 'B' },
		{ "flood-copies", required_argument, NULL, 'K' },
		{ "plot", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "progress", no_argument, NULL, 'G' },
		{ "version", no_argument, NULL, 'V' },
		{ "lifecycle-threads", required_argument, NULL, 'L' },
		{ "lifecycle-seconds", required_argument, NULL, 'E' },
		{ "lifecycle-device", required_argument, NULL, 'W' },
		{ "lifecycle-only", no_argument, NULL, 'Y' },
		{ "restarts", required_argument, NULL, 'U' },
		{ "restart-only", no_argument, NULL, 'u' },
		{ "restart-device", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lat mc = { 0 }, sock = { 0 }, d0 = { 0 }, d1 = { 0 }, d1e = { 0 }, d1s = { 0 };
	struct zip_bench_opts zo = { .corpus_max = 16u << 20, .buf = 1u << 20, .seconds = 1.0,
				     .rounds = 3, .depth = 4 };
	struct zip_bench_result zr = { 0 };
	/* 200 x open+START+close (30 s at most) idle and beside 15 x 64 MiB per FLUSH */
	struct contention_opts co = { .device = "uacce-dummy-1", .flood_device = "uacce-dummy-0",
				      .samples = 200, .seconds = 30, .copy_size = 64u << 20,
				      .copies = 15 };
	struct contention_result cr = { 0 };
	/* open + START + close from 2 threads (the machine's cores), 2 s a figure */
	struct lifecycle_opts lo = { .device = "uacce-dummy-1", .threads = 2, .seconds = 2.0,
				     .baseline = true };
	struct lifecycle_result lr = { .null_per_s = -1 };
	struct restart_opts ro = { .device = "uacce-dummy-1" };
	struct restart_result rr = { 0 };
	int er = 0;
	bool lifecycle = true;
	bool zip = true, others = true, contention = false, quick = false;
	bool co_samples = false, co_size = false, co_seconds = false;
	bool json = false, quiet = false, progress = false;
	const char *plot = NULL;
	unsigned n = 20000;
	int idle_q = 8, c, e0 = 0, e1 = 0, el = 0, ei = 0, ez = 0, ec = 0;
	double idle_s = 10, idle = -1;

	while ((c = getopt_long(argc, argv, "jn:i:s:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			n = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			idle_q = atoi(optarg);
			break;
		case 's':
			idle_s = atof(optarg);
			break;
		case 'q':
			n = 2000;
			idle_s = 2;
			zo.seconds = 0.5;
			zo.rounds = 1;
			zo.corpus_max = 8u << 20;
			lo.seconds = 1.0;
			quick = true;
			break;
		case 'Z':
			zo.device = optarg;
			break;
		case 'H':
			zo.hisi_device = optarg;
			break;
		case 'C':
			zo.corpus = optarg;
			break;
		case 'S':
			zo.seconds = atof(optarg) > 0.05 ? atof(optarg) : 0.05;
			break;
		case 'R':
			zo.rounds = atoi(optarg) > 0 ? atoi(optarg) : 1;
			break;
		case 'A':
			zo.sva_heap = true;
			break;
		case 'O':
			others = lifecycle = false;
			break;
		case 'N':
			zip = false;
			break;
		case 'c':
			contention = true;
			break;
		case 'o':
			contention = true;
			others = zip = lifecycle = false;
			break;
		case 'M':
			co.samples = (unsigned)strtoul(optarg, NULL, 0);
			co_samples = true;
			break;
		case 'T':
			co.seconds = atof(optarg) > 0.1 ? atof(optarg) : 0.1;
			co_seconds = true;
			break;
		case 'D':
			co.device = optarg;
			break;
		case 'F':
			co.flood_device = optarg;
			break;
		case 'B':
			co.copy_size = parse_size(optarg);
			co_size = true;
			/* the soft device copies at most 256 MiB per request */
			if (co.copy_size < 4096 || co.copy_size > (256u << 20)) {
				fprintf(stderr, "uacce-bench: --flood-size: 4K to 256M\n");
				return 2;
			}
			break;
		case 'K':
			co.copies = (unsigned)strtoul(optarg, NULL, 0);
			if (co.copies < 1 || co.copies > Q_BDS - 1) {
				fprintf(stderr, "uacce-bench: --flood-copies: 1 to %d\n", Q_BDS - 1);
				return 2;
			}
			break;
		case 'L':
			lo.threads = (unsigned)strtoul(optarg, NULL, 0);
			if (lo.threads < 1 || lo.threads > 64) {
				fprintf(stderr, "uacce-bench: --lifecycle-threads: 1 to 64\n");
				return 2;
			}
			break;
		case 'E':
			lo.seconds = atof(optarg) > 0.1 ? atof(optarg) : 0.1;
			break;
		case 'W':
			lo.device = optarg;
			break;
		case 'Y':
			lifecycle = true;
			others = zip = false;
			break;
		case 'U':
			ro.restarts = (unsigned)strtoul(optarg, NULL, 0);
			if (ro.restarts > 1000) {
				fprintf(stderr, "uacce-bench: --restarts: 0 to 1000\n");
				return 2;
			}
			break;
		case 'u':
			others = zip = lifecycle = false;
			if (!ro.restarts)
				ro.restarts = 10;
			break;
		case 'X':
			ro.device = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("uacce-bench (uacced) %s\n", PACKAGE_VERSION);
			return 0;
		case 'P':
			plot = optarg;
			break;
		case 'Q':
			quiet = true;
			break;
		case 'G':
			progress = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "uacce-bench: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (n < 100)
		n = 100;
	if (quick && !co_samples)
		co.samples = 50;
	if (quick && !co_size)
		co.copy_size = 16u << 20;
	if (quick && !co_seconds)
		co.seconds = 5;
	if (co.samples < 10)
		co.samples = 10;
	signal(SIGPIPE, SIG_IGN);

	/* a terminal gets progress; --json keeps stderr quiet unless asked */
	bench_progress_init(isatty(STDERR_FILENO) && !quiet && (!json || progress),
			    (others ? 7 : 0) + (lifecycle ? 1 : 0) + (zip ? zip_bench_steps(&zo) : 0) + (contention ? 1 : 0) + (ro.restarts ? 1 : 0));
	if (others) {
		bench_progress_step("4 KiB memcpy in process, %u times", n);
		bench_memcpy(n, &mc);
		bench_progress_step("4 KiB round trips through a Unix socket, %u times", n);
		bench_socket(n, &sock);
		bench_progress_step("4 KiB round trips through uacce-dummy-0, %u times", n);
		e0 = bench_dummy("uacce-dummy-0", n, 4096, false, &d0);
		bench_progress_step("4 KiB round trips through uacce-dummy-1, %u times", n);
		e1 = bench_dummy("uacce-dummy-1", n, 4096, false, &d1);
		bench_progress_step("4 KiB round trips through uacce-dummy-1, shared memory, %u times",
				    n);
		if (!e1)
			e1 = bench_dummy("uacce-dummy-1", n, 4096, true, &d1s);
		bench_progress_step("empty round trips through uacce-dummy-1, %u times", n);
		if (!e1)
			e1 = bench_dummy("uacce-dummy-1", n, 0, false, &d1e);
		bench_progress_step("daemon CPU with %d idle queues, %.0f s", idle_q, idle_s);
		idle = bench_idle(idle_q, idle_s, &ei);
	}
	if (lifecycle) {
		bench_progress_step("queue lifecycles on %s, %u threads, %.1f s", lo.device,
				    lo.threads, lo.seconds);
		el = lifecycle_bench_run(&lo, &lr);
	}
	if (zip)
		ez = zip_bench_run(&zo, &zr);
	if (contention) {
		bench_progress_step("open+START+close on %s, idle then beside a flood on %s",
				    co.device, co.flood_device);
		ec = contention_bench_run(&co, &cr);
	}
	if (ro.restarts) {
		bench_progress_step("%u live restarts of uacced under a client of %s", ro.restarts,
				    ro.device);
		er = restart_bench_run(&ro, &rr);
	}
	bench_progress_done();
	explain_errors(e0, e1, el, ei, ez, ec, zip ? zr.device : NULL);
	if (plot) {
		int err = plot_results(plot, others ? &mc : NULL, &sock, &d0, &d1, &d1e,
				       zip ? &zr : NULL);

		if (err) {
			fprintf(stderr, "uacce-bench: --plot %s: %s\n", plot, strerror(-err));
			return 1;
		}
	}

	if (json) {
		printf("{\"size\":4096,\"count\":%u,", n);
		print_lat_json("memcpy_in_process", &mc, true);
		print_lat_json("unix_socket_round_trip", &sock, true);
		print_lat_json("dummy_nonsva_round_trip", &d0, true);
		print_lat_json("dummy_sva_round_trip", &d1, true);
		print_lat_json("dummy_sva_empty_round_trip", &d1e, true);
		print_lat_json("dummy_sva_shared_round_trip", &d1s, true);
		printf("\"ratio_dummy_sva_p50_to_socket_p50\":%.4f,",
		       d1.ok && sock.ok ? d1.p50_us / sock.p50_us : -1);
		printf("\"ratio_dummy_sva_shared_p50_to_socket_p50\":%.4f,",
		       d1s.ok && sock.ok ? d1s.p50_us / sock.p50_us : -1);
		printf("\"ratio_dummy_nonsva_p50_to_socket_p50\":%.4f,",
		       d0.ok && sock.ok ? d0.p50_us / sock.p50_us : -1);
		if (lifecycle) {
			/* the older key: the same figure with every region mapped */
			printf("\"queue_lifecycles_per_second\":%.0f,", lr.mapped_per_s);
			lifecycle_bench_print_json(&lo, &lr);
		}
		printf("\"idle_queues\":%d,\"idle_seconds\":%.1f,\"daemon_cpu_percent_idle\":%.3f,",
		       idle_q, idle_s, idle);
		if (zip) {
			zip_bench_print_json(&zo, &zr);
			printf(",");
		}
		if (contention) {
			contention_bench_print_json(&co, &cr);
			printf(",");
		}
		if (ro.restarts)
			restart_bench_print_json(&ro, &rr);
		print_targets_json(&sock, &d0, &d1, &d1s, idle, zip ? &zr : NULL,
				   contention ? &cr : NULL, lifecycle ? &lr : NULL);
		printf("\"errors\":{\"dummy0\":%d,\"dummy1\":%d,\"lifecycle\":%d,\"idle\":%d,"
		       "\"zip\":%d,\"contention\":%d}}\n", e0, e1, el, ei, ez, ec);
	} else {
		if (others)
			print_table(n, &mc, &sock, &d0, &d1, &d1e, &d1s, idle_q, idle_s, idle, ei);
		if (lifecycle)
			lifecycle_bench_print_table(&lo, &lr);
		if (zip)
			zip_bench_print_table(&zo, &zr);
		if (contention)
			contention_bench_print_table(&co, &cr);
		if (ro.restarts)
			restart_bench_print_table(&ro, &rr);
	}
	if (er && json)
		fprintf(stderr, "uacce-bench: live restart: %s\n", rr.why[0] ? rr.why : strerror(-er));
	return e0 || e1 || el || ei || ez || ec || er ? 1 : 0;
}
