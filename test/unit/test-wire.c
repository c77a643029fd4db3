/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-wire.c - unit tests of the broker protocol's codec
 * (common/broker_wire.c), linked alone: both ends of a
 * socketpair(AF_UNIX, SOCK_SEQPACKET) in one process.  Every opcode round
 * trip with and without its fd; what the sender refuses to build; and
 * malformed packets, written by hand here (the codec will not build them):
 * a bad version, an unknown opcode, short and long bodies, a body length
 * that disagrees with the packet, zero-length packets, fds without UB_F_FD,
 * UB_F_FD without an fd, several fds, truncated control data.  After each,
 * the process's fd table (/proc/self/fd) must hold exactly what it held
 * before: every fd that came with a refused packet was closed.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit-main.h"
#include "broker_wire.h"

/* ------------------------------------------------------------------------- */
/* helpers                                                                    */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* sv[0]: the client end, sv[1]: the server end (with SO_PASSCRED if asked) */
static void pair(int sv[2], bool passcred)
{
	int one = 1;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	if (passcred)
		ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
}

static void unpair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

/* a packet written by hand: `len` bytes and `nfds` fds */
static void raw_send(int sock, const void *pkt, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(64 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)pkt, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	ck_assert_int_le(nfds, 64);
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
	ck_assert_int_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* a message written by hand: any header, a body of `len` bytes */
static void raw_msg(int sock, uint16_t version, uint16_t op, uint16_t flags, uint16_t len,
		    const int *fds, int nfds)
{
	unsigned char pkt[sizeof(struct ub_hdr) + 2 * UB_MAX_BODY] = { 0 };
	struct ub_hdr h = { .version = version, .opcode = op, .flags = flags, .body_len = len };

	ck_assert_uint_le(len, sizeof(pkt) - sizeof(h));
	memcpy(pkt, &h, sizeof(h));
	raw_send(sock, pkt, sizeof(h) + len, fds, nfds);
}

/* n fds of /dev/null for sending; closed by close_n after the send */
static void open_n(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fds[i], 0);
	}
}

static void close_n(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * Send a hand-built message with `nfds` fds and receive it with the codec:
 * the result must be `want`, and the fd table must be as before the send.
 */
static void refused(bool passcred, uint16_t version, uint16_t op, uint16_t flags, uint16_t len,
		    int nfds, int want)
{
	int sv[2], fds[64], before;
	struct ub_msg m;

	pair(sv, passcred);
	before = count_fds();
	open_n(fds, nfds);
	raw_msg(sv[0], version, op, flags, len, fds, nfds);
	close_n(fds, nfds);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), want);
	ck_assert_int_eq(m.fd, -1);
	ck_assert_int_eq(count_fds(), before);
	unpair(sv);
}

/* after a refusal the stream must still carry the next message */
static void next_message_intact(int sv[2])
{
	struct ub_region u = { .type = 7 };
	struct ub_msg m;

	ck_assert_int_eq(ub_send(sv[0], UB_UNMAP, &u, sizeof(u), -1, 0), 0);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), 0);
	ck_assert_uint_eq(m.opcode, UB_UNMAP);
	ck_assert_uint_eq(m.body.region.type, 7);
}

/* ------------------------------------------------------------------------- */
/* round trips                                                                */

START_TEST(test_body_sizes)
{
	ck_assert_int_eq(ub_body_size(UB_ATTACH), 0);
	ck_assert_int_eq(ub_body_size(UB_MAP), sizeof(struct ub_map));
	ck_assert_int_eq(ub_body_size(UB_MAPPED), sizeof(struct ub_mapped));
	ck_assert_int_eq(ub_body_size(UB_UNMAP), sizeof(struct ub_region));
	ck_assert_int_eq(ub_body_size(UB_MMAP), sizeof(struct ub_mmap));
	ck_assert_int_eq(ub_body_size(UB_SHARE), 0);
	ck_assert_int_eq(ub_body_size(UB_REPLY), sizeof(struct ub_reply));
	ck_assert_int_eq(ub_body_size(0), -EOPNOTSUPP);
	ck_assert_int_eq(ub_body_size(0x77), -EOPNOTSUPP);
}
END_TEST

