/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uacce-zip - compress or decompress files through a uacce zip device, in
 * the gzip tradition: same options, messages and exit codes (0 ok, 1
 * error, 2 warning), output that gzip -d reads, gzip input accepted.
 *
 * Compression cuts the input in blocks (1 MiB) and asks the device for one
 * complete gzip member per block (whole-buffer requests: libdeflate in the
 * device), several blocks in flight; the members, concatenated, are one
 * gzip file (RFC 1952 section 2.2).  --stream makes a single member through
 * a stateful stream instead (zlib in the device).  Decompression always
 * streams, member after member.  Requests on a stream that the device cut
 * short (output full) are resubmitted with the new epoch (uacce_zip(7)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uacce/zip.h>

#include "config.h"	/* autoconf: PACKAGE_VERSION */
#include "zip-compare.h"

#define PROG		"uacce-zip"
#define MAX_DEPTH	16
#define STREAM_ID	1
#define DEC_IN		(256u << 10)	/* decompression: input per request */
#define DEC_OUT		(1u << 20)	/* and output buffer per request */
#define PROGRESS_AFTER	250000000ULL	/* ns: -v draws no line for what ends sooner */

enum { OK = 0, ERR = 1, WARN = 2 };

struct opts {
	bool decompress, to_stdout, keep, force, test, stream;
	bool compare, json;	/* --compare: the device against gzip, pigz, igzip */
	int level;
	int verbose;		/* -1 quiet, 0, 1 */
	const char *device;
	size_t block;
	int depth;
};

/* one request's buffers; slots are used in FIFO order */
struct slot {
	unsigned char *in, *out;
	size_t len, off;	/* input bytes in `in`, and consumed so far */
	bool last;		/* the input ends with this chunk */
	bool inflight;
	uint16_t epoch;		/* of the request in flight */
};

struct engine {
	struct uacce_zip *z;
	char dev[96];
	struct slot s[MAX_DEPTH];
	int depth;
	size_t in_cap, out_cap;
	int fifo[MAX_DEPTH];	/* slot indices, oldest first */
	int head, count;
};

struct progress {
	bool on;
	uint64_t total, t0, last;
	const char *name;
	bool drawn;
};

/* one input to one output */
struct job {
	const char *name;	/* for messages */
	int in_fd, out_fd;	/* out_fd -1: -t */
	uint64_t bytes_in, bytes_out;
	bool trailing;		/* decompress: data after the last member */
	struct progress prog;
};

static const struct opts *g_opts;
static int exit_code = OK;
static volatile sig_atomic_t have_partial;
static char partial[4096];	/* output being written: removed on a signal */

/* --- messages ------------------------------------------------------------------ */

static void warn_at(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn_at(int level, const char *fmt, ...)
{
	va_list ap;

	if (level == ERR || exit_code == OK)
		exit_code = level;	/* an error outranks warnings */
	if (level == WARN && g_opts && g_opts->verbose < 0)
		return;
	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define error(...)	warn_at(ERR, __VA_ARGS__)
#define warning(...)	warn_at(WARN, __VA_ARGS__)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* --- progress line (-v on a terminal) ---------------------------------------- */

static void progress_start(struct progress *p, const char *name, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO) && g_opts->verbose > 0;
	p->name = strrchr(name, '/') && strrchr(name, '/')[1] ? strrchr(name, '/') + 1 : name;
	p->total = total;
	p->t0 = p->last = now_ns();
}

/* like pv: "name [####......]  40%  12.6 MB in  3.1 MB out  118.2 MB/s" */
static void progress_show(struct progress *p, uint64_t in, uint64_t out)
{
	uint64_t t = now_ns();
	double mbps = (double)in / 1e6 / ((double)(t - p->t0) / 1e9 + 1e-9);
	char bar[23];
	int pct;

	if (!p->on || t - p->last < 100000000ULL || t - p->t0 < PROGRESS_AFTER)
		return;
	p->last = t;
	p->drawn = true;
	if (!p->total) {	/* a pipe: no size, no percentage */
		fprintf(stderr, "\r%-20.20s %10.1f MB in %10.1f MB out %8.1f MB/s\033[K", p->name,
			(double)in / 1e6, (double)out / 1e6, mbps);
		return;
	}
	pct = (int)(in * 100 / p->total);
	pct = pct > 100 ? 100 : pct;
	memset(bar, '#', sizeof(bar) - 1);
	memset(bar + pct * 22 / 100, '.', (size_t)(22 - pct * 22 / 100));
	bar[22] = '\0';
	fprintf(stderr, "\r%-20.20s [%s] %3d%% %9.1f MB in %9.1f MB out %7.1f MB/s\033[K",
		p->name, bar, pct, (double)in / 1e6, (double)out / 1e6, mbps);
}

static void progress_end(struct progress *p)
{
	if (p->on && p->drawn)
		fprintf(stderr, "\r\033[K");
}

/* --- I/O ----------------------------------------------------------------------- */

/* fill buf up to cap; *eof when the input ended.  bytes or -errno */
static ssize_t read_full(int fd, unsigned char *buf, size_t cap, bool *eof)
{
	size_t got = 0;

	*eof = false;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			*eof = true;
			break;
		}
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* --- the device ---------------------------------------------------------------- */

static size_t stream_out_cap(size_t in)
{
	return in + in / 8 + (64u << 10);
}

static int engine_open(struct engine *e, const struct opts *o)
{
	size_t size;
	int err;

	memset(e, 0, sizeof(*e));
	e->depth = o->depth;
	if (o->decompress) {
		e->in_cap = DEC_IN;
		e->out_cap = DEC_OUT;
	} else {
		e->in_cap = o->block;
		e->out_cap = o->stream ? stream_out_cap(o->block)
				       : uacce_zip_bound(UACCE_ZIP_ALG_GZIP, o->block);
	}
	if (o->device)
		snprintf(e->dev, sizeof(e->dev), "%s", o->device);
	else if ((err = uacce_zip_find(e->dev, sizeof(e->dev))) < 0)
		return err;
	size = (size_t)e->depth * (e->in_cap + e->out_cap) + 65536;
	err = uacce_zip_open(e->dev, size, &e->z);
	if (err)
		return err;
	/* SVA: buffers the daemon reaches without the kernel's copy; if the
	 * user's quota has no room for them, the heap does as before */
	if (uacce_zip_is_sva(e->z))
		uacce_zip_share(e->z, size);
	if (e->out_cap > uacce_zip_max_buf(e->z) || e->in_cap > uacce_zip_max_buf(e->z))
		return -E2BIG;
	if ((uint32_t)e->depth > uacce_zip_depth(e->z))
		e->depth = (int)uacce_zip_depth(e->z);
	for (int i = 0; i < e->depth; i++) {
		e->s[i].in = uacce_zip_alloc(e->z, e->in_cap);
		e->s[i].out = uacce_zip_alloc(e->z, e->out_cap);
		if (!e->s[i].in || !e->s[i].out)
			return -ENOMEM;
	}
	return 0;
}

static struct slot *fifo_at(struct engine *e, int k)
{
	return &e->s[e->fifo[(e->head + k) % MAX_DEPTH]];
}

static int fifo_push(struct engine *e)
{
	bool used[MAX_DEPTH] = { false };
	int idx = -1;

	for (int k = 0; k < e->count; k++)
		used[e->fifo[(e->head + k) % MAX_DEPTH]] = true;
	for (int i = 0; i < e->depth && idx < 0; i++)
		if (!used[i])
			idx = i;
	e->fifo[(e->head + e->count++) % MAX_DEPTH] = idx;
	e->s[idx].off = e->s[idx].len = 0;
	e->s[idx].inflight = e->s[idx].last = false;
	return idx;
}

static void fifo_pop(struct engine *e)
{
	e->head = (e->head + 1) % MAX_DEPTH;
	e->count--;
}

static int submit(struct engine *e, int idx, uint8_t op, uint8_t stream, uint32_t flags,
		  uint16_t epoch, int level)
{
	struct slot *s = &e->s[idx];
	struct uacce_zip_sqe q = {
		.src = (uintptr_t)(s->in + s->off), .src_len = (uint32_t)(s->len - s->off),
		.dst = (uintptr_t)s->out, .dst_len = (uint32_t)e->out_cap,
		.cookie = (uint64_t)idx, .op = op, .alg = UACCE_ZIP_ALG_GZIP,
		.level = (uint8_t)level, .stream = stream, .flags = flags, .epoch = epoch,
	};
	int err = uacce_zip_submit(e->z, &q);

	if (!err) {
		s->inflight = true;
		s->epoch = epoch;
	}
	return err;
}

/* one completion; -errno when the queue failed (not the request) */
static int reap(struct engine *e, struct uacce_zip_cqe *c)
{
	int r = uacce_zip_wait(e->z, c, -1);

	if (r < 0)
		return r;
	if (c->cookie >= (uint64_t)e->depth)
		return -EPROTO;
	e->s[c->cookie].inflight = false;
	return 0;
}

static int emit(struct job *j, const struct slot *s, uint32_t produced)
{
	int err = 0;

	if (j->out_fd >= 0 && produced)
		err = write_all(j->out_fd, s->out, produced);
	j->bytes_out += produced;
	return err;
}

/* --- compression in blocks ----------------------------------------------------- */

/*
 * Read the next block into a new slot and submit it.  0, 1 when the input
 * ended, or -errno.  An empty input still makes one (empty) member.
 */
static int feed_block(struct engine *e, struct job *j, const struct opts *o, bool first)
{
	int idx = fifo_push(e), err;
	bool eof;
	ssize_t n = read_full(j->in_fd, e->s[idx].in, e->in_cap, &eof);

	if (n < 0 || (n == 0 && !first)) {
		e->count--;	/* give the slot back */
		return n < 0 ? (int)n : 1;
	}
	e->s[idx].len = (size_t)n;
	err = submit(e, idx, UACCE_ZIP_OP_COMPRESS, 0, 0, 0, o->level);
	if (err) {
		e->count--;
		return err;
	}
	return eof;
}

static int compress_blocks(struct engine *e, struct job *j, const struct opts *o)
{
	bool eof = false, first = true;
	int ioerr = 0;

	while (!ioerr) {
		struct uacce_zip_cqe c;
		struct slot *s;
		int err;

		while (!eof && e->count < e->depth && !ioerr) {
			int r = feed_block(e, j, o, first);

			eof = r == 1;
			ioerr = r < 0 ? r : 0;
			first = false;
		}
		if (!e->count)
			break;
		if ((err = reap(e, &c)) < 0)
			return err;
		s = fifo_at(e, 0);
		if (&e->s[c.cookie] != s)
			return -EPROTO;	/* one queue completes in order */
		if (c.status)
			return -(int)c.status;
		if ((err = emit(j, s, c.produced)) < 0)
			return err;
		j->bytes_in += s->len;
		progress_show(&j->prog, j->bytes_in, j->bytes_out);
		fifo_pop(e);
	}
	return ioerr;
}

/* --- streams (--stream compression, all decompression) ------------------------- */

struct stream {
	uint8_t op;
	uint16_t epoch;
	bool checked;		/* decompress: the gzip magic was seen */
	bool started, finished, eof;
	bool junk;		/* non-zero bytes after the end (zeros: ignored, as gzip) */
};

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* after the end: is everything left, read or not, zero bytes? */
static bool rest_is_zero(struct engine *e, struct job *j, const struct stream *st)
{
	bool eof = st->eof;

	if (st->junk)
		return false;
	while (!eof) {
		ssize_t n = read_full(j->in_fd, e->s[0].in, e->in_cap, &eof);

		if (n < 0 || !all_zero(e->s[0].in, (size_t)n))
			return false;
	}
	return true;
}

static bool is_gzip(const struct slot *s)
{
	return s->len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
}

/* read chunks into free slots */
static int stream_fill(struct engine *e, struct job *j, struct stream *st)
{
	while (!st->eof && !st->finished && e->count < e->depth) {
		int idx = fifo_push(e);
		ssize_t n = read_full(j->in_fd, e->s[idx].in, e->in_cap, &st->eof);

		if (n < 0)
			return (int)n;
		e->s[idx].len = (size_t)n;
		e->s[idx].last = st->eof;
		if (st->op == UACCE_ZIP_OP_DECOMPRESS && !st->checked && !is_gzip(&e->s[idx]))
			return n < 2 && st->eof ? -ENODATA : -EILSEQ;
		st->checked = true;
	}
	return 0;
}

/* submit in order; stop at a request still in flight with a stale epoch */
static int stream_send(struct engine *e, struct stream *st, int level)
{
	for (int k = 0; k < e->count; k++) {
		struct slot *s = fifo_at(e, k);
		uint32_t flags = (st->started ? 0 : UACCE_ZIP_F_START) | (s->last ? UACCE_ZIP_F_END : 0);
		int err;

		if (s->inflight) {
			if (s->epoch != st->epoch)
				break;
			continue;
		}
		err = submit(e, e->fifo[(e->head + k) % MAX_DEPTH], st->op, STREAM_ID, flags,
			     st->epoch, level);
		if (err)
			return err;
		st->started = true;
	}
	return 0;
}

/* a completion of the stream: 0, or -errno to stop the job */
static int stream_done(struct engine *e, struct job *j, struct stream *st,
		       const struct uacce_zip_cqe *c)
{
	struct slot *s = &e->s[c->cookie];
	int err;

	if (c->status == ECANCELED || (st->finished && c->status == EPIPE))
		return 0;	/* resubmitted by stream_send, or after the end */
	if (c->status)
		return -(int)c->status;
	if (s != fifo_at(e, 0))
		return -EPROTO;
	if ((err = emit(j, s, c->produced)) < 0)
		return err;
	s->off += c->consumed;
	j->bytes_in += c->consumed;
	progress_show(&j->prog, j->bytes_in, j->bytes_out);
	if (c->flags & UACCE_ZIP_CF_EOS) {
		st->finished = true;
		for (int k = 0; k < e->count; k++) {
			const struct slot *o = fifo_at(e, k);

			st->junk |= !all_zero(o->in + o->off, o->len - o->off);
		}
		fifo_pop(e);
	} else if (c->flags & UACCE_ZIP_CF_MORE) {
		st->epoch = c->epoch;	/* s goes again with the rest */
	} else if (s->off == s->len) {
		fifo_pop(e);
	} else {
		return -EPROTO;
	}
	return 0;
}

static int run_stream(struct engine *e, struct job *j, uint8_t op, int level)
{
	struct stream st = { .op = op };
	int err;

	for (;;) {
		struct uacce_zip_cqe c;

		err = stream_fill(e, j, &st);
		if (!err && !st.finished)
			err = stream_send(e, &st, level);
		if (err)
			break;
		if (!uacce_zip_outstanding(e->z))
			break;
		if ((err = reap(e, &c)) < 0 || (err = stream_done(e, j, &st, &c)) < 0)
			break;
	}
	if (!err && !st.finished)
		err = -ENODATA;
	if (!err && op == UACCE_ZIP_OP_DECOMPRESS)	/* all outstanding requests are back */
		j->trailing = !rest_is_zero(e, j, &st);
	return err;
}

/* --- one file ------------------------------------------------------------------ */

static int run_job(struct engine *e, struct job *j, const struct opts *o)
{
	int err;

	e->head = e->count = 0;
	if (o->decompress)
		err = run_stream(e, j, UACCE_ZIP_OP_DECOMPRESS, 0);
	else if (o->stream)
		err = run_stream(e, j, UACCE_ZIP_OP_COMPRESS, o->level);
	else
		err = compress_blocks(e, j, o);
	/* after an error: collect what is still in flight, so the queue is clean */
	while (uacce_zip_outstanding(e->z)) {
		struct uacce_zip_cqe c;

		if (reap(e, &c) < 0)
			break;
	}
	return err;
}

/* gzip's words for what went wrong with a job */
static void job_error(const struct engine *e, const struct job *j, int err)
{
	switch (-err) {
	case EILSEQ:
		error("%s: not in gzip format", j->name);
		break;
	case ENODATA:
		error("%s: unexpected end of file", j->name);
		break;
	case EBADMSG:
		error("%s: invalid compressed data--format violated", j->name);
		break;
	case ENOTCONN: case EPROTO: case ENOMEM: case EFAULT: case E2BIG: case EINVAL:
		error("%s: %s: %s", j->name, e->dev, uacce_zip_strerror(err));
		break;
	default:
		error("%s: %s", j->name, strerror(-err));
	}
}

static double pct_saved(const struct job *j, bool decompress)
{
	uint64_t big = decompress ? j->bytes_out : j->bytes_in;
	uint64_t small = decompress ? j->bytes_in : j->bytes_out;

	return big ? 100.0 * ((double)big - (double)small) / (double)big : 0.0;
}

static void report(const struct engine *e, const struct job *j, const char *out_name,
		   uint64_t t0)
{
	double s = (double)(now_ns() - t0) / 1e9;
	uint64_t raw = g_opts->decompress ? j->bytes_out : j->bytes_in;

	if (g_opts->verbose <= 0)
		return;
	if (g_opts->test) {
		fprintf(stderr, "%s:\t OK\n", j->name);
		return;
	}
	fprintf(stderr, "%s:\t%5.1f%%", j->name, pct_saved(j, g_opts->decompress));
	if (out_name)
		fprintf(stderr, " -- %s %s", g_opts->keep ? "created" : "replaced with", out_name);
	else
		fprintf(stderr, " -- replaced with stdout");
	fprintf(stderr, " (%.1f MB/s through %s)\n", (double)raw / 1e6 / (s + 1e-9), e->dev);
}

/* run a job, with its messages; OK, ERR or WARN */
static int do_job(struct engine *e, struct job *j, uint64_t size, const char *out_name)
{
	uint64_t t0 = now_ns();
	int err;

	progress_start(&j->prog, j->name, size);
	err = run_job(e, j, g_opts);
	progress_end(&j->prog);
	if (err) {
		job_error(e, j, err);
		return ERR;
	}
	report(e, j, out_name, t0);
	if (j->trailing) {
		warning("%s: decompression OK, trailing garbage ignored", j->name);
		return WARN;
	}
	return OK;
}

/* --- files --------------------------------------------------------------------- */

static bool has_suffix(const char *name, const char *suf)
{
	size_t n = strlen(name), s = strlen(suf);

	return n > s && strcmp(name + n - s, suf) == 0;
}

/* the output name for `in`, or NULL with a warning */
static char *out_name_for(const char *in, const struct opts *o)
{
	char *out = NULL;

	if (!o->decompress) {
		if (has_suffix(in, ".gz") || has_suffix(in, ".tgz")) {
			warning("%s already has .gz suffix -- unchanged", in);
			return NULL;
		}
		if (asprintf(&out, "%s.gz", in) < 0)
			return NULL;
		return out;
	}
	if (has_suffix(in, ".gz"))
		out = strndup(in, strlen(in) - 3);
	else if (has_suffix(in, ".tgz") && asprintf(&out, "%.*s.tar", (int)(strlen(in) - 4), in) < 0)
		out = NULL;
	else if (!has_suffix(in, ".tgz"))
		warning("%s: unknown suffix -- ignored", in);
	return out;
}

static bool input_ok(const char *in, const struct stat *st, const struct opts *o)
{
	if (S_ISDIR(st->st_mode)) {
		warning("%s is a directory -- ignored", in);
		return false;
	}
	if (!S_ISREG(st->st_mode) && !(o->force && S_ISLNK(st->st_mode))) {
		warning("%s is not a directory or a regular file - ignored", in);
		return false;
	}
	if (!o->to_stdout && !o->test && !o->force && st->st_nlink > 1) {
		warning("%s has %lu other link%s -- unchanged", in, (unsigned long)st->st_nlink - 1,
			st->st_nlink > 2 ? "s" : "");
		return false;
	}
	return true;
}

static int open_output(const char *name, const struct opts *o)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC | (o->force ? O_TRUNC : O_EXCL), 0600);

	if (fd < 0 && errno == EEXIST) {
		warning("%s already exists; not overwritten", name);
		return -1;
	}
	if (fd < 0)
		error("%s: %s", name, strerror(errno));
	return fd;
}

