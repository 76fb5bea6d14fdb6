/* SPDX-License-Identifier: MIT */
/*
 * Crashes during the code that runs after a crash or on a damaged image,
 * on the crash-state explorer (include/udax/crash.h, docs/crash.md):
 *
 * replay/OP  Images of fs_crash's operations that hold a committed journal
 *            transaction or an orphan (left by the last close of an
 *            unlinked file, or by unlink while open) are mounted under the
 *            explorer: replay writes the records home and clears the
 *            header, mount frees the orphans (a transaction of its own).
 *            Every crash image of that recovery must pass fsck (no repair)
 *            and mount into exactly the state the uninterrupted recovery
 *            reached, which is the operation's after-state; then take a
 *            create/write/unlink and be clean again.  Images that still
 *            hold recovery work are mounted under the explorer again (a
 *            crash during the second recovery) and checked the same way:
 *            recovery is idempotent.
 * repair/X   A damaged image (see fs_fsck.c for the damage) is repaired by
 *            udax_fsck(REPAIR) under the explorer.  Every crash image
 *            mounts (or is the damaged original), a second repair leaves no
 *            problem, a check without repair finds none, and the tree is
 *            the one the uninterrupted repair produced.
 * mkfs/X     udax_mkfs over an older file system under the explorer: every
 *            crash image holds no file system (fsck and mount: -ENODATA),
 *            the old one intact, or the complete new one; never one that
 *            mount refuses or that mounts with a mix.
 *
 * This file is the driver: options, cases, failures and totals; the cases
 * are fs_crash_replay.c, fs_crash_repair.c (fs_crash_damage.c the damage)
 * and fs_crash_mkfs.c, on fs_crash_walk.c (fs_crash_recovery.h).  (The
 * partition table's crashes are tests/dev/dev_crash_part.c.)
 *
 * Two passes, as fs_crash's: units of 64 bytes (whole cache lines), then
 * of 8 bytes (torn lines: each changed word of a flushed line on its own)
 * at every level, over the cases in torn_ci[] by default and over every
 * case with --long; --torn runs only the torn pass (every case), --no-torn
 * only the first.
 *
 * Usage: fs_crash_recovery [--long | --quick] [--torn | --no-torn] [--case NAME]
 *                          [--at K:S[,K:S...]] [--max-failures N] [--list]
 * --at replays one path of crash points, outermost first (for replay/OP:
 * the operation's image, then a crash in the first recovery, then in the
 * second), each fence K and subset S as udax_crash_subset_format() writes
 * it.  UDAX_CRASH_LONG=1 is --long, UDAX_CRASH_QUICK=1 --quick.  Exit 1 if
 * anything failed.
 */
#include <stdarg.h>

#include "fs_crash_recovery.h"

struct crash_test crash = { .max_failures = 10 };
struct rc_cfg rc_cfg;
const char *rc_cur;
const char *const *rc_levels;
struct udax_dev *rc_dev2;
struct udax_dev *rc_devr[RC_LEVELS];

static bool torn_subset;		/* the pass runs torn_ci[] only */

/* The torn pass of the default mode: a crash in the replay of a new inode
 * and entry, of a freed extent chain and of an fsync'd append, in the
 * repair of a committed journal, of a superblock copy and of a cut extent
 * leaf, and in mkfs
 * (the superblock magic written last) - every case is --long's or --torn's. */
static const char *const torn_ci[] = {
	"replay/create", "replay/unlink-chain", "replay/append-fdatasync",
	"repair/journal", "repair/super-b", "repair/leaf-extent", "mkfs/same-geometry",
	"mkfs/other-geometry",
};

/* ---- failures and replay lines -------------------------------------------------- */

