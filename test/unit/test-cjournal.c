/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-cjournal.c - the crash journal (daemon/cjournal.c): the live queue
 * table, the in-flight table, and a commit to a stand-in for systemd's
 * notify socket (a thread of this test that keeps the store): what goes in,
 * what goes out, and what a successor reads back (cj_read, then the
 * snapshot through ho_load_snapshot).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit-main.h"
#include "cjournal.h"
#include "handover.h"

/* --- tables ---------------------------------------------------------------- */

START_TEST(test_live_table)
{
	struct cjournal *j;
	struct cj_recovery r;
	uint64_t g1, g2;

	ck_assert_int_eq(cj_open(1, &j), 0);
	cj_queue_changed(j, 5, false);
	cj_queue_changed(j, 6, false);
	cj_queue_changed(j, 7, false);
	cj_queue_changed(j, 7, true);	/* closed */
	cj_queue_changed(j, 6, false);	/* changed again */
	/* a queue 16384 ids later takes the slot: the older one is not there any more */
	cj_queue_changed(j, 8, false);
	cj_queue_changed(j, 8 + 16384, false);
	cj_queue_changed(j, 8, false);	/* the older one again: it stays out */
	ck_assert_int_eq(cj_read(cj_fd(j), &r), 0);
	ck_assert_ptr_null(r.snap_name);	/* never committed */
	ck_assert_uint_eq(r.epoch, 1);
	g1 = cj_live_gen(&r, 5);
	g2 = cj_live_gen(&r, 6);
	ck_assert_uint_gt(g1, 0);
	ck_assert_uint_gt(g2, g1);
	ck_assert_uint_eq(cj_live_gen(&r, 7), 0);
	ck_assert_uint_eq(cj_live_gen(&r, 8), 0);
	ck_assert_uint_gt(cj_live_gen(&r, 8 + 16384), g2);
	ck_assert_uint_eq(cj_live_gen(&r, 99), 0);
	ck_assert_int_eq(r.nlive, 3);
	/* a snapshot's generation is read before it is taken */
	ck_assert_uint_ge(cj_gen(j), cj_live_gen(&r, 8 + 16384));
	cj_recovery_fini(&r);
	cj_free(j);
}
END_TEST

static size_t fake_req(uint8_t *buf, uint64_t unique, uint32_t opcode, size_t body)
{
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + body), .opcode = opcode,
				    .unique = unique, .nodeid = 1 };

	memcpy(buf, &h, sizeof(h));
	for (size_t i = 0; i < body; i++)
		buf[sizeof(h) + i] = (uint8_t)(unique + i);
	return sizeof(h) + body;
}

START_TEST(test_inflight_table)
{
	uint8_t req[2048];
	struct cjournal *j;
	struct cj_recovery r;
	size_t n;
	int found = 0;

	ck_assert_int_eq(cj_open(2, &j), 0);
	/* 600 requests read, every other one answered; one too long to keep */
	for (uint64_t u = 2; u < 1202; u += 2) {
		n = fake_req(req, u, FUSE_IOCTL, u == 100 ? 1024 : 40);
		cj_inflight_begin(j, 7, u, FUSE_IOCTL, 0, req, n);
		if (u % 4 == 0)
			cj_inflight_end(j, 7, u);
	}
	/* the same unique on another connection is another request */
	n = fake_req(req, 6, FUSE_POLL, 24);
	cj_inflight_begin(j, 9, 6, FUSE_POLL, 0, req, n);
	cj_inflight_end(j, 9, 4);	/* not there: nothing happens */
	cj_poll_kh(j, 17);
	cj_poll_kh(j, 5);
	ck_assert_int_eq(cj_read(cj_fd(j), &r), 0);
	ck_assert_int_eq(r.ninflight, 301);
	ck_assert_uint_eq(r.max_kh, 17);
	for (int i = 0; i < r.ninflight; i++) {
		const struct cj_inflight *e = &r.inflight[i];
		struct fuse_in_header h;

		if (e->conn == 9) {
			ck_assert_uint_eq(e->unique, 6);
			ck_assert_uint_eq(e->opcode, FUSE_POLL);
			found++;
			continue;
		}
		ck_assert_uint_eq(e->conn, 7);
		ck_assert_uint_ne(e->unique % 4, 0);
		if (e->unique == 100) {
			ck_assert_uint_eq(e->len, 0);	/* not kept: answered EIO */
			continue;
		}
		ck_assert_uint_eq(e->len, sizeof(h) + 40);
		memcpy(&h, e->req, sizeof(h));
		ck_assert_uint_eq(h.unique, e->unique);
		ck_assert_uint_eq(e->req[sizeof(h) + 3], (uint8_t)(e->unique + 3));
	}
	ck_assert_int_eq(found, 1);
	cj_recovery_fini(&r);
	cj_free(j);
}
END_TEST