/* mode, owner and times of the input, as gzip keeps them */
static void copy_attrs(int fd, const struct stat *st)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };

	if (fchown(fd, st->st_uid, st->st_gid) < 0 && fchown(fd, (uid_t)-1, st->st_gid) < 0)
		(void)0;	/* as gzip: best effort */
	fchmod(fd, st->st_mode & 07777);
	futimens(fd, t);
}

static void set_partial(const char *name)
{
	have_partial = 0;
	snprintf(partial, sizeof(partial), "%s", name);
	have_partial = 1;
}

static int finish_output(struct job *j, const char *out, const struct stat *st, int res)
{
	if (res == ERR) {
		close(j->out_fd);
		unlink(out);
		have_partial = 0;
		return ERR;
	}
	copy_attrs(j->out_fd, st);
	have_partial = 0;
	if (close(j->out_fd) < 0) {
		error("%s: %s", out, strerror(errno));
		unlink(out);
		return ERR;
	}
	return res;
}

static void do_file(struct engine *e, const char *in, const struct opts *o)
{
	struct job j = { .name = in, .out_fd = STDOUT_FILENO };
	char *out = NULL;
	struct stat st;
	int res;

	if (lstat(in, &st) < 0) {
		error("%s: %s", in, strerror(errno));
		return;
	}
	if (!input_ok(in, &st, o))
		return;
	if (S_ISLNK(st.st_mode) && stat(in, &st) < 0) {	/* -f: what it points to */
		error("%s: %s", in, strerror(errno));
		return;
	}
	if (!o->to_stdout && !o->test && !(out = out_name_for(in, o)))
		return;
	j.in_fd = open(in, O_RDONLY | O_CLOEXEC);
	if (j.in_fd < 0) {
		error("%s: %s", in, strerror(errno));
		free(out);
		return;
	}
	if (o->test)
		j.out_fd = -1;
	else if (out && (j.out_fd = open_output(out, o)) < 0)
		goto done;
	if (out)
		set_partial(out);
	res = do_job(e, &j, (uint64_t)st.st_size, out);
	if (out)
		res = finish_output(&j, out, &st, res);
	if (out && res != ERR && !o->keep && unlink(in) < 0)
		error("%s: %s", in, strerror(errno));
done:
	close(j.in_fd);
	free(out);
}

