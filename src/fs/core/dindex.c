/* SPDX-License-Identifier: MIT */
/*
 * fs core: the in-memory index of a directory.
 *
 * Directory blocks on media are linear (ext2-style records, docs/fs.md):
 * finding a name, or room for one, by scanning them costs O(entries).  The
 * first access to a directory validates every one of its blocks once
 * (checksum, owner, tiling, names, no duplicate) and builds:
 *
 *  - a hash table name -> (block, offset): open addressing, linear probing,
 *    backward-shift deletion; the hash is seeded per mount, so names cannot
 *    be chosen offline to collide.  A slot also holds the entry's inode
 *    number as a hint: a lookup in a large directory starts loading the
 *    inode record while it compares the name, so the two cache misses
 *    overlap instead of following each other (a stale hint costs only a
 *    useless prefetch);
 *  - per block its address (directories never shrink and their blocks
 *    never move, so a lookup needs no extent-map search) and its largest
 *    gap (the room a record leaves past its own name), blocks listed by
 *    gap / 4, so an insert finds a block with room by looking at a bounded
 *    number of list heads.
 *
 * Lookup, insert and remove are then O(1) expected.  Later accesses read
 * the validated blocks straight from media: they change only through this
 * file system's transactions, under ns_lock, after which dir.c reports the
 * change here (fs_dix_add/del/block_changed); the table and block arrays
 * are reserved before the commit, so keeping the index in step cannot fail.
 *
 * Indexes live in a per-mount table keyed by inode number and generation
 * (it grows with what it holds),
 * and each holds a reference to its directory's inode: a path walk through
 * an indexed directory finds it cached instead of reloading its record and
 * extent map (O(extents) for a fragmented directory) at every call.  A
 * directory's index, and that reference, go with its last link, at
 * unmount, or when the mount's indexes take more memory than its budget
 * (udax_mount_opts.dir_cache): at the end of an operation
 * (fs_ns_unlock), least recently used first, never one the operation
 * used or one in use (dix_evict).  No index is held between operations,
 * so that is safe, and a
 * reservation (fs_dix_reserve) is used within the operation that made
 * it.  An index evicted is built again at the next access, O(entries).
 * Locks: the table of indexes, the list and the totals under dix_lock;
 * the directory's pointer to its index (fs_inode.dix) set and cleared
 * under dix_lock too, but cleared only with the directory's lock held as
 * well, so a holder of that lock finds its index with no other lock; an
 * index's contents under its directory's lock
 * (ino->lock: read to look up, write to change), which a namespace writer
 * holds on every directory whose index it uses, so eviction skips an
 * index whose directory's lock it cannot take.  What a shared lookup
 * calls (ns_lock shared, no writer of any kind at work: nslock.c) takes
 * none of them: fs_dix_shared, fs_dix_dir, fs_dix_find, fs_dix_hint,
 * fs_dix_prefetch and fs_dix_hash change nothing but the atomic marks and
 * hint.  A stat beside directory writers (nslock.c) reads indexes that
 * their writers change meanwhile: through fs_dix_shared,
 * fs_dix_find_beside and fs_dix_unchanged, which read what is published
 * in an order that keeps them in bounds; what such a writer unpublishes
 * is retired (below), not freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "fs/core.h"

#define DIX_CLASSES	(FS_DIRENT_LEN(UDAX_NAME_MAX) / 4 + 1)	/* 67 */
#define DIX_NONE	UINT32_MAX

struct dix_slot {
	uint32_t hash;
	uint32_t ino;			/* a hint for prefetching only */
	uint32_t blk;
	uint16_t off;			/* 0: empty (records start at 16) */
	uint16_t pad;
};

struct dix_blk {
	const uint8_t *addr;		/* the block on media */
	uint32_t next, prev;		/* in the list of its class */
	uint8_t cls;			/* largest gap / 4, capped */
};

struct fs_dix {
	struct fs_dix *hnext;
	struct fs_dix *next_gone;	/* dix_evict's list */
	struct cds_list_head lru;	/* in c->dix_lru, most recent first */
	_Atomic bool used;		/* used since it moved in the list */
	size_t bytes;			/* charged to c->dix_bytes */
	struct fs_inode *dir;		/* a reference of the index's own */
	uint32_t ino, gen;
	uint32_t nr, mask;		/* entries; slots - 1 */
	struct dix_slot *slot;
	uint32_t nblk, bcap;
	struct dix_blk *blk;
	uint32_t head[DIX_CLASSES];
};

/* The table of indexes grows as the inode cache does (FS_CHAINS_GROW):
 * finding a directory's index stays O(1) however many are cached. */
static struct fs_dix **dix_bucket(struct udax_fs *fs, uint32_t ino)
{
	return &C(fs)->dix[ino & C(fs)->dix_mask];
}

/*
 * Freeing what a lookup beside directory writers may be reading (nslock.c:
 * it takes no lock and reads a directory's index while that directory's
 * writer changes it, checking the directory's sequence after).  Such a
 * writer unpublishes first (the index out of the table; a grown table's
 * successor in its place), then retires what it unpublished here; it is
 * freed once every such lookup that could have reached it is over:
 *  - under ns_lock exclusive, at its release (fs_ns_unlock): those lookups
 *    are kept out then, so none is left;
 *  - otherwise when the retired memory passes RETIRE_BYTES or
 *    RETIRE_ITEMS, after a grace period (fs_ns_grace), by whichever
 *    namespace operation ends then;
 *  - at unmount.
 * A node that cannot be allocated: the grace period now, then the free.
 */
