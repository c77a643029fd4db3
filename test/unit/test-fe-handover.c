/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-fe-handover.c - the frontend's side of a live restart, in one
 * process: a frontend publishes fake devices (FUSE fallback by default,
 * CUSE with the argument "cuse": the QEMU guest, test/integ/run-ho-fe.sh),
 * a client thread opens a node, runs ioctls and blocks in poll(); the
 * old daemon's side freezes frontend and core, exports both (the text of
 * the document is what the successor reads) and the frontend is abandoned
 * (its session fds closed, the state's duplicates keep the kernel
 * connections); the successor's side, a second core with the same devices
 * and a second frontend, adopts the state (main.c's order: core_adopt,
 * frontend_adopt, core_adopt_done).  The client's old fd then still works (an
 * ioctl, the poll wakes, its close reaches the core), an ioctl sent while
 * nobody served completes, and a new open works.
 *
 * Needs root and /dev/fuse (or /dev/cuse): else it exits 77 (skipped).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core-fixture.h"
#include "fe_internal.h"
#include "handover.h"
#include "unit-main.h"

static enum fe_kind kind = FE_FUSE;
static char tmpdir[] = "/tmp/uacce-fe-ho.XXXXXX";
static char mnt[300];

#define WAIT_MS 60000	/* a bound for "never": no time is asserted */

static bool wait_until(bool (*cond)(void *), void *arg)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (cond(arg))
			return true;
		usleep(10000);
	}
	return cond(arg);
}

static void node_path(char *buf, size_t n, const struct frontend *fe, struct uacce_dev *d)
{
	snprintf(buf, n, "%s/%s", frontend_dev_dir(fe), ud_name(d));
}

/* FAKE_CMD_ECHO round trip on fd (a device ioctl: answered by a worker) */
static int echo(int fd, uint32_t tag)
{
	struct fake_echo e = { .tag = tag };

	for (int i = 0; i < 12; i++)
		e.in[i] = (uint8_t)(i * 7 + tag);
	if (ioctl(fd, FAKE_CMD_ECHO, &e) < 0)
		return -errno;
	if (e.tag != tag + 1)
		return -EPROTO;
	for (int i = 0; i < 12; i++) {
		unsigned want = 255u - e.in[i];	/* ~in[i] as a byte */

		if (e.out[i] != want)
			return -EPROTO;
	}
	return 0;
}

struct poller {
	pthread_t t;
	int fd;
	int ret;
	short revents;
	volatile bool done;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct pollfd pf = { .fd = p->fd, .events = POLLIN };

	p->ret = poll(&pf, 1, -1);	/* a timeout would re-poll: no proof of a wake-up */
	p->revents = pf.revents;
	__atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
	return NULL;
}

struct echoer {
	pthread_t t;
	int fd;
	int ret;
	volatile bool done;
};

static void *echo_thread(void *arg)
{
	struct echoer *e = arg;

	e->ret = echo(e->fd, 40);
	__atomic_store_n(&e->done, true, __ATOMIC_RELEASE);
	return NULL;
}

struct khwait {
	struct frontend *fe;
	uint64_t qid;
};

/* the frontend recorded the kernel's poll handle of the file: poll() sleeps */
static bool kh_recorded(void *arg)
{
	struct khwait *w = arg;
	struct fe_file *f = fe_file_find(w->fe, w->qid);
	uint64_t kh = 0;

	if (f) {
		pthread_mutex_lock(&f->lock);
		kh = f->kh;
		pthread_mutex_unlock(&f->lock);
	}
	return kh != 0;
}

static bool poll_done(void *arg)
{
	return __atomic_load_n(&((struct poller *)arg)->done, __ATOMIC_ACQUIRE);
}

struct qref {
	struct uacce_core *core;
	uint64_t qid;
};

static bool released(void *arg)
{
	struct qref *r = arg;
	struct uacce_queue *q = core_get_queue(r->core, r->qid);

	if (q)
		uq_unref(q);
	return q == NULL;
}

static bool mounted(const char *dir)
{
	char line[1024], m[512];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %*s %511s", m) == 1 && strcmp(m, dir) == 0;
	fclose(f);
	return found;
}

