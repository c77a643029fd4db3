/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.c - the control socket (protocol in control.h): one thread, one
 * event loop (evloop.h) serving every connection without blocking on any;
 * the peer is authorised from its kernel-attested credentials before its
 * request is parsed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "uacced_config.h"	/* CONFIG_MAX_DEVICES */
#include "control.h"
#include "region.h"
#include "control_internal.h"
#include "core.h"
#include "evloop.h"
#include "kgate.h"
#include "list.h"
#include "log.h"
#include "policy.h"
#include "rundir.h"

struct control {
	struct uacce_core *core;
	struct control_ops ops;
	char path[300];
	int lfd;
	struct evloop *loop;
	struct list conns;		/* struct cconn.link; control thread only */
	int nconns;
	pthread_t thread;
	pthread_mutex_t lock;		/* the admin group */
	bool admin_set;
	gid_t admin_gid;
	char admin_name[64];
};

/* --- authorisation ----------------------------------------------------------- */

/* the peer's supplementary groups (SO_PEERGROUPS); *out malloc'd */
static int peer_groups(int fd, gid_t **out, int *n)
{
	socklen_t len = 64 * sizeof(gid_t);

	for (int tries = 0; tries < 3; tries++) {
		gid_t *g = malloc(len ? len : sizeof(gid_t));

		if (!g)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			*out = g;
			*n = (int)(len / sizeof(gid_t));
			return 0;
		}
		free(g);
		if (errno != ERANGE)
			return -errno;
		/* len now holds the size needed */
	}
	return -ERANGE;
}

/* root, or in the admin group (primary or supplementary)?  Reason in why. */
static bool authorised(struct control *ctl, int fd, const struct ucred *cr, char *why,
		       size_t len)
{
	gid_t *groups = NULL, gid;
	bool set, ok;
	char name[64];
	int n = 0;

	if (cr->uid == 0)
		return true;
	pthread_mutex_lock(&ctl->lock);
	set = ctl->admin_set;
	gid = ctl->admin_gid;
	snprintf(name, sizeof(name), "%s", ctl->admin_name);
	pthread_mutex_unlock(&ctl->lock);
	ok = set && cr->gid == gid;
	if (set && !ok && peer_groups(fd, &groups, &n) == 0)
		for (int i = 0; i < n && !ok; i++)
			ok = groups[i] == gid;
	free(groups);
	if (!ok) {
		if (set)
			snprintf(why, len, "permission denied: only root and members of group "
				 "\"%s\" may use the uacced control socket", name);
		else
			snprintf(why, len, "permission denied: only root may use the uacced "
				 "control socket (no control.admin_group is configured)");
	}
	return ok;
}

/* --- replies ---------------------------------------------------------------------- */

static json_object *reply_new(bool ok)
{
	json_object *r = json_object_new_object();

	if (r) {
		json_object_object_add(r, "version", json_object_new_int(CONTROL_VERSION));
		json_object_object_add(r, "ok", json_object_new_boolean(ok));
	}
	return r;
}

static json_object *error_reply(const char *msg)
{
	json_object *r = reply_new(false);

	if (r)
		json_object_object_add(r, "error", json_object_new_string(msg));
	return r;
}

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* a limit: its number, or null for unlimited */
static json_object *limit(uint64_t v)
{
	return v == POLICY_UNLIMITED ? NULL : u64(v);
}

static json_object *algorithms(const char *text)
{
	json_object *a = json_object_new_array();
	char buf[sizeof(((struct uacce_hwdev_info *)0)->algorithms)], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
		json_object_array_add(a, json_object_new_string(t));
	return a;
}

/* "dev": "MAJ:MIN" of the node, as its class directory has it; null: none yet */
static void add_devt(struct control *ctl, json_object *d, const char *name)
{
	char buf[32];
	dev_t rdev;

	if (!ctl->ops.node_devt || ctl->ops.node_devt(ctl->ops.ctx, name, &rdev) != 0) {
		json_object_object_add(d, "dev", NULL);
		return;
	}
	snprintf(buf, sizeof(buf), "%u:%u", major(rdev), minor(rdev));
	json_object_object_add(d, "dev", json_object_new_string(buf));
}

