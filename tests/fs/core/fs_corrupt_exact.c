/* SPDX-License-Identifier: MIT */
/*
 * Each on-media check alone, at its exact edge (tests/fs/core/fs_corrupt.c
 * damages bytes that several checks reject, so one check removed goes
 * unseen there).
 *
 *  - Checksums: a byte that only the checksum covers (the uid, the gid, a
 *    time, the generation of an inode record) is changed.  Mount must
 *    refuse with -EUCLEAN and a message naming the checksum, fsck must
 *    report exactly that problem.  The same change with the checksum
 *    recomputed must mount and fsck clean: proof that nothing but the
 *    checksum guards that byte.  Extent leaves (format version 2): the
 *    checksum covers only the header and the extents in use, and every
 *    header field is checked on its own, so no leaf byte is guarded by
 *    the checksum alone.  The closest equivalent used here: an extent's
 *    pblk moved to a free block holding a copy of its data - a change
 *    every other check accepts (the file still reads right), so only
 *    the checksum can see it.  A slot past count, no longer covered, is
 *    changed too and must be accepted as is.
 *  - Bounds: the file system lies in partition 0 of two, so the block one
 *    past its end is partition 1's first block, readable memory holding a
 *    valid copy of what the damaged pointer should lead to.  An extent
 *    whose last block is the partition's last block, and an extent leaf
 *    there, mount and fsck clean and read back right; an extent one
 *    block longer, one starting one past, and a leaf pointer (the
 *    inode's ext_next) equal to the partition's block count are refused
 *    by both.  With either bound off
 *    by one, mount would read partition 1 and succeed.
 *  - Fields behind a valid checksum that one check alone rejects: reserved
 *    bytes of the superblock, an inode, an extent leaf and a journal
 *    record; the superblock version; the leaf version; a stray inline
 *    extent slot, and an inline slot beside extent leaves; a journal
 *    record reaching past the partition (into partition 1) and a body with
 *    trailing bytes; a directory entry named "..".  Each is refused (mount,
 *    or the directory read) with its own reason, and fsck reports it.
 */
#include "fsck_util.h"

static uint32_t ia, ie1, ie2, ibig;
static char want_a[5000], want_e[2 * FS_BS], want_big[40 * FS_BS];
static struct udax_statfs good_sf;

/* The file system must mount and fsck clean with the tree as built. */
static void expect_clean(const char *what)
{
	struct udax_fsck_report r;
	struct udax_statfs sf;
	struct udax_fs *fs;
	char *data;
	size_t n;

	fprintf(stderr, "%s: must be accepted\n", what);
	fsck(0, &r);
	if (got.n) {
		fprintf(stderr, "%s: fsck found %d problems\n", what, got.n);
		exit(1);
	}
	fs = t_fs_mount(dev);
	FS_OK(udax_statfs(fs, &sf));
	T_ASSERT(sf.blocks_free == good_sf.blocks_free &&
		 sf.inodes_free == good_sf.inodes_free);
	data = t_read_file(fs, "/big", &n);
	T_ASSERT(n == sizeof(want_big) && !memcmp(data, want_big, n));
	free(data);
	data = t_read_file(fs, "/a", &n);
	T_ASSERT(n == sizeof(want_a) && !memcmp(data, want_a, n));
	free(data);
	data = t_read_file(fs, "/e1", &n);
	T_ASSERT(n == FS_BS && !memcmp(data, want_e, n));
	free(data);
	data = t_read_file(fs, "/e2", &n);
	T_ASSERT(n == 2 * FS_BS - 100 && !memcmp(data, want_e, n));
	free(data);
	FS_OK(udax_unmount(&fs));
}

/* Mount refuses with a message containing @mmsg; fsck reports exactly one
 * problem of @area at @block for @ino, its text containing @fmsg. */
