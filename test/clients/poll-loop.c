/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * poll-loop NODE - open a queue (NODE, a uacce device node) and poll(2) it
 * with no timeout, back to back: every poll is a FUSE_POLL request the
 * daemon answers, so that a crash of the daemon most likely finds one it
 * had read and not answered (test/integ/run-crash.sh).  Ends at the first
 * POLLERR/POLLHUP/POLLNVAL or error: prints it and exits 1.  Never ends
 * otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long n = 0;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: poll-loop NODE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "poll-loop: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	for (;; n++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
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
