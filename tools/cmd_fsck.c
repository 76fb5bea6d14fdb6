/* SPDX-License-Identifier: MIT */
/*
 * udax fsck: check (and with -p or -y, repair what is safe) the file system
 * of each partition with udax_fsck() (include/udax/fsck.h): superblocks,
 * journal, inode table, extents and block owners, directories, link counts,
 * data tails, straight from the media; repair reconnects unreachable inodes
 * under /lost+found.  Each problem is printed with where it is, then a
 * summary per partition.
 *
 * The options and exit status are e2fsck's, so that a script written for
 * it means the same here: -n checks only (the default: udax fsck never
 * asks), -p and -y repair, -f is accepted (every check is full).  Exit:
 * 0 clean, 1 every problem found was repaired, 4 problems left,
 * 8 operational error, 16 usage error (e2fsck's, not the other
 * subcommands' 2); several partitions: the OR of theirs, as fsck(8)
 * combines several file systems.  The partition is chosen with -P N, as everywhere.
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
#define FSCK_USAGE	16

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

/* --json: the finer area. */
static const char *area_key(enum udax_fsck_area a)
{
	switch (a) {
	case UDAX_FSCK_SUPER: return "superblock";
	case UDAX_FSCK_JOURNAL: return "journal";
	case UDAX_FSCK_INODE: return "inode";
	case UDAX_FSCK_EXTENT: return "extent";
	case UDAX_FSCK_DIR: return "directory";
	case UDAX_FSCK_LINK: return "link";
	case UDAX_FSCK_DATA: return "data";
	}
	return "unknown";
}

static const char *status_name(int st)
{
	return st == FSCK_CLEAN ? "clean" : st == FSCK_REPAIRED ? "repaired" :
	       st == FSCK_LEFT ? "problems_left" : "error";
}

/* "inode 12 (block 5 +768): nlink 2, 1 entry names it [repaired]" */
static void print_problem(const struct udax_fsck_problem *p, void *arg)
{
	struct cli_json *j = arg;

	if (j) {
		cli_json_obj(j, NULL);
		cli_json_str(j, "area", area_key(p->area));
		if (p->ino)
			cli_json_u64(j, "ino", p->ino);
		else
			cli_json_null(j, "ino");
		if (p->block != UINT64_MAX) {
			cli_json_u64(j, "block", p->block);
			cli_json_u64(j, "offset", p->offset);
		} else {
			cli_json_null(j, "block");
			cli_json_null(j, "offset");
		}
		cli_json_str(j, "message", p->msg);
		cli_json_bool(j, "repaired", p->repaired);
		cli_json_close(j);
		return;
	}
	cli_ticker_clear();
	printf("  %s", area_name(p->area));
	if (p->ino)
		printf(" %u", p->ino);
	if (p->block != UINT64_MAX)
		printf(" (block %llu +%u)", (unsigned long long)p->block, p->offset);
	printf(": %s%s\n", p->msg, p->repaired ? " [repaired]" : "");
	fflush(stdout);
}

struct fsck_run {
	bool repair, progress;
	struct cli_json *j;		/* --json, or NULL */
	int nparts;
};

static void report_json(struct cli_json *j, const struct udax_fsck_report *r)
{
	cli_json_bool(j, "journal_committed", r->journal_committed);
	cli_json_u64(j, "inodes", r->inodes);
	cli_json_u64(j, "directories", r->dirs);
	cli_json_u64(j, "files", r->files);
	cli_json_u64(j, "blocks_used", r->blocks_used);
	cli_json_u64(j, "extent_blocks", r->chain_blocks);
	cli_json_u64(j, "directory_blocks", r->dir_blocks);
	cli_json_u64(j, "problems_found", r->problems);
	cli_json_u64(j, "problems_repaired", r->repaired);
}

