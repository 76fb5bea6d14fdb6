/* SPDX-License-Identifier: MIT */
/*
 * fs core: inodes.  Reading and validating inode records and extent
 * chains, writing them into transactions, the inode cache, extent maps,
 * and freeing inodes (last link, orphans).
 *
 * Extent maps (in memory and on media) are extmap.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <udax/crc32c.h>

#include "fs/core.h"

/* ---- records ------------------------------------------------------------------ */

uint32_t fs_dinode_crc(uint32_t ino, const struct fs_dinode *di)
{
	return udax_crc32c(ino, di, offsetof(struct fs_dinode, crc));
}

#define inode_crc fs_dinode_crc

static bool zero_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* A symbolic link's record (core.h: FS_SYMLINK_INLINE). */
static int symlink_check(const struct fs_dinode *di, const char **why)
{
	const uint8_t *t = (const uint8_t *)di->ext;

	if (!di->size || di->size > FS_SYMLINK_MAX)
		return *why = "symbolic link of a bad length", -EUCLEAN;
	if (di->size <= FS_SYMLINK_INLINE) {
		if (di->nr_extents || di->ext_blocks || di->ext_next)
			return *why = "inline symbolic link with extents", -EUCLEAN;
		if (memchr(t, 0, di->size))
			return *why = "NUL in a symbolic link", -EUCLEAN;
		if (!zero_bytes(t + di->size, FS_SYMLINK_INLINE - di->size))
			return *why = "bytes after an inline symbolic link", -EUCLEAN;
		return 0;
	}
	if (di->nr_extents != 1 || di->ext_blocks || di->ext_next ||
	    di->ext[0].lblk || di->ext[0].len != 1 ||
	    !zero_bytes(&di->ext[1], sizeof(di->ext) - sizeof(di->ext[0])))
		return *why = "symbolic link not in one block", -EUCLEAN;
	return 0;
}

/* The checks of an in-use record that need nothing but the record. */
int fs_dinode_check(const struct fs_dinode *di, uint32_t nr_inodes,
		    const char **why)
{
	if (!fs_mode_type_valid(di->mode))
		*why = "bad mode type";
	else if (di->mode & ~(S_IFMT | 07777))
		*why = "bad mode bits";
	else if (di->rdev && !S_ISCHR(di->mode) && !S_ISBLK(di->mode))
		*why = "device number on an inode that is no device";
	else if (fs_mode_special(di->mode) &&
		 (di->size || di->nr_extents || di->ext_blocks || di->ext_next))
		*why = "special file with data";
	else if (di->flags)
		*why = "reserved field not zero";
	else if (di->size > FS_MAX_SIZE)
		*why = "size beyond 16 TiB";
	else if (S_ISDIR(di->mode) && di->size % FS_BS)
		*why = "directory size not a multiple of 4096";
	else if (S_ISDIR(di->mode) && di->nlink == 1)
		*why = "directory with link count 1";
	else if (S_ISDIR(di->mode) && (!di->parent || di->parent >= nr_inodes))
		*why = "directory parent out of range";
	else if (!S_ISDIR(di->mode) && di->parent)
		*why = "file with a parent";
	else
		*why = NULL;
	if (*why)
		return -EUCLEAN;
	if (S_ISLNK(di->mode))
		return symlink_check(di, why);
	if (di->nr_extents <= FS_INLINE_EXT) {
		for (uint32_t k = di->nr_extents; k < FS_INLINE_EXT; k++)
			if (di->ext[k].lblk || di->ext[k].len || di->ext[k].pblk)
				return *why = "stray inline extent", -EUCLEAN;
		if (di->ext_blocks || di->ext_next)
			return *why = "extent leaves for an inline map", -EUCLEAN;
		return 0;
	}
	/* More than FS_INLINE_EXT: all in leaves of 1..254 extents. */
	if (!zero_bytes(di->ext, sizeof(di->ext)))
		return *why = "inline extents beside extent leaves", -EUCLEAN;
	if (!di->ext_blocks || !di->ext_next || di->ext_blocks > di->nr_extents ||
	    (uint64_t)di->ext_blocks * FS_EB_EXTS < di->nr_extents)
		return *why = "bad extent list header", -EUCLEAN;
	return 0;
}

