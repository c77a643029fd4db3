/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef UACCED_LOG_H
#define UACCED_LOG_H

#include <syslog.h>

/* Logging never changes errno. */
void log_set_level(int level);
int log_get_level(void);
void ulog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * For events a client can cause at will (refusals, exits): at most
 * LOG_RL_BURST lines, refilled at LOG_RL_PER_SEC a second; what is dropped
 * is counted and reported with the next line that passes.
 */
#define LOG_RL_BURST	50
#define LOG_RL_PER_SEC	10
void ulog_rl(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)	ulog(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	ulog(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	ulog(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	ulog(LOG_DEBUG, __VA_ARGS__)

#endif