#define RETIRE_BYTES	(8u << 20)
#define RETIRE_ITEMS	64

struct dix_retired {
	struct dix_retired *next;
	void *mem;			/* free() it, or */
	struct fs_dix *x;		/* dix_free() it */
	size_t bytes;
};

static void dix_free(struct fs_dix *x);

static void retired_free(struct dix_retired *r)
{
	while (r) {
		struct dix_retired *n = r->next;

		free(r->mem);
		dix_free(r->x);
		free(r);
		r = n;
	}
}

static void retire(struct fs_core *c, void *mem, struct fs_dix *x, size_t bytes)
{
	struct dix_retired *r = malloc(sizeof(*r));

	if (!r) {
		fs_ns_grace(c);
		free(mem);
		dix_free(x);
		return;
	}
	*r = (struct dix_retired){ .mem = mem, .x = x, .bytes = bytes };
	pthread_mutex_lock(&c->dix_retire_lock);
	r->next = c->dix_retired;
	c->dix_retired = r;
	atomic_store_explicit(&c->dix_retired_n, c->dix_retired_n + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&c->dix_retired_bytes,
			      c->dix_retired_bytes + bytes + sizeof(*r),
			      memory_order_relaxed);
	pthread_mutex_unlock(&c->dix_retire_lock);
}

/* Not yet worth a grace period (@grace), or nothing retired. */
static bool retired_keep(struct fs_core *c, bool grace)
{
	uint64_t n = atomic_load_explicit(&c->dix_retired_n, memory_order_relaxed);

	return !n || (grace && n <= RETIRE_ITEMS &&
		      atomic_load_explicit(&c->dix_retired_bytes,
					   memory_order_relaxed) <= RETIRE_BYTES);
}

/* Free what was retired: @grace, after a grace period (no lookup beside
 * writers could reach it any more), else the caller keeps them out;
 * @all: whatever its size.  The counts are looked at first without the
 * lock: most operations end with nothing to free, and must not all take
 * one lock to find that out. */
static void retired_flush(struct fs_core *c, bool grace, bool all)
{
	struct dix_retired *r = NULL;

	if (retired_keep(c, grace && !all))
		return;
	pthread_mutex_lock(&c->dix_retire_lock);
	if (!retired_keep(c, grace && !all)) {
		r = c->dix_retired;
		c->dix_retired = NULL;
		atomic_store_explicit(&c->dix_retired_n, 0, memory_order_relaxed);
		atomic_store_explicit(&c->dix_retired_bytes, 0, memory_order_relaxed);
	}
	pthread_mutex_unlock(&c->dix_retire_lock);
	if (!r)
		return;
	if (grace)
		fs_ns_grace(c);
	retired_free(r);
}

/*
 * The table of indexes, grown x4 (dix_lock held) as FS_CHAINS_GROW does,
 * but the old table retired, and the new one published before its mask:
 * a lookup that reads the new mask finds the new table (release, acquire),
 * and an old mask is in bounds of either.  Moving an index to its new
 * chain may send a lookup walking the old one astray: it then misses
 * (and takes another path), and it walks at most DIX_WALK_MAX links.
 */
static void dix_added(struct fs_core *c)
{
	uint64_t n = (uint64_t)c->dix_mask + 1, nn = n * 4;
	struct fs_dix **t, **old = c->dix;

	c->nr_dix++;
	if (c->nr_dix <= 2 * n || nn > (1ull << 30) || !(t = fs_chains_alloc(nn)))
		return;
	for (uint64_t b = 0; b < n; b++)
		for (struct fs_dix *e = old[b], *next; e; e = next) {
			next = e->hnext;
			__atomic_store_n(&e->hnext, t[fs_chain_of(e->ino, nn)],
					 __ATOMIC_RELAXED);
			t[fs_chain_of(e->ino, nn)] = e;
		}
	__atomic_store_n(&c->dix, t, __ATOMIC_RELEASE);
	__atomic_store_n(&c->dix_mask, (uint32_t)(nn - 1), __ATOMIC_RELEASE);
	retire(c, old, NULL, n * sizeof(*old));
}

/* What @x holds in memory. */
static size_t dix_size(const struct fs_dix *x)
{
	return sizeof(*x) + (x->slot ? (x->mask + 1ull) * sizeof(*x->slot) : 0) +
	       (size_t)x->bcap * sizeof(*x->blk);
}

/* ... charged to the mount's total (dix_lock). */
static void dix_charge(struct fs_core *c, struct fs_dix *x)
{
	size_t b = dix_size(x);

	atomic_store_explicit(&c->dix_bytes, c->dix_bytes + b - x->bytes,
			      memory_order_relaxed);
	x->bytes = b;
}

/*
 * The indexes the calling thread's operation used, which its own end
 * does not evict (dix_evict): a directory larger than the budget is not
 * built again at every operation in it.  A thread's own list, so that
 * nothing shared is written per operation; the last DIX_OP_MAX of them
 * (a walk uses one per directory on the path), emptied at the end.
 * Only compared, never followed: one freed meanwhile is harmless.
 */
#define DIX_OP_MAX	8

static __thread struct {
	const struct fs_dix *x[DIX_OP_MAX];
	unsigned n;
} op_used;

