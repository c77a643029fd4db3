/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-config.c - unit tests of daemon/config.c: the embedded default, and
 * rejection (with the key path in the message) of everything malformed.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* not "config.h": that name also finds the autoconf header first */
#include "../../daemon/config.h"

#define ORIGIN "test.json"

/* a valid device object, with the given extra / replaced members */
#define DEV(body) "{ \"devices\": [ " body " ] }"

static void assert_default(const struct uacce_config *c)
{
	ck_assert_str_eq(c->group, "uacce");
	ck_assert_uint_eq(c->mode, 0660);
	ck_assert_int_eq(c->ndev, 2);
	ck_assert_str_eq(c->devs[0].name, "dummy");
	ck_assert_str_eq(c->devs[0].backend, "soft");
	ck_assert_str_eq(c->devs[0].api, "dummy_v1");
	ck_assert(!c->devs[0].sva);
	ck_assert_int_eq(c->devs[0].queues, 8);
	ck_assert_ptr_nonnull(c->devs[0].json);
	ck_assert_str_eq(c->devs[1].name, "dummy");
	ck_assert_str_eq(c->devs[1].backend, "soft");
	ck_assert_str_eq(c->devs[1].api, "dummy_v2");
	ck_assert(c->devs[1].sva);
	ck_assert_int_eq(c->devs[1].queues, 8);
	ck_assert_ptr_nonnull(c->root);
}

/*
 * Parse `text`: it must be rejected with -EINVAL and a message that starts
 * with the origin and contains every one of the NULL-terminated `needles`.
 */
