/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kdev.c - "kernel" entries of the configuration to character devices (kgate.h) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kgate.h"

struct kvec {
	struct kdev *v;
	int n, cap;
};

static struct kdev *push(struct kvec *k, int entry, const struct uacce_kernel_cfg *e)
{
	struct kdev *d;

	if (k->n == k->cap) {
		int cap = k->cap ? 2 * k->cap : 8;
		struct kdev *v = realloc(k->v, (size_t)cap * sizeof(*v));

		if (!v)
			return NULL;
		k->v = v;
		k->cap = cap;
	}
	d = &k->v[k->n++];
	memset(d, 0, sizeof(*d));
	d->entry = entry;
	snprintf(d->entry_text, sizeof(d->entry_text), "%s %s", e->device ? "device" : "node",
		 e->device ? e->device : e->node);
	return d;
}

/* "MAJ:MIN\n" of <class_dir>/<name>/dev */
static int read_devt(const char *class_dir, const char *name, unsigned *maj, unsigned *min)
{
	char path[512];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/%s/dev", class_dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	r = fscanf(f, "%u:%u", maj, min) == 2 ? 0 : -EINVAL;
	fclose(f);
	return r;
}

static int by_class(struct kvec *k, int entry, const struct uacce_kernel_cfg *e,
		    const char *class_dir)
{
	struct dirent **names = NULL;
	int nn = scandir(class_dir, &names, NULL, alphasort), found = 0, err = 0;
	struct kdev *d;

	for (int i = 0; i < nn; i++) {
		const char *name = names[i]->d_name;
		unsigned maj, min;

		if (!err && name[0] != '.' && fnmatch(e->device, name, 0) == 0 &&
		    strlen(name) < sizeof(d->name) && read_devt(class_dir, name, &maj, &min) == 0) {
			d = push(k, entry, e);
			if (!d) {
				err = -ENOMEM;
			} else {
				d->found = true;
				snprintf(d->name, sizeof(d->name), "%s", name);
				snprintf(d->node, sizeof(d->node), "/dev/%s", name);
				d->maj = maj;
				d->min = min;
				found++;
			}
		}
		free(names[i]);
	}
	free(names);
	if (err || found)
		return err;
	d = push(k, entry, e);
	if (!d)
		return -ENOMEM;
	if (nn < 0)
		snprintf(d->reason, sizeof(d->reason), "%s: %s (no uacce devices in this kernel)",
			 class_dir, strerror(errno));
	else
		snprintf(d->reason, sizeof(d->reason), "no device in %s matches \"%s\"", class_dir,
			 e->device);
	return 0;
}

static int by_node(struct kvec *k, int entry, const struct uacce_kernel_cfg *e)
{
	struct kdev *d = push(k, entry, e);
	const char *base = strrchr(e->node, '/') + 1;
	struct stat st;

	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", base);
	snprintf(d->node, sizeof(d->node), "%s", e->node);
	if (stat(e->node, &st) < 0) {
		snprintf(d->reason, sizeof(d->reason), "%s: %s", e->node, strerror(errno));
		return 0;
	}
	if (!S_ISCHR(st.st_mode)) {
		snprintf(d->reason, sizeof(d->reason), "%s: not a character device", e->node);
		return 0;
	}
	d->maj = major(st.st_rdev);
	d->min = minor(st.st_rdev);
	d->found = true;
	return 0;
}

int kdev_resolve(const struct uacce_config *c, const char *class_dir, struct kdev **out, int *n)
{
	struct kvec k = { 0 };
	int err = 0;

	for (int i = 0; i < c->nkernel && !err; i++)
		err = c->kernel[i].device ? by_class(&k, i, &c->kernel[i], class_dir)
					  : by_node(&k, i, &c->kernel[i]);
	/* one device named by two entries is gated once: the first keeps it */
	for (int i = 0; i < k.n && !err; i++)
		for (int j = 0; j < i; j++)
			if (k.v[i].found && k.v[j].found && k.v[i].maj == k.v[j].maj &&
			    k.v[i].min == k.v[j].min) {
				k.v[i].found = false;
				snprintf(k.v[i].reason, sizeof(k.v[i].reason),
					 "%u:%u is gated by the entry %s already", k.v[i].maj,
					 k.v[i].min, k.v[j].entry_text);
				break;
			}
	if (err) {
		free(k.v);
		return err;
	}
	*out = k.v;
	*n = k.n;
	return 0;
}
