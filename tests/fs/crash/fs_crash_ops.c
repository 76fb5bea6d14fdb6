/* SPDX-License-Identifier: MIT */
/*
 * fs_crash: the pre-state, every metadata and data operation, and
 * workloads of several operations with fsync promises.
 */
#include <sys/xattr.h>

#include <pthread.h>

#include "fs_crash.h"
#include "fs_util.h"

#define BS	4096

static uint8_t buf[64 * BS];

void cr_setup(struct udax_fs *fs)
{
	struct udax_file *f;
	char p[128];

	t_populate(fs);
	FS_OK(udax_mkdir(fs, "/e", 0755));
	FS_OK(udax_mkdir(fs, "/g", 0755));
	FS_OK(udax_open(fs, "/u", O_RDWR | O_CREAT, 0644, &f));
	t_fill(buf, 2 * BS, 3);
	T_ASSERT(udax_pwrite(f, buf, 2 * BS, 0) == 2 * BS);
	FS_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 0, 8 * BS));
	FS_OK(udax_close(&f));
	FS_OK(udax_mkdir(fs, "/many", 0755));
	for (int i = 0; i < 85; i++) {			/* fills one dir block */
		snprintf(p, sizeof(p), "/many/%040d", i);
		t_write_file(fs, p, NULL, 0);
	}
}

/* ---- namespace ---------------------------------------------------------------- */

