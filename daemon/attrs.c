/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "atomicfile.h"
#include "attrs.h"
#include "core.h"
#include "log.h"

/*
 * path gets val, atomically (a reader sees the old or the new value,
 * never a part).  The temporary file is <rundir>/.<dev>.<file>.tmp, beside
 * class/ and never inside it: a reader listing a class directory sees
 * exactly the attributes.
 */
static int write_atomic(const char *rundir, struct uacce_dev *d, const char *path,
			const char *file, const char *val)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s/.%s.%s.tmp", rundir, ud_name(d), file);
	return atomic_write_file(tmp, path, val, strlen(val), 0444);
}

static int write_attr(const char *rundir, struct uacce_dev *d, const char *attr,
		      const char *val)
{
	char path[512];
	int err;

	snprintf(path, sizeof(path), "%s/class/%s/%s", rundir, ud_name(d), attr);
	err = write_atomic(rundir, d, path, attr, val);
	if (err)
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: cannot write attribute %s: %s",
			 ud_name(d), attr, strerror(-err));
	return err;
}

/*
 * The "device" link of the class directory (both profiles): to the
 * hardware's sysfs directory (vfio: the PCI function), or, for a software
 * device, to <rundir>/devices/<node>/, a directory of our own whose
 * numa_node is -1 (the kernel's "no node").  The target is absolute, so
 * that the link resolves from wherever the class directory is seen.
 */
static int publish_device_link(const char *rundir, struct uacce_dev *d)
{
	const struct uacce_hwdev_info *info = ud_info(d);
	char link[512], target[512], path[560], abs[PATH_MAX];
	const char *top = realpath(rundir, abs) ? abs : rundir;
	int n;

	if (info->sysfs_device[0]) {
		snprintf(target, sizeof(target), "%s", info->sysfs_device);
	} else {
		n = snprintf(target, sizeof(target), "%s/devices", top);
		if (n < 0 || (size_t)n >= sizeof(target))
			return -ENAMETOOLONG;
		if (mkdir(target, 0755) < 0 && errno != EEXIST)
			return -errno;
		n = snprintf(target, sizeof(target), "%s/devices/%s", top, ud_name(d));
		if (n < 0 || (size_t)n >= sizeof(target))
			return -ENAMETOOLONG;
		if (mkdir(target, 0755) < 0 && errno != EEXIST)
			return -errno;
		snprintf(path, sizeof(path), "%s/numa_node", target);
		n = write_atomic(rundir, d, path, "numa_node", "-1\n");
		if (n < 0)
			return n;
	}
	snprintf(link, sizeof(link), "%s/class/%s/device", rundir, ud_name(d));
	unlink(link);	/* left over */
	if (symlink(target, link) < 0)
		return -errno;
	return 0;
}

int attrs_publish_dev(const char *rundir, struct uacce_dev *d, dev_t rdev)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u:%u\n", major(rdev), minor(rdev));
	return write_attr(rundir, d, "dev", buf);
}

/* what publish_device_link and attrs_publish_dev made */
static void remove_dev_and_device(const char *rundir, struct uacce_dev *d)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/class/%s/dev", rundir, ud_name(d));
	unlink(path);
	snprintf(path, sizeof(path), "%s/class/%s/device", rundir, ud_name(d));
	unlink(path);
	snprintf(path, sizeof(path), "%s/devices/%s/numa_node", rundir, ud_name(d));
	unlink(path);
	snprintf(path, sizeof(path), "%s/devices/%s", rundir, ud_name(d));
	rmdir(path);
	snprintf(path, sizeof(path), "%s/devices", rundir);
	rmdir(path);	/* only succeeds once empty */
}

/* the mkdir -p of <rundir>/class/<node> and <rundir>/.avail/<node> */
static int make_dirs(const char *rundir, struct uacce_dev *d)
{
	static const char *const tops[] = { "class", AVAIL_DIR };
	char path[512];

	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", rundir, tops[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		snprintf(path, sizeof(path), "%s/%s/%s", rundir, tops[i], ud_name(d));
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

/*
 * available_instances changes at every open and close.  Writing a new file
 * and renaming it over the old one costs a file system a new inode and the
 * old one's truncation each time (ext4: a data flush on rename and a block
 * discard, about a millisecond).  Instead each value the count takes gets
 * its own file once, under <rundir>/.avail/<node>/, and a change is one
 * renameat2(RENAME_EXCHANGE) of that file with the attribute: the value's
 * file becomes the attribute and the old value's file takes its name (the
 * table below says which name holds which value).  A reader sees the old
 * or the new value, never a part, and no inode is created or freed after
 * the first time of each value.  Where the file system has no exchange,
 * the attribute becomes a hard link to the value's file (link(2) to a
 * temporary name, rename(2) over the attribute: two calls).
 *
 * The names of a process's files are its own: its first change of a
 * device's count empties the device's directory (a predecessor's names
 * hold values this process does not know).
 */
struct avail {
	struct avail *next;
	const struct uacce_dev *d;
	int *where;		/* where[v]: the name (a number) of v's file; -1: none */
	int nv;			/* where[]'s size */
	int cur;		/* the attribute's value; -1: not known */
	int next_name;
	bool no_exchange;	/* the file system refused RENAME_EXCHANGE */
	/*
	 * O_PATH fds of class/<node>/ and .avail/<node>/ (-1: not open): the
	 * exchange then walks one name each, not the whole runtime path
	 */
	int cdir, vdir;
};

static pthread_mutex_t avail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct avail *avails;

/* the files under <rundir>/.avail/<node>/ (the directory stays) */
static void remove_value_files(const char *rundir, struct uacce_dev *d)
{
	char path[512];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/" AVAIL_DIR "/%s", rundir, ud_name(d));
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		char f[800];

		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		unlink(f);
	}
	if (dir)
		closedir(dir);
}

