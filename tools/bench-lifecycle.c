/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-lifecycle.c - queue lifecycles per second (bench-lifecycle.h).
 *
 * Each of o->threads threads runs lifecycles back to back for o->seconds;
 * the figure is the total over the time from the common start to the last
 * thread's end.  The baseline serves one file itself, with one session
 * thread as the daemon's FUSE fallback does (CUSE: one per device): its
 * open and release are answered at once and it has nothing else.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include <cuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <uacce/libuacce.h>
#include <uacce/uacce.h>

#include "bench-lifecycle.h"
#include "bench-util.h"

#define NULL_INO	2
#define MAX_THREADS	64
#define INIT_WAIT_MS	5000

int bench_lifecycle_once(const char *dev, bool map)
{
	struct uacce_q *q;
	int err = uacce_queue_open(dev, &q);

	if (err)
		return err;
	err = uacce_queue_start(q);
	for (int t = 0; map && t < UACCE_QFRT_NR && !err; t++) {
		uint64_t off, size;
		void *addr;

		if (uacce_region_info(q, t, &off, &size) < 0 || t == UACCE_QFRT_DKO)
			continue;
		if (t == UACCE_QFRT_SS) {
			if (uacce_queue_flags(q) & UACCE_DEV_SVA)
				continue;
			size = 65536;
		}
		err = uacce_map_region(q, t, size, &addr);
	}
	uacce_queue_close(q);
	return err;
}

/* --- the loop, on N threads ------------------------------------------------- */

enum what { LC_QUEUE, LC_QUEUE_MAPPED, LC_NULL };

struct run {
	enum what what;
	const char *target;	/* device name, or the null file's path */
	uint64_t end_ns;
	pthread_barrier_t go;
};

struct worker {
	pthread_t thread;
	struct run *run;
	uint64_t n, done_ns;
	int err;
};

static int null_once(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void *loop(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;

	pthread_barrier_wait(&r->go);
	while (!w->err && bench_now_ns() < r->end_ns) {
		w->err = r->what == LC_NULL ? null_once(r->target) :
			 bench_lifecycle_once(r->target, r->what == LC_QUEUE_MAPPED);
		if (!w->err)
			w->n++;
	}
	w->done_ns = bench_now_ns();
	return NULL;
}

/* per second over all threads; 0 and *err on the first error */
static double run_threads(enum what what, const char *target, unsigned threads, double seconds,
			  int *err)
{
	struct worker w[MAX_THREADS] = { 0 };
	struct run r = { .what = what, .target = target };
	uint64_t t0 = 0, last = 0, n = 0;
	unsigned started = 0;

	*err = 0;
	/* a warm-up lifecycle: the first one reads the device's attributes cold */
	*err = what == LC_NULL ? null_once(target) :
	       bench_lifecycle_once(target, what == LC_QUEUE_MAPPED);
	if (*err)
		return 0;
	pthread_barrier_init(&r.go, NULL, threads + 1);
	for (unsigned i = 0; i < threads; i++) {
		w[i].run = &r;
		if (pthread_create(&w[i].thread, NULL, loop, &w[i]) != 0)
			break;
		started++;
	}
	if (started < threads) {
		/* the barrier needs every party: let the ones started run a moment */
		*err = -EAGAIN;
		r.end_ns = 0;
		for (unsigned i = started; i < threads + 1; i++)
			pthread_barrier_wait(&r.go);
	} else {
		t0 = bench_now_ns();
		r.end_ns = t0 + (uint64_t)(seconds * 1e9);
		pthread_barrier_wait(&r.go);
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		if (!*err && w[i].err)
			*err = w[i].err;
		n += w[i].n;
		if (w[i].done_ns > last)
			last = w[i].done_ns;
	}
	pthread_barrier_destroy(&r.go);
	if (*err || last <= t0)
		return 0;
	return (double)n / ((double)(last - t0) / 1e9);
}

/* --- the null file ------------------------------------------------------------ */

struct null_srv {
	struct fuse_session *se;
	pthread_t thread;
	bool cuse;
	char dir[64];		/* FUSE: the mount point */
	char path[128];		/* the file */
	int stop_efd;		/* the session thread's end */
	bool started;		/* its thread runs */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int init;		/* CUSE: 0 waiting, 1 up, -errno failed */
};

static void n_open(fuse_req_t req, struct fuse_file_info *fi)
{
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fi->noflush = 1;	/* as the daemon's nodes */
	fuse_reply_open(req, fi);
}

static void n_release(fuse_req_t req, struct fuse_file_info *fi)
{
	(void)fi;
	fuse_reply_err(req, 0);
}

static void f_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != NULL_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	n_open(req, fi);
}

