/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udevnode.c - a CUSE node's udev properties (see udevnode.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "udevnode.h"

int udevnode_write(const char *dir, const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	char path[512], tmp[520], buf[160];
	int n;

	if (!name[0] || strchr(name, '/') || name[0] == '.')
		return -EINVAL;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	/* a dot name: never a node's (names do not start with '.') */
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	n = snprintf(buf, sizeof(buf), "UACCE_NODE_OWNER=%u\nUACCE_NODE_GROUP=%u\n"
		     "UACCE_NODE_MODE=%04o\n", (unsigned)uid, (unsigned)gid,
		     (unsigned)(mode & 07777));
	return atomic_write_file(tmp, path, buf, (size_t)n, 0644);
}

void udevnode_remove(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	rmdir(dir);	/* only succeeds once empty */
}
