/* SPDX-License-Identifier: MIT */
/*
 * fs_crash_recovery: crashes during recovery, fsck repair and mkfs.  The
 * driver (fs_crash_recovery.c: options, cases, failures, totals) and its
 * parts: fs_crash_walk.c records an action under the explorer and walks
 * its crash images, nesting a crash into the recovery of one;
 * fs_crash_replay.c has the replay/OP cases, fs_crash_damage.c the base
 * tree and its damage, fs_crash_repair.c the repair/X cases and
 * fs_crash_mkfs.c the mkfs/X ones.
 */
#ifndef UDAX_FS_CRASH_RECOVERY_H
#define UDAX_FS_CRASH_RECOVERY_H

#include <inttypes.h>
#include <udax/crash.h>

#include "crash_util.h"
#include "fs_crash.h"
#include "fs_util.h"

/* ---- the driver (fs_crash_recovery.c) ------------------------------------------- */

#define RC_LEVELS	3

struct rc_key {
	uint64_t k;
	struct udax_crash_subset s;
};

/* Crash points, outermost first. */
struct rc_path {
	struct rc_key at[RC_LEVELS];
	unsigned n;
};

extern struct crash_test crash;		/* mode, pass, images and failures */

extern struct rc_cfg {
	bool replay;			/* --at */
	const char *only;		/* --case */
	struct rc_path rp;		/* --at */
} rc_cfg;

extern const char *rc_cur;		/* the case */
extern const char *const *rc_levels;	/* what each crash point interrupts */
extern struct udax_dev *rc_dev2;	/* where images are checked */
extern struct udax_dev *rc_devr[RC_LEVELS]; /* where level i's action is recorded */

/* A failure at @p, with the line that replays it (stopping after
 * --max-failures of them). */
void rc_report(const struct rc_path *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A case's output line: @what, its images and whether it failed. */
void rc_case_line(const char *what, long img0, long fail0);

/* ---- recording an action, walking its crash images (fs_crash_walk.c) ------------ */

/* What the explorer plans for a crash at @level (0: the outermost). */
struct udax_crash_opts rc_explorer_opts(unsigned level);
void *rc_dev_addr(struct udax_dev *d);
uint64_t rc_dev_size(struct udax_dev *d);
/* Put @bytes (a whole device) on @d and read its partition table again. */
void rc_put(struct udax_dev *d, const void *bytes);
/* Crash image @key of @c on @d. */
void rc_load(struct udax_dev *d, struct udax_crash *c, const struct rc_key *key);

typedef int (*rc_act_fn)(struct udax_dev *dev, void *arg);
/*
 * Run @act on @d (holding the image to recover) under an explorer.  NULL
 * when the action failed or left stores unflushed (reported at @p).
 */
struct udax_crash *rc_record(struct udax_dev *d, rc_act_fn act, void *arg,
			     const struct rc_path *p);

typedef void (*rc_img_fn)(struct udax_crash *c, struct rc_path *p, void *arg);
/* @fn for every planned crash image of @c (only the replayed one with
 * --at), with its key appended to @p. */
void rc_each_image(struct udax_crash *c, struct rc_path *p, rc_img_fn fn, void *arg);
/* Whether the image at @p gets its own recovery recorded (a crash during
 * it): in replays, where the path goes on; else every @every-th image
 * that qualifies. */
bool rc_nest(const struct rc_path *p, bool qualifies, long *count, long every);

/* ---- the cases ---------------------------------------------------------------------- */

/* replay/OP (fs_crash_replay.c): fs_crash's scenarios and this one. */
extern const struct cr_scenario rc_unlink_open;
void rc_replay_case(const struct cr_scenario *sc);

/* The base tree, unmounted: a whole device (fs_crash_damage.c). */
extern uint8_t *rc_base_img;
void rc_build_base(void);

struct rc_damage {
	const char *name;		/* repair/X */
	void (*damage)(uint8_t *img);	/* to a copy of rc_base_img */
};
extern const struct rc_damage rc_damages[];
extern const size_t rc_ndamages;

/* repair/X (fs_crash_repair.c). */
void rc_repair_case(void (*damage)(uint8_t *img));
/* REPAIR leaves nothing, a check finds nothing, the tree is @ref: 0, or
 * -1 with @why. */
int rc_repaired(struct udax_dev *d, const struct cs_state *ref, char *why,
		size_t len);

/* mkfs/X (fs_crash_mkfs.c). */
struct rc_mkfs {
	const char *name;
	struct udax_mkfs_opts mo;
};
extern const struct rc_mkfs rc_mkfs_cases[];
extern const size_t rc_nmkfs_cases;
void rc_mkfs_case(const struct udax_mkfs_opts *mo);

#endif
