/* SPDX-License-Identifier: GPL-2.0-or-later */
/* abi-probe: what its files share (see abi-probe.c for the program) */
#ifndef ABI_COMMON_H
#define ABI_COMMON_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uacce/dummy_usr_if.h>
#include <uacce/libuacce.h>
#include <uacce/uacce.h>
#include <uacce/wd.h>

#include "broker_wire.h"

#define SS_SIZE		(64 * 1024)
#define BUSY_WAIT_MS	3000	/* how long an open waits for a previous owner's release */

extern const char *nonsva_dev, *sva_dev;
extern bool skip_nonsva, skip_sva;	/* -N none, -S none */
extern int tscale;			/* $UACCE_TIME_SCALE: slow machines (emulated guests) */
#define T(ms) ((ms) * tscale)
extern int peer_uid;			/* scm-rights: the receiver drops to this uid */
extern int n_ok, n_fail;
extern char ctx[160];			/* "scenario dev" prefix of every line */

/* reporting and small helpers (abi-common.c) */
const char *ename(int e);
int errno_by_name(const char *s);
__attribute__((format(printf, 1, 2))) void ok(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void info(const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void set_ctx(const char *dev, const char *fmt, ...);
bool expect(const char *what, int got, int want);
bool expect2(const char *what, int got, int want1, int want2);
bool expect_true(const char *what, bool cond, const char *got);
double now_ms(void);
void sleep_ms(int ms);
int xioctl(int fd, unsigned long cmd, unsigned long arg);
void fill(unsigned char *p, size_t n, uint32_t seed);
int avail(const char *dev);
int wait_avail(const char *dev, int want, int ms);
bool is_sva(const char *dev);
int mapped_err(void *p, size_t len);
int open_q(const char *dev, struct uacce_q **q);
int request_wd(struct wd_queue *q, const char *dev);
int wd_copy(struct wd_queue *q, void *dst, const void *src, size_t size, uint32_t seed);
void check_copy(const char *what, struct wd_queue *q);

/* the raw ring, for checks the wd API hides (abi-common.c) */
struct rawq {
	struct uacce_q *q;
	int fd;
	bool sva, v2;
	struct dummy_hw_queue_reg *reg;
	volatile uint64_t *doorbell;
	struct dummy_wake *wake;
	unsigned char *ss;
	uint32_t head, used;
};

int rawq_open(struct rawq *r, const char *dev, size_t sslen);
void rawq_close(struct rawq *r);
void rawq_submit(struct rawq *r, const void *src, void *dst, size_t size, bool kick);
bool rawq_done(struct rawq *r);
uint32_t rawq_take(struct rawq *r);

/* pipe helpers for two-process scenarios; is the daemon running (abi-common.c) */
void put_byte(int fd, char c);
char get_byte(int fd, int ms);
int child_status(pid_t pid, int ms);
bool daemon_alive(void);

/* raw broker client, to check the daemon, not the library (abi-broker.c) */
int bk_connect(void);
int bk_call(int sock, uint16_t op, const void *body, uint16_t len, int sendfd);
int bk_map(int sock, int type, uint64_t size);
int bk_attach_status(int qfd, int *sock_out);
int find_broker_socks(int *fds, int max);

/* the scenarios: abi-queue.c, abi-ring.c, abi-regions.c, abi-stranger.c, abi-owner.c, abi-broker.c */
void sc_start_twice(const char *dev);
void sc_put_then_start(const char *dev);
void sc_unknown_ioctl(const char *dev);
void sc_flush(const char *dev);
void sc_region_sizes(const char *dev);
void sc_ss_rules(const char *dev);
void sc_instances(const char *dev);
void sc_nonsva_busy(const char *dev);
void sc_fork(const char *dev);
void sc_scm_rights(const char *dev);
void sc_proc_fd(const char *dev);
void sc_share(const char *dev, const char *svadev);
void sc_shared_mem(const char *svadev, const char *nonsva);
void sc_rlimit(const char *dev);
void sc_bad_requests(const char *dev);
void sc_poll_wakeup(const char *dev);
void sc_threads(const char *dev);
void sc_owner_exit(const char *dev);
void sc_broker_proto(const char *dev);
void sc_death_under_load(const char *dev);

/* helpers for the scripts (abi-cmds.c) */
int cmd_hold(const char *dev, int shared);
int cmd_wait_death(const char *dev, bool raw_poll);
int cmd_open(const char *dev, const char *want_s);
int cmd_fdflood(void);
int cmd_attach_foreign(const char *path, const char *svadev);
int cmd_flood(const char *dev, int ms, size_t mib);
int cmd_open_start(const char *dev, int n);
/* the mainline profile's rules on a mainline device (abi-mainline.c) */
int cmd_mainline(const char *dev);

#endif
