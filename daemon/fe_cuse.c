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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "core.h"
#include "fe_internal.h"
#include "log.h"

#define INIT_TIMEOUT_S 10

static struct fe_node *node_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void set_init(struct fe_node *node, int err)
{
	struct frontend *fe = node->fe;

	pthread_mutex_lock(&fe->lock);
	if (!node->init_done) {
		node->init_done = true;
		node->init_err = err;
	}
	pthread_cond_broadcast(&fe->cond);
	pthread_mutex_unlock(&fe->lock);
}

static void c_init_done(void *userdata)
{
	struct fe_node *node = userdata;
	struct pollfd p = { .fd = fuse_session_fd(node->se), .events = POLLIN };
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
		node->rdev = st.st_rdev;
		if (chown(node->path, node->fe->opts.uid, node->fe->opts.gid) < 0 ||
		    chmod(node->path, node->fe->opts.mode) < 0)
			err = -errno;
	}
	set_init(node, err);
}

static void c_open(fuse_req_t req, struct fuse_file_info *fi)
{
	fe_do_open(node_of(req), req, fi);
}

static void c_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		    unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	fe_do_ioctl(req, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
}

static const struct cuse_lowlevel_ops cuse_ops = {
	.init_done = c_init_done,
	.open = c_open,
	.read = fe_do_read,
	.write = fe_do_write,
	.flush = fe_do_flush,
	.release = fe_do_release,
	.ioctl = c_ioctl,
	.poll = fe_do_poll,
};

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	return read(fd, buf, len);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	return writev(fd, iov, count);
}

static const struct fuse_custom_io cuse_io = {
	.read = io_read,
	.writev = io_writev,
};

static void *session_thread(void *arg)
{
	struct fe_node *node = arg;
	int err = fe_session_loop(node->fe, node->se);

	if (!node->init_done)
		set_init(node, err ? err : -EEXIST);
	else if (err)
		log_err("%s: CUSE connection lost: %s", node->path, strerror(-err));
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

static int start_node(struct fe_node *node)
{
	const char *name = udev_name(node->dev);
	char devname[128];
	const char *dev_info_argv[] = { devname };
	char *argv[] = { (char *)"uacced", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct cuse_info ci = {
		.dev_info_argc = 1,
		.dev_info_argv = dev_info_argv,
		.flags = 0,	/* restricted ioctls, sizes from the command */
	};
	struct frontend *fe = node->fe;
	struct timespec deadline;
	int fd, err;

	snprintf(node->path, sizeof(node->path), "/dev/%s", name);
	if (name_taken(name)) {
		log_err("%s: the name is already taken by another device "
			"(another uacced running?)", node->path);
		return -EEXIST;
	}
	snprintf(devname, sizeof(devname), "DEVNAME=%s", name);
	node->se = cuse_lowlevel_new(&args, &ci, &cuse_ops, node);
	fuse_opt_free_args(&args);	/* parsing made a copy; the session keeps none */
	if (!node->se)
		return -ENOMEM;
	fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_err("%s: cannot open /dev/cuse: %s", node->path, strerror(errno));
		return err;
	}
	err = fuse_session_custom_io(node->se, &cuse_io, fd);
	if (err) {
		close(fd);
		return err;
	}
	err = -pthread_create(&node->thread, NULL, session_thread, node);
	if (err)
		return err;
	node->thread_started = true;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += INIT_TIMEOUT_S;
	pthread_mutex_lock(&fe->lock);
	while (!node->init_done && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&fe->cond, &fe->lock, &deadline);
	err = node->init_done ? node->init_err : -ETIMEDOUT;
	pthread_mutex_unlock(&fe->lock);
	if (err == -EEXIST)
		log_err("%s: the kernel refused the device name (taken by another CUSE "
			"device?)", node->path);
	else if (err)
		log_err("%s: CUSE registration failed: %s", node->path, strerror(-err));
	return err;
}

int fe_cuse_start(struct frontend *fe)
{
	int err;

	snprintf(fe->dev_dir, sizeof(fe->dev_dir), "/dev");
	for (int i = 0; i < fe->n; i++) {
		err = start_node(&fe->nodes[i]);
		if (err) {
			fe_cuse_stop(fe);
			return err;
		}
		log_info("%s: published (CUSE %u:%u, mode %04o, gid %u)", fe->nodes[i].path,
			 major(fe->nodes[i].rdev), minor(fe->nodes[i].rdev),
			 (unsigned)fe->opts.mode, (unsigned)fe->opts.gid);
	}
	return 0;
}

void fe_cuse_stop(struct frontend *fe)
{
	uint64_t one = 1;

	if (write(fe->stop_efd, &one, sizeof(one)) < 0)
		log_warn("frontend: cannot signal session threads: %m");
	for (int i = 0; i < fe->n; i++) {
		struct fe_node *node = &fe->nodes[i];

		if (node->thread_started)
			pthread_join(node->thread, NULL);
		node->thread_started = false;
	}
	/* stop the workers (they notify through the sessions) before those go */
	fe_release_leftovers(fe);
	for (int i = 0; i < fe->n; i++) {
		/* closing the /dev/cuse fd removes the node */
		if (fe->nodes[i].se)
			fuse_session_destroy(fe->nodes[i].se);
		fe->nodes[i].se = NULL;
	}
}
