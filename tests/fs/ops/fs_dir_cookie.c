/* SPDX-License-Identifier: MIT */
/*
 * Directory positions and rename flags: "." and ".." with
 * UDAX_OPENDIR_DOTS; udax_telldir / udax_seekdir and ent->off cookies that
 * resume a listing on a new handle; under creates and unlinks between
 * reads (interleaved, then from another thread) no entry comes twice and
 * every entry present throughout comes once; RENAME_NOREPLACE and
 * RENAME_EXCHANGE (files, directories across parents, file with
 * directory, loops, errors), link counts and parents after a remount.
 */
#include <dirent.h>
#include <pthread.h>
#include <udax/fsck.h>

#include "fs_util.h"

#define N	600		/* several directory blocks */

static struct udax_fs *g_fs;
static atomic_int g_stop;

/* Names "/d/p%d" stay throughout; "/d/t%d" come and go. */
static void *churn(void *arg)
{
	char path[64];
	struct udax_file *f;

	(void)arg;
	for (unsigned k = 0; !atomic_load(&g_stop); k++) {
		snprintf(path, sizeof(path), "/d/t%u", k % 200);
		if (udax_open(g_fs, path, O_RDWR | O_CREAT | O_EXCL, 0644, &f) == 0)
			FS_OK(udax_close(&f));
		else
			FS_OK(udax_unlink(g_fs, path));
	}
	return NULL;
}

/* Read the whole listing of /d: a new handle for each chunk of @chunk
 * entries, resumed from the last entry's cookie; p-names counted. */
static void list_resumed(struct udax_fs *fs, int chunk, bool mutate)
{
	static unsigned char seen[N];
	struct udax_dirent e;
	struct udax_dir *d;
	uint64_t cookie = 0;
	unsigned t = 0;
	int r, got;

	memset(seen, 0, sizeof(seen));
	for (;;) {
		FS_OK(udax_opendir(fs, "/d", &d));
		FS_OK(udax_seekdir(d, cookie));
		T_ASSERT(udax_telldir(d) == cookie);
		for (got = 0; got < chunk && (r = udax_readdir(d, &e)) == 1; got++) {
			T_ASSERT(e.off != 0 && e.off > cookie);
			cookie = e.off;
			T_ASSERT(udax_telldir(d) == cookie);
			if (e.name[0] == 'p') {
				int k = atoi(e.name + 1);

				T_ASSERT(k >= 0 && k < N && !seen[k]);
				seen[k] = 1;
			}
		}
		FS_OK(udax_closedir(&d));
		if (got < chunk)
			break;
		if (mutate) {
			/* Between chunks: make and remove names, some before
			 * the position, some after it. */
			char path[64];
			struct udax_file *f;

			for (int k = 0; k < 7; k++, t++) {
				snprintf(path, sizeof(path), "/d/t%u", t % 200);
				if (udax_open(fs, path, O_RDWR | O_CREAT | O_EXCL, 0644, &f) == 0)
					FS_OK(udax_close(&f));
				else
					FS_OK(udax_unlink(fs, path));
			}
		}
	}
	for (int k = 0; k < N; k++)
		T_ASSERT(seen[k] == 1);
}

static uint32_t ino_of(struct udax_fs *fs, const char *path, uint32_t *nlink)
{
	struct udax_stat st;

	FS_OK(udax_lstat(fs, path, &st));
	if (nlink)
		*nlink = st.nlink;
	return st.ino;
}

static void read_is(struct udax_fs *fs, const char *path, const char *want)
{
	struct udax_file *f;
	char buf[16] = { 0 };

	FS_OK(udax_open(fs, path, O_RDONLY, 0, &f));
	T_ASSERT(udax_pread(f, buf, sizeof(buf) - 1, 0) == (ssize_t)strlen(want));
	T_ASSERT(!strcmp(buf, want));
	FS_OK(udax_close(&f));
}

