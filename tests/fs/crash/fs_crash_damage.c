/* SPDX-License-Identifier: MIT */
/*
 * fs_crash_recovery: the base tree the repair/X and mkfs/X cases start
 * from, and the damage done to its media for repair/X (fs_fsck.c has the
 * same damage, checked without crashes).
 */
#include <dirent.h>
#include <udax/fsck.h>

#include "fs/core.h"
#include "fs_crash_recovery.h"

/* ---- the base tree and its media ---------------------------------------------------- */

uint8_t *rc_base_img;		/* a whole device: the base tree, unmounted */
static struct fs_dsuper sb;
static uint32_t i_a, i_b, i_big, i_d, i_dsub;

static uint8_t *part_of(uint8_t *img)
{
	struct udax_part_info pi;

	FS_OK(udax_dev_part(rc_dev2, 0, &pi));
	return img + pi.offset;
}

static struct fs_dinode *dinode(uint8_t *img, uint32_t ino)
{
	return (void *)(part_of(img) + sb.itable_start * FS_BS + ino * 256ull);
}

static void fix_inode(uint8_t *img, uint32_t ino)
{
	dinode(img, ino)->crc = udax_crc32c(ino, dinode(img, ino), 252);
}

/* The entry @name in the first block of directory @dir; fix_dir after. */
static struct fs_ddirent *dirent_of(uint8_t *img, uint32_t dir, const char *name)
{
	uint8_t *blk = part_of(img) + dinode(img, dir)->ext[0].pblk * FS_BS;

	for (uint32_t off = 16; off < FS_BS;) {
		struct fs_ddirent *e = (void *)(blk + off);

		if (e->ino && e->name_len == strlen(name) &&
		    !memcmp(e->name, name, e->name_len))
			return e;
		T_ASSERT(e->rec_len >= 8);
		off += e->rec_len;
	}
	fprintf(stderr, "no entry %s in directory %u\n", name, dir);
	exit(1);
}

static void fix_dir(uint8_t *img, uint32_t dir)
{
	uint8_t *blk = part_of(img) + dinode(img, dir)->ext[0].pblk * FS_BS;

	((uint32_t *)blk)[1] = udax_crc32c(dir, blk + 8, FS_BS - 8);
}

static uint32_t ino_of(struct udax_fs *fs, const char *path)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, path, &st));
	return st.ino;
}

/* cr_setup's tree, a hard link and a subdirectory, unmounted on rc_dev2. */
void rc_build_base(void)
{
	struct udax_mkfs_opts mo = { .nr_inodes = 256, .journal_blocks = 64 };
	struct udax_fs *fs;

	if (rc_base_img)
		return;
	FS_OK(udax_mkfs(rc_dev2, 0, &mo));
	fs = t_fs_mount(rc_dev2);
	cr_setup(fs);
	FS_OK(udax_link(fs, "/b", "/d/b2"));
	FS_OK(udax_mkdir(fs, "/d/sub", 0750));
	i_a = ino_of(fs, "/a");
	i_b = ino_of(fs, "/b");
	i_big = ino_of(fs, "/big");
	i_d = ino_of(fs, "/d");
	i_dsub = ino_of(fs, "/d/sub");
	FS_OK(udax_unmount(&fs));
	rc_base_img = malloc(rc_dev_size(rc_dev2));
	T_ASSERT(rc_base_img);
	memcpy(rc_base_img, rc_dev_addr(rc_dev2), rc_dev_size(rc_dev2));
	memcpy(&sb, part_of(rc_base_img), sizeof(sb));
}

/* ---- the damage ------------------------------------------------------------------ */

static void dmg_nlink(uint8_t *img)
{
	dinode(img, i_a)->nlink = 3;
	fix_inode(img, i_a);
}

static void dmg_parent(uint8_t *img)
{
	dinode(img, i_dsub)->parent = UDAX_ROOT_INO;	/* /d is */
	fix_inode(img, i_dsub);
}

/* /d/b2 names a free inode: the entry goes, /b's count follows. */
static void dmg_entry_free(uint8_t *img)
{
	dirent_of(img, i_d, "b2")->ino = sb.nr_inodes - 1;
	fix_dir(img, i_d);
}

