/* SPDX-License-Identifier: MIT */
/*
 * udax_fsck: one invariant broken at a time, by writing bytes into the
 * device mapping (checksums recomputed where the point is a semantic
 * error), must give exactly the expected problem (area, block, inode);
 * REPAIR must fix the repairable ones (a second run is clean and the image
 * mounts with the expected tree) and leave the others reported.  Around
 * every case: an image fsck calls clean mounts, and one that mount refuses
 * with -EUCLEAN has problems.  Then: a clean file system after a mixed
 * workload, -EBUSY while mounted, a committed but unreplayed journal
 * (a shadow image stopped right after the commit point) checked as if
 * replayed, and random damage that fsck must survive (ASan) and judge
 * consistently with mount.
 */
#include "fsck_util.h"

static uint32_t ia, ibig, id, ix, ihl, isub, ie;
static char *good_tree;

/* After a repair: clean, mounts, and the tree is @want (NULL: the good one). */
static void expect_tree(const char *want)
{
	struct udax_fsck_report r;
	struct udax_fs *fs;
	char *t;

	fsck(0, &r);
	T_ASSERT(got.n == 0);
	fs = t_fs_mount(dev);
	t = t_fingerprint(fs);
	FS_OK(udax_unmount(&fs));
	if (strcmp(t, want ? want : good_tree)) {
		fprintf(stderr, "tree after repair:\n%s\nwant:\n%s\n", t,
			want ? want : good_tree);
		exit(1);
	}
	free(t);
}

static void build(void)
{
	struct udax_fs *fs;
	struct udax_file *f;
	char buf[8192];

	dev = t_fs_dev("mem:8M");
	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 64 }));
	fs = t_fs_mount(dev);
	t_fill(buf, sizeof(buf), 1);
	t_write_file(fs, "/a", buf, 5000);
	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/x", buf, 100);
	t_write_file(fs, "/h", buf, 10);
	FS_OK(udax_link(fs, "/h", "/d/y"));
	FS_OK(udax_mkdir(fs, "/d/sub", 0700));
	FS_OK(udax_mkdir(fs, "/e", 0755));
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	for (int b = 0; b < 40; b += 2)
		T_ASSERT(udax_pwrite(f, buf, 4096, b * 4096ull) == 4096);
	FS_OK(udax_close(&f));
	ia = ino_of(fs, "/a");
	ibig = ino_of(fs, "/big");
	id = ino_of(fs, "/d");
	ix = ino_of(fs, "/d/x");
	ihl = ino_of(fs, "/h");
	isub = ino_of(fs, "/d/sub");
	ie = ino_of(fs, "/e");
	good_tree = t_fingerprint(fs);
	FS_OK(udax_unmount(&fs));
}

static void test_super(void)
{
	struct udax_fsck_report r;
	struct fs_dsuper *b = (void *)(part + FS_BS);

	part[FS_BS + 10] ^= 1;
	expect_one("superblock B checksum", UDAX_FSCK_SUPER, 1, 0, true);
	T_ASSERT(!memcmp(part, part + FS_BS, 256));
	expect_tree(NULL);
	restore();

	b->generation = 2;			/* B newer: A is the odd one */
	b->crc = udax_crc32c(0, b, 252);
	expect_one("superblock copies differ", UDAX_FSCK_SUPER, 0, 0, true);
	T_ASSERT(((struct fs_dsuper *)part)->generation == 2);
	restore();

	b->nr_inodes = 1u << 30;		/* geometry, checksum fixed */
	b->crc = udax_crc32c(0, b, 252);
	expect_one("superblock B geometry", UDAX_FSCK_SUPER, 1, 0, true);
	restore();

	part[10] ^= 1;
	part[FS_BS + 10] ^= 1;
	consistent();
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 2 && has(UDAX_FSCK_SUPER, 0, 0) &&
		 has(UDAX_FSCK_SUPER, 1, 0) && !r.repaired);
	restore();

	memset(part, 0, 2 * FS_BS);
	FS_ERR(udax_fsck(dev, 0, 0, NULL, NULL, &r), -ENODATA);
	restore();
}