bool fs_dext_valid(const struct fs_dext *d, uint64_t prev_end,
		   uint64_t data_start, uint64_t nr_blocks)
{
	uint64_t len = d->len & FS_DEXT_MAXLEN;

	return len && (uint64_t)d->lblk + len <= FS_MAX_LBLK &&
	       d->pblk >= data_start && d->pblk < nr_blocks &&
	       len <= nr_blocks - d->pblk && d->lblk >= prev_end;
}

/* A private copy of inode record @ino, checksum-verified. */
int fs_inode_read(struct udax_fs *fs, uint32_t ino, struct fs_dinode *di)
{
	static const struct fs_dinode zero;

	if (ino == 0 || ino >= C(fs)->sb.nr_inodes)
		return fs_error(-EUCLEAN, "inode number %u out of range", ino);
	memcpy(di, fs->base + fs_inode_off(fs, ino), sizeof(*di));
	if (!di->mode) {
		if (memcmp(di, &zero, sizeof(*di)))
			return fs_error(-EUCLEAN, "inode %u: free but not zero", ino);
		return 0;
	}
	if (di->crc != inode_crc(ino, di))
		return fs_error(-EUCLEAN, "inode %u: checksum mismatch", ino);
	return 0;
}

/*
 * Fill @ino's core fields from a verified record @di: validate every
 * field and the extent chain.  @mark: claim the blocks in the allocator
 * (mount's scan), failing on a block owned twice.
 */
int fs_inode_load(struct udax_fs *fs, struct fs_inode *ino,
		  const struct fs_dinode *di, bool mark)
{
	const char *why;

	if (fs_dinode_check(di, C(fs)->sb.nr_inodes, &why))
		return fs_error(-EUCLEAN, "inode %u: %s", ino->ino, why);
	ino->mode = di->mode;
	ino->uid = di->uid;
	ino->gid = di->gid;
	ino->nlink = di->nlink;
	ino->iflags = di->flags;
	ino->gen = di->generation;
	ino->parent = di->parent;
	ino->rdev = di->rdev;
	ino->xattr = di->xattr;
	if (di->xattr && (di->xattr < C(fs)->sb.data_start ||
			  di->xattr >= fs->nr_blocks))
		return fs_error(-EUCLEAN, "inode %u: xattr block %llu out of bounds",
				ino->ino, (unsigned long long)di->xattr);
	if (di->xattr && mark && fs_bmap_mark(fs, di->xattr, 1))
		return fs_error(-EUCLEAN, "inode %u: xattr block %llu has another owner",
				ino->ino, (unsigned long long)di->xattr);
	ino->size = di->size;
	ino->atime = di->atime;
	ino->mtime = di->mtime;
	ino->ctime = di->ctime;
	ino->btime = di->btime;
	ino->log_seq = di->log_seq;
	ino->log_pending = false;
	fs_xmap_clear(ino);
	return fs_xmap_load(fs, ino, di, mark);
}

int fs_txn_inode_free(struct fs_txn *t, struct fs_inode *ino)
{
	static const struct fs_dinode zero;

	fs_txn_add(t, fs_inode_off(ino->fs, ino->ino), &zero, sizeof(zero));
	return t->err;
}

int fs_symlink_load(struct fs_inode *ino, const struct fs_dinode *di)
{
	const struct fs_extent *e = ino->nleaf ? &ino->leaf[0]->e[0] : NULL;
	const char *src = (const char *)di->ext;
	char *t;

	if (di->size > FS_SYMLINK_INLINE) {
		/* fs_dinode_check and the map's load checked the extent. */
		if (!e)
			return fs_error(-EUCLEAN, "inode %u: symbolic link without its block",
					ino->ino);
		src = fs_block_addr(ino->fs, e->pblk);
		if (memchr(src, 0, di->size))
			return fs_error(-EUCLEAN, "inode %u: NUL in the symbolic link",
					ino->ino);
	}
	t = fault_malloc(di->size + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t, src, di->size);
	t[di->size] = 0;
	free(ino->symlink);
	ino->symlink = t;
	return 0;
}

uint64_t fs_inode_size(struct fs_inode *ino)
{
	return ino->size;
}

static struct timespec ts_of(int64_t ns)
{
	int64_t s = ns / 1000000000, r = ns % 1000000000;

	if (r < 0) {
		r += 1000000000;
		s--;
	}
	return (struct timespec){ .tv_sec = s, .tv_nsec = r };
}

