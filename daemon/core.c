/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "handover.h"
#include "list.h"
#include "lockorder.h"
#include "log.h"
#include "policy.h"
#include "proc.h"
#include "region.h"
#include "shm.h"
#include "uacce_ml.h"

#define CULPRITS 8

/*
 * Locks (daemon/LOCKING.md): q->lock before core->lock.  core->lock guards
 * the lists, the devices' counters, the policy, accounting and every
 * field marked "lock"; q->lock serialises one queue's transitions and its
 * backend queue ops, which run without core->lock.  Fields marked "both"
 * are written with both held and may be read with either.
 */
struct uacce_core {
	pthread_mutex_t lock;
	struct uacce_core_hooks hooks;
	struct list devices;		/* uacce_dev.link */
	struct list queues;		/* uacce_queue.link, every live struct */
	uint64_t next_qid;
	unsigned long acct_gen;		/* marks SS regions counted once */
	struct uacce_policy *policy;	/* a reference, or NULL: no limits */
	bool policy_groups;		/* atomic: policy has group entries */
	uint64_t builtin_user_bytes;	/* max_region_bytes nobody set (not root) */
	uint64_t builtin_total_bytes;	/* total_region_bytes when not set */
	pthread_cond_t released;	/* with lock: a device's released_gen grew */
	bool frozen;			/* lock: core_freeze, not thawed */
	/* the devices' backends' flush_deferred, each once (added, never removed) */
	bool (*flush[4])(uint64_t older_ns);
	int nflush;			/* atomic */
	/* the successor, from core_set_handover to core_adopt_done: the
	 * devices' states for core_add_device (their fds in ho) */
	struct ho_state *ho;
	json_object *ho_devs;
};

struct uacce_dev {
	struct list link;		/* uacce_core::devices */
	struct uacce_core *core;
	int refs;			/* creator + holders + queue structs; lock */
	int id;
	char name[96];			/* "uacce-<name>-<id>" */
	char cfg_name[40];		/* "<name>" */
	enum uacce_abi abi;		/* the profile its node speaks */
	const struct uacce_backend_ops *ops;
	struct uacce_hwdev *hw;		/* backend's device; NULL once removed */
	bool removing;			/* lock: no new queues (core_remove_device) */
	bool state_adopted;		/* lock: dev_adopt took its predecessor's state */
	struct uacce_hwdev_info info;
	int used;			/* hardware queues taken */
	unsigned long released_gen;	/* hardware queues given back so far; lock */
	pid_t excl_tgid;		/* non-SVA: the process using it, 0 = none */
	int excl_count;			/* its queues holding the exclusivity */
	uint64_t requests;		/* atomic: completed on any of its queues */
};

struct uacce_queue {
	struct list link;		/* uacce_core::queues */
	pthread_mutex_t lock;		/* see above */
	int refs;			/* open file + lookups in flight; lock */
	uint64_t id;
	struct uacce_dev *dev;
	enum uacce_q_state state;	/* both */
	int dead_err;			/* UQ_DEAD: error for the owner (ENODEV); both */
	bool watched;
	bool jgone;			/* queue_changed(gone) was called */
	bool holds_excl;
	struct uacce_owner owner;
	gid_t *groups;			/* the opener's supplementary groups */
	int ngroups;
	bool groups_known;		/* else read when a policy needs them */
	struct uacce_hwq *hwq;		/* backend queue while INIT/STARTED; both */
	struct uacce_region *qfrs[UACCE_QFRT_NR];
	bool mapped[UACCE_QFRT_NR];
	uint64_t mapped_len[UACCE_QFRT_NR];	/* bytes charged for a mapped fixed region */
	uint64_t charged;		/* mapped MMIO/DKO/DUS bytes (SS: by region) */
	struct uq_shm_set shm;		/* SVA: memfds the owner shares (UB_SHARE);
					 * charged as regions; lock to add */
	uint64_t requests;		/* atomic: completed by its backend */
	void (*notify)(void *);
	void *notify_arg;
	pid_t culprits[CULPRITS];	/* other processes already logged */
	bool suspended;			/* core_freeze suspended its backend; qlock */
	bool adopted;			/* core_adopt made it, no file claimed it yet; lock */
	char label[192];
};

static void lock(struct uacce_core *c) { rlock(&c->lock, LR_CORE, "core"); }
static void unlock(struct uacce_core *c) { runlock(&c->lock, LR_CORE); }
static void qlock(struct uacce_queue *q) { rlock(&q->lock, LR_QUEUE, "queue"); }
static void qunlock(struct uacce_queue *q) { runlock(&q->lock, LR_QUEUE); }

static const struct uacce_backend_queue_ops *qops(const struct uacce_queue *q)
{
	return q->dev->ops->queue;
}

/* a record about queue q: "<label>: ..." with its journal fields */
#define qlog(prio, q, fmt, ...) \
	ulog_ctx((prio), UQ_LOG_CTX(q), "%s: " fmt, (q)->label, ##__VA_ARGS__)
#define qlog_rl(prio, q, fmt, ...) \
	ulog_ctx_rl((prio), UQ_LOG_CTX(q), "%s: " fmt, (q)->label, ##__VA_ARGS__)

const struct ulog_ctx *ud_log_ctx(const struct uacce_dev *d, struct ulog_ctx *ctx)
{
	*ctx = (struct ulog_ctx){ .device = d->name };
	return ctx;
}

const struct ulog_ctx *uq_log_ctx(const struct uacce_queue *q, struct ulog_ctx *ctx)
{
	*ctx = (struct ulog_ctx){
		.device = q->dev->name,
		.queue = q->id,
		.owner = true,
		.uid = q->owner.uid,
		.pid = q->owner.tgid,
		.comm = q->owner.comm,
	};
	return ctx;
}

const char *uq_label(const struct uacce_queue *q)
{
	return q->label;
}

/* --- devices ------------------------------------------------------------- */

int core_new(const struct uacce_core_hooks *hooks, struct uacce_core **out)
{
	struct uacce_core *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->released, NULL);
	if (hooks)
		c->hooks = *hooks;
	list_init(&c->devices);
	list_init(&c->queues);
	c->next_qid = 1;
	core_set_builtin_limits(c, 0, 0);
	*out = c;
	return 0;
}

void core_set_builtin_limits(struct uacce_core *c, uint64_t user_bytes, uint64_t total_bytes)
{
	struct sysinfo si;
	uint64_t mem = 0;

	if ((!user_bytes || !total_bytes) && sysinfo(&si) == 0)
		mem = (uint64_t)si.totalram * si.mem_unit;
	if (!mem)
		mem = 1ULL << 32;	/* no figure: assume 4 GiB */
	lock(c);
	c->builtin_user_bytes = user_bytes ? user_bytes : mem / 4;
	c->builtin_total_bytes = total_bytes ? total_bytes : mem / 2;
	unlock(c);
}

static void remove_hw(struct uacce_dev *d);

void core_free(struct uacce_core *c)
{
	if (!c)
		return;
	list_for_each(pos, &c->devices) {
		struct uacce_dev *d = container_of(pos, struct uacce_dev, link);

		if (d->hw)
			remove_hw(d);
		list_del(&d->link);
		free(d);
	}
	policy_unref(c->policy);
	pthread_cond_destroy(&c->released);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int adopt_dev_state(struct uacce_core *c, struct uacce_dev *d,
			   const struct uacce_dev_cfg *cfg);

static void add_flush_locked(struct uacce_core *c, bool (*fn)(uint64_t))
{
	int n = __atomic_load_n(&c->nflush, __ATOMIC_RELAXED);

	for (int i = 0; i < n; i++)
		if (c->flush[i] == fn)
			return;
	if (!fn || n >= (int)(sizeof(c->flush) / sizeof(c->flush[0])))
		return;
	c->flush[n] = fn;
	__atomic_store_n(&c->nflush, n + 1, __ATOMIC_RELEASE);
}

static __thread bool defer_ok;

void uq_defer_enable(bool on) { defer_ok = on; }
bool uacce_may_defer(void) { return defer_ok; }

bool uq_flush_deferred(struct uacce_core *c, uint64_t older_ns)
{
	int n = __atomic_load_n(&c->nflush, __ATOMIC_ACQUIRE);
	bool more = false;

	for (int i = 0; i < n; i++)
		more |= c->flush[i](older_ns);
	return more;
}

int core_add_device(struct uacce_core *c, const struct uacce_backend_ops *ops,
		    const struct uacce_dev_cfg *cfg, int id, struct uacce_dev **out)
{
	struct uacce_dev *d;
	int err;

	if (!ops || !ops->cfg || !ops->dev_create || !ops->dev_destroy || !ops->queue ||
	    !ops->queue->get_queue || !ops->queue->put_queue || !ops->queue->start_queue ||
	    !ops->queue->stop_queue)
		return -EINVAL;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->core = c;
	d->refs = 1;
	d->id = id;
	err = uacce_node_name(cfg, id, d->name, sizeof(d->name));
	if (err) {
		free(d);
		return err;
	}
	snprintf(d->cfg_name, sizeof(d->cfg_name), "%s", cfg->name);
	d->abi = cfg->abi;
	d->ops = ops;
	struct uacce_dev_cfg named = *cfg;

	named.node_name = d->name;
	err = adopt_dev_state(c, d, &named);
	if (err)
		err = d->ops->dev_create(&named, &d->info, &d->hw);
	if (err) {
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: backend %s: %s", d->name, d->ops->name,
			 strerror(-err));
		free(d);
		return err;
	}
	lock(c);
	list_add_tail(&c->devices, &d->link);
	add_flush_locked(c, ops->queue->flush_deferred);
	unlock(c);
	*out = d;
	return 0;
}

int ud_id(const struct uacce_dev *d) { return d->id; }

enum uacce_abi ud_abi(const struct uacce_dev *d) { return d->abi; }

int ud_hw_release_fd(const struct uacce_dev *d)
{
	return d->hw && d->ops->hw ? d->ops->hw->release_fd(d->hw) : -1;
}
const char *ud_name(const struct uacce_dev *d) { return d->name; }
const char *ud_cfg_name(const struct uacce_dev *d) { return d->cfg_name; }

/* a removed device goes with its last reference; one still registered stays */
static void dev_unref_locked(struct uacce_dev *d)
{
	if (--d->refs > 0 || d->hw)
		return;
	list_del(&d->link);
	free(d);
}

struct uacce_dev *ud_ref(struct uacce_dev *d)
{
	lock(d->core);
	d->refs++;
	unlock(d->core);
	return d;
}

void ud_unref(struct uacce_dev *d)
{
	struct uacce_core *c;

	if (!d)
		return;
	c = d->core;
	lock(c);
	dev_unref_locked(d);
	unlock(c);
}

void core_set_policy(struct uacce_core *c, struct uacce_policy *p)
{
	struct uacce_policy *old;

	policy_ref(p);
	lock(c);
	old = c->policy;
	c->policy = p;
	__atomic_store_n(&c->policy_groups, p && p->ngroups > 0, __ATOMIC_RELAXED);
	unlock(c);
	policy_unref(old);
}
const struct uacce_hwdev_info *ud_info(const struct uacce_dev *d) { return &d->info; }

static int avail_locked(const struct uacce_dev *d)
{
	return d->info.max_queues - d->used;
}

int ud_available_instances_locked(const struct uacce_dev *d)
{
	return avail_locked(d);
}

int ud_available_instances(struct uacce_dev *d)
{
	int n;

	lock(d->core);
	n = avail_locked(d);
	unlock(d->core);
	return n;
}

void ud_qfrs_offset(const struct uacce_dev *d, uint64_t off[UACCE_QFRT_NR])
{
	uint64_t pos = 0;

	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		if (!d->info.qfr_size[t]) {
			off[t] = UACCE_QFR_NA;
			continue;
		}
		off[t] = pos;
		if (t != UACCE_QFRT_SS)
			pos += d->info.qfr_size[t];
	}
}

