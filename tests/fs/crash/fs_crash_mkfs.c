/* SPDX-License-Identifier: MIT */
/*
 * fs_crash_recovery, mkfs/X: udax_mkfs over an older file system under the
 * explorer.  Every crash image holds no file system (fsck and mount:
 * -ENODATA), the old one intact, or the complete new one; never one that
 * mount refuses or that mounts with a mix.
 */
#include <udax/fsck.h>

#include "fs_crash_recovery.h"

static const char *const mkfs_levels[] = { "mkfs" };

struct mkfs_ctx {
	const struct udax_mkfs_opts *mo;
	struct cs_state old, new;
};

static int act_mkfs(struct udax_dev *d, void *arg)
{
	struct mkfs_ctx *x = arg;

	return udax_mkfs(d, 0, x->mo);
}

static void capture_dev(struct udax_dev *d, struct cs_state *st)
{
	struct udax_fs *fs = t_fs_mount(d);
	char why[900];

	if (cs_capture(fs, st, why, sizeof(why))) {
		fprintf(stderr, "%s: capture: %s\n", rc_cur, why);
		exit(1);
	}
	FS_OK(udax_unmount(&fs));
}

static void mkfs_image(struct udax_crash *c, struct rc_path *p, void *arg)
{
	struct mkfs_ctx *x = arg;
	struct udax_fsck_report r;
	struct cs_state got;
	struct udax_fs *fs;
	char why[900], w2[900];
	bool old;
	int ret;

	crash.images++;
	rc_load(rc_dev2, c, &p->at[p->n - 1]);
	ret = udax_fsck(rc_dev2, 0, 0, NULL, NULL, &r);
	if (ret == -ENODATA) {
		ret = udax_mount(rc_dev2, 0, NULL, &fs);
		if (ret != -ENODATA)
			rc_report(p, "fsck finds no file system, mount gives %d (%s): %s",
				  ret, t_errname(ret), udax_fs_last_error());
		if (!ret)
			FS_OK(udax_unmount(&fs));
		return;
	}
	if (ret) {
		rc_report(p, "fsck: %d (%s): %s", ret, t_errname(ret), udax_fs_last_error());
		return;
	}
	ret = udax_mount(rc_dev2, 0, NULL, &fs);
	if (ret) {
		rc_report(p, "neither no file system nor a whole one: mount gives %d "
			  "(%s): %s", ret, t_errname(ret), udax_fs_last_error());
		return;
	}
	if (cs_capture(fs, &got, why, sizeof(why))) {
		rc_report(p, "walking the tree: %s", why);
		FS_OK(udax_unmount(&fs));
		return;
	}
	FS_OK(udax_unmount(&fs));
	old = cs_match(&x->old, NULL, 0, &got, why, sizeof(why));
	if (!old && !cs_match(&x->new, NULL, 0, &got, w2, sizeof(w2)))
		rc_report(p, "mounts, but neither the old file system (%s) nor the new "
			  "one (%s)", why, w2);
	cs_free(&got);
	/* Whole but for a superblock copy (the other one being written or
	 * killed): fsck repairs that, into the same tree. */
	rc_load(rc_dev2, c, &p->at[p->n - 1]);
	if (rc_repaired(rc_dev2, old ? &x->old : &x->new, why, sizeof(why)))
		rc_report(p, "the %s file system: %s", old ? "old" : "new", why);
}

void rc_mkfs_case(const struct udax_mkfs_opts *mo)
{
	struct mkfs_ctx x = { .mo = mo };
	struct rc_path p = { 0 };
	struct udax_crash *c;
	long img0 = crash.images, fail0 = crash.failures;
	char what[80];

	rc_levels = mkfs_levels;
	cr_orphan_ino = 0;
	rc_build_base();
	rc_put(rc_dev2, rc_base_img);
	capture_dev(rc_dev2, &x.old);
	rc_put(rc_devr[0], rc_base_img);
	c = rc_record(rc_devr[0], act_mkfs, &x, &p);
	if (c) {
		/* The new one as recorded (mkfs stamps the root's times). */
		capture_dev(rc_devr[0], &x.new);
		snprintf(what, sizeof(what), "%3" PRIu64 " fences", udax_crash_fences(c));
		rc_each_image(c, &p, mkfs_image, &x);
		udax_crash_delete(&c);
		rc_case_line(what, img0, fail0);
	}
	cs_free(&x.old);
	cs_free(&x.new);
}

const struct rc_mkfs rc_mkfs_cases[] = {
	{ "mkfs/same-geometry", { .nr_inodes = 256, .journal_blocks = 64 } },
	{ "mkfs/other-geometry", { .nr_inodes = 64, .journal_blocks = 16, .label = "new" } },
};
const size_t rc_nmkfs_cases = sizeof(rc_mkfs_cases) / sizeof(rc_mkfs_cases[0]);
