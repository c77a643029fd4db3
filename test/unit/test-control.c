/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-control.c - the control socket (daemon/control.c), both ends: the
 * daemon's side started on a core with a soft dummy device in a temporary
 * runtime directory, and clients connecting to its socket as uaccectl
 * does.  The replies, malformed requests, the reload hook, and that
 * silent connections neither delay another client nor pile up (the
 * per-uid cap).  Runs as root (the socket serves root).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit-main.h"
#include "backend.h"
#include "control.h"
#include "core.h"

static char rundir[64];
static struct uacce_core *core;
static struct uacce_dev *dev;
static struct uacce_dev *dev_ml;		/* abi "mainline", no node yet */
static struct control *ctl;
static int reloads, reload_ret;

static int ops_reload(void *ctx, char *msg, size_t len)
{
	(void)ctx;
	reloads++;
	snprintf(msg, len, "%s", reload_ret ? "the file is broken" : "reloaded: 1 device(s)");
	return reload_ret;
}

static const char *ops_dev_dir(void *ctx)
{
	(void)ctx;
	return "/nodes";
}

static int ops_waiting(void *ctx, struct control_waiting *w, int max)
{
	(void)ctx;
	if (max < 1)
		return 0;
	*w = (struct control_waiting){ .id = 7, .backend = "vfio" };
	snprintf(w->name, sizeof(w->name), "uacce-edu-7");
	snprintf(w->reason, sizeof(w->reason), "no PCI function 0000:00:09.0");
	return 1;
}

/* the frontend's answer: only uacce-dummy-0 has a node (CUSE 510:3) */
static int ops_node_devt(void *ctx, const char *name, dev_t *out)
{
	(void)ctx;
	if (strcmp(name, "uacce-dummy-0") != 0)
		return -ENOENT;
	*out = makedev(510, 3);
	return 0;
}

static void setup(void)
{
	struct control_ops ops = {
		.reload = ops_reload, .dev_dir = ops_dev_dir, .waiting = ops_waiting,
		.node_devt = ops_node_devt,
	};
	struct uacce_dev_cfg cfg = {
		.name = "dummy", .backend = "soft", .api = "dummy_v1", .queues = 3,
	};
	struct uacce_dev_cfg ml = {
		.name = "dummy", .backend = "soft", .api = "dummy_v2", .sva = true, .queues = 2,
		.abi = UACCE_ABI_MAINLINE,
	};

	snprintf(rundir, sizeof(rundir), "/tmp/test-control.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rundir));
	ck_assert_int_eq(core_new(NULL, &core), 0);
	ck_assert_int_eq(core_add_device(core, uacce_backend_find("soft"), &cfg, 0, &dev), 0);
	ck_assert_int_eq(core_add_device(core, uacce_backend_find("soft"), &ml, 1, &dev_ml), 0);
	reloads = reload_ret = 0;
	ck_assert_int_eq(control_start(rundir, core, &ops, &ctl), 0);
}

static void teardown(void)
{
	char path[128];

	control_stop(ctl);
	core_remove_device(dev);
	ud_unref(dev);
	core_remove_device(dev_ml);
	ud_unref(dev_ml);
	core_free(core);
	snprintf(path, sizeof(path), "%s/%s", rundir, CONTROL_SOCKET_NAME);
	unlink(path);
	rmdir(rundir);
}

static int connect_ctl(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", rundir, CONTROL_SOCKET_NAME);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return s;
}

/* the whole reply of s (until the daemon closes), parsed; waits at most 4 s */
static json_object *reply_of(int s)
{
	static char buf[65536];
	size_t n = 0;
	json_object *r;

	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t k;

		ck_assert_msg(poll(&p, 1, 4000) == 1, "no reply within 4 s");
		k = read(s, buf + n, sizeof(buf) - 1 - n);
		/* closed with part of a too large request unread: a reset after the reply */
		if (k < 0 && errno == ECONNRESET && n > 0)
			break;
		ck_assert_msg(k >= 0, "read: %s", strerror(errno));
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	r = json_tokener_parse(buf);
	ck_assert_msg(r != NULL, "reply is not JSON: %s", buf);
	return r;
}

/* one request on a new connection, as uaccectl sends it */
static json_object *ask(const char *req, size_t len)
{
	int s = connect_ctl();
	json_object *r;

	ck_assert_int_eq(write(s, req, len), (ssize_t)len);
	shutdown(s, SHUT_WR);
	r = reply_of(s);
	close(s);
	return r;
}

static json_object *askz(const char *req)
{
	return ask(req, strlen(req));
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
		      json_object_to_json_string(o));
	return v;
}