static void instances_changed(struct uacce_dev *d)
{
	if (d->core->hooks.instances_changed)
		d->core->hooks.instances_changed(d, d->core->hooks.ctx);
}

/* the crash journal's hook: after a change of what core_export writes */
static void qchanged(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;

	if (c->hooks.queue_changed && !q->jgone)
		c->hooks.queue_changed(q->id, false, c->hooks.ctx);
}

static void qgone(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;

	if (c->hooks.queue_changed && !q->jgone) {
		q->jgone = true;
		c->hooks.queue_changed(q->id, true, c->hooks.ctx);
	}
}

/* --- queue teardown -------------------------------------------------------- */

static void release_excl(struct uacce_queue *q)
{
	struct uacce_dev *d = q->dev;

	if (!q->holds_excl)
		return;
	q->holds_excl = false;
	if (--d->excl_count == 0)
		d->excl_tgid = 0;
}

/*
 * Give the hardware queue back (PUT_Q, release, death, removal): q->lock
 * held, not the core lock.  q->hwq goes NULL under the core lock first, so
 * that no cancel or is_updated (core lock) can reach a queue being put.
 * `last`: the queue is going (not PUT_Q): its non-SVA exclusivity goes in
 * the same section as the instance, so that whoever sees the instance come
 * back can open the device.
 */
static void put_hw(struct uacce_queue *q, bool last)
{
	struct uacce_core *c = q->dev->core;
	struct uacce_hwq *hwq;
	bool started;

	lock(c);
	hwq = q->hwq;
	started = q->state == UQ_STARTED;
	q->hwq = NULL;
	unlock(c);
	q->suspended = false;	/* stop_queue ends a suspension too */
	if (hwq) {
		if (started)
			qops(q)->stop_queue(hwq);
		qops(q)->put_queue(hwq);
	}
	lock(c);
	if (last)
		release_excl(q);
	if (hwq) {
		q->dev->used--;
		q->dev->released_gen++;
		pthread_cond_broadcast(&c->released);	/* uq_open_wait */
		instances_changed(q->dev);
	}
	unlock(c);
}

static void free_regions_locked(struct uacce_queue *q)
{
	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		region_put(q->qfrs[t]);
		q->qfrs[t] = NULL;
		q->mapped[t] = false;
		q->mapped_len[t] = 0;
	}
	q->charged = 0;
	shm_clear(&q->shm);
}

static void unwatch_locked(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;

	if (q->watched && c->hooks.unwatch_owner)
		c->hooks.unwatch_owner(q, q->owner.pidfd, c->hooks.ctx);
	q->watched = false;
}

/* the queue is going: make long backend work in progress stop soon */
static void cancel_hw_locked(struct uacce_queue *q)
{
	if (q->hwq && qops(q)->cancel)
		qops(q)->cancel(q->hwq);
}

/*
 * Free everything the queue holds; the struct stays for the open file.
 * In two steps, so that the caller logs between them: teardown_begin (no
 * lock held) returns false when the queue is dead already, else true with
 * q->lock held, and teardown_end finishes and drops it.
 */
static bool teardown_begin(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;

	lock(c);
	cancel_hw_locked(q);
	unlock(c);
	qlock(q);
	if (q->state != UQ_DEAD)
		return true;
	qunlock(q);
	return false;
}

static void teardown_end(struct uacce_queue *q, int dead_err)
{
	struct uacce_core *c = q->dev->core;

	put_hw(q, true);
	lock(c);
	free_regions_locked(q);
	unwatch_locked(q);
	proc_owner_fini(&q->owner);
	q->state = UQ_DEAD;
	q->dead_err = dead_err;
	qchanged(q);
	unlock(c);
	qunlock(q);
}

static void unref_locked(struct uacce_queue *q)
{
	struct uacce_dev *d = q->dev;

	if (--q->refs > 0)
		return;
	list_del(&q->link);
	pthread_mutex_destroy(&q->lock);
	free(q->groups);
	free(q);
	dev_unref_locked(d);
}

void uq_unref(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;

	lock(c);
	unref_locked(q);
	unlock(c);
}

/*
 * Revoke the device's queues and destroy the backend device; d stays.  No
 * lock held.  Queues are taken one at a time (a reference each), since
 * q->lock comes before the core lock.
 */
static void remove_hw(struct uacce_dev *d)
{
	struct uacce_core *c = d->core;

	lock(c);
	d->removing = true;	/* no new queue from now on: uq_open */
	list_for_each(pos, &c->queues) {
		struct uacce_queue *q = container_of(pos, struct uacce_queue, link);

		if (q->dev == d && q->state != UQ_DEAD)
			cancel_hw_locked(q);
	}
	for (;;) {
		struct uacce_queue *victim = NULL;

		list_for_each(pos, &c->queues) {
			struct uacce_queue *q = container_of(pos, struct uacce_queue, link);

			if (q->dev == d && q->state != UQ_DEAD) {
				victim = q;
				victim->refs++;
				break;
			}
		}
		if (!victim)
			break;
		unlock(c);
		if (teardown_begin(victim)) {
			qlog(LOG_INFO, victim, "device removed, queue revoked");
			teardown_end(victim, ENODEV);
		}
		lock(c);
		unref_locked(victim);
	}
	unlock(c);
	d->ops->dev_destroy(d->hw);
	lock(c);
	d->hw = NULL;
	unlock(c);
}

void core_remove_device(struct uacce_dev *d)
{
	struct uacce_core *c = d->core;

	remove_hw(d);
	lock(c);
	/* holders (creator, frontend, open queues) keep a pointer: see ud_unref */
	if (d->refs == 0) {	/* every holder let go before the removal */
		list_del(&d->link);
		free(d);
	}
	unlock(c);
}

/* --- open / release --------------------------------------------------------- */

static int create_fixed_regions(struct uacce_queue *q)
{
	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		char nm[64];
		int err;

		if (t == UACCE_QFRT_SS || !q->dev->info.qfr_size[t])
			continue;
		snprintf(nm, sizeof(nm), "uacce-q%" PRIu64 "-%d", q->id, t);
		err = region_create(t, q->dev->info.qfr_size[t], nm, &q->qfrs[t]);
		if (err)
			return err;
	}
	return 0;
}

/* --- policy ----------------------------------------------------------------- */

bool uq_policy_wants_groups(const struct uacce_dev *d)
{
	return __atomic_load_n(&d->core->policy_groups, __ATOMIC_RELAXED);
}

/*
 * The supplementary groups of a queue opened while the policy had no group
 * entries: read now that a policy has some (its process's, as they are
 * now; its leader's status).  Once: the queue then keeps them.
 */
static void groups_ensure_locked(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;
	gid_t *g = NULL;
	int n = 0;

	if (q->groups_known || !c->policy || c->policy->ngroups == 0)
		return;
	q->groups_known = true;
	if (q->state == UQ_DEAD || q->owner.tgid <= 0)
		return;
	if (proc_groups_of(q->owner.tgid, &g, &n) != 0 || !proc_owner_alive(&q->owner)) {
		/* gone: its queues are on their way out; no groups */
		free(g);
		return;
	}
	free(q->groups);
	q->groups = g;
	q->ngroups = n;
}

static void ident_of(struct uacce_queue *q, struct uacce_ident *id)
{
	groups_ensure_locked(q);
	id->uid = q->owner.uid;
	id->gid = q->owner.gid;
	id->groups = q->groups;
	id->ngroups = q->ngroups;
}

/*
 * The policy's limits for id, and the core's built-in region limit where
 * no entry sets one: the daemon maps every region, so no user may make it
 * hold unbounded memory (root: only its own entry, as for every limit).
 */
static void resolve_locked(struct uacce_core *c, const struct uacce_ident *id,
			   struct policy_limits *l)
{
	policy_resolve(c->policy, id, l);
	if (id->uid != 0 && strcmp(l->src[PL_MAX_REGION_BYTES], "none") == 0) {
		l->lim[PL_MAX_REGION_BYTES] = c->builtin_user_bytes;
		l->src[PL_MAX_REGION_BYTES] = "built-in: a quarter of memory";
	}
}

static bool holds_hw(const struct uacce_queue *q)
{
	return q->state == UQ_INIT || q->state == UQ_STARTED;
}

/* queues of `uid` holding a hardware queue: in all, and on device d */
static void count_queues_locked(struct uacce_core *c, uid_t uid, const struct uacce_dev *d,
				uint64_t *all, uint64_t *on_dev)
{
	*all = *on_dev = 0;
	list_for_each(pos, &c->queues) {
		struct uacce_queue *o = container_of(pos, struct uacce_queue, link);

		if (!holds_hw(o) || o->owner.uid != uid)
			continue;
		(*all)++;
		if (o->dev == d)
			(*on_dev)++;
	}
}

/* may q's opener open one more queue of q->dev?  (q is not listed yet) */
static int policy_open_check_locked(struct uacce_queue *q)
{
	struct uacce_dev *d = q->dev;
	struct uacce_core *c = d->core;
	struct uacce_ident id;
	struct policy_limits l;
	uint64_t all, on_dev;
	const char *by;

	ident_of(q, &id);
	if (!policy_device_allowed(c->policy, &id, d->name, d->cfg_name, &by)) {
		qlog_rl(LOG_NOTICE, q, "open refused (EACCES): device not allowed by the "
			"policy of %s", by);
		return -EACCES;
	}
	resolve_locked(c, &id, &l);
	count_queues_locked(c, id.uid, d, &all, &on_dev);
	if (all >= l.lim[PL_MAX_QUEUES]) {
		qlog_rl(LOG_NOTICE, q, "open refused (EDQUOT): max_queues %" PRIu64 " (%s), "
			"in use %" PRIu64, l.lim[PL_MAX_QUEUES], l.src[PL_MAX_QUEUES], all);
		return -EDQUOT;
	}
	if (on_dev >= l.lim[PL_MAX_QUEUES_PER_DEVICE]) {
		qlog_rl(LOG_NOTICE, q, "open refused (EDQUOT): max_queues_per_device %" PRIu64
			" (%s), in use on %s %" PRIu64, l.lim[PL_MAX_QUEUES_PER_DEVICE],
			l.src[PL_MAX_QUEUES_PER_DEVICE], d->name, on_dev);
		return -EDQUOT;
	}
	return 0;
}

static int copy_groups(struct uacce_queue *q, const struct uacce_caller *who)
{
	q->groups_known = who->groups_known;
	if (!who->groups || who->ngroups <= 0)
		return 0;
	q->groups = malloc((size_t)who->ngroups * sizeof(gid_t));
	if (!q->groups)
		return -ENOMEM;
	memcpy(q->groups, who->groups, (size_t)who->ngroups * sizeof(gid_t));
	q->ngroups = who->ngroups;
	return 0;
}

