/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uacced - userspace uacce accelerator daemon.
 *
 * Set-up in order (config, core + devices + policy, runtime dir +
 * attributes, frontend, broker, control socket), one main loop (signals
 * and owner-death pidfds), and teardown in reverse.  A reload (SIGHUP, or
 * "uaccectl reload" on the control thread) swaps the configuration under
 * reload_lock: see reload().
 */
#define _GNU_SOURCE
#include "config.h"	/* autoconf: PACKAGE_VERSION */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "attrs.h"
#include "broker.h"
#include "uacced_config.h"
#include "control.h"
#include "core.h"
#include "backend.h"
#include "frontend.h"
#include "hotplug.h"
#include "log.h"
#include "notify.h"

/*
 * A device entry of the configuration; its id is its index in
 * daemon::devs.  Entries of backends that bind hardware keep their id
 * while their hardware is away (stable names), without a device.
 */
struct dm_dev {
	bool used;			/* false: the id is free */
	struct uacce_dev_cfg cfg;	/* the entry (cfg.entry: a reference) */
	struct uacce_dev *dev;		/* a reference; NULL: not registered */
	const struct uacce_backend_hw_ops *hw;	/* its backend's hardware ops, if it binds hardware */
	bool released;			/* hardware taken back: wait until it goes */
	bool create_failed;		/* there, but the backend could not use it:
					   retried at its own uevents and reloads */
	int release_fd;			/* watched release fd + 1; 0: none */
	char why[200];			/* why it waits (logged once per reason) */
};

struct daemon {
	const char *config_path;
	bool config_explicit;
	const char *frontend;		/* auto | cuse | fuse */
	char rundir[256];
	char fuse_dir[300];
	bool check_only;
	enum log_target log_target;
	pthread_mutex_t reload_lock;	/* cfg, devs, node perms: reloads, teardown */
	struct uacce_config cfg;
	struct uacce_core *core;
	struct dm_dev devs[CONFIG_MAX_DEVICES];
	int ndev;
	struct fe_opts fo;		/* node permissions in force */
	struct frontend *fe;
	struct broker *broker;
	struct control *ctl;
	struct hotplug *hp;		/* uevents, once an entry binds hardware */
	int epfd;
	int sigfd;
};

/* --- core hooks ---------------------------------------------------------- */

static void hook_instances(struct uacce_dev *d, void *ctx)
{
	struct daemon *dm = ctx;

	attrs_update_instances(dm->rundir, d);
}

static int hook_watch(struct uacce_queue *q, int pidfd, void *ctx)
{
	struct daemon *dm = ctx;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = uq_id(q) };

	return epoll_ctl(dm->epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0 ? -errno : 0;
}

static void hook_unwatch(struct uacce_queue *q, int pidfd, void *ctx)
{
	struct daemon *dm = ctx;

	(void)q;
	epoll_ctl(dm->epfd, EPOLL_CTL_DEL, pidfd, NULL);
}

