/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devtable.c - the device table with hardware hot-plug (see devtable.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <json-c/json.h>

#include "attrs.h"
#include "backend.h"
#include "uacced_config.h"
#include "control.h"
#include "core.h"
#include "devtable.h"
#include "evloop.h"
#include "frontend.h"
#include "hotplug.h"
#include "log.h"
#include "notify.h"
#include "reload_plan.h"

_Static_assert(RELOAD_MAX_IDS >= CONFIG_MAX_DEVICES, "reload plan ids");

/*
 * A device entry of the configuration; its id is its index in
 * devtable::devs.  Entries of backends that bind hardware keep their id
 * while their hardware is away (stable names), without a device.
 */
struct dt_entry {
	struct devtable *t;
	bool used;			/* false: the id is free */
	struct uacce_dev_cfg cfg;	/* the entry (cfg.entry: a reference) */
	struct uacce_dev *dev;		/* a reference; NULL: not registered */
	const struct uacce_backend_hw_ops *hw;	/* its backend's hardware ops, if any */
	bool released;			/* hardware taken back: wait until it goes */
	bool create_failed;		/* there, but the backend could not use it:
					   retried at its own uevents and reloads */
	struct ev_source *release_src;	/* its release fd in the main loop, or NULL */
	char why[200];			/* why it waits (logged once per reason) */
};

struct devtable {
	struct uacce_core *core;
	const char *rundir;
	struct evloop *loop;
	pthread_mutex_t *lock;		/* the daemon's reload lock: all of the below */
	struct frontend *fe;
	struct dt_entry devs[CONFIG_MAX_DEVICES];
	int ndev;			/* registered devices */
	struct hotplug *hp;		/* uevents, once an entry binds hardware */
	struct ev_source *hp_src;	/* hp's fd in the main loop */
};

int devtable_new(struct uacce_core *core, const char *rundir, struct evloop *loop,
		 pthread_mutex_t *reload_lock, struct devtable **out)
{
	struct devtable *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->core = core;
	t->rundir = rundir;
	t->loop = loop;
	t->lock = reload_lock;
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++)
		t->devs[id].t = t;
	*out = t;
	return 0;
}

/* the "dev" attribute of d, whose node the frontend published */
static int publish_devt(struct devtable *t, struct uacce_dev *d)
{
	dev_t rdev;
	int err = frontend_node_devt(t->fe, ud_name(d), &rdev);

	if (!err)
		err = attrs_publish_dev(t->rundir, d, rdev);
	if (err)
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: cannot publish its dev attribute: %s",
			 ud_name(d), strerror(-err));
	return err;
}

void devtable_set_frontend(struct devtable *t, struct frontend *fe)
{
	t->fe = fe;
	/* the nodes of the devices loaded before it exist now */
	for (int id = 0; fe && id < CONFIG_MAX_DEVICES; id++)
		if (t->devs[id].dev)
			publish_devt(t, t->devs[id].dev);
}

/* the entry's backend when it binds hardware, else NULL */
static const struct uacce_backend_hw_ops *binds_hw(const struct uacce_dev_cfg *cfg)
{
	const struct uacce_backend_ops *ops = uacce_backend_find(cfg->backend);

	return ops ? ops->hw : NULL;
}

/* entry `id` holds cfg (a reference to its JSON); no device yet */
static void entry_set(struct devtable *t, int id, const struct uacce_dev_cfg *cfg)
{
	struct dt_entry *dd = &t->devs[id];

	memset(dd, 0, sizeof(*dd));
	dd->t = t;
	dd->used = true;
	dd->cfg = *cfg;
	dd->hw = binds_hw(cfg);
	json_object_get(cfg->entry);
}

static void on_release(struct ev_source *s, int fd, uint32_t events, void *ctx);

