/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * codec.c - the zip device's codecs (codec.h): libdeflate, ISA-L (igzip)
 * and zlib, each where it is the fastest at equal or better ratio.
 *
 * Figures behind the tables (measured 2026-12-02 on the 2-core build
 * machine under load, Debian 12: libdeflate 1.14, ISA-L 2.30, zlib 1.2.13;
 * uacce-bench's corpus - 16 MiB of common licenses + man pages - in 1 MiB
 * gzip buffers; MB/s of input per CPU second of one thread, best of 3;
 * size = compressed / input; the first 32 MiB of the same files gave the
 * same orderings):
 *
 *   compress         MB/s  size       compress         MB/s  size
 *   ISA-L 0           812  .1930      libdeflate 1      307  .1674
 *   ISA-L 1           775  .1838      libdeflate 2      185  .1600
 *   ISA-L 2           590  .1799      libdeflate 3      139  .1521
 *   ISA-L 3           283  .1643      libdeflate 4      149  .1473
 *   zlib 1            126  .1920      libdeflate 5      118  .1439
 *   zlib 2            123  .1809      libdeflate 6       80  .1404
 *   zlib 3            103  .1737      zlib 6             46  .1394
 *   zlib 4             84  .1535
 *   zlib 5             69  .1436
 *
 *   decompress (gzip of libdeflate 6): libdeflate 1491 MB/s, ISA-L 1368,
 *   zlib 580.
 *
 * Whole buffers: no ISA-L level matches libdeflate's ratio at gzip levels
 * 2-9; at level 1 ISA-L 3 does (.1643 < .1674) but at 0.92x libdeflate 1's
 * speed (283 vs 307 MB/s; 345 vs 373 on 32 MiB), so libdeflate keeps every level.
 * Decompression: libdeflate (1.1x ISA-L).  Streams (libdeflate cannot
 * stream, so the rival is zlib at the same level): ISA-L 1, 2, 3 for gzip
 * levels 1, 2, 3 (size .1838/.1799/.1643 against zlib's .1920/.1809/.1737,
 * 2.7-6x faster); no ISA-L level reaches zlib 4's size (.1535), so zlib
 * keeps 4-9.  Stream decompression: ISA-L's stateful inflate (2.4x zlib's)
 * for gzip; raw deflate and zlib streams inflate with zlib
 * (codec_stream_new says why).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec.h"

#define DEFAULT_LEVEL	6

static const struct codec_pick whole_map[CODEC_MAX_LEVEL + 1] = {
	[1] = { CODEC_LIBDEFLATE, 1 }, [2] = { CODEC_LIBDEFLATE, 2 }, [3] = { CODEC_LIBDEFLATE, 3 },
	[4] = { CODEC_LIBDEFLATE, 4 }, [5] = { CODEC_LIBDEFLATE, 5 }, [6] = { CODEC_LIBDEFLATE, 6 },
	[7] = { CODEC_LIBDEFLATE, 7 }, [8] = { CODEC_LIBDEFLATE, 8 }, [9] = { CODEC_LIBDEFLATE, 9 },
};

static const struct codec_pick stream_map[CODEC_MAX_LEVEL + 1] = {
	[1] = { CODEC_ISAL, 1 },    [2] = { CODEC_ISAL, 2 },    [3] = { CODEC_ISAL, 3 },
	[4] = { CODEC_ZLIBLIB, 4 }, [5] = { CODEC_ZLIBLIB, 5 }, [6] = { CODEC_ZLIBLIB, 6 },
	[7] = { CODEC_ZLIBLIB, 7 }, [8] = { CODEC_ZLIBLIB, 8 }, [9] = { CODEC_ZLIBLIB, 9 },
};

static int clamp_level(int level)
{
	return level >= CODEC_MIN_LEVEL && level <= CODEC_MAX_LEVEL ? level : DEFAULT_LEVEL;
}

struct codec_pick codec_pick_whole(int level)
{
	return whole_map[clamp_level(level)];
}

struct codec_pick codec_pick_stream(int level)
{
	return stream_map[clamp_level(level)];
}

const char *codec_lib_name(enum codec_lib lib)
{
	return lib == CODEC_LIBDEFLATE ? "libdeflate" : lib == CODEC_ISAL ? "isa-l" : "zlib";
}

/* ISA-L's level buffer: its "default" size per level (0 needs none) */
static size_t isal_level_buf_size(int level)
{
	static const size_t sz[] = { 0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
				     ISAL_DEF_LVL3_DEFAULT };

	return level >= 0 && level <= ISAL_DEF_MAX_LEVEL ? sz[level] : 0;
}