static void test_journal_bad(void)
{
	char *j = part + sb.journal_start * FS_BS;
	struct fs_djhdr *h = (void *)j;
	struct fs_djrec *rec = (void *)(j + FS_BS);
	struct udax_fsck_report r;

	rec->off = sb.itable_start * FS_BS + ia * 256ull;
	rec->len = 256;
	memcpy(rec + 1, dinode(ia), 256);
	h->magic = FS_JNL_MAGIC;
	h->version = FS_VERSION;
	h->nr_records = 1;
	h->body_len = sizeof(*rec) + 256;
	h->body_crc = udax_crc32c(0, rec, h->body_len) ^ 1;	/* bad body */
	h->crc = udax_crc32c(0, h, 60);
	expect_one("journal body checksum", UDAX_FSCK_JOURNAL, sb.journal_start, 0,
		   false);
	restore();

	h->magic = FS_JNL_MAGIC;		/* torn: not a problem */
	h->seq = 3;
	fsck(0, &r);
	T_ASSERT(got.n == 0 && !r.journal_committed && h->magic);
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 0 && !h->magic);	/* cleared */
	restore();
}

static void test_inodes(void)
{
	struct udax_fsck_report r;

	((char *)dinode(ia))[30] ^= 4;
	expect_one("inode checksum", UDAX_FSCK_INODE, iblock(ia), ia, false);
	restore();
	dinode(ia)->mode = 0030000 | 0644;	/* no such type */
	fix_inode(ia);
	expect_one("inode mode", UDAX_FSCK_INODE, iblock(ia), ia, false);
	restore();
	dinode(ia)->rdev = 1;	/* a device number on a file */
	fix_inode(ia);
	expect_one("inode reserved field", UDAX_FSCK_INODE, iblock(ia), ia, false);
	restore();
	dinode(ia)->nr_extents = 12;
	fix_inode(ia);
	expect_one("inode extent count vs chain", UDAX_FSCK_INODE, iblock(ia), ia,
		   false);
	restore();
	dinode(ia)->size = FS_MAX_SIZE + 1;
	fix_inode(ia);
	expect_one("inode size", UDAX_FSCK_INODE, iblock(ia), ia, false);
	restore();
	dinode(ie)->parent = 64;		/* out of range */
	fix_inode(ie);
	expect_one("directory parent out of range", UDAX_FSCK_INODE, iblock(ie),
		   ie, false);
	restore();
	dinode(63)->uid = 1;			/* free but not zero */
	expect_one("free inode not zero", UDAX_FSCK_INODE, iblock(63), 63, false);
	restore();
	dinode(UDAX_ROOT_INO)->mode = S_IFREG | 0644;
	dinode(UDAX_ROOT_INO)->parent = 0;
	fix_inode(UDAX_ROOT_INO);
	expect_one("root not a directory", UDAX_FSCK_INODE, iblock(1), 1, false);
	restore();
	dinode(UDAX_ROOT_INO)->parent = id;
	fix_inode(UDAX_ROOT_INO);
	expect_one("root parent", UDAX_FSCK_LINK, iblock(1), 1, true);
	expect_tree(NULL);
	restore();
	memset(dinode(UDAX_ROOT_INO), 0, 256);
	consistent();
	fsck(0, &r);
	T_ASSERT(has(UDAX_FSCK_INODE, iblock(1), 1));
	restore();
}

/*
 * After a repair that cut @path's extent list: the size it had, the first
 * @keep of its written blocks (@stride apart from block 0, each the first
 * 4096 bytes of build()'s pattern) intact, every other byte zero.
 */
static void expect_cut(const char *path, uint64_t size, uint32_t keep,
		       uint32_t stride)
{
	static char want[8192], blk[4096];
	struct udax_fs *fs = t_fs_mount(dev);
	struct udax_file *f;
	struct udax_stat st;

	t_fill(want, sizeof(want), 1);
	FS_OK(udax_open(fs, path, O_RDONLY, 0, &f));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == size);
	for (uint64_t b = 0; b * 4096 < size; b++) {
		uint64_t n = size - b * 4096 < 4096 ? size - b * 4096 : 4096;
		bool kept = b % stride == 0 && b / stride < keep;

		T_ASSERT(udax_pread(f, blk, n, b * 4096) == (ssize_t)n);
		for (uint64_t x = 0; x < n; x++)
			if (blk[x] != (kept ? want[x] : 0)) {
				fprintf(stderr, "%s block %llu byte %llu after the cut\n",
					path, (unsigned long long)b, (unsigned long long)x);
				exit(1);
			}
	}
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
}

