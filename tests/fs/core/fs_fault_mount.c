/* SPDX-License-Identifier: MIT */
/*
 * Mount, journal replay, orphan reclaim and fsck repair under injected
 * faults (include/udax/fault.h).
 *
 * Images in interesting states, each a copy of the whole device:
 *   clean            a tree with files, a chained file, directories;
 *   journal          the crash state right after the commit point of a
 *                    directory rename (crash explorer): the journal holds
 *                    a committed transaction, the home locations the old
 *                    tree;
 *   orphans          two files unlinked while open (one with an extent
 *                    chain): nlink 0 on media;
 *   journal+orphan   an orphan on media, and a committed transaction that
 *                    makes a second file (open) an orphan.
 * For each image and each of udax_mount (read-write), udax_mount
 * (UDAX_MOUNT_RDONLY) and udax_fsck(UDAX_FSCK_REPAIR), each site (malloc:
 * -ENOMEM, persist: -EIO) and n = 1, 2, ... until the call no longer
 * reaches its nth call there: the image is restored, the nth call fails,
 * and
 *  - the call returns exactly the injected error, or succeeds where the
 *    code tolerates the failure (a failed orphan reclaim at a read-write
 *    mount before its commit point leaves the orphan for the next mount):
 *    then the tree is the expected one, and the fs is not shut down;
 *  - no partition claim is left behind: a mount without faults succeeds;
 *  - the image is recoverable: that mount gives exactly the tree (and free
 *    counts) of a fault-free mount of the original image, and after its
 *    unmount udax_fsck finds no problem and no committed transaction.
 * Leaks: ASan's leak checker runs at exit in the asan build.
 * Prints the injection points per image, call and site.
 */
#include <udax/crash.h>
#include <udax/fault.h>
#include <udax/fsck.h>

#include "fs_util.h"

#define DEVSPEC	"mem:8M"
#define BS	4096

static struct udax_dev *dev;
static struct udax_dev_info dinfo;
static uint8_t buf[8 * BS];

/* ---- images ------------------------------------------------------------------ */

struct image {
	const char *name;
	uint8_t *bytes;			/* the whole device */
	char *want_rw, *want_ro;	/* fingerprints of fault-free mounts */
};

enum { CLEAN, JOURNAL, ORPHANS, JOURNAL_ORPHAN, NIMAGES };
static struct image images[NIMAGES] = {
	{ .name = "clean" }, { .name = "journal" }, { .name = "orphans" },
	{ .name = "journal+orphan" },
};

static void restore(const struct image *im)
{
	memcpy(dinfo.addr, im->bytes, dinfo.size);
}

static uint8_t *snapshot(void)
{
	uint8_t *p = malloc(dinfo.size);

	T_ASSERT(p);
	memcpy(p, dinfo.addr, dinfo.size);
	return p;
}

static void setup(struct udax_fs *fs)
{
	struct udax_file *f;
	char p[64];

	t_fill(buf, 10000, 1);
	t_write_file(fs, "/a", buf, 10000);
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	for (int b = 0; b < 40; b += 2) {		/* 20 extents: a chain */
		t_fill(buf, BS, 100 + b);
		T_ASSERT(udax_pwrite(f, buf, BS, (uint64_t)b * BS) == BS);
	}
	FS_OK(udax_close(&f));
	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/x", "0123456789", 10);
	FS_OK(udax_mkdir(fs, "/d/sub", 0700));
	FS_OK(udax_mkdir(fs, "/e", 0755));
	for (int i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "/e/f%02d", i);
		t_fill(buf, 100 * i, i);
		t_write_file(fs, p, buf, 100 * (size_t)i);
	}
}

/*
 * Record @step on the crash explorer and keep the first crash state (no
 * pending unit) whose journal holds a committed transaction, which fsck
 * tells (journal_committed).  The fs is unmounted (after @after) once
 * recording ends; the image is left on the device.
 */
