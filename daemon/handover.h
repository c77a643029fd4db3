/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handover.h - a live restart's state: what a running uacced hands to its
 * successor (the same or a newer binary) so that open queues, their
 * clients' fds and blocked calls live on (uacced(8), "Live restart").
 *
 * The state is one JSON document (json-c) plus a table of fds.  Modules
 * write their part into their own member of the root ("core",
 * "frontend", "broker", "control") and refer to fds by their index in the
 * table (ho_put_fd); the successor takes them back by index (ho_take_fd).
 * The document carries its format number: a daemon reads every format up
 * to its own (HO_FORMAT) and refuses a newer one.
 *
 * Transports: the state goes as the memfd "uacced-state" next to the fds
 * "ho<index>", either inherited through execve(2) (uaccectl restart,
 * SIGUSR2: first to a spawned child that only checks it, ho_exec, then to
 * this very process's new image, ho_exec_inplace) or through systemd's fd
 * store (systemctl restart); all arrive the same way, as socket
 * activation's LISTEN_FDS/LISTEN_FDNAMES (ho_receive).
 */
#ifndef UACCED_HANDOVER_H
#define UACCED_HANDOVER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* the format this daemon writes; it reads 1 .. HO_FORMAT */
#define HO_FORMAT 1
#define HO_STATE_NAME "uacced-state"

struct ho_state;

/* an empty state to write into; -errno */
int ho_new(struct ho_state **out);
/* closes every fd of the table not taken, frees the document */
void ho_free(struct ho_state *s);
/* the document's root object (owned by s) */
json_object *ho_root(struct ho_state *s);
/* the format of a received state (HO_FORMAT for one made by ho_new) */
int ho_format(const struct ho_state *s);

/*
 * Add a duplicate of fd (the caller keeps its own) to the table: its index
 * (>= 0), or -errno.
 */
int ho_put_fd(struct ho_state *s, int fd);
/* the same, with a stable name (the crash journal stores it by that name) */
int ho_put_fd_named(struct ho_state *s, int fd, const char *name);
/* the table: its size, fd idx (still owned by s; -EBADF taken), its name or NULL */
int ho_nfds(const struct ho_state *s);
int ho_fd_at(const struct ho_state *s, int idx);
const char *ho_fd_name(const struct ho_state *s, int idx);
/* the document as a sealed memfd named `name` (the caller owns it); -errno */
int ho_state_memfd(struct ho_state *s, const char *name);
/*
 * Take fd number `idx` out of the table: the caller owns it from now on
 * (close-on-exec set).  -EBADF when there is no such fd or it was taken.
 */
int ho_take_fd(struct ho_state *s, int idx);
/* fd number `idx` of the table, still the table's (a check): -EBADF as above */
int ho_peek_fd(const struct ho_state *s, int idx);

/* json helpers: an object's integer/string member, with a default */
int64_t ho_get_int(json_object *o, const char *key, int64_t dflt);
const char *ho_get_str(json_object *o, const char *key, const char *dflt);
json_object *ho_get(json_object *o, const char *key);	/* NULL when absent */
/* a byte string as base64 in o[key]; read back: -EINVAL when absent/bad */
int ho_set_bytes(json_object *o, const char *key, const void *buf, size_t len);
int ho_get_bytes(json_object *o, const char *key, void *buf, size_t cap, size_t *len);

/*
 * Spawn path (argv) with s's fds (and the state memfd) as LISTEN_FDS 3..
 * and UACCED_HO_PARENT = this pid: its pid (> 0; the caller reaps it), or
 * -errno (s is intact, the caller keeps running).  Holes of the table (fds
 * taken) go as /dev/null.
 */
int ho_exec(struct ho_state *s, const char *path, char *const argv[]);
/*
 * Become the successor: execve(path, argv) of this very process (same
 * pid: systemd's main process stays) with s's fds as LISTEN_FDS 3.. and
 * LISTEN_PID = this pid; every other fd is closed by the execve.  Returns
 * -errno only when nothing was changed yet (path not executable, no
 * memory); once it starts moving fds there is no way back: a failed
 * execve ends the process (_exit(1)).
 */
int ho_exec_inplace(struct ho_state *s, const char *path, char *const argv[]);
/*
 * Hand s to systemd's fd store (FDSTORE=1, names as above; NOTIFY_SOCKET
 * must be set and the unit's FileDescriptorStoreMax large enough): the
 * next instance of the service gets them.  -errno.
 * prefix: NULL, or the fds named with ho_put_fd_named go to the store as
 * "PREFIX-NAME" (the crash journal's names: systemd keeps a file once,
 * under the name it got first, so a file the journal has stored already
 * must be handed under that name), the others as "ho<index>"; the state
 * lists every index's store name ("fdnames"), which ho_receive follows.
 */
int ho_fdstore(struct ho_state *s, const char *prefix);
/* the store name "PREFIX-NAME" of an fd named NAME (ho_fdstore, the crash journal) */
void ho_store_name(char *buf, size_t len, const char *prefix, const char *name);
/*
 * The state handed to this process, if any: *out NULL (and 0) when
 * LISTEN_FDS has no "uacced-state"; -errno (logged) when there is one that
 * cannot be read.  Fds that are not ours are left alone.  Clears the
 * LISTEN_* variables.
 */
int ho_receive(struct ho_state **out);
/*
 * ho_receive found fds in the store but no planned state: a "raw" state
 * (ho_is_raw), every fd kept by its store name for the crash journal
 * (cjournal.h).  ho_raw_take: the fd of that name (the caller owns it), or
 * -ENOENT.  ho_load_snapshot: read a journal snapshot (memfd fd, not
 * consumed) into s, its "fdnames" mapped to the raw fds by name (a name the
 * store lost is a hole); s is then a state like a planned one.  -errno.
 */
bool ho_is_raw(const struct ho_state *s);
/* the raw fds' names (NULL for one taken) */
int ho_raw_count(const struct ho_state *s);
const char *ho_raw_name(const struct ho_state *s, int i);
/* every name the store handed (0 when s came through execve) */
int ho_store_names(const struct ho_state *s, char *const **names);
int ho_raw_take(struct ho_state *s, const char *name);
int ho_load_snapshot(struct ho_state *s, int fd);
/* one sd_notify datagram with fds (at most 253); -errno */
int ho_notify(const char *msg, const int *fds, int n);
/* wait until systemd processed every datagram sent so far (BARRIER=1) */
int ho_notify_barrier(void);

/*
 * After a state came through the fd store: ask systemd to drop its copies
 * (FDSTOREREMOVE=1 for every name), so that released queues' memory is not
 * pinned there.  No-op when it came through execve.
 */
void ho_fdstore_forget(struct ho_state *s);

#endif
