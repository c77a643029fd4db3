/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uaccectl_top.h - "uaccectl top": a live view of devices, users and
 * queues from the control socket, refreshed every interval
 * (uaccectl_top.c).
 */
#ifndef UACCECTL_TOP_H
#define UACCECTL_TOP_H

#include <stdbool.h>

/* is the command of this uaccectl command line "top"? */
bool uaccectl_top_requested(int argc, char **argv);
/* the whole command line (its own options); exit status 0, 1 or 2 */
int uaccectl_top_main(int argc, char **argv);

#endif
