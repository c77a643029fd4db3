/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * codec.h - the zip device's codecs: which library does which job
 * (hwbackends/soft/codec.c has the table and the figures behind it).
 *
 * Whole buffers go through a per-thread workspace (struct codec_ws);
 * streams have a state each (struct codec_stream).  Formats: raw deflate
 * (RFC 1951), zlib (RFC 1950), gzip (RFC 1952).  Every function returns 0
 * or -errno; input is untrusted.
 */
#ifndef UACCE_SOFT_CODEC_H
#define UACCE_SOFT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum codec_fmt { CODEC_RAW, CODEC_ZLIB, CODEC_GZIP };
enum codec_lib { CODEC_LIBDEFLATE, CODEC_ISAL, CODEC_ZLIBLIB };

#define CODEC_MIN_LEVEL	1
#define CODEC_MAX_LEVEL	9

/* a library and its own level */
struct codec_pick {
	enum codec_lib lib;
	int level;
};

/* the library for a gzip level (1-9; out of range: -EINVAL's pick, level 6's) */
struct codec_pick codec_pick_whole(int level);
struct codec_pick codec_pick_stream(int level);
const char *codec_lib_name(enum codec_lib lib);

/* --- whole buffers ---------------------------------------------------------- */

struct codec_ws;

struct codec_ws *codec_ws_new(void);
void codec_ws_free(struct codec_ws *ws);

/*
 * compress in[0, in_len) into out: 0 and *produced, -ENOSPC when out is
 * too small, -ENOMEM, -EINVAL (a pick the workspace cannot serve)
 */
int codec_compress(struct codec_ws *ws, struct codec_pick p, enum codec_fmt fmt,
		   const uint8_t *in, size_t in_len, uint8_t *out, size_t cap, size_t *produced);
/*
 * decompress one stream (gzip: one member) from in: 0, *consumed (bytes of
 * in that made it) and *produced; -EBADMSG for corrupt or truncated data,
 * -ENOSPC when it decodes to more than cap, -ENOMEM
 */
int codec_decompress(struct codec_ws *ws, enum codec_fmt fmt, const uint8_t *in, size_t in_len,
		     uint8_t *out, size_t cap, size_t *consumed, size_t *produced);

/* --- streams ---------------------------------------------------------------- */

enum codec_flush { CODEC_NO_FLUSH, CODEC_SYNC_FLUSH, CODEC_FINISH };

struct codec_stream;

/* one step's buffers; a step goes on from in + consumed and out + produced */
struct codec_io {
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_cap;
	size_t consumed, produced;
};

/* a compressor at a gzip level (1-9), or a decompressor: 0, -ENOMEM, -EINVAL */
int codec_stream_new(bool compress, enum codec_fmt fmt, int level, struct codec_stream **out);
void codec_stream_free(struct codec_stream *s);
enum codec_lib codec_stream_lib(const struct codec_stream *s);

/*
 * compress what io offers; CODEC_FINISH is sticky (later steps may only
 * hand in the rest).  0 and *ended once the stream's end is out in full;
 * -EINVAL when misused
 */
int codec_deflate(struct codec_stream *s, struct codec_io *io, enum codec_flush flush,
		  bool *ended);
/*
 * decompress what io offers: 0, and *member_end at the end of the stream
 * (gzip: of a member; then codec_inflate_next() for the next one, the
 * bytes past it not consumed); -EBADMSG for corrupt data, -ENOMEM
 */
int codec_inflate(struct codec_stream *s, struct codec_io *io, bool *member_end);
void codec_inflate_next(struct codec_stream *s);

#endif
