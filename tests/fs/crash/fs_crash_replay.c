/* SPDX-License-Identifier: MIT */
/*
 * fs_crash_recovery, replay/OP: images of fs_crash's operations that hold a
 * committed journal transaction or an orphan are mounted under the
 * explorer (replay writes the records home, mount frees the orphans).
 * Every crash image of that recovery must pass fsck and mount into exactly
 * the state the uninterrupted recovery reached, which is the operation's
 * after-state; images that still hold recovery work are recovered under
 * the explorer again (a crash during the second recovery).
 */
#include <udax/fsck.h>

#include "fs_crash_recovery.h"

/* Every planned image of a source fence recovered, and every image with
 * recovery work recovered again: --long's 64-byte pass.  Its torn pass
 * keeps the default's choice (torn epochs have hundreds of units: every
 * image of them, each recovered twice, takes hours) with long plans. */
static bool every_source(void)
{
	return crash.long_mode && crash.unit_bytes != UDAX_CRASH_WORD;
}

static const char *const replay_levels[] = { "operation", "recovery", "second recovery" };

struct rcv {
	struct cs_state ref;		/* what the uninterrupted recovery reached */
	long recoveries, nested;
};

/* The recovery: mount (replay, orphans freed), capture, unmount. */
static int act_mount(struct udax_dev *d, void *arg)
{
	struct cs_state *st = arg;
	struct udax_fs *fs;
	char why[512];
	int ret = udax_mount(d, 0, NULL, &fs);

	if (ret)
		return ret;
	if (st && cs_capture(fs, st, why, sizeof(why))) {
		fprintf(stderr, "%s: capture after recovery: %s\n", rc_cur, why);
		exit(1);
	}
	return udax_unmount(&fs);
}

/* fsck clean, mount into exactly @ref, create/write/unlink, fsck clean. */
static int check_recovered(struct udax_dev *d, const struct cs_state *ref,
			   struct udax_fsck_report *rep, char *why, size_t len)
{
	struct udax_fsck_report r;
	struct cs_state got;
	struct udax_fs *fs;
	char w[900];
	int ret;

	if (cr_fsck_clean(d, rep, w, sizeof(w)))
		return snprintf(why, len, "fsck before mount: %s", w), -1;
	ret = udax_mount(d, 0, NULL, &fs);
	if (ret)
		return snprintf(why, len, "mount: %d (%s): %s", ret, t_errname(ret),
				udax_fs_last_error()), -1;
	if (cs_capture(fs, &got, w, sizeof(w)))
		snprintf(why, len, "walking the recovered tree: %s", w), ret = -1;
	else if (!cs_match(ref, NULL, 0, &got, w, sizeof(w)))
		snprintf(why, len, "not the state the uninterrupted recovery "
			 "reached: %s", w), ret = -1;
	else if (cr_post_ops(fs, w, sizeof(w)))
		snprintf(why, len, "%s", w), ret = -1;
	cs_free(&got);
	if (udax_unmount(&fs))
		return snprintf(why, len, "unmount: %s", udax_fs_last_error()), -1;
	if (!ret && cr_fsck_clean(d, &r, w, sizeof(w)))
		return snprintf(why, len, "fsck after recovery: %s", w), -1;
	return ret;
}

static void rcv_image(struct udax_crash *c, struct rc_path *p, void *arg)
{
	struct rcv *x = arg;
	struct udax_fsck_report rep;
	struct udax_crash *c2;
	bool work;
	char why[1024];

	crash.images++;
	rc_load(rc_dev2, c, &p->at[p->n - 1]);
	if (check_recovered(rc_dev2, &x->ref, &rep, why, sizeof(why))) {
		rc_report(p, "%s", why);
		return;
	}
	/* Still holding recovery work: crash during the next recovery. */
	work = rep.journal_committed || cr_orphan_seen;
	if (!rc_nest(p, work, &x->nested, every_source() ? 1 : crash.quick ? 25 : 12))
		return;
	rc_load(rc_devr[p->n - 1], c, &p->at[p->n - 1]);
	c2 = rc_record(rc_devr[p->n - 1], act_mount, NULL, p);
	if (!c2)
		return;
	x->recoveries++;
	rc_each_image(c2, p, rcv_image, x);
	udax_crash_delete(&c2);
}

