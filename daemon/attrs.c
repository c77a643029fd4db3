/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrs.h"
#include "core.h"
#include "log.h"

static int write_attr(const char *rundir, struct uacce_dev *d, const char *attr,
		      const char *val)
{
	char path[512], tmp[520];
	size_t len = strlen(val);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/class/%s/%s", rundir, ud_name(d), attr);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: cannot write attribute %s: %s",
			 ud_name(d), attr, strerror(-err));
	}
	return err;
}

int attrs_publish(const char *rundir, struct uacce_dev *d)
{
	const struct uacce_hwdev_info *info = ud_info(d);
	uint64_t off[UACCE_QFRT_NR];
	char path[512], buf[512];
	int err = 0;

	snprintf(path, sizeof(path), "%s/class", rundir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/class/%s", rundir, ud_name(d));
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;

	snprintf(buf, sizeof(buf), "%d\n", ud_id(d));
	err = err ?: write_attr(rundir, d, "id", buf);
	snprintf(buf, sizeof(buf), "%s\n", info->api);
	err = err ?: write_attr(rundir, d, "api", buf);
	snprintf(buf, sizeof(buf), "%u\n", info->flags);
	err = err ?: write_attr(rundir, d, "flags", buf);
	snprintf(buf, sizeof(buf), "%s\n", info->algorithms);
	err = err ?: write_attr(rundir, d, "algorithms", buf);
	ud_qfrs_offset(d, off);
	snprintf(buf, sizeof(buf), "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n",
		 off[0], off[1], off[2], off[3]);
	err = err ?: write_attr(rundir, d, "qfrs_offset", buf);
	/* a software device belongs to no NUMA node */
	err = err ?: write_attr(rundir, d, "numa_distance", "0\n");
	err = err ?: write_attr(rundir, d, "node_id", "-1\n");
	snprintf(buf, sizeof(buf), "%d\n", ud_available_instances(d));
	err = err ?: write_attr(rundir, d, "available_instances", buf);
	return err;
}

void attrs_update_instances(const char *rundir, struct uacce_dev *d)
{
	char buf[32];

	/* called with the core lock held: do not call ud_available_instances */
	snprintf(buf, sizeof(buf), "%d\n", ud_available_instances_locked(d));
	write_attr(rundir, d, "available_instances", buf);
}

void attrs_remove(const char *rundir, struct uacce_dev *d)
{
	static const char *const names[] = {
		"id", "api", "flags", "algorithms", "qfrs_offset",
		"numa_distance", "node_id", "available_instances",
	};
	char path[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/class/%s/%s", rundir, ud_name(d), names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/class/%s", rundir, ud_name(d));
	rmdir(path);
	snprintf(path, sizeof(path), "%s/class", rundir);
	rmdir(path);	/* only succeeds once empty */
}
