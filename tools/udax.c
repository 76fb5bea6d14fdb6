/* SPDX-License-Identifier: MIT */
/*
 * udax: the command-line tool.  Each subcommand is a cmd_<name>() in a
 * cmd_*.c file; it parses its own options and returns an exit status:
 * 0 success, 1 failure, 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <udax/config.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "mkfs", cmd_mkfs, "write a partition table and file systems on a device" },
	{ "info", cmd_info, "describe a device, its partitions and file systems" },
	{ "df", cmd_df, "space and inodes of each file system" },
	{ "fsck", cmd_fsck, "check (with -p or -y, repair) file systems, as e2fsck" },
	{ "mount", cmd_mount, "serve a file system to every process (FUSE)" },
	{ "ls", cmd_ls, "list a directory" },
	{ "stat", cmd_stat, "show a file's inode: type, size, blocks, mode, times" },
	{ "put", cmd_put, "copy a host file in" },
	{ "get", cmd_get, "copy a file out" },
	{ "cat", cmd_cat, "write files to standard output" },
	{ "mkdir", cmd_mkdir, "make directories" },
	{ "rmdir", cmd_rmdir, "remove empty directories" },
	{ "rm", cmd_rm, "remove files (-r: directories too)" },
	{ "mv", cmd_mv, "rename a file or directory, atomically" },
	{ "ln", cmd_ln, "make a hard link" },
	{ "truncate", cmd_truncate, "set files' sizes" },
	{ "bench", cmd_bench, "benchmarks: udax bench {pagemap|fs|scale}" },
#ifdef UDAX_HAVE_IO
	{ "dmatest", cmd_dmatest, "the DMA-vs-truncate experiment (udax and a kernel dir)" },
#endif
};

static void usage(FILE *f)
{
	fprintf(f, "usage: udax <command> [options] [DEVICE] [args]   (udax <command> --help)\n"
		"       udax -V | --version | version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "  %-9s %s\n", "version", "print the version");
	fprintf(f, "\nDEVICE: a file, /dev/daxX.Y, or mem:SIZE (volatile memory).\n"
		   "  mem:SIZE,persist=MODE  memory that persists like PMem/CXL: every flush\n"
		   "                         writes its cache lines back and every drain fences\n"
		   "                         (MODE: clwb, clflushopt, clflush, or cpu = the best\n"
		   "                         this CPU has), e.g. mem:512M,persist=clwb\n"
		   "  mem:SIZE,huge=hugetlb  memory of 2 MiB hugetlb pages (no views on it)\n"
		"The file commands (ls ... truncate) mount partition 0, or -P N, do their work\n"
		"and unmount.  --json (info, df, ls, stat, fsck): one JSON object, docs/cli.md.\n"
		"Exit: 0 success, 1 failure, 2 usage error (fsck: e2fsck's statuses).\n");
}

int main(int argc, char **argv)
{
	struct stat st;

	/*
	 * ../shared/kvm-dax runs a program as "PROG /mnt/dax ARGS...": a
	 * leading directory is the harness's DAX mount, passed on to the
	 * command through UDAX_DAX_DIR, and the command follows it.
	 */
	if (argc > 2 && argv[1][0] == '/' && !stat(argv[1], &st) && S_ISDIR(st.st_mode)) {
		setenv("UDAX_DAX_DIR", argv[1], 1);
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version") ||
	    !strcmp(argv[1], "-V")) {
		printf("udax %s\n", UDAX_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return EXIT_OK;
	}
	fprintf(stderr, "udax: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
