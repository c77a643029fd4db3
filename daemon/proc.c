/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "shm.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

pid_t proc_tgid_of(pid_t tid)
{
	char path[64], buf[512];
	ssize_t n;
	char *p;
	int fd;

	if (tid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strstr(buf, "\nTgid:");
	if (!p)
		return -ESRCH;
	return (pid_t)strtol(p + 6, NULL, 10);
}

/* the whole of a small /proc file, NUL-terminated; -errno */
static int read_proc(const char *path, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL, *nb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	for (;;) {
		ssize_t n;

		if (!buf || len + 1 >= cap) {
			if (buf)
				cap *= 2;
			nb = cap > (1u << 21) ? NULL : realloc(buf, cap);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free(buf);
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* the numbers after "Groups:" up to the end of the line: *out, *n; -errno */
static int parse_groups(const char *p, gid_t **out, int *n)
{
	gid_t *g = NULL, *ng;
	char *end;
	int cnt = 0;

	for (;;) {
		unsigned long v;

		p += strspn(p, " \t");
		if (*p == '\n' || *p == '\0')
			break;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (end == p || errno || v > UINT32_MAX) {
			free(g);
			return -EIO;
		}
		p = end;
		ng = realloc(g, (size_t)(cnt + 1) * sizeof(*g));
		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		g[cnt++] = (gid_t)v;
	}
	*out = g;
	*n = cnt;
	return 0;
}

int proc_status_of(pid_t tid, struct proc_status *st)
{
	char path[64], *text = NULL, *p;
	int err;

	memset(st, 0, sizeof(*st));
	if (tid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	err = read_proc(path, &text);
	if (err)
		return err;
	p = strstr(text, "\nTgid:");
	st->tgid = p ? (pid_t)strtol(p + 6, NULL, 10) : 0;
	if (st->tgid <= 0) {
		free(text);
		return -ESRCH;
	}
	/* "Name:" comes first; escaped (a backslash) names are left to /proc/<pid>/comm */
	if (st->tgid == tid && strncmp(text, "Name:\t", 6) == 0) {
		size_t len = strcspn(text + 6, "\n");

		if (len < sizeof(st->comm) && !memchr(text + 6, '\\', len)) {
			memcpy(st->comm, text + 6, len);
			st->comm[len] = '\0';
		}
	}
	p = strstr(text, "\nGroups:");
	err = p ? parse_groups(p + strlen("\nGroups:"), &st->groups, &st->ngroups) : -EIO;
	free(text);
	return err;
}

int proc_groups_of(pid_t tid, gid_t **out, int *n)
{
	struct proc_status st;
	int err = proc_status_of(tid, &st);

	*out = err ? NULL : st.groups;
	*n = err ? 0 : st.ngroups;
	return err;
}

static void read_comm(pid_t pid, char comm[16])
{
	char path[64];
	ssize_t n;
	int fd;

	strcpy(comm, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, 15);
	close(fd);
	if (n <= 0) {
		strcpy(comm, "?");
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/*
 * Is thread `tid` one of process tgid's?  /proc/<tgid>/task/<tid> exists
 * only for a thread of tgid's group (the same as reading tid's Tgid again,
 * without the text).
 */
bool proc_is_thread_of(pid_t tgid, pid_t tid)
{
	char path[64];

	if (tgid <= 0 || tid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)tgid, (int)tid);
	return access(path, F_OK) == 0;
}

/*
 * --- who an opener is, cheaply ------------------------------------------------
 *
 * An open names a thread (FUSE gives its tid).  Finding its process used to
 * mean reading the thread's /proc status, the dearest part of an open.
 * Now:
 *  - the process a thread was last found in (tgid_seen), if any, is tried
 *    first, and checked as ever: the pidfd pins the candidate, and
 *    /proc/<tgid>/task/<tid> must exist;
 *  - else pidfd_open(tid) succeeds only for a thread-group leader: then
 *    tid is its process's number, and the pidfd pins that process;
 *  - only then is the status read.
 * A wrong guess costs a retry, never a wrong owner: the check is the same
 * as after a status read.
 */
#define TGID_SEEN 64
static uint64_t tgid_seen[TGID_SEEN];	/* atomic: tid << 32 | tgid */

static pid_t tgid_guess(pid_t tid)
{
	uint64_t v = __atomic_load_n(&tgid_seen[(unsigned)tid % TGID_SEEN], __ATOMIC_RELAXED);

	return (pid_t)(v >> 32) == tid ? (pid_t)(uint32_t)v : 0;
}

void proc_tgid_hint(pid_t tid, pid_t tgid)
{
	__atomic_store_n(&tgid_seen[(unsigned)tid % TGID_SEEN],
			 (uint64_t)(uint32_t)tid << 32 | (uint32_t)tgid, __ATOMIC_RELAXED);
}

static int pidfd_open_(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd >= 0 ? fd : -errno;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
static int no_thread_pidfd;	/* atomic: the kernel has none (before 6.9) */

/* poll(2) without waiting: it fails with EINTR even then when a signal comes */
static int poll_now(struct pollfd *p, nfds_t n)
{
	int r;

	do
		r = poll(p, n, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll_now(&p, 1) != 0;
}

/*
 * Pin tgid, if tid is one of its threads: the pidfd, or -errno.  *tfd
 * (when not NULL and tid is not the leader): a pidfd of the thread tid
 * itself where the kernel has them, else -1.  It is opened before the
 * check and kept only if its thread still lives after it: a tid reused
 * in between leaves it on the dead thread.
 */
static int pin_if_thread_of(pid_t tgid, pid_t tid, int *tfd)
{
	int fd, t = -1;

	if (tfd && tid != tgid && !__atomic_load_n(&no_thread_pidfd, __ATOMIC_RELAXED)) {
		t = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
		if (t < 0 && errno == EINVAL)
			__atomic_store_n(&no_thread_pidfd, 1, __ATOMIC_RELAXED);
	}
	fd = pidfd_open_(tgid);
	if (fd >= 0 && !proc_is_thread_of(tgid, tid)) {
		close(fd);
		fd = -ESRCH;
	}
	if (t >= 0 && (fd < 0 || fd_readable(t))) {
		close(t);
		t = -1;
	}
	if (tfd)
		*tfd = t;
	return fd;
}

/* pin the process of thread tid: *pidfd (and *tfd: pin_if_thread_of) and its tgid, or -errno */
static pid_t pin_process_of(pid_t tid, int *pidfd, int *tfd)
{
	pid_t tgid;
	int fd;

	if (tid <= 0)
		return -ESRCH;
	/* a thread seen before: its process first (no failed leader test) */
	tgid = tgid_guess(tid);
	fd = tgid > 0 && tgid != tid ? pin_if_thread_of(tgid, tid, tfd) : -ESRCH;
	if (fd >= 0) {
		*pidfd = fd;
		return tgid;
	}
	fd = pidfd_open_(tid);
	if (fd >= 0) {		/* tid leads its process */
		*pidfd = fd;
		return tid;
	}
	/* not a leader: EINVAL, or ENOENT since Linux 6.15 (ESRCH: no such task) */
	if (fd != -EINVAL && fd != -ENOENT)
		return fd;
	tgid = proc_tgid_of(tid);
	if (tgid < 0)
		return tgid;
	fd = pin_if_thread_of(tgid, tid, tfd);
	if (fd < 0)
		return fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM ? fd : -ESRCH;
	proc_tgid_hint(tid, tgid);
	*pidfd = fd;
	return tgid;
}

/*
 * A process's name, kept for COMM_KEEP_NS by its pidfd's inode.  Only
 * where pidfds are pidfs files (Linux 6.9+): each process's inode number
 * is its own and never reused.  Elsewhere (one anonymous inode for all
 * pidfds) the name is read each time.  A name kept may be up to
 * COMM_KEEP_NS older than the open (a rename or an exec in between): it
 * only names the owner in logs and listings.
 */
#define COMM_KEEP 16
#define COMM_KEEP_NS 1000000000ull
#ifndef PID_FS_MAGIC
#define PID_FS_MAGIC 0x50494446
#endif

static struct {
	pthread_mutex_t lock;
	int pidfs;		/* -1: not known yet */
	unsigned next;
	struct {
		dev_t dev;
		ino_t ino;
		uint64_t at;
		char comm[16];
	} e[COMM_KEEP];
} comm_kept = { .lock = PTHREAD_MUTEX_INITIALIZER, .pidfs = -1 };

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void owner_comm(int pidfd, pid_t tgid, char comm[16])
{
	struct stat st;
	uint64_t now;
	bool kept = false;
	int pidfs = __atomic_load_n(&comm_kept.pidfs, __ATOMIC_RELAXED);

	if (pidfs < 0) {
		struct statfs sf;

		pidfs = fstatfs(pidfd, &sf) == 0 && (unsigned long)sf.f_type == PID_FS_MAGIC;
		__atomic_store_n(&comm_kept.pidfs, pidfs, __ATOMIC_RELAXED);
	}
	if (!pidfs || fstat(pidfd, &st) < 0) {
		read_comm(tgid, comm);
		return;
	}
	now = mono_ns();
	pthread_mutex_lock(&comm_kept.lock);
	for (int i = 0; i < COMM_KEEP && !kept; i++) {
		if (comm_kept.e[i].ino == st.st_ino && comm_kept.e[i].dev == st.st_dev &&
		    comm_kept.e[i].at && now - comm_kept.e[i].at < COMM_KEEP_NS) {
			memcpy(comm, comm_kept.e[i].comm, 16);
			kept = true;
		}
	}
	pthread_mutex_unlock(&comm_kept.lock);
	if (kept)
		return;
	read_comm(tgid, comm);
	if (strcmp(comm, "?") == 0)
		return;
	pthread_mutex_lock(&comm_kept.lock);
	{
		unsigned i = comm_kept.next++ % COMM_KEEP;

		comm_kept.e[i].dev = st.st_dev;
		comm_kept.e[i].ino = st.st_ino;
		comm_kept.e[i].at = now;
		memcpy(comm_kept.e[i].comm, comm, 16);
	}
	pthread_mutex_unlock(&comm_kept.lock);
}

int proc_owner_init(struct uacce_owner *o, pid_t tid, uid_t uid, gid_t gid, bool want_mem)
{
	return proc_owner_init_tgid(o, tid, 0, NULL, uid, gid, want_mem);
}

int proc_owner_init_tgid(struct uacce_owner *o, pid_t tid, pid_t tgid, const char *comm,
			 uid_t uid, gid_t gid, bool want_mem)
{
	char path[64];
	int err;

	memset(o, 0, sizeof(*o));
	o->pidfd = o->memfd = o->mapsfd = o->tpidfd = -1;
	pthread_mutex_init(&o->maps_lock, NULL);
	if (tgid <= 0) {
		tgid = pin_process_of(tid, &o->pidfd, &o->tpidfd);
		if (tgid < 0) {
			err = tgid;
			goto fail;
		}
	} else {
		/*
		 * The thread `tid` is blocked in our request, so it is alive;
		 * check that it belongs to the process we pinned (the number
		 * tgid could have been a dead process's, reused, between the
		 * look-up and the pidfd; a leader's tid is its process's own
		 * number, and the pidfd pins that now).
		 */
		o->pidfd = pin_if_thread_of(tgid, tid, &o->tpidfd);
		if (o->pidfd < 0) {
			err = o->pidfd;
			goto fail;
		}
	}
	o->tgid = tgid;
	o->ttid = o->tpidfd >= 0 ? tid : 0;
	o->uid = uid;
	o->gid = gid;
	if (comm && comm[0])
		snprintf(o->comm, sizeof(o->comm), "%s", comm);
	else
		owner_comm(o->pidfd, tgid, o->comm);
	if (want_mem) {
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)tid);
		o->memfd = open(path, O_RDWR | O_CLOEXEC);
		if (o->memfd < 0) {
			err = -errno;
			goto fail;
		}
		/*
		 * The process's maps, not the thread's: reading a maps file needs
		 * its task (Linux 6.1: ESRCH once the opening thread has exited),
		 * and the thread-group leader's task stays while any thread lives.
		 * Same mm as memfd (an exec in between leaves one of the two on a
		 * dead mm, and every access fails).
		 */
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)tgid);
		o->mapsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (o->mapsfd < 0) {
			err = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	proc_owner_fini(o);
	return err;
}

/* the "Pid:" of a pidfd's fdinfo: its process, -1 once it exited; -errno */
static int pidfd_pid(int pidfd, pid_t *out)
{
	char path[64], *text = NULL, *p;
	int err;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	err = read_proc(path, &text);
	if (err)
		return err;
	p = strstr(text, "\nPid:");
	if (!p) {
		free(text);
		return -EINVAL;	/* not a pidfd */
	}
	*out = (pid_t)strtol(p + 5, NULL, 10);
	free(text);
	return 0;
}

int proc_owner_adopt(struct uacce_owner *o, pid_t tgid, uid_t uid, gid_t gid, const char *comm,
		     int pidfd, int memfd, int mapsfd)
{
	pid_t pid = 0;
	int err;

	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->maps_lock, NULL);
	o->tpidfd = -1;
	o->pidfd = pidfd;
	o->memfd = memfd;
	o->mapsfd = mapsfd;
	/* the identity first: it names the queue in logs, adopted or not */
	o->tgid = tgid;
	o->uid = uid;
	o->gid = gid;
	snprintf(o->comm, sizeof(o->comm), "%s", comm && comm[0] ? comm : "?");
	if (tgid <= 0 || pidfd < 0) {
		err = -EINVAL;
		goto fail;
	}
	/* it pins tgid, or the process exited (-1, or 0 on older kernels) */
	err = pidfd_pid(pidfd, &pid);
	if (err)
		goto fail;
	if (pid > 0 && pid != tgid) {
		err = -ESRCH;
		goto fail;
	}
	return 0;
fail:
	proc_owner_fini(o);
	return err;
}

void proc_owner_fini(struct uacce_owner *o)
{
	if (o->mapsfd >= 0)
		close(o->mapsfd);
	if (o->memfd >= 0)
		close(o->memfd);
	if (o->pidfd >= 0)
		close(o->pidfd);
	if (o->tpidfd >= 0)
		close(o->tpidfd);
	o->memfd = o->pidfd = o->mapsfd = o->tpidfd = -1;
	pthread_mutex_destroy(&o->maps_lock);
}

bool proc_owner_alive(const struct uacce_owner *o)
{
	return o->pidfd >= 0 && !fd_readable(o->pidfd);
}

#define PF_EXITING_FLAG	0x00000004	/* PF_EXITING of include/linux/sched.h */

/* the "flags" of /proc/<pid>/task/<tid>/stat: 0, or -errno */
static int task_flags(const char *path, unsigned long *flags)
{
	char buf[1024], *p;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", flags) != 1)
		return -EIO;
	return 0;
}

/*
 * Exiting: every thread left has PF_EXITING (a SIGKILL or exit_group()
 * marks them all; the leader alone may have ended with pthread_exit).
 */
bool proc_owner_exiting(const struct uacce_owner *o)
{
	char dir[64], path[64 + sizeof(((struct dirent *)0)->d_name) + 8];
	struct dirent *de;
	bool exiting = true;
	unsigned long lflags;
	DIR *d;

	/* the pidfd pins the pid: /proc/<tgid> is the owner's until it is reaped */
	if (!proc_owner_alive(o))
		return true;
	/*
	 * The leader first: it is exiting too whenever the process is (a
	 * leader gone early stays a zombie with PF_EXITING), so a leader
	 * without the flag answers at once, without reading every thread.
	 */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)o->tgid);
	if (task_flags(path, &lflags) == 0 && !(lflags & PF_EXITING_FLAG))
		return false;
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)o->tgid);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ESRCH;
	while (exiting && (de = readdir(d))) {
		unsigned long flags;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", dir, de->d_name);
		if (task_flags(path, &flags) == 0)	/* else: gone meanwhile */
			exiting = flags & PF_EXITING_FLAG;
	}
	closedir(d);
	return exiting;
}

bool proc_owner_is(const struct uacce_owner *o, pid_t tid)
{
	if (tid <= 0 || o->tgid <= 0)
		return false;
	if (tid == o->ttid && o->tpidfd >= 0 && o->pidfd >= 0) {
		struct pollfd p[2] = {
			{ .fd = o->pidfd, .events = POLLIN },
			{ .fd = o->tpidfd, .events = POLLIN },
		};
		int r = poll_now(p, 2);

		/* both live: the opener thread still holds its number, so this is it */
		if (r == 0)
			return true;
		if (r < 0 || p[0].revents)
			return false;
		/* the opener thread exited: tid may be another thread's now */
	}
	if (tid != o->tgid && !proc_is_thread_of(o->tgid, tid))
		return false;
	/* alive => the owner still holds its pid, so tgid names the owner */
	return proc_owner_alive(o);
}

/*
 * From /proc/<pid>/limits rather than prlimit(2): that needs
 * CAP_SYS_RESOURCE, which a sandboxed daemon need not hold.
 */
int proc_rlimit_data(const struct uacce_owner *o, uint64_t *out)
{
	char path[64], buf[4096], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)o->tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strstr(buf, "\nMax data size");
	if (!p)
		return -EIO;
	p += strlen("\nMax data size");
	while (*p == ' ')
		p++;
	if (strncmp(p, "unlimited", 9) == 0)
		*out = UINT64_MAX;
	else
		*out = strtoull(p, NULL, 10);
	/* alive after the read: the numbers were the owner's */
	return proc_owner_alive(o) ? 0 : -ESRCH;
}