/* --- options --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: uacced [OPTION]...\n"
		"Publish uacce accelerator devices (/dev/uacce-<name>-<id>) to unprivileged\n"
		"programs through CUSE, or a FUSE mount where the kernel has no CUSE.\n\n"
		"  -f, --foreground        stay in the foreground (the default; uacced\n"
		"                          never forks, systemd runs it as Type=notify)\n"
		"  -c, --config FILE       configuration (default %s;\n"
		"                          if that does not exist: the embedded default)\n"
		"      --frontend KIND     auto (default), cuse or fuse\n"
		"      --runtime-dir DIR   runtime files (default /run/uacce)\n"
		"      --fuse-dir DIR      FUSE fallback mount point (default <runtime-dir>/dev)\n"
		"      --check-config      validate the configuration and exit\n"
		"      --log-target T      auto (default: the journal when stderr is\n"
		"                          connected to it), console or journal\n"
		"  -v, --verbose           debug logging\n"
		"      --version           print the version and exit\n"
		"  -h, --help              this help\n",
		CONFIG_DEFAULT_PATH);
}

static int parse_args(struct daemon *dm, int argc, char **argv)
{
	enum { O_FRONTEND = 256, O_RUNDIR, O_FUSEDIR, O_CHECK, O_VERSION, O_LOGTARGET };
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "frontend", required_argument, NULL, O_FRONTEND },
		{ "runtime-dir", required_argument, NULL, O_RUNDIR },
		{ "fuse-dir", required_argument, NULL, O_FUSEDIR },
		{ "check-config", no_argument, NULL, O_CHECK },
		{ "log-target", required_argument, NULL, O_LOGTARGET },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	dm->config_path = CONFIG_DEFAULT_PATH;
	dm->frontend = "auto";
	snprintf(dm->rundir, sizeof(dm->rundir), "/run/uacce");
	while ((c = getopt_long(argc, argv, "fc:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			break;
		case 'c':
			dm->config_path = optarg;
			dm->config_explicit = true;
			break;
		case O_FRONTEND:
			if (strcmp(optarg, "auto") && strcmp(optarg, "cuse") && strcmp(optarg, "fuse")) {
				fprintf(stderr, "uacced: --frontend: auto, cuse or fuse\n");
				return 2;
			}
			dm->frontend = optarg;
			break;
		case O_RUNDIR:
			if (snprintf(dm->rundir, sizeof(dm->rundir), "%s", optarg) >=
			    (int)sizeof(dm->rundir) - 40) {
				fprintf(stderr, "uacced: --runtime-dir: path too long\n");
				return 2;
			}
			break;
		case O_FUSEDIR:
			snprintf(dm->fuse_dir, sizeof(dm->fuse_dir), "%s", optarg);
			break;
		case O_CHECK:
			dm->check_only = true;
			break;
		case O_LOGTARGET:
			if (log_target_parse(optarg, &dm->log_target)) {
				fprintf(stderr, "uacced: --log-target: auto, console or journal\n");
				return 2;
			}
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case O_VERSION:
			printf("uacced %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "uacced: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!dm->fuse_dir[0])
		snprintf(dm->fuse_dir, sizeof(dm->fuse_dir), "%s/dev", dm->rundir);
	return 0;
}

/* --- set-up ------------------------------------------------------------------ */

static int write_runfile(const char *rundir, const char *name, const char *val)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", rundir, name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", val);
	return fclose(f) ? -errno : 0;
}

static void remove_runfiles(struct daemon *dm)
{
	static const char *const names[] = { "devdir", "uacced.pid" };
	char path[320];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dm->rundir, names[i]);
		unlink(path);
	}
}

/* another daemon alive on this runtime dir? */
static bool rundir_in_use(const char *rundir)
{
	char path[320], comm[64] = "";
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/uacced.pid", rundir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || pid == getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "uacced", 6) == 0;
}

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d))) {
		char sub[600];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			rm_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

/* files a daemon that died left behind: attributes, socket, pid */
static void remove_stale(struct daemon *dm)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/class", dm->rundir);
	if (access(path, F_OK) == 0)
		log_info("%s: removing runtime files left by a previous daemon", dm->rundir);
	rm_tree(path);
	remove_runfiles(dm);
}

static void node_perms(const struct uacce_config *c, struct fe_opts *o)
{
	struct group *gr = getgrnam(c->group);

	o->mode = c->mode;
	o->uid = c->owner_uid;
	o->gid = 0;
	if (gr) {
		o->gid = gr->gr_gid;
	} else {
		log_warn("group \"%s\" does not exist: device nodes get group root, mode %04o "
			 "(create it with: groupadd --system %s)",
			 c->group, (unsigned)o->mode, c->group);
	}
	if (o->mode & 0002)
		log_warn("node mode %04o lets every user open the devices", (unsigned)o->mode);
}

/* --- devices ------------------------------------------------------------------ */

/*
 * epoll tags: 0 is the signalfd, queue ids (from 1, far below 2^62) are
 * owner pidfds, and these two.
 */
#define EV_HOTPLUG	(1ULL << 63)
#define EV_RELEASE	(1ULL << 62)	/* | entry id: its hardware is wanted back */

