/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cjournal.c - the crash journal (cjournal.h).  The memfd's layout:
 * struct cj_hdr, then the live queue table (direct-mapped by queue id:
 * ids only grow, so an entry is simply overwritten when its queue goes),
 * then the in-flight table (hashed by connection and unique, a short probe
 * window, no tombstones).  Every entry is written field by field with its
 * key last, so that a process killed in the middle leaves either the old
 * entry or a complete new one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/fuse.h>

#include "cjournal.h"
#include "handover.h"
#include "log.h"

#define CJ_MAGIC	"UACCJRN1"
#define CJ_VERSION	3
#define CJ_QSLOTS	16384
#define CJ_ISLOTS	2048
#define CJ_PROBE	8
#define CJ_NAME_MAX	64
#define CJ_CONNS	256

struct cj_snapdesc {
	uint64_t gen;
	char name[CJ_NAME_MAX];
};

struct cj_hdr {
	char magic[8];
	uint32_t version, qslots, islots;
	uint32_t cur;			/* the current snapdesc: 0, 1; CJ_NONE: none yet */
	uint64_t epoch;
	uint64_t gen;
	uint64_t max_kh;
	struct cj_snapdesc snap[2];
	/* per connection: the highest unique read (CJ_CONNS of them) */
	struct { uint32_t conn, pad; uint64_t max_unique; } conns[CJ_CONNS];
};
#define CJ_NONE 2u

struct cj_qent {
	uint64_t key;			/* qid + 1; 0: empty */
	uint64_t gen;
};

struct cj_ient {
	uint64_t unique;		/* 0: empty */
	uint64_t fh;
	uint32_t opcode, conn;
	uint32_t len;			/* bytes of req (the whole request); 0: too long */
	uint32_t pad;
	uint8_t req[CJ_REQ_MAX];
};

/* a connection's read slot: where the kernel puts the head of each request */
struct cj_rslot {
	uint8_t req[CJ_REQ_MAX];
};

#define CJ_SIZE (sizeof(struct cj_hdr) + CJ_QSLOTS * sizeof(struct cj_qent) + \
		 CJ_ISLOTS * sizeof(struct cj_ient) + CJ_CONNS * sizeof(struct cj_rslot))

struct cjournal {
	int fd, kick_fd;
	struct cj_hdr *h;
	struct cj_qent *q;
	struct cj_ient *in;
	struct cj_rslot *rs;		/* CJ_CONNS, one per entry of h->conns */
	pthread_mutex_t lock;		/* a leaf: the tables' writers */
	bool kicked;			/* a kick is pending (lock) */
	char boot[12];			/* this process's prefix in names */
	char store_name[40];
	uint64_t seq;
	char **stored;			/* names this journal has in the store */
	int nstored;
	uint64_t lost_inflight;		/* in-flight requests the table had no room for */
};

static void map_tables(void *m, struct cj_hdr **h, struct cj_qent **q, struct cj_ient **in,
		       struct cj_rslot **rs)
{
	*h = m;
	*q = (struct cj_qent *)((char *)m + sizeof(struct cj_hdr));
	*in = (struct cj_ient *)((char *)*q + CJ_QSLOTS * sizeof(struct cj_qent));
	*rs = (struct cj_rslot *)((char *)*in + CJ_ISLOTS * sizeof(struct cj_ient));
}

int cj_open(uint64_t epoch, struct cjournal **out)
{
	struct cjournal *j = calloc(1, sizeof(*j));
	uint32_t r = 0;
	void *m;
	int err, fd;

	if (!j)
		return -ENOMEM;
	j->kick_fd = -1;
	fd = memfd_create(CJ_STORE_NAME, MFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(j);
		return err;
	}
	j->fd = fd;
	if (ftruncate(fd, (off_t)CJ_SIZE) < 0)
		goto fail_errno;
	m = mmap(NULL, CJ_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto fail_errno;
	map_tables(m, &j->h, &j->q, &j->in, &j->rs);
	/* a fresh start: whatever a predecessor left is history */
	j->h->cur = CJ_NONE;
	memset(j->q, 0, CJ_QSLOTS * sizeof(*j->q));
	memset(j->in, 0, CJ_ISLOTS * sizeof(*j->in));
	/* written now: the kernel's copy into a slot never waits for a page */
	memset(j->rs, 0, CJ_CONNS * sizeof(*j->rs));
	j->h->gen = 1;
	j->h->epoch = epoch;
	memset(j->h->conns, 0, sizeof(j->h->conns));
	j->h->max_kh = 0;
	j->h->version = CJ_VERSION;
	j->h->qslots = CJ_QSLOTS;
	j->h->islots = CJ_ISLOTS;
	memcpy(j->h->magic, CJ_MAGIC, 8);
	j->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->kick_fd < 0)
		goto fail_errno;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	snprintf(j->boot, sizeof(j->boot), CJ_PREFIX "%08x", r);
	snprintf(j->store_name, sizeof(j->store_name), CJ_STORE_NAME "-%s", j->boot);
	pthread_mutex_init(&j->lock, NULL);
	*out = j;
	return 0;
fail_errno:
	err = -errno;
	cj_free(j);
	return err;
}