static struct fe_opts opts(void)
{
	struct fe_opts o = { .kind = kind, .fuse_dir = mnt, .mode = 0666 };

	return o;
}

static void setup(void)
{
	fx_fake_setup();
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(mnt, sizeof(mnt), "%s/dev", tmpdir);
}

static void teardown(void)
{
	rmdir(mnt);
	rmdir(tmpdir);
	fx_fake_teardown();
}

/* the handover: the state, as the successor reads it, and the successor */
struct succ {
	struct ho_state *s;
	json_object *root;		/* parsed from the text of s's document */
	struct uacce_core *core;
	struct frontend *fe;
	uint64_t old[8];		/* the old core's queues of the clients' files */
	int nold;
};

/*
 * The old daemon (fx_core, fe): freeze, export, and go - its frontend
 * abandoned, its core kept for the end of the test (a daemon would exit).
 */
static void hand_over(struct frontend *fe, struct succ *h)
{
	json_object *co = json_object_new_object(), *fo = json_object_new_object();
	const char *txt;

	ck_assert_int_eq(frontend_freeze(fe), 0);
	ck_assert_int_eq(core_freeze(fx_core), 0);
	ck_assert_int_eq(ho_new(&h->s), 0);
	ck_assert_int_eq(core_export(fx_core, h->s, co), 0);
	ck_assert_int_eq(frontend_export(fe, h->s, fo), 0);
	json_object_object_add(ho_root(h->s), "core", co);
	json_object_object_add(ho_root(h->s), "frontend", fo);
	txt = json_object_to_json_string_ext(ho_root(h->s), JSON_C_TO_STRING_PLAIN);
	ck_assert_ptr_nonnull(txt);
	h->root = json_tokener_parse(txt);
	ck_assert_ptr_nonnull(h->root);
	frontend_abandon(fe);
}

/* the successor: a core with the same devices (the first `ndev` of fake-1, fake-2) */
static void take_over(struct succ *h, int ndev)
{
	struct uacce_dev *devs[2];
	struct fe_opts o = opts();

	h->core = mkcore();
	devs[0] = mkfake(h->core, false, 4, 1);
	if (ndev > 1)
		devs[1] = mkfake(h->core, true, 4, 2);
	ck_assert_int_eq(core_adopt(h->core, h->s, ho_get(h->root, "core")), 0);
	ck_assert_int_eq(frontend_adopt(&o, h->core, devs, ndev, h->s,
					ho_get(h->root, "frontend"), &h->fe), 0);
	core_adopt_done(h->core);
}

/* the successor stops; the old core's queues (a dead daemon's) go too */
static void succ_end(struct succ *h)
{
	frontend_stop(h->fe);
	core_free(h->core);
	json_object_put(h->root);
	ho_free(h->s);
	for (int i = 0; i < h->nold; i++) {
		struct uacce_queue *q = core_get_queue(fx_core, h->old[i]);

		ck_assert_ptr_nonnull(q);
		uq_release(q);	/* the open reference the abandoned file held */
		uq_unref(q);
	}
}

