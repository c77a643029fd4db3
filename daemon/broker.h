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
/* new owner, group or mode of the socket (a reload): -errno */
int broker_set_perms(struct broker *b, const struct sock_perms *perms);
void broker_stop(struct broker *b);

#endif
