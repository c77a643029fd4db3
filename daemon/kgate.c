/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kgate.c - the BPF gate for kernel uacce devices (see kgate.h) */
#define _GNU_SOURCE
#include "config.h"	/* autoconf: HAVE_BPF_GATE */
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kgate.h"
#include "log.h"
#include "policy.h"

#ifdef HAVE_BPF_GATE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "bpf/kgate_abi.h"
#include "kgate.skel.h"
#endif

struct kgate {
	char reason[300];		/* "" when enforced */
	pthread_mutex_t lock;		/* devs, ndev, pol */
	struct kdev *devs;
	int ndev;
	struct uacce_policy *pol;	/* labels for the records */
#ifdef HAVE_BPF_GATE
	struct kgate_bpf *skel;
	struct ring_buffer *rb;
#endif
};

const char *kgate_reason(const struct kgate *g)
{
	return g->reason[0] ? g->reason : NULL;
}

/* the devices of the last apply, the policy reference: replaced together */
static int set_devs(struct kgate *g, const struct uacce_policy *p, const struct kdev *devs,
		    int n)
{
	struct kdev *copy = n ? malloc((size_t)n * sizeof(*copy)) : NULL;
	struct uacce_policy *old;

	if (n && !copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, devs, (size_t)n * sizeof(*copy));
	pthread_mutex_lock(&g->lock);
	free(g->devs);
	g->devs = copy;
	g->ndev = n;
	old = g->pol;
	g->pol = policy_ref((struct uacce_policy *)p);
	pthread_mutex_unlock(&g->lock);
	policy_unref(old);
	return 0;
}

#ifdef HAVE_BPF_GATE

/* --- loading ------------------------------------------------------------------- */

static char libbpf_first[256];	/* libbpf's first warning (loads run one at a time) */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n && !libbpf_first[0])
		snprintf(libbpf_first, sizeof(libbpf_first), "%s",
			 strncmp(line, "libbpf: ", 8) == 0 ? line + 8 : line);
	log_debug("%s", line);
	return 0;
}

/* is "bpf" in the active LSM list?  0: yes; else the reason in why */
static int bpf_lsm_active(char *why, size_t len)
{
	static const char *path = "/sys/kernel/security/lsm";
	char buf[512] = "";
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(why, len, "cannot tell whether the BPF LSM is active: %s: %s%s", path,
			 strerror(errno), errno == ENOENT ? " (is securityfs mounted?)" : "");
		return -ENOENT;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, "bpf") == 0)
			return 0;
	snprintf(why, len, "the BPF LSM is not active (%s has no \"bpf\"; the kernel needs "
		 "CONFIG_BPF_LSM=y and \"bpf\" in its lsm= list)", path);
	return -ENOTSUP;
}

static int on_event(void *ctx, void *data, size_t size);

static void load(struct kgate *g)
{
	struct kgate_bpf *s;
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(g->reason, sizeof(g->reason), "the kernel has no BTF "
			 "(/sys/kernel/btf/vmlinux: %s): the gate cannot be relocated to it",
			 strerror(errno));
		return;
	}
	if (bpf_lsm_active(g->reason, sizeof(g->reason)))
		return;
	libbpf_set_print(libbpf_print);
	libbpf_first[0] = '\0';
	s = kgate_bpf__open();
	if (!s) {
		snprintf(g->reason, sizeof(g->reason), "opening the BPF object failed: %s",
			 strerror(errno));
		return;
	}
	err = kgate_bpf__load(s);
	if (!err)
		err = kgate_bpf__attach(s);
	if (err) {
		snprintf(g->reason, sizeof(g->reason), "the kernel refused the BPF LSM program: "
			 "%s%s%s", strerror(-err), libbpf_first[0] ? " (libbpf: " : "",
			 libbpf_first[0] ? libbpf_first : "");
		if (libbpf_first[0])
			strncat(g->reason, ")", sizeof(g->reason) - strlen(g->reason) - 1);
		kgate_bpf__destroy(s);
		return;
	}
	g->rb = ring_buffer__new(bpf_map__fd(s->maps.events), on_event, g, NULL);
	if (!g->rb) {
		snprintf(g->reason, sizeof(g->reason), "the gate's ring buffer: %s",
			 strerror(errno));
		kgate_bpf__destroy(s);
		return;
	}
	g->skel = s;
}

