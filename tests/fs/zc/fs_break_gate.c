/* SPDX-License-Identifier: MIT */
/*
 * The break gate, for views and for pins: a view or pin requested while a
 * layout break of its range is in progress waits for the break, then maps
 * or pins what the file holds after it -- in every break mode.
 *
 * File /a has 64 blocks (block i tagged with i); a lease holds [16, 32).
 * A punch, collapse or truncate of that range runs in a thread.  Its
 * revoke callback -- called by the break with the range gated -- starts
 * two threads that map a view and take a pin of [16, 32):
 *  - WAIT and TIMEOUT (60 s): the break waits for the lease with the
 *    inode unlocked; the test checks that the view and the pin are still
 *    waiting while it does (and that a view of [0, 4), outside the range,
 *    is granted meanwhile), then releases the lease;
 *  - NOWAIT and DEFER: the callback checks the same, then releases the
 *    lease itself, so the break goes on at once.
 * When the break is done, the view and the pin must show the new layout:
 * punch gives -ENODATA (a hole), truncate -EINVAL (past the end), collapse
 * the blocks that were at [32, 48).  Without the gate they would map or
 * pin the old blocks while the break waits.  Also: after a zero range the
 * range is unwritten, and a pin or view of it is refused (-ENODATA), so no
 * DMA lands in blocks that read as zeroes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS		UDAX_FS_BLOCK_SIZE
#define NBLK		64
#define R_FIRST		16
#define R_LEN		16
#define SETTLE_US	50000	/* long enough for a waiter to go wrong */

enum op { PUNCH, COLLAPSE, TRUNCATE, NR_OPS };
static const char *op_name[] = { "punch", "collapse", "truncate" };
static const char *mode_name[] = { "wait", "timeout", "nowait", "defer" };

/* What a view or pin of the range gives after the break. */
struct mapper {
	pthread_t t;
	bool view;			/* else a pin */
	struct udax_file *f;
	_Atomic int done;
	int ret;
	uint64_t tag;			/* first word of the first page */
};

static struct {
	struct udax_fs *fs;
	struct udax_file *fa;		/* the breaker's handle */
	struct udax_lease *lease;
	enum op op;
	struct udax_break_opts brk;
	struct mapper mv, mp;
	_Atomic int revoked;
	_Atomic int op_done;
	int op_ret;
} s;

static void fill_block(char *b, uint64_t i)
{
	memset(b, 'a' + (int)(i % 26), BS);
	memcpy(b, &i, sizeof(i));
}

static void *mapper_main(void *p)
{
	struct mapper *m = p;

	if (m->view) {
		struct udax_view *v;
		void *addr;

		m->ret = udax_view_map(m->f, R_FIRST * BS, R_LEN * BS, 0, &v, &addr);
		if (!m->ret) {
			memcpy(&m->tag, addr, sizeof(m->tag));
			udax_view_unmap(&v);
		}
	} else {
		struct udax_pin *pin;

		m->ret = udax_pin(m->f, R_FIRST * BS, R_LEN * BS, 0, &pin);
		if (!m->ret) {
			memcpy(&m->tag, udax_pin_page_addr(pin, 0), sizeof(m->tag));
			udax_unpin(&pin);
		}
	}
	atomic_store(&m->done, 1);
	return NULL;
}

static void start_mappers(void)
{
	s.mv.view = true;
	s.mp.view = false;
	T_ASSERT(!pthread_create(&s.mv.t, NULL, mapper_main, &s.mv));
	T_ASSERT(!pthread_create(&s.mp.t, NULL, mapper_main, &s.mp));
}

