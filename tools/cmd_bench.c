/* SPDX-License-Identifier: MIT */
/* udax bench: benchmarks (bench/). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <udax/pagemap.h>

#include "bench_util.h"
#include "cli.h"
#include "fs_bench.h"
#include "kdir.h"
#include "pagemap_bench.h"

/* Memory that pays cache-line write-back and fences as PMem/CXL does,
 * where the CPU has the instructions. */
#if defined(__x86_64__)
#define DEFAULT_DEVICE "mem:512M,persist=cpu"
#else
#define DEFAULT_DEVICE "mem:512M"
#endif

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: udax bench {pagemap|fs|scale} [options]\n"
		"       udax bench fs scale [options]   (the same as udax bench scale)\n"
		"\n"
		"pagemap: the pagemap hot paths: put_page with the static key off and on,\n"
		"         get+put scaling, idle-wait latency.\n"
		"fs:      udax against a kernel directory and against the device's physical\n"
		"         floor (memcpy 4 KiB; + write-back of its lines + fence; NT stores\n"
		"         + fence), same operations and sizes, same run, in rounds whose\n"
		"         order alternates: 4 KiB append / random read / random overwrite,\n"
		"         sequential write and read, mapping a view vs mmap, loads and\n"
		"         stores through them, truncate, create+unlink, pins, CRC-32C;\n"
		"         every figure with same-run ratios (udax to kernel, to floor).\n"
		"scale:   the curves: stat and create vs directory size (with the\n"
		"         floor of a stat: one dependent load at random among the\n"
		"         entries' 256-byte inode records, and among lines of 64\n"
		"         bytes: any design's; and the largest size against the\n"
		"         smallest in alternated rounds), append vs file\n"
		"         size with two files growing alternately, 1 vs 2 threads\n"
		"         appending (with the floor: threads that only copy 4 KiB and\n"
		"         persist it), 1 vs 2 threads stat'ing, opening and closing\n"
		"         at random among 100 names and listing their directory,\n"
		"         1 vs 2 threads creating and unlinking names, each in a\n"
		"         directory of its own, changing the size of a file\n"
		"         of its own (a journal transaction each), and\n"
		"         delivering as a maildir does (create in one directory\n"
		"         of its own, rename into another, unlink), one\n"
		"         thread stat'ing beside one creating (each one's\n"
		"         rate together over its rate alone, and their sum),\n"
		"         one opening and closing, one listing, and one\n"
		"         making and removing directories beside one\n"
		"         creating (the same),\n"
		"         random 4 KiB read vs memcpy, views vs mmap.\n"
		"Prints \"key value unit\" lines, then one JSON object; progress on stderr\n"
		"when it is a terminal.\n"
		"\n"
		"  -n, --iters N         pagemap: puts per timed round (default 1000000);\n"
		"                        fs: timed calls per figure (default 20000)\n"
		"  -t, --threads N       pagemap: the \"all threads\" count (default: CPUs)\n"
		"  -w, --wait-samples N  pagemap: idle-wait latency samples (default 2000)\n"
		"  -d, --device SPEC     fs, scale: udax device (default " DEFAULT_DEVICE ";\n"
		"                        it is formatted)\n"
		"  -k, --kernel-dir DIR  fs, scale: kernel directory (default /dev/shm); the\n"
		"                        files go in DIR/udax-bench, one run at a time,\n"
		"                        removed at the end and on SIGINT/SIGTERM/SIGHUP\n"
		"                        (those of a killed run at the next start).  The\n"
		"                        files (-s, and -n 4 KiB appends) must fit the free\n"
		"                        space (on tmpfs, memory: a quarter of it)\n"
		"  -s, --file-size SIZE  fs, scale: big-file size (default 64M)\n"
		"  -D, --dir-sizes LIST  scale: directory sizes (default 100,1000,10000,100000)\n"
		"  -g, --grow SIZE       scale: size each of the two alternately growing\n"
		"                        files reaches (default 64M)\n"
		"  -T, --thread-size SIZE scale: appended per thread (default 16M)\n"
		"  -j, --json FILE       also write the JSON object to FILE\n"
		"  -p, --plot DIR        after the run, write bar charts to DIR (created):\n"
		"                        fs: p50 latency and MB/s, udax vs kernel;\n"
		"                        pagemap: get+put scaling.  .dat and .gp files\n"
		"                        always, PNGs when gnuplot is on PATH\n"
		"  -h, --help            this text\n");
}