static void op_create(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/new", O_RDWR | O_CREAT | O_EXCL, 0600, &f));
	FS_OK(udax_close(&f));
}
static void op_create_grow(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/many/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
			O_RDWR | O_CREAT, 0600, &f));
	FS_OK(udax_close(&f));
}
static void op_open_trunc(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/b", O_RDWR | O_TRUNC, 0, &f));
	FS_OK(udax_close(&f));
}
static void op_mkdir(struct udax_fs *fs) { FS_OK(udax_mkdir(fs, "/d/nd", 0700)); }
static void op_rmdir(struct udax_fs *fs) { FS_OK(udax_rmdir(fs, "/e")); }
static void op_unlink(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/a")); }
static void op_unlink_big(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/big")); }
static void op_link(struct udax_fs *fs) { FS_OK(udax_link(fs, "/a", "/d/a2")); }
static void op_rename(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/a", "/d/a3", 0)); }
static void op_rename_noreplace(struct udax_fs *fs)
{
	FS_OK(udax_rename(fs, "/a", "/e/a4", UDAX_RENAME_NOREPLACE));
}
static void op_rename_replace(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/b", "/big", 0)); }
static void op_rename_dir(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/d", "/e/d", 0)); }
static void op_rename_dir_replace(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/e", "/g", 0)); }
static void op_chmod(struct udax_fs *fs) { FS_OK(udax_chmod(fs, "/b", 0400)); }
static void op_chown(struct udax_fs *fs) { FS_OK(udax_chown(fs, "/d/x", 1234, 5678)); }
static void op_utimens(struct udax_fs *fs)
{
	const struct timespec ts[2] = { { 1000000000, 5 }, { 2000000000, 7 } };

	FS_OK(udax_utimens(fs, "/b", ts));
}

/* ---- POSIX surface: links, special files, setattr, exchange, xattrs ----------- */

static void op_symlink(struct udax_fs *fs) { FS_OK(udax_symlink(fs, "../a", "/d/sl")); }
static void op_symlink_long(struct udax_fs *fs)
{
	char t[1000];

	memset(t, 'L', sizeof(t) - 1);
	t[sizeof(t) - 1] = 0;
	FS_OK(udax_symlink(fs, t, "/sl-long"));
}
static void op_mknod(struct udax_fs *fs)
{
	const struct udax_cred c = { 7, 8 };

	FS_OK(udax_mknod(fs, "/d/dev", S_IFCHR | 0600, (dev_t)0x0501, &c));
}
static void op_setattr(struct udax_fs *fs)
{
	const struct udax_setattr sa = {
		.mask = UDAX_SETATTR_MODE | UDAX_SETATTR_UID | UDAX_SETATTR_GID |
			UDAX_SETATTR_SIZE | UDAX_SETATTR_MTIME,
		.mode = 0640, .uid = 3, .gid = 4, .size = 10,
		.mtime = { 1234, 5 },
	};

	FS_OK(udax_setattr(fs, "/b", &sa));
}
static void op_rename_exchange(struct udax_fs *fs)
{
	FS_OK(udax_rename(fs, "/a", "/d", UDAX_RENAME_EXCHANGE));
}
static void pre_xattr(struct udax_fs *fs)
{
	FS_OK(udax_setxattr(fs, "/b", "user.one", "1111", 4, 0));
	FS_OK(udax_setxattr(fs, "/b", "trusted.two", "22", 2, 0));
}
static void op_xattr_first(struct udax_fs *fs)
{
	FS_OK(udax_setxattr(fs, "/a", "user.new", "value", 5, XATTR_CREATE));
}
static void op_xattr_replace(struct udax_fs *fs)
{
	FS_OK(udax_setxattr(fs, "/b", "user.one", "replaced", 8, XATTR_REPLACE));
}
static void op_xattr_remove(struct udax_fs *fs)
{
	FS_OK(udax_removexattr(fs, "/b", "user.one"));
}
static void op_xattr_remove_last(struct udax_fs *fs)
{
	FS_OK(udax_removexattr(fs, "/b", "trusted.two"));
}
static void op_unlink_xattr(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/b")); }

/* POSIX ACLs: the mode and the ACL change in one transaction. */
static const uint8_t acl_full[44] = {	/* u::rw-,u:1000:r--,g::r--,m::r-x,o::--x */
	2, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 2, 0, 4, 0, 0xe8, 3, 0, 0,
	4, 0, 4, 0, 0, 0, 0, 0, 0x10, 0, 5, 0, 0, 0, 0, 0, 0x20, 0, 1, 0, 0, 0, 0, 0,
};
static void pre_acl(struct udax_fs *fs)
{
	FS_OK(udax_setxattr(fs, "/b", "system.posix_acl_access", acl_full,
			    sizeof(acl_full), 0));
	FS_OK(udax_setxattr(fs, "/d", "system.posix_acl_default", acl_full,
			    sizeof(acl_full), 0));
}
static void op_acl_set(struct udax_fs *fs)
{
	FS_OK(udax_setxattr(fs, "/a", "system.posix_acl_access", acl_full,
			    sizeof(acl_full), 0));
}
static void op_acl_chmod(struct udax_fs *fs) { FS_OK(udax_chmod(fs, "/b", 0741)); }
static void op_acl_inherit_file(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/d/acl-file", O_CREAT | O_RDWR, 0666, &f));
	FS_OK(udax_close(&f));
}
static void op_acl_inherit_dir(struct udax_fs *fs)
{
	FS_OK(udax_mkdir(fs, "/d/acl-dir", 0777));
}

/* An orphan: /big unlinked while open; the operation is its last close. */
static struct udax_file *held;
uint32_t cr_orphan_ino;
static void pre_orphan(struct udax_fs *fs)
{
	struct udax_stat st;

	FS_OK(udax_open(fs, "/big", O_RDWR, 0, &held));
	FS_OK(udax_fstat(held, &st));
	cr_orphan_ino = st.ino;
	FS_OK(udax_unlink(fs, "/big"));
}
static void op_last_close(struct udax_fs *fs)
{
	(void)fs;
	FS_OK(udax_close(&held));
}

/* ---- a directory of several blocks --------------------------------------------------- */

/* /huge: 425 names of 40 characters (links of 5 files) fill 5 blocks exactly; every third of
 * the first 300 removed leaves 48-byte gaps in blocks 0..3, so a short
 * name lands in a gap the index finds and a long one grows the directory. */
static void huge_name(char *p, size_t n, int i)
{
	snprintf(p, n, "/huge/%040d", i);
}
static void pre_bigdir(struct udax_fs *fs)
{
	char p[128], q[128];

	FS_OK(udax_mkdir(fs, "/huge", 0755));
	for (int i = 0; i < 425; i++) {
		huge_name(p, sizeof(p), i);
		if (i < 5) {
			t_write_file(fs, p, NULL, 0);
		} else {	/* few inodes: name i is a link of file i % 5 */
			huge_name(q, sizeof(q), i % 5);
			FS_OK(udax_link(fs, q, p));
		}
	}
	for (int i = 0; i < 300; i += 3) {
		huge_name(p, sizeof(p), i);
		FS_OK(udax_unlink(fs, p));
	}
}
static void h_create_gap(struct udax_fs *fs) { t_write_file(fs, "/huge/in-a-gap", NULL, 0); }
static void h_create_grow(struct udax_fs *fs)
{
	char p[300];

	snprintf(p, sizeof(p), "/huge/%0200d", 7);
	t_write_file(fs, p, NULL, 0);
}
static void h_unlink(struct udax_fs *fs)
{
	char p[128];

	huge_name(p, sizeof(p), 200);
	FS_OK(udax_unlink(fs, p));
}
static void h_rename_within(struct udax_fs *fs)
{
	char p[128];

	huge_name(p, sizeof(p), 401);
	FS_OK(udax_rename(fs, p, "/huge/renamed-within", 0));
}
static void h_rename_out(struct udax_fs *fs)
{
	char p[128];

	huge_name(p, sizeof(p), 100);
	FS_OK(udax_rename(fs, p, "/d/from-huge", 0));
}
static void h_rename_in(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/d/x", "/huge/x", 0)); }
static void h_rename_over(struct udax_fs *fs)
{
	char p[128], q[128];

	huge_name(p, sizeof(p), 2);
	huge_name(q, sizeof(q), 424);
	FS_OK(udax_rename(fs, p, q, 0));
}
static void h_mkdir(struct udax_fs *fs) { FS_OK(udax_mkdir(fs, "/huge/sub", 0700)); }
static void h_unlink_grown(struct udax_fs *fs)
{
	char p[300];

	snprintf(p, sizeof(p), "/huge/%0200d", 7);
	FS_OK(udax_unlink(fs, p));
}

/* ---- data -------------------------------------------------------------------------- */

static void with_file(struct udax_fs *fs, const char *path,
		      void (*fn)(struct udax_file *))
{
	struct udax_file *f;

	FS_OK(udax_open(fs, path, O_RDWR, 0, &f));
	fn(f);
	FS_OK(udax_close(&f));
}
static void f_trunc_up(struct udax_file *f) { FS_OK(udax_ftruncate(f, 100000)); }
static void f_trunc_down(struct udax_file *f) { FS_OK(udax_ftruncate(f, 5000)); }
static void f_punch(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			     1000, 10 * BS));
}
static void f_zero(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_ZERO_RANGE, 1000, 3 * BS));
}
static void f_collapse(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 2 * BS, 3 * BS));
}
static void f_insert(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE, BS, 2 * BS));
}
static void f_alloc(struct udax_file *f) { FS_OK(udax_fallocate(f, 0, 0, 50000)); }
static void f_append(struct udax_file *f)
{
	t_fill(buf, 6000, 9);
	T_ASSERT(udax_append(f, buf, 6000, NULL) == 6000);
}
static void f_append_fdatasync(struct udax_file *f)
{
	t_fill(buf, 3000, 15);
	T_ASSERT(udax_append(f, buf, 3000, NULL) == 3000);
	FS_OK(udax_fdatasync(f));
}
static void f_write_alloc(struct udax_file *f)
{
	t_fill(buf, 5000, 10);
	T_ASSERT(udax_pwrite(f, buf, 5000, 20000) == 5000);
}
static void f_write_holes(struct udax_file *f)
{
	t_fill(buf, 2 * BS, 11);
	T_ASSERT(udax_pwrite(f, buf, BS - 100, BS + 100) == BS - 100);
}
static void f_write_extend(struct udax_file *f)
{
	t_fill(buf, 2 * BS, 14);
	T_ASSERT(udax_pwrite(f, buf, 2 * BS, 40 * BS + 10) == 2 * BS);
}
static void f_write_unwritten(struct udax_file *f)
{
	t_fill(buf, 3 * BS, 12);
	T_ASSERT(udax_pwrite(f, buf, 3 * BS, 2 * BS + 10) == 3 * BS);
}
static void f_overwrite_fsync(struct udax_file *f)
{
	t_fill(buf, 100, 13);
	T_ASSERT(udax_pwrite(f, buf, 100, 50) == 100);
	FS_OK(udax_fsync(f));
}
static void f_overwrite(struct udax_file *f)
{
	t_fill(buf, 5000, 16);
	T_ASSERT(udax_pwrite(f, buf, 5000, 100) == 5000);
}
static void f_overwrite2_fsync(struct udax_file *f)
{
	t_fill(buf, 6000, 17);
	T_ASSERT(udax_pwrite(f, buf, 6000, 3000) == 6000);
	FS_OK(udax_fsync(f));
}
static void f_fsync(struct udax_file *f) { FS_OK(udax_fsync(f)); }
static void f_fdatasync(struct udax_file *f) { FS_OK(udax_fdatasync(f)); }
static void f_trunc_small(struct udax_file *f) { FS_OK(udax_ftruncate(f, 500)); }