/* register entry id's device (not yet published); d: made already, or NULL */
static int dev_create(struct devtable *t, int id, struct uacce_dev *d)
{
	struct dt_entry *dd = &t->devs[id];
	int err = 0, fd;

	if (!d)
		err = core_add_device(t->core, uacce_backend_find(dd->cfg.backend), &dd->cfg, id, &d);
	if (err)
		return err;
	dd->dev = d;
	t->ndev++;
	fd = ud_hw_release_fd(d);
	if (fd >= 0) {
		err = evloop_add_fd(t->loop, fd, EPOLLIN, on_release, dd, NULL, &dd->release_src);
		if (err)
			ulog_ctx(LOG_WARNING, UD_LOG_CTX(d), "%s: cannot watch its release "
				 "interrupt: %s", ud_name(d), strerror(-err));
	}
	return 0;
}

/* revoke its queues (ENODEV), unpublish and unregister it; the entry stays */
static void dev_unregister(struct devtable *t, int id)
{
	struct dt_entry *dd = &t->devs[id];

	if (!dd->dev)
		return;
	evloop_remove(dd->release_src);	/* before the fd goes with the device */
	dd->release_src = NULL;
	core_remove_device(dd->dev);
	if (t->fe)
		frontend_remove_device(t->fe, dd->dev);
	attrs_remove(t->rundir, dd->dev);
	ud_unref(dd->dev);
	dd->dev = NULL;
	t->ndev--;
}

/* unregister its device and forget the entry */
static void dev_destroy(struct devtable *t, int id)
{
	struct dt_entry *dd = &t->devs[id];

	if (!dd->used)
		return;
	dev_unregister(t, id);
	json_object_put(dd->cfg.entry);
	memset(dd, 0, sizeof(*dd));
	dd->t = t;
}

/*
 * attributes, then the node (with the frontend running), then "dev" (the
 * node's number, known once the kernel made it)
 */
static int dev_publish(struct devtable *t, int id)
{
	struct uacce_dev *d = t->devs[id].dev;
	int err = attrs_publish(t->rundir, d);

	if (err) {
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: cannot publish attributes in %s: %s",
			 ud_name(d), t->rundir, strerror(-err));
		return err;
	}
	if (!t->fe)
		return 0;
	/* on failure the caller unregisters it (its node too, if made) */
	err = frontend_add_device(t->fe, d);
	return err ? err : publish_devt(t, d);
}

int devtable_hw_waiting(const struct devtable *t)
{
	int n = 0;

	for (int id = 0; id < CONFIG_MAX_DEVICES; id++)
		n += t->devs[id].used && !t->devs[id].dev;
	return n;
}

int devtable_count(const struct devtable *t)
{
	return t->ndev;
}

/*
 * An entry whose backend binds hardware: register its device when the
 * hardware is there (and was not just taken back), else say once why it
 * waits.  `how`: what made us look, for the log.
 */