/* which requests the journal keeps: those the kernel wants answered; a RELEASE's fh */
START_TEST(test_request_wants_answer)
{
	struct {
		struct fuse_in_header h;
		struct fuse_release_in r;
	} rel = { .h = { .len = sizeof(rel), .opcode = FUSE_RELEASE, .unique = 12 },
		  .r = { .fh = 77 } };
	uint8_t req[64];
	uint64_t fh = 5;

	ck_assert(cj_request_wants_answer(&rel, sizeof(rel), &fh));
	ck_assert_uint_eq(fh, 77);
	/* cut short before its fh: still a request, no fh */
	ck_assert(cj_request_wants_answer(&rel, sizeof(rel.h) + 4, &fh));
	ck_assert_uint_eq(fh, 0);
	fake_req(req, 14, FUSE_IOCTL, 16);
	ck_assert(cj_request_wants_answer(req, sizeof(req), &fh));
	ck_assert_uint_eq(fh, 0);
	fake_req(req, 16, FUSE_FORGET, 8);
	ck_assert(!cj_request_wants_answer(req, sizeof(req), &fh));
	fake_req(req, 17, FUSE_IOCTL, 8);	/* an interrupt's unique */
	ck_assert(!cj_request_wants_answer(req, sizeof(req), &fh));
	fake_req(req, 0, FUSE_IOCTL, 8);	/* no request */
	ck_assert(!cj_request_wants_answer(req, sizeof(req), &fh));
	ck_assert(!cj_request_wants_answer(req, sizeof(struct fuse_in_header) - 1, &fh));
}
END_TEST

/*
 * Read slots: what a reader put there and did not record is listed as in
 * flight (marked slot); what the table has too is listed once; requests
 * nobody answers, interrupts and too long ones are not listed whole.
 */
START_TEST(test_read_slots)
{
	uint8_t req[1024];
	struct cjournal *j;
	struct cj_recovery r;
	uint8_t *s1, *s2, *s3, *s4;
	size_t n;
	int seen = 0;

	ck_assert_int_eq(cj_open(3, &j), 0);
	ck_assert_ptr_null(cj_read_slot(j, 0));
	s1 = cj_read_slot(j, 11);
	s2 = cj_read_slot(j, 12);
	s3 = cj_read_slot(j, 13);
	s4 = cj_read_slot(j, 14);
	ck_assert_ptr_nonnull(s1);
	ck_assert_ptr_eq(cj_read_slot(j, 11), s1);	/* the same connection, the same slot */
	ck_assert_ptr_ne(s1, s2);
	/* 11: read and recorded; then one read and not recorded (the crash) */
	n = fake_req(s1, 40, FUSE_POLL, 24);
	cj_inflight_begin(j, 11, 40, FUSE_POLL, 0, s1, n);
	ck_assert_int_eq(cj_read(cj_fd(j), &r), 0);
	ck_assert_int_eq(r.ninflight, 1);		/* the table's, not twice */
	ck_assert(!r.inflight[0].slot);
	cj_recovery_fini(&r);
	n = fake_req(s1, 42, FUSE_IOCTL, 100);
	/* 12: a forget (no answer); 13: an interrupt; 14: too long to keep */
	fake_req(s2, 8, FUSE_FORGET, 8);
	fake_req(s3, 9, FUSE_INTERRUPT, 8);
	fake_req(req, 30, FUSE_IOCTL, 600);
	memcpy(s4, req, CJ_REQ_MAX);
	ck_assert_int_eq(cj_read(cj_fd(j), &r), 0);
	ck_assert_int_eq(r.ninflight, 3);
	for (int i = 0; i < r.ninflight; i++) {
		const struct cj_inflight *e = &r.inflight[i];

		if (e->unique == 40) {
			ck_assert(!e->slot);
			seen |= 1;
		} else if (e->unique == 42) {
			ck_assert(e->slot);
			ck_assert_uint_eq(e->conn, 11);
			ck_assert_uint_eq(e->opcode, FUSE_IOCTL);
			ck_assert_uint_eq(e->len, n);
			ck_assert_int_eq(memcmp(e->req, s1, n), 0);
			seen |= 2;
		} else {
			ck_assert_uint_eq(e->unique, 30);
			ck_assert_uint_eq(e->conn, 14);
			ck_assert_uint_eq(e->len, 0);		/* answered EIO */
			seen |= 4;
		}
	}
	ck_assert_int_eq(seen, 7);
	/* the highest unique of a connection counts its slot's */
	for (int k = 0; k < r.nconns; k++)
		if (r.conn[k] == 11)
			ck_assert_uint_eq(r.conn_max[k], 42);
	cj_recovery_fini(&r);
	cj_free(j);
}
END_TEST

