/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: requests through the ring (FLUSH, bad requests, poll wake-up) */
#include "abi-common.h"

void sc_flush(const char *dev)
{
	unsigned char *src, *dst, *heap = NULL;
	struct rawq r;
	int e;

	set_ctx(dev, "flush");
	if (rawq_open(&r, dev, SS_SIZE))
		return;
	expect("DUMMY_CMD_FLUSH on an empty ring after START", xioctl(r.fd, DUMMY_CMD_FLUSH, 0), 0);
	if (r.sva) {
		heap = malloc(8192);
		src = heap;
		dst = heap + 4096;
	} else {
		src = r.ss;
		dst = r.ss + 4096;
	}
	fill(src, 4096, 7);
	memset(dst, 0, 4096);
	rawq_submit(&r, src, dst, 4096, false);	/* no wake-up: FLUSH must do it */
	e = xioctl(r.fd, DUMMY_CMD_FLUSH, 0);
	expect("DUMMY_CMD_FLUSH with one request queued", e, 0);
	if (!e) {
		char got[64];
		bool done = rawq_done(&r);

		snprintf(got, sizeof(got), "tail %u head %u", r.reg->tail, r.head);
		expect_true("the request is complete when FLUSH returns", done, got);
		if (done) {
			uint32_t ret = rawq_take(&r);

			snprintf(got, sizeof(got), "ret %u", ret);
			expect_true("its ret is 0", ret == 0, got);
			expect_true("the bytes were copied", memcmp(src, dst, 4096) == 0,
				    "different bytes");
		}
	}
	free(heap);
	rawq_close(&r);
}


/* a request that must fail on the device, not in the daemon */
static void expect_bad(struct wd_queue *q, const char *what, void *dst, const void *src, size_t size)
{
	int r = wd_copy(q, dst, src, size, 99);

	if (r != 0 && r != ETIMEDOUT && r != EPROTO && r != ENOTCONN)
		ok("%s -> request failed (ret %d, %s)", what, r, ename(r));
	else
		fail("%s: expected a non-zero ret got %s", what, r ? ename(r) : "ret 0");
}

/* a copy the device must refuse; `victim` (len bytes) must stay unchanged */
static void expect_refused(struct wd_queue *q, const char *what, void *dst, const void *src,
			   size_t len, const unsigned char *victim)
{
	unsigned char before[256];
	int r;

	memcpy(before, victim, len);
	r = wd_copy(q, dst, src, len, 97);
	if (r == 0)
		fail("%s: the request succeeded (%s)", what,
		     memcmp(before, victim, len) ? "the bytes were written" : "nothing changed");
	else if (memcmp(before, victim, len))
		fail("%s: failed (ret %d) but the bytes changed", what, r);
	else
		ok("%s -> request failed (ret %d), bytes unchanged", what, r);
}

static void code_here(void) { }

/*
 * Software SVA through /proc/<pid>/mem would force its way through any
 * protection: the device must check them (issue 11 item 8).
 */
