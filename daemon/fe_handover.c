/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fe_handover.c - the frontend's side of a live restart (frontend.h):
 * freeze/thaw at a request boundary, the state of the sessions and open
 * files (export), and a successor taking them over (adopt).  The kernel
 * side (measured in /work/shared/design/live-restart.md): a CUSE or FUSE
 * connection belongs to its open /dev/cuse or /dev/fuse file, so a
 * duplicate of that fd keeps nodes, mount and clients' files alive; a new
 * libfuse session on it is set up by replaying the kernel's INIT request
 * (recorded by the read hook of our custom io), the kernel keeps sending
 * the fh ids we gave (the queues' ids), and pollers are woken with a raw
 * FUSE_NOTIFY_POLL of the kernel's handle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cjournal.h"
#include "core.h"
#include "fdclose.h"
#include "fe_internal.h"
#include "handover.h"
#include "log.h"

/*
 * The unique of a replayed INIT: the kernel numbers its requests from 2
 * upwards in steps of 2 (bit 0 marks interrupts); this one it never
 * reaches.
 */
#define SYNTH_UNIQUE UINT64_C(0xfffffffffffffffe)

/* --- the custom io hooks' work ----------------------------------------------------- */

void fe_rec_init(struct fe_session_rec *rec, struct frontend *fe)
{
	static uint32_t next_conn;
	uint32_t r = 0;

	rec->fe = fe;
	/*
	 * The id stays with the connection across restarts (an adopted one
	 * keeps its predecessor's): random, so that ids of different
	 * generations do not meet; never 0
	 */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)getpid() << 16;
	rec->conn = (r ^ __atomic_add_fetch(&next_conn, 1, __ATOMIC_RELAXED)) | 1u << 31;
}

int fe_put_session_fd(struct ho_state *s, const struct fe_session_rec *rec, int fd)
{
	char name[24];

	snprintf(name, sizeof(name), "c%u", rec->conn);
	return ho_put_fd_named(s, fd, name);
}

/* the crash journal: a request read, to be answered by a successor if we die */
static void journal_read(struct fe_session_rec *rec, const void *buf, size_t n)
{
	const struct fuse_in_header *in = buf;
	uint64_t fh;

	if (cj_request_wants_answer(buf, n, &fh))
		cj_inflight_begin(rec->fe->opts.journal, rec->conn, in->unique, in->opcode, fh,
				  buf, n);
}

/*
 * Read one request: with a crash journal, its head goes first to the
 * connection's read slot there (the kernel scatters it: readv), and is
 * copied to buf from there.  A SIGKILL makes a reader return from the
 * kernel with a request it took, and die before its next instruction:
 * that request is in the journal all the same.
 */
static ssize_t read_request(struct fe_session_rec *rec, int fd, char *buf, size_t len)
{
	struct cjournal *j = rec->fe->opts.journal;
	struct iovec iov[2];
	ssize_t n;

	if (j && rec->slot_conn != rec->conn) {
		rec->slot = cj_read_slot(j, rec->conn);
		rec->slot_conn = rec->conn;
	}
	if (!j || !rec->slot || len <= CJ_REQ_MAX)
		return read(fd, buf, len);
	iov[0] = (struct iovec){ .iov_base = rec->slot, .iov_len = CJ_REQ_MAX };
	iov[1] = (struct iovec){ .iov_base = buf + CJ_REQ_MAX, .iov_len = len - CJ_REQ_MAX };
	n = readv(fd, iov, 2);
	if (n > 0)
		memcpy(buf, rec->slot, (size_t)n < CJ_REQ_MAX ? (size_t)n : CJ_REQ_MAX);
	return n;
}

ssize_t fe_rec_read(struct fe_session_rec *rec, int fd, void *buf, size_t len)
{
	ssize_t n = read_request(rec, fd, buf, len);
	const struct fuse_in_header *in = buf;

	if (n < (ssize_t)sizeof(*in))
		return n;
	if (rec->fe->opts.journal)
		journal_read(rec, buf, (size_t)n);
	if ((in->opcode == CUSE_INIT || in->opcode == FUSE_INIT) && !rec->init_opcode) {
		size_t body = (size_t)n - sizeof(*in);

		if (body > FE_INIT_MAX)
			body = FE_INIT_MAX;	/* the kernel's is far shorter */
		memcpy(rec->init, (const char *)buf + sizeof(*in), body);
		rec->init_len = (uint32_t)body;
		rec->init_opcode = in->opcode;
	} else if (in->opcode == FUSE_POLL &&
		   (size_t)n >= sizeof(*in) + sizeof(struct fuse_poll_in)) {
		struct fuse_poll_in pi;
		struct fe_file *f;

		memcpy(&pi, (const char *)buf + sizeof(*in), sizeof(pi));
		f = (pi.flags & FUSE_POLL_SCHEDULE_NOTIFY) ? fe_file_find(rec->fe, pi.fh) : NULL;
		if (f) {
			pthread_mutex_lock(&f->lock);
			f->kh = pi.kh;
			pthread_mutex_unlock(&f->lock);
		}
		if (pi.flags & FUSE_POLL_SCHEDULE_NOTIFY)
			cj_poll_kh(rec->fe->opts.journal, pi.kh);
	}
	return n;
}

