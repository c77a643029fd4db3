/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * paths.c - where a uacce path really is.
 *
 *   /sys/class/uacce[/...]  ->  <rundir>/class[/...]
 *   /dev/<node>             ->  <devdir>/<node>  when <node> is published
 *                               (<rundir>/class/<node> exists) and the daemon
 *                               keeps its nodes elsewhere (<rundir>/devdir
 *                               names the directory: the FUSE fallback)
 *
 * Anything else is left alone.  The shim calls glibc through REAL() only:
 * a call by name would reach its own wrappers.
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shim.h"

SHIM_SLOT(openat);
SHIM_SLOT(close);
SHIM_SLOT(faccessat);

void *shim_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		if (!p) {
			errno = ENOSYS;
			return NULL;
		}
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

const char *shim_rundir(void)
{
	const char *d = getenv("UACCE_RUNTIME_DIR");

	return d && *d ? d : "/run/uacce";
}

static int warned[SHIM_WARN_NR];

void shim_warn_once(enum shim_warn key, const char *fmt, ...)
{
	int saved = errno;
	char line[512];
	va_list ap;
	int n;

	if (__atomic_exchange_n(&warned[key], 1, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= 0)
		dprintf(STDERR_FILENO, "uacce-run: %s\n", line);
	errno = saved;
}

int shim_read_line(const char *path, char *buf, size_t len)
{
	__typeof__(&openat) ropen = REAL(openat);
	__typeof__(&close) rclose = REAL(close);
	ssize_t n;
	int fd;

	if (!ropen || !rclose || len == 0)
		return -ENOSYS;
	fd = ropen(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	n = n < 0 ? -errno : n;
	rclose(fd);
	if (n < 0)
		return (int)n;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return (int)n;
}

static bool exists(const char *path)
{
	__typeof__(&faccessat) racc = REAL(faccessat);

	return racc && racc(AT_FDCWD, path, F_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0;
}

/* /sys/class/uacce + rest -> <rundir>/class + rest */
static const char *class_path(const char *path, char *buf, size_t len)
{
	static int seen;	/* the class dir existed once: stop looking */
	const char *rt = shim_rundir();
	int saved = errno;

	if (!__atomic_load_n(&seen, __ATOMIC_RELAXED)) {
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/class", rt);
		if (exists(dir))
			__atomic_store_n(&seen, 1, __ATOMIC_RELAXED);
		else if (errno == EACCES)
			shim_warn_once(SHIM_WARN_NODAEMON,
				       "Permission denied: %s: the runtime directory %s is closed "
				       "to uid %u, /sys/class/uacce is empty", dir, rt,
				       (unsigned)geteuid());
		else
			shim_warn_once(SHIM_WARN_NODAEMON,
				       "no uacced serves the runtime directory %s: no %s "
				       "(UACCE_RUNTIME_DIR), /sys/class/uacce is empty", rt, dir);
		errno = saved;
	}
	if ((size_t)snprintf(buf, len, "%s/class%s", rt, path + 16) >= len) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

/* /dev/<node> of a published node kept elsewhere -> <devdir>/<node> */
static const char *node_path(const char *path, char *buf, size_t len)
{
	const char *name = path + 5, *rt = shim_rundir();
	char dir[4096];
	int saved = errno;

	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return path;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/class/%s", rt, name) >= sizeof(dir) ||
	    !exists(dir))
		goto untouched;
	snprintf(dir, sizeof(dir), "%s/devdir", rt);
	if (shim_read_line(dir, dir, sizeof(dir)) <= 0 || strcmp(dir, "/dev") == 0)
		goto untouched;
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		goto untouched;
	errno = saved;
	return buf;
untouched:
	errno = saved;
	return path;
}

const char *shim_path_slow(const char *path, char *buf, size_t len)
{
	return path[1] == 's' ? class_path(path, buf, len) : node_path(path, buf, len);
}
