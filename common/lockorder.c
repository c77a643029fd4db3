/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lockorder.c - the lock-order checker of lockorder.h (debug builds) */
#include <stdio.h>
#include <stdlib.h>

#include "lockorder.h"

#ifdef UACCE_LOCK_CHECKS
#define MAX_HELD 16

static __thread struct {
	int rank;
	const char *name;
} held[MAX_HELD];
static __thread int nheld;

void lockorder_acquire(int rank, const char *name)
{
	for (int i = 0; i < nheld; i++)
		if (held[i].rank >= rank) {
			fprintf(stderr, "uacced: lock order violated: %s (rank %d) taken while "
				"holding %s (rank %d); see daemon/LOCKING.md\n", name, rank,
				held[i].name, held[i].rank);
			abort();
		}
	if (nheld == MAX_HELD) {
		fprintf(stderr, "uacced: lock order: more than %d locks held\n", MAX_HELD);
		abort();
	}
	held[nheld].rank = rank;
	held[nheld].name = name;
	nheld++;
}

void lockorder_release(int rank)
{
	for (int i = nheld - 1; i >= 0; i--)
		if (held[i].rank == rank) {
			for (int j = i; j < nheld - 1; j++)
				held[j] = held[j + 1];
			nheld--;
			return;
		}
	fprintf(stderr, "uacced: lock order: releasing rank %d, not held\n", rank);
	abort();
}

int lockorder_held(void)
{
	return nheld;
}
#endif