static void expect_refused(const char *what, enum udax_fsck_area area,
			   uint64_t block, uint32_t ino, const char *mmsg,
			   const char *fmsg)
{
	struct udax_fsck_report r;
	struct udax_fs *fs = NULL;
	int m;

	fprintf(stderr, "%s: must be refused\n", what);
	m = udax_mount(dev, 0, NULL, &fs);
	if (m != -EUCLEAN || !strstr(udax_fs_last_error(), mmsg)) {
		fprintf(stderr, "%s: mount returned %d (%s), want -EUCLEAN naming \"%s\"\n",
			what, m, udax_fs_last_error(), mmsg);
		exit(1);
	}
	T_ASSERT(!fs);
	fsck(0, &r);
	if (got.n != 1 || got.p[0].area != area || got.p[0].block != block ||
	    got.p[0].ino != ino || !strstr(got.msg[0], fmsg)) {
		fprintf(stderr, "%s: fsck: want one problem (area %d block %llu ino %u) "
			"naming \"%s\", got %d\n", what, area,
			(unsigned long long)block, ino, fmsg, got.n);
		exit(1);
	}
}

static void build(void)
{
	static const struct udax_part_spec parts[] = {
		{ .size = 8u << 20, .type = UDAX_PART_TYPE_UDAXFS },
		{ .size = 0 },
	};
	struct udax_fs *fs;
	struct udax_file *f;

	FS_OK(udax_dev_open("mem:16M", NULL, &dev));
	FS_OK(udax_dev_mkpart(dev, parts, 2, 0));
	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 64 }));
	fs = t_fs_mount(dev);
	t_fill(want_a, sizeof(want_a), 1);
	t_write_file(fs, "/a", want_a, sizeof(want_a));
	t_fill(want_e, sizeof(want_e), 2);
	t_write_file(fs, "/e1", want_e, FS_BS);		/* one block */
	t_write_file(fs, "/e2", want_e, 2 * FS_BS - 100);	/* two */
	/* /big: 20 one-block extents, all in one extent leaf (v2: none
	 * inline once there are more than 9). */
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	for (int b = 0; b < 40; b += 2) {
		t_fill(want_big + b * FS_BS, FS_BS, 100 + b);
		T_ASSERT(udax_pwrite(f, want_big + b * FS_BS, FS_BS, b * (uint64_t)FS_BS) == FS_BS);
	}
	FS_OK(udax_ftruncate(f, sizeof(want_big)));
	FS_OK(udax_close(&f));
	ia = ino_of(fs, "/a");
	ie1 = ino_of(fs, "/e1");
	ie2 = ino_of(fs, "/e2");
	ibig = ino_of(fs, "/big");
	FS_OK(udax_statfs(fs, &good_sf));
	FS_OK(udax_unmount(&fs));
	k_snapshot();
	T_ASSERT(dinode(ibig)->nr_extents == 20 && dinode(ibig)->ext_blocks == 1);
	T_ASSERT(((struct fs_dextblk *)(part + dinode(ibig)->ext_next * FS_BS))->count == 20);
	T_ASSERT(dinode(ie1)->nr_extents == 1 && (dinode(ie1)->ext[0].len & FS_DEXT_MAXLEN) == 1);
	T_ASSERT(dinode(ie2)->nr_extents == 1 && (dinode(ie2)->ext[0].len & FS_DEXT_MAXLEN) == 2);
}

/* ---- checksums ------------------------------------------------------------ */