START_TEST(test_attach_with_fd)
{
	int sv[2], fd, before;
	struct ub_msg m;

	pair(sv, true);
	before = count_fds();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(ub_send(sv[0], UB_ATTACH, NULL, 0, fd, 0), 0);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), 0);
	ck_assert_uint_eq(m.opcode, UB_ATTACH);
	ck_assert_uint_eq(m.flags, UB_F_FD);
	ck_assert_int_ge(m.fd, 0);
	ck_assert_int_ne(m.fd, fd);
	ck_assert(same_file(m.fd, fd));
	ck_assert_int_eq(fcntl(m.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(m.pid, getpid());
	close(m.fd);
	close(fd);
	ck_assert_int_eq(count_fds(), before);
	unpair(sv);
}
END_TEST

START_TEST(test_requests_without_fd)
{
	struct ub_map map = { .type = 1, .size = 0x123456789ULL };
	struct ub_mapped mapped = { .type = 2, .addr = 0x7f0000001000ULL };
	struct ub_region region = { .type = 3 };
	int sv[2], before;
	struct ub_msg m;

	pair(sv, false);
	before = count_fds();
	ck_assert_int_eq(ub_send(sv[0], UB_MAP, &map, sizeof(map), -1, 0), 0);
	ck_assert_int_eq(ub_send(sv[0], UB_MAPPED, &mapped, sizeof(mapped), -1, 0), 0);
	ck_assert_int_eq(ub_send(sv[0], UB_UNMAP, &region, sizeof(region), -1, 0), 0);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), 0);
	ck_assert_uint_eq(m.opcode, UB_MAP);
	ck_assert_uint_eq(m.flags, 0);
	ck_assert_int_eq(m.fd, -1);
	ck_assert_int_eq(m.pid, 0);	/* no SO_PASSCRED */
	ck_assert_mem_eq(&m.body.map, &map, sizeof(map));
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), 0);
	ck_assert_uint_eq(m.opcode, UB_MAPPED);
	ck_assert_mem_eq(&m.body.mapped, &mapped, sizeof(mapped));
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), 0);
	ck_assert_uint_eq(m.opcode, UB_UNMAP);
	ck_assert_mem_eq(&m.body.region, &region, sizeof(region));
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EAGAIN);
	ck_assert_int_eq(count_fds(), before);
	unpair(sv);
}
END_TEST

START_TEST(test_reply_with_and_without_fd)
{
	struct ub_reply r = { .status = 0, .kind = UB_MAP_FD, .size = 8192, .queue_id = 42 };
	struct ub_reply e = { .status = -EBUSY };
	int sv[2], fd, before;
	struct ub_msg m;

	pair(sv, false);
	before = count_fds();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(ub_send(sv[1], UB_REPLY, &r, sizeof(r), fd, MSG_DONTWAIT), 0);
	ck_assert_int_eq(ub_send(sv[1], UB_REPLY, &e, sizeof(e), -1, MSG_DONTWAIT), 0);
	ck_assert_int_eq(ub_recv(sv[0], &m, 0), 0);
	ck_assert_uint_eq(m.opcode, UB_REPLY);
	ck_assert_uint_eq(m.flags, UB_F_FD);
	ck_assert_mem_eq(&m.body.reply, &r, sizeof(r));
	ck_assert(same_file(m.fd, fd));
	close(m.fd);
	ck_assert_int_eq(ub_recv(sv[0], &m, 0), 0);
	ck_assert_uint_eq(m.flags, 0);
	ck_assert_int_eq(m.fd, -1);
	ck_assert_int_eq(m.body.reply.status, -EBUSY);
	close(fd);
	ck_assert_int_eq(count_fds(), before);
	unpair(sv);
}
END_TEST

