/* SPDX-License-Identifier: MIT */
/*
 * fs core: mkfs, mount, unmount, statfs, the block and inode allocators,
 * error messages.
 *
 * There is no allocation bitmap on media.  Mount builds the allocator by
 * scanning every inode's extents (and extent-chain blocks): allocation
 * state is derived from the one structure that says who owns a block, so
 * it cannot disagree with it, leak across a crash, or be corrupted on its
 * own.  The price is O(inodes + extents) work at mount; the same scan does
 * the fsck-style checks (extents in bounds, no block owned twice).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <udax/crc32c.h>

#include "dev/claim.h"
#include "fs/core.h"
#include "fs/zc.h"

/* ---- errors ------------------------------------------------------------------ */

static __thread char last_error[256];

int fs_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *udax_fs_last_error(void)
{
	return last_error;
}

int fs_err_inherited(const struct udax_fs *fs, const char *fn)
{
	return fs_error(-FORK_ERRNO, "%s: the file system was mounted by "
			"process %d and is unusable here: " FORK_HINT, fn,
			fs->owner);
}

int64_t fs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int fs_check_rw(struct udax_fs *fs)
{
	if (C(fs)->rdonly)
		return fs_error(-EROFS, "file system is mounted read-only");
	if (fs_is_shut_down(fs))
		return fs_error(-EIO, "file system shut down after a persistence "
				"error at %s", C(fs)->shutdown_at);
	return 0;
}

/*
 * Like ext4's errors=remount-ro and XFS's forced shutdown: once a
 * committed transaction may be only partly on media (or an uncommitted
 * one may look committed), memory cannot be trusted to describe media and
 * nothing may be written any more.  The journal still describes the
 * transaction completely, so the next mount recovers a consistent state.
 * Callers hold txn_lock or nothing; the first reason wins.
 */
int fs_shutdown(struct udax_fs *fs, int err, const char *where)
{
	struct fs_core *c = C(fs);
	bool expected = false;

	pthread_mutex_lock(&c->alloc_lock);
	if (!atomic_load_explicit(&c->shutdown, memory_order_relaxed)) {
		c->shutdown_at = where;
		atomic_compare_exchange_strong_explicit(&c->shutdown, &expected,
							true, memory_order_release,
							memory_order_relaxed);
	}
	pthread_mutex_unlock(&c->alloc_lock);
	return fs_error(-EIO, "file system shut down after a persistence error "
			"at %s (%s)", c->shutdown_at, udax_strerror(err));
}

bool udax_fs_is_shutdown(struct udax_fs *fs)
{
	/* Inherited across fork(): as good as shut down in this process. */
	if (fs && fork_inherited(fs->fork_gen)) {
		fs_err_inherited(fs, "udax_fs_is_shutdown");
		return true;
	}
	return fs && fs_is_shut_down(fs);
}

/* ---- allocators ----------------------------------------------------------------- */

static bool bit_test(const uint64_t *m, uint64_t b)
{
	return m[b / 64] >> (b % 64) & 1;
}

/* Mark blocks in use at mount; a block owned twice is corruption. */
int fs_bmap_mark(struct udax_fs *fs, uint64_t pblk, uint64_t n)
{
	struct fs_core *c = C(fs);

	for (uint64_t b = pblk; b < pblk + n; b++) {
		if (bit_test(c->bmap, b))
			return -EEXIST;
		c->bmap[b / 64] |= 1ull << (b % 64);
	}
	c->free_blocks -= n;
	return 0;
}

/* Out of the list (alloc_lock held).  The flag last, with release: an
 * eviction that reads it clear (fs_rsv_release) may free @ino at once,
 * so nothing here may touch it after. */
static void rsv_unlink(struct fs_core *c, struct fs_inode *ino)
{
	if (ino->rsv_prev)
		ino->rsv_prev->rsv_next = ino->rsv_next;
	else if (c->rsv_head == ino)
		c->rsv_head = ino->rsv_next;
	if (ino->rsv_next)
		ino->rsv_next->rsv_prev = ino->rsv_prev;
	ino->rsv_prev = ino->rsv_next = NULL;
	atomic_store_explicit(&ino->rsv_listed, false, memory_order_release);
}

/* Give @ino's reservation back (alloc_lock held; rsv_lock: its owner may
 * be taking from it in fs_rsv_take). */
static void rsv_drop(struct fs_core *c, struct fs_inode *ino)
{
	pthread_mutex_lock(&ino->rsv_lock);
	for (uint64_t b = ino->rsv_start; b < ino->rsv_start + ino->rsv_len; b++)
		c->bmap[b / 64] &= ~(1ull << (b % 64));
	c->free_blocks += ino->rsv_len;
	c->rsv_blocks -= ino->rsv_len;
	ino->rsv_len = 0;
	pthread_mutex_unlock(&ino->rsv_lock);
	rsv_unlink(c, ino);
}

int fs_rsv_take(struct fs_inode *ino, struct fs_logarea *a, uint64_t goal,
		uint64_t n)
{
	int err = udax_fault_should_fail(UDAX_FAULT_BLOCK_ALLOC);
	bool ok;

	if (err)
		return fs_error(err, "block allocation: injected failure");
	pthread_mutex_lock(&ino->rsv_lock);
	ok = ino->rsv_len >= n && ino->rsv_start == goal;
	if (ok) {
		/* Emptied, it stays listed (the list is alloc_lock's):
		 * giving back nothing is harmless. */
		ino->rsv_start += n;
		ino->rsv_len -= n;
	}
	pthread_mutex_unlock(&ino->rsv_lock);
	if (ok)
		atomic_fetch_add_explicit(&a->rsv_taken, n, memory_order_relaxed);
	return ok;
}