static void test_inode_crc(void)
{
	static const struct { const char *name; size_t off; } fields[] = {
		{ "uid", offsetof(struct fs_dinode, uid) },
		{ "gid", offsetof(struct fs_dinode, gid) },
		{ "generation", offsetof(struct fs_dinode, generation) },
		{ "atime", offsetof(struct fs_dinode, atime) },
		{ "mtime", offsetof(struct fs_dinode, mtime) + 3 },
		{ "ctime", offsetof(struct fs_dinode, ctime) + 1 },
		{ "btime", offsetof(struct fs_dinode, btime) },
	};
	char what[80];

	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		((uint8_t *)dinode(ia))[fields[k].off] ^= 0x10;
		snprintf(what, sizeof(what), "inode %s changed, checksum stale",
			 fields[k].name);
		expect_refused(what, UDAX_FSCK_INODE, iblock(ia), ia, "checksum", "checksum");
		fix_inode(ia);
		snprintf(what, sizeof(what), "inode %s changed, checksum fixed",
			 fields[k].name);
		expect_clean(what);
		restore();
	}
	/* The uid really is the byte changed: it shows once the crc fits. */
	{
		struct udax_fs *fs;
		struct udax_stat st;

		dinode(ia)->uid = 4242;
		fix_inode(ia);
		fs = t_fs_mount(dev);
		FS_OK(udax_stat(fs, "/a", &st));
		T_ASSERT(st.uid == 4242);
		FS_OK(udax_unmount(&fs));
		restore();
	}
}

static void test_extent_block_crc(void)
{
	uint64_t eblk = dinode(ibig)->ext_next;
	struct fs_dextblk *eb = (void *)(part + eblk * FS_BS);
	struct fs_dext *x = &eb->ext[7];
	uint64_t old = x->pblk;

	T_ASSERT(eb->count == 20 && eb->next == 0);
	/* v2: a slot past count is outside the checksum and read by
	 * nothing: changing it is accepted, checksum untouched. */
	((uint8_t *)&eb->ext[200])[5] ^= 0x40;
	expect_clean("unused extent slot changed, checksum untouched");
	restore();

	/* Extent 7's data copied to the (free) last block and its pblk
	 * pointed there: valid for every check but the checksum. */
	T_ASSERT((x->len & FS_DEXT_MAXLEN) == 1 && old != nb - 1);
	memcpy(part + (nb - 1) * FS_BS, good + old * FS_BS, FS_BS);
	x->pblk = nb - 1;
	expect_refused("extent pblk moved to a copy, checksum stale",
		       UDAX_FSCK_EXTENT, eblk, ibig, "checksum",
		       "checksum");
	fix_block(eblk, ibig);
	expect_clean("extent pblk moved to a copy, checksum fixed");
	/* The pblk really is what changed: /big reads the new block. */
	{
		struct udax_fs *fs;
		char *data;
		size_t n;

		part[(nb - 1) * FS_BS] ^= 0x5a;
		fs = t_fs_mount(dev);
		data = t_read_file(fs, "/big", &n);
		T_ASSERT(n == sizeof(want_big) && x->lblk == 14 &&
			 (uint8_t)data[14 * FS_BS] ==
			 ((uint8_t)want_big[14 * FS_BS] ^ 0x5a));
		free(data);
		FS_OK(udax_unmount(&fs));
	}
	restore();
}

/* ---- bounds --------------------------------------------------------------- */

/* Move the data of one-extent file @ino to @pblk (and the next block). */
static void move_extent(uint32_t ino, uint64_t pblk, uint32_t len)
{
	struct fs_dinode *d = dinode(ino);
	uint64_t old = d->ext[0].pblk;

	T_ASSERT(pblk + len <= nb + 1);
	memcpy(part + pblk * FS_BS, good + old * FS_BS, (size_t)len * FS_BS);
	d->ext[0].pblk = pblk;
	d->ext[0].len = len;
	fix_inode(ino);
}

static void test_extent_end(void)
{
	/* The last block alone, and two blocks ending exactly at the end:
	 * both valid, and the file reads what was moved there. */
	move_extent(ie1, nb - 1, 1);
	expect_clean("one-block extent at the last block");
	restore();
	move_extent(ie2, nb - 2, 2);
	expect_clean("two-block extent ending at the last block");
	restore();

	/* First block inside, length reaching one block past the end (the
	 * block past it is partition 1's, readable). */
	move_extent(ie2, nb - 1, 2);
	expect_refused("extent reaching one block past the partition",
		       UDAX_FSCK_EXTENT, iblock(ie2), ie2, "invalid",
		       "outside the data area");
	restore();
	/* Starting one past. */
	move_extent(ie1, nb, 1);
	expect_refused("extent starting one block past the partition",
		       UDAX_FSCK_EXTENT, iblock(ie1), ie1, "invalid",
		       "outside the data area");
	memset(part + nb * FS_BS, 0, FS_BS);
	restore();
}

