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
 * of one run are meaningful; absolute numbers depend on the machine.
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uacce/dummy_usr_if.h>
#include <uacce/libuacce.h>
#include <uacce/wd.h>

#include "bench-util.h"
#include "bench-contention.h"
#include "bench-lifecycle.h"
#include "bench-zip.h"

struct lat {
	double p50_us, p99_us, per_second;
	bool ok;
};

static void summarize(uint64_t *t, unsigned n, uint64_t total, struct lat *out)
{
	qsort(t, n, sizeof(*t), bench_cmp_u64);
	out->p50_us = t[n / 2] / 1e3;
	out->p99_us = t[(uint64_t)n * 99 / 100] / 1e3;
	out->per_second = n / (total / 1e9);
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
static int bench_dummy(const char *dev, unsigned n, uint32_t size, struct lat *out)
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
	if (sva) {
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
	if (sva) {
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
			       double idle, const struct zip_bench_result *zr,
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
	print_target("dummy_sva_p50_le_0.2_socket", d1->ok && sock->ok,
		     d1->ok && sock->ok && d1->p50_us <= 0.2 * sock->p50_us);
	/* issue 14 item 4 */
	print_target("dummy_sva_p50_le_2us", d1->ok, d1->ok && d1->p50_us <= 2.0);
	print_target("dummy_sva_p50_le_0.05_socket", d1->ok && sock->ok,
		     d1->ok && sock->ok && d1->p50_us <= 0.05 * sock->p50_us);
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
			int idle_q, double idle_s, double idle, int ei)
{
	printf("uacce-bench: 4 KiB round trips, %u each\n", n);
	print_lat("memcpy in process", mc);
	print_lat("Unix socket to a helper process", sock);
	print_lat("uacce-dummy-0 (non-SVA, SS)", d0);
	print_lat("uacce-dummy-1 (SVA, malloc)", d1);
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
		{ "lifecycle-threads", required_argument, NULL, 'L' },
		{ "lifecycle-seconds", required_argument, NULL, 'E' },
		{ "lifecycle-device", required_argument, NULL, 'V' },
		{ "lifecycle-only", no_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lat mc = { 0 }, sock = { 0 }, d0 = { 0 }, d1 = { 0 }, d1e = { 0 };
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
	bool lifecycle = true;
	bool zip = true, others = true, contention = false, quick = false;
	bool co_samples = false, co_size = false, co_seconds = false;
	unsigned n = 20000;
	int idle_q = 8, c, e0 = 0, e1 = 0, el = 0, ei = 0, ez = 0, ec = 0;
	double idle_s = 10, idle = -1;

	while ((c = getopt_long(argc, argv, "jn:i:s:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
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
		case 'V':
			lo.device = optarg;
			break;
		case 'Y':
			lifecycle = true;
			others = zip = false;
			break;
		case 'h':
			printf("Usage: uacce-bench [--json] [--count N] [--idle-queues N] "
			       "[--idle-seconds S] [--quick]\n"
			       "                   [--zip-device DEV] [--hisi-device DEV] [--corpus FILE] "
			       "[--zip-seconds S] [--zip-rounds N]\n"
			       "                   [--zip-only | --no-zip]\n"
			       "                   [--contention | --contention-only] "
			       "[--contention-samples N]\n"
			       "                   [--contention-seconds S] "
			       "[--contention-device DEV]\n"
			       "                   [--flood-device DEV] [--flood-size BYTES] "
			       "[--flood-copies N]\n"
			       "                   [--lifecycle-only] [--lifecycle-threads N] "
			       "[--lifecycle-seconds S]\n"
			       "                   [--lifecycle-device DEV]\n");
			return 0;
		default:
			return 2;
		}
	}
	bool json = false;
	for (int i = 1; i < argc; i++)
		json |= strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0;
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

	if (others) {
		bench_memcpy(n, &mc);
		bench_socket(n, &sock);
		e0 = bench_dummy("uacce-dummy-0", n, 4096, &d0);
		e1 = bench_dummy("uacce-dummy-1", n, 4096, &d1);
		if (!e1)
			e1 = bench_dummy("uacce-dummy-1", n, 0, &d1e);
		idle = bench_idle(idle_q, idle_s, &ei);
	}
	if (lifecycle)
		el = lifecycle_bench_run(&lo, &lr);
	if (zip)
		ez = zip_bench_run(&zo, &zr);
	if (contention)
		ec = contention_bench_run(&co, &cr);

	if (json) {
		printf("{\"size\":4096,\"count\":%u,", n);
		print_lat_json("memcpy_in_process", &mc, true);
		print_lat_json("unix_socket_round_trip", &sock, true);
		print_lat_json("dummy_nonsva_round_trip", &d0, true);
		print_lat_json("dummy_sva_round_trip", &d1, true);
		print_lat_json("dummy_sva_empty_round_trip", &d1e, true);
		printf("\"ratio_dummy_sva_p50_to_socket_p50\":%.4f,",
		       d1.ok && sock.ok ? d1.p50_us / sock.p50_us : -1);
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
		print_targets_json(&sock, &d0, &d1, idle, zip ? &zr : NULL,
				   contention ? &cr : NULL, lifecycle ? &lr : NULL);
		printf("\"errors\":{\"dummy0\":%d,\"dummy1\":%d,\"lifecycle\":%d,\"idle\":%d,"
		       "\"zip\":%d,\"contention\":%d}}\n", e0, e1, el, ei, ez, ec);
	} else {
		if (others)
			print_table(n, &mc, &sock, &d0, &d1, &d1e, idle_q, idle_s, idle, ei);
		if (lifecycle)
			lifecycle_bench_print_table(&lo, &lr);
		if (zip)
			zip_bench_print_table(&zo, &zr);
		if (contention)
			contention_bench_print_table(&co, &cr);
	}
	return e0 || e1 || el || ei || ez || ec ? 1 : 0;
}
