/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-restart.h - uacce-bench's live-restart figure (issue 16): the pause
 * a client sees when uacced restarts under it.  One thread does 4 KiB
 * round trips on a dummy queue without a break while the benchmark runs
 * "uaccectl restart" N times (half a second apart); the pause of a restart
 * is the longest round trip that overlapped it.  Needs the control socket
 * (root or the admin group) and uaccectl (UACCECTL, else the one next to
 * uacce-bench, else $PATH).
 */
#ifndef UACCE_BENCH_RESTART_H
#define UACCE_BENCH_RESTART_H

struct restart_opts {
	const char *device;	/* "uacce-dummy-1" */
	unsigned restarts;	/* 0: not measured */
};

struct restart_result {
	unsigned done;		/* restarts that took place */
	double pause_p50_ms, pause_p99_ms, pause_max_ms;
	double restart_p50_ms;	/* uaccectl restart from call to answer */
	double rt_p50_us;	/* a round trip (the first 4M of them) */
	unsigned long requests;
	int err;		/* the first error (-errno) or 0 */
	char why[160];		/* its story */
};

int restart_bench_run(const struct restart_opts *o, struct restart_result *r);
void restart_bench_print_json(const struct restart_opts *o, const struct restart_result *r);
void restart_bench_print_table(const struct restart_opts *o, const struct restart_result *r);

#endif
