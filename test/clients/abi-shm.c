/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * abi-probe: memory an SVA queue's owner shares with the device (UB_SHARE,
 * uacce_queue_share_fd / uacce_share_alloc; daemon/shm.h).  The daemon
 * must take only sealed, writable memfds of the owner, and what the device
 * sees must stay what the owner maps at the address: a range in a shared
 * mapping of that memfd is served in place, anything else (the same
 * address mapped anew, a private mapping of the same file, a read-only
 * mapping) as any SVA memory.
 */
#include "abi-common.h"

#include <sys/mman.h>

#define SZ		65536
#define SHM_MAX		8	/* memfds a queue takes (UB_SHARE, broker_proto.h) */

/* a memfd of `size` bytes with `seals` added (0: none), or -errno */
static int new_memfd(size_t size, int seals)
{
	int fd = memfd_create("abi-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 || (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* UB_SHARE of fd on a fresh broker connection attached to qfd: the status */
static int raw_share(int qfd, int fd)
{
	int s, r = bk_attach_status(qfd, &s);

	if (!r)
		r = bk_call(s, UB_SHARE, NULL, 0, fd);
	if (s >= 0)
		close(s);
	return r;
}

static void refusals(struct wd_queue *q)
{
	const int good = F_SEAL_SHRINK | F_SEAL_GROW;
	int fd, p[2];
	char path[64];

	/* a pipe, an unsealable memfd, one sealed against writing, one of 0 bytes */
	if (pipe2(p, O_CLOEXEC) == 0) {
		expect("UB_SHARE of a pipe", raw_share(q->fd, p[1]), -EINVAL);
		close(p[0]);
		close(p[1]);
	}
	fd = memfd_create("abi-shm-nos", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, SZ) == 0)
		expect("UB_SHARE of a memfd without seals (it may shrink)", raw_share(q->fd, fd),
		       -EINVAL);
	if (fd >= 0)
		close(fd);
	fd = new_memfd(SZ, F_SEAL_GROW);
	expect("UB_SHARE of a memfd sealed against growing only", raw_share(q->fd, fd), -EINVAL);
	if (fd >= 0)
		close(fd);
	fd = new_memfd(SZ, good | F_SEAL_WRITE);
	expect("UB_SHARE of a memfd sealed against writing", raw_share(q->fd, fd), -EINVAL);
	if (fd >= 0)
		close(fd);
	fd = new_memfd(0, good);
	expect("UB_SHARE of an empty memfd", raw_share(q->fd, fd), -EINVAL);
	if (fd >= 0)
		close(fd);
	/* the same memfd opened read-only: the daemon could not write to it */
	fd = new_memfd(SZ, good);
	if (fd >= 0) {
		int ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		expect("UB_SHARE of a sealed memfd opened read-only", ro >= 0 ? raw_share(q->fd, ro)
									      : -errno, -EINVAL);
		if (ro >= 0)
			close(ro);
		close(fd);
	}
}

/* fill, copy src -> dst through q, compare with what dst must hold: 0 or EIO/errno */
static int copy_check(struct wd_queue *q, unsigned char *dst, const unsigned char *src,
		      size_t n)
{
	int r = wd_copy(q, dst, src, n, 7);

	return r ? r : memcmp(dst, src, n) ? EIO : 0;
}

void sc_shared_mem(const char *dev, const char *nonsva)
{
	struct wd_queue q, nq;
	unsigned char *a, *b;
	int fd, r, s, n, fds[SHM_MAX];
	pid_t pid;
	void *p;

	set_ctx(dev, "shared-mem");
	if (request_wd(&q, dev))
		return;
	refusals(&q);

	/* the library's way: fresh memory shared with the device, copies in it */
	r = uacce_share_alloc(q.uq, SZ, &p);
	if (expect("uacce_share_alloc of 64 KiB on an SVA queue", r, 0)) {
		a = p;
		fill(a, SZ / 2, 11);
		memset(a + SZ / 2, 0, SZ / 2);
		expect("a copy inside the shared memory", copy_check(&q, a + SZ / 2, a, SZ / 2), 0);
		munmap(p, SZ);
	}

	/* a memfd of ours: EEXIST a second time; it still counts once */
	fd = new_memfd(SZ, F_SEAL_SHRINK | F_SEAL_GROW);
	if (fd < 0) {
		expect("memfd_create", fd, 0);
		goto out;
	}
	expect("uacce_queue_share_fd of a sealed memfd", uacce_queue_share_fd(q.uq, fd), 0);
	expect("the same memfd again", uacce_queue_share_fd(q.uq, fd), -EEXIST);

	/* what the device sees is what the owner maps: the address mapped anew */
	a = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED) {
		expect("mmap of the memfd", -errno, 0);
		goto out_fd;
	}
	fill(a, SZ, 21);	/* the file's bytes */
	b = mmap(a, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (b != a) {
		expect("mmap MAP_FIXED over it", -errno, 0);
		goto out_fd;
	}
	fill(b, SZ / 2, 22);
	memset(b + SZ / 2, 0, SZ / 2);
	expect("the memfd's address mapped anew (anonymous): the copy reads and writes the new "
	       "memory", copy_check(&q, b + SZ / 2, b, SZ / 2), 0);
	munmap(b, SZ);
	/* the file kept its bytes: the daemon wrote nothing into it */
	a = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a != MAP_FAILED) {
		unsigned char *want = malloc(SZ);

		fill(want, SZ, 21);
		expect_true("... and the memfd's bytes are untouched", memcmp(a, want, SZ) == 0,
			    "changed");
		free(want);
		munmap(a, SZ);
	}

	/* a private mapping of the same file: the owner's copies, not the file */
	a = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (a != MAP_FAILED) {
		fill(a, SZ / 2, 23);	/* private pages now */
		memset(a + SZ / 2, 0, SZ / 2);
		expect("a private mapping of the shared memfd: the owner's private pages",
		       copy_check(&q, a + SZ / 2, a, SZ / 2), 0);
		munmap(a, SZ);
	}

	/* a shared mapping the owner made read-only: no write into it */
	a = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a != MAP_FAILED) {
		unsigned char *src = malloc(4096);

		fill(a, SZ, 24);
		fill(src, 4096, 25);
		mprotect(a, SZ, PROT_READ);
		r = wd_copy(&q, a, src, 4096, 9);
		expect_true("a copy into a read-only shared mapping of it fails", r != 0, "done");
		mprotect(a, SZ, PROT_READ | PROT_WRITE);
		expect_true("... and the memory is unchanged", a[0] != src[0] ||
			    memcmp(a, src, 4096) != 0, "written");
		free(src);
		munmap(a, SZ);
	}

	/* a forked child may not share, on the owner's own broker connection */
	r = bk_attach_status(q.fd, &s);
	expect("UB_ATTACH of the queue", r, 0);
	pid = s >= 0 && !r ? fork() : -1;
	if (pid == 0) {
		int f2 = new_memfd(SZ, F_SEAL_SHRINK);

		_exit(f2 >= 0 && bk_call(s, UB_SHARE, NULL, 0, f2) == -EPERM ? 0 : 1);
	}
	if (pid > 0)
		expect("UB_SHARE from a forked child on the owner's connection: EPERM",
		       child_status(pid, T(5000)), 0);
	if (s >= 0)
		close(s);

	/* at most SHM_MAX files a queue (two shared above: uacce_share_alloc's,
	 * kept by the daemon after our munmap, and fd) */
	r = 0;
	for (n = 0; n < SHM_MAX && !r; n++) {
		fds[n] = new_memfd(4096, F_SEAL_SHRINK);
		r = fds[n] < 0 ? fds[n] : uacce_queue_share_fd(q.uq, fds[n]);
	}
	expect("memfds beyond 8 a queue", r, -ENOSPC);
	if (n == SHM_MAX - 1)
		ok("... refused at the 9th: 6 more were taken");
	else
		fail("... refused after %d more, not 6", n - 1);
	while (n--)
		if (fds[n] >= 0)
			close(fds[n]);

	/* a non-SVA queue's device has no access to its owner's memory */
	if (nonsva && request_wd(&nq, nonsva) == 0) {
		int f2 = new_memfd(SZ, F_SEAL_SHRINK);

		expect("UB_SHARE on a non-SVA queue", raw_share(nq.fd, f2), -EINVAL);
		if (f2 >= 0)
			close(f2);
		wd_release_queue(&nq);
	}
out_fd:
	close(fd);
out:
	wd_release_queue(&q);
}
