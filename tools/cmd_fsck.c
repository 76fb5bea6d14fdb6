/* SPDX-License-Identifier: MIT */
/*
 * udax fsck: check a udax file system through the library's own validation.
 *
 * A read-only mount validates the superblocks, replays the journal in
 * memory, checks every inode record and the extent maps against each other
 * (overlaps, bounds).  fsck then walks the tree from the root, reads every
 * directory and every byte of every file (so every directory block and
 * extent chain is read and validated), and checks link counts against the
 * directory entries found and the inode count against what is reachable.
 * --repair does what is safe: a read-write mount replays the journal on the
 * media and reclaims orphans, then the check runs again.
 *
 * Exit status (like e2fsck): 0 clean, 1 errors repaired, 4 errors left,
 * 8 operational error, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <udax/dev.h>
#include <udax/fs.h>

#include "cli.h"

#define FSCK_CLEAN	0
#define FSCK_REPAIRED	1
#define FSCK_LEFT	4
#define FSCK_OPERROR	8

struct seen {
	uint32_t ino;
	uint32_t nlink;		/* as stat says */
	uint32_t refs;		/* directory entries naming it */
	bool dir;
};

struct check {
	struct udax_fs *fs;
	struct seen *v;
	size_t n, cap;
	long problems;
	uint64_t bytes;
	char *buf;
};

static void problem(struct check *c, const char *fmt, const char *path, const char *why)
{
	c->problems++;
	printf("  problem: ");
	printf(fmt, path, why);
	printf("\n");
}

static struct seen *find(struct check *c, uint32_t ino, bool add, bool *fresh)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].ino == ino)
			return &c->v[i];
	if (!add)
		return NULL;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct seen *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	*fresh = true;
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	c->v[c->n].ino = ino;
	return &c->v[c->n++];
}

static void read_all(struct check *c, const char *path, uint64_t size)
{
	struct udax_file *f;
	int ret = udax_open(c->fs, path, O_RDONLY, 0, &f);

	if (ret) {
		problem(c, "%s: cannot open: %s", path, udax_fs_last_error());
		return;
	}
	for (uint64_t off = 0; off < size; ) {
		ssize_t r = udax_pread(f, c->buf, 1u << 20, off);

		if (r <= 0) {
			problem(c, "%s: read failed: %s", path, r ? udax_fs_last_error() :
				"short file (size says more)");
			break;
		}
		off += (uint64_t)r;
		c->bytes += (uint64_t)r;
	}
	udax_close(&f);
}

static void walk(struct check *c, const char *path, int depth)
{
	struct udax_dir *d;
	struct udax_dirent e;
	struct udax_stat self;
	char child[4096 + UDAX_NAME_MAX + 2];
	uint32_t subdirs = 0;
	int ret;

	if (depth > 512) {
		problem(c, "%s: %s", path, "directory tree deeper than 512 (a loop?)");
		return;
	}
	if ((ret = udax_opendir(c->fs, path, &d))) {
		problem(c, "%s: cannot read directory: %s", path, udax_fs_last_error());
		return;
	}
	while ((ret = udax_readdir(d, &e)) > 0) {
		struct udax_stat st;
		struct seen *s;
		bool fresh = false;

		if (snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "",
			     e.name) >= (int)sizeof(child)) {
			problem(c, "%s: %s", path, "path too long to check below");
			continue;
		}
		if (udax_stat(c->fs, child, &st)) {
			problem(c, "%s: cannot stat: %s", child, udax_fs_last_error());
			continue;
		}
		if (st.ino != e.ino)
			problem(c, "%s: %s", child, "directory entry and inode disagree");
		s = find(c, st.ino, true, &fresh);
		if (!s) {
			problem(c, "%s: %s", child, "out of memory");
			break;
		}
		s->refs++;
		if (S_ISDIR(st.mode))
			subdirs++;
		if (!fresh)
			continue;	/* a hard link: counted, already walked */
		s->nlink = st.nlink;
		s->dir = S_ISDIR(st.mode);
		if (s->dir)
			walk(c, child, depth + 1);
		else
			read_all(c, child, st.size);
	}
	if (ret < 0)
		problem(c, "%s: readdir failed: %s", path, udax_fs_last_error());
	udax_closedir(&d);
	/* A directory is linked from its parent, from its own ".", and from
	 * the ".." of each subdirectory. */
	if (!udax_stat(c->fs, path, &self) && self.nlink != 2 + subdirs) {
		c->problems++;
		printf("  problem: %s: link count %u, but %u subdirectories (want %u)\n",
		       path, self.nlink, subdirs, 2 + subdirs);
	}
}

