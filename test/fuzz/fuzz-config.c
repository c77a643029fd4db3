/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-config - config_parse() (daemon/config.c, the quotas section of
 * daemon/config_quota.c) on arbitrary text, then everything a reload does
 * with a parsed configuration that does not touch devices: the summaries,
 * device entry comparison, the backends' entry checks and the policy's
 * limits for a few identities; then config_free, twice (it must be
 * idempotent).  The input is the text (a NUL ends it early, as it would
 * a file read by config_load).
 */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "uacced_config.h"
#include "fuzz_common.h"
#include "policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_init();
	return 0;
}

static void use_config(const struct uacce_config *c)
{
	static const gid_t groups[] = { 0, 100, 1000 };
	const struct uacce_ident ids[] = {
		{ .uid = 0, .gid = 0 },
		{ .uid = 1000, .gid = 1000, .groups = groups, .ngroups = 3 },
		{ .uid = 65534, .gid = 65534 },
	};
	char buf[512], why[256];

	config_summary(c, buf, sizeof(buf));
	config_sources(c, buf, sizeof(buf));
	FUZZ_CHECK(c->ndev >= 0 && c->ndev <= CONFIG_MAX_DEVICES, "ndev %d", c->ndev);
	FUZZ_CHECK(c->policy, "parsed without a policy");
	for (int i = 0; i < c->ndev; i++) {
		const struct uacce_dev_cfg *d = &c->devs[i];
		const struct uacce_backend_cfg_ops *ops = uacce_backend_cfg_find(d->backend);

		FUZZ_CHECK(d->name && d->backend && ops, "device %d incomplete", i);
		FUZZ_CHECK(config_dev_equal(d, d), "device %d differs from itself", i);
		if (i)
			(void)config_dev_equal(d, &c->devs[i - 1]);
		/* the entry passed its backend's check when parsed: again, same answer */
		FUZZ_CHECK(ops->check(d, why, sizeof(why)) == 0, "device %d: %s", i, why);
	}
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
		const char *pats[16], *by;
		struct policy_limits l;

		policy_resolve(c->policy, &ids[k], &l);
		(void)policy_device_patterns(c->policy, &ids[k], pats, 16, &by);
		for (int i = 0; i < c->ndev; i++)
			(void)policy_device_allowed(c->policy, &ids[k], c->devs[i].name,
						    c->devs[i].name, &by);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uacce_config c;
	char err[512];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (config_parse(text, "fuzz.json", &c, err, sizeof(err)) == 0)
		use_config(&c);
	else
		FUZZ_CHECK(err[0], "an error without a message");
	config_free(&c);
	config_free(&c);
	free(text);
	return 0;
}
