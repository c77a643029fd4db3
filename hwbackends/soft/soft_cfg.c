/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * soft_cfg.c - the soft backend's configuration part: which entries it
 * takes, without its devices (uaccectl check-config links this alone).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "soft.h"

/* the personalities' names (soft.c has the personalities themselves) */
static const struct {
	const char *api;
	bool pooled;
} apis[] = {
	{ "dummy_v1", false },
	{ "dummy_v2", false },
	{ "uacce_zip_v1", true },
	{ "hisi_qm_v2", false },
};

/* one worker per CPU this daemon may run on */
static int default_workers(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return n;
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

int soft_cfg_workers(const struct uacce_dev_cfg *cfg, bool pooled, int *out, char *why,
		     size_t len)
{
	int64_t n;
	int err;

	*out = default_workers();
	err = uacce_dev_cfg_int(cfg, "workers", &n);
	if (err == -ENOENT)
		return 0;
	if (!pooled) {
		snprintf(why, len, "workers: api %s has a worker per queue", cfg->api);
		return -EINVAL;
	}
	if (err || n < 0 || n > SOFT_MAX_WORKERS) {
		snprintf(why, len, "workers: must be 0 (one per CPU) to %d", SOFT_MAX_WORKERS);
		return -EINVAL;
	}
	if (n > 0)
		*out = (int)n;
	return 0;
}

#define DATA_SIZE_MAX	(1ULL << 30)
#define DATA_SIZE_UNIT	4096ULL

int soft_cfg_data_size(const struct uacce_dev_cfg *cfg, uint64_t *out, char *why, size_t len)
{
	int64_t n;
	int err = uacce_dev_cfg_int(cfg, "data_size", &n);

	if (err == -ENOENT)
		return 0;
	if (cfg->abi != UACCE_ABI_MAINLINE || cfg->sva) {
		snprintf(why, len, "data_size: only for non-SVA devices of \"abi\": \"mainline\" "
			 "(the others have an SS)");
		return -EINVAL;
	}
	if (err || n < (int64_t)DATA_SIZE_UNIT || (uint64_t)n > DATA_SIZE_MAX ||
	    n % (int64_t)DATA_SIZE_UNIT) {
		snprintf(why, len, "data_size: must be a multiple of %llu bytes from %llu to %llu",
			 DATA_SIZE_UNIT, DATA_SIZE_UNIT, DATA_SIZE_MAX);
		return -EINVAL;
	}
	*out = (uint64_t)n;
	return 0;
}

static const char *const soft_keys[] = { "workers", "data_size", NULL };

static int soft_check(const struct uacce_dev_cfg *cfg, char *why, size_t len)
{
	uint64_t data = 0;
	int workers, err;

	if (cfg->api && strcmp(cfg->api, "hisi_qm_v2") == 0 &&
	    (!cfg->sva || cfg->abi != UACCE_ABI_MAINLINE)) {
		snprintf(why, len, "api: hisi_qm_v2 needs \"abi\": \"mainline\" and \"sva\": true "
			 "(its clients map regions by page offset and pass virtual addresses)");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
		if (cfg->api && strcmp(apis[i].api, cfg->api) == 0) {
			err = soft_cfg_workers(cfg, apis[i].pooled, &workers, why, len);
			return err ?: soft_cfg_data_size(cfg, &data, why, len);
		}
	snprintf(why, len, "api: \"%s\" is not one of the soft backend's (dummy_v1, "
		 "dummy_v2, uacce_zip_v1, hisi_qm_v2)", cfg->api);
	return -EINVAL;
}

const struct uacce_backend_cfg_ops soft_cfg_ops = {
	.extra_keys = soft_keys,
	.check = soft_check,
};
