/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uaccectl_top.c - "uaccectl top": every interval the daemon's devices,
 * queues and per-user usage (three control requests: list, queues, usage)
 * folded into one view: per device its hardware queues used and free, per
 * user its open queues (and on which device) against max_queues, per
 * queue its owner; rates of completed requests from the daemon's counters
 * against the previous refresh.  A terminal gets its screen redrawn,
 * anything else successive snapshots; --json one object per refresh and
 * line.
 */
#define _GNU_SOURCE
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "uaccectl.h"
#include "uaccectl_top.h"

#define MIN_INTERVAL	0.1		/* seconds: three control requests a refresh */
#define MAX_INTERVAL	86400.0

struct top_opts {
	const char *rundir;
	bool json;
	long iterations;		/* 0: until interrupted */
	double interval;		/* seconds */
};

/* one refresh: the daemon's replies (owned) and when they were taken */
struct sample {
	json_object *list, *queues, *usage;
	double t;			/* CLOCK_MONOTONIC, seconds */
};

static void top_usage(FILE *f)
{
	fprintf(f,
		"Usage: uaccectl [--runtime-dir DIR] top [-n N] [-d SECONDS] [-j|--json]\n"
		"A live view of uacced's devices, users and queues, refreshed every interval.\n\n"
		"  -n, --iterations N   refresh N times, then exit (default: until interrupted)\n"
		"  -d, --delay SECONDS  the interval (default 1, at least %.1f)\n"
		"  -j, --json           one JSON object per refresh, one per line\n"
		"      --runtime-dir DIR  the daemon's runtime directory (default:\n"
		"                         $UACCE_RUNTIME_DIR, else /run/uacce)\n"
		"  -h, --help           this help\n\n"
		"On a terminal the screen is redrawn; otherwise each refresh is printed after\n"
		"the previous one.  REQ/S: requests completed per second since the previous\n"
		"refresh (\"-\" on the first).\n",
		MIN_INTERVAL);
}

/* --- the command line ---------------------------------------------------------------- */

/* "--runtime-dir" or an abbreviation getopt_long takes for it */
static bool is_rundir_opt(const char *a)
{
	size_t n = strlen(a);

	return n > 3 && strncmp("--runtime-dir", a, n) == 0;
}

/* see uaccectl_top.h: the first word that is no option nor an option's argument */
bool uaccectl_top_requested(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return i + 1 < argc && strcmp(argv[i + 1], "top") == 0;
		if (is_rundir_opt(a))
			i++;
		else if (a[0] != '-' || !a[1])
			return strcmp(a, "top") == 0;
	}
	return false;
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "uaccectl: top: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'uaccectl top --help'.\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct top_opts *o)
{
	enum { O_RUNDIR = 256 };
	static const struct option opts[] = {
		{ "runtime-dir", required_argument, NULL, O_RUNDIR },
		{ "json", no_argument, NULL, 'j' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jn:d:h", opts, NULL)) != -1) {
		switch (c) {
		case O_RUNDIR:
			o->rundir = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'n':
			errno = 0;
			o->iterations = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || o->iterations < 1)
				return bad_usage("-n wants a positive number, not \"%s\"", optarg);
			break;
		case 'd':
			o->interval = strtod(optarg, &end);
			if (end == optarg || *end || !(o->interval >= MIN_INTERVAL) ||
			    o->interval > MAX_INTERVAL)
				return bad_usage("-d wants seconds from %.1f to %.0f, not \"%s\"",
						 MIN_INTERVAL, MAX_INTERVAL, optarg);
			break;
		case 'h':
			top_usage(stdout);
			return -1;
		default:
			top_usage(stderr);
			return 2;
		}
	}
	/* the one operand is "top" itself */
	if (argc - optind != 1 || strcmp(argv[optind], "top") != 0)
		return bad_usage("takes no argument");
	if (!o->rundir) {
		o->rundir = getenv("UACCE_RUNTIME_DIR");
		if (!o->rundir || !*o->rundir)
			o->rundir = "/run/uacce";
	}
	return 0;
}

/* --- the daemon's replies ---------------------------------------------------------- */

static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *mstr(json_object *o, const char *key)
{
	json_object *v = member(o, key);

	return v ? json_object_get_string(v) : "";
}

static int64_t mnum(json_object *o, const char *key)
{
	json_object *v = member(o, key);

	return v ? json_object_get_int64(v) : 0;
}

