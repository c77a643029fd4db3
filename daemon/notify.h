/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * notify.h - the systemd notification protocol (sd_notify(3)) without
 * libsystemd: READY=1, STATUS=..., WATCHDOG=1, STOPPING=1 as datagrams to
 * $NOTIFY_SOCKET.  Does nothing when not started by systemd.
 */
#ifndef UACCED_NOTIFY_H
#define UACCED_NOTIFY_H

#include <stdint.h>

int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* microseconds between WATCHDOG=1 pings systemd expects, 0 if none */
uint64_t notify_watchdog_usec(void);

#endif
