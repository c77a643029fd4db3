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

/* one request/reply through the codec: the reply status (-errno) or a transport -errno */
int bk_call(int sock, uint16_t op, const void *body, uint16_t len, int sendfd)
{
	struct ub_reply r;
	int rfd, err;

	err = ub_call(sock, op, body, len, sendfd, &r, &rfd);
	if (rfd >= 0)
		close(rfd);	/* we only want the status */
	return err ? err : r.status;
}

/*
 * A hand-built packet of `len` bytes with `nfds` fds (SCM_RIGHTS).  The
 * codec (common/broker_wire.c) refuses to build a malformed message, so the
 * hostile checks send theirs through this raw path.
 */
static int bk_send_raw(int sock, const void *pkt, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(64 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)pkt, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds < 0 || nfds > 64)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* a hand-built message: any header, a body of `len` bytes, `nfds` fds */
static int bk_send_msg_raw(int sock, uint16_t version, uint16_t op, uint16_t flags,
			   const void *body, uint16_t len, const int *fds, int nfds)
{
	unsigned char pkt[sizeof(struct ub_hdr) + 256];
	struct ub_hdr h = { .version = version, .opcode = op, .flags = flags, .body_len = len };

	if (len > sizeof(pkt) - sizeof(h))
		return -EINVAL;
	memcpy(pkt, &h, sizeof(h));
	if (len)
		memcpy(pkt + sizeof(h), body, len);
	return bk_send_raw(sock, pkt, sizeof(h) + len, fds, nfds);
}

/* the broker's reply: its status, or -ECONNRESET (closed), -EPROTO (no reply) */
static int bk_reply(int sock)
{
	struct ub_msg m;
	int err = ub_recv(sock, &m, 0);

	if (m.fd >= 0)
		close(m.fd);
	if (err)
		return ub_refused(err) ? -EPROTO : err;
	return m.opcode == UB_REPLY ? m.body.reply.status : -EPROTO;
}

