/* SPDX-License-Identifier: MIT */
/*
 * udax_fsck and /lost+found: inodes in use that the root does not reach are
 * reported, and REPAIR names the top of each unreachable subtree
 * "/lost+found/#<ino>" (making /lost+found when absent): after it a second
 * fsck is clean, the image mounts and the tree is exactly the one a
 * mkdir("/lost+found", 0700) and renames would have made, file contents
 * included.  Every crash state of that repair (each fence, each prefix of
 * the flushes after it) mounts and is finished by a second repair into the
 * same tree.  /lost+found already there; the name taken (by a file in the
 * root, by an entry in /lost+found); no free inode; no free block; an
 * orphan directory with entries; many inodes (/lost+found grows).  Every
 * allocation and persistence call of a repair failing in turn.  And
 * extent chains that loop back (three blocks and two), which fsck must
 * report without walking forever.
 */
#include <udax/fault.h>

#include "fsck_util.h"

static uint32_t ie, ia, ihl, ibig, ikeep;
static char fdata[9000], gdata[300], adata[5000];

static void build(void)
{
	struct udax_fs *fs;
	struct udax_file *f;
	char buf[4096];

	dev = t_fs_dev("mem:16M");
	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 32 }));
	fs = t_fs_mount(dev);
	t_fill(adata, sizeof(adata), 1);
	t_fill(fdata, sizeof(fdata), 3);
	t_fill(gdata, sizeof(gdata), 4);
	FS_OK(udax_mkdir(fs, "/keep", 0755));
	t_write_file(fs, "/a", adata, sizeof(adata));
	t_write_file(fs, "/h", adata, 100);
	FS_OK(udax_link(fs, "/h", "/keep/h2"));
	FS_OK(udax_mkdir(fs, "/e", 0755));
	t_write_file(fs, "/e/f", fdata, sizeof(fdata));
	FS_OK(udax_mkdir(fs, "/e/sub", 0750));
	t_write_file(fs, "/e/sub/g", gdata, sizeof(gdata));
	/* 1030 extents: an extent chain of five blocks. */
	t_fill(buf, sizeof(buf), 5);
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	for (int b = 0; b < 1030; b++)
		T_ASSERT(udax_pwrite(f, buf, 4096, b * 8192ull) == 4096);
	FS_OK(udax_close(&f));
	ie = ino_of(fs, "/e");
	ia = ino_of(fs, "/a");
	ihl = ino_of(fs, "/h");
	ibig = ino_of(fs, "/big");
	ikeep = ino_of(fs, "/keep");
	FS_OK(udax_unmount(&fs));
}

/* The tree the repair must leave: @fn's changes made through the API on
 * the undamaged image. */
static char *reference(void (*fn)(struct udax_fs *))
{
	struct udax_fs *fs;
	char *t;

	restore();
	fs = t_fs_mount(dev);
	fn(fs);
	t = t_fingerprint(fs);
	FS_OK(udax_unmount(&fs));
	restore();
	return t;
}

static void path_of(char *out, size_t n, const char *fmt, uint32_t ino)
{
	snprintf(out, n, fmt, ino);
}

static void e_moved(struct udax_fs *fs)
{
	char p[64];

	FS_OK(udax_mkdir(fs, "/lost+found", 0700));
	path_of(p, sizeof(p), "/lost+found/#%u", ie);
	FS_OK(udax_rename(fs, "/e", p, 0));
}

/* Clean, mounts, the tree is @want; the moved files read back. */
static void expect_tree(const char *want)
{
	struct udax_fsck_report r;
	struct udax_fs *fs;
	char *t;

	fsck(0, &r);
	T_ASSERT(got.n == 0);
	consistent();
	fs = t_fs_mount(dev);
	t = t_fingerprint(fs);
	if (strcmp(t, want)) {
		fprintf(stderr, "tree after repair:\n%s\nwant:\n%s\n", t, want);
		exit(1);
	}
	free(t);
	FS_OK(udax_unmount(&fs));
}

