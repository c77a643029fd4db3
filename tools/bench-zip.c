/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-zip.c - compression throughput, side by side in one run: 1 MiB
 * gzip requests through a uacce zip device with 1 and 2 queues (a client
 * thread per queue, `depth` requests in flight each), and the same buffers
 * compressed in-process by zlib and by libdeflate on 1 and 2 threads and
 * by ISA-L (igzip) on 1; then the same buffers, made gzip members by
 * libdeflate 6, decompressed through the device (whole-buffer requests, 1
 * queue) and in-process by libdeflate, ISA-L and zlib.
 * Every configuration runs `rounds` times, interleaved, and keeps its best
 * round, so a burst of load from elsewhere on a shared machine hurts less.
 *
 * The corpus is what Debian packages ship: the common licenses and the
 * man pages (uncompressed), in name order; or a file given by the user.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include <dirent.h>
#include <sys/ioctl.h>
#include <uacce/hisi_qm.h>
#include <uacce/libuacce.h>
#include <uacce/zip.h>

#include "bench-progress.h"
#include "bench-util.h"
#include "bench-zip.h"

struct corpus {
	unsigned char *data;
	size_t len, cap, nbuf, buf;
	int files;
	unsigned char *gz;	/* buffer i as a gzip member (libdeflate 6) at gz + i * gzcap */
	size_t *gzlen, gzcap;
};

static const char *const cfg_name[ZB_NCFG] = {
	[ZB_DEV1] = "device_1q", [ZB_DEV2] = "device_2q", [ZB_LD1] = "libdeflate_1t",
	[ZB_LD2] = "libdeflate_2t", [ZB_Z1] = "zlib_1t", [ZB_Z2] = "zlib_2t",
	[ZB_HISI1] = "hisi_qm_v2_1q", [ZB_ISAL1] = "isal_1t", [ZB_ISAL3] = "isal_level3_1t",
};

/* --- the corpus --------------------------------------------------------------- */

