/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c - console lines or native journal records (see log.h).
 *
 * The journal's native protocol (systemd's sd_journal_send does the same):
 * one datagram per record on /run/systemd/journal/socket, one field per
 * line, "KEY=value\n"; a value holding a newline is sent as "KEY\n", its
 * length (64 bits, little endian), the bytes and "\n".
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define MSG_MAX		1024	/* a message longer than this is cut */
#define REC_MAX		4096	/* a record: the message and its fields */
#define SEND_WAIT_MS	50	/* how long a record may wait for room in journald's queue */

static int log_level = LOG_INFO;
static enum log_target target = LOG_TARGET_CONSOLE;

static struct {
	pthread_mutex_t lock;
	int fd;				/* datagram socket, opened on first use */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool congested;			/* the last send found the queue full */
} journal = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .path = JOURNAL_SOCKET };

void log_set_level(int level) { __atomic_store_n(&log_level, level, __ATOMIC_RELAXED); }
int log_get_level(void) { return __atomic_load_n(&log_level, __ATOMIC_RELAXED); }

/* --- targets ---------------------------------------------------------------- */

static const char *const target_names[] = {
	[LOG_TARGET_AUTO] = "auto",
	[LOG_TARGET_CONSOLE] = "console",
	[LOG_TARGET_JOURNAL] = "journal",
};

int log_target_parse(const char *s, enum log_target *t)
{
	for (size_t i = 0; i < sizeof(target_names) / sizeof(target_names[0]); i++) {
		if (strcmp(s, target_names[i]) == 0) {
			*t = (enum log_target)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_target_name(enum log_target t)
{
	return (unsigned)t < sizeof(target_names) / sizeof(target_names[0]) ? target_names[t] : "?";
}

/* systemd sets JOURNAL_STREAM="<st_dev>:<st_ino>" of the stream it connected */
bool log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	uint64_t dev, ino;
	struct stat st;
	char tail;
	int saved = errno;
	bool r;

	r = e && sscanf(e, "%" SCNu64 ":%" SCNu64 "%c", &dev, &ino, &tail) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 && (uint64_t)st.st_dev == dev &&
	    (uint64_t)st.st_ino == ino;
	errno = saved;
	return r;
}

enum log_target log_set_target(enum log_target t)
{
	if (t == LOG_TARGET_AUTO)
		t = log_stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
	__atomic_store_n(&target, t, __ATOMIC_RELAXED);
	return t;
}

enum log_target log_get_target(void)
{
	return __atomic_load_n(&target, __ATOMIC_RELAXED);
}

void log_set_journal_socket(const char *path)
{
	pthread_mutex_lock(&journal.lock);
	snprintf(journal.path, sizeof(journal.path), "%s", path ? path : JOURNAL_SOCKET);
	pthread_mutex_unlock(&journal.lock);
}

/* --- the console -------------------------------------------------------------- */

static const char *prio_name(int prio)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
	};
	return names[prio & 7];
}

/*
 * On the journal's stream: "<N>uacced: level: message" (journald reads the
 * "<N>" prefix as the priority, SyslogLevelPrefix=, and stamps the time
 * itself).  Anywhere else (a terminal, a file): a readable line with the
 * local time, "2026-12-02 23:30:01.123 uacced info: message".
 */
