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
 * (The partition table's crashes are tests/dev_crash_part.c.)
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
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <udax/crash.h>
#include <udax/fsck.h>

#include "fs/core.h"
#include "fs_crash.h"
#include "fs_util.h"

#define LEVELS	3

struct key {
	uint64_t k;
	struct udax_crash_subset s;
};

/* Crash points, outermost first. */
struct path {
	struct key at[LEVELS];
	unsigned n;
};

static struct {
	bool long_mode, quick, list, replay;
	int torn;			/* 1 --torn, 0 --no-torn, -1 the mode's */
	const char *only;
	struct path rp;			/* --at */
	long max_failures;
	const char *argv0;
} cfg = { .max_failures = 10, .torn = -1 };

static long images, failures;
static bool stopping;
static const char *cur;			/* the case */
static const char *const *levels;	/* what each crash point interrupts */
static unsigned unit_bytes;		/* of the pass under way */

/* Every planned image of a source fence recovered, and every image with
 * recovery work recovered again: --long's 64-byte pass.  Its torn pass
 * keeps the default's choice (torn epochs have hundreds of units: every
 * image of them, each recovered twice, takes hours) with long plans. */
static bool every_source(void)
{
	return cfg.long_mode && unit_bytes != UDAX_CRASH_WORD;
}
static bool torn_subset;		/* the pass runs torn_ci[] only */

/* The torn pass of the default mode: a crash in the replay of a new inode
 * and entry, of a freed extent chain and of an fsync'd append, in the
 * repair of a committed journal and of a superblock copy, and in mkfs
 * (the superblock magic written last) - every case is --long's or --torn's. */
static const char *const torn_ci[] = {
	"replay/create", "replay/unlink-chain", "replay/append-fdatasync",
	"repair/journal", "repair/super-b", "mkfs/same-geometry",
	"mkfs/other-geometry",
};

static struct udax_dev *dev2;		/* where images are checked */
static struct udax_dev *devr[LEVELS];	/* where level i's action is recorded */

/* ---- failures and replay lines -------------------------------------------------- */

static void report(const struct path *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(const struct path *p, const char *fmt, ...)
{
	char sub[64];
	va_list ap;

	failures++;
	fprintf(stderr, "FAIL %s", cur);
	for (unsigned i = 0; i < p->n; i++) {
		udax_crash_subset_format(&p->at[i].s, sub, sizeof(sub));
		fprintf(stderr, "%s %s fence %" PRIu64 " subset %s", i ? " >" : ":",
			levels[i], p->at[i].k, sub);
	}
	fprintf(stderr, ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  replay: %s%s%s --case %s", cfg.argv0,
		cfg.long_mode ? " --long" : "",
		unit_bytes == UDAX_CRASH_WORD ? " --torn" : "", cur);
	for (unsigned i = 0; i < p->n; i++) {
		udax_crash_subset_format(&p->at[i].s, sub, sizeof(sub));
		fprintf(stderr, "%s%" PRIu64 ":%s", i ? "," : " --at ", p->at[i].k, sub);
	}
	fprintf(stderr, "\n");
	if (cfg.max_failures && failures >= cfg.max_failures)
		stopping = true;
}

/* ---- recording an action, walking its crash images -------------------------------- */

/* Sampled epochs: long mode plans every structured family; the default
 * prefixes and singles, except for a crash during a crash's recovery
 * (level 2 on); quick none of them. */
static unsigned plan_flags(unsigned level)
{
	if (cfg.long_mode)
		return 0;
	if (cfg.quick || level >= 2)
		return UDAX_CRASH_NO_PREFIXES | UDAX_CRASH_NO_SINGLES |
		       UDAX_CRASH_NO_ALL_BUT;
	return UDAX_CRASH_NO_ALL_BUT;
}

static struct udax_crash_opts explorer_opts(unsigned level)
{
	return (struct udax_crash_opts){
		.exhaustive_max = cfg.long_mode ? 12 : 6,
		.samples = cfg.long_mode ? 256 : 8,
		.seed = 0x5eed, .flags = plan_flags(level), .unit_bytes = unit_bytes,
	};
}

static void *dev_addr(struct udax_dev *d)
{
	struct udax_dev_info info;

	FS_OK(udax_dev_info(d, &info));
	return info.addr;
}

static uint64_t dev_size(struct udax_dev *d)
{
	struct udax_dev_info info;

	FS_OK(udax_dev_info(d, &info));
	return info.size;
}

/* Put @bytes (a whole device) on @d and read its partition table again. */
static void put(struct udax_dev *d, const void *bytes)
{
	memcpy(dev_addr(d), bytes, dev_size(d));
	T_ASSERT(udax_dev_part_read(d) == 1);
}

/* Crash image @key of @c on @d. */
static void load(struct udax_dev *d, struct udax_crash *c, const struct key *key)
{
	FS_OK(udax_crash_image(c, key->k, &key->s, dev_addr(d)));
	if (udax_dev_part_read(d) != 1) {
		fprintf(stderr, "%s: crash image without its partition table: %s\n",
			cur, udax_dev_last_error());
		exit(1);
	}
}

typedef int (*act_fn)(struct udax_dev *dev, void *arg);

/*
 * Run @act on @d (holding the image to recover) under an explorer.  NULL
 * when the action failed or left stores unflushed (reported at @p).
 */
static struct udax_crash *record(struct udax_dev *d, act_fn act, void *arg,
				 const struct path *p)
{
	struct udax_crash_opts co = explorer_opts(p->n);
	struct udax_crash_range rg[8];
	struct udax_crash *c;
	long n;
	int ret;

	FS_OK(udax_crash_new(d, &co, &c));
	ret = act(d, arg);
	FS_OK(udax_crash_stop(c));
	if (ret) {
		report(p, "the %s itself failed: %d (%s): %s", levels[p->n], ret,
		       t_errname(ret), udax_fs_last_error());
		udax_crash_delete(&c);
		return NULL;
	}
	n = udax_crash_unflushed(c, rg, 8);
	FS_OK(n);
	for (long j = 0; j < n && j < 8; j++)
		report(p, "the %s stored device bytes [%" PRIu64 ", +%" PRIu64 ") and "
		       "never flushed them", levels[p->n], rg[j].off, rg[j].len);
	if (n) {
		udax_crash_delete(&c);
		return NULL;
	}
	return c;
}

typedef void (*img_fn)(struct udax_crash *c, struct path *p, void *arg);

/* @fn for every planned crash image of @c (only the replayed one with
 * --at), with its key appended to @p. */
static void each_image(struct udax_crash *c, struct path *p, img_fn fn, void *arg)
{
	uint64_t fences = udax_crash_fences(c);

	if (cfg.replay) {
		if (p->n >= cfg.rp.n)
			return;
		if (cfg.rp.at[p->n].k > fences) {
			fprintf(stderr, "%s: the %s has fences 0..%" PRIu64 "\n", cur,
				levels[p->n], fences);
			exit(2);
		}
		p->at[p->n] = cfg.rp.at[p->n];
		p->n++;
		fn(c, p, arg);
		p->n--;
		return;
	}
	for (uint64_t k = 0; k <= fences && !stopping; k++) {
		struct udax_crash_epoch e;

		FS_OK(udax_crash_epoch(c, k, &e));
		for (uint64_t j = 0; j < e.subsets && !stopping; j++) {
			p->at[p->n].k = k;
			FS_OK(udax_crash_subset_nth(c, k, j, &p->at[p->n].s));
			p->n++;
			fn(c, p, arg);
			p->n--;
		}
	}
}

/* Whether the image at @p gets its own recovery recorded (a crash during
 * it): in replays, where the path goes on; else every @every-th image
 * that qualifies. */
static bool nest(const struct path *p, bool qualifies, long *count, long every)
{
	if (cfg.replay)
		return p->n < cfg.rp.n;
	return p->n < LEVELS && qualifies && (*count)++ % every == 0;
}

static void case_line(const char *what, long img0, long fail0)
{
	printf("%-28s %-44s %6ld images%s\n", cur, what, images - img0,
	       failures > fail0 ? "  FAILED" : "");
	fflush(stdout);
}

/* ---- replay/OP: crash during journal replay and orphan freeing ------------------- */

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
		fprintf(stderr, "%s: capture after recovery: %s\n", cur, why);
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

static void rcv_image(struct udax_crash *c, struct path *p, void *arg)
{
	struct rcv *x = arg;
	struct udax_fsck_report rep;
	struct udax_crash *c2;
	bool work;
	char why[1024];

	images++;
	load(dev2, c, &p->at[p->n - 1]);
	if (check_recovered(dev2, &x->ref, &rep, why, sizeof(why))) {
		report(p, "%s", why);
		return;
	}
	/* Still holding recovery work: crash during the next recovery. */
	work = rep.journal_committed || cr_orphan_seen;
	if (!nest(p, work, &x->nested, every_source() ? 1 : cfg.quick ? 25 : 12))
		return;
	load(devr[p->n - 1], c, &p->at[p->n - 1]);
	c2 = record(devr[p->n - 1], act_mount, NULL, p);
	if (!c2)
		return;
	x->recoveries++;
	each_image(c2, p, rcv_image, x);
	udax_crash_delete(&c2);
}

/* The operation's image at @p (on devr[0]): recover it under the explorer. */
static void rcv_source(const struct cr_run *run, struct path *p, struct rcv *x)
{
	struct udax_crash *c;
	unsigned i = cr_step_at(run, p->at[0].k);
	char why[1024];
	bool ok;

	/* Uninterrupted, on a copy: the reference; it must be the after-state
	 * of the step whose transaction (or orphan) is there. */
	load(dev2, run->c, &p->at[0]);
	if (act_mount(dev2, &x->ref)) {
		report(p, "mount: %s", udax_fs_last_error());
		return;
	}
	if (i > run->nsteps)
		ok = cs_match(&run->st[run->nsteps], run->alt[run->nsteps],
			      run->nalt[run->nsteps], &x->ref, why, sizeof(why));
	else
		ok = cs_match(&run->st[i], run->dur[i], run->ndur[i], &x->ref, why,
			      sizeof(why));
	if (!ok)
		report(p, "the recovery is not the after-state of step %u: %s",
		       i > run->nsteps ? run->nsteps : i, why);
	load(devr[0], run->c, &p->at[0]);
	c = record(devr[0], act_mount, NULL, p);
	if (c) {
		x->recoveries++;
		each_image(c, p, rcv_image, x);
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
	struct path p = { .n = 1 };
	bool orphan_done = false;
	char why[900];

	for (uint64_t k = 0; k <= fences && !stopping; k++) {
		struct key none = { k, { UDAX_CRASH_PREFIX, 0 } };
		struct udax_crash_epoch e;
		uint64_t n;

		load(dev2, run->c, &none);
		if (cr_fsck_clean(dev2, &rep, why, sizeof(why))) {
			p.at[0] = none;
			report(&p, "fsck of the operation's image: %s", why);
			continue;
		}
		if (!rep.journal_committed && (!cr_orphan_seen || orphan_done))
			continue;
		orphan_done |= !rep.journal_committed;
		FS_OK(udax_crash_epoch(run->c, k, &e));
		n = cfg.quick || e.units < 2 || run->nsteps > 1 ? 1 : 2;
		if (every_source())
			n = e.subsets;
		for (uint64_t j = 0; j < n && !stopping; j++) {
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

static const struct cr_scenario unlink_open = {
	"unlink-open", pre_unlink_open,
	{ { "unlink-open", op_unlink_open, NULL, NULL, false } }, false
};

static void record_problem(const struct cr_run *r, const char *msg)
{
	struct path p = { 0 };

	(void)r;
	report(&p, "recording the operation: %s", msg);
}

static void replay_case(const struct cr_scenario *sc)
{
	struct udax_crash_opts co = explorer_opts(0);
	struct cr_run run = { .sc = sc };
	struct rcv x = { 0 };
	long img0 = images, fail0 = failures, nsrc = 0;
	char what[80];

	levels = replay_levels;
	cr_record(&run, &co, record_problem);
	if (cfg.replay) {
		struct path p = { .at = { cfg.rp.at[0] }, .n = 1 };

		if (p.at[0].k > udax_crash_fences(run.c)) {
			fprintf(stderr, "%s has fences 0..%" PRIu64 "\n", cur,
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
	case_line(what, img0, fail0);
	cr_run_free(&run);
}

/* ---- damaged images: the base tree and its media ------------------------------------ */

static uint8_t *base_img;		/* a whole device: the base tree, unmounted */
static struct fs_dsuper sb;
static uint32_t i_a, i_b, i_big, i_d, i_dsub;

static uint8_t *part_of(uint8_t *img)
{
	struct udax_part_info pi;

	FS_OK(udax_dev_part(dev2, 0, &pi));
	return img + pi.offset;
}

static struct fs_dinode *dinode(uint8_t *img, uint32_t ino)
{
	return (void *)(part_of(img) + sb.itable_start * FS_BS + ino * 256ull);
}

static void fix_inode(uint8_t *img, uint32_t ino)
{
	dinode(img, ino)->crc = udax_crc32c(ino, dinode(img, ino), 252);
}

/* The entry @name in the first block of directory @dir; fix_dir after. */
static struct fs_ddirent *dirent_of(uint8_t *img, uint32_t dir, const char *name)
{
	uint8_t *blk = part_of(img) + dinode(img, dir)->ext[0].pblk * FS_BS;

	for (uint32_t off = 16; off < FS_BS;) {
		struct fs_ddirent *e = (void *)(blk + off);

		if (e->ino && e->name_len == strlen(name) &&
		    !memcmp(e->name, name, e->name_len))
			return e;
		T_ASSERT(e->rec_len >= 8);
		off += e->rec_len;
	}
	fprintf(stderr, "no entry %s in directory %u\n", name, dir);
	exit(1);
}

static void fix_dir(uint8_t *img, uint32_t dir)
{
	uint8_t *blk = part_of(img) + dinode(img, dir)->ext[0].pblk * FS_BS;

	((uint32_t *)blk)[1] = udax_crc32c(dir, blk + 8, FS_BS - 8);
}

static uint32_t ino_of(struct udax_fs *fs, const char *path)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, path, &st));
	return st.ino;
}

/* cr_setup's tree, a hard link and a subdirectory, unmounted on dev2. */
static void build_base(void)
{
	struct udax_mkfs_opts mo = { .nr_inodes = 256, .journal_blocks = 64 };
	struct udax_fs *fs;

	if (base_img)
		return;
	FS_OK(udax_mkfs(dev2, 0, &mo));
	fs = t_fs_mount(dev2);
	cr_setup(fs);
	FS_OK(udax_link(fs, "/b", "/d/b2"));
	FS_OK(udax_mkdir(fs, "/d/sub", 0750));
	i_a = ino_of(fs, "/a");
	i_b = ino_of(fs, "/b");
	i_big = ino_of(fs, "/big");
	i_d = ino_of(fs, "/d");
	i_dsub = ino_of(fs, "/d/sub");
	FS_OK(udax_unmount(&fs));
	base_img = malloc(dev_size(dev2));
	T_ASSERT(base_img);
	memcpy(base_img, dev_addr(dev2), dev_size(dev2));
	memcpy(&sb, part_of(base_img), sizeof(sb));
}

/* ---- repair/X: crash during udax_fsck(REPAIR) ------------------------------------ */

static const char *const repair_levels[] = { "repair" };

static void dmg_nlink(uint8_t *img)
{
	dinode(img, i_a)->nlink = 3;
	fix_inode(img, i_a);
}

static void dmg_parent(uint8_t *img)
{
	dinode(img, i_dsub)->parent = UDAX_ROOT_INO;	/* /d is */
	fix_inode(img, i_dsub);
}

/* /d/b2 names a free inode: the entry goes, /b's count follows. */
static void dmg_entry_free(uint8_t *img)
{
	dirent_of(img, i_d, "b2")->ino = sb.nr_inodes - 1;
	fix_dir(img, i_d);
}

static void dmg_entry_type(uint8_t *img)
{
	dirent_of(img, i_d, "x")->type = DT_DIR;
	fix_dir(img, i_d);
}

/* /big named nowhere with link count 0: its record (and chain) freed. */
static void dmg_orphan(uint8_t *img)
{
	dirent_of(img, UDAX_ROOT_INO, "big")->ino = 0;
	fix_dir(img, UDAX_ROOT_INO);
	dinode(img, i_big)->nlink = 0;
	fix_inode(img, i_big);
}

/* /a is 10000 bytes: bytes past its end in its last block. */
static void dmg_tail(uint8_t *img)
{
	uint8_t *b = part_of(img) + dinode(img, i_a)->ext[0].pblk * FS_BS + 2 * FS_BS;

	T_ASSERT(dinode(img, i_a)->ext[0].len >= 3);
	memset(b + 10000 - 2 * FS_BS + 100, 0x5a, 700);
}

static void dmg_super_b(uint8_t *img)
{
	part_of(img)[FS_BS + 20] ^= 0x10;
}

static void dmg_all(uint8_t *img)
{
	dmg_nlink(img);
	dmg_parent(img);
	dmg_entry_free(img);
	dmg_entry_type(img);
	dmg_orphan(img);
	dmg_tail(img);
	dmg_super_b(img);
}

static int act_mkdir(struct udax_dev *d, void *arg)
{
	struct udax_fs *fs;
	int ret = udax_mount(d, 0, NULL, &fs);

	(void)arg;
	if (ret)
		return ret;
	ret = udax_mkdir(fs, "/d/new", 0755);
	return ret ? ret : udax_unmount(&fs);
}

/* A committed transaction not written home yet (mkdir /d/new, crashed
 * right after its commit point). */
static void dmg_journal(uint8_t *img)
{
	static const struct path p;
	struct udax_crash *c;
	struct udax_fsck_report rep;
	bool found = false;

	put(devr[0], img);
	c = record(devr[0], act_mkdir, NULL, &p);
	T_ASSERT(c);
	for (uint64_t k = 0; k <= udax_crash_fences(c) && !found; k++) {
		struct key none = { k, { UDAX_CRASH_PREFIX, 0 } };

		load(dev2, c, &none);
		FS_OK(udax_fsck(dev2, 0, 0, NULL, NULL, &rep));
		found = rep.journal_committed;
	}
	T_ASSERT(found);
	memcpy(img, dev_addr(dev2), dev_size(dev2));
	udax_crash_delete(&c);
}

static const struct {
	const char *name;
	void (*damage)(uint8_t *img);
} damages[] = {
	{ "repair/nlink", dmg_nlink },
	{ "repair/parent", dmg_parent },
	{ "repair/entry-free-inode", dmg_entry_free },
	{ "repair/entry-type", dmg_entry_type },
	{ "repair/orphan", dmg_orphan },
	{ "repair/tail", dmg_tail },
	{ "repair/super-b", dmg_super_b },
	{ "repair/journal", dmg_journal },
	{ "repair/all", dmg_all },
};

struct rep_ctx {
	const uint8_t *damaged;
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

/* REPAIR leaves nothing, a check finds nothing, the tree is @ref. */
static int repaired(struct udax_dev *d, const struct cs_state *ref, char *why,
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

static void repair_image(struct udax_crash *c, struct path *p, void *arg)
{
	struct rep_ctx *x = arg;
	uint8_t *img = dev_addr(dev2);
	struct udax_fs *fs;
	char why[1024];
	int ret;

	images++;
	load(dev2, c, &p->at[p->n - 1]);
	if (memcmp(img, x->damaged, dev_size(dev2))) {
		ret = udax_mount(dev2, 0, NULL, &fs);
		if (ret) {
			report(p, "mount: %d (%s): %s", ret, t_errname(ret),
			       udax_fs_last_error());
			return;
		}
		FS_OK(udax_unmount(&fs));
		load(dev2, c, &p->at[p->n - 1]);
	}
	if (repaired(dev2, &x->ref, why, sizeof(why)))
		report(p, "%s", why);
}

static void repair_case(void (*damage)(uint8_t *img))
{
	struct rep_ctx x = { 0 };
	struct udax_fsck_report r;
	struct path p = { 0 };
	struct udax_crash *c;
	struct udax_fs *fs;
	long img0 = images, fail0 = failures;
	uint8_t *img;
	char why[900], what[80];

	levels = repair_levels;
	cr_orphan_ino = 0;		/* no orphan is a state here */
	build_base();
	img = malloc(dev_size(dev2));
	T_ASSERT(img);
	memcpy(img, base_img, dev_size(dev2));
	damage(img);
	x.damaged = img;
	/* The damage is there, and the uninterrupted repair fixes it all. */
	put(dev2, img);
	FS_OK(udax_fsck(dev2, 0, 0, NULL, NULL, &r));
	if (!r.problems && !r.journal_committed)
		report(&p, "fsck finds no damage to repair");
	FS_OK(udax_fsck(dev2, 0, UDAX_FSCK_REPAIR, NULL, NULL, &r));
	if (r.repaired != r.problems)
		report(&p, "the uninterrupted repair left %" PRIu64 " problems",
		       r.problems - r.repaired);
	FS_OK(cr_fsck_clean(dev2, NULL, why, sizeof(why)));
	fs = t_fs_mount(dev2);
	if (cs_capture(fs, &x.ref, why, sizeof(why))) {
		fprintf(stderr, "%s: capture: %s\n", cur, why);
		exit(1);
	}
	FS_OK(udax_unmount(&fs));

	put(devr[0], img);
	c = record(devr[0], act_repair, NULL, &p);
	if (c) {
		snprintf(what, sizeof(what), "%3" PRIu64 " fences", udax_crash_fences(c));
		each_image(c, &p, repair_image, &x);
		udax_crash_delete(&c);
		case_line(what, img0, fail0);
	}
	cs_free(&x.ref);
	free(img);
}

/* ---- mkfs/X: crash during udax_mkfs over an older file system -------------------- */

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
		fprintf(stderr, "%s: capture: %s\n", cur, why);
		exit(1);
	}
	FS_OK(udax_unmount(&fs));
}

static void mkfs_image(struct udax_crash *c, struct path *p, void *arg)
{
	struct mkfs_ctx *x = arg;
	struct udax_fsck_report r;
	struct cs_state got;
	struct udax_fs *fs;
	char why[900], w2[900];
	bool old;
	int ret;

	images++;
	load(dev2, c, &p->at[p->n - 1]);
	ret = udax_fsck(dev2, 0, 0, NULL, NULL, &r);
	if (ret == -ENODATA) {
		ret = udax_mount(dev2, 0, NULL, &fs);
		if (ret != -ENODATA)
			report(p, "fsck finds no file system, mount gives %d (%s): %s",
			       ret, t_errname(ret), udax_fs_last_error());
		if (!ret)
			FS_OK(udax_unmount(&fs));
		return;
	}
	if (ret) {
		report(p, "fsck: %d (%s): %s", ret, t_errname(ret), udax_fs_last_error());
		return;
	}
	ret = udax_mount(dev2, 0, NULL, &fs);
	if (ret) {
		report(p, "neither no file system nor a whole one: mount gives %d "
		       "(%s): %s", ret, t_errname(ret), udax_fs_last_error());
		return;
	}
	if (cs_capture(fs, &got, why, sizeof(why))) {
		report(p, "walking the tree: %s", why);
		FS_OK(udax_unmount(&fs));
		return;
	}
	FS_OK(udax_unmount(&fs));
	old = cs_match(&x->old, NULL, 0, &got, why, sizeof(why));
	if (!old && !cs_match(&x->new, NULL, 0, &got, w2, sizeof(w2)))
		report(p, "mounts, but neither the old file system (%s) nor the new "
		       "one (%s)", why, w2);
	cs_free(&got);
	/* Whole but for a superblock copy (the other one being written or
	 * killed): fsck repairs that, into the same tree. */
	load(dev2, c, &p->at[p->n - 1]);
	if (repaired(dev2, old ? &x->old : &x->new, why, sizeof(why)))
		report(p, "the %s file system: %s", old ? "old" : "new", why);
}

static void mkfs_case(const struct udax_mkfs_opts *mo)
{
	struct mkfs_ctx x = { .mo = mo };
	struct path p = { 0 };
	struct udax_crash *c;
	long img0 = images, fail0 = failures;
	char what[80];

	levels = mkfs_levels;
	cr_orphan_ino = 0;
	build_base();
	put(dev2, base_img);
	capture_dev(dev2, &x.old);
	put(devr[0], base_img);
	c = record(devr[0], act_mkfs, &x, &p);
	if (c) {
		/* The new one as recorded (mkfs stamps the root's times). */
		capture_dev(devr[0], &x.new);
		snprintf(what, sizeof(what), "%3" PRIu64 " fences", udax_crash_fences(c));
		each_image(c, &p, mkfs_image, &x);
		udax_crash_delete(&c);
		case_line(what, img0, fail0);
	}
	cs_free(&x.old);
	cs_free(&x.new);
}

static const struct udax_mkfs_opts mkfs_same = { .nr_inodes = 256, .journal_blocks = 64 };
static const struct udax_mkfs_opts mkfs_other = { .nr_inodes = 64, .journal_blocks = 16,
						  .label = "new" };

/* ---- cases, command line ------------------------------------------------------------ */

static bool selected(const char *name)
{
	bool in_ci = false;

	cur = name;
	for (size_t i = 0; torn_subset && i < sizeof(torn_ci) / sizeof(torn_ci[0]); i++)
		in_ci |= !strcmp(torn_ci[i], name);
	return !stopping && (!cfg.only || !strcmp(cfg.only, name)) &&
	       (!torn_subset || in_ci);
}

static bool run_all(void)
{
	bool found = false;
	char name[96];

	for (size_t i = 0; i <= cr_nscenarios; i++) {
		const struct cr_scenario *sc = i < cr_nscenarios ? &cr_scenarios[i] :
					       &unlink_open;

		if (sc->long_only && !cfg.long_mode && !cfg.only)
			continue;
		snprintf(name, sizeof(name), "replay/%s", sc->name);
		if (cfg.list)
			printf("%s%s\n", name, sc->long_only ? " (--long)" : "");
		else if (selected(name))
			found = true, replay_case(sc);
	}
	for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		if (cfg.list)
			printf("%s\n", damages[i].name);
		else if (selected(damages[i].name))
			found = true, repair_case(damages[i].damage);
	}
	if (cfg.list)
		printf("mkfs/same-geometry\nmkfs/other-geometry\n");
	else if (selected("mkfs/same-geometry"))
		found = true, mkfs_case(&mkfs_same);
	if (!cfg.list && selected("mkfs/other-geometry"))
		found = true, mkfs_case(&mkfs_other);
	return found || cfg.list;
}

static void usage(void)
{
	fprintf(stderr, "usage: %s [--long | --quick] [--torn | --no-torn] [--case NAME "
		"[--at K:S[,K:S...]]] [--max-failures N (0: all)] [--list]\n", cfg.argv0);
	exit(2);
}

/* "K:SUBSET,K:SUBSET" */
static void parse_at(char *s)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		char *colon = strchr(tok, ':'), *end;

		if (!colon || cfg.rp.n == LEVELS)
			usage();
		*colon = 0;
		cfg.rp.at[cfg.rp.n].k = strtoull(tok, &end, 0);
		if (*end || udax_crash_subset_parse(colon + 1, &cfg.rp.at[cfg.rp.n].s)) {
			fprintf(stderr, "bad crash point '%s:%s'\n", tok, colon + 1);
			usage();
		}
		cfg.rp.n++;
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "quick", no_argument, NULL, 'q' },
		{ "torn", no_argument, NULL, 't' },
		{ "no-torn", no_argument, NULL, 'T' },
		{ "list", no_argument, NULL, 'L' },
		{ "case", required_argument, NULL, 'c' },
		{ "at", required_argument, NULL, 'a' },
		{ "max-failures", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	cfg.argv0 = argv[0];
	cfg.long_mode = t_env_on("UDAX_CRASH_LONG");
	cfg.quick = t_env_on("UDAX_CRASH_QUICK");
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'l': cfg.long_mode = true; break;
		case 'q': cfg.quick = true; break;
		case 't': cfg.torn = 1; break;
		case 'T': cfg.torn = 0; break;
		case 'L': cfg.list = true; break;
		case 'c': cfg.only = optarg; break;
		case 'a': parse_at(optarg); cfg.replay = true; break;
		case 'm': cfg.max_failures = atol(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || (cfg.replay && !cfg.only))
		usage();
	if (cfg.long_mode)
		cfg.quick = false;
	if (!cfg.list)
		printf("fs_crash_recovery: %s mode: crashes during journal replay and "
		       "orphan freeing (and during a second recovery), fsck repair, "
		       "mkfs\n", cfg.long_mode ? "long" : cfg.quick ? "quick" :
		       "default (CI)");
	dev2 = t_fs_dev(CR_DEVSPEC);
	for (int i = 0; i < LEVELS; i++)
		devr[i] = t_fs_dev(CR_DEVSPEC);
	/* --torn: the torn pass alone; a replay runs the pass that found it;
	 * else whole lines, then torn lines over every case (--long) or
	 * torn_ci[] (the default). */
	for (int p = 0; p < 2; p++) {
		bool torn = cfg.torn == 1 || p == 1;

		if (p == 1 && (cfg.torn != -1 || cfg.replay || cfg.list || stopping))
			break;
		unit_bytes = torn ? UDAX_CRASH_WORD : UDAX_CRASH_UNIT;
		torn_subset = p == 1 && !cfg.long_mode && !cfg.only;
		if (!cfg.list)
			printf("--- %u-byte units (%s), %s\n", unit_bytes, torn ?
			       "torn lines: each changed 8-byte word of a flushed "
			       "line on its own" : "whole cache lines", torn_subset ?
			       "a subset of the cases" : cfg.only ? cfg.only :
			       "every case");
		if (!run_all()) {
			fprintf(stderr, "no case '%s' (--list)\n", cfg.only);
			return 2;
		}
	}
	for (int i = 0; i < LEVELS; i++)
		FS_OK(udax_dev_close(&devr[i], 0));
	FS_OK(udax_dev_close(&dev2, 0));
	free(base_img);
	if (cfg.list)
		return 0;
	if (stopping)
		printf("stopped after %ld failures\n", failures);
	printf("crash images checked %ld, failures %ld\n", images, failures);
	return failures ? 1 : 0;
}