/* the entry's backend when it binds hardware, else NULL */
static const struct uacce_backend_hw_ops *binds_hw(const struct uacce_dev_cfg *cfg)
{
	const struct uacce_backend_ops *ops = uacce_backend_find(cfg->backend);

	return ops ? ops->hw : NULL;
}

/* entry `id` holds cfg (a reference to its JSON); no device yet */
static void entry_set(struct daemon *dm, int id, const struct uacce_dev_cfg *cfg)
{
	struct dm_dev *dd = &dm->devs[id];

	memset(dd, 0, sizeof(*dd));
	dd->used = true;
	dd->cfg = *cfg;
	dd->hw = binds_hw(cfg);
	json_object_get(cfg->entry);
}

/* register entry id's device (not yet published); d: made already, or NULL */
static int dev_create(struct daemon *dm, int id, struct uacce_dev *d)
{
	struct dm_dev *dd = &dm->devs[id];
	int err = 0, fd;

	if (!d)
		err = core_add_device(dm->core, uacce_backend_find(dd->cfg.backend), &dd->cfg, id, &d);
	if (err)
		return err;
	dd->dev = d;
	dm->ndev++;
	fd = ud_hw_release_fd(d);
	if (fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_RELEASE | (uint64_t)id };

		if (epoll_ctl(dm->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
			dd->release_fd = fd + 1;	/* 0: none */
		else
			ulog_ctx(LOG_WARNING, UD_LOG_CTX(d), "%s: cannot watch its release "
				 "interrupt: %m", ud_name(d));
	}
	return 0;
}

/* revoke its queues (ENODEV), unpublish and unregister it; the entry stays */
static void dev_unregister(struct daemon *dm, int id)
{
	struct dm_dev *dd = &dm->devs[id];

	if (!dd->dev)
		return;
	if (dd->release_fd)
		epoll_ctl(dm->epfd, EPOLL_CTL_DEL, dd->release_fd - 1, NULL);
	dd->release_fd = 0;
	core_remove_device(dd->dev);
	if (dm->fe)
		frontend_remove_device(dm->fe, dd->dev);
	attrs_remove(dm->rundir, dd->dev);
	ud_unref(dd->dev);
	dd->dev = NULL;
	dm->ndev--;
}

/* unregister its device and forget the entry */
static void dev_destroy(struct daemon *dm, int id)
{
	struct dm_dev *dd = &dm->devs[id];

	if (!dd->used)
		return;
	dev_unregister(dm, id);
	json_object_put(dd->cfg.entry);
	memset(dd, 0, sizeof(*dd));
}

static int dev_publish(struct daemon *dm, int id);

static int hw_waiting(const struct daemon *dm)
{
	int n = 0;

	for (int id = 0; id < CONFIG_MAX_DEVICES; id++)
		n += dm->devs[id].used && !dm->devs[id].dev;
	return n;
}

/*
 * An entry whose backend binds hardware: register its device when the
 * hardware is there (and was not just taken back), else say once why it
 * waits.  `how`: what made us look, for the log.
 */
static void hw_try(struct daemon *dm, int id, const char *how)
{
	struct dm_dev *dd = &dm->devs[id];
	char why[sizeof(dd->why)];
	int err;

	if (!dd->used || !dd->hw || dd->dev || dd->released)
		return;
	err = dd->hw->present(&dd->cfg, why, sizeof(why));
	if (!err) {
		err = dev_create(dm, id, NULL);
		dd->create_failed = err != 0;
		if (err)
			snprintf(why, sizeof(why), "its hardware is there but cannot be used: %s "
				 "(the reason is in the log; retried at its next uevent or reload)",
				 strerror(-err));
		else if ((err = dev_publish(dm, id)) != 0) {
			dev_unregister(dm, id);
			snprintf(why, sizeof(why), "it cannot be published: %s", strerror(-err));
		}
	}
	if (!err) {
		ulog_ctx(LOG_INFO, UD_LOG_CTX(dd->dev), "%s: registered (%s, %s)",
			 ud_name(dd->dev), dd->cfg.backend, how);
		dd->why[0] = '\0';
		return;
	}
	if (strcmp(why, dd->why) != 0) {	/* once per reason */
		char name[64];

		snprintf(name, sizeof(name), "uacce-%s-%d", dd->cfg.name, id);
		ulog_ctx(LOG_INFO, &(struct ulog_ctx){ .device = name },
			 "%s (devices[%d], backend %s): waiting for its hardware: %s", name, id,
			 dd->cfg.backend, why);
	}
	snprintf(dd->why, sizeof(dd->why), "%s", why);
}

static void status_update(struct daemon *dm, const char *extra)
{
	int waiting = hw_waiting(dm);
	char w[64] = "";

	if (waiting)
		snprintf(w, sizeof(w), ", %d waiting for hardware", waiting);
	notify_send("STATUS=%d device(s) in %s%s%s", dm->ndev, frontend_dev_dir(dm->fe), w,
		    extra ? extra : "");
}

/* the kernel wants the hardware of entry id back (unbind, unplug) */
static void hw_release(struct daemon *dm, int id)
{
	struct dm_dev *dd = &dm->devs[id];
	uint64_t n;

	if (id < 0 || id >= CONFIG_MAX_DEVICES || !dd->dev || !dd->release_fd)
		return;
	/*
	 * A stale event (its fd was closed earlier in this batch of epoll
	 * events, and a new device took the entry) finds nothing to read.
	 */
	if (read(dd->release_fd - 1, &n, sizeof(n)) != sizeof(n))
		return;
	ulog_ctx(LOG_NOTICE, UD_LOG_CTX(dd->dev), "%s: the kernel asks for its hardware back "
		 "(unbind or unplug): queues revoked (ENODEV), device unregistered",
		 ud_name(dd->dev));
	dev_unregister(dm, id);
	dd->released = true;
	dd->why[0] = '\0';
}

static int hotplug_start(struct daemon *dm);

/* a uevent: re-check the entries it concerns */
static void on_uevent(struct daemon *dm, const struct hotplug_event *ev)
{
	char how[160];

	snprintf(how, sizeof(how), "uevent %s %s%s%s", ev->action, ev->sysname,
		 ev->driver[0] ? " driver " : "", ev->driver);
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++) {
		struct dm_dev *dd = &dm->devs[id];
		char why[sizeof(dd->why)];

		if (!dd->used || !dd->hw)
			continue;
		if (!dd->hw->uevent(&dd->cfg, ev->subsystem, ev->sysname))
			continue;
		log_debug("devices[%d]: %s", id, how);
		dd->create_failed = false;
		/*
		 * Taken back and gone: the next arrival is new.  An unbind or
		 * remove says so even when sysfs already shows it bound again
		 * (unbind and bind before we read the socket).
		 */
		if (!strcmp(ev->action, "remove") || !strcmp(ev->action, "unbind"))
			dd->released = false;
		if (dd->hw->present(&dd->cfg, why, sizeof(why)) != 0) {
			dd->released = false;	/* gone: the next arrival is new */
			if (dd->dev) {
				ulog_ctx(LOG_NOTICE, UD_LOG_CTX(dd->dev), "%s: its hardware is gone "
					 "(%s): queues revoked (ENODEV), device unregistered",
					 ud_name(dd->dev), why);
				dev_unregister(dm, id);
			}
		}
		hw_try(dm, id, how);
	}
}