/* Neither the view nor the pin got through while the break holds the range. */
static void expect_mappers_waiting(const char *where)
{
	usleep(SETTLE_US);
	if (atomic_load(&s.mv.done) || atomic_load(&s.mp.done)) {
		fprintf(stderr, "%s/%s: %s: a %s of the broken range did not wait for "
			"the break (returned %d)\n", op_name[s.op],
			mode_name[s.brk.mode], where,
			atomic_load(&s.mv.done) ? "view" : "pin",
			atomic_load(&s.mv.done) ? s.mv.ret : s.mp.ret);
		exit(1);
	}
}

/* Called by the break, in the breaking thread, with the range gated. */
static void on_revoke(struct udax_lease *l, void *arg)
{
	(void)arg;
	T_ASSERT(l == s.lease);
	T_ASSERT(atomic_fetch_add(&s.revoked, 1) == 0);
	start_mappers();
	if (s.brk.mode == UDAX_BREAK_NOWAIT || s.brk.mode == UDAX_BREAK_DEFER) {
		/* The break never waits in these modes: hand the lease back
		 * now (allowed from revoke), with the range still gated. */
		expect_mappers_waiting("in revoke");
		T_EXPECT_ERR(udax_lease_release(&s.lease), 0);
	}
}

static const struct udax_lease_ops lease_ops = { .revoke = on_revoke };

static void *op_main(void *p)
{
	(void)p;
	switch (s.op) {
	case PUNCH:
		s.op_ret = udax_fallocate_ex(s.fa, UDAX_FALLOC_PUNCH_HOLE |
					     UDAX_FALLOC_KEEP_SIZE, R_FIRST * BS,
					     R_LEN * BS, &s.brk);
		break;
	case COLLAPSE:
		s.op_ret = udax_fallocate_ex(s.fa, UDAX_FALLOC_COLLAPSE_RANGE,
					     R_FIRST * BS, R_LEN * BS, &s.brk);
		break;
	default:
		s.op_ret = udax_ftruncate_ex(s.fa, R_FIRST * BS, &s.brk);
		break;
	}
	atomic_store(&s.op_done, 1);
	return NULL;
}

/* The view or pin saw the layout after the break. */
static void expect_new_layout(const struct mapper *m)
{
	const char *what = m->view ? "view" : "pin";

	switch (s.op) {
	case PUNCH:
		if (m->ret != -ENODATA) {
			fprintf(stderr, "%s/%s: %s after punch: %d (%s), want -ENODATA\n",
				op_name[s.op], mode_name[s.brk.mode], what, m->ret,
				t_errname(m->ret));
			exit(1);
		}
		break;
	case TRUNCATE:
		if (m->ret != -EINVAL) {
			fprintf(stderr, "%s/%s: %s after truncate: %d (%s), want -EINVAL\n",
				op_name[s.op], mode_name[s.brk.mode], what, m->ret,
				t_errname(m->ret));
			exit(1);
		}
		break;
	default:
		T_EXPECT_ERR(m->ret, 0);
		if (m->tag != R_FIRST + R_LEN) {
			fprintf(stderr, "%s/%s: %s after collapse shows block %llu, want %d\n",
				op_name[s.op], mode_name[s.brk.mode], what,
				(unsigned long long)m->tag, R_FIRST + R_LEN);
			exit(1);
		}
	}
}

