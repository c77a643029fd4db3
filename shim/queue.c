/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * queue.c - the queues a process maps regions of, and their regions.
 *
 * A queue fd is recognised by fstat: a character device whose number is a
 * published node's (CUSE), or a regular file on the file system that
 * <rundir>/devdir names (the FUSE fallback's mount holds nothing else).
 * The first mmap of a queue connects the region broker (one connection per
 * queue, attached with the queue fd itself), then each mmap is UB_MMAP,
 * the mapping of the region fd the reply carries, MADV_DONTFORK and
 * UB_MAPPED; a munmap that removes a whole region is UB_UNMAP.
 *
 * Locking: one recursive mutex guards the list and every broker
 * conversation (the codec closes refused fds through close(), which comes
 * back here).  fork: the child drops every queue it inherited (its region
 * mappings were not inherited, its broker sockets speak for the parent);
 * a child that maps a queue fd connects anew and the broker decides
 * (EPERM for anyone but the opener).
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker_wire.h"
#include "shim.h"

SHIM_SLOT(mmap);
SHIM_SLOT(munmap);
SHIM_SLOT(close);
SHIM_SLOT(stat);
SHIM_SLOT(opendir);

struct shim_region {
	struct shim_region *next;	/* owner: shim_queue.regions */
	void *addr;
	size_t len;
	uint32_t type;			/* enum uacce_qfrt, as the broker named it */
};

struct shim_queue {
	struct shim_queue *next;	/* owner: queues */
	int fd;
	dev_t dev;			/* fstat of fd when it was recognised */
	ino_t ino;
	pid_t pid;			/* the process that recognised it */
	int sock;			/* broker connection attached to it, or -1 */
	struct shim_region *regions;	/* owned */
};

static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct shim_queue *queues;	/* guarded by lock */
int shim_nqueues, shim_nregions;	/* list lengths, read without the lock */

static void rclose(int fd)
{
	__typeof__(&close) c = REAL(close);

	if (c)
		c(fd);
}

static struct shim_queue *queue_find(int fd)
{
	for (struct shim_queue *q = queues; q; q = q->next)
		if (q->fd == fd)
			return q;
	return NULL;
}

static void regions_free(struct shim_queue *q)
{
	struct shim_region *r;

	while ((r = q->regions)) {
		q->regions = r->next;
		free(r);
		__atomic_sub_fetch(&shim_nregions, 1, __ATOMIC_RELAXED);
	}
}

/* unlink and free q; its broker connection goes (the daemon drops its side) */
static void queue_drop(struct shim_queue *q)
{
	for (struct shim_queue **pp = &queues; *pp; pp = &(*pp)->next) {
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	}
	if (q->sock >= 0)
		rclose(q->sock);
	regions_free(q);
	free(q);
	__atomic_sub_fetch(&shim_nqueues, 1, __ATOMIC_RELAXED);
}

/* --- recognising a queue fd ----------------------------------------------------- */

/* the directory the daemon publishes its nodes in, or -errno */
static int node_dir(char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/devdir", shim_rundir());
	return shim_read_line(path, buf, len);
}

/* a published node (a name in <rundir>/class) is the character device rdev */
static bool published_chr(const char *dir, dev_t rdev)
{
	__typeof__(&opendir) ropendir = REAL(opendir);
	__typeof__(&stat) rstat = REAL(stat);
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "%s/class", shim_rundir());
	if (!ropendir || !rstat || !(d = ropendir(path)))
		return false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		found = rstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev;
	}
	closedir(d);
	return found;
}

static bool published(const struct stat *st)
{
	__typeof__(&stat) rstat = REAL(stat);
	char dir[PATH_MAX];
	struct stat dst;

	if (node_dir(dir, sizeof(dir)) <= 0)
		return false;
	/* regular files are nodes only in the FUSE fallback's own mount */
	if (S_ISREG(st->st_mode))
		return strcmp(dir, "/dev") != 0 && rstat && rstat(dir, &dst) == 0 &&
		       dst.st_dev == st->st_dev;
	return published_chr(dir, st->st_rdev);
}

#define FUSE_MAGIC 0x65735546	/* statfs(2): FUSE_SUPER_MAGIC */

static bool on_fuse(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type == FUSE_MAGIC;
}