/* "kernel": the gated kernel devices, their gate's state and live usage */
static void add_kernel(struct control *ctl, json_object *r)
{
	struct kgate_stat *s = NULL;
	json_object *arr = json_object_new_array();
	int n = 0;

	if (ctl->ops.kernel_devs && ctl->ops.kernel_devs(ctl->ops.ctx, &s, &n) != 0)
		n = 0;
	for (int i = 0; i < n; i++) {
		json_object *d = json_object_new_object(), *users = json_object_new_array();
		char dev[32];

		json_object_object_add(d, "entry", json_object_new_string(s[i].d.entry_text));
		json_object_object_add(d, "name", s[i].d.found ?
				       json_object_new_string(s[i].d.name) : NULL);
		json_object_object_add(d, "node", s[i].d.found ?
				       json_object_new_string(s[i].d.node) : NULL);
		snprintf(dev, sizeof(dev), "%u:%u", s[i].d.maj, s[i].d.min);
		json_object_object_add(d, "dev", s[i].d.found ? json_object_new_string(dev) : NULL);
		json_object_object_add(d, "gate", json_object_new_string(
					       !s[i].d.found ? "no device" :
					       s[i].enforced ? "enforced" : "unenforceable"));
		json_object_object_add(d, "reason", s[i].enforced ? NULL :
				       json_object_new_string(s[i].reason));
		json_object_object_add(d, "open_queues", json_object_new_int64(s[i].open_queues));
		for (int j = 0; j < s[i].nusers && j < 16; j++) {
			json_object *u = json_object_new_object();

			json_object_object_add(u, "uid", u64(s[i].uid[j]));
			json_object_object_add(u, "queues", json_object_new_int64(s[i].uid_open[j]));
			json_object_array_add(users, u);
		}
		json_object_object_add(d, "users", users);
		json_object_array_add(arr, d);
	}
	free(s);
	json_object_object_add(r, "kernel", arr);
}

static json_object *cmd_list(struct control *ctl)
{
	const char *dir = ctl->ops.dev_dir ? ctl->ops.dev_dir(ctl->ops.ctx) : "/dev";
	struct core_dev_stat *s = NULL;
	json_object *r, *arr;
	int n = 0, err;

	err = core_devices(ctl->core, &s, &n);
	if (err)
		return error_reply(strerror(-err));
	r = reply_new(true);
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *d = json_object_new_object();
		char node[400];

		snprintf(node, sizeof(node), "%s/%s", dir, s[i].name);
		json_object_object_add(d, "id", json_object_new_int(s[i].id));
		json_object_object_add(d, "name", json_object_new_string(s[i].name));
		json_object_object_add(d, "device", json_object_new_string(s[i].cfg_name));
		json_object_object_add(d, "node", json_object_new_string(node));
		json_object_object_add(d, "abi", json_object_new_string(
					       s[i].abi == UACCE_ABI_MAINLINE ? "mainline" : "v4"));
		add_devt(ctl, d, s[i].name);
		json_object_object_add(d, "api", json_object_new_string(s[i].info.api));
		json_object_object_add(d, "flags", json_object_new_int((int)s[i].info.flags));
		json_object_object_add(d, "sva",
				       json_object_new_boolean(s[i].info.flags & UACCE_DEV_SVA));
		json_object_object_add(d, "algorithms", algorithms(s[i].info.algorithms));
		json_object_object_add(d, "queues", json_object_new_int(s[i].info.max_queues));
		json_object_object_add(d, "available_instances",
				       json_object_new_int(s[i].available));
		json_object_object_add(d, "open_queues", json_object_new_int(s[i].open_queues));
		json_object_object_add(d, "requests", u64(s[i].requests));
		json_object_array_add(arr, d);
	}
	json_object_object_add(r, "devices", arr);
	free(s);
	arr = json_object_new_array();
	if (ctl->ops.waiting) {
		struct control_waiting w[CONFIG_MAX_DEVICES];
		int nw = ctl->ops.waiting(ctl->ops.ctx, w, CONFIG_MAX_DEVICES);

		for (int i = 0; i < nw; i++) {
			json_object *d = json_object_new_object();

			json_object_object_add(d, "id", json_object_new_int(w[i].id));
			json_object_object_add(d, "name", json_object_new_string(w[i].name));
			json_object_object_add(d, "backend", json_object_new_string(w[i].backend));
			json_object_object_add(d, "reason", json_object_new_string(w[i].reason));
			json_object_array_add(arr, d);
		}
	}
	json_object_object_add(r, "waiting", arr);
	add_kernel(ctl, r);
	return r;
}