#define FILE_OP(name, path, fn) \
	static void name(struct udax_fs *fs) { with_file(fs, path, fn); }
FILE_OP(op_trunc_up, "/a", f_trunc_up)
FILE_OP(op_trunc_down, "/big", f_trunc_down)
FILE_OP(op_punch, "/big", f_punch)
FILE_OP(op_zero, "/a", f_zero)
FILE_OP(op_collapse, "/big", f_collapse)
FILE_OP(op_insert, "/big", f_insert)
FILE_OP(op_alloc, "/a", f_alloc)
FILE_OP(op_append, "/a", f_append)
FILE_OP(op_append_fdatasync, "/b", f_append_fdatasync)
FILE_OP(op_write_alloc, "/b", f_write_alloc)
FILE_OP(op_write_holes, "/big", f_write_holes)
FILE_OP(op_write_extend, "/big", f_write_extend)
FILE_OP(op_write_unwritten, "/u", f_write_unwritten)
FILE_OP(op_overwrite_fsync, "/a", f_overwrite_fsync)

/* ---- extent leaves: a file whose map is a list of leaves ------------------------ */

#define HUGE_EXT	260	/* leaves of 254 and 6 extents */

/* /huge: an unwritten block at every other file block (no data to
 * write: the state checks read zeroes), size 2 * HUGE_EXT blocks. */