void fs_inode_fill(struct fs_inode *ino, struct udax_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->ino = ino->ino;
	st->mode = ino->mode;
	st->nlink = ino->nlink;
	st->uid = ino->uid;
	st->gid = ino->gid;
	st->size = ino->size;
	st->rdev = fs_rdev_decode(ino->rdev);
	st->blocks = fs_inode_blocks(ino);
	st->atime = ts_of(ino->atime);
	st->mtime = ts_of(ino->mtime);
	st->ctime = ts_of(ino->ctime);
	st->btime = ts_of(ino->btime);
	st->gen = ino->gen;
}

/*
 * fs_inode_stat from @di, a copy of the record of @ino: 1 and *@st, 0 when
 * it does not check, -EAGAIN when its block count needs the extent leaves
 * read and @leaves is false.
 */
static int stat_di(struct udax_fs *fs, uint32_t ino, const struct fs_dinode *di,
		   struct udax_stat *st, bool leaves)
{
	struct fs_core *c = C(fs);
	uint64_t blocks;
	const char *why;

	if (!di->mode || di->crc != inode_crc(ino, di))
		return 0;	/* free, or damaged: the walk's words */
	if (fs_dinode_check(di, c->sb.nr_inodes, &why) || S_ISLNK(di->mode) ||
	    (di->xattr && (di->xattr < c->sb.data_start || di->xattr >= fs->nr_blocks)))
		return 0;
	/* The record's count, checked against an inline map (cheap); a map
	 * of leaves is checked when it is loaded, not by a stat. */
	if (di->nr_extents <= FS_INLINE_EXT || di->blocks == FS_BLOCKS_MANY) {
		if (di->nr_extents > FS_INLINE_EXT && !leaves)
			return -EAGAIN;
		if (fs_xmap_blocks(fs, ino, di, &blocks) ||
		    fs_blocks_field(blocks) != di->blocks)
			return 0;
	} else {
		blocks = di->blocks;
	}
	memset(st, 0, sizeof(*st));
	st->ino = ino;
	st->mode = di->mode;
	st->nlink = di->nlink;
	st->uid = di->uid;
	st->gid = di->gid;
	st->size = di->size;
	st->rdev = fs_rdev_decode(di->rdev);
	st->blocks = blocks;
	st->atime = ts_of(di->atime);
	st->mtime = ts_of(di->mtime);
	st->ctime = ts_of(di->ctime);
	st->btime = ts_of(di->btime);
	st->gen = di->generation;
	return 1;
}

/*
 * The load lock of inode number @ino (one of FS_ILOAD_STRIPES): held by
 * every load into the cache (fs_iget, fs_iget_shared), by a stat that
 * reads the record under it when loads keep changing it, and by a create
 * from before its new inode's record is committed until the inode is in
 * the cache (fs_iload_lock_new): a load of that number by a lookup beside
 * directory writers, which may hold a stale name of it, then finds the
 * new inode cached instead of caching a second copy of it.
 */
static pthread_mutex_t *iload_lock(struct fs_core *c, uint32_t ino)
{
	return &c->iload[ino % FS_ILOAD_STRIPES].m;
}

void fs_iload_lock_new(struct udax_fs *fs, uint32_t ino)
{
	pthread_mutex_lock(iload_lock(C(fs), ino));
}

void fs_iload_unlock_new(struct udax_fs *fs, uint32_t ino)
{
	pthread_mutex_unlock(iload_lock(C(fs), ino));
}

/*
 * A copy of the record of @ino, possibly torn by a writer: the caller
 * keeps it only if @ino's state did not change meanwhile (fs_inode_stat).
 * Word by word, outside ThreadSanitizer's view, as the kernel's seqlock
 * readers read: the race is the protocol's, and its loser is discarded.
 */
__attribute__((no_sanitize_thread, noinline))
static void record_copy_racy(struct udax_fs *fs, uint32_t ino,
			     struct fs_dinode *di)
{
	const uint64_t *src = (const void *)(fs->base + fs_inode_off(fs, ino));
	uint64_t w[sizeof(*di) / 8];

	for (size_t k = 0; k < sizeof(w) / 8; k++)
		w[k] = __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	memcpy(di, w, sizeof(*di));
}

void (*fs_inode_stat_hook)(struct udax_fs *fs, uint32_t ino);

