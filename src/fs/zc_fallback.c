/* SPDX-License-Identifier: MIT */
/*
 * Stand-ins for the zero-copy / layout-break module (break.c, pin.c,
 * view.c), built only while break.c does not exist, so that the core
 * links and its tests run.  Nothing can pin or map a page without that
 * module, so a layout break has nothing to wait for: blocks are freed at
 * once.  Remove this file once break.c lands.
 */
#include <errno.h>

#include "fs/internal.h"
#include "fs/zc.h"

void fs_inode_zc_init(struct fs_inode *ino)
{
	pthread_mutex_init(&ino->zc_lock, NULL);
	pthread_cond_init(&ino->zc_cond, NULL);
	ino->gates = NULL;
	ino->views = NULL;
}

void fs_inode_zc_destroy(struct fs_inode *ino)
{
	pthread_mutex_destroy(&ino->zc_lock);
	pthread_cond_destroy(&ino->zc_cond);
}

int fs_zc_mount(struct udax_fs *fs)
{
	pthread_mutex_init(&fs->busy_lock, NULL);
	fs->busy = NULL;
	fs->nr_busy = 0;
	fs->limited = false;
	return 0;
}

int fs_zc_unmount(struct udax_fs *fs)
{
	pthread_mutex_destroy(&fs->busy_lock);
	return 0;
}

int fs_layout_break(struct udax_fs *fs, struct fs_inode *ino, uint64_t lblk,
		    uint64_t nblk, const struct udax_break_opts *brk,
		    struct fs_break *br)
{
	(void)lblk;
	(void)nblk;
	br->fs = fs;
	br->ino = ino;
	br->gate = NULL;
	br->mode = brk ? brk->mode : fs->brk.mode;
	return 0;
}

int fs_layout_break_all(struct udax_fs *fs, struct fs_inode *ino,
			const struct udax_break_opts *brk, struct fs_break *br)
{
	return fs_layout_break(fs, ino, 0, UINT64_MAX, brk, br);
}

void fs_break_free(struct fs_break *br, uint64_t pblk, uint64_t n)
{
	fs_block_free(br->fs, pblk, n);
}

void fs_break_end(struct fs_break *br)
{
	br->gate = NULL;
}

uint64_t fs_zc_busy_blocks(struct udax_fs *fs)
{
	(void)fs;
	return 0;
}
