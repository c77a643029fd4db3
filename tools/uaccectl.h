/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uaccectl.h - what uaccectl.c shares with the commands kept in files of
 * their own (uaccectl_top.c).
 */
#ifndef UACCECTL_H
#define UACCECTL_H

#include <json-c/json.h>

/*
 * Send {"command": cmd} to the control socket of the daemon of runtime
 * directory dir; *reply gets its answer (a JSON object, "ok" true or
 * false).  Exit status: 0, or 1 with the reason printed on stderr (no
 * daemon, permission denied, no valid reply).
 */
int uaccectl_request(const char *dir, const char *cmd, json_object **reply);

#endif
