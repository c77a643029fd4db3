/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kabi-dl.c - the entry of kabi-<profile>-dl.so, the module the "dlopen"
 * mode loads at run time: everything a queue needs (sysfs, open, ioctl,
 * mmap, poll) is called from inside the loaded object, so what a preload
 * shim interposes must reach code that was not there at program start.
 */
#include <stdio.h>
#include <string.h>

#include "kabi.h"

__attribute__((visibility("default"))) int kabi_dl_work(const char *dev, unsigned n, unsigned seed)
{
	char tag[KABI_NAME_MAX + 16];
	struct kdev d = { 0 };
	struct kq q;
	int err;

	if (strlen(dev) >= KABI_NAME_MAX)
		return -1;
	strcpy(d.name, dev);
	snprintf(tag, sizeof(tag), "%s module", dev);
	if (!kabi_profile.probe(&d) || d.kind == KABI_OTHER) {
		kfail("%s: not a %s device", tag, kabi_profile.name);
		return -1;
	}
	err = kabi_profile.open(&q, &d);
	if (err) {
		kfail("%s: open, start and map a queue: %s", tag, kename(-err));
		return -1;
	}
	err = kwork(&q, n, seed, tag);
	kabi_profile.close(&q);
	if (!err)
		kok("%s: %u requests from inside the module, results byte-exact", tag, n);
	return err ? -1 : 0;
}
