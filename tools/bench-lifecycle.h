/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-lifecycle.h - uacce-bench's lifecycle figure: queue lifecycles
 * (open + UACCE_CMD_START [+ every region mapped] + close) per second from
 * N threads, next to the same threads doing a plain open + close of a file
 * that does nothing, served by this process on the daemon's transport (a
 * FUSE file when the daemon runs the FUSE fallback, a CUSE device when it
 * publishes CUSE nodes): the ratio says what the daemon adds to the
 * transport's own cost.  The baseline needs root (mount, /dev/cuse).
 */
#ifndef UACCE_BENCH_LIFECYCLE_H
#define UACCE_BENCH_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

struct lifecycle_opts {
	const char *device;	/* "uacce-dummy-1" */
	unsigned threads;	/* client threads, each its own loop */
	double seconds;		/* per figure */
	bool baseline;		/* also the null file's open + close */
};

struct lifecycle_result {
	double per_s;		/* open + START + close, all threads together */
	double mapped_per_s;	/* the same with every region mapped (broker) */
	double null_per_s;	/* open + close of the null file; -1: not measured */
	const char *transport;	/* "fuse", "cuse" or "?" (the daemon's devdir) */
	unsigned threads;
	int err;		/* the first error of the lifecycles (-errno), or 0 */
	int null_err;		/* why the baseline is missing (-errno), or 0 */
};

/* one lifecycle of `dev` (map: every region the device has); 0 or -errno */
int bench_lifecycle_once(const char *dev, bool map);

/* 0 or the first error (-errno); the baseline's failure is only noted */
int lifecycle_bench_run(const struct lifecycle_opts *o, struct lifecycle_result *r);
/* per_s / null_per_s, or -1 */
double lifecycle_ratio(const struct lifecycle_result *r);
/* '"lifecycles_per_s":...,' keys for the JSON object, and the table lines */
void lifecycle_bench_print_json(const struct lifecycle_opts *o, const struct lifecycle_result *r);
void lifecycle_bench_print_table(const struct lifecycle_opts *o,
				 const struct lifecycle_result *r);

#endif
