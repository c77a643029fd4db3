/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fe_internal.h - shared between the CUSE and FUSE frontends */
#ifndef UACCED_FE_INTERNAL_H
#define UACCED_FE_INTERNAL_H

#define FUSE_USE_VERSION 312
#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <semaphore.h>
#include <json-c/json.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "fdident.h"
#include "fe_pool.h"
#include "frontend.h"
#include "list.h"

/*
 * One published device.  Lifetime: a reference for the table while it is
 * published (dropped by frontend_remove_device), one per open file and
 * one per lookup in flight; all under fe->lock.  A removed node stays
 * listed (for frontend_identify) until its last reference goes; then the
 * transport's node_idle ends it (FUSE frees it at once; CUSE destroys its
 * session from the session thread, and the node is reaped - joined,
 * freed - by the next add/remove/stop).
 */
struct fe_node {
	struct list link;		/* frontend::nodes */
	int refs;
	bool removed;			/* unpublished: no new opens */
	struct frontend *fe;
	struct uacce_dev *dev;		/* a reference (ud_ref) */
	char path[300];			/* node path */
	dev_t rdev;			/* its device number once published (CUSE);
					 * 0: a FUSE file, no device */
	void *priv;			/* the transport's (node_init .. node_fini) */
};

struct fe_transport_ops;

struct frontend {
	struct fe_opts opts;
	const struct fe_transport_ops *tops;	/* CUSE or FUSE, from opts.kind */
	struct uacce_core *core;
	pthread_mutex_t lock;
	struct list nodes;		/* fe_node.link, in creation order; lock */
	int stop_efd;			/* eventfd: every session thread exits */
	char dev_dir[256];
	sem_t resolvers;		/* bounds concurrent SHARE_SVAS lookups */
	/*
	 * Client fds being taken (SHARE_SVAS: pidfd_getfd until the fd is
	 * handed to a job or a closer); lock.  frontend_stop sets `stopping`
	 * (no new taker) and waits for takers_done before it drains the
	 * closers: every client fd is closed while the sessions still serve.
	 */
	bool stopping;
	int takers;
	pthread_cond_t takers_done;
	struct fe_pool pool;		/* answers device ioctls and SHARE_SVAS */
	struct list files;		/* fe_file.link, open files; lock */
	/*
	 * fuse_file_info.fh -> fe_file: fh is the queue's id (uq_id), stable
	 * across a live restart (the kernel keeps sending the fh it got).  A
	 * hash of chains; fmap_lock (a leaf: readers are the request handlers).
	 */
	pthread_rwlock_t fmap_lock;
	struct fe_file **fmap;		/* fmap_mask + 1 buckets */
	size_t fmap_mask;
	size_t fmap_n;			/* files in it */
	/*
	 * Live restart (frontend_freeze): readable while frozen, the session
	 * threads leave their loops at a request boundary.  `freezing`
	 * (lock): SHARE_SVAS lookups are refused (EAGAIN) meanwhile;
	 * `resolving` (lock): lookups handed to a worker, not yet answered.
	 */
	int freeze_efd;
	bool freezing;
	bool frozen;			/* main thread only */
	int resolving;
	void *priv;			/* the transport's (init .. fini) */
};

/*
 * What differs between CUSE and FUSE.  Every op is required and runs in
 * the main thread (the one calling frontend_*), without fe->lock, unless
 * said otherwise.
 */
struct fe_transport_ops {
	/* the frontend's private state, before any node exists; -errno */
	int (*init)(struct frontend *fe);
	/* free it: every node is gone */
	void (*fini)(struct frontend *fe);
	/* a new node's private state (not published yet); -errno */
	int (*node_init)(struct fe_node *node);
	/*
	 * free it: its session is gone (also for a node never published).
	 * Any thread: FUSE frees a removed node with its last file.
	 */
	void (*node_fini)(struct fe_node *node);
	/* publish every node of fe->nodes; on failure nothing stays published */
	int (*start)(struct frontend *fe);
	/*
	 * End every session (the pool is stopped already): its thread stops,
	 * then every file left is released (fe_release_leftovers), then the
	 * session goes.  The nodes stay listed; the caller frees them.
	 */
	void (*stop)(struct frontend *fe);
	/* publish node and list it in fe->nodes; on failure it is not listed */
	int (*add_node)(struct frontend *fe, struct fe_node *node);
	/* node was just marked removed: unpublish it, drop the table's reference */
	void (*remove_node)(struct frontend *fe, struct fe_node *node);
	/* the last reference of a removed node went (any thread) */
	void (*node_idle)(struct fe_node *node);
	/* apply fe->opts.uid/gid/mode to every published node */
	void (*set_perms)(struct frontend *fe);
	/* removed nodes count too; any thread */
	/*
	 * Is the client's file `fd`, identified without asking its file
	 * system (fd_ident), one of our nodes?  Must not call into the file.
	 */
	bool (*is_ours)(struct frontend *fe, int fd, const struct fd_ident *id);

