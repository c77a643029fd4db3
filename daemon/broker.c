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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "broker_wire.h"
#include "core.h"
#include "evloop.h"
#include "fdclose.h"
#include "frontend.h"
#include "list.h"
#include "log.h"

/*
 * Limits (uacced(8)): connections of one uid at a time, of all uids but
 * root's, and how long a connection may stay without attaching a queue.
 * A queue's connection lives as long as the queue, so a user's share is
 * bounded by the queues it may hold; the rest are sweeped.
 */
#define MAX_CONNS		4096
#define MAX_CONNS_PER_UID	1024
/* fds kept for everything else: nodes, sessions, regions, closers, control */
#define FD_RESERVE		512
#define ATTACH_TIMEOUT_MS	5000
#define SWEEP_MS		1000

struct conn {
	struct list link;		/* broker::conns */
	struct broker *b;
	int fd;
	uid_t uid;			/* the peer's (SO_PEERCRED at accept) */
	uint64_t since_ms;		/* accepted at (CLOCK_MONOTONIC) */
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
	int max_conns, max_per_uid;	/* from MAX_CONNS*, within the fd limit */
	struct list conns;		/* struct conn.link; broker thread only */
	struct ev_source *sweep;	/* SWEEP_MS: unattached connections out of time */
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

static int do_attach(struct broker *b, struct conn *c, const struct ub_msg *m,
		     struct ub_reply *r)
{
	struct uacce_queue *q;
	uint64_t qid;
	int err;

	if (c->q)
		return -EALREADY;
	/* the codec accepts UB_ATTACH only with its fd: m->fd is set */
	err = frontend_identify(b->fe, m->fd, &qid);
	if (err)
		return err == -EPERM || err == -ENOTCONN ? -ENODEV : -EINVAL;
	q = core_get_queue(b->core, qid);
	if (!q)
		return -ENODEV;
	err = uq_attach(q, m->pid);
	if (err) {
		uq_unref(q);
		return err;
	}
	c->q = q;
	r->queue_id = qid;
	return 0;
}

/* carry out one accepted request; *passfd: a region fd for the reply */
static int dispatch(struct broker *b, struct conn *c, const struct ub_msg *m,
		    struct ub_reply *r, int *passfd)
{
	uint64_t size = 0;
	int err;

