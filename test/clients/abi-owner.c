/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: the owner process (busy device, threads, owner exit, death under load) */
#include "abi-common.h"

void sc_nonsva_busy(const char *dev)
{
	int to_a[2], from_a[2], e, st;
	struct uacce_q *q;
	double t0;
	pid_t a;

	set_ctx(dev, "nonsva-busy");
	if (is_sva(dev)) {
		fail("%s is an SVA device", dev);
		return;
	}
	if (pipe2(to_a, O_CLOEXEC) < 0 || pipe2(from_a, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	a = fork();
	if (a == 0) {	/* process A: hold the device until told */
		struct uacce_q *qa;

		snprintf(ctx, sizeof(ctx), "nonsva-busy %s (process A)", dev);
		if (open_q(dev, &qa) || uacce_queue_start(qa))
			_exit(1);
		put_byte(from_a[1], 'R');
		if (get_byte(to_a[0], 10000) != 'C')
			_exit(2);
		uacce_queue_close(qa);
		put_byte(from_a[1], 'D');
		get_byte(to_a[0], 10000);	/* stay alive: only the close released it */
		_exit(0);
	}
	if (a < 0) {
		fail("fork: %s", strerror(errno));
		return;
	}
	if (get_byte(from_a[0], 5000) != 'R') {
		fail("process A could not open %s", dev);
		child_status(a, 1000);
		return;
	}
	e = uacce_queue_open(dev, &q);
	if (!e)
		uacce_queue_close(q);
	expect("open by a second process while A holds it", -e, EBUSY);
	if (sva_dev) {
		e = uacce_queue_open(sva_dev, &q);
		if (!e)
			uacce_queue_close(q);
		{
			char what[160];

			snprintf(what, sizeof(what), "open of the SVA device %s meanwhile", sva_dev);
			expect(what, -e, 0);
		}
	}
	put_byte(to_a[1], 'C');
	if (get_byte(from_a[0], 5000) != 'D') {
		fail("process A did not close");
	} else {
		t0 = now_ms();
		while ((e = uacce_queue_open(dev, &q)) == -EBUSY && now_ms() - t0 < T(1000))
			sleep_ms(2);
		info("open succeeded %.1f ms after A's close() returned", now_ms() - t0);
		if (expect("open by the second process after A closed (A still alive)", -e, 0)) {
			expect("UACCE_CMD_START by the second process", -uacce_queue_start(q), 0);
			uacce_queue_close(q);
		}
	}
	put_byte(to_a[1], 'X');
	st = child_status(a, 5000);
	if (st != 0)
		fail("process A: expected exit 0 got %d", st);
	close(to_a[0]);
	close(to_a[1]);
	close(from_a[0]);
	close(from_a[1]);
}


/* the owner is the process: a queue opened by a thread that exits keeps working */
struct opener {
	const char *dev;
	struct wd_queue *q;
	int err;
};

static void *open_in_thread(void *arg)
{
	struct opener *o = arg;
	struct wd_queue *q = o->q;

	o->err = request_wd(q, o->dev);
	if (!o->err && !(q->dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(q, SS_SIZE))
		o->err = errno;
	return NULL;
}

static void *flush_in_thread(void *arg)
{
	struct wd_queue *q = arg;

	return (void *)(intptr_t)xioctl(q->fd, DUMMY_CMD_FLUSH, 0);
}

void sc_threads(const char *dev)
{
	struct wd_queue q;
	struct opener o = { .dev = dev, .q = &q };
	pthread_t t;
	void *ret;

	set_ctx(dev, "threads");
	if (pthread_create(&t, NULL, open_in_thread, &o) != 0) {
		fail("pthread_create");
		return;
	}
	pthread_join(t, NULL);
	if (!expect("a thread opens, starts and maps a queue, then exits", o.err, 0)) {
		if (q.uq)
			wd_release_queue(&q);
		return;
	}
	check_copy("the main thread copies on it", &q);
	if (pthread_create(&t, NULL, flush_in_thread, &q) == 0) {
		pthread_join(t, &ret);
		expect("DUMMY_CMD_FLUSH from another thread of the owner", (int)(intptr_t)ret, 0);
	}
	expect("DUMMY_CMD_FLUSH from the main thread", xioctl(q.fd, DUMMY_CMD_FLUSH, 0), 0);
	wd_release_queue(&q);
}

/*
 * The owner exits while a process it forked still holds the fd: the queue
 * is freed at once (instances back, a non-SVA device free again), and the
 * holder is refused.
 */
void sc_owner_exit(const char *dev)
{
	int to_h[2], from[2], n0, v, st;
	struct uacce_q *q;
	char got[64];
	pid_t o;

	set_ctx(dev, "owner-exit");
	n0 = avail(dev);
	if (pipe2(to_h, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	o = fork();
	if (o == 0) {	/* the owner: open, start, fork the holder, exit */
		struct wd_queue wq;
		pid_t h;

		snprintf(ctx, sizeof(ctx), "owner-exit %s (owner)", dev);
		if (request_wd(&wq, dev))
			_exit(1);
		if (!(wq.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&wq, SS_SIZE))
			_exit(1);
		fflush(stdout);
		h = fork();
		if (h == 0) {	/* the holder: wait, then try the queue */
			struct pollfd p = { .fd = wq.fd, .events = POLLIN };
			int n;

			snprintf(ctx, sizeof(ctx), "owner-exit %s (holder)", dev);
			n_fail = 0;
			put_byte(from[1], 'H');
			if (get_byte(to_h[0], 20000) != 'T')
				_exit(2);
			expect("holder: UACCE_CMD_START after the owner exited",
			       xioctl(wq.fd, UACCE_CMD_START, 0), EPERM);
			expect("holder: DUMMY_CMD_FLUSH after the owner exited",
			       xioctl(wq.fd, DUMMY_CMD_FLUSH, 0), EPERM);
			n = poll(&p, 1, T(1000));
			if (n == 1 && (p.revents & POLLERR))
				ok("holder: poll reports POLLERR");
			else
				fail("holder: poll: expected POLLERR got %d revents 0x%x", n,
				     (unsigned)p.revents);
			fflush(stdout);
			put_byte(from[1], n_fail ? 'F' : 'P');
			get_byte(to_h[0], 20000);
			_exit(0);
		}
		if (get_byte(from[0], 5000) != 'H')
			_exit(3);
		_exit(0);	/* exit without closing: the holder keeps the file open */
	}
	if (o < 0) {
		fail("fork: %s", strerror(errno));
		return;
	}
	st = child_status(o, 10000);
	if (!expect_true("the owner opened a queue, forked a holder and exited", st == 0,
			 "an error")) {
		put_byte(to_h[1], 'X');
		return;
	}
	v = wait_avail(dev, n0, 1000);
	snprintf(got, sizeof(got), "%d (max %d) after 1 s", v, n0);
	expect_true("available_instances back to the maximum within 1 s (the holder still has the fd)",
		    v == n0, got);
	if (!is_sva(dev)) {
		int e = uacce_queue_open(dev, &q);

		if (!e)
			uacce_queue_close(q);
		expect("a new process opens the non-SVA device while the holder has the old fd", -e,
		       0);
	}
	put_byte(to_h[1], 'T');
	expect_true("the holder's checks passed", get_byte(from[0], 5000) == 'P', "failures");
	put_byte(to_h[1], 'X');
	close(to_h[0]);
	close(to_h[1]);
	close(from[0]);
	close(from[1]);
}


/*
 * Heavy, not part of "all": the owner of a non-SVA queue is killed while
 * its ring holds long copies and another process polls the inherited fd.
 * The daemon must free the queue and keep serving.
 */
void sc_death_under_load(const char *dev)
{
	size_t sz = (size_t)(getenv("ABI_PROBE_LOAD_MB") ? atol(getenv("ABI_PROBE_LOAD_MB")) : 128)
		    << 20;
	int pp[2], n0, v, st;
	pid_t o, poller = 0, checker;
	char got[96];

	set_ctx(dev, "death-under-load");
	n0 = avail(dev);
	if (pipe2(pp, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	o = fork();
	if (o == 0) {
		struct wd_queue q;
		unsigned char *ss;
		pid_t c;

		snprintf(ctx, sizeof(ctx), "death-under-load %s (owner)", dev);
		if (request_wd(&q, dev))
			_exit(1);
		ss = wd_reserve_memory(&q, 2 * sz);
		if (!ss) {
			fail("reserve %zu MiB of SS: %s", 2 * sz >> 20, strerror(errno));
			_exit(1);
		}
		memset(ss, 1, 2 * sz);
		fflush(stdout);
		c = fork();
		if (c == 0) {	/* polls the inherited fd: every poll is refused */
			for (;;) {
				struct pollfd p = { .fd = q.fd, .events = POLLIN };

				poll(&p, 1, 5);
			}
		}
		for (int i = 0; i < Q_BDS - 1; i++) {
			struct wd_dummy_cpy_msg m = { .src_addr = (char *)ss,
						      .tgt_addr = (char *)ss + sz,
						      .size = sz, .ptr = (void *)1 };

			wd_send(&q, &m);
		}
		if (write(pp[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		for (;;)
			pause();
	}
	if (o < 0 || read(pp[0], &poller, sizeof(poller)) != sizeof(poller)) {
		fail("the owner could not set up");
		if (o > 0)
			child_status(o, 1000);
		return;
	}
	sleep_ms(20);
	kill(o, SIGKILL);
	waitpid(o, &st, 0);
	ok("owner killed with %d copies of %zu MiB in its ring, pid %d polling its fd",
	   Q_BDS - 1, sz >> 20, (int)poller);
	v = wait_avail(dev, n0, 10000);
	snprintf(got, sizeof(got), "%d (max %d) after 10 s", v, n0);
	expect_true("available_instances back to the maximum", v == n0, got);
	fflush(stdout);
	checker = fork();	/* a fresh client; it may hang if the daemon is wedged */
	if (checker == 0) {
		struct wd_queue q;

		snprintf(ctx, sizeof(ctx), "death-under-load %s (new client)", sva_dev ? sva_dev : dev);
		n_fail = 0;
		if (request_wd(&q, sva_dev ? sva_dev : dev))
			_exit(1);
		if (!(q.dev_flags & UACCE_DEV_SVA) && !wd_reserve_memory(&q, SS_SIZE))
			_exit(1);
		check_copy("a copy by a new client", &q);
		wd_release_queue(&q);
		_exit(n_fail ? 1 : 0);
	}
	st = child_status(checker, 10000);
	expect_true("the daemon serves a new client within 10 s", st == 0,
		    st < 0 ? "no answer: the daemon is wedged" : "an error");
	kill(poller, SIGKILL);
	close(pp[0]);
	close(pp[1]);
}
