/* SPDX-License-Identifier: MIT */
/*
 * Deferred frees racing the last unpin: no block may stay busy.
 *
 * A DEFER truncate frees pinned blocks onto the busy set
 * (fs_break_free); the last unpin of a block on the set gives it back to
 * the allocator (the holder's page_idle).  If the last pin drops after the
 * break saw the page referenced but before the block is on the set, the
 * idle callback finds nothing to take, so the break must look at the count
 * again once the block is on the set -- without that re-check the block
 * stays busy until unmount.
 *
 * The window is a few instructions wide, so the test makes many tries
 * cheap: each round pins the one block of a one-block file and truncates
 * the file to zero (DEFER) while a second thread drops the pin after a
 * wake-up and a random spin, spread over about twice the time a truncate
 * takes (measured first, in spins: it only spreads the tries, nothing is
 * asserted about it).  This is a stress test: the window is hit now and
 * then, not every run (tests/io/fs_dma_stress hits it too).  After every round blocks_busy must be 0 and the free count exactly
 * what it was before the file was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS	UDAX_FS_BLOCK_SIZE

static struct udax_fs *fs;
static struct udax_file *file;
static struct udax_pin *pin;
static sem_t go, done;			/* per round */
static _Atomic unsigned long spins;	/* this round's delay before the unpin */
static long rounds;

static uint64_t busy_now(uint64_t *free_blocks)
{
	struct udax_statfs st;

	T_EXPECT_ERR(udax_statfs(fs, &st), 0);
	if (free_blocks)
		*free_blocks = st.blocks_free;
	return st.blocks_busy;
}

static void spin(unsigned long n)
{
	for (volatile unsigned long i = 0; i < n; i++)
		;
}

static void *unpinner(void *arg)
{
	(void)arg;
	for (long r = 0; r < rounds; r++) {
		while (sem_wait(&go))
			;
		spin(atomic_load(&spins));
		T_EXPECT_ERR(udax_unpin(&pin), 0);
		T_ASSERT(!sem_post(&done));
	}
	return NULL;
}

static void setup_round(void)
{
	static char buf[BS];

	memset(buf, 'r', sizeof(buf));
	T_EXPECT_ERR(udax_pwrite(file, buf, BS, 0), BS);
	T_EXPECT_ERR(udax_pin(file, 0, BS, 0, &pin), 0);
}

int main(void)
{
	struct udax_break_opts defer = { .mode = UDAX_BREAK_DEFER };
	struct udax_dev *dev;
	uint64_t free0, free1, busy, t0, trunc_ns, spin_ns, seed = 12345;
	unsigned long span;
	pthread_t t;

	rounds = t_iters(5000);
	T_ASSERT(!sem_init(&go, 0, 0) && !sem_init(&done, 0, 0));
	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	T_EXPECT_ERR(udax_open(fs, "/r", O_CREAT | O_RDWR, 0644, &file), 0);
	T_ASSERT(busy_now(&free0) == 0);

	/* How long a DEFER truncate of a pinned block takes, in spins. */
	t0 = t_now_ns();
	for (int i = 0; i < 100; i++) {
		setup_round();
		T_EXPECT_ERR(udax_ftruncate_ex(file, 0, &defer), 0);
		T_EXPECT_ERR(udax_unpin(&pin), 0);
	}
	trunc_ns = (t_now_ns() - t0) / 100 + 1;
	t0 = t_now_ns();
	spin(1000000);
	spin_ns = (t_now_ns() - t0) / 1000000 + 1;
	span = (unsigned long)(2 * trunc_ns / spin_ns) + 1;
	if (span > 200000)	/* a loaded machine's measure: keep rounds short */
		span = 200000;
	T_ASSERT(busy_now(&free1) == 0 && free1 == free0);

	T_ASSERT(!pthread_create(&t, NULL, unpinner, NULL));
	for (long r = 0; r < rounds; r++) {
		setup_round();
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		atomic_store(&spins, (unsigned long)(seed >> 33) % span);
		T_ASSERT(!sem_post(&go));
		T_EXPECT_ERR(udax_ftruncate_ex(file, 0, &defer), 0);
		while (sem_wait(&done))
			;
		busy = busy_now(&free1);
		if (busy || free1 != free0) {
			fprintf(stderr, "round %ld: %llu blocks busy with no pin left, "
				"%llu free (want 0 busy, %llu free)\n", r,
				(unsigned long long)busy, (unsigned long long)free1,
				(unsigned long long)free0);
			exit(1);
		}
	}
	pthread_join(t, NULL);
	T_EXPECT_ERR(udax_close(&file), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	printf("%ld rounds (unpin spread over %lu spins): no block left busy, "
	       "free count exact\n", rounds, span);
	return 0;
}