int uq_open(struct uacce_dev *d, const struct uacce_caller *who, struct uacce_queue **out)
{
	struct uacce_core *c = d->core;
	bool sva = d->info.flags & UACCE_DEV_SVA;
	/* v4's SHARE_DOMAIN: one process at a time; mainline has no such rule */
	bool excl = !sva && d->abi == UACCE_ABI_V4;
	struct uacce_queue *q;
	int err;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	err = copy_groups(q, who);
	if (!err)
		err = proc_owner_init_tgid(&q->owner, who->tid, who->tgid, who->comm, who->uid,
					   who->gid, sva);
	if (err) {
		free(q->groups);
		free(q);
		return err;
	}
	list_init(&q->link);
	pthread_mutex_init(&q->lock, NULL);
	q->dev = d;
	q->refs = 1;

	lock(c);
	if (!d->hw || d->removing) {
		err = -ENODEV;
		goto out_unlock;
	}
	q->id = c->next_qid++;
	snprintf(q->label, sizeof(q->label), "%s q%" PRIu64 " uid %u pid %d (%s)", d->name,
		 q->id, (unsigned)who->uid, (int)q->owner.tgid, q->owner.comm);
	err = policy_open_check_locked(q);
	if (err)
		goto out_unlock;
	if (excl && d->excl_tgid && d->excl_tgid != q->owner.tgid) {
		qlog(LOG_DEBUG, q, "refused, device in use by pid %d", (int)d->excl_tgid);
		err = -EBUSY;
		goto out_unlock;
	}
	if (avail_locked(d) <= 0) {
		qlog_rl(LOG_INFO, q, "refused, no free hardware queue");
		err = -EBUSY;
		goto out_unlock;
	}
	err = create_fixed_regions(q);
	if (err)
		goto out_regions;
	err = d->ops->queue->get_queue(d->hw, q, &q->hwq);
	if (err)
		goto out_regions;
	d->used++;
	if (excl) {
		d->excl_tgid = q->owner.tgid;
		d->excl_count++;
		q->holds_excl = true;
	}
	if (c->hooks.watch_owner) {
		err = c->hooks.watch_owner(q, q->owner.pidfd, c->hooks.ctx);
		if (err)
			goto out_put;
		q->watched = true;
	}
	q->state = UQ_INIT;
	list_add_tail(&c->queues, &q->link);
	qchanged(q);
	d->refs++;	/* dropped when the struct is freed (unref_locked) */
	instances_changed(d);
	unlock(c);
	qlog(LOG_DEBUG, q, "opened");
	*out = q;
	return 0;

out_put:
	release_excl(q);
	d->used--;
	unlock(c);
	/* not listed, no other thread can reach it: put it without the lock */
	d->ops->queue->put_queue(q->hwq);
	lock(c);
out_regions:
	free_regions_locked(q);
out_unlock:
	unlock(c);
	proc_owner_fini(&q->owner);
	pthread_mutex_destroy(&q->lock);
	free(q->groups);
	free(q);
	return err;
}

/* hardware queues of d held by process tgid (core lock held) */
static int own_hw_queues_locked(struct uacce_core *c, const struct uacce_dev *d, pid_t tgid)
{
	int n = 0;

	list_for_each(pos, &c->queues) {
		struct uacce_queue *o = container_of(pos, struct uacce_queue, link);

		n += o->dev == d && holds_hw(o) && o->owner.tgid == tgid;
	}
	return n;
}

/*
 * EBUSY for lack of a free hardware queue while the opener's own process
 * holds some of d's: one of them may be on its way back (a close whose
 * release has not reached us yet).  Core lock held.
 */
static bool open_may_wait_locked(struct uacce_dev *d, const struct uacce_caller *who)
{
	return who->tgid > 0 && d->hw && !d->removing && avail_locked(d) <= 0 &&
	       own_hw_queues_locked(d->core, d, who->tgid) > 0;
}

bool uq_open_may_wait(struct uacce_dev *d, struct uacce_caller *who)
{
	bool r;

	if (who->tgid <= 0) {
		pid_t tgid = proc_tgid_of(who->tid);

		if (tgid <= 0)
			return false;
		who->tgid = tgid;
	}

	lock(d->core);
	r = open_may_wait_locked(d, who);
	unlock(d->core);
	return r;
}

int uq_open_wait(struct uacce_dev *d, const struct uacce_caller *who, int timeout_ms,
		 struct uacce_queue **out)
{
	struct uacce_core *c = d->core;
	struct timespec until;
	int err;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	for (;;) {
		unsigned long gen;
		int w = 0;

		lock(c);
		gen = d->released_gen;
		unlock(c);
		err = uq_open(d, who, out);
		if (err != -EBUSY)
			return err;
		lock(c);
		/* a release between the open and here counts: gen moved */
		while (gen == d->released_gen && open_may_wait_locked(d, who) && w != ETIMEDOUT)
			w = pthread_cond_timedwait(&c->released, &c->lock, &until);
		if (gen == d->released_gen) {
			unlock(c);
			return -EBUSY;	/* nothing came back in time, or nothing of ours */
		}
		unlock(c);
	}
}

void uq_set_notify(struct uacce_queue *q, void (*fn)(void *), void *arg)
{
	lock(q->dev->core);
	q->notify = fn;
	q->notify_arg = arg;
	unlock(q->dev->core);
}

void uq_release(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;

	lock(c);
	qgone(q);	/* its file is closed: never recovered after a crash */
	unlock(c);
	if (teardown_begin(q)) {
		/*
		 * A killed owner's files are closed before its pidfd says it
		 * exited (and CUSE waits for this release): then this is the
		 * owner's exit.  A queue given back already (PUT_Q: libuacce's
		 * close) was closed on purpose: no need to ask.
		 */
		if (q->state != UQ_ZOMBIE && proc_owner_exiting(&q->owner))
			qlog_rl(LOG_INFO, q, "owner exited, queue freed");
		else
			qlog(LOG_DEBUG, q, "released");
		teardown_end(q, ENODEV);
	}
	lock(c);
	q->notify = NULL;
	unref_locked(q);
	unlock(c);
}

void uq_owner_died(struct uacce_queue *q)
{
	if (teardown_begin(q)) {
		qlog_rl(LOG_INFO, q, "owner exited, queue freed");
		teardown_end(q, EPERM);
	}
}

/* --- ownership ----------------------------------------------------------- */

static void log_culprit(struct uacce_queue *q, pid_t tid)
{
	pid_t tgid = proc_tgid_of(tid);

	for (int i = 0; i < CULPRITS; i++) {
		if (q->culprits[i] == tgid)
			return;
		if (!q->culprits[i]) {
			q->culprits[i] = tgid;
			qlog_rl(LOG_NOTICE, q, "refused request from pid %d (not the owner)",
				(int)tgid);
			return;
		}
	}
}

static int check_owner_locked(struct uacce_queue *q, const struct uacce_caller *who)
{
	/* the owner is gone (EPERM for everyone) or the device (ENODEV) */
	if (q->state == UQ_DEAD)
		return -q->dead_err;
	if (!proc_owner_is(&q->owner, who->tid)) {
		log_culprit(q, who->tid);
		return -EPERM;
	}
	return 0;
}

int uq_check_owner(struct uacce_queue *q, const struct uacce_caller *who)
{
	int err;

	lock(q->dev->core);
	err = check_owner_locked(q, who);
	unlock(q->dev->core);
	return err;
}

/* --- ioctls ------------------------------------------------------------- */

enum uq_cmd ud_cmd_kind(const struct uacce_dev *d, unsigned int cmd)
{
	if (d->abi == UACCE_ABI_MAINLINE) {
		if (cmd == UACCE_ML_CMD_START_Q)
			return UQ_CMD_START;
		if (cmd == UACCE_ML_CMD_PUT_Q)
			return UQ_CMD_PUT;
		return UQ_CMD_DEVICE;
	}
	switch (cmd) {
	case UACCE_CMD_START:
		return UQ_CMD_START;
	case UACCE_CMD_PUT_Q:
		return UQ_CMD_PUT;
	case UACCE_CMD_SHARE_SVAS:
		return UQ_CMD_SHARE_SVAS;
	default:
		return UQ_CMD_DEVICE;
	}
}

/* q->lock held (so q->state and q->hwq cannot change under us) */
static int start_qlocked(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;
	int err;

	if (q->state != UQ_INIT)
		return -EINVAL;
	err = qops(q)->start_queue(q->hwq);
	if (err)
		return err;
	lock(c);
	q->state = UQ_STARTED;
	qchanged(q);
	unlock(c);
	return 0;
}

/*
 * Mainline PUT_Q (since the 2025 stable fix): stop only, STARTED -> INIT;
 * the hardware queue stays until release.  A no-op in INIT.
 */
static int stop_q_qlocked(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;

	if (q->state != UQ_STARTED)
		return 0;
	qops(q)->stop_queue(q->hwq);
	lock(c);
	q->state = UQ_INIT;
	qchanged(q);
	unlock(c);
	return 0;
}

static int put_q_qlocked(struct uacce_queue *q)
{
	struct uacce_core *c = q->dev->core;

	put_hw(q, false);
	lock(c);
	q->state = UQ_ZOMBIE;
	qchanged(q);
	unlock(c);
	return 0;
}

/* a device-specific ioctl: q->lock held, not the core lock */
static int dev_ioctl_qlocked(struct uacce_queue *q, struct uacce_ioctl *io)
{
	int err;

	if (!q->hwq || !qops(q)->ioctl)
		return -EINVAL;
	if (io->size != _IOC_SIZE(io->cmd) || (io->size && !io->data))
		return -EINVAL;
	err = qops(q)->ioctl(q->hwq, io);
	return err == -ENOTTY ? -EINVAL : err;	/* what the kernel answered */
}

int uq_ioctl(struct uacce_queue *q, const struct uacce_caller *who, struct uacce_ioctl *io)
{
	struct uacce_core *c = q->dev->core;
	int err;

	qlock(q);
	lock(c);
	err = check_owner_locked(q, who);
	unlock(c);
	if (err)
		goto out;
	switch (ud_cmd_kind(q->dev, io->cmd)) {
	case UQ_CMD_START:
		err = start_qlocked(q);
		break;
	case UQ_CMD_PUT:
		err = q->dev->abi == UACCE_ABI_MAINLINE ? stop_q_qlocked(q) : put_q_qlocked(q);
		break;
	case UQ_CMD_SHARE_SVAS:	/* needs the caller's fd resolved: uq_share_svas */
		err = -EINVAL;
		break;
	default:
		err = dev_ioctl_qlocked(q, io);
		break;
	}
out:
	qunlock(q);
	return err;
}

int uq_share_svas(struct uacce_queue *q, const struct uacce_caller *who,
		  struct uacce_queue *src)
{
	struct uacce_core *c = q->dev->core;
	int err;

	lock(c);
	err = check_owner_locked(q, who);
	if (err)
		goto out;
	if (src == q || src->state == UQ_DEAD || src->owner.tgid != q->owner.tgid) {
		err = -EINVAL;
		goto out;
	}
	if ((q->dev->info.flags & UACCE_DEV_SVA) || q->state != UQ_STARTED ||
	    q->qfrs[UACCE_QFRT_SS] || !src->qfrs[UACCE_QFRT_SS] ||
	    strcmp(src->dev->info.api, q->dev->info.api) != 0) {
		err = -EINVAL;
		goto out;
	}
	__atomic_store_n(&q->qfrs[UACCE_QFRT_SS], region_get(src->qfrs[UACCE_QFRT_SS]),
			 __ATOMIC_RELEASE);
	q->mapped[UACCE_QFRT_SS] = true;
	qchanged(q);
	qlog(LOG_DEBUG, q, "shares the SS of q%" PRIu64, src->id);
out:
	unlock(c);
	return err;
}

