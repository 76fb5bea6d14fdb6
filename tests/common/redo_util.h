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
 * t_unflushed_unredone(c, fs, out, max): while recording @c on the device
 * of mounted @fs, the stores not flushed yet (exact byte ranges) that the
 * committed transaction of @fs's journal, read as a mount reads it
 * (fs_journal_load), does not redo byte for byte.  Fills at most @max of
 * @out and returns their number.
 */
#ifndef UDAX_REDO_UTIL_H
#define UDAX_REDO_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <udax/crash.h>

#include "fs/core.h"
#include "fs_util.h"

/* Does the last record of a lane's transaction that holds partition byte
 * @b (the one a replay leaves) hold the value it has?  The lanes'
 * transactions write disjoint bytes (fs_journal_load_all). */
static __attribute__((unused)) bool redone(struct udax_fs *fs,
					   const struct fs_jtxn *jt, uint64_t b)
{
	for (uint32_t l = 0; l < FS_JNL_LANES_MAX; l++)
		for (uint32_t i = jt[l].nrec; i-- > 0;) {
			const struct fs_txn_rec *r = &jt[l].rec[i];

			if (b >= r->off && b < r->off + r->len)
				return jt[l].body[r->data + (b - r->off)] ==
				       (uint8_t)fs->base[b];
		}
	return false;
}

static __attribute__((unused)) long t_unflushed_unredone(struct udax_crash *c,
							 struct udax_fs *fs,
							 struct udax_crash_range *out,
							 size_t max)
{
	uint64_t part_off = fs->dev_offset, part_size = fs->nr_blocks * FS_BS;
	struct udax_crash_range *r;
	struct fs_jtxn jt[FS_JNL_LANES_MAX];
	long n, bad = 0;

	n = udax_crash_unflushed_bytes(c, NULL, 0);
	FS_OK(n);
	if (!n)
		return 0;
	r = calloc((size_t)n, sizeof(*r));
	T_ASSERT(r);
	T_ASSERT(udax_crash_unflushed_bytes(c, r, (size_t)n) == n);
	/* No committed transaction, or a damaged one: nothing is redone. */
	if (fs_journal_load_all(fs, jt) <= 0)
		memset(jt, 0, sizeof(jt));
	for (long i = 0; i < n; i++) {
		bool ok = r[i].off >= part_off &&
			  r[i].off - part_off + r[i].len <= part_size;

		for (uint64_t b = r[i].off; ok && b < r[i].off + r[i].len; b++)
			ok = redone(fs, jt, b - part_off);
		if (ok)
			continue;
		if ((size_t)bad < max)
			out[bad] = r[i];
		bad++;
	}
	fs_jtxn_free_all(jt);
	free(r);
	return bad;
}

#endif
