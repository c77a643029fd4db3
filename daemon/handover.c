/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handover.c - a live restart's state (handover.h): the document, its fd
 * table, and the two transports (execve of a spawned successor, systemd's
 * fd store), which both arrive as LISTEN_FDS/LISTEN_FDNAMES.
 */
#define _GNU_SOURCE
#if __has_include("config.h")	/* autoconf's; the fuzz harnesses build without it */
#include "config.h"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "handover.h"
#include "log.h"

#define FD_BASE 3		/* sd_listen_fds(3): the first passed fd */
#define MAX_FDS 65536
#define MAX_STATE (256u << 20)

struct ho_state {
	json_object *root;
	int *fds;		/* -1: taken */
	char **names;		/* each fd's stable name (ho_put_fd_named) or NULL */
	int nfds, cap;
	int format;
	bool from_store;	/* arrived through systemd's fd store */
	/* received without a planned state: every fd by its store name */
	int *raw_fds;
	char **raw_names;
	int nraw;
	char **store_names;	/* their names, for ho_fdstore_forget */
	int nstore;
};

int ho_new(struct ho_state **out)
{
	struct ho_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->root = json_object_new_object();
	if (!s->root) {
		free(s);
		return -ENOMEM;
	}
	s->format = HO_FORMAT;
	json_object_object_add(s->root, "format", json_object_new_int(HO_FORMAT));
	json_object_object_add(s->root, "version", json_object_new_string(PACKAGE_VERSION));
	*out = s;
	return 0;
}

void ho_free(struct ho_state *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nfds; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	for (int i = 0; i < s->nstore; i++)
		free(s->store_names[i]);
	free(s->store_names);
	for (int i = 0; i < s->nraw; i++) {
		if (s->raw_fds[i] >= 0)
			close(s->raw_fds[i]);
		free(s->raw_names[i]);
	}
	free(s->raw_fds);
	free(s->raw_names);
	for (int i = 0; i < s->nfds; i++)
		free(s->names[i]);
	free(s->names);
	free(s->fds);
	json_object_put(s->root);
	free(s);
}

json_object *ho_root(struct ho_state *s)
{
	return s->root;
}

int ho_format(const struct ho_state *s)
{
	return s->format;
}