/* The operation's image at @p (on rc_devr[0]): recover it under the explorer. */
static void rcv_source(const struct cr_run *run, struct rc_path *p, struct rcv *x)
{
	struct udax_crash *c;
	unsigned i = cr_step_at(run, p->at[0].k);
	char why[1024];
	bool ok;

	/* Uninterrupted, on a copy: the reference; it must be the after-state
	 * of the step whose transaction (or orphan) is there. */
	rc_load(rc_dev2, run->c, &p->at[0]);
	if (act_mount(rc_dev2, &x->ref)) {
		rc_report(p, "mount: %s", udax_fs_last_error());
		return;
	}
	if (i > run->nsteps)
		ok = cs_match(&run->st[run->nsteps], run->alt[run->nsteps],
			      run->nalt[run->nsteps], &x->ref, why, sizeof(why));
	else
		ok = cs_match(&run->st[i], run->dur[i], run->ndur[i], &x->ref, why,
			      sizeof(why));
	/* Until step i's header replaces it, the committed transaction may
	 * be the one before (its home writes are fenced by the next commit,
	 * src/fs/core/journal.c): its replay gives the before-state. */
	if (!ok && i <= run->nsteps) {
		char why2[1024];

		ok = cs_match(&run->st[i - 1], run->alt[i - 1], run->nalt[i - 1],
			      &x->ref, why2, sizeof(why2));
	}
	if (!ok)
		rc_report(p, "the recovery is not the after-state of step %u: %s",
			  i > run->nsteps ? run->nsteps : i, why);
	rc_load(rc_devr[0], run->c, &p->at[0]);
	c = rc_record(rc_devr[0], act_mount, NULL, p);
	if (c) {
		x->recoveries++;
		rc_each_image(c, p, rcv_image, x);
		udax_crash_delete(&c);
	}
	cs_free(&x->ref);
}

/* Images of @run that hold recovery work: every fence whose "none" image
 * holds a committed transaction; the first that holds only an orphan.
 * Besides "none": every other unit of the epoch (default, single
 * operations), or the whole plan (--long). */
static void rcv_sources(const struct cr_run *run, struct rcv *x, long *nsrc)
{
	uint64_t fences = udax_crash_fences(run->c);
	struct udax_fsck_report rep;
	struct rc_path p = { .n = 1 };
	bool orphan_done = false;
	char why[900];

	for (uint64_t k = 0; k <= fences && !crash.stopping; k++) {
		struct rc_key none = { k, { UDAX_CRASH_PREFIX, 0 } };
		struct udax_crash_epoch e;
		uint64_t n;

		rc_load(rc_dev2, run->c, &none);
		if (cr_fsck_clean(rc_dev2, &rep, why, sizeof(why))) {
			p.at[0] = none;
			rc_report(&p, "fsck of the operation's image: %s", why);
			continue;
		}
		if (!rep.journal_committed && (!cr_orphan_seen || orphan_done))
			continue;
		orphan_done |= !rep.journal_committed;
		FS_OK(udax_crash_epoch(run->c, k, &e));
		n = crash.quick || e.units < 2 || run->nsteps > 1 ? 1 : 2;
		if (every_source())
			n = e.subsets;
		for (uint64_t j = 0; j < n && !crash.stopping; j++) {
			p.at[0].k = k;
			if (every_source())
				FS_OK(udax_crash_subset_nth(run->c, k, j, &p.at[0].s));
			else if (!j)
				p.at[0].s = none.s;
			else if (e.units <= 64)
				p.at[0].s = (struct udax_crash_subset){ UDAX_CRASH_MASK,
					0x5555555555555555ull >> (64 - e.units) };
			else
				p.at[0].s = (struct udax_crash_subset){ UDAX_CRASH_RANDOM,
					0x9e3779b97f4a7c15ull ^ k };
			(*nsrc)++;
			rcv_source(run, &p, x);
		}
	}
}

/* unlink while open, then the last close: an orphan in between. */
static void pre_unlink_open(struct udax_fs *fs)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, "/big", &st));
	cr_orphan_ino = st.ino;
}

static void op_unlink_open(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/big", O_RDWR, 0, &f));
	FS_OK(udax_unlink(fs, "/big"));
	FS_OK(udax_close(&f));
}

const struct cr_scenario rc_unlink_open = {
	"unlink-open", pre_unlink_open,
	{ { "unlink-open", op_unlink_open, NULL, NULL, false } }, false
};

static void record_problem(const struct cr_run *r, const char *msg)
{
	struct rc_path p = { 0 };

	(void)r;
	rc_report(&p, "recording the operation: %s", msg);
}

void rc_replay_case(const struct cr_scenario *sc)
{
	struct udax_crash_opts co = rc_explorer_opts(0);
	struct cr_run run = { .sc = sc };
	struct rcv x = { 0 };
	long img0 = crash.images, fail0 = crash.failures, nsrc = 0;
	char what[80];

	rc_levels = replay_levels;
	cr_record(&run, &co, record_problem);
	if (rc_cfg.replay) {
		struct rc_path p = { .at = { rc_cfg.rp.at[0] }, .n = 1 };

		if (p.at[0].k > udax_crash_fences(run.c)) {
			fprintf(stderr, "%s has fences 0..%" PRIu64 "\n", rc_cur,
				udax_crash_fences(run.c));
			exit(2);
		}
		rcv_source(&run, &p, &x);
		nsrc = 1;
	} else {
		rcv_sources(&run, &x, &nsrc);
	}
	snprintf(what, sizeof(what), "%3ld images recovered, %4ld recoveries", nsrc,
		 x.recoveries);
	rc_case_line(what, img0, fail0);
	cr_run_free(&run);
}
