/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fe_fuse.c - the fallback for kernels without CUSE: a FUSE file system
 * mounted at --fuse-dir whose files carry the device names.  open, ioctl,
 * poll and release reach the same handlers as the CUSE nodes; the kernel
 * checks the node's mode, owner and group (default_permissions).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "fe_internal.h"
#include "handover.h"
#include "log.h"

#define ROOT_INO 1
#define MAX_INVAL 256	/* nodes whose attributes are invalidated at once */

/* the frontend's FUSE state (fe->priv): one session serves every node */
struct fuse_fe {
	struct fuse_session *se;
	pthread_t thread;
	bool thread_started;
	bool mounted;
	dev_t st_dev;			/* of the mount (is_ours) */
	ino_t next_ino;			/* fe->lock */
	struct timespec born;		/* the root's times: the frontend's start */
	struct fe_session_rec rec;	/* what the custom io saw (live restart) */
	/*
	 * we mounted (as root: our own mount(2), see own_mount) or took the
	 * mount over from a predecessor: libfuse knows no mount point,
	 * fuse_stop unmounts dev_dir itself
	 */
	bool own_mount;
};

/* a node's FUSE state (fe_node.priv) */
struct fuse_node {
	ino_t ino;			/* never reused */
	struct timespec born;		/* its times (a, m, c): when it was published */
};

static struct fuse_fe *ff(struct frontend *fe)
{
	return fe->priv;
}

static ino_t ino_of(const struct fe_node *node)
{
	return ((const struct fuse_node *)node->priv)->ino;
}

static struct frontend *fe_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* a published node (any node with `any`), with fe->lock held */
static struct fe_node *find_locked(struct frontend *fe, fuse_ino_t ino, bool any)
{
	list_for_each(pos, &fe->nodes) {
		struct fe_node *n = container_of(pos, struct fe_node, link);

		if (ino_of(n) == ino && (any || !n->removed))
			return n;
	}
	return NULL;
}

/* a published node, with a reference */
static struct fe_node *node_by_ino(struct frontend *fe, fuse_ino_t ino)
{
	struct fe_node *n;

	pthread_mutex_lock(&fe->lock);
	n = find_locked(fe, ino, false);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&fe->lock);
	return n;
}

static void set_times(struct stat *st, struct timespec t)
{
	st->st_atim = t;
	st->st_mtim = t;
	st->st_ctim = t;
}

static void fill_attr(struct frontend *fe, fuse_ino_t ino, struct stat *st)
{
	struct fe_node *n;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == ROOT_INO) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		set_times(st, ff(fe)->born);
		return;
	}
	pthread_mutex_lock(&fe->lock);
	n = find_locked(fe, ino, true);
	set_times(st, n ? ((const struct fuse_node *)n->priv)->born : ff(fe)->born);
	st->st_mode = S_IFREG | (fe->opts.mode & 07777);
	st->st_uid = fe->opts.uid;
	st->st_gid = fe->opts.gid;
	pthread_mutex_unlock(&fe->lock);
	st->st_nlink = 1;
}

static void f_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct frontend *fe = fe_of(req);
	struct fuse_entry_param e = { 0 };

	if (parent != ROOT_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *n = container_of(pos, struct fe_node, link);

		if (!n->removed && strcmp(ud_name(n->dev), name) == 0)
			e.ino = ino_of(n);
	}
	pthread_mutex_unlock(&fe->lock);
	if (!e.ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.attr_timeout = 1.0;
	e.entry_timeout = 1.0;
	fill_attr(fe, e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void f_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct frontend *fe = fe_of(req);
	struct fe_node *n = NULL;
	struct stat st;

	(void)fi;
	if (ino != ROOT_INO && !(n = node_by_ino(fe, ino))) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n)
		fe_node_put(n);
	fill_attr(fe, ino, &st);
	fuse_reply_attr(req, &st, 1.0);
}

static bool add_entry(fuse_req_t req, char *buf, size_t size, size_t *used, const char *name,
		      fuse_ino_t ino, mode_t type, off_t next)
{
	struct stat st = { .st_ino = ino, .st_mode = type };
	size_t len = fuse_add_direntry(req, buf + *used, size - *used, name, &st, next);

	if (len > size - *used)
		return false;
	*used += len;
	return true;
}