/* append a file, gunzipped if it is gzip (gzread passes plain files through) */
static void append_file(struct corpus *c, const char *path, size_t want)
{
	gzFile f = gzopen(path, "rb");
	int n;

	if (!f)
		return;
	while (c->len < want && (n = gzread(f, c->data + c->len,
					    (unsigned)(want - c->len < 65536 ? want - c->len : 65536))) > 0)
		c->len += (size_t)n;
	gzclose(f);
	c->files++;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* regular files of dir (not symlinks: GPL -> GPL-3 would repeat), by name */
static void append_dir(struct corpus *c, const char *dir, size_t want)
{
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	struct stat st;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (c->len < want && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			append_file(c, path, want);
		free(names[i]);
	}
	free(names);
}

/* deterministic English-like text, when the machine ships too little */
static void top_up(struct corpus *c, size_t want)
{
	static const char *const words[] = {
		"the", "device", "queue", "request", "buffer", "compress", "data", "of",
		"and", "to", "a", "in", "is", "that", "for", "license", "software", "any",
		"program", "you", "with", "as", "this", "copyright", "work", "under",
	};
	uint32_t seed = 12345;

	while (c->len + 16 < want) {
		const char *w = words[(seed >> 16) % (sizeof(words) / sizeof(words[0]))];
		size_t l = strlen(w);

		seed = seed * 1103515245u + 12345u;
		memcpy(c->data + c->len, w, l);
		c->len += l;
		c->data[c->len++] = (seed >> 24) % 11 ? ' ' : '\n';
	}
}

static int corpus_load(const struct zip_bench_opts *o, struct corpus *c, char *desc, size_t dlen)
{
	static const char *const man[] = { "man1", "man5", "man8", "man3", "man7" };
	size_t want = o->corpus_max;
	int lic;

	c->buf = o->buf;
	c->data = malloc(want + 65536);
	if (!c->data)
		return -ENOMEM;
	if (o->corpus) {
		append_file(c, o->corpus, want);
		snprintf(desc, dlen, "%s", o->corpus);
	} else {
		append_dir(c, "/usr/share/common-licenses", want);
		lic = c->files;
		for (size_t i = 0; i < sizeof(man) / sizeof(man[0]); i++) {
			char dir[64];

			snprintf(dir, sizeof(dir), "/usr/share/man/%s", man[i]);
			append_dir(c, dir, want);
		}
		snprintf(desc, dlen, "common licenses (%d files) + man pages (%d files)", lic,
			 c->files - lic);
		if (c->len < want) {
			top_up(c, want);
			snprintf(desc + strlen(desc), dlen - strlen(desc), " + generated text");
		}
	}
	for (char *p = desc; *p; p++)	/* it goes into JSON */
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '_';
	c->nbuf = c->len / c->buf;
	return c->nbuf ? 0 : -ENODATA;
}

/* every buffer as a gzip member, for the decompression figures */
static int corpus_gzip(struct corpus *c)
{
	struct libdeflate_compressor *cmp = libdeflate_alloc_compressor(6);

	c->gzcap = cmp ? libdeflate_gzip_compress_bound(cmp, c->buf) : 0;
	c->gz = cmp ? malloc(c->gzcap * c->nbuf) : NULL;
	c->gzlen = calloc(c->nbuf, sizeof(*c->gzlen));
	for (size_t i = 0; c->gz && c->gzlen && i < c->nbuf; i++)
		c->gzlen[i] = libdeflate_gzip_compress(cmp, c->data + i * c->buf, c->buf,
						       c->gz + i * c->gzcap, c->gzcap);
	libdeflate_free_compressor(cmp);
	return c->gz && c->gzlen ? 0 : -ENOMEM;
}

/* --- measurements ------------------------------------------------------------- */

struct run {
	const struct corpus *c;
	const struct zip_bench_opts *o;
	enum zip_cfg cfg;
	bool dec;		/* decompress c->gz */
	uint64_t limit;		/* the ratio pass: buffers 0 .. limit - 1, untimed */
	int level, isal_level, nthreads;
	pthread_barrier_t start;
	uint64_t t0, deadline;
};

struct worker {
	struct run *run;
	int tid;
	struct uacce_zip *z;		/* device configurations */
	bool shared;			/* SVA: its buffers shared with the device */
	struct hisi_q *hq;		/* ZB_HISI1 */
	uint64_t in, out, end;
	int err;
	pthread_t thread;
};

static const unsigned char *chunk(const struct corpus *c, uint64_t i)
{
	return c->data + (size_t)(i % c->nbuf) * c->buf;
}

static const unsigned char *gz_chunk(const struct corpus *c, uint64_t i, size_t *len)
{
	*len = c->gzlen[i % c->nbuf];
	return c->gz + (size_t)(i % c->nbuf) * c->gzcap;
}

static void begin(struct worker *w)
{
	pthread_barrier_wait(&w->run->start);
}

/*
 * go on with buffer i?  The timed runs till the deadline, the ratio pass over
 * the corpus.  Every thread does its first buffer whatever the clock says: on a
 * loaded machine a thread may first run after a short deadline, and a run with
 * no buffer has no figure.
 */
static bool more(struct worker *w, uint64_t i)
{
	if (w->err)
		return false;
	if (w->run->limit)
		return i < w->run->limit;
	return i < (uint64_t)w->run->nthreads || bench_now_ns() < w->run->deadline;
}

static void inproc_isal(struct worker *w)
{
	const struct corpus *c = w->run->c;
	size_t cap = c->buf + c->buf / 8 + 4096, lbsz = ISAL_DEF_LVL3_DEFAULT;
	unsigned char *out = malloc(cap), *lb = malloc(lbsz);
	struct isal_zstream *z = malloc(sizeof(*z));

	if (!out || !lb || !z)
		w->err = -ENOMEM;
	begin(w);
	for (uint64_t i = (uint64_t)w->tid; more(w, i); i += (uint64_t)w->run->nthreads) {
		isal_deflate_stateless_init(z);
		z->level = (uint32_t)w->run->isal_level;
		z->level_buf = z->level ? lb : NULL;
		z->level_buf_size = z->level ? (uint32_t)lbsz : 0;
		z->gzip_flag = IGZIP_GZIP;
		z->end_of_stream = 1;
		z->next_in = (uint8_t *)chunk(c, i);
		z->avail_in = (uint32_t)c->buf;
		z->next_out = out;
		z->avail_out = (uint32_t)cap;
		if (isal_deflate_stateless(z) != COMP_OK)
			w->err = -EIO;
		w->in += c->buf;
		w->out += z->total_out;
	}
	free(z);
	free(lb);
	free(out);
}

/* decompress the gzip members in-process; w->in counts what they decode to */
static void inproc_dec(struct worker *w)
{
	const struct corpus *c = w->run->c;
	unsigned char *out = malloc(c->buf);
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	struct inflate_state *st = malloc(sizeof(*st));
	z_stream zs = { 0 };

	if (!out || !d || !st || inflateInit2(&zs, 31) != Z_OK)
		w->err = -ENOMEM;
	begin(w);
	for (uint64_t i = (uint64_t)w->tid; more(w, i); i += (uint64_t)w->run->nthreads) {
		size_t len, got = 0;
		const unsigned char *src = gz_chunk(c, i, &len);

		if (w->run->cfg == ZB_LD1) {
			if (libdeflate_gzip_decompress(d, src, len, out, c->buf, &got))
				w->err = -EIO;
		} else if (w->run->cfg == ZB_ISAL1) {
			isal_inflate_init(st);
			st->crc_flag = ISAL_GZIP;
			st->next_in = (uint8_t *)src;
			st->avail_in = (uint32_t)len;
			st->next_out = out;
			st->avail_out = (uint32_t)c->buf;
			if (isal_inflate_stateless(st) != ISAL_DECOMP_OK)
				w->err = -EIO;
			got = st->total_out;
		} else {
			inflateReset(&zs);
			zs.next_in = (Bytef *)src;
			zs.avail_in = (uInt)len;
			zs.next_out = out;
			zs.avail_out = (uInt)c->buf;
			if (inflate(&zs, Z_FINISH) != Z_STREAM_END)
				w->err = -EIO;
			got = zs.total_out;
		}
		if (got != c->buf)
			w->err = -EIO;
		w->in += got;
		w->out += len;
	}
	inflateEnd(&zs);
	free(st);
	libdeflate_free_decompressor(d);
	free(out);
}

static void inproc_zlib(struct worker *w)
{
	const struct corpus *c = w->run->c;
	size_t cap = deflateBound(NULL, c->buf) + 64;
	unsigned char *out = malloc(cap);
	z_stream zs = { 0 };

	if (!out || deflateInit2(&zs, w->run->level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		w->err = -ENOMEM;
	begin(w);
	for (uint64_t i = (uint64_t)w->tid; more(w, i); i += (uint64_t)w->run->nthreads) {
		deflateReset(&zs);
		zs.next_in = (Bytef *)chunk(c, i);
		zs.avail_in = (uInt)c->buf;
		zs.next_out = out;
		zs.avail_out = (uInt)cap;
		if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
			w->err = -EIO;
		w->in += c->buf;
		w->out += zs.total_out;
	}
	deflateEnd(&zs);
	free(out);
}

static void inproc_libdeflate(struct worker *w)
{
	const struct corpus *c = w->run->c;
	struct libdeflate_compressor *cmp = libdeflate_alloc_compressor(w->run->level);
	size_t cap = libdeflate_gzip_compress_bound(cmp, c->buf);
	unsigned char *out = malloc(cap);

	if (!cmp || !out)
		w->err = -ENOMEM;
	begin(w);
	for (uint64_t i = (uint64_t)w->tid; more(w, i); i += (uint64_t)w->run->nthreads) {
		size_t n = libdeflate_gzip_compress(cmp, chunk(c, i), c->buf, out, cap);

		if (!n)
			w->err = -EIO;
		w->in += c->buf;
		w->out += n;
	}
	libdeflate_free_compressor(cmp);
	free(out);
}

/* one queue, `depth` requests in flight; the thread sleeps while it waits */
struct dev_slot {
	unsigned char *in, *out;
};

static int dev_submit(struct worker *w, struct dev_slot *s, int slot, uint64_t i, size_t cap)
{
	const struct corpus *c = w->run->c;
	size_t len = c->buf;
	const unsigned char *src = w->run->dec ? gz_chunk(c, i, &len) : chunk(c, i);
	struct uacce_zip_sqe e = { .dst = (uintptr_t)s[slot].out, .src_len = (uint32_t)len,
				   .dst_len = (uint32_t)cap, .cookie = (uint64_t)slot,
				   .op = w->run->dec ? UACCE_ZIP_OP_DECOMPRESS : UACCE_ZIP_OP_COMPRESS,
				   .alg = UACCE_ZIP_ALG_GZIP,
				   .level = (uint8_t)(w->run->dec ? 0 : w->run->level) };

	if (len > cap)
		return -E2BIG;
	if (s[slot].in) {	/* non-SVA: the device sees only the SS; SVA: shared */
		memcpy(s[slot].in, src, len);
		src = s[slot].in;
	}
	e.src = (uintptr_t)src;
	return uacce_zip_submit(w->z, &e);
}

static int dev_alloc(struct worker *w, struct dev_slot *s, int depth, size_t cap)
{
	/* SVA with heap buffers: the corpus itself is the source (any memory
	 * will do, the daemon copies it through the kernel); shared: the input
	 * copied into the shared buffer first, as such a client does (timed) */
	bool copy_in = !uacce_zip_is_sva(w->z) || w->shared;

	for (int k = 0; k < depth; k++) {
		s[k].in = copy_in ? uacce_zip_alloc(w->z, cap) : NULL;
		s[k].out = uacce_zip_alloc(w->z, cap);
		if ((copy_in && !s[k].in) || !s[k].out)
			return -ENOMEM;
	}
	return 0;
}

static void device(struct worker *w)
{
	int depth = w->run->o->depth, inflight = 0;
	size_t cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, w->run->c->buf);
	struct dev_slot s[64] = { 0 };
	uint64_t next = (uint64_t)w->tid * 7;	/* queues start at different buffers */
	const uint64_t first = next;		/* done whatever the clock says (more()) */
	int free_slots[64], nfree = 0;

	if (!w->err)
		w->err = dev_alloc(w, s, depth, cap);
	for (int k = depth - 1; k >= 0; k--)
		free_slots[nfree++] = k;
	begin(w);
	while (!w->err) {
		struct uacce_zip_cqe cqe;
		int r;

		while (nfree && (more(w, next) || (next == first && !w->err))) {
			w->err = dev_submit(w, s, free_slots[--nfree], next++, cap);
			inflight++;
		}
		if (!inflight)
			break;
		r = uacce_zip_wait(w->z, &cqe, 30000);
		if (r <= 0) {
			w->err = r ? r : -ETIMEDOUT;
			break;
		}
		inflight--;
		free_slots[nfree++] = (int)cqe.cookie;
		if (cqe.status)
			w->err = -(int)cqe.status;
		if (w->run->dec && !cqe.status && cqe.produced != w->run->c->buf)
			w->err = -EIO;
		w->in += w->run->dec ? cqe.produced : w->run->c->buf;
		w->out += w->run->dec ? cqe.consumed : cqe.produced;
	}
}

/*
 * A hisi_qm_v2 queue driven as Linaro UADK drives it (uacce_hisi_zip(7)):
 * gzip requests in block mode (the client writes the 10-byte header, the
 * device the deflate data and the trailer), `depth` in flight, completions
 * found by the CQE's phase (the client spins: the hardware's clients poll).
 */
struct hisi_q {
	struct uacce_q *q;
	unsigned char *mmio, *dus;
	struct hisi_zip_sqe *sq;
	struct hisi_qm_cqe *cq;
	uint32_t tail, head;
	uint16_t phase, qn;
};

static int hisi_open(const char *dev, struct hisi_q *h)
{
	struct hisi_qp_ctx ctx = { .qc_type = 0 };
	void *mmio, *dus;
	int err;

	memset(h, 0, sizeof(*h));
	err = uacce_queue_open(dev, &h->q);
	if (!err)
		err = uacce_map_region(h->q, UACCE_QFRT_DUS, HISI_QM_DUS_SIZE, &dus);
	if (!err)
		err = uacce_map_region(h->q, UACCE_QFRT_MMIO, HISI_QM_MMIO_SIZE, &mmio);
	if (!err && ioctl(uacce_queue_fd(h->q), UACCE_CMD_QM_SET_QP_CTX, &ctx) < 0)
		err = -errno;
	if (!err)
		err = uacce_queue_start(h->q);
	if (err) {
		if (h->q)
			uacce_queue_close(h->q);
		h->q = NULL;
		return err;
	}
	h->mmio = mmio;
	h->dus = dus;
	h->sq = (struct hisi_zip_sqe *)h->dus;
	h->cq = (struct hisi_qm_cqe *)(h->dus + HISI_QM_CQ_OFFSET);
	h->phase = 1;
	h->qn = ctx.id;
	return 0;
}

static void hisi_submit(struct hisi_q *h, const unsigned char *src, uint32_t len,
			unsigned char *dst, uint32_t cap, uint32_t tag)
{
	struct hisi_zip_sqe e = { 0 };

	e.dw9 = HISI_ZIP_GZIP;
	e.dw7 = HISI_ZIP_STREAM_NEW | HISI_ZIP_FLUSH_FINISH;
	e.input_data_length = len;
	e.dest_avail_out = cap;
	e.source_addr_l = (uint32_t)(uintptr_t)src;
	e.source_addr_h = (uint32_t)((uintptr_t)src >> 32);
	e.dest_addr_l = (uint32_t)(uintptr_t)dst;
	e.dest_addr_h = (uint32_t)((uintptr_t)dst >> 32);
	e.dw13 = tag;
	memcpy(&h->sq[h->tail], &e, sizeof(e));
	h->tail = (h->tail + 1) % HISI_QM_Q_DEPTH;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n((uint64_t *)(h->mmio + HISI_QM_DB_OFFSET),
			 HISI_QM_DB(h->qn, HISI_QM_DB_CMD_SQ, h->tail, 0), __ATOMIC_RELEASE);
}

/* the next completion, its SQE copied out; 0, or -ETIMEDOUT after `ms` */
static int hisi_reap(struct hisi_q *h, struct hisi_zip_sqe *out, unsigned ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)ms * 1000000ULL;

	for (unsigned spins = 0;; spins++) {
		struct hisi_qm_cqe *c = &h->cq[h->head];

		if ((__atomic_load_n(&c->w7, __ATOMIC_ACQUIRE) & 1) == h->phase) {
			memcpy(out, &h->sq[c->sq_head % HISI_QM_Q_DEPTH], sizeof(*out));
			if (++h->head == HISI_QM_Q_DEPTH) {
				h->head = 0;
				h->phase ^= 1;
			}
			__atomic_store_n((uint64_t *)(h->mmio + HISI_QM_DB_OFFSET),
					 HISI_QM_DB(h->qn, HISI_QM_DB_CMD_CQ, h->head, 0),
					 __ATOMIC_RELEASE);
			return 0;
		}
		if ((spins & 1023) == 1023) {
			if (bench_now_ns() > end)
				return -ETIMEDOUT;
			sched_yield();
		}
	}
}

static void hisi_device(struct worker *w)
{
	const struct corpus *c = w->run->c;
	int depth = w->run->o->depth < 64 ? w->run->o->depth : 64, inflight = 0;
	uint32_t cap = (uint32_t)(c->buf + c->buf / 8 + 4096);
	unsigned char *out[64] = { 0 };
	uint64_t next = 0;

	for (int k = 0; k < depth && !w->err; k++)
		if (!(out[k] = malloc(cap)))
			w->err = -ENOMEM;
	begin(w);
	for (int k = 0; k < depth && !w->err; k++, inflight++) {
		memcpy(out[k], "\x1f\x8b\x08\0\0\0\0\0\0\x03", 10);
		hisi_submit(w->hq, chunk(c, next++), (uint32_t)c->buf, out[k] + 10, cap - 10,
			    (uint32_t)k);
	}
	while (!w->err && inflight) {
		struct hisi_zip_sqe e;
		uint32_t st;

		w->err = hisi_reap(w->hq, &e, 30000);
		if (w->err)
			break;
		inflight--;
		st = e.dw3 & 0xff;
		if ((st != HISI_ZIP_OK && st != HISI_ZIP_NEGACOMPRESS) || e.dw13 >= (uint32_t)depth) {
			w->err = -EIO;
			break;
		}
		w->in += e.consumed;
		w->out += e.produced + 10;
		if (bench_now_ns() < w->run->deadline) {
			hisi_submit(w->hq, chunk(c, next++), (uint32_t)c->buf, out[e.dw13] + 10,
				    cap - 10, e.dw13);
			inflight++;
		}
	}
	for (int k = 0; k < depth; k++)
		free(out[k]);
}

/* the first device whose api is hisi_qm_v2; 0 or -ENODEV */
static int hisi_find(char *buf, size_t len)
{
	char dir[512];
	struct dirent *de;
	int err = -ENODEV;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class", uacce_runtime_dir());
	d = opendir(dir);
	if (!d)
		return -ENODEV;
	while (err && (de = readdir(d))) {
		char api[64];

		if (de->d_name[0] != '.' && strlen(de->d_name) < len &&
		    uacce_dev_attr(de->d_name, "api", api, sizeof(api)) > 0 &&
		    strcmp(api, HISI_QM_API_VER2_BASE) == 0) {
			memcpy(buf, de->d_name, strlen(de->d_name) + 1);
			err = 0;
		}
	}
	closedir(d);
	return err;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->run->dec && w->run->cfg != ZB_DEV1) {
		inproc_dec(w);
		w->end = bench_now_ns();
		return NULL;
	}
	switch (w->run->cfg) {
	case ZB_ISAL1: case ZB_ISAL3:
		inproc_isal(w);
		break;
	case ZB_Z1: case ZB_Z2:
		inproc_zlib(w);
		break;
	case ZB_LD1: case ZB_LD2:
		inproc_libdeflate(w);
		break;
	case ZB_HISI1:
		hisi_device(w);
		break;
	default:
		device(w);
	}
	w->end = bench_now_ns();
	return NULL;
}

