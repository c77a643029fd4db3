/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fs.c - the path calls glibc 2.36 exports, each redirected by shim_path()
 * and passed on to glibc's own definition.  A path that is no uacce path
 * costs one compare (shim_candidate()).  Relative paths are left alone: a
 * directory opened through a redirected path already is the real one.
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

/* exported by glibc, declared only by its fortify or pre-2.33 headers */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen);

/*
 * WRAP(ret, fn, fail, params, path, args): define fn(params), redirect its
 * path argument `path` and call glibc's fn(args); `fail` is returned when
 * the path cannot be redirected or glibc lacks fn (errno set).
 */
#define WRAP(ret, fn, fail, params, path, args)				\
	SHIM_SLOT(fn);							\
	SHIM_EXPORT ret fn params					\
	{								\
		char buf_[PATH_MAX];					\
		__typeof__(&fn) real_ = REAL(fn);			\
									\
		if (!real_)						\
			return fail;					\
		path = shim_path(path, buf_, sizeof(buf_));		\
		if (!path)						\
			return fail;					\
		return real_ args;					\
	}

/* the open family: the mode argument is there only with O_CREAT / O_TMPFILE */
#define OPEN_MODE(flags, mode)						\
	do {								\
		if (__OPEN_NEEDS_MODE(flags)) {				\
			va_list ap_;					\
									\
			va_start(ap_, flags);				\
			mode = va_arg(ap_, mode_t);			\
			va_end(ap_);					\
		}							\
	} while (0)

#define WRAP_OPEN(fn)							\
	SHIM_SLOT(fn);							\
	SHIM_EXPORT int fn(const char *path, int flags, ...)		\
	{								\
		char buf_[PATH_MAX];					\
		__typeof__(&fn) real_ = REAL(fn);			\
		mode_t mode = 0;					\
									\
		OPEN_MODE(flags, mode);					\
		if (!real_)						\
			return -1;					\
		path = shim_path(path, buf_, sizeof(buf_));		\
		return path ? real_(path, flags, mode) : -1;		\
	}
#define WRAP_OPENAT(fn)							\
	SHIM_SLOT(fn);							\
	SHIM_EXPORT int fn(int dirfd, const char *path, int flags, ...)	\
	{								\
		char buf_[PATH_MAX];					\
		__typeof__(&fn) real_ = REAL(fn);			\
		mode_t mode = 0;					\
									\
		OPEN_MODE(flags, mode);					\
		if (!real_)						\
			return -1;					\
		path = shim_path(path, buf_, sizeof(buf_));		\
		return path ? real_(dirfd, path, flags, mode) : -1;	\
	}

WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)
WRAP(int, __open_2, -1, (const char *path, int flags), path, (path, flags))
WRAP(int, __open64_2, -1, (const char *path, int flags), path, (path, flags))
WRAP(int, __openat_2, -1, (int dirfd, const char *path, int flags), path, (dirfd, path, flags))
WRAP(int, __openat64_2, -1, (int dirfd, const char *path, int flags), path,
     (dirfd, path, flags))

WRAP(FILE *, fopen, NULL, (const char *path, const char *mode), path, (path, mode))
WRAP(FILE *, fopen64, NULL, (const char *path, const char *mode), path, (path, mode))
WRAP(FILE *, freopen, NULL, (const char *path, const char *mode, FILE *f), path,
     (path, mode, f))
WRAP(FILE *, freopen64, NULL, (const char *path, const char *mode, FILE *f), path,
     (path, mode, f))

/* directories: scandir opens its directory inside glibc, so it is wrapped too */
WRAP(DIR *, opendir, NULL, (const char *path), path, (path))
WRAP(int, scandir, -1,
     (const char *path, struct dirent ***list, int (*sel)(const struct dirent *),
      int (*cmp)(const struct dirent **, const struct dirent **)),
     path, (path, list, sel, cmp))
WRAP(int, scandir64, -1,
     (const char *path, struct dirent64 ***list, int (*sel)(const struct dirent64 *),
      int (*cmp)(const struct dirent64 **, const struct dirent64 **)),
     path, (path, list, sel, cmp))
