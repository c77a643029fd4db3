/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-contention.h - uacce-bench's contention figure: the latency of
 * open + UACCE_CMD_START + close on one device, first on an idle daemon,
 * then while a forked client floods DUMMY_CMD_FLUSH with large copies on a
 * second device.  What one client's copies cost every other client.
 */
#ifndef UACCE_BENCH_CONTENTION_H
#define UACCE_BENCH_CONTENTION_H

#include <stdbool.h>
#include <stdint.h>

struct contention_opts {
	const char *device;	/* measured: open + START + close (uacce-dummy-1) */
	const char *flood_device; /* the flood's dummy device (uacce-dummy-0) */
	unsigned samples;	/* per phase, at most */
	double seconds;		/* per phase, at most (the flood can make each take long) */
	uint64_t copy_size;	/* bytes per copy of the flood */
	unsigned copies;	/* copies per FLUSH (1 .. Q_BDS - 1) */
};

struct contention_lat {
	unsigned n;		/* samples taken */
	double p50_us, p99_us, max_us;
	bool ok;
};

struct contention_result {
	struct contention_lat idle, flood;
	uint64_t copy_size;	/* as used: smaller than asked under RLIMIT_DATA */
	uint64_t flushes;	/* FLUSHes issued while the flood phase was measured */
	double flush_mean_ms, flush_max_ms;
	double flood_seconds;	/* length of the measured flood phase */
	double flood_busy;	/* share of it spent inside FLUSH (0 .. 1) */
	int err;		/* 0, or the first error (-errno) */
};

/* idle phase, then flood phase; 0 or the first error (-errno) */
int contention_bench_run(const struct contention_opts *o, struct contention_result *r);
/* flood p99 / idle p99 (p50 likewise), or -1 when not measured */
double contention_ratio_p99(const struct contention_result *r);
double contention_ratio_p50(const struct contention_result *r);
/* '"contention":{...}' for the JSON object, and the table lines */
void contention_bench_print_json(const struct contention_opts *o,
				 const struct contention_result *r);
void contention_bench_print_table(const struct contention_opts *o,
				  const struct contention_result *r);

#endif