/* --- commit: a stand-in for systemd's notify socket ----------------------- */

struct store {
	int sock;
	pthread_mutex_t lock;
	char names[256][80];
	int fds[256];
	int n;
	int removes, barriers;
	bool stop;
};

static void store_put(struct store *st, const char *name, int fd)
{
	pthread_mutex_lock(&st->lock);
	if (st->n < 256) {
		snprintf(st->names[st->n], sizeof(st->names[0]), "%s", name);
		st->fds[st->n++] = fd;
	} else {
		close(fd);
	}
	pthread_mutex_unlock(&st->lock);
}

static void store_drop(struct store *st, const char *name)
{
	int w = 0;

	pthread_mutex_lock(&st->lock);
	for (int i = 0; i < st->n; i++) {
		if (strcmp(st->names[i], name) == 0) {
			close(st->fds[i]);
			continue;
		}
		memmove(st->names[w], st->names[i], sizeof(st->names[0]));
		st->fds[w++] = st->fds[i];
	}
	st->n = w;
	st->removes++;
	pthread_mutex_unlock(&st->lock);
}

static void *store_thread(void *arg)
{
	struct store *st = arg;

	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		char buf[512], name[80] = "";
		union {
			char c[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr a;
		} u;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.c,
				     .msg_controllen = sizeof(u.c) };
		struct pollfd p = { .fd = st->sock, .events = POLLIN };
		int fds[8], nfds = 0;
		ssize_t n;
		char *nm;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recvmsg(st->sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0)
			continue;
		buf[n] = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_type == SCM_RIGHTS) {
				nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
				memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)nfds);
			}
		nm = strstr(buf, "FDNAME=");
		if (nm)
			sscanf(nm + 7, "%79[^\n]", name);
		if (strstr(buf, "FDSTORE=1") && nfds == 1)
			store_put(st, name, fds[0]);
		else if (strstr(buf, "FDSTOREREMOVE=1"))
			store_drop(st, name);
		else {
			if (strstr(buf, "BARRIER=1"))
				__atomic_add_fetch(&st->barriers, 1, __ATOMIC_RELEASE);
			for (int i = 0; i < nfds; i++)
				close(fds[i]);	/* the barrier's answer */
		}
	}
	return NULL;
}