int uq_owner_getfd(struct uacce_queue *q, int fd)
{
	int r;

	lock(q->dev->core);
	r = q->state == UQ_DEAD ? -q->dead_err : proc_owner_getfd(&q->owner, fd);
	unlock(q->dev->core);
	return r;
}

int uq_poll(struct uacce_queue *q, const struct uacce_caller *who, unsigned *mask)
{
	struct uacce_core *c = q->dev->core;
	int err;

	*mask = 0;
	lock(c);
	err = check_owner_locked(q, who);
	if (!err && q->hwq && qops(q)->is_updated && qops(q)->is_updated(q->hwq))
		*mask = POLLIN | POLLRDNORM;
	unlock(c);
	return err;
}

/* --- regions ------------------------------------------------------------- */

static int check_peer_locked(struct uacce_queue *q, pid_t peer)
{
	if (q->state == UQ_DEAD)
		return -q->dead_err;
	if (peer != q->owner.tgid || !proc_owner_alive(&q->owner)) {
		log_culprit(q, peer);
		return -EPERM;
	}
	return 0;
}

int uq_attach(struct uacce_queue *q, pid_t peer)
{
	int err;

	lock(q->dev->core);
	err = check_peer_locked(q, peer);
	unlock(q->dev->core);
	return err;
}

/*
 * Region bytes charged to the owner process (by_uid false: process `who`)
 * or to a user (by_uid: uid `who`) over all their queues: each queue's
 * mapped fixed regions, and each SS once, however many queues share it
 * (only queues of one process can).  Queues count until they are
 * released or their owner exits (after PUT_Q too: the memory is held).
 */
enum charge_of { CHARGE_PROCESS, CHARGE_USER, CHARGE_ALL };

static uint64_t charged_locked(struct uacce_core *c, enum charge_of of, uint32_t who)
{
	unsigned long gen = ++c->acct_gen;
	uint64_t sum = 0;

	list_for_each(pos, &c->queues) {
		struct uacce_queue *o = container_of(pos, struct uacce_queue, link);
		struct uacce_region *ss = o->qfrs[UACCE_QFRT_SS];

		if (o->state == UQ_DEAD ||
		    (of == CHARGE_USER && o->owner.uid != (uid_t)who) ||
		    (of == CHARGE_PROCESS && o->owner.tgid != (pid_t)who))
			continue;
		sum += o->charged + shm_bytes(&o->shm);
		if (ss && ss->acct_gen != gen) {
			ss->acct_gen = gen;
			sum += ss->size;
		}
	}
	return sum;
}

/* may the owner's user hold `size` more bytes of region memory? */
static int user_charge_check_locked(struct uacce_queue *q, uint64_t size)
{
	struct uacce_core *c = q->dev->core;
	struct uacce_ident id;
	struct policy_limits l;
	uint64_t limit, used;

	ident_of(q, &id);
	resolve_locked(c, &id, &l);
	limit = l.lim[PL_MAX_REGION_BYTES];
	if (limit != POLICY_UNLIMITED) {
		used = charged_locked(c, CHARGE_USER, id.uid);
		if (size > limit || used > limit - size) {
			qlog_rl(LOG_NOTICE, q, "region of %" PRIu64 " bytes refused (ENOMEM): "
				"max_region_bytes %" PRIu64 " (%s), in use %" PRIu64, size, limit,
				l.src[PL_MAX_REGION_BYTES], used);
			return -ENOMEM;
		}
	}
	/* all users together: what the daemon maps */
	limit = c->policy && c->policy->total_set ? c->policy->total_region_bytes :
						      c->builtin_total_bytes;
	if (limit == POLICY_UNLIMITED)
		return 0;
	used = charged_locked(c, CHARGE_ALL, 0);
	if (size > limit || used > limit - size) {
		qlog_rl(LOG_WARNING, q, "region of %" PRIu64 " bytes refused (ENOMEM): "
			"total_region_bytes %" PRIu64 " (%s), in use by all users %" PRIu64, size,
			limit, c->policy && c->policy->total_set ? "quotas.total_region_bytes" :
			"built-in: half of memory", used);
		return -ENOMEM;
	}
	return 0;
}

/* may the owner hold `size` more bytes of region memory? */
static int charge_check_locked(struct uacce_queue *q, uint64_t size)
{
	uint64_t limit, used;
	int err;

	err = proc_rlimit_data(&q->owner, &limit);
	if (err)
		return err == -ESRCH ? -EPERM : err;
	used = charged_locked(q->dev->core, CHARGE_PROCESS, (uint32_t)q->owner.tgid);
	if (size > limit || used > limit - size) {
		qlog_rl(LOG_INFO, q, "region of %" PRIu64 " bytes refused: RLIMIT_DATA %" PRIu64
			", in use %" PRIu64, size, limit, used);
		return -ENOMEM;
	}
	return user_charge_check_locked(q, size);
}

static int map_ss_locked(struct uacce_queue *q, uint64_t size)
{
	struct uacce_region *r, *old = q->qfrs[UACCE_QFRT_SS];
	char nm[64];
	int err;

	if (q->state != UQ_STARTED)
		return -EINVAL;
	if (old)	/* mapped before and unmapped: the same memory again */
		return q->mapped[UACCE_QFRT_SS] ? -EBUSY : size == old->size ? 0 : -EINVAL;
	if (size > (1ULL << 40))
		return -ENOMEM;
	err = charge_check_locked(q, size);
	if (err)
		return err;
	snprintf(nm, sizeof(nm), "uacce-q%" PRIu64 "-ss", q->id);
	err = region_create(UACCE_QFRT_SS, size, nm, &r);
	if (err)
		return err;
	/* backend threads read it without the lock; from now on it is charged */
	__atomic_store_n(&q->qfrs[UACCE_QFRT_SS], r, __ATOMIC_RELEASE);
	qchanged(q);
	return 0;
}

/*
 * The region is granted: a new fd of its memory in *fd (-1 for DKO), `len`
 * bytes of it charged (SS: by region) and marked mapped.  Core lock held.
 */
static int hand_out_locked(struct uacce_queue *q, int type, uint64_t len, int *fd)
{
	*fd = -1;
	if (type != UACCE_QFRT_DKO) {
		*fd = fcntl(q->qfrs[type]->fd, F_DUPFD_CLOEXEC, 0);
		if (*fd < 0)
			return -errno;
		region_handed_out(q->qfrs[type]);
	}
	if (type != UACCE_QFRT_SS) {
		q->charged += len;
		q->mapped_len[type] = len;
	}
	q->mapped[type] = true;
	qchanged(q);
	return 0;
}

/* the v4 rules for region `type` of `size` bytes; core lock held */
static int v4_map_locked(struct uacce_queue *q, int type, uint64_t size, int *fd,
			 uint64_t *out_size)
{
	bool sva = q->dev->info.flags & UACCE_DEV_SVA;
	int err;

	if (type < 0 || type >= UACCE_QFRT_NR || !q->dev->info.qfr_size[type] || size == 0 ||
	    q->state == UQ_ZOMBIE)
		return -EINVAL;
	if ((type == UACCE_QFRT_DKO || type == UACCE_QFRT_SS) && sva)
		return -EINVAL;
	if (type == UACCE_QFRT_SS) {
		err = map_ss_locked(q, size);
	} else {
		if (size != q->dev->info.qfr_size[type])
			return -EINVAL;
		if (q->mapped[type])
			return -EBUSY;
		err = charge_check_locked(q, size);
	}
	if (!err)
		err = hand_out_locked(q, type, size, fd);
	if (!err)
		*out_size = q->qfrs[type]->size;
	return err;
}

static uint64_t page_size(void)
{
	static long pg;

	if (!__atomic_load_n(&pg, __ATOMIC_RELAXED))
		__atomic_store_n(&pg, sysconf(_SC_PAGESIZE), __ATOMIC_RELAXED);
	return (uint64_t)__atomic_load_n(&pg, __ATOMIC_RELAXED);
}

/*
 * The mainline rules (uacce_fops_mmap and hisi_qm's size checks, in the
 * kernel's order): page offset = region type, queue valid, not mapped yet,
 * then the size.  The mapping is `len` rounded up to pages, as a VMA is.
 * Core lock held.
 */
static int ml_map_locked(struct uacce_queue *q, pid_t peer, uint64_t offset, uint64_t len,
			 int *fd, uint64_t *out_size, int *out_type)
{
	uint64_t pg = page_size(), rsize, vlen;
	int type, err;

	if (offset % pg || offset / pg >= UACCE_ML_MAX_REGION)
		return -EINVAL;
	type = offset / pg == UACCE_ML_QFRT_MMIO ? UACCE_QFRT_MMIO : UACCE_QFRT_DUS;
	rsize = q->dev->info.qfr_size[type];
	if (!rsize)
		return -EINVAL;
	if (q->state != UQ_INIT && q->state != UQ_STARTED)
		return -ENXIO;
	err = check_peer_locked(q, peer);
	if (err)
		return err;
	if (q->mapped[type])
		return -EEXIST;
	if (len == 0 || len > rsize)
		return -EINVAL;
	vlen = (len + pg - 1) / pg * pg;
	if (type == UACCE_QFRT_DUS ? vlen != rsize : vlen > rsize)
		return -EINVAL;
	err = charge_check_locked(q, vlen);
	if (!err)
		err = hand_out_locked(q, type, vlen, fd);
	if (err)
		return err;
	*out_size = vlen;
	*out_type = type;
	return 0;
}

int uq_map(struct uacce_queue *q, pid_t peer, int type, uint64_t size, int *fd,
	   uint64_t *out_size)
{
	struct uacce_core *c = q->dev->core;
	int err;

	lock(c);
	err = check_peer_locked(q, peer);
	if (!err)
		err = q->dev->abi == UACCE_ABI_V4 ? v4_map_locked(q, type, size, fd, out_size) :
						    -EINVAL;
	unlock(c);
	return err;
}

int uq_mmap(struct uacce_queue *q, pid_t peer, uint64_t offset, uint64_t len, int *fd,
	    uint64_t *out_size, int *type)
{
	struct uacce_core *c = q->dev->core;
	uint64_t off[UACCE_QFRT_NR];
	int err;

	*fd = -1;
	lock(c);
	if (q->dev->abi == UACCE_ABI_MAINLINE) {
		err = ml_map_locked(q, peer, offset, len, fd, out_size, type);
		goto out;
	}
	err = check_peer_locked(q, peer);
	if (err)
		goto out;
	ud_qfrs_offset(q->dev, off);
	err = -EINVAL;
	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		if (off[t] != UACCE_QFR_NA && off[t] == offset) {
			err = v4_map_locked(q, t, len, fd, out_size);
			*type = t;
			break;
		}
	}
out:
	unlock(c);
	return err;
}

int uq_mapped(struct uacce_queue *q, pid_t peer, int type, uint64_t addr)
{
	struct uacce_core *c = q->dev->core;
	int err;

	lock(c);
	err = check_peer_locked(q, peer);
	if (!err && (type < 0 || type >= UACCE_QFRT_NR || !q->mapped[type] || !addr ||
		     addr % 4096))
		err = -EINVAL;
	if (!err) {
		__atomic_store_n(&q->qfrs[type]->uaddr, addr, __ATOMIC_RELEASE);
		qchanged(q);
	}
	unlock(c);
	return err;
}