ssize_t fe_rec_writev(struct fe_session_rec *rec, int fd, struct iovec *iov, int count)
{
	if (rec->swallow && count > 0 && iov[0].iov_len >= sizeof(struct fuse_out_header)) {
		const struct fuse_out_header *out = iov[0].iov_base;

		if (out->unique == rec->swallow) {
			ssize_t total = 0;

			/* the kernel got the original reply long ago */
			for (int i = 0; i < count; i++)
				total += (ssize_t)iov[i].iov_len;
			rec->swallow = 0;
			return total;
		}
	}
	if (rec->fe->opts.journal && count > 0 &&
	    iov[0].iov_len >= sizeof(struct fuse_out_header)) {
		const struct fuse_out_header *out = iov[0].iov_base;
		ssize_t r = writev(fd, iov, count);

		/* answered (or the kernel dropped it: interrupted): either way done */
		if (out->unique)
			cj_inflight_end(rec->fe->opts.journal, rec->conn, out->unique);
		return r;
	}
	return writev(fd, iov, count);
}

int fe_session_replay_init(struct fuse_session *se, struct fe_session_rec *rec)
{
	struct fuse_in_header in = {
		.len = (uint32_t)(sizeof(in) + rec->init_len),
		.opcode = rec->init_opcode,
		.unique = SYNTH_UNIQUE,
	};
	struct fuse_buf fbuf = { .size = in.len };
	char *mem;

	if (!rec->init_opcode)
		return -EINVAL;
	mem = calloc(1, in.len);
	if (!mem)
		return -ENOMEM;
	memcpy(mem, &in, sizeof(in));
	memcpy(mem + sizeof(in), rec->init, rec->init_len);
	fbuf.mem = mem;
	rec->swallow = SYNTH_UNIQUE;
	fuse_session_process_buf(se, &fbuf);
	free(mem);
	if (rec->swallow) {
		rec->swallow = 0;
		return -EPROTO;	/* libfuse did not answer it: not set up */
	}
	return 0;
}

int fe_session_replay(struct fuse_session *se, const void *req, size_t len)
{
	struct fuse_buf fbuf = { .size = len };
	void *mem;

	if (len < sizeof(struct fuse_in_header))
		return -EINVAL;
	mem = malloc(len);
	if (!mem)
		return -ENOMEM;
	memcpy(mem, req, len);
	fbuf.mem = mem;
	/* as if read now: the answer goes to the kernel under its unique */
	fuse_session_process_buf(se, &fbuf);
	free(mem);
	return 0;
}

int fe_rec_export(const struct fe_session_rec *rec, json_object *o)
{
	if (!rec->init_opcode)
		return -EINVAL;	/* the kernel's INIT never came */
	json_object_object_add(o, "init_opcode", json_object_new_int64(rec->init_opcode));
	json_object_object_add(o, "conn", json_object_new_int64(rec->conn));
	return ho_set_bytes(o, "init", rec->init, rec->init_len);
}

int fe_rec_import(struct fe_session_rec *rec, json_object *o)
{
	size_t len;
	int64_t op = ho_get_int(o, "init_opcode", 0);
	int err;

	if (op != CUSE_INIT && op != FUSE_INIT)
		return -EINVAL;
	err = ho_get_bytes(o, "init", rec->init, sizeof(rec->init), &len);
	if (err)
		return err;
	rec->init_opcode = (uint32_t)op;
	rec->init_len = (uint32_t)len;
	rec->prev_conn = (uint32_t)ho_get_int(o, "conn", 0);
	if (rec->prev_conn)
		rec->conn = rec->prev_conn;	/* the connection's id for its whole life */
	return 0;
}

/* --- freeze / thaw ---------------------------------------------------------------- */

static void efd_set(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0)
		log_warn("frontend: cannot signal the session threads: %m");
}

static void efd_clear(int efd)
{
	uint64_t v;

	while (read(efd, &v, sizeof(v)) > 0)
		;
}

