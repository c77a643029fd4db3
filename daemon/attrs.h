/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attrs.h - the sysfs look-alike: <runtime-dir>/class/uacce-<name>-<id>/
 * with the v4 attribute files (one value and a newline each).
 */
#ifndef UACCED_ATTRS_H
#define UACCED_ATTRS_H

struct uacce_dev;

int attrs_publish(const char *rundir, struct uacce_dev *d);
/* rewrite available_instances (atomically: write + rename) */
void attrs_update_instances(const char *rundir, struct uacce_dev *d);
void attrs_remove(const char *rundir, struct uacce_dev *d);

#endif