static void f_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct frontend *fe = fe_of(req);
	char *buf;
	size_t used = 0;

	(void)fi;
	if (ino != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = calloc(1, size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/*
	 * The offset of an entry is the cookie of the next one: "." 1, ".." 2,
	 * a node its inode number + 1 (inode numbers grow, start at 2 and are
	 * never reused, so nodes added or removed meanwhile do not shift the
	 * others).
	 */
	if (off < 1 && !add_entry(req, buf, size, &used, ".", ROOT_INO, S_IFDIR, 1))
		goto out;
	if (off < 2 && !add_entry(req, buf, size, &used, "..", ROOT_INO, S_IFDIR, 2))
		goto out;
	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *n = container_of(pos, struct fe_node, link);

		if (n->removed || (off_t)ino_of(n) < off)
			continue;
		if (!add_entry(req, buf, size, &used, ud_name(n->dev), ino_of(n), S_IFREG,
			       (off_t)ino_of(n) + 1))
			break;
	}
	pthread_mutex_unlock(&fe->lock);
out:
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void f_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fe_node *node = node_by_ino(fe_of(req), ino);

	if (!node) {
		fuse_reply_err(req, ino == ROOT_INO ? EISDIR : ENOENT);
		return;
	}
	fe_do_open(node, req, fi);
}

static void f_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fe_do_release(fe_of(req), req, fi);
}

static void f_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		    struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		    size_t in_bufsz, size_t out_bufsz)
{
	(void)ino;
	fe_do_ioctl(fe_of(req), req, (int)cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
}

static void f_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		   struct fuse_pollhandle *ph)
{
	(void)ino;
	fe_do_poll(fe_of(req), req, fi, ph);
}

static void f_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	(void)ino;
	fe_do_read(fe_of(req), req, size, off, fi);
}

static void f_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	fe_do_write(fe_of(req), req, buf, size, off, fi);
}

static void f_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fe_do_flush(req, fi);
}

static const struct fuse_lowlevel_ops fuse_ops = {
	.lookup = f_lookup,
	.getattr = f_getattr,
	.readdir = f_readdir,
	.open = f_open,
	.release = f_release,
	.ioctl = f_ioctl,
	.poll = f_poll,
	.read = f_read,
	.write = f_write,
	.flush = f_flush,
};

/* userdata: the session's, the frontend */
static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	return fe_rec_read(&ff(userdata)->rec, fd, buf, len);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	return fe_rec_writev(&ff(userdata)->rec, fd, iov, count);
}

static const struct fuse_custom_io fuse_io = {
	.read = io_read,
	.writev = io_writev,
};

static void *session_thread(void *arg)
{
	struct frontend *fe = arg;
	int err = fe_session_loop(fe, ff(fe)->se, -1);

	if (err == 1)
		return NULL;	/* frozen: thaw starts another */
	if (err)
		log_err("%s: FUSE connection lost: %s", fe->dev_dir, strerror(-err));
	return NULL;
}

/*
 * Mounts of ours left at dir by a daemon that died: detach them (they may
 * be stacked).  stat() is no test: the kernel answers it from its attribute
 * cache for a while after the daemon died; a forced statx() reaches the
 * (dead) connection.  A live mount means another daemon serves dir.
 */
static int clear_stale_mounts(const char *dir)
{
	for (int i = 0; i < 16; i++) {
		struct statx stx;
		char line[1024];
		bool found = false;
		FILE *f = fopen("/proc/self/mountinfo", "re");

		if (!f)
			return 0;
		while (!found && fgets(line, sizeof(line), f)) {
			char mnt[512], fstype[64];

			/* id parent maj:min root mountpoint opts [optional...] - fstype ... */
			if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1)
				continue;
			char *dash = strstr(line, " - ");
			if (!dash || sscanf(dash + 3, "%63s", fstype) != 1)
				continue;
			found = strcmp(mnt, dir) == 0 && strncmp(fstype, "fuse", 4) == 0;
		}
		fclose(f);
		if (!found)
			return 0;
		if (statx(AT_FDCWD, dir, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &stx) == 0) {
			log_err("%s: a live FUSE file system is mounted here (another uacced?)", dir);
			return -EBUSY;
		}
		log_warn("%s: removing a stale mount left by a previous daemon (%m)", dir);
		if (umount2(dir, MNT_DETACH) < 0)
			return -errno;
	}
	return -EBUSY;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[256];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void set_path(struct frontend *fe, struct fe_node *node)
{
	snprintf(node->path, sizeof(node->path), "%s/%s", fe->dev_dir, ud_name(node->dev));
}

