/* SPDX-License-Identifier: MIT */
/*
 * fs_crash helpers shared with fs_crash_recovery: record a scenario under
 * the crash-state explorer (states, alternatives, fences), fsck an image
 * (an orphan of a file unlinked while open is a state, not damage), and
 * check that a recovered fs works and gives every block back.
 */
#include <inttypes.h>
#include <udax/crash.h>
#include <udax/fsck.h>

#include "redo_util.h"
#include "fs_crash.h"
#include "fs_util.h"

#define BS	4096

static void alt_add(struct cs_alt **a, size_t *n, const struct cs_alt *x)
{
	*a = realloc(*a, (*n + 1) * sizeof(**a));
	T_ASSERT(*a);
	(*a)[(*n)++] = *x;
}

/* A_i and D_i from A_{i-1} and the step (see fs_crash.h). */
static void alt_step(struct cr_run *r, unsigned i, const struct cr_step *st)
{
	const struct cs_ent *e;

	for (size_t j = 0; j < r->nalt[i - 1]; j++)
		alt_add(&r->dur[i], &r->ndur[i], &r->alt[i - 1][j]);
	if (st->torn) {
		e = cs_find(&r->st[i - 1], st->torn);
		T_ASSERT(e && e->data);
		alt_add(&r->dur[i], &r->ndur[i],
			&(struct cs_alt){ e->ino, e->data, e->size });
	}
	e = st->sync ? cs_find(&r->st[i], st->sync) : NULL;
	T_ASSERT(!st->sync || e);
	for (size_t j = 0; j < r->ndur[i]; j++)
		if (!e || r->dur[i][j].ino != e->ino)
			alt_add(&r->alt[i], &r->nalt[i], &r->dur[i][j]);
}

static void capture_or_exit(const struct cr_run *r, struct udax_fs *fs,
			    struct cs_state *st)
{
	char why[512];

	if (cs_capture(fs, st, why, sizeof(why))) {
		fprintf(stderr, "%s: capture: %s\n", r->sc->name, why);
		exit(1);
	}
}

void cr_record(struct cr_run *r, const struct udax_crash_opts *co,
	       void (*problem)(const struct cr_run *r, const char *msg))
{
	struct udax_mkfs_opts mo = { .nr_inodes = 256, .journal_blocks = 64 };
	struct udax_dev *dev = t_fs_dev(CR_DEVSPEC);
	struct udax_crash_range rg[8];
	struct udax_fs *fs;
	char why[512], msg[700];

	r->nsteps = 0;
	while (r->nsteps < CR_MAX_STEPS && r->sc->steps[r->nsteps].fn)
		r->nsteps++;
	cr_orphan_ino = 0;
	FS_OK(udax_mkfs(dev, 0, &mo));
	fs = t_fs_mount(dev);
	cr_setup(fs);
	if (r->sc->pre)
		r->sc->pre(fs);
	capture_or_exit(r, fs, &r->st[0]);
	FS_OK(udax_crash_new(dev, co, &r->c));
	for (unsigned i = 1; i <= r->nsteps; i++) {
		const struct cr_step *st = &r->sc->steps[i - 1];
		long n;

		st->fn(fs);
		r->fence[i] = udax_crash_fences(r->c);
		/* Unflushed stores are a bug unless the committed journal
		 * transaction redoes them (a commit's home writes). */
		n = t_unflushed_unredone(r->c, fs, rg, 8);
		for (long j = 0; j < n && j < 8; j++) {
			snprintf(msg, sizeof(msg), "step %u (%s): device bytes [%" PRIu64
				 ", +%" PRIu64 ") were stored, not flushed and not "
				 "in the committed journal transaction: lost on "
				 "power failure", i, st->what, rg[j].off, rg[j].len);
			problem(r, msg);
		}
		capture_or_exit(r, fs, &r->st[i]);
		/* A step that changes nothing would check nothing. */
		if (cs_match(&r->st[i - 1], NULL, 0, &r->st[i], why, sizeof(why)) != st->same) {
			snprintf(msg, sizeof(msg), "step %u (%s) %s the state", i,
				 st->what, st->same ? "changed" : "did not change");
			problem(r, msg);
		}
		alt_step(r, i, st);
	}
	FS_OK(udax_crash_stop(r->c));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
}