static void console_line(int prio, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	if (log_stderr_is_journal()) {
		fprintf(stderr, "<%d>uacced: %s: %s\n", prio & 7, prio_name(prio), msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!localtime_r(&ts.tv_sec, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(when, sizeof(when), "%lld", (long long)ts.tv_sec);
	fprintf(stderr, "%s.%03ld uacced %s: %s\n", when, ts.tv_nsec / 1000000, prio_name(prio),
		msg);
}

/* --- the journal --------------------------------------------------------------- */

struct rec {
	char buf[REC_MAX];
	size_t len;
};

/* append a field; one that does not fit is left out (the message comes first) */
static void field(struct rec *r, const char *key, const char *val)
{
	size_t kl = strlen(key), vl = strlen(val);
	char *p = r->buf + r->len;

	if (memchr(val, '\n', vl)) {
		uint64_t le = htole64(vl);

		if (r->len + kl + 1 + sizeof(le) + vl + 1 > sizeof(r->buf))
			return;
		memcpy(p, key, kl);
		p[kl] = '\n';
		memcpy(p + kl + 1, &le, sizeof(le));
		memcpy(p + kl + 1 + sizeof(le), val, vl);
		p[kl + 1 + sizeof(le) + vl] = '\n';
		r->len += kl + 1 + sizeof(le) + vl + 1;
	} else {
		if (r->len + kl + 1 + vl + 1 > sizeof(r->buf))
			return;
		memcpy(p, key, kl);
		p[kl] = '=';
		memcpy(p + kl + 1, val, vl);
		p[kl + 1 + vl] = '\n';
		r->len += kl + 1 + vl + 1;
	}
}

static void fieldf(struct rec *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fieldf(struct rec *r, const char *key, const char *fmt, ...)
{
	char v[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	field(r, key, v);
}

/*
 * CODE_FILE relative to the source tree: every file is compiled with the
 * same path prefix as this one ("../../src/" for "../../src/common/log.c").
 */
static const char *code_file(const char *file)
{
	static const char self[] = __FILE__, tail[] = "common/log.c";
	size_t n = sizeof(self) - sizeof(tail);	/* length of the prefix */

	if (sizeof(self) >= sizeof(tail) && strcmp(self + n, tail) == 0 &&
	    strncmp(file, self, n) == 0)
		return file + n;
	return file;
}

/*
 * journald's queue holds few datagrams (net.unix.max_dgram_qlen, 10 by
 * default): a record waits up to SEND_WAIT_MS for room, then goes to
 * stderr.  After such a timeout records do not wait at all until one
 * passes again, so that a stuck journald costs one wait, not one per record.
 */
static int journal_send(const struct rec *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err, flags = MSG_NOSIGNAL;
	ssize_t n;

	pthread_mutex_lock(&journal.lock);
	if (journal.fd < 0) {
		struct timeval tv = { .tv_usec = SEND_WAIT_MS * 1000 };

		journal.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (journal.fd >= 0)
			setsockopt(journal.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	fd = journal.fd;
	memcpy(sa.sun_path, journal.path, sizeof(sa.sun_path));
	if (journal.congested)
		flags |= MSG_DONTWAIT;
	pthread_mutex_unlock(&journal.lock);
	if (fd < 0)
		return -1;
	n = sendto(fd, r->buf, r->len, flags, (struct sockaddr *)&sa, sizeof(sa));
	err = n < 0 ? errno : 0;
	pthread_mutex_lock(&journal.lock);
	journal.congested = err == EAGAIN;
	pthread_mutex_unlock(&journal.lock);
	return n < 0 ? -1 : 0;
}

static void journal_record(int prio, const struct ulog_ctx *ctx, const char *file, int line,
			   const char *func, const char *msg)
{
	struct rec *r = malloc(sizeof(*r));

	if (!r) {
		console_line(prio, msg);
		return;
	}
	r->len = 0;
	field(r, "MESSAGE", msg);
	fieldf(r, "PRIORITY", "%d", prio & 7);
	fieldf(r, "SYSLOG_FACILITY", "%d", LOG_DAEMON >> 3);
	field(r, "SYSLOG_IDENTIFIER", "uacced");
	if (file)
		field(r, "CODE_FILE", code_file(file));
	if (line > 0)
		fieldf(r, "CODE_LINE", "%d", line);
	if (func)
		field(r, "CODE_FUNC", func);
	if (ctx) {
		if (ctx->device && *ctx->device)
			field(r, "UACCE_DEVICE", ctx->device);
		if (ctx->queue)
			fieldf(r, "UACCE_QUEUE", "%" PRIu64, ctx->queue);
		if (ctx->owner) {
			fieldf(r, "UACCE_UID", "%u", (unsigned)ctx->uid);
			fieldf(r, "UACCE_PID", "%d", (int)ctx->pid);
			if (ctx->comm && *ctx->comm)
				field(r, "UACCE_COMM", ctx->comm);
		}
	}
	if (journal_send(r) < 0)
		console_line(prio, msg);
	free(r);
}

/* --- records -------------------------------------------------------------------- */

static __thread struct {
	const char *label;		/* NULL: none */
	struct ulog_ctx ctx;
} pending;

void ulog_label_ctx(const char *label, const struct ulog_ctx *ctx)
{
	pending.label = label;
	pending.ctx = *ctx;
}

static void emit(int prio, const struct ulog_ctx *ctx, const char *file, int line,
		 const char *func, const char *msg)
{
	if (log_get_target() == LOG_TARGET_JOURNAL)
		journal_record(prio, ctx, file, line, func, msg);
	else
		console_line(prio, msg);
}

static struct {
	pthread_mutex_t lock;
	double tokens;
	struct timespec last;
	unsigned long dropped;
} rl = { .lock = PTHREAD_MUTEX_INITIALIZER, .tokens = LOG_RL_BURST };

/* may a rate-limited record pass?  *dropped: the ones to report first */
static bool rl_pass(unsigned long *dropped)
{
	struct timespec now;
	bool pass;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&rl.lock);
	rl.tokens += (now.tv_sec - rl.last.tv_sec + (now.tv_nsec - rl.last.tv_nsec) / 1e9) *
		     LOG_RL_PER_SEC;
	if (rl.tokens > LOG_RL_BURST)
		rl.tokens = LOG_RL_BURST;
	rl.last = now;
	pass = rl.tokens >= 1;
	*dropped = 0;
	if (pass) {
		rl.tokens -= 1;
		*dropped = rl.dropped;
		rl.dropped = 0;
	} else {
		rl.dropped++;
	}
	pthread_mutex_unlock(&rl.lock);
	return pass;
}

void ulog_at(int prio, const struct ulog_ctx *ctx, bool rl_limited, const char *file, int line,
	     const char *func, const char *fmt, ...)
{
	int saved = errno;
	unsigned long dropped = 0;
	const char *label = pending.label;
	struct ulog_ctx lctx = { 0 };
	char msg[MSG_MAX];
	va_list ap;

	/* a label's context is for this record only, whatever becomes of it */
	if (label) {
		lctx = pending.ctx;
		pending.label = NULL;
	}
	if ((prio & 7) > log_get_level())
		return;
	/* first, while errno is the caller's ("%m") */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ctx && label && strncmp(msg, label, strlen(label)) == 0)
		ctx = &lctx;
	if (rl_limited && !rl_pass(&dropped)) {
		errno = saved;
		return;
	}
	if (dropped) {
		char note[96];

		snprintf(note, sizeof(note), "%lu client event messages suppressed (rate limit)",
			 dropped);
		emit(LOG_WARNING, NULL, __FILE__, __LINE__, __func__, note);
	}
	emit(prio, ctx, file, line, func, msg);
	errno = saved;
}