static int store_count(struct store *st)
{
	int n;

	pthread_mutex_lock(&st->lock);
	n = st->n;
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* the fd stored under a name ending in suffix (the store's), or -1 */
static int store_fd_of(struct store *st, const char *suffix);

static int store_find(struct store *st, const char *suffix)
{
	int found = -1;

	pthread_mutex_lock(&st->lock);
	for (int i = 0; i < st->n; i++) {
		size_t a = strlen(st->names[i]), b = strlen(suffix);

		if (a >= b && strcmp(st->names[i] + a - b, suffix) == 0)
			found = i;
	}
	pthread_mutex_unlock(&st->lock);
	return found;
}

static int store_fd_of(struct store *st, const char *suffix)
{
	int i = store_find(st, suffix), fd;

	pthread_mutex_lock(&st->lock);
	fd = i >= 0 ? st->fds[i] : -1;
	pthread_mutex_unlock(&st->lock);
	return fd;
}

START_TEST(test_commit)
{
	char dir[] = "/tmp/cjtest.XXXXXX", path[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct store st = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct ho_state *s, *back;
	struct cj_recovery r;
	struct cjournal *j;
	pthread_t t;
	int pa[2], pb[2], idx, fd;
	char c = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	strcpy(sa.sun_path, path);
	st.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(st.sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(pthread_create(&t, NULL, store_thread, &st), 0);
	ck_assert_int_eq(pipe2(pa, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pb, O_CLOEXEC), 0);

	ck_assert_int_eq(cj_open(3, &j), 0);
	cj_queue_changed(j, 1, false);
	/* snapshot 1: two named fds and one without a name */
	ck_assert_int_eq(ho_new(&s), 0);
	idx = ho_put_fd_named(s, pa[1], "a");
	ck_assert_int_eq(idx, 0);
	ck_assert_int_eq(ho_put_fd_named(s, pb[1], "b"), 1);
	ck_assert_int_eq(ho_put_fd(s, pb[0]), 2);
	json_object_object_add(ho_root(s), "mark", json_object_new_int(1));
	ck_assert_int_eq(cj_commit(j, s, cj_gen(j)), 0);
	ho_free(s);
	ck_assert_int_ge(__atomic_load_n(&st.barriers, __ATOMIC_ACQUIRE), 1);
	ck_assert_int_ge(store_find(&st, "-a"), 0);
	ck_assert_int_ge(store_find(&st, "-b"), 0);
	ck_assert_int_ge(store_find(&st, "-s1"), 0);
	ck_assert_int_eq(store_count(&st), 3);	/* the unnamed one is not stored */
	/* snapshot 2 without "a": it leaves the store, so does snapshot 1 */
	ck_assert_int_eq(ho_new(&s), 0);
	ck_assert_int_eq(ho_put_fd_named(s, pb[1], "b"), 0);
	json_object_object_add(ho_root(s), "mark", json_object_new_int(2));
	ck_assert_int_eq(cj_commit(j, s, cj_gen(j)), 0);
	ho_free(s);
	/* the removals need no answer: wait until the store thread had them */
	for (int i = 0; i < 500 && store_find(&st, "-s1") >= 0; i++)
		usleep(10000);
	ck_assert_int_lt(store_find(&st, "-a"), 0);
	ck_assert_int_lt(store_find(&st, "-s1"), 0);
	ck_assert_int_ge(store_find(&st, "-s2"), 0);
	ck_assert_int_eq(store_count(&st), 2);

	/* what a successor reads: the journal names snapshot 2, its fd "b" */
	ck_assert_int_eq(cj_read(cj_fd(j), &r), 0);
	ck_assert_ptr_nonnull(r.snap_name);
	ck_assert_int_eq(store_find(&st, r.snap_name + strlen(r.snap_name) - 3), store_find(&st, "-s2"));
	ck_assert_uint_gt(cj_live_gen(&r, 1), 0);
	ck_assert_uint_le(cj_live_gen(&r, 1), r.snap_gen);
	ck_assert_int_eq(ho_new(&back), 0);
	fd = store_fd_of(&st, "-s2");
	/* no raw fds: the name in "fdnames" is a hole, the document reads */
	ck_assert_int_eq(ho_load_snapshot(back, fd), 0);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(ho_root(back), "mark")), 2);
	ck_assert_int_eq(ho_nfds(back), 1);
	ck_assert_int_eq(ho_take_fd(back, 0), -EBADF);
	ho_free(back);
	/* the stored "b" is the pipe's write end */
	ck_assert_int_eq(write(store_fd_of(&st, "-b"), "x", 1), 1);
	ck_assert_int_eq(read(pb[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	cj_recovery_fini(&r);

	cj_free(j);
	__atomic_store_n(&st.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	for (int i = 0; i < st.n; i++)
		close(st.fds[i]);
	close(st.sock);
	unlink(path);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("cjournal");
	TCase *tc = tcase_create("cjournal");

	tcase_add_test(tc, test_live_table);
	tcase_add_test(tc, test_inflight_table);
	tcase_add_test(tc, test_read_slots);
	tcase_add_test(tc, test_request_wants_answer);
	tcase_add_test(tc, test_commit);
	suite_add_tcase(su, tc);
	return unit_run(su);
}
