/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fe_cuse.c - one CUSE character device per accelerator.  We open
 * /dev/cuse ourselves and drive each session from a thread of our own
 * (cuse_lowlevel_main would daemonize and keep one global session).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "core.h"
#include "fe_internal.h"
#include "handover.h"
#include "log.h"
#include "udevnode.h"

#define INIT_TIMEOUT_S 10

/* the frontend's CUSE state (fe->priv) */
struct cuse_fe {
	pthread_cond_t cond;		/* with fe->lock: a node's init_done */
};

/*
 * A node's CUSE session (fe_node.priv).  The main thread starts, joins and
 * ends it; the fields marked "lock" are shared with the session thread
 * under fe->lock.
 */
struct cuse_node {
	struct fuse_session *se;
	pthread_t thread;
	bool thread_started;
	bool init_done;			/* lock */
	int init_err;			/* lock */
	int stop_efd;			/* eventfd: this session's thread exits */
	bool idle_exit;			/* lock: removed, last file closed: the
					 * thread destroys the session itself */
	bool thread_done;		/* lock: the thread returned: join it */
	bool loop_ended;		/* lock: the session ended (not a freeze) */
	struct fe_session_rec rec;	/* what the custom io saw (live restart) */
};

static struct cuse_fe *cf(struct frontend *fe)
{
	return fe->priv;
}

static struct cuse_node *cn(struct fe_node *node)
{
	return node->priv;
}

static struct fe_node *node_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void set_init(struct fe_node *node, int err)
{
	struct frontend *fe = node->fe;
	struct cuse_node *c = cn(node);

	pthread_mutex_lock(&fe->lock);
	if (!c->init_done) {
		c->init_done = true;
		c->init_err = err;
	}
	pthread_cond_broadcast(&cf(fe)->cond);
	pthread_mutex_unlock(&fe->lock);
}

static int apply_perms(struct fe_node *node)
{
	struct frontend *fe = node->fe;
	uid_t uid;
	gid_t gid;
	mode_t mode;

	pthread_mutex_lock(&fe->lock);
	uid = fe->opts.uid;
	gid = fe->opts.gid;
	mode = fe->opts.mode;
	pthread_mutex_unlock(&fe->lock);
	if (chown(node->path, uid, gid) < 0 || chmod(node->path, mode) < 0)
		return -errno;
	return 0;
}

/*
 * The node's udev properties (udevnode.h): before the kernel makes the
 * node (its "add" uevent must find them) and whenever nodes.* change.
 */
static int udev_props(struct fe_node *node)
{
	struct frontend *fe = node->fe;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int err;

	if (!fe->opts.udev_dir)
		return 0;
	pthread_mutex_lock(&fe->lock);
	uid = fe->opts.uid;
	gid = fe->opts.gid;
	mode = fe->opts.mode;
	pthread_mutex_unlock(&fe->lock);
	err = udevnode_write(fe->opts.udev_dir, ud_name(node->dev), uid, gid, mode);
	if (err)
		node_err(node, "%s: cannot write its udev properties in %s: %s", node->path,
			 fe->opts.udev_dir, strerror(-err));
	return err;
}

/* the node is unpublished: udev leaves the name alone from now on */
static void udev_forget(struct fe_node *node)
{
	if (node->fe->opts.udev_dir)
		udevnode_remove(node->fe->opts.udev_dir, ud_name(node->dev));
}

static void c_init_done(void *userdata)
{
	struct fe_node *node = userdata;
	struct pollfd p = { .fd = fuse_session_fd(cn(node)->se), .events = POLLIN };
	struct stat st;
	int err = 0;

	/* the kernel refuses a taken name by aborting the connection */
	if (poll(&p, 1, 0) > 0 && (p.revents & POLLERR)) {
		set_init(node, -EEXIST);
		return;
	}
	if (stat(node->path, &st) < 0 || !S_ISCHR(st.st_mode)) {
		err = -ENOENT;
	} else {
		pthread_mutex_lock(&node->fe->lock);
		node->rdev = st.st_rdev;	/* is_ours, frontend_node_devt */
		pthread_mutex_unlock(&node->fe->lock);
		err = apply_perms(node);
	}
	set_init(node, err);
}