static void hw_try(struct devtable *t, int id, const char *how)
{
	struct dt_entry *dd = &t->devs[id];
	char why[sizeof(dd->why)];
	int err;

	if (!dd->used || !dd->hw || dd->dev || dd->released)
		return;
	err = dd->hw->present(&dd->cfg, why, sizeof(why));
	if (!err) {
		err = dev_create(t, id, NULL);
		dd->create_failed = err != 0;
		if (err)
			snprintf(why, sizeof(why), "its hardware is there but cannot be used: %s "
				 "(the reason is in the log; retried at its next uevent or reload)",
				 strerror(-err));
		else if ((err = dev_publish(t, id)) != 0) {
			dev_unregister(t, id);
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

		if (uacce_node_name(&dd->cfg, id, name, sizeof(name)))
			snprintf(name, sizeof(name), "?");
		ulog_ctx(LOG_INFO, &(struct ulog_ctx){ .device = name },
			 "%s (devices[%d], backend %s): waiting for its hardware: %s", name, id,
			 dd->cfg.backend, why);
	}
	snprintf(dd->why, sizeof(dd->why), "%s", why);
}

void devtable_status(const struct devtable *t, const char *extra)
{
	int waiting = devtable_hw_waiting(t);
	char w[64] = "";

	if (waiting)
		snprintf(w, sizeof(w), ", %d waiting for hardware", waiting);
	notify_send("STATUS=%d device(s) in %s%s%s", t->ndev, frontend_dev_dir(t->fe), w,
		    extra ? extra : "");
}

/*
 * The kernel wants the hardware of an entry back (unbind, unplug): its
 * release fd is readable.  Main loop.
 */
static void on_release(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct dt_entry *dd = ctx;
	struct devtable *t = dd->t;
	uint64_t n;

	(void)events;
	pthread_mutex_lock(t->lock);
	/*
	 * A stale event: the device was unregistered meanwhile (a reload on
	 * the control thread), its fd closed; or nothing to read.
	 */
	if (dd->release_src != s || read(fd, &n, sizeof(n)) != sizeof(n))
		goto out;
	ulog_ctx(LOG_NOTICE, UD_LOG_CTX(dd->dev), "%s: the kernel asks for its hardware back "
		 "(unbind or unplug): queues revoked (ENODEV), device unregistered",
		 ud_name(dd->dev));
	dev_unregister(t, (int)(dd - t->devs));
	dd->released = true;
	dd->why[0] = '\0';
out:
	devtable_status(t, NULL);
	pthread_mutex_unlock(t->lock);
}

/* a uevent: re-check the entries it concerns */
static void on_uevent(struct devtable *t, const struct hotplug_event *ev)
{
	char how[160];

	snprintf(how, sizeof(how), "uevent %s %s%s%s", ev->action, ev->sysname,
		 ev->driver[0] ? " driver " : "", ev->driver);
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++) {
		struct dt_entry *dd = &t->devs[id];
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
				dev_unregister(t, id);
			}
		}
		hw_try(t, id, how);
	}
}

/* uevents wait: main loop */
static void hotplug_drain(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct devtable *t = ctx;
	struct hotplug_event ev;

	(void)s, (void)fd, (void)events;
	pthread_mutex_lock(t->lock);
	while (hotplug_next(t->hp, &ev) == 0)
		on_uevent(t, &ev);
	/*
	 * uevents can be lost (a full socket buffer): look at every waiting
	 * entry, but do not retry (and log) a failed open at every uevent of
	 * some other device
	 */
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++)
		if (!t->devs[id].create_failed)
			hw_try(t, id, "a uevent");
	devtable_status(t, NULL);
	pthread_mutex_unlock(t->lock);
}

/* listen to uevents (once; the first entry that binds hardware asks) */
static int hotplug_start(struct devtable *t)
{
	const char *subs[CONFIG_MAX_DEVICES + 1] = { NULL };
	int n = 0, err;

	if (t->hp)
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
	err = hotplug_open(subs, &t->hp);
	if (!err) {
		err = evloop_add_fd(t->loop, hotplug_fd(t->hp), EPOLLIN, hotplug_drain, t, NULL,
				    &t->hp_src);
		if (err) {
			hotplug_close(t->hp);
			t->hp = NULL;
		}
	}
	if (err)
		log_err("cannot listen to kernel uevents (hardware hot-plug): %s", strerror(-err));
	else
		log_debug("listening to kernel uevents for hardware hot-plug");
	return err;
}

/* entry j of cfg as id `id`, at start-up */
static int load_entry(struct devtable *t, const struct uacce_config *cfg, int j, int id)
{
	int err;

	entry_set(t, id, &cfg->devs[j]);
	if (t->devs[id].hw) {
		/* listen first: hardware that comes meanwhile is not missed */
		err = hotplug_start(t);
		if (err)
			return err;
		hw_try(t, id, "start-up");	/* attributes only: no frontend yet */
		return 0;
	}
	err = dev_create(t, id, NULL);
	if (!err)
		err = dev_publish(t, id);	/* attributes: no frontend yet */
	return err;
}

