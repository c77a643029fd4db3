/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-proc.c - owner memory access honours page protections
 * (daemon/proc.c, issue 11 item 8): the check agrees with the mappings
 * both through PROCMAP_QUERY (Linux >= 6.11, where the kernel has it) and
 * through the maps text (older kernels); reads and writes through it
 * refuse what a device behind an IOMMU would fault on.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit-main.h"
#include "proc.h"
#include "shm.h"

static size_t pg;
static unsigned char *m;	/* rw | ro | none | (hole) | rw */
static struct uacce_owner o;

static void setup(void)
{
	pg = (size_t)sysconf(_SC_PAGESIZE);
	m = mmap(NULL, 5 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	memset(m, 0x5a, 5 * pg);
	ck_assert_int_eq(mprotect(m + pg, pg, PROT_READ), 0);
	ck_assert_int_eq(mprotect(m + 2 * pg, pg, PROT_NONE), 0);
	ck_assert_int_eq(munmap(m + 3 * pg, pg), 0);
	ck_assert_int_eq(proc_owner_init(&o, gettid(), getuid(), getgid(), true), 0);
}

static void teardown(void)
{
	proc_owner_fini(&o);
	munmap(m, 3 * pg);
	munmap(m + 4 * pg, pg);
}

static uint64_t at(size_t off) { return (uint64_t)(uintptr_t)(m + off); }

static void check_all(void)
{
	/* readable and writable */
	ck_assert_int_eq(proc_mem_check(&o, at(0), pg, true), 0);
	ck_assert_int_eq(proc_mem_check(&o, at(10), 100, false), 0);
	/* read-only: read yes, write no, not even one byte of it */
	ck_assert_int_eq(proc_mem_check(&o, at(pg), pg, false), 0);
	ck_assert_int_eq(proc_mem_check(&o, at(pg), 1, true), -EFAULT);
	ck_assert_int_eq(proc_mem_check(&o, at(pg - 8), 16, true), -EFAULT);
	ck_assert_int_eq(proc_mem_check(&o, at(pg - 8), 16, false), 0);
	/* PROT_NONE: nothing */
	ck_assert_int_eq(proc_mem_check(&o, at(2 * pg), 1, false), -EFAULT);
	ck_assert_int_eq(proc_mem_check(&o, at(2 * pg - 1), 2, false), -EFAULT);
	/* a hole, and a range across it */
	ck_assert_int_eq(proc_mem_check(&o, at(3 * pg), 1, false), -EFAULT);
	ck_assert_int_eq(proc_mem_check(&o, at(4 * pg - 1), 2, false), -EFAULT);
	ck_assert_int_eq(proc_mem_check(&o, at(4 * pg), pg, true), 0);
	/* our code: read, never write */
	ck_assert_int_eq(proc_mem_check(&o, (uint64_t)(uintptr_t)&check_all, 16, false), 0);
	ck_assert_int_eq(proc_mem_check(&o, (uint64_t)(uintptr_t)&check_all, 16, true), -EFAULT);
	/* edges */
	ck_assert_int_eq(proc_mem_check(&o, at(0), 0, true), 0);
	ck_assert_int_eq(proc_mem_check(&o, UINT64_MAX - 10, 100, false), -EFAULT);
	ck_assert_int_eq(proc_mem_check(&o, 0, 16, false), -EFAULT);
}

START_TEST(test_check_query_or_text)
{
	proc_mem_use_maps_text(false);	/* PROCMAP_QUERY where the kernel has it */
	check_all();
}
END_TEST

START_TEST(test_check_maps_text)
{
	proc_mem_use_maps_text(true);
	check_all();
	proc_mem_use_maps_text(false);
}
END_TEST

START_TEST(test_read_write_honour_protections)
{
	unsigned char buf[64], ones[64];

	memset(ones, 1, sizeof(ones));
	ck_assert_int_eq(proc_mem_write(&o, at(0), ones, sizeof(ones)), 0);
	ck_assert_int_eq(m[0], 1);
	ck_assert_int_eq(proc_mem_write(&o, at(pg), ones, sizeof(ones)), -EFAULT);
	ck_assert_int_eq(m[pg], 0x5a);		/* /proc/<pid>/mem alone would have written */
	ck_assert_int_eq(proc_mem_read(&o, at(pg), buf, sizeof(buf)), 0);
	ck_assert_int_eq(buf[0], 0x5a);
	ck_assert_int_eq(proc_mem_read(&o, at(2 * pg), buf, sizeof(buf)), -EFAULT);
	/* a change of protection is seen at once: nothing is cached */
	ck_assert_int_eq(mprotect(m, pg, PROT_READ), 0);
	ck_assert_int_eq(proc_mem_write(&o, at(0), ones, sizeof(ones)), -EFAULT);
	ck_assert_int_eq(mprotect(m, pg, PROT_READ | PROT_WRITE), 0);
	ck_assert_int_eq(proc_mem_write(&o, at(0), ones, sizeof(ones)), 0);
}
END_TEST

START_TEST(test_many_mappings_text)
{
	/* more mappings than one read of the maps text holds: one region,
	 * every other page read-only (so none fills the fixture's hole) */
	enum { N = 600 };
	unsigned char *v = mmap(NULL, N * pg, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(v, MAP_FAILED);
	for (int i = 1; i < N; i += 2)
		ck_assert_int_eq(mprotect(v + i * pg, pg, PROT_READ), 0);
	proc_mem_use_maps_text(true);
	for (int i = 0; i < N; i += 37)
		ck_assert_int_eq(proc_mem_check(&o, (uint64_t)(uintptr_t)(v + i * pg), pg, true),
				 i % 2 ? -EFAULT : 0);
	ck_assert_int_eq(proc_mem_check(&o, (uint64_t)(uintptr_t)v, N * pg, false), 0);
	ck_assert_int_eq(proc_mem_check(&o, (uint64_t)(uintptr_t)v, N * pg, true), -EFAULT);
	check_all();
	proc_mem_use_maps_text(false);
	ck_assert_int_eq(proc_mem_check(&o, (uint64_t)(uintptr_t)v, N * pg, false), 0);
	munmap(v, N * pg);
}
END_TEST

/* a maps text of more than 64 reads (the reads double up to the buffer's size, then stay) */
START_TEST(test_very_many_mappings_text)
{
	enum { N = 10000 };
	unsigned char *v = mmap(NULL, N * pg, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t last = (uint64_t)(uintptr_t)(v + (N - 2) * pg);

	ck_assert_ptr_ne(v, MAP_FAILED);
	for (int i = 1; i < N; i += 2)
		ck_assert_int_eq(mprotect(v + i * pg, pg, PROT_READ), 0);
	proc_mem_use_maps_text(true);
	ck_assert_int_eq(proc_mem_check(&o, last, pg, true), 0);
	ck_assert_int_eq(proc_mem_check(&o, last + pg, pg, true), -EFAULT);
	ck_assert_int_eq(proc_mem_check(&o, (uint64_t)(uintptr_t)v, N * pg, false), 0);
	ck_assert_int_eq(proc_mem_check(&o, at(4 * pg), pg, true), 0);
	proc_mem_use_maps_text(false);
	munmap(v, N * pg);
}
END_TEST

/*
 * A request's ranges checked together (one look-up per mapping, or one
 * pass over the text) get the answer their checks one by one give.
 */
static void check_pairs(void)
{
	const size_t off[] = { 0, 10, pg - 8, pg, 2 * pg - 1, 2 * pg, 3 * pg, 4 * pg - 1, 4 * pg };
	const size_t len[] = { 16, 16, 16, 16, 2, 1, 1, 2, 64 };
	enum { K = sizeof(off) / sizeof(off[0]) };

	for (unsigned i = 0; i < K; i++) {
		for (unsigned j = 0; j < K; j++) {
			for (int w = 0; w < 2; w++) {
				struct uacce_mem_range rg[2] = {
					{ .addr = at(off[i]), .len = len[i] },
					{ .addr = at(off[j]), .len = len[j], .write = w },
				};
				struct uacce_mem_req r;
				int one = proc_mem_check(&o, rg[0].addr, rg[0].len, false) ||
					  proc_mem_check(&o, rg[1].addr, rg[1].len, w) ? -EFAULT : 0;

				proc_mem_req_init(&r, &o);
				ck_assert_msg(proc_mem_req_check(&r, rg, 2) == one,
					      "ranges %u and %u (write %d): not %d", i, j, w, one);
			}
		}
	}
}

START_TEST(test_request_ranges_query)
{
	struct uacce_mem_range rg[2] = { { .addr = at(0), .len = 64 },
					 { .addr = at(100), .len = 64, .write = true } };
	struct uacce_mem_req r;

	proc_mem_use_maps_text(false);
	check_pairs();
	/* source and destination in one mapping: one look-up answers both */
	proc_mem_req_init(&r, &o);
	ck_assert_int_eq(proc_mem_req_check(&r, rg, 2), 0);
	ck_assert_uint_eq(r.n, 1);
}
END_TEST

START_TEST(test_request_ranges_text)
{
	struct uacce_mem_range rg[2] = { { .addr = at(0), .len = 64 },
					 { .addr = at(4 * pg), .len = 64, .write = true } };
	struct uacce_mem_req r;

	proc_mem_use_maps_text(true);
	check_pairs();
	/* one pass keeps both mappings (and the three between them) */
	proc_mem_req_init(&r, &o);
	ck_assert_int_eq(proc_mem_req_check(&r, rg, 2), 0);
	ck_assert_uint_ge(r.n, 2);
	proc_mem_use_maps_text(false);
}
END_TEST

/* a memfd of n bytes sealed as UB_SHARE wants (plus `seals`), or -1 */
static int shm_memfd(size_t n, int seals)
{
	int fd = memfd_create("test-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd >= 0 && (ftruncate(fd, (off_t)n) < 0 ||
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | seals) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* shm_add's refusals and limits */
START_TEST(test_shm_add)
{
	struct uq_shm_set set = { 0 };
	int p[2], fd, ro, fds[UQ_SHM_MAX];
	uint64_t size = 0;
	char path[64];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(shm_add(&set, p[1], &size), -EINVAL);
	close(p[0]);
	close(p[1]);
	fd = memfd_create("test-shm", MFD_CLOEXEC);	/* no sealing at all */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4 * pg), 0);
	ck_assert_int_eq(shm_add(&set, fd, &size), -EINVAL);
	close(fd);
	fd = shm_memfd(4 * pg, F_SEAL_WRITE);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(shm_add(&set, fd, &size), -EINVAL);
	close(fd);
	fd = shm_memfd(4 * pg, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_eq(shm_add(&set, ro, &size), -EINVAL);
	close(ro);
	ck_assert_int_eq(shm_add(&set, fd, &size), 0);
	ck_assert_uint_eq(size, 4 * pg);
	ck_assert_int_eq(shm_add(&set, fd, &size), -EEXIST);
	close(fd);
	for (int i = 1; i < UQ_SHM_MAX; i++) {
		fds[i] = shm_memfd(pg, 0);
		ck_assert_int_eq(shm_add(&set, fds[i], &size), 0);
	}
	fds[0] = shm_memfd(pg, 0);
	ck_assert_int_eq(shm_add(&set, fds[0], &size), -ENOSPC);
	ck_assert_uint_eq(shm_bytes(&set), 4 * pg + (UQ_SHM_MAX - 1) * pg);
	for (int i = 0; i < UQ_SHM_MAX; i++)
		close(fds[i]);
	shm_clear(&set);
	ck_assert_uint_eq(set.n, 0);
}
END_TEST

/*
 * The owner's mapping of a shared memfd is found (PROCMAP_QUERY or the maps
 * text: inode, device, offset, shared) and served in place; the same file
 * mapped privately, an anonymous mapping at the address, a range past the
 * mapping's end are not.
 */
/* a fresh request with set's files: proc_mem_req_direct of 64 bytes at p */
static void *direct64(struct uq_shm_set *set, const void *p, bool write)
{
	struct uacce_mem_req r;

	proc_mem_req_init(&r, &o);
	r.shm = set;
	return proc_mem_req_direct(&r, (uint64_t)(uintptr_t)p, 64, write);
}

static void direct_cases(void)
{
	struct uq_shm_set set = { 0 };
	struct uacce_mem_req r;
	unsigned char *a, *b, buf[64];
	uint64_t size;
	int fd = shm_memfd(8 * pg, 0);
	void *p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(shm_add(&set, fd, &size), 0);
	/* the file from its page 2 on, shared */
	a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * pg);
	ck_assert_ptr_ne(a, MAP_FAILED);
	memset(a, 5, 4 * pg);
	proc_mem_req_init(&r, &o);
	r.shm = &set;
	p = proc_mem_req_direct(&r, (uint64_t)(uintptr_t)(a + pg + 8), 64, true);
	ck_assert_ptr_eq(p, (char *)set.slot[0].map + 3 * pg + 8);
	ck_assert_uint_eq(set.direct, 1);
	/* read and write go through it too */
	memset(buf, 9, sizeof(buf));
	ck_assert_int_eq(proc_mem_req_write(&r, (uint64_t)(uintptr_t)(a + 16), buf, 64), 0);
	ck_assert_int_eq(a[16], 9);
	ck_assert_uint_eq(set.direct, 2);
	/* past the mapping's end: not in place */
	ck_assert_ptr_null(direct64(&set, a + 4 * pg - 8, false));
	/* read-only in the owner: not for writing */
	ck_assert_int_eq(mprotect(a, 4 * pg, PROT_READ), 0);
	ck_assert_ptr_null(direct64(&set, a, true));
	ck_assert_ptr_nonnull(direct64(&set, a, false));
	/* the address mapped anew, anonymous */
	b = mmap(a, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ck_assert_ptr_eq(b, a);
	ck_assert_ptr_null(direct64(&set, b, false));
	munmap(b, 4 * pg);
	/* the same file, privately */
	a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(a, MAP_FAILED);
	ck_assert_ptr_null(direct64(&set, a, false));
	munmap(a, 4 * pg);
	/* no set: never */
	a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_null(direct64(NULL, a, false));
	munmap(a, 4 * pg);
	close(fd);
	shm_clear(&set);
}

START_TEST(test_shm_direct_query)
{
	proc_mem_use_maps_text(false);
	direct_cases();
}
END_TEST

START_TEST(test_shm_direct_text)
{
	proc_mem_use_maps_text(true);
	direct_cases();
	proc_mem_use_maps_text(false);
}
END_TEST

/* the answers of one request are never those of the next */
static void not_across_requests(void)
{
	struct uacce_mem_range rg[2] = { { .addr = at(4 * pg), .len = 64 },
					 { .addr = at(0), .len = 64, .write = true } };
	unsigned char buf[64];
	struct uacce_mem_req r;

	memset(m + 4 * pg, 3, 64);
	proc_mem_req_init(&r, &o);
	ck_assert_int_eq(proc_mem_req_check(&r, rg, 2), 0);
	ck_assert_int_eq(proc_mem_req_read(&r, rg[0].addr, buf, sizeof(buf)), 0);
	ck_assert_int_eq(proc_mem_req_write(&r, rg[1].addr, buf, sizeof(buf)), 0);
	ck_assert_int_eq(m[63], 3);
	/* between two requests the destination turns read-only */
	ck_assert_int_eq(mprotect(m, pg, PROT_READ), 0);
	memset(m + 4 * pg, 4, 64);
	proc_mem_req_init(&r, &o);
	ck_assert_int_eq(proc_mem_req_check(&r, rg, 2), -EFAULT);
	proc_mem_req_init(&r, &o);
	ck_assert_int_eq(proc_mem_req_read(&r, rg[0].addr, buf, sizeof(buf)), 0);
	ck_assert_int_eq(proc_mem_req_write(&r, rg[1].addr, buf, sizeof(buf)), -EFAULT);
	ck_assert_int_eq(m[63], 3);
	/* and the source PROT_NONE */
	ck_assert_int_eq(mprotect(m + 4 * pg, pg, PROT_NONE), 0);
	proc_mem_req_init(&r, &o);
	ck_assert_int_eq(proc_mem_req_read(&r, rg[0].addr, buf, sizeof(buf)), -EFAULT);
	ck_assert_int_eq(mprotect(m + 4 * pg, pg, PROT_READ | PROT_WRITE), 0);
	ck_assert_int_eq(mprotect(m, pg, PROT_READ | PROT_WRITE), 0);
}

START_TEST(test_request_not_across)
{
	proc_mem_use_maps_text(false);
	not_across_requests();
	proc_mem_use_maps_text(true);
	not_across_requests();
	proc_mem_use_maps_text(false);
}
END_TEST

static void *open_and_exit(void *arg)
{
	ck_assert_int_eq(proc_owner_init(arg, gettid(), getuid(), getgid(), true), 0);
	return NULL;
}

/* the thread that opened the queue is gone: the owner's maps still read */
START_TEST(test_opener_thread_exited)
{
	struct uacce_owner o2;
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, open_and_exit, &o2), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	proc_mem_use_maps_text(true);
	ck_assert_int_eq(proc_mem_check(&o2, at(0), pg, true), 0);
	ck_assert_int_eq(proc_mem_check(&o2, at(pg), 1, true), -EFAULT);
	proc_mem_use_maps_text(false);
	ck_assert_int_eq(proc_mem_check(&o2, at(0), pg, true), 0);
	proc_owner_fini(&o2);
}
END_TEST

START_TEST(test_not_for_non_sva_owner)
{
	struct uacce_owner plain;

	ck_assert_int_eq(proc_owner_init(&plain, gettid(), getuid(), getgid(), false), 0);
	ck_assert_int_eq(proc_mem_check(&plain, at(0), 1, false), -EFAULT);
	ck_assert_int_eq(proc_mem_read(&plain, at(0), &(char){ 0 }, 1), -EFAULT);
	proc_owner_fini(&plain);
}
END_TEST

/* --- identity of an opener: one status read (issue 14 item 3) ----------- */

static void *thread_status(void *arg)
{
	struct proc_status *st = arg;

	ck_assert_int_eq(proc_status_of(gettid(), st), 0);
	return NULL;
}

START_TEST(test_status_of)
{
	struct proc_status st;
	char comm[16] = "";
	gid_t g[64];
	int n = getgroups(64, g);
	FILE *f = fopen("/proc/self/comm", "re");
	pthread_t t;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	/* the leader: its process, its groups as getgroups(2) has them, its name */
	ck_assert_int_eq(proc_status_of(getpid(), &st), 0);
	ck_assert_int_eq(st.tgid, getpid());
	ck_assert_str_eq(st.comm, comm);
	ck_assert_int_eq(st.ngroups, n);
	for (int i = 0; i < n; i++)
		ck_assert_uint_eq(st.groups[i], g[i]);
	free(st.groups);
	/* another thread: the same process, no name (a thread's is not its process's) */
	ck_assert_int_eq(pthread_create(&t, NULL, thread_status, &st), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(st.tgid, getpid());
	ck_assert_str_eq(st.comm, "");
	free(st.groups);
	ck_assert_int_eq(proc_status_of(0, &st), -ESRCH);
	ck_assert_int_eq(proc_status_of(-1, &st), -ESRCH);
}
END_TEST

static void *is_mine(void *arg)
{
	*(bool *)arg = proc_is_thread_of(getpid(), gettid());
	return NULL;
}

START_TEST(test_is_thread_of)
{
	pthread_t t;
	bool mine = false;
	pid_t child;
	int st;

	ck_assert(proc_is_thread_of(getpid(), getpid()));
	ck_assert_int_eq(pthread_create(&t, NULL, is_mine, &mine), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert(mine);
	/* another process's thread is not ours, nor ours its */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	ck_assert(!proc_is_thread_of(getpid(), child));
	ck_assert(!proc_is_thread_of(child, getpid()));
	ck_assert(proc_is_thread_of(child, child));
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	ck_assert(!proc_is_thread_of(child, child));	/* gone */
	ck_assert(!proc_is_thread_of(0, getpid()));
	ck_assert(!proc_is_thread_of(getpid(), 0));
}
END_TEST

/* an owner pinned with the process known takes its name and checks the thread */
START_TEST(test_owner_init_tgid)
{
	struct uacce_owner o2;
	pid_t child = fork();
	int st;

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(proc_owner_init_tgid(&o2, gettid(), getpid(), "named", getuid(), getgid(),
					      false), 0);
	ck_assert_int_eq(o2.tgid, getpid());
	ck_assert_str_eq(o2.comm, "named");
	ck_assert(proc_owner_is(&o2, gettid()));
	ck_assert(!proc_owner_is(&o2, child));
	proc_owner_fini(&o2);
	/* a process that tid is no thread of: refused */
	ck_assert_int_eq(proc_owner_init_tgid(&o2, gettid(), child, "", getuid(), getgid(), false),
			 -ESRCH);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
}
END_TEST

static void *init_with_wrong_hint(void *arg)
{
	struct uacce_owner o2;
	pid_t *other = arg;

	/* a wrong guess (another live process) is checked, and corrected */
	proc_tgid_hint(gettid(), *other);
	ck_assert_int_eq(proc_owner_init(&o2, gettid(), getuid(), getgid(), false), 0);
	ck_assert_int_eq(o2.tgid, getpid());
	ck_assert(proc_owner_is(&o2, gettid()));
	proc_owner_fini(&o2);
	/* remembered: the same again */
	ck_assert_int_eq(proc_owner_init(&o2, gettid(), getuid(), getgid(), false), 0);
	ck_assert_int_eq(o2.tgid, getpid());
	proc_owner_fini(&o2);
	*other = 0;
	return NULL;
}

/*
 * proc_owner_init with no status read: a leader by its pidfd, another
 * thread through a guess that is checked; each process's own name, also
 * when names are kept (by pidfd inode)
 */
START_TEST(test_owner_init_finds_process)
{
	struct uacce_owner o2;
	char comm[16] = "";
	FILE *f = fopen("/proc/self/comm", "re");
	pid_t child, other;
	pthread_t t;
	int st, pfd[2];

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	ck_assert_int_eq(pipe(pfd), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		prctl(PR_SET_NAME, "uacce-kid");
		(void)!write(pfd[1], "x", 1);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(pfd[0], &st, 1), 1);
	/* the leader, twice (the name then kept where pidfds allow) */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(proc_owner_init(&o2, gettid(), getuid(), getgid(), false), 0);
		ck_assert_int_eq(o2.tgid, getpid());
		ck_assert_str_eq(o2.comm, comm);
		proc_owner_fini(&o2);
		/* another process: its own name, not ours kept */
		ck_assert_int_eq(proc_owner_init(&o2, child, getuid(), getgid(), false), 0);
		ck_assert_int_eq(o2.tgid, child);
		ck_assert_str_eq(o2.comm, "uacce-kid");
		proc_owner_fini(&o2);
	}
	/* a thread that is not its process's leader */
	other = child;
	ck_assert_int_eq(pthread_create(&t, NULL, init_with_wrong_hint, &other), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(other, 0);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	/* no such thread */
	ck_assert_int_eq(proc_owner_init(&o2, child, getuid(), getgid(), false), -ESRCH);
	ck_assert_int_eq(proc_owner_init(&o2, 0, getuid(), getgid(), false), -ESRCH);
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

struct opener {
	struct uacce_owner o;
	pid_t tid;
	sem_t opened, go;
};

static void *open_and_wait(void *arg)
{
	struct opener *a = arg;

	ck_assert_int_eq(proc_owner_init(&a->o, gettid(), getuid(), getgid(), false), 0);
	a->tid = gettid();
	sem_post(&a->opened);
	sem_wait(&a->go);
	return NULL;
}

/*
 * An opener that is not the leader: where the kernel has thread pidfds its
 * requests are known as the owner's by one (no /proc look-up); once it
 * exited, its number names nobody of the owner's: a request under that
 * number from another process (a reused tid) is refused.
 */
START_TEST(test_owner_thread_pidfd)
{
	struct opener a;
	struct uacce_owner fake;
	pthread_t t;
	pid_t child;
	int st, probe;

	sem_init(&a.opened, 0, 0);
	sem_init(&a.go, 0, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, open_and_wait, &a), 0);
	sem_wait(&a.opened);
	probe = (int)syscall(SYS_pidfd_open, a.tid, O_EXCL /* PIDFD_THREAD */);
	if (probe >= 0) {
		close(probe);
		ck_assert_int_ge(a.o.tpidfd, 0);
		ck_assert_int_eq(a.o.ttid, a.tid);
	} else {
		ck_assert_int_eq(a.o.tpidfd, -1);
	}
	ck_assert_int_eq(a.o.tgid, getpid());
	ck_assert(proc_owner_is(&a.o, a.tid));
	ck_assert(proc_owner_is(&a.o, gettid()));	/* another thread of the owner's */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	ck_assert(!proc_owner_is(&a.o, child));
	sem_post(&a.go);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	/* the opener is gone; say its number is the child's now */
	fake = a.o;
	fake.ttid = child;
	ck_assert(!proc_owner_is(&fake, child));
	ck_assert(proc_owner_is(&a.o, gettid()));
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	proc_owner_fini(&a.o);
	sem_destroy(&a.opened);
	sem_destroy(&a.go);
}
END_TEST

/*
 * An owner adopted from a predecessor's fds: bound to what they pin, never
 * to a pid looked up again; a pidfd of another process or no pidfd at all
 * is refused (its fds closed); one whose process exited is adopted, dead.
 */
START_TEST(test_owner_adopt)
{
	struct uacce_owner o1, o2;
	char buf[16] = { 0 }, probe[16] = "adopted";
	pid_t child = fork();
	int st, nul;

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	/* the predecessor's owner (SVA: memory fds too), dup'ed as a handover does */
	ck_assert_int_eq(proc_owner_init(&o1, gettid(), getuid(), getgid(), true), 0);
	ck_assert_int_eq(proc_owner_adopt(&o2, o1.tgid, o1.uid, o1.gid, o1.comm, dup(o1.pidfd),
					  dup(o1.memfd), dup(o1.mapsfd)), 0);
	proc_owner_fini(&o1);
	ck_assert_int_eq(o2.tgid, getpid());
	ck_assert(proc_owner_alive(&o2));
	ck_assert(proc_owner_is(&o2, gettid()));
	ck_assert_int_eq(proc_mem_write(&o2, (uint64_t)(uintptr_t)buf, probe, sizeof(probe)), 0);
	ck_assert_str_eq(buf, "adopted");
	proc_owner_fini(&o2);
	/* a pidfd of another process than the one named */
	ck_assert_int_eq(proc_owner_init(&o1, gettid(), getuid(), getgid(), false), 0);
	ck_assert_int_eq(proc_owner_adopt(&o2, child, getuid(), getgid(), "x", dup(o1.pidfd), -1,
					  -1), -ESRCH);
	ck_assert_int_eq(o2.pidfd, -1);
	/* not a pidfd at all */
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(nul, 0);
	ck_assert_int_eq(proc_owner_adopt(&o2, getpid(), getuid(), getgid(), "x", nul, -1, -1),
			 -EINVAL);
	ck_assert_int_eq(fcntl(nul, F_GETFD), -1);	/* closed */
	proc_owner_fini(&o1);
	/* an owner that exited in the gap: adopted, and dead */
	ck_assert_int_eq(proc_owner_init(&o1, child, getuid(), getgid(), false), 0);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	ck_assert_int_eq(proc_owner_adopt(&o2, child, getuid(), getgid(), "gone", dup(o1.pidfd),
					  -1, -1), 0);
	ck_assert(!proc_owner_alive(&o2));
	ck_assert(!proc_owner_is(&o2, child));
	proc_owner_fini(&o2);
	proc_owner_fini(&o1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proc");
	TCase *ti = tcase_create("identity");
	TCase *tc = tcase_create("protections");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_check_query_or_text);
	tcase_add_test(tc, test_check_maps_text);
	tcase_add_test(tc, test_read_write_honour_protections);
	tcase_add_test(tc, test_many_mappings_text);
	tcase_add_test(tc, test_very_many_mappings_text);
	tcase_add_test(tc, test_request_ranges_query);
	tcase_add_test(tc, test_request_ranges_text);
	tcase_add_test(tc, test_request_not_across);
	tcase_add_test(tc, test_shm_add);
	tcase_add_test(tc, test_shm_direct_query);
	tcase_add_test(tc, test_shm_direct_text);
	tcase_add_test(tc, test_not_for_non_sva_owner);
	tcase_add_test(tc, test_opener_thread_exited);
	suite_add_tcase(s, tc);
	tcase_add_test(ti, test_status_of);
	tcase_add_test(ti, test_is_thread_of);
	tcase_add_test(ti, test_owner_init_tgid);
	tcase_add_test(ti, test_owner_init_finds_process);
	tcase_add_test(ti, test_owner_thread_pidfd);
	tcase_add_test(ti, test_owner_adopt);
	suite_add_tcase(s, ti);
	return unit_run(s);
}
