/* SPDX-License-Identifier: MIT */
/*
 * fs_crash_recovery: recording an action (a recovery, a repair, mkfs) under
 * the crash-state explorer and walking its crash images, each one's crash
 * point appended to the path that leads to it (fs_crash_recovery.h).
 */
#include "fs_crash_recovery.h"

/* Sampled epochs: long mode plans every structured family; the default
 * prefixes and singles, except for a crash during a crash's recovery
 * (level 2 on); quick none of them. */
struct udax_crash_opts rc_explorer_opts(unsigned level)
{
	return (struct udax_crash_opts){
		.exhaustive_max = crash.long_mode ? 12 : 6,
		.samples = crash.long_mode ? 256 : 8,
		.seed = 0x5eed, .flags = crash_test_plan_flags(&crash, level >= 2),
		.unit_bytes = crash.unit_bytes,
	};
}

void *rc_dev_addr(struct udax_dev *d)
{
	struct udax_dev_info info;

	FS_OK(udax_dev_info(d, &info));
	return info.addr;
}

uint64_t rc_dev_size(struct udax_dev *d)
{
	struct udax_dev_info info;

	FS_OK(udax_dev_info(d, &info));
	return info.size;
}

void rc_put(struct udax_dev *d, const void *bytes)
{
	memcpy(rc_dev_addr(d), bytes, rc_dev_size(d));
	T_ASSERT(udax_dev_part_read(d) == 1);
}

void rc_load(struct udax_dev *d, struct udax_crash *c, const struct rc_key *key)
{
	FS_OK(udax_crash_image(c, key->k, &key->s, rc_dev_addr(d)));
	if (udax_dev_part_read(d) != 1) {
		fprintf(stderr, "%s: crash image without its partition table: %s\n",
			rc_cur, udax_dev_last_error());
		exit(1);
	}
}

struct udax_crash *rc_record(struct udax_dev *d, rc_act_fn act, void *arg,
			     const struct rc_path *p)
{
	struct udax_crash_opts co = rc_explorer_opts(p->n);
	struct udax_crash_range rg[8];
	struct udax_crash *c;
	long n;
	int ret;

	FS_OK(udax_crash_new(d, &co, &c));
	ret = act(d, arg);
	FS_OK(udax_crash_stop(c));
	if (ret) {
		rc_report(p, "the %s itself failed: %d (%s): %s", rc_levels[p->n], ret,
			  t_errname(ret), udax_fs_last_error());
		udax_crash_delete(&c);
		return NULL;
	}
	n = udax_crash_unflushed(c, rg, 8);
	FS_OK(n);
	for (long j = 0; j < n && j < 8; j++)
		rc_report(p, "the %s stored device bytes [%" PRIu64 ", +%" PRIu64 ") and "
			  "never flushed them", rc_levels[p->n], rg[j].off, rg[j].len);
	if (n) {
		udax_crash_delete(&c);
		return NULL;
	}
	return c;
}

void rc_each_image(struct udax_crash *c, struct rc_path *p, rc_img_fn fn, void *arg)
{
	uint64_t fences = udax_crash_fences(c);

	if (rc_cfg.replay) {
		if (p->n >= rc_cfg.rp.n)
			return;
		if (rc_cfg.rp.at[p->n].k > fences) {
			fprintf(stderr, "%s: the %s has fences 0..%" PRIu64 "\n", rc_cur,
				rc_levels[p->n], fences);
			exit(2);
		}
		p->at[p->n] = rc_cfg.rp.at[p->n];
		p->n++;
		fn(c, p, arg);
		p->n--;
		return;
	}
	for (uint64_t k = 0; k <= fences && !crash.stopping; k++) {
		struct udax_crash_epoch e;

		FS_OK(udax_crash_epoch(c, k, &e));
		for (uint64_t j = 0; j < e.subsets && !crash.stopping; j++) {
			p->at[p->n].k = k;
			FS_OK(udax_crash_subset_nth(c, k, j, &p->at[p->n].s));
			p->n++;
			fn(c, p, arg);
			p->n--;
		}
	}
}

bool rc_nest(const struct rc_path *p, bool qualifies, long *count, long every)
{
	if (rc_cfg.replay)
		return p->n < rc_cfg.rp.n;
	return p->n < RC_LEVELS && qualifies && (*count)++ % every == 0;
}
