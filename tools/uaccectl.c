/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uaccectl - administer uacced: devices, queues, per-user usage against
 * the quotas, configuration reload (over the daemon's control socket, see
 * daemon/control.h) and configuration checks (offline, with the daemon's
 * own configuration code).  Tables for people, --json for programs.
 */
#define _GNU_SOURCE
#include "config.h"	/* autoconf: PACKAGE_VERSION */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "uacced_config.h"
#include "control.h"
#include "uaccectl.h"
#include "uaccectl_top.h"
#include "uaccectl_cdi.h"

#define MAX_REPLY	(16u << 20)
#define REPLY_TIMEOUT_MS 120000		/* a reload may register CUSE devices */

static bool json_out;
static const char *rundir;
static bool restart_force;		/* restart --force */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: uaccectl [OPTION]... COMMAND [ARG]\n"
		"Administer uacced, the userspace uacce accelerator daemon.\n\n"
		"Commands:\n"
		"  list                 devices: attributes, free hardware queues\n"
		"  queues               open queues: owner pid, uid, command, state, regions, bytes\n"
		"  usage                per user: queues and region memory against the limits\n"
		"  reload               reload the daemon's configuration (like SIGHUP)\n"
		"  restart [--force]    live restart: a new uacced (the binary installed\n"
		"                       now) takes every open queue over, clients go on;\n"
		"                       --force: even when the configuration drops\n"
		"                       devices with open queues\n"
		"  top [-n N] [-d SECONDS]  a live view of devices, users and queues\n"
		"  check-config [FILE]  check FILE (default %s) and its\n"
		"                       drop-ins without a running daemon\n"
		"  cdi [--output FILE|-] [--vendor NAME]\n"
		"                       write a CDI spec for containers (cdi --help)\n\n"
		"Options:\n"
		"      --runtime-dir DIR  the daemon's runtime directory (default:\n"
		"                         $UACCE_RUNTIME_DIR, else /run/uacce)\n"
		"  -j, --json             print JSON instead of tables\n"
		"  -h, --help             this help\n"
		"      --version          print the version and exit\n\n"
		"Only root and members of the configured admin group (control.admin_group)\n"
		"may use the daemon's control socket.  Exit status: 0 success, 1 failure,\n"
		"2 usage error.\n",
		CONFIG_DEFAULT_PATH);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "uaccectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* --- the control socket ---------------------------------------------------------- */

static int connect_daemon(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int read_all(int fd, char **out)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1), *nb;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, REPLY_TIMEOUT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r == 0 ? -ETIMEDOUT : -errno;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			if (cap >= MAX_REPLY || !(nb = realloc(buf, cap * 2 + 1))) {
				free(buf);
				return -EMSGSIZE;
			}
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/*
 * connect(2) said EACCES: the socket's group is the admin group (mode
 * 0660), or there is none (0600, root's alone).  Exit status.
 */
static int denied(const char *path)
{
	struct group *g;
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 0020) && st.st_gid != 0) {
		g = getgrgid(st.st_gid);
		if (g)
			return fail("permission denied: only root and members of group \"%s\" may "
				    "use the uacced control socket (%s)", g->gr_name, path);
		return fail("permission denied: only root and members of group %u may use the "
			    "uacced control socket (%s)", (unsigned)st.st_gid, path);
	}
	return fail("permission denied: only root may use the uacced control socket "
		    "(no control.admin_group is configured) (%s)", path);
}

/* see uaccectl.h */
int uaccectl_request(const char *dir, const char *cmd, json_object **reply)
{
	char path[400], req[128], *text = NULL;
	enum json_tokener_error jerr;
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", dir, CONTROL_SOCKET_NAME);
	fd = connect_daemon(path);
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		return fail("no uacced is running with the runtime directory %s (%s: %s)", dir,
			    path, strerror(-fd));
	if (fd == -EACCES)
		return denied(path);
	if (fd < 0)
		return fail("%s: %s", path, strerror(-fd));
	snprintf(req, sizeof(req), "{\"command\":\"%s\"%s}\n", cmd,
		 strcmp(cmd, "restart") == 0 && restart_force ? ",\"force\":true" : "");
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) && errno != EPIPE) {
		err = errno;
		close(fd);
		return fail("%s: %s", path, strerror(err));
	}
	shutdown(fd, SHUT_WR);
	err = read_all(fd, &text);
	close(fd);
	if (err)
		return fail("%s: no reply: %s", path, strerror(-err));
	*reply = json_tokener_parse_verbose(text, &jerr);
	if (!*reply || !json_object_is_type(*reply, json_type_object)) {
		json_object_put(*reply);
		fail("%s: the reply is not valid JSON: \"%.80s\"", path, text);
		free(text);
		return 1;
	}
	free(text);
	return 0;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

