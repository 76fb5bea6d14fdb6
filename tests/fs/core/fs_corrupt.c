/* SPDX-License-Identifier: MIT */
/*
 * Corrupted images: bad checksums and bad fields (with checksums made to
 * match) in the superblock, inodes, extent blocks, directory blocks and
 * the journal make mount or the access fail with -EUCLEAN and a message,
 * never a crash (run it under ASan).  Then a fuzzer: random bytes of
 * random structures changed, checksums fixed up or not, and the result
 * mounted and walked.
 */
#include "fs/core.h"
#include "fs_util.h"

static struct udax_dev *dev;
static char *part;			/* partition block 0 */
static size_t part_size;
static uint8_t *good;			/* the image before corruption */
static struct fs_dsuper sb;

static void save(void)
{
	good = malloc(part_size);
	T_ASSERT(good);
	memcpy(good, part, part_size);
	memcpy(&sb, part, sizeof(sb));
}

static void restore(void)
{
	memcpy(part, good, part_size);
}

static struct fs_dinode *dinode(uint32_t ino)
{
	return (void *)(part + sb.itable_start * FS_BS + ino * 256ull);
}

static void fix_inode(uint32_t ino)
{
	struct fs_dinode *d = dinode(ino);

	d->crc = udax_crc32c(ino, d, 252);
}

static void fix_block(uint64_t pblk, uint32_t ino)
{
	uint32_t *b = (void *)(part + pblk * FS_BS);

	size_t len = FS_BS;

	/* An extent leaf's checksum covers its header and used extents. */
	if (b[0] == FS_EXT_MAGIC) {
		const struct fs_dextblk *eb = (const void *)b;

		len = offsetof(struct fs_dextblk, ext) + 16u *
		      (eb->count <= FS_EB_EXTS ? eb->count : FS_EB_EXTS);
	}
	b[1] = udax_crc32c(ino, (char *)b + 8, len - 8);
}

static void fix_super(int copy)
{
	struct fs_dsuper *s = (void *)(part + copy * FS_BS);

	s->crc = udax_crc32c(0, s, 252);
}

/* A committed transaction writing record @di of inode @ino, in the lane
 * whose header is journal block @hdr, its body at journal block @body. */
static void put_txn(uint32_t hdr, uint32_t body, uint32_t ino,
		    const struct fs_dinode *di)
{
	char *j = part + sb.journal_start * FS_BS;
	struct fs_djhdr *h = (void *)(j + (size_t)hdr * FS_BS);
	struct fs_djrec *r = (void *)(j + (size_t)body * FS_BS);

	if (body < sb.journal_blocks) {
		r->off = sb.itable_start * FS_BS + ino * 256ull;
		r->len = 256;
		r->reserved = 0;
		memcpy(r + 1, di, 256);
	}
	memset(h, 0, sizeof(*h));
	h->magic = FS_JNL_MAGIC;
	h->version = FS_VERSION;
	h->nr_records = 1;
	h->seq = 9;
	h->body_len = sizeof(*r) + 256;
	h->body_blk = body;
	h->body_crc = body < sb.journal_blocks ?
		      udax_crc32c(0, r, h->body_len) : 0;
	h->crc = udax_crc32c(0, h, 60);
}

static void expect_mount_fails(const char *what)
{
	struct udax_fs *fs = NULL;
	int r = udax_mount(dev, 0, NULL, &fs);

	if (r != -EUCLEAN) {
		fprintf(stderr, "%s: mount returned %d (%s), want -EUCLEAN\n",
			what, r, udax_fs_last_error());
		exit(1);
	}
	T_ASSERT(!fs && udax_fs_last_error()[0]);
	restore();
}

static uint32_t ino_of(struct udax_fs *fs, const char *path)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, path, &st));
	return st.ino;
}

/* Walk everything, tolerating errors; depth-bounded (corrupt trees may
 * hold cycles). */
static void walk(struct udax_fs *fs, const char *path, int depth)
{
	struct udax_dirent e;
	struct udax_dir *d;
	char p[600];
	static char buf[1 << 16];

	if (depth > 6 || udax_opendir(fs, path, &d))
		return;
	for (int n = 0; n < 2000 && udax_readdir(d, &e) == 1; n++) {
		struct udax_stat st;
		struct udax_file *f;

		if (snprintf(p, sizeof(p), "%s/%s", depth ? path : "", e.name) >= (int)sizeof(p))
			continue;	/* too deep to name: skip */
		if (udax_stat(fs, p, &st))
			continue;
		if (S_ISDIR(st.mode)) {
			walk(fs, p, depth + 1);
		} else if (!udax_open(fs, p, O_RDWR, 0, &f)) {
			udax_pread(f, buf, sizeof(buf), 0);
			udax_pwrite(f, buf, 100, 5000);
			udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
				       0, 8192);
			udax_ftruncate(f, 3000);
			udax_close(&f);
		}
	}
	udax_closedir(&d);
	udax_mkdir(fs, "/fuzz-new", 0755);
	udax_rename(fs, "/fuzz-new", "/d/fuzz-new", 0);
	udax_rmdir(fs, "/d/fuzz-new");
}