static void assert_error(json_object *r, const char *part)
{
	ck_assert_int_eq(json_object_get_int(get(r, "version")), CONTROL_VERSION);
	ck_assert(!json_object_get_boolean(get(r, "ok")));
	ck_assert_msg(strstr(json_object_get_string(get(r, "error")), part),
		      "error \"%s\" lacks \"%s\"", json_object_get_string(get(r, "error")), part);
	json_object_put(r);
}

START_TEST(test_list)
{
	json_object *r = askz("{\"command\": \"list\"}\n"), *d, *w;

	ck_assert(json_object_get_boolean(get(r, "ok")));
	ck_assert_int_eq(json_object_array_length(get(r, "devices")), 2);
	d = json_object_array_get_idx(get(r, "devices"), 0);
	ck_assert_str_eq(json_object_get_string(get(d, "name")), "uacce-dummy-0");
	ck_assert_str_eq(json_object_get_string(get(d, "node")), "/nodes/uacce-dummy-0");
	ck_assert_str_eq(json_object_get_string(get(d, "api")), "dummy_v1");
	ck_assert_int_eq(json_object_get_int(get(d, "available_instances")), 3);
	ck_assert_str_eq(json_object_get_string(get(d, "abi")), "v4");
	ck_assert_str_eq(json_object_get_string(get(d, "dev")), "510:3");
	/* a mainline device is named as the kernel names it; no node: "dev" null */
	d = json_object_array_get_idx(get(r, "devices"), 1);
	ck_assert_str_eq(json_object_get_string(get(d, "name")), "dummy-1");
	ck_assert_str_eq(json_object_get_string(get(d, "node")), "/nodes/dummy-1");
	ck_assert_str_eq(json_object_get_string(get(d, "abi")), "mainline");
	ck_assert(json_object_is_type(get(d, "dev"), json_type_null));
	w = json_object_array_get_idx(get(r, "waiting"), 0);
	ck_assert_str_eq(json_object_get_string(get(w, "name")), "uacce-edu-7");
	ck_assert_str_eq(json_object_get_string(get(w, "reason")), "no PCI function 0000:00:09.0");
	json_object_put(r);
}
END_TEST

START_TEST(test_queues_and_usage)
{
	struct uacce_caller me = { .tid = gettid(), .uid = 4242, .gid = 4242 };
	struct uacce_queue *q;
	json_object *r, *e;

	ck_assert_int_eq(uq_open(dev, &me, &q), 0);
	r = askz("{\"command\": \"queues\"}");
	ck_assert(json_object_get_boolean(get(r, "ok")));
	ck_assert_int_eq(json_object_array_length(get(r, "queues")), 1);
	e = json_object_array_get_idx(get(r, "queues"), 0);
	ck_assert_int_eq(json_object_get_int(get(e, "uid")), 4242);
	ck_assert_str_eq(json_object_get_string(get(e, "state")), "init");
	json_object_put(r);
	r = askz("{\"command\": \"usage\"}");
	e = json_object_array_get_idx(get(r, "users"), 0);
	ck_assert_int_eq(json_object_get_int(get(e, "uid")), 4242);
	ck_assert_int_eq(json_object_get_int(get(e, "queues")), 1);
	json_object_put(r);
	uq_release(q);
}
END_TEST

START_TEST(test_reload_hook)
{
	json_object *r = askz("{\"command\": \"reload\"}");

	ck_assert(json_object_get_boolean(get(r, "ok")));
	ck_assert_str_eq(json_object_get_string(get(r, "message")), "reloaded: 1 device(s)");
	json_object_put(r);
	reload_ret = -EINVAL;
	assert_error(askz("{\"command\": \"reload\"}"), "the file is broken");
	ck_assert_int_eq(reloads, 2);
}
END_TEST

START_TEST(test_bad_requests)
{
	static char big[CONTROL_MAX_REQUEST + 64];

	assert_error(askz("garbage"), "bad request");
	assert_error(askz("[1, 2]"), "bad request");
	assert_error(askz("{\"command\": 7}"), "bad request");
	assert_error(askz("{\"command\": \"format-disk\"}"), "unknown command");
	assert_error(ask("", 0), "");
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"command\": \"list\"", 18);
	big[sizeof(big) - 1] = '}';
	assert_error(ask(big, sizeof(big)), "");
	ck_assert_int_eq(reloads, 0);
	/* and the socket still serves */
	json_object_put(askz("{\"command\": \"list\"}"));
}
END_TEST