static void test_extents(void)
{
	struct fs_dinode *b = dinode(ibig);
	uint64_t eblk = b->ext_next;
	struct fs_dextblk *eb = (void *)(part + eblk * FS_BS);
	struct udax_fsck_report r;

	T_ASSERT(eblk && b->nr_extents == 20 && b->ext_blocks == 1);
	dinode(ia)->ext[0].pblk = nb;
	fix_inode(ia);
	expect_one("extent past the end", UDAX_FSCK_EXTENT, iblock(ia), ia, true);
	expect_cut("/a", 5000, 0, 1);
	restore();
	dinode(ia)->ext[0].pblk = 3;		/* the journal */
	fix_inode(ia);
	expect_one("extent in metadata", UDAX_FSCK_EXTENT, iblock(ia), ia, true);
	restore();
	dinode(id)->ext[0].pblk = nb;		/* a directory's: left */
	fix_inode(id);
	consistent();
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(has(UDAX_FSCK_EXTENT, iblock(id), id));
	for (int k = 0; k < got.n; k++)
		T_ASSERT(got.p[k].ino != id || !got.p[k].repaired);
	restore();
	eb->ext[1].lblk = eb->ext[0].lblk;
	fix_block(eblk, ibig);
	expect_one("extents overlap", UDAX_FSCK_EXTENT, eblk, ibig, true);
	expect_cut("/big", 39 * 4096, 1, 2);	/* into the record */
	restore();
	eb->ext[2].len = 0;
	fix_block(eblk, ibig);
	expect_one("empty extent", UDAX_FSCK_EXTENT, eblk, ibig, true);
	restore();
	eb->ext[19].lblk = 0xffffffffu;		/* + len 2 > 2^32 */
	eb->ext[19].len = 2;
	fix_block(eblk, ibig);
	expect_one("extent past 2^32 blocks", UDAX_FSCK_EXTENT, eblk, ibig,
		   true);
	expect_cut("/big", 39 * 4096, 19, 2);	/* the leaf, cut */
	restore();
	/* Inline extents beside leaves. */
	b->ext[0] = eb->ext[0];
	fix_inode(ibig);
	expect_one("inline extents and leaves", UDAX_FSCK_INODE, iblock(ibig), ibig,
		   false);
	restore();
	/* A block count that is not what the map holds (format 4): the
	 * record's count is set to the map's, inline and leaves alike. */
	dinode(ia)->blocks++;
	fix_inode(ia);
	expect_one("block count (inline map)", UDAX_FSCK_INODE, iblock(ia), ia, true);
	T_ASSERT(dinode(ia)->blocks == (dinode(ia)->ext[0].len & FS_DEXT_MAXLEN));
	restore();
	dinode(ibig)->blocks = 7;
	fix_inode(ibig);
	expect_one("block count (leaves)", UDAX_FSCK_INODE, iblock(ibig), ibig, true);
	T_ASSERT(dinode(ibig)->blocks == 20);
	restore();
	/* /a's first block is /big's second: reported by the later owner,
	 * naming the earlier one. */
	dinode(ia)->ext[0].len = 1;
	dinode(ia)->blocks = 1;
	dinode(ia)->ext[0].pblk = eb->ext[1].pblk;
	fix_inode(ia);
	T_ASSERT(ia < ibig);
	expect_one("block owned twice", UDAX_FSCK_EXTENT, eblk, ibig, false);
	fsck(0, &r);
	T_ASSERT(strstr(got.msg[0], "also owned by inode") && got.p[0].offset ==
		 offsetof(struct fs_dextblk, ext[1]));
	restore();
	/* An extent-chain block that is also a data block of /a. */
	dinode(ia)->ext[0].len = 1;
	dinode(ia)->blocks = 1;
	dinode(ia)->ext[0].pblk = eblk;
	fix_inode(ia);
	expect_one("chain block owned twice", UDAX_FSCK_EXTENT, iblock(ibig), ibig,
		   true);		/* /big lets it go */
	restore();

	part[eblk * FS_BS + 100] ^= 1;
	expect_one("extent block checksum", UDAX_FSCK_EXTENT, eblk, ibig, true);
	expect_cut("/big", 39 * 4096, 0, 2);
	restore();
	eb->magic = 0;
	fix_block(eblk, ibig);
	expect_one("extent block magic", UDAX_FSCK_EXTENT, eblk, ibig, true);
	restore();
	eb->count = 300;
	fix_block(eblk, ibig);
	expect_one("extent block count", UDAX_FSCK_EXTENT, eblk, ibig, true);
	restore();
	eb->next = eblk;			/* the last block points on */
	fix_block(eblk, ibig);
	expect_one("extent block next", UDAX_FSCK_EXTENT, eblk, ibig, true);
	restore();
	eb->ino = ia;
	fix_block(eblk, ibig);
	expect_one("extent block owner", UDAX_FSCK_EXTENT, eblk, ibig, true);
	restore();
	b->ext_next = nb + 5;
	fix_inode(ibig);
	expect_one("extent chain out of bounds", UDAX_FSCK_EXTENT, iblock(ibig),
		   ibig, true);
	restore();
	eb->ext[0].pblk = eb->ext[1].pblk;	/* inside the leaf, owned twice */
	fix_block(eblk, ibig);
	expect_one("chain extent owned twice", UDAX_FSCK_EXTENT, eblk, ibig, false);
	restore();
	fsck(0, &r);
	T_ASSERT(r.chain_blocks == 1 && r.files == 4 && r.dirs == 4 && r.inodes == 8);
}