/*
 * Page protections.  /proc/<pid>/mem forces its accesses (the kernel's
 * FOLL_FORCE: it writes through read-only private mappings, as a debugger
 * does), so every access is checked first against the owner's mappings,
 * read through a maps fd bound to the same mm.  Linux >= 6.11 answers one
 * mapping per PROCMAP_QUERY ioctl (~0.6 us); older kernels give only the
 * maps text, read from the start until the range is covered (~13 us for a
 * small process: the kernel formats every line, paths included).
 *
 * Between the check and the access the owner itself may change its own
 * mappings (mprotect, munmap + mmap); that race gives it nothing it could
 * not do to its own memory: a write then lands in a private copy, never in
 * a file or a shared mapping that is not writable (the kernel refuses
 * forced writes there), never in another process.
 */
struct procmap_query_arg {		/* struct procmap_query, linux/fs.h (6.11) */
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define PROCMAP_QUERY_IOC	_IOWR('f', 17, struct procmap_query_arg)
#define PMQ_READABLE		0x01
#define PMQ_WRITABLE		0x02
#define PMQ_SHARED		0x08
_Static_assert(PMQ_SHARED == UACCE_MEM_SPAN_SHARED, "span flags are PROCMAP_QUERY's");

/* -1 unknown, 0 no (older kernel), 1 yes */
static int have_procmap_query = -1;

void proc_mem_use_maps_text(bool on)
{
	__atomic_store_n(&have_procmap_query, on ? 0 : -1, __ATOMIC_RELAXED);
}

/* the span of r holding addr, or NULL */
static const struct uacce_mem_span *span_at(const struct uacce_mem_req *r, uint64_t addr)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->span[i].start <= addr && addr < r->span[i].end)
			return &r->span[i];
	return NULL;
}