static void do_stdin(struct engine *e, const struct opts *o)
{
	struct job j = { .name = "stdin", .in_fd = STDIN_FILENO,
			 .out_fd = o->test ? -1 : STDOUT_FILENO };
	struct stat st;

	if (o->decompress && !o->force && isatty(STDIN_FILENO)) {
		error("compressed data not read from a terminal. Use -f to force decompression.");
		return;
	}
	do_job(e, &j, fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size
									    : 0, NULL);
}

/* --- --compare ------------------------------------------------------------------ */

/*
 * The device, then each CPU tool, on `in` at our level, each output
 * checked with gzip -dc: a table or JSON on stdout.  ERR when the device
 * failed or an output that was made does not give the input back.
 */
static int compare_file(struct engine *e, const char *in, const struct opts *o)
{
	char lv[16], lv3[16], threads[64];
	const char *const gzip_argv[] = { "gzip", "-c", lv, NULL };
	const char *const pigz_argv[] = { "pigz", "-c", lv, NULL };
	const char *const igzip_argv[] = { "igzip", "-c", lv3, NULL };
	const struct { const char *tool; const char *const *argv; } tools[] = {
		{ "gzip", gzip_argv }, { "pigz", pigz_argv }, { "igzip", igzip_argv },
	};
	struct zc_row rows[4] = { { .tool = PROG, .level = o->level, .installed = true } };
	struct job j = { .name = in };
	int out_fd = zc_tmpfile(), res = OK;
	struct stat st;
	uint64_t t0;

	if (out_fd < 0) {
		error("--compare: a temporary file: %s", strerror(-out_fd));
		return ERR;
	}
	j.in_fd = open(in, O_RDONLY | O_CLOEXEC);
	if (j.in_fd < 0 || fstat(j.in_fd, &st) < 0) {
		error("%s: %s", in, strerror(errno));
		res = ERR;
	} else if (!S_ISREG(st.st_mode)) {
		error("%s: --compare: not a regular file", in);
		res = ERR;
	}
	if (res == ERR) {
		if (j.in_fd >= 0)
			close(j.in_fd);
		close(out_fd);
		return ERR;
	}
	j.out_fd = out_fd;
	snprintf(lv, sizeof(lv), "-%d", o->level);
	snprintf(lv3, sizeof(lv3), "-%d", o->level < 3 ? o->level : 3);
	t0 = now_ns();
	if (do_job(e, &j, (uint64_t)st.st_size, NULL) == ERR) {
		snprintf(rows[0].note, sizeof(rows[0].note), "through %s: failed", e->dev);
		res = ERR;
	} else {
		rows[0].ran = true;
		rows[0].seconds = (double)(now_ns() - t0) / 1e9;
		rows[0].bytes = j.bytes_out;
		zc_verify(out_fd, in, &rows[0]);
	}
	close(j.in_fd);
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		struct zc_row *r = &rows[i + 1];

		r->tool = tools[i].tool;
		r->level = strcmp(r->tool, "igzip") == 0 ? (o->level < 3 ? o->level : 3) : o->level;
		r->installed = zc_have(r->tool);
		if (!r->installed)
			continue;
		zc_run(tools[i].argv, in, out_fd, r);
		if (r->ran)
			zc_verify(out_fd, in, r);
		if (r->ran && strcmp(r->tool, "pigz") == 0) {
			snprintf(threads, sizeof(threads), "%ld threads", sysconf(_SC_NPROCESSORS_ONLN));
			if (r->verified)
				snprintf(r->note, sizeof(r->note), "%s", threads);
		}
		if (r->ran && !r->verified)
			res = ERR;
	}
	if (rows[0].ran && !rows[0].verified)
		res = ERR;
	close(out_fd);
	if (o->json)
		zc_print_json(in, (uint64_t)st.st_size, e->dev, rows, 4);
	else
		zc_print_table(in, (uint64_t)st.st_size, e->dev, rows, 4);
	if (res == ERR)
		error("%s: --compare: an output does not decompress to the input, or the device "
		      "failed", in);
	return res;
}

