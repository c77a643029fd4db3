/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: a process with the queue fd that is not its owner (fork, SCM_RIGHTS, /proc) */
#include "abi-common.h"

/*
 * checks done by a process that has the queue fd but is not its owner;
 * outsider: its uid and groups may not use the broker socket (--peer-uid,
 * a uid outside the node group): connect(2) gets EACCES
 */
static void stranger_checks(struct wd_queue *q, int fd, bool inherited, bool outsider)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n, s, socks[8];
	char c;

	expect("UACCE_CMD_START", xioctl(fd, UACCE_CMD_START, 0), EPERM);
	expect("UACCE_CMD_PUT_Q", xioctl(fd, UACCE_CMD_PUT_Q, 0), EPERM);
	expect("DUMMY_CMD_FLUSH", xioctl(fd, DUMMY_CMD_FLUSH, 0), EPERM);
	expect("UACCE_CMD_SHARE_SVAS", xioctl(fd, UACCE_CMD_SHARE_SVAS, (unsigned long)fd), EPERM);
	expect("read(2)", read(fd, &c, 1) < 0 ? errno : 0, EPERM);
	n = poll(&p, 1, T(1000));
	if (n == 1 && (p.revents & POLLERR))
		ok("poll reports POLLERR (revents 0x%x)", (unsigned)p.revents);
	else
		fail("poll: expected POLLERR got %d, revents 0x%x", n, (unsigned)p.revents);
	n = bk_attach_status(fd, &s);
	if (outsider)
		expect("connect(2) to the broker socket (not in the node group)", -n, EACCES);
	else
		expect("broker UB_ATTACH with this queue fd", -n, EPERM);
	if (s >= 0) {
		n = bk_map(s, UACCE_QFRT_MMIO, 4096);
		if (n != 0)
			ok("UB_MAP on the refused connection -> %s", ename(-n));
		else
			fail("UB_MAP on the refused connection: expected an error got success");
		close(s);
	}
	if (inherited) {
		uint64_t off, size;
		void *addr;

		uacce_region_info(q->uq, UACCE_QFRT_MMIO, &off, &size);
		expect("uacce_map_region(MMIO) in the child",
		       -uacce_map_region(q->uq, UACCE_QFRT_MMIO, size, &addr), EPERM);
		/* the parent's broker connection, inherited: every message is checked */
		n = find_broker_socks(socks, 8);
		if (n == 0)
			fail("no inherited broker connection found");
		for (int i = 0; i < n; i++) {
			int r = bk_map(socks[i], UACCE_QFRT_MMIO, size);

			expect("UB_MAP on the parent's inherited broker connection", -r, EPERM);
		}
	}
}

void sc_fork(const char *dev)
{
	static const int types[] = { UACCE_QFRT_MMIO, UACCE_QFRT_DUS, UACCE_QFRT_SS };
	struct wd_queue q;
	pid_t c;
	int st;

	set_ctx(dev, "fork");
	if (request_wd(&q, dev))
		return;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE)) {
		fail("reserve SS: %s", strerror(errno));
		wd_release_queue(&q);
		return;
	}
	check_copy("a copy in the parent before fork", &q);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		snprintf(ctx, sizeof(ctx), "fork %s (child)", dev);
		n_fail = 0;
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			void *addr = uacce_region_addr(q.uq, types[i]);
			static const char *const nm[] = { "MMIO", "DKO", "DUS", "SS" };
			char what[96];

			if (!addr)
				continue;
			snprintf(what, sizeof(what), "%s region address not mapped in the child (mincore)",
				 nm[types[i]]);
			expect(what, mapped_err(addr, 4096), ENOMEM);
		}
		stranger_checks(&q, q.fd, true, false);
		close(q.fd);
		fflush(stdout);
		_exit(n_fail ? 1 : 0);
	}
	if (c < 0) {
		fail("fork: %s", strerror(errno));
		wd_release_queue(&q);
		return;
	}
	st = child_status(c, 20000);
	expect_true("child finished its checks", st == 0, st < 0 ? "timeout" : "failures");
	expect("parent: region still mapped", mapped_err(uacce_region_addr(q.uq, UACCE_QFRT_MMIO),
						     4096), 0);
	expect("parent: DUMMY_CMD_FLUSH", xioctl(q.fd, DUMMY_CMD_FLUSH, 0), 0);
	check_copy("parent: a copy after the child closed its copy of the fd", &q);
	wd_release_queue(&q);
}