void cj_free(struct cjournal *j)
{
	if (!j)
		return;
	if (j->h)
		munmap(j->h, CJ_SIZE);
	if (j->fd >= 0)
		close(j->fd);
	if (j->kick_fd >= 0)
		close(j->kick_fd);
	for (int i = 0; i < j->nstored; i++)
		free(j->stored[i]);
	free(j->stored);
	if (j->h)
		pthread_mutex_destroy(&j->lock);
	free(j);
}

int cj_fd(const struct cjournal *j) { return j->fd; }
const char *cj_store_name(const struct cjournal *j) { return j->store_name; }
int cj_kick_fd(const struct cjournal *j) { return j->kick_fd; }

void cj_kicked(struct cjournal *j)
{
	uint64_t v;

	while (read(j->kick_fd, &v, sizeof(v)) > 0)
		;
}

/* j->lock held: a change the next snapshot must see */
static uint64_t bump_locked(struct cjournal *j)
{
	uint64_t g = __atomic_add_fetch(&j->h->gen, 1, __ATOMIC_RELEASE);

	if (!j->kicked) {
		uint64_t one = 1;

		j->kicked = true;
		if (write(j->kick_fd, &one, sizeof(one)) < 0)
			j->kicked = false;
	}
	return g;
}

void cj_touch(struct cjournal *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	bump_locked(j);
	pthread_mutex_unlock(&j->lock);
}

uint64_t cj_gen(struct cjournal *j)
{
	uint64_t g;

	pthread_mutex_lock(&j->lock);
	g = j->h->gen;
	j->kicked = false;	/* changes from now on kick again */
	pthread_mutex_unlock(&j->lock);
	return g;
}

void cj_queue_changed(struct cjournal *j, uint64_t qid, bool gone)
{
	struct cj_qent *e;

	if (!j)
		return;
	e = &j->q[qid % CJ_QSLOTS];
	pthread_mutex_lock(&j->lock);
	if (gone) {
		if (e->key == qid + 1)
			__atomic_store_n(&e->key, 0, __ATOMIC_RELEASE);
		bump_locked(j);
	} else if (e->key <= qid + 1) {
		/*
		 * Empty, ours, or an older queue's (16384 ids ago and still
		 * open): that one can no longer be recovered (its entry is
		 * gone), which is what recovery does for a queue without one.
		 */
		uint64_t g = bump_locked(j);

		__atomic_store_n(&e->key, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->gen, g, __ATOMIC_RELAXED);
		__atomic_store_n(&e->key, qid + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&j->lock);
}

static uint32_t islot(uint32_t conn, uint64_t unique)
{
	uint64_t h = (unique >> 1) * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)conn * 0x85ebca6bu;

	return (uint32_t)(h >> 40) % CJ_ISLOTS;
}

bool cj_request_wants_answer(const void *req, size_t n, uint64_t *fh)
{
	struct fuse_in_header ih;
	size_t len;

	*fh = 0;
	if (n < sizeof(ih))
		return false;
	memcpy(&ih, req, sizeof(ih));
	/* an interrupt's unique has the kernel's FUSE_INT_REQ_BIT (1) */
	if (!ih.unique || (ih.unique & 1) || ih.len < sizeof(ih) || ih.opcode == FUSE_FORGET ||
	    ih.opcode == FUSE_BATCH_FORGET || ih.opcode == FUSE_INTERRUPT ||
	    ih.opcode == FUSE_NOTIFY_REPLY)
		return false;
	len = ih.len < n ? ih.len : n;
	if (ih.opcode == FUSE_RELEASE && len >= sizeof(ih) + sizeof(struct fuse_release_in)) {
		struct fuse_release_in ri;

		memcpy(&ri, (const uint8_t *)req + sizeof(ih), sizeof(ri));
		*fh = ri.fh;
	}
	return true;
}