static void scenario(enum op op, enum udax_break_mode mode)
{
	struct udax_dev *dev;
	struct udax_file *f;
	char b[BS];
	pthread_t t;

	memset(&s, 0, sizeof(s));
	s.op = op;
	s.brk.mode = mode;
	s.brk.timeout_ns = 60ll * 1000000000;	/* never reached: released first */
	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &s.fs), 0);
	T_EXPECT_ERR(udax_open(s.fs, "/a", O_CREAT | O_RDWR, 0644, &f), 0);
	for (uint64_t i = 0; i < NBLK; i++) {
		fill_block(b, i);
		T_EXPECT_ERR(udax_pwrite(f, b, BS, i * BS), BS);
	}
	T_EXPECT_ERR(udax_lease_take(f, R_FIRST * BS, R_LEN * BS, -1, &lease_ops,
				     NULL, &s.lease), 0);
	s.fa = f;
	T_EXPECT_ERR(udax_open(s.fs, "/a", O_RDONLY, 0, &s.mv.f), 0);
	T_EXPECT_ERR(udax_open(s.fs, "/a", O_RDONLY, 0, &s.mp.f), 0);

	T_ASSERT(!pthread_create(&t, NULL, op_main, NULL));
	if (mode == UDAX_BREAK_WAIT || mode == UDAX_BREAK_TIMEOUT) {
		struct udax_view *v;
		void *addr;

		while (!atomic_load(&s.revoked))
			usleep(1000);
		/* The break waits for the lease with the inode unlocked: a
		 * view outside the range gets through... */
		T_EXPECT_ERR(udax_view_map(s.mv.f, 0, 4 * BS, 0, &v, &addr), 0);
		T_ASSERT(*(uint64_t *)addr == 0);
		T_EXPECT_ERR(udax_view_unmap(&v), 0);
		/* ...those of the range do not. */
		expect_mappers_waiting("while the break waits");
		T_ASSERT(!atomic_load(&s.op_done));
		T_EXPECT_ERR(udax_lease_release(&s.lease), 0);
	}
	pthread_join(t, NULL);
	T_EXPECT_ERR(s.op_ret, 0);
	T_ASSERT(atomic_load(&s.revoked) == 1 && !s.lease);
	pthread_join(s.mv.t, NULL);
	pthread_join(s.mp.t, NULL);
	expect_new_layout(&s.mv);
	expect_new_layout(&s.mp);

	T_EXPECT_ERR(udax_close(&s.mv.f), 0);
	T_EXPECT_ERR(udax_close(&s.mp.f), 0);
	T_EXPECT_ERR(udax_close(&s.fa), 0);
	T_EXPECT_ERR(udax_unmount(&s.fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	printf("%-9s %-8s ok\n", op_name[op], mode_name[mode]);
}

static void unwritten_refused(void)
{
	struct udax_dev *dev;
	struct udax_file *f;
	struct udax_pin *pin;
	struct udax_view *v;
	void *addr;
	char b[BS];

	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &s.fs), 0);
	T_EXPECT_ERR(udax_open(s.fs, "/u", O_CREAT | O_RDWR, 0644, &f), 0);
	for (uint64_t i = 0; i < 8; i++) {
		fill_block(b, i);
		T_EXPECT_ERR(udax_pwrite(f, b, BS, i * BS), BS);
	}
	T_EXPECT_ERR(udax_fallocate(f, UDAX_FALLOC_ZERO_RANGE, 2 * BS, 2 * BS), 0);
	/* Refused as unwritten (not as a hole): the message says which. */
	T_EXPECT_ERR(udax_pin(f, 2 * BS, 2 * BS, 0, &pin), -ENODATA);
	T_ASSERT(strstr(udax_fs_last_error(), "unwritten"));
	T_EXPECT_ERR(udax_pin(f, BS, 2 * BS, 0, &pin), -ENODATA);
	T_ASSERT(strstr(udax_fs_last_error(), "unwritten"));
	T_EXPECT_ERR(udax_view_map(f, 2 * BS, 2 * BS, 0, &v, &addr), -ENODATA);
	T_ASSERT(strstr(udax_fs_last_error(), "unwritten"));
	T_EXPECT_ERR(udax_pin(f, 0, 2 * BS, 0, &pin), 0);	/* written: fine */
	T_EXPECT_ERR(udax_unpin(&pin), 0);
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unmount(&s.fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	printf("unwritten range: pin and view refused\n");
}

int main(void)
{
	for (int op = 0; op < NR_OPS; op++)
		for (int mode = 0; mode <= UDAX_BREAK_DEFER; mode++)
			scenario((enum op)op, (enum udax_break_mode)mode);
	unwritten_refused();
	return 0;
}