static void span_add(struct uacce_mem_req *r, const struct uacce_mem_span *in)
{
	struct uacce_mem_span *sp;

	if (r->n < UACCE_MEM_SPANS) {
		sp = &r->span[r->n++];
	} else {
		sp = &r->span[r->next];
		r->next = (r->next + 1) % UACCE_MEM_SPANS;
	}
	*sp = *in;
}

/*
 * The mapping holding addr, through PROCMAP_QUERY, added to r: 0, -EFAULT
 * (unmapped, or the mm is gone), -ENOTTY (no PROCMAP_QUERY here)
 */
static int lookup_query(struct uacce_mem_req *r, uint64_t addr)
{
	struct uacce_owner *o = r->owner;
	struct procmap_query_arg q = { .size = sizeof(q), .query_addr = addr };
	int have = __atomic_load_n(&have_procmap_query, __ATOMIC_RELAXED);

	if (have == 0)
		return -ENOTTY;
	if (ioctl(o->mapsfd, PROCMAP_QUERY_IOC, &q) < 0) {
		if (errno == ENOTTY || errno == EOPNOTSUPP) {
			__atomic_store_n(&have_procmap_query, 0, __ATOMIC_RELAXED);
			return -ENOTTY;
		}
		return -EFAULT;		/* ENOENT: unmapped; ESRCH: mm gone */
	}
	if (have < 0)
		__atomic_store_n(&have_procmap_query, 1, __ATOMIC_RELAXED);
	if (q.vma_start > addr || q.vma_end <= addr)
		return -EFAULT;
	span_add(r, &(struct uacce_mem_span){
			    .start = q.vma_start, .end = q.vma_end,
			    .flags = q.vma_flags & (PMQ_READABLE | PMQ_WRITABLE | PMQ_SHARED),
			    .pgoff = q.vma_offset, .ino = q.inode,
			    .dev = makedev(q.dev_major, q.dev_minor) });
	return 0;
}

