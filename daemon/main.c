/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uacced - userspace uacce accelerator daemon.
 *
 * Options, set-up in order (config, core + devices + policy, runtime dir +
 * attributes, frontend, broker, control socket), one main loop (evloop.h:
 * signals, owner-death pidfds, the watchdog, and the device table's
 * uevents and release interrupts), and teardown in reverse.  A reload
 * (SIGHUP, or "uaccectl reload" on the control thread) swaps the
 * configuration under reload_lock: see reload().  The device table is
 * devtable.c, the runtime directory's files rundir.c.
 */
#define _GNU_SOURCE
#include "config.h"	/* autoconf: PACKAGE_VERSION */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attrs.h"
#include "broker.h"
#include "control.h"
#include "core.h"
#include "devtable.h"
#include "evloop.h"
#include "fdident.h"
#include "frontend.h"
#include "cjournal.h"
#include "handover.h"
#include "kgate.h"
#include "log.h"
#include "notify.h"
#include "rundir.h"
#include "uacced_config.h"


struct daemon {
	const char *config_path;
	bool config_explicit;
	const char *frontend;		/* auto | cuse | fuse */
	char rundir[256];
	char fuse_dir[300];
	char udev_dir[300];		/* <rundir>/udev: CUSE nodes' udev properties */
	bool check_only;
	enum log_target log_target;
	pthread_mutex_t reload_lock;	/* cfg, dt, node perms: reloads, teardown */
	struct uacce_config cfg;
	struct uacce_core *core;
	struct devtable *dt;
	struct fe_opts fo;		/* node permissions in force */
	struct frontend *fe;
	struct broker *broker;
	struct control *ctl;
	struct evloop *loop;		/* the main loop */
	int sigfd;
	struct kgate *kg;		/* the kernel devices' gate: from the first "kernel" entry on */
	struct ev_source *kg_src;	/* its ring buffer in the main loop */
	/* live restart (handover.h) */
	char exe[PATH_MAX];		/* this binary's path at start (an upgrade replaces it) */
	char **argv;			/* our arguments, for the successor */
	bool fd_store;			/* --fd-store: SIGTERM hands over to systemd's fd store */
	bool crash_journal;		/* --crash-journal (with --fd-store) */
	int restart_wait;		/* --restart-wait: seconds; 0 the default */
	struct ho_state *ho;		/* the state handed to us, during set-up */
	int restart_efd;		/* the control thread asks the main loop */
	pthread_mutex_t rs_lock;
	pthread_cond_t rs_cond;
	struct restart_req *rs;		/* rs_lock: the request in progress */
	/* the crash journal (cjournal.h): with --fd-store under systemd */
	struct cjournal *cj;
	struct ev_source *cj_timer;
	bool cj_armed;			/* a snapshot is due (main thread) */
	int cj_fails;
	uint64_t cj_delay_ms;		/* from a change to its snapshot */
	bool crash;			/* dm->ho is a crashed predecessor's snapshot */
	struct cj_recovery rec;		/* its journal */
};

/* "uaccectl restart", handed from the control thread to the main loop */
struct restart_req {
	int client_fd;
	bool force;
	bool done;
	int err;
	char msg[1024];
};

/* --- core hooks ---------------------------------------------------------- */

static void hook_queue_changed(uint64_t qid, bool gone, void *ctx)
{
	struct daemon *dm = ctx;

	cj_queue_changed(dm->cj, qid, gone);
}

static void hook_instances(struct uacce_dev *d, void *ctx)
{
	struct daemon *dm = ctx;

	attrs_update_instances(dm->rundir, d);
}

/*
 * An owner's pidfd in the main loop.  The queue is found again by its id
 * (a reference for the callback): it may be freed meanwhile by another
 * thread.  Freed by the loop once the source is (free() as its release).
 */
struct owner_watch {
	struct daemon *dm;
	uint64_t qid;
};

/* an owner process exited */
static void on_owner_exit(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct owner_watch *w = ctx;
	struct uacce_queue *q = core_get_queue(w->dm->core, w->qid);

	(void)s, (void)fd, (void)events;
	if (q) {
		uq_owner_died(q);	/* unwatches: hook_unwatch */
		uq_unref(q);
	}
}

/* the core lock is held: evloop's is a leaf lock */
static int hook_watch(struct uacce_queue *q, int pidfd, void *ctx)
{
	struct daemon *dm = ctx;
	struct owner_watch *w = malloc(sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	*w = (struct owner_watch){ .dm = dm, .qid = uq_id(q) };
	err = evloop_add_fd(dm->loop, pidfd, EPOLLIN, on_owner_exit, w, free, NULL);
	if (err)
		free(w);
	return err;
}

static void hook_unwatch(struct uacce_queue *q, int pidfd, void *ctx)
{
	struct daemon *dm = ctx;

	(void)q;
	evloop_remove_fd(dm->loop, pidfd);
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
		"      --fd-store          on SIGTERM under systemd, hand the open queues\n"
		"                          to systemd's fd store for the next instance\n"
		"                          (live restart; the unit sets it)\n"
		"      --crash-journal     with --fd-store: keep the queues in the fd store\n"
		"                          while serving, for a successor after a crash\n"
		"                          (the unit sets it)\n"
		"      --restart-wait S    a live restart waits at most S seconds (default\n"
		"                          5) for device requests in progress, else it\n"
		"                          is refused and this daemon serves on\n"
		"      --log-target T      auto (default: the journal when stderr is\n"
		"                          connected to it), console or journal\n"
		"  -v, --verbose           debug logging\n"
		"      --version           print the version and exit\n"
		"  -h, --help              this help\n",
		CONFIG_DEFAULT_PATH);
}

static int parse_args(struct daemon *dm, int argc, char **argv)
{
	enum { O_FRONTEND = 256, O_RUNDIR, O_FUSEDIR, O_CHECK, O_VERSION, O_LOGTARGET,
	       O_FDSTORE, O_CRASHJOURNAL, O_RESTARTWAIT };
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "frontend", required_argument, NULL, O_FRONTEND },
		{ "runtime-dir", required_argument, NULL, O_RUNDIR },
		{ "fuse-dir", required_argument, NULL, O_FUSEDIR },
		{ "check-config", no_argument, NULL, O_CHECK },
		{ "fd-store", no_argument, NULL, O_FDSTORE },
		{ "crash-journal", no_argument, NULL, O_CRASHJOURNAL },
		{ "restart-wait", required_argument, NULL, O_RESTARTWAIT },
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
		case O_CRASHJOURNAL:
			dm->crash_journal = true;
			break;
		case O_FDSTORE:
			dm->fd_store = true;
			break;
		case O_RESTARTWAIT: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == 0 || *end || v < 1 || v > 3600) {
				fprintf(stderr, "uacced: --restart-wait: seconds, 1 to 3600\n");
				return 2;
			}
			dm->restart_wait = (int)v;
			break;
		}
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
	snprintf(dm->udev_dir, sizeof(dm->udev_dir), "%s/udev", dm->rundir);
	return 0;
}

