/* SPDX-License-Identifier: MIT */
/*
 * A stat runs beside writers of directories (ns_lock beside, nslock.c):
 * it finds its name in the directory's index while that directory's writer
 * may be changing it, and keeps what it read only if the directory's
 * sequence (fs_inode.dseq) did not change from before the name was found
 * until after the inode was read.  What those writers free (indexes, their
 * tables, the table of indexes) waits for a grace period.
 *
 * 1. The stat's hook (between its look at the inode's state and its copy
 *    of the record) lets another thread unlink the name and create a file
 *    that gets the same inode number back, with another size.  The record
 *    the stat copies next is whole and in use -- another file's: the stat
 *    must not return it.  The name being gone, it answers -ENOENT.
 * 2. Under a directory-cache budget of one byte, the walk's hook (after
 *    it found the directory's index, before it looks at the directory's
 *    sequence) lets another thread evict that index (operations in another
 *    directory) and then unlink the name, a hard link whose inode stays in
 *    use: the change goes to a new index, and the sequence the stat then
 *    reads is the one after it.  The evicted index still has the name; the
 *    stat must not answer from it (it answers -ENOENT).  Two checks see to
 *    that: the walk looks up the index again after its look at the
 *    sequence, and the record the index points to on media is zeroed; this
 *    case fails only if both go.
 * 3. Two threads stat fixed names while a writer of the same directory
 *    creates and unlinks 2,000 names again and again (its index's table
 *    and block array grow, replaced under the stats), and a writer of
 *    other directories churns under a directory-cache budget of one byte
 *    (every index evicted at the end of every operation, under stats that
 *    read it).  Every stat of a fixed name returns that file's size; every
 *    stat of a churned name its own size, 0 (made, not yet sized) or
 *    -ENOENT.  Two more threads list /big meanwhile (readdir beside the
 *    writer): every listing has each fixed name once and no name that
 *    was never made (a churned name unlinked and made again later in the
 *    directory may be listed twice: POSIX leaves it open).
 * 4. A readdir beside the directory's writer: its hook (between its read
 *    of a record's header and its copy of the name) lets another thread
 *    unlink that name, which zeroes the record.  The readdir must not
 *    return what it half read (an empty name): it answers the next name.
 * 5. udax_lookup beside directory writers: its hook (after it found the
 *    name, before it takes the cached inode) lets another thread unlink
 *    the name and create a file that gets the same number back, held open
 *    (so cached).  The lookup must not return that file: -ENOENT.
 * 6. The same for an open without O_CREAT, which goes beside the writers
 *    while a writer of another directory is at work.
 * 7. A lookup beside the writers loads an inode that is not cached; its
 *    hook lets another thread unlink the name and create a file that gets
 *    the number back, and waits until that create has committed but not
 *    yet cached its inode (the create's hook, which waits a while).  The
 *    lookup's load must not cache a copy of the new inode before the
 *    create caches its own: it waits for the create's load lock.
 * Under ASan, memory freed before the stats were done with it is a use
 * after free.
 */
#include <pthread.h>
#include <unistd.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udax/fsck.h>

#include "fs/core.h"
#include "fs_util.h"

static struct udax_fs *fs;

/* What a hook lets happen inside the window it opens: @fn, whole, in
 * another thread (the hook's own holds ns_lock beside the writers). */
static void in_other_thread(void *(*fn)(void *))
{
	pthread_t th;

	T_ASSERT(!pthread_create(&th, NULL, fn, NULL));
	T_ASSERT(!pthread_join(th, NULL));
}

/*
 * Unlink @gone, whose inode (number @victim) nobody holds, and create
 * @made, which gets that number back (the next handed out: free again once
 * the unlink's inode left the cache), kept open in *@held, or written
 * with @data and closed if @held is NULL.  Its inode number.
 */
static uint64_t reuse_number(const char *gone, uint32_t victim, const char *made,
			     const char *data, struct udax_file **held)
{
	struct udax_stat st;

	FS_OK(udax_unlink(fs, gone));
	fs_ino_next(fs, victim);
	if (held) {
		FS_OK(udax_open(fs, made, O_RDWR | O_CREAT, 0644, held));
		FS_OK(udax_fstat(*held, &st));
	} else {
		t_write_file(fs, made, data, strlen(data));
		FS_OK(udax_stat(fs, made, &st));
	}
	return st.ino;
}

