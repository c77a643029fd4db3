/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: a raw region broker client and the broker-proto scenario */
#include "abi-common.h"

/* --- raw broker client (to check the daemon, not the library) ---------------- */

int bk_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", uacce_runtime_dir(), UB_SOCKET_NAME);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(s);
		return -e;
	}
	return s;
}

/* one request/reply; returns the reply status (-errno) or a transport -errno */
int bk_call(int sock, uint16_t op, const void *body, uint16_t len, int sendfd)
{
	char out[sizeof(struct ub_hdr) + UB_MAX_BODY];
	struct ub_hdr h = { .version = UB_VERSION, .opcode = op, .body_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = out, .iov_len = sizeof(h) + len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct {
		struct ub_hdr h;
		struct ub_reply r;
	} in;
	ssize_t n;

	if (sendfd >= 0) {
		struct cmsghdr *cm;

		h.flags = UB_F_FD;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &sendfd, sizeof(int));
	}
	memcpy(out, &h, sizeof(h));
	if (len)
		memcpy(out + sizeof(h), body, len);
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &in;
	iov.iov_len = sizeof(in);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOTCONN;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
			close(fd);	/* we only want the status */
		}
	}
	if ((size_t)n != sizeof(in) || in.h.opcode != UB_REPLY)
		return -EPROTO;
	return in.r.status;
}

int bk_map(int sock, int type, uint64_t size)
{
	struct ub_map m = { .type = (uint32_t)type, .size = size };

	return bk_call(sock, UB_MAP, &m, sizeof(m), -1);
}

/* a fresh broker connection, attached with queue fd `qfd`: the status */
int bk_attach_status(int qfd, int *sock_out)
{
	int s = bk_connect(), r;

	if (sock_out)
		*sock_out = -1;
	if (s < 0)
		return s;
	r = bk_call(s, UB_ATTACH, NULL, 0, qfd);
	if (sock_out)
		*sock_out = s;
	else
		close(s);
	return r;
}

/* the broker connections this process holds (inherited ones included) */
int find_broker_socks(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		struct sockaddr_un sa;
		socklen_t sl = sizeof(sa);
		int fd = atoi(de->d_name), type = 0;
		socklen_t tl = sizeof(type);
		size_t pl;

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET)
			continue;
		memset(&sa, 0, sizeof(sa));
		if (getpeername(fd, (struct sockaddr *)&sa, &sl) < 0 || sa.sun_family != AF_UNIX)
			continue;
		pl = strlen(sa.sun_path);
		if (pl >= strlen(UB_SOCKET_NAME) &&
		    strcmp(sa.sun_path + pl - strlen(UB_SOCKET_NAME), UB_SOCKET_NAME) == 0)
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}


/* the region broker's wire protocol, from the client's side */
void sc_broker_proto(const char *dev)
{
	struct wd_queue q;
	int s, s2, r, nullfd;

	set_ctx(dev, "broker-proto");
	if (request_wd(&q, dev))
		return;
	s = bk_connect();
	if (s < 0) {
		fail("connect to the broker: %s", ename(-s));
		wd_release_queue(&q);
		return;
	}
	expect("UB_MAP before UB_ATTACH", -bk_map(s, UACCE_QFRT_MMIO, 4096), ENOTCONN);
	expect("UB_ATTACH without an fd", -bk_call(s, UB_ATTACH, NULL, 0, -1), EBADF);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	expect("UB_ATTACH with /dev/null", -bk_call(s, UB_ATTACH, NULL, 0, nullfd), EINVAL);
	expect("unknown opcode 0x77", -bk_call(s, 0x77, NULL, 0, -1), EOPNOTSUPP);
	expect("UB_ATTACH with the queue fd", -bk_call(s, UB_ATTACH, NULL, 0, q.fd), 0);
	expect("UB_ATTACH a second time", -bk_call(s, UB_ATTACH, NULL, 0, q.fd), EALREADY);
	expect("UB_MAP of region type 99", -bk_map(s, 99, 4096), EINVAL);
	expect("UB_MAP of region type 0xffffffff", -bk_map(s, -1, 4096), EINVAL);
	expect("UB_MAP of MMIO with size 0", -bk_map(s, UACCE_QFRT_MMIO, 0), EINVAL);
	expect("UB_MAP of MMIO, mapped already by wd_request_queue", -bk_map(s, UACCE_QFRT_MMIO, 4096),
	       EBUSY);
	{
		struct ub_mapped m = { .type = UACCE_QFRT_DKO, .addr = 0x10000 };

		expect("UB_MAPPED for a region never mapped",
		       -bk_call(s, UB_MAPPED, &m, sizeof(m), -1), EINVAL);
		m.type = UACCE_QFRT_MMIO;
		m.addr = 0x10001;
		expect("UB_MAPPED with an unaligned address",
		       -bk_call(s, UB_MAPPED, &m, sizeof(m), -1), EINVAL);
	}
	{
		struct ub_region u = { .type = UACCE_QFRT_DUS };
		int e = -bk_call(s, UB_UNMAP, &u, 3, -1);

		expect("UB_UNMAP with a short body", e, EBADMSG);
	}
	{	/* an fd with a request that takes none: dropped, the reply comes */
		r = bk_call(s, 0x77, NULL, 0, nullfd);
		expect("unknown opcode with an fd attached", -r, EOPNOTSUPP);
	}
	{	/* a wrong version: the broker drops the connection */
		struct ub_hdr h = { .version = 99, .opcode = UB_ATTACH };
		char c;

		if (send(s, &h, sizeof(h), MSG_NOSIGNAL) < 0 || recv(s, &c, 1, 0) > 0)
			fail("protocol version 99: expected the connection closed");
		else
			ok("protocol version 99 -> connection closed");
	}
	close(s);
	s2 = bk_connect();
	if (s2 >= 0) {
		const char junk = 'x';

		if (send(s2, &junk, 1, MSG_NOSIGNAL) == 1) {
			char c;

			expect_true("a 1-byte packet -> connection closed", recv(s2, &c, 1, 0) <= 0,
				    "a reply");
		}
		close(s2);
	}
	close(nullfd);
	if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE))
		fail("reserve SS: %s", strerror(errno));
	check_copy("the queue still works", &q);
	expect_true("daemon still running", daemon_alive(), "no daemon");
	wd_release_queue(&q);
}
