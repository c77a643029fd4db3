/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-probe - the preload shim's own checks, run under uacce-run(1) as an
 * unmodified program would be: no libuacce, only the kernel's paths
 * (/sys/class/uacce/<dev>/..., /dev/<dev>), open, ioctl and mmap of the
 * queue fd.  It exercises the shim's plumbing: the redirected path calls,
 * regions mapped, remapped at MAP_FIXED, refused twice and on mremap,
 * not inherited by fork and refused to the child, queues in threads, a
 * dlopen'ed module, a reused fd number, other files left alone.  The
 * profile rules themselves are the kernel-ABI clients' to check.
 *
 *   shim-probe [-t THREADS] [-m MODULE] DEV
 *
 * One line per check ("ok: ..." / "FAIL: ..."); the exit status is the
 * number of failures.  The profile comes from the class directory: a
 * qfrs_offset attribute means v4 (regions by byte offset, START _IO('W',1),
 * PUT_Q _IO('W',2)), else mainline (page offset = region: MMIO 0, DUS 1;
 * START_Q _IO('W',0), PUT_Q _IO('W',1)).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define QFR_NA UINT64_MAX

struct profile {
	bool mainline;
	off_t off[2];		/* MMIO, DUS */
	size_t size[2];
	unsigned long start, put;
	int twice;		/* errno of a second map of a region */
};

static const char *dev;
static char api[64];
static int failures;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 2, 3))) static void check(bool good, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	printf("%s: ", good ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!good)
		failures++;
	pthread_mutex_unlock(&out_lock);
}

static int attr(const char *name, char *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/uacce/%s/%s", dev, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* --- the class directory -------------------------------------------------------- */

static bool listed(void)
{
	DIR *d = opendir("/sys/class/uacce");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while ((e = readdir(d)))
		found |= strcmp(e->d_name, dev) == 0;
	closedir(d);
	return found;
}

static bool scanned(void)
{
	struct dirent **list;
	bool found = false;
	int n = scandir("/sys/class/uacce", &list, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		found |= strcmp(list[i]->d_name, dev) == 0;
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return found;
}

static int walked_api;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	walked_api |= type == FTW_F && strcmp(path + f->base, "api") == 0;
	return 0;
}

static int v4_regions(struct profile *p, const char *qfrs)
{
	uint64_t off[4];

	if (sscanf(qfrs, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &off[0], &off[1],
		   &off[2], &off[3]) != 4 || off[0] == QFR_NA || off[2] == QFR_NA)
		return -1;
	for (int i = 0, t = 0; t < 3; t += 2, i++) {
		uint64_t next = QFR_NA;

		for (int u = t + 1; u < 4 && next == QFR_NA; u++)
			next = off[u];
		if (next == QFR_NA)
			return -1;
		p->off[i] = (off_t)off[t];
		p->size[i] = (size_t)(next - off[t]);
	}
	p->start = _IO('W', 1);
	p->put = _IO('W', 2);
	p->twice = EBUSY;
	return 0;
}

static int discover(struct profile *p)
{
	char buf[256], path[512];
	struct stat st;

	check(listed(), "opendir/readdir /sys/class/uacce lists %s", dev);
	check(scanned(), "scandir /sys/class/uacce lists %s", dev);
	snprintf(path, sizeof(path), "/sys/class/uacce/%s", dev);
	check(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "stat %s: a directory", path);
	check(nftw(path, walk_one, 4, FTW_PHYS) == 0 && walked_api, "nftw %s visits api", path);
	snprintf(path, sizeof(path), "/sys/class/uacce/%s/api", dev);
	check(access(path, R_OK) == 0, "access %s", path);
	if (attr("api", api, sizeof(api)) != 0 || !*api) {
		check(false, "read %s", path);
		return -1;
	}
	check(true, "read %s: %s", path, api);
	{	/* UADK opens realpath(3)'s answer */
		char *real = realpath(path, NULL), got[64] = "";
		FILE *f = real ? fopen(real, "re") : NULL;

		if (f && fgets(got, sizeof(got), f))
			got[strcspn(got, "\n")] = '\0';
		if (f)
			fclose(f);
		check(f && strcmp(got, api) == 0, "realpath %s: %s, which reads %s", path,
		      real ? real : strerror(errno), got);
		free(real);
	}
	if (attr("qfrs_offset", buf, sizeof(buf)) == 0) {
		p->mainline = false;
		if (v4_regions(p, buf) != 0) {
			check(false, "qfrs_offset \"%s\": no MMIO and DUS", buf);
			return -1;
		}
	} else {
		p->mainline = true;
		p->off[0] = 0;
		p->off[1] = sysconf(_SC_PAGESIZE);
		if (attr("region_mmio_size", buf, sizeof(buf)) != 0)
			return check(false, "no region_mmio_size"), -1;
		p->size[0] = strtoul(buf, NULL, 10);
		if (attr("region_dus_size", buf, sizeof(buf)) != 0)
			return check(false, "no region_dus_size"), -1;
		p->size[1] = strtoul(buf, NULL, 10);
		p->start = _IO('W', 0);
		p->put = _IO('W', 1);
		p->twice = EEXIST;
	}
	printf("info: %s profile %s: MMIO %zu bytes at %jd, DUS %zu bytes at %jd\n", dev,
	       p->mainline ? "mainline" : "v4", p->size[0], (intmax_t)p->off[0], p->size[1],
	       (intmax_t)p->off[1]);
	return 0;
}

/* --- one queue -------------------------------------------------------------------- */

static int qopen(void)
{
	char path[512];

	snprintf(path, sizeof(path), "/dev/%s", dev);
	return open(path, O_RDWR | O_CLOEXEC);
}

static void *qmap(int fd, const struct profile *p, int r, void *at, int flags)
{
	return mmap(at, p->size[r], PROT_READ | PROT_WRITE, MAP_SHARED | flags, fd, p->off[r]);
}

/* write a pattern into the region and read it back */
static bool rw_ok(void *mem, size_t len, unsigned seed)
{
	volatile uint32_t *w = mem;
	size_t n = len / sizeof(*w);

	for (size_t i = 0; i < n; i++)
		w[i] = (uint32_t)(seed * 2654435761u + i);
	for (size_t i = 0; i < n; i++)
		if (w[i] != (uint32_t)(seed * 2654435761u + i))
			return false;
	return true;
}

static bool mapped(void *addr, size_t len)
{
	unsigned char vec[64];

	return mincore(addr, len < 64 * 4096 ? len : 4096, vec) == 0 || errno != ENOMEM;
}

static void fork_checks(int fd, const struct profile *p, void *dus)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		void *m;
		int bad = 0;

		if (mapped(dus, p->size[1])) {
			printf("FAIL: child: the DUS is mapped in the child\n");
			bad++;
		}
		m = qmap(fd, p, 1, NULL, 0);
		if (m != MAP_FAILED || errno != EPERM) {
			printf("FAIL: child: mmap of the parent's queue: %s (want EPERM)\n",
			       m == MAP_FAILED ? strerror(errno) : "mapped");
			bad++;
		}
		_exit(bad);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		check(false, "fork: %m");
		return;
	}
	fflush(stdout);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "fork: the child has no DUS mapping and its mmap of the queue is EPERM");
	check(rw_ok(dus, p->size[1], 7), "fork: the parent's DUS still works after it");
}