static int check_once(const char *spec, unsigned part, bool rw, long *problems)
{
	struct udax_mount_opts mo = { .flags = rw ? 0 : UDAX_MOUNT_RDONLY };
	struct check c = { 0 };
	struct udax_dev *dev;
	struct udax_statfs sf;
	int ret;

	if (cli_open_dev("fsck", spec, 0, &dev))
		return FSCK_OPERROR;
	ret = udax_mount(dev, part, &mo, &c.fs);
	if (ret) {
		printf("partition %u: does not mount: %s\n", part, udax_fs_last_error());
		udax_dev_close(&dev, 0);
		*problems = 1;
		return ret == -EUCLEAN || ret == -ENODATA ? FSCK_LEFT : FSCK_OPERROR;
	}
	c.buf = malloc(1u << 20);
	if (!c.buf) {
		cli_unmount(&dev, &c.fs);
		return FSCK_OPERROR;
	}
	walk(&c, "/", 0);
	/* Files: one link per directory entry (directories: checked in walk). */
	for (size_t i = 0; i < c.n; i++) {
		struct seen *s = &c.v[i];

		if (s->dir && s->refs != 1) {
			c.problems++;
			printf("  problem: directory inode %u has %u entries naming it\n",
			       s->ino, s->refs);
		} else if (!s->dir && s->nlink != s->refs) {
			c.problems++;
			printf("  problem: inode %u: link count %u, but %u directory entries\n",
			       s->ino, s->nlink, s->refs);
		}
	}
	if (!udax_statfs(c.fs, &sf)) {
		uint64_t used = sf.inodes - sf.inodes_free, reachable = c.n + 1;

		if (used != reachable) {
			c.problems++;
			printf("  problem: %llu inodes in use, %llu reachable from the root "
			       "(orphans or lost inodes)\n", (unsigned long long)used,
			       (unsigned long long)reachable);
		}
		printf("partition %u: %zu inodes checked, %llu bytes read, %llu/%llu blocks free, "
		       "%llu busy\n", part, c.n + 1, (unsigned long long)c.bytes,
		       (unsigned long long)sf.blocks_free, (unsigned long long)sf.blocks,
		       (unsigned long long)sf.blocks_busy);
	}
	free(c.buf);
	free(c.v);
	cli_unmount(&dev, &c.fs);
	*problems = c.problems;
	return c.problems ? FSCK_LEFT : FSCK_CLEAN;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: udax fsck [-p PART] [--repair] DEVICE\n"
		"\n"
		"Check the file system on partition PART (default: every partition).\n"
		"  -p, --partition N   check one partition\n"
		"  -r, --repair        repair what is safe: replay the journal on the\n"
		"                      media and reclaim orphans, then check again\n"
		"Exit: 0 clean, 1 repaired, 4 problems left, 8 operational error.\n");
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "partition", required_argument, NULL, 'p' },
		{ "repair", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct udax_dev *dev;
	bool repair = false;
	long one = -1;
	uint64_t v;
	int c, n, status = FSCK_CLEAN;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:rh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!cli_parse_size(optarg, &v) || v >= UDAX_DEV_MAX_PARTS) {
				cli_err("fsck", 0, "bad partition '%s'", optarg);
				return EXIT_USAGE;
			}
			one = (long)v;
			break;
		case 'r':
			repair = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (cli_open_dev("fsck", argv[optind], 0, &dev))
		return FSCK_OPERROR;
	n = udax_dev_part_count(dev);
	if (n < 0)
		printf("partition table: %s\n", udax_dev_last_error());
	udax_dev_close(&dev, 0);
	if (n < 0)
		return FSCK_LEFT;
	for (int p = 0; p < n; p++) {
		long problems = 0;
		int st;

		if (one >= 0 && p != one)
			continue;
		st = check_once(argv[optind], (unsigned)p, false, &problems);
		if (st == FSCK_LEFT && repair) {
			printf("partition %d: %ld problem(s); repairing (journal replay, orphans)\n",
			       p, problems);
			(void)check_once(argv[optind], (unsigned)p, true, &problems);
			st = check_once(argv[optind], (unsigned)p, false, &problems);
			if (st == FSCK_CLEAN)
				st = FSCK_REPAIRED;
		}
		if (st > status)
			status = st;
		printf("partition %d: %s\n", p, st == FSCK_CLEAN ? "clean" :
		       st == FSCK_REPAIRED ? "repaired" : st == FSCK_LEFT ?
		       "problems left" : "could not be checked");
	}
	return status;
}