/* Where a search for free blocks starts: @goal, or where the last
 * allocation ended when @goal is not a data block (alloc_lock held). */
static uint64_t alloc_goal(struct udax_fs *fs, uint64_t goal)
{
	struct fs_core *c = C(fs);
	uint64_t nb = fs->nr_blocks, start = c->sb.data_start;

	if (goal >= start && goal < nb)
		return goal;
	return c->hint >= start && c->hint < nb ? c->hint : start;
}

/* The first free block at or after @goal (wrapping), taken with up to
 * @want - 1 free blocks after it (alloc_lock held, free_blocks > 0). */
static void alloc_locked(struct udax_fs *fs, uint64_t goal, uint64_t want,
			 uint64_t *pblk, uint64_t *got)
{
	struct fs_core *c = C(fs);
	uint64_t nb = fs->nr_blocks, start = c->sb.data_start, b, n;

	b = alloc_goal(fs, goal);
	for (uint64_t scanned = 0; scanned < nb; scanned++, b++) {
		if (b >= nb)
			b = start;
		if (!(b % 64) && c->bmap[b / 64] == ~0ull && b + 64 <= nb) {
			scanned += 63;
			b += 63;
			continue;
		}
		if (!bit_test(c->bmap, b))
			break;
	}
	for (n = 0; n < want && b + n < nb && !bit_test(c->bmap, b + n); n++)
		c->bmap[(b + n) / 64] |= 1ull << ((b + n) % 64);
	c->free_blocks -= n;
	c->hint = b + n;
	*pblk = b;
	*got = n;
}

/*
 * Hugepage-aware placement.  A view maps a file's blocks at addresses
 * congruent to their device offsets modulo 2 MiB, and so do the kernel's
 * mappings of a DAX file or of shmem with huge pages: 2 MiB of the file
 * gets one 2 MiB page-table entry instead of 512 (one fault instead of 512
 * when first stored to) only where 2 MiB of the file lies on a 2 MiB page
 * of the device.  A run that cannot continue the file's previous one is
 * therefore started, when the file is large or the write is, where its
 * device offset is congruent to its file offset modulo 2 MiB.  Small
 * files and small writes keep first fit, so they fill the gaps aligned
 * runs leave.
 */
#define HUGE_BLOCKS	512u		/* 2 MiB */
#define ALIGN_MIN_WANT	64u		/* a write of 256 KiB or more */
#define ALIGN_SCAN_MAX	1024u		/* candidates: 2 GiB of device */

static bool range_free(const uint64_t *m, uint64_t b, uint64_t n)
{
	for (uint64_t i = b; i < b + n; i++) {
		if (!(i % 64) && i + 64 <= b + n) {
			if (m[i / 64])
				return false;
			i += 63;
		} else if (bit_test(m, i)) {
			return false;
		}
	}
	return true;
}

/* The first block at or after @from that is @r modulo HUGE_BLOCKS. */
static uint64_t congruent_from(uint64_t from, uint64_t r)
{
	uint64_t b = from - from % HUGE_BLOCKS + r;

	return b < from ? b + HUGE_BLOCKS : b;
}

/* A free block at or after alloc_goal(@goal) (wrapping) whose device
 * offset is congruent to @lblk's modulo 2 MiB, with the rest of its 2 MiB
 * page (up to @want blocks) free; false when none is among the first
 * candidates (alloc_lock held). */
static bool find_aligned(struct udax_fs *fs, uint64_t goal, uint64_t lblk,
			 uint64_t want, uint64_t *out)
{
	struct fs_core *c = C(fs);
	uint64_t nb = fs->nr_blocks, start = c->sb.data_start;
	uint64_t boff = (fs->dev_offset / FS_BS) % HUGE_BLOCKS;
	uint64_t r = (lblk % HUGE_BLOCKS + HUGE_BLOCKS - boff) % HUGE_BLOCKS;
	uint64_t need = HUGE_BLOCKS - lblk % HUGE_BLOCKS, b;
	bool wrapped = false;

	if (need > want)
		need = want;
	b = congruent_from(alloc_goal(fs, goal), r);
	for (unsigned k = 0; k < ALIGN_SCAN_MAX; k++, b += HUGE_BLOCKS) {
		if (b + need > nb) {
			if (wrapped)
				return false;
			wrapped = true;
			b = congruent_from(start, r);
			if (b + need > nb)
				return false;
		}
		if (range_free(c->bmap, b, need)) {
			*out = b;
			return true;
		}
	}
	return false;
}

/* 0 when a block is free (after taking the reservations back if none
 * is), or an error (alloc_lock held). */
static int alloc_check(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);

	/* Shut down: blocks a failed operation gave back may be mapped by the
	 * transaction the next mount replays; none may be handed out. */
	if (fs_is_shut_down(fs))
		return fs_check_rw(fs);
	while (!c->free_blocks && c->rsv_head)
		rsv_drop(c, c->rsv_head);
	if (!c->free_blocks)
		return fs_error(-ENOSPC, "no free blocks");
	return 0;
}

/*
 * Allocate up to @want contiguous blocks, the first free one at or after
 * @goal (wrapping around).  -ENOSPC when nothing is free.
 */
int fs_block_alloc(struct udax_fs *fs, uint64_t goal, uint64_t want,
		   uint64_t *pblk, uint64_t *got)
{
	struct fs_core *c = C(fs);
	int err = udax_fault_should_fail(UDAX_FAULT_BLOCK_ALLOC);

	if (err)
		return fs_error(err, "block allocation: injected failure");
	pthread_mutex_lock(&c->alloc_lock);
	err = alloc_check(fs);
	if (!err)
		alloc_locked(fs, goal, want, pblk, got);
	pthread_mutex_unlock(&c->alloc_lock);
	return err;
}