/* ---- 1: a name unlinked and its number reused between look and copy --------- */

/*
 * The replacement a part's hook makes the first time it meets @victim:
 * in another thread, @before (if set), then reuse_number() from @gone to
 * @made (@data written and closed, or kept open in @held when @keep).
 * @calls counts the hook's calls, @got is the number @made got.
 */
struct reuse {
	const char *gone, *made, *data;
	bool keep;
	void (*before)(void);
	uint32_t victim;
	int calls;
	struct udax_file *held;
	uint64_t got;
};

static struct reuse *reuse_now;	/* the part's, while its hook is set */

static void *reuse_thread(void *arg)
{
	struct reuse *r = reuse_now;

	(void)arg;
	if (r->before)
		r->before();
	r->got = reuse_number(r->gone, r->victim, r->made, r->data,
			      r->keep ? &r->held : NULL);
	return NULL;
}

static void reuse_hook(struct udax_fs *h, uint32_t ino)
{
	struct reuse *r = reuse_now;

	(void)h;
	if (ino != r->victim || r->calls++)
		return;
	in_other_thread(reuse_thread);
}

static struct reuse r1 = { .gone = "/d/a", .made = "/d/b", .data = "0123456789" };

static void reused_number(void)
{
	struct udax_stat st;
	int ret;

	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/a", "x", 1);
	FS_OK(udax_stat(fs, "/d/a", &st));	/* the index built; closed */
	r1.victim = (uint32_t)st.ino;
	reuse_now = &r1;
	fs_inode_stat_hook = reuse_hook;
	ret = udax_stat(fs, "/d/a", &st);
	fs_inode_stat_hook = NULL;
	T_ASSERT(r1.calls >= 1);
	if (r1.got != r1.victim)
		fprintf(stderr, "fs_stat_beside: /d/b got inode %llu, not %u\n",
			(unsigned long long)r1.got, r1.victim);
	T_ASSERT(r1.got == r1.victim);
	if (ret != -ENOENT)
		fprintf(stderr, "fs_stat_beside: stat of the unlinked name: %d, "
			"size %llu (the new file's record, read through the old "
			"name)\n", ret, (unsigned long long)st.size);
	T_ASSERT(ret == -ENOENT);
	FS_OK(udax_stat(fs, "/d/b", &st));
	T_ASSERT(st.size == 10 && st.ino == r1.victim);
}

/* ---- 2: an index evicted, then its directory changed, before the look ----- */

#define EVICTING_OPS 12

static uint32_t d2_ino;
static int walk_hook_calls;
static struct fs_dix *seen;
static bool evicted;

static void make_sized(const char *path, uint64_t size);

static void *evict_then_unlink(void *arg)
{
	(void)arg;
	for (int k = 0; k < EVICTING_OPS; k++) {
		make_sized("/e/t", 1);
		FS_OK(udax_unlink(fs, "/e/t"));
	}
	evicted = fs_dix_shared(fs, d2_ino) != seen;
	FS_OK(udax_unlink(fs, "/d2/a"));
	return NULL;
}

static void walk_hook(struct udax_fs *h, uint32_t dir_ino)
{
	(void)h;
	if (dir_ino != d2_ino || walk_hook_calls++)
		return;
	seen = fs_dix_shared(fs, d2_ino);
	in_other_thread(evict_then_unlink);
}

static void stale_index(struct udax_dev *dev)
{
	struct udax_mount_opts tiny = { .dir_cache = 1 };
	struct udax_stat st;
	int ret;

	FS_OK(udax_mkdir(fs, "/d2", 0755));
	FS_OK(udax_mkdir(fs, "/e", 0755));
	make_sized("/d2/b", 33);
	FS_OK(udax_link(fs, "/d2/b", "/d2/a"));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_mount(dev, 0, &tiny, &fs));
	FS_OK(udax_stat(fs, "/d2", &st));
	d2_ino = (uint32_t)st.ino;
	FS_OK(udax_stat(fs, "/d2/a", &st));	/* /d2's index built */
	T_ASSERT(st.size == 33);
	fs_walk_beside_hook = walk_hook;
	ret = udax_stat(fs, "/d2/a", &st);
	fs_walk_beside_hook = NULL;
	T_ASSERT(walk_hook_calls >= 1 && seen);
	if (!evicted)
		fprintf(stderr, "fs_stat_beside: /d2's index was not evicted\n");
	T_ASSERT(evicted);
	if (ret != -ENOENT)
		fprintf(stderr, "fs_stat_beside: stat of a name unlinked after its "
			"index was evicted: %d (found in the evicted index)\n", ret);
	T_ASSERT(ret == -ENOENT);
	FS_OK(udax_stat(fs, "/d2/b", &st));
	T_ASSERT(st.size == 33 && st.nlink == 1);
	t_fs_remount(dev, &fs);
}