int fs_inode_stat(struct udax_fs *fs, uint32_t ino, struct udax_stat *st,
		  struct fs_inode **cached)
{
	struct fs_core *c = C(fs);
	struct fs_dinode di;
	pthread_mutex_t *lk;
	int ret = -EAGAIN;

	*cached = NULL;
	if (ino == 0 || ino >= c->sb.nr_inodes)
		return 0;
	/*
	 * Not cached, its record is all there is of the inode (an eviction
	 * commits before it clears the state's cached bit), and no holder
	 * can write it -- unless a load makes one meanwhile (under ns_lock
	 * shared, or beside directory writers: a name of it in another
	 * directory, a hard link).  The state changes at every load (the
	 * cached bit set) and at every eviction after it (the bit cleared
	 * by adding 1: the count above it grows), so a copy taken between
	 * two equal looks at the state, cached bit clear, is whole: the
	 * seqlock's reader, which writes nothing another thread reads.
	 */
	for (int tries = 0; tries < 4 && ret == -EAGAIN; tries++) {
		uint32_t s1;

		if ((*cached = fs_icache_get(fs, ino)))
			return 0;
		s1 = atomic_load_explicit(fs_istate(c, ino), memory_order_acquire);
		if (s1 & 1)
			continue;	/* loaded meanwhile */
		if (__builtin_expect(fs_inode_stat_hook != NULL, 0))
			fs_inode_stat_hook(fs, ino);
		record_copy_racy(fs, ino, &di);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(fs_istate(c, ino), memory_order_relaxed) == s1)
			ret = stat_di(fs, ino, &di, st, false);
	}
	if (ret != -EAGAIN)
		return ret;
	/* Loads keep coming, or the count needs the leaves: read it all
	 * under the load lock, which every load from media holds. */
	lk = iload_lock(c, ino);
	pthread_mutex_lock(lk);
	if (!(atomic_load_explicit(fs_istate(c, ino), memory_order_acquire) & 1)) {
		memcpy(&di, fs->base + fs_inode_off(fs, ino), sizeof(di));
		ret = stat_di(fs, ino, &di, st, true);
	}
	pthread_mutex_unlock(lk);
	if (ret == -EAGAIN)
		*cached = fs_icache_get(fs, ino);	/* loaded meanwhile */
	return ret == -EAGAIN ? 0 : ret;
}

/* ---- inode cache -------------------------------------------------------------------- */

/*
 * A new in-memory inode, on whole lines of its own: threads write their
 * inodes at every open and close (references, locks), and malloc's
 * 16-byte alignment let two inodes (or an inode and another thread's
 * object: the last of two holders frees it, and malloc hands the memory
 * to that thread next) share a line.
 */
#define INODE_BYTES	((sizeof(struct fs_inode) + 63) & ~(size_t)63)

/*
 * Each thread keeps the memory of the last few inodes it disposed of
 * (INODE_SPARES), for its next loads: opening and closing a file nobody
 * else holds loads and drops its inode every time, and malloc's free of
 * an inode-sized block consolidated its bins at every call (a tenth of
 * the time of an open and close).  The memory is only memory: every
 * field is set again.  Sanitizer builds keep none, so that a use of an
 * inode after its disposal is still a use after free to them.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define INODE_SPARES	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define INODE_SPARES	0		/* clang before it defined the above */
#endif
#endif
#ifndef INODE_SPARES
#define INODE_SPARES	16
#endif

static __thread struct {
	void *head;			/* a spare's first word: the next */
	unsigned n;
} spares;
static pthread_key_t spares_key;	/* its destructor frees them */
static bool spares_key_made;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;

static void spares_free(void *unused)
{
	(void)unused;
	while (spares.head) {
		void *p = spares.head;

		memcpy(&spares.head, p, sizeof(void *));
		free(p);
	}
	spares.n = 0;
}

static void spares_init(void)
{
	spares_key_made = !pthread_key_create(&spares_key, spares_free);
}

/* Unloaded (dlclose), the library must not be called at the exit of the
 * threads that kept spares: those are left to the process. */
__attribute__((destructor)) static void spares_unload(void)
{
	if (spares_key_made)
		pthread_key_delete(spares_key);
}

