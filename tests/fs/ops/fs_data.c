/* SPDX-License-Identifier: MIT */
/*
 * File data against a model (a plain buffer): random pwrite / pread /
 * append / ftruncate and every fallocate mode, checked after each step
 * and across remounts; holes and unwritten extents read as zeroes; a file
 * with hundreds of extents (extent-block chains); the 16 TiB limit
 * (-EFBIG); fallocate's Linux errors.
 */
#include "fs_util.h"

#define MAXSZ	(4u << 20)
#define BS	4096u

static uint8_t model[MAXSZ + 2 * BS], back[MAXSZ + 2 * BS];
static uint64_t msize;

static void check(struct udax_file *f)
{
	struct udax_stat st;

	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == msize);
	memset(back, 0xee, msize + 100);
	T_ASSERT(udax_pread(f, back, msize + 100, 0) == (ssize_t)msize);
	T_ASSERT(!memcmp(back, model, msize));
	T_ASSERT(st.blocks <= (MAXSZ + 16 * BS) / BS);
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_file *f;
	struct udax_stat st;
	uint64_t seed = 12345, where;
	long iters = t_iters(3000);
	static uint8_t data[256 * 1024];
	const uint64_t max = 1ull << 44;	/* 16 TiB */

	FS_OK(udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f));

	/* Fallocate's errors, in Linux's order. */
	FS_ERR(udax_fallocate(f, 0, 0, 0), -EINVAL);
	FS_ERR(udax_fallocate(f, 0x40, 0, 4096), -EOPNOTSUPP);
	FS_ERR(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE, 0, 4096), -EOPNOTSUPP);
	FS_ERR(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE |
			      UDAX_FALLOC_KEEP_SIZE, 0, 4096), -EOPNOTSUPP);
	FS_ERR(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE | UDAX_FALLOC_KEEP_SIZE,
			      0, 4096), -EINVAL);
	FS_ERR(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE | UDAX_FALLOC_KEEP_SIZE,
			      0, 4096), -EINVAL);
	FS_ERR(udax_fallocate(f, 0, max - 4096, 8192), -EFBIG);
	FS_ERR(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 100, 4096), -EINVAL);
	FS_ERR(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 0, 4096), -EINVAL);
	FS_ERR(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE, 0, 4096), -EINVAL);

	/* The size limit: file page index fits 32 bits. */
	FS_ERR(udax_pwrite(f, "x", 1, max), -EFBIG);
	FS_ERR(udax_ftruncate(f, max + 1), -EFBIG);
	T_ASSERT(udax_pwrite(f, "xyz", 3, max - 2) == 2);
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == max && st.blocks == 1);
	T_ASSERT(udax_pread(f, back, 10, max - 5) == 5);
	T_ASSERT(!memcmp(back, "\0\0\0xy", 5));
	T_ASSERT(udax_pread(f, back, 10, 1ull << 40) == 10);
	T_ASSERT(!memcmp(back, model, 10));		/* a hole */
	FS_OK(udax_ftruncate(f, 0));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == 0 && st.blocks == 0);

	/* Many extents: every other block of 600 (two extent blocks). */
	for (uint64_t b = 0; b < 600; b += 2) {
		t_fill(model + b * BS, BS, b);
		T_ASSERT(udax_pwrite(f, model + b * BS, BS, b * BS) == BS);
	}
	msize = 599 * BS;
	check(f);
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.blocks == 300);
	FS_OK(udax_close(&f));
	t_fs_remount(dev, &fs);
	FS_OK(udax_open(fs, "/f", O_RDWR, 0, &f));
	check(f);
	/* Fill the holes: the chain shrinks back to inline extents. */
	for (uint64_t b = 1; b < 600; b += 2) {
		t_fill(model + b * BS, BS, b);
		T_ASSERT(udax_pwrite(f, model + b * BS, BS, b * BS) == BS);
	}
	msize = 600 * BS;
	check(f);
	FS_OK(udax_close(&f));
	t_fs_remount(dev, &fs);
	FS_OK(udax_open(fs, "/f", O_RDWR, 0, &f));
	check(f);

	/* Random operations against the model. */
	for (long it = 0; it < iters; it++) {
		uint64_t r = t_rand(&seed), op = r % 100;
		uint64_t off = (r >> 8) % MAXSZ, len, end;

		if (t_rand(&seed) % 3 == 0)
			off &= ~(uint64_t)(BS - 1);
		len = 1 + t_rand(&seed) % (t_rand(&seed) % 4 ? 3 * BS : sizeof(data));
		if (off + len > MAXSZ)
			len = MAXSZ - off;
		if (!len)
			continue;
		end = off + len;
		if (op < 40) {			/* pwrite */
			t_fill(data, len, r);
			T_ASSERT(udax_pwrite(f, data, len, off) == (ssize_t)len);
			memcpy(model + off, data, len);
			if (end > msize)
				msize = end;
		} else if (op < 48) {		/* append */
			if (msize + len > MAXSZ)
				continue;
			t_fill(data, len, r);
			T_ASSERT(udax_append(f, data, len, &where) == (ssize_t)len);
			T_ASSERT(where == msize);
			memcpy(model + msize, data, len);
			msize += len;
		} else if (op < 56) {		/* truncate */
			uint64_t ns = (r >> 8) % MAXSZ;

			FS_OK(udax_ftruncate(f, ns));
			if (ns < msize)
				memset(model + ns, 0, msize - ns);
			msize = ns;
		} else if (op < 64) {		/* allocate, maybe keep size */
			int keep = r & 1 ? UDAX_FALLOC_KEEP_SIZE : 0;

			FS_OK(udax_fallocate(f, keep, off, len));
			if (!keep && end > msize)
				msize = end;
		} else if (op < 74) {		/* punch */
			FS_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE |
					     UDAX_FALLOC_KEEP_SIZE, off, len));
			if (off < msize)
				memset(model + off, 0, (end < msize ? end : msize) - off);
		} else if (op < 84) {		/* zero range */
			int keep = r & 1 ? UDAX_FALLOC_KEEP_SIZE : 0;

			FS_OK(udax_fallocate(f, UDAX_FALLOC_ZERO_RANGE | keep, off, len));
			if (off < msize)
				memset(model + off, 0, (end < msize ? end : msize) - off);
			if (!keep && end > msize)
				msize = end;
		} else if (op < 92) {		/* collapse */
			off &= ~(uint64_t)(BS - 1);
			len = (len + BS - 1) & ~(uint64_t)(BS - 1);
			end = off + len;
			if (end >= msize) {
				FS_ERR(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE,
						      off, len), -EINVAL);
				continue;
			}
			FS_OK(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, off, len));
			memmove(model + off, model + end, msize - end);
			memset(model + msize - len, 0, len);
			msize -= len;
		} else {			/* insert */
			off &= ~(uint64_t)(BS - 1);
			len = (len + BS - 1) & ~(uint64_t)(BS - 1);
			end = off + len;
			if (off >= msize) {
				FS_ERR(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE,
						      off, len), -EINVAL);
				continue;
			}
			if (msize + len > MAXSZ)
				continue;
			FS_OK(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE, off, len));
			memmove(model + end, model + off, msize - off);
			memset(model + off, 0, len);
			msize += len;
		}
		if (it % 16 == 0)
			check(f);
		if (it % 500 == 499) {
			check(f);
			FS_OK(udax_close(&f));
			t_fs_remount(dev, &fs);
			FS_OK(udax_open(fs, "/f", O_RDWR, 0, &f));
		}
	}
	check(f);
	FS_OK(udax_fstat(f, &st));
	fprintf(stderr, "final size %llu, %llu blocks\n",
		(unsigned long long)msize, (unsigned long long)st.blocks);
	FS_OK(udax_fsync(f));
	FS_OK(udax_fdatasync(f));
	FS_OK(udax_close(&f));
	t_fs_remount(dev, &fs);
	FS_OK(udax_open(fs, "/f", O_RDONLY, 0, &f));
	check(f);
	FS_ERR(udax_pwrite(f, "x", 1, 0), -EBADF);
	FS_ERR(udax_ftruncate(f, 0), -EINVAL);
	FS_ERR(udax_fallocate(f, 0, 0, 1), -EBADF);
	FS_OK(udax_close(&f));
	FS_OK(udax_unlink(fs, "/f"));
	{
		struct udax_statfs sf;

		FS_OK(udax_statfs(fs, &sf));
		T_ASSERT(sf.blocks_free == sf.blocks - 1);	/* root's block */
	}
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
