/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * broker.c - one thread, one event loop (evloop.h): the listening socket
 * and its connections.  Each connection is bound to one queue
 * by UB_ATTACH (proof of possession of the queue fd) and every later
 * message is checked against the sender's credentials, which the kernel
 * attaches to each message (SO_PASSCRED): a forked child that inherited
 * the socket is not the owner.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "broker_proto.h"
#include "core.h"
#include "evloop.h"
#include "frontend.h"
#include "list.h"
#include "log.h"

#define MAX_CONNS 4096

struct conn {
	struct list link;		/* broker::conns */
	struct broker *b;
	int fd;
	struct ev_source *src;		/* fd in broker::loop */
	struct uacce_queue *q;		/* attached queue (a reference), or NULL */
};

struct broker {
	struct uacce_core *core;
	struct frontend *fe;
	char path[300];
	int lfd;
	struct evloop *loop;
	int nconns;
	struct list conns;		/* struct conn.link; broker thread only */
	pthread_t thread;
};

/* the broker thread's (or broker_stop's, after it): the source goes with c */
static void conn_free(struct broker *b, struct conn *c)
{
	evloop_remove(c->src);
	list_del(&c->link);
	close(c->fd);
	if (c->q)
		uq_unref(c->q);
	free(c);
	b->nconns--;
}

static int send_reply(int fd, const struct ub_reply *r, int passfd)
{
	struct {
		struct ub_hdr h;
		struct ub_reply r;
	} msg = { .h = { .version = UB_VERSION, .opcode = UB_REPLY,
			 .body_len = sizeof(struct ub_reply) },
		  .r = *r };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (passfd >= 0) {
		struct cmsghdr *cm;

		msg.h.flags = UB_F_FD;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* one received packet: header, body, the sender's pid and at most one fd */
struct packet {
	struct ub_hdr h;
	char body[UB_MAX_BODY];
	pid_t pid;
	int fd;
};

static int recv_packet(int sock, struct packet *p)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char data[sizeof(struct ub_hdr) + UB_MAX_BODY + 1];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int err = 0;

	p->fd = -1;
	p->pid = 0;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cr;

			memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
			p->pid = cr.pid;
		} else if (cm->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < nfd; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (p->fd < 0)
					p->fd = fd;
				else
					close(fd);	/* more than announced */
			}
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(struct ub_hdr)) {
		err = -EBADMSG;
		goto bad;
	}
	memcpy(&p->h, data, sizeof(p->h));
	if (p->h.version != UB_VERSION || p->h.body_len > UB_MAX_BODY ||
	    (size_t)n != sizeof(struct ub_hdr) + p->h.body_len) {
		err = -EBADMSG;
		goto bad;
	}
	memcpy(p->body, data + sizeof(struct ub_hdr), p->h.body_len);
	if (!(p->h.flags & UB_F_FD) && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	return 0;
bad:
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	return err;
}

static int do_attach(struct broker *b, struct conn *c, struct packet *p,
		     struct ub_reply *r)
{
	struct uacce_queue *q;
	uint64_t qid;
	int err;

	if (c->q)
		return -EALREADY;
	if (p->fd < 0)
		return -EBADF;
	err = frontend_identify(b->fe, p->fd, &qid);
	if (err)
		return err == -EPERM || err == -ENOTCONN ? -ENODEV : -EINVAL;
	q = core_get_queue(b->core, qid);
	if (!q)
		return -ENODEV;
	err = uq_attach(q, p->pid);
	if (err) {
		uq_unref(q);
		return err;
	}
	c->q = q;
	r->queue_id = qid;
	return 0;
}

