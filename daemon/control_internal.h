/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control_internal.h - control.c's request path without its socket, for
 * test/fuzz/fuzz-control.c: what a connection's request becomes, exactly
 * as the control thread makes it (control.c serves every connection with
 * these).  Not for the rest of the daemon: control.h is its interface.
 */
#ifndef UACCED_CONTROL_INTERNAL_H
#define UACCED_CONTROL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "control.h"

/*
 * A control with no socket nor thread (control_start makes one and adds
 * them): control_set_admin_group's group applies to control_reply (no
 * socket file to change).  NULL without memory.
 */
struct control *control_new_unbound(struct uacce_core *core, const struct control_ops *ops);
void control_free_unbound(struct control *ctl);	/* NULL is fine */

/*
 * The reply to the request req[0..len) read from the connection fd of the
 * peer cr (fd: for its supplementary groups; -1 reads none), err how
 * reading ended (0 at EOF, -EMSGSIZE too large, else incomplete): the peer
 * is authorised, then the request parsed and carried out.  req has room
 * for len + 1 bytes (a NUL is put at req[len]).  *reply (malloc'd, one
 * JSON object and "\n", *reply_len bytes): 0 or -ENOMEM.
 */
int control_reply(struct control *ctl, int fd, const struct ucred *cr, char *req, size_t len,
		  int err, char **reply, size_t *reply_len);

#endif
