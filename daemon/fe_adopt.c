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

#include "cjournal.h"
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

/*
 * Before the first request is read on the adopted connections: a request
 * the crashed predecessor had read but not recorded in its journal (killed
 * between the kernel's read and the record) waits in the kernel's
 * processing list for an answer nobody would give.  The kernel hands
 * requests out in the order of their uniques (even, growing): such a
 * request is near the highest unique the journal saw on that connection.
 * An answer to a unique the kernel does not hold in processing is refused
 * (ENOENT: answered already, or not read yet): only those get EIO.
 */
#define SWEEP 256	/* uniques on either side (readers x margin) */

static bool recorded(const struct cj_recovery *r, uint32_t conn, uint64_t unique)
{
	for (int i = 0; i < r->ninflight; i++)
		if (r->inflight[i].conn == conn && r->inflight[i].unique == unique)
			return true;
	return false;
}

static void crash_sweep(struct frontend *fe, const struct cj_recovery *r)
{
	int answered = 0;

	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);
		uint32_t conn = fe->tops->session_rec(node)->prev_conn;
		int fd = fe->tops->session_fd(node);
		uint64_t m = 0, lo;
		bool first = true;

		if (!conn || fd < 0)
			continue;
		/* FUSE: one connection for every node; once */
		list_for_each(p2, &fe->nodes) {
			struct fe_node *o = container_of(p2, struct fe_node, link);

			if (o == node)
				break;
			if (fe->tops->session_rec(o)->prev_conn == conn)
				first = false;
		}
		for (int k = 0; first && k < r->nconns; k++)
			if (r->conn[k] == conn)
				m = r->conn_max[k];
		if (!first || !m)
			continue;
		lo = m > 2 * SWEEP ? (m - 2 * SWEEP) & ~UINT64_C(1) : 2;
		for (uint64_t u = lo; u <= m + 2 * SWEEP; u += 2) {
			struct fuse_out_header h = { .len = sizeof(h), .error = -EIO, .unique = u };

			if (recorded(r, conn, u))
				continue;	/* done again once serving (frontend_crash_answer) */
			if (write(fd, &h, sizeof(h)) == (ssize_t)sizeof(h)) {
				answered++;
				node_warn(node, "%s: request %llu, read by the crashed predecessor "
					  "before its journal had it: answered EIO", node->path,
					  (unsigned long long)u);
			}
		}
	}
	if (answered)
		log_warn("crash restart: %d request(s) the predecessor read but did not record "
			 "answered EIO", answered);
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
	if (!err && opts->crash)
		crash_sweep(fe, opts->crash);
	fe->opts.crash = NULL;	/* the caller's, for this call only */
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

/* --- crash recovery --------------------------------------------------------- */

/* a raw answer to request `unique` of node's connection (nobody else will) */
static void raw_answer(struct fe_node *node, uint64_t unique, int error)
{
	struct fuse_out_header h = { .len = sizeof(h), .error = error, .unique = unique };
	int fd = node->fe->tops->session_fd(node);

	/* ENOENT: answered already (the predecessor died after its answer) */
	if (fd >= 0 && write(fd, &h, sizeof(h)) < 0 && errno != ENOENT)
		node_warn(node, "%s: cannot answer request %llu of the crashed predecessor: %m",
			  node->path, (unsigned long long)unique);
}

/*
 * Does the kernel still wait for the answer to `unique` (a request the
 * predecessor read)?  Asked without answering it: the kernel takes a reply
 * to the request's interrupt id (unique | FUSE_INT_REQ_BIT) with error 0
 * when it holds the request, and does nothing with it; ENOENT when it
 * does not (answered already).  1 yes, 0 no, -errno cannot tell.
 */
