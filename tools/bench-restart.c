/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-restart.c - the pause a client sees across a live restart (bench-restart.h) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-restart.h"
#include "bench-util.h"
#include "uacce/dummy_usr_if.h"
#include "uacce/libuacce.h"
#include "uacce/wd.h"

#define MAX_RT (1u << 22)

/*
 * Round trips of SLOW_NS or more are kept (start, end) for the overlap
 * with the restarts; the first MAX_RT of all are kept as durations for
 * the plain p50.  A restart no kept round trip overlaps paused the client
 * less than SLOW_NS.
 */
#define SLOW_NS 200000ULL

struct loop {
	const char *dev;
	volatile bool stop;
	uint64_t *start, *end;	/* slow round trips */
	unsigned long nslow;
	uint64_t *dur;		/* the first MAX_RT round trips */
	unsigned long n;
	int err;
	char why[160];
};

static void *loop_thread(void *arg)
{
	struct loop *l = arg;
	struct wd_queue q = { .capa.alg = "memcpy" };
	unsigned char *src, *dst;
	int err;

	snprintf(q.dev_path, sizeof(q.dev_path), "%s", l->dev);
	err = wd_request_queue(&q);
	if (err) {
		l->err = err;
		snprintf(l->why, sizeof(l->why), "%s: no queue: %s", l->dev, strerror(-err));
		return NULL;
	}
	if (q.dev_flags & UACCE_DEV_SVA) {
		src = malloc(4096);
		dst = malloc(4096);
	} else {
		src = wd_reserve_memory(&q, 8192);
		dst = src ? src + 4096 : NULL;
	}
	if (!src || !dst) {
		l->err = -ENOMEM;
		snprintf(l->why, sizeof(l->why), "%s: buffers: %s", l->dev, strerror(errno));
		goto out;
	}
	while (!l->stop) {
		struct wd_dummy_cpy_msg m = { .src_addr = (char *)src, .tgt_addr = (char *)dst,
					      .size = 4096, .ptr = (void *)(uintptr_t)(l->n + 1) };
		void *resp = NULL;

		uint64_t t0, t1;

		memset(src, (int)(l->n & 0xff), 4096);
		t0 = bench_now_ns();
		err = wd_send(&q, &m);
		while (!err && (err = wd_recv_sync(&q, &resp, 60000)) == 0)
			;
		t1 = bench_now_ns();
		if (l->n < MAX_RT)
			l->dur[l->n] = t1 - t0;
		if (t1 - t0 >= SLOW_NS && l->nslow < MAX_RT) {
			l->start[l->nslow] = t0;
			l->end[l->nslow++] = t1;
		}
		if (err < 0 || memcmp(src, dst, 4096)) {
			l->err = err < 0 ? err : -EIO;
			snprintf(l->why, sizeof(l->why), "%s: round trip %lu: %s", l->dev, l->n,
				 err < 0 ? strerror(-err) : "wrong copy");
			break;
		}
		l->n++;
	}
out:
	if (q.dev_flags & UACCE_DEV_SVA) {
		free(src);
		free(dst);
	}
	wd_release_queue(&q);
	return NULL;
}