static void test_dirs(void)
{
	uint64_t dblk, rblk;
	struct fs_ddirent *e = dirent_of(id, "y", &dblk);
	struct udax_fsck_report r;
	char *want;

	/* What the tree is once the entry /d/y is gone and /h counts one link. */
	{
		struct udax_fs *fs = t_fs_mount(dev);

		FS_OK(udax_unlink(fs, "/d/y"));
		want = t_fingerprint(fs);
		FS_OK(udax_unmount(&fs));
		restore();
	}
	part[dblk * FS_BS + 30] ^= 1;
	expect_one("directory block checksum", UDAX_FSCK_DIR, dblk, id, false);
	restore();
	((struct fs_ddirhdr *)(part + dblk * FS_BS))->ino = ie;
	fix_block(dblk, id);
	expect_one("directory block owner", UDAX_FSCK_DIR, dblk, id, false);
	restore();
	((struct fs_ddirent *)(part + dblk * FS_BS + 16))->rec_len = 6;
	fix_block(dblk, id);
	expect_one("record length", UDAX_FSCK_DIR, dblk, id, false);
	restore();
	e->name_len = 200;			/* past its record */
	fix_block(dblk, id);
	expect_one("name length", UDAX_FSCK_DIR, dblk, id, false);
	restore();
	e->name[0] = '/';
	fix_block(dblk, id);
	expect_one("name with a slash", UDAX_FSCK_DIR, dblk, id, false);
	restore();
	e->name[0] = '.';
	fix_block(dblk, id);
	expect_one("name \".\"", UDAX_FSCK_DIR, dblk, id, false);
	restore();
	e->name[0] = 'x';			/* "x" twice */
	fix_block(dblk, id);
	expect_one("duplicate name", UDAX_FSCK_DIR, dblk, id, false);
	restore();
	dinode(id)->size += FS_BS;		/* block 1 not mapped */
	fix_inode(id);
	expect_one("directory block missing", UDAX_FSCK_DIR, iblock(id), id, false);
	restore();

	/* Removable entries: /d/y goes, /h's count follows. */
	static const struct {
		const char *what;
		uint32_t ino;
		uint8_t type;
	} bad[] = {
		{ "entry naming a free inode", 60, DT_REG },
		{ "entry out of range", 1000, DT_REG },
		{ "entry naming the root", UDAX_ROOT_INO, DT_DIR },
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		fprintf(stderr, "%s\n", bad[k].what);
		if (bad[k].ino)
			e->ino = bad[k].ino;
		e->type = bad[k].type;
		fix_block(dblk, id);
		consistent();
		fsck(0, &r);
		T_ASSERT(got.n == 2 && has(UDAX_FSCK_DIR, dblk, id) &&
			 has(UDAX_FSCK_LINK, iblock(ihl), ihl));
		fsck(UDAX_FSCK_REPAIR, &r);
		T_ASSERT(got.n == 2 && r.repaired == 2);
		expect_tree(want);
		restore();
	}
	free(want);

	/* An entry whose type disagrees with its inode: the type is fixed,
	 * nothing else changes. */
	e->type = DT_DIR;
	fix_block(dblk, id);
	consistent();
	expect_one("entry with the wrong type", UDAX_FSCK_DIR, dblk, id, true);
	expect_tree(NULL);
	restore();

	/* A hard link to a directory: /d/y names /e. */
	e->ino = ie;
	e->type = DT_DIR;
	fix_block(dblk, id);
	consistent();
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(has(UDAX_FSCK_LINK, iblock(ie), ie));
	T_ASSERT(r.repaired < r.problems);
	restore();

	/* /e unnamed: the root's count (one subdirectory less) and /e,
	 * reconnected under a new /lost+found, which takes its place in the
	 * root's count (more in fs_fsck_lnf). */
	e = dirent_of(UDAX_ROOT_INO, "e", &rblk);
	e->ino = 0;
	fix_block(rblk, UDAX_ROOT_INO);
	consistent();
	fsck(0, &r);
	T_ASSERT(got.n == 2 && has(UDAX_FSCK_LINK, iblock(ie), ie) &&
		 has(UDAX_FSCK_LINK, iblock(1), 1));
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 2 && r.repaired == 2);
	fsck(0, &r);
	T_ASSERT(got.n == 0 && dinode(UDAX_ROOT_INO)->nlink == 4);
	consistent();
	restore();
}

