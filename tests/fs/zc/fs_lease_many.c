/* SPDX-License-Identifier: MIT */
/*
 * Which leases a break revokes: exactly those overlapping its range, each
 * once, however many there are.
 *
 * A 64-block file holds 64 one-block leases (more than the break's batch
 * of 16).  Truncating it to 24 blocks breaks [24, end): the 40 leases of
 * blocks 24..63 must each be revoked exactly once -- their holders release
 * them from the callback, so the break (WAIT, unbounded revoke timeouts)
 * then completes -- and the 24 leases of blocks 0..23 must not be revoked,
 * the one right below the range (block 23) included.  Afterwards the freed
 * blocks are free and the remaining leases still pin their pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS	UDAX_FS_BLOCK_SIZE
#define NBLK	64
#define KEEP	24

static struct udax_lease *leases[NBLK];
static _Atomic int revokes[NBLK];

static void on_revoke(struct udax_lease *l, void *arg)
{
	int i = (int)(intptr_t)arg;

	T_ASSERT(l == leases[i]);
	atomic_fetch_add(&revokes[i], 1);
	T_EXPECT_ERR(udax_lease_release(&leases[i]), 0);
}

static const struct udax_lease_ops ops = { .revoke = on_revoke };

int main(void)
{
	static char data[NBLK * BS];
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_statfs st0, st;

	alarm(120);	/* a break waiting for a lease it never revoked hangs */
	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	T_EXPECT_ERR(udax_open(fs, "/a", O_CREAT | O_RDWR, 0644, &f), 0);
	memset(data, 'l', sizeof(data));
	T_EXPECT_ERR(udax_statfs(fs, &st0), 0);
	T_EXPECT_ERR(udax_pwrite(f, data, sizeof(data), 0), sizeof(data));
	for (int i = 0; i < NBLK; i++)
		T_EXPECT_ERR(udax_lease_take(f, (uint64_t)i * BS, BS, -1, &ops,
					     (void *)(intptr_t)i, &leases[i]), 0);

	T_EXPECT_ERR(udax_ftruncate(f, KEEP * BS), 0);
	for (int i = 0; i < NBLK; i++) {
		int want = i >= KEEP;

		if (atomic_load(&revokes[i]) != want) {
			fprintf(stderr, "lease of block %d: revoked %d times, want %d\n",
				i, atomic_load(&revokes[i]), want);
			exit(1);
		}
		T_ASSERT((leases[i] == NULL) == want);
		if (!want) {
			T_ASSERT(!udax_lease_revoked(leases[i]));
			T_ASSERT(udax_page_ref_count(udax_pin_page_array(
				 udax_lease_pin(leases[i]))[0]) == 1);
		}
	}
	T_EXPECT_ERR(udax_statfs(fs, &st), 0);
	T_ASSERT(st.blocks_busy == 0 && st.blocks_free == st0.blocks_free - KEEP);
	for (int i = 0; i < KEEP; i++)
		T_EXPECT_ERR(udax_lease_release(&leases[i]), 0);
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	printf("%d leases revoked once each, %d untouched\n", NBLK - KEEP, KEEP);
	return 0;
}