void rc_report(const struct rc_path *p, const char *fmt, ...)
{
	char sub[64];
	va_list ap;

	fprintf(stderr, "FAIL %s", rc_cur);
	for (unsigned i = 0; i < p->n; i++) {
		udax_crash_subset_format(&p->at[i].s, sub, sizeof(sub));
		fprintf(stderr, "%s %s fence %" PRIu64 " subset %s", i ? " >" : ":",
			rc_levels[i], p->at[i].k, sub);
	}
	fprintf(stderr, ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	crash_replay_start(&crash, crash.long_mode);
	fprintf(stderr, " --case %s", rc_cur);
	for (unsigned i = 0; i < p->n; i++) {
		udax_crash_subset_format(&p->at[i].s, sub, sizeof(sub));
		fprintf(stderr, "%s%" PRIu64 ":%s", i ? "," : " --at ", p->at[i].k, sub);
	}
	fprintf(stderr, "\n");
	crash_test_failed(&crash);
}

void rc_case_line(const char *what, long img0, long fail0)
{
	printf("%-28s %-44s %6ld images%s\n", rc_cur, what, crash.images - img0,
	       crash_test_failed_since(&crash, fail0));
	fflush(stdout);
}

/* ---- cases, command line ------------------------------------------------------------ */

static bool selected(const char *name)
{
	bool in_ci = false;

	rc_cur = name;
	for (size_t i = 0; torn_subset && i < sizeof(torn_ci) / sizeof(torn_ci[0]); i++)
		in_ci |= !strcmp(torn_ci[i], name);
	return !crash.stopping && (!rc_cfg.only || !strcmp(rc_cfg.only, name)) &&
	       (!torn_subset || in_ci);
}

/* Scenarios replayed only with --long (or --case): many images, on replay
 * paths the single operations already take (directory blocks logged as
 * changed spans: create, unlink, rename). */
static bool replay_long(const struct cr_scenario *sc)
{
	return sc->long_only || !strcmp(sc->name, "large-dir");
}

static bool run_all(void)
{
	bool found = false;
	char name[96];

	for (size_t i = 0; i <= cr_nscenarios; i++) {
		const struct cr_scenario *sc = i < cr_nscenarios ? &cr_scenarios[i] :
					       &rc_unlink_open;

		if (replay_long(sc) && !crash.long_mode && !rc_cfg.only)
			continue;
		snprintf(name, sizeof(name), "replay/%s", sc->name);
		if (crash.list)
			printf("%s%s\n", name, replay_long(sc) ? " (--long)" : "");
		else if (selected(name))
			found = true, rc_replay_case(sc);
	}
	for (size_t i = 0; i < rc_ndamages; i++) {
		if (crash.list)
			printf("%s\n", rc_damages[i].name);
		else if (selected(rc_damages[i].name))
			found = true, rc_repair_case(rc_damages[i].damage);
	}
	for (size_t i = 0; i < rc_nmkfs_cases; i++) {
		if (crash.list)
			printf("%s\n", rc_mkfs_cases[i].name);
		else if (selected(rc_mkfs_cases[i].name))
			found = true, rc_mkfs_case(&rc_mkfs_cases[i].mo);
	}
	return found || crash.list;
}

static void usage(void)
{
	fprintf(stderr, "usage: %s [--long | --quick] [--torn | --no-torn] [--case NAME "
		"[--at K:S[,K:S...]]] [--max-failures N (0: all)] [--list]\n", crash.argv0);
	exit(2);
}

/* "K:SUBSET,K:SUBSET" */
static void parse_at(char *s)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		char *colon = strchr(tok, ':'), *end;

		if (!colon || rc_cfg.rp.n == RC_LEVELS)
			usage();
		*colon = 0;
		rc_cfg.rp.at[rc_cfg.rp.n].k = strtoull(tok, &end, 0);
		if (*end || udax_crash_subset_parse(colon + 1, &rc_cfg.rp.at[rc_cfg.rp.n].s)) {
			fprintf(stderr, "bad crash point '%s:%s'\n", tok, colon + 1);
			usage();
		}
		rc_cfg.rp.n++;
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		CRASH_TEST_OPTIONS,
		{ "case", required_argument, NULL, 'c' },
		{ "at", required_argument, NULL, 'a' },
		{ "max-failures", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	crash_test_init(&crash, argv[0]);
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (crash_test_option(&crash, o))
			continue;
		switch (o) {
		case 'c': rc_cfg.only = optarg; break;
		case 'a': parse_at(optarg); rc_cfg.replay = true; break;
		case 'm': crash.max_failures = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || (rc_cfg.replay && !rc_cfg.only))
		usage();
	if (!crash.list)
		printf("fs_crash_recovery: %s mode: crashes during journal replay and "
		       "orphan freeing (and during a second recovery), fsck repair, "
		       "mkfs\n", crash_test_mode(&crash));
	rc_dev2 = t_fs_dev(CR_DEVSPEC);
	for (int i = 0; i < RC_LEVELS; i++)
		rc_devr[i] = t_fs_dev(CR_DEVSPEC);
	/* --torn: the torn pass alone; a replay runs the pass that found it;
	 * else whole lines, then torn lines over every case (--long) or
	 * torn_ci[] (the default). */
	for (int p = 0; p < 2; p++) {
		bool torn = crash.torn == 1 || p == 1;

		if (p == 1 && (crash.torn != -1 || rc_cfg.replay || crash.list ||
			       crash.stopping))
			break;
		crash.unit_bytes = torn ? UDAX_CRASH_WORD : UDAX_CRASH_UNIT;
		torn_subset = p == 1 && !crash.long_mode && !rc_cfg.only;
		if (!crash.list)
			printf("--- %u-byte units (%s), %s\n", crash.unit_bytes,
			       crash_unit_what(crash.unit_bytes), torn_subset ?
			       "a subset of the cases" : rc_cfg.only ? rc_cfg.only :
			       "every case");
		if (!run_all()) {
			fprintf(stderr, "no case '%s' (--list)\n", rc_cfg.only);
			return 2;
		}
	}
	for (int i = 0; i < RC_LEVELS; i++)
		FS_OK(udax_dev_close(&rc_devr[i], 0));
	FS_OK(udax_dev_close(&rc_dev2, 0));
	free(rc_base_img);
	if (crash.list)
		return 0;
	return crash_test_totals(&crash);
}