int frontend_freeze(struct frontend *fe)
{
	struct timespec deadline;
	int err = 0, wait_s;

	if (fe->frozen)
		return 0;
	wait_s = fe->opts.freeze_wait_s > 0 ? fe->opts.freeze_wait_s : FE_FREEZE_WAIT_S;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_s;
	/*
	 * SHARE_SVAS lookups need a session thread to answer their IDENT:
	 * none starts, those in flight finish while the sessions serve.
	 */
	pthread_mutex_lock(&fe->lock);
	fe->freezing = true;
	while ((fe->takers || fe->resolving) && !err)
		err = pthread_cond_clockwait(&fe->takers_done, &fe->lock, CLOCK_MONOTONIC,
					     &deadline);
	err = fe->takers || fe->resolving ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&fe->lock);
	/*
	 * Device requests run in the workers (a FLUSH of a large ring, a
	 * DMA engine's copies: seconds): wait for a moment with none while
	 * the sessions still serve, so that the stop below is short.  Never
	 * for ever: a request that does not end refuses the restart.
	 */
	if (!err)
		err = fe_pool_wait_idle_until(&fe->pool, &deadline);
	if (err) {
		pthread_mutex_lock(&fe->lock);
		fe->freezing = false;
		pthread_mutex_unlock(&fe->lock);
		log_warn("frontend: requests still running after %d s (--restart-wait): the "
			 "restart is refused, serving on", wait_s);
		return err;
	}
	/* client fds on their way out: a close of our own node needs a session */
	if (fd_close_drain(2000))
		log_warn("frontend: %d client fd(s) still closing at the freeze",
			 fd_close_pending());
	efd_set(fe->freeze_efd);
	fe->tops->freeze(fe);
	/* every request read was handed over or answered: now the workers' ones */
	fe_pool_wait_idle(&fe->pool);
	fe->frozen = true;
	log_info("frontend: frozen (no request is read until the successor takes over)");
	return 0;
}

void frontend_thaw(struct frontend *fe)
{
	int err;

	if (!fe->frozen)
		return;
	efd_clear(fe->freeze_efd);
	err = fe->tops->thaw(fe);
	if (err)
		log_err("frontend: cannot restart its session threads: %s (the nodes do not "
			"answer)", strerror(-err));
	pthread_mutex_lock(&fe->lock);
	fe->freezing = false;
	pthread_mutex_unlock(&fe->lock);
	fe->frozen = false;
	log_info("frontend: serving again");
}

/* --- export ---------------------------------------------------------------------- */

static int export(struct frontend *fe, struct ho_state *s, json_object *out);

int frontend_export(struct frontend *fe, struct ho_state *s, json_object *out)
{
	if (!fe->frozen)
		return -EBUSY;
	return export(fe, s, out);
}

int frontend_export_live(struct frontend *fe, struct ho_state *s, json_object *out)
{
	return export(fe, s, out);
}

static int export(struct frontend *fe, struct ho_state *s, json_object *out)
{
	json_object *files;
	int err;

	json_object_object_add(out, "kind",
			       json_object_new_string(fe->opts.kind == FE_CUSE ? "cuse" : "fuse"));
	err = fe->tops->export(fe, s, out);
	if (err)
		return err;
	files = json_object_new_array();
	if (!files)
		return -ENOMEM;
	json_object_object_add(out, "files", files);
	pthread_mutex_lock(&fe->lock);
	list_for_each(pos, &fe->files) {
		struct fe_file *f = container_of(pos, struct fe_file, link);
		json_object *jf;

		/* a removed node's files are not handed over (their node is not) */
		if (f->node->removed)
			continue;
		jf = json_object_new_object();
		json_object_object_add(jf, "fh", json_object_new_int64((int64_t)f->id));
		json_object_object_add(jf, "node", json_object_new_string(ud_name(f->node->dev)));
		pthread_mutex_lock(&f->lock);
		json_object_object_add(jf, "kh", json_object_new_int64((int64_t)f->kh));
		pthread_mutex_unlock(&f->lock);
		json_object_array_add(files, jf);
	}
	pthread_mutex_unlock(&fe->lock);
	return 0;
}

/* the state's node of that name, or NULL */
json_object *fe_state_node(json_object *nodes, const char *name)
{
	size_t n = nodes && json_object_is_type(nodes, json_type_array) ?
		   json_object_array_length(nodes) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *jn = json_object_array_get_idx(nodes, i);

		if (strcmp(ho_get_str(jn, "name", ""), name) == 0)
			return jn;
	}
	return NULL;
}