static int64_t num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : 0;
}

/* a member that may be null (unlimited) */
static bool has(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v;
}

static bool reply_ok(json_object *r)
{
	json_object *v;

	return json_object_object_get_ex(r, "ok", &v) && json_object_get_boolean(v);
}

/* --- tables ------------------------------------------------------------------------- */

#define MAX_COLS 12

struct table {
	int ncols, nrows;
	char **cells;		/* nrows x ncols */
};

static void table_row(struct table *t, ...)
{
	char **cells = realloc(t->cells, (size_t)(t->nrows + 1) * (size_t)t->ncols * sizeof(char *));
	va_list ap;

	if (!cells)
		exit(fail("out of memory"));
	t->cells = cells;
	va_start(ap, t);
	for (int c = 0; c < t->ncols; c++) {
		const char *s = va_arg(ap, const char *);

		cells[t->nrows * t->ncols + c] = strdup(s ? s : "");
	}
	va_end(ap);
	t->nrows++;
}

static void table_print(struct table *t)
{
	int w[MAX_COLS] = { 0 };

	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			int l = (int)strlen(t->cells[r * t->ncols + c]);

			w[c] = l > w[c] ? l : w[c];
		}
	for (int r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c == t->ncols - 1)
				printf("%s\n", s);
			else
				printf("%-*s  ", w[c], s);
			free(t->cells[r * t->ncols + c]);
		}
	}
	free(t->cells);
}

/* exact, readable: 4096 -> "4K", 65537 -> "65537" */
static const char *size_str(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (v && v % 1024 == 0 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
	return buf;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	snprintf(buf, len, "%s", pw ? pw->pw_name : "?");
	return buf;
}

static const char *join(json_object *arr, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		int w = snprintf(buf + n, len - n, "%s%s", i ? "," : "", e ? json_object_get_string(e) : "");

		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	return buf;
}

/* --- commands ----------------------------------------------------------------------- */

static void print_list(json_object *r)
{
	struct table t = { .ncols = 12 };
	json_object *devs, *algs;

	table_row(&t, "ID", "DEVICE", "ABI", "API", "FLAGS", "SVA", "QUEUES", "FREE", "OPEN",
		  "ALGORITHMS", "NODE", "DEV");
	json_object_object_get_ex(r, "devices", &devs);
	for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i);
		char id[16], fl[16], q[16], fr[16], op[16], al[256];

		snprintf(id, sizeof(id), "%" PRId64, num(d, "id"));
		snprintf(fl, sizeof(fl), "%" PRId64, num(d, "flags"));
		snprintf(q, sizeof(q), "%" PRId64, num(d, "queues"));
		snprintf(fr, sizeof(fr), "%" PRId64, num(d, "available_instances"));
		snprintf(op, sizeof(op), "%" PRId64, num(d, "open_queues"));
		json_object_object_get_ex(d, "algorithms", &algs);
		table_row(&t, id, str(d, "name"), str(d, "abi"), str(d, "api"), fl,
			  strcmp(str(d, "sva"), "true") == 0 ? "yes" : "no", q, fr, op,
			  join(algs, al, sizeof(al)), str(d, "node"), str(d, "dev"));
	}
	table_print(&t);
	json_object_object_get_ex(r, "waiting", &devs);
	for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i);

		if (i == 0)
			printf("\nwaiting for their hardware:\n");
		printf("  %s (backend %s): %s\n", str(d, "name"), str(d, "backend"),
		       str(d, "reason"));
	}
	json_object_object_get_ex(r, "kernel", &devs);
	for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i), *users;
		char us[256] = "";

		if (i == 0)
			printf("\nkernel devices (gated, not published):\n");
		json_object_object_get_ex(d, "users", &users);
		for (size_t j = 0; users && j < json_object_array_length(users); j++) {
			json_object *u = json_object_array_get_idx(users, j);
			size_t l = strlen(us);

			snprintf(us + l, sizeof(us) - l, "%suid %" PRId64 ": %" PRId64, j ? ", " : "",
				 num(u, "uid"), num(u, "queues"));
		}
		if (strcmp(str(d, "gate"), "enforced") == 0)
			printf("  %s %s (%s, entry %s): gate enforced, %" PRId64 " open%s%s%s\n",
			       str(d, "name"), str(d, "node"), str(d, "dev"), str(d, "entry"),
			       num(d, "open_queues"), us[0] ? " (" : "", us, us[0] ? ")" : "");
		else if (strcmp(str(d, "gate"), "unenforceable") == 0)
			printf("  %s %s (%s, entry %s): UNENFORCEABLE: %s\n", str(d, "name"),
			       str(d, "node"), str(d, "dev"), str(d, "entry"), str(d, "reason"));
		else
			printf("  entry %s: no device: %s\n", str(d, "entry"), str(d, "reason"));
	}
}

