/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * restart-client - clients in the middle of their work while uacced
 * restarts live (test/integ/run-restart.sh).  Each SPEC runs in a thread of
 * its own on ONE queue opened at the start (the same fd all along):
 *
 *   dummy:DEV   memcpy requests of varying sizes, each checked byte for byte
 *               (SVA: heap buffers; non-SVA: the SS)
 *   zip:DEV     whole-buffer gzip compress, then decompress, of varying
 *               data, checked against the input
 *   hisi:DEV    a hisi_qm_v2 queue (SVA) driven by its rings as UADK does:
 *               one whole-buffer gzip compress at a time (SQE, SQ doorbell,
 *               the CQE's phase, CQ doorbell), inflated here and checked
 *   poll:DEV    a dummy queue with nothing outstanding sits in poll(2) on
 *               its fd; once the file DIR/go exists, another thread queues a
 *               request: the poll must wake (the poller blocked before the
 *               restart), and the copy must be right
 *
 * -s BYTES caps the size of dummy requests (default 256 KiB; a device whose
 * DMA is slow, QEMU's edu through hwbackends/vfio, wants a few KiB).
 *
 * It works until DIR/stop exists (or -t seconds), then writes one JSON
 * line per spec: requests done, errors (the first one's text), the fd it
 * used, the slowest request (the pause a restart caused) and its p50.
 * Exit status: 0 when every spec did work and had no error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <zlib.h>

#include "uacce/dummy_usr_if.h"
#include "uacce/hisi_qm.h"
#include "uacce/libuacce.h"
#include "uacce/wd.h"
#include "uacce/zip.h"

#define MAX_SPECS 16
#define MAX_LAT 200000
#define WAIT_MS 60000		/* one request's limit: far beyond any restart */

struct spec {
	char kind[8];
	char dev[96];
	pthread_t thread;
	unsigned long requests, errors;
	char first_error[256];
	int fd;
	uint64_t max_ns;
	uint64_t *lat;
	unsigned long nlat;
	bool sva;
};

static const char *dir = ".";
static double seconds;
static size_t dummy_max = 256 << 10;	/* -s */
static uint64_t t_end;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool exists(const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static bool done(void)
{
	return exists("stop") || (t_end && now_ns() > t_end);
}

static void fail(struct spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct spec *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->errors++) {
		va_start(ap, fmt);
		vsnprintf(s->first_error, sizeof(s->first_error), fmt, ap);
		va_end(ap);
		fprintf(stderr, "restart-client: %s:%s: %s\n", s->kind, s->dev, s->first_error);
	}
}

static void lat_add(struct spec *s, uint64_t ns)
{
	if (ns > s->max_ns)
		s->max_ns = ns;
	if (s->nlat < MAX_LAT)
		s->lat[s->nlat++] = ns;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		/* compressible: runs of few values */
		p[i] = (unsigned char)((x >> 24) & 0x0f);
	}
}

/* one memcpy on q from src to dst, checked; 0 or -errno (recorded) */
static int copy_once(struct spec *s, struct wd_queue *q, unsigned char *src, unsigned char *dst,
		     size_t n, unsigned long i)
{
	struct wd_dummy_cpy_msg m = { .src_addr = (char *)src, .tgt_addr = (char *)dst,
				      .size = n, .ptr = (void *)(uintptr_t)(i + 1) };
	void *resp = NULL;
	uint64_t t;
	int err;

	fill(src, n, (uint32_t)i);
	memset(dst, 0xa5, n);
	t = now_ns();
	do {
		err = wd_send(q, &m);
	} while (err == -EBUSY && !done());
	if (!err) {
		do {
			err = wd_recv_sync(q, &resp, WAIT_MS);
		} while (err == 0);
	}
	lat_add(s, now_ns() - t);
	if (err < 0) {
		fail(s, "request %lu: %s", i, strerror(-err));
		return err;
	}
	if (resp != m.ptr || memcmp(src, dst, n) != 0) {
		fail(s, "request %lu (%zu bytes): the copy differs", i, n);
		return -EIO;
	}
	s->requests++;
	return 0;
}

static int open_dummy(struct spec *s, struct wd_queue *q, size_t bytes, unsigned char **src,
		      unsigned char **dst)
{
	int err;

	memset(q, 0, sizeof(*q));
	q->capa.alg = "memcpy";
	snprintf(q->dev_path, sizeof(q->dev_path), "%s", s->dev);
	err = wd_request_queue(q);
	if (err) {
		fail(s, "wd_request_queue: %s", strerror(-err));
		return err;
	}
	s->fd = q->fd;
	s->sva = q->dev_flags & UACCE_DEV_SVA;
	if (s->sva) {
		*src = malloc(bytes);
		*dst = malloc(bytes);
	} else {
		unsigned char *ss = wd_reserve_memory(q, 2 * bytes);

		*src = ss;
		*dst = ss ? ss + bytes : NULL;
	}
	if (!*src || !*dst) {
		fail(s, "buffers: %s", strerror(errno));
		wd_release_queue(q);
		return -ENOMEM;
	}
	return 0;
}

static void close_dummy(struct spec *s, struct wd_queue *q, unsigned char *src, unsigned char *dst)
{
	if (s->sva) {
		free(src);
		free(dst);
	}
	wd_release_queue(q);
}

static void run_dummy(struct spec *s)
{
	const size_t max = dummy_max;
	unsigned char *src, *dst;
	struct wd_queue q;

	if (open_dummy(s, &q, max, &src, &dst))
		return;
	/* an error ends the work: a queue that failed once (ENODEV) stays so */
	for (unsigned long i = 0; !done(); i++)
		if (copy_once(s, &q, src, dst, 1 + (i * 7919) % max, i))
			break;
	close_dummy(s, &q, src, dst);
}

static void run_zip(struct spec *s)
{
	const size_t max = 256 << 10;
	struct uacce_zip *z;
	unsigned char *in, *mid, *out;
	size_t cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, max);
	int err = uacce_zip_open(s->dev, 8 << 20, &z);

	if (err) {
		fail(s, "uacce_zip_open: %s", strerror(-err));
		return;
	}
	s->fd = uacce_queue_fd(uacce_zip_queue(z));
	s->sva = uacce_zip_is_sva(z);
	in = uacce_zip_alloc(z, max);
	mid = uacce_zip_alloc(z, cap);
	out = uacce_zip_alloc(z, max);
	if (!in || !mid || !out) {
		fail(s, "buffers: %s", strerror(errno));
		uacce_zip_close(z);
		return;
	}
	for (unsigned long i = 0; !done(); i++) {
		size_t n = 1 + (i * 7919) % max, clen = 0, dlen = 0;
		uint64_t t = now_ns();

		fill(in, n, (uint32_t)i);
		err = uacce_zip_run(z, UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, 1, in, n, mid,
				    cap, &clen);
		if (!err)
			err = uacce_zip_run(z, UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, 0, mid,
					    clen, out, max, &dlen);
		lat_add(s, now_ns() - t);
		if (err) {
			fail(s, "request %lu: %s", i, strerror(-err));
			break;
		}
		if (dlen != n || memcmp(in, out, n) != 0) {
			fail(s, "request %lu: %zu bytes came back as %zu other bytes", i, n, dlen);
			break;
		}
		s->requests++;
	}
	uacce_zip_close(z);
}

/* the hisi_qm_v2 queue's rings (uacce/hisi_qm.h), one request at a time */
struct hq {
	struct uacce_q *q;
	struct hisi_zip_sqe *sq;
	struct hisi_qm_cqe *cq;
	volatile uint64_t *db;
	uint16_t qn, phase;
	uint32_t tail, head;
};

static void hq_ring(struct hq *h, unsigned cmd, uint32_t index)
{
	__atomic_store_n(h->db, HISI_QM_DB(h->qn, cmd, index, 0), __ATOMIC_SEQ_CST);
}

/* one request: its slot's results into *r; -errno */
static int hq_do(struct hq *h, const struct hisi_zip_sqe *e, struct hisi_zip_sqe *r)
{
	uint64_t end = now_ns() + (uint64_t)WAIT_MS * 1000000;
	struct hisi_qm_cqe *c = &h->cq[h->head];
	unsigned spins = 0;

	memcpy(&h->sq[h->tail], e, sizeof(*e));
	h->tail = (h->tail + 1) % HISI_QM_Q_DEPTH;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	hq_ring(h, HISI_QM_DB_CMD_SQ, h->tail);
	while ((__atomic_load_n(&c->w7, __ATOMIC_ACQUIRE) & 1) != h->phase) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		if (++spins > 100)
			usleep(50);
	}
	if (c->sq_head >= HISI_QM_Q_DEPTH)
		return -EIO;
	memcpy(r, &h->sq[c->sq_head], sizeof(*r));
	if (++h->head == HISI_QM_Q_DEPTH) {
		h->head = 0;
		h->phase ^= 1;
	}
	hq_ring(h, HISI_QM_DB_CMD_CQ, h->head);
	return 0;
}

