/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hostile - a hostile client of uacced (issue 11, items 3 and 4): what an
 * unprivileged member of the device group can throw at the daemon through
 * its three surfaces, one section per subcommand.
 *
 *   hostile [-t SECONDS] [-n COUNT] [-p PROCS] [--foreign PATH] SECTION [ARGS]
 *
 *   ioctl     every number of the 'W' and 'd' spaces (each direction, sizes,
 *             hostile arguments) and random others, on every device, in each
 *             queue state (INIT, STARTED, ZOMBIE); START/PUT_Q/SHARE_SVAS
 *             with hostile arguments; ioctls from a process that inherited
 *             the fd
 *   broker    garbage on the broker socket: zero-length packets with fds,
 *             other versions, truncated control data, oversized packets,
 *             ATTACH with foreign fds (pipe, socket, /dev/null, a directory,
 *             a memfd, --foreign PATH: a file of another FUSE mount), ATTACH
 *             of another process's queue, MAP/MAPPED/UNMAP with garbage
 *   control   garbage on the control socket: bad JSON, a huge request,
 *             silent, half-closed and abandoned connections (as root, or
 *             with --admin as a member of control.admin_group: nobody else
 *             can connect)
 *   stranger  as a uid in neither the device group nor the admin group:
 *             connect(2) to either socket gets EACCES (nothing reaches the
 *             daemon), every device's open EACCES
 *   ring      garbage BDs, SQEs and ring indices on every dummy and zip
 *             device; copies to unmapped, NULL, kernel and read-only addresses
 *   storm     open/START/close, fork+SIGKILL and SCM_RIGHTS passing of queue
 *             fds, in -p parallel processes for -t seconds (at most -n cycles)
 *   exhaust   every hardware queue of every device taken, SS requests far
 *             beyond memory, thousands of broker connections and hundreds of
 *             control connections from one uid
 *   hold BROKER CONTROL SECONDS
 *             open that many idle broker / control connections (control:
 *             one byte sent, never finished), print "ready B C", hold them
 *             SECONDS, then report how many the daemon closed meanwhile
 *   stalled PATH
 *             a file of another FUSE mount whose server the caller stops
 *             after "ready PID" and then signals SIGUSR1: another ATTACH
 *             must still be answered within 1 s (issue 11 item 6)
 *   soak      -p processes (default 64) x -q queues over every device (SVA
 *             and non-SVA dummy, zip) for -t seconds, every request's result
 *             verified; prints requests, rate and errors (JSON with --json)
 *   list      the sections
 *
 * Every check prints "ok: ...", "FAIL: ..." or "info: ...", and the last
 * line is "hostile SECTION: N ok, M failed".  Exit status: 0 when nothing
 * unexpected happened, 1 otherwise, 2 on a usage or set-up error, 3 when
 * the section's watchdog fired (the daemon did not answer in time).  Every
 * loop is bounded by a count and the watchdog; UACCE_TIME_SCALE=N stretches
 * the time limits.  Runs as any user allowed to open the devices.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uacce/dummy_usr_if.h>
#include <uacce/libuacce.h>
#include <uacce/uacce.h>
#include <uacce/wd.h>
#include <uacce/zip.h>

#include "broker_wire.h"

#define MAX_DEVS	32
#define CONTROL_SOCK	"control.sock"

struct dev {
	char name[64];
	char api[32];
	bool sva, zip;
	int queues;		/* available_instances when found: the maximum */
};

static struct dev devs[MAX_DEVS];
static int ndevs;
static int tscale = 1;
static int opt_seconds = -1, opt_count = -1, opt_procs = -1, opt_queues = 3;
static bool opt_json;
static const char *opt_foreign;
static bool opt_admin;		/* --admin: the caller is in control.admin_group */
static int opt_stride = 1;	/* --stride K: the ioctl sweep samples numbers past 31 */
static const char *section = "?";
static int n_ok, n_fail;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* --- reporting ---------------------------------------------------------------- */

static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void vline(const char *tag, const char *fmt, va_list ap)
{
	printf("%s: %s: ", tag, section);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

static void ok(const char *fmt, ...)
{
	va_list ap;

	n_ok++;
	va_start(ap, fmt);
	vline("ok", fmt, ap);
	va_end(ap);
}

static void bad(const char *fmt, ...)
{
	va_list ap;

	n_fail++;
	va_start(ap, fmt);
	vline("FAIL", fmt, ap);
	va_end(ap);
}

static void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("info", fmt, ap);
	va_end(ap);
}

static const char *en(int e)
{
	static char buf[8][48];
	static int i;
	char *b = buf[i++ % 8];

	if (e < 0)
		e = -e;
	if (e == 0)
		return "success";
	snprintf(b, sizeof(buf[0]), "%s", strerrorname_np(e) ? strerrorname_np(e) : "E?");
	return b;
}

static void on_alarm(int sig)
{
	char msg[160];
	int n;

	(void)sig;
	n = snprintf(msg, sizeof(msg), "FAIL: %s: watchdog: the section did not finish in time "
		     "(a call to the daemon hangs?)\n", section);
	if (write(STDOUT_FILENO, msg, (size_t)n) < 0)
		_exit(4);
	_exit(3);
}

/* the section's watchdog: the whole section must end within s seconds */
static void watchdog(int s)
{
	signal(SIGALRM, on_alarm);
	alarm((unsigned)(s * tscale));
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int xioctl(int fd, unsigned long cmd, unsigned long arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/* the daemon is gone (or its frontend): what no hostile call may cause */
static bool daemon_gone_err(int e)
{
	return e == -ENOTCONN || e == -ENODEV || e == -ECONNREFUSED;
}

/* --- devices ------------------------------------------------------------------- */

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct dev *)a)->name, ((const struct dev *)b)->name);
}

static int find_devices(void)
{
	char path[PATH_MAX], buf[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/class", uacce_runtime_dir());
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "hostile: %s: %s (is the daemon running? UACCE_RUNTIME_DIR?)\n", path,
			strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) && ndevs < MAX_DEVS) {
		struct dev *v = &devs[ndevs];

		if (strncmp(e->d_name, "uacce-", 6) != 0 || strlen(e->d_name) >= sizeof(v->name))
			continue;
		memcpy(v->name, e->d_name, strlen(e->d_name) + 1);
		if (uacce_dev_attr(v->name, "api", v->api, sizeof(v->api)) < 0 ||
		    uacce_dev_attr(v->name, "flags", buf, sizeof(buf)) < 0)
			continue;
		v->sva = strtoul(buf, NULL, 0) & UACCE_DEV_SVA;
		v->zip = strcmp(v->api, UACCE_ZIP_API) == 0;
		if (uacce_dev_attr(v->name, "available_instances", buf, sizeof(buf)) < 0)
			continue;
		v->queues = atoi(buf);
		ndevs++;
	}
	closedir(d);
	qsort(devs, (size_t)ndevs, sizeof(devs[0]), cmp_dev);
	if (!ndevs) {
		fprintf(stderr, "hostile: no device in %s\n", path);
		return -1;
	}
	return 0;
}

static bool is_dummy(const struct dev *v)
{
	return strncmp(v->api, "dummy_v", 7) == 0;
}

/* --- sockets --------------------------------------------------------------------- */

/*
 * Connect to a socket of the runtime directory.  nonblock: the socket is
 * non-blocking and a full backlog (EAGAIN) is retried every millisecond for
 * up to retry_ms, so that the daemon's accept pace, not ours, decides.
 */
static int unix_connect_retry(int type, const char *name, bool nonblock, int retry_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double end = now_ms() + retry_ms;
	int s, err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", uacce_runtime_dir(), name);
	s = socket(AF_UNIX, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (s < 0)
		return -errno;
	while (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		err = -errno;
		if (err == -EAGAIN && now_ms() < end) {
			sleep_ms(1);
			continue;
		}
		close(s);
		return err;
	}
	return s;
}

static int unix_connect(int type, const char *name, bool nonblock)
{
	return unix_connect_retry(type, name, nonblock, 0);
}

static int broker_connect(void)
{
	return unix_connect(SOCK_SEQPACKET, UB_SOCKET_NAME, false);
}

/* one packet of raw bytes with nfds fds (SCM_RIGHTS); 0 or -errno */
static int send_raw(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 32)];
		struct cmsghdr align;
	} c;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 32)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&c, 0, sizeof(c));
		mh.msg_control = c.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* a broker message built by hand: any version, opcode, flags, body */
static int send_msg_raw(int sock, uint16_t version, uint16_t op, uint16_t flags, uint16_t blen,
			const void *body, size_t len, const int *fds, int nfds)
{
	char pkt[sizeof(struct ub_hdr) + 256] = { 0 };
	struct ub_hdr h = { .version = version, .opcode = op, .flags = flags, .body_len = blen };

	if (len > 256)
		return -EINVAL;
	memcpy(pkt, &h, sizeof(h));
	if (len)
		memcpy(pkt + sizeof(h), body, len);
	return send_raw(sock, pkt, sizeof(h) + len, fds, nfds);
}

/*
 * The broker's answer to what was just sent, within ms: 0 and *r (its fd
 * closed), -ECONNRESET when the daemon dropped the connection (a refusal
 * too), -ETIMEDOUT when it said nothing, -EPROTO for garbage.
 */
static int broker_answer(int sock, struct ub_reply *r, int ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct ub_msg m;
	int err;

	memset(r, 0, sizeof(*r));
	if (poll(&p, 1, ms * tscale) == 0)
		return -ETIMEDOUT;
	err = ub_recv(sock, &m, MSG_DONTWAIT);
	if (err == -EPIPE)
		err = -ECONNRESET;
	if (err)
		return err;
	if (m.fd >= 0)
		close(m.fd);
	if (m.opcode != UB_REPLY)
		return -EPROTO;
	*r = m.body.reply;
	return 0;
}

/* a request and its answer: the reply's status, -ECONNRESET or -ETIMEDOUT */
static int broker_req(int sock, unsigned op, const void *body, size_t len, int fd)
{
	struct ub_reply r;
	int err = ub_send(sock, op, body, len, fd, 0);

	if (err)
		return err == -EPIPE ? -ECONNRESET : err;
	err = broker_answer(sock, &r, 3000);
	return err ? err : r.status;
}

static int send_fd(int sock, int fd)
{
	char one = 1;

	return send_raw(sock, &one, 1, &fd, 1);
}

