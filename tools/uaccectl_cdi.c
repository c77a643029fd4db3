/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uaccectl_cdi.c - "uaccectl cdi": write a Container Device Interface
 * (CDI) spec for the devices a running uacced publishes, so that a
 * container engine (podman, containerd, CRI-O) gives a container a device
 * by name: `podman run --device uacced.io/uacce=zip-2 ...`.
 *
 * What a client needs is exactly what libuacce reads (libclient/uacce.c):
 * the runtime directory (devdir, class/<node>/ attributes, broker.sock;
 * control.sock comes along, guarded by its own mode) and the node
 * <devdir>/<node>.  The devices are the runtime directory's class/ entries
 * whose node exists: the same view a client has, no control socket (and
 * so no admin group) needed.  One CDI device per node, named like the node
 * without its "uacce-" prefix, plus "all".
 *
 * A CUSE node is a character device: a deviceNodes entry with the node's
 * mode, owner and group (the device number is left out: the engine reads
 * it from the host node when the container starts, so a daemon restart
 * that gets other minors does not make the spec stale).  A FUSE fallback
 * node is a file of the daemon's FUSE mount: the device gets that mount.
 */
#define _GNU_SOURCE
#include "config.h"	/* autoconf: PACKAGE_VERSION */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uaccectl_cdi.h"

#define CDI_VERSION		"0.5.0"
#define CDI_DEFAULT_VENDOR	"uacced.io"
#define CDI_CLASS		"uacce"
#define CDI_DEFAULT_OUTPUT	"/etc/cdi/uacce.json"
#define DEFAULT_RUNDIR		"/run/uacce"
#define NODE_PREFIX		"uacce-"

struct cdi_opts {
	const char *rundir;
	const char *output;
	const char *vendor;
	bool json;
};

/* one published device */
struct cdi_dev {
	char node[256];		/* class/ entry = node name */
	char name[256];		/* CDI device name */
	char path[PATH_MAX];	/* <devdir>/<node> */
	bool chr;		/* CUSE character device, else a FUSE file */
	struct stat st;
};

static void cdi_usage(FILE *f)
{
	fprintf(f,
		"Usage: uaccectl [--runtime-dir DIR] cdi [--output FILE|-] [--vendor NAME] [--json]\n"
		"Write a Container Device Interface spec (CDI %s) for the devices the running\n"
		"uacced publishes: one device per node (named without \"" NODE_PREFIX "\": zip-2,\n"
		"dummy-0) plus \"all\", of kind VENDOR/" CDI_CLASS ".\n\n"
		"  -o, --output FILE  where to write it, atomically (default %s;\n"
		"                     /run/cdi/uacce.json for one that goes at reboot;\n"
		"                     - for standard output)\n"
		"      --vendor NAME  the kind's vendor (default " CDI_DEFAULT_VENDOR ")\n"
		"  -j, --json         say what was written in JSON\n"
		"      --runtime-dir DIR  the daemon's runtime directory (default:\n"
		"                     $UACCE_RUNTIME_DIR, else " DEFAULT_RUNDIR ")\n\n"
		"Then: podman run --device " CDI_DEFAULT_VENDOR "/" CDI_CLASS "=zip-2 ...  Run it again\n"
		"after the devices change (reload, restart).\n",
		CDI_VERSION, CDI_DEFAULT_OUTPUT);
}

static int cdi_fail(const struct cdi_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int cdi_fail(const struct cdi_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->json) {
		json_object *r = json_object_new_object();

		json_object_object_add(r, "ok", json_object_new_boolean(false));
		json_object_object_add(r, "error", json_object_new_string(msg));
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(r);
	}
	fprintf(stderr, "uaccectl: cdi: %s\n", msg);
	return 1;
}

/*
 * CDI names (vendor, class, device): letters, digits and a few separators,
 * beginning and ending with a letter or digit (a vendor or class with a
 * letter).
 */
static bool cdi_name_ok(const char *s, const char *extra, bool letter_first)
{
	size_t n = strlen(s);

	if (!n || n > 200 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	if (letter_first && !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i])))
			return false;
	return true;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		err = ferror(f) ? -EIO : -ENODATA;
	fclose(f);
	if (!err)
		buf[strcspn(buf, "\n")] = '\0';
	return err;
}

static int by_version(const struct dirent **a, const struct dirent **b)
{
	return versionsort(a, b);
}

/* dummy-0, dummy-1, ..., dummy-10, zip-2 */
static int by_name(const void *a, const void *b)
{
	return strverscmp(((const struct cdi_dev *)a)->name, ((const struct cdi_dev *)b)->name);
}