static void dmg_entry_type(uint8_t *img)
{
	dirent_of(img, i_d, "x")->type = DT_DIR;
	fix_dir(img, i_d);
}

/* /big named nowhere with link count 0: its record (and chain) freed. */
static void dmg_orphan(uint8_t *img)
{
	dirent_of(img, UDAX_ROOT_INO, "big")->ino = 0;
	fix_dir(img, UDAX_ROOT_INO);
	dinode(img, i_big)->nlink = 0;
	fix_inode(img, i_big);
}

/* /a is 10000 bytes: bytes past its end in its last block. */
static void dmg_tail(uint8_t *img)
{
	uint8_t *b = part_of(img) + dinode(img, i_a)->ext[0].pblk * FS_BS + 2 * FS_BS;

	T_ASSERT(dinode(img, i_a)->ext[0].len >= 3);
	memset(b + 10000 - 2 * FS_BS + 100, 0x5a, 700);
}

/* /big (20 one-block extents, in one leaf): extent 12 points past the
 * partition, the leaf's checksum fixed: the list is cut to 12 extents. */
static void dmg_leaf_extent(uint8_t *img)
{
	struct fs_dextblk *eb;

	T_ASSERT(dinode(img, i_big)->ext_blocks == 1);
	eb = (void *)(part_of(img) + dinode(img, i_big)->ext_next * FS_BS);
	T_ASSERT(eb->count == 20);
	eb->ext[12].pblk = sb.nr_blocks + 7;
	eb->crc = udax_crc32c(i_big, (uint8_t *)eb + 8,
			      offsetof(struct fs_dextblk, ext[20]) - 8);
}

/* /big's leaf torn (checksum mismatch): the list is cut to nothing. */
static void dmg_leaf_crc(uint8_t *img)
{
	uint8_t *eb = part_of(img) + dinode(img, i_big)->ext_next * FS_BS;

	eb[40] ^= 0x21;
}

static void dmg_super_b(uint8_t *img)
{
	part_of(img)[FS_BS + 20] ^= 0x10;
}

static void dmg_all(uint8_t *img)
{
	dmg_nlink(img);
	dmg_parent(img);
	dmg_entry_free(img);
	dmg_entry_type(img);
	dmg_orphan(img);
	dmg_tail(img);
	dmg_super_b(img);
}

static int act_mkdir(struct udax_dev *d, void *arg)
{
	struct udax_fs *fs;
	int ret = udax_mount(d, 0, NULL, &fs);

	(void)arg;
	if (ret)
		return ret;
	ret = udax_mkdir(fs, "/d/new", 0755);
	return ret ? ret : udax_unmount(&fs);
}

/* A committed transaction not written home yet (mkdir /d/new, crashed
 * right after its commit point). */
static void dmg_journal(uint8_t *img)
{
	static const struct rc_path p;
	struct udax_crash *c;
	struct udax_fsck_report rep;
	bool found = false;

	rc_put(rc_devr[0], img);
	c = rc_record(rc_devr[0], act_mkdir, NULL, &p);
	T_ASSERT(c);
	for (uint64_t k = 0; k <= udax_crash_fences(c) && !found; k++) {
		struct rc_key none = { k, { UDAX_CRASH_PREFIX, 0 } };

		rc_load(rc_dev2, c, &none);
		FS_OK(udax_fsck(rc_dev2, 0, 0, NULL, NULL, &rep));
		found = rep.journal_committed;
	}
	T_ASSERT(found);
	memcpy(img, rc_dev_addr(rc_dev2), rc_dev_size(rc_dev2));
	udax_crash_delete(&c);
}

const struct rc_damage rc_damages[] = {
	{ "repair/nlink", dmg_nlink },
	{ "repair/parent", dmg_parent },
	{ "repair/entry-free-inode", dmg_entry_free },
	{ "repair/entry-type", dmg_entry_type },
	{ "repair/orphan", dmg_orphan },
	{ "repair/tail", dmg_tail },
	{ "repair/leaf-extent", dmg_leaf_extent },
	{ "repair/leaf-crc", dmg_leaf_crc },
	{ "repair/super-b", dmg_super_b },
	{ "repair/journal", dmg_journal },
	{ "repair/all", dmg_all },
};

const size_t rc_ndamages = sizeof(rc_damages) / sizeof(rc_damages[0]);