/* --- set-up ------------------------------------------------------------------ */

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

/*
 * broker.sock: whoever may open a device node needs the broker (its
 * regions), nobody else: the nodes' owner, group and mode
 */
static struct sock_perms broker_perms(const struct fe_opts *o)
{
	return (struct sock_perms){ .uid = o->uid, .gid = o->gid, .mode = o->mode & 0777 };
}

/*
 * Clients find everything through the runtime directory: say so when the
 * users the nodes are meant for cannot search a directory of its path
 */
static void warn_closed_rundir(const struct daemon *dm, const struct sock_perms *bp)
{
	char bad[PATH_MAX];
	struct stat st;
	int r = rundir_closed_to_clients(dm->rundir, bp, bad, sizeof(bad), &st);

	if (r < 0)
		log_warn("%s: cannot check who may reach it: %s", dm->rundir, strerror(-r));
	else if (r > 0)
		log_warn("%s: mode %04o, owner %u, group %u: clients other than root cannot reach "
			 "the runtime directory %s (the nodes are for %s; they get EACCES)",
			 bad, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
			 (unsigned)st.st_gid, dm->rundir,
			 bp->mode & 0006 ? "every user" : bp->mode & 0060 ? "the nodes' group" :
			 "the nodes' owner");
}

/* --- the kernel gate ----------------------------------------------------------- */

static void on_kgate_events(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct daemon *dm = ctx;

	(void)s, (void)fd, (void)events;
	kgate_consume(dm->kg);
}

/*
 * Gate the "kernel" entries of c under its policy (the gate is loaded at
 * the first entry and stays until uacced stops).  Reload lock held.
 */
static int kernel_gate(struct daemon *dm, const struct uacce_config *c, char *msg, size_t len)
{
	struct kdev *devs = NULL;
	int n = 0, err;

	if (!c->nkernel && !dm->kg)
		return 0;
	if (!dm->kg) {
		struct kgate *kg;

		err = kgate_new(&kg);
		if (err) {
			snprintf(msg, len, "kernel gate: %s", strerror(-err));
			return err;
		}
		if (kgate_events_fd(kg) >= 0) {
			err = evloop_add_fd(dm->loop, kgate_events_fd(kg), EPOLLIN, on_kgate_events,
					    dm, NULL, &dm->kg_src);
			if (err) {
				kgate_free(kg);
				snprintf(msg, len, "kernel gate: its events: %s", strerror(-err));
				return err;
			}
		}
		__atomic_store_n(&dm->kg, kg, __ATOMIC_RELEASE);	/* dm_kernel_devs reads it */
	}
	err = kdev_resolve(c, "/sys/class/uacce", &devs, &n);
	if (err) {
		snprintf(msg, len, "kernel gate: %s", strerror(-err));
		return err;
	}
	err = kgate_apply(dm->kg, c->policy, devs, n, msg, len);
	free(devs);
	return err;
}

/* --- reload ------------------------------------------------------------------ */

static void apply_perms(struct daemon *dm, const struct uacce_config *nc)
{
	struct fe_opts fo = dm->fo;
	struct sock_perms bp;

	node_perms(nc, &fo);
	if (fo.uid == dm->fo.uid && fo.gid == dm->fo.gid && fo.mode == dm->fo.mode)
		return;
	log_info("device nodes and broker.sock: owner %u, group %u, mode %04o from now on",
		 (unsigned)fo.uid, (unsigned)fo.gid, (unsigned)fo.mode);
	frontend_set_perms(dm->fe, fo.uid, fo.gid, fo.mode);
	bp = broker_perms(&fo);
	broker_set_perms(dm->broker, &bp);
	warn_closed_rundir(dm, &bp);
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
	struct devtable_stats st = { 0 };
	struct uacce_config nc;
	char err[1024], src[400], sum[256], kmsg[256] = "";
	int r;

	pthread_mutex_lock(&dm->reload_lock);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		    (unsigned long long)monotonic_usec());
	r = config_load(dm->config_path, dm->config_explicit, &nc, err, sizeof(err));
	if (r) {
		snprintf(msg, len, "%s", err);
		goto out;
	}
	r = kernel_gate(dm, &nc, kmsg, sizeof(kmsg));
	if (r) {
		snprintf(msg, len, "%s", kmsg);
		config_free(&nc);
		goto out;
	}
	r = devtable_reload(dm->dt, &nc, &st, msg, len);
	if (r) {
		char m2[256];

		config_free(&nc);
		if (kernel_gate(dm, &dm->cfg, m2, sizeof(m2)))	/* the old policy back */
			log_err("%s", m2);
		goto out;
	}
	apply_perms(dm, &nc);
	control_set_admin_group(dm->ctl, nc.admin_group_set, nc.admin_gid, nc.admin_group);
	config_free(&dm->cfg);
	dm->cfg = nc;
	config_sources(&dm->cfg, src, sizeof(src));
	config_summary(&dm->cfg, sum, sizeof(sum));
	snprintf(msg, len, "reloaded %s: %s; devices: %d kept, %d added, %d removed%s%s%s%s", src,
		 sum, st.kept, st.added - st.failed, st.removed,
		 st.failed ? "; some new devices could not be published (see the log)" : "",
		 devtable_hw_waiting(dm->dt) ? "; some wait for their hardware (see the log)" : "",
		 kmsg[0] ? "; " : "", kmsg);
	log_info("%s", msg);
out:
	if (r)
		log_err("reload refused, the previous configuration stays in force: %s", msg);
	notify_send("READY=1");
	devtable_status(dm->dt, r ? " (the last reload was refused)" : NULL);
	pthread_mutex_unlock(&dm->reload_lock);
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
	int n;

	pthread_mutex_lock(&dm->reload_lock);
	n = devtable_waiting(dm->dt, w, max);
	pthread_mutex_unlock(&dm->reload_lock);
	return n;
}

/* control thread; the frontend lives from before the control socket to after it */
static int dm_node_devt(void *ctx, const char *name, dev_t *out)
{
	struct daemon *dm = ctx;

	return frontend_node_devt(dm->fe, name, out);
}