int uq_share(struct uacce_queue *q, pid_t peer, int fd, uint64_t *size)
{
	struct uacce_core *c = q->dev->core;
	int err;

	lock(c);
	err = check_peer_locked(q, peer);
	if (!err && (!(q->dev->info.flags & UACCE_DEV_SVA) ||
		     (q->state != UQ_INIT && q->state != UQ_STARTED)))
		err = -EINVAL;
	if (!err)
		err = shm_probe(fd, size);
	/* the owner's memory, but the daemon maps it and writes into it:
	 * counted against the same quotas as region memory */
	if (!err)
		err = user_charge_check_locked(q, *size);
	if (!err)
		err = shm_add(&q->shm, fd, size);
	if (err)
		qlog_rl(LOG_INFO, q, "shared memory of the owner refused: %s", strerror(-err));
	else
		qlog(LOG_DEBUG, q, "the owner shares a memfd of %" PRIu64 " bytes", *size);
	unlock(c);
	return err;
}

int uq_unmap(struct uacce_queue *q, pid_t peer, int type)
{
	struct uacce_core *c = q->dev->core;
	int err;

	lock(c);
	err = check_peer_locked(q, peer);
	if (!err && (type < 0 || type >= UACCE_QFRT_NR || !q->mapped[type]))
		err = -EINVAL;
	if (!err) {
		/* the memory stays until release; the device loses the address */
		__atomic_store_n(&q->qfrs[type]->uaddr, 0, __ATOMIC_RELEASE);
		q->mapped[type] = false;
		if (q->charged >= q->mapped_len[type])
			q->charged -= q->mapped_len[type];
		q->mapped_len[type] = 0;
		qchanged(q);
	}
	unlock(c);
	return err;
}

/* --- lookups --------------------------------------------------------------- */

/* the queue struct with id `id` (ids are never reused), or NULL; core lock held */
static struct uacce_queue *find_queue_locked(struct uacce_core *c, uint64_t id)
{
	list_for_each(pos, &c->queues) {
		struct uacce_queue *q = container_of(pos, struct uacce_queue, link);

		if (q->id == id)
			return q;
	}
	return NULL;
}

struct uacce_queue *core_get_queue(struct uacce_core *c, uint64_t id)
{
	struct uacce_queue *found;

	lock(c);
	found = find_queue_locked(c, id);
	if (found)
		found->refs++;
	unlock(c);
	return found;
}

uint64_t uq_id(const struct uacce_queue *q) { return q->id; }
struct uacce_dev *uq_dev(const struct uacce_queue *q) { return q->dev; }
pid_t uq_owner_tgid(const struct uacce_queue *q) { return q->owner.tgid; }

enum uacce_q_state uq_state(struct uacce_queue *q)
{
	enum uacce_q_state s;

	lock(q->dev->core);
	s = q->state;
	unlock(q->dev->core);
	return s;
}

/* --- snapshots ---------------------------------------------------------------- */

/* grow *arr to hold n + 1 elements of `size` bytes; -ENOMEM */
static int grow(void **arr, int n, size_t size)
{
	void *a = realloc(*arr, (size_t)(n + 1) * size);

	if (!a)
		return -ENOMEM;
	*arr = a;
	memset((char *)a + (size_t)n * size, 0, size);
	return 0;
}

int core_devices(struct uacce_core *c, struct core_dev_stat **out, int *n)
{
	struct core_dev_stat *a = NULL;
	int cnt = 0, err = 0;

	lock(c);
	list_for_each(pos, &c->devices) {
		struct uacce_dev *d = container_of(pos, struct uacce_dev, link);
		struct core_dev_stat *s;

		if (!d->hw)
			continue;
		err = grow((void **)&a, cnt, sizeof(*a));
		if (err)
			break;
		s = &a[cnt++];
		s->id = d->id;
		snprintf(s->name, sizeof(s->name), "%s", d->name);
		snprintf(s->cfg_name, sizeof(s->cfg_name), "%s", d->cfg_name);
		s->abi = d->abi;
		s->info = d->info;
		s->available = avail_locked(d);
		s->requests = __atomic_load_n(&d->requests, __ATOMIC_RELAXED);
		list_for_each(qp, &c->queues) {
			struct uacce_queue *q = container_of(qp, struct uacce_queue, link);

			s->open_queues += q->dev == d && q->state != UQ_DEAD;
		}
	}
	unlock(c);
	if (err) {
		free(a);
		return err;
	}
	/* ids are unique: sort by id for the reader */
	for (int i = 1; i < cnt; i++)
		for (int j = i; j > 0 && a[j - 1].id > a[j].id; j--) {
			struct core_dev_stat t = a[j];

			a[j] = a[j - 1];
			a[j - 1] = t;
		}
	*out = a;
	*n = cnt;
	return 0;
}

int core_queues(struct uacce_core *c, struct core_queue_stat **out, int *n)
{
	struct core_queue_stat *a = NULL;
	int cnt = 0, err = 0;

	lock(c);
	list_for_each(pos, &c->queues) {
		struct uacce_queue *q = container_of(pos, struct uacce_queue, link);
		struct uacce_region *ss = q->qfrs[UACCE_QFRT_SS];
		struct core_queue_stat *s;

		if (q->state == UQ_DEAD)
			continue;
		err = grow((void **)&a, cnt, sizeof(*a));
		if (err)
			break;
		s = &a[cnt++];
		s->id = q->id;
		snprintf(s->dev, sizeof(s->dev), "%s", q->dev->name);
		s->pid = q->owner.tgid;
		s->uid = q->owner.uid;
		snprintf(s->comm, sizeof(s->comm), "%s", q->owner.comm);
		s->state = q->state;
		memcpy(s->mapped, q->mapped, sizeof(s->mapped));
		s->has_ss = ss != NULL;
		s->ss_shared = ss && __atomic_load_n(&ss->refs, __ATOMIC_RELAXED) > 1;
		s->bytes = q->charged + shm_bytes(&q->shm) + (ss ? ss->size : 0);
		s->shm_files = q->shm.n;
		s->direct = __atomic_load_n(&q->shm.direct, __ATOMIC_RELAXED);
		s->requests = __atomic_load_n(&q->requests, __ATOMIC_RELAXED);
	}
	unlock(c);
	if (err) {
		free(a);
		return err;
	}
	*out = a;
	*n = cnt;
	return 0;
}

static void user_limits_locked(struct uacce_core *c, struct uacce_queue *newest,
			       struct core_user_stat *s)
{
	const char *pats[CORE_USER_PATTERNS], *by;
	struct uacce_ident id;
	struct policy_limits l;
	int np;

	ident_of(newest, &id);
	resolve_locked(c, &id, &l);
	for (int k = 0; k < PL_NR; k++) {
		s->lim[k] = l.lim[k];
		snprintf(s->src[k], sizeof(s->src[k]), "%s", l.src[k]);
	}
	np = policy_device_patterns(c->policy, &id, pats, CORE_USER_PATTERNS, &by);
	s->npatterns = np < CORE_USER_PATTERNS ? np : CORE_USER_PATTERNS;
	for (int i = 0; i < s->npatterns; i++)
		snprintf(s->patterns[i], sizeof(s->patterns[i]), "%s", pats[i]);
	snprintf(s->devices_src, sizeof(s->devices_src), "%s", by);
}

/* the row of one user: q is its first live queue in the list */
static void user_row_locked(struct uacce_core *c, struct uacce_queue *first,
			    struct core_user_stat *s)
{
	uid_t uid = first->owner.uid;
	struct uacce_queue *newest = first;

	s->uid = uid;
	list_for_each(pos, &c->queues) {
		struct uacce_queue *q = container_of(pos, struct uacce_queue, link);
		uint64_t all, on_dev;

		if (q->state == UQ_DEAD || q->owner.uid != uid)
			continue;
		newest = q->id > newest->id ? q : newest;
		count_queues_locked(c, uid, q->dev, &all, &on_dev);
		s->queues = (int)all;
		if ((int)on_dev > s->dev_queues) {
			s->dev_queues = (int)on_dev;
			snprintf(s->dev, sizeof(s->dev), "%s", q->dev->name);
		}
	}
	s->bytes = charged_locked(c, CHARGE_USER, uid);
	user_limits_locked(c, newest, s);
}

int core_usage(struct uacce_core *c, struct core_user_stat **out, int *n)
{
	struct core_user_stat *a = NULL;
	int cnt = 0, err = 0;

	lock(c);
	list_for_each(pos, &c->queues) {
		struct uacce_queue *q = container_of(pos, struct uacce_queue, link);
		bool seen = false;

		if (q->state == UQ_DEAD)
			continue;
		for (int i = 0; i < cnt && !seen; i++)
			seen = a[i].uid == q->owner.uid;
		if (seen)
			continue;
		err = grow((void **)&a, cnt, sizeof(*a));
		if (err)
			break;
		user_row_locked(c, q, &a[cnt++]);
	}
	unlock(c);
	if (err) {
		free(a);
		return err;
	}
	for (int i = 1; i < cnt; i++)
		for (int j = i; j > 0 && a[j - 1].uid > a[j].uid; j--) {
			struct core_user_stat t = a[j];

			a[j] = a[j - 1];
			a[j - 1] = t;
		}
	*out = a;
	*n = cnt;
	return 0;
}

/* --- helpers for backend threads (no lock: see backend.h) ---------------- */

struct uacce_region *uacce_hwq_region(struct uacce_queue *q, int type)
{
	return __atomic_load_n(&q->qfrs[type], __ATOMIC_ACQUIRE);
}

bool uacce_hwq_is_sva(struct uacce_queue *q)
{
	return q->dev->info.flags & UACCE_DEV_SVA;
}

void uacce_hwq_mem_begin(struct uacce_queue *q, struct uacce_mem_req *r)
{
	proc_mem_req_init(r, &q->owner);
	r->shm = &q->shm;
}

void *uacce_hwq_mem_direct(struct uacce_mem_req *r, uint64_t uaddr, size_t len, bool write)
{
	return proc_mem_req_direct(r, uaddr, len, write);
}

int uacce_hwq_mem_check(struct uacce_mem_req *r, const struct uacce_mem_range *rg, unsigned n)
{
	return proc_mem_req_check(r, rg, n);
}

int uacce_hwq_mem_read(struct uacce_mem_req *r, uint64_t uaddr, void *buf, size_t len)
{
	return proc_mem_req_read(r, uaddr, buf, len);
}

int uacce_hwq_mem_write(struct uacce_mem_req *r, uint64_t uaddr, const void *buf, size_t len)
{
	return proc_mem_req_write(r, uaddr, buf, len);
}

struct uacce_region *uacce_hwq_data_region(struct uacce_queue *q)
{
	/* mainline has no SS: a non-SVA device's data lives in the DUS */
	return uacce_hwq_region(q, q->dev->abi == UACCE_ABI_MAINLINE ? UACCE_QFRT_DUS :
								      UACCE_QFRT_SS);
}

void *uacce_hwq_ss_ptr(struct uacce_queue *q, uint64_t uaddr, uint64_t len)
{
	struct uacce_region *r = uacce_hwq_data_region(q);

	return r ? uacce_region_translate(r, uaddr, len) : NULL;
}

void uacce_hwq_notify(struct uacce_queue *q)
{
	void (*fn)(void *) = __atomic_load_n(&q->notify, __ATOMIC_ACQUIRE);

	if (fn)
		fn(q->notify_arg);
}

/* the queue holds a device reference, so q->dev is there while its backend runs */
void uacce_hwq_count(struct uacce_queue *q, unsigned int n)
{
	__atomic_fetch_add(&q->requests, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&q->dev->requests, n, __ATOMIC_RELAXED);
}