static int kernel_holds(struct fe_node *node, uint64_t unique)
{
	struct fuse_out_header h = { .len = sizeof(h), .error = 0,
				     .unique = unique | FUSE_INT_REQ_BIT };
	int fd = node->fe->tops->session_fd(node);

	if (fd < 0)
		return -EBADF;
	if (write(fd, &h, sizeof(h)) == (ssize_t)sizeof(h))
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/* the adopted node of the predecessor's connection `conn`, with a reference */
static struct fe_node *node_of_conn(struct frontend *fe, uint32_t conn)
{
	struct fe_node *found = NULL;

	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->nodes) {
		struct fe_node *node = container_of(pos, struct fe_node, link);

		if (!node->removed && fe->tops->session_rec(node)->prev_conn == conn) {
			found = node;
			found->refs++;
			break;
		}
	}
	pthread_mutex_unlock(&fe->lock);
	return found;
}

int frontend_crash_answer(struct frontend *fe, const struct cj_inflight *v, int n, uint64_t max_kh)
{
	int replayed = 0, answered = 0, lost = 0, done = 0;
	uint64_t lo = max_kh > 4096 ? max_kh - 4096 : 0;
	uint32_t done_conn[64];
	int ndone = 0;

	for (int i = 0; i < n; i++) {
		struct fe_node *node = node_of_conn(fe, v[i].conn);
		struct fuse_session *se = node ? fe->tops->session(node) : NULL;

		if (!node) {
			lost++;	/* its connection died with the predecessor */
			continue;
		}
		/*
		 * Answered before the crash (its end not recorded yet; a read
		 * slot's request of long ago; a duplicate): nothing to do.
		 * Cannot tell: done again all the same (an answer the kernel
		 * does not want is dropped, and libfuse releases an open the
		 * kernel refuses).
		 */
		if (kernel_holds(node, v[i].unique) == 0) {
			done++;
			fe_node_put(node);
			continue;
		}
		/*
		 * Done again, as if read now: the answer reaches its caller.
		 * A request the journal could not keep whole: EIO.
		 */
		if (se && v[i].len && fe_session_replay(se, v[i].req, v[i].len) == 0) {
			replayed++;
			node_info(node, "%s: request %llu (opcode %u) of the crashed predecessor "
				  "done again%s", node->path, (unsigned long long)v[i].unique,
				  v[i].opcode, v[i].slot ? " (read as it died: from its read slot)" : "");
		} else {
			raw_answer(node, v[i].unique, -EIO);
			answered++;
			node_info(node, "%s: request %llu (opcode %u) of the crashed predecessor "
				  "answered EIO", node->path, (unsigned long long)v[i].unique,
				  v[i].opcode);
		}
		fe_node_put(node);
	}
	/*
	 * Pollers: the snapshot's were woken by the adopt; those that polled
	 * since have the newest handles (the kernel numbers them upwards): a
	 * wake-up of a handle nobody waits on is ignored by the kernel.
	 */
	for (;;) {
		struct fe_node *node = NULL;
		uint32_t conn = 0;

		pthread_mutex_lock(&fe->lock);
		list_for_each(pos, &fe->nodes) {
			struct fe_node *o = container_of(pos, struct fe_node, link);
			bool seen = false;

			if (o->removed || !(conn = fe->tops->session_rec(o)->prev_conn))
				continue;
			for (int k = 0; k < ndone; k++)
				seen |= done_conn[k] == conn;
			if (!seen) {
				node = o;
				node->refs++;
				break;
			}
		}
		pthread_mutex_unlock(&fe->lock);
		if (!node)
			break;
		if (ndone < (int)(sizeof(done_conn) / sizeof(done_conn[0])))
			done_conn[ndone++] = conn;
		else
			lo = max_kh;	/* too many connections to track: no more ranges */
		for (uint64_t kh = lo + 1; kh <= max_kh; kh++)
			wake_kh(node, kh);
		fe_node_put(node);
		if (lo == max_kh)
			break;
	}
	log_info("crash restart: %d request(s) of the predecessor done again, %d answered EIO, "
		 "%d answered before the crash, %d on connections that did not survive",
		 replayed, answered, done, lost);
	return 0;
}