/* <rundir>/<top>/<node>/ as an O_PATH fd, or -1 */
static int open_dir_path(const char *rundir, const char *top, const struct uacce_dev *d)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s", rundir, top, ud_name(d));
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* d's table, made (and d's old value files removed) on first use; avail_lock */
static struct avail *avail_of(const char *rundir, struct uacce_dev *d)
{
	struct avail *a;

	for (a = avails; a; a = a->next)
		if (a->d == d)
			return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->d = d;
	a->cur = -1;
	remove_value_files(rundir, d);
	a->cdir = open_dir_path(rundir, "class", d);
	a->vdir = open_dir_path(rundir, AVAIL_DIR, d);
	a->next = avails;
	avails = a;
	return a;
}

static void avail_forget(const struct uacce_dev *d)
{
	pthread_mutex_lock(&avail_lock);
	for (struct avail **pp = &avails; *pp; pp = &(*pp)->next) {
		struct avail *a = *pp;

		if (a->d == d) {
			*pp = a->next;
			if (a->cdir >= 0)
				close(a->cdir);
			if (a->vdir >= 0)
				close(a->vdir);
			free(a->where);
			free(a);
			break;
		}
	}
	pthread_mutex_unlock(&avail_lock);
}

/* the name of a file that holds n (written the first time); -errno */
static int value_file(const char *rundir, struct uacce_dev *d, struct avail *a, int n,
		      char *val, size_t len)
{
	if (n >= a->nv) {
		int nv = n + 16, *w = realloc(a->where, (size_t)nv * sizeof(*w));

		if (!w)
			return -ENOMEM;
		for (int i = a->nv; i < nv; i++)
			w[i] = -1;
		a->where = w;
		a->nv = nv;
	}
	bool fresh = a->where[n] < 0;
	int name = fresh ? a->next_name : a->where[n];

	snprintf(val, len, "%s/" AVAIL_DIR "/%s/%d", rundir, ud_name(d), name);
	if (fresh) {
		char buf[32], vtmp[512];
		int err;

		snprintf(buf, sizeof(buf), "%d\n", n);
		snprintf(vtmp, sizeof(vtmp), "%s/.%s.avail.tmp", rundir, ud_name(d));
		err = atomic_write_file(vtmp, val, buf, strlen(buf), 0444);
		if (err)
			return err;
		a->next_name++;
		a->where[n] = name;
	}
	return 0;
}

static int swap_in_locked(const char *rundir, struct uacce_dev *d, struct avail *a, int n)
{
	char val[512], tmp[512], path[512];
	int err;

	if (n < 0)
		return -EINVAL;
	if (n == a->cur)
		return 0;
	err = value_file(rundir, d, a, n, val, sizeof(val));
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/class/%s/available_instances", rundir, ud_name(d));
	if (a->cur >= 0 && !a->no_exchange) {
		char vname[16];
		int r;

		snprintf(vname, sizeof(vname), "%d", a->where[n]);
		/* in directories removed meanwhile: ENOENT (emptied first), linked anew */
		r = a->cdir >= 0 && a->vdir >= 0 ?
			renameat2(a->vdir, vname, a->cdir, "available_instances", RENAME_EXCHANGE) :
			renameat2(AT_FDCWD, val, AT_FDCWD, path, RENAME_EXCHANGE);
		if (r == 0) {
			/* val's name holds the old value now */
			a->where[a->cur] = a->where[n];
			a->where[n] = -1;
			a->cur = n;
			return 0;
		}
		if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
			a->no_exchange = true;
		/* else (the attribute gone: ENOENT): linked anew below */
	}
	/* the attribute becomes a second name of val's file */
	snprintf(tmp, sizeof(tmp), "%s/.%s.available_instances.tmp", rundir, ud_name(d));
	for (int tries = 0; link(val, tmp) < 0; tries++) {
		err = -errno;
		if (tries >= 2 || err != -EEXIST)
			return err;
		unlink(tmp);	/* left over by a failure */
	}
	if (rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
		return err;	/* the caller forgets a->cur */
	}
	/* val's name holds n as well: kept for n (the exchange moves the other one) */
	a->cur = n;
	return 0;
}

