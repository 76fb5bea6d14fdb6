/* SPDX-License-Identifier: MIT */
/*
 * Hugepage-aware placement (src/fs/core/super.c): a run that cannot
 * continue a file's previous one starts, when the write or the file is
 * large, where its device offset is congruent to its file offset modulo
 * 2 MiB, so views (and the kernel's mappings of the device) map 2 MiB of
 * the file with one 2 MiB entry.
 *  - A file written 1 MiB at a time after a small file moved the
 *    allocator off a 2 MiB boundary: its view starts on a 2 MiB boundary.
 *  - Two files appended 4 KiB at a time in turn, past 2 MiB each: every
 *    run after the first 2 MiB of a file starts congruent.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fs/core.h"
#include "fs_util.h"

#define BS	4096ull
#define HUGE	(2ull << 20)

static uint64_t congruence(struct udax_fs *fs, const struct fs_extent *e)
{
	uint64_t hb = HUGE / BS;

	return ((fs->dev_offset / BS + e->pblk) % hb + hb - e->lblk % hb) % hb;
}

static void big_writes(struct udax_fs *fs)
{
	static uint8_t buf[1 << 20];
	struct udax_file *s, *f;
	struct udax_view *v;
	void *addr;

	FS_OK(udax_open(fs, "/small", O_RDWR | O_CREAT, 0644, &s));
	memset(buf, 's', BS);
	for (int k = 0; k < 3; k++)
		T_ASSERT(udax_append(s, buf, BS, NULL) == (ssize_t)BS);
	FS_OK(udax_close(&s));

	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	for (int k = 0; k < 6; k++) {
		memset(buf, 'a' + k, sizeof(buf));
		T_ASSERT(udax_append(f, buf, sizeof(buf), NULL) == (ssize_t)sizeof(buf));
	}
	FS_OK(udax_view_map(f, 0, 6 << 20, 0, &v, &addr));
	T_ASSERT((uintptr_t)addr % HUGE == 0);
	for (int k = 0; k < 6; k++)
		T_ASSERT(((const char *)addr)[((size_t)k << 20) + 77] == 'a' + k);
	udax_view_unmap(&v);
	FS_OK(udax_close(&f));
}

static void alternate_appends(struct udax_fs *fs)
{
	static uint8_t buf[BS];
	struct udax_file *f[2];
	struct fs_xpos p;
	unsigned runs = 0;

	FS_OK(udax_open(fs, "/a", O_RDWR | O_CREAT, 0644, &f[0]));
	FS_OK(udax_open(fs, "/b", O_RDWR | O_CREAT, 0644, &f[1]));
	for (int k = 0; k < 3000; k++)
		for (int i = 0; i < 2; i++) {
			memset(buf, (k + i) % 250 + 1, BS);
			T_ASSERT(udax_append(f[i], buf, BS, NULL) == (ssize_t)BS);
		}
	for (int i = 0; i < 2; i++) {
		struct fs_inode *ino = f[i]->inode;

		pthread_rwlock_rdlock(&ino->lock);
		for (const struct fs_extent *e = fs_xmap_seek(ino, 0, &p); e;
		     e = fs_xmap_next(ino, &p)) {
			if (e->lblk < HUGE / BS)
				continue;
			T_ASSERT(congruence(fs, e) == 0);
			runs++;
		}
		pthread_rwlock_unlock(&ino->lock);
	}
	/* Each file broke its run at least once past 2 MiB (else the check
	 * above checked nothing). */
	T_ASSERT(runs >= 2);
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < 3000; k += 997) {
			T_ASSERT(udax_pread(f[i], buf, BS, (uint64_t)k * BS) == (ssize_t)BS);
			T_ASSERT(buf[0] == (k + i) % 250 + 1 && buf[BS - 1] == buf[0]);
		}
		FS_OK(udax_close(&f[i]));
	}
}

int main(void)
{
	struct udax_dev *dev = t_fs_dev("mem:256M");
	struct udax_fs *fs;

	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 64 }));
	fs = t_fs_mount(dev);
	big_writes(fs);
	alternate_appends(fs);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