static int isal_gzip_flag(enum codec_fmt fmt)
{
	return fmt == CODEC_GZIP ? IGZIP_GZIP : fmt == CODEC_ZLIB ? IGZIP_ZLIB : IGZIP_DEFLATE;
}

static int isal_crc_flag(enum codec_fmt fmt)
{
	return fmt == CODEC_GZIP ? ISAL_GZIP : fmt == CODEC_ZLIB ? ISAL_ZLIB : ISAL_DEFLATE;
}

static int zlib_wbits(enum codec_fmt fmt)
{
	return fmt == CODEC_RAW ? -15 : fmt == CODEC_ZLIB ? 15 : 31;
}

static bool fmt_ok(enum codec_fmt fmt)
{
	return fmt == CODEC_RAW || fmt == CODEC_ZLIB || fmt == CODEC_GZIP;
}

/* --- whole buffers ---------------------------------------------------------- */

struct codec_ws {
	struct libdeflate_compressor *c[CODEC_MAX_LEVEL + 1];
	struct libdeflate_decompressor *d;
	uint8_t *isal_buf;	/* ISA-L's level buffer, the largest size */
	struct isal_zstream isz;
	struct inflate_state ist;
};

struct codec_ws *codec_ws_new(void)
{
	return calloc(1, sizeof(struct codec_ws));
}

void codec_ws_free(struct codec_ws *ws)
{
	if (!ws)
		return;
	for (int i = 0; i <= CODEC_MAX_LEVEL; i++)
		libdeflate_free_compressor(ws->c[i]);
	libdeflate_free_decompressor(ws->d);
	free(ws->isal_buf);
	free(ws);
}

static int ld_compress(struct codec_ws *ws, int level, enum codec_fmt fmt, const uint8_t *in,
		       size_t in_len, uint8_t *out, size_t cap, size_t *produced)
{
	struct libdeflate_compressor *c;
	size_t n;

	if (level < CODEC_MIN_LEVEL || level > CODEC_MAX_LEVEL)
		return -EINVAL;
	if (!ws->c[level] && !(ws->c[level] = libdeflate_alloc_compressor(level)))
		return -ENOMEM;
	c = ws->c[level];
	if (fmt == CODEC_GZIP)
		n = libdeflate_gzip_compress(c, in, in_len, out, cap);
	else if (fmt == CODEC_ZLIB)
		n = libdeflate_zlib_compress(c, in, in_len, out, cap);
	else
		n = libdeflate_deflate_compress(c, in, in_len, out, cap);
	if (!n)
		return -ENOSPC;
	*produced = n;
	return 0;
}

static int isal_compress(struct codec_ws *ws, int level, enum codec_fmt fmt, const uint8_t *in,
			 size_t in_len, uint8_t *out, size_t cap, size_t *produced)
{
	struct isal_zstream *z = &ws->isz;
	int r;

	if (level < ISAL_DEF_MIN_LEVEL || level > ISAL_DEF_MAX_LEVEL || in_len > UINT32_MAX)
		return -EINVAL;
	if (!ws->isal_buf && !(ws->isal_buf = malloc(isal_level_buf_size(ISAL_DEF_MAX_LEVEL))))
		return -ENOMEM;
	isal_deflate_stateless_init(z);
	z->level = (uint32_t)level;
	z->level_buf = level ? ws->isal_buf : NULL;
	z->level_buf_size = (uint32_t)isal_level_buf_size(level);
	z->gzip_flag = (uint16_t)isal_gzip_flag(fmt);
	z->end_of_stream = 1;
	z->next_in = (uint8_t *)in;
	z->avail_in = (uint32_t)in_len;
	z->next_out = out;
	z->avail_out = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	r = isal_deflate_stateless(z);
	if (r == STATELESS_OVERFLOW)
		return -ENOSPC;
	if (r != COMP_OK)
		return -EINVAL;
	*produced = z->total_out;
	return 0;
}

int codec_compress(struct codec_ws *ws, struct codec_pick p, enum codec_fmt fmt,
		   const uint8_t *in, size_t in_len, uint8_t *out, size_t cap, size_t *produced)
{
	if (!fmt_ok(fmt))
		return -EINVAL;
	if (p.lib == CODEC_LIBDEFLATE)
		return ld_compress(ws, p.level, fmt, in, in_len, out, cap, produced);
	if (p.lib == CODEC_ISAL)
		return isal_compress(ws, p.level, fmt, in, in_len, out, cap, produced);
	return -EINVAL;
}

/*
 * libdeflate says "insufficient space" for corrupt data that decodes to
 * more than the buffer too.  Decode again with ISA-L, which stops at the
 * first error: -EBADMSG if the data is corrupt, -ENOSPC if it is only long.
 */