/* ---- 3: stats beside writers that grow, shrink and evict indexes ------------ */

#define FIXED	40
#define CHURN	2000
#define ROUNDS	4
#define SMALL	8

static _Atomic int writers_left;
static _Atomic unsigned long stats_done;

static void make_sized(const char *path, uint64_t size)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f));
	FS_OK(udax_ftruncate(f, size));
	FS_OK(udax_close(&f));
}

/* The writer of /big: names n0..n1999 made, then unlinked, ROUNDS times. */
static void *big_writer(void *arg)
{
	char p[64];

	(void)arg;
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < CHURN; i++) {
			snprintf(p, sizeof(p), "/big/n%d", i);
			make_sized(p, (uint64_t)i + 1);
		}
		for (int i = 0; i < CHURN; i++) {
			snprintf(p, sizeof(p), "/big/n%d", i);
			FS_OK(udax_unlink(fs, p));
		}
	}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

/* The writer of /s0../s7: a name made and unlinked in each in turn; the
 * budget of one byte evicts every index at the end of every operation. */
static void *small_writer(void *arg)
{
	char p[64];

	(void)arg;
	for (int i = 0; i < ROUNDS * CHURN / 2; i++) {
		snprintf(p, sizeof(p), "/s%d/t", i % SMALL);
		make_sized(p, 7);
		FS_OK(udax_unlink(fs, p));
	}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

static void *statter(void *arg)
{
	unsigned long r = (unsigned long)(uintptr_t)arg * 2654435761ul + 1, n = 0;
	struct udax_stat st;
	char p[64];

	while (atomic_load(&writers_left)) {
		int k, ret;

		r = r * 6364136223846793005ul + 1442695040888963407ul;
		k = (int)((r >> 33) % 3);
		if (k == 0) {
			int i = (int)((r >> 40) % FIXED);

			snprintf(p, sizeof(p), "/big/f%d", i);
			FS_OK(udax_stat(fs, p, &st));
			T_ASSERT(st.size == (uint64_t)i + 100000);
		} else if (k == 1) {
			int i = (int)((r >> 40) % CHURN);

			snprintf(p, sizeof(p), "/big/n%d", i);
			ret = udax_stat(fs, p, &st);
			/* made (size 0), then sized */
			T_ASSERT(ret == -ENOENT ||
				 (!ret && (st.size == 0 || st.size == (uint64_t)i + 1)));
		} else {
			int i = (int)((r >> 40) % SMALL);

			snprintf(p, sizeof(p), "/s%d/f", i);
			FS_OK(udax_stat(fs, p, &st));
			T_ASSERT(st.size == (uint64_t)i + 200000);
		}
		n++;
	}
	atomic_fetch_add(&stats_done, n);
	return NULL;
}

/* Whole listings of /big until the writers are done: what each holds. */
static void *lister(void *arg)
{
	bool seen_f[FIXED], seen_n[CHURN];
	unsigned long lists = 0;

	(void)arg;
	while (atomic_load(&writers_left)) {
		struct udax_dirent e;
		struct udax_dir *d;
		int ret;

		memset(seen_f, 0, sizeof(seen_f));
		memset(seen_n, 0, sizeof(seen_n));
		FS_OK(udax_opendir(fs, "/big", &d));
		while ((ret = udax_readdir(d, &e)) == 1) {
			char *endp;
			long i = strtol(e.name + 1, &endp, 10);
			bool *slot = e.name[0] == 'f' && i >= 0 && i < FIXED ? &seen_f[i] :
				     e.name[0] == 'n' && i >= 0 && i < CHURN ? &seen_n[i] : NULL;

			bool dup = slot && e.name[0] == 'f' && *slot;

			if (!slot || *endp || e.ino == 0 || dup)
				fprintf(stderr, "fs_stat_beside: listing: \"%s\" (inode %u)%s\n",
					e.name, e.ino, dup ? " twice" : "");
			T_ASSERT(slot && !*endp && e.ino && !dup);
			*slot = true;
		}
		FS_OK(ret);
		udax_closedir(&d);
		for (int i = 0; i < FIXED; i++)
			T_ASSERT(seen_f[i]);
		lists++;
	}
	T_ASSERT(lists > 0);
	return NULL;
}

/* ---- 4: a record zeroed between a readdir's read of it and its copy ------- */

static int next_hook_calls;

static void *remover(void *arg)
{
	(void)arg;
	FS_OK(udax_unlink(fs, "/r/first-of-two"));
	return NULL;
}

static void next_hook(struct fs_dix *x)
{
	(void)x;
	if (next_hook_calls++)
		return;
	in_other_thread(remover);
}

static void torn_record(void)
{
	struct udax_dirent e;
	struct udax_dir *d;
	struct udax_stat st;

	FS_OK(udax_mkdir(fs, "/r", 0755));
	t_write_file(fs, "/r/first-of-two", "1", 1);
	t_write_file(fs, "/r/second", "2", 1);
	FS_OK(udax_stat(fs, "/r/second", &st));		/* /r's index built */
	FS_OK(udax_opendir(fs, "/r", &d));
	fs_dix_next_hook = next_hook;
	T_ASSERT(udax_readdir(d, &e) == 1);
	fs_dix_next_hook = NULL;
	T_ASSERT(next_hook_calls >= 1);
	if (strcmp(e.name, "second"))
		fprintf(stderr, "fs_stat_beside: readdir after its record was zeroed: "
			"\"%s\" (inode %u)\n", e.name, e.ino);
	T_ASSERT(!strcmp(e.name, "second") && e.ino == st.ino);
	T_ASSERT(udax_readdir(d, &e) == 0);
	udax_closedir(&d);
}

static void churn(struct udax_dev *dev)
{
	struct udax_mount_opts tiny = { .dir_cache = 1 };
	pthread_t w[2], s[2], l[2];
	char p[64];

	FS_OK(udax_mkdir(fs, "/big", 0755));
	for (int i = 0; i < FIXED; i++) {
		snprintf(p, sizeof(p), "/big/f%d", i);
		make_sized(p, (uint64_t)i + 100000);
	}
	for (int i = 0; i < SMALL; i++) {
		snprintf(p, sizeof(p), "/s%d", i);
		FS_OK(udax_mkdir(fs, p, 0755));
		snprintf(p, sizeof(p), "/s%d/f", i);
		make_sized(p, (uint64_t)i + 200000);
	}
	t_fs_remount(dev, &fs);		/* nothing cached */
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_mount(dev, 0, &tiny, &fs));
	atomic_store(&writers_left, 2);
	T_ASSERT(!pthread_create(&s[0], NULL, statter, (void *)1));
	T_ASSERT(!pthread_create(&s[1], NULL, statter, (void *)2));
	T_ASSERT(!pthread_create(&w[0], NULL, big_writer, NULL));
	T_ASSERT(!pthread_create(&w[1], NULL, small_writer, NULL));
	T_ASSERT(!pthread_create(&l[0], NULL, lister, NULL));
	T_ASSERT(!pthread_create(&l[1], NULL, lister, NULL));
	for (int i = 0; i < 2; i++) {
		T_ASSERT(!pthread_join(w[i], NULL));
		T_ASSERT(!pthread_join(s[i], NULL));
	}
	T_ASSERT(!pthread_join(l[0], NULL));
	T_ASSERT(!pthread_join(l[1], NULL));
	T_ASSERT(atomic_load(&stats_done) > 0);
}

