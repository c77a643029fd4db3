// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kgate.bpf.c - uacced's gate for kernel uacce devices: a BPF LSM program
 * on file_open that applies the policy (allow-lists, max_queues,
 * max_queues_per_device; kgate_abi.h) to opens of the gated character
 * devices, and gives a counted open back when its file is freed
 * (file_free_security: the last close, whatever fork/dup/exec/SCM_RIGHTS
 * did to it in between).  Decisions go to uacced through a ring buffer.
 *
 * CO-RE without the build host's BTF: the few kernel structures read here
 * are declared below with preserve_access_index, so libbpf relocates each
 * field to the running kernel's offset at load time.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "kgate_abi.h"

char LICENSE[] SEC("license") = "GPL";

#define EACCES 13
#define EDQUOT 122
#define S_IFMT 00170000
#define S_IFCHR 0020000

/* --- the kernel's structures, only the fields read (CO-RE) --------------- */

typedef struct { __u32 val; } kuid_t;
typedef struct { __u32 val; } kgid_t;

struct group_info {
	int ngroups;
	kgid_t gid[];
} __attribute__((preserve_access_index));

struct cred {
	kuid_t fsuid;
	kgid_t fsgid;
	struct group_info *group_info;
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	__u32 i_rdev;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
	const struct cred *f_cred;
} __attribute__((preserve_access_index));

/* --- maps ------------------------------------------------------------------------ */

struct policy_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, KG_POLICY_ENTRIES);
	__type(key, struct kgate_key);
	__type(value, struct kgate_rule);
} policy_template SEC(".maps");	/* never filled: its definition is the inner maps' */

/* slot 0: the policy in force (swapped whole by a reload) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct policy_map);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct kgate_count_key);
	__type(value, __s64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);		/* the struct file's address */
	__type(value, struct kgate_file);
} files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* --- the policy ------------------------------------------------------------------ */

struct verdict {
	__u32 uid, gid;
	__u32 allowed;			/* decided by the device lists */
	__u64 lim[2];			/* max_queues, max_queues_per_device */
	__u32 src_kind[3], src_id[3];	/* [0], [1]: the limits'; [2]: the device list's */
	__u32 ngroups;
	__u32 dev;
	__u64 in_use;			/* for the event */
};

static struct kgate_rule *rule(void *pol, __u32 kind, __u32 id, __u32 dev)
{
	struct kgate_key k = { .kind = kind, .id = id, .dev = dev };

	return bpf_map_lookup_elem(pol, &k);
}

/* the supplementary groups, one bpf_loop step each (verified once, not per group) */
struct groups_ctx {
	void *pol;			/* the inner map resolve() started with */
	__u64 gids;			/* address of group_info->gid[0] */
	__u32 n, dev;
	__u32 have, listed;
	struct verdict g;
};

/* one of the user's groups: the most generous limit, the union of lists */
static void group_rule(void *pol, __u32 gid, struct groups_ctx *gc)
{
	struct kgate_rule *r = rule(pol, KG_GROUP, gid, 0);
	struct verdict *v = &gc->g;
	__u32 *have = &gc->have, *listed = &gc->listed, dev = gc->dev;
	__u32 bits[2] = { KG_SET_MAX_QUEUES, KG_SET_MAX_PER_DEVICE };

	if (!r)
		return;
	for (int k = 0; k < 2; k++) {
		__u64 lim = k ? r->max_per_device : r->max_queues;

		if (!(r->set & bits[k]) || ((*have & bits[k]) && lim <= v->lim[k]))
			continue;
		v->lim[k] = lim;
		v->src_kind[k] = KG_GROUP;
		v->src_id[k] = gid;
		*have |= bits[k];
	}
	if (r->set & KG_SET_DEVICES) {
		*listed |= 1;
		if (!v->allowed && rule(pol, KG_ALLOW_GROUP, gid, dev)) {
			v->allowed = 1;
			v->src_kind[2] = KG_GROUP;
			v->src_id[2] = gid;
		} else if (!v->allowed && !v->src_kind[2]) {
			v->src_kind[2] = KG_GROUP;
			v->src_id[2] = gid;
		}
	}
}

