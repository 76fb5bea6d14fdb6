/* SPDX-License-Identifier: MIT */
/* udax dmatest: the DMA-vs-truncate experiment (bench/dmatest.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <udax/pagemap.h>

#include "bench_util.h"
#include "cli.h"
#include "dmatest.h"
#include "kdir.h"

#define FILL_TIMES	4	/* default bound: filler and victim, each */

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
		"  -f, --fill-cap N|full   fill (and write the victim) with at most N blocks;\n"
		"                          full (or 0): until the file system is full, which\n"
		"                          makes every freed block the victim's (refused on a\n"
		"                          memory-backed -k: tmpfs or ramfs is RAM).  Default:\n"
		"                          %d times the scenario's file, within the free space\n"
		"                          (a quarter of it on tmpfs)\n"
		"  -o, --only NAME         run one scenario\n"
		"  -x, --exclude NAME      skip one scenario\n"
		"                          (%s)\n"
		"  -j, --json FILE         also write the JSON object to FILE\n"
		"  -h, --help              this text\n"
		"\n"
		"Files: -k DIR's go in DIR/udax-dmatest (claimed by one run at a time;\n"
		"what a killed run left there is removed at the start), the source and a\n"
		"device file the run made are removed at the end and on SIGINT, SIGTERM,\n"
		"SIGHUP.  Exit: 0 done, 1 a scenario failed, 2 usage error.\n",
		FILL_TIMES, dmatest_scenario_names());
}

/* Source files of earlier runs that were killed: their process is gone. */
static void remove_stale_sources(void)
{
	DIR *d = opendir("/var/tmp");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300];
		long pid;

		if (sscanf(e->d_name, "udax-dmatest.%ld.src", &pid) == 1 && pid > 0 &&
		    kill((pid_t)pid, 0) && errno == ESRCH) {
			snprintf(path, sizeof(path), "/var/tmp/%s", e->d_name);
			unlink(path);
		}
	}
	closedir(d);
	unlink("/var/tmp/udax-dmatest.src");	/* the name before pids */
}

/* A source file for O_DIRECT reads, on a file system that takes them;
 * removed at the end of the run and on a signal. */
