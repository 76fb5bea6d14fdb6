/* SPDX-License-Identifier: MIT */
/*
 * fs core: extended-attribute blocks on media (core.h, struct
 * fs_dxattrhdr) - their checksum and validator, shared by the xattr
 * operations (ops/xattr.c, which validate the block at every read) and
 * fsck.
 */
#include <errno.h>
#include <string.h>
#include <udax/crc32c.h>

#include "fs/core.h"

#define HDR		sizeof(struct fs_dxattrhdr)

uint32_t fs_xattrblk_crc(uint32_t ino, const uint8_t *b)
{
	return udax_crc32c(ino, b + 8, FS_BS - 8);
}

static bool name_ok(const char *n, size_t len)
{
	return len && !memchr(n, 0, len);
}

int fs_xattr_block_check(const uint8_t *b, uint32_t ino, const char **why)
{
	const struct fs_dxattrhdr *h = (const void *)b;
	uint32_t off = HDR, n = 0;

	if (h->magic != FS_XATTR_MAGIC)
		return *why = "bad magic", -EUCLEAN;
	if (h->crc != fs_xattrblk_crc(ino, b))
		return *why = "checksum mismatch", -EUCLEAN;
	if (h->ino != ino)
		return *why = "wrong owner", -EUCLEAN;
	if (h->version != FS_XATTR_VERSION || h->reserved)
		return *why = "bad version or reserved field", -EUCLEAN;
	if (!h->count || h->used > FS_XATTR_ROOM)
		return *why = "bad count or length", -EUCLEAN;
	while (off < HDR + h->used) {
		const struct fs_dxattrent *e = (const void *)(b + off);
		uint32_t len;

		if (off + 4 > HDR + h->used)
			return *why = "entry past the end", -EUCLEAN;
		len = FS_XATTR_ENT_LEN(e->name_len, e->value_len);
		if (off + len > HDR + h->used)
			return *why = "entry past the end", -EUCLEAN;
		if (!name_ok(e->name, e->name_len) || e->reserved)
			return *why = "bad name", -EUCLEAN;
		off += len;
		n++;
	}
	if (n != h->count)
		return *why = "count disagrees with the entries", -EUCLEAN;
	for (uint32_t k = HDR + h->used; k < FS_BS; k++)
		if (b[k])
			return *why = "bytes after the entries", -EUCLEAN;
	return 0;
}
