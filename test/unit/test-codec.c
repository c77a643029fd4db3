/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-codec.c - the zip device's codec layer (hwbackends/soft/codec.c):
 * whole buffers and streams at every level and format, every output
 * decoded by zlib (what gzip and the clients use), zlib's output decoded by
 * the layer, streams cut at odd boundaries with tiny output buffers, gzip
 * members back to back, corrupt and truncated input, short output buffers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec.h"
#include "unit-main.h"

#define DATA_LEN	(300u * 1024u + 17u)

static const enum codec_fmt fmts[] = { CODEC_RAW, CODEC_ZLIB, CODEC_GZIP };

/* text with repeats and a stretch of noise: every deflate block type shows up */
static uint8_t *make_data(size_t len, uint32_t seed)
{
	static const char *const words[] = { "queue ", "device ", "the ", "compress ", "of ",
					     "buffer ", "license\n", "and ", "stream " };
	uint8_t *d = malloc(len);

	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < len;) {
		seed = seed * 1103515245u + 12345u;
		if (i > len / 2 && i < len / 2 + 4096) {
			d[i++] = (uint8_t)(seed >> 16);
			continue;
		}
		const char *w = words[(seed >> 16) % 9];

		for (size_t k = 0; w[k] && i < len; k++)
			d[i++] = (uint8_t)w[k];
	}
	return d;
}

static int wbits(enum codec_fmt f)
{
	return f == CODEC_RAW ? -15 : f == CODEC_ZLIB ? 15 : 31;
}

/* zlib decodes c[0, clen) to exactly want[0, wlen), one stream, nothing left */
static void zlib_check(enum codec_fmt f, const uint8_t *c, size_t clen, const uint8_t *want,
		       size_t wlen)
{
	uint8_t *out = malloc(wlen + 64);
	z_stream z = { 0 };

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(inflateInit2(&z, wbits(f)), Z_OK);
	z.next_in = (Bytef *)c;
	z.avail_in = (uInt)clen;
	z.next_out = out;
	z.avail_out = (uInt)wlen + 64;
	ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	ck_assert_uint_eq(z.total_out, wlen);
	ck_assert_uint_eq(z.avail_in, 0);
	ck_assert(memcmp(out, want, wlen) == 0);
	inflateEnd(&z);
	free(out);
}

