/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * broker.h - the region broker: hands region memory fds to the owner
 * process of a queue over <runtime-dir>/broker.sock (see broker_proto.h).
 */
#ifndef UACCED_BROKER_H
#define UACCED_BROKER_H

struct uacce_core;
struct frontend;
struct broker;

int broker_start(const char *rundir, struct uacce_core *core, struct frontend *fe,
		 struct broker **out);
void broker_stop(struct broker *b);

#endif