/* --- the policy into a map --------------------------------------------------------- */

static __u64 lim(uint64_t v)
{
	return v == POLICY_UNLIMITED ? KG_UNLIMITED : v;
}

static int put(int fd, __u32 kind, __u32 id, __u32 dev, const struct kgate_rule *r)
{
	struct kgate_key k = { .kind = kind, .id = id, .dev = dev };
	struct kgate_rule none = { 0 };

	return bpf_map_update_elem(fd, &k, r ? r : &none, BPF_ANY) ? -errno : 0;
}

static bool matches(const struct policy_entry *e, const struct kdev *d)
{
	for (int i = 0; i < e->ndevices; i++)
		if (fnmatch(e->devices[i], d->name, 0) == 0)
			return true;
	return false;
}

/* one policy entry: its rule (if it sets anything gated) and its allowed devices */
static int put_entry(int fd, const struct policy_entry *e, __u32 kind, __u32 allow_kind, __u32 id,
		     const struct kdev *devs, int n)
{
	struct kgate_rule r = { 0 };
	int err;

	if (e->set & (1u << PL_MAX_QUEUES))
		r.set |= KG_SET_MAX_QUEUES;
	if (e->set & (1u << PL_MAX_QUEUES_PER_DEVICE))
		r.set |= KG_SET_MAX_PER_DEVICE;
	if (e->set & POLICY_SET_DEVICES)
		r.set |= KG_SET_DEVICES;
	if (!r.set)
		return 0;
	r.max_queues = lim(e->lim[PL_MAX_QUEUES]);
	r.max_per_device = lim(e->lim[PL_MAX_QUEUES_PER_DEVICE]);
	err = put(fd, kind, id, 0, &r);
	for (int i = 0; i < n && !err && (r.set & KG_SET_DEVICES); i++)
		if (devs[i].found && matches(e, &devs[i]))
			err = put(fd, allow_kind, id, kgate_kdev(devs[i].maj, devs[i].min), NULL);
	return err;
}

static int fill(int fd, const struct uacce_policy *p, const struct kdev *devs, int n)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		if (devs[i].found)
			err = put(fd, KG_GATED, 0, kgate_kdev(devs[i].maj, devs[i].min), NULL);
	if (!p || err)
		return err;
	err = put_entry(fd, &p->def, KG_DEFAULT, KG_ALLOW_DEFAULT, 0, devs, n);
	for (int i = 0; i < p->nusers && !err; i++)
		err = put_entry(fd, &p->users[i].e, KG_USER, KG_ALLOW_USER, p->users[i].id, devs, n);
	for (int i = 0; i < p->ngroups && !err; i++)
		err = put_entry(fd, &p->groups[i].e, KG_GROUP, KG_ALLOW_GROUP, p->groups[i].id, devs,
				n);
	return err;
}

static int swap_policy(struct kgate *g, const struct uacce_policy *p, const struct kdev *devs,
		       int n, const char **step)
{
	/*
	 * Like the template in every respect the kernel compares, BTF
	 * included (without it the map's special fields would differ)
	 */
	LIBBPF_OPTS(bpf_map_create_opts, opts,
		    .map_flags = bpf_map__map_flags(g->skel->maps.policy_template),
		    .btf_fd = (__u32)btf__fd(bpf_object__btf(g->skel->obj)),
		    .btf_key_type_id = bpf_map__btf_key_type_id(g->skel->maps.policy_template),
		    .btf_value_type_id = bpf_map__btf_value_type_id(g->skel->maps.policy_template));
	long ids = p ? 1 + p->nusers + p->ngroups : 0;
	__u32 zero = 0;
	int fd, err;

	*step = "sizing it";
	if (n + ids * (1 + n) > KG_POLICY_ENTRIES)	/* 4097 ids x 64 devices at most */
		return -E2BIG;
	*step = "creating a map";
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "kgate_policy", sizeof(struct kgate_key),
			    sizeof(struct kgate_rule), KG_POLICY_ENTRIES, &opts);
	if (fd < 0)
		return -errno;
	*step = "filling it";
	err = fill(fd, p, devs, n);
	/* the swap: an open sees the old map or the new one, whole */
	if (!err) {
		*step = "swapping it in";
		if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.policy), &zero, &fd, BPF_ANY))
			err = -errno;
	}
	close(fd);	/* the array of maps holds it now */
	return err;
}