/* Keep @p for this thread's next inode if there is room (true), else no. */
static bool spare_keep(void *p)
{
	if (!INODE_SPARES || spares.n == INODE_SPARES)
		return false;
	if (!spares.n) {
		/* The first one kept: have the thread's exit free them. */
		pthread_once(&spares_once, spares_init);
		if (!spares_key_made || pthread_setspecific(spares_key, &spares))
			return false;
	}
	memcpy(p, &spares.head, sizeof(void *));
	spares.head = p;
	spares.n++;
	return true;
}

static void *inode_alloc(void)
{
	void *p = spares.head;

	if (!p)
		return fault_aligned_alloc(64, INODE_BYTES);
	/* A spare, but the allocation still answers to fault injection. */
	if (udax_fault_should_fail(UDAX_FAULT_MALLOC))
		return NULL;
	memcpy(&spares.head, p, sizeof(void *));
	spares.n--;
	return p;
}

struct fs_inode *fs_inode_new(struct udax_fs *fs, uint32_t ino, uint32_t mode)
{
	struct fs_inode *i = inode_alloc();

	if (!i)
		return NULL;
	memset(i, 0, sizeof(*i));
	i->ino = ino;
	i->fs = fs;
	i->mode = mode;
	/* A new inode's record makes every log record already written
	 * stale for it (its number may have been another file's). */
	i->log_seq = atomic_load_explicit(&C(fs)->log_seq, memory_order_relaxed);
	pthread_rwlock_init(&i->lock, NULL);
	pthread_mutex_init(&i->rsv_lock, NULL);
	fs_inode_zc_init(i);
	return i;
}

void fs_inode_dispose(struct fs_inode *ino)
{
	if (!ino)
		return;
	fs_rsv_release(ino);
	free(ino->symlink);
	fs_inode_zc_destroy(ino);
	pthread_rwlock_destroy(&ino->lock);
	pthread_mutex_destroy(&ino->rsv_lock);
	fs_xmap_clear(ino);
	if (!spare_keep(ino))
		free(ino);
}

/*
 * The inode cache: chains in a table that grows x4 when it holds more
 * than two inodes a chain, so a lookup stays O(1) however many inodes are
 * held (a FUSE mount holds every node the kernel knows).  Under the
 * icache_lock of @ino's stripe (fs_icache_lock).
 */
static struct fs_inode **bucket(struct udax_fs *fs, uint32_t ino)
{
	struct fs_core *c = C(fs);

	return &c->icache[fs_icache_chain(ino, c->icache_mask + 1ull)];
}

int fs_icache_init(struct fs_core *c)
{
	c->icache = fs_chains_alloc(FS_ICACHE_BUCKETS);
	c->icache_mask = FS_ICACHE_BUCKETS - 1;
	return c->icache ? 0 : -ENOMEM;
}

struct fs_inode *fs_icache_find(struct fs_core *c, uint32_t ino)
{
	struct fs_inode *i;

	for (i = c->icache[fs_icache_chain(ino, c->icache_mask + 1ull)];
	     i && i->ino != ino; i = i->hnext)
		;
	return i;
}

struct fs_inode *fs_icache_get(struct udax_fs *fs, uint32_t ino)
{
	struct fs_core *c = C(fs);
	struct fs_inode *i;

	/* The flag first: a lookup of an inode nobody holds takes no lock
	 * that another thread's takes too. */
	if (ino >= c->sb.nr_inodes ||
	    !(atomic_load_explicit(fs_istate(c, ino), memory_order_acquire) & 1))
		return NULL;
	pthread_mutex_lock(fs_icache_lock(c, ino));
	i = fs_icache_find(c, ino);
	if (i)
		i->refs++;
	pthread_mutex_unlock(fs_icache_lock(c, ino));
	return i;
}

/* Link @i into the cache with one reference (its stripe's lock held).
 * True when the table should grow (icache_grow, after that lock). */
static bool icache_link(struct fs_core *c, struct fs_inode *i)
{
	i->refs = 1;
	i->hnext = *bucket(i->fs, i->ino);
	*bucket(i->fs, i->ino) = i;
	atomic_fetch_or_explicit(fs_istate(c, i->ino), 1, memory_order_relaxed);
	/* More than 2 per chain on this stripe's chains (a stripe guards
	 * one in FS_ICACHE_STRIPES of them). */
	return ++c->icl[i->ino % FS_ICACHE_STRIPES].nr >
	       2 * ((c->icache_mask + 1ull) / FS_ICACHE_STRIPES);
}

