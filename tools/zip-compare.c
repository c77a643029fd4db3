/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zip-compare.c - uacce-zip --compare's CPU tools and report (zip-compare.h) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zip-compare.h"

extern char **environ;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int zc_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/uacce-zip-compare.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

bool zc_have(const char *prog)
{
	const char *path = getenv("PATH");
	char *dirs, *save, buf[4096];
	bool found = false;

	if (!path || !(dirs = strdup(path)))
		return false;
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", *d ? d : ".", prog);
		found = access(buf, X_OK) == 0;
	}
	free(dirs);
	return found;
}

/* spawn argv with fds in_fd and out_fd as its stdin and stdout; pid or -errno */
static pid_t spawn(const char *const argv[], int in_fd, int out_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return err ? -err : pid;
}

/* the child's end: 0 for exit 0, else a note */
static int reap(pid_t pid, const char *tool, char *note, size_t len)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(note, len, "%s: waitpid: %s", tool, strerror(errno));
			return -1;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		snprintf(note, len, "%s exited with status %d", tool, WEXITSTATUS(st));
	else
		snprintf(note, len, "%s killed by signal %d", tool, WTERMSIG(st));
	return -1;
}

void zc_run(const char *const argv[], const char *in, int out_fd, struct zc_row *r)
{
	int in_fd = open(in, O_RDONLY | O_CLOEXEC);
	struct stat st;
	double t0;
	pid_t pid;

	r->ran = false;
	if (in_fd < 0) {
		snprintf(r->note, sizeof(r->note), "%s: %s", in, strerror(errno));
		return;
	}
	if (lseek(out_fd, 0, SEEK_SET) < 0 || ftruncate(out_fd, 0) < 0) {
		snprintf(r->note, sizeof(r->note), "temporary file: %s", strerror(errno));
		close(in_fd);
		return;
	}
	t0 = now_s();
	pid = spawn(argv, in_fd, out_fd);
	close(in_fd);
	if (pid < 0) {
		snprintf(r->note, sizeof(r->note), "%s: %s", argv[0], strerror((int)-pid));
		return;
	}
	if (reap(pid, argv[0], r->note, sizeof(r->note)) < 0)
		return;
	r->seconds = now_s() - t0;
	r->ran = fstat(out_fd, &st) == 0;
	r->bytes = r->ran ? (uint64_t)st.st_size : 0;
}

void zc_verify(int gz_fd, const char *orig, struct zc_row *r)
{
	static const char *const argv[] = { "gzip", "-dc", NULL };
	static unsigned char a[1 << 16], b[1 << 16];
	int p[2], o_fd = open(orig, O_RDONLY | O_CLOEXEC), in_fd;
	bool same = true;
	pid_t pid;

	r->verified = false;
	if (o_fd < 0) {
		snprintf(r->note, sizeof(r->note), "%s: %s", orig, strerror(errno));
		return;
	}
	/* a descriptor of its own: the child must read from the start */
	snprintf((char *)a, sizeof(a), "/proc/self/fd/%d", gz_fd);
	in_fd = open((char *)a, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0 || pipe2(p, O_CLOEXEC) < 0) {
		snprintf(r->note, sizeof(r->note), "verify: %s", strerror(errno));
		if (in_fd >= 0)
			close(in_fd);
		close(o_fd);
		return;
	}
	pid = spawn(argv, in_fd, p[1]);
	close(in_fd);
	close(p[1]);
	if (pid < 0) {
		snprintf(r->note, sizeof(r->note), "gzip -dc: %s", strerror((int)-pid));
		close(p[0]);
		close(o_fd);
		return;
	}
	for (;;) {
		ssize_t n = read(p[0], a, sizeof(a)), got = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {	/* the original must end here too */
			same = same && n == 0 && read(o_fd, b, 1) == 0;
			break;
		}
		while (got < n) {
			ssize_t m = read(o_fd, b + got, (size_t)(n - got));

			if (m <= 0)
				break;
			got += m;
		}
		if (got != n || memcmp(a, b, (size_t)n) != 0) {
			same = false;
			break;
		}
	}
	close(p[0]);	/* gzip may get SIGPIPE after a difference: fine */
	close(o_fd);
	if (reap(pid, "gzip -dc", r->note, sizeof(r->note)) < 0 && same)
		return;		/* not gzip format, or cut short: gzip's status said */
	if (!same) {
		snprintf(r->note, sizeof(r->note), "gzip -dc of its output differs from the input");
		return;
	}
	r->note[0] = '\0';
	r->verified = true;
}

static double mbps(uint64_t size, double s)
{
	return s > 0 ? (double)size / 1e6 / s : 0;
}

void zc_print_table(const char *file, uint64_t size, const char *dev, const struct zc_row *rows,
		    int n)
{
	printf("%s: %llu bytes, device %s\n", file, (unsigned long long)size, dev);
	printf("%-10s %5s %9s %9s %12s %7s %11s  %s\n", "tool", "level", "seconds", "MB/s", "bytes",
	       "size", "device is", "checked");
	for (int i = 0; i < n; i++) {
		const struct zc_row *r = &rows[i];

		if (!r->installed) {
			printf("%-10s %5d %s\n", r->tool, r->level, "not installed");
			continue;
		}
		if (!r->ran) {
			printf("%-10s %5d failed: %s\n", r->tool, r->level, r->note);
			continue;
		}
		printf("%-10s %5d %9.3f %9.1f %12llu %6.1f%%", r->tool, r->level, r->seconds,
		       mbps(size, r->seconds), (unsigned long long)r->bytes,
		       size ? 100.0 * (double)r->bytes / (double)size : 0);
		if (i && rows[0].ran && rows[0].seconds > 0)
			printf(" %9.2fx", r->seconds / rows[0].seconds);
		else
			printf(" %10s", "");
		printf("  %s%s%s\n", r->verified ? "ok" : "FAILED", r->note[0] ? ": " : "", r->note);
	}
	printf("(device is N x: the tool's time / the device's; above 1 the device is faster; "
	       "times include starting the tool)\n");
}

/* a JSON string: the tools' notes and file names may hold anything */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void zc_print_json(const char *file, uint64_t size, const char *dev, const struct zc_row *rows,
		   int n)
{
	printf("{\"file\":");
	json_str(file);
	printf(",\"bytes\":%llu,\"device\":", (unsigned long long)size);
	json_str(dev);
	printf(",\"results\":[");
	for (int i = 0; i < n; i++) {
		const struct zc_row *r = &rows[i];

		printf("%s{\"tool\":\"%s\",\"level\":%d,\"installed\":%s,\"ran\":%s", i ? "," : "",
		       r->tool, r->level, r->installed ? "true" : "false", r->ran ? "true" : "false");
		if (r->ran)
			printf(",\"seconds\":%.6f,\"mbps\":%.2f,\"bytes\":%llu,\"ratio\":%.4f,"
			       "\"verified\":%s,\"device_speedup\":%.4f", r->seconds,
			       mbps(size, r->seconds), (unsigned long long)r->bytes,
			       size ? (double)r->bytes / (double)size : 0,
			       r->verified ? "true" : "false",
			       rows[0].ran && rows[0].seconds > 0 ? r->seconds / rows[0].seconds : 0);
		if (r->note[0]) {
			printf(",\"note\":");
			json_str(r->note);
		}
		printf("}");
	}
	printf("]}\n");
}
