/* SPDX-License-Identifier: MIT */
/*
 * A stat of an inode nobody holds reads its record on media, with
 * ns_lock held shared -- while an open, also under ns_lock shared, may
 * load the same inode into the cache, after which its holder rewrites
 * the record.  The inode's load lock keeps the two apart: a load waits
 * until the stat has read the record.
 *
 * The stat's test hook (fs_inode_stat_hook) runs inside that window and
 * starts another thread that opens the file, changes its size (its
 * record rewritten by a transaction) and closes it, then gives it time
 * to finish.  It must not finish while the stat is in the window (it
 * waits for the load lock), and the stat must return the size from
 * before.  Without the lock the other thread rewrites the record under
 * the stat's read.  (A slow machine can only make the check miss that,
 * never fail it.)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "fs/internal.h"
#include "fs_util.h"

static struct udax_fs *fs;
static atomic_int go, done;
static int in_window;		/* the other thread done while in it */

static void *opener(void *arg)
{
	struct udax_file *f;

	(void)arg;
	while (!atomic_load(&go))
		;
	FS_OK(udax_open(fs, "/d/f", O_RDWR, 0, &f));
	FS_OK(udax_ftruncate(f, 200));
	FS_OK(udax_close(&f));
	atomic_store(&done, 1);
	return NULL;
}

/* Inside the window: start the opener, give it 100 ms. */
static void hook(struct udax_fs *h, uint32_t ino)
{
	(void)h;
	(void)ino;
	fs_inode_stat_hook = NULL;	/* once */
	atomic_store(&go, 1);
	for (int k = 0; k < 100 && !atomic_load(&done); k++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	in_window = atomic_load(&done);
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_stat st;
	pthread_t th;

	fs = t_fs_new("mem:16M", &dev);
	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/f", "x", 1);
	FS_OK(udax_stat(fs, "/d/f", &st));	/* the directory's index built */
	T_ASSERT(st.size == 1);
	{
		struct udax_file *f;

		FS_OK(udax_open(fs, "/d/f", O_RDWR, 0, &f));
		FS_OK(udax_ftruncate(f, 100));
		FS_OK(udax_close(&f));	/* evicted: nobody holds it */
	}
	T_ASSERT(!pthread_create(&th, NULL, opener, NULL));
	fs_inode_stat_hook = hook;
	FS_OK(udax_stat(fs, "/d/f", &st));
	T_ASSERT(!pthread_join(th, NULL));
	if (in_window)
		fprintf(stderr, "fs_iload_lock: the file was loaded and its record "
			"rewritten while a stat was reading it\n");
	T_ASSERT(!in_window);
	T_ASSERT(st.size == 100);
	FS_OK(udax_stat(fs, "/d/f", &st));
	T_ASSERT(st.size == 200);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_iload_lock: ok\n");
	return 0;
}
