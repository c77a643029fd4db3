/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udevnode.h - what udev needs to give a CUSE node the configured owner,
 * group and mode, whatever its name (v4 "uacce-<name>-<id>", mainline
 * "<name>-<id>", any node_prefix): one file per node,
 * <runtime-dir>/udev/<node>, in udev's KEY=value property format,
 *
 *	UACCE_NODE_OWNER=0
 *	UACCE_NODE_GROUP=998
 *	UACCE_NODE_MODE=0660
 *
 * written before the node exists and rewritten when nodes.* change.  The
 * static rule systemd/60-uacce.rules matches a "cuse" device only when that
 * file exists (TEST) and takes the values from it (IMPORT{file}): no rule
 * file is rewritten, so udev never applies stale rules to a new node, and
 * no other CUSE device is touched.
 */
#ifndef UACCED_UDEVNODE_H
#define UACCED_UDEVNODE_H

#include <sys/types.h>

/* dir/<name> holds the three properties (atomically replaced); -errno */
int udevnode_write(const char *dir, const char *name, uid_t uid, gid_t gid, mode_t mode);
/* dir/<name> goes (and dir, once empty) */
void udevnode_remove(const char *dir, const char *name);

#endif
