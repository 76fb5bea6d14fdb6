/* SPDX-License-Identifier: MIT */
/*
 * The inode-handle calls from several threads at once, as a FUSE server's
 * workers make them: each thread creates, looks up, links, renames,
 * unlinks and puts its own names in one shared held directory while
 * another lists it by cookie and looks every entry up; a name must always
 * lead to the inode its thread made (ino and generation), and at the end
 * the directory is empty and every inode is free again.
 */
#include <stdatomic.h>
#include <pthread.h>

#include "fs_util.h"

#define THREADS	4
#define ROUNDS	300

static struct udax_fs *fs;
static struct udax_inode *dir;
static atomic_int done;		/* the workers are finished: the lister stops */

static void *worker(void *arg)
{
	long t = (long)arg;
	char a[32], b[32], c[32];

	snprintf(a, sizeof(a), "a%ld", t);
	snprintf(b, sizeof(b), "b%ld", t);
	snprintf(c, sizeof(c), "c%ld", t);
	for (int k = 0; k < ROUNDS; k++) {
		struct udax_inode *i, *j;
		struct udax_stat st, st2;
		struct udax_file *f;

		FS_OK(udax_create_at(fs, dir, a, O_RDWR | O_EXCL, 0644, NULL, &i, &f, &st));
		T_ASSERT(udax_pwrite(f, &k, sizeof(k), 0) == sizeof(k));
		FS_OK(udax_close(&f));
		FS_OK(udax_link_at(fs, i, dir, b, &st2));
		T_ASSERT(st2.nlink == 2 && st2.ino == st.ino);
		FS_OK(udax_rename_at(fs, dir, b, dir, c, 0));
		FS_OK(udax_lookup(fs, dir, c, &j, &st2));
		T_ASSERT(j == i && st2.ino == st.ino && st2.gen == st.gen);
		FS_OK(udax_iput(&j));
		FS_OK(udax_unlink_at(fs, dir, a));
		FS_OK(udax_unlink_at(fs, dir, c));
		FS_ERR(udax_lookup(fs, dir, c, &j, NULL), -ENOENT);
		/* held, unlinked: still readable through a new open */
		FS_OK(udax_open_inode(fs, i, O_RDONLY, &f));
		{
			int v = -1;

			T_ASSERT(udax_pread(f, &v, sizeof(v), 0) == sizeof(v) && v == k);
		}
		FS_OK(udax_close(&f));
		FS_OK(udax_iput(&i));
	}
	return NULL;
}

/* Lists the directory by cookie and looks each entry up, as readdirplus. */
static void *lister(void *arg)
{
	(void)arg;
	while (!done) {
		struct udax_dirent e;
		struct udax_dir *d;
		int r;

		FS_OK(udax_opendir_inode(fs, dir, UDAX_OPENDIR_DOTS, &d));
		while ((r = udax_readdir(d, &e)) == 1) {
			struct udax_inode *i;
			struct udax_stat st;

			r = udax_lookup(fs, dir, e.name, &i, &st);
			if (r == -ENOENT)
				continue;	/* gone since: fine */
			FS_OK(r);
			/* the name may have been made again since: any
			 * inode of the right kind */
			T_ASSERT(e.name[0] == '.' ? S_ISDIR(st.mode) : S_ISREG(st.mode));
			FS_OK(udax_iput(&i));
		}
		FS_OK(r);
		FS_OK(udax_closedir(&d));
	}
	return NULL;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_statfs s0, s1;
	struct udax_inode *root;
	pthread_t th[THREADS], ls;
	struct udax_dirent e;
	struct udax_dir *d;
	int n = 0, r;

	fs = t_fs_new("mem:64M", &dev);
	FS_OK(udax_iget_root(fs, &root));
	FS_OK(udax_mkdir_at(fs, root, "shared", 0755, NULL, &dir, NULL));
	FS_OK(udax_statfs(fs, &s0));
	T_ASSERT(!pthread_create(&ls, NULL, lister, NULL));
	for (long t = 0; t < THREADS; t++)
		T_ASSERT(!pthread_create(&th[t], NULL, worker, (void *)t));
	for (int t = 0; t < THREADS; t++)
		T_ASSERT(!pthread_join(th[t], NULL));
	done = 1;
	T_ASSERT(!pthread_join(ls, NULL));
	FS_OK(udax_opendir_inode(fs, dir, 0, &d));
	while ((r = udax_readdir(d, &e)) == 1)
		n++;
	FS_OK(r);
	FS_OK(udax_closedir(&d));
	T_ASSERT(n == 0);
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.inodes_free == s0.inodes_free);
	FS_OK(udax_iput(&dir));
	FS_OK(udax_rmdir_at(fs, root, "shared"));
	FS_OK(udax_iput(&root));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
