/* SPDX-License-Identifier: MIT */
/* udax info, udax mkfs, udax df: devices, partitions, file systems. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
	return "unknown";
}

static const char *durability_name(enum udax_dev_durability d)
{
	switch (d) {
	case UDAX_DUR_VOLATILE: return "volatile";
	case UDAX_DUR_CPU_CACHE: return "cpu-cache";
	case UDAX_DUR_CPU_STORE: return "cpu-store";
	case UDAX_DUR_MSYNC: return "msync";
	}
	return "unknown";
}

/* Options of info and df: [-P N] [--json] DEVICE. */
struct devcmd {
	const char *name;
	void (*usage)(FILE *f);
	bool json;
	bool one;		/* -P given */
	unsigned part;
};

/* The index of DEVICE (> 0), or -EXIT_OK (0) / -EXIT_USAGE to return. */
static int parse_devcmd(struct devcmd *d, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_LONGOPT_PART,
		CLI_LONGOPT_JSON,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":P:h", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (!cli_parse_part(d->name, optarg, &d->part))
				return -EXIT_USAGE;
			d->one = true;
			break;
		case CLI_OPT_JSON:
			d->json = true;
			break;
		case 'h':
			d->usage(stdout);
			return -EXIT_OK;
		default:
			cli_bad_option(d->name, c, argc, argv);
			return -EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		d->usage(stderr);
		return -EXIT_USAGE;
	}
	return optind;
}

static void info_usage(FILE *f)
{
	fprintf(f, "usage: udax info [-P N] [--json] DEVICE\n"
		"\n"
		"Describe a device: kind, size, durability, its pagemap range, its\n"
		"partitions and, for each partition holding a udax file system, its\n"
		"label and usage.  DEVICE is a path (a file, /dev/daxX.Y) or mem:SIZE.\n"
		"\n"
		"  -P, --part N          only partition N\n"
		"      --json            one JSON object (docs/cli.md)\n"
		"  -h, --help            this text\n");
}

/* Mount @i read-only for its statfs; the reason in @why if not. */
static int part_statfs(struct udax_dev *dev, unsigned i, struct udax_statfs *st,
		       char *why, size_t len)
{
	struct udax_mount_opts mo = { .flags = UDAX_MOUNT_RDONLY };
	struct udax_fs *fs;
	int ret = udax_mount(dev, i, &mo, &fs);

	if (ret) {
		snprintf(why, len, "%s", ret == -ENODATA ? "no file system" :
			 cli_libmsg(udax_fs_last_error()));
		return ret;
	}
	ret = udax_statfs(fs, st);
	if (ret)
		snprintf(why, len, "%s", cli_libmsg(udax_fs_last_error()));
	/* Read-only and nothing pinned: never waits. */
	if (udax_unmount_ex(&fs, &(struct udax_break_opts){ .mode = UDAX_BREAK_NOWAIT }) &&
	    !ret) {
		snprintf(why, len, "%s", cli_libmsg(udax_fs_last_error()));
		ret = -EBUSY;
	}
	return ret;
}

static void info_text(struct udax_dev *dev, const struct devcmd *d)
{
	struct udax_dev_info di;
	struct udax_pgmap_info pi;
	char b1[32], b2[32];
	int n;

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
		printf("partitions  none (%s)\n", cli_libmsg(udax_dev_last_error()));
		return;
	}
	printf("partitions  %d\n", n);
	for (int i = 0; i < n; i++) {
		struct udax_part_info p;
		struct udax_statfs st;
		char why[256];

		if ((d->one && (unsigned)i != d->part) || udax_dev_part(dev, (unsigned)i, &p))
			continue;
		printf("  %u  offset %-10s size %-10s label \"%s\"", p.index,
		       cli_size(p.offset, b1, sizeof(b1)),
		       cli_size(p.size, b2, sizeof(b2)), p.label);
		if (part_statfs(dev, (unsigned)i, &st, why, sizeof(why))) {
			printf("  (%s)\n", why);
			continue;
		}
		printf("  udaxfs \"%s\": %s of %s free, %llu/%llu inodes free\n", st.label,
		       cli_size(st.blocks_free * st.block_size, b1, sizeof(b1)),
		       cli_size(st.blocks * st.block_size, b2, sizeof(b2)),
		       (unsigned long long)st.inodes_free, (unsigned long long)st.inodes);
	}
}