/*
 * "start-end perms offset major:minor inode [path]": 0 and the fields, or
 * -EIO (the file fields only as far as they parse: a mapping whose inode
 * is not read is taken as anonymous, which only costs the direct path)
 */
static int parse_maps_line(const char *l, struct uacce_mem_span *sp)
{
	unsigned long maj, min;
	char *p;

	*sp = (struct uacce_mem_span){ 0 };
	errno = 0;
	sp->start = strtoull(l, &p, 16);
	if (*p != '-')
		return -EIO;
	sp->end = strtoull(p + 1, &p, 16);
	if (*p != ' ' || errno || p[1] == '\0' || p[2] == '\0' || p[3] == '\0' || p[4] == '\0')
		return -EIO;
	sp->flags = (p[1] == 'r' ? PMQ_READABLE : 0) | (p[2] == 'w' ? PMQ_WRITABLE : 0) |
		    (p[4] == 's' ? PMQ_SHARED : 0);
	if (p[5] != ' ')
		return 0;
	sp->pgoff = strtoull(p + 6, &p, 16);
	if (*p != ' ')
		goto anon;
	maj = strtoul(p + 1, &p, 16);
	if (*p != ':')
		goto anon;
	min = strtoul(p + 1, &p, 16);
	if (*p != ' ')
		goto anon;
	sp->ino = strtoull(p + 1, &p, 10);
	if (errno || (*p != ' ' && *p != '\0'))
		goto anon;
	sp->dev = makedev(maj, min);
	return 0;
anon:
	sp->pgoff = sp->ino = sp->dev = 0;
	errno = 0;
	return 0;
}

