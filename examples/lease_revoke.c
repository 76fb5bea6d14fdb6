/* SPDX-License-Identifier: MIT */
/*
 * lease_revoke: hold a long-term pin (a lease) on a file range, as an
 * io_uring fixed buffer or an RDMA registration would, and give it back
 * when a truncate asks for it.
 *
 * The truncate (in its own thread, default UDAX_BREAK_WAIT mode) calls the
 * lease's revoke callback, which only tells the holder; the holder stops
 * using the pages and releases the lease; then the truncate frees the
 * blocks and returns.  The kernel's FS-DAX refuses such long-term pins
 * with EOPNOTSUPP.
 *
 *   cc lease_revoke.c -o lease_revoke $(pkg-config --cflags --libs udax)
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <udax/dev.h>
#include <udax/fs.h>

#define LEN	(8 * UDAX_FS_BLOCK_SIZE)

#define CHECK(call) do {						\
	long _r = (long)(call);						\
	if (_r < 0) {							\
		fprintf(stderr, "lease_revoke: %s: %s\n", #call,	\
			udax_strerror((int)_r));			\
		return 2;						\
	}								\
} while (0)

static sem_t revoked;

/* Runs in the truncating thread with file locks held: tell, never act. */
static void revoke(struct udax_lease *lease, void *arg)
{
	(void)lease;
	(void)arg;
	sem_post(&revoked);
}

static const struct udax_lease_ops lease_ops = { .revoke = revoke };

static struct udax_file *file;
static int truncate_ret;

static void *truncate_thread(void *arg)
{
	(void)arg;
	truncate_ret = udax_ftruncate(file, 0);
	return NULL;
}

int main(void)
{
	char buf[LEN];
	struct udax_lease *lease;
	struct udax_statfs sf;
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_stat st;
	pthread_t t;

	sem_init(&revoked, 0, 0);
	CHECK(udax_dev_open("mem:16M", NULL, &dev));
	CHECK(udax_dev_mkpart(dev, NULL, 0, 0));
	CHECK(udax_mkfs(dev, 0, NULL));
	CHECK(udax_mount(dev, 0, NULL, &fs));
	CHECK(udax_open(fs, "/buffers", O_CREAT | O_RDWR, 0644, &file));
	memset(buf, 'x', sizeof(buf));
	CHECK(udax_pwrite(file, buf, LEN, 0));

	/* -1: the truncate waits as long as its own mode (WAIT) allows. */
	CHECK(udax_lease_take(file, 0, LEN, -1, &lease_ops, NULL, &lease));
	printf("lease on %zu pages taken\n", udax_pin_nr_pages(udax_lease_pin(lease)));

	pthread_create(&t, NULL, truncate_thread, NULL);
	sem_wait(&revoked);		/* the truncate asked for the pages back */
	printf("revoked: %s; releasing\n", udax_lease_revoked(lease) ? "yes" : "no");
	CHECK(udax_lease_release(&lease));
	pthread_join(t, NULL);
	CHECK(truncate_ret);
	CHECK(udax_fstat(file, &st));
	CHECK(udax_statfs(fs, &sf));
	printf("truncate returned after the release: size %llu, %llu blocks busy\n",
	       (unsigned long long)st.size, (unsigned long long)sf.blocks_busy);

	CHECK(udax_close(&file));
	CHECK(udax_unmount(&fs));
	CHECK(udax_dev_close(&dev, 0));
	if (st.size != 0 || sf.blocks_busy != 0) {
		printf("lease_revoke: FAILED\n");
		return 1;
	}
	printf("lease_revoke: ok\n");
	return 0;
}
