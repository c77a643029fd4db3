/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-log.c - unit tests of the log (common/log.c): native journal records
 * (fields, the binary form of values with newlines, CODE_* locations, the
 * UACCE_* fields of a device or queue, from the core too), the fallback to
 * stderr, errno, the level, the rate limit, and how "auto" finds the journal.
 *
 * The journal socket is a datagram socket of the test, bound in a temporary
 * directory (log_set_journal_socket); stderr is redirected to a temporary
 * file where a test reads console lines.  Check runs each test in its own
 * process, so the log's global state starts fresh every time.
 */
#define _GNU_SOURCE
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit-main.h"
#include "backend.h"
#include "core.h"
#include "log.h"

/* ------------------------------------------------------------------------- */
/* a fake journald                                                            */
/* ------------------------------------------------------------------------- */

static char tmpdir[64];
static char sockpath[128];
static int jfd = -1;

/*
 * The reader thread plays journald: it drains the socket into a list (the
 * socket itself holds only net.unix.max_dgram_qlen datagrams, 10 here).
 */
#define QMAX 8192
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *msg[QMAX];
	size_t len[QMAX];
	int head, tail;
	pthread_t thread;
	bool running;
	int stop[2];
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *reader(void *arg)
{
	static char buf[8192];
	struct pollfd p[2] = { { .fd = jfd, .events = POLLIN }, { .fd = R.stop[0], .events = POLLIN } };

	(void)arg;
	for (;;) {
		ssize_t n;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			return NULL;
		n = recv(jfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			continue;
		pthread_mutex_lock(&R.lock);
		if (R.tail - R.head < QMAX) {
			R.msg[R.tail % QMAX] = malloc((size_t)n);
			memcpy(R.msg[R.tail % QMAX], buf, (size_t)n);
			R.len[R.tail % QMAX] = (size_t)n;
			R.tail++;
			pthread_cond_signal(&R.cond);
		}
		pthread_mutex_unlock(&R.lock);
	}
}

/* a fake journald: with_reader false = one that never reads */
static void journal_up_as(bool with_reader)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/uacce-test-log.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sockpath, sizeof(sockpath), "%s/socket", tmpdir);
	jfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(jfd, 0);
	ck_assert_uint_lt(strlen(sockpath), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
	ck_assert_int_eq(bind(jfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	log_set_journal_socket(sockpath);
	ck_assert_int_eq(log_set_target(LOG_TARGET_JOURNAL), LOG_TARGET_JOURNAL);
	if (with_reader) {
		ck_assert_int_eq(pipe2(R.stop, O_CLOEXEC), 0);
		ck_assert_int_eq(pthread_create(&R.thread, NULL, reader, NULL), 0);
		R.running = true;
	}
}

static void journal_up(void)
{
	journal_up_as(true);
}

static void journal_down(void)
{
	if (R.running) {
		ck_assert_int_eq(write(R.stop[1], "x", 1), 1);
		pthread_join(R.thread, NULL);
		close(R.stop[0]);
		close(R.stop[1]);
		R.running = false;
	}
	if (jfd >= 0)
		close(jfd);
	jfd = -1;
	unlink(sockpath);
	rmdir(tmpdir);
}

#define MAXF 32

/* one record, parsed */
struct jrec {
	int n;
	char key[MAXF][64];
	char val[MAXF][2048];
	size_t vlen[MAXF];
	bool binary[MAXF];
};

/*
 * Parse a datagram of the native protocol: "KEY=value\n", or "KEY\n",
 * a 64-bit little-endian length, the bytes, "\n".  Fails the test on any
 * malformation.
 */
static void parse(const char *b, size_t len, struct jrec *r)
{
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	while (i < len) {
		size_t k = i;

		ck_assert_int_lt(r->n, MAXF);
		while (k < len && b[k] != '=' && b[k] != '\n')
			k++;
		ck_assert_msg(k < len, "a field without '=' or newline at byte %zu", i);
		ck_assert_msg(k > i && k - i < sizeof(r->key[0]), "bad key length at byte %zu", i);
		memcpy(r->key[r->n], b + i, k - i);
		for (size_t j = i; j < k; j++)	/* journald: A-Z, 0-9, '_' */
			ck_assert_msg((b[j] >= 'A' && b[j] <= 'Z') || (b[j] >= '0' && b[j] <= '9') ||
				      b[j] == '_', "bad key character in %s", r->key[r->n]);
		if (b[k] == '=') {
			const char *nl = memchr(b + k + 1, '\n', len - k - 1);

			ck_assert_msg(nl, "text field %s without its newline", r->key[r->n]);
			r->vlen[r->n] = (size_t)(nl - (b + k + 1));
			ck_assert_uint_lt(r->vlen[r->n], sizeof(r->val[0]));
			memcpy(r->val[r->n], b + k + 1, r->vlen[r->n]);
			i = (size_t)(nl - b) + 1;
		} else {
			uint64_t le;

			ck_assert_uint_ge(len - k - 1, sizeof(le));
			memcpy(&le, b + k + 1, sizeof(le));
			r->vlen[r->n] = le64toh(le);
			ck_assert_uint_lt(r->vlen[r->n], sizeof(r->val[0]));
			ck_assert_uint_ge(len - k - 1 - sizeof(le), r->vlen[r->n] + 1);
			memcpy(r->val[r->n], b + k + 1 + sizeof(le), r->vlen[r->n]);
			ck_assert_msg(b[k + 1 + sizeof(le) + r->vlen[r->n]] == '\n',
				      "binary field %s not followed by a newline", r->key[r->n]);
			r->binary[r->n] = true;
			i = k + 1 + sizeof(le) + r->vlen[r->n] + 1;
		}
		r->n++;
	}
}

/* the next record (waiting up to 200 ms for it); false if none came */
static bool next_record(struct jrec *r)
{
	static char buf[8192];
	struct timespec until;
	ssize_t n;

	if (!R.running) {
		n = recv(jfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			return false;
		}
		parse(buf, (size_t)n, r);
		return true;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 200 * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&R.lock);
	while (R.head == R.tail && pthread_cond_timedwait(&R.cond, &R.lock, &until) == 0)
		;
	if (R.head == R.tail) {
		pthread_mutex_unlock(&R.lock);
		return false;
	}
	n = (ssize_t)R.len[R.head % QMAX];
	memcpy(buf, R.msg[R.head % QMAX], (size_t)n);
	free(R.msg[R.head % QMAX]);
	R.head++;
	pthread_mutex_unlock(&R.lock);
	parse(buf, (size_t)n, r);
	return true;
}

static void must_record(struct jrec *r)
{
	ck_assert_msg(next_record(r), "no record arrived");
}

static int count_key(const struct jrec *r, const char *key)
{
	int c = 0;

	for (int i = 0; i < r->n; i++)
		c += strcmp(r->key[i], key) == 0;
	return c;
}

/* the value of a field that must appear exactly once */
static const char *get(const struct jrec *r, const char *key)
{
	ck_assert_msg(count_key(r, key) == 1, "field %s: %d times", key, count_key(r, key));
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->key[i], key) == 0)
			return r->val[i];
	return NULL;
}

