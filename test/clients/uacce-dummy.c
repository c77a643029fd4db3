/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uacce-dummy - copy buffers through a dummy memcpy accelerator with the
 * wd API, verify every byte, and report throughput and round-trip latency.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"	/* autoconf: PACKAGE_VERSION */
#include <uacce/dummy_usr_if.h>
#include <uacce/libuacce.h>
#include <uacce/wd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: uacce-dummy [-d DEVICE] [-n COUNT] [-s SIZE] [--json] [-q] [--version]\n"
		   "Copy COUNT buffers of SIZE bytes through a dummy memcpy device\n"
		   "(default: the first with algorithm memcpy), verifying every byte.\n"
		   "SVA devices copy plain malloc() buffers; non-SVA devices copy inside\n"
		   "the queue's reserved memory (SS; on a mainline-profile device the\n"
		   "data part of its DUS).\n");
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct wd_queue q = { .capa.alg = "memcpy" };
	unsigned long count = 10000, size = 4096;
	bool json = false, quiet = false, sva, mainline;
	char attr[256];
	unsigned char *src, *dst;
	uint64_t *lat, t0, total;
	unsigned long bad = 0;
	int c, err;

	while ((c = getopt_long(argc, argv, "d:n:s:jqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			snprintf(q.dev_path, sizeof(q.dev_path), "%s", optarg);
			break;
		case 'n':
			count = strtoul(optarg, NULL, 0);
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("uacce-dummy (uacced) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!count || !size || size > (64UL << 20)) {
		fprintf(stderr, "uacce-dummy: bad count or size\n");
		return 2;
	}
	err = wd_request_queue(&q);
	if (err) {
		char why[1024];

		fprintf(stderr, "uacce-dummy: no queue: %s\n",
			uacce_explain(err, q.dev_path[0] ? q.dev_path : "memcpy device", why,
				      sizeof(why)));
		return 1;
	}
	sva = q.dev_flags & UACCE_DEV_SVA;
	/* a mainline-profile device has no qfrs_offset (and no SS) */
	mainline = uacce_dev_attr(q.dev_path, "qfrs_offset", attr, sizeof(attr)) == -ENOENT;
	if (sva) {
		src = malloc(size);
		dst = malloc(size);
	} else {
		unsigned char *ss = wd_reserve_memory(&q, 2 * size);

		if (!ss) {
			fprintf(stderr, "uacce-dummy: %s: reserving %lu bytes: %s\n", q.dev_path,
				2 * size, strerror(errno));
			wd_release_queue(&q);
			return 1;
		}
		src = ss;
		dst = ss + size;
	}
	lat = calloc(count, sizeof(*lat));
	if (!src || !dst || !lat) {
		fprintf(stderr, "uacce-dummy: out of memory\n");
		bad = 1;
		goto out;
	}
	t0 = now_ns();
	for (unsigned long i = 0; i < count; i++) {
		struct wd_dummy_cpy_msg m = { .src_addr = (char *)src, .tgt_addr = (char *)dst,
					      .size = size, .ptr = (void *)(uintptr_t)(i + 1) };
		void *resp = NULL;
		uint64_t t;

		fill(src, size, (uint32_t)i);
		memset(dst, 0, size);
		t = now_ns();
		err = wd_send(&q, &m);
		if (!err)
			err = wd_recv_sync(&q, &resp, 5000);
		lat[i] = now_ns() - t;
		if (err < 0) {
			fprintf(stderr, "uacce-dummy: %s: request %lu: %s\n", q.dev_path, i,
				strerror(-err));
			bad = 1;
			goto out;
		}
		if (resp != m.ptr || memcmp(src, dst, size) != 0)
			bad++;
	}
	total = now_ns() - t0;
	qsort(lat, count, sizeof(*lat), cmp_u64);
	if (json) {
		printf("{\"device\":\"%s\",\"sva\":%s,\"count\":%lu,\"size\":%lu,\"bad\":%lu,"
		       "\"seconds\":%.6f,\"requests_per_second\":%.0f,\"latency_p50_us\":%.2f,"
		       "\"latency_p99_us\":%.2f}\n",
		       q.dev_path, sva ? "true" : "false", count, size, bad, total / 1e9,
		       count / (total / 1e9), lat[count / 2] / 1e3, lat[count * 99 / 100] / 1e3);
	} else if (!quiet) {
		printf("%s (%s, %s): %lu x %lu bytes, %lu mismatches, %.0f req/s, "
		       "round trip p50 %.1f us, p99 %.1f us\n",
		       q.dev_path, q.hw_type, sva ? "SVA, malloc buffers" :
		       mainline ? "non-SVA, buffers in DUS" : "non-SVA, buffers in SS",
		       count, size, bad, count / (total / 1e9), lat[count / 2] / 1e3,
		       lat[count * 99 / 100] / 1e3);
	}
out:
	free(lat);
	if (sva) {
		free(src);
		free(dst);
	}
	wd_release_queue(&q);
	return bad ? 1 : 0;
}