static void log_published(struct frontend *fe, struct fe_node *node)
{
	node_info(node, "%s: published (FUSE fallback, mode %04o, uid %u, gid %u)", node->path,
		  (unsigned)fe->opts.mode, (unsigned)fe->opts.uid, (unsigned)fe->opts.gid);
}

static void fuse_stop(struct frontend *fe);

static struct fuse_session *new_session(struct frontend *fe)
{
	char *argv[] = { (char *)"uacced", (char *)"-o",
			 (char *)"allow_other,default_permissions,fsname=uacced,subtype=uacce",
			 NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse_session *se = fuse_session_new(&args, &fuse_ops, sizeof(fuse_ops), fe);

	fuse_opt_free_args(&args);
	return se;
}

static int start_thread(struct frontend *fe)
{
	struct fuse_fe *f = ff(fe);
	int err = -pthread_create(&f->thread, NULL, session_thread, fe);

	if (!err)
		f->thread_started = true;
	return err;
}

/*
 * Mount dev_dir on a /dev/fuse fd of our own (the options libfuse would
 * pass), so that the connection is a plain fd a successor can take over
 * and that fuse_stop unmounts the same way whether we mounted or adopted.
 */
static int own_mount(struct frontend *fe)
{
	struct fuse_fe *f = ff(fe);
	char opts[256];
	int fd, err;

	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions",
		 fd);
	if (mount("uacced", fe->dev_dir, "fuse.uacce", MS_NOSUID | MS_NODEV, opts) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	f->mounted = true;
	f->own_mount = true;
	err = fuse_session_custom_io(f->se, &fuse_io, fd);
	if (err)
		close(fd);	/* fuse_stop unmounts */
	return err;
}

static int fuse_start(struct frontend *fe)
{
	struct fuse_fe *f = ff(fe);
	struct stat st;
	int err;

	snprintf(fe->dev_dir, sizeof(fe->dev_dir), "%s", fe->opts.fuse_dir);
	list_for_each(pos, &fe->nodes)
		set_path(fe, container_of(pos, struct fe_node, link));
	err = clear_stale_mounts(fe->dev_dir);
	if (err)
		return err;
	err = mkdir_p(fe->dev_dir, 0755);
	if (err) {
		log_err("%s: cannot create the mount point: %s", fe->dev_dir, strerror(-err));
		return err;
	}
	f->se = new_session(fe);
	if (!f->se)
		return -EINVAL;
	if (geteuid() == 0) {
		err = own_mount(fe);
	} else if (fuse_session_mount(f->se, fe->dev_dir) != 0) {
		/* not root: libfuse's fusermount3, which libfuse unmounts too */
		err = -EIO;
	} else {
		f->mounted = true;
		/* our io on the /dev/fuse fd the mount opened */
		err = fuse_session_custom_io(f->se, &fuse_io, fuse_session_fd(f->se));
	}
	if (err && !f->mounted) {
		log_err("%s: FUSE mount failed: %s", fe->dev_dir, strerror(-err));
		fuse_session_destroy(f->se);
		f->se = NULL;
		return err;
	}
	if (!err)
		err = start_thread(fe);
	if (err) {
		fuse_stop(fe);
		return err;
	}
	/* answered by the session thread we just started */
	if (stat(fe->dev_dir, &st) < 0) {
		err = -errno;
		log_err("%s: the new mount does not answer: %m", fe->dev_dir);
		fuse_stop(fe);
		return err;
	}
	f->st_dev = st.st_dev;
	list_for_each(pos, &fe->nodes)
		log_published(fe, container_of(pos, struct fe_node, link));
	return 0;
}

static int fuse_add_node(struct frontend *fe, struct fe_node *node)
{
	set_path(fe, node);
	pthread_mutex_lock(&fe->lock);
	list_add_tail(&fe->nodes, &node->link);
	pthread_mutex_unlock(&fe->lock);
	/* lookups of unknown names are not cached (no negative entries): visible now */
	log_published(fe, node);
	return 0;
}

static void fuse_remove_node(struct frontend *fe, struct fe_node *node)
{
	const char *name = ud_name(node->dev);
	int err;

	/* the kernel may hold the name for entry_timeout: drop it now */
	err = fuse_lowlevel_notify_inval_entry(ff(fe)->se, ROOT_INO, name, strlen(name));
	if (err && err != -ENOENT)
		node_debug(node, "%s: entry invalidation: %s", node->path, strerror(-err));
	node_info(node, "%s: removed", node->path);
	fe_node_put(node);	/* the table's reference: freed with its last file */
}

static void fuse_set_perms(struct frontend *fe)
{
	fuse_ino_t inos[MAX_INVAL];
	int n = 0;

	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);

