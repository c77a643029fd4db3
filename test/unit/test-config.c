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
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "unit-main.h"
#include "uacced_config.h"
#include "policy.h"
#include "kgate.h"

#define ORIGIN "test.json"

/* a valid device object, with the given extra / replaced members */
#define DEV(body) "{ \"devices\": [ " body " ] }"

static void assert_default(const struct uacce_config *c)
{
	ck_assert_str_eq(c->group, "uacce");
	ck_assert_uint_eq(c->mode, 0660);
	ck_assert_int_eq(c->ndev, 3);
	ck_assert_str_eq(c->devs[0].name, "dummy");
	ck_assert_str_eq(c->devs[0].backend, "soft");
	ck_assert_str_eq(c->devs[0].api, "dummy_v1");
	ck_assert(!c->devs[0].sva);
	ck_assert_int_eq(c->devs[0].queues, 8);
	ck_assert_ptr_nonnull(c->devs[0].entry);
	ck_assert_str_eq(c->devs[1].name, "dummy");
	ck_assert_str_eq(c->devs[1].backend, "soft");
	ck_assert_str_eq(c->devs[1].api, "dummy_v2");
	ck_assert(c->devs[1].sva);
	ck_assert_int_eq(c->devs[1].queues, 8);
	ck_assert_str_eq(c->devs[2].name, "zip");
	ck_assert_str_eq(c->devs[2].backend, "soft");
	ck_assert_str_eq(c->devs[2].api, "uacce_zip_v1");
	ck_assert(c->devs[2].sva);
	ck_assert_int_eq(c->devs[2].queues, 16);
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
	/* "owner" became a key with the policy issue; "user" is not one */
	reject("{ \"nodes\": { \"user\": \"root\" }, \"devices\": [] }", "nodes.user",
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

/* each backend names its own keys and checks its entries (no hardware needed) */
START_TEST(test_backend_keys_and_checks)
{
	struct uacce_config c;
	char err[512];

	/* soft: "workers" only for pooled apis, api must be one of its own */
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"workers\": 2 }"),
	       "devices[0].workers", "worker per queue", NULL);
	reject(DEV("{ \"name\": \"z\", \"api\": \"uacce_zip_v1\", \"workers\": 65 }"),
	       "devices[0].workers", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v9\" }"), "devices[0].api",
	       "dummy_v9", NULL);
	/* soft: "data_size" only for non-SVA mainline devices, whole pages, 4 KiB..1 GiB */
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"data_size\": 8192 }"),
	       "devices[0].data_size", "mainline", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"abi\": \"mainline\","
		   " \"sva\": true, \"data_size\": 8192 }"), "devices[0].data_size", "SVA", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"abi\": \"mainline\","
		   " \"data_size\": 4097 }"), "devices[0].data_size", "multiple", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"abi\": \"mainline\","
		   " \"data_size\": 0 }"), "devices[0].data_size", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"abi\": \"mainline\","
		   " \"data_size\": 1073745920 }"), "devices[0].data_size", NULL);
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"abi\": \"mainline\","
		   " \"data_size\": \"8M\" }"), "devices[0].data_size", NULL);
	accept(DEV("{ \"name\": \"z\", \"api\": \"uacce_zip_v1\", \"abi\": \"mainline\","
		   " \"data_size\": 1073741824 }"), &c);
	config_free(&c);
	/* a vfio key on a soft entry, a soft key on a vfio entry */
	reject(DEV("{ \"name\": \"d\", \"api\": \"dummy_v1\", \"pci\": \"0000:00:03.0\" }"),
	       "devices[0].pci", "unknown key", NULL);
	reject(DEV("{ \"name\": \"e\", \"backend\": \"vfio\", \"api\": \"dummy_v1\","
		   " \"pci\": \"0000:00:03.0\", \"workers\": 1 }"),
	       "devices[0].workers", "unknown key", NULL);
	/* vfio: "pci" required and well formed, no SVA, an api a model offers */
	reject(DEV("{ \"name\": \"e\", \"backend\": \"vfio\", \"api\": \"dummy_v1\" }"),
	       "devices[0].pci", "required", NULL);
	reject(DEV("{ \"name\": \"e\", \"backend\": \"vfio\", \"api\": \"dummy_v1\","
		   " \"pci\": \"00:03.0\" }"), "devices[0].pci", "00:03.0", NULL);
	reject(DEV("{ \"name\": \"e\", \"backend\": \"vfio\", \"api\": \"dummy_v1\","
		   " \"pci\": 3 }"), "devices[0].pci", NULL);
	reject(DEV("{ \"name\": \"e\", \"backend\": \"vfio\", \"api\": \"dummy_v1\","
		   " \"pci\": \"0000:00:03.0\", \"sva\": true }"), "devices[0].sva", NULL);
	reject(DEV("{ \"name\": \"e\", \"backend\": \"vfio\", \"api\": \"dummy_v2\","
		   " \"pci\": \"0000:00:03.0\" }"), "devices[0].api", "dummy_v2", NULL);
	/* a good one: checked without hardware, upper-case hex accepted */
	ck_assert_int_eq(config_parse(DEV("{ \"name\": \"e\", \"backend\": \"vfio\","
					  " \"api\": \"dummy_v1\", \"pci\": \"0000:0A:1f.7\","
					  " \"queues\": 2 }"), ORIGIN, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.devs[0].backend, "vfio");
	config_free(&c);
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

START_TEST(test_abi_and_node_prefix)
{
	struct uacce_config c;
	char name[64];

	accept("{ \"devices\": [\n"
	       "  { \"name\": \"a\", \"api\": \"dummy_v1\" },\n"
	       "  { \"name\": \"hisi_zip\", \"api\": \"dummy_v2\", \"abi\": \"mainline\" },\n"
	       "  { \"name\": \"c\", \"api\": \"dummy_v1\", \"abi\": \"v4\",\n"
	       "    \"node_prefix\": \"My.acc_el-x\" } ] }", &c);
	ck_assert_int_eq(c.devs[0].abi, UACCE_ABI_V4);
	ck_assert_ptr_null(c.devs[0].node_prefix);
	ck_assert_int_eq(c.devs[1].abi, UACCE_ABI_MAINLINE);
	ck_assert_int_eq(c.devs[2].abi, UACCE_ABI_V4);
	ck_assert_int_eq(uacce_node_name(&c.devs[0], 0, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "uacce-a-0");
	ck_assert_int_eq(uacce_node_name(&c.devs[1], 1, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "hisi_zip-1");
	ck_assert_int_eq(uacce_node_name(&c.devs[2], 12, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "My.acc_el-x-12");
	ck_assert_int_eq(uacce_node_name(&c.devs[2], 12, name, 8), -ENAMETOOLONG);
	/* a change of profile or name is a different device for a reload */
	ck_assert(!config_dev_equal(&c.devs[0], &c.devs[2]));
	config_free(&c);

	reject("{ \"devices\": [ { \"name\": \"a\", \"api\": \"x\", \"abi\": \"v5\" } ] }",
	       "abi", NULL);
	reject("{ \"devices\": [ { \"name\": \"a\", \"api\": \"x\", \"abi\": 1 } ] }",
	       "abi", NULL);
	reject("{ \"devices\": [ { \"name\": \"a\", \"api\": \"x\", \"node_prefix\": \"a/b\" } ] }",
	       "node_prefix", NULL);
	reject("{ \"devices\": [ { \"name\": \"a\", \"api\": \"x\", \"node_prefix\": \"..\" } ] }",
	       "node_prefix", NULL);
	reject("{ \"devices\": [ { \"name\": \"a\", \"api\": \"x\", \"node_prefix\": \"\" } ] }",
	       "node_prefix", NULL);
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

/* "kernel": devices gated, not published (kgate.h), and their resolution */
START_TEST(test_kernel_entries)
{
	struct uacce_config c;
	char dir[] = "/tmp/uacce-kdev.XXXXXX", path[256], file[300];
	struct kdev *d = NULL;
	int n = 0;

	accept("{ \"devices\": [], \"kernel\": [ { \"device\": \"hisi_zip-*\" },"
	       " { \"node\": \"/dev/null\" }, { \"node\": \"/nonexistent/x\" },"
	       " { \"device\": \"nomatch-*\" }, { \"node\": \"/etc/passwd\" },"
	       " { \"device\": \"hisi_zip-1\" } ] }", &c);
	ck_assert_int_eq(c.nkernel, 6);
	ck_assert_str_eq(c.kernel[0].device, "hisi_zip-*");
	ck_assert_ptr_null(c.kernel[0].node);
	ck_assert_str_eq(c.kernel[1].node, "/dev/null");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "hisi_zip-0", "hisi_zip-1", "hisi_sec2-0" };
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		snprintf(file, sizeof(file), "%s/dev", path);
		f = fopen(file, "w");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "240:%d\n", i);
		fclose(f);
	}
	ck_assert_int_eq(kdev_resolve(&c, dir, &d, &n), 0);
	ck_assert_int_eq(n, 7);
	/* the pattern: both zip devices, in name order, not the sec2 one */
	ck_assert(d[0].found && d[1].found);
	ck_assert_str_eq(d[0].name, "hisi_zip-0");
	ck_assert_str_eq(d[0].node, "/dev/hisi_zip-0");
	ck_assert_uint_eq(d[0].maj, 240);
	ck_assert_uint_eq(d[0].min, 0);
	ck_assert_str_eq(d[1].name, "hisi_zip-1");
	ck_assert_uint_eq(d[1].min, 1);
	ck_assert_str_eq(d[0].entry_text, "device hisi_zip-*");
	/* a node: its file name, its number */
	ck_assert(d[2].found);
	ck_assert_str_eq(d[2].name, "null");
	ck_assert_uint_eq(d[2].maj, 1);
	ck_assert_uint_eq(d[2].min, 3);
	ck_assert_int_eq(d[2].entry, 1);
	/* what matches nothing says why */
	ck_assert(!d[3].found);
	ck_assert_msg(strstr(d[3].reason, "No such file"), "%s", d[3].reason);
	ck_assert(!d[4].found);
	ck_assert_msg(strstr(d[4].reason, "matches \"nomatch-*\""), "%s", d[4].reason);
	ck_assert(!d[5].found);
	ck_assert_msg(strstr(d[5].reason, "not a character device"), "%s", d[5].reason);
	/* a device two entries name is gated once, by the first */
	ck_assert(!d[6].found);
	ck_assert_msg(strstr(d[6].reason, "gated by the entry device hisi_zip-*"), "%s",
		      d[6].reason);
	free(d);
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "hisi_zip-0", "hisi_zip-1", "hisi_sec2-0" };

		snprintf(file, sizeof(file), "%s/%s/dev", dir, names[i]);
		unlink(file);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		rmdir(path);
	}
	rmdir(dir);
	config_free(&c);
}
END_TEST

