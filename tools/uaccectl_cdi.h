/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * uaccectl_cdi.h - "uaccectl cdi": a Container Device Interface spec for
 * the devices a running uacced publishes (uaccectl_cdi.c).
 */
#ifndef UACCECTL_CDI_H
#define UACCECTL_CDI_H

#include <stdbool.h>

/* is the command of this uaccectl command line "cdi"? */
bool uaccectl_cdi_requested(int argc, char **argv);
/* the whole command line (its own options); exit status 0, 1 or 2 */
int uaccectl_cdi_main(int argc, char **argv);

#endif
