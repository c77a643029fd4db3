/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotplug.h"

struct hotplug {
	struct udev *udev;
	struct udev_monitor *mon;
};

void hotplug_close(struct hotplug *h)
{
	if (!h)
		return;
	if (h->mon)
		udev_monitor_unref(h->mon);
	if (h->udev)
		udev_unref(h->udev);
	free(h);
}

int hotplug_open(const char *const *subsystems, struct hotplug **out)
{
	struct hotplug *h = calloc(1, sizeof(*h));
	int err = -ENOMEM;

	if (!h)
		return -ENOMEM;
	h->udev = udev_new();
	if (!h->udev)
		goto fail;
	h->mon = udev_monitor_new_from_netlink(h->udev, "kernel");
	if (!h->mon) {
		err = errno ? -errno : -ENOMEM;
		goto fail;
	}
	for (; subsystems && *subsystems; subsystems++) {
		err = udev_monitor_filter_add_match_subsystem_devtype(h->mon, *subsystems, NULL);
		if (err < 0)
			goto fail;
	}
	err = udev_monitor_enable_receiving(h->mon);
	if (err < 0)
		goto fail;
	*out = h;
	return 0;
fail:
	hotplug_close(h);
	return err < 0 ? err : -EIO;
}

int hotplug_fd(const struct hotplug *h)
{
	return udev_monitor_get_fd(h->mon);
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

int hotplug_next(struct hotplug *h, struct hotplug_event *ev)
{
	struct udev_device *d = udev_monitor_receive_device(h->mon);

	if (!d)
		return -EAGAIN;
	copy(ev->action, sizeof(ev->action), udev_device_get_action(d));
	copy(ev->subsystem, sizeof(ev->subsystem), udev_device_get_subsystem(d));
	copy(ev->sysname, sizeof(ev->sysname), udev_device_get_sysname(d));
	copy(ev->driver, sizeof(ev->driver), udev_device_get_property_value(d, "DRIVER"));
	udev_device_unref(d);
	return 0;
}
