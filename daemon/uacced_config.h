/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uacced_config.h - uacced.json and its drop-ins (uacced.d/NAME.json beside it):
 * node permissions, devices, the policy (quotas) and the control socket.
 * Unknown keys, wrong types, bad values and unknown users or groups are
 * rejected with the file, the key path and the reason.
 *
 * Drop-ins are read in lexical (strcmp) order after the main file and
 * merged over it as JSON merge patches (RFC 7386): objects merge key by
 * key, any other value (arrays included) replaces the earlier one, null
 * deletes the key.  Each file is checked on its own first; the result is
 * checked again as a whole (e.g. "devices" is required somewhere).
 *
 * The code is config.c and config_quota.c; the header is not "config.h",
 * which is autoconf's (PACKAGE_VERSION and the feature macros).
 */
#ifndef UACCED_CONFIG_H
#define UACCED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "backend.h"

struct uacce_policy;

#define CONFIG_DEFAULT_PATH "/etc/uacce/uacced.json"
#define CONFIG_DROPIN_DIR "uacced.d"	/* beside the main file */
#define CONFIG_MAX_DEVICES 64
#define CONFIG_MAX_DROPINS 256
#define CONFIG_MAX_KERNEL 64

/*
 * A "kernel" entry: kernel character devices uacced does not publish but
 * gates (kgate.h): exactly one of `device` (a name or fnmatch(3) pattern of
 * the uacce class devices, /sys/class/uacce/<name>, node /dev/<name>) and
 * `node` (the absolute path of a character device node).
 */
struct uacce_kernel_cfg {
	const char *device;
	const char *node;
};

struct uacce_config {
	char origin[256];		/* main file name, or "(embedded default)" */
	int ndropins;			/* drop-in files merged over it */
	char group[64];			/* node group name (may not exist: a warning) */
	char owner[64];			/* node owner as written ("root") */
	uid_t owner_uid;
	mode_t mode;			/* node mode */
	int ndev;
	struct uacce_dev_cfg devs[CONFIG_MAX_DEVICES];
	int nkernel;			/* "kernel": gated kernel devices */
	struct uacce_kernel_cfg kernel[CONFIG_MAX_KERNEL];
	struct uacce_policy *policy;	/* quotas.*: a reference, never NULL once parsed */
	bool admin_group_set;		/* control.admin_group */
	char admin_group[64];
	gid_t admin_gid;
	struct json_object *root;	/* owns the strings devs point to */
};

/* The embedded default configuration, as JSON text. */
extern const char config_embedded_default[];

/* One whole configuration as text (no drop-ins). */
int config_parse(const char *text, const char *origin, struct uacce_config *c, char *err,
		 size_t errlen);
/*
 * Load `path` and the drop-ins of <dir of path>/uacced.d/; when `path`
 * does not exist and `explicit_path` is false, the embedded default (and
 * the drop-ins).  -errno, with a message in err.
 */
int config_load(const char *path, bool explicit_path, struct uacce_config *c, char *err,
		size_t errlen);
void config_free(struct uacce_config *c);

/* "3 device(s); quotas: default, 2 user(s), 1 group(s); admin group wheel" */
void config_summary(const struct uacce_config *c, char *buf, size_t len);
/* "/etc/uacce/uacced.json (+2 drop-ins)" */
void config_sources(const struct uacce_config *c, char *buf, size_t len);

/*
 * uacced --check-config and uaccectl check-config: load, print the verdict
 * (one line on `out` when valid, "...: <reason>" on `errf` when not).
 * Returns 0 when valid, 1 when not.
 */
int config_check(const char *prog, const char *path, bool explicit_path, FILE *out,
		 FILE *errf);

/* Do two device entries describe the same device (same id on a reload)? */
bool config_dev_equal(const struct uacce_dev_cfg *a, const struct uacce_dev_cfg *b);

#endif