static void hotplug_drain(struct daemon *dm)
{
	struct hotplug_event ev;

	pthread_mutex_lock(&dm->reload_lock);
	while (hotplug_next(dm->hp, &ev) == 0)
		on_uevent(dm, &ev);
	/*
	 * uevents can be lost (a full socket buffer): look at every waiting
	 * entry, but do not retry (and log) a failed open at every uevent of
	 * some other device
	 */
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++)
		if (!dm->devs[id].create_failed)
			hw_try(dm, id, "a uevent");
	status_update(dm, NULL);
	pthread_mutex_unlock(&dm->reload_lock);
}

/* attributes, then the node (with the frontend running) */
static int dev_publish(struct daemon *dm, int id)
{
	struct uacce_dev *d = dm->devs[id].dev;
	int err = attrs_publish(dm->rundir, d);

	if (err) {
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: cannot publish attributes in %s: %s",
			 ud_name(d), dm->rundir, strerror(-err));
		return err;
	}
	return dm->fe ? frontend_add_device(dm->fe, d) : 0;
}

/* listen to uevents (once; the first entry that binds hardware asks) */
static int hotplug_start(struct daemon *dm)
{
	const char *subs[CONFIG_MAX_DEVICES + 1] = { NULL };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_HOTPLUG };
	int n = 0, err;

	if (dm->hp)
		return 0;
	for (size_t i = 0; uacce_backend_nth(i) && n < CONFIG_MAX_DEVICES; i++) {
		const struct uacce_backend_hw_ops *hw = uacce_backend_nth(i)->hw;
		const char *sub = hw ? hw->subsystem : NULL;
		bool dup = false;

		for (int k = 0; k < n && sub; k++)
			dup |= strcmp(subs[k], sub) == 0;
		if (sub && !dup)
			subs[n++] = sub;
	}
	err = hotplug_open(subs, &dm->hp);
	if (!err && epoll_ctl(dm->epfd, EPOLL_CTL_ADD, hotplug_fd(dm->hp), &ev) < 0) {
		err = -errno;
		hotplug_close(dm->hp);
		dm->hp = NULL;
	}
	if (err)
		log_err("cannot listen to kernel uevents (hardware hot-plug): %s", strerror(-err));
	else
		log_debug("listening to kernel uevents for hardware hot-plug");
	return err;
}