static int open_queues(struct run *run, struct worker *w, const char *dev)
{
	int depth = run->o->depth;
	size_t ss = (size_t)depth * 2 * uacce_zip_bound(UACCE_ZIP_ALG_GZIP, run->c->buf) + 65536;

	for (int t = 0; t < run->nthreads; t++) {
		int err = uacce_zip_open(dev, ss, &w[t].z);

		if (err)
			return err;
		/* SVA: buffers in memory shared with the device, as a client
		 * that wants its speed allocates them (else the kernel copies
		 * each one through /proc/<pid>/mem) */
		if (uacce_zip_is_sva(w[t].z) && !run->o->sva_heap)
			w[t].shared = uacce_zip_share(w[t].z, ss) == 0;
	}
	return 0;
}

static int measure(struct run *run, const char *dev, struct zip_figure *best)
{
	struct worker w[2] = { 0 };
	struct hisi_q hq = { 0 };
	uint64_t in = 0, out = 0, end = 0;
	int err = 0;

	run->nthreads = run->cfg == ZB_DEV2 || run->cfg == ZB_LD2 || run->cfg == ZB_Z2 ? 2 : 1;
	if (run->cfg == ZB_DEV1 || run->cfg == ZB_DEV2)
		err = open_queues(run, w, dev);
	if (run->cfg == ZB_HISI1) {
		err = hisi_open(dev, &hq);
		w[0].hq = &hq;
	}
	pthread_barrier_init(&run->start, NULL, (unsigned)run->nthreads + 1);
	for (int t = 0; t < run->nthreads; t++) {
		w[t].run = run;
		w[t].tid = t;
		w[t].err = err;
		pthread_create(&w[t].thread, NULL, worker_main, &w[t]);
	}
	run->t0 = bench_now_ns();
	run->deadline = run->t0 + (uint64_t)(run->o->seconds * 1e9);
	pthread_barrier_wait(&run->start);
	for (int t = 0; t < run->nthreads; t++) {
		pthread_join(w[t].thread, NULL);
		in += w[t].in;
		out += w[t].out;
		end = w[t].end > end ? w[t].end : end;
		err = err ? err : w[t].err;
		uacce_zip_close(w[t].z);
	}
	if (hq.q) {
		uacce_queue_put(hq.q);
		uacce_queue_close(hq.q);
	}
	pthread_barrier_destroy(&run->start);
	if (!err && in) {
		double mbps = (double)in / 1e6 / ((double)(end - run->t0) / 1e9);

		if (run->limit) {	/* the ratio pass: the whole corpus, once */
			if (best->ok)
				best->ratio = (double)out / (double)in;
			return err;
		}
		if (!best->ok || mbps > best->mbps)
			best->mbps = mbps;
		best->ratio = (double)out / (double)in;
		best->ok = true;
	}
	return err;
}