static void test_links_data(void)
{
	uint64_t rblk, tail;
	struct fs_ddirent *e;
	struct udax_statfs sf0, sf1;
	struct udax_fsck_report r;
	struct udax_fs *fs;

	dinode(ia)->nlink = 3;
	fix_inode(ia);
	expect_one("file link count", UDAX_FSCK_LINK, iblock(ia), ia, true);
	expect_tree(NULL);
	restore();
	dinode(id)->nlink = 5;
	fix_inode(id);
	expect_one("directory link count", UDAX_FSCK_LINK, iblock(id), id, true);
	expect_tree(NULL);
	restore();
	dinode(isub)->parent = UDAX_ROOT_INO;
	fix_inode(isub);
	expect_one("directory parent", UDAX_FSCK_LINK, iblock(isub), isub, true);
	T_ASSERT(dinode(isub)->parent == id);
	expect_tree(NULL);
	restore();

	/* An orphan: named nowhere, nlink 0 (a crash while open). */
	fs = t_fs_mount(dev);
	FS_OK(udax_statfs(fs, &sf0));
	FS_OK(udax_unmount(&fs));
	restore();
	e = dirent_of(UDAX_ROOT_INO, "a", &rblk);
	e->ino = 0;
	fix_block(rblk, UDAX_ROOT_INO);
	dinode(ia)->nlink = 0;
	fix_inode(ia);
	expect_one("orphan", UDAX_FSCK_LINK, iblock(ia), ia, true);
	T_ASSERT(!dinode(ia)->mode);
	fs = t_fs_mount(dev);
	FS_OK(udax_statfs(fs, &sf1));
	FS_OK(udax_unmount(&fs));
	T_ASSERT(sf1.blocks_free == sf0.blocks_free + 2 &&
		 sf1.inodes_free == sf0.inodes_free + 1);
	restore();

	/* A byte past the end of /a (5000 bytes: block 1 from 904). */
	tail = dinode(ia)->ext[0].pblk + 1;
	part[tail * FS_BS + 4000] = 7;
	expect_one("byte past the end of file", UDAX_FSCK_DATA, tail, ia, true);
	T_ASSERT(part[tail * FS_BS + 4000] == 0);
	expect_tree(NULL);
	fsck(0, &r);
	T_ASSERT(got.n == 0);
	restore();
}