/* --- reload ------------------------------------------------------------------ */

/*
 * How the devices of a new configuration map onto the registered ones:
 * an entry equal to a registered device keeps it (id, node, open queues;
 * first match in id order, entries in file order); registered devices
 * left over are removed; the other entries get the lowest free ids, in
 * file order (the kernel's idr does the same), the ids of removed
 * devices included.
 */
struct plan {
	int id[CONFIG_MAX_DEVICES];	/* per new entry: its id */
	bool keep[CONFIG_MAX_DEVICES];	/* per new entry: an existing device */
	bool gone[CONFIG_MAX_DEVICES];	/* per id: removed */
	struct uacce_dev *made[CONFIG_MAX_DEVICES];	/* per new entry: created */
	int kept, added, removed;
};

static void plan_devices(struct daemon *dm, const struct uacce_config *nc, struct plan *p)
{
	bool claimed[CONFIG_MAX_DEVICES] = { false }, taken[CONFIG_MAX_DEVICES];

	memset(p, 0, sizeof(*p));
	for (int j = 0; j < nc->ndev; j++) {
		p->id[j] = -1;
		for (int id = 0; id < CONFIG_MAX_DEVICES && p->id[j] < 0; id++) {
			if (!dm->devs[id].used || claimed[id] ||
			    !config_dev_equal(&dm->devs[id].cfg, &nc->devs[j]))
				continue;
			claimed[id] = p->keep[j] = true;
			p->id[j] = id;
			p->kept++;
		}
	}
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++) {
		p->gone[id] = dm->devs[id].used && !claimed[id];
		p->removed += p->gone[id];
		taken[id] = claimed[id];
	}
	for (int j = 0; j < nc->ndev; j++) {
		if (p->keep[j])
			continue;
		for (int id = 0; id < CONFIG_MAX_DEVICES && p->id[j] < 0; id++)
			if (!taken[id])
				taken[id] = true, p->id[j] = id;
		p->added++;
	}
}

/* create the added devices (unpublished); all or none */
static int plan_create(struct daemon *dm, const struct uacce_config *nc, struct plan *p,
		       char *msg, size_t len)
{
	for (int j = 0; j < nc->ndev; j++) {
		int err;

		if (p->keep[j] || binds_hw(&nc->devs[j]))	/* those come when they can */
			continue;
		err = core_add_device(dm->core, uacce_backend_find(nc->devs[j].backend), &nc->devs[j],
				      p->id[j], &p->made[j]);
		if (!err)
			continue;
		snprintf(msg, len, "%s: devices[%d] (\"%s\", backend %s): the device cannot be "
			 "created: %s", nc->origin, j, nc->devs[j].name, nc->devs[j].backend,
			 strerror(-err));
		for (int k = 0; k < j; k++) {
			if (p->made[k]) {
				core_remove_device(p->made[k]);
				ud_unref(p->made[k]);
			}
		}
		return err;
	}
	return 0;
}