/*
 * The ratios over the whole corpus, once, untimed: a timed run covers the
 * buffers it had time for, and "equal or better ratio" must compare the
 * codecs on the same data.  Two threads or queues run the codec of one.
 */
static void ratio_pass(const struct corpus *c, const struct zip_bench_opts *o, const char *dev,
		       struct zip_level_result *lv, bool dec)
{
	static const enum zip_cfg one[] = { ZB_DEV1, ZB_LD1, ZB_Z1, ZB_ISAL1, ZB_ISAL3 };

	for (size_t k = 0; k < sizeof(one) / sizeof(one[0]); k++) {
		struct run run = { .c = c, .o = o, .cfg = one[k], .level = lv->level,
				   .isal_level = one[k] == ZB_ISAL3 ? 3 : lv->isal_level, .dec = dec,
				   .limit = c->nbuf };

		if (lv->f[one[k]].ok && (one[k] != ZB_DEV1 || dev))
			measure(&run, dev, &lv->f[one[k]]);
	}
	if (lv->f[ZB_DEV2].ok)
		lv->f[ZB_DEV2].ratio = lv->f[ZB_DEV1].ratio;
	if (lv->f[ZB_LD2].ok)
		lv->f[ZB_LD2].ratio = lv->f[ZB_LD1].ratio;
	if (lv->f[ZB_Z2].ok)
		lv->f[ZB_Z2].ratio = lv->f[ZB_Z1].ratio;
}