/* ub_call: the reply is queued first, so one thread drives both ends */
START_TEST(test_call)
{
	struct ub_reply r = { .status = -ENXIO, .size = 4096 }, got;
	struct ub_region u = { .type = 1 };
	int sv[2], fd, rfd, before, err;
	struct ub_msg m;

	pair(sv, true);
	before = count_fds();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(ub_send(sv[1], UB_REPLY, &r, sizeof(r), fd, 0), 0);
	ck_assert_int_eq(ub_call(sv[0], UB_UNMAP, &u, sizeof(u), -1, &got, &rfd), 0);
	ck_assert_int_eq(got.status, -ENXIO);
	ck_assert_uint_eq(got.size, 4096);
	ck_assert(same_file(rfd, fd));
	close(rfd);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), 0);
	ck_assert_uint_eq(m.opcode, UB_UNMAP);
	ck_assert_int_eq(m.pid, getpid());
	/* an answer that is not a UB_REPLY: -EPROTO, its fd closed */
	ck_assert_int_eq(ub_send(sv[1], UB_ATTACH, NULL, 0, fd, 0), 0);
	ck_assert_int_eq(ub_call(sv[0], UB_UNMAP, &u, sizeof(u), -1, &got, &rfd), -EPROTO);
	ck_assert_int_eq(rfd, -1);
	/* a malformed answer: -EPROTO */
	raw_msg(sv[1], UB_VERSION, UB_REPLY, UB_F_FD, sizeof(r), NULL, 0);
	ck_assert_int_eq(ub_call(sv[0], UB_UNMAP, &u, sizeof(u), -1, &got, &rfd), -EPROTO);
	ck_assert_int_eq(rfd, -1);
	/* the broker went away before answering */
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	ck_assert_int_eq(ub_call(sv[0], UB_UNMAP, &u, sizeof(u), -1, &got, &rfd), -ECONNRESET);
	close(sv[1]);
	err = ub_call(sv[0], UB_UNMAP, &u, sizeof(u), -1, &got, &rfd);
	ck_assert_msg(err == -ECONNRESET || err == -EPIPE, "a send to a closed peer: %d", err);
	close(sv[0]);
	close(fd);
	ck_assert_int_eq(count_fds(), before - 2);
}
END_TEST

START_TEST(test_end_of_stream)
{
	int sv[2];
	struct ub_msg m;

	pair(sv, true);
	close(sv[0]);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -ECONNRESET);
	close(sv[1]);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* what the sender refuses to build                                           */

START_TEST(test_send_refuses_malformed)
{
	struct ub_map map = { 0 };
	int sv[2], fd;
	struct ub_msg m;

	pair(sv, false);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(ub_send(sv[0], 0x77, NULL, 0, -1, 0), -EINVAL);
	ck_assert_int_eq(ub_send(sv[0], UB_MAP, &map, sizeof(map) - 1, -1, 0), -EINVAL);
	ck_assert_int_eq(ub_send(sv[0], UB_MAP, &map, sizeof(map) + 1, -1, 0), -EINVAL);
	ck_assert_int_eq(ub_send(sv[0], UB_MAP, NULL, sizeof(map), -1, 0), -EINVAL);
	ck_assert_int_eq(ub_send(sv[0], UB_MAP, &map, sizeof(map), fd, 0), -EINVAL);
	ck_assert_int_eq(ub_send(sv[0], UB_ATTACH, NULL, 0, -1, 0), -EINVAL);
	ck_assert_int_eq(ub_send(sv[0], UB_ATTACH, &map, 1, fd, 0), -EINVAL);
	/* UB_SHARE: no body, always its fd */
	ck_assert_int_eq(ub_send(sv[0], UB_SHARE, NULL, 0, -1, 0), -EINVAL);
	ck_assert_int_eq(ub_send(sv[0], UB_SHARE, &map, sizeof(map), fd, 0), -EINVAL);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EAGAIN);	/* nothing sent */
	close(fd);
	unpair(sv);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* malformed input: refused, every fd closed                                  */