static void sva_protections(struct wd_queue *q, unsigned char *heap)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	unsigned char *wr, *ro, *none, *rw, *code;
	int r;

	if (m == MAP_FAILED) {
		fail("mmap: %s", strerror(errno));
		return;
	}
	wr = m;			/* writable, followed by */
	ro = m + pg;		/* a read-only page, */
	none = m + 2 * pg;	/* an inaccessible one, */
	rw = m + 3 * pg;	/* and one whose protection changes */
	fill(m, 4 * pg, 5);
	fill(heap, 128, 4);
	mprotect(ro, pg, PROT_READ);
	mprotect(none, pg, PROT_NONE);
	expect_refused(q, "write into a PROT_READ page", ro, heap, 64, ro);
	expect_refused(q, "write straddling a writable and a PROT_READ page", ro - 32, heap, 64,
		       ro - 32);
	r = wd_copy(q, heap + 64, none, 64, 96);
	expect_true("read from a PROT_NONE page -> request failed", r != 0, "ret 0");
	/* the owner's code: reading it is fine, writing must fail */
	code = (unsigned char *)((uintptr_t)&code_here & ~(uintptr_t)(pg - 1));
	expect("read of the owner's own code", wd_copy(q, heap + 64, code, 64, 95), 0);
	expect_refused(q, "write into the owner's own code", code, heap, 64, code);
	/* no stale verdict: writable, then read-only, then writable again */
	expect("write into a writable page", wd_copy(q, rw, heap, 64, 94), 0);
	expect_true("the bytes arrived", memcmp(rw, heap, 64) == 0, "different bytes");
	mprotect(rw, pg, PROT_READ);
	fill(heap, 64, 8);
	expect_refused(q, "write into the same page once PROT_READ", rw, heap, 64, rw);
	mprotect(rw, pg, PROT_READ | PROT_WRITE);
	expect("write into it once writable again", wd_copy(q, rw, heap, 64, 93), 0);
	expect("a write into the writable page before the read-only one",
	       wd_copy(q, wr, heap, 64, 92), 0);
	munmap(m, 4 * pg);
}

void sc_bad_requests(const char *dev)
{
	struct wd_queue q;
	unsigned char *ss, *heap, stackbuf[64];
	bool sva = is_sva(dev);

	set_ctx(dev, "bad-requests");
	if (request_wd(&q, dev))
		return;
	heap = malloc(8192);
	if (!sva) {
		ss = wd_reserve_memory(&q, SS_SIZE);
		if (!ss) {
			fail("reserve SS: %s", strerror(errno));
			goto out;
		}
		expect_bad(&q, "source outside SS (heap)", ss, heap, 4096);
		expect_bad(&q, "target outside SS (stack)", stackbuf, ss, sizeof(stackbuf));
		expect_bad(&q, "source runs past the end of SS", ss, ss + SS_SIZE - 2048, 4096);
		expect_bad(&q, "NULL source", ss, NULL, 16);
		expect_bad(&q, "size 2^40", ss + 4096, ss, 1ULL << 40);
		expect_bad(&q, "size wraps the address space", ss + 4096, ss, SIZE_MAX - 10);
	} else {
		void *hole = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		munmap(hole, 8192);
		expect_bad(&q, "unmapped source", heap, hole, 4096);
		expect_bad(&q, "unmapped target", hole, heap, 4096);
		expect_bad(&q, "NULL source", heap, NULL, 16);
		expect_bad(&q, "size 2^40", heap + 4096, heap, 1ULL << 40);
		expect_bad(&q, "source straddles into an unmapped page", heap,
			   (char *)hole + 4096 - 16, 64);
		/* a device behind an IOMMU honours the owner's page protections */
		sva_protections(&q, heap);
	}
	/* garbage in the register page must not hurt the device */
	{
		int type = uacce_region_info(q.uq, UACCE_QFRT_DUS, &(uint64_t){ 0 },
					     &(uint64_t){ 0 }) == 0 ? UACCE_QFRT_DUS : UACCE_QFRT_MMIO;
		struct dummy_hw_queue_reg *reg = uacce_region_addr(q.uq, type);
		uint32_t head = reg->head;

		reg->head = 0x7fffffff;
		expect("DUMMY_CMD_FLUSH with a garbage head", xioctl(q.fd, DUMMY_CMD_FLUSH, 0), 0);
		sleep_ms(20);
		reg->head = head;
		reg->tail = 12345;	/* the device keeps its own tail */
		sleep_ms(20);
		expect_true("daemon alive after garbage in the register page", daemon_alive(), "dead");
		reg->tail = head;
	}
	check_copy("a good request on the same queue afterwards", &q);
	expect_true("daemon still running", daemon_alive(), "no daemon");
out:
	free(heap);
	wd_release_queue(&q);
	{
		struct wd_queue q2;

		if (request_wd(&q2, dev) == 0) {
			if (!sva && !wd_reserve_memory(&q2, SS_SIZE))
				fail("reserve SS: %s", strerror(errno));
			check_copy("a new queue copies afterwards", &q2);
			wd_release_queue(&q2);
		}
	}
}