		if (!node->removed && n < MAX_INVAL)
			inos[n++] = ino_of(node);
	}
	pthread_mutex_unlock(&fe->lock);
	/* cached attributes (attr_timeout) would show the old ones for a while */
	for (int i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_inode(ff(fe)->se, inos[i], -1, 0);
}

/* no fstat: that would be a request to the FUSE server, maybe ours */
static bool fuse_is_ours(struct frontend *fe, int fd, const struct fd_ident *id)
{
	bool ours;

	(void)fd;
	if (!ff(fe)->mounted || id->dev != ff(fe)->st_dev)
		return false;
	pthread_mutex_lock(&fe->lock);
	ours = find_locked(fe, id->ino, true) != NULL;	/* removed ones too */
	pthread_mutex_unlock(&fe->lock);
	return ours;
}

static void fuse_stop(struct frontend *fe)
{
	struct fuse_fe *f = ff(fe);
	uint64_t one = 1;

	if (write(fe->stop_efd, &one, sizeof(one)) < 0)
		log_warn("frontend: cannot signal the session thread: %m");
	if (f->thread_started)
		pthread_join(f->thread, NULL);
	f->thread_started = false;
	/* stop the workers (they notify through the session) before it goes */
	fe_release_leftovers(fe, NULL);
	if (f->se) {
		if (f->mounted && !f->own_mount)
			fuse_session_unmount(f->se);
		fuse_session_destroy(f->se);
		f->se = NULL;
	}
	/*
	 * our own or an adopted mount, by its path; our fd is closed first (as
	 * libfuse does), so that the unmount cannot wait for us
	 */
	if (f->mounted && f->own_mount && umount2(fe->dev_dir, MNT_DETACH) < 0)
		log_warn("%s: cannot unmount: %m", fe->dev_dir);
	f->mounted = false;
}

/* removed, its last file closed: nothing holds the node any more */
static void fuse_node_idle(struct fe_node *node)
{
	fe_node_free(node);
}

static int fuse_init(struct frontend *fe)
{
	struct fuse_fe *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->next_ino = ROOT_INO + 1;
	fe_rec_init(&f->rec, fe);
	clock_gettime(CLOCK_REALTIME, &f->born);
	fe->priv = f;
	return 0;
}

static void fuse_fini(struct frontend *fe)
{
	free(fe->priv);
	fe->priv = NULL;
}

static int fuse_node_init(struct fe_node *node)
{
	struct frontend *fe = node->fe;
	struct fuse_node *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	pthread_mutex_lock(&fe->lock);
	n->ino = ff(fe)->next_ino++;
	pthread_mutex_unlock(&fe->lock);
	clock_gettime(CLOCK_REALTIME, &n->born);
	node->priv = n;
	return 0;
}

static void fuse_node_fini(struct fe_node *node)
{
	free(node->priv);
	node->priv = NULL;
}

/* --- live restart -------------------------------------------------------------- */