/* --- records ------------------------------------------------------------------------ */

/* "user alice", "group uacce", "default", "none": the deciding entry's label */
static const char *label_of(const struct uacce_policy *p, __u32 kind, __u32 id, char *buf,
			    size_t len)
{
	const struct policy_id_entry *arr = NULL;
	int n = 0;

	if (kind == KG_DEFAULT)
		return "default";
	if (kind == KG_USER) {
		arr = p ? p->users : NULL;
		n = p ? p->nusers : 0;
	} else if (kind == KG_GROUP) {
		arr = p ? p->groups : NULL;
		n = p ? p->ngroups : 0;
	} else {
		return "none";
	}
	for (int i = 0; i < n; i++)
		if (arr[i].id == id)
			return arr[i].e.label;
	snprintf(buf, len, "%s %u", kind == KG_USER ? "user" : "group", (unsigned)id);
	return buf;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct kgate *g = ctx;
	const struct kgate_event *e = data;
	char name[64] = "", comm[17], lb[64], lims[32];
	const char *src;
	struct ulog_ctx lc;

	if (size < sizeof(*e))
		return 0;
	memcpy(comm, e->comm, 16);
	comm[16] = '\0';
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < g->ndev; i++)
		if (g->devs[i].found && kgate_kdev(g->devs[i].maj, g->devs[i].min) == e->dev)
			snprintf(name, sizeof(name), "%s", g->devs[i].name);
	if (!name[0])
		snprintf(name, sizeof(name), "%u:%u", e->dev >> 20, e->dev & 0xfffff);
	src = label_of(g->pol, e->src_kind, e->src_id, lb, sizeof(lb));
	lc = (struct ulog_ctx){ .device = name, .owner = true, .uid = e->uid, .pid = (pid_t)e->pid,
				.comm = comm };
	policy_fmt_limit(e->limit == KG_UNLIMITED ? POLICY_UNLIMITED : e->limit, lims,
			 sizeof(lims));
	switch (e->type) {
	case KGE_GRANT:
		ulog_ctx(LOG_INFO, &lc, "kernel gate: %s: queue opened by uid %u pid %u (%s): "
			 "%llu of max_queues %s (%s) in use", name, e->uid, e->pid, comm,
			 (unsigned long long)e->in_use + 1, lims, src);
		break;
	case KGE_RELEASE:
		ulog_ctx(LOG_DEBUG, &lc, "kernel gate: %s: queue of uid %u closed (pid %u, %s), "
			 "%llu left on the device", name, e->uid, e->pid, comm,
			 (unsigned long long)e->in_use);
		break;
	case KGE_DENY:
		if (e->reason == KGR_DEVICE)
			ulog_ctx_rl(LOG_NOTICE, &lc, "kernel gate: %s: open by uid %u pid %u (%s) "
				    "refused (EACCES): device not allowed by the policy of %s", name,
				    e->uid, e->pid, comm, src);
		else if (e->reason == KGR_MAX_QUEUES || e->reason == KGR_MAX_PER_DEVICE)
			ulog_ctx_rl(LOG_NOTICE, &lc, "kernel gate: %s: open by uid %u pid %u (%s) "
				    "refused (EDQUOT): %s %s (%s), in use %llu", name, e->uid, e->pid,
				    comm, e->reason == KGR_MAX_QUEUES ? "max_queues" :
				    "max_queues_per_device", lims, src,
				    (unsigned long long)e->in_use);
		else
			ulog_ctx_rl(LOG_WARNING, &lc, "kernel gate: %s: open by uid %u pid %u (%s) "
				    "refused (EDQUOT): the gate's tables are full", name, e->uid,
				    e->pid, comm);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&g->lock);
	return 0;
}

int kgate_events_fd(const struct kgate *g)
{
	return g->rb ? ring_buffer__epoll_fd(g->rb) : -1;
}