/* /e's files under /lost+found/#<ie>, and the new directories usable. */
static void check_e_reconnected(void)
{
	struct udax_stat st, lnf;
	struct udax_dirent de;
	struct udax_dir *d;
	struct udax_fs *fs = t_fs_mount(dev);
	char p[96];
	size_t n;
	char *b;

	FS_OK(udax_stat(fs, "/lost+found", &lnf));
	T_ASSERT(S_ISDIR(lnf.mode) && (lnf.mode & 07777) == 0700 && lnf.nlink == 3);
	FS_OK(udax_opendir(fs, "/lost+found", &d));
	FS_OK(udax_readdir(d, &de));
	snprintf(p, sizeof(p), "#%u", ie);
	T_ASSERT(!strcmp(de.name, p) && de.ino == ie && de.type == DT_DIR);
	T_ASSERT(udax_readdir(d, &de) == 0);
	FS_OK(udax_closedir(&d));
	path_of(p, sizeof(p), "/lost+found/#%u/..", ie);
	FS_OK(udax_stat(fs, p, &st));
	T_ASSERT(st.ino == lnf.ino);
	path_of(p, sizeof(p), "/lost+found/#%u/f", ie);
	b = t_read_file(fs, p, &n);
	T_ASSERT(n == sizeof(fdata) && !memcmp(b, fdata, n));
	free(b);
	path_of(p, sizeof(p), "/lost+found/#%u/sub/g", ie);
	b = t_read_file(fs, p, &n);
	T_ASSERT(n == sizeof(gdata) && !memcmp(b, gdata, n));
	free(b);
	path_of(p, sizeof(p), "/lost+found/#%u/sub/new", ie);
	t_write_file(fs, p, gdata, 10);
	FS_OK(udax_mkdir(fs, "/lost+found/more", 0755));
	FS_OK(udax_unmount(&fs));
	fsck(0, &(struct udax_fsck_report){ 0 });
	T_ASSERT(got.n == 0);
}

/* /e (a file and a directory with a file inside) unnamed. */
static void test_subtree(const char *want)
{
	struct udax_fsck_report r0, r;
	char name[32];

	fsck(0, &r0);
	unname(UDAX_ROOT_INO, "e");
	consistent();
	fsck(0, &r);
	/* /e, and the root's count: one subdirectory less.  Nothing below
	 * /e: it goes with /e. */
	T_ASSERT(got.n == 2 && has(UDAX_FSCK_LINK, iblock(ie), ie) &&
		 has(UDAX_FSCK_LINK, iblock(1), 1));
	snprintf(name, sizeof(name), "/lost+found/#%u", ie);
	T_ASSERT(strstr(got.msg[got.p[0].ino == ie ? 0 : 1], name));
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 2 && r.repaired == 2);
	fsck(0, &r);
	T_ASSERT(got.n == 0 && r.inodes == r0.inodes + 1 && r.dirs == r0.dirs + 1 &&
		 r.blocks_used == r0.blocks_used + 1);
	expect_tree(want);
	check_e_reconnected();
	restore();

	/* An orphan directory with entries (nlink 0, named nowhere): not
	 * freed like an empty one, reconnected with its count set. */
	unname(UDAX_ROOT_INO, "e");
	dinode(ie)->nlink = 0;
	fix_inode(ie);
	consistent();
	fsck(0, &r);
	T_ASSERT(got.n == 2 && has(UDAX_FSCK_LINK, iblock(ie), ie));
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 2 && r.repaired == 2 && dinode(ie)->nlink == 3);
	expect_tree(want);
	restore();
}

/* /e unnamed, and /keep/h2 naming the first free inode: /lost+found must
 * not take that one (until the entry is removed it would have two names). */