static void info_json(struct udax_dev *dev, const struct devcmd *d)
{
	struct udax_dev_info di;
	struct udax_pgmap_info pi;
	struct cli_json j;
	int n;

	udax_dev_info(dev, &di);
	udax_pgmap_get_info(udax_dev_pgmap(dev), &pi);
	cli_json_start(&j, stdout, "info");
	cli_json_obj(&j, "device");
	cli_json_str(&j, "spec", di.spec);
	cli_json_str(&j, "kind", kind_name(di.kind));
	cli_json_str(&j, "path", di.path);
	cli_json_u64(&j, "size", di.size);
	cli_json_str(&j, "durability", durability_name(di.durability));
	cli_json_str(&j, "durability_desc", di.durability_desc);
	cli_json_str(&j, "persist", di.persist_impl);
	cli_json_bool(&j, "pmem2", di.pmem2);
	cli_json_u64(&j, "store_granularity", di.store_granularity);
	cli_json_close(&j);
	cli_json_obj(&j, "pagemap");
	cli_json_u64(&j, "pfn_first", pi.pfn_first);
	cli_json_u64(&j, "nr_pages", pi.nr_pages);
	cli_json_bool(&j, "pinnable", !(pi.flags & UDAX_PGMAP_LIMITED));
	cli_json_u64(&j, "memmap_bytes", pi.memmap_bytes);
	cli_json_bool(&j, "memmap_in_device", pi.flags & UDAX_PGMAP_ALTMAP);
	cli_json_u64(&j, "busy_pages", pi.busy_pages);
	cli_json_u64(&j, "idle_transitions", pi.idle_transitions);
	cli_json_close(&j);
	n = udax_dev_part_count(dev);
	cli_json_str(&j, "partition_table_error",
		     n < 0 ? cli_libmsg(udax_dev_last_error()) : NULL);
	cli_json_arr(&j, "partitions");
	for (int i = 0; i < n; i++) {
		struct udax_part_info p;
		struct udax_statfs st;
		char why[256], uuid[40];

		if ((d->one && (unsigned)i != d->part) || udax_dev_part(dev, (unsigned)i, &p))
			continue;
		cli_json_obj(&j, NULL);
		cli_json_u64(&j, "index", p.index);
		cli_json_u64(&j, "offset", p.offset);
		cli_json_u64(&j, "size", p.size);
		cli_json_u64(&j, "type", p.type);
		cli_json_str(&j, "label", p.label);
		for (int k = 0, o = 0; k < 16; k++)
			o += snprintf(uuid + o, sizeof(uuid) - (size_t)o, "%s%02x",
				      k == 4 || k == 6 || k == 8 || k == 10 ? "-" : "",
				      p.uuid[k]);
		cli_json_str(&j, "uuid", uuid);
		if (part_statfs(dev, (unsigned)i, &st, why, sizeof(why))) {
			cli_json_null(&j, "fs");
			cli_json_str(&j, "fs_error", why);
		} else {
			cli_json_obj(&j, "fs");
			cli_json_statfs(&j, &st);
			cli_json_close(&j);
			cli_json_null(&j, "fs_error");
		}
		cli_json_close(&j);
	}
	cli_json_close(&j);
	cli_json_end(&j);
}

