/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fe_adopt.c - a successor's frontend takes over its predecessor's
 * sessions and open files (frontend_adopt, frontend.h; the mechanism:
 * fe_handover.c).  Its own file: it is the frontend's one caller of the
 * core's side of the handover (core_claim_adopted).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "fe_internal.h"
#include "handover.h"
#include "log.h"

/* --- adopt ---------------------------------------------------------------------- */

/* wake a poller the predecessor was to wake: it polls again, and reaches us */
static void wake_kh(struct fe_node *node, uint64_t kh)
{
	struct {
		struct fuse_out_header h;
		struct fuse_notify_poll_wakeup_out w;
	} msg = {
		.h = { .len = sizeof(msg), .error = FUSE_NOTIFY_POLL, .unique = 0 },
		.w = { .kh = kh },
	};
	int fd = node->fe->tops->session_fd(node);

	if (fd < 0 || write(fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		node_warn(node, "%s: cannot wake a poller of the predecessor (kh %llu): %m",
			  node->path, (unsigned long long)kh);
}

/* every file of the state, re-bound to its queue; -errno */
static int adopt_files(struct frontend *fe, json_object *o)
{
	json_object *files = ho_get(o, "files");
	size_t n = files && json_object_is_type(files, json_type_array) ?
		   json_object_array_length(files) : 0;
	int claimed = 0, lost = 0, skipped = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *jf = json_object_array_get_idx(files, i);
		uint64_t fh = (uint64_t)ho_get_int(jf, "fh", 0);
		const char *name = ho_get_str(jf, "node", "");
		struct fe_node *node = fe_node_by_name(fe, name);
		struct uacce_queue *q;
		int err;

		if (!fh || !node) {
			/* its device is gone: its queue (if any) goes with core_adopt_done */
			skipped++;
			continue;
		}
		q = core_claim_adopted(fe->core, fh);
		err = fe_file_adopt(node, fh, q, (uint64_t)ho_get_int(jf, "kh", 0));
		if (err) {
			if (q)
				uq_release(q);
			node_err(node, "%s: cannot take over the open file of queue %llu: %s",
				 node->path, (unsigned long long)fh, strerror(-err));
			return err;
		}
		if (q)
			claimed++;
		else {
			lost++;
			node_warn(node, "%s: queue %llu did not come over: its file answers ENODEV",
				  node->path, (unsigned long long)fh);
		}
	}
	log_info("frontend: %d open file(s) taken over, %d without their queue, %d of devices "
		 "gone", claimed, lost, skipped);
	return 0;
}

static void wake_pollers(struct frontend *fe)
{
	for (;;) {
		struct fe_node *node = NULL;
		uint64_t kh = 0;

		/* each file once: its kh is cleared (a new FUSE_POLL records it again) */
		pthread_mutex_lock(&fe->lock);
		list_for_each(pos, &fe->files) {
			struct fe_file *f = container_of(pos, struct fe_file, link);

			pthread_mutex_lock(&f->lock);
			if (f->kh) {
				kh = f->kh;
				f->kh = 0;
				node = f->node;
			}
			pthread_mutex_unlock(&f->lock);
			if (node)
				break;
		}
		if (node)
			node->refs++;
		pthread_mutex_unlock(&fe->lock);
		if (!node)
			return;
		wake_kh(node, kh);
		fe_node_put(node);
	}
}

int frontend_adopt(const struct fe_opts *opts, struct uacce_core *core,
		   struct uacce_dev *const *devs, int n, struct ho_state *s, json_object *in,
		   struct frontend **out)
{
	json_object *o = in;
	const char *kind;
	struct frontend *fe;
	int err;

	if (!o)
		return frontend_start(opts, core, devs, n, out);
	kind = ho_get_str(o, "kind", "");
	if (strcmp(kind, opts->kind == FE_CUSE ? "cuse" : "fuse") != 0) {
		log_err("live restart: the predecessor's frontend is %s, ours %s: cannot take "
			"its nodes over", kind, opts->kind == FE_CUSE ? "cuse" : "fuse");
		return -EINVAL;
	}
	err = fe_new(opts, core, devs, n, &fe);
	if (err)
		return err;
	err = fe->tops->adopt(fe, s, o);
	if (err) {
		fe_discard(fe);
		return err;
	}
	/* the files before the threads: the first request may name any of them */
	err = adopt_files(fe, o);
	if (!err)
		err = fe->tops->thaw(fe);
	if (err) {
		frontend_stop(fe);
		return err;
	}
	wake_pollers(fe);
	*out = fe;
	return 0;
}
