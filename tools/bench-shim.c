/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-shim - the cost of the path calls a program makes all the time,
 * to compare a run with libuacce-preload.so preloaded and one without
 * (test/shim/run-shim.sh runs both).  Prints one JSON object:
 *   {"preloaded":B,"calls":N,"rounds":R,"stat_ns":N,"open_close_ns":N,
 *    "uacce_stat_ns":N,"mmap_anon_ns":N,"mmap_file_ns":N}
 * each figure the best of R rounds of N loop iterations, in nanoseconds per
 * iteration (open_close and the mmaps are two calls each).
 *
 *   bench-shim [-n CALLS] [-r ROUNDS] [-o OP] [FILE]   (FILE default /etc/passwd)
 *
 * -o runs only the op named (stat, open_close, uacce_stat, mmap_anon,
 * mmap_file): under an instruction counter (valgrind --tool=callgrind) the
 * difference between two runs with and without the library is the
 * wrappers' own cost, free of the machine's noise.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum op { OP_STAT, OP_OPEN_CLOSE, OP_UACCE_STAT, OP_MMAP_ANON, OP_MMAP_FILE, OP_NR };
static const char *const names[OP_NR] = { "stat_ns", "open_close_ns", "uacce_stat_ns",
					  "mmap_anon_ns", "mmap_file_ns" };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int run(enum op op, const char *file, long n)
{
	int fd = op == OP_MMAP_FILE ? open(file, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	int bad = op == OP_MMAP_FILE && fd < 0;

	for (long i = 0; i < n; i++) {
		switch (op) {
		case OP_STAT:
			bad |= stat(file, &st);
			break;
		case OP_OPEN_CLOSE: {
			int f = open(file, O_RDONLY | O_CLOEXEC);

			bad |= f < 0 || close(f) != 0;
			break;
		}
		case OP_UACCE_STAT:	/* through the shim: the redirected path */
			stat("/sys/class/uacce", &st);
			break;
		case OP_MMAP_ANON: {
			void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			bad |= p == MAP_FAILED || munmap(p, 4096) != 0;
			break;
		}
		case OP_MMAP_FILE: {	/* the shim looks at the fd: is it a queue? */
			void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);

			bad |= p == MAP_FAILED || munmap(p, 4096) != 0;
			break;
		}
		default:
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return bad;
}

int main(int argc, char **argv)
{
	const char *file = "/etc/passwd", *pre = getenv("LD_PRELOAD");
	long n = 200000, rounds = 5;
	double best[OP_NR];
	const char *only = NULL;
	int c;

	while ((c = getopt(argc, argv, "n:r:o:")) != -1) {
		if (c == 'o')
			only = optarg;
		else if (c == 'n')
			n = atol(optarg);
		else if (c == 'r')
			rounds = atol(optarg);
		else
			return 2;
	}
	if (optind < argc)
		file = argv[optind];
	if (n <= 0 || rounds <= 0)
		return 2;
	for (int op = 0; op < OP_NR; op++) {
		best[op] = -1;
		if (only && (strlen(only) != strlen(names[op]) - 3 ||
			     strncmp(only, names[op], strlen(only)) != 0))
			continue;
		best[op] = 1e300;
		for (long r = 0; r < rounds; r++) {
			double t0 = now_ns(), t;

			if (run((enum op)op, file, n)) {
				fprintf(stderr, "bench-shim: %s failed on %s\n", names[op], file);
				return 1;
			}
			t = (now_ns() - t0) / (double)n;
			if (t < best[op])
				best[op] = t;
		}
	}
	printf("{\"preloaded\":%s,\"calls\":%ld,\"rounds\":%ld",
	       pre && strstr(pre, "libuacce-preload") ? "true" : "false", n, rounds);
	for (int op = 0; op < OP_NR; op++)
		if (best[op] >= 0)
			printf(",\"%s\":%.1f", names[op], best[op]);
	printf("}\n");
	return 0;
}
