/* SPDX-License-Identifier: MIT */
/* udax dmatest: the DMA-vs-truncate experiment (bench/dmatest.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <udax/pagemap.h>

#include "bench_util.h"
#include "cli.h"
#include "dmatest.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: udax dmatest [options]\n"
		"\n"
		"DMA into file pages while the file is truncated or punched, on udax and on\n"
		"a kernel directory (-k), same scenarios, one run: baseline, truncate and\n"
		"punch with reads in flight (fast and slow source), a stream of reads\n"
		"resubmitted during the truncate (starvation), the mapping dropped right\n"
		"after submitting, and on udax deferred free and lease revocation.\n"
		"Prints \"key value unit\" lines, then one JSON object.\n"
		"\n"
		"  -d, --device SPEC       udax device, formatted (default mem:64M)\n"
		"  -k, --kernel-dir DIR    kernel directory to compare with (default: none)\n"
		"  -s, --source PATH       O_DIRECT source (default $KDAX_DISK, else a file\n"
		"                          created in /var/tmp)\n"
		"  -S, --slow-source PATH  slow O_DIRECT source (default $KDAX_SLOW_DISK, else\n"
		"                          a pipe fed at --slow-rate)\n"
		"  -r, --slow-rate RATE    pipe bytes per second (default 32M, like the\n"
		"                          kvm-dax guest's /dev/vdb)\n"
		"  -b, --blocks N          blocks of the file under test (default 256;\n"
		"                          slow scenarios use 8 times as many)\n"
		"  -f, --fill-cap N        fill with at most N blocks (default 0: until full)\n"
		"  -o, --only NAME         run one scenario\n"
		"  -x, --exclude NAME      skip one scenario\n"
		"  -j, --json FILE         also write the JSON object to FILE\n"
		"  -h, --help              this text\n");
}

/* A source file for O_DIRECT reads, on a file system that takes them. */
static const char *make_source(uint64_t bytes)
{
	static char path[] = "/var/tmp/udax-dmatest.src";
	char b[4096];
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	if (fd < 0)
		return NULL;
	for (uint64_t off = 0; off < bytes; off += sizeof(b)) {
		memset(b, 'S', sizeof(b));
		memcpy(b, &off, sizeof(off));
		if (pwrite(fd, b, sizeof(b), (off_t)off) != (ssize_t)sizeof(b)) {
			close(fd);
			return NULL;
		}
	}
	fsync(fd);
	close(fd);
	return path;
}

int cmd_dmatest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "kernel-dir", required_argument, NULL, 'k' },
		{ "source", required_argument, NULL, 's' },
		{ "slow-source", required_argument, NULL, 'S' },
		{ "slow-rate", required_argument, NULL, 'r' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "fill-cap", required_argument, NULL, 'f' },
		{ "only", required_argument, NULL, 'o' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dmatest_opts o = { .device = "mem:64M", .slow_rate = 32u << 20, .blocks = 256 };
	const char *json = NULL;
	struct bench_report *r;
	uint64_t v;
	int c, ret;

	o.source = getenv("KDAX_DISK");
	o.slow_source = getenv("KDAX_SLOW_DISK");
	if (getenv("UDAX_DAX_DIR"))
		o.kernel_dir = getenv("UDAX_DAX_DIR");
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:k:s:S:r:b:f:o:x:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.device = optarg; break;
		case 'k': o.kernel_dir = optarg; break;
		case 's': o.source = optarg; break;
		case 'S': o.slow_source = optarg; break;
		case 'o': o.only = optarg; break;
		case 'x': o.exclude = optarg; break;
		case 'j': json = optarg; break;
		case 'r':
		case 'b':
		case 'f':
			if (!cli_parse_size(optarg, &v) || (c != 'f' && !v) ||
			    (c == 'b' && (v % 16 || v > (1u << 20)))) {
				cli_err("dmatest", 0, "bad value '%s'%s", optarg,
					c == 'b' ? " (a multiple of 16)" : "");
				return EXIT_USAGE;
			}
			if (c == 'r')
				o.slow_rate = v;
			else if (c == 'b')
				o.blocks = v;
			else
				o.fill_cap = (long)v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!o.source && !(o.source = make_source(o.blocks * 4096 * 8))) {
		cli_err("dmatest", -errno, "cannot create a source file in /var/tmp");
		return EXIT_FAIL;
	}
	r = bench_report_new("dmatest");
	if (!r)
		return EXIT_FAIL;
	ret = dmatest_run(&o, r);
	if (bench_report_json(r, stdout, json))
		ret = ret ? ret : -EIO;
	bench_report_delete(r);
	return ret ? EXIT_FAIL : EXIT_OK;
}
