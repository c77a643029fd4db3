/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hotplug.h - kernel uevents about hardware (libudev), for the backends
 * that bind hardware: the daemon re-checks their entries when one of
 * their devices is added, removed, bound or unbound.
 *
 * The monitor listens to the kernel's own uevents, not to udevd's: the
 * service runs with PrivateNetwork=yes, and netlink messages from udevd
 * (which lives in the host's network namespace) never reach it, while
 * the kernel sends device uevents into every network namespace.  The
 * backends re-read sysfs on each event, so nothing depends on udev rules
 * having run.
 */
#ifndef UACCED_HOTPLUG_H
#define UACCED_HOTPLUG_H

#include <stddef.h>

struct hotplug;

struct hotplug_event {
	char action[16];		/* add, remove, bind, unbind, change, ... */
	char subsystem[32];
	char sysname[64];
	char driver[64];		/* "" when the event names none */
};

/* listen to the uevents of the subsystems (NULL-terminated); -errno */
int hotplug_open(const char *const *subsystems, struct hotplug **out);
void hotplug_close(struct hotplug *h);
/* readable when events wait */
int hotplug_fd(const struct hotplug *h);
/* 0 with the next event, -EAGAIN when none is waiting */
int hotplug_next(struct hotplug *h, struct hotplug_event *ev);

#endif