START_TEST(test_bad_version)
{
	refused(true, 99, UB_ATTACH, UB_F_FD, 0, 1, -EPROTO);
	refused(false, 0, UB_MAP, 0, sizeof(struct ub_map), 2, -EPROTO);
}
END_TEST

START_TEST(test_unknown_opcode)
{
	int sv[2], fds[3], before;
	struct ub_msg m;

	refused(true, UB_VERSION, 0x77, UB_F_FD, 0, 1, -EOPNOTSUPP);
	refused(true, UB_VERSION, 0xffff, 0, 8, 3, -EOPNOTSUPP);
	refused(false, UB_VERSION, 0, 0, 0, 0, -EOPNOTSUPP);
	/* the opcode is reported, and the next message is read as usual */
	pair(sv, true);
	before = count_fds();
	open_n(fds, 3);
	raw_msg(sv[0], UB_VERSION, 0x77, UB_F_FD, 4, fds, 3);
	close_n(fds, 3);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EOPNOTSUPP);
	ck_assert(ub_refused(-EOPNOTSUPP));
	ck_assert_uint_eq(m.opcode, 0x77);
	ck_assert_int_eq(count_fds(), before);
	next_message_intact(sv);
	unpair(sv);
}
END_TEST

START_TEST(test_short_and_long_body)
{
	int sv[2], fd, before;
	struct ub_msg m;

	refused(true, UB_VERSION, UB_UNMAP, 0, sizeof(struct ub_region) - 1, 0, -EBADMSG);
	refused(true, UB_VERSION, UB_MAP, 0, sizeof(struct ub_map) + 8, 0, -EBADMSG);
	refused(true, UB_VERSION, UB_ATTACH, UB_F_FD, 4, 1, -EBADMSG);
	refused(false, UB_VERSION, UB_REPLY, UB_F_FD, sizeof(struct ub_reply) - 4, 1, -EBADMSG);
	/* longer than any message: cut short by the receive buffer */
	refused(true, UB_VERSION, UB_MAP, 0, 2 * UB_MAX_BODY, 2, -EPROTO);
	/* the stream stays usable after a wrong body size */
	pair(sv, true);
	before = count_fds();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	raw_msg(sv[0], UB_VERSION, UB_UNMAP, UB_F_FD, 2, &fd, 1);
	close(fd);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EBADMSG);
	ck_assert_int_eq(count_fds(), before);
	next_message_intact(sv);
	unpair(sv);
}
END_TEST

/* a header whose body_len is not what the packet holds */
START_TEST(test_body_len_disagrees)
{
	unsigned char pkt[sizeof(struct ub_hdr) + sizeof(struct ub_map)] = { 0 };
	struct ub_hdr h = { .version = UB_VERSION, .opcode = UB_MAP,
			    .body_len = sizeof(struct ub_map) };
	int sv[2], fds[2], before;
	struct ub_msg m;

	memcpy(pkt, &h, sizeof(h));
	pair(sv, true);
	before = count_fds();
	open_n(fds, 2);
	raw_send(sv[0], pkt, sizeof(pkt) - 4, fds, 2);		/* fewer bytes */
	h.body_len = 4;
	memcpy(pkt, &h, sizeof(h));
	raw_send(sv[0], pkt, sizeof(pkt), fds, 2);		/* more bytes */
	close_n(fds, 2);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EPROTO);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EPROTO);
	ck_assert_int_eq(m.fd, -1);
	ck_assert_int_eq(count_fds(), before);
	unpair(sv);
}
END_TEST

START_TEST(test_shorter_than_header)
{
	int sv[2], fds[4], before;
	struct ub_msg m;

	pair(sv, true);
	before = count_fds();
	open_n(fds, 4);
	raw_send(sv[0], "\1\0\2", 3, fds, 4);
	close_n(fds, 4);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EPROTO);
	ck_assert_int_eq(count_fds(), before);
	unpair(sv);
}
END_TEST