/* backends log with it: the record that names q gets q's journal fields */
uint64_t uacce_hwq_id(struct uacce_queue *q)
{
	return q->id;
}

const char *uacce_hwq_label(struct uacce_queue *q)
{
	ulog_label_ctx(q->label, UQ_LOG_CTX(q));
	return q->label;
}

/* --- live restart (core.h: core_freeze .. core_adopt_done) ----------------- */

#define HO_BLOB_MAX	4096	/* a backend's saved state of one queue */

/* every queue of the list, each with a reference (uq_unref each); -ENOMEM */
static int snapshot_queues(struct uacce_core *c, struct uacce_queue ***out, int *n)
{
	struct uacce_queue **a = NULL;
	int cnt = 0, err = 0;

	lock(c);
	list_for_each(pos, &c->queues) {
		struct uacce_queue *q = container_of(pos, struct uacce_queue, link);

		err = grow((void **)&a, cnt, sizeof(*a));
		if (err)
			break;
		a[cnt++] = q;
		q->refs++;
	}
	if (err) {
		for (int i = 0; i < cnt; i++)
			unref_locked(a[i]);
		free(a);
		a = NULL;
		cnt = 0;
	}
	unlock(c);
	*out = a;
	*n = cnt;
	return err;
}

static void drop_snapshot(struct uacce_core *c, struct uacce_queue **a, int n)
{
	lock(c);
	for (int i = 0; i < n; i++)
		unref_locked(a[i]);
	unlock(c);
	free(a);
}

/* resume a suspended queue (qlock held); a failure revokes it (after) */
static int resume_qlocked(struct uacce_queue *q)
{
	int err = 0;

	if (!q->suspended)
		return 0;
	if (q->hwq && q->state == UQ_STARTED)
		err = qops(q)->resume_queue(q->hwq);
	if (!err)
		q->suspended = false;
	return err;
}

static void resume_or_revoke(struct uacce_queue *q, const char *what)
{
	int err;

	qlock(q);
	err = resume_qlocked(q);
	qunlock(q);
	if (!err)
		return;
	if (teardown_begin(q)) {
		qlog(LOG_ERR, q, "%s: the backend cannot serve it again (%s): queue revoked",
		     what, strerror(-err));
		teardown_end(q, ENODEV);
	}
}

int core_freeze(struct uacce_core *c)
{
	struct uacce_queue **a;
	int n, err;

	lock(c);
	if (c->frozen) {
		unlock(c);
		return -EBUSY;
	}
	c->frozen = true;
	unlock(c);
	err = snapshot_queues(c, &a, &n);
	if (err) {
		lock(c);
		c->frozen = false;
		unlock(c);
		return err;
	}
	for (int i = 0; i < n; i++) {
		struct uacce_queue *q = a[i];

		qlock(q);
		/*
		 * A backend without suspend_queue goes on serving until the
		 * daemon exits: its queues do not survive the restart anyway.
		 */
		if (q->state == UQ_STARTED && q->hwq && qops(q)->suspend_queue && !q->suspended) {
			qops(q)->suspend_queue(q->hwq);
			q->suspended = true;
		}
		qunlock(q);
	}
	drop_snapshot(c, a, n);
	return 0;
}

void core_thaw(struct uacce_core *c)
{
	struct uacce_queue **a;
	int n;

	lock(c);
	c->frozen = false;
	unlock(c);
	/* no memory for the list: one at a time, looking for suspended queues */
	if (snapshot_queues(c, &a, &n)) {
		for (;;) {
			struct uacce_queue *q = NULL;

			lock(c);
			list_for_each(pos, &c->queues) {
				struct uacce_queue *o = container_of(pos, struct uacce_queue, link);

				if (o->suspended) {
					q = o;
					q->refs++;
					break;
				}
			}
			unlock(c);
			if (!q)
				return;
			resume_or_revoke(q, "thaw");
			uq_unref(q);
		}
	}
	for (int i = 0; i < n; i++)
		resume_or_revoke(a[i], "thaw");
	drop_snapshot(c, a, n);
}

/* --- export ---------------------------------------------------------------- */

struct ho_regions {
	struct uacce_region **r;
	int n;
	json_object *arr;
};

/* names: stable over the object's life (the crash journal stores by name) */
static int put_fd_or_none(struct ho_state *s, int fd, char kind, uint64_t id, const char *sfx)
{
	char name[40];

	snprintf(name, sizeof(name), "%c%" PRIu64 "%s", kind, id, sfx);
	return fd < 0 ? -1 : ho_put_fd_named(s, fd, name);
}

/* the region's index in the table, added on its first sight; -errno */
static int region_index(struct ho_regions *t, struct ho_state *s, struct uacce_region *r)
{
	json_object *o;
	int fdi, err;

	for (int i = 0; i < t->n; i++)
		if (t->r[i] == r)
			return i;
	err = grow((void **)&t->r, t->n, sizeof(*t->r));
	if (err)
		return err;
	fdi = put_fd_or_none(s, r->fd, 'r', r->serial, "");
	if (fdi < -1)
		return fdi;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "type", json_object_new_int(r->type));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)r->size));
	json_object_object_add(o, "uaddr", json_object_new_int64((int64_t)region_uaddr(r)));
	json_object_object_add(o, "fd", json_object_new_int(fdi));
	json_object_object_add(o, "serial", json_object_new_int64((int64_t)r->serial));
	json_object_array_add(t->arr, o);
	t->r[t->n] = r;
	return t->n++;
}

static json_object *int_array(const int64_t *v, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_int64(v[i]));
	return a;
}

static int export_owner(struct uacce_queue *q, struct ho_state *s, json_object *o)
{
	json_object *ow = json_object_new_object(), *g = json_object_new_array();
	int pidfd, memfd, mapsfd;
	char sfx[3][16];

	if (!ow || !g) {
		json_object_put(ow);
		json_object_put(g);
		return -ENOMEM;
	}
	json_object_object_add(o, "owner", ow);
	json_object_object_add(ow, "tgid", json_object_new_int(q->owner.tgid));
	json_object_object_add(ow, "uid", json_object_new_int64(q->owner.uid));
	json_object_object_add(ow, "gid", json_object_new_int64(q->owner.gid));
	json_object_object_add(ow, "comm", json_object_new_string(q->owner.comm));
	for (int i = 0; i < q->ngroups; i++)
		json_object_array_add(g, json_object_new_int64(q->groups[i]));
	json_object_object_add(ow, "groups", g);
	if (!q->groups_known)
		json_object_object_add(ow, "groups_known", json_object_new_boolean(false));
	if (q->state == UQ_DEAD)	/* nothing pinned any more */
		return 0;
	/* the owner's pid in the names: an owner that changes changes them */
	snprintf(sfx[0], sizeof(sfx[0]), "p%d", (int)q->owner.tgid);
	snprintf(sfx[1], sizeof(sfx[1]), "m%d", (int)q->owner.tgid);
	snprintf(sfx[2], sizeof(sfx[2]), "s%d", (int)q->owner.tgid);
	pidfd = put_fd_or_none(s, q->owner.pidfd, 'q', q->id, sfx[0]);
	memfd = pidfd < -1 ? pidfd : put_fd_or_none(s, q->owner.memfd, 'q', q->id, sfx[1]);
	mapsfd = memfd < -1 ? memfd : put_fd_or_none(s, q->owner.mapsfd, 'q', q->id, sfx[2]);
	if (mapsfd < -1)
		return mapsfd;
	json_object_object_add(ow, "pidfd", json_object_new_int(pidfd));
	json_object_object_add(ow, "memfd", json_object_new_int(memfd));
	json_object_object_add(ow, "mapsfd", json_object_new_int(mapsfd));
	return 0;
}

/* the backend's state of q (qlock held): o["blob"], or nothing it can save */
static int export_blob(struct uacce_queue *q, json_object *o, bool live)
{
	uint8_t buf[HO_BLOB_MAX];
	ssize_t n;

	if (!q->hwq || (live && !q->suspended))
		return 0;	/* live: the crash journal's (recover_queue) */
	if (!qops(q)->save_queue || !qops(q)->adopt_queue || !qops(q)->resume_queue ||
	    (q->state == UQ_STARTED && !q->suspended)) {
		qlog(LOG_WARNING, q, "backend %s cannot hand the queue over: it will be "
		     "revoked (ENODEV) in the successor", q->dev->ops->name);
		return 0;
	}
	n = qops(q)->save_queue(q->hwq, buf, sizeof(buf));
	if (n < 0) {
		qlog(LOG_ERR, q, "backend state not saved (%s): the queue will be revoked "
		     "(ENODEV) in the successor", strerror((int)-n));
		return 0;
	}
	return ho_set_bytes(o, "blob", buf, (size_t)n);
}

/* one queue (qlock and the core lock held) */
static int export_queue_locked(struct uacce_queue *q, struct ho_state *s, struct ho_regions *t,
			       json_object *o)
{
	int64_t reg[UACCE_QFRT_NR], mapped[UACCE_QFRT_NR], mlen[UACCE_QFRT_NR];
	int err;

	json_object_object_add(o, "id", json_object_new_int64((int64_t)q->id));
	json_object_object_add(o, "dev", json_object_new_string(q->dev->name));
	json_object_object_add(o, "state", json_object_new_int(q->state));
	json_object_object_add(o, "dead_err", json_object_new_int(q->dead_err));
	json_object_object_add(o, "holds_excl", json_object_new_boolean(q->holds_excl));
	json_object_object_add(o, "charged", json_object_new_int64((int64_t)q->charged));
	json_object_object_add(o, "requests",
			       json_object_new_int64((int64_t)__atomic_load_n(&q->requests,
									       __ATOMIC_RELAXED)));
	err = export_owner(q, s, o);
	if (err)
		return err;
	for (int k = 0; k < UACCE_QFRT_NR; k++) {
		reg[k] = -1;
		if (q->qfrs[k]) {
			int i = region_index(t, s, q->qfrs[k]);

			if (i < 0)
				return i;
			reg[k] = i;
		}
		mapped[k] = q->mapped[k];
		mlen[k] = (int64_t)q->mapped_len[k];
	}
	json_object_object_add(o, "regions", int_array(reg, UACCE_QFRT_NR));
	json_object_object_add(o, "mapped", int_array(mapped, UACCE_QFRT_NR));
	json_object_object_add(o, "mapped_len", int_array(mlen, UACCE_QFRT_NR));
	return 0;
}

/*
 * The backend's own state of device d (core lock held), as o["hw_state"]
 * {blob, fds[]}; nothing when it has none.  A failure is logged: the
 * successor then creates the device afresh.
 */
static void export_dev_state_locked(struct uacce_dev *d, struct ho_state *s, json_object *o,
				    uint8_t *buf)
{
	const struct uacce_backend_state_ops *so = d->ops->state;
	struct uacce_dev_state st = { .blob = buf };
	json_object *hs, *fds;
	int err;

	if (!so || !so->dev_save || !so->dev_adopt || !buf)
		return;
	for (int i = 0; i < UACCE_DEV_STATE_FDS; i++)
		st.fds[i] = -1;
	err = so->dev_save(d->hw, &st);
	hs = err ? NULL : json_object_new_object();
	fds = hs ? json_object_new_array() : NULL;
	if (!err && (!hs || !fds))
		err = -ENOMEM;
	for (int i = 0; !err && i < st.nfds && i < UACCE_DEV_STATE_FDS; i++) {
		/* unnamed: a planned restart's only (the crash journal has no device state) */
		int idx = st.fds[i] < 0 ? -1 : ho_put_fd(s, st.fds[i]);

		if (idx < -1)
			err = idx;
		else
			json_object_array_add(fds, json_object_new_int(idx));
	}
	if (!err)
		err = ho_set_bytes(hs, "blob", buf, st.len);
	if (err) {
		json_object_put(fds);
		json_object_put(hs);
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "%s: backend %s: device state not saved (%s): "
			 "the successor sets the device up afresh, its queues are revoked there",
			 d->name, d->ops->name, strerror(-err));
		return;
	}
	json_object_object_add(hs, "fds", fds);
	json_object_object_add(o, "hw_state", hs);
}