/* a hand-built request (version 1) and its reply */
static int bk_call_raw(int sock, uint16_t op, uint16_t flags, const void *body, uint16_t len,
		       const int *fds, int nfds)
{
	int err = bk_send_msg_raw(sock, UB_VERSION, op, flags, body, len, fds, nfds);

	return err ? err : bk_reply(sock);
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
	expect("UB_ATTACH without an fd", -bk_call_raw(s, UB_ATTACH, 0, NULL, 0, NULL, 0), EBADF);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	expect("UB_ATTACH with /dev/null", -bk_call(s, UB_ATTACH, NULL, 0, nullfd), EINVAL);
	expect("unknown opcode 0x77", -bk_call_raw(s, 0x77, 0, NULL, 0, NULL, 0), EOPNOTSUPP);
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
		int e = -bk_call_raw(s, UB_UNMAP, 0, &u, 3, NULL, 0);

		expect("UB_UNMAP with a short body", e, EBADMSG);
	}
	{	/* an fd with a request that takes none: dropped, the reply comes */
		r = bk_call_raw(s, 0x77, UB_F_FD, NULL, 0, &nullfd, 1);
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

/*
 * broker-fdflood: fds that come with messages the broker does not accept
 * must never stay in the daemon.  50 zero-length packets with 4 fds each
 * (a connection each: the broker drops a connection that sends one), then
 * 50 malformed messages with fds, 5 rounds of the kinds below.  Every fd
 * sent is the write end of one pipe: once the broker has closed them all,
 * the read end sees EOF.  (run-host.sh also counts the daemon's fds.)
 */
static const struct flood_kind {
	const char *what;
	uint16_t version, op, flags, len;
	int nfds;
	int want;		/* the reply status, or ECONNRESET: connection closed */
} flood_kinds[] = {
	{ "unknown opcode, UB_F_FD, 1 fd", UB_VERSION, 0x77, UB_F_FD, 0, 1, EOPNOTSUPP },
	{ "unknown opcode, no UB_F_FD, 4 fds", UB_VERSION, 0x77, 0, 0, 4, EOPNOTSUPP },
	{ "UB_MAP, no UB_F_FD, 1 fd", UB_VERSION, UB_MAP, 0, sizeof(struct ub_map), 1, EBADMSG },
	{ "UB_MAP, UB_F_FD, 2 fds", UB_VERSION, UB_MAP, UB_F_FD, sizeof(struct ub_map), 2,
	  EBADMSG },
	{ "UB_ATTACH, UB_F_FD, 3 fds", UB_VERSION, UB_ATTACH, UB_F_FD, 0, 3, EBADMSG },
	{ "UB_UNMAP with a 3-byte body, UB_F_FD, 1 fd", UB_VERSION, UB_UNMAP, UB_F_FD, 3, 1,
	  EBADMSG },
	{ "UB_REPLY sent to the broker, UB_F_FD, 1 fd", UB_VERSION, UB_REPLY, UB_F_FD,
	  sizeof(struct ub_reply), 1, EOPNOTSUPP },
	{ "opcode 0xffff, UB_F_FD, 32 fds (control data truncated)", UB_VERSION, 0xffff, UB_F_FD,
	  0, 32, ECONNRESET },
	{ "version 99, UB_F_FD, 2 fds", 99, UB_ATTACH, UB_F_FD, 0, 2, ECONNRESET },
	{ "a 3-byte packet with 2 fds", 0, 0, 0, 0, 2, ECONNRESET },
};

/* wait (5 s) for the broker to close s: true when it did */
static bool bk_closed(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	char c;

	return poll(&p, 1, T(5000)) == 1 && recv(sock, &c, 1, MSG_DONTWAIT) == 0;
}

static void flood_one(const struct flood_kind *k, const int *fds, int *sock, int *bad)
{
	unsigned char body[sizeof(struct ub_reply)] = { 0 };
	int r;

	if (*sock < 0 && (*sock = bk_connect()) < 0) {
		(*bad)++;
		return;
	}
	if (k->version == 0)	/* no header at all */
		r = bk_send_raw(*sock, "\1\0\2", 3, fds, k->nfds);
	else
		r = bk_send_msg_raw(*sock, k->version, k->op, k->flags, body, k->len, fds, k->nfds);
	if (!r)
		r = k->want == ECONNRESET ? (bk_closed(*sock) ? -ECONNRESET : -EPROTO)
					  : bk_reply(*sock);
	if (-r != k->want) {
		if (!(*bad)++)
			fail("%s: expected %s got %s", k->what, ename(k->want), ename(-r));
	}
	if (r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN) {
		close(*sock);
		*sock = -1;
	}
}

int cmd_fdflood(void)
{
	const size_t nk = sizeof(flood_kinds) / sizeof(flood_kinds[0]);
	struct pollfd pf = { .events = POLLIN };
	int p[2], fds[32], sock = -1, bad = 0, s;
	char c;

	set_ctx(NULL, "broker-fdflood");
	if (pipe2(p, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fds[i] = p[1];	/* each copy arrives as an fd of its own */
	for (int i = 0; i < 50; i++) {
		s = bk_connect();
		if (s < 0 || bk_send_raw(s, NULL, 0, fds, 4) < 0 || !bk_closed(s))
			bad++;
		if (s >= 0)
			close(s);
	}
	expect_true("50 zero-length packets with 4 fds: each connection closed", !bad,
		    "a connection left open or not made");
	bad = 0;
	for (int i = 0; i < 50; i++)
		flood_one(&flood_kinds[(size_t)i % nk], fds, &sock, &bad);
	if (sock >= 0)
		close(sock);
	expect_true("50 malformed messages with fds (5 x 10 kinds): the answers expected", !bad,
		    "other answers");
	close(p[1]);
	pf.fd = p[0];
	expect_true("every fd sent was closed by the broker (the pipe's read end sees EOF)",
		    poll(&pf, 1, T(5000)) == 1 && read(p[0], &c, 1) == 0,
		    "write ends still open in the daemon");
	close(p[0]);
	expect_true("daemon still running", daemon_alive(), "no daemon");
	printf("abi-probe: %d ok, %d failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}

/*
 * attach-foreign PATH: open PATH (a file of another file system, e.g. a
 * FUSE mount whose server the script stops next), print "ready PID", wait
 * for SIGUSR1, then send that fd to the broker with UB_ATTACH.  The broker
 * must answer (EINVAL: not one of its queues) without calling into the
 * file's file system; prints "attach-ms N" and the answer.  Also exits 1
 * when no answer came within 10 s (times UACCE_TIME_SCALE).
 */
static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int cmd_attach_foreign(const char *path, const char *svadev)
{
	struct pollfd p = { .events = POLLIN };
	struct wd_queue q = { 0 };
	sigset_t block, old;
	double t0;
	int fd, s, s2 = -1, r;

	set_ctx(NULL, "attach-foreign");
	signal(SIGUSR1, on_usr1);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fail("open %s: %s", path, strerror(errno));
		return 1;
	}
	s = bk_connect();
	if (s < 0) {
		fail("connect to the broker: %s", ename(-s));
		return 1;
	}
	/* an SVA queue of ours, its connection attached, to UB_SHARE that file */
	if (svadev && (request_wd(&q, svadev) || bk_attach_status(q.fd, &s2))) {
		fail("an attached queue of %s", svadev);
		return 1;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!go)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	t0 = now_ms();
	r = ub_send(s, UB_ATTACH, NULL, 0, fd, 0);
	p.fd = s;
	if (!r && poll(&p, 1, T(10000)) != 1) {
		fail("UB_ATTACH of a file of %s: no answer within %d ms (the broker is stuck)",
		     path, T(10000));
		return 1;
	}
	if (!r)
		r = bk_reply(s);
	printf("attach-ms %.0f\n", now_ms() - t0);
	expect("UB_ATTACH of a file of another file system", -r, EINVAL);
	if (s2 >= 0) {	/* UB_SHARE asks the file's seals first: no call into it */
		t0 = now_ms();
		r = ub_send(s2, UB_SHARE, NULL, 0, fd, 0);
		p.fd = s2;
		if (!r && poll(&p, 1, T(10000)) != 1) {
			fail("UB_SHARE of a file of %s: no answer within %d ms (the broker is "
			     "stuck)", path, T(10000));
			return 1;
		}
		if (!r)
			r = bk_reply(s2);
		printf("share-ms %.0f\n", now_ms() - t0);
		expect("UB_SHARE of a file of another file system", -r, EINVAL);
		close(s2);
		wd_release_queue(&q);
	}
	close(s);
	close(fd);
	printf("abi-probe: %d ok, %d failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}