static const char *state_name(enum uacce_q_state s)
{
	switch (s) {
	case UQ_INIT:
		return "init";
	case UQ_STARTED:
		return "started";
	case UQ_ZOMBIE:
		return "zombie";
	default:
		return "dead";
	}
}

static json_object *cmd_queues(struct control *ctl)
{
	static const char *const rnames[UACCE_QFRT_NR] = { "mmio", "dko", "dus", "ss" };
	struct core_queue_stat *s = NULL;
	json_object *r, *arr;
	int n = 0, err;

	err = core_queues(ctl->core, &s, &n);
	if (err)
		return error_reply(strerror(-err));
	r = reply_new(true);
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *q = json_object_new_object(), *regions = json_object_new_array();

		for (int t = 0; t < UACCE_QFRT_NR; t++)
			if (s[i].mapped[t] || (t == UACCE_QFRT_SS && s[i].has_ss))
				json_object_array_add(regions, json_object_new_string(rnames[t]));
		json_object_object_add(q, "id", u64(s[i].id));
		json_object_object_add(q, "device", json_object_new_string(s[i].dev));
		json_object_object_add(q, "pid", json_object_new_int(s[i].pid));
		json_object_object_add(q, "uid", u64(s[i].uid));
		json_object_object_add(q, "command", json_object_new_string(s[i].comm));
		json_object_object_add(q, "state", json_object_new_string(state_name(s[i].state)));
		json_object_object_add(q, "regions", regions);
		json_object_object_add(q, "ss_shared", json_object_new_boolean(s[i].ss_shared));
		json_object_object_add(q, "shared_files", u64(s[i].shm_files));
		json_object_object_add(q, "direct_accesses", u64(s[i].direct));
		json_object_object_add(q, "bytes", u64(s[i].bytes));
		json_object_object_add(q, "requests", u64(s[i].requests));
		json_object_array_add(arr, q);
	}
	json_object_object_add(r, "queues", arr);
	free(s);
	return r;
}

static void add_limit(json_object *u, const struct core_user_stat *s, enum policy_limit k)
{
	char key[64];

	json_object_object_add(u, policy_limit_names[k], limit(s->lim[k]));
	snprintf(key, sizeof(key), "%s_source", policy_limit_names[k]);
	json_object_object_add(u, key, json_object_new_string(s->src[k]));
}

