/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fe_common.c - what both transports (CUSE, FUSE) share: nodes, the
 * request handlers, the session loop, identification of received queue
 * fds, and start/stop, which call the transport through fe->tops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker_proto.h"
#include "cjournal.h"
#include "core.h"
#include "fdclose.h"
#include "fe_internal.h"
#include "log.h"
#include "proc.h"
#include "relax.h"
#include "uacce/uacce.h"

#define MAX_RESOLVERS 16

static void caller_of(fuse_req_t req, struct uacce_caller *who)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	*who = (struct uacce_caller){ .tid = ctx->pid, .uid = ctx->uid, .gid = ctx->gid };
}

/* --- open files by id ------------------------------------------------------------- */

#define FMAP_MIN 64	/* buckets at first; doubled when files outnumber them */

static size_t fmap_slot(const struct frontend *fe, uint64_t id)
{
	/* ids are sequential: a multiplicative hash spreads them */
	return (size_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & fe->fmap_mask;
}

static int fmap_init(struct frontend *fe)
{
	pthread_rwlock_init(&fe->fmap_lock, NULL);
	fe->fmap = calloc(FMAP_MIN, sizeof(*fe->fmap));
	if (!fe->fmap)
		return -ENOMEM;
	fe->fmap_mask = FMAP_MIN - 1;
	return 0;
}

static void fmap_fini(struct frontend *fe)
{
	free(fe->fmap);
	fe->fmap = NULL;
	pthread_rwlock_destroy(&fe->fmap_lock);
}

/* twice the buckets (fmap_lock held for writing); stays as is without memory */
static void fmap_grow(struct frontend *fe)
{
	size_t n = (fe->fmap_mask + 1) * 2;
	struct fe_file **old = fe->fmap, **b = calloc(n, sizeof(*b));
	size_t oldn = fe->fmap_mask + 1;

	if (!b)
		return;
	fe->fmap = b;
	fe->fmap_mask = n - 1;
	for (size_t i = 0; i < oldn; i++) {
		for (struct fe_file *f = old[i], *next; f; f = next) {
			size_t slot = fmap_slot(fe, f->id);

			next = f->hnext;
			f->hnext = b[slot];
			b[slot] = f;
		}
	}
	free(old);
}

/* -EEXIST when the id is taken (never for the core's ids) */
static int fmap_add(struct frontend *fe, struct fe_file *f)
{
	size_t slot;
	int err = 0;

	pthread_rwlock_wrlock(&fe->fmap_lock);
	for (struct fe_file *o = fe->fmap[fmap_slot(fe, f->id)]; o; o = o->hnext)
		if (o->id == f->id)
			err = -EEXIST;
	if (!err) {
		if (fe->fmap_n > fe->fmap_mask)
			fmap_grow(fe);
		slot = fmap_slot(fe, f->id);
		f->hnext = fe->fmap[slot];
		fe->fmap[slot] = f;
		fe->fmap_n++;
	}
	pthread_rwlock_unlock(&fe->fmap_lock);
	return err;
}

static void fmap_del(struct frontend *fe, struct fe_file *f)
{
	pthread_rwlock_wrlock(&fe->fmap_lock);
	for (struct fe_file **pp = &fe->fmap[fmap_slot(fe, f->id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == f) {
			*pp = f->hnext;
			fe->fmap_n--;
			break;
		}
	}
	pthread_rwlock_unlock(&fe->fmap_lock);
}

struct fe_file *fe_file_find(struct frontend *fe, uint64_t fh)
{
	struct fe_file *f;

	pthread_rwlock_rdlock(&fe->fmap_lock);
	for (f = fe->fmap[fmap_slot(fe, fh)]; f && f->id != fh; f = f->hnext)
		;
	pthread_rwlock_unlock(&fe->fmap_lock);
	return f;
}

/*
 * The file a request names, with a queue; else NULL, answered ENODEV (a
 * file adopted without its queue, or an fh unknown after a live restart).
 */
static struct fe_file *file_of(struct frontend *fe, fuse_req_t req, struct fuse_file_info *fi)
{
	struct fe_file *f = fe_file_find(fe, fi->fh);

	if (!f || !f->q) {
		fuse_reply_err(req, ENODEV);
		return NULL;
	}
	return f;
}

/* called by backend threads when a queue has news */
static void fe_notify(void *arg)
{
	struct fe_file *f = arg;

	pthread_mutex_lock(&f->lock);
	if (f->ph) {
		fuse_lowlevel_notify_poll(f->ph);
		fuse_pollhandle_destroy(f->ph);
		f->ph = NULL;
	}
	pthread_mutex_unlock(&f->lock);
}

/* --- nodes ------------------------------------------------------------------- */

struct fe_node *fe_node_new(struct frontend *fe, struct uacce_dev *d)
{
	struct fe_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	list_init(&n->link);
	n->refs = 1;
	n->fe = fe;
	if (fe->tops->node_init(n) != 0) {
		free(n);
		return NULL;
	}
	n->dev = ud_ref(d);
	return n;
}

struct fe_node *fe_node_get(struct fe_node *n)
{
	struct frontend *fe = n->fe;

	pthread_mutex_lock(&fe->lock);
	if (n->removed)
		n = NULL;
	else
		n->refs++;
	pthread_mutex_unlock(&fe->lock);
	return n;
}

void fe_node_free(struct fe_node *n)
{
	struct frontend *fe = n->fe;

	pthread_mutex_lock(&fe->lock);
	list_del(&n->link);
	pthread_mutex_unlock(&fe->lock);
	fe->tops->node_fini(n);
	ud_unref(n->dev);
	free(n);
}

void fe_node_put(struct fe_node *n)
{
	struct frontend *fe = n->fe;
	bool last;

	pthread_mutex_lock(&fe->lock);
	last = --n->refs == 0;
	pthread_mutex_unlock(&fe->lock);
	if (!last)
		return;
	/* only a removed node loses its last reference */
	fe->tops->node_idle(n);
}

/* the published node of d (no reference taken: main thread only) */
struct fe_node *fe_node_of_dev(struct frontend *fe, struct uacce_dev *d)
{
	struct fe_node *found = NULL;

	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *n = container_of(pos, struct fe_node, link);

		if (n->dev == d && !n->removed)
			found = n;
	}
	pthread_mutex_unlock(&fe->lock);
	return found;
}

void fe_node_quiesce(struct fe_node *node)
{
	fe_pool_wait_tag(&node->fe->pool, node);
}

/* --- requests ------------------------------------------------------------------ */

static void file_free(struct fe_file *f);

/*
 * The opener's identity for the policy.  Its supplementary groups only
 * when the policy has group entries: then its process and name too, all
 * from one read of its status (st->groups is the caller's to free).
 * Otherwise the core finds the process (proc_owner_init_tgid, cheaper than
 * the status text), and reads the groups if a later policy needs them.
 */
static int open_caller(fuse_req_t req, struct uacce_dev *d, struct uacce_caller *who,
		       struct proc_status *st)
{
	int err;

	caller_of(req, who);
	if (!uq_policy_wants_groups(d))
		return 0;
	who->groups_known = true;
	err = proc_status_of(who->tid, st);
	if (err)
		return err;
	who->groups = st->groups;
	who->ngroups = st->ngroups;
	who->tgid = st->tgid;
	who->comm = st->comm;
	return 0;
}

/*
 * The open's end, from the session thread or a worker: q opened (err 0)
 * or the error; f and the node's reference (now f's) are consumed.
 */
static void open_done(struct fe_node *node, fuse_req_t req, struct fuse_file_info *fi,
		      struct fe_file *f, int err)
{
	if (err) {
		pthread_mutex_destroy(&f->lock);
		free(f);
		fe_node_put(node);
		fuse_reply_err(req, -err);
		return;
	}
	f->id = uq_id(f->q);
	if (fmap_add(node->fe, f) != 0) {
		/* the core's ids are unique: never */
		node_err(node, "%s: queue %llu: its id is taken by another open file",
			 node->path, (unsigned long long)f->id);
		uq_release(f->q);
		pthread_mutex_destroy(&f->lock);
		free(f);
		fe_node_put(node);
		fuse_reply_err(req, EIO);
		return;
	}
	uq_set_notify(f->q, fe_notify, f);
	pthread_mutex_lock(&node->fe->lock);
	list_add_tail(&node->fe->files, &f->link);
	pthread_mutex_unlock(&node->fe->lock);
	fi->fh = f->id;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fi->keep_cache = 0;
	/*
	 * No FLUSH at each close (FOPEN_NOFLUSH, Linux 5.16+; CUSE sends
	 * none anyway): we have nothing to flush, and a close by a thread of
	 * ours (a SHARE_SVAS source, a broker ATTACH) must not wait for us.
	 */
	fi->noflush = 1;
	/* if the reply cannot be delivered, no release will ever come */
	if (fuse_reply_open(req, fi) != 0)
		file_free(f);
}

/*
 * An open that found no free hardware queue while its process holds some
 * of the device's (uq_open_may_wait): a worker waits for one to come back
 * (OPEN_WAIT_MS at most), so that the session thread goes on and answers
 * the releases it waits for.
 */
#define OPEN_WAIT_MS 250

struct open_job {
	struct fe_job job;
	fuse_req_t req;
	struct fuse_file_info fi;
	struct fe_node *node;		/* the open's reference */
	struct fe_file *f;
	struct uacce_caller who;
	struct proc_status st;		/* who's groups and name point here */
};

static void open_run(struct fe_job *job, bool cancelled)
{
	struct open_job *j = container_of(job, struct open_job, job);
	int err = cancelled ? -ENODEV :
		  uq_open_wait(j->node->dev, &j->who, OPEN_WAIT_MS, &j->f->q);

	open_done(j->node, j->req, &j->fi, j->f, err);
	free(j->st.groups);
	free(j);
}

/* 0: the job answers; else the error to answer with (nothing consumed) */
static int open_later(struct fe_node *node, fuse_req_t req, struct fuse_file_info *fi,
		      struct fe_file *f, const struct uacce_caller *who, struct proc_status *st)
{
	struct open_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -EBUSY;
	j->job.tag = node;
	j->job.run = open_run;
	j->req = req;
	j->fi = *fi;
	j->node = node;
	j->f = f;
	j->who = *who;
	j->st = *st;
	j->who.groups = j->st.groups;
	j->who.comm = j->st.comm;
	err = fe_pool_submit(&node->fe->pool, &j->job);
	if (err) {
		free(j);
		return -EBUSY;
	}
	st->groups = NULL;	/* the job's now */
	return 0;
}

void fe_do_open(struct fe_node *node, fuse_req_t req, struct fuse_file_info *fi)
{
	struct uacce_caller who;
	struct proc_status st = { .groups = NULL };
	struct fe_file *f;
	int err;

	f = calloc(1, sizeof(*f));
	if (!f) {
		fe_node_put(node);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	f->node = node;	/* the caller's reference, now the file's */
	pthread_mutex_init(&f->lock, NULL);
	err = open_caller(req, node->dev, &who, &st);
	if (!err)
		err = uq_open(node->dev, &who, &f->q);
	if (err == -EBUSY && uq_open_may_wait(node->dev, &who) &&
	    open_later(node, req, fi, f, &who, &st) == 0)
		return;
	free(st.groups);
	open_done(node, req, fi, f, err);
}

/* the one release path of an open file */
static void file_free(struct fe_file *f)
{
	struct frontend *fe = f->node->fe;

	fmap_del(fe, f);
	pthread_mutex_lock(&fe->lock);
	list_del(&f->link);
	pthread_mutex_unlock(&fe->lock);
	if (f->q)
		uq_release(f->q);	/* stops the backend: no notify after this */
	if (f->ph)
		fuse_pollhandle_destroy(f->ph);
	pthread_mutex_destroy(&f->lock);
	fe_node_put(f->node);
	free(f);
}

void fe_do_release(struct frontend *fe, fuse_req_t req, struct fuse_file_info *fi)
{
	struct fe_file *f = fe_file_find(fe, fi->fh);

	if (f)
		file_free(f);
	fuse_reply_err(req, 0);
}

void fe_file_release(struct fe_file *f)
{
	file_free(f);
}

void fe_release_leftovers(struct frontend *fe, struct fe_node *node)
{
	for (;;) {
		struct fe_file *f = NULL;

		pthread_mutex_lock(&fe->lock);
		list_for_each(pos, &fe->files) {
			struct fe_file *o = container_of(pos, struct fe_file, link);

			if (!node || o->node == node) {
				f = o;
				break;
			}
		}
		pthread_mutex_unlock(&fe->lock);
		if (!f)
			break;
		file_free(f);
	}
}

int fe_file_adopt(struct fe_node *node, uint64_t fh, struct uacce_queue *q, uint64_t kh)
{
	struct frontend *fe = node->fe;
	struct fe_file *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	f->id = fh;
	f->q = q;
	f->kh = kh;
	pthread_mutex_init(&f->lock, NULL);
	err = fmap_add(fe, f);
	if (err) {
		pthread_mutex_destroy(&f->lock);
		free(f);
		return err;
	}
	pthread_mutex_lock(&fe->lock);
	node->refs++;
	f->node = node;
	list_add_tail(&fe->files, &f->link);
	pthread_mutex_unlock(&fe->lock);
	if (q)
		uq_set_notify(q, fe_notify, f);
	return 0;
}

void fe_forget_files(struct frontend *fe)
{
	for (;;) {
		struct fe_file *f = NULL;

		pthread_mutex_lock(&fe->lock);
		if (!list_empty(&fe->files))
			f = container_of(fe->files.next, struct fe_file, link);
		pthread_mutex_unlock(&fe->lock);
		if (!f)
			break;
		/* the queue (and its open reference) stays the core's */
		if (f->q)
			uq_set_notify(f->q, NULL, NULL);
		f->q = NULL;
		file_free(f);
	}
}

struct fe_node *fe_node_by_name(struct frontend *fe, const char *name)
{
	struct fe_node *found = NULL;

	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *n = container_of(pos, struct fe_node, link);

		if (!n->removed && strcmp(ud_name(n->dev), name) == 0)
			found = n;
	}
	pthread_mutex_unlock(&fe->lock);
	return found;
}

/* --- SHARE_SVAS: resolving the caller's fd number off the request thread -- */

/*
 * A worker asks the node of the received fd which queue it is: that needs
 * a session thread free to answer.  The job holds the queue until replied.
 */
struct share_job {
	struct fe_job job;
	fuse_req_t req;
	struct frontend *fe;	/* not the file: it may be released meanwhile */
	struct uacce_caller who;
	int dupfd;
	struct uacce_queue *q;
};

static int share_lookup(struct share_job *j)
{
	struct frontend *fe = j->fe;
	struct uacce_queue *src;
	uint64_t qid;
	int err;

	err = frontend_identify(fe, j->dupfd, &qid);
	if (err)
		return -EINVAL;	/* not a queue of this daemon */
	src = core_get_queue(fe->core, qid);
	if (!src)
		return -EINVAL;
	err = uq_share_svas(j->q, &j->who, src);
	uq_unref(src);
	return err;
}

static void share_run(struct fe_job *job, bool cancelled)
{
	struct share_job *j = container_of(job, struct share_job, job);
	int err = cancelled ? -ENODEV : share_lookup(j);

	struct frontend *fe = j->fe;

	frontend_close_client_fd(fe, j->dupfd);
	if (err)
		fuse_reply_err(j->req, -err);
	else
		fuse_reply_ioctl(j->req, 0, NULL, 0);
	uq_unref(j->q);
	sem_post(&fe->resolvers);
	free(j);
	pthread_mutex_lock(&fe->lock);
	if (!--fe->resolving)
		pthread_cond_broadcast(&fe->takers_done);
	pthread_mutex_unlock(&fe->lock);
}

static void share_take(fuse_req_t req, struct fe_file *f, const struct uacce_caller *who,
		       int fdnum);

/*
 * SHARE_SVAS: the source fd is taken from the caller (a taker, counted for
 * frontend_stop) and handed to a worker, which identifies it; every fd
 * taken is closed through fd_close_nowait (frontend_close_client_fd),
 * never by this session thread: the last close of one of our own CUSE
 * nodes is a RELEASE that this very thread would have to answer.
 */
static void share_svas(fuse_req_t req, struct fe_file *f, const struct uacce_caller *who,
		       int fdnum)
{
	struct frontend *fe = f->node->fe;
	int err;

	err = uq_check_owner(f->q, who);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	pthread_mutex_lock(&fe->lock);
	if (fe->stopping) {
		pthread_mutex_unlock(&fe->lock);
		fuse_reply_err(req, ENODEV);	/* shutting down */
		return;
	}
	if (fe->freezing) {
		/* a live restart is draining the workers: try again (as when too many) */
		pthread_mutex_unlock(&fe->lock);
		fuse_reply_err(req, EAGAIN);
		return;
	}
	fe->takers++;
	pthread_mutex_unlock(&fe->lock);
	share_take(req, f, who, fdnum);
	pthread_mutex_lock(&fe->lock);
	if (!--fe->takers)
		pthread_cond_broadcast(&fe->takers_done);
	pthread_mutex_unlock(&fe->lock);
}

static void share_take(fuse_req_t req, struct fe_file *f, const struct uacce_caller *who,
		       int fdnum)
{
	struct frontend *fe = f->node->fe;
	struct share_job *j;
	int err, dupfd;

	/* the caller is the owner: take its fd `fdnum` exactly as it has it */
	dupfd = uq_owner_getfd(f->q, fdnum);
	if (dupfd < 0) {
		fuse_reply_err(req, dupfd == -EBADF ? EBADF : EINVAL);
		return;
	}
	if (sem_trywait(&fe->resolvers) != 0) {
		frontend_close_client_fd(fe, dupfd);
		fuse_reply_err(req, EAGAIN);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		err = -ENOMEM;
		goto fail;
	}
	j->job.tag = f->node;
	j->job.run = share_run;
	j->req = req;
	j->fe = fe;
	j->who = *who;
	j->dupfd = dupfd;
	j->q = core_get_queue(fe->core, uq_id(f->q));	/* held until replied */
	if (!j->q) {
		err = -ENODEV;
		free(j);
		goto fail;
	}
	pthread_mutex_lock(&fe->lock);
	fe->resolving++;	/* frontend_freeze waits for its answer */
	pthread_mutex_unlock(&fe->lock);
	err = fe_pool_submit(&fe->pool, &j->job);
	if (err) {
		uq_unref(j->q);
		free(j);
		pthread_mutex_lock(&fe->lock);
		if (!--fe->resolving)
			pthread_cond_broadcast(&fe->takers_done);
		pthread_mutex_unlock(&fe->lock);
		goto fail;
	}
	return;
fail:
	frontend_close_client_fd(fe, dupfd);
	sem_post(&fe->resolvers);
	fuse_reply_err(req, -err);
}

/* --- device ioctls: a worker answers them, the session goes on ------------------ */

/*
 * A queue ioctl with backend.h's _IOC contract: the restricted ioctls of
 * CUSE and FUSE already bring _IOC_SIZE(cmd) bytes in for _IOC_WRITE and
 * take as many back for _IOC_READ; _IOC_NONE passes the raw argument.
 * Fill *io (its data malloc'd, freed by reply_ioctl): 0 or -errno.
 */
static int ioctl_prepare(unsigned int cmd, void *arg, const void *in_buf, size_t in_bufsz,
			 size_t out_bufsz, struct uacce_ioctl *io)
{
	unsigned dir = _IOC_DIR(cmd);

	*io = (struct uacce_ioctl){ .cmd = cmd, .size = _IOC_SIZE(cmd) };
	if (dir == _IOC_NONE)
		io->arg = (unsigned long)(uintptr_t)arg;
	if (((dir & _IOC_WRITE) && in_bufsz < io->size) ||
	    ((dir & _IOC_READ) && out_bufsz < io->size))
		return -EINVAL;
	if (!io->size)
		return 0;
	io->data = calloc(1, io->size);
	if (!io->data)
		return -ENOMEM;
	if (dir & _IOC_WRITE)
		memcpy(io->data, in_buf, io->size);
	return 0;
}

/*
 * The one call into the core for an ioctl on a queue (START, PUT_Q and the
 * device's own), from the session thread or a worker.
 */
static int queue_ioctl(struct uacce_queue *q, const struct uacce_caller *who,
		       struct uacce_ioctl *io)
{
	return uq_ioctl(q, who, io);
}

/* the reply, exactly once; frees io's data */
static void reply_ioctl(fuse_req_t req, int err, struct uacce_ioctl *io)
{
	if (err)
		fuse_reply_err(req, -err);
	else if (_IOC_DIR(io->cmd) & _IOC_READ)
		fuse_reply_ioctl(req, 0, io->data, io->size);
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
	free(io->data);
	io->data = NULL;
}

/*
 * A device ioctl may run for seconds (the dummy device's FLUSH processes a
 * whole ring of copies): answered by a worker, so that the session thread
 * (on the FUSE fallback: the one thread of every node) goes on.  The job
 * holds the queue, not the file, until replied: the kernel keeps the file
 * open until the reply comes.
 */
struct ioctl_job {
	struct fe_job job;
	fuse_req_t req;
	struct uacce_queue *q;	/* a reference (core_get_queue) */
	struct uacce_caller who;
	struct uacce_ioctl io;	/* its data copied in from the client */
};

static void ioctl_run(struct fe_job *job, bool cancelled)
{
	struct ioctl_job *j = container_of(job, struct ioctl_job, job);

	reply_ioctl(j->req, cancelled ? -ENODEV : queue_ioctl(j->q, &j->who, &j->io), &j->io);
	uq_unref(j->q);
	free(j);
}

static void device_ioctl(fuse_req_t req, struct fe_file *f, const struct uacce_caller *who,
			 const struct uacce_ioctl *io)
{
	struct frontend *fe = f->node->fe;
	struct ioctl_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j) {
		free(io->data);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	j->job.tag = f->node;
	j->job.run = ioctl_run;
	j->req = req;
	j->who = *who;
	j->io = *io;
	j->q = core_get_queue(fe->core, uq_id(f->q));	/* held until replied */
	err = j->q ? fe_pool_submit(&fe->pool, &j->job) : -ENODEV;
	if (err) {
		if (j->q)
			uq_unref(j->q);
		free(j->io.data);
		free(j);
		fuse_reply_err(req, -err);
	}
}

static void ident(fuse_req_t req, struct fe_file *f, const struct uacce_caller *who,
		  size_t out_bufsz)
{
	struct uacced_ident id = { .magic = UACCED_IDENT_MAGIC, .queue_id = uq_id(f->q) };

	/* only the daemon itself may ask which queue an open file is */
	if (!proc_is_thread_of(getpid(), who->tid)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (out_bufsz < sizeof(id)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_ioctl(req, 0, &id, sizeof(id));
}

void fe_do_ioctl(struct frontend *fe, fuse_req_t req, int cmd, void *arg,
		 struct fuse_file_info *fi, unsigned flags, const void *in_buf, size_t in_bufsz,
		 size_t out_bufsz)
{
	struct fe_file *f = file_of(fe, req, fi);
	unsigned int ucmd = (unsigned int)cmd;
	struct uacce_caller who;
	struct uacce_ioctl io;
	enum uq_cmd kind;
	int err;

	if (!f)
		return;
	caller_of(req, &who);
	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (ucmd == UACCED_CMD_IDENT) {
		ident(req, f, &who, out_bufsz);
		return;
	}
	/* the queue commands' numbers are the device's profile's */
	kind = ud_cmd_kind(uq_dev(f->q), ucmd);
	if (kind == UQ_CMD_SHARE_SVAS) {
		share_svas(req, f, &who, (int)(intptr_t)arg);
		return;
	}
	err = ioctl_prepare(ucmd, arg, in_buf, in_bufsz, out_bufsz, &io);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	switch (kind) {
	case UQ_CMD_START:
	case UQ_CMD_PUT:
		/* quick: answered here, in order with the opens and releases */
		reply_ioctl(req, queue_ioctl(f->q, &who, &io), &io);
		return;
	default:
		device_ioctl(req, f, &who, &io);
	}
}

void fe_do_poll(struct frontend *fe, fuse_req_t req, struct fuse_file_info *fi,
		struct fuse_pollhandle *ph)
{
	struct fe_file *f = file_of(fe, req, fi);
	struct uacce_caller who;
	unsigned mask = 0;
	int err;

	if (!f) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		return;
	}
	caller_of(req, &who);
	pthread_mutex_lock(&f->lock);
	if (ph) {
		if (f->ph)
			fuse_pollhandle_destroy(f->ph);
		f->ph = ph;
	}
	pthread_mutex_unlock(&f->lock);
	/*
	 * Not under f->lock: the core lock is taken before f->lock elsewhere
	 * (stopping a worker that is notifying).  No wake-up is lost: the
	 * handle is in place before the updated flag is read.
	 */
	err = uq_poll(f->q, &who, &mask);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_poll(req, mask);
}

/* uacce queues have no read/write: EPERM for strangers, EINVAL for the owner */
static void no_rw(struct frontend *fe, fuse_req_t req, struct fuse_file_info *fi)
{
	struct fe_file *f = file_of(fe, req, fi);
	struct uacce_caller who;
	int err;

	if (!f)
		return;
	caller_of(req, &who);
	err = uq_check_owner(f->q, &who);
	fuse_reply_err(req, err ? -err : EINVAL);
}

void fe_do_read(struct frontend *fe, fuse_req_t req, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	(void)size;
	(void)off;
	no_rw(fe, req, fi);
}

void fe_do_write(struct frontend *fe, fuse_req_t req, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	(void)buf;
	(void)size;
	(void)off;
	no_rw(fe, req, fi);
}

void fe_do_flush(fuse_req_t req, struct fuse_file_info *fi)
{
	(void)fi;
	fuse_reply_err(req, 0);
}

/* --- session loop ---------------------------------------------------------- */

/* this thread answers requests of a session (its releases among them) */
static __thread bool in_session;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * After each request the session thread looks for the next one without
 * sleeping for SESSION_SPIN_NS (the device fd is non-blocking meanwhile):
 * a client's next request of a burst (a queue's open, START, PUT_Q and
 * close come tens of microseconds apart) then needs no wake-up of ours,
 * and we no sleep.  Sleeping and waking cost the most of a request on a
 * virtual machine (an inter-processor interrupt each way).  One session
 * thread at a time spins (a machine with many busy devices spends one
 * CPU's slices at most), and the stop and freeze events are looked at
 * every SESSION_CHECK_NS meanwhile.  An idle daemon never spins.
 */
#define SESSION_SPIN_NS		30000ULL
#define SESSION_CHECK_NS	1000000ULL
/*
 * Work the backends deferred (uq_flush_deferred: a queue's worker) starts
 * before this thread sleeps, as soon as a request is pending for it, or
 * between two requests once it waited this long.
 */
#define SESSION_DEFER_NS	50000ULL

static int spinners;

int fe_session_loop(struct frontend *fe, struct fuse_session *se, int node_efd)
{
	struct fuse_buf buf = { .mem = NULL };
	int fd = fuse_session_fd(se), fl = fcntl(fd, F_GETFL) & ~O_NONBLOCK;
	/* the fd's flags are its successor's too (a live restart): blocking again below */
	bool nb = fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
	uint64_t spin_until = 0, check_at = 0;
	bool spinner = false;
	int err = 0;

	in_session = true;
	uq_defer_enable(true);
	while (!fuse_session_exited(se)) {
		struct pollfd p[4] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = fe->stop_efd, .events = POLLIN },
			{ .fd = node_efd, .events = POLLIN },	/* ignored when -1 */
			{ .fd = fe->freeze_efd, .events = POLLIN },
		};
		uint64_t now = spinner ? mono_ns() : 0;
		int n;

		if (spinner && now >= spin_until) {
			__atomic_sub_fetch(&spinners, 1, __ATOMIC_RELAXED);
			spinner = false;
		}
		if (!spinner)
			uq_flush_deferred(fe->core, 0);	/* about to sleep */
		if (!spinner || now >= check_at) {
			if (poll(p, 4, spinner ? 0 : -1) < 0) {
				if (errno == EINTR)
					continue;
				err = -errno;
				break;
			}
			check_at = now + SESSION_CHECK_NS;
			/* between two requests: nothing read is left unanswered here */
			if (p[3].revents) {
				err = 1;
				break;
			}
			if (p[1].revents || p[2].revents)
				break;
			if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				err = -ENODEV;
				break;
			}
		}
		n = fuse_session_receive_buf(se, &buf);
		if (n == -EAGAIN || n == -EINTR) {
			if (spinner) {
				uq_flush_deferred(fe->core, SESSION_DEFER_NS);
				cpu_relax();
			}
			continue;
		}
		if (n <= 0) {
			err = n ? n : -ENODEV;
			break;
		}
		uq_flush_deferred(fe->core, SESSION_DEFER_NS);
		fuse_session_process_buf(se, &buf);
		if (nb && !spinner &&
		    __atomic_fetch_add(&spinners, 1, __ATOMIC_RELAXED) >= 1)
			__atomic_sub_fetch(&spinners, 1, __ATOMIC_RELAXED);
		else if (nb)
			spinner = true;
		if (spinner)
			spin_until = mono_ns() + SESSION_SPIN_NS;
	}
	if (spinner)
		__atomic_sub_fetch(&spinners, 1, __ATOMIC_RELAXED);
	uq_flush_deferred(fe->core, 0);
	uq_defer_enable(false);
	if (nb)
		fcntl(fd, F_SETFL, fl);
	free(buf.mem);
	return err;
}