struct submitter {
	struct rawq *r;
	const void *src;
	void *dst;
	bool kick;
	int delay_ms;
	double t_submit;
};

static void *submit_later(void *arg)
{
	struct submitter *s = arg;

	sleep_ms(s->delay_ms);
	s->t_submit = now_ms();
	rawq_submit(s->r, s->src, s->dst, 4096, s->kick);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void sc_poll_wakeup(const char *dev)
{
	enum { N = 15 };
	unsigned char *heap = NULL, *src, *dst;
	struct rawq r;

	set_ctx(dev, "poll-wakeup");
	if (rawq_open(&r, dev, SS_SIZE))
		return;
	if (r.sva) {
		heap = malloc(8192);
		src = heap;
		dst = heap + 4096;
	} else {
		src = r.ss;
		dst = r.ss + 4096;
	}
	for (int kick = 1; kick >= 0; kick--) {
		double lat[N];
		int bad = 0, n = 0, rdnorm_missing = 0;

		for (int i = 0; i < N; i++) {
			struct submitter s = { .r = &r, .src = src, .dst = dst, .kick = kick,
					       .delay_ms = 20 + i % 3 * 7 };
			struct pollfd p = { .fd = r.fd, .events = POLLIN | POLLRDNORM };
			pthread_t t;
			int k;

			while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN))	/* drain */
				;
			fill(src, 4096, (uint32_t)i);
			memset(dst, 0, 4096);
			if (pthread_create(&t, NULL, submit_later, &s) != 0) {
				fail("pthread_create");
				break;
			}
			/*
			 * A completion wakes a poller blocked before it happened.
			 * A bound for liveness, not speed: on a loaded machine the
			 * daemon's threads may wait seconds for a CPU (uacce-bench
			 * measures the latency).
			 */
			do {
				k = poll(&p, 1, T(10000));
			} while (k == 1 && !(p.revents & (POLLIN | POLLERR)));
			{
				double t1 = now_ms();

				pthread_join(t, NULL);
				if (k != 1 || !(p.revents & POLLIN)) {
					fail("poll after request %d: expected POLLIN got %d revents 0x%x",
					     i, k, (unsigned)p.revents);
					bad++;
					break;
				}
				lat[n++] = t1 - s.t_submit;
				if (!(p.revents & POLLRDNORM) && !rdnorm_missing++)
					fail("poll after request %d: expected POLLIN|POLLRDNORM got revents 0x%x",
					     i, (unsigned)p.revents);
			}
			if (!rawq_done(&r) || rawq_take(&r) != 0 || memcmp(src, dst, 4096) != 0) {
				bad++;
				fail("request %d: not complete or wrong after POLLIN", i);
			}
		}
		if (n) {
			qsort(lat, (size_t)n, sizeof(lat[0]), cmp_d);
			info("%s: submit -> poll(POLLIN) return over %d requests: min %.2f ms, "
			     "median %.2f ms, max %.2f ms",
			     kick ? "with the libuacce wake-up" : "original client (no wake-up)", n,
			     lat[0], lat[n / 2], lat[n - 1]);
			if (lat[n - 1] < T(10000.0))
				ok("%s: every poll returned within %d ms of the submission (max %.1f ms)",
				   kick ? "with wake-up" : "without wake-up", T(10000), lat[n - 1]);
			else
				fail("%s: poll latency: expected < %d ms got %.1f ms",
				     kick ? "with wake-up" : "without wake-up", T(10000), lat[n - 1]);
		}
		if (!bad && !rdnorm_missing)
			ok("%s: %d requests completed and woke the poller (POLLIN|POLLRDNORM)",
			   kick ? "with wake-up" : "without wake-up", N);
	}
	free(heap);
	rawq_close(&r);
}