WRAP(int, scandirat, -1,
     (int dirfd, const char *path, struct dirent ***list, int (*sel)(const struct dirent *),
      int (*cmp)(const struct dirent **, const struct dirent **)),
     path, (dirfd, path, list, sel, cmp))
WRAP(int, chdir, -1, (const char *path), path, (path))
/* tree walks: the callback sees the real paths below the redirected root */
WRAP(int, ftw, -1, (const char *path, __ftw_func_t fn, int nfds), path, (path, fn, nfds))
WRAP(int, ftw64, -1, (const char *path, __ftw64_func_t fn, int nfds), path, (path, fn, nfds))
WRAP(int, nftw, -1, (const char *path, __nftw_func_t fn, int nfds, int flags), path,
     (path, fn, nfds, flags))
WRAP(int, nftw64, -1, (const char *path, __nftw64_func_t fn, int nfds, int flags), path,
     (path, fn, nfds, flags))

/* stat: the 2.33 symbols, the __xstat family of older binaries, statx */
WRAP(int, stat, -1, (const char *path, struct stat *st), path, (path, st))
WRAP(int, stat64, -1, (const char *path, struct stat64 *st), path, (path, st))
WRAP(int, lstat, -1, (const char *path, struct stat *st), path, (path, st))
WRAP(int, lstat64, -1, (const char *path, struct stat64 *st), path, (path, st))
WRAP(int, fstatat, -1, (int dirfd, const char *path, struct stat *st, int flags), path,
     (dirfd, path, st, flags))
WRAP(int, fstatat64, -1, (int dirfd, const char *path, struct stat64 *st, int flags), path,
     (dirfd, path, st, flags))
WRAP(int, __xstat, -1, (int ver, const char *path, struct stat *st), path, (ver, path, st))
WRAP(int, __lxstat, -1, (int ver, const char *path, struct stat *st), path, (ver, path, st))
WRAP(int, __xstat64, -1, (int ver, const char *path, struct stat64 *st), path, (ver, path, st))
WRAP(int, __lxstat64, -1, (int ver, const char *path, struct stat64 *st), path,
     (ver, path, st))
WRAP(int, __fxstatat, -1, (int ver, int dirfd, const char *path, struct stat *st, int flags),
     path, (ver, dirfd, path, st, flags))
WRAP(int, __fxstatat64, -1,
     (int ver, int dirfd, const char *path, struct stat64 *st, int flags), path,
     (ver, dirfd, path, st, flags))
WRAP(int, statx, -1,
     (int dirfd, const char *path, int flags, unsigned int mask, struct statx *st), path,
     (dirfd, path, flags, mask, st))

WRAP(int, access, -1, (const char *path, int mode), path, (path, mode))
WRAP(int, faccessat, -1, (int dirfd, const char *path, int mode, int flags), path,
     (dirfd, path, mode, flags))
WRAP(int, euidaccess, -1, (const char *path, int mode), path, (path, mode))
WRAP(int, eaccess, -1, (const char *path, int mode), path, (path, mode))

WRAP(ssize_t, readlink, -1, (const char *path, char *buf, size_t len), path, (path, buf, len))
WRAP(ssize_t, readlinkat, -1, (int dirfd, const char *path, char *buf, size_t len), path,
     (dirfd, path, buf, len))
WRAP(ssize_t, __readlink_chk, -1, (const char *path, char *buf, size_t len, size_t buflen),
     path, (path, buf, len, buflen))
WRAP(ssize_t, __readlinkat_chk, -1,
     (int dirfd, const char *path, char *buf, size_t len, size_t buflen), path,
     (dirfd, path, buf, len, buflen))

/* the resolved name is the real one: it stays valid without the shim */
WRAP(char *, realpath, NULL, (const char *path, char *resolved), path, (path, resolved))
WRAP(char *, __realpath_chk, NULL, (const char *path, char *resolved, size_t resolvedlen),
     path, (path, resolved, resolvedlen))
WRAP(char *, canonicalize_file_name, NULL, (const char *path), path, (path))