/* --- main ---------------------------------------------------------------------- */

static void on_signal(int sig)
{
	if (have_partial)
		unlink(partial);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... [FILE]...\n"
		"Compress or decompress FILEs (in place by default) through a uacce zip\n"
		"device; the output is gzip format.  No FILE, or -: standard input.\n\n"
		"  -c, --stdout       write on standard output, keep the input files\n"
		"  -d, --decompress   decompress\n"
		"  -f, --force        overwrite output files, (de)compress links and terminals\n"
		"  -k, --keep         keep (don't delete) input files\n"
		"  -t, --test         test the integrity of compressed files\n"
		"  -q, --quiet        suppress all warnings\n"
		"  -v, --verbose      name, ratio and speed of each file\n"
		"  -1, --fast         compress faster\n"
		"  -9, --best         compress better (-1 .. -9, default -6)\n"
		"      --device DEV   the zip device (default: the first, e.g. uacce-zip-2)\n"
		"  -b, --block SIZE   bytes per gzip member (default 1M)\n"
		"      --stream       one gzip member for the whole input (stateful stream)\n"
		"      --depth N      requests in flight (default 4)\n"
		"      --compare      time the device on each FILE next to gzip, pigz and igzip\n"
		"                     (those installed) at the same level, check that every\n"
		"                     output decompresses to FILE, print a table; FILEs kept\n"
		"      --json         --compare: one JSON object per FILE instead\n"
		"  -h, --help         this help\n"
		"  -V, --version      version\n",
		PROG);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || v < 4096 || v > (64ULL << 20))
		return -ERANGE;
	*out = (size_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "stdout", no_argument, NULL, 'c' }, { "to-stdout", no_argument, NULL, 'c' },
		{ "decompress", no_argument, NULL, 'd' }, { "uncompress", no_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' }, { "keep", no_argument, NULL, 'k' },
		{ "test", no_argument, NULL, 't' }, { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' }, { "fast", no_argument, NULL, '1' },
		{ "best", no_argument, NULL, '9' }, { "device", required_argument, NULL, 'D' },
		{ "block", required_argument, NULL, 'b' }, { "stream", no_argument, NULL, 'S' },
		{ "depth", required_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { "compare", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' }, { 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "cdfktqv123456789b:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->to_stdout = true; break;
		case 'd': o->decompress = true; break;
		case 'f': o->force = true; break;
		case 'k': o->keep = true; break;
		case 't': o->test = o->decompress = true; break;
		case 'q': o->verbose = -1; break;
		case 'v': o->verbose = 1; break;
		case 'D': o->device = optarg; break;
		case 'S': o->stream = true; break;
		case 'C': o->compare = true; break;
		case 'J': o->json = true; break;
		case 'b':
			if (parse_size(optarg, &o->block) < 0) {
				error("invalid block size %s (4K..64M)", optarg);
				return -1;
			}
			break;
		case 'P':
			o->depth = atoi(optarg);
			if (o->depth < 1 || o->depth > MAX_DEPTH) {
				error("--depth must be 1..%d", MAX_DEPTH);
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(OK);
		case 'V': printf("%s (uacced) %s\n", PROG, PACKAGE_VERSION); exit(OK);
		default:
			if (c >= '1' && c <= '9') {
				o->level = c - '0';
				break;
			}
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .level = 6, .block = 1u << 20, .depth = 4 };
	struct engine e;
	bool files = false;
	int err;

	g_opts = &o;
	if (parse_args(argc, argv, &o) < 0)
		return ERR;
	for (int i = optind; i < argc; i++)
		files |= strcmp(argv[i], "-") != 0;
	if (o.compare && (o.decompress || !files)) {
		error("--compare compresses FILEs (not standard input): %s", o.decompress ?
		      "no -d or -t" : "name one");
		return ERR;
	}
	if (!o.compare && !o.decompress && !o.test && !o.force && isatty(STDOUT_FILENO) &&
	    (o.to_stdout || !files)) {
		error("compressed data not written to a terminal. Use -f to force compression.\n"
		      "For help, type: %s -h", PROG);
		return ERR;
	}
	err = engine_open(&e, &o);
	if (err) {
		char why[1024];

		if (err == -ENODEV && !o.device && uacce_runtime_check(why, sizeof(why)) == 0)
			error("no uacce zip device: uacced at %s publishes none",
			      uacce_runtime_dir());
		else if (err == -ENODEV || err == -EACCES || err == -ENOENT || err == -EPERM ||
			 err == -ENOTCONN || err == -ECONNREFUSED)
			error("%s", uacce_explain(err, e.dev[0] ? e.dev : o.device ? o.device :
						  "zip device", why, sizeof(why)));
		else
			error("%s: %s", e.dev[0] ? e.dev : "device", uacce_zip_strerror(err));
		uacce_zip_close(e.z);
		return ERR;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (optind == argc && !o.compare)
		do_stdin(&e, &o);
	for (int i = optind; i < argc; i++) {
		if (o.compare) {
			if (compare_file(&e, argv[i], &o) == ERR)
				exit_code = ERR;
		} else if (strcmp(argv[i], "-") == 0)
			do_stdin(&e, &o);
		else
			do_file(&e, argv[i], &o);
	}
	uacce_zip_close(e.z);
	return exit_code;
}