START_TEST(adopt_keeps_open_files)
{
	struct uacce_dev *devs[] = { fx_a, fx_b };
	struct fe_opts o = opts();
	struct frontend *fe = NULL;
	struct succ h = { 0 };
	struct poller p = { .fd = -1 };
	struct echoer late = { .fd = -1 };
	char path[512], path_b[512];
	uint64_t qid, qid2;
	struct uacce_queue *q;
	struct qref gone;
	struct khwait kw;
	json_object *fo, *files;
	int fd, fd2;

	ck_assert_int_eq(frontend_start(&o, fx_core, devs, 2, &fe), 0);
	node_path(path, sizeof(path), fe, fx_a);
	node_path(path_b, sizeof(path_b), fe, fx_b);

	/* the client: open, START, a device ioctl, then poll() blocks */
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %m", path);
	ck_assert_int_eq(frontend_identify(fe, fd, &qid), 0);
	ck_assert_int_eq(ioctl(fd, UACCE_CMD_START, 0), 0);
	ck_assert_int_eq(echo(fd, 1), 0);
	/* fh is the queue's id */
	ck_assert_ptr_nonnull(fe_file_find(fe, qid));
	p.fd = fd;
	ck_assert_int_eq(pthread_create(&p.t, NULL, poll_thread, &p), 0);
	kw = (struct khwait){ .fe = fe, .qid = qid };
	ck_assert_msg(wait_until(kh_recorded, &kw), "no FUSE_POLL kh recorded");
	ck_assert(!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE));

	/* the old daemon: freeze at a request boundary, export, go */
	h.old[h.nold++] = qid;
	hand_over(fe, &h);
	fo = ho_get(h.root, "frontend");
	ck_assert_ptr_nonnull(fo);
	ck_assert_str_eq(ho_get_str(fo, "kind", ""), kind == FE_CUSE ? "cuse" : "fuse");
	files = ho_get(fo, "files");
	ck_assert_int_eq(json_object_array_length(files), 1);
	ck_assert_int_eq(ho_get_int(json_object_array_get_idx(files, 0), "fh", 0), (int64_t)qid);
	ck_assert_int_ne(ho_get_int(json_object_array_get_idx(files, 0), "kh", 0), 0);
	/* a request sent while nobody serves waits in the kernel */
	late.fd = fd;
	ck_assert_int_eq(pthread_create(&late.t, NULL, echo_thread, &late), 0);
	ck_assert(!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE));
	if (kind == FE_FUSE)
		ck_assert(mounted(mnt));	/* the state's fd holds the mount */
	else
		ck_assert_int_eq(access(path, F_OK), 0);	/* and the CUSE node */

	/* the successor */
	take_over(&h, 2);
	ck_assert_int_eq(pthread_join(late.t, NULL), 0);
	ck_assert_int_eq(late.ret, 0);
	/*
	 * News on the successor's queue.  Only a client that polls again sees
	 * it: the successor's FUSE_NOTIFY_POLL of the old kh makes it do so
	 * (before or after this notify: either way it finds the news).
	 */
	q = core_get_queue(h.core, qid);
	ck_assert_ptr_nonnull(q);
	fake_set_updated(q, true);
	uacce_hwq_notify(q);
	uq_unref(q);
	ck_assert_msg(wait_until(poll_done, &p), "the poller was never woken");
	ck_assert_int_eq(pthread_join(p.t, NULL), 0);
	ck_assert_int_eq(p.ret, 1);
	ck_assert(p.revents & POLLIN);
	/* the old fd: same file, same queue */
	ck_assert_int_eq(echo(fd, 7), 0);
	ck_assert_int_eq(frontend_identify(h.fe, fd, &qid2), 0);
	ck_assert_int_eq(qid2, qid);
	/* new opens, on both nodes */
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd2 >= 0, "open %s after the restart: %m", path);
	ck_assert_int_eq(frontend_identify(h.fe, fd2, &qid2), 0);
	ck_assert_uint_ne(qid2, qid);
	ck_assert_int_eq(ioctl(fd2, UACCE_CMD_START, 0), 0);
	ck_assert_int_eq(echo(fd2, 9), 0);
	close(fd2);
	fd2 = open(path_b, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd2 >= 0, "open %s after the restart: %m", path_b);
	close(fd2);
	/* the old file's release reaches the successor's core */
	close(fd);
	gone = (struct qref){ .core = h.core, .qid = qid };
	ck_assert_msg(wait_until(released, &gone), "the release of queue %llu never came",
		      (unsigned long long)qid);
	succ_end(&h);
	if (kind == FE_FUSE)
		ck_assert(!mounted(mnt));	/* the adopted mount goes with the successor */
	else
		ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/* a state node whose device the successor lacks: its session ends, the rest is adopted */
