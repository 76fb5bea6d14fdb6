/* SPDX-License-Identifier: MIT */
/*
 * Rename over a file whose blocks are pinned: the target's blocks are freed
 * only through a layout break.  (tests/fs/zc/fs_break_pin.c holds a pin on a
 * 64-block target in each mode; here the target is held in other ways and
 * what the names point to is checked.)
 *
 *  - NOWAIT: -EBUSY; TIMEOUT: -ETIMEDOUT.  Both names still lead to their
 *    own inodes and data, and the free count is unchanged.
 *  - A lease holds its inode like an open handle: the rename completes at
 *    once without revoking it, the target lives on as an orphan (its
 *    blocks not free), and releasing the lease frees them.
 *  - WAIT, the target held by a pin from another thread: rename does not
 *    return until the pin drops.
 *  - DEFER, the target held by a pin: the rename returns at once, the
 *    target's blocks are busy, not free; a file written into all free
 *    space then is not reached by stores into the pinned pages; after the
 *    unpin the blocks are free again, exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS	UDAX_FS_BLOCK_SIZE
#define TBLK	8		/* target blocks */

static struct udax_dev *dev;
static struct udax_fs *fs;

static void write_tagged(const char *path, int tag, uint64_t nblk)
{
	struct udax_file *f;
	char b[BS];

	T_EXPECT_ERR(udax_open(fs, path, O_CREAT | O_RDWR | O_TRUNC, 0644, &f), 0);
	for (uint64_t i = 0; i < nblk; i++) {
		memset(b, tag, BS);
		memcpy(b, &i, sizeof(i));
		T_EXPECT_ERR(udax_pwrite(f, b, BS, i * BS), BS);
	}
	T_EXPECT_ERR(udax_close(&f), 0);
}

static void check_tagged(const char *path, int tag, uint64_t nblk)
{
	struct udax_file *f;
	struct udax_stat st;
	char b[BS];

	T_EXPECT_ERR(udax_open(fs, path, O_RDONLY, 0, &f), 0);
	T_EXPECT_ERR(udax_fstat(f, &st), 0);
	T_ASSERT(st.size == nblk * BS);
	for (uint64_t i = 0; i < nblk; i++) {
		uint64_t w;

		T_EXPECT_ERR(udax_pread(f, b, BS, i * BS), BS);
		memcpy(&w, b, sizeof(w));
		if (w != i || b[BS - 1] != (char)tag) {
			fprintf(stderr, "%s block %llu: foreign data (tag %#x)\n", path,
				(unsigned long long)i, b[BS - 1] & 0xff);
			exit(1);
		}
	}
	T_EXPECT_ERR(udax_close(&f), 0);
}

static uint32_t ino_of(const char *path)
{
	struct udax_stat st;

	T_EXPECT_ERR(udax_stat(fs, path, &st), 0);
	return st.ino;
}

static uint64_t free_blocks(uint64_t *busy)
{
	struct udax_statfs st;

	T_EXPECT_ERR(udax_statfs(fs, &st), 0);
	if (busy)
		*busy = st.blocks_busy;
	return st.blocks_free;
}

static struct udax_pin *pin_target(void)
{
	struct udax_file *f;
	struct udax_pin *pin;

	T_EXPECT_ERR(udax_open(fs, "/dst", O_RDONLY, 0, &f), 0);
	T_EXPECT_ERR(udax_pin(f, 0, TBLK * BS, 0, &pin), 0);
	T_EXPECT_ERR(udax_close(&f), 0);	/* a pin outlives its handle */
	return pin;
}

static void setup(void)
{
	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	write_tagged("/src", 's', 2);
	write_tagged("/dst", 'd', TBLK);
}

static void teardown(void)
{
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
}

static void refused(enum udax_break_mode mode, int want)
{
	struct udax_break_opts brk = { .mode = mode, .timeout_ns = 20000000 };
	struct udax_pin *pin;
	uint32_t is, id;
	uint64_t f0;

	setup();
	is = ino_of("/src");
	id = ino_of("/dst");
	pin = pin_target();
	f0 = free_blocks(NULL);
	T_EXPECT_ERR(udax_rename_ex(fs, "/src", "/dst", 0, &brk), want);
	T_ASSERT(ino_of("/src") == is && ino_of("/dst") == id);
	check_tagged("/src", 's', 2);
	check_tagged("/dst", 'd', TBLK);
	T_ASSERT(free_blocks(NULL) == f0);
	T_EXPECT_ERR(udax_unpin(&pin), 0);
	T_EXPECT_ERR(udax_rename_ex(fs, "/src", "/dst", 0, &brk), 0);
	T_ASSERT(ino_of("/dst") == is);
	T_ASSERT(free_blocks(NULL) == f0 + TBLK);
	teardown();
	printf("rename over a pinned target, mode %d: %s, nothing changed\n",
	       mode, t_errname(want));
}