START_TEST(test_kernel_reject)
{
	reject("{ \"devices\": [], \"kernel\": {} }", "kernel: must be an array", NULL);
	reject("{ \"devices\": [], \"kernel\": [ 1 ] }", "kernel[0]: must be an object", NULL);
	reject("{ \"devices\": [], \"kernel\": [ {} ] }", "kernel[0]: needs exactly one", NULL);
	reject("{ \"devices\": [], \"kernel\": [ { \"device\": \"a\", \"node\": \"/dev/a\" } ] }",
	       "kernel[0]: needs exactly one", NULL);
	reject("{ \"devices\": [], \"kernel\": [ { \"device\": \"a/b\" } ] }",
	       "kernel[0].device: must be a device name", NULL);
	reject("{ \"devices\": [], \"kernel\": [ { \"node\": \"dev/a\" } ] }",
	       "kernel[0].node: must be the absolute path", NULL);
	reject("{ \"devices\": [], \"kernel\": [ { \"node\": \"/dev/\" } ] }",
	       "kernel[0].node", NULL);
	reject("{ \"devices\": [], \"kernel\": [ { \"node\": \"/dev/a\", \"x\": 1 } ] }",
	       "kernel[0].x: unknown key", NULL);
	reject("{ \"devices\": [], \"kernel\": [ { \"node\": \"/dev/a\" }, { \"node\": \"/dev/a\" } ] }",
	       "kernel[1]: the same as kernel[0]", NULL);
}
END_TEST

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
/* the policy: quotas.*, control.*, nodes.owner                              */
/* ------------------------------------------------------------------------- */