static void fuse_freeze(struct frontend *fe)
{
	struct fuse_fe *f = ff(fe);

	if (f->thread_started)
		pthread_join(f->thread, NULL);
	f->thread_started = false;
}

static int fuse_thaw(struct frontend *fe)
{
	struct fuse_fe *f = ff(fe);
	struct stat st;
	int err;

	if (!f->se || f->thread_started)
		return 0;
	err = start_thread(fe);
	if (err)
		return err;
	if (!f->st_dev) {
		/* answered by the thread just started */
		if (stat(fe->dev_dir, &st) < 0) {
			err = -errno;
			log_err("%s: the mount taken over does not answer: %m", fe->dev_dir);
			return err;
		}
		f->st_dev = st.st_dev;
	}
	return 0;
}

static void put_time(json_object *o, const char *s_key, const char *ns_key, struct timespec t)
{
	json_object_object_add(o, s_key, json_object_new_int64(t.tv_sec));
	json_object_object_add(o, ns_key, json_object_new_int64(t.tv_nsec));
}

static struct timespec get_time(json_object *o, const char *s_key, const char *ns_key,
				struct timespec dflt)
{
	return (struct timespec){ .tv_sec = ho_get_int(o, s_key, dflt.tv_sec),
				  .tv_nsec = ho_get_int(o, ns_key, dflt.tv_nsec) };
}

static int fuse_export(struct frontend *fe, struct ho_state *s, json_object *o)
{
	struct fuse_fe *f = ff(fe);
	json_object *nodes = json_object_new_array();
	int idx, err;

	if (!f->se || !f->mounted)
		return -ENOTCONN;
	json_object_object_add(o, "nodes", nodes);
	json_object_object_add(o, "mount", json_object_new_string(fe->dev_dir));
	put_time(o, "born_s", "born_ns", f->born);
	err = fe_rec_export(&f->rec, o);
	if (err) {
		log_err("%s: no FUSE_INIT recorded: cannot hand the mount over", fe->dev_dir);
		return err;
	}
	idx = fe_put_session_fd(s, &f->rec, fuse_session_fd(f->se));
	if (idx < 0)
		return idx;
	json_object_object_add(o, "fd", json_object_new_int(idx));
	/* the lock: a crash journal snapshot exports while the frontend serves */
	pthread_mutex_lock(&fe->lock);
	json_object_object_add(o, "next_ino", json_object_new_int64((int64_t)f->next_ino));
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);
		const struct fuse_node *fn = node->priv;
		json_object *jn;

		if (node->removed)
			continue;
		jn = json_object_new_object();
		json_object_array_add(nodes, jn);
		json_object_object_add(jn, "name", json_object_new_string(ud_name(node->dev)));
		json_object_object_add(jn, "ino", json_object_new_int64((int64_t)fn->ino));
		put_time(jn, "born_s", "born_ns", fn->born);
	}
	pthread_mutex_unlock(&fe->lock);
	return 0;
}


/*
 * The predecessor's nodes whose device we lack: the kernel may hold their
 * names (entry_timeout): drop them now (their open files answer ENODEV:
 * their fh is unknown here).
 */
static void forget_gone(struct frontend *fe, json_object *nodes)
{
	size_t n = nodes && json_object_is_type(nodes, json_type_array) ?
		   json_object_array_length(nodes) : 0;

	for (size_t i = 0; i < n; i++) {
		const char *name = ho_get_str(json_object_array_get_idx(nodes, i), "name", "");
		bool ours = false;
		int err;

		list_for_each(pos, &fe->nodes)
			ours |= strcmp(ud_name(container_of(pos, struct fe_node, link)->dev),
				       name) == 0;
		if (ours || !*name)
			continue;
		log_warn("%s/%s: the device is no longer configured: the node goes (open files "
			 "get ENODEV)", fe->dev_dir, name);
		err = fuse_lowlevel_notify_inval_entry(ff(fe)->se, ROOT_INO, name, strlen(name));
		if (err && err != -ENOENT)
			log_debug("%s/%s: entry invalidation: %s", fe->dev_dir, name, strerror(-err));
	}
}