int devtable_load(struct devtable *t, const struct uacce_config *cfg)
{
	for (int i = 0; i < cfg->ndev; i++) {
		int err = load_entry(t, cfg, i, i);

		if (err)
			return err;
	}
	return 0;
}

/* --- live restart: the predecessor's ids ---------------------------------------- */

/* o as JSON text with every object's keys sorted (malloc'd; NULL: no memory) */
static int canon_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_object *canon_copy(json_object *o)
{
	if (json_object_is_type(o, json_type_object)) {
		json_object *c = json_object_new_object();
		const char *keys[256];
		int n = 0;

		json_object_object_foreach(o, k, v) {
			(void)v;
			if (n < 256)
				keys[n++] = k;
		}
		qsort(keys, (size_t)n, sizeof(keys[0]), canon_cmp);
		for (int i = 0; i < n; i++)
			json_object_object_add(c, keys[i],
					       canon_copy(json_object_object_get(o, keys[i])));
		return c;
	}
	if (json_object_is_type(o, json_type_array)) {
		json_object *c = json_object_new_array();

		for (size_t i = 0; i < json_object_array_length(o); i++)
			json_object_array_add(c, canon_copy(json_object_array_get_idx(o, i)));
		return c;
	}
	return json_object_get(o);
}

static char *canon_text(json_object *o)
{
	json_object *c = canon_copy(o);
	char *text = strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN));

	json_object_put(c);
	return text;
}

int devtable_export(const struct devtable *t, json_object *arr)
{
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++) {
		const struct dt_entry *dd = &t->devs[id];
		char node[96], *text;
		json_object *e;

		if (!dd->used)
			continue;
		if (uacce_node_name(&dd->cfg, id, node, sizeof(node)))
			node[0] = 0;
		text = canon_text(dd->cfg.entry);
		e = json_object_new_object();
		if (!text || !e) {
			free(text);
			json_object_put(e);
			return -ENOMEM;
		}
		json_object_object_add(e, "id", json_object_new_int(id));
		json_object_object_add(e, "node", json_object_new_string(node));
		json_object_object_add(e, "entry", json_object_new_string(text));
		free(text);
		json_object_array_add(arr, e);
	}
	return 0;
}

struct after_ctx {
	const struct uacce_config *cfg;
	const char *prev[RELOAD_MAX_IDS];	/* per id: the entry's text, NULL: free */
	char *now[RELOAD_MAX_IDS];		/* per new entry */
};

static bool af_used(void *ctx, int id)
{
	struct after_ctx *a = ctx;

	return id < RELOAD_MAX_IDS && a->prev[id];
}

static bool af_same(void *ctx, int id, int j)
{
	struct after_ctx *a = ctx;

	return a->prev[id] && a->now[j] && strcmp(a->prev[id], a->now[j]) == 0;
}

static bool af_binds_hw(void *ctx, int j)
{
	struct after_ctx *a = ctx;

	return binds_hw(&a->cfg->devs[j]) != NULL;
}

/* the plan of cfg's entries over prev's ids (a.now freed by the caller) */
static int plan_after(struct after_ctx *a, const struct uacce_config *cfg, json_object *prev,
		      const char *nodes[RELOAD_MAX_IDS], struct reload_plan *plan)
{
	const struct reload_ops ops = {
		.ctx = a, .used = af_used, .same = af_same, .binds_hw = af_binds_hw,
	};
	int err = 0;

	a->cfg = cfg;
	for (size_t i = 0; i < json_object_array_length(prev); i++) {
		json_object *e = json_object_array_get_idx(prev, i), *v;
		int id = json_object_object_get_ex(e, "id", &v) ? json_object_get_int(v) : -1;

		if (id >= 0 && id < RELOAD_MAX_IDS && id < CONFIG_MAX_DEVICES &&
		    json_object_object_get_ex(e, "entry", &v) &&
		    json_object_is_type(v, json_type_string)) {
			a->prev[id] = json_object_get_string(v);
			nodes[id] = json_object_object_get_ex(e, "node", &v) ?
				    json_object_get_string(v) : "?";
		}
	}
	for (int j = 0; j < cfg->ndev && !err; j++)
		if (!(a->now[j] = canon_text(cfg->devs[j].entry)))
			err = -ENOMEM;
	if (!err)
		err = reload_plan_compute(plan, cfg->ndev, &ops);
	return err;
}