static int drop_to(int uid)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	gid_t gid = pw ? pw->pw_gid : (gid_t)uid;

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
		return -errno;
	return 0;
}

static int send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char b = 'F';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	int fd = -1;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

void sc_scm_rights(const char *dev)
{
	struct wd_queue q;
	int sv[2], st;
	pid_t c;

	set_ctx(dev, "scm-rights");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		fail("socketpair: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	c = fork();	/* before the queue exists: the fd only arrives by SCM_RIGHTS */
	if (c == 0) {
		int fd;

		close(sv[0]);
		snprintf(ctx, sizeof(ctx), "scm-rights %s (receiver)", dev);
		n_fail = 0;
		if (peer_uid >= 0) {
			int e = drop_to(peer_uid);

			if (e) {
				fail("dropping to uid %d: %s", peer_uid, ename(-e));
				_exit(1);
			}
			snprintf(ctx, sizeof(ctx), "scm-rights %s (receiver, uid %d)", dev, peer_uid);
		}
		fd = recv_fd(sv[1]);
		if (fd < 0) {
			fail("no fd received");
			_exit(1);
		}
		stranger_checks(NULL, fd, false, peer_uid > 0);
		close(fd);
		fflush(stdout);
		_exit(n_fail ? 1 : 0);
	}
	close(sv[1]);
	if (c < 0) {
		fail("fork: %s", strerror(errno));
		close(sv[0]);
		return;
	}
	if (request_wd(&q, dev)) {
		close(sv[0]);
		child_status(c, 5000);
		return;
	}
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE))
		fail("reserve SS: %s", strerror(errno));
	expect("sending the queue fd over a socketpair", -send_fd(sv[0], q.fd), 0);
	st = child_status(c, 20000);
	expect_true("the receiver finished its checks", st == 0, st < 0 ? "timeout" : "failures");
	close(sv[0]);
	check_copy("the owner still copies after the receiver closed its fd", &q);
	wd_release_queue(&q);
}

/*
 * Another process reaching the owner's queue file without fork or
 * SCM_RIGHTS: pidfd_getfd(2) gives it the very same open file (refused like
 * any stranger); opening /proc/<owner>/fd/<n> re-opens the device node, which
 * is a new open and so a queue of its own (EBUSY on a non-SVA device the
 * owner holds), never access to the owner's queue.
 */
void sc_proc_fd(const char *dev)
{
	struct wd_queue q;
	pid_t owner = getpid(), c;
	int before, st;

	set_ctx(dev, "proc-fd");
	if (request_wd(&q, dev))
		return;
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE))
		fail("reserve SS: %s", strerror(errno));
	before = avail(dev);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		char path[64];
		int pfd, fd;

		snprintf(ctx, sizeof(ctx), "proc-fd %s (other process)", dev);
		n_fail = 0;
		pfd = (int)syscall(SYS_pidfd_open, owner, 0);
		fd = pfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pfd, q.fd, 0);
		if (fd < 0) {
			info("pidfd_getfd of the owner's queue fd: %s (ptrace rules): skipped",
			     strerror(errno));
		} else {
			ok("pidfd_getfd gave this process the owner's open queue file");
			stranger_checks(NULL, fd, false, false);
			close(fd);
		}
		if (pfd >= 0)
			close(pfd);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)owner, q.fd);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (q.dev_flags & UACCE_DEV_SVA) {
			expect("open(/proc/<owner>/fd/<n>) is a new open", fd < 0 ? errno : 0, 0);
			if (fd >= 0) {
				expect_true("the new open took a hardware queue of its own",
					    avail(dev) == before - 1, "available_instances unchanged");
				expect("UACCE_CMD_START on the new open (its own queue)",
				       xioctl(fd, UACCE_CMD_START, 0), 0);
				close(fd);
			}
		} else {
			expect("open(/proc/<owner>/fd/<n>) while the owner holds the non-SVA device",
			       fd < 0 ? errno : 0, EBUSY);
			if (fd >= 0)
				close(fd);
		}
		fflush(stdout);
		_exit(n_fail ? 1 : 0);
	}
	if (c < 0) {
		fail("fork: %s", strerror(errno));
	} else {
		st = child_status(c, T(20000));
		expect_true("the other process finished its checks", st == 0,
			    st < 0 ? "timeout" : "failures");
	}
	check_copy("the owner still copies", &q);
	wd_release_queue(&q);
}