static bool has_uacce_field(const struct jrec *r)
{
	for (int i = 0; i < r->n; i++)
		if (strncmp(r->key[i], "UACCE_", 6) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------------- */
/* stderr into a file                                                         */
/* ------------------------------------------------------------------------- */

static char errpath[128];

static void stderr_to_file(void)
{
	int fd;

	snprintf(errpath, sizeof(errpath), "/tmp/uacce-test-log-err.XXXXXX");
	fd = mkstemp(errpath);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* what was written to stderr (malloc'd) */
static char *stderr_text(void)
{
	static char buf[1 << 20];
	int fd;
	ssize_t n;

	fflush(stderr);
	fd = open(errpath, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
	unlink(errpath);
	return buf;
}

/* JOURNAL_STREAM names stderr (the file it was redirected to), as systemd does */
static void stderr_is_journal(void)
{
	struct stat st;
	char v[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
}

/* a readable line: "YYYY-MM-DD HH:MM:SS.mmm uacced LEVEL: " */
static bool readable_line(const char *t, const char *level)
{
	char tail[64];
	size_t n = 24;	/* "2026-12-02 23:30:01.123 " */

	snprintf(tail, sizeof(tail), "uacced %s: ", level);
	if (strlen(t) < n + strlen(tail) || t[4] != '-' || t[7] != '-' || t[10] != ' ' ||
	    t[13] != ':' || t[16] != ':' || t[19] != '.' || t[23] != ' ')
		return false;
	return strncmp(t + n, tail, strlen(tail)) == 0;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static const struct ulog_ctx qctx = {
	.device = "uacce-dummy-1", .queue = 7, .owner = true, .uid = 1000, .pid = 1234,
	.comm = "bash",
};

/* ------------------------------------------------------------------------- */
/* records                                                                    */
/* ------------------------------------------------------------------------- */

START_TEST(test_queue_record_fields)
{
	struct jrec r;
	int line;
	char want[16];

	journal_up();
	line = __LINE__ + 1;
	ulog_ctx(LOG_NOTICE, &qctx, "hello %d", 42);
	must_record(&r);
	ck_assert_str_eq(get(&r, "MESSAGE"), "hello 42");
	ck_assert_str_eq(get(&r, "PRIORITY"), "5");
	ck_assert_str_eq(get(&r, "SYSLOG_IDENTIFIER"), "uacced");
	ck_assert_str_eq(get(&r, "SYSLOG_FACILITY"), "3");
	/* relative to the source tree, however the build was configured */
	ck_assert_str_eq(get(&r, "CODE_FILE"), "test/unit/test-log.c");
	snprintf(want, sizeof(want), "%d", line);
	ck_assert_str_eq(get(&r, "CODE_LINE"), want);
	ck_assert_str_eq(get(&r, "CODE_FUNC"), __func__);
	ck_assert_str_eq(get(&r, "UACCE_DEVICE"), "uacce-dummy-1");
	ck_assert_str_eq(get(&r, "UACCE_QUEUE"), "7");
	ck_assert_str_eq(get(&r, "UACCE_UID"), "1000");
	ck_assert_str_eq(get(&r, "UACCE_PID"), "1234");
	ck_assert_str_eq(get(&r, "UACCE_COMM"), "bash");
	ck_assert_int_eq(r.n, 12);
	for (int i = 0; i < r.n; i++)
		ck_assert_msg(!r.binary[i], "%s: text form expected", r.key[i]);
	ck_assert(!next_record(&r));	/* one datagram per record */
	journal_down();
}
END_TEST

START_TEST(test_plain_and_device_records)
{
	struct jrec r;
	const struct ulog_ctx dev = { .device = "uacce-zip-2" };

	journal_up();
	ulog(LOG_INFO, "ready: %d device(s)", 3);
	must_record(&r);
	ck_assert_str_eq(get(&r, "MESSAGE"), "ready: 3 device(s)");
	ck_assert_str_eq(get(&r, "PRIORITY"), "6");
	ck_assert(!has_uacce_field(&r));
	log_err("boom");
	must_record(&r);
	ck_assert_str_eq(get(&r, "PRIORITY"), "3");
	/* a device event: the device only */
	ulog_ctx(LOG_WARNING, &dev, "%s: removed", dev.device);
	must_record(&r);
	ck_assert_str_eq(get(&r, "PRIORITY"), "4");
	ck_assert_str_eq(get(&r, "UACCE_DEVICE"), "uacce-zip-2");
	ck_assert_int_eq(count_key(&r, "UACCE_QUEUE") + count_key(&r, "UACCE_UID") +
			 count_key(&r, "UACCE_PID") + count_key(&r, "UACCE_COMM"), 0);
	/* an owner without a command: no UACCE_COMM */
	struct ulog_ctx o = qctx;
	o.comm = "";
	ulog_ctx(LOG_INFO, &o, "x");
	must_record(&r);
	ck_assert_str_eq(get(&r, "UACCE_PID"), "1234");
	ck_assert_int_eq(count_key(&r, "UACCE_COMM"), 0);
	journal_down();
}
END_TEST

/* values with newlines: the binary form; a command cannot forge fields */
START_TEST(test_newlines_binary_form)
{
	struct jrec r;
	struct ulog_ctx c = qctx;

	journal_up();
	c.comm = "evil\nPRIORITY=0";
	ulog_ctx(LOG_INFO, &c, "line one\nline two\n");
	must_record(&r);
	ck_assert_str_eq(get(&r, "MESSAGE"), "line one\nline two\n");
	ck_assert_str_eq(get(&r, "UACCE_COMM"), "evil\nPRIORITY=0");
	ck_assert_str_eq(get(&r, "PRIORITY"), "6");	/* once, and ours */
	for (int i = 0; i < r.n; i++) {
		bool want = !strcmp(r.key[i], "MESSAGE") || !strcmp(r.key[i], "UACCE_COMM");

		ck_assert_msg(r.binary[i] == want, "%s: binary %d", r.key[i], r.binary[i]);
	}
	ck_assert_uint_eq(r.vlen[0], strlen("line one\nline two\n"));
	journal_down();
}
END_TEST

/* a record that names a queue by its label (the backends) gets its fields */
START_TEST(test_label_ctx)
{
	static const char label[] = "uacce-dummy-1 q7 uid 1000 pid 1234 (bash)";
	struct jrec r;

	journal_up();
	ulog_label_ctx(label, &qctx);
	ulog_rl(LOG_NOTICE, "%s: invalid sq_tail %u, ring ignored", label, 9u);
	must_record(&r);
	ck_assert_str_eq(get(&r, "UACCE_QUEUE"), "7");
	ck_assert_str_eq(get(&r, "UACCE_COMM"), "bash");
	/* for that record only */
	ulog(LOG_NOTICE, "%s: again", label);
	must_record(&r);
	ck_assert(!has_uacce_field(&r));
	/* not for a record about something else, nor after a dropped one */
	ulog_label_ctx(label, &qctx);
	ulog(LOG_NOTICE, "uacce-dummy-0 q8 uid 0 pid 1 (init): other");
	must_record(&r);
	ck_assert(!has_uacce_field(&r));
	ulog_label_ctx(label, &qctx);
	log_debug("%s: filtered", label);
	ulog(LOG_NOTICE, "%s: later", label);
	must_record(&r);
	ck_assert(!has_uacce_field(&r));
	/* an explicit context wins */
	ulog_label_ctx(label, &qctx);
	ulog_ctx(LOG_NOTICE, &(struct ulog_ctx){ .device = "uacce-zip-2" }, "%s: x", label);
	must_record(&r);
	ck_assert_str_eq(get(&r, "UACCE_DEVICE"), "uacce-zip-2");
	ck_assert_int_eq(count_key(&r, "UACCE_QUEUE"), 0);
	journal_down();
}
END_TEST

START_TEST(test_long_message_cut)
{
	static char big[5000];
	struct jrec r;

	journal_up();
	memset(big, 'x', sizeof(big) - 1);
	ulog_ctx(LOG_INFO, &qctx, "%s", big);
	must_record(&r);
	ck_assert_uint_eq(strlen(get(&r, "MESSAGE")), 1023);
	ck_assert_str_eq(get(&r, "UACCE_COMM"), "bash");	/* the fields still fit */
	journal_down();
}
END_TEST

/* ------------------------------------------------------------------------- */
/* errno, fallback, blocking                                                  */
/* ------------------------------------------------------------------------- */

START_TEST(test_errno_kept)
{
	struct jrec r;

	journal_up();
	errno = EXDEV;
	ulog_ctx(LOG_ERR, &qctx, "rename: %m");
	ck_assert_int_eq(errno, EXDEV);
	must_record(&r);
	ck_assert_str_eq(get(&r, "MESSAGE"), "rename: Invalid cross-device link");
	/* dropped by the level: errno too */
	errno = EXDEV;
	log_debug("nothing");
	ck_assert_int_eq(errno, EXDEV);
	/* a failed send, then stderr */
	stderr_to_file();
	log_set_journal_socket("/nonexistent/socket");
	errno = ENOTTY;
	ulog_ctx(LOG_ERR, &qctx, "ioctl: %m");
	ck_assert_int_eq(errno, ENOTTY);
	ck_assert_ptr_nonnull(strstr(stderr_text(), "ioctl: Inappropriate ioctl for device"));
	/* the console */
	stderr_to_file();
	log_set_target(LOG_TARGET_CONSOLE);
	errno = EPIPE;
	ulog_rl(LOG_ERR, "write: %m");
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_ptr_nonnull(strstr(stderr_text(), "write: Broken pipe"));
	journal_down();
}
END_TEST

START_TEST(test_fallback_to_stderr)
{
	struct jrec r;
	const char *t;

	journal_up();
	unsetenv("JOURNAL_STREAM");
	stderr_to_file();
	unlink(sockpath);	/* journald went away */
	ulog_ctx(LOG_ERR, &qctx, "fallback %d", 1);
	t = stderr_text();
	/* stderr is a file: a readable line, no "<N>" */
	ck_assert_msg(readable_line(t, "error"), "got: %s", t);
	ck_assert_ptr_nonnull(strstr(t, " error: fallback 1\n"));
	ck_assert(!next_record(&r));
	/* stderr is the journal's stream: its priority prefix */
	stderr_to_file();
	stderr_is_journal();
	ulog_ctx(LOG_ERR, &qctx, "fallback %d", 2);
	t = stderr_text();
	ck_assert_str_eq(t, "<3>uacced: error: fallback 2\n");
	ck_assert(!next_record(&r));
	unsetenv("JOURNAL_STREAM");
	journal_down();
}
END_TEST

/* a journald that does not read: never block, every record lands somewhere */
START_TEST(test_full_socket_never_blocks)
{
	enum { N = 3000 };
	struct jrec r;
	int got = 0, lines;

	struct timespec t0, t1;
	double secs;

	journal_up_as(false);
	stderr_to_file();
	alarm(20);	/* a blocked send would end the test here */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		ulog_ctx(LOG_INFO, &qctx, "record %d", i);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	while (next_record(&r))
		got++;
	lines = count_lines(stderr_text());
	ck_assert_msg(got > 0 && lines > 0, "journal %d, stderr %d", got, lines);
	ck_assert_int_eq(got + lines, N);
	/* one wait of 50 ms for the first record that found the queue full */
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(secs >= 0.045 && secs < 2, "%d records in %.3f s", N, secs);
	/* a record that passes ends the congestion: the next one may wait again */
	while (next_record(&r))
		;
	ulog(LOG_INFO, "passes");
	must_record(&r);
	journal_down();
}
END_TEST

/* ------------------------------------------------------------------------- */
/* level, rate limit, console, targets                                         */
/* ------------------------------------------------------------------------- */

START_TEST(test_level)
{
	struct jrec r;

	journal_up();
	log_set_level(LOG_INFO);
	ulog_ctx(LOG_DEBUG, &qctx, "opened");
	ck_assert(!next_record(&r));
	log_set_level(LOG_DEBUG);
	ulog_ctx(LOG_DEBUG, &qctx, "opened");
	must_record(&r);
	ck_assert_str_eq(get(&r, "PRIORITY"), "7");
	journal_down();
}
END_TEST

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * On a loaded machine the fake journald may lag: a record that waited
 * 50 ms in vain went to stderr, and counts as passed all the same.
 */
START_TEST(test_rate_limit)
{
	enum { N = 80 };
	struct jrec r;
	int got = 0, passed, refill;
	double t0, secs;
	char want[96];

	journal_up();
	stderr_to_file();
	t0 = mono();
	for (int i = 0; i < N; i++)
		ulog_ctx_rl(LOG_NOTICE, &qctx, "refused %d", i);
	secs = mono() - t0;
	while (next_record(&r)) {
		ck_assert_str_eq(get(&r, "UACCE_QUEUE"), "7");
		got++;
	}
	passed = got + count_lines(stderr_text());
	/* the burst, and what refilled meanwhile (10 a second) */
	refill = (int)(secs * LOG_RL_PER_SEC) + 1;
	ck_assert_msg(passed >= LOG_RL_BURST && passed <= LOG_RL_BURST + refill,
		      "%d passed in %.3f s", passed, secs);
	usleep(250000);
	ulog_ctx_rl(LOG_NOTICE, &qctx, "refused again");
	must_record(&r);
	snprintf(want, sizeof(want), "%d client event messages suppressed (rate limit)", N - passed);
	ck_assert_str_eq(get(&r, "MESSAGE"), want);
	ck_assert_str_eq(get(&r, "PRIORITY"), "4");
	ck_assert(!has_uacce_field(&r));
	must_record(&r);
	ck_assert_str_eq(get(&r, "MESSAGE"), "refused again");
	ck_assert_str_eq(get(&r, "UACCE_PID"), "1234");
	/* records that are not rate-limited are never held back */
	stderr_to_file();
	for (int i = 0; i < N; i++)
		ulog_ctx(LOG_NOTICE, &qctx, "admin %d", i);
	got = 0;
	while (next_record(&r))
		got++;
	ck_assert_int_eq(got + count_lines(stderr_text()), N);
	journal_down();
}
END_TEST

/* on a terminal: today's readable lines, whatever the context */
START_TEST(test_console_lines)
{
	const char *t;

	unsetenv("JOURNAL_STREAM");
	stderr_to_file();
	ck_assert_int_eq(log_set_target(LOG_TARGET_CONSOLE), LOG_TARGET_CONSOLE);
	ulog_ctx(LOG_INFO, &qctx, "uacce-dummy-1 q7 uid 1000 pid 1234 (bash): opened");
	log_warn("careful");
	t = stderr_text();
	/* a file (or a terminal): time, name, level; no "<N>" prefix */
	ck_assert_msg(readable_line(t, "info"), "got: %s", t);
	ck_assert_ptr_null(strchr(t, '<'));
	ck_assert_ptr_nonnull(strstr(t, " uacced info: uacce-dummy-1 q7 uid 1000 pid 1234 (bash): "
				     "opened\n"));
	ck_assert_msg(readable_line(strchr(t, '\n') + 1, "warning"), "got: %s", t);
	ck_assert_ptr_nonnull(strstr(t, " uacced warning: careful\n"));
	ck_assert_ptr_null(strstr(t, "UACCE_"));
	ck_assert_int_eq(count_lines(t), 2);
	/* stderr is the journal's stream (JOURNAL_STREAM): the "<N>" prefixes */
	stderr_to_file();
	stderr_is_journal();
	ck_assert_int_eq(log_set_target(LOG_TARGET_CONSOLE), LOG_TARGET_CONSOLE);
	ulog_ctx(LOG_INFO, &qctx, "uacce-dummy-1 q7 uid 1000 pid 1234 (bash): opened");
	log_warn("careful");
	t = stderr_text();
	ck_assert_str_eq(t, "<6>uacced: info: uacce-dummy-1 q7 uid 1000 pid 1234 (bash): opened\n"
			    "<4>uacced: warning: careful\n");
	/* another stream's dev:ino: readable again */
	setenv("JOURNAL_STREAM", "1:1", 1);
	stderr_to_file();
	log_warn("careful");
	t = stderr_text();
	ck_assert_msg(readable_line(t, "warning"), "got: %s", t);
	unsetenv("JOURNAL_STREAM");
}
END_TEST

START_TEST(test_auto_target)
{
	struct stat st;
	char v[64];

	stderr_to_file();
	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(log_set_target(LOG_TARGET_AUTO), LOG_TARGET_CONSOLE);
	snprintf(v, sizeof(v), "%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	ck_assert(log_stderr_is_journal());
	ck_assert_int_eq(log_set_target(LOG_TARGET_AUTO), LOG_TARGET_JOURNAL);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_JOURNAL);
	/* another stream (stderr was redirected after systemd started us) */
	snprintf(v, sizeof(v), "%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev,
		 (uint64_t)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	ck_assert_int_eq(log_set_target(LOG_TARGET_AUTO), LOG_TARGET_CONSOLE);
	snprintf(v, sizeof(v), "%" PRIu64 ":%" PRIu64 "x", (uint64_t)st.st_dev,
		 (uint64_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	ck_assert_int_eq(log_set_target(LOG_TARGET_AUTO), LOG_TARGET_CONSOLE);
	setenv("JOURNAL_STREAM", "garbage", 1);
	ck_assert_int_eq(log_set_target(LOG_TARGET_AUTO), LOG_TARGET_CONSOLE);
	/* explicit targets win */
	ck_assert_int_eq(log_set_target(LOG_TARGET_JOURNAL), LOG_TARGET_JOURNAL);
	stderr_text();
}
END_TEST

START_TEST(test_target_names)
{
	enum log_target t = LOG_TARGET_CONSOLE;

	ck_assert_int_eq(log_target_parse("auto", &t), 0);
	ck_assert_int_eq(t, LOG_TARGET_AUTO);
	ck_assert_int_eq(log_target_parse("journal", &t), 0);
	ck_assert_int_eq(t, LOG_TARGET_JOURNAL);
	ck_assert_int_eq(log_target_parse("console", &t), 0);
	ck_assert_int_eq(t, LOG_TARGET_CONSOLE);
	ck_assert_int_eq(log_target_parse("syslog", &t), -EINVAL);
	ck_assert_int_eq(log_target_parse("", &t), -EINVAL);
	ck_assert_int_eq(t, LOG_TARGET_CONSOLE);
	ck_assert_str_eq(log_target_name(LOG_TARGET_JOURNAL), "journal");
}
END_TEST

/* ------------------------------------------------------------------------- */
/* the core's records                                                          */
/* ------------------------------------------------------------------------- */

/* a queue event of the real core carries the queue's fields */
START_TEST(test_core_queue_record)
{
	const struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "soft", .api = "dummy_v1", .sva = false, .queues = 2,
	};
	struct uacce_caller me = { .tid = gettid(), .uid = getuid(), .gid = getgid() };
	struct uacce_core *c = NULL;
	struct uacce_dev *d = NULL;
	struct uacce_queue *q = NULL;
	struct jrec r;
	char want[160];

	ck_assert_int_eq(prctl(PR_SET_NAME, "log test"), 0);
	journal_up();
	ck_assert_int_eq(core_new(NULL, &c), 0);
	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 3, &d), 0);
	ck_assert_int_eq(uq_open(d, &me, &q), 0);
	while (next_record(&r))
		;
	uq_owner_died(q);
	must_record(&r);
	snprintf(want, sizeof(want), "uacce-dummy-3 q1 uid %u pid %d (log test): owner exited, "
		 "queue freed", (unsigned)getuid(), (int)getpid());
	ck_assert_str_eq(get(&r, "MESSAGE"), want);
	ck_assert_str_eq(get(&r, "PRIORITY"), "6");
	ck_assert_str_eq(get(&r, "CODE_FILE"), "daemon/core.c");
	ck_assert_str_eq(get(&r, "CODE_FUNC"), "uq_owner_died");
	ck_assert_str_eq(get(&r, "UACCE_DEVICE"), "uacce-dummy-3");
	ck_assert_str_eq(get(&r, "UACCE_QUEUE"), "1");
	snprintf(want, sizeof(want), "%u", (unsigned)getuid());
	ck_assert_str_eq(get(&r, "UACCE_UID"), want);
	snprintf(want, sizeof(want), "%d", (int)getpid());
	ck_assert_str_eq(get(&r, "UACCE_PID"), want);
	ck_assert_str_eq(get(&r, "UACCE_COMM"), "log test");
	uq_release(q);		/* dead already: nothing more to say */
	core_remove_device(d);
	ud_unref(d);
	core_free(c);
	ck_assert(!next_record(&r));
	journal_down();
}
END_TEST

/*
 * A killed owner's files are closed (CUSE waits for the release) before its
 * pidfd says it exited: the release then logs the owner's exit, once.  An
 * owner that closes its file itself: nothing at level info.
 */
START_TEST(test_core_release_by_death)
{
	const struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "soft", .api = "dummy_v2", .sva = true, .queues = 2,
	};
	struct uacce_caller me = { .tid = gettid(), .uid = getuid(), .gid = getgid() };
	struct uacce_core *c = NULL;
	struct uacce_dev *d = NULL;
	struct uacce_queue *q = NULL;
	siginfo_t si;
	struct jrec r;
	char want[32];
	int pfd[2];
	pid_t child;

	journal_up();
	ck_assert_int_eq(core_new(NULL, &c), 0);
	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 1, &d), 0);
	/* closed by its owner */
	ck_assert_int_eq(uq_open(d, &me, &q), 0);
	uq_release(q);
	ck_assert(!next_record(&r));
	/* the owner is a child, killed: a zombie when the release comes */
	ck_assert_int_eq(pipe(pfd), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		char x;

		close(pfd[1]);
		while (read(pfd[0], &x, 1) < 0)
			;
		_exit(0);
	}
	close(pfd[0]);
	me.tid = child;
	ck_assert_int_eq(uq_open(d, &me, &q), 0);
	kill(child, SIGKILL);
	ck_assert_int_eq(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	uq_release(q);
	must_record(&r);
	ck_assert_ptr_nonnull(strstr(get(&r, "MESSAGE"), ": owner exited, queue freed"));
	ck_assert_str_eq(get(&r, "CODE_FUNC"), "uq_release");
	ck_assert_str_eq(get(&r, "UACCE_DEVICE"), "uacce-dummy-1");
	snprintf(want, sizeof(want), "%d", (int)child);
	ck_assert_str_eq(get(&r, "UACCE_PID"), want);
	ck_assert(!next_record(&r));
	waitpid(child, NULL, 0);
	close(pfd[1]);
	core_remove_device(d);
	ud_unref(d);
	core_free(c);
	journal_down();
}
END_TEST

static int pipe_go[2], pipe_end[2];

static void *blocker(void *arg)
{
	char x;

	(void)arg;
	while (read(pipe_end[0], &x, 1) < 0)
		;
	_exit(0);
}

static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return '?';
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * The main thread of the owner ended (pthread_exit) but another thread
 * lives: a close then is a close, not the owner's exit.
 */
START_TEST(test_core_release_leader_gone)
{
	const struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "soft", .api = "dummy_v1", .sva = false, .queues = 2,
	};
	struct uacce_caller who = { .uid = getuid(), .gid = getgid() };
	struct uacce_core *c = NULL;
	struct uacce_dev *d = NULL;
	struct uacce_queue *q = NULL;
	struct jrec r;
	pid_t child;
	int i;

	/* the child makes a thread: fork before this process has others */
	ck_assert_int_eq(pipe(pipe_go), 0);
	ck_assert_int_eq(pipe(pipe_end), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pthread_t t;
		char x;

		if (pthread_create(&t, NULL, blocker, NULL))
			_exit(1);
		while (read(pipe_go[0], &x, 1) < 0)
			;
		pthread_exit(NULL);
	}
	journal_up();
	ck_assert_int_eq(core_new(NULL, &c), 0);
	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), 0);
	who.tid = child;
	ck_assert_int_eq(uq_open(d, &who, &q), 0);
	ck_assert_int_eq(write(pipe_go[1], "g", 1), 1);
	for (i = 0; i < 500 && task_state(child) != 'Z'; i++)
		usleep(10000);
	ck_assert_int_eq(task_state(child), 'Z');	/* the leader; its thread lives */
	uq_release(q);
	ck_assert(!next_record(&r));
	ck_assert_int_eq(write(pipe_end[1], "e", 1), 1);
	waitpid(child, NULL, 0);
	core_remove_device(d);
	ud_unref(d);
	core_free(c);
	journal_down();
}
END_TEST

/* the backends' uacce_hwq_label() gives their records the queue's fields */
START_TEST(test_core_backend_label)
{
	const struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "soft", .api = "dummy_v1", .sva = false, .queues = 2,
	};
	struct uacce_caller me = { .tid = gettid(), .uid = getuid(), .gid = getgid() };
	struct uacce_core *c = NULL;
	struct uacce_dev *d = NULL;
	struct uacce_queue *q = NULL;
	struct jrec r;

	journal_up();
	ck_assert_int_eq(core_new(NULL, &c), 0);
	ck_assert_int_eq(core_add_device(c, uacce_backend_find(cfg.backend), &cfg, 0, &d), 0);
	ck_assert_int_eq(uq_open(d, &me, &q), 0);
	while (next_record(&r))
		;
	ulog_rl(LOG_NOTICE, "%s: invalid sq_tail %u (sq_head %u), ring ignored",
		uacce_hwq_label(q), 300u, 2u);
	must_record(&r);
	ck_assert_str_eq(get(&r, "UACCE_DEVICE"), "uacce-dummy-0");
	ck_assert_str_eq(get(&r, "UACCE_QUEUE"), "1");
	uq_release(q);
	core_remove_device(d);
	ud_unref(d);
	core_free(c);
	journal_down();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("records");

	tcase_add_test(tc, test_queue_record_fields);
	tcase_add_test(tc, test_plain_and_device_records);
	tcase_add_test(tc, test_newlines_binary_form);
	tcase_add_test(tc, test_long_message_cut);
	tcase_add_test(tc, test_label_ctx);
	suite_add_tcase(s, tc);
	tc = tcase_create("delivery");
	tcase_add_test(tc, test_errno_kept);
	tcase_add_test(tc, test_fallback_to_stderr);
	tcase_add_test(tc, test_full_socket_never_blocks);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_test(tc, test_level);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_console_lines);
	tcase_add_test(tc, test_auto_target);
	tcase_add_test(tc, test_target_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("core");
	tcase_add_test(tc, test_core_queue_record);
	tcase_add_test(tc, test_core_release_by_death);
	tcase_add_test(tc, test_core_release_leader_gone);
	tcase_add_test(tc, test_core_backend_label);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