static int swap_in_value(const char *rundir, struct uacce_dev *d, int n)
{
	struct avail *a;
	int err;

	pthread_mutex_lock(&avail_lock);
	a = avail_of(rundir, d);
	err = a ? swap_in_locked(rundir, d, a, n) : -ENOMEM;
	if (err && a)
		a->cur = -1;	/* unknown: the next change links anew */
	pthread_mutex_unlock(&avail_lock);
	return err;
}

/* the 2019 v4 set: id, qfrs_offset, numa_distance, node_id */
static int publish_v4(const char *rundir, struct uacce_dev *d)
{
	uint64_t off[UACCE_QFRT_NR];
	char buf[128];
	int err = 0;

	snprintf(buf, sizeof(buf), "%d\n", ud_id(d));
	err = err ?: write_attr(rundir, d, "id", buf);
	ud_qfrs_offset(d, off);
	snprintf(buf, sizeof(buf), "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n",
		 off[0], off[1], off[2], off[3]);
	err = err ?: write_attr(rundir, d, "qfrs_offset", buf);
	/* a software device belongs to no NUMA node */
	err = err ?: write_attr(rundir, d, "numa_distance", "0\n");
	err = err ?: write_attr(rundir, d, "node_id", "-1\n");
	return err;
}

/*
 * The mainline set (uacce_dev_attrs[] of Linux): region sizes in bytes,
 * each hidden when the region is absent, and the isolation attributes of
 * a device that is never isolated.
 */
static int publish_mainline(const char *rundir, struct uacce_dev *d)
{
	const struct uacce_hwdev_info *info = ud_info(d);
	static const struct {
		const char *name;
		int type;
	} regions[] = {
		{ "region_mmio_size", UACCE_QFRT_MMIO },
		{ "region_dus_size", UACCE_QFRT_DUS },
	};
	char buf[64];
	int err = 0;

	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]) && !err; i++) {
		if (!info->qfr_size[regions[i].type])
			continue;
		snprintf(buf, sizeof(buf), "%lu\n", (unsigned long)info->qfr_size[regions[i].type]);
		err = write_attr(rundir, d, regions[i].name, buf);
	}
	err = err ?: write_attr(rundir, d, "isolate", "0\n");
	err = err ?: write_attr(rundir, d, "isolate_strategy", "0\n");
	return err;
}

int attrs_publish(const char *rundir, struct uacce_dev *d)
{
	const struct uacce_hwdev_info *info = ud_info(d);
	char buf[512];
	int err = make_dirs(rundir, d);

	if (err)
		return err;
	snprintf(buf, sizeof(buf), "%s\n", info->api);
	err = err ?: write_attr(rundir, d, "api", buf);
	snprintf(buf, sizeof(buf), "%u\n", info->flags);
	err = err ?: write_attr(rundir, d, "flags", buf);
	snprintf(buf, sizeof(buf), "%s\n", info->algorithms);
	err = err ?: write_attr(rundir, d, "algorithms", buf);
	if (ud_abi(d) == UACCE_ABI_MAINLINE)
		err = err ?: publish_mainline(rundir, d);
	else
		err = err ?: publish_v4(rundir, d);
	if (!err && (err = swap_in_value(rundir, d, ud_available_instances(d))) != 0)
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: cannot write attribute available_instances: "
			 "%s", ud_name(d), strerror(-err));
	if (!err && (err = publish_device_link(rundir, d)) != 0)
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: cannot publish the device link: %s",
			 ud_name(d), strerror(-err));
	return err;
}

void attrs_update_instances(const char *rundir, struct uacce_dev *d)
{
	/* called with the core lock held: do not call ud_available_instances */
	int err = swap_in_value(rundir, d, ud_available_instances_locked(d));

	if (err) {
		char path[512];

		/*
		 * Never a stale count: without the file a reader fails (as a
		 * sysfs read fails when its op does); the next change writes it.
		 */
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: cannot write attribute available_instances: "
			 "%s", ud_name(d), strerror(-err));
		snprintf(path, sizeof(path), "%s/class/%s/available_instances", rundir,
			 ud_name(d));
		unlink(path);
	}
}

/* <rundir>/.avail/<node>/ and its value files (.avail itself once empty) */
static void remove_values(const char *rundir, struct uacce_dev *d)
{
	char path[512];

	avail_forget(d);
	remove_value_files(rundir, d);
	snprintf(path, sizeof(path), "%s/" AVAIL_DIR "/%s", rundir, ud_name(d));
	rmdir(path);
	snprintf(path, sizeof(path), "%s/" AVAIL_DIR, rundir);
	rmdir(path);
}

void attrs_remove(const char *rundir, struct uacce_dev *d)
{
	static const char *const names[] = {
		"id", "api", "flags", "algorithms", "qfrs_offset",
		"numa_distance", "node_id", "available_instances",
		"region_mmio_size", "region_dus_size", "isolate", "isolate_strategy",
	};
	char path[512];

	remove_dev_and_device(rundir, d);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/class/%s/%s", rundir, ud_name(d), names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/class/%s", rundir, ud_name(d));
	rmdir(path);
	snprintf(path, sizeof(path), "%s/class", rundir);
	rmdir(path);	/* only succeeds once empty */
	remove_values(rundir, d);
}
