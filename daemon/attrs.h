/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attrs.h - the sysfs look-alike: <runtime-dir>/class/<node>/ with the
 * attribute files of the device's profile (one value and a newline each),
 * plus, in both profiles, "dev" (the node's MAJ:MIN) and the "device" link
 * (to the hardware's sysfs directory, or to <runtime-dir>/devices/<node>/
 * for a software device) whose numa_node programs read.
 *
 * Values are current when read: a value that changes (available_instances)
 * is rewritten, atomically, in the same critical section as the change
 * (available_instances: exchanged with one of the per-value files under
 * <runtime-dir>/.avail/<node>/, see attrs.c).
 */
#ifndef UACCED_ATTRS_H
#define UACCED_ATTRS_H

#include <sys/types.h>

struct uacce_dev;

/* <runtime-dir>/.avail/<node>/: available_instances' value files */
#define AVAIL_DIR ".avail"

int attrs_publish(const char *rundir, struct uacce_dev *d);
/* swap in available_instances' new value (atomically: one renameat2 exchange) */
void attrs_update_instances(const char *rundir, struct uacce_dev *d);
/*
 * "dev" once the frontend published the node: its device number (CUSE:
 * the character device's; a FUSE fallback file has none: 0:0, its
 * st_rdev).  -errno.
 */
int attrs_publish_dev(const char *rundir, struct uacce_dev *d, dev_t rdev);
void attrs_remove(const char *rundir, struct uacce_dev *d);

#endif