static void f_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	n_release(req, fi);
}

static void fill(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0666;
	st->st_nlink = ino == FUSE_ROOT_ID ? 2 : 1;
}

static void f_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { .ino = NULL_INO, .attr_timeout = 1.0,
				      .entry_timeout = 1.0 };

	if (parent != FUSE_ROOT_ID || strcmp(name, "null") != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(NULL_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void f_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != NULL_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(ino, &st);
	fuse_reply_attr(req, &st, 1.0);
}

static const struct fuse_lowlevel_ops null_fuse_ops = {
	.lookup = f_lookup,
	.getattr = f_getattr,
	.open = f_open,
	.release = f_release,
};

static void set_init(struct null_srv *s, int v)
{
	pthread_mutex_lock(&s->lock);
	if (!s->init)
		s->init = v;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void c_init_done(void *userdata)
{
	struct null_srv *s = userdata;
	struct stat st;

	set_init(s, stat(s->path, &st) == 0 && S_ISCHR(st.st_mode) ? 1 : -ENOENT);
}

static const struct cuse_lowlevel_ops null_cuse_ops = {
	.init_done = c_init_done,
	.open = n_open,
	.release = n_release,
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

static const struct fuse_custom_io null_cuse_io = { .read = io_read, .writev = io_writev };

/*
 * The session until stop_efd fires: not fuse_session_loop, which ends only
 * with a request after fuse_session_exit (and CUSE has no unmount; a
 * release there waits for its answer).
 */
static void *null_thread(void *arg)
{
	struct null_srv *s = arg;
	struct fuse_buf buf = { .mem = NULL };

	for (;;) {
		struct pollfd p[2] = { { .fd = fuse_session_fd(s->se), .events = POLLIN },
				       { .fd = s->stop_efd, .events = POLLIN } };
		int n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents || (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)))
			break;
		n = fuse_session_receive_buf(s->se, &buf);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n <= 0)
			break;
		fuse_session_process_buf(s->se, &buf);
	}
	free(buf.mem);
	set_init(s, -EIO);	/* ended before CUSE said it was up */
	return NULL;
}