static _Atomic int revokes;

static void on_revoke(struct udax_lease *l, void *arg)
{
	(void)l;
	(void)arg;
	atomic_fetch_add(&revokes, 1);
}

static void leased_target(void)
{
	static const struct udax_lease_ops ops = { .revoke = on_revoke };
	struct udax_lease *lease;
	struct udax_file *f;
	uint32_t is;
	uint64_t f0;

	setup();
	is = ino_of("/src");
	T_EXPECT_ERR(udax_open(fs, "/dst", O_RDONLY, 0, &f), 0);
	T_EXPECT_ERR(udax_lease_take(f, 0, TBLK * BS, -1, &ops, NULL, &lease), 0);
	T_EXPECT_ERR(udax_close(&f), 0);
	f0 = free_blocks(NULL);
	T_EXPECT_ERR(udax_rename(fs, "/src", "/dst", 0), 0);
	T_ASSERT(ino_of("/dst") == is);
	check_tagged("/dst", 's', 2);
	T_ASSERT(atomic_load(&revokes) == 0);
	T_ASSERT(free_blocks(NULL) == f0);	/* the orphan keeps its blocks */
	T_EXPECT_ERR(udax_unmount(&fs), -EBUSY);	/* held open by the lease */
	T_EXPECT_ERR(udax_lease_release(&lease), 0);
	T_ASSERT(free_blocks(NULL) == f0 + TBLK);
	teardown();
	printf("rename over a leased target: an orphan until the lease goes\n");
}

struct rename_thread {
	_Atomic int done;
	int ret;
};

static void *rename_main(void *p)
{
	struct rename_thread *r = p;

	r->ret = udax_rename(fs, "/src", "/dst", 0);
	atomic_store(&r->done, 1);
	return NULL;
}

static void wait_pin(void)
{
	struct rename_thread r = { 0 };
	struct udax_pin *pin;
	pthread_t t;
	uint64_t f0;

	setup();
	pin = pin_target();
	f0 = free_blocks(NULL);
	T_ASSERT(!pthread_create(&t, NULL, rename_main, &r));
	usleep(50000);
	T_ASSERT(!atomic_load(&r.done));
	T_ASSERT(free_blocks(NULL) == f0);
	T_EXPECT_ERR(udax_unpin(&pin), 0);
	pthread_join(t, NULL);
	T_EXPECT_ERR(r.ret, 0);
	check_tagged("/dst", 's', 2);
	T_ASSERT(free_blocks(NULL) == f0 + TBLK);
	teardown();
	printf("rename over a pinned target (wait): returned after the unpin\n");
}

static void defer_pin(void)
{
	struct udax_break_opts brk = { .mode = UDAX_BREAK_DEFER };
	struct udax_pin *pin;
	struct udax_file *f;
	uint64_t f0, busy, n;
	char b[BS];

	setup();
	pin = pin_target();
	f0 = free_blocks(NULL);
	T_EXPECT_ERR(udax_rename_ex(fs, "/src", "/dst", 0, &brk), 0);
	T_ASSERT(free_blocks(&busy) == f0 && busy == TBLK);
	/* Fill all free space: a reused pinned block would land in it. */
	n = f0;
	write_tagged("/victim", 'v', n);
	T_ASSERT(free_blocks(NULL) == 0);
	T_EXPECT_ERR(udax_open(fs, "/more", O_CREAT | O_RDWR, 0644, &f), 0);
	memset(b, 'm', BS);
	T_EXPECT_ERR(udax_pwrite(f, b, BS, 0), -ENOSPC);	/* busy is not free */
	T_EXPECT_ERR(udax_close(&f), 0);
	for (size_t i = 0; i < udax_pin_nr_pages(pin); i++)
		memset(udax_pin_page_addr(pin, i), 'D', BS);	/* late DMA */
	check_tagged("/victim", 'v', n);
	check_tagged("/dst", 's', 2);
	T_EXPECT_ERR(udax_unpin(&pin), 0);
	T_ASSERT(free_blocks(&busy) == TBLK && busy == 0);
	T_EXPECT_ERR(udax_unlink(fs, "/victim"), 0);
	T_ASSERT(free_blocks(NULL) == f0 + TBLK);
	teardown();
	printf("rename over a pinned target (defer): busy until the unpin, then free\n");
}

int main(void)
{
	refused(UDAX_BREAK_NOWAIT, -EBUSY);
	refused(UDAX_BREAK_TIMEOUT, -ETIMEDOUT);
	leased_target();
	wait_pin();
	defer_pin();
	return 0;
}
