/* SPDX-License-Identifier: MIT */
/*
 * A pin held across every layout-breaking operation, in every break mode.
 *
 * File /a has 64 blocks; blocks [16, 32) are pinned (standing for DMA in
 * flight) after a view of them was mapped and unmapped again, and blocks
 * [0, 4) are pinned too, outside the broken range.  The file system is
 * then filled, so that a block the operation frees can only be reused by
 * a new file.  For each operation and mode the test checks:
 *  - WAIT: the operation does not return while the pin is held (a view
 *    unmapped before did not drop it); new pins of the range wait; pins
 *    outside it are granted at once; no free block appears; once the pin
 *    drops the operation returns;
 *  - TIMEOUT / NOWAIT: -ETIMEDOUT / -EBUSY and the file is unchanged;
 *  - DEFER: the operation returns at once; late "DMA" into the pinned
 *    pages does not reach a new file written into the freed space; the
 *    pinned blocks become free when the pin drops.  Zero range keeps the
 *    blocks but replaces the pinned ones (tests/fs/zc/fs_defer_kept.c): on the
 *    full file system that is -ENOSPC with nothing changed, then room is
 *    made.
 * In every case a new file written after the operation holds exactly
 * what was written to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS		UDAX_FS_BLOCK_SIZE
#define NBLK		64
#define R_FIRST		16
#define R_LEN		16
#define WATCHDOG_NS	(20ull * 1000000000ull)

enum op { TRUNCATE, PUNCH, ZERO, COLLAPSE, INSERT, UNLINK, RENAME_OVER,
	  LAST_CLOSE, UNMOUNT, NR_OPS };
static const char *op_name[] = { "truncate", "punch", "zero-range", "collapse",
	"insert", "unlink", "rename-over", "unlink-at-last-close", "unmount" };
static const char *mode_name[] = { "wait", "timeout", "nowait", "defer" };

struct env {
	struct udax_dev *dev;
	struct udax_fs *fs;
	enum udax_break_mode mode;
	struct udax_break_opts brk;
	struct udax_file *keep;		/* LAST_CLOSE: the last handle */
};

static void fill_block(char *b, int tag, uint64_t i)
{
	memset(b, (tag + (int)i) & 0xff, BS);
	memcpy(b, &i, sizeof(i));
}

static void write_file(struct udax_fs *fs, const char *path, int tag, uint64_t n)
{
	struct udax_file *f;
	char b[BS];

	T_EXPECT_ERR(udax_open(fs, path, O_CREAT | O_RDWR | O_TRUNC, 0644, &f), 0);
	for (uint64_t i = 0; i < n; i++) {
		fill_block(b, tag, i);
		T_EXPECT_ERR(udax_pwrite(f, b, BS, i * BS), BS);
	}
	T_EXPECT_ERR(udax_close(&f), 0);
}

/* Write blocks until the file system is full; returns how many fit. */
static uint64_t fill_fs(struct udax_fs *fs, const char *path, int tag)
{
	struct udax_file *f;
	char b[BS];
	uint64_t i = 0;
	ssize_t w;

	T_EXPECT_ERR(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f), 0);
	for (;; i++) {
		fill_block(b, tag, i);
		w = udax_pwrite(f, b, BS, i * BS);
		if (w == -ENOSPC)
			break;
		T_EXPECT_ERR(w, BS);
	}
	T_EXPECT_ERR(udax_close(&f), 0);
	return i;
}

static void check_file(struct udax_fs *fs, const char *path, int tag, uint64_t n)
{
	struct udax_file *f;
	char b[BS], want[BS];

	T_EXPECT_ERR(udax_open(fs, path, O_RDONLY, 0, &f), 0);
	for (uint64_t i = 0; i < n; i++) {
		fill_block(want, tag, i);
		T_EXPECT_ERR(udax_pread(f, b, BS, i * BS), BS);
		if (memcmp(b, want, BS)) {
			fprintf(stderr, "%s block %llu: holds other data (byte 8 = %#x, want %#x)\n",
				path, (unsigned long long)i, b[8] & 0xff, want[8] & 0xff);
			exit(1);
		}
	}
	T_EXPECT_ERR(udax_close(&f), 0);
}