/*
 * Feed the owner's maps text, line by line from the start, to fn until it
 * returns non-zero (its answer), the text ends or a line is malformed
 * (both: -EFAULT).  The kernel formats as many lines as a read asks for
 * (~0.5 us each, paths included) and the answer is often near the start
 * (the heap follows the program's own mappings): the reads start small and
 * double.  Each goes on where the last ended, which the seq_file resumes
 * without formatting the text before it again.
 */
static int walk_maps_text(struct uacce_owner *o,
			  int (*fn)(void *ctx, const struct uacce_mem_span *sp), void *ctx)
{
	char buf[8192];
	size_t have = 0, want = 512;
	off_t pos = 0;
	int ret = -EFAULT;

	pthread_mutex_lock(&o->maps_lock);
	for (;;) {
		size_t room = sizeof(buf) - 1 - have;
		ssize_t n = pread(o->mapsfd, buf + have, want < room ? want : room, pos);
		char *line, *nl;

		if (n <= 0)
			break;			/* the end (or a dead mm) */
		if (want < sizeof(buf))
			want *= 2;
		pos += n;
		have += (size_t)n;
		buf[have] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n'))) {
			struct uacce_mem_span sp;

			*nl = '\0';
			if (parse_maps_line(line, &sp))
				goto out;
			ret = fn(ctx, &sp);
			if (ret)
				goto out;
			ret = -EFAULT;
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		if (have == sizeof(buf) - 1)
			break;			/* a line longer than the buffer */
		memmove(buf, line, have);
	}
out:
	pthread_mutex_unlock(&o->maps_lock);
	return ret;
}