/* zlib's compression of d, in f, at level; *len set */
static uint8_t *zlib_compress(enum codec_fmt f, int level, const uint8_t *d, size_t n,
			      size_t *len)
{
	z_stream z = { 0 };
	size_t cap = n + n / 8 + 1024;
	uint8_t *out = malloc(cap);
	gz_header h = { .name = (Bytef *)"a-file-name.txt", .comment = (Bytef *)"hi", .os = 3 };

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(deflateInit2(&z, level, Z_DEFLATED, wbits(f), 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	if (f == CODEC_GZIP)	/* optional header fields, as gzip(1) writes a name */
		ck_assert_int_eq(deflateSetHeader(&z, &h), Z_OK);
	z.next_in = (Bytef *)d;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*len = z.total_out;
	deflateEnd(&z);
	return out;
}

/* the first block's header says "reserved type" (BFINAL 1, BTYPE 11) */
static void corrupt(enum codec_fmt f, uint8_t *c, size_t clen)
{
	size_t hdr = f == CODEC_RAW ? 0 : f == CODEC_ZLIB ? 2 : 10;

	ck_assert_uint_gt(clen, hdr);
	c[hdr] = 0x07;
}

/* --- the maps ----------------------------------------------------------------- */

START_TEST(maps_cover_every_level)
{
	for (int l = CODEC_MIN_LEVEL; l <= CODEC_MAX_LEVEL; l++) {
		struct codec_pick w = codec_pick_whole(l), s = codec_pick_stream(l);

		ck_assert(w.lib == CODEC_LIBDEFLATE || w.lib == CODEC_ISAL);
		ck_assert(s.lib == CODEC_ISAL || s.lib == CODEC_ZLIBLIB);
		ck_assert_int_ge(w.level, w.lib == CODEC_ISAL ? 0 : 1);
		ck_assert_int_le(w.level, w.lib == CODEC_ISAL ? 3 : 9);
		ck_assert_int_le(s.level, s.lib == CODEC_ISAL ? 3 : 9);
		ck_assert_ptr_nonnull(codec_lib_name(w.lib));
	}
	/* out of range: the device's default level, 6 */
	ck_assert_int_eq(codec_pick_whole(0).level, codec_pick_whole(6).level);
	ck_assert_int_eq(codec_pick_stream(42).lib, codec_pick_stream(6).lib);
}
END_TEST

/* --- whole buffers ------------------------------------------------------------ */

static void whole_round_trip(struct codec_ws *ws, struct codec_pick p, enum codec_fmt f,
			     const uint8_t *d, size_t n)
{
	size_t cap = n + n / 8 + 1024, clen = 0, in = 0, out = 0;
	uint8_t *c = malloc(cap), *back = malloc(n);

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(codec_compress(ws, p, f, d, n, c, cap, &clen), 0);
	ck_assert_uint_gt(clen, 0);
	zlib_check(f, c, clen, d, n);
	ck_assert_int_eq(codec_decompress(ws, f, c, clen, back, n, &in, &out), 0);
	ck_assert_uint_eq(in, clen);
	ck_assert_uint_eq(out, n);
	ck_assert(memcmp(back, d, n) == 0);
	free(c);
	free(back);
}

START_TEST(whole_every_level_and_format)
{
	struct codec_ws *ws = codec_ws_new();
	uint8_t *d = make_data(DATA_LEN, 1);

	ck_assert_ptr_nonnull(ws);
	for (size_t k = 0; k < 3; k++) {
		for (int l = CODEC_MIN_LEVEL; l <= CODEC_MAX_LEVEL; l++)
			whole_round_trip(ws, codec_pick_whole(l), fmts[k], d, DATA_LEN);
		/* every library the layer can pick, at each of its levels */
		for (int l = 0; l <= 3; l++)
			whole_round_trip(ws, (struct codec_pick){ CODEC_ISAL, l }, fmts[k], d,
					 DATA_LEN);
		for (int l = 1; l <= 9; l++)
			whole_round_trip(ws, (struct codec_pick){ CODEC_LIBDEFLATE, l }, fmts[k], d,
					 DATA_LEN);
		whole_round_trip(ws, codec_pick_whole(1), fmts[k], d, 0);	/* empty */
		whole_round_trip(ws, codec_pick_whole(6), fmts[k], d, 1);
	}
	free(d);
	codec_ws_free(ws);
}
END_TEST

START_TEST(whole_decodes_zlib_output)
{
	struct codec_ws *ws = codec_ws_new();
	uint8_t *d = make_data(DATA_LEN, 2), *back = malloc(DATA_LEN);

	for (size_t k = 0; k < 3; k++) {
		for (int l = 1; l <= 9; l += 4) {
			size_t clen, in = 0, out = 0;
			uint8_t *c = zlib_compress(fmts[k], l, d, DATA_LEN, &clen);

			ck_assert_int_eq(codec_decompress(ws, fmts[k], c, clen, back, DATA_LEN,
							  &in, &out), 0);
			ck_assert_uint_eq(in, clen);
			ck_assert_uint_eq(out, DATA_LEN);
			ck_assert(memcmp(back, d, DATA_LEN) == 0);
			free(c);
		}
	}
	free(back);
	free(d);
	codec_ws_free(ws);
}
END_TEST

START_TEST(whole_short_output)
{
	struct codec_ws *ws = codec_ws_new();
	uint8_t *d = make_data(DATA_LEN, 3), *c = malloc(DATA_LEN), *back = malloc(DATA_LEN);
	size_t clen = 0, in, out;

	for (size_t k = 0; k < 3; k++) {
		/* compression into a buffer one byte short of the result */
		ck_assert_int_eq(codec_compress(ws, codec_pick_whole(6), fmts[k], d, DATA_LEN, c,
						DATA_LEN, &clen), 0);
		ck_assert_int_eq(codec_compress(ws, codec_pick_whole(6), fmts[k], d, DATA_LEN, c,
						clen - 1, &out), -ENOSPC);
		ck_assert_int_eq(codec_compress(ws, (struct codec_pick){ CODEC_ISAL, 1 }, fmts[k],
						d, DATA_LEN, c, 100, &out), -ENOSPC);
		ck_assert_int_eq(codec_compress(ws, codec_pick_whole(6), fmts[k], d, DATA_LEN, c,
						DATA_LEN, &clen), 0);
		/* decompression into one byte less than it makes */
		ck_assert_int_eq(codec_decompress(ws, fmts[k], c, clen, back, DATA_LEN - 1, &in,
						  &out), -ENOSPC);
	}
	free(back);
	free(c);
	free(d);
	codec_ws_free(ws);
}
END_TEST

/*
 * a stored block that says 65535 bytes and holds 20, into 100 bytes:
 * libdeflate says "no room", but the data is bad before the room runs out
 */
START_TEST(whole_truncated_not_full)
{
	struct codec_ws *ws = codec_ws_new();
	uint8_t c[25] = { 0x01, 0xff, 0xff, 0x00, 0x00 }, out[100];
	size_t in, got;

	memset(c + 5, 'a', 20);
	ck_assert_int_eq(codec_decompress(ws, CODEC_RAW, c, sizeof(c), out, sizeof(out), &in,
					  &got), -EBADMSG);
	/* and with room for only 10: it is full before it is bad */
	ck_assert_int_eq(codec_decompress(ws, CODEC_RAW, c, sizeof(c), out, 10, &in, &got),
			 -ENOSPC);
	codec_ws_free(ws);
}
END_TEST

START_TEST(whole_corrupt_and_truncated)
{
	struct codec_ws *ws = codec_ws_new();
	uint8_t *d = make_data(DATA_LEN, 4), *c = malloc(DATA_LEN), *back = malloc(DATA_LEN);
	size_t clen = 0, in, out;

	for (size_t k = 0; k < 3; k++) {
		ck_assert_int_eq(codec_compress(ws, codec_pick_whole(6), fmts[k], d, DATA_LEN, c,
						DATA_LEN, &clen), 0);
		/* cut short */
		ck_assert_int_eq(codec_decompress(ws, fmts[k], c, clen / 2, back, DATA_LEN, &in,
						  &out), -EBADMSG);
		/* the checksum (zlib, gzip); raw deflate has none */
		if (fmts[k] != CODEC_RAW) {
			c[clen - 2] ^= 0x5a;
			ck_assert_int_eq(codec_decompress(ws, fmts[k], c, clen, back, DATA_LEN, &in,
							  &out), -EBADMSG);
			c[clen - 2] ^= 0x5a;
		}
		/* a block of the reserved type, and a buffer too small as well: still corrupt */
		corrupt(fmts[k], c, clen);
		ck_assert_int_eq(codec_decompress(ws, fmts[k], c, clen, back, DATA_LEN, &in, &out),
				 -EBADMSG);
		ck_assert_int_eq(codec_decompress(ws, fmts[k], c, clen, back, DATA_LEN / 2, &in,
						  &out), -EBADMSG);
	}
	free(back);
	free(c);
	free(d);
	codec_ws_free(ws);
}
END_TEST

/* --- streams ------------------------------------------------------------------ */

/* odd request sizes, cycled */
static const size_t in_steps[] = { 1, 7, 4093, 65537, 3, 131071, 511 };
static const size_t out_steps[] = { 97, 1, 8191, 65536, 13, 300000 };

/*
 * d through a compressing stream: inputs cut at odd sizes, outputs into odd
 * buffers, a sync flush every 5th input; *len set
 */
static uint8_t *stream_compress(enum codec_fmt f, int level, const uint8_t *d, size_t n,
				size_t *len, enum codec_lib *lib)
{
	size_t cap = n + n / 4 + 4096, done = 0, o = 0;
	uint8_t *c = malloc(cap);
	struct codec_stream *s;
	bool ended = false;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(codec_stream_new(true, f, level, &s), 0);
	*lib = codec_stream_lib(s);
	for (unsigned step = 0; !ended; step++) {
		size_t take = in_steps[step % 7], room = out_steps[step % 6];
		bool last;

		take = take > n - done ? n - done : take;
		last = done + take == n;
		room = room > cap - o ? cap - o : room;
		struct codec_io io = { .in = d + done, .in_len = take, .out = c + o,
				       .out_cap = room };

		ck_assert_int_eq(codec_deflate(s, &io, last ? CODEC_FINISH
						   : step % 5 == 4 ? CODEC_SYNC_FLUSH
								   : CODEC_NO_FLUSH, &ended), 0);
		ck_assert_uint_le(io.consumed, take);
		ck_assert_uint_le(io.produced, room);
		done += io.consumed;
		o += io.produced;
		ck_assert_uint_lt(step, 1000000);
	}
	ck_assert_uint_eq(done, n);
	codec_stream_free(s);
	*len = o;
	return c;
}

START_TEST(stream_compress_every_level_and_format)
{
	uint8_t *d = make_data(DATA_LEN, 5);

	for (size_t k = 0; k < 3; k++) {
		for (int l = CODEC_MIN_LEVEL; l <= CODEC_MAX_LEVEL; l++) {
			enum codec_lib lib;
			size_t clen;
			uint8_t *c = stream_compress(fmts[k], l, d, DATA_LEN, &clen, &lib);

			ck_assert_int_eq(lib, codec_pick_stream(l).lib);
			zlib_check(fmts[k], c, clen, d, DATA_LEN);
			free(c);
		}
	}
	free(d);
}
END_TEST

START_TEST(stream_compress_empty_and_misuse)
{
	struct codec_stream *s;
	uint8_t out[64];
	bool ended;

	for (size_t k = 0; k < 3; k++) {
		for (int l = 1; l <= 9; l += 3) {
			struct codec_io io = { .in = out, .in_len = 0, .out = out,
					       .out_cap = sizeof(out) };

			ck_assert_int_eq(codec_stream_new(true, fmts[k], l, &s), 0);
			ck_assert_int_eq(codec_deflate(s, &io, CODEC_FINISH, &ended), 0);
			ck_assert(ended);
			zlib_check(fmts[k], out, io.produced, out, 0);
			ck_assert_int_eq(codec_inflate(s, &io, &ended), -EINVAL);
			codec_stream_free(s);
		}
	}
	ck_assert_int_eq(codec_stream_new(true, CODEC_GZIP, 0, &s), -EINVAL);
	ck_assert_int_eq(codec_stream_new(true, CODEC_GZIP, 10, &s), -EINVAL);
	ck_assert_int_eq(codec_stream_new(false, (enum codec_fmt)7, 0, &s), -EINVAL);
}
END_TEST

/* c through a decompressing stream, odd cuts; the bytes out; members counted */
static size_t stream_inflate(enum codec_fmt f, const uint8_t *c, size_t clen, uint8_t *out,
			     size_t cap, int *members, size_t *member1_len)
{
	struct codec_stream *s;
	size_t done = 0, o = 0;

	*members = 0;
	ck_assert_int_eq(codec_stream_new(false, f, 0, &s), 0);
	ck_assert_int_eq(codec_stream_lib(s), f == CODEC_GZIP ? CODEC_ISAL : CODEC_ZLIBLIB);
	for (unsigned step = 0; done < clen; step++) {
		size_t take = in_steps[(step + 3) % 7], room = out_steps[(step + 1) % 6];
		bool end;

		take = take > clen - done ? clen - done : take;
		room = room > cap - o ? cap - o : room;
		struct codec_io io = { .in = c + done, .in_len = take, .out = out + o,
				       .out_cap = room };

		ck_assert_int_eq(codec_inflate(s, &io, &end), 0);
		done += io.consumed;
		o += io.produced;
		if (end) {
			if (++*members == 1)
				*member1_len = done;
			codec_inflate_next(s);
		}
		ck_assert_uint_lt(step, 10000000);
		ck_assert(io.consumed || io.produced || end || take == 0);
	}
	/* what is left in the state */
	for (bool end = false; !end;) {
		struct codec_io io = { .in = c, .in_len = 0, .out = out + o, .out_cap = cap - o };

		ck_assert_int_eq(codec_inflate(s, &io, &end), 0);
		o += io.produced;
		if (end)
			++*members;
		if (!io.produced)
			break;
	}
	codec_stream_free(s);
	return o;
}

START_TEST(stream_inflate_zlib_output)
{
	uint8_t *d = make_data(DATA_LEN, 6), *back = malloc(DATA_LEN);

	for (size_t k = 0; k < 3; k++) {
		for (int l = 1; l <= 9; l += 4) {
			size_t clen, m1 = 0;
			int members;
			uint8_t *c = zlib_compress(fmts[k], l, d, DATA_LEN, &clen);

			ck_assert_uint_eq(stream_inflate(fmts[k], c, clen, back, DATA_LEN, &members,
							 &m1), DATA_LEN);
			ck_assert_int_eq(members, 1);
			ck_assert_uint_eq(m1, clen);
			ck_assert(memcmp(back, d, DATA_LEN) == 0);
			free(c);
		}
	}
	free(back);
	free(d);
}
END_TEST

START_TEST(stream_round_trip)
{
	uint8_t *d = make_data(DATA_LEN, 7), *back = malloc(DATA_LEN);

	for (size_t k = 0; k < 3; k++) {
		for (int l = 1; l <= 9; l++) {
			enum codec_lib lib;
			size_t clen, m1 = 0;
			int members;
			uint8_t *c = stream_compress(fmts[k], l, d, DATA_LEN, &clen, &lib);

			ck_assert_uint_eq(stream_inflate(fmts[k], c, clen, back, DATA_LEN, &members,
							 &m1), DATA_LEN);
			ck_assert(memcmp(back, d, DATA_LEN) == 0);
			free(c);
		}
	}
	free(back);
	free(d);
}
END_TEST

/* two gzip members back to back: the first ends where it ends, the next follows */
START_TEST(stream_gzip_members)
{
	uint8_t *d = make_data(DATA_LEN, 8), *back = malloc(2 * DATA_LEN);
	size_t l1, l2, m1 = 0;
	uint8_t *c1 = zlib_compress(CODEC_GZIP, 6, d, DATA_LEN / 3, &l1);
	uint8_t *c2 = zlib_compress(CODEC_GZIP, 1, d, DATA_LEN, &l2);
	uint8_t *both = malloc(l1 + l2);
	int members;

	memcpy(both, c1, l1);
	memcpy(both + l1, c2, l2);
	ck_assert_uint_eq(stream_inflate(CODEC_GZIP, both, l1 + l2, back, 2 * DATA_LEN, &members,
					 &m1), DATA_LEN / 3 + DATA_LEN);
	ck_assert_int_eq(members, 2);
	ck_assert_uint_eq(m1, l1);
	ck_assert(memcmp(back, d, DATA_LEN / 3) == 0);
	ck_assert(memcmp(back + DATA_LEN / 3, d, DATA_LEN) == 0);
	free(both);
	free(c2);
	free(c1);
	free(back);
	free(d);
}
END_TEST

/* bytes after the end of a stream are not consumed, in any format */
START_TEST(stream_end_leaves_trailing_bytes)
{
	uint8_t *d = make_data(DATA_LEN, 10), *back = malloc(DATA_LEN);

	for (size_t k = 0; k < 3; k++) {
		for (size_t cut = 1; cut < 80; cut += 13) {
			size_t clen, done = 0, o = 0;
			uint8_t *c = zlib_compress(fmts[k], 6, d, DATA_LEN, &clen);
			uint8_t *cj = malloc(clen + 64);
			struct codec_stream *s;
			bool end = false;

			memcpy(cj, c, clen);
			memset(cj + clen, 0x1f, 64);	/* junk, and no gzip member */
			ck_assert_int_eq(codec_stream_new(false, fmts[k], 0, &s), 0);
			/* the stream's end arrives `cut` bytes before the request's */
			while (!end) {
				size_t take = done + 4096 < clen - cut ? 4096 : clen + 64 - done;
				/* cut >= 40: outputs of odd sizes, the end found in a later call */
				size_t room = cut < 40 ? DATA_LEN - o : out_steps[done % 6];
				struct codec_io io = { .in = cj + done, .in_len = take,
						       .out = back + o,
						       .out_cap = room < DATA_LEN - o ? room : DATA_LEN - o };

				ck_assert_int_eq(codec_inflate(s, &io, &end), 0);
				ck_assert(io.consumed || io.produced || end);
				done += io.consumed;
				o += io.produced;
			}
			ck_assert_msg(done == clen, "format %zu cut %zu: consumed %zu of %zu", k, cut,
				      done, clen);
			ck_assert_uint_eq(o, DATA_LEN);
			ck_assert(memcmp(back, d, DATA_LEN) == 0);
			codec_stream_free(s);
			free(cj);
			free(c);
		}
	}
	free(back);
	free(d);
}
END_TEST

START_TEST(stream_corrupt)
{
	uint8_t *d = make_data(DATA_LEN, 9), *back = malloc(DATA_LEN);

	for (size_t k = 0; k < 3; k++) {
		size_t clen, done = 0, o = 0;
		uint8_t *c = zlib_compress(fmts[k], 6, d, DATA_LEN, &clen);
		struct codec_stream *s;
		int r = 0;
		bool end = false;

		if (fmts[k] == CODEC_RAW)
			corrupt(fmts[k], c, clen);	/* raw deflate has no checksum */
		else
			c[clen - 2] ^= 0x5a;		/* the checksum */
		ck_assert_int_eq(codec_stream_new(false, fmts[k], 0, &s), 0);
		while (!r && !end && done < clen) {
			size_t take = clen - done < 4093 ? clen - done : 4093;
			struct codec_io io = { .in = c + done, .in_len = take, .out = back + o,
					       .out_cap = DATA_LEN - o };

			r = codec_inflate(s, &io, &end);
			done += io.consumed;
			o += io.produced;
		}
		ck_assert_int_eq(r, -EBADMSG);
		ck_assert(!end);
		codec_stream_free(s);
		free(c);
	}
	free(back);
	free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("codec");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, maps_cover_every_level);
	tcase_add_test(tc, whole_every_level_and_format);
	tcase_add_test(tc, whole_decodes_zlib_output);
	tcase_add_test(tc, whole_short_output);
	tcase_add_test(tc, whole_corrupt_and_truncated);
	tcase_add_test(tc, whole_truncated_not_full);
	tcase_add_test(tc, stream_compress_every_level_and_format);
	tcase_add_test(tc, stream_compress_empty_and_misuse);
	tcase_add_test(tc, stream_inflate_zlib_output);
	tcase_add_test(tc, stream_round_trip);
	tcase_add_test(tc, stream_gzip_members);
	tcase_add_test(tc, stream_end_leaves_trailing_bytes);
	tcase_add_test(tc, stream_corrupt);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