int shim_is_queue(int fd, struct stat *st)
{
	int saved = errno, yes = 0;

	if (fstat(fd, st) != 0)
		goto out;
	/* quick refusals: files on block devices or on no FUSE mount, /dev/mem & co */
	if (S_ISREG(st->st_mode) ? major(st->st_dev) != 0 || !on_fuse(fd) :
	    !S_ISCHR(st->st_mode) || major(st->st_rdev) == 1)
		goto out;
	if (shim_tracking_queues()) {
		pthread_mutex_lock(&lock);
		struct shim_queue *q = queue_find(fd);

		yes = q && q->dev == st->st_dev && q->ino == st->st_ino && q->pid == getpid();
		pthread_mutex_unlock(&lock);
	}
	if (!yes)
		yes = published(st);
out:
	errno = saved;
	return yes;
}

/* --- the broker ------------------------------------------------------------------- */

static int broker_connect(struct shim_queue *q)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ub_reply r;
	int rfd = -1, err;

	if (q->sock >= 0)
		return 0;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", shim_rundir(),
			     UB_SOCKET_NAME) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	q->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (q->sock < 0)
		return -errno;
	if (connect(q->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		shim_warn_once(SHIM_WARN_BROKER, "cannot reach uacced's region broker %s: %s",
			       sa.sun_path, strerror(-err));
		err = -ENOTCONN;
		goto fail;
	}
	err = ub_call(q->sock, UB_ATTACH, NULL, 0, q->fd, &r, &rfd);
	if (rfd >= 0)
		rclose(rfd);
	if (!err)
		err = r.status;
	if (err)
		goto fail;
	return 0;
fail:
	rclose(q->sock);
	q->sock = -1;
	return err == -EPIPE || err == -ECONNRESET ? -ENOTCONN : err;
}

/* one request on q's connection and its reply; *rfd: the fd it carried or -1 */
static int broker_call(struct shim_queue *q, unsigned op, const void *body, size_t len,
		       struct ub_reply *r, int *rfd)
{
	int err;

	*rfd = -1;
	err = broker_connect(q);
	if (err)
		return err;
	err = ub_call(q->sock, op, body, len, -1, r, rfd);
	if (err == -EPIPE || err == -ECONNRESET)
		err = -ENOTCONN;
	return err ? err : r->status;
}

static void broker_unmap(struct shim_queue *q, uint32_t type)
{
	struct ub_region u = { .type = type };
	struct ub_reply r;
	int rfd;

	broker_call(q, UB_UNMAP, &u, sizeof(u), &r, &rfd);
	if (rfd >= 0)
		rclose(rfd);
}

/* --- mapping ------------------------------------------------------------------------ */

static struct shim_queue *queue_get(int fd, const struct stat *st)
{
	struct shim_queue *q = queue_find(fd);

	if (q && (q->dev != st->st_dev || q->ino != st->st_ino || q->pid != getpid())) {
		queue_drop(q);	/* the fd number was reused behind our back */
		q = NULL;
	}
	if (q)
		return q;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->fd = fd;
	q->dev = st->st_dev;
	q->ino = st->st_ino;
	q->pid = getpid();
	q->sock = -1;
	q->next = queues;
	queues = q;
	__atomic_add_fetch(&shim_nqueues, 1, __ATOMIC_RELAXED);
	return q;
}

/* map what the broker answered (kind, fd) where and how the program asked */
static void *map_region(void *addr, size_t len, int prot, int flags, uint32_t kind, int rfd)
{
	__typeof__(&mmap) rmmap = REAL(mmap);
	int keep = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED);

	if (!rmmap)
		return MAP_FAILED;
	if (kind == UB_MAP_FD && rfd >= 0)
		return rmmap(addr, len, prot, MAP_SHARED | keep, rfd, 0);
	if (kind == UB_MAP_RESERVE)
		return rmmap(addr, len, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | keep, -1, 0);
	errno = EPROTO;
	return MAP_FAILED;
}