/* Grow the table x4 (FS_CHAINS_GROW), every stripe's lock held: a finder
 * holds one, so none reads the table meanwhile.  Sized for the fullest
 * stripe, the one whose chains asked for it (so the call is never in
 * vain while that stripe stays that full). */
static void icache_grow(struct fs_core *c)
{
	uint64_t most = 0;

	for (unsigned k = 0; k < FS_ICACHE_STRIPES; k++) {
		pthread_mutex_lock(&c->icl[k].m);
		most = c->icl[k].nr > most ? c->icl[k].nr : most;
	}
	FS_CHAINS_GROW(c->icache, c->icache_mask, most * FS_ICACHE_STRIPES,
		       struct fs_inode, fs_icache_chain);
	for (unsigned k = FS_ICACHE_STRIPES; k-- > 0;)
		pthread_mutex_unlock(&c->icl[k].m);
}

/* Load inode @ino from its verified, in-use record @di into the cache
 * (or take the copy another thread put there meanwhile). */
static int iget_load(struct udax_fs *fs, uint32_t ino,
		     const struct fs_dinode *di, struct fs_inode **out)
{
	struct fs_core *c = C(fs);
	struct fs_inode *i, *n;
	int ret;

	n = fs_inode_new(fs, ino, di->mode);
	if (!n)
		return -ENOMEM;
	ret = fs_inode_load(fs, n, di, false);
	if (!ret && S_ISLNK(di->mode))
		ret = fs_symlink_load(n, di);
	if (ret) {
		fs_inode_dispose(n);
		return ret;
	}
	bool grow = false;

	pthread_mutex_lock(fs_icache_lock(c, ino));
	i = fs_icache_find(c, ino);
	if (i) {
		i->refs++;
	} else {
		i = n;
		n = NULL;
		grow = icache_link(c, i);
	}
	pthread_mutex_unlock(fs_icache_lock(c, ino));
	if (grow)
		icache_grow(c);
	fs_inode_dispose(n);
	*out = i;
	return 0;
}

int fs_iget_shared(struct udax_fs *fs, uint32_t ino, struct fs_inode **out)
{
	struct fs_core *c = C(fs);
	pthread_mutex_t *lk;
	struct fs_dinode di;
	int ret = -ECHILD;

	if (ino >= c->sb.nr_inodes)
		return -ECHILD;
	if ((*out = fs_icache_get(fs, ino)))
		return 0;
	lk = iload_lock(c, ino);
	pthread_mutex_lock(lk);
	if ((*out = fs_icache_get(fs, ino)))
		ret = 0;
	else if (!fs_inode_read(fs, ino, &di) && di.mode &&
		 !iget_load(fs, ino, &di, out))
		ret = 0;
	pthread_mutex_unlock(lk);
	return ret;
}

/* Find or load inode @ino (callers reach inodes through ns_lock, or hold
 * a reference already).  A load holds the inode's load lock, as
 * fs_iget_shared's does: a stat reading the record under it sees no load
 * begin meanwhile (fs_inode_stat). */
int fs_iget(struct udax_fs *fs, uint32_t ino, struct fs_inode **out)
{
	struct fs_dinode di;
	pthread_mutex_t *lk;
	int ret;

	if ((*out = fs_icache_get(fs, ino)))
		return 0;
	lk = iload_lock(C(fs), ino);
	pthread_mutex_lock(lk);
	if ((*out = fs_icache_get(fs, ino))) {
		ret = 0;
	} else if (!(ret = fs_inode_read(fs, ino, &di))) {
		if (!di.mode)
			ret = fs_error(-EUCLEAN, "inode %u is referenced but free", ino);
		else
			ret = iget_load(fs, ino, &di, out);
	}
	pthread_mutex_unlock(lk);
	return ret;
}

/*
 * fs_iget() of an inode named by number from outside (a file handle):
 * -ESTALE unless it is in use with generation @gen (@any_gen: any).
 * ns_lock held, so no unlink or create commits meanwhile.  An inode with
 * no link is reached only through the cache (an orphan still held or
 * open), never read back from media: its last iput may be freeing it
 * there right now, outside ns_lock.
 */