static uint8_t *committed_state(struct udax_fs *fs, void (*step)(struct udax_fs *),
				void (*after)(void))
{
	static const struct udax_crash_subset none = { UDAX_CRASH_PREFIX, 0 };
	struct udax_crash_stats st;
	struct udax_fsck_report rep;
	struct udax_part_info pi;
	struct udax_crash *c;
	uint8_t *img = malloc(dinfo.size), before[64];
	uint64_t hdr;

	T_ASSERT(img);
	FS_OK(udax_crash_new(dev, NULL, &c));
	step(fs);
	FS_OK(udax_crash_stop(c));
	if (after)
		after();
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_crash_stats(c, &st));
	/* The journal header (partition block 2) before the step: the last
	 * commit's stays valid until the next commit replaces it. */
	FS_OK(udax_dev_part(dev, 0, &pi));
	hdr = pi.offset + 2 * UDAX_FS_BLOCK_SIZE;
	FS_OK(udax_crash_image(c, 0, &none, img));
	memcpy(before, img + hdr, sizeof(before));
	for (uint64_t k = 0; k <= st.fences; k++) {
		FS_OK(udax_crash_image(c, k, &none, img));
		memcpy(dinfo.addr, img, dinfo.size);
		FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &rep));
		if (rep.journal_committed &&
		    memcmp(img + hdr, before, sizeof(before))) {
			udax_crash_delete(&c);
			return img;
		}
	}
	fprintf(stderr, "no crash state holds the committed transaction\n");
	exit(1);
}

