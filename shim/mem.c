/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mem.c - mmap of a queue fd goes to the broker (queue.c); munmap of a
 * region tells it; mremap of a region is refused (EPERM, as mainline);
 * closing or replacing a queue fd forgets the queue.  Each wrapper passes
 * straight to glibc while the shim tracks nothing (an atomic load), and
 * mmap of anything but a file or character device fd costs nothing more.
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"


SHIM_SLOT(mmap);
SHIM_SLOT(mmap64);
SHIM_SLOT(munmap);
SHIM_SLOT(mremap);
SHIM_SLOT(close);
SHIM_SLOT(dup2);
SHIM_SLOT(dup3);
SHIM_SLOT(close_range);
SHIM_SLOT(closefrom);

static void *map(__typeof__(&mmap) real, void *addr, size_t len, int prot, int flags, int fd,
		 off_t off)
{
	struct stat st;

	if (!real)
		return MAP_FAILED;
	if (fd < 0 || (flags & MAP_ANONYMOUS) || !shim_is_queue(fd, &st))
		return real(addr, len, prot, flags, fd, off);
	return shim_queue_mmap(addr, len, prot, flags, fd, off, &st);
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map(REAL(mmap), addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return map((__typeof__(&mmap))REAL(mmap64), addr, len, prot, flags, fd, off);
}

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	__typeof__(&munmap) real = REAL(munmap);
	int r;

	if (!real)
		return -1;
	r = real(addr, len);
	if (r == 0 && shim_tracking_regions())
		shim_regions_unmapped(addr, len);
	return r;
}

SHIM_EXPORT void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
	__typeof__(&mremap) real = REAL(mremap);
	void *newaddr = NULL;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		newaddr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!real)
		return MAP_FAILED;
	if (shim_tracking_regions() && shim_in_region(old, oldlen)) {
		errno = EPERM;
		return MAP_FAILED;
	}
	return real(old, oldlen, newlen, flags, newaddr);
}

SHIM_EXPORT int close(int fd)
{
	__typeof__(&close) real = REAL(close);

	if (!real)
		return -1;
	if (shim_tracking_queues())
		shim_fd_closing(fd);
	return real(fd);
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	__typeof__(&dup2) real = REAL(dup2);

	if (!real)
		return -1;
	if (shim_tracking_queues() && oldfd != newfd && fcntl(oldfd, F_GETFD) >= 0)
		shim_fd_closing(newfd);
	return real(oldfd, newfd);
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	__typeof__(&dup3) real = REAL(dup3);

	if (!real)
		return -1;
	if (shim_tracking_queues() && oldfd != newfd && fcntl(oldfd, F_GETFD) >= 0)
		shim_fd_closing(newfd);
	return real(oldfd, newfd, flags);
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	__typeof__(&close_range) real = REAL(close_range);

	if (!real)
		return -1;
	if (shim_tracking_queues() && !(flags & CLOSE_RANGE_CLOEXEC))
		shim_fd_range_closing(first, last);
	return real(first, last, flags);
}

SHIM_EXPORT void closefrom(int lowfd)
{
	__typeof__(&closefrom) real = REAL(closefrom);

	if (shim_tracking_queues() && lowfd >= 0)
		shim_fd_range_closing((unsigned)lowfd, ~0u);
	if (real)
		real(lowfd);
}
