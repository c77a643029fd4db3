/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-broker-wire - the broker protocol's receiving side
 * (common/broker_wire.c, ub_recv_closing) on arbitrary packets with
 * arbitrary numbers of fds and credentials, over a SOCK_SEQPACKET
 * socketpair as the broker gets them.  Input: a byte of options (bits 0-2:
 * how many fds travel, 0-7; bit 3: credentials on), then the packet.
 * Checks after each message: an accepted message is exactly what ub_decode
 * may accept (known opcode, exact body size, the fd rule), nothing of it
 * went to the closer, and the process holds as many fds as before (every
 * refused fd closed).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker_wire.h"
#include "fuzz_common.h"

static int closed;

static void count_close(int fd, void *ctx)
{
	(void)ctx;
	closed++;
	close(fd);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ub_closer closer = { .close = count_close };
	union {
		char buf[CMSG_SPACE(7 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct fin in = { data, size };
	unsigned opt = fin_u8(&in), nfds = opt & 7;
	int sv[2], fds[7], one = 1, before, err;
	struct iovec iov = { .iov_base = (void *)in.p, .iov_len = in.n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ub_msg m;

	if (in.n > 4096)
		return -1;	/* larger than any packet the broker reads whole */
	before = count_fds();
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	if (opt & 8)
		setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	for (unsigned i = 0; i < nfds; i++)
		FUZZ_CHECK((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0, "open");
	if (nfds) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	if (sendmsg(sv[0], &mh, MSG_NOSIGNAL) < 0) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	closed = 0;
	err = ub_recv_closing(sv[1], &m, MSG_DONTWAIT, &closer);
	if (!err) {
		int body = ub_body_size(m.opcode);

		FUZZ_CHECK(body >= 0 && in.n == 8 + (size_t)body, "accepted opcode %u, %zu bytes",
			   m.opcode, in.n);
		FUZZ_CHECK((m.fd >= 0) == (nfds == 1), "accepted with fd %d, %u sent", m.fd, nfds);
		FUZZ_CHECK(closed == 0, "accepted, yet %d fds closed", closed);
	} else {
		FUZZ_CHECK(m.fd == -1, "refused (%d) with an fd", err);
		/* fds that did not fit the control buffer the kernel closed itself */
		FUZZ_CHECK(closed <= (int)nfds, "refused (%d): %d closed, %u sent", err, closed,
			   nfds);
	}
	if (m.fd >= 0)
		close(m.fd);
	close(sv[0]);
	close(sv[1]);
	FUZZ_CHECK(count_fds() == before, "fds %d -> %d", before, count_fds());
	return 0;
}
