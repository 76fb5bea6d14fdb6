/* SPDX-License-Identifier: MIT */
/*
 * Crash consistency of concurrent operations, on the crash-state explorer
 * with per-thread fences (UDAX_CRASH_PER_THREAD_FENCES, docs/crash.md): a
 * drain makes durable only what its own thread flushed, as on hardware.
 *
 * NT threads run at once, thread i only in its own directory /ti: creates,
 * writes that allocate, append + fsync, in-place overwrite + fdatasync,
 * rename, truncate, punch, mkdir/rmdir, unlink.  The file system's locks
 * serialise them in some order; each thread notes the fences (drains of
 * any thread) before and after each of its operations, and captures its
 * subtree after each one.  Then every planned image of every fence k is
 * loaded into a fresh device and:
 *
 *   - udax_fsck without repair reports no problem;
 *   - after mount, "/" holds /t0.. and nothing else, unchanged, and each
 *     thread's subtree is exactly its state after the operations that
 *     returned before fence k (end fence <= k), or that plus the one in
 *     progress (begun at a fence <= k); an in-place overwrite in progress
 *     may leave each byte old or new until its fdatasync returned, and
 *     from then on every byte it wrote must be there.  Free counts are not per thread:
 *     fsck checks them, and the recovered fs must create, write and
 *     unlink a file and give every block back; fsck after unmount: clean.
 *
 * At the end the device must hold no store that was never flushed.  Thread
 * interleaving is not reproducible, so there is no replay line: a failure
 * prints the recorded interleaving (each operation with its fences) and
 * the (fence, subset) of the image.
 *
 * Usage: fs_crash_mt [--long | --quick] [--global-fences] [--runs N]
 *                    [--max-failures N]
 * UDAX_CRASH_LONG=1 is --long, UDAX_CRASH_QUICK=1 --quick (sanitizer
 * builds: epochs of up to 3 units exhaustive, larger ones none, all and
 * random subsets).  --global-fences
 * records with global fences instead (optimistic; for comparison).
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <udax/crash.h>
#include <udax/fsck.h>

#include "redo_util.h"
#include "fs_crash.h"
#include "fs_util.h"

#define BS	4096
#define NT	3		/* threads */

/* ---- each thread's operations, in its directory @d --------------------------- */

struct mt_op {
	const char *what;
	void (*fn)(struct udax_fs *fs, const char *d, unsigned seed);
	/* f overwritten in place: each byte old or new while in progress,
	 * until its fsync/fdatasync returns */
	bool torn;
};

static struct udax_crash *rec_c;
/* Where the operation under way notes the fences when its sync returned. */
static _Thread_local uint64_t *synced_at;

static void path(char *p, const char *d, const char *name)
{
	snprintf(p, 64, "%s/%s", d, name);
}

/* Write @n bytes (t_fill(@seed)) at @off of @d/@name, opened with @flags;
 * then fsync (1), fdatasync (2) or neither (0). */
static void wr(struct udax_fs *fs, const char *d, const char *name, int flags,
	       uint64_t off, size_t n, unsigned seed, int sync)
{
	static _Thread_local uint8_t buf[3 * BS];
	struct udax_file *f;
	char p[64];

	path(p, d, name);
	t_fill(buf, n, seed);
	FS_OK(udax_open(fs, p, O_RDWR | flags, 0644, &f));
	if (flags & O_APPEND)
		T_ASSERT(udax_append(f, buf, n, NULL) == (ssize_t)n);
	else
		T_ASSERT(udax_pwrite(f, buf, n, off) == (ssize_t)n);
	if (sync == 1)
		FS_OK(udax_fsync(f));
	if (sync == 2)
		FS_OK(udax_fdatasync(f));
	if (sync)
		*synced_at = udax_crash_fences(rec_c);
	FS_OK(udax_close(&f));
}

