/* SPDX-License-Identifier: MIT */
/* udax info, udax mkfs: devices and partitions. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <udax/dev.h>
#include <udax/fs.h>

#include "cli.h"

static const char *kind_name(enum udax_dev_kind k)
{
	switch (k) {
	case UDAX_DEV_KIND_MEM: return "memory";
	case UDAX_DEV_KIND_FILE: return "file";
	case UDAX_DEV_KIND_DEVDAX: return "device-dax";
	}
	return "?";
}

static void info_usage(FILE *f)
{
	fprintf(f, "usage: udax info DEVICE\n"
		"\n"
		"Describe a device: kind, size, durability, its pagemap range, its\n"
		"partitions and, for each partition holding a udax file system, usage.\n"
		"DEVICE is a path (a file, /dev/daxX.Y) or mem:SIZE.\n");
}

int cmd_info(int argc, char **argv)
{
	struct udax_dev *dev;
	struct udax_dev_info di;
	struct udax_pgmap_info pi;
	char b1[32], b2[32];
	int n, ret;

	if (argc != 2 || argv[1][0] == '-') {
		bool help = argc == 2 && !strcmp(argv[1], "--help");

		info_usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	if (cli_open_dev("info", argv[1], 0, &dev))
		return EXIT_FAIL;
	udax_dev_info(dev, &di);
	udax_pgmap_get_info(udax_dev_pgmap(dev), &pi);
	printf("device      %s (%s)\n", di.spec, kind_name(di.kind));
	printf("size        %s (%llu bytes)\n", cli_size(di.size, b1, sizeof(b1)),
	       (unsigned long long)di.size);
	printf("durability  %s\n", di.durability_desc);
	printf("persist     %s%s\n", di.persist_impl, di.pmem2 ? " (libpmem2)" : "");
	printf("pagemap     pfns %lu..%lu, %s, page array %s%s\n", pi.pfn_first,
	       pi.pfn_first + pi.nr_pages - 1,
	       pi.flags & UDAX_PGMAP_LIMITED ? "limited (no pins)" : "pinnable",
	       pi.flags & UDAX_PGMAP_LIMITED ? "none" :
	       cli_size(pi.memmap_bytes, b2, sizeof(b2)),
	       pi.flags & UDAX_PGMAP_ALTMAP ? " in the device (altmap)" :
	       pi.flags & UDAX_PGMAP_LIMITED ? "" : " in memory");
	printf("pages held  %lu, idle transitions %llu, unbalanced puts %llu\n",
	       pi.busy_pages, (unsigned long long)pi.idle_transitions,
	       (unsigned long long)pi.unbalanced_puts);
	n = udax_dev_part_count(dev);
	if (n < 0) {
		printf("partitions  none (%s)\n", udax_dev_last_error());
	} else {
		printf("partitions  %d\n", n);
		for (int i = 0; i < n; i++) {
			struct udax_part_info p;
			struct udax_mount_opts mo = { .flags = UDAX_MOUNT_RDONLY };
			struct udax_fs *fs;
			struct udax_statfs st;

			if (udax_dev_part(dev, (unsigned)i, &p))
				continue;
			printf("  %u  offset %-10s size %-10s label \"%s\"", p.index,
			       cli_size(p.offset, b1, sizeof(b1)),
			       cli_size(p.size, b2, sizeof(b2)), p.label);
			ret = udax_mount(dev, (unsigned)i, &mo, &fs);
			if (ret) {
				printf("  (no file system: %s)\n", udax_fs_last_error());
				continue;
			}
			if (!udax_statfs(fs, &st))
				printf("  udaxfs: %s of %s free, %llu/%llu inodes free",
				       cli_size(st.blocks_free * st.block_size, b1, sizeof(b1)),
				       cli_size(st.blocks * st.block_size, b2, sizeof(b2)),
				       (unsigned long long)st.inodes_free,
				       (unsigned long long)st.inodes);
			printf("\n");
			/* Read-only and nothing pinned: never waits. */
			if (udax_unmount_ex(&fs, &(struct udax_break_opts){
					.mode = UDAX_BREAK_NOWAIT }))
				cli_err("info", 0, "partition %d: %s", i,
					udax_fs_last_error());
		}
	}
	ret = udax_dev_close(&dev, 0);
	if (ret)
		cli_err("info", 0, "%s", udax_dev_last_error());
	return ret ? EXIT_FAIL : EXIT_OK;
}

