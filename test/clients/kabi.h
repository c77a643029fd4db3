/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kabi.h - the "kernel-ABI" test clients (kabi-v4, kabi-mainline): programs
 * written as a plain uacce program is, from the ABI facts alone (the
 * kernel's headers and documentation, ABI.md, hisi-qm.md section A): they
 * read /sys/class/uacce/, open /dev/<name>, issue the ioctls, mmap() the
 * regions from the queue fd and poll() it.  No libuacce, no private header:
 * only the device protocols (dummy_usr_if.h, zip_usr_if.h) and, for v4, the
 * public uacce.h; the mainline numbers are kabi-mainline.c's own copy.
 * They run under uacce-run (the preload shim) against uacced.
 *
 * What the two programs share is here: reporting (lib.sh-style lines),
 * sysfs reading, and the dummy and zip request protocols on mapped memory.
 * The profile file (kabi-v4.c or kabi-mainline.c) opens and maps a queue
 * and checks its profile's rules; kabi-main.c runs the modes.
 */
#ifndef KABI_H
#define KABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KABI_SYSFS	"/sys/class/uacce"
#define KABI_NAME_MAX	64
#define KABI_MAX_DEVS	32

/* --- reporting: "ok: ...", "FAIL: ...", "info: ..." -------------------------- */
extern int kabi_ok_n, kabi_fail_n;
__attribute__((format(printf, 1, 2))) void kok(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void kfail(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void kinfo(const char *fmt, ...);
const char *kename(int e);		/* "EINVAL", "0" for 0 */
/* rc (a syscall's result, -1 + errno) must fail with want (0: succeed) */
bool kexpect(const char *what, long rc, int err, int want);
/* the same for a call written in place: its errno is read after it */
#define KEXPECT(what, call, want)                                        \
	__extension__({                                                   \
		long kx_rc_ = (long)(call);                               \
		int kx_err_ = errno;                                      \
		kexpect((what), kx_rc_, kx_err_, (want));                 \
	})
/* mmap(NULL, len, RW, MAP_SHARED, fd, off) must give want (0: a mapping,
 * left in *out, or unmapped at once when out is NULL) */
bool kmap_expect(const char *what, int fd, size_t len, off_t off, int want, void **out);
extern int kabi_tscale;			/* $UACCE_TIME_SCALE */
uint64_t kabi_ms(void);

/* --- sysfs ------------------------------------------------------------------- */
/* read /sys/class/uacce/DEV/ATTR (first line, newline cut); -errno */
int kattr(const char *dev, const char *attr, char *buf, size_t len);
int kattr_ul(const char *dev, const char *attr, unsigned long *v);
bool kattr_exists(const char *dev, const char *attr);
/* available_instances (-errno on failure) */
long kavail(const char *dev);
/* wait up to ms (times the time scale) for available_instances == want */
bool kavail_wait(const char *dev, long want, int ms);
/* the entries of /sys/class/uacce, sorted; -errno or their number */
int kclass_list(char names[][KABI_NAME_MAX], int max);

/* --- a queue as a program holds it --------------------------------------------- */
enum kabi_kind { KABI_DUMMY_V1, KABI_DUMMY_V2, KABI_ZIP, KABI_OTHER };

struct kdev {
	char name[KABI_NAME_MAX];
	char api[32];
	enum kabi_kind kind;
	bool sva;
	size_t mmio_size, dus_size;	/* 0: absent */
	uint64_t off[4];		/* v4: qfrs_offset (MMIO, DKO, DUS, SS) */
	long queues;			/* available_instances when found */
};

struct kq {
	const struct kdev *d;
	int fd;
	void *mmio;
	void *dus;
	void *ss;			/* v4 non-SVA */
	size_t ss_size;
	/* where request data lives: SS (v4 non-SVA), the DUS beyond what
	 * the device uses (mainline non-SVA), or the program's own memory */
	uint8_t *data;
	size_t data_size;
	bool data_own;
};

/* the profile (kabi-v4.c, kabi-mainline.c) */
struct kprofile {
	const char *name;
	/* d->name is set: read the rest; false when not a device of this profile */
	bool (*probe)(struct kdev *d);
	/* open (O_RDWR | O_CLOEXEC), start and map everything a request needs; -errno */
	int (*open)(struct kq *q, const struct kdev *d);
	void (*close)(struct kq *q);
	/* the profile's rules on this device (ok/FAIL lines) */
	void (*rules)(const struct kdev *d);
	/* the parent's queue from a child: the requests that must be refused */
	void (*stranger)(struct kq *parent);
	/* may a child open a queue of d while its parent holds one? */
	bool (*child_opens)(const struct kdev *d);
};
extern const struct kprofile kabi_profile;

/* the protocols (kabi-common.c): n requests with data from seed, checked
 * byte for byte; 0 or -errno (details printed as FAIL lines under tag) */
int kdummy_run(struct kq *q, unsigned n, unsigned seed, const char *tag);
int kzip_run(struct kq *q, unsigned n, unsigned seed, const char *tag);
int kwork(struct kq *q, unsigned n, unsigned seed, const char *tag);
/* requests from addresses the device cannot reach (unmapped; non-SVA: the
 * program's own memory) fail, write nothing, and the queue works on */
void krefused(struct kq *q, const char *tag);
/* one request with its input at src (4096 bytes) must fail and write nothing */
void krefused_from(struct kq *q, const void *src, const char *where, const char *tag);
/* the request memory: q->data if the profile set it, else our own */
int kdata_setup(struct kq *q);
void kdata_free(struct kq *q);
/* the register page of a dummy queue: MMIO (v1) or DUS (v2) */
void *kdummy_regs(struct kq *q);
/* the zip registers (MMIO) hold the magic, version and ring sizes */
bool kzip_regs_ok(struct kq *q);
/* where the zip device's rings end in DUS (its registers say) */
size_t kzip_rings_end(struct kq *q);

/* dlopen mode: the symbol kabi-*-dl.so exports */
typedef int (*kabi_dl_fn)(const char *dev, unsigned n, unsigned seed);
#define KABI_DL_SYM "kabi_dl_work"
int kabi_dl_work(const char *dev, unsigned n, unsigned seed);

#endif /* KABI_H */
