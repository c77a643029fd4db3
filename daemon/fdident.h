/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdident.h - what file an fd received from a client is, without asking
 * its file system.  fstat() on a file of a FUSE (or network) file system
 * goes to that file system's server, which the client may have stopped:
 * the caller would hang.  The kernel's own tables answer instead:
 * /proc/self/fdinfo/<fd> gives the mount id and the inode number, and
 * /proc/self/mountinfo that mount's device number and file system type.
 */
#ifndef UACCED_FDIDENT_H
#define UACCED_FDIDENT_H

#include <stdbool.h>
#include <sys/types.h>

struct fd_ident {
	int mnt_id;
	dev_t dev;		/* the mount's st_dev */
	ino_t ino;		/* st_ino */
	char fstype[64];	/* "fuse", "devtmpfs", ... */
};

/* 0, or -errno (-EBADF: no such fd; -EIO: /proc did not say) */
int fd_ident(int fd, struct fd_ident *out);

/*
 * May fstat() be called on a file of this type without the risk of
 * waiting for another process?  (In-memory file systems of the kernel.)
 */
bool fd_ident_local(const struct fd_ident *id);

#endif