/* The calling thread's operation dropped an index (fs_dix_drop). */
static __thread bool op_dropped;

static bool op_uses(const struct fs_dix *x)
{
	unsigned n = op_used.n < DIX_OP_MAX ? op_used.n : DIX_OP_MAX;

	for (unsigned k = 0; k < n; k++)
		if (op_used.x[k] == x)
			return true;
	return false;
}

static void op_use(const struct fs_dix *x)
{
	if (!op_uses(x))
		op_used.x[op_used.n++ % DIX_OP_MAX] = x;
}

/* @x used since it last moved in the list: a second chance at the next
 * eviction pass.  Written only when it changes: a directory every
 * operation passes through (the root) is then read, not written, by all
 * of them. */
static void mark(struct fs_dix *x)
{
	if (!atomic_load_explicit(&x->used, memory_order_relaxed))
		atomic_store_explicit(&x->used, true, memory_order_relaxed);
}

/* @x used by the operation in progress: most recent, not evicted by it. */
static void lru_use(struct fs_core *c, struct fs_dix *x)
{
	op_use(x);
	atomic_store_explicit(&x->used, false, memory_order_relaxed);
	if (c->dix_lru.next != &x->lru)
		cds_list_move(&x->lru, &c->dix_lru);
}

/* The same without dix_lock, as a lookup that finds the index does: it
 * cannot move @x in the list, so it marks it. */
static void mark_used(struct fs_dix *x)
{
	op_use(x);
	mark(x);
}

void (*fs_dix_forget_hook)(struct fs_inode *dir);

/* Out of the table, the list and the total (then dix_free).  @x's
 * directory's lock held, or ns_lock exclusive: a holder of that lock may
 * be using @x, found through dir->dix with no other lock (fs_dix_get). */
static void dix_forget(struct fs_core *c, struct fs_dix **p, struct fs_dix *x)
{
	if (fs_dix_forget_hook && x->dir)
		fs_dix_forget_hook(x->dir);
	/* Here, under dix_lock, where a new index of the directory sets it
	 * (the reference itself goes at dix_free, maybe outside the lock). */
	if (x->dir && x->dir->dix == x)
		__atomic_store_n(&x->dir->dix, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(p, x->hnext, __ATOMIC_RELEASE);
	c->nr_dix--;
	cds_list_del(&x->lru);
	atomic_store_explicit(&c->dix_bytes, c->dix_bytes - x->bytes,
			      memory_order_relaxed);
	x->bytes = 0;
}

void fs_dix_seed(struct udax_fs *fs)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
		    (uint64_t)(uintptr_t)fs;
	}
	C(fs)->dix_seed = s;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

uint32_t fs_dix_hash(struct udax_fs *fs, const char *name, size_t len)
{
	uint64_t h = C(fs)->dix_seed ^ (len * 0x9e3779b97f4a7c15ull), w;

	for (; len >= 8; name += 8, len -= 8) {
		memcpy(&w, name, 8);
		h = mix(h ^ w);
	}
	w = 0;
	memcpy(&w, name, len);
	h = mix(h ^ w ^ 0x5bd1e995ull);
	return (uint32_t)(h ^ (h >> 32));
}

static bool name_at(const struct fs_dix *x, uint32_t blk, uint32_t off,
		    const char *name, size_t len)
{
	const uint8_t *b = blk < x->nblk ? x->blk[blk].addr : NULL;
	const struct fs_ddirent *e;

	if (!b || off + 8 + len > FS_BS)
		return false;
	e = (const void *)(b + off);
	return e->ino && e->name_len == len && !memcmp(e->name, name, len);
}

/*
 * Start loading inode @ino's record (256 bytes: 4 lines).  Always
 * inlined: as a function of its own it has no effect GCC can see (a
 * prefetch is not a side effect to it), so GCC marks it const and drops
 * the calls (gcc 12 -O2 emitted no prefetch at all).
 */
static inline __attribute__((always_inline)) void prefetch_inode(struct udax_fs *fs, uint32_t ino)
{
	const char *r;

	if (!ino || ino >= C(fs)->sb.nr_inodes)
		return;
	r = fs->base + fs_inode_off(fs, ino);
	for (unsigned k = 0; k < sizeof(struct fs_dinode); k += 64)
		__builtin_prefetch(r + k);
}

/*
 * The large index a stat searched last, per mount: where the next stat of
 * a name in the same directory (ls -l, find) will search.  A stat hashes
 * its last name before it walks the path and starts loading that name's
 * slot here, so that in a large directory, whose table is past the cache,
 * the miss overlaps the walk instead of following it.  Only tables of
 * DIX_HINT_MIN bytes or more are remembered: a smaller one stays in the
 * cache, and stats in small directories then never write the hint (two
 * threads in two directories would pass its line back and forth).  Plain
 * addresses, read without ns_lock and never dereferenced: a table grown or
 * freed since, or the two words read from different tables, cost a
 * useless prefetch (which does not fault), nothing else.
 */
#define DIX_HINT_MIN	(1u << 20)

void fs_dix_hint(struct udax_fs *fs, const struct fs_dix *x)
{
	struct fs_core *c = C(fs);
	/* Beside the directory's writer, a table being replaced: the
	 * two words may be of different tables (a useless prefetch). */
	uint32_t m = __atomic_load_n(&x->mask, __ATOMIC_RELAXED);
	uintptr_t t = (uintptr_t)__atomic_load_n(&x->slot, __ATOMIC_RELAXED);

	if ((m + 1ull) * sizeof(struct dix_slot) < DIX_HINT_MIN ||
	    atomic_load_explicit(&c->dix_hint.slot, memory_order_relaxed) == t)
		return;
	atomic_store_explicit(&c->dix_hint.slot, t, memory_order_relaxed);
	atomic_store_explicit(&c->dix_hint.mask, m, memory_order_relaxed);
}

