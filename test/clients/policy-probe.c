/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy-probe - a scriptable uacce client for the policy tests
 * (test/integ/run-policy.sh): it runs its arguments as steps, in order,
 * against queues opened through libuacce, and checks each result.
 *
 *   policy-probe STEP...
 *
 *   open DEV ERR         open a queue of DEV; it becomes queue #n (0, 1, ...)
 *   start ERR            UACCE_CMD_START on the last queue opened
 *   put ERR              UACCE_CMD_PUT_Q on the last queue
 *   map REGION SIZE ERR  map REGION (mmio, dus, ss) of the last queue, SIZE
 *                        bytes (suffix K or M; "auto": the region's size)
 *   share I ERR          UACCE_CMD_SHARE_SVAS: the last queue gets queue I's SS
 *   shmem SIZE ERR       SVA: SIZE bytes shared with the last queue's device
 *                        (uacce_share_alloc, UB_SHARE)
 *   ioctl I CMD ERR      CMD (start, put) on queue I
 *   close I              close queue I
 *   fork-child FILE      fork a child that keeps every queue fd (no mapping),
 *                        writes its pid to FILE and sleeps until killed
 *   ready                print "ready <pid>"
 *   wait FILE            wait (up to 120 s) until FILE exists
 *   sleep                sleep until killed
 *
 * ERR is 0 (success), an errno name (EDQUOT), or alternatives (ENODEV|ENOTCONN).
 * One line per step, "ok: ..." or "FAIL: ... expected X got Y".  Exit
 * status: 0 every step passed, 1 one failed, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <uacce/libuacce.h>
#include <uacce/uacce.h>

#define MAX_Q 64

static struct uacce_q *qs[MAX_Q];
static int nq, failures;

static const struct {
	int e;
	const char *n;
} names[] = {
	{ 0, "0" },	      { EPERM, "EPERM" },     { ENOENT, "ENOENT" }, { EIO, "EIO" },
	{ EBADF, "EBADF" },   { EAGAIN, "EAGAIN" },   { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
	{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },     { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
	{ ENOTTY, "ENOTTY" }, { EDQUOT, "EDQUOT" },   { ENOTCONN, "ENOTCONN" },
	{ ENXIO, "ENXIO" },   { ECONNREFUSED, "ECONNREFUSED" },
};

static const char *ename(int e)
{
	static char buf[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* does errno value `got` match "EDQUOT" or "ENODEV|ENOTCONN"? */
static bool matches(const char *want, int got)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", want);
	for (char *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save))
		if (strcmp(t, ename(got)) == 0)
			return true;
	return false;
}

static void check(const char *what, const char *want, int r)
{
	int got = r < 0 ? -r : r;

	if (matches(want, got)) {
		printf("ok: %s -> %s\n", what, ename(got));
	} else {
		printf("FAIL: %s: expected %s got %s\n", what, want, ename(got));
		failures++;
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: policy-probe STEP... (see the source for the steps)\n");
	return 2;
}

static struct uacce_q *queue(const char *idx)
{
	int i = atoi(idx);

	if (i < 0 || i >= nq || !qs[i]) {
		fprintf(stderr, "policy-probe: no queue %s\n", idx);
		exit(2);
	}
	return qs[i];
}

static struct uacce_q *last(void)
{
	if (!nq || !qs[nq - 1]) {
		fprintf(stderr, "policy-probe: no queue open\n");
		exit(2);
	}
	return qs[nq - 1];
}

static int region_type(const char *s)
{
	if (!strcmp(s, "mmio"))
		return UACCE_QFRT_MMIO;
	if (!strcmp(s, "dus"))
		return UACCE_QFRT_DUS;
	if (!strcmp(s, "ss"))
		return UACCE_QFRT_SS;
	fprintf(stderr, "policy-probe: unknown region %s\n", s);
	exit(2);
}

static size_t size_arg(struct uacce_q *q, int type, const char *s)
{
	uint64_t off, size = 0;
	char *end;
	unsigned long long v;

	if (!strcmp(s, "auto")) {
		if (uacce_region_info(q, type, &off, &size) < 0)
			return 4096;
		return (size_t)size;
	}
	v = strtoull(s, &end, 10);
	if (*end == 'K')
		v <<= 10;
	else if (*end == 'M')
		v <<= 20;
	return (size_t)v;
}

static void do_open(const char *dev, const char *want)
{
	char what[160];
	struct uacce_q *q = NULL;
	int r = uacce_queue_open(dev, &q);

	snprintf(what, sizeof(what), "open %s (as queue %d)", dev, r ? -1 : nq);
	check(what, want, r);
	if (!r) {
		if (nq == MAX_Q)
			exit(2);
		qs[nq++] = q;
	}
}

static void do_map(const char *reg, const char *sz, const char *want)
{
	struct uacce_q *q = last();
	int type = region_type(reg);
	size_t size = size_arg(q, type, sz);
	char what[160];
	void *addr = NULL;
	int r = uacce_map_region(q, type, size, &addr);

	snprintf(what, sizeof(what), "map %s of %zu bytes on queue %d", reg, size, nq - 1);
	check(what, want, r);
}

static int do_ioctl(struct uacce_q *q, const char *cmd)
{
	if (!strcmp(cmd, "start"))
		return uacce_queue_start(q);
	if (!strcmp(cmd, "put"))
		return uacce_queue_put(q);
	fprintf(stderr, "policy-probe: unknown ioctl %s\n", cmd);
	exit(2);
}

static void do_fork_child(const char *file)
{
	pid_t pid = fork();

	if (pid < 0) {
		printf("FAIL: fork: %s\n", strerror(errno));
		failures++;
		return;
	}
	if (pid == 0) {
		char tmp[512];
		FILE *f;

		prctl(PR_SET_PDEATHSIG, 0);
		snprintf(tmp, sizeof(tmp), "%s.tmp", file);
		f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
			rename(tmp, file);
		}
		for (;;)
			pause();
	}
	printf("ok: forked child %d holding %d queue fd(s)\n", (int)pid, nq);
}

static void do_wait(const char *file)
{
	for (int i = 0; i < 12000; i++) {
		if (access(file, F_OK) == 0) {
			printf("ok: %s appeared\n", file);
			return;
		}
		usleep(10000);
	}
	printf("FAIL: %s did not appear within 120 s\n", file);
	failures++;
}

int main(int argc, char **argv)
{
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
#define NEED(n) do { if (i + (n) >= argc) return usage(); } while (0)
	while (i < argc) {
		const char *s = argv[i];

		if (!strcmp(s, "open")) {
			NEED(2);
			do_open(argv[i + 1], argv[i + 2]);
			i += 3;
		} else if (!strcmp(s, "start") || !strcmp(s, "put")) {
			char what[64];

			NEED(1);
			snprintf(what, sizeof(what), "%s on queue %d", s, nq - 1);
			check(what, argv[i + 1], do_ioctl(last(), s));
			i += 2;
		} else if (!strcmp(s, "map")) {
			NEED(3);
			do_map(argv[i + 1], argv[i + 2], argv[i + 3]);
			i += 4;
		} else if (!strcmp(s, "share")) {
			char what[64];

			NEED(2);
			snprintf(what, sizeof(what), "share the SS of queue %s into queue %d",
				 argv[i + 1], nq - 1);
			check(what, argv[i + 2], uacce_queue_share_ss(last(), queue(argv[i + 1])));
			i += 3;
		} else if (!strcmp(s, "shmem")) {	/* SVA: memory shared with the device */
			char what[96];
			size_t size;
			void *p;

			NEED(2);
			size = size_arg(last(), UACCE_QFRT_SS, argv[i + 1]);
			snprintf(what, sizeof(what), "share %zu bytes with queue %d's device", size,
				 nq - 1);
			check(what, argv[i + 2], uacce_share_alloc(last(), size, &p));
			i += 3;
		} else if (!strcmp(s, "ioctl")) {
			char what[64];

			NEED(3);
			snprintf(what, sizeof(what), "%s on queue %s", argv[i + 2], argv[i + 1]);
			check(what, argv[i + 3], do_ioctl(queue(argv[i + 1]), argv[i + 2]));
			i += 4;
		} else if (!strcmp(s, "close")) {
			NEED(1);
			uacce_queue_close(queue(argv[i + 1]));
			qs[atoi(argv[i + 1])] = NULL;
			printf("ok: closed queue %s\n", argv[i + 1]);
			i += 2;
		} else if (!strcmp(s, "fork-child")) {
			NEED(1);
			do_fork_child(argv[i + 1]);
			i += 2;
		} else if (!strcmp(s, "ready")) {
			printf("ready %d\n", (int)getpid());
			i++;
		} else if (!strcmp(s, "wait")) {
			NEED(1);
			do_wait(argv[i + 1]);
			i += 2;
		} else if (!strcmp(s, "sleep")) {
			for (;;)
				pause();
		} else {
			fprintf(stderr, "policy-probe: unknown step \"%s\"\n", s);
			return usage();
		}
	}
	return failures ? 1 : 0;
}
