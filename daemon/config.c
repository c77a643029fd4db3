/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "uacced_config.h"
#include "config_internal.h"
#include "policy.h"

const char config_embedded_default[] =
	"{\n"
	"  \"nodes\": { \"group\": \"uacce\", \"mode\": \"0660\" },\n"
	"  \"devices\": [\n"
	"    { \"name\": \"dummy\", \"backend\": \"soft\", \"api\": \"dummy_v1\",\n"
	"      \"sva\": false, \"queues\": 8 },\n"
	"    { \"name\": \"dummy\", \"backend\": \"soft\", \"api\": \"dummy_v2\",\n"
	"      \"sva\": true, \"queues\": 8 },\n"
	"    { \"name\": \"zip\", \"backend\": \"soft\", \"api\": \"uacce_zip_v1\",\n"
	"      \"sva\": true, \"queues\": 16 }\n"
	"  ]\n"
	"}\n";

int config_fail(char *err, size_t errlen, const char *origin, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: ", origin);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool key_allowed(const char *key, const char *const *allowed)
{
	for (; allowed && *allowed; allowed++)
		if (strcmp(key, *allowed) == 0)
			return true;
	return false;
}

int config_check_keys(json_object *obj, const char *path, const char *const *allowed,
		      const char *origin, char *err, size_t errlen)
{
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (!key_allowed(key, allowed))
			return config_fail(err, errlen, origin, "%s%s%s: unknown key", path,
					   *path ? "." : "", key);
	}
	return 0;
}

bool config_get(json_object *obj, const char *key, json_object **v)
{
	return json_object_object_get_ex(obj, key, v) && *v;
}

static int parse_nodes(json_object *nodes, struct uacce_config *c, const char *origin,
		       char *err, size_t errlen)
{
	static const char *const keys[] = { "group", "mode", "owner", NULL };
	json_object *v;
	int r;

	if (!json_object_is_type(nodes, json_type_object))
		return config_fail(err, errlen, origin, "nodes: must be an object");
	r = config_check_keys(nodes, "nodes", keys, origin, err, errlen);
	if (r)
		return r;
	if (config_get(nodes, "group", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) >= sizeof(c->group))
			return config_fail(err, errlen, origin, "nodes.group: must be a group name");
		snprintf(c->group, sizeof(c->group), "%s", json_object_get_string(v));
	}
	if (config_get(nodes, "owner", &v)) {
		const char *s = json_object_get_string(v);

		if ((!json_object_is_type(v, json_type_string) &&
		     !json_object_is_type(v, json_type_int)) || strlen(s) >= sizeof(c->owner))
			return config_fail(err, errlen, origin, "nodes.owner: must be a user name or uid");
		if (config_user_id(s, &c->owner_uid))
			return config_fail(err, errlen, origin, "nodes.owner: no such user \"%s\"", s);
		snprintf(c->owner, sizeof(c->owner), "%s", s);
	}
	if (config_get(nodes, "mode", &v)) {
		const char *s = json_object_get_string(v);
		char *end;
		long m;

		if (!json_object_is_type(v, json_type_string))
			return config_fail(err, errlen, origin,
				    "nodes.mode: must be an octal string such as \"0660\"");
		errno = 0;
		m = strtol(s, &end, 8);
		if (errno || *s == '\0' || *end != '\0' || m < 0 || m > 0777)
			return config_fail(err, errlen, origin, "nodes.mode: \"%s\" is not a mode (0000-0777)",
				    s);
		c->mode = (mode_t)m;
	}
	return 0;
}

/* the keys every device entry may have; backends name their own */
static bool known_device_key(const char *key)
{
	static const char *const keys[] = { "name", "backend", "api", "sva", "queues", "abi",
					    "node_prefix", NULL };

	return key_allowed(key, keys);
}

