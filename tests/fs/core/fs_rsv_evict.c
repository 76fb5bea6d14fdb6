/* SPDX-License-Identifier: MIT */
/*
 * A file's block reservation (the blocks held back for its next appends)
 * goes back when the file leaves the inode cache, and the file leaves the
 * allocator's list of reservations with it: a file system filled after
 * such files were closed hands out every block, the reserved ones
 * included, and never reaches a freed inode through that list (the
 * eviction skips the allocator's lock for files that never held a
 * reservation, so it must tell the two apart exactly).  Files that were
 * only read, files whose reservation was used up, and files closed while
 * another thread drains reservations are all covered.
 */
#include <pthread.h>

#include "fs_util.h"

#define BS	4096

static struct udax_fs *fs;

/* Append @n blocks to @path through the fast log, then close it; with
 * @full, the file system may be full meanwhile (a filler thread). */
static void append_close(const char *path, int n, bool full)
{
	uint8_t buf[BS];
	struct udax_file *f;
	int r;

	t_fill(buf, sizeof(buf), 3);
	r = udax_open(fs, path, O_RDWR | O_CREAT, 0644, &f);
	T_ASSERT(r == 0 || (full && r == -ENOSPC));
	for (int i = 0; i < n && !r; i++) {
		ssize_t w = udax_append(f, buf, BS, NULL);

		T_ASSERT(w == BS || (full && w == -ENOSPC));
	}
	if (!r)
		FS_OK(udax_close(&f));
}

/* Fill the file system with @path, block by block: the blocks written. */
static uint64_t fill(const char *path)
{
	static uint8_t buf[BS];
	struct udax_file *f;
	uint64_t n = 0;
	ssize_t r;

	FS_OK(udax_open(fs, path, O_RDWR | O_CREAT, 0644, &f));
	while ((r = udax_pwrite(f, buf, BS, n * BS)) == BS)
		n++;
	FS_ERR(r, -ENOSPC);
	FS_OK(udax_close(&f));
	return n;
}

static void *closer(void *arg)
{
	char p[32];

	for (int i = 0; i < 64; i++) {
		snprintf(p, sizeof(p), "/t%ld_%d", (long)(intptr_t)arg, i);
		append_close(p, 1, true);
	}
	return NULL;
}

int main(void)
{
	struct udax_dev *dev = t_fs_dev("mem:8M");
	struct udax_statfs s0, s1;
	struct udax_file *f;
	uint64_t got;
	char p[32];

	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 256 }));
	fs = t_fs_mount(dev);

	/* Files that reserved blocks and were closed; one only read (no
	 * reservation ever); one whose reservation its appends used up. */
	for (int i = 0; i < 8; i++) {
		snprintf(p, sizeof(p), "/a%d", i);
		append_close(p, 1 + i, false);
	}
	FS_OK(udax_open(fs, "/a0", O_RDONLY, 0, &f));
	FS_OK(udax_close(&f));
	append_close("/used", 64, false);
	FS_OK(udax_statfs(fs, &s0));

	/* Everything free is handed out: the reserved blocks went back. */
	got = fill("/fill");
	T_ASSERT(got > 0 && got <= s0.blocks_free);
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free == 0);
	/* What the file took is what was free, but for its extent leaves. */
	T_ASSERT(s0.blocks_free - got <= 2);
	FS_OK(udax_unlink(fs, "/fill"));

	/* Threads closing files with reservations while this one drains
	 * every reservation by filling the file system. */
	{
		pthread_t t[2];

		for (long k = 0; k < 2; k++)
			T_ASSERT(pthread_create(&t[k], NULL, closer, (void *)(intptr_t)k) == 0);
		for (int round = 0; round < 4; round++) {
			udax_unlink(fs, "/fill");
			{
				static uint8_t buf[BS];
				struct udax_file *g;
				uint64_t n = 0;

				FS_OK(udax_open(fs, "/fill", O_RDWR | O_CREAT, 0644, &g));
				while (udax_pwrite(g, buf, BS, n * BS) == BS)
					n++;
				FS_OK(udax_close(&g));
			}
		}
		for (int k = 0; k < 2; k++)
			T_ASSERT(pthread_join(t[k], NULL) == 0);
		udax_unlink(fs, "/fill");
	}
	t_fs_close_clean(&dev, &fs);
	return 0;
}