/* the broker's old leak: zero-length packets with fds (issue 11, item 1) */
START_TEST(test_zero_length_with_fds)
{
	int sv[2], fds[4], before;
	struct ub_msg m;

	for (int passcred = 0; passcred <= 1; passcred++) {
		pair(sv, passcred);
		before = count_fds();
		for (int i = 0; i < 50; i++) {
			open_n(fds, 4);
			raw_send(sv[0], NULL, 0, fds, 4);
			close_n(fds, 4);
			ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EPROTO);
			ck_assert_int_eq(m.fd, -1);
		}
		ck_assert_int_eq(count_fds(), before);
		unpair(sv);
	}
	/* without fds: the credentials make it a packet; bare, it reads as the end */
	pair(sv, true);
	raw_send(sv[0], NULL, 0, NULL, 0);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -EPROTO);
	unpair(sv);
	pair(sv, false);
	raw_send(sv[0], NULL, 0, NULL, 0);
	ck_assert_int_eq(ub_recv(sv[1], &m, MSG_DONTWAIT), -ECONNRESET);
	unpair(sv);
}
END_TEST

/* a receiver's own closer gets every refused fd, and nothing else closes them */
static int closed_by_hook;

static void count_close(int fd, void *ctx)
{
	ck_assert_ptr_eq(ctx, &closed_by_hook);
	closed_by_hook++;
	close(fd);
}

START_TEST(test_closer_hook)
{
	const struct ub_closer cl = { .close = count_close, .ctx = &closed_by_hook };
	int sv[2], fds[4], before;
	struct ub_msg m;

	pair(sv, true);
	before = count_fds();
	closed_by_hook = 0;
	open_n(fds, 3);
	raw_send(sv[0], NULL, 0, fds, 3);	/* zero-length: all three refused */
	close_n(fds, 3);
	ck_assert_int_eq(ub_recv_closing(sv[1], &m, MSG_DONTWAIT, &cl), -EPROTO);
	ck_assert_int_eq(closed_by_hook, 3);
	open_n(fds, 2);
	raw_msg(sv[0], UB_VERSION, UB_ATTACH, UB_F_FD, 0, fds, 2);	/* two: both refused */
	close_n(fds, 2);
	ck_assert_int_eq(ub_recv_closing(sv[1], &m, MSG_DONTWAIT, &cl), -EBADMSG);
	ck_assert_int_eq(closed_by_hook, 5);
	open_n(fds, 1);
	raw_msg(sv[0], UB_VERSION, UB_ATTACH, UB_F_FD, 0, fds, 1);	/* accepted: the caller's */
	close_n(fds, 1);
	ck_assert_int_eq(ub_recv_closing(sv[1], &m, MSG_DONTWAIT, &cl), 0);
	ck_assert_int_eq(closed_by_hook, 5);
	ck_assert_int_ge(m.fd, 0);
	close(m.fd);
	ck_assert_int_eq(count_fds(), before);
	unpair(sv);
}
END_TEST

START_TEST(test_fds_without_flag)
{
	refused(true, UB_VERSION, UB_MAP, 0, sizeof(struct ub_map), 1, -EBADMSG);
	refused(true, UB_VERSION, UB_ATTACH, 0, 0, 1, -EBADMSG);
	refused(false, UB_VERSION, UB_REPLY, 0, sizeof(struct ub_reply), 2, -EBADMSG);
}
END_TEST

START_TEST(test_flag_without_fd)
{
	refused(true, UB_VERSION, UB_ATTACH, UB_F_FD, 0, 0, -EBADMSG);
	refused(false, UB_VERSION, UB_REPLY, UB_F_FD, sizeof(struct ub_reply), 0, -EBADMSG);
	/* UB_ATTACH with neither: the fd it requires is missing */
	refused(true, UB_VERSION, UB_ATTACH, 0, 0, 0, -EBADF);
	ck_assert(ub_refused(-EBADF));
}
END_TEST

