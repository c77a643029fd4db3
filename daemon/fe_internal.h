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

struct fe_node {
	struct frontend *fe;
	struct uacce_dev *dev;
	char path[300];			/* node path */
	dev_t rdev;			/* CUSE: the node's device number */
	ino_t ino;			/* FUSE: inode number */
	/* CUSE only */
	struct fuse_session *se;
	pthread_t thread;
	bool thread_started;
	bool init_done;
	int init_err;
};

struct frontend {
	struct fe_opts opts;
	struct uacce_core *core;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CUSE init_done */
	struct fe_node *nodes;
	int n;
	int stop_efd;			/* eventfd: session threads exit */
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

/* shared request handlers */
void fe_do_open(struct fe_node *node, fuse_req_t req, struct fuse_file_info *fi);
void fe_do_release(fuse_req_t req, struct fuse_file_info *fi);
void fe_do_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		 unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz);
void fe_do_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph);
void fe_do_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void fe_do_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi);
void fe_do_flush(fuse_req_t req, struct fuse_file_info *fi);

/* release what the kernel can no longer release (sessions are gone) */
void fe_release_leftovers(struct frontend *fe);

/* run one session until stop_efd fires or the connection ends */
int fe_session_loop(struct frontend *fe, struct fuse_session *se);

int fe_cuse_start(struct frontend *fe);
void fe_cuse_stop(struct frontend *fe);
int fe_fuse_start(struct frontend *fe);
void fe_fuse_stop(struct frontend *fe);
bool fe_fuse_is_ours(struct frontend *fe, const struct stat *st);

#endif