static void reject(const char *text, ...)
{
	struct uacce_config c;
	char err[512];
	va_list ap;
	const char *n;

	memset(err, 0, sizeof(err));
	ck_assert_int_eq(config_parse(text, ORIGIN, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strncmp(err, ORIGIN ": ", strlen(ORIGIN) + 2) == 0,
		      "message \"%s\" does not start with the origin", err);
	va_start(ap, text);
	while ((n = va_arg(ap, const char *)))
		ck_assert_msg(strstr(err, n), "message \"%s\" lacks \"%s\" (input %s)", err, n,
			      text);
	va_end(ap);
	/* nothing is left to free, and freeing again is harmless */
	ck_assert_ptr_null(c.root);
	ck_assert_int_eq(c.ndev, 0);
	config_free(&c);
}

static void accept(const char *text, struct uacce_config *c)
{
	char err[512] = "";

	ck_assert_msg(config_parse(text, ORIGIN, c, err, sizeof(err)) == 0,
		      "rejected %s: %s", text, err);
}

/* ------------------------------------------------------------------------- */

START_TEST(test_embedded_default)
{
	struct uacce_config c;
	char err[256] = "";

	ck_assert_int_eq(config_parse(config_embedded_default, "(embedded default)", &c, err,
				      sizeof(err)),
			 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c.origin, "(embedded default)");
	assert_default(&c);
	config_free(&c);
	ck_assert_ptr_null(c.root);
	ck_assert_int_eq(c.ndev, 0);
	config_free(&c);	/* twice: harmless */
}
END_TEST

START_TEST(test_defaults_of_optional_keys)
{
	struct uacce_config c;

	/* nodes, backend, sva and queues may be left out */
	accept(DEV("{ \"name\": \"x1\", \"api\": \"dummy_v1\" }"), &c);
	ck_assert_str_eq(c.origin, ORIGIN);
	ck_assert_str_eq(c.group, "uacce");
	ck_assert_uint_eq(c.mode, 0660);
	ck_assert_int_eq(c.ndev, 1);
	ck_assert_str_eq(c.devs[0].name, "x1");
	ck_assert_str_eq(c.devs[0].backend, "soft");
	ck_assert_str_eq(c.devs[0].api, "dummy_v1");
	ck_assert(!c.devs[0].sva);
	ck_assert_int_eq(c.devs[0].queues, 8);
	config_free(&c);
}
END_TEST

START_TEST(test_full_config)
{
	struct uacce_config c;

	accept("{ \"nodes\": { \"group\": \"accel\", \"mode\": \"0600\" },\n"
	       "  \"devices\": [\n"
	       "    { \"name\": \"a_1\", \"backend\": \"soft\", \"api\": \"dummy_v2\",\n"
	       "      \"sva\": true, \"queues\": 1 },\n"
	       "    { \"name\": \"b\", \"api\": \"dummy_v1\", \"sva\": false, \"queues\": 4096 }\n"
	       "  ] }", &c);
	ck_assert_str_eq(c.group, "accel");
	ck_assert_uint_eq(c.mode, 0600);
	ck_assert_int_eq(c.ndev, 2);
	ck_assert_str_eq(c.devs[0].name, "a_1");
	ck_assert_str_eq(c.devs[0].api, "dummy_v2");
	ck_assert(c.devs[0].sva);
	ck_assert_int_eq(c.devs[0].queues, 1);
	ck_assert_str_eq(c.devs[1].name, "b");
	ck_assert(!c.devs[1].sva);
	ck_assert_int_eq(c.devs[1].queues, 4096);
	config_free(&c);

	/* modes at both ends, an empty device list */
	accept("{ \"nodes\": { \"mode\": \"0\" }, \"devices\": [] }", &c);
	ck_assert_uint_eq(c.mode, 0);
	ck_assert_int_eq(c.ndev, 0);
	config_free(&c);
	accept("{ \"nodes\": { \"mode\": \"777\" }, \"devices\": [] }", &c);
	ck_assert_uint_eq(c.mode, 0777);
	config_free(&c);
	/* a 32-character name is the longest */
	accept(DEV("{ \"name\": \"abcdefghijklmnopqrstuvwxyz012345\", \"api\": \"dummy_v1\" }"),
	       &c);
	ck_assert_uint_eq(strlen(c.devs[0].name), 32);
	config_free(&c);
}
END_TEST

START_TEST(test_reject_invalid_json)
{
	reject("{ \"devices\": [ ", "JSON", NULL);
	reject("{ devices: [] }", "JSON", NULL);
	reject("", "JSON", NULL);
	reject("{ \"devices\" [] }", "JSON", NULL);
	reject("{ \"devices\": [ } ", "JSON", NULL);
}
END_TEST

START_TEST(test_reject_not_an_object)
{
	reject("[]", "top level", NULL);
	reject("42", "top level", NULL);
}
END_TEST

START_TEST(test_reject_unknown_top_level_key)
{
	reject("{ \"devices\": [], \"device\": [] }", "device", "unknown key", NULL);
	reject("{ \"devices\": [], \"Nodes\": {} }", "Nodes", "unknown key", NULL);
}
END_TEST

START_TEST(test_reject_unknown_nodes_key)
{
	reject("{ \"nodes\": { \"owner\": \"root\" }, \"devices\": [] }", "nodes.owner",
	       "unknown key", NULL);
	reject("{ \"nodes\": [], \"devices\": [] }", "nodes", "object", NULL);
	reject("{ \"nodes\": { \"group\": 5 }, \"devices\": [] }", "nodes.group", NULL);
}
END_TEST

START_TEST(test_reject_unknown_device_key)
{
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"svaa\": true }"),
	       "devices[0].svaa", "unknown key", NULL);
	/* the index names the offending device */
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\" },"
		   "{ \"name\": \"e\", \"api\": \"dummy_v1\", \"queue\": 2 }"),
	       "devices[1].queue", "unknown key", NULL);
	reject(DEV("\"dummy\""), "devices[0]", "object", NULL);
}
END_TEST

START_TEST(test_reject_wrong_types)
{
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"sva\": \"true\" }"),
	       "devices[0].sva", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"sva\": 1 }"), "devices[0].sva",
	       NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"queues\": \"8\" }"),
	       "devices[0].queues", "integer", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"queues\": 8.5 }"),
	       "devices[0].queues", "integer", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"queues\": true }"),
	       "devices[0].queues", NULL);
	reject(DEV("{ \"name\": 7, \"api\": \"dummy_v1\" }"), "devices[0].name", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": [] }"), "devices[0].api", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"backend\": 1 }"),
	       "devices[0].backend", NULL);
	reject("{ \"devices\": {} }", "devices", NULL);
	reject("{ \"nodes\": { \"mode\": 432 }, \"devices\": [] }", "nodes.mode", NULL);
}
END_TEST

START_TEST(test_reject_queues_range)
{
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"queues\": 0 }"),
	       "devices[0].queues", "0", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"queues\": 5000 }"),
	       "devices[0].queues", "5000", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"queues\": 4097 }"),
	       "devices[0].queues", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"queues\": -1 }"),
	       "devices[0].queues", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"queues\": 4294967297 }"),
	       "devices[0].queues", NULL);
}
END_TEST

