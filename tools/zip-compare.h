/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * zip-compare.h - uacce-zip --compare: the CPU tools (gzip, pigz, igzip)
 * run on the same file at the same level as the device did, each output
 * checked to decompress (gzip -dc) to the input, and the table or JSON.
 */
#ifndef UACCE_ZIP_COMPARE_H
#define UACCE_ZIP_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

struct zc_row {
	const char *tool;	/* "uacce-zip", "gzip", ... */
	int level;		/* the level it ran at */
	bool installed, ran, verified;
	double seconds;
	uint64_t bytes;		/* its output */
	char note[128];		/* why it did not run or verify, or how it ran */
};

/* an unlinked temporary file (in $TMPDIR, else /tmp), or -errno */
int zc_tmpfile(void);
/* does `prog` resolve through $PATH to an executable? */
bool zc_have(const char *prog);
/*
 * run argv (argv[0] through $PATH) with stdin from file `in`, stdout to
 * out_fd (rewound and truncated first); r->ran, seconds, bytes, note
 */
void zc_run(const char *const argv[], const char *in, int out_fd, struct zc_row *r);
/* does gzip -dc of gz_fd give the bytes of file orig?  r->verified, note */
void zc_verify(int gz_fd, const char *orig, struct zc_row *r);
/* the table on stdout (device first: rows[0]), or one JSON object */
void zc_print_table(const char *file, uint64_t size, const char *dev, const struct zc_row *rows,
		    int n);
void zc_print_json(const char *file, uint64_t size, const char *dev, const struct zc_row *rows,
		   int n);

#endif