int main(void)
{
	struct udax_part_info pi;
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_stat st;
	uint32_t ia, ibig, id;
	uint64_t seed = 99, dblk, eblk;
	long iters = t_iters(400);
	int mounted = 0, failed = 0;
	char buf[8192];

	dev = t_fs_dev("mem:8M");
	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 64 }));
	fs = t_fs_mount(dev);
	t_fill(buf, sizeof(buf), 1);
	t_write_file(fs, "/a", buf, 5000);
	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/x", buf, 100);
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	for (int b = 0; b < 40; b += 2)
		T_ASSERT(udax_pwrite(f, buf, 4096, b * 4096ull) == 4096);
	FS_OK(udax_close(&f));
	ia = ino_of(fs, "/a");
	ibig = ino_of(fs, "/big");
	id = ino_of(fs, "/d");
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_part(dev, 0, &pi));
	part = pi.addr;
	part_size = pi.size;
	save();
	dblk = dinode(id)->ext[0].pblk;
	eblk = dinode(ibig)->ext_next;
	T_ASSERT(eblk && dinode(ibig)->nr_extents == 20);

	/* Superblock: both copies bad in various ways. */
	part[10] ^= 1;
	part[FS_BS + 10] ^= 1;
	expect_mount_fails("superblock checksums");
	for (int c = 0; c < 2; c++) {
		((struct fs_dsuper *)(part + c * FS_BS))->nr_inodes = 1u << 30;
		fix_super(c);
	}
	expect_mount_fails("superblock geometry");
	for (int c = 0; c < 2; c++) {
		((struct fs_dsuper *)(part + c * FS_BS))->label[31] = 'x';
		memset(((struct fs_dsuper *)(part + c * FS_BS))->label, 'x', 32);
		fix_super(c);
	}
	expect_mount_fails("superblock label");
	/* Older formats, refused saying so: version 1 (extent chains), 2 (before links,
	 * special files, xattrs), 3 (no block count in inode records), 4 (a journal
	 * of one lane). */
	for (uint32_t v = 1; v <= 4; v++) {
		char what[40];

		for (int c = 0; c < 2; c++) {
			((struct fs_dsuper *)(part + c * FS_BS))->version = v;
			fix_super(c);
		}
		snprintf(what, sizeof(what), "format version %u", v);
		expect_mount_fails(what);
		T_ASSERT(strstr(udax_fs_last_error(), what + 7) &&
			 strstr(udax_fs_last_error(), "reads version 5"));
	}

	/* Inodes. */
	((char *)dinode(ia))[30] ^= 4;
	expect_mount_fails("inode checksum");
	dinode(ia)->ext[0].pblk = pi.size / FS_BS;
	fix_inode(ia);
	expect_mount_fails("extent past the end");
	dinode(ia)->ext[0].pblk = 3;		/* the journal */
	fix_inode(ia);
	expect_mount_fails("extent in metadata");
	dinode(ia)->ext[0].pblk = ((struct fs_dextblk *)(part + eblk * FS_BS))->ext[1].pblk;
	fix_inode(ia);
	expect_mount_fails("block owned twice");
	T_ASSERT(strstr(udax_fs_last_error(), "overlaps"));
	dinode(ia)->mode = S_IFIFO | 0644;
	fix_inode(ia);
	expect_mount_fails("inode type");
	dinode(ia)->nr_extents = 12;
	fix_inode(ia);
	expect_mount_fails("extent count");
	dinode(ia)->ext[0].lblk = 0xffffffffu;
	fix_inode(ia);
	expect_mount_fails("extent past 2^32 blocks");
	dinode(UDAX_ROOT_INO)->mode = S_IFREG | 0644;
	fix_inode(UDAX_ROOT_INO);
	expect_mount_fails("root not a directory");
	memset(dinode(UDAX_ROOT_INO), 0, 256);
	expect_mount_fails("root free");
	dinode(63)->mode = 0;
	dinode(63)->uid = 1;			/* free but not zero */
	expect_mount_fails("free inode not zero");

	/* Extent blocks. */
	part[eblk * FS_BS + 100] ^= 1;
	expect_mount_fails("extent block checksum");
	((struct fs_dextblk *)(part + eblk * FS_BS))->count = 300;
	fix_block(eblk, ibig);
	expect_mount_fails("extent block count");
	((struct fs_dextblk *)(part + eblk * FS_BS))->next = 5;
	fix_block(eblk, ibig);
	expect_mount_fails("extent block next");
	((struct fs_dextblk *)(part + eblk * FS_BS))->ino = ia;
	fix_block(eblk, ibig);
	expect_mount_fails("extent block owner");

	/* Directory blocks: checked at access. */
	part[dblk * FS_BS + 30] ^= 1;
	fs = t_fs_mount(dev);
	FS_ERR(udax_stat(fs, "/d/x", &st), -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "directory"));
	{
		struct udax_dir *d;
		struct udax_dirent e;

		FS_OK(udax_opendir(fs, "/d", &d));
		FS_ERR(udax_readdir(d, &e), -EUCLEAN);
		FS_OK(udax_closedir(&d));
	}
	FS_ERR(udax_open(fs, "/d/y", O_RDWR | O_CREAT, 0644, &f), -EUCLEAN);
	FS_OK(udax_unmount(&fs));
	restore();
	((struct fs_ddirent *)(part + dblk * FS_BS + 16))->rec_len = 6;
	fix_block(dblk, id);
	fs = t_fs_mount(dev);
	FS_ERR(udax_stat(fs, "/d/x", &st), -EUCLEAN);
	FS_OK(udax_unmount(&fs));
	restore();
	((struct fs_ddirent *)(part + dblk * FS_BS + 16))->ino = 40;	/* free */
	fix_block(dblk, id);
	fs = t_fs_mount(dev);
	FS_ERR(udax_stat(fs, "/d/x", &st), -EUCLEAN);
	FS_OK(udax_unmount(&fs));
	restore();

	/* Inode records changed while mounted: checked when read, also by a
	 * stat that reads the record without loading the inode (an extent
	 * past the partition, or a bad field, checksum fixed: only the
	 * record's checks see it); stat of the parent still works. */
	fs = t_fs_mount(dev);
	dinode(ia)->ext[0].pblk = part_size / FS_BS;
	fix_inode(ia);
	FS_ERR(udax_stat(fs, "/a", &st), -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "extent"));
	restore();
	dinode(ia)->parent = id;		/* a file with a parent */
	fix_inode(ia);
	FS_ERR(udax_lstat(fs, "/a", &st), -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "parent"));
	restore();
	((char *)dinode(ia))[8] ^= 1;		/* flags: checksum stale */
	FS_ERR(udax_stat(fs, "/a", &st), -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "checksum"));
	restore();
	FS_OK(udax_stat(fs, "/a", &st));
	T_ASSERT(st.size == 5000 && st.blocks == 2);
	/* A stat takes a map of leaves' block count from the record (it
	 * reads no leaf); the leaves are checked where they are used. */
	part[eblk * FS_BS + 100] ^= 1;
	FS_OK(udax_stat(fs, "/big", &st));
	T_ASSERT(st.blocks == 20);
	FS_ERR(udax_open(fs, "/big", O_RDONLY, 0, &f), -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "extent leaf"));
	FS_OK(udax_unmount(&fs));
	restore();

	/* Journal: a complete transaction replays; a torn header is
	 * ignored; a bad body or record is corruption. */
	{
		char *j = part + sb.journal_start * FS_BS;
		struct fs_djhdr *h = (void *)j;
		struct fs_djrec *r = (void *)(j + FS_BS);
		struct fs_dinode di = *dinode(ia);

		di.uid = 4242;
		di.crc = udax_crc32c(ia, &di, 252);
		put_txn(0, 1, ia, &di);			/* lane 0: h, r */
		memcpy(good, part, part_size);		/* keep this image */

		fs = t_fs_mount(dev);
		FS_OK(udax_stat(fs, "/a", &st));
		T_ASSERT(st.uid == 4242);
		FS_OK(udax_unmount(&fs));
		T_ASSERT(h->magic == 0);		/* emptied */
		restore();

		h->crc ^= 1;				/* torn: ignored */
		fs = t_fs_mount(dev);
		FS_OK(udax_stat(fs, "/a", &st));
		T_ASSERT(st.uid == 0);
		FS_OK(udax_unmount(&fs));
		restore();

		((char *)(r + 1))[5] ^= 1;		/* body */
		expect_mount_fails("journal body checksum");
		r->off = 0;				/* the superblock */
		h->body_crc = udax_crc32c(0, r, h->body_len);
		h->crc = udax_crc32c(0, h, 60);
		expect_mount_fails("journal record out of bounds");
		r->len = 100000;
		h->body_crc = udax_crc32c(0, r, h->body_len);
		h->crc = udax_crc32c(0, h, 60);
		expect_mount_fails("journal record length");
		h->body_len = 1u << 30;
		h->crc = udax_crc32c(0, h, 60);
		expect_mount_fails("journal body length");
		memset(j, 0, FS_BS);
		memcpy(good, part, part_size);
	}

	/* Journal lanes: a transaction in any lane replays; two lanes'
	 * transactions writing the same bytes, or a body outside its lane,
	 * are corruption; the lane count is 1..FS_JNL_LANES_MAX. */
	{
		struct fs_dinode di = *dinode(ia);
		uint32_t first, nb, f0, n0;

		T_ASSERT(sb.journal_lanes == 8);
		fs_jlane_geom(&sb, 3, &first, &nb);
		fs_jlane_geom(&sb, 0, &f0, &n0);
		T_ASSERT(first >= n0 && nb >= FS_JNL_LANE_MIN);
		di.uid = 4343;
		di.crc = udax_crc32c(ia, &di, 252);
		put_txn(first, first + 1, ia, &di);
		memcpy(good, part, part_size);
		fs = t_fs_mount(dev);
		FS_OK(udax_stat(fs, "/a", &st));
		T_ASSERT(st.uid == 4343);
		FS_OK(udax_unmount(&fs));
		T_ASSERT(((struct fs_djhdr *)(part + (sb.journal_start + first) *
					      FS_BS))->magic == 0);
		restore();

		put_txn(f0, f0 + 1, ia, &di);		/* the same bytes in lane 0 */
		expect_mount_fails("two lanes writing the same bytes");
		T_ASSERT(strstr(udax_fs_last_error(), "lanes 0 and 3"));
		put_txn(first, first + nb, ia, &di);	/* body past its lane */
		expect_mount_fails("journal body outside its lane");
		put_txn(first, f0 + 1, ia, &di);	/* body in lane 0 */
		expect_mount_fails("journal body in another lane");
		memset(part + (sb.journal_start + first) * FS_BS, 0, FS_BS);
		memcpy(good, part, part_size);

		for (int c = 0; c < 2; c++) {
			((struct fs_dsuper *)(part + c * FS_BS))->journal_lanes = 0;
			fix_super(c);
		}
		expect_mount_fails("no journal lane");
		for (int c = 0; c < 2; c++) {
			((struct fs_dsuper *)(part + c * FS_BS))->journal_lanes =
				FS_JNL_LANES_MAX + 1;
			fix_super(c);
		}
		expect_mount_fails("too many journal lanes");
	}

	/* Fuzz: change 1-4 bytes of a random structure; fix the checksum
	 * most of the time so that field validation is what stands. */
	for (long it = 0; it < iters; it++) {
		uint64_t r = t_rand(&seed);
		int which = r % 5, nflip = 1 + (r >> 8) % 4;
		bool fix = (r >> 16) % 4 != 0;
		uint32_t ino = 1 + (r >> 20) % 5;
		char *base;
		size_t len;

		switch (which) {
		case 0: base = (char *)dinode(ino); len = 252; break;
		case 1: base = part + dblk * FS_BS; len = FS_BS; break;
		case 2: base = part + eblk * FS_BS; len = FS_BS; break;
		case 3: base = part + dinode(1)->ext[0].pblk * FS_BS; len = FS_BS; break;
		default: base = part; len = 252; break;
		}
		for (int k = 0; k < nflip; k++)
			base[t_rand(&seed) % len] ^= (char)(1 + t_rand(&seed) % 255);
		if (fix) {
			switch (which) {
			case 0: fix_inode(ino); break;
			case 1: fix_block(dblk, id); break;
			case 2: fix_block(eblk, ibig); break;
			case 3: fix_block(dinode(1)->ext[0].pblk, 1); break;
			default: fix_super(0); break;
			}
		}
		fs = NULL;
		if (udax_mount(dev, 0, NULL, &fs) == 0) {
			mounted++;
			walk(fs, "/", 0);
			walk(fs, "/", 0);
			FS_OK(udax_unmount(&fs));
		} else {
			failed++;
		}
		restore();
	}
	printf("fuzz: %d images mounted and walked, %d refused\n", mounted, failed);
	FS_OK(udax_dev_close(&dev, 0));
	free(good);
	return 0;
}