static void run_hisi(struct spec *s)
{
	static const uint8_t gzip_hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	const size_t max = 128 << 10;
	struct hisi_qp_ctx ctx = { .qc_type = 0 };	/* compress */
	struct hq h = { .phase = 1 };
	unsigned char *in = malloc(max), *out = malloc(max + 1024), *back = malloc(max);
	void *mmio = NULL, *dus = NULL;
	int err = uacce_queue_open(s->dev, &h.q);

	if (err || !in || !out || !back) {
		fail(s, "open: %s", strerror(err ? -err : ENOMEM));
		goto out;
	}
	s->fd = uacce_queue_fd(h.q);
	s->sva = true;
	err = uacce_map_region(h.q, UACCE_QFRT_DUS, HISI_QM_DUS_SIZE, &dus);
	if (!err)
		err = uacce_map_region(h.q, UACCE_QFRT_MMIO, HISI_QM_MMIO_SIZE, &mmio);
	if (!err && ioctl(s->fd, UACCE_CMD_QM_SET_QP_CTX, &ctx) < 0)
		err = -errno;
	if (!err)
		err = uacce_queue_start(h.q);
	if (err) {
		fail(s, "setup: %s", strerror(-err));
		goto out;
	}
	h.qn = ctx.id;
	h.sq = dus;
	h.cq = (struct hisi_qm_cqe *)((char *)dus + HISI_QM_CQ_OFFSET);
	h.db = (volatile uint64_t *)((char *)mmio + HISI_QM_DB_OFFSET);
	for (unsigned long i = 0; !done(); i++) {
		size_t n = 1 + (i * 7919) % max;
		struct hisi_zip_sqe e = { 0 }, r;
		uLongf blen = max;
		uint64_t t = now_ns();

		fill(in, n, (uint32_t)i);
		memcpy(out, gzip_hdr, sizeof(gzip_hdr));
		e.dw9 = HISI_ZIP_GZIP;
		e.dw7 = HISI_ZIP_STREAM_NEW | HISI_ZIP_FLUSH_FINISH;
		e.input_data_length = (uint32_t)n;
		e.dest_avail_out = (uint32_t)(max + 1024 - sizeof(gzip_hdr));
		e.source_addr_l = (uint32_t)(uintptr_t)in;
		e.source_addr_h = (uint32_t)((uintptr_t)in >> 32);
		e.dest_addr_l = (uint32_t)(uintptr_t)(out + sizeof(gzip_hdr));
		e.dest_addr_h = (uint32_t)((uintptr_t)(out + sizeof(gzip_hdr)) >> 32);
		e.dw13 = (uint32_t)i;
		err = hq_do(&h, &e, &r);
		lat_add(s, now_ns() - t);
		if (err) {
			fail(s, "request %lu: %s", i, strerror(-err));
			break;
		}
		if (r.dw13 != (uint32_t)i || ((r.dw3 & 0xff) != HISI_ZIP_OK &&
					      (r.dw3 & 0xff) != HISI_ZIP_NEGACOMPRESS)) {
			fail(s, "request %lu: tag %u, status 0x%x", i, r.dw13, r.dw3 & 0xff);
			break;
		}
		{
			z_stream z = { .next_in = out, .avail_in = (uInt)(sizeof(gzip_hdr) + r.produced),
				       .next_out = back, .avail_out = (uInt)blen };
			int zr = inflateInit2(&z, 31);

			if (zr == Z_OK)
				zr = inflate(&z, Z_FINISH);
			blen = z.total_out;
			inflateEnd(&z);
			if (zr != Z_STREAM_END || blen != n || memcmp(in, back, n) != 0) {
				fail(s, "request %lu: %zu bytes did not come back (zlib %d, %lu bytes)",
				     i, n, zr, (unsigned long)blen);
				break;
			}
		}
		s->requests++;
	}
out:
	if (h.q)
		uacce_queue_close(h.q);
	free(in);
	free(out);
	free(back);
}

