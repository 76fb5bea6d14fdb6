/* SPDX-License-Identifier: MIT */
/*
 * Crash consistency of the file system, on the crash-state explorer
 * (include/udax/crash.h, docs/crash.md).
 *
 * Each scenario (fs_crash_ops.c) runs its steps once on a recorded device:
 * one operation, or a workload of several with fsync promises.  Then for
 * every fence k and every planned subset of the lines pending at k
 * (exhaustive for small epochs, sampled otherwise) the image is loaded into
 * a fresh memory device and:
 *
 *   - udax_fsck without repair reports no problem (a committed journal
 *     transaction is checked as if replayed);
 *   - mount (replaying the journal) gives exactly the state after the
 *     steps completed before the crash point, plus the step in progress
 *     whole or not at all; bytes overwritten in place and not yet fsync'd
 *     may each be old or new, every fsync'd byte must be there; after the
 *     last fence: exactly the final state (every step durable at return);
 *   - the recovered fs creates, writes and unlinks a file and gives every
 *     block back; after unmount fsck is clean again.
 *
 * At the end of each step the device must hold no store that was never
 * flushed (it would be lost on power failure).
 *
 * Two passes: units of 64 bytes (a flushed line reaches media whole), then
 * of 8 bytes (torn lines: each changed word of a flushed line on its own,
 * the atomicity persistent memory guarantees).  The torn pass covers the
 * operations in torn_ci[] by default and every scenario with --long;
 * --torn runs only it (every scenario), --no-torn only the first.
 *
 * Usage: fs_crash [--long | --quick] [--torn | --no-torn] [--op NAME]
 *                 [--fence K (--seed S | --subset S)] [--exhaustive N]
 *                 [--samples N] [--max-failures N] [--global-fences] [--list]
 * UDAX_CRASH_LONG=1 is --long, UDAX_CRASH_QUICK=1 --quick.  --quick (sanitizer builds) samples large
 * epochs with none, all and random subsets only.  Recording uses per-thread
 * fences (UDAX_CRASH_PER_THREAD_FENCES): for this one-thread test they make
 * the same images as global ones (--global-fences), at the same cost, and
 * keep that mode under test.  A failure prints the command line that
 * replays only its image (with --torn when the torn pass found it).  Exit 1 if anything failed.
 */
#include <stdarg.h>
#include <inttypes.h>
#include <udax/fsck.h>

#include "crash_util.h"
#include "fs_crash.h"
#include "fs_util.h"

static struct crash_test crash = { .max_failures = 10 };

static struct {
	int exhaustive, samples;		/* -1: the mode's */
	bool per_thread;			/* per-thread fences (default) */
	const char *op;
	bool replay;
	uint64_t fence;
	struct udax_crash_subset subset;
} cfg = { .per_thread = true, .exhaustive = -1, .samples = -1 };

/* The torn pass of the default mode (about 5600 images, as many as the
 * whole-line pass of every scenario takes in time): operations that
 * commit each kind of record (a new inode and entry, an entry moved, an
 * extent chain freed, extents cut, blocks allocated with an fdatasync, an
 * orphan freed) and an in-place overwrite; the pass over every scenario
 * is --long's or --torn's. */
static const char *const torn_ci[] = {
	"create", "rename", "unlink-chain", "truncate-down", "append-fdatasync",
	"overwrite-fsync", "last-close-orphan", "large-dir", "leaf-append",
};

static bool in_torn_ci(const char *name)
{
	for (size_t i = 0; i < sizeof(torn_ci) / sizeof(torn_ci[0]); i++)
		if (!strcmp(torn_ci[i], name))
			return true;
	return false;
}

/* ---- failures; scenarios are recorded by cr_record() (fs_crash_run.c) ----------- */