/* --- identification ---------------------------------------------------------- */

int frontend_identify(struct frontend *fe, int fd, uint64_t *qid)
{
	struct uacced_ident id = { 0 };
	struct fd_ident fi;
	int err;

	/*
	 * Never call into the file's file system before we know it is ours
	 * (no fstat, no ioctl): it could belong to a FUSE file system of the
	 * client's that would never answer.  Cached attributes tell.
	 */
	err = fd_ident(fd, &fi);
	if (err)
		return err == -EBADF ? err : -EINVAL;
	if (!fe->tops->is_ours(fe, fd, &fi))
		return -EINVAL;
	if (ioctl(fd, UACCED_CMD_IDENT, &id) < 0)
		return -errno;
	if (id.magic != UACCED_IDENT_MAGIC)
		return -EINVAL;
	*qid = id.queue_id;
	return 0;
}

/*
 * Our own CUSE nodes go to the closers: the last close of a CUSE node
 * waits for its RELEASE, which the node's session thread answers -
 * perhaps the very thread closing it.  Our own FUSE files are closed at
 * once by any other thread: their close sends no flush (fe_do_open sets
 * noflush) and their release is asynchronous.  A release that still comes
 * after the owner's next open is waited for there (uq_open_wait).  The
 * closers are drained (frontend_stop) before the sessions stop.
 */