void fs_dix_prefetch(struct udax_fs *fs, uint32_t hash)
{
	struct fs_core *c = C(fs);
	uintptr_t t = atomic_load_explicit(&c->dix_hint.slot, memory_order_relaxed);
	uint32_t m = atomic_load_explicit(&c->dix_hint.mask, memory_order_relaxed);

	if (t)
		__builtin_prefetch((const void *)(t + (uintptr_t)(hash & m) *
						  sizeof(struct dix_slot)));
}

int fs_dix_find(struct fs_dix *x, struct fs_inode *dir, uint32_t hash,
		const char *name, size_t len, uint32_t *blk, uint32_t *off)
{
	for (uint32_t i = hash & x->mask; x->slot[i].off; i = (i + 1) & x->mask) {
		struct dix_slot *s = &x->slot[i];

		if (s->hash != hash)
			continue;
		prefetch_inode(dir->fs, s->ino);
		if (name_at(x, s->blk, s->off, name, len)) {
			*blk = s->blk;
			*off = s->off;
			return 1;
		}
	}
	return 0;
}

/*
 * fs_dix_find beside this directory's writer (ns_lock beside: nslock.c),
 * which may be changing the table, the block array and the blocks
 * meanwhile: every word read once, nothing trusted that could send a read
 * out of bounds -- the mask before the table and the block count before
 * the array (their writers publish in the other order), slots and blocks
 * bounds-checked, at most a table's length probed -- and the record's
 * number and type copied.  What it answers holds only if the directory's
 * sequence did not change meanwhile (the caller checks); nothing it
 * reads is freed before a grace period (retire).
 */
/* memcmp() == 0 without libc's memcmp, which ThreadSanitizer intercepts
 * (and would report the race the sequence check settles). */
__attribute__((no_sanitize_thread))
static bool bytes_equal(const char *a, const char *b, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (a[k] != b[k])
			return false;
	return true;
}

__attribute__((no_sanitize_thread))
bool fs_dix_find_beside(struct fs_dix *x, struct udax_fs *fs, uint32_t hash,
			const char *name, size_t len, uint32_t *ino, uint8_t *type)
{
	uint32_t m = __atomic_load_n(&x->mask, __ATOMIC_ACQUIRE);
	const struct dix_slot *t = __atomic_load_n(&x->slot, __ATOMIC_ACQUIRE);
	uint32_t nb = __atomic_load_n(&x->nblk, __ATOMIC_ACQUIRE);
	const struct dix_blk *b = __atomic_load_n(&x->blk, __ATOMIC_ACQUIRE);

	if (!t || len > UDAX_NAME_MAX)
		return false;
	for (uint32_t i = hash & m, n = 0; n <= m; i = (i + 1) & m, n++) {
		struct dix_slot s = t[i];
		const struct fs_ddirent *e;
		const uint8_t *a;

		if (!s.off)
			return false;
		if (s.hash != hash || s.blk >= nb)
			continue;
		prefetch_inode(fs, s.ino);
		a = b[s.blk].addr;
		if (!a || s.off < sizeof(struct fs_ddirhdr) || s.off % 4 ||
		    s.off + 8 + len > FS_BS)
			continue;
		e = (const void *)(a + s.off);
		if (e->name_len == len && bytes_equal(e->name, name, len)) {
			*ino = e->ino;
			*type = e->type;
			return *ino != 0;
		}
	}
	return false;
}

void (*fs_dix_next_hook)(struct fs_dix *x);

/*
 * The next record at or after block *@k, offset *@off of the directory @x
 * indexes, beside its writer (as fs_dix_find_beside): 1 and a copy of it
 * (*@k, *@off where it is, *@end where it ends), 0 at the end, -1 when
 * what was read cannot be (a change under way: the caller looks again
 * another way).  Holds only if the directory's sequence did.
 */
__attribute__((no_sanitize_thread))
int fs_dix_next_beside(struct fs_dix *x, uint64_t *k, uint32_t *off,
		       struct udax_dirent *out, uint32_t *end)
{
	uint32_t nb = __atomic_load_n(&x->nblk, __ATOMIC_ACQUIRE);
	const struct dix_blk *b = __atomic_load_n(&x->blk, __ATOMIC_ACQUIRE);

	for (; *k < nb; (*k)++, *off = sizeof(struct fs_ddirhdr)) {
		const uint8_t *a = b[*k].addr;

		if (!a)
			return -1;
		for (uint32_t o = sizeof(struct fs_ddirhdr); o + 8 <= FS_BS;) {
			const struct fs_ddirent *e = (const void *)(a + o);
			uint32_t rl = e->rec_len, ino = e->ino, nl = e->name_len;

			/* Records are 4-byte aligned (a torn read may not be:
			 * not dereferenced misaligned). */
			if (rl < 8 || rl > FS_BS - o || rl % 4)
				return -1;
			if (o >= *off && ino) {
				if (8 + nl > rl)
					return -1;
				if (__builtin_expect(fs_dix_next_hook != NULL, 0))
					fs_dix_next_hook(x);
				for (uint32_t c = 0; c < nl; c++)
					out->name[c] = e->name[c];
				out->name[nl] = 0;
				out->ino = ino;
				out->type = e->type;
				*off = o;
				*end = o + rl;
				return 1;
			}
			o += rl;
		}
	}
	return 0;
}

