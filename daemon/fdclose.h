/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdclose.h - closing fds that clients sent, without waiting for them.
 * close(2) of a file of a FUSE (or network) file system sends it a flush
 * and waits for the answer: a client that sends the daemon a file of its
 * own FUSE mount and stops its server would hold up whichever daemon
 * thread closes it.  Such fds are closed by closer threads instead (up to
 * FD_CLOSERS of them, started when needed); fds of in-memory file systems,
 * pipes, sockets and the like are closed at once.  FD_CLOSE_BACKLOG fds
 * may wait; past that, fd_close_nowait() closes in the caller's thread
 * (the daemon's fd table stays bounded) and says so in the log.
 *
 * One instance per process (the daemon's), like the fd table it serves.
 */
#ifndef UACCED_FDCLOSE_H
#define UACCED_FDCLOSE_H

#define FD_CLOSERS		4
#define FD_CLOSE_BACKLOG	1024

/*
 * Close fd, now if that cannot wait for another process, else soon.  `id`:
 * what fd_ident() said of it already, or NULL to ask it here.
 */
struct fd_ident;
void fd_close_nowait(int fd, const struct fd_ident *id);
/* fds waiting for a closer (for tests and the log) */
int fd_close_pending(void);
/*
 * Wait until every queued fd is closed, at most timeout_ms: 0 or
 * -ETIMEDOUT.  At shutdown, before the frontend stops serving: a client's
 * fd of the daemon's own FUSE mount closes only while that is served.
 */
int fd_close_drain(int timeout_ms);

#endif
