/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-progress.c - uacce-bench's progress line (bench-progress.h) */
#include <stdarg.h>
#include <stdio.h>

#include "bench-progress.h"
#include "bench-util.h"

static struct {
	bool on, drawn;
	int done, total;
	uint64_t t0;
} pg;

void bench_progress_init(bool on, int total)
{
	pg.on = on;
	pg.drawn = false;
	pg.done = 0;
	pg.total = total;
	pg.t0 = bench_now_ns();
}

void bench_progress_adjust(int delta)
{
	pg.total += delta;
}

void bench_progress_step(const char *fmt, ...)
{
	char what[160];
	va_list ap;

	pg.done++;
	if (pg.total < pg.done)
		pg.total = pg.done;	/* a plan that was short: never "[5/4]" */
	if (!pg.on)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* \033[K: the rest of a longer previous line goes */
	fprintf(stderr, "\r\033[K[%d/%d] %s (%.1f s)", pg.done, pg.total, what,
		(double)(bench_now_ns() - pg.t0) / 1e9);
	fflush(stderr);
	pg.drawn = true;
}

void bench_progress_done(void)
{
	if (pg.on && pg.drawn)
		fprintf(stderr, "\r\033[K");
	pg.drawn = false;
}
