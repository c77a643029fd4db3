/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-dl.c - a module shim-probe loads with dlopen(3): its calls reach
 * libuacce-preload.so as the program's own do.  No libuacce.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
EXPORT int shim_dl_read(const char *path, char *buf, int len);
EXPORT void *shim_dl_map(int fd, size_t len, off_t off);

/* the first line of a file (newline stripped): its length, or -errno */
EXPORT int shim_dl_read(const char *path, char *buf, int len)
{
	FILE *f = fopen(path, "re");
	int n;

	if (!f)
		return -errno;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	n = (int)strcspn(buf, "\n");
	buf[n] = '\0';
	return n;
}

/* mmap of a queue fd from inside the module: the address or NULL (errno) */
EXPORT void *shim_dl_map(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}