static void mkfs_usage(FILE *f)
{
	fprintf(f, "usage: udax mkfs [options] DEVICE\n"
		"\n"
		"Write a partition table and a udax file system on each partition.\n"
		"\n"
		"  -s, --size SIZE       create DEVICE as a file of SIZE bytes (e.g. 1G)\n"
		"  -n, --partitions N    split the device into N equal partitions (default 1)\n"
		"  -i, --inodes N        inodes per file system (default: one per 16 KiB)\n"
		"  -L, --label LABEL     file-system label\n"
		"  -f, --force           replace an existing partition table\n"
		"  -h, --help            this text\n");
}

int cmd_mkfs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "partitions", required_argument, NULL, 'n' },
		{ "inodes", required_argument, NULL, 'i' },
		{ "label", required_argument, NULL, 'L' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct udax_mkfs_opts mo = { 0 };
	struct udax_part_spec *ps = NULL;
	struct udax_dev *dev;
	struct udax_dev_info di;
	uint64_t size = 0, v;
	unsigned nparts = 1, flags = 0;
	int c, ret, n;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:n:i:L:fh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!cli_parse_size(optarg, &size) || !size) {
				cli_err("mkfs", 0, "bad size '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
		case 'i':
			if (!cli_parse_size(optarg, &v) || !v || v > UINT32_MAX ||
			    (c == 'n' && v > UDAX_DEV_MAX_PARTS)) {
				cli_err("mkfs", 0, "bad number '%s'", optarg);
				return EXIT_USAGE;
			}
			if (c == 'n')
				nparts = (unsigned)v;
			else
				mo.nr_inodes = (uint32_t)v;
			break;
		case 'L':
			mo.label = optarg;
			break;
		case 'f':
			flags |= UDAX_MKPART_FORCE;
			break;
		case 'h':
			mkfs_usage(stdout);
			return EXIT_OK;
		default:
			mkfs_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		mkfs_usage(stderr);
		return EXIT_USAGE;
	}
	if (cli_open_dev("mkfs", argv[optind], size, &dev))
		return EXIT_FAIL;
	udax_dev_info(dev, &di);
	if (nparts > 1) {
		/* Equal shares of what follows the table, the last takes the rest. */
		uint64_t avail = di.size - di.table_offset - UDAX_DEV_PART_ALIGN;
		uint64_t each = avail / nparts / UDAX_DEV_PART_ALIGN * UDAX_DEV_PART_ALIGN;

		ps = calloc(nparts, sizeof(*ps));
		if (!ps || !each) {
			cli_err("mkfs", ps ? -ENOSPC : -ENOMEM, "%u partitions", nparts);
			udax_dev_close(&dev, 0);
			free(ps);
			return EXIT_FAIL;
		}
		for (unsigned i = 0; i < nparts; i++) {
			ps[i].size = i + 1 < nparts ? each : 0;
			ps[i].type = UDAX_PART_TYPE_UDAXFS;
			ps[i].label = mo.label;
		}
	}
	ret = udax_dev_mkpart(dev, ps, ps ? nparts : 0, flags);
	free(ps);
	if (ret) {
		cli_err("mkfs", 0, "%s%s", udax_dev_last_error(),
			ret == -EEXIST ? " (use --force to replace it)" : "");
		udax_dev_close(&dev, 0);
		return EXIT_FAIL;
	}
	n = udax_dev_part_count(dev);
	for (int i = 0; i < n; i++) {
		ret = udax_mkfs(dev, (unsigned)i, &mo);
		if (ret) {
			cli_err("mkfs", 0, "partition %d: %s", i, udax_fs_last_error());
			udax_dev_close(&dev, 0);
			return EXIT_FAIL;
		}
		printf("partition %d: udax file system created\n", i);
	}
	return udax_dev_close(&dev, 0) ? EXIT_FAIL : EXIT_OK;
}