/* the swap: policy, removals, additions; returns the devices not published */
static int plan_apply(struct daemon *dm, const struct uacce_config *nc, struct plan *p)
{
	int failed = 0;

	core_set_policy(dm->core, nc->policy);
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++)
		if (p->gone[id])
			dev_destroy(dm, id);
	for (int j = 0; j < nc->ndev; j++) {
		struct dm_dev *dd = &dm->devs[p->id[j]];

		if (p->keep[j])
			continue;
		entry_set(dm, p->id[j], &nc->devs[j]);
		if (dd->hw) {
			if (hotplug_start(dm) == 0)
				hw_try(dm, p->id[j], "reload");
			continue;
		}
		dev_create(dm, p->id[j], p->made[j]);
		if (dev_publish(dm, p->id[j])) {
			ulog_ctx(LOG_ERR, UD_LOG_CTX(dd->dev),
				 "%s: the new device could not be published: removed again",
				 ud_name(dd->dev));
			dev_destroy(dm, p->id[j]);
			failed++;
		}
	}
	return failed;
}

static void apply_perms(struct daemon *dm, const struct uacce_config *nc)
{
	struct fe_opts fo = dm->fo;

	node_perms(nc, &fo);
	if (fo.uid == dm->fo.uid && fo.gid == dm->fo.gid && fo.mode == dm->fo.mode)
		return;
	log_info("device nodes: owner %u, group %u, mode %04o from now on", (unsigned)fo.uid,
		 (unsigned)fo.gid, (unsigned)fo.mode);
	frontend_set_perms(dm->fe, fo.uid, fo.gid, fo.mode);
	dm->fo = fo;
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Parse and check the configuration, then swap it in: 0 with a summary in
 * msg, or -errno with the reason in msg, the old configuration in force.
 * Open queues of kept devices are untouched; queues of removed devices
 * get ENODEV.  SIGHUP (main thread) and the control socket (its thread).
 */
static int reload(struct daemon *dm, char *msg, size_t len)
{
	struct uacce_config nc;
	struct plan *p = NULL;
	char err[1024], src[400], sum[256];
	int r, failed = 0;

	pthread_mutex_lock(&dm->reload_lock);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		    (unsigned long long)monotonic_usec());
	r = config_load(dm->config_path, dm->config_explicit, &nc, err, sizeof(err));
	if (r) {
		snprintf(msg, len, "%s", err);
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		config_free(&nc);
		r = -ENOMEM;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	plan_devices(dm, &nc, p);
	r = plan_create(dm, &nc, p, msg, len);
	if (r) {
		config_free(&nc);
		goto out;
	}
	failed = plan_apply(dm, &nc, p);
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++) {	/* kept ones waiting too */
		dm->devs[id].create_failed = false;
		hw_try(dm, id, "reload");
	}
	apply_perms(dm, &nc);
	control_set_admin_group(dm->ctl, nc.admin_group_set, nc.admin_gid, nc.admin_group);
	config_free(&dm->cfg);
	dm->cfg = nc;
	config_sources(&dm->cfg, src, sizeof(src));
	config_summary(&dm->cfg, sum, sizeof(sum));
	snprintf(msg, len, "reloaded %s: %s; devices: %d kept, %d added, %d removed%s%s", src, sum,
		 p->kept, p->added - failed, p->removed,
		 failed ? "; some new devices could not be published (see the log)" : "",
		 hw_waiting(dm) ? "; some wait for their hardware (see the log)" : "");
	log_info("%s", msg);
out:
	if (r)
		log_err("reload refused, the previous configuration stays in force: %s", msg);
	notify_send("READY=1");
	status_update(dm, r ? " (the last reload was refused)" : NULL);
	pthread_mutex_unlock(&dm->reload_lock);
	free(p);
	return r;
}

static int ctl_reload(void *ctx, char *msg, size_t len)
{
	return reload(ctx, msg, len);
}