static void damage_stale(void)
{
	uint64_t blk;
	struct fs_ddirent *e = dirent_of(ikeep, "h2", &blk);

	unname(UDAX_ROOT_INO, "e");
	for (e->ino = ie; dinode(e->ino)->mode; e->ino++)
		;
	fix_block(blk, ikeep);
}

static void e_moved_h2_gone(struct udax_fs *fs)
{
	e_moved(fs);
	FS_OK(udax_unlink(fs, "/keep/h2"));
}

static void damage_e(void)
{
	unname(UDAX_ROOT_INO, "e");
}

/* Every crash state of the repair of @damage (@problems, all repairable)
 * mounts, and a second repair leaves @want. */
static void test_crash(void (*damage)(void), int problems, const char *want)
{
	struct udax_mount_opts ro = { .flags = UDAX_MOUNT_RDONLY };
	struct udax_fsck_report r;
	struct udax_fs *fs;
	long fences, states = 0;
	uint8_t *orig = malloc(part_size);

	T_ASSERT(orig);
	memcpy(orig, good, part_size);
	restore();
	damage();
	memcpy(good, part, part_size);		/* restore(): the damaged image */
	sh_start(1L << 30, 0);
	fsck(UDAX_FSCK_REPAIR, &r);
	fences = sh.fences;
	sh_crash();
	T_ASSERT(got.n == problems && r.repaired == r.problems);
	T_ASSERT(fences >= 3);	/* make, reconnect, the root's count at least */
	expect_tree(want);
	for (long stop = 0; stop <= fences; stop++) {
		long np = 1;

		for (long prefix = 0; prefix < np; prefix++, states++) {
			restore();
			sh_start(stop, prefix);
			fsck(UDAX_FSCK_REPAIR, &r);
			np = sh.stop_np;
			sh_crash();
			FS_OK(udax_mount(dev, 0, &ro, &fs));
			FS_OK(udax_unmount(&fs));
			consistent();
			fsck(UDAX_FSCK_REPAIR, &r);
			expect_tree(want);
		}
	}
	fprintf(stderr, "crash: %ld fences, %ld states\n", fences, states);
	memcpy(good, orig, part_size);
	free(orig);
	restore();
}

/*
 * The nth allocation or persistence call of the repair of @damage fails:
 * the repair returns that error (what it committed before stays: each step
 * is a transaction), the image still mounts, and a fault-free repair then
 * finishes into @want.
 */
static void test_faults(void (*damage)(void), const char *want)
{
	static const struct { enum udax_fault_site site; int err; } sites[] = {
		{ UDAX_FAULT_MALLOC, -ENOMEM }, { UDAX_FAULT_PERSIST, -EIO },
	};
	struct udax_mount_opts ro = { .flags = UDAX_MOUNT_RDONLY };
	struct udax_fsck_report r;
	struct udax_fs *fs;
	uint8_t *orig = malloc(part_size);

	T_ASSERT(orig);
	memcpy(orig, good, part_size);
	restore();
	damage();
	memcpy(good, part, part_size);
	for (size_t s = 0; s < sizeof(sites) / sizeof(sites[0]); s++) {
		long n = 1, calls;

		restore();
		FS_OK(udax_fault_set(sites[s].site, __LONG_MAX__ - 1, 1, -EIO));
		fsck(UDAX_FSCK_REPAIR, &r);
		calls = udax_fault_calls(sites[s].site);
		udax_fault_clear(UDAX_FAULT_NR_SITES);
		T_ASSERT(calls > 0);
		for (; n <= calls; n++) {
			int ret;

			restore();
			FS_OK(udax_fault_set(sites[s].site, n, 1, sites[s].err));
			ret = udax_fsck(dev, 0, UDAX_FSCK_REPAIR, NULL, NULL, &r);
			T_ASSERT(udax_fault_hits(sites[s].site) == 1);
			udax_fault_clear(UDAX_FAULT_NR_SITES);
			if (ret != sites[s].err) {
				fprintf(stderr, "repair, %s call %ld fails: returned %d, want %d\n",
					udax_fault_site_name(sites[s].site), n, ret,
					sites[s].err);
				exit(1);
			}
			FS_OK(udax_mount(dev, 0, &ro, &fs));
			FS_OK(udax_unmount(&fs));
			fsck(UDAX_FSCK_REPAIR, &r);
			T_ASSERT(r.repaired == r.problems);
			expect_tree(want);
		}
		fprintf(stderr, "faults: %s: %ld calls of the repair failed in turn\n",
			udax_fault_site_name(sites[s].site), calls);
	}
	memcpy(good, orig, part_size);
	free(orig);
	restore();
}