struct kick {
	struct spec *s;
	struct wd_queue *q;
	unsigned char *src, *dst;
	struct wd_dummy_cpy_msg m;
	int err;
};

static void *kicker(void *arg)
{
	struct kick *k = arg;

	while (!exists("go") && !done())
		usleep(20000);
	fill(k->src, 4096, 77);
	memset(k->dst, 0, 4096);
	k->m = (struct wd_dummy_cpy_msg){ .src_addr = (char *)k->src, .tgt_addr = (char *)k->dst,
					  .size = 4096, .ptr = (void *)(uintptr_t)77 };
	k->err = wd_send(k->q, &k->m);
	return NULL;
}

static void run_poll(struct spec *s)
{
	struct pollfd p;
	struct wd_queue q;
	struct kick k = { .s = s, .q = &q };
	pthread_t t;
	void *resp = NULL;
	uint64_t t0;
	int n, err;

	if (open_dummy(s, &q, 4096, &k.src, &k.dst))
		return;
	if (pthread_create(&t, NULL, kicker, &k)) {
		fail(s, "thread: %s", strerror(errno));
		close_dummy(s, &q, k.src, k.dst);
		return;
	}
	p = (struct pollfd){ .fd = q.fd, .events = POLLIN };
	t0 = now_ns();
	/* nothing outstanding: only the kicker's request can wake us */
	do {
		n = poll(&p, 1, 1000);
	} while ((n == 0 && !done()) || (n < 0 && errno == EINTR));
	pthread_join(t, NULL);
	lat_add(s, now_ns() - t0);
	if (n <= 0) {
		fail(s, "the poll never woke (%s)", n < 0 ? strerror(errno) : "stopped first");
	} else if (k.err) {
		fail(s, "the kicker's request: %s", strerror(-k.err));
	} else if (!(p.revents & POLLIN)) {
		fail(s, "poll woke with revents 0x%x", (unsigned)p.revents);
	} else {
		err = wd_recv_sync(&q, &resp, WAIT_MS);
		if (err < 0 || resp != k.m.ptr || memcmp(k.src, k.dst, 4096) != 0)
			fail(s, "the woken request: %s", err < 0 ? strerror(-err) : "wrong copy");
		else
			s->requests++;
	}
	/* then work like dummy: the queue keeps serving */
	for (unsigned long i = 0; !done(); i++)
		if (copy_once(s, &q, k.src, k.dst, 1 + (i * 131) % 4096, i))
			break;
	close_dummy(s, &q, k.src, k.dst);
}