/* a whole document with `members` besides an empty device list */
#define Q(members) "{ \"devices\": [], " members " }"

START_TEST(test_quotas_full)
{
	struct uacce_config c;
	const struct policy_entry *e;

	accept(Q("\"quotas\": {"
		 "  \"default\": { \"max_queues\": 4, \"max_queues_per_device\": \"unlimited\","
		 "                 \"max_region_bytes\": \"64M\","
		 "                 \"devices\": [ \"dummy\", \"uacce-zip-*\" ] },"
		 "  \"users\": { \"root\": { \"max_queues\": 1 },"
		 "              \"123456\": { \"max_region_bytes\": 4096 } },"
		 "  \"groups\": { \"root\": { \"devices\": [] } } },"
		 "\"control\": { \"admin_group\": \"root\" },"
		 "\"nodes\": { \"owner\": \"root\" }"), &c);
	ck_assert_ptr_nonnull(c.policy);
	e = &c.policy->def;
	ck_assert_uint_eq(e->set, (1u << PL_MAX_QUEUES) | (1u << PL_MAX_QUEUES_PER_DEVICE) |
				  (1u << PL_MAX_REGION_BYTES) | POLICY_SET_DEVICES);
	ck_assert_uint_eq(e->lim[PL_MAX_QUEUES], 4);
	ck_assert_uint_eq(e->lim[PL_MAX_QUEUES_PER_DEVICE], POLICY_UNLIMITED);
	ck_assert_uint_eq(e->lim[PL_MAX_REGION_BYTES], 64ULL << 20);
	ck_assert_int_eq(e->ndevices, 2);
	ck_assert_str_eq(e->devices[1], "uacce-zip-*");
	ck_assert_int_eq(c.policy->nusers, 2);
	/* keys become ids; the labels name the user when it has a name */
	for (int i = 0; i < 2; i++) {
		const struct policy_id_entry *u = &c.policy->users[i];

		if (u->id == 0) {
			ck_assert_str_eq(u->e.label, "user root");
			ck_assert_uint_eq(u->e.set, 1u << PL_MAX_QUEUES);
		} else {
			ck_assert_uint_eq(u->id, 123456);
			ck_assert_str_eq(u->e.label, "user 123456");
			ck_assert_uint_eq(u->e.lim[PL_MAX_REGION_BYTES], 4096);
		}
	}
	ck_assert_int_eq(c.policy->ngroups, 1);
	ck_assert_uint_eq(c.policy->groups[0].id, 0);
	ck_assert_uint_eq(c.policy->groups[0].e.set, POLICY_SET_DEVICES);
	ck_assert_int_eq(c.policy->groups[0].e.ndevices, 0);
	ck_assert(c.admin_group_set);
	ck_assert_uint_eq(c.admin_gid, 0);
	ck_assert_str_eq(c.owner, "root");
	ck_assert_uint_eq(c.owner_uid, 0);
	config_free(&c);
	ck_assert_ptr_null(c.policy);

	/* without the sections: an empty policy, no admin group, owner root */
	accept(Q("\"nodes\": {}"), &c);
	ck_assert_ptr_nonnull(c.policy);
	ck_assert_uint_eq(c.policy->def.set, 0);
	ck_assert_int_eq(c.policy->nusers + c.policy->ngroups, 0);
	ck_assert(!c.admin_group_set);
	ck_assert_uint_eq(c.owner_uid, 0);
	config_free(&c);
	/* numeric ids for owner and admin group */
	accept(Q("\"nodes\": { \"owner\": 4242 }, \"control\": { \"admin_group\": \"4343\" }"), &c);
	ck_assert_uint_eq(c.owner_uid, 4242);
	ck_assert_uint_eq(c.admin_gid, 4343);
	config_free(&c);
}
END_TEST