static int run_level(const struct zip_bench_opts *o, const struct corpus *c, const char *dev,
		     const char *hisi, struct zip_level_result *lv)
{
	static const enum zip_cfg order[] = { ZB_LD1, ZB_DEV1, ZB_Z1, ZB_ISAL1, ZB_ISAL3, ZB_HISI1,
					      ZB_LD2, ZB_DEV2, ZB_Z2 };
	int first_err = 0;

	lv->isal_level = lv->level < 3 ? lv->level : 3;
	for (int r = 0; r < o->rounds; r++) {
		for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
			struct run run = { .c = c, .o = o, .cfg = order[k], .level = lv->level,
					   .isal_level = order[k] == ZB_ISAL3 ? 3 : lv->isal_level };
			int err;

			if (order[k] == ZB_ISAL3 && lv->level != 1)
				continue;	/* at level 6, isal_1t is ISA-L 3 */

			if (!dev && (order[k] == ZB_DEV1 || order[k] == ZB_DEV2))
				continue;
			/* the hisi device compresses at its one level, 6 */
			if (order[k] == ZB_HISI1 && (!hisi || lv->level != 6))
				continue;
			bench_progress_step("zip level %d, %s, round %d of %d", lv->level,
					    cfg_name[order[k]], r + 1, o->rounds);
			err = measure(&run, order[k] == ZB_HISI1 ? hisi : dev, &lv->f[order[k]]);
			first_err = first_err ? first_err : err;
		}
	}
	bench_progress_step("zip level %d, the ratios over the whole corpus", lv->level);
	ratio_pass(c, o, dev, lv, false);
	return first_err;
}