static void o_create(struct udax_fs *fs, const char *d, unsigned s)
{
	struct udax_file *f;
	char p[64];

	(void)s;
	path(p, d, "f");
	FS_OK(udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f));
	FS_OK(udax_close(&f));
}
static void o_write(struct udax_fs *fs, const char *d, unsigned s)
{
	wr(fs, d, "f", 0, 0, 3 * BS, s, 0);
}
static void o_append_fsync(struct udax_fs *fs, const char *d, unsigned s)
{
	wr(fs, d, "f", O_APPEND, 0, 5000, s, 1);
}
static void o_create_g(struct udax_fs *fs, const char *d, unsigned s)
{
	char p[64];

	(void)s;
	path(p, d, "g");
	FS_OK(udax_mkdir(fs, p, 0700));		/* a directory, renamed below */
}
static void o_overwrite_fdatasync(struct udax_fs *fs, const char *d, unsigned s)
{
	wr(fs, d, "f", 0, 100, 300, s, 2);
}
static void o_mkdir(struct udax_fs *fs, const char *d, unsigned s)
{
	char p[64];

	(void)s;
	path(p, d, "d");
	FS_OK(udax_mkdir(fs, p, 0755));
}
static void o_rename(struct udax_fs *fs, const char *d, unsigned s)
{
	char a[64], b[64];

	(void)s;
	path(a, d, "g");
	path(b, d, "d/h");
	FS_OK(udax_rename(fs, a, b, 0));
}
static void o_truncate(struct udax_fs *fs, const char *d, unsigned s)
{
	struct udax_file *f;
	char p[64];

	(void)s;
	path(p, d, "f");
	FS_OK(udax_open(fs, p, O_RDWR, 0, &f));
	FS_OK(udax_ftruncate(f, 7000));
	FS_OK(udax_close(&f));
}
static void o_punch(struct udax_fs *fs, const char *d, unsigned s)
{
	struct udax_file *f;
	char p[64];

	(void)s;
	path(p, d, "f");
	FS_OK(udax_open(fs, p, O_RDWR, 0, &f));
	FS_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE, 0, BS));
	FS_OK(udax_close(&f));
}
static void o_write_alloc(struct udax_fs *fs, const char *d, unsigned s)
{
	wr(fs, d, "f", 0, 5 * BS, 2 * BS, s, 0);
}
static void o_overwrite_fdatasync2(struct udax_fs *fs, const char *d, unsigned s)
{
	wr(fs, d, "f", 0, 5 * BS + 200, 700, s, 2);
}
static void o_unlink(struct udax_fs *fs, const char *d, unsigned s)
{
	char p[64];

	(void)s;
	path(p, d, "d/h");
	FS_OK(udax_rmdir(fs, p));
}
static void o_unlink_f(struct udax_fs *fs, const char *d, unsigned s)
{
	char p[64];

	(void)s;
	path(p, d, "f");
	FS_OK(udax_unlink(fs, p));
}
static void o_rmdir(struct udax_fs *fs, const char *d, unsigned s)
{
	char p[64];

	(void)s;
	path(p, d, "d");
	FS_OK(udax_rmdir(fs, p));
}
static void o_append_fdatasync(struct udax_fs *fs, const char *d, unsigned s)
{
	wr(fs, d, "f", O_APPEND, 0, 3000, s, 2);
}

/* Each one fs operation (plus its fsync): a crash in it recovers the
 * state before or after it, nothing in between. */
static const struct mt_op ops[] = {
	{ "create f", o_create, false },
	{ "write f (allocating)", o_write, false },
	{ "append f + fsync", o_append_fsync, false },
	{ "overwrite f + fdatasync", o_overwrite_fdatasync, true },
	{ "mkdir d", o_mkdir, false },
	{ "mkdir g", o_create_g, false },
	{ "rename g d/h", o_rename, false },
	{ "truncate f", o_truncate, false },
	{ "punch f", o_punch, false },
	{ "write f past the end", o_write_alloc, false },
	{ "overwrite f + fdatasync", o_overwrite_fdatasync2, true },
	{ "rmdir d/h", o_unlink, false },
	{ "rmdir d", o_rmdir, false },
	{ "append f + fdatasync", o_append_fdatasync, false },
	{ "unlink f", o_unlink_f, false },
};
#define NOPS	(sizeof(ops) / sizeof(ops[0]))

