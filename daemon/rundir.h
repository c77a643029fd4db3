/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rundir.h - the runtime directory (--runtime-dir, /run/uacce): the files
 * the daemon keeps there besides the sockets and the attributes (devdir,
 * uacced.pid), and what a daemon that died left behind.
 */
#ifndef UACCED_RUNDIR_H
#define UACCED_RUNDIR_H

#include <stdbool.h>

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

#endif