static int fuse_adopt(struct frontend *fe, struct ho_state *s, json_object *o)
{
	struct fuse_fe *f = ff(fe);
	json_object *nodes = ho_get(o, "nodes");
	const char *mnt = ho_get_str(o, "mount", NULL);
	int fd, err;

	if (!mnt || snprintf(fe->dev_dir, sizeof(fe->dev_dir), "%s", mnt) >=
		    (int)sizeof(fe->dev_dir)) {
		log_err("live restart: the state has no FUSE mount point");
		return -EINVAL;
	}
	if (fe->opts.fuse_dir && strcmp(fe->opts.fuse_dir, mnt) != 0)
		log_warn("%s: the FUSE mount taken over stays there (--fuse-dir %s takes effect "
			 "at the next start)", mnt, fe->opts.fuse_dir);
	err = fe_rec_import(&f->rec, o);
	if (err) {
		log_err("%s: the state has no FUSE_INIT of the mount", mnt);
		return err;
	}
	/* inode numbers: the predecessor's for its nodes, new ones above its */
	f->next_ino = (ino_t)ho_get_int(o, "next_ino", ROOT_INO + 1);
	f->born = get_time(o, "born_s", "born_ns", f->born);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);
		struct fuse_node *fn = node->priv;
		json_object *jn = fe_state_node(nodes, ud_name(node->dev));

		if (jn) {
			fn->ino = (ino_t)ho_get_int(jn, "ino", 0);
			fn->born = get_time(jn, "born_s", "born_ns", fn->born);
		}
		if (!jn || fn->ino <= ROOT_INO)
			fn->ino = f->next_ino++;
		set_path(fe, node);
	}
	fd = ho_take_fd(s, (int)ho_get_int(o, "fd", -1));
	if (fd < 0) {
		log_err("%s: the state has no /dev/fuse fd of the mount", mnt);
		return fd;
	}
	f->se = new_session(fe);
	if (!f->se) {
		close(fd);
		return -EINVAL;
	}
	err = fuse_session_custom_io(f->se, &fuse_io, fd);
	if (err) {
		close(fd);
		fuse_session_destroy(f->se);
		f->se = NULL;
		return err;
	}
	f->mounted = true;
	f->own_mount = true;
	err = fe_session_replay_init(f->se, &f->rec);
	if (err) {
		log_err("%s: cannot take the FUSE session over: %s", mnt, strerror(-err));
		fuse_stop(fe);
		return err;
	}
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);

		if (fe_state_node(nodes, ud_name(node->dev)))
			node_info(node, "%s: taken over (FUSE fallback, no new mount)", node->path);
		else
			log_published(fe, node);
	}
	forget_gone(fe, nodes);
	return 0;
}

static struct fuse_session *fuse_session_of(struct fe_node *node)
{
	return ff(node->fe)->se;
}

static struct fe_session_rec *fuse_session_rec_of(struct fe_node *node)
{
	return &ff(node->fe)->rec;
}

static int fuse_session_fd_of(struct fe_node *node)
{
	struct fuse_fe *f = ff(node->fe);

	return f->se ? fuse_session_fd(f->se) : -1;
}

static void fuse_abandon(struct frontend *fe)
{
	struct fuse_fe *f = ff(fe);

	/* closes our /dev/fuse fd only: the state's duplicate keeps the mount served */
	if (f->se)
		fuse_session_destroy(f->se);
	f->se = NULL;
	f->mounted = false;
}

const struct fe_transport_ops fe_fuse_transport = {
	.init = fuse_init,
	.fini = fuse_fini,
	.node_init = fuse_node_init,
	.node_fini = fuse_node_fini,
	.start = fuse_start,
	.stop = fuse_stop,
	.add_node = fuse_add_node,
	.remove_node = fuse_remove_node,
	.node_idle = fuse_node_idle,
	.set_perms = fuse_set_perms,
	.is_ours = fuse_is_ours,
	.freeze = fuse_freeze,
	.thaw = fuse_thaw,
	.export = fuse_export,
	.adopt = fuse_adopt,
	.session_fd = fuse_session_fd_of,
	.session_rec = fuse_session_rec_of,
	.session = fuse_session_of,
	.abandon = fuse_abandon,
};