/* The seqlock reader's second look, after its reads (a fence: outside
 * ThreadSanitizer's view, which does not model fences). */
__attribute__((no_sanitize_thread))
bool fs_dix_unchanged(const struct fs_dix *x, uint32_t seq)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&x->dir->dseq, memory_order_relaxed) == seq;
}

const struct fs_ddirent *fs_dix_entry(const struct fs_dix *x, uint32_t blk,
				      uint32_t off)
{
	return (const void *)(x->blk[blk].addr + off);
}

static void slot_put(struct dix_slot *t, uint32_t mask, uint32_t hash,
		     uint32_t ino, uint32_t blk, uint32_t off)
{
	uint32_t i = hash & mask;

	while (t[i].off)
		i = (i + 1) & mask;
	t[i] = (struct dix_slot){ hash, ino, blk, (uint16_t)off, 0 };
}

/*
 * A table of @cap slots, zeroed.  A large one (from 2 MiB: about 100,000
 * entries) is 2 MiB-aligned and asks for transparent huge pages: a lookup
 * at random in it then costs one cache miss, not a TLB miss and a page
 * walk as well.  free() takes either.
 */
static struct dix_slot *table_alloc(uint64_t cap)
{
	size_t bytes = cap * sizeof(struct dix_slot), huge = 2u << 20;
	void *t;

	if (bytes < huge)
		return fault_calloc(cap, sizeof(struct dix_slot));
	if (udax_fault_should_fail(UDAX_FAULT_MALLOC) ||
	    posix_memalign(&t, huge, bytes))
		return NULL;
	(void)madvise(t, bytes, MADV_HUGEPAGE);	/* a hint: 4 KiB pages work */
	return memset(t, 0, bytes);
}

/* Room for @entries more entries at a load of at most 3/4. */
static int table_reserve(struct fs_dix *x, uint32_t entries)
{
	uint64_t need = (uint64_t)x->nr + entries, cap = x->mask + 1ull;
	uint64_t oldcap = x->slot ? cap : 0;
	struct dix_slot *t, *old;

	if (x->slot && need * 4 <= cap * 3)
		return 0;
	if (!x->slot)
		cap = 8;
	while (need * 4 > cap * 3)
		cap *= 2;
	if (cap > (1ull << 31))
		return fs_error(-ENOMEM, "directory %u: index too large", x->ino);
	t = table_alloc(cap);
	if (!t)
		return fs_error(-ENOMEM, "directory %u: no memory for its index",
				x->ino);
	for (uint32_t i = 0; x->slot && i <= x->mask; i++)
		if (x->slot[i].off)
			slot_put(t, (uint32_t)cap - 1, x->slot[i].hash,
				 x->slot[i].ino, x->slot[i].blk, x->slot[i].off);
	/* The table before its mask (fs_dix_find_beside reads the mask
	 * first); the old one retired if a lookup may read it. */
	old = x->slot;
	__atomic_store_n(&x->slot, t, __ATOMIC_RELEASE);
	__atomic_store_n(&x->mask, (uint32_t)cap - 1, __ATOMIC_RELEASE);
	if (old && x->dir)
		retire(C(x->dir->fs), old, NULL, oldcap * sizeof(*t));
	else
		free(old);
	return 0;
}

static int blocks_reserve(struct fs_dix *x, uint64_t blocks)
{
	uint64_t need = x->nblk + blocks, cap = x->bcap ? x->bcap : 4;
	struct dix_blk *b, *old;

	if (need <= x->bcap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > UINT32_MAX)
		return fs_error(-ENOSPC, "directory %u cannot grow", x->ino);
	/* A copy, not realloc: a lookup beside this writer may be reading
	 * the old array, which is retired.  Zeroed past the copy: a lookup
	 * reads no address there before the block count covers it, but a
	 * zero is no address if it does. */
	b = fault_calloc(cap, sizeof(*b));
	if (!b)
		return fs_error(-ENOMEM, "directory %u: no memory for its index",
				x->ino);
	old = x->blk;
	if (old)
		memcpy(b, old, (size_t)x->nblk * sizeof(*b));
	__atomic_store_n(&x->blk, b, __ATOMIC_RELEASE);
	x->bcap = (uint32_t)cap;
	if (old && x->dir)
		retire(C(x->dir->fs), old, NULL, (size_t)x->nblk * sizeof(*b));
	else
		free(old);
	return 0;
}

int fs_dix_reserve(struct fs_dix *x, uint32_t entries, uint32_t blocks)
{
	int ret = table_reserve(x, entries);

	if (!ret)
		ret = blocks_reserve(x, blocks);
	/* In the table (not being built), and grown: x->bytes changes only
	 * here and in dix_forget, each under @x's directory's lock. */
	if (x->dir && dix_size(x) != x->bytes) {
		struct fs_core *c = C(x->dir->fs);

		pthread_mutex_lock(&c->dix_lock);
		dix_charge(c, x);
		pthread_mutex_unlock(&c->dix_lock);
	}
	return ret;
}

