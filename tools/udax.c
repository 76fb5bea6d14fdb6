/* SPDX-License-Identifier: MIT */
/*
 * udax: the command-line tool.  Subcommands live in functions named
 * cmd_<name>; each parses its own options and returns an exit status
 * (0 success, 1 failure, 2 usage error).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <udax/config.h>
#include <udax/pagemap.h>

#include "bench_util.h"
#include "pagemap_bench.h"

#define EXIT_USAGE 2

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: udax bench pagemap [options]\n"
		"\n"
		"Measure the pagemap hot paths: put_page with the static key off and on,\n"
		"get+put scaling, idle-wait latency.  Prints \"key value unit\" lines,\n"
		"then one JSON object.\n"
		"\n"
		"  -n, --iters N       puts per timed round (default 1000000)\n"
		"  -t, --threads N     the \"all threads\" count (default: online CPUs)\n"
		"  -w, --wait-samples N  idle-wait latency samples (default 2000)\n"
		"  -j, --json FILE     also write the JSON object to FILE\n"
		"  -h, --help          this text\n");
}

static int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "wait-samples", required_argument, NULL, 'w' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pagemap_bench_opts o = { 0 };
	const char *json = NULL, *what;
	struct bench_report *r;
	char *end;
	int c, ret;

	if (argc < 2 || argv[1][0] == '-') {
		bench_usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : EXIT_USAGE;
	}
	what = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:t:w:j:h", opts, NULL)) != -1) {
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
				o.iters = v;
			else if (c == 't')
				o.threads = (int)v;
			else
				o.wait_samples = v;
			break;
		}
		case 'j':
			json = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			bench_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (strcmp(what, "pagemap")) {
		fprintf(stderr, "udax bench: unknown benchmark '%s' (known: pagemap)\n", what);
		return EXIT_USAGE;
	}
	r = bench_report_new("pagemap");
	if (!r)
		return 1;
	ret = pagemap_bench_run(&o, r);
	if (ret)
		fprintf(stderr, "udax bench pagemap: %s\n", udax_strerror(ret));
	if (bench_report_json(r, stdout, json)) {
		fprintf(stderr, "udax bench: cannot write %s: %s\n", json, strerror(errno));
		ret = ret ? ret : -EIO;
	}
	bench_report_delete(r);
	return ret ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: udax <command> [args]\n"
		"\n"
		"commands:\n"
		"  bench pagemap   measure the pagemap hot paths (udax bench --help)\n"
		"  version         print the version\n"
		"  help            this text\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("udax %s\n", UDAX_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "udax: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