static int parse_device(json_object *d, int i, struct uacce_dev_cfg *dc, const char *origin,
			char *err, size_t errlen)
{
	const struct uacce_backend_cfg_ops *ops;
	char path[32], why[256];
	json_object *v;

	snprintf(path, sizeof(path), "devices[%d]", i);
	if (!json_object_is_type(d, json_type_object))
		return config_fail(err, errlen, origin, "%s: must be an object", path);
	memset(dc, 0, sizeof(*dc));
	dc->entry = d;
	dc->backend = "soft";
	dc->queues = 8;
	if (!config_get(d, "name", &v) || !json_object_is_type(v, json_type_string))
		return config_fail(err, errlen, origin, "%s.name: required string", path);
	dc->name = json_object_get_string(v);
	if (!*dc->name || strlen(dc->name) > 32 || strspn(dc->name,
	    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(dc->name))
		return config_fail(err, errlen, origin,
			    "%s.name: \"%s\" must be 1-32 of [a-z0-9_]", path, dc->name);
	if (config_get(d, "backend", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return config_fail(err, errlen, origin, "%s.backend: must be a string", path);
		dc->backend = json_object_get_string(v);
	}
	ops = uacce_backend_cfg_find(dc->backend);
	if (!ops)
		return config_fail(err, errlen, origin, "%s.backend: unknown backend \"%s\"", path,
			    dc->backend);
	/* the common keys, and those the backend names as its own */
	json_object_object_foreach(d, key, val) {
		(void)val;
		if (!known_device_key(key) && !key_allowed(key, ops->extra_keys))
			return config_fail(err, errlen, origin, "%s.%s: unknown key", path, key);
	}
	if (!config_get(d, "api", &v) || !json_object_is_type(v, json_type_string))
		return config_fail(err, errlen, origin, "%s.api: required string", path);
	dc->api = json_object_get_string(v);
	if (config_get(d, "sva", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return config_fail(err, errlen, origin, "%s.sva: must be true or false", path);
		dc->sva = json_object_get_boolean(v);
	}
	if (config_get(d, "queues", &v)) {
		if (!json_object_is_type(v, json_type_int))
			return config_fail(err, errlen, origin, "%s.queues: must be an integer", path);
		errno = 0;
		int64_t n = json_object_get_int64(v);
		if (n < 1 || n > 4096)
			return config_fail(err, errlen, origin, "%s.queues: %lld is out of range 1-4096",
				    path, (long long)n);
		dc->queues = (int)n;
	}
	if (config_get(d, "abi", &v)) {
		const char *abi = json_object_is_type(v, json_type_string) ?
				  json_object_get_string(v) : "";

		if (strcmp(abi, "v4") == 0)
			dc->abi = UACCE_ABI_V4;
		else if (strcmp(abi, "mainline") == 0)
			dc->abi = UACCE_ABI_MAINLINE;
		else
			return config_fail(err, errlen, origin,
				    "%s.abi: must be \"v4\" or \"mainline\"", path);
	}
	if (config_get(d, "node_prefix", &v)) {
		const char *np = json_object_is_type(v, json_type_string) ?
				 json_object_get_string(v) : "";

		/* a file name under /dev: no '/', no dot files, room for "-<id>" */
		if (!*np || strlen(np) > 48 || np[0] == '.' || np[0] == '-' ||
		    strspn(np, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(np))
			return config_fail(err, errlen, origin,
				    "%s.node_prefix: must be 1-48 of [A-Za-z0-9_.-], not starting with '.' or '-'",
				    path);
		dc->node_prefix = np;
	}
	if (ops->check(dc, why, sizeof(why)))
		return config_fail(err, errlen, origin, "%s.%s", path, why);
	return 0;
}

/* one JSON value and nothing after it but white space */
static json_object *parse_json(const char *text, enum json_tokener_error *jerr)
{
	json_tokener *tok = json_tokener_new();
	size_t len = strlen(text);
	json_object *root;
	size_t end;

	if (!tok) {
		*jerr = json_tokener_error_size;
		return NULL;
	}
	/* the terminating NUL ends a top-level number */
	root = json_tokener_parse_ex(tok, text, (int)len + 1);
	*jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* a comment running to the end consumed the NUL too: nothing follows */
	if (end > len)
		end = len;
	if (!root || *jerr != json_tokener_success) {
		if (*jerr == json_tokener_continue)
			*jerr = json_tokener_error_parse_eof;
		json_object_put(root);
		return NULL;
	}
	if (text[end + strspn(text + end, " \t\r\n")] != '\0') {
		json_object_put(root);
		*jerr = json_tokener_success;	/* the caller's "trailing text" */
		return NULL;
	}
	return root;
}

/* --- one document ---------------------------------------------------------------- */

static int parse_devices(json_object *v, struct uacce_config *c, const char *origin, char *err,
			 size_t errlen)
{
	int r;

	if (!json_object_is_type(v, json_type_array))
		return config_fail(err, errlen, origin, "devices: required array");
	if (json_object_array_length(v) > CONFIG_MAX_DEVICES)
		return config_fail(err, errlen, origin, "devices: more than %d devices",
				   CONFIG_MAX_DEVICES);
	c->ndev = (int)json_object_array_length(v);
	for (int i = 0; i < c->ndev; i++) {
		r = parse_device(json_object_array_get_idx(v, (size_t)i), i, &c->devs[i], origin,
				 err, errlen);
		if (r)
			return r;
	}
	return 0;
}

static int init_config(struct uacce_config *c, const char *origin)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->origin, sizeof(c->origin), "%s", origin);
	snprintf(c->group, sizeof(c->group), "uacce");
	snprintf(c->owner, sizeof(c->owner), "root");
	c->mode = 0660;
	return policy_new(&c->policy);
}

/*
 * Check `root` and fill c from it.  A fragment (one file, before merging)
 * need not be complete; the merged whole must.
 */
static int validate(json_object *root, const char *origin, bool fragment, struct uacce_config *c,
		    char *err, size_t errlen)
{
	static const char *const keys[] = { "nodes", "devices", "kernel", "quotas", "control",
					     NULL };
	json_object *v;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return config_fail(err, errlen, origin, "the top level must be an object");
	r = config_check_keys(root, "", keys, origin, err, errlen);
	if (!r && config_get(root, "nodes", &v))
		r = parse_nodes(v, c, origin, err, errlen);
	if (!r && config_get(root, "devices", &v))
		r = parse_devices(v, c, origin, err, errlen);
	else if (!r && !fragment)
		r = config_fail(err, errlen, origin, "devices: required array");
	if (!r && config_get(root, "kernel", &v))
		r = config_parse_kernel(v, c, origin, err, errlen);
	if (!r && config_get(root, "quotas", &v))
		r = config_parse_quotas(v, c, origin, err, errlen);
	if (!r && config_get(root, "control", &v))
		r = config_parse_control(v, c, origin, err, errlen);
	return r;
}

/*
 * RFC 7386 JSON merge patch: objects merge key by key, null deletes, any
 * other value replaces (shared, by reference).  Objects of `target` are
 * always its own, never shared with a patch.
 */
static int merge_patch(json_object *target, json_object *patch)
{
	json_object_object_foreach(patch, key, val) {
		json_object *cur;

		if (!val) {
			json_object_object_del(target, key);
			continue;
		}
		if (!json_object_is_type(val, json_type_object)) {
			if (json_object_object_add(target, key, json_object_get(val)) < 0)
				return -ENOMEM;
			continue;
		}
		if (!json_object_object_get_ex(target, key, &cur) ||
		    !json_object_is_type(cur, json_type_object)) {
			cur = json_object_new_object();
			if (!cur || json_object_object_add(target, key, cur) < 0)
				return -ENOMEM;
		}
		if (merge_patch(cur, val) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* one parsed file of a configuration */
struct doc {
	char origin[300];
	json_object *root;
};

/* check each document, merge them in order, check the whole into c */
static int load_docs(struct doc *docs, int n, struct uacce_config *c, char *err, size_t errlen)
{
	json_object *merged = json_object_new_object();
	char whole[400];
	int r = merged ? 0 : -ENOMEM;

	for (int i = 0; i < n && !r; i++) {
		struct uacce_config one;

		r = init_config(&one, docs[i].origin);
		if (!r)
			r = validate(docs[i].root, docs[i].origin, true, &one, err, errlen);
		config_free(&one);
		if (!r)
			r = config_canonical_ids(docs[i].root);
		if (!r)
			r = merge_patch(merged, docs[i].root);
		if (r == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory", docs[i].origin);
	}
	if (!r)
		r = init_config(c, docs[0].origin);
	if (r) {
		json_object_put(merged);
		return r;
	}
	c->ndropins = n - 1;
	c->root = merged;
	config_sources(c, whole, sizeof(whole));
	r = validate(merged, whole, false, c, err, errlen);
	if (r)
		config_free(c);
	return r;
}

static void free_docs(struct doc *docs, int n)
{
	for (int i = 0; i < n; i++)
		json_object_put(docs[i].root);
}

/* parse `text` as docs[0] */
static int parse_doc(const char *text, const char *origin, struct doc *d, char *err,
		     size_t errlen)
{
	enum json_tokener_error jerr;

	snprintf(d->origin, sizeof(d->origin), "%s", origin);
	d->root = parse_json(text, &jerr);
	if (!d->root)
		return config_fail(err, errlen, origin, "not valid JSON: %s",
				   jerr == json_tokener_success ? "text after the top-level value"
								 : json_tokener_error_desc(jerr));
	return 0;
}

int config_parse(const char *text, const char *origin, struct uacce_config *c, char *err,
		 size_t errlen)
{
	struct doc d;
	int r;

	memset(c, 0, sizeof(*c));
	r = parse_doc(text, origin, &d, err, errlen);
	if (r)
		return r;
	r = load_docs(&d, 1, c, err, errlen);
	free_docs(&d, 1);
	return r;
}

/* --- files ------------------------------------------------------------------------ */

/* the whole file, NUL-terminated, at most 1 MiB; -errno with a message */
static int read_text(const char *path, char **out, char *err, size_t errlen)
{
	const size_t limit = 1u << 20;
	FILE *f = fopen(path, "re");
	char *text;
	size_t len;
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	text = malloc(limit + 2);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, limit + 1, f);
	r = ferror(f) ? -EIO : 0;
	fclose(f);
	if (r || len > limit) {
		free(text);
		snprintf(err, errlen, "%s: %s", path, r ? "read error" : "too large (limit 1 MiB)");
		return r ? r : -EFBIG;
	}
	text[len] = '\0';
	*out = text;
	return 0;
}

static int load_file(const char *path, struct doc *d, char *err, size_t errlen)
{
	char *text = NULL;
	int r = read_text(path, &text, err, errlen);

	if (r)
		return r;
	r = parse_doc(text, path, d, err, errlen);
	free(text);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* <dir of main>/uacced.d */
static void dropin_dir(const char *main_path, char *dir, size_t len)
{
	const char *slash = strrchr(main_path, '/');

	if (!slash)
		snprintf(dir, len, "%s", CONFIG_DROPIN_DIR);
	else
		snprintf(dir, len, "%.*s/%s", (int)(slash - main_path), main_path,
			 CONFIG_DROPIN_DIR);
}

/* the *.json files of dir, sorted; none when dir does not exist */
static int list_dropins(const char *dir, char ***names, int *n, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	*names = NULL;
	*n = 0;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return r;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (!is_dropin(de->d_name))
			continue;
		if (*n >= CONFIG_MAX_DROPINS) {
			snprintf(err, errlen, "%s: more than %d drop-in files", dir,
				 CONFIG_MAX_DROPINS);
			r = -E2BIG;
			break;
		}
		nn = realloc(*names, (size_t)(*n + 1) * sizeof(*nn));
		if (!nn || !(nn[*n] = strdup(de->d_name))) {
			if (nn)
				*names = nn;
			r = -ENOMEM;
			break;
		}
		*names = nn;
		(*n)++;
	}
	closedir(d);
	if (!r && *n)
		qsort(*names, (size_t)*n, sizeof(**names), cmp_names);
	return r;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* docs[1..] from the drop-in directory; *n counts every doc loaded */
static int load_dropins(const char *main_path, struct doc *docs, int *n, char *err,
			size_t errlen)
{
	char dir[300], path[600];
	char **names;
	int cnt, r;

	dropin_dir(main_path, dir, sizeof(dir));
	r = list_dropins(dir, &names, &cnt, err, errlen);
	for (int i = 0; i < cnt && !r; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			r = config_fail(err, errlen, path, "not a regular file");
			break;
		}
		r = load_file(path, &docs[*n], err, errlen);
		if (!r)
			(*n)++;
	}
	free_names(names, cnt);
	return r;
}

int config_load(const char *path, bool explicit_path, struct uacce_config *c, char *err,
		size_t errlen)
{
	struct doc *docs = calloc(CONFIG_MAX_DROPINS + 1, sizeof(*docs));
	int n = 0, r;

	memset(c, 0, sizeof(*c));
	if (!docs)
		return -ENOMEM;
	r = load_file(path, &docs[0], err, errlen);
	if (r == -ENOENT && !explicit_path)
		r = parse_doc(config_embedded_default, "(embedded default)", &docs[0], err,
			      errlen);
	if (!r) {
		n = 1;
		r = load_dropins(path, docs, &n, err, errlen);
	}
	if (!r)
		r = load_docs(docs, n, c, err, errlen);
	free_docs(docs, n);
	free(docs);
	return r;
}

void config_free(struct uacce_config *c)
{
	if (c->root)
		json_object_put(c->root);
	c->root = NULL;
	c->ndev = 0;
	policy_unref(c->policy);
	c->policy = NULL;
}

/* --- summaries ---------------------------------------------------------------------- */

void config_sources(const struct uacce_config *c, char *buf, size_t len)
{
	if (c->ndropins)
		snprintf(buf, len, "%s (+%d drop-in%s)", c->origin, c->ndropins,
			 c->ndropins == 1 ? "" : "s");
	else
		snprintf(buf, len, "%s", c->origin);
}

void config_summary(const struct uacce_config *c, char *buf, size_t len)
{
	const struct uacce_policy *p = c->policy;
	char k[32] = "";
	int n;

	if (c->nkernel)
		snprintf(k, sizeof(k), ", %d kernel entr%s", c->nkernel, c->nkernel == 1 ? "y" : "ies");
	n = snprintf(buf, len, "%d device(s)%s; quotas: %s%d user(s), %d group(s)", c->ndev, k,
		     p && p->def.set ? "default, " : "", p ? p->nusers : 0, p ? p->ngroups : 0);
	if (c->admin_group_set && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; admin group %s", c->admin_group);
}

int config_check(const char *prog, const char *path, bool explicit_path, FILE *out, FILE *errf)
{
	struct uacce_config c;
	char err[1024], src[400], sum[256];

	if (config_load(path, explicit_path, &c, err, sizeof(err))) {
		fprintf(errf, "%s: configuration rejected: %s\n", prog, err);
		return 1;
	}
	config_sources(&c, src, sizeof(src));
	config_summary(&c, sum, sizeof(sum));
	fprintf(out, "%s: OK (%s)\n", src, sum);
	config_free(&c);
	return 0;
}

/* every backend-specific key of a is in b with an equal value */
static bool extra_keys_in(const struct uacce_dev_cfg *a, const struct uacce_dev_cfg *b)
{
	if (!a->entry)
		return true;
	json_object_object_foreach(a->entry, key, val) {
		json_object *other = NULL;

		if (known_device_key(key))
			continue;
		if (!b->entry || !json_object_object_get_ex(b->entry, key, &other) ||
		    !json_object_equal(val, other))
			return false;
	}
	return true;
}

bool config_dev_equal(const struct uacce_dev_cfg *a, const struct uacce_dev_cfg *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->backend, b->backend) == 0 &&
	       strcmp(a->api, b->api) == 0 && a->sva == b->sva && a->queues == b->queues &&
	       a->abi == b->abi &&
	       (a->node_prefix ? b->node_prefix && strcmp(a->node_prefix, b->node_prefix) == 0 :
				 !b->node_prefix) &&
	       extra_keys_in(a, b) && extra_keys_in(b, a);
}
