/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kgate.h - the gate for kernel uacce devices ("kernel" entries of
 * uacced.json): uacced publishes no node for them; it resolves each entry
 * to character devices (kdev below), loads a BPF LSM program
 * (bpf/kgate.bpf.c) on file_open and file_free_security, and puts the
 * policy (policy.h: devices lists, max_queues, max_queues_per_device) into
 * its maps.  The program counts each open file of a gated device to its
 * opener's uid until the file is freed, refuses with EACCES / EDQUOT, and
 * reports grants, refusals and releases through a ring buffer that
 * kgate_consume() turns into log records.
 *
 * Where the gate cannot be enforced (uacced built without it, no BTF, BPF
 * LSM not active, load or attach refused) kgate_new still succeeds: the
 * gate is "unenforceable" with the reason (kgate_reason), logged as an
 * error and shown by "uaccectl list"; nothing is silently ignored.
 *
 * The program lives as long as uacced: it is attached by links this
 * process holds (never pinned), so a stop or crash removes the gate and
 * the nodes are back to their mode and ACLs; the next start counts from
 * zero (files opened meanwhile are never counted).
 *
 * Threads: kgate_apply (reload lock), kgate_consume (main loop) and
 * kgate_list (control thread) may run at once; an internal lock guards
 * the device table and the policy reference.
 */
#ifndef UACCED_KGATE_H
#define UACCED_KGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "uacced_config.h"

struct uacce_policy;
struct kgate;

/* a kernel device a "kernel" entry resolved to */
struct kdev {
	int entry;			/* index in the configuration's "kernel" */
	char entry_text[80];		/* "device hisi_zip-*" / "node /dev/x" */
	bool found;			/* false: nothing matches (reason) */
	char name[64];			/* the class device or the node's file name */
	char node[256];
	unsigned maj, min;
	char reason[200];		/* when !found */
};

/*
 * The devices of c's "kernel" entries, from `class_dir` (/sys/class/uacce)
 * and the nodes: *out malloc'd (one item per device, and one with
 * found=false per entry that matches none), *n items.  -ENOMEM.
 */
int kdev_resolve(const struct uacce_config *c, const char *class_dir, struct kdev **out,
		 int *n);

/* Load and attach the program; always a gate (possibly unenforceable) or -ENOMEM. */
int kgate_new(struct kgate **out);
void kgate_free(struct kgate *g);	/* detaches: the gate is gone */

/* NULL when enforced, else why not */
const char *kgate_reason(const struct kgate *g);

/*
 * Gate exactly devs[0..n) (items with found=false are ignored) under
 * policy p, replacing what was gated: one atomic swap for the program.
 * Keeps a reference to p (labels of the records).  -errno with msg.
 */
int kgate_apply(struct kgate *g, const struct uacce_policy *p, const struct kdev *devs, int n,
		char *msg, size_t len);

/* the ring buffer's fd for the main loop (readable: kgate_consume), -1 none */
int kgate_events_fd(const struct kgate *g);
void kgate_consume(struct kgate *g);

/* one gated device for "uaccectl list" */
struct kgate_stat {
	struct kdev d;
	bool enforced;
	char reason[300];		/* why not enforced / not found */
	int64_t open_queues;		/* counted open files of the device, all users */
	int nusers;			/* users with counted files (at most 16 listed) */
	uint32_t uid[16];
	int64_t uid_open[16];
};

/* the devices of the last kgate_apply: *out malloc'd, *n; -ENOMEM */
int kgate_list(struct kgate *g, struct kgate_stat **out, int *n);

/* kernel dev_t encoding, as file->f_inode->i_rdev holds it */
static inline uint32_t kgate_kdev(unsigned maj, unsigned min)
{
	return (uint32_t)maj << 20 | (min & 0xfffff);
}

#endif