static int table_add(struct ho_state *s, int fd)
{
	if (s->nfds == s->cap) {
		int cap = s->cap ? s->cap * 2 : 64;
		int *n;
		char **nm;

		if (cap > MAX_FDS)
			return -EMFILE;
		n = realloc(s->fds, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->fds = n;
		nm = realloc(s->names, (size_t)cap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		s->names = nm;
		s->cap = cap;
	}
	s->fds[s->nfds] = fd;
	s->names[s->nfds] = NULL;
	return s->nfds++;
}

int ho_put_fd(struct ho_state *s, int fd)
{
	int d, idx;

	if (fd < 0)
		return -EBADF;
	/* above the range the transports move fds into: no clash when moving */
	d = fcntl(fd, F_DUPFD_CLOEXEC, 1024);
	if (d < 0)
		d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d < 0)
		return -errno;
	idx = table_add(s, d);
	if (idx < 0)
		close(d);
	return idx;
}

int ho_put_fd_named(struct ho_state *s, int fd, const char *name)
{
	int idx = ho_put_fd(s, fd);

	if (idx >= 0 && name && !(s->names[idx] = strdup(name))) {
		close(s->fds[idx]);
		s->nfds--;
		return -ENOMEM;
	}
	return idx;
}

int ho_nfds(const struct ho_state *s)
{
	return s->nfds;
}

int ho_fd_at(const struct ho_state *s, int idx)
{
	return idx >= 0 && idx < s->nfds ? s->fds[idx] : -EBADF;
}

const char *ho_fd_name(const struct ho_state *s, int idx)
{
	return idx >= 0 && idx < s->nfds ? s->names[idx] : NULL;
}

int ho_take_fd(struct ho_state *s, int idx)
{
	int fd;

	if (idx < 0 || idx >= s->nfds || s->fds[idx] < 0)
		return -EBADF;
	fd = s->fds[idx];
	s->fds[idx] = -1;
	return fd;
}

int ho_peek_fd(const struct ho_state *s, int idx)
{
	if (idx < 0 || idx >= s->nfds || s->fds[idx] < 0)
		return -EBADF;
	return s->fds[idx];
}

/* --- json helpers -------------------------------------------------------- */

json_object *ho_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

int64_t ho_get_int(json_object *o, const char *key, int64_t dflt)
{
	json_object *v = ho_get(o, key);

	return v && (json_object_is_type(v, json_type_int) ||
		     json_object_is_type(v, json_type_boolean)) ? json_object_get_int64(v) : dflt;
}

const char *ho_get_str(json_object *o, const char *key, const char *dflt)
{
	json_object *v = ho_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int ho_set_bytes(json_object *o, const char *key, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t n = (len + 2) / 3 * 4;
	char *out = malloc(n + 1), *w = out;
	json_object *v;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t x = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			x |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			x |= p[i + 2];
		*w++ = b64[x >> 18 & 63];
		*w++ = b64[x >> 12 & 63];
		*w++ = i + 1 < len ? b64[x >> 6 & 63] : '=';
		*w++ = i + 2 < len ? b64[x & 63] : '=';
	}
	*w = 0;
	v = json_object_new_string_len(out, (int)n);
	free(out);
	if (!v)
		return -ENOMEM;
	json_object_object_add(o, key, v);
	return 0;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int ho_get_bytes(json_object *o, const char *key, void *buf, size_t cap, size_t *len)
{
	const char *s = ho_get_str(o, key, NULL);
	uint8_t *out = buf;
	size_t n, used = 0;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n % 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		uint32_t x = 0;

		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = b64_val(s[i + k])) < 0)
				return -EINVAL;
		}
		x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		for (int k = 0; k < 3 - pad; k++) {
			if (used == cap)
				return -ENOSPC;
			out[used++] = (uint8_t)(x >> (16 - 8 * k));
		}
	}
	*len = used;
	return 0;
}

/* a store name's length (FDNAME=) */
#define HO_NAME_MAX 96

/* --- the state memfd ----------------------------------------------------- */

static int state_memfd(struct ho_state *s)
{
	return ho_state_memfd(s, HO_STATE_NAME);
}

int ho_state_memfd(struct ho_state *s, const char *name)
{
	const char *text;
	size_t len, off = 0;
	int fd;

	json_object_object_add(s->root, "nfds", json_object_new_int(s->nfds));
	text = json_object_to_json_string_ext(s->root, JSON_C_TO_STRING_PLAIN);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		off += (size_t)n;
	}
	/* the successor reads what was written, nothing else can change it */
	fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	return fd;
}

static int parse_state(int fd, json_object **out)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	json_tokener *tok;
	json_object *root = NULL;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || (uint64_t)st.st_size > MAX_STATE)
		return -EINVAL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		got += (size_t)n;
	}
	buf[got] = 0;
	tok = json_tokener_new();
	root = tok ? json_tokener_parse_ex(tok, buf, (int)got) : NULL;
	if (tok)
		json_tokener_free(tok);
	free(buf);
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return -EINVAL;
	}
	*out = root;
	return 0;
}

/* --- transports ---------------------------------------------------------- */

static int names_env(const struct ho_state *s, char **out)
{
	size_t cap = 32 + (size_t)s->nfds * 12;
	char *env = malloc(cap), *w;

	if (!env)
		return -ENOMEM;
	w = env + sprintf(env, "LISTEN_FDNAMES=%s", HO_STATE_NAME);
	for (int i = 0; i < s->nfds; i++)
		w += sprintf(w, ":ho%d", i);
	*out = env;
	return 0;
}