static uint64_t free_blocks(struct udax_fs *fs, uint64_t *busy)
{
	struct udax_statfs st;

	T_EXPECT_ERR(udax_statfs(fs, &st), 0);
	if (busy)
		*busy = st.blocks_busy;
	return st.blocks_free;
}

static int do_op(struct env *e, enum op op)
{
	struct udax_file *f;
	int ret;

	switch (op) {
	case TRUNCATE: case PUNCH: case ZERO: case COLLAPSE: case INSERT:
		T_EXPECT_ERR(udax_open(e->fs, "/a", O_RDWR, 0, &f), 0);
		if (op == TRUNCATE)
			ret = udax_ftruncate_ex(f, R_FIRST * BS, &e->brk);
		else if (op == PUNCH)
			ret = udax_fallocate_ex(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
						R_FIRST * BS, R_LEN * BS, &e->brk);
		else if (op == ZERO)
			ret = udax_fallocate_ex(f, UDAX_FALLOC_ZERO_RANGE,
						R_FIRST * BS, R_LEN * BS, &e->brk);
		else if (op == COLLAPSE)
			ret = udax_fallocate_ex(f, UDAX_FALLOC_COLLAPSE_RANGE,
						R_FIRST * BS, R_LEN * BS, &e->brk);
		else
			ret = udax_fallocate_ex(f, UDAX_FALLOC_INSERT_RANGE,
						R_FIRST * BS, R_LEN * BS, &e->brk);
		T_EXPECT_ERR(udax_close(&f), 0);
		return ret;
	case UNLINK:
		return udax_unlink_ex(e->fs, "/a", &e->brk);
	case RENAME_OVER:
		return udax_rename_ex(e->fs, "/b", "/a", 0, &e->brk);
	case LAST_CLOSE:
		return udax_close(&e->keep);
	case UNMOUNT:
		ret = udax_unmount(&e->fs);
		return ret;
	default:
		return -EINVAL;
	}
}

struct op_thread {
	struct env *e;
	enum op op;
	_Atomic int done;
	int ret;
};

static void *op_main(void *p)
{
	struct op_thread *t = p;

	t->ret = do_op(t->e, t->op);
	atomic_store(&t->done, 1);
	return NULL;
}

struct pin_thread {
	struct udax_fs *fs;
	_Atomic int done;
	int ret;
};

static void *pin_main(void *p)
{
	struct pin_thread *t = p;
	struct udax_file *f;
	struct udax_pin *pin;

	t->ret = udax_open(t->fs, "/a", O_RDONLY, 0, &f);
	if (!t->ret) {
		t->ret = udax_pin(f, R_FIRST * BS, R_LEN * BS, 0, &pin);
		if (!t->ret)
			udax_unpin(&pin);
		udax_close(&f);
	}
	atomic_store(&t->done, 1);
	return NULL;
}

/* The broken range's data is intact (the op did nothing). */
static void check_unchanged(struct env *e)
{
	struct udax_stat st;

	T_EXPECT_ERR(udax_stat(e->fs, "/a", &st), 0);
	T_ASSERT(st.size == NBLK * BS);
	check_file(e->fs, "/a", 'a', NBLK);
}