/* decompression: the device (whole-buffer requests, 1 queue) and in-process */
static int run_dec(const struct zip_bench_opts *o, const struct corpus *c, const char *dev,
		   struct zip_level_result *lv)
{
	static const enum zip_cfg order[] = { ZB_LD1, ZB_DEV1, ZB_ISAL1, ZB_Z1 };
	int first_err = 0;

	for (int r = 0; r < o->rounds; r++) {
		for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
			struct run run = { .c = c, .o = o, .cfg = order[k], .dec = true };
			int err;

			if (!dev && order[k] == ZB_DEV1)
				continue;
			bench_progress_step("zip decompression, %s, round %d of %d",
					    cfg_name[order[k]], r + 1, o->rounds);
			err = measure(&run, dev, &lv->f[order[k]]);
			first_err = first_err ? first_err : err;
		}
	}
	bench_progress_step("zip decompression, the ratios");
	ratio_pass(c, o, dev, lv, true);
	return first_err;
}

int zip_bench_run(const struct zip_bench_opts *o, struct zip_bench_result *r)
{
	struct corpus c = { 0 };
	struct uacce_zip *z;
	const char *dev = NULL;
	int err;

	memset(r, 0, sizeof(*r));
	r->lv[0].level = 6;
	r->lv[1].level = 1;
	bench_progress_step("zip: loading the corpus");
	err = corpus_load(o, &c, r->corpus_desc, sizeof(r->corpus_desc));
	r->corpus_bytes = c.nbuf * c.buf;
	if (!err && o->device)
		snprintf(r->device, sizeof(r->device), "%s", o->device);
	else if (!err)
		err = uacce_zip_find(r->device, sizeof(r->device));
	if (!err && !(err = uacce_zip_open(r->device, 65536, &z))) {
		r->sva = uacce_zip_is_sva(z);
		uacce_zip_close(z);
		dev = r->device;
	}
	r->err = err;
	if (o->hisi_device)
		snprintf(r->hisi_device, sizeof(r->hisi_device), "%s", o->hisi_device);
	else if (hisi_find(r->hisi_device, sizeof(r->hisi_device)))
		r->hisi_device[0] = '\0';
	/* zip_bench_steps() planned a device and no hisi_qm_v2 one */
	if (!c.nbuf)
		bench_progress_adjust(1 - zip_bench_steps(o));
	else if (!dev)
		bench_progress_adjust(-5 * o->rounds);
	if (c.nbuf && r->hisi_device[0])
		bench_progress_adjust(o->rounds);
	for (int l = 0; c.nbuf && l < 2; l++) {
		int e = run_level(o, &c, dev, r->hisi_device[0] ? r->hisi_device : NULL, &r->lv[l]);

		r->err = r->err ? r->err : e;
	}
	if (c.nbuf && corpus_gzip(&c) == 0) {
		int e = run_dec(o, &c, dev, &r->dec);

		r->err = r->err ? r->err : e;
	} else if (c.nbuf) {
		bench_progress_adjust(-(o->rounds * (dev ? 4 : 3) + 1));
	}
	free(c.gz);
	free(c.gzlen);
	free(c.data);
	return r->err;
}