/* j->lock held: conn's entry of h->conns (taken if new); -1: no room */
static int conn_index_locked(struct cjournal *j, uint32_t conn)
{
	for (int k = 0; k < CJ_CONNS; k++) {
		if (j->h->conns[k].conn == conn)
			return k;
		if (!j->h->conns[k].conn) {
			__atomic_store_n(&j->h->conns[k].conn, conn, __ATOMIC_RELEASE);
			return k;
		}
	}
	return -1;
}

void *cj_read_slot(struct cjournal *j, uint32_t conn)
{
	int k;

	if (!j || !conn)
		return NULL;
	pthread_mutex_lock(&j->lock);
	k = conn_index_locked(j, conn);
	pthread_mutex_unlock(&j->lock);
	return k < 0 ? NULL : j->rs[k].req;
}

void cj_inflight_begin(struct cjournal *j, uint32_t conn, uint64_t unique, uint32_t opcode,
		       uint64_t fh, const void *req, size_t len)
{
	uint32_t s;
	int k;

	if (!j || !unique)
		return;
	s = islot(conn, unique);
	pthread_mutex_lock(&j->lock);
	k = conn_index_locked(j, conn);
	if (k >= 0 && unique > j->h->conns[k].max_unique)
		j->h->conns[k].max_unique = unique;
	for (int p = 0; p < CJ_PROBE; p++) {
		struct cj_ient *e = &j->in[(s + p) % CJ_ISLOTS];

		if (e->unique)
			continue;
		e->fh = fh;
		e->opcode = opcode;
		e->conn = conn;
		e->len = req && len <= CJ_REQ_MAX ? (uint32_t)len : 0;
		if (e->len)
			memcpy(e->req, req, len);
		__atomic_store_n(&e->unique, unique, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&j->lock);
		return;
	}
	if (j->lost_inflight++ == 0)
		log_warn("crash journal: the in-flight table is full: a request read now is not "
			 "answered by a successor if uacced crashes before it answers");
	pthread_mutex_unlock(&j->lock);
}

void cj_inflight_end(struct cjournal *j, uint32_t conn, uint64_t unique)
{
	uint32_t s;

	if (!j || !unique)
		return;
	s = islot(conn, unique);
	pthread_mutex_lock(&j->lock);
	for (int k = 0; k < CJ_PROBE; k++) {
		struct cj_ient *e = &j->in[(s + k) % CJ_ISLOTS];

		if (e->unique == unique && e->conn == conn) {
			__atomic_store_n(&e->unique, 0, __ATOMIC_RELEASE);
			break;
		}
	}
	pthread_mutex_unlock(&j->lock);
}