/* ---- --plot: bar charts of the figures, through gnuplot ---------------------- */

struct fig {
	char key[128];
	char unit[16];
	double value;
};

/* The numeric figures of the JSON object: "key":{"value":V,"unit":"U"}. */
static size_t load_figs(const char *path, struct fig **out)
{
	static const char mark[] = "\":{\"value\":";
	FILE *f = fopen(path, "r");
	struct fig *v = NULL;
	size_t n = 0, cap = 0, len;
	char *buf, *p;

	*out = NULL;
	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(len + 1);
	if (!buf || fread(buf, 1, len, f) != len) {
		free(buf);
		fclose(f);
		return 0;
	}
	buf[len] = '\0';
	fclose(f);
	for (p = buf; (p = strstr(p, mark)); p += sizeof(mark) - 1) {
		char *k = p, *u;
		struct fig fg = { 0 };

		while (k > buf && k[-1] != '"')
			k--;
		if ((size_t)(p - k) >= sizeof(fg.key))
			continue;
		memcpy(fg.key, k, (size_t)(p - k));
		fg.value = strtod(p + sizeof(mark) - 1, &u);
		if (strncmp(u, ",\"unit\":\"", 9) == 0)
			sscanf(u + 9, "%15[^\"]", fg.unit);
		if (n == cap) {
			struct fig *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		v[n++] = fg;
	}
	free(buf);
	*out = v;
	return n;
}

static const struct fig *find_fig(const struct fig *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].key, key))
			return &v[i];
	return NULL;
}

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	while (path && *path) {
		size_t l = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, l ? path : ".", prog);
		if (access(buf, X_OK) == 0)
			return true;
		path += l + (path[l] == ':');
	}
	return false;
}

/* Write @name.gp: a clustered bar chart of @name.dat (first column the
 * label, one series per further column). */
static int write_gp(const char *dir, const char *name, const char *title,
		    const char *ylabel, const char *const *series, int nseries)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.gp", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "set terminal png noenhanced size 1100,600\n"
		   "set output '%s.png'\n"
		   "set title '%s'\n"
		   "set ylabel '%s'\n"
		   "set style data histograms\n"
		   "set style histogram clustered gap 1\n"
		   "set style fill solid border -1\n"
		   "set boxwidth 0.9\n"
		   "set xtics rotate by -30 nomirror\n"
		   "set grid ytics\n"
		   "set key top left\n"
		   "set yrange [0:*]\n"
		   "plot ", name, title, ylabel);
	for (int i = 0; i < nseries; i++)
		fprintf(f, "%s'%s.dat' using %d%s title '%s'", i ? ", " : "", name,
			i + 2, i ? "" : ":xtic(1)", series[i]);
	fprintf(f, "\n");
	return fclose(f) ? -errno : 0;
}

static FILE *open_dat(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	return fopen(path, "w");
}

/* fs: rows "op udax kernel" of every figure both sides have. */
static int plot_fs(const struct fig *v, size_t n, const char *dir, const char **names)
{
	static const char *const series[] = { "udax", "kernel" };
	FILE *lat = open_dat(dir, "fs-latency"), *bw = open_dat(dir, "fs-mbps");
	int ret;

	if (!lat || !bw) {
		ret = -errno;
		goto out;
	}
	fprintf(lat, "# op udax_p50_us kernel_p50_us\n");
	fprintf(bw, "# figure udax_MB/s kernel_MB/s\n");
	for (size_t i = 0; i < n; i++) {
		char op[128], other[160];
		const char *dot = strstr(v[i].key, ".udax");
		const struct fig *k;
		size_t l;

		if (!dot)
			continue;
		l = (size_t)(dot - v[i].key);
		snprintf(op, sizeof(op), "%.*s", (int)l, v[i].key);
		snprintf(other, sizeof(other), "%s.kernel%s", op, dot + 5);
		k = find_fig(v, n, other);
		if (!k)
			continue;
		if (!strcmp(dot, ".udax.p50"))
			fprintf(lat, "%s %g %g\n", op, v[i].value, k->value);
		else if (!strcmp(dot, ".udax") && !strcmp(v[i].unit, "MB/s"))
			fprintf(bw, "%s %g %g\n", op, v[i].value, k->value);
	}
	ret = write_gp(dir, "fs-latency", "udax bench fs: p50 latency", "us", series, 2);
	if (!ret)
		ret = write_gp(dir, "fs-mbps", "udax bench fs: throughput", "MB/s", series, 2);
	names[0] = "fs-latency";
	names[1] = "fs-mbps";
out:
	if (lat && fclose(lat) && !ret)
		ret = -errno;
	if (bw && fclose(bw) && !ret)
		ret = -errno;
	return ret;
}