/* ---- recording ------------------------------------------------------------------ */

struct mt_thread {
	unsigned idx;
	char dir[8];
	struct cs_state st[NOPS + 1];		/* after op j (0: before) */
	uint64_t start[NOPS + 1], end[NOPS + 1];/* fences around op j */
	uint64_t sync[NOPS + 1];		/* when its sync returned */
};

static struct {
	bool long_mode, quick, global;
	unsigned runs;
	long max_failures;
} cfg = { .runs = 1, .max_failures = 10 };

static struct mt_thread thr[NT];
static struct udax_fs *rec_fs;
static _Atomic unsigned arrived;		/* spin barrier, see step_barrier() */
static struct cs_state root0;		/* "/" alone, before recording */
static long images, failures;
static bool stopping, printed_log;

static void capture_or_exit(struct udax_fs *fs, const char *dir, struct cs_state *st)
{
	char why[512];

	if (cs_capture_at(fs, dir, st, why, sizeof(why))) {
		fprintf(stderr, "capture %s: %s\n", dir, why);
		exit(1);
	}
}

/*
 * Wait until every thread has arrived for step @j (1..STEPS), spinning: a
 * thread woken from a futex arrives tens of microseconds late, longer
 * than most operations take, and the threads would run one after the
 * other.  Spinning, they are all on their way when the last one arrives.
 */
static void step_barrier(unsigned j)
{
	unsigned long spins = 0;

	arrived++;
	while (arrived < j * NT)
		if (++spins % 1024 == 0)
			sched_yield();	/* more threads than cores */
}

/* Thread t runs its op j in step j + t * SKEW: the threads start their
 * steps together, each in another operation (one overwriting in place
 * while another commits, say). */
#define SKEW	3
#define STEPS	(NOPS + SKEW * (NT - 1))

static void *thread_main(void *arg)
{
	struct mt_thread *t = arg;

	for (unsigned step = 1; step <= STEPS; step++) {
		unsigned j = step - SKEW * t->idx;

		step_barrier(step);
		if (step <= SKEW * t->idx || j > NOPS)
			continue;
		t->sync[j] = UINT64_MAX;
		synced_at = &t->sync[j];
		t->start[j] = udax_crash_fences(rec_c);
		ops[j - 1].fn(rec_fs, t->dir, 1000 * t->idx + j);
		t->end[j] = udax_crash_fences(rec_c);
		capture_or_exit(rec_fs, t->dir, &t->st[j]);
	}
	return NULL;
}

/* Operations of other threads that overlap one of this thread's, in
 * fences: a measure of how concurrent the recording was. */
static unsigned overlaps(void)
{
	unsigned n = 0;

	for (unsigned a = 0; a < NT; a++)
		for (unsigned i = 1; i <= NOPS; i++)
			for (unsigned b = a + 1; b < NT; b++)
				for (unsigned j = 1; j <= NOPS; j++)
					n += thr[a].start[i] < thr[b].end[j] &&
					     thr[b].start[j] < thr[a].end[i];
	return n;
}

static void print_log(void)
{
	fprintf(stderr, "recorded interleaving (op [start fence, end fence]):\n");
	for (unsigned t = 0; t < NT; t++) {
		fprintf(stderr, "  %s:", thr[t].dir);
		for (unsigned j = 1; j <= NOPS; j++)
			fprintf(stderr, "%s %u %s [%" PRIu64 ",%" PRIu64 "]",
				j % 4 == 1 && j > 1 ? "\n     " : "", j,
				ops[j - 1].what, thr[t].start[j], thr[t].end[j]);
		fprintf(stderr, "\n");
	}
}

