/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - the daemon's log.
 *
 * Two targets.  The console: one readable line per record on stderr
 * ("2026-12-02 23:30:01.123 uacced info: ..."; when stderr is the journal's
 * stream, JOURNAL_STREAM, "<6>uacced: info: ...": the "<N>" prefix gives
 * journald the priority).  The journal: one record per
 * datagram to journald's native socket, with MESSAGE, PRIORITY,
 * SYSLOG_IDENTIFIER=uacced, CODE_FILE/CODE_LINE/CODE_FUNC and, for events
 * about a device or a queue, UACCE_DEVICE, UACCE_QUEUE, UACCE_UID,
 * UACCE_PID and UACCE_COMM (see struct ulog_ctx).  A record the socket does
 * not take (journald gone, its queue still full after 50 ms) is written to
 * stderr instead; after such a timeout records do not wait until one passes.
 *
 * Logging never changes errno ("%m" is the caller's errno).
 */
#ifndef UACCED_LOG_H
#define UACCED_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

/* What a record is about: NULL / 0 fields are left out. */
struct ulog_ctx {
	const char *device;	/* UACCE_DEVICE: "uacce-dummy-1" */
	uint64_t queue;		/* UACCE_QUEUE: queue id (0: none) */
	bool owner;		/* UACCE_UID, UACCE_PID (and UACCE_COMM) are set */
	uid_t uid;		/* the opener's uid */
	pid_t pid;		/* the owner process */
	const char *comm;	/* UACCE_COMM: its command (may hold any byte) */
};

enum log_target {
	LOG_TARGET_AUTO,	/* the journal when stderr is connected to it */
	LOG_TARGET_CONSOLE,	/* lines on stderr */
	LOG_TARGET_JOURNAL,	/* native records */
};

/* "auto", "console", "journal": 0, or -EINVAL */
int log_target_parse(const char *s, enum log_target *t);
const char *log_target_name(enum log_target t);
/* install a target (AUTO is resolved now); returns the one in force */
enum log_target log_set_target(enum log_target t);
enum log_target log_get_target(void);
/* is stderr the journal (JOURNAL_STREAM names the device and inode of fd 2)? */
bool log_stderr_is_journal(void);
/* journald's native socket; NULL restores the default (for tests) */
void log_set_journal_socket(const char *path);

/*
 * The next record of this thread, if its message starts with `label`, is
 * about *ctx (copied; its strings must outlive that record): for code that
 * names a queue by its label only - the backends, through uacce_hwq_label().
 */
void ulog_label_ctx(const char *label, const struct ulog_ctx *ctx);

void log_set_level(int level);
int log_get_level(void);

/*
 * The record writer behind the macros below.  `rl`: rate-limited (see
 * LOG_RL_BURST).  file/line/func: CODE_FILE, CODE_LINE, CODE_FUNC.
 */
void ulog_at(int prio, const struct ulog_ctx *ctx, bool rl, const char *file, int line,
	     const char *func, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#define ulog(prio, ...)	ulog_at((prio), NULL, false, __FILE__, __LINE__, __func__, __VA_ARGS__)
/* a record about a device or queue: ctx gives its journal fields */
#define ulog_ctx(prio, ctx, ...) \
	ulog_at((prio), (ctx), false, __FILE__, __LINE__, __func__, __VA_ARGS__)

/*
 * For events a client can cause at will (refusals, exits): at most
 * LOG_RL_BURST records, refilled at LOG_RL_PER_SEC a second; what is
 * dropped is counted and reported with the next record that passes.
 */
#define LOG_RL_BURST	50
#define LOG_RL_PER_SEC	10
#define ulog_rl(prio, ...) \
	ulog_at((prio), NULL, true, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define ulog_ctx_rl(prio, ctx, ...) \
	ulog_at((prio), (ctx), true, __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_err(...)	ulog(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	ulog(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	ulog(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	ulog(LOG_DEBUG, __VA_ARGS__)

#endif