static int corrupt_or_full(struct codec_ws *ws, enum codec_fmt fmt, const uint8_t *in,
			   size_t in_len, uint8_t *out, size_t cap)
{
	struct inflate_state *st = &ws->ist;
	int r;

	isal_inflate_init(st);
	st->crc_flag = (uint32_t)isal_crc_flag(fmt);
	st->next_in = (uint8_t *)in;
	st->avail_in = (uint32_t)in_len;
	st->next_out = out;
	st->avail_out = (uint32_t)cap;
	r = isal_inflate_stateless(st);
	return r == ISAL_OUT_OVERFLOW ? -ENOSPC : -EBADMSG;
}

int codec_decompress(struct codec_ws *ws, enum codec_fmt fmt, const uint8_t *in, size_t in_len,
		     uint8_t *out, size_t cap, size_t *consumed, size_t *produced)
{
	enum libdeflate_result r;
	size_t i = 0, o = 0;

	if (!fmt_ok(fmt) || in_len > UINT32_MAX || cap > UINT32_MAX)
		return -EINVAL;
	if (!ws->d && !(ws->d = libdeflate_alloc_decompressor()))
		return -ENOMEM;
	if (fmt == CODEC_GZIP)
		r = libdeflate_gzip_decompress_ex(ws->d, in, in_len, out, cap, &i, &o);
	else if (fmt == CODEC_ZLIB)
		r = libdeflate_zlib_decompress_ex(ws->d, in, in_len, out, cap, &i, &o);
	else
		r = libdeflate_deflate_decompress_ex(ws->d, in, in_len, out, cap, &i, &o);
	if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
		return corrupt_or_full(ws, fmt, in, in_len, out, cap);
	if (r != LIBDEFLATE_SUCCESS)
		return -EBADMSG;
	*consumed = i;
	*produced = o;
	return 0;
}

/* --- streams ---------------------------------------------------------------- */

struct codec_stream {
	enum codec_lib lib;
	enum codec_fmt fmt;
	bool compress;
	bool finishing;		/* deflate: CODEC_FINISH seen */
	union {
		z_stream z;
		struct isal_zstream isz;
		struct inflate_state ist;
	} u;
	uint8_t *level_buf;	/* ISA-L deflate */
};

