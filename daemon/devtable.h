/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * devtable.h - the device table: the configuration's device entries by id
 * (an entry's id is its index, stable across reloads: reload_plan.h), the
 * device each has in the core, its attributes and node, and hardware
 * hot-plug.  Entries of backends that bind hardware keep their id while
 * their hardware is away (stable names), without a device: the table
 * listens to kernel uevents (hotplug.h) from the first such entry on, and
 * to each device's release interrupt (the kernel wants the hardware back).
 *
 * Locking: the caller holds the daemon's reload lock (given to
 * devtable_new) around every call but devtable_new and devtable_free; the
 * table's own event callbacks (uevents, release interrupts) run on the
 * main loop and take it.
 */
#ifndef UACCED_DEVTABLE_H
#define UACCED_DEVTABLE_H

#include <pthread.h>
#include <stddef.h>

struct control_waiting;
struct evloop;
struct frontend;
struct uacce_config;
struct uacce_core;
struct uacce_dev;
struct devtable;

/* what a reload did to the devices */
struct devtable_stats {
	int kept, added, removed;
	int failed;			/* added but could not be published */
};

/* rundir: for the attributes; loop: the main loop (uevents, release fds) */
int devtable_new(struct uacce_core *core, const char *rundir, struct evloop *loop,
		 pthread_mutex_t *reload_lock, struct devtable **out);
/* unregister every device and forget every entry; the frontend is stopped */
void devtable_free(struct devtable *t);
/* the frontend that publishes the nodes, once it runs (NULL: none) */
void devtable_set_frontend(struct devtable *t, struct frontend *fe);

/*
 * Start-up, before the frontend: the entries of cfg with ids in file
 * order, their devices registered and their attributes published (those
 * that bind hardware: if it is there).  -errno.
 */
int devtable_load(struct devtable *t, const struct uacce_config *cfg);
/*
 * Live restart (handover.h).  devtable_export: every entry of the table
 * into arr, as {"id", "node", "entry": its JSON with sorted keys}.
 * devtable_load_after: devtable_load for the successor, with the ids of
 * the predecessor's table `prev` (devtable_export's array; NULL: as
 * devtable_load): reload_plan.h's rules, an entry equal to one of prev
 * keeping its id (and so its node name and queues).  -errno.
 */
struct json_object;
int devtable_export(const struct devtable *t, struct json_object *arr);
int devtable_load_after(struct devtable *t, const struct uacce_config *cfg,
			struct json_object *prev);
/*
 * The entries of prev that cfg drops (no entry of cfg equal): fn(node) for
 * each; how many, or -errno.  No table needed: a check before adopting.
 */
int devtable_dropped_after(const struct uacce_config *cfg, struct json_object *prev,
			   void (*fn)(const char *node, void *ctx), void *ctx);
/*
 * The entries of cfg that keep a device of prev (the same entry, the same
 * id and node): fn(entry with node_name set) for each, until one returns
 * nonzero: that value, else 0 (or -errno).  No table needed.
 */
struct uacce_dev_cfg;
int devtable_kept_after(const struct uacce_config *cfg, struct json_object *prev,
			int (*fn)(const struct uacce_dev_cfg *dev, void *ctx), void *ctx);
/* the registered devices, in id order (at most max): how many */
int devtable_devices(const struct devtable *t, struct uacce_dev **devs, int max);

/*
 * Reload: map nc's entries onto the table (reload_plan.h), create the new
 * devices (all or none), install nc's policy, swap.  0 with what it did in
 * *st, or -errno with the reason in msg and the table untouched.  nc must
 * outlive its entries in the table (they hold references to its JSON).
 */
int devtable_reload(struct devtable *t, const struct uacce_config *nc,
		    struct devtable_stats *st, char *msg, size_t len);

/* registered devices */
int devtable_count(const struct devtable *t);
/* entries without a device (waiting for their hardware) */
int devtable_hw_waiting(const struct devtable *t);
/* those entries, for "uaccectl list": how many filled in w[0..max) */
int devtable_waiting(const struct devtable *t, struct control_waiting *w, int max);
/* STATUS= for systemd: devices, where, how many wait; extra appended */
void devtable_status(const struct devtable *t, const char *extra);

#endif