static long one_group(__u32 i, void *ctx)
{
	struct groups_ctx *gc = ctx;
	__u32 gid;

	if (i >= gc->n)
		return 1;
	if (bpf_probe_read_kernel(&gid, sizeof(gid), (const void *)(gc->gids + 4 * (__u64)i)))
		return 1;
	group_rule(gc->pol, gid, gc);
	return 0;
}

/* the rules of policy.h, for the opener `cred` of device `dev` */
static void resolve(void *pol, const struct cred *cred, __u32 dev, struct verdict *v)
{
	__u32 bits[2] = { KG_SET_MAX_QUEUES, KG_SET_MAX_PER_DEVICE };
	struct kgate_rule *ur, *dr;
	__u32 have = 0, listed = 0;
	int n;

	v->uid = cred->fsuid.val;
	v->gid = cred->fsgid.val;
	v->lim[0] = v->lim[1] = KG_UNLIMITED;
	v->allowed = 0;
	ur = rule(pol, KG_USER, v->uid, 0);
	if (ur) {
		for (int k = 0; k < 2; k++) {
			if (!(ur->set & bits[k]))
				continue;
			v->lim[k] = k ? ur->max_per_device : ur->max_queues;
			v->src_kind[k] = KG_USER;
			v->src_id[k] = v->uid;
			have |= bits[k];
		}
		if (ur->set & KG_SET_DEVICES) {
			listed = 1;
			v->src_kind[2] = KG_USER;
			v->src_id[2] = v->uid;
			v->allowed = rule(pol, KG_ALLOW_USER, v->uid, dev) != 0;
		}
	}
	if (v->uid == 0) {	/* root: its own entry only */
		if (!listed)
			v->allowed = 1;
		return;
	}
	if (have != (KG_SET_MAX_QUEUES | KG_SET_MAX_PER_DEVICE) || !listed) {
		/* the groups decide what the user's entry left open */
		struct groups_ctx gc = { .pol = pol, .dev = dev };
		struct group_info *gi = 0;

		/* read as plain numbers: the callback computes addresses from them */
		bpf_probe_read_kernel(&gi, sizeof(gi), &cred->group_info);
		if (gi) {
			bpf_probe_read_kernel(&n, sizeof(n), &gi->ngroups);
			gc.gids = (__u64)&gi->gid[0];
		} else {
			n = 0;
		}
		gc.n = n < 0 ? 0 : n;
		v->ngroups = gc.n;
		group_rule(pol, v->gid, &gc);
		bpf_loop(KG_MAX_GROUPS, one_group, &gc, 0);
		for (int k = 0; k < 2; k++) {
			if ((have & bits[k]) || !(gc.have & bits[k]))
				continue;
			v->lim[k] = gc.g.lim[k];
			v->src_kind[k] = gc.g.src_kind[k];
			v->src_id[k] = gc.g.src_id[k];
			have |= bits[k];
		}
		if (!listed && gc.listed) {
			listed = 1;
			v->allowed = gc.g.allowed;
			v->src_kind[2] = gc.g.src_kind[2];
			v->src_id[2] = gc.g.src_id[2];
		}
	}
	dr = rule(pol, KG_DEFAULT, 0, 0);
	if (dr) {
		for (int k = 0; k < 2; k++) {
			if ((have & bits[k]) || !(dr->set & bits[k]))
				continue;
			v->lim[k] = k ? dr->max_per_device : dr->max_queues;
			v->src_kind[k] = KG_DEFAULT;
			v->src_id[k] = 0;
		}
		if (!listed && (dr->set & KG_SET_DEVICES)) {
			listed = 1;
			v->src_kind[2] = KG_DEFAULT;
			v->src_id[2] = 0;
			v->allowed = rule(pol, KG_ALLOW_DEFAULT, 0, dev) != 0;
		}
	}
	if (!listed)
		v->allowed = 1;
}

/* --- counters -------------------------------------------------------------------- */

static __s64 *counter(__u32 uid, __u32 dev)
{
	struct kgate_count_key k = { .uid = uid, .dev = dev };
	__s64 zero = 0, *c = bpf_map_lookup_elem(&counts, &k);

	if (c)
		return c;
	bpf_map_update_elem(&counts, &k, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&counts, &k);
}