static uint64_t region_bytes(const char *v)
{
	struct uacce_config c;
	char text[256];
	uint64_t r;

	snprintf(text, sizeof(text), Q("\"quotas\": { \"default\": { \"max_region_bytes\": %s } }"),
		 v);
	accept(text, &c);
	r = c.policy->def.lim[PL_MAX_REGION_BYTES];
	config_free(&c);
	return r;
}

START_TEST(test_quota_sizes)
{
	ck_assert_uint_eq(region_bytes("0"), 0);
	ck_assert_uint_eq(region_bytes("1048576"), 1048576);
	ck_assert_uint_eq(region_bytes("\"4096\""), 4096);
	ck_assert_uint_eq(region_bytes("\"64K\""), 65536);
	ck_assert_uint_eq(region_bytes("\"64KiB\""), 65536);
	ck_assert_uint_eq(region_bytes("\"64M\""), 64ULL << 20);
	ck_assert_uint_eq(region_bytes("\"3MiB\""), 3ULL << 20);
	ck_assert_uint_eq(region_bytes("\"2G\""), 2ULL << 30);
	ck_assert_uint_eq(region_bytes("\"1T\""), 1ULL << 40);
	ck_assert_uint_eq(region_bytes("\"1024TiB\""), 1ULL << 50);	/* the largest */
	ck_assert_uint_eq(region_bytes("\"unlimited\""), POLICY_UNLIMITED);
}
END_TEST

/* quotas.total_region_bytes: all users together */
START_TEST(test_quota_total)
{
	struct uacce_config c;

	accept(Q("\"quotas\": { \"total_region_bytes\": \"2G\" }"), &c);
	ck_assert(c.policy->total_set);
	ck_assert_uint_eq(c.policy->total_region_bytes, 2ULL << 30);
	config_free(&c);
	accept(Q("\"quotas\": { \"total_region_bytes\": \"unlimited\" }"), &c);
	ck_assert(c.policy->total_set);
	ck_assert_uint_eq(c.policy->total_region_bytes, POLICY_UNLIMITED);
	config_free(&c);
	accept(Q("\"quotas\": { \"default\": { \"max_queues\": 1 } }"), &c);
	ck_assert(!c.policy->total_set);
	config_free(&c);
	reject(Q("\"quotas\": { \"total_region_bytes\": \"lots\" }"),
	       "quotas.total_region_bytes", "not a size", NULL);
	reject(Q("\"quotas\": { \"total_region_bytes\": -5 }"), "quotas.total_region_bytes",
	       "out of range", NULL);
}
END_TEST