int fs_block_alloc_rsv(struct udax_fs *fs, struct fs_inode *ino, uint64_t goal,
		       uint64_t want, uint64_t lblk, bool tail, uint64_t *pblk,
		       uint64_t *got)
{
	struct fs_core *c = C(fs);
	uint64_t nb = fs->nr_blocks, r, rwant, aligned;
	int err = udax_fault_should_fail(UDAX_FAULT_BLOCK_ALLOC);

	if (err)
		return fs_error(err, "block allocation: injected failure");
	pthread_mutex_lock(&c->alloc_lock);
	if (fs_is_shut_down(fs)) {
		err = fs_check_rw(fs);
		goto out;
	}
	if (ino->rsv_len && goal >= ino->rsv_start &&
	    goal < ino->rsv_start + ino->rsv_len) {
		uint64_t skip = goal - ino->rsv_start, n;

		/* Blocks skipped over go back; the rest stays held. */
		for (uint64_t b = ino->rsv_start; b < goal; b++)
			c->bmap[b / 64] &= ~(1ull << (b % 64));
		c->free_blocks += skip;
		n = ino->rsv_len - skip < want ? ino->rsv_len - skip : want;
		*pblk = goal;
		*got = n;
		c->rsv_blocks -= skip + n;
		ino->rsv_start = goal + n;
		ino->rsv_len -= skip + n;
		if (!ino->rsv_len)
			rsv_unlink(c, ino);
		goto out;
	}
	if (tail && ino->rsv_len)
		rsv_drop(c, ino);
	err = alloc_check(fs);
	if (err)
		goto out;
	if (lblk != FS_NO_ALIGN && (want >= ALIGN_MIN_WANT ||
				    ino->nr_mapped >= HUGE_BLOCKS) &&
	    (goal < c->sb.data_start || goal >= nb || bit_test(c->bmap, goal)) &&
	    find_aligned(fs, goal, lblk, want, &aligned))
		goal = aligned;
	alloc_locked(fs, goal, want, pblk, got);
	if (!tail || ino->rsv_len)
		goto out;
	rwant = ino->nr_mapped + *got;
	rwant = rwant < 16 ? 16 : rwant > 1024 ? 1024 : rwant;
	for (r = 0; r < rwant && *pblk + *got + r < nb &&
	     !bit_test(c->bmap, *pblk + *got + r); r++)
		c->bmap[(*pblk + *got + r) / 64] |= 1ull << ((*pblk + *got + r) % 64);
	if (r) {
		c->free_blocks -= r;
		c->rsv_blocks += r;
		/* Still listed if fs_rsv_take emptied it. */
		rsv_unlink(c, ino);
		ino->rsv_start = *pblk + *got;
		ino->rsv_len = r;
		ino->rsv_prev = NULL;
		ino->rsv_next = c->rsv_head;
		if (c->rsv_head)
			c->rsv_head->rsv_prev = ino;
		c->rsv_head = ino;
		atomic_store_explicit(&ino->rsv_listed, true, memory_order_relaxed);
	}
out:
	pthread_mutex_unlock(&c->alloc_lock);
	return err;
}

void fs_rsv_release(struct fs_inode *ino)
{
	struct fs_core *c = C(ino->fs);

	/*
	 * Only the file's own allocations list it, and the caller holds its
	 * last reference: clear, the flag stays clear (another thread's
	 * rsv_drop, which may clear it meanwhile, is done with @ino once it
	 * has).  Most evictions are of files that never appended here (a
	 * read, a stat's load): they take no lock two threads opening and
	 * closing different files would share.  Listed, even emptied by
	 * fs_rsv_take, it must leave the list: an inode freed while listed
	 * is a dangling list entry.
	 */
	if (!atomic_load_explicit(&ino->rsv_listed, memory_order_acquire))
		return;
	pthread_mutex_lock(&c->alloc_lock);
	rsv_drop(c, ino);
	pthread_mutex_unlock(&c->alloc_lock);
}

void fs_block_free(struct udax_fs *fs, uint64_t pblk, uint64_t n)
{
	struct fs_core *c = C(fs);

	/* A pending commit may have written the block: a replay after its
	 * reuse by writes that bypass the journal would overwrite them. */
	fs_journal_settle_range(fs, pblk, n);
	pthread_mutex_lock(&c->alloc_lock);
	for (uint64_t b = pblk; b < pblk + n && b < fs->nr_blocks; b++) {
		if (b < c->sb.data_start || !bit_test(c->bmap, b))
			continue;	/* never free metadata or a free block */
		c->bmap[b / 64] &= ~(1ull << (b % 64));
		c->free_blocks++;
	}
	pthread_mutex_unlock(&c->alloc_lock);
}

/*
 * The group a thread allocates inode numbers in first: given in turn to
 * the threads as each first allocates on the mount, so the first one
 * takes group 0 (numbers from 2 on, as a single-threaded program
 * expects), the next another.  Remembered for one mount at a time.
 */
static __thread struct {
	const struct fs_core *c;
	unsigned g;
} ig_home;

static unsigned igroup_home(struct fs_core *c)
{
	if (ig_home.c != c) {
		ig_home.c = c;
		ig_home.g = atomic_fetch_add_explicit(&c->igroup_next, 1,
						      memory_order_relaxed) % FS_IGROUPS;
	}
	return ig_home.g;
}

static struct fs_igroup *igroup_of(struct fs_core *c, uint32_t ino)
{
	return &c->ig[ino / fs_igroup_span(c)];
}

