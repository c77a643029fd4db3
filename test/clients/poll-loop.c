/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * poll-loop NODE SECONDS [STOPFILE] - open a queue (NODE, a uacce device
 * node) and poll(2) it with no timeout, back to back, for SECONDS (or
 * until STOPFILE exists, looked at every 4096 polls): every poll is a
 * FUSE_POLL request the daemon answers, so that a crash of the daemon most
 * likely finds one it had read and not answered (test/integ/run-crash.sh).
 * Prints "polls N" and exits 0; at the first POLLERR/POLLHUP/POLLNVAL or
 * error prints it and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long n = 0;
	struct timespec t0, t;
	double secs;
	int fd;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: poll-loop NODE SECONDS [STOPFILE]\n");
		return 2;
	}
	secs = atof(argv[2]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "poll-loop: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	for (;; n++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > secs ||
		    (argc == 4 && n % 4096 == 0 && access(argv[3], F_OK) == 0)) {
			printf("poll-loop: polls %lu, no error\n", n);
			return 0;
		}
		{
		int r = poll(&p, 1, 0);

		if (r < 0 && errno != EINTR) {
			printf("poll-loop: poll %lu: %s\n", n, strerror(errno));
			return 1;
		}
		if (r > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) {
			printf("poll-loop: poll %lu: revents 0x%x (error answer)\n", n, p.revents);
			return 1;
		}
		}
	}
}
