/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proc.h - identity of client processes: thread id -> process, a pinned
 * owner (pidfd) that pid reuse cannot impersonate, and access to the
 * owner's address space for SVA devices.
 */
#ifndef UACCED_PROC_H
#define UACCED_PROC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memreq.h"

struct uacce_owner {
	pid_t tgid;
	uid_t uid;
	gid_t gid;
	int pidfd;		/* pins the process; readable once it exited */
	int memfd;		/* /proc/<tgid>/mem: bound to its mm, never to a
				 * later process that reuses the pid; -1 if unused */
	int mapsfd;		/* /proc/<tgid>/maps, bound to the same mm: the
				 * page protections memfd would ignore; -1 if unused */
	pthread_mutex_t maps_lock;	/* a leaf: the maps text's read position
				 * (kernels without PROCMAP_QUERY) */
	char comm[16];
	/*
	 * The opener, when it is not the leader: its tid and a pidfd of that
	 * thread (Linux 6.9+, PIDFD_THREAD; readable once the thread exited),
	 * -1 else.  While it lives, a request from ttid is that thread's: its
	 * ownership is known without a /proc look-up.
	 */
	pid_t ttid;
	int tpidfd;
};

/* Process (thread group) id of thread `tid`, or -errno. */
pid_t proc_tgid_of(pid_t tid);
/*
 * Is thread `tid` one of process tgid's?  (/proc/<tgid>/task/<tid>: a
 * path look-up, no status text read)
 */
bool proc_is_thread_of(pid_t tgid, pid_t tid);

/*
 * Supplementary groups of thread `tid` ("Groups:" of /proc/<tid>/status):
 * *out (malloc'd, NULL when there are none) and their number.  -errno.
 */
int proc_groups_of(pid_t tid, gid_t **out, int *n);

/*
 * What an open needs to know of thread `tid`, from one read of
 * /proc/<tid>/status: its process (Tgid), its supplementary groups
 * (Groups; *groups malloc'd, NULL when there are none) and, when tid leads
 * its process, the process's name (else comm is "").  -errno.
 */
struct proc_status {
	pid_t tgid;
	gid_t *groups;
	int ngroups;
	char comm[16];
};
int proc_status_of(pid_t tid, struct proc_status *st);

/*
 * Pin the process that thread `tid` belongs to.  `want_mem` also opens
 * its memory for SVA access.  -errno.  A thread seen before is first
 * looked for in the process it was last found in (proc_tgid_hint), checked
 * as a status read's would be (the pidfd pins it, /proc/<tgid>/task/<tid>
 * exists); a leader is known by its pidfd (pidfd_open(2) takes only
 * leaders); only then is the thread's status read.  The name is kept up to a second
 * by the pidfd's inode where pidfds have their own (pidfs, Linux 6.9+).
 */
int proc_owner_init(struct uacce_owner *o, pid_t tid, uid_t uid, gid_t gid, bool want_mem);
/* tid was found in process tgid: its next look-up tries tgid first (tests: a wrong guess) */
void proc_tgid_hint(pid_t tid, pid_t tgid);
/*
 * The same when the process is known already (proc_status_of: tgid > 0,
 * comm its name or "" when unknown): pins tgid, then checks that tid is
 * still one of its threads (/proc/<tgid>/task/<tid>), without reading
 * tid's status again.
 */
int proc_owner_init_tgid(struct uacce_owner *o, pid_t tid, pid_t tgid, const char *comm,
			 uid_t uid, gid_t gid, bool want_mem);
/*
 * A live restart's owner (core_adopt): the predecessor's pidfd, and for
 * SVA its memfd and mapsfd (-1 when unused), taken over as they are:
 * they stay bound to the process and mm the predecessor pinned (the pid
 * is never looked up again: it may be reused).  On error the fds are
 * closed.  -EINVAL (not a pidfd), -ESRCH (it pins another process).  An
 * owner that exited meanwhile is adopted: its pidfd is readable, and the
 * usual owner-death path frees its queues.
 */
int proc_owner_adopt(struct uacce_owner *o, pid_t tgid, uid_t uid, gid_t gid, const char *comm,
		     int pidfd, int memfd, int mapsfd);
void proc_owner_fini(struct uacce_owner *o);

/* true while the owner process has not exited */
bool proc_owner_alive(const struct uacce_owner *o);
/*
 * true once the owner is exiting (PF_EXITING: e.g. its files are being
 * closed by its death, before the pidfd says so) or gone
 */
bool proc_owner_exiting(const struct uacce_owner *o);

/* Is thread `tid` (a requester) a thread of the live owner? */
bool proc_owner_is(const struct uacce_owner *o, pid_t tid);

/* The owner's RLIMIT_DATA soft limit (RLIM_INFINITY as UINT64_MAX). -errno */
int proc_rlimit_data(const struct uacce_owner *o, uint64_t *out);

/*
 * Read/write the owner's memory at its address `uaddr`, as a device behind
 * an IOMMU would: only where every page is mapped readable (read) or
 * writable (write) in the owner's address space.  0 or -errno (EFAULT).
 * Both the check and the access are bound to the owner's mm (never to a
 * process that reuses its pid or that it execs).
 */
int proc_mem_read(struct uacce_owner *o, uint64_t uaddr, void *buf, size_t len);
int proc_mem_write(struct uacce_owner *o, uint64_t uaddr, const void *buf, size_t len);

/*
 * The protection check alone: 0 when [uaddr, uaddr + len) is mapped with
 * PROT_READ (and PROT_WRITE when `write`), -EFAULT when not or when the mm
 * is gone.  Exposed for tests.
 */
int proc_mem_check(struct uacce_owner *o, uint64_t uaddr, size_t len, bool write);
/*
 * One request's accesses (memreq.h): r starts empty; _check looks up the
 * protections of all the ranges at once (0 or -EFAULT when one is not
 * mapped as it needs); _read and _write check what r does not hold yet
 * and then access, as proc_mem_read and proc_mem_write do.  r is for one
 * request only: its answers go stale once the owner changes its mappings.
 */
void proc_mem_req_init(struct uacce_mem_req *r, struct uacce_owner *o);
int proc_mem_req_check(struct uacce_mem_req *r, const struct uacce_mem_range *rg, unsigned n);
int proc_mem_req_read(struct uacce_mem_req *r, uint64_t uaddr, void *buf, size_t len);
/*
 * The daemon's address of the owner's [uaddr, uaddr + len) when r->shm
 * (shm.h) holds the file the owner maps there, shared, and the range is
 * mapped with the access asked (read, or read and write); else NULL (use
 * proc_mem_req_read/write, which then fail if the range is not mapped so).
 */
void *proc_mem_req_direct(struct uacce_mem_req *r, uint64_t uaddr, size_t len, bool write);
int proc_mem_req_write(struct uacce_mem_req *r, uint64_t uaddr, const void *buf, size_t len);
/* tests: use the maps text even where PROCMAP_QUERY exists (true), or probe again */
void proc_mem_use_maps_text(bool on);

/* Duplicate fd number `fd` of the (live) owner into this process. -errno */
int proc_owner_getfd(const struct uacce_owner *o, int fd);

#endif