static void c_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct fe_node *node = fe_node_get(node_of(req));

	/* removed: only reachable through a leftover path */
	if (!node) {
		fuse_reply_err(req, ENODEV);
		return;
	}
	fe_do_open(node, req, fi);
}

static void c_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		    unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	fe_do_ioctl(node_of(req)->fe, req, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
}

static void c_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	fe_do_read(node_of(req)->fe, req, size, off, fi);
}

static void c_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	fe_do_write(node_of(req)->fe, req, buf, size, off, fi);
}

static void c_release(fuse_req_t req, struct fuse_file_info *fi)
{
	fe_do_release(node_of(req)->fe, req, fi);
}

static void c_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	fe_do_poll(node_of(req)->fe, req, fi, ph);
}

static const struct cuse_lowlevel_ops cuse_ops = {
	.init_done = c_init_done,
	.open = c_open,
	.read = c_read,
	.write = c_write,
	.flush = fe_do_flush,
	.release = c_release,
	.ioctl = c_ioctl,
	.poll = c_poll,
};

/* userdata: the session's, the node */
static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	return fe_rec_read(&cn(userdata)->rec, fd, buf, len);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	return fe_rec_writev(&cn(userdata)->rec, fd, iov, count);
}

static const struct fuse_custom_io cuse_io = {
	.read = io_read,
	.writev = io_writev,
};

static void *session_thread(void *arg)
{
	struct fe_node *node = arg;
	struct frontend *fe = node->fe;
	struct cuse_node *c = cn(node);
	int err = fe_session_loop(fe, c->se, c->stop_efd);
	bool idle, init_done;

	if (err == 1)
		return NULL;	/* frozen: thaw starts another */
	pthread_mutex_lock(&fe->lock);
	init_done = c->init_done;
	c->loop_ended = true;
	pthread_mutex_unlock(&fe->lock);
	if (!init_done)
		set_init(node, err ? err : -EEXIST);
	else if (err)
		node_err(node, "%s: CUSE connection lost: %s", node->path, strerror(-err));
	pthread_mutex_lock(&fe->lock);
	idle = c->idle_exit;
	pthread_mutex_unlock(&fe->lock);
	if (idle) {
		/* removed and its last file closed: the device goes now */
		fe_node_quiesce(node);	/* workers done replying through it */
		fuse_session_destroy(c->se);
		c->se = NULL;
		node_info(node, "%s: removed device: last file closed, CUSE device gone",
			  node->path);
	}
	pthread_mutex_lock(&fe->lock);
	c->thread_done = true;
	pthread_mutex_unlock(&fe->lock);
	return NULL;
}

bool frontend_cuse_available(void)
{
	if (access("/dev/cuse", F_OK) == 0)
		return true;
	if (system("modprobe cuse >/dev/null 2>&1") == -1)
		return false;
	for (int i = 0; i < 100 && access("/dev/cuse", F_OK) != 0; i++)
		usleep(10000);
	return access("/dev/cuse", F_OK) == 0;
}

static int name_taken(const char *name)
{
	char sys[300], dev[300];

	snprintf(sys, sizeof(sys), "/sys/class/cuse/%s", name);
	snprintf(dev, sizeof(dev), "/dev/%s", name);
	return access(sys, F_OK) == 0 || access(dev, F_OK) == 0;
}

/*
 * The node's libfuse session on the /dev/cuse file fd (consumed), with our
 * custom io; no thread yet.  -errno.
 */
