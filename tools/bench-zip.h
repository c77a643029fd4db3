/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-zip.h - uacce-bench's compression part: 1 MiB buffers of a
 * realistic corpus through the zip device on 1 and 2 queues, against zlib
 * and libdeflate called in-process on 1 and 2 threads and ISA-L on 1;
 * then decompression of the same buffers (gzip members) through the
 * device on 1 queue against libdeflate, ISA-L and zlib in-process.
 */
#ifndef UACCE_BENCH_ZIP_H
#define UACCE_BENCH_ZIP_H

#include <stdbool.h>
#include <stddef.h>

struct zip_bench_opts {
	const char *device;	/* NULL: the first zip device */
	const char *hisi_device;	/* NULL: the first hisi_qm_v2 device, if any */
	const char *corpus;	/* a file, or NULL: licenses + man pages */
	size_t corpus_max;	/* bytes of the built-in corpus */
	size_t buf;		/* bytes per request (1 MiB) */
	double seconds;		/* per measurement */
	int rounds;		/* best of */
	int depth;		/* requests in flight per queue */
	bool sva_heap;		/* SVA device: heap buffers, not shared memory */
};

struct zip_figure {
	double mbps;		/* input MB (1e6 bytes) per second */
	double ratio;		/* compressed / input */
	bool ok;
};

/*
 * ZB_HISI1: one queue of a hisi_qm_v2 device (uacce_hisi_zip(7)), level 6 only;
 * ZB_ISAL1: ISA-L (igzip) on one thread, at its level min(level, 3);
 * ZB_ISAL3: ISA-L at its level 3 (its best ratio), measured at level 1 only
 */
enum zip_cfg { ZB_DEV1, ZB_DEV2, ZB_LD1, ZB_LD2, ZB_Z1, ZB_Z2, ZB_HISI1, ZB_ISAL1, ZB_ISAL3,
	       ZB_NCFG };

/* a compression level's figures; decompression: level 0, DEV1 LD1 Z1 ISAL1 */
struct zip_level_result {
	int level;
	int isal_level;			/* ZB_ISAL1's own level */
	struct zip_figure f[ZB_NCFG];
};

struct zip_bench_result {
	char device[96];
	char hisi_device[96];		/* "" when there is none */
	bool sva;
	size_t corpus_bytes;
	char corpus_desc[160];
	struct zip_level_result lv[2];	/* level 6, level 1 */
	struct zip_level_result dec;	/* decompression of libdeflate 6's gzip members */
	int err;			/* device errors: -errno, 0 */
};

/* runs every measurement; 0 or the first device error (-errno) */
int zip_bench_run(const struct zip_bench_opts *o, struct zip_bench_result *r);
/* the progress steps zip_bench_run() plans (bench-progress.h) */
int zip_bench_steps(const struct zip_bench_opts *o);
/* '"zip":{...}' for the JSON object, and the table lines */
void zip_bench_print_json(const struct zip_bench_opts *o, const struct zip_bench_result *r);
void zip_bench_print_table(const struct zip_bench_opts *o, const struct zip_bench_result *r);
/* device on one queue / the fastest in-process codec on one thread */
double zip_ratio_1q(const struct zip_level_result *l);
/* device on two queues / on one */
double zip_ratio_2q(const struct zip_level_result *l);
/*
 * device on one queue / the fastest in-process codec on one thread whose
 * output is no bigger than the device's (zlib, libdeflate, ISA-L); *name set
 */
double zip_ratio_1q_equal_ratio(const struct zip_level_result *l, const char **name);
/* decompression: device on one queue / the fastest in-process decompressor */
double zip_ratio_dec(const struct zip_bench_result *r, const char **name);

#endif