/* A free number of group @g, from its hint on, or 0 (its lock held). */
static uint32_t igroup_take(struct fs_core *c, unsigned g, uint32_t *gen)
{
	struct fs_igroup *G = &c->ig[g];
	uint64_t lo = (uint64_t)g * fs_igroup_span(c), hi = lo + fs_igroup_span(c);
	uint32_t i;

	if (hi > c->sb.nr_inodes)
		hi = c->sb.nr_inodes;
	if (!atomic_load_explicit(&G->free, memory_order_relaxed) || lo >= hi)
		return 0;
	i = G->hint;
	for (uint64_t k = lo; k < hi; k++, i++) {
		if (i >= hi || i < lo)
			i = (uint32_t)lo;
		if (!c->imap[i])
			break;
	}
	if (c->imap[i])		/* the count said otherwise */
		return 0;
	c->imap[i] = 1;
	atomic_store_explicit(&G->free, G->free - 1, memory_order_relaxed);
	G->hint = i + 1;
	*gen = G->next_gen++;
	return i;
}

int fs_ino_alloc(struct udax_fs *fs, uint32_t *ino, uint32_t *gen)
{
	struct fs_core *c = C(fs);
	unsigned home = igroup_home(c);
	int err = udax_fault_should_fail(UDAX_FAULT_INODE_ALLOC);

	if (err)
		return fs_error(err, "inode allocation: injected failure");
	if (fs_is_shut_down(fs))
		return fs_check_rw(fs);
	for (unsigned k = 0; k < FS_IGROUPS; k++) {
		unsigned g = (home + k) % FS_IGROUPS;
		uint32_t i;

		if (!atomic_load_explicit(&c->ig[g].free, memory_order_relaxed))
			continue;
		pthread_mutex_lock(&c->ig[g].lock);
		i = igroup_take(c, g, gen);
		pthread_mutex_unlock(&c->ig[g].lock);
		if (i) {
			*ino = i;
			return 0;
		}
	}
	return fs_error(-ENOSPC, "no free inodes");
}