/* ---- a committed journal transaction, not replayed ------------------------ */

static void test_journal_committed(void)
{
	struct udax_fsck_report r0, r;
	const struct fs_djhdr *h;
	struct udax_fs *fs;
	struct udax_stat st;
	bool found = false;
	long stop;

	fsck(0, &r0);
	T_ASSERT(got.n == 0 && !r0.journal_committed);
	/* The first fence after which the persisted journal holds the
	 * commit: the crash state right after the commit point. */
	for (stop = 1; stop < 8 && !found; stop++) {
		restore();
		fs = t_fs_mount(dev);
		sh_start(stop, 0);
		FS_OK(udax_mkdir(fs, "/new", 0755));
		FS_OK(udax_unmount(&fs));
		sh_crash();
		h = (const void *)(part + sb.journal_start * FS_BS);
		found = h->magic == FS_JNL_MAGIC;
	}
	T_ASSERT(found);
	fprintf(stderr, "journal committed after fence %ld\n", stop - 1);
	/* The home locations still hold the old tree; fsck sees the new. */
	fsck(0, &r);
	T_ASSERT(got.n == 0 && r.journal_committed);
	T_ASSERT(r.inodes == r0.inodes + 1 && r.dirs == r0.dirs + 1 &&
		 r.blocks_used == r0.blocks_used);	/* an empty directory */
	T_ASSERT(h->magic == FS_JNL_MAGIC);	/* nothing written */
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 0 && r.journal_committed && h->magic == 0);
	fsck(0, &r);
	T_ASSERT(got.n == 0 && !r.journal_committed && r.inodes == r0.inodes + 1);
	fs = t_fs_mount(dev);
	FS_OK(udax_stat(fs, "/new", &st));
	T_ASSERT(S_ISDIR(st.mode));
	FS_OK(udax_unmount(&fs));
	sh_free();
	restore();
}

/* ---- clean after a mixed workload; mounted ---------------------------------- */

static void test_workload(void)
{
	struct udax_fsck_report r;
	struct udax_statfs sf;
	struct udax_file *f;
	struct udax_fs *fs;
	char buf[20000], name[64];
	uint64_t seed = 5;

	fs = t_fs_mount(dev);
	t_fill(buf, sizeof(buf), 3);
	FS_OK(udax_mkdir(fs, "/w", 0755));
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "/w/f%d", i);
		FS_OK(udax_open(fs, name, O_RDWR | O_CREAT, 0644, &f));
		for (int k = 0; k < 6; k++) {
			uint64_t off = t_rand(&seed) % 200000;

			T_ASSERT(udax_pwrite(f, buf, 1 + t_rand(&seed) % sizeof(buf), off) > 0);
		}
		FS_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
				     t_rand(&seed) % 100000, 10000));
		FS_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 300000, 20000));
		FS_OK(udax_ftruncate(f, t_rand(&seed) % 150000));
		FS_OK(udax_close(&f));
		if (i % 3 == 0) {
			char to[64];

			snprintf(to, sizeof(to), "/d/l%d", i);
			FS_OK(udax_link(fs, name, to));
		}
		if (i % 5 == 0)
			FS_OK(udax_unlink(fs, name));
		if (i % 7 == 0) {
			snprintf(name, sizeof(name), "/w/s%d", i);
			FS_OK(udax_mkdir(fs, name, 0755));
		}
	}
	FS_OK(udax_rename(fs, "/w/s7", "/d/s7", 0));
	FS_OK(udax_rmdir(fs, "/w/s14"));
	/* Mounted: busy, nothing checked. */
	FS_ERR(udax_fsck(dev, 0, 0, NULL, NULL, &r), -EBUSY);
	FS_OK(udax_statfs(fs, &sf));
	FS_OK(udax_unmount(&fs));
	fsck(0, &r);
	T_ASSERT(got.n == 0);
	T_ASSERT(r.inodes == sf.inodes - sf.inodes_free);
	T_ASSERT(r.blocks_used == sf.blocks - sf.blocks_free);
	T_ASSERT(r.dirs + r.files == r.inodes && r.dirs == 4 + 1 + 5 - 1);
	T_ASSERT(r.dir_blocks >= 3 && r.chain_blocks >= 1);	/* /, /d, /w; /big */
	/* fsck holds the partition like a mount while it runs; after it, mounts. */
	fs = t_fs_mount(dev);
	FS_OK(udax_unmount(&fs));
	restore();
}

