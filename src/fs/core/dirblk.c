/* SPDX-License-Identifier: MIT */
/*
 * fs core: directory blocks on media (docs/fs.md, "Directory blocks") -
 * their checksum and validators, shared by the directory index (which
 * validates every block once, when a directory is first used), the
 * namespace operations (ops/dir.c) and fsck; and the address of a
 * directory's block k.  The records' layout is ext2's: a header, then
 * records that tile the block.
 */
#include <errno.h>
#include <string.h>
#include <udax/crc32c.h>

#include "fs/core.h"

uint32_t fs_dirblk_crc(uint32_t ino, const void *b)
{
	return udax_crc32c(ino, (const char *)b + 8, FS_BS - 8);
}

int fs_dirblk_hdr_check(const uint8_t *b, uint32_t dino, const char **why)
{
	const struct fs_ddirhdr *h = (const void *)b;

	if (h->magic != FS_DIR_MAGIC)
		*why = "bad magic";
	else if (h->crc != fs_dirblk_crc(dino, b))
		*why = "checksum mismatch";
	else if (h->ino != dino)
		*why = "wrong owner";
	else if (h->reserved)
		*why = "reserved field not zero";
	else
		return 0;
	return -EUCLEAN;
}

int fs_dirent_check(const uint8_t *b, uint32_t off, uint32_t nr_inodes,
		    const char **why)
{
	const struct fs_ddirent *e = (const void *)(b + off);

	if (off + 8 > FS_BS || e->rec_len < 8 || e->rec_len % 4 ||
	    e->rec_len > FS_BS - off)
		return *why = "bad record length", -EUCLEAN;
	if (8u + e->name_len > e->rec_len)
		return *why = "name longer than its record", -EUCLEAN;
	if (!e->ino)
		return 0;
	if (e->ino >= nr_inodes)
		*why = "inode number out of range";
	else if (!e->name_len)
		*why = "empty name";
	else if (!fs_mode_type_valid((uint32_t)e->type << 12))
		*why = "bad type";
	else if (memchr(e->name, '/', e->name_len) ||
		 memchr(e->name, 0, e->name_len))
		*why = "'/' or NUL in the name";
	else if (fs_name_is_dot(e->name, e->name_len))
		*why = "name \".\" or \"..\"";
	else
		return 0;
	return 1;
}

/* Validate a directory block of directory @dino (media read under ns_lock,
 * which every writer of directory blocks holds, or a private copy). */
static int dblk_check(uint32_t dino, uint64_t pblk, const uint8_t *b,
		      uint32_t nr_inodes)
{
	uint32_t off = sizeof(struct fs_ddirhdr);
	const char *why;

	if (fs_dirblk_hdr_check(b, dino, &why))
		goto bad;
	while (off < FS_BS) {
		if (fs_dirent_check(b, off, nr_inodes, &why))
			goto bad;
		off += ((const struct fs_ddirent *)(b + off))->rec_len;
	}
	return 0;
bad:
	return fs_error(-EUCLEAN, "directory %u: block %llu corrupt: %s", dino,
			(unsigned long long)pblk, why);
}

const uint8_t *fs_dir_block_addr(struct fs_inode *dir, uint64_t k)
{
	struct fs_xpos xp;
	const struct fs_extent *e = fs_xmap_seek(dir, k, &xp);

	if (!e || e->lblk > k || (e->flags & FS_EXT_UNWRITTEN))
		return NULL;
	return fs_block_addr(dir->fs, e->pblk + (k - e->lblk));
}

int fs_dir_block_check(struct fs_inode *dir, uint64_t k, const uint8_t **out)
{
	struct fs_xpos xp;
	const struct fs_extent *e = fs_xmap_seek(dir, k, &xp);
	uint64_t pblk;

	if (!e || e->lblk > k || (e->flags & FS_EXT_UNWRITTEN))
		return fs_error(-EUCLEAN, "directory %u: block %llu missing",
				dir->ino, (unsigned long long)k);
	pblk = e->pblk + (k - e->lblk);
	*out = fs_block_addr(dir->fs, pblk);
	return dblk_check(dir->ino, pblk, *out, C(dir->fs)->sb.nr_inodes);
}