static const char *dm_dev_dir(void *ctx)
{
	struct daemon *dm = ctx;

	return frontend_dev_dir(dm->fe);
}

static int dm_waiting(void *ctx, struct control_waiting *w, int max)
{
	struct daemon *dm = ctx;
	int n = 0;

	pthread_mutex_lock(&dm->reload_lock);
	for (int id = 0; id < CONFIG_MAX_DEVICES && n < max; id++) {
		const struct dm_dev *dd = &dm->devs[id];

		if (!dd->used || dd->dev)
			continue;
		w[n].id = id;
		snprintf(w[n].name, sizeof(w[n].name), "uacce-%s-%d", dd->cfg.name, id);
		snprintf(w[n].backend, sizeof(w[n].backend), "%s", dd->cfg.backend);
		snprintf(w[n].reason, sizeof(w[n].reason), "%s",
			 dd->why[0] ? dd->why : "released by the kernel, not back yet");
		n++;
	}
	pthread_mutex_unlock(&dm->reload_lock);
	return n;
}

static int choose_frontend(struct daemon *dm, enum fe_kind *kind)
{
	if (strcmp(dm->frontend, "fuse") == 0) {
		*kind = FE_FUSE;
		return 0;
	}
	if (frontend_cuse_available()) {
		*kind = FE_CUSE;
		return 0;
	}
	if (strcmp(dm->frontend, "cuse") == 0) {
		log_err("--frontend cuse: /dev/cuse is not available (modprobe cuse failed)");
		return -ENODEV;
	}
	log_info("no CUSE on this kernel: using the FUSE fallback in %s", dm->fuse_dir);
	*kind = FE_FUSE;
	return 0;
}

