/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cjournal.h - the crash journal: what a successor needs to serve on after
 * uacced died without a planned handover (kill -9, a crash, the OOM
 * killer), kept current while the daemon serves.  Only with systemd's fd
 * store (uacced --fd-store under systemd): the store holds every fd the
 * state names, so they outlive the process.
 *
 * One memfd ("uacced-journal" in the store) holds four things:
 *  - the live queue table, written synchronously on every change of a
 *    queue's exported state (one store and a generation bump): which
 *    queues exist and the generation of their last change;
 *  - the in-flight table: every FUSE/CUSE request read from the kernel
 *    and not answered yet (its unique, opcode, fh, connection and its
 *    bytes up to CJ_REQ_MAX), so that a successor carries it out again
 *    (EIO when too long to keep) instead of leaving its caller waiting
 *    forever;
 *  - one read slot per connection: the kernel copies the head of each
 *    request there, so a request read in the instant of a kill (before
 *    its record) is in the journal all the same;
 *  - which snapshot is current: a live restart state (handover.h) taken
 *    by the main loop shortly after changes, as a sealed memfd in the
 *    store, its fds in the store under stable names.
 *
 * At recovery a queue is taken over exactly when the snapshot has it and
 * it did not change after the snapshot was taken; changed after: revoked
 * (ENODEV, as before this feature); gone after: not taken.  See
 * uacced(8), LIVE RESTART, Crash restart.
 */
#ifndef UACCED_CJOURNAL_H
#define UACCED_CJOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the journal memfd's name in the store: this, "-", its process's prefix */
#define CJ_STORE_NAME "uacced-journal"
/* prefix of every other name this module puts in the store */
#define CJ_PREFIX "cj"

struct cjournal;
struct ho_state;

/*
 * A new journal (memfd), of epoch `epoch` (a successor's is its
 * predecessor's + 1: of two journals in the store, recovery reads the
 * newer one that has a snapshot).  -errno.
 */
int cj_open(uint64_t epoch, struct cjournal **out);
/* its name in the store (CJ_STORE_NAME "-" ...) */
const char *cj_store_name(const struct cjournal *j);
/* unmaps and frees; the fd store keeps what it holds */
void cj_free(struct cjournal *j);
/* the memfd (owned by j) */
int cj_fd(const struct cjournal *j);

/*
 * The fd that tells the main loop a snapshot is due (readable: call
 * cj_kicked and, some milliseconds later, cj_sync).
 */
int cj_kick_fd(const struct cjournal *j);
void cj_kicked(struct cjournal *j);

/* hooks: any thread, any lock (the journal's own lock is a leaf) */
void cj_queue_changed(struct cjournal *j, uint64_t qid, bool gone);
/* req/len: the whole request as read (kept when it fits CJ_REQ_MAX: replayed) */
void cj_inflight_begin(struct cjournal *j, uint32_t conn, uint64_t unique, uint32_t opcode,
		       uint64_t fh, const void *req, size_t len);
void cj_inflight_end(struct cjournal *j, uint32_t conn, uint64_t unique);
/*
 * A request as the kernel sent it (req, n bytes of it): does the kernel
 * expect an answer?  false for a forget, an interrupt, a notify reply, or
 * bytes that are no request; else true, with *fh a RELEASE's file handle
 * (0 for other requests).
 */
bool cj_request_wants_answer(const void *req, size_t n, uint64_t *fh);
/*
 * The read slot of connection conn (CJ_REQ_MAX bytes in the journal; NULL:
 * no journal, or no room): the session reads the head of every request
 * into it, so that the kernel's copy itself puts a request in the journal
 * before the read returns: a process killed between the read and
 * cj_inflight_begin leaves that request there (only the last one of the
 * connection: one reader per session).
 */
void *cj_read_slot(struct cjournal *j, uint32_t conn);
void cj_poll_kh(struct cjournal *j, uint64_t kh);
/* something else a snapshot has changed (a node published or removed) */
void cj_touch(struct cjournal *j);
/* the current generation (read before a snapshot is taken) */
uint64_t cj_gen(struct cjournal *j);

/*
 * Make the snapshot s (taken when the generation was gen; every fd of s
 * named with ho_put_fd_named) current: its fds and the snapshot go to the
 * store, then the journal names it, then what the previous one held and
 * this one does not leaves the store.  -errno (the previous snapshot stays
 * current).
 */
int cj_commit(struct cjournal *j, struct ho_state *s, uint64_t gen);
/* names of the store this journal put there (for a planned handover) */
int cj_stored_names(struct cjournal *j, char ***names, int *n);
/* names a predecessor stored that this journal is to drop at its next sync */
int cj_inherit_names(struct cjournal *j, char *const *names, int n);

/* --- recovery -------------------------------------------------------------- */

/* a request's bytes the journal keeps (a uacce ioctl, a poll, a release fit) */
#define CJ_REQ_MAX 512

struct cj_inflight {
	uint64_t unique;
	uint64_t fh;
	uint32_t opcode;
	uint32_t conn;
	uint32_t len;			/* of req; 0: not kept (answered EIO) */
	bool slot;			/* from a read slot: perhaps answered long ago */
	uint8_t req[CJ_REQ_MAX];
};

struct cj_recovery {
	uint64_t epoch;
	uint64_t snap_gen;
	uint64_t max_kh;
	struct cj_inflight *inflight;
	int ninflight;
	/* every queue of the live table: id and last change */
	uint64_t *live_qid, *live_gen;
	int nlive;
	char *snap_name;		/* the store name of the current snapshot; NULL: none yet */
	/* per connection, the highest unique the predecessor read */
	uint32_t conn[256];
	uint64_t conn_max[256];
	int nconns;
};

/*
 * Read the journal of a crashed predecessor (memfd fd, not consumed); one
 * that never committed a snapshot has snap_name NULL (its in-flight table
 * still counts).  -EINVAL when it is not a journal this build reads.
 */
int cj_read(int fd, struct cj_recovery *out);
void cj_recovery_fini(struct cj_recovery *r);
/* the live table's entry of qid: 0 absent (gone or never there), else its gen */
uint64_t cj_live_gen(const struct cj_recovery *r, uint64_t qid);

#endif