/* control thread: the kernel gate lives from before the control socket to after it */
static int dm_kernel_devs(void *ctx, struct kgate_stat **out, int *n)
{
	struct daemon *dm = ctx;
	struct kgate *kg = __atomic_load_n(&dm->kg, __ATOMIC_ACQUIRE);

	*out = NULL;
	*n = 0;
	return kg ? kgate_list(kg, out, n) : 0;
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

/* --- live restart (handover.h; uacced(8), "Live restart") ------------------ */

#define SUCCESSOR_TIMEOUT_MS 60000	/* to load its configuration and answer */

/* the predecessor froze its queues: let them serve on (an abandoned restart) */
static void resume_serving(struct daemon *dm)
{
	core_thaw(dm->core);
	frontend_thaw(dm->fe);
	broker_resume(dm->broker);
}

static json_object *new_member(json_object *root, const char *key)
{
	json_object *o = json_object_new_object();

	json_object_object_add(root, key, o);
	return o;
}

/*
 * The state: a planned restart's (frozen) or the crash journal's snapshot
 * (live: while serving).  0 with *out, or -errno.
 */
static int write_state(struct daemon *dm, bool live, bool force, struct ho_state **out)
{
	struct ho_state *s = NULL;
	json_object *root, *o, *arr;
	int err, idx;

	err = ho_new(&s);
	if (err)
		return err;
	root = ho_root(s);
	o = new_member(root, "daemon");
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "rundir", json_object_new_string(dm->rundir));
	json_object_object_add(o, "force", json_object_new_boolean(force));
	arr = json_object_new_array();
	json_object_object_add(root, "devices", arr);
	err = devtable_export(dm->dt, arr);
	if (!err)
		err = (live ? core_export_live : core_export)(dm->core, s, new_member(root, "core"));
	if (!err)
		err = (live ? frontend_export_live : frontend_export)(dm->fe, s,
								     new_member(root, "frontend"));
	if (!err) {
		idx = ho_put_fd_named(s, broker_listen_fd(dm->broker), "broker");
		err = idx < 0 ? idx : 0;
		json_object_object_add(new_member(root, "broker"), "listen", json_object_new_int(idx));
	}
	if (!err) {
		idx = ho_put_fd_named(s, control_listen_fd(dm->ctl), "control");
		err = idx < 0 ? idx : 0;
		json_object_object_add(new_member(root, "control"), "listen", json_object_new_int(idx));
	}
	if (err) {
		ho_free(s);
		return err;
	}
	*out = s;
	return 0;
}

/*
 * A planned restart with the crash journal on: the successor is to drop
 * what this journal put in the store (it keeps a journal of its own).
 */
static int journal_names(struct daemon *dm, struct ho_state *s)
{
	json_object *arr;
	char **names;
	int n, err;

	if (!dm->cj)
		return 0;
	err = cj_stored_names(dm->cj, &names, &n);
	if (err)
		return err;
	arr = json_object_new_array();
	for (int i = 0; arr && i < n; i++)
		json_object_array_add(arr, json_object_new_string(names[i]));
	if (arr)	/* the journal itself: the successor keeps one of its own */
		json_object_array_add(arr, json_object_new_string(cj_store_name(dm->cj)));
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!arr)
		return -ENOMEM;
	json_object_object_add(ho_root(s), "cjournal_stored", arr);
	return 0;
}

/*
 * Stop serving at a request boundary and write the state: 0 with *out, or
 * -errno with the reason in msg and everything serving again.  Reload lock
 * held.
 */
static int save_state(struct daemon *dm, bool force, struct ho_state **out, char *msg,
		      size_t len)
{
	struct ho_state *s = NULL;
	int err;

	broker_pause(dm->broker);
	err = frontend_freeze(dm->fe);
	if (err) {
		broker_resume(dm->broker);
		if (err == -ETIMEDOUT)
			snprintf(msg, len, "device requests still in progress after %d s (a long "
				 "FLUSH or DMA; --restart-wait): try again later",
				 dm->restart_wait ? dm->restart_wait : FE_FREEZE_WAIT_S);
		else
			snprintf(msg, len, "cannot stop the frontend at a request boundary: %s",
				 strerror(-err));
		return err;
	}
	err = core_freeze(dm->core);
	if (err) {
		frontend_thaw(dm->fe);
		broker_resume(dm->broker);
		snprintf(msg, len, "cannot stop the devices at a request boundary: %s",
			 strerror(-err));
		return err;
	}
	err = write_state(dm, false, force, &s);
	if (!err)
		err = journal_names(dm, s);
	if (!err) {
		*out = s;
		return 0;
	}
	snprintf(msg, len, "cannot write the state: %s", strerror(-err));
	ho_free(s);
	resume_serving(dm);
	return err;
}

/*
 * Let the successor check the state first: this binary's path as it was at
 * start (an upgrade put the new one there), spawned with s, reads it, its
 * configuration and the devices, answers and exits.  0 when it would take
 * it, else -errno with its reason in msg.
 */
static int check_successor(struct daemon *dm, struct ho_state *s, char *msg, size_t len)
{
	char answer[1024] = "";
	struct pollfd p;
	size_t got = 0;
	int ack[2], idx, w, n, st;
	pid_t cpid, *pid = &cpid;

	if (pipe2(ack, O_CLOEXEC) < 0) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return -errno;
	}
	idx = ho_put_fd(s, ack[1]);
	close(ack[1]);
	if (idx < 0) {
		close(ack[0]);
		snprintf(msg, len, "cannot hand over a pipe: %s", strerror(-idx));
		return idx;
	}
	json_object_object_add(ho_root(s), "ack", json_object_new_int(idx));
	*pid = ho_exec(s, dm->exe, dm->argv);
	w = ho_take_fd(s, idx);		/* ours goes: EOF when the successor dies */
	if (w >= 0)
		close(w);
	if (*pid < 0) {
		n = *pid;
		close(ack[0]);
		snprintf(msg, len, "cannot start %.512s: %s", dm->exe, strerror(-n));
		return n;
	}
	p = (struct pollfd){ .fd = ack[0], .events = POLLIN };
	while (got < sizeof(answer) - 1 && !strchr(answer, '\n')) {
		n = poll(&p, 1, SUCCESSOR_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		n = (int)read(ack[0], answer + got, sizeof(answer) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		answer[got] = 0;
	}
	close(ack[0]);
	json_object_object_del(ho_root(s), "ack");
	if (!got)
		kill(*pid, SIGKILL);	/* silent: no answer in time, or it died */
	waitpid(*pid, &st, 0);
	if (strncmp(answer, "ok", 2) == 0)
		return 0;
	answer[strcspn(answer, "\n")] = 0;
	if (got)
		snprintf(msg, len, "the successor (%.200s) %.700s", dm->exe, answer);
	else
		snprintf(msg, len, "the successor (%.512s) gave no answer (%s)", dm->exe,
			 WIFEXITED(st) ? "it exited" : "killed");
	return -EPROTO;
}

/*
 * Hand every queue to a successor (main thread): the successor checks the
 * state in a child, then this process becomes it (execve in place: the
 * same pid, systemd's main process stays).  Returns only when it did not
 * happen: -errno, the reason in msg, serving on.  The successor answers
 * client_fd (>= 0) once it serves.
 */
static int live_restart(struct daemon *dm, bool force, int client_fd, char *msg, size_t len)
{
	struct ho_state *s;
	int err, idx;

	pthread_mutex_lock(&dm->reload_lock);
	log_info("live restart: handing every queue over to a new %s", dm->exe);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=live restart",
		    (unsigned long long)monotonic_usec());
	err = save_state(dm, force, &s, msg, len);
	if (!err) {
		err = check_successor(dm, s, msg, len);
		if (!err && client_fd >= 0) {
			idx = ho_put_fd(s, client_fd);
			if (idx >= 0)
				json_object_object_add(ho_root(s), "reply", json_object_new_int(idx));
		}
		if (!err) {
			json_object_object_add(ho_root(s), "transport", json_object_new_string("exec"));
			log_info("live restart: the successor took the state; pid %d becomes it",
				 (int)getpid());
			err = ho_exec_inplace(s, dm->exe, dm->argv);
			snprintf(msg, len, "cannot run %.512s: %s", dm->exe, strerror(-err));
		}
		ho_free(s);
		resume_serving(dm);
	}
	log_err("live restart refused, this daemon serves on: %s", msg);
	notify_send("READY=1\nSTATUS=serving (the last live restart was refused)");
	pthread_mutex_unlock(&dm->reload_lock);
	return err;
}