static void print_queues(json_object *r)
{
	struct table t = { .ncols = 9 };
	json_object *qs, *regs;

	table_row(&t, "QUEUE", "DEVICE", "PID", "UID", "USER", "COMMAND", "STATE", "REGIONS",
		  "BYTES");
	json_object_object_get_ex(r, "queues", &qs);
	for (size_t i = 0; qs && i < json_object_array_length(qs); i++) {
		json_object *q = json_object_array_get_idx(qs, i);
		char id[24], pid[16], uid[16], user[64], rg[128], by[32];

		snprintf(id, sizeof(id), "%" PRId64, num(q, "id"));
		snprintf(pid, sizeof(pid), "%" PRId64, num(q, "pid"));
		snprintf(uid, sizeof(uid), "%" PRId64, num(q, "uid"));
		json_object_object_get_ex(q, "regions", &regs);
		join(regs, rg, sizeof(rg));
		if (strcmp(str(q, "ss_shared"), "true") == 0)
			strncat(rg, " (ss shared)", sizeof(rg) - strlen(rg) - 1);
		if (num(q, "shared_files") > 0) {
			char sh[48];

			snprintf(sh, sizeof(sh), "%s+%" PRId64 " memfd", rg[0] ? " " : "",
				 num(q, "shared_files"));
			strncat(rg, sh, sizeof(rg) - strlen(rg) - 1);
		}
		table_row(&t, id, str(q, "device"), pid, uid,
			  user_name((uid_t)num(q, "uid"), user, sizeof(user)), str(q, "command"),
			  str(q, "state"), rg[0] ? rg : "-",
			  size_str((uint64_t)num(q, "bytes"), by, sizeof(by)));
	}
	table_print(&t);
}

/* "used/limit" with "-" for unlimited */
static const char *of(uint64_t used, json_object *u, const char *key, bool bytes, char *buf,
		      size_t len)
{
	char a[32], b[32];

	if (bytes)
		size_str(used, a, sizeof(a));
	else
		snprintf(a, sizeof(a), "%" PRIu64, used);
	if (!has(u, key))
		snprintf(b, sizeof(b), "-");
	else if (bytes)
		size_str((uint64_t)num(u, key), b, sizeof(b));
	else
		snprintf(b, sizeof(b), "%" PRId64, num(u, key));
	snprintf(buf, len, "%s/%s", a, b);
	return buf;
}

/* the distinct sources of the limits, "user alice, default" */
static const char *sources(json_object *u, char *buf, size_t len)
{
	static const char *const keys[] = { "max_queues_source", "max_queues_per_device_source",
					    "max_region_bytes_source", "devices_source" };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *s = str(u, keys[i]);
		int w;

		if (!*s || strcmp(s, "none") == 0 || strstr(buf, s))
			continue;
		w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s);
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	if (!n)
		snprintf(buf, len, "-");
	return buf;
}

static void print_usage(json_object *r)
{
	struct table t = { .ncols = 8 };
	json_object *us, *devs;

	table_row(&t, "UID", "USER", "QUEUES", "PER-DEVICE", "REGION-BYTES", "DEVICES",
		  "LIMITS-FROM", "BUSIEST-DEVICE");
	json_object_object_get_ex(r, "users", &us);
	for (size_t i = 0; us && i < json_object_array_length(us); i++) {
		json_object *u = json_object_array_get_idx(us, i);
		char uid[16], user[64], q[48], pd[48], by[64], dv[512], src[256];

		snprintf(uid, sizeof(uid), "%" PRId64, num(u, "uid"));
		json_object_object_get_ex(u, "devices", &devs);
		table_row(&t, uid, user_name((uid_t)num(u, "uid"), user, sizeof(user)),
			  of((uint64_t)num(u, "queues"), u, "max_queues", false, q, sizeof(q)),
			  of((uint64_t)num(u, "device_queues"), u, "max_queues_per_device", false, pd,
			     sizeof(pd)),
			  of((uint64_t)num(u, "bytes"), u, "max_region_bytes", true, by, sizeof(by)),
			  devs ? (json_object_array_length(devs) ? join(devs, dv, sizeof(dv)) : "(none)")
			       : "*",
			  sources(u, src, sizeof(src)),
			  *str(u, "device_queues_on") ? str(u, "device_queues_on") : "-");
	}
	table_print(&t);
	if (json_object_array_length(us))
		printf("(used/limit; - = unlimited; DEVICES: the allowed names or patterns, * = all)\n");
	if (json_object_object_get_ex(r, "region_pool", &devs) && devs)
		printf("region pool: %" PRId64 " region(s), %" PRId64 " bytes (memory no client got, "
		       "kept for the next queues; an open fd each)\n", num(devs, "regions"),
		       num(devs, "bytes"));
}

