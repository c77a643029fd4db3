/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * abi-probe - check, scenario by scenario, that a uacce device served by
 * uacced answers as the v4 ABI (/work/shared/design/ABI.md) says.
 *
 *   abi-probe [-N NONSVA_DEV|none] [-S SVA_DEV|none] [--peer-uid UID] SCENARIO...
 *
 * Every check prints one line, "ok: ..." or "FAIL: ... expected X got Y";
 * measurements print "info: ...".  Exit status: 0 when every check passed,
 * 1 when one failed, 2 on a usage or set-up error.  The devices default to
 * the first dummy device without / with UACCE_DEV_SVA in the runtime
 * directory ($UACCE_RUNTIME_DIR, else /run/uacce); "none" skips that kind.
 * --peer-uid: in scm-rights the receiving process first drops to that uid
 * (with its primary group alone), a uid outside the device group: besides
 * the queue's refusals, connect(2) to the broker socket gets EACCES.
 * UACCE_TIME_SCALE=N multiplies every time limit (slow emulated machines).
 *
 * Besides the checking scenarios ("abi-probe list"), helpers serve the
 * integration scripts: "hold DEV [shared N]" (take a started queue with its
 * regions; on SVA with "shared N" do N copies in memory shared with the
 * device, uacce_share_alloc; print "ready", sleep until killed), "wait-death DEV [poll]" (block in
 * wd_recv_sync / poll until the daemon dies, then check that the wait
 * returned an error), "open DEV ERRNO" (open(2) must give ERRNO, "0" for
 * success), "broker-fdflood" (fds sent with malformed broker messages must
 * all be closed by the daemon), "flood DEV MS [MIB]" (DUMMY_CMD_FLUSH of a
 * full ring of large copies, again and again, timed), "open-start DEV N"
 * (open, START, close, timed) and "attach-foreign PATH [SVADEV]" (UB_ATTACH
 * of a file of a FUSE server the script has stopped, and with SVADEV its
 * UB_SHARE on a queue of SVADEV: the broker must answer);
 * "mainline DEV" checks the mainline profile's rules on a device configured
 * "abi": "mainline" (abi-mainline.c).
 *
 * This file holds main and the scenario table; the scenarios live by theme
 * in abi-queue.c, abi-ring.c, abi-regions.c, abi-stranger.c, abi-owner.c and
 * abi-broker.c, the script helpers in abi-cmds.c, what they share in
 * abi-common.c/.h.
 */

#include "abi-common.h"

/* --- main ----------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_devices(void)
{
	char path[512], *names[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/class", uacce_runtime_dir());
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) && n < 64)
		if (strncmp(de->d_name, "uacce-", 6) == 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		char api[64];

		if (uacce_dev_attr(names[i], "api", api, sizeof(api)) < 0 ||
		    strncmp(api, "dummy_", 6) != 0) {
			free(names[i]);
			continue;
		}
		if (is_sva(names[i])) {
			if (!sva_dev) {
				sva_dev = names[i];
				continue;
			}
		} else if (!nonsva_dev) {
			nonsva_dev = names[i];
			continue;
		}
		free(names[i]);
	}
}

/* NONSVA_SVA: pair(non-SVA, SVA); SVA_NONSVA: pair(SVA, non-SVA or NULL) */
enum need { BOTH, NONSVA, NONSVA_SVA, SVA_NONSVA, HEAVY };

static const struct scenario {
	const char *name;
	enum need need;
	void (*fn)(const char *dev);
	const char *help;
	void (*pair)(const char *dev, const char *other);	/* *_SVA, *_NONSVA */
} scenarios[] = {
	{ "start-twice", BOTH, sc_start_twice, "START, START -> EINVAL; PUT_Q, START -> EINVAL" },
	{ "put-then-start", BOTH, sc_put_then_start, "PUT_Q on INIT, then START -> EINVAL" },
	{ "unknown-ioctl", BOTH, sc_unknown_ioctl, "unknown ioctls -> EINVAL, IDENT -> EPERM" },
	{ "flush", BOTH, sc_flush, "DUMMY_CMD_FLUSH after START processes the ring" },
	{ "region-sizes", BOTH, sc_region_sizes, "qfrs_offset, MMIO/DUS sizes, EBUSY, absent regions" },
	{ "ss-rules", BOTH, sc_ss_rules, "SS only after START on non-SVA, never on SVA; DKO" },
	{ "instances", BOTH, sc_instances, "available_instances at open, PUT_Q, close; exhaustion" },
	{ "nonsva-busy", NONSVA, sc_nonsva_busy, "a second process gets EBUSY on a non-SVA device" },
	{ "fork", BOTH, sc_fork, "a forked child: no mappings, EPERM, POLLERR; parent unaffected" },
	{ "scm-rights", BOTH, sc_scm_rights, "a queue fd passed to another process: EPERM" },
	{ "proc-fd", BOTH, sc_proc_fd, "pidfd_getfd: EPERM; /proc/<pid>/fd reopen: a new queue" },
	{ "share", NONSVA_SVA, NULL, "UACCE_CMD_SHARE_SVAS rules and use", sc_share },
	{ "shared-mem", SVA_NONSVA, NULL,
	  "SVA: memfds the owner shares (UB_SHARE), what the device then sees", sc_shared_mem },
	{ "rlimit", NONSVA, sc_rlimit, "SS beyond RLIMIT_DATA -> ENOMEM" },
	{ "bad-requests", BOTH, sc_bad_requests, "bad addresses fail the request, not the daemon" },
	{ "poll-wakeup", BOTH, sc_poll_wakeup, "a blocked poll wakes within 1 s of a completion" },
	{ "threads", BOTH, sc_threads, "the owner is the process, not the opening thread" },
	{ "owner-exit", BOTH, sc_owner_exit, "owner exits, a forked holder keeps the fd" },
	{ "broker-proto", BOTH, sc_broker_proto, "region broker protocol errors" },
	{ "death-under-load", HEAVY, sc_death_under_load,
	  "(not in all) owner killed with a full ring while another process polls" },
};