int devtable_dropped_after(const struct uacce_config *cfg, json_object *prev,
			   void (*fn)(const char *node, void *ctx), void *ctx)
{
	struct after_ctx a = { 0 };
	const char *nodes[RELOAD_MAX_IDS] = { 0 };
	struct reload_plan plan;
	int err, n = 0;

	if (!prev || !json_object_is_type(prev, json_type_array))
		return 0;
	err = plan_after(&a, cfg, prev, nodes, &plan);
	for (int id = 0; !err && id < RELOAD_MAX_IDS; id++) {
		if (a.prev[id] && plan.gone[id]) {
			fn(nodes[id], ctx);
			n++;
		}
	}
	for (int j = 0; j < cfg->ndev; j++)
		free(a.now[j]);
	return err ? err : n;
}

int devtable_kept_after(const struct uacce_config *cfg, json_object *prev,
			int (*fn)(const struct uacce_dev_cfg *dev, void *ctx), void *ctx)
{
	struct after_ctx a = { 0 };
	const char *nodes[RELOAD_MAX_IDS] = { 0 };
	struct reload_plan plan;
	int err;

	if (!prev || !json_object_is_type(prev, json_type_array))
		return 0;
	err = plan_after(&a, cfg, prev, nodes, &plan);
	for (int j = 0; !err && j < cfg->ndev; j++) {
		struct uacce_dev_cfg named = cfg->devs[j];

		if (!plan.keep[j] || !nodes[plan.id[j]])
			continue;
		named.node_name = nodes[plan.id[j]];
		err = fn(&named, ctx);
	}
	for (int j = 0; j < cfg->ndev; j++)
		free(a.now[j]);
	return err;
}

int devtable_load_after(struct devtable *t, const struct uacce_config *cfg, json_object *prev)
{
	struct after_ctx a = { 0 };
	const char *nodes[RELOAD_MAX_IDS] = { 0 };
	struct reload_plan plan;
	int err;

	if (!prev || !json_object_is_type(prev, json_type_array))
		return devtable_load(t, cfg);
	err = plan_after(&a, cfg, prev, nodes, &plan);
	for (int j = 0; !err && j < cfg->ndev; j++) {
		if (!plan.keep[j])
			log_info("live restart: device entry %d (\"%s\") is new: id %d", j,
				 cfg->devs[j].name, plan.id[j]);
		err = load_entry(t, cfg, j, plan.id[j]);
	}
	for (int j = 0; j < cfg->ndev; j++)
		free(a.now[j]);
	return err;
}

int devtable_devices(const struct devtable *t, struct uacce_dev **devs, int max)
{
	int n = 0;

	for (int id = 0; id < CONFIG_MAX_DEVICES && n < max; id++)
		if (t->devs[id].dev)
			devs[n++] = t->devs[id].dev;
	return n;
}

int devtable_waiting(const struct devtable *t, struct control_waiting *w, int max)
{
	int n = 0;

	for (int id = 0; id < CONFIG_MAX_DEVICES && n < max; id++) {
		const struct dt_entry *dd = &t->devs[id];

		if (!dd->used || dd->dev)
			continue;
		w[n].id = id;
		if (uacce_node_name(&dd->cfg, id, w[n].name, sizeof(w[n].name)))
			snprintf(w[n].name, sizeof(w[n].name), "?");
		snprintf(w[n].backend, sizeof(w[n].backend), "%s", dd->cfg.backend);
		snprintf(w[n].reason, sizeof(w[n].reason), "%s",
			 dd->why[0] ? dd->why : "released by the kernel, not back yet");
		n++;
	}
	return n;
}

