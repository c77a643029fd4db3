/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control.h - the admin control socket, <runtime-dir>/control.sock, used
 * by uaccectl(8).  Stream socket; one request per connection:
 *
 *   client: {"command": "list" | "queues" | "usage" | "reload" | "restart"}  (at most
 *           CONTROL_MAX_REQUEST bytes), then shutdown(SHUT_WR)
 *   daemon: {"version": 1, "ok": true, ...}  or
 *           {"version": 1, "ok": false, "error": "<reason>"}, then close
 *
 * Only root and members of control.admin_group may use it.  The socket's
 * file says so (owner root; group the admin group and mode 0660, or mode
 * 0600 without one): anyone else gets EACCES from connect(2).  And each
 * peer that connects is checked again: its uid, gid and supplementary
 * groups come from the kernel (SO_PEERCRED, SO_PEERGROUPS), never from the
 * request; one that is neither gets "ok": false.
 *
 * One thread serves every connection at once, never waiting for one (an
 * event loop): a silent client cannot delay another.  Limits, stated in
 * uacced(8) too: a connection has CONTROL_TIMEOUT_MS (5 s) from accept to
 * send its request and take its reply, then it is closed (a request not
 * complete by then gets "no complete request" if the socket takes it); a
 * uid holds at most CONTROL_MAX_PER_UID (8) connections at a time; beyond
 * CONTROL_MAX_CONNS (128) connections in all only root's are taken.  A
 * connection over a limit gets "ok": false saying which, and is closed.
 */
#ifndef UACCED_CONTROL_H
#define UACCED_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CONTROL_SOCKET_NAME	"control.sock"
#define CONTROL_VERSION		1
#define CONTROL_MAX_REQUEST	4096
#define CONTROL_TIMEOUT_MS	5000
#define CONTROL_MAX_PER_UID	8
#define CONTROL_MAX_CONNS	128

struct uacce_core;
struct control;
struct kgate_stat;

/* a device entry whose hardware is away ("list": "waiting") */
struct control_waiting {
	int id;
	char name[64];			/* the node name it will have */
	char backend[16];
	char reason[200];
};

struct control_ops {
	void *ctx;
	/*
	 * Reload the configuration (called on the control thread).  0 with
	 * what changed in msg, or -errno with the reason in msg.
	 */
	int (*reload)(void *ctx, char *msg, size_t len);
	/* the directory of the device nodes */
	const char *(*dev_dir)(void *ctx);
	/* entries waiting for their hardware: how many filled in w[0..max) */
	int (*waiting)(void *ctx, struct control_waiting *w, int max);
	/* the device number of the published node `name` ("dev"); -ENOENT */
	int (*node_devt)(void *ctx, const char *name, dev_t *out);
	/* the gated kernel devices ("list": "kernel", kgate.h): *out malloc'd */
	int (*kernel_devs)(void *ctx, struct kgate_stat **out, int *n);
	/*
	 * "restart": a live restart (optional; called on the control thread).
	 * On success the successor serves, the daemon writes the reply to
	 * client_fd itself and this process ends: it does not return.  A
	 * refusal returns -errno with the reason in msg (the daemon serves on).
	 * force: hand over even when the new configuration drops devices with
	 * open queues (their clients get ENODEV).
	 */
	int (*restart)(void *ctx, int client_fd, bool force, char *msg, size_t len);
};

int control_start(const char *rundir, struct uacce_core *core, const struct control_ops *ops,
		  struct control **out);
/*
 * The same with the listening socket a predecessor handed over (live
 * restart): lfd is taken (closed on failure); -1 makes a new one.
 */
int control_start_fd(const char *rundir, struct uacce_core *core, const struct control_ops *ops,
		     int lfd, struct control **out);
/* the listening socket (to hand over), -1 for none */
int control_listen_fd(const struct control *ctl);
void control_stop(struct control *ctl);	/* NULL is fine */
/*
 * Who besides root may use the socket (control.admin_group): the peer
 * check and the socket's group and mode (root's alone until this is
 * called).  -errno when the socket's file could not be changed (the peer
 * check is in force whatever).
 */
int control_set_admin_group(struct control *ctl, bool set, gid_t gid, const char *name);

#endif