void kgate_consume(struct kgate *g)
{
	if (g->rb)
		ring_buffer__consume(g->rb);
}

/* counted open files of a device (all users) and per user */
static void usage_of(struct kgate *g, struct kgate_stat *s)
{
	__u32 want = kgate_kdev(s->d.maj, s->d.min);
	int fd = bpf_map__fd(g->skel->maps.counts);
	struct kgate_count_key k, next, *prev = NULL;
	__s64 v;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (k.dev != want || bpf_map_lookup_elem(fd, &k, &v) != 0 || v <= 0)
			continue;
		s->open_queues += v;
		if (s->nusers < 16) {
			s->uid[s->nusers] = k.uid;
			s->uid_open[s->nusers] = v;
		}
		s->nusers++;
	}
}

#else	/* !HAVE_BPF_GATE */

static void load(struct kgate *g)
{
	snprintf(g->reason, sizeof(g->reason), "this uacced was built without the BPF gate "
		 "(configure found no clang, bpftool or libbpf)");
}

int kgate_events_fd(const struct kgate *g)
{
	(void)g;
	return -1;
}

void kgate_consume(struct kgate *g)
{
	(void)g;
}

#endif

int kgate_new(struct kgate **out)
{
	struct kgate *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	load(g);
	if (g->reason[0])
		log_err("kernel gate: unenforceable: %s; the kernel devices of the configuration "
			"are NOT gated (only their nodes' mode and ACLs apply)", g->reason);
	else
		log_info("kernel gate: BPF LSM program attached (file_open, file_free_security)");
	*out = g;
	return 0;
}

void kgate_free(struct kgate *g)
{
	if (!g)
		return;
#ifdef HAVE_BPF_GATE
	ring_buffer__free(g->rb);
	kgate_bpf__destroy(g->skel);
#endif
	free(g->devs);
	policy_unref(g->pol);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int kgate_apply(struct kgate *g, const struct uacce_policy *p, const struct kdev *devs, int n,
		char *msg, size_t len)
{
	int err = 0, gated = 0;

	for (int i = 0; i < n; i++)
		gated += devs[i].found;
#ifdef HAVE_BPF_GATE
	if (g->skel) {
		const char *step = "";

		err = swap_policy(g, p, devs, n, &step);
		if (err) {
			snprintf(msg, len, "kernel gate: the new policy could not be put in the "
				 "gate's maps (%s): %s", step, strerror(-err));
			return err;
		}
	}
#endif
	err = set_devs(g, p, devs, n);
	if (err) {
		snprintf(msg, len, "kernel gate: out of memory");
		return err;
	}
	for (int i = 0; i < n; i++) {
		if (!devs[i].found)
			log_warn("kernel gate: entry %s: %s", devs[i].entry_text, devs[i].reason);
		else if (g->reason[0])
			log_err("kernel gate: %s (%u:%u) is NOT gated: %s", devs[i].node, devs[i].maj,
				devs[i].min, g->reason);
		else
			log_info("kernel gate: %s (%u:%u) gated", devs[i].node, devs[i].maj,
				 devs[i].min);
	}
	snprintf(msg, len, "%d kernel device(s) %s", gated, g->reason[0] ? "NOT gated" : "gated");
	return 0;
}

int kgate_list(struct kgate *g, struct kgate_stat **out, int *n)
{
	struct kgate_stat *s;

	pthread_mutex_lock(&g->lock);
	s = calloc((size_t)(g->ndev ? g->ndev : 1), sizeof(*s));
	if (!s) {
		pthread_mutex_unlock(&g->lock);
		return -ENOMEM;
	}
	for (int i = 0; i < g->ndev; i++) {
		s[i].d = g->devs[i];
		s[i].enforced = g->devs[i].found && !g->reason[0];
		snprintf(s[i].reason, sizeof(s[i].reason), "%s",
			 !g->devs[i].found ? g->devs[i].reason : g->reason);
#ifdef HAVE_BPF_GATE
		if (s[i].enforced)
			usage_of(g, &s[i]);
#endif
	}
	*n = g->ndev;
	pthread_mutex_unlock(&g->lock);
	*out = s;
	return 0;
}