START_TEST(adopt_without_a_device)
{
	struct uacce_dev *devs[] = { fx_a, fx_b };
	struct fe_opts o = opts();
	struct frontend *fe = NULL;
	struct succ h = { 0 };
	char path[512], path_b[512];
	struct qref gone;
	uint64_t qid, qidb;
	int fd, fdb, err;

	ck_assert_int_eq(frontend_start(&o, fx_core, devs, 2, &fe), 0);
	node_path(path, sizeof(path), fe, fx_a);
	node_path(path_b, sizeof(path_b), fe, fx_b);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %m", path);
	fdb = open(path_b, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fdb >= 0, "open %s: %m", path_b);
	ck_assert_int_eq(frontend_identify(fe, fd, &qid), 0);
	ck_assert_int_eq(frontend_identify(fe, fdb, &qidb), 0);
	h.old[h.nold++] = qid;
	h.old[h.nold++] = qidb;
	hand_over(fe, &h);
	/* the successor has only fake-1 */
	take_over(&h, 1);
	ck_assert_int_eq(echo(fd, 3), 0);
	/* fake-2's file: its node is gone (CUSE: connection closed; FUSE: unknown fh) */
	err = echo(fdb, 3);
	ck_assert_msg(err == -ENODEV || err == -ENOTCONN, "echo on the dropped node: %d", err);
	ck_assert_int_ne(access(path_b, F_OK), 0);
	close(fdb);
	close(fd);
	gone = (struct qref){ .core = h.core, .qid = qid };
	ck_assert_msg(wait_until(released, &gone), "the release never came");
	succ_end(&h);
}
END_TEST

/* a device the successor's configuration added is published beside the adopted ones */
START_TEST(adopt_with_a_new_device)
{
	struct uacce_dev *devs[] = { fx_a, fx_b };
	struct fe_opts o = opts();
	struct frontend *fe = NULL;
	struct succ h = { 0 };
	char path[512], path_b[512];
	uint64_t qid;
	int fd, fdb;

	ck_assert_int_eq(frontend_start(&o, fx_core, devs, 1, &fe), 0);
	node_path(path, sizeof(path), fe, fx_a);
	node_path(path_b, sizeof(path_b), fe, fx_b);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %m", path);
	ck_assert_int_eq(frontend_identify(fe, fd, &qid), 0);
	ck_assert_int_ne(access(path_b, F_OK), 0);
	h.old[h.nold++] = qid;
	hand_over(fe, &h);
	take_over(&h, 2);
	ck_assert_int_eq(echo(fd, 11), 0);
	fdb = open(path_b, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fdb >= 0, "open %s (new device) after the restart: %m", path_b);
	ck_assert_int_eq(echo(fdb, 12), 0);
	close(fdb);
	close(fd);
	succ_end(&h);
}
END_TEST

/* clients busy through the handover: no request is lost or failed */
#define LOADERS 4

struct loader {
	pthread_t t;
	int fd;
	volatile int done;		/* round trips completed */
	volatile int errors;
	volatile int first_err;
	volatile bool stop;
};

