/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fdident.c - identify a client's fd without waiting for its file system (fdident.h) */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fdident.h"

/* "mnt_id:" of /proc/self/fdinfo/<fd> */
static int read_mnt_id(int fd, int *mnt_id)
{
	char path[64], line[256];
	int err = -EIO;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "mnt_id: %llu", &v) == 1) {
			*mnt_id = (int)v;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* the type of mount `mnt_id` (/proc/self/mountinfo); -EIO when not there */
static int read_mount_type(int mnt_id, char *fstype, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int err = -EIO;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		unsigned id, parent, maj, min;
		char *sep, type[64];

		if (sscanf(line, "%u %u %u:%u", &id, &parent, &maj, &min) != 4 || (int)id != mnt_id)
			continue;
		/* optional fields end at " - ", then the type */
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", type) != 1 || strlen(type) >= len)
			break;
		snprintf(fstype, len, "%s", type);
		err = 0;
		break;
	}
	free(line);
	fclose(f);
	return err;
}

int fd_ident(int fd, struct fd_ident *out)
{
	struct statx stx;

	memset(out, 0, sizeof(*out));
	out->mnt_id = -1;
	if (fd < 0)
		return -EBADF;
	/* cached attributes only: no request to a FUSE or network server */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_MODE | STATX_INO, &stx) < 0)
		return -errno;
	out->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	out->rdev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
	out->ino = (ino_t)stx.stx_ino;
	out->mode = stx.stx_mode;
	/* the mount and its type, when it is one of our namespace's */
	if (read_mnt_id(fd, &out->mnt_id) == 0 &&
	    read_mount_type(out->mnt_id, out->fstype, sizeof(out->fstype)) != 0)
		out->fstype[0] = '\0';
	return 0;
}

bool fd_ident_local(const struct fd_ident *id)
{
	static const char *const local[] = { "devtmpfs", "tmpfs", "ramfs", NULL };

	/* pipes, sockets, anonymous inodes: no flush */
	if (S_ISFIFO(id->mode) || S_ISSOCK(id->mode) || (id->mode & S_IFMT) == 0)
		return true;
	/*
	 * A device's close is its driver's: a CUSE node's last one waits for
	 * its server's RELEASE (ours too), a tty's may wait for its output to
	 * drain.  Only the memory devices (major 1: null, zero, random...) are
	 * known not to wait.
	 */
	if (S_ISCHR(id->mode) || S_ISBLK(id->mode))
		return S_ISCHR(id->mode) && major(id->rdev) == 1;
	for (int i = 0; local[i]; i++)
		if (strcmp(id->fstype, local[i]) == 0)
			return true;
	return false;
}