static void test_chain_pointer(void)
{
	uint64_t eblk = dinode(ibig)->ext_next;

	/* The extent leaf moved to the last block: valid. */
	memcpy(part + (nb - 1) * FS_BS, good + eblk * FS_BS, FS_BS);
	dinode(ibig)->ext_next = nb - 1;
	fix_inode(ibig);
	expect_clean("extent leaf at the last block");
	restore();

	/* A valid copy one block past the end (in partition 1): refused. */
	memcpy(part + nb * FS_BS, good + eblk * FS_BS, FS_BS);
	dinode(ibig)->ext_next = nb;
	fix_inode(ibig);
	expect_refused("extent leaf pointer equal to the block count",
		       UDAX_FSCK_EXTENT, iblock(ibig), ibig, "out of bounds",
		       "outside the data area");
	memset(part + nb * FS_BS, 0, FS_BS);
	restore();
}

/* ---- fields that one check alone guards ------------------------------------ */

/* Mount refuses naming @mmsg, and fsck finds at least one problem. */
static void expect_mount_refused(const char *what, const char *mmsg)
{
	struct udax_fsck_report r;
	struct udax_fs *fs = NULL;
	int m, f;

	fprintf(stderr, "%s: must be refused\n", what);
	m = udax_mount(dev, 0, NULL, &fs);
	if (m != -EUCLEAN || !strstr(udax_fs_last_error(), mmsg)) {
		fprintf(stderr, "%s: mount returned %d (%s), want -EUCLEAN naming \"%s\"\n",
			what, m, udax_fs_last_error(), mmsg);
		exit(1);
	}
	got.n = 0;
	f = udax_fsck(dev, 0, 0, collect, NULL, &r);
	if (f != -EUCLEAN && (f || !r.problems)) {
		fprintf(stderr, "%s: fsck returned %d with %llu problems\n", what, f,
			(unsigned long long)r.problems);
		exit(1);
	}
	restore();
}

static void both_supers(void (*change)(struct fs_dsuper *))
{
	for (int c = 0; c < 2; c++) {
		struct fs_dsuper *s = (void *)(part + c * FS_BS);

		change(s);
		s->crc = udax_crc32c(0, s, 252);
	}
}

static void sb_version(struct fs_dsuper *s) { s->version = FS_VERSION + 1; }
static void sb_reserved(struct fs_dsuper *s) { s->reserved[100] = 1; }

/* A committed journal transaction of one record (@off, @len bytes of the
 * image there), with @extra bytes of body after it. */
static void journal_one(uint64_t off, uint32_t len, uint32_t reserved, uint32_t extra)
{
	char *j = part + sb.journal_start * FS_BS;
	struct fs_djhdr *h = (void *)j;
	struct fs_djrec *r = (void *)(j + FS_BS);

	r->off = off;
	r->len = len;
	r->reserved = reserved;
	memcpy(r + 1, part + (off < part_size - len ? off : part_size - len), len);
	memset(h, 0, sizeof(*h));
	h->magic = FS_JNL_MAGIC;
	h->version = FS_VERSION;
	h->nr_records = 1;
	h->seq = 9;
	h->body_len = sizeof(*r) + ((len + 7) & ~7u) + extra;
	h->body_crc = udax_crc32c(0, r, h->body_len);
	h->crc = udax_crc32c(0, h, 60);
}