/* ---- 5: a lookup by handle, its name unlinked and its number reused ------ */

/*
 * Directory @dir (made, holding "a", its index built), its handle in *@d
 * and the root's in *@root: "a"'s inode number, not cached any more.
 */
static uint32_t dir_with_a(const char *dir, struct udax_inode **root,
			   struct udax_inode **d)
{
	struct udax_inode *a;
	struct udax_stat st;
	char p[32];

	snprintf(p, sizeof(p), "/%s", dir);
	FS_OK(udax_mkdir(fs, p, 0755));
	snprintf(p, sizeof(p), "/%s/a", dir);
	t_write_file(fs, p, "x", 1);
	FS_OK(udax_iget_root(fs, root));
	FS_OK(udax_lookup(fs, *root, dir, d, NULL));
	FS_OK(udax_lookup(fs, *d, "a", &a, &st));	/* the index built */
	FS_OK(udax_iput(&a));				/* not cached now */
	return (uint32_t)st.ino;
}

/* The new file kept open: cached. */
static struct reuse r5 = { .gone = "/d5/a", .made = "/d5/b", .keep = true };

/*
 * udax_lookup beside directory writers: its hook (after it found the
 * name, before it takes the inode from the cache) lets another thread
 * unlink the name and create a file that gets the number back, held open
 * (cached).  The lookup must not hand out that file through the old name:
 * it answers -ENOENT.
 */