START_TEST(test_quota_reject_sizes)
{
	const char *const bad[] = {
		"\"64k\"", "\"64 M\"", "\"1.5M\"", "\"-1\"", "\"\"", "\"M\"", "\"64MB\"",
		"\"64Mi\"", "\"0x10\"", "\"1025T\"", "\"99999999999999999\"", "\"Unlimited\"",
	};
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 Q("\"quotas\": { \"default\": { \"max_region_bytes\": %s } }"), bad[i]);
		reject(text, "quotas.default.max_region_bytes", NULL);
	}
	reject(Q("\"quotas\": { \"default\": { \"max_region_bytes\": \"1025T\" } }"),
	       "too large", NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_region_bytes\": \"64X\" } }"), "\"64X\"",
	       "is not a size", NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_region_bytes\": -1 } }"), "out of range",
	       NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_region_bytes\": 1.5 } }"), "must be a size",
	       NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_region_bytes\": true } }"), "must be a size",
	       NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_region_bytes\": 1125899906842625 } }"),
	       "out of range", NULL);
}
END_TEST

START_TEST(test_quota_counts)
{
	struct uacce_config c;

	accept(Q("\"quotas\": { \"default\": { \"max_queues\": 0, "
		 "\"max_queues_per_device\": 1000000 } }"), &c);
	ck_assert_uint_eq(c.policy->def.lim[PL_MAX_QUEUES], 0);
	ck_assert_uint_eq(c.policy->def.lim[PL_MAX_QUEUES_PER_DEVICE], 1000000);
	config_free(&c);
	reject(Q("\"quotas\": { \"default\": { \"max_queues\": 1000001 } }"),
	       "quotas.default.max_queues", "out of range", NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_queues\": \"3\" } }"),
	       "quotas.default.max_queues", "not a count", NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_queues\": \"64K\" } }"),
	       "quotas.default.max_queues", NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_queues_per_device\": 2.0 } }"),
	       "quotas.default.max_queues_per_device", "non-negative integer", NULL);
	reject(Q("\"quotas\": { \"users\": { \"root\": { \"max_queues\": -2 } } }"),
	       "quotas.users.root.max_queues", "out of range", NULL);
}
END_TEST

START_TEST(test_quota_reject_structure)
{
	reject(Q("\"quotas\": []"), "quotas", "must be an object", NULL);
	reject(Q("\"quotas\": { \"defaults\": {} }"), "quotas.defaults", "unknown key", NULL);
	reject(Q("\"quotas\": { \"default\": [] }"), "quotas.default", "must be an object", NULL);
	reject(Q("\"quotas\": { \"default\": { \"max_queue\": 1 } }"),
	       "quotas.default.max_queue", "unknown key", NULL);
	reject(Q("\"quotas\": { \"users\": [] }"), "quotas.users", "must be an object", NULL);
	reject(Q("\"quotas\": { \"groups\": { \"root\": 5 } }"), "quotas.groups.root",
	       "must be an object", NULL);
	reject(Q("\"quotas\": { \"users\": { \"root\": { \"devices\": \"dummy\" } } }"),
	       "quotas.users.root.devices", "array", NULL);
	reject(Q("\"quotas\": { \"default\": { \"devices\": [ 5 ] } }"),
	       "quotas.default.devices[0]", NULL);
	reject(Q("\"quotas\": { \"default\": { \"devices\": [ \"a\", \"b/c\" ] } }"),
	       "quotas.default.devices[1]", NULL);
	reject(Q("\"quotas\": { \"default\": { \"devices\": [ \"a b\" ] } }"),
	       "quotas.default.devices[0]", NULL);
	reject(Q("\"control\": []"), "control", "must be an object", NULL);
	reject(Q("\"control\": { \"admin\": \"root\" }"), "control.admin", "unknown key", NULL);
	reject(Q("\"control\": { \"admin_group\": [] }"), "control.admin_group", NULL);
	reject(Q("\"nodes\": { \"owner\": true }"), "nodes.owner", NULL);
}
END_TEST

START_TEST(test_quota_reject_unknown_ids)
{
	reject(Q("\"quotas\": { \"users\": { \"no-such-user-uacce\": {} } }"),
	       "quotas.users.no-such-user-uacce", "no such user", NULL);
	reject(Q("\"quotas\": { \"groups\": { \"no-such-group-uacce\": {} } }"),
	       "quotas.groups.no-such-group-uacce", "no such group", NULL);
	reject(Q("\"control\": { \"admin_group\": \"no-such-group-uacce\" }"),
	       "control.admin_group", "no such group", NULL);
	reject(Q("\"nodes\": { \"owner\": \"no-such-user-uacce\" }"), "nodes.owner",
	       "no such user", NULL);
	/* ids out of range are not ids, and no user has such a name */
	reject(Q("\"quotas\": { \"users\": { \"4294967295\": {} } }"), "quotas.users.4294967295",
	       "no such user", NULL);
	/* two keys for one user or group */
	reject(Q("\"quotas\": { \"users\": { \"root\": {}, \"0\": {} } }"), "quotas.users.0",
	       "the same user as quotas.users.root", NULL);
	reject(Q("\"quotas\": { \"groups\": { \"0\": {}, \"root\": {} } }"), "quotas.groups.root",
	       "the same group as quotas.groups.0", NULL);
}
END_TEST

