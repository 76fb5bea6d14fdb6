/* SPDX-License-Identifier: MIT */
/*
 * The last unpin landing between a DEFER break's look at a freed block's
 * page count and the block's publication on the busy set: the block must
 * still go back to the allocator.
 *
 * fs_break_free() sees the page referenced and will put the block on the
 * busy set; if the last pin drops before it is there, the idle callback
 * finds nothing to free, so fs_break_free() must look at the count again
 * once the block is on the set.  tests/fs/zc/fs_defer_race hits that window by
 * chance; here the break's test hook (fs_break_busy_hook) drops the pin
 * exactly inside it, every time: without the re-check the block stays
 * busy (blocks_busy 1, one block short) until unmount.
 */
#include <fcntl.h>
#include <string.h>
#include <udax/fs.h>

#include "fs/internal.h"
#include "testutil.h"

#define BS	UDAX_FS_BLOCK_SIZE

static struct udax_pin *pin;
static int hook_calls;

/* Runs in the breaking thread, inside the window. */
static void unpin_in_window(struct udax_page *page)
{
	(void)page;
	hook_calls++;
	if (pin)
		T_EXPECT_ERR(udax_unpin(&pin), 0);
}

static void statfs_now(struct udax_fs *fs, uint64_t *busy, uint64_t *free_blocks)
{
	struct udax_statfs st;

	T_EXPECT_ERR(udax_statfs(fs, &st), 0);
	*busy = st.blocks_busy;
	*free_blocks = st.blocks_free;
}

int main(void)
{
	static const struct {
		const char *what;
		uint64_t size;		/* truncate to */
		int nblk;		/* file blocks, the pinned one last */
	} cases[] = {
		{ "truncate to 0 of a one-block file", 0, 1 },
		{ "truncate of the pinned last block of four", 3 * BS, 4 },
	};
	struct udax_break_opts defer = { .mode = UDAX_BREAK_DEFER };
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	uint64_t busy, free0, free1;
	static char buf[4 * BS];

	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	memset(buf, 'p', sizeof(buf));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		T_EXPECT_ERR(udax_open(fs, "/r", O_CREAT | O_RDWR | O_TRUNC, 0644, &f), 0);
		statfs_now(fs, &busy, &free0);
		T_ASSERT(busy == 0);
		T_EXPECT_ERR(udax_pwrite(f, buf, (size_t)cases[c].nblk * BS, 0),
			     cases[c].nblk * BS);
		T_EXPECT_ERR(udax_pin(f, (uint64_t)(cases[c].nblk - 1) * BS, BS, 0, &pin), 0);
		hook_calls = 0;
		fs_break_busy_hook = unpin_in_window;
		T_EXPECT_ERR(udax_ftruncate_ex(f, cases[c].size, &defer), 0);
		fs_break_busy_hook = NULL;
		/* The hook ran once, for the one pinned block, and unpinned it. */
		T_ASSERT(hook_calls == 1 && pin == NULL);
		statfs_now(fs, &busy, &free1);
		if (busy != 0 || free1 != free0 - (cases[c].size / BS)) {
			fprintf(stderr, "%s: %llu blocks busy with no pin left, %llu free "
				"(want 0 busy, %llu free)\n", cases[c].what,
				(unsigned long long)busy, (unsigned long long)free1,
				(unsigned long long)(free0 - cases[c].size / BS));
			return 1;
		}
		T_EXPECT_ERR(udax_close(&f), 0);
		T_EXPECT_ERR(udax_unlink(fs, "/r"), 0);
		printf("%s: the block went back to the allocator\n", cases[c].what);
	}
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	return 0;
}
