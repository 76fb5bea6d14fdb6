/* SPDX-License-Identifier: MIT */
/*
 * A stat of an inode nobody holds copies its record on media with
 * ns_lock held shared -- while an open, also under ns_lock shared, may
 * load the same inode into the cache, after which its holder rewrites the
 * record.  The stat writes nothing (a seqlock's reader): it keeps its
 * copy only if the inode's state (cached bit, count of evictions) is the
 * same after the copy as before, and looks again otherwise.
 *
 * The stat's test hook (fs_inode_stat_hook) runs between its first look
 * at the state and its copy, and there lets another thread open the file
 * (a load), change its size (the record rewritten) and close it.  The
 * stat must see that the state changed, look again (the hook runs a
 * second time), and return the size after the change.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "fs/internal.h"
#include "fs_util.h"

static struct udax_fs *fs;
static int hook_calls;

static void *opener(void *arg)
{
	struct udax_file *f;

	(void)arg;
	FS_OK(udax_open(fs, "/d/f", O_RDWR, 0, &f));	/* loaded, shared */
	FS_OK(udax_ftruncate(f, 200));
	FS_OK(udax_close(&f));				/* evicted */
	return NULL;
}

/* Inside the window: the whole open, change and close of another thread. */
static void hook(struct udax_fs *h, uint32_t ino)
{
	pthread_t th;

	(void)h;
	(void)ino;
	if (hook_calls++)
		return;
	T_ASSERT(!pthread_create(&th, NULL, opener, NULL));
	T_ASSERT(!pthread_join(th, NULL));
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_stat st;
	struct udax_file *f;

	fs = t_fs_new("mem:16M", &dev);
	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/f", "x", 1);
	FS_OK(udax_stat(fs, "/d/f", &st));	/* the directory's index built */
	FS_OK(udax_open(fs, "/d/f", O_RDWR, 0, &f));
	FS_OK(udax_ftruncate(f, 100));
	FS_OK(udax_close(&f));			/* evicted: nobody holds it */

	fs_inode_stat_hook = hook;
	FS_OK(udax_stat(fs, "/d/f", &st));
	fs_inode_stat_hook = NULL;
	if (hook_calls != 2)
		fprintf(stderr, "fs_stat_seqlock: the stat looked %d time(s); a load "
			"changed the record between its look and its copy\n",
			hook_calls);
	T_ASSERT(hook_calls == 2);
	T_ASSERT(st.size == 200);

	/* Without a load meanwhile, one look. */
	hook_calls = 1;
	FS_OK(udax_stat(fs, "/d/f", &st));
	T_ASSERT(st.size == 200);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_stat_seqlock: ok\n");
	return 0;
}