/* silent connections delay nobody, and one uid cannot hold more than its share */
START_TEST(test_silent_connections)
{
	int silent[CONTROL_MAX_PER_UID - 1], extra[2];
	json_object *r;

	for (int i = 0; i < CONTROL_MAX_PER_UID - 1; i++)
		silent[i] = connect_ctl();
	/* answered while the silent ones are still held (they time out after 5 s) */
	r = askz("{\"command\": \"list\"}");
	ck_assert(json_object_get_boolean(get(r, "ok")));
	json_object_put(r);
	/* the uid's eighth is taken, the ninth refused at once, saying why */
	extra[0] = connect_ctl();
	extra[1] = connect_ctl();
	assert_error(reply_of(extra[1]), "too many control connections");
	close(extra[1]);
	close(extra[0]);
	for (int i = 0; i < CONTROL_MAX_PER_UID - 1; i++)
		close(silent[i]);
	/* closed ones count no more */
	for (int tries = 0;; tries++) {
		r = askz("{\"command\": \"list\"}");
		if (json_object_get_boolean(get(r, "ok")) || tries == 50)
			break;
		json_object_put(r);
		usleep(20000);	/* the daemon sees the closes in its next round */
	}
	ck_assert(json_object_get_boolean(get(r, "ok")));
	json_object_put(r);
}
END_TEST

/* a silent connection gets closed after CONTROL_TIMEOUT_MS, with a reason */
START_TEST(test_timeout)
{
	int s = connect_ctl();
	struct pollfd p = { .fd = s, .events = POLLIN };

	ck_assert_int_eq(poll(&p, 1, CONTROL_TIMEOUT_MS + 3000), 1);
	assert_error(reply_of(s), "no complete request");
	close(s);
}
END_TEST

/* the socket file: its mode, owner and group */
static void assert_sock(mode_t mode, uid_t uid, gid_t gid)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", rundir, CONTROL_SOCKET_NAME);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_msg((st.st_mode & 07777) == mode, "mode %04o, expected %04o",
		      (unsigned)(st.st_mode & 07777), (unsigned)mode);
	ck_assert_uint_eq(st.st_uid, uid);
	ck_assert_uint_eq(st.st_gid, gid);
}

/*
 * connect and ask "list" as uid 65534 with primary group gid and no other:
 * 0 (granted), the connect's errno, or 255 (connected but not granted)
 */
static int list_as(gid_t gid)
{
	pid_t c = fork();
	int st;

	ck_assert_int_ge(c, 0);
	if (c == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char buf[4096];
		ssize_t n, len = 0;
		int s;

		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(254);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", rundir, CONTROL_SOCKET_NAME);
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(errno);
		if (write(s, "{\"command\":\"list\"}", 18) != 18)
			_exit(255);
		shutdown(s, SHUT_WR);
		while ((n = read(s, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
			len += n;
		buf[len] = '\0';
		_exit(strstr(buf, "\"ok\":true") ? 0 : 255);
	}
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/*
 * Who may connect at all: root alone (0600) until an admin group is set,
 * then root and that group (0660); a stranger gets EACCES from connect(2),
 * a member of the group is served (the peer check lets its group in)
 */
START_TEST(test_socket_perms)
{
	const gid_t adm = 4242, other = 4343;
	json_object *r;

	ck_assert_int_eq(chmod(rundir, 0755), 0);	/* mkdtemp's 0700: nobody passes */
	assert_sock(0600, geteuid(), getegid());
	ck_assert_int_eq(list_as(other), EACCES);
	ck_assert_int_eq(list_as(adm), EACCES);
	ck_assert_int_eq(control_set_admin_group(ctl, true, adm, "adm"), 0);
	assert_sock(0660, geteuid(), adm);
	ck_assert_int_eq(list_as(adm), 0);
	ck_assert_int_eq(list_as(other), EACCES);
	ck_assert_int_eq(control_set_admin_group(ctl, true, other, "other"), 0);
	assert_sock(0660, geteuid(), other);
	ck_assert_int_eq(list_as(other), 0);
	ck_assert_int_eq(list_as(adm), EACCES);
	ck_assert_int_eq(control_set_admin_group(ctl, false, 0, NULL), 0);
	assert_sock(0600, geteuid(), getegid());
	ck_assert_int_eq(list_as(other), EACCES);
	/* root is served whatever */
	r = askz("{\"command\":\"list\"}");
	ck_assert(json_object_get_boolean(get(r, "ok")));
	json_object_put(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("socket");

	if (geteuid() != 0) {
		fprintf(stderr, "test-control: needs root (the socket serves root); skipped\n");
		return 77;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_queues_and_usage);
	tcase_add_test(tc, test_reload_hook);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_silent_connections);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_socket_perms);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