static void lnf_old(struct udax_fs *fs)
{
	FS_OK(udax_mkdir(fs, "/lost+found", 0700));
	t_write_file(fs, "/lost+found/old", gdata, 50);
}

static void lnf_old_e_moved(struct udax_fs *fs)
{
	char p[64];

	lnf_old(fs);
	path_of(p, sizeof(p), "/lost+found/#%u", ie);
	FS_OK(udax_rename(fs, "/e", p, 0));
}

/* Change the undamaged image with @fn, then unname /e. */
static void damage_after(void (*fn)(struct udax_fs *))
{
	struct udax_fs *fs;

	restore();
	fs = t_fs_mount(dev);
	fn(fs);
	FS_OK(udax_unmount(&fs));
	unname(UDAX_ROOT_INO, "e");
}

static void lnf_taken(struct udax_fs *fs)
{
	char p[64];

	lnf_old(fs);
	path_of(p, sizeof(p), "/lost+found/#%u", ie);
	t_write_file(fs, p, gdata, 5);
}

static void lnf_file(struct udax_fs *fs)
{
	t_write_file(fs, "/lost+found", gdata, 5);
}

static void no_inode(struct udax_fs *fs)
{
	struct udax_file *f;
	char p[32];
	int ret = 0;

	for (int n = 0; !ret; n++) {
		snprintf(p, sizeof(p), "/keep/z%d", n);
		ret = udax_open(fs, p, O_RDWR | O_CREAT, 0644, &f);
		if (!ret)
			FS_OK(udax_close(&f));
	}
	T_ASSERT(ret == -ENOSPC);
}

static void no_block(struct udax_fs *fs)
{
	struct udax_file *f;
	char buf[4096] = { 1 };
	ssize_t w = 4096;

	FS_OK(udax_open(fs, "/keep/fill", O_RDWR | O_CREAT, 0644, &f));
	for (uint64_t off = 0; w == 4096; off += 4096)
		w = udax_pwrite(f, buf, sizeof(buf), off);
	T_ASSERT(w == -ENOSPC);
	FS_OK(udax_close(&f));
}

/* The problem collected about inode @ino. */
static const struct udax_fsck_problem *problem_of(uint32_t ino)
{
	for (int k = 0; k < got.n && k < MAXP; k++)
		if (got.p[k].ino == ino)
			return &got.p[k];
	fprintf(stderr, "no problem about inode %u\n", ino);
	exit(1);
}

/* After damage_after(): /e left with @why (and what is below it: /e/f,
 * /e/sub, /e/sub/g, still unreachable), the root's count repaired. */
static void expect_left(const char *why)
{
	const struct udax_fsck_problem *p;
	struct udax_fsck_report r;

	consistent();
	fsck(UDAX_FSCK_REPAIR, &r);
	p = problem_of(ie);
	T_ASSERT(got.n == 5 && r.repaired == 1 && has(UDAX_FSCK_LINK, iblock(1), 1));
	T_ASSERT(p->area == UDAX_FSCK_LINK && !p->repaired && strstr(p->msg, why));
	fsck(0, &r);
	T_ASSERT(got.n == 4 && !has(UDAX_FSCK_LINK, iblock(1), 1));
	consistent();
}

