/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_level = LOG_INFO;

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }

static const char *prio_name(int prio)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
	};
	return names[prio & 7];
}

static void vlog(int prio, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* "<N>" prefixes are understood by journald on stderr (SyslogLevelPrefix) */
	n = snprintf(line, sizeof(line), "<%d>uacced[%ld.%03ld] %s: ", prio & 7,
		     (long)ts.tv_sec % 100000, ts.tv_nsec / 1000000, prio_name(prio));
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void ulog(int prio, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (prio <= log_level) {
		va_start(ap, fmt);
		vlog(prio, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

static struct {
	pthread_mutex_t lock;
	double tokens;
	struct timespec last;
	unsigned long dropped;
} rl = { .lock = PTHREAD_MUTEX_INITIALIZER, .tokens = LOG_RL_BURST };

void ulog_rl(int prio, const char *fmt, ...)
{
	int saved = errno;
	unsigned long dropped = 0;
	struct timespec now;
	bool pass;
	va_list ap;

	if (prio > log_level) {
		errno = saved;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&rl.lock);
	rl.tokens += (now.tv_sec - rl.last.tv_sec + (now.tv_nsec - rl.last.tv_nsec) / 1e9) *
		     LOG_RL_PER_SEC;
	if (rl.tokens > LOG_RL_BURST)
		rl.tokens = LOG_RL_BURST;
	rl.last = now;
	pass = rl.tokens >= 1;
	if (pass) {
		rl.tokens -= 1;
		dropped = rl.dropped;
		rl.dropped = 0;
	} else {
		rl.dropped++;
	}
	pthread_mutex_unlock(&rl.lock);
	if (pass) {
		if (dropped)
			ulog(LOG_WARNING, "%lu client event messages suppressed (rate limit)",
			     dropped);
		va_start(ap, fmt);
		vlog(prio, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}
