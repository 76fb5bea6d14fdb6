/* SPDX-License-Identifier: MIT */
/*
 * Hostile images: mount, walk, modify and unmount a file system whose
 * metadata was patched with arbitrary bytes.  Anything but a crash, hang or
 * sanitizer report is fine: every rejection must be an error code.
 *
 * An input is a list of patches { u32 offset; u8 len; len bytes } applied
 * to a copy of a template image: offsets select a byte of the metadata
 * region (the partition table, the superblocks, the journal, the inode
 * table and the first data blocks, where directories and extent blocks of
 * the template live), so the fuzzer spends its time where validation is.
 * The first byte of an input chooses a read-only or read-write mount.
 *
 * udax_fsck runs on each image first and must agree with mount: an image
 * it finds clean mounts, one mount refuses as corrupt (-EUCLEAN) has
 * problems.  After the walk, fsck --repair runs: when it says it repaired
 * every problem, a second check must find none.
 *
 * Built with clang -fsanitize=fuzzer (cmake -DUDAX_FUZZ=ON) this is a
 * libFuzzer target; otherwise main() replays the files named on the command
 * line (the seeds in tests/fuzz/seeds), which CI does under ASan + UBSan.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <udax/fs.h>
#include <udax/fsck.h>

#define DEV_SPEC	"mem:6M"
#define PART_OFF	(2u << 20)		/* the one partition starts here */
#define META_BLOCKS	400u			/* partition blocks fuzzed */
#define REGION		(4096u + META_BLOCKS * 4096u)

static unsigned char *template;
static size_t dev_size;

static __attribute__((noreturn)) void die(const char *what, int err)
{
	fprintf(stderr, "fuzz_mount: template: %s: %s\n", what, udax_strerror(err));
	abort();
}

static void put(struct udax_fs *fs, const char *path, size_t len, int c)
{
	struct udax_file *f;
	char buf[4096];
	int ret;

	if ((ret = udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f)))
		die(path, ret);
	memset(buf, c, sizeof(buf));
	/* Every other block: many extents, an extent block for the chain. */
	for (size_t off = 0; off < len; off += 2 * sizeof(buf))
		udax_pwrite(f, buf, sizeof(buf), off);
	udax_close(&f);
}

/* @nx one-block extents at every other block, unwritten (nothing to
 * write), the file's size covering them: @nx > 254 makes a list of
 * several extent leaves. */
static void sparse(struct udax_fs *fs, const char *path, uint64_t nx)
{
	struct udax_file *f;
	int ret;

	if ((ret = udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f)))
		die(path, ret);
	for (uint64_t k = 0; k < nx; k++)
		udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 2 * k * 4096, 4096);
	udax_ftruncate(f, 2 * nx * 4096);
	udax_close(&f);
}

/* The template: a few directories, files, a hard link, a file whose
 * extents fill two leaves (inside the fuzzed blocks: a small journal, and
 * made first), one with 150 extents in a leaf, a directory of several
 * blocks, a file with appends pending in the fast log. */