static json_object *cmd_usage(struct control *ctl)
{
	struct core_user_stat *s = NULL;
	json_object *r, *arr;
	int n = 0, err;

	err = core_usage(ctl->core, &s, &n);
	if (err)
		return error_reply(strerror(-err));
	r = reply_new(true);
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *u = json_object_new_object(), *devs = NULL;

		json_object_object_add(u, "uid", u64(s[i].uid));
		json_object_object_add(u, "queues", json_object_new_int(s[i].queues));
		add_limit(u, &s[i], PL_MAX_QUEUES);
		json_object_object_add(u, "device_queues", json_object_new_int(s[i].dev_queues));
		json_object_object_add(u, "device_queues_on",
				       s[i].dev[0] ? json_object_new_string(s[i].dev) : NULL);
		add_limit(u, &s[i], PL_MAX_QUEUES_PER_DEVICE);
		json_object_object_add(u, "bytes", u64(s[i].bytes));
		add_limit(u, &s[i], PL_MAX_REGION_BYTES);
		if (s[i].npatterns >= 0) {
			devs = json_object_new_array();
			for (int j = 0; j < s[i].npatterns; j++)
				json_object_array_add(devs, json_object_new_string(s[i].patterns[j]));
		}
		json_object_object_add(u, "devices", devs);
		json_object_object_add(u, "devices_source",
				       json_object_new_string(s[i].devices_src));
		json_object_array_add(arr, u);
	}
	json_object_object_add(r, "users", arr);
	free(s);
	{
		/* memory no client got, kept for the next queues (region.h): an fd each */
		json_object *pool = json_object_new_object();
		unsigned pn;
		size_t pb;

		region_pool_stats(&pn, &pb);
		json_object_object_add(pool, "regions", json_object_new_int((int)pn));
		json_object_object_add(pool, "bytes", u64(pb));
		json_object_object_add(r, "region_pool", pool);
	}
	return r;
}

static json_object *cmd_reload(struct control *ctl, const struct ucred *cr)
{
	char msg[1024] = "";
	json_object *r;
	int err;

	log_info("control: reload requested by uid %u pid %d", (unsigned)cr->uid, (int)cr->pid);
	err = ctl->ops.reload(ctl->ops.ctx, msg, sizeof(msg));
	if (err)
		return error_reply(msg[0] ? msg : strerror(-err));
	r = reply_new(true);
	json_object_object_add(r, "message", json_object_new_string(msg));
	return r;
}

/*
 * A live restart (uacced(8)): on success the daemon answers on fd itself
 * and this process ends (ops.restart does not come back); a refusal comes
 * back as an error reply, the daemon serving on.
 */
static json_object *cmd_restart(struct control *ctl, int fd, const struct ucred *cr, bool force)
{
	char msg[1024] = "";
	int err;

	if (!ctl->ops.restart)
		return error_reply("live restart is not available");
	log_info("control: live restart requested by uid %u pid %d%s", (unsigned)cr->uid,
		 (int)cr->pid, force ? " (forced)" : "");
	err = ctl->ops.restart(ctl->ops.ctx, fd, force, msg, sizeof(msg));
	return error_reply(msg[0] ? msg : strerror(-err));
}

/* the request (already read): one JSON object with a known command */
static json_object *dispatch(struct control *ctl, int fd, const char *req, const struct ucred *cr)
{
	enum json_tokener_error jerr;
	json_object *o = json_tokener_parse_verbose(req, &jerr), *v, *r;
	const char *cmd;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "command", &v) || !json_object_is_type(v, json_type_string)) {
		json_object_put(o);
		return error_reply("bad request: expected {\"command\": \"...\"}");
	}
	cmd = json_object_get_string(v);
	if (strcmp(cmd, "list") == 0)
		r = cmd_list(ctl);
	else if (strcmp(cmd, "queues") == 0)
		r = cmd_queues(ctl);
	else if (strcmp(cmd, "usage") == 0)
		r = cmd_usage(ctl);
	else if (strcmp(cmd, "reload") == 0)
		r = cmd_reload(ctl, cr);
	else if (strcmp(cmd, "restart") == 0)
		r = cmd_restart(ctl, fd, cr, json_object_object_get_ex(o, "force", &v) &&
				json_object_get_boolean(v));
	else
		r = error_reply("unknown command (list, queues, usage, reload, restart)");
	json_object_put(o);
	return r;
}

/* --- connections ------------------------------------------------------------------- */

/*
 * Each connection is a state served by the loop, never waited for: read
 * the request until EOF, then write the reply, then close.  Limits (see
 * control.h; uacced(8) states them): CONTROL_TIMEOUT_MS from accept to the
 * end of the reply, CONTROL_MAX_PER_UID connections per uid at a time, and
 * beyond CONTROL_MAX_CONNS in all only root's.  So a silent client holds
 * its own slots, never another client's turn.
 */