int cmd_info(int argc, char **argv)
{
	struct devcmd d = { .name = "info", .usage = info_usage };
	struct udax_dev *dev;
	int i = parse_devcmd(&d, argc, argv), n;

	if (i <= 0)
		return -i;
	if (cli_open_dev("info", argv[i], 0, &dev))
		return EXIT_FAIL;
	n = udax_dev_part_count(dev);
	if (d.one && (n < 0 || d.part >= (unsigned)n)) {
		cli_err("info", 0, "%s has no partition %u", argv[i], d.part);
		udax_dev_close(&dev, 0);
		return EXIT_FAIL;
	}
	if (d.json)
		info_json(dev, &d);
	else
		info_text(dev, &d);
	return cli_unmount("info", &dev, &(struct udax_fs *){ NULL }) ? EXIT_FAIL : EXIT_OK;
}

static void df_usage(FILE *f)
{
	fprintf(f, "usage: udax df [-P N] [--json] DEVICE\n"
		"\n"
		"Space and inodes of the file system on each partition (or partition N):\n"
		"size, used, available, use%%, inodes, free inodes, label.  Sizes are\n"
		"in bytes (--json: also blocks).  Exit 1 if a chosen partition holds no\n"
		"file system.\n"
		"\n"
		"  -P, --part N          only partition N\n"
		"      --json            one JSON object (docs/cli.md)\n"
		"  -h, --help            this text\n");
}

int cmd_df(int argc, char **argv)
{
	struct devcmd d = { .name = "df", .usage = df_usage };
	struct udax_dev *dev;
	struct cli_json j;
	int i = parse_devcmd(&d, argc, argv), n, status = EXIT_OK;

	if (i <= 0)
		return -i;
	if (cli_open_dev("df", argv[i], 0, &dev))
		return EXIT_FAIL;
	n = udax_dev_part_count(dev);
	if (n < 0 || (d.one && d.part >= (unsigned)n)) {
		if (n < 0)
			cli_err("df", 0, "%s", cli_libmsg(udax_dev_last_error()));
		else
			cli_err("df", 0, "%s has no partition %u", argv[i], d.part);
		udax_dev_close(&dev, 0);
		return EXIT_FAIL;
	}
	if (d.json) {
		cli_json_start(&j, stdout, "df");
		cli_json_str(&j, "device", argv[i]);
		cli_json_arr(&j, "filesystems");
	} else {
		printf("%-4s %14s %14s %14s %5s %10s %10s  %s\n", "part", "size", "used",
		       "avail", "use%", "inodes", "ifree", "label");
	}
	for (int p = 0; p < n; p++) {
		struct udax_statfs st;
		char why[256];
		uint64_t size, used;

		if (d.one && (unsigned)p != d.part)
			continue;
		if (part_statfs(dev, (unsigned)p, &st, why, sizeof(why))) {
			/* Every partition: the ones without a file system are
			 * skipped; the one asked for is an error. */
			if (d.one) {
				cli_err("df", 0, "partition %d: %s", p, why);
				status = EXIT_FAIL;
			}
			continue;
		}
		size = st.blocks * st.block_size;
		used = (st.blocks - st.blocks_free) * st.block_size;
		if (d.json) {
			cli_json_obj(&j, NULL);
			cli_json_u64(&j, "partition", (uint64_t)p);
			cli_json_statfs(&j, &st);
			cli_json_close(&j);
		} else {
			printf("%-4d %14llu %14llu %14llu %4llu%% %10llu %10llu  %s\n", p,
			       (unsigned long long)size, (unsigned long long)used,
			       (unsigned long long)(size - used),
			       (unsigned long long)(size ? (used * 100 + size - 1) / size : 0),
			       (unsigned long long)st.inodes,
			       (unsigned long long)st.inodes_free, st.label);
		}
	}
	if (d.json)
		cli_json_end(&j);
	if (udax_dev_close(&dev, 0))
		status = EXIT_FAIL;
	return status;
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
		"  -L, --label LABEL     file-system label (at most %d bytes; with -n 2 or\n"
		"                        more also each partition's, at most %d bytes);\n"
		"                        udax info and udax df show it\n"
		"  -f, --force           replace an existing partition table\n"
		"  -q, --quiet           no progress line on a terminal\n"
		"  -h, --help            this text\n", UDAX_FS_LABEL_MAX, UDAX_DEV_LABEL_MAX);
}