START_TEST(test_fd_not_taken)
{
	refused(true, UB_VERSION, UB_MAP, UB_F_FD, sizeof(struct ub_map), 1, -EBADMSG);
	refused(true, UB_VERSION, UB_MAPPED, UB_F_FD, sizeof(struct ub_mapped), 1, -EBADMSG);
	refused(true, UB_VERSION, UB_UNMAP, UB_F_FD, sizeof(struct ub_region), 1, -EBADMSG);
}
END_TEST

START_TEST(test_several_fds)
{
	refused(true, UB_VERSION, UB_ATTACH, UB_F_FD, 0, 2, -EBADMSG);
	refused(true, UB_VERSION, UB_ATTACH, UB_F_FD, 0, 4, -EBADMSG);
	refused(false, UB_VERSION, UB_REPLY, UB_F_FD, sizeof(struct ub_reply), 3, -EBADMSG);
}
END_TEST

START_TEST(test_unknown_flags)
{
	refused(true, UB_VERSION, UB_UNMAP, 0x8000, sizeof(struct ub_region), 0, -EBADMSG);
	refused(true, UB_VERSION, UB_ATTACH, UB_F_FD | 0x2, 0, 1, -EBADMSG);
}
END_TEST

/* more fds than the receiver's control buffer holds: MSG_CTRUNC */
START_TEST(test_control_truncated)
{
	refused(true, UB_VERSION, UB_ATTACH, UB_F_FD, 0, 32, -EPROTO);
	refused(false, UB_VERSION, UB_ATTACH, UB_F_FD, 0, 64, -EPROTO);
	refused(true, UB_VERSION, 0x77, 0, 0, 16, -EPROTO);
}
END_TEST

/* the fds a refused packet brought are really closed, not only renumbered */
START_TEST(test_refused_fds_released)
{
	int sv[2], p[2], fds[8];
	struct ub_msg m;
	char c;

	pair(sv, true);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	for (int i = 0; i < 8; i++)
		fds[i] = p[1];
	raw_send(sv[0], NULL, 0, fds, 4);
	raw_msg(sv[0], UB_VERSION, 0x77, UB_F_FD, 0, fds, 1);
	raw_msg(sv[0], UB_VERSION, UB_MAP, 0, sizeof(struct ub_map), fds, 2);
	raw_msg(sv[0], UB_VERSION, UB_ATTACH, UB_F_FD, 0, fds, 8);
	close(p[1]);
	for (int i = 0; i < 4; i++)
		ck_assert_int_lt(ub_recv(sv[1], &m, MSG_DONTWAIT), 0);
	ck_assert_int_eq(read(p[0], &c, 1), 0);	/* EOF, not EAGAIN: no write end is left */
	close(p[0]);
	unpair(sv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wire");
	TCase *tc;

	tc = tcase_create("round-trip");
	tcase_add_test(tc, test_body_sizes);
	tcase_add_test(tc, test_attach_with_fd);
	tcase_add_test(tc, test_requests_without_fd);
	tcase_add_test(tc, test_reply_with_and_without_fd);
	tcase_add_test(tc, test_call);
	tcase_add_test(tc, test_end_of_stream);
	tcase_add_test(tc, test_send_refuses_malformed);
	suite_add_tcase(s, tc);
	tc = tcase_create("malformed");
	tcase_add_test(tc, test_bad_version);
	tcase_add_test(tc, test_unknown_opcode);
	tcase_add_test(tc, test_short_and_long_body);
	tcase_add_test(tc, test_body_len_disagrees);
	tcase_add_test(tc, test_shorter_than_header);
	tcase_add_test(tc, test_zero_length_with_fds);
	tcase_add_test(tc, test_fds_without_flag);
	tcase_add_test(tc, test_flag_without_fd);
	tcase_add_test(tc, test_fd_not_taken);
	tcase_add_test(tc, test_several_fds);
	tcase_add_test(tc, test_unknown_flags);
	tcase_add_test(tc, test_control_truncated);
	tcase_add_test(tc, test_refused_fds_released);
	tcase_add_test(tc, test_closer_hook);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