static void pre_huge(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/huge", O_RDWR | O_CREAT, 0644, &f));
	for (uint64_t k = 0; k < HUGE_EXT; k++)
		FS_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 2 * k * BS, BS));
	FS_OK(udax_ftruncate(f, 2 * HUGE_EXT * BS));
	FS_OK(udax_close(&f));
}
/* /nine: nine extents, all in the inode record. */
static void pre_nine(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/nine", O_RDWR | O_CREAT, 0644, &f));
	for (uint64_t k = 0; k < 9; k++)
		FS_OK(udax_fallocate(f, 0, 2 * k * BS, BS));
	FS_OK(udax_close(&f));
}
static void f_leaf_append(struct udax_file *f)
{
	t_fill(buf, BS, 30);
	T_ASSERT(udax_append(f, buf, BS, NULL) == BS);
}
static void f_leaf_split(struct udax_file *f)	/* into the full first leaf */
{
	/* Written between unwritten neighbours: a new extent, not merged. */
	t_fill(buf, BS, 31);
	T_ASSERT(udax_pwrite(f, buf, BS, BS) == BS);
}
static void f_leaf_merge(struct udax_file *f)	/* two leaves become one */
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			     200 * BS, 300 * BS));
}
static void f_leaf_truncate(struct udax_file *f) { FS_OK(udax_ftruncate(f, 300 * BS)); }
static void f_leaf_inline(struct udax_file *f) { FS_OK(udax_ftruncate(f, 8 * BS)); }
static void f_leaf_collapse(struct udax_file *f)	/* shifts every leaf */
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 20 * BS, 2 * BS));
}
static void f_nine_grow(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, 0, 18 * BS, BS));
}
FILE_OP(op_leaf_append, "/huge", f_leaf_append)
FILE_OP(op_leaf_split, "/huge", f_leaf_split)
FILE_OP(op_leaf_merge, "/huge", f_leaf_merge)
FILE_OP(op_leaf_truncate, "/huge", f_leaf_truncate)
FILE_OP(op_leaf_inline, "/huge", f_leaf_inline)
FILE_OP(op_leaf_collapse, "/huge", f_leaf_collapse)
FILE_OP(op_nine_grow, "/nine", f_nine_grow)
static void op_leaf_unlink(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/huge")); }

/* ---- the fast log: appends as 64-byte records (src/fs/log.c) ------------------ */

/* The file stays open across steps: its appends stay in the log (only
 * in the log until a checkpoint) from one step to the next. */
static struct udax_file *lf;

static void lg_append(unsigned n, unsigned seed)
{
	t_fill(buf, n, seed);
	T_ASSERT(udax_append(lf, buf, n, NULL) == (ssize_t)n);
}
/* /l: two blocks written by the journal (the write leaves the file a
 * reservation after them), then an append in the log before recording:
 * every crash image replays a pending record. */
static void pre_log(struct udax_fs *fs)
{
	FS_OK(udax_open(fs, "/l", O_RDWR | O_CREAT, 0644, &lf));
	lg_append(2 * BS, 40);
	lg_append(BS, 41);
}
static void lg_append1(struct udax_fs *fs) { (void)fs; lg_append(BS, 42); }
static void lg_append_tail(struct udax_fs *fs) { (void)fs; lg_append(6000, 43); }
/* A journal transaction of an inode with appends only in the log. */
static void lg_trunc_up(struct udax_fs *fs) { (void)fs; FS_OK(udax_ftruncate(lf, 20 * BS)); }
/* Past a hole: not an append to the last extent, the journal's. */
static void lg_append_hole(struct udax_fs *fs) { (void)fs; lg_append(BS, 44); }
/* The size is not a block multiple: the journal's. */
static void lg_append_small(struct udax_fs *fs) { (void)fs; lg_append(100, 45); }
static void lg_close(struct udax_fs *fs) { (void)fs; FS_OK(udax_close(&lf)); }

/* /lw: 260 written one-block extents (leaves of 254 and 6), the last
 * one growing in the log; a punch in the first leaf then rewrites that
 * leaf in the journal while the last one is only in the log. */
static void pre_log_leaf(struct udax_fs *fs)
{
	FS_OK(udax_open(fs, "/lw", O_RDWR | O_CREAT, 0644, &lf));
	for (uint64_t k = 0; k < HUGE_EXT; k++) {
		t_fill(buf, BS, (unsigned)k);
		T_ASSERT(udax_pwrite(lf, buf, BS, 2 * k * BS) == BS);
	}
}
static void lg_punch(struct udax_fs *fs)
{
	(void)fs;
	FS_OK(udax_fallocate(lf, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			     2 * BS, BS));
}

/* A ring more than half full is retired by checkpointing the inodes it
 * names (the test image's areas hold 64 records: the retire follows the
 * 33rd append of the steps below). */
static void pre_log_full(struct udax_fs *fs)
{
	FS_OK(udax_open(fs, "/lf", O_RDWR | O_CREAT, 0644, &lf));
	lg_append(BS, 50);		/* the journal's: the first extent */
	for (unsigned k = 0; k < 30; k++)
		lg_append(BS, 51 + k);
}
static void lg_full1(struct udax_fs *fs) { (void)fs; lg_append(BS, 90); }
static void lg_full2(struct udax_fs *fs) { (void)fs; lg_append(BS, 91); }
static void lg_full3(struct udax_fs *fs) { (void)fs; lg_append(BS, 92); }
static void lg_full4(struct udax_fs *fs) { (void)fs; lg_append(BS, 93); }

/* ---- the workload: a sequence with fsync promises ------------------------------- */

/* Each step is one operation: create, write and fsync are three. */
static void w_create(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/w1", O_RDWR | O_CREAT | O_EXCL, 0644, &f));
	FS_OK(udax_close(&f));
}
static void f_write_new(struct udax_file *f)
{
	t_fill(buf, 3 * BS + 100, 20);
	T_ASSERT(udax_pwrite(f, buf, 3 * BS + 100, 0) == 3 * BS + 100);
}
static void w_create2(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/d/w2", O_RDWR | O_CREAT | O_EXCL, 0644, &f));
	FS_OK(udax_close(&f));
}
static void f_write2(struct udax_file *f)
{
	t_fill(buf, 1000, 21);
	T_ASSERT(udax_pwrite(f, buf, 1000, 0) == 1000);
}
FILE_OP(w_write, "/w1", f_write_new)
FILE_OP(w_write2, "/d/w2", f_write2)
FILE_OP(w_overwrite, "/w1", f_overwrite)
FILE_OP(w_append_fdatasync, "/d/w2", f_append_fdatasync)
FILE_OP(w_overwrite2_fsync, "/w1", f_overwrite2_fsync)
FILE_OP(w_fsync_w1, "/w1", f_fsync)
FILE_OP(w_fdatasync_w2, "/d/w2", f_fdatasync)
FILE_OP(w_trunc_w1, "/w1", f_trunc_small)
FILE_OP(w_overwrite_a, "/a", f_overwrite)
static void w_rename_over(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/d/w2", "/w1", 0)); }
static void w_unlink_x(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/d/x")); }
static void w_mkdir(struct udax_fs *fs) { FS_OK(udax_mkdir(fs, "/e/sub", 0755)); }
static void op_rmdir_g(struct udax_fs *fs) { FS_OK(udax_rmdir(fs, "/g")); }
static void w_link(struct udax_fs *fs) { FS_OK(udax_link(fs, "/w1", "/e/sub/w1link")); }

/*
 * Back-to-back commits: each one's home writes are flushed but not fenced
 * when it returns (src/fs/core/journal.c); the next one's first fence makes
 * them durable while its body goes to the other half of the journal, then
 * its header replaces the last one.  pre leaves one pending at fence 0.
 */
static void bb_new(struct udax_fs *fs, const char *path)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, path, O_RDWR | O_CREAT | O_EXCL, 0600, &f));
	FS_OK(udax_close(&f));
}
static void pre_bb(struct udax_fs *fs) { bb_new(fs, "/bb0"); }
static void bb_create1(struct udax_fs *fs) { bb_new(fs, "/bb1"); }
static void bb_unlink1(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/bb1")); }
static void bb_create2(struct udax_fs *fs) { bb_new(fs, "/d/bb2"); }
static void bb_mkdir(struct udax_fs *fs) { FS_OK(udax_mkdir(fs, "/bbd", 0755)); }
static void bb_rename(struct udax_fs *fs)
{
	FS_OK(udax_rename(fs, "/d/bb2", "/bbd/bb2", 0));
}
static void bb_unlink0(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/bb0")); }
static void bb_unlink_a(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/a")); }

/*
 * Journal lanes: each step runs in a thread of its own, and threads are
 * dealt lanes in turn, so commits of several lanes are pending at once
 * (the main thread's from the setup too) and replay finds several.  A
 * step that writes bytes another lane's pending commit wrote (/a's record
 * again, /b's, /d's block) settles that lane first; a truncate frees a
 * block (the lanes that wrote it settle).
 */
struct ln_arg {
	void (*fn)(struct udax_fs *fs);
	struct udax_fs *fs;
};
static void *ln_thread(void *arg)
{
	struct ln_arg *a = arg;

	a->fn(a->fs);
	return NULL;
}
static void in_thread(void (*fn)(struct udax_fs *fs), struct udax_fs *fs)
{
	struct ln_arg a = { fn, fs };
	pthread_t t;

	T_ASSERT(pthread_create(&t, NULL, ln_thread, &a) == 0);
	T_ASSERT(pthread_join(t, NULL) == 0);
}
static void ln_chmod_a(struct udax_fs *fs) { FS_OK(udax_chmod(fs, "/a", 0600)); }
static void ln_trunc_b(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/b", O_RDWR, 0, &f));
	FS_OK(udax_ftruncate(f, BS + 100));
	FS_OK(udax_close(&f));
}
static void ln_create(struct udax_fs *fs) { bb_new(fs, "/d/ln"); }
static void ln_chmod_a2(struct udax_fs *fs) { FS_OK(udax_chmod(fs, "/a", 0604)); }
static void ln_chmod_b(struct udax_fs *fs) { FS_OK(udax_chmod(fs, "/b", 0640)); }
static void ln_unlink(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/d/ln")); }
static void ln_create2(struct udax_fs *fs) { bb_new(fs, "/d/ln2"); }
static void pre_lanes(struct udax_fs *fs) { FS_OK(udax_chmod(fs, "/d/x", 0640)); }
static void lane1(struct udax_fs *fs) { in_thread(ln_chmod_a, fs); }
static void lane2(struct udax_fs *fs) { in_thread(ln_trunc_b, fs); }
static void lane3(struct udax_fs *fs) { in_thread(ln_create, fs); }
static void lane4(struct udax_fs *fs) { in_thread(ln_chmod_a2, fs); }
static void lane5(struct udax_fs *fs) { in_thread(ln_chmod_b, fs); }
static void lane6(struct udax_fs *fs) { in_thread(ln_unlink, fs); }
static void lane7(struct udax_fs *fs) { in_thread(ln_create2, fs); }

#define STEP(fn, ...) { #fn, fn, __VA_ARGS__ }
#define OP(name, fn) { name, NULL, { { name, fn, NULL, NULL, false } }, false }
#define OPP(name, pre, fn) { name, pre, { { name, fn, NULL, NULL, false } }, false }

const struct cr_scenario cr_scenarios[] = {
	OP("create", op_create),
	OP("create-dir-grows", op_create_grow),
	OP("open-trunc", op_open_trunc),
	OP("mkdir", op_mkdir),
	OP("rmdir", op_rmdir),
	OP("unlink", op_unlink),
	OP("unlink-chain", op_unlink_big),
	OP("link", op_link),
	OP("rename", op_rename),
	OP("rename-noreplace", op_rename_noreplace),
	OP("rename-over-file", op_rename_replace),
	OP("rename-dir", op_rename_dir),
	OP("rename-over-dir", op_rename_dir_replace),
	OP("chmod", op_chmod),
	OP("chown", op_chown),
	OP("utimens", op_utimens),
	OP("symlink", op_symlink),
	OP("symlink-block", op_symlink_long),
	OP("mknod", op_mknod),
	OP("setattr-size-owner-mode", op_setattr),
	OP("rename-exchange", op_rename_exchange),
	OP("xattr-first", op_xattr_first),
	OPP("xattr-replace", pre_xattr, op_xattr_replace),
	/* Two steps: one attribute goes, then the last frees the block. */
	{ "xattr-remove", pre_xattr, {
		STEP(op_xattr_remove, NULL, NULL, false),
		STEP(op_xattr_remove_last, NULL, NULL, false),
	}, false },
	OPP("unlink-with-xattr", pre_xattr, op_unlink_xattr),
	OP("acl-set", op_acl_set),
	OPP("acl-chmod", pre_acl, op_acl_chmod),
	/* A new inode takes the default ACL: its xattr block with it. */
	{ "acl-inherit", pre_acl, {
		STEP(op_acl_inherit_file, NULL, NULL, false),
		STEP(op_acl_inherit_dir, NULL, NULL, false),
	}, false },
	OP("truncate-up", op_trunc_up),
	OP("truncate-down", op_trunc_down),
	OP("punch-hole", op_punch),
	OP("zero-range", op_zero),
	OP("collapse-range", op_collapse),
	OP("insert-range", op_insert),
	OP("fallocate", op_alloc),
	OP("append", op_append),
	{ "append-fdatasync", NULL,
	  { { "append-fdatasync", op_append_fdatasync, NULL, "/b", false } }, false },
	OP("write-alloc", op_write_alloc),
	OP("write-holes", op_write_holes),
	OP("write-extend", op_write_extend),
	OP("write-unwritten", op_write_unwritten),
	/* In place: not atomic by design; each byte old or new until the
	 * fsync returns, then exactly new. */
	{ "overwrite-fsync", NULL,
	  { { "overwrite-fsync", op_overwrite_fsync, "/a", "/a", false } }, false },
	/* Before-state: the orphan still holds its blocks; a crash image
	 * always recovers the after-state (mount reclaims the orphan). */
	{ "last-close-orphan", pre_orphan,
	  { { "last-close-orphan", op_last_close, NULL, NULL, false } }, false },
	/* Creates, unlinks and renames in a directory of 5+ blocks: into
	 * gaps the index finds, growing it by a block, across blocks. */
	{ "large-dir", pre_bigdir, {
		STEP(h_create_gap, NULL, NULL, false),
		STEP(h_create_grow, NULL, NULL, false),
		STEP(h_unlink, NULL, NULL, false),
		STEP(h_rename_within, NULL, NULL, false),
		STEP(h_rename_out, NULL, NULL, false),
		STEP(h_rename_in, NULL, NULL, false),
		STEP(h_rename_over, NULL, NULL, false),
		STEP(h_mkdir, NULL, NULL, false),
		STEP(h_unlink_grown, NULL, NULL, false),
	}, false },
	/* Extent leaves: an append to the last leaf, a full leaf split, a
	 * punch that leaves two leaves one, truncates to fewer leaves and
	 * back inline, a collapse that rewrites every leaf, an inline map
	 * that becomes a leaf, and an unlink that frees them. */
	OPP("leaf-append", pre_huge, op_leaf_append),
	OPP("leaf-split", pre_huge, op_leaf_split),
	OPP("leaf-merge", pre_huge, op_leaf_merge),
	OPP("leaf-truncate", pre_huge, op_leaf_truncate),
	OPP("leaf-to-inline", pre_huge, op_leaf_inline),
	OPP("leaf-collapse", pre_huge, op_leaf_collapse),
	OPP("leaf-unlink", pre_huge, op_leaf_unlink),
	OPP("inline-to-leaf", pre_nine, op_nine_grow),
	/* The fast log: appends as records, one pending before recording,
	 * a journal transaction of an inode with pending appends, appends
	 * the log cannot express, the checkpoint at close. */
	{ "log-append", pre_log, {
		STEP(lg_append1, NULL, NULL, false),
		STEP(lg_append_tail, NULL, NULL, false),
		STEP(lg_trunc_up, NULL, NULL, false),
		STEP(lg_append_hole, NULL, NULL, false),
		STEP(lg_append_small, NULL, NULL, false),
		STEP(lg_close, NULL, NULL, true),
	}, false },
	{ "log-leaf", pre_log_leaf, {
		STEP(lg_append1, NULL, NULL, false),
		STEP(lg_punch, NULL, NULL, false),
		STEP(lg_append_tail, NULL, NULL, false),
		STEP(lg_close, NULL, NULL, true),
	}, false },
	{ "log-full", pre_log_full, {
		STEP(lg_full1, NULL, NULL, false),
		STEP(lg_full2, NULL, NULL, false),
		STEP(lg_full3, NULL, NULL, false),
		STEP(lg_full4, NULL, NULL, false),
		STEP(lg_close, NULL, NULL, true),
	}, false },
	{ "back-to-back", pre_bb, {
		STEP(bb_create1, NULL, NULL, false),
		STEP(bb_unlink1, NULL, NULL, false),
		STEP(bb_create2, NULL, NULL, false),
		STEP(bb_mkdir, NULL, NULL, false),
		STEP(bb_rename, NULL, NULL, false),
		STEP(bb_unlink0, NULL, NULL, false),
		STEP(bb_unlink_a, NULL, NULL, false),
	}, false },
	{ "lanes", pre_lanes, {
		STEP(lane1, NULL, NULL, false),
		STEP(lane2, NULL, NULL, false),
		STEP(lane3, NULL, NULL, false),
		STEP(lane4, NULL, NULL, false),
		STEP(lane5, NULL, NULL, false),
		STEP(lane6, NULL, NULL, false),
		STEP(lane7, NULL, NULL, false),
	}, false },
	/* A crash anywhere recovers the state after the completed steps,
	 * plus the current one whole or not at all; bytes overwritten in
	 * place and not yet fsync'd may be old or new, fsync'd ones exact. */
	{ "workload", NULL, {
		STEP(w_create, NULL, NULL, false),
		STEP(w_write, NULL, NULL, false),
		STEP(w_fsync_w1, NULL, "/w1", true),
		STEP(w_overwrite, "/w1", NULL, false),
		STEP(w_create2, NULL, NULL, false),
		STEP(w_write2, NULL, NULL, false),
		STEP(w_append_fdatasync, NULL, "/d/w2", false),
		STEP(w_overwrite_a, "/a", NULL, false),
		STEP(w_fsync_w1, NULL, "/w1", true),
		STEP(w_overwrite2_fsync, "/w1", "/w1", false),
		STEP(op_chown, NULL, NULL, false),
		STEP(w_rename_over, NULL, NULL, false),
		STEP(w_unlink_x, NULL, NULL, false),
		STEP(w_trunc_w1, NULL, NULL, false),
		STEP(op_open_trunc, NULL, NULL, false),
	}, false },
	/* --long: more of everything in one sequence. */
	{ "workload-long", NULL, {
		STEP(w_create, NULL, NULL, false),
		STEP(w_write, NULL, NULL, false),
		STEP(w_fsync_w1, NULL, "/w1", true),
		STEP(w_overwrite, "/w1", NULL, false),
		STEP(op_create, NULL, NULL, false),
		STEP(w_create2, NULL, NULL, false),
		STEP(w_write2, NULL, NULL, false),
		STEP(w_overwrite_a, "/a", NULL, false),
		STEP(w_append_fdatasync, NULL, "/d/w2", false),
		STEP(w_mkdir, NULL, NULL, false),
		STEP(w_link, NULL, NULL, false),
		STEP(op_punch, NULL, NULL, false),
		STEP(op_collapse, NULL, NULL, false),
		STEP(w_overwrite2_fsync, "/w1", "/w1", false),
		STEP(w_fdatasync_w2, NULL, "/d/w2", true),
		STEP(op_write_unwritten, NULL, NULL, false),
		STEP(w_rename_over, NULL, NULL, false),
		STEP(op_rename_dir, NULL, NULL, false),
		STEP(op_unlink, NULL, NULL, false),
		STEP(op_insert, NULL, NULL, false),
		STEP(w_trunc_w1, NULL, NULL, false),
		STEP(op_create_grow, NULL, NULL, false),
		STEP(op_rmdir_g, NULL, NULL, false),
	}, true },
};
const size_t cr_nscenarios = sizeof(cr_scenarios) / sizeof(cr_scenarios[0]);