static int new_session(struct fe_node *node, int fd)
{
	char devname[128];
	const char *dev_info_argv[] = { devname };
	char *argv[] = { (char *)"uacced", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct cuse_info ci = {
		.dev_info_argc = 1,
		.dev_info_argv = dev_info_argv,
		.flags = 0,	/* restricted ioctls, sizes from the command */
	};
	struct cuse_node *c = cn(node);
	int err;

	snprintf(devname, sizeof(devname), "DEVNAME=%s", ud_name(node->dev));
	c->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_efd < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	c->se = cuse_lowlevel_new(&args, &ci, &cuse_ops, node);
	fuse_opt_free_args(&args);	/* parsing made a copy; the session keeps none */
	if (!c->se) {
		close(fd);
		return -ENOMEM;
	}
	err = fuse_session_custom_io(c->se, &cuse_io, fd);
	if (err)
		close(fd);
	return err;
}

static int start_thread(struct fe_node *node)
{
	struct cuse_node *c = cn(node);
	int err;

	pthread_mutex_lock(&node->fe->lock);
	c->thread_done = false;
	pthread_mutex_unlock(&node->fe->lock);
	err = -pthread_create(&c->thread, NULL, session_thread, node);
	if (!err)
		c->thread_started = true;
	return err;
}

static int start_node(struct fe_node *node)
{
	const char *name = ud_name(node->dev);
	struct frontend *fe = node->fe;
	struct cuse_node *c = cn(node);
	struct timespec deadline;
	int fd, err;

	snprintf(node->path, sizeof(node->path), "/dev/%s", name);
	if (name_taken(name)) {
		node_err(node, "%s: the name is already taken by another device "
			 "(another uacced running?)", node->path);
		return -EEXIST;
	}
	err = udev_props(node);
	if (err)
		return err;
	fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		node_err(node, "%s: cannot open /dev/cuse: %s", node->path, strerror(errno));
		return err;
	}
	err = new_session(node, fd);
	if (err)
		return err;
	err = start_thread(node);
	if (err)
		return err;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += INIT_TIMEOUT_S;
	pthread_mutex_lock(&fe->lock);
	while (!c->init_done && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&cf(fe)->cond, &fe->lock, &deadline);
	err = c->init_done ? c->init_err : -ETIMEDOUT;
	pthread_mutex_unlock(&fe->lock);
	if (err == -EEXIST)
		node_err(node, "%s: the kernel refused the device name (taken by another CUSE "
			 "device?)", node->path);
	else if (err)
		node_err(node, "%s: CUSE registration failed: %s", node->path, strerror(-err));
	return err;
}

static void log_published(struct fe_node *node)
{
	struct frontend *fe = node->fe;

	node_info(node, "%s: published (CUSE %u:%u, mode %04o, uid %u, gid %u)", node->path,
		  major(node->rdev), minor(node->rdev), (unsigned)fe->opts.mode,
		  (unsigned)fe->opts.uid, (unsigned)fe->opts.gid);
}

static void cuse_stop(struct frontend *fe);

static int cuse_start(struct frontend *fe)
{
	int err;

	snprintf(fe->dev_dir, sizeof(fe->dev_dir), "/dev");
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);

		err = start_node(node);
		if (err) {
			cuse_stop(fe);
			return err;
		}
		log_published(node);
	}
	return 0;
}

static void signal_efd(int efd)
{
	uint64_t one = 1;

	if (efd >= 0 && write(efd, &one, sizeof(one)) < 0)
		log_warn("frontend: cannot signal a session thread: %m");
}

/*
 * End a node that is not (or no longer) listed as published: its thread
 * stops, its files are released (their clients get ENOTCONN from the
 * kernel once the session goes), the session is destroyed and the node
 * freed.  Main thread only.
 */
static void node_finish(struct fe_node *node)
{
	struct frontend *fe = node->fe;
	struct cuse_node *c = cn(node);

	/*
	 * Workers still replying through the session: first while its thread
	 * serves (a SHARE_SVAS lookup may be asking this very node), then once
	 * more for what came meanwhile (the queues are revoked by now: those
	 * fail at once, and no SHARE_SVAS lookup starts).
	 */
	fe_node_quiesce(node);
	signal_efd(c->stop_efd);
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	c->thread_started = false;
	fe_node_quiesce(node);
	fe_release_leftovers(fe, node);
	if (c->se)
		fuse_session_destroy(c->se);
	c->se = NULL;
	fe_node_free(node);
}