static size_t alen(json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sample_free(struct sample *s)
{
	json_object_put(s->list);
	json_object_put(s->queues);
	json_object_put(s->usage);
	memset(s, 0, sizeof(*s));
}

/* the three replies; exit status (the reason printed) */
static int fetch(const struct top_opts *o, struct sample *s)
{
	static const char *const cmds[] = { "list", "queues", "usage" };
	json_object **dst[] = { &s->list, &s->queues, &s->usage };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		json_object *ok;
		int rc = uaccectl_request(o->rundir, cmds[i], dst[i]);

		if (rc)
			return rc;
		ok = member(*dst[i], "ok");
		if (!ok || !json_object_get_boolean(ok)) {
			fprintf(stderr, "uaccectl: top: %s: %s\n", cmds[i],
				mstr(*dst[i], "error"));
			return 1;
		}
	}
	s->t = now_mono();
	return 0;
}

/* --- the view: one JSON object per refresh (also what the tables show) ------------- */

/* the element of array arr whose key reads as the same text as v's */
static json_object *find(json_object *arr, const char *key, json_object *v)
{
	const char *want = v ? json_object_get_string(v) : NULL;

	for (size_t i = 0; want && i < alen(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i), *k = member(e, key);

		if (k && strcmp(json_object_get_string(k), want) == 0)
			return e;
	}
	return NULL;
}

/* v with `decimals` digits after the point, in JSON as in the tables */
static json_object *fixed(double v, int decimals)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(v, buf);
}

/*
 * requests per second of an object present in both refreshes (null: not,
 * or a daemon without counters, or a counter that went back: the device
 * was made anew by a reload)
 */
static json_object *rate(json_object *now, json_object *before, double dt)
{
	json_object *a = member(now, "requests"), *b = member(before, "requests");
	uint64_t x, y;

	if (!a || !b || dt <= 0)
		return NULL;
	x = json_object_get_uint64(a);
	y = json_object_get_uint64(b);
	return x >= y ? fixed((double)(x - y) / dt, 1) : NULL;
}

static void copy_member(json_object *to, json_object *from, const char *key)
{
	json_object_object_add(to, key, json_object_get(member(from, key)));
}

static json_object *view_devices(const struct sample *s, const struct sample *p, double dt)
{
	json_object *devs = member(s->list, "devices"), *out = json_object_new_array();

	for (size_t i = 0; i < alen(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i), *v = json_object_new_object();
		json_object *before = p ? find(member(p->list, "devices"), "name",
					       member(d, "name")) : NULL;

		copy_member(v, d, "name");
		copy_member(v, d, "device");
		copy_member(v, d, "queues");
		json_object_object_add(v, "used", json_object_new_int64(
					       mnum(d, "queues") - mnum(d, "available_instances")));
		copy_member(v, d, "available_instances");
		copy_member(v, d, "open_queues");
		copy_member(v, d, "requests");
		json_object_object_add(v, "requests_per_s", rate(d, before, dt));
		json_object_array_add(out, v);
	}
	return out;
}

static json_object *user_name(int64_t uid)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	return pw ? json_object_new_string(pw->pw_name) : NULL;
}

static json_object *view_queues(const struct sample *s, const struct sample *p, double dt)
{
	json_object *qs = member(s->queues, "queues"), *out = json_object_new_array();

	for (size_t i = 0; i < alen(qs); i++) {
		json_object *q = json_object_array_get_idx(qs, i), *v = json_object_new_object();
		json_object *before = p ? find(member(p->queues, "queues"), "id", member(q, "id"))
					: NULL;

		copy_member(v, q, "id");
		copy_member(v, q, "device");
		copy_member(v, q, "pid");
		copy_member(v, q, "uid");
		json_object_object_add(v, "user", user_name(mnum(q, "uid")));
		copy_member(v, q, "command");
		copy_member(v, q, "state");
		copy_member(v, q, "requests");
		json_object_object_add(v, "requests_per_s", rate(q, before, dt));
		json_object_array_add(out, v);
	}
	return out;
}

