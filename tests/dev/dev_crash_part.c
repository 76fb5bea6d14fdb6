/* SPDX-License-Identifier: MIT */
/*
 * The partition table under the crash-state explorer (include/udax/crash.h,
 * docs/crash.md): udax_dev_mkpart and udax_dev_part_wipe on a device that
 * held an older table (with a file system in its first partition) or none.
 * After a crash the device must hold the old table, no table (-ENODATA) or
 * the new one (include/udax/dev.h): udax_dev_part_read of every crash image
 * gives one of those three, entry for entry, never a damaged table.
 *
 * Every case runs twice: with 64-byte units (whole cache lines), then with
 * 8-byte units (torn lines: each changed word of a flushed line on its
 * own); --torn runs only the second, --no-torn only the first.
 *
 * Usage: dev_crash_part [--long | --quick] [--torn | --no-torn]
 *                       [--case NAME --fence K --subset S] [--list]
 * UDAX_CRASH_LONG=1 is --long, UDAX_CRASH_QUICK=1 --quick.  A failure
 * prints the command line that replays only its image.  Exit 1 if anything
 * failed.
 */
#include <inttypes.h>

#include "crash_util.h"
#include "fs_util.h"

#define SPEC	"mem:16M"
#define MB	(1ull << 20)

struct table {
	int n;				/* partitions, or -errno */
	struct udax_part_info p[UDAX_DEV_MAX_PARTS];
};

static struct crash_test crash;		/* torn -1: both passes */

static struct {
	bool replay;
	const char *only;
	uint64_t fence;
	struct udax_crash_subset subset;
} cfg;

static void snap(struct udax_dev *d, struct table *t)
{
	t->n = udax_dev_part_read(d);
	for (int i = 0; i < t->n; i++)
		FS_OK(udax_dev_part(d, (unsigned)i, &t->p[i]));
}

/* Same table: every entry's place, type, label and uuid. */
static bool same(const struct table *a, const struct table *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++) {
		const struct udax_part_info *x = &a->p[i], *y = &b->p[i];

		if (x->offset != y->offset || x->size != y->size || x->type != y->type ||
		    strcmp(x->label, y->label) || memcmp(x->uuid, y->uuid, 16))
			return false;
	}
	return true;
}

/* ---- the old device and the actions ---------------------------------------------- */

static void old_table(struct udax_dev *d)
{
	const struct udax_part_spec two[] = {
		{ 4 * MB, UDAX_PART_TYPE_UDAXFS, "old0" },
		{ 0, 7, "old1" },
	};
	struct udax_fs *fs;

	FS_OK(udax_dev_mkpart(d, two, 2, 0));
	FS_OK(udax_mkfs(d, 0, NULL));
	fs = t_fs_mount(d);
	t_write_file(fs, "/f", "old data", 8);
	FS_OK(udax_unmount(&fs));
}

static int mkpart_three(struct udax_dev *d)
{
	const struct udax_part_spec three[] = {
		{ 2 * MB, UDAX_PART_TYPE_UDAXFS, "new0" },
		{ 6 * MB, UDAX_PART_TYPE_UDAXFS, "new1-longer-label" },
		{ 0, 9, NULL },
	};

	return udax_dev_mkpart(d, three, 3, UDAX_MKPART_FORCE);
}

static int mkpart_whole(struct udax_dev *d)
{
	return udax_dev_mkpart(d, NULL, 0, UDAX_MKPART_FORCE);
}

static int mkpart_fresh(struct udax_dev *d)
{
	const struct udax_part_spec two[] = {
		{ 8 * MB, UDAX_PART_TYPE_UDAXFS, "a" },
		{ 0, UDAX_PART_TYPE_UDAXFS, "b" },
	};

	return udax_dev_mkpart(d, two, 2, 0);
}

static int wipe(struct udax_dev *d)
{
	return udax_dev_part_wipe(d);
}

static const struct pcase {
	const char *name;
	bool old;			/* start from old_table() (else nothing) */
	int (*act)(struct udax_dev *d);
} cases[] = {
	{ "mkpart-replace", true, mkpart_three },
	{ "mkpart-whole", true, mkpart_whole },
	{ "mkpart-fresh", false, mkpart_fresh },
	{ "wipe", true, wipe },
};

/* ---- exploring --------------------------------------------------------------------- */

static void check(const struct pcase *pc, struct udax_crash *c, uint64_t k,
		  const struct udax_crash_subset *s, struct udax_dev *dev2,
		  const struct table *old, const struct table *new)
{
	struct udax_dev_info info;
	struct table got;
	char sub[64];

	crash.images++;
	FS_OK(udax_dev_info(dev2, &info));
	FS_OK(udax_crash_image(c, k, s, info.addr));
	snap(dev2, &got);
	if (got.n == -ENODATA || same(&got, old) || same(&got, new))
		return;
	crash_test_failed(&crash);
	udax_crash_subset_format(s, sub, sizeof(sub));
	if (got.n < 0)
		fprintf(stderr, "FAIL %s fence %" PRIu64 " subset %s: the table reads "
			"%d (%s): %s\n", pc->name, k, sub, got.n, t_errname(got.n),
			udax_dev_last_error());
	else
		fprintf(stderr, "FAIL %s fence %" PRIu64 " subset %s: %d partitions, "
			"neither the old table (%d) nor the new one (%d)\n", pc->name,
			k, sub, got.n, old->n, new->n);
	crash_replay_start(&crash, crash.long_mode);
	fprintf(stderr, " --case %s --fence %" PRIu64 " --subset %s\n", pc->name, k, sub);
}

