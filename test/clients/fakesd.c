/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakesd - the part of systemd's service manager that uacced's crash
 * restart relies on, for hosts without systemd as init (the tests):
 *   fakesd -s SOCKET -l LOGFILE [-d MS] -- PROGRAM ARGS...
 * runs PROGRAM with NOTIFY_SOCKET=SOCKET, keeps an fd store
 * (FDSTORE=1 + FDNAME=, FDSTOREREMOVE=1, BARRIER=1 as sd_notify(3) and
 * systemd.service(5) describe them), and whenever PROGRAM ends (any
 * status, any signal: Restart=always) starts it again with the store as
 * LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID, MS milliseconds later (RestartSec=;
 * default 0).  SIGTERM to fakesd: SIGTERM to
 * PROGRAM, wait, empty the store, exit (systemctl stop).
 * An fd whose open file the store holds already (under any name) is
 * not stored again, as systemd does (kcmp): "duplicate NAME (held as OLD)".
 * LOGFILE gets one line per event: "start PID", "ready PID", "exit PID
 * STATUS", "store NAME", "duplicate NAME ...", "remove NAME" (the test
 * reads it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STORE 65536

static int store_fd[MAX_STORE];
static char *store_name[MAX_STORE];
static int nstore;
static FILE *logfp;

static void logline(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(logfp, fmt, ap);
	va_end(ap);
	fputc('\n', logfp);
	fflush(logfp);
}

static void store_remove(const char *name)
{
	int w = 0;

	for (int i = 0; i < nstore; i++) {
		if (strcmp(store_name[i], name) == 0) {
			close(store_fd[i]);
			free(store_name[i]);
			continue;
		}
		store_fd[w] = store_fd[i];
		store_name[w++] = store_name[i];
	}
	nstore = w;
}

/*
 * The store's entry that holds fd's open file (whatever its name), -1:
 * none.  systemd compares with same_fd(), kcmp(KCMP_FILE) first.
 */
static int held_as(int fd)
{
	pid_t me = getpid();

	for (int i = 0; i < nstore; i++)
		if (syscall(SYS_kcmp, me, me, KCMP_FILE, fd, store_fd[i]) == 0)
			return i;
	return -1;
}

/* one datagram: its text and fds */
static void handle(const char *text, const int *fds, int nfds)
{
	char name[256] = "";
	bool fdstore = false, remove = false, barrier = false;
	const char *p = text;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 9 && strncmp(p, "FDSTORE=1", 9) == 0)
			fdstore = true;
		else if (n == 15 && strncmp(p, "FDSTOREREMOVE=1", 15) == 0)
			remove = true;
		else if (n == 9 && strncmp(p, "BARRIER=1", 9) == 0)
			barrier = true;
		else if (n > 7 && strncmp(p, "FDNAME=", 7) == 0 && n - 7 < sizeof(name)) {
			memcpy(name, p + 7, n - 7);
			name[n - 7] = 0;
		}
		if (n == 7 && strncmp(p, "READY=1", 7) == 0)
			logline("ready");
		p += n + (e ? 1 : 0);
	}
	if (fdstore && *name) {
		for (int i = 0; i < nfds; i++) {
			int held = held_as(fds[i]);

			if (held >= 0) {
				/* systemd's service_add_fd_store(): "fd already included" */
				logline("duplicate %s (held as %s)", name, store_name[held]);
				close(fds[i]);
				continue;
			}
			if (nstore == MAX_STORE) {
				close(fds[i]);
				continue;
			}
			store_fd[nstore] = fds[i];
			store_name[nstore++] = strdup(name);
			logline("store %s", name);
		}
		return;
	}
	if (remove && *name) {
		store_remove(name);
		logline("remove %s", name);
	}
	(void)barrier;	/* its fd closes below: that is the answer */
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

