/* SPDX-License-Identifier: MIT */
/*
 * fs_crash: the file system under the crash-state explorer (fs_crash.c
 * drives it; fs_crash_state.c captures and compares trees; fs_crash_ops.c
 * has the pre-state, the operations and the workloads).
 */
#ifndef UDAX_FS_CRASH_H
#define UDAX_FS_CRASH_H

#include <stdbool.h>
#include <stdint.h>
#include <udax/fs.h>

/* ---- a file system tree, as the test sees it --------------------------------- */

struct cs_ent {
	char *path;
	uint32_t ino, mode, nlink, uid, gid;
	uint64_t size, blocks;
	int64_t atime, mtime;		/* ns */
	uint64_t rdev;
	uint8_t *data;			/* regular files: size bytes; links: the target */
	uint8_t *xattr;			/* names then values, as listed */
	size_t xlen;
};

struct cs_state {
	struct cs_ent *e;		/* sorted by path, "/" first */
	size_t n;
	uint64_t blocks_free, inodes_free;
};

/* Another content a file may show per byte (a torn, unsynced overwrite). */
struct cs_alt {
	uint32_t ino;
	const uint8_t *data;
	uint64_t len;
};

/* Capture the whole tree; 0, or -errno with a message in @why. */
int cs_capture(struct udax_fs *fs, struct cs_state *st, char *why, size_t len);
/* Only directory @dir and what is under it; free counts left zero (a
 * subtree has none: they cannot be compared per subtree). */
int cs_capture_at(struct udax_fs *fs, const char *dir, struct cs_state *st,
		  char *why, size_t len);
void cs_free(struct cs_state *st);
/*
 * Does @got match @want?  Files with alternatives match per byte (each byte
 * is want's or one alternative's); their times are not compared (in-place
 * writes update them lazily).  No: false with the first difference in @why.
 */
bool cs_match(const struct cs_state *want, const struct cs_alt *alt,
	      size_t nalt, const struct cs_state *got, char *why, size_t len);
const struct cs_ent *cs_find(const struct cs_state *st, const char *path);

/* ---- scenarios --------------------------------------------------------------------- */

struct cr_step {
	const char *what;
	void (*fn)(struct udax_fs *fs);		/* must succeed (FS_OK) */
	/* The step overwrites this file in place: until a later sync, each
	 * of its bytes may be the old or the new one. */
	const char *torn;
	/* The step ends with fsync/fdatasync of this file: from its end on,
	 * every byte of it must be exactly as written. */
	const char *sync;
	bool same;				/* changes nothing visible */
};

#define CR_MAX_STEPS	24

struct cr_scenario {
	const char *name;			/* --op NAME */
	void (*pre)(struct udax_fs *fs);	/* after the setup, unrecorded */
	struct cr_step steps[CR_MAX_STEPS];
	bool long_only;				/* only with --long */
};

extern const struct cr_scenario cr_scenarios[];
extern const size_t cr_nscenarios;

/* The inode a scenario left unlinked but open before recording: an orphan
 * in crash images (fsck reports it; mount frees it), or 0. */
extern uint32_t cr_orphan_ino;

/* The pre-state every scenario starts from. */
void cr_setup(struct udax_fs *fs);

/* ---- recording a scenario, checking an image (fs_crash_run.c) ------------------- */

struct udax_crash;
struct udax_crash_opts;
struct udax_dev;
struct udax_fsck_report;

#define CR_DEVSPEC	"mem:8M"

/* One scenario, recorded: its states, alternatives and fences. */
struct cr_run {
	const struct cr_scenario *sc;
	unsigned nsteps;
	struct cs_state st[CR_MAX_STEPS + 1];	/* after step i (0: before) */
	struct cs_alt *alt[CR_MAX_STEPS + 1];	/* A_i: still unsynced */
	size_t nalt[CR_MAX_STEPS + 1];
	struct cs_alt *dur[CR_MAX_STEPS + 1];	/* D_i: during step i */
	size_t ndur[CR_MAX_STEPS + 1];
	uint64_t fence[CR_MAX_STEPS + 1];	/* fences after step i */
	struct udax_crash *c;
	struct udax_dev *dev2;			/* where images are checked */
};

/*
 * mkfs a CR_DEVSPEC device, cr_setup, the scenario's pre, then run its
 * steps under an explorer made with @co.  A step that leaves stores
 * unflushed, or changes the state when it should not (or the reverse),
 * goes to @problem; an operation that fails exits.
 */
void cr_record(struct cr_run *r, const struct udax_crash_opts *co,
	       void (*problem)(const struct cr_run *r, const char *msg));
void cr_run_free(struct cr_run *r);
/* The step in progress at fence @k (1..nsteps), nsteps + 1 after the last. */
unsigned cr_step_at(const struct cr_run *r, uint64_t k);

/*
 * udax_fsck without repair: 0 when it ran and found nothing but the
 * orphan cr_orphan_ino (a state, not damage); -EUCLEAN with the first
 * problem in @why; or fsck's error.  @rep may be NULL.
 */
int cr_fsck_clean(struct udax_dev *dev, struct udax_fsck_report *rep,
		  char *why, size_t len);
/* Whether the last cr_fsck_clean() saw the orphan cr_orphan_ino. */
extern bool cr_orphan_seen;
/* The recovered fs creates, writes and unlinks a file and gives every
 * block and inode back: 0, or -errno with @why. */
int cr_post_ops(struct udax_fs *fs, char *why, size_t len);

#endif