static void test_single_checks(void)
{
	uint64_t eblk = dinode(ibig)->ext_next;

	both_supers(sb_version);
	expect_mount_refused("superblock version", "unknown version");
	both_supers(sb_reserved);
	expect_mount_refused("superblock reserved bytes", "reserved field");

	dinode(ia)->flags = 1;
	fix_inode(ia);
	expect_mount_refused("inode flags (reserved)", "reserved field");
	dinode(ia)->blocks++;			/* the map holds one less */
	fix_inode(ia);
	expect_refused("inode block count (inline map)", UDAX_FSCK_INODE, iblock(ia), ia,
		       "block count", "block count");
	restore();
	dinode(ibig)->blocks--;
	fix_inode(ibig);
	expect_refused("inode block count (leaves)", UDAX_FSCK_INODE, iblock(ibig), ibig,
		       "block count", "block count");
	restore();
	dinode(ia)->ext[6].lblk = 7;
	fix_inode(ia);
	expect_mount_refused("stray inline extent slot", "stray inline extent");

	dinode(ibig)->ext[3].pblk = dinode(ie1)->ext[0].pblk;
	fix_inode(ibig);
	expect_mount_refused("inline extent beside extent leaves",
			     "inline extents beside extent leaves");

	((struct fs_dextblk *)(part + eblk * FS_BS))->reserved = 1;
	fix_block(eblk, ibig);
	expect_mount_refused("extent leaf reserved field", "reserved field");
	((struct fs_dextblk *)(part + eblk * FS_BS))->version = FS_EXT_VERSION + 1;
	fix_block(eblk, ibig);
	expect_mount_refused("extent leaf version", "unknown version");

	/* A valid transaction replays (the control), then one field each. */
	journal_one(sb.itable_start * FS_BS + ia * 256ull, 256, 0, 0);
	{
		struct udax_fs *fs = t_fs_mount(dev);

		FS_OK(udax_unmount(&fs));
		restore();
	}
	journal_one(part_size - 128, 256, 0, 0);	/* 128 bytes into partition 1 */
	expect_mount_refused("journal record past the partition", "out of bounds");
	journal_one(sb.itable_start * FS_BS + ia * 256ull, 256, 1, 0);
	expect_mount_refused("journal record reserved field", "out of bounds");
	journal_one(sb.itable_start * FS_BS + ia * 256ull, 256, 0, 8);
	expect_mount_refused("journal body with trailing bytes", "trailing bytes");

	/* Directory entries are checked when the directory is read. */
	{
		uint64_t blk;
		struct fs_ddirent *e = dirent_of(UDAX_ROOT_INO, "e1", &blk);
		struct udax_fsck_report r;
		struct udax_dirent de;
		struct udax_dir *d;
		struct udax_fs *fs;
		int ret;

		memcpy(e->name, "..", 2);
		fix_block(blk, UDAX_ROOT_INO);
		fs = t_fs_mount(dev);
		FS_OK(udax_opendir(fs, "/", &d));
		while ((ret = udax_readdir(d, &de)) == 1)
			;
		if (ret != -EUCLEAN || !strstr(udax_fs_last_error(), "\"..\"")) {
			fprintf(stderr, "an entry named \"..\": readdir gave %d (%s)\n",
				ret, udax_fs_last_error());
			exit(1);
		}
		FS_OK(udax_closedir(&d));
		FS_OK(udax_unmount(&fs));
		fsck(0, &r);
		T_ASSERT(got.n >= 1 && has(UDAX_FSCK_DIR, blk, UDAX_ROOT_INO));
		restore();
	}
}

int main(void)
{
	struct udax_part_info p1;

	build();
	/* Partition 1 starts right where partition 0 ends. */
	FS_OK(udax_dev_part(dev, 1, &p1));
	T_ASSERT((char *)p1.addr == part + part_size);
	expect_clean("the image as built");
	test_inode_crc();
	test_extent_block_crc();
	test_extent_end();
	test_chain_pointer();
	test_single_checks();
	FS_OK(udax_dev_close(&dev, 0));
	free(good);
	printf("fs_corrupt_exact: ok\n");
	return 0;
}