/* SIGTERM with --fd-store under systemd: the state to the fd store, then end */
static bool hand_to_fd_store(struct daemon *dm)
{
	struct ho_state *s;
	char msg[1024];
	int err;

	if (!dm->fd_store || !getenv("NOTIFY_SOCKET"))
		return false;
	pthread_mutex_lock(&dm->reload_lock);
	err = save_state(dm, true, &s, msg, sizeof(msg));
	if (!err) {
		/* the journal's files go by its names: systemd keeps each file once */
		err = ho_fdstore(s, dm->cj ? CJ_PREFIX : NULL);
		if (!err) {
			log_info("open queues handed to systemd's fd store: a restart resumes them, "
				 "a stop ends them");
			_exit(0);
		}
		snprintf(msg, sizeof(msg), "systemd's fd store refused them: %s (is "
			 "FileDescriptorStoreMax= large enough?)", strerror(-err));
		ho_free(s);
		resume_serving(dm);
	}
	pthread_mutex_unlock(&dm->reload_lock);
	log_err("live restart: %s; stopping the usual way (open queues end)", msg);
	return false;
}

/* --- the crash journal (cjournal.h) ----------------------------------------- */

/* the delay between a change and the snapshot that has it (coalesces bursts) */
#define CJ_DELAY_MS	20

static void journal_arm(struct daemon *dm, uint64_t ms)
{
	if (dm->cj_armed)
		return;
	dm->cj_armed = true;
	evloop_timer_set(dm->cj_timer, ms, 0);
}

static void journal_snapshot(struct daemon *dm)
{
	struct ho_state *s;
	uint64_t gen;
	int err;

	uint64_t t0 = monotonic_usec();

	dm->cj_armed = false;
	gen = cj_gen(dm->cj);	/* before: what changes meanwhile counts as after */
	pthread_mutex_lock(&dm->reload_lock);
	err = write_state(dm, true, false, &s);
	pthread_mutex_unlock(&dm->reload_lock);
	if (!err) {
		err = cj_commit(dm->cj, s, gen);
		ho_free(s);
	}
	/*
	 * Many queues make a snapshot long: the next one waits nine times as
	 * long, so that snapshots take at most a tenth of a core.
	 */
	dm->cj_delay_ms = MAX((uint64_t)CJ_DELAY_MS, (monotonic_usec() - t0) * 9 / 1000);
	if (!err) {
		if (dm->cj_fails)
			log_info("crash journal: snapshots written again");
		dm->cj_fails = 0;
		return;
	}
	if (dm->cj_fails++ == 0)
		log_err("crash journal: snapshot not written: %s (a crash now revokes the queues "
			"changed since the last one); trying again every second", strerror(-err));
	journal_arm(dm, 1000);
}

static void on_cj_timer(struct ev_source *src, int fd, uint32_t events, void *ctx)
{
	(void)src, (void)fd, (void)events;
	journal_snapshot(ctx);
}

static void on_cj_kick(struct ev_source *src, int fd, uint32_t events, void *ctx)
{
	struct daemon *dm = ctx;

	(void)src, (void)fd, (void)events;
	cj_kicked(dm->cj);
	journal_arm(dm, dm->cj_delay_ms);
}

/*
 * The journal into the store before the first request is read: its
 * in-flight table counts from then on (its first snapshot comes once the
 * daemon serves, journal_start).  -errno.
 */
static int journal_store(struct daemon *dm)
{
	char msg[80];
	int fd = cj_fd(dm->cj);

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", cj_store_name(dm->cj));
	return ho_notify(msg, &fd, 1);
}

/*
 * Serving: snapshots from now on, the first one at once (then what the
 * predecessor left in the store goes).  A failure leaves the daemon
 * serving without crash recovery (logged).
 */
static void journal_start(struct daemon *dm)
{
	int err;

	if (!dm->cj)
		return;

	err = evloop_add_fd(dm->loop, cj_kick_fd(dm->cj), EPOLLIN, on_cj_kick, dm, NULL,
				    NULL);
	if (!err)
		err = evloop_add_timer(dm->loop, on_cj_timer, dm, NULL, &dm->cj_timer);
	if (err) {
		log_err("crash journal: cannot start: %s (a crash of uacced ends the open queues)",
			strerror(-err));
		return;
	}
	journal_snapshot(dm);
	log_info("crash journal: on (systemd's fd store holds the connections and queues)");
}

/* names a predecessor's journal has in the store (planned restart by execve) */
static void journal_inherit(struct daemon *dm)
{
	json_object *arr = ho_get(ho_root(dm->ho), "cjournal_stored");
	int n = arr && json_object_is_type(arr, json_type_array) ?
			(int)json_object_array_length(arr) : 0;
	char **v;

	if (!dm->cj || !n || !(v = calloc((size_t)n, sizeof(*v))))
		return;
	for (int i = 0; i < n; i++)
		v[i] = (char *)json_object_get_string(json_object_array_get_idx(arr, i));
	for (int i = 0; i < n; i++)
		if (!v[i])
			v[i] = (char *)"";
	if (cj_inherit_names(dm->cj, v, n))
		log_warn("crash journal: the predecessor's fds stay in the store until a stop");
	free(v);
}

/*
 * The store's fds of the predecessor stay until this journal's first
 * snapshot is in place (a crash before it recovers from the old one), then
 * go.  0, or -errno: the caller drops them now.
 */
static int journal_inherit_store(struct daemon *dm)
{
	char *const *names;
	int n = ho_store_names(dm->ho, &names);

	return cj_inherit_names(dm->cj, names, n);
}

