/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * churn - open/START/map/kill -9 cycles against uacced, from several
 * processes and uids, then compare the daemon's open fds and RSS with its
 * idle baseline and check that every device has all its instances back.
 *
 *   churn [-n CYCLES] [-w WARMUP] [-p PARALLEL] [-u UID[,UID...]] [-g GID]
 *         [-d SVA_DEV,NONSVA_DEV] [--json]
 *
 * The baseline (fds, RSS) is taken after WARMUP cycles (default 100): the
 * daemon keeps thread stacks and malloc arenas of its first busy moments for
 * reuse, which is not a leak; growth with the number of cycles would be.
 *
 * Each cycle forks a child that (after dropping to the next uid) opens a
 * queue of a device, starts it, maps its regions (and SS on non-SVA
 * devices), tells the parent and waits; the parent kills it with SIGKILL.
 * Exit status 0 when nothing leaked.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uacce/libuacce.h>

/* an SVA and a non-SVA device (-d: e.g. the mainline profile's dummy-4,dummy-3) */
static const char *devs[2] = { "uacce-dummy-1", "uacce-dummy-0" };

static long daemon_pid(void)
{
	char path[512];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/uacced.pid", uacce_runtime_dir());
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

static int count_fds(long pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* one "<key>: N kB" line of /proc/<pid>/status, -1 if absent */
static long status_kb(long pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static long rss_kb(long pid)
{
	return status_kb(pid, "VmRSS");
}

static int instances(const char *dev)
{
	char buf[32];

	return uacce_dev_attr(dev, "available_instances", buf, sizeof(buf)) < 0 ? -1 : atoi(buf);
}

/* the child: open, START, map everything, report, wait to be killed */
static void child(const char *dev, uid_t uid, gid_t gid, int wfd)
{
	struct uacce_q *q;
	char ok = 'k';

	if (uid) {
		gid_t g = gid;

		if (setgroups(gid ? 1 : 0, &g) || setresgid(gid ? gid : uid, gid ? gid : uid,
							     gid ? gid : uid) ||
		    setresuid(uid, uid, uid))
			_exit(10);
	}
	if (uacce_queue_open(dev, &q) || uacce_queue_start(q))
		_exit(11);
	for (int t = 0; t < UACCE_QFRT_NR; t++) {
		uint64_t off, size;
		void *a;

		if (t == UACCE_QFRT_DKO || uacce_region_info(q, t, &off, &size) < 0)
			continue;
		if (t == UACCE_QFRT_SS) {
			if (uacce_queue_flags(q) & UACCE_DEV_SVA)
				continue;
			size = 1 << 20;
		}
		if (uacce_map_region(q, t, size, &a))
			_exit(12);
		((volatile char *)a)[0];
	}
	if (write(wfd, &ok, 1) != 1)
		_exit(13);
	for (;;)
		pause();
}

static int max_of(const char *dev)
{
	/* the configured maximum: instances with nothing open */
	return instances(dev);
}

/* cycles of: fork a child that takes a queue, kill it; returns the failures */
static unsigned run_cycles(unsigned cycles, unsigned par, const uid_t *uids, unsigned nuid,
			   gid_t gid)
{
	unsigned failures = 0;

	for (unsigned done = 0; done < cycles;) {
		pid_t kids[64];
		unsigned n = 0;

		/* the non-SVA device takes one process at a time: one batch slot */
		for (; n < par && n < 64 && done + n < cycles; n++) {
			unsigned i = done + n;
			const char *dev = n == 0 && i % 2 ? devs[1] : devs[0];
			int p[2];
			char b;

			if (pipe2(p, O_CLOEXEC) < 0)
				return 1;
			kids[n] = fork();
			if (kids[n] == 0) {
				close(p[0]);
				child(dev, uids[i % nuid], gid, p[1]);
			}
			close(p[1]);
			if (read(p[0], &b, 1) != 1) {
				int st = 0;

				waitpid(kids[n], &st, 0);
				kids[n] = -1;
				failures++;
				if (failures <= 5)
					fprintf(stderr, "churn: cycle %u on %s (uid %u): child exit %d\n",
						i, dev, (unsigned)uids[i % nuid],
						WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			}
			close(p[0]);
		}
		for (unsigned k = 0; k < n; k++) {
			if (kids[k] > 0) {
				kill(kids[k], SIGKILL);
				waitpid(kids[k], NULL, 0);
			}
		}
		done += n;
	}
	return failures;
}

/*
 * Give the daemon a second to see the last deaths (instances back), then a
 * moment for the broker to notice the closed connections.
 */
static void settle(const int max[2])
{
	for (int i = 0; i < 100; i++) {
		if (instances(devs[0]) == max[0] && instances(devs[1]) == max[1])
			break;
		usleep(10000);
	}
	usleep(300000);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cycles", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "uids", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "devices", required_argument, NULL, 'd' },
		{ 0 },
	};
	unsigned cycles = 2000, warmup = 100, par = 4, nuid = 1, failures = 0;
	uid_t uids[16] = { 0 };
	gid_t gid = 0;
	bool json = false;
	long pid = daemon_pid();
	int fd0, fd1, max[2], c, left[2];
	long rss0, rss_mid, rss1;
	double t0;
	struct timespec ts;

	while ((c = getopt_long(argc, argv, "n:p:u:g:jw:d:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			cycles = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			par = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'u':
			nuid = 0;
			for (char *s, *tok = strtok_r(optarg, ",", &s); tok && nuid < 16;
			     tok = strtok_r(NULL, ",", &s))
				uids[nuid++] = (uid_t)strtoul(tok, NULL, 0);
			break;
		case 'g':
			gid = (gid_t)strtoul(optarg, NULL, 0);
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			warmup = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'd': {
			char *comma = strchr(optarg, ',');

			if (!comma || !comma[1]) {
				fprintf(stderr, "churn: -d SVA_DEV,NONSVA_DEV\n");
				return 2;
			}
			*comma = '\0';
			devs[0] = optarg;
			devs[1] = comma + 1;
			break;
		}
		default:
			return 2;
		}
	}
	if (pid <= 0 || !par || !nuid) {
		fprintf(stderr, "churn: no daemon (UACCE_RUNTIME_DIR?) or bad arguments\n");
		return 2;
	}
	max[0] = max_of(devs[0]);
	max[1] = max_of(devs[1]);
	/* warm-up: thread stacks and malloc arenas the daemon keeps for reuse */
	failures += run_cycles(warmup, par, uids, nuid, gid);
	settle(max);
	fd0 = count_fds(pid);
	rss0 = rss_kb(pid);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec + ts.tv_nsec / 1e9;
	/*
	 * In two halves: a leak grows RSS in the second half as in the first,
	 * while the daemon's allocator (per-thread arenas, cached stacks) is
	 * warm by then; the script compares the end with the middle.
	 */
	failures += run_cycles(cycles / 2, par, uids, nuid, gid);
	settle(max);
	rss_mid = rss_kb(pid);
	failures += run_cycles(cycles - cycles / 2, par, uids, nuid, gid);
	settle(max);
	left[0] = instances(devs[0]);
	left[1] = instances(devs[1]);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/*
	 * A queue's instance comes back a moment before its region and owner
	 * fds are closed (the same teardown, a lock section later): on a
	 * loaded machine give that up to 3 s; a leak stays.
	 */
	for (int i = 0; i < 300 && count_fds(pid) > fd0; i++)
		usleep(10000);
	fd1 = count_fds(pid);
	rss1 = rss_kb(pid);
	/* where RSS went, when it grew: heap, mapped files, shared memory (regions) */
	long anon = status_kb(pid, "RssAnon"), shmem = status_kb(pid, "RssShmem");
	bool leak = fd1 != fd0 || left[0] != max[0] || left[1] != max[1] || failures;
	if (json)
		printf("{\"cycles\":%u,\"parallel\":%u,\"uids\":%u,\"failures\":%u,\"seconds\":%.2f,"
		       "\"fds_before\":%d,\"fds_after\":%d,\"rss_kb_before\":%ld,\"rss_kb_mid\":%ld,"
		       "\"rss_kb_after\":%ld,"
		       "\"rss_anon_kb_after\":%ld,\"rss_shmem_kb_after\":%ld,"
		       "\"instances\":[%d,%d],\"instances_max\":[%d,%d]}\n",
		       cycles, par, nuid, failures, ts.tv_sec + ts.tv_nsec / 1e9 - t0, fd0, fd1,
		       rss0, rss_mid, rss1, anon, shmem, left[0], left[1], max[0], max[1]);
	else
		printf("churn: %u cycles (%u in parallel, %u uids) in %.1f s, %u failed; daemon fds "
		       "%d -> %d, RSS %ld -> %ld kB; available_instances %d/%d, %d/%d\n",
		       cycles, par, nuid, ts.tv_sec + ts.tv_nsec / 1e9 - t0, failures, fd0, fd1,
		       rss0, rss1, left[0], max[0], left[1], max[1]);
	return leak ? 1 : 0;
}
