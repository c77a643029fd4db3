/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-progress.h - uacce-bench's progress line on a terminal:
 * "[3/26] zip level 6, device_2q (41.2 s)" on stderr, rewritten in place
 * with \r as each measurement starts and cleared at the end.  Off: every
 * call does nothing.  Not thread-safe: the main thread alone calls it.
 */
#ifndef UACCE_BENCH_PROGRESS_H
#define UACCE_BENCH_PROGRESS_H

#include <stdbool.h>

/* start counting `total` planned steps; on: draw them */
void bench_progress_init(bool on, int total);
/* the plan changed (a device is missing, another is present) */
void bench_progress_adjust(int delta);
/* the next step starts: its label, printf-style */
void bench_progress_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* clear the line */
void bench_progress_done(void);

#endif
