/* SPDX-License-Identifier: MIT */
/*
 * A layout break while the process holds vm.max_map_count mappings.
 *
 * Making part of a view inaccessible splits its mapping, and the kernel
 * refuses the split (and, past the count, every new mapping) with ENOMEM.
 * The break must then still keep the view off the blocks it frees: a
 * truncate that ignored the refusal freed the blocks with the view still
 * on them, and a store through it landed in the file that got them next.
 *
 * Here: a view of a 16-block file and a view of another file; the
 * process's mappings are filled up to the kernel's limit; the file is
 * truncated to 4 blocks.  Either the truncate succeeds and the broken
 * part of its view faults (the whole view may), or it fails and changes
 * nothing.  Then a new file takes the freed blocks, a store through the
 * view must fault, and the new file reads back its own data; the other
 * file's view is untouched; fsck finds nothing wrong.
 *
 * Skipped under the sanitizers: their runtimes map memory of their own,
 * which the kernel refuses while the mappings are full.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <udax/fs.h>
#include <udax/fsck.h>

#include "fs_util.h"

#define BS UDAX_FS_BLOCK_SIZE

static sigjmp_buf jb;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

/* Does a store of @c to @p fault? */
static bool store_faults(volatile char *p, char c)
{
	if (sigsetjmp(jb, 1))
		return true;
	*p = c;
	return false;
}

/* Map one-page anonymous mappings, alternately readable and not (so the
 * kernel cannot merge them), until it refuses; *@n: how many. */
static void **fill_mappings(size_t *n)
{
	size_t cap = 1u << 20;
	void **v = malloc(cap * sizeof(*v));

	T_ASSERT(v);
	for (*n = 0; *n < cap; (*n)++) {
		v[*n] = mmap(NULL, 4096, *n % 2 ? PROT_READ : PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (v[*n] == MAP_FAILED)
			break;
	}
	return v;
}

int main(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	fprintf(stderr, "fs_view_maxmap: skipped under a sanitizer\n");
	return T_SKIP;
#endif
	struct sigaction sa = { .sa_handler = on_segv };
	struct udax_file *f, *g, *o;
	struct udax_view *v, *vo;
	struct udax_fsck_report rep;
	struct udax_stat st;
	struct udax_dev *dev;
	struct udax_fs *fs;
	char buf[BS], *a, *ao;
	void **fill, *p;
	size_t n;
	int ret;

	sigaction(SIGSEGV, &sa, NULL);
	fs = t_fs_new("mem:16M", &dev);
	FS_OK(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f));
	FS_OK(udax_open(fs, "/o", O_CREAT | O_RDWR, 0644, &o));
	memset(buf, 'F', BS);
	for (int i = 0; i < 16; i++)
		T_EXPECT_ERR(udax_pwrite(f, buf, BS, (uint64_t)i * BS), BS);
	memset(buf, 'O', BS);
	T_EXPECT_ERR(udax_pwrite(o, buf, BS, 0), BS);
	FS_OK(udax_view_map(f, 0, 16 * BS, UDAX_VIEW_WRITE, &v, &p));
	a = p;
	FS_OK(udax_view_map(o, 0, BS, UDAX_VIEW_WRITE, &vo, &p));
	ao = p;

	/* At the limit, break the tail of /f's view. */
	fill = fill_mappings(&n);
	ret = udax_ftruncate(f, 4 * BS);
	for (size_t i = 0; i < n; i++)
		munmap(fill[i], 4096);
	free(fill);
	fprintf(stderr, "fs_view_maxmap: %zu mappings added; truncate: %s\n", n,
		ret ? udax_fs_last_error() : "done");
	T_ASSERT(n > 0);
	FS_OK(udax_fstat(f, &st));
	if (ret) {
		/* Refused: nothing changed, the view still shows the file. */
		T_ASSERT(ret == -ENOMEM && st.size == 16 * BS);
		T_ASSERT(!store_faults(a + 8 * BS, 'F'));
		FS_OK(udax_ftruncate(f, 4 * BS));
	} else {
		T_ASSERT(st.size == 4 * BS);
	}

	/* The freed blocks go to /g; the old view cannot reach them. */
	T_ASSERT(store_faults(a + 8 * BS, 'Z'));
	FS_OK(udax_open(fs, "/g", O_CREAT | O_RDWR, 0644, &g));
	memset(buf, 'G', BS);
	for (int i = 0; i < 12; i++)
		T_EXPECT_ERR(udax_pwrite(g, buf, BS, (uint64_t)i * BS), BS);
	for (int k = 4; k < 16; k++)
		T_ASSERT(store_faults(a + (size_t)k * BS + 100, 'Z'));
	for (int i = 0; i < 12; i++) {
		T_EXPECT_ERR(udax_pread(g, buf, BS, (uint64_t)i * BS), BS);
		for (size_t k = 0; k < BS; k++)
			T_ASSERT(buf[k] == 'G');
	}
	/* /f's first blocks are whole (whatever its view shows now). */
	T_EXPECT_ERR(udax_pread(f, buf, BS, 3 * BS), BS);
	T_ASSERT(buf[0] == 'F' && buf[BS - 1] == 'F');

	/* Another file's view is untouched. */
	T_ASSERT(!store_faults(ao + 7, 'P'));
	T_EXPECT_ERR(udax_pread(o, buf, BS, 0), BS);
	T_ASSERT(buf[7] == 'P' && buf[0] == 'O');

	FS_OK(udax_view_unmap(&v));
	FS_OK(udax_view_unmap(&vo));
	FS_OK(udax_close(&f));
	FS_OK(udax_close(&g));
	FS_OK(udax_close(&o));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_view_maxmap: ok\n");
	return 0;
}