static void *load_thread(void *arg)
{
	struct loader *l = arg;

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		int err = echo(l->fd, (uint32_t)__atomic_load_n(&l->done, __ATOMIC_RELAXED) & 0xff);

		if (err) {
			if (!l->errors)
				l->first_err = err;
			l->errors++;
		}
		__atomic_add_fetch(&l->done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

struct loadwait {
	struct loader *l;
	int min;
};

static bool all_did(void *arg)
{
	struct loadwait *w = arg;

	for (int i = 0; i < LOADERS; i++)
		if (__atomic_load_n(&w->l[i].done, __ATOMIC_RELAXED) < w->min)
			return false;
	return true;
}

START_TEST(adopt_under_load)
{
	struct uacce_dev *devs[] = { fx_a, fx_b };
	struct fe_opts o = opts();
	struct frontend *fe = NULL;
	struct succ h = { 0 };
	struct loader l[LOADERS] = { 0 };
	struct loadwait w = { .l = l, .min = 20 };
	char path[512];

	ck_assert_int_eq(frontend_start(&o, fx_core, devs, 2, &fe), 0);
	for (int i = 0; i < LOADERS; i++) {
		node_path(path, sizeof(path), fe, i % 2 ? fx_b : fx_a);
		l[i].fd = open(path, O_RDWR | O_CLOEXEC);
		ck_assert_msg(l[i].fd >= 0, "open %s: %m", path);
		ck_assert_int_eq(frontend_identify(fe, l[i].fd, &h.old[h.nold++]), 0);
		ck_assert_int_eq(pthread_create(&l[i].t, NULL, load_thread, &l[i]), 0);
	}
	ck_assert(wait_until(all_did, &w));
	hand_over(fe, &h);
	take_over(&h, 2);
	for (int i = 0; i < LOADERS; i++)
		w.min = __atomic_load_n(&l[i].done, __ATOMIC_RELAXED) + 20 > w.min ?
			__atomic_load_n(&l[i].done, __ATOMIC_RELAXED) + 20 : w.min;
	ck_assert_msg(wait_until(all_did, &w), "the clients stalled after the handover");
	for (int i = 0; i < LOADERS; i++) {
		__atomic_store_n(&l[i].stop, true, __ATOMIC_RELEASE);
		pthread_join(l[i].t, NULL);
		ck_assert_msg(l[i].errors == 0, "client %d: %d of %d round trips failed (first %d)",
			      i, l[i].errors, l[i].done, l[i].first_err);
		close(l[i].fd);
	}
	succ_end(&h);
}
END_TEST

/* freeze then thaw: the same frontend serves on (the successor refused) */
START_TEST(freeze_thaw)
{
	struct uacce_dev *devs[] = { fx_a };
	struct fe_opts o = opts();
	struct frontend *fe = NULL;
	struct echoer late = { .fd = -1 };
	char path[512];
	int fd;

	ck_assert_int_eq(frontend_start(&o, fx_core, devs, 1, &fe), 0);
	node_path(path, sizeof(path), fe, fx_a);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %m", path);
	ck_assert_int_eq(frontend_freeze(fe), 0);
	late.fd = fd;
	ck_assert_int_eq(pthread_create(&late.t, NULL, echo_thread, &late), 0);
	frontend_thaw(fe);
	ck_assert_int_eq(pthread_join(late.t, NULL), 0);
	ck_assert_int_eq(late.ret, 0);
	ck_assert_int_eq(echo(fd, 5), 0);
	close(fd);
	frontend_stop(fe);
}
END_TEST

/*
 * A failed test ends its process before the frontend is stopped: its mount
 * stays, dead.  Detach the dead ones of this program (a live one is another
 * run's, still going).
 */
static void clear_dead_mounts(void)
{
	char line[1024], m[512], dir[512];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		struct statx stx;

		if (sscanf(line, "%*s %*s %*s %*s %511s", m) != 1 ||
		    strncmp(m, "/tmp/uacce-fe-ho.", 17) != 0 || !strstr(line, " - fuse.uacce "))
			continue;
		if (statx(AT_FDCWD, m, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &stx) == 0 ||
		    errno != ENOTCONN)
			continue;
		umount2(m, MNT_DETACH);
		rmdir(m);
		snprintf(dir, sizeof(dir), "%s", m);
		*strrchr(dir, '/') = '\0';
		rmdir(dir);
	}
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	Suite *s = suite_create("fe-handover");
	TCase *tc = tcase_create("adopt");
	int rc;

	if (argc > 1 && strcmp(argv[1], "cuse") == 0)
		kind = FE_CUSE;
	if (geteuid() != 0 || access(kind == FE_CUSE ? "/dev/cuse" : "/dev/fuse", R_OK | W_OK)) {
		printf("SKIP: needs root and %s\n", kind == FE_CUSE ? "/dev/cuse" : "/dev/fuse");
		return 77;
	}
	log_set_level(getenv("UACCED_TEST_LOG") ? LOG_DEBUG : LOG_CRIT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, adopt_keeps_open_files);
	tcase_add_test(tc, adopt_without_a_device);
	tcase_add_test(tc, adopt_with_a_new_device);
	tcase_add_test(tc, adopt_under_load);
	tcase_add_test(tc, freeze_thaw);
	suite_add_tcase(s, tc);
	rc = unit_run(s);
	if (kind == FE_FUSE)
		clear_dead_mounts();
	return rc;
}
