/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uacce.c - queues, attributes and region mapping through the broker */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker_wire.h"
#include "uacce_ml.h"
#include "uacce_internal.h"

UACCE_EXPORT const char *uacce_runtime_dir(void)
{
	const char *d = getenv("UACCE_RUNTIME_DIR");

	return d && *d ? d : "/run/uacce";
}

/* the first directory of the runtime dir's path we may not search */
static int check_path(const char *rt, char *where, size_t len)
{
	char path[512];
	size_t n = strlen(rt);

	if (n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, rt, n + 1);
	for (size_t i = 1; i <= n; i++) {
		char c = path[i];
		int r;

		if (i > 1 && i < n && c != '/')
			continue;
		path[i] = '\0';
		r = faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0 ? -errno : 0;
		if (r)
			snprintf(where, len, "%s", path);
		path[i] = c;
		if (r)
			return r;
	}
	return 0;
}

UACCE_EXPORT int uacce_runtime_check(char *where, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *rt = uacce_runtime_dir();
	char path[600];
	int fd, r;

	snprintf(where, len, "%s", rt);
	r = check_path(rt, where, len);
	if (r)
		return r == -ENOTDIR ? -ENOENT : r;
	snprintf(path, sizeof(path), "%s/devdir", rt);
	if (access(path, R_OK) < 0) {
		r = errno == ENOENT ? -ESRCH : -errno;	/* a daemon writes it when ready */
		if (r != -ESRCH)
			snprintf(where, len, "%s", path);
		return r;
	}
	/* a daemon killed leaves devdir: does anybody listen on the broker? */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", rt, UB_SOCKET_NAME) >=
	    (int)sizeof(sa.sun_path))
		return 0;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(fd);
	if (r == -ECONNREFUSED || r == -ENOENT)
		return -ESRCH;
	if (r == -EACCES || r == -EPERM) {
		snprintf(where, len, "%s", sa.sun_path);
		return -EACCES;
	}
	return 0;
}

/* "mode 0700, owner 0, group 0" of a path, or "" */
static void describe(const char *path, char *buf, size_t len)
{
	struct stat st;

	if (stat(path, &st) == 0)
		snprintf(buf, len, " (mode %04o, owner %u, group %u)", (unsigned)(st.st_mode & 07777),
			 (unsigned)st.st_uid, (unsigned)st.st_gid);
	else
		buf[0] = '\0';
}

UACCE_EXPORT const char *uacce_explain(int err, const char *dev, char *buf, size_t len)
{
	const char *rt = uacce_runtime_dir(), *sep = dev && *dev ? ": " : "";
	char where[512], what[80], node[512];
	int e = err < 0 ? -err : err, r;

	if (!dev)
		dev = "";
	if (e != ENODEV && e != ENOENT && e != EACCES && e != EPERM && e != ENOTCONN &&
	    e != ECONNREFUSED) {
		snprintf(buf, len, "%s%s%s", dev, sep, strerror(e));
		return buf;
	}
	r = uacce_runtime_check(where, sizeof(where));
	/* broker.sock (or devdir) closed: as the node, for the nodes' users only */
	if (r == -EACCES && strncmp(where, rt, strlen(rt)) == 0 && where[strlen(rt)] == '/') {
		if (*dev && !strchr(dev, '/') && uacce_dev_path(dev, node, sizeof(node)) == 0)
			snprintf(where, sizeof(where), "%s", node);
		describe(where, what, sizeof(what));
		snprintf(buf, len, "%s%sPermission denied: %s%s is closed to uid %u", dev, sep, where,
			 what, (unsigned)geteuid());
	} else if (r == -EACCES) {
		describe(where, what, sizeof(what));
		if (strcmp(where, rt) == 0)
			snprintf(buf, len, "%s%sPermission denied: uacced's runtime directory %s%s "
				 "is closed to uid %u", dev, sep, rt, what, (unsigned)geteuid());
		else
			snprintf(buf, len, "%s%sPermission denied: %s%s, on the way to uacced's "
				 "runtime directory %s, is closed to uid %u", dev, sep, where, what, rt,
				 (unsigned)geteuid());
	} else if (r == -ENOENT) {
		snprintf(buf, len, "%s%sno uacced serves the runtime directory %s: %s does not "
			 "exist (start uacced, or set UACCE_RUNTIME_DIR)", dev, sep, rt, where);
	} else if (r == -ESRCH) {
		snprintf(buf, len, "%s%sno uacced serves the runtime directory %s (start uacced, or "
			 "set UACCE_RUNTIME_DIR)", dev, sep, rt);
	} else if (r < 0) {
		snprintf(buf, len, "%s%s%s: %s", dev, sep, where, strerror(-r));
	} else if (e == ENODEV || e == ENOENT) {
		snprintf(buf, len, "%s%sno such device: uacced at %s does not publish it (uaccectl "
			 "list names those it does)", dev, sep, rt);
	} else if ((e == EACCES || e == EPERM) && *dev && !strchr(dev, '/') &&
		   uacce_dev_path(dev, node, sizeof(node)) == 0) {
		describe(node, what, sizeof(what));
		snprintf(buf, len, "%s: Permission denied: %s%s is closed to uid %u", dev, node, what,
			 (unsigned)geteuid());
	} else {
		snprintf(buf, len, "%s%s%s", dev, sep, strerror(e));
	}
	return buf;
}

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (len == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return (int)n;
}