static int check_part(struct udax_dev *dev, unsigned part, const struct fsck_run *run)
{
	struct udax_fsck_report r = { 0 };
	struct cli_json *j = run->j;
	int ret, st;

	if (j) {
		cli_json_obj(j, NULL);
		cli_json_u64(j, "partition", part);
		cli_json_arr(j, "problems");
	}
	if (run->progress)
		cli_ticker_start("fsck: partition %u of %d", part + 1, run->nparts);
	ret = udax_fsck(dev, part, run->repair ? UDAX_FSCK_REPAIR : 0, print_problem, j, &r);
	cli_ticker_stop();
	st = ret == -ENODATA ? FSCK_LEFT : ret ? FSCK_OPERROR :
	     !r.problems ? FSCK_CLEAN : r.repaired == r.problems ? FSCK_REPAIRED : FSCK_LEFT;
	if (j) {
		cli_json_close(j);	/* problems */
		cli_json_str(j, "status", ret == -ENODATA ? "no_filesystem" : status_name(st));
		cli_json_str(j, "error", ret && ret != -ENODATA ?
			     cli_libmsg(udax_fs_last_error()) : NULL);
		if (!ret)
			report_json(j, &r);
		cli_json_close(j);
		return st;
	}
	if (ret == -ENODATA) {
		printf("partition %u: no file system\n", part);
		return st;
	}
	if (ret) {
		cli_err("fsck", 0, "partition %u: %s", part, cli_libmsg(udax_fs_last_error()));
		return st;
	}
	if (r.journal_committed)
		printf("partition %u: journal held a committed transaction (%s)\n",
		       part, run->repair ? "replayed" : "checked as if replayed");
	printf("partition %u: %llu inodes (%llu directories, %llu files), "
	       "%llu blocks used (%llu extent blocks, %llu directory blocks); "
	       "%llu problems, %llu repaired\n", part,
	       (unsigned long long)r.inodes, (unsigned long long)r.dirs,
	       (unsigned long long)r.files, (unsigned long long)r.blocks_used,
	       (unsigned long long)r.chain_blocks, (unsigned long long)r.dir_blocks,
	       (unsigned long long)r.problems, (unsigned long long)r.repaired);
	return st;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: udax fsck [-n | -p | -y] [-f] [-P N] [--json] DEVICE\n"
		"\n"
		"Check the file system on every partition of DEVICE (or on partition N).\n"
		"The options mean what e2fsck's mean:\n"
		"\n"
		"  -n, --check         check only, write nothing (the default)\n"
		"  -p, --preen         repair what is safe without asking: journal replay,\n"
		"                      superblock copies, orphans, link counts, parents,\n"
		"                      bad entries, non-zero bytes past the end of file;\n"
		"                      unreachable inodes go to /lost+found/#INO\n"
		"  -y, --yes, --repair the same as -p (udax fsck never asks)\n"
		"  -f, --force         accepted for e2fsck scripts (every check is full)\n"
		"  -P, --part N        check partition N only\n"
		"  -q, --quiet         no progress line on a terminal\n"
		"      --json          one JSON object (docs/cli.md)\n"
		"  -h, --help          this text\n"
		"\n"
		"Exit (e2fsck's): 0 clean, 1 every problem repaired, 4 problems left,\n"
		"8 operational error, 16 usage error; several partitions: the OR of\n"
		"their statuses (as fsck(8) combines file systems).\n");
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'n' },
		{ "preen", no_argument, NULL, 'p' },
		{ "yes", no_argument, NULL, 'y' },
		{ "repair", no_argument, NULL, 'y' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		CLI_LONGOPT_PART,
		CLI_LONGOPT_JSON,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fsck_run run = { .progress = true };
	struct udax_dev *dev;
	struct cli_json j;
	int mode = 0;		/* 'n', 'p', 'y' */
	unsigned one = 0;
	bool one_set = false, json = false;
	int c, n, status = FSCK_CLEAN;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":npyfqP:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case 'p':
		case 'y':
			if (mode && mode != c && (mode == 'n' || c == 'n')) {
				cli_err("fsck", 0, "only one of -n, -p, -y may be given");
				return FSCK_USAGE;
			}
			mode = c;
			break;
		case 'f':
			break;
		case 'q':
			run.progress = false;
			break;
		case 'P':
			if (!cli_parse_part("fsck", optarg, &one))
				return FSCK_USAGE;
			one_set = true;
			break;
		case CLI_OPT_JSON:
			json = true;
			break;
		case 'h':
			usage(stdout);
			return FSCK_CLEAN;
		default:
			cli_bad_option("fsck", c, argc, argv);
			return FSCK_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return FSCK_USAGE;
	}
	run.repair = mode == 'p' || mode == 'y';
	if (cli_open_dev("fsck", argv[optind], 0, &dev))
		return FSCK_OPERROR;
	n = udax_dev_part_count(dev);
	run.nparts = n;
	if (json) {
		run.j = &j;
		cli_json_start(&j, stdout, "fsck");
		cli_json_str(&j, "device", argv[optind]);
		cli_json_str(&j, "mode", run.repair ? "repair" : "check");
		cli_json_str(&j, "partition_table_error",
			     n < 0 ? cli_libmsg(udax_dev_last_error()) : NULL);
		cli_json_arr(&j, "partitions");
	}
	if (n < 0) {
		if (!json)
			printf("partition table: %s\n", cli_libmsg(udax_dev_last_error()));
		status |= FSCK_LEFT;
	}
	if (one_set && n >= 0 && one >= (unsigned)n) {
		cli_err("fsck", 0, "no partition %u (the table has %d)", one, n);
		status |= FSCK_OPERROR;
	}
	for (int p = 0; p < n; p++) {
		int st;

		if (one_set && (unsigned)p != one)
			continue;
		st = check_part(dev, (unsigned)p, &run);
		status |= st;	/* as fsck(8) combines several checks */
		if (!json)
			printf("partition %d: %s\n", p, st == FSCK_CLEAN ? "clean" :
			       st == FSCK_REPAIRED ? "repaired" : st == FSCK_LEFT ?
			       "problems left" : "could not be checked");
	}
	if (udax_dev_close(&dev, 0))
		status |= FSCK_OPERROR;
	if (json) {
		cli_json_close(&j);
		cli_json_u64(&j, "exit_status", (uint64_t)status);
		cli_json_end(&j);
	}
	return status;
}