/* the qid of an exported queue is among n ids */
static bool id_in(const uint64_t *ids, int n, uint64_t id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/*
 * The snapshot against the live table: a queue gone since is not taken
 * (nor its file: the kernel released it), one changed since is revoked.
 */
static void crash_prune(struct daemon *dm)
{
	json_object *root = ho_root(dm->ho), *core = ho_get(root, "core");
	json_object *qs = ho_get(core, "queues"), *fe = ho_get(root, "frontend");
	json_object *files = ho_get(fe, "files"), *nq, *nf;
	int n = qs && json_object_is_type(qs, json_type_array) ? (int)json_object_array_length(qs) : 0;
	int nfl = files && json_object_is_type(files, json_type_array) ?
			  (int)json_object_array_length(files) : 0;
	uint64_t *gone = calloc((size_t)n + 1, sizeof(*gone));
	int ngone = 0, revoked = 0, kept = 0;

	nq = json_object_new_array();
	nf = json_object_new_array();
	if (!gone || !nq || !nf) {
		free(gone);
		json_object_put(nq);
		json_object_put(nf);
		return;
	}
	for (int i = 0; i < n; i++) {
		json_object *q = json_object_array_get_idx(qs, i);
		uint64_t id = (uint64_t)ho_get_int(q, "id", 0);
		uint64_t g = cj_live_gen(&dm->rec, id);

		if (!g) {
			gone[ngone++] = id;
			continue;
		}
		if (g > dm->rec.snap_gen) {
			json_object_object_add(q, "revoke", json_object_new_boolean(true));
			revoked++;
		} else {
			kept++;
		}
		json_object_array_add(nq, json_object_get(q));
	}
	for (int i = 0; i < nfl; i++) {
		json_object *f = json_object_array_get_idx(files, i);

		if (!id_in(gone, ngone, (uint64_t)ho_get_int(f, "fh", 0)))
			json_object_array_add(nf, json_object_get(f));
	}
	if (core)
		json_object_object_add(core, "queues", nq);
	else
		json_object_put(nq);
	if (fe)
		json_object_object_add(fe, "files", nf);
	else
		json_object_put(nf);
	free(gone);
	log_warn("crash restart: the journal's snapshot has %d queue(s): %d taken over, %d "
		 "revoked (changed after it), %d closed since; %d request(s) in flight",
		 n, kept, revoked, ngone, dm->rec.ninflight);
}

/* r's connections' highest uniques into m (the higher of two) */
static void conns_merge(struct cj_recovery *m, const struct cj_recovery *r)
{
	for (int i = 0; i < r->nconns; i++) {
		int k;

		for (k = 0; k < m->nconns && m->conn[k] != r->conn[i]; k++)
			;
		if (k == m->nconns) {
			if (m->nconns == (int)(sizeof(m->conn) / sizeof(m->conn[0])))
				continue;
			m->conn[m->nconns++] = r->conn[i];
			m->conn_max[k] = 0;
		}
		m->conn_max[k] = MAX(m->conn_max[k], r->conn_max[i]);
	}
}

/*
 * r's in-flight requests appended to *v; returns false (always: the caller
 * decides on r by its snapshot); a failed allocation loses them (logged)
 */
static bool inflight_add(struct cj_inflight **v, int *n, const struct cj_recovery *r)
{
	struct cj_inflight *nv;

	if (!r->ninflight)
		return false;
	nv = realloc(*v, (size_t)(*n + r->ninflight) * sizeof(*nv));
	if (!nv) {
		log_err("crash restart: no memory for %d request(s) in flight: their callers "
			"wait until the connection ends", r->ninflight);
		return false;
	}
	memcpy(nv + *n, r->inflight, (size_t)r->ninflight * sizeof(*nv));
	*v = nv;
	*n += r->ninflight;
	return false;
}

/*
 * ho_receive found fds but no planned state: a crash.  The journal's
 * snapshot becomes dm->ho (pruned), or nothing can be taken and the
 * store's fds go (a fresh start).
 */
static void crash_prepare(struct daemon *dm)
{
	struct ho_state *s = dm->ho;
	const char *why = "no crash journal among them";
	struct cj_inflight *infl = NULL;
	struct cj_recovery cm = { 0 };	/* the connections' highest uniques, merged */
	int sfd, err, found = 0, ninfl = 0;

	/*
	 * The newest journal with a snapshot (a successor's first one may lack
	 * it); the requests in flight of every journal (a successor that died
	 * before its first snapshot may have read some; answering one that
	 * was answered is harmless: the kernel does not know it any more).
	 */
	for (int i = 0; i < ho_raw_count(s); i++) {
		const char *nm = ho_raw_name(s, i);
		struct cj_recovery r;
		int jfd;

		if (!nm || strncmp(nm, CJ_STORE_NAME "-", strlen(CJ_STORE_NAME) + 1) != 0)
			continue;
		jfd = ho_raw_take(s, nm);
		err = jfd < 0 ? jfd : cj_read(jfd, &r);
		if (jfd >= 0)
			close(jfd);
		if (err) {
			why = "the crash journal cannot be read";
			continue;
		}
		conns_merge(&cm, &r);
		if (!inflight_add(&infl, &ninfl, &r) && (!r.snap_name ||
		    (found && r.epoch <= dm->rec.epoch))) {
			if (!r.snap_name)
				why = "the crash journal has no snapshot yet";
			cj_recovery_fini(&r);
			continue;
		}
		if (found)
			cj_recovery_fini(&dm->rec);
		dm->rec = r;
		found = 1;
	}
	if (!found)
		goto fresh;
	free(dm->rec.inflight);
	dm->rec.inflight = infl;
	dm->rec.ninflight = ninfl;
	infl = NULL;
	memcpy(dm->rec.conn, cm.conn, sizeof(cm.conn));
	memcpy(dm->rec.conn_max, cm.conn_max, sizeof(cm.conn_max));
	dm->rec.nconns = cm.nconns;
	sfd = ho_raw_take(s, dm->rec.snap_name);
	if (sfd < 0) {
		why = "the crash journal's snapshot is not in the store";
		goto fresh;
	}
	err = ho_load_snapshot(s, sfd);
	close(sfd);
	if (err) {
		why = err == -EPROTO ? "the snapshot has a newer format than this uacced reads" :
		      "the snapshot cannot be read";
		goto fresh;
	}
	dm->crash = true;
	log_warn("crash restart: uacced pid %lld ended without handing over: taking over from "
		 "its crash journal", (long long)ho_get_int(ho_get(ho_root(s), "daemon"), "pid", 0));
	crash_prune(dm);
	return;
fresh:
	free(infl);
	log_warn("crash restart: fds in systemd's fd store but %s: starting afresh (the open "
		 "queues of before end)", why);
	cj_recovery_fini(&dm->rec);
	ho_fdstore_forget(s);
	ho_free(s);
	dm->ho = NULL;
}

/* the control thread's "restart": the main loop does it (on_restart_req) */
static int ctl_restart(void *ctx, int client_fd, bool force, char *msg, size_t len)
{
	struct daemon *dm = ctx;
	struct restart_req rq = { .client_fd = client_fd, .force = force };
	uint64_t one = 1;
	int err;

	pthread_mutex_lock(&dm->rs_lock);
	if (dm->rs) {
		pthread_mutex_unlock(&dm->rs_lock);
		snprintf(msg, len, "a live restart is already in progress");
		return -EBUSY;
	}
	dm->rs = &rq;
	if (write(dm->restart_efd, &one, sizeof(one)) < 0) {
		dm->rs = NULL;
		pthread_mutex_unlock(&dm->rs_lock);
		snprintf(msg, len, "cannot reach the main loop: %s", strerror(errno));
		return -EIO;
	}
	while (!rq.done)
		pthread_cond_wait(&dm->rs_cond, &dm->rs_lock);
	dm->rs = NULL;
	pthread_mutex_unlock(&dm->rs_lock);
	snprintf(msg, len, "%s", rq.msg);
	err = rq.err;
	return err;
}

static void on_restart_req(struct ev_source *src, int fd, uint32_t events, void *ctx)
{
	struct daemon *dm = ctx;
	struct restart_req *rq;
	uint64_t v;

	(void)src, (void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&dm->rs_lock);
	rq = dm->rs;
	pthread_mutex_unlock(&dm->rs_lock);
	if (!rq)
		return;
	rq->err = live_restart(dm, rq->force, rq->client_fd, rq->msg, sizeof(rq->msg));
	pthread_mutex_lock(&dm->rs_lock);
	rq->done = true;
	pthread_cond_broadcast(&dm->rs_cond);
	pthread_mutex_unlock(&dm->rs_lock);
}

/* SIGHUP: reload; SIGTERM, SIGINT: stop the main loop */
static void on_signal(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct daemon *dm = ctx;
	struct signalfd_siginfo si;

	(void)s, (void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		char msg[1024];

		log_info("SIGHUP: reloading the configuration");
		reload(dm, msg, sizeof(msg));
		return;
	}
	if (si.ssi_signo == SIGUSR2) {
		char msg[1024];

		log_info("SIGUSR2: live restart");
		live_restart(dm, false, -1, msg, sizeof(msg));
		return;
	}
	log_info("signal %d: shutting down", (int)si.ssi_signo);
	if (si.ssi_signo == SIGTERM && hand_to_fd_store(dm))
		return;	/* not reached: the process ended */
	notify_send("STOPPING=1");
	evloop_stop(dm->loop);
}

static void on_watchdog(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	(void)s, (void)fd, (void)events, (void)ctx;
	notify_send("WATCHDOG=1");
}

/* the main loop's own sources: signals, the watchdog */
static int loop_setup(struct daemon *dm)
{
	uint64_t wd = notify_watchdog_usec();
	struct ev_source *t;
	sigset_t mask;
	int err;

	err = evloop_new(&dm->loop);
	if (err)
		return err;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	dm->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (dm->sigfd < 0)
		return -errno;
	err = evloop_add_fd(dm->loop, dm->sigfd, EPOLLIN, on_signal, dm, NULL, NULL);
	if (err)
		return err;
	dm->restart_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dm->restart_efd < 0)
		return -errno;
	err = evloop_add_fd(dm->loop, dm->restart_efd, EPOLLIN, on_restart_req, dm, NULL, NULL);
	if (err || !wd)
		return err;
	wd = wd < 4000 ? 1 : wd / 2000;	/* ping at half the interval (ms) */
	err = evloop_add_timer(dm->loop, on_watchdog, dm, NULL, &t);
	if (!err)
		err = evloop_timer_set(t, wd, wd);
	return err;
}