void fs_dix_add(struct fs_dix *x, uint32_t hash, uint32_t blk, uint32_t off)
{
	const uint8_t *b = fs_dir_block_addr(x->dir, blk);
	uint32_t ino = b ? ((const struct fs_ddirent *)(b + off))->ino : 0;

	slot_put(x->slot, x->mask, hash, ino, blk, off);
	x->nr++;
}

void fs_dix_del(struct fs_dix *x, uint32_t hash, uint32_t blk, uint32_t off)
{
	uint32_t i = hash & x->mask, j;

	while (x->slot[i].off && (x->slot[i].blk != blk || x->slot[i].off != off))
		i = (i + 1) & x->mask;
	if (!x->slot[i].off)
		return;		/* not indexed: nothing to undo */
	/* Backward shift: pull later members of the probe run into the hole
	 * unless their home lies cyclically in (hole, j]. */
	for (j = (i + 1) & x->mask; x->slot[j].off; j = (j + 1) & x->mask) {
		uint32_t home = x->slot[j].hash & x->mask;
		bool stays = i <= j ? (home > i && home <= j) :
				      (home > i || home <= j);

		if (!stays) {
			x->slot[i] = x->slot[j];
			i = j;
		}
	}
	x->slot[i].off = 0;
	x->nr--;
}

bool fs_dix_empty(const struct fs_dix *x)
{
	return x->nr == 0;
}

static void class_unlink(struct fs_dix *x, uint32_t k)
{
	struct dix_blk *b = &x->blk[k];

	if (b->prev != DIX_NONE)
		x->blk[b->prev].next = b->next;
	else
		x->head[b->cls] = b->next;
	if (b->next != DIX_NONE)
		x->blk[b->next].prev = b->prev;
}

static void class_link(struct fs_dix *x, uint32_t k, uint32_t gap)
{
	struct dix_blk *b = &x->blk[k];

	b->cls = (uint8_t)(gap / 4 < DIX_CLASSES ? gap / 4 : DIX_CLASSES - 1);
	b->prev = DIX_NONE;
	b->next = x->head[b->cls];
	if (b->next != DIX_NONE)
		x->blk[b->next].prev = k;
	x->head[b->cls] = k;
}

/* Largest gap of a validated block (records tile it). */
static uint32_t block_gap(const uint8_t *b)
{
	uint32_t gap = 0;

	for (uint32_t off = sizeof(struct fs_ddirhdr); off + 8 <= FS_BS;) {
		const struct fs_ddirent *e = (const void *)(b + off);
		uint32_t used = e->ino ? FS_DIRENT_LEN(e->name_len) : 0;

		if (e->rec_len < 8 || e->rec_len > FS_BS - off)
			break;		/* cannot happen after validation */
		if (e->rec_len > used && e->rec_len - used > gap)
			gap = e->rec_len - used;
		off += e->rec_len;
	}
	return gap;
}

void fs_dix_block_changed(struct fs_dix *x, struct fs_inode *dir, uint32_t k)
{
	const uint8_t *b = fs_dir_block_addr(dir, k);

	if (k > x->nblk || (k == x->nblk && k == x->bcap))
		return;		/* not reserved: cannot happen */
	if (k < x->nblk)
		class_unlink(x, k);
	x->blk[k].addr = b;
	class_link(x, k, b ? block_gap(b) : 0);
	if (k == x->nblk)	/* after its address: fs_dix_find_beside */
		__atomic_store_n(&x->nblk, k + 1, __ATOMIC_RELEASE);
}

uint32_t fs_dix_room(const struct fs_dix *x, uint32_t need)
{
	for (uint32_t c = need / 4; c < DIX_CLASSES; c++)
		if (x->head[c] != DIX_NONE)
			return x->head[c];
	return DIX_NONE;
}

/* Free @x and give back its reference (fs_iput: last one frees an unlinked
 * directory; its error is left in the message, the caller cannot act on it). */
static void dix_free(struct fs_dix *x)
{
	if (x) {
		if (x->dir)
			(void)fs_iput(x->dir);
		free(x->slot);
		free(x->blk);
		free(x);
	}
}

/* Insert a record found on media, unless its name is indexed already:
 * one probe run for both (1: a duplicate, at *@blk +*@off). */
static int insert_unique(struct fs_dix *x, uint32_t hash,
			 const struct fs_ddirent *e, uint32_t blk, uint32_t off,
			 uint32_t *dblk)
{
	uint32_t i = hash & x->mask;

	for (; x->slot[i].off; i = (i + 1) & x->mask)
		if (x->slot[i].hash == hash &&
		    name_at(x, x->slot[i].blk, x->slot[i].off, e->name,
			    e->name_len)) {
			*dblk = x->slot[i].blk;
			return 1;
		}
	x->slot[i] = (struct dix_slot){ hash, e->ino, blk, (uint16_t)off, 0 };
	x->nr++;
	return 0;
}

/* Validate every block (counting its entries), size the table once, then
 * index the entries: no rehash while building. */
