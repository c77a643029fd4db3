/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kgate_abi.h - what the kernel gate's BPF program (kgate.bpf.c) and
 * uacced (kgate.c) share: map keys, values and ring-buffer events.  Plain
 * fixed-size integers only: the same layout on both sides.
 *
 * The policy is one hash map (an "inner" map) of kgate_key -> kgate_rule,
 * reached through the one slot of an array of maps: a reload fills a new
 * inner map and swaps the slot, so an open sees the old policy or the new,
 * never a mix.  Device numbers are the kernel's (major << 20 | minor).
 */
#ifndef UACCED_KGATE_ABI_H
#define UACCED_KGATE_ABI_H

enum kgate_kind {
	KG_GATED = 1,		/* id 0, dev: a gated node */
	KG_USER,		/* id uid: the user's rule */
	KG_GROUP,		/* id gid */
	KG_DEFAULT,		/* id 0 */
	KG_ALLOW_USER,		/* id uid, dev: the device is in the user's list */
	KG_ALLOW_GROUP,		/* id gid, dev */
	KG_ALLOW_DEFAULT,	/* id 0, dev */
};

#define KG_SET_MAX_QUEUES	1u
#define KG_SET_MAX_PER_DEVICE	2u
#define KG_SET_DEVICES		4u

#define KG_UNLIMITED		(~0ULL)
#define KG_ALL_DEVICES		0xffffffffu	/* counter key: all gated devices */
#define KG_MAX_GROUPS		64		/* supplementary groups looked at */
/* every policy map's size (the kernel wants an inner map like the template) */
#define KG_POLICY_ENTRIES	262144

struct kgate_key {
	__u32 kind;
	__u32 id;
	__u32 dev;
};

struct kgate_rule {
	__u32 set;		/* KG_SET_* given by this entry */
	__u32 pad;
	__u64 max_queues;
	__u64 max_per_device;
};

/* the open-queue counters: per uid and device, and per uid (dev KG_ALL_DEVICES) */
struct kgate_count_key {
	__u32 uid;
	__u32 dev;
};

/* an open file the gate counted: given back when the file is freed */
struct kgate_file {
	__u32 uid;
	__u32 dev;
};

enum kgate_event_type {
	KGE_GRANT = 1,
	KGE_DENY,
	KGE_RELEASE,
};

enum kgate_reason {
	KGR_NONE = 0,
	KGR_DEVICE,		/* not in the allow-list: EACCES */
	KGR_MAX_QUEUES,		/* EDQUOT */
	KGR_MAX_PER_DEVICE,	/* EDQUOT */
	KGR_TABLE_FULL,		/* the gate's own tables are full: EDQUOT */
};

/* the entry that decided: kind KG_USER / KG_GROUP / KG_DEFAULT (id), 0: none */
struct kgate_event {
	__u32 type;
	__s32 err;		/* 0 or -errno returned to open() */
	__u32 uid;		/* fsuid of the opener (the counted uid) */
	__u32 gid;
	__u32 pid;		/* thread group id */
	__u32 dev;
	__u32 reason;
	__u32 src_kind;
	__u32 src_id;
	__u32 ngroups;		/* the opener's supplementary groups */
	__u64 limit;
	__u64 in_use;		/* before this open (grant, deny), after (release) */
	char comm[16];
};

#endif