int zip_bench_steps(const struct zip_bench_opts *o)
{
	/* the corpus; 7 + 8 measurements a round and a ratio pass at levels 6
	 * and 1; 4 decompressions a round and their ratio pass */
	return 1 + o->rounds * 15 + 2 + o->rounds * 4 + 1;
}

/* --- results ------------------------------------------------------------------ */

double zip_ratio_1q(const struct zip_level_result *l)
{
	double best = l->f[ZB_LD1].mbps > l->f[ZB_Z1].mbps ? l->f[ZB_LD1].mbps : l->f[ZB_Z1].mbps;

	return l->f[ZB_DEV1].ok && best > 0 ? l->f[ZB_DEV1].mbps / best : -1;
}

double zip_ratio_2q(const struct zip_level_result *l)
{
	return l->f[ZB_DEV1].ok && l->f[ZB_DEV2].ok && l->f[ZB_DEV1].mbps > 0
		       ? l->f[ZB_DEV2].mbps / l->f[ZB_DEV1].mbps : -1;
}

/* the fastest of the in-process one-thread figures in `which` whose ratio is <= max_ratio */
static double fastest_1t(const struct zip_level_result *l, double max_ratio, const char **name)
{
	static const enum zip_cfg inproc[] = { ZB_LD1, ZB_Z1, ZB_ISAL1, ZB_ISAL3 };
	double best = -1;

	*name = "none";
	for (size_t k = 0; k < sizeof(inproc) / sizeof(inproc[0]); k++) {
		const struct zip_figure *f = &l->f[inproc[k]];

		if (f->ok && f->ratio <= max_ratio && f->mbps > best) {
			best = f->mbps;
			*name = cfg_name[inproc[k]];
		}
	}
	return best;
}

double zip_ratio_1q_equal_ratio(const struct zip_level_result *l, const char **name)
{
	double best;

	*name = "none";
	if (!l->f[ZB_DEV1].ok)
		return -1;
	best = fastest_1t(l, l->f[ZB_DEV1].ratio * 1.0005, name);	/* rounding */
	return best > 0 ? l->f[ZB_DEV1].mbps / best : -1;
}

double zip_ratio_dec(const struct zip_bench_result *r, const char **name)
{
	double best = fastest_1t(&r->dec, 1e9, name);

	return r->dec.f[ZB_DEV1].ok && best > 0 ? r->dec.f[ZB_DEV1].mbps / best : -1;
}

static void print_dec_json(const struct zip_bench_result *r)
{
	static const enum zip_cfg k[] = { ZB_DEV1, ZB_LD1, ZB_ISAL1, ZB_Z1 };
	const char *name;
	double q = zip_ratio_dec(r, &name);

	printf("\"decompress\":{\"input\":\"gzip members of libdeflate 6\",\"mbps_of\":\"output\",");
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		const struct zip_figure *f = &r->dec.f[k[i]];

		if (f->ok)
			printf("\"%s\":{\"mbps\":%.1f,\"ratio\":%.4f},", cfg_name[k[i]], f->mbps,
			       f->ratio);
		else
			printf("\"%s\":null,", cfg_name[k[i]]);
	}
	printf("\"fastest_inprocess_1t\":\"%s\",\"ratio_device_1q_to_fastest_inprocess_1t\":%.3f,"
	       "\"ratio_device_1q_to_libdeflate_1t\":%.3f,\"ratio_device_1q_to_isal_1t\":%.3f,"
	       "\"ratio_device_1q_to_zlib_1t\":%.3f},",
	       name, q,
	       r->dec.f[ZB_LD1].mbps > 0 ? r->dec.f[ZB_DEV1].mbps / r->dec.f[ZB_LD1].mbps : -1,
	       r->dec.f[ZB_ISAL1].mbps > 0 ? r->dec.f[ZB_DEV1].mbps / r->dec.f[ZB_ISAL1].mbps : -1,
	       r->dec.f[ZB_Z1].mbps > 0 ? r->dec.f[ZB_DEV1].mbps / r->dec.f[ZB_Z1].mbps : -1);
}

static void print_level_json(const struct zip_level_result *l, bool comma)
{
	const char *eq_name;
	double eq = zip_ratio_1q_equal_ratio(l, &eq_name);

	printf("\"level%d\":{\"isal_level\":%d,", l->level, l->isal_level);
	for (int k = 0; k < ZB_NCFG; k++) {
		if (l->f[k].ok)
			printf("\"%s\":{\"mbps\":%.1f,\"ratio\":%.4f},", cfg_name[k], l->f[k].mbps,
			       l->f[k].ratio);
		else
			printf("\"%s\":null,", cfg_name[k]);
	}
	printf("\"fastest_inprocess_1t_at_equal_or_better_ratio\":\"%s\","
	       "\"ratio_device_1q_to_fastest_inprocess_1t_at_equal_or_better_ratio\":%.3f,"
	       "\"ratio_isal_1t_to_libdeflate_1t\":%.3f,",
	       eq_name, eq,
	       l->f[ZB_LD1].mbps > 0 && l->f[ZB_ISAL1].ok ? l->f[ZB_ISAL1].mbps / l->f[ZB_LD1].mbps
							   : -1);
	printf("\"ratio_hisi_1q_to_libdeflate_1t\":%.3f,",
	       l->f[ZB_HISI1].ok && l->f[ZB_LD1].mbps > 0 ? l->f[ZB_HISI1].mbps / l->f[ZB_LD1].mbps
							  : -1);
	printf("\"ratio_device_1q_to_best_1t\":%.3f,\"ratio_device_2q_to_1q\":%.3f,"
	       "\"ratio_libdeflate_to_zlib_1t\":%.3f,\"ratio_libdeflate_2t_to_1t\":%.3f}%s",
	       zip_ratio_1q(l), zip_ratio_2q(l),
	       l->f[ZB_Z1].mbps > 0 ? l->f[ZB_LD1].mbps / l->f[ZB_Z1].mbps : -1,
	       l->f[ZB_LD1].mbps > 0 ? l->f[ZB_LD2].mbps / l->f[ZB_LD1].mbps : -1, comma ? "," : "");
}