START_TEST(test_reject_bad_mode)
{
	reject("{ \"nodes\": { \"mode\": \"0999\" }, \"devices\": [] }", "nodes.mode", "0999",
	       NULL);
	reject("{ \"nodes\": { \"mode\": \"abc\" }, \"devices\": [] }", "nodes.mode", "abc",
	       NULL);
	reject("{ \"nodes\": { \"mode\": \"\" }, \"devices\": [] }", "nodes.mode", NULL);
	reject("{ \"nodes\": { \"mode\": \"1000\" }, \"devices\": [] }", "nodes.mode", NULL);
	reject("{ \"nodes\": { \"mode\": \"-1\" }, \"devices\": [] }", "nodes.mode", NULL);
	reject("{ \"nodes\": { \"mode\": \"0660x\" }, \"devices\": [] }", "nodes.mode", NULL);
}
END_TEST

START_TEST(test_reject_missing_devices)
{
	reject("{}", "devices", "required", NULL);
	reject("{ \"nodes\": { \"group\": \"uacce\" } }", "devices", "required", NULL);
}
END_TEST

START_TEST(test_reject_missing_name_api)
{
	reject(DEV("{ \"api\": \"dummy_v1\" }"), "devices[0].name", "required", NULL);
	reject(DEV("{ \"name\": \"d\" }"), "devices[0].api", "required", NULL);
	reject(DEV("{}"), "devices[0].name", NULL);
}
END_TEST

START_TEST(test_reject_bad_name)
{
	const char *const bad[] = {
		"Dummy", "dum-my", "dum my", "a/b", "x.y", "", "\u00e9t\u00e9",
		"abcdefghijklmnopqrstuvwxyz0123456",	/* 33 */
	};
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), DEV("{ \"name\": \"%s\", \"api\": \"dummy_v1\" }"),
			 bad[i]);
		reject(text, "devices[0].name", NULL);
	}
}
END_TEST

START_TEST(test_reject_unknown_backend)
{
	reject(DEV("{ \"name\": \"d\", \"backend\": \"hisi_zip\", \"api\": \"dummy_v1\" }"),
	       "devices[0].backend", "hisi_zip", NULL);
	reject(DEV("{ \"name\": \"d\", \"backend\": \"\", \"api\": \"dummy_v1\" }"),
	       "devices[0].backend", NULL);
}
END_TEST

START_TEST(test_reject_too_many_devices)
{
	size_t cap = 64 * (CONFIG_MAX_DEVICES + 2) + 64, len;
	char *text = malloc(cap);

	ck_assert_ptr_nonnull(text);
	len = (size_t)snprintf(text, cap, "{ \"devices\": [");
	for (int i = 0; i <= CONFIG_MAX_DEVICES; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"%s{ \"name\": \"d%d\", \"api\": \"dummy_v1\" }",
					i ? "," : "", i);
	snprintf(text + len, cap - len, "] }");
	reject(text, "devices", NULL);
	free(text);
}
END_TEST

/* ------------------------------------------------------------------------- */

START_TEST(test_load_missing_default)
{
	struct uacce_config c;
	char err[256] = "";

	ck_assert_int_eq(config_load("/nonexistent/uacce/uacced.json", false, &c, err,
				     sizeof(err)),
			 0);
	ck_assert_str_eq(c.origin, "(embedded default)");
	assert_default(&c);
	config_free(&c);
}
END_TEST

START_TEST(test_load_missing_explicit)
{
	struct uacce_config c;
	char err[256] = "";

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(config_load("/nonexistent/uacce/uacced.json", true, &c, err,
				     sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/uacce/uacced.json"));
	config_free(&c);
}
END_TEST

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/uacced-test-config-XXXXXX");
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_load_file)
{
	struct uacce_config c;
	char err[512] = "";
	char *path;
	int r;

	/* an existing file is used even when not explicit */
	path = write_tmp(DEV("{ \"name\": \"f\", \"api\": \"dummy_v2\", \"queues\": 3 }"));
	r = config_load(path, false, &c, err, sizeof(err));
	unlink(path);
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(c.origin, path);
	ck_assert_int_eq(c.ndev, 1);
	ck_assert_str_eq(c.devs[0].name, "f");
	ck_assert_int_eq(c.devs[0].queues, 3);
	config_free(&c);
	free(path);

	/* a bad file: the message names the file and the key */
	path = write_tmp(DEV("{ \"name\": \"f\", \"api\": \"dummy_v2\", \"queues\": 0 }"));
	r = config_load(path, false, &c, err, sizeof(err));
	unlink(path);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "devices[0].queues"));
	free(path);

	/* an empty file is not a configuration */
	path = write_tmp("");
	r = config_load(path, false, &c, err, sizeof(err));
	unlink(path);
	free(path);
	ck_assert_int_eq(r, -EINVAL);
}
END_TEST