static void lookup_reused(void)
{
	struct udax_inode *root, *d, *got = NULL;
	struct udax_stat st;
	int ret;

	r5.victim = dir_with_a("d5", &root, &d);
	reuse_now = &r5;
	fs_lookup_beside_hook = reuse_hook;
	ret = udax_lookup(fs, d, "a", &got, &st);
	fs_lookup_beside_hook = NULL;
	T_ASSERT(r5.calls >= 1);
	T_ASSERT(r5.got == r5.victim);
	if (ret != -ENOENT)
		fprintf(stderr, "fs_stat_beside: lookup of the unlinked name: %d, "
			"inode %llu size %llu (the new file, through the old name)\n",
			ret, (unsigned long long)st.ino, (unsigned long long)st.size);
	T_ASSERT(ret == -ENOENT && got == NULL);
	/* The name that is there: beside the writers too, and right. */
	FS_OK(udax_lookup(fs, d, "b", &got, &st));
	T_ASSERT(st.ino == r5.victim);
	FS_OK(udax_iput(&got));
	FS_OK(udax_close(&r5.held));
	FS_OK(udax_iput(&d));
	FS_OK(udax_iput(&root));
}

/* ---- 6: an open beside a writer, its name unlinked and its number reused -- */

static atomic_bool ochurn_stop, ochurn_done;

/* The writer stops first: its creates would take the number. */
static void ochurn_end(void)
{
	atomic_store(&ochurn_stop, true);
	while (!atomic_load(&ochurn_done))
		sched_yield();
}

static struct reuse r6 = { .gone = "/d6/a", .made = "/d6/b", .keep = true,
			   .before = ochurn_end };

/* A writer of another directory at work, so that opens go beside. */
static void *ochurn(void *arg)
{
	(void)arg;
	while (!atomic_load(&ochurn_stop)) {
		struct udax_file *f;

		FS_OK(udax_open(fs, "/d6w/t", O_RDWR | O_CREAT, 0644, &f));
		FS_OK(udax_close(&f));
		FS_OK(udax_unlink(fs, "/d6w/t"));
	}
	atomic_store(&ochurn_done, true);
	return NULL;
}

/*
 * An open without O_CREAT while a writer of another directory is at work
 * goes beside the writers (fs_ns_open), taking the inode from the cache.
 * Its hook (after the walk found the name, before it takes the inode)
 * lets another thread unlink the name and create a file that gets the
 * number back, held open.  The open must not open that file through the
 * old name: -ENOENT.
 */
static void open_reused(void)
{
	struct udax_file *got = NULL;
	struct udax_stat st;
	pthread_t th;
	int ret = 0;

	FS_OK(udax_mkdir(fs, "/d6", 0755));
	FS_OK(udax_mkdir(fs, "/d6w", 0755));
	t_write_file(fs, "/d6/a", "x", 1);
	FS_OK(udax_stat(fs, "/d6/a", &st));
	r6.victim = (uint32_t)st.ino;
	T_ASSERT(!pthread_create(&th, NULL, ochurn, NULL));
	reuse_now = &r6;
	fs_lookup_beside_hook = reuse_hook;
	/* Until an open goes beside the writer (the hook): the others open
	 * the file, shared or walking beside the writers.  Not held between
	 * them: its number must go back at the unlink. */
	for (long k = 0; k < 10000000 && !r6.calls; k++) {
		ret = udax_open(fs, "/d6/a", O_RDONLY, 0, &got);
		if (!ret && !r6.calls)
			FS_OK(udax_close(&got));
	}
	fs_lookup_beside_hook = NULL;
	atomic_store(&ochurn_stop, true);
	T_ASSERT(!pthread_join(th, NULL));
	T_ASSERT(r6.calls >= 1);
	T_ASSERT(r6.got == r6.victim);
	if (ret != -ENOENT) {
		if (!ret)
			FS_OK(udax_fstat(got, &st));
		fprintf(stderr, "fs_stat_beside: open of the unlinked name: %d, "
			"inode %llu (the new file, through the old name)\n",
			ret, ret ? 0ull : (unsigned long long)st.ino);
	}
	T_ASSERT(ret == -ENOENT);
	FS_OK(udax_close(&r6.held));
}

