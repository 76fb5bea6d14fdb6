/* SPDX-License-Identifier: MIT */
/*
 * Views: zero-copy loads and stores on file blocks; holes refused or
 * allocated; a layout break makes the broken part of a view fault while
 * the rest stays usable; runs of contiguous extents mapped as one, broken
 * where the file's blocks are not contiguous on the device (two files
 * written alternately); UDAX_VIEW_POPULATE.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS UDAX_FS_BLOCK_SIZE

static sigjmp_buf jb;
static volatile sig_atomic_t faults;

static void on_segv(int sig)
{
	(void)sig;
	faults++;
	siglongjmp(jb, 1);
}

/* Does a load from @p fault? */
static bool load_faults(volatile char *p)
{
	if (sigsetjmp(jb, 1))
		return true;
	(void)*p;
	return false;
}

/*
 * Two files written block by block in turn interleave on the device; a
 * view of each (lazy, then populated) must show each block's own data.
 */
static void check_interleaved(struct udax_fs *fs)
{
	enum { N = 64 };
	struct udax_file *g[2];
	char buf[BS];

	T_EXPECT_ERR(udax_open(fs, "/g0", O_CREAT | O_RDWR, 0644, &g[0]), 0);
	T_EXPECT_ERR(udax_open(fs, "/g1", O_CREAT | O_RDWR, 0644, &g[1]), 0);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < 2; j++) {
			memset(buf, (char)(i * 2 + j), BS);
			T_EXPECT_ERR(udax_pwrite(g[j], buf, BS, (uint64_t)i * BS), BS);
		}
	for (int j = 0; j < 2; j++)
		for (unsigned fl = 0; fl <= UDAX_VIEW_POPULATE; fl += UDAX_VIEW_POPULATE) {
			struct udax_view *v;
			void *a;

			T_EXPECT_ERR(udax_view_map(g[j], 0, N * BS, fl, &v, &a), 0);
			for (int i = 0; i < N; i++) {
				const char *p = (const char *)a + (size_t)i * BS;

				T_ASSERT(p[0] == (char)(i * 2 + j) &&
					 p[BS - 1] == (char)(i * 2 + j));
			}
			T_EXPECT_ERR(udax_view_unmap(&v), 0);
		}
	T_EXPECT_ERR(udax_close(&g[0]), 0);
	T_EXPECT_ERR(udax_close(&g[1]), 0);
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f, *ro;
	struct udax_view *v, *v2;
	struct sigaction sa = { .sa_handler = on_segv };
	char buf[BS], *addr;
	void *a;

	sigaction(SIGSEGV, &sa, NULL);
	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	T_EXPECT_ERR(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f), 0);
	for (int i = 0; i < 8; i++) {
		memset(buf, 'a' + i, BS);
		T_EXPECT_ERR(udax_pwrite(f, buf, BS, (uint64_t)i * BS), BS);
	}

	/* Stores through the view are the file's data, and back. */
	T_EXPECT_ERR(udax_view_map(f, 0, 8 * BS, UDAX_VIEW_WRITE, &v, &a), 0);
	addr = a;
	T_ASSERT(addr[3 * BS] == 'd' && addr[8 * BS - 1] == 'h');
	memset(addr + 2 * BS, 'X', BS);
	T_EXPECT_ERR(udax_pread(f, buf, BS, 2 * BS), BS);
	T_ASSERT(buf[0] == 'X' && buf[BS - 1] == 'X');
	memset(buf, 'Y', BS);
	T_EXPECT_ERR(udax_pwrite(f, buf, BS, 5 * BS), BS);
	T_ASSERT(addr[5 * BS + 17] == 'Y');

	/* Bad requests. */
	T_EXPECT_ERR(udax_view_map(f, 1, BS, 0, &v2, &a), -EINVAL);
	T_EXPECT_ERR(udax_view_map(f, 0, 100, 0, &v2, &a), -EINVAL);
	T_EXPECT_ERR(udax_view_map(f, 0, 9 * BS, 0, &v2, &a), -EINVAL);	/* past EOF */
	T_EXPECT_ERR(udax_view_map(f, 0, BS, 1u << 9, &v2, &a), -EINVAL);
	T_EXPECT_ERR(udax_view_map(f, 0, 8 * BS, UDAX_VIEW_POPULATE, &v2, &a), 0);
	T_ASSERT(((char *)a)[2 * BS] == 'X' && ((char *)a)[5 * BS] == 'Y');
	T_EXPECT_ERR(udax_view_unmap(&v2), 0);
	check_interleaved(fs);
	T_EXPECT_ERR(udax_open(fs, "/f", O_RDONLY, 0, &ro), 0);
	T_EXPECT_ERR(udax_view_map(ro, 0, BS, UDAX_VIEW_WRITE, &v2, &a), -EACCES);
	T_EXPECT_ERR(udax_view_map(ro, 0, BS, 0, &v2, &a), 0);
	T_EXPECT_ERR(udax_view_unmap(&v2), 0);
	T_EXPECT_ERR(udax_close(&ro), 0);

	/* Holes are refused, or allocated (zeroed) on request. */
	T_EXPECT_ERR(udax_ftruncate(f, 16 * BS), 0);
	T_EXPECT_ERR(udax_view_map(f, 8 * BS, 8 * BS, 0, &v2, &a), -ENODATA);
	T_EXPECT_ERR(udax_view_map(f, 8 * BS, 8 * BS, UDAX_VIEW_ALLOCATE | UDAX_VIEW_WRITE,
				   &v2, &a), 0);
	for (int i = 0; i < 8 * (int)BS; i += 512)
		T_ASSERT(((char *)a)[i] == 0);
	((char *)a)[0] = 'Z';
	T_EXPECT_ERR(udax_pread(f, buf, 1, 8 * BS), 1);
	T_ASSERT(buf[0] == 'Z');
	T_EXPECT_ERR(udax_view_unmap(&v2), 0);

	/* A punched block faults in the view; its neighbours do not. */
	T_ASSERT(!load_faults(addr + 3 * BS));
	T_EXPECT_ERR(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
				    3 * BS, BS), 0);
	T_ASSERT(load_faults(addr + 3 * BS));
	T_ASSERT(load_faults(addr + 4 * BS - 1));
	T_ASSERT(!load_faults(addr + 2 * BS) && !load_faults(addr + 4 * BS));
	/* Truncation faults everything past the new end. */
	T_EXPECT_ERR(udax_ftruncate(f, 6 * BS), 0);
	T_ASSERT(load_faults(addr + 6 * BS) && load_faults(addr + 7 * BS));
	T_ASSERT(!load_faults(addr + 5 * BS));
	T_ASSERT(addr[5 * BS] == 'Y');
	T_ASSERT(faults == 4);

	T_EXPECT_ERR(udax_view_unmap(&v), 0);
	T_EXPECT_ERR(udax_view_unmap(&v), -EINVAL);
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	puts("fs_view: ok");
	return 0;
}
