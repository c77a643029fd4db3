/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

const char config_embedded_default[] =
	"{\n"
	"  \"nodes\": { \"group\": \"uacce\", \"mode\": \"0660\" },\n"
	"  \"devices\": [\n"
	"    { \"name\": \"dummy\", \"backend\": \"soft\", \"api\": \"dummy_v1\",\n"
	"      \"sva\": false, \"queues\": 8 },\n"
	"    { \"name\": \"dummy\", \"backend\": \"soft\", \"api\": \"dummy_v2\",\n"
	"      \"sva\": true, \"queues\": 8 }\n"
	"  ]\n"
	"}\n";

static int fail(char *err, size_t errlen, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *origin, const char *fmt, ...)
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
	for (; *allowed; allowed++)
		if (strcmp(key, *allowed) == 0)
			return true;
	return false;
}

/* reject keys not in `allowed`; path names the object for the message */
static int check_keys(json_object *obj, const char *path, const char *const *allowed,
		      const char *origin, char *err, size_t errlen)
{
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (!key_allowed(key, allowed))
			return fail(err, errlen, origin, "%s.%s: unknown key", path, key);
	}
	return 0;
}

static int parse_nodes(json_object *nodes, struct uacce_config *c, const char *origin,
		       char *err, size_t errlen)
{
	static const char *const keys[] = { "group", "mode", NULL };
	json_object *v;
	int r;

	if (!json_object_is_type(nodes, json_type_object))
		return fail(err, errlen, origin, "nodes: must be an object");
	r = check_keys(nodes, "nodes", keys, origin, err, errlen);
	if (r)
		return r;
	if (json_object_object_get_ex(nodes, "group", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) >= sizeof(c->group))
			return fail(err, errlen, origin, "nodes.group: must be a group name");
		snprintf(c->group, sizeof(c->group), "%s", json_object_get_string(v));
	}
	if (json_object_object_get_ex(nodes, "mode", &v)) {
		const char *s = json_object_get_string(v);
		char *end;
		long m;

		if (!json_object_is_type(v, json_type_string))
			return fail(err, errlen, origin,
				    "nodes.mode: must be an octal string such as \"0660\"");
		errno = 0;
		m = strtol(s, &end, 8);
		if (errno || *s == '\0' || *end != '\0' || m < 0 || m > 0777)
			return fail(err, errlen, origin, "nodes.mode: \"%s\" is not a mode (0000-0777)",
				    s);
		c->mode = (mode_t)m;
	}
	return 0;
}

static int parse_device(json_object *d, int i, struct uacce_dev_cfg *dc, const char *origin,
			char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "backend", "api", "sva", "queues", NULL };
	char path[32];
	json_object *v;
	int r;

	snprintf(path, sizeof(path), "devices[%d]", i);
	if (!json_object_is_type(d, json_type_object))
		return fail(err, errlen, origin, "%s: must be an object", path);
	r = check_keys(d, path, keys, origin, err, errlen);
	if (r)
		return r;
	memset(dc, 0, sizeof(*dc));
	dc->json = d;
	dc->backend = "soft";
	dc->queues = 8;
	if (!json_object_object_get_ex(d, "name", &v) || !json_object_is_type(v, json_type_string))
		return fail(err, errlen, origin, "%s.name: required string", path);
	dc->name = json_object_get_string(v);
	if (!*dc->name || strlen(dc->name) > 32 || strspn(dc->name,
	    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(dc->name))
		return fail(err, errlen, origin,
			    "%s.name: \"%s\" must be 1-32 of [a-z0-9_]", path, dc->name);
	if (json_object_object_get_ex(d, "backend", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return fail(err, errlen, origin, "%s.backend: must be a string", path);
		dc->backend = json_object_get_string(v);
	}
	if (!uacce_backend_find(dc->backend))
		return fail(err, errlen, origin, "%s.backend: unknown backend \"%s\"", path,
			    dc->backend);
	if (!json_object_object_get_ex(d, "api", &v) || !json_object_is_type(v, json_type_string))
		return fail(err, errlen, origin, "%s.api: required string", path);
	dc->api = json_object_get_string(v);
	if (json_object_object_get_ex(d, "sva", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return fail(err, errlen, origin, "%s.sva: must be true or false", path);
		dc->sva = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(d, "queues", &v)) {
		if (!json_object_is_type(v, json_type_int))
			return fail(err, errlen, origin, "%s.queues: must be an integer", path);
		errno = 0;
		int64_t n = json_object_get_int64(v);
		if (n < 1 || n > 4096)
			return fail(err, errlen, origin, "%s.queues: %lld is out of range 1-4096",
				    path, (long long)n);
		dc->queues = (int)n;
	}
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

int config_parse(const char *text, const char *origin, struct uacce_config *c, char *err,
		 size_t errlen)
{
	static const char *const keys[] = { "nodes", "devices", NULL };
	enum json_tokener_error jerr;
	json_object *root, *v;
	int r;

	memset(c, 0, sizeof(*c));
	snprintf(c->origin, sizeof(c->origin), "%s", origin);
	snprintf(c->group, sizeof(c->group), "uacce");
	c->mode = 0660;
	root = parse_json(text, &jerr);
	if (!root)
		return fail(err, errlen, origin, "not valid JSON: %s",
			    jerr == json_tokener_success ? "text after the top-level value"
							  : json_tokener_error_desc(jerr));
	c->root = root;
	if (!json_object_is_type(root, json_type_object)) {
		r = fail(err, errlen, origin, "the top level must be an object");
		goto bad;
	}
	r = check_keys(root, "", keys, origin, err, errlen);
	if (r)
		goto bad;
	if (json_object_object_get_ex(root, "nodes", &v)) {
		r = parse_nodes(v, c, origin, err, errlen);
		if (r)
			goto bad;
	}
	if (!json_object_object_get_ex(root, "devices", &v) ||
	    !json_object_is_type(v, json_type_array)) {
		r = fail(err, errlen, origin, "devices: required array");
		goto bad;
	}
	if (json_object_array_length(v) > CONFIG_MAX_DEVICES) {
		r = fail(err, errlen, origin, "devices: more than %d devices", CONFIG_MAX_DEVICES);
		goto bad;
	}
	c->ndev = (int)json_object_array_length(v);
	for (int i = 0; i < c->ndev; i++) {
		r = parse_device(json_object_array_get_idx(v, (size_t)i), i, &c->devs[i], origin,
				 err, errlen);
		if (r)
			goto bad;
	}
	return 0;
bad:
	config_free(c);
	return r;
}

int config_load(const char *path, bool explicit_path, struct uacce_config *c, char *err,
		size_t errlen)
{
	const size_t limit = 1u << 20;
	FILE *f = fopen(path, "re");
	char *text;
	size_t len;
	int r;

	if (!f) {
		if (errno == ENOENT && !explicit_path)
			return config_parse(config_embedded_default, "(embedded default)", c, err,
					    errlen);
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
	r = config_parse(text, path, c, err, errlen);
	free(text);
	return r;
}

void config_free(struct uacce_config *c)
{
	if (c->root)
		json_object_put(c->root);
	c->root = NULL;
	c->ndev = 0;
}