/* pagemap: get_put.PATTERN.threads_N, one row per N, one series per pattern. */
static int plot_pagemap(const struct fig *v, size_t n, const char *dir, const char **names)
{
	char pats[8][48];
	const char *series[8];
	int np = 0, ret;
	FILE *f;

	for (size_t i = 0; i < n; i++) {
		char p[48];
		int k;

		if (sscanf(v[i].key, "get_put.%47[^.].threads_%*d", p) != 1)
			continue;
		for (k = 0; k < np && strcmp(pats[k], p); k++)
			;
		if (k == np && np < 8) {
			strcpy(pats[np], p);
			series[np] = pats[np];
			np++;
		}
	}
	f = open_dat(dir, "pagemap-scaling");
	if (!f)
		return -errno;
	fprintf(f, "# threads");
	for (int k = 0; k < np; k++)
		fprintf(f, " %s_Mops/s", pats[k]);
	fprintf(f, "\n");
	for (int t = 1; t <= 4096; t++) {
		char key[128];
		bool any = false;

		for (int k = 0; k < np && !any; k++) {
			snprintf(key, sizeof(key), "get_put.%.47s.threads_%d", pats[k], t);
			any = find_fig(v, n, key) != NULL;
		}
		if (!any)
			continue;
		fprintf(f, "%d", t);
		for (int k = 0; k < np; k++) {
			const struct fig *fg;

			snprintf(key, sizeof(key), "get_put.%.47s.threads_%d", pats[k], t);
			fg = find_fig(v, n, key);
			fprintf(f, fg ? " %g" : " NaN", fg ? fg->value : 0.0);
		}
		fprintf(f, "\n");
	}
	ret = fclose(f) ? -errno : 0;
	if (!ret && np)
		ret = write_gp(dir, "pagemap-scaling",
			       "udax bench pagemap: get+put scaling (x: threads)",
			       "Mops/s", series, np);
	names[0] = np ? "pagemap-scaling" : NULL;
	return ret;
}