static int export_devices(struct uacce_core *c, struct ho_state *s, json_object *out, bool live)
{
	json_object *devs = json_object_new_array();
	/* live (the crash journal): no device state, its successor sets devices up afresh */
	uint8_t *buf = live ? NULL : malloc(UACCE_DEV_STATE_MAX);

	if (!devs || (!buf && !live)) {
		json_object_put(devs);
		free(buf);
		return -ENOMEM;
	}
	lock(c);
	list_for_each(pos, &c->devices) {
		struct uacce_dev *d = container_of(pos, struct uacce_dev, link);
		json_object *o;

		if (!d->hw)
			continue;
		o = json_object_new_object();
		if (!o)
			break;
		json_object_object_add(o, "name", json_object_new_string(d->name));
		json_object_object_add(o, "requests",
				       json_object_new_int64((int64_t)__atomic_load_n(
					       &d->requests, __ATOMIC_RELAXED)));
		export_dev_state_locked(d, s, o, buf);
		json_object_array_add(devs, o);
	}
	json_object_object_add(out, "next_qid", json_object_new_int64((int64_t)c->next_qid));
	unlock(c);
	free(buf);
	json_object_object_add(out, "devices", devs);
	return 0;
}

static int export(struct uacce_core *c, struct ho_state *s, json_object *out, bool live)
{
	struct ho_regions t = { 0 };
	json_object *queues;
	struct uacce_queue **a;
	int n, err;

	err = export_devices(c, s, out, live);
	if (err)
		return err;
	t.arr = json_object_new_array();
	queues = json_object_new_array();
	if (!t.arr || !queues) {
		json_object_put(t.arr);
		json_object_put(queues);
		return -ENOMEM;
	}
	json_object_object_add(out, "regions", t.arr);
	json_object_object_add(out, "queues", queues);
	err = snapshot_queues(c, &a, &n);
	if (err)
		return err;
	for (int i = 0; i < n && !err; i++) {
		struct uacce_queue *q = a[i];
		json_object *o = json_object_new_object();

		if (!o) {
			err = -ENOMEM;
			break;
		}
		json_object_array_add(queues, o);
		qlock(q);
		err = export_blob(q, o, live);
		lock(c);
		if (!err)
			err = export_queue_locked(q, s, &t, o);
		unlock(c);
		qunlock(q);
		if (err)
			ulog_ctx(LOG_ERR, UQ_LOG_CTX(q), "%s: not exported: %s", q->label,
				 strerror(-err));
	}
	drop_snapshot(c, a, n);
	free(t.r);
	if (live)
		json_object_object_add(out, "live", json_object_new_boolean(true));
	return err;
}

int core_export(struct uacce_core *c, struct ho_state *s, json_object *out)
{
	return export(c, s, out, false);
}

int core_export_live(struct uacce_core *c, struct ho_state *s, json_object *out)
{
	return export(c, s, out, true);
}

/* --- adopt ----------------------------------------------------------------- */