void frontend_close_client_fd(struct frontend *fe, int fd)
{
	struct fd_ident id;
	bool known;

	if (fd < 0)
		return;
	known = fd_ident(fd, &id) == 0;
	/*
	 * A file of our FUSE mount, from a thread that answers no request:
	 * closed at once (no FLUSH: noflush; its release is queued behind
	 * the requests already sent), so that a client's next open finds its
	 * queue given back rather than held by our copy of its fd.
	 */
	if (known && fe->opts.kind == FE_FUSE && !in_session && fe->tops->is_ours(fe, fd, &id)) {
		close(fd);
		return;
	}
	fd_close_nowait(fd, known ? &id : NULL);
}

/* --- start / stop ------------------------------------------------------------ */

/* every session is gone and every file released */
static void free_nodes(struct frontend *fe)
{
	list_for_each(pos, &fe->nodes)
		fe_node_free(container_of(pos, struct fe_node, link));
}

/* every job, session, node and file is gone */
static void frontend_free(struct frontend *fe)
{
	if (fe->stop_efd >= 0)
		close(fe->stop_efd);
	if (fe->freeze_efd >= 0)
		close(fe->freeze_efd);
	sem_destroy(&fe->resolvers);
	pthread_cond_destroy(&fe->takers_done);
	fe_pool_destroy(&fe->pool);
	fmap_fini(fe);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
}