static void handle(struct broker *b, struct conn *c, struct packet *p)
{
	struct ub_reply r = { 0 };
	int passfd = -1;
	int err;

	switch (p->h.opcode) {
	case UB_ATTACH:
		err = do_attach(b, c, p, &r);
		break;
	case UB_MAP: {
		struct ub_map m;
		uint64_t size = 0;

		if (p->h.body_len != sizeof(m)) {
			err = -EBADMSG;
			break;
		}
		memcpy(&m, p->body, sizeof(m));
		err = c->q ? uq_map(c->q, p->pid, (int)m.type, m.size, &passfd, &size) : -ENOTCONN;
		r.size = size;
		r.kind = passfd >= 0 ? UB_MAP_FD : UB_MAP_RESERVE;
		break;
	}
	case UB_MAPPED: {
		struct ub_mapped m;

		if (p->h.body_len != sizeof(m)) {
			err = -EBADMSG;
			break;
		}
		memcpy(&m, p->body, sizeof(m));
		err = c->q ? uq_mapped(c->q, p->pid, (int)m.type, m.addr) : -ENOTCONN;
		break;
	}
	case UB_UNMAP: {
		struct ub_region m;

		if (p->h.body_len != sizeof(m)) {
			err = -EBADMSG;
			break;
		}
		memcpy(&m, p->body, sizeof(m));
		err = c->q ? uq_unmap(c->q, p->pid, (int)m.type) : -ENOTCONN;
		break;
	}
	default:
		err = -EOPNOTSUPP;
	}
	r.status = err;
	if (send_reply(c->fd, &r, err ? -1 : passfd) < 0) {
		if (c->q)
			ulog_ctx(LOG_DEBUG, UQ_LOG_CTX(c->q), "broker: %s: reply not delivered",
				 uq_label(c->q));
		else
			log_debug("broker: reply not delivered");
	}
	if (passfd >= 0)
		close(passfd);
}

static void on_conn(struct ev_source *s, int fd, uint32_t events, void *ctx);

static void accept_one(struct ev_source *s, int lfd, uint32_t events, void *ctx)
{
	struct broker *b = ctx;
	struct conn *c;
	int one = 1;
	int fd;

	(void)s, (void)events;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (b->nconns >= MAX_CONNS) {
		log_warn("broker: too many connections, refusing one");
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	/* already inherited from the listener; set again in case it was not */
	if (!c || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->b = b;
	if (evloop_add_fd(b->loop, fd, EPOLLIN, on_conn, c, NULL, &c->src) < 0) {
		close(fd);
		free(c);
		return;
	}
	list_add_tail(&b->conns, &c->link);
	b->nconns++;
}

/* a message, or the peer hung up: c may be freed here (its source with it) */
static void on_conn(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct conn *c = ctx;
	struct broker *b = c->b;
	struct packet p;
	int err;

	(void)s, (void)events;
	err = recv_packet(fd, &p);
	if (err == -EAGAIN)
		return;
	if (err) {
		conn_free(b, c);
		return;
	}
	handle(b, c, &p);
	if (p.fd >= 0)
		close(p.fd);
}

static void *broker_thread(void *arg)
{
	struct broker *b = arg;
	int err = evloop_run(b->loop);

	if (err)
		log_err("broker: epoll_wait: %s", strerror(-err));
	return NULL;
}

int broker_start(const char *rundir, struct uacce_core *core, struct frontend *fe,
		 struct broker **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct broker *b;
	int one = 1;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->core = core;
	b->fe = fe;
	list_init(&b->conns);
	b->lfd = -1;
	if (snprintf(b->path, sizeof(b->path), "%s/%s", rundir, UB_SOCKET_NAME) >=
	    (int)sizeof(sa.sun_path)) {
		free(b);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, b->path);
	unlink(b->path);
	err = evloop_new(&b->loop);
	if (err) {
		free(b);
		return err;
	}
	b->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (b->lfd < 0 ||
	    /*
	     * on the listener, so that every accepted socket has it from the
	     * start: a message sent before accept4() returns carries the
	     * sender's credentials too
	     */
	    setsockopt(b->lfd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(b->path, 0666) < 0 || listen(b->lfd, 128) < 0) {
		err = -errno;
		log_err("broker: %s: %s", b->path, strerror(errno));
		goto fail;
	}
	err = evloop_add_fd(b->loop, b->lfd, EPOLLIN, accept_one, b, NULL, NULL);
	if (!err)
		err = -pthread_create(&b->thread, NULL, broker_thread, b);
	if (err)
		goto fail;
	*out = b;
	return 0;
fail:
	evloop_free(b->loop);
	if (b->lfd >= 0)
		close(b->lfd);
	unlink(b->path);
	free(b);
	return err;
}

void broker_stop(struct broker *b)
{
	if (!b)
		return;
	evloop_stop(b->loop);
	pthread_join(b->thread, NULL);
	list_for_each(pos, &b->conns)
		conn_free(b, container_of(pos, struct conn, link));
	evloop_free(b->loop);	/* frees the sources: the fds may go now */
	close(b->lfd);
	unlink(b->path);
	free(b);
}
