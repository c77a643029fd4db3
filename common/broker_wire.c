/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * broker_wire.c - the broker protocol's codec (see broker_wire.h).
 *
 * No global state and no allocation: each call works on its caller's socket
 * and buffers, so the daemon's broker thread and any number of client
 * threads use it at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker_wire.h"

enum ub_fd_rule {
	UB_FD_NONE,	/* never carries an fd */
	UB_FD_ONE,	/* always carries exactly one */
	UB_FD_MAY,	/* carries one or none, as UB_F_FD says */
};

static const struct ub_op {
	uint16_t opcode;
	uint16_t body;		/* the exact body size */
	enum ub_fd_rule fd;
} ub_ops[] = {
	{ UB_ATTACH, 0, UB_FD_ONE },
	{ UB_MAP, sizeof(struct ub_map), UB_FD_NONE },
	{ UB_MAPPED, sizeof(struct ub_mapped), UB_FD_NONE },
	{ UB_UNMAP, sizeof(struct ub_region), UB_FD_NONE },
	{ UB_MMAP, sizeof(struct ub_mmap), UB_FD_NONE },
	{ UB_SHARE, 0, UB_FD_ONE },
	{ UB_REPLY, sizeof(struct ub_reply), UB_FD_MAY },
};

_Static_assert(sizeof(union ub_body) <= UB_MAX_BODY, "a body exceeds UB_MAX_BODY");

/*
 * What the receive buffer holds: the sender's credentials and a few fds.
 * One fd is the most any message carries; room for more lets a packet with
 * a few extra fds be refused as a message (-EBADMSG, the connection lives)
 * and only a flood be cut short by MSG_CTRUNC (-EPROTO).  The kernel closes
 * the fds that did not fit; those that did are closed here.  No socket this
 * codec reads sets SO_PASSPIDFD, so SCM_RIGHTS is the only fd carrier.
 */
#define UB_RECV_FDS 4

static const struct ub_op *ub_op_find(unsigned opcode)
{
	for (size_t i = 0; i < sizeof(ub_ops) / sizeof(ub_ops[0]); i++)
		if (ub_ops[i].opcode == opcode)
			return &ub_ops[i];
	return NULL;
}

int ub_body_size(unsigned opcode)
{
	const struct ub_op *op = ub_op_find(opcode);

	return op ? op->body : -EOPNOTSUPP;
}

int ub_send(int sock, unsigned opcode, const void *body, size_t len, int fd, int flags)
{
	const struct ub_op *op = ub_op_find(opcode);
	unsigned char out[sizeof(struct ub_hdr) + UB_MAX_BODY];
	struct ub_hdr h = { .version = UB_VERSION, .opcode = (uint16_t)opcode };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = out, .iov_len = sizeof(h) + len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (!op || len != op->body || (len && !body))
		return -EINVAL;
	if (fd < 0 ? op->fd == UB_FD_ONE : op->fd == UB_FD_NONE)
		return -EINVAL;
	h.body_len = (uint16_t)len;
	if (fd >= 0) {
		struct cmsghdr *cm;

		h.flags = UB_F_FD;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	memcpy(out, &h, sizeof(h));
	if (len)
		memcpy(out + sizeof(h), body, len);
	do
		n = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == iov.iov_len ? 0 : -EMSGSIZE;	/* a packet goes whole */
}

/* what came in the control data: the sender's pid, the first fd, the count */
struct ub_cmsgs {
	pid_t pid;
	int fd;
	unsigned nfds;
};

static void ub_close(const struct ub_closer *cl, int fd)
{
	if (cl && cl->close)
		cl->close(fd, cl->ctx);
	else
		close(fd);
}

/* take the control data apart; every fd but the first is closed at once */
static void ub_take_cmsgs(struct msghdr *mh, struct ub_cmsgs *cs, const struct ub_closer *cl)
{
	cs->pid = 0;
	cs->fd = -1;
	cs->nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t data;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_len < CMSG_LEN(0))
			continue;
		data = cm->cmsg_len - CMSG_LEN(0);
		if (cm->cmsg_type == SCM_CREDENTIALS && data >= sizeof(struct ucred)) {
			struct ucred cr;

			memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
			cs->pid = cr.pid;
		} else if (cm->cmsg_type == SCM_RIGHTS) {
			for (size_t i = 0; i + sizeof(int) <= data; i += sizeof(int)) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i, sizeof(int));
				if (cs->nfds++ == 0)
					cs->fd = fd;
				else
					ub_close(cl, fd);
			}
		}
	}
}

/* check one packet of n bytes; fills m's header fields and body */
static int ub_decode(const unsigned char *data, size_t n, int msg_flags,
		     const struct ub_cmsgs *cs, struct ub_msg *m)
{
	const struct ub_op *op;
	struct ub_hdr h;
	bool flagged;

	if ((msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n < sizeof(h))
		return -EPROTO;
	memcpy(&h, data, sizeof(h));
	if (h.version != UB_VERSION || n != sizeof(h) + h.body_len)
		return -EPROTO;
	m->opcode = h.opcode;
	m->flags = h.flags;
	op = ub_op_find(h.opcode);
	if (!op)
		return -EOPNOTSUPP;
	if (h.body_len != op->body)
		return -EBADMSG;
	flagged = h.flags & UB_F_FD;
	if (flagged != (cs->nfds > 0) || cs->nfds > 1 || (h.flags & ~UB_F_FD))
		return -EBADMSG;
	if (op->fd == UB_FD_NONE && flagged)
		return -EBADMSG;
	if (op->fd == UB_FD_ONE && !flagged)
		return -EBADF;
	memcpy(&m->body, data + sizeof(h), op->body);
	return 0;
}

int ub_recv(int sock, struct ub_msg *m, int flags)
{
	return ub_recv_closing(sock, m, flags, NULL);
}

int ub_recv_closing(int sock, struct ub_msg *m, int flags, const struct ub_closer *cl)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(UB_RECV_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	/* one byte more than the largest message: a longer one is MSG_TRUNC */
	unsigned char data[sizeof(struct ub_hdr) + UB_MAX_BODY + 1];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct ub_cmsgs cs;
	ssize_t n;
	int err;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = -errno;
		return ub_refused(err) || err == -EPROTO ? -EIO : err;
	}
	ub_take_cmsgs(&mh, &cs, cl);
	m->pid = cs.pid;
	/*
	 * SOCK_SEQPACKET reads 0 both at the end of the stream and for an
	 * empty packet; only a packet brings control data (its fds, or the
	 * credentials SO_PASSCRED adds to each).
	 */
	if (n == 0 && mh.msg_controllen == 0)
		return -ECONNRESET;
	err = n == 0 ? -EPROTO : ub_decode(data, (size_t)n, mh.msg_flags, &cs, m);
	if (!err && (m->flags & UB_F_FD)) {
		m->fd = cs.fd;
		return 0;
	}
	if (cs.fd >= 0)
		ub_close(cl, cs.fd);
	return err;
}

int ub_call(int sock, unsigned opcode, const void *body, size_t len, int fd,
	    struct ub_reply *r, int *rfd)
{
	struct ub_msg m;
	int err;

	*rfd = -1;
	err = ub_send(sock, opcode, body, len, fd, 0);
	if (err)
		return err;
	err = ub_recv(sock, &m, 0);
	if (err && !ub_refused(err) && err != -EPROTO)
		return err;		/* the transport, or the end of the stream */
	if (err || m.opcode != UB_REPLY) {
		if (m.fd >= 0)
			close(m.fd);
		return -EPROTO;
	}
	*r = m.body.reply;
	*rfd = m.fd;
	return 0;
}