static void rename_dir(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/d", "/e/d2", 0)); }
static void unlink_big(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/big")); }

static struct udax_file *held[2];

static void close_held(void)
{
	for (int i = 0; i < 2; i++)
		if (held[i])
			FS_OK(udax_close(&held[i]));
}

static struct udax_fs *fresh(void)
{
	struct udax_mkfs_opts mo = { .nr_inodes = 256, .journal_blocks = 64 };
	struct udax_fs *fs;

	FS_OK(udax_mkfs(dev, 0, &mo));
	fs = t_fs_mount(dev);
	setup(fs);
	return fs;
}

static char *mount_fingerprint(unsigned flags)
{
	struct udax_mount_opts o = { .flags = flags };
	struct udax_fs *fs;
	char *fp;

	FS_OK(udax_mount(dev, 0, &o, &fs));
	fp = t_fingerprint(fs);
	FS_OK(udax_unmount(&fs));
	return fp;
}

static void build_images(void)
{
	struct udax_part_info pi;
	struct udax_fs *fs;

	fs = fresh();
	FS_OK(udax_unmount(&fs));
	images[CLEAN].bytes = snapshot();

	fs = fresh();
	images[JOURNAL].bytes = committed_state(fs, rename_dir, NULL);

	fs = fresh();
	FS_OK(udax_open(fs, "/a", O_RDWR, 0, &held[0]));
	FS_OK(udax_open(fs, "/big", O_RDWR, 0, &held[1]));
	FS_OK(udax_unlink(fs, "/a"));
	FS_OK(udax_unlink(fs, "/big"));
	images[ORPHANS].bytes = snapshot();	/* as a crash now leaves it */
	/* ... once the last commit settled (its home writes are in the
	 * snapshot): orphans only, the journal empty. */
	FS_OK(udax_dev_part(dev, 0, &pi));
	memset(images[ORPHANS].bytes + pi.offset + 2 * UDAX_FS_BLOCK_SIZE, 0, 64);
	close_held();
	FS_OK(udax_unmount(&fs));

	fs = fresh();
	FS_OK(udax_open(fs, "/a", O_RDWR, 0, &held[0]));
	FS_OK(udax_open(fs, "/big", O_RDWR, 0, &held[1]));
	FS_OK(udax_unlink(fs, "/a"));
	images[JOURNAL_ORPHAN].bytes = committed_state(fs, unlink_big, close_held);

	for (int i = 0; i < NIMAGES; i++) {
		restore(&images[i]);
		images[i].want_ro = mount_fingerprint(UDAX_MOUNT_RDONLY);
		restore(&images[i]);
		images[i].want_rw = mount_fingerprint(0);
	}
	/* The states differ as they should. */
	T_ASSERT(strcmp(images[CLEAN].want_rw, images[JOURNAL].want_rw));
	T_ASSERT(strstr(images[CLEAN].want_rw, "/d/x ") &&
		 strstr(images[JOURNAL].want_rw, "/e/d2/x ") &&
		 !strstr(images[JOURNAL].want_rw, "/d/x "));
	T_ASSERT(!strstr(images[ORPHANS].want_rw, "/big ") &&
		 !strstr(images[JOURNAL_ORPHAN].want_rw, "/big ") &&
		 strstr(images[CLEAN].want_rw, "/big "));
	/* Read-only: orphans stay, their blocks and inodes too. */
	T_ASSERT(strcmp(images[ORPHANS].want_ro, images[ORPHANS].want_rw));
	T_ASSERT(!strcmp(images[CLEAN].want_ro, images[CLEAN].want_rw));
}

/* ---- the calls under test ------------------------------------------------------- */

enum call { MOUNT_RW, MOUNT_RO, FSCK_REPAIR, NCALLS };
static const char *const call_names[NCALLS] = { "mount", "mount -o ro", "fsck --repair" };

static const struct site {
	enum udax_fault_site site;
	int err;
} sites[] = {
	{ UDAX_FAULT_MALLOC, -ENOMEM },
	{ UDAX_FAULT_PERSIST, -EIO },
};
#define NSITES (sizeof(sites) / sizeof(sites[0]))

/* Run @call on the device (restored); a successful mount stays in *@fs. */
static int run(enum call call, struct udax_fs **fs)
{
	struct udax_mount_opts o = { .flags = call == MOUNT_RO ? UDAX_MOUNT_RDONLY : 0 };
	struct udax_fsck_report rep;

	*fs = NULL;
	if (call == FSCK_REPAIR)
		return udax_fsck(dev, 0, UDAX_FSCK_REPAIR, NULL, NULL, &rep);
	return udax_mount(dev, 0, &o, fs);
}

/* The fingerprint less its last line (the free counts). */
static char *tree_only(const char *fp)
{
	char *t = strdup(fp), *last;

	T_ASSERT(t);
	last = strstr(t, "free ");
	T_ASSERT(last);
	*last = 0;
	return t;
}

/*
 * After the call under test: a fault-free mount works (no claim left),
 * gives the tree of a fault-free mount of the original image, and leaves
 * an image that fsck calls clean.
 */
static void recovers(const struct image *im, const char *what)
{
	struct udax_fsck_report rep;
	struct udax_fs *fs;
	char *fp;
	int r = udax_mount(dev, 0, NULL, &fs);

	if (r) {
		fprintf(stderr, "%s: the mount after it failed: %d (%s): %s\n", what,
			r, t_errname(r), udax_fs_last_error());
		exit(1);
	}
	fp = t_fingerprint(fs);
	FS_OK(udax_unmount(&fs));
	if (strcmp(fp, im->want_rw)) {
		fprintf(stderr, "%s: the mount after it gives\n%s\nwant\n%s\n", what,
			fp, im->want_rw);
		exit(1);
	}
	free(fp);
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	if (rep.problems || rep.journal_committed) {
		fprintf(stderr, "%s: fsck after the recovery: %llu problems%s\n", what,
			(unsigned long long)rep.problems,
			rep.journal_committed ? ", a committed transaction" : "");
		exit(1);
	}
}

static long tolerated[NCALLS][NSITES];

/* Inject at call @n of @s; false once @call no longer reaches it. */
static bool one(struct image *im, enum call call, const struct site *s, long n)
{
	const char *want = call == MOUNT_RO ? im->want_ro : im->want_rw;
	struct udax_fs *fs;
	char what[160];
	long hits;
	int r;

	snprintf(what, sizeof(what), "image %s, %s, %s call %ld fails", im->name,
		 call_names[call], udax_fault_site_name(s->site), n);
	restore(im);
	FS_OK(udax_fault_set(s->site, n, 1, s->err));
	r = run(call, &fs);
	hits = udax_fault_hits(s->site);
	udax_fault_clear(UDAX_FAULT_NR_SITES);
	if (!hits) {
		FS_OK(r);
	} else if (r == 0) {
		/* Tolerated: only a read-write mount's orphan reclaim may
		 * fail and leave the orphan for the next mount. */
		if (call != MOUNT_RW || im == &images[CLEAN] || im == &images[JOURNAL]) {
			fprintf(stderr, "%s: the call succeeded\n", what);
			exit(1);
		}
		tolerated[call][s - sites]++;
	} else if (r != s->err) {
		fprintf(stderr, "%s: returned %d (%s), want %d: %s\n", what, r,
			t_errname(r), s->err, udax_fs_last_error());
		exit(1);
	}
	if (fs) {
		char *fp = t_fingerprint(fs);

		T_ASSERT(!udax_fs_is_shutdown(fs));
		if (hits) {
			/* The orphans' blocks may still be in use: compare
			 * the tree, then see the fs take a change. */
			char *a = tree_only(fp), *b = tree_only(want);

			if (strcmp(a, b)) {
				fprintf(stderr, "%s: tree\n%s\nwant\n%s\n", what, a, b);
				exit(1);
			}
			free(a);
			free(b);
			FS_OK(udax_mkdir(fs, "/after", 0700));
			FS_OK(udax_rmdir(fs, "/after"));
		} else if (strcmp(fp, want)) {
			fprintf(stderr, "%s (not reached): tree\n%s\nwant\n%s\n", what,
				fp, want);
			exit(1);
		}
		free(fp);
		FS_OK(udax_unmount(&fs));
	}
	recovers(im, what);
	return hits != 0;
}

int main(void)
{
	long total[NSITES] = { 0 }, points[NIMAGES][NCALLS][NSITES];

	dev = t_fs_dev(DEVSPEC);
	FS_OK(udax_dev_info(dev, &dinfo));
	build_images();

	printf("%-16s %-14s %8s %8s\n", "image", "call", "malloc", "persist");
	for (int i = 0; i < NIMAGES; i++)
		for (int call = 0; call < NCALLS; call++) {
			long *pt = points[i][call];

			for (size_t s = 0; s < NSITES; s++) {
				struct udax_fs *fs;
				long calls, n = 1;

				/* Count the calls of a fault-free run. */
				restore(&images[i]);
				FS_OK(udax_fault_set(sites[s].site, __LONG_MAX__ - 1, 1, -EIO));
				FS_OK(run(call, &fs));
				calls = udax_fault_calls(sites[s].site);
				udax_fault_clear(UDAX_FAULT_NR_SITES);
				if (fs)
					FS_OK(udax_unmount(&fs));
				while (one(&images[i], call, &sites[s], n))
					n++;
				pt[s] = n - 1;
				T_ASSERT(pt[s] == calls);
				total[s] += pt[s];
			}
			printf("%-16s %-14s %8ld %8ld\n", images[i].name,
			       call_names[call], pt[0], pt[1]);
		}
	printf("%-31s %8ld %8ld\n", "total injection points", total[0], total[1]);
	for (int call = 0; call < NCALLS; call++)
		printf("%s: tolerated (succeeded, orphan left for the next mount): "
		       "malloc %ld, persist %ld\n", call_names[call],
		       tolerated[call][0], tolerated[call][1]);
	/* Read-write mounts of images with orphans do tolerate some. */
	T_ASSERT(tolerated[MOUNT_RW][0] > 0 && tolerated[MOUNT_RW][1] > 0);
	/* A clean image is mounted and checked without a store; a committed
	 * transaction is replayed by every call, read-only mounts included;
	 * orphans are freed by read-write mounts and repairs only. */
	for (int call = 0; call < NCALLS; call++) {
		T_ASSERT(points[CLEAN][call][1] == 0);
		T_ASSERT(points[JOURNAL][call][1] > 0);
		T_ASSERT((points[ORPHANS][call][1] > 0) == (call != MOUNT_RO));
	}
	for (int i = 0; i < NIMAGES; i++) {
		free(images[i].bytes);
		free(images[i].want_rw);
		free(images[i].want_ro);
	}
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