	switch (m->opcode) {
	case UB_ATTACH:
		return do_attach(b, c, m, r);
	case UB_MAP:
		if (!c->q)
			return -ENOTCONN;
		err = uq_map(c->q, m->pid, (int)m->body.map.type, m->body.map.size, passfd, &size);
		r->size = size;
		r->kind = *passfd >= 0 ? UB_MAP_FD : UB_MAP_RESERVE;
		return err;
	case UB_MMAP: {
		int type = -1;

		if (!c->q)
			return -ENOTCONN;
		err = uq_mmap(c->q, m->pid, m->body.mmap.offset, m->body.mmap.size, passfd, &size,
			      &type);
		r->size = size;
		r->kind = *passfd >= 0 ? UB_MAP_FD : UB_MAP_RESERVE;
		r->queue_id = type >= 0 ? (uint64_t)type : 0;
		return err;
	}
	case UB_MAPPED:
		return c->q ? uq_mapped(c->q, m->pid, (int)m->body.mapped.type,
					m->body.mapped.addr) : -ENOTCONN;
	case UB_UNMAP:
		return c->q ? uq_unmap(c->q, m->pid, (int)m->body.region.type) : -ENOTCONN;
	case UB_SHARE:	/* the codec accepts it only with its fd */
		if (!c->q)
			return -ENOTCONN;
		err = uq_share(c->q, m->pid, m->fd, &size);
		r->size = size;
		return err;
	default:	/* UB_REPLY: the broker's own, never a request */
		return -EOPNOTSUPP;
	}
}

/* answer one message; `err`: 0, or the codec's refusal of it */
static void handle(struct broker *b, struct conn *c, const struct ub_msg *m, int err)
{
	struct ub_reply r = { 0 };
	int passfd = -1;

	if (!err)
		err = dispatch(b, c, m, &r, &passfd);
	r.status = err;
	if (ub_send(c->fd, UB_REPLY, &r, sizeof(r), err ? -1 : passfd, MSG_DONTWAIT) < 0) {
		if (c->q)
			ulog_ctx(LOG_DEBUG, UQ_LOG_CTX(c->q), "broker: %s: reply not delivered",
				 uq_label(c->q));
		else
			log_debug("broker: reply not delivered");
	}
	if (passfd >= 0)
		close(passfd);
}

static void close_refused(int fd, void *ctx)
{
	(void)ctx;
	fd_close_nowait(fd, NULL);
}

/*
 * Read and answer one message of c: 0, -EAGAIN (nothing to read) or an
 * error after which c must go (end of stream, a packet that is no message).
 * Every fd that came with the message is closed before this returns.
 */
static int conn_input(struct broker *b, struct conn *c)
{
	/* refused fds may be files of a FUSE server the client stopped */
	static const struct ub_closer closer = { .close = close_refused };
	struct ub_msg m;
	int err = ub_recv_closing(c->fd, &m, MSG_DONTWAIT, &closer);

	if (err && !ub_refused(err))
		return err;
	handle(b, c, &m, err);
	frontend_close_client_fd(b->fe, m.fd);
	return 0;
}

static void on_conn(struct ev_source *s, int fd, uint32_t events, void *ctx);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* may this peer have one more connection?  (refusals: rate-limited records) */
static bool admit(struct broker *b, const struct ucred *cr)
{
	int mine = 0;

	list_for_each(pos, &b->conns)
		mine += container_of(pos, struct conn, link)->uid == cr->uid;
	if (mine >= b->max_per_uid) {
		ulog_rl(LOG_NOTICE, "broker: uid %u (pid %d) has %d connections, the most one "
			"uid may: refusing one", (unsigned)cr->uid, (int)cr->pid, mine);
		return false;
	}
	if (cr->uid != 0 && b->nconns >= b->max_conns) {
		ulog_rl(LOG_WARNING, "broker: %d connections, the most of all users but root: "
			"refusing one of uid %u (pid %d)", b->nconns, (unsigned)cr->uid,
			(int)cr->pid);
		return false;
	}
	return true;
}

/* every SWEEP_MS: connections that attached no queue in ATTACH_TIMEOUT_MS go */
static void on_sweep(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct broker *b = ctx;
	uint64_t now = now_ms();

	(void)s, (void)fd, (void)events;	/* the loop read the timer */
	list_for_each(pos, &b->conns) {
		struct conn *c = container_of(pos, struct conn, link);

		if (!c->q && now - c->since_ms >= ATTACH_TIMEOUT_MS)
			conn_free(b, c);
	}
}

static void accept_one(struct ev_source *s, int lfd, uint32_t events, void *ctx)
{
	struct broker *b = ctx;
	socklen_t len = sizeof(struct ucred);
	struct ucred cr;
	struct conn *c;
	int one = 1;
	int fd;

	(void)s, (void)events;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || !admit(b, &cr)) {
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
	c->uid = cr.uid;
	c->since_ms = now_ms();
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
	int err;

	(void)s, (void)events, (void)fd;
	err = conn_input(c->b, c);
	if (err && err != -EAGAIN)
		conn_free(c->b, c);
}

static void *broker_thread(void *arg)
{
	struct broker *b = arg;
	int err = evloop_run(b->loop);

	if (err)
		log_err("broker: epoll_wait: %s", strerror(-err));
	return NULL;
}

/*
 * The connection limits within this process's fd limit: all users but root
 * together get at most half of what FD_RESERVE leaves, one uid a quarter of
 * that, so that root's clients and the daemon itself always find an fd.
 */
void broker_limits(int *max_conns, int *max_per_uid)
{
	struct rlimit rl;
	long budget = MAX_CONNS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		budget = ((long)rl.rlim_cur - FD_RESERVE) / 2;
		if (budget > MAX_CONNS)
			budget = MAX_CONNS;
		if (budget < 16)
			budget = 16;
	}
	*max_conns = (int)budget;
	*max_per_uid = budget / 4 < MAX_CONNS_PER_UID ? (int)(budget / 4) : MAX_CONNS_PER_UID;
	if (*max_per_uid < 4)
		*max_per_uid = 4;
}

