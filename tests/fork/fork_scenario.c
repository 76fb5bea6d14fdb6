/* SPDX-License-Identifier: MIT */
/*
 * The fork() scenario of issue 10, item 1: a program mounts a file system
 * on mem:64M, writes a file and forks.  The child tries to create 20 files
 * of 8 KiB through the inherited handles; the parent, after the child
 * exits, creates 20 files of its own.  Before udax refused inherited
 * handles, every call of the child succeeded on its copy of the heap, the
 * parent then reused the blocks and inodes the child had taken, the
 * child's files held the parent's bytes and fsck found 20 problems.
 * Now every call of the child fails with -ESTALE and a message saying to
 * open the device anew, and after the parent's work fsck finds nothing
 * and every file holds its own bytes.
 */
#include <fcntl.h>
#include <udax/fsck.h>

#include "fork_util.h"
#include "fs_util.h"

#define NFILES	20
#define FSIZE	8192

static struct udax_fs *fs;
static struct udax_file *first;

static void fill(char *b, unsigned who, unsigned i)
{
	for (unsigned k = 0; k < FSIZE; k++)
		b[k] = (char)(who * 131 + i * 7 + k % 251);
}

/*
 * The child's work, as a program that forks would do it.  It goes on after
 * a call it should not have been allowed, so that without the refusal the
 * parent's fsck below shows the damage; its exit status says how many
 * calls went through (0: all refused, as they must be).
 */
static void child(void *arg)
{
	char b[FSIZE], path[32];
	unsigned allowed = 0;
	int ret;

	(void)arg;
	for (unsigned i = 0; i < NFILES; i++) {
		struct udax_file *f = NULL;

		snprintf(path, sizeof(path), "/child%u", i);
		fill(b, 1, i);
		ret = udax_open(fs, path, O_RDWR | O_CREAT, 0644, &f);
		if (ret == 0) {
			allowed++;
			if (udax_pwrite(f, b, FSIZE, 0) == FSIZE)
				allowed++;
			udax_close(&f);
			continue;
		}
		FORK_STALE(ret, udax_fs_last_error());
		FORK_ASSERT(f == NULL);
	}
	/* The file opened before the fork is refused too. */
	fill(b, 1, 99);
	ret = (int)udax_pwrite(first, b, FSIZE, 0);
	if (ret == FSIZE)
		allowed++;
	else
		FORK_STALE(ret, udax_fs_last_error());
	if (allowed)
		fprintf(stderr, "child: %u calls on inherited handles went through\n",
			allowed);
	_exit(allowed ? 2 : 0);
}

static uint64_t problems;
static int child_status;

static void count(const struct udax_fsck_problem *p, void *arg)
{
	(void)arg;
	fprintf(stderr, "fsck: %s\n", p->msg);
	problems++;
}

int main(void)
{
	struct udax_fsck_report rep;
	struct udax_dev *dev;
	char b[FSIZE], got[FSIZE], path[32];

	fs = t_fs_new("mem:64M", &dev);
	FS_OK(udax_open(fs, "/first", O_RDWR | O_CREAT, 0644, &first));
	fill(b, 0, 0);
	T_ASSERT(udax_pwrite(first, b, FSIZE, 0) == FSIZE);

	child_status = fork_run(child, NULL);

	for (unsigned i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "/parent%u", i);
		fill(b, 2, i);
		t_write_file(fs, path, b, FSIZE);
	}
	FS_OK(udax_close(&first));
	FS_OK(udax_unmount(&fs));

	FS_OK(udax_fsck(dev, 0, 0, count, NULL, &rep));
	printf("child exit status %d, fsck: %llu problems\n", child_status,
	       (unsigned long long)rep.problems);
	T_EXPECT_ERR(child_status, 0);
	T_EXPECT_ERR((long)rep.problems, 0);
	T_EXPECT_ERR((long)problems, 0);

	fs = t_fs_mount(dev);
	for (unsigned i = 0; i <= NFILES; i++) {
		struct udax_file *f;

		if (i == NFILES) {
			snprintf(path, sizeof(path), "/first");
			fill(b, 0, 0);
		} else {
			snprintf(path, sizeof(path), "/parent%u", i);
			fill(b, 2, i);
		}
		FS_OK(udax_open(fs, path, O_RDONLY, 0, &f));
		T_ASSERT(udax_pread(f, got, FSIZE, 0) == FSIZE);
		T_ASSERT(memcmp(got, b, FSIZE) == 0);
		FS_OK(udax_close(&f));
	}
	for (unsigned i = 0; i < NFILES; i++) {
		struct udax_stat st;

		snprintf(path, sizeof(path), "/child%u", i);
		FS_ERR(udax_stat(fs, path, &st), -ENOENT);
	}
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fork_scenario: child refused, fsck clean, %u files intact\n",
	       NFILES + 1);
	return 0;
}