int fs_iget_handle(struct udax_fs *fs, uint64_t ino, uint32_t gen,
		   bool any_gen, struct fs_inode **out)
{
	struct fs_core *c = C(fs);
	struct fs_dinode di;
	struct fs_inode *i;
	int ret;

	if (ino == 0 || ino >= c->sb.nr_inodes)
		return -ESTALE;
	pthread_mutex_lock(fs_icache_lock(c, (uint32_t)ino));
	i = fs_icache_find(c, (uint32_t)ino);
	if (i && (any_gen || i->gen == gen) && i->mode) {
		i->refs++;
		pthread_mutex_unlock(fs_icache_lock(c, (uint32_t)ino));
		*out = i;
		return 0;
	}
	pthread_mutex_unlock(fs_icache_lock(c, (uint32_t)ino));
	if (i)
		return -ESTALE;
	ret = fs_inode_read(fs, (uint32_t)ino, &di);
	if (ret)
		return ret;
	if (!di.mode || !di.nlink || (!any_gen && di.generation != gen))
		return -ESTALE;
	return iget_load(fs, (uint32_t)ino, &di, out);
}

/* Insert a just-created inode (its directory held, its number's load lock
 * too: nobody can look it up or load it yet). */
void fs_icache_insert(struct fs_inode *i)
{
	struct fs_core *c = C(i->fs);

	bool grow;

	pthread_mutex_lock(fs_icache_lock(c, i->ino));
	grow = icache_link(c, i);
	pthread_mutex_unlock(fs_icache_lock(c, i->ino));
	if (grow)
		icache_grow(c);
}

/*
 * Also the checkpoint of the fast log: the record (size, times, log_seq)
 * and the last leaf of a file with appends only in the log go home in one
 * transaction (fs_txn_inode journals the last leaf while log_pending).
 * An unlinked file is not checkpointed: it is freed at its last close or
 * as an orphan at the next mount, whatever its records say.
 */
int fs_inode_sync_times(struct fs_inode *ino)
{
	struct fs_txn t;
	int ret;

	if ((!ino->times_dirty && !ino->log_pending) || !ino->nlink)
		return 0;
	fs_txn_init(&t, ino->fs);
	ret = fs_txn_inode(&t, ino, NULL);
	if (!ret)
		ret = fs_txn_commit(&t);
	fs_txn_free(&t);
	if (!ret)
		ino->times_dirty = ino->log_pending = false;
	return ret;
}

/* Free inode @ino and all its blocks (nlink 0, nobody holds it).  On
 * failure it stays an orphan on media, reclaimed at the next mount; its
 * blocks and number stay allocated until then. */
static int inode_free(struct fs_inode *ino)
{
	struct udax_fs *fs = ino->fs;
	struct fs_break br;
	struct fs_txn t;
	int ret;

	if (C(fs)->rdonly)
		return 0;	/* stays an orphan until a read-write mount */
	pthread_rwlock_wrlock(&ino->lock);
	ret = fs_layout_break_all(fs, ino, NULL, &br);
	if (ret) {
		pthread_rwlock_unlock(&ino->lock);
		fs_error(ret, "inode %u: freeing deferred to the next mount",
			 ino->ino);
		/* Pinned pages (the break mode said not to wait): deferring
		 * is the design, not a failure of the caller's close. */
		return ret == -EBUSY || ret == -ETIMEDOUT ? 0 : ret;
	}
	fs_txn_init(&t, fs);
	ret = fs_txn_inode_free(&t, ino);
	if (!ret)
		ret = fs_txn_commit(&t);
	fs_txn_free(&t);
	fs_inode_free_finish(ino, &br, ret == 0);
	pthread_rwlock_unlock(&ino->lock);
	return ret;
}

void fs_inode_free_finish(struct fs_inode *ino, struct fs_break *br,
			  bool committed)
{
	struct udax_fs *fs = ino->fs;

	if (committed) {
		for (uint32_t l = 0; l < ino->nleaf; l++) {
			const struct fs_xleaf *x = ino->leaf[l];

			for (uint32_t k = 0; k < x->n; k++)
				fs_break_free(br, x->e[k].pblk, x->e[k].len);
			if (x->pblk)
				fs_block_free(fs, x->pblk, 1);
		}
		fs_xmap_clear(ino);
		if (ino->xattr)
			fs_block_free(fs, ino->xattr, 1);	/* never pinned */
		ino->xattr = 0;
		ino->size = 0;
		ino->mode = 0;
	}
	fs_break_end(br);
	if (committed) {
		fs_log_forget(fs, ino->log_seq);
		/*
		 * Still cached (an unlink's victim, held until the caller's
		 * put): the number must not be handed out before the inode
		 * leaves the cache, or a new inode of that number would be
		 * cached beside it and the old one's eviction would clear the
		 * cached bit of the new one's state word (a stat would then
		 * read its record, missing appends only the fast log holds).
		 */
		if (atomic_load(&ino->refs))
			ino->ino_free_at_put = true;
		else
			fs_ino_free(fs, ino->ino);
	}
}