/*
 * What both execve transports need: every table fd (and the state memfd,
 * *sfd) above the targets 3 .. 3 + nfds, so that no dup2 clobbers a
 * source, and the environment (*envp, whose LISTEN_* strings are in *names
 * and bufs): the caller frees *envp and *names and closes *sfd.  A hole in
 * the table (a taken fd) becomes /dev/null.  pid_var: "LISTEN_PID" (this
 * process will exec) or "UACCED_HO_PARENT" (a child will).
 */
struct exec_env {
	char fds[32], pid[48];
};

static int exec_prepare(struct ho_state *s, const char *pid_var, struct exec_env *b, int *sfd,
			char ***envp, char **names)
{
	extern char **environ;
	int nenv = 0, err, floor = FD_BASE + 1 + s->nfds;

	*sfd = -1;
	*envp = NULL;
	*names = NULL;
	for (int i = 0; i < s->nfds; i++) {
		if (s->fds[i] < 0 && (s->fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			return -errno;
		if (s->fds[i] < floor) {
			int d = fcntl(s->fds[i], F_DUPFD_CLOEXEC, floor);

			if (d < 0)
				return -errno;
			close(s->fds[i]);
			s->fds[i] = d;
		}
	}
	*sfd = state_memfd(s);
	if (*sfd < 0)
		return *sfd;
	if (*sfd < floor) {
		int d = fcntl(*sfd, F_DUPFD_CLOEXEC, floor);

		close(*sfd);
		*sfd = d;
		if (d < 0)
			return -errno;
	}
	err = names_env(s, names);
	if (err)
		return err;
	while (environ[nenv])
		nenv++;
	*envp = calloc((size_t)nenv + 4, sizeof(**envp));
	if (!*envp)
		return -ENOMEM;
	nenv = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LISTEN_", 7) != 0 && strncmp(*e, "UACCED_HO_", 10) != 0)
			(*envp)[nenv++] = *e;
	snprintf(b->fds, sizeof(b->fds), "LISTEN_FDS=%d", s->nfds + 1);
	snprintf(b->pid, sizeof(b->pid), "%s=%d", pid_var, (int)getpid());
	(*envp)[nenv++] = b->fds;
	(*envp)[nenv++] = *names;
	(*envp)[nenv++] = b->pid;
	(*envp)[nenv] = NULL;
	return 0;
}

int ho_exec(struct ho_state *s, const char *path, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct exec_env b;
	char **envp, *names;
	int sfd, err;
	pid_t pid;

	/* the child is no LISTEN_PID: it finds its parent's pid instead */
	err = exec_prepare(s, "UACCED_HO_PARENT", &b, &sfd, &envp, &names);
	if (err)
		goto out;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* the table's fds (all above the targets) go to 3, 4, ... */
	err = posix_spawn_file_actions_adddup2(&fa, sfd, FD_BASE);
	for (int i = 0; !err && i < s->nfds; i++)
		err = posix_spawn_file_actions_adddup2(&fa, s->fds[i], FD_BASE + 1 + i);
	if (!err)
		err = posix_spawn(&pid, path, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	err = -err;
	if (!err)
		err = (int)pid;	/* the caller waits for its answer */
out:
	free(envp);
	free(names);
	if (sfd >= 0)
		close(sfd);
	return err;
}

int ho_exec_inplace(struct ho_state *s, const char *path, char *const argv[])
{
	struct exec_env b;
	char **envp, *names;
	int sfd, err;

	if (access(path, X_OK) < 0)
		return -errno;
	err = exec_prepare(s, "LISTEN_PID", &b, &sfd, &envp, &names);
	if (err) {
		free(envp);
		free(names);
		if (sfd >= 0)
			close(sfd);
		return err;
	}
	/* from here on this image is given up: no way back */
	if (close_range(FD_BASE, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;

		while (d && (e = readdir(d)))
			if (atoi(e->d_name) >= FD_BASE)
				fcntl(atoi(e->d_name), F_SETFD, FD_CLOEXEC);
		if (d)
			closedir(d);
	}
	/* dup2 clears close-on-exec on the targets: only they go on */
	if (dup2(sfd, FD_BASE) < 0)
		goto fail;
	for (int i = 0; i < s->nfds; i++)
		if (dup2(s->fds[i], FD_BASE + 1 + i) < 0)
			goto fail;
	execve(path, argv, envp);
fail:
	log_err("live restart: cannot become %s: %m; this process ends (its queues with it)",
		path);
	_exit(1);
}

/* one sd_notify datagram with fds (at most SCM_MAX_FD = 253 of them) */
int ho_notify(const char *msg, const int *fds, int n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_name = &sa, .msg_iov = &iov, .msg_iovlen = 1 };
	socklen_t salen;
	int sock, err = 0;

	if (!path || !*path || (path[0] != '/' && path[0] != '@'))
		return -ENOTSUP;
	if (strlen(path) >= sizeof(sa.sun_path) || n > 253)
		return -EINVAL;
	strcpy(sa.sun_path, path);
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	else
		salen++;
	mh.msg_namelen = salen;
	if (n > 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	}
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		err = -errno;
	close(sock);
	return err;
}

/*
 * Wait until systemd has processed every message sent so far (BARRIER=1,
 * sd_notify_barrier(3)): messages of a process that has exited may not be
 * attributed to the service any more.
 */
int ho_notify_barrier(void)
{
	int p[2], err;
	struct pollfd pf;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	err = ho_notify("BARRIER=1", &p[1], 1);
	close(p[1]);
	pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (!err) {
		int n = poll(&pf, 1, 5000);

		err = n < 0 ? -errno : n == 0 ? -ETIMEDOUT : 0;
	}
	close(p[0]);
	return err;
}

void ho_store_name(char *buf, size_t len, const char *prefix, const char *name)
{
	snprintf(buf, len, "%s-%s", prefix, name);
}

int ho_fdstore(struct ho_state *s, const char *prefix)
{
	json_object *names = prefix ? json_object_new_array() : NULL;
	char msg[64 + HO_NAME_MAX], nm[HO_NAME_MAX];
	int sfd, err;

	if (prefix && !names)
		return -ENOMEM;
	/* one datagram each (FDNAME names all its fds) */
	for (int i = 0; i < s->nfds; i++) {
		bool again = false;

		if (s->fds[i] < 0) {
			json_object_put(names);
			return -EBADF;
		}
		if (prefix && s->names[i])
			ho_store_name(nm, sizeof(nm), prefix, s->names[i]);
		else
			snprintf(nm, sizeof(nm), "ho%d", i);
		for (int k = 0; prefix && s->names[i] && k < i; k++)
			again |= s->names[k] && strcmp(s->names[k], s->names[i]) == 0;
		if (names)
			json_object_array_add(names, json_object_new_string(nm));
		if (again)
			continue;	/* one file, named twice (a shared region) */
		snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", nm);
		err = ho_notify(msg, &s->fds[i], 1);
		if (err) {
			json_object_put(names);
			return err;
		}
	}
	if (names)
		json_object_object_add(s->root, "fdnames", names);
	sfd = state_memfd(s);
	if (sfd < 0)
		return sfd;
	/* the state last: a successor that finds it finds every fd it names */
	err = ho_notify("FDSTORE=1\nFDNAME=" HO_STATE_NAME, &sfd, 1);
	close(sfd);
	return err ? err : ho_notify_barrier();
}

void ho_fdstore_forget(struct ho_state *s)
{
	char msg[96];

	if (!s || !s->from_store)
		return;
	for (int i = 0; i < s->nstore; i++) {
		snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", s->store_names[i]);
		if (ho_notify(msg, NULL, 0) < 0)
			log_warn("live restart: cannot drop %s from systemd's fd store",
				 s->store_names[i]);
	}
}

static void clear_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("UACCED_HO_PARENT");
}

static int raw_add(struct ho_state *s, int fd, const char *name)
{
	int *f = realloc(s->raw_fds, (size_t)(s->nraw + 1) * sizeof(*f));
	char **n;

	if (!f)
		return -ENOMEM;
	s->raw_fds = f;
	n = realloc(s->raw_names, (size_t)(s->nraw + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->raw_names = n;
	if (!(n[s->nraw] = strdup(name)))
		return -ENOMEM;
	f[s->nraw++] = fd;
	return 0;
}

int ho_raw_count(const struct ho_state *s)
{
	return s->nraw;
}

const char *ho_raw_name(const struct ho_state *s, int i)
{
	return i >= 0 && i < s->nraw && s->raw_fds[i] >= 0 ? s->raw_names[i] : NULL;
}

int ho_store_names(const struct ho_state *s, char *const **names)
{
	*names = s->store_names;
	return s->from_store ? s->nstore : 0;
}

bool ho_is_raw(const struct ho_state *s)
{
	return s && s->format == 0;
}

int ho_raw_take(struct ho_state *s, const char *name)
{
	for (int i = 0; i < s->nraw; i++)
		if (s->raw_fds[i] >= 0 && strcmp(s->raw_names[i], name) == 0) {
			int fd = s->raw_fds[i];

			s->raw_fds[i] = -1;
			return fd;
		}
	return -ENOENT;
}

/*
 * Fill the table from the store by the state's "fdnames" (index i: the
 * store name of fd i): an index already filled ("ho<i>") stays; a name
 * that comes again (one file, two indices) gets a dup of the first.
 * An fd the store does not hold stays -1 (logged).  -errno.
 */
static int resolve_names(struct ho_state *s, json_object *names, const char *what)
{
	size_t n = json_object_array_length(names);

	for (size_t i = 0; i < n; i++) {
		const char *nm = json_object_get_string(json_object_array_get_idx(names, i));
		int f = -ENOENT;

		if (i < (size_t)s->nfds && s->fds[i] >= 0)
			continue;
		if (nm && *nm) {
			f = ho_raw_take(s, nm);
			for (size_t k = 0; f < 0 && k < i && k < (size_t)s->nfds; k++) {
				const char *o = json_object_get_string(
					json_object_array_get_idx(names, k));

				if (o && strcmp(o, nm) == 0 && s->fds[k] >= 0)
					f = fcntl(s->fds[k], F_DUPFD_CLOEXEC, 0);
			}
		}
		while ((size_t)s->nfds <= i) {
			int e = table_add(s, -1);

			if (e < 0) {
				if (f >= 0)
					close(f);
				return e;
			}
		}
		s->fds[i] = f < 0 ? -1 : f;
		if (f < 0)
			log_warn("%s: the state names fd %zu \"%s\", which the store does not hold",
				 what, i, nm ? nm : "");
	}
	return 0;
}

int ho_load_snapshot(struct ho_state *s, int fd)
{
	json_object *root = NULL, *names;
	int err = parse_state(fd, &root), format;

	if (err)
		return err;
	format = (int)ho_get_int(root, "format", 0);
	names = ho_get(root, "fdnames");
	if (format < 1 || format > HO_FORMAT || !names ||
	    !json_object_is_type(names, json_type_array)) {
		json_object_put(root);
		return format > HO_FORMAT ? -EPROTO : -EINVAL;
	}
	err = resolve_names(s, names, "crash restart");
	if (err < 0) {
		json_object_put(root);
		return err;
	}
	json_object_put(s->root);
	s->root = root;
	s->format = format;
	return 0;
}

int ho_receive(struct ho_state **out)
{
	const char *fds_s = getenv("LISTEN_FDS"), *pid_s = getenv("LISTEN_PID");
	const char *parent_s = getenv("UACCED_HO_PARENT"), *names_s = getenv("LISTEN_FDNAMES");
	struct ho_state *s = NULL;
	char *names = NULL, *save = NULL, *tok;
	int n, state_fd = -1, err = 0, i;
	json_object *root = NULL;

	*out = NULL;
	if (!fds_s || !names_s) {
		clear_listen_env();
		return 0;
	}
	/* ours: systemd or our own image before an execve names this pid, or
	 * our predecessor spawned us (to check the state) */
	if (!(pid_s && atoi(pid_s) == (int)getpid()) &&
	    !(parent_s && atoi(parent_s) == (int)getppid())) {
		clear_listen_env();
		return 0;
	}
	n = atoi(fds_s);
	if (n <= 0 || n > MAX_FDS) {
		clear_listen_env();
		return 0;
	}
	err = ho_new(&s);
	if (err)
		goto fail;
	s->from_store = !parent_s;
	s->store_names = calloc((size_t)n, sizeof(char *));
	names = strdup(names_s);
	if (!s->store_names || !names) {
		err = -ENOMEM;
		goto fail;
	}
	/* the table holds every fd by its number: index from "ho<index>" */
	tok = strtok_r(names, ":", &save);
	for (i = 0; i < n; i++, tok = strtok_r(NULL, ":", &save)) {
		int fd = FD_BASE + i;
		char *end;
		long idx;

		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (!tok)
			continue;	/* unnamed: not ours, left alone */
		if (strcmp(tok, HO_STATE_NAME) == 0) {
			state_fd = fd;
			s->store_names[s->nstore++] = strdup(tok);
			continue;
		}
		idx = strncmp(tok, "ho", 2) == 0 ? strtol(tok + 2, &end, 10) : -1;
		if (idx < 0 || *end || idx >= MAX_FDS) {
			/* another module's (the crash journal): by its name */
			err = raw_add(s, fd, tok);
			if (err)
				goto fail;
			s->store_names[s->nstore++] = strdup(tok);
			continue;
		}
		s->store_names[s->nstore++] = strdup(tok);
		while (s->nfds <= idx) {
			int e = table_add(s, -1);

			if (e < 0) {
				err = e;
				goto fail;
			}
		}
		s->fds[idx] = fd;
	}
	clear_listen_env();
	if (state_fd < 0) {
		if (s->nfds)
			log_warn("live restart: %d handed fd(s) but no %s: starting afresh",
				 s->nfds, HO_STATE_NAME);
		if (s->nraw && s->from_store) {
			/* no planned state: the crash journal's, if any, is in there */
			for (i = 0; i < s->nfds; i++)
				if (s->fds[i] >= 0)
					close(s->fds[i]);
			s->nfds = 0;
			s->format = 0;
			free(names);
			*out = s;
			return 0;
		}
		ho_fdstore_forget(s);
		ho_free(s);
		free(names);
		return 0;
	}
	err = parse_state(state_fd, &root);
	close(state_fd);
	if (err) {
		log_err("live restart: the handed state cannot be read: %s", strerror(-err));
		goto fail;
	}
	json_object_put(s->root);
	s->root = root;
	s->format = (int)ho_get_int(root, "format", 0);
	if (s->format < 1 || s->format > HO_FORMAT) {
		log_err("live restart: the handed state has format %d; this uacced reads 1..%d",
			s->format, HO_FORMAT);
		err = -EPROTO;
		goto fail;
	}
	/* fds stored by name (the crash journal's): found by the state's list */
	if (ho_get(root, "fdnames") && json_object_is_type(ho_get(root, "fdnames"), json_type_array)) {
		err = resolve_names(s, ho_get(root, "fdnames"), "live restart");
		if (err)
			goto fail;
	}
	if (ho_get_int(root, "nfds", -1) != s->nfds) {
		log_err("live restart: the state names %lld fd(s), %d arrived",
			(long long)ho_get_int(root, "nfds", -1), s->nfds);
		err = -EPROTO;
		goto fail;
	}
	free(names);
	*out = s;
	return 0;
fail:
	free(names);
	ho_free(s);
	clear_listen_env();
	return err;
}
