/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-control - the control socket's request path (daemon/control.c,
 * through control_internal.h): control_reply() on any request bytes, as
 * the control thread calls it for a connection, from a peer that is root,
 * a member of the admin group or a stranger, with or without an admin
 * group configured, the request read to EOF, too large or incomplete; on
 * a core with two soft dummy devices and open queues (list, queues and
 * usage have something to say), a reload hook that succeeds or fails and
 * entries waiting for hardware.
 *
 * Input: one byte of set-up (bits 0-1 the peer: root, the admin group's
 * gid, a stranger, root's uid with a stranger's gid; bit 2 an admin group
 * is set; bit 3 the reload fails; bits 4-5 how reading ended: EOF, too
 * large, out of time, EOF; bits 6-7 how many entries wait for hardware),
 * then the request (beyond CONTROL_MAX_REQUEST bytes: cut there and "too
 * large", as the connection's reader does).
 *
 * Invariants: the reply is one line, one JSON object with "version": 1
 * and a boolean "ok"; a refusal has an "error" string; a peer that is not
 * authorised, or a request not read to EOF, is refused with the reason
 * and never reaches a command (the reload hook is not called); a granted
 * reply is that of exactly one command, with its keys ("list": both
 * devices and the waiting entries); the reload hook is called at most
 * once, and only for an authorised, complete request.  Leaks are caught by
 * LeakSanitizer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "control_internal.h"
#include "fuzz_common.h"

#define NDEV		2
#define ADMIN_GID	4242
#define STRANGER	4343

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct uacce_core *core;
static struct uacce_dev *dev[NDEV];
static struct control *ctl;
static int reloads, reload_fails, nwaiting;

static int ops_reload(void *ctx, char *msg, size_t len)
{
	(void)ctx;
	reloads++;
	snprintf(msg, len, "%s", reload_fails ? "the file is broken" : "reloaded: 2 device(s)");
	return reload_fails ? -EINVAL : 0;
}

static const char *ops_dev_dir(void *ctx)
{
	(void)ctx;
	return "/nodes";
}

static int ops_waiting(void *ctx, struct control_waiting *w, int max)
{
	int n = nwaiting < max ? nwaiting : max;

	(void)ctx;
	for (int i = 0; i < n; i++) {
		w[i] = (struct control_waiting){ .id = 7 + i, .backend = "vfio" };
		snprintf(w[i].name, sizeof(w[i].name), "uacce-edu-%d", 7 + i);
		snprintf(w[i].reason, sizeof(w[i].reason), "no PCI function \"0000:00:0%d.0\"\n", i);
	}
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const api[NDEV] = { "dummy_v1", "dummy_v2" };
	const struct uacce_backend_ops *soft = uacce_backend_find("soft");
	const struct control_ops ops = {
		.reload = ops_reload, .dev_dir = ops_dev_dir, .waiting = ops_waiting,
	};
	struct uacce_caller me = fuzz_me();
	struct uacce_queue *q;

	(void)argc;
	(void)argv;
	fuzz_log_init();
	FUZZ_CHECK(soft && core_new(NULL, &core) == 0, "core");
	for (int d = 0; d < NDEV; d++) {
		struct uacce_dev_cfg dc = { .name = "dummy", .backend = "soft", .api = api[d],
					    .sva = d == 1, .queues = 4 };

		FUZZ_CHECK(core_add_device(core, soft, &dc, d, &dev[d]) == 0, "device %d", d);
	}
	/* open queues for the process's life: "queues" and "usage" list them */
	FUZZ_CHECK(uq_open(dev[0], &me, &q) == 0, "open on dummy_v1");
	FUZZ_CHECK(uq_open(dev[1], &me, &q) == 0, "open on dummy_v2");
	FUZZ_CHECK(uq_open(dev[1], &me, &q) == 0, "second open on dummy_v2");
	ctl = control_new_unbound(core, &ops);
	FUZZ_CHECK(ctl != NULL, "control");
	return 0;
}

static json_object *key(json_object *o, const char *k)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static size_t array_len(json_object *o, const char *k)
{
	json_object *v = key(o, k);

	return v && json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int read_errs[4] = { 0, -EMSGSIZE, -ETIMEDOUT, 0 };
	struct fin f = { data, size };
	uint8_t setup = fin_u8(&f);
	int peer = setup & 3, err = read_errs[(setup >> 4) & 3];
	bool admin_set = setup & 4, authorised;
	struct ucred cr = { .pid = getpid() };
	size_t len = f.n, rlen = 0;
	char *req, *reply = NULL;
	json_object *r, *v, *e;
	int before, cmds;

	cr.uid = peer == 0 || peer == 3 ? 0 : 1000;
	cr.gid = peer == 1 ? ADMIN_GID : peer == 0 ? 0 : STRANGER;
	reload_fails = (setup >> 3) & 1;
	nwaiting = setup >> 6;
	FUZZ_CHECK(control_set_admin_group(ctl, admin_set, ADMIN_GID, "adm") == 0, "admin group");
	authorised = cr.uid == 0 || (admin_set && cr.gid == ADMIN_GID);
	/* what the connection's reader hands over: at most the limit, then "too large" */
	if (len >= CONTROL_MAX_REQUEST) {
		len = CONTROL_MAX_REQUEST;
		err = -EMSGSIZE;
	}
	req = malloc(CONTROL_MAX_REQUEST + 1);
	FUZZ_CHECK(req != NULL, "malloc");
	memcpy(req, f.p, len);
	before = reloads;
	FUZZ_CHECK(control_reply(ctl, -1, &cr, req, len, err, &reply, &rlen) == 0, "no reply");
	free(req);

	/* one line: the object, then "\n" */
	FUZZ_CHECK(rlen > 1 && reply[rlen - 1] == '\n' && memchr(reply, '\n', rlen - 1) == NULL,
		   "not one line: %.*s", (int)rlen, reply);
	reply[rlen - 1] = '\0';
	r = json_tokener_parse(reply);
	FUZZ_CHECK(r && json_object_is_type(r, json_type_object), "not a JSON object: %s", reply);
	v = key(r, "version");
	FUZZ_CHECK(v && json_object_is_type(v, json_type_int) && json_object_get_int(v) == 1,
		   "version: %s", reply);
	v = key(r, "ok");
	FUZZ_CHECK(v && json_object_is_type(v, json_type_boolean), "ok: %s", reply);
	e = key(r, "error");
	FUZZ_CHECK(reloads - before <= 1, "the reload hook called %d times", reloads - before);
	if (!authorised || err)
		FUZZ_CHECK(reloads == before, "reload hook called for a refused request: %s", reply);
	if (!json_object_get_boolean(v)) {
		FUZZ_CHECK(e && json_object_is_type(e, json_type_string), "a refusal without an error: %s",
			   reply);
		if (!authorised)
			FUZZ_CHECK(strncmp(json_object_get_string(e), "permission denied", 17) == 0,
				   "a stranger not told why: %s", reply);
		else if (err == -EMSGSIZE)
			FUZZ_CHECK(strcmp(json_object_get_string(e), "request too large") == 0, "%s",
				   reply);
		else if (err)
			FUZZ_CHECK(strcmp(json_object_get_string(e), "no complete request") == 0, "%s",
				   reply);
		else if (reloads > before)
			FUZZ_CHECK(reload_fails &&
				   strcmp(json_object_get_string(e), "the file is broken") == 0,
				   "a reload refused without the hook's reason: %s", reply);
	} else {
		FUZZ_CHECK(authorised && !err && !e, "granted: %s", reply);
		cmds = (key(r, "devices") != NULL) + (key(r, "queues") != NULL) +
		       (key(r, "users") != NULL) + (key(r, "message") != NULL);
		FUZZ_CHECK(cmds == 1, "not one command's reply: %s", reply);
		if (key(r, "devices"))
			FUZZ_CHECK(array_len(r, "devices") == NDEV &&
				   array_len(r, "waiting") == (size_t)nwaiting, "list: %s", reply);
		if (key(r, "queues"))
			FUZZ_CHECK(array_len(r, "queues") == 3, "queues: %s", reply);
		if (key(r, "users"))
			FUZZ_CHECK(array_len(r, "users") == 1, "usage: %s", reply);
		if (key(r, "message"))
			FUZZ_CHECK(reloads == before + 1 && !reload_fails, "reload: %s", reply);
	}
	json_object_put(r);
	free(reply);
	return 0;
}