static void test_cases(void)
{
	struct udax_fsck_report r0, r;
	char *want;

	/* /lost+found there (with a file): used, no inode made. */
	want = reference(lnf_old_e_moved);
	damage_after(lnf_old);
	fsck(0, &r0);
	T_ASSERT(got.n == 2);
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 2 && r.repaired == 2);
	fsck(0, &r);
	T_ASSERT(r.inodes == r0.inodes);
	expect_tree(want);
	free(want);

	fprintf(stderr, "the name #<ino> taken in /lost+found\n");
	damage_after(lnf_taken);
	expect_left("taken");
	fprintf(stderr, "\"lost+found\" in the root is a file\n");
	damage_after(lnf_file);
	expect_left("not a directory");
	fprintf(stderr, "no free inode\n");
	damage_after(no_inode);
	expect_left("no free inode");
	/* The orphan directory with entries stays as it is. */
	dinode(ie)->nlink = 0;
	fix_inode(ie);
	consistent();
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 4 && !r.repaired && dinode(ie)->nlink == 0);
	T_ASSERT(strstr(problem_of(ie)->msg, "orphan directory") &&
		 strstr(problem_of(ie)->msg, "2 entries") &&
		 strstr(problem_of(ie)->msg, "no free inode"));
	fprintf(stderr, "no free block\n");
	damage_after(no_block);
	expect_left("no free block");
	restore();
}

static void files_moved(struct udax_fs *fs)
{
	char p[64];

	FS_OK(udax_mkdir(fs, "/lost+found", 0700));
	path_of(p, sizeof(p), "/lost+found/#%u", ia);
	FS_OK(udax_rename(fs, "/a", p, 0));
	path_of(p, sizeof(p), "/lost+found/#%u", ihl);
	FS_OK(udax_rename(fs, "/h", p, 0));
	FS_OK(udax_unlink(fs, "/keep/h2"));
}

/* Files: /a (nlink 1) and /h (nlink 2, both names gone) get nlink 1. */
static void test_files(void)
{
	struct udax_fsck_report r;
	char *want = reference(files_moved);

	unname(UDAX_ROOT_INO, "a");
	unname(UDAX_ROOT_INO, "h");
	unname(ikeep, "h2");
	consistent();
	fsck(0, &r);
	T_ASSERT(got.n == 2 && has(UDAX_FSCK_LINK, iblock(ia), ia) &&
		 has(UDAX_FSCK_LINK, iblock(ihl), ihl));
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 2 && r.repaired == 2 && dinode(ihl)->nlink == 1);
	expect_tree(want);
	free(want);
	restore();
}

/* Chains that loop back: reported where the looping "next" is (mount
 * refuses them too), and a regular file's is cut before the loop: the
 * leaves before it stay, the last of them ending the list. */
static void test_chain_cycle(void)
{
	struct fs_dinode *b = dinode(ibig);
	struct fs_dextblk *eb[8];
	uint64_t c[8];
	uint32_t n = b->ext_blocks;

	T_ASSERT(n >= 5 && n <= 8);
	c[0] = b->ext_next;
	for (uint32_t k = 0; k < n; k++) {
		eb[k] = (void *)(part + c[k] * FS_BS);
		if (k + 1 < n)
			c[k + 1] = eb[k]->next;
	}
	/* Three blocks: the third's next is the first again. */
	eb[2]->next = c[0];
	fix_block(c[2], ibig);
	expect_one("extent chain loops after three blocks", UDAX_FSCK_EXTENT, c[2],
		   ibig, true);
	T_ASSERT(strstr(got.msg[0], "loops back"));
	T_ASSERT(b->ext_blocks == 3 && eb[2]->next == 0 &&
		 b->nr_extents == (uint32_t)eb[0]->count + eb[1]->count + eb[2]->count);
	restore();
	eb[1]->next = c[0];
	fix_block(c[1], ibig);
	expect_one("extent chain loops after two blocks", UDAX_FSCK_EXTENT, c[1],
		   ibig, true);
	T_ASSERT(b->ext_blocks == 2 && eb[1]->next == 0);
	restore();
	/* The last block's next points back: the chain is longer than the
	 * inode says, at that block. */
	eb[n - 1]->next = c[0];
	fix_block(c[n - 1], ibig);
	expect_one("last extent block points back", UDAX_FSCK_EXTENT, c[n - 1],
		   ibig, true);
	T_ASSERT(b->ext_blocks == n - 1 && eb[n - 2]->next == 0);
	restore();
}