/* the fd the predecessor handed for member's "listen" (-1: none) */
static int handed_fd(struct daemon *dm, const char *member)
{
	int fd;

	if (!dm->ho)
		return -1;
	fd = ho_take_fd(dm->ho, (int)ho_get_int(ho_get(ho_root(dm->ho), member), "listen", -1));
	return fd < 0 ? -1 : fd;
}

static void count_dropped(const char *node, void *ctx)
{
	char *list = ctx;
	size_t n = strlen(list);

	snprintf(list + n, 512 - n, "%s%s", n ? ", " : "", node);
}

struct state_check {
	struct daemon *dm;
	char why[600];
};

/* a kept device: can its backend take the device's own state? */
static int check_dev_state(const struct uacce_dev_cfg *dev, void *ctx)
{
	struct state_check *sc = ctx;

	return core_check_dev_state(sc->dm->ho, ho_get(ho_root(sc->dm->ho), "core"),
				    uacce_backend_find(dev->backend), dev, sc->why,
				    sizeof(sc->why));
}

/*
 * A successor, before it touches anything: can it take the state?  0, or
 * -errno with the reason in why (the predecessor then serves on).
 */
static int successor_check(struct daemon *dm, char *why, size_t len)
{
	json_object *root = ho_root(dm->ho);
	const char *kind = ho_get_str(ho_get(root, "frontend"), "kind", "");
	struct state_check sc = { .dm = dm };
	char dropped[512] = "";
	int n;

	if (strcmp(ho_get_str(ho_get(root, "daemon"), "rundir", ""), dm->rundir) != 0) {
		snprintf(why, len, "refused: runtime directory %s, the predecessor's is %s",
			 dm->rundir, ho_get_str(ho_get(root, "daemon"), "rundir", "?"));
		return -EINVAL;
	}
	if (strcmp(kind, "cuse") == 0 &&
	    (strcmp(dm->frontend, "fuse") == 0 || !frontend_cuse_available())) {
		snprintf(why, len, "refused: the queues are on CUSE nodes, this uacced would use "
			 "the FUSE fallback");
		return -EINVAL;
	}
	if (strcmp(kind, "fuse") == 0 && strcmp(dm->frontend, "cuse") == 0) {
		snprintf(why, len, "refused: the queues are on the FUSE fallback, this uacced "
			 "is told --frontend cuse");
		return -EINVAL;
	}
	n = devtable_dropped_after(&dm->cfg, ho_get(root, "devices"), count_dropped, dropped);
	if (n < 0) {
		snprintf(why, len, "refused: %s", strerror(-n));
		return n;
	}
	if (n > 0 && !ho_get_int(ho_get(root, "daemon"), "force", 0)) {
		snprintf(why, len, "refused: the configuration no longer has %s (their open "
			 "queues would end; uaccectl restart --force does it)", dropped);
		return -EINVAL;
	}
	if (n > 0)
		log_warn("live restart: the configuration drops %s: their open queues end", dropped);
	/* the devices kept: can their backends take their own (hardware) state? */
	n = devtable_kept_after(&dm->cfg, ho_get(root, "devices"), check_dev_state, &sc);
	if (n && !ho_get_int(ho_get(root, "daemon"), "force", 0)) {
		snprintf(why, len, "refused: %s%s", sc.why[0] ? sc.why : strerror(-n),
			 sc.why[0] ? " (uaccectl restart --force revokes that device's queues)" : "");
		return n < 0 ? n : -EINVAL;
	}
	if (n)
		log_warn("live restart: %s: that device's open queues end",
			 sc.why[0] ? sc.why : strerror(-n));
	return 0;
}

