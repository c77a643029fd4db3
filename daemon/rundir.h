/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rundir.h - the runtime directory (--runtime-dir, /run/uacce): the files
 * the daemon keeps there besides the sockets and the attributes (devdir,
 * uacced.pid), and what a daemon that died left behind.
 */
#ifndef UACCED_RUNDIR_H
#define UACCED_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Who may connect to a socket of the runtime directory: connect(2) on a
 * Unix socket needs write permission on its file, so owner, group and mode
 * decide who reaches the daemon at all (the daemon still checks each peer).
 */
struct sock_perms {
	uid_t uid;
	gid_t gid;
	mode_t mode;			/* permission bits only */
};

/* <rundir>/<name> holds val and a newline; -errno */
int rundir_write(const char *rundir, const char *name, const char *val);
/* remove devdir and uacced.pid */
void rundir_remove_files(const char *rundir);
/* does uacced.pid name another live uacced? */
bool rundir_in_use(const char *rundir);
/*
 * Remove what a daemon that died left behind: the attributes (class/,
 * devices/, temporaries), the nodes' udev properties (udev/), devdir and
 * uacced.pid (sockets are replaced when bound).
 */
void rundir_remove_stale(const char *rundir);
/*
 * Give the socket file at path p's owner, group and mode.  An owner or
 * group change goes through owner-only access, so that nobody holds the
 * old group's access with the new owners or the reverse meanwhile.  -errno
 * (-ENOTSOCK: path is no socket; a symbolic link is never followed).
 */
int rundir_sock_perms(const char *path, const struct sock_perms *p);

/*
 * Can the clients that p lets open the nodes (others when p->mode grants
 * others access, else the group p->gid, else the owner p->uid) search
 * every directory of rundir's path, rundir included?  By the mode bits
 * (ACLs are not read).  0: yes, or those clients are root alone; 1: no,
 * *bad gets the first closed directory and *st its status; -errno.
 */
int rundir_closed_to_clients(const char *rundir, const struct sock_perms *p, char *bad,
			     size_t len, struct stat *st);

/*
 * A listening socket handed over by a predecessor (live restart): is it a
 * listening AF_UNIX socket of `type` bound at path?  Made non-blocking.
 * 0 or -errno (-EINVAL: not that socket).
 */
int rundir_adopt_listener(int lfd, const char *path, int type);

#endif
