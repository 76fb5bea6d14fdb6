/* SPDX-License-Identifier: MIT */
/*
 * The zero-copy range rule (include/udax/fs.h, "Zero-copy ranges") at
 * every boundary, for any call that takes a file range: a table of files
 * and ranges with the result each must give.  Shared by fs_range_rules
 * (pins, leases, views) and io_range_rules (the io engine).
 */
#ifndef UDAX_RANGE_RULES_H
#define UDAX_RANGE_RULES_H

#include "fs_util.h"

#define RR_BS UDAX_FS_BLOCK_SIZE

/* Try [off, off + len) of @f; release whatever it took; return the result. */
typedef int (*rr_try_fn)(struct udax_file *f, uint64_t off, size_t len,
			 void *arg);

struct rr_case {
	const char *file;
	uint64_t off;
	size_t len;
	int want;
	const char *why;
};

/*
 * /one: 1 byte (block 0 partial).  /tail: 3 blocks + 100 bytes.  /exact:
 * 2 blocks.  /holes: 5 blocks, blocks 0 and 4 written.  /unwritten: 4
 * fallocated blocks.  /empty: 0 bytes.
 */
static const struct rr_case rr_cases[] = {
	{ "/one", 0, RR_BS, 0, "the block of a 1-byte file" },
	{ "/one", 0, 1, -EINVAL, "unaligned length (not rounded)" },
	{ "/one", 0, 2 * RR_BS, -EINVAL, "past the file's blocks" },
	{ "/one", RR_BS, RR_BS, -EINVAL, "at EOF's block end" },
	{ "/one", 0, 0, -EINVAL, "empty" },
	{ "/tail", 3 * RR_BS, RR_BS, 0, "the last, partial block" },
	{ "/tail", 0, 4 * RR_BS, 0, "all blocks, offset 0" },
	{ "/tail", 4 * RR_BS, RR_BS, -EINVAL, "past EOF" },
	{ "/tail", 100, RR_BS, -EINVAL, "unaligned offset (not rounded)" },
	{ "/tail", 0, RR_BS - 1, -EINVAL, "unaligned length" },
	{ "/tail", 3 * RR_BS, 2 * RR_BS, -EINVAL, "last block and one past" },
	{ "/exact", RR_BS, RR_BS, 0, "last whole block" },
	{ "/exact", 2 * RR_BS, RR_BS, -EINVAL, "starting at EOF" },
	{ "/exact", UINT64_MAX - RR_BS + 1, 2 * RR_BS, -EINVAL, "wraps around" },
	{ "/exact", 0, (size_t)1 << 52, -EINVAL, "far past EOF (nothing sized by the request)" },
	{ "/holes", 0, RR_BS, 0, "written block before a hole" },
	{ "/holes", RR_BS, RR_BS, -ENODATA, "a hole" },
	{ "/holes", 0, 2 * RR_BS, -ENODATA, "written block and a hole" },
	{ "/holes", 4 * RR_BS, RR_BS, 0, "written block after holes" },
	{ "/holes", 5 * RR_BS, RR_BS, -EINVAL, "past EOF after holes" },
	{ "/unwritten", 0, RR_BS, -ENODATA, "fallocated, never written" },
	{ "/empty", 0, RR_BS, -EINVAL, "a file without blocks" },
};

static inline void rr_make_files(struct udax_fs *fs)
{
	static char b[4 * RR_BS];
	struct udax_file *f;

	memset(b, 0x5a, sizeof(b));
	t_write_file(fs, "/one", b, 1);
	t_write_file(fs, "/tail", b, 3 * RR_BS + 100);
	t_write_file(fs, "/exact", b, 2 * RR_BS);
	FS_OK(udax_open(fs, "/holes", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, b, RR_BS, 0) == RR_BS);
	T_ASSERT(udax_pwrite(f, b, RR_BS, 4 * RR_BS) == RR_BS);
	FS_OK(udax_close(&f));
	FS_OK(udax_open(fs, "/unwritten", O_RDWR | O_CREAT, 0644, &f));
	FS_OK(udax_fallocate(f, 0, 0, 4 * RR_BS));
	FS_OK(udax_close(&f));
	t_write_file(fs, "/empty", b, 0);
}

/* Run every case through @try (@name for messages); exit 1 on a mismatch. */
static inline void rr_check(struct udax_fs *fs, const char *name, rr_try_fn try,
			    void *arg, int (*want_fixup)(const struct rr_case *))
{
	for (size_t i = 0; i < sizeof(rr_cases) / sizeof(rr_cases[0]); i++) {
		const struct rr_case *c = &rr_cases[i];
		struct udax_file *f;
		int want = want_fixup ? want_fixup(c) : c->want, got;

		FS_OK(udax_open(fs, c->file, O_RDWR, 0, &f));
		got = try(f, c->off, c->len, arg);
		FS_OK(udax_close(&f));
		if (got != want) {
			fprintf(stderr, "%s %s [%llu, +%zu) (%s): %d (%s), want %d (%s)\n",
				name, c->file, (unsigned long long)c->off, c->len,
				c->why, got, t_errname(got), want, t_errname(want));
			exit(1);
		}
	}
}

#endif