static int queue_mmap(struct shim_queue *q, void **addr, size_t len, int prot, int flags,
		      off_t off)
{
	__typeof__(&munmap) rmunmap = REAL(munmap);
	struct ub_mmap m = { .offset = (uint64_t)off, .size = len };
	struct ub_mapped done;
	struct shim_region *reg;
	struct ub_reply r;
	uint32_t type;
	void *p;
	int rfd, err;

	err = broker_call(q, UB_MMAP, &m, sizeof(m), &r, &rfd);
	if (err) {
		if (rfd >= 0)
			rclose(rfd);
		return err;
	}
	type = (uint32_t)r.queue_id;
	/* the program's length, never more than the region (a bigger one: SIGBUS) */
	p = r.size < len ? MAP_FAILED : map_region(*addr, len, prot, flags, r.kind, rfd);
	err = p == MAP_FAILED ? (r.size < len ? -EINVAL : -errno) : 0;
	if (rfd >= 0)
		rclose(rfd);
	reg = err ? NULL : calloc(1, sizeof(*reg));
	if (!err && !reg)
		err = -ENOMEM;
	if (!err) {
		/* as the kernel's VM_DONTCOPY: a forked child does not get it */
		madvise(p, len, MADV_DONTFORK);
		done = (struct ub_mapped){ .type = type, .addr = (uint64_t)(uintptr_t)p };
		err = broker_call(q, UB_MAPPED, &done, sizeof(done), &r, &rfd);
		if (rfd >= 0)
			rclose(rfd);
	}
	if (err) {
		if (p != MAP_FAILED && rmunmap)
			rmunmap(p, len);
		free(reg);
		broker_unmap(q, type);
		return err;
	}
	*reg = (struct shim_region){ .next = q->regions, .addr = p, .len = len, .type = type };
	q->regions = reg;
	__atomic_add_fetch(&shim_nregions, 1, __ATOMIC_RELAXED);
	*addr = p;
	return 0;
}

void *shim_queue_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		      const struct stat *st)
{
	struct shim_queue *q;
	int err;

	pthread_mutex_lock(&lock);
	q = queue_get(fd, st);
	err = q ? queue_mmap(q, &addr, len, prot, flags, off) : -ENOMEM;
	pthread_mutex_unlock(&lock);
	if (err) {
		errno = -err;
		return MAP_FAILED;
	}
	return addr;
}

/* --- unmapping, closing, fork ------------------------------------------------------- */

static bool overlaps(const struct shim_region *r, uintptr_t a, size_t len)
{
	uintptr_t ra = (uintptr_t)r->addr;

	return a < ra + r->len && ra < a + len;
}

void shim_regions_unmapped(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;

	pthread_mutex_lock(&lock);
	for (struct shim_queue *q = queues; q; q = q->next) {
		for (struct shim_region **pp = &q->regions; *pp;) {
			struct shim_region *r = *pp;
			uintptr_t ra = (uintptr_t)r->addr;

			/* a part of a region unmapped keeps the rest of it mapped */
			if (ra < a || ra + r->len > a + len) {
				pp = &r->next;
				continue;
			}
			*pp = r->next;
			broker_unmap(q, r->type);
			free(r);
			__atomic_sub_fetch(&shim_nregions, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&lock);
}

bool shim_in_region(void *addr, size_t len)
{
	bool in = false;

	pthread_mutex_lock(&lock);
	for (struct shim_queue *q = queues; q && !in; q = q->next)
		for (struct shim_region *r = q->regions; r && !in; r = r->next)
			in = overlaps(r, (uintptr_t)addr, len ? len : 1);
	pthread_mutex_unlock(&lock);
	return in;
}

void shim_fd_closing(int fd)
{
	struct shim_queue *q;

	pthread_mutex_lock(&lock);
	q = queue_find(fd);
	if (q)
		queue_drop(q);
	pthread_mutex_unlock(&lock);
}

void shim_fd_range_closing(unsigned lo, unsigned hi)
{
	pthread_mutex_lock(&lock);
	for (struct shim_queue *q = queues, *n; q; q = n) {
		n = q->next;
		if ((unsigned)q->fd >= lo && (unsigned)q->fd <= hi)
			queue_drop(q);
	}
	pthread_mutex_unlock(&lock);
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&lock);
}

/*
 * The child's only thread has another tid than the one that took the lock
 * (a recursive mutex knows its owner by tid): a fresh lock, not an unlock.
 */
static void fork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

	while (queues)
		queue_drop(queues);
	memcpy(&lock, &fresh, sizeof(lock));
}

__attribute__((constructor)) static void shim_queue_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
