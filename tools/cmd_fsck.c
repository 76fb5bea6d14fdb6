/* SPDX-License-Identifier: MIT */
/*
 * udax fsck: check (and with --repair, repair what is safe) the file system
 * of each partition with udax_fsck() (include/udax/fsck.h): superblocks,
 * journal, inode table, extents and block owners, directories, link counts,
 * data tails, straight from the media; --repair reconnects unreachable
 * inodes under /lost+found.  Each problem is printed with where
 * it is, then a summary per partition.
 *
 * Exit status (like e2fsck): 0 clean, 1 every problem found was repaired,
 * 4 problems left, 8 operational error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/fsck.h>

#include "cli.h"

#define FSCK_CLEAN	0
#define FSCK_REPAIRED	1
#define FSCK_LEFT	4
#define FSCK_OPERROR	8

static const char *area_name(enum udax_fsck_area a)
{
	switch (a) {
	case UDAX_FSCK_SUPER: return "superblock";
	case UDAX_FSCK_JOURNAL: return "journal";
	case UDAX_FSCK_DIR: return "directory";
	case UDAX_FSCK_INODE:
	case UDAX_FSCK_EXTENT:
	case UDAX_FSCK_LINK:
	case UDAX_FSCK_DATA: return "inode";
	}
	return "?";
}

/* "inode 12 (block 5 +768): nlink 2, 1 entry names it [repaired]" */
static void print_problem(const struct udax_fsck_problem *p, void *arg)
{
	(void)arg;
	printf("  %s", area_name(p->area));
	if (p->ino)
		printf(" %u", p->ino);
	if (p->block != UINT64_MAX)
		printf(" (block %llu +%u)", (unsigned long long)p->block, p->offset);
	printf(": %s%s\n", p->msg, p->repaired ? " [repaired]" : "");
}

static int check_part(struct udax_dev *dev, unsigned part, bool repair)
{
	struct udax_fsck_report r;
	int ret = udax_fsck(dev, part, repair ? UDAX_FSCK_REPAIR : 0,
			    print_problem, NULL, &r);

	if (ret == -ENODATA) {
		printf("partition %u: no file system\n", part);
		return FSCK_LEFT;
	}
	if (ret) {
		cli_err("fsck", 0, "partition %u: %s", part, udax_fs_last_error());
		return FSCK_OPERROR;
	}
	if (r.journal_committed)
		printf("partition %u: journal held a committed transaction (%s)\n",
		       part, repair ? "replayed" : "checked as if replayed");
	printf("partition %u: %llu inodes (%llu directories, %llu files), "
	       "%llu blocks used (%llu extent blocks, %llu directory blocks); "
	       "%llu problems, %llu repaired\n", part,
	       (unsigned long long)r.inodes, (unsigned long long)r.dirs,
	       (unsigned long long)r.files, (unsigned long long)r.blocks_used,
	       (unsigned long long)r.chain_blocks, (unsigned long long)r.dir_blocks,
	       (unsigned long long)r.problems, (unsigned long long)r.repaired);
	if (!r.problems)
		return FSCK_CLEAN;
	return r.repaired == r.problems ? FSCK_REPAIRED : FSCK_LEFT;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: udax fsck [-p PART] [--repair] DEVICE\n"
		"\n"
		"Check the file system on partition PART (default: every partition).\n"
		"  -p, --partition N   check one partition\n"
		"  -r, --repair        repair what is safe (journal replay, superblock\n"
		"                      copies, orphans, link counts, parents, bad\n"
		"                      entries, non-zero bytes past the end of file;\n"
		"                      unreachable inodes go to /lost+found/#INO)\n"
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
	if (n < 0) {
		printf("partition table: %s\n", udax_dev_last_error());
		status = FSCK_LEFT;
	}
	if (one >= n && n >= 0) {
		cli_err("fsck", 0, "no partition %ld (the table has %d)", one, n);
		status = FSCK_OPERROR;
	}
	for (int p = 0; p < n; p++) {
		int st;

		if (one >= 0 && p != one)
			continue;
		st = check_part(dev, (unsigned)p, repair);
		if (st > status)
			status = st;
		printf("partition %d: %s\n", p, st == FSCK_CLEAN ? "clean" :
		       st == FSCK_REPAIRED ? "repaired" : st == FSCK_LEFT ?
		       "problems left" : "could not be checked");
	}
	if (udax_dev_close(&dev, 0))
		status = FSCK_OPERROR;
	return status;
}