START_TEST(test_quota_null_is_absent)
{
	struct uacce_config c;

	/* in one document, null is the same as leaving the key out */
	accept(Q("\"quotas\": { \"users\": { \"root\": null }, "
		 "\"default\": { \"max_queues\": null } }"), &c);
	ck_assert_int_eq(c.policy->nusers, 0);
	ck_assert_uint_eq(c.policy->def.set, 0);
	config_free(&c);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* drop-ins                                                                   */
/* ------------------------------------------------------------------------- */

struct tree {
	char dir[64];		/* the configuration directory */
	char main[128];		/* <dir>/uacced.json */
	char dropins[128];	/* <dir>/uacced.d */
};

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static void mktree(struct tree *t, const char *main_text)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/uacced-test-dropins-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->main, sizeof(t->main), "%s/uacced.json", t->dir);
	snprintf(t->dropins, sizeof(t->dropins), "%s/uacced.d", t->dir);
	ck_assert_int_eq(mkdir(t->dropins, 0755), 0);
	if (main_text)
		put_file(t->main, main_text);
}

static void dropin(struct tree *t, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", t->dropins, name);
	put_file(path, text);
}

static void rmtree(struct tree *t)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const struct policy_id_entry *find_id(const struct policy_id_entry *a, int n, uint32_t id)
{
	for (int i = 0; i < n; i++)
		if (a[i].id == id)
			return &a[i];
	return NULL;
}

START_TEST(test_dropins_merge)
{
	struct tree t;
	struct uacce_config c;
	const struct policy_id_entry *root;
	char err[512] = "", buf[512];
	int r;

	mktree(&t, "{ \"nodes\": { \"group\": \"g0\", \"mode\": \"0600\" },\n"
		   "  \"devices\": [ { \"name\": \"a\", \"api\": \"dummy_v1\" },\n"
		   "                 { \"name\": \"b\", \"api\": \"dummy_v1\" } ],\n"
		   "  \"quotas\": { \"default\": { \"max_queues\": 1, \"max_region_bytes\": \"1M\" },\n"
		   "              \"groups\": { \"root\": { \"max_queues\": 9 } } } }\n");
	/* strcmp order: 100-... before 20-... before 30-... */
	dropin(&t, "20-b.json",
	       "{ \"quotas\": { \"default\": { \"max_queues\": 2 },\n"
	       "              \"users\": { \"0\": { \"max_region_bytes\": \"1K\" } } } }");
	dropin(&t, "100-a.json",
	       "{ \"nodes\": { \"mode\": \"0640\" },\n"
	       "  \"devices\": [ { \"name\": \"c\", \"api\": \"dummy_v2\", \"sva\": true } ],\n"
	       "  \"quotas\": { \"default\": { \"max_queues\": 5 },\n"
	       "              \"users\": { \"root\": { \"max_queues\": 3 } } } }");
	dropin(&t, "30-c.json", "{ \"quotas\": { \"groups\": { \"root\": null } } }");
	/* not drop-ins: other suffixes, hidden files */
	dropin(&t, "40-d.json.disabled", "garbage");
	dropin(&t, ".50-e.json", "garbage");
	dropin(&t, "README", "garbage");
	r = config_load(t.main, true, &c, err, sizeof(err));
	ck_assert_msg(r == 0, "%s", err);
	ck_assert_str_eq(c.origin, t.main);
	ck_assert_int_eq(c.ndropins, 3);
	/* objects merge key by key */
	ck_assert_str_eq(c.group, "g0");
	ck_assert_uint_eq(c.mode, 0640);
	/* arrays are replaced whole */
	ck_assert_int_eq(c.ndev, 1);
	ck_assert_str_eq(c.devs[0].name, "c");
	ck_assert(c.devs[0].sva);
	/* the last file wins, limit by limit */
	ck_assert_uint_eq(c.policy->def.lim[PL_MAX_QUEUES], 2);
	ck_assert_uint_eq(c.policy->def.lim[PL_MAX_REGION_BYTES], 1 << 20);
	/* "root" and "0" are one user: its entry merged from two files */
	ck_assert_int_eq(c.policy->nusers, 1);
	root = find_id(c.policy->users, c.policy->nusers, 0);
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(root->e.lim[PL_MAX_QUEUES], 3);
	ck_assert_uint_eq(root->e.lim[PL_MAX_REGION_BYTES], 1024);
	/* null deletes */
	ck_assert_int_eq(c.policy->ngroups, 0);
	config_sources(&c, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "(+3 drop-ins)"));
	config_free(&c);
	rmtree(&t);
}
END_TEST