static void queue_checks(const struct profile *p, const char *module)
{
	void *mmio, *dus, *again, *fixed;
	int fd = qopen();

	check(fd >= 0, "open /dev/%s: %s", dev, fd >= 0 ? "a queue" : strerror(errno));
	if (fd < 0)
		return;
	mmio = qmap(fd, p, 0, NULL, 0);
	check(mmio != MAP_FAILED, "mmap MMIO (%zu bytes at offset %jd): %s", p->size[0],
	      (intmax_t)p->off[0], mmio != MAP_FAILED ? "mapped" : strerror(errno));
	dus = qmap(fd, p, 1, NULL, 0);
	check(dus != MAP_FAILED, "mmap DUS (%zu bytes at offset %jd): %s", p->size[1],
	      (intmax_t)p->off[1], dus != MAP_FAILED ? "mapped" : strerror(errno));
	if (dus == MAP_FAILED)
		goto out;
	check(rw_ok(dus, p->size[1], 1), "DUS written and read back");
	again = qmap(fd, p, 1, NULL, 0);
	check(again == MAP_FAILED && errno == p->twice, "a second mmap of the DUS: %s",
	      again == MAP_FAILED ? strerror(errno) : "mapped");
	again = mremap(dus, p->size[1], p->size[1] * 2, MREMAP_MAYMOVE);
	check(again == MAP_FAILED && errno == EPERM, "mremap of the DUS: %s",
	      again == MAP_FAILED ? strerror(errno) : "moved");
	check(munmap(dus, p->size[1]) == 0, "munmap of the DUS");
	fixed = qmap(fd, p, 1, dus, MAP_FIXED);
	check(fixed == dus, "mmap DUS again with MAP_FIXED at %p: %p", dus, fixed);
	if (fixed != dus)
		goto out;
	check(rw_ok(dus, p->size[1], 2), "the DUS mapped again is written and read back");
	errno = 0;
	check(ioctl(fd, p->start, 0) == 0, "ioctl START on the queue: %s", strerror(errno));
	fork_checks(fd, p, dus);
	if (module) {
		void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
		int (*rd)(const char *, char *, int) = h ? (int (*)(const char *, char *, int))
							dlsym(h, "shim_dl_read") : NULL;
		void *(*map)(int, size_t, off_t) = h ? (void *(*)(int, size_t, off_t))
						      dlsym(h, "shim_dl_map") : NULL;
		char path[512], buf[64];
		void *m;

		snprintf(path, sizeof(path), "/sys/class/uacce/%s/api", dev);
		check(rd && rd(path, buf, sizeof(buf)) > 0 && strcmp(buf, api) == 0,
		      "dlopen'ed module: fopen %s: %s", path, rd ? buf : dlerror());
		/* the MMIO given back by munmap maps again, from the module */
		if (mmio != MAP_FAILED && munmap(mmio, p->size[0]) == 0)
			mmio = MAP_FAILED;
		m = map ? map(fd, p->size[0], p->off[0]) : NULL;
		check(m != NULL, "dlopen'ed module: mmap MMIO again after its munmap: %s",
		      m ? "mapped" : strerror(errno));
		mmio = m ? m : MAP_FAILED;
		if (h)
			dlclose(h);
	}
	errno = 0;
	check(ioctl(fd, p->put, 0) == 0, "ioctl PUT_Q on the queue: %s", strerror(errno));
	check(munmap(dus, p->size[1]) == 0, "munmap of the DUS");
out:
	if (mmio != MAP_FAILED)
		munmap(mmio, p->size[0]);
	close(fd);
}