struct cover_text {
	uint64_t addr, end, need;
};

/* 1: [addr, end) covered with need; -EFAULT: a hole or the wrong protection; 0: go on */
static int cover_text_line(void *ctx, const struct uacce_mem_span *sp)
{
	struct cover_text *c = ctx;
	uint64_t s = sp->start, e = sp->end, f = sp->flags;

	if (s > c->addr || (e > c->addr && (f & c->need) != c->need))
		return -EFAULT;
	if (e > c->addr)
		c->addr = e;
	return c->addr >= c->end ? 1 : 0;
}

/* one pass over the maps text for [addr, end): 0 covered, -EFAULT not */
static int check_maps_text(struct uacce_owner *o, uint64_t addr, uint64_t end, uint64_t need)
{
	struct cover_text c = { .addr = addr, .end = end, .need = need };

	return walk_maps_text(o, cover_text_line, &c) == 1 ? 0 : -EFAULT;
}

struct collect_text {
	struct uacce_mem_req *r;
	const struct uacce_mem_range *rg;
	unsigned n;
	uint64_t last;		/* the highest end of the ranges */
};

/* keep the lines that meet a range, while r has room */
static int collect_text_line(void *ctx, const struct uacce_mem_span *sp)
{
	struct collect_text *c = ctx;

	if (sp->start >= c->last)
		return 1;
	for (unsigned i = 0; i < c->n; i++) {
		if (sp->start < c->rg[i].addr + c->rg[i].len && sp->end > c->rg[i].addr) {
			if (c->r->n == UACCE_MEM_SPANS)
				return 1;
			span_add(c->r, sp);
			break;
		}
	}
	return 0;
}

