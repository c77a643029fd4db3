/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdident.h - what file an fd received from a client is, without waiting
 * for its file system.  fstat() on a file of a FUSE (or network) file
 * system may go to that file system's server, which the client may have
 * stopped: the caller would hang.  statx(AT_STATX_DONT_SYNC) answers from
 * the attributes the kernel has cached (FUSE and NFS send no request for
 * it); /proc/self/fdinfo and /proc/self/mountinfo add the mount and its
 * type where the mount is in our mount namespace (a sandboxed daemon does
 * not see the client's /dev, for one).
 */
#ifndef UACCED_FDIDENT_H
#define UACCED_FDIDENT_H

#include <stdbool.h>
#include <sys/types.h>

struct fd_ident {
	dev_t dev;		/* st_dev */
	ino_t ino;		/* st_ino */
	mode_t mode;		/* st_mode (type and permissions) */
	dev_t rdev;		/* st_rdev of a device node */
	int mnt_id;		/* -1: unknown */
	char fstype[64];	/* "fuse", "devtmpfs", ...; "" when not in our mountinfo */
};

/* 0, or -errno (-EBADF: no such fd) */
int fd_ident(int fd, struct fd_ident *out);

/*
 * Open the long-lived /proc/self/mountinfo fd whose POLLPRI tells when
 * the mount table changed, so that fd_ident caches mount types by mount
 * id.  Call it once at setup, before any client can connect (the daemon's
 * fd count must not grow with its first client).  0 or -errno (then
 * fd_ident works uncached).
 */
int fd_ident_prepare(void);

/*
 * May close() of such a file be done without the risk of waiting for
 * another process?  (In-memory file systems of the kernel, pipes, sockets,
 * anonymous inodes, the memory devices; not other devices - their drivers
 * decide, and a CUSE node's is a process -, nor an unknown file system.)
 */
bool fd_ident_local(const struct fd_ident *id);

#endif