/* ---- 7: a load by a stale name while a create of that number commits ---- */

static uint32_t v7;
static int lhook7_calls;
static pthread_t t7;
static atomic_int t7_in_hook;
static bool cached_early;
static struct udax_file *held7;

static void *replacer7(void *arg)
{
	(void)arg;
	reuse_number("/d7/a", v7, "/d7/b", NULL, &held7);
	return NULL;
}

/* The create's hook, after its commit, before its inode is cached: the
 * lookup goes on meanwhile (and, loading the number, waits for the
 * create's load lock); nothing may cache the number before the create
 * does. */
static void chook7(struct udax_fs *h, uint32_t ino)
{
	(void)h;
	if (ino != v7)
		return;
	uint32_t s0 = atomic_load(fs_istate(C(fs), ino)), s1;

	atomic_store(&t7_in_hook, 1);
	usleep(100000);
	/* A copy the lookup cached would be put again at once (its
	 * directory changed): its eviction changes the number's state
	 * word too (inode.c: the bits above the cached bit count them). */
	s1 = atomic_load(fs_istate(C(fs), ino));
	cached_early = s1 != s0 || (s1 & 1);
}

static void lhook7(struct udax_fs *h, uint32_t ino)
{
	(void)h;
	if (ino != v7 || lhook7_calls++)
		return;
	T_ASSERT(!pthread_create(&t7, NULL, replacer7, NULL));
	while (!atomic_load(&t7_in_hook))
		sched_yield();
}

/*
 * A lookup beside directory writers loads the inode its name gave when it
 * is not cached.  Its hook (after it found the name) lets another thread
 * unlink the name and create a file that gets the number back, and waits
 * until that create has committed, before it caches its inode (the
 * create's hook, which then waits a while).  The lookup's load of the
 * number must not cache a copy of the new inode meanwhile -- the create
 * caches its own next, and the two copies would each think they are the
 * inode -- and must answer -ENOENT.
 */
static void load_beside_create(void)
{
	struct udax_inode *root, *d, *got = NULL;
	struct udax_stat st;
	int ret;

	v7 = dir_with_a("d7", &root, &d);
	fs_create_insert_hook = chook7;
	fs_lookup_beside_hook = lhook7;
	ret = udax_lookup(fs, d, "a", &got, &st);
	fs_lookup_beside_hook = NULL;
	T_ASSERT(!pthread_join(t7, NULL));
	fs_create_insert_hook = NULL;
	T_ASSERT(lhook7_calls >= 1 && atomic_load(&t7_in_hook));
	FS_OK(udax_fstat(held7, &st));
	T_ASSERT(st.ino == v7);
	if (cached_early)
		fprintf(stderr, "fs_stat_beside: inode %u was cached before its "
			"create cached it (a second copy)\n", v7);
	T_ASSERT(!cached_early);
	T_ASSERT(ret == -ENOENT && got == NULL);
	FS_OK(udax_close(&held7));
	FS_OK(udax_iput(&d));
	FS_OK(udax_iput(&root));
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fsck_report rep;

	fs = t_fs_new("mem:64M", &dev);
	reused_number();
	stale_index(dev);
	torn_record();
	churn(dev);
	/* The default directory-cache budget again: under churn's one byte
	 * every operation evicts every index, and the parts below need the
	 * index of their directory there (an open that never finds it never
	 * goes beside the writers, and loops until its bound), and no
	 * writer in a hook's window reaching the retired items' grace period
	 * (fs_ns_grace) while the hooked thread holds ns_lock beside them. */
	t_fs_remount(dev, &fs);
	lookup_reused();
	open_reused();
	load_beside_create();
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_stat_beside: ok (%lu stats beside the writers)\n",
	       atomic_load(&stats_done));
	return 0;
}