/*
 * The published devices: class/<node>/ entries with a "dev" attribute
 * (written once the node exists) and a node at <devdir>/<node>.  *out is
 * malloc'd.  Count or -1 (said).
 */
static int find_devices(const struct cdi_opts *o, const char *devdir, struct cdi_dev **out)
{
	struct dirent **ents = NULL;
	struct cdi_dev *devs;
	char path[PATH_MAX + 600], val[64];
	int n, count = 0;

	snprintf(path, sizeof(path), "%s/class", o->rundir);
	n = scandir(path, &ents, NULL, by_version);
	if (n < 0)
		return cdi_fail(o, "%s: %s", path, strerror(errno)), -1;
	devs = calloc((size_t)n + 1, sizeof(*devs));
	if (!devs) {
		for (int i = 0; i < n; i++)
			free(ents[i]);
		free(ents);
		return cdi_fail(o, "out of memory"), -1;
	}
	for (int i = 0; i < n; i++) {
		struct cdi_dev *d = &devs[count];
		const char *e = ents[i]->d_name;

		if (e[0] == '.' || strlen(e) >= sizeof(d->node))
			goto next;
		snprintf(path, sizeof(path), "%s/class/%s/dev", o->rundir, e);
		if (read_line(path, val, sizeof(val)) < 0 || !val[0])
			goto next;	/* no node yet */
		snprintf(d->node, sizeof(d->node), "%s", e);
		if (snprintf(d->path, sizeof(d->path), "%s/%s", devdir, e) >= (int)sizeof(d->path) ||
		    stat(d->path, &d->st) < 0) {
			fprintf(stderr, "uaccectl: cdi: %s: %s: left out\n", d->path, strerror(errno));
			goto next;
		}
		d->chr = S_ISCHR(d->st.st_mode);
		if (!d->chr && !S_ISREG(d->st.st_mode)) {
			fprintf(stderr, "uaccectl: cdi: %s: neither a character device nor a FUSE "
				"file: left out\n", d->path);
			goto next;
		}
		/* "uacce-zip-2" -> "zip-2", unless that is no valid name */
		snprintf(d->name, sizeof(d->name), "%s",
			 strncmp(e, NODE_PREFIX, strlen(NODE_PREFIX)) == 0 &&
				 cdi_name_ok(e + strlen(NODE_PREFIX), "-_.:", false)
			 ? e + strlen(NODE_PREFIX) : e);
		if (!cdi_name_ok(d->name, "-_.:", false)) {
			fprintf(stderr, "uaccectl: cdi: node \"%s\" makes no valid CDI device name: "
				"left out\n", e);
			goto next;
		}
		count++;
next:
		free(ents[i]);
	}
	free(ents);
	/* a stripped name taken twice ("zip-2" and "uacce-zip-2"), or "all": full names */
	for (int i = 0; i < count; i++) {
		bool clash = strcmp(devs[i].name, "all") == 0;

		for (int j = 0; j < count; j++)
			clash |= j != i && strcmp(devs[i].name, devs[j].name) == 0;
		if (clash)
			snprintf(devs[i].name, sizeof(devs[i].name), "%s", devs[i].node);
	}
	for (int i = 0; i < count; i++)
		for (int j = 0; j < count; j++)
			if (j != i && strcmp(devs[i].name, devs[j].name) == 0) {
				cdi_fail(o, "devices \"%s\" and \"%s\" have the same CDI name",
					 devs[i].node, devs[j].node);
				free(devs);
				return -1;
			}
	qsort(devs, (size_t)count, sizeof(*devs), by_name);
	*out = devs;
	return count;
}

static json_object *jstrs(const char *a, ...)
{
	json_object *arr = json_object_new_array();
	va_list ap;

	va_start(ap, a);
	for (const char *s = a; s; s = va_arg(ap, const char *))
		json_object_array_add(arr, json_object_new_string(s));
	va_end(ap);
	return arr;
}

static json_object *mount_edit(const char *host, const char *ctr, json_object *options)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "hostPath", json_object_new_string(host));
	json_object_object_add(m, "containerPath", json_object_new_string(ctr));
	json_object_object_add(m, "options", options);
	return m;
}