/* removed nodes whose thread ended after their last file: join and free */
static void reap(struct frontend *fe)
{
	for (;;) {
		struct fe_node *found = NULL;

		pthread_mutex_lock(&fe->lock);
		list_for_each(pos, &fe->nodes) {
			struct fe_node *n = container_of(pos, struct fe_node, link);

			if (n->removed && cn(n)->thread_done && n->refs == 0)
				found = n;
		}
		pthread_mutex_unlock(&fe->lock);
		if (!found)
			return;
		node_finish(found);
	}
}

/* a removed node still holding the name `name` (open files), or NULL */
static struct fe_node *lingering(struct frontend *fe, const char *name)
{
	struct fe_node *found = NULL;

	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *n = container_of(pos, struct fe_node, link);

		if (n->removed && strcmp(ud_name(n->dev), name) == 0)
			found = n;
	}
	pthread_mutex_unlock(&fe->lock);
	return found;
}

static int cuse_add_node(struct frontend *fe, struct fe_node *node)
{
	struct fe_node *old;
	int err;

	reap(fe);
	while ((old = lingering(fe, ud_name(node->dev)))) {
		node_warn(node, "/dev/%s: the name is needed again: ending the session of the "
			  "removed device of that name (its open files now get ENOTCONN)",
			  ud_name(node->dev));
		node_finish(old);
	}
	err = start_node(node);
	if (err) {
		struct cuse_node *c = cn(node);

		udev_forget(node);	/* our udev directory: no other daemon's */

		/* the caller frees the node (node_fini closes stop_efd) */
		signal_efd(c->stop_efd);
		if (c->thread_started)
			pthread_join(c->thread, NULL);
		c->thread_started = false;
		if (c->se)
			fuse_session_destroy(c->se);
		c->se = NULL;
		return err;
	}
	pthread_mutex_lock(&fe->lock);
	list_add_tail(&fe->nodes, &node->link);
	pthread_mutex_unlock(&fe->lock);
	log_published(node);
	return 0;
}

static void cuse_node_idle(struct fe_node *node)
{
	struct frontend *fe = node->fe;

	pthread_mutex_lock(&fe->lock);
	cn(node)->idle_exit = true;
	pthread_mutex_unlock(&fe->lock);
	signal_efd(cn(node)->stop_efd);
}

static void cuse_remove_node(struct frontend *fe, struct fe_node *node)
{
	struct cuse_node *c = cn(node);
	bool idle;
	int files;

	udev_forget(node);
	fe_node_put(node);	/* the table's reference */
	pthread_mutex_lock(&fe->lock);
	idle = c->idle_exit;
	files = node->refs;
	pthread_mutex_unlock(&fe->lock);
	if (idle) {
		/* no file open: the thread destroys the session, the node goes */
		pthread_join(c->thread, NULL);
		c->thread_started = false;
		node_info(node, "%s: removed", node->path);
		node_finish(node);
	} else {
		/*
		 * Open files keep the session (their queues answer ENODEV) until
		 * they are closed; the path goes now, so that nobody opens it.
		 */
		if (unlink(node->path) < 0 && errno != ENOENT)
			node_warn(node, "%s: cannot remove the node: %m", node->path);
		node_info(node, "%s: removed (%d file(s) still open: the CUSE device stays, "
			  "unreachable, until they are closed)", node->path, files);
	}
	reap(fe);
}

static void cuse_set_perms(struct frontend *fe)
{
	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);
		int err;

		if (node->removed)
			continue;
		pthread_mutex_unlock(&fe->lock);	/* main thread: the list stays */
		err = udev_props(node);
		err = apply_perms(node) ?: err;
		if (err)
			node_warn(node, "%s: cannot set owner/mode: %s", node->path,
				  strerror(-err));
		pthread_mutex_lock(&fe->lock);
	}
	pthread_mutex_unlock(&fe->lock);
}