START_TEST(test_dropins_errors_name_the_file)
{
	struct tree t;
	struct uacce_config c;
	char err[512] = "", path[256];

	mktree(&t, DEV("{ \"name\": \"a\", \"api\": \"dummy_v1\" }"));
	dropin(&t, "10-ok.json", "{ \"quotas\": { \"default\": { \"max_queues\": 1 } } }");
	dropin(&t, "20-bad.json", "{ \"quotas\": { \"default\": { \"max_queues\": \"x\" } } }");
	snprintf(path, sizeof(path), "%s/20-bad.json: quotas.default.max_queues", t.dropins);
	ck_assert_int_eq(config_load(t.main, true, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, path), "%s", err);
	ck_assert_ptr_null(c.root);
	ck_assert_ptr_null(c.policy);

	/* a file that is checked alone even if a later one would fix it */
	dropin(&t, "20-bad.json", "{ \"quotas\": { \"default\": { \"max_queus\": 1 } } }");
	dropin(&t, "30-fix.json", "{ \"quotas\": { \"default\": { \"max_queus\": null } } }");
	ck_assert_int_eq(config_load(t.main, true, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "20-bad.json: quotas.default.max_queus: unknown key"), "%s", err);

	/* not JSON, not an object */
	dropin(&t, "20-bad.json", "{ \"quotas\": ");
	ck_assert_int_eq(config_load(t.main, true, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "20-bad.json: not valid JSON"), "%s", err);
	dropin(&t, "20-bad.json", "[]");
	ck_assert_int_eq(config_load(t.main, true, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "20-bad.json: the top level must be an object"), "%s", err);
	dropin(&t, "20-bad.json", "{}");
	dropin(&t, "30-fix.json", "{}");

	/* a directory that looks like a drop-in */
	snprintf(path, sizeof(path), "%s/25-dir.json", t.dropins);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(config_load(t.main, true, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "25-dir.json: not a regular file"), "%s", err);
	rmdir(path);

	/* what only the whole can lack: named with the main file and the drop-ins */
	dropin(&t, "40-nodev.json", "{ \"devices\": null }");
	ck_assert_int_eq(config_load(t.main, true, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "(+4 drop-ins): devices: required array"), "%s", err);
	ck_assert_msg(strncmp(err, t.main, strlen(t.main)) == 0, "%s", err);
	rmtree(&t);
}
END_TEST