/* keep in r the maps text's lines for [addr, end) (kernels without PROCMAP_QUERY) */
static void collect_text(struct uacce_mem_req *r, uint64_t addr, uint64_t end)
{
	struct uacce_mem_range rg = { .addr = addr, .len = end - addr };
	struct collect_text c = { .r = r, .rg = &rg, .n = 1, .last = end };

	walk_maps_text(r->owner, collect_text_line, &c);
}

/*
 * [addr, end) mapped with need, from r's spans, looked up where r has
 * none: 0 or -EFAULT
 */
static int cover(struct uacce_mem_req *r, uint64_t addr, uint64_t end, uint64_t need)
{
	bool text = false;

	while (addr < end) {
		const struct uacce_mem_span *sp = span_at(r, addr);
		int err;

		if (!sp) {
			err = lookup_query(r, addr);
			if (err == -ENOTTY && !text) {
				/* no PROCMAP_QUERY: the text's lines, kept as spans
				 * (the direct path of shm.h needs them) */
				collect_text(r, addr, end);
				text = true;
				continue;
			}
			if (err == -ENOTTY)	/* more mappings than r keeps */
				return check_maps_text(r->owner, addr, end, need);
			if (err)
				return err;
			continue;
		}
		if ((sp->flags & need) != need)
			return -EFAULT;
		addr = sp->end;
	}
	return 0;
}

static int range_ok(const struct uacce_owner *o, uint64_t uaddr, uint64_t len)
{
	return o->mapsfd < 0 || uaddr + len < uaddr ? -EFAULT : 0;
}

void proc_mem_req_init(struct uacce_mem_req *r, struct uacce_owner *o)
{
	r->owner = o;
	r->shm = NULL;
	r->n = r->next = 0;
}