static void cuse_stop(struct frontend *fe)
{
	signal_efd(fe->stop_efd);
	list_for_each(pos, &fe->nodes) {
		struct cuse_node *c = cn(container_of(pos, struct fe_node, link));

		if (c->thread_started)
			pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
	/* stop the workers (they notify through the sessions) before those go */
	fe_release_leftovers(fe, NULL);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);
		struct cuse_node *c = cn(node);

		/* closing the /dev/cuse fd removes the node */
		if (c->se)
			fuse_session_destroy(c->se);
		c->se = NULL;
		if (!node->removed)	/* a removed one's name may be another's now */
			udev_forget(node);
	}
}

static bool cuse_is_ours(struct frontend *fe, int fd, const struct fd_ident *id)
{
	bool ours = false;

	(void)fd;
	if (!S_ISCHR(id->mode))
		return false;
	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes)
		ours |= container_of(pos, struct fe_node, link)->rdev == id->rdev;
	pthread_mutex_unlock(&fe->lock);
	return ours;
}

static int cuse_init(struct frontend *fe)
{
	struct cuse_fe *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_cond_init(&c->cond, NULL);
	fe->priv = c;
	return 0;
}

static void cuse_fini(struct frontend *fe)
{
	struct cuse_fe *c = cf(fe);

	pthread_cond_destroy(&c->cond);
	free(c);
	fe->priv = NULL;
}

static int cuse_node_init(struct fe_node *node)
{
	struct cuse_node *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->stop_efd = -1;
	fe_rec_init(&c->rec, node->fe);
	node->priv = c;
	return 0;
}

static void cuse_node_fini(struct fe_node *node)
{
	struct cuse_node *c = cn(node);

	if (c->stop_efd >= 0)
		close(c->stop_efd);
	free(c);
	node->priv = NULL;
}

/* --- live restart -------------------------------------------------------------- */

static void cuse_freeze(struct frontend *fe)
{
	list_for_each(pos, &fe->nodes) {
		struct cuse_node *c = cn(container_of(pos, struct fe_node, link));

		if (c->thread_started)
			pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
}

static int cuse_thaw(struct frontend *fe)
{
	int err = 0;

	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);
		struct cuse_node *c = cn(node);
		bool ended;

		pthread_mutex_lock(&fe->lock);
		ended = c->loop_ended;
		pthread_mutex_unlock(&fe->lock);
		if (c->se && !c->thread_started && !ended)
			err = start_thread(node) ?: err;
	}
	return err;
}

static int cuse_export(struct frontend *fe, struct ho_state *s, json_object *o)
{
	json_object *nodes = json_object_new_array();
	int err = 0;

	json_object_object_add(o, "nodes", nodes);
	/* the lock: a crash journal snapshot exports while the frontend serves */
	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);
		struct cuse_node *c = cn(node);
		json_object *jn;
		int idx;

		if (node->removed || !c->se || c->loop_ended)
			continue;	/* not handed over: it ends with this process */
		if (!c->rec.init_opcode && !fe->frozen)
			continue;	/* live: not set up yet, the next snapshot has it */
		idx = fe_put_session_fd(s, &c->rec, fuse_session_fd(c->se));
		if (idx < 0) {
			err = idx;
			break;
		}
		jn = json_object_new_object();
		json_object_array_add(nodes, jn);
		json_object_object_add(jn, "name", json_object_new_string(ud_name(node->dev)));
		json_object_object_add(jn, "fd", json_object_new_int(idx));
		err = fe_rec_export(&c->rec, jn);
		if (err) {
			node_err(node, "%s: no CUSE_INIT recorded: cannot hand it over", node->path);
			break;
		}
	}
	pthread_mutex_unlock(&fe->lock);
	return err;
}