/* the edits of device d, added to deviceNodes / mounts (created on demand) */
static void add_device_edits(json_object *edits, const struct cdi_dev *d, const char *devdir)
{
	json_object *arr;

	if (d->chr) {
		json_object *n = json_object_new_object();

		if (!json_object_object_get_ex(edits, "deviceNodes", &arr)) {
			arr = json_object_new_array();
			json_object_object_add(edits, "deviceNodes", arr);
		}
		json_object_object_add(n, "path", json_object_new_string(d->path));
		json_object_object_add(n, "fileMode",
				       json_object_new_int((int)(d->st.st_mode & 07777)));
		json_object_object_add(n, "uid", json_object_new_int64(d->st.st_uid));
		json_object_object_add(n, "gid", json_object_new_int64(d->st.st_gid));
		json_object_array_add(arr, n);
		return;
	}
	/* FUSE: the mount holds every node; one entry per device set */
	if (!json_object_object_get_ex(edits, "mounts", &arr)) {
		arr = json_object_new_array();
		json_object_object_add(edits, "mounts", arr);
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *h;

		if (json_object_object_get_ex(json_object_array_get_idx(arr, i), "hostPath", &h) &&
		    strcmp(json_object_get_string(h), devdir) == 0)
			return;
	}
	json_object_array_add(arr, mount_edit(devdir, devdir, jstrs("bind", "nosuid", "noexec", NULL)));
}

static json_object *cdi_device(const char *name, json_object *edits)
{
	json_object *dev = json_object_new_object();

	json_object_object_add(dev, "name", json_object_new_string(name));
	json_object_object_add(dev, "containerEdits", edits);
	return dev;
}

static json_object *build_spec(const char *kind, const char *rundir, const char *devdir,
			       const struct cdi_dev *devs, int count)
{
	json_object *spec = json_object_new_object(), *arr = json_object_new_array();
	json_object *all = json_object_new_object(), *top = json_object_new_object();

	json_object_object_add(spec, "cdiVersion", json_object_new_string(CDI_VERSION));
	json_object_object_add(spec, "kind", json_object_new_string(kind));
	for (int i = 0; i < count; i++) {
		json_object *edits = json_object_new_object();

		add_device_edits(edits, &devs[i], devdir);
		add_device_edits(all, &devs[i], devdir);
		json_object_array_add(arr, cdi_device(devs[i].name, edits));
	}
	json_object_array_add(arr, cdi_device("all", all));
	json_object_object_add(spec, "devices", arr);
	/*
	 * Every device needs the runtime directory, at the same path: the
	 * attributes, devdir (which names the node's path) and the sockets.
	 * Read-only is enough: connect(2) to a socket is allowed on a
	 * read-only mount.  Not recursive: a FUSE fallback's mount below it
	 * comes with the devices that need it.
	 */
	arr = json_object_new_array();
	json_object_array_add(arr, mount_edit(rundir, rundir,
					      jstrs("bind", "ro", "nosuid", "nodev", "noexec", NULL)));
	json_object_object_add(top, "mounts", arr);
	if (strcmp(rundir, DEFAULT_RUNDIR) != 0) {
		char env[PATH_MAX + 32];

		snprintf(env, sizeof(env), "UACCE_RUNTIME_DIR=%s", rundir);
		json_object_object_add(top, "env", jstrs(env, NULL));
	}
	json_object_object_add(spec, "containerEdits", top);
	return spec;
}