/* Charts of the run's figures (read back from @json) in @dir. */
static int bench_plot(const char *what, const char *json, const char *dir)
{
	const char *names[2] = { NULL, NULL };
	struct fig *v;
	size_t n = load_figs(json, &v);
	int ret;

	if (!n) {
		fprintf(stderr, "udax bench: --plot: no figures in %s\n", json);
		free(v);
		return -ENODATA;
	}
	ret = strcmp(what, "pagemap") ? plot_fs(v, n, dir, names) :
				    plot_pagemap(v, n, dir, names);
	free(v);
	if (ret) {
		fprintf(stderr, "udax bench: --plot: writing to %s: %s\n", dir,
			strerror(-ret));
		return ret;
	}
	if (!on_path("gnuplot")) {
		fprintf(stderr, "udax bench: --plot: gnuplot is not on PATH: wrote the "
			".dat and .gp files to %s, no PNGs\n", dir);
		return 0;
	}
	for (int i = 0; i < 2 && names[i]; i++) {
		char gp[256];
		pid_t pid;
		int st;

		snprintf(gp, sizeof(gp), "%s.gp", names[i]);
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			/* The script names its files relative to @dir. */
			if (chdir(dir) == 0)
				execlp("gnuplot", "gnuplot", gp, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st)) {
			fprintf(stderr, "udax bench: --plot: gnuplot %s/%s failed\n", dir, gp);
			return -EIO;
		}
		fprintf(stderr, "udax bench: --plot: wrote %s/%s.png\n", dir, names[i]);
	}
	return 0;
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
		{ "plot", required_argument, NULL, 'p' },
		{ "dir-sizes", required_argument, NULL, 'D' },
		{ "grow", required_argument, NULL, 'g' },
		{ "thread-size", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pagemap_bench_opts po = { 0 };
	struct fs_bench_opts fo = {
		.device = DEFAULT_DEVICE, .kernel_dir = "/dev/shm",
		.file_size = 64ull << 20, .ops = 20000,
		.dir_sizes = "100,1000,10000,100000",
		.grow_size = 64ull << 20, .thread_size = 16ull << 20,
	};
	const char *json = NULL, *plot = NULL, *what;
	char plot_json[4096];
	struct bench_report *r;
	struct kdir k;
	bool claimed = false;
	char *end, why[4200];
	int c, ret;

	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));

		bench_usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	what = argv[1];
	if (!strcmp(what, "fs") && argc >= 3 && !strcmp(argv[2], "scale")) {
		what = "scale";
		argc--;
		argv++;
	}
	if (strcmp(what, "pagemap") && strcmp(what, "fs") && strcmp(what, "scale")) {
		fprintf(stderr, "udax bench: unknown benchmark '%s' (known: pagemap, fs, "
			"scale)\n", what);
		return EXIT_USAGE;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:t:w:d:k:s:j:p:D:g:T:h", opts, NULL)) != -1) {
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
		case 'D':
			fo.dir_sizes = optarg;
			break;
		case 'g':
		case 'T': {
			uint64_t v;

			if (!cli_parse_size(optarg, &v) || v < 8192 || v % 4096) {
				fprintf(stderr, "udax bench: bad size '%s' (a multiple of "
					"4K, at least 8K)\n", optarg);
				return EXIT_USAGE;
			}
			if (c == 'g')
				fo.grow_size = v;
			else
				fo.thread_size = v;
			break;
		}
		case 'j':
			json = optarg;
			break;
		case 'p':
			plot = optarg;
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
	if (plot) {
		/* The figures reach the plot through the JSON file: the report
		 * keeps them to itself. */
		if (mkdir(plot, 0755) && errno != EEXIST) {
			fprintf(stderr, "udax bench: cannot create %s: %s\n", plot,
				strerror(errno));
			return EXIT_FAIL;
		}
		if (!json) {
			snprintf(plot_json, sizeof(plot_json), "%s/bench-%s.json", plot, what);
			json = plot_json;
		}
	}
	if (!strcmp(what, "fs") || !strcmp(what, "scale")) {
		/* The kernel side writes the append file (-n blocks), then the
		 * big one (-s), and small ones; scale: two appending threads'
		 * files (-T each). */
		uint64_t app = (uint64_t)fo.ops * 4096, thr = 2 * fo.thread_size;
		uint64_t need = (app > fo.file_size ? app : fo.file_size);

		if (!strcmp(what, "scale") && thr > need)
			need = thr;
		need += 4u << 20;
		char b1[32], b2[32];

		ret = kdir_claim(&k, fo.kernel_dir, "udax-bench", why, sizeof(why));
		if (ret) {
			fprintf(stderr, "udax bench: %s\n", why);
			return EXIT_FAIL;
		}
		claimed = true;
		if (k.stale)
			fprintf(stderr, "udax bench: removed %u files an earlier run left in %s\n",
				k.stale, k.path);
		if (need > kdir_budget(&k)) {
			fprintf(stderr, "udax bench: %s has %s free%s: too little for %s of "
				"files (-s, and -n 4 KiB appends); give a smaller -s or -n, or "
				"another -k\n", fo.kernel_dir, cli_size(k.avail, b1, sizeof(b1)),
				k.memory ? " and is memory (a quarter of it is used at most)" : "",
				cli_size(need, b2, sizeof(b2)));
			kdir_release(&k);
			return EXIT_FAIL;
		}
		fo.kernel_dir = k.path;
	}
	r = bench_report_new(what);
	if (!r) {
		if (claimed)
			kdir_release(&k);
		return EXIT_FAIL;
	}
	ret = !strcmp(what, "fs") ? fs_bench_run(&fo, r) :
	      !strcmp(what, "scale") ? fs_bench_scale(&fo, r) : pagemap_bench_run(&po, r);
	if (claimed)
		kdir_release(&k);
	if (ret)
		fprintf(stderr, "udax bench %s: %s\n", what, udax_strerror(ret));
	if (bench_report_json(r, stdout, json)) {
		fprintf(stderr, "udax bench: cannot write %s: %s\n", json, strerror(errno));
		ret = ret ? ret : -EIO;
	}
	bench_report_delete(r);
	if (plot && !ret && bench_plot(what, json, plot))
		ret = -EIO;
	return ret ? EXIT_FAIL : EXIT_OK;
}