/* take over the session of jn: the kernel's CUSE_INIT replayed, no thread yet */
static int adopt_node(struct fe_node *node, struct ho_state *s, json_object *jn)
{
	struct cuse_node *c = cn(node);
	int fd, err;

	snprintf(node->path, sizeof(node->path), "/dev/%s", ud_name(node->dev));
	err = fe_rec_import(&c->rec, jn);
	if (err) {
		node_err(node, "%s: the state has no CUSE_INIT of it", node->path);
		return err;
	}
	fd = ho_take_fd(s, (int)ho_get_int(jn, "fd", -1));
	if (fd < 0) {
		node_err(node, "%s: the state has no session fd of it", node->path);
		return fd;
	}
	err = new_session(node, fd);
	if (!err)
		err = udev_props(node);
	/* runs c_init_done: the node's rdev, owner and mode */
	if (!err)
		err = fe_session_replay_init(c->se, &c->rec);
	if (!err) {
		pthread_mutex_lock(&node->fe->lock);
		err = c->init_done ? c->init_err : -EPROTO;
		pthread_mutex_unlock(&node->fe->lock);
	}
	if (err)
		node_err(node, "%s: cannot take over its CUSE session: %s", node->path,
			 strerror(-err));
	else
		node_info(node, "%s: taken over (CUSE %u:%u, no new device)", node->path,
			  major(node->rdev), minor(node->rdev));
	return err;
}

static int cuse_adopt(struct frontend *fe, struct ho_state *s, json_object *o)
{
	json_object *nodes = ho_get(o, "nodes");
	size_t n = nodes && json_object_is_type(nodes, json_type_array) ?
		   json_object_array_length(nodes) : 0;
	int err;

	snprintf(fe->dev_dir, sizeof(fe->dev_dir), "/dev");
	/* sessions of devices we no longer have end here: their name is free */
	for (size_t i = 0; i < n; i++) {
		json_object *jn = json_object_array_get_idx(nodes, i);
		const char *name = ho_get_str(jn, "name", "");
		bool ours = false;
		int fd;

		list_for_each(pos, &fe->nodes)
			ours |= strcmp(ud_name(container_of(pos, struct fe_node, link)->dev),
				       name) == 0;
		if (ours)
			continue;
		fd = ho_take_fd(s, (int)ho_get_int(jn, "fd", -1));
		if (fd >= 0)
			close(fd);
		log_warn("/dev/%s: the device is no longer configured: its CUSE device goes "
			 "(open files get ENODEV/ENOTCONN)", name);
	}
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);
		json_object *jn = fe_state_node(nodes, ud_name(node->dev));

		err = jn ? adopt_node(node, s, jn) : start_node(node);
		if (err) {
			cuse_stop(fe);
			return err;
		}
		if (!jn)
			log_published(node);
	}
	return 0;
}

static struct fuse_session *cuse_session(struct fe_node *node)
{
	return cn(node)->se;
}

static struct fe_session_rec *cuse_session_rec(struct fe_node *node)
{
	return &cn(node)->rec;
}

static int cuse_session_fd(struct fe_node *node)
{
	return cn(node)->se ? fuse_session_fd(cn(node)->se) : -1;
}

static void cuse_abandon(struct frontend *fe)
{
	list_for_each(pos, &fe->nodes) {
		struct cuse_node *c = cn(container_of(pos, struct fe_node, link));

		/* closes our fd of /dev/cuse only: the state's duplicate keeps the device */
		if (c->se)
			fuse_session_destroy(c->se);
		c->se = NULL;
	}
}

const struct fe_transport_ops fe_cuse_transport = {
	.init = cuse_init,
	.fini = cuse_fini,
	.node_init = cuse_node_init,
	.node_fini = cuse_node_fini,
	.start = cuse_start,
	.stop = cuse_stop,
	.add_node = cuse_add_node,
	.remove_node = cuse_remove_node,
	.node_idle = cuse_node_idle,
	.set_perms = cuse_set_perms,
	.is_ours = cuse_is_ours,
	.freeze = cuse_freeze,
	.thaw = cuse_thaw,
	.export = cuse_export,
	.adopt = cuse_adopt,
	.session_fd = cuse_session_fd,
	.session_rec = cuse_session_rec,
	.session = cuse_session,
	.abandon = cuse_abandon,
};