static int run_command(const char *cmd)
{
	json_object *r = NULL;
	int rc = uaccectl_request(rundir, cmd, &r);

	if (rc)
		return rc;
	if (json_out) {
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		rc = reply_ok(r) ? 0 : 1;
	} else if (!reply_ok(r)) {
		rc = fail("%s%s", strcmp(cmd, "reload") == 0 ? "reload refused: " :
			  strcmp(cmd, "restart") == 0 ? "live restart refused: " : "",
			  str(r, "error"));
		if (strcmp(cmd, "reload") == 0)
			fprintf(stderr, "uaccectl: the previous configuration stays in force\n");
		if (strcmp(cmd, "restart") == 0)
			fprintf(stderr, "uaccectl: the running uacced serves on\n");
	} else if (strcmp(cmd, "list") == 0) {
		print_list(r);
	} else if (strcmp(cmd, "queues") == 0) {
		print_queues(r);
	} else if (strcmp(cmd, "usage") == 0) {
		print_usage(r);
	} else {
		printf("%s\n", str(r, "message"));
	}
	json_object_put(r);
	return rc;
}

/* the same code as uacced --check-config */
static int check_config(const char *file)
{
	const char *path = file ? file : CONFIG_DEFAULT_PATH;
	struct uacce_config c;
	char err[1024], src[400], sum[256];
	json_object *o;
	int rc;

	if (!json_out)
		return config_check("uaccectl", path, file != NULL, stdout, stderr);
	o = json_object_new_object();
	if (config_load(path, file != NULL, &c, err, sizeof(err)) == 0) {
		config_sources(&c, src, sizeof(src));
		config_summary(&c, sum, sizeof(sum));
		json_object_object_add(o, "ok", json_object_new_boolean(true));
		json_object_object_add(o, "config", json_object_new_string(src));
		json_object_object_add(o, "summary", json_object_new_string(sum));
		config_free(&c);
	} else {
		json_object_object_add(o, "ok", json_object_new_boolean(false));
		json_object_object_add(o, "error", json_object_new_string(err));
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = reply_ok(o) ? 0 : 1;
	json_object_put(o);
	return rc;
}

int main(int argc, char **argv)
{
	enum { O_RUNDIR = 256, O_VERSION, O_FORCE };
	static const struct option opts[] = {
		{ "runtime-dir", required_argument, NULL, O_RUNDIR },
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, O_FORCE },	/* restart --force */
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 },
	};
	const char *cmd;
	int c;

	if (uaccectl_top_requested(argc, argv))
		return uaccectl_top_main(argc, argv);
	if (uaccectl_cdi_requested(argc, argv))
		return uaccectl_cdi_main(argc, argv);
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case O_RUNDIR:
			rundir = optarg;
			break;
		case 'j':
			json_out = true;
			break;
		case O_FORCE:
			restart_force = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("uaccectl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!rundir) {
		rundir = getenv("UACCE_RUNTIME_DIR");
		if (!rundir || !*rundir)
			rundir = "/run/uacce";
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "check-config") == 0) {
		if (argc - optind > 1) {
			usage(stderr);
			return 2;
		}
		return check_config(optind < argc ? argv[optind] : NULL);
	}
	if (restart_force && strcmp(cmd, "restart") != 0) {
		fprintf(stderr, "uaccectl: --force goes with restart only\n");
		return 2;
	}
	if (strcmp(cmd, "list") && strcmp(cmd, "queues") && strcmp(cmd, "usage") &&
	    strcmp(cmd, "reload") && strcmp(cmd, "restart")) {
		fprintf(stderr, "uaccectl: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "uaccectl: %s takes no argument\n", cmd);
		return 2;
	}
	return run_command(cmd);
}
