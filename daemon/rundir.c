/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rundir.c - the runtime directory's own files (see rundir.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "rundir.h"

int rundir_write(const char *rundir, const char *name, const char *val)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", rundir, name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", val);
	return fclose(f) ? -errno : 0;
}

void rundir_remove_files(const char *rundir)
{
	static const char *const names[] = { "devdir", "uacced.pid" };
	char path[320];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", rundir, names[i]);
		unlink(path);
	}
}

/* another daemon alive on this runtime dir? */
bool rundir_in_use(const char *rundir)
{
	char path[320], comm[64] = "";
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/uacced.pid", rundir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || pid == getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "uacced", 6) == 0;
}

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d))) {
		char sub[600];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			rm_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

/* an attribute's temporary file (attrs.c): <rundir>/.<node>.<attr>.tmp */
static void rm_attr_temps(const char *rundir)
{
	DIR *d = opendir(rundir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[600];

		if (de->d_name[0] != '.' || n < 6 || strcmp(de->d_name + n - 4, ".tmp") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", rundir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

/*
 * files a daemon that died left behind: attributes (class/, devices/,
 * .avail/ and their temporaries), the nodes' udev properties (udev/), devdir, pid
 */
void rundir_remove_stale(const char *rundir)
{
	static const char *const trees[] = { "class", "devices", "udev", ".avail" };
	char path[320];
	bool said = false;

	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", rundir, trees[i]);
		if (access(path, F_OK) == 0 && !said) {
			log_info("%s: removing runtime files left by a previous daemon", rundir);
			said = true;
		}
		rm_tree(path);
	}
	rm_attr_temps(rundir);
	rundir_remove_files(rundir);
}

int rundir_sock_perms(const char *path, const struct sock_perms *p)
{
	mode_t mode = p->mode & 0777;
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (st.st_uid != p->uid || st.st_gid != p->gid) {
		if (chmod(path, st.st_mode & mode & 0700) < 0 ||
		    lchown(path, p->uid, p->gid) < 0)
			return -errno;
	}
	return chmod(path, mode) < 0 ? -errno : 0;
}

/* may a client of p search directory st? (mode bits only) */
static bool searchable(const struct stat *st, const struct sock_perms *p)
{
	if (st->st_mode & S_IXOTH)
		return true;
	if (p->mode & 0006)		/* every user: others' bit alone counts */
		return false;
	if (p->mode & 0060)		/* the group's members */
		return st->st_gid == p->gid && (st->st_mode & S_IXGRP);
	return st->st_uid == p->uid && (st->st_mode & S_IXUSR);
}

int rundir_closed_to_clients(const char *rundir, const struct sock_perms *p, char *bad,
			     size_t len, struct stat *st)
{
	char path[PATH_MAX];
	size_t n;

	if (!(p->mode & 0066) && p->uid == 0)
		return 0;		/* nobody but root may open the nodes anyway */
	if (!realpath(rundir, path))
		return -errno;
	n = strlen(path);
	/* "/", then each prefix ending before a '/', then the whole path */
	for (size_t i = 1; i <= n; i++) {
		char c = path[i];
		bool closed;

		if (i > 1 && i < n && c != '/')
			continue;
		path[i] = '\0';		/* i == 1: "/" */
		if (stat(path, st) < 0) {
			path[i] = c;
			return -errno;
		}
		closed = !searchable(st, p);
		if (closed)
			snprintf(bad, len, "%s", path);
		path[i] = c;
		if (closed)
			return 1;
	}
	return 0;
}

int rundir_adopt_listener(int lfd, const char *path, int type)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa), tl = sizeof(int), al = sizeof(int);
	int got = 0, acc = 0;

	if (getsockopt(lfd, SOL_SOCKET, SO_TYPE, &got, &tl) < 0 ||
	    getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	if (got != type || !acc || sa.sun_family != AF_UNIX ||
	    strncmp(sa.sun_path, path, sizeof(sa.sun_path)) != 0)
		return -EINVAL;
	if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}