struct cconn {
	struct list link;		/* control::conns */
	struct control *ctl;
	int fd;
	struct ucred cr;		/* the peer (SO_PEERCRED at accept) */
	struct ev_source *src;		/* fd in control::loop */
	struct ev_source *timer;	/* CONTROL_TIMEOUT_MS after accept */
	char *req;			/* CONTROL_MAX_REQUEST + 1 bytes */
	size_t len;
	char *reply;			/* the reply and its "\n"; NULL while reading */
	size_t reply_len, done;
};

/* the control thread's (or control_stop's, after it) */
static void conn_close(struct cconn *c)
{
	evloop_remove(c->src);
	evloop_remove(c->timer);
	list_del(&c->link);
	c->ctl->nconns--;
	close(c->fd);
	free(c->req);
	free(c->reply);
	free(c);
}

/*
 * Read what is there, until EOF, within the size limit: -EAGAIN for more
 * to come, 0 at EOF, else -errno (-EMSGSIZE: too large).
 */
static int read_some(struct cconn *c)
{
	const size_t cap = CONTROL_MAX_REQUEST + 1;

	for (;;) {
		ssize_t n = recv(c->fd, c->req + c->len, cap - 1 - c->len, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -EAGAIN : -errno;
		if (n == 0)
			return 0;
		c->len += (size_t)n;
		if (c->len >= cap - 1)
			return -EMSGSIZE;
	}
}

/* see control_internal.h */
int control_reply(struct control *ctl, int fd, const struct ucred *cr, char *req, size_t len,
		  int err, char **reply, size_t *reply_len)
{
	char why[256];
	const char *text;
	json_object *r;
	size_t n;

	req[len] = '\0';
	if (!authorised(ctl, fd, cr, why, sizeof(why))) {
		ulog_rl(LOG_NOTICE, "control: refused uid %u pid %d: not root nor in the admin group",
			(unsigned)cr->uid, (int)cr->pid);
		r = error_reply(why);
	} else if (err) {
		r = error_reply(err == -EMSGSIZE ? "request too large" : "no complete request");
	} else {
		r = dispatch(ctl, fd, req, cr);
	}
	text = r ? json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN)
		 : "{\"version\":1,\"ok\":false,\"error\":\"out of memory\"}";
	n = strlen(text);
	*reply = malloc(n + 1);
	if (*reply) {
		memcpy(*reply, text, n);
		(*reply)[n] = '\n';
		*reply_len = n + 1;
	}
	json_object_put(r);
	return *reply ? 0 : -ENOMEM;
}

/* the reply to the request read (err: how reading ended); 0 or -ENOMEM */
static int make_reply(struct cconn *c, int err)
{
	return control_reply(c->ctl, c->fd, &c->cr, c->req, c->len, err, &c->reply, &c->reply_len);
}