/* --- reload: the plan's view of the table (reload_plan.h) ------------------------ */

struct reload_ctx {
	struct devtable *t;
	const struct uacce_config *nc;
};

static bool rp_used(void *ctx, int id)
{
	struct reload_ctx *r = ctx;

	return id < CONFIG_MAX_DEVICES && r->t->devs[id].used;
}

static bool rp_same(void *ctx, int id, int j)
{
	struct reload_ctx *r = ctx;

	return config_dev_equal(&r->t->devs[id].cfg, &r->nc->devs[j]);
}

static bool rp_binds_hw(void *ctx, int j)
{
	struct reload_ctx *r = ctx;

	return binds_hw(&r->nc->devs[j]) != NULL;
}

static int rp_create(void *ctx, int j, int id, void **made)
{
	struct reload_ctx *r = ctx;
	struct uacce_dev *d = NULL;
	int err = core_add_device(r->t->core, uacce_backend_find(r->nc->devs[j].backend),
				  &r->nc->devs[j], id, &d);

	*made = d;
	return err;
}

static void rp_discard(void *ctx, void *made)
{
	(void)ctx;
	core_remove_device(made);
	ud_unref(made);
}

static void rp_remove(void *ctx, int id)
{
	struct reload_ctx *r = ctx;

	dev_destroy(r->t, id);
}

static int rp_install(void *ctx, int j, int id, void *made)
{
	struct reload_ctx *r = ctx;
	struct devtable *t = r->t;
	struct dt_entry *dd = &t->devs[id];
	int err;

	entry_set(t, id, &r->nc->devs[j]);
	if (dd->hw) {
		if (hotplug_start(t) == 0)
			hw_try(t, id, "reload");
		return 0;
	}
	dev_create(t, id, made);	/* made already: cannot fail */
	err = dev_publish(t, id);
	if (err) {
		ulog_ctx(LOG_ERR, UD_LOG_CTX(dd->dev),
			 "%s: the new device could not be published: removed again",
			 ud_name(dd->dev));
		dev_destroy(t, id);
	}
	return err;
}

int devtable_reload(struct devtable *t, const struct uacce_config *nc,
		    struct devtable_stats *st, char *msg, size_t len)
{
	struct reload_ctx r = { .t = t, .nc = nc };
	const struct reload_ops ops = {
		.ctx = &r,
		.used = rp_used,
		.same = rp_same,
		.binds_hw = rp_binds_hw,
		.create = rp_create,
		.discard = rp_discard,
		.remove = rp_remove,
		.install = rp_install,
	};
	struct reload_plan p;
	int err, j = 0;

	err = reload_plan_compute(&p, nc->ndev, &ops);
	if (err) {
		snprintf(msg, len, "%s: %d devices: too many", nc->origin, nc->ndev);
		return err;
	}
	err = reload_plan_create(&p, &ops, &j);
	if (err) {
		snprintf(msg, len, "%s: devices[%d] (\"%s\", backend %s): the device cannot be "
			 "created: %s", nc->origin, j, nc->devs[j].name, nc->devs[j].backend,
			 strerror(-err));
		return err;
	}
	/* the swap: policy, removals, additions */
	core_set_policy(t->core, nc->policy);
	st->failed = reload_plan_apply(&p, &ops);
	st->kept = p.kept;
	st->added = p.added;
	st->removed = p.removed;
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++) {	/* kept ones waiting too */
		t->devs[id].create_failed = false;
		hw_try(t, id, "reload");
	}
	return 0;
}

void devtable_free(struct devtable *t)
{
	if (!t)
		return;
	t->fe = NULL;	/* stopped: its nodes are gone */
	for (int id = 0; id < CONFIG_MAX_DEVICES; id++)
		dev_destroy(t, id);
	evloop_remove(t->hp_src);
	hotplug_close(t->hp);
	free(t);
}