void fs_ino_free(struct udax_fs *fs, uint32_t ino)
{
	struct fs_core *c = C(fs);
	struct fs_igroup *G = igroup_of(c, ino);

	pthread_mutex_lock(&G->lock);
	if (c->imap[ino]) {
		c->imap[ino] = 0;
		atomic_store_explicit(&G->free, G->free + 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&G->lock);
}

void fs_ino_next(struct udax_fs *fs, uint32_t ino)
{
	struct fs_core *c = C(fs);
	struct fs_igroup *G = igroup_of(c, ino);

	pthread_mutex_lock(&G->lock);
	G->hint = ino;
	pthread_mutex_unlock(&G->lock);
	ig_home.c = c;
	ig_home.g = (unsigned)(G - c->ig);
}

uint32_t fs_ino_free_count(struct fs_core *c)
{
	uint32_t n = 0;

	for (unsigned g = 0; g < FS_IGROUPS; g++)
		n += atomic_load_explicit(&c->ig[g].free, memory_order_relaxed);
	return n;
}

/* After scan_inodes: each group's free count, search start and first
 * generation. */
static void igroups_fill(struct fs_core *c)
{
	for (uint32_t i = 0; i < c->sb.nr_inodes; i++)
		if (!c->imap[i])
			c->ig[i / fs_igroup_span(c)].free++;
	for (unsigned g = 0; g < FS_IGROUPS; g++) {
		c->ig[g].hint = g * fs_igroup_span(c);
		c->ig[g].next_gen = c->next_gen;
	}
}

/* ---- superblock --------------------------------------------------------------- */

uint32_t fs_sb_crc(const struct fs_dsuper *s)
{
	return udax_crc32c(0, s, offsetof(struct fs_dsuper, crc));
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* What a mount of an older format says (fs_sb_check). */
#define OLD_FORMAT(v, what)						\
	"format version " #v " (" what "), written by an older udax; this "	\
	"one reads version 5 only: copy the files out with the older "	\
	"release, then mkfs"
static const char *const old_format[FS_VERSION] = {
	[1] = OLD_FORMAT(1, "extent chains"),
	[2] = OLD_FORMAT(2, "no fast log, symbolic links, special files or "
			    "extended attributes"),
	[3] = OLD_FORMAT(3, "no block count in inode records"),
	[4] = OLD_FORMAT(4, "a journal of one lane"),
};
_Static_assert(FS_VERSION == 5, "old_format: say what the last version lacks");

/* Validate a private copy of a superblock against the partition. */
int fs_sb_check(const struct fs_dsuper *s, uint64_t part_blocks,
		const char **why)
{
	uint64_t itb;

	if (s->magic != FS_SB_MAGIC)
		return *why = "bad magic", -ENODATA;
	if (s->crc != fs_sb_crc(s))
		return *why = "bad checksum", -EUCLEAN;
	if (s->version >= 1 && s->version < FS_VERSION)
		return *why = old_format[s->version], -EUCLEAN;
	if (s->version != FS_VERSION)
		return *why = "unknown version", -EUCLEAN;
	itb = ((uint64_t)s->nr_inodes * 256 + FS_BS - 1) / FS_BS;
	if (s->block_size != FS_BS || s->nr_blocks != part_blocks ||
	    s->journal_start != 2 || s->journal_blocks < 2 ||
	    s->journal_blocks > part_blocks || s->journal_blocks > UINT32_MAX ||
	    s->journal_lanes < 1 || s->journal_lanes > FS_JNL_LANES_MAX ||
	    (s->journal_lanes > 1 && s->journal_blocks /
	     (2 * (s->journal_lanes - 1)) < FS_JNL_LANE_MIN) ||
	    s->log_areas < 1 || s->log_areas > FS_LOG_MAX_AREAS ||
	    s->log_area_blocks < 1 || s->log_area_blocks > 1024 ||
	    s->log_start != s->journal_start + s->journal_blocks ||
	    s->itable_start != s->log_start +
			       (uint64_t)s->log_areas * s->log_area_blocks ||
	    s->nr_inodes < 2 || s->itable_blocks != itb ||
	    s->data_start != s->itable_start + s->itable_blocks ||
	    s->data_start >= s->nr_blocks)
		return *why = "inconsistent geometry", -EUCLEAN;
	if (!memchr(s->label, 0, sizeof(s->label)) ||
	    !all_zero(s->reserved, sizeof(s->reserved)))
		return *why = "bad label or reserved field", -EUCLEAN;
	return 0;
}

/*
 * Take partition @part for a mount, an fsck or a mkfs (@what says which,
 * for the message of whoever is refused): the device keeps the claims
 * (src/dev/claim.h), so that a second mount, mkfs of an overlapping
 * partition, a new partition table and closing the device all refuse with
 * -EBUSY naming the partition.  The message goes to udax_fs_last_error().
 */
int fs_claim(struct udax_dev *dev, unsigned part, const char *what,
	     const char *fn)
{
	int ret = dev_claim(dev, part, what, fn);

	if (ret)
		return fs_error(ret, "%s", udax_dev_last_error());
	return 0;
}

void fs_unclaim(struct udax_dev *dev, unsigned part)
{
	dev_unclaim(dev, part);
}

/*
 * Write a superblock copy at @dst, its magic last: the rest persisted,
 * then the magic (8 bytes: one atomic store).  A crash leaves the copy
 * without its magic ("no file system" there) or whole, never a magic over
 * a torn copy, which mount calls corrupt.
 */
static int sb_write(struct udax_dev *dev, char *dst, const struct fs_dsuper *s)
{
	size_t m = sizeof(s->magic);
	int ret;

	ret = udax_dev_memcpy_persist(dev, dst + m, (const char *)s + m,
				      sizeof(*s) - m, 0);
	if (!ret)
		ret = udax_dev_memcpy_persist(dev, dst, s, m, 0);
	return ret;
}

/*
 * The partition @part of @dev for @fn ("mkfs", "mount", "fsck"), with the
 * fs layer's message on failure.  No partition table is -ENOMEDIUM (the
 * device layer's -ENODATA would read as "no file system" here).
 */
int fs_part_lookup(struct udax_dev *dev, unsigned part, const char *fn,
		   struct udax_part_info *pi)
{
	int ret = udax_dev_part(dev, part, pi);

	if (ret == -ENODATA)
		return fs_error(-ENOMEDIUM, "%s: the device has no partition table "
				"(udax_dev_mkpart first): %s", fn,
				udax_dev_last_error());
	if (ret < 0)
		return fs_error(ret, "%s: partition %u: %s", fn, part,
				udax_dev_last_error());
	return 0;
}

static int mkfs_claimed(struct udax_dev *dev, unsigned part,
			const struct udax_mkfs_opts *opts,
			const struct udax_part_info *pinfo);

int udax_mkfs(struct udax_dev *dev, unsigned part,
	      const struct udax_mkfs_opts *opts)
{
	struct udax_mkfs_opts o = { 0 };
	struct udax_part_info pi;
	int ret;

	if (!dev)
		return fs_error(-EINVAL, "mkfs: no device");
	if (opts)
		o = *opts;
	if (!all_zero(o.reserved, sizeof(o.reserved)) ||
	    (o.label && strlen(o.label) > UDAX_FS_LABEL_MAX))
		return fs_error(-EINVAL, "mkfs: bad options (a label has at most %d bytes)",
				UDAX_FS_LABEL_MAX);
	ret = fs_part_lookup(dev, part, "mkfs", &pi);
	if (ret)
		return ret;
	/* Claimed while it writes: a mount (of this or an overlapping
	 * partition) refuses meanwhile, and mkfs refuses under a mount. */
	ret = fs_claim(dev, part, "being made by udax_mkfs", "udax_mkfs");
	if (ret)
		return ret;
	ret = mkfs_claimed(dev, part, &o, &pi);
	fs_unclaim(dev, part);
	return ret;
}

static int mkfs_claimed(struct udax_dev *dev, unsigned part,
			const struct udax_mkfs_opts *opts,
			const struct udax_part_info *pinfo)
{
	const struct udax_mkfs_opts o = *opts;
	const struct udax_part_info pi = *pinfo;
	struct fs_dsuper s;
	struct fs_dinode root;
	uint64_t nb, jb, itb, lb;
	uint32_t ni, la, lab;
	struct fs_dsuper jg;		/* the journal's geometry alone */
	char *base;
	int ret;

	(void)part;
	nb = pi.size / FS_BS;
	ni = o.nr_inodes ? o.nr_inodes : (uint32_t)(pi.size / 16384);
	if (ni < 16)
		ni = 16;
	jb = o.journal_blocks ? o.journal_blocks : 256;
	jg = (struct fs_dsuper){ .journal_blocks = jb,
				 .journal_lanes = fs_jlane_count(jb) };
	itb = ((uint64_t)ni * 256 + FS_BS - 1) / FS_BS;
	/* Fast log: 8 areas of 16 blocks (1,024 records each) from 64 MiB,
	 * 2 of 1 block below (small test images). */
	la = nb >= 16384 ? 8 : 2;
	lab = nb >= 16384 ? 16 : 1;
	lb = la * lab;
	if (jb < 2 || 2 + jb + lb + itb + 1 > nb)
		return fs_error(-ENOSPC, "mkfs: partition of %llu blocks too small",
				(unsigned long long)nb);
	base = pi.addr;

	/*
	 * Kill the old superblocks first, so that a crash in mkfs leaves no
	 * file system rather than a mix: both magics in one fence, then the
	 * rest.  Killing whole copies at once would let a crash keep a
	 * magic whose copy lost other lines: a "corrupt" file system
	 * (-EUCLEAN) where there should be none (or the old one, whole).
	 */
	ret = udax_dev_memset_persist(dev, base, 0, 8, UDAX_PERSIST_NODRAIN);
	if (!ret)
		ret = udax_dev_memset_persist(dev, base + FS_BS, 0, 8, 0);
	if (!ret)
		ret = udax_dev_memset_persist(dev, base, 0, 2 * FS_BS, 0);
	/* Every lane's header: no transaction in the journal. */
	for (uint32_t k = 0; k < jg.journal_lanes && !ret; k++) {
		uint32_t first, n;

		fs_jlane_geom(&jg, k, &first, &n);
		ret = udax_dev_memset_persist(dev, base + (2 + first) * FS_BS, 0,
					      FS_BS, 0);
	}
	if (!ret)
		ret = udax_dev_memset_persist(dev, base + (2 + jb) * FS_BS, 0,
					      (lb + itb) * FS_BS, 0);
	if (ret < 0)
		return fs_error(ret, "mkfs: persist failed");
	memset(&root, 0, sizeof(root));
	root.mode = S_IFDIR | 0755;
	root.nlink = 2;
	root.generation = 1;
	root.parent = UDAX_ROOT_INO;
	root.atime = root.mtime = root.ctime = root.btime = fs_now();
	root.crc = udax_crc32c(UDAX_ROOT_INO, &root, 252);
	ret = udax_dev_memcpy_persist(dev, base + (2 + jb + lb) * FS_BS +
				      UDAX_ROOT_INO * 256, &root, 256, 0);
	if (ret < 0)
		return fs_error(ret, "mkfs: persist failed");

	memset(&s, 0, sizeof(s));
	s.magic = FS_SB_MAGIC;
	s.version = FS_VERSION;
	s.block_size = FS_BS;
	s.generation = 1;
	s.nr_blocks = nb;
	s.journal_start = 2;
	s.journal_blocks = jb;
	s.journal_lanes = jg.journal_lanes;
	s.log_start = 2 + jb;
	s.log_areas = la;
	s.log_area_blocks = lab;
	s.itable_start = 2 + jb + lb;
	s.itable_blocks = itb;
	s.data_start = 2 + jb + lb + itb;
	s.nr_inodes = ni;
	s.mkfs_time = fs_now();
	if (o.label)
		memcpy(s.label, o.label, strlen(o.label));
	s.crc = fs_sb_crc(&s);
	/* Two copies, one after the other, each magic last: a crash leaves
	 * no magic (no file system) or copy A whole. */
	ret = sb_write(dev, base, &s);
	if (!ret)
		ret = sb_write(dev, base + FS_BS, &s);
	if (ret < 0)
		return fs_error(ret, "mkfs: persist failed");
	return 0;
}

/* ---- mount ------------------------------------------------------------------------ */

static void core_free(struct udax_fs *fs)
{
	struct fs_core *c = fs->core;

	if (c) {
		fs_dix_free_all(fs);
		free(c->dix);
		pthread_mutex_destroy(&c->dix_lock);
		pthread_mutex_destroy(&c->dix_retire_lock);
		fs_log_free(fs);
		fs_ns_destroy(c);
		fs_journal_destroy(c);
		pthread_mutex_destroy(&c->alloc_lock);
		for (unsigned g = 0; g < FS_IGROUPS; g++)
			pthread_mutex_destroy(&c->ig[g].lock);
		for (unsigned k = 0; k < FS_ICACHE_STRIPES; k++)
			pthread_mutex_destroy(&c->icl[k].m);
		for (unsigned k = 0; k < FS_ILOAD_STRIPES; k++)
			pthread_mutex_destroy(&c->iload[k].m);
		free(c->icache);
		free(c->bmap);
		free(c->imap);
		free(c->istate);
		free(c);
	}
	free(fs);
}

/* Scan the inode table: validate every inode, build the allocators. */
static int scan_inodes(struct udax_fs *fs, uint32_t **orphans, uint32_t *norph,
		       uint64_t *max_seq)
{
	struct fs_core *c = C(fs);
	struct fs_dinode di;
	uint32_t cap = 0;
	int ret;

	c->imap[0] = 1;				/* inode 0 is never used */
	memcpy(&di, fs->base + fs_inode_off(fs, 0), sizeof(di));
	if (!all_zero(&di, sizeof(di)))
		return fs_error(-EUCLEAN, "inode 0 is not zero");
	for (uint32_t i = 1; i < c->sb.nr_inodes; i++) {
		struct fs_inode tmp;

		ret = fs_inode_read(fs, i, &di);
		if (ret < 0)
			return ret;
		if (!di.mode) {
			if (i == UDAX_ROOT_INO)
				return fs_error(-EUCLEAN, "root inode is free");
			continue;
		}
		if (i == UDAX_ROOT_INO && !S_ISDIR(di.mode))
			return fs_error(-EUCLEAN, "root inode is not a directory");
		c->imap[i] = 1;
		if (di.generation >= c->next_gen)
			c->next_gen = di.generation + 1;
		if (di.log_seq > *max_seq)
			*max_seq = di.log_seq;
		memset(&tmp, 0, sizeof(tmp));
		tmp.ino = i;
		ret = fs_inode_load(fs, &tmp, &di, true);
		fs_xmap_clear(&tmp);
		if (ret < 0)
			return ret;
		if (!di.nlink) {
			if (*norph == cap) {
				uint32_t *n;

				cap = cap ? 2 * cap : 16;
				n = fault_realloc(*orphans, cap * sizeof(*n));
				if (!n)
					return fs_error(-ENOMEM, "mount: no memory "
							"for the orphan list");
				*orphans = n;
			}
			(*orphans)[(*norph)++] = i;
		}
	}
	return 0;
}

int udax_mount(struct udax_dev *dev, unsigned part,
	       const struct udax_mount_opts *opts, struct udax_fs **out)
{
	struct udax_mount_opts o = { 0 };
	struct udax_part_info pi;
	struct fs_dsuper s[2];
	const char *why[2] = { "", "" };
	int r[2], ret, best;
	struct udax_fs *fs;
	struct fs_core *c;
	uint32_t *orph = NULL, norph = 0;
	uint64_t nb, max_seq = 0;

	if (!dev || !out)
		return fs_error(-EINVAL, "mount: no device or result");
	*out = NULL;
	if (opts)
		o = *opts;
	if (!all_zero(o.reserved, sizeof(o.reserved)) ||
	    (o.flags & ~UDAX_MOUNT_RDONLY) || o.brk.mode > UDAX_BREAK_DEFER)
		return fs_error(-EINVAL, "mount: bad options");
	ret = fs_part_lookup(dev, part, "mount", &pi);
	if (ret)
		return ret;
	nb = pi.size / FS_BS;
	if (nb < 2)
		return fs_error(-ENODATA, "mount: partition too small");
	/* First: a partition in use is "busy", whatever its bytes say now. */
	ret = fs_claim(dev, part, "mounted", "udax_mount");
	if (ret)
		return ret;

	/* The valid copy with the highest generation wins. */
	for (int i = 0; i < 2; i++) {
		memcpy(&s[i], (char *)pi.addr + i * FS_BS, sizeof(s[i]));
		r[i] = fs_sb_check(&s[i], nb, &why[i]);
	}
	if (r[0] && r[1]) {
		fs_unclaim(dev, part);
		if (r[0] == -ENODATA && r[1] == -ENODATA)
			return fs_error(-ENODATA, "mount: no file system on partition %u",
					part);
		return fs_error(-EUCLEAN, "mount: superblock: copy 0: %s, copy 1: %s",
				why[0], why[1]);
	}
	best = r[0] ? 1 : r[1] ? 0 : s[1].generation > s[0].generation;
	fs = fault_calloc(1, sizeof(*fs));
	/* On a line boundary: the padding that keeps each lock and count
	 * that threads write on a line of its own then does (and the layout,
	 * so the figures, is the same from run to run). */
	c = fault_aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);
	if (c)
		memset(c, 0, sizeof(*c));
	if (!fs || !c) {
		fs_unclaim(dev, part);
		free(fs);
		free(c);
		return fs_error(-ENOMEM, "mount: out of memory");
	}

	fs->core = c;
	c->sb = s[best];
	c->rdonly = o.flags & UDAX_MOUNT_RDONLY;
	fs->dev = dev;
	fs->part = part;
	/* udax_dev_part() above refused a device inherited across fork(). */
	fs->fork_gen = fork_gen();
	fs->owner = (int)getpid();
	fs->base = pi.addr;
	fs->nr_blocks = nb;
	fs->dev_offset = pi.offset;
	fs->pfn_first = pi.pfn_first;
	fs->pgmap = udax_dev_pgmap(dev);
	fs->brk = o.brk;
	c->dix_budget = o.dir_cache ? o.dir_cache : UDAX_DIR_CACHE_DEFAULT;
	fs_ns_init(c);
	fs_journal_init(c);
	pthread_mutex_init(&c->alloc_lock, NULL);
	{
		/* Held for a lookup or a load: spinning a little beats the
		 * futex's sleep when two threads want the same inode. */
		pthread_mutexattr_t a;

		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
		for (unsigned k = 0; k < FS_ICACHE_STRIPES; k++)
			pthread_mutex_init(&c->icl[k].m, &a);
		for (unsigned k = 0; k < FS_ILOAD_STRIPES; k++)
			pthread_mutex_init(&c->iload[k].m, &a);
		for (unsigned g = 0; g < FS_IGROUPS; g++)
			pthread_mutex_init(&c->ig[g].lock, &a);
		pthread_mutexattr_destroy(&a);
	}
	c->bmap = fault_calloc((nb + 63) / 64, 8);
	c->imap = fault_calloc(c->sb.nr_inodes, 1);
	/* FS_IGROUPS groups of 16 x 2^istate_shift numbers >= nr_inodes
	 * (fs_ino_alloc, fs_istate: a state word per number) */
	while (((uint64_t)FS_IGROUPS * 16 << c->istate_shift) < c->sb.nr_inodes)
		c->istate_shift++;
	c->istate = fault_calloc((uint64_t)FS_IGROUPS * fs_igroup_span(c),
				 sizeof(*c->istate));
	if (!c->bmap || !c->imap || !c->istate || fs_icache_init(c) ||
	    fs_dix_init(fs)) {
		ret = fs_error(-ENOMEM, "mount: no memory for the allocators");
		goto fail;
	}
	/* Blocks past the end of the partition (in the last word) and the
	 * metadata area count as used. */
	for (uint64_t b = nb; b < (nb + 63) / 64 * 64; b++)
		c->bmap[b / 64] |= 1ull << (b % 64);
	c->free_blocks = nb;
	fs_bmap_mark(fs, 0, c->sb.data_start);
	c->next_gen = 1;
	fs_dix_seed(fs);

	ret = fs_journal_replay(fs);
	if (ret < 0)
		goto fail;
	ret = scan_inodes(fs, &orph, &norph, &max_seq);
	if (ret < 0)
		goto fail;
	igroups_fill(c);
	ret = fs_zc_mount(fs);
	if (ret < 0) {
		fs_error(ret, "mount: attaching to the page map failed");
		goto fail;
	}
	/* Appends in the fast log after the journal's last transaction. */
	ret = fs_log_mount(fs, max_seq);
	if (ret < 0) {
		fs_zc_unmount(fs, NULL);
		goto fail;
	}
	/* Keep the root cached: every path walk starts there. */
	ret = fs_iget(fs, UDAX_ROOT_INO, &c->root);
	if (ret < 0) {
		fs_zc_unmount(fs, NULL);
		goto fail;
	}
	/*
	 * Orphans of a crash: unlinked while open.  The last iput frees.  A
	 * free that fails before its commit point (-ENOMEM, a journal body
	 * that did not persist) leaves the orphan for the next mount: a
	 * valid state, the mount goes on.  One that shut the fs down (the
	 * commit reached media, memory does not know) fails the mount: a
	 * mount must not hand out a file system that refuses every change.
	 */
	for (uint32_t i = 0; i < norph && !c->rdonly; i++) {
		struct fs_inode *ino;

		if (fs_iget(fs, orph[i], &ino) == 0)
			fs_iput(ino);
	}
	free(orph);
	orph = NULL;
	if (fs_is_shut_down(fs)) {
		ret = fs_error(-EIO, "mount: freeing orphans failed: file system "
			       "shut down after a persistence error at %s",
			       c->shutdown_at);
		fs_iput(c->root);
		c->root = NULL;
		fs_zc_unmount(fs, NULL);
		goto fail;
	}
	*out = fs;
	return 0;
fail:
	free(orph);
	fs_unclaim(dev, part);
	core_free(fs);
	return ret;
}

/* Inodes held by someone (a handle, a view, a lease, a walk), not counting
 * the references the root and the directory indexes keep (ns_lock held). */
static uint64_t open_inode_count(struct fs_core *c)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < FS_ICACHE_STRIPES; k++)
		pthread_mutex_lock(&c->icl[k].m);
	for (uint32_t b = 0; b <= c->icache_mask; b++)
		for (struct fs_inode *i = c->icache[b]; i; i = i->hnext)
			n += i->refs > (unsigned)(i == c->root) + fs_dix_holds(i);
	for (unsigned k = FS_ICACHE_STRIPES; k-- > 0;)
		pthread_mutex_unlock(&c->icl[k].m);
	return n;
}