/* uaccectl: $UACCECTL, the one next to us, or $PATH's */
static const char *uaccectl_path(char *buf, size_t len)
{
	const char *env = getenv("UACCECTL");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", buf, len - 16);
	if (n > 0) {
		buf[n] = 0;
		slash = strrchr(buf, '/');
		if (slash) {
			strcpy(slash + 1, "uaccectl");
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	return "uaccectl";
}

static int run_restart(const char *ctl, char *why, size_t len)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execlp(ctl, ctl, "--runtime-dir", uacce_runtime_dir(), "restart", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(why, len, "uaccectl restart failed (status %d; root or the admin "
			 "group needed; %.60s)", WIFEXITED(st) ? WEXITSTATUS(st) : -1, ctl);
		return -EPERM;
	}
	return 0;
}

static double pct(uint64_t *v, unsigned n, unsigned p)
{
	return n ? v[(size_t)n * p / 100 < n ? (size_t)n * p / 100 : n - 1] / 1e6 : -1;
}

int restart_bench_run(const struct restart_opts *o, struct restart_result *r)
{
	struct loop l = { .dev = o->device };
	uint64_t *t0 = calloc(o->restarts, sizeof(*t0)), *t1 = calloc(o->restarts, sizeof(*t1));
	uint64_t *pause = calloc(o->restarts, sizeof(*pause)), *took = calloc(o->restarts, 8);
	uint64_t *plain = NULL;
	unsigned long np = 0;
	char path[PATH_MAX];
	const char *ctl = uaccectl_path(path, sizeof(path));
	pthread_t t;
	int err = 0;

	memset(r, 0, sizeof(*r));
	l.start = calloc(MAX_RT, sizeof(uint64_t));
	l.end = calloc(MAX_RT, sizeof(uint64_t));
	l.dur = calloc(MAX_RT, sizeof(uint64_t));
	if (!t0 || !t1 || !pause || !took || !l.start || !l.end || !l.dur) {
		err = -ENOMEM;
		goto out;
	}
	if (pthread_create(&t, NULL, loop_thread, &l)) {
		err = -errno;
		goto out;
	}
	usleep(300000);
	for (unsigned i = 0; i < o->restarts && !l.err; i++) {
		t0[i] = bench_now_ns();
		err = run_restart(ctl, r->why, sizeof(r->why));
		t1[i] = bench_now_ns();
		if (err)
			break;
		r->done++;
		usleep(500000);
	}
	l.stop = true;
	pthread_join(t, NULL);
	if (!err && l.err) {
		err = l.err;
		snprintf(r->why, sizeof(r->why), "%s", l.why);
	}
	r->requests = l.n;
	plain = l.dur;
	np = l.n < MAX_RT ? l.n : MAX_RT;
	/* per restart, the longest round trip overlapping [t0, t1] (at least
	 * SLOW_NS: shorter ones are not kept) */
	for (unsigned i = 0; i < r->done; i++)
		pause[i] = SLOW_NS;
	for (unsigned long k = 0; k < l.nslow; k++) {
		uint64_t d = l.end[k] - l.start[k];

		for (unsigned i = 0; i < r->done; i++)
			if (l.start[k] <= t1[i] && l.end[k] >= t0[i] && d > pause[i])
				pause[i] = d;
	}
	for (unsigned i = 0; i < r->done; i++)
		took[i] = t1[i] - t0[i];
	qsort(pause, r->done, sizeof(*pause), bench_cmp_u64);
	qsort(took, r->done, sizeof(*took), bench_cmp_u64);
	qsort(plain, np, sizeof(*plain), bench_cmp_u64);
	r->pause_p50_ms = pct(pause, r->done, 50);
	r->pause_p99_ms = pct(pause, r->done, 99);
	r->pause_max_ms = r->done ? pause[r->done - 1] / 1e6 : -1;
	r->restart_p50_ms = pct(took, r->done, 50);
	r->rt_p50_us = np ? plain[np / 2] / 1e3 : -1;
out:
	r->err = err;
	free(t0);
	free(t1);
	free(pause);
	free(took);
	free(l.dur);
	free(l.start);
	free(l.end);
	return err;
}

void restart_bench_print_json(const struct restart_opts *o, const struct restart_result *r)
{
	printf("\"restart_pause\":{\"device\":\"%s\",\"restarts\":%u,\"done\":%u,"
	       "\"pause_p50_ms\":%.3f,\"pause_p99_ms\":%.3f,\"pause_max_ms\":%.3f,"
	       "\"uaccectl_restart_p50_ms\":%.3f,\"round_trip_p50_us\":%.2f,\"requests\":%lu,"
	       "\"error\":%d},",
	       o->device, o->restarts, r->done, r->pause_p50_ms, r->pause_p99_ms, r->pause_max_ms,
	       r->restart_p50_ms, r->rt_p50_us, r->requests, r->err);
}

void restart_bench_print_table(const struct restart_opts *o, const struct restart_result *r)
{
	printf("\nLive restart under a client (%s, 4 KiB round trips without a break):\n",
	       o->device);
	if (r->err)
		printf("  error: %s\n", r->why[0] ? r->why : strerror(-r->err));
	printf("  %u restarts: the round trip that spans one takes p50 %.1f ms, p99 %.1f ms, "
	       "max %.1f ms\n", r->done, r->pause_p50_ms, r->pause_p99_ms, r->pause_max_ms);
	printf("  uaccectl restart returns in p50 %.1f ms; round trips p50 %.1f us "
	       "(%lu in all)\n", r->restart_p50_ms, r->rt_p50_us, r->requests);
}