/*
 * A spawned successor only checks: it answers its predecessor ("ok", or
 * the reason of its refusal) through the ack pipe and exits.  The
 * predecessor then becomes the successor itself (execve in place).
 */
static int successor_answer(struct daemon *dm, const char *why)
{
	int ack = ho_take_fd(dm->ho, (int)ho_get_int(ho_root(dm->ho), "ack", -1));
	char line[1100];
	int n;

	if (why)
		log_err("live restart: %s", why);
	if (ack >= 0) {
		n = snprintf(line, sizeof(line), "%s\n", why ? why : "ok");
		if (write(ack, line, (size_t)n) < 0)
			log_warn("live restart: cannot answer the predecessor: %m");
		close(ack);
	}
	ho_free(dm->ho);	/* our copies: the predecessor keeps its own */
	dm->ho = NULL;
	return why ? 1 : 0;
}

/* the successor serves: answer the uaccectl that asked for it, if any */
static void answer_restart(struct daemon *dm)
{
	int fd = ho_take_fd(dm->ho, (int)ho_get_int(ho_root(dm->ho), "reply", -1));
	char reply[256];
	int n;

	if (fd < 0)
		return;
	n = snprintf(reply, sizeof(reply),
		     "{\"version\":%d,\"ok\":true,\"pid\":%d,\"message\":"
		     "\"live restart: uacced %s serves on (pid %d)\"}\n", CONTROL_VERSION,
		     (int)getpid(), PACKAGE_VERSION, (int)getpid());
	if (write(fd, reply, (size_t)n) < 0)
		log_warn("live restart: cannot answer uaccectl: %m");
	close(fd);
}

static int setup(struct daemon *dm)
{
	struct uacce_core_hooks hooks = {
		.ctx = dm,
		.instances_changed = hook_instances,
		.watch_owner = hook_watch,
		.unwatch_owner = hook_unwatch,
		.queue_changed = hook_queue_changed,
	};
	const struct control_ops ctl_ops = {
		.ctx = dm,
		.reload = ctl_reload,
		.dev_dir = dm_dev_dir,
		.waiting = dm_waiting,
		.node_devt = dm_node_devt,
		.kernel_devs = dm_kernel_devs,
		.restart = ctl_restart,
	};
	struct fe_opts fo = { .fuse_dir = dm->fuse_dir, .udev_dir = dm->udev_dir };
	struct sock_perms bp;
	struct uacce_dev *devs[CONFIG_MAX_DEVICES];
	char pid[32], src[400], sum[256], kmsg[256];
	int err, nreg;

	err = loop_setup(dm);
	if (err)
		return err;
	if (mkdir(dm->rundir, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		log_err("%s: %s", dm->rundir, strerror(errno));
		return err;
	}
	if (rundir_in_use(dm->rundir)) {
		log_err("%s: another uacced is running with this runtime directory", dm->rundir);
		return -EEXIST;
	}
	rundir_remove_stale(dm->rundir);
	if (dm->fd_store && dm->crash_journal && getenv("NOTIFY_SOCKET")) {
		struct timespec now;

		/* epochs only grow: the wall clock's ns, past the predecessor's */
		clock_gettime(CLOCK_REALTIME, &now);
		err = cj_open(MAX((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec,
				  dm->rec.epoch + 1), &dm->cj);
		dm->cj_delay_ms = CJ_DELAY_MS;
		if (!err && (err = journal_store(dm))) {
			cj_free(dm->cj);
			dm->cj = NULL;
		}
		if (err)
			log_err("crash journal: %s (a crash of uacced ends the open queues)",
				strerror(-err));
	}
	fo.journal = dm->cj;
	fo.crash = dm->crash ? &dm->rec : NULL;
	fo.freeze_wait_s = dm->restart_wait;
	err = core_new(&hooks, &dm->core);
	if (err)
		return err;
	core_set_policy(dm->core, dm->cfg.policy);
	err = devtable_new(dm->core, dm->rundir, dm->loop, &dm->reload_lock, &dm->dt);
	if (err)
		return err;
	pthread_mutex_lock(&dm->reload_lock);
	if (dm->ho)	/* the devices take their own state (core_add_device) */
		core_set_handover(dm->core, dm->ho, ho_get(ho_root(dm->ho), "core"));
	err = devtable_load_after(dm->dt, &dm->cfg, dm->ho ? ho_get(ho_root(dm->ho), "devices") : NULL);
	nreg = devtable_devices(dm->dt, devs, CONFIG_MAX_DEVICES);
	if (!err) {
		err = kernel_gate(dm, &dm->cfg, kmsg, sizeof(kmsg));
		if (err)
			log_err("%s", kmsg);
	}
	pthread_mutex_unlock(&dm->reload_lock);
	if (err)
		return err;
	err = choose_frontend(dm, &fo.kind);
	if (err)
		return err;
	node_perms(&dm->cfg, &fo);
	dm->fo = fo;
	if (dm->ho) {
		err = core_adopt(dm->core, dm->ho, ho_get(ho_root(dm->ho), "core"));
		if (err)
			log_err("live restart: the queues could not be taken over: %s",
				strerror(-err));
	}
	err = frontend_adopt(&fo, dm->core, devs, nreg, dm->ho,
			     dm->ho ? ho_get(ho_root(dm->ho), "frontend") : NULL, &dm->fe);
	if (dm->ho)
		core_adopt_done(dm->core);	/* queues no file claimed */
	if (err)
		return err;
	dm->fo.crash = NULL;	/* for frontend_adopt only */
	if (dm->crash)
		frontend_crash_answer(dm->fe, dm->rec.inflight, dm->rec.ninflight, dm->rec.max_kh);
	devtable_set_frontend(dm->dt, dm->fe);
	bp = broker_perms(&fo);
	/* before the first client: fd_ident's mount table fd (fdident.h) */
	err = fd_ident_prepare();
	if (err)
		log_warn("/proc/self/mountinfo: %s: mount types are looked up every time",
			 strerror(-err));
	warn_closed_rundir(dm, &bp);
	err = broker_start_fd(dm->rundir, dm->core, dm->fe, &bp, handed_fd(dm, "broker"),
			      &dm->broker);
	if (err && dm->ho)
		err = broker_start(dm->rundir, dm->core, dm->fe, &bp, &dm->broker);
	if (err)
		return err;
	/*
	 * From control_start on, a reload can come from the control thread:
	 * what follows reads the configuration and the device table, so it
	 * holds the reload lock as reload() does.
	 */
	pthread_mutex_lock(&dm->reload_lock);
	err = control_start_fd(dm->rundir, dm->core, &ctl_ops, handed_fd(dm, "control"), &dm->ctl);
	if (err && dm->ho)
		err = control_start(dm->rundir, dm->core, &ctl_ops, &dm->ctl);
	if (!err)
		err = control_set_admin_group(dm->ctl, dm->cfg.admin_group_set, dm->cfg.admin_gid,
					      dm->cfg.admin_group);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (!err)
		err = rundir_write(dm->rundir, "devdir", frontend_dev_dir(dm->fe));
	if (!err)
		err = rundir_write(dm->rundir, "uacced.pid", pid);
	if (err) {
		pthread_mutex_unlock(&dm->reload_lock);
		return err;
	}
	config_sources(&dm->cfg, src, sizeof(src));
	config_summary(&dm->cfg, sum, sizeof(sum));
	log_info("ready: %d device(s) in %s%s, config %s (%s), runtime dir %s",
		 devtable_count(dm->dt), frontend_dev_dir(dm->fe),
		 devtable_hw_waiting(dm->dt) ? " (others wait for hardware)" : "", src, sum,
		 dm->rundir);
	if (dm->ho) {
		log_info("%s: serving the queues of pid %lld",
			 dm->crash ? "crash restart" : "live restart",
			 (long long)ho_get_int(ho_get(ho_root(dm->ho), "daemon"), "pid", 0));
		if (strcmp(ho_get_str(ho_root(dm->ho), "transport", ""), "exec") == 0)
			journal_inherit(dm);
		else if (!dm->cj || journal_inherit_store(dm))
			ho_fdstore_forget(dm->ho);
		answer_restart(dm);
		ho_free(dm->ho);
		dm->ho = NULL;
		cj_recovery_fini(&dm->rec);
	}
	/* every node exists with its final mode: frontend_start waited for it */
	notify_send("READY=1\nMAINPID=%d", (int)getpid());
	devtable_status(dm->dt, NULL);
	pthread_mutex_unlock(&dm->reload_lock);
	journal_start(dm);	/* its snapshot takes the reload lock */
	return 0;
}

static void teardown(struct daemon *dm)
{
	if (dm->core)	/* only what this daemon created */
		rundir_remove_files(dm->rundir);
	control_stop(dm->ctl);	/* no reload from now on */
	evloop_remove(dm->kg_src);
	kgate_free(dm->kg);	/* the gate is gone: the kernel nodes are their mode's */
	broker_stop(dm->broker);
	frontend_stop(dm->fe);	/* open queues are released here */
	dm->fe = NULL;
	devtable_free(dm->dt);	/* its sources leave the loop */
	core_free(dm->core);
	cj_free(dm->cj);	/* after every queue: their hooks write into it */
	config_free(&dm->cfg);
	evloop_free(dm->loop);
	if (dm->sigfd >= 0)
		close(dm->sigfd);
}

static void run(struct daemon *dm)
{
	int err = evloop_run(dm->loop);

	if (err)
		log_err("epoll_wait: %s", strerror(-err));
}

/*
 * Every client connection and queue costs the daemon fds: take the hard
 * limit (systemd and login sessions give a low soft one).  The broker sizes
 * its connection limits from the result (uacced(8)).
 */
static void raise_nofile(void)
{
	struct rlimit rl;
	int conns, per_uid;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the fd limit to %llu: %s",
				 (unsigned long long)rl.rlim_max, strerror(errno));
	}
	broker_limits(&conns, &per_uid);
	log_info("fd limit %llu: broker connections: %d of all users but root, %d of one uid",
		 getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (unsigned long long)rl.rlim_cur : 0ULL,
		 conns, per_uid);
}