int udax_unmount_ex(struct udax_fs **pfs, const struct udax_break_opts *brk)
{
	struct udax_fs *fs = pfs ? *pfs : NULL;
	struct fs_core *c;
	uint64_t open_inodes;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "unmount: no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "unmount");
	if (brk && (unsigned)brk->mode > UDAX_BREAK_DEFER)
		return fs_error(-EINVAL, "unmount: unknown break mode %d",
				(int)brk->mode);
	c = C(fs);
	fs_ns_lock(fs);
	open_inodes = open_inode_count(c);
	/* Nothing open: the directory indexes' references are the last but
	 * the root's (an index is rebuilt if the unmount fails below). */
	if (!open_inodes)
		fs_dix_free_all(fs);
	fs_ns_unlock(fs);
	if (open_inodes)
		return fs_error(-EBUSY, "unmount: %llu file(s) or directories are "
				"still open (handles, views or leases); close them "
				"first", (unsigned long long)open_inodes);
	fs_iput(c->root);
	c->root = NULL;
	ret = fs_zc_unmount(fs, brk);
	if (ret) {
		/* Still mounted: take the root back. */
		if (fs_iget(fs, UDAX_ROOT_INO, &c->root))
			c->root = NULL;
		return ret < 0 ? ret : -EBUSY;
	}
	/* A failure shuts down and leaves the header: the next mount
	 * replays the last commit. */
	fs_journal_settle(fs);
	fs_unclaim(fs->dev, fs->part);
	core_free(fs);
	*pfs = NULL;
	return 0;
}