static void explore(const struct pcase *pc, struct udax_dev *dev2)
{
	struct udax_crash_opts co = {
		.exhaustive_max = crash.long_mode ? 16 : 10,
		.samples = crash.long_mode ? 256 : 8, .seed = 0x7ab1e,
		.flags = crash_test_plan_flags(&crash, false),
		.unit_bytes = crash.unit_bytes,
	};
	struct udax_crash_range rg[4];
	struct udax_dev *d = NULL;
	struct udax_crash *c;
	struct table old, new;
	long img0 = crash.images, fail0 = crash.failures;
	int ret;

	FS_OK(udax_dev_open(SPEC, NULL, &d));
	if (pc->old)
		old_table(d);
	snap(d, &old);
	T_ASSERT(pc->old ? old.n == 2 : old.n == -ENODATA);
	FS_OK(udax_crash_new(d, &co, &c));
	ret = pc->act(d);
	FS_OK(udax_crash_stop(c));
	FS_OK(ret);
	snap(d, &new);
	T_ASSERT(!same(&old, &new));
	if (udax_crash_unflushed(c, rg, 4)) {
		crash_test_failed(&crash);
		fprintf(stderr, "FAIL %s: stores never flushed at [%" PRIu64 ", +%" PRIu64
			")\n", pc->name, rg[0].off, rg[0].len);
	}
	if (cfg.replay) {
		check(pc, c, cfg.fence, &cfg.subset, dev2, &old, &new);
	} else {
		for (uint64_t k = 0; k <= udax_crash_fences(c); k++) {
			struct udax_crash_epoch e;
			struct udax_crash_subset s;

			FS_OK(udax_crash_epoch(c, k, &e));
			for (uint64_t j = 0; j < e.subsets; j++) {
				FS_OK(udax_crash_subset_nth(c, k, j, &s));
				check(pc, c, k, &s, dev2, &old, &new);
			}
		}
	}
	printf("%-16s %3" PRIu64 " fences %6ld images%s\n", pc->name,
	       udax_crash_fences(c), crash.images - img0,
	       crash_test_failed_since(&crash, fail0));
	udax_crash_delete(&c);
	FS_OK(udax_dev_close(&d, 0));
}

static void usage(void)
{
	fprintf(stderr, "usage: %s [--long | --quick] [--torn | --no-torn] [--case NAME "
		"[--fence K --subset S]] [--list]\n", crash.argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		CRASH_TEST_OPTIONS,
		{ "case", required_argument, NULL, 'c' },
		{ "fence", required_argument, NULL, 'f' },
		{ "subset", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_fence = false, have_subset = false, found = false;
	struct udax_dev *dev2 = NULL;
	int o;

	crash_test_init(&crash, argv[0]);
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (crash_test_option(&crash, o))
			continue;
		switch (o) {
		case 'c': cfg.only = optarg; break;
		case 'f': cfg.fence = strtoull(optarg, NULL, 0); have_fence = true; break;
		case 's':
			if (udax_crash_subset_parse(optarg, &cfg.subset))
				usage();
			have_subset = true;
			break;
		default: usage();
		}
	}
	if (optind != argc || have_fence != have_subset || (have_fence && !cfg.only))
		usage();
	cfg.replay = have_fence;
	if (crash.list) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	printf("dev_crash_part: %s mode: mkpart and wipe over an older table or none; "
	       "every image holds the old table, none or the new one\n",
	       crash_test_mode(&crash));
	FS_OK(udax_dev_open(SPEC, NULL, &dev2));
	/* A replay runs the pass that found it (--torn or not). */
	if (cfg.replay && crash.torn == -1)
		crash.torn = 0;
	for (int p = 0; p < 2; p++) {
		if (crash.torn == !p)
			continue;
		crash.unit_bytes = p ? UDAX_CRASH_WORD : UDAX_CRASH_UNIT;
		printf("--- %u-byte units (%s)\n", crash.unit_bytes,
		       crash_unit_what(crash.unit_bytes));
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			if (cfg.only && strcmp(cfg.only, cases[i].name))
				continue;
			found = true;
			explore(&cases[i], dev2);
		}
	}
	FS_OK(udax_dev_close(&dev2, 0));
	if (!found) {
		fprintf(stderr, "no case '%s' (--list)\n", cfg.only);
		return 2;
	}
	return crash_test_totals(&crash);
}