UACCE_EXPORT int uacce_dev_attr(const char *dev, const char *attr, char *buf, size_t len)
{
	char path[512];

	if (strchr(dev, '/') || strchr(attr, '/'))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/class/%s/%s", uacce_runtime_dir(), dev, attr);
	return read_file(path, buf, len);
}

UACCE_EXPORT int uacce_dev_path(const char *dev, char *buf, size_t len)
{
	char path[512], dir[256];
	int r;

	snprintf(path, sizeof(path), "%s/devdir", uacce_runtime_dir());
	r = read_file(path, dir, sizeof(dir));
	if (r < 0)
		return r == -ENOENT ? -ENODEV : r;	/* no daemon running */
	if (snprintf(buf, len, "%s/%s", dir, dev) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int parse_qfrs(struct uacce_q *q, const char *buf)
{
	const char *p = buf;
	char *end;

	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		errno = 0;
		q->qfr_off[t] = strtoull(p, &end, 10);
		if (end == p || errno)
			return -EIO;
		p = end;
	}
	return 0;
}

/* a region size attribute of a mainline device: absent (hidden) = 0 */
static int read_size(const struct uacce_q *q, const char *attr, uint64_t *out)
{
	char buf[64], *end;
	int r = uacce_dev_attr(q->dev, attr, buf, sizeof(buf));

	*out = 0;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return end == buf || *end || errno ? -EIO : 0;
}

/*
 * The profile: a v4 device publishes qfrs_offset, a mainline one
 * region_*_size (each hidden when the region is absent).
 */
static int read_layout(struct uacce_q *q)
{
	char buf[256];
	int r = uacce_dev_attr(q->dev, "qfrs_offset", buf, sizeof(buf));

	if (r >= 0)
		return parse_qfrs(q, buf);
	if (r != -ENOENT)
		return -ENODEV;
	q->mainline = true;
	r = read_size(q, "region_mmio_size", &q->ml_size[UACCE_QFRT_MMIO]);
	return r ?: read_size(q, "region_dus_size", &q->ml_size[UACCE_QFRT_DUS]);
}

/*
 * What an open reads of a device (api, flags, layout, its node's
 * directory), kept for the next open of it: a program that opens and
 * closes queues over and over reads four attribute files and devdir once,
 * and then one stat(2) a time.  The key is the api attribute file itself
 * (device, inode, change time): the daemon writes every attribute anew
 * (a new file) whenever it publishes a device, so a device removed and
 * added again, or a daemon restarted, never matches.  A node that is no
 * longer where it was (ENOENT at the open) drops the entry and reads anew.
 */
#define ATTR_CACHE	4

struct attr_entry {
	bool used;
	char key[sizeof(((struct uacce_q *)0)->dev) + 256];	/* <runtime dir>\n<dev> */
	dev_t st_dev;
	ino_t ino;
	struct timespec ctim;
	char api[sizeof(((struct uacce_q *)0)->api)];
	unsigned flags;
	bool mainline;
	uint64_t qfr_off[UACCE_QFRT_NR];
	uint64_t ml_size[UACCE_QFRT_NR];
	char path[512];
};

static struct {
	pthread_mutex_t lock;
	struct attr_entry e[ATTR_CACHE];
	unsigned next;
} attr_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool same_file(const struct attr_entry *e, const struct stat *st)
{
	return e->st_dev == st->st_dev && e->ino == st->st_ino &&
	       e->ctim.tv_sec == st->st_ctim.tv_sec && e->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

/* q's attributes and *path from the cache: true on a hit */
static bool cache_get(struct uacce_q *q, const char *key, const struct stat *st, char *path,
		      size_t len)
{
	bool hit = false;

	pthread_mutex_lock(&attr_cache.lock);
	for (int i = 0; i < ATTR_CACHE && !hit; i++) {
		struct attr_entry *e = &attr_cache.e[i];

		if (!e->used || strcmp(e->key, key) || !same_file(e, st))
			continue;
		memcpy(q->api, e->api, sizeof(q->api));
		q->flags = e->flags;
		q->mainline = e->mainline;
		memcpy(q->qfr_off, e->qfr_off, sizeof(q->qfr_off));
		memcpy(q->ml_size, e->ml_size, sizeof(q->ml_size));
		snprintf(path, len, "%s", e->path);
		hit = true;
	}
	pthread_mutex_unlock(&attr_cache.lock);
	return hit;
}

static void cache_put(const struct uacce_q *q, const char *key, const struct stat *st,
		      const char *path)
{
	struct attr_entry *e = NULL;

	if (strlen(key) >= sizeof(e->key) || strlen(path) >= sizeof(e->path))
		return;
	pthread_mutex_lock(&attr_cache.lock);
	for (int i = 0; i < ATTR_CACHE && !e; i++)
		if (attr_cache.e[i].used && strcmp(attr_cache.e[i].key, key) == 0)
			e = &attr_cache.e[i];
	if (!e)
		e = &attr_cache.e[attr_cache.next++ % ATTR_CACHE];
	e->used = true;
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->st_dev = st->st_dev;
	e->ino = st->st_ino;
	e->ctim = st->st_ctim;
	memcpy(e->api, q->api, sizeof(e->api));
	e->flags = q->flags;
	e->mainline = q->mainline;
	memcpy(e->qfr_off, q->qfr_off, sizeof(e->qfr_off));
	memcpy(e->ml_size, q->ml_size, sizeof(e->ml_size));
	snprintf(e->path, sizeof(e->path), "%s", path);
	pthread_mutex_unlock(&attr_cache.lock);
}

static void cache_drop(const char *key)
{
	pthread_mutex_lock(&attr_cache.lock);
	for (int i = 0; i < ATTR_CACHE; i++)
		if (attr_cache.e[i].used && strcmp(attr_cache.e[i].key, key) == 0)
			attr_cache.e[i].used = false;
	pthread_mutex_unlock(&attr_cache.lock);
}

/* the attributes and the node's path, read from the files */
static int read_attrs(struct uacce_q *q, const char *dev, char *path, size_t len)
{
	char buf[64];
	int r = uacce_dev_attr(q->dev, "api", q->api, sizeof(q->api));

	if (r >= 0)
		r = uacce_dev_attr(q->dev, "flags", buf, sizeof(buf));
	if (r >= 0) {
		q->flags = (unsigned)strtoul(buf, NULL, 10);
		r = read_layout(q);
	}
	if (r < 0)
		return r == -ENOENT ? -ENODEV : r;
	if (strchr(dev, '/'))
		snprintf(path, len, "%s", dev);
	else if ((r = uacce_dev_path(q->dev, path, len)) < 0)
		return r;
	return 0;
}

UACCE_EXPORT int uacce_queue_open(const char *dev, struct uacce_q **out)
{
	char path[512], key[sizeof(((struct attr_entry *)0)->key)], apip[512];
	const char *base = strrchr(dev, '/');
	struct uacce_q *q;
	struct stat st;
	bool keyed, hit;
	int r;

	base = base ? base + 1 : dev;
	if (!base[0] || base[0] == '.' || strlen(base) >= sizeof(q->dev))
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->sock = -1;
	q->pid = getpid();
	snprintf(q->dev, sizeof(q->dev), "%s", base);
	/* the key: the runtime directory, the name as given (a path or a name) */
	r = snprintf(key, sizeof(key), "%s\n%s", uacce_runtime_dir(), dev);
	keyed = r > 0 && (size_t)r < sizeof(key);	/* a cut key could name two nodes */
	r = snprintf(apip, sizeof(apip), "%s/class/%s/api", uacce_runtime_dir(), q->dev);
	keyed = keyed && r > 0 && (size_t)r < sizeof(apip) && stat(apip, &st) == 0;
	hit = keyed && cache_get(q, key, &st, path, sizeof(path));
	for (;;) {
		if (!hit && (r = read_attrs(q, dev, path, sizeof(path))) < 0) {
			free(q);
			return r;
		}
		q->fd = open(path, O_RDWR | O_CLOEXEC);
		if (q->fd >= 0)
			break;
		r = -errno;
		if (!hit || r != -ENOENT) {
			free(q);
			return r;
		}
		cache_drop(key);	/* the node moved: read everything anew */
		hit = false;
		keyed = false;
	}
	if (keyed && !hit)
		cache_put(q, key, &st, path);
	*out = q;
	return 0;
}

UACCE_EXPORT void uacce_queue_close(struct uacce_q *q)
{
	if (!q)
		return;
	if (getpid() == q->pid) {
		for (int t = 0; t < UACCE_QFRT_NR; t++)
			if (q->addr[t] && q->own[t])
				munmap(q->addr[t], q->len[t]);
		/*
		 * Give the hardware queue back now: the FUSE fallback delivers
		 * the release of a closed file asynchronously.  (Mainline's
		 * PUT_Q only stops the queue: the instance comes back with the
		 * release.)
		 */
		ioctl(q->fd, q->mainline ? UACCE_ML_CMD_PUT_Q : UACCE_CMD_PUT_Q, 0);
	}
	if (q->sock >= 0)
		close(q->sock);
	close(q->fd);
	free(q);
}

UACCE_EXPORT int uacce_queue_fd(const struct uacce_q *q) { return q->fd; }
UACCE_EXPORT const char *uacce_queue_dev(const struct uacce_q *q) { return q->dev; }
UACCE_EXPORT unsigned uacce_queue_flags(const struct uacce_q *q) { return q->flags; }
UACCE_EXPORT const char *uacce_queue_api(const struct uacce_q *q) { return q->api; }

static int xioctl(struct uacce_q *q, unsigned long cmd, unsigned long arg)
{
	return ioctl(q->fd, cmd, arg) < 0 ? -errno : 0;
}

UACCE_EXPORT int uacce_queue_start(struct uacce_q *q)
{
	return xioctl(q, q->mainline ? UACCE_ML_CMD_START_Q : UACCE_CMD_START, 0);
}

UACCE_EXPORT int uacce_queue_put(struct uacce_q *q)
{
	return xioctl(q, q->mainline ? UACCE_ML_CMD_PUT_Q : UACCE_CMD_PUT_Q, 0);
}

UACCE_EXPORT int uacce_queue_share_ss(struct uacce_q *q, const struct uacce_q *src)
{
	int r;

	if (q->mainline || src->mainline)	/* no SS, no SHARE_SVAS ('W' 0 is START_Q) */
		return -EINVAL;
	r = xioctl(q, UACCE_CMD_SHARE_SVAS, (unsigned long)src->fd);

	if (!r) {
		q->addr[UACCE_QFRT_SS] = src->addr[UACCE_QFRT_SS];
		q->len[UACCE_QFRT_SS] = src->len[UACCE_QFRT_SS];
		q->own[UACCE_QFRT_SS] = false;
	}
	return r;
}

static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

UACCE_EXPORT int uacce_region_info(const struct uacce_q *q, int type, uint64_t *offset,
				   uint64_t *size)
{
	uint64_t next = UACCE_QFR_NA;

	if (type < 0 || type >= UACCE_QFRT_NR)
		return -EINVAL;
	if (q->mainline) {
		if (!q->ml_size[type])
			return -ENXIO;
		*offset = type == UACCE_QFRT_MMIO ? 0 : UACCE_ML_QFRT_DUS * page_size();
		*size = q->ml_size[type];
		return 0;
	}
	if (q->qfr_off[type] == UACCE_QFR_NA)
		return -ENXIO;
	for (int t = type + 1; t < UACCE_QFRT_NR && next == UACCE_QFR_NA; t++)
		next = q->qfr_off[t];
	*offset = q->qfr_off[type];
	*size = type == UACCE_QFRT_SS || next == UACCE_QFR_NA ? 0 : next - q->qfr_off[type];
	return 0;
}

/* --- the broker ------------------------------------------------------------ */

/* one request and its reply; a broker that went away is -ENOTCONN */
static int broker_call(struct uacce_q *q, uint16_t op, const void *body, uint16_t len,
		       int sendfd, struct ub_reply *r, int *recvfd)
{
	int err = ub_call(q->sock, op, body, len, sendfd, r, recvfd);

	return err == -EPIPE || err == -ECONNRESET ? -ENOTCONN : err;
}

static int broker_connect(struct uacce_q *q)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ub_reply r;
	int rfd, err;

	if (q->sock >= 0)
		return 0;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", uacce_runtime_dir(),
		     UB_SOCKET_NAME) >= (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	q->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (q->sock < 0)
		return -errno;
	if (connect(q->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno == ENOENT || errno == ECONNREFUSED ? -ENOTCONN : -errno;
		goto fail;
	}
	err = broker_call(q, UB_ATTACH, NULL, 0, q->fd, &r, &rfd);
	if (!err)
		err = r.status;
	if (rfd >= 0)
		close(rfd);
	if (err)
		goto fail;
	return 0;
fail:
	close(q->sock);
	q->sock = -1;
	return err;
}

/*
 * A call on the queue's broker connection.  A connection the daemon closed
 * (a live restart: the successor serves the same socket, and the old
 * daemon answered nothing it had not finished) is made again once, and
 * the call repeated on it.
 */
static int region_call_fd(struct uacce_q *q, uint16_t op, const void *body, uint16_t len,
			  int sendfd, struct ub_reply *r, int *rfd)
{
	bool had = q->sock >= 0;
	int err = broker_connect(q);

	if (err)
		return err;
	err = broker_call(q, op, body, len, sendfd, r, rfd);
	if (err == -ENOTCONN && had) {
		close(q->sock);
		q->sock = -1;
		err = broker_connect(q);
		if (err)
			return err;
		err = broker_call(q, op, body, len, sendfd, r, rfd);
	}
	return err ? err : r->status;
}

static int region_call(struct uacce_q *q, uint16_t op, const void *body, uint16_t len,
		       struct ub_reply *r, int *rfd)
{
	return region_call_fd(q, op, body, len, -1, r, rfd);
}

UACCE_EXPORT int uacce_queue_share_fd(struct uacce_q *q, int fd)
{
	struct ub_reply r;
	int rfd = -1, err;

	if (getpid() != q->pid)
		return -EPERM;	/* a forked child: the daemon refuses it too */
	if (!(q->flags & UACCE_DEV_SVA))
		return -EINVAL;
	err = region_call_fd(q, UB_SHARE, NULL, 0, fd, &r, &rfd);
	if (rfd >= 0)
		close(rfd);
	return err;
}

UACCE_EXPORT int uacce_share_alloc(struct uacce_q *q, size_t size, void **addr)
{
	void *p;
	int fd, err;

	if (!size)
		return -EINVAL;
	fd = memfd_create("uacce-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	/* as the regions: a forked child does not get it */
	madvise(p, size, MADV_DONTFORK);
	err = uacce_queue_share_fd(q, fd);
	close(fd);
	if (err) {
		munmap(p, size);
		return err;
	}
	*addr = p;
	return 0;
}

/*
 * Map what the broker granted with reply r (+ fd, closed here) as region
 * `type` and report the address; *addr.  On failure the grant is undone.
 */
static int finish_map(struct uacce_q *q, int type, const struct ub_reply *r, int fd,
		      void **addr)
{
	struct ub_mapped done = { .type = (uint32_t)type };
	struct ub_reply rr;
	size_t size = (size_t)r->size;
	void *p;
	int err;

	if (r->kind == UB_MAP_FD && fd >= 0)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	else	/* DKO: reserved, not accessible */
		p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	err = p == MAP_FAILED ? -errno : 0;
	if (fd >= 0)
		close(fd);
	fd = -1;
	if (err) {
		struct ub_region u = { .type = (uint32_t)type };
		region_call(q, UB_UNMAP, &u, sizeof(u), &rr, &fd);
		if (fd >= 0)
			close(fd);
		return err;
	}
	/* as the kernel's VM_DONTCOPY: a forked child does not get it */
	madvise(p, size, MADV_DONTFORK);
	done.addr = (uint64_t)(uintptr_t)p;
	err = region_call(q, UB_MAPPED, &done, sizeof(done), &rr, &fd);
	if (fd >= 0)
		close(fd);
	if (err) {
		munmap(p, size);
		return err;
	}
	q->addr[type] = p;
	q->len[type] = size;
	q->own[type] = true;
	*addr = p;
	return 0;
}

/* UB_MMAP: the daemon picks the region from the offset by the profile */
static int mmap_offset(struct uacce_q *q, uint64_t offset, size_t len, int *type, void **addr)
{
	struct ub_mmap m = { .offset = offset, .size = len };
	struct ub_reply r;
	int fd = -1, err;

	if (getpid() != q->pid)
		return -EPERM;	/* a forked child: the daemon refuses it too */
	err = region_call(q, UB_MMAP, &m, sizeof(m), &r, &fd);
	if (!err && r.queue_id >= UACCE_QFRT_NR)
		err = -EPROTO;
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	*type = (int)r.queue_id;
	return finish_map(q, *type, &r, fd, addr);
}

UACCE_EXPORT int uacce_map_region(struct uacce_q *q, int type, size_t len, void **addr)
{
	struct ub_map m = { .type = (uint32_t)type, .size = len };
	struct ub_reply r;
	uint64_t off, size;
	int fd = -1, err, got;

	if (type < 0 || type >= UACCE_QFRT_NR)
		return -EINVAL;
	if (q->mainline) {	/* MMIO and DUS by their page offsets */
		if (uacce_region_info(q, type, &off, &size))
			return -EINVAL;
		return mmap_offset(q, off, len, &got, addr);
	}
	if (getpid() != q->pid)
		return -EPERM;	/* a forked child: the daemon refuses it too */
	err = region_call(q, UB_MAP, &m, sizeof(m), &r, &fd);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	return finish_map(q, type, &r, fd, addr);
}

int uacce_ml_data_area(struct uacce_q *q, size_t offset, size_t want, void **addr,
		       size_t *size)
{
	uint64_t off, dus_size;
	void *dus = q->addr[UACCE_QFRT_DUS];
	int err;

	if (!q->mainline || (q->flags & UACCE_DEV_SVA))
		return -EINVAL;
	err = uacce_region_info(q, UACCE_QFRT_DUS, &off, &dus_size);
	if (err || dus_size <= offset)
		return -EINVAL;
	if (want > dus_size - offset)
		return -ENOMEM;
	if (!dus) {
		err = uacce_map_region(q, UACCE_QFRT_DUS, (size_t)dus_size, &dus);
		if (err)
			return err;
	}
	*addr = (char *)dus + offset;
	if (size)
		*size = (size_t)(dus_size - offset);
	return 0;
}

UACCE_EXPORT int uacce_unmap_region(struct uacce_q *q, int type)
{
	struct ub_region u = { .type = (uint32_t)type };
	struct ub_reply r;
	int fd = -1, err;

	if (type < 0 || type >= UACCE_QFRT_NR || !q->addr[type])
		return -EINVAL;
	if (q->own[type])
		munmap(q->addr[type], q->len[type]);
	q->addr[type] = NULL;
	q->len[type] = 0;
	err = region_call(q, UB_UNMAP, &u, sizeof(u), &r, &fd);
	if (fd >= 0)
		close(fd);
	return err;
}

UACCE_EXPORT void *uacce_mmap(struct uacce_q *q, size_t len, off_t offset)
{
	void *addr = NULL;
	int err = -EINVAL, type;

	if (q->mainline)
		err = offset < 0 ? -EINVAL : mmap_offset(q, (uint64_t)offset, len, &type, &addr);
	for (int t = 0; t < UACCE_QFRT_NR && !q->mainline; t++) {
		if (q->qfr_off[t] != UACCE_QFR_NA && (uint64_t)offset == q->qfr_off[t]) {
			err = uacce_map_region(q, t, len, &addr);
			break;
		}
	}
	if (err) {
		errno = -err;
		return MAP_FAILED;
	}
	return addr;
}

UACCE_EXPORT void *uacce_region_addr(const struct uacce_q *q, int type)
{
	return type >= 0 && type < UACCE_QFRT_NR ? q->addr[type] : NULL;
}

UACCE_EXPORT int uacce_queue_wait(struct uacce_q *q, int timeout_ms)
{
	struct pollfd p = { .fd = q->fd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return -ENOTCONN;
	return n > 0 ? 1 : 0;
}