START_TEST(test_dropins_over_embedded_default)
{
	struct tree t;
	struct uacce_config c, def;
	char err[512] = "";

	ck_assert_int_eq(config_parse(config_embedded_default, "x", &def, err, sizeof(err)), 0);
	mktree(&t, NULL);	/* no main file */
	dropin(&t, "50-quotas.json", "{ \"quotas\": { \"default\": { \"max_queues\": 4 } } }");
	ck_assert_int_eq(config_load(t.main, false, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.origin, "(embedded default)");
	ck_assert_int_eq(c.ndropins, 1);
	ck_assert_int_eq(c.ndev, def.ndev);
	ck_assert_uint_eq(c.policy->def.lim[PL_MAX_QUEUES], 4);
	config_free(&c);
	/* named with -c, the main file must exist */
	ck_assert_int_eq(config_load(t.main, true, &c, err, sizeof(err)), -ENOENT);
	config_free(&def);
	rmtree(&t);
}
END_TEST

START_TEST(test_config_check_verdicts)
{
	struct tree t;
	char *out = NULL, *errs = NULL;
	size_t olen = 0, elen = 0;
	FILE *fo, *fe;

	mktree(&t, DEV("{ \"name\": \"a\", \"api\": \"dummy_v1\" }"));
	dropin(&t, "10.json", "{ \"quotas\": { \"users\": { \"root\": {} } }, "
			      "\"control\": { \"admin_group\": \"root\" } }");
	fo = open_memstream(&out, &olen);
	fe = open_memstream(&errs, &elen);
	ck_assert_int_eq(config_check("prog", t.main, true, fo, fe), 0);
	fflush(fo);
	ck_assert_msg(strstr(out, "(+1 drop-in): OK (1 device(s); quotas: 1 user(s), 0 group(s); "
				  "admin group root)"), "%s", out);
	dropin(&t, "20.json", "{ \"quotas\": { \"users\": { \"root\": { \"x\": 1 } } } }");
	ck_assert_int_eq(config_check("prog", t.main, true, fo, fe), 1);
	fflush(fe);
	ck_assert_msg(strstr(errs, "prog: configuration rejected: "), "%s", errs);
	ck_assert_msg(strstr(errs, "20.json: quotas.users.root.x: unknown key"), "%s", errs);
	fclose(fo);
	fclose(fe);
	free(out);
	free(errs);
	rmtree(&t);
}
END_TEST

static struct uacce_dev_cfg dcfg(const char *name, const char *api, bool sva, int queues,
				 const char *json)
{
	struct uacce_dev_cfg d = {
		.name = name, .backend = "soft", .api = api, .sva = sva, .queues = queues,
		.entry = json ? json_tokener_parse(json) : NULL,
	};

	return d;
}

START_TEST(test_dev_equal)
{
	struct uacce_dev_cfg a = dcfg("d", "dummy_v1", false, 8, "{ \"name\": \"d\" }");
	struct uacce_dev_cfg b = dcfg("d", "dummy_v1", false, 8,
				      "{ \"name\": \"d\", \"queues\": 8, \"sva\": false }");
	struct uacce_dev_cfg w1 = dcfg("d", "dummy_v1", false, 8, "{ \"workers\": 2 }");
	struct uacce_dev_cfg w2 = dcfg("d", "dummy_v1", false, 8, "{ \"workers\": 3 }");
	struct uacce_dev_cfg w3 = dcfg("d", "dummy_v1", false, 8, "{ \"workers\": 2 }");

	/* defaults written out or not: the same device */
	ck_assert(config_dev_equal(&a, &b));
	ck_assert(config_dev_equal(&b, &a));
	b.queues = 4;
	ck_assert(!config_dev_equal(&a, &b));
	b.queues = 8;
	b.sva = true;
	ck_assert(!config_dev_equal(&a, &b));
	b.sva = false;
	b.api = "dummy_v2";
	ck_assert(!config_dev_equal(&a, &b));
	b.api = "dummy_v1";
	b.name = "e";
	ck_assert(!config_dev_equal(&a, &b));
	/* backend-specific keys count */
	ck_assert(config_dev_equal(&w1, &w3));
	ck_assert(!config_dev_equal(&w1, &w2));
	ck_assert(!config_dev_equal(&a, &w1));
	ck_assert(!config_dev_equal(&w1, &a));
	json_object_put(a.entry);
	json_object_put(b.entry);
	json_object_put(w1.entry);
	json_object_put(w2.entry);
	json_object_put(w3.entry);
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
 * A comment that runs to the end of the text makes json-c consume the
 * terminating NUL too: the trailing-text check then read past the end and
 * refused (or accepted) the text by what followed it in memory.  Found by
 * test/fuzz/fuzz-config.
 */
START_TEST(test_regr_comment_to_end)
{
	static const char text[] =
		"{ \"devices\": [ { \"name\": \"d\", \"api\": \"dummy_v1\" } ] } // end\0xx";
	struct uacce_config c;

	accept(text, &c);
	ck_assert_int_eq(c.ndev, 1);
	config_free(&c);
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
	tcase_add_test(tc, test_backend_keys_and_checks);
	tcase_add_test(tc, test_reject_wrong_types);
	tcase_add_test(tc, test_reject_queues_range);
	tcase_add_test(tc, test_reject_bad_mode);
	tcase_add_test(tc, test_reject_missing_devices);
	tcase_add_test(tc, test_reject_missing_name_api);
	tcase_add_test(tc, test_reject_bad_name);
	tcase_add_test(tc, test_abi_and_node_prefix);
	tcase_add_test(tc, test_reject_unknown_backend);
	tcase_add_test(tc, test_reject_too_many_devices);
	tcase_add_test(tc, test_kernel_entries);
	tcase_add_test(tc, test_kernel_reject);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, test_quotas_full);
	tcase_add_test(tc, test_quota_total);
	tcase_add_test(tc, test_quota_sizes);
	tcase_add_test(tc, test_quota_reject_sizes);
	tcase_add_test(tc, test_quota_counts);
	tcase_add_test(tc, test_quota_reject_structure);
	tcase_add_test(tc, test_quota_reject_unknown_ids);
	tcase_add_test(tc, test_quota_null_is_absent);
	suite_add_tcase(s, tc);

	tc = tcase_create("dropins");
	tcase_add_test(tc, test_dropins_merge);
	tcase_add_test(tc, test_dropins_errors_name_the_file);
	tcase_add_test(tc, test_dropins_over_embedded_default);
	tcase_add_test(tc, test_config_check_verdicts);
	tcase_add_test(tc, test_dev_equal);
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
		tcase_add_test(tc, test_regr_comment_to_end);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return unit_run(config_suite());
}