void cj_poll_kh(struct cjournal *j, uint64_t kh)
{
	uint64_t cur;

	if (!j)
		return;
	cur = __atomic_load_n(&j->h->max_kh, __ATOMIC_RELAXED);
	while (kh > cur && !__atomic_compare_exchange_n(&j->h->max_kh, &cur, kh, true,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* --- the store ------------------------------------------------------------- */

static int find_name(char *const *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (v[i] && strcmp(v[i], name) == 0)
			return i;
	return -1;
}

static int store_fd(const char *name, int fd)
{
	char msg[CJ_NAME_MAX + 32];

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	return ho_notify(msg, &fd, 1);
}

static void unstore(const char *name)
{
	char msg[CJ_NAME_MAX + 40];
	int err;

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	err = ho_notify(msg, NULL, 0);
	if (err)
		log_warn("crash journal: cannot drop %s from the fd store: %s", name,
			 strerror(-err));
}

static void free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int cj_commit(struct cjournal *j, struct ho_state *s, uint64_t gen)
{
	int n = ho_nfds(s), nnew = 0, sfd, err = 0;
	char **want = calloc((size_t)n + 2, sizeof(char *));
	json_object *names = json_object_new_array();
	struct cj_snapdesc *d;
	uint32_t next;

	if (!want || !names) {
		free(want);
		json_object_put(names);
		return -ENOMEM;
	}
	/* 1. the state's fds, by name; those not in the store yet go there */
	for (int i = 0; i < n && !err; i++) {
		const char *nm = ho_fd_name(s, i);
		char full[CJ_NAME_MAX];

		if (!nm) {
			json_object_array_add(names, json_object_new_string(""));
			continue;
		}
		/*
		 * The name stays with the file across generations (connection
		 * ids, region serials, queue ids and owner pids are kept by a
		 * successor): systemd does not store a file it holds already,
		 * under any name, so a new name for it would never get there.
		 */
		ho_store_name(full, sizeof(full), CJ_PREFIX, nm);
		json_object_array_add(names, json_object_new_string(full));
		if (find_name(want, nnew, full) >= 0)
			continue;	/* one object, named twice (a shared region) */
		if (!(want[nnew] = strdup(full))) {
			err = -ENOMEM;
			break;
		}
		nnew++;
		if (find_name(j->stored, j->nstored, full) < 0)
			err = store_fd(full, ho_fd_at(s, i));
	}
	json_object_object_add(ho_root(s), "fdnames", names);
	if (err)
		goto out;
	/* 2. the snapshot itself */
	sfd = ho_state_memfd(s, "uacced-snapshot");
	if (sfd < 0) {
		err = sfd;
		goto out;
	}
	if (!(want[nnew] = malloc(CJ_NAME_MAX))) {
		close(sfd);
		err = -ENOMEM;
		goto out;
	}
	snprintf(want[nnew], CJ_NAME_MAX, "%s-s%" PRIu64, j->boot, ++j->seq);
	err = store_fd(want[nnew], sfd);
	close(sfd);
	nnew++;
	/* 3. systemd has them all before the journal names them */
	if (!err)
		err = ho_notify_barrier();
	if (err)
		goto out;
	/* 4. the other descriptor, then the switch (one aligned store) */
	next = j->h->cur == 0 ? 1 : 0;
	d = &j->h->snap[next];
	d->gen = gen;
	snprintf(d->name, sizeof(d->name), "%s", want[nnew - 1]);
	__atomic_store_n(&j->h->cur, next, __ATOMIC_RELEASE);
	/* 5. what the store holds and this snapshot does not need goes */
	for (int i = 0; i < j->nstored; i++)
		if (find_name(want, nnew, j->stored[i]) < 0)
			unstore(j->stored[i]);
	free_names(j->stored, j->nstored);
	j->stored = want;
	j->nstored = nnew;
	return 0;
out:
	/*
	 * What went to the store now stays listed (a later sync drops what it
	 * does not need); the previous snapshot stays current.
	 */
	for (int i = 0; i < nnew; i++)
		if (want[i] && find_name(j->stored, j->nstored, want[i]) < 0) {
			char **v = realloc(j->stored, (size_t)(j->nstored + 1) * sizeof(*v));

			if (!v)
				break;
			j->stored = v;
			j->stored[j->nstored++] = want[i];
			want[i] = NULL;
		}
	free_names(want, nnew);
	return err;
}

int cj_stored_names(struct cjournal *j, char ***names, int *n)
{
	char **v = calloc((size_t)j->nstored + 1, sizeof(char *));

	if (!v)
		return -ENOMEM;
	for (int i = 0; i < j->nstored; i++)
		if (!(v[i] = strdup(j->stored[i]))) {
			free_names(v, i);
			return -ENOMEM;
		}
	*names = v;
	*n = j->nstored;
	return 0;
}

int cj_inherit_names(struct cjournal *j, char *const *names, int n)
{
	for (int i = 0; i < n; i++) {
		char **v;

		if (!names[i] || !*names[i] || find_name(j->stored, j->nstored, names[i]) >= 0)
			continue;
		v = realloc(j->stored, (size_t)(j->nstored + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		j->stored = v;
		if (!(v[j->nstored] = strdup(names[i])))
			return -ENOMEM;
		j->nstored++;
	}
	return 0;
}

/* --- recovery -------------------------------------------------------------- */

int cj_read(int fd, struct cj_recovery *out)
{
	struct cj_hdr *h;
	struct cj_qent *q;
	struct cj_ient *in;
	struct cj_rslot *rs;
	struct stat st;
	uint32_t cur;
	void *m;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size < CJ_SIZE)
		return -EINVAL;
	m = mmap(NULL, CJ_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	map_tables(m, &h, &q, &in, &rs);
	if (memcmp(h->magic, CJ_MAGIC, 8) || h->version != CJ_VERSION || h->qslots != CJ_QSLOTS ||
	    h->islots != CJ_ISLOTS) {
		err = -EINVAL;
		goto out;
	}
	cur = __atomic_load_n(&h->cur, __ATOMIC_ACQUIRE);
	out->epoch = h->epoch;
	out->max_kh = h->max_kh;
	for (int k = 0; k < CJ_CONNS && out->nconns < CJ_CONNS; k++)
		if (h->conns[k].conn) {
			out->conn[out->nconns] = h->conns[k].conn;
			out->conn_max[out->nconns++] = h->conns[k].max_unique;
		}
	if (cur <= 1) {
		out->snap_gen = h->snap[cur].gen;
		out->snap_name = strndup(h->snap[cur].name, CJ_NAME_MAX - 1);
		if (!out->snap_name) {
			err = -ENOMEM;
			goto out;
		}
	}
	out->inflight = calloc(CJ_ISLOTS + CJ_CONNS, sizeof(*out->inflight));
	out->live_qid = calloc(CJ_QSLOTS, sizeof(uint64_t));
	out->live_gen = calloc(CJ_QSLOTS, sizeof(uint64_t));
	if (!out->inflight || !out->live_qid || !out->live_gen) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < CJ_ISLOTS; i++)
		if (in[i].unique) {
			struct cj_inflight *o = &out->inflight[out->ninflight++];

			*o = (struct cj_inflight){ .unique = in[i].unique, .fh = in[i].fh,
						   .opcode = in[i].opcode, .conn = in[i].conn };
			if (in[i].len <= CJ_REQ_MAX) {
				o->len = in[i].len;
				memcpy(o->req, in[i].req, o->len);
			}
		}
	/*
	 * The read slots: the last request each connection read, complete
	 * from the kernel's copy on even if the process died before its
	 * record.  Listed as in flight when the table does not have it (the
	 * successor asks the kernel whether it still waits for an answer:
	 * most were answered long ago).
	 */
	for (int k = 0; k < CJ_CONNS; k++) {
		struct fuse_in_header ih;
		struct cj_inflight *o;
		bool dup = false;
		uint64_t fh;

		if (!h->conns[k].conn || !cj_request_wants_answer(rs[k].req, CJ_REQ_MAX, &fh))
			continue;
		memcpy(&ih, rs[k].req, sizeof(ih));
		for (int i = 0; i < out->ninflight && !dup; i++)
			dup = out->inflight[i].conn == h->conns[k].conn &&
			      out->inflight[i].unique == ih.unique;
		if (dup)
			continue;
		o = &out->inflight[out->ninflight++];
		*o = (struct cj_inflight){ .unique = ih.unique, .opcode = ih.opcode, .fh = fh,
					   .conn = h->conns[k].conn, .slot = true };
		if (ih.len <= CJ_REQ_MAX) {
			o->len = ih.len;
			memcpy(o->req, rs[k].req, ih.len);
		}
		for (int c = 0; c < out->nconns; c++)
			if (out->conn[c] == o->conn && out->conn_max[c] < o->unique)
				out->conn_max[c] = o->unique;
	}
	for (int i = 0; i < CJ_QSLOTS; i++)
		if (q[i].key && (q[i].key - 1) % CJ_QSLOTS == (uint64_t)i) {
			out->live_qid[out->nlive] = q[i].key - 1;
			out->live_gen[out->nlive++] = q[i].gen;
		}
out:
	munmap(m, CJ_SIZE);
	if (err)
		cj_recovery_fini(out);
	return err;
}

void cj_recovery_fini(struct cj_recovery *r)
{
	free(r->inflight);
	free(r->live_qid);
	free(r->live_gen);
	free(r->snap_name);
	memset(r, 0, sizeof(*r));
}

uint64_t cj_live_gen(const struct cj_recovery *r, uint64_t qid)
{
	for (int i = 0; i < r->nlive; i++)
		if (r->live_qid[i] == qid)
			return r->live_gen[i] ? r->live_gen[i] : 1;
	return 0;
}