/* the fd number of a closed queue reused by a new queue: the new one is mapped */
static void reuse_checks(const struct profile *p)
{
	int fd = qopen(), fd2;
	void *m;

	if (fd < 0)
		return check(false, "open for the reuse check: %m");
	m = qmap(fd, p, 1, NULL, 0);
	check(m != MAP_FAILED, "reuse: first queue's DUS mapped");
	close(fd);
	fd2 = qopen();
	check(fd2 == fd, "reuse: the next open gets the same fd number %d", fd);
	m = fd2 < 0 ? MAP_FAILED : qmap(fd2, p, 1, NULL, 0);
	check(m != MAP_FAILED && rw_ok(m, p->size[1], 3),
	      "reuse: the new queue's DUS maps at once (not EEXIST from the old one): %s",
	      m == MAP_FAILED ? strerror(errno) : "mapped");
	if (fd2 >= 0)
		close(fd2);
}

/* --- threads ---------------------------------------------------------------------- */

struct worker {
	pthread_t t;
	const struct profile *p;
	unsigned n;
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char buf[64];

	for (int round = 0; round < 20; round++) {
		int fd = qopen();
		void *m;

		if (fd < 0 || attr("api", buf, sizeof(buf)) != 0 || strcmp(buf, api) != 0) {
			if (!w->bad)
				printf("info: thread %u round %d: %s\n", w->n, round,
				       fd < 0 ? strerror(errno) : "the api attribute");
			w->bad++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		m = qmap(fd, w->p, 1, NULL, 0);
		if (m == MAP_FAILED || !rw_ok(m, w->p->size[1], w->n * 100 + (unsigned)round)) {
			if (!w->bad)
				printf("info: thread %u round %d: %s\n", w->n, round,
				       m == MAP_FAILED ? strerror(errno) : "DUS contents");
			w->bad++;
		}
		if (m != MAP_FAILED && munmap(m, w->p->size[1]) != 0)
			w->bad++;
		close(fd);
	}
	return NULL;
}

static void thread_checks(const struct profile *p, unsigned n)
{
	struct worker w[16];
	int bad = 0;

	if (n > 16)
		n = 16;
	for (unsigned i = 0; i < n; i++) {
		w[i] = (struct worker){ .p = p, .n = i };
		if (pthread_create(&w[i].t, NULL, work, &w[i]) != 0)
			return check(false, "pthread_create: %m");
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		bad += w[i].bad;
	}
	check(bad == 0, "%u threads x 20 rounds of open, attribute read, mmap DUS, "
	      "write/read, munmap, close: %d failures", n, bad);
}

/* other files: untouched */
static void other_checks(void)
{
	char tmpl[] = "/tmp/shim-probe.XXXXXX";
	int fd = mkstemp(tmpl);
	char *m;

	check(fd >= 0 && write(fd, "hello", 5) == 5, "a temporary file written");
	if (fd < 0)
		return;
	m = mmap(NULL, 5, PROT_READ, MAP_SHARED, fd, 0);
	check(m != MAP_FAILED && memcmp(m, "hello", 5) == 0, "mmap of another file: its data");
	if (m != MAP_FAILED)
		check(mremap(m, 5, 8192, MREMAP_MAYMOVE) != MAP_FAILED,
		      "mremap of another mapping works");
	unlink(tmpl);
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	check(fd >= 0, "open /dev/null");
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	const char *module = NULL;
	struct profile p = { 0 };
	unsigned threads = 4;
	int c;

	while ((c = getopt(argc, argv, "t:m:")) != -1) {
		if (c == 't')
			threads = (unsigned)atoi(optarg);
		else if (c == 'm')
			module = optarg;
		else
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: shim-probe [-t THREADS] [-m MODULE] DEV\n");
		return 2;
	}
	dev = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (discover(&p) == 0) {
		queue_checks(&p, module);
		reuse_checks(&p);
		if (threads)
			thread_checks(&p, threads);
	}
	other_checks();
	printf("shim-probe %s: %d failures\n", dev, failures);
	return failures > 100 ? 100 : failures;
}
