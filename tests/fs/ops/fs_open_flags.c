/* SPDX-License-Identifier: MIT */
/*
 * udax_open flags: every flag Linux passes is accepted or refused as
 * documented in fs.h (O_DIRECTORY's -ENOTDIR, O_CREAT | O_DIRECTORY,
 * O_PATH -EOPNOTSUPP, unknown bits -EINVAL); writes are
 * durable before they return with or without O_DSYNC, and O_SYNC also
 * commits an in-place write's times (the crash recorder's fences).
 */
#include <udax/crash.h>

#include "redo_util.h"
#include "fs_util.h"

int main(void)
{
	static const int ok_flags[] = {
		O_CLOEXEC, O_NONBLOCK, O_NOCTTY, O_NOATIME, O_DIRECT, O_ASYNC,
		O_SYNC, O_DSYNC, 0100000 /* kernel O_LARGEFILE */, 040 /* FMODE_EXEC */,
		O_NOFOLLOW,
		O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOATIME | O_DIRECT | O_SYNC,
	};
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_crash *cr;
	struct udax_file *f;
	struct udax_stat st;
	char buf[4096];
	uint64_t f0;

	memset(buf, 'q', sizeof(buf));
	FS_OK(udax_mkdir(fs, "/d", 0755));
	FS_OK(udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	FS_OK(udax_close(&f));

	for (size_t k = 0; k < sizeof(ok_flags) / sizeof(ok_flags[0]); k++) {
		FS_OK(udax_open(fs, "/f", O_RDWR | ok_flags[k], 0, &f));
		T_ASSERT(udax_pread(f, buf, 10, 0) == 10 && buf[0] == 'q');
		T_ASSERT(udax_pwrite(f, "q", 1, 1) == 1);
		FS_OK(udax_close(&f));
		FS_OK(udax_open(fs, "/new", O_RDWR | O_CREAT | O_EXCL | ok_flags[k],
				0600, &f));
		FS_OK(udax_close(&f));
		FS_OK(udax_unlink(fs, "/new"));
	}

	/* O_DIRECTORY. */
	FS_ERR(udax_open(fs, "/f", O_RDONLY | O_DIRECTORY, 0, &f), -ENOTDIR);
	FS_OK(udax_open(fs, "/d", O_RDONLY | O_DIRECTORY, 0, &f));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(S_ISDIR(st.mode));
	FS_OK(udax_close(&f));
	FS_ERR(udax_open(fs, "/d", O_RDWR | O_DIRECTORY, 0, &f), -EISDIR);
	FS_ERR(udax_open(fs, "/x", O_RDWR | O_CREAT | O_DIRECTORY, 0644, &f), -EINVAL);
	FS_ERR(udax_stat(fs, "/x", &st), -ENOENT);
	FS_OK(udax_symlink(fs, "/d", "/ld"));
	FS_OK(udax_open(fs, "/ld", O_RDONLY | O_DIRECTORY, 0, &f));
	FS_OK(udax_close(&f));
	FS_ERR(udax_open(fs, "/ld", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &f), -ELOOP);

	/* Refused. */
	FS_ERR(udax_open(fs, "/f", O_PATH, 0, &f), -EOPNOTSUPP);
	FS_ERR(udax_open(fs, "/f", O_RDONLY | (1 << 30), 0, &f), -EINVAL);

	/* Every write is durable when it returns (a fence), so O_DSYNC adds
	 * nothing; O_SYNC also commits an in-place write's times (more
	 * fences: a transaction), and nothing is left unflushed that the
	 * committed transaction does not redo (its home writes). */
	FS_OK(udax_crash_new(dev, NULL, &cr));
	{
		uint64_t d[3];
		static const int fl[3] = { 0, O_DSYNC, O_SYNC };

		for (int k = 0; k < 3; k++) {
			FS_OK(udax_open(fs, "/f", O_RDWR | fl[k], 0, &f));
			f0 = udax_crash_fences(cr);
			T_ASSERT(udax_pwrite(f, buf, 100, 300) == 100);
			d[k] = udax_crash_fences(cr) - f0;
			T_ASSERT(t_unflushed_unredone(cr, fs, NULL, 0) == 0);
			FS_OK(udax_close(&f));
		}
		T_ASSERT(d[0] >= 1 && d[1] == d[0] && d[2] > d[0]);
		FS_OK(udax_stat(fs, "/f", &st));
	}
	udax_crash_delete(&cr);

	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_open_flags: ok\n");
	return 0;
}