static const char *make_source(uint64_t bytes)
{
	static char path[64];
	char b[4096];
	int fd;

	remove_stale_sources();
	snprintf(path, sizeof(path), "/var/tmp/udax-dmatest.%ld.src", (long)getpid());
	kdir_remove_at_exit(path);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
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

/*
 * Bound what the run writes to the kernel directory: per scenario the file
 * under test, the filler and the victim.  Full is refused on memory; a
 * bound that does not fit the budget is lowered, and said so.
 */
static int bound_fill(struct dmatest_opts *o, const struct kdir *k)
{
	uint64_t nblk = dmatest_max_blocks(o), budget = kdir_budget(k) / 4096, fill;
	char b1[32];

	if (!o->fill_cap && !o->fill_times) {
		if (k->memory) {
			cli_err("dmatest", 0, "%s is on %s, which is memory: filling it "
				"would fill RAM; leave -f out (the default bound), give -f N, "
				"or a -k directory on a disk", o->kernel_dir, k->fs_type);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	fill = o->fill_cap ? (uint64_t)o->fill_cap : nblk * o->fill_times;
	if (o->fill_times && o->fill_cap && (uint64_t)o->fill_cap > nblk * o->fill_times)
		fill = nblk * o->fill_times;
	if (nblk + 2 * fill <= budget)
		return EXIT_OK;
	if (budget <= nblk + 2 * 16) {
		cli_err("dmatest", 0, "%s has %s free%s: too little for a run (%llu blocks "
			"under test)", o->kernel_dir, cli_size(k->avail, b1, sizeof(b1)),
			k->memory ? " (memory: a quarter of it is used at most)" : "",
			(unsigned long long)nblk);
		return EXIT_FAIL;
	}
	o->fill_cap = (long)((budget - nblk) / 2);
	fprintf(stderr, "udax dmatest: note: %s has %s free%s: the fill is capped at %ld "
		"blocks\n", o->kernel_dir, cli_size(k->avail, b1, sizeof(b1)),
		k->memory ? " and is memory (a quarter of it is used at most)" : "",
		o->fill_cap);
	return EXIT_OK;
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
	struct dmatest_opts o = { .device = "mem:64M", .slow_rate = 32u << 20, .blocks = 256,
				  .fill_times = FILL_TIMES };
	const char *json = NULL, *dpath;
	struct bench_report *r;
	struct kdir k;
	char why[4200];
	uint64_t v;
	int c, ret;

	o.source = getenv("KDAX_DISK");
	o.slow_source = getenv("KDAX_SLOW_DISK");
	if (getenv("UDAX_DAX_DIR"))
		o.kernel_dir = getenv("UDAX_DAX_DIR");
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:k:s:S:r:b:f:o:x:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.device = optarg; break;
		case 'k': o.kernel_dir = optarg; break;
		case 's': o.source = optarg; break;
		case 'S': o.slow_source = optarg; break;
		case 'o':
		case 'x':
			if (!dmatest_scenario_known(optarg)) {
				cli_err("dmatest", 0, "unknown scenario '%s' (known: %s)", optarg,
					dmatest_scenario_names());
				return EXIT_USAGE;
			}
			*(c == 'o' ? &o.only : &o.exclude) = optarg;
			break;
		case 'j': json = optarg; break;
		case 'f':
			if (!strcmp(optarg, "full")) {
				o.fill_cap = 0;
				o.fill_times = 0;
				break;
			}
			if (!cli_parse_size(optarg, &v) || v > (1ull << 40)) {
				cli_err("dmatest", 0, "bad fill cap '%s' (blocks, or full)", optarg);
				return EXIT_USAGE;
			}
			o.fill_cap = (long)v;
			o.fill_times = 0;	/* an explicit cap replaces the default */
			break;
		case 'r':
		case 'b':
			if (!cli_parse_size(optarg, &v) || !v ||
			    (c == 'b' && (v % 16 || v > (1u << 20)))) {
				cli_err("dmatest", 0, "bad value '%s'%s", optarg,
					c == 'b' ? " (a multiple of 16)" : "");
				return EXIT_USAGE;
			}
			if (c == 'r')
				o.slow_rate = v;
			else
				o.blocks = v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			cli_bad_option("dmatest", c, argc, argv);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("dmatest", 0, "unexpected argument '%s' (udax dmatest --help)",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (o.kernel_dir) {
		ret = kdir_claim(&k, o.kernel_dir, "udax-dmatest", why, sizeof(why));
		if (ret) {
			cli_err("dmatest", 0, "%s", why);
			return EXIT_FAIL;
		}
		if (k.stale)
			fprintf(stderr, "udax dmatest: removed %u files an earlier run left in %s\n",
				k.stale, k.path);
		ret = bound_fill(&o, &k);
		if (ret) {
			kdir_release(&k);
			return ret;
		}
	}
	/* A device file the run makes is the run's, to remove with the rest. */
	dpath = !strncmp(o.device, "file:", 5) ? o.device + 5 : o.device;
	if (strncmp(o.device, "mem:", 4) && strncmp(o.device, "devdax:", 7) &&
	    access(dpath, F_OK) && errno == ENOENT)
		kdir_remove_at_exit(dpath);
	ret = 0;
	if (!o.source && !(o.source = make_source(dmatest_max_blocks(&o) * 4096))) {
		cli_err("dmatest", -errno, "cannot create a source file in /var/tmp");
		ret = -EIO;
	}
	r = ret ? NULL : bench_report_new("dmatest");
	if (r) {
		ret = dmatest_run(&o, r);
		if (bench_report_json(r, stdout, json))
			ret = ret ? ret : -EIO;
		bench_report_delete(r);
	}
	kdir_release(o.kernel_dir ? &k : NULL);
	return ret || !r ? EXIT_FAIL : EXIT_OK;
}