int broker_start(const char *rundir, struct uacce_core *core, struct frontend *fe,
		 const struct sock_perms *perms, struct broker **out)
{
	return broker_start_fd(rundir, core, fe, perms, -1, out);
}

int broker_listen_fd(const struct broker *b)
{
	return b ? b->lfd : -1;
}


int broker_start_fd(const char *rundir, struct uacce_core *core, struct frontend *fe,
		    const struct sock_perms *perms, int lfd, struct broker **out)
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
	broker_limits(&b->max_conns, &b->max_per_uid);
	if (snprintf(b->path, sizeof(b->path), "%s/%s", rundir, UB_SOCKET_NAME) >=
	    (int)sizeof(sa.sun_path)) {
		free(b);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, b->path);
	err = evloop_new(&b->loop);
	if (err) {
		free(b);
		if (lfd >= 0)
			close(lfd);
		return err;
	}
	if (lfd >= 0) {
		/* a predecessor's: connections waiting in its backlog are ours */
		b->lfd = lfd;
		err = rundir_adopt_listener(lfd, b->path, SOCK_SEQPACKET);
		if (err) {
			log_err("broker: the handed socket is not the listener of %s: %s",
				b->path, strerror(-err));
			goto fail;
		}
		err = broker_set_perms(b, perms);
		if (err)
			goto fail;
		goto listening;
	}
	unlink(b->path);
	b->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (b->lfd < 0 ||
	    /*
	     * on the listener, so that every accepted socket has it from the
	     * start: a message sent before accept4() returns carries the
	     * sender's credentials too
	     */
	    setsockopt(b->lfd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		log_err("broker: %s: %s", b->path, strerror(errno));
		goto fail;
	}
	/* before listen(): until then every connect is refused (ECONNREFUSED) */
	err = broker_set_perms(b, perms);
	if (!err && listen(b->lfd, 128) < 0) {
		err = -errno;
		log_err("broker: %s: listen: %s", b->path, strerror(errno));
	}
	if (err)
		goto fail;
listening:
	err = evloop_add_fd(b->loop, b->lfd, EPOLLIN, accept_one, b, NULL, NULL);
	if (!err)
		err = evloop_add_timer(b->loop, on_sweep, b, NULL, &b->sweep);
	if (!err)
		err = evloop_timer_set(b->sweep, SWEEP_MS, SWEEP_MS);
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

int broker_set_perms(struct broker *b, const struct sock_perms *perms)
{
	int err = rundir_sock_perms(b->path, perms);

	if (err)
		log_err("broker: %s: cannot give it owner %u, group %u, mode %04o: %s", b->path,
			(unsigned)perms->uid, (unsigned)perms->gid, (unsigned)perms->mode,
			strerror(-err));
	else
		log_debug("broker: %s: owner %u, group %u, mode %04o", b->path,
			  (unsigned)perms->uid, (unsigned)perms->gid, (unsigned)perms->mode);
	return err;
}

void broker_pause(struct broker *b)
{
	evloop_stop(b->loop);
	pthread_join(b->thread, NULL);
}

int broker_resume(struct broker *b)
{
	int err;

	evloop_rearm(b->loop);
	err = -pthread_create(&b->thread, NULL, broker_thread, b);
	if (err)
		log_err("broker: cannot restart its thread: %s", strerror(-err));
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