int fe_new(const struct fe_opts *opts, struct uacce_core *core, struct uacce_dev *const *devs,
	   int n, struct frontend **out)
{
	struct frontend *fe;
	int err;

	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->opts = *opts;
	/* the one place that knows there are two */
	fe->tops = opts->kind == FE_CUSE ? &fe_cuse_transport : &fe_fuse_transport;
	fe->core = core;
	list_init(&fe->files);
	list_init(&fe->nodes);
	pthread_mutex_init(&fe->lock, NULL);
	pthread_cond_init(&fe->takers_done, NULL);
	sem_init(&fe->resolvers, 0, MAX_RESOLVERS);
	fe_pool_init(&fe->pool);
	fe->freeze_efd = -1;
	err = fmap_init(fe);
	fe->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fe->stop_efd < 0 && !err)
		err = -errno;
	fe->freeze_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fe->freeze_efd < 0 && !err)
		err = -errno;
	if (err)
		goto fail;
	err = fe->tops->init(fe);
	if (err)
		goto fail;
	for (int i = 0; i < n; i++) {
		struct fe_node *node = fe_node_new(fe, devs[i]);

		if (!node) {
			err = -ENOMEM;
			goto fail_nodes;
		}
		list_add_tail(&fe->nodes, &node->link);
	}
	*out = fe;
	return 0;