/* one user's row, from the view's queues and the usage reply */
static json_object *view_user(int64_t uid, json_object *queues, json_object *usage)
{
	json_object *v = json_object_new_object(), *per_dev = json_object_new_object();
	json_object *u = NULL, *uid_o = json_object_new_int64(uid);
	double sum = 0;
	bool known = false;
	int n = 0;

	for (size_t i = 0; i < alen(queues); i++) {
		json_object *q = json_object_array_get_idx(queues, i), *r, *c;
		const char *dev = mstr(q, "device");

		if (mnum(q, "uid") != uid)
			continue;
		n++;
		c = member(per_dev, dev);
		json_object_object_add(per_dev, dev,
				       json_object_new_int(c ? json_object_get_int(c) + 1 : 1));
		r = member(q, "requests_per_s");
		if (r) {
			sum += json_object_get_double(r);
			known = true;
		}
	}
	u = find(member(usage, "users"), "uid", uid_o);
	json_object_object_add(v, "uid", uid_o);
	json_object_object_add(v, "user", user_name(uid));
	json_object_object_add(v, "queues", json_object_new_int(n));
	copy_member(v, u, "max_queues");	/* null: unlimited */
	json_object_object_add(v, "devices", per_dev);
	json_object_object_add(v, "requests_per_s", known ? fixed(sum, 1) : NULL);
	return v;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* every user with an open queue or a usage row, by uid */
static json_object *view_users(const struct sample *s, json_object *queues)
{
	json_object *us = member(s->usage, "users"), *out = json_object_new_array();
	size_t cap = alen(queues) + alen(us), n = 0;
	int64_t *uids = calloc(cap ? cap : 1, sizeof(*uids));

	if (!uids)
		return out;
	for (size_t i = 0; i < alen(queues); i++)
		uids[n++] = mnum(json_object_array_get_idx(queues, i), "uid");
	for (size_t i = 0; i < alen(us); i++)
		uids[n++] = mnum(json_object_array_get_idx(us, i), "uid");
	qsort(uids, n, sizeof(*uids), cmp_i64);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || uids[i] != uids[i - 1])
			json_object_array_add(out, view_user(uids[i], queues, s->usage));
	free(uids);
	return out;
}

static json_object *view(const struct sample *s, const struct sample *p)
{
	json_object *v = json_object_new_object(), *queues;
	double dt = p ? s->t - p->t : 0;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_object_add(v, "time",
			       fixed((double)ts.tv_sec + (double)ts.tv_nsec / 1e9, 3));
	json_object_object_add(v, "interval", p ? fixed(dt, 3) : NULL);
	json_object_object_add(v, "devices", view_devices(s, p, dt));
	queues = view_queues(s, p, dt);
	json_object_object_add(v, "users", view_users(s, queues));
	json_object_object_add(v, "queues", queues);
	return v;
}

/* --- tables ------------------------------------------------------------------------- */

#define COLS 8

struct rows {
	int ncols, n, cap;
	char (*cell)[COLS][64];
};

static void row(struct rows *t, ...)
{
	va_list ap;

	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		void *c = realloc(t->cell, (size_t)cap * sizeof(*t->cell));

		if (!c)
			return;		/* out of memory: the row is left out */
		t->cell = c;
		t->cap = cap;
	}
	va_start(ap, t);
	for (int c = 0; c < t->ncols; c++)
		snprintf(t->cell[t->n][c], sizeof(t->cell[t->n][c]), "%s", va_arg(ap, const char *));
	va_end(ap);
	t->n++;
}

/* the rows (at most max; more: a line saying how many were left out); lines printed */
static int rows_print(struct rows *t, int max)
{
	int w[COLS] = { 0 }, shown = t->n <= max ? t->n : max - 1;

	for (int r = 0; r < t->n; r++)
		for (int c = 0; c < t->ncols; c++) {
			int l = (int)strlen(t->cell[r][c]);

			w[c] = l > w[c] ? l : w[c];
		}
	for (int r = 0; r < shown; r++)
		for (int c = 0; c < t->ncols; c++) {
			if (c == t->ncols - 1)
				printf("%s\n", t->cell[r][c]);
			else
				printf("%-*s  ", w[c], t->cell[r][c]);
		}
	if (shown < t->n)
		printf("... %d more\n", t->n - shown);
	free(t->cell);
	return shown < t->n ? shown + 1 : shown;
}

/* a member as text: numbers and strings as they are, null as "-" */
static const char *text(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v = member(o, key);

	snprintf(buf, len, "%s", v ? json_object_get_string(v) : "-");
	return buf;
}

static int print_devices(json_object *v, int max)
{
	json_object *ds = member(v, "devices");
	struct rows t = { .ncols = 7 };
	char a[7][64];

	row(&t, "DEVICE", "QUEUES", "USED", "FREE", "OPEN", "REQUESTS", "REQ/S");
	for (size_t i = 0; i < alen(ds); i++) {
		json_object *d = json_object_array_get_idx(ds, i);

		row(&t, text(d, "name", a[0], 64), text(d, "queues", a[1], 64),
		    text(d, "used", a[2], 64), text(d, "available_instances", a[3], 64),
		    text(d, "open_queues", a[4], 64), text(d, "requests", a[5], 64),
		    text(d, "requests_per_s", a[6], 64));
	}
	return rows_print(&t, max);
}

