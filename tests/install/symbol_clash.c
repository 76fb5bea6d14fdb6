/* SPDX-License-Identifier: MIT */
/*
 * A program that defines functions named like libudax's internals
 * (dev_map, dev_err, fs_claim, fs_txn_commit, futex_wait_until, io_err)
 * links with the installed libudax.a and libudax.so (one build of this
 * test for each) and both keep their own: the library's file system works,
 * and the program's functions are the ones it calls.  With internals
 * exported this fails to link (libudax.a: multiple definitions) or binds
 * the library's calls to the program's functions (libudax.so).
 */
#include <fcntl.h>
#include <string.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/version.h>

#include "testutil.h"

int dev_map(void);
int dev_err(void);
int fs_claim(void);
int fs_txn_commit(void);
int futex_wait_until(void);
int io_err(void);

__attribute__((noinline)) int dev_map(void) { return 1; }
__attribute__((noinline)) int dev_err(void) { return 2; }
__attribute__((noinline)) int fs_claim(void) { return 3; }
__attribute__((noinline)) int fs_txn_commit(void) { return 4; }
__attribute__((noinline)) int futex_wait_until(void) { return 5; }
__attribute__((noinline)) int io_err(void) { return 6; }

#define OK(expr) do {							\
	long _r = (long)(expr);						\
	if (_r < 0) {							\
		fprintf(stderr, "%s: %ld (%s): %s\n", #expr, _r,	\
			udax_strerror((int)_r), udax_fs_last_error());	\
		exit(1);						\
	}								\
} while (0)

int main(void)
{
	static const char msg[] = "written through libudax";
	struct udax_dev *dev = NULL;
	struct udax_fs *fs = NULL;
	struct udax_file *f;
	char buf[sizeof(msg)] = "";

	/* The library's own dev_map, dev_err, fs_claim, fs_txn_commit... */
	OK(udax_dev_open("mem:8M", NULL, &dev));
	OK(udax_dev_mkpart(dev, NULL, 0, 0));
	OK(udax_mkfs(dev, 0, NULL));
	OK(udax_mount(dev, 0, NULL, &fs));
	OK(udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, msg, sizeof(msg), 0) == (ssize_t)sizeof(msg));
	T_ASSERT(udax_pread(f, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	T_ASSERT(memcmp(buf, msg, sizeof(msg)) == 0);
	OK(udax_close(&f));
	/* An error path of the library (its dev_err), with its message. */
	T_ASSERT(udax_open(fs, "/missing", O_RDONLY, 0, &f) < 0);
	OK(udax_unmount(&fs));
	OK(udax_dev_close(&dev, 0));

	/* ...and the program's. */
	T_ASSERT(dev_map() == 1 && dev_err() == 2 && fs_claim() == 3);
	T_ASSERT(fs_txn_commit() == 4 && futex_wait_until() == 5 && io_err() == 6);
	printf("symbol_clash: libudax %s and the program's own dev_map, dev_err, fs_claim, "
	       "fs_txn_commit, futex_wait_until, io_err\n", udax_version_string());
	return 0;
}