int proc_mem_req_check(struct uacce_mem_req *r, const struct uacce_mem_range *rg, unsigned n)
{
	struct uacce_owner *o = r->owner;
	struct collect_text c = { .r = r, .rg = rg, .n = n };
	int err;

	for (unsigned i = 0; i < n; i++) {
		err = range_ok(o, rg[i].addr, rg[i].len);
		if (err)
			return err;
		if (rg[i].len && rg[i].addr + rg[i].len > c.last)
			c.last = rg[i].addr + rg[i].len;
	}
	/* the maps text: one pass keeps every mapping the ranges meet */
	if (c.last && __atomic_load_n(&have_procmap_query, __ATOMIC_RELAXED) == 0)
		walk_maps_text(o, collect_text_line, &c);
	for (unsigned i = 0; i < n; i++) {
		uint64_t need = PMQ_READABLE | (rg[i].write ? PMQ_WRITABLE : 0);

		if (rg[i].len && (err = cover(r, rg[i].addr, rg[i].addr + rg[i].len, need)))
			return err;
	}
	return 0;
}

int proc_mem_check(struct uacce_owner *o, uint64_t uaddr, size_t len, bool write)
{
	struct uacce_mem_req r;
	struct uacce_mem_range rg = { .addr = uaddr, .len = len, .write = write };

	proc_mem_req_init(&r, o);
	return proc_mem_req_check(&r, &rg, 1);
}

/* after cover(): the daemon's address of [uaddr, uaddr + len) in r->shm, or NULL */
static void *direct_covered(struct uacce_mem_req *r, uint64_t uaddr, size_t len)
{
	const struct uacce_mem_span *sp = r->shm ? span_at(r, uaddr) : NULL;

	return sp ? shm_direct(r->shm, sp, uaddr, len) : NULL;
}

/* one owner-memory transfer of a request: checked against the mappings
 * the request collected, then pread/pwrite on the owner's /proc/pid/mem */
static int mem_req_io(struct uacce_mem_req *r, uint64_t uaddr, char *buf, size_t len, bool write)
{
	struct uacce_owner *o = r->owner;
	uint64_t need = PMQ_READABLE | (write ? PMQ_WRITABLE : 0);
	size_t done = 0;
	int err;

	if (o->memfd < 0 || range_ok(o, uaddr, len))
		return -EFAULT;
	if (len && (err = cover(r, uaddr, uaddr + len, need)))
		return err;
	if (len) {
		void *p = direct_covered(r, uaddr, len);

		if (p) {	/* the owner's shared memfd, mapped here too */
			if (write)
				memcpy(p, buf, len);
			else
				memcpy(buf, p, len);
			return 0;
		}
	}
	while (done < len) {
		ssize_t n = write ? pwrite(o->memfd, buf + done, len - done, (off_t)(uaddr + done))
				  : pread(o->memfd, buf + done, len - done, (off_t)(uaddr + done));
		if (n <= 0)
			return n < 0 && errno == EINTR ? -EINTR : -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

void *proc_mem_req_direct(struct uacce_mem_req *r, uint64_t uaddr, size_t len, bool write)
{
	struct uacce_owner *o = r->owner;

	if (!r->shm || !len || o->memfd < 0 || range_ok(o, uaddr, len) ||
	    cover(r, uaddr, uaddr + len, PMQ_READABLE | (write ? PMQ_WRITABLE : 0)))
		return NULL;
	return direct_covered(r, uaddr, len);
}

int proc_mem_req_read(struct uacce_mem_req *r, uint64_t uaddr, void *buf, size_t len)
{
	return mem_req_io(r, uaddr, buf, len, false);
}

int proc_mem_req_write(struct uacce_mem_req *r, uint64_t uaddr, const void *buf, size_t len)
{
	return mem_req_io(r, uaddr, (char *)buf, len, true);
}

int proc_mem_read(struct uacce_owner *o, uint64_t uaddr, void *buf, size_t len)
{
	struct uacce_mem_req r;

	proc_mem_req_init(&r, o);
	return proc_mem_req_read(&r, uaddr, buf, len);
}

int proc_mem_write(struct uacce_owner *o, uint64_t uaddr, const void *buf, size_t len)
{
	struct uacce_mem_req r;

	proc_mem_req_init(&r, o);
	return proc_mem_req_write(&r, uaddr, buf, len);
}

int proc_owner_getfd(const struct uacce_owner *o, int fd)
{
	int r;

	if (fd < 0)
		return -EBADF;
	r = (int)syscall(SYS_pidfd_getfd, o->pidfd, fd, 0);
	return r < 0 ? -errno : r;
}