/* mkdir -p of path's parent directories, 0755 */
static int make_parents(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/*
 * path gets text, mode 0644, through a temporary file of the same
 * directory renamed over it: a reader (a container engine watching the
 * directory) sees the old spec or the new one.  The temporary's name
 * starts with a dot and does not end in .json, so that no CDI reader
 * takes it for a spec.  -errno.
 */
static int write_atomic(const char *path, const char *text)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *base = strrchr(path, '/');
	size_t len = strlen(text);
	int fd, err = 0;

	if (base) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(base - path), path);
		base++;
	} else {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	}
	if (!*base)
		return -EISDIR;
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir[0] ? dir : "", base) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	err = make_parents(path);
	if (err)
		return err;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, text, len) != (ssize_t)len || fchmod(fd, 0644) < 0 || fsync(fd) < 0)
		err = errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static int generate(const struct cdi_opts *o)
{
	char rundir[PATH_MAX], devdir[PATH_MAX], path[PATH_MAX + 16], kind[256];
	struct cdi_dev *devs = NULL;
	json_object *spec, *rep, *names;
	const char *text;
	int count, err;

	if (!cdi_name_ok(o->vendor, "-_.", true))
		return cdi_fail(o, "vendor \"%s\": letters, digits, '-', '_' and '.', beginning "
				"with a letter and ending with a letter or digit", o->vendor);
	snprintf(kind, sizeof(kind), "%s/%s", o->vendor, CDI_CLASS);
	if (!realpath(o->rundir, rundir))
		return cdi_fail(o, "runtime directory %s: %s", o->rundir, strerror(errno));
	snprintf(path, sizeof(path), "%s/devdir", rundir);
	err = read_line(path, devdir, sizeof(devdir));
	if (err == -ENOENT)
		return cdi_fail(o, "no uacced is running with the runtime directory %s (no %s)",
				rundir, path);
	if (err == -EACCES)
		return cdi_fail(o, "%s: permission denied", path);
	if (err)
		return cdi_fail(o, "%s: %s", path, strerror(-err));
	if (devdir[0] != '/')
		return cdi_fail(o, "%s: \"%s\" is no absolute path", path, devdir);
	{
		struct cdi_opts ro = *o;

		ro.rundir = rundir;
		count = find_devices(&ro, devdir, &devs);
	}
	if (count < 0)
		return 1;
	if (count == 0) {
		free(devs);
		return cdi_fail(o, "uacced publishes no device in %s/class", rundir);
	}
	spec = build_spec(kind, rundir, devdir, devs, count);
	text = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (strcmp(o->output, "-") == 0) {
		err = printf("%s\n", text) < 0 || fflush(stdout) ? 1 : 0;
		json_object_put(spec);
		free(devs);
		return err;
	}
	{
		char *t = malloc(strlen(text) + 2);

		if (!t)
			err = -ENOMEM;
		else {
			sprintf(t, "%s\n", text);
			err = write_atomic(o->output, t);
			free(t);
		}
	}
	json_object_put(spec);
	if (err) {
		free(devs);
		return cdi_fail(o, "%s: %s", o->output, strerror(-err));
	}
	if (o->json) {
		rep = json_object_new_object();
		names = json_object_new_array();
		json_object_object_add(rep, "ok", json_object_new_boolean(true));
		json_object_object_add(rep, "output", json_object_new_string(o->output));
		json_object_object_add(rep, "kind", json_object_new_string(kind));
		for (int i = 0; i < count; i++) {
			json_object *d = json_object_new_object();

			json_object_object_add(d, "name", json_object_new_string(devs[i].name));
			json_object_object_add(d, "node", json_object_new_string(devs[i].path));
			json_object_object_add(d, "frontend",
					       json_object_new_string(devs[i].chr ? "cuse" : "fuse"));
			json_object_array_add(names, d);
		}
		json_object_object_add(rep, "devices", names);
		printf("%s\n", json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(rep);
	} else {
		printf("%s: kind %s, devices:", o->output, kind);
		for (int i = 0; i < count; i++)
			printf(" %s", devs[i].name);
		printf(" all\n");
		printf("use: podman run --device %s=%s ...\n", kind, devs[0].name);
	}
	free(devs);
	return 0;
}

/* the options of uaccectl's main that take an argument */
static bool takes_arg(const char *opt)
{
	return strcmp(opt, "--runtime-dir") == 0;
}

bool uaccectl_cdi_requested(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1 < argc && strcmp(argv[i + 1], "cdi") == 0;
		if (argv[i][0] != '-')
			return strcmp(argv[i], "cdi") == 0;
		if (takes_arg(argv[i]))
			i++;
	}
	return false;
}

int uaccectl_cdi_main(int argc, char **argv)
{
	enum { O_RUNDIR = 256, O_VENDOR, O_VERSION };
	static const struct option opts[] = {
		{ "runtime-dir", required_argument, NULL, O_RUNDIR },
		{ "output", required_argument, NULL, 'o' },
		{ "vendor", required_argument, NULL, O_VENDOR },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 },
	};
	struct cdi_opts o = { .output = CDI_DEFAULT_OUTPUT, .vendor = CDI_DEFAULT_VENDOR };
	int c, ncmd = 0;

	while ((c = getopt_long(argc, argv, "o:jh", opts, NULL)) != -1) {
		switch (c) {
		case O_RUNDIR:
			o.rundir = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case O_VENDOR:
			o.vendor = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			cdi_usage(stdout);
			return 0;
		case O_VERSION:
			printf("uaccectl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			cdi_usage(stderr);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++)
		ncmd++;
	if (ncmd != 1 || !*o.output) {
		fprintf(stderr, "uaccectl: cdi takes no argument\n");
		cdi_usage(stderr);
		return 2;
	}
	if (!o.rundir) {
		o.rundir = getenv("UACCE_RUNTIME_DIR");
		if (!o.rundir || !*o.rundir)
			o.rundir = DEFAULT_RUNDIR;
	}
	return generate(&o);
}
