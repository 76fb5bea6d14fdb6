/* SPDX-License-Identifier: MIT */
/*
 * Which unflushed stores a committed journal transaction redoes (the
 * file system's crash tests, and tests that check a call leaves nothing
 * unflushed).
 *
 * A commit writes its records home after its header is durable and
 * leaves them unflushed: the next fence flushes them (docs/fs.md,
 * Journal).  Until then a power failure may lose them, or write some back
 * early, and either way is safe because the header and body on media
 * rewrite exactly those bytes at the next mount.  So a store still
 * unflushed when an operation returns is no bug if, and only if, the
 * transaction the journal holds now redoes it byte for byte; every other
 * one is (lost on power failure).
 *
 * t_unflushed_unredone(c, dev, out, max): while recording @c on @dev, the
 * stores not flushed yet (exact byte ranges) that the committed
 * transaction of partition 0's journal does not redo byte for byte.
 * Fills at most @max of @out and returns their number.
 */
#ifndef UDAX_REDO_UTIL_H
#define UDAX_REDO_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <udax/crash.h>
#include <udax/crc32c.h>

#include "fs/core.h"
#include "fs_util.h"

struct redo {
	const uint8_t *part;		/* partition 0 */
	uint64_t part_off, part_size;
	const struct fs_djrec **rec;	/* the committed records, or none */
	uint32_t nrec;
};

/* The committed transaction of partition 0's journal, checked as a mount
 * checks it (header and body checksums, records in bounds). */
static __attribute__((unused)) void redo_load(struct udax_dev *dev, struct redo *x)
{
	struct udax_part_info pi;
	const struct fs_dsuper *sb;
	const struct fs_djhdr *h;
	const uint8_t *body;
	uint64_t pos = 0, room;
	uint32_t bblk;

	memset(x, 0, sizeof(*x));
	FS_OK(udax_dev_part(dev, 0, &pi));
	x->part = pi.addr;
	x->part_off = pi.offset;
	x->part_size = pi.size;
	sb = (const void *)x->part;
	if (sb->magic != FS_SB_MAGIC || sb->journal_blocks < 2 ||
	    sb->journal_start + sb->journal_blocks > pi.size / FS_BS)
		return;
	h = (const void *)(x->part + sb->journal_start * FS_BS);
	if (h->magic != FS_JNL_MAGIC ||
	    h->crc != udax_crc32c(0, h, offsetof(struct fs_djhdr, crc)))
		return;
	bblk = h->body_blk ? h->body_blk : 1;
	room = bblk < sb->journal_blocks ? (sb->journal_blocks - bblk) * FS_BS : 0;
	if (h->body_len > room)
		return;
	body = x->part + (sb->journal_start + bblk) * FS_BS;
	if (h->body_crc != udax_crc32c(0, body, h->body_len))
		return;
	x->rec = calloc(h->nr_records ? h->nr_records : 1, sizeof(*x->rec));
	T_ASSERT(x->rec);
	for (uint32_t i = 0; i < h->nr_records; i++) {
		const struct fs_djrec *r = (const void *)(body + pos);

		if (pos + sizeof(*r) > h->body_len ||
		    r->len > h->body_len - pos - sizeof(*r) ||
		    r->off > pi.size || r->len > pi.size - r->off) {
			x->nrec = 0;
			return;
		}
		x->rec[x->nrec++] = r;
		pos += sizeof(*r) + ((r->len + 7) & ~7ull);
	}
}

/* Does a committed record hold partition byte @b, with the value it has? */
static __attribute__((unused)) bool redone(const struct redo *x, uint64_t b)
{
	for (uint32_t i = 0; i < x->nrec; i++) {
		const struct fs_djrec *r = x->rec[i];

		if (b >= r->off && b < r->off + r->len)
			return ((const uint8_t *)(r + 1))[b - r->off] == x->part[b];
	}
	return false;
}

static __attribute__((unused)) long t_unflushed_unredone(struct udax_crash *c, struct udax_dev *dev,
							 struct udax_crash_range *out, size_t max)
{
	struct udax_crash_range *r;
	struct redo x;
	long n, bad = 0;

	n = udax_crash_unflushed_bytes(c, NULL, 0);
	FS_OK(n);
	if (!n)
		return 0;
	r = calloc((size_t)n, sizeof(*r));
	T_ASSERT(r);
	T_ASSERT(udax_crash_unflushed_bytes(c, r, (size_t)n) == n);
	redo_load(dev, &x);
	for (long i = 0; i < n; i++) {
		bool ok = r[i].off >= x.part_off &&
			  r[i].off - x.part_off + r[i].len <= x.part_size;

		for (uint64_t b = r[i].off; ok && b < r[i].off + r[i].len; b++)
			ok = redone(&x, b - x.part_off);
		if (ok)
			continue;
		if ((size_t)bad < max)
			out[bad] = r[i];
		bad++;
	}
	free(x.rec);
	free(r);
	return bad;
}

#endif