static int dix_build(struct udax_fs *fs, struct fs_inode *dir, struct fs_dix *x)
{
	uint64_t nb = dir->size / FS_BS, n = 0;
	int ret;

	for (uint32_t c = 0; c < DIX_CLASSES; c++)
		x->head[c] = DIX_NONE;
	ret = fs_dix_reserve(x, 0, nb);
	for (uint64_t k = 0; k < nb && !ret; k++) {
		const uint8_t *b;

		ret = fs_dir_block_check(dir, k, &b);
		for (uint32_t off = sizeof(struct fs_ddirhdr); !ret && off < FS_BS;
		     off += ((const struct fs_ddirent *)(b + off))->rec_len)
			n += ((const struct fs_ddirent *)(b + off))->ino != 0;
	}
	if (!ret)
		ret = table_reserve(x, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
	for (uint64_t k = 0; k < nb && !ret; k++) {
		const uint8_t *b = fs_dir_block_addr(dir, k);

		/* First: its address, for the duplicate checks below. */
		fs_dix_block_changed(x, dir, (uint32_t)k);
		for (uint32_t off = sizeof(struct fs_ddirhdr); off < FS_BS;) {
			const struct fs_ddirent *e = (const void *)(b + off);
			uint32_t fb;

			if (e->ino &&
			    insert_unique(x, fs_dix_hash(fs, e->name, e->name_len),
					  e, (uint32_t)k, off, &fb))
				return fs_error(-EUCLEAN, "directory %u: duplicate "
						"name in blocks %u and %llu", dir->ino,
						fb, (unsigned long long)k);
			off += e->rec_len;
		}
	}
	return ret;
}

int fs_dix_get(struct udax_fs *fs, struct fs_inode *dir, struct fs_dix **out)
{
	struct fs_core *c = C(fs);
	struct fs_dix **p, *x, *old = NULL;
	int ret = 0;

	/* Found without dix_lock: the caller holds @dir's lock (or ns_lock
	 * exclusively), and dir->dix is cleared only under that lock
	 * (dix_evict; fs_dix_drop by an rmdir) or exclusively.  Writers of different
	 * directories each look up the root's index and their own at every
	 * create: one mutex for that made two of them, put to sleep on it
	 * and woken on the same CPU, do less than one (bench scale
	 * threads_create 0.7x). */
	x = __atomic_load_n(&dir->dix, __ATOMIC_ACQUIRE);
	if (x) {
		mark_used(x);
		*out = x;
		return 0;
	}
	/* Removed (an rmdir beside, which dropped its index: nlink changes
	 * under the directory's lock too): nothing to look up, and an index
	 * built now would hold the orphan until evicted. */
	if (!dir->nlink)
		return fs_error(-ENOENT, "directory was removed");
	pthread_mutex_lock(&c->dix_lock);
	for (p = dix_bucket(fs, dir->ino); (x = *p); p = &x->hnext)
		if (x->ino == dir->ino) {
			if (x->gen == dir->gen) {
				lru_use(c, x);
				*out = x;
				goto out;
			}
			dix_forget(c, p, x);	/* a reused inode number */
			old = x;
			break;
		}
	/* Built under dix_lock: the caller holds the directory's lock, and
	 * another thread walking through it must find it built once. */
	x = fault_calloc(1, sizeof(*x));
	if (!x) {
		ret = fs_error(-ENOMEM, "directory %u: no memory for its index",
			       dir->ino);
		goto out;
	}
	CDS_INIT_LIST_HEAD(&x->lru);	/* on no list: lru_use links it */
	x->ino = dir->ino;
	x->gen = dir->gen;
	ret = dix_build(fs, dir, x);
	if (ret) {
		pthread_mutex_unlock(&c->dix_lock);
		dix_free(x);		/* never published */
		if (old)
			retire(c, NULL, old, old->bytes);
		return ret;
	}
	fs_inode_hold(dir);
	x->dir = dir;
	__atomic_store_n(&dir->dix, x, __ATOMIC_RELEASE);
	x->hnext = *dix_bucket(fs, dir->ino);
	/* Published whole: a lookup beside writers finds it built. */
	__atomic_store_n(dix_bucket(fs, dir->ino), x, __ATOMIC_RELEASE);
	dix_added(c);
	dix_charge(c, x);
	lru_use(c, x);
	*out = x;
out:
	pthread_mutex_unlock(&c->dix_lock);
	/* Its reference to an inode nobody reaches any more: put outside
	 * the lock (a put may commit), after a grace period. */
	if (old)
		retire(c, NULL, old, old->bytes);
	return ret;
}

struct fs_dix *fs_dix_cached(struct udax_fs *fs, struct fs_inode *dir)
{
	(void)fs;
	return __atomic_load_n(&dir->dix, __ATOMIC_ACQUIRE);
}

void fs_dix_drop(struct udax_fs *fs, uint32_t ino)
{
	struct fs_core *c = C(fs);
	struct fs_dix *x;

	op_dropped = true;
	pthread_mutex_lock(&c->dix_lock);
	for (struct fs_dix **p = dix_bucket(fs, ino); (x = *p); p = &x->hnext)
		if (x->ino == ino) {
			dix_forget(c, p, x);
			break;
		}
	pthread_mutex_unlock(&c->dix_lock);
	if (x)
		retire(c, NULL, x, x->bytes);
}

/*
 * A shared lookup cannot move an index in the list (it changes nothing);
 * it marks it instead.  Eviction gives a marked index a second chance --
 * to the front, unmarked, as if used then -- but at most
 * DIX_SECOND_CHANCES per call: readers marking every index between two
 * writers must not keep the total over the budget, nor make each writer
 * walk the whole list.
 */
#define DIX_SECOND_CHANCES	8

#define DIX_WALK_MAX	64

/* Beside directory writers, one of which may be building, growing the
 * table or forgetting an index meanwhile (dix_added, dix_forget): the mask
 * before the table, links read once each, at most DIX_WALK_MAX of them;
 * nothing reached is freed before a grace period.  A miss is a fallback.
 * Every word that changes is read atomically: ThreadSanitizer sees the
 * publication (release) and this acquire. */
struct fs_dix *fs_dix_shared(struct udax_fs *fs, uint32_t ino)
{
	struct fs_core *c = C(fs);
	uint32_t m = __atomic_load_n(&c->dix_mask, __ATOMIC_ACQUIRE);
	struct fs_dix **t = __atomic_load_n(&c->dix, __ATOMIC_ACQUIRE);
	struct fs_dix *x = __atomic_load_n(&t[fs_chain_of(ino, m + 1ull)],
					   __ATOMIC_ACQUIRE);

	for (unsigned k = 0; x && k < DIX_WALK_MAX; k++) {
		if (x->ino == ino) {
			mark(x);
			return x;
		}
		x = __atomic_load_n(&x->hnext, __ATOMIC_ACQUIRE);
	}
	return NULL;
}

struct fs_inode *fs_dix_dir(const struct fs_dix *x)
{
	return x->dir;
}

/*
 * Free indexes from the least recently used end while over the budget:
 * never one the ending operation used, nor one whose directory's lock
 * someone holds (a writer of another directory, walking through it, may
 * be reading it: only holders of a directory's lock use its index), nor
 * one a chance is given to.  Once a whole turn of the list has freed
 * nothing since the last chance given, only those are left (the chances
 * run out first), and the loop ends.  An index leaves the table with its
 * directory's lock held, so a holder of that lock finds dir->dix valid
 * (fs_dix_get).  The indexes go after dix_lock is released (a put may
 * commit).  Under the budget, as most operations end, no pass and no
 * lock: the total is read without it.
 */
static void dix_evict(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);
	unsigned chances = DIX_SECOND_CHANCES;
	struct fs_dix *x, *gone = NULL;
	uint64_t idle = 0;

	if (atomic_load_explicit(&c->dix_bytes, memory_order_relaxed) <= c->dix_budget) {
		op_used.n = 0;
		return;
	}
	pthread_mutex_lock(&c->dix_lock);
	while (c->dix_bytes > c->dix_budget && !cds_list_empty(&c->dix_lru) &&
	       idle <= c->nr_dix) {
		struct fs_dix **p;
		bool mine, chance;

		x = cds_list_entry(c->dix_lru.prev, struct fs_dix, lru);
		mine = op_uses(x);
		chance = !mine && chances &&
			 atomic_load_explicit(&x->used, memory_order_relaxed);
		if (mine || chance || pthread_rwlock_trywrlock(&x->dir->lock)) {
			atomic_store_explicit(&x->used, false, memory_order_relaxed);
			cds_list_move(&x->lru, &c->dix_lru);
			if (chance) {
				chances--;
				idle = 0;	/* a turn more to come back to it */
			} else {
				idle++;
			}
			continue;
		}
		p = dix_bucket(fs, x->ino);
		while (*p != x)
			p = &(*p)->hnext;
		dix_forget(c, p, x);
		pthread_rwlock_unlock(&x->dir->lock);
		x->next_gone = gone;	/* hnext stays: a lookup may follow it */
		gone = x;
		idle = 0;
	}
	pthread_mutex_unlock(&c->dix_lock);
	op_used.n = 0;
	while ((x = gone)) {
		gone = x->next_gone;
		retire(c, NULL, x, x->bytes);
	}
}