int codec_stream_new(bool compress, enum codec_fmt fmt, int level, struct codec_stream **out)
{
	struct codec_pick p = codec_pick_stream(level);
	struct codec_stream *s;
	int r = Z_OK;

	*out = NULL;
	if (!fmt_ok(fmt) || (compress && (level < CODEC_MIN_LEVEL || level > CODEC_MAX_LEVEL)))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->compress = compress;
	s->fmt = fmt;
	/*
	 * ISA-L 2.30 consumes bytes past the end of a raw deflate stream (5
	 * here: its bit buffer) and of a zlib stream (1), and a stream's end
	 * must say where the next data begins: raw and zlib streams inflate
	 * with zlib, which stops at the stream's last byte; gzip (every member
	 * ends exactly, test-codec checks it) with ISA-L
	 */
	s->lib = compress ? p.lib : fmt == CODEC_GZIP ? CODEC_ISAL : CODEC_ZLIBLIB;
	if (s->lib == CODEC_ZLIBLIB && compress) {
		r = deflateInit2(&s->u.z, p.level, Z_DEFLATED, zlib_wbits(fmt), 8,
				 Z_DEFAULT_STRATEGY);
	} else if (s->lib == CODEC_ZLIBLIB) {
		r = inflateInit2(&s->u.z, zlib_wbits(fmt));
	} else if (compress) {
		size_t lb = isal_level_buf_size(p.level);

		isal_deflate_init(&s->u.isz);
		if (lb && !(s->level_buf = malloc(lb)))
			r = Z_MEM_ERROR;
		s->u.isz.level = (uint32_t)p.level;
		s->u.isz.level_buf = s->level_buf;
		s->u.isz.level_buf_size = (uint32_t)lb;
		s->u.isz.gzip_flag = (uint16_t)isal_gzip_flag(fmt);
	} else {
		isal_inflate_init(&s->u.ist);
		s->u.ist.crc_flag = (uint32_t)isal_crc_flag(fmt);
	}
	if (r != Z_OK) {
		free(s->level_buf);
		free(s);
		return r == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	*out = s;
	return 0;
}

void codec_stream_free(struct codec_stream *s)
{
	if (!s)
		return;
	if (s->lib == CODEC_ZLIBLIB && s->compress)
		deflateEnd(&s->u.z);
	else if (s->lib == CODEC_ZLIBLIB)
		inflateEnd(&s->u.z);
	free(s->level_buf);
	free(s);
}

enum codec_lib codec_stream_lib(const struct codec_stream *s)
{
	return s->lib;
}

static uint32_t left32(size_t len, size_t done)
{
	return len - done > UINT32_MAX ? UINT32_MAX : (uint32_t)(len - done);
}

static int zlib_deflate(struct codec_stream *s, struct codec_io *io, enum codec_flush flush,
			bool *ended)
{
	z_stream *z = &s->u.z;
	uint32_t ai = left32(io->in_len, io->consumed), ao = left32(io->out_cap, io->produced);
	int zf = s->finishing ? Z_FINISH : flush == CODEC_SYNC_FLUSH ? Z_SYNC_FLUSH : Z_NO_FLUSH;
	int r;

	z->next_in = (Bytef *)io->in + io->consumed;
	z->avail_in = ai;
	z->next_out = io->out + io->produced;
	z->avail_out = ao;
	r = deflate(z, zf);
	if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
		return -EINVAL;
	io->consumed += ai - z->avail_in;
	io->produced += ao - z->avail_out;
	*ended = r == Z_STREAM_END;
	return 0;
}

int codec_deflate(struct codec_stream *s, struct codec_io *io, enum codec_flush flush,
		  bool *ended)
{
	struct isal_zstream *z = &s->u.isz;
	uint32_t ai, ao;

	*ended = false;
	if (!s->compress)
		return -EINVAL;
	if (flush == CODEC_FINISH)
		s->finishing = true;
	if (s->lib == CODEC_ZLIBLIB)
		return zlib_deflate(s, io, flush, ended);
	if (z->internal_state.state == ZSTATE_END)
		return io->consumed < io->in_len ? -EINVAL : (*ended = true, 0);
	ai = left32(io->in_len, io->consumed);
	ao = left32(io->out_cap, io->produced);
	z->next_in = (uint8_t *)io->in + io->consumed;
	z->avail_in = ai;
	z->next_out = io->out + io->produced;
	z->avail_out = ao;
	z->end_of_stream = s->finishing;
	z->flush = !s->finishing && flush == CODEC_SYNC_FLUSH ? SYNC_FLUSH : NO_FLUSH;
	if (isal_deflate(z) != COMP_OK)
		return -EINVAL;
	io->consumed += ai - z->avail_in;
	io->produced += ao - z->avail_out;
	*ended = z->internal_state.state == ZSTATE_END;
	return 0;
}

static int zlib_inflate(struct codec_stream *s, struct codec_io *io, bool *member_end)
{
	z_stream *z = &s->u.z;
	uint32_t ai = left32(io->in_len, io->consumed), ao = left32(io->out_cap, io->produced);
	int r;

	z->next_in = (Bytef *)io->in + io->consumed;
	z->avail_in = ai;
	z->next_out = io->out + io->produced;
	z->avail_out = ao;
	r = inflate(z, Z_NO_FLUSH);
	if (r == Z_MEM_ERROR)
		return -ENOMEM;
	if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
		return -EBADMSG;
	io->consumed += ai - z->avail_in;
	io->produced += ao - z->avail_out;
	*member_end = r == Z_STREAM_END;
	return 0;
}

int codec_inflate(struct codec_stream *s, struct codec_io *io, bool *member_end)
{
	struct inflate_state *st = &s->u.ist;
	uint32_t ai, ao;
	int r;

	*member_end = false;
	if (s->compress)
		return -EINVAL;
	if (s->lib == CODEC_ZLIBLIB)
		return zlib_inflate(s, io, member_end);
	if (st->block_state == ISAL_BLOCK_FINISH) {
		*member_end = true;
		return 0;
	}
	ai = left32(io->in_len, io->consumed);
	ao = left32(io->out_cap, io->produced);
	st->next_in = (uint8_t *)io->in + io->consumed;
	st->avail_in = ai;
	st->next_out = io->out + io->produced;
	st->avail_out = ao;
	r = isal_inflate(st);
	if (r != ISAL_DECOMP_OK && r != ISAL_END_INPUT && r != ISAL_OUT_OVERFLOW)
		return -EBADMSG;	/* corrupt, or a zlib stream that wants a dictionary */
	io->consumed += ai - st->avail_in;
	io->produced += ao - st->avail_out;
	*member_end = st->block_state == ISAL_BLOCK_FINISH;
	return 0;
}

void codec_inflate_next(struct codec_stream *s)
{
	if (s->compress)
		return;
	if (s->lib == CODEC_ZLIBLIB) {
		inflateReset(&s->u.z);
		return;
	}
	isal_inflate_reset(&s->u.ist);
	s->u.ist.crc_flag = (uint32_t)isal_crc_flag(s->fmt);
}