int cmd_mkfs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "partitions", required_argument, NULL, 'n' },
		{ "inodes", required_argument, NULL, 'i' },
		{ "label", required_argument, NULL, 'L' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct udax_mkfs_opts mo = { 0 };
	struct udax_part_spec *ps = NULL;
	struct udax_dev *dev;
	struct udax_dev_info di;
	uint64_t size = 0, v;
	unsigned nparts = 1, flags = 0;
	bool quiet = false;
	int c, ret, n;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:n:i:L:fqh", opts, NULL)) != -1) {
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
		case 'q':
			quiet = true;
			break;
		case 'h':
			mkfs_usage(stdout);
			return EXIT_OK;
		default:
			cli_bad_option("mkfs", c, argc, argv);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		mkfs_usage(stderr);
		return EXIT_USAGE;
	}
	if (mo.label && (strlen(mo.label) > UDAX_FS_LABEL_MAX ||
			 (nparts > 1 && strlen(mo.label) > UDAX_DEV_LABEL_MAX))) {
		cli_err("mkfs", 0, "label '%s' is too long (-L: at most %d bytes%s)", mo.label,
			nparts > 1 ? UDAX_DEV_LABEL_MAX : UDAX_FS_LABEL_MAX,
			nparts > 1 ? " with -n 2 or more" : "");
		return EXIT_USAGE;
	}
	if (size) {
		/* -s makes a file; what is there already keeps its size. */
		const char *path = argv[optind];
		struct stat st;
		char b1[32];

		if (!strncmp(path, "mem:", 4) || !strncmp(path, "devdax:", 7)) {
			cli_err("mkfs", 0, "--size makes a file: %s is not one", path);
			return EXIT_USAGE;
		}
		if (!strncmp(path, "file:", 5))
			path += 5;
		if (!stat(path, &st) && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)) {
			cli_err("mkfs", 0, S_ISREG(st.st_mode) ? "%s exists with %s: leave "
				"--size out to use it, or remove it first" : "%s is not a "
				"regular file: leave --size out", path,
				cli_size((uint64_t)st.st_size, b1, sizeof(b1)));
			return EXIT_FAIL;
		}
	}
	if (cli_open_dev("mkfs", argv[optind], size, &dev))
		return EXIT_FAIL;
	udax_dev_info(dev, &di);
	if (nparts > 1) {
		/* Equal shares of what follows the table, the last takes the rest. */
		uint64_t avail = di.size > di.table_offset + UDAX_DEV_PART_ALIGN ?
				 di.size - di.table_offset - UDAX_DEV_PART_ALIGN : 0;
		uint64_t each = avail / nparts / UDAX_DEV_PART_ALIGN * UDAX_DEV_PART_ALIGN;

		ps = calloc(nparts, sizeof(*ps));
		if (!ps || !each) {
			cli_err("mkfs", ps ? -ENOSPC : -ENOMEM, "%u partitions on %s", nparts,
				argv[optind]);
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
		cli_err("mkfs", 0, "%s%s", cli_libmsg(udax_dev_last_error()),
			ret == -EEXIST ? " (use --force to replace it)" : "");
		udax_dev_close(&dev, 0);
		return EXIT_FAIL;
	}
	n = udax_dev_part_count(dev);
	for (int i = 0; i < n; i++) {
		if (!quiet)
			cli_ticker_start("mkfs: partition %d of %d", i + 1, n);
		ret = udax_mkfs(dev, (unsigned)i, &mo);
		cli_ticker_stop();
		if (ret) {
			cli_err("mkfs", 0, "partition %d: %s", i,
				cli_libmsg(udax_fs_last_error()));
			udax_dev_close(&dev, 0);
			return EXIT_FAIL;
		}
		printf("partition %d: udax file system created\n", i);
	}
	return cli_unmount("mkfs", &dev, &(struct udax_fs *){ NULL }) ? EXIT_FAIL : EXIT_OK;
}