/*
 * No transparent huge pages for the daemon's own memory.  Under the "always"
 * THP mode (Debian's kernels) the first touch of a thread's stack or of a
 * malloc arena took a 2 MiB page: measured in the test guest, the daemon's
 * RSS went from 10 to 26-43 MB over the hostile clients' sections, in
 * steps of 2048 kB.  Its hot data is small and queue regions are memfds
 * (shmem, not governed by this): nothing here gains from huge pages.
 * Inherited by a successor (live restart execs the same program).
 */
static void no_thp(void)
{
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
		log_info("transparent huge pages stay on for the daemon: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct daemon dm = { .sigfd = -1, .restart_efd = -1,
			     .reload_lock = PTHREAD_MUTEX_INITIALIZER,
			     .rs_lock = PTHREAD_MUTEX_INITIALIZER,
			     .rs_cond = PTHREAD_COND_INITIALIZER };
	char err[512];
	bool spawned;
	int r;

	setvbuf(stderr, NULL, _IOLBF, 0);
	r = parse_args(&dm, argc, argv);
	if (r)
		return r;
	if (dm.check_only)
		return config_check("uacced", dm.config_path, dm.config_explicit, stdout, stderr);
	log_set_target(dm.log_target);
	dm.argv = argv;
	if (readlink("/proc/self/exe", dm.exe, sizeof(dm.exe) - 1) < 0)
		snprintf(dm.exe, sizeof(dm.exe), "%s", argv[0]);
	spawned = getenv("UACCED_HO_PARENT") != NULL;
	r = ho_receive(&dm.ho);
	if (r && spawned)
		return 1;	/* the predecessor serves on: it sees no answer */
	if (dm.ho && ho_is_raw(dm.ho))
		crash_prepare(&dm);
	r = config_load(dm.config_path, dm.config_explicit, &dm.cfg, err, sizeof(err));
	if (r) {
		log_err("configuration rejected: %s", err);
		if (dm.ho) {
			char why[600];

			snprintf(why, sizeof(why), "refused: configuration rejected: %s", err);
			successor_answer(&dm, why);
		}
		return 1;
	}
	if (dm.ho && spawned) {
		char why[1024];

		/* the check alone: the predecessor becomes us if we say yes */
		r = successor_check(&dm, why, sizeof(why));
		r = successor_answer(&dm, r ? why : NULL);
		config_free(&dm.cfg);
		return r;
	}
	if (dm.ho) {
		char why[1024];

		/* checked already (execve) or no way back (the fd store): take
		 * what can be taken; devices no longer configured end */
		if (successor_check(&dm, why, sizeof(why)) < 0)
			log_warn("live restart: %s; taking over what can be", why);
	}
	if (geteuid() != 0)
		log_warn("not running as root: CUSE, FUSE mounts and SVA access need root");
	signal(SIGPIPE, SIG_IGN);
	no_thp();
	raise_nofile();
	r = setup(&dm);
	if (r)
		log_err("start-up failed: %s", strerror(-r));
	else
		run(&dm);
	teardown(&dm);
	return r ? 1 : 0;
}
