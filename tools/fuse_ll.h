/* SPDX-License-Identifier: MIT */
/*
 * udax mount: the FUSE low-level server (fuse_ll.c), on the public
 * inode-handle API of include/udax/fs.h.  It lives in tools/, not in
 * libudax: the library never depends on libfuse3, and the server uses
 * nothing a program outside the library could not.
 */
#ifndef UDAX_FUSE_LL_H
#define UDAX_FUSE_LL_H

#include <stdbool.h>

struct udax_fs;

struct fll_opts {
	const char *mountpoint;
	const char *fsname;		/* shown in /proc/mounts */
	const char *subtype;		/* the type is fuse.SUBTYPE; "": fuse */
	int argc;			/* libfuse's own options ("-o", "x,y", ...) */
	char **argv;
	bool debug;			/* libfuse's -d */
	bool ro;
	bool acl;			/* POSIX ACLs (with default_permissions) */
	/* Called once the kernel mount is up (the daemon's parent exits
	 * then); 0 to go on serving. */
	int (*ready)(void *arg);
	void *ready_arg;
};

/*
 * Serve @fs at @o->mountpoint until it is unmounted (fusermount3 -u) or
 * SIGTERM/SIGINT/SIGHUP arrives; then unmount the kernel side, close
 * every file and directory the kernel left open and drop every inode it
 * held, so that the caller can udax_unmount().  Returns 0, or a negative
 * errno with a message printed.
 */
int fll_serve(struct udax_fs *fs, const struct fll_opts *o);

#endif