static void run_scenario(const struct scenario *s)
{
	if (s->pair) {
		bool sva = s->need == SVA_NONSVA;
		const char *dev = sva ? sva_dev : nonsva_dev;

		if (sva ? skip_sva : skip_nonsva)
			return;
		if (!dev) {
			set_ctx(NULL, "%s", s->name);
			fail("no %s dummy device", sva ? "SVA" : "non-SVA");
			return;
		}
		s->pair(dev, sva ? (skip_nonsva ? NULL : nonsva_dev) : sva_dev);
		return;
	}
	if ((s->need == NONSVA || s->need == BOTH || s->need == HEAVY) && !skip_nonsva) {
		if (nonsva_dev) {
			s->fn(nonsva_dev);
		} else {
			set_ctx(NULL, "%s", s->name);
			fail("no non-SVA dummy device");
		}
	}
	if (s->need == BOTH && !skip_sva) {
		if (sva_dev) {
			s->fn(sva_dev);
		} else {
			set_ctx(NULL, "%s", s->name);
			fail("no SVA dummy device");
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: abi-probe [-N NONSVA_DEV|none] [-S SVA_DEV|none] [--peer-uid UID] "
		   "SCENARIO...\n"
		   "       abi-probe hold DEV [shared N] | wait-death DEV [poll] | open DEV ERRNO\n"
		   "       abi-probe broker-fdflood\n"
		   "       abi-probe flood DEV MS [MIB] | open-start DEV N | attach-foreign PATH [SVADEV]\n"
		   "       abi-probe mainline DEV   (the mainline profile's rules)\n"
		   "       abi-probe list   (the scenarios of \"all\")\n"
		   "Scenarios (\"all\" runs every one):\n");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(f, "  %-15s %s\n", scenarios[i].name, scenarios[i].help);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nonsva", required_argument, NULL, 'N' },
		{ "sva", required_argument, NULL, 'S' },
		{ "peer-uid", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (getenv("UACCE_TIME_SCALE") && atoi(getenv("UACCE_TIME_SCALE")) > 1)
		tscale = atoi(getenv("UACCE_TIME_SCALE"));
	srand((unsigned)getpid());
	while ((c = getopt_long(argc, argv, "+N:S:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'N':
			nonsva_dev = optarg;
			break;
		case 'S':
			sva_dev = optarg;
			break;
		case 'u':
			peer_uid = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "list") == 0) {
		for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			if (scenarios[i].need != HEAVY)	/* those of "all" */
				printf("%s\n", scenarios[i].name);
		return 0;
	}
	if (strcmp(argv[optind], "hold") == 0 && optind + 3 < argc &&
	    strcmp(argv[optind + 2], "shared") == 0)
		return cmd_hold(argv[optind + 1], atoi(argv[optind + 3]));
	if (strcmp(argv[optind], "hold") == 0 && optind + 1 < argc)
		return cmd_hold(argv[optind + 1], 0);
	if (strcmp(argv[optind], "wait-death") == 0 && optind + 1 < argc)
		return cmd_wait_death(argv[optind + 1],
				      optind + 2 < argc && strcmp(argv[optind + 2], "poll") == 0);
	if (strcmp(argv[optind], "open") == 0 && optind + 2 < argc)
		return cmd_open(argv[optind + 1], argv[optind + 2]);
	if (strcmp(argv[optind], "broker-fdflood") == 0)
		return cmd_fdflood();
	if (strcmp(argv[optind], "attach-foreign") == 0 && optind + 1 < argc)
		return cmd_attach_foreign(argv[optind + 1], optind + 2 < argc ? argv[optind + 2]
									     : NULL);
	if (strcmp(argv[optind], "flood") == 0 && optind + 2 < argc)
		return cmd_flood(argv[optind + 1], atoi(argv[optind + 2]),
				 optind + 3 < argc ? (size_t)atol(argv[optind + 3]) : 64);
	if (strcmp(argv[optind], "mainline") == 0 && optind + 1 < argc)
		return cmd_mainline(argv[optind + 1]);
	if (strcmp(argv[optind], "open-start") == 0 && optind + 2 < argc)
		return cmd_open_start(argv[optind + 1], atoi(argv[optind + 2]));
	if (!nonsva_dev || !sva_dev)
		find_devices();
	if (nonsva_dev && strcmp(nonsva_dev, "none") == 0)
		nonsva_dev = NULL, skip_nonsva = true;
	if (sva_dev && strcmp(sva_dev, "none") == 0)
		sva_dev = NULL, skip_sva = true;
	for (int i = optind; i < argc; i++) {
		bool all = strcmp(argv[i], "all") == 0, found = all;

		for (size_t j = 0; j < sizeof(scenarios) / sizeof(scenarios[0]); j++) {
			if ((all && scenarios[j].need != HEAVY) ||
			    strcmp(argv[i], scenarios[j].name) == 0) {
				run_scenario(&scenarios[j]);
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "abi-probe: unknown scenario \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	printf("abi-probe: %d ok, %d failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}