static void make_template(void)
{
	struct udax_dev *dev;
	struct udax_dev_info info;
	struct udax_file *lf;
	static char lbuf[8192];
	struct udax_fs *fs;
	int ret;

	if ((ret = udax_dev_open(DEV_SPEC, NULL, &dev)))
		die("open", ret);
	if ((ret = udax_dev_mkpart(dev, NULL, 0, 0)) ||
	    (ret = udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .journal_blocks = 64 })) ||
	    (ret = udax_mount(dev, 0, NULL, &fs)))
		die("mkfs", ret);
	udax_mkdir(fs, "/d", 0755);
	udax_mkdir(fs, "/d/e", 0700);
	/* The POSIX surface's records and blocks, early (fuzzed): an inline
	 * and a block symbolic link, a device, extended-attribute blocks. */
	{
		char t[600];

		memset(t, 't', sizeof(t) - 1);
		t[sizeof(t) - 1] = 0;
		udax_symlink(fs, "e/c", "/d/s");
		udax_symlink(fs, t, "/d/sl");
		udax_mknod(fs, "/d/dev", S_IFBLK | 0600, 0x0803, NULL);
		udax_setxattr(fs, "/d", "user.x", "xx", 2, 0);
		udax_setxattr(fs, "/d/e", "trusted.t", "ttt", 3, 0);
		udax_setxattr(fs, "/d/e", "security.s", "s", 1, 0);
	}
	sparse(fs, "/d/m", 300);
	put(fs, "/a", 12000, 'a');
	put(fs, "/d/e/c", 100, 'c');
	/* A directory of 4 blocks (links, to spare inodes), early enough
	 * for the fuzzed region: its index is built from hostile blocks at
	 * the first lookup. */
	udax_mkdir(fs, "/m", 0755);
	for (int i = 0; i < 300; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/m/%040d", i);
		udax_link(fs, "/d/e/c", p);
	}
	put(fs, "/d/b", 300 * 4096, 'b');	/* 150 extents */
	udax_link(fs, "/a", "/d/link");
	/* /l: two blocks through the journal, then two appends that are
	 * only records in a fast-log area (format 3): the image is taken
	 * before the close that would checkpoint them, as after a crash,
	 * so every mount of it replays them. */
	if ((ret = udax_open(fs, "/l", O_CREAT | O_RDWR, 0644, &lf)))
		die("/l", ret);
	memset(lbuf, 'l', sizeof(lbuf));
	if (udax_pwrite(lf, lbuf, 8192, 0) != 8192 ||
	    udax_append(lf, lbuf, 4096, NULL) != 4096 ||
	    udax_append(lf, lbuf, 3000, NULL) != 3000)
		die("/l append", -EIO);
	udax_dev_info(dev, &info);
	dev_size = info.size;
	template = malloc(dev_size);
	memcpy(template, info.addr, dev_size);
	udax_close(&lf);
	if ((ret = udax_unmount(&fs)))
		die("unmount", ret);
	udax_dev_close(&dev, 0);
}

static void walk(struct udax_fs *fs, const char *path, int depth, bool rw)
{
	static char buf[65536];
	struct udax_dir *d;
	struct udax_dirent e;
	char child[600];

	if (depth > 8 || udax_opendir(fs, path, &d))
		return;
	for (int n = 0; n < 64 && udax_readdir(d, &e) == 1; n++) {
		struct udax_stat st;
		struct udax_file *f;

		if (snprintf(child, sizeof(child), "%s/%s", depth ? path : "", e.name) >=
		    (int)sizeof(child) || udax_lstat(fs, child, &st))
			continue;
		/* Links, attributes: read (validated), and changed. */
		udax_readlink(fs, child, buf, sizeof(buf));
		if (udax_listxattr(fs, child, buf, sizeof(buf)) > 0)
			udax_getxattr(fs, child, buf, buf + 512, 4096);
		if (rw) {
			udax_setxattr(fs, child, "user.fz", "fuzz", 4, 0);
			udax_removexattr(fs, child, "trusted.t");
		}
		if (udax_stat(fs, child, &st))
			continue;
		if (S_ISDIR(st.mode)) {
			walk(fs, child, depth + 1, rw);
			continue;
		}
		if (udax_open(fs, child, rw ? O_RDWR : O_RDONLY, 0, &f))
			continue;
		for (uint64_t off = 0; off < st.size && off < (1u << 22); off += sizeof(buf))
			if (udax_pread(f, buf, sizeof(buf), off) <= 0)
				break;
		if (rw) {
			udax_pwrite(f, buf, 100, st.size / 2);
			udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 0, 8192);
			udax_ftruncate(f, st.size / 3);
		}
		udax_close(&f);
	}
	udax_closedir(&d);
	if (rw && depth == 0) {
		udax_mkdir(fs, "/new", 0755);
		udax_rename(fs, "/a", "/new/a", 0);
		udax_unlink(fs, "/d/link");
		/* The large directory's index: lookups, a remove, an add
		 * into the gap, a rename across its blocks. */
		udax_unlink(fs, "/m/0000000000000000000000000000000000000007");
		udax_link(fs, "/d/e/c", "/m/new");
		udax_rename(fs, "/m/0000000000000000000000000000000000000299",
			    "/m/0000000000000000000000000000000000000007", 0);
		udax_rmdir(fs, "/m");
		udax_symlink(fs, "/d/e", "/new/s");
		udax_rename(fs, "/d/s", "/d/e", UDAX_RENAME_EXCHANGE);
		udax_unlink(fs, "/d/sl");
	}
}