static int setup(struct daemon *dm)
{
	struct uacce_core_hooks hooks = {
		.ctx = dm,
		.instances_changed = hook_instances,
		.watch_owner = hook_watch,
		.unwatch_owner = hook_unwatch,
	};
	const struct control_ops ctl_ops = {
		.ctx = dm,
		.reload = ctl_reload,
		.dev_dir = dm_dev_dir,
		.waiting = dm_waiting,
	};
	struct fe_opts fo = { .fuse_dir = dm->fuse_dir };
	struct uacce_dev *devs[CONFIG_MAX_DEVICES];
	char pid[32], src[400], sum[256];
	sigset_t mask;
	int err, nreg = 0;

	dm->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	dm->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (dm->epfd < 0 || dm->sigfd < 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	epoll_ctl(dm->epfd, EPOLL_CTL_ADD, dm->sigfd, &ev);

	if (mkdir(dm->rundir, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		log_err("%s: %s", dm->rundir, strerror(errno));
		return err;
	}
	if (rundir_in_use(dm->rundir)) {
		log_err("%s: another uacced is running with this runtime directory", dm->rundir);
		return -EEXIST;
	}
	remove_stale(dm);
	err = core_new(&hooks, &dm->core);
	if (err)
		return err;
	core_set_policy(dm->core, dm->cfg.policy);
	for (int i = 0; i < dm->cfg.ndev; i++) {
		entry_set(dm, i, &dm->cfg.devs[i]);
		if (dm->devs[i].hw) {
			/* listen first: hardware that comes meanwhile is not missed */
			err = hotplug_start(dm);
			if (err)
				return err;
			hw_try(dm, i, "start-up");	/* attributes only: no frontend yet */
			if (dm->devs[i].dev)
				devs[nreg++] = dm->devs[i].dev;
			continue;
		}
		err = dev_create(dm, i, NULL);
		if (!err)
			err = dev_publish(dm, i);	/* attributes: no frontend yet */
		if (err)
			return err;
		devs[nreg++] = dm->devs[i].dev;
	}
	err = choose_frontend(dm, &fo.kind);
	if (err)
		return err;
	node_perms(&dm->cfg, &fo);
	dm->fo = fo;
	err = frontend_start(&fo, dm->core, devs, nreg, &dm->fe);
	if (err)
		return err;
	err = broker_start(dm->rundir, dm->core, dm->fe, &dm->broker);
	if (err)
		return err;
	err = control_start(dm->rundir, dm->core, &ctl_ops, &dm->ctl);
	if (err)
		return err;
	control_set_admin_group(dm->ctl, dm->cfg.admin_group_set, dm->cfg.admin_gid,
				dm->cfg.admin_group);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	err = write_runfile(dm->rundir, "devdir", frontend_dev_dir(dm->fe));
	if (!err)
		err = write_runfile(dm->rundir, "uacced.pid", pid);
	if (err)
		return err;
	config_sources(&dm->cfg, src, sizeof(src));
	config_summary(&dm->cfg, sum, sizeof(sum));
	log_info("ready: %d device(s) in %s%s, config %s (%s), runtime dir %s", dm->ndev,
		 frontend_dev_dir(dm->fe), hw_waiting(dm) ? " (others wait for hardware)" : "",
		 src, sum, dm->rundir);
	/* every node exists with its final mode: frontend_start waited for it */
	notify_send("READY=1\nMAINPID=%d", (int)getpid());
	status_update(dm, NULL);
	return 0;
}

static void teardown(struct daemon *dm)
{
	if (dm->core)	/* only what this daemon created */
		remove_runfiles(dm);
	control_stop(dm->ctl);	/* no reload from now on */
	broker_stop(dm->broker);
	frontend_stop(dm->fe);	/* open queues are released here */
	dm->fe = NULL;
	for (int i = 0; i < CONFIG_MAX_DEVICES; i++)
		dev_destroy(dm, i);
	hotplug_close(dm->hp);
	dm->hp = NULL;
	core_free(dm->core);
	config_free(&dm->cfg);
	if (dm->sigfd >= 0)
		close(dm->sigfd);
	if (dm->epfd >= 0)
		close(dm->epfd);
}

static void run(struct daemon *dm)
{
	uint64_t wd = notify_watchdog_usec();
	int timeout = wd ? (int)(wd / 2000) : -1;	/* ping at half the interval */

	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(dm->epfd, evs, 32, timeout);

		if (wd)
			notify_send("WATCHDOG=1");

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %m");
			return;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == 0) {
				struct signalfd_siginfo si;

				if (read(dm->sigfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					char msg[1024];

					log_info("SIGHUP: reloading the configuration");
					reload(dm, msg, sizeof(msg));
					continue;
				}
				log_info("signal %d: shutting down", (int)si.ssi_signo);
				notify_send("STOPPING=1");
				return;
			}
			if (evs[i].data.u64 == EV_HOTPLUG) {
				hotplug_drain(dm);
				continue;
			}
			if (evs[i].data.u64 & EV_RELEASE) {
				pthread_mutex_lock(&dm->reload_lock);
				hw_release(dm, (int)(evs[i].data.u64 & ~EV_RELEASE));
				status_update(dm, NULL);
				pthread_mutex_unlock(&dm->reload_lock);
				continue;
			}
			/* an owner process exited */
			struct uacce_queue *q = core_get_queue(dm->core, evs[i].data.u64);

			if (q) {
				uq_owner_died(q);
				uq_unref(q);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct daemon dm = { .epfd = -1, .sigfd = -1, .reload_lock = PTHREAD_MUTEX_INITIALIZER };
	char err[512];
	int r;

	setvbuf(stderr, NULL, _IOLBF, 0);
	r = parse_args(&dm, argc, argv);
	if (r)
		return r;
	if (dm.check_only)
		return config_check("uacced", dm.config_path, dm.config_explicit, stdout, stderr);
	log_set_target(dm.log_target);
	r = config_load(dm.config_path, dm.config_explicit, &dm.cfg, err, sizeof(err));
	if (r) {
		log_err("configuration rejected: %s", err);
		return 1;
	}
	if (geteuid() != 0)
		log_warn("not running as root: CUSE, FUSE mounts and SVA access need root");
	signal(SIGPIPE, SIG_IGN);
	r = setup(&dm);
	if (r)
		log_err("start-up failed: %s", strerror(-r));
	else
		run(&dm);
	teardown(&dm);
	return r ? 1 : 0;
}