fail_nodes:
	free_nodes(fe);
	fe->tops->fini(fe);
fail:
	fe_pool_stop(&fe->pool);
	frontend_free(fe);
	return err;
}

void fe_discard(struct frontend *fe)
{
	free_nodes(fe);
	fe->tops->fini(fe);
	fe_pool_stop(&fe->pool);
	frontend_free(fe);
}

int frontend_start(const struct fe_opts *opts, struct uacce_core *core,
		   struct uacce_dev *const *devs, int n, struct frontend **out)
{
	struct frontend *fe;
	int err;

	err = fe_new(opts, core, devs, n, &fe);
	if (err)
		return err;
	err = fe->tops->start(fe);
	if (err) {
		fe_discard(fe);
		return err;
	}
	*out = fe;
	return 0;
}

void frontend_abandon(struct frontend *fe)
{
	if (!fe)
		return;
	fe_pool_stop(&fe->pool);	/* idle: frozen */
	fe_forget_files(fe);
	fe->tops->abandon(fe);
	free_nodes(fe);
	fe->tops->fini(fe);
	frontend_free(fe);
}

int frontend_add_device(struct frontend *fe, struct uacce_dev *d)
{
	struct fe_node *node = fe_node_new(fe, d);
	int err;

	if (!node)
		return -ENOMEM;
	err = fe->tops->add_node(fe, node);
	if (err)
		fe_node_free(node);	/* never listed */
	else
		cj_touch(fe->opts.journal);	/* its connection goes to the store */
	return err;
}