static void report(const struct cr_run *r, uint64_t k, const struct udax_crash_subset *s,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(const struct cr_run *r, uint64_t k, const struct udax_crash_subset *s,
		   const char *fmt, ...)
{
	char sub[64];
	va_list ap;

	fprintf(stderr, "FAIL %s", r->sc->name);
	if (s)
		fprintf(stderr, " fence %" PRIu64, k);
	fprintf(stderr, ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	crash_replay_start(&crash, r->sc->long_only);
	fprintf(stderr, " --op %s", r->sc->name);
	if (s) {
		udax_crash_subset_format(s, sub, sizeof(sub));
		if (s->kind == UDAX_CRASH_RANDOM)
			fprintf(stderr, " --fence %" PRIu64 " --seed 0x%" PRIx64, k, s->arg);
		else
			fprintf(stderr, " --fence %" PRIu64 " --subset %s", k, sub);
	}
	fprintf(stderr, "\n");
	crash_test_failed(&crash);
}

static void record_problem(const struct cr_run *r, const char *msg)
{
	report(r, 0, NULL, "%s", msg);
}

/* ---- checking one image --------------------------------------------------------- */

static void check_image(struct cr_run *r, uint64_t k, const struct udax_crash_subset *s)
{
	struct udax_dev_info info;
	struct cs_state got;
	struct udax_fs *fs = NULL;
	char why[1024], w2[1024];
	unsigned i;
	int ret;

	/* The step in progress at fence k (its epoch): the first that had
	 * not returned yet; none after the last fence. */
	i = cr_step_at(r, k);
	crash.images++;
	FS_OK(udax_dev_info(r->dev2, &info));
	FS_OK(udax_crash_image(r->c, k, s, info.addr));
	if (udax_dev_part_read(r->dev2) != 1) {
		report(r, k, s, "partition table lost: %s", udax_dev_last_error());
		return;
	}
	if (cr_fsck_clean(r->dev2, NULL, why, sizeof(why))) {
		report(r, k, s, "fsck before mount: %s", why);
		return;
	}
	ret = udax_mount(r->dev2, 0, NULL, &fs);
	if (ret) {
		report(r, k, s, "mount: %d (%s): %s", ret, t_errname(ret),
		       udax_fs_last_error());
		return;
	}
	if (cs_capture(fs, &got, why, sizeof(why))) {
		report(r, k, s, "walking the recovered tree: %s", why);
		cs_free(&got);
		udax_unmount(&fs);
		return;
	}
	if (i > r->nsteps) {
		if (!cs_match(&r->st[r->nsteps], r->alt[r->nsteps], r->nalt[r->nsteps],
			      &got, why, sizeof(why)))
			report(r, k, s, "after the last step returned, not its "
			       "state: %s", why);
	} else if (!cs_match(&r->st[i - 1], r->alt[i - 1], r->nalt[i - 1], &got,
			     why, sizeof(why)) &&
		   !cs_match(&r->st[i], r->dur[i], r->ndur[i], &got, w2, sizeof(w2))) {
		report(r, k, s, "during step %u (%s): neither the state before "
		       "(%s) nor after it (%s)", i, r->sc->steps[i - 1].what, why, w2);
	}
	cs_free(&got);
	if (cr_post_ops(fs, why, sizeof(why)))
		report(r, k, s, "%s", why);
	ret = udax_unmount(&fs);
	if (ret) {
		report(r, k, s, "unmount: %d (%s)", ret, udax_fs_last_error());
		return;
	}
	if (cr_fsck_clean(r->dev2, NULL, why, sizeof(why)))
		report(r, k, s, "fsck after recovery: %s", why);
}

static void explore(struct udax_dev *dev2, const struct cr_scenario *sc)
{
	struct cr_run r = { .sc = sc, .dev2 = dev2 };
	struct udax_crash_opts co = { .exhaustive_max = (unsigned)cfg.exhaustive,
				      .samples = (unsigned)cfg.samples, .seed = 0x5eed,
				      .flags = crash_test_plan_flags(&crash, false) |
					       (cfg.per_thread ? UDAX_CRASH_PER_THREAD_FENCES : 0),
				      .unit_bytes = crash.unit_bytes };
	uint64_t fences, exh = 0, smp = 0, maxu = 0;
	long before = crash.images, fbefore = crash.failures;

	cr_record(&r, &co, record_problem);
	fences = udax_crash_fences(r.c);
	if (cfg.replay) {
		if (cfg.fence > fences) {
			fprintf(stderr, "%s has fences 0..%" PRIu64 "\n", sc->name, fences);
			exit(2);
		}
		check_image(&r, cfg.fence, &cfg.subset);
		printf("%s: fence %" PRIu64 " replayed: %s\n", sc->name, cfg.fence,
		       crash.failures > fbefore ? "FAILED" : "ok");
		cr_run_free(&r);
		return;
	}
	for (uint64_t k = 0; k <= fences && !crash.stopping; k++) {
		struct udax_crash_epoch e;
		struct udax_crash_subset s;

		FS_OK(udax_crash_epoch(r.c, k, &e));
		e.exhaustive ? exh++ : smp++;
		if (e.units > maxu)
			maxu = e.units;
		for (uint64_t j = 0; j < e.subsets && !crash.stopping; j++) {
			FS_OK(udax_crash_subset_nth(r.c, k, j, &s));
			check_image(&r, k, &s);
		}
	}
	printf("%-20s %2u steps %3" PRIu64 " fences %6ld images  epochs: %3" PRIu64
	       " exhaustive %3" PRIu64 " sampled (largest %3" PRIu64 " %s)%s\n",
	       sc->name, r.nsteps, fences, crash.images - before, exh, smp, maxu,
	       crash.unit_bytes == UDAX_CRASH_WORD ? "words" : "lines",
	       crash_test_failed_since(&crash, fbefore));
	fflush(stdout);
	cr_run_free(&r);
}

/* ---- command line ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: %s [--long | --quick] [--torn | --no-torn] [--op NAME] "
		"[--fence K (--seed S | --subset S)] [--exhaustive N] [--samples N] "
		"[--max-failures N (0: all)] [--global-fences] [--list]\n", crash.argv0);
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		CRASH_TEST_OPTIONS,
		{ "global-fences", no_argument, NULL, 'P' },
		{ "op", required_argument, NULL, 'o' },
		{ "fence", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "subset", required_argument, NULL, 'S' },
		{ "exhaustive", required_argument, NULL, 'e' },
		{ "samples", required_argument, NULL, 'n' },
		{ "max-failures", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_fence = false, have_subset = false;
	char sub[80];
	int c;

	crash_test_init(&crash, argv[0]);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (crash_test_option(&crash, c))
			continue;
		switch (c) {
		case 'P': cfg.per_thread = false; break;
		case 'o': cfg.op = optarg; break;
		case 'f': cfg.fence = strtoull(optarg, NULL, 0); have_fence = true; break;
		case 's':
			snprintf(sub, sizeof(sub), "seed:%s", optarg);
			if (udax_crash_subset_parse(sub, &cfg.subset))
				usage();
			have_subset = true;
			break;
		case 'S':
			if (udax_crash_subset_parse(optarg, &cfg.subset)) {
				fprintf(stderr, "%s\n", udax_dev_last_error());
				usage();
			}
			have_subset = true;
			break;
		case 'e': cfg.exhaustive = atoi(optarg); break;
		case 'n': cfg.samples = atoi(optarg); break;
		case 'm': crash.max_failures = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || have_fence != have_subset || (have_fence && !cfg.op))
		usage();
	cfg.replay = have_fence;
	if (cfg.exhaustive < 0)
		cfg.exhaustive = crash.long_mode ? 12 : 6;
	if (cfg.samples < 0)
		cfg.samples = crash.long_mode ? 256 : 8;
}

/* One pass over the scenarios with units of @ub bytes; @torn_all: every
 * scenario, else only torn_ci[] (when @ub is 8).  Whether any ran. */
static bool pass(struct udax_dev *dev2, unsigned ub, bool torn_all)
{
	bool found = false, subset = ub == UDAX_CRASH_WORD && !torn_all && !cfg.op;

	crash.unit_bytes = ub;
	printf("--- %u-byte units (%s), %s\n", ub, crash_unit_what(ub),
	       subset ? "a subset of the operations" : cfg.op ? cfg.op :
	       "every scenario");
	fflush(stdout);
	for (size_t i = 0; i < cr_nscenarios && !crash.stopping; i++) {
		const struct cr_scenario *sc = &cr_scenarios[i];

		if (cfg.op ? strcmp(cfg.op, sc->name) : (sc->long_only && !crash.long_mode))
			continue;
		if (subset && !in_torn_ci(sc->name))
			continue;
		found = true;
		explore(dev2, sc);
	}
	return found;
}

int main(int argc, char **argv)
{
	struct udax_dev *dev2;
	bool found;

	parse(argc, argv);
	if (crash.list) {
		for (size_t i = 0; i < cr_nscenarios; i++)
			printf("%s%s\n", cr_scenarios[i].name,
			       cr_scenarios[i].long_only ? " (--long)" : "");
		return 0;
	}
	printf("fs_crash: %s mode: all 2^n subsets of fences with n <= %d pending "
	       "units; larger ones sampled: none, %s%d random; udax_fsck before "
	       "mount and after unmount\n",
	       crash_test_mode(&crash),
	       cfg.exhaustive, crash.long_mode ? "all, every prefix, every single "
	       "unit, all but each one, " : crash.quick ? "all, " :
	       "all, every prefix, every single unit, ",
	       cfg.samples);
	fflush(stdout);
	dev2 = t_fs_dev(CR_DEVSPEC);
	/* --torn: the torn pass alone, over everything; a replay runs the
	 * pass that found it; else whole lines first, then torn lines over
	 * every scenario (--long) or torn_ci[] (the default). */
	if (crash.torn == 1 || cfg.replay) {
		found = pass(dev2, crash.torn == 1 ? UDAX_CRASH_WORD : UDAX_CRASH_UNIT, true);
	} else {
		found = pass(dev2, UDAX_CRASH_UNIT, true);
		if (found && crash.torn == -1 && !crash.stopping)
			pass(dev2, UDAX_CRASH_WORD, crash.long_mode);
	}
	FS_OK(udax_dev_close(&dev2, 0));
	if (!found) {
		fprintf(stderr, "no operation '%s' (--list)\n", cfg.op);
		return 2;
	}
	return crash_test_totals(&crash);
}
