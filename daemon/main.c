/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uacced - userspace uacce accelerator daemon.
 *
 * Set-up in order (config, core + devices, runtime dir + attributes,
 * frontend, broker), one main loop (signals and owner-death pidfds), and
 * teardown in reverse.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrs.h"
#include "broker.h"
#include "config.h"
#include "core.h"
#include "frontend.h"
#include "log.h"
#include "notify.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

struct daemon {
	const char *config_path;
	bool config_explicit;
	const char *frontend;		/* auto | cuse | fuse */
	char rundir[256];
	char fuse_dir[300];
	bool check_only;
	struct uacce_config cfg;
	struct uacce_core *core;
	struct uacce_dev *devs[CONFIG_MAX_DEVICES];
	int ndev;
	struct frontend *fe;
	struct broker *broker;
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
		"  -v, --verbose           debug logging\n"
		"      --version           print the version and exit\n"
		"  -h, --help              this help\n",
		CONFIG_DEFAULT_PATH);
}

static int parse_args(struct daemon *dm, int argc, char **argv)
{
	enum { O_FRONTEND = 256, O_RUNDIR, O_FUSEDIR, O_CHECK, O_VERSION };
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "frontend", required_argument, NULL, O_FRONTEND },
		{ "runtime-dir", required_argument, NULL, O_RUNDIR },
		{ "fuse-dir", required_argument, NULL, O_FUSEDIR },
		{ "check-config", no_argument, NULL, O_CHECK },
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

static int node_perms(struct daemon *dm, struct fe_opts *o)
{
	struct group *gr = getgrnam(dm->cfg.group);

	o->mode = dm->cfg.mode;
	o->uid = 0;
	o->gid = 0;
	if (gr) {
		o->gid = gr->gr_gid;
	} else {
		log_warn("group \"%s\" does not exist: device nodes stay root:root %04o "
			 "(create it with: groupadd --system %s)",
			 dm->cfg.group, (unsigned)o->mode, dm->cfg.group);
	}
	if (o->mode & 0002)
		log_warn("node mode %04o lets every user open the devices", (unsigned)o->mode);
	return 0;
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
	struct fe_opts fo = { .fuse_dir = dm->fuse_dir };
	sigset_t mask;
	char pid[32];
	int err;

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
	for (int i = 0; i < dm->cfg.ndev; i++) {
		err = core_add_device(dm->core, &dm->cfg.devs[i], i, &dm->devs[i]);
		if (err)
			return err;
		dm->ndev++;
		err = attrs_publish(dm->rundir, dm->devs[i]);
		if (err) {
			log_err("%s: cannot publish attributes in %s: %s", udev_name(dm->devs[i]),
				dm->rundir, strerror(-err));
			return err;
		}
	}
	err = choose_frontend(dm, &fo.kind);
	if (err)
		return err;
	node_perms(dm, &fo);
	err = frontend_start(&fo, dm->core, dm->devs, dm->ndev, &dm->fe);
	if (err)
		return err;
	err = broker_start(dm->rundir, dm->core, dm->fe, &dm->broker);
	if (err)
		return err;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	err = write_runfile(dm->rundir, "devdir", frontend_dev_dir(dm->fe));
	if (!err)
		err = write_runfile(dm->rundir, "uacced.pid", pid);
	if (err)
		return err;
	log_info("ready: %d device(s) in %s, config %s, runtime dir %s", dm->ndev,
		 frontend_dev_dir(dm->fe), dm->cfg.origin, dm->rundir);
	/* every node exists with its final mode: frontend_start waited for it */
	notify_send("READY=1\nSTATUS=%d device(s) in %s\nMAINPID=%d", dm->ndev,
		    frontend_dev_dir(dm->fe), (int)getpid());
	return 0;
}

static void teardown(struct daemon *dm)
{
	if (dm->core)	/* only what this daemon created */
		remove_runfiles(dm);
	broker_stop(dm->broker);
	frontend_stop(dm->fe);	/* open queues are released here */
	for (int i = 0; i < dm->ndev; i++) {
		attrs_remove(dm->rundir, dm->devs[i]);
		core_remove_device(dm->devs[i]);
	}
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
					log_info("SIGHUP: configuration reload is not supported yet");
					continue;
				}
				log_info("signal %d: shutting down", (int)si.ssi_signo);
				notify_send("STOPPING=1");
				return;
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
	struct daemon dm = { .epfd = -1, .sigfd = -1 };
	char err[512];
	int r;

	setvbuf(stderr, NULL, _IOLBF, 0);
	r = parse_args(&dm, argc, argv);
	if (r)
		return r;
	r = config_load(dm.config_path, dm.config_explicit, &dm.cfg, err, sizeof(err));
	if (r) {
		log_err("configuration rejected: %s", err);
		return 1;
	}
	if (dm.check_only) {
		printf("%s: OK (%d device(s))\n", dm.cfg.origin, dm.cfg.ndev);
		config_free(&dm.cfg);
		return 0;
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