/* write what the socket takes: -EAGAIN for more to write, 0 when done, -errno */
static int write_some(struct cconn *c)
{
	while (c->done < c->reply_len) {
		ssize_t n = send(c->fd, c->reply + c->done, c->reply_len - c->done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -EAGAIN : -errno;
		c->done += (size_t)n;
	}
	return 0;
}

static void on_conn(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct cconn *c = ctx;
	int err;

	(void)fd, (void)events;
	if (!c->reply) {
		/*
		 * Read (bounded) even from a stranger, unparsed: closing with
		 * unread data would reset the connection before the refusal
		 * is read.
		 */
		err = read_some(c);
		if (err == -EAGAIN)
			return;
		if (make_reply(c, err) || evloop_modify(s, EPOLLOUT)) {
			conn_close(c);
			return;
		}
	}
	if (write_some(c) != -EAGAIN)
		conn_close(c);
}

/*
 * Out of time.  Still reading: what arrived meanwhile (the thread may have
 * been busy, e.g. with a reload) is read, and the reply written as far as
 * the socket takes it at once.  Then the connection is closed.
 */
static void on_timeout(struct ev_source *s, int fd, uint32_t events, void *ctx)
{
	struct cconn *c = ctx;
	int err;

	(void)s, (void)fd, (void)events;
	if (!c->reply) {
		err = read_some(c);
		if (make_reply(c, err == -EAGAIN ? -ETIMEDOUT : err) == 0 && write_some(c) == 0)
			goto out;
	}
	log_debug("control: uid %u pid %d: no %s within %d ms, closing", (unsigned)c->cr.uid,
		  (int)c->cr.pid, c->reply ? "reply taken" : "complete request",
		  CONTROL_TIMEOUT_MS);
out:
	conn_close(c);
}

/* over a limit: say so (if the socket takes it) and close */
static void refuse(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(int fd, const char *fmt, ...)
{
	char msg[200], scratch[256];
	const char *text;
	json_object *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ulog_rl(LOG_NOTICE, "control: %s: refusing a connection", msg);
	r = error_reply(msg);
	text = r ? json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN) : "";
	/* what was sent already (bounded): closing with unread data resets the connection */
	for (int i = 0; i < CONTROL_MAX_REQUEST / (int)sizeof(scratch); i++)
		if (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) <= 0)
			break;
	if (send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		send(fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	json_object_put(r);
	close(fd);
}

/* may this peer have one more connection? */
static bool admit(struct control *ctl, int fd, const struct ucred *cr)
{
	int mine = 0;

	list_for_each(pos, &ctl->conns)
		mine += container_of(pos, struct cconn, link)->cr.uid == cr->uid;
	if (mine >= CONTROL_MAX_PER_UID) {
		refuse(fd, "too many control connections from uid %u (at most %d at a time)",
		       (unsigned)cr->uid, CONTROL_MAX_PER_UID);
		return false;
	}
	if (cr->uid != 0 && ctl->nconns >= CONTROL_MAX_CONNS) {
		refuse(fd, "too many control connections (at most %d at a time, root's aside)",
		       CONTROL_MAX_CONNS);
		return false;
	}
	return true;
}

static void on_accept(struct ev_source *s, int lfd, uint32_t events, void *ctx)
{
	struct control *ctl = ctx;
	socklen_t len = sizeof(struct ucred);
	struct cconn *c;
	struct ucred cr;
	int fd;

	(void)s, (void)events;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		close(fd);
		return;
	}
	if (!admit(ctl, fd, &cr))
		return;
	c = calloc(1, sizeof(*c));
	if (c)
		c->req = malloc(CONTROL_MAX_REQUEST + 1);
	if (!c || !c->req) {
		if (c)
			free(c);
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->cr = cr;
	list_add_tail(&ctl->conns, &c->link);
	ctl->nconns++;
	if (evloop_add_fd(ctl->loop, fd, EPOLLIN, on_conn, c, NULL, &c->src) ||
	    evloop_add_timer(ctl->loop, on_timeout, c, NULL, &c->timer) ||
	    evloop_timer_set(c->timer, CONTROL_TIMEOUT_MS, 0)) {
		log_warn("control: cannot watch a new connection: closing it");
		conn_close(c);
	}
}

static void *control_thread(void *arg)
{
	struct control *ctl = arg;
	int err = evloop_run(ctl->loop);

	if (err)
		log_err("control: epoll_wait: %s", strerror(-err));
	return NULL;
}

/* --- start / stop ---------------------------------------------------------------- */

/*
 * Who may connect: the daemon's user (root) and, when set, the admin
 * group, mode 0660; else the daemon's user alone, 0600.  Others get EACCES
 * from connect(2) and never hold a connection; authorised() still checks
 * every peer that gets through (a process with CAP_DAC_OVERRIDE, one that
 * connected before a reload took its group's access away).
 */
static int set_perms(struct control *ctl, bool admin, gid_t gid)
{
	const struct sock_perms p = {
		.uid = geteuid(), .gid = admin ? gid : getegid(), .mode = admin ? 0660 : 0600,
	};
	int err = rundir_sock_perms(ctl->path, &p);

	if (err)
		log_err("control: %s: cannot give it group %u, mode %04o: %s", ctl->path,
			(unsigned)p.gid, (unsigned)p.mode, strerror(-err));
	return err;
}

/* see control_internal.h */
struct control *control_new_unbound(struct uacce_core *core, const struct control_ops *ops)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return NULL;
	ctl->core = core;
	ctl->ops = *ops;
	ctl->lfd = -1;
	list_init(&ctl->conns);
	pthread_mutex_init(&ctl->lock, NULL);
	return ctl;
}

void control_free_unbound(struct control *ctl)
{
	if (!ctl)
		return;
	pthread_mutex_destroy(&ctl->lock);
	free(ctl);
}

int control_start(const char *rundir, struct uacce_core *core, const struct control_ops *ops,
		  struct control **out)
{
	return control_start_fd(rundir, core, ops, -1, out);
}

int control_listen_fd(const struct control *ctl)
{
	return ctl ? ctl->lfd : -1;
}


int control_start_fd(const char *rundir, struct uacce_core *core, const struct control_ops *ops,
		     int lfd, struct control **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *ctl = control_new_unbound(core, ops);
	int err;

	if (!ctl)
		return -ENOMEM;
	if (snprintf(ctl->path, sizeof(ctl->path), "%s/%s", rundir, CONTROL_SOCKET_NAME) >=
	    (int)sizeof(sa.sun_path)) {
		err = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(sa.sun_path, ctl->path);
	err = evloop_new(&ctl->loop);
	if (err)
		goto fail;
	if (lfd >= 0) {
		/* a predecessor's: its file keeps the perms it had */
		ctl->lfd = lfd;
		lfd = -1;
		err = rundir_adopt_listener(ctl->lfd, ctl->path, SOCK_STREAM);
		if (err) {
			log_err("control: the handed socket is not the listener of %s: %s",
				ctl->path, strerror(-err));
			goto fail;
		}
		goto listening;
	}
	unlink(ctl->path);
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->lfd < 0 || bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		log_err("control: %s: %s", ctl->path, strerror(errno));
		goto fail;
	}
	/*
	 * Root's alone until control_set_admin_group() opens it to the admin
	 * group; set before listen(), so no connection predates it
	 */
	err = set_perms(ctl, false, 0);
	if (!err && listen(ctl->lfd, 16) < 0) {
		err = -errno;
		log_err("control: %s: listen: %s", ctl->path, strerror(errno));
	}
	if (err)
		goto fail;
listening:
	err = evloop_add_fd(ctl->loop, ctl->lfd, EPOLLIN, on_accept, ctl, NULL, NULL);
	if (!err)
		err = -pthread_create(&ctl->thread, NULL, control_thread, ctl);
	if (err)
		goto fail;
	*out = ctl;
	return 0;
fail:
	if (lfd >= 0)
		close(lfd);
	evloop_free(ctl->loop);
	if (ctl->lfd >= 0) {
		close(ctl->lfd);
		unlink(ctl->path);
	}
	control_free_unbound(ctl);
	return err;
}

void control_stop(struct control *ctl)
{
	if (!ctl)
		return;
	evloop_stop(ctl->loop);
	pthread_join(ctl->thread, NULL);
	list_for_each(pos, &ctl->conns)
		conn_close(container_of(pos, struct cconn, link));
	evloop_free(ctl->loop);
	close(ctl->lfd);
	unlink(ctl->path);
	control_free_unbound(ctl);
}

int control_set_admin_group(struct control *ctl, bool set, gid_t gid, const char *name)
{
	pthread_mutex_lock(&ctl->lock);
	ctl->admin_set = set;
	ctl->admin_gid = gid;
	snprintf(ctl->admin_name, sizeof(ctl->admin_name), "%s", set && name ? name : "");
	pthread_mutex_unlock(&ctl->lock);
	return ctl->lfd >= 0 ? set_perms(ctl, set, gid) : 0;	/* unbound: no file */
}
