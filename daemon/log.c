/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
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

void ulog(int prio, const char *fmt, ...)
{
	int saved = errno;
	char line[1024];
	struct timespec ts;
	va_list ap;
	int n;

	if (prio > log_level) {
		errno = saved;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	/* "<N>" prefixes are understood by journald on stderr (SyslogLevelPrefix) */
	n = snprintf(line, sizeof(line), "<%d>uacced[%ld.%03ld] %s: ", prio & 7,
		     (long)ts.tv_sec % 100000, ts.tv_nsec / 1000000, prio_name(prio));
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
	errno = saved;
}
