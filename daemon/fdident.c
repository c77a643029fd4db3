/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fdident.c - identify a client's fd without waiting for its file system (fdident.h) */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
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

/*
 * Mount types by mount id, so that identifying an fd does not parse the
 * whole mount table each time.  Mount ids are not reused while a mount
 * lives, and any change of our namespace's mount table (a mount, an
 * unmount, a move) makes the long-lived /proc/self/mountinfo fd report
 * POLLPRI | POLLERR once: then the cache is emptied before it is used.
 * The fd is opened at daemon setup (fd_ident_prepare), never later: the
 * daemon's fd count stays what it was after setup.  Without it (not
 * prepared, or it failed) nothing is cached.
 */
#define MNT_CACHE 16

static struct {
	pthread_mutex_t lock;
	int fd;			/* /proc/self/mountinfo, or -1 */
	int n, next;		/* entries used, the next to replace */
	struct {
		int mnt_id;
		char fstype[64];
	} e[MNT_CACHE];
} mc = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

int fd_ident_prepare(void)
{
	struct pollfd p;
	int fd;

	pthread_mutex_lock(&mc.lock);
	if (mc.fd >= 0) {
		pthread_mutex_unlock(&mc.lock);
		return 0;
	}
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		pthread_mutex_unlock(&mc.lock);
		return err;
	}
	/* take the event pending from before: from now on a report is a change */
	p = (struct pollfd){ .fd = fd, .events = POLLPRI };
	(void)poll(&p, 1, 0);
	mc.fd = fd;
	mc.n = mc.next = 0;
	pthread_mutex_unlock(&mc.lock);
	return 0;
}

/* mc.lock held: forget every entry if the mount table changed */
static void check_changed_locked(void)
{
	struct pollfd p = { .fd = mc.fd, .events = POLLPRI };

	if (poll(&p, 1, 0) != 0)	/* a change, or poll failed: trust nothing */
		mc.n = mc.next = 0;
}

static int mount_type(int mnt_id, char *fstype, size_t len)
{
	int err;

	pthread_mutex_lock(&mc.lock);
	if (mc.fd >= 0) {
		check_changed_locked();
		for (int i = 0; i < mc.n; i++) {
			if (mc.e[i].mnt_id == mnt_id && strlen(mc.e[i].fstype) < len) {
				snprintf(fstype, len, "%s", mc.e[i].fstype);
				pthread_mutex_unlock(&mc.lock);
				return 0;
			}
		}
	}
	pthread_mutex_unlock(&mc.lock);
	err = read_mount_type(mnt_id, fstype, len);
	if (err)
		return err;
	pthread_mutex_lock(&mc.lock);
	/*
	 * A change after the read shows at the next look-up; one between the
	 * check above and the read cannot make this entry wrong: a mount id
	 * names one mount for as long as it exists.
	 */
	if (mc.fd >= 0 && strlen(fstype) < sizeof(mc.e[0].fstype)) {
		int i = mc.n < MNT_CACHE ? mc.n++ : mc.next++ % MNT_CACHE;

		mc.e[i].mnt_id = mnt_id;
		snprintf(mc.e[i].fstype, sizeof(mc.e[i].fstype), "%s", fstype);
	}
	pthread_mutex_unlock(&mc.lock);
	return 0;
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
	    mount_type(out->mnt_id, out->fstype, sizeof(out->fstype)) != 0)
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
