/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * broker.h - the region broker: hands region memory fds to the owner
 * process of a queue over <runtime-dir>/broker.sock (see broker_proto.h).
 */
#ifndef UACCED_BROKER_H
#define UACCED_BROKER_H

#include "rundir.h"

struct uacce_core;
struct frontend;
struct broker;

/*
 * The socket gets perms before it listens (no connection is taken before
 * they hold): the daemon gives it the device nodes' owner, group and mode,
 * as whoever may open a node needs the broker (uacced(8)).
 */
/* the connection limits (all users but root, one uid) the fd limit allows */
void broker_limits(int *max_conns, int *max_per_uid);

int broker_start(const char *rundir, struct uacce_core *core, struct frontend *fe,
		 const struct sock_perms *perms, struct broker **out);
/*
 * The same with the listening socket a predecessor handed over (live
 * restart, handover.h): lfd is taken (closed on failure); -1 makes a new
 * one as broker_start does.  Connections waiting in its backlog are served.
 */
int broker_start_fd(const char *rundir, struct uacce_core *core, struct frontend *fe,
		    const struct sock_perms *perms, int lfd, struct broker **out);
/* the listening socket (to hand over), -1 for none */
int broker_listen_fd(const struct broker *b);
/* new owner, group or mode of the socket (a reload): -errno */
int broker_set_perms(struct broker *b, const struct sock_perms *perms);
/*
 * Live restart: broker_pause returns once no request is being served and
 * none will be (connections wait); broker_resume serves on (an abandoned
 * restart).  broker_resume: -errno (the broker is dead then).
 */
void broker_pause(struct broker *b);
int broker_resume(struct broker *b);
void broker_stop(struct broker *b);

#endif