static void scenario(enum op op, enum udax_break_mode mode)
{
	struct udax_mount_opts mo = { 0 };
	struct env e = { .mode = mode };
	struct udax_file *f;
	struct udax_pin *pin, *outside;
	struct udax_view *view;
	void *addr;
	uint64_t filler, busy;
	int ret;

	e.brk.mode = mode;
	e.brk.timeout_ns = 20000000;	/* 20 ms */
	T_EXPECT_ERR(udax_dev_open("mem:24M", NULL, &e.dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(e.dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(e.dev, 0, NULL), 0);
	mo.brk = e.brk;
	T_EXPECT_ERR(udax_mount(e.dev, 0, &mo, &e.fs), 0);

	write_file(e.fs, "/a", 'a', NBLK);
	if (op == RENAME_OVER)
		write_file(e.fs, "/b", 'b', 4);
	T_EXPECT_ERR(udax_open(e.fs, "/a", O_RDWR, 0, &f), 0);
	/* A view of the range, unmapped again: must not drop the pin. */
	T_EXPECT_ERR(udax_view_map(f, R_FIRST * BS, R_LEN * BS, UDAX_VIEW_WRITE, &view, &addr), 0);
	T_EXPECT_ERR(udax_pin(f, R_FIRST * BS, R_LEN * BS, 0, &pin), 0);
	T_EXPECT_ERR(udax_pin(f, 0, 4 * BS, 0, &outside), 0);
	T_ASSERT(((char *)addr)[8] == (char)('a' + R_FIRST));
	T_EXPECT_ERR(udax_view_unmap(&view), 0);
	if (op == LAST_CLOSE) {
		T_EXPECT_ERR(udax_unlink(e.fs, "/a"), 0);	/* orphan: no break yet */
		e.keep = f;
	} else {
		T_EXPECT_ERR(udax_close(&f), 0);	/* pins outlive handles */
	}
	filler = op == UNMOUNT ? 0 : fill_fs(e.fs, "/filler", 'f');
	(void)filler;
	/* Whole-file breaks have no "outside": that pin goes first. */
	bool whole = op == UNLINK || op == RENAME_OVER || op == LAST_CLOSE || op == UNMOUNT;

	if (whole)
		T_EXPECT_ERR(udax_unpin(&outside), 0);

	switch (mode) {
	case UDAX_BREAK_WAIT: {
		struct op_thread ot = { .e = &e, .op = op };
		struct pin_thread pt = { .fs = e.fs };
		pthread_t t, tp;
		uint64_t t0;
		bool gated = op != UNLINK && op != RENAME_OVER && op != LAST_CLOSE &&
			     op != UNMOUNT;

		pthread_create(&t, NULL, op_main, &ot);
		usleep(50000);
		T_ASSERT(!atomic_load(&ot.done));	/* waits for the pin */
		if (op != UNMOUNT) {
			/* Nothing freed while pinned: no space for anyone. */
			T_ASSERT(free_blocks(e.fs, NULL) == 0);
		}
		if (gated) {
			/* A new pin of the range waits for the break... */
			pthread_create(&tp, NULL, pin_main, &pt);
			usleep(20000);
			T_ASSERT(!atomic_load(&pt.done));
			/* ...one outside the range does not. */
			T_EXPECT_ERR(udax_open(e.fs, "/a", O_RDONLY, 0, &f), 0);
			struct udax_pin *p2;
			T_EXPECT_ERR(udax_pin(f, 0, 4 * BS, 0, &p2), 0);
			T_EXPECT_ERR(udax_unpin(&p2), 0);
			T_EXPECT_ERR(udax_close(&f), 0);
		}
		/* Late DMA into the pinned pages, then completion. */
		for (size_t i = 0; i < udax_pin_nr_pages(pin); i++)
			memset(udax_pin_page_addr(pin, i), 'D', BS);
		T_EXPECT_ERR(udax_unpin(&pin), 0);
		t0 = t_now_ns();
		while (!atomic_load(&ot.done)) {
			if (t_now_ns() - t0 > WATCHDOG_NS) {
				fprintf(stderr, "%s/wait: still blocked 20 s after the last pin "
					"dropped (lost wakeup)\n", op_name[op]);
				exit(1);
			}
			usleep(1000);
		}
		pthread_join(t, NULL);
		T_EXPECT_ERR(ot.ret, 0);
		if (gated)
			pthread_join(tp, NULL);
		break;
	}
	case UDAX_BREAK_TIMEOUT:
	case UDAX_BREAK_NOWAIT:
		if (op == LAST_CLOSE) {
			/* close cannot fail for a pin: it keeps the orphan; it
			 * is freed at unmount (which waits, below). */
			T_EXPECT_ERR(do_op(&e, op), 0);
			T_EXPECT_ERR(udax_unpin(&pin), 0);
			break;
		}
		ret = do_op(&e, op);
		T_EXPECT_ERR(ret, mode == UDAX_BREAK_TIMEOUT ? -ETIMEDOUT : -EBUSY);
		if (op != UNMOUNT)
			check_unchanged(&e);
		T_EXPECT_ERR(udax_unpin(&pin), 0);
		T_EXPECT_ERR(do_op(&e, op), 0);		/* and now it goes */
		break;
	case UDAX_BREAK_DEFER:
		if (op == UNMOUNT) {
			/* Unmount never defers: a remount could reuse the blocks. */
			T_EXPECT_ERR(do_op(&e, op), -EBUSY);
			T_EXPECT_ERR(udax_unpin(&pin), 0);
			T_EXPECT_ERR(do_op(&e, op), 0);
			break;
		}
		if (op == ZERO) {
			/* The pinned blocks it keeps are replaced by fresh
			 * unwritten ones: none is free, so nothing changes. */
			T_EXPECT_ERR(do_op(&e, op), -ENOSPC);
			check_unchanged(&e);
			T_EXPECT_ERR(udax_unlink(e.fs, "/filler"), 0);
		}
		T_EXPECT_ERR(do_op(&e, op), 0);		/* at once, pinned or not */
		if (op != INSERT) {
			/* Freed-but-pinned blocks (zero range: replaced) are
			 * busy, not free. */
			(void)free_blocks(e.fs, &busy);
			T_ASSERT(busy == R_LEN);
		}
		/* A victim takes whatever is free now. */
		fill_fs(e.fs, "/victim", 'v');
		/* Late DMA into the pinned pages must not reach the victim. */
		for (size_t i = 0; i < udax_pin_nr_pages(pin); i++)
			memset(udax_pin_page_addr(pin, i), 'D', BS);
		{
			struct udax_stat st;

			T_EXPECT_ERR(udax_stat(e.fs, "/victim", &st), 0);
			check_file(e.fs, "/victim", 'v', st.size / BS);
		}
		T_EXPECT_ERR(udax_unpin(&pin), 0);
		(void)free_blocks(e.fs, &busy);
		T_ASSERT(busy == 0);
		break;
	}

	if (op != UNMOUNT) {
		/* Whatever was freed is reusable now, and holds new data only. */
		uint64_t n = fill_fs(e.fs, "/victim2", 'w');

		check_file(e.fs, "/victim2", 'w', n);
		if (op == RENAME_OVER)
			check_file(e.fs, "/a", 'b', 4);
		else if (op != UNLINK && op != LAST_CLOSE)
			check_file(e.fs, "/a", 'a', 4);	/* outside the range */
		if (!whole)
			T_EXPECT_ERR(udax_unpin(&outside), 0);
		T_EXPECT_ERR(udax_unmount(&e.fs), 0);
	} else {
		if (e.fs)
			T_EXPECT_ERR(udax_unmount(&e.fs), 0);
	}
	T_EXPECT_ERR(udax_dev_close(&e.dev, 0), 0);
	printf("%-22s %-8s ok\n", op_name[op], mode_name[mode]);
}

int main(int argc, char **argv)
{
	for (int op = 0; op < NR_OPS; op++)
		for (int mode = 0; mode <= UDAX_BREAK_DEFER; mode++) {
			if (argc > 1 && strcmp(argv[1], op_name[op]))
				continue;
			scenario((enum op)op, (enum udax_break_mode)mode);
		}
	return 0;
}
