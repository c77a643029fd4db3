/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * broker_proto.h - the wire protocol between libuacce and uacced's region
 * broker (a SOCK_SEQPACKET Unix socket "<runtime-dir>/broker.sock").
 *
 * Every message is one packet: a fixed header followed by the opcode's
 * body.  Client opcodes are below 0x100, server replies at 0x100 and above.
 * A message that carries an fd says so in `flags` (UB_F_FD).  The one
 * codec of this protocol is broker_wire.c: it sends and accepts a message
 * only with its opcode's exact body size and fd rule, and closes every fd
 * that came with a packet it refuses.
 *
 * A connection is bound to one queue by UB_ATTACH, which carries the queue
 * fd itself: the broker identifies the open file through its own device
 * (proof of possession) and checks that the peer (SO_PEERCRED) is the
 * queue's owner process.  Nothing the client states about itself is used.
 */
#ifndef UACCE_BROKER_PROTO_H
#define UACCE_BROKER_PROTO_H

#include <linux/ioctl.h>
#include <stdint.h>

#define UB_SOCKET_NAME		"broker.sock"
#define UB_VERSION		1

#define UB_F_FD			0x1	/* an fd travels with this packet */

enum ub_opcode {
	UB_ATTACH = 1,		/* body: none; fd: the queue fd */
	UB_MAP = 2,		/* body: ub_map -> ub_reply (+ region fd) */
	UB_MAPPED = 3,		/* body: ub_mapped -> ub_reply */
	UB_UNMAP = 4,		/* body: ub_region -> ub_reply */
	UB_MMAP = 5,		/* body: ub_mmap -> ub_reply (+ region fd) */
	UB_SHARE = 6,		/* body: none; fd: a memfd -> ub_reply (size) */
	UB_REPLY = 0x100,	/* body: ub_reply */
};

struct ub_hdr {
	uint16_t version;
	uint16_t opcode;
	uint16_t flags;
	uint16_t body_len;
};

struct ub_map {
	uint32_t type;		/* enum uacce_qfrt */
	uint32_t pad;
	uint64_t size;		/* bytes the caller wants to map */
};

/*
 * mmap(2) of the queue fd as a program would issue it: the daemon selects
 * the region from `offset` by the device's profile (v4: the byte offsets of
 * qfrs_offset; mainline: page offset = region type, MMIO 0, DUS 1) and
 * applies that profile's rules (size, already mapped, queue state).  The
 * reply's `size` is the region's, its `queue_id` field the region type
 * (enum uacce_qfrt) that UB_MAPPED and UB_UNMAP then name.
 */
struct ub_mmap {
	uint64_t offset;	/* mmap's offset argument, bytes */
	uint64_t size;		/* mmap's length argument */
};

struct ub_mapped {
	uint32_t type;
	uint32_t pad;
	uint64_t addr;		/* where the client mapped it */
};

struct ub_region {
	uint32_t type;
	uint32_t pad;
};

enum ub_map_kind {
	UB_MAP_FD = 1,		/* map the attached fd, shared, read/write */
	UB_MAP_RESERVE = 2,	/* reserve address space, no access (DKO) */
};

struct ub_reply {
	int32_t status;		/* 0 or -errno */
	uint32_t kind;		/* enum ub_map_kind, for UB_MAP */
	uint64_t size;
	uint64_t queue_id;	/* for UB_ATTACH: the daemon's queue id */
};

/*
 * UB_SHARE (SVA queues): the owner shares a memfd it maps MAP_SHARED (sealed
 * F_SEAL_SHRINK, not F_SEAL_WRITE, opened read/write, at most 4 GiB) with
 * the device.  A request's range that lies in a shared mapping of that
 * file in the owner (looked up per request, like every SVA access) is then
 * served from the daemon's own mapping of it, with no kernel copy.  Counted
 * against the owner's region quotas; at most 8 files per queue; dropped
 * with the queue (and at a live restart: requests then take the kernel's
 * copy again).  The reply's size: the file's bytes.
 */
#define UB_MAX_BODY		64

/*
 * Private ioctl the daemon issues on a queue fd it received, to learn which
 * of its queues the open file is.  Refused (EPERM) for anyone but uacced.
 */
struct uacced_ident {
	uint64_t magic;
	uint64_t queue_id;
};
#define UACCED_IDENT_MAGIC	0x75616363656431ULL	/* "uacced1" */
#define UACCED_CMD_IDENT	_IOR('W', 0x75, struct uacced_ident)

#endif /* UACCE_BROKER_PROTO_H */