static void drain(int sock)
{
	for (;;) {
		char buf[4096];
		union {
			char c[CMSG_SPACE(sizeof(int) * 253)];
			struct cmsghdr align;
		} u;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.c,
				     .msg_controllen = sizeof(u.c) };
		int fds[253], nfds = 0;
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0)
			return;
		buf[n] = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

				memcpy(fds + nfds, CMSG_DATA(c), sizeof(int) * (size_t)k);
				nfds += k;
			}
		handle(buf, fds, nfds);
	}
}

static pid_t start(char **argv, const char *sock)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *names = NULL, num[32];
		size_t len = 1;

		for (int i = 0; i < nstore; i++)
			len += strlen(store_name[i]) + 1;
		names = calloc(1, len);
		for (int i = 0; i < nstore; i++) {
			if (i)
				strcat(names, ":");
			strcat(names, store_name[i]);
		}
		/* above the targets first, then into place: no clobbering */
		for (int i = 0; i < nstore; i++)
			store_fd[i] = fcntl(store_fd[i], F_DUPFD, 3 + nstore);
		for (int i = 0; i < nstore; i++)
			dup2(store_fd[i], 3 + i);
		for (int i = 0; i < nstore; i++)
			close(store_fd[i]);
		/* fakesd killed (a test's cleanup): the service goes too */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("NOTIFY_SOCKET", sock, 1);
		if (nstore) {
			snprintf(num, sizeof(num), "%d", nstore);
			setenv("LISTEN_FDS", num, 1);
			setenv("LISTEN_FDNAMES", names, 1);
			snprintf(num, sizeof(num), "%d", (int)getpid());
			setenv("LISTEN_PID", num, 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	logline("start %d %d", (int)pid, nstore);
	return pid;
}

int main(int argc, char **argv)
{
	const char *sockpath = NULL, *logpath = NULL;
	int delay_ms = 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sigset_t mask;
	int opt, sock, sfd, one = 1;
	pid_t child;
	bool stopping = false;

	while ((opt = getopt(argc, argv, "+s:l:d:")) != -1) {
		if (opt == 's')
			sockpath = optarg;
		else if (opt == 'd')
			delay_ms = atoi(optarg);
		else if (opt == 'l')
			logpath = optarg;
		else
			return 2;
	}
	if (!sockpath || !logpath || optind >= argc ||
	    strlen(sockpath) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: fakesd -s SOCKET -l LOGFILE [-d MS] -- PROGRAM ARGS...\n");
		return 2;
	}
	logfp = fopen(logpath, "a");
	if (!logfp)
		return 1;
	strcpy(sa.sun_path, sockpath);
	unlink(sockpath);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("fakesd: socket");
		return 1;
	}
	setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	child = start(argv + optind, sockpath);
	if (child < 0)
		return 1;
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		int st;
		pid_t w;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents)
			drain(sock);
		if (!(p[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si)))
			continue;
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			stopping = true;
			kill(child, SIGTERM);
			continue;
		}
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			if (w != child)
				continue;
			drain(sock);	/* what it sent before it ended */
			if (WIFSIGNALED(st))
				logline("exit %d signal %d", (int)w, WTERMSIG(st));
			else
				logline("exit %d status %d", (int)w, WEXITSTATUS(st));
			if (stopping) {
				for (int i = 0; i < nstore; i++) {
					close(store_fd[i]);
					free(store_name[i]);
				}
				nstore = 0;
				logline("stopped");
				return 0;
			}
			if (delay_ms > 0) {
				/* a restart delay; what arrives meanwhile is kept */
				struct pollfd q = { .fd = sock, .events = POLLIN };
				struct timespec t0, t;
				long left;

				clock_gettime(CLOCK_MONOTONIC, &t0);
				for (;;) {
					clock_gettime(CLOCK_MONOTONIC, &t);
					left = delay_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
							   (t.tv_nsec - t0.tv_nsec) / 1000000);
					if (left <= 0)
						break;
					if (poll(&q, 1, (int)left) > 0)
						drain(sock);
				}
			}
			child = start(argv + optind, sockpath);
			if (child < 0)
				return 1;
		}
	}
}