	/* --- live restart (fe_handover.c) --- */
	/*
	 * fe->freeze_efd fired: join every session thread (they leave their
	 * loops at a request boundary).  Nothing reads from the kernel after.
	 */
	void (*freeze)(struct frontend *fe);
	/* start a session thread for every session that has none; -errno */
	int (*thaw)(struct frontend *fe);
	/* the transport's part of the state (sessions, nodes) into o; -errno */
	int (*export)(struct frontend *fe, struct ho_state *s, json_object *o);
	/*
	 * Like start, but the sessions in `o` (the exported member) are
	 * adopted (no new device, no new mount; the kernel's INIT replayed):
	 * their threads are not started yet (thaw does, once the files are
	 * back).  On failure nothing stays published or adopted.
	 */
	int (*adopt)(struct frontend *fe, struct ho_state *s, json_object *o);
	/* the kernel connection node's requests come from (a raw notify goes there) */
	int (*session_fd)(struct fe_node *node);
	/* the record of that connection (its ids for the crash journal) */
	struct fe_session_rec *(*session_rec)(struct fe_node *node);
	/* its libfuse session (a crashed predecessor's requests are replayed there) */
	struct fuse_session *(*session)(struct fe_node *node);
	/*
	 * Frozen: free the sessions, closing only this process's fds (the
	 * connections, mounts and nodes stay, held by the state's dups).
	 */
	void (*abandon)(struct frontend *fe);
};

struct ho_state;

/*
 * A session's kernel connection, seen through libfuse's custom io (both
 * transports own their /dev/cuse or /dev/fuse fd): the read hook records
 * the kernel's INIT request body and the poll handles (kh) of FUSE_POLL
 * requests; the writev hook swallows the reply to a synthetic INIT
 * replayed by a successor (fe_session_replay_init).
 */
#define FE_INIT_MAX 256
/* the kernel's mark of an interrupt's unique (fs/fuse/fuse_i.h, not in the uapi) */
#ifndef FUSE_INT_REQ_BIT
#define FUSE_INT_REQ_BIT ((uint64_t)1)
#endif

struct fe_session_rec {
	struct frontend *fe;
	uint32_t init_opcode;		/* CUSE_INIT or FUSE_INIT; 0: none seen yet */
	uint32_t init_len;
	unsigned char init[FE_INIT_MAX];	/* the body after fuse_in_header */
	uint64_t swallow;		/* the unique whose reply is dropped; 0: none */
	uint32_t conn;			/* this process's id of the connection (crash journal) */
	uint32_t prev_conn;		/* adopted: the predecessor's id of it; 0: none */
	void *slot;			/* the journal's read slot of conn (slot_conn) */
	uint32_t slot_conn;
};

/* a new connection id for rec (unique in this process, never 0) */
void fe_rec_init(struct fe_session_rec *rec, struct frontend *fe);
/* the session's fd into s, named by its connection id (crash journal) */
int fe_put_session_fd(struct ho_state *s, const struct fe_session_rec *rec, int fd);

/* the hooks' work; the transports' hooks find rec from the session's userdata */
ssize_t fe_rec_read(struct fe_session_rec *rec, int fd, void *buf, size_t len);
ssize_t fe_rec_writev(struct fe_session_rec *rec, int fd, struct iovec *iov, int count);
/*
 * Set up a fresh libfuse session (custom io already installed) as the
 * kernel's INIT recorded in rec did: a synthetic INIT request fed to
 * fuse_session_process_buf, its reply swallowed.  -errno.
 */