static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} c;
	char one;
	struct iovec iov = { .iov_base = &one, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* --- queues ------------------------------------------------------------------------- */

/* a queue with every region mapped (SS: ss bytes on a non-SVA device) */
struct rq {
	struct uacce_q *q;
	const struct dev *d;
	void *mmio, *dus, *ss;
	size_t ss_len;
};

static int rq_open(struct rq *r, const struct dev *d, size_t ss)
{
	uint64_t off, size;
	int err;

	memset(r, 0, sizeof(*r));
	r->d = d;
	err = uacce_queue_open(d->name, &r->q);
	if (err)
		return err;
	err = uacce_queue_start(r->q);
	if (!err && uacce_region_info(r->q, UACCE_QFRT_MMIO, &off, &size) == 0)
		err = uacce_map_region(r->q, UACCE_QFRT_MMIO, size, &r->mmio);
	if (!err && uacce_region_info(r->q, UACCE_QFRT_DUS, &off, &size) == 0)
		err = uacce_map_region(r->q, UACCE_QFRT_DUS, size, &r->dus);
	if (!err && !d->sva && ss) {
		err = uacce_map_region(r->q, UACCE_QFRT_SS, ss, &r->ss);
		r->ss_len = ss;
	}
	if (err) {
		uacce_queue_close(r->q);
		r->q = NULL;
	}
	return err;
}

static void rq_close(struct rq *r)
{
	if (r->q)
		uacce_queue_close(r->q);
	r->q = NULL;
}

/* one copy through a fresh wd queue of d: the legitimate client */
static int legit_dummy(const struct dev *d)
{
	struct wd_queue q = { .capa.alg = "memcpy" };
	unsigned char *src, *dst;
	void *resp = NULL;
	int err;

	snprintf(q.dev_path, sizeof(q.dev_path), "%s", d->name);
	err = wd_request_queue(&q);
	if (err)
		return err;
	if (d->sva) {
		src = malloc(8192);
		dst = src ? src + 4096 : NULL;
	} else {
		src = wd_reserve_memory(&q, 8192);
		dst = src ? src + 4096 : NULL;
	}
	if (!src) {
		wd_release_queue(&q);
		return -ENOMEM;
	}
	for (int i = 0; i < 4096; i++)
		src[i] = (unsigned char)(i * 7 + 3);
	memset(dst, 0, 4096);
	struct wd_dummy_cpy_msg m = { .src_addr = (char *)src, .tgt_addr = (char *)dst,
				      .size = 4096, .ptr = (void *)0x5eed };
	err = wd_send(&q, &m);
	if (!err)
		err = wd_recv_sync(&q, &resp, (uint16_t)(5000 * tscale));
	if (err >= 0)
		err = resp == m.ptr && memcmp(src, dst, 4096) == 0 ? 0 : -EIO;
	if (d->sva)
		free(src);
	wd_release_queue(&q);
	return err;
}

static int legit_zip(const struct dev *d)
{
	struct uacce_zip *z;
	char *in, *cmp, *out;
	size_t n = 16384, clen = 0, olen = 0;
	int err = uacce_zip_open(d->name, 1 << 20, &z);

	if (err)
		return err;
	in = uacce_zip_alloc(z, n);
	cmp = uacce_zip_alloc(z, uacce_zip_bound(UACCE_ZIP_ALG_GZIP, n));
	out = uacce_zip_alloc(z, n);
	if (!in || !cmp || !out) {
		uacce_zip_close(z);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		in[i] = "hostile uacced "[i % 15];
	err = uacce_zip_run(z, UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, 1, in, n, cmp,
			    uacce_zip_bound(UACCE_ZIP_ALG_GZIP, n), &clen);
	if (!err)
		err = uacce_zip_run(z, UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP, 0, cmp, clen,
				    out, n, &olen);
	if (!err && (olen != n || memcmp(in, out, n) != 0))
		err = -EIO;
	uacce_zip_close(z);
	return err;
}

/* the device still serves a legitimate client (it may be busy: EBUSY) */
static void check_legit(const struct dev *d, const char *after)
{
	int err = -EBUSY;

	for (int i = 0; i < 50 && err == -EBUSY; i++) {
		err = d->zip ? legit_zip(d) : is_dummy(d) ? legit_dummy(d) : 0;
		if (err == -EBUSY)
			sleep_ms(100);
	}
	if (err)
		bad("%s after %s: a legitimate request fails: %s", d->name, after, en(err));
	else
		ok("%s after %s: a legitimate request is served and verified", d->name, after);
}

/* ===================================================================================
 * (a) the ioctl space
 */

enum qstate { ST_INIT, ST_STARTED, ST_ZOMBIE };
static const char *const st_name[] = { "INIT", "STARTED", "ZOMBIE" };

struct sweep {
	unsigned long calls, ok_calls, errs;
	unsigned long by_errno[256];	/* how often each errno came back */
	int bad_seen;
};

static bool known_success(const struct dev *d, enum qstate st, unsigned cmd)
{
	/* FLUSH of a started dummy queue does its work and answers 0 */
	return is_dummy(d) && st == ST_STARTED && cmd == DUMMY_CMD_FLUSH;
}

static void one_ioctl(struct sweep *s, const struct dev *d, enum qstate st, int fd, unsigned cmd,
		      unsigned long arg)
{
	int e = xioctl(fd, cmd, arg);

	s->calls++;
	if (e == 0)
		s->ok_calls++;
	else
		s->errs++;
	if (-e < 256)
		s->by_errno[-e]++;
	if ((e == 0 && !known_success(d, st, cmd)) || daemon_gone_err(e) || e == -ETIMEDOUT) {
		if (s->bad_seen++ < 5)
			bad("%s %s: ioctl 0x%08x arg 0x%lx: %s", d->name, st_name[st], cmd, arg, en(e));
	}
}

static bool skip_cmd(unsigned cmd)
{
	/* state changes and the fd argument are tried on their own (below) */
	return cmd == UACCE_CMD_START || cmd == UACCE_CMD_PUT_Q || cmd == UACCE_CMD_SHARE_SVAS;
}

static void sweep_queue(const struct dev *d, enum qstate st, int fd, void *buf, void *ro,
			void *none)
{
	static const unsigned sizes[] = { 1, 8, 64, 4096, 16383 };
	const unsigned long args_sized[] = { 0, (unsigned long)buf, (unsigned long)ro,
					     (unsigned long)none, 0xffff800000001000UL, 1 };
	const unsigned long args_none[] = { 0, 1, (unsigned long)buf, ~0UL, 0x7fffffff };
	const char types[] = { 'W', 'd' };
	int rand_n = opt_count > 0 ? opt_count : 2000;
	struct sweep s = { 0 };
	double t0 = now_ms();

	for (unsigned t = 0; t < sizeof(types); t++)
		for (unsigned nr = 0; nr < 256; nr++) {
			unsigned c = _IOC(_IOC_NONE, types[t], nr, 0);

			/* --stride K: every number below 32 (where the commands are), past that every K-th and the last */
			if (nr >= 32 && nr != 255 && nr % (unsigned)opt_stride)
				continue;

			if (!skip_cmd(c))
				for (unsigned a = 0; a < sizeof(args_none) / sizeof(args_none[0]); a++)
					one_ioctl(&s, d, st, fd, c, args_none[a]);
			for (unsigned dir = 1; dir <= 3; dir++)
				for (unsigned z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
					c = _IOC(dir, types[t], nr, sizes[z]);
					for (unsigned a = 0;
					     a < sizeof(args_sized) / sizeof(args_sized[0]); a++)
						one_ioctl(&s, d, st, fd, c, args_sized[a]);
				}
		}
	for (int i = 0; i < rand_n; i++) {
		unsigned c = (unsigned)rnd();

		if (skip_cmd(c) || _IOC_SIZE(c) > 16383)
			continue;
		one_ioctl(&s, d, st, fd, c, i % 2 ? (unsigned long)buf : (unsigned long)rnd());
	}
	if (!s.bad_seen) {
		char tally[256] = "";
		size_t len = 0;

		for (int e = 1; e < 256 && len < sizeof(tally) - 40; e++)
			if (s.by_errno[e])
				len += (size_t)snprintf(tally + len, sizeof(tally) - len, " %s %lu", en(e),
							s.by_errno[e]);
		ok("%s %s: %lu ioctls ('W' and 'd' spaces%s, every direction, 5 sizes, hostile "
		   "arguments; %d random numbers) answered in %.0f ms: %lu successes (FLUSH only), "
		   "refused:%s", d->name, st_name[st], s.calls,
		   opt_stride > 1 ? ", numbers past 31 sampled" : "", rand_n, now_ms() - t0,
		   s.ok_calls, tally);
	}
}

/* START, PUT_Q and SHARE_SVAS with hostile arguments on a queue in state st */
static void state_cmds(const struct dev *d, enum qstate st, struct uacce_q *q, int pipefd)
{
	int fd = uacce_queue_fd(q), e;
	const int share_args[] = { -1, 0, 1, 2, fd, pipefd, 1023, INT_MAX, INT_MIN };
	int unexpected = 0;

	for (unsigned i = 0; i < sizeof(share_args) / sizeof(share_args[0]); i++) {
		e = xioctl(fd, UACCE_CMD_SHARE_SVAS, (unsigned long)(long)share_args[i]);
		if (e == 0 || daemon_gone_err(e)) {
			bad("%s %s: SHARE_SVAS with fd %d: %s", d->name, st_name[st], share_args[i],
			    en(e));
			unexpected++;
		}
	}
	if (!unexpected)
		ok("%s %s: SHARE_SVAS with fds -1, 0, 1, 2, itself, a pipe, 1023, INT_MAX, "
		   "INT_MIN: all refused", d->name, st_name[st]);
	/* START with a garbage argument: the argument is ignored, the state decides */
	e = xioctl(fd, UACCE_CMD_START, 0xdeadbeefUL);
	if ((st == ST_INIT && e != 0) || (st != ST_INIT && e == 0) || daemon_gone_err(e))
		bad("%s %s: START with a garbage argument: %s", d->name, st_name[st], en(e));
	else
		ok("%s %s: START with a garbage argument: %s", d->name, st_name[st], en(e));
}

static int fork_ioctls(int fd)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		const unsigned cmds[] = { UACCE_CMD_START, UACCE_CMD_PUT_Q, DUMMY_CMD_FLUSH,
					  UACCE_CMD_SHARE_SVAS, UACCE_CMD_GET_SS_DMA };
		int bad_n = 0;

		for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			char buf[64];
			int e = xioctl(fd, cmds[i], (unsigned long)buf);

			if (e == 0 || daemon_gone_err(e))
				bad_n++;
		}
		_exit(bad_n ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

static int sec_ioctl(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *buf = mmap(NULL, 16384 + 2 * (size_t)pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro, *none;
	int pfd[2];

	watchdog(opt_seconds > 0 ? opt_seconds : 900);
	if (buf == MAP_FAILED || pipe2(pfd, O_CLOEXEC) < 0)
		return 2;
	for (int i = 0; i < 16384; i++)
		buf[i] = (char)rnd();
	ro = buf + 16384;
	none = ro + pg;
	mprotect(ro, (size_t)pg, PROT_READ);
	mprotect(none, (size_t)pg, PROT_NONE);
	for (int i = 0; i < ndevs; i++) {
		const struct dev *d = &devs[i];

		for (int st = ST_INIT; st <= ST_ZOMBIE; st++) {
			struct uacce_q *q;
			int err = uacce_queue_open(d->name, &q), fd;

			if (err) {
				bad("%s: open for the %s sweep: %s", d->name, st_name[st], en(err));
				continue;
			}
			fd = uacce_queue_fd(q);
			if (st >= ST_STARTED && (err = uacce_queue_start(q)) != 0)
				bad("%s: START: %s", d->name, en(err));
			if (st == ST_ZOMBIE && (err = uacce_queue_put(q)) != 0)
				bad("%s: PUT_Q: %s", d->name, en(err));
			sweep_queue(d, (enum qstate)st, fd, buf, ro, none);
			if (st == ST_STARTED) {
				err = fork_ioctls(fd);
				if (err)
					bad("%s STARTED: a forked child's ioctls on the inherited fd: "
					    "one was not refused", d->name);
				else
					ok("%s STARTED: a forked child's START/PUT_Q/FLUSH/"
					   "SHARE_SVAS/GET_SS_DMA on the inherited fd: all refused",
					   d->name);
			}
			state_cmds(d, (enum qstate)st, q, pfd[0]);
			uacce_queue_close(q);
		}
		check_legit(d, "the ioctl sweep");
	}
	close(pfd[0]);
	close(pfd[1]);
	munmap(buf, 16384 + 2 * (size_t)pg);
	return 0;
}

/* ===================================================================================
 * (b) broker garbage and fd abuse
 */

/* a fresh connection gets a reply with status `want` (or any error when want > 0) */
static void expect_refused(const char *what, int got)
{
	if (got == -ETIMEDOUT)
		bad("%s: no answer within 3 s", what);
	else if (got == 0 || got > 0)
		bad("%s: accepted (%d)", what, got);
	else
		ok("%s: refused (%s)", what, en(got));
}

/* the connection is either answered or dropped, and the broker still serves */
static void expect_answer(const char *what, int sock)
{
	struct ub_reply r;
	int err = broker_answer(sock, &r, 3000);

	if (err == -ETIMEDOUT) {
		/* a refusal may be silent: the broker must still answer a valid request */
		err = broker_req(sock, UB_UNMAP, &(struct ub_region){ .type = 99 },
				 sizeof(struct ub_region), -1);
		if (err == -ETIMEDOUT) {
			bad("%s: neither an answer nor a closed connection within 3 s", what);
			return;
		}
	}
	ok("%s: %s", what, err == -ECONNRESET ? "connection dropped" :
	   err < 0 && err > -4096 ? en(err) : "answered");
}

static void fd_floods(void)
{
	int fds[8], p[2], sp[2], n = 0, sock, sent = 0;

	if (pipe2(p, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return;
	fds[n++] = p[0];
	fds[n++] = p[1];
	fds[n++] = sp[0];
	fds[n++] = open("/dev/null", O_RDWR | O_CLOEXEC);
	fds[n++] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds[n++] = memfd_create("hostile", MFD_CLOEXEC);
	struct kind {
		const char *what;
		uint16_t ver, op, flags, blen;
		size_t len;
		int nfds;
	} kinds[] = {
		{ "zero-length packet with 6 fds", 0, 0, 0, 0, 0, 6 },
		{ "version 0 ATTACH with an fd", 0, UB_ATTACH, UB_F_FD, 0, 0, 1 },
		{ "version 2 MAP with 6 fds", 2, UB_MAP, UB_F_FD, 16, 16, 6 },
		{ "version 0xffff with 6 fds", 0xffff, UB_ATTACH, UB_F_FD, 0, 0, 6 },
		{ "unknown opcode 77 with 2 fds", UB_VERSION, 77, UB_F_FD, 0, 0, 2 },
		{ "ATTACH with 6 fds", UB_VERSION, UB_ATTACH, UB_F_FD, 0, 0, 6 },
		{ "ATTACH with an fd but no UB_F_FD", UB_VERSION, UB_ATTACH, 0, 0, 0, 1 },
		{ "MAP with an fd", UB_VERSION, UB_MAP, UB_F_FD, 16, 16, 1 },
		{ "MAP with a short body and an fd", UB_VERSION, UB_MAP, UB_F_FD, 3, 3, 1 },
		{ "header lying about the body (body_len 200, 8 sent) with fds", UB_VERSION,
		  UB_MAP, UB_F_FD, 200, 8, 3 },
		{ "a REPLY sent to the server with an fd", UB_VERSION, UB_REPLY, UB_F_FD, 24, 24,
		  1 },
		{ "3 bytes with 6 fds", 0, 0, 0, 0, (size_t)-1, 6 },
	};
	char body[256];

	memset(body, 0xa5, sizeof(body));
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct kind *x = &kinds[k];
		int rounds = 20, err = 0;

		for (int r = 0; r < rounds; r++) {
			sock = broker_connect();
			if (sock < 0) {
				bad("connect: %s", en(sock));
				break;
			}
			if (x->len == (size_t)-1)
				err = send_raw(sock, "abc", 3, fds, x->nfds);
			else if (!x->op && !x->len && !x->ver)
				err = send_raw(sock, "", 0, fds, x->nfds);
			else
				err = send_msg_raw(sock, x->ver, x->op, x->flags, x->blen, body, x->len,
						   fds, x->nfds);
			if (err) {
				close(sock);
				break;
			}
			sent++;
			if (r == rounds - 1)
				expect_answer(x->what, sock);
			close(sock);
		}
		if (err)
			bad("%s: send: %s", x->what, en(err));
	}
	/* truncated control data: more fds than the broker's buffer takes (SCM_MAX_FD) */
	sock = broker_connect();
	if (sock >= 0) {
		int many[32];

		for (int i = 0; i < 32; i++)
			many[i] = fds[i % n];
		int err = send_msg_raw(sock, UB_VERSION, UB_ATTACH, UB_F_FD, 0, NULL, 0, many, 32);

		if (err)
			bad("32 fds with an ATTACH: send: %s", en(err));
		else
			expect_answer("ATTACH with 32 fds (truncated control data)", sock);
		close(sock);
	}
	/* a packet longer than any message, with fds */
	sock = broker_connect();
	if (sock >= 0) {
		static char big[65536];
		int err = send_raw(sock, big, sizeof(big), fds, 3);

		if (err)
			bad("a 64 KiB packet with 3 fds: send: %s", en(err));
		else
			expect_answer("a 64 KiB packet with 3 fds", sock);
		close(sock);
	}
	info("%d packets with fds sent (pipe ends, a socket, /dev/null, /, a memfd); the "
	     "suite counts the daemon's fds", sent);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(sp[1]);
}

static void attach_foreign(void)
{
	int p[2], sp[2], fds[8], n = 0;
	const char *names[8];

	if (pipe2(p, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return;
	names[n] = "a pipe";
	fds[n++] = p[0];
	names[n] = "a socket";
	fds[n++] = sp[0];
	names[n] = "/dev/null";
	fds[n++] = open("/dev/null", O_RDWR | O_CLOEXEC);
	names[n] = "the directory /";
	fds[n++] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	names[n] = "a memfd";
	fds[n++] = memfd_create("hostile", MFD_CLOEXEC);
	names[n] = "a broker connection";
	fds[n++] = broker_connect();
	names[n] = "the runtime directory";
	fds[n++] = open(uacce_runtime_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (opt_foreign) {
		names[n] = opt_foreign;
		fds[n++] = open(opt_foreign, O_RDWR | O_CLOEXEC);
	}
	for (int i = 0; i < n; i++) {
		char what[PATH_MAX + 40];
		int sock = broker_connect();

		snprintf(what, sizeof(what), "ATTACH with the fd of %s", names[i]);
		if (fds[i] < 0) {
			bad("%s: cannot open it: %s", what, en(errno));
			continue;
		}
		if (sock < 0) {
			bad("connect: %s", en(sock));
			continue;
		}
		expect_refused(what, broker_req(sock, UB_ATTACH, NULL, 0, fds[i]));
		close(sock);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(sp[1]);
	close(p[1]);
}

/* ATTACH of a queue that another process owns (alive, then dead) */
static void attach_other(const struct dev *d)
{
	int sp[2], qfd, sock, st;
	pid_t pid;
	char c;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct rq r;

		close(sp[0]);
		if (rq_open(&r, d, 65536) != 0)
			_exit(1);
		send_fd(sp[1], uacce_queue_fd(r.q));
		if (read(sp[1], &c, 1) < 0)	/* until the parent is done */
			_exit(1);
		_exit(0);
	}
	close(sp[1]);
	qfd = recv_fd(sp[0]);
	if (qfd < 0) {
		bad("%s: the child did not pass its queue fd", d->name);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		close(sp[0]);
		return;
	}
	sock = broker_connect();
	expect_refused("ATTACH of a live queue of another process", broker_req(sock, UB_ATTACH,
									      NULL, 0, qfd));
	close(sock);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(sp[0]);
	sleep_ms(100);
	sock = broker_connect();
	expect_refused("ATTACH of the queue of a process that was killed", broker_req(sock,
					UB_ATTACH, NULL, 0, qfd));
	close(sock);
	close(qfd);
}

/* MAP / MAPPED / UNMAP with garbage on an attached connection */
static void map_garbage(const struct dev *d)
{
	static const uint32_t types[] = { 0, 1, 2, 3, 4, 15, 16, 17, 0x7fffffff, 0xffffffff };
	static const uint64_t sizes[] = { 0, 1, 4095, 4096, 16384, 1ULL << 40, UINT64_MAX };
	static const uint64_t addrs[] = { 0, 1, 0x1000, 0xffff800000000000ULL, UINT64_MAX,
					  0x7ffffffff000ULL };
	struct uacce_q *q;
	int sock, err, unexpected = 0, calls = 0, first = 0;
	uint64_t off, fixed[UACCE_QFRT_NR] = { 0 };

	err = uacce_queue_open(d->name, &q);
	if (!err)
		err = uacce_queue_start(q);
	if (err) {
		bad("%s: open+START: %s", d->name, en(err));
		if (!err)
			uacce_queue_close(q);
		return;
	}
	for (int t = 0; t < UACCE_QFRT_NR; t++)
		uacce_region_info(q, t, &off, &fixed[t]);
	sock = broker_connect();
	/* before ATTACH: nothing is served */
	err = broker_req(sock, UB_MAP, &(struct ub_map){ .type = UACCE_QFRT_MMIO, .size = 4096 },
			 sizeof(struct ub_map), -1);
	if (err == 0)
		bad("%s: MAP before ATTACH accepted", d->name);
	else
		ok("%s: MAP before ATTACH refused (%s)", d->name, en(err));
	close(sock);
	sock = broker_connect();
	err = broker_req(sock, UB_ATTACH, NULL, 0, uacce_queue_fd(q));
	if (err) {
		bad("%s: legitimate ATTACH: %s", d->name, en(err));
		goto out;
	}
	err = broker_req(sock, UB_ATTACH, NULL, 0, uacce_queue_fd(q));
	ok("%s: a second ATTACH on the same connection: %s", d->name, en(err));
	if (err == -ECONNRESET || err == -ETIMEDOUT) {
		close(sock);
		sock = broker_connect();
		broker_req(sock, UB_ATTACH, NULL, 0, uacce_queue_fd(q));
	}
	for (unsigned t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct ub_map m = { .type = types[t], .pad = (uint32_t)rnd(),
					    .size = sizes[s] };
			bool legal = types[t] < UACCE_QFRT_NR &&
				     (types[t] == UACCE_QFRT_SS || sizes[s] == fixed[types[t]]);

			err = broker_req(sock, UB_MAP, &m, sizeof(m), -1);
			calls++;
			if (err == -ECONNRESET || err == -ETIMEDOUT || (err == 0 && !legal) ||
			    err > 0) {
				if (first++ < 5)
					bad("%s: MAP type %u size 0x%" PRIx64 ": %s", d->name,
					    types[t], sizes[s], en(err));
				unexpected++;
				if (err == -ECONNRESET || err == -ETIMEDOUT)
					goto out;
			}
			/* MAPPED at garbage addresses, then UNMAP, for whatever was granted */
			for (unsigned a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++) {
				struct ub_mapped md = { .type = types[t], .addr = addrs[a] };

				err = broker_req(sock, UB_MAPPED, &md, sizeof(md), -1);
				calls++;
				if (err == -ECONNRESET || err == -ETIMEDOUT || err > 0) {
					if (first++ < 5)
						bad("%s: MAPPED type %u addr 0x%" PRIx64 ": %s",
						    d->name, types[t], addrs[a], en(err));
					unexpected++;
					goto out;
				}
			}
			err = broker_req(sock, UB_UNMAP, &(struct ub_region){ .type = types[t] },
					 sizeof(struct ub_region), -1);
			calls++;
			if (err == -ECONNRESET || err == -ETIMEDOUT || err > 0) {
				if (first++ < 5)
					bad("%s: UNMAP type %u: %s", d->name, types[t], en(err));
				unexpected++;
				goto out;
			}
		}
	if (!unexpected)
		ok("%s: %d MAP/MAPPED/UNMAP requests with garbage types, sizes and addresses: "
		   "every one answered, only legal MAPs granted", d->name, calls);
out:
	close(sock);
	uacce_queue_close(q);
}

static int sec_broker(void)
{
	int i;

	watchdog(opt_seconds > 0 ? opt_seconds : 300);
	signal(SIGPIPE, SIG_IGN);
	fd_floods();
	attach_foreign();
	for (i = 0; i < ndevs; i++)
		if (is_dummy(&devs[i]) || devs[i].zip) {
			attach_other(&devs[i]);
			map_garbage(&devs[i]);
			check_legit(&devs[i], "the broker garbage");
		}
	return 0;
}

/*
 * stalled PATH: a file of another FUSE file system whose server the caller
 * stops.  Opens it (while the server runs) and a queue of an SVA dummy
 * device, prints "ready PID", waits for SIGUSR1 (sent once the server is
 * stopped), then sends that file with an ATTACH and measures how long the
 * broker takes to answer another ATTACH, of a queue of ours, meanwhile.
 * Issue 11 item 6: the broker identifies a received fd with fstat(), which
 * blocks on a stopped FUSE server, and every other client waits.
 */
static int sec_stalled(const char *path)
{
	struct uacce_q *q = NULL;
	int ffd, s1, s2, err, sig, i;
	double t0, t1;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	ffd = open(path, O_RDWR | O_CLOEXEC);
	if (ffd < 0) {
		bad("%s: %s", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < ndevs; i++)
		if (devs[i].sva && is_dummy(&devs[i]))
			break;
	if (i == ndevs || uacce_queue_open(devs[i].name, &q) != 0) {
		bad("no queue of an SVA dummy device");
		return 1;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	watchdog(120);
	sigwait(&set, &sig);
	s1 = broker_connect();
	s2 = broker_connect();
	if (s1 < 0 || s2 < 0) {
		bad("connect: %s", en(s1 < 0 ? s1 : s2));
		return 1;
	}
	t0 = now_ms();
	err = ub_send(s1, UB_ATTACH, NULL, 0, ffd, 0);
	if (err)
		bad("ATTACH of %s: send: %s", path, en(err));
	sleep_ms(100);	/* the broker has taken it */
	t1 = now_ms();
	err = broker_req(s2, UB_ATTACH, NULL, 0, uacce_queue_fd(q));
	t1 = now_ms() - t1;
	if (err == 0 && t1 < 1000 * tscale)
		ok("%s: ATTACH of our own queue answered in %.0f ms while the broker had a file of "
		   "a stopped FUSE server", devs[i].name, t1);
	else
		bad("%s: ATTACH of our own queue: %s after %.0f ms while the broker had a file of "
		    "a stopped FUSE server (issue 11 item 6: the broker fstat()s what it receives; "
		    "expected to fail until that fix is merged)", devs[i].name, en(err), t1);
	{
		struct ub_reply r;

		err = broker_answer(s1, &r, 100);
		info("the ATTACH of the stopped server's file: %s after %.0f ms",
		     err == -ETIMEDOUT ? "no answer yet" : err ? en(err) : en(r.status),
		     now_ms() - t0);
	}
	printf("done\n");
	fflush(stdout);
	close(s1);
	close(s2);
	close(ffd);
	uacce_queue_close(q);
	return 0;
}

/* ===================================================================================
 * (c) control socket abuse
 */

static int control_connect(void)
{
	return unix_connect(SOCK_STREAM, CONTROL_SOCK, false);
}

/*
 * Read what the daemon answers within ms: 1 a line, 0 the connection was
 * closed without one, -ETIMEDOUT nothing, -errno (ECONNRESET: dropped).
 */
static int control_read(int s, char *buf, size_t cap, int ms)
{
	double end = now_ms() + ms * tscale;
	size_t len = 0;

	buf[0] = '\0';
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		int left = (int)(end - now_ms());
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) <= 0)
			continue;
		n = recv(s, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return len ? 1 : 0;
		len += (size_t)n;
		buf[len] = '\0';
		if (strchr(buf, '\n') || len >= cap - 1)
			return 1;
	}
}

/* send everything (nonblocking, bounded by ms); bytes sent */
static size_t send_bounded(int s, const char *p, size_t len, int ms)
{
	double end = now_ms() + ms;
	size_t done = 0;

	while (done < len && now_ms() < end) {
		struct pollfd pf = { .fd = s, .events = POLLOUT };
		ssize_t n;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		n = send(s, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

enum want { REFUSED, ANSWERED, GRANTED };

/*
 * One request on a fresh connection, answered within 8 s (the daemon's own
 * deadline is 5 s) or closed: REFUSED wants "ok":false (garbage, or any
 * request of a stranger), GRANTED "ok":true, ANSWERED either.
 */
static void control_try(const char *what, const char *req, size_t len, bool shut, enum want w)
{
	char buf[4096];
	double t0 = now_ms();
	int s = control_connect(), r;
	bool yes, no;

	if (s < 0) {
		bad("%s: connect: %s", what, en(s));
		return;
	}
	send_bounded(s, req, len, 2000 * tscale);
	if (shut)
		shutdown(s, SHUT_WR);
	r = control_read(s, buf, sizeof(buf), 8000);
	yes = r == 1 && strstr(buf, "\"ok\":true");
	no = r == 1 && strstr(buf, "\"ok\":false");
	if (r == -ETIMEDOUT)
		bad("%s: no answer and not closed within 8 s", what);
	else if (r == 1 && !yes && !no)
		bad("%s: not a JSON answer: %.200s", what, buf);
	else if ((w == REFUSED && yes) || (w == GRANTED && !yes))
		bad("%s: %s: %.200s", what, yes ? "accepted" : "not granted", r == 1 ? buf : en(r));
	else if (w == ANSWERED && yes)
		info("%s: accepted (the JSON parser is lenient) in %.0f ms", what, now_ms() - t0);
	else
		ok("%s: %s in %.0f ms", what, yes ? "granted" : no ? "refused" :
		   r == 0 ? "closed" : en(r), now_ms() - t0);
	close(s);
}

static int sec_control(void)
{
	static const char *const garbage[] = {
		"", "\n", "{", "}", "null", "[]", "42", "\"list\"", "{\"command\":1}",
		"{\"command\":null}", "{\"command\":\"nope\"}", "{\"cmd\":\"list\"}",
		"\xff\xfe\x00\x01", "{\"command\":\"li\\u0000st\"}",
		"{\"command\":[\"list\"]}", "{\"command\":{\"command\":\"list\"}}",
	};
	/* not well-formed, but json-c's default parser takes them */
	static const char *const lenient[] = {
		"{\"command\":\"list\",}", "{\"command\":\"list\"} trailing",
		"{\"command\":\"list\"}\n{\"command\":\"reload\"}",
	};
	/*
	 * root and the admin group (--admin) are admitted: the parser sees the
	 * garbage (others cannot connect: see sec_stranger; the daemon's peer
	 * check refuses one that can, e.g. CAP_DAC_OVERRIDE, unparsed)
	 */
	bool admitted = geteuid() == 0 || opt_admin;
	char *big, deep[4000];
	size_t bigsz = 1 << 20;
	int n = opt_count > 0 ? opt_count : 100, closed = 0;

	watchdog(opt_seconds > 0 ? opt_seconds : 300);
	signal(SIGPIPE, SIG_IGN);
	info("as uid %u: requests %s", (unsigned)geteuid(),
	     admitted ? "reach the parser" : "are refused before they are parsed");
	for (unsigned i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		char what[120];

		snprintf(what, sizeof(what), "garbage request #%u (%zu bytes)", i, strlen(garbage[i]));
		control_try(what, garbage[i], strlen(garbage[i]), true, REFUSED);
	}
	for (unsigned i = 0; i < sizeof(lenient) / sizeof(lenient[0]); i++) {
		char what[120];

		snprintf(what, sizeof(what), "malformed request %s", lenient[i]);
		for (char *c = what; *c; c++)
			*c = *c == '\n' ? ' ' : *c;
		control_try(what, lenient[i], strlen(lenient[i]), true,
			    admitted ? ANSWERED : REFUSED);
	}
	memset(deep, '[', sizeof(deep));
	control_try("4000 nested arrays", deep, sizeof(deep), true, REFUSED);
	big = malloc(bigsz);
	if (big) {
		memset(big, 'x', bigsz);
		control_try("a 1 MiB line", big, bigsz, true, REFUSED);
		memcpy(big, "{\"command\":\"", 12);
		control_try("a 1 MiB unterminated string, no EOF", big, bigsz, false, REFUSED);
		free(big);
	}
	control_try("a silent connection (nothing sent, never closed)", "", 0, false, REFUSED);
	control_try("half-closed at once (shutdown SHUT_WR, nothing sent)", "", 0, true, REFUSED);
	/* a request, then the reading side shut and the socket dropped unread */
	for (int i = 0; i < 20; i++) {
		int s = control_connect();

		if (s < 0)
			break;
		send_bounded(s, "{\"command\":\"list\"}", 18, 1000);
		shutdown(s, SHUT_RDWR);
		close(s);
	}
	ok("20 requests whose connection was closed before the answer");
	for (int i = 0; i < n; i++) {
		int s = control_connect();

		if (s >= 0) {
			close(s);
			closed++;
		}
	}
	ok("%d connections opened and closed at once", closed);
	control_try("a well-formed list after all that", "{\"command\":\"list\"}", 18, true,
		    admitted ? GRANTED : REFUSED);
	return 0;
}

/*
 * A stranger (neither in the device group nor in control.admin_group, not
 * root): the sockets' files keep it out, connect(2) gets EACCES, so it can
 * hold no connection of either (issue 11 item 3); the nodes keep it out too.
 */
static int sec_stranger(void)
{
	static const struct {
		const char *name;
		int type;
	} socks[] = { { UB_SOCKET_NAME, SOCK_SEQPACKET }, { CONTROL_SOCK, SOCK_STREAM } };
	const int n = opt_count > 0 ? opt_count : 100;

	watchdog(opt_seconds > 0 ? opt_seconds : 60);
	if (geteuid() == 0) {
		bad("run me as a stranger, not as root");
		return 2;
	}
	for (unsigned k = 0; k < sizeof(socks) / sizeof(socks[0]); k++) {
		char path[PATH_MAX];
		struct stat st;
		int i, s = 0;

		snprintf(path, sizeof(path), "%s/%s", uacce_runtime_dir(), socks[k].name);
		if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
			bad("%s: no socket there (%s)", path, strerror(errno));
			continue;
		}
		for (i = 0; i < n; i++) {
			s = unix_connect(socks[k].type, socks[k].name, false);
			if (s != -EACCES)
				break;
		}
		if (i == n) {
			ok("%s (mode %04o): %d connects, each EACCES", socks[k].name,
			   (unsigned)(st.st_mode & 07777), n);
		} else {
			bad("%s (mode %04o): connect #%d: %s, expected EACCES", socks[k].name,
			    (unsigned)(st.st_mode & 07777), i + 1, s >= 0 ? "connected" : en(s));
			if (s >= 0)
				close(s);
		}
	}
	for (int i = 0; i < ndevs; i++) {
		struct uacce_q *q;
		int err = uacce_queue_open(devs[i].name, &q);

		if (err == -EACCES) {
			ok("%s: open EACCES", devs[i].name);
		} else {
			bad("%s: open: %s, expected EACCES", devs[i].name, err ? en(err) : "granted");
			if (!err)
				uacce_queue_close(q);
		}
	}
	return 0;
}

/* ===================================================================================
 * (d) ring garbage
 */

/* addresses no request may reach: NULL, low, kernel, unmapped, past the SS */
static uint64_t bad_addr(const struct rq *r, void *gone)
{
	switch (rnd() % 6) {
	case 0:
		return 0;
	case 1:
		return rnd() % 65536;
	case 2:
		return 0xffff800000000000ULL + (rnd() & 0xffffff);
	case 3:
		return (uint64_t)(uintptr_t)gone;
	case 4:
		return r->ss ? (uint64_t)(uintptr_t)r->ss + r->ss_len + (rnd() % 4096) : rnd();
	default:
		return rnd();
	}
}

/*
 * rw bytes of private memory followed by `guard` bytes of a shared PROT_NONE
 * mapping.  An SVA soft device writes through /proc/<pid>/mem, which forces
 * writes into private read-only and even PROT_NONE pages (issue 11 item 8)
 * but not into shared ones: a garbage request running past the buffer stops
 * at the guard instead of overwriting the rest of this process.  Never
 * freed: the copies of a garbage ring may still run after its queue closed.
 */
static char *guarded(size_t rw, size_t guard)
{
	char *p = mmap(NULL, rw + guard, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mmap(p, rw, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		return NULL;
	return p;
}

/* scratch memory for garbage BDs: 1 MiB, then an 8 MiB guard */
#define SCRATCH		(1u << 20)
#define SCRATCH_GUARD	(8u << 20)
static char *scratch_area(void)
{
	static char *p;

	if (!p)
		p = guarded(SCRATCH, SCRATCH_GUARD);
	return p;
}

static void dummy_kick(struct rq *r)
{
	struct dummy_wake *w = (struct dummy_wake *)((char *)r->mmio + DUMMY_WAKE_OFFSET);

	if (r->dus)
		*(volatile uint32_t *)r->mmio = 1;	/* v2 doorbell */
	__atomic_add_fetch(&w->wake, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &w->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void ring_dummy(const struct dev *d, void *gone, void *ro)
{
	int rounds = opt_count > 0 ? opt_count : 300, flush_err = 0, gone_n = 0;
	struct rq r;
	struct dummy_hw_queue_reg *reg;
	char *scratch = scratch_area();
	double t0 = now_ms(), worst = 0;
	int err = rq_open(&r, d, 1 << 20);

	if (err || !scratch) {
		bad("%s: open+START+map: %s", d->name, en(err));
		return;
	}
	reg = r.dus ? r.dus : r.mmio;
	for (int i = 0; i < rounds; i++) {
		int nbd = (int)(rnd() % Q_BDS) + 1;
		char *base = r.ss ? r.ss : scratch;
		size_t blen = r.ss ? r.ss_len : SCRATCH;

		for (int b = 0; b < nbd; b++) {
			struct wd_dummy_cpy_msg *m = &reg->ring[rnd() % Q_BDS];

			switch (rnd() % 4) {
			case 0:		/* all random */
				m->src_addr = (char *)(uintptr_t)rnd();
				m->tgt_addr = (char *)(uintptr_t)rnd();
				m->size = (size_t)rnd();
				break;
			case 1:		/* bad source, valid target, sizes into the guard */
				m->src_addr = (char *)(uintptr_t)bad_addr(&r, gone);
				m->tgt_addr = base + rnd() % blen;
				m->size = (size_t)rnd() % (4 * blen);
				break;
			case 2:		/* valid buffers, sizes running past them (into the guard) */
				m->src_addr = base + rnd() % blen;
				m->tgt_addr = base + rnd() % blen;
				m->size = (size_t)(rnd() % (4 * blen));
				break;
			default:	/* into read-only or unmapped memory */
				m->src_addr = base;
				m->tgt_addr = rnd() % 2 ? ro : gone;
				m->size = 4096;
				break;
			}
			m->ptr = (void *)(uintptr_t)rnd();
			m->ret = (uint32_t)rnd();
		}
		/* indices: in range, out of range, wrapped */
		switch (rnd() % 3) {
		case 0:
			__atomic_store_n(&reg->head, (uint32_t)(rnd() % Q_BDS), __ATOMIC_RELEASE);
			break;
		case 1:
			__atomic_store_n(&reg->head, (uint32_t)rnd(), __ATOMIC_RELEASE);
			break;
		default:
			__atomic_store_n(&reg->head, Q_BDS + (uint32_t)(rnd() % 3), __ATOMIC_RELEASE);
		}
		if (rnd() % 4 == 0)
			reg->tail = (uint32_t)rnd();	/* the device's index, scribbled */
		if (rnd() % 8 == 0)
			reg->ring_bd_num = (uint32_t)rnd();
		dummy_kick(&r);
		if (i % 4 == 0) {
			double t = now_ms();

			err = xioctl(uacce_queue_fd(r.q), DUMMY_CMD_FLUSH, 0);
			t = now_ms() - t;
			worst = t > worst ? t : worst;
			if (daemon_gone_err(err))
				gone_n++;
			else if (err)
				flush_err++;
		}
	}
	sleep_ms(100);
	if (gone_n)
		bad("%s: %d FLUSHes found the daemon gone", d->name, gone_n);
	else
		ok("%s: %d rounds of random BDs (sizes up to 2^64, NULL/kernel/unmapped/read-only "
		   "addresses) and ring indices, kicks and FLUSHes in %.0f ms (slowest FLUSH %.0f ms, "
		   "%d refused)", d->name, rounds, now_ms() - t0, worst, flush_err);
	rq_close(&r);
}

/* a page unmapped right now: nothing of ours can have been mapped there since */
#define UNMAPPED ((void *)-4096L)
static void *unmapped_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return (void *)0x2000;	/* below mmap_min_addr: never mapped either */
	munmap(p, (size_t)pg);
	return p;
}

/* one request through a fresh wd queue that must fail (bad address) */
static void dummy_bad_copy(const struct dev *d, const char *what, void *src, void *dst,
			   size_t size, bool known_hole)
{
	struct wd_queue q = { .capa.alg = "memcpy" };
	void *resp = NULL;
	int err;

	snprintf(q.dev_path, sizeof(q.dev_path), "%s", d->name);
	err = wd_request_queue(&q);
	if (err) {
		bad("%s: %s: no queue: %s", d->name, what, en(err));
		return;
	}
	if (!d->sva && wd_reserve_memory(&q, 65536) == NULL) {
		bad("%s: %s: SS: %s", d->name, what, en(errno));
		wd_release_queue(&q);
		return;
	}
	if (dst == UNMAPPED)
		dst = unmapped_page();
	struct wd_dummy_cpy_msg m = { .src_addr = src, .tgt_addr = dst, .size = size,
				      .ptr = (void *)0xbad };

	err = wd_send(&q, &m);
	if (!err)
		err = wd_recv_sync(&q, &resp, (uint16_t)(5000 * tscale));
	if (err == -ETIMEDOUT || daemon_gone_err(err))
		bad("%s: a copy %s: %s", d->name, what, en(err));
	else if (err >= 0 && known_hole)
		info("%s: a copy %s SUCCEEDED: known hole, issue 11 item 8 (SVA ignores page "
		     "protection)", d->name, what);
	else if (err >= 0)
		bad("%s: a copy %s succeeded", d->name, what);
	else
		ok("%s: a copy %s fails (%s)", d->name, what, en(err));
	wd_release_queue(&q);
}

static void ring_zip(const struct dev *d, void *gone, void *ro)
{
	int rounds = opt_count > 0 ? opt_count : 300, posted = 0, good = 0;
	struct uacce_zip *z;
	struct uacce_zip_regs *regs;
	struct uacce_zip_sqe *sqes;
	struct uacce_zip_cqe *cqes;
	struct uacce_q *q;
	char *buf;
	double t0 = now_ms();
	uint32_t tail, start_cq, errs0, sq_n, cq_n;
	int err = uacce_zip_open(d->name, 1 << 20, &z);

	if (err) {
		bad("%s: open: %s", d->name, en(err));
		return;
	}
	q = uacce_zip_queue(z);
	regs = uacce_region_addr(q, UACCE_QFRT_MMIO);
	sqes = (void *)((char *)uacce_region_addr(q, UACCE_QFRT_DUS) + regs->sqe_off);
	cqes = (void *)((char *)uacce_region_addr(q, UACCE_QFRT_DUS) + regs->cqe_off);
	buf = uacce_zip_alloc(z, 65536);
	if (!buf) {
		bad("%s: alloc", d->name);
		uacce_zip_close(z);
		return;
	}
	/* the ring's geometry, read once: the garbage below scribbles on regs too */
	sq_n = regs->sq_entries;
	cq_n = regs->cq_entries;
	tail = __atomic_load_n(&regs->sq_tail, __ATOMIC_ACQUIRE);
	start_cq = __atomic_load_n(&regs->cq_tail, __ATOMIC_ACQUIRE);
	errs0 = regs->ring_errors;
	for (int i = 0; i < rounds; i++) {
		uint32_t n = (uint32_t)(rnd() % 8) + 1;

		/* keep the real requests within the CQ: consume what completed */
		regs->cq_head = __atomic_load_n(&regs->cq_tail, __ATOMIC_ACQUIRE);
		if (tail - regs->cq_head + n > cq_n)
			n = 0;
		for (uint32_t k = 0; k < n; k++) {
			struct uacce_zip_sqe *e = &sqes[(tail + k) % sq_n];
			uint64_t *w = (uint64_t *)e;

			for (unsigned j = 0; j < sizeof(*e) / 8; j++)
				w[j] = rnd();
			if (rnd() % 2) {	/* plausible fields, hostile addresses */
				e->op = (uint8_t)(rnd() % 4);
				e->alg = (uint8_t)(rnd() % 5);
				e->level = (uint8_t)(rnd() % 11);
				e->stream = (uint8_t)(rnd() % 6);
				e->flags = (uint32_t)(rnd() % 8);
				e->rsvd0 = 0;
				memset(e->rsvd, 0, sizeof(e->rsvd));
				e->src = rnd() % 3 ? bad_addr(&(struct rq){ 0 }, gone)
						   : (uint64_t)(uintptr_t)buf;
				e->dst = rnd() % 2 ? (uint64_t)(uintptr_t)ro : (uint64_t)(uintptr_t)gone;
				e->src_len = (uint32_t)(rnd() % 131072);
				e->dst_len = (uint32_t)(rnd() % 131072);
			}
		}
		tail += n;
		posted += (int)n;
		if (rnd() % 5 == 0) {	/* a garbage index, long enough to be seen: ignored, counted */
			__atomic_store_n(&regs->sq_tail, (uint32_t)rnd(), __ATOMIC_RELEASE);
			__atomic_add_fetch(&regs->wake, 1, __ATOMIC_SEQ_CST);
			syscall(SYS_futex, &regs->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
			sleep_ms(2);
		}
		if (rnd() % 9 == 0)	/* the device's own fields, scribbled */
			regs->sq_entries = (uint32_t)rnd();
		__atomic_store_n(&regs->sq_tail, tail, __ATOMIC_RELEASE);
		__atomic_add_fetch(&regs->wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &regs->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
		if (i % 16 == 0)
			sleep_ms(1);
	}
	/* wait (bounded) for the device to drain what it took */
	for (int i = 0; i < 300; i++) {
		if (__atomic_load_n(&regs->sq_head, __ATOMIC_ACQUIRE) == tail)
			break;
		sleep_ms(10);
	}
	for (uint32_t c = start_cq; c != __atomic_load_n(&regs->cq_tail, __ATOMIC_ACQUIRE) &&
				    c - start_cq < 100000; c++)
		good += cqes[c % cq_n].status == 0;
	ok("%s: %d rounds, %d garbage SQEs posted, garbage sq_tail values: %u completions "
	   "(%d with status 0), %u ring errors counted by the device, in %.0f ms", d->name,
	   rounds, posted, __atomic_load_n(&regs->cq_tail, __ATOMIC_ACQUIRE) - start_cq, good,
	   regs->ring_errors - errs0, now_ms() - t0);
	uacce_zip_close(z);
	/* copies into read-only and unmapped memory, through the real client */
	if (uacce_zip_open(d->name, 1 << 20, &z) == 0) {
		char *in = uacce_zip_alloc(z, 4096);
		size_t olen = 0;

		if (in) {
			memset(in, 'a', 4096);
			err = uacce_zip_run(z, UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, 1, in, 4096,
					    unmapped_page(), 8192, &olen);
			if (err < 0 && !daemon_gone_err(err))
				ok("%s: compress into an unmapped page fails (%s)", d->name, en(err));
			else
				bad("%s: compress into an unmapped page: %s", d->name, en(err));
			err = uacce_zip_run(z, UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, 1, in, 4096,
					    gone, 8192, &olen);
			if (err < 0 && !daemon_gone_err(err))
				ok("%s: compress into a PROT_NONE shared page fails (%s)", d->name,
				   en(err));
			else
				bad("%s: compress into a PROT_NONE shared page: %s", d->name, en(err));
			err = uacce_zip_run(z, UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, 1, in, 4096,
					    ro, 4096, &olen);
			if (err < 0 && !daemon_gone_err(err))
				ok("%s: compress into read-only memory fails (%s)", d->name, en(err));
			else if (err == 0 && d->sva)
				info("%s: compress into read-only memory SUCCEEDED: known hole, issue "
				     "11 item 8", d->name);
			else
				bad("%s: compress into read-only memory: %s", d->name, en(err));
		}
		uacce_zip_close(z);
	}
}

static int sec_ring(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	/* read-only, with a guard: garbage lengths may run far past the page */
	char *ro = guarded((size_t)pg, 256 << 10);
	/*
	 * "gone": where garbage requests point.  Not an unmapped page (a later
	 * mapping of ours could land there and the device would scribble on
	 * it) but a shared PROT_NONE one: even a forced write through
	 * /proc/<pid>/mem fails there.  The unmapped case is tried on its own
	 * (dummy_bad_copy, ring_zip), on a page unmapped just before.
	 */
	char *gone = mmap(NULL, (size_t)pg, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *src = malloc(8192);

	watchdog(opt_seconds > 0 ? opt_seconds : 600);
	if (!ro || gone == MAP_FAILED || !src || !scratch_area())
		return 2;
	memset(ro, 0x11, (size_t)pg);
	memset(src, 0x77, 8192);
	mprotect(ro, (size_t)pg, PROT_READ);
	for (int i = 0; i < ndevs; i++) {
		const struct dev *d = &devs[i];

		if (is_dummy(d)) {
			ring_dummy(d, gone, ro);
			dummy_bad_copy(d, "to an unmapped page", d->sva ? src : NULL, UNMAPPED, 4096,
				       false);
			dummy_bad_copy(d, "to a PROT_NONE shared page", d->sva ? src : NULL, gone,
				       4096, false);
			dummy_bad_copy(d, "from NULL", NULL, d->sva ? src : NULL, 4096, false);
			dummy_bad_copy(d, "from a kernel address", (void *)0xffff800000000000UL,
				       d->sva ? src : NULL, 4096, false);
			dummy_bad_copy(d, "of 2^63 bytes (into a guard page)",
				       d->sva ? scratch_area() : NULL,
				       d->sva ? scratch_area() + 4096 : NULL, 1ULL << 63, false);
			if (d->sva)
				dummy_bad_copy(d, "into a read-only page", src, ro, 4096, true);
			else
				dummy_bad_copy(d, "to an address outside the SS", NULL, ro, 4096, false);
		} else if (d->zip) {
			ring_zip(d, gone, ro);
		}
		check_legit(d, "the ring garbage");
	}
	if (ro[0] != 0x11)
		info("the read-only page now holds 0x%02x (issue 11 item 8)", (unsigned char)ro[0]);
	munmap(gone, (size_t)pg);
	free(src);
	return 0;
}

/* ===================================================================================
 * (e) storms
 */

struct tally {
	uint64_t cycles, errors, refused, requests;
	int done;
};

static int storm_child(int kind, struct tally *t, double end, int max, unsigned seed)
{
	rng ^= seed * 0x100000001b3ULL;
	for (int i = 0; i < max && now_ms() < end; i++) {
		const struct dev *d = &devs[rnd() % (uint64_t)ndevs];
		int err = 0;

		if (kind == 0) {	/* open / START / map / close */
			struct rq r;

			err = rq_open(&r, d, 65536);
			if (!err)
				rq_close(&r);
		} else if (kind == 1) {	/* a child that opens and is SIGKILLed */
			pid_t pid = fork();
			int st;

			if (pid == 0) {
				struct rq r;

				if (rq_open(&r, d, 65536) == 0 && rnd() % 2)
					legit_dummy(d);
				for (;;)
					pause();
			}
			if (pid < 0) {
				err = -errno;
			} else {
				sleep_ms((int)(rnd() % 8));
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
			}
		} else {		/* the queue fd passed to another process */
			int sp[2], st;
			struct rq r;
			pid_t pid;

			err = rq_open(&r, d, 65536);
			if (!err && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
				pid = fork();
				if (pid == 0) {
					int fd = recv_fd(sp[1]), s, e1, e2, e3;

					if (fd < 0)
						_exit(1);
					e1 = xioctl(fd, UACCE_CMD_START, 0);
					e2 = xioctl(fd, UACCE_CMD_PUT_Q, 0);
					s = broker_connect();
					e3 = broker_req(s, UB_ATTACH, NULL, 0, fd);
					/* a stranger's calls must all be refused */
					_exit(e1 == 0 || e2 == 0 || e3 == 0 ? 1 : 0);
				}
				send_fd(sp[0], uacce_queue_fd(r.q));
				if (pid > 0 && waitpid(pid, &st, 0) == pid &&
				    !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
					printf("FAIL: storm: %s: a process that received the queue fd "
					       "was not refused\n", d->name);
					t->errors++;
				}
				close(sp[0]);
				close(sp[1]);
				/* the owner's queue still works */
				if (is_dummy(d) && rnd() % 4 == 0) {
					rq_close(&r);
					err = legit_dummy(d);
				}
			}
			rq_close(&r);
		}
		t->cycles++;
		if (err == -EBUSY || err == -EDQUOT)
			t->refused++;
		else if (err) {
			if (t->errors++ < 3)
				printf("FAIL: storm: %s: kind %d: %s\n", d->name, kind, en(err));
		}
	}
	t->done = 1;
	return t->errors ? 1 : 0;
}

static int sec_storm(void)
{
	int procs = opt_procs > 0 ? opt_procs : 6, secs = opt_seconds > 0 ? opt_seconds : 10;
	int max = opt_count > 0 ? opt_count : 100000, failed = 0;
	struct tally *t = mmap(NULL, sizeof(*t) * (size_t)procs, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double end = now_ms() + secs * 1000.0;
	static const char *const kinds[] = { "open/START/map/close", "fork + SIGKILL",
					     "SCM_RIGHTS passing" };
	uint64_t sum[3][3] = { { 0 } };
	pid_t *pids = calloc((size_t)procs, sizeof(pid_t));

	watchdog(secs + 120);
	if (t == MAP_FAILED || !pids)
		return 2;
	fflush(stdout);
	for (int i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(storm_child(i % 3, &t[i], end, max, (unsigned)i + 1));
	}
	for (int i = 0; i < procs; i++) {
		int st;

		if (pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] &&
		    !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			failed++;
		sum[i % 3][0] += t[i].cycles;
		sum[i % 3][1] += t[i].refused;
		sum[i % 3][2] += t[i].errors;
	}
	for (int k = 0; k < 3; k++)
		if (sum[k][2])
			bad("%s: %" PRIu64 " cycles, %" PRIu64 " unexpected errors", kinds[k], sum[k][0],
			    sum[k][2]);
		else
			ok("%s: %" PRIu64 " cycles in %d s over %d devices (%" PRIu64 " refused "
			   "EBUSY/EDQUOT: a non-SVA device held by another process)", kinds[k],
			   sum[k][0], secs, ndevs, sum[k][1]);
	if (failed)
		bad("%d of %d storm processes failed", failed, procs);
	for (int i = 0; i < ndevs; i++)
		check_legit(&devs[i], "the storms");
	free(pids);
	return 0;
}

/* ===================================================================================
 * (f) exhaustion
 */

static int raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (int)(rl.rlim_cur > INT_MAX ? INT_MAX : rl.rlim_cur);
}

static uint64_t mem_total(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %" SCNu64, &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/*
 * Open nb broker and nc control connections, into bfd / cfd: each connect
 * waits up to 1 s for room in the listener's backlog (the broker accepts at
 * once; the control socket takes one connection at a time)
 */
static void open_conns(int nb, int nc, int *bfd, int *cfd, int *gotb, int *gotc, int *errb,
		       int *errc)
{
	*gotb = *gotc = 0;
	*errb = *errc = 0;
	for (int i = 0; i < nb; i++) {
		int s = unix_connect_retry(SOCK_SEQPACKET, UB_SOCKET_NAME, true, 1000);

		if (s < 0) {
			*errb = s;
			break;
		}
		bfd[(*gotb)++] = s;
	}
	for (int i = 0; i < nc; i++) {
		int s = unix_connect(SOCK_STREAM, CONTROL_SOCK, true);

		if (s < 0) {
			*errc = s;
			break;
		}
		/* one byte: a request begun and never finished */
		if (send(s, "{", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
		    errno != ENOTCONN) {
			close(s);
			*errc = -errno;
			break;
		}
		cfd[(*gotc)++] = s;
	}
}

/* how many of the connections the daemon has closed */
static int count_closed(const int *fds, int n)
{
	int closed = 0;

	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		char c;

		if (poll(&p, 1, 0) > 0 &&
		    ((p.revents & (POLLHUP | POLLERR)) ||
		     recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0))
			closed++;
	}
	return closed;
}

static int sec_hold(int nb, int nc, int secs)
{
	int lim = raise_nofile();
	int *bfd, *cfd, gotb, gotc, errb, errc;

	if (nb + nc + 64 > lim) {
		info("RLIMIT_NOFILE %d: asking for %d broker connections only", lim, lim - nc - 64);
		nb = lim - nc - 64;
		if (nb < 0)
			nb = 0;
	}
	bfd = calloc((size_t)nb + 1, sizeof(int));
	cfd = calloc((size_t)nc + 1, sizeof(int));
	if (!bfd || !cfd)
		return 2;
	watchdog(secs + 120);
	open_conns(nb, nc, bfd, cfd, &gotb, &gotc, &errb, &errc);
	printf("ready %d %d\n", gotb, gotc);
	info("holding %d broker connections%s%s and %d silent control connections%s%s for %d s",
	     gotb, errb ? ", then " : "", errb ? en(errb) : "", gotc, errc ? ", then " : "",
	     errc ? en(errc) : "", secs);
	fflush(stdout);
	sleep_ms(secs * 1000);
	info("after %d s the daemon had closed %d of %d broker and %d of %d control connections",
	     secs, count_closed(bfd, gotb), gotb, count_closed(cfd, gotc), gotc);
	for (int i = 0; i < gotb; i++)
		close(bfd[i]);
	for (int i = 0; i < gotc; i++)
		close(cfd[i]);
	free(bfd);
	free(cfd);
	return 0;
}

static int sec_exhaust(void)
{
	uint64_t mem = mem_total();
	int lim = raise_nofile();

	watchdog(opt_seconds > 0 ? opt_seconds : 300);
	signal(SIGPIPE, SIG_IGN);
	/* every hardware queue of each device, then one more */
	for (int i = 0; i < ndevs; i++) {
		const struct dev *d = &devs[i];
		int max = d->queues + 8, n = 0, err = 0;
		struct uacce_q **qs = calloc((size_t)max, sizeof(*qs));

		if (!qs)
			return 2;
		while (n < max) {
			err = uacce_queue_open(d->name, &qs[n]);
			if (err)
				break;
			if ((err = uacce_queue_start(qs[n])) != 0) {
				uacce_queue_close(qs[n]);
				break;
			}
			n++;
		}
		if (n == d->queues && (err == -EBUSY || err == -EDQUOT))
			ok("%s: %d queues opened and started, the next refused (%s)", d->name, n,
			   en(err));
		else if (n < d->queues && (err == -EDQUOT || err == -EMFILE))
			ok("%s: %d of %d queues, then refused by a limit (%s)", d->name, n, d->queues,
			   en(err));
		else
			bad("%s: %d of %d queues, then %s", d->name, n, d->queues, en(err));
		for (int k = 0; k < n; k++)
			uacce_queue_close(qs[k]);
		free(qs);
	}
	/* SS far beyond memory: refused, at once */
	for (int i = 0; i < ndevs; i++) {
		const uint64_t sizes[] = { 4 * mem, 1ULL << 46, 1ULL << 62, UINT64_MAX & ~4095ULL };
		const struct dev *d = &devs[i];
		struct uacce_q *q;

		if (d->sva || uacce_queue_open(d->name, &q) != 0)
			continue;
		if (uacce_queue_start(q) == 0)
			for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
				double t0 = now_ms();
				struct ub_map m = { .type = UACCE_QFRT_SS, .size = sizes[k] };
				int s = broker_connect(), err;

				err = broker_req(s, UB_ATTACH, NULL, 0, uacce_queue_fd(q));
				if (!err)
					err = broker_req(s, UB_MAP, &m, sizeof(m), -1);
				if (err == -ENOMEM || err == -EDQUOT || err == -EINVAL ||
				    err == -EFBIG || err == -EOVERFLOW)
					ok("%s: an SS of 0x%" PRIx64 " bytes (memory: %" PRIu64
					   " MiB) refused (%s) in %.0f ms", d->name, sizes[k], mem >> 20,
					   en(err), now_ms() - t0);
				else
					bad("%s: an SS of 0x%" PRIx64 " bytes: %s", d->name, sizes[k],
					    en(err));
				close(s);
			}
		uacce_queue_close(q);
		check_legit(d, "the SS requests");
	}
	/* thousands of idle broker connections, hundreds of control connections */
	{
		int nb = opt_count > 0 ? opt_count : 4500, nc = 200;
		int *bfd, *cfd, gotb, gotc, errb, errc;
		double t0;

		if (nb + nc + 64 > lim)
			nb = lim - nc - 64 > 0 ? lim - nc - 64 : 0;
		bfd = calloc((size_t)nb + 1, sizeof(int));
		cfd = calloc((size_t)nc + 1, sizeof(int));
		if (!bfd || !cfd)
			return 2;
		t0 = now_ms();
		open_conns(nb, nc, bfd, cfd, &gotb, &gotc, &errb, &errc);
		info("opened %d of %d broker connections%s%s and %d of %d control connections%s%s in "
		     "%.0f ms (RLIMIT_NOFILE %d)", gotb, nb, errb ? ", then " : "",
		     errb ? en(errb) : "", gotc, nc, errc ? ", then " : "", errc ? en(errc) : "",
		     now_ms() - t0, lim);
		sleep_ms(500);
		/* does this uid itself still get served?  (issue 11 item 2: others may not) */
		for (int i = 0; i < ndevs; i++)
			if (devs[i].sva && (is_dummy(&devs[i]) || devs[i].zip)) {
				int err = devs[i].zip ? legit_zip(&devs[i]) : legit_dummy(&devs[i]);

				info("%s while holding them: a request of this uid: %s "
				     "(issue 11 item 2: per-uid limits are not there yet)",
				     devs[i].name, en(err));
				break;
			}
		info("the daemon closed %d of %d broker and %d of %d control connections meanwhile",
		     count_closed(bfd, gotb), gotb, count_closed(cfd, gotc), gotc);
		for (int i = 0; i < gotb; i++)
			close(bfd[i]);
		for (int i = 0; i < gotc; i++)
			close(cfd[i]);
		free(bfd);
		free(cfd);
		ok("%d broker and %d control connections opened and closed, the daemon answered "
		   "throughout", gotb, gotc);
	}
	sleep_ms(300);
	for (int i = 0; i < ndevs; i++)
		check_legit(&devs[i], "the connection flood");
	return 0;
}

/* ===================================================================================
 * load soak (issue 11 item 4)
 */

struct worker {
	const struct dev *d;
	int nq;
};

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (unsigned char)(seed >> 59) + 'a';	/* 32 letters: compressible */
	}
}

static int soak_dummy(const struct dev *d, int nq, double end, struct tally *t, unsigned id)
{
	struct wd_queue *q = calloc((size_t)nq, sizeof(*q));
	unsigned char **src = calloc((size_t)nq, sizeof(void *)), **dst = calloc((size_t)nq,
										     sizeof(void *));
	size_t sz = 4096 + id % 4 * 4096;
	int opened = 0, err = 0;
	uint64_t n = 0;

	if (!q || !src || !dst)
		return -ENOMEM;
	for (; opened < nq; opened++) {
		q[opened].capa.alg = "memcpy";
		snprintf(q[opened].dev_path, sizeof(q[opened].dev_path), "%s", d->name);
		err = wd_request_queue(&q[opened]);
		if (err)
			break;
		if (d->sva) {
			src[opened] = malloc(sz);
			dst[opened] = malloc(sz);
		} else {
			src[opened] = wd_reserve_memory(&q[opened], 2 * sz);
			dst[opened] = src[opened] ? src[opened] + sz : NULL;
		}
		if (!src[opened] || !dst[opened]) {
			err = -ENOMEM;
			opened++;
			break;
		}
	}
	if (err) {
		printf("FAIL: soak: %s: queue %d of %d: %s\n", d->name, opened, nq, en(err));
		t->errors++;
	}
	while (!err && now_ms() < end) {
		for (int i = 0; i < opened && !err; i++) {
			struct wd_dummy_cpy_msg m = { .src_addr = (char *)src[i],
						      .tgt_addr = (char *)dst[i], .size = sz,
						      .ptr = (void *)(uintptr_t)(n + i + 1) };

			fill(src[i], sz, ((uint64_t)id << 40) ^ (n + (uint64_t)i));
			memset(dst[i], 0, sz);
			err = wd_send(&q[i], &m);
		}
		for (int i = 0; i < opened && !err; i++) {
			void *resp = NULL;

			err = wd_recv_sync(&q[i], &resp, (uint16_t)(10000 * tscale));
			if (err < 0)
				break;
			err = 0;
			t->requests++;
			if (resp != (void *)(uintptr_t)(n + i + 1) || memcmp(src[i], dst[i], sz)) {
				if (t->errors++ < 3)
					printf("FAIL: soak: %s: request %" PRIu64 ": %s\n", d->name,
					       n + i, resp != (void *)(uintptr_t)(n + i + 1) ?
					       "wrong cookie (lost or reordered)" : "data corrupted");
			}
		}
		n += (uint64_t)opened;
	}
	if (err) {
		printf("FAIL: soak: %s: after %" PRIu64 " requests: %s\n", d->name, n, en(err));
		t->errors++;
	}
	for (int i = 0; i < opened; i++) {
		if (d->sva) {
			free(src[i]);
			free(dst[i]);
		}
		wd_release_queue(&q[i]);
	}
	free(q);
	free(src);
	free(dst);
	return 0;
}

static int soak_zip(const struct dev *d, int nq, double end, struct tally *t, unsigned id)
{
	struct uacce_zip **z = calloc((size_t)nq, sizeof(*z));
	unsigned char *(*bufs)[3] = calloc((size_t)nq, sizeof(*bufs));
	size_t n = 16384 + id % 4 * 16384, cap = uacce_zip_bound(UACCE_ZIP_ALG_GZIP, 65536);
	int opened = 0, err = 0;
	uint64_t k = 0;

	if (!z || !bufs)
		return -ENOMEM;
	for (; opened < nq; opened++) {
		err = uacce_zip_open(d->name, 1 << 20, &z[opened]);
		if (err)
			break;
		bufs[opened][0] = uacce_zip_alloc(z[opened], 65536);
		bufs[opened][1] = uacce_zip_alloc(z[opened], cap);
		bufs[opened][2] = uacce_zip_alloc(z[opened], 65536);
		if (!bufs[opened][0] || !bufs[opened][1] || !bufs[opened][2]) {
			err = -ENOMEM;
			opened++;
			break;
		}
	}
	if (err) {
		printf("FAIL: soak: %s: queue %d of %d: %s\n", d->name, opened, nq, en(err));
		t->errors++;
	}
	while (!err && now_ms() < end) {
		for (int i = 0; i < opened && !err && now_ms() < end; i++) {
			unsigned char **b = bufs[i];
			size_t clen = 0, olen = 0;

			fill(b[0], n, ((uint64_t)id << 40) ^ k);
			memset(b[2], 0, n);
			err = uacce_zip_run(z[i], UACCE_ZIP_OP_COMPRESS, UACCE_ZIP_ALG_GZIP, 1, b[0],
					    n, b[1], cap, &clen);
			if (!err)
				err = uacce_zip_run(z[i], UACCE_ZIP_OP_DECOMPRESS, UACCE_ZIP_ALG_GZIP,
						    0, b[1], clen, b[2], 65536, &olen);
			if (err)
				break;
			t->requests += 2;
			k++;
			if (olen != n || memcmp(b[0], b[2], n) != 0) {
				if (t->errors++ < 3)
					printf("FAIL: soak: %s: round trip %" PRIu64 ": %zu bytes back "
					       "of %zu, or different\n", d->name, k, olen, n);
			}
		}
	}
	if (err) {
		printf("FAIL: soak: %s: after %" PRIu64 " round trips: %s\n", d->name, k, en(err));
		t->errors++;
	}
	for (int i = 0; i < opened; i++)
		uacce_zip_close(z[i]);
	free(z);
	free(bufs);
	return 0;
}

static int sec_soak(void)
{
	int procs = opt_procs > 0 ? opt_procs : 64, secs = opt_seconds > 0 ? opt_seconds : 60;
	int nq = opt_queues > 0 && opt_queues <= 64 ? opt_queues : 3, failed = 0, nsva = 0, idle = 0;
	struct tally *t = mmap(NULL, sizeof(*t) * (size_t)procs, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct worker *w = calloc((size_t)procs, sizeof(*w));
	pid_t *pids = calloc((size_t)procs, sizeof(pid_t));
	uint64_t reqs = 0, errs = 0, per_dev[MAX_DEVS] = { 0 };
	const struct dev *sva[MAX_DEVS];
	double t0, end, took;
	int p = 0;

	if (t == MAP_FAILED || !w || !pids)
		return 2;
	watchdog(secs + 180);
	/* one process per non-SVA device (they serve one process at a time), the rest on SVA */
	for (int i = 0; i < ndevs && p < procs; i++) {
		if (!is_dummy(&devs[i]) && !devs[i].zip)
			continue;
		if (devs[i].sva)
			sva[nsva++] = &devs[i];
		else
			w[p++] = (struct worker){ &devs[i], nq < devs[i].queues ? nq : devs[i].queues };
	}
	if (!nsva) {
		fprintf(stderr, "hostile: soak: no SVA device\n");
		return 2;
	}
	for (int i = 0; p < procs; p++, i++)
		w[p] = (struct worker){ sva[i % nsva], nq };
	info("%d processes x up to %d queues for %d s over %d devices", procs, nq, secs, ndevs);
	fflush(stdout);
	t0 = now_ms();
	end = t0 + secs * 1000.0;
	for (int i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			rng ^= (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL;
			if (w[i].d->zip)
				soak_zip(w[i].d, w[i].nq, end, &t[i], (unsigned)i);
			else
				soak_dummy(w[i].d, w[i].nq, end, &t[i], (unsigned)i);
			t[i].done = 1;
			fflush(stdout);
			_exit(t[i].errors ? 1 : 0);
		}
	}
	for (int i = 0; i < procs; i++) {
		int st;

		if (pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] &&
		    !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			failed++;
		reqs += t[i].requests;
		errs += t[i].errors;
		if (!t[i].requests)
			idle++;
		per_dev[w[i].d - devs] += t[i].requests;
	}
	took = (now_ms() - t0) / 1e3;
	for (int i = 0; i < ndevs; i++)
		if (per_dev[i])
			info("%s: %" PRIu64 " requests (%.0f/s)", devs[i].name, per_dev[i],
			     per_dev[i] / took);
	if (opt_json)
		printf("{\"processes\":%d,\"queues_per_process\":%d,\"seconds\":%.1f,"
		       "\"requests\":%" PRIu64 ",\"per_second\":%.0f,\"errors\":%" PRIu64
		       ",\"failed_processes\":%d,\"idle_processes\":%d}\n", procs, nq, took, reqs,
		       reqs / took, errs, failed, idle);
	if (errs || failed || idle)
		bad("%d processes: %" PRIu64 " requests verified in %.1f s (%.0f/s), %" PRIu64
		    " errors, %d processes failed, %d did no request", procs, reqs, took,
		    reqs / took, errs, failed, idle);
	else
		ok("%d processes x %d queues: %" PRIu64 " requests in %.1f s (%.0f/s), every result "
		   "verified, none lost", procs, nq, reqs, took, reqs / took);
	free(w);
	free(pids);
	return 0;
}

/*
 * share-loop: SHARE_SVAS lookups kept in flight (each one makes the daemon
 * take the source fd from this process and identify it) on every non-SVA
 * v4 device, from 4 threads, until killed: what a SIGTERM of the daemon
 * must meet without touching freed state (issue 11 item 7).
 */
struct share_arg {
	int target, source;
	unsigned long calls;
};

static void *share_thread(void *p)
{
	struct share_arg *a = p;

	for (;;) {
		xioctl(a->target, UACCE_CMD_SHARE_SVAS, (unsigned long)(long)a->source);
		a->calls++;
	}
	return NULL;
}

static int sec_share_loop(void)
{
	static struct share_arg args[4];
	pthread_t t;
	int n = 0;

	for (int i = 0; i < ndevs && n < 4; i++) {
		struct uacce_q *qt, *qs;

		if (devs[i].sva || devs[i].zip || strncmp(devs[i].name, "uacce-", 6) != 0)
			continue;
		if (uacce_queue_open(devs[i].name, &qt) || uacce_queue_open(devs[i].name, &qs))
			continue;
		uacce_queue_start(qt);
		uacce_queue_start(qs);
		for (int k = 0; k < 2 && n < 4; k++, n++) {
			args[n].target = uacce_queue_fd(qt);
			args[n].source = uacce_queue_fd(qs);
			pthread_create(&t, NULL, share_thread, &args[n]);
		}
	}
	if (!n) {
		bad("no non-SVA v4 device to loop SHARE_SVAS on");
		return 1;
	}
	info("%d threads looping SHARE_SVAS until killed", n);
	for (;;)
		pause();
}

/* --- main ---------------------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
} sections[] = {
	{ "ioctl", sec_ioctl },	    { "broker", sec_broker }, { "control", sec_control },
	{ "ring", sec_ring },	    { "storm", sec_storm },   { "exhaust", sec_exhaust },
	{ "soak", sec_soak },	    { "stranger", sec_stranger },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: hostile [-t SECONDS] [-n COUNT] [-p PROCS] [-q QUEUES] [--json]\n"
		   "               [--foreign PATH] [--admin] [--stride K] SECTION\n"
		   "       hostile hold BROKER_CONNS CONTROL_CONNS SECONDS\n"
		   "       hostile stalled PATH\n"
		   "       hostile share-loop   (SHARE_SVAS lookups in flight until killed)\n"
		   "Sections: ioctl broker control ring storm exhaust soak stranger (hostile list)\n"
		   "--admin: the caller is in control.admin_group (control: served, not refused)\n"
		   "--stride K: the ioctl sweep takes every number below 32, past that every K-th\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "procs", required_argument, NULL, 'p' },
		{ "queues", required_argument, NULL, 'q' },
		{ "foreign", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "admin", no_argument, NULL, 'a' },
		{ "stride", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *ts = getenv("UACCE_TIME_SCALE");
	int c, rc = -1;

	if (ts && atoi(ts) > 0)
		tscale = atoi(ts);
	while ((c = getopt_long(argc, argv, "t:n:p:q:F:jas:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			opt_seconds = atoi(optarg);
			break;
		case 'n':
			opt_count = atoi(optarg);
			break;
		case 'p':
			opt_procs = atoi(optarg);
			break;
		case 'q':
			opt_queues = atoi(optarg);
			break;
		case 'F':
			opt_foreign = optarg;
			break;
		case 'j':
			opt_json = true;
			break;
		case 'a':
			opt_admin = true;
			break;
		case 's':
			opt_stride = atoi(optarg) > 0 ? atoi(optarg) : 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	section = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	rng ^= (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	if (strcmp(section, "list") == 0) {
		for (unsigned i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
			if (strcmp(sections[i].name, "soak") != 0 &&
			    strcmp(sections[i].name, "stranger") != 0)
				printf("%s\n", sections[i].name);
		return 0;
	}
	if (strcmp(section, "hold") == 0) {
		if (argc - optind != 4) {
			usage(stderr);
			return 2;
		}
		signal(SIGPIPE, SIG_IGN);
		rc = sec_hold(atoi(argv[optind + 1]), atoi(argv[optind + 2]), atoi(argv[optind + 3]));
		return rc;
	}
	if (find_devices() < 0)
		return 2;
	if (strcmp(section, "share-loop") == 0)
		return sec_share_loop();
	if (strcmp(section, "stalled") == 0) {
		if (argc - optind != 2) {
			usage(stderr);
			return 2;
		}
		rc = sec_stalled(argv[optind + 1]);
		alarm(0);
		printf("hostile %s: %d ok, %d failed\n", section, n_ok, n_fail);
		return rc ? rc : n_fail ? 1 : 0;
	}
	for (unsigned i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(sections[i].name, section) == 0)
			rc = sections[i].fn();
	if (rc < 0) {
		usage(stderr);
		return 2;
	}
	alarm(0);
	printf("hostile %s: %d ok, %d failed\n", section, n_ok, n_fail);
	if (rc)
		return rc;
	return n_fail ? 1 : 0;
}