void fs_dix_retired_free(struct udax_fs *fs)
{
	retired_flush(C(fs), false, true);
}

void fs_ns_unlock(struct udax_fs *fs)
{
	dix_evict(fs);
	/* Exclusive: no lookup beside writers is at work, none begins.
	 * An operation that dropped an index (an rmdir beside directory
	 * writers) frees what is retired now, after a grace period: the
	 * index holds the removed directory, whose inode and blocks go
	 * with it, as they would at once in an exclusive rmdir. */
	retired_flush(C(fs), !fs_ns_exclusive(), op_dropped);
	op_dropped = false;
	fs_ns_unlock_exclusive(C(fs));
}

void fs_dix_free_all(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);

	for (uint32_t b = 0; c->dix && b <= c->dix_mask; b++)
		while (c->dix[b]) {
			struct fs_dix *x = c->dix[b];

			c->dix[b] = x->hnext;
			if (x->dir)
				x->dir->dix = NULL;
			dix_free(x);
		}
	c->nr_dix = 0;
	CDS_INIT_LIST_HEAD(&c->dix_lru);
	atomic_store_explicit(&c->dix_bytes, 0, memory_order_relaxed);
	retired_free(c->dix_retired);	/* unmount: nobody is looking */
	c->dix_retired = NULL;
	atomic_store_explicit(&c->dix_retired_n, 0, memory_order_relaxed);
	atomic_store_explicit(&c->dix_retired_bytes, 0, memory_order_relaxed);
}

int fs_dix_init(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);

	pthread_mutex_init(&c->dix_lock, NULL);
	pthread_mutex_init(&c->dix_retire_lock, NULL);
	c->dix = fs_chains_alloc(FS_DIX_BUCKETS);
	c->dix_mask = FS_DIX_BUCKETS - 1;
	CDS_INIT_LIST_HEAD(&c->dix_lru);
	return c->dix ? 0 : -ENOMEM;
}