/* ---- random damage -------------------------------------------------------- */

static void test_fuzz(void)
{
	uint64_t seed = 17, dblk = dinode(id)->ext[0].pblk;
	uint64_t eblk = dinode(ibig)->ext_next;
	long iters = t_iters(150), fixed = 0;

	for (long it = 0; it < iters; it++) {
		uint64_t rnd = t_rand(&seed);
		int which = rnd % 5, n = 1 + (rnd >> 8) % 3;
		bool fix = (rnd >> 16) % 4 != 0;
		uint32_t ino = 1 + (rnd >> 20) % 9;
		struct udax_fsck_report r;
		char *base;
		size_t len;

		switch (which) {
		case 0: base = (char *)dinode(ino); len = 252; break;
		case 1: base = part + dblk * FS_BS; len = FS_BS; break;
		case 2: base = part + eblk * FS_BS; len = FS_BS; break;
		case 3: base = part + dinode(1)->ext[0].pblk * FS_BS; len = FS_BS; break;
		default: base = part + FS_BS; len = 252; break;
		}
		for (int k = 0; k < n; k++)
			base[t_rand(&seed) % len] ^= (char)(1 + t_rand(&seed) % 255);
		if (fix) {
			switch (which) {
			case 0: fix_inode(ino); break;
			case 1: fix_block(dblk, id); break;
			case 2: fix_block(eblk, ibig); break;
			case 3: fix_block(dinode(1)->ext[0].pblk, 1); break;
			default: ((struct fs_dsuper *)(part + FS_BS))->crc =
					udax_crc32c(0, part + FS_BS, 252); break;
			}
		}
		consistent();
		got.n = 0;
		FS_OK(udax_fsck(dev, 0, UDAX_FSCK_REPAIR, NULL, NULL, &r));
		if (r.problems && r.repaired == r.problems) {
			fixed++;
			FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &r));
			if (r.problems) {
				fprintf(stderr, "iteration %ld: repaired, still %llu problems\n",
					it, (unsigned long long)r.problems);
				fsck(0, &r);
				exit(1);
			}
		}
		consistent();
		restore();
	}
	fprintf(stderr, "fuzz: %ld images, %ld fully repaired\n", iters, fixed);
}

int main(void)
{
	struct udax_fsck_report r;

	build();
	k_snapshot();

	fsck(0, &r);
	fprintf(stderr, "clean: %llu inodes %llu dirs %llu files %llu used %llu chain %llu dir blocks\n",
		(unsigned long long)r.inodes, (unsigned long long)r.dirs,
		(unsigned long long)r.files, (unsigned long long)r.blocks_used,
		(unsigned long long)r.chain_blocks, (unsigned long long)r.dir_blocks);
	T_ASSERT(got.n == 0 && r.inodes == 8 && r.dirs == 4 && r.files == 4 &&
		 r.chain_blocks == 1 && r.dir_blocks == 2 && !r.journal_committed);
	FS_ERR(udax_fsck(dev, 0, 1u << 5, NULL, NULL, &r), -EINVAL);
	FS_ERR(udax_fsck(dev, 7, 0, NULL, NULL, &r), -ENOENT);

	test_super();
	test_journal_bad();
	test_inodes();
	test_extents();
	test_dirs();
	test_links_data();
	test_journal_committed();
	test_workload();
	test_fuzz();
	udax_dev_close(&dev, 0);
	free(good);
	free(good_tree);
	printf("fs_fsck: ok\n");
	return 0;
}
