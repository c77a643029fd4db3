/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fe_internal.h - shared between the CUSE and FUSE frontends */
#ifndef UACCED_FE_INTERNAL_H
#define UACCED_FE_INTERNAL_H

#define FUSE_USE_VERSION 312
#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/stat.h>

#include "frontend.h"
#include "list.h"

/*
 * One published device.  Lifetime: a reference for the table while it is
 * published (dropped by frontend_remove_device), one per open file and
 * one per lookup in flight; all under fe->lock.  A removed node stays
 * listed (for frontend_identify) until its last reference goes: FUSE then
 * frees it; CUSE destroys its session from the session thread, and the
 * node is reaped (joined, freed) by the next add/remove/stop.
 */
struct fe_node {
	struct list link;		/* frontend::nodes */
	int refs;
	bool removed;			/* unpublished: no new opens */
	struct frontend *fe;
	struct uacce_dev *dev;		/* a reference (ud_ref) */
	char path[300];			/* node path */
	dev_t rdev;			/* CUSE: the node's device number */
	ino_t ino;			/* FUSE: inode number, never reused */
	/* CUSE only */
	struct fuse_session *se;
	pthread_t thread;
	bool thread_started;
	bool init_done;
	int init_err;
	int stop_efd;			/* eventfd: this session's thread exits */
	bool idle_exit;			/* removed, last file closed: the thread
					 * destroys the session itself */
	bool thread_done;		/* the thread returned: join it */
};

struct frontend {
	struct fe_opts opts;
	struct uacce_core *core;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CUSE init_done */
	struct list nodes;		/* fe_node.link, in creation order; lock */
	ino_t next_ino;			/* FUSE; lock */
	int stop_efd;			/* eventfd: every session thread exits */
	char dev_dir[256];
	sem_t resolvers;		/* bounds concurrent SHARE_SVAS lookups */
	bool stopping;			/* atomic: no new lookups */
	struct list files;		/* fe_file.link, open files; lock */
	/* FUSE only */
	struct fuse_session *se;
	pthread_t thread;
	bool thread_started;
	bool mounted;
	dev_t fuse_st_dev;
};

/* per-open-file state; fuse_file_info.fh points at it */
struct fe_file {
	struct list link;		/* frontend::files */
	struct fe_node *node;
	struct uacce_queue *q;
	pthread_mutex_t lock;		/* ph */
	struct fuse_pollhandle *ph;
};

/* records about a node's device (journal field UACCE_DEVICE, see log.h) */
#define node_log(prio, node, ...) ulog_ctx((prio), UD_LOG_CTX((node)->dev), __VA_ARGS__)
#define node_err(node, ...)	node_log(LOG_ERR, (node), __VA_ARGS__)
#define node_warn(node, ...)	node_log(LOG_WARNING, (node), __VA_ARGS__)
#define node_info(node, ...)	node_log(LOG_INFO, (node), __VA_ARGS__)
#define node_debug(node, ...)	node_log(LOG_DEBUG, (node), __VA_ARGS__)

/* nodes (fe_common.c) */
struct fe_node *fe_node_new(struct frontend *fe, struct uacce_dev *d);
/* a new reference, or NULL when the node is removed */
struct fe_node *fe_node_get(struct fe_node *n);
void fe_node_put(struct fe_node *n);
/* unlink and free (the last reference is gone, the session too) */
void fe_node_free(struct fe_node *n);
struct fe_node *fe_node_of_dev(struct frontend *fe, struct uacce_dev *d);

/* shared request handlers; open consumes a reference on node */
void fe_do_open(struct fe_node *node, fuse_req_t req, struct fuse_file_info *fi);
void fe_do_release(fuse_req_t req, struct fuse_file_info *fi);
void fe_do_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		 unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz);
void fe_do_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph);
void fe_do_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void fe_do_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi);
void fe_do_flush(fuse_req_t req, struct fuse_file_info *fi);

/*
 * Release what the kernel can no longer release (sessions are gone): the
 * files of `node`, or of every node when NULL.
 */
void fe_release_leftovers(struct frontend *fe, struct fe_node *node);

/* run one session until a stop fd fires or the connection ends (node_efd: -1) */
int fe_session_loop(struct frontend *fe, struct fuse_session *se, int node_efd);

int fe_cuse_start(struct frontend *fe);
void fe_cuse_stop(struct frontend *fe);
int fe_cuse_add(struct frontend *fe, struct fe_node *node);
void fe_cuse_remove(struct frontend *fe, struct fe_node *node);
/* the last reference of a removed node went */
void fe_cuse_node_idle(struct fe_node *node);
void fe_cuse_set_perms(struct frontend *fe);
int fe_fuse_start(struct frontend *fe);
void fe_fuse_stop(struct frontend *fe);
int fe_fuse_add(struct frontend *fe, struct fe_node *node);
void fe_fuse_remove(struct frontend *fe, struct fe_node *node);
void fe_fuse_set_perms(struct frontend *fe);
bool fe_fuse_is_ours(struct frontend *fe, const struct stat *st);

#endif