static void put(struct udax_fs *fs, const char *path, const char *s)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, path, O_RDWR | O_CREAT | O_TRUNC, 0644, &f));
	T_ASSERT(udax_pwrite(f, s, strlen(s), 0) == (ssize_t)strlen(s));
	FS_OK(udax_close(&f));
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_dirent e;
	struct udax_dir *d;
	struct udax_file *f;
	uint32_t n1, n2, droot, da, db;
	char path[64];
	pthread_t th;

	/* "." and "..". */
	FS_OK(udax_mkdir(fs, "/d", 0755));
	FS_OK(udax_opendir_ex(fs, "/d", UDAX_OPENDIR_DOTS, &d));
	T_ASSERT(udax_telldir(d) == 0);
	T_ASSERT(udax_readdir(d, &e) == 1 && !strcmp(e.name, ".") && e.off == 1);
	T_ASSERT(e.ino == ino_of(fs, "/d", NULL) && e.type == DT_DIR);
	T_ASSERT(udax_readdir(d, &e) == 1 && !strcmp(e.name, "..") && e.off == 2);
	T_ASSERT(e.ino == UDAX_ROOT_INO && e.type == DT_DIR);
	T_ASSERT(udax_readdir(d, &e) == 0);
	FS_OK(udax_seekdir(d, 1));
	T_ASSERT(udax_readdir(d, &e) == 1 && !strcmp(e.name, ".."));
	FS_OK(udax_closedir(&d));
	FS_OK(udax_opendir_ex(fs, "/", UDAX_OPENDIR_DOTS, &d));
	T_ASSERT(udax_readdir(d, &e) == 1 && e.ino == UDAX_ROOT_INO);
	T_ASSERT(udax_readdir(d, &e) == 1 && e.ino == UDAX_ROOT_INO);
	T_ASSERT(udax_readdir(d, &e) == 1 && !strcmp(e.name, "d"));
	FS_OK(udax_closedir(&d));

	for (int k = 0; k < N; k++) {
		snprintf(path, sizeof(path), "/d/p%d", k);
		FS_OK(udax_open(fs, path, O_RDWR | O_CREAT | O_EXCL, 0644, &f));
		FS_OK(udax_close(&f));
	}
	list_resumed(fs, 1000000, false);
	list_resumed(fs, 13, false);
	list_resumed(fs, 13, true);
	list_resumed(fs, 1, true);
	/* Past the end, and arbitrary values: no error, no duplicate. */
	FS_OK(udax_opendir(fs, "/d", &d));
	FS_OK(udax_seekdir(d, 1ull << 40));
	T_ASSERT(udax_readdir(d, &e) == 0);
	FS_OK(udax_seekdir(d, 4096 + 5));
	T_ASSERT(udax_readdir(d, &e) == 1);
	FS_ERR(udax_seekdir(d, UINT64_MAX), -EINVAL);
	FS_OK(udax_closedir(&d));

	/* The same from another thread. */
	g_fs = fs;
	T_ASSERT(pthread_create(&th, NULL, churn, NULL) == 0);
	for (int k = 0; k < 4; k++)
		list_resumed(fs, 17 + k, false);
	atomic_store(&g_stop, 1);
	T_ASSERT(pthread_join(th, NULL) == 0);

	/* RENAME_NOREPLACE, RENAME_EXCHANGE. */
	put(fs, "/x", "x");
	put(fs, "/y", "y");
	FS_ERR(udax_rename(fs, "/x", "/y", UDAX_RENAME_NOREPLACE), -EEXIST);
	FS_ERR(udax_rename(fs, "/x", "/y", UDAX_RENAME_NOREPLACE |
			   UDAX_RENAME_EXCHANGE), -EINVAL);
	FS_ERR(udax_rename(fs, "/x", "/y", 1u << 5), -EINVAL);
	FS_ERR(udax_rename(fs, "/x", "/none", UDAX_RENAME_EXCHANGE), -ENOENT);
	FS_ERR(udax_rename(fs, "/none", "/x", UDAX_RENAME_EXCHANGE), -ENOENT);
	n1 = ino_of(fs, "/x", NULL);
	n2 = ino_of(fs, "/y", NULL);
	FS_OK(udax_rename(fs, "/x", "/y", UDAX_RENAME_EXCHANGE));
	T_ASSERT(ino_of(fs, "/x", NULL) == n2 && ino_of(fs, "/y", NULL) == n1);
	read_is(fs, "/x", "y");
	read_is(fs, "/y", "x");
	FS_OK(udax_rename(fs, "/x", "/x", UDAX_RENAME_EXCHANGE));
	read_is(fs, "/x", "y");

	/* Directories across parents; a file with a directory. */
	FS_OK(udax_mkdir(fs, "/a", 0755));
	FS_OK(udax_mkdir(fs, "/b", 0755));
	FS_OK(udax_mkdir(fs, "/a/sa", 0755));
	FS_OK(udax_mkdir(fs, "/a/sa/deep", 0755));
	put(fs, "/b/fb", "fb");
	ino_of(fs, "/", &droot);
	FS_OK(udax_rename(fs, "/a/sa", "/b/fb", UDAX_RENAME_EXCHANGE));
	read_is(fs, "/a/sa", "fb");
	FS_OK(udax_stat(fs, "/b/fb/deep/..", &(struct udax_stat){ 0 }));
	T_ASSERT(ino_of(fs, "/b/fb/..", NULL) == ino_of(fs, "/b", NULL));
	ino_of(fs, "/a", &da);
	ino_of(fs, "/b", &db);
	T_ASSERT(da == 2 && db == 3);
	/* A directory with one of its descendants: a loop. */
	FS_ERR(udax_rename(fs, "/b", "/b/fb/deep", UDAX_RENAME_EXCHANGE), -EINVAL);
	FS_ERR(udax_rename(fs, "/b/fb/deep", "/b", UDAX_RENAME_EXCHANGE), -EINVAL);
	/* Two directories of different parents. */
	FS_OK(udax_mkdir(fs, "/a/sd", 0755));
	FS_OK(udax_rename(fs, "/a/sd", "/b/fb", UDAX_RENAME_EXCHANGE));
	T_ASSERT(ino_of(fs, "/a/sd/deep/../..", NULL) == ino_of(fs, "/a", NULL));
	t_fs_remount(dev, &fs);
	ino_of(fs, "/a", &da);
	ino_of(fs, "/b", &db);
	T_ASSERT(da == 3 && db == 3);
	T_ASSERT(ino_of(fs, "/b/fb/..", NULL) == ino_of(fs, "/b", NULL));
	read_is(fs, "/a/sa", "fb");
	read_is(fs, "/y", "x");
	t_fs_close_clean(&dev, &fs);
	printf("fs_dir_cookie: ok\n");
	return 0;
}