static void *spec_thread(void *arg)
{
	struct spec *s = arg;

	if (strcmp(s->kind, "dummy") == 0)
		run_dummy(s);
	else if (strcmp(s->kind, "zip") == 0)
		run_zip(s);
	else if (strcmp(s->kind, "hisi") == 0)
		run_hisi(s);
	else
		run_poll(s);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: restart-client [-d DIR] [-t SECONDS] [-s MAX_DUMMY_BYTES] SPEC...\n"
		   "SPEC: dummy:DEV | zip:DEV | hisi:DEV | poll:DEV.  Works until DIR/stop exists.\n");
}

int main(int argc, char **argv)
{
	struct spec specs[MAX_SPECS];
	int n = 0, c, rc = 0;

	while ((c = getopt(argc, argv, "d:t:s:h")) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 's':
			dummy_max = strtoul(optarg, NULL, 0);
			if (dummy_max < 1 || dummy_max > (64u << 20)) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (seconds > 0)
		t_end = now_ns() + (uint64_t)(seconds * 1e9);
	memset(specs, 0, sizeof(specs));
	for (; optind < argc && n < MAX_SPECS; optind++, n++) {
		struct spec *s = &specs[n];
		const char *colon = strchr(argv[optind], ':');

		if (!colon || colon == argv[optind] || (size_t)(colon - argv[optind]) >= sizeof(s->kind) ||
		    (strncmp(argv[optind], "dummy:", 6) && strncmp(argv[optind], "zip:", 4) &&
		     strncmp(argv[optind], "poll:", 5) &&
		     strncmp(argv[optind], "hisi:", 5))) {
			usage(stderr);
			return 2;
		}
		memcpy(s->kind, argv[optind], (size_t)(colon - argv[optind]));
		snprintf(s->dev, sizeof(s->dev), "%s", colon + 1);
		s->fd = -1;
		s->lat = calloc(MAX_LAT, sizeof(*s->lat));
		if (!s->lat)
			return 1;
	}
	if (!n) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < n; i++)
		if (pthread_create(&specs[i].thread, NULL, spec_thread, &specs[i]))
			return 1;
	for (int i = 0; i < n; i++) {
		struct spec *s = &specs[i];
		char err[300];

		pthread_join(s->thread, NULL);
		qsort(s->lat, s->nlat, sizeof(*s->lat), cmp_u64);
		snprintf(err, sizeof(err), "%s", s->first_error);
		for (char *p = err; *p; p++)
			if (*p == '"' || *p == '\\')
				*p = '\'';
		printf("{\"spec\":\"%s:%s\",\"sva\":%s,\"fd\":%d,\"requests\":%lu,\"errors\":%lu,"
		       "\"first_error\":\"%s\",\"max_ms\":%.3f,\"p50_us\":%.1f}\n",
		       s->kind, s->dev, s->sva ? "true" : "false", s->fd, s->requests, s->errors,
		       err, s->max_ns / 1e6, s->nlat ? s->lat[s->nlat / 2] / 1e3 : 0.0);
		if (s->errors || !s->requests)
			rc = 1;
		free(s->lat);
	}
	return rc;
}