/* More unreachable inodes than one block of /lost+found holds. */
static void test_many(void)
{
	struct udax_dev *keep = dev;
	uint8_t *keep_good = good;
	struct udax_fsck_report r;
	struct udax_fs *fs;
	struct udax_dirent de;
	struct udax_dir *d;
	struct udax_stat st;
	uint32_t im, n = 0;
	char p[32];

	dev = t_fs_dev("mem:8M");
	good = NULL;
	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 512 }));
	fs = t_fs_mount(dev);
	FS_OK(udax_mkdir(fs, "/m", 0755));
	for (int k = 0; k < 400; k++) {
		snprintf(p, sizeof(p), "/m/file%d", k);
		t_write_file(fs, p, p, strlen(p));
	}
	im = ino_of(fs, "/m");
	FS_OK(udax_unmount(&fs));
	k_snapshot();
	for (uint32_t x = 0; x < dinode(im)->nr_extents; x++)
		for (uint32_t l = 0; l < dinode(im)->ext[x].len; l++) {
			uint64_t blk = dinode(im)->ext[x].pblk + l;

			for (uint32_t off = 16; off < FS_BS;) {
				struct fs_ddirent *e = (void *)(part + blk * FS_BS + off);

				e->ino = 0;
				off += e->rec_len;
			}
			fix_block(blk, im);
		}
	consistent();
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(r.problems == 400 && r.repaired == 400);
	fsck(0, &r);
	T_ASSERT(got.n == 0);
	consistent();
	fs = t_fs_mount(dev);
	FS_OK(udax_stat(fs, "/lost+found", &st));
	T_ASSERT(st.size >= 2 * FS_BS);
	FS_OK(udax_opendir(fs, "/lost+found", &d));
	while (udax_readdir(d, &de) == 1) {
		size_t len;
		char *b;

		snprintf(p, sizeof(p), "#%u", de.ino);
		T_ASSERT(!strcmp(de.name, p) && de.type == DT_REG);
		snprintf(p, sizeof(p), "/lost+found/#%u", de.ino);
		b = t_read_file(fs, p, &len);
		T_ASSERT(len >= 8 && !memcmp(b, "/m/file", 7));
		free(b);
		n++;
	}
	FS_OK(udax_closedir(&d));
	T_ASSERT(n == 400);
	FS_OK(udax_unmount(&fs));
	fprintf(stderr, "many: 400 reconnected, /lost+found %llu blocks\n",
		(unsigned long long)st.size / FS_BS);
	udax_dev_close(&dev, 0);
	free(good);
	dev = keep;
	good = keep_good;
	k_snapshot();
}

int main(void)
{
	struct udax_fsck_report r;
	char *want;

	build();
	k_snapshot();
	fsck(0, &r);
	T_ASSERT(got.n == 0 && r.chain_blocks == 5);
	want = reference(e_moved);
	test_subtree(want);
	test_crash(damage_e, 2, want);
	free(want);
	want = reference(e_moved_h2_gone);
	/* The entry, /h's count, /e, the root's count. */
	test_crash(damage_stale, 4, want);
	test_faults(damage_stale, want);
	free(want);
	test_cases();
	test_files();
	test_chain_cycle();
	test_many();
	udax_dev_close(&dev, 0);
	free(good);
	sh_free();
	printf("fs_fsck_lnf: ok\n");
	return 0;
}