/* an event for uacced; `which`: the deciding source (0, 1: a limit; 2: the list) */
static void report(__u32 type, int err, const struct verdict *v, __u32 reason, int which)
{
	struct kgate_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return;		/* uacced is behind: the record is lost, not the decision */
	e->type = type;
	e->err = err;
	e->uid = v->uid;
	e->gid = v->gid;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->dev = v->dev;
	e->reason = reason;
	e->src_kind = which >= 0 && which < 3 ? v->src_kind[which] : 0;
	e->src_id = which >= 0 && which < 3 ? v->src_id[which] : 0;
	e->ngroups = v->ngroups;
	e->limit = which >= 0 && which < 2 ? v->lim[which] : 0;
	e->in_use = v->in_use;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

SEC("lsm/file_open")
int BPF_PROG(kgate_open, struct file *file, int ret)
{
	struct inode *inode = file->f_inode;
	struct kgate_key gk = { .kind = KG_GATED };
	struct kgate_file f;
	struct verdict v = {};
	__u32 zero = 0, dev;
	__s64 *all, *on_dev, n_all, n_dev;
	__u64 key = (__u64)file;
	void *pol;

	if (ret)
		return ret;
	if (!inode || (inode->i_mode & S_IFMT) != S_IFCHR)
		return 0;
	dev = inode->i_rdev;
	pol = bpf_map_lookup_elem(&policy, &zero);
	if (!pol)
		return 0;
	gk.dev = dev;
	if (!bpf_map_lookup_elem(pol, &gk))
		return 0;
	v.dev = dev;
	resolve(pol, file->f_cred, dev, &v);
	if (!v.allowed) {
		report(KGE_DENY, -EACCES, &v, KGR_DEVICE, 2);
		return -EACCES;
	}
	all = counter(v.uid, KG_ALL_DEVICES);
	on_dev = counter(v.uid, dev);
	if (!all || !on_dev) {
		report(KGE_DENY, -EDQUOT, &v, KGR_TABLE_FULL, -1);
		return -EDQUOT;
	}
	/* take first, then check: concurrent opens can never pass a limit together */
	n_all = __sync_fetch_and_add(all, 1);
	if ((__u64)n_all >= v.lim[0]) {
		__sync_fetch_and_add(all, -1);
		v.in_use = n_all;
		report(KGE_DENY, -EDQUOT, &v, KGR_MAX_QUEUES, 0);
		return -EDQUOT;
	}
	n_dev = __sync_fetch_and_add(on_dev, 1);
	if ((__u64)n_dev >= v.lim[1]) {
		__sync_fetch_and_add(on_dev, -1);
		__sync_fetch_and_add(all, -1);
		v.in_use = n_dev;
		report(KGE_DENY, -EDQUOT, &v, KGR_MAX_PER_DEVICE, 1);
		return -EDQUOT;
	}
	f.uid = v.uid;
	f.dev = dev;
	if (bpf_map_update_elem(&files, &key, &f, BPF_NOEXIST)) {
		__sync_fetch_and_add(on_dev, -1);
		__sync_fetch_and_add(all, -1);
		report(KGE_DENY, -EDQUOT, &v, KGR_TABLE_FULL, -1);
		return -EDQUOT;
	}
	v.in_use = n_all;
	report(KGE_GRANT, 0, &v, KGR_NONE, 0);
	return 0;
}

SEC("lsm/file_free_security")
int BPF_PROG(kgate_free, struct file *file)
{
	__u64 key = (__u64)file;
	struct kgate_file *f = bpf_map_lookup_elem(&files, &key);
	struct verdict v = {};
	__s64 *c, left = 0;
	__u32 uid, dev;

	if (!f)
		return 0;
	uid = f->uid;
	dev = f->dev;
	/* only the one whose delete succeeds gives the count back */
	if (bpf_map_delete_elem(&files, &key))
		return 0;
	c = counter(uid, KG_ALL_DEVICES);
	if (c)
		__sync_fetch_and_add(c, -1);
	c = counter(uid, dev);
	if (c)
		left = __sync_fetch_and_add(c, -1) - 1;
	v.uid = uid;
	v.gid = (__u32)-1;
	v.dev = dev;
	v.in_use = left;
	report(KGE_RELEASE, 0, &v, KGR_NONE, -1);
	return 0;
}