static int null_start_cuse(struct null_srv *s)
{
	char devname[96];
	const char *info[] = { devname };
	char *argv[] = { (char *)"uacce-bench", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct cuse_info ci = { .dev_info_argc = 1, .dev_info_argv = info };
	struct timespec dl;
	int fd, err = 0;

	snprintf(devname, sizeof(devname), "DEVNAME=uacce-bench-null-%d", (int)getpid());
	snprintf(s->path, sizeof(s->path), "/dev/uacce-bench-null-%d", (int)getpid());
	s->se = cuse_lowlevel_new(&args, &ci, &null_cuse_ops, s);
	fuse_opt_free_args(&args);
	if (!s->se)
		return -ENOMEM;
	fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
	if (fd < 0 || fuse_session_custom_io(s->se, &null_cuse_io, fd) != 0) {
		err = fd < 0 ? -errno : -EIO;
		if (fd >= 0)
			close(fd);
		return err;
	}
	if ((err = -pthread_create(&s->thread, NULL, null_thread, s)) != 0)
		return err;
	s->started = true;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += INIT_WAIT_MS / 1000;
	pthread_mutex_lock(&s->lock);
	while (!s->init && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
	err = s->init == 1 ? 0 : s->init ? s->init : -ETIMEDOUT;
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int null_start_fuse(struct null_srv *s)
{
	char *argv[] = { (char *)"uacce-bench", (char *)"-o",
			 (char *)"default_permissions,fsname=uacce-bench-null", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	int err;

	snprintf(s->dir, sizeof(s->dir), "/tmp/uacce-bench-null.XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return -errno;
	}
	snprintf(s->path, sizeof(s->path), "%s/null", s->dir);
	s->se = fuse_session_new(&args, &null_fuse_ops, sizeof(null_fuse_ops), s);
	fuse_opt_free_args(&args);
	if (!s->se)
		return -ENOMEM;
	if (fuse_session_mount(s->se, s->dir) != 0)
		return -EPERM;
	err = -pthread_create(&s->thread, NULL, null_thread, s);
	if (!err) {
		s->started = true;
		s->init = 1;
	}
	return err;
}

static void null_stop(struct null_srv *s)
{
	if (s->se) {
		uint64_t one = 1;

		/* every file is closed (the threads are joined): the thread may go */
		if (s->started) {
			if (write(s->stop_efd, &one, sizeof(one)) != sizeof(one))
				fuse_session_exit(s->se);	/* cannot be: the eventfd is ours */
			pthread_join(s->thread, NULL);
		}
		if (!s->cuse)
			fuse_session_unmount(s->se);
		fuse_session_destroy(s->se);	/* CUSE: the device goes with its fd */
	}
	if (s->stop_efd >= 0)
		close(s->stop_efd);
	if (s->dir[0])
		rmdir(s->dir);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

/* "fuse" or "cuse": where the daemon's nodes are (<runtime dir>/devdir) */
static const char *transport(void)
{
	char path[512], buf[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/devdir", uacce_runtime_dir());
	f = fopen(path, "re");
	if (!f)
		return "?";
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, "/dev") == 0 ? "cuse" : "fuse";
}

static double null_rate(const struct lifecycle_opts *o, bool cuse, int *err)
{
	struct null_srv s = { .cuse = cuse, .stop_efd = -1 };
	double rate = 0;

	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	s.stop_efd = eventfd(0, EFD_CLOEXEC);
	if (s.stop_efd < 0) {
		*err = -errno;
		null_stop(&s);
		return -1;
	}
	*err = cuse ? null_start_cuse(&s) : null_start_fuse(&s);
	if (!*err)
		rate = run_threads(LC_NULL, s.path, o->threads, o->seconds, err);
	null_stop(&s);
	return *err ? -1 : rate;
}

/* --- the figures -------------------------------------------------------------- */

int lifecycle_bench_run(const struct lifecycle_opts *o, struct lifecycle_result *r)
{
	unsigned threads = o->threads < 1 ? 1 : o->threads > MAX_THREADS ? MAX_THREADS : o->threads;
	struct lifecycle_opts oo = *o;

	oo.threads = threads;
	*r = (struct lifecycle_result){ .null_per_s = -1, .threads = threads };
	r->transport = transport();
	r->per_s = run_threads(LC_QUEUE, o->device, threads, o->seconds, &r->err);
	if (!r->err)
		r->mapped_per_s = run_threads(LC_QUEUE_MAPPED, o->device, threads, o->seconds,
					      &r->err);
	if (o->baseline && strcmp(r->transport, "?") != 0)
		r->null_per_s = null_rate(&oo, strcmp(r->transport, "cuse") == 0, &r->null_err);
	return r->err;
}

double lifecycle_ratio(const struct lifecycle_result *r)
{
	return r->null_per_s > 0 && !r->err ? r->per_s / r->null_per_s : -1;
}

void lifecycle_bench_print_json(const struct lifecycle_opts *o, const struct lifecycle_result *r)
{
	printf("\"lifecycle_device\":\"%s\",\"lifecycle_transport\":\"%s\","
	       "\"lifecycle_threads\":%u,\"lifecycles_per_s\":%.0f,"
	       "\"lifecycles_mapped_per_s\":%.0f,\"null_open_close_per_s\":%.0f,"
	       "\"ratio_lifecycles_to_null_open_close\":%.4f,\"null_error\":%d,",
	       o->device, r->transport, r->threads, r->per_s, r->mapped_per_s, r->null_per_s,
	       lifecycle_ratio(r), r->null_err);
}

void lifecycle_bench_print_table(const struct lifecycle_opts *o,
				 const struct lifecycle_result *r)
{
	printf("queue lifecycles on %s (%s, %u thread%s, %.1f s each):\n", o->device, r->transport,
	       r->threads, r->threads == 1 ? "" : "s", o->seconds);
	if (r->err) {
		printf("  error: %s\n", strerror(-r->err));
		return;
	}
	printf("  open, START, close                 %10.0f /s\n", r->per_s);
	printf("  open, START, map all, close        %10.0f /s\n", r->mapped_per_s);
	if (r->null_per_s > 0)
		printf("  open, close of a null %s file    %10.0f /s   lifecycles / null = %.3f\n",
		       r->transport, r->null_per_s, lifecycle_ratio(r));
	else
		printf("  null %s file: not measured (%s)\n", r->transport,
		       r->null_err ? strerror(-r->null_err) : "not asked");
}
