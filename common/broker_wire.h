/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * broker_wire.h - the one codec of the broker protocol (broker_proto.h):
 * encode and send a message with at most one fd, receive and decode one.
 * Linked into the daemon, libuacce (hidden: it adds no exported symbol) and
 * the test clients.  No global state; every function returns 0 or -errno.
 *
 * Each opcode has one body struct and an fd rule (broker_wire.c's table):
 * UB_ATTACH carries exactly one fd, UB_MAP/UB_MMAP/UB_MAPPED/UB_UNMAP none, UB_REPLY
 * at most one.  The sender refuses to build anything else (-EINVAL), so a
 * test that needs a malformed packet writes it by hand.
 *
 * The receiver checks, before anything is read from the body: the packet
 * length against the header and the header against the opcode's exact body
 * size, the version, and the fds that arrived against UB_F_FD and the
 * opcode's rule.  Whatever the outcome, every fd that arrived with a packet
 * that is not accepted exactly as announced is closed before ub_recv()
 * returns: the caller owns only ub_msg.fd of a message that returned 0.
 */
#ifndef UACCE_BROKER_WIRE_H
#define UACCE_BROKER_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker_proto.h"

union ub_body {
	struct ub_map map;		/* UB_MAP */
	struct ub_mapped mapped;	/* UB_MAPPED */
	struct ub_region region;	/* UB_UNMAP */
	struct ub_mmap mmap;		/* UB_MMAP */
	struct ub_reply reply;		/* UB_REPLY */
};

/* one decoded message */
struct ub_msg {
	uint16_t opcode;
	uint16_t flags;
	union ub_body body;	/* the opcode's struct; zero beyond it */
	int fd;			/* UB_F_FD: the fd that came with it, owned by the
				 * caller from then on; else -1 */
	pid_t pid;		/* the sender (SCM_CREDENTIALS): 0 unless the
				 * receiving socket has SO_PASSCRED */
};

/* the exact body size of `opcode`, or -EOPNOTSUPP for an unknown opcode */
int ub_body_size(unsigned opcode);

/*
 * Send one message: `len` must be the opcode's body size and `fd` (or -1)
 * must follow the opcode's fd rule, else -EINVAL and nothing is sent.  The
 * fd stays the caller's.  `flags` go to sendmsg(2) (MSG_DONTWAIT, say);
 * MSG_NOSIGNAL is always added, EINTR retried.
 */
int ub_send(int sock, unsigned opcode, const void *body, size_t len, int fd, int flags);

/*
 * Receive one message into *m; `flags` go to recvmsg(2) (MSG_DONTWAIT, say),
 * MSG_CMSG_CLOEXEC is always added, EINTR retried.  Returns:
 *   0            accepted; m->fd is set when the message carries one
 *   -ECONNRESET  end of stream (the peer closed)
 *   -EPROTO      not a message: shorter than a header, longer than any
 *                message, another version, a body length that disagrees
 *                with the packet, a zero-length packet, truncated control
 *                data (MSG_CTRUNC).  The stream cannot be trusted: drop it.
 *   -EOPNOTSUPP  a well-formed header with an unknown opcode (m->opcode)
 *   -EBADMSG     a known opcode whose body is not its struct's size, or
 *                whose fds disagree with UB_F_FD (a flag without an fd, an
 *                fd without the flag, more than one fd, an fd the opcode
 *                does not take)
 *   -EBADF       an opcode that requires an fd, sent without flag and fd
 *   other        recvmsg(2)'s -errno (-EAGAIN, ...); one that would read as
 *                a code above (a bad socket or flags: a caller's bug) is -EIO
 * After -EOPNOTSUPP, -EBADMSG and -EBADF (ub_refused()) the packet is
 * consumed and the stream is intact: the receiver may answer.  On every
 * error m->fd is -1 and each fd that came with the packet is closed.
 */
int ub_recv(int sock, struct ub_msg *m, int flags);

/*
 * The same, closing the fds it refuses through cl->close (NULL: close(2)).
 * A receiver that must never block gives one: close(2) of a file of a FUSE
 * file system waits for its server (FUSE_FLUSH), which the sender controls.
 */
struct ub_closer {
	void (*close)(int fd, void *ctx);
	void *ctx;
};
int ub_recv_closing(int sock, struct ub_msg *m, int flags, const struct ub_closer *cl);

/* ub_recv() refused a well-framed message: the connection is still usable */
static inline bool ub_refused(int err)
{
	return err == -EOPNOTSUPP || err == -EBADMSG || err == -EBADF;
}

/*
 * A client's request and its reply: ub_send(), then ub_recv() of a
 * UB_REPLY.  *r gets the reply (its status is the broker's answer), *rfd
 * the fd that came with it or -1.  Returns 0, a transport -errno from
 * either step (-ECONNRESET: the broker closed the connection), or -EPROTO
 * when the answer is not a well-formed UB_REPLY.
 */
int ub_call(int sock, unsigned opcode, const void *body, size_t len, int fd,
	    struct ub_reply *r, int *rfd);

#endif /* UACCE_BROKER_WIRE_H */
