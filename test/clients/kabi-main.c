/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kabi-main.c - the modes of kabi-v4 and kabi-mainline (one program per
 * profile: this file + kabi-common.c + the profile's file):
 *
 *   kabi-<profile> [-d DEV]... [-n N] [-t THREADS] [-m MODULE] MODE...
 *
 *   list     the devices of this profile in /sys/class/uacce
 *   attrs    their attributes (the profile's set, formats)
 *   work     one queue per device: N requests, results byte-exact
 *   threads  THREADS queues per device, one per thread, at once
 *   fork     a child sees none of its parent's mappings and may not use
 *            its queue (EPERM); it opens its own (profile permitting)
 *   dlopen   the work done by MODULE (kabi-<profile>-dl.so), loaded at
 *            run time
 *   rules    the profile's rules (errnos, sizes, states, instances)
 *   all      every mode above but list
 *
 * Without -d: every device of the profile whose api it knows (dummy_v1,
 * dummy_v2, uacce_zip_v1).  One line per check ("ok: ...", "FAIL: ...",
 * lib.sh's format); exit status 1 on
 * any failure, 2 on a usage error.  The last line ("info: kabi-<profile>:
 * MODES on N devices: N passed, M failed") counts the checks.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kabi.h"

static struct kdev devs[KABI_MAX_DEVS];
static int ndevs;
static unsigned nreq = 200, nthreads = 4;
static const char *module;

static int find_devices(char sel[][KABI_NAME_MAX], int nsel)
{
	char names[KABI_MAX_DEVS][KABI_NAME_MAX];
	int n = kclass_list(names, KABI_MAX_DEVS);

	if (n < 0) {
		kfail("readdir " KABI_SYSFS ": %s", kename(-n));
		return n;
	}
	for (int i = 0; i < n; i++) {
		struct kdev *d = &devs[ndevs];
		bool wanted = nsel == 0;

		for (int j = 0; j < nsel; j++)
			wanted |= strcmp(sel[j], names[i]) == 0;
		if (!wanted)
			continue;
		memset(d, 0, sizeof(*d));
		strcpy(d->name, names[i]);
		if (!kabi_profile.probe(d) || d->kind == KABI_OTHER) {
			if (nsel)
				kfail("%s: not a %s device this program drives", d->name,
				      kabi_profile.name);
			continue;
		}
		ndevs++;
	}
	if (nsel && ndevs < nsel)
		kfail("%d of the %d devices named were found", ndevs, nsel);
	if (!ndevs)
		kfail("no %s device in " KABI_SYSFS, kabi_profile.name);
	return ndevs ? 0 : -ENODEV;
}

static void mode_list(void)
{
	for (int i = 0; i < ndevs; i++)
		kinfo("%s: api %s, %s, MMIO %zu bytes, DUS %zu bytes, %ld queues", devs[i].name,
		      devs[i].api, devs[i].sva ? "SVA" : "non-SVA", devs[i].mmio_size,
		      devs[i].dus_size, devs[i].queues);
}

/* --- work ---------------------------------------------------------------------------- */

static int one_queue(const struct kdev *d, unsigned n, unsigned seed, const char *tag)
{
	struct kq q;
	int err = kabi_profile.open(&q, d);

	if (err) {
		kfail("%s: open, start and map a queue: %s", tag, kename(-err));
		return err;
	}
	err = kwork(&q, n, seed, tag);
	kabi_profile.close(&q);
	return err;
}

static void mode_work(const struct kdev *d)
{
	uint64_t t0 = kabi_ms();

	if (!one_queue(d, nreq, 1, d->name))
		kok("%s: work: %u %s requests on one queue, results byte-exact (%llu ms)", d->name,
		    nreq, d->kind == KABI_ZIP ? "compress+decompress" : "memcpy",
		    (unsigned long long)(kabi_ms() - t0));
}

/* --- threads -------------------------------------------------------------------------- */

struct tctx {
	const struct kdev *d;
	unsigned idx;
	pthread_barrier_t *opened, *checked;
	int err;
};

static void *thread_main(void *arg)
{
	struct tctx *t = arg;
	char tag[KABI_NAME_MAX + 32];
	struct kq q;

	snprintf(tag, sizeof(tag), "%s thread %u", t->d->name, t->idx);
	t->err = kabi_profile.open(&q, t->d);
	if (t->err)
		kfail("%s: open, start and map a queue: %s", tag, kename(-t->err));
	pthread_barrier_wait(t->opened);	/* every queue held at once */
	pthread_barrier_wait(t->checked);
	if (!t->err) {
		t->err = kwork(&q, nreq, 100 + t->idx, tag);
		kabi_profile.close(&q);
	}
	return NULL;
}

static void mode_threads(const struct kdev *d)
{
	unsigned nt = nthreads, good = 0;
	pthread_barrier_t opened, checked;
	struct tctx t[64];
	pthread_t th[64];
	long a0 = kavail(d->name), a;

	if (nt > 64)
		nt = 64;
	if (a0 < (long)nt) {
		kfail("%s: threads: %ld free queues, %u needed", d->name, a0, nt);
		return;
	}
	pthread_barrier_init(&opened, NULL, nt + 1);
	pthread_barrier_init(&checked, NULL, nt + 1);
	for (unsigned i = 0; i < nt; i++) {
		t[i] = (struct tctx){ .d = d, .idx = i, .opened = &opened, .checked = &checked };
		if (pthread_create(&th[i], NULL, thread_main, &t[i])) {
			kfail("%s: pthread_create", d->name);
			exit(1);
		}
	}
	pthread_barrier_wait(&opened);
	a = kavail(d->name);
	if (a == a0 - (long)nt)
		kok("%s: threads: %u queues held at once, available_instances %ld -> %ld", d->name,
		    nt, a0, a);
	else
		kfail("%s: threads: %u queues held: available_instances expected %ld got %ld",
		      d->name, nt, a0 - (long)nt, a);
	pthread_barrier_wait(&checked);
	for (unsigned i = 0; i < nt; i++) {
		pthread_join(th[i], NULL);
		good += t[i].err == 0;
	}
	pthread_barrier_destroy(&opened);
	pthread_barrier_destroy(&checked);
	if (good == nt)
		kok("%s: threads: %u threads x %u requests on their own queues, results byte-exact",
		    d->name, nt, nreq);
	else
		kfail("%s: threads: %u of %u threads failed", d->name, nt - good, nt);
	if (kavail_wait(d->name, a0, 1000))
		kok("%s: threads: available_instances back to %ld", d->name, a0);
	else
		kfail("%s: threads: available_instances expected %ld got %ld", d->name, a0,
		      kavail(d->name));
}

/* --- fork ------------------------------------------------------------------------------ */

static int child_main(struct kq *p)
{
	char tag[KABI_NAME_MAX + 16];
	int fails = kabi_fail_n;	/* the parent's, so far */

	snprintf(tag, sizeof(tag), "%s child", p->d->name);
	kabi_profile.stranger(p);
	if (kabi_profile.child_opens(p->d) && !one_queue(p->d, nreq, 200, tag))
		kok("%s: child: its own queue, %u requests, results byte-exact", p->d->name, nreq);
	return kabi_fail_n != fails ? 1 : 0;
}

static void mode_fork(const struct kdev *d)
{
	struct kq q;
	int err = kabi_profile.open(&q, d), st;
	pid_t pid;

	if (err) {
		kfail("%s: fork: open, start and map a queue: %s", d->name, kename(-err));
		return;
	}
	if (kwork(&q, 10, 300, d->name))
		goto out;
	pid = fork();
	if (pid < 0) {
		kfail("%s: fork: %s", d->name, kename(errno));
		goto out;
	}
	if (pid == 0)
		_exit(child_main(&q));
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		kfail("%s: fork: the child failed (status 0x%x)", d->name, (unsigned)st);
		goto out;
	}
	kok("%s: fork: the child passed its checks", d->name);
	if (!kwork(&q, nreq, 301, d->name))
		kok("%s: fork: the parent's queue and mappings still work (%u requests)", d->name,
		    nreq);
out:
	kabi_profile.close(&q);
}

/* --- dlopen ---------------------------------------------------------------------------- */

static const char *module_path(char *buf, size_t len)
{
	char exe[PATH_MAX], *dir;
	ssize_t n;

	if (module)
		return module;
	if (getenv("KABI_MODULE"))
		return getenv("KABI_MODULE");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	dir = dirname(exe);
	snprintf(buf, len, "%s/kabi-%s-dl.so", dir, kabi_profile.name);
	if (access(buf, R_OK) == 0)
		return buf;
	snprintf(buf, len, "%s/.libs/kabi-%s-dl.so", dir, kabi_profile.name);
	return buf;
}

static void mode_dlopen(const struct kdev *d)
{
	char buf[PATH_MAX];
	const char *path = module_path(buf, sizeof(buf));
	void *h = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
	kabi_dl_fn fn;
	int rc;

	if (!h) {
		kfail("%s: dlopen %s: %s", d->name, path ? path : "(no path)", dlerror());
		return;
	}
	fn = (kabi_dl_fn)dlsym(h, KABI_DL_SYM);
	if (!fn) {
		kfail("%s: dlsym " KABI_DL_SYM ": %s", d->name, dlerror());
	} else {
		rc = fn(d->name, nreq, 400);
		if (rc == 0)
			kok("%s: dlopen: %s did open, map and %u requests, results byte-exact",
			    d->name, strrchr(path, '/') ? strrchr(path, '/') + 1 : path, nreq);
		else
			kfail("%s: dlopen: the module's work failed (%d)", d->name, rc);
	}
	dlclose(h);
}

/* --- attributes ----------------------------------------------------------------------- */

static bool is_majmin(const char *s)
{
	unsigned a, b;
	int n = 0;

	return sscanf(s, "%u:%u%n", &a, &b, &n) == 2 && s[n] == 0;
}

static void attr_is(const struct kdev *d, const char *attr, const char *want)
{
	char buf[256];
	int err = kattr(d->name, attr, buf, sizeof(buf));

	if (err)
		kfail("%s: attribute %s: %s", d->name, attr, kename(-err));
	else if (want && strcmp(buf, want))
		kfail("%s: attribute %s: expected \"%s\" got \"%s\"", d->name, attr, want, buf);
	else
		kok("%s: attribute %s \"%s\"", d->name, attr, buf);
}

static void attr_absent(const struct kdev *d, const char *attr)
{
	if (kattr_exists(d->name, attr))
		kfail("%s: attribute %s present (not in the %s set)", d->name, attr,
		      kabi_profile.name);
	else
		kok("%s: no attribute %s", d->name, attr);
}

/* dev: MAJ:MIN, that of /dev/<name> when that is a character device (CUSE) */
static void attr_dev(const struct kdev *d)
{
	char buf[64], path[PATH_MAX], want[32];
	struct stat st;

	if (kattr(d->name, "dev", buf, sizeof(buf)) || !is_majmin(buf)) {
		kfail("%s: attribute dev: missing or not MAJ:MIN", d->name);
		return;
	}
	snprintf(path, sizeof(path), "/dev/%s", d->name);
	if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
		snprintf(want, sizeof(want), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
		if (strcmp(buf, want) == 0)
			kok("%s: attribute dev \"%s\" = the number of /dev/%s", d->name, buf, d->name);
		else
			kfail("%s: attribute dev \"%s\", /dev/%s is %s", d->name, buf, d->name, want);
		return;
	}
	kok("%s: attribute dev \"%s\" (MAJ:MIN; /dev/%s is no character device)", d->name, buf,
	    d->name);
}

static void mode_attrs(const struct kdev *d)
{
	/* each profile's set lacks the other's own attributes */
	static const char *const not_v4[] = { "region_mmio_size", "region_dus_size", "isolate" };
	static const char *const not_ml[] = { "id", "qfrs_offset", "node_id", "numa_distance" };
	bool ml = strcmp(kabi_profile.name, "mainline") == 0;
	char buf[64];

	attr_is(d, "api", d->api);
	attr_is(d, "flags", d->sva ? "1" : "0");
	attr_is(d, "algorithms", d->kind == KABI_ZIP ? "deflate" : "memcpy");
	snprintf(buf, sizeof(buf), "%ld", d->queues);
	attr_is(d, "available_instances", buf);
	attr_dev(d);
	if (kattr(d->name, "device/numa_node", buf, sizeof(buf)) == 0 &&
	    strtol(buf, NULL, 10) >= -1)
		kok("%s: device/numa_node \"%s\"", d->name, buf);
	else
		kfail("%s: device/numa_node unreadable", d->name);
	if (!ml) {
		for (size_t i = 0; i < sizeof(not_v4) / sizeof(not_v4[0]); i++)
			attr_absent(d, not_v4[i]);
		return;
	}
	attr_is(d, "isolate", "0");
	attr_is(d, "isolate_strategy", "0");
	if (d->mmio_size && d->mmio_size % (size_t)sysconf(_SC_PAGESIZE) == 0)
		kok("%s: region_mmio_size %zu, whole pages", d->name, d->mmio_size);
	else
		kfail("%s: region_mmio_size %zu: absent or not whole pages", d->name, d->mmio_size);
	if (d->dus_size % (size_t)sysconf(_SC_PAGESIZE) == 0)
		kok("%s: region_dus_size %zu, whole pages (0: hidden)", d->name, d->dus_size);
	else
		kfail("%s: region_dus_size %zu is not whole pages", d->name, d->dus_size);
	for (size_t i = 0; i < sizeof(not_ml) / sizeof(not_ml[0]); i++)
		attr_absent(d, not_ml[i]);
}

/* --- main ------------------------------------------------------------------------------ */

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-d DEV]... [-n N] [-t THREADS] [-m MODULE] "
		"list|attrs|work|threads|fork|dlopen|rules|all...\n", prog);
	exit(2);
}