/* "uacce-dummy-0:2,uacce-zip-2:1" */
static const char *per_device(json_object *u, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	json_object_object_foreach(member(u, "devices"), dev, cnt) {
		int w = snprintf(buf + n, len - n, "%s%s:%s", n ? "," : "", dev,
				 json_object_get_string(cnt));

		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	return n ? buf : "-";
}

static int print_users(json_object *v, int max)
{
	json_object *us = member(v, "users");
	struct rows t = { .ncols = 6 };
	char a[6][64], q[64], dv[256];

	row(&t, "UID", "USER", "QUEUES", "MAX", "REQ/S", "ON");
	for (size_t i = 0; i < alen(us); i++) {
		json_object *u = json_object_array_get_idx(us, i);

		snprintf(q, sizeof(q), "%" PRId64, mnum(u, "queues"));
		row(&t, text(u, "uid", a[0], 64), text(u, "user", a[1], 64), q,
		    text(u, "max_queues", a[3], 64), text(u, "requests_per_s", a[4], 64),
		    per_device(u, dv, sizeof(dv)));
	}
	return rows_print(&t, max);
}

static int print_queues(json_object *v, int max)
{
	json_object *qs = member(v, "queues");
	struct rows t = { .ncols = 8 };
	char a[8][64];

	row(&t, "QUEUE", "DEVICE", "PID", "USER", "COMMAND", "STATE", "REQUESTS", "REQ/S");
	for (size_t i = 0; i < alen(qs); i++) {
		json_object *q = json_object_array_get_idx(qs, i);

		if (!member(q, "user"))
			text(q, "uid", a[3], 64);
		else
			text(q, "user", a[3], 64);
		row(&t, text(q, "id", a[0], 64), text(q, "device", a[1], 64),
		    text(q, "pid", a[2], 64), a[3], text(q, "command", a[4], 64),
		    text(q, "state", a[5], 64), text(q, "requests", a[6], 64),
		    text(q, "requests_per_s", a[7], 64));
	}
	return rows_print(&t, max);
}

/* the terminal's height, or 0 when stdout is none */
static int tty_rows(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO))
		return 0;
	return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row ? ws.ws_row : 24;
}

/*
 * On a terminal: home, clear, and the queues cut to what fits; else the
 * whole snapshot after a blank line.
 */
static void render(json_object *v, const struct top_opts *o, long i)
{
	int rows = tty_rows(), left = rows ? rows : 1 << 30;
	char clock[16];
	time_t now = time(NULL);
	struct tm tm;

	if (rows)
		printf("\033[H\033[2J");
	else if (i)
		printf("\n");
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
	printf("uaccectl top - %s  %zu device(s), %zu queue(s), %zu user(s)  every %gs\n\n",
	       clock, alen(member(v, "devices")), alen(member(v, "queues")),
	       alen(member(v, "users")), o->interval);
	left -= 2;
	left -= print_devices(v, left > 2 ? left : 2) + 1;
	printf("\n");
	left -= print_users(v, left > 2 ? left : 2) + 1;
	printf("\n");
	left -= 1;	/* the cursor's line */
	print_queues(v, left > 2 ? left : 2);
	if (rows)
		printf("(REQ/S since the previous refresh; Ctrl-C quits)");
	fflush(stdout);
}

/* --- the loop ----------------------------------------------------------------------- */

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t };

	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int run(const struct top_opts *o)
{
	struct sample prev = { 0 }, cur = { 0 };
	double start = now_mono();
	int rc = 0;

	for (long i = 0; !o->iterations || i < o->iterations; i++) {
		json_object *v;

		if (i)
			sleep_until(start + (double)i * o->interval);
		rc = fetch(o, &cur);
		if (rc)
			break;
		v = view(&cur, i ? &prev : NULL);
		if (o->json) {
			printf("%s\n", json_object_to_json_string_ext(
				       v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			fflush(stdout);
		} else {
			render(v, o, i);
		}
		json_object_put(v);
		sample_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
	}
	if (!o->json && tty_rows())
		printf("\n");
	sample_free(&prev);
	sample_free(&cur);
	return rc;
}

int uaccectl_top_main(int argc, char **argv)
{
	struct top_opts o = { .interval = 1.0 };
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	return run(&o);
}
