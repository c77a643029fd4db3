/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * atomicfile.h - write a small file so that a reader sees the old or the
 * new content, never a part: through a temporary file renamed over it.
 */
#ifndef UACCED_ATOMICFILE_H
#define UACCED_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * `path` gets the `len` bytes of `buf` with mode `mode`, by way of `tmp`
 * (on the same file system; removed on failure).  0 or -errno.
 */
int atomic_write_file(const char *tmp, const char *path, const void *buf, size_t len,
		      mode_t mode);

#endif