void zip_bench_print_json(const struct zip_bench_opts *o, const struct zip_bench_result *r)
{
	printf("\"zip\":{\"device\":\"%s\",\"hisi_device\":\"%s\",\"sva\":%s,\"sva_buffers\":\"%s\","
	       "\"buffer\":%zu,\"depth\":%d,"
	       "\"corpus\":\"%s\",\"corpus_bytes\":%zu,\"rounds\":%d,\"seconds\":%.2f,",
	       r->device, r->hisi_device, r->sva ? "true" : "false",
	       !r->sva ? "none" : o->sva_heap ? "heap" : "shared", o->buf, o->depth, r->corpus_desc,
	       r->corpus_bytes, o->rounds, o->seconds);
	print_level_json(&r->lv[0], true);
	print_level_json(&r->lv[1], true);
	print_dec_json(r);
	printf("\"error\":%d}", r->err);
}

void zip_bench_print_table(const struct zip_bench_opts *o, const struct zip_bench_result *r)
{
	printf("compression, %zu KiB gzip buffers of %.1f MiB of %s (best of %d x %.1f s):\n",
	       o->buf >> 10, r->corpus_bytes / 1048576.0, r->corpus_desc, o->rounds, o->seconds);
	printf("  %-28s %14s %14s\n", "", "level 6", "level 1");
	for (int k = 0; k < ZB_NCFG; k++) {
		printf("  %-28s", cfg_name[k]);
		for (int l = 0; l < 2; l++) {
			const struct zip_figure *f = &r->lv[l].f[k];

			if (f->ok)
				printf("  %6.1f MB/s %4.1f%%", f->mbps, 100 * f->ratio);
			else
				printf("  %18s", "-");
		}
		printf("\n");
	}
	printf("  (isal_1t: ISA-L level %d at level 6, %d at level 1; isal_level3_1t: ISA-L 3)\n",
	       r->lv[0].isal_level, r->lv[1].isal_level);
	printf("  device 1q / best in-process 1t: %.3f (level 6), %.3f (level 1)\n",
	       zip_ratio_1q(&r->lv[0]), zip_ratio_1q(&r->lv[1]));
	for (int l = 0; l < 2; l++) {
		const char *n;
		double q = zip_ratio_1q_equal_ratio(&r->lv[l], &n);

		printf("  device 1q / fastest in-process 1t at equal or better ratio (%s): %.3f "
		       "(level %d)\n", n, q, r->lv[l].level);
	}
	if (r->lv[0].f[ZB_HISI1].ok && r->lv[0].f[ZB_LD1].mbps > 0)
		printf("  %s 1q / libdeflate 1t:   %.3f (level 6)\n", r->hisi_device,
		       r->lv[0].f[ZB_HISI1].mbps / r->lv[0].f[ZB_LD1].mbps);
	printf("  device 2q / device 1q:          %.3f (level 6), %.3f (level 1)\n",
	       zip_ratio_2q(&r->lv[0]), zip_ratio_2q(&r->lv[1]));
	/* what two CPUs give here at all: a loaded machine has less than two */
	printf("  libdeflate 2t / 1t (the machine): %.3f (level 6), %.3f (level 1)\n",
	       r->lv[0].f[ZB_LD1].mbps > 0 ? r->lv[0].f[ZB_LD2].mbps / r->lv[0].f[ZB_LD1].mbps : -1,
	       r->lv[1].f[ZB_LD1].mbps > 0 ? r->lv[1].f[ZB_LD2].mbps / r->lv[1].f[ZB_LD1].mbps : -1);
	printf("decompression of the same buffers as gzip members (libdeflate 6), MB/s of output:\n");
	for (size_t i = 0; i < 4; i++) {
		static const enum zip_cfg k[] = { ZB_DEV1, ZB_LD1, ZB_ISAL1, ZB_Z1 };
		const struct zip_figure *f = &r->dec.f[k[i]];

		if (f->ok)
			printf("  %-28s  %6.1f MB/s\n", cfg_name[k[i]], f->mbps);
		else
			printf("  %-28s  %18s\n", cfg_name[k[i]], "-");
	}
	{
		const char *n;
		double q = zip_ratio_dec(r, &n);

		printf("  device 1q / fastest in-process 1t (%s): %.3f\n", n, q);
	}
	if (r->err)
		printf("  device error: %s\n", uacce_zip_strerror(r->err));
}