/* Every problem fsck reports names an area and a place, and says why. */
static void check_problem(const struct udax_fsck_problem *p, void *arg)
{
	uint64_t nr_blocks = *(const uint64_t *)arg;

	if (p->area > UDAX_FSCK_DATA || !p->msg || !p->msg[0] ||
	    (p->block != UINT64_MAX && p->block >= nr_blocks) || p->offset >= 4096) {
		fprintf(stderr, "fuzz_mount: bad fsck report: area %d block %llu +%u: %s\n",
			p->area, (unsigned long long)p->block, p->offset,
			p->msg ? p->msg : "(null)");
		abort();
	}
}

/* A refused mount says why, with one of the documented codes. */
static void check_refusal(int ret)
{
	const char *msg = udax_fs_last_error();

	if ((ret != -EUCLEAN && ret != -ENODATA && ret != -EPROTONOSUPPORT &&
	     ret != -ENOMEDIUM && ret != -ENOMEM) || !msg || !msg[0]) {
		fprintf(stderr, "fuzz_mount: mount refused with %d (%s), message \"%s\"\n",
			ret, udax_strerror(ret), msg ? msg : "(null)");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct udax_mount_opts mo = { 0 };
	struct udax_dev *dev;
	struct udax_dev_info info;
	struct udax_fsck_report r;
	struct udax_fs *fs;
	unsigned char *img;
	uint64_t nr_blocks;
	bool rw, checked;
	int ret;

	if (!template)
		make_template();
	if (size < 1)
		return 0;
	rw = data[0] & 1;
	if (udax_dev_open(DEV_SPEC, NULL, &dev))
		return 0;
	udax_dev_info(dev, &info);
	img = info.addr;
	memcpy(img, template, dev_size);
	for (size_t i = 1; i + 5 <= size; ) {
		uint32_t off;
		uint8_t len;

		memcpy(&off, data + i, 4);
		len = data[i + 4];
		i += 5;
		off %= REGION;
		/* offset 0..4095: the partition table; then partition blocks */
		off = off < 4096 ? off : PART_OFF + (off - 4096);
		for (uint8_t k = 0; k < len && i < size && off + k < dev_size; k++)
			img[off + k] = data[i++];
	}
	udax_dev_part_read(dev);
	mo.flags = rw ? 0 : UDAX_MOUNT_RDONLY;
	nr_blocks = dev_size / 4096;	/* a bound for any partition */
	checked = udax_fsck(dev, 0, 0, check_problem, &nr_blocks, &r) == 0;
	ret = udax_mount(dev, 0, &mo, &fs);
	if (ret)
		check_refusal(ret);
	if (checked && ((!r.problems && ret) || (ret == -EUCLEAN && !r.problems))) {
		fprintf(stderr, "fuzz_mount: fsck found %llu problems, mount returned %d: %s\n",
			(unsigned long long)r.problems, ret, udax_fs_last_error());
		abort();
	}
	if (ret == 0) {
		walk(fs, "/", 0, rw);
		udax_unmount(&fs);
	}
	if (udax_fsck(dev, 0, UDAX_FSCK_REPAIR, check_problem, &nr_blocks, &r) == 0 &&
	    r.problems && r.repaired == r.problems) {
		if (udax_fsck(dev, 0, 0, check_problem, &nr_blocks, &r) == 0 && r.problems) {
			fprintf(stderr, "fuzz_mount: fsck repaired everything, but %llu problems remain\n",
				(unsigned long long)r.problems);
			abort();
		}
		/* Repaired means usable. */
		ret = udax_mount(dev, 0, &mo, &fs);
		if (ret) {
			fprintf(stderr, "fuzz_mount: fsck repaired everything, mount: %d: %s\n",
				ret, udax_fs_last_error());
			abort();
		}
		udax_unmount(&fs);
	}
	udax_dev_close(&dev, UDAX_DEV_CLOSE_WAIT);
	return 0;
}

#ifndef UDAX_LIBFUZZER
/* Replay inputs from files: the seeds, or a crash a fuzzer found. */
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[1 << 16];
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz_mount: %d inputs replayed\n", argc - 1);
	return 0;
}
#endif