/* What eviction must commit first (fs_inode_sync_times does it). */
static bool inode_dirty(const struct fs_inode *ino)
{
	return (ino->times_dirty || ino->log_pending) && ino->nlink;
}

int fs_iput(struct fs_inode *ino)
{
	struct udax_fs *fs;
	struct fs_core *c;
	bool last, tried = false;
	unsigned r;
	int ret = 0;

	if (!ino)
		return 0;
	fs = ino->fs;
	c = C(fs);
	/* Not the last: no lock (two threads closing files, or listing a
	 * directory, share no line but the inode's). */
	r = atomic_load(&ino->refs);
	while (r > 1)
		if (atomic_compare_exchange_weak(&ino->refs, &r, r - 1))
			return 0;
	/*
	 * The last reference commits what only memory (lazy mtime of
	 * in-place writes) or the fast log (appends) holds, then leaves the
	 * cache.  Whether it is the last is decided on the very count the
	 * decrement replaces (a compare-and-swap), under icache_lock: two
	 * holders putting at once both saw two references when it was
	 * decided beforehand, and the inode then left the cache unsynced --
	 * its next load read a record without the log's appends (a stat, or
	 * a reopen, saw the file shrink).  Holding the only reference, the
	 * dirty flags are stable: nobody else can reach the inode but
	 * through the cache, under this lock.
	 */
	for (;;) {
		pthread_mutex_lock(fs_icache_lock(c, ino->ino));
		r = atomic_load(&ino->refs);
		if (r == 1 && !c->rdonly && !tried && inode_dirty(ino)) {
			pthread_mutex_unlock(fs_icache_lock(c, ino->ino));
			pthread_rwlock_wrlock(&ino->lock);
			ret = fs_inode_sync_times(ino);
			if (ret && ino->log_pending && ino->nlink)
				/* Memory is about to forget appends that
				 * only the log holds: the log must not be
				 * retired before the next mount replays
				 * it. */
				ret = fs_shutdown(fs, ret, "log checkpoint at eviction");
			pthread_rwlock_unlock(&ino->lock);
			tried = ret != 0;	/* failed: evicted anyway, once */
			continue;
		}
		if (atomic_compare_exchange_strong(&ino->refs, &r, r - 1))
			break;
		pthread_mutex_unlock(fs_icache_lock(c, ino->ino));	/* taken meanwhile */
	}
	last = r == 1;
	if (last) {
		struct fs_inode **p = bucket(fs, ino->ino);

		while (*p != ino)
			p = &(*p)->hnext;
		*p = ino->hnext;
		c->icl[ino->ino % FS_ICACHE_STRIPES].nr--;
		/* After the commit above: a stat that sees the bit clear
		 * reads a record that holds everything (release: the
		 * commit's stores happen before its read).  Cleared by
		 * adding 1, so that the state is never again what a stat
		 * looked at before the load (fs_inode_stat). */
		atomic_fetch_add_explicit(fs_istate(c, ino->ino), 1, memory_order_release);
	}
	pthread_mutex_unlock(fs_icache_lock(c, ino->ino));
	if (!last)
		return 0;
	if (ino->ino_free_at_put)
		fs_ino_free(fs, ino->ino);
	if (!ino->nlink && ino->mode) {
		int err = inode_free(ino);

		if (err)
			ret = err;
	}
	fs_inode_dispose(ino);
	return ret;
}

/* The caller holds a reference (or a directory index's reference keeps
 * @ino, with ns_lock held): the count cannot reach 0 meanwhile, so no
 * lock. */
void fs_inode_hold(struct fs_inode *ino)
{
	atomic_fetch_add(&ino->refs, 1);
}

void fs_inode_release(struct udax_fs *fs, struct fs_inode *ino)
{
	(void)fs;
	fs_iput(ino);
}