static void run_mode(const char *m)
{
	static const struct {
		const char *name;
		void (*fn)(const struct kdev *d);
	} modes[] = {
		{ "attrs", mode_attrs }, { "work", mode_work },	    { "threads", mode_threads },
		{ "fork", mode_fork },	 { "dlopen", mode_dlopen }, { "rules", NULL },
	};

	if (strcmp(m, "list") == 0)
		return mode_list();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(m, "all") && strcmp(m, modes[i].name))
			continue;
		for (int j = 0; j < ndevs; j++)
			modes[i].fn ? modes[i].fn(&devs[j]) : kabi_profile.rules(&devs[j]);
	}
}

int main(int argc, char **argv)
{
	static const char *const known[] = { "list", "attrs", "work", "threads",
					     "fork", "dlopen", "rules", "all" };
	char sel[KABI_MAX_DEVS][KABI_NAME_MAX];
	int nsel = 0, c;

	if (getenv("UACCE_TIME_SCALE") && atoi(getenv("UACCE_TIME_SCALE")) > 0)
		kabi_tscale = atoi(getenv("UACCE_TIME_SCALE"));
	while ((c = getopt(argc, argv, "d:n:t:m:")) != -1) {
		switch (c) {
		case 'd':
			if (nsel == KABI_MAX_DEVS || strlen(optarg) >= KABI_NAME_MAX)
				usage(argv[0]);
			strcpy(sel[nsel++], optarg);
			break;
		case 'n':
			nreq = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			nthreads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			module = optarg;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind == argc || !nreq || !nthreads)
		usage(argv[0]);
	for (int i = optind; i < argc; i++) {
		bool k = false;

		for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++)
			k |= strcmp(argv[i], known[j]) == 0;
		if (!k)
			usage(argv[0]);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (find_devices(sel, nsel) == 0)
		for (int i = optind; i < argc; i++)
			run_mode(argv[i]);
	printf("info: kabi-%s:", kabi_profile.name);
	for (int i = optind; i < argc; i++)
		printf(" %s", argv[i]);
	printf(" on %d devices: %d passed, %d failed\n", ndevs, kabi_ok_n, kabi_fail_n);
	return kabi_fail_n ? 1 : 0;
}