void cr_run_free(struct cr_run *r)
{
	for (unsigned i = 0; i <= r->nsteps; i++) {
		cs_free(&r->st[i]);
		free(r->alt[i]);
		free(r->dur[i]);
		r->alt[i] = r->dur[i] = NULL;
		r->nalt[i] = r->ndur[i] = 0;
	}
	udax_crash_delete(&r->c);
}

unsigned cr_step_at(const struct cr_run *r, uint64_t k)
{
	unsigned i;

	for (i = 1; i <= r->nsteps && k >= r->fence[i]; i++)
		;
	return i;
}

/* ---- checking an image ------------------------------------------------------------ */

bool cr_orphan_seen;

struct fsck_ctx {
	char *why;
	size_t len;
	unsigned n;
};

static void fsck_cb(const struct udax_fsck_problem *p, void *arg)
{
	struct fsck_ctx *x = arg;

	/* A file unlinked while open is an orphan in every crash image
	 * until mount frees it: a state, not damage. */
	if (p->area == UDAX_FSCK_LINK && cr_orphan_ino && p->ino == cr_orphan_ino) {
		cr_orphan_seen = true;
		return;
	}
	if (!x->n++)
		snprintf(x->why, x->len, "%s", p->msg);
}

int cr_fsck_clean(struct udax_dev *dev, struct udax_fsck_report *rep,
		  char *why, size_t len)
{
	struct fsck_ctx x = { why, len, 0 };
	struct udax_fsck_report r;
	int ret;

	cr_orphan_seen = false;
	ret = udax_fsck(dev, 0, 0, fsck_cb, &x, rep ? rep : &r);
	if (ret < 0) {
		snprintf(why, len, "udax_fsck: %d (%s): %s", ret, t_errname(ret),
			 udax_fs_last_error());
		return ret;
	}
	if (x.n > 1 && strlen(why) + 40 < len)
		snprintf(why + strlen(why), len - strlen(why), " (and %u more)", x.n - 1);
	return x.n ? -EUCLEAN : 0;
}

int cr_post_ops(struct udax_fs *fs, char *why, size_t len)
{
	static uint8_t data[5 * BS];
	struct udax_statfs s0, s1;
	struct udax_file *f;
	int ret;

	ret = udax_statfs(fs, &s0);
	if (!ret)
		ret = udax_open(fs, "/zz-post", O_RDWR | O_CREAT | O_EXCL, 0644, &f);
	if (!ret) {
		ssize_t w = udax_pwrite(f, data, sizeof(data), 0);

		ret = udax_close(&f);
		if (w != (ssize_t)sizeof(data))
			ret = w < 0 ? (int)w : -EIO;
	}
	if (!ret)
		ret = udax_unlink(fs, "/zz-post");
	if (!ret)
		ret = udax_statfs(fs, &s1);
	if (ret) {
		snprintf(why, len, "create/write/unlink after recovery: %d (%s): %s",
			 ret, t_errname(ret), udax_fs_last_error());
		return ret;
	}
	if (s0.blocks_free != s1.blocks_free || s0.inodes_free != s1.inodes_free) {
		snprintf(why, len, "free blocks %llu inodes %llu after create/write/"
			 "unlink, %llu %llu before", (unsigned long long)s1.blocks_free,
			 (unsigned long long)s1.inodes_free,
			 (unsigned long long)s0.blocks_free,
			 (unsigned long long)s0.inodes_free);
		return -EUCLEAN;
	}
	return 0;
}
