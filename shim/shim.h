/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * shim.h - libuacce-preload.so's internals (uacce-run(1)).
 *
 * An unmodified program gets uacce's kernel view: /sys/class/uacce is the
 * daemon's class tree, /dev/<node> its node wherever the daemon publishes
 * it, and mmap() of a queue fd goes to the region broker.  paths.c
 * redirects paths, fs.c wraps the path calls glibc exports, queue.c keeps
 * the queues and regions a process maps, mem.c wraps mmap and friends.
 */
#ifndef UACCE_SHIM_H
#define UACCE_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

/*
 * The next definition of a symbol (glibc's), looked up once per symbol and
 * cached in *slot; NULL when no one defines it (errno is then ENOSYS).
 */
void *shim_sym(void **slot, const char *name);
#define SHIM_SLOT(fn) static void *slot_##fn
#define REAL(fn) ((__typeof__(&fn))shim_sym(&slot_##fn, #fn))

/* the daemon's runtime directory, as libuacce's uacce_runtime_dir() */
const char *shim_rundir(void);

/* print "uacce-run: <msg>" on stderr once per process and per key */
enum shim_warn { SHIM_WARN_NODAEMON, SHIM_WARN_BROKER, SHIM_WARN_NR };
void shim_warn_once(enum shim_warn key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* a path the shim may have to redirect: the one compare of the fast path */
static inline bool shim_candidate(const char *p)
{
	return p && p[0] == '/' &&
	       ((p[1] == 's' && strncmp(p, "/sys/class/uacce", 16) == 0 &&
		 (p[16] == '\0' || p[16] == '/')) ||
		(p[1] == 'd' && strncmp(p, "/dev/", 5) == 0));
}

/*
 * The path to use for `path`: `path` itself, or the redirected one written
 * to buf.  NULL (errno ENAMETOOLONG) when it does not fit.  errno is left
 * alone otherwise.
 */
const char *shim_path_slow(const char *path, char *buf, size_t len);
static inline const char *shim_path(const char *path, char *buf, size_t len)
{
	return shim_candidate(path) ? shim_path_slow(path, buf, len) : path;
}

/* read the small file `path` (one line, newline stripped): its length or -errno */
int shim_read_line(const char *path, char *buf, size_t len);

/* --- queues (queue.c) --------------------------------------------------------- */

struct stat;

/*
 * fd is a queue of the daemon's (an open published node): 1 (and its
 * fstat in *st), not: 0.  A queue fd the shim already knows costs an fstat.
 */
int shim_is_queue(int fd, struct stat *st);

/* mmap(2) of a queue fd (st: its fstat) through the broker; MAP_FAILED with errno */
void *shim_queue_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		      const struct stat *st);

/* munmap of [addr, addr+len) done: report each region it removed */
void shim_regions_unmapped(void *addr, size_t len);

/* a region intersects [addr, addr+len) */
bool shim_in_region(void *addr, size_t len);

/* fd is about to be closed (or replaced): forget its queue */
void shim_fd_closing(int fd);
void shim_fd_range_closing(unsigned lo, unsigned hi);

/* counters of the fast paths: nothing tracked -> the wrappers pass through */
extern int shim_nqueues, shim_nregions;
static inline bool shim_tracking_queues(void)
{
	return __atomic_load_n(&shim_nqueues, __ATOMIC_RELAXED) > 0;
}
static inline bool shim_tracking_regions(void)
{
	return __atomic_load_n(&shim_nregions, __ATOMIC_RELAXED) > 0;
}

#endif /* UACCE_SHIM_H */