START_TEST(test_load_large_file)
{
	struct uacce_config c;
	char err[512] = "";
	size_t body = 200 * 1024;	/* bigger than the first buffers */
	int r;
	char *text = malloc(body + 256), *path;
	const char *json = "{ \"devices\": [ { \"name\": \"big\", \"api\": \"dummy_v1\" } ] }";
	size_t n;

	ck_assert_ptr_nonnull(text);
	n = strlen(json);
	memcpy(text, json, n);
	memset(text + n, ' ', body);
	text[n + body] = '\n';
	text[n + body + 1] = '\0';
	path = write_tmp(text);
	r = config_load(path, true, &c, err, sizeof(err));
	unlink(path);
	free(path);
	free(text);
	ck_assert_msg(r == 0, "%s", err);
	ck_assert_str_eq(c.devs[0].name, "big");
	config_free(&c);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* regressions (bugs these tests found, now fixed)                             */
/* ------------------------------------------------------------------------- */

/*
 * json_tokener_parse_verbose() stops after the first complete value: text
 * after it is silently ignored, e.g. a second object concatenated by
 * mistake, whose devices are then not created.
 */
START_TEST(test_regr_trailing_garbage_accepted)
{
	reject("{ \"devices\": [] } }", "JSON", NULL);
	reject("{ \"devices\": [] }\n{ \"devices\": [ { \"name\": \"d\", \"api\": \"dummy_v1\" } ] }",
	       "JSON", NULL);
}
END_TEST

/*
 * config_load announces "limit 1 MiB" but refuses files from 1 MiB - 4096
 * bytes on: the buffer must keep 4097 bytes free after the last read.
 */
START_TEST(test_regr_load_limit_below_1mib)
{
	struct uacce_config c;
	char err[512] = "";
	size_t size = 1024 * 1024 - 2048, n;
	int r;
	const char *json = "{ \"devices\": [ { \"name\": \"big\", \"api\": \"dummy_v1\" } ] }";
	char *text = malloc(size + 1), *path;

	ck_assert_ptr_nonnull(text);
	n = strlen(json);
	memcpy(text, json, n);
	memset(text + n, ' ', size - n);
	text[size] = '\0';
	path = write_tmp(text);
	r = config_load(path, true, &c, err, sizeof(err));
	unlink(path);
	free(path);
	free(text);
	ck_assert_msg(r == 0, "%s", err);
	config_free(&c);
}
END_TEST

/* ------------------------------------------------------------------------- */

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_embedded_default);
	tcase_add_test(tc, test_defaults_of_optional_keys);
	tcase_add_test(tc, test_full_config);
	tcase_add_test(tc, test_reject_invalid_json);
	tcase_add_test(tc, test_reject_not_an_object);
	tcase_add_test(tc, test_reject_unknown_top_level_key);
	tcase_add_test(tc, test_reject_unknown_nodes_key);
	tcase_add_test(tc, test_reject_unknown_device_key);
	tcase_add_test(tc, test_reject_wrong_types);
	tcase_add_test(tc, test_reject_queues_range);
	tcase_add_test(tc, test_reject_bad_mode);
	tcase_add_test(tc, test_reject_missing_devices);
	tcase_add_test(tc, test_reject_missing_name_api);
	tcase_add_test(tc, test_reject_bad_name);
	tcase_add_test(tc, test_reject_unknown_backend);
	tcase_add_test(tc, test_reject_too_many_devices);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_test(tc, test_load_missing_default);
	tcase_add_test(tc, test_load_missing_explicit);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_large_file);
	suite_add_tcase(s, tc);

	{	/* bugs found by these tests, fixed: kept as regressions */
		tc = tcase_create("regressions");
		tcase_add_test(tc, test_regr_trailing_garbage_accepted);
		tcase_add_test(tc, test_regr_load_limit_below_1mib);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