int udax_unmount(struct udax_fs **pfs)
{
	return udax_unmount_ex(pfs, NULL);
}

int udax_statfs(struct udax_fs *fs, struct udax_statfs *st)
{
	struct fs_core *c;

	if (!fs || !st)
		return fs_error(-EINVAL, "statfs: bad argument");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "statfs");
	c = C(fs);
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&c->alloc_lock);
	st->block_size = FS_BS;
	st->blocks = fs->nr_blocks - c->sb.data_start;
	st->blocks_free = c->free_blocks + c->rsv_blocks;
	for (uint32_t k = 0; c->log && k < c->sb.log_areas; k++)
		st->blocks_free -= atomic_load_explicit(&c->log[k].rsv_taken,
							memory_order_relaxed);
	st->inodes = c->sb.nr_inodes - 1;
	st->inodes_free = fs_ino_free_count(c);
	pthread_mutex_unlock(&c->alloc_lock);
	st->blocks_busy = fs_zc_busy_blocks(fs);
	st->name_max = UDAX_NAME_MAX;
	if (c->sb.mkfs_time > 0) {	/* media from before the epoch: say 0 */
		st->mkfs_time.tv_sec = c->sb.mkfs_time / 1000000000;
		st->mkfs_time.tv_nsec = c->sb.mkfs_time % 1000000000;
	}
	/* Checked NUL-terminated when the superblock was read. */
	_Static_assert(sizeof(st->label) == sizeof(c->sb.label), "label sizes");
	memcpy(st->label, c->sb.label, sizeof(st->label));
	if (fs_is_shut_down(fs))
		st->flags |= UDAX_STATFS_SHUTDOWN;
	return 0;
}
