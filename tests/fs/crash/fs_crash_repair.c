/* SPDX-License-Identifier: MIT */
/*
 * fs_crash_recovery, repair/X: a damaged image (fs_crash_damage.c) is
 * repaired by udax_fsck(REPAIR) under the explorer.  Every crash image
 * mounts (or is the damaged original, or, for damage that stops mount, is
 * refused as the original is: a repair cut short), a second repair leaves no problem,
 * a check without repair finds none, and the tree is the one the
 * uninterrupted repair produced.
 */
#include <udax/fsck.h>

#include "fs_crash_recovery.h"

static const char *const repair_levels[] = { "repair" };

struct rep_ctx {
	const uint8_t *damaged;
	bool damaged_mounts;		/* the damage leaves an image mount takes */
	struct cs_state ref;		/* the tree after the uninterrupted repair */
};

struct left_ctx {
	char *why;
	size_t len;
};

static void left_cb(const struct udax_fsck_problem *p, void *arg)
{
	struct left_ctx *x = arg;

	if (!p->repaired && !x->why[0])
		snprintf(x->why, x->len, "%s", p->msg);
}

static int act_repair(struct udax_dev *d, void *arg)
{
	struct udax_fsck_report r;

	(void)arg;
	return udax_fsck(d, 0, UDAX_FSCK_REPAIR, NULL, NULL, &r);
}

int rc_repaired(struct udax_dev *d, const struct cs_state *ref, char *why,
		size_t len)
{
	struct udax_fsck_report r;
	struct left_ctx lx = { why, len };
	struct cs_state got;
	struct udax_fs *fs;
	char w[900];
	int ret;

	why[0] = 0;
	ret = udax_fsck(d, 0, UDAX_FSCK_REPAIR, left_cb, &lx, &r);
	if (ret)
		return snprintf(why, len, "fsck REPAIR: %d (%s): %s", ret,
				t_errname(ret), udax_fs_last_error()), -1;
	if (r.repaired != r.problems) {
		snprintf(w, sizeof(w), "%s", why);
		return snprintf(why, len, "fsck REPAIR left %" PRIu64 " of %" PRIu64
				" problems: %s", r.problems - r.repaired, r.problems,
				w), -1;
	}
	if (cr_fsck_clean(d, NULL, w, sizeof(w)))
		return snprintf(why, len, "fsck after REPAIR: %s", w), -1;
	ret = udax_mount(d, 0, NULL, &fs);
	if (ret)
		return snprintf(why, len, "mount after REPAIR: %d (%s): %s", ret,
				t_errname(ret), udax_fs_last_error()), -1;
	if (cs_capture(fs, &got, w, sizeof(w)))
		snprintf(why, len, "walking the repaired tree: %s", w), ret = -1;
	else if (!cs_match(ref, NULL, 0, &got, w, sizeof(w)))
		snprintf(why, len, "not the tree the uninterrupted repair "
			 "produced: %s", w), ret = -1;
	cs_free(&got);
	FS_OK(udax_unmount(&fs));
	return ret;
}

static void repair_image(struct udax_crash *c, struct rc_path *p, void *arg)
{
	struct rep_ctx *x = arg;
	uint8_t *img = rc_dev_addr(rc_dev2);
	struct udax_fs *fs;
	char why[1024];
	int ret;

	crash.images++;
	rc_load(rc_dev2, c, &p->at[p->n - 1]);
	if (memcmp(img, x->damaged, rc_dev_size(rc_dev2))) {
		/* Mounts, unless the damage itself stops mount and the
		 * repair has not reached its commit (then the repair below
		 * must still fix everything). */
		ret = udax_mount(rc_dev2, 0, NULL, &fs);
		if (ret && (x->damaged_mounts || ret != -EUCLEAN)) {
			rc_report(p, "mount: %d (%s): %s", ret, t_errname(ret),
				  udax_fs_last_error());
			return;
		}
		if (!ret)
			FS_OK(udax_unmount(&fs));
		rc_load(rc_dev2, c, &p->at[p->n - 1]);
	}
	if (rc_repaired(rc_dev2, &x->ref, why, sizeof(why)))
		rc_report(p, "%s", why);
}

void rc_repair_case(void (*damage)(uint8_t *img))
{
	struct rep_ctx x = { 0 };
	struct udax_fsck_report r;
	struct rc_path p = { 0 };
	struct udax_crash *c;
	struct udax_fs *fs;
	long img0 = crash.images, fail0 = crash.failures;
	uint8_t *img;
	char why[900], what[80];

	rc_levels = repair_levels;
	cr_orphan_ino = 0;		/* no orphan is a state here */
	rc_build_base();
	img = malloc(rc_dev_size(rc_dev2));
	T_ASSERT(img);
	memcpy(img, rc_base_img, rc_dev_size(rc_dev2));
	damage(img);
	x.damaged = img;
	/* The damage is there, and the uninterrupted repair fixes it all. */
	rc_put(rc_dev2, img);
	if (!udax_mount(rc_dev2, 0, NULL, &fs)) {
		x.damaged_mounts = true;
		FS_OK(udax_unmount(&fs));
		rc_put(rc_dev2, img);	/* the mount reclaimed orphans */
	}
	FS_OK(udax_fsck(rc_dev2, 0, 0, NULL, NULL, &r));
	if (!r.problems && !r.journal_committed)
		rc_report(&p, "fsck finds no damage to repair");
	FS_OK(udax_fsck(rc_dev2, 0, UDAX_FSCK_REPAIR, NULL, NULL, &r));
	if (r.repaired != r.problems)
		rc_report(&p, "the uninterrupted repair left %" PRIu64 " problems",
			  r.problems - r.repaired);
	FS_OK(cr_fsck_clean(rc_dev2, NULL, why, sizeof(why)));
	fs = t_fs_mount(rc_dev2);
	if (cs_capture(fs, &x.ref, why, sizeof(why))) {
		fprintf(stderr, "%s: capture: %s\n", rc_cur, why);
		exit(1);
	}
	FS_OK(udax_unmount(&fs));

	rc_put(rc_devr[0], img);
	c = rc_record(rc_devr[0], act_repair, NULL, &p);
	if (c) {
		snprintf(what, sizeof(what), "%3" PRIu64 " fences", udax_crash_fences(c));
		rc_each_image(c, &p, repair_image, &x);
		udax_crash_delete(&c);
		rc_case_line(what, img0, fail0);
	}
	cs_free(&x.ref);
	free(img);
}
