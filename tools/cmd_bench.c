/* SPDX-License-Identifier: MIT */
/* udax bench: benchmarks (bench/). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <udax/pagemap.h>

#include "bench_util.h"
#include "cli.h"
#include "fs_bench.h"
#include "pagemap_bench.h"

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: udax bench {pagemap|fs} [options]\n"
		"\n"
		"pagemap: the pagemap hot paths: put_page with the static key off and on,\n"
		"         get+put scaling, idle-wait latency.\n"
		"fs:      udax against a kernel directory, same operations and sizes:\n"
		"         4 KiB append / random read / random overwrite, sequential\n"
		"         write and read, memcpy through a view vs mmap, truncate,\n"
		"         create+unlink, pins; with ratios and a memcpy reference.\n"
		"Prints \"key value unit\" lines, then one JSON object.\n"
		"\n"
		"  -n, --iters N         pagemap: puts per timed round (default 1000000);\n"
		"                        fs: timed calls per figure (default 20000)\n"
		"  -t, --threads N       pagemap: the \"all threads\" count (default: CPUs)\n"
		"  -w, --wait-samples N  pagemap: idle-wait latency samples (default 2000)\n"
		"  -d, --device SPEC     fs: udax device (default mem:512M; it is formatted)\n"
		"  -k, --kernel-dir DIR  fs: kernel directory (default /dev/shm)\n"
		"  -s, --file-size SIZE  fs: big-file size (default 64M)\n"
		"  -j, --json FILE       also write the JSON object to FILE\n"
		"  -h, --help            this text\n");
}

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "wait-samples", required_argument, NULL, 'w' },
		{ "device", required_argument, NULL, 'd' },
		{ "kernel-dir", required_argument, NULL, 'k' },
		{ "file-size", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pagemap_bench_opts po = { 0 };
	struct fs_bench_opts fo = { "mem:512M", "/dev/shm", 64ull << 20, 20000 };
	const char *json = NULL, *what;
	struct bench_report *r;
	char *end;
	int c, ret;

	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));

		bench_usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	what = argv[1];
	if (strcmp(what, "pagemap") && strcmp(what, "fs")) {
		fprintf(stderr, "udax bench: unknown benchmark '%s' (known: pagemap, fs)\n", what);
		return EXIT_USAGE;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:t:w:d:k:s:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case 't':
		case 'w': {
			long v = strtol(optarg, &end, 10);

			if (*end || v <= 0) {
				fprintf(stderr, "udax bench: bad number '%s'\n", optarg);
				return EXIT_USAGE;
			}
			if (c == 'n')
				po.iters = fo.ops = v;
			else if (c == 't')
				po.threads = (int)v;
			else
				po.wait_samples = v;
			break;
		}
		case 'd':
			fo.device = optarg;
			break;
		case 'k':
			fo.kernel_dir = optarg;
			break;
		case 's':
			if (!cli_parse_size(optarg, &fo.file_size) || fo.file_size < (1u << 20) ||
			    fo.file_size % (1u << 20)) {
				fprintf(stderr, "udax bench: bad size '%s' (a multiple of 1M)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			return EXIT_OK;
		default:
			bench_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		bench_usage(stderr);
		return EXIT_USAGE;
	}
	r = bench_report_new(what);
	if (!r)
		return EXIT_FAIL;
	ret = !strcmp(what, "fs") ? fs_bench_run(&fo, r) : pagemap_bench_run(&po, r);
	if (ret)
		fprintf(stderr, "udax bench %s: %s\n", what, udax_strerror(ret));
	if (bench_report_json(r, stdout, json)) {
		fprintf(stderr, "udax bench: cannot write %s: %s\n", json, strerror(errno));
		ret = ret ? ret : -EIO;
	}
	bench_report_delete(r);
	return ret ? EXIT_FAIL : EXIT_OK;
}
