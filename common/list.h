/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list.h - minimal intrusive doubly linked list */
#ifndef UACCE_LIST_H
#define UACCE_LIST_H

#include <stddef.h>

struct list {
	struct list *prev, *next;
};

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list *l) { l->prev = l->next = l; }
static inline int list_empty(const struct list *l) { return l->next == l; }

static inline void list_add_tail(struct list *head, struct list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void list_del(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

#define list_for_each(pos, head) \
	for (struct list *pos = (head)->next, *pos##_n = pos->next; pos != (head); \
	     pos = pos##_n, pos##_n = pos->next)

#endif