static struct uacce_dev *dev_by_name_locked(struct uacce_core *c, const char *name)
{
	list_for_each(pos, &c->devices) {
		struct uacce_dev *d = container_of(pos, struct uacce_dev, link);

		if (d->hw && !d->removing && strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

static int64_t arr_int(json_object *a, int i, int64_t dflt)
{
	json_object *v = a && json_object_is_type(a, json_type_array) &&
				 i < (int)json_object_array_length(a) ?
			 json_object_array_get_idx(a, i) : NULL;

	return v && (json_object_is_type(v, json_type_int) ||
		     json_object_is_type(v, json_type_boolean)) ? json_object_get_int64(v) : dflt;
}

/* the fd of table index o[key], taken (-1: none) */
static int take_fd_of(struct ho_state *s, json_object *o, const char *key)
{
	int64_t i = ho_get_int(o, key, -1);

	return i < 0 || i > INT32_MAX ? -1 : ho_take_fd(s, (int)i);
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* device `name`'s exported member of in["devices"], or NULL */
static json_object *exported_dev(json_object *devs, const char *name)
{
	int n = devs && json_object_is_type(devs, json_type_array) ?
			(int)json_object_array_length(devs) : 0;

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(devs, i);

		if (strcmp(ho_get_str(o, "name", ""), name) == 0)
			return o;
	}
	return NULL;
}

/*
 * A device state hs {blob, fds[]} into st (st->blob: UACCE_DEV_STATE_MAX
 * bytes); the fds taken from s (take) or only looked at.  Missing fds are
 * -1.  -EINVAL for a blob that cannot be read.
 */
static int dev_state_of(struct ho_state *s, json_object *hs, bool take, struct uacce_dev_state *st)
{
	json_object *fds = ho_get(hs, "fds");
	int n = fds && json_object_is_type(fds, json_type_array) ?
			(int)json_object_array_length(fds) : 0;

	st->nfds = n < UACCE_DEV_STATE_FDS ? n : UACCE_DEV_STATE_FDS;
	for (int i = 0; i < UACCE_DEV_STATE_FDS; i++) {
		int64_t idx = i < st->nfds ? arr_int(fds, i, -1) : -1;
		int fd = idx < 0 || idx > INT32_MAX ? -1 :
			 take ? ho_take_fd(s, (int)idx) : ho_peek_fd(s, (int)idx);

		st->fds[i] = fd < 0 ? -1 : fd;
	}
	return ho_get_bytes(hs, "blob", st->blob, UACCE_DEV_STATE_MAX, &st->len) ? -EINVAL : 0;
}

void core_set_handover(struct uacce_core *c, struct ho_state *s, json_object *in)
{
	lock(c);
	c->ho = in ? s : NULL;
	c->ho_devs = in ? ho_get(in, "devices") : NULL;
	unlock(c);
}

int core_check_dev_state(struct ho_state *s, json_object *in, const struct uacce_backend_ops *ops,
			 const struct uacce_dev_cfg *cfg, char *why, size_t len)
{
	json_object *hs = ho_get(exported_dev(ho_get(in, "devices"), cfg->node_name), "hw_state");
	struct uacce_dev_state st = { 0 };
	int err;

	if (!hs)
		return 0;	/* nothing of the device's own: created afresh */
	if (!ops || !ops->state || !ops->state->dev_check || !ops->state->dev_adopt) {
		snprintf(why, len, "%s: this uacced's backend %s cannot take the device's state "
			 "(its open queues would end)", cfg->node_name, cfg->backend);
		return -EINVAL;
	}
	st.blob = malloc(UACCE_DEV_STATE_MAX);
	if (!st.blob)
		return -ENOMEM;
	err = dev_state_of(s, hs, false, &st);
	if (err)
		snprintf(why, len, "%s: the device state in the handover cannot be read",
			 cfg->node_name);
	else
		err = ops->state->dev_check(cfg, &st, why, len);
	free(st.blob);
	return err;
}

/*
 * core_add_device in a successor: the predecessor's state of d, if any,
 * through dev_adopt (d->hw, d->info).  0 when adopted; else -errno and
 * the caller creates the device afresh (every fd of the state closed).
 */
static int adopt_dev_state(struct uacce_core *c, struct uacce_dev *d,
			   const struct uacce_dev_cfg *cfg)
{
	const struct uacce_backend_state_ops *so = d->ops->state;
	struct uacce_dev_state st = { 0 };
	json_object *o, *hs;
	struct ho_state *s;
	int err;

	lock(c);
	s = c->ho;
	o = exported_dev(c->ho_devs, d->name);
	hs = ho_get(o, "hw_state");
	if (hs)
		json_object_get(hs);
	if (o)
		json_object_object_del(o, "hw_state");	/* taken once */
	unlock(c);
	if (!hs)
		return -ENOENT;
	st.blob = malloc(UACCE_DEV_STATE_MAX);
	err = st.blob ? dev_state_of(s, hs, true, &st) : -ENOMEM;
	json_object_put(hs);
	if (!err && (!so || !so->dev_adopt))
		err = -EOPNOTSUPP;
	if (!err)
		err = so->dev_adopt(cfg, &st, &d->info, &d->hw);
	for (int i = 0; i < UACCE_DEV_STATE_FDS; i++)
		close_fd(st.fds[i]);
	free(st.blob);
	if (err) {
		ulog_ctx(LOG_ERR, UD_LOG_CTX(d), "live restart: %s: backend %s did not take the "
			 "device's state (%s): it is set up afresh, its open queues are revoked",
			 d->name, d->ops->name, strerror(-err));
		d->hw = NULL;
		return err;
	}
	d->state_adopted = true;
	return 0;
}

/* the regions of the state, each with one reference (NULL: not adopted) */
static int adopt_regions(struct ho_state *s, json_object *in, struct uacce_region ***out, int *n)
{
	json_object *arr = ho_get(in, "regions");
	int cnt = arr && json_object_is_type(arr, json_type_array) ?
			  (int)json_object_array_length(arr) : 0;
	struct uacce_region **r = cnt ? calloc((size_t)cnt, sizeof(*r)) : NULL;

	if (cnt && !r)
		return -ENOMEM;
	for (int i = 0; i < cnt; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		int fd = take_fd_of(s, o, "fd");
		int64_t type = ho_get_int(o, "type", -1), size = ho_get_int(o, "size", 0);
		int err = -EINVAL;

		if (type >= 0 && type < UACCE_QFRT_NR && size > 0)
			err = region_adopt((int)type, fd, (size_t)size,
					   (uint64_t)ho_get_int(o, "uaddr", 0),
					   (uint64_t)ho_get_int(o, "serial", 0), &r[i]);
		if (err) {
			log_err("live restart: region %d (type %d, %lld bytes) not adopted: %s", i,
				(int)type, (long long)size, strerror(-err));
			close_fd(fd);
			r[i] = NULL;
		}
	}
	*out = r;
	*n = cnt;
	return 0;
}

/*
 * A new queue struct for exported queue o on device d (not listed yet):
 * its owner and groups; the owner's fds are taken from s.  -errno leaves
 * *q half made (free_adopted).
 */
static int adopt_owner(struct uacce_queue *q, struct ho_state *s, json_object *o)
{
	json_object *ow = ho_get(o, "owner"), *g = ho_get(ow, "groups");
	int pidfd = take_fd_of(s, ow, "pidfd"), memfd = take_fd_of(s, ow, "memfd");
	int mapsfd = take_fd_of(s, ow, "mapsfd");
	json_object *gk = ho_get(ow, "groups_known");
	int ng = g && json_object_is_type(g, json_type_array) ? (int)json_object_array_length(g) : 0;

	/* a predecessor that did not say read them all */
	q->groups_known = !gk || json_object_get_boolean(gk);
	if (ng > 0) {
		q->groups = calloc((size_t)ng, sizeof(gid_t));
		if (!q->groups) {
			q->owner.pidfd = q->owner.memfd = q->owner.mapsfd = -1;
			close_fd(pidfd);
			close_fd(memfd);
			close_fd(mapsfd);
			return -ENOMEM;
		}
		for (int i = 0; i < ng; i++)
			q->groups[i] = (gid_t)arr_int(g, i, 0);
		q->ngroups = ng;
	}
	return proc_owner_adopt(&q->owner, (pid_t)ho_get_int(ow, "tgid", 0),
				(uid_t)ho_get_int(ow, "uid", 0), (gid_t)ho_get_int(ow, "gid", 0),
				ho_get_str(ow, "comm", "?"), pidfd, memfd, mapsfd);
}

/*
 * A DEAD queue: no owner pinned (owner_ok: proc_owner_adopt succeeded,
 * its fds are to close), nothing held; the owner's identity stays for
 * the logs.
 */
static void make_dead(struct uacce_queue *q, int dead_err, bool owner_ok)
{
	if (owner_ok)
		proc_owner_fini(&q->owner);
	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		region_put(q->qfrs[t]);
		q->qfrs[t] = NULL;
		q->mapped[t] = false;
		q->mapped_len[t] = 0;
	}
	q->charged = 0;
	shm_clear(&q->shm);
	q->state = UQ_DEAD;
	q->dead_err = dead_err;
}

/* the queue's regions by the table's indexes; false when one is missing */
static bool adopt_queue_regions(struct uacce_queue *q, json_object *o,
				struct uacce_region **regs, int nregs)
{
	json_object *ri = ho_get(o, "regions"), *m = ho_get(o, "mapped");
	json_object *ml = ho_get(o, "mapped_len");
	bool ok = true;

	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		int64_t i = arr_int(ri, t, -1);

		if (i < 0)
			continue;
		if (i >= nregs || !regs[i] || regs[i]->type != t) {
			ok = false;
			continue;
		}
		q->qfrs[t] = region_get(regs[i]);
		q->mapped[t] = arr_int(m, t, 0) != 0;
		q->mapped_len[t] = (uint64_t)arr_int(ml, t, 0);
	}
	/* the fixed regions a live queue always has */
	for (int t = 0; ok && t < UACCE_QFRT_NR; t++)
		if (t != UACCE_QFRT_SS && q->dev->info.qfr_size[t] &&
		    (!q->qfrs[t] || q->qfrs[t]->size != q->dev->info.qfr_size[t]))
			ok = false;
	return ok;
}

/*
 * The hardware queue of a live adopted queue, and its accounting (core
 * lock held).  false: revoke it (logged).
 */
static bool adopt_hw_locked(struct uacce_queue *q, json_object *o, bool live)
{
	struct uacce_dev *d = q->dev;
	uint8_t blob[HO_BLOB_MAX];
	size_t len = 0;
	int err;

	if (q->state == UQ_ZOMBIE)
		return true;
	if (!qops(q)->adopt_queue || !qops(q)->resume_queue) {
		qlog(LOG_WARNING, q, "backend %s cannot adopt queues: queue revoked (ENODEV)",
		     d->ops->name);
		return false;
	}
	if (ho_get_int(o, "revoke", 0)) {
		qlog(LOG_WARNING, q, "changed after the crash journal's last snapshot: queue "
		     "revoked (ENODEV)");
		return false;
	}
	if (ho_get_bytes(o, "blob", blob, sizeof(blob), &len) &&
	    !(live && qops(q)->recover_queue)) {
		qlog(LOG_WARNING, q, "no backend state in the handover: queue revoked (ENODEV)");
		return false;
	}
	if (avail_locked(d) <= 0) {
		qlog(LOG_WARNING, q, "no free hardware queue on the device (fewer queues "
		     "configured?): queue revoked (ENODEV)");
		return false;
	}
	if (!len && live)	/* a crash: no saved state, the rings say where */
		err = qops(q)->recover_queue(d->hw, q, &q->hwq);
	else
		err = qops(q)->adopt_queue(d->hw, q, blob, len, &q->hwq);
	if (err) {
		qlog(LOG_WARNING, q, "backend %s did not adopt the queue (%s): queue revoked "
		     "(ENODEV)", d->ops->name, strerror(-err));
		q->hwq = NULL;
		return false;
	}
	d->used++;
	return true;
}

static void free_adopted(struct uacce_queue *q, bool owner_ok)
{
	if (owner_ok)
		proc_owner_fini(&q->owner);
	for (int t = 0; t < UACCE_QFRT_NR; t++)
		region_put(q->qfrs[t]);
	pthread_mutex_destroy(&q->lock);
	free(q->groups);
	free(q);
}

/* one exported queue: listed (claimable), or dropped when its device is gone */
static int adopt_queue(struct uacce_core *c, struct ho_state *s, json_object *o,
		       struct uacce_region **regs, int nregs, bool live, struct uacce_queue **out)
{
	const char *dname = ho_get_str(o, "dev", "");
	int64_t st = ho_get_int(o, "state", UQ_DEAD);
	uint64_t id = (uint64_t)ho_get_int(o, "id", 0);
	struct uacce_queue *q;
	struct uacce_dev *d;
	int err;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	list_init(&q->link);
	pthread_mutex_init(&q->lock, NULL);
	q->refs = 1;		/* the open file's, handed over */
	q->id = id;
	err = adopt_owner(q, s, o);
	lock(c);
	d = dev_by_name_locked(c, dname);
	if (!d || id == 0) {
		unlock(c);
		log_warn("live restart: %s q%" PRIu64 " uid %u pid %d (%s): %s: queue dropped, "
			 "its file gets ENODEV", dname, id, (unsigned)q->owner.uid,
			 (int)q->owner.tgid, q->owner.comm, !d ? "no such device" : "no id");
		free_adopted(q, !err);
		return 0;
	}
	q->dev = d;
	snprintf(q->label, sizeof(q->label), "%s q%" PRIu64 " uid %u pid %d (%s)", d->name, id,
		 (unsigned)q->owner.uid, (int)q->owner.tgid, q->owner.comm);
	q->state = st >= UQ_INIT && st <= UQ_DEAD ? (enum uacce_q_state)st : UQ_DEAD;
	q->dead_err = (int)ho_get_int(o, "dead_err", ENODEV);
	if (q->state == UQ_DEAD) {
		make_dead(q, q->dead_err ? q->dead_err : ENODEV, !err);
	} else if (err) {
		qlog(LOG_WARNING, q, "owner not adopted (%s): queue freed", strerror(-err));
		make_dead(q, EPERM, false);
	} else if (!adopt_queue_regions(q, o, regs, nregs)) {
		qlog(LOG_WARNING, q, "its memory was not handed over: queue revoked (ENODEV)");
		make_dead(q, ENODEV, true);
	} else if (!adopt_hw_locked(q, o, live)) {
		make_dead(q, ENODEV, true);
	} else {
		q->charged = (uint64_t)ho_get_int(o, "charged", 0);
		q->requests = (uint64_t)ho_get_int(o, "requests", 0);
		q->suspended = q->state == UQ_STARTED;	/* resumed by core_adopt */
		if (ho_get_int(o, "holds_excl", 0)) {
			if (d->excl_tgid && d->excl_tgid != q->owner.tgid)
				qlog(LOG_WARNING, q, "exclusive use of the device by two processes "
				     "(%d) in the handover", (int)d->excl_tgid);
			d->excl_tgid = q->owner.tgid;
			d->excl_count++;
			q->holds_excl = true;
		}
		if (c->hooks.watch_owner &&
		    c->hooks.watch_owner(q, q->owner.pidfd, c->hooks.ctx) == 0)
			q->watched = true;
		else if (c->hooks.watch_owner)
			qlog(LOG_WARNING, q, "cannot watch the owner: its exit frees the queue "
			     "at its release only");
	}
	q->adopted = true;
	if (c->next_qid <= id)
		c->next_qid = id + 1;
	list_add_tail(&c->queues, &q->link);
	qchanged(q);	/* the crash journal of this process has it from now on */
	d->refs++;
	instances_changed(d);
	unlock(c);
	qlog(LOG_DEBUG, q, "adopted (%s)", q->state == UQ_DEAD ? "dead" : "live");
	*out = q;
	return 0;
}

static void adopt_devices(struct uacce_core *c, json_object *in)
{
	json_object *devs = ho_get(in, "devices");
	int n = devs && json_object_is_type(devs, json_type_array) ?
			(int)json_object_array_length(devs) : 0;

	lock(c);
	if ((uint64_t)ho_get_int(in, "next_qid", 1) > c->next_qid)
		c->next_qid = (uint64_t)ho_get_int(in, "next_qid", 1);
	for (int i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(devs, i);
		struct uacce_dev *d = dev_by_name_locked(c, ho_get_str(o, "name", ""));

		if (d)
			__atomic_store_n(&d->requests, (uint64_t)ho_get_int(o, "requests", 0),
					 __ATOMIC_RELAXED);
		else
			log_warn("live restart: device %s is not configured any more",
				 ho_get_str(o, "name", "?"));
	}
	unlock(c);
}

int core_adopt(struct uacce_core *c, struct ho_state *s, json_object *in)
{
	json_object *qs = ho_get(in, "queues");
	int nq = qs && json_object_is_type(qs, json_type_array) ?
		       (int)json_object_array_length(qs) : 0;
	struct uacce_region **regs;
	struct uacce_queue **live;
	int nregs, nlive = 0, err;

	if (!in)
		return 0;
	adopt_devices(c, in);
	err = adopt_regions(s, in, &regs, &nregs);
	if (err)
		return err;
	live = nq ? calloc((size_t)nq, sizeof(*live)) : NULL;
	if (nq && !live) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < nq && !err; i++) {
		struct uacce_queue *q;

		err = adopt_queue(c, s, json_object_array_get_idx(qs, i), regs, nregs,
				  ho_get_int(in, "live", 0) != 0, &q);
		if (q && q->suspended)
			live[nlive++] = q;
	}
	/* started queues serve on (qlock before the core lock: after the listing) */
	for (int i = 0; i < nlive; i++)
		resume_or_revoke(live[i], "adopt");
out:
	free(live);
	for (int i = 0; i < nregs; i++)
		region_put(regs[i]);
	free(regs);
	return err;
}

struct uacce_queue *core_claim_adopted(struct uacce_core *c, uint64_t qid)
{
	struct uacce_queue *found;

	lock(c);
	found = find_queue_locked(c, qid);
	if (found && found->adopted)
		found->adopted = false;
	else
		found = NULL;
	unlock(c);
	return found;
}

void core_adopt_done(struct uacce_core *c)
{
	for (;;) {
		struct uacce_queue *q = NULL;

		lock(c);
		list_for_each(pos, &c->queues) {
			struct uacce_queue *o = container_of(pos, struct uacce_queue, link);

			if (o->adopted) {
				o->adopted = false;
				q = o;
				break;
			}
		}
		unlock(c);
		if (!q)
			break;
		qlog(LOG_INFO, q, "adopted but no open file claimed it: released");
		uq_release(q);
	}
	/* every queue is adopted or gone: what the devices' states held for
	 * the others goes */
	lock(c);
	list_for_each(pos, &c->devices) {
		struct uacce_dev *d = container_of(pos, struct uacce_dev, link);

		if (d->state_adopted && d->hw && d->ops->state->dev_adopt_done)
			d->ops->state->dev_adopt_done(d->hw);
		d->state_adopted = false;
	}
	c->ho = NULL;
	c->ho_devs = NULL;
	unlock(c);
}
