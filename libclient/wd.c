/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wd.c - the framework's user API over libuacce and a table of user drivers */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "uacce/dummy_usr_if.h"
#include "uacce_internal.h"

/* busy-wait this long for a completion before sleeping in poll() */
#define RECV_SPIN_NS 100000ULL

static const struct wd_drv *const drivers[] = {
	&wd_dummy_v1_drv,
	&wd_dummy_v2_drv,
};

static const struct wd_drv *drv_of(const struct wd_queue *q)
{
	return q->uq ? *(const struct wd_drv *const *)q->priv : NULL;
}

static const struct wd_drv *find_drv(const char *api)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->api, api) == 0)
			return drivers[i];
	return NULL;
}

static bool has_alg(const char *dev, const char *alg)
{
	char buf[512];

	if (uacce_dev_attr(dev, "algorithms", buf, sizeof(buf)) < 0)
		return false;
	for (char *save, *tok = strtok_r(buf, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save))
		if (strcmp(tok, alg) == 0)
			return true;
	return false;
}

static int try_dev(struct wd_queue *q, const char *dev)
{
	const struct wd_drv *drv;
	char api[64];
	int err = uacce_dev_attr(dev, "api", api, sizeof(api));

	if (err < 0)	/* the runtime dir closed to us: say so */
		return err == -EACCES ? err : -ENODEV;
	drv = find_drv(api);
	if (!drv)
		return -ENODEV;
	err = uacce_queue_open(dev, &q->uq);
	if (err)
		return err;
	q->fd = uacce_queue_fd(q->uq);
	q->hw_type = drv->api;
	q->dev_flags = uacce_queue_flags(q->uq);
	q->iommu_type = (int)q->dev_flags;
	err = uacce_queue_start(q->uq);
	if (!err)
		err = drv->open(q);
	if (err) {
		uacce_queue_close(q->uq);
		q->uq = NULL;
		q->fd = -1;
	}
	return err;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

UACCE_EXPORT int wd_request_queue(struct wd_queue *q)
{
	char path[512], *names[256];
	struct dirent *de;
	int n = 0, err = -ENODEV;
	DIR *d;

	q->uq = NULL;
	q->fd = -1;
	q->ss_va = q->ss_dma = NULL;
	if (q->dev_path[0]) {
		const char *base = strrchr(q->dev_path, '/');

		return try_dev(q, base ? base + 1 : q->dev_path);
	}
	if (!q->capa.alg)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/class", uacce_runtime_dir());
	d = opendir(path);
	if (!d)
		return errno == EACCES ? -EACCES : -ENODEV;
	/* every device: v4 nodes are uacce-<name>-<id>, mainline ones <name>-<id> */
	while ((de = readdir(d)) && n < 256)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
	for (int i = 0; i < n; i++) {
		if (err && names[i] && has_alg(names[i], q->capa.alg)) {
			int r = try_dev(q, names[i]);

			if (!r)
				snprintf(q->dev_path, sizeof(q->dev_path), "%s", names[i]);
			/* keep the most telling error: busy beats "no such device" */
			if (r == 0 || err == -ENODEV)
				err = r;
		}
		free(names[i]);
	}
	return err;
}

UACCE_EXPORT void wd_release_queue(struct wd_queue *q)
{
	const struct wd_drv *drv = drv_of(q);

	if (!drv)
		return;
	drv->close(q);
	uacce_queue_close(q->uq);
	q->uq = NULL;
	q->fd = -1;
	q->ss_va = q->ss_dma = NULL;
}

UACCE_EXPORT int wd_send(struct wd_queue *q, void *req)
{
	const struct wd_drv *drv = drv_of(q);

	return drv ? drv->send(q, req) : -EINVAL;
}

UACCE_EXPORT int wd_recv(struct wd_queue *q, void **resp)
{
	const struct wd_drv *drv = drv_of(q);

	return drv ? drv->recv(q, resp) : -EINVAL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

UACCE_EXPORT int wd_recv_sync(struct wd_queue *q, void **resp, __u16 ms)
{
	const struct wd_drv *drv = drv_of(q);
	uint64_t start = now_ns(), deadline = start + (uint64_t)ms * 1000000ULL;

	if (!drv)
		return -EINVAL;
	/* a software or hardware device answers in microseconds: spin first */
	while (now_ns() - start < RECV_SPIN_NS) {
		if (drv->ready(q))
			return drv->recv(q, resp);
	}
	for (;;) {
		int r = drv->recv(q, resp), left;

		if (r != 0)
			return r;
		if (ms) {
			uint64_t now = now_ns();

			if (now >= deadline)
				return -ETIMEDOUT;
			left = (int)((deadline - now + 999999) / 1000000);
		} else {
			left = -1;
		}
		r = uacce_queue_wait(q->uq, left);
		if (r < 0)
			return r;
	}
}

UACCE_EXPORT void wd_flush(struct wd_queue *q)
{
	const struct wd_drv *drv = drv_of(q);

	if (drv)
		drv->flush(q);
}

UACCE_EXPORT void *wd_reserve_memory(struct wd_queue *q, size_t size)
{
	void *p = NULL;
	int err;

	if (!q->uq) {
		errno = EINVAL;
		return NULL;
	}
	/* mainline has no SS: a non-SVA dummy takes data from its DUS */
	if (q->uq->mainline)
		err = uacce_ml_data_area(q->uq, strcmp(q->hw_type, "dummy_v1") == 0 ?
					 DUMMY_V1_ML_DATA_OFFSET : DUMMY_V2_ML_DATA_OFFSET,
					 size, &p, NULL);
	else
		err = uacce_map_region(q->uq, UACCE_QFRT_SS, size, &p);
	if (err) {
		errno = -err;
		return NULL;
	}
	q->ss_va = q->ss_dma = p;
	return p;
}

UACCE_EXPORT int wd_share_reserved_memory(struct wd_queue *q, struct wd_queue *target_q)
{
	int err;

	if (!q->uq || !target_q->uq)
		return -EINVAL;
	err = uacce_queue_share_ss(target_q->uq, q->uq);
	if (!err)
		target_q->ss_va = target_q->ss_dma = q->ss_va;
	return err;
}