int fe_session_replay_init(struct fuse_session *se, struct fe_session_rec *rec);
/* a request as the kernel sent it, fed to se (its answer goes to the kernel) */
int fe_session_replay(struct fuse_session *se, const void *req, size_t len);
/* rec's INIT into o ("init", "init_opcode"); back from o: -EINVAL when absent */
int fe_rec_export(const struct fe_session_rec *rec, json_object *o);
int fe_rec_import(struct fe_session_rec *rec, json_object *o);
/* the node named `name` in a state's "nodes" array, or NULL */
json_object *fe_state_node(json_object *nodes, const char *name);

extern const struct fe_transport_ops fe_cuse_transport;
extern const struct fe_transport_ops fe_fuse_transport;

/*
 * per-open-file state; fuse_file_info.fh is its id (the queue's id,
 * uq_id), found through frontend::fmap
 */
struct fe_file {
	struct list link;		/* frontend::files */
	struct fe_file *hnext;		/* frontend::fmap chain; fmap_lock */
	uint64_t id;			/* fi->fh */
	struct fe_node *node;
	/*
	 * NULL only for a file adopted from a live restart whose queue did not
	 * come over: every request on it answers ENODEV, release frees it
	 */
	struct uacce_queue *q;
	pthread_mutex_t lock;		/* ph, kh */
	struct fuse_pollhandle *ph;
	/*
	 * the kernel's poll handle of the last FUSE_POLL asking for a
	 * notification (recorded by the transport's read hook): a successor
	 * wakes it with a raw FUSE_NOTIFY_POLL; 0: none
	 */
	uint64_t kh;
};

/* the file of fh, or NULL (any thread; the kernel keeps it open meanwhile) */
struct fe_file *fe_file_find(struct frontend *fe, uint64_t fh);
/* a RELEASE without its request (the crash recovery answers it): f freed */
void fe_file_release(struct fe_file *f);

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
void fe_do_release(struct frontend *fe, fuse_req_t req, struct fuse_file_info *fi);
void fe_do_ioctl(struct frontend *fe, fuse_req_t req, int cmd, void *arg,
		 struct fuse_file_info *fi, unsigned flags, const void *in_buf, size_t in_bufsz,
		 size_t out_bufsz);
void fe_do_poll(struct frontend *fe, fuse_req_t req, struct fuse_file_info *fi,
		struct fuse_pollhandle *ph);
void fe_do_read(struct frontend *fe, fuse_req_t req, size_t size, off_t off,
		struct fuse_file_info *fi);
void fe_do_write(struct frontend *fe, fuse_req_t req, const char *buf, size_t size, off_t off,
		 struct fuse_file_info *fi);
void fe_do_flush(fuse_req_t req, struct fuse_file_info *fi);

/*
 * Release what the kernel can no longer release (sessions are gone): the
 * files of `node`, or of every node when NULL.
 */
void fe_release_leftovers(struct frontend *fe, struct fe_node *node);

/*
 * The replies of node's requests still being answered by a worker are
 * sent: its session may go.  Not from a worker.
 */
void fe_node_quiesce(struct fe_node *node);

/*
 * Run one session until a stop fd fires or the connection ends (node_efd:
 * -1): 0 or -errno; 1 when fe->freeze_efd fired (frontend_freeze: the
 * thread just returns, at a request boundary).
 */
int fe_session_loop(struct frontend *fe, struct fuse_session *se, int node_efd);

/* fe and its nodes (fe->nodes), nothing published yet; -errno */
int fe_new(const struct fe_opts *opts, struct uacce_core *core, struct uacce_dev *const *devs,
	   int n, struct frontend **out);
/* free a frontend whose start failed (nothing published) */
void fe_discard(struct frontend *fe);

/* a file adopted from a live restart (fe_handover.c); q may be NULL */
int fe_file_adopt(struct fe_node *node, uint64_t fh, struct uacce_queue *q, uint64_t kh);
/* release the files without releasing their queues (frontend_abandon) */
void fe_forget_files(struct frontend *fe);
/* the node published for the device named `name`, or NULL (main thread) */
struct fe_node *fe_node_by_name(struct frontend *fe, const char *name);

#endif