void frontend_remove_device(struct frontend *fe, struct uacce_dev *d)
{
	struct fe_node *node = fe_node_of_dev(fe, d);

	if (!node)
		return;
	pthread_mutex_lock(&fe->lock);
	node->removed = true;
	pthread_mutex_unlock(&fe->lock);
	fe->tops->remove_node(fe, node);
	/* the store's copy of its connection goes too, or the node would stay */
	cj_touch(fe->opts.journal);
}

void frontend_set_perms(struct frontend *fe, uid_t uid, gid_t gid, mode_t mode)
{
	pthread_mutex_lock(&fe->lock);
	fe->opts.uid = uid;
	fe->opts.gid = gid;
	fe->opts.mode = mode;
	pthread_mutex_unlock(&fe->lock);
	fe->tops->set_perms(fe);
}

void frontend_stop(struct frontend *fe)
{
	if (!fe)
		return;
	/*
	 * First the workers: their replies go through the sessions, and a
	 * SHARE_SVAS lookup needs them served.  After this no job uses fe.
	 */
	pthread_mutex_lock(&fe->lock);
	fe->stopping = true;	/* no session thread takes a client fd from now on */
	while (fe->takers)
		pthread_cond_wait(&fe->takers_done, &fe->lock);
	pthread_mutex_unlock(&fe->lock);
	fe_pool_stop(&fe->pool);
	/*
	 * Then the client fds on their way out (SHARE_SVAS lookups, broker
	 * attaches): those of our own FUSE mount are flushed by our sessions,
	 * so they must close while the sessions still serve.  A close stuck on
	 * a foreign file system is not waited for beyond 2 s.
	 */
	if (fd_close_drain(2000))
		log_warn("%d client fd(s) still closing at shutdown (a file system that does not "
			 "answer)", fd_close_pending());
	fe->tops->stop(fe);
	free_nodes(fe);
	fe->tops->fini(fe);
	frontend_free(fe);
}

int frontend_node_devt(struct frontend *fe, const char *name, dev_t *out)
{
	int err = -ENOENT;

	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *n = container_of(pos, struct fe_node, link);

		if (!n->removed && strcmp(ud_name(n->dev), name) == 0) {
			*out = n->rdev;
			err = 0;
		}
	}
	pthread_mutex_unlock(&fe->lock);
	return err;
}

const char *frontend_dev_dir(const struct frontend *fe)
{
	return fe->dev_dir;
}