static void report(uint64_t k, const struct udax_crash_subset *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(uint64_t k, const struct udax_crash_subset *s, const char *fmt, ...)
{
	char sub[64] = "-";
	va_list ap;

	if (!printed_log) {
		print_log();
		printed_log = true;
	}
	failures++;
	if (s)
		udax_crash_subset_format(s, sub, sizeof(sub));
	fprintf(stderr, "FAIL fence %" PRIu64 " subset %s: ", k, sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (cfg.max_failures && failures >= cfg.max_failures)
		stopping = true;
}

static struct udax_crash *record(struct udax_dev *dev)
{
	struct udax_mkfs_opts mo = { .nr_inodes = 256, .journal_blocks = 64 };
	struct udax_crash_opts co = {
		/* quick: sanitizer builds, ~20x slower per image */
		.exhaustive_max = cfg.long_mode ? 10 : cfg.quick ? 3 : 6,
		.samples = cfg.long_mode ? 64 : 8, .seed = 0x5eed,
		.flags = (cfg.global ? 0 : UDAX_CRASH_PER_THREAD_FENCES) |
			 (cfg.long_mode ? 0 : cfg.quick ? UDAX_CRASH_NO_PREFIXES |
			  UDAX_CRASH_NO_SINGLES | UDAX_CRASH_NO_ALL_BUT :
			  UDAX_CRASH_NO_ALL_BUT),
	};
	struct udax_crash_range rg[8];
	pthread_t tid[NT];
	struct cs_state all;
	char why[512];
	long n;

	FS_OK(udax_mkfs(dev, 0, &mo));
	rec_fs = t_fs_mount(dev);
	for (unsigned t = 0; t < NT; t++) {
		thr[t].idx = t;
		snprintf(thr[t].dir, sizeof(thr[t].dir), "/t%u", t);
		FS_OK(udax_mkdir(rec_fs, thr[t].dir, 0755));
		capture_or_exit(rec_fs, thr[t].dir, &thr[t].st[0]);
	}
	if (cs_capture(rec_fs, &all, why, sizeof(why))) {
		fprintf(stderr, "capture: %s\n", why);
		exit(1);
	}
	root0 = (struct cs_state){ .e = malloc(sizeof(*root0.e)), .n = 1 };
	T_ASSERT(root0.e && !strcmp(all.e[0].path, "/"));
	root0.e[0] = all.e[0];
	root0.e[0].path = strdup("/");
	cs_free(&all);
	FS_OK(udax_crash_new(dev, &co, &rec_c));
	arrived = 0;
	for (unsigned t = 0; t < NT; t++)
		T_ASSERT(!pthread_create(&tid[t], NULL, thread_main, &thr[t]));
	for (unsigned t = 0; t < NT; t++)
		T_ASSERT(!pthread_join(tid[t], NULL));
	n = t_unflushed_unredone(rec_c, rec_fs, rg, 8);
	for (long j = 0; j < n && j < 8; j++)
		report(0, NULL, "device bytes [%" PRIu64 ", +%" PRIu64 ") were stored, "
		       "not flushed and not in the committed journal transaction: "
		       "lost on power failure", rg[j].off, rg[j].len);
	FS_OK(udax_crash_stop(rec_c));
	FS_OK(udax_unmount(&rec_fs));
	return rec_c;
}

/* ---- checking an image ---------------------------------------------------------- */

/* The entries of @got under @dir (itself included): contiguous, sorted. */
static struct cs_state view(const struct cs_state *got, const char *dir)
{
	struct cs_state v = { 0 };
	size_t l = strlen(dir);

	for (size_t i = 0; i < got->n; i++) {
		const char *p = got->e[i].path;

		if (strncmp(p, dir, l) || (p[l] && p[l] != '/'))
			continue;
		if (!v.n)
			v.e = &got->e[i];
		v.n++;
	}
	return v;
}

/* Add f of state @st (of thread @t) to @alt as another content f may show:
 * each byte @st's or the wanted one's, times not compared. */
static void alt_f(const struct mt_thread *t, const struct cs_state *st,
		  struct cs_alt *alt, size_t *nalt)
{
	const struct cs_ent *e;
	char p[64];

	path(p, t->dir, "f");
	e = cs_find(st, p);
	T_ASSERT(e && e->data);
	alt[(*nalt)++] = (struct cs_alt){ e->ino, e->data, e->size };
}

/* Does the subtree @v match thread @t's state after op @j, op j being in
 * progress at fence @k when @during?  An in-place overwrite leaves each
 * byte old or new until its sync returned; then they are exact, but the
 * times may still be old (the last close commits them). */
static bool state_ok(const struct mt_thread *t, unsigned j, bool during,
		     uint64_t k, const struct cs_state *v, char *why, size_t len)
{
	struct cs_alt alt;
	size_t nalt = 0;

	if (during && ops[j - 1].torn)
		alt_f(t, &t->st[t->sync[j] <= k ? j : j - 1], &alt, &nalt);
	return cs_match(&t->st[j], &alt, nalt, v, why, len);
}

/* Thread @t's subtree in @got: a state its operations allow at fence @k:
 * after those that returned by then (end fence <= k), or that plus the
 * one in progress (start fence <= k). */
static bool thread_ok(const struct mt_thread *t, uint64_t k, const struct cs_state *got,
		      char *why, size_t len)
{
	struct cs_state v = view(got, t->dir);
	unsigned done = 0;
	char w2[512];

	while (done < NOPS && t->end[done + 1] <= k)
		done++;
	/* The state before an operation in progress is allowed until its
	 * sync returned: then every byte it wrote must be there. */
	if (done < NOPS && t->sync[done + 1] <= k)
		snprintf(why, len, "op %u (%s) synced at fence %" PRIu64, done + 1,
			 ops[done].what, t->sync[done + 1]);
	else if (state_ok(t, done, false, k, &v, why, len))
		return true;
	if (done < NOPS && t->start[done + 1] <= k) {
		if (state_ok(t, done + 1, true, k, &v, w2, sizeof(w2)))
			return true;
		snprintf(why + strlen(why), len - strlen(why),
			 " (after op %u); nor the state after op %u (%s), in "
			 "progress: %s", done, done + 1, ops[done].what, w2);
	} else {
		snprintf(why + strlen(why), len - strlen(why),
			 " (ops 1..%u returned, none in progress)", done);
	}
	return false;
}

static void check_image(struct udax_crash *c, struct udax_dev *dev2, uint64_t k,
			const struct udax_crash_subset *s)
{
	struct cs_state got, rootv;
	struct udax_dev_info info;
	struct udax_fs *fs = NULL;
	size_t seen = 1;
	char why[1536];
	int ret;

	images++;
	FS_OK(udax_dev_info(dev2, &info));
	FS_OK(udax_crash_image(c, k, s, info.addr));
	if (udax_dev_part_read(dev2) != 1) {
		report(k, s, "partition table lost: %s", udax_dev_last_error());
		return;
	}
	if (cr_fsck_clean(dev2, NULL, why, sizeof(why))) {
		report(k, s, "fsck before mount: %s", why);
		return;
	}
	ret = udax_mount(dev2, 0, NULL, &fs);
	if (ret) {
		report(k, s, "mount: %d (%s): %s", ret, t_errname(ret), udax_fs_last_error());
		return;
	}
	if (cs_capture(fs, &got, why, sizeof(why))) {
		report(k, s, "walking the recovered tree: %s", why);
		goto out;
	}
	rootv = (struct cs_state){ .e = got.e, .n = 1 };
	if (!cs_match(&root0, NULL, 0, &rootv, why, sizeof(why)))
		report(k, s, "/ changed: %s", why);
	for (unsigned t = 0; t < NT; t++) {
		seen += view(&got, thr[t].dir).n;
		if (!thread_ok(&thr[t], k, &got, why, sizeof(why)))
			report(k, s, "%s: %s", thr[t].dir, why);
	}
	if (seen != got.n)
		report(k, s, "%zu entries outside /t0../t%u", got.n - seen, NT - 1);
	if (cr_post_ops(fs, why, sizeof(why)))
		report(k, s, "%s", why);
out:
	cs_free(&got);
	ret = udax_unmount(&fs);
	if (ret) {
		report(k, s, "unmount: %d (%s)", ret, udax_fs_last_error());
		return;
	}
	if (cr_fsck_clean(dev2, NULL, why, sizeof(why)))
		report(k, s, "fsck after recovery: %s", why);
}

static void free_recording(struct udax_crash **c)
{
	udax_crash_delete(c);
	for (unsigned t = 0; t < NT; t++)
		for (unsigned j = 0; j <= NOPS; j++)
			cs_free(&thr[t].st[j]);
	cs_free(&root0);
}

/*
 * How the threads interleave is up to the scheduler; on a busy machine
 * they may run one after the other.  A recording is cheap next to its
 * images: take the first of up to RECORD_TRIES whose operations overlap
 * in at least NOPS pairs (the last one otherwise; the count is printed).
 */
#define RECORD_TRIES	50

static void one_run(unsigned run, struct udax_dev *dev2)
{
	struct udax_dev *dev = t_fs_dev(CR_DEVSPEC);
	struct udax_crash *c = record(dev);
	uint64_t fences, maxu = 0;
	long before = images, fbefore = failures;
	unsigned tries = 1;

	while (overlaps() < NOPS && tries < RECORD_TRIES && !failures) {
		free_recording(&c);
		c = record(dev);
		tries++;
	}
	fences = udax_crash_fences(c);

	for (uint64_t k = 0; k <= fences && !stopping; k++) {
		struct udax_crash_epoch e;
		struct udax_crash_subset s;

		FS_OK(udax_crash_epoch(c, k, &e));
		if (e.units > maxu)
			maxu = e.units;
		for (uint64_t j = 0; j < e.subsets && !stopping; j++) {
			FS_OK(udax_crash_subset_nth(c, k, j, &s));
			check_image(c, dev2, k, &s);
		}
	}
	printf("run %u: %u threads x %zu ops, %" PRIu64 " fences, %u overlapping op "
	       "pairs (recording %u), %6ld images (largest epoch %" PRIu64 " lines)%s\n",
	       run, NT, NOPS, fences, overlaps(), tries, images - before, maxu,
	       failures > fbefore ? "  FAILED" : "");
	fflush(stdout);
	free_recording(&c);
	FS_OK(udax_dev_close(&dev, 0));
	printed_log = false;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--long | --quick] [--global-fences] [--runs N] "
		"[--max-failures N (0: all)]\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "quick", no_argument, NULL, 'q' },
		{ "global-fences", no_argument, NULL, 'g' },
		{ "runs", required_argument, NULL, 'r' },
		{ "max-failures", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct udax_dev *dev2;
	bool runs_given = false;
	int c;

	cfg.long_mode = t_env_on("UDAX_CRASH_LONG");
	cfg.quick = t_env_on("UDAX_CRASH_QUICK");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'l': cfg.long_mode = true; break;
		case 'q': cfg.quick = true; break;
		case 'g': cfg.global = true; break;
		case 'r': cfg.runs = (unsigned)atoi(optarg); runs_given = true; break;
		case 'm': cfg.max_failures = atol(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || !cfg.runs)
		usage(argv[0]);
	if (cfg.long_mode && !runs_given)
		cfg.runs = 8;
	printf("fs_crash_mt: %s mode, %s fences, %u run%s: %u threads in their own "
	       "directories; udax_fsck before mount and after unmount\n",
	       cfg.long_mode ? "long" : cfg.quick ? "quick" : "default (CI)",
	       cfg.global ? "global" : "per-thread", cfg.runs, cfg.runs > 1 ? "s" : "", NT);
	fflush(stdout);
	dev2 = t_fs_dev(CR_DEVSPEC);
	for (unsigned r = 1; r <= cfg.runs && !stopping; r++)
		one_run(r, dev2);
	FS_OK(udax_dev_close(&dev2, 0));
	if (stopping)
		printf("stopped after %ld failures\n", failures);
	printf("crash images checked %ld, failures %ld\n", images, failures);
	return failures ? 1 : 0;
}
