/* SPDX-License-Identifier: MIT */
/*
 * Leases: a layout break asks the holder back (holder_revoke), waits for the
 * release, and fails with -ETIMEDOUT, changing nothing, when the holder
 * keeps the lease past its holder_revoke timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS UDAX_FS_BLOCK_SIZE

struct holder {
	struct udax_lease *lease;
	_Atomic int revoked, release_now;
	bool release_in_callback;
};

static void holder_revoke(struct udax_lease *lease, void *arg)
{
	struct holder *h = arg;

	T_ASSERT(lease == h->lease);
	T_ASSERT(udax_lease_revoked(lease));
	atomic_fetch_add(&h->revoked, 1);
	if (h->release_in_callback)
		T_EXPECT_ERR(udax_lease_release(&h->lease), 0);
}
static const struct udax_lease_ops ops = { .revoke = holder_revoke };

/* The holder: releases once told (like an io_uring user unregistering
 * its fixed buffers after in-flight I/O). */
static void *holder_main(void *p)
{
	struct holder *h = p;

	while (!atomic_load(&h->revoked) && !atomic_load(&h->release_now))
		usleep(1000);
	T_EXPECT_ERR(udax_lease_release(&h->lease), 0);
	return NULL;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_stat st;
	struct holder h = { 0 }, h2 = { 0 }, h3 = { 0 };
	struct udax_break_opts wait = { UDAX_BREAK_WAIT, 0 };
	char buf[BS];
	pthread_t t;

	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	T_EXPECT_ERR(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f), 0);
	memset(buf, 'q', BS);
	for (int i = 0; i < 16; i++)
		T_EXPECT_ERR(udax_pwrite(f, buf, BS, (uint64_t)i * BS), BS);

	/* 1. The holder releases when asked: the truncate goes through. */
	T_EXPECT_ERR(udax_lease_take(f, 8 * BS, 8 * BS, -1, &ops, &h, &h.lease), 0);
	T_ASSERT(udax_pin_nr_pages(udax_lease_pin(h.lease)) == 8);
	T_ASSERT(!udax_lease_revoked(h.lease));
	pthread_create(&t, NULL, holder_main, &h);
	T_EXPECT_ERR(udax_ftruncate_ex(f, 4 * BS, &wait), 0);
	pthread_join(t, NULL);
	T_ASSERT(h.revoked == 1 && h.lease == NULL);

	/* 2. A holder that keeps the lease past its holder_revoke timeout: the
	 * break fails and nothing changes; released later, it goes. */
	T_EXPECT_ERR(udax_ftruncate(f, 16 * BS), 0);
	for (int i = 4; i < 16; i++)
		T_EXPECT_ERR(udax_pwrite(f, buf, BS, (uint64_t)i * BS), BS);
	T_EXPECT_ERR(udax_lease_take(f, 8 * BS, 8 * BS, 20000000, &ops, &h2, &h2.lease), 0);
	T_EXPECT_ERR(udax_ftruncate_ex(f, 4 * BS, &wait), -ETIMEDOUT);
	T_ASSERT(h2.revoked == 1);
	T_EXPECT_ERR(udax_fstat(f, &st), 0);
	T_ASSERT(st.size == 16 * BS);
	T_EXPECT_ERR(udax_pread(f, buf, BS, 12 * BS), BS);
	T_ASSERT(buf[0] == 'q');
	/* Breaks elsewhere in the file do not touch the lease. */
	T_EXPECT_ERR(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
				    0, BS), 0);
	T_ASSERT(h2.revoked == 1);
	T_EXPECT_ERR(udax_lease_release(&h2.lease), 0);
	T_EXPECT_ERR(udax_ftruncate_ex(f, 4 * BS, &wait), 0);

	/* 3. Releasing from inside the callback. */
	T_EXPECT_ERR(udax_ftruncate(f, 8 * BS), 0);
	for (int i = 4; i < 8; i++)
		T_EXPECT_ERR(udax_pwrite(f, buf, BS, (uint64_t)i * BS), BS);
	h3.release_in_callback = true;
	T_EXPECT_ERR(udax_lease_take(f, 4 * BS, 4 * BS, -1, &ops, &h3, &h3.lease), 0);
	T_EXPECT_ERR(udax_ftruncate_ex(f, 0, &wait), 0);
	T_ASSERT(h3.revoked == 1 && h3.lease == NULL);

	/* Bad arguments; holes cannot be leased. */
	T_EXPECT_ERR(udax_lease_take(f, 0, BS, -1, NULL, &h3, &h3.lease), -EINVAL);
	T_EXPECT_ERR(udax_ftruncate(f, 4 * BS), 0);
	T_EXPECT_ERR(udax_lease_take(f, 0, BS, -1, &ops, &h3, &h3.lease), -ENODATA);
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	puts("fs_lease: ok");
	return 0;
}
