/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>

#include "iova.h"

struct iova_range {
	struct list link;
	uint64_t start, size;
};

void iova_init(struct iova_space *s, uint64_t base, uint64_t end, uint64_t align)
{
	s->align = align ? align : 1;
	s->base = (base + s->align - 1) & ~(s->align - 1);
	s->end = end;
	s->in_use = 0;
	list_init(&s->used);
}

void iova_fini(struct iova_space *s)
{
	list_for_each(pos, &s->used) {
		list_del(pos);
		free(container_of(pos, struct iova_range, link));
	}
	s->in_use = 0;
}

int iova_alloc(struct iova_space *s, uint64_t size, uint64_t *iova)
{
	uint64_t at = s->base;
	struct iova_range *r;
	struct list *before = &s->used;	/* insert before this one */

	if (!size || size > s->end - s->base)
		return size ? -ENOSPC : -EINVAL;
	size = (size + s->align - 1) & ~(s->align - 1);
	if (!size)
		return -ENOSPC;
	list_for_each(pos, &s->used) {
		struct iova_range *u = container_of(pos, struct iova_range, link);

		if (u->start - at >= size) {
			before = pos;
			break;
		}
		at = u->start + u->size;
	}
	if (before == &s->used && (at > s->end || s->end - at < size))
		return -ENOSPC;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->start = at;
	r->size = size;
	list_add_tail(before, &r->link);	/* i.e. just before `before` */
	s->in_use += size;
	*iova = at;
	return 0;
}

/* [start, start + size) into the sorted list, counted in use; -EEXIST on overlap */
static int insert_range(struct iova_space *s, uint64_t start, uint64_t size)
{
	struct list *before = &s->used;
	struct iova_range *r;

	list_for_each(pos, &s->used) {
		struct iova_range *u = container_of(pos, struct iova_range, link);

		if (u->start < start + size && start < u->start + u->size)
			return -EEXIST;
		if (u->start > start) {
			before = pos;
			break;
		}
	}
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->start = start;
	r->size = size;
	list_add_tail(before, &r->link);
	s->in_use += r->size;
	return 0;
}

int iova_reserve(struct iova_space *s, uint64_t start, uint64_t end)
{
	if (start < s->base)
		start = s->base;
	if (end >= s->end)
		end = s->end - 1;
	if (start > end || s->end == s->base)
		return 0;	/* nothing of the window */
	start &= ~(s->align - 1);	/* whole units: allocations stay aligned */
	end |= s->align - 1;
	if (end >= s->end)
		end = s->end - 1;
	return insert_range(s, start, end - start + 1);
}

int iova_free(struct iova_space *s, uint64_t iova)
{
	list_for_each(pos, &s->used) {
		struct iova_range *r = container_of(pos, struct iova_range, link);

		if (r->start == iova) {
			list_del(pos);
			s->in_use -= r->size;
			free(r);
			return 0;
		}
	}
	return -ENOENT;
}

int iova_list(const struct iova_space *s, struct iova_span *out, int max)
{
	int n = 0;

	list_for_each(pos, &s->used) {
		struct iova_range *r = container_of(pos, struct iova_range, link);

		if (n < max)
			out[n] = (struct iova_span){ .start = r->start, .size = r->size };
		n++;
	}
	return n;
}

int iova_restore(struct iova_space *s, uint64_t start, uint64_t size)
{
	if (!size || start < s->base || start > s->end || size > s->end - start ||
	    (start & (s->align - 1)))
		return -EINVAL;
	return insert_range(s, start, size);
}
